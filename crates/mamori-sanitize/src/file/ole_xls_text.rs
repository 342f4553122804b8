//! Text out of legacy Excel workbooks (97-2003, BIFF8), for the policy that turns a document it
//! cannot rebuild into plain text instead of blocking it. Only the cells' values are read: the
//! shared strings, text, numbers, booleans and errors, and the cached results of formulas —
//! never the formulas themselves, names, macros or objects. Every length and index comes from
//! the hostile file, so each read is bounds-checked, every loop consumes input, and the number
//! of cells and the size of the text are capped.
//!
//! Layout ([MS-XLS]): the `Workbook` stream is a sequence of records (type u16, length u16,
//! data). It starts with the globals substream (sheet list, shared string table) and continues
//! with one substream per sheet, each from its BOF record to its matching EOF record. A record
//! too long for its 8,224-byte limit goes on in the CONTINUE records right after it.

use std::collections::HashMap;

use super::ole_text::{MAX_TEXT, bytes_at, u16_at, u32_at};

/// Most cells read from one workbook.
const MAX_CELLS: usize = 1_000_000;
/// Most BOUNDSHEET8 records read from one workbook (Excel itself is limited only by memory).
const MAX_SHEETS: usize = 65_536;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const CONTINUE: u16 = 0x003C;
const BOUNDSHEET8: u16 = 0x0085;
const SST: u16 = 0x00FC;
const LABELSST: u16 = 0x00FD;
const LABEL: u16 = 0x0204;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const BOOLERR: u16 = 0x0205;
const FORMULA: u16 = 0x0006;
const STRING: u16 = 0x0207;

/// The `dt` of a BOUNDSHEET8 record for a worksheet or dialog sheet.
const SHEET_TYPE_WORKSHEET: u8 = 0;

/// One record of the stream. A record whose length runs past the end of the stream keeps the
/// bytes that are there.
struct Record<'a> {
    kind: u16,
    /// Stream offset of the record header.
    offset: usize,
    data: &'a [u8],
    /// Stream offset of the next record.
    end: usize,
}

/// The record whose header starts at `offset`, if the whole header is there.
fn record_at(wb: &[u8], offset: usize) -> Option<Record<'_>> {
    let kind = u16_at(wb, offset)?;
    let len = usize::from(u16_at(wb, offset.checked_add(2)?)?);
    let start = offset.checked_add(4)?;
    let end = start.saturating_add(len).min(wb.len());
    Some(Record {
        kind,
        offset,
        data: wb.get(start..end)?,
        end,
    })
}

/// Reads the data of a record and then of the CONTINUE records that follow it as one sequence,
/// with the BIFF8 rule for character arrays split between two records.
struct Continued<'a> {
    wb: &'a [u8],
    /// Unread rest of the current record's data.
    segment: &'a [u8],
    /// Stream offset of the record after the current one.
    next: usize,
}

impl<'a> Continued<'a> {
    /// A reader starting `skip` bytes into the data of `record`.
    fn new(wb: &'a [u8], record: &Record<'a>, skip: usize) -> Self {
        Continued {
            wb,
            segment: record.data.get(skip..).unwrap_or_default(),
            next: record.end,
        }
    }

    /// Moves to the data of the next record if it is a CONTINUE record.
    fn next_segment(&mut self) -> bool {
        match record_at(self.wb, self.next) {
            Some(record) if record.kind == CONTINUE => {
                self.segment = record.data;
                self.next = record.end;
                true
            }
            _ => false,
        }
    }

    fn u8(&mut self) -> Option<u8> {
        loop {
            if let Some((&byte, rest)) = self.segment.split_first() {
                self.segment = rest;
                return Some(byte);
            }
            if !self.next_segment() {
                return None;
            }
        }
    }

