//! "Network as code": reading a [`Network`] from TOML (or the web app's JSON) with precise
//! positions for every error, and writing it back.
//!
//! Syntax and type errors come from the TOML reader with a byte span; integrity errors
//! ([`Network::validate`]) come with an element path, which is mapped back to the span of the
//! offending value by a second, position-keeping parse that only runs when there is an error.

use std::ops::Range;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use crate::error::{Diagnostic, InputError, Location, check_size};
use crate::model::{Flow, Gateway, Host, Network, NetworkInfo, OutsidePlace, Segment};
use crate::rules::Rule;
use crate::validate::Issue;

/// Reads a network description from TOML text. `file` is only used in error positions.
pub fn parse_toml(src: &str, file: &str) -> Result<Network, InputError> {
    check_size(file, src.len())?;
    let net = if src.len() > CHUNKED_ABOVE {
        parse_chunked(src, file)?
    } else {
        toml::from_str::<Network>(src).map_err(|e| {
            let location = e.span().map(|s| Location::at(file, src, s.start));
            InputError::one(location, "", toml_message(&e))
        })?
    };
    let issues = net.validate();
    if issues.is_empty() {
        return Ok(net);
    }
    let doc = DeTable::parse(src).ok();
    let diagnostics = issues
        .iter()
        .map(|issue| {
            let span = doc.as_ref().and_then(|d| span_of(d.get_ref(), issue));
            Diagnostic {
                location: span.map(|s| Location::at(file, src, s.start)),
                path: issue.path(),
                message: issue.message.clone(),
            }
        })
        .collect();
    Err(InputError { diagnostics })
}

/// Files above this size are read in pieces (see [`parse_chunked`]).
const CHUNKED_ABOVE: usize = 1024 * 1024;
/// Array tables per piece.
const TABLES_PER_CHUNK: usize = 2_000;

/// One piece of a large file: any run of whole top-level tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Chunk {
    network: Option<NetworkInfo>,
    #[serde(default)]
    segment: Vec<Segment>,
    #[serde(default)]
    host: Vec<Host>,
    #[serde(default)]
    gateway: Vec<Gateway>,
    #[serde(default)]
    outside: Vec<OutsidePlace>,
    #[serde(default)]
    flow: Vec<Flow>,
    #[serde(default)]
    rule: Vec<Rule>,
}

/// Reads a large file a few thousand tables at a time. The TOML reader keeps a tree of the
/// whole document with positions; for 100,000 flows that tree is several times the model, so
/// reading in pieces bounds the peak memory. Pieces are cut only before a line that is exactly
/// an array-table header (`[[flow]]`) outside a multi-line string, which is always the start of
/// a new top-level table, so the result is the same as reading the file whole.
fn parse_chunked(src: &str, file: &str) -> Result<Network, InputError> {
    let mut info: Option<(NetworkInfo, usize)> = None;
    // The `[network]` table replaces this placeholder once its piece is read.
    let mut net = Network::new("", crate::model::NetworkModel::Alpha);
    for (offset, piece) in chunks(src) {
        let chunk: Chunk = toml::from_str(piece).map_err(|e| {
            let location = e.span().map(|s| Location::at(file, src, offset + s.start));
            InputError::one(location, "", toml_message(&e))
        })?;
        if let Some(n) = chunk.network {
            if info.is_some() {
                let at = piece.find("[network]").map_or(offset, |i| offset + i);
                return Err(InputError::one(
                    Some(Location::at(file, src, at)),
                    "",
                    "TOMLとして読めません: [network] が2回書かれています",
                ));
            }
            info = Some((n, offset));
        }
        net.segments.extend(chunk.segment);
        net.hosts.extend(chunk.host);
        net.gateways.extend(chunk.gateway);
        net.outside.extend(chunk.outside);
        net.flows.extend(chunk.flow);
        net.rules.extend(chunk.rule);
    }
    match info {
        Some((n, _)) => net.network = n,
        None => {
            return Err(InputError::one(
                Some(Location::at(file, src, 0)),
                "",
                "TOMLとして読めません: missing field `network`",
            ));
        }
    }
    Ok(net)
}

