//! mamori-db: the one database behind mamori, SQLite (embedded, default) or PostgreSQL.
//!
//! Both are reached through sqlx's `Any` driver with portable SQL: `$n` placeholders, `TEXT`
//! timestamps in fixed-width UTC (so they sort as text), `BIGINT` numbers and 0/1 flags. What
//! genuinely differs between the two (column types, triggers, write locking) is decided in
//! [`migrate`] and [`Db::begin_write`], nowhere else.

pub mod assets;
pub mod audit;
pub mod auditing;
pub mod auth;
pub mod catalogue;
pub mod documents;
pub mod exceptions;
pub mod import;
pub mod inspection;
mod json_rows;
pub mod mail;
pub mod migrate;
pub mod network;
pub mod org;
mod packed;
pub mod policy;
pub mod roster;
pub mod tasks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use sqlx::{Any, AnyConnection, Row, Transaction};

/// A write transaction.
pub type Tx = Transaction<'static, Any>;

/// Which database engine is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL mode).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database refused or failed a statement.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The URL names no supported database.
    #[error("unsupported database URL (use sqlite://… or postgres://…)")]
    UnsupportedUrl,
    /// A stored value could not be read back (a bug or a hand-edited database).
    #[error("corrupt stored value in {table}.{column}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A unique value already exists.
    #[error("{0} は既に使われています")]
    Duplicate(String),
    /// The row does not exist (or is outside the caller's organisation).
    #[error("not found")]
    NotFound,
    /// A migration checksum differs from the one applied: the binary and database disagree.
    #[error("migration {version} was changed after it was applied")]
    MigrationChanged {
        /// Migration version.
        version: i64,
    },
    /// JSON (de)serialisation of a stored document failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result of the storage layer.
pub type DbResult<T> = Result<T, DbError>;

/// A handle to the database: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://…`), creating a SQLite file
    /// when missing. Does not migrate: call [`migrate::run`].
    pub async fn connect(url: &str) -> DbResult<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(DbError::UnsupportedUrl);
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let options = AnyConnectOptions::from_str(&url)?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(url)?;
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?
            }
        };
        Ok(Db { pool, backend })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so the write lock is
    /// taken up front and a read-then-write transaction cannot fail half-way on a busy snapshot.
    pub async fn begin_write(&self) -> DbResult<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Answers whether the database responds (for `/healthz`).
    pub async fn ping(&self) -> DbResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (at shutdown, before a restore).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time as stored: UTC, microseconds, fixed width (`2026-04-01T00:00:00.000000Z`).
pub fn now_text() -> String {
    timestamp_text(OffsetDateTime::now_utc())
}

/// Formats a time as stored (see [`now_text`]).
pub fn timestamp_text(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// Reads a stored timestamp.
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Whether `conn` is the embedded SQLite database (else PostgreSQL).
pub(crate) fn is_sqlite(conn: &AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("sqlite")
}

/// The `VALUES` tuples of a multi-row statement whose every value is a parameter: `rows` rows of
/// `per_row` values, in binding order. On SQLite they are anonymous `?`: SQLite finds the name of
/// a numbered parameter by a linear search, so binding thousands of `$n` costs quadratic time (a
/// 500-row insert took a quarter of a second); PostgreSQL takes `$1 … $n`.
pub(crate) fn values_placeholders(conn: &AnyConnection, rows: usize, per_row: usize) -> String {
    let sqlite = is_sqlite(conn);
    let mut sql = String::with_capacity(rows * per_row * 6);
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for k in 1..=per_row {
            if k > 1 {
                sql.push_str(", ");
            }
            if sqlite {
                sql.push('?');
            } else {
                sql.push_str(&format!("${}", r * per_row + k));
            }
        }
        sql.push(')');
    }
    sql
}

/// Maps a unique-constraint violation to [`DbError::Duplicate`] naming `what`.
pub(crate) fn unique_violation(err: sqlx::Error, what: impl Into<String>) -> DbError {
    let is_unique = match &err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db.code().as_deref() == Some("23505")
                || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    };
    if is_unique {
        DbError::Duplicate(what.into())
    } else {
        DbError::Sqlx(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_timestamps_are_fixed_width_and_parse_back() {
        let t = time::macros::datetime!(2026-04-01 09:05:03.000042 +09:00);
        let s = timestamp_text(t);
        assert_eq!(s, "2026-04-01T00:05:03.000042Z");
        assert_eq!(parse_timestamp(&s), Some(t));
    }
}
