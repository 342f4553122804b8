//! 情報セキュリティ監査 (基本方針 §7): audit plans, engagements with their scope, criteria and
//! auditors, checklists and fieldwork, findings with evidence, and corrective actions followed
//! up until an auditor confirms them. Not the audit *trail* ([`crate::audit`]), to which every
//! change here is appended in the same transaction.
//!
//! Separation of duties is enforced here, where the facts are: an auditor is never assigned to
//! an engagement whose scope contains their own unit, a unit above it or a unit below it
//! ([`check_auditor_independence`]); only the auditors assigned to an engagement record its
//! fieldwork and findings; the owner of a corrective action never confirms it.

use std::collections::{HashMap, HashSet};

use mamori_core::auditing::{
    ActionStatus, EngagementStatus, ItemResult, PlanKind, Severity, checklist, finding_closed,
};
use mamori_core::calendar::{FiscalYear, format_iso, parse_date};
use mamori_core::org::{OrgId, UnitId};
use mamori_core::permission::{Capability, Permission, Reach, can, check_auditor_independence};
use mamori_core::role::Role;
use mamori_core::standards;
use mamori_core::task::{Task, TaskKind};
use mamori_tabular::{ExportTable, TabularErrors};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use time::Date;

use crate::audit;
use crate::org::{self, Assignment, AuditCtx, PERSON_COLUMNS, Person, UnitTree};
use crate::{Db, DbError, DbResult, now_text};

/// Longest title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest free text (purpose, question, notes, description, plan).
pub const MAX_TEXT_CHARS: usize = 4_000;
/// Largest evidence file accepted.
pub const MAX_EVIDENCE_BYTES: usize = 5 * 1024 * 1024;
/// Most units, systems, clauses or auditors of one engagement.
pub const MAX_LIST: usize = 200;

/// A field that fails validation: (field key, Japanese reason).
pub type FieldProblem = (&'static str, String);

/// Why an audit change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuditingError {
    /// Fields are missing or wrong.
    #[error("入力内容に誤りがあります")]
    Invalid(Vec<FieldProblem>),
    /// An auditor would audit their own unit (or one above or below it).
    #[error("{0}")]
    Independence(String),
    /// The owner of a corrective action tried to confirm it.
    #[error("{0}")]
    Duty(String),
    /// The engagement or action is not in a state that allows the change.
    #[error("{0}")]
    State(String),
    /// The actor is not an auditor assigned to the engagement.
    #[error("この監査の監査人として割り当てられていないため、記録できません")]
    NotAssigned,
    /// The database failed (or the object does not exist within reach).
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AuditingError {
    fn from(e: sqlx::Error) -> Self {
        AuditingError::Db(DbError::Sqlx(e))
    }
}

/// Result of a change.
pub type AuditingResult<T> = Result<T, AuditingError>;

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_text(
    problems: &mut Vec<FieldProblem>,
    key: &'static str,
    label: &str,
    value: &str,
    max: usize,
    required: bool,
) {
    if required && value.trim().is_empty() {
        problems.push((key, format!("{label}を入力してください")));
    } else if chars(value) > max {
        problems.push((key, format!("{label}は{max}文字以内にしてください")));
    }
}

/// Dates as people read them in messages: 2026-04-01.
fn iso(d: Date) -> String {
    format_iso(d)
}

// ------------------------------------------------------------------ plans

/// An audit plan (中期・年度・特別).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Plan {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// [`PlanKind`] code.
    pub kind: String,
    /// Title.
    pub title: String,
    /// First 年度 (the calendar year it starts in).
    pub fiscal_year: i64,
    /// Last 年度 (the same for an annual or special plan).
    pub last_year: i64,
    /// Purpose (目的).
    pub purpose: String,
    /// For a special audit: the CISO who ordered it.
    pub ordered_by: Option<i64>,
    /// For a special audit: the day of the order.
    pub ordered_on: Option<String>,
    /// For a special audit: what was ordered.
    pub order_note: String,
    /// Created (UTC).
    pub created_at: String,
}

const PLAN_COLUMNS: &str = "id, org_id, kind, title, fiscal_year, last_year, purpose, ordered_by, \
     ordered_on, order_note, created_at";

impl Plan {
    /// Its kind.
    pub fn kind(&self) -> PlanKind {
        PlanKind::parse(&self.kind).unwrap_or(PlanKind::Annual)
    }

    /// First day of its period.
    pub fn starts(&self) -> Date {
        fiscal(self.fiscal_year).map_or(Date::MIN, FiscalYear::start)
    }

    /// Last day of its period.
    pub fn ends(&self) -> Date {
        fiscal(self.last_year).map_or(Date::MAX, FiscalYear::end)
    }

    /// 「令和8年度」 or 「令和8年度〜令和10年度」.
    pub fn period_label(&self) -> String {
        let label = |y: i64| fiscal(y).map_or_else(|| format!("{y}年度"), |f| f.label_wareki());
        if self.fiscal_year == self.last_year {
            label(self.fiscal_year)
        } else {
            format!("{}〜{}", label(self.fiscal_year), label(self.last_year))
        }
    }
}

fn fiscal(year: i64) -> Option<FiscalYear> {
    i32::try_from(year)
        .ok()
        .and_then(|y| FiscalYear::new(y).ok())
}

/// A new plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    /// Kind.
    pub kind: PlanKind,
    /// Title.
    pub title: String,
    /// First 年度.
    pub fiscal_year: i64,
    /// Last 年度 (mid-term plans; otherwise ignored).
    pub last_year: i64,
    /// Purpose.
    pub purpose: String,
    /// Special audit: the ordering CISO.
    pub ordered_by: Option<i64>,
    /// Special audit: the day of the order.
    pub ordered_on: Option<Date>,
    /// Special audit: what was ordered.
    pub order_note: String,
}

/// Loads the persons of an organisation by id (for names and checks).
async fn persons_in(conn: &mut AnyConnection, org: i64) -> DbResult<HashMap<i64, Person>> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE org_id = $1");
    let rows: Vec<Person> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|p| (p.id, p)).collect())
}

/// Role assignments of one person in force on `day`.
async fn assignments_on(
    conn: &mut AnyConnection,
    org: i64,
    person: i64,
    day: &str,
) -> DbResult<Vec<Assignment>> {
    Ok(sqlx::query_as(
        "SELECT id, org_id, person_id, role, unit_id, valid_from, valid_to, note, created_at \
         FROM role_assignment WHERE org_id = $1 AND person_id = $2 AND valid_from <= $3 \
         AND (valid_to IS NULL OR valid_to >= $3)",
    )
    .bind(org)
    .bind(person)
    .bind(day)
    .fetch_all(&mut *conn)
    .await?)
}

