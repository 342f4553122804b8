#!/usr/bin/env bash
# mamori's one test command (README: テスト / Tests).
#
#  1. The whole workspace on the embedded SQLite database (`cargo test --workspace`).
#  2. The integration suite again on PostgreSQL when a server answers at 127.0.0.1:5432 (user
#     postgres); each test creates and drops its own UUID-named database. Skipped with a note
#     otherwise, a failure when MAMORI_REQUIRE_POSTGRES=1.
#
# Live services used when present: clamd (started with scripts/start-clamd.sh when installed,
# or named by MAMORI_TEST_CLAMD) and chromedriver + Chromium for the browser test (a failure
# when missing only if MAMORI_REQUIRE_BROWSER=1). scripts/install-test-deps.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="postgres://postgres@127.0.0.1:5432/postgres"

note() { echo "test.sh: $*" >&2; }

if [ -z "${MAMORI_TEST_CLAMD:-}" ]; then
    if command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ]; then
        MAMORI_TEST_CLAMD="$(scripts/start-clamd.sh)"
        export MAMORI_TEST_CLAMD
    else
        note "live clamd tests skipped: clamd not installed"
    fi
fi
if ! command -v chromedriver >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
    note "browser test skipped: chromedriver not installed"
fi

cargo test --workspace --quiet

postgres_answers() {
    if command -v psql >/dev/null 2>&1; then
        psql -X -q -w -d "$PG_URL" -c 'SELECT 1' >/dev/null 2>&1
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

if postgres_answers; then
    MAMORI_TEST_DATABASE_URL="$PG_URL" cargo test -p mamori --test it --quiet
elif [ "${MAMORI_REQUIRE_POSTGRES:-}" = 1 ]; then
    note "MAMORI_REQUIRE_POSTGRES=1 but no PostgreSQL server answers at 127.0.0.1:5432"
    exit 1
else
    note "PostgreSQL run skipped: no server at 127.0.0.1:5432"
fi
