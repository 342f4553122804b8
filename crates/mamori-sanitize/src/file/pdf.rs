//! PDF: every object is walked and active content is taken out — JavaScript, open and additional
//! actions, launch, embedded files, rich media, XFA, form submission and jumps to other files
//! (web links are configurable). The document is then written anew, which also drops incremental
//! updates and anything after the last `%%EOF`. Encrypted PDFs open only with an empty password.

use std::collections::BTreeMap;

use lopdf::{Document, LoadOptions, Object};

use super::Ctx;
use crate::policy::{PdfPolicy, Rule};
use crate::report::{ActionKind, Findings};

/// Deepest nesting of direct objects walked; deeper structures are refused.
const MAX_NESTING: u32 = 64;

#[derive(Default)]
struct Hits {
    /// code → (rule, what, count, first target)
    by_code: BTreeMap<&'static str, (Rule, &'static str, u32, String)>,
    too_deep: bool,
}

impl Hits {
    fn hit(&mut self, code: &'static str, rule: Rule, what: &'static str, target: String) {
        let e = self.by_code.entry(code).or_insert((rule, what, 0, target));
        e.2 += 1;
    }
}

/// Which rule and code govern an action type (`/S`).
fn action_rule(p: &PdfPolicy, s: &[u8]) -> Option<(&'static str, Rule, &'static str)> {
    Some(match s {
        b"JavaScript" => ("pdf.javascript", p.javascript, "JavaScript"),
        b"Launch" => (
            "pdf.launch",
            p.launch,
            "外部プログラム起動 (Launch) アクション",
        ),
        b"SubmitForm" | b"ImportData" => (
            "pdf.form-action",
            p.form_actions,
            "フォーム送信・取込アクション",
        ),
        b"GoToR" | b"GoToE" => (
            "pdf.remote-goto",
            p.remote_goto,
            "他ファイルへの移動アクション (GoToR/GoToE)",
        ),
        b"URI" => ("pdf.uri", p.uri, "URI (Web リンク) アクション"),
        b"RichMediaExecute" | b"Rendition" | b"Movie" | b"Sound" => (
            "pdf.rich-media",
            p.rich_media,
            "マルチメディア (RichMedia 等) アクション",
        ),
        _ => return None,
    })
}

/// Which rule governs a key that is removed wherever it appears.
fn key_rule(p: &PdfPolicy, key: &[u8]) -> Option<(&'static str, Rule, &'static str)> {
    Some(match key {
        b"JS" | b"JavaScript" => ("pdf.javascript", p.javascript, "JavaScript"),
        b"OpenAction" => (
            "pdf.open-action",
            p.open_action,
            "文書を開いたときのアクション (OpenAction)",
        ),
        b"AA" => (
            "pdf.additional-actions",
            p.additional_actions,
            "追加アクション (AA)",
        ),
        b"EmbeddedFiles" | b"EF" => ("pdf.embedded-files", p.embedded_files, "埋め込みファイル"),
        b"XFA" => ("pdf.xfa", p.xfa, "XFA フォーム"),
        b"RichMediaContent" | b"RichMediaSettings" => {
            ("pdf.rich-media", p.rich_media, "マルチメディア (RichMedia)")
        }
        _ => return None,
    })
}

/// Whether a whole dictionary (or stream) must go, and under which rule.
fn dict_rule(p: &PdfPolicy, d: &lopdf::Dictionary) -> Option<(&'static str, Rule, &'static str)> {
    if let Ok(Object::Name(s)) = d.get(b"S")
        && let Some(r) = action_rule(p, s)
    {
        return Some(r);
    }
    if let Ok(Object::Name(t)) = d.get(b"Type")
        && t == b"EmbeddedFile"
    {
        return Some(("pdf.embedded-files", p.embedded_files, "埋め込みファイル"));
    }
    if let Ok(Object::Name(st)) = d.get(b"Subtype") {
        match st.as_slice() {
            b"FileAttachment" => {
                return Some(("pdf.embedded-files", p.embedded_files, "添付ファイル注釈"));
            }
            b"RichMedia" | b"Movie" | b"Sound" | b"Screen" | b"3D" => {
                return Some(("pdf.rich-media", p.rich_media, "マルチメディア注釈"));
            }
            _ => {}
        }
    }
    None
}

