//! xlsx reading: the zip is checked against the limits before the workbook reader inflates
//! anything, then the chosen sheet is read row by row into the common pipeline in
//! [`crate::read`], with its formulas and merged ranges found in passes of their own.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use time::{Date, Month};

use crate::error::{TabularError, TabularErrorKind};
use crate::read::{Limits, Raw, SheetExtras, TableBuilder};

/// Entries smaller than this may compress arbitrarily well without harm (a sheet of empty
/// styled cells); the ratio limit applies above it.
const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

/// The parts every workbook has; a zip without them is some other document.
const REQUIRED_PARTS: [&str; 2] = ["[Content_Types].xml", "xl/workbook.xml"];

fn corrupt(reason: impl ToString) -> TabularError {
    TabularError::file(TabularErrorKind::CorruptXlsx {
        reason: reason.to_string(),
    })
}

/// What the worksheets of a checked zip contain besides values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SheetMarkup {
    /// Some worksheet has a formula element (`<f>`, with or without a namespace prefix).
    pub(crate) formulas: bool,
    /// Some worksheet has merged cells (`<mergeCell>`).
    pub(crate) merged: bool,
    /// Some cell, row, dimension or merged range has a reference no sheet can hold.
    pub(crate) bad_reference: bool,
}

/// Looks through inflated worksheet XML for the elements that need a pass of their own:
/// formulas and merged cells. Element names are read whole (so `<filter>` is not `<f>`) and a
/// name cut by a buffer boundary is carried over.
#[derive(Debug, Default)]
struct MarkupScan {
    found: SheetMarkup,
    /// The start of a tag cut off at the end of the last buffer.
    carry: Vec<u8>,
}

impl MarkupScan {
    fn feed(&mut self, buf: &[u8]) {
        let mut joined;
        let data = if self.carry.is_empty() {
            buf
        } else {
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(buf);
            joined.as_slice()
        };
        let mut at = 0;
        while let Some(lt) = data
            .get(at..)
            .and_then(|d| d.iter().position(|&b| b == b'<'))
        {
            let start = at + lt + 1;
            let rest = data.get(start..).unwrap_or_default();
            let Some(end) = rest
                .iter()
                .position(|&b| matches!(b, b' ' | b'>' | b'/' | b'\t' | b'\r' | b'\n'))
            else {
                // The name runs past this buffer: look at it again with the next one (a name
                // longer than any element's is not a tag worth carrying).
                if rest.len() < 64 {
                    self.carry = data.get(at + lt..).unwrap_or_default().to_vec();
                }
                return;
            };
            let name = rest.get(..end).unwrap_or_default();
            let local = match name.iter().rposition(|&b| b == b':') {
                Some(colon) => name.get(colon + 1..).unwrap_or_default(),
                None => name,
            };
            match local {
                b"f" => self.found.formulas = true,
                b"mergeCell" => self.found.merged = true,
                _ => {}
            }
            if matches!(local, b"c" | b"row" | b"dimension" | b"mergeCell") {
                // The references are checked whole, so a tag cut by the buffer waits for the
                // next one; no honest tag of these is longer than a few hundred bytes.
                let attrs_from = start + end;
                let Some(close) = data.get(attrs_from..).and_then(tag_close) else {
                    if data.len() - (at + lt) < MAX_TAG_BYTES {
                        self.carry = data.get(at + lt..).unwrap_or_default().to_vec();
                    } else {
                        self.found.bad_reference = true;
                    }
                    return;
                };
                let attrs = data.get(attrs_from..attrs_from + close).unwrap_or_default();
                let attr: &[u8] = if local == b"c" || local == b"row" {
                    b"r"
                } else {
                    b"ref"
                };
                if let Some(value) = attribute(attrs, attr) {
                    let kind = match local {
                        b"c" => Reference::Cell,
                        b"row" => Reference::Row,
                        _ => Reference::Range,
                    };
                    if !valid_reference(value, kind) {
                        self.found.bad_reference = true;
                    }
                }
                at = attrs_from + close;
                continue;
            }
            at = start + end;
        }
    }
}

/// Where a start tag's attributes end: the first `>` outside a quoted value (XML allows `>`
/// inside one, so `<c t=">" r="…">` must not end at the first `>`, which would leave the
/// reference unread).
fn tag_close(attrs: &[u8]) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in attrs.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some(i),
            None => {}
        }
    }
    None
}

