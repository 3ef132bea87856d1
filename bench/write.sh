#!/bin/bash
# crisismap WRITE benchmark: the one entry point. See bench/README.md ("Write benchmark").
#
#   bench/write.sh                        full run (10 s per measurement, ~4-5 min after the build)
#   QUICK=1 bench/write.sh                smoke run (3 s per measurement, ~1.5 min after the build)
#   CRISISMAP=/path/to/crisismap ...      use that binary instead of building one (Release)
#   BUILD=/dir ...                        where to build (default ${TMPDIR:-/tmp}/bench-write-build)
#   D=20 WARM=3 ...                       seconds per measurement / unrecorded warm-up before each
#   READ_DELAY_MS=2                       think time of each paced reader between two requests
#   READ_ROUNDS=5 (QUICK: 2)              rounds of idle, loaded and raw-disk read windows (targets: median of the rounds)
#   QUIET_WAIT=30 (QUICK: 10)             wait at most that long for other work on the box to calm down
#   BUDGET=520 (QUICK: 150)               seconds from the start of the measurements (after the build): a
#                                         window disturbed by other work is repeated once only within it
#   CMAKE_ARGS="-D..."                    extra cmake configure arguments for that build
#   SKIP_SETUP=1                          do not check/install the Debian packages (bench/setup.sh)
#   KEEP_SERVER=1                         leave crisismap running (pid in $WD/crisismap.pid)
#
# Work dir: WD=${TMPDIR:-/tmp}/crisismap-bench/write (demo store, token, config, raw copy, logs; recreated
# on every run). Report: ${TMPDIR:-/tmp}/crisismap-bench/write-results-<stamp>.txt, log: write-log-<stamp>.txt.
# crisismap binds 127.0.0.1 port 0; every load is bounded (wrk -d plus a hard `timeout`); the server this
# script started is stopped on exit, also on failure or Ctrl-C (by pid, after checking its name).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
W=${TMPDIR:-/tmp}/crisismap-bench
WD=$W/write
PY=${PY:-python3}
if [ "${QUICK:-0}" = 1 ]; then D=${D:-3}; WARM=${WARM:-1}; MODE="QUICK (${D} s per measurement, ${WARM} s warm-up)"
else D=${D:-10}; WARM=${WARM:-2}; MODE="full (${D} s per measurement, ${WARM} s warm-up)"; fi
READ_DELAY_MS=${READ_DELAY_MS:-2}
if [ "${QUICK:-0}" = 1 ]; then READ_ROUNDS=${READ_ROUNDS:-2}; else READ_ROUNDS=${READ_ROUNDS:-5}; fi
if [ "${QUICK:-0}" = 1 ]; then PAIRS=${PAIRS:-4}; PAIR_S=${PAIR_S:-1}; else PAIRS=${PAIRS:-6}; PAIR_S=${PAIR_S:-2}; fi
PHASES=$(( 5 + 3 * READ_ROUNDS ))   # creates 1 client, paired with raw, 8 clients, paired with raw, READ_ROUNDS x (idle, loaded, beside raw inserts) reads, creates on the grown layer
if [ "${QUICK:-0}" = 1 ]; then QUIET_WAIT=${QUIET_WAIT:-10}; BUDGET=${BUDGET:-150}; else QUIET_WAIT=${QUIET_WAIT:-30}; BUDGET=${BUDGET:-520}; fi
BUILD=${BUILD:-${TMPDIR:-/tmp}/bench-write-build}
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$W/write-results-$STAMP.txt; LOG=$W/write-log-$STAMP.txt
STORE=$WD/store/crisismap.gpkg; OUT=$WD/results.jsonl
# The server runs as a byte-identical copy of the binary under this name: on this shared box other
# people's scripts stop "crisismap" processes by name, which killed the benchmark's server mid-run.
SRV_NAME=cmbench-server

mkdir -p "$W"
exec > >(trap '' INT TERM HUP; exec tee -a "$LOG") 2>&1   # tee outlives Ctrl-C: the cleanup is logged too

T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)   # the box is shared: say how busy it was when we started
say() { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - T_START ))" "$*"; }
die() { echo "write.sh: $*" >&2; exit 1; }
. "$HERE/lib.sh"   # alive, stop_pid, crisismap_binary

