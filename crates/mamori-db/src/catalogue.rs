//! 対策基準 as an organisation keeps it (基本方針 §9): a tree of clauses seeded from the
//! guideline's structure ([`mamori_core::standards::GUIDELINE`]), edited or imported by the
//! organisation, each mapped to a guideline number; controls (対策) per clause with an owner
//! unit and a status; and evidence files per control, append-only and versioned.
//!
//! Editing clauses needs [`can::EditStandards`]; a control is changed with [`can::EditControls`]
//! reaching its owner unit. Every change is audited in its transaction.

pub mod evidence;
pub mod import;

use std::collections::HashMap;

use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, can};
use mamori_core::role::Role;
use mamori_core::standards::{self, GUIDELINE};
use mamori_core::task::{Task, TaskKind};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use time::Date;

use crate::audit;
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, DbResult, now_text};

/// Longest clause number.
pub const MAX_NUMBER_CHARS: usize = 40;
/// Longest title (clause or control).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest clause text.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Longest note.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// A control's status (実施状況).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlStatus {
    /// 未着手.
    NotStarted,
    /// 実施中.
    InProgress,
    /// 実施済.
    Done,
    /// 例外適用中 (linked to an exception in force).
    Excepted,
}

impl ControlStatus {
    /// Every status, in display order.
    pub const ALL: [ControlStatus; 4] = [
        ControlStatus::NotStarted,
        ControlStatus::InProgress,
        ControlStatus::Done,
        ControlStatus::Excepted,
    ];

    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            ControlStatus::NotStarted => "not_started",
            ControlStatus::InProgress => "in_progress",
            ControlStatus::Done => "done",
            ControlStatus::Excepted => "excepted",
        }
    }

    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            ControlStatus::NotStarted => "未着手",
            ControlStatus::InProgress => "実施中",
            ControlStatus::Done => "実施済",
            ControlStatus::Excepted => "例外適用中",
        }
    }

    /// From a code or a Japanese label.
    pub fn parse(s: &str) -> Option<ControlStatus> {
        let s = s.trim();
        ControlStatus::ALL
            .into_iter()
            .find(|c| c.code() == s || c.label_ja() == s)
    }

    fn index(self) -> usize {
        match self {
            ControlStatus::NotStarted => 0,
            ControlStatus::InProgress => 1,
            ControlStatus::Done => 2,
            ControlStatus::Excepted => 3,
        }
    }
}

/// A clause of the organisation's 対策基準.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Clause {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// The number as the organisation writes it (`2-4-1`, `第14条`).
    pub number: String,
    /// The guideline number it maps to.
    pub guideline_no: Option<String>,
    /// Parent clause.
    pub parent_id: Option<i64>,
    /// 見出し.
    pub title: String,
    /// 本文.
    pub body: String,
    /// Order among siblings.
    pub sort_order: i64,
    /// `guideline` (seeded) or `import` / `own`.
    pub source: String,
    /// Edit counter.
    pub version: i64,
    /// Last changed (UTC).
    pub updated_at: String,
}

const CLAUSE_COLUMNS: &str = "id, org_id, number, guideline_no, parent_id, title, body, sort_order, source, version, updated_at";

/// A refused change.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The input is wrong; the message says where.
    #[error("{0}")]
    Invalid(String),
    /// The record changed since the page was opened.
    #[error("他の人が先に変更しました。ページを開き直してください")]
    Stale,
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for CatalogueError {
    fn from(e: sqlx::Error) -> Self {
        CatalogueError::Db(DbError::Sqlx(e))
    }
}

/// Seeds the organisation's clauses from the guideline when it has none yet (first use).
pub async fn ensure_seeded(db: &Db, org: OrgId) -> DbResult<()> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM std_clause WHERE org_id = $1")
        .bind(org.0)
        .fetch_one(db.pool())
        .await?;
    if n > 0 {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    match seed_in(&mut tx, org.0).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(())
        }
        // Another request seeded it in the meantime.
        Err(DbError::Duplicate(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Seeds inside a transaction; returns how many clauses were written (0 when already seeded).
pub async fn seed_in(conn: &mut AnyConnection, org: i64) -> DbResult<usize> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM std_clause WHERE org_id = $1")
        .bind(org)
        .fetch_one(&mut *conn)
        .await?;
    if n > 0 {
        return Ok(0);
    }
    let now = now_text();
    let mut ids: HashMap<&str, i64> = HashMap::new();
    for (order, c) in GUIDELINE.iter().enumerate() {
        let parent = c.parent().and_then(|p| ids.get(p).copied());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO std_clause (org_id, number, guideline_no, parent_id, title, body, sort_order, \
             source, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $5, $6, 'guideline', $7, $7) \
             RETURNING id",
        )
        .bind(org)
        .bind(c.number)
        .bind(parent)
        .bind(c.title)
        .bind(c.summary)
        .bind(i64::try_from(order).unwrap_or(0))
        .bind(&now)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| crate::unique_violation(e, c.number))?;
        ids.insert(c.number, id);
    }
    let entry = audit::NewEntry {
        org_id: Some(org),
        actor: "system".into(),
        action: "standards.seed".into(),
        object_type: "standards".into(),
        object_id: Some(org.to_string()),
        after: Some(json!({"clauses": GUIDELINE.len()})),
        ..audit::NewEntry::default()
    };
    audit::append(conn, entry).await?;
    Ok(GUIDELINE.len())
}

