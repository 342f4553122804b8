#!/usr/bin/env bash
# Server benchmark: `mamori serve --demo` (release build) under wrk, 64 connections, for
#   - GET /api/v1/persons?limit=50 with a personal API token (`mamori token create`), and
#   - GET / (the dashboard) with a session cookie from a password login (`somu`, no MFA),
# on the embedded SQLite database and, when a PostgreSQL server answers at 127.0.0.1:5432, on a
# fresh PostgreSQL database. Reports requests/s, p50/p99 latency, and the server's resident
# memory when idle after start and at its peak (VmHWM).
#
#   bench/server/run.sh                  # 30 s per endpoint
#   DURATION=10 bench/server/run.sh      # shorter
#   BACKENDS=sqlite bench/server/run.sh  # one backend only
#
# Targets (not tests): API ≥ 5,000 req/s with p99 < 20 ms on SQLite; idle RSS < 40 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=bench/server

DURATION="${DURATION:-30}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
PG_BASE="postgres://postgres@127.0.0.1:5432"

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null 2>&1 \
        || { "${sudo[@]}" apt-get update -q >/dev/null \
            && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
fi

cargo build --release --quiet -p mamori
bin="${CARGO_TARGET_DIR:-target}/release/mamori"

work="$(mktemp -d)"
server_pid=""
pg_db=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    if [ -n "$pg_db" ]; then psql -X -q -d "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# A password for this run only; never written anywhere but the temporary data directory.
MAMORI_DEMO_PASSWORD="Bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export MAMORI_DEMO_PASSWORD

kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$2/status"; }

# run_backend NAME [--database-url URL]
run_backend() {
    local name="$1"; shift
    local data="$work/$name"
    mkdir -p "$data"
    mkfifo "$data/out"
    MAMORI_LOG="${MAMORI_LOG:-info}" "$bin" serve --demo --listen 127.0.0.1:0 --data-dir "$data" "$@" \
        >"$data/out" 2>"$data/server.log" &
    server_pid=$!
    # The server prints its address once it listens; read its output until then.
    local base="" line
    exec 3<"$data/out"
    while IFS= read -r -t 120 line <&3; do
        if [[ "$line" == *"で待ち受けています"* ]]; then
            base="$(grep -o 'http://[0-9.:]*' <<<"$line" | head -n1)"
            break
        fi
    done
    cat <&3 >/dev/null &
    exec 3<&-
    [ -n "$base" ] || { echo "server did not start; see its log:" >&2; cat "$data/server.log" >&2; exit 1; }

    local idle_kib
    idle_kib="$(kib VmRSS "$server_pid")"

    local token
    token="$("$bin" token create --login ciso --name bench --data-dir "$data" "$@")"
    curl -fsS -o /dev/null -c "$data/jar" \
        --data-urlencode login=somu --data-urlencode "password=$MAMORI_DEMO_PASSWORD" "$base/login"
    local session
    session="$(awk '$6 == "mamori_session" {print $7}' "$data/jar")"
    [ -n "$session" ] || { echo "password login for somu gave no session" >&2; exit 1; }
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" "$base/api/v1/persons?limit=50"
    curl -fsS -o /dev/null -b "mamori_session=$session" "$base/"

    local api dash
    api="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/report.lua" \
        -H "Authorization: Bearer $token" "$base/api/v1/persons?limit=50" | grep '^RESULT')"
    dash="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$here/report.lua" \
        -H "Cookie: mamori_session=$session" "$base/" | grep '^RESULT')"
    local peak_kib
    peak_kib="$(kib VmHWM "$server_pid")"

    kill "$server_pid"; wait "$server_pid" || true; server_pid=""

    printf '%-9s GET /api/v1/persons?limit=50  %s\n' "$name" "${api#RESULT }"
    printf '%-9s GET / (dashboard)             %s\n' "$name" "${dash#RESULT }"
    awk -v n="$name" -v i="$idle_kib" -v p="$peak_kib" \
        'BEGIN { printf "%-9s RSS idle after start %.1f MiB, peak %.1f MiB\n", n, i / 1024, p / 1024 }'
}

echo "mamori server benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${CONNECTIONS} connections, ${DURATION} s each, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for backend in ${BACKENDS:-sqlite postgres}; do
    case "$backend" in
        sqlite) run_backend sqlite ;;
        postgres)
            if psql -X -q -w -d "$PG_BASE/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
                pg_db="mamori_bench_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
                psql -X -q -d "$PG_BASE/postgres" -c "CREATE DATABASE $pg_db" >/dev/null
                run_backend postgres --database-url "$PG_BASE/$pg_db"
                psql -X -q -d "$PG_BASE/postgres" -c "DROP DATABASE $pg_db WITH (FORCE)" >/dev/null
                pg_db=""
            else
                echo "postgres  skipped: no server at 127.0.0.1:5432"
            fi
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
done
