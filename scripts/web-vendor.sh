#!/usr/bin/env bash
# Installs the pages' npm packages (exact versions from web/package-lock.json) and copies
# what the pages load into web/vendor, which crisismap serves itself: the map needs no
# Internet except for base-map tiles.
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -d node_modules/leaflet ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
rm -rf vendor
mkdir -p vendor/leaflet vendor/geoman
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css vendor/leaflet/
cp -r node_modules/leaflet/dist/images vendor/leaflet/
cp node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js \
   node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css vendor/geoman/
echo "web-vendor: leaflet $(node -p "require('./node_modules/leaflet/package.json').version"), geoman $(node -p "require('./node_modules/@geoman-io/leaflet-geoman-free/package.json').version")"
