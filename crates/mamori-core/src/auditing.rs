//! The information security audit (情報セキュリティ監査, 基本方針 §7): the vocabulary of plans,
//! engagements, checklist results, findings and corrective actions, and the checklist a set of
//! guideline clauses yields. Not to be confused with the audit *trail* (`mamori-db::audit`),
//! which records every change made in mamori.
//!
//! Every code below is stored in the database and used in the API; the Japanese labels are what
//! the pages, the printed report and the xlsx export show.

use serde::Serialize;

use crate::standards::{self, GuidelineClause};

macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => ($code:literal, $label:literal)),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable code (database, API, forms).
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),*
                }
            }

            /// The Japanese label.
            pub fn label_ja(self) -> &'static str {
                match self {
                    $($name::$variant => $label),*
                }
            }

            /// The value with this code, or with this Japanese label.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == s || v.label_ja() == s)
            }
        }
    };
}

coded_enum! {
    /// The kind of an audit plan.
    PlanKind {
        /// 中期計画: several fiscal years (often three).
        MidTerm => ("midterm", "中期"),
        /// 年度計画: one fiscal year.
        Annual => ("annual", "年度"),
        /// 特別監査: ordered by the CISO when needed; the order is recorded.
        Special => ("special", "特別"),
    }
}

coded_enum! {
    /// Where an engagement stands (準備 → 計画 → 実施中 → 報告 → フォローアップ → 完了).
    EngagementStatus {
        /// 準備: the engagement exists; scope and auditors are being settled.
        Preparation => ("preparation", "準備"),
        /// 計画: scope, criteria, auditors and schedule are fixed.
        Planning => ("planning", "計画"),
        /// 実施中: fieldwork.
        Fieldwork => ("fieldwork", "実施中"),
        /// 報告: the report is being written and delivered.
        Reporting => ("reporting", "報告"),
        /// フォローアップ: corrective actions are followed until closed.
        FollowUp => ("follow_up", "フォローアップ"),
        /// 完了: every finding is closed.
        Closed => ("closed", "完了"),
    }
}

impl EngagementStatus {
    /// The next status, `None` at the end.
    pub fn next(self) -> Option<EngagementStatus> {
        let all = Self::ALL;
        let i = all.iter().position(|s| *s == self)?;
        all.get(i + 1).copied()
    }

    /// Whether scope, criteria, auditors and schedule may still change.
    pub fn editable(self) -> bool {
        matches!(
            self,
            EngagementStatus::Preparation
                | EngagementStatus::Planning
                | EngagementStatus::Fieldwork
        )
    }

    /// Whether fieldwork and findings may be recorded.
    pub fn recording(self) -> bool {
        matches!(
            self,
            EngagementStatus::Fieldwork | EngagementStatus::Reporting
        )
    }
}

coded_enum! {
    /// The result of one checklist item.
    ItemResult {
        /// 適合: the control is in place.
        Conform => ("conform", "適合"),
        /// 不適合: it is not.
        Nonconform => ("nonconform", "不適合"),
        /// 観察: worth noting, not a nonconformity.
        Observation => ("observation", "観察"),
    }
}

coded_enum! {
    /// How serious a finding is.
    Severity {
        /// 重大.
        Major => ("major", "重大"),
        /// 中.
        Moderate => ("moderate", "中"),
        /// 軽微.
        Minor => ("minor", "軽微"),
        /// 観察: an observation; it needs a corrective action only if one is planned.
        Observation => ("observation", "観察"),
    }
}

coded_enum! {
    /// Where a corrective action stands (未着手 → 対応中 → 完了報告 → 確認済).
    ActionStatus {
        /// 未着手.
        Open => ("open", "未着手"),
        /// 対応中.
        InProgress => ("in_progress", "対応中"),
        /// 完了報告: the owner reports it done; an auditor confirms.
        Reported => ("reported", "完了報告"),
        /// 確認済: an auditor (not the owner) confirmed it; the finding is closed.
        Confirmed => ("confirmed", "確認済"),
    }
}

impl ActionStatus {
    /// Statuses the owner may set (the auditor alone sets 確認済).
    pub fn owner_may_set(self) -> bool {
        !matches!(self, ActionStatus::Confirmed)
    }
}

/// Whether a finding is closed: its corrective action was confirmed, or it is an observation
/// with no corrective action planned.
pub fn finding_closed(severity: Severity, action: Option<ActionStatus>) -> bool {
    match action {
        Some(s) => s == ActionStatus::Confirmed,
        None => severity == Severity::Observation,
    }
}

/// A checklist item generated from a clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistSeed {
    /// The guideline clause number.
    pub clause: &'static str,
    /// What to check, in Japanese.
    pub question: String,
}

/// The checklist for a set of criteria: one item per section; a chapter stands for all its
/// sections. Clauses are taken in guideline order, each once.
pub fn checklist(criteria: &[&'static GuidelineClause]) -> Vec<ChecklistSeed> {
    let mut wanted: Vec<&'static GuidelineClause> = Vec::new();
    for c in criteria {
        let mut sections: Vec<&'static GuidelineClause> =
            standards::sections_of(c.number).collect();
        if sections.is_empty() {
            sections.push(c);
        }
        for s in sections {
            if !wanted.iter().any(|w| w.number == s.number) {
                wanted.push(s);
            }
        }
    }
    let order = |c: &GuidelineClause| {
        standards::GUIDELINE
            .iter()
            .position(|g| g.number == c.number)
            .unwrap_or(usize::MAX)
    };
    wanted.sort_by_key(|c| order(c));
    wanted
        .into_iter()
        .map(|c| ChecklistSeed {
            clause: c.number,
            question: format!(
                "{} {}：{}この対策が定められ、実施されていることを記録・現場で確認する。",
                c.number, c.title, c.summary
            ),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_parse_back() {
        for s in EngagementStatus::ALL {
            assert_eq!(EngagementStatus::parse(s.code()), Some(*s));
            assert_eq!(EngagementStatus::parse(s.label_ja()), Some(*s));
        }
        assert_eq!(Severity::parse("重大"), Some(Severity::Major));
        assert_eq!(ActionStatus::parse("確認済"), Some(ActionStatus::Confirmed));
        assert_eq!(PlanKind::parse("nonsense"), None);
    }

    #[test]
    fn statuses_advance_one_step_to_closed() {
        let mut s = EngagementStatus::Preparation;
        let mut seen = vec![s];
        while let Some(n) = s.next() {
            seen.push(n);
            s = n;
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(s, EngagementStatus::Closed);
    }

    #[test]
    fn a_chapter_yields_its_sections_once_in_order() {
        let chapter = standards::clause("2-4").expect("2-4");
        let section = standards::clause("2-4-1").expect("2-4-1");
        let items = checklist(&[section, chapter]);
        let sections: Vec<_> = standards::sections_of("2-4").map(|c| c.number).collect();
        assert!(!sections.is_empty());
        let got: Vec<_> = items.iter().map(|i| i.clause).collect();
        assert_eq!(got, sections);
    }

    #[test]
    fn observations_close_without_an_action() {
        assert!(finding_closed(Severity::Observation, None));
        assert!(!finding_closed(Severity::Minor, None));
        assert!(!finding_closed(
            Severity::Observation,
            Some(ActionStatus::Reported)
        ));
        assert!(finding_closed(
            Severity::Major,
            Some(ActionStatus::Confirmed)
        ));
    }
}
