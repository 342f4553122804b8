//! Mail delivery: the outbox ([`mamori_db::mail`]) is sent over SMTP, and once a day every
//! person with open tasks is reminded of them ([`mamori_db::tasks::queue_reminders`]).
//!
//! Mail is optional. Without `--smtp-url` nothing is queued by the daily run and nothing is
//! sent; tasks still show on everyone's home page. Inside LGWAN the server hands mail to the
//! organisation's own relay, so plain SMTP to a configured host is what is spoken; the relay
//! decides the rest.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Tokio1Executor};
use mamori_db::org::AuditCtx;
use mamori_db::tasks::{self, ReminderRule};
use mamori_db::{Db, DbResult, mail};
use time::{OffsetDateTime, UtcOffset};

/// Japan time, which the reminder hour is read in.
const JST: UtcOffset = time::macros::offset!(+9);

/// Where and how mail is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// Relay host.
    pub host: String,
    /// Relay port (25 unless the URL names another).
    pub port: u16,
    /// The sender address (`mamori@kyonan.example.lg.jp`), optionally with a display name.
    pub from: String,
    /// How long one SMTP conversation may take.
    pub timeout: Duration,
}

/// A mail setting that cannot be used, with the reason in Japanese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl SmtpSettings {
    /// Reads `smtp://host[:port]` and the sender address.
    pub fn parse(url: &str, from: &str) -> Result<SmtpSettings, SettingsError> {
        // A URL with user information may hold a password: never repeat it.
        let shown = if url.contains('@') {
            "smtp://***@…"
        } else {
            url
        };
        let bad =
            |why: &str| SettingsError(format!("SMTPの設定が正しくありません（{shown}）: {why}"));
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| bad("smtp://ホスト名:ポート番号 の形で指定してください"))?;
        let rest = rest.trim_end_matches('/');
        if rest.contains('@') {
            return Err(bad(
                "URLに利用者名やパスワードを含めないでください（中継サーバ側で送信元を許可してください）",
            ));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("ポート番号が正しくありません"))?,
            ),
            _ => (rest, 25),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') {
            return Err(bad("ホスト名がありません"));
        }
        from.parse::<Mailbox>().map_err(|_| {
            SettingsError(format!(
                "送信元メールアドレスが正しくありません（{from}）: --mail-from で指定してください"
            ))
        })?;
        Ok(SmtpSettings {
            host: host.to_owned(),
            port,
            from: from.to_owned(),
            timeout: Duration::from_secs(30),
        })
    }
}

/// What a delivery pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Mails handed to the relay.
    pub sent: usize,
    /// Mails the relay (or the network) refused this time; they are retried later.
    pub failed: usize,
}

/// Sends every mail whose turn has come; returns how many went and how many failed.
pub async fn deliver_due(db: &Db, smtp: &SmtpSettings) -> DbResult<Delivery> {
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(smtp.timeout))
        .build();
    let mut run = Delivery::default();
    loop {
        let batch = mail::due(db, 50).await?;
        if batch.is_empty() {
            return Ok(run);
        }
        let mut progressed = false;
        for m in batch {
            match send_one(&transport, smtp, &m).await {
                Ok(()) => {
                    mail::mark_sent(db, m.id).await?;
                    run.sent += 1;
                    progressed = true;
                }
                Err(e) => {
                    // The address is the recipient's; the reason is the relay's reply. Neither is
                    // a secret, and the operator needs both.
                    tracing::warn!(mail = m.id, error = %e, "mail delivery failed; will retry");
                    mail::mark_failed(db, &m, &e).await?;
                    run.failed += 1;
                }
            }
        }
        if !progressed {
            // Everything in this batch failed and now waits for its retry time.
            return Ok(run);
        }
    }
}

async fn send_one(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    smtp: &SmtpSettings,
    m: &mail::Mail,
) -> Result<(), String> {
    let from: Mailbox = smtp
        .from
        .parse()
        .map_err(|e| format!("送信元アドレスが正しくありません: {e}"))?;
    let to: Mailbox = m
        .to_addr
        .parse()
        .map_err(|e| format!("宛先アドレスが正しくありません（{}）: {e}", m.to_addr))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .message_id(None)
        .body(m.body.clone())
        .map_err(|e| format!("メールを組み立てられません: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

/// Settings of the background mailer.
#[derive(Debug, Clone)]
pub struct MailerSettings {
    /// The relay and sender.
    pub smtp: SmtpSettings,
    /// The hour (Japan time, 0–23) from which the daily reminders are queued.
    pub reminder_hour: u8,
    /// Base URL for links in mail (`https://mamori.example.lg.jp`).
    pub public_url: Option<String>,
    /// How often the outbox is looked at.
    pub poll: Duration,
}

/// Runs the mailer until the process ends: every `poll`, delivers what is due, and once a day
/// after `reminder_hour` queues every organisation's reminders.
pub fn spawn(db: Db, settings: MailerSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_day = None;
        loop {
            let now = OffsetDateTime::now_utc().to_offset(JST);
            let today = now.date();
            if now.hour() >= settings.reminder_hour && last_day != Some(today) {
                match remind_all(&db, today, settings.public_url.as_deref()).await {
                    Ok(queued) => {
                        tracing::info!(queued, "daily reminders queued");
                        last_day = Some(today);
                    }
                    Err(e) => tracing::error!(error = %e, "daily reminders failed; will retry"),
                }
            }
            if let Err(e) = deliver_due(&db, &settings.smtp).await {
                tracing::error!(error = %e, "mail outbox could not be read");
            }
            tokio::time::sleep(settings.poll).await;
        }
    })
}

/// Queues today's daily reminders for every organisation; returns how many mails were queued.
pub async fn remind_all(db: &Db, today: time::Date, public_url: Option<&str>) -> DbResult<usize> {
    let ctx = AuditCtx {
        org_id: None,
        actor_id: None,
        actor: "system".into(),
        request_id: None,
    };
    let mut queued = 0;
    for org in mamori_db::org::organisations(db).await? {
        let ctx = AuditCtx {
            org_id: Some(org.id),
            ..ctx.clone()
        };
        let run = tasks::queue_reminders(db, org.id, today, ReminderRule::Daily, public_url, &ctx)
            .await?;
        queued += run.queued;
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_read_strictly() {
        let s =
            SmtpSettings::parse("smtp://relay.example.lg.jp:2525", "mamori@example.lg.jp").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("relay.example.lg.jp", 2525));
        let s = SmtpSettings::parse("smtp://10.0.0.5", "mamori <mamori@example.lg.jp>").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("10.0.0.5", 25));
        let s = SmtpSettings::parse("smtp://[::1]:25", "m@example.lg.jp").unwrap();
        assert_eq!(s.host, "::1");
        for bad in [
            "mail.example.lg.jp",
            "smtp://",
            "smtp://host:0",
            "smtp://host:x",
            "smtp://user:secret@host:25",
        ] {
            let e = SmtpSettings::parse(bad, "m@example.lg.jp").unwrap_err();
            assert!(e.0.contains("SMTPの設定"), "{bad}: {e}");
            assert!(!e.0.contains("secret"), "{e}");
        }
        assert!(SmtpSettings::parse("smtp://h", "not an address").is_err());
    }
}
