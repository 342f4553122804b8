//! Links in mail: shown as text but disabled (`hxxps://example[.]jp/`), and checked for the
//! tricks phishing mail uses — a visible address that differs from the target, script and file
//! schemes, UNC paths, raw IP hosts and look-alike international domain names.

/// A finding about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFlag {
    /// Machine-readable code.
    pub code: &'static str,
    /// Japanese explanation.
    pub reason: String,
}

/// Disables a URL for display: `http`→`hxxp`, dots of the host shown as `[.]`.
pub fn defang(url: &str) -> String {
    let mut out = String::with_capacity(url.len() + 16);
    defang_into(&mut out, url);
    out
}

/// [`defang`] appended to `out` (no string of its own: bodies carry thousands of links).
pub fn defang_into(out: &mut String, url: &str) {
    let trimmed = url.trim();
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, trimmed),
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    match scheme {
        Some(s) => {
            if s.eq_ignore_ascii_case("http") {
                out.push_str("hxxp");
            } else if s.eq_ignore_ascii_case("https") {
                out.push_str("hxxps");
            } else if s.eq_ignore_ascii_case("ftp") {
                out.push_str("fxp");
            } else {
                out.push_str(&s.to_ascii_lowercase());
                out.push_str("-disabled");
            }
            out.push_str("://");
            push_dots_bracketed(out, host);
            out.push_str(tail);
        }
        None => {
            if let Some((s, keep)) = trimmed.split_once(':')
                && !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphabetic())
                && !keep.starts_with("//")
            {
                // mailto:, javascript:, data: … keep the text, break the scheme.
                out.push_str(&s.to_ascii_lowercase());
                out.push_str("[:]");
                push_dots_bracketed(out, keep);
                return;
            }
            push_dots_bracketed(out, host);
            out.push_str(tail);
        }
    }
}

/// Appends `s` with every `.` written as `[.]`.
fn push_dots_bracketed(out: &mut String, s: &str) {
    let mut parts = s.split('.');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for p in parts {
        out.push_str("[.]");
        out.push_str(p);
    }
}

/// The host of a URL (lower case, without user info and port), if it has one.
pub fn host_of(url: &str) -> Option<String> {
    let t = url.trim();
    let rest = if let Some((_, r)) = t.split_once("://") {
        r
    } else if let Some(r) = t.strip_prefix("//") {
        r
    } else if t.to_ascii_lowercase().starts_with("www.") {
        t
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let auth = rest.get(..end)?;
    let host = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_once(']')
            .map_or(host, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host.split_once(':').map_or(host, |(h, _)| h)
    };
    let host = host.trim_end_matches('.').to_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Second-level labels under which registrations happen one level deeper (`city.example.lg.jp`).
const SECOND_LEVEL: &[&str] = &[
    "co", "or", "ne", "ac", "ad", "ed", "go", "gr", "lg", "com", "net", "org", "gov", "edu",
];

/// The registrable part of a host, e.g. `www.city.example.lg.jp` → `example.lg.jp`.
pub fn registrable(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    if n <= 2 {
        return labels.join(".");
    }
    let second = labels.get(n - 2).copied().unwrap_or_default();
    let take = if SECOND_LEVEL.contains(&second) && labels.last().is_some_and(|t| t.len() == 2) {
        3
    } else {
        2
    };
    labels
        .get(n.saturating_sub(take)..)
        .unwrap_or_default()
        .join(".")
}

fn is_raw_ip(host: &str) -> bool {
    if host.contains(':') {
        return true; // IPv6 literal
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    // Decimal, octal or hex forms such as 3232235777 or 0xC0A80101 are read as addresses by
    // browsers and used to hide them.
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() <= 4
        && labels.iter().all(|l| {
            !l.is_empty()
                && (l.chars().all(|c| c.is_ascii_digit())
                    || (l.len() > 2
                        && l.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"))
                        && l.get(2..)
                            .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()))))
        })
}

fn is_confusable_char(c: char) -> bool {
    matches!(c as u32,
        0x0370..=0x03FF   // Greek
        | 0x0400..=0x052F // Cyrillic
        | 0xFF01..=0xFF5E // fullwidth ASCII
        | 0x2000..=0x206F // general punctuation (zero-width and bidi controls)
        | 0x1D00..=0x1DBF // phonetic extensions
        | 0x0250..=0x02AF // IPA
    )
}

/// True when a host is an internationalised name that could imitate an ASCII one: punycode
/// labels, or letters from scripts that look like Latin, or Latin mixed with other letters.
pub fn is_lookalike_host(host: &str) -> bool {
    host.split('.').any(|label| {
        let ascii_letters = label.chars().any(|c| c.is_ascii_alphabetic());
        let non_ascii = !label.is_ascii();
        label.starts_with("xn--")
            || label.chars().any(is_confusable_char)
            || (ascii_letters && non_ascii)
    })
}

/// Finds the first thing that looks like a URL or domain in link text.
fn domain_in_text(text: &str) -> Option<String> {
    for token in text.split(|c: char| c.is_whitespace() || "<>()[]「」\"'、。".contains(c)) {
        if let Some(h) = host_of(token) {
            return Some(h);
        }
        let t = token.trim_matches(|c: char| !c.is_alphanumeric());
        let parts: Vec<&str> = t.split('.').collect();
        if parts.len() >= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '-'))
            && parts
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Some(t.to_lowercase());
        }
    }
    None
}

