//! Japanese charsets: label normalisation for the names common parsers miss, decoding with a
//! guess when the label is missing or wrong, and checks for leftovers of a wrong decode.

use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// Maps a charset label to an encoding, including the vendor names seen in Japanese mail.
///
/// encoding_rs's Shift_JIS is the Windows variant (CP932) and its ISO-2022-JP and EUC-JP decoders
/// accept the NEC and IBM extensions, so the vendor labels map onto them without loss.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches('"').trim().to_ascii_lowercase();
    let l = l.replace('_', "-");
    let enc = match l.as_str() {
        "cp932" | "windows-31j" | "x-sjis" | "sjis" | "shift-jis" | "ms932" | "ms-kanji"
        | "x-ms-cp932" | "ibm-943" | "csshiftjis" | "shiftjis" | "sjis-open" | "sjis-win"
        | "cp943" => SHIFT_JIS,
        "iso-2022-jp"
        | "iso-2022-jp-ms"
        | "cp50220"
        | "cp50221"
        | "cp50222"
        | "iso-2022-jp-1"
        | "iso-2022-jp-2"
        | "iso-2022-jp-3"
        | "iso-2022-jp-2004"
        | "csiso2022jp"
        | "jis"
        | "x-windows-iso2022jp"
        | "iso2022jp" => ISO_2022_JP,
        "euc-jp"
        | "cp51932"
        | "eucjp-ms"
        | "eucjp-win"
        | "eucjp-open"
        | "x-euc-jp"
        | "eucjp"
        | "euc-jis-2004"
        | "cseucpkdfmtjapanese" => EUC_JP,
        "utf8" | "unicode-1-1-utf-8" => UTF_8,
        other => return Encoding::for_label(other.as_bytes()),
    };
    Some(enc)
}

/// The label a generic MIME parser understands for `label`, if it is one of the vendor aliases.
pub fn canonical_label(label: &str) -> Option<&'static str> {
    let enc = encoding_for_label(label)?;
    let lower = label.to_ascii_lowercase();
    let known = ["shift_jis", "iso-2022-jp", "euc-jp", "utf-8"];
    if known.contains(&lower.as_str()) {
        return None;
    }
    if enc == SHIFT_JIS {
        Some("shift_jis")
    } else if enc == ISO_2022_JP {
        Some("iso-2022-jp")
    } else if enc == EUC_JP {
        Some("euc-jp")
    } else {
        None
    }
}

/// Guesses the encoding of unlabelled bytes: UTF-8 when valid, ISO-2022-JP when its escape
/// sequences appear in 7-bit data, otherwise the detector's choice biased to Japanese.
pub fn guess(bytes: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        if bytes.contains(&0x1b) && looks_iso2022jp(bytes) {
            return ISO_2022_JP;
        }
        return UTF_8;
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    det.feed(bytes, true);
    det.guess(Some(b"jp"), chardetng::Utf8Detection::Allow)
}

fn looks_iso2022jp(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| {
        matches!(
            w,
            [0x1b, b'$', b'B'] | [0x1b, b'$', b'@'] | [0x1b, b'(', b'J'] | [0x1b, b'(', b'I']
        )
    })
}

/// A decoded text and how it was decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding used.
    pub encoding: &'static Encoding,
    /// True when the label was missing, unknown or wrong and the encoding was guessed.
    pub guessed: bool,
    /// True when malformed sequences were replaced by U+FFFD.
    pub had_errors: bool,
}

/// Decodes `bytes` labelled `label`; falls back to a guess when the label is absent, unknown, or
/// produces errors the guess does not.
pub fn decode(bytes: &[u8], label: Option<&str>) -> Decoded {
    let labelled = label.and_then(encoding_for_label);
    if let Some(enc) = labelled {
        let (text, _, errors) = enc.decode(bytes);
        let leftover_escape = enc != ISO_2022_JP && text.contains('\u{1b}');
        // A Western single-byte label never fails to decode, so Japanese bytes mislabelled as
        // us-ascii or latin-1 would pass as mojibake: let a Japanese guess win over it.
        let western = enc.is_single_byte() && !bytes.is_ascii() && {
            let g = guess(bytes);
            (g == SHIFT_JIS || g == EUC_JP) && !g.decode_without_bom_handling(bytes).1
        };
        if !errors && !leftover_escape && !western {
            return Decoded {
                text: text.into_owned(),
                encoding: enc,
                guessed: false,
                had_errors: false,
            };
        }
        let g = guess(bytes);
        if g != enc {
            let (gtext, _, gerrors) = g.decode(bytes);
            if !gerrors {
                return Decoded {
                    text: gtext.into_owned(),
                    encoding: g,
                    guessed: true,
                    had_errors: false,
                };
            }
        }
        return Decoded {
            text: text.into_owned(),
            encoding: enc,
            guessed: false,
            had_errors: errors,
        };
    }
    let g = guess(bytes);
    let (text, _, errors) = g.decode(bytes);
    Decoded {
        text: text.into_owned(),
        encoding: g,
        guessed: label.is_some() || !bytes.is_ascii(),
        had_errors: errors,
    }
}