# ---------------------------------------------------------------- stop what we started (by pid only)
stop_server() { stop_pid "$WD/crisismap.pid" "$SRV_NAME" 10; stop_pid "$WD/http-floor.pid" http-floor 5; stop_pid "$WD/http-floor-owner.pid" http-floor 5; }
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +e
    if [ "${KEEP_SERVER:-0}" = 1 ] && [ -f "$WD/crisismap.pid" ]; then
        echo "KEEP_SERVER=1: crisismap left running (pid $(cat "$WD/crisismap.pid"))"
    else
        stop_server
        echo "server stopped"
    fi
    [ $rc = 0 ] || echo "write.sh FAILED (exit $rc); log: $LOG"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One write benchmark at a time: a second run would stop this one's server (same work dir), and two loads
# on the same 2 cores corrupt each other's figures anyway. The lock goes with this shell (and its short-lived
# children); the server and the Python drivers do not inherit it (subprocess closes descriptors).
exec 9>"$W/write.lock"
if ! flock -n 9; then
    trap - EXIT
    echo "write.sh: another write benchmark is running (lock $W/write.lock held); not starting a second one" >&2
    exit 1
fi
stop_server   # a server left over by an earlier run that was killed hard
rm -rf "$WD"; mkdir -p "$WD/store" "$WD/raw" "$WD/run"

echo "crisismap write benchmark, $MODE, stamp $STAMP, work dir $WD"

# ---------------------------------------------------------------- 1. packages
if [ "${SKIP_SETUP:-0}" != 1 ]; then
    say "setup (Debian packages, bench/setup.sh)"
    if [ -n "${CRISISMAP:-}" ]; then SKIP_BUILD_DEPS=1 "$HERE/setup.sh"; else "$HERE/setup.sh"; fi
fi
for c in wrk curl timeout "$PY"; do command -v "$c" >/dev/null 2>&1 || die "missing $c (run bench/setup.sh)"; done

# ---------------------------------------------------------------- 2. crisismap binary
crisismap_binary

# ---------------------------------------------------------------- 3. demo store, token, config
say "demo store, operator token, config"
"$BIN" demo --store "$STORE" --config "$REPO/config/crisismap.json" > "$WD/demo.log" 2>&1 || { cat "$WD/demo.log"; die "crisismap demo failed"; }
tail -1 "$WD/demo.log"
# created before the server starts (a running server picks up new tokens within ~2 s)
( umask 077; "$BIN" token create --store "$STORE" --name bench-writer --role operator > "$WD/token" ) || die "token create failed"
grep -Eq '^[A-Za-z0-9_-]{16,}$' "$WD/token" || die "token create did not print a token alone on stdout"
echo "token: $WD/token ($(wc -c < "$WD/token") bytes, not shown)"
"$PY" - "$HERE/config/crisismap.json" "$WD/crisismap.json" "$STORE" <<'EOF'
import json, os, sys
src, dst, store = sys.argv[1:4]
c = json.load(open(src))
base = os.path.dirname(os.path.abspath(src))
for k in ("layers", "web_root"):  # paths in the file are relative to it: make them absolute in the copy
    c[k] = os.path.normpath(os.path.join(base, c[k]))
c["store"] = store
c["listen"] = "127.0.0.1:0"
c["access_log"] = False
c["title"] = {"en": "Crisis map — write benchmark (Monaco demo data)", "ar": "خريطة الأزمات — اختبار أداء الكتابة (بيانات موناكو التجريبية)"}
c["description"] = {"en": "Write benchmark on the Monaco demo store. Not real operations.",
                    "ar": "اختبار أداء الكتابة على مخزن موناكو التجريبي. ليست عمليات حقيقية."}
json.dump(c, open(dst, "w"), ensure_ascii=False, indent=2)
EOF
echo "config: $WD/crisismap.json (bench/config/crisismap.json with absolute paths, access_log false)"

# ---------------------------------------------------------------- 4. crisismap
say "HTTP floors: bench/http_floor.c on copies of the store (information for the 1-client pairs)"
# start_floor NAME [FLAGS...]: prints the floor's URL, or nothing if it did not start (the pairs go without it)
start_floor() {
    local name=$1; shift
    "$PY" -c 'import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d)' \
        "$STORE" "$WD/raw/$name.gpkg" || return 0
    "$WD/bin/http-floor" "$@" "$WD/raw/$name.gpkg" > "$WD/$name.port" 2> "$WD/$name.log" &
    echo $! > "$WD/$name.pid"
    for _ in $(seq 50); do [ -s "$WD/$name.port" ] && break; sleep 0.1; done
    if [ -s "$WD/$name.port" ]; then echo "http://127.0.0.1:$(head -1 "$WD/$name.port")"
    else echo "$name did not start ($(tail -1 "$WD/$name.log")): the pairs go without it" >&2; fi
}
FLOOR_URL=; FLOOR_OWNER_URL=; mkdir -p "$WD/bin"
if cc -std=c17 -O2 -Wall -Wextra -Werror -o "$WD/bin/http-floor" "$HERE/http_floor.c" -lmicrohttpd -lsqlite3 -lpthread \
        > "$WD/http-floor-build.log" 2>&1; then
    FLOOR_URL=$(start_floor http-floor)
    FLOOR_OWNER_URL=$(start_floor http-floor-owner --owner-thread --audit)
    echo "HTTP floor: ${FLOOR_URL:-none}; owner-thread floor (--owner-thread --audit): ${FLOOR_OWNER_URL:-none}"
