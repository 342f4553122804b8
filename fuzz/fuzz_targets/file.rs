//! Fuzz target: any bytes through the file engine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sanitize::{Policy, Rule, Verdict, sanitize_file};

fuzz_target!(|data: &[u8]| {
    let input: Vec<u8> = data.to_vec();
    let o = sanitize_file(&input, None, &Policy::default());
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
    // Also with the conversions a policy can turn on: SVG rasterised, legacy documents with
    // macros or objects converted to text.
    let mut convert = Policy::default();
    convert.files.svg = Rule::Sanitize;
    convert.ole.macros = Rule::Sanitize;
    convert.ole.objects = Rule::Sanitize;
    let o = sanitize_file(&input, None, &convert);
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
});