/// True when decoded text still shows signs of a wrong decode: replacement characters or raw
/// ISO-2022-JP escape sequences.
pub fn has_mojibake_signs(text: &str) -> bool {
    // One pass over the bytes: U+FFFD is EF BF BD in UTF-8, the escapes start with ESC (1B).
    let bytes = text.as_bytes();
    memchr::memchr2_iter(0x1b, 0xef, bytes).any(|at| {
        matches!(
            bytes.get(at..at + 3),
            Some([0xef, 0xbf, 0xbd] | [0x1b, b'$', b'B'] | [0x1b, b'(', b'B'])
        )
    })
}

/// Rewrites vendor charset labels in a raw message (in `charset=` parameters, RFC 2047
/// encoded-words and RFC 2231 parameter values) to names the MIME parser knows.
///
/// Only the label token changes; everything else is copied byte for byte.
pub fn alias_labels_in_message(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0usize;
    let mut pos = 0usize;
    // Every label follows an '=' (`charset=`, `=?`, `*=`), so only '=' bytes are looked at.
    while let Some(off) = raw.get(pos..).and_then(|r| memchr::memchr(b'=', r)) {
        let eq = pos + off;
        pos = eq + 1;
        let Some((start, end)) = label_after(raw, eq) else {
            continue;
        };
        let label = raw
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok());
        if let Some(canon) = label.and_then(canonical_label) {
            out.extend_from_slice(raw.get(copied..start).unwrap_or_default());
            out.extend_from_slice(canon.as_bytes());
            copied = end;
        }
        pos = pos.max(end);
    }
    if copied == 0 {
        return None;
    }
    out.extend_from_slice(raw.get(copied..).unwrap_or_default());
    Some(out)
}

/// If a charset label follows the '=' at `eq` (`charset=`, `=?` or `*=`), its span.
fn label_after(raw: &[u8], eq: usize) -> Option<(usize, usize)> {
    let start = if raw.get(eq + 1) == Some(&b'?') {
        eq + 2
    } else if eq >= 1 && raw.get(eq - 1) == Some(&b'*') {
        eq + 1
    } else if eq >= 7 && raw.get(eq - 7..eq)?.eq_ignore_ascii_case(b"charset") {
        if raw.get(eq + 1) == Some(&b'"') {
            eq + 2
        } else {
            eq + 1
        }
    } else {
        return None;
    };
    let mut end = start;
    while let Some(&c) = raw.get(end) {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':') {
            end += 1;
            if end - start > 40 {
                return None;
            }
        } else {
            break;
        }
    }
    (end > start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn vendor_labels_map_to_japanese_encodings() {
        for l in ["cp932", "Windows-31J", "x-sjis", "\"CP932\""] {
            assert_eq!(encoding_for_label(l), Some(SHIFT_JIS), "{l}");
        }
        for l in ["iso-2022-jp-ms", "cp50220", "CP50221", "cp50222"] {
            assert_eq!(encoding_for_label(l), Some(ISO_2022_JP), "{l}");
        }
        for l in ["cp51932", "eucJP-ms"] {
            assert_eq!(encoding_for_label(l), Some(EUC_JP), "{l}");
        }
    }

    #[test]
    fn guesses_shift_jis_and_repairs_a_wrong_label() {
        let (sjis, _, _) = SHIFT_JIS.encode("峡南広域行政組合からのお知らせです。住民の皆様へ");
        let d = decode(&sjis, None);
        assert!(d.text.contains("峡南広域行政組合"));
        let d = decode(&sjis, Some("utf-8"));
        assert!(d.guessed);
        assert!(d.text.contains("住民の皆様"));
    }

    #[test]
    fn mojibake_signs() {
        assert!(has_mojibake_signs("abc\u{fffd}"));
        assert!(has_mojibake_signs("x\u{1b}$Bdef"));
        assert!(has_mojibake_signs("\u{1b}(B"));
        assert!(!has_mojibake_signs("峡南広域行政組合\u{1b}(J ok \u{ffef}"));
        assert!(!has_mojibake_signs("\u{1b}$"));
    }

    #[test]
    fn aliases_are_rewritten_in_headers_and_encoded_words() {
        let raw = b"Subject: =?CP932?B?gqA=?=\r\nContent-Type: text/plain; charset=\"cp932\"\r\n\r\nbody charset=x";
        let out = alias_labels_in_message(raw).unwrap();
        let s = String::from_utf8_lossy(&out);
        assert!(s.contains("=?shift_jis?B?gqA=?="), "{s}");
        assert!(s.contains("charset=\"shift_jis\""), "{s}");
        assert!(s.ends_with("body charset=x"));
    }
}
