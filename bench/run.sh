#!/bin/bash
# crisismap read benchmark: the one entry point. See bench/README.md.
#
#   bench/run.sh                         full run (10 s per measurement, ~5 min with the build)
#   QUICK=1 bench/run.sh                 smoke run (3 s per measurement, ~2-3 min)
#   CRISISMAP=/path/to/crisismap ...     use that binary instead of building one (Release) under the work dir
#   D=20 WARM=3 ...                      seconds per measurement / unrecorded warm-up per measurement
#   CMAKE_ARGS="-D..." ...               extra cmake configure arguments for that build
#   SKIP_SETUP=1 ...                     do not check/install the Debian packages
#   KEEP_SERVERS=1 ...                   leave crisismap, nginx and mapserv running (pids in the work dir)
#   MS_WORKERS=4 NGINX_WORKERS=2         mapserv FastCGI processes / nginx workers (the peers' setup)
#
# Work dir: ${TMPDIR:-/tmp}/crisismap-bench (build/, data/, store/, static/, mapserver/, run/,
# results-<stamp>.txt, log-<stamp>.txt). Every server binds 127.0.0.1 only; every load is bounded by wrk -d;
# every server this script started is stopped on exit (also on failure or Ctrl-C).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
W=${TMPDIR:-/tmp}/crisismap-bench
PY=${PY:-python3}
if [ "${QUICK:-0}" = 1 ]; then D=${D:-3}; WARM=${WARM:-1}; MODE="QUICK (${D} s per measurement)"
else D=${D:-10}; WARM=${WARM:-2}; MODE="full (${D} s per measurement)"; fi
MS_WORKERS=${MS_WORKERS:-4}
NGINX_WORKERS=${NGINX_WORKERS:-2}
C_SMALL=50; C_LARGE=8; THREADS=2
STAMP=$(date +%Y%m%d-%H%M%S)

DATA=$W/data; STORE_DIR=$W/store; STORE=$STORE_DIR/crisismap.gpkg; STATIC=$W/static
MSDIR=$W/mapserver; MSGPKG=$MSDIR/store-ms.gpkg; RUN=$W/run; PATHS=$RUN/paths
RESULTS=$W/results-$STAMP.txt; LOG=$W/log-$STAMP.txt
CONF=$HERE/config/crisismap.json
API=/api/collections/services/items
MSAPI=/ms/bench/ogcapi/collections/services/items
LAYERS="services closures blocked_areas"

mkdir -p "$W"; chmod 755 "$W"
exec > >(trap '' INT TERM HUP; exec tee -a "$LOG") 2>&1   # tee outlives Ctrl-C: the cleanup is logged too

