#!/usr/bin/env bash
# Self-inspection benchmark (issue 6): a campaign of 5,000 respondents × 150 questions
# (750,000 answers, examples/inspection_bench.rs), then, with a logged-in CISO on the served
# application (release build, in-process server on a loopback port):
#   - the roll-up page /inspections/{id}/rollup and the roll-up API (p50/p95/max wall time and
#     the process's CPU time per request),
#   - the xlsx export of all 750,000 answers and of the roll-up,
# on the embedded SQLite database and, when a PostgreSQL server answers at 127.0.0.1:5432, on a
# fresh PostgreSQL database.
#
#   bench/inspection/run.sh
#   RESPONDENTS=1000 QUESTIONS=50 BACKENDS=sqlite bench/inspection/run.sh
#
# Targets (not tests): roll-up page < 200 ms; answers export < 5 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

RESPONDENTS="${RESPONDENTS:-5000}"
QUESTIONS="${QUESTIONS:-150}"
REQUESTS="${REQUESTS:-20}"
EXPORTS="${EXPORTS:-3}"
PG_BASE="postgres://postgres@127.0.0.1:5432"

cargo build --release --quiet -p mamori --example inspection_bench
bench="${CARGO_TARGET_DIR:-target}/release/examples/inspection_bench"

work="$(mktemp -d)"
pg_db=""
cleanup() {
    if [ -n "$pg_db" ]; then psql -X -q -d "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "mamori self-inspection benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $RESPONDENTS respondents × $QUESTIONS questions, load average $(cut -d' ' -f1-3 /proc/loadavg)"

run_backend() {
    local name="$1"; shift
    "$bench" fill --respondents "$RESPONDENTS" --questions "$QUESTIONS" "$@" 2>/dev/null | sed "s/^/$name: /"
    "$bench" time --requests "$REQUESTS" --exports "$EXPORTS" "$@" 2>/dev/null | sed "s/^/$name: /"
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
