//! HTML converted to readable plain text in one streaming pass: paragraphs and line breaks kept,
//! lists marked, tables flattened row by row, links shown disabled and collected for checking.
//! Script, style and title content is dropped. Input above the size limit, or nesting deeper than
//! the depth limit, falls back to plain tag stripping for the affected content, so hostile HTML
//! costs linear time and bounded memory.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{ContentType, TextType};
use lol_html::{HtmlRewriter, MemorySettings, Settings, doc_text, element, end_tag};

/// A link found in the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target (`href`), entity-decoded.
    pub href: String,
    /// The visible text.
    pub text: String,
}

/// Result of converting HTML.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    /// The text.
    pub text: String,
    /// Every link, in document order.
    pub links: Vec<Link>,
    /// True when the size or depth limit made the converter fall back to tag stripping.
    pub degraded: bool,
}

/// Options of the conversion.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Inputs larger than this are tag-stripped without structure.
    pub max_bytes: u64,
    /// Elements nested deeper than this lose their structure (text is kept).
    pub max_depth: u32,
    /// Whether link targets are written disabled.
    pub disable_links: bool,
}

#[derive(Default)]
struct State {
    out: String,
    pending_space: bool,
    at_line_start: bool,
    text_buf: String,
    depth: u32,
    max_depth: u32,
    too_deep: bool,
    pre: u32,
    in_title: bool,
    link: Option<(String, usize)>,
    links: Vec<Link>,
    lists: Vec<Option<u32>>,
    cell: u32,
    disable_links: bool,
}

impl State {
    fn push_text(&mut self, raw: &str) {
        let decoded = decode_entities_cow(raw);
        if self.pre > 0 {
            for c in decoded.chars() {
                self.out.push(if c == '\r' { '\n' } else { c });
            }
            self.at_line_start = self.out.ends_with('\n');
            return;
        }
        let mut rest: &str = &decoded;
        while !rest.is_empty() {
            // Runs without whitespace are copied whole. Whitespace is ASCII or starts with one of
            // the lead bytes C2 (U+0085, U+00A0), E1 (U+1680) or E2 (U+2000…U+205F); a run ends
            // before such a byte, which is always a character boundary.
            let run = rest
                .bytes()
                .position(|b| matches!(b, b'\t'..=b'\r' | b' ' | 0xc2 | 0xe1 | 0xe2))
                .unwrap_or(rest.len());
            if let (Some(chunk), Some(tail)) = (rest.get(..run), rest.get(run..))
                && !chunk.is_empty()
            {
                self.push_word(chunk);
                rest = tail;
            }
            let mut chars = rest.chars();
            let Some(c) = chars.next() else {
                break;
            };
            rest = chars.as_str();
            if c.is_whitespace() && c != '\u{3000}' {
                self.pending_space = true;
            } else {
                let mut buf = [0u8; 4];
                self.push_word(c.encode_utf8(&mut buf));
            }
        }
    }

    /// Appends text without whitespace, preceded by one space when whitespace came before it.
    fn push_word(&mut self, word: &str) {
        if self.pending_space && !self.at_line_start && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(word);
        self.pending_space = false;
        self.at_line_start = false;
    }

    fn flush_text(&mut self) {
        if !self.text_buf.is_empty() {
            let buf = std::mem::take(&mut self.text_buf);
            self.push_text(&buf);
        }
    }

    /// Ends the current line and makes sure `n` line breaks separate it from what follows.
    fn breaks(&mut self, n: usize) {
        self.flush_text();
        if self.out.is_empty() {
            return;
        }
        let have = self.out.len() - self.out.trim_end_matches('\n').len();
        for _ in have..n {
            self.out.push('\n');
        }
        self.at_line_start = true;
        self.pending_space = false;
    }

