#!/usr/bin/env bash
# Installs every Debian 12 package crisismap needs to build and run (and, with --test, to
# run the tests: Chromium for the browser tests). Idempotent; waits while another apt/dpkg
# holds the lock. Run as root.
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libmicrohttpd-dev libgdal-dev libsqlite3-dev gdal-bin libproj-dev proj-data libjansson-dev zlib1g-dev
      python3 curl ca-certificates openssl)
[ "${1:-}" = "--test" ] && PKGS+=(chromium)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Node.js and npm for the pages' libraries: any installed ones will do (the machine may have
# them from another source than Debian's packages).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then echo "install-deps: all packages present"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "install-deps: missing ${missing[*]}; run as root (or with sudo)" >&2; exit 1; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
for attempt in $(seq 1 60); do
    if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/crisismap-apt.log 2>&1; then
        echo "install-deps: done"; exit 0
    fi
    if grep -q "Could not get lock\|Unable to acquire" /tmp/crisismap-apt.log; then sleep 5; continue; fi
    tail -20 /tmp/crisismap-apt.log >&2; exit 1
done
echo "install-deps: the dpkg lock stayed busy" >&2; exit 1
