//! Mail → text (policy §6(3)②): any RFC 5322 / MIME message becomes a new message for delivery
//! into LGWAN with a plain-text body, the key headers only, links disabled, a notice of what was
//! found at the top and a list of the attachments (removed, or sanitised and re-attached) at the
//! bottom. Bodies are decoded from the raw part bytes with our own charset handling, so Japanese
//! mail in any label variant, or with a wrong label, comes out readable.

use std::borrow::Cow;

use base64::Engine as _;
use mail_parser::{
    Address, Encoding, HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

use crate::charset;
use crate::detect::{self, Kind};
use crate::html;
use crate::links;
use crate::policy::{AttachmentMode, OutputCharset, Policy, Rule};
use crate::report::{ActionKind, Findings, Outcome, Verdict, sha256_hex};
use crate::{FileSanitizer, clamd};

/// One attachment as listed in the notice.
struct Listed {
    name: String,
    kind: String,
    size: usize,
    sha256: String,
    result: String,
}

/// A file re-attached after sanitising.
struct Reattached {
    name: String,
    data: Vec<u8>,
}

struct Work<'a> {
    policy: &'a Policy,
    files: &'a dyn FileSanitizer,
    findings: Findings,
    notices: Vec<String>,
    listed: Vec<Listed>,
    reattached: Vec<Reattached>,
    forwarded: Vec<String>,
    parts: u32,
    removed: u32,
    links_disabled: bool,
    /// The top-level body still holds live URLs: `write_text` disables them as it writes.
    defang_body: bool,
    html_converted: bool,
    too_complex: bool,
    /// Results of [`links::check`] by link (`href`, NUL, text), for links seen again.
    link_checks: std::collections::HashMap<String, Vec<links::LinkFlag>>,
    /// Reused buffer for the key of `link_checks`.
    link_key: String,
}

impl Work<'_> {
    fn flag(&mut self, target: &str, code: &str, reason: String) {
        self.notices.push(reason.clone());
        self.findings
            .push(ActionKind::Flagged, target, code, reason);
        // A notice changes the body that is delivered.
        self.findings.mark_changed();
    }
}

/// Sanitises one message. Attachments go through `files` when the policy says to sanitise them.
pub fn sanitize_mail(input: &[u8], policy: &Policy, files: &dyn FileSanitizer) -> Outcome {
    let kind = "message/rfc822";
    let size = u64::try_from(input.len()).unwrap_or(u64::MAX);
    if size > policy.limits.message_bytes {
        return Outcome::blocked(
            input,
            kind,
            "",
            "limit.message-size",
            format!(
                "メールが大きすぎます ({size} バイト、上限 {} バイト)。",
                policy.limits.message_bytes
            ),
        );
    }
    let mut work = Work {
        policy,
        files,
        findings: Findings::default(),
        notices: Vec::new(),
        listed: Vec::new(),
        reattached: Vec::new(),
        forwarded: Vec::new(),
        parts: 0,
        removed: 0,
        links_disabled: false,
        defang_body: false,
        html_converted: false,
        too_complex: false,
        link_checks: std::collections::HashMap::new(),
        link_key: String::new(),
    };
    check_raw_headers(&mut work, input);
    let aliased = charset::alias_labels_in_message(input);
    let raw: &[u8] = aliased.as_deref().unwrap_or(input);
    let Some(message) = MessageParser::default().parse(raw) else {
        return Outcome::blocked(
            input,
            kind,
            "",
            "mail.malformed",
            "メールとして解析できないため遮断しました。".to_owned(),
        );
    };
    if message.headers().is_empty() && message.parts.len() <= 1 {
        return Outcome::blocked(
            input,
            kind,
            "",
            "mail.malformed",
            "メールのヘッダがないため遮断しました。".to_owned(),
        );
    }
    check_senders(&mut work, &message);
    let body = build_body(&mut work, &message, 0);
    if work.too_complex {
        let mut f = std::mem::take(&mut work.findings);
        f.block(
            "",
            "limit.mime",
            format!(
                "MIME 構造が複雑すぎます (パート数上限 {}、入れ子上限 {})。",
                policy.limits.mime_parts, policy.limits.mime_depth
            ),
        );
        return f.finish(input, kind, None, kind);
    }
    let output = assemble(&mut work, &message, raw, &body);
    let mut f = work.findings;
    if f.verdict() == Verdict::Clean && output.is_some() {
        f.push(
            ActionKind::Kept,
            "",
            "mail.text",
            "テキストのみのメールのため本文はそのまま通しました。",
        );
    }
    f.finish(input, kind, output, kind)
}

/// Checks the top-level header block as bytes: over-long lines, NUL and bare CR, several From.
fn check_raw_headers(work: &mut Work<'_>, raw: &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let head = raw.get(..end).unwrap_or(raw);
    let (mut long, mut nul, mut bare_cr, mut froms) = (false, false, false, 0u32);
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        long |= line.len() > 998;
        nul |= line.contains(&0);
        bare_cr |= line.contains(&b'\r');
        if line.len() >= 5
            && line
                .get(..5)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"from:"))
        {
            froms += 1;
        }
    }
    if long {
        work.flag(
            "header",
            "mail.header.too-long",
            "998 バイトを超えるヘッダ行があります (不正な形式)。".to_owned(),
        );
    }
    if nul {
        work.flag(
            "header",
            "mail.header.nul",
            "ヘッダに NUL 文字が含まれています (不正な形式)。".to_owned(),
        );
    }
    if bare_cr {
        work.flag(
            "header",
            "mail.header.bare-cr",
            "ヘッダに単独の CR が含まれています (不正な形式)。".to_owned(),
        );
    }
    if froms > 1 {
        work.flag(
            "From",
            "mail.from.multiple",
            format!("From ヘッダが {froms} 個あります (なりすましの可能性)。"),
        );
    }
}

fn domain_of(addr: &str) -> Option<String> {
    addr.rsplit_once('@')
        .map(|(_, d)| d.trim().trim_end_matches('>').to_lowercase())
}

