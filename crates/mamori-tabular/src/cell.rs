//! Cell-level helpers: formula-injection guards, CP932 substitutions, and normalisation of what
//! Japanese staff type into cells (全角数字, 「機密性３」, 有/無).

use mamori_core::text;

/// Characters that make a spreadsheet treat a cell as a formula (or, for tab and CR, let a
/// crafted value break out of its cell when pasted).
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a value would start a formula (after any guard quotes already in it).
fn needs_guard(value: &str) -> bool {
    let unquoted = value.trim_start_matches('\'');
    let starts_with_trigger = unquoted.starts_with(FORMULA_TRIGGERS);
    if !starts_with_trigger {
        return false;
    }
    // A plain signed number (-5, +3.2) cannot be a formula and stays readable; with a quote in
    // front it is guarded anyway, so the quote survives the round trip.
    unquoted.len() != value.len() || !is_plain_number(unquoted)
}

fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
}

/// Guards a value against formula injection by putting `'` in front when it begins with
/// `= + - @`, tab or CR (plain numbers such as `-5` are left alone). [`unguard`] undoes it, so an
/// export re-imports unchanged.
pub fn guard(value: &str) -> String {
    if needs_guard(value) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// Removes the quote [`guard`] added. A value a user typed as `'=x` also loses one quote, which
/// is what a spreadsheet shows for it anyway.
pub fn unguard(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(FORMULA_TRIGGERS) => rest,
        _ => value,
    }
}

/// Characters CP932 lacks, with the equivalent Japanese Windows users expect (the usual
/// differences between JIS-based and Windows mappings, plus a few typographic look-alikes).
pub const CP932_SUBSTITUTIONS: [(char, char); 13] = [
    ('\u{301C}', '\u{FF5E}'), // 〜 WAVE DASH → ～ FULLWIDTH TILDE
    ('\u{2016}', '\u{2225}'), // ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
    ('\u{2212}', '\u{FF0D}'), // − MINUS SIGN → － FULLWIDTH HYPHEN-MINUS
    ('\u{00A2}', '\u{FFE0}'), // ¢ → ￠
    ('\u{00A3}', '\u{FFE1}'), // £ → ￡
    ('\u{00AC}', '\u{FFE2}'), // ¬ → ￢
    ('\u{2014}', '\u{2015}'), // — EM DASH → ― HORIZONTAL BAR
    ('\u{00A6}', '\u{FFE4}'), // ¦ → ￤
    ('\u{00A5}', '\u{FFE5}'), // ¥ → ￥ (0x5C would come back as a backslash)
    ('\u{203E}', '\u{FFE3}'), // ‾ OVERLINE → ￣ (0x7E would come back as a tilde)
    ('\u{2013}', '-'),        // – EN DASH → hyphen-minus
    ('\u{00B7}', '\u{30FB}'), // · MIDDLE DOT → ・ KATAKANA MIDDLE DOT
    ('\u{00A0}', ' '),        // NO-BREAK SPACE → space
];

/// Replaces characters CP932 lacks by their usual equivalents ([`CP932_SUBSTITUTIONS`]).
/// Characters with no equivalent are kept; the writer reports them.
pub fn map_for_cp932(value: &str) -> String {
    value
        .chars()
        // A stray BOM or zero-width space inside text carries nothing a reader needs.
        .filter(|&c| c != '\u{FEFF}' && c != '\u{200B}')
        .map(|c| {
            CP932_SUBSTITUTIONS
                .iter()
                .find(|(from, _)| *from == c)
                .map_or(c, |(_, to)| *to)
        })
        .collect()
}

