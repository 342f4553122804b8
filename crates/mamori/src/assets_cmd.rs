//! `mamori assets import` and `mamori assets export`: the 情報資産管理台帳 to and from Excel and
//! CSV at the server's command line.
//!
//! The operator at the command line already holds the database, so the commands act with
//! [`Capability::operator`] across one organisation. Exit codes: 0 when done (or, with
//! `--dry-run`, planned), 2 when the file, a cell, the format or the organisation is wrong —
//! every problem is listed in Japanese by row and column, and nothing is written (no asset
//! changed, no output file created).

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_db::Db;
use mamori_db::assets::AssetFilter;
use mamori_db::assets::io::{self as assets_io, ExportError, ImportError, ImportPlan, RowAction};
use mamori_db::org::{self, AuditCtx};

use crate::admin::{read_input_file, resolve_org};

/// Rows listed per kind of change; the rest are counted.
const LISTED_ROWS: usize = 500;

/// Options of `mamori assets import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// 台帳ファイル（xlsx、または CSV: UTF-8 か Shift_JIS）。
    pub file: PathBuf,
    /// 団体コード（団体が1つだけのときは省略できます）。
    #[arg(long, value_name = "CODE")]
    pub org: Option<String>,
    /// 反映せず、変更内容だけを表示する。
    #[arg(long)]
    pub dry_run: bool,
}

/// Options of `mamori assets export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// 形式: xlsx または csv。
    #[arg(long, value_name = "xlsx|csv", default_value = "xlsx")]
    pub format: String,
    /// CSV の文字コード: utf8（BOM 付き）または cp932（Shift_JIS）。
    #[arg(long, value_name = "utf8|cp932", default_value = "")]
    pub encoding: String,
    /// 出力するファイル。
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: PathBuf,
    /// 団体コード（団体が1つだけのときは省略できます）。
    #[arg(long, value_name = "CODE")]
    pub org: Option<String>,
    /// 廃棄済みの情報資産も出力する。
    #[arg(long)]
    pub include_disposed: bool,
}

fn cli_ctx(org_id: i64) -> AuditCtx {
    AuditCtx {
        org_id: Some(org_id),
        actor_id: None,
        actor: "cli".to_owned(),
        request_id: None,
    }
}

/// Runs `mamori assets import`, printing to standard output and error.
pub async fn import(db: &Db, args: ImportArgs) -> anyhow::Result<ExitCode> {
    import_to(db, args, &mut std::io::stdout(), &mut std::io::stderr()).await
}

