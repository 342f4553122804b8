#!/bin/sh
# netcheck benchmark: 10,000 hosts / 1,000 segments / 100,000 flows and 100,000 iptables rules,
# checked single-threaded. Prints timings and peak RSS, then times the CLI on the same files
# with /usr/bin/time -v when it is installed.
#
#   bench/netcheck/run.sh            (from the repository root)
set -eu
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/mamori-netcheck-bench"
cargo run --quiet --release -p mamori-netcheck --example netcheck_bench -- --write "$out"
# The same work as `mamori netcheck` in a fresh process, so peak RSS is the check's own.
cargo run --quiet --release -p mamori-netcheck --example netcheck_bench -- --check "$out"
if [ -x /usr/bin/time ] && [ "${SKIP_CLI:-}" = "" ]; then
    cargo build --quiet --release -p mamori
    bin="${CARGO_TARGET_DIR:-target}/release/mamori"
    echo "CLI: mamori netcheck network.toml --firewall firewall.rules --format json"
    /usr/bin/time -v "$bin" netcheck "$out/network.toml" --firewall "$out/firewall.rules" --format json \
        >/dev/null 2>"$out/time.txt" || true
    grep -E "Elapsed|Maximum resident" "$out/time.txt"
fi
