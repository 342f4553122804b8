//! OOXML packages (docx, xlsx, pptx and their macro variants): parts that carry code or reach
//! outside the file are removed — VBA projects, XLM macro sheets, ActiveX, OLE embeddings,
//! customUI, altChunk, external data — with every relationship to them and every external
//! relationship; DDE fields are emptied; content types are rewritten so a `.docm` becomes a valid
//! `.docx`. The package is then written anew.

use std::collections::BTreeSet;

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesStart, BytesText, Event};

use super::Ctx;
use super::ziparc::{self, Entry};
use crate::policy::{OoxmlPolicy, Rule};
use crate::report::{ActionKind, Findings};

/// The macro-free extension of an OOXML kind.
pub(super) fn output_extension(ext: &str) -> &'static str {
    match ext {
        "docm" | "docx" => "docx",
        "xlsm" | "xlsx" => "xlsx",
        "pptm" | "pptx" => "pptx",
        _ => "ooxml",
    }
}

/// A class of active or outward-pointing parts, removed (or kept, or blocked) by policy.
#[derive(Clone, Copy)]
enum Construct {
    Macros,
    XlmMacros,
    ActiveX,
    OleObjects,
    CustomUi,
    ExternalLinks,
    ExternalData,
}

impl Construct {
    /// The policy rule, the report code and the Japanese description.
    fn rule(self, p: &OoxmlPolicy) -> (Rule, &'static str, &'static str) {
        match self {
            Construct::Macros => (p.macros, "ooxml.macros", "VBA マクロ"),
            Construct::XlmMacros => (p.macros, "ooxml.xlm-macros", "Excel 4.0 (XLM) マクロシート"),
            Construct::ActiveX => (p.activex, "ooxml.activex", "ActiveX コントロール"),
            Construct::OleObjects => (
                p.ole_objects,
                "ooxml.ole-objects",
                "埋め込み OLE オブジェクト・パッケージ",
            ),
            Construct::CustomUi => (p.custom_ui, "ooxml.custom-ui", "リボン定義 (customUI)"),
            Construct::ExternalLinks => (
                p.external_data,
                "ooxml.external-links",
                "外部ブックへのリンク (DDE を含み得る)",
            ),
            Construct::ExternalData => (p.external_data, "ooxml.external-data", "外部データ接続"),
        }
    }
}

/// The construct class of a part by its (lower-case) name.
fn part_class(lower: &str) -> Option<Construct> {
    if lower.contains("vbaproject") || lower.ends_with("vbadata.xml") || lower.contains("/vba/") {
        Some(Construct::Macros)
    } else if lower.starts_with("xl/macrosheets/") || lower.contains("/intlmacrosheets/") {
        Some(Construct::XlmMacros)
    } else if lower.contains("/activex/") {
        Some(Construct::ActiveX)
    } else if lower.contains("/embeddings/") {
        Some(Construct::OleObjects)
    } else if lower.starts_with("customui/") || lower.contains("/customui") {
        Some(Construct::CustomUi)
    } else if lower.starts_with("xl/externallinks/") {
        Some(Construct::ExternalLinks)
    } else if lower == "xl/connections.xml" || lower.starts_with("xl/querytables/") {
        Some(Construct::ExternalData)
    } else {
        None
    }
}

/// The construct class of a part by the type of a relationship pointing to it (the name of a
/// part is free: Office finds a VBA project, a macro sheet or a control by these types).
fn relationship_class(kind_lower: &str) -> Option<Construct> {
    match kind_lower.rsplit('/').next().unwrap_or_default() {
        "vbaproject" | "wordvbadata" => Some(Construct::Macros),
        "xlmacrosheet" | "xlintlmacrosheet" => Some(Construct::XlmMacros),
        "control" | "activexcontrolbinary" => Some(Construct::ActiveX),
        "oleobject" | "package" => Some(Construct::OleObjects),
        "extensibility" if kind_lower.contains("/ui/") => Some(Construct::CustomUi),
        "externallink" => Some(Construct::ExternalLinks),
        "connections" | "querytable" => Some(Construct::ExternalData),
        _ => None,
    }
}

