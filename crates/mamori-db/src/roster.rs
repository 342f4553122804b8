//! 名簿取込み: the staff roster that personnel (人事) hands over for the April 人事異動, read from
//! CSV or xlsx, compared with the database, shown as a plan, and applied in one transaction.
//!
//! The flow is read → [`plan`] → (the user looks at the plan) → [`apply`]. Reading and planning
//! collect every problem of the file, each naming its row and column, so a user fixes the file in
//! one pass; nothing is written unless the whole file is clean. [`apply`] does not re-decide
//! anything: it carries out the plan through the ordinary repository functions in `org` (so every
//! change has its own audit entry), after checking inside its transaction that the persons and
//! assignments are still exactly those the plan was computed from. A plan's [`RosterPlan::digest`]
//! lets a two-step user interface prove that what is applied is what was shown.
//!
//! Matching: a row names a person by 職員番号, else by ログインID. Persons absent from the file are
//! left alone (listed as 「ファイルにない職員」). A column absent from the file leaves that field
//! as it is; in particular, without a 役割 column no listed role changes, and with it a person's
//! roles become exactly those listed (roles in force and no longer listed end the day before the
//! effective date; new ones start on it). The role 職員 need not be listed: every person holds it
//! in their own unit, so it moves with them whether or not the file has a 役割 column.
//! 在職状況「退職」 retires a person and ends every role.

use std::collections::{HashMap, HashSet};

use mamori_core::calendar::format_iso;
use mamori_core::org::{EmploymentType, Login, OrgId, PersonStatus, UnitCode};
use mamori_core::permission::{Capability, Reach, can};
use mamori_core::role::Role;
use mamori_core::text;
use mamori_tabular::{Column, ExportTable, Limits, Row, Table, TabularErrors};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use time::Date;

use crate::audit;
use crate::import::{self, ImportFile};
use crate::org::{
    self, Assignment, AssignmentInput, AuditCtx, PERSON_COLUMNS, Person, PersonInput, UnitTree,
};
use crate::{Db, DbError};

/// The roster's columns, with the headers Excel users write and the English ones an export from
/// another system may carry.
pub const COLUMNS: [Column; 10] = [
    Column::required("staff_no", "職員番号").aliases(&[
        "職員No",
        "職員コード",
        "職員ID",
        "staff_no",
        "staff number",
    ]),
    Column::required("name", "氏名").aliases(&["名前", "職員名", "name"]),
    Column::optional("name_kana", "ふりがな").aliases(&[
        "フリガナ",
        "よみがな",
        "ヨミガナ",
        "氏名カナ",
        "カナ氏名",
        "kana",
        "name_kana",
    ]),
    Column::required("login", "ログインID").aliases(&[
        "ログイン名",
        "ユーザーID",
        "ユーザID",
        "アカウント",
        "login",
    ]),
    Column::required("unit", "所属コード").aliases(&["組織コード", "unit", "unit_code"]),
    Column::required("employment", "雇用形態").aliases(&["任用形態", "employment"]),
    Column::optional("email", "メールアドレス").aliases(&["メール", "email", "e-mail", "mail"]),
    Column::optional("phone", "電話番号").aliases(&["電話", "内線", "電話・内線", "phone"]),
    Column::optional("status", "在職状況").aliases(&["在職区分", "状態", "status"]),
    Column::optional("roles", "役割").aliases(&["roles"]),
];

/// What each column means, for the upload page and the CLI's help: (header, required, meaning).
pub const COLUMN_HELP: [(&str, bool, &str); 10] = [
    (
        "職員番号",
        true,
        "職員を特定する番号。空欄の場合はログインIDで照合します（委託先など）",
    ),
    ("氏名", true, "姓と名の間の空白はそのまま登録します"),
    ("ふりがな", false, "列がない場合は変更しません"),
    (
        "ログインID",
        true,
        "半角英小文字・数字と . _ - で3〜64文字。職員番号で照合した職員の場合は変更になります",
    ),
    ("所属コード", true, "組織の一覧にある組織コード"),
    (
        "雇用形態",
        true,
        "正規職員・会計年度任用職員・臨時職員・再任用職員・委託先",
    ),
    ("メールアドレス", false, "列がない場合は変更しません"),
    (
        "電話番号",
        false,
        "内線番号でも構いません。列がない場合は変更しません",
    ),
    (
        "在職状況",
        false,
        "在職または退職。退職にすると、反映日の前日ですべての役割を終了します",
    ),
    (
        "役割",
        false,
        "「管理者」「システム担当者@IT」のように、役割名（@組織コード）を「;」か「、」で区切って複数書けます。組織コードを省くと所属の組織になります。列がある場合、書かれていない役割は反映日の前日で終了します。「職員」の役割は所属の組織に自動で付くため、書く必要はありません",
    ),
];

/// Largest roster file accepted: a roster of a few thousand staff is well under 1 MiB, and the
/// web preview sends the file back once more (base64) within the request size limit.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// Most data rows in one roster.
pub const MAX_ROWS: usize = 20_000;

