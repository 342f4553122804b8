//! The checker: applies every rule (built-in, then the organisation's own) to a network and
//! collects violations. Pure and single-threaded; cost is linear in flows and hosts plus a sort
//! of the segments.

use std::net::IpAddr;

use mamori_core::zone::Zone;

use crate::addrmap::AddrMap;
use crate::index::{NameIndex, Resolved, place_of};
use crate::model::{
    Control, Flow, Gateway, Network, NetworkModel, Place, Ports, Protocol, Segment,
};
use crate::report::{ElementKind, ElementRef, Report, Summary, Violation};
use crate::rules::{
    FlowRule, HostRule, Requirement, Rule, RuleCheck, SPECIFIC_PORTS_MAX, builtin_rules,
    render_message,
};

/// Overlapping pairs reported at most: past this the segment plan needs redoing, not a longer list.
const MAX_OVERLAPS: usize = 10_000;

/// Checks a network against the built-in rules and its own `[[rule]]`s.
///
/// The network should have passed [`Network::validate`] (the parsers ensure it); elements whose
/// references do not resolve are skipped rather than guessed at.
pub fn check(net: &Network) -> Report {
    let rules = rules_for(net);
    let ctx = Context::new(net);
    let mut violations = Vec::new();
    let mut flow_rules = Vec::new();
    for rule in &rules {
        match &rule.check {
            RuleCheck::Flow(fr) => flow_rules.push((rule, fr)),
            RuleCheck::Host(hr) => check_hosts(net, rule, hr, &mut violations),
            RuleCheck::MisZoned => check_mis_zoned(&ctx, rule, &mut violations),
            RuleCheck::SegmentOverlap => check_overlap(&ctx, rule, &mut violations),
        }
    }
    check_flows(&ctx, &flow_rules, &mut violations);
    let mut report = Report {
        network: net.network.name.clone(),
        model: net.network.model,
        summary: Summary {
            segments: net.segments.len(),
            hosts: net.hosts.len(),
            gateways: net.gateways.len(),
            flows: net.flows.len(),
            rules: rules.len(),
            ..Summary::default()
        },
        violations,
        firewall: None,
    };
    report.finish();
    report
}

/// The rules applied to a network: built-in first, then its own.
pub fn rules_for(net: &Network) -> Vec<Rule> {
    let mut rules = builtin_rules();
    rules.extend(net.rules.iter().cloned());
    rules
}

/// Lookups built once per check.
pub(crate) struct Context<'a> {
    pub net: &'a Network,
    pub names: NameIndex<'a>,
    pub addrs: AddrMap,
}

impl<'a> Context<'a> {
    pub fn new(net: &'a Network) -> Context<'a> {
        Context {
            net,
            names: NameIndex::new(net),
            addrs: AddrMap::new(net),
        }
    }
}

/// What the flow rules look at, whether the traffic comes from a `[[flow]]` or a firewall rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Traffic<'a> {
    pub from: Place,
    pub to: Place,
    /// The source is one specific host (not a segment, zone or outside place).
    pub from_host: bool,
    pub to_host: bool,
    /// One end is a cloud service the network lists in `direct_services`.
    pub direct_service: bool,
    pub protocol: Protocol,
    pub ports: &'a Ports,
    pub purpose: bool,
    pub approval: bool,
    pub via: Option<&'a Gateway>,
    /// How to show the source and destination in details.
    pub from_label: &'a str,
    pub to_label: &'a str,
}

