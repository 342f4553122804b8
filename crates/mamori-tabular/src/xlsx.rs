//! xlsx reading: the zip is checked against the limits before the workbook reader inflates
//! anything, then the chosen sheet becomes a grid of raw cells with its formulas and merged
//! ranges, for the common pipeline in [`crate::read`].

use std::collections::HashMap;
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use time::{Date, Month};

use crate::error::{TabularError, TabularErrorKind};
use crate::read::{Grid, GridRow, Limits, Raw};

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

/// Checks entry count, declared sizes and compression ratios, then inflates every entry into
/// nothing with a hard cap, so a header that understates an entry's size cannot get past.
pub(crate) fn check_zip(bytes: &[u8], limits: &Limits) -> Result<(), TabularError> {
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
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(corrupt)?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let compressed = entry.compressed_size();
        let remaining = max.saturating_sub(actual_total);
        let read = std::io::copy(
            &mut (&mut entry).take(remaining.saturating_add(1)),
            &mut std::io::sink(),
        )
        .map_err(corrupt)?;
        actual_total = actual_total.saturating_add(read);
        if actual_total > max {
            return Err(too_large(&name, actual_total));
        }
        if let Some(e) = suspicious(&name, read, compressed) {
            return Err(e);
        }
    }
    Ok(())
}

/// Reads one sheet (the first when `sheet` is `None`) into a grid.
pub(crate) fn read_grid(
    bytes: &[u8],
    sheet: Option<&str>,
    limits: &Limits,
) -> Result<(Grid, String), TabularError> {
    check_zip(bytes, limits)?;
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
    let is_1904 = workbook.has_1904_epoch();
    // The sheet is streamed cell by cell into the grid: building calamine's dense ranges of
    // values and of formulas first would hold every cell two or three times over (hundreds of
    // megabytes for 100,000 rows), and the limits are checked as the cells come.
    let mut formulas = HashMap::new();
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(corrupt)?;
    while let Some(cell) = reader.next_formula().map_err(corrupt)? {
        let formula = cell.get_value();
        if !formula.is_empty() {
            let (r, c) = position(&cell);
            formulas.insert((r + 1, c), formula.clone());
        }
    }
    drop(reader);
    let mut rows: Vec<GridRow> = Vec::new();
    let mut reader = workbook.worksheet_cells_reader(&name).map_err(corrupt)?;
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
        if rows.last().is_none_or(|last| last.number != number) {
            rows.push(GridRow {
                number,
                cells: Vec::new(),
            });
        }
        if let Some(row) = rows.last_mut() {
            if row.cells.len() <= c {
                row.cells.resize(c + 1, Raw::Empty);
            }
            if let Some(slot) = row.cells.get_mut(c) {
                *slot = value;
            }
        }
    }
    drop(reader);
    let merged = workbook
        .merge_cells_by_sheet_name(&name)
        .map_err(corrupt)?
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
    Ok((
        Grid {
            rows,
            is_1904,
            formulas,
            merged,
            check_ragged: false,
        },
        name,
    ))
}

/// A cell's 0-based (row, column).
fn position<T: calamine::CellType>(cell: &calamine::Cell<T>) -> (usize, usize) {
    let (r, c) = cell.get_position();
    let to = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
    (to(r), to(c))
}

fn raw_from_ref(data: &DataRef<'_>) -> Raw {
    match data {
        DataRef::Empty => Raw::Empty,
        DataRef::SharedString(s) => Raw::Text((*s).to_owned()),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Raw::Text(s.clone())
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