/// Checks one link (`href` with its visible `text`).
pub fn check(href: &str, text: &str) -> Vec<LinkFlag> {
    let mut flags = Vec::new();
    let h = href.trim();
    let lower = h.to_ascii_lowercase();
    let scheme = lower
        .split_once(':')
        .map(|(s, _)| s.trim())
        .unwrap_or_default();
    if matches!(scheme, "javascript" | "vbscript" | "data" | "file") {
        flags.push(LinkFlag {
            code: "mail.link.dangerous-scheme",
            reason: format!("危険なスキーム ({scheme}:) のリンクです。"),
        });
    }
    if h.starts_with("\\\\") || lower.starts_with("file://") {
        flags.push(LinkFlag {
            code: "mail.link.unc",
            reason: "ファイル共有 (UNC) を指すリンクです。".to_owned(),
        });
    }
    if let Some(host) = host_of(h) {
        if is_raw_ip(&host) {
            flags.push(LinkFlag {
                code: "mail.link.raw-ip",
                reason: format!("ドメイン名ではなく IP アドレス ({host}) を指すリンクです。"),
            });
        }
        if is_lookalike_host(&host) {
            flags.push(LinkFlag {
                code: "mail.link.idn-lookalike",
                reason: format!(
                    "見た目の似た国際化ドメイン名の可能性があります ({}).",
                    escape_controls(&host)
                ),
            });
        }
        if let Some(shown) = domain_in_text(text)
            && registrable(&shown) != registrable(&host)
        {
            flags.push(LinkFlag {
                code: "mail.link.mismatch",
                reason: format!(
                    "表示されているドメイン ({}) と実際のリンク先 ({}) が異なります。",
                    escape_controls(&shown),
                    escape_controls(&host)
                ),
            });
        }
    }
    flags
}

/// Shows invisible and direction-changing characters as `<U+202E>` so a name cannot disguise
/// itself (e.g. `invoice<U+202E>fdp.exe`).
pub fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let cp = c as u32;
        let invisible = c.is_control()
            || matches!(cp, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF | 0x061C);
        if invisible {
            out.push_str(&format!("<U+{cp:04X}>"));
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds bare URLs in plain text and rewrites them disabled. Returns the new text and the URLs.
pub fn defang_text(text: &str) -> (String, Vec<String>) {
    match defang_urls(text) {
        Some((out, urls)) => (out, urls.into_iter().map(str::to_owned).collect()),
        None => (text.to_owned(), Vec::new()),
    }
}

/// [`defang_text`] without copies: `None` when the text has no URL (it stays as it is),
/// otherwise the rewritten text and the URLs as slices of `text`.
pub fn defang_urls(text: &str) -> Option<(String, Vec<&str>)> {
    let mut out: Option<String> = None;
    let mut urls = Vec::new();
    let rest = each_url(text, |before, url| {
        let out =
            out.get_or_insert_with(|| String::with_capacity(text.len() + text.len() / 8 + 16));
        out.push_str(before);
        defang_into(out, url);
        urls.push(url);
    });
    let mut out = out?;
    out.push_str(rest);
    Some((out, urls))
}

/// The bare URLs of `text`, as [`defang_urls`] finds them, without rewriting anything.
pub fn urls_in(text: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    each_url(text, |_, url| urls.push(url));
    urls
}

/// [`defang_urls`] written piece by piece into `put` instead of into a new string: the same
/// text, for a body that goes straight into the delivered message.
pub fn defang_pieces(text: &str, mut put: impl FnMut(&str)) {
    let mut scratch = String::new();
    let rest = each_url(text, |before, url| {
        put(before);
        scratch.clear();
        defang_into(&mut scratch, url);
        put(&scratch);
    });
    put(rest);
}

/// Calls `f(text before, url)` for each bare URL of `text` in order; returns the text after the
/// last one (all of `text` when there is none).
fn each_url<'t>(text: &'t str, mut f: impl FnMut(&'t str, &'t str)) -> &'t str {
    let mut rest = text;
    let mut pos = find_url_start(rest);
    // Both cuts fall on ASCII bytes (a URL starts with a letter and ends before a space, a
    // non-ASCII character or an ASCII delimiter), so the splits cannot fail.
    while let Some((before, from)) = pos.and_then(|at| rest.split_at_checked(at)) {
        let end = from
            .find(|c: char| c.is_whitespace() || !c.is_ascii() || URL_END_ASCII.contains(&c))
            .unwrap_or(from.len());
        let (url, after) = from.split_at_checked(end).unwrap_or((from, ""));
        f(before, url);
        rest = after;
        pos = find_url_start(rest);
    }
    rest
}

/// ASCII characters that end a bare URL in text (besides whitespace and any non-ASCII character).
const URL_END_ASCII: &[char] = &['<', '>', '"', '\''];

