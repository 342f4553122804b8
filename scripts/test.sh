#!/usr/bin/env bash
# mamori's one test command (README: テスト / Tests).
#
#  1. The whole workspace on the embedded SQLite database (`cargo test --workspace`).
#  2. The integration suite again on PostgreSQL when a server answers at 127.0.0.1:5432 (user
#     postgres); each test creates and drops its own UUID-named database. Skipped with a note
#     otherwise, a failure when MAMORI_REQUIRE_POSTGRES=1.
#
# Live services: chromedriver + Chromium for the browser test, used when installed (a failure
# when missing only if MAMORI_REQUIRE_BROWSER=1; installed below by scripts/install-test-deps.sh).
# clamd for the live virus-scan tests when MAMORI_TEST_CLAMD names one, or with
# MAMORI_WITH_CLAMD=1, which starts one with scripts/start-clamd.sh (installing it if needed).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="postgres://postgres@127.0.0.1:5432/postgres"

note() { echo "test.sh: $*" >&2; }

# What the tests need beyond the Rust toolchain (Chromium, ChromeDriver, Python 3, LibreOffice)
# is installed here when this runs as root or with password-less sudo; quick when all present.
if [ "$(id -u)" -eq 0 ] || sudo -n true >/dev/null 2>&1; then
    scripts/install-test-deps.sh \
        || note "some test dependencies could not be installed; the tests needing them say so"
else
    note "not root and no password-less sudo: run scripts/install-test-deps.sh once as root"
fi

if [ -z "${MAMORI_TEST_CLAMD:-}" ] && [ "${MAMORI_WITH_CLAMD:-}" = 1 ]; then
    MAMORI_TEST_CLAMD="$(scripts/start-clamd.sh)"
    export MAMORI_TEST_CLAMD
fi
if ! command -v chromedriver >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
    note "browser test skipped: chromedriver not installed"
fi

cargo test --workspace --no-fail-fast --quiet

postgres_answers() {
    if command -v psql >/dev/null 2>&1; then
        psql -X -q -w -d "$PG_URL" -c 'SELECT 1' >/dev/null 2>&1
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

if postgres_answers; then
    MAMORI_TEST_DATABASE_URL="$PG_URL" cargo test -p mamori --test it --no-fail-fast --quiet
elif [ "${MAMORI_REQUIRE_POSTGRES:-}" = 1 ]; then
    note "MAMORI_REQUIRE_POSTGRES=1 but no PostgreSQL server answers at 127.0.0.1:5432"
    exit 1
else
    note "PostgreSQL run skipped: no server at 127.0.0.1:5432"
fi
