//! `mamori sanitize` end to end: exit codes, outputs and reports of the built binary, with the
//! file engine running in its worker child process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mamori(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .args(args)
        .output()
        .unwrap()
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

const PDF_JS: &str = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n3 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\)) >>\nendobj\ntrailer\n<< /Root 1 0 R /Size 4 >>\n%%EOF\n";

#[test]
fn prints_the_default_policy() {
    let out = mamori(&["sanitize".as_ref(), "--print-default-policy".as_ref()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[pdf]") && text.contains("javascript = \"sanitize\""));
}

#[test]
fn mail_is_converted_and_reported() {
    let d = tmp();
    let mail = "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <a@example.com>\r\nTo: b@example.lg.jp\r\nSubject: =?cp932?B?gqiSbYLngrk=?=\r\nContent-Type: text/html; charset=cp932\r\n\r\n<p>hello <a href=\"https://evil.example/\">www.bank.example.jp</a></p>\r\n";
    write(d.path(), "in.eml", mail.as_bytes());
    let out = run(
        &[
            "sanitize", "mail", "in.eml", "-o", "out.eml", "--report", "r.json",
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&d.path().join("r.json"));
    assert_eq!(r["verdict"], "sanitized");
    assert_eq!(r["input"]["type"], "message/rfc822");
    assert_eq!(r["input"]["size"], mail.len());
    assert_eq!(r["output"]["sha256"].as_str().unwrap().len(), 64);
    let actions = r["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .all(|a| a["action"].is_string() && a["target"].is_string() && a["reason"].is_string())
    );
    assert!(actions.iter().any(|a| a["code"] == "mail.link.mismatch"));
    let out_mail = std::fs::read_to_string(d.path().join("out.eml")).unwrap();
    assert!(
        out_mail.contains("X-Mamori-Sanitized: text-converted; html-to-text; links-disabled"),
        "{out_mail}"
    );
}

#[test]
fn blocked_file_exits_1_without_output() {
    let d = tmp();
    write(d.path(), "tool.exe", b"MZ\x90\x00\x03\x00\x00\x00");
    let out = run(
        &[
            "sanitize", "file", "tool.exe", "-o", "out.bin", "--report", "r.json",
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!d.path().join("out.bin").exists());
    let r = report(&d.path().join("r.json"));
    assert_eq!(r["verdict"], "blocked");
    assert!(r["output"].is_null());
    assert!(String::from_utf8_lossy(&out.stderr).contains("遮断"));
}

#[test]
fn pdf_is_sanitised_in_the_worker() {
    let d = tmp();
    write(d.path(), "a.pdf", PDF_JS.as_bytes());
    let out = run(
        &[
            "sanitize", "file", "a.pdf", "-o", "b.pdf", "--report", "r.json",
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&d.path().join("r.json"));
    assert_eq!(r["verdict"], "sanitized");
    let b = std::fs::read(d.path().join("b.pdf")).unwrap();
    assert!(!b.windows(10).any(|w| w == b"JavaScript"));
    assert!(!b.windows(10).any(|w| w == b"OpenAction"));
}

#[test]
fn worker_out_of_memory_fails_closed() {
    let d = tmp();
    // Decoding this text needs a fresh multi-megabyte buffer, which the 1 MiB limit refuses.
    write(d.path(), "a.txt", "行\n".repeat(2_000_000).as_bytes());
    write(d.path(), "p.toml", b"[limits]\nattachment_memory_mib = 1\n");
    let out = run(
        &[
            "sanitize", "file", "a.txt", "-o", "b.txt", "--report", "r.json", "--policy", "p.toml",
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&d.path().join("r.json"));
    assert_eq!(r["verdict"], "blocked");
    assert_eq!(r["actions"][0]["code"], "isolate.crashed");
}

#[test]
fn mail_attachments_sanitised_by_policy_are_reattached() {
    let d = tmp();
    let pdf_b64 = {
        use std::fmt::Write as _;
        // Plain base64 without a crate: the test stays dependency-free.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for c in PDF_JS.as_bytes().chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    s.push('=');
                }
            }
        }
        let mut wrapped = String::new();
        for line in s.as_bytes().chunks(76) {
            writeln!(wrapped, "{}\r", std::str::from_utf8(line).unwrap()).unwrap();
        }
        wrapped
    };
    let mail = format!(
        "From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: pdf\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n添付します\r\n--X\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{pdf_b64}--X--\r\n"
    );
    write(d.path(), "in.eml", mail.as_bytes());
    write(d.path(), "p.toml", b"mail.attachments = \"sanitize\"\n");
    let out = run(
        &[
            "sanitize", "mail", "in.eml", "-o", "out.eml", "--report", "r.json", "--policy",
            "p.toml",
        ],
        d.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&d.path().join("r.json"));
    let actions = r["actions"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a["code"] == "mail.attachment.reattached"),
        "{r}"
    );
    assert!(actions.iter().any(|a| a["code"] == "pdf.javascript"), "{r}");
    let out_mail = std::fs::read_to_string(d.path().join("out.eml")).unwrap();
    assert!(
        out_mail.contains("attachments-sanitized=1") && out_mail.contains("filename=\"a.pdf\"")
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let d = tmp();
    assert_eq!(
        run(&["sanitize", "mail", "missing.eml", "-o", "x"], d.path())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        run(&["sanitize", "mail", "in.eml"], d.path()).status.code(),
        Some(2)
    );
    assert_eq!(run(&["sanitize"], d.path()).status.code(), Some(2));
    write(d.path(), "in.eml", b"From: a@example.com\r\n\r\nx\r\n");
    write(d.path(), "bad.toml", b"pdf.javascrpt = \"allow\"\n");
    let out = run(
        &[
            "sanitize", "mail", "in.eml", "-o", "x", "--policy", "bad.toml",
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy.invalid"));
    let out = run(
        &["sanitize", "mail", "in.eml", "-o", "no/such/dir/x"],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn malformed_mail_is_blocked_with_exit_1() {
    let d = tmp();
    write(d.path(), "empty.eml", b"");
    let out = run(
        &[
            "sanitize",
            "mail",
            "empty.eml",
            "-o",
            "x",
            "--report",
            "r.json",
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report(&d.path().join("r.json"))["verdict"], "blocked");
}

const PLAIN_MAIL: &str = "From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: test\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n詳細は https://www.example.lg.jp/ をご覧ください。\r\n";

fn no_temp_files_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn batch_writes_each_message_as_the_single_command_does() {
    let d = tmp();
    write(d.path(), "a.eml", PLAIN_MAIL.as_bytes());
    write(
        d.path(),
        "b.eml",
        PLAIN_MAIL.replace("test", "second").as_bytes(),
    );
    std::fs::create_dir(d.path().join("out")).unwrap();
    std::fs::create_dir(d.path().join("rep")).unwrap();
    for jobs in ["1", "2"] {
        let out = run(
            &[
                "sanitize",
                "mail",
                "--out-dir",
                "out",
                "--report-dir",
                "rep",
                "--jobs",
                jobs,
                "a.eml",
                "b.eml",
            ],
            d.path(),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            report(&d.path().join("rep/a.eml.json"))["verdict"],
            "sanitized"
        );
        assert_eq!(
            report(&d.path().join("rep/b.eml.json"))["verdict"],
            "sanitized"
        );
    }
    // The same bytes and report as `mamori sanitize mail IN -o OUT --report FILE`.
    let single = run(
        &[
            "sanitize",
            "mail",
            "a.eml",
            "-o",
            "single.eml",
            "--report",
            "single.json",
        ],
        d.path(),
    );
    assert_eq!(single.status.code(), Some(0));
    assert_eq!(
        std::fs::read(d.path().join("out/a.eml")).unwrap(),
        std::fs::read(d.path().join("single.eml")).unwrap()
    );
    assert_eq!(
        report(&d.path().join("rep/a.eml.json")),
        report(&d.path().join("single.json"))
    );
    no_temp_files_left(&d.path().join("out"));
    no_temp_files_left(&d.path().join("rep"));
    no_temp_files_left(d.path());
}

#[test]
fn batch_blocked_message_is_not_written_and_exits_1() {
    let d = tmp();
    write(d.path(), "good.eml", PLAIN_MAIL.as_bytes());
    write(d.path(), "empty.eml", b"");
    std::fs::create_dir(d.path().join("out")).unwrap();
    let out = run(
        &[
            "sanitize",
            "mail",
            "--out-dir",
            "out",
            "--report-dir",
            "out",
            "empty.eml",
            "good.eml",
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(d.path().join("out/good.eml").exists());
    assert!(!d.path().join("out/empty.eml").exists());
    assert_eq!(
        report(&d.path().join("out/empty.eml.json"))["verdict"],
        "blocked"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("empty.eml: 遮断") && stderr.contains("good.eml: "),
        "{stderr}"
    );
}

#[test]
fn batch_bad_input_does_not_stop_the_others_and_exits_2() {
    let d = tmp();
    write(d.path(), "good.eml", PLAIN_MAIL.as_bytes());
    write(d.path(), "empty.eml", b"");
    std::fs::create_dir(d.path().join("out")).unwrap();
    let out = run(
        &[
            "sanitize",
            "mail",
            "--out-dir",
            "out",
            "missing.eml",
            "empty.eml",
            "good.eml",
        ],
        d.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(d.path().join("out/good.eml").exists());
    assert!(!d.path().join("out/empty.eml").exists());
    assert!(!d.path().join("out/missing.eml").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("io.read"));
}

#[test]
fn batch_usage_errors_exit_2() {
    let d = tmp();
    write(d.path(), "a.eml", PLAIN_MAIL.as_bytes());
    std::fs::create_dir(d.path().join("out")).unwrap();
    for args in [
        // -o takes exactly one input.
        &["sanitize", "mail", "a.eml", "a.eml", "-o", "o.eml"][..],
        // The same file name twice would overwrite one output with the other.
        &["sanitize", "mail", "--out-dir", "out", "a.eml", "a.eml"][..],
        // Output over the input itself.
        &["sanitize", "mail", "--out-dir", ".", "a.eml"][..],
        // Missing output directory.
        &["sanitize", "mail", "--out-dir", "nowhere", "a.eml"][..],
        // --report-dir only with --out-dir; -o and --out-dir together.
        &[
            "sanitize",
            "mail",
            "a.eml",
            "-o",
            "o.eml",
            "--report-dir",
            "out",
        ][..],
        &[
            "sanitize",
            "mail",
            "a.eml",
            "-o",
            "o.eml",
            "--out-dir",
            "out",
        ][..],
    ] {
        let out = run(args, d.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(
        std::fs::read(d.path().join("a.eml")).unwrap(),
        PLAIN_MAIL.as_bytes()
    );
    assert!(!d.path().join("o.eml").exists());
}
