//! Fuzz target: PDF (inputs are made to start with the PDF header).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sanitize::{Policy, Verdict, sanitize_file};

fuzz_target!(|data: &[u8]| {
    let input: Vec<u8> = if data.starts_with(b"%PDF-") {
        data.to_vec()
    } else {
        [b"%PDF-1.7\n".as_slice(), data].concat()
    };
    let o = sanitize_file(&input, None, &Policy::default());
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
});