/// The longest `<c>`, `<row>`, `<dimension>` or `<mergeCell>` start tag the scan carries over a
/// buffer boundary.
const MAX_TAG_BYTES: usize = 4096;

/// What a reference attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reference {
    /// A cell (`B12`).
    Cell,
    /// A row number (`12`).
    Row,
    /// A cell or a range of cells (`A1:C3`), as a dimension or merged range gives it.
    Range,
}

/// The value of attribute `name` in a start tag's attributes (either quote).
fn attribute<'d>(attrs: &'d [u8], name: &[u8]) -> Option<&'d [u8]> {
    let mut rest = attrs;
    loop {
        let eq = rest.iter().position(|&b| b == b'=')?;
        let key = rest.get(..eq)?.trim_ascii();
        let after = rest.get(eq + 1..)?.trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let body = after.get(1..)?;
        let end = body.iter().position(|&b| b == quote)?;
        let key = match key.iter().rposition(|&b| b.is_ascii_whitespace()) {
            Some(space) => key.get(space + 1..)?,
            None => key,
        };
        if key == name {
            return body.get(..end);
        }
        rest = body.get(end + 1..)?;
    }
}

/// Whether a reference is one a worksheet can hold: at most three column letters (XFD) and
/// seven row digits. The workbook reader counts them in 32 bits without checking; a longer
/// one is a broken or crafted file, refused before the reader sees it.
fn valid_reference(value: &[u8], kind: Reference) -> bool {
    let one = |part: &[u8], cell: bool| {
        let letters = part.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let digits = part.get(letters..).unwrap_or_default();
        let letters_ok = if cell {
            (1..=3).contains(&letters)
        } else {
            letters <= 3
        };
        letters_ok
            && digits.len() <= 7
            && digits.iter().all(u8::is_ascii_digit)
            && (letters > 0 || !digits.is_empty())
    };
    match kind {
        Reference::Cell => one(value, true),
        Reference::Row => (1..=7).contains(&value.len()) && value.iter().all(u8::is_ascii_digit),
        Reference::Range => value.split(|&b| b == b':').all(|part| one(part, false)),
    }
}

/// A writer that scans what passes through it and throws it away.
struct ScanSink<'a>(Option<&'a mut MarkupScan>);

impl std::io::Write for ScanSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(scan) = self.0.as_deref_mut() {
            scan.feed(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Checks entry count, declared sizes and compression ratios, then inflates every entry into
/// nothing with a hard cap, so a header that understates an entry's size cannot get past. The
/// worksheets are scanned on the way for formulas and merged cells, so the reader can skip the
/// passes looking for them when there are none.
pub(crate) fn check_zip(bytes: &[u8], limits: &Limits) -> Result<SheetMarkup, TabularError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    if archive.len() > limits.max_zip_entries {
        return Err(TabularError::file(TabularErrorKind::TooManyEntries {
            count: archive.len(),
            max: limits.max_zip_entries,
        }));
    }
    for part in REQUIRED_PARTS {
        if archive.index_for_name(part).is_none() {
            return Err(TabularError::file(TabularErrorKind::NotWorkbook {
                part: part.to_owned(),
            }));
        }
    }
    let max = limits.max_uncompressed_bytes;
    let too_large = |entry: &str, bytes: u64| {
        TabularError::file(TabularErrorKind::TooLargeUncompressed {
            entry: entry.to_owned(),
            bytes,
            max,
        })
    };
    let suspicious = |entry: &str, size: u64, compressed: u64| {
        let ratio = size / compressed.max(1);
        (size > RATIO_FLOOR_BYTES && ratio > limits.max_compression_ratio).then(|| {
            TabularError::file(TabularErrorKind::SuspiciousRatio {
                entry: entry.to_owned(),
                ratio,
                max: limits.max_compression_ratio,
            })
        })
    };
    // Pass 1: what the archive declares. Costs nothing and stops honest bombs at once.
    let mut declared_total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(corrupt)?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > max {
            return Err(too_large(&name, declared_total));
        }
        if let Some(e) = suspicious(&name, entry.size(), entry.compressed_size()) {
            return Err(e);
        }
    }
    // Pass 2: what the entries really inflate to, never reading past the limit.
    let mut actual_total: u64 = 0;
    let mut found = SheetMarkup::default();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(corrupt)?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let compressed = entry.compressed_size();
        let remaining = max.saturating_sub(actual_total);
        let mut scan = MarkupScan::default();
        let sheet = name.starts_with("xl/worksheets/") && name.ends_with(".xml");
        let read = std::io::copy(
            &mut (&mut entry).take(remaining.saturating_add(1)),
            &mut ScanSink(sheet.then_some(&mut scan)),
        )
        .map_err(corrupt)?;
        found.formulas |= scan.found.formulas;
        found.merged |= scan.found.merged;
        if scan.found.bad_reference {
            return Err(corrupt(format!("{name} に範囲外のセル番地があります")));
        }
        actual_total = actual_total.saturating_add(read);
        if actual_total > max {
            return Err(too_large(&name, actual_total));
        }
        if let Some(e) = suspicious(&name, read, compressed) {
            return Err(e);
        }
    }
    Ok(found)
}

