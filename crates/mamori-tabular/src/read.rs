//! Reading an import file: format detection by content, CSV decoding (UTF-8 with or without BOM,
//! Shift_JIS/CP932 as Excel in Japan writes it), header matching, and conversion of every cell to
//! a string keyed by the schema — with every problem named by row, column, cell and value.

use std::collections::{BTreeMap, HashMap};

use time::Date;

use crate::cell::{cell_ref, unguard};
use crate::error::{Collector, TabularError, TabularErrorKind, TabularErrors};
use crate::schema::{Column, ColumnKind, FoundColumn, HeaderMatch, match_headers};

/// How many non-blank rows at the top may precede the header row (a title such as
/// 「情報資産管理台帳」 and a date line are common above it).
const HEADER_SEARCH_ROWS: usize = 10;

/// Limits applied before and while reading; every one is checked before the work it bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: usize,
    /// Most entries in an xlsx zip.
    pub max_zip_entries: usize,
    /// Most bytes an xlsx may inflate to, all entries together.
    pub max_uncompressed_bytes: u64,
    /// Highest uncompressed/compressed ratio of an xlsx entry larger than 1 MiB.
    pub max_compression_ratio: u64,
    /// Most data rows.
    pub max_rows: usize,
    /// Most columns.
    pub max_columns: usize,
    /// Longest cell, in characters (Excel's own limit by default).
    pub max_cell_chars: usize,
    /// Most errors collected before reading stops.
    pub max_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 * 1024 * 1024,
            max_zip_entries: 1_000,
            max_uncompressed_bytes: 512 * 1024 * 1024,
            max_compression_ratio: 200,
            max_rows: 200_000,
            max_columns: 500,
            max_cell_chars: 32_767,
            max_errors: 200,
        }
    }
}

/// Options of [`read_table`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The limits.
    pub limits: Limits,
    /// The xlsx sheet to read; the first sheet when `None`.
    pub sheet: Option<String>,
}

/// The kind of file that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFormat {
    /// An Office Open XML workbook.
    Xlsx,
    /// Comma- (or tab-) separated text.
    Csv,
}

/// The character encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (Excel's 「CSV UTF-8」).
    Utf8WithBom,
    /// Shift_JIS / CP932 (Excel's 「CSV (コンマ区切り)」 on Japanese Windows).
    ShiftJis,
}

/// An imported table: the columns found and the data rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// What the file was.
    pub format: SourceFormat,
    /// The encoding, for CSV.
    pub encoding: Option<TextEncoding>,
    /// The sheet read, for xlsx.
    pub sheet: Option<String>,
    /// Row number of the header row.
    pub header_row: usize,
    /// Schema columns found, in file order.
    pub columns: Vec<FoundColumn>,
    /// Headers that match no schema column (shown to the user as 「読み込まない列」).
    pub ignored_headers: Vec<String>,
    /// Data rows, blank rows skipped.
    pub rows: Vec<Row>,
}

impl Table {
    /// The found column with this key.
    pub fn column(&self, key: &str) -> Option<&FoundColumn> {
        self.columns.iter().find(|c| c.column.key == key)
    }

    /// The xlsx cell reference of a row's value (`C3`); `None` for CSV or an absent column.
    pub fn cell_ref(&self, row: usize, key: &str) -> Option<String> {
        match self.format {
            SourceFormat::Xlsx => self.column(key).map(|c| cell_ref(row, c.index)),
            SourceFormat::Csv => None,
        }
    }

    /// An error about one cell, for the caller's own validation (unknown unit code, duplicate
    /// 資産番号): row, header as written, cell reference and value filled in.
    pub fn error(&self, row: &Row, key: &str, reason: impl Into<String>) -> TabularError {
        let header = self
            .column(key)
            .map_or(key, |c| c.header_as_written.as_str());
        TabularError::cell(
            row.number,
            header,
            row.get(key).unwrap_or(""),
            TabularErrorKind::Invalid {
                reason: reason.into(),
            },
        )
        .at_cell(self.cell_ref(row.number, key))
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based row number as Excel shows it.
    pub number: usize,
    /// Values by schema key, for the columns present in the file; empty cells are `""`.
    pub cells: BTreeMap<&'static str, String>,
}

impl Row {
    /// The value of a column, `None` when the column is not in the file.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.cells.get(key).map(String::as_str)
    }

    /// The value of a column, empty when absent or blank.
    pub fn text(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }
}

