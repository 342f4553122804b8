//! An xlsx workbook written row by row, for exports too large to hold as an [`ExportTable`]
//! (a self-inspection campaign's 750,000 answers): each sheet's XML goes straight into the zip
//! as rows arrive, so memory stays flat and the output can be sent while it is being made.
//!
//! Columns marked shared keep their values in the workbook's shared-string table (a value that
//! repeats on every row — a question, a unit, an answer — is stored once); the others are written
//! inline. Every value is text and guarded against formula injection, as in [`write_xlsx`]; the
//! header row is bold, frozen and filtered.
//!
//! [`ExportTable`]: crate::ExportTable
//! [`write_xlsx`]: crate::write_xlsx

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use crate::cell::{column_letters, guard};

/// Excel's limit on rows in a sheet.
const MAX_ROWS: u32 = 1_048_576;
/// Excel's limit on characters in a cell; longer values are cut.
const MAX_CELL_CHARS: usize = 32_767;

/// A failure writing the workbook (the output broke, or a sheet overflowed).
#[derive(Debug, thiserror::Error)]
#[error("xlsx を作成できませんでした（{0}）")]
pub struct StreamError(String);

impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        StreamError(e.to_string())
    }
}

impl From<zip::result::ZipError> for StreamError {
    fn from(e: zip::result::ZipError) -> Self {
        StreamError(e.to_string())
    }
}

/// One column of a streamed sheet.
#[derive(Debug, Clone)]
pub struct StreamColumn {
    /// Header text.
    pub header: String,
    /// Width in characters.
    pub width: f64,
    /// Whether values go to the shared-string table (values that repeat).
    pub shared: bool,
}

impl StreamColumn {
    /// A column whose values repeat (stored once).
    pub fn shared(header: &str, width: f64) -> Self {
        StreamColumn {
            header: header.to_owned(),
            width,
            shared: true,
        }
    }

    /// A column of free text (written where it stands).
    pub fn inline(header: &str, width: f64) -> Self {
        StreamColumn {
            header: header.to_owned(),
            width,
            shared: false,
        }
    }
}

/// A workbook being written.
pub struct XlsxStream<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    sheets: Vec<(String, u32, usize)>,
    columns: Vec<StreamColumn>,
    letters: Vec<String>,
    /// Per column, the last shared value written and its index: a value repeated down a
    /// column (the same respondent on 150 rows) is compared, not hashed.
    last: Vec<Option<(String, u32)>>,
    row: u32,
    strings: HashMap<String, u32>,
    ordered: Vec<String>,
    buf: String,
    open: bool,
}

impl<W: Write> std::fmt::Debug for XlsxStream<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxStream")
            .field("sheets", &self.sheets)
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

fn options() -> SimpleFileOptions {
    // The fastest deflate level: the sheet XML is large and repetitive, level 1 already
    // shrinks it about tenfold.
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true)
}

/// Appends `value` to `out` escaped for XML text, dropping characters XML 1.0 cannot carry.
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

fn clip(value: &str) -> &str {
    match value.char_indices().nth(MAX_CELL_CHARS - 1) {
        Some((i, _)) => value.get(..i).unwrap_or(value),
        None => value,
    }
}

impl<W: Write> XlsxStream<W> {
    /// A workbook writing into `out`; add a sheet before the first row.
    pub fn new(out: W) -> Self {
        XlsxStream {
            zip: ZipWriter::new_stream(out),
            sheets: Vec::new(),
            columns: Vec::new(),
            letters: Vec::new(),
            last: Vec::new(),
            row: 0,
            strings: HashMap::new(),
            ordered: Vec::new(),
            buf: String::with_capacity(1 << 16),
            open: false,
        }
    }

    fn intern(&mut self, value: &str) -> u32 {
        if let Some(&i) = self.strings.get(value) {
            return i;
        }
        let i = u32::try_from(self.ordered.len()).unwrap_or(u32::MAX);
        self.strings.insert(value.to_owned(), i);
        self.ordered.push(value.to_owned());
        i
    }

