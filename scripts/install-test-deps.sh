#!/usr/bin/env bash
# Installs what the full test run needs beyond the Rust toolchain, from Debian's packages:
# Chromium and ChromeDriver for the browser test, Python 3 (with its standard-library SMTP
# server, up to 3.11) for the loopback mail server of the reminder tests, LibreOffice without
# its GUI (writer, calc, impress) to prove that rebuilt office files still open. (clamd, for the optional live virus-scan
# tests, is installed by scripts/start-clamd.sh when asked for.)
# Idempotent and quiet when everything is present; needs root (or sudo) only to install.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
python3 -W ignore -c 'import smtpd' >/dev/null 2>&1 || missing+=(python3)
command -v soffice >/dev/null 2>&1 \
    || missing+=(libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "installing ${missing[*]}" >&2
apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
# A clean machine may have stale or no package lists: update once and retry.
apt_install 2>/dev/null || { "${sudo[@]}" apt-get update -q >/dev/null && apt_install; }
