//! Real firewall rules against the zone rules: reads `iptables-save` output, nftables JSON
//! (`nft -j list ruleset`) and a generic CSV, resolves addresses to zones through the segments,
//! and reports every rule that permits traffic the zone rules forbid.
//!
//! A permitting rule is fine when the traffic it lets through is what a compliant registered
//! `[[flow]]` describes (same places, addresses inside the flow's endpoints, ports inside its
//! ports) or when it only talks to a gateway that bridges its side. A rule hidden behind an
//! earlier drop in the same chain that covers it entirely is listed as shadowed, not reported.
//!
//! Only what decides reachability is modelled: addresses, protocol, destination ports,
//! interfaces, connection state. A rule with conditions beyond these (negation, source ports,
//! rate limits, …) is treated as permitting more than it does, and is never used as a shadowing
//! drop — the checker errs towards reporting.

mod csvfile;
mod iptables;
mod nft;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use crate::addrmap::{Coverage, Owner, range};
use crate::check::{Context, Traffic, evaluate, violation};
use crate::error::{InputError, Location, check_size};
use crate::index::{Resolved, place_of};
use crate::model::{Endpoint, Network, OutsideKind, Place, PlaceSet, Ports, Protocol};
use crate::report::{ElementKind, ElementRef, FirewallSummary, Report, ShadowedRule};
use crate::rules::RuleCheck;

/// Which syntax a ruleset file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FirewallFormat {
    /// `iptables-save` / `ip6tables-save` output, optionally with `ipset save` lines.
    Iptables,
    /// `nft -j list ruleset`.
    NftJson,
    /// CSV with `source,destination,service,action` (and optional `name`) columns.
    Csv,
}

impl std::str::FromStr for FirewallFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "iptables" | "iptables-save" => Ok(FirewallFormat::Iptables),
            "nft-json" | "nft" | "nftables" | "json" => Ok(FirewallFormat::NftJson),
            "csv" => Ok(FirewallFormat::Csv),
            _ => Err(format!(
                "ファイアウォール形式「{s}」は認識できません（iptables / nft-json / csv）"
            )),
        }
    }
}

/// Addresses a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrMatch {
    /// Every address.
    Any,
    /// Only these.
    Nets(Vec<IpNet>),
}

impl AddrMatch {
    fn covers(&self, other: &AddrMatch) -> bool {
        match (self, other) {
            (AddrMatch::Any, _) => true,
            (AddrMatch::Nets(_), AddrMatch::Any) => false,
            (AddrMatch::Nets(mine), AddrMatch::Nets(theirs)) => {
                theirs.iter().all(|t| mine.iter().any(|m| m.contains(t)))
            }
        }
    }

    fn label(&self) -> String {
        match self {
            AddrMatch::Any => "any".to_owned(),
            AddrMatch::Nets(nets) => {
                let shown: Vec<String> = nets.iter().take(4).map(ToString::to_string).collect();
                let more = nets.len().saturating_sub(4);
                if more > 0 {
                    format!("{} 他{more}件", shown.join(","))
                } else {
                    shown.join(",")
                }
            }
        }
    }
}

/// A protocol with destination ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Protocol.
    pub protocol: Protocol,
    /// Destination ports.
    pub ports: Ports,
}

impl Service {
    /// Every protocol, every port.
    pub const ANY: Service = Service {
        protocol: Protocol::Any,
        ports: Ports::Any,
    };

    fn covers(&self, other: &Service) -> bool {
        self.protocol.covers(other.protocol) && self.ports.covers(&other.ports)
    }
}

/// What a rule does with matching packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Lets them through.
    Accept,
    /// Discards them.
    Drop,
    /// Refuses them.
    Reject,
    /// Translates addresses (NAT); decides nothing about reachability.
    Nat,
    /// Anything else (log, jump, return, mark …).
    Other,
}

