//! Versions of the basic policy (基本方針) as structured documents.
//!
//! Each version is stored whole as JSON (sections, glossary, threats, scope), numbered per
//! organisation; versions once published are kept unchanged. Each version is also a version of
//! the organisation's 基本方針 document ([`crate::documents`]), which carries its approval
//! state: the version shown as the policy is the one published, not merely the newest.

use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit;
use crate::org::AuditCtx;
use crate::{Db, DbError, DbResult, now_text};

/// A stored policy version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PolicyVersion {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// 1, 2, …
    pub version_no: i64,
    /// Title.
    pub title: String,
    /// Adoption date (YYYY-MM-DD).
    pub adopted_on: Option<String>,
    /// `shipped`, `imported` or `edited`.
    pub source: String,
    /// The document as JSON.
    pub content_json: String,
    /// Why this version was made.
    pub note: String,
    /// Who made it.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: String,
    /// Approval state of the version ([`mamori_core::document::VersionStatus::code`]); empty
    /// when read from `policy_version` alone.
    #[sqlx(default)]
    pub status: String,
}

const COLUMNS: &str = "p.id, p.org_id, p.version_no, p.title, p.adopted_on, p.source, p.content_json, p.note, \
     p.created_by, p.created_at, COALESCE(d.status, 'published') AS status";
const FROM: &str =
    "FROM policy_version p LEFT JOIN document_version d ON d.policy_version_id = p.id";

/// The version of an organisation's policy in force (published).
pub async fn current(db: &Db, org: i64) -> DbResult<Option<PolicyVersion>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE p.org_id = $1 AND COALESCE(d.status, 'published') = 'published' \
         ORDER BY p.version_no DESC LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_optional(db.pool())
        .await?)
}

/// One version by number.
pub async fn version(db: &Db, org: i64, version_no: i64) -> DbResult<Option<PolicyVersion>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.org_id = $1 AND p.version_no = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(version_no)
        .fetch_optional(db.pool())
        .await?)
}

/// Every version, newest first.
pub async fn versions(db: &Db, org: i64) -> DbResult<Vec<PolicyVersion>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE p.org_id = $1 ORDER BY p.version_no DESC");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?)
}

/// A new version to store.
#[derive(Debug, Clone)]
pub struct NewVersion<'a> {
    /// Title.
    pub title: &'a str,
    /// Adoption date.
    pub adopted_on: Option<&'a str>,
    /// `shipped`, `imported` or `edited`.
    pub source: &'a str,
    /// Document.
    pub content: &'a serde_json::Value,
    /// Why.
    pub note: &'a str,
}

/// Stores a new version after the newest and publishes it at once, superseding the version in
/// force; returns its number. For the shipped structure and the operator's command-line import
/// (`mamori policy import`), which record a policy already adopted outside mamori; changes made
/// on the web go through [`add_draft`] and the CISO's approval.
pub async fn add_version(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    v: &NewVersion<'_>,
) -> DbResult<i64> {
    store(conn, org, ctx, v, true).await
}

/// Stores a new version as a draft of the 基本方針 document; returns its number. It comes
/// into force once submitted, approved by the CISO and published ([`crate::documents`]).
pub async fn add_draft(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    v: &NewVersion<'_>,
) -> DbResult<i64> {
    store(conn, org, ctx, v, false).await
}

/// Replaces the content of a 基本方針 version that is still a draft.
pub async fn replace_draft(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    version_no: i64,
    v: &NewVersion<'_>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE policy_version SET title = $1, adopted_on = $2, source = $3, content_json = $4, note = $5 \
         WHERE org_id = $6 AND version_no = $7 AND id IN \
         (SELECT policy_version_id FROM document_version WHERE org_id = $6 AND status = 'draft' AND policy_version_id IS NOT NULL)",
    )
    .bind(v.title)
    .bind(v.adopted_on)
    .bind(v.source)
    .bind(v.content.to_string())
    .bind(v.note)
    .bind(org)
    .bind(version_no)
    .execute(&mut *conn)
    .await?;
    let mut entry = ctx.entry("policy.version.edit", "policy_version", version_no);
    entry.org_id = Some(org);
    entry.after = Some(json!({"version_no": version_no, "title": v.title, "note": v.note}));
    audit::append(conn, entry).await?;
    Ok(())
}

async fn store(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    v: &NewVersion<'_>,
    publish: bool,
) -> DbResult<i64> {
    let next: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version_no), 0) + 1 FROM policy_version WHERE org_id = $1",
    )
    .bind(org)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO policy_version (org_id, version_no, title, adopted_on, source, content_json, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(org)
    .bind(next)
    .bind(v.title)
    .bind(v.adopted_on)
    .bind(v.source)
    .bind(v.content.to_string())
    .bind(v.note)
    .bind(ctx.actor_id)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?;
    let mut entry = ctx.entry("policy.version.create", "policy_version", id);
    entry.org_id = Some(org);
    entry.after =
        Some(json!({"version_no": next, "title": v.title, "source": v.source, "note": v.note}));
    audit::append(conn, entry).await?;
    crate::documents::attach_policy_version(conn, org, ctx, id, next, v.title, v.note, publish)
        .await
        .map_err(|e| match e {
            crate::documents::DocError::Db(e) => e,
            other => DbError::Corrupt {
                table: "document_version",
                column: "status",
                detail: other.to_string(),
            },
        })?;
    Ok(next)
}
