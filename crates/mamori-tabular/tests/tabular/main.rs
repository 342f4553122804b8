//! Import and export of spreadsheets and CSV, end to end: each test builds its own input
//! (workbooks with the xlsx writer or zipped by hand, CP932 bytes with the encoder) and checks
//! the result or the exact error a user would see.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Cursor, Read, Write};

use mamori_tabular::{
    Column, ExportFormat, ExportTable, Limits, ReadOptions, SourceFormat, Table, TabularError,
    TabularErrorKind, TabularErrors, TextEncoding, level_value, read_table, write_table,
};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

const SCHEMA: [Column; 4] = [
    Column::required("no", "資産番号").aliases(&["資産No"]),
    Column::required("name", "名称"),
    Column::optional("class", "機密性"),
    Column::optional("checked", "最終確認日").date(),
];

fn headers() -> Vec<String> {
    SCHEMA.iter().map(|c| c.header.to_owned()).collect()
}

fn row(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

fn read(bytes: &[u8], name: &str) -> Result<Table, TabularErrors> {
    read_table(bytes, name, &SCHEMA, &ReadOptions::default())
}

fn read_ok(bytes: &[u8], name: &str) -> Table {
    match read(bytes, name) {
        Ok(t) => t,
        Err(e) => panic!("expected a table, got:\n{e}"),
    }
}

fn only_error(result: Result<Table, TabularErrors>) -> TabularError {
    let errors = result.expect_err("expected an error");
    assert_eq!(errors.len(), 1, "{errors}");
    errors.errors.into_iter().next().unwrap()
}

fn values(table: &Table) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|r| SCHEMA.iter().map(|c| r.text(c.key).to_owned()).collect())
        .collect()
}

/// Values that trip up CSV and spreadsheets: formula starts, quotes, commas, line breaks,
/// leading zeros, Japanese punctuation.
fn tricky_rows() -> Vec<Vec<String>> {
    vec![
        row(&["001", "=SUM(A1:A2)", "3", "2026-04-01"]),
        row(&["002", "+81-3-0000-0000", "2", ""]),
        row(&["003", "@cmd と \"引用\", カンマ", "1", "2025-03-31"]),
        row(&["004", "複数行\n2行目", "3", ""]),
        row(&["005", "-", "2", ""]),
        row(&["006", "'=already quoted", "1", ""]),
        row(&["007", "-5", "1", ""]),
    ]
}

fn tricky_table() -> ExportTable {
    let mut t = ExportTable::new("台帳", headers());
    for r in tricky_rows() {
        t.push(r);
    }
    t
}

#[test]
fn csv_utf8_export_round_trips_and_guards_formulas() {
    let bytes = write_table(&tricky_table(), ExportFormat::CsvUtf8).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.contains("'=SUM(A1:A2)"));
    assert!(text.contains("'+81-3-0000-0000"));
    assert!(text.contains("\r\n"));
    let table = read_ok(&bytes, "export.csv");
    assert_eq!(table.encoding, Some(TextEncoding::Utf8WithBom));
    assert_eq!(values(&table), tricky_rows());
    // The multi-line cell does not shift later row numbers: rows are numbered as Excel shows.
    let numbers: Vec<usize> = table.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn xlsx_export_round_trips_with_frozen_filtered_header() {
    let bytes = write_table(&tricky_table(), ExportFormat::Xlsx).unwrap();
    let table = read_ok(&bytes, "export.xlsx");
    assert_eq!(table.format, SourceFormat::Xlsx);
    assert_eq!(table.sheet.as_deref(), Some("台帳"));
    assert_eq!(values(&table), tricky_rows());
    let mut archive = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
    let mut sheet = String::new();
    archive
        .by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    assert!(sheet.contains("<autoFilter ref=\"A1:D8\""), "{sheet}");
    assert!(sheet.contains("state=\"frozen\""));
    assert!(sheet.contains("<cols>"));
    // Formula-looking text is stored as a string with its guard, never as a formula.
    assert!(!sheet.contains("<f>"));
}

