//! The engine end to end: every construct and file type with inputs built here, and for every
//! `sanitized` output a re-parse that shows the construct is gone. Also replays the fuzz corpora.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod build;
mod files;
mod mail;
mod replay;
