//! mamori-core: the domain of a local government's information security policy, without I/O.
//!
//! Names follow the policy's own terms (see [`glossary`]), so a reader can map code to the
//! section of 基本方針 or 対策基準 it serves.

pub mod asset;
pub mod auditing;
pub mod calendar;
pub mod diff;
pub mod document;
pub mod glossary;
pub mod inspection;
pub mod org;
pub mod permission;
pub mod policy;
pub mod role;
pub mod standards;
pub mod task;
pub mod text;
pub mod zone;