    fn start(&mut self, tag: &str, el_href: Option<String>, alt: Option<String>) {
        self.flush_text();
        match tag {
            "br" => {
                self.out.push('\n');
                self.at_line_start = true;
                self.pending_space = false;
            }
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "table" | "pre"
            | "dl" | "figure" | "address" | "center" | "fieldset" => {
                self.breaks(2);
                if tag == "pre" {
                    self.pre += 1;
                }
            }
            "div" | "section" | "article" | "header" | "footer" | "main" | "nav" | "aside"
            | "form" | "caption" | "summary" | "details" | "dt" | "dd" | "tbody" | "thead"
            | "tfoot" => self.breaks(1),
            "ul" | "ol" => {
                self.breaks(1);
                self.lists.push(if tag == "ol" { Some(0) } else { None });
            }
            "li" => {
                self.breaks(1);
                let indent = "  ".repeat(self.lists.len().saturating_sub(1).min(8));
                self.out.push_str(&indent);
                match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        let n = *n;
                        self.out.push_str(&format!("{n}. "));
                    }
                    _ => self.out.push('・'),
                }
                self.at_line_start = true;
            }
            "tr" => {
                self.breaks(1);
                self.cell = 0;
            }
            "td" | "th" => {
                if self.cell > 0 {
                    self.out.push_str(" | ");
                    self.at_line_start = true;
                }
                self.cell += 1;
            }
            "hr" => {
                self.breaks(1);
                self.out.push_str("――――――――――");
                self.breaks(1);
            }
            "img" => {
                if let Some(alt) = alt
                    .map(|a| decode_entities(&a))
                    .filter(|a| !a.trim().is_empty())
                {
                    self.push_text(&format!(" [画像: {}] ", alt.trim()));
                }
            }
            "a" => {
                if let Some(href) = el_href
                    && self.link.is_none()
                {
                    self.link = Some((decode_entities(&href), self.out.len()));
                }
            }
            "title" => self.in_title = true,
            _ => {}
        }
    }

    fn end(&mut self, tag: &str) {
        self.flush_text();
        match tag {
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "table" | "pre"
            | "dl" | "figure" | "address" | "center" | "fieldset" => {
                if tag == "pre" {
                    self.pre = self.pre.saturating_sub(1);
                }
                self.breaks(2);
            }
            "ul" | "ol" => {
                self.lists.pop();
                self.breaks(1);
            }
            "div" | "section" | "article" | "header" | "footer" | "main" | "nav" | "aside"
            | "form" | "caption" | "summary" | "details" | "li" | "tr" | "dt" | "dd" => {
                self.breaks(1)
            }
            "a" => {
                if let Some((href, start)) = self.link.take() {
                    let text = self.out.get(start..).unwrap_or_default().trim().to_owned();
                    let shown = if self.disable_links {
                        crate::links::defang(&href)
                    } else {
                        href.clone()
                    };
                    let same = text == href || crate::links::defang(&text) == shown;
                    if same && self.disable_links {
                        // The text is the URL itself: replace it rather than print it twice.
                        self.out.truncate(start);
                        self.push_text(&format!(" {shown}"));
                    } else if !href.starts_with('#') {
                        self.push_text(&format!(" <{shown}>"));
                    }
                    self.links.push(Link { href, text });
                }
            }
            "title" => self.in_title = false,
            _ => {}
        }
    }
}

/// Elements whose end tag may be left out; they are not counted for depth, or a long mail of
/// unclosed `<p>` would look deep.
fn optional_end(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "li"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "option"
            | "optgroup"
            | "thead"
            | "tbody"
            | "tfoot"
            | "colgroup"
            | "rt"
            | "rp"
            | "html"
            | "head"
            | "body"
    )
}

