#!/usr/bin/env bash
# Asset register benchmark (issue 3): 100,000 generated assets (examples/assets_bench.rs) in the
# register's xlsx columns, then, each in a fresh process of the release build:
#   - `mamori assets import` of the whole file into the demo organisation (wall time, peak RSS),
#   - `mamori assets export --format xlsx` of the 100,000 rows (wall time, peak RSS),
#   - 200 filtered list requests to the API, GET /api/v1/assets?unit=…&confidentiality=…&q=…,
#     and 200 to the page, GET /inventory?… (p50/p95 of each), after the first request of the
#     day and the rules re-checks a user may meet (each timed on its own),
# on the embedded SQLite database and, when a PostgreSQL server answers at 127.0.0.1:5432, on a
# fresh PostgreSQL database.
#
#   bench/assets/run.sh
#   ROWS=20000 BACKENDS=sqlite bench/assets/run.sh
#
# Targets (not tests): import of 100,000 rows < 10 s with peak RSS < 300 MB; export of 100,000
# rows < 5 s; filtered list API and page p95 < 50 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."

ROWS="${ROWS:-100000}"
REQUESTS="${REQUESTS:-200}"
PG_BASE="postgres://postgres@127.0.0.1:5432"

cargo build --release --quiet -p mamori --bin mamori --example assets_bench
target="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
pg_db=""
cleanup() {
    if [ -n "$pg_db" ]; then psql -X -q -d "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# timed NAME COMMAND...: runs a command under GNU time and prints its wall time and peak RSS.
timed() {
    local name="$1"; shift
    local out="$work/time.txt"
    /usr/bin/time -v -o "$out" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" || {
        cat "$work/stderr.txt" >&2; return 1; }
    local wall rss
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out")"
    rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$out")"
    echo "$name: wall $wall, peak RSS $rss MB — $(grep -m1 -E '反映しました|出力しました|変更なし' "$work/stdout.txt" || true)"
}

echo "mamori asset register benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $ROWS assets, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$target/examples/assets_bench" generate --rows "$ROWS" --out "$work/assets.xlsx" 2>/dev/null

# run_backend NAME DB-OPTIONS...
run_backend() {
    local name="$1"; shift
    "$target/examples/assets_bench" setup "$@" >/dev/null 2>&1
    timed "$name: import of $ROWS rows (xlsx)" "$target/mamori" assets import "$work/assets.xlsx" "$@"
    timed "$name: export of all rows (xlsx)" "$target/mamori" assets export --format xlsx -o "$work/export.xlsx" "$@"
    timed "$name: re-import of the export (plans no change)" "$target/mamori" assets import --dry-run "$work/export.xlsx" "$@"
    "$target/examples/assets_bench" list --requests "$REQUESTS" "$@" 2>/dev/null | sed "s/^/$name: /"
}

for backend in ${BACKENDS:-sqlite postgres}; do
    case "$backend" in
        sqlite)
            run_backend sqlite --data-dir "$work/sqlite"
            ;;
        postgres)
            if psql -X -q -w -d "$PG_BASE/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
                pg_db="mamori_bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
                psql -X -q -d "$PG_BASE/postgres" -c "CREATE DATABASE $pg_db" >/dev/null
                run_backend postgres --database-url "$PG_BASE/$pg_db"
                psql -X -q -d "$PG_BASE/postgres" -c "DROP DATABASE $pg_db WITH (FORCE)" >/dev/null
                pg_db=""
            else
                echo "postgres: skipped, no server at 127.0.0.1:5432"
            fi
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
