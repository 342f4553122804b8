//! One module per feature, each exposing its `router()`.

pub mod account;
pub mod api;
pub mod assets;
pub mod audit;
pub mod auditing;
pub mod catalogue;
pub mod dashboard;
pub mod documents;
pub mod exceptions;
pub mod health;
pub mod inspection;
pub mod inventory;
pub mod login;
pub mod network;
pub mod notifications;
pub mod org;
pub mod policy;
pub mod roster;
