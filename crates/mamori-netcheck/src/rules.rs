//! The zone rules as data: each rule has an id, the policy section it enforces, a severity and a
//! Japanese message naming the offending element.
//!
//! The built-in rules below encode 基本方針 §6(3) and the guideline's three-zone table
//! (DOMAIN.md §4). An organisation adds its own in `[[rule]]` tables of the network file, in the
//! same shape, so "what the policy forbids" is never hidden in checker code.

use std::fmt;

use mamori_core::zone::Zone;
use serde::{Deserialize, Serialize};

use crate::model::{Control, GatewayKind, HostKind, NetworkModel, OutsideKind, Place};

/// How bad a violation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The zones are not separated at all.
    Critical,
    /// A required control or condition is missing.
    High,
    /// A weakness that needs correcting.
    Medium,
    /// Worth a look.
    Low,
}

impl Severity {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            Severity::Critical => "重大",
            Severity::High => "高",
            Severity::Medium => "中",
            Severity::Low => "低",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_ja())
    }
}

/// One rule: identity and wording, plus what it checks.
// No `deny_unknown_fields` here: serde cannot combine it with the flattened check; the
// check's own structs refuse unknown fields instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Stable id (`NC-101`; an organisation's own rules use their own prefix).
    pub id: String,
    /// The policy section it enforces (e.g. `基本方針 6(3)①`).
    pub section: String,
    /// Severity of a violation.
    pub severity: Severity,
    /// Message template: `{element}` becomes the offending element, `{detail}` what is wrong.
    pub message: String,
    /// What the rule checks.
    #[serde(flatten)]
    pub check: RuleCheck,
}

/// What a rule checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuleCheck {
    /// Flows between two sets of places.
    Flow(FlowRule),
    /// Controls that hosts of some zones and kinds must have.
    Host(HostRule),
    /// A host whose address lies in a segment of another zone.
    MisZoned,
    /// Segments of different zones whose ranges overlap.
    SegmentOverlap,
}

/// A condition a flow must meet to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    /// A registered business purpose.
    Purpose,
    /// An approval or exception reference.
    Approval,
    /// Both ends are specific hosts (not segments, zones or outside places).
    HostEndpoints,
    /// A specific protocol and a short list of ports (not `any`).
    SpecificPorts,
    /// Passes through a gateway of one of `via_kinds` that sits between the two places.
    Via,
}

impl Requirement {
    /// What is missing, in Japanese.
    pub fn missing_ja(self) -> &'static str {
        match self {
            Requirement::Purpose => "業務上の目的が登録されていない",
            Requirement::Approval => "承認番号（または例外措置番号）がない",
            Requirement::HostEndpoints => "端点が特定のホストではない",
            Requirement::SpecificPorts => "プロトコルとポートが特定されていない",
            Requirement::Via => "所定のゲートウェイを経由していない",
        }
    }
}

/// The largest number of ports a flow may open and still count as "specific ports".
pub const SPECIFIC_PORTS_MAX: u32 = 16;

/// Flows between the places in `from` and those in `to` (both ways unless `directed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowRule {
    /// One side.
    pub from: Vec<Place>,
    /// The other side.
    pub to: Vec<Place>,
    /// Only flows from `from` to `to` (not back).
    #[serde(default)]
    pub directed: bool,
    /// Any such flow is a violation.
    #[serde(default)]
    pub never: bool,
    /// Conditions an allowed flow must meet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<Requirement>,
    /// Gateway kinds that satisfy [`Requirement::Via`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via_kinds: Vec<GatewayKind>,
    /// The rule applies only to flows through a gateway of one of these kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when_via: Vec<GatewayKind>,
    /// Under α' / β', flows to the network's `direct_services` are allowed.
    #[serde(default)]
    pub direct_services_exempt: bool,
}

