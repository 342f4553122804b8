//! Benchmark of a full check, single-threaded: generates a network of 10,000 hosts, 1,000
//! segments and 100,000 flows plus 100,000 iptables rules, then times parsing and checking and
//! prints the peak RSS (VmHWM). Run through `bench/netcheck/run.sh` (release build).
//!
//! `netcheck_bench [--write DIR]` also writes `network.toml` and `firewall.rules` so the CLI can
//! be timed on the same data.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use mamori_core::zone::Zone;
use mamori_netcheck::firewall::{FirewallFormat, check_with_firewall, parse_ruleset};
use mamori_netcheck::model::{
    Endpoint, Flow, Gateway, GatewayKind, Host, HostKind, Network, NetworkInfo, NetworkModel,
    OutsideKind, Place, Ports, Protocol, Segment,
};

const SEGMENTS: usize = 1_000;
const HOSTS_PER_SEGMENT: usize = 10;
const FLOWS: usize = 100_000;
const RULES: usize = 100_000;

/// A small deterministic generator, so every run checks the same network.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap()
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() % n
    }
}

fn zone_of_segment(i: usize) -> Zone {
    match i % 10 {
        0 => Zone::MyNumber,
        1..=6 => Zone::Lgwan,
        _ => Zone::Internet,
    }
}

fn segment_addr(i: usize) -> Ipv4Addr {
    let second = match zone_of_segment(i) {
        Zone::MyNumber => 10,
        Zone::Lgwan => 20,
        Zone::Internet => 30,
    };
    // 1,000 segments spread over the third and (with the index) second octets.
    Ipv4Addr::new(
        10,
        second + u8::try_from(i / 256).unwrap(),
        u8::try_from(i % 256).unwrap(),
        0,
    )
}

fn host_addr(seg: usize, n: usize) -> IpAddr {
    let [a, b, c, _] = segment_addr(seg).octets();
    IpAddr::V4(Ipv4Addr::new(a, b, c, u8::try_from(n + 10).unwrap()))
}

fn generate() -> Network {
    let segments: Vec<Segment> = (0..SEGMENTS)
        .map(|i| Segment {
            name: format!("seg{i:04}"),
            zone: zone_of_segment(i),
            cidr: format!("{}/24", segment_addr(i)).parse().unwrap(),
            site: Some(["事務局", "消防本部", "慈生園"][i % 3].to_owned()),
            description: None,
        })
        .collect();
    let mut hosts = Vec::new();
    for s in 0..SEGMENTS {
        for n in 0..HOSTS_PER_SEGMENT {
            let terminal = n >= 2;
            hosts.push(Host {
                name: format!("h{s:04}-{n}"),
                kind: if terminal {
                    HostKind::Terminal
                } else {
                    HostKind::Server
                },
                zone: zone_of_segment(s),
                addresses: vec![host_addr(s, n)],
                asset: Some(format!("HW-{s:04}{n}")),
                site: None,
                mfa: Some("biometric".to_owned()),
                take_out_blocked: true,
                usb_control: true,
                edr: true,
                log_monitoring: true,
                description: None,
            });
        }
    }
    let gw = |name: &str, kind, between: Vec<Place>, addr: [u8; 4]| Gateway {
        name: name.to_owned(),
        kind,
        between,
        addresses: vec![IpAddr::V4(Ipv4Addr::from(addr))],
        site: None,
        description: None,
    };
    let lg_net = vec![Place::Zone(Zone::Lgwan), Place::Zone(Zone::Internet)];
    let gateways = vec![
        gw(
            "mail-gw",
            GatewayKind::MailSanitizer,
            lg_net.clone(),
            [10, 30, 7, 200],
        ),
        gw(
            "file-gw",
            GatewayKind::FileSanitizer,
            lg_net.clone(),
            [10, 30, 7, 201],
        ),
        gw(
            "screen-gw",
            GatewayKind::ScreenTransfer,
            lg_net,
            [10, 30, 7, 202],
        ),
        gw(
            "sc",
            GatewayKind::SecurityCloud,
            vec![
                Place::Zone(Zone::Internet),
                Place::Outside(OutsideKind::Internet),
            ],
            [10, 30, 8, 200],
        ),
    ];
    let segs_in =
        |z: Zone| -> Vec<usize> { (0..SEGMENTS).filter(|i| zone_of_segment(*i) == z).collect() };
    let (mn, lg, inet) = (
        segs_in(Zone::MyNumber),
        segs_in(Zone::Lgwan),
        segs_in(Zone::Internet),
    );
    let mut rng = Lcg(4);
    let pick_host = |segs: &[usize], rng: &mut Lcg| {
        let s = segs[rng.below(segs.len())];
        format!("h{s:04}-{}", rng.below(HOSTS_PER_SEGMENT))
    };
    let mut flows = Vec::with_capacity(FLOWS);
    for i in 0..FLOWS {
        let port: Ports = ["443", "25", "445", "8443", "80,443"][i % 5]
            .parse()
            .unwrap();
        let mut flow = Flow {
            name: Some(format!("flow{i:06}")),
            from: Endpoint::Host(String::new()),
            to: Endpoint::Host(String::new()),
            protocol: Protocol::Tcp,
            ports: port,
            purpose: Some("業務".to_owned()),
            via: None,
            approval: None,
            exception: None,
            description: None,
        };
        match i % 20 {
            // Registered マイナンバー ↔ LGWAN exchange.
            0 => {
                flow.from = Endpoint::Host(pick_host(&mn, &mut rng));
                flow.to = Endpoint::Host(pick_host(&lg, &mut rng));
                flow.ports = "443".parse().unwrap();
                flow.approval = Some("A-1".to_owned());
            }
            // Sanitised LGWAN ↔ internet traffic.
            1 | 2 => {
                flow.from = Endpoint::Host(pick_host(&inet, &mut rng));
                flow.to = Endpoint::Host(pick_host(&lg, &mut rng));
                flow.via = Some("mail-gw".to_owned());
            }
            3 => {
                flow.from = Endpoint::Host(pick_host(&inet, &mut rng));
                flow.to = Endpoint::Outside("internet".to_owned());
                flow.via = Some("sc".to_owned());
            }
            // Everything else stays inside a zone.
            n => {
                let segs = match n % 3 {
                    0 => &mn,
                    1 => &lg,
                    _ => &inet,
                };
                flow.from = Endpoint::Host(pick_host(segs, &mut rng));
                if n % 2 == 0 {
                    flow.to = Endpoint::Segment(format!("seg{:04}", segs[rng.below(segs.len())]));
                } else {
                    flow.to = Endpoint::Host(pick_host(segs, &mut rng));
                }
            }
        }
        // A handful of planted faults, so the report is not empty.
        if i % 10_000 == 9_999 {
            flow.from = Endpoint::Host(pick_host(&mn, &mut rng));
            flow.to = Endpoint::Outside("internet".to_owned());
        }
        flows.push(flow);
    }
    Network {
        network: NetworkInfo {
            name: "benchmark".to_owned(),
            organisation: None,
            model: NetworkModel::Alpha,
            direct_services: Vec::new(),
            beta_controls: vec![],
        },
        segments,
        hosts,
        gateways,
        outside: Vec::new(),
        flows,
        rules: Vec::new(),
    }
}