    /// Starts a new sheet with these columns (finishing the one before); its header row is
    /// written at once.
    pub fn sheet(&mut self, name: &str, columns: Vec<StreamColumn>) -> Result<(), StreamError> {
        self.end_sheet()?;
        let index = self.sheets.len() + 1;
        self.sheets
            .push((sheet_name(name, index), 0, columns.len()));
        self.zip
            .start_file(format!("xl/worksheets/sheet{index}.xml"), options())?;
        let mut head = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet \
             xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
             xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
             <sheetViews><sheetView workbookViewId=\"0\"><pane ySplit=\"1\" topLeftCell=\"A2\" \
             activePane=\"bottomLeft\" state=\"frozen\"/></sheetView></sheetViews>\
             <sheetFormatPr defaultRowHeight=\"15\"/><cols>",
        );
        for (i, c) in columns.iter().enumerate() {
            let _ = write!(
                head,
                "<col min=\"{n}\" max=\"{n}\" width=\"{w:.1}\" customWidth=\"1\"/>",
                n = i + 1,
                w = c.width.clamp(4.0, 100.0)
            );
        }
        head.push_str("</cols><sheetData><row r=\"1\">");
        for (i, c) in columns.iter().enumerate() {
            let s = self.intern(&guard(&c.header));
            let _ = write!(
                head,
                "<c r=\"{}1\" s=\"1\" t=\"s\"><v>{s}</v></c>",
                column_letters(i)
            );
        }
        head.push_str("</row>");
        self.zip.write_all(head.as_bytes())?;
        self.letters = (0..columns.len()).map(column_letters).collect();
        self.last = vec![None; columns.len()];
        self.columns = columns;
        self.row = 1;
        self.open = true;
        Ok(())
    }

    /// Writes one row; missing cells are left empty, extra cells ignored.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), StreamError> {
        if !self.open {
            return Err(StreamError("シートがありません".into()));
        }
        if self.row >= MAX_ROWS {
            return Err(StreamError(format!(
                "1シートの行数の上限（{}行）を超えます",
                MAX_ROWS - 1
            )));
        }
        self.row += 1;
        let r = self.row;
        let mut buf = std::mem::take(&mut self.buf);
        let _ = write!(buf, "<row r=\"{r}\">");
        for (i, value) in cells.iter().take(self.columns.len()).enumerate() {
            let value = value.as_ref();
            if value.is_empty() {
                continue;
            }
            let value = clip(value);
            // Most values need no guard; only those starting like a formula are copied.
            let guarded;
            let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                guarded = guard(value);
                guarded.as_str()
            } else {
                value
            };
            if self.columns.get(i).is_some_and(|c| c.shared) {
                let s = match self.last.get(i) {
                    Some(Some((v, s))) if v == value => *s,
                    _ => {
                        let s = self.intern(value);
                        if let Some(slot) = self.last.get_mut(i) {
                            *slot = Some((value.to_owned(), s));
                        }
                        s
                    }
                };
                let letters = self.letters.get(i).map_or("A", String::as_str);
                let _ = write!(buf, "<c r=\"{letters}{r}\" t=\"s\"><v>{s}</v></c>");
            } else {
                let letters = self.letters.get(i).map_or("A", String::as_str);
                let _ = write!(
                    buf,
                    "<c r=\"{letters}{r}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">"
                );
                escape_into(&mut buf, value);
                buf.push_str("</t></is></c>");
            }
        }
        buf.push_str("</row>");
        if buf.len() >= 1 << 16 {
            self.zip.write_all(buf.as_bytes())?;
            buf.clear();
        }
        self.buf = buf;
        Ok(())
    }

    fn end_sheet(&mut self) -> Result<(), StreamError> {
        if !self.open {
            return Ok(());
        }
        let last_col = column_letters(self.columns.len().saturating_sub(1));
        let _ = write!(
            self.buf,
            "</sheetData><autoFilter ref=\"A1:{last_col}{}\"/>\
             <pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" header=\"0.3\" footer=\"0.3\"/>\
             </worksheet>",
            self.row
        );
        self.zip.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        if let Some(last) = self.sheets.last_mut() {
            last.1 = self.row;
        }
        self.open = false;
        Ok(())
    }

    /// Writes the remaining parts (workbook, styles, shared strings) and returns the output.
    pub fn finish(mut self) -> Result<W, StreamError> {
        self.end_sheet()?;
        if self.sheets.is_empty() {
            return Err(StreamError("シートがありません".into()));
        }
        let mut sst = String::with_capacity(64 * self.ordered.len() + 200);
        let _ = write!(
            sst,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst \
             xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"{n}\" \
             uniqueCount=\"{n}\">",
            n = self.ordered.len()
        );
        for s in &self.ordered {
            sst.push_str("<si><t xml:space=\"preserve\">");
            escape_into(&mut sst, s);
            sst.push_str("</t></si>");
        }
        sst.push_str("</sst>");
        self.zip.start_file("xl/sharedStrings.xml", options())?;
        self.zip.write_all(sst.as_bytes())?;

        let mut content_types = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types \
             xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
             <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
             <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
             <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
             <Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
             <Override PartName=\"/xl/sharedStrings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/>",
        );
        let mut rels = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships \
             xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">",
        );
        let mut workbook = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<workbook \
             xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
             xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
             <bookViews><workbookView/></bookViews><sheets>",
        );
        let mut names = String::new();
        for (i, (name, rows, cols)) in self.sheets.iter().enumerate() {
            let n = i + 1;
            let _ = write!(
                content_types,
                "<Override PartName=\"/xl/worksheets/sheet{n}.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
            );
            let _ = write!(
                rels,
                "<Relationship Id=\"rId{n}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet{n}.xml\"/>"
            );
            workbook.push_str("<sheet name=\"");
            escape_into(&mut workbook, name);
            let _ = write!(workbook, "\" sheetId=\"{n}\" r:id=\"rId{n}\"/>");
            let _ = write!(
                names,
                "<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"{i}\" hidden=\"1\">'"
            );
            escape_into(&mut names, &name.replace('\'', "''"));
            let _ = write!(
                names,
                "'!$A$1:${}${rows}</definedName>",
                column_letters(cols.saturating_sub(1))
            );
        }
        content_types.push_str("</Types>");
        let k = self.sheets.len();
        let _ = write!(
            rels,
            "<Relationship Id=\"rId{}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>\
             <Relationship Id=\"rId{}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"sharedStrings.xml\"/>\
             </Relationships>",
            k + 1,
            k + 2
        );
        let _ = write!(
            workbook,
            "</sheets><definedNames>{names}</definedNames></workbook>"
        );
        let parts: [(&str, &str); 5] = [
            ("xl/workbook.xml", &workbook),
            ("xl/_rels/workbook.xml.rels", &rels),
            ("xl/styles.xml", STYLES),
            ("_rels/.rels", ROOT_RELS),
            ("[Content_Types].xml", &content_types),
        ];
        for (name, text) in parts {
            self.zip.start_file(name, options())?;
            self.zip.write_all(text.as_bytes())?;
        }
        Ok(self.zip.finish()?.into_inner())
    }
}

