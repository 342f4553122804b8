//! 例外措置 (対策基準 2-7, DOMAIN.md §5): a 管理者 may deviate from the policy for a business
//! need with the CISO's permission — after the fact in an emergency.
//!
//! An application names the clause, the reason, the scope, compensating controls and a period.
//! The applicant's body's 情報セキュリティ責任者 endorses it, then the CISO approves it (with
//! conditions) or rejects it. On the emergency path (実施後報告) the application is in force
//! provisionally from the moment it is filed, and the CISO confirms or revokes it afterwards.
//! Nobody endorses or decides their own application ([`check_approver`]). An exception in force
//! has a reference number `例外-2026-003` (per organisation and calendar year of coming into
//! force), which is what the asset register and the network model accept as approval: see
//! [`check_ref`].

use mamori_core::calendar::{format_iso, parse_date};
use mamori_core::org::{OrgId, PersonId};
use mamori_core::permission::{Capability, Permission, can, check_approver};
use mamori_core::task::{Task, TaskKind};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;
use time::Date;

use crate::audit::{self, NewEntry};
use crate::org::{AuditCtx, UnitTree};
use crate::{Db, DbError, DbResult, now_text};

/// Longest 理由, 範囲, 代替措置, 条件 or comment.
pub const MAX_TEXT_CHARS: usize = 4_000;
/// Days before the end of its period an exception in force becomes a follow-up task.
pub const EXPIRY_NOTICE_DAYS: i64 = 30;
/// Longest period an exception may be granted for (the policy reviews them yearly).
pub const MAX_PERIOD_DAYS: i64 = 3 * 366;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Filed, waiting for the 情報セキュリティ責任者.
    Applied,
    /// Endorsed, waiting for the CISO.
    Endorsed,
    /// Approved by the CISO (in force inside its period).
    Approved,
    /// Rejected (by the 責任者 or the CISO).
    Rejected,
    /// Emergency path: in force, waiting for the CISO's review.
    Provisional,
    /// Emergency path: revoked by the CISO after review.
    Revoked,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 6] = [
        Status::Applied,
        Status::Endorsed,
        Status::Approved,
        Status::Rejected,
        Status::Provisional,
        Status::Revoked,
    ];

    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Endorsed => "endorsed",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Provisional => "provisional",
            Status::Revoked => "revoked",
        }
    }

    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            Status::Applied => "責任者の承認待ち",
            Status::Endorsed => "CISOの決定待ち",
            Status::Approved => "承認済",
            Status::Rejected => "却下",
            Status::Provisional => "緊急適用中（CISO確認待ち）",
            Status::Revoked => "取消し",
        }
    }

    /// From a stored code.
    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether an exception with this status counts as permission (inside its period).
    pub fn grants(self) -> bool {
        matches!(self, Status::Approved | Status::Provisional)
    }
}

/// A stored exception application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Exception {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// 例外措置番号 (`例外-2026-003`), once in force.
    pub ref_no: Option<String>,
    /// The clause deviated from (guideline number or the organisation's own).
    pub clause_no: String,
    /// 理由.
    pub reason: String,
    /// 範囲 (units, systems, assets) as text.
    pub scope: String,
    /// The asset concerned, when one is named.
    pub asset_id: Option<i64>,
    /// Its 資産番号.
    pub asset_no: Option<String>,
    /// 代替措置.
    pub compensating: String,
    /// First day in force (YYYY-MM-DD).
    pub valid_from: String,
    /// Last day in force.
    pub valid_to: String,
    /// The applicant's unit (whose 責任者 endorses).
    pub unit_id: i64,
    /// 申請者.
    pub applicant_id: i64,
    /// 申請者の氏名.
    pub applicant_name: Option<String>,
    /// Emergency path (0/1).
    pub emergency: i64,
    /// Status code ([`Status::code`]).
    pub status: String,
    /// 責任者.
    pub endorsed_by: Option<i64>,
    /// 責任者の氏名.
    pub endorser_name: Option<String>,
    /// When endorsed (UTC).
    pub endorsed_at: Option<String>,
    /// 責任者の所見.
    pub endorse_comment: String,
    /// CISO.
    pub decided_by: Option<i64>,
    /// CISOの氏名.
    pub decider_name: Option<String>,
    /// When decided (UTC).
    pub decided_at: Option<String>,
    /// 承認の条件.
    pub conditions: String,
    /// CISOの所見.
    pub decision_comment: String,
    /// Edit counter.
    pub version: i64,
    /// Filed (UTC).
    pub created_at: String,
    /// Last changed (UTC).
    pub updated_at: String,
}