/// Start of the first URL in `s`: a `http://`, `https://` or `ftp://` scheme, or a bare `www.`.
/// Each search runs forward from the last match, so scanning a whole text stays linear; the
/// searches are memchr/memmem scans over bytes, which matters on megabyte bodies.
fn find_url_start(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    // A scheme name is the run of ASCII letters right before `://`; only these three count.
    let scheme = memchr::memmem::find_iter(bytes, b"://").find_map(|abs| {
        ["https", "http", "ftp"].iter().find_map(|k| {
            let start = abs.checked_sub(k.len())?;
            let name = bytes.get(start..abs)?;
            // The byte before the name must not be a letter (a multi-byte character ends in a
            // byte >= 0x80, so a name glued to Japanese text still starts a URL).
            let glued = start
                .checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_some_and(u8::is_ascii_alphabetic);
            (name.eq_ignore_ascii_case(k.as_bytes()) && !glued).then_some(start)
        })
    });
    let head = bytes.get(..scheme.unwrap_or(bytes.len())).unwrap_or(bytes);
    // A bare host only when not glued to a preceding ASCII word or path (`awww.` is not a URL);
    // each glued occurrence is skipped and the search goes on.
    let bare = |pat: &[u8]| {
        memchr::memmem::find_iter(head, pat).find(|&i| {
            i.checked_sub(1)
                .and_then(|p| bytes.get(p))
                .is_none_or(|&c| !c.is_ascii_alphanumeric() && c != b'.' && c != b'/')
        })
    };
    let www = match (bare(b"www."), bare(b"WWW.")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match (scheme, www) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn pieces_and_url_list_match_the_rewritten_text() {
        for text in [
            "",
            "リンクなし",
            "詳細はhttps://www.example.lg.jp/a.html をご覧ください。",
            "www.example.jp と http://a.example/x?y=1&z=2\nftp://f.example/ 末尾 https://b.example",
            "awww.example.jp www.example.jp <https://c.example/>",
        ] {
            let mut pieces = String::new();
            defang_pieces(text, |p| pieces.push_str(p));
            match defang_urls(text) {
                Some((rewritten, urls)) => {
                    assert_eq!(pieces, rewritten);
                    assert_eq!(urls_in(text), urls);
                    assert!(!urls.is_empty());
                }
                None => {
                    assert_eq!(pieces, text);
                    assert!(urls_in(text).is_empty());
                }
            }
        }
        let mut pieces = String::new();
        defang_pieces("see https://example.jp/a today", |p| pieces.push_str(p));
        assert_eq!(pieces, "see hxxps://example[.]jp/a today");
    }

    #[test]
    fn defangs_urls() {
        assert_eq!(
            defang("https://example.jp/a.html"),
            "hxxps://example[.]jp/a.html"
        );
        assert_eq!(defang("javascript:alert(1)"), "javascript[:]alert(1)");
        let (t, urls) = defang_text("詳細は https://www.city.example.lg.jp/x?y=1 をご覧ください。");
        assert_eq!(
            t,
            "詳細は hxxps://www[.]city[.]example[.]lg[.]jp/x?y=1 をご覧ください。"
        );
        assert_eq!(urls.len(), 1);
        // Glued to Japanese text, after a glued look-alike, upper case: all still found.
        let (t, urls) = defang_text(
            "詳細はhttps://evil.example/a、awww.x と www.evil.example とHTTP://b.example",
        );
        assert_eq!(
            t,
            "詳細はhxxps://evil[.]example/a、awww.x と www[.]evil[.]example とhxxp://b[.]example"
        );
        assert_eq!(urls.len(), 3);
        let (t, urls) = defang_text("see www.a.example/x and xhttp://no and 峡南www.b.example");
        assert_eq!(urls, ["www.a.example/x", "www.b.example"]);
        assert!(t.contains("xhttp://no"), "{t}");
    }

    #[test]
    fn flags_tricks() {
        let codes = |h: &str, t: &str| check(h, t).into_iter().map(|f| f.code).collect::<Vec<_>>();
        assert_eq!(
            codes("https://evil.example.com/", "https://www.bank.co.jp/"),
            ["mail.link.mismatch"]
        );
        assert!(codes("https://www.city.example.lg.jp/a", "www.example.lg.jp").is_empty());
        assert_eq!(
            codes("javascript:alert(1)", "click"),
            ["mail.link.dangerous-scheme"]
        );
        assert_eq!(codes("http://192.168.0.1/", "here"), ["mail.link.raw-ip"]);
        assert_eq!(codes("http://0xC0A80001/", "here"), ["mail.link.raw-ip"]);
        assert_eq!(
            codes("https://аpple.com/", "here"),
            ["mail.link.idn-lookalike"]
        );
        assert_eq!(codes("\\\\server\\share", "資料"), ["mail.link.unc"]);
        assert!(codes("https://日本語.jp/", "ここ").is_empty());
    }

    #[test]
    fn escapes_bidi_controls() {
        assert_eq!(escape_controls("a\u{202e}fdp.exe"), "a<U+202E>fdp.exe");
    }
}
