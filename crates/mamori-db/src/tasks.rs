//! Each person's to-do list across mamori, and the daily reminder mail built from it.
//!
//! Every area that creates work for people (asset register, standards and exceptions, policy
//! documents and acknowledgement, self-inspection, audits) answers [`for_person`] from its own records
//! (`tasks_for` in each module); nothing is stored here, so a task disappears the moment the
//! record it comes from is dealt with. [`queue_reminders`] turns the lists into one mail per
//! person and day in the outbox ([`crate::mail`]).

use mamori_core::calendar::{format_iso, format_wareki};
#[cfg(test)]
use mamori_core::task::TaskKind;
use mamori_core::task::{self, Task};
use time::{Date, Duration, Weekday};

use crate::audit;
use crate::mail::{self, MailKind, NewMail};
use crate::org::AuditCtx;
use crate::{Db, DbResult};

/// Everything `person` of `org` has to do on `today`, soonest first.
pub async fn for_person(db: &Db, org: i64, person: i64, today: Date) -> DbResult<Vec<Task>> {
    let mut tasks = crate::assets::tasks_for(db, org, person, today).await?;
    // The catalogue's list includes the exceptions' (application, endorsement, expiry).
    tasks.extend(crate::catalogue::tasks_for(db, org, person, today).await?);
    tasks.extend(crate::documents::tasks_for(db, org, person, today).await?);
    tasks.extend(crate::inspection::tasks_for(db, org, person, today).await?);
    tasks.extend(crate::auditing::tasks_for(db, org, person, today).await?);
    task::sort(&mut tasks);
    Ok(tasks)
}

/// Which persons a reminder run writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderRule {
    /// The daily run: a person with something overdue or due within a week, and on Mondays
    /// everyone with anything open.
    Daily,
    /// Everyone with anything open (a run asked for by hand).
    AnyOpen,
}

/// Days ahead within which a due task makes a daily reminder.
pub const DUE_SOON_DAYS: i64 = 7;

/// Whether `tasks` deserve a reminder today under `rule`.
pub fn worth_reminding(tasks: &[Task], today: Date, rule: ReminderRule) -> bool {
    if tasks.is_empty() {
        return false;
    }
    match rule {
        ReminderRule::AnyOpen => true,
        ReminderRule::Daily => {
            today.weekday() == Weekday::Monday
                || tasks.iter().any(|t| {
                    t.due
                        .is_some_and(|d| d <= today + Duration::days(DUE_SOON_DAYS))
                })
        }
    }
}

/// What a reminder run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReminderRun {
    /// Active persons looked at.
    pub persons: usize,
    /// Mails queued.
    pub queued: usize,
    /// Persons with something to remind of but no mail address.
    pub no_address: usize,
    /// Persons already reminded today.
    pub already: usize,
}

/// Queues today's reminder for every active person of `org` whose tasks call for one, at most
/// one per person and day. `base_url` (`https://mamori.example.lg.jp`) makes links absolute.
pub async fn queue_reminders(
    db: &Db,
    org: i64,
    today: Date,
    rule: ReminderRule,
    base_url: Option<&str>,
    ctx: &AuditCtx,
) -> DbResult<ReminderRun> {
    let persons: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, email FROM person WHERE org_id = $1 AND status = 'active' ORDER BY id",
    )
    .bind(org)
    .fetch_all(db.pool())
    .await?;
    let day = format_iso(today);
    let mut run = ReminderRun {
        persons: persons.len(),
        ..ReminderRun::default()
    };
    // Tasks are gathered outside the write transaction (they only read); the transaction then
    // re-checks "already reminded" so two runs at once still send one mail.
    let mut planned = Vec::new();
    for (id, name, email) in persons {
        let tasks = for_person(db, org, id, today).await?;
        if !worth_reminding(&tasks, today, rule) {
            continue;
        }
        if email.trim().is_empty() {
            run.no_address += 1;
            continue;
        }
        planned.push(NewMail {
            org_id: org,
            person_id: Some(id),
            kind: MailKind::DailyReminder,
            day: day.clone(),
            to_addr: email.trim().to_owned(),
            subject: format!("【mamori】対応が必要な作業が{}件あります", tasks.len()),
            body: reminder_body(&name, &tasks, today, base_url),
        });
    }
    let mut tx = db.begin_write().await?;
    for mail in &planned {
        let person = mail.person_id.unwrap_or_default();
        if mail::queued_on(&mut tx, person, MailKind::DailyReminder, &day).await? {
            run.already += 1;
            continue;
        }
        mail::enqueue(&mut tx, mail).await?;
        run.queued += 1;
    }
    let mut entry = ctx.entry("reminder.queue", "organisation", org);
    entry.after = Some(serde_json::json!({
        "day": day,
        "persons": run.persons,
        "queued": run.queued,
        "no_address": run.no_address,
        "already": run.already,
    }));
    audit::append(&mut tx, entry).await?;
    tx.commit().await?;
    Ok(run)
}

