//! 情報資産管理台帳: the information-asset register of one organisation (基本方針 §4(2), §6(2)).
//!
//! Assets are never deleted: disposal archives them read-only. Every change appends to the audit
//! trail in the same transaction, so an asset's history is its audit entries. The handling rules
//! of [`mamori_core::asset`] are evaluated here, where the facts they need (held assets, the
//! 管理者's roles, take-out permissions) are in reach: errors block a save, and every asset's
//! findings are stored so lists can filter on them. Findings that depend on the date (overdue
//! reviews) are computed from 最終確認日 when listing; findings that depend on role assignments
//! are recomputed for the whole organisation whenever its generation counter or the date has
//! moved since the last check ([`ensure_checked`]).

pub mod draft;
pub mod io;
mod rows;

use std::collections::{HashMap, HashSet};

use mamori_core::asset::{
    self, AssetKind, Classes, Confidentiality, Effective, Facts, Finding, Grade, HeldAsset, Medium,
    PersonalData, Restrictions, Scheme, Severity,
};
use mamori_core::calendar::format_iso;
use mamori_core::org::OrgId;
use mamori_core::permission::{Capability, Permission, Reach, can};
use mamori_core::role::Role;
use mamori_core::zone::Zone;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::AnyConnection;
use time::Date;

use crate::audit::{self, NewEntry, escape_like};
use crate::json_rows::{Col, JsonRows};
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, DbResult, now_text, unique_violation};

/// Longest 資産番号.
pub const MAX_ASSET_NO_CHARS: usize = 40;
/// Longest 名称 or 業務名.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest free-text field (備考, 保存場所 …).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Largest disposal certificate accepted.
pub const MAX_CERTIFICATE_BYTES: usize = 5 * 1024 * 1024;

/// A stored asset, as read for lists and pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Asset {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// 資産番号 (unique in the organisation).
    pub asset_no: String,
    /// 名称.
    pub name: String,
    /// 業務名.
    pub business: String,
    /// Kind code ([`AssetKind::code`]).
    pub kind: String,
    /// 所管課.
    pub unit_id: i64,
    /// 管理者.
    pub manager_id: Option<i64>,
    /// 管理者の氏名.
    pub manager_name: Option<String>,
    /// 媒体 code.
    pub medium: String,
    /// 保存場所.
    pub location: String,
    /// Whether the storage place locks (0/1).
    pub lockable: i64,
    /// ネットワーク区分 code.
    pub zone: Option<String>,
    /// 機密性 code (`3A` … `1`).
    pub confidentiality: String,
    /// 完全性 (1/2).
    pub integrity: i64,
    /// 可用性 (1/2).
    pub availability: i64,
    /// 個人情報の有無 (0/1).
    pub personal: i64,
    /// 個人情報の件数.
    pub personal_count: Option<i64>,
    /// 要配慮個人情報 (0/1).
    pub sensitive: i64,
    /// 特定個人情報 (0/1).
    pub my_number: i64,
    /// 利用者範囲.
    pub users_scope: String,
    /// 取扱制限 codes, comma separated.
    pub restrictions: String,
    /// 保存期間.
    pub retention: String,
    /// バックアップ.
    pub backup: String,
    /// 委託先・クラウド.
    pub contractor: String,
    /// 例外措置の承認番号.
    pub exception_ref: String,
    /// 最終確認日 (YYYY-MM-DD).
    pub last_reviewed: Option<String>,
    /// 備考.
    pub note: String,
    /// After a scheme switch: the candidate levels to choose from (`3B,3C,2`), empty when none.
    pub triage: String,
    /// Stored findings (rule ids, `,A001,A005,`), without the date-dependent review rule.
    pub findings: String,
    /// `active` or `disposed`.
    pub status: String,
    /// 廃棄日.
    pub disposed_on: Option<String>,
    /// 廃棄した職員.
    pub disposed_by: Option<i64>,
    /// 廃棄方法.
    pub disposal_method: String,
    /// Edit counter, for refusing a save made from a stale page.
    pub version: i64,
    /// Created (UTC).
    pub created_at: String,
    /// Last changed (UTC).
    pub updated_at: String,
}

/// The columns of [`Asset`], for SELECTs from `asset a`.
pub const ASSET_COLUMNS: &str = "a.id, a.org_id, a.asset_no, a.name, a.business, a.kind, a.unit_id, a.manager_id, \
     p.name AS manager_name, a.medium, a.location, a.lockable, a.zone, a.confidentiality, a.integrity, \
     a.availability, a.personal, a.personal_count, a.sensitive, a.my_number, a.users_scope, \
     a.restrictions, a.retention, a.backup, a.contractor, a.exception_ref, a.last_reviewed, a.note, \
     a.triage, a.findings, a.status, a.disposed_on, a.disposed_by, a.disposal_method, a.version, \
     a.created_at, a.updated_at";

/// The FROM clause matching [`ASSET_COLUMNS`]: the manager's name is joined within the
/// organisation only.
pub const ASSET_FROM: &str =
    "FROM asset a LEFT JOIN person p ON p.id = a.manager_id AND p.org_id = a.org_id";

impl Asset {
    /// Kind (None only for a hand-edited database).
    pub fn kind(&self) -> Option<AssetKind> {
        AssetKind::ALL.into_iter().find(|k| k.code() == self.kind)
    }

    /// 媒体.
    pub fn medium(&self) -> Option<Medium> {
        Medium::ALL.into_iter().find(|m| m.code() == self.medium)
    }

    /// ネットワーク区分.
    pub fn zone(&self) -> Option<Zone> {
        self.zone.as_deref().and_then(|z| z.parse().ok())
    }

    /// The asset's own classes.
    pub fn classes(&self) -> Option<Classes> {
        Some(Classes {
            confidentiality: Confidentiality::from_code(&self.confidentiality)?,
            integrity: Grade::from_number(self.integrity)?,
            availability: Grade::from_number(self.availability)?,
        })
    }

    /// Personal data.
    pub fn personal(&self) -> PersonalData {
        PersonalData {
            present: self.personal != 0,
            count: self.personal_count,
            sensitive: self.sensitive != 0,
            my_number: self.my_number != 0,
        }
    }

    /// 取扱制限.
    pub fn restrictions(&self) -> Restrictions {
        Restrictions::from_codes(&self.restrictions)
    }

    /// 最終確認日.
    pub fn last_reviewed(&self) -> Option<Date> {
        self.last_reviewed
            .as_deref()
            .and_then(|d| mamori_core::calendar::parse_date(d).ok())
    }

    /// Whether the asset was disposed of (read-only).
    pub fn is_disposed(&self) -> bool {
        self.status == "disposed"
    }

    /// The stored findings' rules, errors first.
    pub fn stored_rules(&self) -> Vec<&'static asset::Rule> {
        let mut v: Vec<&'static asset::Rule> = self
            .findings
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(asset::rule)
            .collect();
        v.sort_by_key(|r| std::cmp::Reverse(r.severity));
        v
    }

    /// Whether the review is overdue on `today`.
    pub fn is_overdue(&self, today: Date, interval_days: i64) -> bool {
        !self.is_disposed() && asset::is_overdue(self.last_reviewed(), today, interval_days)
    }

    /// The candidates to choose from after a scheme switch.
    pub fn triage_candidates(&self) -> Vec<Confidentiality> {
        self.triage
            .split(',')
            .filter_map(Confidentiality::from_code)
            .collect()
    }

    /// The editable fields as input (for an edit form, an export, a round trip).
    pub fn input(&self) -> Option<AssetInput> {
        Some(AssetInput {
            asset_no: self.asset_no.clone(),
            name: self.name.clone(),
            business: self.business.clone(),
            kind: self.kind()?,
            unit_id: self.unit_id,
            manager_id: self.manager_id,
            medium: self.medium()?,
            location: self.location.clone(),
            lockable: self.lockable != 0,
            zone: self.zone(),
            classes: self.classes()?,
            personal: self.personal(),
            users_scope: self.users_scope.clone(),
            restrictions: self.restrictions(),
            retention: self.retention.clone(),
            backup: self.backup.clone(),
            contractor: self.contractor.clone(),
            exception_ref: self.exception_ref.clone(),
            last_reviewed: self.last_reviewed(),
            note: self.note.clone(),
        })
    }
}

/// The editable fields of an asset, already typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetInput {
    /// 資産番号.
    pub asset_no: String,
    /// 名称.
    pub name: String,
    /// 業務名.
    pub business: String,
    /// Kind.
    pub kind: AssetKind,
    /// 所管課.
    pub unit_id: i64,
    /// 管理者.
    pub manager_id: Option<i64>,
    /// 媒体.
    pub medium: Medium,
    /// 保存場所.
    pub location: String,
    /// The storage place locks.
    pub lockable: bool,
    /// ネットワーク区分.
    pub zone: Option<Zone>,
    /// Classes.
    pub classes: Classes,
    /// Personal data.
    pub personal: PersonalData,
    /// 利用者範囲.
    pub users_scope: String,
    /// 取扱制限.
    pub restrictions: Restrictions,
    /// 保存期間.
    pub retention: String,
    /// バックアップ.
    pub backup: String,
    /// 委託先・クラウド.
    pub contractor: String,
    /// 例外措置の承認番号.
    pub exception_ref: String,
    /// 最終確認日.
    pub last_reviewed: Option<Date>,
    /// 備考.
    pub note: String,
}

/// [`AssetInput::audit_json`] as a typed record, its fields in the order JSON objects keep their
/// keys (sorted), so it serialises to the very same text without building a JSON tree first.
#[derive(Serialize)]
pub(crate) struct AuditFields<'a> {
    asset_no: &'a str,
    availability: i64,
    backup: &'a str,
    business: &'a str,
    confidentiality: &'static str,
    contractor: &'a str,
    exception_ref: &'a str,
    integrity: i64,
    kind: &'static str,
    last_reviewed: Option<String>,
    location: &'a str,
    lockable: bool,
    manager_id: Option<i64>,
    medium: &'static str,
    my_number: bool,
    name: &'a str,
    note: &'a str,
    personal: bool,
    personal_count: Option<i64>,
    restrictions: String,
    retention: &'a str,
    sensitive: bool,
    unit_id: i64,
    users_scope: &'a str,
    zone: Option<&'static str>,
}

