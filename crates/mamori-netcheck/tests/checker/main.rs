//! The checker end to end through the public API: the example network, planted faults, each
//! rule passing and failing, properties, and firewall imports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod example;
mod firewall;
mod properties;
mod rules;
mod svg;

use mamori_netcheck::{Network, Report, check, parse_toml};

/// The union's example network, as shipped.
pub fn example_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/kyonan-alpha.toml"
    ))
    .unwrap()
}

pub fn example() -> Network {
    parse_toml(&example_text(), "kyonan-alpha.toml").unwrap()
}

/// Parses and checks, panicking with the diagnostics on invalid input.
pub fn check_text(src: &str) -> Report {
    match parse_toml(src, "test.toml") {
        Ok(net) => check(&net),
        Err(e) => panic!("invalid test network:\n{e}"),
    }
}

/// The ids of the rules broken, sorted.
pub fn rule_ids(report: &Report) -> Vec<String> {
    report.violations.iter().map(|v| v.rule.clone()).collect()
}
