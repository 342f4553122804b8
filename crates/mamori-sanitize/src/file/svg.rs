//! SVG, by policy, becomes a PNG picture of itself: only pixels cross, so scripts, event
//! handlers, links, styles and anything the markup could fetch are gone. Nothing outside the
//! file is read while drawing: references to other files or URLs are refused (an `<image>` may
//! only embed its picture as `data:`), and text is drawn with the fonts installed here.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg::{ImageHrefResolver, Options, Tree, fontdb};

use super::Ctx;
use crate::report::{ActionKind, Findings};

/// Rasterises an SVG to PNG at its own size, within `limits.image_pixels`.
pub(super) fn sanitize(ctx: &Ctx<'_>, input: &[u8], findings: &mut Findings) -> Option<Vec<u8>> {
    // The installed fonts, found once per process (a relay sanitises many files in one).
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    let fonts = FONTS.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        Arc::new(db)
    });
    let options = Options {
        // Relative references resolve against nothing: no directory is ever read.
        resources_dir: None,
        image_href_resolver: ImageHrefResolver {
            resolve_data: ImageHrefResolver::default_data_resolver(),
            // A file path or URL: refused.
            resolve_string: Box::new(|_, _| None),
        },
        fontdb: Arc::clone(fonts),
        ..Options::default()
    };
    let tree = match Tree::from_data(input, &options) {
        Ok(t) => t,
        Err(e) => {
            findings.block(
                "",
                "svg.malformed",
                format!("SVG を解析できないため遮断しました ({e})。"),
            );
            return None;
        }
    };
    let size = tree.size().to_int_size();
    let (w, h) = (size.width(), size.height());
    let max_pixels = ctx.policy.limits.image_pixels;
    if u64::from(w) * u64::from(h) > max_pixels {
        findings.block(
            "",
            "limit.image-pixels",
            format!("SVG の描画サイズが大きすぎます ({w}×{h}、上限 {max_pixels} 画素)。"),
        );
        return None;
    }
    let Some(mut pixmap) = Pixmap::new(w, h) else {
        findings.block(
            "",
            "svg.malformed",
            "SVG の描画サイズが不正なため遮断しました。",
        );
        return None;
    };
    resvg::render(&tree, Transform::default(), &mut pixmap.as_mut());
    let Ok(png) = pixmap.encode_png() else {
        findings.block(
            "",
            "svg.render-failed",
            "SVG を画像にできないため遮断しました。",
        );
        return None;
    };
    findings.push(
        ActionKind::Converted,
        "",
        "svg.rasterized",
        format!(
            "SVG を PNG 画像 ({w}×{h}) に変換しました (スクリプト・リンク・外部参照は含まれません)。"
        ),
    );
    Some(png)
}