/// Converts HTML to text.
pub fn to_text(html: &str, opts: Options) -> Converted {
    if u64::try_from(html.len()).unwrap_or(u64::MAX) > opts.max_bytes {
        return Converted {
            text: strip_tags(html),
            links: Vec::new(),
            degraded: true,
        };
    }
    let state = Rc::new(RefCell::new(State {
        max_depth: opts.max_depth,
        at_line_start: true,
        disable_links: opts.disable_links,
        ..State::default()
    }));
    let s_el = Rc::clone(&state);
    let s_txt = Rc::clone(&state);
    let result = {
        let mut rewriter = HtmlRewriter::new(
            Settings::new()
                .with_memory_settings(
                    MemorySettings::new().with_max_allowed_memory_usage(64 * 1024 * 1024),
                )
                .append_element_content_handler(element!("*", move |el| {
                    let tag = el.tag_name();
                    let counted = el.can_have_content() && !optional_end(&tag);
                    {
                        let mut st = s_el.borrow_mut();
                        if st.too_deep || st.depth >= st.max_depth {
                            st.too_deep = true;
                            // Beyond the limit only text is kept: a line break for blocks.
                            if tag == "br" || tag == "p" || tag == "div" {
                                st.breaks(1);
                            }
                            return Ok(());
                        }
                        let href = if tag == "a" {
                            el.get_attribute("href")
                        } else {
                            None
                        };
                        let alt = if tag == "img" {
                            el.get_attribute("alt")
                        } else {
                            None
                        };
                        st.start(&tag, href, alt);
                        if counted {
                            st.depth += 1;
                        }
                    }
                    if el.can_have_content() {
                        let s_end = Rc::clone(&s_el);
                        el.on_end_tag(end_tag!(move |_end| {
                            let mut st = s_end.borrow_mut();
                            if counted {
                                st.depth = st.depth.saturating_sub(1);
                            }
                            st.end(&tag);
                            Ok(())
                        }))?;
                    }
                    Ok(())
                }))
                // Every text of the document, also the text outside any element (an HTML part
                // that is a bare fragment, `こんにちは<br>よろしく`): a text handler on elements
                // would see only what sits inside one.
                .append_document_content_handler(doc_text!(move |t| {
                    let mut st = s_txt.borrow_mut();
                    let skip = matches!(t.text_type(), TextType::ScriptData | TextType::RawText)
                        || st.in_title;
                    if !skip {
                        st.text_buf.push_str(t.as_str());
                        if t.last_in_text_node() {
                            st.flush_text();
                        }
                    }
                    if t.last_in_text_node() {
                        st.text_buf.clear();
                    }
                    // Nothing needs to be written out: the rewriter's output is discarded.
                    t.replace("", ContentType::Text);
                    Ok(())
                })),
            |_: &[u8]| {},
        );
        rewriter
            .write(html.as_bytes())
            .and_then(|()| rewriter.end())
    };
    let mut st = state.borrow_mut();
    st.flush_text();
    if result.is_err() {
        return Converted {
            text: strip_tags(html),
            links: std::mem::take(&mut st.links),
            degraded: true,
        };
    }
    let text = tidy(&st.out);
    Converted {
        text,
        links: std::mem::take(&mut st.links),
        degraded: st.too_deep,
    }
}