/// Creates a plan; returns its id.
pub async fn create_plan(
    conn: &mut AnyConnection,
    cap: &Capability<can::PlanAudits>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    input: &PlanInput,
    today: Date,
) -> AuditingResult<i64> {
    let org = cap.org().0;
    let mut problems = Vec::new();
    check_text(
        &mut problems,
        "title",
        "計画の名称",
        &input.title,
        MAX_TITLE_CHARS,
        true,
    );
    check_text(
        &mut problems,
        "purpose",
        "目的",
        &input.purpose,
        MAX_TEXT_CHARS,
        false,
    );
    let last_year = match input.kind {
        PlanKind::MidTerm => input.last_year,
        PlanKind::Annual | PlanKind::Special => input.fiscal_year,
    };
    if fiscal(input.fiscal_year).is_none() {
        problems.push((
            "fiscal_year",
            format!("年度「{}」が正しくありません", input.fiscal_year),
        ));
    } else if input.kind == PlanKind::MidTerm
        && (fiscal(last_year).is_none() || !(1..=4).contains(&(last_year - input.fiscal_year)))
    {
        problems.push((
            "last_year",
            "中期計画の最終年度は、開始年度の1〜4年後にしてください（2〜5年間）".to_owned(),
        ));
    }
    let (ordered_by, ordered_on, order_note) = if input.kind == PlanKind::Special {
        check_text(
            &mut problems,
            "order_note",
            "CISOの指示の内容",
            &input.order_note,
            MAX_TEXT_CHARS,
            true,
        );
        match input.ordered_on {
            None => problems.push(("ordered_on", "指示を受けた日を入力してください".to_owned())),
            Some(d) if d > today => problems.push((
                "ordered_on",
                "指示を受けた日に未来の日付は指定できません".to_owned(),
            )),
            Some(_) => {}
        }
        match input.ordered_by {
            None => problems.push((
                "ordered_by",
                "特別監査を指示したCISOを選んでください".to_owned(),
            )),
            Some(p) => {
                let persons = persons_in(conn, org).await?;
                let held = assignments_on(conn, org, p, &iso(today)).await?;
                match persons.get(&p) {
                    None => {
                        problems.push(("ordered_by", "指示した職員が見つかりません".to_owned()))
                    }
                    Some(person) => {
                        let actor = org::actor_from(person, tree, held.iter());
                        if !actor.holds(Role::Ciso) {
                            problems.push((
                                "ordered_by",
                                format!(
                                    "{} は最高情報セキュリティ責任者（CISO）ではありません。特別監査はCISOの指示によります",
                                    person.name
                                ),
                            ));
                        }
                    }
                }
            }
        }
        (
            input.ordered_by,
            input.ordered_on.map(iso),
            input.order_note.trim().to_owned(),
        )
    } else {
        (None, None, String::new())
    };
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auditing_plan (org_id, kind, title, fiscal_year, last_year, purpose, ordered_by, \
         ordered_on, order_note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11) RETURNING id",
    )
    .bind(org)
    .bind(input.kind.code())
    .bind(input.title.trim())
    .bind(input.fiscal_year)
    .bind(last_year)
    .bind(input.purpose.trim())
    .bind(ordered_by)
    .bind(&ordered_on)
    .bind(&order_note)
    .bind(ctx.actor_id)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("auditing.plan.create", "auditing_plan", id);
    entry.org_id = Some(org);
    entry.after = Some(json!({
        "kind": input.kind.code(),
        "title": input.title.trim(),
        "fiscal_year": input.fiscal_year,
        "last_year": last_year,
        "purpose": input.purpose.trim(),
        "ordered_by": ordered_by,
        "ordered_on": ordered_on,
        "order_note": order_note,
    }));
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Every plan of the organisation, newest 年度 first.
pub async fn plans(db: &Db, org: OrgId) -> DbResult<Vec<Plan>> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM auditing_plan WHERE org_id = $1 ORDER BY fiscal_year DESC, id DESC"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(db.pool())
        .await?)
}

async fn plan_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Plan> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM auditing_plan WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// One plan.
pub async fn plan(db: &Db, org: OrgId, id: i64) -> DbResult<Plan> {
    let mut conn = db.pool().acquire().await?;
    plan_in(&mut conn, org.0, id).await
}

// ------------------------------------------------------------------ engagements

/// An audit engagement (個別監査).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Engagement {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// The plan it belongs to.
    pub plan_id: i64,
    /// Title.
    pub title: String,
    /// [`EngagementStatus`] code.
    pub status: String,
    /// First day of fieldwork.
    pub starts_on: String,
    /// Last day.
    pub ends_on: String,
    /// Notes.
    pub note: String,
    /// Created (UTC).
    pub created_at: String,
    /// Last change (UTC).
    pub updated_at: String,
}

const ENGAGEMENT_COLUMNS: &str =
    "id, org_id, plan_id, title, status, starts_on, ends_on, note, created_at, updated_at";

impl Engagement {
    /// Its status.
    pub fn status(&self) -> EngagementStatus {
        EngagementStatus::parse(&self.status).unwrap_or(EngagementStatus::Preparation)
    }
}

/// What an engagement covers and who audits it, as entered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngagementInput {
    /// Title.
    pub title: String,
    /// First day.
    pub starts_on: Option<Date>,
    /// Last day.
    pub ends_on: Option<Date>,
    /// Units in scope (ids).
    pub units: Vec<i64>,
    /// Systems in scope (資産番号 of register entries of kind system or network).
    pub systems: Vec<String>,
    /// Criteria: guideline clause numbers.
    pub criteria: Vec<String>,
    /// Assigned auditors (person ids).
    pub auditors: Vec<i64>,
    /// Notes.
    pub note: String,
}

/// A system in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemRef {
    /// Asset id.
    pub id: i64,
    /// 資産番号.
    pub asset_no: String,
    /// 名称.
    pub name: String,
    /// 所管課.
    pub unit_id: i64,
}

/// An engagement's input after checking: everything resolved.
struct Resolved {
    starts_on: Date,
    ends_on: Date,
    units: Vec<i64>,
    systems: Vec<SystemRef>,
    criteria: Vec<&'static str>,
    auditors: Vec<i64>,
}

/// Splits a list typed by people (commas, 、, spaces, line breaks) into items.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == '、' || c == '，' || c.is_whitespace())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks an engagement's input against the plan and the organisation, and the independence of
/// every auditor from every unit in scope.
async fn resolve(
    conn: &mut AnyConnection,
    org: i64,
    tree: &UnitTree,
    plan: &Plan,
    input: &EngagementInput,
    today: Date,
) -> AuditingResult<Resolved> {
    let mut problems = Vec::new();
    check_text(
        &mut problems,
        "title",
        "監査の名称",
        &input.title,
        MAX_TITLE_CHARS,
        true,
    );
    check_text(
        &mut problems,
        "note",
        "備考",
        &input.note,
        MAX_TEXT_CHARS,
        false,
    );
    let (starts_on, ends_on) = match (input.starts_on, input.ends_on) {
        (Some(s), Some(e)) => {
            if e < s {
                problems.push((
                    "ends_on",
                    format!("終了日（{}）が開始日（{}）より前です", iso(e), iso(s)),
                ));
            } else if s < plan.starts() || e > plan.ends() {
                problems.push((
                    "starts_on",
                    format!(
                        "実施期間は監査計画の期間（{}：{}〜{}）の中で指定してください",
                        plan.period_label(),
                        iso(plan.starts()),
                        iso(plan.ends())
                    ),
                ));
            }
            (s, e)
        }
        _ => {
            problems.push((
                "starts_on",
                "実施期間の開始日と終了日を入力してください".to_owned(),
            ));
            (today, today)
        }
    };
    for (key, label, n) in [
        ("units", "監査対象の組織", input.units.len()),
        ("systems", "監査対象の情報システム", input.systems.len()),
        ("criteria", "監査基準の項番", input.criteria.len()),
        ("auditors", "監査人", input.auditors.len()),
    ] {
        if n > MAX_LIST {
            problems.push((key, format!("{label}は{MAX_LIST}件以内にしてください")));
        }
    }
    // Units.
    let mut units: Vec<i64> = Vec::new();
    if input.units.is_empty() {
        problems.push(("units", "監査対象の組織を1つ以上選んでください".to_owned()));
    }
    for u in &input.units {
        if tree.get(*u).is_some_and(|unit| unit.parent_id.is_none()) {
            // Everyone belongs to the organisation: audit its bodies and sections instead, so
            // that the independence check has units to compare.
            problems.push((
                "units",
                "組織全体ではなく、監査する所属（事務局・消防本部などの組織）を選んでください"
                    .to_owned(),
            ));
        } else if tree.get(*u).is_none() {
            problems.push(("units", format!("監査対象の組織（ID {u}）が見つかりません")));
        } else if !units.contains(u) {
            units.push(*u);
        }
    }
    // Systems, by 資産番号.
    let mut systems: Vec<SystemRef> = Vec::new();
    for no in &input.systems {
        let no = no.trim();
        let row: Option<(i64, String, String, i64, String, String)> = sqlx::query_as(
            "SELECT id, asset_no, name, unit_id, kind, status FROM asset WHERE org_id = $1 AND asset_no = $2",
        )
        .bind(org)
        .bind(no)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            Some((id, asset_no, name, unit_id, kind, status))
                if (kind == "system" || kind == "network") && status != "disposed" =>
            {
                if !systems.iter().any(|s| s.id == id) {
                    systems.push(SystemRef {
                        id,
                        asset_no,
                        name,
                        unit_id,
                    });
                }
            }
            Some(_) => problems.push((
                "systems",
                format!("資産番号「{no}」は情報システム・ネットワークではないか、廃棄済みです"),
            )),
            None => problems.push((
                "systems",
                format!("資産番号「{no}」の情報システムは台帳にありません"),
            )),
        }
    }
    // Criteria.
    let mut criteria: Vec<&'static str> = Vec::new();
    if input.criteria.is_empty() {
        problems.push((
            "criteria",
            "監査基準（対策基準の項番）を1つ以上入力してください".to_owned(),
        ));
    }
    for c in &input.criteria {
        match standards::clause(c) {
            Some(clause) => {
                if !criteria.contains(&clause.number) {
                    criteria.push(clause.number);
                }
            }
            None => problems.push((
                "criteria",
                format!(
                    "監査基準の項番「{}」は対策基準（2-1〜2-9-3）にありません",
                    c.trim()
                ),
            )),
        }
    }
    // Auditors: persons who hold the 監査人 role today.
    let persons = persons_in(conn, org).await?;
    let day = iso(today);
    let mut auditors: Vec<i64> = Vec::new();
    let mut auditor_paths: Vec<(String, Vec<Vec<UnitId>>)> = Vec::new();
    if input.auditors.is_empty() {
        problems.push(("auditors", "監査人を1人以上選んでください".to_owned()));
    }
    for a in &input.auditors {
        let Some(person) = persons.get(a) else {
            problems.push(("auditors", format!("監査人（ID {a}）が見つかりません")));
            continue;
        };
        let held = assignments_on(conn, org, *a, &day).await?;
        let actor = org::actor_from(person, tree, held.iter());
        if person.status != "active" || !actor.holds(Role::Auditor) {
            problems.push((
                "auditors",
                format!(
                    "{} は監査人の役割を持っていないため、割り当てられません",
                    person.name
                ),
            ));
            continue;
        }
        if auditors.contains(a) {
            continue;
        }
        auditors.push(*a);
        // Every unit the auditor belongs to or holds a role in.
        let mut paths = vec![tree.path(person.unit_id)];
        for h in &held {
            paths.push(tree.path(h.unit_id));
        }
        auditor_paths.push((person.name.clone(), paths));
    }
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    // Independence: every auditor against every unit in scope (and the units owning the systems).
    let audited: Vec<i64> = units
        .iter()
        .copied()
        .chain(systems.iter().map(|s| s.unit_id))
        .collect();
    for (name, paths) in &auditor_paths {
        for u in &audited {
            if let Err(conflict) = check_auditor_independence(paths, &tree.path(*u)) {
                return Err(AuditingError::Independence(format!(
                    "{name} は「{}」を監査できません。{conflict}。自らの所属する組織とその上位・下位の組織は監査できません",
                    tree.full_name(*u)
                )));
            }
        }
    }
    Ok(Resolved {
        starts_on,
        ends_on,
        units,
        systems,
        criteria,
        auditors,
    })
}

