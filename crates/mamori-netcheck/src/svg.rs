//! The network diagram as a self-contained SVG: zones as columns (マイナンバー利用事務系, LGWAN接続系,
//! インターネット接続系, then the outside), gateways in the gaps between the columns they bridge,
//! hosts listed under their segments, flows as arrows (through their gateway), violations marked.
//!
//! Pure: no script, no external references, no `<style>` element (presentation attributes only,
//! so a strict CSP does not strip it when embedded). Violations are shown by a red colour *and*
//! a dashed outline, a ⚠ mark and the rule ids in the label, so colour is never the only cue.

use std::collections::HashMap;
use std::fmt::Write as _;

use mamori_core::zone::Zone;

use crate::addrmap::AddrMap;
use crate::index::{NameIndex, Resolved};
use crate::model::{Network, Place};
use crate::report::{ElementKind, Report};

const COL_W: i64 = 250;
const GAP: i64 = 170;
const ROW: i64 = 26;
const TOP: i64 = 90;
const MARGIN: i64 = 20;
/// Rows drawn per column before the rest is summarised, so huge networks stay readable.
const MAX_ROWS: usize = 80;
/// Arrows drawn at most (violating flows first).
const MAX_FLOWS: usize = 300;

const RED: &str = "#c8102e";
const INK: &str = "#1a1a1c";
const GREY: &str = "#767680";
const ZONE_FILL: [&str; 4] = ["#fdf1f3", "#eef4fd", "#eefaf3", "#f4f4f6"];

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Shortens a label to `max` half-width units (a full-width character counts two), so it stays
/// inside its box whatever the script.
fn fit(s: &str, max: usize) -> String {
    let unit = |c: char| if c.is_ascii() { 1 } else { 2 };
    if s.chars().map(unit).sum::<usize>() <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + unit(c) > max.saturating_sub(2) {
            break;
        }
        used += unit(c);
        out.push(c);
    }
    out.push('…');
    out
}

fn column_of(place: Place) -> usize {
    match place {
        Place::Zone(Zone::MyNumber) => 0,
        Place::Zone(Zone::Lgwan) => 1,
        Place::Zone(Zone::Internet) => 2,
        Place::Outside(_) => 3,
    }
}

fn col_x(col: usize) -> i64 {
    MARGIN + i64::try_from(col).unwrap_or(0) * (COL_W + GAP)
}

/// Where an element sits: its column and row centre.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    col: usize,
    y: i64,
    /// In a gap (gateways) rather than a column.
    gap: bool,
    x: i64,
}