/// Every clause of the organisation (seeded on first use), in tree order.
pub async fn clauses(db: &Db, org: OrgId) -> DbResult<Vec<Clause>> {
    ensure_seeded(db, org).await?;
    let mut conn = db.pool().acquire().await?;
    clauses_in(&mut conn, org.0).await
}

async fn clauses_in(conn: &mut AnyConnection, org: i64) -> DbResult<Vec<Clause>> {
    let sql = format!("SELECT {CLAUSE_COLUMNS} FROM std_clause WHERE org_id = $1");
    let rows: Vec<Clause> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    Ok(tree_order(rows))
}

/// Orders clauses depth-first, siblings by `sort_order` then number.
fn tree_order(rows: Vec<Clause>) -> Vec<Clause> {
    let mut children: HashMap<Option<i64>, Vec<Clause>> = HashMap::new();
    let ids: std::collections::HashSet<i64> = rows.iter().map(|c| c.id).collect();
    for c in rows {
        // A parent outside the set (never expected) puts the clause at the top.
        let key = c.parent_id.filter(|p| ids.contains(p));
        children.entry(key).or_default().push(c);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| {
            a.sort_order
                .cmp(&b.sort_order)
                .then_with(|| a.number.cmp(&b.number))
        });
    }
    let mut out = Vec::new();
    let mut stack: Vec<Clause> = children.remove(&None).unwrap_or_default();
    stack.reverse();
    while let Some(c) = stack.pop() {
        if let Some(mut kids) = children.remove(&Some(c.id)) {
            kids.reverse();
            stack.extend(kids);
        }
        out.push(c);
    }
    out
}

/// One clause of the organisation.
pub async fn clause(db: &Db, org: OrgId, id: i64) -> DbResult<Clause> {
    let mut conn = db.pool().acquire().await?;
    clause_in(&mut conn, org.0, id).await
}