else
    echo "http-floor not built (log: $WD/http-floor-build.log): the pairs go without it"
fi

say "start crisismap (127.0.0.1 port 0)"
mkdir -p "$WD/bin"; cp "$BIN" "$WD/bin/$SRV_NAME"
cmp -s "$BIN" "$WD/bin/$SRV_NAME" || die "copy of $BIN differs"
echo "server binary: $WD/bin/$SRV_NAME (byte-identical copy of $BIN, so that stopping processes named crisismap elsewhere does not stop it)"
"$PY" "$HERE/start_crisismap.py" --bin "$WD/bin/$SRV_NAME" --config "$WD/crisismap.json" --store "$STORE" \
    --log "$WD/crisismap.log" --out "$WD/startup.json" --timeout 120 || { tail -20 "$WD/crisismap.log" 2>/dev/null; die "crisismap did not start"; }
CM_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$WD/startup.json")
CM_PORT=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WD/startup.json")
echo "$CM_PID" > "$WD/crisismap.pid"
CM=http://127.0.0.1:$CM_PORT
echo "healthz: $(curl -s --max-time 5 "$CM/healthz" | head -c 300)"

# ---------------------------------------------------------------- 5. raw GeoPackage inserts, same disk
DEADLINE=$(( $(date +%s) + BUDGET - 15 ))   # the budget counts from here; 15 s for stopping and the report
say "wait for a quiet machine (at most ${QUIET_WAIT} s)"
"$PY" "$HERE/bench_write.py" quiet --max-wait "$QUIET_WAIT"

say "raw GeoPackage inserts (python sqlite3, WAL + synchronous=FULL), ${D} s per mode, in $WD/raw"
: > "$OUT"
# the repeats leave room for the crisismap phases (~ 5 x (D + WARM + 6) s)
timeout -k 5 $(( 6 * (D + 3) + 90 )) "$PY" "$HERE/raw_gpkg_insert.py" --src "$STORE" --dir "$WD/raw" \
    --table services -d "$D" --warm 1 --modes c1,c8,c1_audit --out "$OUT" \
    --deadline $(( DEADLINE - PHASES * (D + WARM + 6) )) || die "raw_gpkg_insert.py failed"
alive "$CM_PID" || die "crisismap (pid $CM_PID) stopped while idle; its log ends: $(tail -1 "$WD/crisismap.log") (not sent by this script)"

# ---------------------------------------------------------------- 6. crisismap writes and reads
say "crisismap: creates with 1 and 8 clients, reads idle and under 8 writers (wrk)"
timeout -k 5 $(( 2 * (PHASES * D + (PHASES - 1) * WARM + 1) + 240 )) "$PY" "$HERE/bench_write.py" run --base "$CM" --token-file "$WD/token" \
    --pid "$CM_PID" --run "$WD/run" --out "$OUT" -d "$D" --warm "$WARM" --read-delay-ms "$READ_DELAY_MS" --read-rounds "$READ_ROUNDS" --deadline "$DEADLINE" \
    --raw-src "$STORE" --raw-dir "$WD/raw" --pairs "$PAIRS" --pair-s "$PAIR_S" --floor "$FLOOR_URL" --floor-owner "$FLOOR_OWNER_URL" \
    || { alive "$CM_PID" || die "crisismap (pid $CM_PID) is no longer running; its log ends: $(tail -1 "$WD/crisismap.log")"
         die "bench_write.py failed"; }
alive "$CM_PID" || die "crisismap (pid $CM_PID) is no longer running; its log ends: $(tail -1 "$WD/crisismap.log")"

