//! Writing an export: CSV in UTF-8 with BOM, CSV in CP932, and xlsx with a frozen, filtered
//! header row. Every cell is guarded against formula injection; CP932 output substitutes the
//! characters CP932 lacks and reports, cell by cell, any it still cannot hold — it never writes a
//! replacement character or a numeric reference in their place.

use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook};

use crate::cell::{guard, map_for_cp932, unencodable_in_cp932};
use crate::error::{Collector, TabularError, TabularErrorKind, TabularErrors};
use crate::schema::Column;

/// Excel's limit on rows in a sheet.
const XLSX_MAX_ROWS: usize = 1_048_576;
/// Excel's limit on characters in a cell.
const XLSX_MAX_CELL_CHARS: usize = 32_767;
/// Column widths are measured on this many rows; enough to be representative, cheap on 100,000.
const WIDTH_SAMPLE_ROWS: usize = 1_000;
/// Most errors reported from one export.
const MAX_EXPORT_ERRORS: usize = 200;

/// The file formats an export can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// An xlsx workbook.
    Xlsx,
    /// CSV in UTF-8 with a byte-order mark, so Excel opens it as UTF-8.
    CsvUtf8,
    /// CSV in Shift_JIS (CP932), for older tools that expect it.
    CsvCp932,
}

impl ExportFormat {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::CsvUtf8 | ExportFormat::CsvCp932 => "csv",
        }
    }

    /// The media type for downloads.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::CsvUtf8 => "text/csv; charset=utf-8",
            ExportFormat::CsvCp932 => "text/csv; charset=Shift_JIS",
        }
    }
}

/// A table to export: a sheet name, headers, and rows of text cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportTable {
    /// The xlsx sheet name (shortened and cleaned to what Excel allows).
    pub sheet_name: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows; each must have as many cells as there are headers.
    pub rows: Vec<Vec<String>>,
}

impl ExportTable {
    /// An empty table with these headers.
    pub fn new(sheet_name: &str, headers: Vec<String>) -> Self {
        ExportTable {
            sheet_name: sheet_name.to_owned(),
            headers,
            rows: Vec::new(),
        }
    }

    /// An empty table with the headers of a schema, in schema order.
    pub fn from_schema(sheet_name: &str, schema: &[Column]) -> Self {
        ExportTable::new(
            sheet_name,
            schema.iter().map(|c| c.header.to_owned()).collect(),
        )
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Checks every row has as many cells as the header; rows are numbered as in the file
    /// (header = row 1).
    fn check_shape(&self, errors: &mut Collector) {
        for (i, row) in self.rows.iter().enumerate() {
            if row.len() != self.headers.len() {
                let e = TabularError::row(
                    i + 2,
                    TabularErrorKind::ExportRagged {
                        expected: self.headers.len(),
                        found: row.len(),
                    },
                );
                if !errors.push(e) {
                    return;
                }
            }
        }
    }

    /// Header then rows, each numbered as in the file.
    fn numbered_rows(&self) -> impl Iterator<Item = (usize, &Vec<String>)> {
        std::iter::once(&self.headers)
            .chain(self.rows.iter())
            .enumerate()
            .map(|(i, r)| (i + 1, r))
    }

    /// The header of a 0-based column, for messages.
    fn header(&self, column: usize) -> &str {
        self.headers.get(column).map_or("", String::as_str)
    }
}

/// Writes a table in the chosen format.
pub fn write_table(table: &ExportTable, format: ExportFormat) -> Result<Vec<u8>, TabularErrors> {
    match format {
        ExportFormat::Xlsx => write_xlsx(table),
        ExportFormat::CsvUtf8 => write_csv_utf8(table),
        ExportFormat::CsvCp932 => write_csv_cp932(table),
    }
}

/// CSV in UTF-8 with a BOM and CRLF line ends, as Excel writes 「CSV UTF-8」.
pub fn write_csv_utf8(table: &ExportTable) -> Result<Vec<u8>, TabularErrors> {
    let mut errors = Collector::new(MAX_EXPORT_ERRORS);
    table.check_shape(&mut errors);
    if !errors.is_empty_so_far() {
        return errors.finish(Vec::new());
    }
    let mut writer = csv_writer(b"\xEF\xBB\xBF".to_vec());
    for (_, row) in table.numbered_rows() {
        write_record(&mut writer, row.iter().map(|c| guard(c)))?;
    }
    Ok(finish_csv(writer)?)
}

/// CSV in Shift_JIS (CP932) with CRLF line ends. Characters CP932 lacks are first replaced by
/// their usual equivalents (〜 → ～ and the like); any cell that still holds a character CP932
/// cannot encode is reported with its row, header and the character, and nothing is written.
pub fn write_csv_cp932(table: &ExportTable) -> Result<Vec<u8>, TabularErrors> {
    let mut errors = Collector::new(MAX_EXPORT_ERRORS);
    table.check_shape(&mut errors);
    // Cells are encoded one by one and handed to the CSV writer as bytes: no Shift_JIS trail
    // byte can be a quote, comma or line break, so quoting stays correct.
    let mut writer = csv_writer(Vec::new());
    'rows: for (number, row) in table.numbered_rows() {
        let mut cells = Vec::with_capacity(row.len());
        for (column, value) in row.iter().enumerate() {
            match encode_cp932_cell(value) {
                Ok(bytes) => cells.push(bytes),
                Err(characters) => {
                    for character in characters {
                        let e = TabularError::cell(
                            number,
                            table.header(column),
                            value,
                            TabularErrorKind::Unencodable {
                                character,
                                code: u32::from(character),
                            },
                        );
                        if !errors.push(e) {
                            break 'rows;
                        }
                    }
                }
            }
        }
        if errors.is_empty_so_far() {
            write_record(&mut writer, cells)?;
        }
    }
    if !errors.is_empty_so_far() {
        return errors.finish(Vec::new());
    }
    Ok(finish_csv(writer)?)
}

