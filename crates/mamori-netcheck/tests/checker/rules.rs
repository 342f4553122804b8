//! Each rule on a minimal network: a passing and a failing case, and the organisation's own rules.

use crate::{check_text, rule_ids};

const BASE: &str = r#"
[network]
name = "最小構成"
model = "alpha"

[[segment]]
name = "MN"
zone = "mynumber"
cidr = "10.1.0.0/24"

[[segment]]
name = "LG"
zone = "lgwan"
cidr = "10.2.0.0/24"

[[segment]]
name = "NET"
zone = "internet"
cidr = "10.3.0.0/24"

[[host]]
name = "mn-server"
kind = "server"
zone = "mynumber"
addresses = ["10.1.0.10"]

[[host]]
name = "lg-server"
kind = "server"
zone = "lgwan"
addresses = ["10.2.0.10"]

[[host]]
name = "net-server"
kind = "server"
zone = "internet"
addresses = ["10.3.0.10"]

[[gateway]]
name = "mail-gw"
kind = "mail_sanitizer"
between = ["lgwan", "internet"]

[[gateway]]
name = "wrong-place-gw"
kind = "screen_transfer"
between = ["lgwan", "mynumber"]

[[gateway]]
name = "sc"
kind = "security_cloud"
between = ["internet", "outside:internet"]
"#;

fn with(extra: &str) -> Vec<String> {
    rule_ids(&check_text(&format!("{BASE}\n{extra}")))
}

#[test]
fn base_is_clean() {
    assert!(with("").is_empty());
}

#[test]
fn nc101_holds_even_through_a_gateway_and_for_zone_endpoints() {
    assert_eq!(
        with("[[flow]]\nfrom = \"mynumber\"\nto = \"internet\"\nvia = \"mail-gw\"\n"),
        ["NC-101"]
    );
    assert_eq!(
        with("[[flow]]\nfrom = \"internet\"\nto = \"mn-server\"\n"),
        ["NC-101"]
    );
    // The same endpoints inside one zone are fine.
    assert!(with("[[flow]]\nfrom = \"mynumber\"\nto = \"mn-server\"\n").is_empty());
}

const REGISTERED: &str = "[[flow]]\nname = \"連携\"\nfrom = \"mn-server\"\nto = \"lg-server\"\nprotocol = \"tcp\"\nports = 443\npurpose = \"情報連携\"\napproval = \"A-1\"\n";

#[test]
fn nc102_passes_a_registered_flow_and_fails_each_missing_condition() {
    assert!(with(REGISTERED).is_empty());
    for (from, to, needle) in [
        ("purpose = \"情報連携\"\n", "", "目的"),
        ("approval = \"A-1\"\n", "", "承認"),
        (
            "from = \"mn-server\"",
            "from = \"segment:MN\"",
            "segment:MN",
        ),
        ("ports = 443", "ports = \"1-1024\"", "1-1024"),
        ("protocol = \"tcp\"", "protocol = \"any\"", "any"),
    ] {
        let report = check_text(&format!("{BASE}\n{}", REGISTERED.replace(from, to)));
        assert_eq!(rule_ids(&report), ["NC-102"], "{from}");
        assert!(
            report.violations[0].detail.contains(needle),
            "{}",
            report.violations[0].detail
        );
    }
    // An exception reference stands in for an approval.
    let exc = REGISTERED.replace("approval = \"A-1\"", "exception = \"例外-7\"");
    assert!(with(&exc).is_empty());
}

#[test]
fn nc103_needs_a_fitting_gateway_between_the_two_zones() {
    let flow = |via: &str| {
        format!(
            "[[flow]]\nfrom = \"lg-server\"\nto = \"net-server\"\nprotocol = \"tcp\"\nports = 25\n{via}\n"
        )
    };
    assert!(with(&flow("via = \"mail-gw\"")).is_empty());
    assert_eq!(with(&flow("")), ["NC-103"]);
    assert_eq!(with(&flow("via = \"sc\"")), ["NC-103"]);
    assert_eq!(with(&flow("via = \"wrong-place-gw\"")), ["NC-103"]);
}

#[test]
fn nc106_internet_zone_reaches_the_internet_only_through_the_security_cloud() {
    assert!(with("[[flow]]\nfrom = \"net-server\"\nto = \"internet\"\nvia = \"sc\"\n").is_empty());
    assert_eq!(
        with("[[flow]]\nfrom = \"net-server\"\nto = \"internet\"\n"),
        ["NC-106"]
    );
    // Talking to the security cloud itself is what the rule asks for.
    let sc = "[[outside]]\nname = \"県SC\"\nkind = \"security_cloud\"\n\n[[flow]]\nfrom = \"net-server\"\nto = \"outside:県SC\"\n";
    assert!(with(sc).is_empty());
}

