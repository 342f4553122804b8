//! The organisation (団体) as a tree of units, and the people bound by the policy (§4(1), §5).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What level of the organisation a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// 団体: the root (a government or a union of governments).
    Organisation,
    /// 所属: a body in scope of §4(1) (事務局, 消防本部, 慈生園).
    Body,
    /// 課・署・所: a section of a body.
    Section,
    /// 係・班: a subsection.
    Subsection,
}

impl UnitKind {
    /// Every kind, root first.
    pub const ALL: [UnitKind; 4] = [
        UnitKind::Organisation,
        UnitKind::Body,
        UnitKind::Section,
        UnitKind::Subsection,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            UnitKind::Organisation => "organisation",
            UnitKind::Body => "body",
            UnitKind::Section => "section",
            UnitKind::Subsection => "subsection",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            UnitKind::Organisation => "団体",
            UnitKind::Body => "所属",
            UnitKind::Section => "課・署・所",
            UnitKind::Subsection => "係・班",
        }
    }

    /// The kind a child of this kind has, if it may have children.
    pub fn child(self) -> Option<UnitKind> {
        match self {
            UnitKind::Organisation => Some(UnitKind::Body),
            UnitKind::Body => Some(UnitKind::Section),
            UnitKind::Section => Some(UnitKind::Subsection),
            UnitKind::Subsection => None,
        }
    }
}

impl FromStr for UnitKind {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnitKind::ALL
            .into_iter()
            .find(|k| k.code() == s || k.label_ja() == s)
            .ok_or_else(|| InvalidValue::new("組織区分", s))
    }
}

/// A value that does not fit its field; the message names both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}「{value}」は使用できません")]
pub struct InvalidValue {
    /// The field's Japanese name.
    pub field: &'static str,
    /// What was given.
    pub value: String,
}

impl InvalidValue {
    /// A value rejected for a field.
    pub fn new(field: &'static str, value: &str) -> Self {
        InvalidValue {
            field,
            value: value.chars().take(80).collect(),
        }
    }
}

/// A unit's code, unique in its organisation: 1–32 of `A–Z a–z 0–9 - _ .`.
///
/// Codes are what a roster file and the API name units by, so they are kept to characters
/// that survive Excel, CSV and URLs unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    /// Parses a code, accepting full-width characters and surrounding spaces.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let v = crate::text::normalize(s);
        let ok = !v.is_empty()
            && v.chars().count() <= 32
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(UnitCode(v))
        } else {
            Err(InvalidValue::new("組織コード", s))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UnitCode {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UnitCode::parse(&s)
    }
}

impl From<UnitCode> for String {
    fn from(c: UnitCode) -> String {
        c.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login name: 3–64 of `a–z 0–9 . _ -`, starting with a letter or digit, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Login(String);

impl Login {
    /// Parses a login name, folding case and width.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let v = crate::text::normalize(s).to_lowercase();
        let n = v.chars().count();
        let ok = (3..=64).contains(&n)
            && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && v.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            });
        if ok {
            Ok(Login(v))
        } else {
            Err(InvalidValue::new("ログインID", s))
        }
    }

    /// The login as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Login {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Login::parse(&s)
    }
}

impl From<Login> for String {
    fn from(l: Login) -> String {
        l.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a person is employed; all are 職員等 under §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentType {
    /// 正規職員.
    Regular,
    /// 会計年度任用職員.
    FiscalYearAppointed,
    /// 臨時職員.
    Temporary,
    /// 再任用職員.
    Reappointed,
    /// 委託先 (contractor staff working under the policy).
    Contractor,
}

impl EmploymentType {
    /// Every type.
    pub const ALL: [EmploymentType; 5] = [
        EmploymentType::Regular,
        EmploymentType::FiscalYearAppointed,
        EmploymentType::Temporary,
        EmploymentType::Reappointed,
        EmploymentType::Contractor,
    ];

    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            EmploymentType::Regular => "regular",
            EmploymentType::FiscalYearAppointed => "fiscal_year_appointed",
            EmploymentType::Temporary => "temporary",
            EmploymentType::Reappointed => "reappointed",
            EmploymentType::Contractor => "contractor",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            EmploymentType::Regular => "正規職員",
            EmploymentType::FiscalYearAppointed => "会計年度任用職員",
            EmploymentType::Temporary => "臨時職員",
            EmploymentType::Reappointed => "再任用職員",
            EmploymentType::Contractor => "委託先",
        }
    }
}

impl FromStr for EmploymentType {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = crate::text::fold(s);
        let t = match key.as_str() {
            "regular" | "正規職員" | "正職員" | "職員" => EmploymentType::Regular,
            "fiscal_year_appointed" | "会計年度任用職員" | "会計年度" | "非常勤職員" => {
                EmploymentType::FiscalYearAppointed
            }
            "temporary" | "臨時職員" | "臨時" => EmploymentType::Temporary,
            "reappointed" | "再任用職員" | "再任用" => EmploymentType::Reappointed,
            "contractor" | "委託先" | "委託" => EmploymentType::Contractor,
            _ => return Err(InvalidValue::new("雇用形態", s)),
        };
        Ok(t)
    }
}

/// Whether a person is still employed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// 在職.
    Active,
    /// 退職 (kept for history; cannot log in).
    Retired,
}

impl PersonStatus {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            PersonStatus::Active => "active",
            PersonStatus::Retired => "retired",
        }
    }

    /// Japanese name.
    pub fn label_ja(self) -> &'static str {
        match self {
            PersonStatus::Active => "在職",
            PersonStatus::Retired => "退職",
        }
    }
}

impl FromStr for PersonStatus {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match crate::text::fold(s).as_str() {
            "active" | "在職" | "" => Ok(PersonStatus::Active),
            "retired" | "退職" => Ok(PersonStatus::Retired),
            _ => Err(InvalidValue::new("在職状況", s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unit_codes_accept_full_width_and_reject_symbols() {
        assert_eq!(
            UnitCode::parse("ＳＨ０１").map(|c| c.0),
            Ok("SH01".to_owned())
        );
        assert!(UnitCode::parse("").is_err());
        assert!(UnitCode::parse("a/b").is_err());
        assert!(UnitCode::parse(&"x".repeat(33)).is_err());
    }

    #[test]
    fn logins_are_lower_case() {
        assert_eq!(
            Login::parse(" Tanaka.T ").map(|l| l.0),
            Ok("tanaka.t".to_owned())
        );
        assert!(Login::parse("ab").is_err());
        assert!(Login::parse(".abc").is_err());
        assert!(Login::parse("田中").is_err());
    }

    #[test]
    fn employment_types_parse_from_labels() {
        for t in EmploymentType::ALL {
            assert_eq!(t.label_ja().parse::<EmploymentType>(), Ok(t));
            assert_eq!(t.code().parse::<EmploymentType>(), Ok(t));
        }
    }

    proptest! {
        #[test]
        fn a_parsed_unit_code_always_parses_again(s in "\\PC{0,40}") {
            if let Ok(code) = UnitCode::parse(&s) {
                prop_assert_eq!(UnitCode::parse(code.as_str()), Ok(code.clone()));
                prop_assert!(code.as_str().len() <= 32);
            }
        }

        #[test]
        fn a_parsed_login_is_stable(s in "\\PC{0,70}") {
            if let Ok(login) = Login::parse(&s) {
                prop_assert_eq!(Login::parse(login.as_str()), Ok(login.clone()));
            }
        }
    }
}

/// Database identity of an organisation (団体).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(pub i64);

/// Database identity of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnitId(pub i64);

/// Database identity of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(pub i64);

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
