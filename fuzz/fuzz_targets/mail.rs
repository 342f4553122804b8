//! Fuzz target: the mail path (parse, charset handling, HTML to text, attachments, output).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_sanitize::{InProcess, Policy, Verdict, sanitize_mail};

fuzz_target!(|data: &[u8]| {
    let mut policy = Policy::default();
    // Attachments through the file engine too, so both paths are exercised.
    policy.mail.attachments = mamori_sanitize::policy::AttachmentMode::Sanitize;
    let o = sanitize_mail(data, &policy, &InProcess);
    assert_eq!(o.output.is_none(), o.report.verdict == Verdict::Blocked);
});