T_START=$(date +%s)
say() { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - T_START ))" "$*"; }
die() { echo "run.sh: $*" >&2; exit 1; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
if [ "$(id -u)" = 0 ]; then AS_ROOT=1; SRV_USER=www-data; else AS_ROOT=0; SRV_USER=$(id -un); fi

# ---------------------------------------------------------------- stop what we started (by pid only)
CM_PID=""
stop_pidfile_procs() {  # file expected-comm: TERM then KILL the listed pids whose comm matches
    local f=$1 comm=$2 p
    [ -f "$f" ] || return 0
    for p in $(cat "$f"); do
        alive "$p" && grep -q "$comm" "/proc/$p/comm" 2>/dev/null && kill -TERM "$p" 2>/dev/null || true
    done
    for _ in $(seq 30); do
        local any=0; for p in $(cat "$f"); do alive "$p" && grep -q "$comm" "/proc/$p/comm" 2>/dev/null && any=1; done
        [ $any = 0 ] && break; sleep 0.1
    done
    for p in $(cat "$f"); do alive "$p" && grep -q "$comm" "/proc/$p/comm" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true; done
    rm -f "$f"
}
stop_servers() {
    if [ -f "$RUN/nginx.pid" ]; then
        local p; p=$(cat "$RUN/nginx.pid")
        if alive "$p" && grep -q nginx "/proc/$p/comm" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true      # fast shutdown: do not wait for in-flight MapServer requests
            for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
            alive "$p" && kill -KILL "$p" 2>/dev/null || true
        fi
        rm -f "$RUN/nginx.pid"
    fi
    stop_pidfile_procs "$RUN/mapserv.pid" mapserv
    stop_pidfile_procs "$RUN/crisismap.pid" crisismap
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ "${KEEP_SERVERS:-0}" = 1 ]; then
        echo "KEEP_SERVERS=1: servers left running; pid files in $RUN (crisismap.pid nginx.pid mapserv.pid)"
    else
        stop_servers
        echo "servers stopped"
    fi
    [ $rc = 0 ] || echo "run.sh FAILED (exit $rc); log: $LOG"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# servers left over by an earlier run that was killed hard
stop_servers
rm -rf "$RUN"; mkdir -p "$RUN" "$PATHS" "$DATA" "$STORE_DIR" "$MSDIR"
chmod 755 "$RUN" "$MSDIR"

echo "crisismap read benchmark, $MODE, stamp $STAMP, work dir $W"

# ---------------------------------------------------------------- 1. packages
if [ "${SKIP_SETUP:-0}" != 1 ]; then
    say "setup (Debian packages)"
    if [ -n "${CRISISMAP:-}" ]; then SKIP_BUILD_DEPS=1 "$HERE/setup.sh"; else "$HERE/setup.sh"; fi
fi
for c in wrk nginx spawn-fcgi mapserv ogrinfo curl "$PY"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || die "missing $c (run bench/setup.sh)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---------------------------------------------------------------- 2. crisismap binary
if [ -n "${CRISISMAP:-}" ]; then
    BIN=$(readlink -f "$CRISISMAP"); [ -x "$BIN" ] || die "CRISISMAP=$CRISISMAP is not an executable"
    echo "using CRISISMAP=$BIN"
else
    say "build crisismap (Release) in $W/build"
    t0=$(now)
    # CMAKE_ARGS: extra configure arguments, e.g. CMAKE_ARGS="-DCMAKE_C_FLAGS=-Wno-error=maybe-uninitialized"
    # shellcheck disable=SC2086
    if ! { cmake -S "$REPO" -B "$W/build" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} && cmake --build "$W/build" -j2; } >"$W/build.log" 2>&1; then
        tail -30 "$W/build.log"; die "build failed (full log: $W/build.log)"
    fi
    BIN=$(find "$W/build" -maxdepth 3 -type f -name crisismap -perm -u+x | head -1)
    [ -n "$BIN" ] || die "no crisismap executable under $W/build"
    echo "built $BIN in $(secs "$t0" "$(now)") s"
fi

# ---------------------------------------------------------------- 3. data
say "data (deterministic, seeded)"
"$PY" "$HERE/gen_data.py" "$DATA"

# ---------------------------------------------------------------- 4. import into a fresh store
say "import into $STORE"
rm -f "$STORE" "$STORE-wal" "$STORE-shm" "$STORE-journal"
IMPORT_EXTRA=()
if "$BIN" import --help 2>&1 | grep -q -- '--config'; then IMPORT_EXTRA=(--config "$CONF"); fi
IMPORTS_JSON="["
for L in $LAYERS; do
    t0=$(now)
    if ! "$BIN" import "${IMPORT_EXTRA[@]}" --store "$STORE" --layer "$L" "$DATA/$L.geojson" >"$RUN/import-$L.log" 2>&1; then
        tail -20 "$RUN/import-$L.log"
        die "import of $L failed: $BIN import ${IMPORT_EXTRA[*]} --store $STORE --layer $L $DATA/$L.geojson"
    fi
    dt=$(secs "$t0" "$(now)")
    n=$("$PY" -c 'import sqlite3,sys; c=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True); print(c.execute("SELECT count(*) FROM \"%s\"" % sys.argv[2]).fetchone()[0])' "$STORE" "$L")
    echo "import $L: $n features in $dt s"
    [ "$IMPORTS_JSON" = "[" ] || IMPORTS_JSON="$IMPORTS_JSON,"
    IMPORTS_JSON="$IMPORTS_JSON{\"layer\":\"$L\",\"features\":$n,\"seconds\":$dt}"