const COLUMNS: &str = "e.id, e.org_id, e.ref_no, e.clause_no, e.reason, e.scope, e.asset_id, \
     a.asset_no, e.compensating, e.valid_from, e.valid_to, e.unit_id, e.applicant_id, \
     pa.name AS applicant_name, e.emergency, e.status, e.endorsed_by, pe.name AS endorser_name, \
     e.endorsed_at, e.endorse_comment, e.decided_by, pd.name AS decider_name, e.decided_at, \
     e.conditions, e.decision_comment, e.version, e.created_at, e.updated_at";

const FROM: &str = "FROM exception_request e \
     LEFT JOIN asset a ON a.id = e.asset_id AND a.org_id = e.org_id \
     LEFT JOIN person pa ON pa.id = e.applicant_id AND pa.org_id = e.org_id \
     LEFT JOIN person pe ON pe.id = e.endorsed_by AND pe.org_id = e.org_id \
     LEFT JOIN person pd ON pd.id = e.decided_by AND pd.org_id = e.org_id";

impl Exception {
    /// The status (`Applied` for a hand-edited value).
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Applied)
    }

    fn period(&self) -> Option<(Date, Date)> {
        Some((
            parse_date(&self.valid_from).ok()?,
            parse_date(&self.valid_to).ok()?,
        ))
    }

    /// Whether it is in force on `today`: approved (or provisional) and inside its period.
    pub fn in_force(&self, today: Date) -> bool {
        self.status().grants()
            && self
                .period()
                .is_some_and(|(from, to)| from <= today && today <= to)
    }

    /// Whether it was granted and its period has ended.
    pub fn expired(&self, today: Date) -> bool {
        self.status().grants() && self.period().is_some_and(|(_, to)| to < today)
    }

    /// Whether it is in force and ends within [`EXPIRY_NOTICE_DAYS`].
    pub fn expiring(&self, today: Date) -> bool {
        self.in_force(today)
            && self
                .period()
                .is_some_and(|(_, to)| (to - today).whole_days() <= EXPIRY_NOTICE_DAYS)
    }

    /// Whether it waits for someone's decision.
    pub fn pending(&self) -> bool {
        matches!(
            self.status(),
            Status::Applied | Status::Endorsed | Status::Provisional
        )
    }

    /// What the lists show as its state on `today`.
    pub fn state_label(&self, today: Date) -> &'static str {
        if self.expired(today) {
            "期限切れ"
        } else if self.status() == Status::Approved
            && self.period().is_some_and(|(from, _)| today < from)
        {
            "承認済（開始前）"
        } else if self.in_force(today) && self.status() == Status::Approved {
            "適用中"
        } else {
            self.status().label_ja()
        }
    }

    /// Its name in lists: the reference number, or 「申請 #12」 before one is given.
    pub fn label(&self) -> String {
        self.ref_no
            .clone()
            .unwrap_or_else(|| format!("申請 #{}", self.id))
    }

    fn audit_json(&self) -> serde_json::Value {
        json!({
            "ref_no": self.ref_no, "clause_no": self.clause_no, "reason": self.reason,
            "scope": self.scope, "asset_id": self.asset_id, "compensating": self.compensating,
            "valid_from": self.valid_from, "valid_to": self.valid_to, "unit_id": self.unit_id,
            "applicant_id": self.applicant_id, "emergency": self.emergency != 0,
            "status": self.status, "conditions": self.conditions,
        })
    }
}

/// A refused change.
#[derive(Debug, thiserror::Error)]
pub enum ExceptionError {
    /// The input is wrong; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Separation of duties, or a step taken out of order.
    #[error("{0}")]
    Refused(String),
    /// The application changed since the page was opened.
    #[error("この申請は他の人が先に処理しました。ページを開き直してください")]
    Stale,
    /// Storage.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ExceptionError {
    fn from(e: sqlx::Error) -> Self {
        ExceptionError::Db(DbError::Sqlx(e))
    }
}

