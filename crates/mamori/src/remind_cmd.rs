//! `mamori remind` and the mail options `serve` shares: queue the reminder mails now (for a
//! scheduler outside mamori, or to catch up) and optionally deliver them at once.

use std::process::ExitCode;

use anyhow::Context;
use mamori_db::Db;
use mamori_db::org::AuditCtx;
use mamori_db::tasks::{self, ReminderRule};
use mamori_web::mailer::{self, MailerSettings, SmtpSettings};

/// Mail options (`serve` and `remind`).
#[derive(Debug, Clone, clap::Args)]
pub struct MailArgs {
    /// SMTP relay for reminder mail, `smtp://host[:port]` (no mail is sent without it).
    #[arg(long, env = "MAMORI_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender address of mamori's mail.
    #[arg(long, env = "MAMORI_MAIL_FROM", default_value = "mamori@localhost")]
    pub mail_from: String,
    /// The address users reach mamori at (`https://mamori.example.lg.jp`), for links in mail.
    #[arg(long, env = "MAMORI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Hour of the day (Japan time, 0–23) from which the daily reminders are queued.
    #[arg(long, env = "MAMORI_REMINDER_HOUR", default_value_t = 8, value_parser = clap::value_parser!(u8).range(0..=23))]
    pub reminder_hour: u8,
}

impl MailArgs {
    /// The SMTP settings, when a relay is named; a clear error when they cannot be used.
    pub fn smtp(&self) -> anyhow::Result<Option<SmtpSettings>> {
        match &self.smtp_url {
            None => Ok(None),
            Some(url) if url.trim().is_empty() => Ok(None),
            Some(url) => Ok(Some(SmtpSettings::parse(url.trim(), &self.mail_from)?)),
        }
    }

    /// The background mailer's settings, when mail is configured.
    pub fn mailer(&self) -> anyhow::Result<Option<MailerSettings>> {
        Ok(self.smtp()?.map(|smtp| MailerSettings {
            smtp,
            reminder_hour: self.reminder_hour,
            public_url: self.public_url.clone(),
            poll: std::time::Duration::from_secs(30),
        }))
    }
}

/// Options of `mamori remind`.
#[derive(Debug, clap::Args)]
pub struct RemindArgs {
    /// Remind everyone with any open task (default: only what is overdue or due within a week,
    /// and everything on Mondays).
    #[arg(long)]
    pub all_open: bool,
    /// Only this organisation (its code); default every organisation.
    #[arg(long)]
    pub org: Option<String>,
    /// Deliver the queued mail now through `--smtp-url` instead of leaving it to the server.
    #[arg(long)]
    pub send: bool,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// `mamori remind`: exit 0 when the reminders were queued (and, with `--send`, every mail was
/// delivered), 1 when some delivery failed (it stays queued for a retry), 2 on bad options.
pub async fn run(db: &Db, args: RemindArgs) -> anyhow::Result<ExitCode> {
    let smtp = args.mail.smtp()?;
    if args.send && smtp.is_none() {
        anyhow::bail!("--send にはSMTPの中継サーバ（--smtp-url）の指定が必要です");
    }
    let rule = if args.all_open {
        ReminderRule::AnyOpen
    } else {
        ReminderRule::Daily
    };
    let today = mamori_core::calendar::today_jst();
    let orgs = mamori_db::org::organisations(db).await?;
    let chosen: Vec<_> = match &args.org {
        Some(code) => {
            let found: Vec<_> = orgs.into_iter().filter(|o| &o.code == code).collect();
            if found.is_empty() {
                anyhow::bail!("団体コード {code} は登録されていません");
            }
            found
        }
        None => orgs,
    };
    for org in &chosen {
        let ctx = AuditCtx {
            org_id: Some(org.id),
            actor_id: None,
            actor: "cli".into(),
            request_id: None,
        };
        let run = tasks::queue_reminders(
            db,
            org.id,
            today,
            rule,
            args.mail.public_url.as_deref(),
            &ctx,
        )
        .await
        .with_context(|| format!("{} のリマインダーを作成できません", org.name))?;
        println!(
            "{}: 在職者 {} 名、リマインダー {} 通を作成（本日作成済み {} 名、メールアドレス未登録 {} 名）",
            org.name, run.persons, run.queued, run.already, run.no_address
        );
    }
    if let (true, Some(smtp)) = (args.send, smtp) {
        let d = mailer::deliver_due(db, &smtp).await?;
        println!(
            "送信 {} 通、失敗 {} 通（失敗分は後で再送されます）",
            d.sent, d.failed
        );
        if d.failed > 0 {
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}