#[test]
fn cp932_export_maps_lookalikes_and_round_trips() {
    let mut t = ExportTable::new("台帳", headers());
    t.push(row(&[
        "001",
        "9時〜17時 髙橋 ①",
        "機密性３",
        "令和8年4月1日",
    ]));
    let bytes = write_table(&t, ExportFormat::CsvCp932).unwrap();
    let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    assert!(decoded.contains("9時～17時 髙橋 ①"));
    let table = read_ok(&bytes, "export.csv");
    assert_eq!(table.encoding, Some(TextEncoding::ShiftJis));
    let r = &table.rows[0];
    assert_eq!(r.text("name"), "9時～17時 髙橋 ①");
    assert_eq!(level_value(r.text("class"), &["機密性"]), "3");
    assert_eq!(r.text("checked"), "2026-04-01");
}

#[test]
fn cp932_export_reports_every_unencodable_cell() {
    let mut t = ExportTable::new("台帳", headers());
    t.push(row(&["001", "𠮷野", "1", ""]));
    t.push(row(&["002", "ok", "1", ""]));
    t.push(row(&["003", "絵文字😀", "1", ""]));
    let errors = write_table(&t, ExportFormat::CsvCp932).unwrap_err();
    assert_eq!(errors.len(), 2);
    let first = &errors.errors[0];
    assert_eq!(first.row, Some(2));
    assert_eq!(first.column.as_deref(), Some("名称"));
    assert_eq!(first.value.as_deref(), Some("𠮷野"));
    assert!(matches!(
        first.kind,
        TabularErrorKind::Unencodable {
            character: '𠮷',
            code: 0x20BB7
        }
    ));
    assert_eq!(
        first.to_string(),
        "2行目「名称」列の値「𠮷野」: 文字「𠮷」（U+20BB7）は Shift_JIS (CP932) で保存できません。別の文字に置き換えるか UTF-8 で出力してください"
    );
    assert_eq!(errors.errors[1].row, Some(4));
}

#[test]
fn reads_shift_jis_csv_as_excel_writes_it() {
    let text = "資産番号,名称,機密性,最終確認日\r\n００１,住民記録,機密性３,R8.4.1\r\n";
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let table = read_ok(&bytes, "r8.csv");
    assert_eq!(table.encoding, Some(TextEncoding::ShiftJis));
    let r = &table.rows[0];
    assert_eq!(r.number, 2);
    assert_eq!(r.text("no"), "００１");
    assert_eq!(mamori_tabular::fold_digits(r.text("no")), "001");
    assert_eq!(r.text("checked"), "2026-04-01");
}

#[test]
fn reads_utf8_without_bom_and_tab_separated() {
    let table = read_ok("資産番号\t名称\nA-1\t財務会計\n".as_bytes(), "x.txt");
    assert_eq!(table.encoding, Some(TextEncoding::Utf8));
    assert_eq!(table.rows[0].text("name"), "財務会計");
    assert_eq!(table.rows[0].get("class"), None);
}

#[test]
fn undecodable_bytes_name_the_line() {
    let mut bytes = "資産番号,名称\r\n001,住民\r\n".as_bytes().to_vec();
    bytes.extend_from_slice(b"002,\xFF\xFE\xFD\r\n");
    let e = only_error(read(&bytes, "x.csv"));
    assert_eq!(e.row, Some(3));
    assert_eq!(e.kind, TabularErrorKind::Undecodable);
    assert!(
        e.to_string()
            .starts_with("3行目: 文字コードを判別できません")
    );
    let e = only_error(read(b"\xFF\xFEa\x00", "x.csv"));
    assert_eq!(e.kind, TabularErrorKind::Utf16);
}

#[test]
fn ragged_rows_are_errors_naming_the_row() {
    let csv = "資産番号,名称,機密性\n001,a,1\n002,b\n003,c,1,extra\n004,d,1,,\n";
    let errors = read(csv.as_bytes(), "x.csv").unwrap_err();
    let found: Vec<(Option<usize>, TabularErrorKind)> =
        errors.iter().map(|e| (e.row, e.kind.clone())).collect();
    assert_eq!(
        found,
        vec![
            (
                Some(3),
                TabularErrorKind::RaggedRow {
                    expected: 3,
                    found: 2
                }
            ),
            (
                Some(4),
                TabularErrorKind::RaggedRow {
                    expected: 3,
                    found: 4
                }
            ),
        ]
    );
    assert!(
        errors
            .to_string()
            .contains("3行目: 列の数が見出し行と違います（見出しは3列、この行は2列）")
    );
}