/// An application as filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyInput {
    /// 対策基準の条項 (guideline number or the organisation's own).
    pub clause_no: String,
    /// 理由.
    pub reason: String,
    /// 範囲.
    pub scope: String,
    /// The asset concerned, by 資産番号 (empty: none).
    pub asset_no: String,
    /// 代替措置.
    pub compensating: String,
    /// 開始日.
    pub valid_from: Option<Date>,
    /// 終了日.
    pub valid_to: Option<Date>,
    /// 緊急時（実施後報告）.
    pub emergency: bool,
    /// The applicant's unit (defaults to their own).
    pub unit_id: i64,
}

fn too_long(label: &str, value: &str, problems: &mut Vec<String>) {
    if value.chars().count() > MAX_TEXT_CHARS {
        problems.push(format!("{label}は{MAX_TEXT_CHARS}文字以内にしてください"));
    }
}

/// Files an application; returns its id. The emergency path puts it in force at once with a
/// reference number.
pub async fn apply(
    conn: &mut AnyConnection,
    cap: &Capability<can::ApplyExceptions>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    input: &ApplyInput,
    today: Date,
) -> Result<i64, ExceptionError> {
    let org = cap.org().0;
    if !cap.covers(&tree.path(input.unit_id)) || tree.get(input.unit_id).is_none() {
        return Err(ExceptionError::Invalid(
            "申請する組織が見つからないか、申請の権限がない組織です".into(),
        ));
    }
    let mut problems = Vec::new();
    let clause_no = mamori_core::standards::normalise_number(&input.clause_no);
    if clause_no.is_empty() {
        problems.push("対策基準の条項を入力してください".to_owned());
    } else if !crate::catalogue::clause_exists(conn, org, &clause_no).await? {
        problems.push(format!(
            "対策基準の条項「{clause_no}」が見つかりません（例: 2-4-1）"
        ));
    }
    if input.reason.trim().is_empty() {
        problems.push("例外措置の理由を入力してください".to_owned());
    }
    if input.scope.trim().is_empty() && input.asset_no.trim().is_empty() {
        problems.push("範囲（対象の組織・システム・資産）を入力してください".to_owned());
    }
    too_long("理由", &input.reason, &mut problems);
    too_long("範囲", &input.scope, &mut problems);
    too_long("代替措置", &input.compensating, &mut problems);
    let asset_id = if input.asset_no.trim().is_empty() {
        None
    } else {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM asset WHERE org_id = $1 AND asset_no = $2")
                .bind(org)
                .bind(input.asset_no.trim())
                .fetch_optional(&mut *conn)
                .await?;
        if id.is_none() {
            problems.push(format!(
                "資産番号「{}」の情報資産が見つかりません",
                input.asset_no.trim()
            ));
        }
        id
    };
    match (input.valid_from, input.valid_to) {
        (Some(from), Some(to)) => {
            if to < from {
                problems.push("終了日は開始日以降にしてください".to_owned());
            } else if (to - from).whole_days() > MAX_PERIOD_DAYS {
                problems.push("例外措置の期間は3年以内にしてください".to_owned());
            }
            if to < today {
                problems.push("終了日が過ぎています".to_owned());
            }
        }
        (None, _) => problems.push("開始日を入力してください".to_owned()),
        (_, None) => problems.push("終了日を入力してください".to_owned()),
    }
    if !problems.is_empty() {
        return Err(ExceptionError::Invalid(problems.join("／")));
    }
    let (Some(from), Some(to)) = (input.valid_from, input.valid_to) else {
        return Err(ExceptionError::Invalid("期間を入力してください".into()));
    };
    let now = now_text();
    let status = if input.emergency {
        Status::Provisional
    } else {
        Status::Applied
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO exception_request (org_id, clause_no, reason, scope, asset_id, compensating, \
         valid_from, valid_to, unit_id, applicant_id, emergency, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
    )
    .bind(org)
    .bind(&clause_no)
    .bind(input.reason.trim())
    .bind(input.scope.trim())
    .bind(asset_id)
    .bind(input.compensating.trim())
    .bind(format_iso(from))
    .bind(format_iso(to))
    .bind(input.unit_id)
    .bind(cap.actor().0)
    .bind(i64::from(input.emergency))
    .bind(status.code())
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    if input.emergency {
        assign_ref(conn, org, id, today).await?;
    }
    let stored = get_in(conn, OrgId(org), id).await?;
    let mut entry = ctx.entry("exception.apply", "exception", id);
    entry.unit_id = Some(input.unit_id);
    entry.after = Some(stored.audit_json());
    audit::append(conn, entry).await?;
    Ok(id)
}

/// Gives an exception the next reference number of its organisation and year.
async fn assign_ref(
    conn: &mut AnyConnection,
    org: i64,
    id: i64,
    today: Date,
) -> Result<String, ExceptionError> {
    let year = i64::from(today.year());
    let last: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(ref_seq) FROM exception_request WHERE org_id = $1 AND ref_year = $2",
    )
    .bind(org)
    .bind(year)
    .fetch_one(&mut *conn)
    .await?;
    let seq = last.unwrap_or(0) + 1;
    let ref_no = format!("例外-{year}-{seq:03}");
    sqlx::query(
        "UPDATE exception_request SET ref_no = $1, ref_year = $2, ref_seq = $3 WHERE id = $4 AND org_id = $5",
    )
    .bind(&ref_no)
    .bind(year)
    .bind(seq)
    .bind(id)
    .bind(org)
    .execute(&mut *conn)
    .await
    .map_err(|e| crate::unique_violation(e, ref_no.clone()))?;
    Ok(ref_no)
}