/// The construct class of a part by the content type `[Content_Types].xml` declares for it.
fn content_type_class(ct_lower: &str) -> Option<Construct> {
    if ct_lower.contains("vbaproject") || ct_lower.contains("vbadata") {
        Some(Construct::Macros)
    } else if ct_lower.contains("macrosheet") {
        Some(Construct::XlmMacros)
    } else if ct_lower.contains("activex") {
        Some(Construct::ActiveX)
    } else if ct_lower.contains("oleobject") {
        Some(Construct::OleObjects)
    } else if ct_lower.contains("externallink") {
        Some(Construct::ExternalLinks)
    } else if ct_lower.contains("spreadsheetml.connections") || ct_lower.contains("querytable") {
        Some(Construct::ExternalData)
    } else {
        None
    }
}

/// Content types declared in `[Content_Types].xml`: by part name (overrides, names without the
/// leading `/`, lower case) and by extension (defaults, lower case).
#[derive(Default)]
struct DeclaredTypes {
    overrides: std::collections::BTreeMap<String, String>,
    defaults: std::collections::BTreeMap<String, String>,
}

impl DeclaredTypes {
    fn parse(xml: &[u8]) -> Self {
        let mut t = DeclaredTypes::default();
        let mut reader = Reader::from_reader(xml);
        while let Ok(ev) = reader.read_event() {
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let ct = attr(&e, "ContentType")
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    match e.local_name().as_ref() {
                        "Override" => {
                            if let Some(part) = attr(&e, "PartName") {
                                let part = part.trim_start_matches('/').to_ascii_lowercase();
                                t.overrides.insert(part, ct);
                            }
                        }
                        "Default" => {
                            if let Some(ext) = attr(&e, "Extension") {
                                t.defaults.insert(ext.to_ascii_lowercase(), ct);
                            }
                        }
                        _ => {}
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        t
    }

    fn of(&self, part_lower: &str) -> Option<&str> {
        self.overrides
            .get(part_lower)
            .map(String::as_str)
            .or_else(|| {
                let ext = part_lower.rsplit_once('.').map(|(_, e)| e)?;
                self.defaults.get(ext).map(String::as_str)
            })
    }
}

struct Rel {
    id: String,
    kind: String,
    target: String,
    external: bool,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn parse_rels(xml: &[u8]) -> Option<Vec<Rel>> {
    let mut reader = Reader::from_reader(xml);
    let mut rels = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "Relationship" => {
                rels.push(Rel {
                    id: attr(&e, "Id").unwrap_or_default(),
                    kind: attr(&e, "Type").unwrap_or_default(),
                    target: attr(&e, "Target").unwrap_or_default(),
                    external: attr(&e, "TargetMode")
                        .is_some_and(|m| m.eq_ignore_ascii_case("external")),
                });
            }
            Ok(Event::Eof) => return Some(rels),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn write_rels(rels: &[Rel]) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
    );
    for r in rels {
        s.push_str(&format!(
            "<Relationship Id=\"{}\" Type=\"{}\" Target=\"{}\"{}/>",
            escape(&r.id),
            escape(&r.kind),
            escape(&r.target),
            if r.external {
                " TargetMode=\"External\""
            } else {
                ""
            }
        ));
    }
    s.push_str("</Relationships>");
    s.into_bytes()
}

/// Resolves a relationship target against the folder of the part owning the `.rels` file.
fn resolve(rels_name: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_owned();
    }
    // `word/_rels/document.xml.rels` describes `word/document.xml`; targets are relative to `word/`.
    let base = rels_name
        .rsplit_once("_rels/")
        .map(|(dir, _)| dir)
        .unwrap_or_default();
    let mut parts: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Maps macro-enabled main content types onto their macro-free equivalents.
fn plain_content_type(ct: &str) -> Option<&'static str> {
    Some(match ct {
        "application/vnd.ms-word.document.macroEnabled.main+xml"
        | "application/vnd.ms-word.template.macroEnabledTemplate.main+xml"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml" => {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
        }
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        | "application/vnd.ms-excel.template.macroEnabled.main+xml"
        | "application/vnd.ms-excel.addin.macroEnabled.main+xml"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml" => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
        }
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"
        | "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml"
        | "application/vnd.ms-powerpoint.template.macroEnabled.main+xml"
        | "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml" => {
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
        }
        _ => return None,
    })
}

