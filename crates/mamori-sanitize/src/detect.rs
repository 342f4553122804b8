//! File type decided by content, never by name. The name is only compared with the content so a
//! mismatch (a PDF named `.txt`, an executable named `.jpg`) can be flagged.

/// What a byte string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PDF.
    Pdf,
    /// An OOXML package; the string is the conventional extension (`docx`, `xlsm`, …).
    Ooxml(&'static str),
    /// A password-protected OOXML package (an OLE container holding `EncryptedPackage`).
    EncryptedOoxml,
    /// Plain zip.
    Zip,
    /// OpenDocument (zip with a `mimetype` entry).
    OpenDocument,
    /// Legacy OLE compound file.
    Ole,
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// GIF.
    Gif,
    /// BMP.
    Bmp,
    /// WebP.
    Webp,
    /// SVG.
    Svg,
    /// Another archive or disk image format (blocked by default).
    OtherArchive(&'static str),
    /// Executable code or a shortcut.
    Executable(&'static str),
    /// RTF (can carry OLE objects).
    Rtf,
    /// HTML.
    Html,
    /// CSV or TSV text.
    Csv,
    /// Plain text.
    Text,
    /// Not recognised.
    Unknown,
}

impl Kind {
    /// Short name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Ooxml(e) => e,
            Kind::EncryptedOoxml => "encrypted-ooxml",
            Kind::Zip => "zip",
            Kind::OpenDocument => "opendocument",
            Kind::Ole => "ole",
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Gif => "gif",
            Kind::Bmp => "bmp",
            Kind::Webp => "webp",
            Kind::Svg => "svg",
            Kind::OtherArchive(n) | Kind::Executable(n) => n,
            Kind::Rtf => "rtf",
            Kind::Html => "html",
            Kind::Csv => "csv",
            Kind::Text => "text",
            Kind::Unknown => "unknown",
        }
    }

    /// File name extensions that fit this content.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Pdf => &["pdf"],
            Kind::Ooxml("docx" | "docm") => &["docx", "docm", "dotx", "dotm"],
            Kind::Ooxml("xlsx" | "xlsm") => &["xlsx", "xlsm", "xltx", "xltm", "xlam"],
            Kind::Ooxml("pptx" | "pptm") => &["pptx", "pptm", "ppsx", "ppsm", "potx", "potm"],
            Kind::Ooxml(_) => &["docx", "xlsx", "pptx", "vsdx"],
            Kind::EncryptedOoxml => &["docx", "xlsx", "pptx", "docm", "xlsm", "pptm"],
            Kind::Zip => &["zip"],
            Kind::OpenDocument => &["odt", "ods", "odp", "odg"],
            Kind::Ole => &["doc", "xls", "ppt", "dot", "xlt", "pot", "msg", "pps"],
            Kind::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Kind::Png => &["png"],
            Kind::Gif => &["gif"],
            Kind::Bmp => &["bmp", "dib"],
            Kind::Webp => &["webp"],
            Kind::Svg => &["svg"],
            Kind::Rtf => &["rtf", "doc"],
            Kind::Html => &["html", "htm", "xhtml"],
            Kind::Csv => &["csv", "tsv", "txt"],
            Kind::Text => &[
                "txt", "text", "log", "md", "csv", "tsv", "xml", "json", "ini", "eml",
            ],
            Kind::OtherArchive(_) | Kind::Executable(_) | Kind::Unknown => &[],
        }
    }
}

/// Extensions that run code when opened on Windows; a name ending in one of them is blocked
/// whatever the content looks like (scripts are plain text).
pub const DANGEROUS_EXTENSIONS: &[&str] = &[
    "exe",
    "scr",
    "com",
    "pif",
    "bat",
    "cmd",
    "js",
    "jse",
    "vbs",
    "vbe",
    "wsf",
    "wsh",
    "ps1",
    "psm1",
    "hta",
    "lnk",
    "msi",
    "msp",
    "jar",
    "cpl",
    "reg",
    "dll",
    "chm",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "one",
    "application",
    "gadget",
    "inf",
    "sct",
    "url",
    "website",
    "appref-ms",
    "library-ms",
    "settingcontent-ms",
    "xll",
    "xlam",
    "ppam",
    "mht",
    "mhtml",
    "svgz",
];

/// Extension of a file name, lower case.
pub fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let trimmed = base.trim_end_matches(['.', ' ']);
    trimmed
        .rsplit_once('.')
        .map(|(_, e)| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e.len() <= 20)
}

/// True when a name hides its real extension behind another one (`請求書.pdf.exe`, `a.doc  .js`).
pub fn has_double_extension(name: &str) -> bool {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let parts: Vec<&str> = base.split('.').collect();
    if parts.len() < 3 {
        return false;
    }
    let last = parts
        .last()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let prev = parts
        .get(parts.len() - 2)
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let doc_like = [
        "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "jpg", "jpeg", "png", "gif",
        "zip", "csv", "rtf",
    ];
    DANGEROUS_EXTENSIONS.contains(&last.as_str()) && doc_like.contains(&prev.as_str())
}