/// One rule read from a ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirewallRule {
    /// How reports name it (`filter/FORWARD #3`, `inet filter forward handle 12`, `行 5`).
    pub name: String,
    /// File and line, when the format has lines.
    pub location: Option<Location>,
    /// Table and chain; shadowing is looked for within one.
    pub chain: String,
    /// Source addresses.
    pub src: AddrMatch,
    /// Destination addresses.
    pub dst: AddrMatch,
    /// Services matched (empty: any).
    pub services: Vec<Service>,
    /// Input interface.
    pub in_iface: Option<String>,
    /// Output interface.
    pub out_iface: Option<String>,
    /// Verdict.
    pub action: Action,
    /// Matches only established/related connections, so it opens nothing new.
    pub established_only: bool,
    /// Has conditions not modelled here (so it matches less than it seems).
    pub narrowed: bool,
    /// Sits in a filtering table/chain (not nat/mangle/raw).
    pub filtering: bool,
    /// Comment, if the ruleset carries one.
    pub comment: Option<String>,
}

impl FirewallRule {
    fn services_or_any(&self) -> Vec<Service> {
        if self.services.is_empty() {
            vec![Service::ANY]
        } else {
            self.services.clone()
        }
    }

    /// Whether this drop hides every packet `later` would accept.
    fn shadows(&self, later: &FirewallRule) -> bool {
        let iface =
            |mine: &Option<String>, theirs: &Option<String>| mine.is_none() || (mine == theirs);
        matches!(self.action, Action::Drop | Action::Reject)
            && !self.narrowed
            && !self.established_only
            && self.src.covers(&later.src)
            && self.dst.covers(&later.dst)
            && iface(&self.in_iface, &later.in_iface)
            && iface(&self.out_iface, &later.out_iface)
            && (self.services.is_empty()
                || later
                    .services_or_any()
                    .iter()
                    .all(|l| self.services.iter().any(|m| m.covers(l))))
    }
}

/// A parsed ruleset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// File name as given.
    pub file: String,
    /// Rules in file order.
    pub rules: Vec<FirewallRule>,
}

/// Most rules accepted from one file.
pub const MAX_RULES: usize = 1_000_000;

/// Reads a ruleset. `net` resolves element names used in CSV source/destination columns.
pub fn parse_ruleset(
    text: &str,
    file: &str,
    format: FirewallFormat,
    net: &Network,
) -> Result<Ruleset, InputError> {
    check_size(file, text.len())?;
    let rules = match format {
        FirewallFormat::Iptables => iptables::parse(text, file)?,
        FirewallFormat::NftJson => nft::parse(text, file)?,
        FirewallFormat::Csv => csvfile::parse(text, file, net)?,
    };
    Ok(Ruleset {
        file: file.to_owned(),
        rules,
    })
}

/// One side of a permitting rule, resolved against the network.
struct Side {
    places: PlaceSet,
    host: Option<usize>,
    gateway: Option<usize>,
    direct_service: bool,
    label: String,
}

struct Resolver<'a> {
    ctx: &'a Context<'a>,
    host_by_addr: HashMap<IpAddr, usize>,
    gateway_by_addr: HashMap<IpAddr, usize>,
    any: Coverage,
}