    /// `N` bytes, read across record boundaries.
    fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut out = [0u8; N];
        for byte in &mut out {
            *byte = self.u8()?;
        }
        Some(out)
    }

    /// Skips `count` bytes across record boundaries, or to the end of the data.
    fn skip(&mut self, mut count: usize) {
        while count > 0 {
            if self.segment.is_empty() && !self.next_segment() {
                return;
            }
            let step = count.min(self.segment.len());
            self.segment = self.segment.get(step..).unwrap_or_default();
            count -= step;
        }
    }

    /// `count` characters, one byte each (the low byte of UTF-16) when `high_byte` is false, else
    /// two (UTF-16LE). Where the characters go on in a CONTINUE record, that record starts with a
    /// new flags byte whose bit 0 gives the width of the rest. Stops early at the end of the data.
    fn chars(&mut self, count: usize, mut high_byte: bool) -> String {
        let mut units: Vec<u16> = Vec::new();
        let mut remaining = count;
        while remaining > 0 {
            let width = if high_byte { 2 } else { 1 };
            let available = self.segment.len() / width;
            if available == 0 {
                if !self.next_segment() {
                    break;
                }
                if let Some((&flags, rest)) = self.segment.split_first() {
                    high_byte = flags & 0x01 != 0;
                    self.segment = rest;
                }
                continue;
            }
            let take = available.min(remaining);
            let Some((bytes, rest)) = self.segment.split_at_checked(take * width) else {
                break;
            };
            if high_byte {
                let (pairs, _) = bytes.as_chunks::<2>();
                units.extend(pairs.iter().map(|pair| u16::from_le_bytes(*pair)));
            } else {
                units.extend(bytes.iter().map(|&byte| u16::from(byte)));
            }
            self.segment = rest;
            remaining -= take;
        }
        clean(&String::from_utf16_lossy(&units))
    }

    /// An XLUnicodeString: cch u16, flags u8 (bit 0 fHighByte), characters.
    fn unicode_string(&mut self) -> Option<String> {
        let count = u16::from_le_bytes(self.bytes()?);
        let flags = self.u8()?;
        Some(self.chars(usize::from(count), flags & 0x01 != 0))
    }

    /// A ShortXLUnicodeString: cch u8, flags u8 (bit 0 fHighByte), characters.
    fn short_unicode_string(&mut self) -> Option<String> {
        let count = self.u8()?;
        let flags = self.u8()?;
        Some(self.chars(usize::from(count), flags & 0x01 != 0))
    }

    /// An XLUnicodeRichExtendedString of the shared string table: cch u16, flags u8 (0x01
    /// fHighByte, 0x04 fExtSt, 0x08 fRichSt), cRun u16 if fRichSt, cbExtRst i32 if fExtSt, the
    /// characters, 4 bytes per formatting run, then cbExtRst bytes of phonetic data. Only the
    /// characters are kept.
    fn rich_extended_string(&mut self) -> Option<String> {
        let count = u16::from_le_bytes(self.bytes()?);
        let flags = self.u8()?;
        let runs = if flags & 0x08 != 0 {
            u16::from_le_bytes(self.bytes()?)
        } else {
            0
        };
        let ext_size = if flags & 0x04 != 0 {
            i32::from_le_bytes(self.bytes()?)
        } else {
            0
        };
        let text = self.chars(usize::from(count), flags & 0x01 != 0);
        self.skip(usize::from(runs) * 4);
        self.skip(usize::try_from(ext_size).unwrap_or(0));
        Some(text)
    }
}

/// The shared string table from an SST record and its CONTINUE records: cstTotal u32,
/// cstUnique u32, then the strings. Stops at the end of the data or once the strings hold
/// [`MAX_TEXT`] bytes.
fn shared_strings(mut reader: Continued<'_>) -> Vec<String> {
    let mut strings = Vec::new();
    let (Some(_total), Some(unique)) = (reader.bytes::<4>(), reader.bytes::<4>()) else {
        return strings;
    };
    let mut size = 0usize;
    // Each string read takes at least its three header bytes, so the data bounds the loop.
    for _ in 0..u32::from_le_bytes(unique) {
        let Some(text) = reader.rich_extended_string() else {
            break;
        };
        size = size.saturating_add(text.len());
        if size > MAX_TEXT {
            break;
        }
        strings.push(text);
    }
    strings
}

/// Text fit for one cell of one line: tabs and line breaks become spaces, other control
/// characters are dropped.
fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// A number as text: integers without a fractional part, others as Rust prints them; `None`
/// for NaN and infinities.
fn number_text(value: f64) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    // `-0` would print with its sign.
    Some(if value == 0.0 {
        "0".to_owned()
    } else {
        value.to_string()
    })
}

/// The value of an RkNumber: bit 1 set, a signed 30-bit integer in the upper bits, else the upper
/// 30 bits of an f64 whose lower 32 bits are zero; bit 0 set, divided by 100.
fn rk_value(rk: u32) -> f64 {
    let value = if rk & 0x02 != 0 {
        f64::from(rk.cast_signed() >> 2)
    } else {
        f64::from_bits(u64::from(rk & 0xFFFF_FFFC) << 32)
    };
    if rk & 0x01 != 0 { value / 100.0 } else { value }
}

/// The text of a BoolErr value: `TRUE`/`FALSE`, or the error as Excel shows it.
fn bool_err_text(value: u8, is_error: bool) -> Option<String> {
    let text = match (is_error, value) {
        (false, 0) => "FALSE",
        (false, _) => "TRUE",
        (true, 0x00) => "#NULL!",
        (true, 0x07) => "#DIV/0!",
        (true, 0x0F) => "#VALUE!",
        (true, 0x17) => "#REF!",
        (true, 0x1D) => "#NAME?",
        (true, 0x24) => "#NUM!",
        (true, 0x2A) => "#N/A",
        (true, 0x2B) => "#GETTING_DATA",
        (true, _) => return None,
    };
    Some(text.to_owned())
}

/// One non-empty cell.
struct Cell {
    row: u16,
    col: u16,
    text: String,
}

/// The cells of the sheet being read, and the limits that hold for the whole workbook.
#[derive(Default)]
struct Cells {
    cells: Vec<Cell>,
    /// Cells taken so far in the workbook.
    count: usize,
    /// Bytes of cell text taken so far in the workbook.
    size: usize,
}

impl Cells {
    /// Takes a cell unless its text is empty or a workbook limit is reached.
    fn add(&mut self, row: u16, col: u16, text: String) {
        if text.is_empty() || self.count >= MAX_CELLS || self.size >= MAX_TEXT {
            return;
        }
        self.count += 1;
        self.size = self.size.saturating_add(text.len());
        self.cells.push(Cell { row, col, text });
    }
}

