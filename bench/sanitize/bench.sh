#!/bin/sh
# Benchmark of `mamori sanitize mail` against the Python standard-library baseline.
#   bench/sanitize/bench.sh [CORPUS_DIR] [COUNT]
# Builds the release binary, generates the corpus (deterministic) and prints the figures.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
corpus="${1:-/tmp/mamori-sanitize-corpus}"
count="${2:-200}"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -p mamori >&2)
rm -rf "$corpus"
python3 "$here/gen_corpus.py" "$corpus" --count "$count"
python3 "$here/bench.py" "$target/release/mamori" "$corpus" --repeat "${REPEAT:-1}"
