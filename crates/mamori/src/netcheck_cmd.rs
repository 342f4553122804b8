//! `mamori netcheck`: the three-zone separation checker's command line (owned by the netcheck work; replace freely).

use std::process::ExitCode;

/// Options of `mamori netcheck`.
#[derive(Debug, clap::Args)]
pub struct NetcheckArgs {}

/// Runs `mamori netcheck`.
pub fn run(_args: NetcheckArgs) -> ExitCode {
    eprintln!("mamori netcheck: not built yet");
    ExitCode::from(2)
}