#[test]
fn missing_or_renamed_headers_list_what_was_found() {
    let e = only_error(read("資産コード,名前,機密性\n1,a,1\n".as_bytes(), "x.csv"));
    assert_eq!(e.row, Some(1));
    assert_eq!(
        e.to_string(),
        "1行目: 必要な列がありません: 資産番号、名称（見つかった見出し: 機密性、資産コード、名前）"
    );
    let e = only_error(read("資産番号,名称,資産No\n1,a,1\n".as_bytes(), "x.csv"));
    assert!(matches!(e.kind, TabularErrorKind::DuplicateColumn { .. }));
    let e = only_error(read("\n\n".as_bytes(), "x.csv"));
    assert_eq!(e.kind, TabularErrorKind::NoHeader);
}

#[test]
fn title_rows_above_the_header_and_blank_rows_are_skipped() {
    let csv = "情報資産管理台帳,,\n令和8年4月1日現在,,\n,,\n資産番号,名称（必須）,備考\n,,\n001,a,x\n  ,　,\n002,b,\n";
    let table = read_ok(csv.as_bytes(), "x.csv");
    assert_eq!(table.header_row, 4);
    assert_eq!(table.ignored_headers, vec!["備考".to_owned()]);
    let numbers: Vec<usize> = table.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![6, 8]);
}

#[test]
fn dates_in_every_shape_become_iso_and_bad_ones_name_the_cell() {
    let csv = "資産番号,名称,最終確認日\n1,a,令和8年4月1日\n2,b,２０２６／４／１\n3,c,46113\n4,d,H31.4.30\n5,e,26/4/1\n6,f,平成31年5月1日\n";
    let errors = read(csv.as_bytes(), "x.csv").unwrap_err();
    assert_eq!(errors.len(), 2);
    let e = &errors.errors[0];
    assert_eq!(
        (e.row, e.column.as_deref(), e.value.as_deref()),
        (Some(6), Some("最終確認日"), Some("26/4/1"))
    );
    assert!(e.to_string().contains("西暦か和暦か判断できません"), "{e}");
    assert!(
        errors.errors[1]
            .to_string()
            .contains("令和元年5月1日ではありませんか")
    );

    let csv = "資産番号,名称,最終確認日\n1,a,令和8年4月1日\n2,b,２０２６／４／１\n3,c,46113\n4,d,H31.4.30\n";
    let table = read_ok(csv.as_bytes(), "x.csv");
    let dates: Vec<&str> = table.rows.iter().map(|r| r.text("checked")).collect();
    assert_eq!(
        dates,
        vec!["2026-04-01", "2026-04-01", "2026-04-01", "2019-04-30"]
    );
}

/// A workbook with the schema's header row, then whatever `fill` writes.
fn workbook(fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (col, h) in (0u16..).zip(headers()) {
        ws.write_string(0, col, h).unwrap();
    }
    fill(ws);
    wb.save_to_buffer().unwrap()
}

#[test]
fn xlsx_dates_serials_and_full_width_values() {
    let bytes = workbook(|ws| {
        let date = Format::new().set_num_format("yyyy/m/d");
        ws.write_string(1, 0, "００１").unwrap();
        ws.write_string(1, 1, "住民記録").unwrap();
        ws.write_string(1, 2, "機密性３").unwrap();
        ws.write_datetime_with_format(1, 3, ExcelDateTime::from_ymd(2026, 4, 1).unwrap(), &date)
            .unwrap();
        ws.write_number(3, 0, 2.0).unwrap();
        ws.write_string(3, 1, "人事給与").unwrap();
        ws.write_number(3, 2, 2.0).unwrap();
        ws.write_number(3, 3, 46113.0).unwrap();
        ws.write_string(4, 0, "3").unwrap();
        ws.write_string(4, 1, "例規").unwrap();
        ws.write_string(4, 3, "令和元年5月1日").unwrap();
    });
    let table = read_ok(&bytes, "台帳.xlsx");
    let got = values(&table);
    assert_eq!(
        got[0],
        row(&["００１", "住民記録", "機密性３", "2026-04-01"])
    );
    assert_eq!(got[1], row(&["2", "人事給与", "2", "2026-04-01"]));
    assert_eq!(got[2], row(&["3", "例規", "", "2019-05-01"]));
    assert_eq!(
        table.rows[1].number, 4,
        "the blank row 3 is skipped, numbers stay Excel's"
    );
    assert_eq!(table.cell_ref(4, "checked").as_deref(), Some("D4"));
}

