//! mamori's 無害化 engine (policy §2(12), §6(3)②): anything crossing from the internet zone into
//! LGWAN is made harmless. Mail is converted to text with attachments removed or sanitised; files
//! are disarmed and rebuilt. Bytes in, bytes and a [`Report`] out; the engine itself does no
//! network I/O except the optional clamd scan, which the caller enables in the policy.
//!
//! Entry points:
//! - [`sanitize_mail`] — one RFC 5322 message in, one text message for LGWAN out;
//! - [`sanitize_file`] — one file in, a rebuilt file out (or blocked);
//! - [`isolate::ChildProcess`] — a [`FileSanitizer`] that runs each file in a limited child process.

pub mod charset;
pub mod clamd;
pub mod detect;
mod file;
pub mod html;
pub mod isolate;
pub mod links;
pub mod mail;
pub mod policy;
pub mod report;

pub use mail::sanitize_mail;
pub use policy::{Policy, Rule};
pub use report::{Action, ActionKind, Digest, Outcome, Report, Verdict};

/// Sanitises one file in this process. `name` (the attachment or entry name) is used only to flag
/// mismatches and dangerous extensions; the type is decided by content. A panic inside a parser
/// is caught and turned into `blocked`; for stack overflows and hangs use
/// [`isolate::ChildProcess`].
pub fn sanitize_file(input: &[u8], name: Option<&str>, policy: &Policy) -> Outcome {
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        file::sanitize_file(input, name, policy)
    }));
    run.unwrap_or_else(|_| {
        Outcome::blocked(
            input,
            "unknown",
            "",
            "internal.parser-panic",
            "解析中に内部エラーが発生したため遮断しました。".to_owned(),
        )
    })
}

/// Something that sanitises files: in this process, or in a child process with limits.
pub trait FileSanitizer {
    /// Sanitises one file; must fail closed (any error gives `blocked`).
    fn sanitize(&self, input: &[u8], name: Option<&str>, policy: &Policy) -> Outcome;
}

/// Runs the file engine in the calling process.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl FileSanitizer for InProcess {
    fn sanitize(&self, input: &[u8], name: Option<&str>, policy: &Policy) -> Outcome {
        sanitize_file(input, name, policy)
    }
}