/// A cell as the file holds it, before the schema gives it meaning.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Empty,
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    DateTime { date: Date, seconds: u32 },
    Error(String),
}

impl Raw {
    fn is_blank(&self) -> bool {
        match self {
            Raw::Empty => true,
            Raw::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// A row of raw cells, indexed by 0-based column.
#[derive(Debug, Clone)]
pub(crate) struct GridRow {
    pub(crate) number: usize,
    pub(crate) cells: Vec<Raw>,
}

/// A sheet or CSV file as raw cells, with what the xlsx reader knows besides values.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grid {
    pub(crate) rows: Vec<GridRow>,
    pub(crate) is_1904: bool,
    /// Formulas by (1-based row, 0-based column).
    pub(crate) formulas: HashMap<(usize, usize), String>,
    /// Merged ranges: first row, first column, last row, last column.
    pub(crate) merged: Vec<(usize, usize, usize, usize)>,
    /// CSV rows must have as many cells as the header.
    pub(crate) check_ragged: bool,
}

/// Decides what a file is from its content; the name only matters to refuse a file that claims
/// to be xlsx and is not.
pub fn detect_format(bytes: &[u8], file_name: &str) -> Result<SourceFormat, TabularError> {
    const ZIP: &[u8] = b"PK\x03\x04";
    const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    let lower = file_name.to_lowercase();
    let named_xlsx = lower.ends_with(".xlsx") || lower.ends_with(".xlsm");
    if bytes.starts_with(ZIP) {
        Ok(SourceFormat::Xlsx)
    } else if bytes.starts_with(OLE) {
        Err(TabularError::file(TabularErrorKind::LegacyOrEncrypted))
    } else if named_xlsx {
        Err(TabularError::file(TabularErrorKind::NotXlsx))
    } else {
        Ok(SourceFormat::Csv)
    }
}

/// Reads an import file (xlsx or CSV, decided by content) against a schema.
///
/// Returns every problem found (up to [`Limits::max_errors`]) rather than the first, so a user
/// can fix a file in one pass; nothing is returned as rows unless the whole file is clean.
pub fn read_table(
    bytes: &[u8],
    file_name: &str,
    schema: &[Column],
    options: &ReadOptions,
) -> Result<Table, TabularErrors> {
    let limits = &options.limits;
    if bytes.len() > limits.max_file_bytes {
        return Err(TabularError::file(TabularErrorKind::FileTooLarge {
            bytes: bytes.len(),
            max: limits.max_file_bytes,
        })
        .into());
    }
    if bytes.is_empty() {
        return Err(TabularError::file(TabularErrorKind::EmptyFile).into());
    }
    let format = detect_format(bytes, file_name)?;
    match format {
        SourceFormat::Xlsx => {
            let (grid, sheet) = crate::xlsx::read_grid(bytes, options.sheet.as_deref(), limits)?;
            build_table(grid, schema, limits, format, None, Some(sheet))
        }
        SourceFormat::Csv => {
            let (text, encoding) = decode_text(bytes)?;
            let grid = csv_grid(&text, limits)?;
            build_table(grid, schema, limits, format, Some(encoding), None)
        }
    }
}

/// Decodes CSV bytes: UTF-8 (BOM or not) when valid, else Shift_JIS (CP932). When neither
/// reads the whole file, the error names the line where the likelier encoding broke.
pub fn decode_text(bytes: &[u8]) -> Result<(String, TextEncoding), TabularError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(TabularError::file(TabularErrorKind::Utf16));
    }
    if let Some(pos) = bytes.iter().position(|&b| b == 0) {
        return Err(TabularError::row(
            line_of(bytes, pos),
            TabularErrorKind::Undecodable,
        ));
    }
    let (body, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    let utf8_error = match std::str::from_utf8(body) {
        Ok(s) => {
            let encoding = if bom {
                TextEncoding::Utf8WithBom
            } else {
                TextEncoding::Utf8
            };
            return Ok((s.to_owned(), encoding));
        }
        Err(e) => e.valid_up_to(),
    };
    if bom {
        return Err(TabularError::row(
            line_of(body, utf8_error),
            TabularErrorKind::Undecodable,
        ));
    }
    let mut decoder = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(body.len())
        .unwrap_or(0);
    let mut out = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut out, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok((out, TextEncoding::ShiftJis)),
        encoding_rs::DecoderResult::Malformed(bad, extra) => {
            let sjis_error = read.saturating_sub(usize::from(bad) + usize::from(extra));
            // The encoding that read further is the one the file was meant to be in.
            let pos = sjis_error.max(utf8_error);
            Err(TabularError::row(
                line_of(body, pos),
                TabularErrorKind::Undecodable,
            ))
        }
        encoding_rs::DecoderResult::OutputFull => {
            Err(TabularError::file(TabularErrorKind::Undecodable))
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(bytes: &[u8], pos: usize) -> usize {
    bytes
        .get(..pos)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

/// Parses CSV text into a grid; the row number of a record is the row Excel shows for it.
fn csv_grid(text: &str, limits: &Limits) -> Result<Grid, TabularError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if !first_line.contains(',') && first_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // Line breaks inside quoted cells advance the line count but not Excel's row count.
    let mut newlines_inside_cells = 0usize;
    let mut lines = LineCounter::new(text);
    for result in reader.records() {
        let record = result.map_err(|e| {
            let row = e.position().map(|p| lines.line_at(byte_offset(p)));
            TabularError {
                row,
                column: None,
                cell: None,
                value: None,
                kind: TabularErrorKind::CsvSyntax {
                    reason: e.to_string(),
                },
            }
        })?;
        let line = record
            .position()
            .map_or(rows.len() + 1, |p| lines.line_at(byte_offset(p)));
        let number = line.saturating_sub(newlines_inside_cells);
        if rows.len() > limits.max_rows {
            return Err(TabularError::file(TabularErrorKind::TooManyRows {
                max: limits.max_rows,
            }));
        }
        if record.len() > limits.max_columns {
            return Err(TabularError::row(
                number,
                TabularErrorKind::TooManyColumns {
                    found: record.len(),
                    max: limits.max_columns,
                },
            ));
        }
        newlines_inside_cells += record
            .iter()
            .map(|f| f.matches('\n').count())
            .sum::<usize>();
        let cells = record.iter().map(|f| Raw::Text(f.to_owned())).collect();
        rows.push(GridRow { number, cells });
    }
    Ok(Grid {
        rows,
        check_ragged: true,
        ..Grid::default()
    })
}

fn byte_offset(p: &csv::Position) -> usize {
    usize::try_from(p.byte()).unwrap_or(usize::MAX)
}

/// 1-based line numbers of byte offsets, counted incrementally as offsets grow. The reader's own
/// line count lags by one after CRLF, so lines are counted here from the text itself.
struct LineCounter<'t> {
    text: &'t str,
    counted_to: usize,
    newlines: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        LineCounter {
            text,
            counted_to: 0,
            newlines: 0,
        }
    }

    /// The line a record starting at `offset` begins on (line ends before it are skipped).
    fn line_at(&mut self, offset: usize) -> usize {
        let rest = self.text.get(offset..).unwrap_or("");
        let start = offset + (rest.len() - rest.trim_start_matches(['\r', '\n']).len());
        if start >= self.counted_to {
            let slice = self.text.get(self.counted_to..start).unwrap_or("");
            self.newlines += slice.bytes().filter(|&b| b == b'\n').count();
            self.counted_to = start;
        }
        self.newlines + 1
    }
}

/// Header detection, structural checks and cell conversion, shared by xlsx and CSV.
fn build_table(
    grid: Grid,
    schema: &[Column],
    limits: &Limits,
    format: SourceFormat,
    encoding: Option<TextEncoding>,
    sheet: Option<String>,
) -> Result<Table, TabularErrors> {
    let mut errors = Collector::new(limits.max_errors);
    let (header_index, header) = find_header(&grid, schema)?;
    let header_row = grid.rows.get(header_index).map_or(1, |r| r.number);
    let header_problems = header.errors(header_row);
    if !header_problems.is_empty() {
        for e in header_problems {
            errors.push(e);
        }
        return errors.finish(empty_table(format, encoding, sheet, header_row));
    }
    let columns = header.found;
    // The header row's width: cells after the last header must stay empty.
    let width = grid.rows.get(header_index).map_or(0, |r| {
        r.cells
            .iter()
            .rposition(|c| !c.is_blank())
            .map_or(0, |p| p + 1)
    });

    for &(r1, c1, r2, c2) in &grid.merged {
        if r2 >= header_row {
            let range = format!("{}:{}", cell_ref(r1, c1), cell_ref(r2, c2));
            let e = TabularError::row(r1, TabularErrorKind::MergedCells { range })
                .at_cell(Some(cell_ref(r1, c1)));
            if !errors.push(e) {
                break;
            }
        }
    }
    let header_of = |index: usize| {
        columns
            .iter()
            .find(|c| c.index == index)
            .map(|c| c.header_as_written.clone())
    };
    let mut formulas: Vec<(&(usize, usize), &String)> = grid
        .formulas
        .iter()
        .filter(|((row, col), _)| *row >= header_row && columns.iter().any(|c| c.index == *col))
        .collect();
    formulas.sort();
    for (&(row, col), formula) in formulas {
        let e = TabularError {
            row: Some(row),
            column: header_of(col),
            cell: Some(cell_ref(row, col)),
            value: None,
            kind: TabularErrorKind::Formula {
                formula: formula.clone(),
            },
        };
        if !errors.push(e) {
            break;
        }
    }

    let mut rows = Vec::new();
    let (check_ragged, is_1904) = (grid.check_ragged, grid.is_1904);
    // Consumed row by row, so the raw cells are freed as the rows are built.
    for grid_row in grid.rows.into_iter().skip(header_index + 1) {
        if errors.is_full() {
            break;
        }
        if check_ragged {
            let last = grid_row
                .cells
                .iter()
                .rposition(|c| !c.is_blank())
                .map_or(0, |p| p + 1);
            let short = grid_row.cells.len() < width && !grid_row.cells.iter().all(Raw::is_blank);
            if short || last > width {
                let found = if short { grid_row.cells.len() } else { last };
                errors.push(TabularError::row(
                    grid_row.number,
                    TabularErrorKind::RaggedRow {
                        expected: width,
                        found,
                    },
                ));
                continue;
            }
        }
        let blank = columns
            .iter()
            .all(|c| grid_row.cells.get(c.index).is_none_or(Raw::is_blank));
        if blank {
            continue;
        }
        if rows.len() >= limits.max_rows {
            errors.push(TabularError::row(
                grid_row.number,
                TabularErrorKind::TooManyRows {
                    max: limits.max_rows,
                },
            ));
            break;
        }
        let mut cells = BTreeMap::new();
        for found in &columns {
            let raw = grid_row.cells.get(found.index).unwrap_or(&Raw::Empty);
            match convert(raw, found.column.kind, is_1904, limits) {
                Ok(value) => {
                    cells.insert(found.column.key, value);
                }
                Err((kind, value)) => {
                    let cell = (format == SourceFormat::Xlsx)
                        .then(|| cell_ref(grid_row.number, found.index));
                    let e =
                        TabularError::cell(grid_row.number, &found.header_as_written, &value, kind)
                            .at_cell(cell);
                    errors.push(e);
                }
            }
        }
        rows.push(Row {
            number: grid_row.number,
            cells,
        });
    }
    let table = Table {
        format,
        encoding,
        sheet,
        header_row,
        columns,
        ignored_headers: header.ignored,
        rows,
    };
    errors.finish(table)
}

fn empty_table(
    format: SourceFormat,
    encoding: Option<TextEncoding>,
    sheet: Option<String>,
    header_row: usize,
) -> Table {
    Table {
        format,
        encoding,
        sheet,
        header_row,
        columns: Vec::new(),
        ignored_headers: Vec::new(),
        rows: Vec::new(),
    }
}

/// Picks the header row among the first non-blank rows: the first with every required column,
/// else the one matching most columns (whose errors then say what is missing).
fn find_header(grid: &Grid, schema: &[Column]) -> Result<(usize, HeaderMatch), TabularError> {
    let mut best: Option<(usize, HeaderMatch)> = None;
    let candidates = grid
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.cells.iter().all(Raw::is_blank))
        .take(HEADER_SEARCH_ROWS);
    for (index, row) in candidates {
        let texts: Vec<String> = row.cells.iter().map(header_text).collect();
        let m = match_headers(schema, &texts);
        if m.missing.is_empty() && m.duplicates.is_empty() {
            return Ok((index, m));
        }
        if best.as_ref().is_none_or(|(_, b)| m.score() > b.score()) {
            best = Some((index, m));
        }
    }
    best.ok_or_else(|| TabularError::file(TabularErrorKind::NoHeader))
}