/// Cuts a document before array-table headers, every [`TABLES_PER_CHUNK`] tables.
fn chunks(src: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut tables = 0usize;
    let mut in_basic = false;
    let mut in_literal = false;
    let mut offset = 0usize;
    for line in src.split_inclusive('\n') {
        let t = line.trim();
        let header = !in_basic
            && !in_literal
            && t.starts_with("[[")
            && t.split('#').next().is_some_and(|h| {
                let h = h.trim();
                h.ends_with("]]")
                    && h.get(2..h.len().saturating_sub(2)).is_some_and(|name| {
                        !name.is_empty()
                            && name
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    })
            });
        if header {
            tables += 1;
            if tables > TABLES_PER_CHUNK && offset > start {
                if let Some(piece) = src.get(start..offset) {
                    out.push((start, piece));
                }
                start = offset;
                tables = 1;
            }
        }
        if line.matches("\"\"\"").count() % 2 == 1 {
            in_basic = !in_basic;
        }
        if line.matches("'''").count() % 2 == 1 {
            in_literal = !in_literal;
        }
        offset += line.len();
    }
    if let Some(piece) = src.get(start..) {
        out.push((start, piece));
    }
    out
}

/// Reads a network description from the JSON the web app stores (same shape as the TOML).
pub fn parse_json(src: &str, file: &str) -> Result<Network, InputError> {
    check_size(file, src.len())?;
    let net: Network = serde_json::from_str(src).map_err(|e| {
        let location = Location {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
        };
        InputError::one(Some(location), "", e.to_string())
    })?;
    let issues = net.validate();
    if issues.is_empty() {
        return Ok(net);
    }
    Err(InputError {
        diagnostics: issues
            .iter()
            .map(|i| Diagnostic {
                location: None,
                path: i.path(),
                message: i.message.clone(),
            })
            .collect(),
    })
}

/// Writes a network description as TOML that [`parse_toml`] reads back to the same value.
pub fn to_toml(net: &Network) -> Result<String, toml::ser::Error> {
    toml::to_string(net)
}

/// Writes a network description as JSON (what the web app stores).
pub fn to_json(net: &Network) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(net)
}