/// Longest 職員番号.
const MAX_STAFF_NO_CHARS: usize = 32;
/// Longest name or reading.
const MAX_NAME_CHARS: usize = 100;
/// Longest phone number or extension.
const MAX_PHONE_CHARS: usize = 40;
/// Longest mail address (RFC 5321 path limit).
const MAX_EMAIL_BYTES: usize = 254;
/// Most problems reported for one file.
const MAX_ERRORS: usize = 200;

/// What the assignment note says about where a role came from.
const ASSIGNMENT_NOTE: &str = "名簿取込み（人事異動）";

/// A roster file as read: its name, its SHA-256 (for the audit trail) and its rows.
pub type RosterFile = ImportFile;

/// Reads a roster file (CSV in UTF-8 with or without BOM or in Shift_JIS/CP932, or xlsx).
pub fn read_file(bytes: &[u8], file_name: &str) -> Result<RosterFile, TabularErrors> {
    let limits = Limits {
        max_file_bytes: MAX_FILE_BYTES,
        max_rows: MAX_ROWS,
        max_errors: MAX_ERRORS,
        ..Limits::default()
    };
    import::read(
        bytes,
        file_name,
        &COLUMNS,
        &limits,
        "見出し行の下に職員の行がありません",
    )
}

/// An empty roster with the headers in order, for the downloadable template.
pub fn template() -> ExportTable {
    ExportTable::from_schema("名簿", &COLUMNS)
}

/// Why a roster could not be planned or applied.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file is unreadable or some of its cells are wrong; every problem is listed.
    #[error("{0}")]
    Input(TabularErrors),
    /// The persons or assignments changed after the plan was made, or the plan was made for
    /// another organisation or reach: nothing was written.
    #[error(
        "取込み内容の確認後に職員または役割のデータが変更されたため、反映しませんでした。もう一度確認してから反映してください"
    )]
    Stale,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<TabularErrors> for RosterError {
    fn from(e: TabularErrors) -> Self {
        RosterError::Input(e)
    }
}

impl From<sqlx::Error> for RosterError {
    fn from(e: sqlx::Error) -> Self {
        RosterError::Db(DbError::Sqlx(e))
    }
}

impl From<serde_json::Error> for RosterError {
    fn from(e: serde_json::Error) -> Self {
        RosterError::Db(DbError::Json(e))
    }
}

pub use crate::import::FieldChange;

/// A person the import registers.
#[derive(Debug, Clone, Serialize)]
pub struct NewPerson {
    /// Row in the file.
    pub row: usize,
    /// What is registered.
    pub input: PersonInput,
    /// The unit, as shown (code and name).
    pub unit: String,
    /// The employment type, as shown.
    pub employment: &'static str,
}

/// An existing person whose record changes (or who retires).
#[derive(Debug, Clone, Serialize)]
pub struct PersonUpdate {
    /// Row in the file.
    pub row: usize,
    /// The person.
    pub person_id: i64,
    /// 職員番号 after the import.
    pub staff_no: String,
    /// Name after the import.
    pub name: String,
    /// Login after the import.
    pub login: String,
    /// Each field that changes.
    pub changes: Vec<FieldChange>,
    /// The record as written.
    pub input: PersonInput,
}

/// A role that starts on the effective date.
#[derive(Debug, Clone, Serialize)]
pub struct RoleStart {
    /// Row in the file.
    pub row: usize,
    /// The person, when already registered (a new person is found by login at apply time).
    pub person_id: Option<i64>,
    /// The person's login (unique).
    pub login: String,
    /// 職員番号.
    pub staff_no: String,
    /// Name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The role, as shown.
    pub role_label: &'static str,
    /// Where it is held.
    pub unit_id: i64,
    /// The unit, as shown.
    pub unit: String,
}

/// A role in force that ends the day before the effective date.
#[derive(Debug, Clone, Serialize)]
pub struct RoleEnd {
    /// Row in the file.
    pub row: usize,
    /// The assignment.
    pub assignment_id: i64,
    /// The person.
    pub person_id: i64,
    /// 職員番号.
    pub staff_no: String,
    /// Name.
    pub name: String,
    /// Role code as stored.
    pub role: String,
    /// The role, as shown.
    pub role_label: String,
    /// Where it is held.
    pub unit_id: i64,
    /// The unit, as shown.
    pub unit: String,
    /// First day of the assignment.
    pub valid_from: String,
    /// Why it ends: 「名簿に記載なし」 or 「退職」.
    pub reason: &'static str,
}

/// A person of the organisation the file does not mention (shown for information only).
#[derive(Debug, Clone, Serialize)]
pub struct PersonRef {
    /// The person.
    pub person_id: i64,
    /// 職員番号.
    pub staff_no: String,
    /// Name.
    pub name: String,
    /// Login.
    pub login: String,
    /// Unit, as shown.
    pub unit: String,
}

