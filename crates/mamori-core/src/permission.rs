//! Who may do what, where: one table of role × action → scope, and capabilities.
//!
//! A handler asks an [`Actor`] for a [`Capability`]; the repository functions that change or
//! reveal data take that capability as an argument, so a path that skipped the check does not
//! compile. The table is data: [`scope_of`] is the single place a grant is decided.

use std::marker::PhantomData;

use serde::Serialize;

use crate::org::{OrgId, PersonId, UnitId};
use crate::role::Role;

/// How far a grant reaches from the unit a role is held in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The unit the role is held in and the units below it.
    OwnUnit,
    /// The body (所属) containing that unit, and everything below it.
    OwnBody,
    /// The whole organisation.
    All,
}

/// Everything the application lets someone do that needs a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See units, persons and role assignments.
    OrgView,
    /// Create, rename, move or close units.
    UnitEdit,
    /// Create and edit persons (職員等).
    PersonEdit,
    /// Grant and end role assignments.
    AssignmentEdit,
    /// Apply a staff roster (人事異動) in bulk.
    RosterImport,
    /// Reset another person's password, unlock an account, reset their second factor.
    AccountAdmin,
    /// Read the audit trail.
    AuditView,
    /// Export the audit trail.
    AuditExport,
    /// Read the policy.
    PolicyView,
    /// Import or edit the policy as a new version.
    PolicyEdit,
    /// See the network model (zones, segments, hosts, flows) and its check. Network diagrams
    /// are system documents (§4(2)③), so not every member of staff may read them.
    NetworkView,
    /// Store a new version of the network model.
    NetworkEdit,
    /// Read the information-asset register (情報資産管理台帳).
    AssetView,
    /// Create, edit, review, take out, dispose of and reassign information assets.
    AssetEdit,
    /// Change the register's settings: classification scheme, review interval.
    AssetSettings,
    /// Edit the standards catalogue (対策基準): clause text, import, article mapping.
    StandardsEdit,
    /// Update a control's status and upload its evidence.
    ControlEdit,
    /// Approve a policy document version or a review record (the CISO's decision).
    PolicyApprove,
    /// See who has and has not acknowledged the policy (遵守の誓約), and remind them.
    AckReport,
    /// Create, edit and close self-inspection campaigns (自己点検) and their question sets.
    InspectionManage,
    /// Read self-inspection answers and roll-ups, export them.
    InspectionResults,
    /// Make audit plans and engagements and assign auditors (監査).
    AuditPlan,
    /// Record fieldwork and findings of an engagement one is assigned to.
    AuditWork,
    /// Read audit engagements, findings and reports.
    AuditResultView,
    /// Plan and update corrective actions and improvement items.
    CorrectiveEdit,
    /// Apply for an exception (例外措置), including the emergency path.
    ExceptionApply,
    /// Read exception applications and decisions.
    ExceptionView,
    /// Approve an exception application as the unit's 情報セキュリティ責任者.
    ExceptionEndorse,
    /// Decide an exception (the CISO), with conditions.
    ExceptionDecide,
    /// Read policy review records (見直し).
    ReviewView,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 30] = [
        Action::OrgView,
        Action::UnitEdit,
        Action::PersonEdit,
        Action::AssignmentEdit,
        Action::RosterImport,
        Action::AccountAdmin,
        Action::AuditView,
        Action::AuditExport,
        Action::PolicyView,
        Action::PolicyEdit,
        Action::NetworkView,
        Action::NetworkEdit,
        Action::AssetView,
        Action::AssetEdit,
        Action::AssetSettings,
        Action::StandardsEdit,
        Action::ControlEdit,
        Action::PolicyApprove,
        Action::AckReport,
        Action::InspectionManage,
        Action::InspectionResults,
        Action::AuditPlan,
        Action::AuditWork,
        Action::AuditResultView,
        Action::CorrectiveEdit,
        Action::ExceptionApply,
        Action::ExceptionView,
        Action::ExceptionEndorse,
        Action::ExceptionDecide,
        Action::ReviewView,
    ];

    /// Stable code (for the audit trail and the API).
    pub fn code(self) -> &'static str {
        match self {
            Action::OrgView => "org.view",
            Action::UnitEdit => "unit.edit",
            Action::PersonEdit => "person.edit",
            Action::AssignmentEdit => "assignment.edit",
            Action::RosterImport => "roster.import",
            Action::AccountAdmin => "account.admin",
            Action::AuditView => "audit.view",
            Action::AuditExport => "audit.export",
            Action::PolicyView => "policy.view",
            Action::PolicyEdit => "policy.edit",
            Action::NetworkView => "network.view",
            Action::NetworkEdit => "network.edit",
            Action::AssetView => "asset.view",
            Action::AssetEdit => "asset.edit",
            Action::AssetSettings => "asset.settings",
            Action::StandardsEdit => "standards.edit",
            Action::ControlEdit => "control.edit",
            Action::PolicyApprove => "policy.approve",
            Action::AckReport => "ack.report",
            Action::InspectionManage => "inspection.manage",
            Action::InspectionResults => "inspection.results",
            Action::AuditPlan => "auditing.plan",
            Action::AuditWork => "auditing.work",
            Action::AuditResultView => "auditing.results",
            Action::CorrectiveEdit => "corrective.edit",
            Action::ExceptionApply => "exception.apply",
            Action::ExceptionView => "exception.view",
            Action::ExceptionEndorse => "exception.endorse",
            Action::ExceptionDecide => "exception.decide",
            Action::ReviewView => "review.view",
        }
    }

    /// What the action is, in Japanese, for denial messages.
    pub fn label_ja(self) -> &'static str {
        match self {
            Action::OrgView => "組織の閲覧",
            Action::UnitEdit => "組織の編集",
            Action::PersonEdit => "職員情報の編集",
            Action::AssignmentEdit => "役割の割当て",
            Action::RosterImport => "名簿の取込み",
            Action::AccountAdmin => "アカウント管理",
            Action::AuditView => "監査証跡の閲覧",
            Action::AuditExport => "監査証跡の出力",
            Action::PolicyView => "ポリシーの閲覧",
            Action::PolicyEdit => "ポリシーの改定",
            Action::NetworkView => "ネットワーク構成の閲覧",
            Action::NetworkEdit => "ネットワーク構成の編集",
            Action::AssetView => "情報資産の閲覧",
            Action::AssetEdit => "情報資産の編集",
            Action::AssetSettings => "情報資産台帳の設定",
            Action::StandardsEdit => "対策基準の編集",
            Action::ControlEdit => "対策の実施状況の更新",
            Action::PolicyApprove => "ポリシー改定の承認",
            Action::AckReport => "遵守誓約の状況確認",
            Action::InspectionManage => "自己点検の実施管理",
            Action::InspectionResults => "自己点検結果の閲覧",
            Action::AuditPlan => "監査の計画",
            Action::AuditWork => "監査の実施",
            Action::AuditResultView => "監査結果の閲覧",
            Action::CorrectiveEdit => "改善措置の更新",
            Action::ExceptionApply => "例外措置の申請",
            Action::ExceptionView => "例外措置の閲覧",
            Action::ExceptionEndorse => "例外措置の承認",
            Action::ExceptionDecide => "例外措置の決定",
            Action::ReviewView => "見直し記録の閲覧",
        }
    }
}