# ---------------------------------------------------------------- 7. what the server acknowledged is on disk
say "stop crisismap, count the store's rows on disk"
MEM_COUNT=$(curl -s --max-time 5 "$CM/healthz" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["layers"]["services"])')
VMHWM=$(awk '/^VmHWM:/{print $2}' "/proc/$CM_PID/status" 2>/dev/null || true)
if [ "${KEEP_SERVER:-0}" != 1 ]; then stop_server; fi
STORE_AFTER=$("$PY" - "$STORE" "$MEM_COUNT" <<'EOF'
import sqlite3, sys, os
db, mem = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
rows = con.execute("SELECT count(*) FROM services").fetchone()[0]
audit = con.execute("SELECT count(*) FROM cm_audit").fetchone()[0]
qc = con.execute("PRAGMA quick_check").fetchone()[0]
size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
print("store after the run: services rows on disk %d, server's in-memory count %d (%s); cm_audit rows %d; "
      "quick_check %s; %.1f MiB" % (rows, mem, "equal" if rows == mem else "DIFFERENT", audit, qc, size / 1048576))
EOF
)
echo "$STORE_AFTER"

# ---------------------------------------------------------------- 8. report
say "report"
export STAMP MODE BIN REPO WD STORE_AFTER VMHWM D WARM READ_DELAY_MS CM_PID
export HOSTDESC="$(nproc) x$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r); load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${CRISISMAP:-}" ]; then CMVER="$BIN (given with CRISISMAP=; checkout at"; else CMVER="$BIN (Release build of"; fi
CMVER="$CMVER $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
[ -z "$(git -C "$REPO" status --porcelain -- . ':!bench' 2>/dev/null || true)" ] || CMVER="$CMVER + uncommitted changes"
export CMVER="$CMVER)"
export DISK="$(df -T "$WD" | awk 'NR==2{print $1" "$2" mounted on "$7}') (store and raw copy both in $WD)"
export WRKVER="$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
export GDALVER="$(gdal-config --version 2>/dev/null || ogrinfo --version 2>/dev/null || echo '?')"
export SQLITEVER="python3 sqlite3 $("$PY" -c 'import sqlite3; print(sqlite3.sqlite_version)'); libsqlite3 (GDAL) $(dpkg-query -W -f '${Version}' libsqlite3-0 2>/dev/null || echo '?')"
"$PY" - > "$WD/meta.json" <<'EOF'
import json, os
e = os.environ
st = json.load(open(os.path.join(e["WD"], "startup.json")))
meta = dict(stamp=e["STAMP"], mode=e["MODE"], host=e["HOSTDESC"], crisismap=e["CMVER"],
            store="demo store (Monaco) made by `crisismap demo`, %s" % os.path.join(e["WD"], "store"),
            disk=e["DISK"], wrk=e["WRKVER"], sqlite=e["SQLITEVER"], gdal=e["GDALVER"], store_after=e["STORE_AFTER"],
            notes=[
                "raw GPKG: python3 sqlite3 on a copy of the store (same services table, R-tree and feature-count triggers; "
                "GeoPackage blob Point geometry), one row per transaction, WAL + synchronous=FULL; the 8-connection row is 8 "
                "threads each with its own connection (SQLite takes one writer at a time: the rest wait on the lock). "
                "'+ audit row' also writes one cm_audit-like row per transaction, as a crisismap create does (info).",
                "crisismap creates: wrk + a Lua POST script, one new services Point per request; only 201 answers count; "
                "latency percentiles are wrk's. Each create is also an audit record; 201 comes after the commit "
                "(group commit: edits queued during a commit share the next one).",
                "every create adds a feature: compare the 'rows before->after' column (the run grows the services layer "
                "from 85 to tens of thousands of features; commits keep snapshots and the spatial index current, and that "
                "cost can depend on the layer size); the 'grown layer' row repeats the 1-client measurement at the end.",
                "reads: 3 readers at once (wrk -t1 -c1 each, %s ms think time), idle and while a wrk -t2 -c8 creator runs "
                "(that creator puts its points east of the read bbox, so the bbox answers keep their size; the earlier "
                "phases create inside it); "
                "load generator and server share the 2 cores, as in the read benchmark. 'other CPU' = busy cores of the whole "
                "machine in the window minus the server and this benchmark's own processes (someone else's work on the "
                "shared box, plus kernel I/O threads); '!' above 0.6 cores: that window is not trustworthy."
                % e["READ_DELAY_MS"],
                "server VmHWM at the end: %s kB; startup %s ms" % (e.get("VMHWM") or "?", st.get("startup_ms")),
            ])
print(json.dumps(meta))
EOF
"$PY" "$HERE/bench_write.py" report "$OUT" "$WD/meta.json" | tee "$RESULTS"
echo
echo "results: $RESULTS   (full log: $LOG; raw: $OUT)"