#[test]
fn xlsx_bad_date_names_the_cell() {
    let bytes = workbook(|ws| {
        ws.write_string(1, 0, "1").unwrap();
        ws.write_string(1, 1, "a").unwrap();
        ws.write_string(1, 3, "来年").unwrap();
    });
    let e = only_error(read(&bytes, "x.xlsx"));
    assert_eq!(e.cell.as_deref(), Some("D2"));
    assert!(
        e.to_string().starts_with(
            "2行目「最終確認日」列（セルD2）の値「来年」: 「来年」は日付として読み取れません"
        ),
        "{e}"
    );
}

#[test]
fn xlsx_merged_cells_are_errors_naming_the_range() {
    let bytes = workbook(|ws| {
        ws.write_string(1, 0, "1").unwrap();
        ws.merge_range(1, 1, 2, 1, "結合", &Format::new()).unwrap();
        ws.write_string(2, 0, "2").unwrap();
    });
    let e = only_error(read(&bytes, "x.xlsx"));
    assert_eq!(
        e.kind,
        TabularErrorKind::MergedCells {
            range: "B2:B3".to_owned()
        }
    );
    assert_eq!(e.row, Some(2));
    assert!(e.to_string().contains("結合されたセル（B2:B3）"));
}

#[test]
fn xlsx_formulas_are_refused_naming_the_cell() {
    let bytes = workbook(|ws| {
        ws.write_string(1, 0, "1").unwrap();
        ws.write_formula(1, 1, "=CONCAT(\"a\",\"b\")").unwrap();
    });
    let e = only_error(read(&bytes, "x.xlsx"));
    assert_eq!(e.cell.as_deref(), Some("B2"));
    assert_eq!(e.column.as_deref(), Some("名称"));
    assert!(matches!(&e.kind, TabularErrorKind::Formula { formula } if formula.contains("CONCAT")));
    assert!(e.to_string().contains("数式"));
}

#[test]
fn a_file_named_xlsx_that_is_not_is_refused() {
    let e = only_error(read("資産番号,名称\n1,a\n".as_bytes(), "台帳.xlsx"));
    assert_eq!(e.kind, TabularErrorKind::NotXlsx);
    let e = only_error(read(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest", "台帳.xls"));
    assert_eq!(e.kind, TabularErrorKind::LegacyOrEncrypted);
    // A zip that is not a workbook.
    let bytes = zip_of(&[("word/document.xml", b"<w/>".to_vec())]);
    let e = only_error(read(&bytes, "x.xlsx"));
    assert!(matches!(e.kind, TabularErrorKind::NotWorkbook { .. }));
}

/// A zip with the two parts every workbook has, plus `extra`.
fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zw.start_file(*name, options).unwrap();
        zw.write_all(data).unwrap();
    }
    zw.finish().unwrap().into_inner()
}

fn workbook_parts() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("xl/workbook.xml", b"<workbook/>".to_vec()),
    ]
}

#[test]
fn zip_bombs_are_refused_before_the_workbook_is_read() {
    let mut parts = workbook_parts();
    parts.push(("xl/worksheets/sheet1.xml", vec![b' '; 20 * 1024 * 1024]));
    let bomb = zip_of(&parts);
    assert!(
        bomb.len() < 200 * 1024,
        "the test bomb should be small: {}",
        bomb.len()
    );
    let e = only_error(read(&bomb, "bomb.xlsx"));
    assert!(
        matches!(e.kind, TabularErrorKind::SuspiciousRatio { ref entry, .. } if entry == "xl/worksheets/sheet1.xml"),
        "{e}"
    );
    assert!(e.to_string().contains("zip 爆弾"));

    let small = ReadOptions {
        limits: Limits {
            max_uncompressed_bytes: 1024 * 1024,
            ..Limits::default()
        },
        sheet: None,
    };
    let e = read_table(&bomb, "bomb.xlsx", &SCHEMA, &small).unwrap_err();
    assert!(
        matches!(
            e.errors[0].kind,
            TabularErrorKind::TooLargeUncompressed { .. }
        ),
        "{e}"
    );

    let many: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("xl/media/{i}.bin"), vec![0u8; 4]))
        .collect();
    let mut parts = workbook_parts();
    parts.extend(many.iter().map(|(n, d)| (n.as_str(), d.clone())));
    let few = ReadOptions {
        limits: Limits {
            max_zip_entries: 10,
            ..Limits::default()
        },
        sheet: None,
    };
    let e = read_table(&zip_of(&parts), "x.xlsx", &SCHEMA, &few).unwrap_err();
    assert!(matches!(
        e.errors[0].kind,
        TabularErrorKind::TooManyEntries { count: 22, max: 10 }
    ));
}