/// Cleans one object in place; returns true when the object itself must be replaced by null.
fn clean(p: &PdfPolicy, obj: &mut Object, hits: &mut Hits, target: &str, depth: u32) -> bool {
    if depth > MAX_NESTING {
        hits.too_deep = true;
        return true;
    }
    let dict = match obj {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &mut s.dict,
        Object::Array(items) => {
            for item in items.iter_mut() {
                if clean(p, item, hits, target, depth + 1) {
                    *item = Object::Null;
                }
            }
            return false;
        }
        _ => return false,
    };
    if let Some((code, rule, what)) = dict_rule(p, dict) {
        hits.hit(code, rule, what, target.to_owned());
        if rule != Rule::Allow {
            return true;
        }
    }
    let mut remove: Vec<Vec<u8>> = Vec::new();
    for (key, value) in dict.iter_mut() {
        if let Some((code, rule, what)) = key_rule(p, key) {
            hits.hit(code, rule, what, target.to_owned());
            if rule != Rule::Allow {
                remove.push(key.clone());
                continue;
            }
        }
        if clean(p, value, hits, target, depth + 1) {
            remove.push(key.clone());
        }
    }
    for key in remove {
        dict.remove(&key);
    }
    false
}

/// Sanitises a PDF; returns the rebuilt bytes, or `None` after blocking.
pub(super) fn sanitize(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let p = &ctx.policy.pdf;
    let declares_encrypt = input.windows(8).any(|w| w == b"/Encrypt");
    let mut options = LoadOptions::with_password("");
    options.max_decompressed_size = usize::try_from(ctx.policy.limits.file_bytes).ok();
    let mut doc = match Document::load_mem_with_options(input, options) {
        Ok(d) => d,
        Err(e) => {
            if declares_encrypt {
                findings.block(
                    "",
                    "pdf.encrypted",
                    "暗号化された PDF で、空のパスワードでは開けないため遮断しました。",
                );
            } else {
                findings.block(
                    "",
                    "pdf.malformed",
                    format!("PDF を解析できないため遮断しました ({e})。"),
                );
            }
            return None;
        }
    };
    if doc.was_encrypted() || doc.trailer.has(b"Encrypt") {
        if p.encrypted == Rule::Allow {
            findings.push(
                ActionKind::Kept,
                "",
                "pdf.encrypted",
                "暗号化 PDF はポリシーで許可されています。",
            );
            return Some(input.to_vec());
        }
        // Opened with the empty password: the content is readable, so it is written out
        // decrypted and treated like any other PDF.
        doc.trailer.remove(b"Encrypt");
        doc.encryption_state = None;
        findings.push(
            ActionKind::Converted,
            "",
            "pdf.decrypted",
            "空のパスワードで開ける暗号化 PDF を復号して再構築しました。",
        );
    }
    let mut hits = Hits::default();
    for (id, obj) in doc.objects.iter_mut() {
        let target = format!("obj {} {}", id.0, id.1);
        if clean(p, obj, &mut hits, &target, 0) {
            *obj = Object::Null;
        }
    }
    let mut trailer = Object::Dictionary(std::mem::take(&mut doc.trailer));
    clean(p, &mut trailer, &mut hits, "trailer", 0);
    if let Object::Dictionary(d) = trailer {
        doc.trailer = d;
    }
    if hits.too_deep {
        findings.block(
            "",
            "pdf.nesting",
            "PDF のオブジェクトの入れ子が深すぎるため遮断しました。",
        );
        return None;
    }
    for (code, (rule, what, count, target)) in &hits.by_code {
        let what = if *count > 1 {
            format!("{what} ({count} 箇所)")
        } else {
            (*what).to_owned()
        };
        ctx.construct(findings, *rule, target, code, &what);
    }
    if findings.is_blocked() {
        return None;
    }
    if let Some(eof) = input.windows(5).rposition(|w| w == b"%%EOF") {
        let after = input.get(eof + 5..).unwrap_or_default();
        if after.iter().any(|b| !b.is_ascii_whitespace()) {
            findings.push(
                ActionKind::Removed,
                "",
                "pdf.trailing-data",
                format!(
                    "最後の %%EOF の後にあるデータ ({} バイト) を除去しました。",
                    after.len()
                ),
            );
        }
    }
    // What the removed keys pointed to (a script or XFA stream, an embedded file) and anything
    // else nothing refers to any more is dropped too, so its bytes do not ride along unseen.
    let unreferenced = doc.prune_objects().len();
    if unreferenced > 0 {
        findings.push(
            ActionKind::Removed,
            "",
            "pdf.unreferenced",
            format!("どこからも参照されていないオブジェクト ({unreferenced} 個) を除去しました。"),
        );
    }
    let mut out = Vec::with_capacity(input.len());
    if let Err(e) = doc.save_to(&mut out) {
        findings.block(
            "",
            "pdf.rebuild",
            format!("PDF を再構築できないため遮断しました ({e})。"),
        );
        return None;
    }
    if !hits.by_code.values().any(|(r, ..)| *r != Rule::Allow) {
        // Nothing active was present; a rewritten file is still a different file, so the verdict
        // records the rebuild only as information.
        findings.push(
            ActionKind::Kept,
            "",
            "pdf.rebuilt",
            "PDF を再構築しました (除去対象なし)。",
        );
    } else {
        findings.push(
            ActionKind::Rebuilt,
            "",
            "pdf.rebuilt",
            "PDF を再構築しました。",
        );
    }
    Some(out)
}
