//! Fuzz target: legacy OLE documents (inputs are made to start with the compound-file signature).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sanitize::{Policy, Rule, Verdict, sanitize_file};

fuzz_target!(|data: &[u8]| {
    let input: Vec<u8> = if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        data.to_vec()
    } else {
        [
            [0xD0u8, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1].as_slice(),
            data,
        ]
        .concat()
    };
    let o = sanitize_file(&input, None, &Policy::default());
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
    // Also with documents holding macros or objects converted to their text (the Word, Excel
    // and PowerPoint text readers).
    let mut convert = Policy::default();
    convert.ole.macros = Rule::Sanitize;
    convert.ole.objects = Rule::Sanitize;
    let o = sanitize_file(&input, None, &convert);
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
    assert!(
        !o.report
            .actions
            .iter()
            .any(|a| a.code == "internal.parser-panic")
    );
});