/// Everything an import would change, computed against the database as it is.
#[derive(Debug, Clone, Serialize)]
pub struct RosterPlan {
    /// The organisation.
    pub org_id: i64,
    /// The importer's reach the plan was confined to.
    pub reach: Reach,
    /// The file's name.
    pub file_name: String,
    /// SHA-256 of the file.
    pub file_sha256: String,
    /// 発令日: the first day of the new roles (YYYY-MM-DD).
    pub effective: String,
    /// The last day of ended roles: the day before [`Self::effective`].
    pub end_day: String,
    /// Data rows read.
    pub rows: usize,
    /// 新規: persons to register.
    pub new_persons: Vec<NewPerson>,
    /// 変更: persons whose record changes.
    pub updates: Vec<PersonUpdate>,
    /// 退職: persons who retire (their record changes too).
    pub retirements: Vec<PersonUpdate>,
    /// 役割の開始.
    pub role_starts: Vec<RoleStart>,
    /// 役割の終了.
    pub role_ends: Vec<RoleEnd>,
    /// ファイルにない職員: active persons within reach the file does not mention.
    pub not_in_file: Vec<PersonRef>,
    /// Rows that change nothing.
    pub unchanged: usize,
    /// Things the user should know that are not errors.
    pub warnings: Vec<String>,
    /// SHA-256 of the persons and assignments the plan was computed from.
    pub state_digest: String,
    /// SHA-256 over everything above: equal digests mean equal plans.
    pub digest: String,
}

impl RosterPlan {
    /// Whether applying the plan would change nothing.
    pub fn is_empty(&self) -> bool {
        self.new_persons.is_empty()
            && self.updates.is_empty()
            && self.retirements.is_empty()
            && self.role_starts.is_empty()
            && self.role_ends.is_empty()
    }