impl FlowRule {
    /// Whether a flow from `a` to `b` falls under the rule.
    pub fn applies(&self, a: Place, b: Place) -> bool {
        let fwd = self.from.contains(&a) && self.to.contains(&b);
        let back = !self.directed && self.from.contains(&b) && self.to.contains(&a);
        fwd || back
    }
}

/// Controls hosts must have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRule {
    /// Zones the rule applies to.
    #[serde(with = "crate::model::zones_serde")]
    pub zones: Vec<Zone>,
    /// Host kinds it applies to (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<HostKind>,
    /// Network models it applies under (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<NetworkModel>,
    /// Controls required.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require: Vec<Control>,
    /// Also require the network's `beta_controls`.
    #[serde(default)]
    pub beta_controls: bool,
}

const OUTSIDE_NET: [Place; 3] = [
    Place::Outside(OutsideKind::Internet),
    Place::Outside(OutsideKind::CloudService),
    Place::Outside(OutsideKind::SecurityCloud),
];

fn rule(id: &str, section: &str, severity: Severity, message: &str, check: RuleCheck) -> Rule {
    Rule {
        id: id.to_owned(),
        section: section.to_owned(),
        severity,
        message: message.to_owned(),
        check,
    }
}

fn flow(from: &[Place], to: &[Place]) -> FlowRule {
    FlowRule {
        from: from.to_vec(),
        to: to.to_vec(),
        directed: false,
        never: false,
        require: Vec::new(),
        via_kinds: Vec::new(),
        when_via: Vec::new(),
        direct_services_exempt: false,
    }
}

