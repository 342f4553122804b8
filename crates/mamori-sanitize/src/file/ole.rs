//! Legacy OLE compound documents (doc, xls, ppt). They cannot be rebuilt here, so a document
//! with macros, embedded objects or encryption is blocked, and a clean one passes unchanged.

use std::io::{Cursor, Read};

use super::Ctx;
use crate::policy::Rule;
use crate::report::{ActionKind, Findings};

/// Most bytes read from one stream while looking for flags.
const MAX_STREAM: u64 = 64 * 1024 * 1024;

fn read_stream(
    comp: &mut cfb::CompoundFile<Cursor<&[u8]>>,
    path: &std::path::Path,
) -> Option<Vec<u8>> {
    let s = comp.open_stream(path).ok()?;
    let mut buf = Vec::new();
    s.take(MAX_STREAM).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// True when the BIFF8 workbook stream declares an Excel 4.0 macro sheet or a FILEPASS record.
fn biff_flags(wb: &[u8]) -> (bool, bool) {
    let mut pos = 0usize;
    let (mut xlm, mut encrypted) = (false, false);
    while let Some(head) = wb.get(pos..pos + 4) {
        let kind = u16::from_le_bytes([
            head.first().copied().unwrap_or(0),
            head.get(1).copied().unwrap_or(0),
        ]);
        let len = usize::from(u16::from_le_bytes([
            head.get(2).copied().unwrap_or(0),
            head.get(3).copied().unwrap_or(0),
        ]));
        let data = wb.get(pos + 4..pos + 4 + len).unwrap_or_default();
        match kind {
            0x0085 if data.get(5) == Some(&0x01) => xlm = true,
            0x002F => encrypted = true,
            _ => {}
        }
        pos += 4 + len;
    }
    (xlm, encrypted)
}

pub(super) fn sanitize(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let mut comp = match cfb::CompoundFile::open(Cursor::new(input)) {
        Ok(c) => c,
        Err(e) => {
            findings.block(
                "",
                "ole.malformed",
                format!("OLE 文書を解析できないため遮断しました ({e})。"),
            );
            return None;
        }
    };
    let entries: Vec<(std::path::PathBuf, String, bool)> = comp
        .walk()
        .map(|e| (e.path().to_path_buf(), e.name().to_owned(), e.is_stream()))
        .collect();
    let (mut macros, mut objects, mut encrypted, mut msg) = (false, false, false, false);
    for (path, name, _) in &entries {
        let n = name.to_ascii_uppercase();
        if matches!(
            n.as_str(),
            "VBA" | "_VBA_PROJECT" | "_VBA_PROJECT_CUR" | "MACROS" | "VBA_PROJECT"
        ) {
            macros = true;
        }
        if name == "\u{1}Ole10Native"
            || name == "ObjectPool"
            || name == "Package"
            || n.starts_with("MBD")
            || name == "\u{1}Ole" && path.components().count() > 2
        {
            objects = true;
        }
        if name == "EncryptionInfo" || name == "EncryptedPackage" {
            encrypted = true;
        }
        if name.starts_with("__substg1.0_") || name.starts_with("__attach_version1.0") {
            msg = true;
        }
    }
    if msg {
        findings.block(
            "",
            "ole.outlook-message",
            "Outlook メッセージ (.msg) は添付を含み得るため遮断しました。",
        );
        return None;
    }
    let mut xlm = false;
    for (path, name, is_stream) in &entries {
        if !is_stream {
            continue;
        }
        if (name == "Workbook" || name == "Book")
            && let Some(wb) = read_stream(&mut comp, path)
        {
            let (x, e) = biff_flags(&wb);
            xlm |= x;
            encrypted |= e;
        }
        if name == "WordDocument"
            && let Some(wd) = read_stream(&mut comp, path)
        {
            // FIB: fEncrypted is bit 0 of the byte at offset 0x0B.
            if wd.get(0x0B).is_some_and(|b| b & 0x01 != 0) {
                encrypted = true;
            }
        }
    }
    let p = &ctx.policy.ole;
    let hit = |findings: &mut Findings, present: bool, rule: Rule, code: &str, what: &str| {
        if !present {
            return;
        }
        match rule {
            Rule::Allow => findings.push(
                ActionKind::Kept,
                "",
                code,
                format!("{what}はポリシーで許可されています。"),
            ),
            // Parts of an OLE document cannot be removed without rebuilding it, so
            // `sanitize` is treated as `block` (fail closed).
            Rule::Sanitize | Rule::Block => findings.block(
                "",
                code,
                format!(
                    "{what}を含む旧形式 Office 文書のため遮断しました (旧形式は再構築できません)。"
                ),
            ),
        }
    };
    hit(findings, macros, p.macros, "ole.macros", "VBA マクロ");
    hit(
        findings,
        xlm,
        p.macros,
        "ole.xlm-macros",
        "Excel 4.0 (XLM) マクロシート",
    );
    hit(
        findings,
        objects,
        p.objects,
        "ole.objects",
        "埋め込み OLE オブジェクト",
    );
    hit(findings, encrypted, p.encrypted, "ole.encrypted", "暗号化");
    if findings.is_blocked() {
        return None;
    }
    findings.push(
        ActionKind::Kept,
        "",
        "ole.clean",
        "マクロ・埋め込みオブジェクトのない旧形式 Office 文書のためそのまま通しました。",
    );
    Some(input.to_vec())
}