fn is_internal(policy: &Policy, domain: &str) -> bool {
    policy.mail.internal_domains.iter().any(|d| {
        let d = d.trim().to_lowercase();
        domain == d || domain.ends_with(&format!(".{d}"))
    })
}

/// Display names that carry an address, or claim the organisation's own domain.
fn check_senders(work: &mut Work<'_>, message: &Message<'_>) {
    let froms: Vec<&Address<'_>> = message
        .header_values(HeaderName::From)
        .filter_map(|v| v.as_address())
        .collect();
    if froms.is_empty() {
        work.flag(
            "From",
            "mail.from.missing",
            "From ヘッダがありません。".to_owned(),
        );
        return;
    }
    for addr in froms.iter().flat_map(|a| a.iter()) {
        let name = addr.name().unwrap_or_default();
        let address = addr.address().unwrap_or_default();
        if name.contains('@') {
            let shown = links::escape_controls(name);
            let named_domain = domain_of(name).unwrap_or_default();
            if domain_of(address).as_deref() != Some(named_domain.as_str()) {
                work.flag(
                    "From",
                    "mail.from.display-address",
                    format!("差出人の表示名にアドレス ({shown}) が含まれ、実際のアドレス ({address}) と異なります。"),
                );
            }
        }
        let policy = work.policy;
        for d in &policy.mail.internal_domains {
            if !d.is_empty() && name.to_lowercase().contains(&d.to_lowercase()) {
                work.flag(
                    "From",
                    "mail.from.impersonation",
                    format!("差出人の表示名が組織内のドメイン ({d}) を名乗っています。"),
                );
            }
        }
        if let Some(dom) = domain_of(address)
            && is_internal(policy, &dom)
        {
            work.flag(
                    "From",
                    "mail.from.internal-domain",
                    format!("外部から届いたメールが組織内のドメイン ({dom}) を差出人にしています (なりすましの可能性)。"),
                );
        }
    }
}

/// The transfer-decoded bytes of a part, taken from the raw message.
fn raw_body(message: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    let raw = message.raw_message();
    let start = usize::try_from(part.offset_body).unwrap_or(usize::MAX);
    let mut end = usize::try_from(part.offset_end)
        .unwrap_or(usize::MAX)
        .min(raw.len());
    if end <= start {
        // A single-part message whose end the parser did not record: the body runs to the end.
        end = raw.len();
    }
    let slice = raw.get(start..end).unwrap_or_default();
    if slice.is_empty() {
        // Offsets that do not fit this message's bytes: use the parser's decoded contents.
        return part.contents().to_vec();
    }
    match part.encoding {
        Encoding::Base64 => {
            let clean: Vec<u8> = slice
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let cut = clean
                .iter()
                .position(|b| *b == b'=')
                .map_or(clean.len(), |p| p);
            let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
            let trimmed = clean
                .get(..cut - cut % 4 + if cut % 4 == 1 { 0 } else { cut % 4 })
                .unwrap_or_default();
            engine
                .decode(trimmed)
                .unwrap_or_else(|_| part.contents().to_vec())
        }
        Encoding::QuotedPrintable => qp_decode(slice),
        Encoding::None => slice.to_vec(),
    }
}

fn qp_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'=' {
            match (s.get(i + 1), s.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    let v = u8::from_str_radix(std::str::from_utf8(&[h, l]).unwrap_or("3F"), 16)
                        .unwrap_or(b'?');
                    out.push(v);
                    i += 3;
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Decodes a text part with our charset handling and notes guesses and leftovers. The parser's
/// text is borrowed when it can be used as it is.
fn part_text<'m>(
    work: &mut Work<'_>,
    message: &Message<'_>,
    part: &'m MessagePart<'_>,
    target: &str,
) -> Cow<'m, str> {
    let label = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(str::to_owned);
    // Fast path: a multi-byte label the parser understood (vendor aliases were rewritten before
    // parsing) and a text without signs of a wrong decode. Anything else is decoded again from
    // the raw bytes, where a wrong label can be detected and replaced by a guess.
    let trusted = label
        .as_deref()
        .and_then(charset::encoding_for_label)
        .is_some_and(|e| !e.is_single_byte());
    if trusted
        && let Some(text) = part.text_contents()
        && !charset::has_mojibake_signs(text)
    {
        return Cow::Borrowed(text);
    }
    let bytes = raw_body(message, part);
    let d = charset::decode(&bytes, label.as_deref());
    if d.guessed {
        work.findings.push(
            ActionKind::Converted,
            target,
            "mail.charset.guessed",
            format!(
                "文字コードの指定 ({}) が無いか誤っていたため、{} と推定して変換しました。",
                label.as_deref().unwrap_or("なし"),
                d.encoding.name()
            ),
        );
    }
    if d.had_errors || charset::has_mojibake_signs(&d.text) {
        work.flag(
            target,
            "mail.charset.mojibake",
            "本文に変換できない文字が残っています (文字化けの可能性)。".to_owned(),
        );
    }
    Cow::Owned(d.text)
}

/// Appends `next` to the texts joined so far, with `sep` between them when what came before is
/// not empty. A single text stays borrowed.
fn join_text<'m>(acc: Option<Cow<'m, str>>, next: Cow<'m, str>, sep: &str) -> Cow<'m, str> {
    match acc {
        Some(a) if !a.is_empty() => {
            let mut joined = a.into_owned();
            joined.push_str(sep);
            joined.push_str(&next);
            Cow::Owned(joined)
        }
        _ => next,
    }
}

/// True when `text` has fewer than `n` characters that are not whitespace (stops counting at
/// `n`, so a long body is not walked to the end).
fn fewer_visible_than(text: &str, n: usize) -> bool {
    text.chars().filter(|c| !c.is_whitespace()).take(n).count() < n
}

