#!/bin/bash
# Install the Debian packages the read benchmark needs (idempotent; waits for a busy dpkg lock).
# Build dependencies of crisismap itself (cmake, libmicrohttpd-dev, libgdal-dev, libjansson-dev) are
# installed too, so that run.sh can build the binary when CRISISMAP is not given.
set -eu
W=${TMPDIR:-/tmp}/crisismap-bench
mkdir -p "$W"
LOG=$W/apt.log
PKGS="wrk spawn-fcgi mapserver-bin cgi-mapserver gdal-bin python3 curl ca-certificates gzip procps
      cmake make gcc pkg-config libmicrohttpd-dev libgdal-dev libsqlite3-dev libjansson-dev"
[ "${SKIP_BUILD_DEPS:-0}" = 1 ] && PKGS="wrk spawn-fcgi mapserver-bin cgi-mapserver gdal-bin python3 curl gzip procps"
missing=""
for p in $PKGS; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# any Debian nginx flavour with gzip_static will do (nginx, nginx-light, nginx-core, nginx-full, ...)
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then missing="$missing nginx"; fi
[ -z "$missing" ] && { echo "setup: packages present"; exit 0; }
echo "setup: installing:$missing"
updated=0
for attempt in $(seq 1 90); do
    if DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >"$LOG" 2>&1; then
        echo "setup: installed"; exit 0
    fi
    if grep -q "Could not get lock\|Unable to acquire\|is another process using it" "$LOG"; then
        [ $((attempt % 6)) = 1 ] && echo "setup: dpkg lock busy, waiting"
        sleep 10; continue
    fi
    if [ $updated = 0 ] && grep -q "Unable to locate package\|has no installation candidate\|Failed to fetch\|404" "$LOG"; then
        updated=1; apt-get update >"$W/apt-update.log" 2>&1 || true; continue
    fi
    tail -20 "$LOG"; exit 1
done
echo "setup: dpkg lock stayed busy"; exit 1