/// One cell in CP932 (guarded, look-alikes substituted), or the characters that cannot be.
fn encode_cp932_cell(value: &str) -> Result<Vec<u8>, Vec<char>> {
    if value.is_ascii() {
        return Ok(guard(value).into_bytes());
    }
    let cell = guard(&map_for_cp932(value));
    let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(&cell);
    if had_errors {
        Err(unencodable_in_cp932(&cell))
    } else {
        Ok(bytes.into_owned())
    }
}

fn csv_writer(start: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(start)
}

fn csv_failure(reason: impl std::fmt::Display) -> TabularError {
    TabularError::file(TabularErrorKind::Invalid {
        reason: format!("CSV を作成できませんでした（{reason}）"),
    })
}

fn write_record<I, T>(writer: &mut csv::Writer<Vec<u8>>, cells: I) -> Result<(), TabularError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    writer.write_record(cells).map_err(csv_failure)
}

fn finish_csv(writer: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, TabularError> {
    writer.into_inner().map_err(|e| csv_failure(e.error()))
}

/// An xlsx workbook with one sheet: a bold header row, column widths fitted to the content,
/// the header frozen and an autofilter over the table. Every value is written as text, so codes
/// such as 「001」 keep their zeros.
pub fn write_xlsx(table: &ExportTable) -> Result<Vec<u8>, TabularErrors> {
    let mut errors = Collector::new(MAX_EXPORT_ERRORS);
    table.check_shape(&mut errors);
    if table.rows.len() + 1 > XLSX_MAX_ROWS {
        errors.push(TabularError::file(TabularErrorKind::TooManyRows {
            max: XLSX_MAX_ROWS - 1,
        }));
    }
    for (number, row) in table.numbered_rows() {
        for (column, value) in row.iter().enumerate() {
            let chars = value.chars().count();
            if chars >= XLSX_MAX_CELL_CHARS {
                let e = TabularError::cell(
                    number,
                    table.header(column),
                    value,
                    TabularErrorKind::CellTooLong {
                        chars,
                        max: XLSX_MAX_CELL_CHARS - 1,
                    },
                );
                errors.push(e);
            }
        }
    }
    if !errors.is_empty_so_far() {
        return errors.finish(Vec::new());
    }
    build_xlsx(table).map_err(|e| {
        TabularErrors::one(TabularError::file(TabularErrorKind::XlsxWrite {
            reason: e.to_string(),
        }))
    })
}

fn build_xlsx(table: &ExportTable) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    build_book(std::slice::from_ref(table))
}

