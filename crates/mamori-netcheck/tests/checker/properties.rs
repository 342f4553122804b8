//! Properties of the checker over generated networks.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use mamori_core::zone::Zone;
use mamori_netcheck::check;
use mamori_netcheck::model::{
    Endpoint, Flow, Gateway, GatewayKind, Host, HostKind, Network, NetworkInfo, NetworkModel,
    Place, Ports, Protocol, Segment,
};
use proptest::prelude::*;

fn zone() -> impl Strategy<Value = Zone> {
    prop_oneof![
        Just(Zone::MyNumber),
        Just(Zone::Lgwan),
        Just(Zone::Internet)
    ]
}

fn segment(i: usize) -> impl Strategy<Value = Segment> {
    (zone(), 0u8..4, 0u8..8, 23u8..26).prop_map(move |(zone, a, b, len)| Segment {
        name: format!("seg{i}"),
        zone,
        cidr: IpNet::new(IpAddr::V4(Ipv4Addr::new(10, a, b, 0)), len).unwrap(),
        site: None,
        description: None,
    })
}

fn host(i: usize) -> impl Strategy<Value = Host> {
    (
        zone(),
        0u8..4,
        0u8..8,
        1u8..255,
        any::<[bool; 5]>(),
        prop_oneof![Just(HostKind::Terminal), Just(HostKind::Server)],
    )
        .prop_map(move |(zone, a, b, c, ctl, kind)| Host {
            name: format!("host{i}"),
            kind,
            zone,
            addresses: vec![IpAddr::V4(Ipv4Addr::new(10, a, b, c))],
            asset: None,
            site: None,
            mfa: ctl[0].then(|| "biometric".to_owned()),
            take_out_blocked: ctl[1],
            usb_control: ctl[2],
            edr: ctl[3],
            log_monitoring: ctl[4],
            description: None,
        })
}

fn endpoint(hosts: usize, segments: usize) -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        zone().prop_map(Endpoint::Zone),
        (0..hosts).prop_map(|i| Endpoint::Host(format!("host{i}"))),
        (0..segments).prop_map(|i| Endpoint::Segment(format!("seg{i}"))),
        Just(Endpoint::Outside("internet".to_owned())),
    ]
}

fn flow(hosts: usize, segments: usize) -> impl Strategy<Value = Flow> {
    (
        endpoint(hosts, segments),
        endpoint(hosts, segments),
        prop_oneof![Just(Protocol::Tcp), Just(Protocol::Any)],
        prop_oneof![Just(Ports::Any), Just("443".parse::<Ports>().unwrap())],
        proptest::option::of(prop_oneof![Just("mail"), Just("sc")]),
        any::<(bool, bool)>(),
    )
        .prop_map(
            |(from, to, protocol, ports, via, (purpose, approval))| Flow {
                name: None,
                from,
                to,
                protocol,
                ports,
                purpose: purpose.then(|| "業務".to_owned()),
                via: via.map(str::to_owned),
                approval: approval.then(|| "A-1".to_owned()),
                exception: None,
                description: None,
            },
        )
}

fn network() -> impl Strategy<Value = Network> {
    (
        1usize..8,
        1usize..12,
        prop_oneof![Just(NetworkModel::Alpha), Just(NetworkModel::Beta)],
    )
        .prop_flat_map(|(ns, nh, model)| {
            let segs: Vec<_> = (0..ns).map(segment).collect();
            let hosts: Vec<_> = (0..nh).map(host).collect();
            (
                segs,
                hosts,
                proptest::collection::vec(flow(nh, ns), 0..15),
                Just(model),
            )
        })
        .prop_map(|(segments, hosts, flows, model)| Network {
            network: NetworkInfo {
                name: "generated".to_owned(),
                organisation: None,
                model,
                direct_services: Vec::new(),
                beta_controls: vec![mamori_netcheck::model::Control::Edr],
            },
            segments,
            hosts,
            gateways: vec![
                Gateway {
                    name: "mail".to_owned(),
                    kind: GatewayKind::MailSanitizer,
                    between: vec![Place::Zone(Zone::Lgwan), Place::Zone(Zone::Internet)],
                    addresses: Vec::new(),
                    site: None,
                    description: None,
                },
                Gateway {
                    name: "sc".to_owned(),
                    kind: GatewayKind::SecurityCloud,
                    between: vec![
                        Place::Zone(Zone::Internet),
                        Place::Outside(mamori_netcheck::model::OutsideKind::Internet),
                    ],
                    addresses: Vec::new(),
                    site: None,
                    description: None,
                },
            ],
            outside: Vec::new(),
            flows,
            rules: Vec::new(),
        })
}

