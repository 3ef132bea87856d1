#!/usr/bin/env bash
# Installs what is needed, builds, creates the demo store (var/crisismap.gpkg) and serves
# it on http://127.0.0.1:8080 (override with LISTEN=HOST:PORT, CONFIG=config/amman.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/web-vendor.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
CONFIG=${CONFIG:-config/crisismap.json}
STORE=${STORE:-var/$(basename "$CONFIG" .json).gpkg}
mkdir -p "$(dirname "$STORE")"
./build/crisismap demo --store "$STORE" --config "$CONFIG"
exec ./build/crisismap serve --config "$CONFIG" --store "$STORE" --listen "${LISTEN:-127.0.0.1:8080}"