done
IMPORTS_JSON="$IMPORTS_JSON]"
STORE_BYTES=$(stat -c %s "$STORE")
[ "$(echo "$IMPORTS_JSON" | grep -o '"services","features":[0-9]*' | grep -o '[0-9]*$')" = 100000 ] \
    || echo "WARNING: services layer does not hold 100000 features"

# MapServer 8.0 cannot expose the GeoPackage FID as the id of items responses ("Feature id not found"
# for every items request with gml_featureid "fid"): it gets a copy of the store with an indexed uid = fid.
say "MapServer copy of the store with an indexed uid column"
"$PY" - "$STORE" "$MSGPKG" <<'EOF'
import sqlite3, sys, os
for suf in ("", "-wal", "-shm", "-journal"):
    if os.path.exists(sys.argv[2] + suf): os.remove(sys.argv[2] + suf)
src = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True); dst = sqlite3.connect(sys.argv[2])
src.backup(dst); dst.execute("PRAGMA journal_mode=DELETE"); dst.commit(); dst.close(); src.close()
EOF
for L in $LAYERS; do   # via GDAL: its SQLite connection has the ST_* functions the GeoPackage triggers use
    ogrinfo -q "$MSGPKG" -sql "ALTER TABLE \"$L\" ADD COLUMN uid INTEGER" >/dev/null
    ogrinfo -q "$MSGPKG" -sql "UPDATE \"$L\" SET uid = fid" >/dev/null
    ogrinfo -q "$MSGPKG" -sql "CREATE UNIQUE INDEX \"${L}_uid\" ON \"$L\"(uid)" >/dev/null
done
chmod 644 "$MSGPKG"
echo "MapServer store: $MSGPKG ($(stat -c %s "$MSGPKG") bytes; same tables and rows as $STORE, plus uid = fid)"

# ---------------------------------------------------------------- 5. crisismap
say "start crisismap (port 0)"
"$PY" "$HERE/start_crisismap.py" --bin "$BIN" --config "$CONF" --store "$STORE" \
    --log "$RUN/crisismap.log" --out "$RUN/startup.json" || { tail -20 "$RUN/crisismap.log" 2>/dev/null; die "crisismap did not start"; }
CM_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$RUN/startup.json")
CM_PORT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$RUN/startup.json")
echo "$CM_PID" > "$RUN/crisismap.pid"
CM=http://127.0.0.1:$CM_PORT
echo "healthz: $(curl -s "$CM/healthz" | head -c 300)"

# ---------------------------------------------------------------- 6. request lists
say "request lists"
"$PY" "$HERE/make_paths.py" --store "$STORE" --services "$DATA/services.geojson" --out "$PATHS" --ms-prefix /ms/bench/ogcapi

# ---------------------------------------------------------------- 7. static copies of crisismap's responses
say "static files for nginx: the bytes crisismap returns"
rm -rf "$STATIC"; mkdir -p "$STATIC/bbox"; chmod 755 "$STATIC" "$STATIC/bbox"
code() { curl -s -o "$2" -w '%{http_code}' "${@:3}" "$1"; }
TINY_ID=$(head -1 "$PATHS/ids.txt")
[ "$(code "$CM$API/$TINY_ID" "$STATIC/tiny.json")" = 200 ] || die "GET $API/$TINY_ID did not return 200"
echo "tiny.json: feature $TINY_ID, $(stat -c %s "$STATIC/tiny.json") bytes"
"$PY" - "$CM" "$PATHS/cm_bbox.txt" "$STATIC/bbox" > "$RUN/bbox.curl" <<'EOF'
import sys
for i, p in enumerate(open(sys.argv[2]).read().split()):
    print('url = "%s%s"\noutput = "%s/%04d.json"' % (sys.argv[1], p, sys.argv[3], i))
