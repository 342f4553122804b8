//! nftables JSON, as printed by `nft -j list ruleset`: tables, chains (with their type and hook),
//! named sets and rules with their handles.

use std::collections::HashMap;

use ipnet::IpNet;
use serde_json::Value;

use super::{Action, AddrMatch, FirewallRule, MAX_RULES, Service, parse_addresses, parse_protocol};
use crate::error::{InputError, Location};
use crate::model::{PortRange, Ports, Protocol};

/// A set's elements, kept as JSON until we know whether they are addresses or ports.
type Sets = HashMap<(String, String, String), Vec<Value>>;

fn s<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn parse(text: &str, file: &str) -> Result<Vec<FirewallRule>, InputError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        let location = Location {
            file: file.to_owned(),
            line: e.line(),
            column: e.column(),
        };
        InputError::one(Some(location), "", format!("JSONとして読めません: {e}"))
    })?;
    let Some(items) = doc.get("nftables").and_then(Value::as_array) else {
        return Err(InputError::one(
            Some(Location {
                file: file.to_owned(),
                line: 1,
                column: 1,
            }),
            "",
            "最上位に \"nftables\" の配列がありません（nft -j list ruleset の出力を渡してください）",
        ));
    };

    let mut sets: Sets = HashMap::new();
    // Type and hook of each chain: nat chains translate, input/output chains guard the firewall
    // itself; neither decides what passes between zones.
    let mut chain_types: HashMap<(String, String, String), (String, String)> = HashMap::new();
    for item in items {
        if let Some(set) = item.get("set") {
            let key = (
                s(set, "family").to_owned(),
                s(set, "table").to_owned(),
                s(set, "name").to_owned(),
            );
            let elems = match set.get("elem") {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => Vec::new(),
            };
            sets.insert(key, elems);
        }
        if let Some(chain) = item.get("chain") {
            let key = (
                s(chain, "family").to_owned(),
                s(chain, "table").to_owned(),
                s(chain, "name").to_owned(),
            );
            chain_types.insert(
                key,
                (s(chain, "type").to_owned(), s(chain, "hook").to_owned()),
            );
        }
    }

    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(rule) = item.get("rule") else {
            continue;
        };
        if rules.len() >= MAX_RULES {
            return Err(InputError::one(
                None,
                &format!("nftables[{i}]"),
                format!("規則が多すぎます（上限 {MAX_RULES} 件）"),
            ));
        }
        let (family, table, chain) = (s(rule, "family"), s(rule, "table"), s(rule, "chain"));
        let handle = rule.get("handle").and_then(Value::as_u64);
        let name = match handle {
            Some(h) => format!("{family} {table} {chain} handle {h}"),
            None => format!("{family} {table} {chain} #{}", i + 1),
        };
        let (ctype, hook) = chain_types
            .get(&(family.to_owned(), table.to_owned(), chain.to_owned()))
            .map_or(("", ""), |(t, h)| (t.as_str(), h.as_str()));
        let parsed = parse_rule(rule, family, table, &sets).map_err(|(j, m)| {
            InputError::one(
                None,
                &format!("nftables[{i}].rule.expr[{j}]"),
                format!("規則 {name}: {m}"),
            )
        })?;
        rules.push(FirewallRule {
            name,
            chain: format!("{family} {table} {chain}"),
            filtering: (ctype.is_empty() || ctype == "filter")
                && hook != "input"
                && hook != "output",
            comment: rule
                .get("comment")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..parsed
        });
    }
    Ok(rules)
}