    /// The digest of the plan's content (every field but the digest itself).
    fn compute_digest(&self) -> Result<String, serde_json::Error> {
        let mut copy = self.clone();
        copy.digest = String::new();
        let mut h = Sha256::new();
        h.update(b"mamori.roster.plan.v1\n");
        h.update(serde_json::to_vec(&copy)?);
        Ok(hex::encode(h.finalize()))
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplySummary {
    /// Persons registered.
    pub created: usize,
    /// Persons changed (retirements not included).
    pub updated: usize,
    /// Persons retired.
    pub retired: usize,
    /// Roles started.
    pub roles_started: usize,
    /// Roles ended.
    pub roles_ended: usize,
    /// The `roster.import` audit entry.
    pub audit_seq: i64,
}

/// The persons and assignments an import is compared with.
#[derive(Debug, Clone, Default)]
struct State {
    /// Every person of the organisation, by id.
    persons: Vec<Person>,
    /// Assignments not ended before the effective date, by id.
    assignments: Vec<Assignment>,
    /// Logins taken in other organisations (logins are unique across the deployment).
    foreign_logins: HashSet<String>,
}

impl State {
    /// SHA-256 over the persons and assignments; other organisations' logins are left out, as
    /// the unique constraint guards them at apply time anyway.
    fn digest(&self) -> Result<String, serde_json::Error> {
        let mut h = Sha256::new();
        h.update(b"mamori.roster.state.v1\n");
        h.update(serde_json::to_vec(&self.persons)?);
        h.update(b"\n");
        h.update(serde_json::to_vec(&self.assignments)?);
        Ok(hex::encode(h.finalize()))
    }
}

async fn load_state(
    conn: &mut AnyConnection,
    org: OrgId,
    effective: &str,
) -> Result<State, RosterError> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM person WHERE org_id = $1 ORDER BY id");
    let persons: Vec<Person> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(&mut *conn)
        .await?;
    let assignments: Vec<Assignment> = sqlx::query_as(
        "SELECT id, org_id, person_id, role, unit_id, valid_from, valid_to, note, created_at \
         FROM role_assignment WHERE org_id = $1 AND (valid_to IS NULL OR valid_to >= $2) ORDER BY id",
    )
    .bind(org.0)
    .bind(effective)
    .fetch_all(&mut *conn)
    .await?;
    let foreign: Vec<String> = sqlx::query_scalar("SELECT login FROM person WHERE org_id <> $1")
        .bind(org.0)
        .fetch_all(&mut *conn)
        .await?;
    Ok(State {
        persons,
        assignments,
        foreign_logins: foreign.into_iter().collect(),
    })
}

/// Compares a roster with the database and returns what applying it would change, or every
/// problem of the file (row and column named).
///
/// `grantable` lists the roles the importer may grant ([`mamori_core::permission::may_grant`]);
/// a row giving any other role is an error, as is a row whose unit, role unit or current unit
/// lies outside the capability's reach.
pub async fn plan(
    db: &Db,
    cap: &Capability<can::ImportRoster>,
    tree: &UnitTree,
    file: &RosterFile,
    grantable: &[Role],
    effective: Date,
) -> Result<RosterPlan, RosterError> {
    let effective_text = format_iso(effective);
    let mut conn = db.pool().acquire().await?;
    let state = load_state(&mut conn, cap.org(), &effective_text).await?;
    drop(conn);
    let scope = Scope {
        org: cap.org(),
        reach: cap.reach().clone(),
        tree,
        grantable,
    };
    compute(&scope, &state, file, effective)
}

/// Applies a plan in one transaction: person updates and retirements, new persons, ended roles,
/// started roles, then a `roster.import` summary entry. Refuses with [`RosterError::Stale`],
/// writing nothing, when the persons or assignments are no longer those the plan was computed
/// from, or when the plan was made for another organisation or reach.
pub async fn apply(
    db: &Db,
    cap: &Capability<can::ImportRoster>,
    ctx: &AuditCtx,
    plan: &RosterPlan,
) -> Result<ApplySummary, RosterError> {
    if plan.org_id != cap.org().0 || plan.reach != *cap.reach() {
        return Err(RosterError::Stale);
    }
    let mut tx = db.begin_write().await?;
    let state = load_state(&mut tx, cap.org(), &plan.effective).await?;
    if state.digest()? != plan.state_digest {
        return Err(RosterError::Stale);
    }
    for u in plan.updates.iter().chain(&plan.retirements) {
        org::update_person(&mut tx, cap, ctx, u.person_id, &u.input).await?;
    }
    let mut created: HashMap<&str, i64> = HashMap::new();
    for n in &plan.new_persons {
        let id = org::create_person(&mut tx, cap, ctx, &n.input, None).await?;
        created.insert(n.input.login.as_str(), id);
    }
    for e in &plan.role_ends {
        org::end_assignment(&mut tx, cap, ctx, e.assignment_id, &plan.end_day).await?;
    }
    for s in &plan.role_starts {
        let person_id = s
            .person_id
            .or_else(|| created.get(s.login.as_str()).copied())
            .ok_or(RosterError::Stale)?;
        let input = AssignmentInput {
            person_id,
            role: s.role,
            unit_id: s.unit_id,
            valid_from: plan.effective.clone(),
            valid_to: None,
            note: ASSIGNMENT_NOTE.to_owned(),
        };
        org::create_assignment(&mut tx, cap, ctx, &input).await?;
    }
    let mut entry = ctx.entry("roster.import", "roster", &plan.file_sha256);
    entry.after = Some(json!({
        "file_name": plan.file_name,
        "file_sha256": plan.file_sha256,
        "effective": plan.effective,
        "plan_digest": plan.digest,
        "rows": plan.rows,
        "created": plan.new_persons.len(),
        "updated": plan.updates.len(),
        "retired": plan.retirements.len(),
        "roles_started": plan.role_starts.len(),
        "roles_ended": plan.role_ends.len(),
        "unchanged": plan.unchanged,
        "not_in_file": plan.not_in_file.len(),
    }));
    let audit_seq = audit::append(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(ApplySummary {
        created: plan.new_persons.len(),
        updated: plan.updates.len(),
        retired: plan.retirements.len(),
        roles_started: plan.role_starts.len(),
        roles_ended: plan.role_ends.len(),
        audit_seq,
    })
}

/// Who imports, and where: the organisation, the reach, the unit tree and the grantable roles.
struct Scope<'a> {
    org: OrgId,
    reach: Reach,
    tree: &'a UnitTree,
    grantable: &'a [Role],
}

impl Scope<'_> {
    fn unit_label(&self, id: i64) -> String {
        match self.tree.get(id) {
            Some(u) => format!("{} {}", u.code, self.tree.full_name(id)),
            None => id.to_string(),
        }
    }
}

/// One row, read and checked.
#[derive(Debug, Clone)]
struct Entry {
    row: usize,
    staff_no: Option<String>,
    name: String,
    /// `None` when the column is absent (and so for the other optional fields).
    name_kana: Option<String>,
    login: Login,
    unit_id: i64,
    employment: EmploymentType,
    email: Option<String>,
    phone: Option<String>,
    status: Option<PersonStatus>,
    roles: Option<Vec<(Role, i64)>>,
}

/// Collects problems of the file up to [`MAX_ERRORS`].
struct Problems<'t> {
    table: &'t Table,
    errors: TabularErrors,
}

impl<'t> Problems<'t> {
    fn new(table: &'t Table) -> Self {
        Problems {
            table,
            errors: TabularErrors::default(),
        }
    }

    fn cell(&mut self, row: &Row, key: &str, reason: impl Into<String>) {
        if self.errors.errors.len() >= MAX_ERRORS {
            self.errors.truncated = true;
            return;
        }
        let e = self.table.error(row, key, reason);
        self.errors.errors.push(e);
    }
}

