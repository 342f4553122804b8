//! Zip archives: every entry is read into a bounded buffer (never extracted to disk), checked
//! against the limits (depth, entry count, total expanded size, compression ratio, overlapping
//! data), refused when its name escapes the archive or it is a link or encrypted, and processed
//! recursively by the file engine. The archive is then written anew from the results.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::Ctx;
use crate::policy::Rule;
use crate::report::{ActionKind, Findings, Verdict};

/// One entry read from an archive.
pub(super) struct Entry {
    /// Decoded name (Shift_JIS names decoded when not UTF-8).
    pub name: String,
    /// Expanded bytes.
    pub data: Vec<u8>,
    /// True for directory entries.
    pub is_dir: bool,
}

/// Decodes an entry name: UTF-8 when valid, else guessed (Japanese zips often use Shift_JIS).
fn decode_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => crate::charset::decode(raw, Some("shift_jis")).text,
    }
}

/// True when a name is absolute or climbs out of the archive.
fn unsafe_name(name: &str) -> bool {
    let n = name.replace('\\', "/");
    n.starts_with('/')
        || n.chars().nth(1) == Some(':')
        || n.split('/').any(|seg| seg == "..")
        || n.contains('\0')
}

/// Reads all entries under the limits. Blocks (and returns `None`) on any violation.
pub(super) fn read_entries(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
) -> Option<Vec<Entry>> {
    let limits = &ctx.policy.limits;
    let mut archive = match ZipArchive::new(Cursor::new(input)) {
        Ok(a) => a,
        Err(e) => {
            findings.block(
                "",
                "archive.malformed",
                format!("ZIP を解析できないため遮断しました ({e})。"),
            );
            return None;
        }
    };
    let count = u64::try_from(archive.len()).unwrap_or(u64::MAX);
    ctx.budget.entries = ctx.budget.entries.saturating_add(count);
    if ctx.budget.entries > u64::from(limits.archive_entries) {
        findings.block(
            "",
            "archive.entries",
            format!(
                "書庫のエントリ数が上限 ({}) を超えています。",
                limits.archive_entries
            ),
        );
        return None;
    }
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let (name, encrypted, symlink, is_dir, declared, compressed, start) =
            match archive.by_index_raw(i) {
                Ok(f) => (
                    decode_name(f.name_raw()),
                    f.encrypted(),
                    f.is_symlink(),
                    f.is_dir(),
                    f.size(),
                    f.compressed_size(),
                    f.data_start().unwrap_or(0),
                ),
                Err(e) => {
                    findings.block(
                        "",
                        "archive.malformed",
                        format!("ZIP のエントリ {i} を読めません ({e})。"),
                    );
                    return None;
                }
            };
        let shown = crate::links::escape_controls(&name);
        if encrypted {
            let rule = ctx.policy.archive.encrypted;
            if rule != Rule::Sanitize {
                findings.block(
                    &shown,
                    "archive.encrypted",
                    "暗号化された ZIP (パスワード付き) は中身を検査できないため遮断しました。",
                );
                return None;
            }
            findings.push(
                ActionKind::Removed,
                &shown,
                "archive.encrypted",
                "暗号化されたエントリを除去しました。",
            );
            continue;
        }
        if unsafe_name(&name) {
            findings.block(
                &shown,
                "archive.path-traversal",
                "書庫の外を指すパス (絶対パス・..) を含むため遮断しました。",
            );
            return None;
        }
        if symlink {
            findings.block(
                &shown,
                "archive.symlink",
                "シンボリックリンクを含むため遮断しました。",
            );
            return None;
        }
        if is_dir {
            entries.push(Entry {
                name,
                data: Vec::new(),
                is_dir: true,
            });
            continue;
        }
        if compressed > 0 && declared / compressed.max(1) > u64::from(limits.archive_ratio) {
            findings.block(
                &shown,
                "archive.ratio",
                format!(
                    "圧縮率が異常に高い (上限 {} 倍) ため遮断しました (ZIP 爆弾の疑い)。",
                    limits.archive_ratio
                ),
            );
            return None;
        }
        ranges.push((start, start.saturating_add(compressed)));
        let remaining = limits
            .archive_total_bytes
            .saturating_sub(ctx.budget.expanded);
        let cap = remaining.min(limits.file_bytes);
        let mut data = Vec::new();
        let read = match archive.by_index(i) {
            Ok(f) => f.take(cap.saturating_add(1)).read_to_end(&mut data),
            Err(e) => {
                findings.block(
                    &shown,
                    "archive.malformed",
                    format!("エントリを展開できません ({e})。"),
                );
                return None;
            }
        };
        if let Err(e) = read {
            findings.block(
                &shown,
                "archive.malformed",
                format!("エントリを展開できません ({e})。"),
            );
            return None;
        }
        let got = u64::try_from(data.len()).unwrap_or(u64::MAX);
        if got > cap {
            findings.block(
                &shown,
                "archive.total-size",
                "展開後の合計サイズが上限を超えるため遮断しました (ZIP 爆弾の疑い)。",
            );
            return None;
        }
        if compressed > 0 && got / compressed.max(1) > u64::from(limits.archive_ratio) {
            findings.block(
                &shown,
                "archive.ratio",
                "実際の圧縮率が異常に高いため遮断しました (ZIP 爆弾の疑い)。",
            );
            return None;
        }
        ctx.budget.expanded = ctx.budget.expanded.saturating_add(got);
        entries.push(Entry {
            name,
            data,
            is_dir: false,
        });
    }
    ranges.sort_unstable();
    if ranges.windows(2).any(|w| matches!(w, [a, b] if b.0 < a.1)) {
        findings.block(
            "",
            "archive.overlap",
            "エントリのデータが重なっているため遮断しました (ZIP 爆弾の疑い)。",
        );
        return None;
    }
    Some(entries)
}