/// Writes the scope, criteria and auditors rows of an engagement (replacing any).
async fn write_scope(conn: &mut AnyConnection, org: i64, id: i64, r: &Resolved) -> DbResult<()> {
    for table in [
        "auditing_scope_unit",
        "auditing_scope_system",
        "auditing_criterion",
        "auditing_auditor",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE engagement_id = $1 AND org_id = $2"
        )))
        .bind(id)
        .bind(org)
        .execute(&mut *conn)
        .await?;
    }
    for u in &r.units {
        sqlx::query(
            "INSERT INTO auditing_scope_unit (org_id, engagement_id, unit_id) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(id)
        .bind(u)
        .execute(&mut *conn)
        .await?;
    }
    for s in &r.systems {
        sqlx::query(
            "INSERT INTO auditing_scope_system (org_id, engagement_id, asset_id) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(id)
        .bind(s.id)
        .execute(&mut *conn)
        .await?;
    }
    for c in &r.criteria {
        sqlx::query(
            "INSERT INTO auditing_criterion (org_id, engagement_id, clause) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(id)
        .bind(*c)
        .execute(&mut *conn)
        .await?;
    }
    for a in &r.auditors {
        sqlx::query(
            "INSERT INTO auditing_auditor (org_id, engagement_id, person_id) VALUES ($1, $2, $3)",
        )
        .bind(org)
        .bind(id)
        .bind(a)
        .execute(&mut *conn)
        .await?;
    }
    // Checklist items for clauses not yet covered; unrecorded items of dropped clauses go.
    let clauses: Vec<&'static standards::GuidelineClause> = r
        .criteria
        .iter()
        .filter_map(|c| standards::clause(c))
        .collect();
    let seeds = checklist(&clauses);
    let existing: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT i.id, i.clause, i.result, (SELECT COUNT(*) FROM auditing_finding f WHERE f.item_id = i.id) \
         FROM auditing_item i WHERE i.engagement_id = $1 AND i.org_id = $2",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    for (item, clause, result, findings) in &existing {
        let kept = seeds.iter().any(|s| s.clause == clause.as_str());
        if !kept && result.is_empty() && *findings == 0 {
            sqlx::query("DELETE FROM auditing_item WHERE id = $1 AND org_id = $2")
                .bind(item)
                .bind(org)
                .execute(&mut *conn)
                .await?;
        }
    }
    let mut position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) FROM auditing_item WHERE engagement_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    for seed in seeds {
        if existing.iter().any(|(_, c, _, _)| c == seed.clause) {
            continue;
        }
        position += 1;
        sqlx::query(
            "INSERT INTO auditing_item (org_id, engagement_id, clause, position, question) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org)
        .bind(id)
        .bind(seed.clause)
        .bind(position)
        .bind(&seed.question)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// `v` with more fields (an object; anything else is returned as it is).
fn with(mut v: serde_json::Value, fields: Vec<(&str, serde_json::Value)>) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        for (k, x) in fields {
            o.insert(k.to_owned(), x);
        }
    }
    v
}

fn scope_json(r: &Resolved) -> serde_json::Value {
    json!({
        "starts_on": iso(r.starts_on),
        "ends_on": iso(r.ends_on),
        "units": r.units,
        "systems": r.systems.iter().map(|s| &s.asset_no).collect::<Vec<_>>(),
        "criteria": r.criteria,
        "auditors": r.auditors,
    })
}

/// Creates an engagement under a plan, with its checklist generated from the criteria.
pub async fn create_engagement(
    conn: &mut AnyConnection,
    cap: &Capability<can::PlanAudits>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    plan_id: i64,
    input: &EngagementInput,
    today: Date,
) -> AuditingResult<i64> {
    let org = cap.org().0;
    let plan = plan_in(conn, org, plan_id).await?;
    let r = resolve(conn, org, tree, &plan, input, today).await?;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auditing_engagement (org_id, plan_id, title, status, starts_on, ends_on, note, \
         created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(org)
    .bind(plan_id)
    .bind(input.title.trim())
    .bind(EngagementStatus::Preparation.code())
    .bind(iso(r.starts_on))
    .bind(iso(r.ends_on))
    .bind(input.note.trim())
    .bind(ctx.actor_id)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    write_scope(conn, org, id, &r).await?;
    let mut entry = ctx.entry("auditing.engagement.create", "auditing_engagement", id);
    entry.org_id = Some(org);
    entry.after = Some(with(
        scope_json(&r),
        vec![
            ("plan_id", json!(plan_id)),
            ("title", json!(input.title.trim())),
        ],
    ));
    audit::append(conn, entry).await?;
    Ok(id)
}

async fn engagement_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Engagement> {
    let sql = format!(
        "SELECT {ENGAGEMENT_COLUMNS} FROM auditing_engagement WHERE id = $1 AND org_id = $2"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// The current scope, criteria and auditors of an engagement, for the audit trail.
async fn stored_scope(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<serde_json::Value> {
    let units: Vec<i64> = sqlx::query_scalar(
        "SELECT unit_id FROM auditing_scope_unit WHERE engagement_id = $1 AND org_id = $2 ORDER BY unit_id",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let systems: Vec<String> = sqlx::query_scalar(
        "SELECT a.asset_no FROM auditing_scope_system s JOIN asset a ON a.id = s.asset_id \
         WHERE s.engagement_id = $1 AND s.org_id = $2 ORDER BY a.asset_no",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let criteria: Vec<String> = sqlx::query_scalar(
        "SELECT clause FROM auditing_criterion WHERE engagement_id = $1 AND org_id = $2 ORDER BY clause",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let auditors: Vec<i64> = sqlx::query_scalar(
        "SELECT person_id FROM auditing_auditor WHERE engagement_id = $1 AND org_id = $2 ORDER BY person_id",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    Ok(json!({"units": units, "systems": systems, "criteria": criteria, "auditors": auditors}))
}

/// Changes an engagement's title, schedule, scope, criteria and auditors (until fieldwork
/// ends). The independence check runs again for every auditor.
pub async fn update_engagement(
    conn: &mut AnyConnection,
    cap: &Capability<can::PlanAudits>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    input: &EngagementInput,
    today: Date,
) -> AuditingResult<()> {
    let org = cap.org().0;
    let before = engagement_in(conn, org, id).await?;
    if !before.status().editable() {
        return Err(AuditingError::State(format!(
            "「{}」の監査は、対象・監査基準・監査人を変更できません",
            before.status().label_ja()
        )));
    }
    let plan = plan_in(conn, org, before.plan_id).await?;
    let r = resolve(conn, org, tree, &plan, input, today).await?;
    let before_scope = stored_scope(conn, org, id).await?;
    sqlx::query(
        "UPDATE auditing_engagement SET title = $1, starts_on = $2, ends_on = $3, note = $4, \
         updated_at = $5 WHERE id = $6 AND org_id = $7",
    )
    .bind(input.title.trim())
    .bind(iso(r.starts_on))
    .bind(iso(r.ends_on))
    .bind(input.note.trim())
    .bind(now_text())
    .bind(id)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    write_scope(conn, org, id, &r).await?;
    let mut entry = ctx.entry("auditing.engagement.update", "auditing_engagement", id);
    entry.org_id = Some(org);
    entry.before = Some(with(
        before_scope,
        vec![
            ("title", json!(before.title)),
            ("starts_on", json!(before.starts_on)),
            ("ends_on", json!(before.ends_on)),
        ],
    ));
    entry.after = Some(with(
        scope_json(&r),
        vec![("title", json!(input.title.trim()))],
    ));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Findings of an engagement that are not closed.
async fn open_findings(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<usize> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT f.severity, a.status FROM auditing_finding f LEFT JOIN auditing_action a ON a.finding_id = f.id \
         WHERE f.engagement_id = $1 AND f.org_id = $2",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .filter(|(sev, status)| {
            let sev = Severity::parse(sev).unwrap_or(Severity::Major);
            let status = status.as_deref().and_then(ActionStatus::parse);
            !finding_closed(sev, status)
        })
        .count())
}

/// Moves an engagement one step on. It reaches 完了 only when every finding is closed.
pub async fn advance(
    conn: &mut AnyConnection,
    cap: &Capability<can::PlanAudits>,
    ctx: &AuditCtx,
    id: i64,
    to: EngagementStatus,
) -> AuditingResult<()> {
    let org = cap.org().0;
    let e = engagement_in(conn, org, id).await?;
    let from = e.status();
    if from.next() != Some(to) {
        return Err(AuditingError::State(format!(
            "「{}」の監査は「{}」に進められません（次の段階は{}）",
            from.label_ja(),
            to.label_ja(),
            from.next().map_or("ありません".to_owned(), |n| format!(
                "「{}」",
                n.label_ja()
            ))
        )));
    }
    if to == EngagementStatus::Closed {
        let open = open_findings(conn, org, id).await?;
        if open > 0 {
            return Err(AuditingError::State(format!(
                "完了していない指摘が{open}件あります。すべての指摘の改善措置が「確認済」になるまで、監査を完了にできません"
            )));
        }
    }
    sqlx::query(
        "UPDATE auditing_engagement SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
    )
    .bind(to.code())
    .bind(now_text())
    .bind(id)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("auditing.engagement.status", "auditing_engagement", id);
    entry.org_id = Some(org);
    entry.before = Some(json!({"status": from.code()}));
    entry.after = Some(json!({"status": to.code()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Refuses unless the capability's holder is assigned to the engagement.
async fn require_assigned(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConductAudits>,
    engagement: i64,
) -> AuditingResult<()> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM auditing_auditor WHERE engagement_id = $1 AND person_id = $2 AND org_id = $3",
    )
    .bind(engagement)
    .bind(cap.actor().0)
    .bind(cap.org().0)
    .fetch_one(&mut *conn)
    .await?;
    if n == 0 {
        Err(AuditingError::NotAssigned)
    } else {
        Ok(())
    }
}

/// Whether `person` is assigned to the engagement.
pub async fn is_assigned(db: &Db, org: OrgId, engagement: i64, person: i64) -> DbResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM auditing_auditor WHERE engagement_id = $1 AND person_id = $2 AND org_id = $3",
    )
    .bind(engagement)
    .bind(person)
    .bind(org.0)
    .fetch_one(db.pool())
    .await?;
    Ok(n > 0)
}

fn require_recording(e: &Engagement) -> AuditingResult<()> {
    if e.status().recording() {
        Ok(())
    } else {
        Err(AuditingError::State(format!(
            "実施記録と指摘は「実施中」または「報告」の監査でのみ記録できます（現在「{}」）",
            e.status().label_ja()
        )))
    }
}

// ------------------------------------------------------------------ checklist and fieldwork

/// A checklist item with its fieldwork record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Item {
    /// Id.
    pub id: i64,
    /// Engagement.
    pub engagement_id: i64,
    /// Guideline clause.
    pub clause: String,
    /// Order.
    pub position: i64,
    /// What to check.
    pub question: String,
    /// What was examined (記録・現場で確認したもの).
    pub examined: String,
    /// [`ItemResult`] code, empty until recorded.
    pub result: String,
    /// Notes.
    pub notes: String,
    /// Who recorded it.
    pub recorded_by: Option<i64>,
    /// When (UTC).
    pub recorded_at: Option<String>,
}

impl Item {
    /// The result's label, empty until recorded.
    pub fn result_label(&self) -> &'static str {
        ItemResult::parse(&self.result).map_or("", ItemResult::label_ja)
    }
}

/// A fieldwork record for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInput {
    /// A reworded question (the checklist is editable), or `None` to keep it.
    pub question: Option<String>,
    /// What was examined.
    pub examined: String,
    /// The result.
    pub result: ItemResult,
    /// Notes.
    pub notes: String,
}

/// Records fieldwork for one checklist item (assigned auditors only).
pub async fn record_item(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConductAudits>,
    ctx: &AuditCtx,
    engagement: i64,
    item: i64,
    input: &ItemInput,
) -> AuditingResult<()> {
    let org = cap.org().0;
    let e = engagement_in(conn, org, engagement).await?;
    require_assigned(conn, cap, engagement).await?;
    require_recording(&e)?;
    let before: Item = sqlx::query_as(
        "SELECT id, engagement_id, clause, position, question, examined, result, notes, recorded_by, recorded_at \
         FROM auditing_item WHERE id = $1 AND engagement_id = $2 AND org_id = $3",
    )
    .bind(item)
    .bind(engagement)
    .bind(org)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(DbError::NotFound)?;
    let mut problems = Vec::new();
    if let Some(q) = &input.question {
        check_text(
            &mut problems,
            "question",
            "確認項目",
            q,
            MAX_TEXT_CHARS,
            true,
        );
    }
    check_text(
        &mut problems,
        "examined",
        "確認した内容",
        &input.examined,
        MAX_TEXT_CHARS,
        true,
    );
    check_text(
        &mut problems,
        "notes",
        "所見",
        &input.notes,
        MAX_TEXT_CHARS,
        false,
    );
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let question = input
        .question
        .as_deref()
        .map_or(before.question.clone(), |q| q.trim().to_owned());
    sqlx::query(
        "UPDATE auditing_item SET question = $1, examined = $2, result = $3, notes = $4, recorded_by = $5, \
         recorded_at = $6 WHERE id = $7 AND org_id = $8",
    )
    .bind(&question)
    .bind(input.examined.trim())
    .bind(input.result.code())
    .bind(input.notes.trim())
    .bind(cap.actor().0)
    .bind(now_text())
    .bind(item)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("auditing.item.record", "auditing_engagement", engagement);
    entry.org_id = Some(org);
    entry.before = Some(
        json!({"item": item, "question": before.question, "examined": before.examined,
        "result": before.result, "notes": before.notes}),
    );
    entry.after = Some(
        json!({"item": item, "question": question, "examined": input.examined.trim(),
        "result": input.result.code(), "notes": input.notes.trim()}),
    );
    audit::append(conn, entry).await?;
    Ok(())
}

/// Adds a checklist item of one's own (assigned auditors, before the report).
pub async fn add_item(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConductAudits>,
    ctx: &AuditCtx,
    engagement: i64,
    clause: &str,
    question: &str,
) -> AuditingResult<i64> {
    let org = cap.org().0;
    let e = engagement_in(conn, org, engagement).await?;
    require_assigned(conn, cap, engagement).await?;
    if !e.status().editable() {
        return Err(AuditingError::State(format!(
            "「{}」の監査にはチェック項目を追加できません",
            e.status().label_ja()
        )));
    }
    let mut problems = Vec::new();
    let number = match standards::clause(clause) {
        Some(c) => c.number,
        None => {
            problems.push((
                "clause",
                format!(
                    "項番「{}」は対策基準（2-1〜2-9-3）にありません",
                    clause.trim()
                ),
            ));
            ""
        }
    };
    check_text(
        &mut problems,
        "question",
        "確認項目",
        question,
        MAX_TEXT_CHARS,
        true,
    );
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM auditing_item WHERE engagement_id = $1",
    )
    .bind(engagement)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auditing_item (org_id, engagement_id, clause, position, question) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org)
    .bind(engagement)
    .bind(number)
    .bind(position)
    .bind(question.trim())
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("auditing.item.create", "auditing_engagement", engagement);
    entry.org_id = Some(org);
    entry.after = Some(json!({"item": id, "clause": number, "question": question.trim()}));
    audit::append(conn, entry).await?;
    Ok(id)
}

// ------------------------------------------------------------------ findings

/// A finding (指摘事項).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Finding {
    /// Id.
    pub id: i64,
    /// Engagement.
    pub engagement_id: i64,
    /// The checklist item it came from, if any.
    pub item_id: Option<i64>,
    /// [`Severity`] code.
    pub severity: String,
    /// Guideline clause.
    pub clause: String,
    /// The unit concerned.
    pub unit_id: i64,
    /// What was found.
    pub description: String,
    /// Evidence (text).
    pub evidence: String,
    /// Recorded by.
    pub created_by: Option<i64>,
    /// Recorded (UTC).
    pub created_at: String,
}

const FINDING_COLUMNS: &str = "id, engagement_id, item_id, severity, clause, unit_id, description, evidence, \
     created_by, created_at";

impl Finding {
    /// Its severity.
    pub fn severity(&self) -> Severity {
        Severity::parse(&self.severity).unwrap_or(Severity::Major)
    }
}

/// A new finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingInput {
    /// Severity.
    pub severity: Severity,
    /// Guideline clause number.
    pub clause: String,
    /// Unit concerned (within the scope).
    pub unit_id: i64,
    /// What was found.
    pub description: String,
    /// Evidence as text.
    pub evidence: String,
    /// The checklist item it came from.
    pub item_id: Option<i64>,
    /// An evidence file: name and bytes.
    pub file: Option<(String, Vec<u8>)>,
}