async fn clause_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Clause> {
    let sql = format!("SELECT {CLAUSE_COLUMNS} FROM std_clause WHERE id = $1 AND org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// Whether `number` names a clause of the organisation, by its own number or a guideline
/// number (the guideline's structure counts even before the catalogue is seeded).
pub async fn clause_exists(conn: &mut AnyConnection, org: i64, number: &str) -> DbResult<bool> {
    if standards::clause(number).is_some() {
        return Ok(true);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM std_clause WHERE org_id = $1 AND (number = $2 OR guideline_no = $2)",
    )
    .bind(org)
    .bind(number)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// A clause's edited fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClauseEdit {
    /// 見出し.
    pub title: String,
    /// 本文.
    pub body: String,
    /// ガイドライン番号 (empty: none).
    pub guideline_no: String,
}

fn check_guideline_no(value: &str) -> Result<Option<String>, String> {
    let v = standards::normalise_number(value);
    if v.is_empty() {
        return Ok(None);
    }
    match standards::clause(&v) {
        Some(c) => Ok(Some(c.number.to_owned())),
        None => Err(format!(
            "ガイドライン番号「{v}」はガイドラインの対策基準にありません（例: 2-4-1）"
        )),
    }
}

fn check_title_body(title: &str, body: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if title.trim().is_empty() {
        problems.push("見出しを入力してください".to_owned());
    } else if title.chars().count() > MAX_TITLE_CHARS {
        problems.push(format!("見出しは{MAX_TITLE_CHARS}文字以内にしてください"));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        problems.push(format!("本文は{MAX_BODY_CHARS}文字以内にしてください"));
    }
    problems
}

/// Saves a clause's title, text and guideline number. `expected_version` is the version the
/// editor started from.
pub async fn update_clause(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditStandards>,
    ctx: &AuditCtx,
    id: i64,
    expected_version: Option<i64>,
    edit: &ClauseEdit,
) -> Result<(), CatalogueError> {
    let org = cap.org().0;
    let before = clause_in(conn, org, id).await?;
    if expected_version.is_some_and(|v| v != before.version) {
        return Err(CatalogueError::Stale);
    }
    let mut problems = check_title_body(&edit.title, &edit.body);
    let guideline_no = match check_guideline_no(&edit.guideline_no) {
        Ok(g) => g,
        Err(m) => {
            problems.push(m);
            None
        }
    };
    if !problems.is_empty() {
        return Err(CatalogueError::Invalid(problems.join("／")));
    }
    let body = edit.body.replace("\r\n", "\n");
    let n = sqlx::query(
        "UPDATE std_clause SET title = $1, body = $2, guideline_no = $3, updated_at = $4, \
         version = version + 1 WHERE id = $5 AND org_id = $6 AND version = $7",
    )
    .bind(edit.title.trim())
    .bind(body.trim_end())
    .bind(&guideline_no)
    .bind(now_text())
    .bind(id)
    .bind(org)
    .bind(before.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(CatalogueError::Stale);
    }
    let mut entry = ctx.entry("standards.clause.update", "std_clause", id);
    entry.before = Some(json!({"number": before.number, "title": before.title,
        "body": before.body, "guideline_no": before.guideline_no}));
    entry.after = Some(json!({"number": before.number, "title": edit.title.trim(),
        "body": body.trim_end(), "guideline_no": guideline_no}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Maps clauses to guideline numbers in one go (the mapping page): `(clause id, number or
/// empty)`. Every value is checked before anything is written. Returns how many changed.
pub async fn set_mapping(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditStandards>,
    ctx: &AuditCtx,
    pairs: &[(i64, String)],
) -> Result<usize, CatalogueError> {
    let org = cap.org().0;
    let current: HashMap<i64, Clause> = clauses_in(conn, org)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut problems = Vec::new();
    let mut changes = Vec::new();
    for (id, value) in pairs {
        let Some(c) = current.get(id) else {
            return Err(CatalogueError::Db(DbError::NotFound));
        };
        match check_guideline_no(value) {
            Ok(g) if g != c.guideline_no => changes.push((c, g)),
            Ok(_) => {}
            Err(m) => problems.push(format!("{}：{m}", c.number)),
        }
    }
    if !problems.is_empty() {
        return Err(CatalogueError::Invalid(problems.join("／")));
    }
    let now = now_text();
    let mut entries = Vec::new();
    for (c, g) in &changes {
        sqlx::query(
            "UPDATE std_clause SET guideline_no = $1, updated_at = $2, version = version + 1 \
             WHERE id = $3 AND org_id = $4",
        )
        .bind(g)
        .bind(&now)
        .bind(c.id)
        .bind(org)
        .execute(&mut *conn)
        .await?;
        let mut entry = ctx.entry("standards.clause.map", "std_clause", c.id);
        entry.before = Some(json!({"number": c.number, "guideline_no": c.guideline_no}));
        entry.after = Some(json!({"number": c.number, "guideline_no": g}));
        entries.push(entry);
    }
    if !entries.is_empty() {
        audit::append_many(conn, entries).await?;
    }
    Ok(changes.len())
}

// ------------------------------------------------------------------ controls

/// A control (対策) of a clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Control {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Its clause.
    pub clause_id: i64,
    /// The clause's number.
    pub clause_number: String,
    /// 対策.
    pub title: String,
    /// 担当組織.
    pub unit_id: i64,
    /// Status code.
    pub status: String,
    /// 例外措置番号 when 例外適用中.
    pub exception_ref: String,
    /// 備考.
    pub note: String,
    /// Edit counter.
    pub version: i64,
    /// Last changed (UTC).
    pub updated_at: String,
}

impl Control {
    /// The status (未着手 for a hand-edited value).
    pub fn status(&self) -> ControlStatus {
        ControlStatus::parse(&self.status).unwrap_or(ControlStatus::NotStarted)
    }
}

const CONTROL_COLUMNS: &str = "k.id, k.org_id, k.clause_id, c.number AS clause_number, k.title, \
     k.unit_id, k.status, k.exception_ref, k.note, k.version, k.updated_at";
const CONTROL_FROM: &str =
    "FROM std_control k JOIN std_clause c ON c.id = k.clause_id AND c.org_id = k.org_id";

/// A control as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlInput {
    /// 対策.
    pub title: String,
    /// 担当組織.
    pub unit_id: i64,
    /// 実施状況.
    pub status: ControlStatus,
    /// 例外措置番号 (required for 例外適用中).
    pub exception_ref: String,
    /// 備考.
    pub note: String,
}

/// The controls of a clause.
pub async fn controls_of(db: &Db, org: OrgId, clause_id: i64) -> DbResult<Vec<Control>> {
    let sql = format!(
        "SELECT {CONTROL_COLUMNS} {CONTROL_FROM} WHERE k.org_id = $1 AND k.clause_id = $2 ORDER BY k.id"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .bind(clause_id)
        .fetch_all(db.pool())
        .await?)
}

/// One control of the organisation.
pub async fn control(db: &Db, org: OrgId, id: i64) -> DbResult<Control> {
    let mut conn = db.pool().acquire().await?;
    control_in(&mut conn, org.0, id).await
}

async fn control_in(conn: &mut AnyConnection, org: i64, id: i64) -> DbResult<Control> {
    let sql = format!("SELECT {CONTROL_COLUMNS} {CONTROL_FROM} WHERE k.id = $1 AND k.org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

async fn check_control(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditControls>,
    tree: &UnitTree,
    input: &ControlInput,
    today: Date,
) -> Result<String, CatalogueError> {
    let org = cap.org().0;
    let mut problems = Vec::new();
    if input.title.trim().is_empty() {
        problems.push("対策の内容を入力してください".to_owned());
    } else if input.title.chars().count() > MAX_TITLE_CHARS {
        problems.push(format!("対策は{MAX_TITLE_CHARS}文字以内にしてください"));
    }
    if input.note.chars().count() > MAX_NOTE_CHARS {
        problems.push(format!("備考は{MAX_NOTE_CHARS}文字以内にしてください"));
    }
    match tree.get(input.unit_id) {
        Some(u) if u.org_id == org && u.active != 0 => {
            if !cap.covers(&tree.path(input.unit_id)) {
                problems.push(format!(
                    "担当組織「{}」の対策を変更する権限がありません",
                    tree.full_name(input.unit_id)
                ));
            }
        }
        _ => problems.push("担当組織が見つかりません".to_owned()),
    }
    let reference = input.exception_ref.trim().to_owned();
    match (input.status, reference.is_empty()) {
        (ControlStatus::Excepted, true) => {
            problems.push("例外適用中にするには例外措置番号を入力してください".to_owned())
        }
        (ControlStatus::Excepted, false) => {
            if let Err(m) = crate::exceptions::check_ref(conn, org, &reference, today).await? {
                problems.push(m);
            }
        }
        (_, false) => {
            problems.push("例外措置番号は実施状況が「例外適用中」のときだけ入力します".to_owned())
        }
        (_, true) => {}
    }
    if problems.is_empty() {
        Ok(reference)
    } else {
        Err(CatalogueError::Invalid(problems.join("／")))
    }
}

/// Adds a control to a clause; returns its id.
pub async fn create_control(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditControls>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    clause_id: i64,
    input: &ControlInput,
    today: Date,
) -> Result<i64, CatalogueError> {
    let org = cap.org().0;
    let clause = clause_in(conn, org, clause_id).await?;
    let reference = check_control(conn, cap, tree, input, today).await?;
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO std_control (org_id, clause_id, title, unit_id, status, exception_ref, note, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(org)
    .bind(clause.id)
    .bind(input.title.trim())
    .bind(input.unit_id)
    .bind(input.status.code())
    .bind(&reference)
    .bind(input.note.trim())
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("standards.control.create", "std_control", id);
    entry.unit_id = Some(input.unit_id);
    entry.after = Some(json!({"clause": clause.number, "title": input.title.trim(),
        "unit_id": input.unit_id, "status": input.status.code(), "exception_ref": reference}));
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Saves a control. The capability must reach both its current and its new owner unit.
#[allow(clippy::too_many_arguments)]
pub async fn update_control(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditControls>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    expected_version: Option<i64>,
    input: &ControlInput,
    today: Date,
) -> Result<(), CatalogueError> {
    let org = cap.org().0;
    let before = control_in(conn, org, id).await?;
    if !cap.covers(&tree.path(before.unit_id)) {
        return Err(CatalogueError::Db(DbError::NotFound));
    }
    if expected_version.is_some_and(|v| v != before.version) {
        return Err(CatalogueError::Stale);
    }
    let reference = check_control(conn, cap, tree, input, today).await?;
    let n = sqlx::query(
        "UPDATE std_control SET title = $1, unit_id = $2, status = $3, exception_ref = $4, note = $5, \
         updated_at = $6, version = version + 1 WHERE id = $7 AND org_id = $8 AND version = $9",
    )
    .bind(input.title.trim())
    .bind(input.unit_id)
    .bind(input.status.code())
    .bind(&reference)
    .bind(input.note.trim())
    .bind(now_text())
    .bind(id)
    .bind(org)
    .bind(before.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(CatalogueError::Stale);
    }
    let mut entry = ctx.entry("standards.control.update", "std_control", id);
    entry.unit_id = Some(input.unit_id);
    entry.before = Some(json!({"title": before.title, "unit_id": before.unit_id,
        "status": before.status, "exception_ref": before.exception_ref, "note": before.note}));
    entry.after = Some(
        json!({"title": input.title.trim(), "unit_id": input.unit_id,
        "status": input.status.code(), "exception_ref": reference, "note": input.note.trim()}),
    );
    audit::append(conn, entry).await?;
    Ok(())
}

/// Counts of controls per status for every clause (by clause id), each in the order of
/// [`ControlStatus::ALL`].
pub async fn status_counts(db: &Db, org: OrgId) -> DbResult<HashMap<i64, [i64; 4]>> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT clause_id, status, COUNT(*) FROM std_control WHERE org_id = $1 GROUP BY clause_id, status",
    )
    .bind(org.0)
    .fetch_all(db.pool())
    .await?;
    let mut out: HashMap<i64, [i64; 4]> = HashMap::new();
    for (clause, status, n) in rows {
        if let Some(s) = ControlStatus::parse(&status) {
            let counts = out.entry(clause).or_insert([0; 4]);
            if let Some(slot) = counts.get_mut(s.index()) {
                *slot += n;
            }
        }
    }
    Ok(out)
}

/// Sums per-clause counts up the tree: each clause's figures include those of the clauses below
/// it (a chapter shows its sections' controls).
pub fn roll_up(clauses: &[Clause], counts: &HashMap<i64, [i64; 4]>) -> HashMap<i64, [i64; 4]> {
    let parent: HashMap<i64, Option<i64>> = clauses.iter().map(|c| (c.id, c.parent_id)).collect();
    let mut out: HashMap<i64, [i64; 4]> = HashMap::new();
    for (clause, figures) in counts {
        let mut at = Some(*clause);
        let mut guard = 0;
        while let Some(id) = at {
            let slot = out.entry(id).or_insert([0; 4]);
            for (s, f) in slot.iter_mut().zip(figures) {
                *s += f;
            }
            at = parent.get(&id).copied().flatten();
            guard += 1;
            if guard > 64 {
                break;
            }
        }
    }
    out
}

/// The catalogue and exceptions work of one person (for the dashboard and reminder mail):
/// controls still 未着手 in a unit they are 情報セキュリティ管理者 of (改善), and everything
/// [`crate::exceptions::tasks_for`] lists.
pub async fn tasks_for(db: &Db, org: i64, person: i64, today: Date) -> DbResult<Vec<Task>> {
    let org_id = OrgId(org);
    let tree = crate::org::unit_tree(db, org_id).await?;
    let who = crate::org::person(db, org_id, person).await?;
    let actor =
        crate::org::actor(db, &who, &tree, &mamori_core::calendar::format_iso(today)).await?;
    let managed: Vec<i64> = actor
        .held
        .iter()
        .filter(|h| h.role == Role::SecurityManager)
        .map(|h| h.unit.0)
        .collect();
    let mut tasks = Vec::new();
    if !managed.is_empty() {
        // Ids are numbers the server holds: written into the text, only the managed units' rows.
        let units: Vec<String> = managed.iter().map(i64::to_string).collect();
        let sql = format!(
            "SELECT {CONTROL_COLUMNS} {CONTROL_FROM} WHERE k.org_id = $1 AND k.status = 'not_started' \
             AND k.unit_id IN ({}) ORDER BY c.number, k.id",
            units.join(", ")
        );
        let rows: Vec<Control> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_all(db.pool())
            .await?;
        for k in rows {
            tasks.push(Task {
                kind: TaskKind::Fix,
                title: format!("対策「{}」（{}）に着手する", k.title, k.clause_number),
                href: format!("/standards/clauses/{}#control-{}", k.clause_id, k.id),
                due: None,
            });
        }
    }
    // The same tree and roles serve the exceptions' tasks.
    tasks.extend(crate::exceptions::tasks_of(db, org, person, &tree, &actor, today).await?);
    Ok(tasks)
}