EOF
curl -s -K "$RUN/bbox.curl" -w '%{http_code}\n' > "$RUN/bbox.codes"
bad=$(grep -vc '^200$' "$RUN/bbox.codes" || true)
[ "$bad" = 0 ] || die "$bad of the bbox requests did not return 200 (e.g. $(grep -nv '^200$' "$RUN/bbox.codes" | head -1))"
"$PY" - "$STATIC/bbox" <<'EOF'
import json, os, sys, statistics
d = sys.argv[1]; n = []; s = []
for f in sorted(os.listdir(d)):
    b = open(os.path.join(d, f), "rb").read(); s.append(len(b)); n.append(len(json.loads(b)["features"]))
print("bbox/: %d responses, features per response min %d median %d max %d, bytes median %d" % (len(n), min(n), statistics.median(n), max(n), statistics.median(s)))
EOF
[ "$(code "$CM$API?limit=100000" "$STATIC/services_all.geojson")" = 200 ] || die "GET $API?limit=100000 did not return 200"
NALL=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$STATIC/services_all.geojson")
echo "services_all.geojson: $NALL features, $(stat -c %s "$STATIC/services_all.geojson") bytes"
[ "$NALL" = 100000 ] || echo "WARNING: the whole-layer response holds $NALL features, not 100000"
GZ_NOTE=""
c=$(curl -s -o "$RUN/all.gz" -D "$RUN/all.gz.headers" -w '%{http_code}' -H 'Accept-Encoding: gzip' "$CM$API?limit=100000")
[ "$c" = 200 ] || die "GET $API?limit=100000 with Accept-Encoding: gzip returned $c"
if grep -qi '^content-encoding: *gzip' "$RUN/all.gz.headers" && gzip -dc "$RUN/all.gz" | cmp -s - "$STATIC/services_all.geojson"; then
    mv "$RUN/all.gz" "$STATIC/services_all.geojson.gz"
    GZ_NOTE="services_all.geojson.gz for nginx gzip_static = crisismap's own gzip response bytes ($(stat -c %s "$STATIC/services_all.geojson.gz") bytes)"
else
    gzip -6 -n -c "$STATIC/services_all.geojson" > "$STATIC/services_all.geojson.gz"
    GZ_NOTE="crisismap did not answer a gzip body decompressing to its plain response; nginx gzip_static serves gzip -6 of the plain bytes ($(stat -c %s "$STATIC/services_all.geojson.gz") bytes)"
    echo "WARNING: $GZ_NOTE"
fi
echo "$GZ_NOTE"
chmod -R a+rX "$STATIC"

# ---------------------------------------------------------------- 8. nginx + MapServer (FastCGI)
say "start nginx (static + MapServer proxy) and $MS_WORKERS mapserv FastCGI processes"
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NG=http://127.0.0.1:$PORT
if [ $AS_ROOT = 1 ]; then
    USER_LINE="user www-data;"
    for f in "$STATIC/tiny.json" "$MSGPKG" "$RUN"; do
        runuser -u www-data -- test -r "$f" || die "www-data cannot read $f (a parent directory of $W is not world-searchable; use another TMPDIR)"
    done
else
    USER_LINE="# (not root: workers run as $(id -un))"
fi
mkdir -p "$RUN"/nginx-{body,proxy,fcgi,uwsgi,scgi}
render() { sed -e "s#@RUN@#$RUN#g" -e "s#@STATIC@#$STATIC#g" -e "s#@PORT@#$PORT#g" \
               -e "s#@NGINX_WORKERS@#$NGINX_WORKERS#g" -e "s#@USER_LINE@#$USER_LINE#g" "$HERE/conf/$1.in" > "$RUN/$1"; }