/// The permission table: how far `role` may perform `action`, or `None` when it may not.
pub fn scope_of(role: Role, action: Action) -> Option<Scope> {
    use Action as A;
    use Role as R;
    use Scope::{All, OwnBody, OwnUnit};
    match (action, role) {
        (A::OrgView | A::PolicyView, _) => Some(All),
        (A::UnitEdit | A::RosterImport | A::PolicyEdit, R::Ciso | R::ChiefOfficer) => Some(All),
        (A::PersonEdit | A::AssignmentEdit, R::Ciso | R::ViceCiso | R::ChiefOfficer) => Some(All),
        (A::PersonEdit | A::AssignmentEdit, R::SecurityOfficer) => Some(OwnBody),
        (A::PersonEdit | A::AssignmentEdit, R::SecurityManager) => Some(OwnUnit),
        (A::AccountAdmin, R::Ciso | R::ChiefOfficer) => Some(All),
        (A::AuditView | A::AuditExport, R::Ciso | R::ChiefOfficer | R::Auditor) => Some(All),
        // 統括 is responsible for all networks; 情報システム管理者 run the systems on them.
        (A::NetworkEdit, R::ChiefOfficer | R::SystemManager) => Some(All),
        (
            A::NetworkView,
            R::Ciso
            | R::ViceCiso
            | R::ChiefOfficer
            | R::SystemManager
            | R::SystemStaff
            | R::Auditor,
        ) => Some(All),
        // 情報資産 (§6(2)): 管理者 its unit, 責任者 its body, 統括 and CISO everything; the
        // auditor and those overseeing systems read everything; staff read their own unit's.
        (A::AssetEdit, R::Ciso | R::ChiefOfficer) => Some(All),
        (A::AssetEdit, R::SecurityOfficer) => Some(OwnBody),
        (A::AssetEdit, R::SecurityManager) => Some(OwnUnit),
        (A::AssetSettings, R::Ciso | R::ChiefOfficer) => Some(All),
        (A::AssetView, R::Ciso | R::ViceCiso | R::ChiefOfficer | R::SystemManager | R::Auditor) => {
            Some(All)
        }
        (A::AssetView, R::SecurityOfficer) => Some(OwnBody),
        (A::AssetView, R::SecurityManager | R::SystemStaff | R::Staff) => Some(OwnUnit),
        // The yearly cycle (§5, §7–§10). 統括 keeps the standards and procedures; the CISO
        // decides. Controls, corrective actions and exceptions belong to the unit that owns them.
        (A::StandardsEdit | A::InspectionManage, R::Ciso | R::ChiefOfficer) => Some(All),
        (A::ControlEdit | A::CorrectiveEdit, R::Ciso | R::ChiefOfficer) => Some(All),
        (A::ControlEdit | A::CorrectiveEdit, R::SecurityOfficer) => Some(OwnBody),
        (A::ControlEdit | A::CorrectiveEdit, R::SecurityManager | R::SystemManager) => {
            Some(OwnUnit)
        }
        (A::PolicyApprove | A::ExceptionDecide, R::Ciso) => Some(All),
        (
            A::AckReport | A::InspectionResults | A::AuditResultView | A::ExceptionView,
            R::Ciso | R::ViceCiso | R::ChiefOfficer,
        ) => Some(All),
        (A::InspectionResults | A::AuditResultView | A::ExceptionView, R::Auditor) => Some(All),
        (
            A::AckReport | A::InspectionResults | A::AuditResultView | A::ExceptionView,
            R::SecurityOfficer,
        ) => Some(OwnBody),
        (
            A::AckReport | A::InspectionResults | A::AuditResultView | A::ExceptionView,
            R::SecurityManager,
        ) => Some(OwnUnit),
        (A::ExceptionView, R::SystemManager) => Some(OwnUnit),
        // Audits are planned under the CISO's order by 統括 or the audit team; only 監査人 do
        // the fieldwork (and only on engagements they are assigned to, independent of the unit).
        (A::AuditPlan, R::Ciso | R::ChiefOfficer | R::Auditor) => Some(All),
        (A::AuditWork, R::Auditor) => Some(All),
        (A::ExceptionApply, R::ChiefOfficer) => Some(All),
        (A::ExceptionApply | A::ExceptionEndorse, R::SecurityOfficer) => Some(OwnBody),
        (A::ExceptionApply, R::SecurityManager | R::SystemManager) => Some(OwnUnit),
        (A::ReviewView, R::Ciso | R::ViceCiso | R::ChiefOfficer | R::Auditor) => Some(All),
        _ => None,
    }
}

