#!/usr/bin/env bash
# mamori's test command: the whole workspace's tests on the embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