fn starts(b: &[u8], magic: &[u8]) -> bool {
    b.starts_with(magic)
}

/// Decides the kind of `bytes`. Zip-based formats look at the entry names only, never content.
///
/// What the first bytes say comes first: a zip whose first entry is a stored PDF, or an
/// executable with `%PDF-` in its first kilobyte, is a zip or an executable. A PDF that starts
/// after other bytes (readers accept up to 1 KB before `%PDF-`) is recognised only when no other
/// format claims the start.
pub fn detect(bytes: &[u8]) -> Kind {
    let head = bytes.get(..1024).unwrap_or(bytes);
    if starts(bytes, b"%PDF-") {
        return Kind::Pdf;
    }
    if starts(bytes, b"PK\x03\x04") || starts(bytes, b"PK\x05\x06") {
        return detect_zip(bytes);
    }
    if starts(bytes, &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return if ole_has_stream(bytes, "EncryptedPackage") {
            Kind::EncryptedOoxml
        } else {
            Kind::Ole
        };
    }
    if starts(bytes, &[0xFF, 0xD8, 0xFF]) {
        return Kind::Jpeg;
    }
    if starts(bytes, b"\x89PNG\r\n\x1a\n") {
        return Kind::Png;
    }
    if starts(bytes, b"GIF87a") || starts(bytes, b"GIF89a") {
        return Kind::Gif;
    }
    if starts(bytes, b"BM") && bytes.len() > 26 {
        return Kind::Bmp;
    }
    if starts(bytes, b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Kind::Webp;
    }
    if starts(bytes, b"MZ") {
        return Kind::Executable("pe");
    }
    if starts(bytes, b"\x7fELF") {
        return Kind::Executable("elf");
    }
    if starts(bytes, &[0xCF, 0xFA, 0xED, 0xFE]) || starts(bytes, &[0xCA, 0xFE, 0xBA, 0xBE]) {
        return Kind::Executable("mach-o");
    }
    if starts(bytes, &[0x4C, 0, 0, 0, 0x01, 0x14, 0x02, 0]) {
        return Kind::Executable("lnk");
    }
    if starts(bytes, b"#!") {
        return Kind::Executable("script");
    }
    if starts(bytes, b"{\\rt") {
        return Kind::Rtf;
    }
    let archives: &[(&[u8], &str)] = &[
        (&[0x1F, 0x8B], "gzip"),
        (b"7z\xBC\xAF\x27\x1C", "7z"),
        (b"Rar!\x1A\x07", "rar"),
        (b"BZh", "bzip2"),
        (&[0xFD, b'7', b'z', b'X', b'Z', 0], "xz"),
        (b"MSCF", "cab"),
        (&[0x28, 0xB5, 0x2F, 0xFD], "zstd"),
        (b"xar!", "xar"),
        (b"conectix", "vhd"),
        (b"vhdxfile", "vhdx"),
        // Outlook's winmail.dat (TNEF): its signature 0x223E9F78, little-endian.
        (&[0x78, 0x9F, 0x3E, 0x22], "tnef"),
    ];
    for (magic, name) in archives {
        if starts(bytes, magic) {
            return Kind::OtherArchive(name);
        }
    }
    if bytes.get(2..5) == Some(b"-lh") || bytes.get(2..5) == Some(b"-lz") {
        return Kind::OtherArchive("lzh");
    }
    if bytes.get(257..262) == Some(b"ustar") {
        return Kind::OtherArchive("tar");
    }
    if bytes.get(0x8001..0x8006) == Some(b"CD001") {
        return Kind::OtherArchive("iso");
    }
    // The generic detector also finds a PDF marker anywhere in the first kilobyte (and files it
    // under archives); its application matchers come before that one.
    let inferred = infer::get(head).filter(|t| t.mime_type() != "application/pdf");
    if let Some(t) = inferred {
        // Anything the generic detector knows as an archive or application is not a document
        // we can rebuild.
        match t.matcher_type() {
            infer::MatcherType::Archive | infer::MatcherType::App => {
                return Kind::OtherArchive("archive");
            }
            infer::MatcherType::Audio | infer::MatcherType::Video | infer::MatcherType::Font => {
                return Kind::Unknown;
            }
            _ => {}
        }
    }
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Kind::Pdf;
    }
    detect_text(bytes)
}

fn detect_text(bytes: &[u8]) -> Kind {
    let utf16 = starts(bytes, &[0xFF, 0xFE]) || starts(bytes, &[0xFE, 0xFF]);
    if !utf16 && bytes.contains(&0) {
        return Kind::Unknown;
    }
    let sample = crate::charset::decode(bytes.get(..64 * 1024).unwrap_or(bytes), None);
    let text = sample.text.trim_start_matches('\u{feff}').trim_start();
    let control = text
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{1b}' | '\u{c}'))
        .count();
    if control * 100 > text.chars().count().max(1) {
        return Kind::Unknown;
    }
    let lower: String = text.chars().take(512).collect::<String>().to_lowercase();
    if lower.contains("<svg") {
        return Kind::Svg;
    }
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body")
    {
        return Kind::Html;
    }
    if looks_csv(text) {
        return Kind::Csv;
    }
    Kind::Text
}