/// The characters of `value` that Shift_JIS (CP932) cannot encode, in order, without repeats.
pub fn unencodable_in_cp932(value: &str) -> Vec<char> {
    let (_, _, had_errors) = encoding_rs::SHIFT_JIS.encode(value);
    if !had_errors {
        return Vec::new();
    }
    let mut found = Vec::new();
    let mut buf = [0u8; 4];
    for c in value.chars() {
        let (_, _, bad) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
        if bad && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

/// Trims a cell: ASCII and full-width spaces, tabs and line breaks at both ends.
pub fn trim_cell(value: &str) -> &str {
    value.trim()
}

/// Full-width digits (０–９) to ASCII, leaving everything else as typed.
pub fn fold_digits(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '０'..='９' => {
                char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Reads a level written with or without its label: 「機密性３」, 「自治体機密性3A」, 「３」, 「3a」 all
/// give the bare level (`3`, `3A`). `labels` are the label words to drop (「機密性」); 「自治体」 in
/// front of them is dropped too. Returns the folded remainder, upper-cased; the caller checks it
/// is a level it knows.
pub fn level_value(value: &str, labels: &[&str]) -> String {
    let folded: String = text::fold(value);
    let mut rest = folded.as_str();
    rest = rest.strip_prefix("自治体").unwrap_or(rest);
    for label in labels {
        let label = text::fold(label);
        if let Some(stripped) = rest.strip_prefix(label.as_str()) {
            rest = stripped;
            break;
        }
    }
    rest.to_uppercase()
}

/// Reads an integer as typed: full-width digits, thousands separators (「1,234」「１，２３４」),
/// an optional unit suffix such as 件 or 人 is *not* accepted (the caller decides).
pub fn parse_integer(value: &str) -> Option<i64> {
    let folded = text::fold(value);
    let digits: String = folded.chars().filter(|&c| c != ',').collect();
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// Reads a yes/no cell: 有/無, あり/なし, ○/×, はい/いいえ, 該当/非該当, true/false, 1/0, y/n.
pub fn parse_yes_no(value: &str) -> Option<bool> {
    const YES: [&str; 12] = [
        "有", "あり", "有り", "○", "〇", "◯", "はい", "該当", "true", "1", "y", "yes",
    ];
    const NO: [&str; 12] = [
        "無",
        "なし",
        "無し",
        "×",
        "x",
        "-",
        "いいえ",
        "非該当",
        "false",
        "0",
        "n",
        "no",
    ];
    let folded = text::fold(value);
    let folded = folded.as_str();
    if YES.contains(&folded) {
        Some(true)
    } else if NO.contains(&folded) {
        Some(false)
    } else {
        None
    }
}

/// The spreadsheet column letters of a 0-based column index (0 → A, 26 → AA).
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// A cell reference such as `C3` from a 1-based row and 0-based column.
pub fn cell_ref(row: usize, column: usize) -> String {
    format!("{}{row}", column_letters(column))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guards_formula_starts() {
        assert_eq!(guard("=SUM(A1:A3)"), "'=SUM(A1:A3)");
        assert_eq!(guard("+81-3-0000"), "'+81-3-0000");
        assert_eq!(guard("@cmd"), "'@cmd");
        assert_eq!(guard("\tx"), "'\tx");
        assert_eq!(guard("\rx"), "'\rx");
        assert_eq!(guard("-5"), "-5");
        assert_eq!(guard("-"), "'-");
        assert_eq!(guard("'=x"), "''=x");
        assert_eq!(guard("'abc"), "'abc");
        assert_eq!(guard("普通の値"), "普通の値");
    }

    #[test]
    fn cp932_mapping_and_detection() {
        assert_eq!(map_for_cp932("9時〜17時"), "9時～17時");
        assert_eq!(map_for_cp932("A‖B − ¢£¬ — ¥"), "A∥B － ￠￡￢ ― ￥");
        assert!(unencodable_in_cp932(&map_for_cp932("〜‖−¢£¬—①髙﨑")).is_empty());
        assert_eq!(unencodable_in_cp932("𠮷野家と😀と𠮷"), vec!['𠮷', '😀']);
    }

    #[test]
    fn normalisation_helpers() {
        assert_eq!(fold_digits("令和８年"), "令和8年");
        assert_eq!(level_value("機密性３", &["機密性"]), "3");
        assert_eq!(level_value("自治体機密性3a", &["機密性"]), "3A");
        assert_eq!(level_value(" ２ ", &["完全性"]), "2");
        assert_eq!(parse_integer("１，２３４"), Some(1234));
        assert_eq!(parse_integer("12件"), None);
        assert_eq!(parse_yes_no("有"), Some(true));
        assert_eq!(parse_yes_no("なし"), Some(false));
        assert_eq!(parse_yes_no("たぶん"), None);
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell_ref(3, 2), "C3");
    }

    proptest! {
        #[test]
        fn guard_round_trips(s in "['=+@\\-\t\r]{0,3}\\PC{0,10}") {
            let g = guard(&s);
            prop_assert_eq!(unguard(&g), s.as_str());
            prop_assert!(!g.starts_with(FORMULA_TRIGGERS) || is_plain_number(&g));
        }
    }
}