/// Roles a holder of `granter` may grant to others (never more authority than it holds).
pub fn may_grant(granter: Role, granted: Role) -> bool {
    match scope_of(granter, Action::AssignmentEdit) {
        Some(Scope::All) => true,
        Some(Scope::OwnBody) => matches!(
            granted,
            Role::SecurityManager | Role::SystemManager | Role::SystemStaff | Role::Staff
        ),
        Some(Scope::OwnUnit) => matches!(granted, Role::SystemStaff | Role::Staff),
        None => false,
    }
}

/// A role a person holds now, where it is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    /// The role.
    pub role: Role,
    /// The unit it is held in.
    pub unit: UnitId,
    /// The body (所属) containing that unit; the unit itself when it is a body or the root.
    pub body: UnitId,
}

/// The person making a request, with the roles in force today.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    /// Who.
    pub person: PersonId,
    /// Their organisation: no capability ever reaches beyond it.
    pub org: OrgId,
    /// Roles in force now.
    pub held: Vec<Held>,
}

/// Where a capability reaches inside the actor's organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Reach {
    /// Everywhere in the organisation.
    All,
    /// These units and everything below them.
    Subtrees(Vec<UnitId>),
}

/// A refused permission check; the caller records it in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}の権限がありません", action.label_ja())]
pub struct Denied {
    /// What was refused.
    pub action: Action,
}

