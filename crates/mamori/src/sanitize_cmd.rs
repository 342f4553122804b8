//! `mamori sanitize`: the 無害化 engine's command line (owned by the sanitize work; replace freely).

use std::process::ExitCode;

/// Options of `mamori sanitize`.
#[derive(Debug, clap::Args)]
pub struct SanitizeArgs {}

/// Runs `mamori sanitize`.
pub fn run(_args: SanitizeArgs) -> ExitCode {
    eprintln!("mamori sanitize: not built yet");
    ExitCode::from(2)
}
