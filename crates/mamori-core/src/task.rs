//! A person's to-do items across the yearly cycle: answer a self-inspection, acknowledge a
//! policy version, approve an application, fix a finding, follow one up.
//!
//! Each part of mamori that creates work for people answers "what does this person have to do"
//! with [`Task`]s (in `mamori-db`, a `tasks_for` function per area); the dashboard lists them and
//! the reminder mail summarises them. Tasks are derived from the records themselves, never stored
//! separately, so they cannot drift from the state they describe.

use serde::Serialize;
use time::Date;

/// What kind of work a task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// Answer a self-inspection (自己点検への回答).
    Answer,
    /// Read and acknowledge a published policy version (遵守の誓約).
    Acknowledge,
    /// Decide on someone else's application or draft (承認).
    Approve,
    /// Carry out a corrective action or improvement (改善).
    Fix,
    /// Follow up an open item: an expiring exception, an overdue corrective action (フォローアップ).
    FollowUp,
}

impl TaskKind {
    /// The label shown in lists.
    pub fn label_ja(self) -> &'static str {
        match self {
            TaskKind::Answer => "回答",
            TaskKind::Acknowledge => "誓約",
            TaskKind::Approve => "承認",
            TaskKind::Fix => "改善",
            TaskKind::FollowUp => "フォローアップ",
        }
    }
}

/// One thing a person has to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    /// What kind.
    pub kind: TaskKind,
    /// What to do, in Japanese (「令和8年度 自己点検に回答する」).
    pub title: String,
    /// Where to do it: a path inside the application (`/inspections/3/answer`).
    pub href: String,
    /// When it is due, if there is a date.
    #[serde(with = "crate::calendar::iso_date_option")]
    pub due: Option<Date>,
}

impl Task {
    /// Whether the due date has passed on `today`.
    pub fn overdue(&self, today: Date) -> bool {
        self.due.is_some_and(|d| d < today)
    }
}

/// Orders tasks for display: overdue and soonest first, undated last, then by title.
pub fn sort(tasks: &mut [Task]) {
    tasks.sort_by(|a, b| {
        let key = |t: &Task| (t.due.is_none(), t.due);
        key(a).cmp(&key(b)).then_with(|| a.title.cmp(&b.title))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn task(title: &str, due: Option<Date>) -> Task {
        Task {
            kind: TaskKind::Fix,
            title: title.into(),
            href: "/".into(),
            due,
        }
    }

    #[test]
    fn dated_tasks_come_first_soonest_first() {
        let mut tasks = vec![
            task("c", None),
            task("b", Some(date!(2026 - 12 - 01))),
            task("a", Some(date!(2026 - 05 - 01))),
        ];
        sort(&mut tasks);
        let titles: Vec<_> = tasks.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["a", "b", "c"]);
        assert!(tasks[0].overdue(date!(2026 - 05 - 02)));
        assert!(!tasks[2].overdue(date!(2030 - 01 - 01)));
    }
}
