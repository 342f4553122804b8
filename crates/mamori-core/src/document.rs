//! Policy documents (基本方針, 対策基準, 実施手順) and their versions, and review records
//! (見直し, §8): kinds, states, who may read a 実施手順 (§10), and the threat re-assessment scale.
//!
//! A version moves draft → submitted (審査) → approved (CISO) → published → superseded; the
//! allowed moves are [`VersionStatus::next_allowed`], so a handler cannot skip a step.

use serde::{Deserialize, Serialize};

use crate::org::UnitId;
use crate::permission::Actor;
use crate::role::Role;

/// The three layers of the policy (DOMAIN.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// 情報セキュリティ基本方針: public; one per organisation.
    BasicPolicy,
    /// 情報セキュリティ対策基準: internal.
    Standard,
    /// 情報セキュリティ実施手順: per system or unit, non-public (§10), readable only by its list.
    Procedure,
}

impl DocKind {
    /// Every kind.
    pub const ALL: [DocKind; 3] = [DocKind::BasicPolicy, DocKind::Standard, DocKind::Procedure];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            DocKind::BasicPolicy => "basic_policy",
            DocKind::Standard => "standard",
            DocKind::Procedure => "procedure",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            DocKind::BasicPolicy => "基本方針",
            DocKind::Standard => "対策基準",
            DocKind::Procedure => "実施手順",
        }
    }

    /// From the code.
    pub fn from_code(code: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether every 職員等 must acknowledge a new published version (§5).
    pub fn needs_acknowledgement(self) -> bool {
        matches!(self, DocKind::BasicPolicy | DocKind::Standard)
    }
}

/// Where a version is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    /// Being written (下書き).
    Draft,
    /// Submitted for the CISO's approval (審査中).
    Submitted,
    /// Approved by the CISO, not yet in force (承認済み).
    Approved,
    /// In force (公開中).
    Published,
    /// Replaced by a later published version (旧版).
    Superseded,
}

impl VersionStatus {
    /// Every state, in order.
    pub const ALL: [VersionStatus; 5] = [
        VersionStatus::Draft,
        VersionStatus::Submitted,
        VersionStatus::Approved,
        VersionStatus::Published,
        VersionStatus::Superseded,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Submitted => "submitted",
            VersionStatus::Approved => "approved",
            VersionStatus::Published => "published",
            VersionStatus::Superseded => "superseded",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            VersionStatus::Draft => "下書き",
            VersionStatus::Submitted => "承認待ち",
            VersionStatus::Approved => "承認済み（未公開）",
            VersionStatus::Published => "公開中",
            VersionStatus::Superseded => "旧版",
        }
    }

    /// From the code.
    pub fn from_code(code: &str) -> Option<VersionStatus> {
        VersionStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the version was ever in force (published now or before): such versions are
    /// readable by everyone allowed to read the document, drafts only by its maintainers.
    pub fn was_published(self) -> bool {
        matches!(self, VersionStatus::Published | VersionStatus::Superseded)
    }

    /// The state a step leads to from this one, or why it may not be taken.
    pub fn next_allowed(self, step: Step) -> Result<VersionStatus, StepRefused> {
        use VersionStatus as S;
        match (self, step) {
            (S::Draft, Step::Submit) => Ok(S::Submitted),
            (S::Submitted, Step::Approve) => Ok(S::Approved),
            (S::Submitted, Step::Return) => Ok(S::Draft),
            (S::Approved, Step::Publish) => Ok(S::Published),
            (S::Draft, Step::Edit) => Ok(S::Draft),
            (from, step) => Err(StepRefused { from, step }),
        }
    }
}

/// A step in a version's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Change the text of a draft.
    Edit,
    /// Send for approval.
    Submit,
    /// The CISO approves.
    Approve,
    /// The CISO sends it back to draft.
    Return,
    /// Put in force.
    Publish,
}

impl Step {
    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Step::Edit => "編集",
            Step::Submit => "承認申請",
            Step::Approve => "承認",
            Step::Return => "差戻し",
            Step::Publish => "公開",
        }
    }
}