/// A stored evidence file, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Evidence {
    /// Id.
    pub id: i64,
    /// Finding.
    pub finding_id: i64,
    /// File name as uploaded.
    pub file_name: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Uploaded (UTC).
    pub created_at: String,
}

/// Units in an engagement's scope.
async fn scope_units(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT unit_id FROM auditing_scope_unit WHERE engagement_id = $1 AND org_id = $2 ORDER BY unit_id",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?)
}

fn check_file(problems: &mut Vec<FieldProblem>, file: Option<&(String, Vec<u8>)>) {
    if let Some((name, bytes)) = file {
        if bytes.is_empty() {
            problems.push(("file", "証跡ファイルが空です".to_owned()));
        } else if bytes.len() > MAX_EVIDENCE_BYTES {
            problems.push((
                "file",
                format!(
                    "証跡ファイルは{} MB以下にしてください（{} バイト）",
                    MAX_EVIDENCE_BYTES / 1024 / 1024,
                    bytes.len()
                ),
            ));
        }
        if name.trim().is_empty()
            || chars(name) > MAX_TITLE_CHARS
            || name.chars().any(char::is_control)
        {
            problems.push((
                "file",
                "ファイル名が空か長すぎるか、使えない文字を含みます".to_owned(),
            ));
        }
    }
}

