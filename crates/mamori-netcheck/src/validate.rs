//! Integrity of a network description beyond its syntax: unique names, references that point at
//! something, gateways that bridge two places, well-formed custom rules.
//!
//! Issues carry an element path (`flow[3].via`); the TOML reader turns it into a line and column.

use std::collections::HashMap;

use crate::index::NameIndex;
use crate::model::{Network, OutsideKind};
use crate::rules::{Requirement, RuleCheck, builtin_rules};

/// One integrity problem, located by element path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Top-level table: `network`, `segment`, `host`, `gateway`, `outside`, `flow`, `rule`.
    pub section: &'static str,
    /// Position in the section's array (0 for `network`).
    pub index: usize,
    /// Field name, or empty for the whole element.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Issue {
    fn new(section: &'static str, index: usize, field: &'static str, message: String) -> Issue {
        Issue {
            section,
            index,
            field,
            message,
        }
    }

    /// `host[3].zone`.
    pub fn path(&self) -> String {
        let mut p = if self.section == "network" {
            self.section.to_owned()
        } else {
            format!("{}[{}]", self.section, self.index)
        };
        if !self.field.is_empty() {
            p.push('.');
            p.push_str(self.field);
        }
        p
    }
}

impl Network {
    /// Every integrity problem, in file order of sections.
    pub fn validate(&self) -> Vec<Issue> {
        let mut issues = Vec::new();
        if self.network.name.trim().is_empty() {
            issues.push(Issue::new(
                "network",
                0,
                "name",
                "ネットワークの名前が空です".to_owned(),
            ));
        }

        let mut seen: HashMap<&str, String> = HashMap::new();
        let named = self
            .segments
            .iter()
            .map(|s| ("segment", s.name.as_str()))
            .enumerate()
            .map(|(i, (s, n))| (s, i, n))
            .chain(
                self.hosts
                    .iter()
                    .enumerate()
                    .map(|(i, h)| ("host", i, h.name.as_str())),
            )
            .chain(
                self.gateways
                    .iter()
                    .enumerate()
                    .map(|(i, g)| ("gateway", i, g.name.as_str())),
            )
            .chain(
                self.outside
                    .iter()
                    .enumerate()
                    .map(|(i, o)| ("outside", i, o.name.as_str())),
            );
        for (section, index, name) in named {
            if name.trim().is_empty() {
                issues.push(Issue::new(
                    section,
                    index,
                    "name",
                    "名前が空です".to_owned(),
                ));
                continue;
            }
            let here = format!("{section}[{index}]");
            if let Some(first) = seen.get(name) {
                issues.push(Issue::new(
                    section,
                    index,
                    "name",
                    format!("名前「{name}」は {first} で既に使われています"),
                ));
            } else {
                seen.insert(name, here);
            }
        }

        let idx = NameIndex::new(self);
        for (i, svc) in self.network.direct_services.iter().enumerate() {
            let ok = self
                .outside
                .iter()
                .any(|o| o.name == *svc && o.kind == OutsideKind::CloudService);
            if !ok {
                issues.push(Issue::new(
                    "network",
                    i,
                    "direct_services",
                    format!("direct_services の「{svc}」は種別 cloud_service の [[outside]] ではありません"),
                ));
            }
        }

        for (i, g) in self.gateways.iter().enumerate() {
            let mut places = g.between.clone();
            places.sort();
            places.dedup();
            if places.len() < 2 {
                issues.push(Issue::new(
                    "gateway",
                    i,
                    "between",
                    format!(
                        "ゲートウェイ「{}」の between には異なる場所を2つ以上書いてください",
                        g.name
                    ),
                ));
            }
        }

        // Reports name flows, so two flows with one name would read as one.
        let mut flow_names: HashMap<&str, usize> = HashMap::new();
        for (i, f) in self.flows.iter().enumerate() {
            if let Some(name) = f.name.as_deref().filter(|n| !n.trim().is_empty())
                && let Some(first) = flow_names.insert(name, i)
            {
                issues.push(Issue::new(
                    "flow",
                    i,
                    "name",
                    format!("通信の名前「{name}」は flow[{first}] で既に使われています"),
                ));
            }
        }
        for (i, f) in self.flows.iter().enumerate() {
            if let Err(e) = idx.resolve(&f.from) {
                issues.push(Issue::new("flow", i, "from", e));
            }
            if let Err(e) = idx.resolve(&f.to) {
                issues.push(Issue::new("flow", i, "to", e));
            }
            if let Some(via) = &f.via {
                match idx.get(via) {
                    Some(crate::index::Element::Gateway(_)) => {}
                    Some(_) => issues.push(Issue::new(
                        "flow",
                        i,
                        "via",
                        format!("「{via}」はゲートウェイではありません"),
                    )),
                    None => issues.push(Issue::new(
                        "flow",
                        i,
                        "via",
                        format!("ゲートウェイ「{via}」は定義されていません"),
                    )),
                }
            }
        }

        let builtin: Vec<String> = builtin_rules().into_iter().map(|r| r.id).collect();
        let mut rule_ids: HashMap<&str, usize> = HashMap::new();
        for (i, r) in self.rules.iter().enumerate() {
            if r.id.trim().is_empty() {
                issues.push(Issue::new("rule", i, "id", "規則の id が空です".to_owned()));
            } else if builtin.contains(&r.id) {
                issues.push(Issue::new(
                    "rule",
                    i,
                    "id",
                    format!("規則 id「{}」は組み込みの規則と同じです", r.id),
                ));
            } else if let Some(first) = rule_ids.insert(r.id.as_str(), i) {
                issues.push(Issue::new(
                    "rule",
                    i,
                    "id",
                    format!("規則 id「{}」は rule[{first}] で既に使われています", r.id),
                ));
            }
            if r.message.trim().is_empty() {
                issues.push(Issue::new(
                    "rule",
                    i,
                    "message",
                    "規則のメッセージが空です".to_owned(),
                ));
            }
            match &r.check {
                RuleCheck::Flow(fr) => {
                    if fr.from.is_empty() || fr.to.is_empty() {
                        issues.push(Issue::new(
                            "rule",
                            i,
                            "from",
                            "通信の規則には from と to の両方が必要です".to_owned(),
                        ));
                    }
                    if fr.require.contains(&Requirement::Via) && fr.via_kinds.is_empty() {
                        issues.push(Issue::new(
                            "rule",
                            i,
                            "via_kinds",
                            "require に via を書くときは via_kinds も必要です".to_owned(),
                        ));
                    }
                }
                RuleCheck::Host(hr) => {
                    if hr.zones.is_empty() {
                        issues.push(Issue::new(
                            "rule",
                            i,
                            "zones",
                            "ホストの規則には zones が必要です".to_owned(),
                        ));
                    }
                }
                RuleCheck::MisZoned | RuleCheck::SegmentOverlap => {}
            }
        }
        issues
    }
}
