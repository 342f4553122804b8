//! Mail → text: Japanese charsets and label variants, HTML-only and alternative bodies, nested
//! messages, links, attachments and flags. Each output is parsed again and checked.

use encoding_rs::{EUC_JP, ISO_2022_JP, SHIFT_JIS, UTF_8};
use mail_parser::MessageParser;
use mamori_sanitize::policy::{AttachmentMode, OutputCharset};
use mamori_sanitize::{InProcess, Outcome, Policy, Verdict, sanitize_mail};

use crate::build;

const BODY: &str =
    "峡南広域行政組合 御中\n\nいつもお世話になっております。①髙﨑の件、ご確認ください。\n";

fn run(input: &[u8], policy: &Policy) -> (Outcome, String, String) {
    let o = sanitize_mail(input, policy, &InProcess);
    let out = o
        .output
        .clone()
        .unwrap_or_else(|| panic!("blocked: {:?}", o.report));
    let msg = MessageParser::default().parse(&out).unwrap();
    let subject = msg.subject().unwrap_or_default().to_owned();
    let body = msg.body_text(0).unwrap().into_owned();
    assert!(msg.attachment_count() == 0 || policy.mail.attachments == AttachmentMode::Sanitize);
    (o, subject, body)
}

fn has(o: &Outcome, code: &str) -> bool {
    o.report.actions.iter().any(|a| a.code == code)
}

