//! The roles of 対策基準 2-1 (組織体制), as assigned to a person in an organisational unit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role a person holds in a unit for a period (DOMAIN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 最高情報セキュリティ責任者 (CISO): final authority.
    Ciso,
    /// 副CISO: assists the CISO.
    ViceCiso,
    /// 統括情報セキュリティ責任者: head of the IT section; all networks, procedures, training.
    ChiefOfficer,
    /// 情報セキュリティ責任者: head of a body (事務局長, 消防長, 園長).
    SecurityOfficer,
    /// 情報セキュリティ管理者: head of a section (課長); owns its information assets.
    SecurityManager,
    /// 情報システム管理者: runs a system.
    SystemManager,
    /// 情報システム担当者: staff operating a system.
    SystemStaff,
    /// 監査人: independent of the audited unit.
    Auditor,
    /// 職員等: everyone bound by the policy (§5).
    Staff,
}

impl Role {
    /// Every role, most authority first.
    pub const ALL: [Role; 9] = [
        Role::Ciso,
        Role::ViceCiso,
        Role::ChiefOfficer,
        Role::SecurityOfficer,
        Role::SecurityManager,
        Role::SystemManager,
        Role::SystemStaff,
        Role::Auditor,
        Role::Staff,
    ];

    /// The stable code stored in the database, files and the API.
    pub fn code(self) -> &'static str {
        match self {
            Role::Ciso => "ciso",
            Role::ViceCiso => "vice_ciso",
            Role::ChiefOfficer => "chief_officer",
            Role::SecurityOfficer => "security_officer",
            Role::SecurityManager => "security_manager",
            Role::SystemManager => "system_manager",
            Role::SystemStaff => "system_staff",
            Role::Auditor => "auditor",
            Role::Staff => "staff",
        }
    }

    /// The policy's name of the role.
    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Ciso => "最高情報セキュリティ責任者（CISO）",
            Role::ViceCiso => "副CISO",
            Role::ChiefOfficer => "統括情報セキュリティ責任者",
            Role::SecurityOfficer => "情報セキュリティ責任者",
            Role::SecurityManager => "情報セキュリティ管理者",
            Role::SystemManager => "情報システム管理者",
            Role::SystemStaff => "情報システム担当者",
            Role::Auditor => "監査人",
            Role::Staff => "職員",
        }
    }

    /// Roles whose holders must log in with a second factor (TOTP).
    pub fn requires_mfa(self) -> bool {
        matches!(
            self,
            Role::Ciso | Role::ViceCiso | Role::ChiefOfficer | Role::SystemManager | Role::Auditor
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ja())
    }
}

/// A role name that is none of the known roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("役割「{0}」は認識できません")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    /// Accepts the code and the Japanese names (full or short: 「CISO」「統括」「管理者」…).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = crate::text::fold(s);
        let role = match key.as_str() {
            "ciso" | "最高情報セキュリティ責任者" | "最高情報セキュリティ責任者(ciso)" => {
                Role::Ciso
            }
            "vice_ciso" | "副ciso" => Role::ViceCiso,
            "chief_officer" | "統括情報セキュリティ責任者" | "統括" => {
                Role::ChiefOfficer
            }
            "security_officer" | "情報セキュリティ責任者" | "責任者" => {
                Role::SecurityOfficer
            }
            "security_manager" | "情報セキュリティ管理者" | "管理者" => {
                Role::SecurityManager
            }
            "system_manager" | "情報システム管理者" | "システム管理者" => {
                Role::SystemManager
            }
            "system_staff" | "情報システム担当者" | "システム担当者" => {
                Role::SystemStaff
            }
            "auditor" | "監査人" => Role::Auditor,
            "staff" | "職員" | "職員等" => Role::Staff,
            _ => return Err(UnknownRole(s.to_owned())),
        };
        Ok(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_labels_parse_back() {
        for role in Role::ALL {
            assert_eq!(role.code().parse::<Role>(), Ok(role));
            assert_eq!(role.label_ja().parse::<Role>(), Ok(role));
        }
        assert_eq!("ＣＩＳＯ".parse::<Role>(), Ok(Role::Ciso));
        assert!("課長".parse::<Role>().is_err());
    }

    #[test]
    fn mfa_is_required_exactly_for_privileged_roles() {
        let mfa: Vec<Role> = Role::ALL.into_iter().filter(|r| r.requires_mfa()).collect();
        assert_eq!(
            mfa,
            vec![
                Role::Ciso,
                Role::ViceCiso,
                Role::ChiefOfficer,
                Role::SystemManager,
                Role::Auditor
            ]
        );
    }
}
