//! `mamori netcheck` end to end: exit codes and output of the built binary.