#[test]
fn nc301_applies_to_gateways_outside_their_zones() {
    let gw = "[[gateway]]\nname = \"misplaced\"\nkind = \"screen_transfer\"\nbetween = [\"lgwan\", \"internet\"]\naddresses = [\"10.1.0.99\"]\n";
    assert_eq!(with(gw), ["NC-301"]);
    assert!(with(&gw.replace("10.1.0.99", "10.3.0.99")).is_empty());
}

#[test]
fn nested_segments_use_the_most_specific_one() {
    let nested = "[[segment]]\nname = \"LG-sub\"\nzone = \"lgwan\"\ncidr = \"10.2.0.0/28\"\n";
    assert!(with(nested).is_empty());
    let other_zone = nested.replace("lgwan", "internet");
    // The host lg-server (10.2.0.10) now sits in an internet segment, and the segments overlap.
    assert_eq!(with(&other_zone), ["NC-302", "NC-301"]);
}

#[test]
fn an_organisation_can_add_flow_and_host_rules() {
    let rules = r#"
[[rule]]
id = "KY-001"
section = "対策基準 2-3(4)"
severity = "medium"
message = "ガバメントクラウドへの通信には承認番号を付けてください: {element}"
type = "flow"
from = ["mynumber", "lgwan"]
to = ["outside:gov_cloud"]
require = ["approval"]

[[rule]]
id = "KY-002"
section = "対策基準 2-6"
severity = "low"
message = "サーバにはEDRが必要です: {element}（{detail}）"
type = "host"
zones = ["mynumber", "lgwan", "internet"]
kinds = ["server"]
require = ["edr"]

[[outside]]
name = "GC"
kind = "gov_cloud"

[[flow]]
name = "標準準拠"
from = "mn-server"
to = "outside:GC"
"#;
    let report = check_text(&format!("{BASE}\n{rules}"));
    let ids = rule_ids(&report);
    assert_eq!(ids.iter().filter(|i| *i == "KY-002").count(), 3);
    assert_eq!(ids.iter().filter(|i| *i == "KY-001").count(), 1);
    let ky1 = report
        .violations
        .iter()
        .find(|v| v.rule == "KY-001")
        .unwrap();
    assert!(ky1.message.contains("通信「標準準拠」"), "{}", ky1.message);
    assert_eq!(
        report.summary.rules,
        mamori_netcheck::rules::builtin_rules().len() + 2
    );
}

#[test]
fn custom_rules_with_typos_or_clashing_ids_are_refused_with_a_position() {
    let typo = "[[rule]]\nid = \"KY-9\"\nsection = \"x\"\nseverity = \"low\"\nmessage = \"{element}\"\ntype = \"host\"\nzones = [\"lgwan\"]\nrequrie = [\"edr\"]\n";
    let err = mamori_netcheck::parse_toml(&format!("{BASE}\n{typo}"), "t.toml").unwrap_err();
    assert!(err.to_string().contains("requrie"), "{err}");
    let clash = typo.replace("KY-9", "NC-101").replace("requrie", "require");
    let err = mamori_netcheck::parse_toml(&format!("{BASE}\n{clash}"), "t.toml").unwrap_err();
    let d = &err.diagnostics[0];
    assert!(d.message.contains("NC-101"));
    assert!(d.location.as_ref().unwrap().line > 50);
}

#[test]
fn two_flows_with_one_name_are_refused() {
    let twice = format!("{BASE}\n{REGISTERED}\n{REGISTERED}");
    let err = mamori_netcheck::parse_toml(&twice, "t.toml").unwrap_err();
    assert!(err.to_string().contains("通信の名前「連携」"), "{err}");
}

#[test]
fn thousands_of_overlapping_segments_stay_fast_and_bounded() {
    let mut src = String::from("[network]\nname = \"過大\"\nmodel = \"alpha\"\n");
    for i in 0..20_000 {
        let zone = ["mynumber", "lgwan", "internet"][i % 3];
        src.push_str(&format!(
            "[[segment]]\nname = \"wide{i}\"\nzone = \"{zone}\"\ncidr = \"10.0.0.0/8\"\n"
        ));
        src.push_str(&format!(
            "[[segment]]\nname = \"narrow{i}\"\nzone = \"lgwan\"\ncidr = \"10.{}.{}.{}/32\"\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    let started = std::time::Instant::now();
    let report = check_text(&src);
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
    let overlaps = report
        .violations
        .iter()
        .filter(|v| v.rule == "NC-302")
        .count();
    assert!(overlaps > 0 && overlaps <= 10_000, "{overlaps}");
}