async fn get_in(conn: &mut AnyConnection, org: OrgId, id: i64) -> DbResult<Exception> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE e.id = $1 AND e.org_id = $2");
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(org.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(DbError::NotFound)
}

/// Reads one exception within the capability's reach (its unit), `NotFound` otherwise.
pub async fn get<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
    id: i64,
) -> DbResult<Exception> {
    let mut conn = db.pool().acquire().await?;
    let e = get_in(&mut conn, cap.org(), id).await?;
    if cap.covers(&tree.path(e.unit_id)) {
        Ok(e)
    } else {
        Err(DbError::NotFound)
    }
}

/// Every exception of the organisation within reach, newest first.
pub async fn list<P: Permission>(
    db: &Db,
    cap: &Capability<P>,
    tree: &UnitTree,
) -> DbResult<Vec<Exception>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE e.org_id = $1 ORDER BY e.id DESC");
    let rows: Vec<Exception> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0)
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .into_iter()
        .filter(|e| cap.covers(&tree.path(e.unit_id)))
        .collect())
}

/// The exception with reference `ref_no` in the organisation, whatever its state.
pub async fn by_ref(
    conn: &mut AnyConnection,
    org: i64,
    ref_no: &str,
) -> DbResult<Option<Exception>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE e.org_id = $1 AND e.ref_no = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(ref_no.trim())
        .fetch_optional(&mut *conn)
        .await?)
}

/// The references of every exception of the organisation in force on `today`.
pub async fn in_force_refs(
    conn: &mut AnyConnection,
    org: i64,
    today: Date,
) -> DbResult<std::collections::HashSet<String>> {
    let day = format_iso(today);
    let refs: Vec<String> = sqlx::query_scalar(
        "SELECT ref_no FROM exception_request WHERE org_id = $1 AND ref_no IS NOT NULL \
         AND status IN ('approved', 'provisional') AND valid_from <= $2 AND valid_to >= $2",
    )
    .bind(org)
    .bind(&day)
    .fetch_all(&mut *conn)
    .await?;
    Ok(refs.into_iter().collect())
}

/// Checks that `ref_no` names an exception of organisation `org` in force on `today`; the error
/// is the Japanese message to show. An empty reference is not checked here.
pub async fn check_ref(
    conn: &mut AnyConnection,
    org: i64,
    ref_no: &str,
    today: Date,
) -> DbResult<Result<Exception, String>> {
    let wanted = ref_no.trim();
    let Some(e) = by_ref(conn, org, wanted).await? else {
        return Ok(Err(format!(
            "例外措置「{wanted}」は承認された例外措置として登録されていません"
        )));
    };
    if e.in_force(today) {
        return Ok(Ok(e));
    }
    let why = if e.expired(today) {
        format!("期限（{}）が過ぎています", e.valid_to)
    } else if e.status().grants() {
        format!("期間（{}から）が始まっていません", e.valid_from)
    } else {
        format!("{}です", e.status().label_ja())
    };
    Ok(Err(format!(
        "例外措置「{wanted}」は適用中ではありません（{why}）"
    )))
}

