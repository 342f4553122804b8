//! mamori's one integration-test binary: every end-to-end test lives in a module here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod access;
mod admin_cli;
mod api;
mod assets;
mod assets_io;
mod auditing;
mod auth;
mod bad_input;
mod browser;
mod catalogue;
mod common;
mod documents;
mod exceptions;
mod inspection;
mod isolation;
mod netcheck_cli;
mod network;
mod notify;
mod roster;
mod sanitize_cli;
mod support;