/// The pure heart of [`plan`]: parse, match, diff.
fn compute(
    scope: &Scope<'_>,
    state: &State,
    file: &RosterFile,
    effective: Date,
) -> Result<RosterPlan, RosterError> {
    let table = &file.table;
    let reachable: HashSet<i64> = scope.tree.reachable(&scope.reach).into_iter().collect();
    let mut problems = Problems::new(table);

    // 1. Every row on its own.
    let mut entries: Vec<(&Row, Entry)> = Vec::new();
    for row in &table.rows {
        if let Some(e) = parse_row(scope, &reachable, &mut problems, row) {
            entries.push((row, e));
        }
    }

    // 2. Rows against each other and against the database.
    let by_staff_no: HashMap<&str, &Person> = state
        .persons
        .iter()
        .filter_map(|p| p.staff_no.as_deref().map(|s| (s, p)))
        .collect();
    let by_login: HashMap<&str, &Person> = state
        .persons
        .iter()
        .map(|p| (p.login.as_str(), p))
        .collect();
    let mut seen_staff_no: HashMap<String, usize> = HashMap::new();
    let mut seen_login: HashMap<String, usize> = HashMap::new();
    let mut seen_person: HashMap<i64, usize> = HashMap::new();
    let mut matched: Vec<(&Row, Entry, Option<&Person>)> = Vec::new();
    for (row, e) in entries {
        let mut ok = true;
        if let Some(s) = &e.staff_no {
            if let Some(first) = seen_staff_no.get(s) {
                problems.cell(
                    row,
                    "staff_no",
                    format!("職員番号が{first}行目と重複しています"),
                );
                ok = false;
            } else {
                seen_staff_no.insert(s.clone(), e.row);
            }
        }
        if let Some(first) = seen_login.get(e.login.as_str()) {
            problems.cell(
                row,
                "login",
                format!("ログインIDが{first}行目と重複しています"),
            );
            ok = false;
        } else {
            seen_login.insert(e.login.as_str().to_owned(), e.row);
        }
        if !ok {
            // A repeated key says it all; matching the row would only repeat the message.
            continue;
        }
        let existing = match e.staff_no.as_deref().and_then(|s| by_staff_no.get(s)) {
            Some(p) => Some(*p),
            None => by_login.get(e.login.as_str()).copied(),
        };
        if let Some(p) = existing {
            if let Some(first) = seen_person.get(&p.id) {
                problems.cell(
                    row,
                    "login",
                    format!("{first}行目と同じ職員（{}）を指しています", p.name),
                );
                ok = false;
            } else {
                seen_person.insert(p.id, e.row);
            }
            // Matched by login while the file gives another 職員番号: two different people, or
            // a typo; either way not something to merge silently.
            if let (Some(file_no), Some(db_no)) = (&e.staff_no, &p.staff_no)
                && file_no != db_no
            {
                problems.cell(
                    row,
                    "login",
                    format!(
                        "このログインIDは職員番号「{db_no}」の職員（{}）が使っています",
                        p.name
                    ),
                );
                ok = false;
            }
            // Matched by 職員番号 with a new login that someone else holds.
            if let Some(other) = by_login.get(e.login.as_str())
                && other.id != p.id
            {
                problems.cell(
                    row,
                    "login",
                    format!(
                        "このログインIDは別の職員（{}）が使っています。入れ替える場合は2回に分けて取り込んでください",
                        other.name
                    ),
                );
                ok = false;
            }
            if !reachable.contains(&p.unit_id) {
                problems.cell(
                    row,
                    "unit",
                    format!(
                        "この職員の現在の所属（{}）は名簿取込みの権限の範囲外です",
                        scope.unit_label(p.unit_id)
                    ),
                );
                ok = false;
            }
        }
        // Logins are unique across the deployment; the message says no more than creating the
        // person would, and nothing of which organisation holds it.
        if state.foreign_logins.contains(e.login.as_str()) {
            problems.cell(row, "login", "このログインIDは既に使われています");
            ok = false;
        }
        if ok {
            matched.push((row, e, existing));
        }
    }
    if !problems.errors.is_empty() {
        // Cell checks and cross-row checks ran in two passes; the user reads the file by row.
        problems.errors.errors.sort_by_key(|e| e.row);
        return Err(RosterError::Input(problems.errors));
    }

    // 3. The differences.
    let effective_text = format_iso(effective);
    let end_day = effective
        .previous_day()
        .map(format_iso)
        .unwrap_or_else(|| effective_text.clone());
    let mut plan = RosterPlan {
        org_id: scope.org.0,
        reach: scope.reach.clone(),
        file_name: file.name.clone(),
        file_sha256: file.sha256.clone(),
        effective: effective_text.clone(),
        end_day,
        rows: table.rows.len(),
        new_persons: Vec::new(),
        updates: Vec::new(),
        retirements: Vec::new(),
        role_starts: Vec::new(),
        role_ends: Vec::new(),
        not_in_file: Vec::new(),
        unchanged: 0,
        warnings: Vec::new(),
        state_digest: state.digest()?,
        digest: String::new(),
    };
    let mut in_force: HashMap<i64, Vec<&Assignment>> = HashMap::new();
    for a in &state.assignments {
        if a.valid_from.as_str() <= effective_text.as_str() {
            in_force.entry(a.person_id).or_default().push(a);
        }
    }
    for (_, e, existing) in &matched {
        match existing {
            None => plan_new(scope, &mut plan, e),
            Some(p) => {
                let current = in_force.get(&p.id).map(Vec::as_slice).unwrap_or_default();
                plan_existing(scope, &reachable, &mut plan, e, p, current);
            }
        }
    }
    let mentioned: HashSet<i64> = matched
        .iter()
        .filter_map(|(_, _, p)| p.map(|p| p.id))
        .collect();
    let mut absent: Vec<&Person> = state
        .persons
        .iter()
        .filter(|p| {
            p.status == PersonStatus::Active.code()
                && reachable.contains(&p.unit_id)
                && !mentioned.contains(&p.id)
        })
        .collect();
    absent.sort_by(|a, b| {
        (a.unit_id, a.staff_no.as_deref(), a.id).cmp(&(b.unit_id, b.staff_no.as_deref(), b.id))
    });
    plan.not_in_file = absent
        .into_iter()
        .map(|p| PersonRef {
            person_id: p.id,
            staff_no: p.staff_no.clone().unwrap_or_default(),
            name: p.name.clone(),
            login: p.login.clone(),
            unit: scope.unit_label(p.unit_id),
        })
        .collect();
    plan.digest = plan.compute_digest()?;
    Ok(plan)
}