fn header_text(raw: &Raw) -> String {
    match raw {
        Raw::Text(s) => s.trim().to_owned(),
        other => convert(other, ColumnKind::Text, false, &Limits::default()).unwrap_or_default(),
    }
}

/// Converts a raw cell to the string the caller receives, or the reason and the value shown in
/// the error.
fn convert(
    raw: &Raw,
    kind: ColumnKind,
    is_1904: bool,
    limits: &Limits,
) -> Result<String, (TabularErrorKind, String)> {
    let text = match raw {
        Raw::Empty => return Ok(String::new()),
        Raw::Error(code) => {
            return Err((
                TabularErrorKind::CellErrorValue { code: code.clone() },
                code.clone(),
            ));
        }
        Raw::Text(s) => {
            let chars = s.chars().count();
            if chars > limits.max_cell_chars {
                let kind = TabularErrorKind::CellTooLong {
                    chars,
                    max: limits.max_cell_chars,
                };
                return Err((kind, s.chars().take(20).collect()));
            }
            unguard(s.trim()).to_owned()
        }
        Raw::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).to_owned(),
        Raw::Int(i) => {
            return match kind {
                ColumnKind::Text => Ok(i.to_string()),
                ColumnKind::Date => serial_date(*i as f64, is_1904)
                    .ok_or_else(|| (TabularErrorKind::InvalidDateSerial, i.to_string())),
            };
        }
        Raw::Number(f) => {
            return match kind {
                ColumnKind::Text => Ok(format_number(*f)),
                ColumnKind::Date => serial_date(*f, is_1904)
                    .ok_or_else(|| (TabularErrorKind::InvalidDateSerial, format_number(*f))),
            };
        }
        Raw::DateTime { date, seconds } => {
            let iso = mamori_core::calendar::format_iso(*date);
            return match (kind, *seconds) {
                (_, 0) => Ok(iso),
                (ColumnKind::Text, s) => Ok(format!(
                    "{iso} {:02}:{:02}:{:02}",
                    s / 3600,
                    s / 60 % 60,
                    s % 60
                )),
                (ColumnKind::Date, _) => Err((
                    TabularErrorKind::InvalidDate {
                        reason: "日付に時刻が含まれています。日付だけを入力してください".to_owned(),
                    },
                    iso,
                )),
            };
        }
    };
    match kind {
        ColumnKind::Text => Ok(text),
        ColumnKind::Date if text.is_empty() => Ok(text),
        ColumnKind::Date => {
            // A five-digit number in a date column is a serial number that lost its format
            // (typical of CSV saved from a General-formatted column).
            let folded = crate::cell::fold_digits(&text);
            if folded.len() == 5 && folded.bytes().all(|b| b.is_ascii_digit()) {
                let serial: f64 = folded.parse().unwrap_or(0.0);
                return serial_date(serial, is_1904)
                    .ok_or((TabularErrorKind::InvalidDateSerial, text));
            }
            mamori_core::calendar::parse_date(&text)
                .map(mamori_core::calendar::format_iso)
                .map_err(|e| {
                    (
                        TabularErrorKind::InvalidDate {
                            reason: e.to_string(),
                        },
                        text,
                    )
                })
        }
    }
}

