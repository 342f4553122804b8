//! mamori (守り): the command line that wires the crates together — the server, the
//! administration commands, the demo organisation and the enforcement tools.

pub mod admin;
pub mod assets_cmd;
pub mod cli;
pub mod demo;
pub mod demo_assets;
pub mod demo_auditing;
pub mod demo_catalogue;
pub mod demo_documents;
pub mod demo_inspection;
pub mod netcheck_cmd;
pub mod remind_cmd;
pub mod roster_cmd;
pub mod sanitize_cmd;
pub mod startup;