/// The 情報セキュリティ責任者's step: endorse (to the CISO) or reject.
pub async fn endorse(
    conn: &mut AnyConnection,
    cap: &Capability<can::EndorseExceptions>,
    ctx: &AuditCtx,
    tree: &UnitTree,
    id: i64,
    approve: bool,
    comment: &str,
) -> Result<(), ExceptionError> {
    let before = get_in(conn, cap.org(), id).await?;
    if !cap.covers(&tree.path(before.unit_id)) {
        return Err(ExceptionError::Db(DbError::NotFound));
    }
    check_approver(PersonId(before.applicant_id), cap.actor())
        .map_err(|e| ExceptionError::Refused(e.to_string()))?;
    if before.status() != Status::Applied {
        return Err(ExceptionError::Refused(format!(
            "この申請は「{}」のため、責任者の承認はできません",
            before.status().label_ja()
        )));
    }
    let mut problems = Vec::new();
    too_long("所見", comment, &mut problems);
    if !approve && comment.trim().is_empty() {
        problems.push("却下する場合は理由を所見に入力してください".to_owned());
    }
    if !problems.is_empty() {
        return Err(ExceptionError::Invalid(problems.join("／")));
    }
    let status = if approve {
        Status::Endorsed
    } else {
        Status::Rejected
    };
    let n = sqlx::query(
        "UPDATE exception_request SET status = $1, endorsed_by = $2, endorsed_at = $3, \
         endorse_comment = $4, updated_at = $3, version = version + 1 \
         WHERE id = $5 AND org_id = $6 AND version = $7",
    )
    .bind(status.code())
    .bind(cap.actor().0)
    .bind(now_text())
    .bind(comment.trim())
    .bind(id)
    .bind(cap.org().0)
    .bind(before.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ExceptionError::Stale);
    }
    let mut entry = ctx.entry(
        if approve {
            "exception.endorse"
        } else {
            "exception.reject"
        },
        "exception",
        id,
    );
    entry.unit_id = Some(before.unit_id);
    entry.before = Some(json!({"status": before.status}));
    entry.after = Some(json!({"status": status.code(), "comment": comment.trim()}));
    audit::append(conn, entry).await?;
    Ok(())
}

/// The CISO's decision: approve (with conditions) or reject an endorsed application; on the
/// emergency path confirm or revoke a provisional one. Returns the reference number when it
/// comes (or stays) in force.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    conn: &mut AnyConnection,
    cap: &Capability<can::DecideExceptions>,
    ctx: &AuditCtx,
    id: i64,
    approve: bool,
    conditions: &str,
    comment: &str,
    today: Date,
) -> Result<Option<String>, ExceptionError> {
    let before = get_in(conn, cap.org(), id).await?;
    check_approver(PersonId(before.applicant_id), cap.actor())
        .map_err(|e| ExceptionError::Refused(e.to_string()))?;
    let status = match (before.status(), approve) {
        (Status::Endorsed | Status::Provisional, true) => Status::Approved,
        (Status::Endorsed, false) => Status::Rejected,
        (Status::Provisional, false) => Status::Revoked,
        (Status::Applied, _) => {
            return Err(ExceptionError::Refused(
                "情報セキュリティ責任者の承認がまだのため、決定できません".into(),
            ));
        }
        (other, _) => {
            return Err(ExceptionError::Refused(format!(
                "この申請は「{}」のため、決定できません",
                other.label_ja()
            )));
        }
    };
    let mut problems = Vec::new();
    too_long("条件", conditions, &mut problems);
    too_long("所見", comment, &mut problems);
    if !approve && comment.trim().is_empty() {
        problems.push("却下・取消しの場合は理由を所見に入力してください".to_owned());
    }
    if approve
        && parse_date(&before.valid_to)
            .ok()
            .is_some_and(|to| to < today)
    {
        problems.push("申請の期間が過ぎているため承認できません".to_owned());
    }
    if !problems.is_empty() {
        return Err(ExceptionError::Invalid(problems.join("／")));
    }
    let n = sqlx::query(
        "UPDATE exception_request SET status = $1, decided_by = $2, decided_at = $3, \
         conditions = $4, decision_comment = $5, updated_at = $3, version = version + 1 \
         WHERE id = $6 AND org_id = $7 AND version = $8",
    )
    .bind(status.code())
    .bind(cap.actor().0)
    .bind(now_text())
    .bind(conditions.trim())
    .bind(comment.trim())
    .bind(id)
    .bind(cap.org().0)
    .bind(before.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(ExceptionError::Stale);
    }
    let ref_no = match (&before.ref_no, status) {
        (Some(r), _) => Some(r.clone()),
        (None, Status::Approved) => Some(assign_ref(conn, cap.org().0, id, today).await?),
        (None, _) => None,
    };
    let action = match status {
        Status::Approved => "exception.approve",
        Status::Revoked => "exception.revoke",
        _ => "exception.reject",
    };
    let mut entry: NewEntry = ctx.entry(action, "exception", id);
    entry.unit_id = Some(before.unit_id);
    entry.before = Some(json!({"status": before.status}));
    entry.after = Some(json!({"status": status.code(), "ref_no": ref_no,
        "conditions": conditions.trim(), "comment": comment.trim()}));
    audit::append(conn, entry).await?;
    Ok(ref_no.filter(|_| status == Status::Approved))
}