fn looks_csv(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).take(20).collect();
    if lines.len() < 2 {
        return false;
    }
    for sep in [',', '\t'] {
        let first = lines.first().map_or(0, |l| l.matches(sep).count());
        if first > 0 && lines.iter().all(|l| l.matches(sep).count() == first) {
            return true;
        }
    }
    false
}

fn detect_zip(bytes: &[u8]) -> Kind {
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Kind::Zip;
    };
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    if names.iter().any(|n| n == "mimetype") && names.iter().any(|n| n == "content.xml") {
        return Kind::OpenDocument;
    }
    if !names.iter().any(|n| n == "[Content_Types].xml") {
        return Kind::Zip;
    }
    // Macros by part name, or by the content types the package declares (a VBA project can be
    // stored under any name; the macro-enabled main part types name docm/xlsm/pptm).
    let has_vba = names
        .iter()
        .any(|n| n.to_ascii_lowercase().ends_with("vbaproject.bin"))
        || declares_macros(&mut archive);
    if names.iter().any(|n| n.starts_with("word/")) {
        Kind::Ooxml(if has_vba { "docm" } else { "docx" })
    } else if names.iter().any(|n| n.starts_with("xl/")) {
        Kind::Ooxml(
            if has_vba || names.iter().any(|n| n.starts_with("xl/macrosheets/")) {
                "xlsm"
            } else {
                "xlsx"
            },
        )
    } else if names.iter().any(|n| n.starts_with("ppt/")) {
        Kind::Ooxml(if has_vba { "pptm" } else { "pptx" })
    } else {
        Kind::Ooxml("ooxml")
    }
}

/// Whether `[Content_Types].xml` (read up to 1 MiB) declares a VBA project, a macro sheet or a
/// macro-enabled main part.
fn declares_macros(archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>) -> bool {
    use std::io::Read as _;
    let Ok(entry) = archive.by_name("[Content_Types].xml") else {
        return false;
    };
    let mut xml = Vec::new();
    if entry.take(1 << 20).read_to_end(&mut xml).is_err() {
        return false;
    }
    let lower = xml.to_ascii_lowercase();
    [&b"vbaproject"[..], b"macroenabled", b"macrosheet"]
        .iter()
        .any(|needle| memchr::memmem::find(&lower, needle).is_some())
}

fn ole_has_stream(bytes: &[u8], name: &str) -> bool {
    cfb::CompoundFile::open(std::io::Cursor::new(bytes))
        .map(|c| c.walk().any(|e| e.name() == name))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(b"%PDF-1.7\n"), Kind::Pdf);
        assert_eq!(detect(b"MZ\x90\x00"), Kind::Executable("pe"));
        assert_eq!(detect("名前,住所\n山田,甲府\n".as_bytes()), Kind::Csv);
        assert_eq!(detect("こんにちは".as_bytes()), Kind::Text);
        assert_eq!(detect(b"<!DOCTYPE html><html></html>"), Kind::Html);
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?><svg xmlns=\"x\"/>"),
            Kind::Svg
        );
        assert_eq!(detect(&[0x1F, 0x8B, 8, 0]), Kind::OtherArchive("gzip"));
        assert_eq!(
            detect(b"\x78\x9f\x3e\x22\x01\x00"),
            Kind::OtherArchive("tnef")
        );
    }

    #[test]
    fn the_first_bytes_win_over_a_pdf_marker_further_in() {
        // A PDF may start after other bytes.
        assert_eq!(detect(b"garbage before\r\n%PDF-1.4\n"), Kind::Pdf);
        // An executable or a zip with `%PDF-` inside its first kilobyte is not a PDF.
        let mut exe = b"MZ\x90\x00".to_vec();
        exe.extend_from_slice(&[0; 60]);
        exe.extend_from_slice(b"%PDF-1.7 polyglot");
        assert_eq!(detect(&exe), Kind::Executable("pe"));
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[0; 26]);
        zip.extend_from_slice(b"a.pdf%PDF-1.4 stored");
        assert_eq!(detect(&zip), Kind::Zip);
        let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        ole.extend_from_slice(&[0; 504]);
        ole.extend_from_slice(b"%PDF-1.4");
        assert_eq!(detect(&ole), Kind::Ole);
    }

    #[test]
    fn names() {
        assert!(has_double_extension("請求書.pdf.exe"));
        assert!(has_double_extension("a.doc .js"));
        assert!(!has_double_extension("report.v2.pdf"));
        assert_eq!(extension("資料.PDF").as_deref(), Some("pdf"));
    }
}