/// Points the violations of a report at the lines of the TOML file the network was read from
/// (flows, hosts, gateways and segments; firewall violations already carry their own).
/// Skipped for files above 1 MiB, where the position-keeping parse would cost more memory than
/// the check itself.
pub fn locate_violations(src: &str, file: &str, net: &Network, report: &mut crate::Report) {
    use std::collections::HashMap;

    use crate::report::ElementKind;

    if src.len() > CHUNKED_ABOVE || report.violations.iter().all(|v| v.location.is_some()) {
        return;
    }
    let Ok(doc) = DeTable::parse(src) else { return };
    let mut index: HashMap<(ElementKind, String), (&'static str, usize)> = HashMap::new();
    for (i, f) in net.flows.iter().enumerate() {
        index
            .entry((ElementKind::Flow, f.display_name()))
            .or_insert(("flow", i));
    }
    for (i, h) in net.hosts.iter().enumerate() {
        index
            .entry((ElementKind::Host, h.name.clone()))
            .or_insert(("host", i));
    }
    for (i, g) in net.gateways.iter().enumerate() {
        index
            .entry((ElementKind::Gateway, g.name.clone()))
            .or_insert(("gateway", i));
    }
    for (i, sg) in net.segments.iter().enumerate() {
        index
            .entry((ElementKind::Segment, sg.name.clone()))
            .or_insert(("segment", i));
    }
    for v in report
        .violations
        .iter_mut()
        .filter(|v| v.location.is_none())
    {
        // A pair of overlapping segments is located at the first of the two.
        let name = match v.element.kind {
            ElementKind::Segment => v.element.name.split(" / ").next().unwrap_or("").to_owned(),
            _ => v.element.name.clone(),
        };
        let Some(&(section, i)) = index.get(&(v.element.kind, name)) else {
            continue;
        };
        let field = if section == "flow" { "from" } else { "name" };
        let issue = Issue {
            section,
            index: i,
            field,
            message: String::new(),
        };
        if let Some(span) = span_of(doc.get_ref(), &issue) {
            v.location = Some(Location::at(file, src, span.start));
        }
    }
}

/// The TOML reader's message without its own rendering of the source line (we print positions
/// ourselves), first letter kept as is.
fn toml_message(e: &toml::de::Error) -> String {
    let msg = e.message().trim();
    format!("TOMLとして読めません: {msg}")
}

fn span_of(doc: &DeTable<'_>, issue: &Issue) -> Option<Range<usize>> {
    let (_, section) = doc
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == issue.section)?;
    let element = match section.get_ref() {
        DeValue::Array(items) => items.get(issue.index)?,
        DeValue::Table(_) => section,
        _ => return Some(section.span()),
    };
    if issue.field.is_empty() {
        return Some(element.span());
    }
    let DeValue::Table(table) = element.get_ref() else {
        return Some(element.span());
    };
    match table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == issue.field)
    {
        Some((_, value)) => match (value.get_ref(), issue.section) {
            // `direct_services[i]` is reported on the list item itself.
            (DeValue::Array(items), "network") => items
                .get(issue.index)
                .map(|v| v.span())
                .or(Some(value.span())),
            _ => Some(value.span()),
        },
        None => table
            .iter()
            .next()
            .map(|(k, _)| k.span())
            .or(Some(element.span())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    const SMALL: &str = r#"
[network]
name = "テスト"
model = "alpha"

[[segment]]
name = "LGWAN端末"
zone = "LGWAN接続系"
cidr = "10.20.1.0/24"

[[host]]
name = "端末1"
kind = "terminal"
zone = "lgwan"
addresses = ["10.20.1.10"]
"#;

    fn err(src: &str) -> InputError {
        parse_toml(src, "n.toml").unwrap_err()
    }

    fn first(src: &str) -> (usize, usize, String) {
        let e = err(src);
        let d = &e.diagnostics[0];
        let loc = d.location.clone().unwrap();
        (loc.line, loc.column, d.message.clone())
    }

    #[test]
    fn small_network_reads_and_round_trips() {
        let net = parse_toml(SMALL, "n.toml").unwrap();
        assert_eq!(net.hosts.len(), 1);
        let again = parse_toml(&to_toml(&net).unwrap(), "again.toml").unwrap();
        assert_eq!(again, net);
        let json = parse_json(&to_json(&net).unwrap(), "n.json").unwrap();
        assert_eq!(json, net);
    }

    #[test]
    fn bad_cidr_is_reported_at_its_value() {
        let src = SMALL.replace("10.20.1.0/24", "10.0.0.0/33");
        let (line, col, msg) = first(&src);
        assert_eq!((line, col), (9, 8), "{msg}");
        assert!(msg.contains("10.0.0.0/33") && msg.contains("CIDR"), "{msg}");
    }

    #[test]
    fn unknown_zone_names_line_and_column() {
        let src = SMALL.replace("zone = \"lgwan\"", "zone = \"DMZ\"");
        let (line, col, msg) = first(&src);
        assert_eq!((line, col), (14, 8));
        assert!(msg.contains("DMZ"), "{msg}");
    }

    #[test]
    fn wrong_type_and_syntax_errors_have_positions() {
        let (line, _, _) = first(&SMALL.replace("addresses = [\"10.20.1.10\"]", "addresses = 5"));
        assert_eq!(line, 15);
        let (line, _, _) = first(&SMALL.replace("model = \"alpha\"", "model = "));
        assert_eq!(line, 4);
        let (line, _, msg) = first(&SMALL.replace("model = \"alpha\"", "model = \"gamma\""));
        assert_eq!(line, 4);
        assert!(msg.contains("gamma"));
    }

    #[test]
    fn duplicate_name_and_dangling_reference_point_at_the_value() {
        let src = format!(
            "{SMALL}\n[[host]]\nname = \"端末1\"\nkind = \"server\"\nzone = \"lgwan\"\n\n[[flow]]\nfrom = \"端末1\"\nto = \"host:どこにもない\"\n"
        );
        let e = err(&src);
        assert_eq!(e.diagnostics.len(), 2, "{e}");
        let dup = e.diagnostics[0].location.clone().unwrap();
        assert_eq!((dup.line, dup.column), (18, 8));
        assert!(e.diagnostics[0].message.contains("host[0]"));
        let dangling = e.diagnostics[1].location.clone().unwrap();
        assert_eq!((dangling.line, dangling.column), (24, 6));
    }

    #[test]
    fn large_files_read_in_pieces_give_the_same_network_and_positions() {
        let mut src = SMALL.to_owned();
        for i in 0..6_000 {
            src.push_str(&format!(
                "\n[[host]]\nname = \"h{i}\"\nkind = \"server\"\nzone = \"lgwan\"\ndescription = \"\"\"\n[[host]]\n\"\"\"\n"
            ));
        }
        src.push_str(&"# padding\n".repeat(120_000));
        assert!(src.len() > CHUNKED_ABOVE);
        assert!(chunks(&src).len() > 2);
        let whole: Network = toml::from_str(&src).unwrap();
        assert_eq!(parse_toml(&src, "big.toml").unwrap(), whole);
        // An error deep in the file is reported at its own line.
        let bad = src.replacen("name = \"h5000\"", "name = 5000", 1);
        let line = bad.lines().position(|l| l == "name = 5000").unwrap() + 1;
        let e = parse_toml(&bad, "big.toml").unwrap_err();
        assert_eq!(e.diagnostics[0].location.clone().unwrap().line, line, "{e}");
        let twice = format!("{src}\n[network]\nname = \"x\"\nmodel = \"alpha\"\n");
        assert!(
            parse_toml(&twice, "big.toml")
                .unwrap_err()
                .to_string()
                .contains("[network]")
        );
    }

    #[test]
    fn violations_are_located_in_the_file() {
        let src =
            format!("{SMALL}\n[[flow]]\nname = \"直接\"\nfrom = \"端末1\"\nto = \"internet\"\n");
        let net = parse_toml(&src, "n.toml").unwrap();
        let mut report = crate::check(&net);
        locate_violations(&src, "n.toml", &net, &mut report);
        let loc = report.violations[0].location.clone().unwrap();
        assert_eq!((loc.line, loc.column), (19, 8));
    }

    #[test]
    fn json_from_the_web_app_is_validated_with_element_paths() {
        let mut net = parse_toml(SMALL, "n.toml").unwrap();
        net.hosts.push(net.hosts[0].clone());
        let e = parse_json(&to_json(&net).unwrap(), "n.json").unwrap_err();
        assert_eq!(e.diagnostics[0].path, "host[1].name");
        assert!(e.to_string().starts_with("host[1].name: "), "{e}");
        let e = parse_json(
            "{\"network\": {\"name\": \"x\", \"model\": \"delta\"}}",
            "n.json",
        )
        .unwrap_err();
        assert!(e.to_string().contains("n.json:1:"), "{e}");
        assert_eq!(
            Network::new("空", crate::model::NetworkModel::Beta).validate(),
            vec![]
        );
    }

    #[test]
    fn ipv6_is_accepted() {
        let src = SMALL
            .replace("10.20.1.0/24", "fd00:20:1::/64")
            .replace("10.20.1.10", "fd00:20:1::10");
        assert!(parse_toml(&src, "v6.toml").is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_toml(&src, "deep.toml").is_err());
    }
}