render nginx.conf; render mapserver.conf
ms_layer() {  # name type
cat <<EOF
  LAYER
    NAME "$1"
    TYPE $2
    STATUS ON
    CONNECTIONTYPE OGR
    PROCESSING "CLOSE_CONNECTION=DEFER"   # keep the GeoPackage open across FastCGI requests (standard tuning)
    CONNECTION "$MSGPKG"
    DATA "$1"
    PROJECTION "init=epsg:4326" END
    METADATA
      "ows_title" "$1"
      "gml_include_items" "all"
      "gml_featureid" "uid"
      "gml_types" "auto"
    END
    TEMPLATE "VOID"
  END
EOF
}
{ ms_layer services POINT; ms_layer closures LINE; ms_layer blocked_areas POLYGON; } > "$RUN/layers.map.part"
"$PY" - "$HERE/conf/bench.map.in" "$RUN/bench.map" "$RUN/layers.map.part" "$PORT" <<'EOF'
import sys
t = open(sys.argv[1]).read().replace("@LAYERS@", open(sys.argv[3]).read().rstrip("\n")).replace("@PORT@", sys.argv[4])
open(sys.argv[2], "w").write(t)
EOF
touch "$RUN/mapserver-error.log"
[ $AS_ROOT = 1 ] && chown www-data "$RUN/mapserver-error.log"
SPAWN_USER=(); [ $AS_ROOT = 1 ] && SPAWN_USER=(-u www-data -g www-data -U www-data -G www-data)
MAPSERVER_CONFIG_FILE=$RUN/mapserver.conf spawn-fcgi -s "$RUN/mapserv.sock" -M 0600 "${SPAWN_USER[@]}" \
    -F "$MS_WORKERS" -P "$RUN/mapserv.pid" -d "$RUN" -- "$(command -v mapserv)" >/dev/null