fn is_attachment(part: &MessagePart<'_>) -> bool {
    part.content_disposition()
        .is_some_and(|cd| cd.c_type.eq_ignore_ascii_case("attachment"))
        || part.attachment_name().is_some()
}

/// Walks a message: returns its body text and handles attachments and nested messages.
fn build_body<'m>(work: &mut Work<'_>, message: &'m Message<'_>, depth: u32) -> Cow<'m, str> {
    if depth > work.policy.limits.mime_depth {
        work.too_complex = true;
        return Cow::Borrowed("");
    }
    work.parts = work
        .parts
        .saturating_add(u32::try_from(message.parts.len()).unwrap_or(u32::MAX));
    if work.parts > work.policy.limits.mime_parts
        || mime_depth(message) > work.policy.limits.mime_depth
    {
        work.too_complex = true;
        return Cow::Borrowed("");
    }
    // Body: text/plain parts when meaningful, else the HTML parts converted. Texts are joined
    // only when there are several; one part's text is borrowed from the parser.
    let mut plain: Option<Cow<'m, str>> = None;
    // Each HTML part's text, and whether it stands on its own (is not one side of a
    // multipart/alternative: an HTML part next to a text part in multipart/mixed is more
    // content, not another rendering of the same text).
    let mut html_parts: Vec<(Cow<'m, str>, bool)> = Vec::new();
    // Parts declared as text whose content is not (a NUL byte: an executable or other binary
    // sent as text/plain); they are handled as attachments below, never put into the body.
    let mut binary_text: Vec<usize> = Vec::new();
    let alternatives = alternative_members(message);
    for (i, part) in message.parts.iter().enumerate() {
        if is_attachment(part) {
            continue;
        }
        let target = format!("part[{i}]");
        let is_plain = message
            .text_body
            .contains(&u32::try_from(i).unwrap_or(u32::MAX));
        let is_html = message
            .html_body
            .contains(&u32::try_from(i).unwrap_or(u32::MAX));
        match &part.body {
            PartType::Text(_) | PartType::Html(_)
                if (is_plain || is_html) && memchr::memchr(0, part.contents()).is_some() =>
            {
                binary_text.push(i);
            }
            PartType::Text(_) if is_plain || is_html => {
                let t = part_text(work, message, part, &target);
                plain = Some(join_text(plain, t, "\n"));
            }
            PartType::Html(_) if is_html || is_plain => {
                let t = part_text(work, message, part, &target);
                html_parts.push((t, !alternatives.get(i).copied().unwrap_or(false)));
            }
            _ => {}
        }
    }
    let plain = plain.unwrap_or_default();
    let html_len: usize = html_parts.iter().map(|(t, _)| t.len()).sum();
    let use_html = html_len > 0
        && (fewer_visible_than(&plain, 1)
            || (fewer_visible_than(&plain, 40) && html_len > plain.len() * 4));
    let joined = |parts: Vec<(Cow<'m, str>, bool)>| {
        parts
            .into_iter()
            .fold(None, |acc, (t, _)| Some(join_text(acc, t, "")))
            .unwrap_or_default()
    };
    let disable = work.policy.mail.disable_links;
    let mut body = if use_html {
        Cow::Owned(html_text(work, &joined(html_parts)))
    } else {
        let (standalone, alternative): (Vec<_>, Vec<_>) =
            html_parts.into_iter().partition(|(_, alone)| *alone);
        if alternative.iter().any(|(t, _)| !t.is_empty()) {
            work.findings.push(
                ActionKind::Removed,
                "body",
                "mail.html-alternative",
                "HTML の代替本文を除き、テキスト本文を使いました。",
            );
        }
        let standalone = joined(standalone);
        if standalone.is_empty() {
            plain
        } else {
            // Text parts first, then the HTML parts that stand on their own, converted.
            let converted = html_text(work, &standalone);
            Cow::Owned(format!("{plain}\n\n{converted}"))
        }
    };
    if disable && depth == 0 {
        // The message's own body goes into the delivered text as it is written
        // (`write_text`), its URLs disabled on the way: no rewritten copy of a body that can be
        // megabytes long. Their flags are needed first, for the notice at the top.
        let urls = links::urls_in(&body);
        for u in &urls {
            link_flags(work, u, "");
        }
        if !urls.is_empty() {
            work.links_disabled = true;
            work.defang_body = true;
        }
    } else if disable && let Some((text, urls)) = links::defang_urls(&body) {
        for u in &urls {
            link_flags(work, u, "");
        }
        work.links_disabled = true;
        body = Cow::Owned(text);
    }
    // Attachments and nested messages.
    for (i, part) in message.parts.iter().enumerate() {
        let id = u32::try_from(i).unwrap_or(u32::MAX);
        let in_body = !is_attachment(part)
            && (message.text_body.contains(&id) || message.html_body.contains(&id));
        match &part.body {
            PartType::Multipart(_) => {}
            PartType::Message(nested) => {
                let text = build_body(work, nested, depth + 1);
                let subject = nested.subject().unwrap_or_default().to_owned();
                let from = nested.from().map(address_text).unwrap_or_default();
                let date = nested.date().map(|d| d.to_rfc3339()).unwrap_or_default();
                work.forwarded.push(format!(
                    "---------- 添付されていたメッセージ ----------\n差出人: {}\n件名: {}\n日時: {}\n\n{}",
                    links::escape_controls(&from),
                    links::escape_controls(&subject),
                    date,
                    text
                ));
                work.findings.push(
                    ActionKind::Converted,
                    &format!("part[{i}]"),
                    "mail.nested-message",
                    "添付されていたメッセージをテキストにして本文の後に付けました。",
                );
            }
            _ if binary_text.contains(&i) => {
                work.flag(
                    &format!("part[{i}]"),
                    "mail.body.binary",
                    "テキストとして送られたパートにバイナリデータ (NUL 文字) が含まれるため、本文に入れず添付ファイルとして扱いました。".to_owned(),
                );
                attachment(work, message, part, i);
            }
            _ if in_body
                && !matches!(part.body, PartType::Binary(_) | PartType::InlineBinary(_)) => {}
            _ => {
                if i == 0 && matches!(part.body, PartType::Text(_) | PartType::Html(_)) {
                    continue;
                }
                attachment(work, message, part, i);
            }
        }
    }
    body
}

