//! `iptables-save` (and `ip6tables-save`) output. `ipset save` lines (`create` / `add`) may be
//! included in the same file so `-m set --match-set` can be resolved.

use std::collections::HashMap;

use ipnet::IpNet;

use super::{Action, AddrMatch, FirewallRule, MAX_RULES, Service, parse_addresses, parse_protocol};
use crate::error::{InputError, Location};
use crate::model::{Ports, Protocol};

/// Splits a line into words, honouring double quotes; each word with its byte offset.
fn words(line: &str) -> Result<Vec<(String, usize)>, usize> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = None;
    let mut quoted = false;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            '\\' if quoted => {
                if let Some((_, n)) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(s) = start.take() {
                    out.push((std::mem::take(&mut cur), s));
                }
            }
            c => {
                start.get_or_insert(i);
                cur.push(c);
            }
        }
    }
    if quoted {
        return Err(start.unwrap_or(0));
    }
    if let Some(s) = start {
        out.push((cur, s));
    }
    Ok(out)
}

fn dport(text: &str) -> Result<Ports, String> {
    // iptables writes ranges as `a:b` and lists as `a,b`; our parser takes both.
    text.parse::<Ports>()
}

pub(super) fn parse(text: &str, file: &str) -> Result<Vec<FirewallRule>, InputError> {
    let mut sets: HashMap<String, Vec<IpNet>> = HashMap::new();
    // First pass: address sets, which may be defined after the rules that use them.
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        let mut parts = t.split_whitespace();
        match parts.next() {
            Some("create") => {
                if let Some(name) = parts.next() {
                    sets.entry(name.to_owned()).or_default();
                }
            }
            Some("add") => {
                let (Some(name), Some(entry)) = (parts.next(), parts.next()) else {
                    continue;
                };
                // hash:ip,port and similar: the address is the first part.
                let addr = entry.split(',').next().unwrap_or(entry);
                let nets = parse_addresses(addr).map_err(|m| {
                    let col = line.find(addr).unwrap_or(0);
                    err(file, text, n, line, col, m)
                })?;
                sets.entry(name.to_owned()).or_default().extend(nets);
            }
            _ => {}
        }
    }

    let mut rules = Vec::new();
    let mut table: Option<String> = None;
    let mut position: HashMap<String, usize> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let indent = line.len() - t.len();
        if t.is_empty() || t.starts_with('#') || t.starts_with("create ") || t.starts_with("add ") {
            continue;
        }
        if let Some(name) = t.strip_prefix('*') {
            table = Some(name.trim().to_owned());
            continue;
        }
        if t.starts_with(':') || t == "COMMIT" {
            continue;
        }
        if !(t.starts_with("-A ") || t.starts_with("-I ")) {
            return Err(err(file, text, n, line, indent, "iptables-save の行として解釈できません（*table, :CHAIN, -A, COMMIT のいずれでもない）".to_owned()));
        }
        let Some(table) = table.clone() else {
            return Err(err(
                file,
                text,
                n,
                line,
                indent,
                "規則の前に *filter などのテーブル行がありません".to_owned(),
            ));
        };
        if rules.len() >= MAX_RULES {
            return Err(err(
                file,
                text,
                n,
                line,
                0,
                format!("規則が多すぎます（上限 {MAX_RULES} 件）"),
            ));
        }
        let toks = words(line)
            .map_err(|at| err(file, text, n, line, at, "引用符が閉じていません".to_owned()))?;
        let rule = parse_rule(&toks, &table, &sets, &mut position)
            .map_err(|(at, m)| err(file, text, n, line, at, m))?;
        let location = Some(Location {
            file: file.to_owned(),
            line: n + 1,
            column: indent + 1,
        });
        rules.push(FirewallRule { location, ..rule });
    }
    Ok(rules)
}

fn err(
    file: &str,
    _text: &str,
    line_no: usize,
    line: &str,
    byte: usize,
    message: String,
) -> InputError {
    let column = line.get(..byte).map_or(1, |s| s.chars().count() + 1);
    InputError::one(
        Some(Location {
            file: file.to_owned(),
            line: line_no + 1,
            column,
        }),
        "",
        message,
    )
}

type Tok = (String, usize);

