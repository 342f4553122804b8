//! Fuzz target: import files (xlsx and CSV) read against a schema, as `mamori assets import`
//! reads them. Any result is fine; a panic, a hang or unbounded memory is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_tabular::{Column, ReadOptions, read_table};

const SCHEMA: [Column; 4] = [
    Column::required("no", "資産番号").aliases(&["資産No"]),
    Column::required("name", "名称"),
    Column::optional("class", "機密性"),
    Column::optional("checked", "最終確認日").date(),
];

fuzz_target!(|data: &[u8]| {
    let options = ReadOptions::default();
    // The name only matters for a file that claims to be xlsx and is not.
    for name in ["import.xlsx", "import.csv"] {
        if let Ok(table) = read_table(data, name, &SCHEMA, &options) {
            assert!(table.rows.len() <= options.limits.max_rows);
        }
    }
});