/// An xlsx workbook with one sheet per table, each as [`write_xlsx`] writes its one sheet (an
/// audit engagement's checklist, findings and corrective actions side by side).
pub fn write_xlsx_book(tables: &[ExportTable]) -> Result<Vec<u8>, TabularErrors> {
    let mut errors = Collector::new(MAX_EXPORT_ERRORS);
    for table in tables {
        table.check_shape(&mut errors);
        if table.rows.len() + 1 > XLSX_MAX_ROWS {
            errors.push(TabularError::file(TabularErrorKind::TooManyRows {
                max: XLSX_MAX_ROWS - 1,
            }));
        }
        for (number, row) in table.numbered_rows() {
            for (column, value) in row.iter().enumerate() {
                let chars = value.chars().count();
                if chars >= XLSX_MAX_CELL_CHARS {
                    errors.push(TabularError::cell(
                        number,
                        table.header(column),
                        value,
                        TabularErrorKind::CellTooLong {
                            chars,
                            max: XLSX_MAX_CELL_CHARS - 1,
                        },
                    ));
                }
            }
        }
    }
    if !errors.is_empty_so_far() {
        return errors.finish(Vec::new());
    }
    build_book(tables).map_err(|e| {
        TabularErrors::one(TabularError::file(TabularErrorKind::XlsxWrite {
            reason: e.to_string(),
        }))
    })
}

fn build_book(tables: &[ExportTable]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = Workbook::new();
    // The fastest deflate level: exports of 100,000 rows stay well under the time budget, and
    // the file is only somewhat larger.
    workbook.set_zip_compression_level(1);
    let header_format = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDE5F0))
        .set_border(FormatBorder::Thin);
    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name(&table.sheet_name))?;
        let last_col = u16::try_from(table.headers.len().saturating_sub(1)).unwrap_or(u16::MAX);
        for (col, header) in (0u16..).zip(&table.headers) {
            sheet.write_string_with_format(0, col, guard(header), &header_format)?;
            let width = fitted_width(
                header,
                table
                    .rows
                    .iter()
                    .filter_map(|r| r.get(usize::from(col)))
                    .map(String::as_str),
            );
            sheet.set_column_width(col, width)?;
        }
        for (row_index, row) in (1u32..).zip(&table.rows) {
            for (col, value) in (0u16..).zip(row) {
                if !value.is_empty() {
                    sheet.write_string(row_index, col, guard(value))?;
                }
            }
        }
        if !table.headers.is_empty() {
            let last_row = u32::try_from(table.rows.len()).unwrap_or(u32::MAX);
            sheet.set_freeze_panes(1, 0)?;
            sheet.autofilter(0, 0, last_row, last_col)?;
        }
    }
    workbook.save_to_buffer()
}

/// The width (in characters) an export gives a column: fitted to the header and the first
/// rows' values, wide characters counting two, between 8 and 60. Streamed exports
/// ([`crate::XlsxStream`]) size their columns with it too, so both look alike.
pub fn fitted_width<'a>(header: &'a str, values: impl Iterator<Item = &'a str>) -> f64 {
    let width = values
        .take(WIDTH_SAMPLE_ROWS)
        .chain(std::iter::once(header))
        .map(display_width)
        .max()
        .unwrap_or(8);
    (width as f64 + 2.0).clamp(8.0, 60.0)
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, not empty.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') && !c.is_control())
        .take(31)
        .collect();
    let cleaned = cleaned.trim_matches('\'').trim().to_owned();
    if cleaned.is_empty() {
        "Sheet1".to_owned()
    } else {
        cleaned
    }
}

/// Approximate display width: East Asian wide characters count two.
fn display_width(value: &str) -> usize {
    value
        .lines()
        .map(|line| {
            line.chars()
                .map(|c| match u32::from(c) {
                    0xFF61..=0xFF9F => 1,
                    0x1100.. => 2,
                    _ => 1,
                })
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_cleaned() {
        assert_eq!(sheet_name("台帳[2026]/R8"), "台帳2026R8");
        assert_eq!(sheet_name("''"), "Sheet1");
        assert_eq!(sheet_name(&"あ".repeat(40)).chars().count(), 31);
    }

    #[test]
    fn widths_count_wide_characters_twice() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("資産番号"), 8);
        assert_eq!(display_width("ｱｲｳ"), 3);
    }
}
