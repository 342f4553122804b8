//! The checker's result: violations naming the element and the rule of the policy, as JSON for
//! machines and CI, and as Japanese text for people.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::error::Location;
use crate::model::NetworkModel;
use crate::rules::Severity;

/// What kind of element a violation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ElementKind {
    /// A `[[flow]]`.
    Flow,
    /// A `[[host]]`.
    Host,
    /// A `[[segment]]` (or a pair of them).
    Segment,
    /// A `[[gateway]]`.
    Gateway,
    /// A rule of an imported firewall ruleset.
    FirewallRule,
}

impl ElementKind {
    /// Japanese label.
    pub fn label_ja(self) -> &'static str {
        match self {
            ElementKind::Flow => "通信",
            ElementKind::Host => "ホスト",
            ElementKind::Segment => "セグメント",
            ElementKind::Gateway => "ゲートウェイ",
            ElementKind::FirewallRule => "ファイアウォール規則",
        }
    }
}

/// The element a violation is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ElementRef {
    /// Its kind.
    pub kind: ElementKind,
    /// Its name (for firewall rules: `chain #n` or `table chain handle n`).
    pub name: String,
}

impl ElementRef {
    /// `通信「住基連携」`.
    pub fn label_ja(&self) -> String {
        format!("{}「{}」", self.kind.label_ja(), self.name)
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Rule id (`NC-101`).
    pub rule: String,
    /// Policy section the rule enforces.
    pub section: String,
    /// Severity.
    pub severity: Severity,
    /// The offending element.
    pub element: ElementRef,
    /// The rule's message with the element filled in.
    pub message: String,
    /// What exactly is wrong (may be empty).
    pub detail: String,
    /// Where the element is written, when known (firewall rules: file and line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A firewall rule that would permit forbidden traffic but is never reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowedRule {
    /// The shadowed rule.
    pub rule: String,
    /// Where it is written, when the format has lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The earlier drop that hides it.
    pub shadowed_by: String,
}

/// Figures about imported firewall rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirewallSummary {
    /// Files read.
    pub files: Vec<String>,
    /// Rules read (all tables and chains).
    pub rules: usize,
    /// Rules that accept new traffic.
    pub permitting: usize,
    /// Permitting rules that would break a zone rule but sit behind an earlier drop.
    pub shadowed: Vec<ShadowedRule>,
}

/// Counts shown at the top of a report and on the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Segments checked.
    pub segments: usize,
    /// Hosts checked.
    pub hosts: usize,
    /// Gateways.
    pub gateways: usize,
    /// Flows checked.
    pub flows: usize,
    /// Rules applied (built-in and the organisation's own).
    pub rules: usize,
    /// Violations found.
    pub violations: usize,
    /// Violations per severity.
    pub by_severity: BTreeMap<Severity, usize>,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Name of the network.
    pub network: String,
    /// Its network model.
    pub model: NetworkModel,
    /// Counts.
    pub summary: Summary,
    /// Violations, most severe first, then by rule and element (independent of input order).
    pub violations: Vec<Violation>,
    /// Present when firewall rules were checked too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<FirewallSummary>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// Sorts violations and recounts the summary; called after violations are added.
    pub fn finish(&mut self) {
        self.violations.sort_by(|a, b| {
            (a.severity, &a.rule, &a.element, &a.detail, &a.location).cmp(&(
                b.severity,
                &b.rule,
                &b.element,
                &b.detail,
                &b.location,
            ))
        });
        self.violations.dedup();
        self.summary.violations = self.violations.len();
        self.summary.by_severity.clear();
        for v in &self.violations {
            *self.summary.by_severity.entry(v.severity).or_insert(0) += 1;
        }
        if let Some(fw) = &mut self.firewall {
            fw.shadowed
                .sort_by(|a, b| (&a.location, &a.rule).cmp(&(&b.location, &b.rule)));
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as Japanese text, one violation per paragraph.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let s = &self.summary;
        let _ = writeln!(
            out,
            "ネットワーク「{}」（{}）: セグメント {}・ホスト {}・ゲートウェイ {}・通信 {}、規則 {} 件を確認",
            self.network,
            self.model.label(),
            s.segments,
            s.hosts,
            s.gateways,
            s.flows,
            s.rules
        );
        if let Some(fw) = &self.firewall {
            let _ = writeln!(
                out,
                "ファイアウォール規則: {} 件（許可 {} 件、先行する拒否で無効 {} 件）: {}",
                fw.rules,
                fw.permitting,
                fw.shadowed.len(),
                fw.files.join(", ")
            );
        }
        if self.violations.is_empty() {
            let _ = writeln!(out, "違反はありません。");
            return out;
        }
        let counts: Vec<String> = s
            .by_severity
            .iter()
            .map(|(sev, n)| format!("{} {n}", sev.label_ja()))
            .collect();
        let _ = writeln!(out, "違反 {} 件（{}）", s.violations, counts.join("・"));
        for v in &self.violations {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "[{}] {} {}: {}",
                v.severity.label_ja(),
                v.rule,
                v.section,
                v.message
            );
            // Rules whose message has no {detail} still show what exactly was found.
            if !v.detail.is_empty() && !v.message.contains(&v.detail) {
                let _ = writeln!(out, "    詳細: {}", v.detail);
            }
            if let Some(loc) = &v.location {
                let _ = writeln!(out, "    場所: {loc}");
            }
        }
        if let Some(fw) = &self.firewall
            && !fw.shadowed.is_empty()
        {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "先行する拒否規則により到達しない許可規則（違反として数えません）:"
            );
            for sh in &fw.shadowed {
                let at = sh
                    .location
                    .as_ref()
                    .map(|l| format!("{l} "))
                    .unwrap_or_default();
                let _ = writeln!(out, "    {at}{}（{} により無効）", sh.rule, sh.shadowed_by);
            }
        }
        out
    }
}
