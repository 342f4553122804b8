//! mamori's one integration-test binary: every end-to-end test lives in a module here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod admin_cli;
mod auth;
mod common;
mod netcheck_cli;
mod network;
mod sanitize_cli;
