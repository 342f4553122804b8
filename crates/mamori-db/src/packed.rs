//! Many rows as one text from SQLite. sqlx hands SQLite rows over from its worker thread one by
//! one, which costs more than the query itself on large reads (the audit chain, a whole asset
//! register); there a page of rows comes back as one text instead, every field written as
//! `<byte length>:<value>` (`-` for NULL), fields and rows back to back in order.

use crate::{DbError, DbResult};

/// The SQLite expression writing one row of `columns` (a comma-separated select list; `x AS y`
/// is read as `x`) in the packed form.
pub(crate) fn sqlite_record(columns: &str) -> String {
    columns
        .split(',')
        .map(|c| {
            let c = c.split(" AS ").next().unwrap_or(c).trim();
            format!(
                "(CASE WHEN {c} IS NULL THEN '-' ELSE length(CAST({c} AS BLOB)) || ':' || {c} END)"
            )
        })
        .collect::<Vec<_>>()
        .join(" || ")
}

/// Reads the fields of a packed text in order; a malformed text is a [`DbError::Corrupt`] of
/// `table`.
pub(crate) struct Fields<'a> {
    rest: &'a str,
    table: &'static str,
}

impl<'a> Fields<'a> {
    /// A reader over `text`, packed from `table`.
    pub(crate) fn new(text: &'a str, table: &'static str) -> Fields<'a> {
        Fields { rest: text, table }
    }

    /// Whether every field has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn corrupt(&self, detail: &str) -> DbError {
        DbError::Corrupt {
            table: self.table,
            column: "*",
            detail: detail.to_owned(),
        }
    }

    /// The next field: `None` for NULL.
    pub(crate) fn next(&mut self) -> DbResult<Option<&'a str>> {
        if let Some(r) = self.rest.strip_prefix('-') {
            self.rest = r;
            return Ok(None);
        }
        let (len, r) = self
            .rest
            .split_once(':')
            .ok_or_else(|| self.corrupt("field"))?;
        let len: usize = len.parse().map_err(|_| self.corrupt("field length"))?;
        let value = r.get(..len).ok_or_else(|| self.corrupt("field value"))?;
        self.rest = r.get(len..).ok_or_else(|| self.corrupt("field value"))?;
        Ok(Some(value))
    }

    /// The next field as text, NULL as empty.
    pub(crate) fn text(&mut self) -> DbResult<String> {
        Ok(self.next()?.unwrap_or_default().to_owned())
    }

    /// The next field as text or NULL.
    pub(crate) fn opt_text(&mut self) -> DbResult<Option<String>> {
        Ok(self.next()?.map(str::to_owned))
    }

    /// The next field as a number or NULL.
    pub(crate) fn opt_int(&mut self) -> DbResult<Option<i64>> {
        match self.next()? {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.corrupt("number")),
        }
    }

    /// The next field as a number, NULL as 0.
    pub(crate) fn int(&mut self) -> DbResult<i64> {
        Ok(self.opt_int()?.unwrap_or_default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_lengths_in_bytes_and_nulls() {
        // Byte lengths, so Japanese text, colons and dashes inside values are read whole.
        let mut p = Fields::new("2:12-0:7:監査:3:-x3a:b", "t");
        assert_eq!(p.next().unwrap(), Some("12"));
        assert_eq!(p.next().unwrap(), None);
        assert_eq!(p.next().unwrap(), Some(""));
        assert_eq!(p.next().unwrap(), Some("監査:"));
        assert_eq!(p.next().unwrap(), Some("-x3"));
        assert!(p.next().is_err(), "a length that is not a number");
        let mut f = Fields::new("6:資産-0:3:a:b", "t");
        assert_eq!(f.next().unwrap(), Some("資産"));
        assert_eq!(f.next().unwrap(), None);
        assert_eq!(f.next().unwrap(), Some(""));
        assert_eq!(f.next().unwrap(), Some("a:b"));
        assert!(f.is_empty());
        assert!(
            Fields::new("9:abc", "t").next().is_err(),
            "a value shorter than its length"
        );
        assert!(
            Fields::new("1:監", "t").next().is_err(),
            "a length that cuts a character"
        );
    }
}