/// A marker type naming one action, so a capability's type says what it allows.
pub trait Permission {
    /// The action the marker stands for.
    const ACTION: Action;
}

/// Marker types for [`Capability`].
pub mod can {
    use super::{Action, Permission};

    macro_rules! marker {
        ($($name:ident => $action:ident),* $(,)?) => {$(
            #[doc = concat!("Capability marker for [`Action::", stringify!($action), "`].")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$action;
            }
        )*};
    }

    marker! {
        ViewOrg => OrgView,
        EditUnits => UnitEdit,
        EditPersons => PersonEdit,
        EditAssignments => AssignmentEdit,
        ImportRoster => RosterImport,
        AdministerAccounts => AccountAdmin,
        ViewAudit => AuditView,
        ExportAudit => AuditExport,
        ViewPolicy => PolicyView,
        EditPolicy => PolicyEdit,
        ViewNetwork => NetworkView,
        EditNetwork => NetworkEdit,
        ViewAssets => AssetView,
        EditAssets => AssetEdit,
        ConfigureAssets => AssetSettings,
        EditStandards => StandardsEdit,
        EditControls => ControlEdit,
        ApprovePolicy => PolicyApprove,
        ReportAcknowledgements => AckReport,
        ManageInspections => InspectionManage,
        ViewInspectionResults => InspectionResults,
        PlanAudits => AuditPlan,
        ConductAudits => AuditWork,
        ViewAuditResults => AuditResultView,
        EditCorrectiveActions => CorrectiveEdit,
        ApplyExceptions => ExceptionApply,
        ViewExceptions => ExceptionView,
        EndorseExceptions => ExceptionEndorse,
        DecideExceptions => ExceptionDecide,
        ViewReviews => ReviewView,
    }
}

/// Proof that an actor may perform `P`'s action in its organisation, within [`Reach`].
#[derive(Debug, Clone)]
pub struct Capability<P> {
    org: OrgId,
    actor: PersonId,
    reach: Reach,
    _action: PhantomData<P>,
}

impl<P: Permission> Capability<P> {
    /// The operator at the server's command line (`mamori user add`, `mamori roster import`):
    /// whoever runs the binary already holds the database, so they act across one organisation.
    /// The web application never calls this; its capabilities come only from [`Actor::can`].
    pub fn operator(org: OrgId) -> Self {
        Capability {
            org,
            actor: PersonId(0),
            reach: Reach::All,
            _action: PhantomData,
        }
    }

    /// The organisation the capability is confined to.
    pub fn org(&self) -> OrgId {
        self.org
    }

    /// The person holding it.
    pub fn actor(&self) -> PersonId {
        self.actor
    }

    /// Where it reaches.
    pub fn reach(&self) -> &Reach {
        &self.reach
    }

    /// Whether a unit, given as its path from the root down to itself, lies within reach.
    pub fn covers(&self, path: &[UnitId]) -> bool {
        match &self.reach {
            Reach::All => true,
            Reach::Subtrees(roots) => path.iter().any(|u| roots.contains(u)),
        }
    }
}