/// Trims trailing spaces on each line and squeezes runs of blank lines to one.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Removes tags without interpreting structure; script and style content is dropped.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(rest.get(..lt).unwrap_or_default()));
        let after = rest.get(lt..).unwrap_or_default();
        let lower_head: String = after
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let close = if lower_head.starts_with("<script") {
            find_ci(after, "</script").map(|i| i + 1)
        } else if lower_head.starts_with("<style") {
            find_ci(after, "</style").map(|i| i + 1)
        } else {
            Some(0)
        };
        let Some(from) = close else {
            rest = "";
            break;
        };
        let tail = after.get(from..).unwrap_or_default();
        match tail.find('>') {
            Some(gt) => {
                let tag = tail.get(..gt).unwrap_or_default().to_ascii_lowercase();
                if tag.starts_with("<br")
                    || tag.starts_with("<p")
                    || tag.starts_with("</p")
                    || tag.starts_with("<div")
                    || tag.starts_with("</div")
                    || tag.starts_with("<tr")
                    || tag.starts_with("<li")
                {
                    out.push('\n');
                }
                rest = tail.get(gt + 1..).unwrap_or_default();
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(&decode_entities(rest));
    tidy(&out)
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}

/// Decodes numeric character references and the named entities found in mail.
pub fn decode_entities(s: &str) -> String {
    decode_entities_cow(s).into_owned()
}

/// [`decode_entities`] without a copy when there is nothing to decode.
fn decode_entities_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(b'&', s.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        let end = after
            .char_indices()
            .take(33)
            .find(|(_, c)| *c == ';' || !(c.is_ascii_alphanumeric() || *c == '#'))
            .map(|(i, c)| (i, c == ';'));
        let decoded = end.and_then(|(i, semi)| {
            let name = after.get(..i)?;
            let ch = entity(name)?;
            Some((ch, if semi { i + 1 } else { i }))
        });
        match decoded {
            Some((ch, used)) => {
                out.push(ch);
                rest = after.get(used..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse::<u32>().ok()?
        };
        return Some(
            char::from_u32(code)
                .filter(|c| *c != '\0')
                .unwrap_or('\u{fffd}'),
        );
    }
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "yen" => '¥',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "times" => '×',
        "divide" => '÷',
        "rarr" => '→',
        "larr" => '←',
        "uarr" => '↑',
        "darr" => '↓',
        "sect" => '§',
        "deg" => '°',
        "plusmn" => '±',
        "zwj" => '\u{200d}',
        "zwnj" => '\u{200c}',
        "shy" => '\u{ad}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const OPTS: Options = Options {
        max_bytes: 1 << 20,
        max_depth: 64,
        disable_links: true,
    };

    #[test]
    fn paragraphs_lists_tables_and_links() {
        let html = "<html><head><title>T</title><style>p{color:red}</style></head><body>\
            <p>拝啓&nbsp;時下ますます<br>ご清栄</p><ul><li>一</li><li>二</li></ul>\
            <table><tr><td>項目</td><td>値</td></tr><tr><td>A</td><td>1</td></tr></table>\
            <p><a href=\"https://evil.example.com/x\">https://www.bank.co.jp/</a></p>\
            <script>alert(1)</script></body></html>";
        let c = to_text(html, OPTS);
        assert!(c.text.contains("拝啓 時下ますます\nご清栄"), "{}", c.text);
        assert!(c.text.contains("・一\n・二"), "{}", c.text);
        assert!(c.text.contains("項目 | 値\nA | 1"), "{}", c.text);
        assert!(
            c.text.contains("<hxxps://evil[.]example[.]com/x>"),
            "{}",
            c.text
        );
        assert!(!c.text.contains("alert"));
        assert!(!c.text.contains("color"));
        assert_eq!(c.links.len(), 1);
        assert!(!c.degraded);
    }

    #[test]
    fn text_outside_any_element_is_kept() {
        let c = to_text(
            "前書き <b>太字</b> 続き<p>段落</p>結び<br>追伸<script>alert(1)</script>",
            OPTS,
        );
        for word in ["前書き", "太字", "続き", "段落", "結び", "追伸"] {
            assert!(c.text.contains(word), "{word} in {}", c.text);
        }
        assert!(c.text.contains("前書き 太字 続き"), "{}", c.text);
        assert!(c.text.contains("結び\n追伸"), "{}", c.text);
        assert!(!c.text.contains("alert"), "{}", c.text);
        let c = to_text("こんにちは<br>よろしくお願いします", OPTS);
        assert_eq!(c.text.trim(), "こんにちは\nよろしくお願いします");
    }

    #[test]
    fn deep_nesting_degrades_but_keeps_text() {
        let html = format!(
            "{}深い本文{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        let start = std::time::Instant::now();
        let c = to_text(&html, OPTS);
        assert!(c.degraded);
        assert!(c.text.contains("深い本文"));
        assert!(start.elapsed().as_secs() < 10);
    }

    #[test]
    fn oversized_html_is_tag_stripped() {
        let c = to_text(
            "<p>a &amp; b</p><script>x()</script>",
            Options {
                max_bytes: 5,
                ..OPTS
            },
        );
        assert!(c.degraded);
        assert_eq!(c.text.trim(), "a & b");
    }
}