/// The built-in rules, in report order.
pub fn builtin_rules() -> Vec<Rule> {
    let my = Place::Zone(Zone::MyNumber);
    let lg = Place::Zone(Zone::Lgwan);
    let inet = Place::Zone(Zone::Internet);
    let mut internet_side = vec![inet];
    internet_side.extend(OUTSIDE_NET);
    vec![
        rule(
            "NC-101",
            "基本方針 6(3)①",
            Severity::Critical,
            "マイナンバー利用事務系とインターネットの間の通信は禁止されています: {element}",
            RuleCheck::Flow(FlowRule {
                never: true,
                ..flow(&[my], &internet_side)
            }),
        ),
        rule(
            "NC-102",
            "基本方針 6(3)①",
            Severity::High,
            "マイナンバー利用事務系とLGWAN接続系の通信は、目的・承認を登録し、ホストとポートを限定したものに限られます: {element}（{detail}）",
            RuleCheck::Flow(FlowRule {
                require: vec![
                    Requirement::Purpose,
                    Requirement::Approval,
                    Requirement::HostEndpoints,
                    Requirement::SpecificPorts,
                ],
                ..flow(&[my], &[lg])
            }),
        ),
        rule(
            "NC-103",
            "基本方針 2(11)(12)・6(3)②",
            Severity::Critical,
            "LGWAN接続系とインターネット接続系の通信は、両者の間にある無害化通信のゲートウェイ（メール無害化・ファイル無害化・画面転送）を経由しなければなりません: {element}（{detail}）",
            RuleCheck::Flow(FlowRule {
                require: vec![Requirement::Via],
                via_kinds: vec![
                    GatewayKind::MailSanitizer,
                    GatewayKind::FileSanitizer,
                    GatewayKind::ScreenTransfer,
                ],
                ..flow(&[lg], &[inet])
            }),
        ),
        rule(
            "NC-104",
            "基本方針 6(3)②",
            Severity::High,
            "LGWAN接続系からインターネット接続系へのファイル転送には承認が必要です: {element}",
            RuleCheck::Flow(FlowRule {
                directed: true,
                require: vec![Requirement::Approval],
                when_via: vec![GatewayKind::FileSanitizer],
                ..flow(&[lg], &[inet])
            }),
        ),
        rule(
            "NC-105",
            "基本方針 6(3)②",
            Severity::Critical,
            "LGWAN接続系から外部のインターネットへの直接の通信は禁止されています: {element}",
            RuleCheck::Flow(FlowRule {
                never: true,
                direct_services_exempt: true,
                ..flow(&[lg], &OUTSIDE_NET)
            }),
        ),
        rule(
            "NC-106",
            "基本方針 6(3)③",
            Severity::High,
            "インターネット接続系とインターネットの通信は自治体情報セキュリティクラウドを経由しなければなりません: {element}（{detail}）",
            RuleCheck::Flow(FlowRule {
                require: vec![Requirement::Via],
                via_kinds: vec![GatewayKind::SecurityCloud],
                direct_services_exempt: true,
                ..flow(
                    &[inet],
                    &[
                        Place::Outside(OutsideKind::Internet),
                        Place::Outside(OutsideKind::CloudService),
                    ],
                )
            }),
        ),
        rule(
            "NC-201",
            "基本方針 6(3)①",
            Severity::High,
            "マイナンバー利用事務系の端末には多要素認証が必要です: {element}",
            RuleCheck::Host(HostRule {
                zones: vec![Zone::MyNumber],
                kinds: vec![HostKind::Terminal],
                models: Vec::new(),
                require: vec![Control::Mfa],
                beta_controls: false,
            }),
        ),
        rule(
            "NC-202",
            "基本方針 6(3)①",
            Severity::High,
            "マイナンバー利用事務系の端末には情報持ち出し不可設定が必要です: {element}",
            RuleCheck::Host(HostRule {
                zones: vec![Zone::MyNumber],
                kinds: vec![HostKind::Terminal],
                models: Vec::new(),
                require: vec![Control::TakeOutBlocked],
                beta_controls: false,
            }),
        ),
        rule(
            "NC-203",
            "基本方針 6(3)①",
            Severity::High,
            "マイナンバー利用事務系の端末は登録したUSB媒体だけを認識する設定が必要です: {element}",
            RuleCheck::Host(HostRule {
                zones: vec![Zone::MyNumber],
                kinds: vec![HostKind::Terminal],
                models: Vec::new(),
                require: vec![Control::UsbControl],
                beta_controls: false,
            }),
        ),
        rule(
            "NC-204",
            "基本方針 6(3)③",
            Severity::High,
            "β／β'モデルではインターネット接続系の端末に追加の対策が必要です: {element}（{detail}）",
            RuleCheck::Host(HostRule {
                zones: vec![Zone::Internet],
                kinds: vec![HostKind::Terminal],
                models: vec![NetworkModel::Beta, NetworkModel::BetaPrime],
                require: Vec::new(),
                beta_controls: true,
            }),
        ),
        rule(
            "NC-301",
            "基本方針 6(3)",
            Severity::High,
            "ホストのアドレスが別のネットワーク区分のセグメントにあります: {element}（{detail}）",
            RuleCheck::MisZoned,
        ),
        rule(
            "NC-302",
            "基本方針 2(11)・6(3)",
            Severity::Critical,
            "異なるネットワーク区分のセグメントのアドレス範囲が重なっています: {element}（{detail}）",
            RuleCheck::SegmentOverlap,
        ),
    ]
}

/// Fills a message template.
pub fn render_message(template: &str, element: &str, detail: &str) -> String {
    template
        .replace("{element}", element)
        .replace("{detail}", detail)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    #[test]
    fn builtin_ids_are_unique_and_messages_name_the_element() {
        let rules = builtin_rules();
        let mut ids: Vec<_> = rules.iter().map(|r| r.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules.len());
        assert!(rules.iter().all(|r| r.message.contains("{element}")));
    }

    #[test]
    fn rules_round_trip_through_toml() {
        #[derive(Serialize, Deserialize)]
        struct Doc {
            rule: Vec<Rule>,
        }
        let doc = Doc {
            rule: builtin_rules(),
        };
        let text = toml::to_string(&doc).unwrap();
        let back: Doc = toml::from_str(&text).unwrap();
        assert_eq!(back.rule, doc.rule);
    }
}
