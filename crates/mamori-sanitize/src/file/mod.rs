//! The file engine: decides the type by content, applies the policy for that type and hands the
//! bytes to the matching rebuilder. Every path ends in an [`Outcome`]; any parser error blocks.

mod image;
mod ole;
mod ole_text;
mod ole_xls_text;
mod ooxml;
mod pdf;
mod svg;
mod text;
mod ziparc;

use crate::detect::{self, Kind};
use crate::policy::{Policy, Rule};
use crate::report::{ActionKind, Findings, Outcome};

/// Shared counters for one top-level file, so limits hold across nested archives.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub entries: u64,
    pub expanded: u64,
}

/// Per-run context: the policy and where we are in nested archives.
pub(crate) struct Ctx<'p> {
    pub policy: &'p Policy,
    pub depth: u32,
    pub budget: Budget,
}

impl Ctx<'_> {
    /// Applies a construct rule: returns true when the construct must be removed. `Block` blocks
    /// the file; `Allow` records that it was kept.
    pub fn construct(
        &self,
        findings: &mut Findings,
        rule: Rule,
        target: &str,
        code: &str,
        what: &str,
    ) -> bool {
        match rule {
            Rule::Allow => {
                findings.push(
                    ActionKind::Kept,
                    target,
                    code,
                    format!("{what}はポリシーで許可されているため残しました。"),
                );
                false
            }
            Rule::Sanitize => {
                findings.push(
                    ActionKind::Removed,
                    target,
                    code,
                    format!("{what}を除去しました。"),
                );
                true
            }
            Rule::Block => {
                findings.block(target, code, format!("{what}を含むため遮断しました。"));
                true
            }
        }
    }
}

/// Sanitises one file. `name` is only used to flag mismatches and dangerous extensions; the type
/// is decided by content.
pub fn sanitize_file(input: &[u8], name: Option<&str>, policy: &Policy) -> Outcome {
    let mut ctx = Ctx {
        policy,
        depth: 0,
        budget: Budget::default(),
    };
    sanitize_nested(&mut ctx, input, name)
}

pub(crate) fn sanitize_nested(ctx: &mut Ctx<'_>, input: &[u8], name: Option<&str>) -> Outcome {
    let size = u64::try_from(input.len()).unwrap_or(u64::MAX);
    if size > ctx.policy.limits.file_bytes {
        return Outcome::blocked(
            input,
            "unknown",
            "",
            "limit.file-size",
            format!(
                "ファイルが大きすぎます ({size} バイト、上限 {} バイト)。",
                ctx.policy.limits.file_bytes
            ),
        );
    }
    let kind = detect::detect(input);
    let mut findings = Findings::default();
    check_name(&mut findings, kind, name);
    if findings.is_blocked() {
        return findings.finish(input, kind.name(), None, kind.name());
    }
    let types = &ctx.policy.files;
    let rule = match kind {
        Kind::Pdf => types.pdf,
        Kind::Ooxml(_) => types.ooxml,
        Kind::EncryptedOoxml => ctx.policy.ooxml.encrypted,
        Kind::Zip => types.zip,
        Kind::Ole => types.ole,
        Kind::Jpeg | Kind::Png | Kind::Gif | Kind::Bmp | Kind::Webp => types.image,
        Kind::Svg => types.svg,
        Kind::OtherArchive(_) => types.other_archive,
        Kind::Executable(_) => types.executable,
        Kind::Html => types.html,
        Kind::Csv => types.csv,
        Kind::Text => types.text,
        Kind::OpenDocument | Kind::Rtf | Kind::Unknown => types.unknown,
    };
    match rule {
        Rule::Block => {
            findings.block(
                "",
                &format!("file.type.{}", kind.name()),
                block_reason(kind),
            );
            return findings.finish(input, kind.name(), None, kind.name());
        }
        Rule::Allow => {
            findings.push(
                ActionKind::Kept,
                "",
                &format!("file.type.{}", kind.name()),
                format!(
                    "種類 {} はポリシーで無条件に許可されています。",
                    kind.name()
                ),
            );
            return findings.finish(input, kind.name(), Some(input.to_vec()), kind.name());
        }
        Rule::Sanitize => {}
    }
    let mut ole_converted = false;
    let result = match kind {
        Kind::Pdf => pdf::sanitize(ctx, input, &mut findings),
        Kind::Ooxml(ext) => ooxml::sanitize(ctx, input, ext, &mut findings),
        Kind::Zip => ziparc::sanitize(ctx, input, &mut findings),
        Kind::Ole => ole::sanitize(ctx, input, &mut findings, &mut ole_converted),
        Kind::Jpeg | Kind::Png | Kind::Gif | Kind::Bmp | Kind::Webp => {
            image::sanitize(ctx, input, kind, &mut findings)
        }
        Kind::Svg => svg::sanitize(ctx, input, &mut findings),
        Kind::Html => text::sanitize_html(ctx, input, &mut findings),
        Kind::Csv => text::sanitize_csv(ctx, input, &mut findings),
        Kind::Text => text::sanitize_text(input, &mut findings),
        // Types without a rebuilder cannot be sanitised; fail closed.
        Kind::EncryptedOoxml
        | Kind::OtherArchive(_)
        | Kind::Executable(_)
        | Kind::OpenDocument
        | Kind::Rtf
        | Kind::Unknown => {
            findings.block(
                "",
                &format!("file.type.{}", kind.name()),
                block_reason(kind),
            );
            None
        }
    };
    let out_kind = match (kind, &result) {
        (Kind::Ooxml(ext), Some(_)) => ooxml::output_extension(ext),
        (Kind::Html, Some(_)) => "text",
        (Kind::Ole, Some(_)) if ole_converted => "text",
        (Kind::Svg, Some(_)) => "png",
        _ => kind.name(),
    };
    findings.finish(input, kind.name(), result, out_kind)
}