fn single_address(net: &IpNet) -> Option<IpAddr> {
    (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
}

impl<'a> Resolver<'a> {
    fn new(ctx: &'a Context<'a>) -> Resolver<'a> {
        let mut host_by_addr = HashMap::new();
        for (i, h) in ctx.net.hosts.iter().enumerate() {
            for a in &h.addresses {
                host_by_addr.entry(*a).or_insert(i);
            }
        }
        let mut gateway_by_addr = HashMap::new();
        for (i, g) in ctx.net.gateways.iter().enumerate() {
            for a in &g.addresses {
                gateway_by_addr.entry(*a).or_insert(i);
            }
        }
        // "Any" touches every cell; work it out once, not per rule.
        let mut any = Coverage::default();
        ctx.addrs.cover(0, u128::MAX, &mut any);
        Resolver {
            ctx,
            host_by_addr,
            gateway_by_addr,
            any,
        }
    }

    fn coverage(&self, m: &AddrMatch) -> Coverage {
        let mut cov = Coverage::default();
        match m {
            AddrMatch::Any => return self.any.clone(),
            AddrMatch::Nets(nets) => {
                for n in nets {
                    let (a, b) = range(&n.trunc());
                    self.ctx.addrs.cover(a, b, &mut cov);
                }
            }
        }
        cov
    }

    fn side(&self, m: &AddrMatch) -> Side {
        let net = self.ctx.net;
        let cov = self.coverage(m);
        let mut places = cov.places;
        if cov.uncovered_public {
            places.insert(Place::Outside(OutsideKind::Internet));
        }
        let same = |map: &HashMap<IpAddr, usize>| -> Option<usize> {
            let AddrMatch::Nets(nets) = m else {
                return None;
            };
            let mut found = None;
            for n in nets {
                let i = single_address(n).and_then(|a| map.get(&a).copied())?;
                if found.is_some_and(|f| f != i) {
                    return None;
                }
                found = Some(i);
            }
            found
        };
        let direct_service = !cov.uncovered
            && !cov.owners.is_empty()
            && cov.owners.iter().all(|o| match o {
                Owner::Outside(i) => net.outside.get(*i).is_some_and(|p| {
                    p.kind == OutsideKind::CloudService
                        && net.network.direct_services.contains(&p.name)
                }),
                Owner::Segment(_) => false,
            });
        Side {
            places,
            host: same(&self.host_by_addr),
            gateway: same(&self.gateway_by_addr),
            direct_service,
            label: m.label(),
        }
    }

    /// Whether a registered endpoint includes every address of the match.
    fn endpoint_covers(&self, ep: Resolved, m: &AddrMatch) -> bool {
        let net = self.ctx.net;
        let AddrMatch::Nets(nets) = m else {
            return false;
        };
        match ep {
            Resolved::Host(i) => net.hosts.get(i).is_some_and(|h| {
                nets.iter()
                    .all(|n| single_address(n).is_some_and(|a| h.addresses.contains(&a)))
            }),
            Resolved::Segment(i) => net
                .segments
                .get(i)
                .is_some_and(|s| nets.iter().all(|n| s.cidr.contains(n))),
            Resolved::Outside(Some(i)) => net
                .outside
                .get(i)
                .is_some_and(|o| nets.iter().all(|n| o.cidrs.iter().any(|c| c.contains(n)))),
            Resolved::Zone(z) => {
                let cov = self.coverage(m);
                !cov.uncovered && cov.places.iter().all(|p| p == Place::Zone(z))
            }
            Resolved::Outside(None) => {
                let cov = self.coverage(m);
                cov.places.iter().all(|p| matches!(p, Place::Outside(_)))
            }
        }
    }
}

/// A compliant registered flow, resolved once.
struct Registered {
    from: Resolved,
    to: Resolved,
    service: Service,
}

/// Compliant registered flows between one pair of places: host-to-host ones by host pair (the
/// common case, looked up directly), the rest in a list.
#[derive(Default)]
struct Registry {
    by_hosts: HashMap<(usize, usize), Vec<Service>>,
    other: Vec<Registered>,
}

impl Registry {
    fn covers(
        &self,
        resolver: &Resolver<'_>,
        fw: &FirewallRule,
        src: &Side,
        dst: &Side,
        service: &Service,
    ) -> bool {
        if let (Some(a), Some(b)) = (src.host, dst.host)
            && self
                .by_hosts
                .get(&(a, b))
                .is_some_and(|svcs| svcs.iter().any(|s| s.covers(service)))
            && resolver.endpoint_covers(Resolved::Host(a), &fw.src)
            && resolver.endpoint_covers(Resolved::Host(b), &fw.dst)
        {
            return true;
        }
        self.other.iter().any(|r| {
            r.service.covers(service)
                && resolver.endpoint_covers(r.from, &fw.src)
                && resolver.endpoint_covers(r.to, &fw.dst)
        })
    }
}