#[test]
fn a_zip_that_understates_its_sizes_is_still_refused() {
    let mut parts = workbook_parts();
    parts.push(("xl/worksheets/sheet1.xml", vec![b' '; 8 * 1024 * 1024]));
    let mut bomb = zip_of(&parts);
    // Rewrite the declared uncompressed size of the big entry (local and central headers) to 1 KiB.
    let name = b"xl/worksheets/sheet1.xml";
    for (signature, size_offset) in [(b"PK\x03\x04", 22usize), (b"PK\x01\x02", 24usize)] {
        let mut i = 0;
        while let Some(p) = bomb[i..].windows(4).position(|w| w == signature) {
            let at = i + p;
            let name_at = if signature == b"PK\x03\x04" {
                at + 30
            } else {
                at + 46
            };
            if bomb.get(name_at..name_at + name.len()) == Some(&name[..]) {
                bomb[at + size_offset..at + size_offset + 4]
                    .copy_from_slice(&1024u32.to_le_bytes());
            }
            i = at + 4;
        }
    }
    let limits = ReadOptions {
        limits: Limits {
            max_uncompressed_bytes: 4 * 1024 * 1024,
            ..Limits::default()
        },
        sheet: None,
    };
    let result = read_table(&bomb, "bomb.xlsx", &SCHEMA, &limits);
    let e = result.expect_err("a lying zip must not be read");
    assert!(
        matches!(
            e.errors[0].kind,
            TabularErrorKind::TooLargeUncompressed { .. }
                | TabularErrorKind::SuspiciousRatio { .. }
                | TabularErrorKind::CorruptXlsx { .. }
        ),
        "{e}"
    );
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let options = ReadOptions {
        limits: Limits {
            max_file_bytes: 10,
            ..Limits::default()
        },
        sheet: None,
    };
    let e = read_table(
        "資産番号,名称\n1,a\n".as_bytes(),
        "x.csv",
        &SCHEMA,
        &options,
    )
    .unwrap_err();
    assert!(matches!(
        e.errors[0].kind,
        TabularErrorKind::FileTooLarge { max: 10, .. }
    ));
    let e = only_error(read(b"", "x.csv"));
    assert_eq!(e.kind, TabularErrorKind::EmptyFile);
}

#[test]
fn too_many_rows_are_refused() {
    let mut csv = String::from("資産番号,名称\n");
    for i in 0..20 {
        csv.push_str(&format!("{i},a\n"));
    }
    let options = ReadOptions {
        limits: Limits {
            max_rows: 10,
            ..Limits::default()
        },
        sheet: None,
    };
    let e = read_table(csv.as_bytes(), "x.csv", &SCHEMA, &options).unwrap_err();
    assert!(
        matches!(e.errors[0].kind, TabularErrorKind::TooManyRows { max: 10 }),
        "{e}"
    );
}

#[test]
fn a_missing_sheet_lists_the_sheets() {
    let bytes = write_table(&tricky_table(), ExportFormat::Xlsx).unwrap();
    let options = ReadOptions {
        sheet: Some("別シート".to_owned()),
        ..ReadOptions::default()
    };
    let e = read_table(&bytes, "x.xlsx", &SCHEMA, &options).unwrap_err();
    assert_eq!(
        e.errors[0].to_string(),
        "シート「別シート」がありません（あるシート: 台帳）"
    );
}