impl Actor {
    /// The best grant of the actor's roles for `P`, or [`Denied`].
    pub fn can<P: Permission>(&self) -> Result<Capability<P>, Denied> {
        let mut roots = Vec::new();
        let mut any = false;
        for held in &self.held {
            match scope_of(held.role, P::ACTION) {
                Some(Scope::All) => return Ok(self.capability(Reach::All)),
                Some(Scope::OwnBody) => {
                    any = true;
                    roots.push(held.body);
                }
                Some(Scope::OwnUnit) => {
                    any = true;
                    roots.push(held.unit);
                }
                None => {}
            }
        }
        if any {
            roots.sort();
            roots.dedup();
            Ok(self.capability(Reach::Subtrees(roots)))
        } else {
            Err(Denied { action: P::ACTION })
        }
    }

    /// A capability for `P` that covers the unit whose path from the root is `path`.
    pub fn can_on<P: Permission>(&self, path: &[UnitId]) -> Result<Capability<P>, Denied> {
        let cap = self.can::<P>()?;
        if cap.covers(path) {
            Ok(cap)
        } else {
            Err(Denied { action: P::ACTION })
        }
    }

    /// Whether the actor holds `role` anywhere today.
    pub fn holds(&self, role: Role) -> bool {
        self.held.iter().any(|h| h.role == role)
    }

    /// Whether the actor may grant `role` (see [`may_grant`]).
    pub fn may_grant(&self, role: Role) -> bool {
        self.held.iter().any(|h| may_grant(h.role, role))
    }

    fn capability<P>(&self, reach: Reach) -> Capability<P> {
        Capability {
            org: self.org,
            actor: self.person,
            reach,
            _action: PhantomData,
        }
    }
}

/// A breach of separation of duties (DOMAIN.md §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DutyConflict {
    /// The applicant tried to approve their own request.
    #[error("申請者本人は承認できません（職務の分離）")]
    SelfApproval,
    /// The auditor belongs to the audited unit, or the audited unit lies under the auditor's.
    #[error("監査人は自らの所属を監査できません（監査の独立性）")]
    AuditorNotIndependent,
}

/// Applicant ≠ approver.
pub fn check_approver(applicant: PersonId, approver: PersonId) -> Result<(), DutyConflict> {
    if applicant == approver {
        Err(DutyConflict::SelfApproval)
    } else {
        Ok(())
    }
}