/// HTML converted to text under the policy's limits; notes the conversion and the links' flags.
fn html_text(work: &mut Work<'_>, src: &str) -> String {
    let l = &work.policy.limits;
    let disable = work.policy.mail.disable_links;
    let c = html::to_text(
        src,
        html::Options {
            max_bytes: l.html_bytes,
            max_depth: l.html_depth,
            disable_links: disable,
        },
    );
    work.html_converted = true;
    work.findings.push(
        ActionKind::Converted,
        "body",
        "mail.html-to-text",
        "HTML 本文をテキストに変換しました。",
    );
    if c.degraded {
        work.flag(
            "body",
            "mail.html.degraded",
            "HTML が大きすぎるか入れ子が深すぎるため、書式を省いてテキストだけを取り出しました。"
                .to_owned(),
        );
    }
    for link in &c.links {
        link_flags(work, &link.href, &link.text);
    }
    if !c.links.is_empty() && disable {
        work.links_disabled = true;
    }
    c.text
}

/// For each part id, whether it lies inside a multipart/alternative (at any depth below it).
fn alternative_members(message: &Message<'_>) -> Vec<bool> {
    let mut inside = vec![false; message.parts.len()];
    for part in &message.parts {
        let PartType::Multipart(children) = &part.body else {
            continue;
        };
        let is_alternative = part
            .content_type()
            .and_then(|ct| ct.subtype())
            .is_some_and(|s| s.eq_ignore_ascii_case("alternative"));
        if !is_alternative {
            continue;
        }
        // Its children and, through nested containers, all their descendants; a part already
        // marked is not walked again, so each container's children are pushed once.
        let mut stack: Vec<u32> = children.clone();
        while let Some(id) = stack.pop() {
            let Ok(i) = usize::try_from(id) else { continue };
            match inside.get_mut(i) {
                Some(slot) if !*slot => *slot = true,
                _ => continue,
            }
            if let Some(PartType::Multipart(grand)) = message.parts.get(i).map(|p| &p.body) {
                stack.extend(grand.iter().copied());
            }
        }
    }
    inside
}

fn mime_depth(message: &Message<'_>) -> u32 {
    fn walk(message: &Message<'_>, id: usize, depth: u32, budget: &mut u32) -> u32 {
        if *budget == 0 || depth > 64 {
            return depth;
        }
        *budget -= 1;
        match message.parts.get(id).map(|p| &p.body) {
            Some(PartType::Multipart(children)) => children
                .iter()
                .map(|c| {
                    walk(
                        message,
                        usize::try_from(*c).unwrap_or(usize::MAX),
                        depth + 1,
                        budget,
                    )
                })
                .max()
                .unwrap_or(depth),
            _ => depth,
        }
    }
    let mut budget = 10_000;
    walk(message, 0, 0, &mut budget)
}

fn link_flags(work: &mut Work<'_>, href: &str, text: &str) {
    // The same link is usually written many times in one mail (a signature, a notice URL in
    // every paragraph): its checks are done once, and their flags recorded for every
    // occurrence as before.
    let mut key = std::mem::take(&mut work.link_key);
    key.clear();
    key.push_str(href);
    key.push('\0');
    key.push_str(text);
    let flags = match work.link_checks.get(key.as_str()) {
        Some(flags) => flags.clone(),
        None => {
            let flags = links::check(href, text);
            work.link_checks.insert(key.clone(), flags.clone());
            flags
        }
    };
    work.link_key = key;
    for f in flags {
        let shown = links::defang(href);
        work.flag(
            &format!("link {shown}"),
            f.code,
            format!("リンク {shown}: {}", f.reason),
        );
    }
}