/// Records a finding (assigned auditors, during fieldwork or reporting), with an optional
/// evidence file stored with its SHA-256.
pub async fn create_finding(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConductAudits>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    engagement: i64,
    input: &FindingInput,
) -> AuditingResult<i64> {
    let org = cap.org().0;
    let e = engagement_in(conn, org, engagement).await?;
    require_assigned(conn, cap, engagement).await?;
    require_recording(&e)?;
    let mut problems = Vec::new();
    let clause = match standards::clause(&input.clause) {
        Some(c) => c.number,
        None => {
            problems.push((
                "clause",
                format!(
                    "項番「{}」は対策基準（2-1〜2-9-3）にありません",
                    input.clause.trim()
                ),
            ));
            ""
        }
    };
    let scope = scope_units(conn, org, engagement).await?;
    if tree.get(input.unit_id).is_none() {
        problems.push((
            "unit_id",
            format!("指摘の対象組織（ID {}）が見つかりません", input.unit_id),
        ));
    } else {
        let path = tree.path(input.unit_id);
        if !scope.iter().any(|s| path.contains(&UnitId(*s))) {
            problems.push((
                "unit_id",
                format!(
                    "「{}」はこの監査の対象範囲にありません",
                    tree.full_name(input.unit_id)
                ),
            ));
        }
    }
    check_text(
        &mut problems,
        "description",
        "指摘の内容",
        &input.description,
        MAX_TEXT_CHARS,
        true,
    );
    check_text(
        &mut problems,
        "evidence",
        "証跡",
        &input.evidence,
        MAX_TEXT_CHARS,
        false,
    );
    if let Some(item) = input.item_id {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auditing_item WHERE id = $1 AND engagement_id = $2 AND org_id = $3",
        )
        .bind(item)
        .bind(engagement)
        .bind(org)
        .fetch_one(&mut *conn)
        .await?;
        if n == 0 {
            problems.push(("item_id", "チェック項目が見つかりません".to_owned()));
        }
    }
    check_file(&mut problems, input.file.as_ref());
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auditing_finding (org_id, engagement_id, item_id, severity, clause, unit_id, description, \
         evidence, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(org)
    .bind(engagement)
    .bind(input.item_id)
    .bind(input.severity.code())
    .bind(clause)
    .bind(input.unit_id)
    .bind(input.description.trim())
    .bind(input.evidence.trim())
    .bind(cap.actor().0)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    let file = match &input.file {
        Some((name, bytes)) => Some(store_evidence(conn, org, id, ctx, name, bytes).await?),
        None => None,
    };
    let mut entry = ctx.entry("auditing.finding.create", "auditing_finding", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(input.unit_id);
    entry.after = Some(json!({
        "engagement_id": engagement,
        "severity": input.severity.code(),
        "clause": clause,
        "unit_id": input.unit_id,
        "description": input.description.trim(),
        "evidence": input.evidence.trim(),
        "item_id": input.item_id,
        "file": file,
    }));
    audit::append(conn, entry).await?;
    Ok(id)
}

async fn store_evidence(
    conn: &mut AnyConnection,
    org: i64,
    finding: i64,
    ctx: &AuditCtx,
    name: &str,
    bytes: &[u8],
) -> DbResult<serde_json::Value> {
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO auditing_evidence (org_id, finding_id, file_name, size, sha256, content, uploaded_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(org)
    .bind(finding)
    .bind(name.trim())
    .bind(size)
    .bind(&sha)
    .bind(bytes)
    .bind(ctx.actor_id)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    Ok(json!({"id": id, "file_name": name.trim(), "size": size, "sha256": sha}))
}

/// An evidence file's bytes (for download); the caller has checked the finding is visible.
pub async fn evidence_content(
    db: &Db,
    org: OrgId,
    finding: i64,
    evidence: i64,
) -> DbResult<(Evidence, Vec<u8>)> {
    type Row = (i64, i64, String, i64, String, String, Vec<u8>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, finding_id, file_name, size, sha256, created_at, content FROM auditing_evidence \
         WHERE id = $1 AND finding_id = $2 AND org_id = $3",
    )
    .bind(evidence)
    .bind(finding)
    .bind(org.0)
    .fetch_optional(db.pool())
    .await?;
    let (id, finding_id, file_name, size, sha256, created_at, content) =
        row.ok_or(DbError::NotFound)?;
    Ok((
        Evidence {
            id,
            finding_id,
            file_name,
            size,
            sha256,
            created_at,
        },
        content,
    ))
}

// ------------------------------------------------------------------ corrective actions

/// A corrective action (改善措置) for one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Action {
    /// Id.
    pub id: i64,
    /// Finding.
    pub finding_id: i64,
    /// Owner (normally the unit's 情報セキュリティ管理者).
    pub owner_id: i64,
    /// The day the plan was made.
    pub planned_on: String,
    /// Due date.
    pub due_on: String,
    /// What will be done.
    pub plan: String,
    /// [`ActionStatus`] code.
    pub status: String,
    /// Who reported it done.
    pub reported_by: Option<i64>,
    /// The auditor who confirmed it.
    pub confirmed_by: Option<i64>,
    /// When it was confirmed.
    pub confirmed_on: Option<String>,
    /// Last change (UTC).
    pub updated_at: String,
}

const ACTION_COLUMNS: &str = "id, finding_id, owner_id, planned_on, due_on, plan, status, reported_by, \
     confirmed_by, confirmed_on, updated_at";

impl Action {
    /// Its status.
    pub fn status(&self) -> ActionStatus {
        ActionStatus::parse(&self.status).unwrap_or(ActionStatus::Open)
    }
}

/// One update of a corrective action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ActionUpdate {
    /// Id.
    pub id: i64,
    /// Action.
    pub action_id: i64,
    /// Who.
    pub person_id: Option<i64>,
    /// The status set.
    pub status: String,
    /// What was done or said.
    pub note: String,
    /// When (UTC).
    pub created_at: String,
}

