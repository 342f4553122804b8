//! Versions of an organisation's network description (三層の対策, 基本方針 §6(3)).
//!
//! The description is kept as the TOML text it was written in (the `mamori netcheck` format),
//! numbered per organisation. Saving always adds a version; nothing is overwritten, so the
//! network as it stood at any audit can be shown again. Reading and writing take a capability,
//! and every query is confined to the capability's organisation.

use mamori_core::permission::{Capability, can};
use serde::Serialize;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit;
use crate::org::AuditCtx;
use crate::{Db, DbResult, now_text, unique_violation};

/// A stored version with its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NetworkVersion {
    /// 1, 2, …
    pub version_no: i64,
    /// The description, as TOML.
    pub toml: String,
    /// Why this version was made.
    pub note: String,
    /// Who made it (none for the demo loader and the command line).
    pub created_by: Option<i64>,
    /// Their name, while they are on the register.
    pub created_by_name: Option<String>,
    /// When (UTC).
    pub created_at: String,
}

/// A stored version without its text (for lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct VersionInfo {
    /// 1, 2, …
    pub version_no: i64,
    /// Length of the TOML text in characters.
    pub chars: i64,
    /// Why this version was made.
    pub note: String,
    /// Who made it.
    pub created_by: Option<i64>,
    /// Their name.
    pub created_by_name: Option<String>,
    /// When (UTC).
    pub created_at: String,
}

// The author's name is joined within the same organisation only.
const FROM: &str =
    "FROM network_model n LEFT JOIN person p ON p.id = n.created_by AND p.org_id = n.org_id";
const COLUMNS: &str =
    "n.version_no, n.toml, n.note, n.created_by, p.name AS created_by_name, n.created_at";
const INFO_COLUMNS: &str = "n.version_no, CAST(LENGTH(n.toml) AS BIGINT) AS chars, n.note, n.created_by, \
     p.name AS created_by_name, n.created_at";

/// The newest version, if any.
pub async fn current(
    db: &Db,
    cap: &Capability<can::ViewNetwork>,
) -> DbResult<Option<NetworkVersion>> {
    let sql =
        format!("SELECT {COLUMNS} {FROM} WHERE n.org_id = $1 ORDER BY n.version_no DESC LIMIT 1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0)
        .fetch_optional(db.pool())
        .await?)
}

/// One version by number.
pub async fn version(
    db: &Db,
    cap: &Capability<can::ViewNetwork>,
    version_no: i64,
) -> DbResult<Option<NetworkVersion>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE n.org_id = $1 AND n.version_no = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0)
        .bind(version_no)
        .fetch_optional(db.pool())
        .await?)
}

/// Every version, newest first, without the text.
pub async fn versions(db: &Db, cap: &Capability<can::ViewNetwork>) -> DbResult<Vec<VersionInfo>> {
    let sql =
        format!("SELECT {INFO_COLUMNS} {FROM} WHERE n.org_id = $1 ORDER BY n.version_no DESC");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(cap.org().0)
        .fetch_all(db.pool())
        .await?)
}

/// Stores `toml` as the version after the newest, inside the caller's write transaction, and
/// records it in the audit trail in the same transaction; returns its number. The caller has
/// already checked that the text is a valid description.
pub async fn add_version(
    conn: &mut AnyConnection,
    cap: &Capability<can::EditNetwork>,
    ctx: &AuditCtx,
    toml: &str,
    note: &str,
) -> DbResult<i64> {
    let org = cap.org().0;
    let next: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version_no), 0) + 1 FROM network_model WHERE org_id = $1",
    )
    .bind(org)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO network_model (org_id, version_no, toml, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(org)
    .bind(next)
    .bind(toml)
    .bind(note)
    .bind(ctx.actor_id)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await
    // Two saves racing on PostgreSQL can pick the same number; the second is refused whole.
    .map_err(|e| unique_violation(e, format!("ネットワーク構成の第{next}版")))?;
    let mut entry = ctx.entry("network.version.create", "network_model", id);
    entry.org_id = Some(org);
    // The text itself can be large; its digest identifies it in the trail.
    entry.after = Some(json!({
        "version_no": next,
        "note": note,
        "bytes": toml.len(),
        "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(toml.as_bytes())),
    }));
    audit::append(conn, entry).await?;
    Ok(next)
}
