#!/bin/sh
# Starts a clamd for mamori's tests: installs Debian's clamav-daemon when missing, writes a small
# signature database of its own (the EICAR test string; no download happens), and listens on
# loopback TCP. Prints the address (host:port) on stdout; export it as MAMORI_TEST_CLAMD.
#
#   export MAMORI_TEST_CLAMD="$(scripts/start-clamd.sh)"
#
# Environment: MAMORI_CLAMD_DIR (state directory, default /tmp/mamori-clamd),
#              MAMORI_CLAMD_PORT (default 3310).
set -eu

dir="${MAMORI_CLAMD_DIR:-/tmp/mamori-clamd}"
port="${MAMORI_CLAMD_PORT:-3310}"

if ! command -v clamd >/dev/null 2>&1 && [ ! -x /usr/sbin/clamd ]; then
    echo "clamd not found; installing clamav-daemon" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clamav-daemon >&2 \
        || { $SUDO apt-get update >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clamav-daemon >&2; }
fi
CLAMD="$(command -v clamd || echo /usr/sbin/clamd)"

mkdir -p "$dir/db"
# One hash-free body signature: name, target type 0 (any), offset *, hex of the EICAR string.
eicar_hex=$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' | od -An -tx1 | tr -d ' \n')
printf 'Mamori.Test.EICAR:0:*:%s\n' "$eicar_hex" > "$dir/db/mamori.ndb"

cat > "$dir/clamd.conf" <<CONF
DatabaseDirectory $dir/db
TCPSocket $port
TCPAddr 127.0.0.1
Foreground no
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
LogTime yes
StreamMaxLength 100M
MaxThreads 2
CONF
if [ "$(id -u)" -eq 0 ]; then
    # clamd drops to the clamav user when started as root; let it read the state directory.
    echo "User root" >> "$dir/clamd.conf"
fi

if [ -f "$dir/clamd.pid" ] && kill -0 "$(cat "$dir/clamd.pid")" 2>/dev/null; then
    :
else
    "$CLAMD" --config-file="$dir/clamd.conf" >&2
fi

# Wait until it answers PING.
i=0
while [ $i -lt 100 ]; do
    if printf 'zPING\0' | timeout 2 sh -c "exec 3<>/dev/tcp/127.0.0.1/$port 2>/dev/null && cat >&3 && timeout 1 cat <&3" 2>/dev/null | grep -q PONG; then
        echo "127.0.0.1:$port"
        exit 0
    fi
    # bash-less shells have no /dev/tcp; fall back to a python probe when present.
    if command -v python3 >/dev/null 2>&1 && python3 - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
s.sendall(b"zPING\0")
sys.exit(0 if s.recv(16).startswith(b"PONG") else 1)
PY
    then
        echo "127.0.0.1:$port"
        exit 0
    fi
    i=$((i + 1))
    sleep 0.2
done
echo "clamd did not answer on 127.0.0.1:$port; see $dir/clamd.log" >&2
exit 1
