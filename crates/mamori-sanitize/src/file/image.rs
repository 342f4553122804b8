//! Images: decoded within pixel and allocation limits and encoded anew in the same format, so
//! metadata, embedded profiles and any data hidden after the image end are gone.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use super::Ctx;
use crate::detect::Kind;
use crate::report::{ActionKind, Findings};

fn trailing_bytes(input: &[u8], kind: Kind) -> usize {
    match kind {
        Kind::Png => input
            .windows(4)
            .rposition(|w| w == b"IEND")
            .map_or(0, |p| input.len().saturating_sub(p + 8)),
        Kind::Jpeg => input
            .windows(2)
            .rposition(|w| w == [0xFF, 0xD9])
            .map_or(0, |p| input.len().saturating_sub(p + 2)),
        Kind::Gif => input
            .iter()
            .rposition(|b| *b == 0x3B)
            .map_or(0, |p| input.len().saturating_sub(p + 1)),
        _ => 0,
    }
}

pub(super) fn sanitize(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    kind: Kind,
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let format = match kind {
        Kind::Jpeg => ImageFormat::Jpeg,
        Kind::Png => ImageFormat::Png,
        Kind::Gif => ImageFormat::Gif,
        Kind::Bmp => ImageFormat::Bmp,
        Kind::Webp => ImageFormat::WebP,
        _ => {
            findings.block("", "image.unsupported", "対応していない画像形式です。");
            return None;
        }
    };
    let max_pixels = ctx.policy.limits.image_pixels;
    let mut limits = Limits::default();
    let side = u32::try_from(max_pixels.min(u64::from(u32::MAX))).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // Decoded pixels take at most 8 bytes each (RGBA16); allow the decoder that much.
    limits.max_alloc = Some(
        max_pixels
            .saturating_mul(8)
            .saturating_add(16 * 1024 * 1024),
    );
    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    reader.limits(limits.clone());
    let (w, h) = match reader.into_dimensions() {
        Ok(d) => d,
        Err(e) => {
            findings.block(
                "",
                "image.malformed",
                format!("画像を解析できないため遮断しました ({e})。"),
            );
            return None;
        }
    };
    if u64::from(w) * u64::from(h) > max_pixels {
        findings.block(
            "",
            "limit.image-pixels",
            format!("画像が大きすぎます ({w}×{h}、上限 {max_pixels} 画素)。"),
        );
        return None;
    }
    let mut reader = ImageReader::with_format(Cursor::new(input), format);
    reader.limits(limits);
    let img = match reader.decode() {
        Ok(i) => i,
        Err(e) => {
            findings.block(
                "",
                "image.malformed",
                format!("画像を復号できないため遮断しました ({e})。"),
            );
            return None;
        }
    };
    let trailing = trailing_bytes(input, kind);
    if trailing > 0 {
        findings.push(
            ActionKind::Removed,
            "",
            "image.trailing-data",
            format!("画像の終端の後に隠されたデータ ({trailing} バイト) を除去しました。"),
        );
    }
    let mut out = Cursor::new(Vec::new());
    let img = match format {
        // JPEG has no alpha channel; BMP and GIF keep what they can.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(img.to_rgb8()),
        ImageFormat::WebP | ImageFormat::Gif => DynamicImage::ImageRgba8(img.to_rgba8()),
        _ => img,
    };
    if let Err(e) = img.write_to(&mut out, format) {
        findings.block(
            "",
            "image.rebuild",
            format!("画像を再エンコードできないため遮断しました ({e})。"),
        );
        return None;
    }
    findings.push(
        ActionKind::Rebuilt,
        "",
        "image.rebuilt",
        "画像を復号して再エンコードしました (メタデータ・付加データは除去)。",
    );
    Some(out.into_inner())
}