fn rewrite_content_types(
    xml: &[u8],
    removed: &BTreeSet<String>,
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let mut reader = Reader::from_reader(xml);
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">",
    );
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => match e.local_name().as_ref() {
                "Default" => {
                    let ext = attr(&e, "Extension").unwrap_or_default();
                    let ct = attr(&e, "ContentType").unwrap_or_default();
                    if ct.to_ascii_lowercase().contains("vbaproject") || ct.contains("activeX") {
                        continue;
                    }
                    s.push_str(&format!(
                        "<Default Extension=\"{}\" ContentType=\"{}\"/>",
                        escape(&ext),
                        escape(&ct)
                    ));
                }
                "Override" => {
                    let part = attr(&e, "PartName").unwrap_or_default();
                    let ct = attr(&e, "ContentType").unwrap_or_default();
                    if removed.contains(part.trim_start_matches('/')) {
                        continue;
                    }
                    let ct = match plain_content_type(&ct) {
                        Some(plain) => {
                            findings.push(
                                ActionKind::Converted,
                                "[Content_Types].xml",
                                "ooxml.content-type",
                                "マクロ有効形式の種類をマクロなし形式 (docx/xlsx/pptx) に書き換えました。",
                            );
                            plain.to_owned()
                        }
                        None => ct,
                    };
                    s.push_str(&format!(
                        "<Override PartName=\"{}\" ContentType=\"{}\"/>",
                        escape(&part),
                        escape(&ct)
                    ));
                }
                _ => {}
            },
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    s.push_str("</Types>");
    Some(s.into_bytes())
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn is_dde(text: &[u8]) -> bool {
    let t = String::from_utf8_lossy(text);
    let t = t.trim_start().to_ascii_uppercase();
    t.starts_with("DDE") || t.contains(" DDE ") || t.contains(" DDEAUTO")
}

/// Empties DDE field instructions (Word) and DDE formulas (`app|'topic'!item`, Excel).
/// Returns the rewritten part and how many were emptied, or `None` when it is not valid XML.
fn strip_dde(xml: &[u8]) -> Option<(Vec<u8>, u32)> {
    let mut reader = Reader::from_reader(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    let mut in_instr = false;
    let mut in_formula = false;
    let mut count = 0u32;
    loop {
        let ev = reader.read_event().ok()?;
        match ev {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let local = e.local_name();
                let name = local.as_ref();
                let is_start = matches!(ev, Event::Start(_));
                if name == "instrText" && is_start {
                    in_instr = true;
                }
                if name == "f" && is_start {
                    in_formula = true;
                }
                if name == "fldSimple" && attr(e, "instr").is_some_and(|i| is_dde(i.as_bytes())) {
                    let mut clean = BytesStart::new(e.name().as_ref().to_owned());
                    for a in e.attributes().filter_map(Result::ok) {
                        if a.key.local_name().as_ref() != "instr" {
                            clean.push_attribute(a);
                        }
                    }
                    clean.push_attribute(("w:instr", ""));
                    count += 1;
                    let out = if is_start {
                        Event::Start(clean)
                    } else {
                        Event::Empty(clean)
                    };
                    writer.write_event(out).ok()?;
                    continue;
                }
                writer.write_event(ev.borrow()).ok()?;
            }
            Event::End(ref e) => {
                match e.local_name().as_ref() {
                    "instrText" => in_instr = false,
                    "f" => in_formula = false,
                    _ => {}
                }
                writer.write_event(ev.borrow()).ok()?;
            }
            Event::Text(ref t) => {
                let raw: &[u8] = t.as_ref().as_bytes();
                let dde = (in_instr && is_dde(raw)) || (in_formula && raw.contains(&b'|'));
                if dde {
                    count += 1;
                    writer.write_event(Event::Text(BytesText::new(""))).ok()?;
                } else {
                    writer.write_event(ev.borrow()).ok()?;
                }
            }
            other => writer.write_event(other).ok()?,
        }
    }
    Some((writer.into_inner(), count))
}

