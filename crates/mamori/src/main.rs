//! The `mamori` binary: parses the command line and hands each subcommand to the crate that does it.

mod netcheck_cmd;
mod sanitize_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mamori (守り): 情報セキュリティポリシーを日々の業務で実現するための管理システム。
#[derive(Debug, Parser)]
#[command(name = "mamori", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 無害化: mail converted to text, files disarmed and rebuilt.
    Sanitize(sanitize_cmd::SanitizeArgs),
    /// Check a network description against the three-zone rules.
    Netcheck(netcheck_cmd::NetcheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Sanitize(args) => sanitize_cmd::run(args),
        Command::Netcheck(args) => netcheck_cmd::run(args),
    }
}
