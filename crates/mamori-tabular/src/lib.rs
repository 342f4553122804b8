//! mamori-tabular: spreadsheet and CSV I/O for imports and exports, bytes in and bytes out.
//!
//! Japanese municipal staff keep their registers in Excel; this crate reads what they give
//! (xlsx, or CSV in UTF-8 or Shift_JIS/CP932 as Excel writes it) against a schema of Japanese
//! headers, and writes exports they can open without surprises. It knows nothing of the
//! database: the caller maps [`Row`]s to its own types and reports its own problems with
//! [`Table::error`], so every message has the same shape — row, column, cell, value, reason.
//!
//! Reading refuses, with a message naming the place: a file that is not what its name says,
//! zip bombs and oversized files (checked before anything is inflated), undecodable bytes,
//! ragged CSV rows, merged cells, formulas, Excel error values, missing or renamed headers and
//! unreadable dates. Writing guards every cell against formula injection, and CP932 output
//! reports characters it cannot hold instead of replacing them.

// Errors carry the row, column, cell and value as fields so the UI can place them; they are
// built only on the failure path, so their size costs nothing where speed matters.
#![allow(clippy::result_large_err)]

mod cell;
mod error;
mod read;
mod schema;
mod stream;
mod write;
mod xlsx;

pub use cell::{
    CP932_SUBSTITUTIONS, cell_ref, column_letters, fold_digits, guard, level_value, map_for_cp932,
    parse_integer, parse_yes_no, trim_cell, unencodable_in_cp932, unguard,
};
pub use error::{TabularError, TabularErrorKind, TabularErrors};
pub use read::{
    Limits, ReadOptions, Row, SourceFormat, Table, TextEncoding, decode_text, detect_format,
    read_table, serial_date,
};
pub use schema::{Column, ColumnKind, FoundColumn, fold_header};
pub use stream::{StreamColumn, StreamError, XlsxStream};
pub use write::{
    ExportFormat, ExportTable, fitted_width, write_csv_cp932, write_csv_utf8, write_table,
    write_xlsx, write_xlsx_book,
};