/// Reads one sheet (the first when `sheet` is `None`) row by row into `builder`; returns what
/// the sheet holds besides values and the sheet's name.
pub(crate) fn read_rows(
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &Limits,
    builder: &mut TableBuilder<'_>,
) -> Result<(SheetExtras, String), TabularError> {
    let markup = check_zip(bytes, limits)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt)?;
    let names = workbook.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .cloned()
            .ok_or_else(|| {
                TabularError::file(TabularErrorKind::SheetNotFound {
                    name: wanted.to_owned(),
                    available: names.join("、"),
                })
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| corrupt("シートがありません"))?,
    };
    let too_many_rows = || {
        TabularError::file(TabularErrorKind::TooManyRows {
            max: limits.max_rows,
        })
    };
    let too_many_columns = |found: usize| {
        TabularError::file(TabularErrorKind::TooManyColumns {
            found,
            max: limits.max_columns,
        })
    };
    builder.is_1904 = workbook.has_1904_epoch();
    // A sheet without formula elements (what exports and most registers are) skips the pass
    // looking for them.
    let mut formulas = HashMap::new();
    if markup.formulas {
        let mut reader = workbook.worksheet_cells_reader(&name).map_err(corrupt)?;
        while let Some(cell) = reader.next_formula().map_err(corrupt)? {
            let formula = cell.get_value();
            if !formula.is_empty() {
                let (r, c) = position(&cell);
                formulas.insert((r + 1, c), formula.clone());
            }
        }
        drop(reader);
    }
    // The sheet is streamed cell by cell, and each row goes to the builder as soon as the next
    // one starts: neither calamine's dense ranges nor a grid of the sheet is ever built, and the
    // limits are checked as the cells come. Shared strings are borrowed, not copied.
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(corrupt)?;
    let mut current: Option<usize> = None;
    let mut cells: Vec<Raw<'_>> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(corrupt)? {
        let (r, c) = position(&cell);
        if r > limits.max_rows {
            return Err(too_many_rows());
        }
        if c >= limits.max_columns {
            return Err(too_many_columns(c + 1));
        }
        let value = raw_from_ref(cell.get_value());
        if value == Raw::Empty {
            continue;
        }
        let number = r + 1;
        if current != Some(number) {
            if let Some(done) = current {
                builder.push(done, std::mem::take(&mut cells));
            }
            current = Some(number);
        }
        if cells.len() <= c {
            cells.resize(c + 1, Raw::Empty);
        }
        if let Some(slot) = cells.get_mut(c) {
            *slot = value;
        }
    }
    if let Some(done) = current {
        builder.push(done, cells);
    }
    drop(reader);
    // Likewise merged cells, which calamine finds by reading the whole sheet once more.
    let merged = if markup.merged {
        workbook.merge_cells_by_sheet_name(&name).map_err(corrupt)?
    } else {
        Vec::new()
    };
    let merged = merged
        .iter()
        .map(|d| {
            let to = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
            (
                to(d.start.0) + 1,
                to(d.start.1),
                to(d.end.0) + 1,
                to(d.end.1),
            )
        })
        .collect();
    Ok((SheetExtras { formulas, merged }, name))
}

/// A cell's 0-based (row, column).
fn position<T: calamine::CellType>(cell: &calamine::Cell<T>) -> (usize, usize) {
    let (r, c) = cell.get_position();
    let to = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
    (to(r), to(c))
}