"$NGINX" -t -q -p "$RUN" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf" || die "nginx config test failed"
"$NGINX" -p "$RUN" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf"
for _ in $(seq 100); do [ -s "$RUN/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
NG_PID=$(cat "$RUN/nginx.pid")
MS_PIDS=$(tr '\n' ',' < "$RUN/mapserv.pid" | sed 's/,$//')
echo "nginx master $NG_PID on $NG; mapserv pids $MS_PIDS"

# ---------------------------------------------------------------- 9. preflight: every target answers 200
say "preflight (curl: status, bytes)"
check() {  # label url [curl args]
    local out c
    rm -f "$RUN/preflight.body"
    out=$(curl -sS -o "$RUN/preflight.body" -w '%{http_code} %{size_download}' --max-time 120 "${@:3}" "$2" 2>"$RUN/preflight.err") || true
    c=${out%% *}
    printf '  %-28s %s  %s bytes  %s\n' "$1" "$c" "${out#* }" "$2"
    [ "$c" = 200 ] || die "$1: $2 returned $c ($(cat "$RUN/preflight.err") $(head -c 300 "$RUN/preflight.body" 2>/dev/null))"
}
fcount() { "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["features"]) if "features" in d else d.get("type"))' "$RUN/preflight.body"; }
check "id crisismap" "$CM$(head -1 "$PATHS/cm_id.txt")"
check "id nginx" "$NG/plain/tiny.json"; cmp -s "$RUN/preflight.body" "$STATIC/tiny.json" || die "nginx tiny.json differs"
check "id mapserver" "$NG$(head -1 "$PATHS/ms_id.txt")"
check "bbox crisismap" "$CM$(head -1 "$PATHS/cm_bbox.txt")"; echo "    features: $(fcount)"
check "bbox nginx" "$NG$(head -1 "$PATHS/static_bbox.txt")"; echo "    features: $(fcount)"
check "bbox mapserver" "$NG$(head -1 "$PATHS/ms_bbox.txt")"; echo "    features: $(fcount)"
check "page crisismap" "$CM$API?limit=1000"; echo "    features: $(fcount)"
check "page mapserver" "$NG$MSAPI?f=json&limit=1000"; echo "    features: $(fcount)"
check "layer plain crisismap" "$CM$API?limit=100000"
check "layer plain nginx" "$NG/plain/services_all.geojson"
check "layer gzip crisismap" "$CM$API?limit=100000" -H 'Accept-Encoding: gzip'
check "layer gzip nginx" "$NG/gzs/services_all.geojson" -H 'Accept-Encoding: gzip'
cmp -s "$RUN/preflight.body" "$STATIC/services_all.geojson.gz" || die "nginx gzip_static did not serve the .gz"
# response body bytes per target (the table's "resp bytes"): mean over the first 20 paths of a request
# list (or the one URL), as sent (compressed size for the gzip targets); every response must be 200
: > "$RUN/body_bytes.txt"
probe() {  # measure server base list-file|"" path|"" [curl args]
    local m=$1 s=$2 base=$3 list=$4 one=$5; shift 5
    { if [ -n "$list" ]; then head -20 "$PATHS/$list"; else echo "$one"; fi; } |
        awk -v b="$base" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", b, $0 }' > "$RUN/probe.curl"
    curl -s --max-time 300 -K "$RUN/probe.curl" -w '%{http_code} %{size_download}\n' "$@" > "$RUN/probe.out" || true
    awk -v m="$m" -v s="$s" '$1 != 200 { bad++ } { n++; t += $2 }
        END { if (bad || !n) { print "  " m " " s ": " bad "/" n " responses not 200" > "/dev/stderr"; exit 1 }
              printf "%s %s %d\n", m, s, t / n }' "$RUN/probe.out" >> "$RUN/body_bytes.txt" || die "probe $m $s failed"
}
probe id crisismap "$CM" cm_id.txt ""
probe id nginx "$NG" "" /plain/tiny.json
probe id mapserver "$NG" ms_id.txt ""
probe bbox crisismap "$CM" cm_bbox.txt ""
probe bbox nginx "$NG" static_bbox.txt ""
probe bbox mapserver "$NG" ms_bbox.txt ""
probe page crisismap "$CM" "" "$API?limit=1000"
probe page mapserver "$NG" "" "$MSAPI?f=json&limit=1000"
probe layer_plain crisismap "$CM" "" "$API?limit=100000"
probe layer_plain nginx "$NG" "" /plain/services_all.geojson
probe layer_gzip crisismap "$CM" "" "$API?limit=100000" -H 'Accept-Encoding: gzip'
probe layer_gzip nginx "$NG" "" /gzs/services_all.geojson -H 'Accept-Encoding: gzip'
echo "  mean body bytes: $(awk '{printf "%s%s/%s %d", (NR>1?", ":""), $1, $2, $3}' "$RUN/body_bytes.txt")"

# ---------------------------------------------------------------- 10. load (wrk)
say "load: wrk -t$THREADS, ${C_SMALL} conns (small) / ${C_LARGE} conns (large), ${D} s each (+${WARM} s unrecorded warm-up)"
OUT=$RUN/results.jsonl; : > "$OUT"
M() {  # measure server conns url [paths-file] [gzip]
    local extra=()
    [ -n "${5:-}" ] && extra+=(--paths "$PATHS/$5")
    [ "${6:-}" = gzip ] && extra+=(--gzip)
    local pids=$CM_PID
    case $2 in nginx) pids=$NG_PID;; mapserver) pids=$NG_PID,$MS_PIDS;; esac
    "$PY" "$HERE/wrkrun.py" --measure "$1" --server "$2" -c "$3" -t "$THREADS" -d "$D" --warm "$WARM" \
        --url "$4" --pids "$pids" --out "$OUT" "${extra[@]}" || echo "  ($1 $2 failed)"
}
M id          crisismap $C_SMALL "$CM/" cm_id.txt
M id          nginx     $C_SMALL "$NG/plain/tiny.json"
M id          mapserver $C_SMALL "$NG/" ms_id.txt
M bbox        crisismap $C_SMALL "$CM/" cm_bbox.txt
M bbox        nginx     $C_SMALL "$NG/" static_bbox.txt
M bbox        mapserver $C_SMALL "$NG/" ms_bbox.txt
M page        crisismap $C_LARGE "$CM$API?limit=1000"
M page        mapserver $C_LARGE "$NG$MSAPI?f=json&limit=1000"
M layer_plain crisismap $C_LARGE "$CM$API?limit=100000"
M layer_plain nginx     $C_LARGE "$NG/plain/services_all.geojson"
M layer_gzip  crisismap $C_LARGE "$CM$API?limit=100000" "" gzip
M layer_gzip  nginx     $C_LARGE "$NG/gzs/services_all.geojson" "" gzip
alive "$CM_PID" || echo "WARNING: crisismap (pid $CM_PID) is no longer running; see $RUN/crisismap.log"