fn parse_rule(
    toks: &[Tok],
    table: &str,
    sets: &HashMap<String, Vec<IpNet>>,
    position: &mut HashMap<String, usize>,
) -> Result<FirewallRule, (usize, String)> {
    let mut it = toks.iter().peekable();
    let mut chain = String::new();
    let mut rule = FirewallRule {
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
        filtering: table == "filter",
        comment: None,
    };
    let mut protocol = Protocol::Any;
    let mut ports: Option<Ports> = None;
    let mut negate = false;
    let value = |it: &mut std::iter::Peekable<std::slice::Iter<'_, Tok>>, opt: &Tok| {
        it.next()
            .cloned()
            .ok_or((opt.1, format!("{} の値がありません", opt.0)))
    };
    while let Some(tok) = it.next() {
        let (word, at) = (tok.0.as_str(), tok.1);
        if word == "!" {
            negate = true;
            continue;
        }
        let neg = std::mem::take(&mut negate);
        match word {
            "-A" | "-I" => {
                let c = value(&mut it, tok)?;
                chain = c.0;
                // `-I CHAIN 3` carries a position number.
                if word == "-I" && it.peek().is_some_and(|t| t.0.parse::<u32>().is_ok()) {
                    it.next();
                }
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let v = value(&mut it, tok)?;
                let mut nets = Vec::new();
                for part in v.0.split(',') {
                    nets.extend(parse_addresses(part).map_err(|m| (v.1, m))?);
                }
                if neg {
                    // "all but these" is modelled as any (errs towards permitting more).
                    rule.narrowed = true;
                } else if word.starts_with("-s") || word.starts_with("--s") {
                    rule.src = AddrMatch::Nets(nets);
                } else {
                    rule.dst = AddrMatch::Nets(nets);
                }
            }
            "--src-range" | "--dst-range" => {
                let v = value(&mut it, tok)?;
                let nets = parse_addresses(&v.0).map_err(|m| (v.1, m))?;
                if neg {
                    rule.narrowed = true;
                } else if word == "--src-range" {
                    rule.src = AddrMatch::Nets(nets);
                } else {
                    rule.dst = AddrMatch::Nets(nets);
                }
            }
            "-p" | "--protocol" => {
                let v = value(&mut it, tok)?;
                if neg {
                    rule.narrowed = true;
                } else {
                    protocol = parse_protocol(&v.0)
                        .ok_or((v.1, format!("プロトコル「{}」は扱えません", v.0)))?;
                }
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                let v = value(&mut it, tok)?;
                if neg {
                    rule.narrowed = true;
                } else if word.starts_with("-i") || word.starts_with("--in") {
                    rule.in_iface = Some(v.0);
                } else {
                    rule.out_iface = Some(v.0);
                }
            }
            "-m" | "--match" => {
                value(&mut it, tok)?;
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                let v = value(&mut it, tok)?;
                if neg {
                    rule.narrowed = true;
                } else {
                    ports = Some(dport(&v.0).map_err(|m| (v.1, m))?);
                }
            }
            "--state" | "--ctstate" => {
                let v = value(&mut it, tok)?;
                let states: Vec<String> = v.0.split(',').map(|s| s.to_ascii_uppercase()).collect();
                if neg || states.iter().any(|s| s == "INVALID") {
                    rule.narrowed = true;
                } else if !states.iter().any(|s| s == "NEW" || s == "UNTRACKED") {
                    rule.established_only = true;
                }
            }
            "--match-set" => {
                let name = value(&mut it, tok)?;
                let flags = value(&mut it, tok)?;
                let nets = sets.get(&name.0).cloned().ok_or((
                    name.1,
                    format!("アドレスセット「{}」が定義されていません（ipset save の出力を同じファイルに含めてください）", name.0),
                ))?;
                if neg {
                    rule.narrowed = true;
                } else if flags.0.starts_with("src") {
                    rule.src = AddrMatch::Nets(nets);
                } else {
                    rule.dst = AddrMatch::Nets(nets);
                }
            }
            "--comment" => {
                rule.comment = Some(value(&mut it, tok)?.0);
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let v = value(&mut it, tok)?;
                rule.action = match v.0.as_str() {
                    "ACCEPT" if word == "-j" || word == "--jump" => Action::Accept,
                    "DROP" => Action::Drop,
                    "REJECT" => Action::Reject,
                    "DNAT" | "SNAT" | "MASQUERADE" | "REDIRECT" | "NETMAP" => Action::Nat,
                    _ => Action::Other,
                };
                // Target options (`--to-destination`, `--reject-with`, …) follow; skip them.
                while let Some(next) = it.peek() {
                    if next.0.starts_with("--") {
                        it.next();
                        if it.peek().is_some_and(|t| !t.0.starts_with('-')) {
                            it.next();
                        }
                    } else {
                        break;
                    }
                }
            }
            w if w.starts_with('-') => {
                // A condition we do not model (source ports, ICMP types, limits, TCP flags …):
                // the rule matches less than we assume.
                rule.narrowed = true;
                while it
                    .peek()
                    .is_some_and(|t| !t.0.starts_with('-') && t.0 != "!")
                {
                    it.next();
                }
            }
            other => return Err((at, format!("「{other}」は解釈できません"))),
        }
    }
    if chain.is_empty() {
        return Err((0, "チェーン名がありません".to_owned()));
    }
    if ports.is_some() || protocol != Protocol::Any {
        rule.services = vec![Service {
            protocol,
            ports: ports.unwrap_or_default(),
        }];
    }
    // INPUT and OUTPUT govern the firewall's own traffic, not traffic between zones.
    rule.filtering = table == "filter" && chain != "INPUT" && chain != "OUTPUT";
    let key = format!("{table}/{chain}");
    let counter = position.entry(key.clone()).or_insert(0);
    *counter += 1;
    rule.name = format!("{key} #{counter}");
    rule.chain = key;
    Ok(rule)
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

    #[test]
    fn words_keep_quoted_comments_together() {
        let w =
            words(r#"-A FORWARD -m comment --comment "メール \"無害化\" 経由" -j ACCEPT"#).unwrap();
        assert_eq!(w[5].0, "メール \"無害化\" 経由");
        assert!(words("-A X --comment \"open").is_err());
    }

    #[test]
    fn errors_name_line_and_column() {
        let src = "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.0.0.0/33 -j ACCEPT\nCOMMIT\n";
        let e = parse(src, "fw.rules").unwrap_err();
        let loc = e.diagnostics[0].location.clone().unwrap();
        assert_eq!((loc.line, loc.column), (3, 15), "{e}");
        let e = parse("-A FORWARD -j ACCEPT\n", "fw").unwrap_err();
        assert!(e.to_string().contains("テーブル"));
        let e = parse("*filter\nhello\n", "fw").unwrap_err();
        assert_eq!(e.diagnostics[0].location.clone().unwrap().line, 2);
        let e = parse(
            "*filter\n-A F -m set --match-set nope src -j ACCEPT\n",
            "fw",
        )
        .unwrap_err();
        assert!(e.to_string().contains("nope"));
    }
}