/// Reverses or rotates a list: input order must not matter.
fn reorder<T: Clone>(v: &[T], seed: usize) -> Vec<T> {
    let mut out = v.to_vec();
    if seed.is_multiple_of(2) {
        out.reverse();
    }
    if !out.is_empty() {
        let k = seed % out.len();
        out.rotate_left(k);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_networks_are_valid(net in network()) {
        prop_assert!(net.validate().is_empty(), "{:?}", net.validate());
    }

    #[test]
    fn mynumber_to_internet_is_always_reported(
        net in network(),
        from_zone_wide in any::<bool>(),
        to_outside in any::<bool>(),
        backwards in any::<bool>(),
    ) {
        let mut net = net;
        net.hosts.push(Host {
            name: "住基端末X".to_owned(),
            kind: HostKind::Server,
            zone: Zone::MyNumber,
            addresses: Vec::new(),
            asset: None, site: None, mfa: None,
            take_out_blocked: false, usb_control: false, edr: false, log_monitoring: false,
            description: None,
        });
        let mn = if from_zone_wide { Endpoint::Zone(Zone::MyNumber) } else { Endpoint::Host("住基端末X".to_owned()) };
        let inet = if to_outside { Endpoint::Outside("internet".to_owned()) } else { Endpoint::Zone(Zone::Internet) };
        let (from, to) = if backwards { (inet, mn) } else { (mn, inet) };
        net.flows.push(Flow {
            name: Some("禁止通信".to_owned()), from, to,
            protocol: Protocol::Tcp, ports: "443".parse().unwrap(),
            purpose: Some("p".to_owned()), via: Some("mail".to_owned()),
            approval: Some("a".to_owned()), exception: None, description: None,
        });
        let report = check(&net);
        prop_assert!(report.violations.iter().any(|v| v.rule == "NC-101" && v.element.name == "禁止通信"));
    }

    #[test]
    fn result_does_not_depend_on_input_order(net in network(), seed in 0usize..1000) {
        let report = check(&net);
        let mut shuffled = net.clone();
        shuffled.segments = reorder(&net.segments, seed);
        shuffled.hosts = reorder(&net.hosts, seed / 3);
        shuffled.flows = reorder(&net.flows, seed / 7);
        shuffled.gateways = reorder(&net.gateways, seed / 11);
        prop_assert_eq!(report, check(&shuffled));
    }

    #[test]
    fn an_unrelated_compliant_host_adds_no_violation(net in network(), z in zone(), c in 1u8..255) {
        let before = check(&net);
        let mut more = net.clone();
        more.segments.push(Segment {
            name: "新設セグメント".to_owned(), zone: z,
            cidr: "10.200.0.0/24".parse().unwrap(), site: None, description: None,
        });
        more.hosts.push(Host {
            name: "新設サーバ".to_owned(), kind: HostKind::Terminal, zone: z,
            addresses: vec![IpAddr::V4(Ipv4Addr::new(10, 200, 0, c))],
            asset: None, site: None, mfa: Some("biometric".to_owned()),
            take_out_blocked: true, usb_control: true, edr: true, log_monitoring: true,
            description: None,
        });
        let after = check(&more);
        prop_assert_eq!(before.violations, after.violations);
    }

    #[test]
    fn toml_round_trip_keeps_the_network(net in network()) {
        let text = mamori_netcheck::to_toml(&net).unwrap();
        let back = mamori_netcheck::parse_toml(&text, "rt.toml").unwrap();
        prop_assert_eq!(back, net);
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Cuts `text` at a character boundary near `at` and splices `insert` in.
fn mutate(text: &str, at: usize, cut: usize, insert: &str) -> String {
    let mut a = at % (text.len() + 1);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (a + cut).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    format!("{}{insert}{}", &text[..a], &text[b..])
}

const JUNK: &[&str] = &[
    "",
    "[",
    "]]",
    "\"",
    "\"\"\"",
    "=",
    "\n[[flow]]\n",
    "/33",
    "::",
    "-A",
    "!",
    "{",
    "}",
    ",",
    "@x",
    "\u{0}",
    "１０",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever the bytes, the readers answer with a value or an error, never a panic.
    #[test]
    fn readers_never_panic_on_mangled_input(at in any::<usize>(), cut in 0usize..40, junk in 0..JUNK.len(), which in 0usize..4) {
        let net = crate::example();
        let insert = JUNK[junk];
        match which {
            0 => { let _ = mamori_netcheck::parse_toml(&mutate(&crate::example_text(), at, cut, insert), "m.toml"); }
            1 => { let _ = mamori_netcheck::firewall::parse_ruleset(&mutate(&fixture("kyonan-core.iptables"), at, cut, insert), "m", mamori_netcheck::firewall::FirewallFormat::Iptables, &net); }
            2 => { let _ = mamori_netcheck::firewall::parse_ruleset(&mutate(&fixture("kyonan-core.nft.json"), at, cut, insert), "m", mamori_netcheck::firewall::FirewallFormat::NftJson, &net); }
            _ => { let _ = mamori_netcheck::firewall::parse_ruleset(&mutate(&fixture("kyonan-edge.csv"), at, cut, insert), "m", mamori_netcheck::firewall::FirewallFormat::Csv, &net); }
        }
    }

    #[test]
    fn readers_never_panic_on_arbitrary_text(text in "\\PC{0,200}") {
        let net = crate::example();
        let _ = mamori_netcheck::parse_toml(&text, "a.toml");
        let _ = mamori_netcheck::parse_json(&text, "a.json");
        for f in [mamori_netcheck::firewall::FirewallFormat::Iptables, mamori_netcheck::firewall::FirewallFormat::NftJson, mamori_netcheck::firewall::FirewallFormat::Csv] {
            let _ = mamori_netcheck::firewall::parse_ruleset(&text, "a", f, &net);
        }
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let net = crate::example();
    let deep = format!(
        "{{\"nftables\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let err = mamori_netcheck::firewall::parse_ruleset(
        &deep,
        "deep.json",
        mamori_netcheck::firewall::FirewallFormat::NftJson,
        &net,
    )
    .unwrap_err();
    assert!(err.to_string().contains("deep.json:1:"), "{err}");
    assert!(mamori_netcheck::parse_json(&deep, "deep.json").is_err());
}
