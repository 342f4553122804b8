//! What the file imports share (the roster, the asset register): a file read against a schema
//! with its name and SHA-256 for the audit trail, and a field change as a plan shows it.

use mamori_tabular::{
    Column, Limits, ReadOptions, Table, TabularError, TabularErrorKind, TabularErrors,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// An import file as read: its name, SHA-256 (for the audit trail) and rows.
#[derive(Debug, Clone)]
pub struct ImportFile {
    /// The file name as given.
    pub name: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The rows, keyed by the schema.
    pub table: Table,
}

/// Reads a file (xlsx, or CSV in UTF-8 or CP932) against `schema` within `limits`; a file with
/// a header and no data row is refused saying `no_rows`.
pub fn read(
    bytes: &[u8],
    file_name: &str,
    schema: &[Column],
    limits: &Limits,
    no_rows: &str,
) -> Result<ImportFile, TabularErrors> {
    let options = ReadOptions {
        limits: *limits,
        sheet: None,
    };
    let table = mamori_tabular::read_table(bytes, file_name, schema, &options)?;
    if table.rows.is_empty() {
        return Err(TabularError::file(TabularErrorKind::Invalid {
            reason: no_rows.to_owned(),
        })
        .into());
    }
    Ok(ImportFile {
        name: file_name.to_owned(),
        sha256: hex::encode(Sha256::digest(bytes)),
        table,
    })
}

/// One field that changes, as the plan shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// Field key (`unit`, `confidentiality`).
    pub field: &'static str,
    /// Its Japanese label or header (所属, 機密性).
    pub label: &'static str,
    /// The value now, as shown.
    pub before: String,
    /// The value after the import, as shown.
    pub after: String,
}
