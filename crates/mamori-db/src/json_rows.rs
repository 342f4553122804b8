//! Many rows written with one bound value (PostgreSQL).
//!
//! A bulk write binds every value of every row separately: 500 assets are ≈ 15,000 parameters,
//! each copied twice by the driver on its way out. On PostgreSQL the rows instead go as one
//! JSON array of arrays, `[[1,"A-1",…],[2,"A-2",…]]`, that the statement unpacks with
//! `jsonb_array_elements`: one parameter per batch, written straight into one buffer (as `jsonb`
//! the array is parsed once; as `json` each `->>` re-reads its element from the start, measured
//! 6× slower for 29 columns). Values are only integers, texts and nulls, the two column types
//! the schema uses; the statement casts each integer back to `bigint`, so the rows stored are
//! the same as with bound parameters.

use std::io::Write as _;

use serde::Serialize;

/// The type of one column written from JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    /// `bigint`.
    Int,
    /// `text`.
    Text,
}

/// `INSERT INTO table (columns) SELECT … FROM jsonb_array_elements($1::jsonb)`, the values of
/// each element taken by position; `returning` is appended as it is (`""` for none).
pub(crate) fn insert_sql(table: &str, columns: &[(&str, Col)], returning: &str) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, col))| match col {
            Col::Int => format!("(e->>{i})::bigint"),
            Col::Text => format!("e->>{i}"),
        })
        .collect();
    format!(
        "INSERT INTO {table} ({}) SELECT {} FROM jsonb_array_elements($1::jsonb) AS rows(e){}{}",
        names.join(", "),
        values.join(", "),
        if returning.is_empty() { "" } else { " " },
        returning
    )
}

/// A JSON array of rows being written.
#[derive(Debug)]
pub(crate) struct JsonRows {
    buf: Vec<u8>,
}

impl JsonRows {
    /// An empty array.
    pub(crate) fn new() -> Self {
        JsonRows { buf: b"[".to_vec() }
    }

    /// Starts a row.
    pub(crate) fn row(&mut self) -> &mut Self {
        self.sep();
        self.buf.push(b'[');
        self
    }

    /// A comma unless this is the first element of its array (a row, or a value in its row).
    fn sep(&mut self) {
        if self.buf.last() != Some(&b'[') {
            self.buf.push(b',');
        }
    }

    /// An integer value.
    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.sep();
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{v}");
        self
    }

    /// An integer or null.
    pub(crate) fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A text value.
    pub(crate) fn text(&mut self, v: &str) -> &mut Self {
        self.sep();
        let mut ser = serde_json::Serializer::new(&mut self.buf);
        // Writing a string into a Vec cannot fail.
        let _ = v.serialize(&mut ser);
        self
    }

    /// A text or null.
    pub(crate) fn opt_text(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"null");
        self
    }

    /// Ends the open row.
    pub(crate) fn end(&mut self) {
        self.buf.push(b']');
    }

    /// The JSON text of the rows; the builder is left empty for the next batch.
    pub(crate) fn take(&mut self) -> String {
        let mut buf = std::mem::replace(&mut self.buf, b"[".to_vec());
        buf.push(b']');
        // Only ASCII punctuation and serde_json's escaped strings were written: valid UTF-8.
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_a_json_array_of_arrays_with_nulls_and_escapes() {
        let mut rows = JsonRows::new();
        rows.row()
            .int(1)
            .text("資産\"1\"\n")
            .opt_int(None)
            .opt_text(None)
            .end();
        rows.row()
            .int(-2)
            .text("")
            .opt_int(Some(7))
            .opt_text(Some("x"))
            .end();
        let text = rows.take();
        assert_eq!(text, r#"[[1,"資産\"1\"\n",null,null],[-2,"",7,"x"]]"#);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed[0][1], "資産\"1\"\n");
        assert_eq!(rows.take(), "[]");
    }

    #[test]
    fn insert_statement_casts_integers_by_position() {
        let sql = insert_sql("t", &[("a", Col::Int), ("b", Col::Text)], "RETURNING a");
        assert_eq!(
            sql,
            "INSERT INTO t (a, b) SELECT (e->>0)::bigint, e->>1 FROM \
             jsonb_array_elements($1::jsonb) AS rows(e) RETURNING a"
        );
    }
}
