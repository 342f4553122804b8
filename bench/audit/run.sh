#!/usr/bin/env bash
# Audit-trail benchmark: fills a fresh SQLite database with ENTRIES audit entries (default
# 1,000,000) through `mamori_db::audit::append` (examples/audit_fill.rs), then times
# `mamori audit verify` over the whole chain in a fresh process. With BACKENDS="sqlite postgres"
# the same runs on a fresh PostgreSQL database at 127.0.0.1:5432 too.
#
#   bench/audit/run.sh
#   ENTRIES=100000 bench/audit/run.sh
#
# Target (not a test): verify 1M entries < 5 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

ENTRIES="${ENTRIES:-1000000}"
PG_BASE="postgres://postgres@127.0.0.1:5432"

cargo build --release --quiet -p mamori --bin mamori --example audit_fill
target="${CARGO_TARGET_DIR:-target}/release"

work="$(mktemp -d)"
pg_db=""
cleanup() {
    if [ -n "$pg_db" ]; then psql -X -q -d "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# run_backend NAME DB-OPTIONS...
run_backend() {
    local name="$1"; shift
    local fill verify
    fill="$("$target/examples/audit_fill" --entries "$ENTRIES" "$@")"
    # Wall time of the whole process (start, open, verify, exit); GNU time is not everywhere.
    local start=$EPOCHREALTIME
    verify="$("$target/mamori" audit verify "$@" 2>/dev/null)"
    local wall
    wall="$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
    echo "$name: fill: $fill"
    echo "$name: verify: $verify — process wall time $wall s"
}

echo "mamori audit benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $ENTRIES entries, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in ${BACKENDS:-sqlite}; do
    case "$backend" in
        sqlite)
            run_backend sqlite --data-dir "$work/sqlite"
            echo "sqlite: database file $(du -m "$work/sqlite/mamori.db" | cut -f1) MB"
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
