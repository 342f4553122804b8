//! File engine: each type and construct, and re-parsing every sanitised output.

use std::io::{Cursor, Read};

use mamori_sanitize::{Policy, Rule, Verdict, sanitize_file};

use crate::build;

fn codes(o: &mamori_sanitize::Outcome) -> Vec<String> {
    o.report.actions.iter().map(|a| a.code.clone()).collect()
}

fn has(o: &mamori_sanitize::Outcome, code: &str) -> bool {
    o.report.actions.iter().any(|a| a.code == code)
}

#[test]
fn pdf_dangerous_keys_are_removed_and_gone_after_reparse() {
    for obfuscate in [false, true] {
        let input = build::dangerous_pdf(obfuscate);
        let o = sanitize_file(&input, Some("資料.pdf"), &Policy::default());
        assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
        for c in [
            "pdf.javascript",
            "pdf.open-action",
            "pdf.additional-actions",
            "pdf.launch",
            "pdf.embedded-files",
            "pdf.xfa",
            "pdf.form-action",
        ] {
            assert!(has(&o, c), "missing {c}: {:?}", codes(&o));
        }
        assert!(has(&o, "pdf.unreferenced"), "{:?}", codes(&o));
        let out = o.output.unwrap();
        // The removed keys' targets are not left in the file unreferenced: the XFA stream's
        // bytes and the scripts are gone from the output, not only unlinked.
        for gone in [&b"<xdp>"[..], b"app.alert"] {
            assert!(
                !out.windows(gone.len()).any(|w| w == gone),
                "{} still in the output",
                String::from_utf8_lossy(gone)
            );
        }
        let doc = lopdf::Document::load_mem(&out).unwrap();
        let mut text = String::new();
        for obj in doc.objects.values() {
            text.push_str(&format!("{obj:?}"));
        }
        for key in [
            "JavaScript",
            "OpenAction",
            "Launch",
            "EmbeddedFile",
            "XFA",
            "SubmitForm",
            "\"JS\"",
            "\"AA\"",
        ] {
            assert!(
                !text.contains(key),
                "{key} still present (obfuscate={obfuscate})"
            );
        }
        assert!(text.contains("URI"), "URI actions are allowed by default");
        assert_eq!(doc.get_pages().len(), 1);
    }
}

#[test]
fn pdf_trailing_data_is_dropped_and_uri_can_be_removed() {
    let mut input = build::dangerous_pdf(false);
    input.extend_from_slice(b"MZ-this-is-a-payload");
    let mut policy = Policy::default();
    policy.pdf.uri = Rule::Sanitize;
    let o = sanitize_file(&input, None, &policy);
    assert!(has(&o, "pdf.trailing-data"));
    assert!(has(&o, "pdf.uri"));
    let out = o.output.unwrap();
    assert!(!out.windows(7).any(|w| w == b"payload"));
    assert!(!out.windows(4).any(|w| w == b"/URI"));
}

