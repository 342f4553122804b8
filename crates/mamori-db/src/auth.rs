//! Stored credentials and sessions: password hashes, TOTP secrets, recovery codes, server-side
//! sessions, login throttling and API tokens.
//!
//! Secrets that are presented later (session ids, API tokens, recovery codes) are stored only
//! as SHA-256 hashes; they are random and long, so a fast hash is enough and a stolen database
//! holds nothing that can be replayed.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::org::{PERSON_COLUMNS, Person};
use crate::{Db, DbError, DbResult, now_text};

/// SHA-256 of a presented secret, hex.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The stored password hash of a person (PHC string), if one is set.
pub async fn password_hash(db: &Db, person: i64) -> DbResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM person WHERE id = $1")
            .bind(person)
            .fetch_optional(db.pool())
            .await?
            .flatten(),
    )
}

/// Sets a person's password hash; `must_change` forces a change at next login.
pub async fn set_password_hash(
    conn: &mut AnyConnection,
    person: i64,
    hash: &str,
    must_change: bool,
) -> DbResult<()> {
    sqlx::query("UPDATE person SET password_hash = $1, must_change_password = $2, updated_at = $3 WHERE id = $4")
        .bind(hash)
        .bind(i64::from(must_change))
        .bind(now_text())
        .bind(person)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// TOTP state of a person: (secret base32, enabled, last accepted time step).
pub async fn totp_state(db: &Db, person: i64) -> DbResult<(Option<String>, bool, i64)> {
    let row =
        sqlx::query("SELECT totp_secret, totp_enabled, totp_last_step FROM person WHERE id = $1")
            .bind(person)
            .fetch_optional(db.pool())
            .await?
            .ok_or(DbError::NotFound)?;
    let secret: Option<String> = row.try_get(0)?;
    let enabled: i64 = row.try_get(1)?;
    let last: i64 = row.try_get(2)?;
    Ok((secret, enabled == 1, last))
}

/// Stores a pending (not yet confirmed) TOTP secret.
pub async fn set_totp_secret(
    conn: &mut AnyConnection,
    person: i64,
    secret: Option<&str>,
    enabled: bool,
) -> DbResult<()> {
    sqlx::query("UPDATE person SET totp_secret = $1, totp_enabled = $2, totp_last_step = 0, updated_at = $3 WHERE id = $4")
        .bind(secret)
        .bind(i64::from(enabled))
        .bind(now_text())
        .bind(person)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records the time step of an accepted code; refuses (returns false) a step already used, so
/// a code cannot be replayed within its window.
pub async fn accept_totp_step(conn: &mut AnyConnection, person: i64, step: i64) -> DbResult<bool> {
    let done =
        sqlx::query("UPDATE person SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
            .bind(step)
            .bind(person)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a person's recovery codes with new ones (hashes given).
pub async fn replace_recovery_codes(
    conn: &mut AnyConnection,
    person: i64,
    hashes: &[String],
) -> DbResult<()> {
    sqlx::query("DELETE FROM recovery_code WHERE person_id = $1")
        .bind(person)
        .execute(&mut *conn)
        .await?;
    for h in hashes {
        sqlx::query("INSERT INTO recovery_code (person_id, code_hash) VALUES ($1, $2)")
            .bind(person)
            .bind(h)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Uses a recovery code: true when it existed unused, and it is now spent.
pub async fn use_recovery_code(
    conn: &mut AnyConnection,
    person: i64,
    hash: &str,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE recovery_code SET used_at = $1 WHERE person_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now_text())
    .bind(person)
    .bind(hash)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many unused recovery codes a person has.
pub async fn recovery_codes_left(db: &Db, person: i64) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_code WHERE person_id = $1 AND used_at IS NULL",
    )
    .bind(person)
    .fetch_one(db.pool())
    .await?)
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// Hash of the cookie value.
    pub id_hash: String,
    /// Person.
    pub person_id: i64,
    /// CSRF token for forms.
    pub csrf_token: String,
    /// `password` (second factor pending), `enroll` (TOTP enrolment required),
    /// `change_password`, or `full`.
    pub stage: String,
    /// Created.
    pub created_at: String,
    /// Last request.
    pub last_seen_at: String,
    /// Absolute expiry.
    pub expires_at: String,
}

/// Creates a session (the caller generated the cookie value and CSRF token).
pub async fn create_session(
    conn: &mut AnyConnection,
    id_hash: &str,
    person: i64,
    csrf: &str,
    stage: &str,
    expires_at: &str,
    remote_addr: &str,
) -> DbResult<()> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO session (id_hash, person_id, csrf_token, stage, created_at, last_seen_at, expires_at, remote_addr) \
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(id_hash)
    .bind(person)
    .bind(csrf)
    .bind(stage)
    .bind(now)
    .bind(expires_at)
    .bind(remote_addr)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A session with its person.
pub async fn session(db: &Db, id_hash: &str) -> DbResult<Option<(Session, Person, i64)>> {
    let columns: Vec<String> = PERSON_COLUMNS
        .split(',')
        .map(|c| format!("p.{}", c.trim()))
        .collect();
    // One query: the session, its person and the organisation's change counter.
    let sql = format!(
        "SELECT s.id_hash AS s_id_hash, s.person_id AS s_person_id, s.csrf_token AS s_csrf_token, \
         s.stage AS s_stage, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at, \
         s.expires_at AS s_expires_at, o.generation AS org_generation, {} FROM session s \
         JOIN person p ON p.id = s.person_id JOIN organisation o ON o.id = p.org_id \
         WHERE s.id_hash = $1",
        columns.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id_hash)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let session = Session {
        id_hash: row.try_get("s_id_hash")?,
        person_id: row.try_get("s_person_id")?,
        csrf_token: row.try_get("s_csrf_token")?,
        stage: row.try_get("s_stage")?,
        created_at: row.try_get("s_created_at")?,
        last_seen_at: row.try_get("s_last_seen_at")?,
        expires_at: row.try_get("s_expires_at")?,
    };
    let person = <Person as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)?;
    let generation: i64 = row.try_get("org_generation")?;
    Ok(Some((session, person, generation)))
}

/// Marks a session as used now (idle timeout is measured from here).
pub async fn touch_session(db: &Db, id_hash: &str, now: &str) -> DbResult<()> {
    sqlx::query("UPDATE session SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(now)
        .bind(id_hash)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Moves a session to another stage.
pub async fn set_session_stage(
    conn: &mut AnyConnection,
    id_hash: &str,
    stage: &str,
) -> DbResult<()> {
    sqlx::query("UPDATE session SET stage = $1 WHERE id_hash = $2")
        .bind(stage)
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a session (logout, expiry).
pub async fn delete_session(conn: &mut AnyConnection, id_hash: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM session WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes every session of a person (password reset, retirement).
pub async fn delete_sessions_of(conn: &mut AnyConnection, person: i64) -> DbResult<()> {
    sqlx::query("DELETE FROM session WHERE person_id = $1")
        .bind(person)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes sessions past their absolute expiry or idle limit.
pub async fn purge_sessions(db: &Db, now: &str, idle_before: &str) -> DbResult<u64> {
    let done = sqlx::query("DELETE FROM session WHERE expires_at < $1 OR last_seen_at < $2")
        .bind(now)
        .bind(idle_before)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// The throttle state of one key (`login:<login>` or `addr:<address>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    /// Failures in the current window.
    pub failures: i64,
    /// Window start.
    pub window_start: String,
    /// Locked until (UTC), if locked.
    pub locked_until: Option<String>,
}

/// Reads a throttle key.
pub async fn throttle(db: &Db, key: &str) -> DbResult<Option<Throttle>> {
    let row = sqlx::query(
        "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Throttle {
        failures: row.try_get(0)?,
        window_start: row.try_get(1)?,
        locked_until: row.try_get(2)?,
    }))
}

/// Writes a throttle key.
pub async fn set_throttle(conn: &mut AnyConnection, key: &str, t: &Throttle) -> DbResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)")
        .bind(key)
        .bind(t.failures)
        .bind(&t.window_start)
        .bind(&t.locked_until)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Clears a throttle key (successful login, administrator unlock).
pub async fn clear_throttle(conn: &mut AnyConnection, key: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// Owner.
    pub person_id: i64,
    /// Name given at creation.
    pub name: String,
    /// First characters, to recognise it.
    pub prefix: String,
    /// Created.
    pub created_at: String,
    /// Last used.
    pub last_used_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
}

/// Stores a new token's hash.
pub async fn create_token(
    conn: &mut AnyConnection,
    person: i64,
    name: &str,
    hash: &str,
    prefix: &str,
) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO api_token (person_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(person)
    .bind(name)
    .bind(hash)
    .bind(prefix)
    .bind(now_text())
    .fetch_one(&mut *conn)
    .await?)
}

/// A person's tokens, newest first.
pub async fn tokens_of(db: &Db, person: i64) -> DbResult<Vec<ApiToken>> {
    Ok(sqlx::query_as(
        "SELECT id, person_id, name, prefix, created_at, last_used_at, revoked_at FROM api_token WHERE person_id = $1 ORDER BY id DESC",
    )
    .bind(person)
    .fetch_all(db.pool())
    .await?)
}

/// Revokes a token of a person; false when there was none to revoke.
pub async fn revoke_token(conn: &mut AnyConnection, person: i64, id: i64) -> DbResult<bool> {
    let done = sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND person_id = $3 AND revoked_at IS NULL")
        .bind(now_text())
        .bind(id)
        .bind(person)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A token found by its hash: its id and when it was last used.
#[derive(Debug, Clone)]
pub struct TokenUse {
    /// Token id.
    pub id: i64,
    /// Last use (UTC), if any.
    pub last_used_at: Option<String>,
    /// The owner's organisation's change counter, read in the same query, so the caller can
    /// tell whether its cached copy of the organisation is current without asking again.
    pub org_generation: i64,
}

/// The active person owning an unrevoked token with this hash (one query).
pub async fn person_by_token(db: &Db, hash: &str) -> DbResult<Option<(TokenUse, Person)>> {
    let columns: Vec<String> = PERSON_COLUMNS
        .split(',')
        .map(|c| format!("p.{}", c.trim()))
        .collect();
    let sql = format!(
        "SELECT t.id AS token_id, t.last_used_at AS token_last_used_at, o.generation AS org_generation, \
         {} FROM api_token t JOIN person p ON p.id = t.person_id JOIN organisation o ON o.id = p.org_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND p.status = 'active'",
        columns.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(hash)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let token = TokenUse {
        id: row.try_get("token_id")?,
        last_used_at: row.try_get("token_last_used_at")?,
        org_generation: row.try_get("org_generation")?,
    };
    let person = <Person as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)?;
    Ok(Some((token, person)))
}

/// Notes a token's use (at most once a minute per token matters; callers may skip it).
pub async fn touch_token(db: &Db, id: i64) -> DbResult<()> {
    sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE id = $2")
        .bind(now_text())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}