fn block_reason(kind: Kind) -> String {
    match kind {
        Kind::EncryptedOoxml => {
            "パスワード付きの Office 文書は中身を検査できないため遮断しました。".to_owned()
        }
        Kind::Svg => "SVG 画像はスクリプトを含み得るため遮断しました。".to_owned(),
        Kind::OtherArchive(n) => {
            format!("この形式の書庫・イメージ ({n}) は検査できないため遮断しました。")
        }
        Kind::Executable(n) => format!("実行可能なファイル ({n}) のため遮断しました。"),
        Kind::OpenDocument => {
            "OpenDocument 形式は現在無害化に対応していないため遮断しました。".to_owned()
        }
        Kind::Rtf => "RTF 文書は OLE オブジェクトを含み得るため遮断しました。".to_owned(),
        Kind::Unknown => "種類を判別できないファイルのため遮断しました。".to_owned(),
        other => format!("種類 {} はポリシーで遮断されています。", other.name()),
    }
}

fn check_name(findings: &mut Findings, kind: Kind, name: Option<&str>) {
    let Some(name) = name else { return };
    let shown = crate::links::escape_controls(name);
    if shown != name {
        findings.push(
            ActionKind::Flagged,
            "",
            "file.name.bidi",
            format!("ファイル名に見えない制御文字・向きを変える文字が含まれています: {shown}"),
        );
    }
    if detect::has_double_extension(name) {
        findings.block(
            "",
            "file.name.double-extension",
            format!("二重拡張子のファイル名です: {shown}"),
        );
        return;
    }
    let ext = detect::extension(name);
    if let Some(ext) = ext.as_deref() {
        if detect::DANGEROUS_EXTENSIONS.contains(&ext) {
            findings.block(
                "",
                "file.name.dangerous-extension",
                format!("実行形式の拡張子 (.{ext}) のため遮断しました: {shown}"),
            );
            return;
        }
        let fits = kind.extensions();
        if !fits.is_empty() && !fits.contains(&ext) {
            findings.push(
                ActionKind::Flagged,
                "",
                "file.name.mismatch",
                format!(
                    "拡張子 (.{ext}) と中身の種類 ({}) が一致しません。",
                    kind.name()
                ),
            );
        }
    }
}