/// Numbers as Excel shows them in General format: no `.0` on whole numbers.
fn format_number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Converts an Excel serial day number to an ISO date; whole days only, 1873–9999.
pub fn serial_date(serial: f64, is_1904: bool) -> Option<String> {
    if !serial.is_finite() || serial.fract() != 0.0 {
        return None;
    }
    // The 1900 system counts a 29 February 1900 that never existed; from serial 61 on, counting
    // from 1899-12-30 gives the right date, and earlier serials are outside the supported years.
    let (base, min) = if is_1904 {
        (
            Date::from_calendar_date(1904, time::Month::January, 1).ok()?,
            0.0,
        )
    } else {
        (
            Date::from_calendar_date(1899, time::Month::December, 30).ok()?,
            61.0,
        )
    };
    if serial < min || serial > 3_000_000.0 {
        return None;
    }
    let date = base.checked_add(time::Duration::days(serial as i64))?;
    (1873..=9999)
        .contains(&date.year())
        .then(|| mamori_core::calendar::format_iso(date))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(serial_date(46113.0, false).as_deref(), Some("2026-04-01"));
        assert_eq!(serial_date(44651.0, true).as_deref(), Some("2026-04-01"));
        assert_eq!(serial_date(46113.5, false), None);
        assert_eq!(serial_date(60.0, false), None);
        assert_eq!(serial_date(f64::NAN, false), None);
    }

    #[test]
    fn numbers_look_like_excel() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.25), "0.25");
    }
}