fn raw_from_ref<'a>(data: &DataRef<'a>) -> Raw<'a> {
    match data {
        DataRef::Empty => Raw::Empty,
        DataRef::SharedString(s) => Raw::Text(Cow::Borrowed(s)),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Raw::Text(Cow::Owned(s.clone()))
        }
        DataRef::Int(i) => Raw::Int(*i),
        DataRef::Float(f) => Raw::Number(*f),
        DataRef::Bool(b) => Raw::Bool(*b),
        DataRef::Error(e) => Raw::Error(e.to_string()),
        DataRef::DateTime(dt) => {
            if dt.is_duration() {
                return Raw::Number(dt.as_f64());
            }
            let (y, m, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            let date = Month::try_from(m)
                .ok()
                .and_then(|month| Date::from_calendar_date(i32::from(y), month, d).ok());
            match date {
                Some(date) => Raw::DateTime {
                    date,
                    seconds: u32::from(h) * 3600 + u32::from(mi) * 60 + u32::from(s),
                },
                None => Raw::Number(dt.as_f64()),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn scan(parts: &[&str]) -> SheetMarkup {
        let mut s = MarkupScan::default();
        for p in parts {
            s.feed(p.as_bytes());
        }
        s.found
    }

    #[test]
    fn formulas_and_merges_are_found_by_whole_element_names() {
        let values = "<sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row></sheetData>\
                      <autoFilter ref=\"A1:B2\"><filterColumn colId=\"0\"><filters/></filterColumn></autoFilter>";
        assert_eq!(scan(&[values]), SheetMarkup::default());
        assert!(scan(&["<c r=\"A1\"><f>SUM(A2:A3)</f><v>3</v></c>"]).formulas);
        assert!(scan(&["<x:c r=\"A1\"><x:f t=\"shared\" si=\"0\"/></x:c>"]).formulas);
        assert!(scan(&["<mergeCells count=\"1\"><mergeCell ref=\"A1:B1\"/></mergeCells>"]).merged);
        // A tag cut between two buffers is still read whole.
        assert!(scan(&["<c r=\"A1\"><", "f>1+1</f></c>"]).formulas);
        assert!(scan(&["<mergeC", "ell ref=\"A1:B1\"/>"]).merged);
        assert!(!scan(&["<fi", "lter val=\"x\"/>"]).formulas);
    }

    #[test]
    fn references_no_sheet_can_hold_are_found() {
        let ok = "<dimension ref=\"A1:XFD1048576\"/><row r=\"1\" spans=\"1:2\"><c r=\"A1\" t=\"s\"><v>0</v></c>\
                  <c s='1' r='XFD1048576'/></row><mergeCell ref=\"A1:B2\"/><col min=\"1\"/>";
        assert!(!scan(&[ok]).bad_reference);
        assert!(!scan(&["<row r=\"1\"><c r=\"A", "1\"><v>1</v></c></row>"]).bad_reference);
        assert!(!scan(&["<c t=\"a>b\" r=\"B2\"><v>1</v></c>"]).bad_reference);
        // A quoted `>` cut by the buffer: the tag waits for the rest.
        assert!(scan(&["<c t=\"a>", "b\" r=\"ZZZZZZZZ1\"/>"]).bad_reference);
        for bad in [
            "<c r=\"ZZZZZZZZ1\"><v>1</v></c>",
            "<row r=\"99999999999999999999\">",
            "<c r=\"A99999999\"/>",
            "<c r=\"1\"/>",
            "<c r=\"A1B\"/>",
            "<dimension ref=\"A1:AAAAAAAAAAAAA1\"/>",
            "<mergeCell ref=\"A1:B99999999999\"/>",
            // A `>` inside an earlier attribute's value does not end the tag.
            "<c t=\"a>b\" r=\"ZZZZZZZZ1\"><v>1</v></c>",
            "<c s='>' r='AAAAAAAAAA1'/>",
            "<row spans=\"1>2\" r=\"99999999999\">",
        ] {
            assert!(scan(&[bad]).bad_reference, "{bad}");
        }
        // A tag longer than any honest one, cut by the buffer.
        let long = format!("<c r=\"A1\" {}", "x".repeat(2 * MAX_TAG_BYTES));
        assert!(scan(&[&long]).bad_reference);
    }
}
