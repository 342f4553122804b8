//! Text, CSV and HTML files: charset normalised to UTF-8, CSV cells that a spreadsheet would run
//! as formulas neutralised, HTML converted to text.

use super::Ctx;
use crate::charset;
use crate::html;
use crate::policy::Rule;
use crate::report::{ActionKind, Findings};

fn decode(input: &[u8], findings: &mut Findings) -> String {
    let (text, converted) = if input.starts_with(&[0xFF, 0xFE]) || input.starts_with(&[0xFE, 0xFF])
    {
        let enc = if input.starts_with(&[0xFF, 0xFE]) {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        (enc.decode(input).0.into_owned(), Some(enc.name()))
    } else {
        let d = charset::decode(input, None);
        let name = (d.encoding != encoding_rs::UTF_8).then(|| d.encoding.name());
        if d.had_errors {
            findings.push(
                ActionKind::Flagged,
                "",
                "text.decode-errors",
                "文字コードとして正しくないバイトを置換文字 (U+FFFD) にしました。",
            );
        }
        (d.text, name)
    };
    if let Some(name) = converted {
        findings.push(
            ActionKind::Converted,
            "",
            "text.charset",
            format!("文字コードを {name} から UTF-8 に変換しました。"),
        );
    }
    if let Some(stripped) = text.strip_prefix('\u{feff}') {
        findings.mark_changed();
        return stripped.to_owned();
    }
    text
}

pub(super) fn sanitize_text(input: &[u8], findings: &mut Findings) -> Option<Vec<u8>> {
    Some(decode(input, findings).into_bytes())
}

pub(super) fn sanitize_html(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let text = decode(input, findings);
    let l = &ctx.policy.limits;
    let c = html::to_text(
        &text,
        html::Options {
            max_bytes: l.html_bytes,
            max_depth: l.html_depth,
            disable_links: true,
        },
    );
    findings.push(
        ActionKind::Converted,
        "",
        "html.to-text",
        "HTML をテキストに変換しました (スクリプト・リンクは無効)。",
    );
    Some(c.text.into_bytes())
}

fn is_number(cell: &str) -> bool {
    let t = cell.trim();
    !t.is_empty()
        && t.replace([',', '.'], "")
            .trim_start_matches(['-', '+'])
            .chars()
            .all(|c| c.is_ascii_digit())
}

fn dangerous_cell(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']) && !is_number(cell)
}

pub(super) fn sanitize_csv(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let text = decode(input, findings);
    let tab = text
        .lines()
        .next()
        .is_some_and(|l| l.contains('\t') && !l.contains(','));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(if tab { b'\t' } else { b',' })
        .from_reader(text.as_bytes());
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(if tab { b'\t' } else { b',' })
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(text.len() + 64));
    let mut count = 0u32;
    let mut first = String::new();
    for (row, rec) in reader.records().enumerate() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                findings.block(
                    "",
                    "csv.malformed",
                    format!("CSV の {} 行目を解析できません ({e})。", row + 1),
                );
                return None;
            }
        };
        let mut out_row: Vec<String> = Vec::with_capacity(rec.len());
        for (col, cell) in rec.iter().enumerate() {
            if dangerous_cell(cell) {
                count += 1;
                if first.is_empty() {
                    first = format!("{}行{}列", row + 1, col + 1);
                }
                out_row.push(format!("'{cell}"));
            } else {
                out_row.push(cell.to_owned());
            }
        }
        if writer.write_record(&out_row).is_err() {
            findings.block("", "csv.rebuild", "CSV を書き出せません。");
            return None;
        }
    }
    if count == 0 {
        return Some(text.into_bytes());
    }
    let rule = ctx.policy.csv.formula;
    if rule == Rule::Allow {
        findings.push(
            ActionKind::Kept,
            &first,
            "csv.formula",
            format!("数式として実行され得るセル ({count} 個) はポリシーで許可されています。"),
        );
        return Some(text.into_bytes());
    }
    if rule == Rule::Block {
        findings.block(
            &first,
            "csv.formula",
            format!("数式として実行され得るセル ({count} 個) を含むため遮断しました。"),
        );
        return None;
    }
    findings.push(
        ActionKind::Neutralized,
        &first,
        "csv.formula",
        format!("数式として実行され得るセル ({count} 個) の先頭に ' を付けて無害化しました。"),
    );
    writer.into_inner().ok()
}
