//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) as ordinary tests: every stored input must
//! be handled without a panic and with a consistent outcome.

use std::path::PathBuf;

use mamori_sanitize::{InProcess, Policy, Verdict, sanitize_file, sanitize_mail};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

/// Output exactly when not blocked, and no parser panic (the engine turns panics into `blocked`,
/// so a panic would otherwise pass unnoticed here).
fn check(o: &mamori_sanitize::Outcome, path: &std::path::Path) {
    assert_eq!(
        o.output.is_none(),
        o.report.verdict == Verdict::Blocked,
        "{}",
        path.display()
    );
    assert!(
        !o.report
            .actions
            .iter()
            .any(|a| a.code == "internal.parser-panic"),
        "parser panic on {}",
        path.display()
    );
}

#[test]
fn mail_corpus_replays() {
    let policy = Policy::default();
    for (path, data) in corpus("mail") {
        let o = sanitize_mail(&data, &policy, &InProcess);
        check(&o, &path);
    }
}

/// The policy the `file` and `ole` fuzz targets also run: the conversions a policy can turn on
/// (SVG rasterised, legacy documents with macros or objects converted to text).
fn converting_policy() -> Policy {
    let mut policy = Policy::default();
    policy.files.svg = mamori_sanitize::Rule::Sanitize;
    policy.ole.macros = mamori_sanitize::Rule::Sanitize;
    policy.ole.objects = mamori_sanitize::Rule::Sanitize;
    policy
}

#[test]
fn file_corpora_replay_with_the_conversions_turned_on() {
    let policy = converting_policy();
    for target in ["file", "ole"] {
        for (path, data) in corpus(target) {
            let o = sanitize_file(&data, None, &policy);
            check(&o, &path);
        }
    }
}

#[test]
fn file_corpora_replay() {
    let policy = Policy::default();
    for target in ["file", "pdf", "ooxml", "zip", "image", "ole", "text"] {
        for (path, data) in corpus(target) {
            let o = sanitize_file(&data, None, &policy);
            check(&o, &path);
        }
    }
}

/// Writes the seed inputs of the fuzz corpora from the test builders:
/// `cargo test -p mamori-sanitize --test engine -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes files into fuzz/corpus; run by hand"]
fn write_fuzz_seeds() {
    use crate::build;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let put = |target: &str, name: &str, data: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    let enc = [
        ("iso-2022-jp", encoding_rs::ISO_2022_JP),
        ("cp932", encoding_rs::SHIFT_JIS),
        ("cp51932", encoding_rs::EUC_JP),
        ("utf-8", encoding_rs::UTF_8),
    ];
    for (label, e) in enc {
        put(
            "mail",
            &format!("text-{label}.eml"),
            &build::text_mail(label, e, "件名です", "本文 https://example.jp/ です。"),
        );
    }
    put(
        "mail",
        "pdf-attachment.eml",
        &build::mail_with_attachment(
            "filename*=UTF-8''%E8%B3%87%E6%96%99.pdf",
            "application/pdf",
            &build::dangerous_pdf(true),
        ),
    );
    put(
        "mail",
        "docm-attachment.eml",
        &build::mail_with_attachment(
            "filename=\"a.docm\"",
            "application/octet-stream",
            &build::docm(),
        ),
    );
    put("mail", "html.eml", b"From: a@example.com\r\nSubject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>x<a href=\"http://1.2.3.4/\">www.example.jp</a><table><tr><td>1</td></tr></table></p>\r\n");
    put("pdf", "dangerous.pdf", &build::dangerous_pdf(false));
    put("pdf", "obfuscated.pdf", &build::dangerous_pdf(true));
    put("ooxml", "a.docm", &build::docm());
    put("ooxml", "a.xlsm", &build::xlsm());
    put(
        "zip",
        "nested.zip",
        &build::zip_of(&[
            ("a.pdf", &build::dangerous_pdf(false)),
            ("b.txt", "テキスト".as_bytes()),
        ]),
    );
    put(
        "zip",
        "ppap.zip",
        &build::mark_encrypted(build::zip_of(&[("a.txt", b"x")])),
    );
    put("image", "a.png", &build::png());
    put("image", "a.jpg", &build::jpeg());
    put(
        "ole",
        "macro.doc",
        &build::compound_file(&[("/WordDocument", &[0u8; 600])], &["/Macros/VBA/dir"]),
    );
    let macros = ["/Macros/VBA/dir", "/ObjectPool/_1/\u{1}Ole10Native"];
    put(
        "ole",
        "text.doc",
        &build::word_doc("本文\r\u{13} DDEAUTO x \u{14}結果\u{15}\u{7}表\r", &macros),
    );
    put(
        "ole",
        "text.ppt",
        &build::powerpoint_doc("スライド\rページ", &macros),
    );
    put(
        "ole",
        "text.xls",
        &build::excel_doc("シート", "セル", &macros),
    );
    put(
        "text",
        "sjis.csv",
        &encoding_rs::SHIFT_JIS.encode("氏名,式\r\n山田,=1+2\r\n").0,
    );
    put(
        "text",
        "page.html",
        "<html><body><p>本文</p><script>x()</script></body></html>".as_bytes(),
    );
    put(
        "text",
        "euc.txt",
        &encoding_rs::EUC_JP.encode("日本語の文章です。").0,
    );
    put("file", "exe.bin", b"MZ\x90\x00\x03");
    put(
        "file",
        "drawing.svg",
        br#"<svg xmlns="http://www.w3.org/2000/svg" width="16" height="8"><script>x()</script><rect width="8" height="8" fill="red"/><text x="8" y="7" font-size="6">Aa</text><image href="data:image/svg+xml;base64,PHN2ZyB4bWxucz0naHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmcnLz4=" width="4" height="4"/></svg>"#,
    );
    put("file", "dangerous.pdf", &build::dangerous_pdf(false));
}
