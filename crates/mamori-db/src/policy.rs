//! Versions of the basic policy (基本方針) as structured documents.
//!
//! Each version is stored whole as JSON (sections, glossary, threats, scope), numbered per
//! organisation; older versions are kept unchanged.

use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit;
use crate::org::AuditCtx;
use crate::{Db, DbResult, now_text};

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
}

const COLUMNS: &str =
    "id, org_id, version_no, title, adopted_on, source, content_json, note, created_by, created_at";

/// The newest version of an organisation's policy.
pub async fn current(db: &Db, org: i64) -> DbResult<Option<PolicyVersion>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM policy_version WHERE org_id = $1 ORDER BY version_no DESC LIMIT 1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_optional(db.pool())
        .await?)
}

/// One version by number.
pub async fn version(db: &Db, org: i64, version_no: i64) -> DbResult<Option<PolicyVersion>> {
    let sql = format!("SELECT {COLUMNS} FROM policy_version WHERE org_id = $1 AND version_no = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .bind(version_no)
        .fetch_optional(db.pool())
        .await?)
}

/// Every version, newest first.
pub async fn versions(db: &Db, org: i64) -> DbResult<Vec<PolicyVersion>> {
    let sql =
        format!("SELECT {COLUMNS} FROM policy_version WHERE org_id = $1 ORDER BY version_no DESC");
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

/// Stores a new version after the newest; returns its number.
pub async fn add_version(
    conn: &mut AnyConnection,
    org: i64,
    ctx: &AuditCtx,
    v: &NewVersion<'_>,
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
    Ok(next)
}