#[test]
fn pdf_javascript_block_policy_blocks() {
    let mut policy = Policy::default();
    policy.pdf.javascript = Rule::Block;
    let o = sanitize_file(&build::dangerous_pdf(false), None, &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(o.output.is_none());
}

#[test]
fn truncated_and_garbage_pdfs_are_blocked() {
    let full = build::dangerous_pdf(false);
    for cut in [10, 100, full.len() / 2] {
        let o = sanitize_file(&full[..cut], None, &Policy::default());
        assert!(matches!(
            o.report.verdict,
            Verdict::Blocked | Verdict::Sanitized | Verdict::Clean
        ));
        if o.report.verdict != Verdict::Blocked {
            // Whatever came out of a damaged file must still be free of script.
            assert!(!o.output.unwrap().windows(11).any(|w| w == b"/JavaScript"));
        }
    }
    let o = sanitize_file(b"%PDF-1.7\n\x00\x01garbage", None, &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Blocked);
}

#[test]
fn encrypted_pdf_without_empty_password_is_blocked() {
    let input = build::raw_pdf(
        &[
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [] /Count 0 >>",
            "<< /Filter /Standard /V 2 /R 3 /Length 128 /O (0123456789abcdef0123456789abcdef) /U (0123456789abcdef0123456789abcdef) /P -4 >>",
        ],
        "/Encrypt 3 0 R /ID [(aaaaaaaaaaaaaaaa) (aaaaaaaaaaaaaaaa)] ",
    );
    let o = sanitize_file(&input, None, &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Blocked, "{:?}", o.report);
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    z.file_names().map(|n| n.unwrap().into_owned()).collect()
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn macro_and_control_parts_are_found_by_relationship_and_content_type_not_only_by_name() {
    // Known as macro-enabled by its declared content types.
    assert_eq!(
        mamori_sanitize::detect::detect(&build::docm_renamed_parts()),
        mamori_sanitize::detect::Kind::Ooxml("docm")
    );
    let o = sanitize_file(
        &build::docm_renamed_parts(),
        Some("通知.docm"),
        &Policy::default(),
    );
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    assert!(
        has(&o, "ooxml.macros") && has(&o, "ooxml.activex"),
        "{:?}",
        codes(&o)
    );
    let out = o.output.unwrap();
    let names = zip_names(&out);
    assert!(
        !names.contains(&"word/data.dat".to_owned())
            && !names.contains(&"word/parts/ctl.xml".to_owned()),
        "{names:?}"
    );
    let ct = zip_entry(&out, "[Content_Types].xml");
    assert!(
        !ct.contains("vbaProject") && !ct.contains("data.dat"),
        "{ct}"
    );
    let rels = zip_entry(&out, "word/_rels/document.xml.rels");
    assert!(
        !rels.contains("vbaProject") && !rels.contains("/control") && !rels.contains("data.dat"),
        "{rels}"
    );
    assert_eq!(
        mamori_sanitize::detect::detect(&out),
        mamori_sanitize::detect::Kind::Ooxml("docx")
    );
    soffice_opens(&out, "docx");
}

#[test]
fn docm_becomes_docx_without_macros_links_or_dde() {
    let o = sanitize_file(&build::docm(), Some("通知.docm"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    assert_eq!(o.report.output.as_ref().unwrap().kind, "docx");
    for c in [
        "ooxml.macros",
        "ooxml.remote-template",
        "ooxml.external-relationship",
        "ooxml.dde",
        "ooxml.content-type",
    ] {
        assert!(has(&o, c), "missing {c}: {:?}", codes(&o));
    }
    let out = o.output.unwrap();
    let names = zip_names(&out);
    assert!(
        !names.iter().any(|n| n.to_lowercase().contains("vba")),
        "{names:?}"
    );
    let ct = zip_entry(&out, "[Content_Types].xml");
    assert!(
        !ct.contains("macroEnabled") && !ct.contains("vbaProject"),
        "{ct}"
    );
    assert!(ct.contains("wordprocessingml.document.main+xml"));
    let rels = zip_entry(&out, "word/_rels/document.xml.rels");
    assert!(
        !rels.contains("vbaProject") && !rels.contains("evil"),
        "{rels}"
    );
    assert!(
        rels.contains("hyperlink"),
        "hyperlinks are kept by default: {rels}"
    );
    assert!(!zip_entry(&out, "word/_rels/settings.xml.rels").contains("evil"));
    let doc = zip_entry(&out, "word/document.xml");
    assert!(
        !doc.contains("DDEAUTO") && doc.contains("お知らせ"),
        "{doc}"
    );
    // The rebuilt package is detected as a plain docx.
    assert_eq!(
        mamori_sanitize::detect::detect(&out),
        mamori_sanitize::detect::Kind::Ooxml("docx")
    );
    soffice_opens(&out, "docx");
}

#[test]
fn xlsm_loses_vba_xlm_connections_and_dde_formulas() {
    let o = sanitize_file(&build::xlsm(), Some("集計.xlsm"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    for c in [
        "ooxml.macros",
        "ooxml.xlm-macros",
        "ooxml.external-data",
        "ooxml.dde",
    ] {
        assert!(has(&o, c), "missing {c}: {:?}", codes(&o));
    }
    let out = o.output.unwrap();
    let names = zip_names(&out);
    assert!(
        !names
            .iter()
            .any(|n| n.contains("macrosheets") || n.contains("vba") || n.contains("connections")),
        "{names:?}"
    );
    assert!(!zip_entry(&out, "xl/worksheets/sheet1.xml").contains("cmd|"));
    assert!(!zip_entry(&out, "xl/_rels/workbook.xml.rels").contains("macrosheet"));
    assert!(zip_entry(&out, "[Content_Types].xml").contains("spreadsheetml.sheet.main+xml"));
    soffice_opens(&out, "xlsx");
}

#[test]
fn pptm_becomes_pptx_without_macros_or_external_links() {
    let o = sanitize_file(&build::pptm(), Some("訓練.pptm"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    for c in ["ooxml.macros", "ooxml.external-relationship"] {
        assert!(has(&o, c), "missing {c}: {:?}", codes(&o));
    }
    let out = o.output.unwrap();
    assert!(!zip_names(&out).iter().any(|n| n.contains("vba")));
    let rels = zip_entry(&out, "ppt/slides/_rels/slide1.xml.rels");
    assert!(
        !rels.contains("evil") && rels.contains("slideLayout1.xml"),
        "{rels}"
    );
    assert!(!zip_entry(&out, "ppt/_rels/presentation.xml.rels").contains("vbaProject"));
    assert!(zip_entry(&out, "ppt/slides/slide1.xml").contains("防災訓練のお知らせ"));
    assert!(
        zip_entry(&out, "[Content_Types].xml").contains("presentationml.presentation.main+xml")
    );
    assert_eq!(
        mamori_sanitize::detect::detect(&out),
        mamori_sanitize::detect::Kind::Ooxml("pptx")
    );
    soffice_opens(&out, "pptx");
}

/// Converts with LibreOffice when it is installed (`soffice` on PATH); skipped otherwise, unless
/// `MAMORI_REQUIRE_SOFFICE=1` (CI) makes a missing LibreOffice a failure.
fn soffice_opens(bytes: &[u8], ext: &str) {
    let Ok(path) = which("soffice") else {
        assert!(
            std::env::var("MAMORI_REQUIRE_SOFFICE").as_deref() != Ok("1"),
            "MAMORI_REQUIRE_SOFFICE=1 but soffice is not installed (scripts/install-test-deps.sh)"
        );
        eprintln!("soffice not installed; skipping the LibreOffice open check");
        return;
    };
    // One directory (and LibreOffice profile) per call: tests converting the same type run at
    // the same time.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "mamori-soffice-{}-{call}-{ext}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join(format!("in.{ext}"));
    std::fs::write(&input, bytes).unwrap();
    let status = std::process::Command::new(path)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&dir)
        .arg(&input)
        .env("HOME", &dir)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        dir.join("in.pdf").exists(),
        "LibreOffice could not open the rebuilt {ext}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.exists())
        })
        .ok_or(())
}

#[test]
fn images_are_reencoded_and_trailing_payload_dropped() {
    for (mut img, name) in [(build::png(), "a.png"), (build::jpeg(), "b.jpg")] {
        img.extend_from_slice(b"PK\x03\x04hidden-zip-payload");
        let o = sanitize_file(&img, Some(name), &Policy::default());
        assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
        assert!(has(&o, "image.trailing-data"));
        let out = o.output.unwrap();
        assert!(!out.windows(6).any(|w| w == b"hidden"));
        image::load_from_memory(&out).unwrap();
    }
}

#[test]
fn huge_declared_image_is_blocked() {
    let mut png = build::png();
    // Patch the IHDR width/height to 100000×100000 (the CRC no longer matches either).
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let o = sanitize_file(&png, None, &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Blocked);
}

#[test]
fn zip_entries_are_sanitised_recursively() {
    let inner = build::zip_of(&[
        ("doc.pdf", &build::dangerous_pdf(false)),
        ("run.exe", b"MZ\x90\x00"),
    ]);
    let outer = build::zip_of(&[("inner.zip", &inner), ("メモ.txt", "こんにちは".as_bytes())]);
    let o = sanitize_file(&outer, Some("a.zip"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    let out = o.output.unwrap();
    assert!(zip_names(&out).contains(&"メモ.txt".to_owned()));
    let mut z = zip::ZipArchive::new(Cursor::new(out)).unwrap();
    let mut inner_out = Vec::new();
    z.by_name("inner.zip")
        .unwrap()
        .read_to_end(&mut inner_out)
        .unwrap();
    assert_eq!(zip_names(&inner_out), vec!["doc.pdf".to_owned()]);
}

#[test]
fn a_zip_whose_first_entry_is_a_stored_pdf_is_handled_as_a_zip() {
    // The stored PDF puts "%PDF-" in the archive's first kilobyte; the zip header comes first.
    let z = build::zip_stored_of(&[
        ("doc.pdf", &build::dangerous_pdf(false)),
        ("run.exe", b"MZ\x90\x00"),
    ]);
    let o = sanitize_file(&z, Some("a.zip"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    assert_eq!(zip_names(&o.output.unwrap()), vec!["doc.pdf".to_owned()]);
}

#[test]
fn shift_jis_entry_names_are_decoded() {
    let mut z = build::zip_of(&[("AAAA.txt", b"x")]);
    // Replace the name bytes in place with Shift_JIS 「資料」 (4 bytes), flag bit 11 stays clear.
    let sjis = encoding_rs::SHIFT_JIS.encode("資料").0.into_owned();
    let mut i = 0;
    while let Some(p) = z[i..].windows(4).position(|w| w == b"AAAA") {
        z[i + p..i + p + 4].copy_from_slice(&sjis);
        i += p + 4;
    }
    let o = sanitize_file(&z, None, &Policy::default());
    let out = o.output.unwrap();
    assert_eq!(zip_names(&out), vec!["資料.txt".to_owned()]);
}

#[test]
fn zip_bombs_are_blocked() {
    let policy = Policy::default();
    // High ratio.
    let zeros = vec![0u8; 20 * 1024 * 1024];
    let o = sanitize_file(&build::zip_of(&[("z.txt", &zeros)]), None, &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(has(&o, "archive.ratio"), "{:?}", codes(&o));
    // Deep.
    let mut z = build::zip_of(&[("a.txt", b"a")]);
    for _ in 0..6 {
        z = build::zip_of(&[("n.zip", &z)]);
    }
    let o = sanitize_file(&z, None, &policy);
    let s = serde_json::to_string(&o.report).unwrap();
    assert!(s.contains("archive.depth"), "{s}");
    // Wide.
    let many: Vec<(String, Vec<u8>)> = (0..2100)
        .map(|i| (format!("f{i}.txt"), b"x".to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let o = sanitize_file(&build::zip_of(&refs), None, &policy);
    assert!(has(&o, "archive.entries"));
    // Overlapping: two central-directory records pointing at the same data.
    let o = sanitize_file(&overlapping_zip(), None, &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked, "{:?}", o.report);
}

fn overlapping_zip() -> Vec<u8> {
    let data = b"hello hello hello";
    let crc = {
        let mut h = 0xFFFF_FFFFu32;
        for b in data {
            h ^= u32::from(*b);
            for _ in 0..8 {
                h = if h & 1 != 0 {
                    (h >> 1) ^ 0xEDB8_8320
                } else {
                    h >> 1
                };
            }
        }
        !h
    };
    let mut z = Vec::new();
    let local = |z: &mut Vec<u8>, name: &[u8]| {
        z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name);
    };
    local(&mut z, b"a.txt");
    z.extend_from_slice(data);
    let cd_start = z.len();
    for name in [b"a.txt", b"b.txt"] {
        z.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(data.len() as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0u8; 12]);
        z.extend_from_slice(&0u32.to_le_bytes());
        z.extend_from_slice(name);
    }
    let cd_len = z.len() - cd_start;
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x02\x00\x02\x00");
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd_start as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

#[test]
fn encrypted_zip_traversal_and_executables_are_blocked() {
    let policy = Policy::default();
    let ppap = build::mark_encrypted(build::zip_of(&[("見積書.xlsx", b"secret")]));
    let o = sanitize_file(&ppap, None, &policy);
    assert!(has(&o, "archive.encrypted"));
    assert_eq!(o.report.verdict, Verdict::Blocked);
    let o = sanitize_file(&build::zip_of(&[("../../etc/passwd", b"x")]), None, &policy);
    assert!(has(&o, "archive.path-traversal"), "{:?}", codes(&o));
    let o = sanitize_file(b"MZ\x90\x00\x03", Some("invoice.pdf"), &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    let o = sanitize_file(b"echo hi", Some("請求書.pdf.exe"), &policy);
    assert!(has(&o, "file.name.double-extension"));
    let o = sanitize_file(b"WScript.Echo 1", Some("a.vbs"), &policy);
    assert!(has(&o, "file.name.dangerous-extension"));
    let o = sanitize_file(
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>x</script></svg>",
        None,
        &policy,
    );
    assert_eq!(o.report.verdict, Verdict::Blocked);
}

#[test]
fn text_csv_and_html_files() {
    let policy = Policy::default();
    let sjis = encoding_rs::SHIFT_JIS
        .encode("氏名,金額\r\n山田,=1+2\r\n佐藤,-300\r\n鈴木,@SUM(A1)\r\n")
        .0
        .into_owned();
    let o = sanitize_file(&sjis, Some("一覧.csv"), &policy);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    let out = String::from_utf8(o.output.clone().unwrap()).unwrap();
    assert!(
        out.contains("'=1+2") && out.contains("'@SUM(A1)") && out.contains(",-300"),
        "{out}"
    );
    assert!(has(&o, "text.charset"));
    let o = sanitize_file("ただのテキストです。".as_bytes(), Some("memo.txt"), &policy);
    assert_eq!(o.report.verdict, Verdict::Clean);
    let o = sanitize_file(
        b"<html><body><p>hi</p><script>evil()</script></body></html>",
        Some("a.html"),
        &policy,
    );
    let out = String::from_utf8(o.output.unwrap()).unwrap();
    assert_eq!(out.trim(), "hi");
    let o = sanitize_file(b"%PDF-1.4 fake", Some("a.txt"), &policy);
    assert!(has(&o, "file.name.mismatch") || o.report.verdict == Verdict::Blocked);
}

#[test]
fn ole_documents_with_macros_are_blocked_and_clean_ones_pass() {
    let make = |streams: &[&str]| {
        let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for s in streams {
            if let Some((dir, _)) = s.rsplit_once('/') {
                c.create_storage_all(dir).unwrap();
            }
            let mut st = c.create_stream(s).unwrap();
            std::io::Write::write_all(&mut st, &[0u8; 64]).unwrap();
        }
        c.flush().unwrap();
        c.into_inner().into_inner()
    };
    let policy = Policy::default();
    let clean = make(&["/WordDocument", "/1Table"]);
    let o = sanitize_file(&clean, Some("a.doc"), &policy);
    assert_eq!(o.report.verdict, Verdict::Clean, "{:?}", o.report);
    let macro_doc = make(&["/WordDocument", "/Macros/VBA/dir", "/Macros/PROJECT"]);
    let o = sanitize_file(&macro_doc, Some("a.doc"), &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(has(&o, "ole.macros"));
    let obj = make(&["/WordDocument", "/ObjectPool/_1/\u{1}Ole10Native"]);
    let o = sanitize_file(&obj, Some("a.doc"), &policy);
    assert!(has(&o, "ole.objects"), "{:?}", codes(&o));
}

#[test]
fn ole_documents_with_macros_or_objects_are_converted_to_text_by_policy() {
    let doc = build::word_doc(
        "防災訓練のお知らせ\r日時\u{7}10月1日\u{7}\u{13} DDEAUTO cmd \u{14}結果\u{15}\r",
        &[
            "/Macros/VBA/dir",
            "/Macros/PROJECT",
            "/ObjectPool/_1/\u{1}Ole10Native",
        ],
    );
    // Default: blocked.
    let o = sanitize_file(&doc, Some("通知.doc"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(o.output.is_none());
    // `sanitize` for macros and objects: the text, nothing else.
    let mut policy = Policy::default();
    policy.ole.macros = mamori_sanitize::policy::Rule::Sanitize;
    policy.ole.objects = mamori_sanitize::policy::Rule::Sanitize;
    let o = sanitize_file(&doc, Some("通知.doc"), &policy);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    assert_eq!(o.report.output.as_ref().unwrap().kind, "text");
    for c in ["ole.macros", "ole.objects", "ole.converted-to-text"] {
        assert!(has(&o, c), "missing {c}: {:?}", codes(&o));
    }
    let text = String::from_utf8(o.output.unwrap()).unwrap();
    assert_eq!(text, "防災訓練のお知らせ\r\n日時\t10月1日\t結果\r\n");
    assert_eq!(
        mamori_sanitize::detect::detect(text.as_bytes()),
        mamori_sanitize::detect::Kind::Text
    );
    // Excel and PowerPoint documents the same way.
    let xls = build::excel_doc("予定表", "避難訓練", &["/_VBA_PROJECT_CUR/VBA/dir"]);
    let o = sanitize_file(&xls, Some("予定.xls"), &policy);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    let text = String::from_utf8(o.output.unwrap()).unwrap();
    assert!(
        text.contains("予定表") && text.contains("避難訓練\t42"),
        "{text}"
    );
    let ppt = build::powerpoint_doc("説明会\r会場", &["/Macros/VBA/dir"]);
    let o = sanitize_file(&ppt, Some("説明.ppt"), &policy);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    assert_eq!(
        String::from_utf8(o.output.unwrap()).unwrap(),
        "説明会\r\n会場\r\n"
    );
    // Only one construct converted, the other still blocked: blocked.
    policy.ole.objects = mamori_sanitize::policy::Rule::Block;
    let o = sanitize_file(&doc, Some("通知.doc"), &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    // A compound file that is no Word, Excel or PowerPoint document cannot be converted.
    let other = build::word_doc("x", &["/Macros/VBA/dir"]);
    let mut broken = other.clone();
    let at = broken.windows(2).position(|w| w == [0xEC, 0xA5]).unwrap();
    broken[at] = 0;
    policy.ole.objects = mamori_sanitize::policy::Rule::Sanitize;
    let o = sanitize_file(&broken, Some("x.doc"), &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked, "{:?}", o.report);
    assert!(has(&o, "ole.text-failed"), "{:?}", codes(&o));
}

#[test]
fn svg_is_rasterised_to_png_by_policy_without_reading_anything_outside() {
    // A green picture on disk that the SVG tries to pull in by its path (a drawing library left
    // to itself reads such files).
    let dir = std::env::temp_dir().join(format!("mamori-svg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let outside = dir.join("outside.svg");
    std::fs::write(
        &outside,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="lime"/></svg>"#,
    )
    .unwrap();
    let svg = format!(
        r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20"><script>alert(1)</script><rect width="20" height="20" fill="red" onclick="evil()"/><image x="20" y="0" width="20" height="20" xlink:href="{}"/><a href="https://evil.example.com/"><rect x="0" y="0" width="1" height="1" fill="blue"/></a></svg>"#,
        outside.display()
    );
    // Default: blocked.
    let o = sanitize_file(svg.as_bytes(), Some("logo.svg"), &Policy::default());
    assert_eq!(o.report.verdict, Verdict::Blocked);
    let mut policy = Policy::default();
    policy.files.svg = mamori_sanitize::policy::Rule::Sanitize;
    let o = sanitize_file(svg.as_bytes(), Some("logo.svg"), &policy);
    assert_eq!(o.report.verdict, Verdict::Sanitized, "{:?}", o.report);
    assert!(has(&o, "svg.rasterized"), "{:?}", codes(&o));
    assert_eq!(o.report.output.as_ref().unwrap().kind, "png");
    let png = o.output.unwrap();
    assert_eq!(
        mamori_sanitize::detect::detect(&png),
        mamori_sanitize::detect::Kind::Png
    );
    let img = image::load_from_memory(&png).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (40, 20));
    assert_eq!(img.get_pixel(10, 10).0, [255, 0, 0, 255]);
    // The file on disk was not drawn.
    assert_eq!(img.get_pixel(30, 10).0[3], 0, "{:?}", img.get_pixel(30, 10));
    std::fs::remove_dir_all(&dir).unwrap();

    // Too large a canvas, and broken markup: blocked.
    let huge = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>"#;
    let o = sanitize_file(huge.as_bytes(), Some("a.svg"), &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(has(&o, "limit.image-pixels"), "{:?}", codes(&o));
    let broken = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect"#;
    let o = sanitize_file(broken.as_bytes(), Some("a.svg"), &policy);
    assert_eq!(o.report.verdict, Verdict::Blocked);
    assert!(o.output.is_none());
}

#[test]
fn every_byte_prefix_of_small_inputs_is_handled() {
    let policy = Policy::default();
    let inputs = [build::docm(), build::png(), build::dangerous_pdf(true)];
    for input in &inputs {
        for cut in (0..input.len()).step_by(97) {
            let o = sanitize_file(&input[..cut], None, &policy);
            if o.report.verdict == Verdict::Blocked {
                assert!(o.output.is_none());
                assert!(o.report.block_reason().is_some());
            }
        }
    }
}