fn address_text(a: &Address<'_>) -> String {
    a.iter()
        .map(|x| match (x.name(), x.address()) {
            (Some(n), Some(ad)) => format!("{n} <{ad}>"),
            (None, Some(ad)) => ad.to_owned(),
            (Some(n), None) => n.to_owned(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// True when a zip's local headers mark any entry as encrypted (checked on bytes, no parsing).
fn zip_is_encrypted(data: &[u8]) -> bool {
    let mut pos = 0;
    while let Some(off) = data
        .get(pos..)
        .and_then(|d| d.windows(4).position(|w| w == b"PK\x03\x04"))
    {
        let at = pos + off;
        if data.get(at + 6).is_some_and(|flags| flags & 0x01 != 0) {
            return true;
        }
        pos = at + 4;
    }
    false
}

fn has_macros(data: &[u8], kind: Kind) -> bool {
    match kind {
        Kind::Ooxml(e) => e.ends_with('m'),
        Kind::Ole => {
            let utf16 = |s: &str| {
                s.encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect::<Vec<u8>>()
            };
            let vba = utf16("_VBA_PROJECT");
            let macros = utf16("Macros");
            data.windows(vba.len()).any(|w| w == vba.as_slice())
                || data.windows(macros.len()).any(|w| w == macros.as_slice())
        }
        _ => false,
    }
}

fn attachment(work: &mut Work<'_>, message: &Message<'_>, part: &MessagePart<'_>, index: usize) {
    let name = part.attachment_name().unwrap_or_default().to_owned();
    let shown = if name.is_empty() {
        format!("(名前なし {index})")
    } else {
        links::escape_controls(&name)
    };
    let target = format!("attachment {shown}");
    let ct = part
        .content_type()
        .map(|c| {
            format!("{}/{}", c.c_type, c.c_subtype.as_deref().unwrap_or("")).to_ascii_lowercase()
        })
        .unwrap_or_default();
    let data: Cow<'_, [u8]> = match &part.body {
        PartType::Text(_) | PartType::Html(_) => Cow::Owned(raw_body(message, part)),
        _ => Cow::Borrowed(part.contents()),
    };
    let kind = detect::detect(&data);
    let mut listed = Listed {
        name: shown.clone(),
        kind: kind.name().to_owned(),
        size: data.len(),
        sha256: sha256_hex(&data),
        result: String::new(),
    };
    work.removed += 1;
    if shown != name && !name.is_empty() {
        work.flag(
            &target,
            "mail.attachment.bidi",
            format!("添付ファイル名に見えない制御文字・向きを変える文字があります: {shown}"),
        );
    }
    if detect::has_double_extension(&name) {
        work.flag(
            &target,
            "mail.attachment.double-extension",
            format!("二重拡張子の添付ファイルです: {shown}"),
        );
    }
    let ext = detect::extension(&name).unwrap_or_default();
    if matches!(kind, Kind::Executable(_)) || detect::DANGEROUS_EXTENSIONS.contains(&ext.as_str()) {
        work.flag(
            &target,
            "mail.attachment.executable",
            format!("実行可能な内容の添付ファイルです: {shown}"),
        );
    }
    if has_macros(&data, kind) {
        work.flag(
            &target,
            "mail.attachment.macro",
            format!("マクロ付き文書の添付ファイルです: {shown}"),
        );
    }
    let tnef = ct == "application/ms-tnef"
        || name.eq_ignore_ascii_case("winmail.dat")
        || kind == Kind::OtherArchive("tnef");
    if tnef {
        work.flag(
            &target,
            "mail.attachment.tnef",
            "Outlook 独自形式 (winmail.dat / TNEF) の添付です。中身は検査できません。".to_owned(),
        );
    }
    let partial = ct == "message/partial" || ct == "message/external-body";
    if partial {
        work.flag(
            &target,
            "mail.partial",
            "分割・外部参照メッセージ (message/partial 等) は検査できません。".to_owned(),
        );
    }
    let ppap = kind == Kind::Zip && zip_is_encrypted(&data);
    if ppap {
        work.flag(
            &target,
            "mail.attachment.encrypted-archive",
            format!("パスワード付き ZIP (PPAP) の添付です。中身を検査できません: {shown}"),
        );
    }
    // Virus scan first when configured: a match blocks whatever the mode.
    if !work.policy.scan.clamd.is_empty() {
        match clamd::scan(&work.policy.scan.clamd, &data) {
            Ok(clamd::ScanResult::Clean) => {}
            Ok(clamd::ScanResult::Found(sig)) => {
                let reason =
                    format!("ウイルス検査でマルウェア ({sig}) が検出されたため遮断しました。");
                work.findings
                    .push(ActionKind::Blocked, &target, "scan.malware", reason.clone());
                work.findings.mark_changed();
                listed.result = reason;
                work.listed.push(listed);
                return;
            }
            Err(e) => {
                if work.policy.scan.required {
                    let reason = format!("ウイルス検査ができないため遮断しました ({e})。");
                    work.findings.push(
                        ActionKind::Blocked,
                        &target,
                        "scan.unavailable",
                        reason.clone(),
                    );
                    work.findings.mark_changed();
                    listed.result = reason;
                    work.listed.push(listed);
                    return;
                }
                work.flag(
                    &target,
                    "scan.unavailable",
                    format!("ウイルス検査ができませんでした ({e})。"),
                );
            }
        }
    }
    let blocked_here =
        (ppap && work.policy.mail.encrypted_archive != Rule::Allow) || tnef || partial;
    if work.policy.mail.attachments == AttachmentMode::Remove || blocked_here {
        listed.result = if blocked_here {
            "遮断・削除しました".to_owned()
        } else {
            "削除しました".to_owned()
        };
        work.findings.push(
            ActionKind::Removed,
            &target,
            "mail.attachment.removed",
            format!("添付ファイル {shown} を削除しました。"),
        );
        work.listed.push(listed);
        return;
    }
    let outcome = work.files.sanitize(&data, Some(&name), work.policy);
    work.findings.absorb(&target, &outcome.report.actions);
    match (outcome.report.verdict, outcome.output) {
        (Verdict::Clean | Verdict::Sanitized, Some(bytes)) => {
            let out_kind = outcome
                .report
                .output
                .as_ref()
                .map(|d| d.kind.clone())
                .unwrap_or_default();
            let new_name = rename_for(&name, &out_kind, index);
            listed.result = if outcome.report.verdict == Verdict::Clean {
                format!(
                    "検査して添付しました ({})",
                    links::escape_controls(&new_name)
                )
            } else {
                format!(
                    "無害化して添付しました ({})",
                    links::escape_controls(&new_name)
                )
            };
            work.findings.push(
                ActionKind::Rebuilt,
                &target,
                "mail.attachment.reattached",
                format!("添付ファイル {shown} を無害化して再添付しました。"),
            );
            work.removed -= 1;
            work.reattached.push(Reattached {
                name: new_name,
                data: bytes,
            });
        }
        _ => {
            let why = outcome
                .report
                .block_reason()
                .map(|a| a.reason.clone())
                .unwrap_or_default();
            listed.result = format!("遮断・削除しました: {why}");
            work.findings.push(
                ActionKind::Removed,
                &target,
                "mail.attachment.blocked",
                format!("添付ファイル {shown} は遮断されたため削除しました。"),
            );
        }
    }
    work.listed.push(listed);
}

/// Gives a re-attached file the extension of what it now is (a `.docm` rebuilt is a `.docx`).
fn rename_for(name: &str, out_kind: &str, index: usize) -> String {
    let base = if name.is_empty() {
        format!("attachment-{index}")
    } else {
        name.to_owned()
    };
    let clean: String = base.chars().filter(|c| !c.is_control() && !matches!(*c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF)).collect();
    let want = match out_kind {
        "docx" | "xlsx" | "pptx" | "png" => out_kind,
        "text" => "txt",
        _ => return clean,
    };
    match clean.rsplit_once('.') {
        Some((stem, ext)) if !ext.eq_ignore_ascii_case(want) => format!("{stem}.{want}"),
        Some(_) => clean,
        None => format!("{clean}.{want}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Output

fn printable_ascii(s: &str, max: usize) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Encodes a header value as RFC 2047 encoded-words when it is not plain ASCII.
fn encode_header(value: &str, cs: OutputCharset) -> String {
    let value: String = value.chars().filter(|c| !c.is_control()).collect();
    if value.is_ascii() {
        return value;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    let flush = |chunk: &str, words: &mut Vec<String>| {
        if chunk.is_empty() {
            return;
        }
        let (label, bytes) = match cs {
            OutputCharset::Utf8 => ("UTF-8", chunk.as_bytes().to_vec()),
            OutputCharset::Iso2022Jp => (
                "ISO-2022-JP",
                encoding_rs::ISO_2022_JP.encode(chunk).0.into_owned(),
            ),
        };
        words.push(format!(
            "=?{label}?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ));
    };
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 36 {
            flush(&chunk, &mut words);
            chunk.clear();
        }
        chunk.push(c);
    }
    flush(&chunk, &mut words);
    words.join("\r\n ")
}

fn encode_addresses(a: &Address<'_>, cs: OutputCharset) -> String {
    a.iter()
        .filter_map(|x| {
            let addr = printable_ascii(x.address()?, 320).replace(['<', '>', ',', ';', '"'], "");
            Some(match x.name().filter(|n| !n.trim().is_empty()) {
                Some(n) if n.is_ascii() => {
                    let n = printable_ascii(n, 200).replace(['"', '\\'], "");
                    format!("\"{n}\" <{addr}>")
                }
                Some(n) => format!("{} <{addr}>", encode_header(&links::escape_controls(n), cs)),
                None => format!("<{addr}>"),
            })
        })
        .collect::<Vec<_>>()
        .join(",\r\n ")
}

/// Headers carried over (the MIME ones are written anew).
const KEPT_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

fn raw_header(message: &Message<'_>, name: HeaderName<'_>) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| printable_ascii(&v.replace(['\r', '\n'], " "), 4000))
}

/// Bytes per base64 line: 57 bytes encode to exactly 76 characters.
const LINE_BYTES: usize = 57;

/// Appends one line: up to 57 bytes base64-encoded, then CRLF.
fn push_base64_line(out: &mut Vec<u8>, chunk: &[u8]) {
    let mut line = [0u8; 80];
    if let Ok(n) = base64::engine::general_purpose::STANDARD.encode_slice(chunk, &mut line) {
        out.extend_from_slice(line.get(..n).unwrap_or_default());
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `bytes` base64-encoded in lines of 76 characters, each ended by CRLF, in one pass
/// straight into `out` (no intermediate string).
fn push_base64_lines(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len().div_ceil(LINE_BYTES) * 78);
    for chunk in bytes.chunks(LINE_BYTES) {
        push_base64_line(out, chunk);
    }
}

/// Base64 lines written as the bytes arrive in pieces of any size: the same lines
/// [`push_base64_lines`] writes for all the pieces at once.
struct Base64Lines<'a> {
    out: &'a mut Vec<u8>,
    /// Bytes of the line not yet complete.
    carry: [u8; LINE_BYTES],
    carry_len: usize,
}

impl<'a> Base64Lines<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Base64Lines {
            out,
            carry: [0; LINE_BYTES],
            carry_len: 0,
        }
    }

    fn put_bytes(&mut self, mut bytes: &[u8]) {
        if self.carry_len > 0 {
            let take = (LINE_BYTES - self.carry_len).min(bytes.len());
            let (head, rest) = bytes.split_at_checked(take).unwrap_or((bytes, &[]));
            if let Some(room) = self.carry.get_mut(self.carry_len..self.carry_len + take) {
                room.copy_from_slice(head);
            }
            self.carry_len += take;
            bytes = rest;
            if self.carry_len < LINE_BYTES {
                return;
            }
            push_base64_line(self.out, &self.carry);
            self.carry_len = 0;
        }
        let mut lines = bytes.chunks_exact(LINE_BYTES);
        for line in &mut lines {
            push_base64_line(self.out, line);
        }
        let rest = lines.remainder();
        if let Some(room) = self.carry.get_mut(..rest.len()) {
            room.copy_from_slice(rest);
            self.carry_len = rest.len();
        }
    }

    /// Writes the last, shorter line.
    fn finish(self) {
        if self.carry_len > 0 {
            push_base64_line(
                self.out,
                self.carry.get(..self.carry_len).unwrap_or_default(),
            );
        }
    }
}

/// Where [`CrlfText`] writes: a string, or base64 lines.
trait TextSink {
    fn put(&mut self, text: &str);
}

impl TextSink for String {
    fn put(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl TextSink for Base64Lines<'_> {
    fn put(&mut self, text: &str) {
        self.put_bytes(text.as_bytes());
    }
}

/// RFC 2231 `filename*=UTF-8''…` parameter for a non-ASCII name.
fn filename_param(name: &str) -> String {
    if name.is_ascii() && !name.contains(['"', '\\']) {
        return format!("filename=\"{name}\"");
    }
    let mut enc = String::new();
    for b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            enc.push(char::from(*b));
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("filename*=UTF-8''{enc}")
}

/// Writes the delivered text: the notice with every flag at the top, the body, forwarded
/// messages and the list of attachments.
fn write_text<S: TextSink>(work: &Work<'_>, body: &str, text: &mut CrlfText<S>) {
    // Notice at the top: every flag, so the reader sees them before the text.
    text.push(
        "【無害化通知】このメールはインターネットから届いたため、テキスト形式に変換しました。\n",
    );
    if work.links_disabled {
        text.push("リンクは無効化しています (hxxps://example[.]jp/ の形)。\n");
    }
    if !work.notices.is_empty() {
        text.push("\n■ 注意\n");
        let mut seen = std::collections::BTreeSet::new();
        for n in &work.notices {
            if seen.insert(n.as_str()) {
                text.push("・");
                text.push(n);
                text.push("\n");
            }
        }
    }
    text.push("――――――――――――――――――――――――――――――\n\n");
    if work.defang_body {
        links::defang_pieces(body.trim_end(), |piece| text.push(piece));
    } else {
        text.push(body.trim_end());
    }
    text.push("\n");
    for f in &work.forwarded {
        text.push("\n");
        text.push(f.trim_end());
        text.push("\n");
    }
    if !work.listed.is_empty() {
        text.push("\n――――――――――――――――――――――――――――――\n■ 添付ファイル\n");
        for (i, l) in work.listed.iter().enumerate() {
            text.push(&format!(
                "{}. {} (種類: {}, {} バイト, SHA-256: {})\n   → {}\n",
                i + 1,
                l.name,
                l.kind,
                l.size,
                l.sha256,
                l.result
            ));
        }
    }
}

/// Room for the delivered text of `body`: CRLF line ends, URLs disabled as the text is written
/// and the notices take a little more.
fn text_capacity(body: &str) -> usize {
    body.len() + body.len() / 16 + 4096
}

fn assemble(work: &mut Work<'_>, message: &Message<'_>, raw: &[u8], body: &str) -> Option<Vec<u8>> {
    let cs = work.policy.mail.output_charset;
    // ISO-2022-JP: the text is encoded as a whole, then base64-encoded. UTF-8: the text is
    // base64-encoded as it is written, after the headers (no copy of the whole text).
    let (encoded, label) = match cs {
        OutputCharset::Utf8 => (None, "UTF-8"),
        OutputCharset::Iso2022Jp => {
            let mut text = CrlfText::new(String::with_capacity(text_capacity(body)));
            write_text(work, body, &mut text);
            let (bytes, _, unmappable) = encoding_rs::ISO_2022_JP.encode(&text.out);
            if unmappable {
                work.findings.push(
                    ActionKind::Flagged,
                    "body",
                    "mail.charset.unmappable",
                    "ISO-2022-JP で表せない文字を &#番号; の形にしました。",
                );
            }
            (Some(bytes.into_owned()), "ISO-2022-JP")
        }
    };
    let write_body = |out: &mut Vec<u8>, work: &Work<'_>| match &encoded {
        Some(bytes) => push_base64_lines(out, bytes),
        None => {
            let mut text = CrlfText::new(Base64Lines::new(out));
            write_text(work, body, &mut text);
            text.out.finish();
        }
    };

    let mut h = String::new();
    if let Some(from) = message.from() {
        h.push_str(&format!("From: {}\r\n", encode_addresses(from, cs)));
    }
    if let Some(to) = message.to() {
        h.push_str(&format!("To: {}\r\n", encode_addresses(to, cs)));
    }
    if let Some(cc) = message.cc() {
        h.push_str(&format!("Cc: {}\r\n", encode_addresses(cc, cs)));
    }
    let mut subject = subject_text(message, raw);
    let tag = work.policy.mail.subject_tag.clone();
    if !tag.is_empty() && !subject.starts_with(&tag) {
        subject = format!("{tag}{subject}");
    }
    h.push_str(&format!(
        "Subject: {}\r\n",
        encode_header(&links::escape_controls(&subject), cs)
    ));
    for (name, hn) in [
        ("Date", HeaderName::Date),
        ("Message-ID", HeaderName::MessageId),
        ("In-Reply-To", HeaderName::InReplyTo),
        ("References", HeaderName::References),
    ] {
        if let Some(v) = raw_header(message, hn).filter(|v| !v.is_empty()) {
            h.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    let mut marks = vec!["text-converted".to_owned()];
    if work.html_converted {
        marks.push("html-to-text".to_owned());
    }
    if work.removed > 0 {
        marks.push(format!("attachments-removed={}", work.removed));
    }
    if !work.reattached.is_empty() {
        marks.push(format!("attachments-sanitized={}", work.reattached.len()));
    }
    if work.links_disabled {
        marks.push("links-disabled".to_owned());
        work.findings.push(
            ActionKind::Neutralized,
            "body",
            "mail.links-disabled",
            "本文のリンクを無効化しました。",
        );
    }
    if !work.notices.is_empty() {
        marks.push(format!("flags={}", work.notices.len()));
    }
    if work.removed > 0 || !work.reattached.is_empty() {
        work.findings.mark_changed();
    }
    h.push_str(&format!("X-Mamori-Sanitized: {}\r\n", marks.join("; ")));
    h.push_str("MIME-Version: 1.0\r\n");

    let text_part_headers = format!(
        "Content-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: base64\r\n"
    );
    let mut out = Vec::with_capacity(h.len() + text_capacity(body).div_ceil(57) * 78 + 256);
    out.extend_from_slice(h.as_bytes());
    if work.reattached.is_empty() {
        out.extend_from_slice(text_part_headers.as_bytes());
        out.extend_from_slice(b"\r\n");
        write_body(&mut out, &*work);
    } else {
        let boundary = format!("=_mamori_{}", sha256_hex(raw).get(..24).unwrap_or("0"));
        out.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(format!("--{boundary}\r\n{text_part_headers}\r\n").as_bytes());
        write_body(&mut out, &*work);
        for a in &work.reattached {
            out.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; {}\r\n\r\n",
                    filename_param(&a.name)
                )
                .as_bytes(),
            );
            push_base64_lines(&mut out, &a.data);
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    }
    let mut dropped: Vec<String> = message
        .headers()
        .iter()
        .map(|h| h.name.as_str().to_ascii_lowercase())
        .filter(|n| !KEPT_HEADERS.contains(&n.as_str()))
        .collect();
    if !dropped.is_empty() {
        dropped.sort();
        dropped.dedup();
        work.findings.push(
            ActionKind::Removed,
            "header",
            "mail.headers-reduced",
            format!(
                "配送に必要なヘッダ以外 ({}) を除きました。",
                dropped.join(", ")
            ),
        );
    }
    Some(out)
}

/// Text whose line ends are written as CRLF while it is appended: bare CR and bare LF alike, and
/// a CR LF pair once, also when the CR ends one piece and the LF starts the next — the same as
/// converting the whole text at the end. Runs between line ends are copied whole.
struct CrlfText<S> {
    out: S,
    /// The last piece ended with a CR (already written as CRLF): a LF starting the next piece
    /// belongs to it.
    after_cr: bool,
}

impl<S: TextSink> CrlfText<S> {
    fn new(out: S) -> Self {
        CrlfText {
            out,
            after_cr: false,
        }
    }

    fn push(&mut self, text: &str) {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return;
        }
        let mut start = usize::from(self.after_cr && bytes.first() == Some(&b'\n'));
        self.after_cr = false;
        while let Some(off) = bytes
            .get(start..)
            .and_then(|rest| memchr::memchr2(b'\r', b'\n', rest))
        {
            let at = start + off;
            // CR and LF are ASCII, so these cuts are on character boundaries.
            self.out.put(text.get(start..at).unwrap_or_default());
            self.out.put("\r\n");
            start = at + 1;
            if bytes.get(at) == Some(&b'\r') {
                match bytes.get(at + 1) {
                    Some(b'\n') => start = at + 2,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.out.put(text.get(start..).unwrap_or_default());
    }
}

/// The subject, repaired from the raw header bytes when the parser could not decode it.
fn subject_text(message: &Message<'_>, raw: &[u8]) -> String {
    let parsed = message.subject().unwrap_or_default().to_owned();
    if !parsed.contains('\u{fffd}') {
        return parsed;
    }
    let Some(h) = message
        .headers()
        .iter()
        .find(|h| matches!(h.name, HeaderName::Subject))
    else {
        return parsed;
    };
    let start = usize::try_from(h.offset_start).unwrap_or(usize::MAX);
    let end = usize::try_from(h.offset_end).unwrap_or(usize::MAX);
    match raw.get(start..end) {
        Some(bytes) => charset::decode(bytes, None)
            .text
            .trim()
            .replace(['\r', '\n'], ""),
        None => parsed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    /// The line-end conversion of one whole text, written out plainly.
    fn crlf_whole(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    out.push_str("\r\n");
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                }
                '\n' => out.push_str("\r\n"),
                c => out.push(c),
            }
        }
        out
    }

    fn crlf_pieces(pieces: &[&str]) -> String {
        let mut t = CrlfText::new(String::new());
        for p in pieces {
            t.push(p);
        }
        t.out
    }

    #[test]
    fn crlf_text_converts_every_line_end_once() {
        assert_eq!(crlf_pieces(&["a\nb\rc\r\nd"]), "a\r\nb\r\nc\r\nd");
        assert_eq!(crlf_pieces(&["\r", "\n", "x"]), "\r\nx");
        assert_eq!(crlf_pieces(&["a\r", "", "\nb"]), "a\r\nb");
        assert_eq!(crlf_pieces(&["a\r", "b"]), "a\r\nb");
        assert_eq!(crlf_pieces(&["a\r\n", "\n"]), "a\r\n\r\n");
        assert_eq!(
            crlf_pieces(&["峡南\r", "\n広域\r\r\n"]),
            "峡南\r\n広域\r\n\r\n"
        );
        assert_eq!(crlf_pieces(&[]), "");
    }

    proptest::proptest! {
        #[test]
        fn crlf_text_in_pieces_equals_whole(
            pieces in proptest::collection::vec("[a\r\n峡 ]{0,6}", 0..8)
        ) {
            let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(crlf_pieces(&refs), crlf_whole(&pieces.concat()));
        }
    }

    proptest::proptest! {
        #[test]
        fn base64_lines_in_pieces_equal_all_at_once(
            pieces in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..130), 0..8)
        ) {
            let mut streamed = Vec::new();
            let mut lines = Base64Lines::new(&mut streamed);
            for p in &pieces {
                lines.put_bytes(p);
            }
            lines.finish();
            let mut whole = Vec::new();
            push_base64_lines(&mut whole, &pieces.concat());
            proptest::prop_assert_eq!(streamed, whole);
        }
    }

    #[test]
    fn base64_lines_are_76_characters() {
        let mut out = Vec::new();
        let mut lines = Base64Lines::new(&mut out);
        lines.put_bytes(&[b'a'; 50]);
        lines.put_bytes(&[b'b'; 70]);
        lines.finish();
        let text = String::from_utf8(out).unwrap();
        let lens: Vec<usize> = text.split("\r\n").map(str::len).collect();
        assert_eq!(lens, [76, 76, 8, 0]);
    }

    #[test]
    fn joined_texts_match_appending() {
        let join = |parts: &[&str], sep: &str| {
            parts
                .iter()
                .fold(None, |acc, p| Some(join_text(acc, Cow::Borrowed(*p), sep)))
                .unwrap_or_default()
                .into_owned()
        };
        assert_eq!(join(&["a", "b"], "\n"), "a\nb");
        assert_eq!(join(&["", "b"], "\n"), "b");
        assert_eq!(join(&["a", "", "c"], "\n"), "a\n\nc");
        assert_eq!(join(&["a", ""], "\n"), "a\n");
        assert_eq!(join(&["<p>", "x"], ""), "<p>x");
        assert!(matches!(
            join_text(None, Cow::Borrowed("only"), "\n"),
            Cow::Borrowed("only")
        ));
    }

    #[test]
    fn visible_characters_are_counted_up_to_the_limit() {
        // U+3000 (ideographic space) is whitespace too.
        assert!(fewer_visible_than(" \n\t\u{3000}", 1));
        assert!(!fewer_visible_than(" x", 1));
        assert!(fewer_visible_than(&"あ".repeat(39), 40));
        assert!(!fewer_visible_than(&"あ ".repeat(40), 40));
    }
}