/// Renders the network and the check result as an SVG document.
pub fn render_svg(net: &Network, report: &Report) -> String {
    // Rule ids per violating element.
    let mut marks: HashMap<(ElementKind, &str), Vec<&str>> = HashMap::new();
    for v in &report.violations {
        if v.element.kind == ElementKind::Segment {
            for part in v.element.name.split(" / ") {
                marks
                    .entry((ElementKind::Segment, part))
                    .or_default()
                    .push(&v.rule);
            }
        } else {
            marks
                .entry((v.element.kind, v.element.name.as_str()))
                .or_default()
                .push(&v.rule);
        }
    }
    for ids in marks.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    let mark = |kind: ElementKind, name: &str| marks.get(&(kind, name)).map(|v| v.join(","));

    let addrs = AddrMap::new(net);
    let mut body = String::new();
    let mut host_anchor: HashMap<&str, Anchor> = HashMap::new();
    let mut seg_anchor: HashMap<&str, Anchor> = HashMap::new();
    let mut outside_anchor: HashMap<usize, Anchor> = HashMap::new();
    let internet_anchor = Some(Anchor {
        col: 3,
        y: TOP + ROW / 2 - 1,
        gap: false,
        x: col_x(3),
    });
    let mut col_bottom = [TOP; 4];

    // Hosts by the segment their first address falls in.
    let mut by_segment: HashMap<Option<usize>, Vec<usize>> = HashMap::new();
    for (i, h) in net.hosts.iter().enumerate() {
        let seg = h
            .addresses
            .first()
            .and_then(|a| addrs.segments_of(*a).first().copied())
            .filter(|s| net.segments.get(*s).is_some_and(|s| s.zone == h.zone));
        by_segment.entry(seg).or_default().push(i);
    }

    for (col, zone) in Zone::ALL.into_iter().enumerate() {
        let x = col_x(col);
        let mut y = TOP;
        let mut rows = 0usize;
        let mut hidden = 0usize;
        let mut groups: Vec<Option<usize>> = net
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.zone == zone)
            .map(|(i, _)| Some(i))
            .collect();
        groups.push(None);
        for g in groups {
            let hosts: Vec<usize> = by_segment
                .get(&g)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|i| net.hosts.get(*i).is_some_and(|h| h.zone == zone))
                        .collect()
                })
                .unwrap_or_default();
            if g.is_none() && hosts.is_empty() {
                continue;
            }
            if rows >= MAX_ROWS {
                hidden += hosts.len();
                continue;
            }
            let (label, seg_name) = match g.and_then(|i| net.segments.get(i)) {
                Some(s) => (format!("{}  {}", s.name, s.cidr), Some(s.name.as_str())),
                None => ("（セグメント未登録）".to_owned(), None),
            };
            let bad = seg_name.and_then(|n| mark(ElementKind::Segment, n));
            let (fill, prefix) = if bad.is_some() {
                (RED, "⚠ ")
            } else {
                (GREY, "")
            };
            let suffix = bad.map(|b| format!("（{b}）")).unwrap_or_default();
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" font-size="12" font-weight="bold" fill="{fill}">{}</text>"##,
                x + 8,
                y + 16,
                esc(&fit(&format!("{prefix}{label}{suffix}"), 38))
            );
            if let Some(n) = seg_name {
                seg_anchor.insert(
                    n,
                    Anchor {
                        col,
                        y: y + 12,
                        gap: false,
                        x,
                    },
                );
            }
            y += ROW;
            rows += 1;
            for hi in hosts {
                let Some(h) = net.hosts.get(hi) else { continue };
                if rows >= MAX_ROWS {
                    hidden += 1;
                    continue;
                }
                let bad = mark(ElementKind::Host, &h.name);
                let (stroke, width, dash, prefix) = match &bad {
                    Some(_) => (RED, 2.5, r##" stroke-dasharray="6 3""##, "⚠ "),
                    None => (GREY, 1.0, "", ""),
                };
                let suffix = bad.map(|b| format!("（{b}）")).unwrap_or_default();
                let _ = writeln!(
                    body,
                    r##"<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="#ffffff" stroke="{stroke}" stroke-width="{width}"{dash}/><text x="{}" y="{}" font-size="12" fill="{INK}">{}</text></g>"##,
                    esc(&format!(
                        "{}（{}）{}",
                        h.name,
                        h.kind.label_ja(),
                        h.addresses
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    x + 14,
                    y + 2,
                    COL_W - 28,
                    ROW - 6,
                    x + 22,
                    y + 17,
                    esc(&fit(
                        &format!("{prefix}{} [{}]{suffix}", h.name, h.kind.label_ja()),
                        30
                    ))
                );
                host_anchor.insert(
                    h.name.as_str(),
                    Anchor {
                        col,
                        y: y + ROW / 2 - 1,
                        gap: false,
                        x,
                    },
                );
                y += ROW;
                rows += 1;
            }
        }
        if hidden > 0 {
            let _ = writeln!(
                body,
                r##"<text x="{}" y="{}" font-size="12" fill="{GREY}">ほか {hidden} 件（省略）</text>"##,
                x + 14,
                y + 16
            );
            y += ROW;
        }
        if let Some(b) = col_bottom.get_mut(col) {
            *b = y;
        }
    }

    // The outside column: the internet at large, then named places.
    {
        let x = col_x(3);
        let mut y = TOP;
        let mut draw = |name: &str, kind: &str, y: i64| {
            let _ = writeln!(
                body,
                r##"<g><rect x="{}" y="{}" width="{}" height="{}" rx="10" fill="#ffffff" stroke="{GREY}"/><text x="{}" y="{}" font-size="12" fill="{INK}">{}</text></g>"##,
                x + 14,
                y + 2,
                COL_W - 28,
                ROW - 6,
                x + 22,
                y + 17,
                esc(&fit(&format!("{name} [{kind}]"), 34))
            );
        };
        draw("インターネット", "外部", y);
        y += ROW;
        for (i, o) in net.outside.iter().enumerate().take(MAX_ROWS) {
            draw(&o.name, o.kind.label_ja(), y);
            outside_anchor.insert(
                i,
                Anchor {
                    col: 3,
                    y: y + ROW / 2 - 1,
                    gap: false,
                    x,
                },
            );
            y += ROW;
        }
        if let Some(b) = col_bottom.get_mut(3) {
            *b = y;
        }
    }

    // Gateways in the gap after the leftmost column they bridge.
    let mut gap_y = [TOP + 10; 4];
    let mut gw_anchor: HashMap<&str, Anchor> = HashMap::new();
    for g in &net.gateways {
        let cols: Vec<usize> = g.between.iter().map(|p| column_of(*p)).collect();
        let gap = cols.iter().copied().min().unwrap_or(0).min(2);
        let Some(gy) = gap_y.get_mut(gap) else {
            continue;
        };
        let x = col_x(gap) + COL_W + 10;
        let bad = mark(ElementKind::Gateway, &g.name);
        let (stroke, dash, prefix) = match &bad {
            Some(_) => (RED, r##" stroke-dasharray="6 3""##, "⚠ "),
            None => ("#4a4a52", "", ""),
        };
        let _ = writeln!(
            body,
            r##"<g><title>{}</title><rect x="{x}" y="{}" width="{}" height="44" rx="6" fill="#fff8e1" stroke="{stroke}" stroke-width="2"{dash}/><text x="{}" y="{}" font-size="11" font-weight="bold" fill="{INK}">{}</text><text x="{}" y="{}" font-size="10" fill="{INK}">{}</text></g>"##,
            esc(&format!("{}（{}）", g.name, g.kind.label_ja())),
            *gy,
            GAP - 20,
            x + 6,
            *gy + 18,
            esc(&fit(&format!("{prefix}{}", g.name), 24)),
            x + 6,
            *gy + 35,
            esc(&fit(g.kind.label_ja(), 26))
        );
        gw_anchor.insert(
            g.name.as_str(),
            Anchor {
                col: gap,
                y: *gy + 22,
                gap: true,
                x,
            },
        );
        *gy += 60;
    }

    // Zone columns and headers go under everything else.
    let height = col_bottom
        .iter()
        .chain(gap_y.iter())
        .copied()
        .max()
        .unwrap_or(TOP)
        + 90;
    let width = col_x(3) + COL_W + MARGIN;
    let mut back = String::new();
    let titles = [
        Zone::MyNumber.label_ja(),
        Zone::Lgwan.label_ja(),
        Zone::Internet.label_ja(),
        "外部（インターネット・クラウド）",
    ];
    for (col, title) in titles.iter().enumerate() {
        let x = col_x(col);
        let fill = ZONE_FILL.get(col).copied().unwrap_or("#ffffff");
        let _ = writeln!(
            back,
            r##"<rect x="{x}" y="50" width="{COL_W}" height="{}" rx="8" fill="{fill}" stroke="{GREY}"/><text x="{}" y="74" font-size="15" font-weight="bold" fill="{INK}" text-anchor="middle">{}</text>"##,
            height - 110,
            x + COL_W / 2,
            esc(title)
        );
    }

    // Flows: violating ones first, then the rest, up to the cap.
    let names = NameIndex::new(net);
    let anchor_of = |r: Resolved| -> Option<Anchor> {
        match r {
            Resolved::Host(i) => net
                .hosts
                .get(i)
                .and_then(|h| host_anchor.get(h.name.as_str()).copied()),
            Resolved::Segment(i) => net
                .segments
                .get(i)
                .and_then(|s| seg_anchor.get(s.name.as_str()).copied()),
            Resolved::Zone(z) => {
                let col = column_of(Place::Zone(z));
                Some(Anchor {
                    col,
                    y: 70,
                    gap: false,
                    x: col_x(col),
                })
            }
            Resolved::Outside(Some(i)) => outside_anchor.get(&i).copied(),
            Resolved::Outside(None) => internet_anchor,
        }
    };
    let mut order: Vec<(bool, usize)> = net
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| (mark(ElementKind::Flow, &f.display_name()).is_none(), i))
        .collect();
    order.sort_unstable();
    let mut arrows = String::new();
    let mut drawn = 0usize;
    for (_, i) in order.into_iter().take(MAX_FLOWS) {
        let Some(f) = net.flows.get(i) else { continue };
        let (Ok(from), Ok(to)) = (names.resolve(&f.from), names.resolve(&f.to)) else {
            continue;
        };
        let (Some(a), Some(b)) = (anchor_of(from), anchor_of(to)) else {
            continue;
        };
        let via = f.via.as_deref().and_then(|v| gw_anchor.get(v).copied());
        let name = f.display_name();
        let bad = mark(ElementKind::Flow, &name);
        let (stroke, width, dash) = match &bad {
            Some(_) => (RED, 2.5, r##" stroke-dasharray="8 4""##),
            None => ("#3a5a8c", 1.2, ""),
        };
        let marker = if bad.is_some() {
            "url(#arrow-bad)"
        } else {
            "url(#arrow)"
        };
        let mut points = vec![edge(a, via.map_or(b, |v| v))];
        if let Some(v) = via {
            points.push((v.x, v.y));
            points.push((v.x + GAP - 20, v.y));
        }
        points.push(edge_in(
            b,
            via.map_or(a, |v| Anchor {
                x: v.x + GAP - 20,
                ..v
            }),
        ));
        let d: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
        let title = match &bad {
            Some(ids) => format!("⚠ {name}（違反: {ids}）"),
            None => name.clone(),
        };
        let _ = writeln!(
            arrows,
            r##"<g><title>{}</title><polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"{dash} marker-end="{marker}" opacity="0.85"/></g>"##,
            esc(&title),
            d.join(" ")
        );
        if let (Some(ids), Some((x, y))) = (&bad, points.first()) {
            let _ = writeln!(
                arrows,
                r##"<text x="{}" y="{}" font-size="11" font-weight="bold" fill="{RED}">⚠ {}</text>"##,
                x + 4,
                y - 4,
                esc(ids)
            );
        }
        drawn += 1;
    }

    let mut svg = String::new();
    let s = &report.summary;
    let status = if report.is_clean() {
        "違反なし".to_owned()
    } else {
        format!("違反 {} 件", s.violations)
    };
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-labelledby="nc-title nc-desc" font-family="sans-serif">"##
    );
    let _ = writeln!(
        svg,
        r##"<title id="nc-title">{}（{}）ネットワーク図</title><desc id="nc-desc">{}。セグメント {}、ホスト {}、ゲートウェイ {}、通信 {}（図示 {drawn}）。違反は赤の破線と ⚠ 印、規則番号で示す。</desc>"##,
        esc(&net.network.name),
        net.network.model.label(),
        esc(&status),
        s.segments,
        s.hosts,
        s.gateways,
        s.flows
    );
    let _ = writeln!(
        svg,
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#3a5a8c"/></marker><marker id="arrow-bad" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{RED}"/></marker></defs>"##
    );
    let _ = writeln!(
        svg,
        r##"<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/><text x="{MARGIN}" y="30" font-size="18" font-weight="bold" fill="{INK}">{}（{}）: {}</text>"##,
        esc(&net.network.name),
        net.network.model.label(),
        esc(&status)
    );
    svg.push_str(&back);
    svg.push_str(&body);
    svg.push_str(&arrows);
    let _ = writeln!(
        svg,
        r##"<text x="{MARGIN}" y="{}" font-size="12" fill="{INK}">凡例: 青の矢印 = 登録された通信、赤の破線と ⚠ = 違反（括弧内は規則番号）、黄色の箱 = ゲートウェイ（無害化・画面転送・セキュリティクラウド）</text>"##,
        height - 20
    );
    svg.push_str("</svg>\n");
    svg
}

/// Start point of an arrow leaving `a` towards `b`.
fn edge(a: Anchor, b: Anchor) -> (i64, i64) {
    if a.gap {
        return if b.x > a.x {
            (a.x + GAP - 20, a.y)
        } else {
            (a.x, a.y)
        };
    }
    if b.x > a.x || (b.col == a.col && !b.gap) {
        (a.x + COL_W - 14, a.y)
    } else {
        (a.x + 14, a.y)
    }
}

/// End point of an arrow arriving at `b` from `a`.
fn edge_in(b: Anchor, a: Anchor) -> (i64, i64) {
    if b.gap {
        return if a.x < b.x {
            (b.x, b.y)
        } else {
            (b.x + GAP - 20, b.y)
        };
    }
    if a.x < b.x {
        (b.x + 14, b.y)
    } else {
        (b.x + COL_W - 14, b.y)
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

    #[test]
    fn escaping_and_fitting() {
        assert_eq!(esc("<a&\"b'>"), "&lt;a&amp;&quot;b&#39;&gt;");
        assert_eq!(fit("あいうえお", 6), "あい…");
        assert_eq!(fit("abc", 3), "abc");
    }
}