/// Writes entries into a new zip.
pub(super) fn write_entries<'a>(
    entries: impl Iterator<Item = (&'a str, &'a [u8], bool)>,
) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(false);
    for (name, data, is_dir) in entries {
        if is_dir {
            w.add_directory(name, opts)?;
        } else {
            w.start_file(name, opts)?;
            w.write_all(data).map_err(zip::result::ZipError::Io)?;
        }
    }
    Ok(w.finish()?.into_inner())
}

/// Sanitises a plain zip: each entry through the file engine, blocked entries dropped or the
/// archive blocked (policy), everything written anew.
pub(super) fn sanitize(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    if ctx.depth >= ctx.policy.limits.archive_depth {
        findings.block(
            "",
            "archive.depth",
            format!(
                "書庫の入れ子が深すぎます (上限 {})。",
                ctx.policy.limits.archive_depth
            ),
        );
        return None;
    }
    let entries = read_entries(ctx, input, findings)?;
    let mut out: Vec<(String, Vec<u8>, bool)> = Vec::new();
    ctx.depth += 1;
    for e in entries {
        if e.is_dir {
            out.push((e.name, Vec::new(), true));
            continue;
        }
        let shown = crate::links::escape_controls(&e.name);
        let nested = super::sanitize_nested(ctx, &e.data, Some(&e.name));
        findings.absorb(&shown, &nested.report.actions);
        match (nested.report.verdict, nested.output) {
            (Verdict::Blocked, _) | (_, None) => {
                if ctx.policy.archive.blocked_entry == Rule::Block {
                    findings.block(
                        &shown,
                        "archive.blocked-entry",
                        "遮断対象のエントリを含むため書庫ごと遮断しました。",
                    );
                    ctx.depth -= 1;
                    return None;
                }
                findings.push(
                    ActionKind::Removed,
                    &shown,
                    "archive.entry-removed",
                    "遮断対象のエントリを書庫から除きました。",
                );
            }
            (_, Some(bytes)) => out.push((e.name, bytes, false)),
        }
    }
    ctx.depth -= 1;
    match write_entries(
        out.iter()
            .map(|(n, d, dir)| (n.as_str(), d.as_slice(), *dir)),
    ) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            findings.block(
                "",
                "archive.rebuild",
                format!("ZIP を再構築できません ({e})。"),
            );
            None
        }
    }
}
