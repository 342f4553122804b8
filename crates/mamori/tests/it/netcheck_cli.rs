//! `mamori netcheck` end to end: exit codes and output of the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn netcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .arg("netcheck")
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn example() -> String {
    std::fs::read_to_string(repo("examples/kyonan-alpha.toml")).unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

#[test]
fn example_network_exits_0() {
    let out = netcheck(&[repo("examples/kyonan-alpha.toml").to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("違反はありません"));
}

#[test]
fn json_report_is_machine_readable() {
    let out = netcheck(&[
        repo("examples/kyonan-alpha.toml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["violations"].as_array().unwrap().len(), 0);
    assert_eq!(v["model"], "alpha");
    assert_eq!(v["summary"]["hosts"], 30);
}

#[test]
fn planted_fault_exits_1_and_names_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let src = example().replacen("approval = \"R8-CISO-0001\"\n", "", 1);
    let file = write(&dir, "fault.toml", src.as_bytes());
    let out = netcheck(&[&file, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let violations = v["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0]["rule"], "NC-102");
    assert_eq!(violations[0]["element"]["name"], "中間サーバーとの情報連携");
    // The flow's line in the file, so CI output can be clicked through.
    let line = violations[0]["location"]["line"].as_u64().unwrap() as usize;
    assert!(
        src.lines()
            .nth(line - 1)
            .unwrap()
            .starts_with("from = \"host:団体内統合宛名サーバ\"")
    );
    let out = netcheck(&[&file]);
    assert!(
        text(&out.stdout).contains("[高] NC-102"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn invalid_input_exits_2_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, String, &str); 5] = [
        (
            "cidr.toml",
            example().replacen("10.20.1.0/24", "10.20.1.0/33", 1),
            ":",
        ),
        (
            "zone.toml",
            example().replacen("zone = \"lgwan\"", "zone = \"dmz\"", 1),
            "dmz",
        ),
        (
            "dup.toml",
            example().replacen("name = \"ファイルサーバ\"", "name = \"財務会計サーバ\"", 1),
            "既に使われています",
        ),
        (
            "dangling.toml",
            example().replacen("via = \"メール無害化装置\"", "via = \"存在しない装置\"", 1),
            "存在しない装置",
        ),
        (
            "type.toml",
            example().replacen("take_out_blocked = true", "take_out_blocked = \"yes\"", 1),
            ":",
        ),
    ];
    for (name, src, needle) in cases {
        let file = write(&dir, name, src.as_bytes());
        let out = netcheck(&[&file]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        // file:line:column
        let pos = format!("{name}:");
        let at = err.find(&pos).unwrap_or_else(|| panic!("{name}: {err}"));
        let rest: Vec<&str> = err[at + pos.len()..].splitn(3, ':').collect();
        assert!(
            rest[0].parse::<usize>().is_ok() && rest[1].parse::<usize>().is_ok(),
            "{name}: {err}"
        );
    }
}

#[test]
fn unreadable_input_exits_2_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let out = netcheck(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let bin = write(&dir, "bin.toml", b"[network]\nname = \"\xff\xfe\"\n");
    let out = netcheck(&[&bin]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bin.toml:2:"),
        "{}",
        text(&out.stderr)
    );
    // A huge (sparse) file is refused before it is read.
    let huge = dir.path().join("huge.toml");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    let out = netcheck(&[huge.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("大きすぎ"));
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn firewall_rules_are_checked_against_the_network() {
    let fixtures = repo("crates/mamori-netcheck/tests/fixtures");
    let example = repo("examples/kyonan-alpha.toml");
    let out = netcheck(&[
        example.to_str().unwrap(),
        "--firewall",
        fixtures.join("kyonan-core.iptables").to_str().unwrap(),
        "--firewall",
        fixtures.join("kyonan-core.nft.json").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["element"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"filter/FORWARD #14"), "{names:?}");
    assert!(
        names.contains(&"inet filter forward handle 36"),
        "{names:?}"
    );
    assert_eq!(v["firewall"]["shadowed"].as_array().unwrap().len(), 4);

    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        &dir,
        "bad.rules",
        b"*filter\n-A FORWARD -s 10.0.0.0/33 -j ACCEPT\n",
    );
    let out = netcheck(&[example.to_str().unwrap(), "--firewall", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.rules:2:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn svg_diagram_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("net.svg");
    let out = netcheck(&[
        repo("examples/kyonan-alpha.toml").to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let body = std::fs::read_to_string(&svg).unwrap();
    assert!(body.starts_with("<svg") && !body.contains("<script"));
}