/// An auditor may not audit a unit they belong to, nor one above or below their own.
///
/// `auditor_units` are the paths (root → unit) of every unit the auditor belongs to or holds a
/// role in; `audited` is the path of the audited unit. The root itself is not counted, since
/// everyone belongs to the organisation.
pub fn check_auditor_independence(
    auditor_units: &[Vec<UnitId>],
    audited: &[UnitId],
) -> Result<(), DutyConflict> {
    let Some(target) = audited.last() else {
        return Ok(());
    };
    for path in auditor_units {
        let Some(own) = path.last() else { continue };
        let below_root = |p: &[UnitId]| p.len() > 1;
        let auditor_inside = below_root(path) && path.contains(target) && below_root(audited);
        let target_inside = below_root(audited) && audited.contains(own) && below_root(path);
        if auditor_inside || target_inside {
            return Err(DutyConflict::AuditorNotIndependent);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: UnitId = UnitId(1);
    const JIMU: UnitId = UnitId(2);
    const SOMU: UnitId = UnitId(3);
    const KAIKEI: UnitId = UnitId(4);
    const SHOBO: UnitId = UnitId(5);
    const KEIBO: UnitId = UnitId(6);

    fn actor(role: Role, unit: UnitId, body: UnitId) -> Actor {
        Actor {
            person: PersonId(10),
            org: OrgId(1),
            held: vec![Held { role, unit, body }],
        }
    }

    /// The whole table, spelled out: any change to permissions must change this test.
    #[test]
    fn the_table_is_exactly_as_documented() {
        use Scope::{All, OwnBody, OwnUnit};
        let expected = |role: Role, action: Action| -> Option<Scope> {
            match action {
                Action::OrgView | Action::PolicyView => Some(All),
                Action::UnitEdit
                | Action::RosterImport
                | Action::PolicyEdit
                | Action::AccountAdmin => {
                    matches!(role, Role::Ciso | Role::ChiefOfficer).then_some(All)
                }
                Action::PersonEdit | Action::AssignmentEdit => match role {
                    Role::Ciso | Role::ViceCiso | Role::ChiefOfficer => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager => Some(OwnUnit),
                    _ => None,
                },
                Action::AuditView | Action::AuditExport => {
                    matches!(role, Role::Ciso | Role::ChiefOfficer | Role::Auditor).then_some(All)
                }
                Action::NetworkView => matches!(
                    role,
                    Role::Ciso
                        | Role::ViceCiso
                        | Role::ChiefOfficer
                        | Role::SystemManager
                        | Role::SystemStaff
                        | Role::Auditor
                )
                .then_some(All),
                Action::NetworkEdit => {
                    matches!(role, Role::ChiefOfficer | Role::SystemManager).then_some(All)
                }
                Action::AssetEdit => match role {
                    Role::Ciso | Role::ChiefOfficer => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager => Some(OwnUnit),
                    _ => None,
                },
                Action::AssetSettings => {
                    matches!(role, Role::Ciso | Role::ChiefOfficer).then_some(All)
                }
                Action::AssetView => match role {
                    Role::Ciso
                    | Role::ViceCiso
                    | Role::ChiefOfficer
                    | Role::SystemManager
                    | Role::Auditor => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager | Role::SystemStaff | Role::Staff => Some(OwnUnit),
                },
                Action::StandardsEdit | Action::InspectionManage => {
                    matches!(role, Role::Ciso | Role::ChiefOfficer).then_some(All)
                }
                Action::ControlEdit | Action::CorrectiveEdit => match role {
                    Role::Ciso | Role::ChiefOfficer => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager | Role::SystemManager => Some(OwnUnit),
                    _ => None,
                },
                Action::PolicyApprove | Action::ExceptionDecide => {
                    (role == Role::Ciso).then_some(All)
                }
                Action::AckReport => match role {
                    Role::Ciso | Role::ViceCiso | Role::ChiefOfficer => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager => Some(OwnUnit),
                    _ => None,
                },
                Action::InspectionResults | Action::AuditResultView => match role {
                    Role::Ciso | Role::ViceCiso | Role::ChiefOfficer | Role::Auditor => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager => Some(OwnUnit),
                    _ => None,
                },
                Action::ExceptionView => match role {
                    Role::Ciso | Role::ViceCiso | Role::ChiefOfficer | Role::Auditor => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager | Role::SystemManager => Some(OwnUnit),
                    _ => None,
                },
                Action::AuditPlan => {
                    matches!(role, Role::Ciso | Role::ChiefOfficer | Role::Auditor).then_some(All)
                }
                Action::AuditWork => (role == Role::Auditor).then_some(All),
                Action::ExceptionApply => match role {
                    Role::ChiefOfficer => Some(All),
                    Role::SecurityOfficer => Some(OwnBody),
                    Role::SecurityManager | Role::SystemManager => Some(OwnUnit),
                    _ => None,
                },
                Action::ExceptionEndorse => (role == Role::SecurityOfficer).then_some(OwnBody),
                Action::ReviewView => matches!(
                    role,
                    Role::Ciso | Role::ViceCiso | Role::ChiefOfficer | Role::Auditor
                )
                .then_some(All),
            }
        };
        for role in Role::ALL {
            for action in Action::ALL {
                assert_eq!(
                    scope_of(role, action),
                    expected(role, action),
                    "{role:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn staff_read_only_their_own_units_assets() {
        let staff = actor(Role::Staff, SOMU, JIMU);
        assert!(staff.can_on::<can::ViewAssets>(&[ROOT, JIMU, SOMU]).is_ok());
        assert!(
            staff
                .can_on::<can::ViewAssets>(&[ROOT, JIMU, KAIKEI])
                .is_err()
        );
        assert!(staff.can::<can::EditAssets>().is_err());
        let officer = actor(Role::SecurityOfficer, JIMU, JIMU);
        assert!(
            officer
                .can_on::<can::EditAssets>(&[ROOT, JIMU, KAIKEI])
                .is_ok()
        );
        assert!(officer.can_on::<can::EditAssets>(&[ROOT, SHOBO]).is_err());
        assert!(officer.can::<can::ConfigureAssets>().is_err());
        let auditor = actor(Role::Auditor, SOMU, JIMU);
        assert!(
            auditor
                .can_on::<can::ViewAssets>(&[ROOT, SHOBO, KEIBO])
                .is_ok()
        );
        assert!(auditor.can::<can::EditAssets>().is_err());
    }

    #[test]
    fn staff_cannot_open_the_audit_trail() {
        let a = actor(Role::Staff, SOMU, JIMU);
        assert_eq!(
            a.can::<can::ViewAudit>().err(),
            Some(Denied {
                action: Action::AuditView
            })
        );
        assert!(
            actor(Role::Auditor, SOMU, JIMU)
                .can::<can::ViewAudit>()
                .is_ok()
        );
    }

    #[test]
    fn network_diagrams_are_not_for_everyone() {
        for role in [Role::Staff, Role::SecurityManager, Role::SecurityOfficer] {
            assert!(actor(role, SOMU, JIMU).can::<can::ViewNetwork>().is_err());
        }
        let auditor = actor(Role::Auditor, SOMU, JIMU);
        assert!(auditor.can::<can::ViewNetwork>().is_ok());
        assert!(auditor.can::<can::EditNetwork>().is_err());
        let sysadmin = actor(Role::SystemManager, SOMU, JIMU);
        assert_eq!(
            sysadmin
                .can::<can::EditNetwork>()
                .map(|c| c.reach().clone()),
            Ok(Reach::All)
        );
    }

    #[test]
    fn a_manager_edits_only_its_own_unit() {
        let a = actor(Role::SecurityManager, SOMU, JIMU);
        assert!(a.can_on::<can::EditPersons>(&[ROOT, JIMU, SOMU]).is_ok());
        assert!(a.can_on::<can::EditPersons>(&[ROOT, JIMU, KAIKEI]).is_err());
        assert!(a.can_on::<can::EditPersons>(&[ROOT, JIMU]).is_err());
        assert!(a.can_on::<can::EditUnits>(&[ROOT, JIMU, SOMU]).is_err());
    }

    #[test]
    fn an_officer_edits_its_whole_body_only() {
        let a = actor(Role::SecurityOfficer, JIMU, JIMU);
        assert!(a.can_on::<can::EditPersons>(&[ROOT, JIMU, KAIKEI]).is_ok());
        assert!(a.can_on::<can::EditPersons>(&[ROOT, SHOBO, KEIBO]).is_err());
    }

    #[test]
    fn the_best_of_several_roles_wins() {
        let mut a = actor(Role::Staff, SOMU, JIMU);
        a.held.push(Held {
            role: Role::ChiefOfficer,
            unit: SOMU,
            body: JIMU,
        });
        assert_eq!(
            a.can::<can::EditPersons>().map(|c| c.reach().clone()),
            Ok(Reach::All)
        );
    }

    #[test]
    fn granting_never_exceeds_own_authority() {
        assert!(may_grant(Role::Ciso, Role::Ciso));
        assert!(may_grant(Role::SecurityOfficer, Role::SecurityManager));
        assert!(!may_grant(Role::SecurityOfficer, Role::Auditor));
        assert!(may_grant(Role::SecurityManager, Role::Staff));
        assert!(!may_grant(Role::SecurityManager, Role::SecurityManager));
        assert!(!may_grant(Role::Staff, Role::Staff));
    }

    #[test]
    fn nobody_approves_their_own_request() {
        assert_eq!(
            check_approver(PersonId(1), PersonId(1)),
            Err(DutyConflict::SelfApproval)
        );
        assert_eq!(check_approver(PersonId(1), PersonId(2)), Ok(()));
    }

    #[test]
    fn an_auditor_is_independent_of_the_audited_unit() {
        let auditor = vec![vec![ROOT, JIMU, SOMU]];
        assert!(check_auditor_independence(&auditor, &[ROOT, SHOBO, KEIBO]).is_ok());
        assert!(check_auditor_independence(&auditor, &[ROOT, JIMU, KAIKEI]).is_ok());
        assert!(check_auditor_independence(&auditor, &[ROOT, JIMU, SOMU]).is_err());
        assert!(check_auditor_independence(&auditor, &[ROOT, JIMU]).is_err());
        let head = vec![vec![ROOT, JIMU]];
        assert!(check_auditor_independence(&head, &[ROOT, JIMU, SOMU]).is_err());
    }
}