/// Whether the traffic breaks the flow rule; `Some(detail)` when it does.
pub(crate) fn evaluate(rule: &FlowRule, model: NetworkModel, t: &Traffic<'_>) -> Option<String> {
    if !rule.applies(t.from, t.to) {
        return None;
    }
    if !rule.when_via.is_empty() && !t.via.is_some_and(|g| rule.when_via.contains(&g.kind)) {
        return None;
    }
    if rule.direct_services_exempt && model.allows_direct_services() && t.direct_service {
        return None;
    }
    if rule.never {
        return Some(format!("{} → {}", t.from.label_ja(), t.to.label_ja()));
    }
    let mut missing: Vec<String> = Vec::new();
    for req in &rule.require {
        let ok = match req {
            Requirement::Purpose => t.purpose,
            Requirement::Approval => t.approval,
            Requirement::HostEndpoints => t.from_host && t.to_host,
            Requirement::SpecificPorts => {
                t.protocol == Protocol::Icmp
                    || (t.protocol != Protocol::Any
                        && t.ports.count().is_some_and(|n| n <= SPECIFIC_PORTS_MAX))
            }
            Requirement::Via => {
                if let Some(why) = via_problem(rule, t) {
                    missing.push(why);
                }
                true
            }
        };
        if !ok {
            let mut text = req.missing_ja().to_owned();
            match req {
                Requirement::HostEndpoints => {
                    let ends: Vec<&str> = [(t.from_host, t.from_label), (t.to_host, t.to_label)]
                        .into_iter()
                        .filter(|(host, _)| !host)
                        .map(|(_, l)| l)
                        .collect();
                    text = format!("{text}: {}", ends.join("、"));
                }
                Requirement::SpecificPorts => {
                    text = format!(
                        "{text}: {}/{}",
                        crate::model::serde_plain_protocol(t.protocol),
                        t.ports
                    );
                }
                _ => {}
            }
            missing.push(text);
        }
    }
    if missing.is_empty() {
        None
    } else {
        Some(missing.join("、"))
    }
}

fn via_problem(rule: &FlowRule, t: &Traffic<'_>) -> Option<String> {
    let Some(g) = t.via else {
        return Some(Requirement::Via.missing_ja().to_owned());
    };
    if !rule.via_kinds.contains(&g.kind) {
        return Some(format!(
            "経由するゲートウェイ「{}」は{}で、この通信には使えない",
            g.name,
            g.kind.label_ja()
        ));
    }
    if !(g.bridges(t.from) && g.bridges(t.to)) {
        return Some(format!(
            "ゲートウェイ「{}」は{}と{}の間にない",
            g.name,
            t.from.label_ja(),
            t.to.label_ja()
        ));
    }
    None
}

fn is_host(r: Resolved) -> bool {
    matches!(r, Resolved::Host(_))
}

fn is_direct_service(net: &Network, r: Resolved) -> bool {
    match r {
        Resolved::Outside(Some(i)) => net.outside.get(i).is_some_and(|o| {
            o.kind == crate::model::OutsideKind::CloudService
                && net.network.direct_services.contains(&o.name)
        }),
        _ => false,
    }
}

/// The traffic a registered flow describes, or `None` if its references do not resolve.
pub(crate) fn flow_traffic<'a>(
    ctx: &Context<'a>,
    flow: &'a Flow,
    labels: &'a (String, String),
) -> Option<Traffic<'a>> {
    let net = ctx.net;
    let from = ctx.names.resolve(&flow.from).ok()?;
    let to = ctx.names.resolve(&flow.to).ok()?;
    let via = match &flow.via {
        Some(name) => match ctx.names.get(name) {
            Some(crate::index::Element::Gateway(i)) => net.gateways.get(i),
            _ => return None,
        },
        None => None,
    };
    Some(Traffic {
        from: place_of(net, from),
        to: place_of(net, to),
        from_host: is_host(from),
        to_host: is_host(to),
        direct_service: is_direct_service(net, from) || is_direct_service(net, to),
        protocol: flow.protocol,
        ports: &flow.ports,
        purpose: flow.has_purpose(),
        approval: flow.has_approval(),
        via,
        from_label: &labels.0,
        to_label: &labels.1,
    })
}

/// Each flow is resolved once and then held against every flow rule.
fn check_flows(ctx: &Context<'_>, rules: &[(&Rule, &FlowRule)], out: &mut Vec<Violation>) {
    for flow in &ctx.net.flows {
        let labels = (flow.from.to_string(), flow.to.to_string());
        let Some(t) = flow_traffic(ctx, flow, &labels) else {
            continue;
        };
        for (rule, fr) in rules {
            if let Some(detail) = evaluate(fr, ctx.net.network.model, &t) {
                let element = ElementRef {
                    kind: ElementKind::Flow,
                    name: flow.display_name(),
                };
                out.push(violation(rule, element, detail, None));
            }
        }
    }
}