/// The output text, which stops growing for good once the next piece would pass [`MAX_TEXT`].
#[derive(Default)]
struct Output {
    text: String,
    full: bool,
}

impl Output {
    fn push(&mut self, piece: &str) {
        if self.full || self.text.len().saturating_add(piece.len()) > MAX_TEXT {
            self.full = true;
        } else {
            self.text.push_str(piece);
        }
    }

    fn push_tabs(&mut self, count: usize) {
        if self.full || self.text.len().saturating_add(count) > MAX_TEXT {
            self.full = true;
        } else {
            self.text.push_str(&"\t".repeat(count));
        }
    }

    /// A sheet: a blank line after the previous one, the heading `■ <name>`, then one line per
    /// row holding cells, in row and column order, cells preceded by one tab per column before
    /// them so that columns line up. Where two cells share a position the first one counts.
    fn sheet(&mut self, name: &str, cells: &mut Vec<Cell>) {
        if !self.text.is_empty() {
            self.push("\n");
        }
        self.push("■ ");
        self.push(name);
        self.push("\n");
        cells.sort_by_key(|cell| (cell.row, cell.col));
        cells.dedup_by_key(|cell| (cell.row, cell.col));
        let mut row = None;
        let mut col = 0u16;
        for cell in cells.drain(..) {
            if row != Some(cell.row) {
                if row.is_some() {
                    self.push("\n");
                }
                row = Some(cell.row);
                col = 0;
            }
            self.push_tabs(usize::from(cell.col.saturating_sub(col)));
            self.push(&cell.text);
            col = cell.col;
        }
        if row.is_some() {
            self.push("\n");
        }
    }
}

/// A sheet as the globals substream lists it in a BOUNDSHEET8 record.
struct SheetEntry {
    name: String,
    /// `dt`: 0 worksheet or dialog sheet, 1 macro sheet, 2 chart, 6 VB module.
    sheet_type: u8,
}

/// The sheet substream being read.
struct OpenSheet {
    name: String,
    /// True when its cells are wanted (a worksheet).
    wanted: bool,
    /// BOF/EOF nesting inside the substream (charts embedded in a worksheet have their own).
    depth: usize,
    /// The position of a formula whose cached string is in the STRING record that follows.
    pending_string: Option<(u16, u16)>,
}

