//! mamori-netcheck: proves that a network description keeps the three zones of 基本方針 §6(3)
//! apart — マイナンバー利用事務系, LGWAN接続系 and インターネット接続系 — and that real firewall
//! rules do not undo it.
//!
//! The pieces, in the order data flows through them:
//!
//! - [`model`]: the network (segments, hosts, gateways, outside places, flows), serde-shaped as
//!   the TOML file format;
//! - [`format`]: reading TOML / JSON with file, line and column on every error, and writing back;
//! - [`rules`]: the rules as data (built-in, plus an organisation's own);
//! - [`check()`]: the checker, producing a [`Report`];
//! - [`firewall`]: iptables-save, nftables JSON and CSV import, with shadowing;
//! - [`svg`]: a script-free SVG diagram of the network with violations marked.

pub mod addrmap;
mod check;
pub mod error;
pub mod firewall;
pub mod format;
pub mod index;
pub mod model;
pub mod report;
pub mod rules;
pub mod svg;
mod validate;

pub use check::{check, rules_for};
pub use error::{Diagnostic, InputError, Location};
pub use format::{locate_violations, parse_json, parse_toml, to_json, to_toml};
pub use model::Network;
pub use report::{Report, Violation};
pub use svg::render_svg;
pub use validate::Issue;