/// Checks the network and its firewall rulesets: the model's own violations plus every
/// permitting firewall rule that breaks a zone rule.
pub fn check_with_firewall(net: &Network, rulesets: &[Ruleset]) -> Report {
    let mut report = crate::check(net);
    let ctx = Context::new(net);
    let resolver = Resolver::new(&ctx);
    let rules = crate::check::rules_for(net);
    let model = net.network.model;

    // Flows the model check found fine may stand behind firewall rules.
    let flagged: HashSet<&str> = report
        .violations
        .iter()
        .filter(|v| v.element.kind == ElementKind::Flow)
        .map(|v| v.element.name.as_str())
        .collect();
    let mut registered: HashMap<(Place, Place), Registry> = HashMap::new();
    for flow in &net.flows {
        if flagged.contains(flow.display_name().as_str()) {
            continue;
        }
        let (Ok(from), Ok(to)) = (ctx.names.resolve(&flow.from), ctx.names.resolve(&flow.to))
        else {
            continue;
        };
        let service = Service {
            protocol: flow.protocol,
            ports: flow.ports.clone(),
        };
        let registry = registered
            .entry((place_of(net, from), place_of(net, to)))
            .or_default();
        match (from, to) {
            (Resolved::Host(a), Resolved::Host(b)) => {
                registry.by_hosts.entry((a, b)).or_default().push(service);
            }
            _ => registry.other.push(Registered { from, to, service }),
        }
    }
    drop(flagged);

    let mut summary = FirewallSummary::default();
    let mut found = Vec::new();
    for set in rulesets {
        summary.files.push(set.file.clone());
        summary.rules += set.rules.len();
        let mut drops: HashMap<&str, Vec<&FirewallRule>> = HashMap::new();
        for fw in &set.rules {
            if !fw.filtering {
                continue;
            }
            match fw.action {
                Action::Drop | Action::Reject => {
                    drops.entry(fw.chain.as_str()).or_default().push(fw);
                    continue;
                }
                Action::Accept if !fw.established_only => {}
                _ => continue,
            }
            summary.permitting += 1;
            let src = resolver.side(&fw.src);
            let dst = resolver.side(&fw.dst);
            // Traffic ending on (or leaving) a gateway that bridges the other side is the
            // gateway doing its work.
            let bridged = |gw: Option<usize>, other: &Side| {
                gw.and_then(|g| net.gateways.get(g))
                    .is_some_and(|g| other.places.iter().all(|p| g.bridges(p)))
            };
            if bridged(dst.gateway, &src) || bridged(src.gateway, &dst) {
                continue;
            }
            let mut broken: Vec<(usize, Vec<String>)> = Vec::new();
            for service in fw.services_or_any() {
                for from in src.places.iter() {
                    for to in dst.places.iter() {
                        if from == to {
                            continue;
                        }
                        let covered = registered
                            .get(&(from, to))
                            .is_some_and(|r| r.covers(&resolver, fw, &src, &dst, &service));
                        if covered {
                            continue;
                        }
                        let t = Traffic {
                            from,
                            to,
                            from_host: src.host.is_some(),
                            to_host: dst.host.is_some(),
                            direct_service: src.direct_service || dst.direct_service,
                            protocol: service.protocol,
                            ports: &service.ports,
                            purpose: false,
                            approval: false,
                            via: None,
                            from_label: &src.label,
                            to_label: &dst.label,
                        };
                        for (ri, rule) in rules.iter().enumerate() {
                            let RuleCheck::Flow(fr) = &rule.check else {
                                continue;
                            };
                            if let Some(detail) = evaluate(fr, model, &t) {
                                let text = format!(
                                    "{} → {} {}/{}: {detail}",
                                    from.label_ja(),
                                    to.label_ja(),
                                    crate::model::serde_plain_protocol(service.protocol),
                                    service.ports
                                );
                                match broken.iter_mut().find(|(i, _)| *i == ri) {
                                    Some((_, texts)) if !texts.contains(&text) => texts.push(text),
                                    Some(_) => {}
                                    None => broken.push((ri, vec![text])),
                                }
                            }
                        }
                    }
                }
            }
            if broken.is_empty() {
                continue;
            }
            let shadow = drops
                .get(fw.chain.as_str())
                .and_then(|ds| ds.iter().find(|d| d.shadows(fw)));
            if let Some(d) = shadow {
                summary.shadowed.push(ShadowedRule {
                    rule: fw.name.clone(),
                    location: fw.location.clone(),
                    shadowed_by: d.name.clone(),
                });
                continue;
            }
            for (ri, texts) in broken {
                let Some(rule) = rules.get(ri) else { continue };
                let element = ElementRef {
                    kind: ElementKind::FirewallRule,
                    name: fw.name.clone(),
                };
                let detail = format!("{} → {}: {}", src.label, dst.label, texts.join(" / "));
                found.push(violation(rule, element, detail, fw.location.clone()));
            }
        }
    }
    report.violations.extend(found);
    report.firewall = Some(summary);
    report.finish();
    report
}