impl OpenSheet {
    /// Takes the value of a cell record of this sheet into `cells`.
    fn cell_record(&mut self, wb: &[u8], record: &Record<'_>, sst: &[String], cells: &mut Cells) {
        let data = record.data;
        if record.kind == STRING {
            if let Some((row, col)) = self.pending_string.take()
                && let Some(text) = Continued::new(wb, record, 0).unicode_string()
            {
                cells.add(row, col, text);
            }
            return;
        }
        let (Some(row), Some(col)) = (u16_at(data, 0), u16_at(data, 2)) else {
            return;
        };
        if !matches!(
            record.kind,
            LABELSST | LABEL | NUMBER | RK | MULRK | BOOLERR | FORMULA
        ) {
            return;
        }
        // A STRING record belongs to the formula just before it, if any.
        self.pending_string = None;
        let text = match record.kind {
            LABELSST => u32_at(data, 6)
                .and_then(|index| sst.get(usize::try_from(index).ok()?))
                .cloned(),
            LABEL => Continued::new(wb, record, 6).unicode_string(),
            NUMBER => bytes_at(data, 6)
                .map(f64::from_le_bytes)
                .and_then(number_text),
            RK => u32_at(data, 6).map(rk_value).and_then(number_text),
            BOOLERR => match (data.get(6), data.get(7)) {
                (Some(&value), Some(&is_error)) => bool_err_text(value, is_error != 0),
                _ => None,
            },
            FORMULA => self.formula_value(data, row, col),
            MULRK => {
                // colFirst is `col`; then (ixfe u16, rk u32) per cell; colLast u16 ends it.
                let entries = data
                    .get(4..data.len().saturating_sub(2))
                    .unwrap_or_default();
                let (entries, _) = entries.as_chunks::<6>();
                for (entry, col) in entries.iter().zip(col..) {
                    let rk = u32::from_le_bytes([entry[2], entry[3], entry[4], entry[5]]);
                    if let Some(text) = number_text(rk_value(rk)) {
                        cells.add(row, col, text);
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(text) = text {
            cells.add(row, col, text);
        }
    }

    /// The cached value of a FORMULA record (the formula itself is never read): an f64, or when
    /// its last two bytes are 0xFFFF, byte 0 tells a string (in the next STRING record), a
    /// boolean, an error or an empty value.
    fn formula_value(&mut self, data: &[u8], row: u16, col: u16) -> Option<String> {
        let value: [u8; 8] = bytes_at(data, 6)?;
        match value {
            [0, _, _, _, _, _, 0xFF, 0xFF] => {
                self.pending_string = Some((row, col));
                None
            }
            [1, _, b, _, _, _, 0xFF, 0xFF] => bool_err_text(b, false),
            [2, _, b, _, _, _, 0xFF, 0xFF] => bool_err_text(b, true),
            [_, _, _, _, _, _, 0xFF, 0xFF] => None,
            _ => number_text(f64::from_le_bytes(value)),
        }
    }
}

/// The text of a BIFF8 workbook stream: each worksheet as a heading line `■ <sheet name>`
/// followed by its rows, cells separated by a tab, in row and column order. Sheets come in the
/// order of their substreams, separated by a blank line; macro sheets, charts and VB modules give
/// no text. Each substream gets the name of the BOUNDSHEET8 record pointing at its BOF record, or
/// failing that the name at the same position in the sheet list. Cells hold shared and inline
/// strings, numbers, booleans, errors and the cached values of formulas. At most [`MAX_CELLS`]
/// cells and [`MAX_TEXT`] bytes of text; a damaged or truncated stream gives the text read up to
/// the damage.
pub(super) fn workbook_text(wb: &[u8]) -> String {
    let mut entries: Vec<SheetEntry> = Vec::new();
    let mut entry_at_offset: HashMap<usize, usize> = HashMap::new();
    let mut sst: Option<Vec<String>> = None;
    let mut in_globals = true;
    let mut substreams = 0usize;
    let mut sheet: Option<OpenSheet> = None;
    let mut cells = Cells::default();
    let mut out = Output::default();
    let mut offset = 0usize;
    while let Some(record) = record_at(wb, offset) {
        offset = record.end;
        if in_globals {
            match record.kind {
                BOUNDSHEET8 if entries.len() < MAX_SHEETS => {
                    let (Some(position), Some(&sheet_type)) =
                        (u32_at(record.data, 0), record.data.get(5))
                    else {
                        continue;
                    };
                    let name = Continued::new(wb, &record, 6)
                        .short_unicode_string()
                        .unwrap_or_default();
                    if let Ok(position) = usize::try_from(position) {
                        entry_at_offset.entry(position).or_insert(entries.len());
                    }
                    entries.push(SheetEntry { name, sheet_type });
                }
                SST if sst.is_none() => {
                    sst = Some(shared_strings(Continued::new(wb, &record, 0)));
                }
                EOF => in_globals = false,
                _ => {}
            }
            continue;
        }
        let sst = sst.as_deref().unwrap_or_default();
        match (&mut sheet, record.kind) {
            (None, BOF) => {
                let entry = entry_at_offset
                    .get(&record.offset)
                    .and_then(|&index| entries.get(index))
                    .or_else(|| entries.get(substreams));
                substreams += 1;
                sheet = Some(OpenSheet {
                    name: entry.map(|entry| entry.name.clone()).unwrap_or_default(),
                    wanted: entry.is_some_and(|entry| entry.sheet_type == SHEET_TYPE_WORKSHEET),
                    depth: 1,
                    pending_string: None,
                });
            }
            (None, _) => {}
            (Some(open), BOF) => open.depth = open.depth.saturating_add(1),
            (Some(open), EOF) => {
                open.depth = open.depth.saturating_sub(1);
                if open.depth == 0 {
                    if open.wanted {
                        out.sheet(&open.name, &mut cells.cells);
                    }
                    sheet = None;
                }
            }
            (Some(open), _) => {
                if open.wanted && open.depth == 1 {
                    open.cell_record(wb, &record, sst, &mut cells);
                }
            }
        }
        if out.full {
            break;
        }
    }
    // A stream cut off inside a worksheet still gives what was read of it.
    if let Some(open) = sheet
        && open.wanted
    {
        out.sheet(&open.name, &mut cells.cells);
    }
    out.text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_le_bytes().to_vec();
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    /// A BOF record: BIFF8 version, then the substream type (0x0005 globals, 0x0010 worksheet,
    /// 0x0020 chart, 0x0040 macro sheet).
    fn bof(substream: u16) -> Vec<u8> {
        let mut data = vec![0x00, 0x06];
        data.extend_from_slice(&substream.to_le_bytes());
        data.extend_from_slice(&[0; 12]);
        record(BOF, &data)
    }

    fn eof() -> Vec<u8> {
        record(EOF, &[])
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// Characters one byte each (Latin-1).
    fn latin1(text: &str) -> Vec<u8> {
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect()
    }

    /// Count, flags and characters of a string, one byte each when every character fits.
    fn string_body(text: &str) -> (usize, u8, Vec<u8>) {
        if text.chars().all(|c| u32::from(c) < 0x100) {
            (text.chars().count(), 0x00, latin1(text))
        } else {
            (text.encode_utf16().count(), 0x01, utf16(text))
        }
    }

    /// An XLUnicodeString.
    fn unicode_string(text: &str) -> Vec<u8> {
        let (count, flags, chars) = string_body(text);
        let mut out = u16::try_from(count).unwrap().to_le_bytes().to_vec();
        out.push(flags);
        out.extend(chars);
        out
    }

    /// An SST record of plain strings, with `unique` as cstUnique.
    fn sst_record(strings: &[&str], unique: u32) -> Vec<u8> {
        let mut data = u32::try_from(strings.len()).unwrap().to_le_bytes().to_vec();
        data.extend_from_slice(&unique.to_le_bytes());
        for text in strings {
            data.extend(unicode_string(text));
        }
        record(SST, &data)
    }

    fn sst(strings: &[&str]) -> Vec<u8> {
        sst_record(strings, u32::try_from(strings.len()).unwrap())
    }

    /// A sheet for [`workbook`].
    struct Sheet<'a> {
        name: &'a str,
        /// Name stored as UTF-16 rather than one byte per character.
        wide_name: bool,
        sheet_type: u8,
        /// lbPlyPos to write instead of the real offset of the sheet's BOF record.
        position: Option<u32>,
        /// The records between the sheet's BOF and EOF.
        body: Vec<u8>,
    }

    fn worksheet<'a>(name: &'a str, body: Vec<u8>) -> Sheet<'a> {
        Sheet {
            name,
            wide_name: name.chars().any(|c| u32::from(c) >= 0x100),
            sheet_type: 0,
            position: None,
            body,
        }
    }

    fn boundsheet(position: u32, sheet: &Sheet<'_>) -> Vec<u8> {
        let mut data = position.to_le_bytes().to_vec();
        data.push(0); // visible
        data.push(sheet.sheet_type);
        if sheet.wide_name {
            data.push(u8::try_from(sheet.name.encode_utf16().count()).unwrap());
            data.push(0x01);
            data.extend(utf16(sheet.name));
        } else {
            data.push(u8::try_from(sheet.name.chars().count()).unwrap());
            data.push(0x00);
            data.extend(latin1(sheet.name));
        }
        record(BOUNDSHEET8, &data)
    }

    /// A workbook stream: the globals (BOF, one BOUNDSHEET8 per sheet, the SST records given,
    /// EOF), then each sheet's substream.
    fn workbook(sst: &[u8], sheets: &[Sheet<'_>]) -> Vec<u8> {
        let names_len: usize = sheets.iter().map(|s| boundsheet(0, s).len()).sum();
        let mut position = bof(0x0005).len() + names_len + sst.len() + eof().len();
        let mut out = bof(0x0005);
        for sheet in sheets {
            let real = u32::try_from(position).unwrap();
            out.extend(boundsheet(sheet.position.unwrap_or(real), sheet));
            position += bof(0x0010).len() + sheet.body.len() + eof().len();
        }
        out.extend_from_slice(sst);
        out.extend(eof());
        for sheet in sheets {
            out.extend(bof(if sheet.sheet_type == 1 {
                0x0040
            } else {
                0x0010
            }));
            out.extend_from_slice(&sheet.body);
            out.extend(eof());
        }
        out
    }

    /// row, col and ixfe, the start of every cell record.
    fn cell(row: u16, col: u16) -> Vec<u8> {
        [row.to_le_bytes(), col.to_le_bytes(), [0x0F, 0x00]].concat()
    }

    fn label_sst(row: u16, col: u16, index: u32) -> Vec<u8> {
        record(
            LABELSST,
            &[cell(row, col), index.to_le_bytes().to_vec()].concat(),
        )
    }

    fn label(row: u16, col: u16, text: &str) -> Vec<u8> {
        record(LABEL, &[cell(row, col), unicode_string(text)].concat())
    }

    fn number(row: u16, col: u16, value: f64) -> Vec<u8> {
        record(
            NUMBER,
            &[cell(row, col), value.to_le_bytes().to_vec()].concat(),
        )
    }

    fn rk(row: u16, col: u16, value: u32) -> Vec<u8> {
        record(RK, &[cell(row, col), value.to_le_bytes().to_vec()].concat())
    }

    fn mulrk(row: u16, first_col: u16, values: &[u32]) -> Vec<u8> {
        let mut data = [row.to_le_bytes(), first_col.to_le_bytes()].concat();
        for value in values {
            data.extend_from_slice(&[0x0F, 0x00]);
            data.extend_from_slice(&value.to_le_bytes());
        }
        let last = first_col + u16::try_from(values.len()).unwrap() - 1;
        data.extend_from_slice(&last.to_le_bytes());
        record(MULRK, &data)
    }

    fn boolerr(row: u16, col: u16, value: u8, is_error: bool) -> Vec<u8> {
        record(
            BOOLERR,
            &[cell(row, col), vec![value, u8::from(is_error)]].concat(),
        )
    }

    /// A FORMULA record with the cached value given and the expression `=1` (ptgInt 1).
    fn formula(row: u16, col: u16, cached: [u8; 8]) -> Vec<u8> {
        let mut data = cell(row, col);
        data.extend_from_slice(&cached);
        data.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // grbit, chn
        data.extend_from_slice(&[3, 0, 0x1E, 1, 0]); // cce, ptgInt 1
        record(FORMULA, &data)
    }

    fn string_record(text: &str) -> Vec<u8> {
        record(STRING, &unicode_string(text))
    }

    /// RkNumber of an integer, optionally to be divided by 100.
    fn rk_int(value: i32, hundredths: bool) -> u32 {
        ((value << 2) | 0x02 | i32::from(hundredths)).cast_unsigned()
    }

    /// RkNumber of an f64 whose lower 34 bits are zero, optionally to be divided by 100.
    fn rk_float(value: f64, hundredths: bool) -> u32 {
        let high = u32::try_from(value.to_bits() >> 32).unwrap();
        assert_eq!(high & 0x03, 0);
        high | u32::from(hundredths)
    }

    /// Two sheets, one with every kind of cell, one with a Latin-1 name.
    fn sample() -> Vec<u8> {
        let sales = [
            label_sst(5, 1, 1), // out of order: comes last
            label_sst(0, 0, 0),
            label(0, 2, "単価"),
            number(1, 0, 3.25),
            rk(1, 1, rk_int(42, false)),
            rk(1, 2, rk_float(1.5, false)),
            rk(1, 3, rk_int(12345, true)),
            mulrk(
                2,
                1,
                &[rk_int(-3, false), rk_float(1.5, true), rk_int(7, false)],
            ),
            boolerr(3, 0, 1, false),
            boolerr(3, 1, 0, false),
            boolerr(3, 2, 0x07, true),
            formula(4, 0, 2.5f64.to_le_bytes()),
            formula(4, 1, [0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            string_record("合計"),
            formula(4, 2, [1, 0, 1, 0, 0, 0, 0xFF, 0xFF]),
            formula(4, 3, [3, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            // An embedded chart: its own BOF/EOF, nothing read from it.
            bof(0x0020),
            label(9, 9, "chart"),
            eof(),
        ]
        .concat();
        workbook(
            &sst(&["名前", "apple", "Zürich"]),
            &[
                worksheet("売上", sales),
                worksheet("Café", label_sst(0, 0, 2)),
            ],
        )
    }

    #[test]
    fn sheets_with_every_kind_of_cell() {
        assert_eq!(
            workbook_text(&sample()),
            "■ 売上\n\
             名前\t\t単価\n\
             3.25\t42\t1.5\t123.45\n\
             \t-3\t0.015\t7\n\
             TRUE\tFALSE\t#DIV/0!\n\
             2.5\t合計\tTRUE\n\
             \tapple\n\
             \n\
             ■ Café\n\
             Zürich\n"
        );
    }

    #[test]
    fn empty_input_and_empty_workbook_give_no_text() {
        assert_eq!(workbook_text(&[]), "");
        assert_eq!(workbook_text(&workbook(&sst(&[]), &[])), "");
    }

    #[test]
    fn empty_sheet_gives_its_heading() {
        assert_eq!(
            workbook_text(&workbook(&[], &[worksheet("Sheet1", Vec::new())])),
            "■ Sheet1\n"
        );
    }

    #[test]
    fn macro_sheet_chart_and_module_give_no_text() {
        let other = |name, sheet_type| Sheet {
            name,
            wide_name: false,
            sheet_type,
            position: None,
            body: [
                label(0, 0, "=EXEC(\"calc\")"),
                formula(1, 0, 1.0f64.to_le_bytes()),
            ]
            .concat(),
        };
        let wb = workbook(
            &[],
            &[
                other("Macro1", 1),
                other("Chart1", 2),
                worksheet("Sheet1", label(0, 0, "visible")),
                other("Module1", 6),
            ],
        );
        assert_eq!(workbook_text(&wb), "■ Sheet1\nvisible\n");
    }

    #[test]
    fn sheet_names_follow_bof_offsets_then_order() {
        // The sheet list names the second substream first; each entry points at its own.
        let first = worksheet("first", label(0, 0, "one"));
        let second = worksheet("second", label(0, 0, "two"));
        let first_at = bof(0x0005).len()
            + boundsheet(0, &first).len()
            + boundsheet(0, &second).len()
            + eof().len();
        let second_at = first_at + bof(0x0010).len() + first.body.len() + eof().len();
        let wb = [
            bof(0x0005),
            boundsheet(u32::try_from(second_at).unwrap(), &second),
            boundsheet(u32::try_from(first_at).unwrap(), &first),
            eof(),
            bof(0x0010),
            first.body.clone(),
            eof(),
            bof(0x0010),
            second.body.clone(),
            eof(),
        ]
        .concat();
        assert_eq!(workbook_text(&wb), "■ first\none\n\n■ second\ntwo\n");

        // Offsets that point nowhere: names by order.
        let misplaced = |name, text| Sheet {
            position: Some(3),
            ..worksheet(name, label(0, 0, text))
        };
        let wb = workbook(&[], &[misplaced("A", "a"), misplaced("B", "b")]);
        assert_eq!(workbook_text(&wb), "■ A\na\n\n■ B\nb\n");
    }

    #[test]
    fn cell_text_is_kept_on_one_line() {
        let wb = workbook(
            &sst(&["a\tb\r\nc\u{7}d"]),
            &[worksheet(
                "S",
                [
                    label_sst(0, 0, 0),
                    label(0, 1, "x\ny\u{0}z"),
                    label(0, 2, "\u{1}"),
                ]
                .concat(),
            )],
        );
        assert_eq!(workbook_text(&wb), "■ S\na b cd\tx yz\n");
    }

    #[test]
    fn rk_values() {
        assert_eq!(rk_value(rk_int(42, false)), 42.0);
        assert_eq!(rk_value(rk_int(-3, false)), -3.0);
        assert_eq!(rk_value(rk_int(-536_870_912, false)), -536_870_912.0);
        assert_eq!(rk_value(rk_int(12345, true)), 123.45);
        assert_eq!(rk_value(rk_float(1.5, false)), 1.5);
        assert_eq!(rk_value(rk_float(1.5, true)), 0.015);
        assert_eq!(rk_value(0x3FF0_0000), 1.0);
    }

    #[test]
    fn number_texts() {
        assert_eq!(number_text(42.0).unwrap(), "42");
        assert_eq!(number_text(-3.0).unwrap(), "-3");
        assert_eq!(number_text(-0.0).unwrap(), "0");
        assert_eq!(number_text(0.1).unwrap(), "0.1");
        assert_eq!(number_text(-2.5).unwrap(), "-2.5");
        assert_eq!(number_text(1e15).unwrap(), "1000000000000000");
        assert_eq!(number_text(f64::NAN), None);
        assert_eq!(number_text(f64::INFINITY), None);
        assert_eq!(number_text(f64::NEG_INFINITY), None);
    }

    #[test]
    fn non_finite_numbers_are_skipped() {
        let body = [
            number(0, 0, f64::NAN),
            number(0, 1, f64::INFINITY),
            formula(0, 2, f64::NEG_INFINITY.to_le_bytes()),
            number(0, 3, 1.0),
        ]
        .concat();
        let wb = workbook(&[], &[worksheet("S", body)]);
        assert_eq!(workbook_text(&wb), "■ S\n\t\t\t1\n");
    }

    /// A SST whose first string's characters go on in a CONTINUE record one byte wider, whose
    /// second string's characters go on one byte narrower, and whose third string starts in a new
    /// CONTINUE record (no flags byte there).
    #[test]
    fn sst_characters_split_across_continue_change_width() {
        let mut sst_data = [2u32.to_le_bytes(), 3u32.to_le_bytes()].concat();
        sst_data.extend_from_slice(&[5, 0, 0x00]);
        sst_data.extend_from_slice(b"abc");
        let mut first_continue = vec![0x09]; // fHighByte (and a stray fRichSt, ignored)
        first_continue.extend(utf16("日本"));
        first_continue.extend_from_slice(&[3, 0, 0x01]);
        first_continue.extend(utf16("語"));
        let mut second_continue = vec![0x00];
        second_continue.extend_from_slice(b"xy");
        let third_continue = unicode_string("end");
        let sst_records = [
            record(SST, &sst_data),
            record(CONTINUE, &first_continue),
            record(CONTINUE, &second_continue),
            record(CONTINUE, &third_continue),
        ]
        .concat();
        let body = [label_sst(0, 0, 0), label_sst(0, 1, 1), label_sst(0, 2, 2)].concat();
        let wb = workbook(&sst_records, &[worksheet("S", body)]);
        assert_eq!(workbook_text(&wb), "■ S\nabc日本\t語xy\tend\n");
    }

    /// Formatting runs and phonetic data (ExtRst) split across CONTINUE records are skipped
    /// byte for byte, with no flags byte at the boundary.
    #[test]
    fn sst_rich_runs_and_ext_rst_split_across_continue() {
        let mut sst_data = [2u32.to_le_bytes(), 2u32.to_le_bytes()].concat();
        // "東京": UTF-16, fExtSt | fRichSt, cRun 2, cbExtRst 10.
        sst_data.extend_from_slice(&[2, 0, 0x0D, 2, 0, 10, 0, 0, 0]);
        sst_data.extend(utf16("東京"));
        sst_data.extend_from_slice(&[0x01, 0x01, 0x01]); // 3 of the 8 bytes of runs
        let mut continued = vec![0x01; 5]; // the other 5
        continued.extend_from_slice(&[0x01; 4]); // 4 of the 10 bytes of ExtRst
        let mut last = vec![0x01; 6]; // the other 6
        last.extend(unicode_string("after"));
        let sst_records = [
            record(SST, &sst_data),
            record(CONTINUE, &continued),
            record(CONTINUE, &last),
        ]
        .concat();
        let body = [label_sst(0, 0, 0), label_sst(1, 0, 1)].concat();
        let wb = workbook(&sst_records, &[worksheet("S", body)]);
        assert_eq!(workbook_text(&wb), "■ S\n東京\nafter\n");
    }

    #[test]
    fn formula_string_split_across_continue() {
        let mut data = vec![4, 0, 0x00];
        data.extend_from_slice(b"ab");
        let mut continued = vec![0x01];
        continued.extend(utf16("区町"));
        let body = [
            formula(0, 0, [0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
            record(STRING, &data),
            record(CONTINUE, &continued),
            // A STRING record with no formula waiting for it is ignored.
            string_record("stray"),
        ]
        .concat();
        let wb = workbook(&[], &[worksheet("S", body)]);
        assert_eq!(workbook_text(&wb), "■ S\nab区町\n");
    }

    #[test]
    fn every_prefix_of_a_stream_is_handled() {
        let wb = sample();
        let full = workbook_text(&wb);
        for end in 0..=wb.len() {
            let text = workbook_text(&wb[..end]);
            assert!(text.len() <= full.len(), "prefix {end}: {text:?}");
        }
    }

    #[test]
    fn corrupted_streams_do_not_panic() {
        let wb = sample();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut bytes = wb.clone();
            for _ in 0..1 + next() % 4 {
                let at = usize::try_from(next()).unwrap() % bytes.len();
                bytes[at] = u8::try_from(next() & 0xFF).unwrap();
            }
            let _ = workbook_text(&bytes);
        }
    }

    #[test]
    fn huge_declared_counts_stop_at_the_data() {
        // LABEL, SST string and sheet name all declare more characters than there are.
        let mut label_data = cell(0, 0);
        label_data.extend_from_slice(&[0xFF, 0xFF, 0x00]);
        label_data.extend_from_slice(b"abc");
        let mut sst_data = [1u32.to_le_bytes(), 1u32.to_le_bytes()].concat();
        sst_data.extend_from_slice(&[0xFF, 0xFF, 0x01]);
        sst_data.extend(utf16("市"));
        let body = [record(LABEL, &label_data), label_sst(1, 0, 0)].concat();
        let mut wb = workbook(&record(SST, &sst_data), &[worksheet("S", body)]);
        let name_count = bof(0x0005).len() + 4 + 6;
        wb[name_count] = 0xFF;
        let text = workbook_text(&wb);
        assert!(text.ends_with("abc\n市\n"), "{text:?}");

        // Formatting runs and ExtRst longer than the data.
        let mut sst_data = [1u32.to_le_bytes(), 1u32.to_le_bytes()].concat();
        sst_data.extend_from_slice(&[1, 0, 0x0C, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, b'z']);
        let wb = workbook(
            &record(SST, &sst_data),
            &[worksheet("S", label_sst(0, 0, 0))],
        );
        assert_eq!(workbook_text(&wb), "■ S\nz\n");
    }

    #[test]
    fn sst_claiming_u32_max_strings() {
        let mut records = sst_record(&["one", "two"], u32::MAX);
        records.extend(record(CONTINUE, &[]));
        let body = [
            label_sst(0, 0, 0),
            label_sst(0, 1, 1),
            label_sst(0, 2, u32::MAX),
        ]
        .concat();
        let wb = workbook(&records, &[worksheet("S", body)]);
        assert_eq!(workbook_text(&wb), "■ S\none\ttwo\n");
    }

    #[test]
    fn lengths_and_offsets_past_the_end() {
        // A last record declaring 65,535 bytes and holding 12: what is there is read.
        let mut wb = workbook(&sst(&["kept"]), &[worksheet("S", label_sst(0, 0, 0))]);
        wb.truncate(wb.len() - eof().len());
        wb.extend_from_slice(&LABEL.to_le_bytes());
        wb.extend_from_slice(&u16::MAX.to_le_bytes());
        wb.extend([cell(0, 1), unicode_string("cut")].concat());
        assert_eq!(workbook_text(&wb), "■ S\nkept\tcut\n");

        // Sheet offsets past the end, short cell records, a MULRK with no cells, an SST index
        // past the table, and an SST too short for its header.
        let body = [
            record(LABELSST, &[0, 0]),
            record(NUMBER, &cell(0, 0)),
            record(RK, &[cell(0, 0), vec![1]].concat()),
            record(MULRK, &[0, 0, 0, 0, 0, 0]),
            record(MULRK, &[0, 0, 0, 0]),
            record(BOOLERR, &cell(0, 0)),
            record(FORMULA, &[cell(0, 0), vec![0; 7]].concat()),
            label_sst(0, 0, 7),
            record(LABEL, &cell(0, 0)),
        ]
        .concat();
        let sheet = Sheet {
            position: Some(u32::MAX),
            ..worksheet("S", body)
        };
        let wb = workbook(&record(SST, &[1, 0, 0]), &[sheet]);
        assert_eq!(workbook_text(&wb), "■ S\n");

        // A BOUNDSHEET8 too short for its name, and one too short for anything.
        let wb = [
            bof(0x0005),
            record(BOUNDSHEET8, &[0, 0, 0, 0, 0, 0]),
            record(BOUNDSHEET8, &[0, 0]),
            eof(),
            bof(0x0010),
            label(0, 0, "x"),
        ]
        .concat();
        assert_eq!(workbook_text(&wb), "■ \nx\n");
    }

    #[test]
    fn output_is_capped() {
        // Cells at the first and last column: each row is 64 KiB of tabs.
        let body: Vec<u8> = (0..2000u16)
            .flat_map(|row| [label_sst(row, 0, 0), label_sst(row, u16::MAX, 0)].concat())
            .collect();
        let wb = workbook(&sst(&["x"]), &[worksheet("S", body)]);
        let text = workbook_text(&wb);
        assert!(text.len() <= MAX_TEXT);
        assert!(text.len() > MAX_TEXT - 70_000);
    }

    #[test]
    fn cells_are_capped() {
        let per_record = (usize::from(u16::MAX) - 6) / 6;
        let records = MAX_CELLS / per_record + 2;
        let values = vec![rk_int(1, false); per_record];
        let body: Vec<u8> = (0..u16::try_from(records).unwrap())
            .flat_map(|row| mulrk(row, 0, &values))
            .collect();
        let wb = workbook(&[], &[worksheet("S", body)]);
        let text = workbook_text(&wb);
        assert_eq!(text.matches('1').count(), MAX_CELLS);
    }
}
