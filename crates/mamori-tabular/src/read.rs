//! Reading an import file: format detection by content, CSV decoding (UTF-8 with or without BOM,
//! Shift_JIS/CP932 as Excel in Japan writes it), header matching, and conversion of every cell to
//! a string keyed by the schema — with every problem named by row, column, cell and value.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

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

/// One data row, stored compactly: the values of the columns present in the file, converted
/// to text, in one string. A register of 100,000 rows is held in tens of megabytes, not hundreds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based row number as Excel shows it.
    pub number: usize,
    /// The schema keys of the values, in file order (shared by every row of a table).
    keys: Arc<[&'static str]>,
    /// Every value, one after another.
    text: Box<str>,
    /// Where each value ends in `text`, one per key.
    ends: Box<[u32]>,
}

impl Row {
    /// A row of `(key, value)` pairs (for callers building rows of their own, and tests).
    pub fn new<'v>(number: usize, cells: impl IntoIterator<Item = (&'static str, &'v str)>) -> Row {
        let mut keys = Vec::new();
        let mut text = String::new();
        let mut ends = Vec::new();
        for (key, value) in cells {
            keys.push(key);
            text.push_str(value);
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Row {
            number,
            keys: keys.into(),
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// The value of a column, `None` when the column is not in the file.
    pub fn get(&self, key: &str) -> Option<&str> {
        let i = self.keys.iter().position(|k| *k == key)?;
        let start = match i.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        let end = *self.ends.get(i)?;
        self.text.get(start as usize..end as usize)
    }

    /// The value of a column, empty when absent or blank.
    pub fn text(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// The `(key, value)` pairs of the columns present, in file order.
    pub fn cells(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        let mut start = 0usize;
        self.keys
            .iter()
            .zip(self.ends.iter())
            .map(move |(k, &end)| {
                let end = end as usize;
                let value = self.text.get(start..end).unwrap_or("");
                start = end;
                (*k, value)
            })
    }
}

/// A cell as the file holds it, before the schema gives it meaning; text borrows from the
/// workbook's shared strings or the CSV record where it can.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw<'a> {
    Empty,
    Text(Cow<'a, str>),
    Int(i64),
    Number(f64),
    Bool(bool),
    DateTime { date: Date, seconds: u32 },
    Error(String),
}

impl Raw<'_> {
    fn is_blank(&self) -> bool {
        match self {
            Raw::Empty => true,
            Raw::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    fn into_owned(self) -> Raw<'static> {
        match self {
            Raw::Empty => Raw::Empty,
            Raw::Text(s) => Raw::Text(Cow::Owned(s.into_owned())),
            Raw::Int(i) => Raw::Int(i),
            Raw::Number(f) => Raw::Number(f),
            Raw::Bool(b) => Raw::Bool(b),
            Raw::DateTime { date, seconds } => Raw::DateTime { date, seconds },
            Raw::Error(e) => Raw::Error(e),
        }
    }
}

/// What the xlsx reader knows besides values, needed once every row is read.
#[derive(Debug, Clone, Default)]
pub(crate) struct SheetExtras {
    /// Formulas by (1-based row, 0-based column).
    pub(crate) formulas: HashMap<(usize, usize), String>,
    /// Merged ranges: first row, first column, last row, last column.
    pub(crate) merged: Vec<(usize, usize, usize, usize)>,
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
    // The rows go straight from the file into the table as they are read: no grid of the whole
    // sheet is held. A problem with the file itself (broken XML, too many rows) outranks every
    // problem with its cells, as it did when the whole sheet was read first.
    match format {
        SourceFormat::Xlsx => {
            let mut builder = TableBuilder::new(schema, limits, format, false);
            let (extras, sheet) =
                crate::xlsx::read_rows(bytes, options.sheet.as_deref(), limits, &mut builder)?;
            builder.finish(&extras, None, Some(sheet))
        }
        SourceFormat::Csv => {
            let (text, encoding) = decode_text(bytes)?;
            let mut builder = TableBuilder::new(schema, limits, format, true);
            csv_rows(&text, limits, &mut builder)?;
            drop(text);
            builder.finish(&SheetExtras::default(), Some(encoding), None)
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

/// Parses CSV text record by record into the table; the row number of a record is the row
/// Excel shows for it.
fn csv_rows(
    text: &str,
    limits: &Limits,
    builder: &mut TableBuilder<'_>,
) -> Result<(), TabularError> {
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
    let mut records = 0usize;
    // Line breaks inside quoted cells advance the line count but not Excel's row count.
    let mut newlines_inside_cells = 0usize;
    let mut lines = LineCounter::new(text);
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
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
        if !more {
            return Ok(());
        }
        let line = record
            .position()
            .map_or(records + 1, |p| lines.line_at(byte_offset(p)));
        let number = line.saturating_sub(newlines_inside_cells);
        if records > limits.max_rows {
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
        records += 1;
        let cells: Vec<Raw<'_>> = record.iter().map(|f| Raw::Text(Cow::Borrowed(f))).collect();
        builder.push(number, cells);
    }
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

/// Where the table builder is: looking for the header among the first rows, reading data
/// rows, or done with the rows (the header was wrong, or there were too many rows or errors).
enum Stage {
    /// The non-blank rows so far (at most [`HEADER_SEARCH_ROWS`]), each kept until the header
    /// is known.
    Searching(Vec<(usize, Vec<Raw<'static>>)>),
    Reading,
    Done,
}

/// The header row found and what follows from it.
struct Header {
    columns: Vec<FoundColumn>,
    ignored: Vec<String>,
    /// The schema keys in file order, shared by every row.
    keys: Arc<[&'static str]>,
    /// The header row's width: cells after the last header must stay empty (CSV).
    width: usize,
}

/// Header detection, structural checks and cell conversion, shared by xlsx and CSV, fed one
/// row at a time as the file is read.
pub(crate) struct TableBuilder<'s> {
    schema: &'s [Column],
    limits: &'s Limits,
    format: SourceFormat,
    /// CSV rows must have as many cells as the header.
    check_ragged: bool,
    pub(crate) is_1904: bool,
    stage: Stage,
    /// Row number of the header row, once known.
    header_row: usize,
    header: Option<Header>,
    /// Problems with the header row (then no data row is read).
    header_errors: Vec<TabularError>,
    /// Problems with data rows, in file order; one more than can be reported is kept, so the
    /// report knows it was cut.
    row_errors: Vec<TabularError>,
    rows: Vec<Row>,
    /// Data rows read (the kept ones, and those with problems).
    rows_seen: usize,
}

impl<'s> TableBuilder<'s> {
    pub(crate) fn new(
        schema: &'s [Column],
        limits: &'s Limits,
        format: SourceFormat,
        check_ragged: bool,
    ) -> Self {
        TableBuilder {
            schema,
            limits,
            format,
            check_ragged,
            is_1904: false,
            stage: Stage::Searching(Vec::new()),
            header_row: 1,
            header: None,
            header_errors: Vec::new(),
            row_errors: Vec::new(),
            rows: Vec::new(),
            rows_seen: 0,
        }
    }

    /// Takes the next row of the file (raw cells by 0-based column).
    pub(crate) fn push(&mut self, number: usize, cells: Vec<Raw<'_>>) {
        match &mut self.stage {
            Stage::Done => {}
            Stage::Reading => self.data_row(number, &cells),
            Stage::Searching(candidates) => {
                // Wholly blank rows are neither headers nor data.
                if cells.iter().all(Raw::is_blank) {
                    return;
                }
                let complete = header_match(self.schema, &cells).is_complete();
                candidates.push((number, cells.into_iter().map(Raw::into_owned).collect()));
                if complete || candidates.len() >= HEADER_SEARCH_ROWS {
                    self.choose_header();
                }
            }
        }
    }

    /// Picks the header among the rows kept: the first with every required column, else the one
    /// matching most columns (whose errors then say what is missing); the kept rows after it
    /// are data.
    fn choose_header(&mut self) {
        let Stage::Searching(candidates) = std::mem::replace(&mut self.stage, Stage::Done) else {
            return;
        };
        let mut best: Option<(usize, HeaderMatch)> = None;
        for (index, (_, cells)) in candidates.iter().enumerate() {
            let m = header_match(self.schema, cells);
            if m.is_complete() {
                best = Some((index, m));
                break;
            }
            if best.as_ref().is_none_or(|(_, b)| m.score() > b.score()) {
                best = Some((index, m));
            }
        }
        let Some((index, found)) = best else {
            self.header_errors
                .push(TabularError::file(TabularErrorKind::NoHeader));
            return;
        };
        let Some((header_row, header_cells)) = candidates.get(index) else {
            return;
        };
        self.header_row = *header_row;
        let problems = found.errors(*header_row);
        if !problems.is_empty() {
            // Rows after a wrong header are not read.
            self.header_errors = problems;
            return;
        }
        let width = header_cells
            .iter()
            .rposition(|c| !c.is_blank())
            .map_or(0, |p| p + 1);
        let keys: Vec<&'static str> = found.found.iter().map(|c| c.column.key).collect();
        self.header = Some(Header {
            columns: found.found,
            ignored: found.ignored,
            keys: keys.into(),
            width,
        });
        self.stage = Stage::Reading;
        for (number, cells) in candidates.into_iter().skip(index + 1) {
            self.data_row(number, &cells);
        }
    }

    /// Records a problem with a data row; once more are known than can be reported, reading
    /// rows stops.
    fn row_error(&mut self, e: TabularError) {
        self.row_errors.push(e);
        if self.row_errors.len() > self.limits.max_errors.max(1) {
            self.stage = Stage::Done;
        }
    }

    /// Checks and converts one data row.
    fn data_row(&mut self, number: usize, cells: &[Raw<'_>]) {
        if !matches!(self.stage, Stage::Reading) {
            return;
        }
        let Some(header) = &self.header else {
            return;
        };
        if self.check_ragged {
            let width = header.width;
            let last = cells
                .iter()
                .rposition(|c| !c.is_blank())
                .map_or(0, |p| p + 1);
            let short = cells.len() < width && !cells.iter().all(Raw::is_blank);
            if short || last > width {
                let found = if short { cells.len() } else { last };
                self.row_error(TabularError::row(
                    number,
                    TabularErrorKind::RaggedRow {
                        expected: width,
                        found,
                    },
                ));
                return;
            }
        }
        let blank = header
            .columns
            .iter()
            .all(|c| cells.get(c.index).is_none_or(Raw::is_blank));
        if blank {
            return;
        }
        if self.rows_seen >= self.limits.max_rows {
            self.row_error(TabularError::row(
                number,
                TabularErrorKind::TooManyRows {
                    max: self.limits.max_rows,
                },
            ));
            self.stage = Stage::Done;
            return;
        }
        self.rows_seen += 1;
        let mut text = String::new();
        let mut ends = Vec::with_capacity(header.columns.len());
        let mut problems = Vec::new();
        for found in &header.columns {
            let raw = cells.get(found.index).unwrap_or(&Raw::Empty);
            if let Err((kind, value)) =
                convert_into(raw, found.column.kind, self.is_1904, self.limits, &mut text)
            {
                let cell =
                    (self.format == SourceFormat::Xlsx).then(|| cell_ref(number, found.index));
                problems.push(
                    TabularError::cell(number, &found.header_as_written, &value, kind)
                        .at_cell(cell),
                );
            }
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        if problems.is_empty() {
            // Rows are kept only while the file is clean: the caller gets none otherwise.
            if self.row_errors.is_empty() {
                let keys = Arc::clone(&header.keys);
                self.rows.push(Row {
                    number,
                    keys,
                    text: text.into_boxed_str(),
                    ends: ends.into_boxed_slice(),
                });
            }
        } else {
            self.rows = Vec::new();
            for e in problems {
                self.row_error(e);
            }
        }
    }

    /// The table, or every problem found: the header's, then merged cells and formulas (which
    /// the xlsx reader finds in passes of their own), then the rows', up to the error limit.
    pub(crate) fn finish(
        mut self,
        extras: &SheetExtras,
        encoding: Option<TextEncoding>,
        sheet: Option<String>,
    ) -> Result<Table, TabularErrors> {
        if matches!(self.stage, Stage::Searching(_)) {
            self.choose_header();
        }
        let header_row = self.header_row;
        let mut table = Table {
            format: self.format,
            encoding,
            sheet,
            header_row,
            columns: Vec::new(),
            ignored_headers: Vec::new(),
            rows: Vec::new(),
        };
        let mut errors = Collector::new(self.limits.max_errors);
        let Some(header) = self.header else {
            if self.header_errors.is_empty() {
                self.header_errors
                    .push(TabularError::file(TabularErrorKind::NoHeader));
            }
            for e in self.header_errors {
                errors.push(e);
            }
            return errors.finish(table);
        };
        for &(r1, c1, r2, c2) in &extras.merged {
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
            header
                .columns
                .iter()
                .find(|c| c.index == index)
                .map(|c| c.header_as_written.clone())
        };
        let mut formulas: Vec<(&(usize, usize), &String)> = extras
            .formulas
            .iter()
            .filter(|((row, col), _)| {
                *row >= header_row && header.columns.iter().any(|c| c.index == *col)
            })
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
        for e in self.row_errors {
            if !errors.push(e) {
                break;
            }
        }
        if errors.is_empty_so_far() {
            table.columns = header.columns;
            table.ignored_headers = header.ignored;
            table.rows = self.rows;
        }
        errors.finish(table)
    }
}

/// How a row of raw cells matches the schema as a header.
fn header_match(schema: &[Column], cells: &[Raw<'_>]) -> HeaderMatch {
    let texts: Vec<String> = cells.iter().map(header_text).collect();
    match_headers(schema, &texts)
}

fn header_text(raw: &Raw<'_>) -> String {
    match raw {
        Raw::Text(s) => s.trim().to_owned(),
        other => {
            let mut out = String::new();
            match convert_into(other, ColumnKind::Text, false, &Limits::default(), &mut out) {
                Ok(()) => out,
                Err(_) => String::new(),
            }
        }
    }
}

/// Converts a raw cell to the text the caller receives, appended to `out`; or the reason and
/// the value shown in the error (`out` is then left as it was).
fn convert_into(
    raw: &Raw<'_>,
    kind: ColumnKind,
    is_1904: bool,
    limits: &Limits,
    out: &mut String,
) -> Result<(), (TabularErrorKind, String)> {
    let text = match raw {
        Raw::Empty => return Ok(()),
        Raw::Error(code) => {
            return Err((
                TabularErrorKind::CellErrorValue { code: code.clone() },
                code.clone(),
            ));
        }
        Raw::Text(s) => {
            // A string of at most that many bytes cannot have more characters.
            if s.len() > limits.max_cell_chars {
                let chars = s.chars().count();
                if chars > limits.max_cell_chars {
                    let kind = TabularErrorKind::CellTooLong {
                        chars,
                        max: limits.max_cell_chars,
                    };
                    return Err((kind, s.chars().take(20).collect()));
                }
            }
            unguard(s.trim())
        }
        Raw::Bool(b) => {
            if *b {
                "TRUE"
            } else {
                "FALSE"
            }
        }
        Raw::Int(i) => {
            match kind {
                ColumnKind::Text => {
                    let _ = write!(out, "{i}");
                }
                ColumnKind::Date => out.push_str(
                    &serial_date(*i as f64, is_1904)
                        .ok_or_else(|| (TabularErrorKind::InvalidDateSerial, i.to_string()))?,
                ),
            }
            return Ok(());
        }
        Raw::Number(f) => {
            match kind {
                ColumnKind::Text => out.push_str(&format_number(*f)),
                ColumnKind::Date => out.push_str(
                    &serial_date(*f, is_1904)
                        .ok_or_else(|| (TabularErrorKind::InvalidDateSerial, format_number(*f)))?,
                ),
            }
            return Ok(());
        }
        Raw::DateTime { date, seconds } => {
            let iso = mamori_core::calendar::format_iso(*date);
            match (kind, *seconds) {
                (_, 0) => out.push_str(&iso),
                (ColumnKind::Text, s) => {
                    let _ = write!(
                        out,
                        "{iso} {:02}:{:02}:{:02}",
                        s / 3600,
                        s / 60 % 60,
                        s % 60
                    );
                }
                (ColumnKind::Date, _) => {
                    return Err((
                        TabularErrorKind::InvalidDate {
                            reason: "日付に時刻が含まれています。日付だけを入力してください"
                                .to_owned(),
                        },
                        iso,
                    ));
                }
            }
            return Ok(());
        }
    };
    match kind {
        ColumnKind::Text => out.push_str(text),
        ColumnKind::Date if text.is_empty() => {}
        ColumnKind::Date => {
            // A five-digit number in a date column is a serial number that lost its format
            // (typical of CSV saved from a General-formatted column).
            let folded = crate::cell::fold_digits(text);
            if folded.len() == 5 && folded.bytes().all(|b| b.is_ascii_digit()) {
                let serial: f64 = folded.parse().unwrap_or(0.0);
                let iso = serial_date(serial, is_1904)
                    .ok_or_else(|| (TabularErrorKind::InvalidDateSerial, text.to_owned()))?;
                out.push_str(&iso);
                return Ok(());
            }
            let date = mamori_core::calendar::parse_date(text).map_err(|e| {
                (
                    TabularErrorKind::InvalidDate {
                        reason: e.to_string(),
                    },
                    text.to_owned(),
                )
            })?;
            out.push_str(&mamori_core::calendar::format_iso(date));
        }
    }
    Ok(())
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
