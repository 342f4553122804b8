//! The mail outbox: reminders and notices queued for delivery by the server's mailer.
//!
//! Nothing here talks SMTP. Rows are written in the transaction that decided to send them and
//! picked up by the mailer when SMTP is configured; a failed delivery is retried with a growing
//! pause and given up after [`MAX_ATTEMPTS`]. Delivered rows stay as the record of what was sent
//! to whom, so a daily reminder is never sent twice for the same person and day.

use serde::Serialize;
use sqlx::AnyConnection;
use time::{Duration, OffsetDateTime};

use crate::{Db, DbResult, now_text, timestamp_text};

/// Deliveries tried before a mail is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// What a queued mail is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// The daily summary of a person's open tasks.
    DailyReminder,
    /// A reminder someone asked for explicitly (e.g. to acknowledge the policy).
    Reminder,
    /// A notice (a decision, an assignment).
    Notice,
}

impl MailKind {
    /// Stored code.
    pub fn code(self) -> &'static str {
        match self {
            MailKind::DailyReminder => "daily_reminder",
            MailKind::Reminder => "reminder",
            MailKind::Notice => "notice",
        }
    }
}

/// A mail to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    /// Organisation.
    pub org_id: i64,
    /// The person it is for, when it is for one.
    pub person_id: Option<i64>,
    /// What it is for.
    pub kind: MailKind,
    /// The day (YYYY-MM-DD, Japan time) it belongs to.
    pub day: String,
    /// Recipient address.
    pub to_addr: String,
    /// Subject (Japanese is fine; the mailer encodes it).
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// A queued or delivered mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Mail {
    /// Id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// The person it is for.
    pub person_id: Option<i64>,
    /// `daily_reminder`, `reminder` or `notice`.
    pub kind: String,
    /// Day it belongs to.
    pub day: String,
    /// Recipient.
    pub to_addr: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Queued at (UTC).
    pub created_at: String,
    /// Delivered at (UTC).
    pub sent_at: Option<String>,
    /// Deliveries tried.
    pub attempts: i64,
    /// The last delivery error, for the operator.
    pub last_error: String,
}

const COLUMNS: &str = "id, org_id, person_id, kind, day, to_addr, subject, body, created_at, \
                       sent_at, attempts, last_error";

/// Queues a mail inside the caller's transaction.
pub async fn enqueue(conn: &mut AnyConnection, mail: &NewMail) -> DbResult<i64> {
    let now = now_text();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO mail_outbox (org_id, person_id, kind, day, to_addr, subject, body, created_at, \
         next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(mail.org_id)
    .bind(mail.person_id)
    .bind(mail.kind.code())
    .bind(&mail.day)
    .bind(&mail.to_addr)
    .bind(&mail.subject)
    .bind(&mail.body)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Whether a mail of `kind` was already queued for `person` on `day`.
pub async fn queued_on(
    conn: &mut AnyConnection,
    person: i64,
    kind: MailKind,
    day: &str,
) -> DbResult<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE person_id = $1 AND kind = $2 AND day = $3",
    )
    .bind(person)
    .bind(kind.code())
    .bind(day)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// Mails waiting for delivery whose next attempt is due, oldest first.
pub async fn due(db: &Db, limit: u32) -> DbResult<Vec<Mail>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE sent_at IS NULL AND attempts < {MAX_ATTEMPTS} \
         AND next_attempt_at <= $1 ORDER BY id LIMIT {limit}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(now_text())
        .fetch_all(db.pool())
        .await?)
}

/// Records a delivery.
pub async fn mark_sent(db: &Db, id: i64) -> DbResult<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
        .bind(now_text())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a failed delivery; the next attempt waits 1, 2, 4 … minutes (at most a day).
pub async fn mark_failed(db: &Db, mail: &Mail, error: &str) -> DbResult<()> {
    let attempts = mail.attempts.saturating_add(1);
    let pause = Duration::minutes(1i64 << attempts.clamp(0, 10)).min(Duration::days(1));
    let next = timestamp_text(OffsetDateTime::now_utc() + pause);
    // Server replies can be long; keep what an operator needs.
    let error: String = error.chars().take(500).collect();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE mail_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
    )
    .bind(attempts)
    .bind(next)
    .bind(error)
    .bind(mail.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The newest mails of an organisation (queued, delivered and given up).
pub async fn recent(db: &Db, org: i64, limit: u32) -> DbResult<Vec<Mail>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE org_id = $1 ORDER BY id DESC LIMIT {limit}"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_all(db.pool())
        .await?)
}

/// Counts of an organisation's outbox: (waiting, delivered, given up).
pub async fn counts(db: &Db, org: i64) -> DbResult<(i64, i64, i64)> {
    let sql = format!(
        "SELECT \
         COALESCE(SUM(CASE WHEN sent_at IS NULL AND attempts < {MAX_ATTEMPTS} THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
         COALESCE(SUM(CASE WHEN sent_at IS NULL AND attempts >= {MAX_ATTEMPTS} THEN 1 ELSE 0 END), 0) \
         FROM mail_outbox WHERE org_id = $1"
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(org)
        .fetch_one(db.pool())
        .await?)
}
