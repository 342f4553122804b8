//! Fuzz target: images (JPEG, PNG, GIF, BMP, WebP seeds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sanitize::{Policy, Verdict, sanitize_file};

fuzz_target!(|data: &[u8]| {
    let input: Vec<u8> = data.to_vec();
    let o = sanitize_file(&input, None, &Policy::default());
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
});