#[test]
fn callers_report_their_own_checks_in_the_same_shape() {
    let bytes = workbook(|ws| {
        ws.write_string(1, 0, "001").unwrap();
        ws.write_string(1, 1, "a").unwrap();
        ws.write_string(1, 2, "機密性9").unwrap();
    });
    let table = read_ok(&bytes, "x.xlsx");
    let r = &table.rows[0];
    let e = table.error(r, "class", "機密性は 1, 2, 3 のいずれかです");
    assert_eq!(
        e.to_string(),
        "2行目「機密性」列（セルC2）の値「機密性9」: 機密性は 1, 2, 3 のいずれかです"
    );
}

#[test]
fn export_rows_must_match_the_header() {
    let mut t = ExportTable::new("x", headers());
    t.push(row(&["1", "a"]));
    for format in [
        ExportFormat::Xlsx,
        ExportFormat::CsvUtf8,
        ExportFormat::CsvCp932,
    ] {
        let e = write_table(&t, format).unwrap_err();
        assert!(matches!(
            e.errors[0].kind,
            TabularErrorKind::ExportRagged {
                expected: 4,
                found: 2
            }
        ));
        assert_eq!(e.errors[0].row, Some(2));
    }
}

/// Figures for the README, not a timed assertion: run with
/// `cargo test --release -p mamori-tabular --test tabular -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark; run explicitly in release mode"]
fn benchmark_100k_rows() {
    const WIDE: [Column; 20] = [
        Column::required("c00", "資産番号"),
        Column::required("c01", "名称"),
        Column::required("c02", "業務名"),
        Column::required("c03", "所管課"),
        Column::required("c04", "管理者"),
        Column::required("c05", "媒体"),
        Column::required("c06", "保存場所"),
        Column::required("c07", "ネットワーク区分"),
        Column::required("c08", "機密性"),
        Column::required("c09", "完全性"),
        Column::required("c10", "可用性"),
        Column::required("c11", "個人情報"),
        Column::required("c12", "件数"),
        Column::required("c13", "利用者範囲"),
        Column::required("c14", "取扱制限"),
        Column::required("c15", "保存期間"),
        Column::required("c16", "バックアップ"),
        Column::required("c17", "委託先"),
        Column::required("c18", "最終確認日").date(),
        Column::required("c19", "備考"),
    ];
    let mut table = ExportTable::from_schema("台帳", &WIDE);
    for i in 0..100_000 {
        table.push(vec![
            format!("A-{i:06}"),
            format!("住民基本台帳データ{i}"),
            "住民記録事務".to_owned(),
            "事務局総務課".to_owned(),
            "山田 太郎".to_owned(),
            "DB・システム".to_owned(),
            "サーバ室ラック3".to_owned(),
            "LGWAN接続系".to_owned(),
            "自治体機密性3B".to_owned(),
            "2".to_owned(),
            "2".to_owned(),
            "有".to_owned(),
            format!("{}", i * 7 % 50_000),
            "関係者限り".to_owned(),
            "複製禁止、持出禁止".to_owned(),
            "5年".to_owned(),
            "日次".to_owned(),
            String::new(),
            "2026-04-01".to_owned(),
            "=注意 〜 備考".to_owned(),
        ]);
    }
    for format in [
        ExportFormat::Xlsx,
        ExportFormat::CsvUtf8,
        ExportFormat::CsvCp932,
    ] {
        let started = std::time::Instant::now();
        let bytes = write_table(&table, format).unwrap();
        let written = started.elapsed();
        let started = std::time::Instant::now();
        let name = format!("bench.{}", format.extension());
        let read = read_table(&bytes, &name, &WIDE, &ReadOptions::default()).unwrap();
        let read_time = started.elapsed();
        assert_eq!(read.rows.len(), 100_000);
        println!(
            "{format:?}: 100,000 rows x 20 columns, {} bytes; write {written:.2?}, read {read_time:.2?}",
            bytes.len()
        );
    }
}

/// A workbook zipped by hand from XML, as another spreadsheet program might write it: inline
/// strings, an error value, a formula with a cached result and a merged range.
fn hand_made_workbook(sheet_data: &str, merged: &str) -> Vec<u8> {
    const NS: &str = "http://schemas.openxmlformats.org";
    let content_types = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{NS}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#
    );
    let rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{NS}/package/2006/relationships"><Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}/spreadsheetml/2006/main" xmlns:r="{NS}/officeDocument/2006/relationships"><sheets><sheet name="台帳" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let workbook_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{NS}/package/2006/relationships"><Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
    );
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData>{merged}</worksheet>"#
    );
    zip_of(&[
        ("[Content_Types].xml", content_types.into_bytes()),
        ("_rels/.rels", rels.into_bytes()),
        ("xl/workbook.xml", workbook.into_bytes()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.into_bytes()),
        ("xl/worksheets/sheet1.xml", sheet.into_bytes()),
    ])
}