fn plan_new(scope: &Scope<'_>, plan: &mut RosterPlan, e: &Entry) {
    if e.status == Some(PersonStatus::Retired) {
        plan.warnings.push(format!(
            "{}行目: 「{}」は登録されていないため、退職の行を読み飛ばしました",
            e.row, e.name
        ));
        return;
    }
    let input = PersonInput {
        login: e.login.as_str().to_owned(),
        staff_no: e.staff_no.clone(),
        name: e.name.clone(),
        name_kana: e.name_kana.clone().unwrap_or_default(),
        unit_id: e.unit_id,
        employment: e.employment.code().to_owned(),
        email: e.email.clone().unwrap_or_default(),
        phone: e.phone.clone().unwrap_or_default(),
        status: PersonStatus::Active.code().to_owned(),
    };
    for (role, unit_id) in wanted_roles(e) {
        plan.role_starts.push(RoleStart {
            row: e.row,
            person_id: None,
            login: input.login.clone(),
            staff_no: input.staff_no.clone().unwrap_or_default(),
            name: input.name.clone(),
            role,
            role_label: role.label_ja(),
            unit_id,
            unit: scope.unit_label(unit_id),
        });
    }
    plan.new_persons.push(NewPerson {
        row: e.row,
        unit: scope.unit_label(e.unit_id),
        employment: e.employment.label_ja(),
        input,
    });
}

fn plan_existing(
    scope: &Scope<'_>,
    reachable: &HashSet<i64>,
    plan: &mut RosterPlan,
    e: &Entry,
    p: &Person,
    current: &[&Assignment],
) {
    let status = match e.status {
        Some(s) => s.code().to_owned(),
        None => p.status.clone(),
    };
    let input = PersonInput {
        login: e.login.as_str().to_owned(),
        staff_no: e.staff_no.clone().or_else(|| p.staff_no.clone()),
        name: e.name.clone(),
        name_kana: e.name_kana.clone().unwrap_or_else(|| p.name_kana.clone()),
        unit_id: e.unit_id,
        employment: e.employment.code().to_owned(),
        email: e.email.clone().unwrap_or_else(|| p.email.clone()),
        phone: e.phone.clone().unwrap_or_else(|| p.phone.clone()),
        status,
    };
    let changes = field_changes(scope, p, &input);
    let retiring =
        input.status == PersonStatus::Retired.code() && p.status != PersonStatus::Retired.code();
    let mut touched = !changes.is_empty();
    let row = e.row;
    let end = |plan: &mut RosterPlan, a: &Assignment, reason: &'static str| {
        if reachable.contains(&a.unit_id) {
            plan.role_ends.push(RoleEnd {
                row,
                assignment_id: a.id,
                person_id: p.id,
                staff_no: input.staff_no.clone().unwrap_or_default(),
                name: input.name.clone(),
                role: a.role.clone(),
                role_label: role_label(&a.role),
                unit_id: a.unit_id,
                unit: scope.unit_label(a.unit_id),
                valid_from: a.valid_from.clone(),
                reason,
            });
        } else {
            plan.warnings.push(format!(
                "{row}行目: 「{}」の役割「{}」（{}）は権限の範囲外のため終了しません",
                input.name,
                role_label(&a.role),
                scope.unit_label(a.unit_id)
            ));
        }
    };
    if retiring {
        for a in current {
            end(plan, a, "退職");
        }
        if e.roles.as_ref().is_some_and(|r| !r.is_empty()) {
            plan.warnings.push(format!(
                "{row}行目: 「{}」は退職のため、役割の列は反映しません",
                input.name
            ));
        }
    } else if input.status == PersonStatus::Active.code() {
        let wanted = wanted_roles(e);
        for a in current {
            // Without a 役割 column only 職員 is managed: it follows the person's unit.
            let managed = e.roles.is_some() || a.role == Role::Staff.code();
            let listed = wanted
                .iter()
                .any(|(r, u)| r.code() == a.role && *u == a.unit_id);
            if managed && !listed {
                let reason = if a.role == Role::Staff.code() {
                    "所属の変更"
                } else {
                    "名簿に記載なし"
                };
                end(plan, a, reason);
                touched = true;
            }
        }
        for (role, unit_id) in wanted {
            let held = current
                .iter()
                .any(|a| a.role == role.code() && a.unit_id == unit_id);
            if !held {
                plan.role_starts.push(RoleStart {
                    row,
                    person_id: Some(p.id),
                    login: input.login.clone(),
                    staff_no: input.staff_no.clone().unwrap_or_default(),
                    name: input.name.clone(),
                    role,
                    role_label: role.label_ja(),
                    unit_id,
                    unit: scope.unit_label(unit_id),
                });
                touched = true;
            }
        }
    }
    let update = PersonUpdate {
        row,
        person_id: p.id,
        staff_no: input.staff_no.clone().unwrap_or_default(),
        name: input.name.clone(),
        login: input.login.clone(),
        changes,
        input,
    };
    if retiring {
        plan.retirements.push(update);
    } else if !update.changes.is_empty() {
        plan.updates.push(update);
    } else if !touched {
        plan.unchanged += 1;
    }
}