/// Sanitises an OOXML package.
pub(super) fn sanitize(
    ctx: &mut Ctx<'_>,
    input: &[u8],
    ext: &str,
    findings: &mut Findings,
) -> Option<Vec<u8>> {
    let entries: Vec<Entry> = ziparc::read_entries(ctx, input, findings)?;
    let p = ctx.policy.ooxml.clone();
    let mut removed: BTreeSet<String> = BTreeSet::new();

    // Each part is classified once: by its name, else by the content type declared for it, else
    // by the type of a relationship that points to it (a VBA project can be stored under any
    // name; Office finds it by the relationship and the content type).
    let declared = entries
        .iter()
        .find(|e| e.name == "[Content_Types].xml")
        .map(|e| DeclaredTypes::parse(&e.data))
        .unwrap_or_default();
    // Every relationship file, parsed once (`None`: not valid XML, blocked below).
    let parsed_rels: Vec<(&str, Option<Vec<Rel>>)> = entries
        .iter()
        .filter(|e| e.name.ends_with(".rels"))
        .map(|e| (e.name.as_str(), parse_rels(&e.data)))
        .collect();
    let mut by_relationship: std::collections::BTreeMap<String, Construct> =
        std::collections::BTreeMap::new();
    for (name, rels) in &parsed_rels {
        for r in rels.iter().flatten().filter(|r| !r.external) {
            if let Some(class) = relationship_class(&r.kind.to_ascii_lowercase()) {
                by_relationship
                    .entry(resolve(name, &r.target).to_ascii_lowercase())
                    .or_insert(class);
            }
        }
    }
    for e in &entries {
        let lower = e.name.to_ascii_lowercase();
        let class = part_class(&lower)
            .or_else(|| declared.of(&lower).and_then(content_type_class))
            .or_else(|| by_relationship.get(&lower).copied());
        if let Some((rule, code, what)) = class.map(|c| c.rule(&p))
            && ctx.construct(findings, rule, &e.name, code, what)
        {
            removed.insert(e.name.clone());
        }
    }
    // Relationships: find altChunk targets and external links, and drop links to removed parts.
    let mut new_rels: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, rels) in parsed_rels {
        let Some(rels) = rels else {
            findings.block(
                name,
                "ooxml.malformed",
                "関係定義 (.rels) を解析できないため遮断しました。",
            );
            return None;
        };
        let mut keep = Vec::with_capacity(rels.len());
        let mut changed = false;
        for r in rels {
            let kind_lower = r.kind.to_ascii_lowercase();
            if r.external {
                let (rule, code, what) = if kind_lower.ends_with("/hyperlink") {
                    (p.hyperlinks, "ooxml.hyperlink", "外部へのハイパーリンク")
                } else if kind_lower.ends_with("/attachedtemplate") {
                    (
                        p.external_relationships,
                        "ooxml.remote-template",
                        "外部テンプレートの参照",
                    )
                } else {
                    (
                        p.external_relationships,
                        "ooxml.external-relationship",
                        "外部を参照する関係 (リンクされたオブジェクト等)",
                    )
                };
                if rule == Rule::Allow {
                    keep.push(r);
                    continue;
                }
                let target = format!("{} ({})", name, crate::links::defang(&r.target));
                ctx.construct(findings, rule, &target, code, what);
                changed = true;
                continue;
            }
            let resolved = resolve(name, &r.target);
            if kind_lower.ends_with("/afchunk")
                && ctx.construct(
                    findings,
                    p.alt_chunk,
                    &resolved,
                    "ooxml.alt-chunk",
                    "altChunk による外部文書の取り込み",
                )
            {
                removed.insert(resolved);
                changed = true;
                continue;
            }
            if removed.contains(&resolved) {
                changed = true;
                continue;
            }
            keep.push(r);
        }
        if changed {
            new_rels.push((name.to_owned(), write_rels(&keep)));
        }
    }
    if findings.is_blocked() {
        return None;
    }
    // Relationship files of removed parts go with them.
    let rels_of_removed: Vec<String> = entries
        .iter()
        .filter(|e| e.name.ends_with(".rels"))
        .filter(|e| {
            let owner = e.name.replacen("_rels/", "", 1);
            let owner = owner.strip_suffix(".rels").unwrap_or(&owner);
            removed.contains(owner)
        })
        .map(|e| e.name.clone())
        .collect();
    removed.extend(rels_of_removed);

    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut content_types: Option<Vec<u8>> = None;
    for e in entries {
        if e.is_dir || removed.contains(&e.name) {
            continue;
        }
        if e.name == "[Content_Types].xml" {
            content_types = rewrite_content_types(&e.data, &removed, findings);
            if content_types.is_none() {
                findings.block(
                    &e.name,
                    "ooxml.malformed",
                    "[Content_Types].xml を解析できないため遮断しました。",
                );
                return None;
            }
            continue;
        }
        if let Some((_, data)) = new_rels.iter().find(|(n, _)| *n == e.name) {
            out.push((e.name, data.clone()));
            continue;
        }
        let lower = e.name.to_ascii_lowercase();
        if lower.ends_with(".xml") && contains_ci(&e.data, b"DDE")
            || lower.ends_with(".xml")
                && lower.starts_with("xl/worksheets/")
                && e.data.contains(&b'|')
        {
            match strip_dde(&e.data) {
                Some((data, n)) if n > 0 => {
                    if ctx.construct(
                        findings,
                        p.dde,
                        &e.name,
                        "ooxml.dde",
                        &format!("DDE フィールド・数式 ({n} 箇所)"),
                    ) {
                        out.push((e.name, data));
                        continue;
                    }
                }
                Some(_) => {}
                None => {
                    findings.block(
                        &e.name,
                        "ooxml.malformed",
                        "XML を解析できないため遮断しました。",
                    );
                    return None;
                }
            }
        }
        out.push((e.name, e.data));
    }
    if findings.is_blocked() {
        return None;
    }
    let Some(ct) = content_types else {
        findings.block("", "ooxml.malformed", "[Content_Types].xml がありません。");
        return None;
    };
    if output_extension(ext) != ext {
        findings.push(
            ActionKind::Converted,
            "",
            "ooxml.macro-free",
            format!(
                "マクロ有効形式 (.{ext}) をマクロなし形式 (.{}) として再構築しました。",
                output_extension(ext)
            ),
        );
    }
    let all = std::iter::once(("[Content_Types].xml", ct.as_slice(), false))
        .chain(out.iter().map(|(n, d)| (n.as_str(), d.as_slice(), false)));
    match ziparc::write_entries(all) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            findings.block(
                "",
                "ooxml.rebuild",
                format!("文書を再構築できません ({e})。"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resolves_targets() {
        assert_eq!(
            resolve("word/_rels/document.xml.rels", "vbaProject.bin"),
            "word/vbaProject.bin"
        );
        assert_eq!(
            resolve("_rels/.rels", "word/document.xml"),
            "word/document.xml"
        );
        assert_eq!(
            resolve("xl/worksheets/_rels/sheet1.xml.rels", "../embeddings/a.bin"),
            "xl/embeddings/a.bin"
        );
        assert_eq!(resolve("x/_rels/a.rels", "/xl/a.xml"), "xl/a.xml");
    }

    #[test]
    fn empties_dde_fields() {
        let xml = br#"<w:document xmlns:w="w"><w:r><w:instrText> DDEAUTO c:\\windows\\system32\\cmd.exe "/k calc"</w:instrText></w:r><w:fldSimple w:instr="DDE cmd x"/></w:document>"#;
        let (out, n) = strip_dde(xml).unwrap();
        assert_eq!(n, 2);
        let s = String::from_utf8(out).unwrap();
        assert!(!s.contains("cmd"), "{s}");
    }
}
