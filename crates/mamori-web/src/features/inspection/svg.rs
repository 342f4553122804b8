//! Charts of the roll-up as inline SVG drawn on the server: one stacked bar per line (実施,
//! 一部実施, 未実施, 該当なし), each segment labelled with its count and the line with its
//! conformity rate, so the chart reads without colour and without JavaScript.

use std::fmt::Write as _;

use mamori_core::inspection::{Tally, permille_text};

/// Segment colours and their labels, in bar order.
const SEGMENTS: [(&str, &str); 4] = [
    ("#1a7f37", "実施"),
    ("#d4a72c", "一部実施"),
    ("#cf222e", "未実施"),
    ("#8c959f", "該当なし"),
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal stacked-bar chart, one bar per `(label, tally)`.
pub fn stacked_bars(title: &str, lines: &[(String, Tally)]) -> String {
    let label_w = 260.0;
    let bar_w = 420.0;
    let row_h = 28.0;
    let top = 34.0;
    let height = top + row_h * lines.len() as f64 + 10.0;
    let width = label_w + bar_w + 90.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" aria-label=\"{t}\"><title>{t}</title>",
        t = escape(title)
    );
    let mut x = label_w;
    for (colour, name) in SEGMENTS {
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"6\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"17\" font-size=\"12\">{name}</text>",
            x + 16.0
        );
        x += 90.0;
    }
    for (i, (label, t)) in lines.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 16.0,
            escape(label)
        );
        let total = t.total();
        let mut x = label_w;
        for ((colour, name), n) in SEGMENTS.iter().zip([t.done, t.partial, t.not_done, t.na]) {
            if total == 0 || n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / total as f64;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{colour}\">\
                 <title>{name} {n}件</title></rect>"
            );
            if w > 28.0 {
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#fff\" text-anchor=\"middle\">{n}</text>",
                    x + w / 2.0,
                    y + 14.0
                );
            }
            x += w;
        }
        if total == 0 {
            let _ = write!(
                s,
                "<text x=\"{label_w}\" y=\"{}\" font-size=\"12\">提出なし</text>",
                y + 15.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\">適合 {}</text>",
            label_w + bar_w + 6.0,
            y + 15.0,
            permille_text(t.conformity_permille())
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_carry_their_counts_and_rates_as_text() {
        let t = Tally {
            done: 30,
            partial: 10,
            not_done: 0,
            na: 5,
        };
        let svg = stacked_bars("所属<別>", &[("総務課".into(), t)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("所属&lt;別&gt;"));
        assert!(svg.contains("総務課") && svg.contains(">30<") && svg.contains("適合 75.0%"));
        assert!(!svg.contains("未実施 0件"));
        // Pages carry no inline style (the CSP forbids it).
        assert!(!svg.contains("style="));
    }
}