/// The roles a person in the file should hold: 職員 in their own unit, as every person does
/// (the demo, `mamori user add` and the roster agree on this), then the roles listed.
fn wanted_roles(e: &Entry) -> Vec<(Role, i64)> {
    let mut wanted = vec![(Role::Staff, e.unit_id)];
    for r in e.roles.as_deref().unwrap_or_default() {
        if !wanted.contains(r) {
            wanted.push(*r);
        }
    }
    wanted
}

fn field_changes(scope: &Scope<'_>, p: &Person, after: &PersonInput) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push = |field, label, before: String, after: String| {
        if before != after {
            out.push(FieldChange {
                field,
                label,
                before,
                after,
            });
        }
    };
    push(
        "staff_no",
        "職員番号",
        p.staff_no.clone().unwrap_or_default(),
        after.staff_no.clone().unwrap_or_default(),
    );
    push("name", "氏名", p.name.clone(), after.name.clone());
    push(
        "name_kana",
        "ふりがな",
        p.name_kana.clone(),
        after.name_kana.clone(),
    );
    push("login", "ログインID", p.login.clone(), after.login.clone());
    if p.unit_id != after.unit_id {
        push(
            "unit",
            "所属",
            scope.unit_label(p.unit_id),
            scope.unit_label(after.unit_id),
        );
    }
    push(
        "employment",
        "雇用形態",
        employment_label(&p.employment),
        employment_label(&after.employment),
    );
    push(
        "email",
        "メールアドレス",
        p.email.clone(),
        after.email.clone(),
    );
    push("phone", "電話番号", p.phone.clone(), after.phone.clone());
    push(
        "status",
        "在職状況",
        status_label(&p.status),
        status_label(&after.status),
    );
    out
}

fn employment_label(code: &str) -> String {
    EmploymentType::ALL
        .into_iter()
        .find(|t| t.code() == code)
        .map_or_else(|| code.to_owned(), |t| t.label_ja().to_owned())
}

fn status_label(code: &str) -> String {
    match code.parse::<PersonStatus>() {
        Ok(s) => s.label_ja().to_owned(),
        Err(_) => code.to_owned(),
    }
}

fn role_label(code: &str) -> String {
    match code.parse::<Role>() {
        Ok(r) => r.label_ja().to_owned(),
        Err(_) => code.to_owned(),
    }
}