/// The exceptions work of one person: approvals waiting for them (as 責任者 or CISO) and
/// exceptions expiring within [`EXPIRY_NOTICE_DAYS`] they applied for or decide.
pub async fn tasks_for(db: &Db, org: i64, person: i64, today: Date) -> DbResult<Vec<Task>> {
    let org_id = OrgId(org);
    let tree = crate::org::unit_tree(db, org_id).await?;
    let who = crate::org::person(db, org_id, person).await?;
    let actor = crate::org::actor(db, &who, &tree, &format_iso(today)).await?;
    tasks_of(db, org, person, &tree, &actor, today).await
}

/// As [`tasks_for`], for a caller that already holds the organisation's unit tree and the
/// person's roles in force.
pub async fn tasks_of(
    db: &Db,
    org: i64,
    person: i64,
    tree: &UnitTree,
    actor: &mamori_core::permission::Actor,
    today: Date,
) -> DbResult<Vec<Task>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE e.org_id = $1 AND e.status IN ('applied', 'endorsed', 'provisional', 'approved') \
         ORDER BY e.id"
    );
    let rows: Vec<Exception> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?;
    let endorse = actor.can::<can::EndorseExceptions>().ok();
    let decide = actor.can::<can::DecideExceptions>().ok();
    let mut tasks = Vec::new();
    for e in rows {
        let own = e.applicant_id == person;
        let href = format!("/exceptions/{}", e.id);
        let covers = |c: &Option<Capability<can::EndorseExceptions>>| {
            c.as_ref().is_some_and(|c| c.covers(&tree.path(e.unit_id)))
        };
        match e.status() {
            Status::Applied if !own && covers(&endorse) => tasks.push(Task {
                kind: TaskKind::Approve,
                title: format!("例外措置の申請（{}、{}）を承認する", e.clause_no, e.label()),
                href,
                due: None,
            }),
            Status::Endorsed | Status::Provisional if !own && decide.is_some() => {
                tasks.push(Task {
                    kind: TaskKind::Approve,
                    title: if e.status() == Status::Provisional {
                        format!("緊急の例外措置 {} を確認する（実施後報告）", e.label())
                    } else {
                        format!("例外措置の申請（{}、{}）を決定する", e.clause_no, e.label())
                    },
                    href,
                    due: None,
                })
            }
            _ if e.expiring(today) && (own || decide.is_some()) => tasks.push(Task {
                kind: TaskKind::FollowUp,
                title: format!("例外措置 {} の期限（{}）を確認する", e.label(), e.valid_to),
                due: parse_date(&e.valid_to).ok(),
                href,
            }),
            _ => {}
        }
    }
    Ok(tasks)
}