fn inline(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

#[test]
fn hand_made_workbook_with_error_value_cached_formula_and_merge() {
    let data = [
        format!(
            r#"<row r="1">{}{}</row>"#,
            inline("A1", "資産番号"),
            inline("B1", "名称")
        ),
        format!(
            r#"<row r="2">{}<c r="B2" t="e"><v>#N/A</v></c></row>"#,
            inline("A2", "001")
        ),
        format!(
            r#"<row r="3">{}<c r="B3"><f>1+1</f><v>2</v></c></row>"#,
            inline("A3", "002")
        ),
        format!(r#"<row r="4">{}</row>"#, inline("A4", "003")),
        format!(
            r#"<row r="5">{}{}</row>"#,
            inline("A5", "004"),
            inline("B5", "正常")
        ),
    ]
    .concat();
    let bytes = hand_made_workbook(
        &data,
        r#"<mergeCells count="1"><mergeCell ref="A4:B4"/></mergeCells>"#,
    );
    let errors = read(&bytes, "手作り.xlsx").unwrap_err();
    let got: Vec<(Option<usize>, Option<&str>, String)> = errors
        .iter()
        .map(|e| (e.row, e.cell.as_deref(), format!("{:?}", e.kind)))
        .collect();
    assert_eq!(errors.len(), 3, "{errors}");
    assert_eq!(got[0].0, Some(4));
    assert!(got[0].2.starts_with("MergedCells"), "{got:?}");
    assert_eq!((got[1].0, got[1].1), (Some(3), Some("B3")));
    assert!(got[1].2.starts_with("Formula"), "{got:?}");
    assert_eq!((got[2].0, got[2].1), (Some(2), Some("B2")));
    assert_eq!(
        errors.errors[2].to_string(),
        "2行目「名称」列（セルB2）の値「#N/A」: エラー値 #N/A が入っています"
    );

    // The same workbook without the bad cells reads, proving the hand-made parts are sound.
    let clean = [
        format!(
            r#"<row r="1">{}{}</row>"#,
            inline("A1", "資産番号"),
            inline("B1", "名称")
        ),
        format!(
            r#"<row r="2">{}{}</row>"#,
            inline("A2", "001"),
            inline("B2", "正常")
        ),
    ]
    .concat();
    let table = read_ok(&hand_made_workbook(&clean, ""), "手作り.xlsx");
    assert_eq!(table.rows[0].text("name"), "正常");
}

/// A clean hand-made workbook of `rows` data rows.
fn clean_sheet(rows: usize) -> String {
    let mut data = format!(
        r#"<row r="1">{}{}</row>"#,
        inline("A1", "資産番号"),
        inline("B1", "名称")
    );
    for r in 2..rows + 2 {
        data.push_str(&format!(
            r#"<row r="{r}">{}{}</row>"#,
            inline(&format!("A{r}"), &format!("{r:05}")),
            inline(&format!("B{r}"), "正常")
        ));
    }
    data
}

#[test]
fn a_truncated_workbook_is_refused_with_a_clear_error() {
    let bytes = hand_made_workbook(&clean_sheet(200), "");
    // Cut anywhere: at the end (no central directory), in the middle, near the start.
    for keep in [bytes.len() - 1, bytes.len() / 2, 100, 10] {
        let cut = &bytes[..keep];
        let e = only_error(read(cut, "途中まで.xlsx"));
        assert!(
            matches!(e.kind, TabularErrorKind::CorruptXlsx { .. }),
            "cut at {keep}: {e}"
        );
        assert!(e.to_string().contains("xlsx ファイルが壊れています"), "{e}");
    }
}

#[test]
fn broken_sheet_xml_is_refused_with_a_clear_error() {
    // An unclosed cell, a row closed twice, a cell outside any row, a sheet that stops short.
    let cases = [
        format!(
            r#"{}<row r="102"><c r="A102" t="inlineStr"><is><t>x</t></is>"#,
            clean_sheet(100)
        ),
        format!(
            r#"{}</row></row><row r="103"><c r="A103"><v>1</v></c></row>"#,
            clean_sheet(100)
        ),
        format!(r#"{}<c r="ZZZZZZZZ1"><v>1</v></c>"#, clean_sheet(3)),
        format!(r#"{}<row r="99999999999999999999">"#, clean_sheet(3)),
        "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>7</v></c></row>".to_owned(),
    ];
    for (i, data) in cases.iter().enumerate() {
        let result = read(&hand_made_workbook(data, ""), "壊れた.xlsx");
        let errors = result.expect_err(&format!("case {i} should be refused"));
        assert!(!errors.is_empty(), "case {i}");
        for e in errors.iter() {
            // Every message is plain Japanese naming the problem, never a panic.
            assert!(!e.to_string().is_empty(), "case {i}");
        }
    }
    // A sheet whose XML is not XML at all.
    let mut parts = workbook_parts();
    parts.push(("xl/worksheets/sheet1.xml", b"\x00\xFF<<<".to_vec()));
    assert!(read(&zip_of(&parts), "x.xlsx").is_err());
}

#[test]
fn huge_cells_are_refused_naming_the_cell() {
    // One cell of 100,000 characters (three times Excel's limit), in a file otherwise clean.
    let long = "あ".repeat(100_000);
    let data = format!(
        r#"{}<row r="2">{}{}</row>"#,
        clean_sheet(0),
        inline("A2", "001"),
        inline("B2", &long)
    );
    let e = only_error(read(&hand_made_workbook(&data, ""), "長い.xlsx"));
    assert_eq!(
        e.kind,
        TabularErrorKind::CellTooLong {
            chars: 100_000,
            max: 32_767
        }
    );
    assert_eq!((e.row, e.cell.as_deref()), (Some(2), Some("B2")));
    // The same in CSV.
    let csv = format!("資産番号,名称\n001,{long}\n");
    let e = only_error(read(csv.as_bytes(), "長い.csv"));
    assert!(
        matches!(e.kind, TabularErrorKind::CellTooLong { .. }),
        "{e}"
    );
    assert_eq!(e.row, Some(2));
}

#[test]
fn errors_after_many_good_rows_return_no_rows_and_are_capped() {
    // Good rows first, then more bad dates than can be reported: nothing is returned as rows,
    // and the report says it was cut.
    let mut csv = String::from("資産番号,名称,最終確認日\n");
    for i in 0..1_000 {
        csv.push_str(&format!("{i},名前,2026-04-01\n"));
    }
    for i in 0..300 {
        csv.push_str(&format!("b{i},名前,いつか\n"));
    }
    let errors = read(csv.as_bytes(), "x.csv").unwrap_err();
    assert_eq!(errors.len(), Limits::default().max_errors);
    assert!(errors.truncated);
    assert_eq!(errors.errors[0].row, Some(1_002));
}

#[test]
fn a_header_found_late_keeps_every_row_after_it() {
    // Title lines and a near-header before the real one; rows between are not data.
    let csv = "情報資産管理台帳\n資産番号,備考\n\n資産番号,名称\n1,a\n\n2,b\n";
    let table = read_ok(csv.as_bytes(), "x.csv");
    assert_eq!(table.header_row, 4);
    let numbers: Vec<usize> = table.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, vec![5, 7]);
    assert_eq!(table.rows[1].text("name"), "b");
    let cells: Vec<(&str, &str)> = table.rows[0].cells().collect();
    assert_eq!(cells, vec![("no", "1"), ("name", "a")]);
}

/// The `table` fuzz target's corpus (`fuzz/corpus/table/`) replayed: every stored input is read
/// as xlsx and as CSV without a panic, and the seed files read as tables.
#[test]
fn fuzz_corpus_replays() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/table");
    let mut read_any = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        for name in ["import.xlsx", "import.csv"] {
            if let Ok(table) = read(&data, name) {
                assert!(table.rows.len() <= Limits::default().max_rows);
                read_any += 1;
            }
        }
    }
    // The hand-made seeds (a generated register, UTF-8 and CP932 CSV) are valid files.
    assert!(read_any >= 3, "{read_any} inputs read as tables");
}