/// Reads one row's cells into an [`Entry`], reporting every wrong cell.
fn parse_row(
    scope: &Scope<'_>,
    reachable: &HashSet<i64>,
    problems: &mut Problems<'_>,
    row: &Row,
) -> Option<Entry> {
    let before = problems.errors.errors.len();
    let optional = |key: &str| row.get(key).map(text::normalize);

    let staff_no = text::normalize(row.text("staff_no"));
    if staff_no.chars().count() > MAX_STAFF_NO_CHARS || staff_no.chars().any(char::is_control) {
        problems.cell(
            row,
            "staff_no",
            format!("職員番号は{MAX_STAFF_NO_CHARS}文字以内で入力してください"),
        );
    }

    let name = text::normalize(row.text("name"));
    if name.is_empty() {
        problems.cell(row, "name", "氏名が入力されていません");
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.cell(
            row,
            "name",
            format!("氏名は{MAX_NAME_CHARS}文字以内で入力してください"),
        );
    }

    let name_kana = optional("name_kana");
    if name_kana
        .as_ref()
        .is_some_and(|k| k.chars().count() > MAX_NAME_CHARS)
    {
        problems.cell(
            row,
            "name_kana",
            format!("ふりがなは{MAX_NAME_CHARS}文字以内で入力してください"),
        );
    }

    let login = match row.text("login").trim() {
        "" => {
            problems.cell(row, "login", "ログインIDが入力されていません");
            None
        }
        v => match Login::parse(v) {
            Ok(l) => Some(l),
            Err(_) => {
                problems.cell(
                    row,
                    "login",
                    "ログインIDは半角英小文字・数字と . _ - で3〜64文字にしてください",
                );
                None
            }
        },
    };

    let unit_id = unit_of(scope, reachable, row.text("unit")).map_err(|reason| {
        problems.cell(row, "unit", reason);
    });

    let employment = match row.text("employment").trim() {
        "" => {
            problems.cell(row, "employment", "雇用形態が入力されていません");
            None
        }
        v => match v.parse::<EmploymentType>() {
            Ok(t) => Some(t),
            Err(_) => {
                problems.cell(
                    row,
                    "employment",
                    "雇用形態は正規職員・会計年度任用職員・臨時職員・再任用職員・委託先のいずれかにしてください",
                );
                None
            }
        },
    };

    let email = optional("email");
    if let Some(m) = &email
        && !m.is_empty()
        && (!m.contains('@') || m.len() > MAX_EMAIL_BYTES || m.chars().any(char::is_whitespace))
    {
        problems.cell(row, "email", "メールアドレスの形式が正しくありません");
    }

    let phone = optional("phone");
    if phone
        .as_ref()
        .is_some_and(|p| p.chars().count() > MAX_PHONE_CHARS)
    {
        problems.cell(
            row,
            "phone",
            format!("電話番号は{MAX_PHONE_CHARS}文字以内で入力してください"),
        );
    }

    let status = match row.get("status") {
        None => None,
        Some(v) => match v.parse::<PersonStatus>() {
            Ok(s) => Some(s),
            Err(_) => {
                problems.cell(
                    row,
                    "status",
                    "在職状況は「在職」か「退職」にしてください（空欄は在職）",
                );
                None
            }
        },
    };

    let roles = row.get("roles").map(|cell| {
        let own = unit_id.ok();
        let mut roles: Vec<(Role, i64)> = Vec::new();
        for item in split_roles(cell) {
            match parse_role(scope, reachable, item, own) {
                Ok(Some(r)) => {
                    if !roles.contains(&r) {
                        roles.push(r);
                    }
                }
                // The row's own unit is wrong and already reported on its own cell.
                Ok(None) => {}
                Err(reason) => problems.cell(row, "roles", reason),
            }
        }
        roles
    });

    if problems.errors.len() > before || problems.errors.truncated {
        return None;
    }
    Some(Entry {
        row: row.number,
        staff_no: (!staff_no.is_empty()).then_some(staff_no),
        name,
        name_kana,
        login: login?,
        unit_id: unit_id.ok()?,
        employment: employment?,
        email,
        phone,
        status,
        roles,
    })
}

/// A unit code as written, resolved to a unit that exists, is in use and lies within reach.
fn unit_of(scope: &Scope<'_>, reachable: &HashSet<i64>, written: &str) -> Result<i64, String> {
    let written = written.trim();
    if written.is_empty() {
        return Err("所属コードが入力されていません".to_owned());
    }
    let code = UnitCode::parse(written)
        .map_err(|_| format!("組織コード「{written}」の形式が正しくありません"))?;
    let unit = scope
        .tree
        .by_code(code.as_str())
        .ok_or_else(|| format!("組織コード「{code}」の組織はありません"))?;
    if unit.active != 1 {
        return Err(format!("組織コード「{code}」の組織は廃止されています"));
    }
    if !reachable.contains(&unit.id) {
        return Err(format!(
            "組織コード「{code}」（{}）は名簿取込みの権限の範囲外です",
            scope.tree.full_name(unit.id)
        ));
    }
    Ok(unit.id)
}

/// Splits a 役割 cell at `;` `；` `、` `,` `，` and line breaks (Alt+Enter in Excel).
fn split_roles(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([';', '；', '、', ',', '，', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// One `役割` or `役割@組織コード`; without a code the role is held in the person's own unit
/// (`None` when that unit is itself wrong).
fn parse_role(
    scope: &Scope<'_>,
    reachable: &HashSet<i64>,
    item: &str,
    own_unit: Option<i64>,
) -> Result<Option<(Role, i64)>, String> {
    let (role_text, unit_text) = match item.split_once(['@', '＠']) {
        Some((r, u)) => (r.trim(), Some(u)),
        None => (item, None),
    };
    let role: Role = role_text.parse().map_err(|_| {
        format!("役割「{role_text}」は認識できません（役割の一覧の名前で書いてください）")
    })?;
    if !scope.grantable.contains(&role) {
        return Err(format!(
            "役割「{}」を割り当てる権限がありません",
            role.label_ja()
        ));
    }
    match unit_text {
        Some(u) => unit_of(scope, reachable, u)
            .map(|unit| Some((role, unit)))
            .map_err(|e| format!("役割「{item}」: {e}")),
        None => Ok(own_unit.map(|unit| (role, unit))),
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests;