/// A sheet name Excel accepts (at most 31 characters, none of `[]:*?/\`), or `SheetN`.
fn sheet_name(name: &str, index: usize) -> String {
    let cleaned: String = name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') && !c.is_control())
        .take(31)
        .collect();
    let cleaned = cleaned.trim_matches('\'').trim().to_owned();
    if cleaned.is_empty() {
        format!("Sheet{index}")
    } else {
        cleaned
    }
}

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships \
    xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" \
    Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
    Target=\"xl/workbook.xml\"/></Relationships>";

/// Two cell styles: 0 plain, 1 the header (bold, pale blue, thin border).
const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<styleSheet \
    xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
    <fonts count=\"2\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>\
    <font><b/><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font></fonts>\
    <fills count=\"3\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill>\
    <fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFDDE5F0\"/><bgColor indexed=\"64\"/></patternFill></fill></fills>\
    <borders count=\"2\"><border><left/><right/><top/><bottom/><diagonal/></border>\
    <border><left style=\"thin\"><color auto=\"1\"/></left><right style=\"thin\"><color auto=\"1\"/></right>\
    <top style=\"thin\"><color auto=\"1\"/></top><bottom style=\"thin\"><color auto=\"1\"/></bottom><diagonal/></border></borders>\
    <cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
    <cellXfs count=\"2\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
    <xf numFmtId=\"0\" fontId=\"1\" fillId=\"2\" borderId=\"1\" xfId=\"0\" applyFont=\"1\" applyFill=\"1\" applyBorder=\"1\"/></cellXfs>\
    <cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
    </styleSheet>";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::{Column, ReadOptions, read_table};

    #[test]
    fn a_streamed_workbook_reads_back_with_every_value() {
        let mut x = XlsxStream::new(Vec::new());
        x.sheet(
            "回答",
            vec![
                StreamColumn::shared("所属", 10.0),
                StreamColumn::inline("コメント", 20.0),
            ],
        )
        .unwrap();
        x.row(&["総務課", "鍵 <A&B> \"引用\""]).unwrap();
        x.row(&["総務課", "=1+2"]).unwrap();
        x.row(&["会計課", ""]).unwrap();
        x.sheet("集計", vec![StreamColumn::shared("項目", 10.0)])
            .unwrap();
        x.row(&["合計"]).unwrap();
        let bytes = x.finish().unwrap();
        let schema = [
            Column::required("unit", "所属"),
            Column::optional("comment", "コメント"),
        ];
        let t = read_table(&bytes, "a.xlsx", &schema, &ReadOptions::default()).unwrap();
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].text("comment"), "鍵 <A&B> \"引用\"");
        // Formula injection is guarded as in every export; the reader takes the guard off.
        assert_eq!(t.rows[1].text("comment"), "=1+2");
        assert_eq!(t.rows[2].text("unit"), "会計課");
        let opts = ReadOptions {
            sheet: Some("集計".into()),
            ..ReadOptions::default()
        };
        let t2 = read_table(&bytes, "a.xlsx", &[Column::required("k", "項目")], &opts).unwrap();
        assert_eq!(t2.rows[0].text("k"), "合計");
    }
}
