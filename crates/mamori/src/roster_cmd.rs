//! `mamori roster import`: the April 人事異動 from the server's command line. Reads a roster
//! (CSV or xlsx), prints in Japanese what it would change, and applies it in one transaction
//! unless `--dry-run` is given.
//!
//! The operator at the command line already holds the database, so the command acts with
//! [`Capability::operator`] across one organisation and may grant every role. Exit codes: 0
//! when applied (or, with `--dry-run`, planned), 2 when the file, the date or the organisation
//! is wrong — every problem of the file is listed by row and column, and nothing is written.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use mamori_core::calendar::{format_iso, parse_date};
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_db::Db;
use mamori_db::org::{self, AuditCtx};
use mamori_db::roster::{self, RosterError, RosterPlan};

use crate::admin::{read_input_file, resolve_org};

/// Options of `mamori roster import`.
#[derive(Debug, clap::Args)]
pub struct RosterArgs {
    /// 名簿ファイル（CSV: UTF-8 または Shift_JIS、または xlsx）。
    pub file: PathBuf,
    /// 団体コード（団体が1つだけのときは省略できます）。
    #[arg(long, value_name = "CODE")]
    pub org: Option<String>,
    /// 反映日（発令日）。2026-04-01、令和8年4月1日、R8.4.1 など。省略時は今日（日本時間）。
    #[arg(long, value_name = "DATE")]
    pub effective: Option<String>,
    /// 反映せず、変更内容だけを表示する。
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `mamori roster import`.
pub async fn run(db: &Db, args: RosterArgs) -> anyhow::Result<ExitCode> {
    let effective_text = args
        .effective
        .clone()
        .unwrap_or_else(mamori_web::session::today_jst);
    let effective = match parse_date(&effective_text) {
        Ok(d) => d,
        Err(e) => return Ok(usage(&format!("反映日: {e}"))),
    };
    let organisation = match resolve_org(db, args.org.as_deref()).await {
        Ok(o) => o,
        Err(e) => return Ok(usage(&e.to_string())),
    };
    let (bytes, file_name) = match read_input_file(&args.file, roster::MAX_FILE_BYTES) {
        Ok(read) => read,
        Err(e) => return Ok(usage(&e)),
    };

    let org_id = OrgId(organisation.id);
    let cap = Capability::<can::ImportRoster>::operator(org_id);
    let tree = org::unit_tree(db, org_id).await?;
    let planned = match roster::read_file(&bytes, &file_name) {
        Ok(file) => roster::plan(db, &cap, &tree, &file, &Role::ALL, effective).await,
        Err(e) => Err(RosterError::Input(e)),
    };
    let plan = match planned {
        Ok(plan) => plan,
        Err(RosterError::Input(errors)) => {
            eprintln!(
                "mamori roster import: {file_name} に{}件の問題があります。何も反映していません。\n{errors}",
                errors.len()
            );
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };

    print!("{}", render(&organisation.name, &plan));
    if args.dry_run {
        println!("--dry-run のため反映していません。");
        return Ok(ExitCode::SUCCESS);
    }
    if plan.is_empty() {
        println!("反映する変更はありません。");
        return Ok(ExitCode::SUCCESS);
    }
    let ctx = AuditCtx {
        org_id: Some(organisation.id),
        actor_id: None,
        actor: "cli".to_owned(),
        request_id: None,
    };
    let summary = roster::apply(db, &cap, &ctx, &plan).await?;
    println!(
        "反映しました（{}付）: 新規{}人、変更{}人、退職{}人、役割の開始{}件、役割の終了{}件。監査証跡 #{}",
        format_iso(effective),
        summary.created,
        summary.updated,
        summary.retired,
        summary.roles_started,
        summary.roles_ended,
        summary.audit_seq
    );
    Ok(ExitCode::SUCCESS)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("mamori roster import: {message}");
    ExitCode::from(2)
}

/// The plan as plain Japanese text, one section per kind of change.
pub fn render(org_name: &str, plan: &RosterPlan) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(
        out,
        "{org_name} 名簿の取込み: {}（{}行）\n反映日 {}（記載のなくなった役割は {} まで）",
        plan.file_name, plan.rows, plan.effective, plan.end_day
    );
    let _ = writeln!(
        out,
        "新規{}人 変更{}人 退職{}人 役割の開始{}件 役割の終了{}件 変更なし{}人 ファイルにない職員{}人",
        plan.new_persons.len(),
        plan.updates.len(),
        plan.retirements.len(),
        plan.role_starts.len(),
        plan.role_ends.len(),
        plan.unchanged,
        plan.not_in_file.len()
    );
    if !plan.new_persons.is_empty() {
        let _ = writeln!(out, "\n■ 新規");
        for n in &plan.new_persons {
            let _ = writeln!(
                out,
                "  {}行目 {} {}（{}） {} {}",
                n.row,
                n.input.staff_no.as_deref().unwrap_or("-"),
                n.input.name,
                n.input.login,
                n.unit,
                n.employment
            );
        }
    }
    if !plan.updates.is_empty() {
        let _ = writeln!(out, "\n■ 変更");
        for u in &plan.updates {
            let _ = writeln!(out, "  {}行目 {} {}", u.row, u.staff_no, u.name);
            for c in &u.changes {
                let _ = writeln!(out, "    {}: {} → {}", c.label, c.before, c.after);
            }
        }
    }
    if !plan.role_starts.is_empty() {
        let _ = writeln!(out, "\n■ 役割の開始（{}から）", plan.effective);
        for s in &plan.role_starts {
            let _ = writeln!(
                out,
                "  {}行目 {} {}: {}（{}）",
                s.row, s.staff_no, s.name, s.role_label, s.unit
            );
        }
    }
    if !plan.role_ends.is_empty() {
        let _ = writeln!(out, "\n■ 役割の終了（{}まで）", plan.end_day);
        for e in &plan.role_ends {
            let _ = writeln!(
                out,
                "  {}行目 {} {}: {}（{}） {}",
                e.row, e.staff_no, e.name, e.role_label, e.unit, e.reason
            );
        }
    }
    if !plan.retirements.is_empty() {
        let _ = writeln!(out, "\n■ 退職");
        for r in &plan.retirements {
            let _ = writeln!(
                out,
                "  {}行目 {} {}（{}）",
                r.row, r.staff_no, r.name, r.login
            );
        }
    }
    if !plan.not_in_file.is_empty() {
        let _ = writeln!(out, "\n■ ファイルにない職員（変更しません）");
        for p in &plan.not_in_file {
            let _ = writeln!(out, "  {} {}（{}） {}", p.staff_no, p.name, p.login, p.unit);
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n■ 注意");
        for w in &plan.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    let _ = writeln!(out);
    out
}
