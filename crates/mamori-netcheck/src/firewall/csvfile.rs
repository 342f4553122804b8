//! A generic CSV of firewall rules — what many appliances export and what people keep in
//! spreadsheets: `source`, `destination`, `service`, `action`, optionally `name` and `chain`.
//! Japanese headers (送信元, 宛先, サービス, 動作, 名前) are accepted too. Addresses may be
//! written as IPs, CIDRs, `first-last` ranges, `any`, or names of elements of the network.

use super::{
    Action, AddrMatch, FirewallRule, MAX_RULES, Service, element_nets, parse_addresses,
    parse_protocol,
};
use crate::error::{InputError, Location};
use crate::model::{Network, Ports, Protocol};

#[derive(Default)]
struct Columns {
    name: Option<usize>,
    chain: Option<usize>,
    source: Option<usize>,
    destination: Option<usize>,
    service: Option<usize>,
    action: Option<usize>,
}

pub(super) fn parse(
    text: &str,
    file: &str,
    net: &Network,
) -> Result<Vec<FirewallRule>, InputError> {
    let at = |line: u64, msg: String| {
        InputError::one(
            Some(Location {
                file: file.to_owned(),
                line: usize::try_from(line).unwrap_or(0),
                column: 1,
            }),
            "",
            msg,
        )
    };
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| at(1, format!("CSVの見出し行を読めません: {e}")))?
        .clone();
    let mut cols = Columns::default();
    for (i, h) in headers.iter().enumerate() {
        let key = mamori_core::text::fold(h);
        let slot = match key.as_str() {
            "name" | "名前" | "規則名" | "rule" => &mut cols.name,
            "chain" | "チェーン" | "policy" => &mut cols.chain,
            "source" | "src" | "送信元" => &mut cols.source,
            "destination" | "dst" | "宛先" | "送信先" => &mut cols.destination,
            "service" | "サービス" | "port" | "ポート" => &mut cols.service,
            "action" | "動作" | "アクション" | "処理" => &mut cols.action,
            _ => continue,
        };
        *slot = Some(i);
    }
    let (Some(src_col), Some(dst_col), Some(svc_col), Some(act_col)) =
        (cols.source, cols.destination, cols.service, cols.action)
    else {
        return Err(at(1, "CSVの見出しには source, destination, service, action（または 送信元, 宛先, サービス, 動作）が必要です".to_owned()));
    };
    let mut rules = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            at(line, format!("CSVの行を読めません: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rules.len() >= MAX_RULES {
            return Err(at(line, format!("規則が多すぎます（上限 {MAX_RULES} 件）")));
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let addr = |i: usize, what: &str| -> Result<AddrMatch, InputError> {
            let v = field(i);
            if matches!(v.to_ascii_lowercase().as_str(), "any" | "*" | "all" | "") {
                return Ok(AddrMatch::Any);
            }
            let mut nets = Vec::new();
            for part in v.split([';', ' ']).filter(|p| !p.is_empty()) {
                match parse_addresses(part) {
                    Ok(n) => nets.extend(n),
                    Err(e) => match element_nets(net, part) {
                        Some(n) => nets.extend(n),
                        None => {
                            return Err(at(
                                line,
                                format!(
                                    "{what}「{part}」: {e}（ネットワーク記述の要素名でもありません）"
                                ),
                            ));
                        }
                    },
                }
            }
            Ok(AddrMatch::Nets(nets))
        };
        let src = addr(src_col, "送信元")?;
        let dst = addr(dst_col, "宛先")?;
        let services = services(field(svc_col)).map_err(|m| at(line, m))?;
        let action = match mamori_core::text::fold(field(act_col)).as_str() {
            "allow" | "accept" | "permit" | "pass" | "許可" => Action::Accept,
            "deny" | "drop" | "block" | "拒否" | "破棄" => Action::Drop,
            "reject" => Action::Reject,
            other => {
                return Err(at(
                    line,
                    format!("動作「{other}」は認識できません（allow / deny / reject）"),
                ));
            }
        };
        let name = cols
            .name
            .map(field)
            .filter(|n| !n.is_empty())
            .map_or_else(|| format!("行 {line}"), |n| format!("{n}（行 {line}）"));
        rules.push(FirewallRule {
            name,
            location: Some(Location {
                file: file.to_owned(),
                line: usize::try_from(line).unwrap_or(0),
                column: 1,
            }),
            chain: cols.chain.map(field).unwrap_or("").to_owned(),
            src,
            dst,
            services,
            in_iface: None,
            out_iface: None,
            action,
            established_only: false,
            narrowed: false,
            filtering: true,
            comment: None,
        });
    }
    Ok(rules)
}

/// `any`, `tcp/443`, `udp/53`, `tcp/8000-8080`, `icmp`, well-known names, separated by `;` or
/// spaces.
fn services(text: &str) -> Result<Vec<Service>, String> {
    let mut out = Vec::new();
    for part in text.split([';', ' ']).filter(|p| !p.is_empty()) {
        let lower = part.to_ascii_lowercase();
        let svc = match lower.as_str() {
            "any" | "*" | "all" => return Ok(Vec::new()),
            "http" => Service {
                protocol: Protocol::Tcp,
                ports: "80".parse()?,
            },
            "https" => Service {
                protocol: Protocol::Tcp,
                ports: "443".parse()?,
            },
            "smtp" => Service {
                protocol: Protocol::Tcp,
                ports: "25".parse()?,
            },
            "ssh" => Service {
                protocol: Protocol::Tcp,
                ports: "22".parse()?,
            },
            "rdp" => Service {
                protocol: Protocol::Tcp,
                ports: "3389".parse()?,
            },
            "smb" => Service {
                protocol: Protocol::Tcp,
                ports: "445".parse()?,
            },
            "dns" => Service {
                protocol: Protocol::Udp,
                ports: "53".parse()?,
            },
            "ntp" => Service {
                protocol: Protocol::Udp,
                ports: "123".parse()?,
            },
            _ => {
                let (proto, ports) = lower.split_once('/').unwrap_or((lower.as_str(), "any"));
                let protocol = parse_protocol(proto)
                    .ok_or_else(|| format!("サービス「{part}」は読めません（tcp/443 の形）"))?;
                Service {
                    protocol,
                    ports: ports.parse::<Ports>()?,
                }
            }
        };
        out.push(svc);
    }
    Ok(out)
}