/// Looks a name up as a network element and returns its addresses (CSV columns may name hosts,
/// segments, gateways and outside places).
pub(crate) fn element_nets(net: &Network, name: &str) -> Option<Vec<IpNet>> {
    let idx = crate::index::NameIndex::new(net);
    let ep: Endpoint = name.parse().ok()?;
    let host_nets = |addrs: &[IpAddr]| addrs.iter().map(|a| IpNet::from(*a)).collect::<Vec<_>>();
    if let Some(crate::index::Element::Gateway(i)) = idx.get(name) {
        return net.gateways.get(i).map(|g| host_nets(&g.addresses));
    }
    match idx.resolve(&ep).ok()? {
        Resolved::Host(i) => net.hosts.get(i).map(|h| host_nets(&h.addresses)),
        Resolved::Segment(i) => net.segments.get(i).map(|s| vec![s.cidr]),
        Resolved::Outside(Some(i)) => net.outside.get(i).map(|o| o.cidrs.clone()),
        Resolved::Zone(z) => Some(
            net.segments
                .iter()
                .filter(|s| s.zone == z)
                .map(|s| s.cidr)
                .collect(),
        ),
        Resolved::Outside(None) => None,
    }
}

/// Parses an address, CIDR or `first-last` range into networks.
pub(crate) fn parse_addresses(text: &str) -> Result<Vec<IpNet>, String> {
    let t = text.trim();
    if let Some((a, b)) = t.split_once('-') {
        let a: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("アドレス範囲「{t}」を読めません"))?;
        let b: IpAddr = b
            .trim()
            .parse()
            .map_err(|_| format!("アドレス範囲「{t}」を読めません"))?;
        return match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => {
                Ok(ipnet::Ipv4Subnets::new(a, b, 0).map(IpNet::V4).collect())
            }
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => {
                Ok(ipnet::Ipv6Subnets::new(a, b, 0).map(IpNet::V6).collect())
            }
            _ => Err(format!(
                "アドレス範囲「{t}」の始まりと終わりが正しくありません"
            )),
        };
    }
    if t.contains('/') {
        return t
            .parse::<IpNet>()
            .map(|n| vec![n.trunc()])
            .map_err(|_| format!("「{t}」は正しいCIDRではありません"));
    }
    t.parse::<IpAddr>()
        .map(|a| vec![IpNet::from(a)])
        .map_err(|_| format!("「{t}」は正しいIPアドレスではありません"))
}

/// Parses `tcp`, `udp`, `icmp`, `all` and their numbers.
pub(crate) fn parse_protocol(text: &str) -> Option<Protocol> {
    match text.trim().to_ascii_lowercase().as_str() {
        "tcp" | "6" => Some(Protocol::Tcp),
        "udp" | "17" => Some(Protocol::Udp),
        "icmp" | "1" | "icmpv6" | "ipv6-icmp" | "58" => Some(Protocol::Icmp),
        "all" | "any" | "0" | "ip" => Some(Protocol::Any),
        _ => None,
    }
}