impl AssetInput {
    /// The fields [`AssetInput::audit_json`] records, typed.
    pub(crate) fn audit_fields(&self) -> AuditFields<'_> {
        AuditFields {
            asset_no: &self.asset_no,
            availability: self.classes.availability.number(),
            backup: &self.backup,
            business: &self.business,
            confidentiality: self.classes.confidentiality.code(),
            contractor: &self.contractor,
            exception_ref: &self.exception_ref,
            integrity: self.classes.integrity.number(),
            kind: self.kind.code(),
            last_reviewed: self.last_reviewed.map(format_iso),
            location: &self.location,
            lockable: self.lockable,
            manager_id: self.manager_id,
            medium: self.medium.code(),
            my_number: self.personal.my_number,
            name: &self.name,
            note: &self.note,
            personal: self.personal.present,
            personal_count: self.personal.count,
            restrictions: self.restrictions.to_codes(),
            retention: &self.retention,
            sensitive: self.personal.sensitive,
            unit_id: self.unit_id,
            users_scope: &self.users_scope,
            zone: self.zone.map(Zone::code),
        }
    }

    /// The input as JSON for the audit trail.
    pub fn audit_json(&self) -> Value {
        json!({
            "asset_no": self.asset_no,
            "name": self.name,
            "business": self.business,
            "kind": self.kind.code(),
            "unit_id": self.unit_id,
            "manager_id": self.manager_id,
            "medium": self.medium.code(),
            "location": self.location,
            "lockable": self.lockable,
            "zone": self.zone.map(Zone::code),
            "confidentiality": self.classes.confidentiality.code(),
            "integrity": self.classes.integrity.number(),
            "availability": self.classes.availability.number(),
            "personal": self.personal.present,
            "personal_count": self.personal.count,
            "sensitive": self.personal.sensitive,
            "my_number": self.personal.my_number,
            "users_scope": self.users_scope,
            "restrictions": self.restrictions.to_codes(),
            "retention": self.retention,
            "backup": self.backup,
            "contractor": self.contractor,
            "exception_ref": self.exception_ref,
            "last_reviewed": self.last_reviewed.map(format_iso),
            "note": self.note,
        })
    }
}

/// A field that fails validation: (field key, Japanese reason).
pub type FieldProblem = (&'static str, String);

/// Why an asset change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// Fields are missing or wrong.
    #[error("入力内容に誤りがあります")]
    Invalid(Vec<FieldProblem>),
    /// The change would break handling rules of severity error.
    #[error("取扱いルールに違反するため保存できません")]
    Rules(Vec<Finding>),
    /// Someone else saved the asset after the page was opened.
    #[error(
        "この情報資産は他の利用者によって更新されています。画面を開き直してから編集してください"
    )]
    Stale,
    /// The asset was disposed of: it is read-only.
    #[error("廃棄済みの情報資産は変更できません")]
    Disposed,
    /// The database failed (or the asset does not exist).
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AssetError {
    fn from(e: sqlx::Error) -> Self {
        AssetError::Db(DbError::Sqlx(e))
    }
}

/// Register settings of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// The classification scheme.
    pub scheme: Scheme,
    /// 確認間隔 (days since 最終確認日 before a review is overdue).
    pub review_interval_days: i64,
}

/// The organisation's register settings.
pub async fn settings(db: &Db, org: OrgId) -> DbResult<Settings> {
    let mut conn = db.pool().acquire().await?;
    settings_in(&mut conn, org.0).await
}

async fn settings_in(conn: &mut AnyConnection, org: i64) -> DbResult<Settings> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT classification_scheme, asset_review_days FROM organisation WHERE id = $1",
    )
    .bind(org)
    .fetch_optional(&mut *conn)
    .await?;
    let (scheme, days) = row.ok_or(DbError::NotFound)?;
    Ok(Settings {
        scheme: Scheme::from_code(&scheme).ok_or_else(|| DbError::Corrupt {
            table: "organisation",
            column: "classification_scheme",
            detail: scheme.clone(),
        })?,
        review_interval_days: days,
    })
}

/// Checks an input against the organisation: lengths, the scheme, the unit and the manager.
/// Returns every problem at once.
pub async fn validate(
    conn: &mut AnyConnection,
    org: i64,
    tree: &UnitTree,
    scheme: Scheme,
    input: &AssetInput,
) -> DbResult<Vec<FieldProblem>> {
    let manager_status: Option<String> = match input.manager_id {
        Some(manager) => {
            sqlx::query_scalar("SELECT status FROM person WHERE id = $1 AND org_id = $2")
                .bind(manager)
                .bind(org)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    let mut problems = check_input(org, tree, scheme, input, manager_status.as_deref());
    // A 例外措置 reference counts as approval only when it names an exception of this
    // organisation in force today.
    if !input.exception_ref.trim().is_empty()
        && let Err(message) = crate::exceptions::check_ref(
            conn,
            org,
            &input.exception_ref,
            mamori_core::calendar::today_jst(),
        )
        .await?
    {
        problems.push(("exception_ref", message));
    }
    Ok(problems)
}

/// [`validate`] without the database: `manager_status` is the 管理者's status when the
/// manager is set and found in the organisation (an import looks every manager up at once).
fn check_input(
    org: i64,
    tree: &UnitTree,
    scheme: Scheme,
    input: &AssetInput,
    manager_status: Option<&str>,
) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let chars = |s: &str| s.chars().count();
    if input.asset_no.trim().is_empty() {
        problems.push(("asset_no", "資産番号を入力してください".to_owned()));
    } else if chars(&input.asset_no) > MAX_ASSET_NO_CHARS {
        problems.push((
            "asset_no",
            format!("資産番号は{MAX_ASSET_NO_CHARS}文字以内にしてください"),
        ));
    } else if input.asset_no.chars().any(|c| c.is_control() || c == ',') {
        problems.push((
            "asset_no",
            "資産番号に制御文字やカンマは使えません".to_owned(),
        ));
    }
    if input.name.trim().is_empty() {
        problems.push(("name", "名称を入力してください".to_owned()));
    }
    for (key, label, value, max) in [
        ("name", "名称", &input.name, MAX_NAME_CHARS),
        ("business", "業務名", &input.business, MAX_NAME_CHARS),
        ("location", "保存場所", &input.location, MAX_TEXT_CHARS),
        (
            "users_scope",
            "利用者範囲",
            &input.users_scope,
            MAX_TEXT_CHARS,
        ),
        ("retention", "保存期間", &input.retention, MAX_NAME_CHARS),
        ("backup", "バックアップ", &input.backup, MAX_TEXT_CHARS),
        (
            "contractor",
            "委託先・クラウド",
            &input.contractor,
            MAX_TEXT_CHARS,
        ),
        (
            "exception_ref",
            "例外措置",
            &input.exception_ref,
            MAX_NAME_CHARS,
        ),
        ("note", "備考", &input.note, MAX_TEXT_CHARS),
    ] {
        if chars(value) > max {
            problems.push((key, format!("{label}は{max}文字以内にしてください")));
        }
    }
    if !input.classes.confidentiality.in_scheme(scheme) {
        problems.push((
            "confidentiality",
            format!(
                "{}はこの団体の分類（{}）にない区分です",
                input.classes.confidentiality.label_ja(),
                scheme.label_ja()
            ),
        ));
    }
    if input.personal.count.is_some_and(|c| c < 0) {
        problems.push((
            "personal_count",
            "個人情報の件数は0以上の数で入力してください".to_owned(),
        ));
    }
    match tree.get(input.unit_id) {
        Some(u) if u.org_id == org && u.active != 0 => {}
        Some(u) if u.org_id == org => {
            problems.push(("unit_id", format!("所管課「{}」は廃止されています", u.name)))
        }
        _ => problems.push(("unit_id", "所管課が見つかりません".to_owned())),
    }
    if input.manager_id.is_some() {
        match manager_status {
            Some("active") => {}
            Some(_) => problems.push(("manager_id", "管理者に退職者は指定できません".to_owned())),
            None => problems.push(("manager_id", "管理者が見つかりません".to_owned())),
        }
    }
    if let Some(d) = input.last_reviewed
        && d > mamori_core::calendar::today_jst()
    {
        problems.push((
            "last_reviewed",
            "最終確認日に未来の日付は指定できません".to_owned(),
        ));
    }
    problems
}

fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

/// Requires the capability to reach `unit`.
fn check_reach<P: Permission>(cap: &Capability<P>, tree: &UnitTree, unit: i64) -> DbResult<()> {
    if cap.covers(&tree.path(unit)) {
        Ok(())
    } else {
        Err(DbError::NotFound)
    }
}

/// Creates an asset; returns its id. Refused whole on invalid fields or rule errors.
pub async fn create(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    input: &AssetInput,
) -> Result<i64, AssetError> {
    let org = cap.org().0;
    check_reach(cap, tree, input.unit_id)?;
    let settings = settings_in(conn, org).await?;
    let problems = validate(conn, org, tree, settings.scheme, input).await?;
    if !problems.is_empty() {
        return Err(AssetError::Invalid(problems));
    }
    let now = now_text();
    let sql = format!(
        "INSERT INTO asset (org_id, {INPUT_COLUMNS}, created_at, updated_at) VALUES ($1, $2, $3, $4, \
         $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, \
         $25, $26, $27, $27) RETURNING id"
    );
    let id: i64 = bind_input!(
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(org),
        input
    )
    .bind(&now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| unique_violation(e, format!("資産番号 {}", input.asset_no)))?;
    set_holdings_in(conn, org, id, input.kind, None).await?;
    let findings = refresh(conn, org, Some(&[id])).await?;
    blocking(&findings, id)?;
    let mut entry = ctx.entry("asset.create", "asset", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(input.unit_id);
    entry.after = Some(input.audit_json());
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Binds an input's fields in the column order of [`INPUT_COLUMNS`] (asset_no … note) to any
/// sqlx query; a macro so that the single-row statements here and the batched ones of the
/// import share one list.
macro_rules! bind_input {
    ($q:expr, $input:expr) => {{
        let input: &AssetInput = $input;
        $q.bind(&input.asset_no)
            .bind(&input.name)
            .bind(&input.business)
            .bind(input.kind.code())
            .bind(input.unit_id)
            .bind(input.manager_id)
            .bind(input.medium.code())
            .bind(&input.location)
            .bind(bool_int(input.lockable))
            .bind(input.zone.map(Zone::code))
            .bind(input.classes.confidentiality.code())
            .bind(input.classes.integrity.number())
            .bind(input.classes.availability.number())
            .bind(bool_int(input.personal.present))
            .bind(input.personal.count)
            .bind(bool_int(input.personal.sensitive))
            .bind(bool_int(input.personal.my_number))
            .bind(&input.users_scope)
            .bind(input.restrictions.to_codes())
            .bind(&input.retention)
            .bind(&input.backup)
            .bind(&input.contractor)
            .bind(&input.exception_ref)
            .bind(input.last_reviewed.map(format_iso))
            .bind(&input.note)
    }};
}
pub(crate) use bind_input;

/// The columns [`bind_input!`] binds, in its order.
const INPUT_COLUMNS: &str = "asset_no, name, business, kind, unit_id, manager_id, medium, location, \
     lockable, zone, confidentiality, integrity, availability, personal, personal_count, sensitive, \
     my_number, users_scope, restrictions, retention, backup, contractor, exception_ref, \
     last_reviewed, note";

/// How many values [`bind_input!`] binds.
const INPUT_FIELDS: usize = 25;

/// The column types of [`INPUT_COLUMNS`], in its order (for PostgreSQL's bulk insert).
const INPUT_TYPES: [Col; INPUT_FIELDS] = [
    Col::Text, // asset_no
    Col::Text, // name
    Col::Text, // business
    Col::Text, // kind
    Col::Int,  // unit_id
    Col::Int,  // manager_id
    Col::Text, // medium
    Col::Text, // location
    Col::Int,  // lockable
    Col::Text, // zone
    Col::Text, // confidentiality
    Col::Int,  // integrity
    Col::Int,  // availability
    Col::Int,  // personal
    Col::Int,  // personal_count
    Col::Int,  // sensitive
    Col::Int,  // my_number
    Col::Text, // users_scope
    Col::Text, // restrictions
    Col::Text, // retention
    Col::Text, // backup
    Col::Text, // contractor
    Col::Text, // exception_ref
    Col::Text, // last_reviewed
    Col::Text, // note
];

/// [`INPUT_COLUMNS`] with their types.
fn input_columns() -> Vec<(&'static str, Col)> {
    INPUT_COLUMNS
        .split(", ")
        .map(str::trim)
        .zip(INPUT_TYPES)
        .collect()
}

/// [`bind_input!`] for PostgreSQL's one-parameter bulk insert: the same values in the same
/// order, written into the open row of `rows`.
fn json_input(rows: &mut JsonRows, input: &AssetInput) {
    rows.text(&input.asset_no)
        .text(&input.name)
        .text(&input.business)
        .text(input.kind.code())
        .int(input.unit_id)
        .opt_int(input.manager_id)
        .text(input.medium.code())
        .text(&input.location)
        .int(bool_int(input.lockable))
        .opt_text(input.zone.map(Zone::code))
        .text(input.classes.confidentiality.code())
        .int(input.classes.integrity.number())
        .int(input.classes.availability.number())
        .int(bool_int(input.personal.present))
        .opt_int(input.personal.count)
        .int(bool_int(input.personal.sensitive))
        .int(bool_int(input.personal.my_number))
        .text(&input.users_scope)
        .text(&input.restrictions.to_codes())
        .text(&input.retention)
        .text(&input.backup)
        .text(&input.contractor)
        .text(&input.exception_ref)
        .opt_text(input.last_reviewed.map(format_iso).as_deref())
        .text(&input.note);
}

/// Writes edited fields over an asset at `version` (settling a pending re-triage when asked);
/// `None` when the asset is no longer at that version.
async fn write_update(
    conn: &mut AnyConnection,
    org: i64,
    id: i64,
    version: i64,
    input: &AssetInput,
    triage_settled: bool,
) -> Result<Option<i64>, AssetError> {
    let q = sqlx::query_scalar(
        "UPDATE asset SET asset_no = $2, name = $3, business = $4, kind = $5, unit_id = $6, \
         manager_id = $7, medium = $8, location = $9, lockable = $10, zone = $11, confidentiality = $12, \
         integrity = $13, availability = $14, personal = $15, personal_count = $16, sensitive = $17, \
         my_number = $18, users_scope = $19, restrictions = $20, retention = $21, backup = $22, \
         contractor = $23, exception_ref = $24, last_reviewed = $25, note = $26, updated_at = $27, \
         triage = CASE WHEN $28 = 1 THEN '' ELSE triage END, version = version + 1 \
         WHERE id = $1 AND org_id = $29 AND version = $30 RETURNING id",
    )
    .bind(id);
    Ok(bind_input!(q, input)
        .bind(now_text())
        .bind(bool_int(triage_settled))
        .bind(org)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| unique_violation(e, format!("資産番号 {}", input.asset_no)))?)
}

fn blocking(findings: &HashMap<i64, Vec<Finding>>, id: i64) -> Result<(), AssetError> {
    let errors: Vec<Finding> = findings
        .get(&id)
        .map(|f| {
            f.iter()
                .filter(|x| x.rule.severity == Severity::Error)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AssetError::Rules(errors))
    }
}

/// Reads one asset within the capability's reach (`NotFound` otherwise).
pub async fn get<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    id: i64,
) -> DbResult<Asset> {
    let mut conn = db.pool().acquire().await?;
    get_in(&mut conn, cap, tree, id).await
}

/// [`get`] on a connection (inside a transaction).
pub async fn get_in<P: Permission>(
    conn: &mut AnyConnection,
    cap: &Capability<P>,
    tree: &UnitTree,
    id: i64,
) -> DbResult<Asset> {
    let sql = format!("SELECT {ASSET_COLUMNS} {ASSET_FROM} WHERE a.id = $1 AND a.org_id = $2");
    let asset: Asset = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(cap.org().0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)?;
    check_reach(cap, tree, asset.unit_id)?;
    Ok(asset)
}

/// Reads one asset by 資産番号 within reach.
pub async fn by_number<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    asset_no: &str,
) -> DbResult<Asset> {
    let sql =
        format!("SELECT {ASSET_COLUMNS} {ASSET_FROM} WHERE a.asset_no = $1 AND a.org_id = $2");
    let asset: Asset = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(asset_no)
        .bind(cap.org().0)
        .fetch_optional(db.pool())
        .await?
        .ok_or(DbError::NotFound)?;
    check_reach(cap, tree, asset.unit_id)?;
    Ok(asset)
}