pub(crate) fn violation(
    rule: &Rule,
    element: ElementRef,
    detail: String,
    location: Option<crate::error::Location>,
) -> Violation {
    Violation {
        rule: rule.id.clone(),
        section: rule.section.clone(),
        severity: rule.severity,
        message: render_message(&rule.message, &element.label_ja(), &detail),
        element,
        detail,
        location,
    }
}

fn check_hosts(net: &Network, rule: &Rule, hr: &HostRule, out: &mut Vec<Violation>) {
    let model = net.network.model;
    if !hr.models.is_empty() && !hr.models.contains(&model) {
        return;
    }
    let mut required: Vec<Control> = hr.require.clone();
    if hr.beta_controls {
        required.extend(net.network.beta_controls.iter().copied());
    }
    required.sort();
    required.dedup();
    for host in &net.hosts {
        if !hr.zones.contains(&host.zone)
            || (!hr.kinds.is_empty() && !hr.kinds.contains(&host.kind))
        {
            continue;
        }
        let missing: Vec<&str> = required
            .iter()
            .filter(|c| !host.has(**c))
            .map(|c| c.label_ja())
            .collect();
        if !missing.is_empty() {
            let element = ElementRef {
                kind: ElementKind::Host,
                name: host.name.clone(),
            };
            out.push(violation(
                rule,
                element,
                format!("未設定: {}", missing.join("、")),
                None,
            ));
        }
    }
}

fn check_mis_zoned(ctx: &Context<'_>, rule: &Rule, out: &mut Vec<Violation>) {
    let net = ctx.net;
    // The most specific segment decides; when equal ranges are declared twice, the address is
    // mis-zoned only if none of them is in an acceptable zone, and the first by name is shown.
    let offending = |addr: IpAddr, ok: &dyn Fn(Zone) -> bool| {
        let segs: Vec<&Segment> = ctx
            .addrs
            .segments_of(addr)
            .iter()
            .filter_map(|i| net.segments.get(*i))
            .collect();
        if segs.iter().any(|s| ok(s.zone)) {
            return None;
        }
        segs.into_iter().min_by(|a, b| a.name.cmp(&b.name))
    };
    for host in &net.hosts {
        for addr in &host.addresses {
            if let Some(seg) = offending(*addr, &|z| z == host.zone) {
                let element = ElementRef {
                    kind: ElementKind::Host,
                    name: host.name.clone(),
                };
                let detail = format!(
                    "{}は{}だが、{addr} はセグメント「{}」（{}）のアドレス",
                    host.name,
                    host.zone.label_ja(),
                    seg.name,
                    seg.zone.label_ja()
                );
                out.push(violation(rule, element, detail, None));
            }
        }
    }
    for gw in &net.gateways {
        for addr in &gw.addresses {
            if let Some(seg) = offending(*addr, &|z| gw.bridges(Place::Zone(z))) {
                let element = ElementRef {
                    kind: ElementKind::Gateway,
                    name: gw.name.clone(),
                };
                let detail = format!(
                    "{addr} はセグメント「{}」（{}）のアドレスだが、ゲートウェイはその区分に接していない",
                    seg.name,
                    seg.zone.label_ja()
                );
                out.push(violation(rule, element, detail, None));
            }
        }
    }
}

fn check_overlap(ctx: &Context<'_>, rule: &Rule, out: &mut Vec<Violation>) {
    let net = ctx.net;
    let different = |a: usize, b: usize| {
        net.segments
            .get(a)
            .zip(net.segments.get(b))
            .is_some_and(|(x, y)| x.zone != y.zone)
    };
    for (a, b) in ctx.addrs.overlapping_segments(different, MAX_OVERLAPS) {
        let (Some(sa), Some(sb)) = (net.segments.get(a), net.segments.get(b)) else {
            continue;
        };
        if sa.zone == sb.zone {
            continue;
        }
        // Name the pair in a fixed order so the report does not depend on input order.
        let (x, y) = if sa.name <= sb.name {
            (sa, sb)
        } else {
            (sb, sa)
        };
        let element = ElementRef {
            kind: ElementKind::Segment,
            name: format!("{} / {}", x.name, y.name),
        };
        let detail = format!(
            "{}（{}、{}）と {}（{}、{}）",
            x.name,
            x.zone.label_ja(),
            x.cidr,
            y.name,
            y.zone.label_ja(),
            y.cidr
        );
        out.push(violation(rule, element, detail, None));
    }
}