# ---------------------------------------------------------------- 11. report
VMHWM=$(awk '/^VmHWM:/{print $2}' "/proc/$CM_PID/status" 2>/dev/null || true)
VMRSS=$(awk '/^VmRSS:/{print $2}' "/proc/$CM_PID/status" 2>/dev/null || true)
export STAMP MODE IMPORTS_JSON STORE_BYTES VMHWM VMRSS GZ_NOTE RUN MSGPKG STORE BIN REPO MS_WORKERS NGINX_WORKERS D WARM
export HOSTDESC="$(nproc) x$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r)"
if [ -n "${CRISISMAP:-}" ]; then CMVER="$BIN (given with CRISISMAP=; checkout at"; else CMVER="$BIN (Release build of"; fi
CMVER="$CMVER $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
[ -z "$(git -C "$REPO" status --porcelain -- . ':!bench' 2>/dev/null || true)" ] || CMVER="$CMVER + uncommitted changes"
CMVER="$CMVER)"
export CMVER
export MSVER="$(mapserv -v | awk '{print $1, $2, $3; exit}'), $MS_WORKERS FastCGI processes (spawn-fcgi) behind nginx"
export NGVER="$("$NGINX" -v 2>&1 | sed 's/.*: //'), $NGINX_WORKERS workers"
export WRKVER="$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), 2 threads"
export GDALVER="$(gdal-config --version 2>/dev/null || ogrinfo --version)"
"$PY" - > "$RUN/meta.json" <<'EOF'
import json, os
e = os.environ
meta = dict(stamp=e["STAMP"], mode=e["MODE"] + ", warm-up %s s" % e["WARM"], host=e["HOSTDESC"], crisismap=e["CMVER"],
            mapserver=e["MSVER"], nginx=e["NGVER"], wrk=e["WRKVER"], gdal=e["GDALVER"],
            imports=json.loads(e["IMPORTS_JSON"]), store_bytes=int(e["STORE_BYTES"]),
            startup=json.load(open(os.path.join(e["RUN"], "startup.json"))),
            body_bytes={"%s/%s" % tuple(l.split()[:2]): int(l.split()[2]) for l in open(os.path.join(e["RUN"], "body_bytes.txt")) if l.strip()},
            vmhwm_end_kb=int(e["VMHWM"]) if e.get("VMHWM") else None,
            vmrss_end_kb=int(e["VMRSS"]) if e.get("VMRSS") else None,
            notes=["MapServer reads a copy of the crisismap store (%s) with one added column uid = fid, uniquely indexed "
                   "(gml_featureid uid): MapServer 8.0 cannot expose the GeoPackage FID as the id of items responses. "
                   "Same tables, rows and geometries otherwise; its responses carry uid as an extra property." % e["MSGPKG"],
                   e["GZ_NOTE"],
                   "nginx 'same bytes' files are crisismap responses fetched with curl: bbox = the 1000 responses of the bbox "
                   "request list (nginx cycles through them in the same order), id = one feature (tiny.json), whole layer = "
                   "services?limit=100000."])
print(json.dumps(meta))
EOF
say "report"
"$PY" "$HERE/report.py" "$OUT" "$RUN/meta.json" | tee "$RESULTS"
echo
echo "results: $RESULTS   (full log: $LOG; raw: $OUT)"
