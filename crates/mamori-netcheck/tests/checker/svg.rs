//! The diagram: well-formed, script-free, labelled, with violations marked by more than colour.

use mamori_netcheck::{check, render_svg};

use crate::{check_text, example, example_text};

/// Parses the SVG as XML and returns every element name, failing on malformed markup.
fn elements(svg: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut names = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                names.push(String::from_utf8_lossy(e.name().as_ref().as_bytes()).into_owned());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    names
}

#[test]
fn example_diagram_is_well_formed_and_script_free() {
    let net = example();
    let svg = render_svg(&net, &check(&net));
    let names = elements(&svg);
    assert_eq!(names.first().map(String::as_str), Some("svg"));
    assert!(
        !names
            .iter()
            .any(|n| n == "script" || n == "foreignObject" || n == "style")
    );
    assert!(!svg.contains("href"), "no external references");
    for label in [
        "マイナンバー利用事務系",
        "LGWAN接続系",
        "インターネット接続系",
        "メール無害化装置",
        "団体内統合宛名サーバ",
        "違反なし",
    ] {
        assert!(svg.contains(label), "{label}");
    }
    assert!(!svg.contains("⚠ NC"));
    assert!(names.iter().filter(|n| *n == "polyline").count() >= 17);
}

#[test]
fn violations_are_marked_with_text_not_only_colour() {
    let src = format!(
        "{}\n[[flow]]\nname = \"禁止<テスト>\"\nfrom = \"host:住基端末-事務局-01\"\nto = \"internet\"\n",
        example_text()
    );
    let report = check_text(&src);
    let net = mamori_netcheck::parse_toml(&src, "t.toml").unwrap();
    let svg = render_svg(&net, &report);
    elements(&svg);
    assert!(svg.contains("⚠ NC-101"));
    assert!(svg.contains("禁止&lt;テスト&gt;"));
    assert!(svg.contains("stroke-dasharray"));
    assert!(svg.contains("違反 1 件"));
}

#[test]
fn huge_networks_are_summarised() {
    let mut src = example_text();
    for i in 0..500 {
        src.push_str(&format!(
            "\n[[host]]\nname = \"追加端末{i}\"\nkind = \"terminal\"\nzone = \"lgwan\"\naddresses = [\"10.20.3.{}\"]\n",
            (i % 200) + 30
        ));
    }
    let net = mamori_netcheck::parse_toml(&src, "big.toml").unwrap();
    let svg = render_svg(&net, &check(&net));
    elements(&svg);
    assert!(svg.contains("（省略）"));
    assert!(svg.len() < 400_000, "{}", svg.len());
}