fn parse_rule(
    rule: &Value,
    family: &str,
    table: &str,
    sets: &Sets,
) -> Result<FirewallRule, (usize, String)> {
    let mut out = FirewallRule {
        name: String::new(),
        location: None,
        chain: String::new(),
        src: AddrMatch::Any,
        dst: AddrMatch::Any,
        services: Vec::new(),
        in_iface: None,
        out_iface: None,
        action: Action::Other,
        established_only: false,
        narrowed: false,
        filtering: true,
        comment: None,
    };
    let mut protocols: Vec<Protocol> = Vec::new();
    let mut ports: Option<Ports> = None;
    let exprs = rule
        .get("expr")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for (j, e) in exprs.iter().enumerate() {
        let Some(obj) = e.as_object() else { continue };
        for (verb, body) in obj {
            match verb.as_str() {
                "match" => {
                    let op = s(body, "op");
                    let (Some(left), Some(right)) = (body.get("left"), body.get("right")) else {
                        return Err((j, "match に left / right がありません".to_owned()));
                    };
                    if op == "!=" {
                        out.narrowed = true;
                        continue;
                    }
                    let elems = expand(right, family, table, sets).map_err(|m| (j, m))?;
                    if let Some(p) = left.get("payload") {
                        let field = s(p, "field");
                        let proto = s(p, "protocol");
                        match field {
                            "saddr" | "daddr" => {
                                let mut nets: Vec<IpNet> = Vec::new();
                                for el in &elems {
                                    nets.extend(address(el).map_err(|m| (j, m))?);
                                }
                                if field == "saddr" {
                                    out.src = AddrMatch::Nets(nets);
                                } else {
                                    out.dst = AddrMatch::Nets(nets);
                                }
                            }
                            "dport" => {
                                if let Some(p) = parse_protocol(proto) {
                                    protocols.push(p);
                                }
                                let mut ranges = Vec::new();
                                for el in &elems {
                                    ranges.push(port(el).map_err(|m| (j, m))?);
                                }
                                ranges.sort();
                                ranges.dedup();
                                ports = Some(Ports::List(ranges));
                            }
                            "protocol" | "nexthdr" => {
                                for el in &elems {
                                    protocols.push(l4(el).map_err(|m| (j, m))?);
                                }
                            }
                            _ => out.narrowed = true,
                        }
                    } else if let Some(meta) = left.get("meta") {
                        match s(meta, "key") {
                            "iifname" | "iif" => {
                                out.in_iface =
                                    elems.first().and_then(Value::as_str).map(str::to_owned)
                            }
                            "oifname" | "oif" => {
                                out.out_iface =
                                    elems.first().and_then(Value::as_str).map(str::to_owned)
                            }
                            "l4proto" => {
                                for el in &elems {
                                    protocols.push(l4(el).map_err(|m| (j, m))?);
                                }
                            }
                            _ => out.narrowed = true,
                        }
                    } else if let Some(ct) = left.get("ct") {
                        if s(ct, "key") == "state" {
                            let states: Vec<String> = elems
                                .iter()
                                .flat_map(|v| match v {
                                    Value::Array(a) => a.clone(),
                                    other => vec![other.clone()],
                                })
                                .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
                                .collect();
                            if states.iter().any(|s| s == "invalid") {
                                out.narrowed = true;
                            } else if !states.iter().any(|s| s == "new" || s == "untracked") {
                                out.established_only = true;
                            }
                        } else {
                            out.narrowed = true;
                        }
                    } else {
                        out.narrowed = true;
                    }
                }
                "accept" => out.action = Action::Accept,
                "drop" => out.action = Action::Drop,
                "reject" => out.action = Action::Reject,
                "dnat" | "snat" | "masquerade" | "redirect" => out.action = Action::Nat,
                "jump" | "goto" | "return" | "continue" | "queue" => out.action = Action::Other,
                "counter" | "log" | "comment" => {}
                _ => out.narrowed = true,
            }
        }
    }
    protocols.sort();
    protocols.dedup();
    if protocols.is_empty() && ports.is_some() {
        protocols.push(Protocol::Any);
    }
    out.services = protocols
        .into_iter()
        .map(|protocol| Service {
            protocol,
            ports: ports.clone().unwrap_or_default(),
        })
        .collect();
    Ok(out)
}

/// Turns a match's right-hand side into its elements: a value, an anonymous set, or `@name`.
fn expand(right: &Value, family: &str, table: &str, sets: &Sets) -> Result<Vec<Value>, String> {
    match right {
        Value::String(name) if name.starts_with('@') => {
            let key = (
                family.to_owned(),
                table.to_owned(),
                name.trim_start_matches('@').to_owned(),
            );
            sets.get(&key)
                .cloned()
                .ok_or_else(|| format!("セット「{name}」が定義されていません"))
        }
        Value::Object(o) if o.contains_key("set") => match o.get("set") {
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(v) => Ok(vec![v.clone()]),
            None => Ok(Vec::new()),
        },
        other => Ok(vec![other.clone()]),
    }
}

/// Unwraps `{"elem": {"val": …}}` (set elements with timeouts or comments).
fn inner(v: &Value) -> &Value {
    v.get("elem").and_then(|e| e.get("val")).unwrap_or(v)
}

fn address(v: &Value) -> Result<Vec<IpNet>, String> {
    let v = inner(v);
    if let Some(t) = v.as_str() {
        return parse_addresses(t);
    }
    if let Some(p) = v.get("prefix") {
        let addr = s(p, "addr");
        let len = p
            .get("len")
            .and_then(Value::as_u64)
            .ok_or("prefix に len がありません")?;
        return parse_addresses(&format!("{addr}/{len}"));
    }
    if let Some(Value::Array(r)) = v.get("range") {
        let (Some(a), Some(b)) = (
            r.first().and_then(Value::as_str),
            r.get(1).and_then(Value::as_str),
        ) else {
            return Err("range の形が正しくありません".to_owned());
        };
        return parse_addresses(&format!("{a}-{b}"));
    }
    Err(format!("アドレスとして読めません: {v}"))
}

fn port(v: &Value) -> Result<PortRange, String> {
    let v = inner(v);
    let one = |x: &Value| -> Result<u16, String> {
        x.as_u64()
            .or_else(|| x.as_str().and_then(well_known))
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n != 0)
            .ok_or_else(|| format!("ポートとして読めません: {x}"))
    };
    if let Some(Value::Array(r)) = v.get("range") {
        let (Some(a), Some(b)) = (r.first(), r.get(1)) else {
            return Err("range の形が正しくありません".to_owned());
        };
        let (first, last) = (one(a)?, one(b)?);
        if first > last {
            return Err(format!("ポート範囲 {first}-{last} が逆です"));
        }
        return Ok(PortRange { first, last });
    }
    let p = one(v)?;
    Ok(PortRange { first: p, last: p })
}

fn well_known(name: &str) -> Option<u64> {
    Some(match name {
        "ssh" => 22,
        "smtp" => 25,
        "domain" => 53,
        "http" => 80,
        "https" => 443,
        "microsoft-ds" => 445,
        "submission" => 587,
        _ => return None,
    })
}

fn l4(v: &Value) -> Result<Protocol, String> {
    let v = inner(v);
    let text = match v {
        Value::String(t) => t.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("プロトコルとして読めません: {other}")),
    };
    parse_protocol(&text).ok_or_else(|| format!("プロトコル「{text}」は扱えません"))
}
