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

/// Checks a legacy Office document. Returns it unchanged when clean, its text when the policy
/// converts documents with macros or objects (`converted` is then set), `None` when blocked.
pub(super) fn sanitize(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
    converted: &mut bool,
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
    let present = [
        (macros, p.macros, "ole.macros", "VBA マクロ"),
        (
            xlm,
            p.macros,
            "ole.xlm-macros",
            "Excel 4.0 (XLM) マクロシート",
        ),
        (
            objects,
            p.objects,
            "ole.objects",
            "埋め込み OLE オブジェクト",
        ),
    ];
    // Encrypted text cannot be read, so `sanitize` cannot convert it: it is blocked (fail closed).
    if encrypted {
        match p.encrypted {
            Rule::Allow => findings.push(
                ActionKind::Kept,
                "",
                "ole.encrypted",
                "暗号化はポリシーで許可されています。",
            ),
            Rule::Sanitize | Rule::Block => findings.block(
                "",
                "ole.encrypted",
                "暗号化された旧形式 Office 文書は中身を検査できないため遮断しました。",
            ),
        }
    }
    for (found, rule, code, what) in present {
        if !found {
            continue;
        }
        match rule {
            Rule::Allow => findings.push(
                ActionKind::Kept,
                "",
                code,
                format!("{what}はポリシーで許可されています。"),
            ),
            Rule::Block => findings.block(
                "",
                code,
                format!(
                    "{what}を含む旧形式 Office 文書のため遮断しました (旧形式は再構築できません)。"
                ),
            ),
            // Parts of an OLE document cannot be removed without rebuilding it: the document
            // is converted to its text instead, below.
            Rule::Sanitize => findings.push(
                ActionKind::Removed,
                "",
                code,
                format!("{what}を含むため、文書をテキストに変換しました ({what}は含まれません)。"),
            ),
        }
    }
    if findings.is_blocked() {
        return None;
    }
    let convert = present
        .iter()
        .any(|(found, rule, ..)| *found && *rule == Rule::Sanitize);
    if convert {
        let Some(text) = document_text(&mut comp, &entries) else {
            findings.block(
                "",
                "ole.text-failed",
                "文書からテキストを取り出せないため遮断しました (対応形式: Word・Excel・PowerPoint 97-2003)。",
            );
            return None;
        };
        findings.push(
            ActionKind::Converted,
            "",
            "ole.converted-to-text",
            "旧形式 Office 文書をテキスト (UTF-8) に変換しました。",
        );
        *converted = true;
        return Some(text.replace('\n', "\r\n").into_bytes());
    }
    findings.push(
        ActionKind::Kept,
        "",
        "ole.clean",
        "マクロ・埋め込みオブジェクトのない旧形式 Office 文書のためそのまま通しました。",
    );
    Some(input.to_vec())
}

/// The text of a Word, Excel (BIFF8) or PowerPoint 97-2003 document, from the streams at the
/// root of the compound file. `None` for anything else.
fn document_text(
    comp: &mut cfb::CompoundFile<Cursor<&[u8]>>,
    entries: &[(std::path::PathBuf, String, bool)],
) -> Option<String> {
    let root_stream = |name: &str| {
        entries
            .iter()
            .find(|(path, n, is_stream)| *is_stream && n == name && path.components().count() == 2)
            .map(|(path, ..)| path.clone())
    };
    if let Some(path) = root_stream("WordDocument") {
        let wd = read_stream(comp, &path)?;
        let table_path = root_stream(super::ole_text::word_table_stream(&wd))?;
        let table = read_stream(comp, &table_path)?;
        return super::ole_text::word_text(&wd, &table);
    }
    if let Some(path) = root_stream("Workbook") {
        let wb = read_stream(comp, &path)?;
        return Some(super::ole_xls_text::workbook_text(&wb));
    }
    if let Some(path) = root_stream("PowerPoint Document") {
        let stream = read_stream(comp, &path)?;
        return Some(super::ole_text::powerpoint_text(&stream));
    }
    None
}
