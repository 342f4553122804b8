//! `mamori sanitize` end to end: exit codes, outputs and reports of the built binary.
