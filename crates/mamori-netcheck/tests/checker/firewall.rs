//! Firewall imports against the example network: realistic rulesets with NAT, interfaces,
//! address sets and shadowed rules.

use mamori_netcheck::Report;
use mamori_netcheck::firewall::{FirewallFormat, check_with_firewall, parse_ruleset};

use crate::example;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn run(name: &str, format: FirewallFormat) -> Report {
    let net = example();
    let set = parse_ruleset(&fixture(name), name, format, &net).unwrap_or_else(|e| panic!("{e}"));
    check_with_firewall(&net, &[set])
}

/// (firewall rule name, zone rule id) pairs, sorted.
fn found(report: &Report) -> Vec<(String, String)> {
    let mut v: Vec<_> = report
        .violations
        .iter()
        .map(|v| (v.element.name.clone(), v.rule.clone()))
        .collect();
    v.sort();
    v
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = list
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    v.sort();
    v
}

fn shadowed(report: &Report) -> Vec<(String, String)> {
    let fw = report.firewall.as_ref().unwrap();
    fw.shadowed
        .iter()
        .map(|s| (s.rule.clone(), s.shadowed_by.clone()))
        .collect()
}

#[test]
fn iptables_ruleset_reports_exactly_the_forbidden_permits() {
    let report = run("kyonan-core.iptables", FirewallFormat::Iptables);
    assert_eq!(
        found(&report),
        pairs(&[
            ("filter/FORWARD #6", "NC-101"),
            ("filter/FORWARD #6", "NC-102"),
            ("filter/FORWARD #14", "NC-103"),
        ]),
        "{}",
        report.to_text()
    );
    assert_eq!(
        shadowed(&report),
        pairs(&[
            ("filter/FORWARD #4", "filter/FORWARD #3"),
            ("filter/FORWARD #9", "filter/FORWARD #8")
        ])
    );
    // Violations point at the file line of the rule.
    let v = report
        .violations
        .iter()
        .find(|v| v.rule == "NC-103")
        .unwrap();
    let loc = v.location.as_ref().unwrap();
    assert_eq!(loc.file, "kyonan-core.iptables");
    assert_eq!(
        fixture("kyonan-core.iptables")
            .lines()
            .nth(loc.line - 1)
            .unwrap(),
        "-A FORWARD -s 10.20.1.0/24 -d 172.16.10.13/32 -i eth1 -o eth3 -p tcp -m tcp --dport 445 -j ACCEPT"
    );
    let fw = report.firewall.as_ref().unwrap();
    assert_eq!(fw.rules, 23);
    assert_eq!(fw.permitting, 11);
}

#[test]
fn nft_json_ruleset_reports_exactly_the_forbidden_permits() {
    let report = run("kyonan-core.nft.json", FirewallFormat::NftJson);
    assert_eq!(
        found(&report),
        pairs(&[
            ("inet filter forward handle 34", "NC-102"),
            ("inet filter forward handle 34", "NC-103"),
            ("inet filter forward handle 34", "NC-105"),
            ("inet filter forward handle 36", "NC-103"),
        ]),
        "{}",
        report.to_text()
    );
    assert_eq!(
        shadowed(&report),
        pairs(&[
            (
                "inet filter forward handle 28",
                "inet filter forward handle 27"
            ),
            (
                "inet filter mynumber_out handle 39",
                "inet filter mynumber_out handle 38"
            ),
        ])
    );
}

#[test]
fn csv_ruleset_resolves_element_names_and_ranges() {
    let report = run("kyonan-edge.csv", FirewallFormat::Csv);
    assert_eq!(
        found(&report),
        pairs(&[
            ("直接ファイル共有（行 9）", "NC-103"),
            ("インターネット系から直接（行 10）", "NC-101"),
            ("インターネット系から直接（行 10）", "NC-103"),
            ("インターネット系から直接（行 10）", "NC-106"),
        ]),
        "{}",
        report.to_text()
    );
    assert_eq!(
        shadowed(&report),
        pairs(&[(
            "住基端末からの閲覧（旧）（行 7）",
            "マイナンバー系遮断（行 6）"
        )])
    );
}

#[test]
fn a_compliant_ruleset_passes() {
    let net = example();
    let csv = "source,destination,service,action\n中間サーバー接続端末,団体内統合宛名サーバ,tcp/443,deny\n団体内統合宛名サーバ,中間サーバー接続端末,tcp/443,allow\n";
    let set = parse_ruleset(csv, "ok.csv", FirewallFormat::Csv, &net).unwrap();
    let report = check_with_firewall(&net, &[set]);
    assert!(report.is_clean(), "{}", report.to_text());
    // Opening the same pair on more ports than registered is not covered by the flow.
    let wide = csv.replace(",tcp/443,allow", ",tcp/443;tcp/22,allow");
    let set = parse_ruleset(&wide, "wide.csv", FirewallFormat::Csv, &net).unwrap();
    let report = check_with_firewall(&net, &[set]);
    assert_eq!(crate::rule_ids(&report), ["NC-102"]);
}

#[test]
fn bad_rulesets_are_errors_with_positions() {
    let net = example();
    let cases = [
        (
            "*filter\n-A FORWARD -d 10.0.0.0/33 -j ACCEPT\n",
            FirewallFormat::Iptables,
            "2:",
        ),
        (
            "*filter\n-A FORWARD -s fd00::/129 -j ACCEPT\n",
            FirewallFormat::Iptables,
            "2:",
        ),
        ("{\"nftables\": [", FirewallFormat::NftJson, "1:"),
        ("{\"rules\": []}", FirewallFormat::NftJson, "1:1"),
        (
            "{\"nftables\":[{\"rule\":{\"family\":\"inet\",\"table\":\"t\",\"chain\":\"c\",\"handle\":7,\"expr\":[{\"match\":{\"op\":\"==\",\"left\":{\"payload\":{\"protocol\":\"ip\",\"field\":\"saddr\"}},\"right\":\"@missing\"}}]}}]}",
            FirewallFormat::NftJson,
            "handle 7",
        ),
        (
            "source,destination,service,action\n10.0.0.1,どこにもない,tcp/443,allow\n",
            FirewallFormat::Csv,
            "2:",
        ),
        (
            "source,destination,service,action\n10.0.0.1,any,tcp/99999,allow\n",
            FirewallFormat::Csv,
            "2:",
        ),
        ("a,b\n1,2\n", FirewallFormat::Csv, "1:"),
    ];
    for (text, format, needle) in cases {
        let err = parse_ruleset(text, "bad", format, &net).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle} in {err}");
    }
}

#[test]
fn ipv6_rules_resolve_through_ipv6_segments() {
    let net = mamori_netcheck::parse_toml(
        "[network]\nname = \"v6\"\nmodel = \"alpha\"\n[[segment]]\nname = \"mn6\"\nzone = \"mynumber\"\ncidr = \"fd00:10::/48\"\n[[segment]]\nname = \"net6\"\nzone = \"internet\"\ncidr = \"fd00:30::/48\"\n",
        "v6.toml",
    )
    .unwrap();
    let text = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s fd00:10::/64 -d fd00:30::1/128 -p tcp --dport 443 -j ACCEPT\nCOMMIT\n";
    let set = parse_ruleset(text, "v6.rules", FirewallFormat::Iptables, &net).unwrap();
    let report = check_with_firewall(&net, &[set]);
    assert_eq!(crate::rule_ids(&report), ["NC-101"]);
}