/// A step not allowed from a state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}の版は{}できません{}", from.label_ja(), step.label_ja(), hint(*from, *step))]
pub struct StepRefused {
    /// The state the version is in.
    pub from: VersionStatus,
    /// The step tried.
    pub step: Step,
}

fn hint(from: VersionStatus, step: Step) -> &'static str {
    match (from, step) {
        (VersionStatus::Draft, Step::Approve) => "（先に承認申請をしてください）",
        (VersionStatus::Published | VersionStatus::Superseded, Step::Publish) => {
            "（既に公開されています）"
        }
        (_, Step::Publish) => "（CISOの承認が必要です）",
        (_, Step::Edit) => "（編集できるのは下書きだけです。新しい版を作成してください）",
        _ => "",
    }
}

/// One entry of a 実施手順's reader list: a unit (with the units below it), a role, or a role
/// held in a unit. At least one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderRule {
    /// The unit, when the entry names one.
    pub unit: Option<UnitId>,
    /// The role, when the entry names one.
    pub role: Option<Role>,
}

impl ReaderRule {
    /// Whether the rule admits the actor. `path` gives a unit's path from the root.
    pub fn admits(&self, actor: &Actor, path: &dyn Fn(UnitId) -> Vec<UnitId>) -> bool {
        actor.held.iter().any(|h| {
            let role_ok = self.role.is_none_or(|r| r == h.role);
            let unit_ok = self.unit.is_none_or(|u| path(h.unit).contains(&u));
            role_ok && unit_ok && (self.role.is_some() || self.unit.is_some())
        })
    }
}

/// Whether an actor may read a 実施手順 with these rules: listed readers, and its maintainers
/// (whoever may edit the policy: CISO and 統括).
pub fn may_read_procedure(
    rules: &[ReaderRule],
    actor: &Actor,
    path: &dyn Fn(UnitId) -> Vec<UnitId>,
) -> bool {
    actor.can::<crate::permission::can::EditPolicy>().is_ok()
        || rules.iter().any(|r| r.admits(actor, path))
}

/// What a review (見直し) was opened from, and the kinds of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewSource {
    /// Findings of an audit (監査の指摘).
    AuditFinding,
    /// Self-inspection results (自己点検の結果).
    SelfInspection,
    /// An incident (情報セキュリティインシデント).
    Incident,
    /// A change of circumstances or a decision to review (状況の変化・その他).
    Manual,
}

impl ReviewSource {
    /// Every source.
    pub const ALL: [ReviewSource; 4] = [
        ReviewSource::AuditFinding,
        ReviewSource::SelfInspection,
        ReviewSource::Incident,
        ReviewSource::Manual,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReviewSource::AuditFinding => "audit_finding",
            ReviewSource::SelfInspection => "self_inspection",
            ReviewSource::Incident => "incident",
            ReviewSource::Manual => "manual",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            ReviewSource::AuditFinding => "監査の指摘",
            ReviewSource::SelfInspection => "自己点検の結果",
            ReviewSource::Incident => "インシデント",
            ReviewSource::Manual => "状況の変化・その他",
        }
    }

    /// From the code.
    pub fn from_code(code: &str) -> Option<ReviewSource> {
        ReviewSource::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Where a review record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Being written.
    Open,
    /// Sent to the CISO.
    Submitted,
    /// Approved by the CISO.
    Approved,
}

impl ReviewStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReviewStatus::Open => "open",
            ReviewStatus::Submitted => "submitted",
            ReviewStatus::Approved => "approved",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            ReviewStatus::Open => "作成中",
            ReviewStatus::Submitted => "承認待ち",
            ReviewStatus::Approved => "承認済み",
        }
    }

    /// From the code.
    pub fn from_code(code: &str) -> Option<ReviewStatus> {
        [
            ReviewStatus::Open,
            ReviewStatus::Submitted,
            ReviewStatus::Approved,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// Likelihood or impact of a threat in a re-assessment (§8): 1 低, 2 中, 3 高.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Level(u8);

impl Level {
    /// A level from 1–3.
    pub fn new(n: i64) -> Option<Level> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=3).contains(n))
            .map(Level)
    }

    /// The number.
    pub fn get(self) -> i64 {
        i64::from(self.0)
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self.0 {
            1 => "低",
            2 => "中",
            _ => "高",
        }
    }
}