/// [`import`] writing to the given streams (the tests read them).
pub async fn import_to(
    db: &Db,
    args: ImportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let fail = |err: &mut dyn Write, message: &str| -> anyhow::Result<ExitCode> {
        writeln!(err, "mamori assets import: {message}")?;
        Ok(ExitCode::from(2))
    };
    let organisation = match resolve_org(db, args.org.as_deref()).await {
        Ok(o) => o,
        Err(e) => return fail(err, &e.to_string()),
    };
    let (bytes, file_name) = match read_input_file(&args.file, assets_io::MAX_FILE_BYTES) {
        Ok(read) => read,
        Err(e) => return fail(err, &e),
    };

    let org_id = OrgId(organisation.id);
    let cap = Capability::<can::EditAssets>::operator(org_id);
    let tree = org::unit_tree(db, org_id).await?;
    let started = std::time::Instant::now();
    let planned = match assets_io::read_file(&bytes, &file_name) {
        Ok(file) => {
            tracing::debug!(elapsed = ?started.elapsed(), "asset import: file read");
            drop(bytes);
            assets_io::plan(db, &cap, &tree, file).await
        }
        Err(e) => Err(ImportError::Input(e)),
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(ImportError::Input(errors)) => {
            return fail(
                err,
                &format!(
                    "{file_name} に{}件の問題があります。何も反映していません。\n{errors}",
                    errors.len()
                ),
            );
        }
        Err(e) => return Err(e.into()),
    };

    write!(out, "{}", render(&organisation.name, &plan))?;
    if args.dry_run {
        writeln!(out, "--dry-run のため反映していません。")?;
        return Ok(ExitCode::SUCCESS);
    }
    if plan.is_empty() {
        writeln!(out, "反映する変更はありません。")?;
        return Ok(ExitCode::SUCCESS);
    }
    match assets_io::apply(db, &cap, &cli_ctx(organisation.id), plan).await {
        Ok(summary) => {
            writeln!(
                out,
                "反映しました: 新規{}件、変更{}件、変更なし{}件。監査証跡 #{}",
                summary.created, summary.updated, summary.unchanged, summary.audit_seq
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(ImportError::Input(errors)) => fail(
            err,
            &format!(
                "{file_name} の{}件の行が取扱いルールに違反します。何も反映していません。\n{errors}",
                errors.len()
            ),
        ),
        Err(ImportError::Stale) => fail(err, &ImportError::Stale.to_string()),
        Err(e) => Err(e.into()),
    }
}

/// The plan as plain Japanese text: counts, then the new and the changed rows.
pub fn render(org_name: &str, plan: &ImportPlan) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(
        out,
        "{org_name} 情報資産台帳の取込み: {}（{}行）\n新規{}件 変更{}件 変更なし{}件",
        plan.file_name,
        plan.rows.len(),
        plan.created,
        plan.updated,
        plan.unchanged
    );
    if !plan.ignored_headers.is_empty() {
        let _ = writeln!(out, "読み込まない列: {}", plan.ignored_headers.join("、"));
    }
    for (action, title) in [(RowAction::Create, "新規"), (RowAction::Update, "変更")] {
        let rows: Vec<_> = plan.rows.iter().filter(|r| r.action == action).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n■ {title}");
        for r in rows.iter().take(LISTED_ROWS) {
            let _ = writeln!(out, "  {}行目 {} {}", r.row, r.asset_no, r.name);
            for c in &r.changes {
                let _ = writeln!(out, "    {}: {} → {}", c.label, c.before, c.after);
            }
        }
        if rows.len() > LISTED_ROWS {
            let _ = writeln!(out, "  …ほか{}件", rows.len() - LISTED_ROWS);
        }
    }
    let _ = writeln!(out);
    out
}

/// Runs `mamori assets export`, printing to standard output and error.
pub async fn export(db: &Db, args: ExportArgs) -> anyhow::Result<ExitCode> {
    export_to(db, args, &mut std::io::stdout(), &mut std::io::stderr()).await
}

/// [`export`] writing to the given streams.
pub async fn export_to(
    db: &Db,
    args: ExportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let fail = |err: &mut dyn Write, message: &str| -> anyhow::Result<ExitCode> {
        writeln!(err, "mamori assets export: {message}")?;
        Ok(ExitCode::from(2))
    };
    let format = match assets_io::export_format(&args.format, &args.encoding) {
        Ok(f) => f,
        Err(e) => return fail(err, &e),
    };
    let organisation = match resolve_org(db, args.org.as_deref()).await {
        Ok(o) => o,
        Err(e) => return fail(err, &e.to_string()),
    };
    let org_id = OrgId(organisation.id);
    let cap = Capability::<can::ViewAssets>::operator(org_id);
    let tree = org::unit_tree(db, org_id).await?;
    let filter = AssetFilter {
        status: args.include_disposed.then(|| "all".to_owned()),
        ..AssetFilter::default()
    };
    let filter_text = if args.include_disposed {
        "status=all"
    } else {
        ""
    };
    let export = match assets_io::export(
        db,
        &cap,
        &cli_ctx(organisation.id),
        &tree,
        &filter,
        filter_text,
        format,
    )
    .await
    {
        Ok(e) => e,
        Err(ExportError::Cells(errors)) => {
            return fail(
                err,
                &format!(
                    "{}件の問題があるため出力していません。\n{errors}",
                    errors.len()
                ),
            );
        }
        Err(ExportError::Db(e)) => return Err(e.into()),
    };
    if let Err(e) = write_whole(&args.out, &export.bytes) {
        return fail(
            err,
            &format!("{} に書き込めません（{e}）", args.out.display()),
        );
    }
    let (format_word, encoding) = assets_io::format_words(export.format);
    writeln!(
        out,
        "{} に{}件の情報資産を出力しました（{format_word}、{encoding}、{}バイト）。監査証跡 #{}",
        args.out.display(),
        export.rows,
        export.bytes.len(),
        export.audit_seq
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a file whole or not at all: into a temporary file beside it, then renamed.
fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