#[test]
fn japanese_charsets_and_label_variants() {
    let cases: &[(&str, &'static encoding_rs::Encoding)] = &[
        ("ISO-2022-JP", ISO_2022_JP),
        ("iso-2022-jp-ms", ISO_2022_JP),
        ("cp50220", ISO_2022_JP),
        ("CP50221", ISO_2022_JP),
        ("cp50222", ISO_2022_JP),
        ("Shift_JIS", SHIFT_JIS),
        ("cp932", SHIFT_JIS),
        ("Windows-31J", SHIFT_JIS),
        ("x-sjis", SHIFT_JIS),
        ("EUC-JP", EUC_JP),
        ("cp51932", EUC_JP),
        ("eucJP-ms", EUC_JP),
        ("UTF-8", UTF_8),
    ];
    for (label, enc) in cases {
        let input = build::text_mail(label, enc, "会議のお知らせ①", BODY);
        let (o, subject, body) = run(&input, &Policy::default());
        assert_eq!(subject, "[外部]会議のお知らせ①", "label {label}");
        assert!(
            body.contains("いつもお世話になっております。①髙﨑の件"),
            "label {label}: {body}"
        );
        assert!(!body.contains('\u{fffd}'), "label {label}");
        assert!(!has(&o, "mail.charset.mojibake"), "label {label}");
    }
}

#[test]
fn missing_or_wrong_charset_is_guessed() {
    let sjis = SHIFT_JIS.encode(BODY).0.into_owned();
    for ct in [
        "text/plain",
        "text/plain; charset=us-ascii",
        "text/plain; charset=utf-8",
    ] {
        let mut m = format!("From: a@example.com\r\nSubject: test\r\nContent-Type: {ct}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").into_bytes();
        m.extend_from_slice(&sjis);
        let (o, _, body) = run(&m, &Policy::default());
        assert!(
            body.contains("いつもお世話になっております"),
            "{ct}: {body}"
        );
        assert!(has(&o, "mail.charset.guessed"), "{ct}");
    }
}

#[test]
fn rfc2231_and_encoded_word_filenames_in_japanese() {
    let iso = ISO_2022_JP.encode("見積書.pdf").0.into_owned();
    let pct: String = iso.iter().map(|b| format!("%{b:02X}")).collect();
    let params = [
        format!("filename*=iso-2022-jp''{pct}"),
        format!(
            "filename=\"{}\"",
            build::encoded_word("cp932", SHIFT_JIS, "見積書.pdf")
        ),
    ];
    for p in params {
        let m = build::mail_with_attachment(&p, "application/pdf", &build::dangerous_pdf(false));
        let (o, _, body) = run(&m, &Policy::default());
        assert!(body.contains("見積書.pdf"), "{p}: {body}");
        assert!(body.contains("SHA-256"), "{body}");
        assert!(has(&o, "mail.attachment.removed"));
    }
}

#[test]
fn html_only_and_alternative_bodies() {
    let html = "<html><body><p>住民の皆様へ</p><p>詳細は<a href=\"https://evil.example.com/login\">https://www.city.example.lg.jp/</a>へ。</p><ul><li>一点目</li><li>二点目</li></ul><script>alert(1)</script></body></html>";
    let m = format!(
        "From: a@example.com\r\nSubject: html\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        build::b64(&ISO_2022_JP.encode(html).0)
    );
    let (o, _, body) = run(m.as_bytes(), &Policy::default());
    assert!(
        body.contains("住民の皆様へ") && body.contains("・一点目"),
        "{body}"
    );
    assert!(
        body.contains("hxxps://evil[.]example[.]com/login"),
        "{body}"
    );
    assert!(
        !body.contains("https://evil") && !body.contains("alert"),
        "{body}"
    );
    assert!(has(&o, "mail.link.mismatch") && has(&o, "mail.html-to-text"));
    assert!(
        body.find("表示されているドメイン").unwrap() < body.find("住民の皆様へ").unwrap(),
        "notice is at the top"
    );

    let alt = format!(
        "From: a@example.com\r\nSubject: alt\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nテキスト版の本文です。十分な長さのある本文なのでこちらを使います。テキスト版の本文です。\r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--A--\r\n"
    );
    let (o, _, body) = run(alt.as_bytes(), &Policy::default());
    assert!(body.contains("テキスト版の本文です"), "{body}");
    assert!(!body.contains("住民の皆様へ"));
    assert!(has(&o, "mail.html-alternative"));

    // An HTML part that is a bare fragment, as many mailers write it: nothing is lost.
    let fragment = "From: a@example.com\r\nSubject: frag\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\nお世話になっております。<br>会議は<b>15時</b>からです。<div>総務課</div>以上\r\n";
    let (_, _, body) = run(fragment.as_bytes(), &Policy::default());
    let words = "お世話になっております。\r\n会議は15時からです。\r\n総務課\r\n以上";
    assert!(body.contains(words), "{body}");
}

#[test]
fn nested_message_is_shown_as_text_and_its_attachments_removed() {
    let inner = build::mail_with_attachment(
        "filename=\"x.exe\"",
        "application/octet-stream",
        b"MZ\x90\x00",
    );
    let m = format!(
        "From: a@example.com\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"O\"\r\n\r\n--O\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n転送します。\r\n--O\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--O--\r\n",
        String::from_utf8(inner).unwrap()
    );
    let (o, _, body) = run(m.as_bytes(), &Policy::default());
    assert!(
        body.contains("転送します。") && body.contains("資料を送ります。"),
        "{body}"
    );
    assert!(
        has(&o, "mail.attachment.executable"),
        "{:?}",
        o.report.actions
    );
    assert!(body.contains("x.exe"));
}

#[test]
fn attachment_flags_rtlo_double_extension_ppap_tnef_partial() {
    let policy = Policy::default();
    let m = build::mail_with_attachment(
        "filename*=UTF-8''invoice%E2%80%AEfdp.exe",
        "application/octet-stream",
        b"MZ",
    );
    let (o, _, body) = run(&m, &policy);
    assert!(body.contains("invoice<U+202E>fdp.exe"), "{body}");
    assert!(!body.contains('\u{202e}'));
    assert!(has(&o, "mail.attachment.bidi") && has(&o, "mail.attachment.executable"));

    let m = build::mail_with_attachment(
        "filename=\"請求書.pdf.exe\"",
        "application/octet-stream",
        b"MZ",
    );
    let (o, ..) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.double-extension"));

    let ppap = build::mark_encrypted(build::zip_of(&[("見積.xlsx", b"x")]));
    let m = build::mail_with_attachment("filename=\"見積.zip\"", "application/zip", &ppap);
    let (o, _, body) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.encrypted-archive"), "{body}");
    assert!(body.contains("PPAP"));

    let m = build::mail_with_attachment(
        "filename=\"winmail.dat\"",
        "application/ms-tnef",
        b"\x78\x9f\x3e\x22",
    );
    let (o, ..) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.tnef"));

    let m = "From: a@example.com\r\nSubject: part\r\nMIME-Version: 1.0\r\nContent-Type: message/partial; id=\"x\"; number=1; total=2\r\n\r\nabc\r\n";
    let o = sanitize_mail(m.as_bytes(), &policy, &InProcess);
    assert!(
        o.report.actions.iter().any(|a| a.code.starts_with("mail.")),
        "{:?}",
        o.report
    );

    let docm = build::docm();
    let m = build::mail_with_attachment("filename=\"a.docm\"", "application/octet-stream", &docm);
    let (o, ..) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.macro"));
}

#[test]
fn attachment_type_comes_from_the_first_bytes_not_a_pdf_marker_inside() {
    let policy = Policy::default();
    // PPAP whose first entry is a stored PDF: "%PDF-" sits in the archive's first kilobyte.
    let ppap = build::mark_encrypted(build::zip_stored_of(&[
        ("見積.pdf", b"%PDF-1.4\n%%EOF\n"),
        ("明細.xlsx", b"x"),
    ]));
    let m = build::mail_with_attachment("filename=\"見積.zip\"", "application/zip", &ppap);
    let (o, _, body) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.encrypted-archive"), "{body}");
    assert!(body.contains("見積.zip (種類: zip,"), "{body}");

    // An executable carrying a PDF header in its DOS stub, named as a PDF.
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.extend_from_slice(&[0; 60]);
    exe.extend_from_slice(b"%PDF-1.7\n");
    let m = build::mail_with_attachment("filename=\"請求書.pdf\"", "application/pdf", &exe);
    let (o, _, body) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.executable"), "{body}");
    assert!(body.contains("請求書.pdf (種類: pe,"), "{body}");

    // TNEF is known by its signature under any name and type.
    let m = build::mail_with_attachment(
        "filename=\"data.bin\"",
        "application/octet-stream",
        b"\x78\x9f\x3e\x22\x01\x06\x90\x08\x00",
    );
    let (o, _, body) = run(&m, &policy);
    assert!(has(&o, "mail.attachment.tnef"), "{body}");
    assert!(body.contains("data.bin (種類: tnef,"), "{body}");
}

#[test]
fn binary_sent_as_text_is_handled_as_an_attachment_not_put_into_the_body() {
    let policy = Policy::default();
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    exe.extend((0..=255u8).cycle().take(1024));
    // A second text/plain part, inline and unnamed, carrying an executable.
    let m = format!(
        "From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n本文です。\r\n--X\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--X--\r\n",
        build::b64(&exe)
    );
    let (o, _, body) = run(m.as_bytes(), &policy);
    assert!(body.contains("本文です。"), "{body}");
    assert!(!body.contains('\0') && !body.contains("MZ"), "{body}");
    assert!(has(&o, "mail.body.binary") && has(&o, "mail.attachment.executable"));
    assert!(body.contains("(名前なし 2) (種類: pe,"), "{body}");
    assert!(!has(&o, "mail.charset.mojibake"), "{:?}", o.report.actions);
    assert!(body.contains("→ 削除しました"), "{body}");

    // The whole message one text/plain part with NUL bytes.
    let m = format!(
        "From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: t\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        build::b64(&exe)
    );
    let (o, _, body) = run(m.as_bytes(), &policy);
    assert!(!body.contains('\0') && !body.contains("MZ"), "{body}");
    assert!(has(&o, "mail.body.binary"), "{:?}", o.report.actions);
    assert!(body.contains("(種類: pe,"), "{body}");
}

#[test]
fn an_html_part_beside_the_text_in_multipart_mixed_is_kept_not_taken_for_an_alternative() {
    let policy = Policy::default();
    let head = "From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: t\r\nMIME-Version: 1.0\r\n";
    let plain =
        "Content-Type: text/plain; charset=utf-8\r\n\r\n本文です。会議は午後二時からです。\r\n";
    let html = "Content-Type: text/html; charset=utf-8\r\n\r\n<p>追記：<a href=\"https://example.com/map\">地図</a>をご覧ください。</p>\r\n";
    let alt_html = "Content-Type: text/html; charset=utf-8\r\n\r\n<p>本文です。(HTML 版)</p>\r\n";
    // Two inline parts one after the other: both are content.
    let m = format!(
        "{head}Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n{plain}--M\r\n{html}--M--\r\n"
    );
    let (o, _, body) = run(m.as_bytes(), &policy);
    assert!(body.contains("会議は午後二時からです。"), "{body}");
    assert!(
        body.contains("追記：地図 <hxxps://example[.]com/map>"),
        "{body}"
    );
    assert!(has(&o, "mail.html-to-text"));
    assert!(!has(&o, "mail.html-alternative"));

    // An alternative pair followed by an HTML part of its own: the pair's HTML is dropped, the
    // other kept.
    let m = format!(
        "{head}Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\n{plain}--A\r\n{alt_html}--A--\r\n--M\r\n{html}--M--\r\n"
    );
    let (o, _, body) = run(m.as_bytes(), &policy);
    assert!(body.contains("会議は午後二時からです。"), "{body}");
    assert!(body.contains("追記：地図"), "{body}");
    assert!(!body.contains("HTML 版"), "{body}");
    assert!(has(&o, "mail.html-alternative"));

    // The usual alternative alone: the text part only.
    let m = format!(
        "{head}Content-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\n{plain}--A\r\n{alt_html}--A--\r\n"
    );
    let (o, _, body) = run(m.as_bytes(), &policy);
    assert!(!body.contains("HTML 版"), "{body}");
    assert!(has(&o, "mail.html-alternative") && !has(&o, "mail.html-to-text"));
}

#[test]
fn a_legacy_document_with_macros_is_reattached_as_its_text_when_the_policy_converts() {
    let mut policy = Policy::default();
    policy.mail.attachments = AttachmentMode::Sanitize;
    policy.ole.macros = mamori_sanitize::policy::Rule::Sanitize;
    let doc = build::word_doc("会議資料です。\r", &["/Macros/VBA/dir"]);
    let m = build::mail_with_attachment("filename=\"会議.doc\"", "application/msword", &doc);
    let o = sanitize_mail(&m, &policy, &InProcess);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    let out = o.output.unwrap();
    let msg = MessageParser::default().parse(&out).unwrap();
    let att = msg.attachment(0).unwrap();
    use mail_parser::MimeHeaders;
    assert_eq!(att.attachment_name(), Some("会議.txt"));
    assert_eq!(att.contents(), "会議資料です。\r\n".as_bytes());
}

#[test]
fn an_svg_is_reattached_as_a_png_when_the_policy_rasterises() {
    let mut policy = Policy::default();
    policy.mail.attachments = AttachmentMode::Sanitize;
    policy.files.svg = mamori_sanitize::Rule::Sanitize;
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><script>x()</script><rect width="8" height="8" fill="red"/></svg>"#;
    let m = build::mail_with_attachment("filename=\"logo.svg\"", "image/svg+xml", svg);
    let o = sanitize_mail(&m, &policy, &InProcess);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    let out = o.output.unwrap();
    let msg = MessageParser::default().parse(&out).unwrap();
    let att = msg.attachment(0).unwrap();
    use mail_parser::MimeHeaders;
    assert_eq!(att.attachment_name(), Some("logo.png"));
    assert_eq!(
        mamori_sanitize::detect::detect(att.contents()),
        mamori_sanitize::detect::Kind::Png
    );
}

#[test]
fn sanitise_mode_reattaches_rebuilt_files() {
    let mut policy = Policy::default();
    policy.mail.attachments = AttachmentMode::Sanitize;
    let m = build::mail_with_attachment(
        "filename=\"通知.docm\"",
        "application/octet-stream",
        &build::docm(),
    );
    let o = sanitize_mail(&m, &policy, &InProcess);
    assert_eq!(o.report.verdict, Verdict::Sanitized);
    let out = o.output.unwrap();
    let msg = MessageParser::default().parse(&out).unwrap();
    assert_eq!(msg.attachment_count(), 1);
    let att = msg.attachment(0).unwrap();
    use mail_parser::MimeHeaders;
    assert_eq!(att.attachment_name(), Some("通知.docx"));
    let data = att.contents();
    assert_eq!(
        mamori_sanitize::detect::detect(data),
        mamori_sanitize::detect::Kind::Ooxml("docx")
    );
    let s = String::from_utf8_lossy(&out);
    assert!(
        s.contains("X-Mamori-Sanitized: text-converted; attachments-sanitized=1"),
        "{s}"
    );
    // A blocked attachment is removed even in sanitise mode.
    let m =
        build::mail_with_attachment("filename=\"a.exe\"", "application/octet-stream", b"MZ\x90");
    let o = sanitize_mail(&m, &policy, &InProcess);
    let msg_out = o.output.unwrap();
    assert_eq!(
        MessageParser::default()
            .parse(&msg_out)
            .unwrap()
            .attachment_count(),
        0
    );
}

#[test]
fn sender_flags_and_header_anomalies() {
    let mut policy = Policy::default();
    policy.mail.internal_domains = vec!["kyonan.example.lg.jp".to_owned()];
    let m = format!(
        "From: \"kacho@kyonan.example.lg.jp\" <attacker@evil.example>\r\nFrom: b@example.com\r\nX-Long: {}\r\nSubject: 至急\r\n\r\nbody http://192.168.10.5/x\r\n",
        "a".repeat(1200)
    );
    let (o, subject, body) = run(m.as_bytes(), &policy);
    for c in [
        "mail.from.display-address",
        "mail.from.impersonation",
        "mail.from.multiple",
        "mail.header.too-long",
        "mail.link.raw-ip",
    ] {
        assert!(has(&o, c), "missing {c}: {:?}", o.report.actions);
    }
    assert_eq!(subject, "[外部]至急");
    assert!(body.contains("hxxp://192[.]168[.]10[.]5/x"), "{body}");
    let out = String::from_utf8_lossy(o.output.as_ref().unwrap()).into_owned();
    assert!(!out.contains("X-Long") && !out.contains("X-Spam"));
}

#[test]
fn kept_headers_and_iso2022jp_output() {
    let mut policy = Policy::default();
    policy.mail.output_charset = OutputCharset::Iso2022Jp;
    let mut input = build::text_mail("UTF-8", UTF_8, "件名テスト", BODY);
    let head = b"In-Reply-To: <p@example.com>\r\nReferences: <q@example.com> <p@example.com>\r\nCc: c@example.com\r\n";
    input.splice(0..0, head.iter().copied());
    let (o, subject, body) = run(&input, &policy);
    assert_eq!(subject, "[外部]件名テスト");
    assert!(body.contains("髙﨑"), "{body}");
    let out = String::from_utf8_lossy(o.output.as_ref().unwrap()).into_owned();
    for h in [
        "From:",
        "To:",
        "Cc:",
        "Subject:",
        "Date:",
        "Message-ID: <abc@example.com>",
        "In-Reply-To: <p@example.com>",
        "References:",
        "charset=ISO-2022-JP",
    ] {
        assert!(out.contains(h), "{h} missing in {out}");
    }
}

#[test]
fn plain_text_without_links_is_clean() {
    let m =
        b"From: a@example.com\r\nTo: b@example.lg.jp\r\nSubject: hello\r\n\r\nplain text only\r\n";
    let o = sanitize_mail(m, &Policy::default(), &InProcess);
    assert_eq!(o.report.verdict, Verdict::Clean, "{:?}", o.report);
}

#[test]
fn limits_block_hostile_structure() {
    let mut policy = Policy::default();
    policy.limits.mime_parts = 50;
    let mut m = String::from(
        "From: a@example.com\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n",
    );
    for i in 0..100 {
        m.push_str(&format!(
            "--B\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
        ));
    }
    m.push_str("--B--\r\n");
    let o = sanitize_mail(m.as_bytes(), &policy, &InProcess);
    assert_eq!(o.report.verdict, Verdict::Blocked);

    let mut deep = String::from("From: a@example.com\r\nSubject: deep\r\n");
    for i in 0..40 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    deep.push_str("Content-Type: text/plain\r\n\r\nx\r\n");
    let o = sanitize_mail(deep.as_bytes(), &Policy::default(), &InProcess);
    assert_eq!(o.report.verdict, Verdict::Blocked, "{:?}", o.report.actions);

    policy.limits.message_bytes = 10;
    let o = sanitize_mail(
        b"From: a@example.com\r\n\r\nhello world",
        &policy,
        &InProcess,
    );
    assert_eq!(o.report.verdict, Verdict::Blocked);
}

#[test]
fn deep_html_does_not_explode() {
    let html = format!(
        "{}本文{}",
        "<div>".repeat(200_000),
        "</div>".repeat(200_000)
    );
    let m = format!(
        "From: a@example.com\r\nSubject: deep\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    );
    let start = std::time::Instant::now();
    let (o, _, body) = run(m.as_bytes(), &Policy::default());
    assert!(body.contains("本文"));
    assert!(has(&o, "mail.html.degraded"));
    assert!(start.elapsed().as_secs() < 20);
}

#[test]
fn garbage_never_panics() {
    let policy = Policy::default();
    let seeds = [
        build::text_mail("cp932", SHIFT_JIS, "件名", BODY),
        build::mail_with_attachment(
            "filename=\"a.pdf\"",
            "application/pdf",
            &build::dangerous_pdf(false),
        ),
    ];
    for s in &seeds {
        for cut in (0..s.len()).step_by(13) {
            let _ = sanitize_mail(&s[..cut], &policy, &InProcess);
        }
        let mut flipped = s.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5a;
        }
        let _ = sanitize_mail(&flipped, &policy, &InProcess);
    }
    let o = sanitize_mail(b"", &policy, &InProcess);
    assert_eq!(o.report.verdict, Verdict::Blocked);
}

/// With `MAMORI_TEST_CLAMD` set (scripts/start-clamd.sh), an EICAR attachment is found by the
/// real clamd and blocked; a clean one passes the scan.
#[test]
fn clamd_scan_blocks_eicar_attachment() {
    let Ok(addr) = std::env::var("MAMORI_TEST_CLAMD") else {
        eprintln!("MAMORI_TEST_CLAMD not set; skipping the live clamd test");
        return;
    };
    let mut policy = Policy::default();
    policy.scan.clamd = addr;
    policy.mail.attachments = AttachmentMode::Sanitize;
    let eicar = concat!(
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    );
    let m = build::mail_with_attachment("filename=\"test.txt\"", "text/plain", eicar.as_bytes());
    let o = sanitize_mail(&m, &policy, &InProcess);
    // A mail carrying malware is an attack: nothing of it is delivered, the report says why.
    assert!(has(&o, "scan.malware"), "{:?}", o.report.actions);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(o.output.is_none());
    let m = build::mail_with_attachment(
        "filename=\"memo.txt\"",
        "text/plain",
        "普通のメモ".as_bytes(),
    );
    let o = sanitize_mail(&m, &policy, &InProcess);
    assert!(
        !has(&o, "scan.malware") && has(&o, "mail.attachment.reattached"),
        "{:?}",
        o.report.actions
    );
}
