//! `mamori netcheck`: checks a network description (TOML, or the web app's JSON) against the
//! three-zone rules, optionally with the firewall rulesets that implement it.
//!
//! Exit codes are a contract (ARCHITECTURE.md): 0 no violation, 1 violations, 2 invalid input or
//! usage, so a network team can gate its CI on it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mamori_netcheck::error::MAX_INPUT_BYTES;
use mamori_netcheck::firewall::{FirewallFormat, Ruleset, check_with_firewall, parse_ruleset};
use mamori_netcheck::{InputError, Network, parse_json, parse_toml, render_svg};

/// Output format of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Japanese text, one violation per paragraph.
    Text,
    /// The report as JSON.
    Json,
}

/// Syntax of firewall ruleset files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FirewallArg {
    /// `iptables-save` output (with `ipset save` lines if sets are used).
    Iptables,
    /// `nft -j list ruleset`.
    NftJson,
    /// CSV with source, destination, service, action columns.
    Csv,
}

/// Options of `mamori netcheck`.
#[derive(Debug, clap::Args)]
pub struct NetcheckArgs {
    /// Network description: TOML (see docs/netcheck.md), or JSON when the name ends in `.json`.
    pub file: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Firewall ruleset to check against the network (repeatable).
    #[arg(long = "firewall", value_name = "FILE")]
    pub firewall: Vec<PathBuf>,
    /// Syntax of the --firewall files; guessed from the extension when absent
    /// (`.json` nft-json, `.csv` csv, otherwise iptables).
    #[arg(long = "firewall-format", value_enum)]
    pub firewall_format: Option<FirewallArg>,
    /// Also write the network diagram (SVG, no script) to this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// Runs `mamori netcheck`.
pub fn run(args: NetcheckArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(clean) => ExitCode::from(if clean { 0 } else { 1 }),
        Err(message) => {
            eprintln!("mamori netcheck: 入力を使えません\n{message}");
            ExitCode::from(2)
        }
    }
}

fn run_inner(args: &NetcheckArgs) -> Result<bool, String> {
    let name = args.file.display().to_string();
    let text = read_text(&args.file)?;
    let network = if has_extension(&args.file, "json") {
        parse_json(&text, &name)
    } else {
        parse_toml(&text, &name)
    }
    .map_err(|e| e.to_string())?;

    let mut rulesets = Vec::new();
    for path in &args.firewall {
        rulesets.push(read_ruleset(path, args.firewall_format, &network)?);
    }
    let mut report = check_with_firewall_or_model(&network, &rulesets);
    if !has_extension(&args.file, "json") {
        mamori_netcheck::locate_violations(&text, &name, &network, &mut report);
    }

    if let Some(svg_path) = &args.svg {
        std::fs::write(svg_path, render_svg(&network, &report))
            .map_err(|e| format!("{}: 書き込めません: {e}", svg_path.display()))?;
    }
    match args.format {
        OutputFormat::Text => print!("{}", report.to_text()),
        OutputFormat::Json => println!("{}", report.to_json()),
    }
    Ok(report.is_clean())
}

fn check_with_firewall_or_model(
    network: &Network,
    rulesets: &[Ruleset],
) -> mamori_netcheck::Report {
    if rulesets.is_empty() {
        mamori_netcheck::check(network)
    } else {
        check_with_firewall(network, rulesets)
    }
}

fn read_ruleset(
    path: &Path,
    format: Option<FirewallArg>,
    network: &Network,
) -> Result<Ruleset, String> {
    let format = match format {
        Some(FirewallArg::Iptables) => FirewallFormat::Iptables,
        Some(FirewallArg::NftJson) => FirewallFormat::NftJson,
        Some(FirewallArg::Csv) => FirewallFormat::Csv,
        None if has_extension(path, "json") => FirewallFormat::NftJson,
        None if has_extension(path, "csv") => FirewallFormat::Csv,
        None => FirewallFormat::Iptables,
    };
    let text = read_text(path)?;
    parse_ruleset(&text, &path.display().to_string(), format, network)
        .map_err(|e: InputError| e.to_string())
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Reads a UTF-8 file, refusing oversized ones before reading them.
fn read_text(path: &Path) -> Result<String, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: 読めません: {e}"))?;
    if meta.len() > MAX_INPUT_BYTES as u64 {
        return Err(format!(
            "{shown}:1:1: ファイルが大きすぎます（{} バイト、上限 {MAX_INPUT_BYTES} バイト）",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: 読めません: {e}"))?;
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let valid =
            std::str::from_utf8(e.as_bytes().get(..off).unwrap_or_default()).unwrap_or_default();
        let loc = mamori_netcheck::Location::at(&shown.to_string(), valid, off);
        format!("{loc}: UTF-8 として読めません（バイト位置 {off}）")
    })
}
