//! The columns an import expects, and the matching of a file's header row against them.
//!
//! Staff rename headers, add 「※」 or 「（必須）」 marks, type them in full-width letters or put line
//! breaks in them; matching folds all of that away and accepts the aliases the caller lists, and
//! when a required column is still missing the error lists both what is missing and what was
//! found, so the user can see the renamed header at a glance.

use mamori_core::text;

use crate::error::{TabularError, TabularErrorKind};

/// How a column's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// Text as typed (trimmed, formula guard removed); numbers are written without `.0`.
    Text,
    /// A date: xlsx date cells and serial numbers, and anything
    /// [`mamori_core::calendar::parse_date`] accepts (和暦 included), become `2026-04-01`.
    Date,
}

/// One column of an import or export, usually written as a `const` table by the feature that
/// owns the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Column {
    /// The key the code uses (`asset_no`).
    pub key: &'static str,
    /// The Japanese header written on export and expected on import (資産番号).
    pub header: &'static str,
    /// Other headers accepted on import (資産No, 資産ＮＯ).
    pub aliases: &'static [&'static str],
    /// Whether the header must be present.
    pub required: bool,
    /// How values are read.
    pub kind: ColumnKind,
}

impl Column {
    /// A text column whose header must be present.
    pub const fn required(key: &'static str, header: &'static str) -> Column {
        Column {
            key,
            header,
            aliases: &[],
            required: true,
            kind: ColumnKind::Text,
        }
    }

    /// A text column that may be absent from the file.
    pub const fn optional(key: &'static str, header: &'static str) -> Column {
        Column {
            key,
            header,
            aliases: &[],
            required: false,
            kind: ColumnKind::Text,
        }
    }

    /// The same column, also recognised by these headers.
    pub const fn aliases(self, aliases: &'static [&'static str]) -> Column {
        Column { aliases, ..self }
    }

    /// The same column, read as a date.
    pub const fn date(self) -> Column {
        Column {
            kind: ColumnKind::Date,
            ..self
        }
    }

    /// Whether a header cell names this column.
    pub fn matches(&self, header_cell: &str) -> bool {
        let folded = fold_header(header_cell);
        !folded.is_empty()
            && (fold_header(self.header) == folded
                || self.aliases.iter().any(|a| fold_header(a) == folded))
    }
}

/// Folds a header for comparison: NFKC, no spaces or line breaks, lower case, and without the
/// required-marks people add (※, *, （必須）).
pub fn fold_header(header: &str) -> String {
    let mut folded = text::fold(header);
    // A bare 「必須」 suffix is left alone: 「暗号化必須」 is a real header word.
    for mark in ["(必須)", "【必須】", "[必須]"] {
        if let Some(stripped) = folded.strip_suffix(mark) {
            folded = stripped.to_owned();
        }
    }
    folded.trim_matches(|c| c == '※' || c == '*').to_owned()
}

/// A schema column found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundColumn {
    /// The schema column.
    pub column: Column,
    /// The header as written in the file.
    pub header_as_written: String,
    /// 0-based position in the file (A = 0).
    pub index: usize,
}

/// The result of matching a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderMatch {
    pub(crate) found: Vec<FoundColumn>,
    pub(crate) ignored: Vec<String>,
    pub(crate) missing: Vec<&'static str>,
    pub(crate) duplicates: Vec<(String, String)>,
}

impl HeaderMatch {
    /// How many schema columns were found; used to pick the header row among the first rows.
    pub(crate) fn score(&self) -> usize {
        self.found.len()
    }

    /// Whether every required column was found, once.
    pub(crate) fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.duplicates.is_empty()
    }

    /// The errors of this match, naming the header row.
    pub(crate) fn errors(&self, header_row: usize) -> Vec<TabularError> {
        let mut errors: Vec<TabularError> = self
            .duplicates
            .iter()
            .map(|(first, second)| {
                TabularError::row(
                    header_row,
                    TabularErrorKind::DuplicateColumn {
                        first: first.clone(),
                        second: second.clone(),
                    },
                )
            })
            .collect();
        if !self.missing.is_empty() {
            let mut found: Vec<&str> = self
                .found
                .iter()
                .map(|f| f.header_as_written.as_str())
                .collect();
            found.extend(self.ignored.iter().map(String::as_str));
            let found = if found.is_empty() {
                "なし".to_owned()
            } else {
                found.join("、")
            };
            errors.push(TabularError::row(
                header_row,
                TabularErrorKind::MissingColumns {
                    missing: self.missing.join("、"),
                    found,
                },
            ));
        }
        errors
    }
}

/// Matches header cells (in file order) against the schema.
pub(crate) fn match_headers(schema: &[Column], cells: &[String]) -> HeaderMatch {
    let mut found: Vec<FoundColumn> = Vec::new();
    let mut ignored = Vec::new();
    let mut duplicates = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        let written = cell.trim();
        if written.is_empty() {
            continue;
        }
        match schema.iter().find(|c| c.matches(written)) {
            Some(column) => {
                if let Some(previous) = found.iter().find(|f| f.column.key == column.key) {
                    duplicates.push((previous.header_as_written.clone(), written.to_owned()));
                } else {
                    found.push(FoundColumn {
                        column: *column,
                        header_as_written: written.to_owned(),
                        index,
                    });
                }
            }
            None => ignored.push(written.to_owned()),
        }
    }
    let missing = schema
        .iter()
        .filter(|c| c.required && !found.iter().any(|f| f.column.key == c.key))
        .map(|c| c.header)
        .collect();
    HeaderMatch {
        found,
        ignored,
        missing,
        duplicates,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const SCHEMA: [Column; 3] = [
        Column::required("no", "資産番号").aliases(&["資産No"]),
        Column::required("name", "名称"),
        Column::optional("checked", "最終確認日").date(),
    ];

    fn cells(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn matches_marks_width_and_aliases() {
        let m = match_headers(&SCHEMA, &cells(&["※資産ＮＯ", "名　称（必須）", "備考"]));
        assert_eq!(m.found.len(), 2);
        assert_eq!(m.found[0].column.key, "no");
        assert_eq!(m.found[1].index, 1);
        assert_eq!(m.ignored, vec!["備考".to_owned()]);
        assert!(m.missing.is_empty());
    }

    #[test]
    fn missing_lists_what_was_found() {
        let m = match_headers(&SCHEMA, &cells(&["資産コード", "名称"]));
        let e = &m.errors(1)[0];
        assert_eq!(
            e.to_string(),
            "1行目: 必要な列がありません: 資産番号（見つかった見出し: 名称、資産コード）"
        );
    }

    #[test]
    fn duplicate_headers_are_refused() {
        let m = match_headers(&SCHEMA, &cells(&["資産番号", "名称", "資産No"]));
        assert_eq!(m.duplicates.len(), 1);
        assert!(
            m.errors(2)[0]
                .to_string()
                .contains("「資産番号」と「資産No」")
        );
    }
}