/// The risk of a likelihood and an impact (1–9), with its band.
pub fn risk(likelihood: Level, impact: Level) -> (i64, &'static str) {
    let score = likelihood.get() * impact.get();
    let band = match score {
        1..=2 => "低",
        3..=4 => "中",
        _ => "高",
    };
    (score, band)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::{OrgId, PersonId};
    use crate::permission::Held;

    const ROOT: UnitId = UnitId(1);
    const JIMU: UnitId = UnitId(2);
    const SOMU: UnitId = UnitId(3);
    const SHOBO: UnitId = UnitId(5);

    fn path(u: UnitId) -> Vec<UnitId> {
        match u.0 {
            1 => vec![ROOT],
            2 => vec![ROOT, JIMU],
            3 => vec![ROOT, JIMU, SOMU],
            _ => vec![ROOT, u],
        }
    }

    fn actor(held: &[(Role, UnitId)]) -> Actor {
        Actor {
            person: PersonId(9),
            org: OrgId(1),
            held: held
                .iter()
                .map(|&(role, unit)| Held {
                    role,
                    unit,
                    body: path(unit).get(1).copied().unwrap_or(unit),
                })
                .collect(),
        }
    }

    #[test]
    fn the_life_of_a_version_has_no_shortcut() {
        use VersionStatus as S;
        assert_eq!(S::Draft.next_allowed(Step::Submit), Ok(S::Submitted));
        assert!(S::Draft.next_allowed(Step::Approve).is_err());
        assert!(S::Draft.next_allowed(Step::Publish).is_err());
        assert!(S::Submitted.next_allowed(Step::Publish).is_err());
        assert_eq!(S::Approved.next_allowed(Step::Publish), Ok(S::Published));
        let twice = S::Published.next_allowed(Step::Publish).unwrap_err();
        assert!(twice.to_string().contains("既に公開"), "{twice}");
        let unsubmitted = S::Draft.next_allowed(Step::Approve).unwrap_err();
        assert!(
            unsubmitted.to_string().contains("承認申請"),
            "{unsubmitted}"
        );
    }

    #[test]
    fn a_procedure_is_read_by_its_list_and_its_maintainers_only() {
        let somu_unit = ReaderRule {
            unit: Some(SOMU),
            role: None,
        };
        let sysadmins = ReaderRule {
            unit: None,
            role: Some(Role::SystemManager),
        };
        let rules = [somu_unit, sysadmins];
        let staff_somu = actor(&[(Role::Staff, SOMU)]);
        let staff_shobo = actor(&[(Role::Staff, SHOBO)]);
        let sysadmin_shobo = actor(&[(Role::Staff, SHOBO), (Role::SystemManager, SHOBO)]);
        let chief = actor(&[(Role::Staff, SHOBO), (Role::ChiefOfficer, ROOT)]);
        let officer_jimu = actor(&[(Role::SecurityOfficer, JIMU)]);
        assert!(may_read_procedure(&rules, &staff_somu, &path));
        assert!(!may_read_procedure(&rules, &staff_shobo, &path));
        assert!(may_read_procedure(&rules, &sysadmin_shobo, &path));
        assert!(may_read_procedure(&rules, &chief, &path));
        // A unit entry covers the units below it, not the ones above.
        assert!(!may_read_procedure(&rules, &officer_jimu, &path));
        // Role in a unit: both must match.
        let both = [ReaderRule {
            unit: Some(JIMU),
            role: Some(Role::SystemManager),
        }];
        assert!(!may_read_procedure(&both, &sysadmin_shobo, &path));
        assert!(!may_read_procedure(&[], &staff_somu, &path));
    }

    #[test]
    fn levels_are_one_to_three() {
        assert!(Level::new(0).is_none() && Level::new(4).is_none());
        let (h, l) = (Level::new(3).unwrap(), Level::new(1).unwrap());
        assert_eq!(risk(h, h), (9, "高"));
        assert_eq!(risk(l, l), (1, "低"));
        assert_eq!(risk(h, l), (3, "中"));
    }
}