/// The reminder's text: overdue first, then due within a week, then the rest.
pub fn reminder_body(name: &str, tasks: &[Task], today: Date, base_url: Option<&str>) -> String {
    let soon = today + Duration::days(DUE_SOON_DAYS);
    let mut out = format!(
        "{name} さん\n\n情報セキュリティ管理システム mamori からのお知らせです。\n\
         対応が必要な作業が {} 件あります。\n",
        tasks.len()
    );
    // 0: overdue, 1: due within a week, 2: the rest.
    let group = |t: &Task| match t.due {
        Some(d) if d < today => 0,
        Some(d) if d <= soon => 1,
        _ => 2,
    };
    let headings = [
        "期限を過ぎている作業",
        "期限が近い作業（7日以内）",
        "その他の作業",
    ];
    for (index, heading) in headings.iter().enumerate() {
        let items: Vec<&Task> = tasks.iter().filter(|t| group(t) == index).collect();
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("\n■ {heading}\n"));
        for t in items {
            out.push_str(&format!("・[{}] {}", t.kind.label_ja(), t.title));
            if let Some(d) = t.due {
                out.push_str(&format!("（期限 {}）", format_wareki(d)));
            }
            out.push('\n');
            let link = match base_url {
                Some(base) => format!("{}{}", base.trim_end_matches('/'), t.href),
                None => t.href.clone(),
            };
            out.push_str(&format!("  {link}\n"));
        }
    }
    out.push_str(
        "\nこのメールは送信専用です。作業の一覧は mamori のホーム画面でも確認できます。\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn task(title: &str, kind: TaskKind, due: Option<Date>) -> Task {
        Task {
            kind,
            title: title.into(),
            href: "/x".into(),
            due,
        }
    }

    #[test]
    fn daily_rule_wants_something_due_soon_or_a_monday() {
        let tuesday = date!(2026 - 11 - 24);
        let far = vec![task("a", TaskKind::Fix, Some(date!(2027 - 03 - 01)))];
        assert!(!worth_reminding(&far, tuesday, ReminderRule::Daily));
        assert!(worth_reminding(&far, tuesday, ReminderRule::AnyOpen));
        assert!(worth_reminding(
            &far,
            date!(2026 - 11 - 23),
            ReminderRule::Daily
        ));
        let soon = vec![task("a", TaskKind::Fix, Some(date!(2026 - 11 - 30)))];
        assert!(worth_reminding(&soon, tuesday, ReminderRule::Daily));
        assert!(!worth_reminding(&[], tuesday, ReminderRule::AnyOpen));
    }

    #[test]
    fn the_body_groups_overdue_first_with_absolute_links() {
        let today = date!(2026 - 11 - 24);
        let tasks = vec![
            task("確認する", TaskKind::FollowUp, None),
            task(
                "誓約する",
                TaskKind::Acknowledge,
                Some(date!(2026 - 11 - 01)),
            ),
            task("回答する", TaskKind::Answer, Some(date!(2026 - 11 - 27))),
        ];
        let body = reminder_body("山田 太郎", &tasks, today, Some("https://m.example.lg.jp/"));
        let overdue = body.find("期限を過ぎている作業").unwrap();
        let soon = body.find("期限が近い作業").unwrap();
        let other = body.find("その他の作業").unwrap();
        assert!(overdue < soon && soon < other);
        assert!(body.contains("[誓約] 誓約する（期限 令和8年11月1日）"));
        assert!(body.contains("  https://m.example.lg.jp/x\n"));
        assert!(body.starts_with("山田 太郎 さん"));
    }
}
