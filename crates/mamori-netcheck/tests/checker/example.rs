//! The shipped example passes, and each variant with one planted fault fails with exactly that
//! fault.

use crate::{check_text, example, example_text, rule_ids};

#[test]
fn example_network_passes() {
    let net = example();
    assert!(
        net.hosts.len() >= 30,
        "about thirty hosts: {}",
        net.hosts.len()
    );
    let report = mamori_netcheck::check(&net);
    assert!(report.is_clean(), "{}", report.to_text());
}

/// Replaces `from` (which must occur) in the example.
fn planted(from: &str, to: &str) -> String {
    let text = example_text();
    assert!(text.contains(from), "fixture text missing: {from}");
    text.replacen(from, to, 1)
}

fn appended(extra: &str) -> String {
    format!("{}\n{extra}\n", example_text())
}

fn assert_only(src: &str, rule: &str, element: &str) {
    let report = check_text(src);
    assert_eq!(
        rule_ids(&report),
        vec![rule.to_owned()],
        "{}",
        report.to_text()
    );
    let v = &report.violations[0];
    assert!(
        v.message.contains(element),
        "message should name {element}: {}",
        v.message
    );
}

#[test]
fn mynumber_to_internet_flow_is_nc101() {
    let src = appended(
        "[[flow]]\nname = \"住基端末からのWeb閲覧\"\nfrom = \"host:住基端末-事務局-01\"\nto = \"internet\"\nprotocol = \"tcp\"\nports = 443\nvia = \"山梨県自治体情報セキュリティクラウド\"\n",
    );
    assert_only(&src, "NC-101", "住基端末からのWeb閲覧");
}

#[test]
fn unapproved_intermediate_server_flow_is_nc102() {
    let src = planted("approval = \"R8-CISO-0001\"\n", "");
    assert_only(&src, "NC-102", "中間サーバーとの情報連携");
}

#[test]
fn intermediate_server_flow_to_a_whole_segment_is_nc102() {
    let src = planted(
        "to = \"host:中間サーバー接続端末\"",
        "to = \"segment:LGWAN系サーバ\"",
    );
    let report = check_text(&src);
    assert_eq!(rule_ids(&report), vec!["NC-102"]);
    assert!(
        report.violations[0]
            .detail
            .contains("segment:LGWAN系サーバ")
    );
}

#[test]
fn mail_without_sanitiser_is_nc103() {
    let src = planted(
        "to = \"host:LGWANメールサーバ\"\nprotocol = \"tcp\"\nports = 25\nvia = \"メール無害化装置\"\n",
        "to = \"host:LGWANメールサーバ\"\nprotocol = \"tcp\"\nports = 25\n",
    );
    assert_only(&src, "NC-103", "無害化メールの取込");
}

#[test]
fn lgwan_to_internet_through_the_security_cloud_is_nc103() {
    let src = planted(
        "ports = 25\nvia = \"メール無害化装置\"\npurpose = \"テキスト化",
        "ports = 25\nvia = \"山梨県自治体情報セキュリティクラウド\"\npurpose = \"テキスト化",
    );
    let report = check_text(&src);
    assert_eq!(rule_ids(&report), vec!["NC-103"]);
    assert!(
        report.violations[0]
            .detail
            .contains("山梨県自治体情報セキュリティクラウド")
    );
}

#[test]
fn file_export_without_approval_is_nc104() {
    let src = planted("approval = \"R8-情シス-0003\"\n", "");
    assert_only(&src, "NC-104", "LGWANからのファイル送出");
}

#[test]
fn lgwan_terminal_straight_to_the_internet_is_nc105() {
    let src = appended(
        "[[flow]]\nname = \"端末からの直接閲覧\"\nfrom = \"segment:事務局LGWAN端末\"\nto = \"internet\"\nprotocol = \"tcp\"\nports = 443\n",
    );
    assert_only(&src, "NC-105", "端末からの直接閲覧");
}

#[test]
fn browsing_around_the_security_cloud_is_nc106() {
    let src = planted(
        "ports = \"80,443\"\nvia = \"山梨県自治体情報セキュリティクラウド\"\n",
        "ports = \"80,443\"\n",
    );
    assert_only(&src, "NC-106", "仮想ブラウザからのWeb閲覧");
}

fn mynumber_terminal_missing(field: &str, replacement: &str, rule: &str) {
    let block = "name = \"税務端末-事務局-02\"";
    let text = example_text();
    let start = text.find(block).unwrap();
    let field_at = start + text[start..].find(field).unwrap();
    let mut src = text.clone();
    src.replace_range(field_at..field_at + field.len(), replacement);
    assert_only(&src, rule, "税務端末-事務局-02");
}

#[test]
fn mynumber_terminal_without_mfa_is_nc201() {
    mynumber_terminal_missing("mfa = \"biometric\"\n", "", "NC-201");
}

#[test]
fn mynumber_terminal_with_mfa_none_is_nc201() {
    mynumber_terminal_missing("mfa = \"biometric\"", "mfa = \"none\"", "NC-201");
}

#[test]
fn mynumber_terminal_allowing_take_out_is_nc202() {
    mynumber_terminal_missing(
        "take_out_blocked = true",
        "take_out_blocked = false",
        "NC-202",
    );
}

#[test]
fn mynumber_terminal_without_usb_control_is_nc203() {
    mynumber_terminal_missing("usb_control = true\n", "", "NC-203");
}

#[test]
fn beta_model_needs_extra_controls_on_internet_terminals() {
    let src = planted("model = \"alpha\"", "model = \"beta\"");
    let report = check_text(&src);
    assert_eq!(rule_ids(&report), vec!["NC-204"], "{}", report.to_text());
    let v = &report.violations[0];
    assert!(v.message.contains("ホームページ更新端末"));
    assert!(
        v.detail.contains("EDR") && v.detail.contains("ログ監視"),
        "{}",
        v.detail
    );
}

#[test]
fn host_in_another_zones_segment_is_nc301() {
    let src = planted(
        "addresses = [\"10.20.10.13\"]",
        "addresses = [\"10.10.10.13\"]",
    );
    assert_only(&src, "NC-301", "グループウェアサーバ");
}

#[test]
fn overlapping_segments_of_two_zones_is_nc302() {
    let src = appended(
        "[[segment]]\nname = \"持ち込みWi-Fi\"\nzone = \"internet\"\ncidr = \"10.20.3.128/25\"\n",
    );
    let report = check_text(&src);
    assert_eq!(rule_ids(&report), vec!["NC-302"], "{}", report.to_text());
    assert!(report.violations[0].message.contains("持ち込みWi-Fi"));
    assert!(report.violations[0].message.contains("慈生園LGWAN端末"));
}

#[test]
fn alpha_prime_allows_direct_access_to_listed_cloud_services_only() {
    let service = "[[outside]]\nname = \"Web会議サービス\"\nkind = \"cloud_service\"\ncidrs = [\"192.0.2.0/24\"]\n\n[[flow]]\nname = \"Web会議\"\nfrom = \"segment:事務局LGWAN端末\"\nto = \"outside:Web会議サービス\"\nprotocol = \"tcp\"\nports = 443\n";
    // Under α the direct flow is forbidden …
    let report = check_text(&appended(service));
    assert_eq!(rule_ids(&report), vec!["NC-105"]);
    // … under α' it is allowed once the service is listed.
    let src = appended(service).replacen(
        "model = \"alpha\"",
        "model = \"alpha_prime\"\ndirect_services = [\"Web会議サービス\"]",
        1,
    );
    let report = check_text(&src);
    assert!(report.is_clean(), "{}", report.to_text());
}