/// A corrective action plan as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionInput {
    /// Owner.
    pub owner_id: i64,
    /// Due date.
    pub due_on: Option<Date>,
    /// What will be done.
    pub plan: String,
}

async fn finding_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Finding> {
    let sql =
        format!("SELECT {FINDING_COLUMNS} FROM auditing_finding WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

async fn action_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Action> {
    let sql = format!("SELECT {ACTION_COLUMNS} FROM auditing_action WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

async fn action_of_finding(
    conn: &mut AnyConnection,
    org: i64,
    finding: i64,
) -> DbResult<Option<Action>> {
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM auditing_action WHERE finding_id = $1 AND org_id = $2"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(finding)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?)
}

/// The unit a finding concerns (for the caller's permission check).
pub async fn finding_unit(db: &Db, org: OrgId, finding: i64) -> DbResult<i64> {
    let mut conn = db.pool().acquire().await?;
    Ok(finding_in(&mut conn, org.0, finding).await?.unit_id)
}

/// The engagement a finding belongs to.
pub async fn engagement_of(db: &Db, org: OrgId, finding: i64) -> DbResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT engagement_id FROM auditing_finding WHERE id = $1 AND org_id = $2",
    )
    .bind(finding)
    .bind(org.0)
    .fetch_optional(db.pool())
    .await?)
}

/// The finding an action belongs to and its unit (for the caller's permission check).
pub async fn action_unit(db: &Db, org: OrgId, action: i64) -> DbResult<(i64, i64)> {
    let mut conn = db.pool().acquire().await?;
    let a = action_in(&mut conn, org.0, action).await?;
    let f = finding_in(&mut conn, org.0, a.finding_id).await?;
    Ok((f.id, f.unit_id))
}

fn check_reach<P: Permission>(cap: &Capability<P>, tree: &UnitTree, unit: i64) -> DbResult<()> {
    if cap.covers(&tree.path(unit)) {
        Ok(())
    } else {
        Err(DbError::NotFound)
    }
}

/// Plans (or re-plans, until confirmed) the corrective action of a finding. The owner must be
/// able to update corrective actions in the finding's unit; the due date may not precede the
/// day the plan is made.
pub async fn plan_action(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditCorrectiveActions>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    finding: i64,
    input: &ActionInput,
    today: Date,
) -> AuditingResult<i64> {
    let org = cap.org().0;
    let f = finding_in(conn, org, finding).await?;
    check_reach(cap, tree, f.unit_id)?;
    let e = engagement_in(conn, org, f.engagement_id).await?;
    if e.status() == EngagementStatus::Closed {
        return Err(AuditingError::State(
            "完了した監査の指摘には改善措置を登録できません".to_owned(),
        ));
    }
    let existing = action_of_finding(conn, org, finding).await?;
    if existing
        .as_ref()
        .is_some_and(|a| a.status() == ActionStatus::Confirmed)
    {
        return Err(AuditingError::State(
            "確認済の改善措置は変更できません".to_owned(),
        ));
    }
    let mut problems = Vec::new();
    check_text(
        &mut problems,
        "plan",
        "改善計画",
        &input.plan,
        MAX_TEXT_CHARS,
        true,
    );
    match input.due_on {
        None => problems.push(("due_on", "対応期限を入力してください".to_owned())),
        Some(due) if due < today => problems.push((
            "due_on",
            format!(
                "対応期限（{}）が計画日（{}）より前です。計画日以降の日付を指定してください",
                iso(due),
                iso(today)
            ),
        )),
        Some(_) => {}
    }
    let persons = persons_in(conn, org).await?;
    match persons.get(&input.owner_id) {
        Some(owner) if owner.status == "active" => {
            let held = assignments_on(conn, org, owner.id, &iso(today)).await?;
            let actor = org::actor_from(owner, tree, held.iter());
            if actor
                .can_on::<can::EditCorrectiveActions>(&tree.path(f.unit_id))
                .is_err()
            {
                problems.push((
                    "owner_id",
                    format!(
                        "{} は「{}」の改善措置を更新できないため、担当者にできません（情報セキュリティ管理者などを選んでください）",
                        owner.name,
                        tree.full_name(f.unit_id)
                    ),
                ));
            }
        }
        _ => problems.push(("owner_id", "担当者が見つかりません".to_owned())),
    }
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let due = input.due_on.map(iso).unwrap_or_default();
    let now = now_text();
    let id = match &existing {
        Some(a) => {
            sqlx::query(
                "UPDATE auditing_action SET owner_id = $1, due_on = $2, plan = $3, updated_at = $4 \
                 WHERE id = $5 AND org_id = $6",
            )
            .bind(input.owner_id)
            .bind(&due)
            .bind(input.plan.trim())
            .bind(&now)
            .bind(a.id)
            .bind(org)
            .execute(&mut *conn)
            .await?;
            a.id
        }
        None => {
            sqlx::query_scalar(
                "INSERT INTO auditing_action (org_id, finding_id, owner_id, planned_on, due_on, plan, status, \
                 created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(org)
            .bind(finding)
            .bind(input.owner_id)
            .bind(iso(today))
            .bind(&due)
            .bind(input.plan.trim())
            .bind(ActionStatus::Open.code())
            .bind(ctx.actor_id)
            .bind(&now)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let mut entry = ctx.entry("auditing.action.plan", "auditing_action", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(f.unit_id);
    entry.before = existing
        .as_ref()
        .map(|a| json!({"owner_id": a.owner_id, "due_on": a.due_on, "plan": a.plan}));
    entry.after = Some(
        json!({"finding_id": finding, "owner_id": input.owner_id, "due_on": due,
        "plan": input.plan.trim()}),
    );
    audit::append(conn, entry).await?;
    Ok(id)
}

async fn add_update(
    conn: &mut AnyConnection,
    org: i64,
    action: i64,
    person: i64,
    status: ActionStatus,
    note: &str,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO auditing_action_update (org_id, action_id, person_id, status, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(org)
    .bind(action)
    .bind(person)
    .bind(status.code())
    .bind(note.trim())
    .bind(now_text())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records progress on a corrective action: 未着手, 対応中 or 完了報告 (with what was done).
pub async fn update_action(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditCorrectiveActions>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    action: i64,
    status: ActionStatus,
    note: &str,
) -> AuditingResult<()> {
    let org = cap.org().0;
    let a = action_in(conn, org, action).await?;
    let f = finding_in(conn, org, a.finding_id).await?;
    check_reach(cap, tree, f.unit_id)?;
    if a.status() == ActionStatus::Confirmed {
        return Err(AuditingError::State(
            "確認済の改善措置は変更できません".to_owned(),
        ));
    }
    if !status.owner_may_set() {
        return Err(AuditingError::Duty(
            "「確認済」にできるのは、この監査に割り当てられた監査人だけです".to_owned(),
        ));
    }
    let mut problems = Vec::new();
    check_text(
        &mut problems,
        "note",
        "対応の内容",
        note,
        MAX_TEXT_CHARS,
        status == ActionStatus::Reported,
    );
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let reported_by = (status == ActionStatus::Reported).then_some(cap.actor().0);
    sqlx::query(
        "UPDATE auditing_action SET status = $1, reported_by = $2, updated_at = $3 WHERE id = $4 AND org_id = $5",
    )
    .bind(status.code())
    .bind(reported_by)
    .bind(now_text())
    .bind(action)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    add_update(conn, org, action, cap.actor().0, status, note).await?;
    let mut entry = ctx.entry("auditing.action.update", "auditing_action", action);
    entry.org_id = Some(org);
    entry.unit_id = Some(f.unit_id);
    entry.before = Some(json!({"status": a.status}));
    entry.after = Some(json!({"status": status.code(), "note": note.trim()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// An assigned auditor confirms (確認済) or returns (差戻し → 対応中) an action reported done.
/// Neither its owner nor whoever reported it may confirm it.
pub async fn follow_up(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConductAudits>,
    ctx: &AuditCtx,
    action: i64,
    confirm: bool,
    note: &str,
    today: Date,
) -> AuditingResult<()> {
    let org = cap.org().0;
    let a = action_in(conn, org, action).await?;
    let f = finding_in(conn, org, a.finding_id).await?;
    require_assigned(conn, cap, f.engagement_id).await?;
    let me = cap.actor().0;
    if a.owner_id == me || a.reported_by == Some(me) {
        return Err(AuditingError::Duty(
            "改善措置の担当者（完了を報告した者）は、自らの措置を確認できません（職務の分離）"
                .to_owned(),
        ));
    }
    if a.status() != ActionStatus::Reported {
        return Err(AuditingError::State(format!(
            "完了報告されていない改善措置は確認できません（現在「{}」）",
            a.status().label_ja()
        )));
    }
    let mut problems = Vec::new();
    check_text(
        &mut problems,
        "note",
        "確認の所見",
        note,
        MAX_TEXT_CHARS,
        !confirm,
    );
    if !problems.is_empty() {
        return Err(AuditingError::Invalid(problems));
    }
    let to = if confirm {
        ActionStatus::Confirmed
    } else {
        ActionStatus::InProgress
    };
    sqlx::query(
        "UPDATE auditing_action SET status = $1, confirmed_by = $2, confirmed_on = $3, updated_at = $4 \
         WHERE id = $5 AND org_id = $6",
    )
    .bind(to.code())
    .bind(confirm.then_some(me))
    .bind(confirm.then(|| iso(today)))
    .bind(now_text())
    .bind(action)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    add_update(conn, org, action, me, to, note).await?;
    let what = if confirm {
        "auditing.action.confirm"
    } else {
        "auditing.action.return"
    };
    let mut entry = ctx.entry(what, "auditing_action", action);
    entry.org_id = Some(org);
    entry.unit_id = Some(f.unit_id);
    entry.before = Some(json!({"status": a.status}));
    entry.after = Some(json!({"status": to.code(), "note": note.trim()}));
    audit::append(conn, entry).await?;
    Ok(())
}

// ------------------------------------------------------------------ reading

/// A finding with what hangs on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingView {
    /// Number within the engagement (1, 2, …), in recording order.
    pub no: usize,
    /// The finding.
    pub finding: Finding,
    /// Its corrective action.
    pub action: Option<Action>,
    /// The action's updates, oldest first.
    pub updates: Vec<ActionUpdate>,
    /// Evidence files.
    pub evidence: Vec<Evidence>,
    /// Whether it is closed.
    pub closed: bool,
}

/// An engagement with everything that belongs to it, as one viewer may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngagementView {
    /// The engagement.
    pub engagement: Engagement,
    /// Its plan.
    pub plan: Plan,
    /// Units in scope.
    pub units: Vec<i64>,
    /// Systems in scope.
    pub systems: Vec<SystemRef>,
    /// Criteria (clause numbers, guideline order).
    pub criteria: Vec<String>,
    /// Assigned auditors: (person id, name).
    pub auditors: Vec<(i64, String)>,
    /// Checklist.
    pub items: Vec<Item>,
    /// Findings the viewer may see.
    pub findings: Vec<FindingView>,
    /// Findings outside the viewer's reach (counted, not shown).
    pub hidden_findings: usize,
    /// Every person's name by id (for display).
    #[serde(skip)]
    pub names: HashMap<i64, String>,
}

impl EngagementView {
    /// A person's name, or empty.
    pub fn name(&self, id: Option<i64>) -> String {
        id.and_then(|i| self.names.get(&i).cloned())
            .unwrap_or_default()
    }

    /// Whether `person` is assigned.
    pub fn assigned(&self, person: i64) -> bool {
        self.auditors.iter().any(|(id, _)| *id == person)
    }

    /// Visible findings per severity, in [`Severity::ALL`] order: (severity, total, open).
    pub fn counts(&self) -> Vec<(Severity, usize, usize)> {
        Severity::ALL
            .iter()
            .map(|s| {
                let of: Vec<&FindingView> = self
                    .findings
                    .iter()
                    .filter(|f| f.finding.severity() == *s)
                    .collect();
                (*s, of.len(), of.iter().filter(|f| !f.closed).count())
            })
            .collect()
    }
}

/// Whether a reach sees an engagement whose scope is `units`: everything for [`Reach::All`];
/// otherwise when a scope unit lies within reach or contains a unit within reach.
fn sees(reach: &Reach, tree: &UnitTree, units: &[i64]) -> bool {
    match reach {
        Reach::All => true,
        Reach::Subtrees(roots) => units.iter().any(|u| {
            let path = tree.path(*u);
            roots
                .iter()
                .any(|r| path.contains(r) || tree.path(r.0).contains(&UnitId(*u)))
        }),
    }
}

/// One engagement with its checklist, findings and actions, if the capability reaches a unit
/// in its scope (`NotFound` otherwise). Findings outside the reach are left out and counted.
pub async fn engagement_view<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    id: i64,
) -> DbResult<EngagementView> {
    let org = cap.org().0;
    let mut conn = db.pool().acquire().await?;
    let engagement = engagement_in(&mut conn, org, id).await?;
    let units = scope_units(&mut conn, org, id).await?;
    if !sees(cap.reach(), tree, &units) {
        return Err(DbError::NotFound);
    }
    let plan = plan_in(&mut conn, org, engagement.plan_id).await?;
    let systems: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT a.id, a.asset_no, a.name, a.unit_id FROM auditing_scope_system s JOIN asset a ON a.id = s.asset_id \
         WHERE s.engagement_id = $1 AND s.org_id = $2 ORDER BY a.asset_no",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let mut criteria: Vec<String> = sqlx::query_scalar(
        "SELECT clause FROM auditing_criterion WHERE engagement_id = $1 AND org_id = $2",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let order = |c: &str| {
        standards::GUIDELINE
            .iter()
            .position(|g| g.number == c)
            .unwrap_or(usize::MAX)
    };
    criteria.sort_by_key(|c| order(c));
    let names: HashMap<i64, String> = persons_in(&mut conn, org)
        .await?
        .into_values()
        .map(|p| (p.id, p.name))
        .collect();
    let auditor_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT person_id FROM auditing_auditor WHERE engagement_id = $1 AND org_id = $2 ORDER BY person_id",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let auditors = auditor_ids
        .into_iter()
        .map(|p| (p, names.get(&p).cloned().unwrap_or_default()))
        .collect();
    let items: Vec<Item> = sqlx::query_as(
        "SELECT id, engagement_id, clause, position, question, examined, result, notes, recorded_by, recorded_at \
         FROM auditing_item WHERE engagement_id = $1 AND org_id = $2 ORDER BY position, id",
    )
    .bind(id)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let sql = format!(
        "SELECT {FINDING_COLUMNS} FROM auditing_finding WHERE engagement_id = $1 AND org_id = $2 ORDER BY id"
    );
    let all: Vec<Finding> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    let sql = format!(
        "SELECT {ACTION_COLUMNS} FROM auditing_action WHERE org_id = $1 AND finding_id IN \
         (SELECT id FROM auditing_finding WHERE engagement_id = $2)"
    );
    let actions: Vec<Action> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let updates: Vec<ActionUpdate> = sqlx::query_as(
        "SELECT id, action_id, person_id, status, note, created_at FROM auditing_action_update \
         WHERE org_id = $1 AND action_id IN (SELECT a.id FROM auditing_action a JOIN auditing_finding f \
         ON f.id = a.finding_id WHERE f.engagement_id = $2) ORDER BY id",
    )
    .bind(org)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let evidence: Vec<Evidence> = sqlx::query_as(
        "SELECT id, finding_id, file_name, size, sha256, created_at FROM auditing_evidence \
         WHERE org_id = $1 AND finding_id IN (SELECT id FROM auditing_finding WHERE engagement_id = $2) ORDER BY id",
    )
    .bind(org)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut findings = Vec::new();
    let mut hidden = 0;
    for (i, f) in all.into_iter().enumerate() {
        if !cap.covers(&tree.path(f.unit_id)) {
            hidden += 1;
            continue;
        }
        let action = actions.iter().find(|a| a.finding_id == f.id).cloned();
        let closed = finding_closed(f.severity(), action.as_ref().map(Action::status));
        let ups = action
            .as_ref()
            .map(|a| {
                updates
                    .iter()
                    .filter(|u| u.action_id == a.id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let ev = evidence
            .iter()
            .filter(|e| e.finding_id == f.id)
            .cloned()
            .collect();
        findings.push(FindingView {
            no: i + 1,
            finding: f,
            action,
            updates: ups,
            evidence: ev,
            closed,
        });
    }
    Ok(EngagementView {
        engagement,
        plan,
        units,
        systems: systems
            .into_iter()
            .map(|(id, asset_no, name, unit_id)| SystemRef {
                id,
                asset_no,
                name,
                unit_id,
            })
            .collect(),
        criteria,
        auditors,
        items,
        findings,
        hidden_findings: hidden,
        names,
    })
}

/// An engagement in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngagementRow {
    /// The engagement.
    pub engagement: Engagement,
    /// Units in scope.
    pub units: Vec<i64>,
    /// Findings (all of them).
    pub findings: i64,
    /// Findings not yet closed.
    pub open_findings: usize,
}

/// Engagements the capability sees (optionally of one plan), newest first.
pub async fn engagements<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    plan: Option<i64>,
) -> DbResult<Vec<EngagementRow>> {
    let org = cap.org().0;
    let mut conn = db.pool().acquire().await?;
    let sql = format!(
        "SELECT {ENGAGEMENT_COLUMNS} FROM auditing_engagement WHERE org_id = $1 \
         AND ($2 = 0 OR plan_id = $2) ORDER BY starts_on DESC, id DESC"
    );
    let rows: Vec<Engagement> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(plan.unwrap_or(0))
        .fetch_all(&mut *conn)
        .await?;
    let scope: Vec<(i64, i64)> =
        sqlx::query_as("SELECT engagement_id, unit_id FROM auditing_scope_unit WHERE org_id = $1")
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
    let mut out = Vec::new();
    for e in rows {
        let units: Vec<i64> = scope
            .iter()
            .filter(|(eid, _)| *eid == e.id)
            .map(|(_, u)| *u)
            .collect();
        if !sees(cap.reach(), tree, &units) {
            continue;
        }
        let findings: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auditing_finding WHERE engagement_id = $1 AND org_id = $2",
        )
        .bind(e.id)
        .bind(org)
        .fetch_one(&mut *conn)
        .await?;
        let open = open_findings(&mut conn, org, e.id).await?;
        out.push(EngagementRow {
            engagement: e,
            units,
            findings,
            open_findings: open,
        });
    }
    Ok(out)
}

// ------------------------------------------------------------------ export

/// The engagement as a workbook: チェックリスト, 指摘事項 and 改善措置 sheets.
pub fn export_tables(view: &EngagementView, tree: &UnitTree) -> Vec<ExportTable> {
    let headers = |h: &[&str]| h.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut items = ExportTable::new(
        "チェックリスト",
        headers(&[
            "No",
            "項番",
            "確認項目",
            "確認した内容",
            "結果",
            "所見",
            "記録者",
            "記録日時",
        ]),
    );
    for (i, it) in view.items.iter().enumerate() {
        items.push(vec![
            (i + 1).to_string(),
            it.clause.clone(),
            it.question.clone(),
            it.examined.clone(),
            it.result_label().to_owned(),
            it.notes.clone(),
            view.name(it.recorded_by),
            it.recorded_at.clone().unwrap_or_default(),
        ]);
    }
    let mut findings = ExportTable::new(
        "指摘事項",
        headers(&[
            "指摘番号",
            "重要度",
            "項番",
            "対象組織",
            "指摘の内容",
            "証跡",
            "証跡ファイル",
            "状態",
            "記録者",
        ]),
    );
    let mut actions = ExportTable::new(
        "改善措置",
        headers(&[
            "指摘番号",
            "担当者",
            "計画日",
            "対応期限",
            "改善計画",
            "状態",
            "確認者",
            "確認日",
            "経過",
        ]),
    );
    for fv in &view.findings {
        let f = &fv.finding;
        findings.push(vec![
            fv.no.to_string(),
            f.severity().label_ja().to_owned(),
            f.clause.clone(),
            tree.full_name(f.unit_id),
            f.description.clone(),
            f.evidence.clone(),
            fv.evidence
                .iter()
                .map(|e| format!("{}（SHA-256 {}）", e.file_name, e.sha256))
                .collect::<Vec<_>>()
                .join("\n"),
            if fv.closed { "完了" } else { "未完了" }.to_owned(),
            view.name(f.created_by),
        ]);
        if let Some(a) = &fv.action {
            actions.push(vec![
                fv.no.to_string(),
                view.name(Some(a.owner_id)),
                a.planned_on.clone(),
                a.due_on.clone(),
                a.plan.clone(),
                a.status().label_ja().to_owned(),
                view.name(a.confirmed_by),
                a.confirmed_on.clone().unwrap_or_default(),
                fv.updates
                    .iter()
                    .map(|u| {
                        let label =
                            ActionStatus::parse(&u.status).map_or("", ActionStatus::label_ja);
                        format!("{} {} {}", label, view.name(u.person_id), u.note)
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ]);
        }
    }
    vec![items, findings, actions]
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A cell could not be written.
    #[error("出力できないセルがあります")]
    Cells(TabularErrors),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The engagement as an xlsx workbook, recorded in the audit trail (`auditing.export`).
pub async fn export<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
) -> Result<(EngagementView, Vec<u8>), ExportError> {
    let view = engagement_view(db, cap, tree, id).await?;
    let bytes =
        mamori_tabular::write_xlsx_book(&export_tables(&view, tree)).map_err(ExportError::Cells)?;
    let mut entry = ctx.entry("auditing.export", "auditing_engagement", id);
    entry.org_id = Some(cap.org().0);
    entry.after =
        Some(json!({"format": "xlsx", "findings": view.findings.len(), "items": view.items.len()}));
    audit::record(db, entry).await?;
    Ok((view, bytes))
}

// ------------------------------------------------------------------ tasks

/// A person's open work in audits: 改善 (Fix) for owners of open corrective actions, due on
/// their due date; フォローアップ for assigned auditors, for actions reported done and awaiting
/// confirmation and for actions past their due date.
pub async fn tasks_for(db: &Db, org: i64, person: i64, today: Date) -> DbResult<Vec<Task>> {
    type Row = (i64, i64, String, String, String, i64, String, String, i64);
    let base = "SELECT a.id, f.id, a.status, a.due_on, f.clause, e.id, e.title, f.severity, a.owner_id \
         FROM auditing_action a JOIN auditing_finding f ON f.id = a.finding_id \
         JOIN auditing_engagement e ON e.id = f.engagement_id WHERE a.org_id = $1 AND e.status <> 'closed' \
         AND a.status <> 'confirmed' ";
    let own: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{base} AND a.owner_id = $2 AND a.status <> 'reported' ORDER BY a.due_on, a.id"
    )))
    .bind(org)
    .bind(person)
    .fetch_all(db.pool())
    .await?;
    let audited: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{base} AND e.id IN (SELECT engagement_id FROM auditing_auditor WHERE person_id = $2 AND org_id = $1) \
         ORDER BY a.due_on, a.id"
    )))
    .bind(org)
    .bind(person)
    .fetch_all(db.pool())
    .await?;
    let mut tasks = Vec::new();
    let day = |s: &str| parse_date(s).ok();
    let sev = |s: &str| Severity::parse(s).map_or("", Severity::label_ja);
    for (_, fid, _, due, clause, eid, title, severity, _) in &own {
        tasks.push(Task {
            kind: TaskKind::Fix,
            title: format!(
                "監査指摘（{}・{}）の改善措置を実施する：{}",
                sev(severity),
                clause,
                title
            ),
            href: format!("/audits/engagements/{eid}#finding-{fid}"),
            due: day(due),
        });
    }
    let mut seen = HashSet::new();
    for (aid, fid, status, due, clause, eid, title, severity, owner) in &audited {
        if *owner == person || !seen.insert(*aid) {
            continue;
        }
        let href = format!("/audits/engagements/{eid}#finding-{fid}");
        if status == ActionStatus::Reported.code() {
            tasks.push(Task {
                kind: TaskKind::FollowUp,
                title: format!(
                    "完了報告された改善措置（{}・{}）を確認する：{}",
                    sev(severity),
                    clause,
                    title
                ),
                href,
                due: None,
            });
        } else if day(due).is_some_and(|d| d < today) {
            tasks.push(Task {
                kind: TaskKind::FollowUp,
                title: format!(
                    "期限を過ぎた改善措置（{}・{}）を確認する：{}",
                    sev(severity),
                    clause,
                    title
                ),
                href,
                due: day(due),
            });
        }
    }
    mamori_core::task::sort(&mut tasks);
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_lists_split_on_commas_spaces_and_lines() {
        assert_eq!(
            split_list("2-4, 2-6-1、2-9\n 2-1-1"),
            vec!["2-4", "2-6-1", "2-9", "2-1-1"]
        );
        assert!(split_list("  ,\n").is_empty());
    }
}