/// Saves edited fields. `expected_version` is the version the editor started from.
pub async fn update(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    expected_version: Option<i64>,
    input: &AssetInput,
) -> Result<(), AssetError> {
    let org = cap.org().0;
    let before = get_in(conn, cap, tree, id).await?;
    if before.is_disposed() {
        return Err(AssetError::Disposed);
    }
    if expected_version.is_some_and(|v| v != before.version) {
        return Err(AssetError::Stale);
    }
    check_reach(cap, tree, input.unit_id)?;
    let settings = settings_in(conn, org).await?;
    let problems = validate(conn, org, tree, settings.scheme, input).await?;
    if !problems.is_empty() {
        return Err(AssetError::Invalid(problems));
    }
    // Saving a level chosen under the current scheme settles any pending re-triage.
    let triage_settled =
        before.confidentiality != input.classes.confidentiality.code() || !before.triage.is_empty();
    let n = write_update(conn, org, id, before.version, input, triage_settled).await?;
    let _: i64 = n.ok_or(AssetError::Stale)?;
    let kind_changed = before.kind != input.kind.code();
    if kind_changed {
        set_holdings_in(conn, org, id, input.kind, None).await?;
    }
    let affected = with_holders(conn, org, &[id]).await?;
    let findings = refresh(conn, org, Some(&affected)).await?;
    blocking(&findings, id)?;
    let mut entry = ctx.entry("asset.update", "asset", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(input.unit_id);
    entry.before = before.input().map(|i| i.audit_json());
    entry.after = Some(input.audit_json());
    audit::append(conn, entry).await?;
    Ok(())
}

/// Records a review (「確認した」): stamps 最終確認日 with `day`.
pub async fn review(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    day: Date,
) -> Result<(), AssetError> {
    let before = get_in(conn, cap, tree, id).await?;
    if before.is_disposed() {
        return Err(AssetError::Disposed);
    }
    sqlx::query(
        "UPDATE asset SET last_reviewed = $1, updated_at = $2, version = version + 1 \
         WHERE id = $3 AND org_id = $4",
    )
    .bind(format_iso(day))
    .bind(now_text())
    .bind(id)
    .bind(cap.org().0)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("asset.review", "asset", id);
    entry.org_id = Some(cap.org().0);
    entry.unit_id = Some(before.unit_id);
    entry.before = Some(json!({"last_reviewed": before.last_reviewed}));
    entry.after = Some(json!({"last_reviewed": format_iso(day)}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Confirms a level after a scheme switch (the re-triage list): sets 機密性 and clears the
/// pending candidates.
pub async fn settle_triage(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    level: Confidentiality,
) -> Result<(), AssetError> {
    let before = get_in(conn, cap, tree, id).await?;
    if before.is_disposed() {
        return Err(AssetError::Disposed);
    }
    let settings = settings_in(conn, cap.org().0).await?;
    if !level.in_scheme(settings.scheme) {
        return Err(AssetError::Invalid(vec![(
            "confidentiality",
            format!("{}はこの団体の分類にない区分です", level.label_ja()),
        )]));
    }
    sqlx::query(
        "UPDATE asset SET confidentiality = $1, triage = '', updated_at = $2, version = version + 1 \
         WHERE id = $3 AND org_id = $4",
    )
    .bind(level.code())
    .bind(now_text())
    .bind(id)
    .bind(cap.org().0)
    .execute(&mut *conn)
    .await?;
    let affected = with_holders(conn, cap.org().0, &[id]).await?;
    let findings = refresh(conn, cap.org().0, Some(&affected)).await?;
    blocking(&findings, id)?;
    let mut entry = ctx.entry("asset.triage", "asset", id);
    entry.org_id = Some(cap.org().0);
    entry.unit_id = Some(before.unit_id);
    entry.before =
        Some(json!({"confidentiality": before.confidentiality, "candidates": before.triage}));
    entry.after = Some(json!({"confidentiality": level.code()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Sets which assets `holder` holds (systems, media, equipment and networks hold information
/// and documents). Only holdable assets of the same organisation within reach are accepted.
pub async fn set_holdings(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    holder: i64,
    held: &[i64],
) -> Result<(), AssetError> {
    let org = cap.org().0;
    let before = get_in(conn, cap, tree, holder).await?;
    if before.is_disposed() {
        return Err(AssetError::Disposed);
    }
    let kind = before.kind().ok_or(DbError::NotFound)?;
    if !kind.is_holder() && !held.is_empty() {
        return Err(AssetError::Invalid(vec![(
            "held",
            format!(
                "{}は他の情報資産を保存する種別ではありません",
                kind.label_ja()
            ),
        )]));
    }
    let mut ids: Vec<i64> = held.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut problems = Vec::new();
    for h in &ids {
        let row: Option<(String, String, String)> = sqlx::query_as(
            "SELECT asset_no, kind, status FROM asset WHERE id = $1 AND org_id = $2",
        )
        .bind(h)
        .bind(org)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            None => problems.push(("held", format!("情報資産（ID {h}）が見つかりません"))),
            Some((no, kind, status)) => {
                let holdable = AssetKind::ALL
                    .into_iter()
                    .find(|k| k.code() == kind)
                    .is_some_and(AssetKind::is_holdable);
                if !holdable {
                    problems.push((
                        "held",
                        format!("{no} は情報・文書ではないため保存先に紐付けられません"),
                    ));
                } else if status == "disposed" {
                    problems.push(("held", format!("{no} は廃棄済みです")));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(AssetError::Invalid(problems));
    }
    let old = held_ids(conn, org, holder).await?;
    set_holdings_in(conn, org, holder, kind, Some(&ids)).await?;
    let findings = refresh(conn, org, Some(&[holder])).await?;
    blocking(&findings, holder)?;
    let mut entry = ctx.entry("asset.holdings", "asset", holder);
    entry.org_id = Some(org);
    entry.unit_id = Some(before.unit_id);
    entry.before = Some(json!({ "held": old }));
    entry.after = Some(json!({ "held": ids }));
    audit::append(conn, entry).await?;
    Ok(())
}

async fn held_ids(conn: &mut AnyConnection, org: i64, holder: i64) -> DbResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT held_id FROM asset_holding WHERE holder_id = $1 AND org_id = $2 ORDER BY held_id",
    )
    .bind(holder)
    .bind(org)
    .fetch_all(&mut *conn)
    .await?)
}

/// Replaces the holdings of `holder`; with `None`, only drops holdings the kind cannot have.
async fn set_holdings_in(
    conn: &mut AnyConnection,
    org: i64,
    holder: i64,
    kind: AssetKind,
    held: Option<&[i64]>,
) -> DbResult<()> {
    if !kind.is_holder() {
        sqlx::query("DELETE FROM asset_holding WHERE holder_id = $1 AND org_id = $2")
            .bind(holder)
            .bind(org)
            .execute(&mut *conn)
            .await?;
    }
    if !kind.is_holdable() {
        sqlx::query("DELETE FROM asset_holding WHERE held_id = $1 AND org_id = $2")
            .bind(holder)
            .bind(org)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(held) = held {
        sqlx::query("DELETE FROM asset_holding WHERE holder_id = $1 AND org_id = $2")
            .bind(holder)
            .bind(org)
            .execute(&mut *conn)
            .await?;
        for h in held {
            sqlx::query(
                "INSERT INTO asset_holding (org_id, holder_id, held_id) VALUES ($1, $2, $3)",
            )
            .bind(org)
            .bind(holder)
            .bind(h)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// `ids` and every asset holding one of them.
async fn with_holders(conn: &mut AnyConnection, org: i64, ids: &[i64]) -> DbResult<Vec<i64>> {
    let mut out: Vec<i64> = ids.to_vec();
    for id in ids {
        let holders: Vec<i64> = sqlx::query_scalar(
            "SELECT holder_id FROM asset_holding WHERE held_id = $1 AND org_id = $2",
        )
        .bind(id)
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
        out.extend(holders);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Assets an asset holds and is held by (for its page).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Relations {
    /// What it holds.
    pub holds: Vec<Asset>,
    /// What holds it.
    pub held_by: Vec<Asset>,
}

/// The relations of one asset (already read within reach). Related assets outside the
/// viewer's reach are still listed by number and name only through this call's caller.
pub async fn relations(db: &Db, org: OrgId, id: i64) -> DbResult<Relations> {
    let holds_sql = format!(
        "SELECT {ASSET_COLUMNS} {ASSET_FROM} JOIN asset_holding h ON h.held_id = a.id \
         WHERE h.holder_id = $1 AND h.org_id = $2 AND a.org_id = $2 ORDER BY a.asset_no"
    );
    let held_by_sql = format!(
        "SELECT {ASSET_COLUMNS} {ASSET_FROM} JOIN asset_holding h ON h.holder_id = a.id \
         WHERE h.held_id = $1 AND h.org_id = $2 AND a.org_id = $2 ORDER BY a.asset_no"
    );
    Ok(Relations {
        holds: sqlx::query_as(sqlx::AssertSqlSafe(holds_sql))
            .bind(id)
            .bind(org.0)
            .fetch_all(db.pool())
            .await?,
        held_by: sqlx::query_as(sqlx::AssertSqlSafe(held_by_sql))
            .bind(id)
            .bind(org.0)
            .fetch_all(db.pool())
            .await?,
    })
}

/// The effective classes of an asset (its own raised by what it holds) and its findings today,
/// for its page.
pub async fn assess(db: &Db, asset: &Asset) -> DbResult<(Effective, Vec<Finding>)> {
    let mut conn = db.pool().acquire().await?;
    let today = mamori_core::calendar::today_jst();
    let settings = settings_in(&mut conn, asset.org_id).await?;
    let ctx = RuleContext::load(&mut conn, asset.org_id, Some(&[asset.id]), today).await?;
    let (effective, mut findings) = ctx.evaluate(asset, today, settings.review_interval_days);
    if asset.is_disposed() {
        findings.clear();
    }
    Ok((effective, findings))
}

/// What the rules need besides the asset itself, loaded once for many assets.
struct RuleContext {
    held: HashMap<i64, Vec<HeldAsset>>,
    managers: HashSet<(i64, i64)>,
    permitted: HashSet<i64>,
    parents: HashMap<i64, Option<i64>>,
    /// 例外措置 references in force today: only these count as an exception (rule A002).
    exceptions: HashSet<String>,
}

impl RuleContext {
    async fn load(
        conn: &mut AnyConnection,
        org: i64,
        ids: Option<&[i64]>,
        today: Date,
    ) -> DbResult<RuleContext> {
        let held = held_of(conn, org, ids).await?;
        let day = format_iso(today);
        let managers: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT r.person_id, r.unit_id FROM role_assignment r JOIN person p ON p.id = r.person_id \
             WHERE r.org_id = $1 AND r.role = $2 AND r.valid_from <= $3 \
             AND (r.valid_to IS NULL OR r.valid_to >= $3) AND p.status = 'active'",
        )
        .bind(org)
        .bind(Role::SecurityManager.code())
        .bind(&day)
        .fetch_all(&mut *conn)
        .await?;
        let permitted: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT asset_id FROM asset_takeout WHERE org_id = $1 AND permitted_by IS NOT NULL",
        )
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
        let units: Vec<(i64, Option<i64>)> =
            sqlx::query_as("SELECT id, parent_id FROM unit WHERE org_id = $1")
                .bind(org)
                .fetch_all(&mut *conn)
                .await?;
        let exceptions = crate::exceptions::in_force_refs(conn, org, today).await?;
        Ok(RuleContext {
            held,
            managers: managers.into_iter().collect(),
            permitted: permitted.into_iter().collect(),
            parents: units.into_iter().collect(),
            exceptions,
        })
    }

    /// A short hash of what the rules read besides the assets, their holdings and take-outs
    /// (which change only with an asset, and refresh it): the 管理者 in force, the unit tree and
    /// the exceptions in force.
    fn fingerprint(&self) -> String {
        let mut managers: Vec<&(i64, i64)> = self.managers.iter().collect();
        managers.sort_unstable();
        let mut parents: Vec<(&i64, &Option<i64>)> = self.parents.iter().collect();
        parents.sort_unstable();
        let mut exceptions: Vec<&String> = self.exceptions.iter().collect();
        exceptions.sort_unstable();
        // Debug text quotes every string, so the three lists cannot run into each other.
        let text = format!("managers {managers:?}\nparents {parents:?}\nexceptions {exceptions:?}");
        let digest = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
        hex::encode(digest.get(..12).unwrap_or_default())
    }

    fn manager_ok(&self, manager: Option<i64>, unit: i64) -> bool {
        let Some(manager) = manager else {
            return false;
        };
        let mut cur = Some(unit);
        let mut steps = 0;
        while let Some(u) = cur {
            if self.managers.contains(&(manager, u)) {
                return true;
            }
            steps += 1;
            if steps > 64 {
                break;
            }
            cur = self.parents.get(&u).copied().flatten();
        }
        false
    }

    fn evaluate(&self, a: &Asset, today: Date, interval: i64) -> (Effective, Vec<Finding>) {
        let own = a.classes().unwrap_or(Classes {
            confidentiality: Confidentiality::C1,
            integrity: Grade::One,
            availability: Grade::One,
        });
        let held = self.held.get(&a.id).map(Vec::as_slice).unwrap_or(&[]);
        let effective = asset::effective(own, a.personal(), held);
        let facts = Facts {
            kind: a.kind().unwrap_or(AssetKind::InformationElectronic),
            medium: a.medium().unwrap_or(Medium::File),
            zone: a.zone(),
            own,
            own_personal: a.personal(),
            effective: effective.clone(),
            restrictions: a.restrictions(),
            lockable: a.lockable != 0,
            // An expired or revoked exception no longer stands in for one.
            exception_ref: if self.exceptions.contains(a.exception_ref.trim()) {
                a.exception_ref.clone()
            } else {
                String::new()
            },
            manager_ok: self.manager_ok(a.manager_id, a.unit_id),
            take_out_permitted: self.permitted.contains(&a.id),
            last_reviewed: a.last_reviewed(),
            today,
            review_interval_days: interval,
        };
        (effective, asset::evaluate(&facts))
    }
}

/// The columns of a held asset, for [`held_asset`].
const HELD_COLUMNS: &str = "a.id, a.asset_no, a.name, a.confidentiality, a.integrity, \
     a.availability, a.personal, a.personal_count, a.sensitive, a.my_number";

/// A row of [`HELD_COLUMNS`].
type HeldRow = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
);

fn held_asset((id, no, name, c, i, a, p, count, s, m): HeldRow) -> Option<HeldAsset> {
    Some(HeldAsset {
        id,
        asset_no: no,
        name,
        classes: Classes {
            confidentiality: Confidentiality::from_code(&c)?,
            integrity: Grade::from_number(i)?,
            availability: Grade::from_number(a)?,
        },
        personal: PersonalData {
            present: p != 0,
            count,
            sensitive: s != 0,
            my_number: m != 0,
        },
    })
}

/// What each of `holders` (every holder when `None`) holds, active assets only, in 資産番号
/// order. The pairs come first, then the held assets by id: a join filtered by a long `IN`
/// list on the holder makes SQLite scan every asset once per listed id.
async fn held_of(
    conn: &mut AnyConnection,
    org: i64,
    holders: Option<&[i64]>,
) -> DbResult<HashMap<i64, Vec<HeldAsset>>> {
    let pair_sql = "SELECT holder_id, held_id FROM asset_holding WHERE org_id = $1";
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    let filters: Vec<String> = match holders {
        None => vec![String::new()],
        Some(ids) => ids
            .chunks(1_000)
            .map(|chunk| format!(" AND holder_id IN ({})", id_list(chunk)))
            .collect(),
    };
    for filter in filters {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{pair_sql}{filter}")))
                .bind(org)
                .fetch_all(&mut *conn)
                .await?;
        pairs.extend(rows);
    }
    let mut held_ids: Vec<i64> = pairs.iter().map(|(_, h)| *h).collect();
    held_ids.sort_unstable();
    held_ids.dedup();
    let mut assets: HashMap<i64, HeldAsset> = HashMap::new();
    for chunk in held_ids.chunks(1_000) {
        let sql = format!(
            "SELECT {HELD_COLUMNS} FROM asset a WHERE a.org_id = $1 AND a.status = 'active' \
             AND a.id IN ({})",
            id_list(chunk)
        );
        let rows: Vec<HeldRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        assets.extend(rows.into_iter().filter_map(held_asset).map(|h| (h.id, h)));
    }
    let mut held: HashMap<i64, Vec<HeldAsset>> = HashMap::new();
    for (holder, id) in pairs {
        if let Some(h) = assets.get(&id) {
            held.entry(holder).or_default().push(h.clone());
        }
    }
    for list in held.values_mut() {
        list.sort_by(|a, b| a.asset_no.cmp(&b.asset_no));
    }
    Ok(held)
}

fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// The stored form of findings: the rules that do not depend on the date.
fn stored_form(findings: &[Finding]) -> String {
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f.rule.id)
        .filter(|id| *id != asset::A006.id)
        .collect();
    if ids.is_empty() {
        String::new()
    } else {
        format!(",{},", ids.join(","))
    }
}

/// Recomputes and stores the findings of `ids` (every active asset when `None`); returns the
/// findings of each asset evaluated (today's, the review rule included).
pub async fn refresh(
    conn: &mut AnyConnection,
    org: i64,
    ids: Option<&[i64]>,
) -> DbResult<HashMap<i64, Vec<Finding>>> {
    // Checked before anything is loaded: `IN ()` is an error on PostgreSQL.
    let filter = match ids {
        Some([]) => return Ok(HashMap::new()),
        Some(ids) => format!(" AND a.id IN ({})", id_list(ids)),
        None => String::new(),
    };
    let today = mamori_core::calendar::today_jst();
    let settings = settings_in(conn, org).await?;
    let ctx = RuleContext::load(conn, org, ids, today).await?;
    // Read in pages by id, so a whole register is never held in memory at once.
    const PAGE: usize = 5_000;
    let filter = format!(" WHERE a.org_id = $1 AND a.status = 'active'{filter}");
    let mut out = HashMap::new();
    // Few distinct findings exist, so changed assets are updated in groups sharing one value.
    let mut changed: HashMap<String, Vec<i64>> = HashMap::new();
    let mut pages = rows::Pages::new(org, &filter, &[], rows::Order::Id, PAGE);
    while let Some(page) = pages.next(conn).await? {
        for a in page {
            let (_, findings) = ctx.evaluate(&a, today, settings.review_interval_days);
            let stored = stored_form(&findings);
            if stored != a.findings {
                changed.entry(stored).or_default().push(a.id);
            }
            out.insert(a.id, findings);
        }
    }
    for (stored, ids) in changed {
        for chunk in ids.chunks(1_000) {
            let sql = format!(
                "UPDATE asset SET findings = $1 WHERE org_id = $2 AND id IN ({})",
                id_list(chunk)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&stored)
                .bind(org)
                .execute(&mut *conn)
                .await?;
        }
    }
    note_context(conn, org, &ctx).await?;
    Ok(out)
}

/// Brings every asset's stored findings up to date when roles, units, persons or the date have
/// moved since the last check ([`Organisation generation`](crate::org) and today's date, kept in
/// `organisation.asset_rules_key`). Cheap when nothing changed, and cheap when something changed
/// that the rules do not look at (a TOTP login, a renamed person, an ordinary new day): the key
/// also records a fingerprint of what the rules read besides the assets themselves — the
/// 管理者 in force and their persons' status, the unit tree, the 例外措置 in force — and only
/// when that moved are assets re-evaluated, and then only those whose findings can differ: the
/// (管理者, 所管課) groups whose rule A005 outcome changed, and assets citing an exception (A002).
pub async fn ensure_checked(db: &Db, org: OrgId) -> DbResult<()> {
    let today = mamori_core::calendar::today_jst();
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT generation, asset_rules_key FROM organisation WHERE id = $1")
            .bind(org.0)
            .fetch_optional(db.pool())
            .await?;
    let (generation, key) = row.ok_or(DbError::NotFound)?;
    let want = format!("{generation}@{}", format_iso(today));
    let stored = RulesKey::parse(&key);
    if stored.checked == want {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let ctx = RuleContext::load(&mut tx, org.0, Some(&[]), today).await?;
    let fingerprint = ctx.fingerprint();
    let started = std::time::Instant::now();
    if stored.fingerprint != fingerprint {
        let ids = recheck_candidates(&mut tx, org.0, &ctx).await?;
        let count = ids.len();
        if count > REFRESH_ALL_ABOVE {
            refresh(&mut tx, org.0, None).await?;
        } else {
            refresh(&mut tx, org.0, Some(&ids)).await?;
        }
        tracing::debug!(assets = count, elapsed = ?started.elapsed(), "asset rules re-checked");
    }
    // The key records the generation read before the check: a change racing with it leaves
    // the key behind, so the next call checks again.
    let key = RulesKey {
        checked: &want,
        fingerprint: &fingerprint,
    };
    sqlx::query("UPDATE organisation SET asset_rules_key = $1 WHERE id = $2")
        .bind(key.to_string())
        .bind(org.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Above this many assets to re-evaluate, the whole organisation is evaluated in one pass instead
/// of through an id list.
const REFRESH_ALL_ABOVE: usize = 20_000;

/// `organisation.asset_rules_key`: `<generation>@<date>#<fingerprint>` of the last check.
struct RulesKey<'a> {
    checked: &'a str,
    fingerprint: &'a str,
}

impl<'a> RulesKey<'a> {
    fn parse(key: &'a str) -> Self {
        let (checked, fingerprint) = key.split_once('#').unwrap_or((key, ""));
        RulesKey {
            checked,
            fingerprint,
        }
    }
}

impl std::fmt::Display for RulesKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.checked, self.fingerprint)
    }
}

/// The active assets whose stored findings may differ under `ctx`: those in a (管理者, 所管課)
/// group whose stored A005 outcome is not what `ctx` gives, and every asset citing an exception.
async fn recheck_candidates(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &RuleContext,
) -> DbResult<Vec<i64>> {
    let groups: Vec<(Option<i64>, i64, i64)> = sqlx::query_as(
        "SELECT manager_id, unit_id, \
         CAST(CASE WHEN findings LIKE '%,A005,%' THEN 1 ELSE 0 END AS BIGINT) AS a005 \
         FROM asset WHERE org_id = $1 AND status = 'active' GROUP BY manager_id, unit_id, a005",
    )
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let mut stale: Vec<String> = groups
        .into_iter()
        .filter(|(manager, unit, a005)| (*a005 != 0) == ctx.manager_ok(*manager, *unit))
        .map(|(manager, unit, _)| match manager {
            Some(m) => format!("(a.manager_id = {m} AND a.unit_id = {unit})"),
            None => format!("(a.manager_id IS NULL AND a.unit_id = {unit})"),
        })
        .collect();
    stale.sort();
    stale.dedup();
    stale.push("a.exception_ref <> ''".to_owned());
    let mut ids = Vec::new();
    for chunk in stale.chunks(200) {
        let sql = format!(
            "SELECT a.id FROM asset a WHERE a.org_id = $1 AND a.status = 'active' AND ({})",
            chunk.join(" OR ")
        );
        let found: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(org)
            .fetch_all(&mut *conn)
            .await?;
        ids.extend(found);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// After findings were stored under `ctx`: when `ctx` is not the context the organisation's
/// last check recorded, that record no longer vouches for every asset, so it is dropped and the
/// next [`ensure_checked`] compares the stored findings again.
async fn note_context(conn: &mut AnyConnection, org: i64, ctx: &RuleContext) -> DbResult<()> {
    let key: Option<String> =
        sqlx::query_scalar("SELECT asset_rules_key FROM organisation WHERE id = $1")
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
    let key = key.unwrap_or_default();
    if !key.is_empty() && RulesKey::parse(&key).fingerprint != ctx.fingerprint() {
        sqlx::query("UPDATE organisation SET asset_rules_key = '' WHERE id = $1")
            .bind(org)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Filters of the asset list (every one optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFilter {
    /// Only this unit and those below it.
    pub unit: Option<i64>,
    /// ネットワーク区分 (`none` for blank).
    pub zone: Option<String>,
    /// 機密性 code.
    pub confidentiality: Option<String>,
    /// 完全性.
    pub integrity: Option<i64>,
    /// 可用性.
    pub availability: Option<i64>,
    /// Kind code.
    pub kind: Option<String>,
    /// Personal data: `any`, `sensitive`, `my_number`, `none`.
    pub personal: Option<String>,
    /// A restriction code.
    pub restriction: Option<String>,
    /// Only assets whose review is overdue.
    pub overdue: bool,
    /// Only assets breaking a rule (stored findings), optionally one rule id.
    pub violations: Option<String>,
    /// Only assets awaiting re-triage after a scheme switch.
    pub triage: bool,
    /// Substring of 名称, 業務名 or 資産番号.
    pub q: Option<String>,
    /// 管理者.
    pub manager: Option<i64>,
    /// `active` (default), `disposed` or `all`.
    pub status: Option<String>,
}

/// Sort orders of the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AssetSort {
    /// 資産番号 (default).
    #[default]
    Number,
    /// 名称.
    Name,
    /// 機密性, highest first.
    Confidentiality,
    /// 最終確認日, oldest first.
    Reviewed,
    /// 所管課.
    Unit,
    /// Last changed, newest first.
    Updated,
}

impl AssetSort {
    /// From a query parameter.
    pub fn parse(s: &str) -> Option<AssetSort> {
        Some(match s {
            "number" | "" => AssetSort::Number,
            "name" => AssetSort::Name,
            "confidentiality" => AssetSort::Confidentiality,
            "reviewed" => AssetSort::Reviewed,
            "unit" => AssetSort::Unit,
            "updated" => AssetSort::Updated,
            _ => return None,
        })
    }

    /// The parameter value.
    pub fn code(self) -> &'static str {
        match self {
            AssetSort::Number => "number",
            AssetSort::Name => "name",
            AssetSort::Confidentiality => "confidentiality",
            AssetSort::Reviewed => "reviewed",
            AssetSort::Unit => "unit",
            AssetSort::Updated => "updated",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            // 資産番号 is unique within the organisation, and every list is of one: no tie to
            // break. (A second key would also keep PostgreSQL from taking the page's numbers
            // from the `asset_list` index alone.)
            AssetSort::Number => "a.asset_no",
            AssetSort::Name => "a.name, a.asset_no",
            AssetSort::Confidentiality => {
                "CASE a.confidentiality WHEN '3A' THEN 5 WHEN '3B' THEN 4 WHEN '3' THEN 4 \
                 WHEN '3C' THEN 3 WHEN '2' THEN 2 ELSE 1 END DESC, a.asset_no"
            }
            AssetSort::Reviewed => {
                "CASE WHEN a.last_reviewed IS NULL THEN 0 ELSE 1 END, a.last_reviewed, a.asset_no"
            }
            AssetSort::Unit => "a.unit_id, a.asset_no",
            AssetSort::Updated => "a.updated_at DESC, a.id DESC",
        }
    }
}

/// A built WHERE clause and its bound text values (after `$1` = org).
struct Where {
    sql: String,
    texts: Vec<String>,
}

fn build_where<P: Permission>(
    cap: &Capability<P>,
    tree: &UnitTree,
    filter: &AssetFilter,
    cutoff: &str,
) -> Option<Where> {
    let mut sql = String::from(" WHERE a.org_id = $1");
    let mut texts: Vec<String> = Vec::new();
    let bind = |texts: &mut Vec<String>, v: String| {
        texts.push(v);
        format!("${}", texts.len() + 1)
    };
    let mut units: Option<Vec<i64>> = match cap.reach() {
        Reach::All => None,
        reach => Some(tree.reachable(reach)),
    };
    if let Some(u) = filter.unit {
        let sub = tree.subtree(u);
        units = Some(match units {
            None => sub,
            Some(allowed) => sub.into_iter().filter(|x| allowed.contains(x)).collect(),
        });
    }
    if let Some(units) = &units {
        if units.is_empty() {
            return None;
        }
        sql.push_str(&format!(" AND a.unit_id IN ({})", id_list(units)));
    }
    match filter.status.as_deref() {
        Some("all") => {}
        Some("disposed") => sql.push_str(" AND a.status = 'disposed'"),
        _ => sql.push_str(" AND a.status = 'active'"),
    }
    if let Some(z) = filter.zone.as_deref().filter(|z| !z.is_empty()) {
        if z == "none" {
            sql.push_str(" AND a.zone IS NULL");
        } else {
            let p = bind(&mut texts, z.to_owned());
            sql.push_str(&format!(" AND a.zone = {p}"));
        }
    }
    if let Some(c) = filter.confidentiality.as_deref().filter(|c| !c.is_empty()) {
        let p = bind(&mut texts, c.to_owned());
        sql.push_str(&format!(" AND a.confidentiality = {p}"));
    }
    if let Some(i) = filter.integrity {
        sql.push_str(&format!(" AND a.integrity = {i}"));
    }
    if let Some(i) = filter.availability {
        sql.push_str(&format!(" AND a.availability = {i}"));
    }
    if let Some(k) = filter.kind.as_deref().filter(|k| !k.is_empty()) {
        let p = bind(&mut texts, k.to_owned());
        sql.push_str(&format!(" AND a.kind = {p}"));
    }
    match filter.personal.as_deref() {
        Some("any") => sql.push_str(" AND a.personal = 1"),
        Some("sensitive") => sql.push_str(" AND a.sensitive = 1"),
        Some("my_number") => sql.push_str(" AND a.my_number = 1"),
        Some("none") => sql.push_str(" AND a.personal = 0"),
        _ => {}
    }
    if let Some(r) = filter.restriction.as_deref().filter(|r| !r.is_empty()) {
        let p = bind(&mut texts, format!("%{}%", escape_like(r)));
        sql.push_str(&format!(" AND a.restrictions LIKE {p} ESCAPE '\\'"));
    }
    if filter.overdue {
        let p = bind(&mut texts, cutoff.to_owned());
        sql.push_str(&format!(
            " AND (a.last_reviewed IS NULL OR a.last_reviewed < {p})"
        ));
    }
    match filter.violations.as_deref() {
        None => {}
        Some("") | Some("any") => sql.push_str(" AND a.findings <> ''"),
        Some(rule) => {
            let p = bind(&mut texts, format!("%,{},%", escape_like(rule)));
            sql.push_str(&format!(" AND a.findings LIKE {p} ESCAPE '\\'"));
        }
    }
    if filter.triage {
        sql.push_str(" AND a.triage <> ''");
    }
    if let Some(m) = filter.manager {
        sql.push_str(&format!(" AND a.manager_id = {m}"));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let p = bind(&mut texts, format!("%{}%", escape_like(q)));
        sql.push_str(&format!(
            " AND (a.name LIKE {p} ESCAPE '\\' OR a.business LIKE {p} ESCAPE '\\' OR a.asset_no LIKE {p} ESCAPE '\\')"
        ));
    }
    Some(Where { sql, texts })
}

/// The first day that is *not* overdue: reviews before it are overdue.
pub fn review_cutoff(today: Date, interval_days: i64) -> String {
    format_iso(today - time::Duration::days(interval_days))
}

/// Lists assets within reach: a page and the total count.
pub async fn list<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    filter: &AssetFilter,
    sort: AssetSort,
    offset: i64,
    limit: i64,
) -> DbResult<(Vec<Asset>, i64)> {
    let mut conn = db.pool().acquire().await?;
    let settings = settings_in(&mut conn, cap.org().0).await?;
    let cutoff = review_cutoff(
        mamori_core::calendar::today_jst(),
        settings.review_interval_days,
    );
    let Some(w) = build_where(cap, tree, filter, &cutoff) else {
        return Ok((Vec::new(), 0));
    };
    let count_sql = format!("SELECT COUNT(*) FROM asset a{}", w.sql);
    let mut cq = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql)).bind(cap.org().0);
    for t in &w.texts {
        cq = cq.bind(t.as_str());
    }
    let total = cq.fetch_one(&mut *conn).await?;
    let (order, limit, offset) = (sort.order_by(), limit.max(0), offset.max(0));
    // LIMIT and OFFSET are written into the text: SQLite plans a bound LIMIT again every time.
    let sql = match db.backend() {
        // Tried on SQLite: the form below, and sorting the matches when they are few (`+` on
        // the sort key): fast in the sqlite3 shell (3.40), ≈ 180 ms per page with the SQLite
        // this program embeds, which plans it differently. The plain query is ≈ 25 ms.
        crate::Backend::Sqlite => format!(
            "SELECT {ASSET_COLUMNS} {ASSET_FROM}{} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            w.sql
        ),
        // PostgreSQL first picks the page's 資産番号 alone: that can come from the `asset_list`
        // index without visiting the table, so a selective filter (a few matches among 100,000)
        // no longer walks every row in 資産番号 order hoping to fill the page early (≈ 80 ms →
        // ≈ 3 ms measured). 資産番号 is unique within the organisation, so the join is exact.
        crate::Backend::Postgres => format!(
            "WITH k AS MATERIALIZED (SELECT a.asset_no FROM asset a{} ORDER BY {order} \
             LIMIT {limit} OFFSET {offset}) \
             SELECT {ASSET_COLUMNS} FROM k JOIN asset a ON a.org_id = $1 AND a.asset_no = k.asset_no \
             LEFT JOIN person p ON p.id = a.manager_id AND p.org_id = a.org_id ORDER BY {order}",
            w.sql
        ),
    };
    let mut q = sqlx::query_as::<_, Asset>(sqlx::AssertSqlSafe(sql)).bind(cap.org().0);
    for t in &w.texts {
        q = q.bind(t.as_str());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok((rows, total))
}

/// How many written rows make an import "bulk": after one, [`refresh_statistics`] is worth its
/// cost (≈ 0.1–0.6 s for 100,000 assets).
pub const BULK_ROWS: usize = 1_000;

/// Brings the database's statistics on the register up to date after a bulk change (an import
/// of many rows). Without them PostgreSQL plans the list queries as if the table were empty
/// until its background analysis comes round (measured: a filtered list at ≈ 110 ms instead of
/// ≈ 2 ms right after importing 100,000 assets); VACUUM also marks the new rows visible to
/// index-only scans. SQLite plans these queries well without statistics and is left alone.
pub async fn refresh_statistics(db: &Db) -> DbResult<()> {
    if db.backend() == crate::Backend::Postgres {
        // VACUUM cannot run inside a transaction; a plain statement on the pool is outside one.
        sqlx::query("VACUUM (ANALYZE) asset")
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

/// Counts for the dashboard and the 要対応 view: per unit, assets breaking rules, overdue, and
/// awaiting re-triage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitTodo {
    /// Unit.
    pub unit_id: i64,
    /// Active assets.
    pub assets: i64,
    /// Breaking an error rule.
    pub errors: i64,
    /// Breaking any stored rule.
    pub violations: i64,
    /// Review overdue.
    pub overdue: i64,
    /// Awaiting re-triage.
    pub triage: i64,
}

/// Every 管理者 holding active assets within reach: (person id, 氏名, count).
pub async fn manager_counts<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
) -> DbResult<Vec<(i64, String, i64)>> {
    // The default filter (active assets) does not look at the review cutoff.
    let Some(w) = build_where(cap, tree, &AssetFilter::default(), "") else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT a.manager_id, p.name, COUNT(*) {ASSET_FROM}{} AND a.manager_id IS NOT NULL \
         AND p.name IS NOT NULL GROUP BY a.manager_id, p.name ORDER BY a.manager_id",
        w.sql
    );
    let mut q = sqlx::query_as::<_, (i64, String, i64)>(sqlx::AssertSqlSafe(sql)).bind(cap.org().0);
    for t in w.texts {
        q = q.bind(t);
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// The asset register's tasks for `person`: the active assets they manage that break a rule or
/// are overdue for review (one task each, with a link to the filtered list).
pub async fn tasks_for(
    db: &Db,
    org: i64,
    person: i64,
    today: Date,
) -> DbResult<Vec<mamori_core::task::Task>> {
    use mamori_core::task::{Task, TaskKind};
    ensure_checked(db, OrgId(org)).await?;
    let settings = settings(db, OrgId(org)).await?;
    let cutoff = review_cutoff(today, settings.review_interval_days);
    let (violations, overdue, oldest): (Option<i64>, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT SUM(CASE WHEN findings <> '' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN last_reviewed IS NULL OR last_reviewed < $3 THEN 1 ELSE 0 END), \
         MIN(last_reviewed) \
         FROM asset WHERE org_id = $1 AND manager_id = $2 AND status = 'active'",
    )
    .bind(org)
    .bind(person)
    .bind(cutoff)
    .fetch_one(db.pool())
    .await?;
    let mut tasks = Vec::new();
    if let Some(n) = violations.filter(|n| *n > 0) {
        tasks.push(Task {
            kind: TaskKind::Fix,
            title: format!("管理する情報資産 {n} 件の取扱規則違反を是正する"),
            href: format!("/inventory?manager={person}&violations=any"),
            due: None,
        });
    }
    if let Some(n) = overdue.filter(|n| *n > 0) {
        tasks.push(Task {
            kind: TaskKind::FollowUp,
            title: format!(
                "最終確認日から{}日を過ぎた情報資産 {n} 件を確認する",
                settings.review_interval_days
            ),
            href: format!("/inventory?manager={person}&overdue=1"),
            // Due when the oldest review ran out (today for an asset never reviewed).
            due: Some(
                oldest
                    .and_then(|d| mamori_core::calendar::parse_date(&d).ok())
                    .map(|d| d + time::Duration::days(settings.review_interval_days))
                    .map_or(today, |d| d.min(today)),
            ),
        });
    }
    Ok(tasks)
}

/// Per-unit counts of what needs doing, within reach.
pub async fn todo_counts<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
) -> DbResult<Vec<UnitTodo>> {
    let settings = settings(db, cap.org()).await?;
    let cutoff = review_cutoff(
        mamori_core::calendar::today_jst(),
        settings.review_interval_days,
    );
    let Some(w) = build_where(cap, tree, &AssetFilter::default(), &cutoff) else {
        return Ok(Vec::new());
    };
    let n = w.texts.len() + 2;
    let error_ids: Vec<String> = asset::RULES
        .iter()
        .filter(|r| r.severity == Severity::Error)
        .map(|r| format!("a.findings LIKE '%,{},%'", r.id))
        .collect();
    let sql = format!(
        "SELECT a.unit_id, COUNT(*), \
         SUM(CASE WHEN {} THEN 1 ELSE 0 END), \
         SUM(CASE WHEN a.findings <> '' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN a.last_reviewed IS NULL OR a.last_reviewed < ${n} THEN 1 ELSE 0 END), \
         SUM(CASE WHEN a.triage <> '' THEN 1 ELSE 0 END) \
         FROM asset a{} GROUP BY a.unit_id ORDER BY a.unit_id",
        error_ids.join(" OR "),
        w.sql
    );
    let mut q = sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0);
    for t in w.texts {
        q = q.bind(t);
    }
    let rows = q.bind(cutoff).fetch_all(db.pool()).await?;
    Ok(rows
        .into_iter()
        .map(
            |(unit_id, assets, errors, violations, overdue, triage)| UnitTodo {
                unit_id,
                assets,
                errors,
                violations,
                overdue,
                triage,
            },
        )
        .collect())
}

/// 持出: a take-out of an asset, with its permission and return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TakeOut {
    /// Id.
    pub id: i64,
    /// Asset.
    pub asset_id: i64,
    /// Who takes it out.
    pub person_id: i64,
    /// Their name.
    pub person_name: Option<String>,
    /// Who permitted it.
    pub permitted_by: Option<i64>,
    /// Their name.
    pub permitted_by_name: Option<String>,
    /// Why.
    pub purpose: String,
    /// Where to.
    pub destination: String,
    /// From (YYYY-MM-DD).
    pub out_on: String,
    /// Due back (YYYY-MM-DD).
    pub due_on: Option<String>,
    /// Returned (UTC timestamp), when it was.
    pub returned_at: Option<String>,
    /// Recorded (UTC).
    pub created_at: String,
}

/// A take-out to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakeOutInput {
    /// Who takes it out.
    pub person_id: i64,
    /// Why.
    pub purpose: String,
    /// Where to.
    pub destination: String,
    /// From.
    pub out_on: Date,
    /// Due back.
    pub due_on: Option<Date>,
}

/// Take-outs of an asset, newest first.
pub async fn take_outs(db: &Db, org: OrgId, asset_id: i64) -> DbResult<Vec<TakeOut>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.asset_id, t.person_id, p.name AS person_name, t.permitted_by, \
         q.name AS permitted_by_name, t.purpose, t.destination, t.out_on, t.due_on, t.returned_at, \
         t.created_at FROM asset_takeout t \
         LEFT JOIN person p ON p.id = t.person_id AND p.org_id = t.org_id \
         LEFT JOIN person q ON q.id = t.permitted_by AND q.org_id = t.org_id \
         WHERE t.asset_id = $1 AND t.org_id = $2 ORDER BY t.id DESC",
    )
    .bind(asset_id)
    .bind(org.0)
    .fetch_all(db.pool())
    .await?)
}

/// Records a take-out permitted by the capability's holder (a 管理者 or above over the asset's
/// unit). The person taking it out may not permit their own take-out.
pub async fn take_out(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    input: &TakeOutInput,
) -> Result<i64, AssetError> {
    let org = cap.org().0;
    let a = get_in(conn, cap, tree, id).await?;
    if a.is_disposed() {
        return Err(AssetError::Disposed);
    }
    let mut problems = Vec::new();
    if a.restrictions().has(asset::Restriction::NoTakeOut) {
        problems.push((
            "asset",
            "この情報資産には「持出禁止」の取扱制限があります".to_owned(),
        ));
    }
    let permitter = ctx.actor_id;
    if permitter == Some(input.person_id) {
        problems.push((
            "person_id",
            mamori_core::permission::DutyConflict::SelfApproval.to_string(),
        ));
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM person WHERE id = $1 AND org_id = $2")
            .bind(input.person_id)
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
    if status.as_deref() != Some("active") {
        problems.push(("person_id", "持ち出す職員が見つかりません".to_owned()));
    }
    if input.purpose.trim().is_empty() {
        problems.push(("purpose", "持出しの目的を入力してください".to_owned()));
    }
    if input.destination.trim().is_empty() {
        problems.push(("destination", "持出し先を入力してください".to_owned()));
    }
    if input.due_on.is_some_and(|d| d < input.out_on) {
        problems.push(("due_on", "返却予定日が持出日より前です".to_owned()));
    }
    for (key, value) in [
        ("purpose", &input.purpose),
        ("destination", &input.destination),
    ] {
        if value.chars().count() > MAX_NAME_CHARS {
            problems.push((key, format!("{MAX_NAME_CHARS}文字以内にしてください")));
        }
    }
    if !problems.is_empty() {
        return Err(AssetError::Invalid(problems));
    }
    let tid: i64 = sqlx::query_scalar(
        "INSERT INTO asset_takeout (org_id, asset_id, person_id, permitted_by, purpose, destination, \
         out_on, due_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(org)
    .bind(id)
    .bind(input.person_id)
    .bind(permitter)
    .bind(input.purpose.trim())
    .bind(input.destination.trim())
    .bind(format_iso(input.out_on))
    .bind(input.due_on.map(format_iso))
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    refresh(conn, org, Some(&[id])).await?;
    let mut entry = ctx.entry("asset.take_out", "asset", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(a.unit_id);
    entry.after = Some(json!({
        "take_out_id": tid,
        "person_id": input.person_id,
        "purpose": input.purpose,
        "destination": input.destination,
        "out_on": format_iso(input.out_on),
        "due_on": input.due_on.map(format_iso),
    }));
    audit::append(conn, entry).await?;
    Ok(tid)
}

/// Records the return of a take-out.
pub async fn take_out_return(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    take_out_id: i64,
) -> Result<(), AssetError> {
    let org = cap.org().0;
    let a = get_in(conn, cap, tree, id).await?;
    let now = now_text();
    let n = sqlx::query(
        "UPDATE asset_takeout SET returned_at = $1 WHERE id = $2 AND asset_id = $3 AND org_id = $4 \
         AND returned_at IS NULL",
    )
    .bind(&now)
    .bind(take_out_id)
    .bind(id)
    .bind(org)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(AssetError::Invalid(vec![(
            "take_out",
            "返却を記録できる持出しがありません（返却済みか、存在しません）".to_owned(),
        )]));
    }
    let mut entry = ctx.entry("asset.take_out.return", "asset", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(a.unit_id);
    entry.after = Some(json!({"take_out_id": take_out_id, "returned_at": now}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// 廃棄: what was done and the certificate, when a contractor disposed of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposalInput {
    /// 廃棄日.
    pub on: Date,
    /// Who disposed of it (or supervised the contractor).
    pub person_id: i64,
    /// 方法 (溶解, 破砕, データ消去ソフト …).
    pub method: String,
    /// 廃棄証明書: file name and bytes.
    pub certificate: Option<(String, Vec<u8>)>,
}

/// A stored disposal certificate, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Certificate {
    /// Id.
    pub id: i64,
    /// Asset.
    pub asset_id: i64,
    /// File name as uploaded.
    pub file_name: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Uploaded (UTC).
    pub created_at: String,
}

/// Disposes of an asset: records date, person, method and certificate, and archives it
/// read-only. Nothing is deleted; holdings of the asset are ended.
pub async fn dispose(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    input: &DisposalInput,
) -> Result<(), AssetError> {
    let org = cap.org().0;
    let a = get_in(conn, cap, tree, id).await?;
    if a.is_disposed() {
        return Err(AssetError::Disposed);
    }
    let mut problems = Vec::new();
    if input.method.trim().is_empty() {
        problems.push(("method", "廃棄の方法を入力してください".to_owned()));
    } else if input.method.chars().count() > MAX_NAME_CHARS {
        problems.push((
            "method",
            format!("廃棄の方法は{MAX_NAME_CHARS}文字以内にしてください"),
        ));
    }
    if input.on > mamori_core::calendar::today_jst() {
        problems.push(("on", "廃棄日に未来の日付は指定できません".to_owned()));
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM person WHERE id = $1 AND org_id = $2")
            .bind(input.person_id)
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
    if status.is_none() {
        problems.push(("person_id", "廃棄した職員が見つかりません".to_owned()));
    }
    if let Some((name, bytes)) = &input.certificate {
        if bytes.is_empty() {
            problems.push(("certificate", "廃棄証明書のファイルが空です".to_owned()));
        } else if bytes.len() > MAX_CERTIFICATE_BYTES {
            problems.push((
                "certificate",
                format!(
                    "廃棄証明書は{} MB以下にしてください",
                    MAX_CERTIFICATE_BYTES / 1024 / 1024
                ),
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            problems.push((
                "certificate",
                "ファイル名が長すぎるか、使えない文字を含みます".to_owned(),
            ));
        }
    }
    let classes = a.classes();
    if input.certificate.is_none()
        && classes.is_some_and(|c| c.confidentiality.at_least_2())
        && input.method.contains("委託")
    {
        problems.push((
            "certificate",
            "委託先が廃棄した機密性2以上の情報資産には、廃棄証明書を添付してください".to_owned(),
        ));
    }
    if !problems.is_empty() {
        return Err(AssetError::Invalid(problems));
    }
    let mut cert_json = Value::Null;
    if let Some((name, bytes)) = &input.certificate {
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO asset_certificate (org_id, asset_id, file_name, size, sha256, content, \
             uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(org)
        .bind(id)
        .bind(name)
        .bind(size)
        .bind(&sha)
        .bind(bytes.as_slice())
        .bind(ctx.actor_id)
        .bind(now_text())
        .execute(&mut *conn)
        .await?;
        cert_json = json!({"file_name": name, "size": size, "sha256": sha});
    }
    sqlx::query(
        "UPDATE asset SET status = 'disposed', disposed_on = $1, disposed_by = $2, disposal_method = $3, \
         findings = '', triage = '', updated_at = $4, version = version + 1 WHERE id = $5 AND org_id = $6",
    )
    .bind(format_iso(input.on))
    .bind(input.person_id)
    .bind(input.method.trim())
    .bind(now_text())
    .bind(id)
    .bind(org)
    .execute(&mut *conn)
    .await?;
    let holders = with_holders(conn, org, &[id]).await?;
    sqlx::query("DELETE FROM asset_holding WHERE (held_id = $1 OR holder_id = $1) AND org_id = $2")
        .bind(id)
        .bind(org)
        .execute(&mut *conn)
        .await?;
    let others: Vec<i64> = holders.into_iter().filter(|h| *h != id).collect();
    refresh(conn, org, Some(&others)).await?;
    let mut entry = ctx.entry("asset.dispose", "asset", id);
    entry.org_id = Some(org);
    entry.unit_id = Some(a.unit_id);
    entry.after = Some(json!({
        "disposed_on": format_iso(input.on),
        "person_id": input.person_id,
        "method": input.method.trim(),
        "certificate": cert_json,
    }));
    audit::append(conn, entry).await?;
    Ok(())
}

/// Certificates of an asset.
pub async fn certificates(db: &Db, org: OrgId, asset_id: i64) -> DbResult<Vec<Certificate>> {
    Ok(sqlx::query_as(
        "SELECT id, asset_id, file_name, size, sha256, created_at FROM asset_certificate \
         WHERE asset_id = $1 AND org_id = $2 ORDER BY id",
    )
    .bind(asset_id)
    .bind(org.0)
    .fetch_all(db.pool())
    .await?)
}

/// A certificate's bytes (for download); the caller has read the asset within reach.
pub async fn certificate_content(
    db: &Db,
    org: OrgId,
    asset_id: i64,
    cert_id: i64,
) -> DbResult<(Certificate, Vec<u8>)> {
    type CertificateRow = (i64, i64, String, i64, String, String, Vec<u8>);
    let row: Option<CertificateRow> = sqlx::query_as(
        "SELECT id, asset_id, file_name, size, sha256, created_at, content FROM asset_certificate \
         WHERE id = $1 AND asset_id = $2 AND org_id = $3",
    )
    .bind(cert_id)
    .bind(asset_id)
    .bind(org.0)
    .fetch_optional(db.pool())
    .await?;
    let (id, asset_id, file_name, size, sha256, created_at, content) =
        row.ok_or(DbError::NotFound)?;
    Ok((
        Certificate {
            id,
            asset_id,
            file_name,
            size,
            sha256,
            created_at,
        },
        content,
    ))
}

/// The audit entries about one asset, newest first.
pub async fn history(db: &Db, org: OrgId, id: i64) -> DbResult<Vec<audit::Entry>> {
    audit::list(
        db,
        &audit::Filter {
            org_id: Some(org.0),
            object_type: Some("asset".to_owned()),
            object_id: Some(id.to_string()),
            ..audit::Filter::default()
        },
        500,
    )
    .await
}

/// What a bulk change did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkResult {
    /// Assets changed.
    pub changed: Vec<(i64, String)>,
}

/// Reassigns every active asset of one 管理者 (within reach) to another — the April 人事異動 —
/// in one transaction, each change audited. Rule errors do not block a reassignment (the new
/// 管理者's roles may be granted after), but the findings are recomputed.
pub async fn reassign_manager(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    from: i64,
    to: i64,
) -> Result<BulkResult, AssetError> {
    let org = cap.org().0;
    if from == to {
        return Err(AssetError::Invalid(vec![(
            "to",
            "引継ぎ先が引継ぎ元と同じです".to_owned(),
        )]));
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM person WHERE id = $1 AND org_id = $2")
            .bind(to)
            .bind(org)
            .fetch_optional(&mut *conn)
            .await?;
    if status.as_deref() != Some("active") {
        return Err(AssetError::Invalid(vec![(
            "to",
            "引継ぎ先の職員が見つからないか、退職しています".to_owned(),
        )]));
    }
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, asset_no, unit_id FROM asset WHERE org_id = $1 AND manager_id = $2 \
         AND status = 'active' ORDER BY asset_no",
    )
    .bind(org)
    .bind(from)
    .fetch_all(&mut *conn)
    .await?;
    let mut result = BulkResult::default();
    let mut entries = Vec::new();
    for (id, no, unit) in rows {
        if !cap.covers(&tree.path(unit)) {
            continue;
        }
        sqlx::query(
            "UPDATE asset SET manager_id = $1, updated_at = $2, version = version + 1 \
             WHERE id = $3 AND org_id = $4",
        )
        .bind(to)
        .bind(now_text())
        .bind(id)
        .bind(org)
        .execute(&mut *conn)
        .await?;
        let mut entry = ctx.entry("asset.reassign", "asset", id);
        entry.org_id = Some(org);
        entry.unit_id = Some(unit);
        entry.before = Some(json!({"manager_id": from}));
        entry.after = Some(json!({"manager_id": to}));
        entries.push(entry);
        result.changed.push((id, no));
    }
    if result.changed.is_empty() {
        return Err(AssetError::Invalid(vec![(
            "from",
            "引き継ぐ情報資産がありません".to_owned(),
        )]));
    }
    let ids: Vec<i64> = result.changed.iter().map(|c| c.0).collect();
    refresh(conn, org, Some(&ids)).await?;
    audit::append_many(conn, entries).await?;
    Ok(result)
}

/// Moves assets to another unit (within reach on both sides) in one transaction, each change
/// audited; the 管理者 may be replaced at the same time.
pub async fn move_assets(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditAssets>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    ids: &[i64],
    to_unit: i64,
    new_manager: Option<i64>,
) -> Result<BulkResult, AssetError> {
    let org = cap.org().0;
    match tree.get(to_unit) {
        Some(u) if u.active != 0 => {}
        _ => {
            return Err(AssetError::Invalid(vec![(
                "to_unit",
                "移管先の組織が見つからないか、廃止されています".to_owned(),
            )]));
        }
    }
    if !cap.covers(&tree.path(to_unit)) {
        return Err(AssetError::Db(DbError::NotFound));
    }
    if ids.is_empty() {
        return Err(AssetError::Invalid(vec![(
            "ids",
            "移管する情報資産を選んでください".to_owned(),
        )]));
    }
    if let Some(m) = new_manager {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM person WHERE id = $1 AND org_id = $2")
                .bind(m)
                .bind(org)
                .fetch_optional(&mut *conn)
                .await?;
        if status.as_deref() != Some("active") {
            return Err(AssetError::Invalid(vec![(
                "manager_id",
                "新しい管理者が見つからないか、退職しています".to_owned(),
            )]));
        }
    }
    let mut result = BulkResult::default();
    let mut entries = Vec::new();
    for id in ids {
        let a = get_in(conn, cap, tree, *id).await?;
        if a.is_disposed() {
            return Err(AssetError::Disposed);
        }
        sqlx::query(
            "UPDATE asset SET unit_id = $1, manager_id = COALESCE($2, manager_id), updated_at = $3, \
             version = version + 1 WHERE id = $4 AND org_id = $5",
        )
        .bind(to_unit)
        .bind(new_manager)
        .bind(now_text())
        .bind(id)
        .bind(org)
        .execute(&mut *conn)
        .await?;
        let mut entry = ctx.entry("asset.move", "asset", id);
        entry.org_id = Some(org);
        entry.unit_id = Some(to_unit);
        entry.before = Some(json!({"unit_id": a.unit_id, "manager_id": a.manager_id}));
        entry.after = Some(json!({"unit_id": to_unit, "manager_id": new_manager.or(a.manager_id)}));
        entries.push(entry);
        result.changed.push((*id, a.asset_no));
    }
    refresh(conn, org, Some(ids)).await?;
    audit::append_many(conn, entries).await?;
    Ok(result)
}

/// What a scheme switch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SwitchResult {
    /// Assets whose level changed.
    pub mapped: i64,
    /// Assets put on the re-triage list.
    pub triage: i64,
}

/// Switches the organisation's classification scheme: maps every asset's level (disposed ones
/// included, so the archive reads in the new scheme) and lists ambiguous ones for re-triage.
pub async fn switch_scheme(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConfigureAssets>,
    ctx: &AuditCtx,
    to: Scheme,
) -> Result<SwitchResult, AssetError> {
    let org = cap.org().0;
    let settings = settings_in(conn, org).await?;
    if settings.scheme == to {
        return Err(AssetError::Invalid(vec![(
            "scheme",
            format!("既に{}を使っています", to.label_ja()),
        )]));
    }
    type LevelRow = (i64, String, i64, Option<i64>, i64, i64, String);
    let rows: Vec<LevelRow> = sqlx::query_as(
        "SELECT id, confidentiality, personal, personal_count, sensitive, my_number, status \
         FROM asset WHERE org_id = $1",
    )
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let mut result = SwitchResult::default();
    for (id, level, p, count, s, m, status) in rows {
        let Some(level) = Confidentiality::from_code(&level) else {
            continue;
        };
        let personal = PersonalData {
            present: p != 0,
            count,
            sensitive: s != 0,
            my_number: m != 0,
        };
        let mapping = asset::map_level(level, to, personal);
        let triage = if status == "active" {
            mapping
                .candidates
                .iter()
                .map(|c| c.code())
                .collect::<Vec<_>>()
                .join(",")
        } else {
            String::new()
        };
        if mapping.to != level || !triage.is_empty() {
            sqlx::query(
                "UPDATE asset SET confidentiality = $1, triage = $2, version = version + 1 \
                 WHERE id = $3 AND org_id = $4",
            )
            .bind(mapping.to.code())
            .bind(&triage)
            .bind(id)
            .bind(org)
            .execute(&mut *conn)
            .await?;
            result.mapped += i64::from(mapping.to != level);
            result.triage += i64::from(!triage.is_empty());
        }
    }
    sqlx::query("UPDATE organisation SET classification_scheme = $1 WHERE id = $2")
        .bind(to.code())
        .bind(org)
        .execute(&mut *conn)
        .await?;
    refresh(conn, org, None).await?;
    let mut entry = ctx.entry("asset.scheme.switch", "organisation", org);
    entry.org_id = Some(org);
    entry.before = Some(json!({"scheme": settings.scheme.code()}));
    entry.after = Some(json!({
        "scheme": to.code(),
        "mapped": result.mapped,
        "triage": result.triage,
    }));
    audit::append(conn, entry).await?;
    Ok(result)
}

/// Sets the review interval (days).
pub async fn set_review_interval(
    conn: &mut AnyConnection,
    cap: &Capability<can::ConfigureAssets>,
    ctx: &AuditCtx,
    days: i64,
) -> Result<(), AssetError> {
    if !(1..=3650).contains(&days) {
        return Err(AssetError::Invalid(vec![(
            "review_interval_days",
            "確認間隔は1日から3650日の間で指定してください".to_owned(),
        )]));
    }
    let org = cap.org().0;
    let before = settings_in(conn, org).await?;
    sqlx::query("UPDATE organisation SET asset_review_days = $1 WHERE id = $2")
        .bind(days)
        .bind(org)
        .execute(&mut *conn)
        .await?;
    let mut entry: NewEntry = ctx.entry("asset.settings.update", "organisation", org);
    entry.org_id = Some(org);
    entry.before = Some(json!({"review_interval_days": before.review_interval_days}));
    entry.after = Some(json!({"review_interval_days": days}));
    audit::append(conn, entry).await?;
    Ok(())
}