/// An iptables-save ruleset implementing the flows, with drops and a few shadowed and
/// forbidden permits.
fn firewall(net: &Network) -> String {
    let addr = |ep: &Endpoint| -> String {
        match ep {
            Endpoint::Host(n) => {
                let h = net.hosts.iter().find(|h| h.name == *n);
                h.map_or("0.0.0.0/0".to_owned(), |h| format!("{}/32", h.addresses[0]))
            }
            Endpoint::Segment(n) => net
                .segments
                .iter()
                .find(|s| s.name == *n)
                .map_or("0.0.0.0/0".to_owned(), |s| s.cidr.to_string()),
            _ => "198.51.100.0/24".to_owned(),
        }
    };
    // Index hosts by name once: the lookups above are only for the first rules.
    let host_addr: std::collections::HashMap<&str, String> = net
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), format!("{}/32", h.addresses[0])))
        .collect();
    let mut out =
        String::from("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    out.push_str("-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
    let mut i = 0;
    for flow in net.flows.iter().cycle() {
        if i >= RULES {
            break;
        }
        let src = match &flow.from {
            Endpoint::Host(n) => host_addr
                .get(n.as_str())
                .cloned()
                .unwrap_or_else(|| addr(&flow.from)),
            other => addr(other),
        };
        let dst = match &flow.to {
            Endpoint::Host(n) => host_addr
                .get(n.as_str())
                .cloned()
                .unwrap_or_else(|| addr(&flow.to)),
            other => addr(other),
        };
        if i % 50 == 48 {
            // A drop, then a permit it hides (forbidden when the source is outside マイナンバー).
            let _ = writeln!(out, "-A FORWARD -s {src} -d 10.10.0.0/16 -j DROP");
            let _ = writeln!(
                out,
                "-A FORWARD -s {src} -d 10.10.0.10/32 -p tcp -m tcp --dport 22 -j ACCEPT"
            );
            i += 1;
        } else if i % 25_000 == 24_999 {
            // A direct LGWAN → internet permit that nothing registers.
            let _ = writeln!(
                out,
                "-A FORWARD -s 10.20.1.0/24 -d 10.30.7.0/24 -p tcp -m tcp --dport 3389 -j ACCEPT"
            );
        } else {
            let ports = flow.ports.to_string().replace('-', ":");
            let _ = writeln!(
                out,
                "-A FORWARD -s {src} -d {dst} -i eth1 -o eth2 -p tcp -m multiport --dports {ports} -j ACCEPT"
            );
        }
        i += 1;
    }
    out.push_str("COMMIT\n");
    out
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The CLI's work in a fresh process: read both files, parse, check with the firewall.
fn check_files(dir: &str) {
    let t = Instant::now();
    let toml_text = std::fs::read_to_string(format!("{dir}/network.toml")).unwrap();
    let rules_text = std::fs::read_to_string(format!("{dir}/firewall.rules")).unwrap();
    let net = mamori_netcheck::parse_toml(&toml_text, "network.toml").unwrap();
    let parsed = t.elapsed();
    let after_toml = peak_rss_kib();
    let t = Instant::now();
    let ruleset = parse_ruleset(
        &rules_text,
        "firewall.rules",
        FirewallFormat::Iptables,
        &net,
    )
    .unwrap();
    let fw_parse = t.elapsed();
    let after_rules = peak_rss_kib();
    let t = Instant::now();
    let report = check_with_firewall(&net, std::slice::from_ref(&ruleset));
    let checked = t.elapsed();
    let json = report.to_json();
    println!("full check from files (fresh process, single thread)");
    println!(
        "  read + parse + validate TOML:   {:>8.1} ms",
        parsed.as_secs_f64() * 1e3
    );
    println!(
        "  parse iptables-save:            {:>8.1} ms",
        fw_parse.as_secs_f64() * 1e3
    );
    println!(
        "  check model + firewall:         {:>8.1} ms  ({} violations, {} KB JSON)",
        checked.as_secs_f64() * 1e3,
        report.violations.len(),
        json.len() / 1024
    );
    println!(
        "  peak RSS (VmHWM):               {:>8.1} MB  (after TOML {:.1} MB, after rules {:.1} MB)",
        peak_rss_kib() as f64 / 1024.0,
        after_toml as f64 / 1024.0,
        after_rules as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(dir) = args
        .iter()
        .position(|a| a == "--check")
        .and_then(|i| args.get(i + 1))
    {
        check_files(dir);
        return;
    }
    let write_dir = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .cloned();

    let t = Instant::now();
    let net = generate();
    let rules_text = firewall(&net);
    let generated = t.elapsed();

    let t = Instant::now();
    let report = mamori_netcheck::check(&net);
    let check_time = t.elapsed();

    let t = Instant::now();
    let ruleset = parse_ruleset(
        &rules_text,
        "firewall.rules",
        FirewallFormat::Iptables,
        &net,
    )
    .unwrap();
    let fw_parse = t.elapsed();
    let t = Instant::now();
    let fw_report = check_with_firewall(&net, std::slice::from_ref(&ruleset));
    let fw_check = t.elapsed();

    let t = Instant::now();
    let toml_text = mamori_netcheck::to_toml(&net).unwrap();
    let to_toml = t.elapsed();
    let t = Instant::now();
    let parsed = mamori_netcheck::parse_toml(&toml_text, "network.toml").unwrap();
    let toml_parse = t.elapsed();
    assert_eq!(parsed.flows.len(), FLOWS);

    let t = Instant::now();
    let svg = mamori_netcheck::render_svg(&net, &report);
    let svg_time = t.elapsed();

    if let Some(dir) = write_dir {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/network.toml"), &toml_text).unwrap();
        std::fs::write(format!("{dir}/firewall.rules"), &rules_text).unwrap();
    }

    let fw = fw_report.firewall.as_ref().unwrap();
    println!("netcheck benchmark (single thread)");
    println!(
        "  network: {} segments, {} hosts, {} gateways, {} flows; firewall: {} rules ({:.1} MB), TOML {:.1} MB",
        net.segments.len(),
        net.hosts.len(),
        net.gateways.len(),
        net.flows.len(),
        ruleset.rules.len(),
        rules_text.len() as f64 / 1e6,
        toml_text.len() as f64 / 1e6
    );
    println!(
        "  generate (not measured work):   {:>8.1} ms",
        generated.as_secs_f64() * 1e3
    );
    println!(
        "  check model:                    {:>8.1} ms  ({} violations)",
        check_time.as_secs_f64() * 1e3,
        report.violations.len()
    );
    println!(
        "  parse iptables-save:            {:>8.1} ms",
        fw_parse.as_secs_f64() * 1e3
    );
    println!(
        "  check model + firewall:         {:>8.1} ms  ({} violations, {} permitting, {} shadowed)",
        fw_check.as_secs_f64() * 1e3,
        fw_report.violations.len(),
        fw.permitting,
        fw.shadowed.len()
    );
    println!(
        "  write TOML:                     {:>8.1} ms",
        to_toml.as_secs_f64() * 1e3
    );
    println!(
        "  parse + validate TOML:          {:>8.1} ms",
        toml_parse.as_secs_f64() * 1e3
    );
    println!(
        "  render SVG:                     {:>8.1} ms  ({} KB)",
        svg_time.as_secs_f64() * 1e3,
        svg.len() / 1024
    );
    println!(
        "  peak RSS (VmHWM, whole run):    {:>8.1} MB",
        peak_rss_kib() as f64 / 1024.0
    );
}
