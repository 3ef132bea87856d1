#!/bin/bash
# crisismap LIVE-UPDATE benchmark: the one entry point. See bench/README.md ("Live-update benchmark").
#
#   bench/live.sh                         full run: 0, 1,000 and 10,000 subscribers, 10 s per read measurement (~4 min after the build)
#   QUICK=1 bench/live.sh                 smoke run: 0 and 1,000 subscribers, 3 s per read measurement (~1 min after the build)
#   CRISISMAP=/path/to/crisismap ...      use that binary instead of building one (Release)
#   BUILD=/dir ...                        where to build (default ${TMPDIR:-/tmp}/bench-live-build)
#   NS="1000 10000" WRITES=100            subscriber counts (one round each, after the 0-subscriber round) / writes per burst
#   D=10 WARM=2                           seconds per wrk read measurement / unrecorded warm-up before each
#   BATCH=256                             subscriber connections in flight during the ramp-up (server backlog: 1024)
#   NOFILE=25000                          file descriptors wanted per process (hard+soft limit; raised as root when the
#                                         container allows it, else the current hard limit must cover max(NS) + 1024)
#   REAP_CHECK=1                          after the last round, time how long the server keeps disconnected subscribers
#                                         (default 1 in the full run, 0 with QUICK)
#   CMAKE_ARGS="-D..."  SKIP_SETUP=1  KEEP_SERVER=1  PY=python3
#
# Work dir: WD=${TMPDIR:-/tmp}/crisismap-bench/live (binaries, demo store, token, config, logs; recreated on every
# run). Report: ${TMPDIR:-/tmp}/crisismap-bench/live-results-<stamp>.txt, log: live-log-<stamp>.txt.
# Everything binds/connects 127.0.0.1 only; every step is bounded (`timeout`, wrk -d, the client's own deadlines);
# the server and the subscriber client this script started are stopped on exit (by pid, after checking the name).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
W=${TMPDIR:-/tmp}/crisismap-bench
WD=$W/live
PY=${PY:-python3}
if [ "${QUICK:-0}" = 1 ]; then
    D=${D:-3}; WARM=${WARM:-1}; NS=${NS:-1000}; REAP_CHECK=${REAP_CHECK:-0}; MODE="QUICK"
else
    D=${D:-10}; WARM=${WARM:-2}; NS=${NS:-1000 10000}; REAP_CHECK=${REAP_CHECK:-1}; MODE="full"
fi
MODE="$MODE (subscribers 0 $NS; ${D} s per read measurement, ${WARM} s warm-up)"
WRITES=${WRITES:-100}
BATCH=${BATCH:-256}
NOFILE=${NOFILE:-25000}
HEARTBEAT_S=15
BUILD=${BUILD:-${TMPDIR:-/tmp}/bench-live-build}
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$W/live-results-$STAMP.txt; LOG=$W/live-log-$STAMP.txt
STORE=$WD/store/crisismap.gpkg; OUT=$WD/results.jsonl
# The server runs as a byte-identical copy of the binary under its own name: on this shared box other
# people's scripts stop "crisismap" processes by name (seen killing servers mid-run), as write.sh notes too.
SRV_NAME=cmlive-server
CLI_NAME=sse_clients
C_READ=50; T_READ=2
URL_ID=/api/collections/services/items/1
URL_BBOX="/api/collections/roads/items?bbox=7.41,43.73,7.42,43.74"

mkdir -p "$W"
exec > >(trap '' INT TERM HUP; exec tee -a "$LOG") 2>&1   # tee outlives Ctrl-C: the cleanup is logged too

T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)   # the box is shared: say how busy it was
say() { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - T_START ))" "$*"; }
die() { echo "live.sh: $*" >&2; exit 1; }
. "$HERE/lib.sh"   # alive, stop_pid, crisismap_binary
stop_subs() { stop_pid "$WD/subs.pid" "$CLI_NAME|timeout" 10; }   # the pid is timeout's (it passes TERM on)
stop_server() { stop_pid "$WD/server.pid" "$SRV_NAME" 20; }
cleanup() {
    local rc=$?
    trap - EXIT; trap '' INT TERM   # a second TERM (e.g. timeout(1) signals its whole process group) must not cut the cleanup short
    set +e
    stop_subs
    if [ "${KEEP_SERVER:-0}" = 1 ] && [ -f "$WD/server.pid" ]; then
        echo "KEEP_SERVER=1: $SRV_NAME left running (pid $(cat "$WD/server.pid"))"
    else
        stop_server
        echo "server stopped"
    fi
    [ $rc = 0 ] || echo "live.sh FAILED (exit $rc); log: $LOG"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_subs; stop_server   # left over by an earlier run that was killed hard
rm -rf "$WD"; mkdir -p "$WD/store" "$WD/bin" "$WD/run"

echo "crisismap live-update benchmark, $MODE, stamp $STAMP, work dir $WD"
echo "load average at start: $LOAD_START (2 cores; the box is shared)"

# ---------------------------------------------------------------- 1. packages
if [ "${SKIP_SETUP:-0}" != 1 ]; then
    say "setup (Debian packages, bench/setup.sh)"
    if [ -n "${CRISISMAP:-}" ]; then SKIP_BUILD_DEPS=1 "$HERE/setup.sh"; else "$HERE/setup.sh"; fi
fi
for c in wrk curl cc timeout "$PY"; do command -v "$c" >/dev/null 2>&1 || die "missing $c (run bench/setup.sh; cc: apt-get install gcc)"; done

# ---------------------------------------------------------------- 2. file descriptor limits
# 10,000 subscribers = 10,000 sockets in the server and 10,000 in the client (+ wrk, store, logs). The server
# raises its soft RLIMIT_NOFILE to the hard limit itself; the client does the same. Here: make the hard limit
# at least NOFILE (as root: raise it; otherwise it must already be), then the soft limit = hard, inherited by both.
say "file descriptor limits"
MAXN=0; for n in $NS; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
NEED=$((MAXN + 1024))   # per process: the server holds MAXN sockets + store, wrk, logs; the client MAXN + 2
HARD0=$(ulimit -Hn); SOFT0=$(ulimit -Sn)
if [ "$HARD0" != unlimited ] && [ "$HARD0" -lt "$NOFILE" ]; then
    if [ "$(id -u)" = 0 ] && ulimit -Hn "$NOFILE" 2>/dev/null; then
        LIMITS_DONE="raised the hard limit $HARD0 -> $NOFILE (root, ulimit -Hn; this script's processes only)"
    else
        why="not root"; [ "$(id -u)" = 0 ] && why="root without CAP_SYS_RESOURCE (container): raising it is refused"
        [ "$HARD0" -ge "$NEED" ] || die "hard RLIMIT_NOFILE is $HARD0 ($why); $MAXN subscribers need >= $NEED per process: raise it (limits.conf, systemd LimitNOFILE, docker --ulimit nofile=) or use smaller NS"
        LIMITS_DONE="hard limit $HARD0 kept ($why; NOFILE=$NOFILE wanted), enough for $MAXN subscribers (>= $NEED per process)"
    fi
else
    LIMITS_DONE="hard limit $HARD0 already >= $NOFILE"
fi
ulimit -Sn "$(ulimit -Hn)"
LIMITS_DONE="$LIMITS_DONE; soft limit $SOFT0 -> $(ulimit -Sn), inherited by the server and the client"
echo "RLIMIT_NOFILE: $LIMITS_DONE"
read -r PLO PHI < /proc/sys/net/ipv4/ip_local_port_range
[ $((PHI - PLO)) -gt $((MAXN + 2000)) ] || echo "WARNING: ephemeral port range $PLO-$PHI is small for $MAXN subscribers"
echo "somaxconn $(cat /proc/sys/net/core/somaxconn), ephemeral ports $PLO-$PHI, ramp-up: at most $BATCH connects in flight (server backlog 1024)"

# ---------------------------------------------------------------- 3. binaries
crisismap_binary
cp "$BIN" "$WD/bin/$SRV_NAME"
cmp -s "$BIN" "$WD/bin/$SRV_NAME" || die "copy of $BIN differs"
echo "server binary: $WD/bin/$SRV_NAME (byte-identical copy of $BIN, so that stopping processes named crisismap elsewhere does not stop it)"
cc -O2 -Wall -pthread -o "$WD/bin/$CLI_NAME" "$HERE/sse_clients.c" || die "cannot compile bench/sse_clients.c"
echo "load client: $WD/bin/$CLI_NAME (cc -O2 -Wall -pthread bench/sse_clients.c)"

# ---------------------------------------------------------------- 4. demo store, token, config
say "demo store, operator token, config"
"$BIN" demo --store "$STORE" --config "$REPO/config/crisismap.json" > "$WD/demo.log" 2>&1 || { cat "$WD/demo.log"; die "crisismap demo failed"; }
tail -1 "$WD/demo.log"
( umask 077; "$BIN" token create --store "$STORE" --name bench-live-writer --role operator > "$WD/token" ) || die "token create failed"
grep -Eq '^[A-Za-z0-9_-]{16,}$' "$WD/token" || die "token create did not print a token alone on stdout"
echo "token: $WD/token ($(wc -c < "$WD/token") bytes, not shown)"
"$PY" - "$HERE/config/crisismap.json" "$WD/crisismap.json" "$STORE" "$HEARTBEAT_S" <<'EOF'
import json, os, sys
src, dst, store, hb = sys.argv[1:5]
c = json.load(open(src))
base = os.path.dirname(os.path.abspath(src))
for k in ("layers", "web_root"):  # paths in the file are relative to it: make them absolute in the copy
    c[k] = os.path.normpath(os.path.join(base, c[k]))
c["store"] = store
c["listen"] = "127.0.0.1:0"
c["access_log"] = False
c["events"] = {"log_length": 10000, "max_streams": 20000, "heartbeat_s": int(hb)}
c["title"] = {"en": "Crisis map — live-update benchmark (Monaco demo data)", "ar": c["title"]["ar"]}
json.dump(c, open(dst, "w"), ensure_ascii=False, indent=2)
EOF
echo "config: $WD/crisismap.json (bench/config/crisismap.json, absolute paths, access_log false, events $(
    "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["events"]))' "$WD/crisismap.json"))"

# ---------------------------------------------------------------- helpers for a round
CM_PID=""; CM=""
start_server() {  # round-name
    "$PY" "$HERE/start_crisismap.py" --bin "$WD/bin/$SRV_NAME" --config "$WD/crisismap.json" --store "$STORE" \
        --log "$WD/server-$1.log" --out "$WD/startup-$1.json" --timeout 120 || { tail -20 "$WD/server-$1.log" 2>/dev/null; die "crisismap did not start"; }
    CM_PID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$WD/startup-$1.json")
    CM=http://127.0.0.1:$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WD/startup-$1.json")
    echo "$CM_PID" > "$WD/server.pid"
    echo "server limits: $(awk '/Max open files/{print "open files soft", $4, "hard", $5}' "/proc/$CM_PID/limits")"
}
check_server() {  # round-name
    alive "$CM_PID" || die "the server (pid $CM_PID) is no longer running; its log ends: $(grep -v 'Failed to send the chunked' "$WD/server-$1.log" | tail -3)"
}
fds() { ls "/proc/$CM_PID/fd" 2>/dev/null | wc -l; }
reads() {  # round-name subscribers
    for m in id bbox; do
        local url=$URL_ID label="feature by id"
        [ $m = bbox ] && url=$URL_BBOX label="roads bbox"
        timeout -k 5 $((2 * (D + WARM) + 240)) "$PY" "$HERE/wrkrun.py" --measure "$m" --server "subs=$2" -c $C_READ -t $T_READ \
            -d "$D" --warm "$WARM" --url "$CM$url" --pids "$CM_PID" --out "$OUT" --note "$label" || echo "  (wrk $m with $2 subscribers failed)"
        check_server "$1"
    done
}
json_line() {  # tag file round subscribers: append the client's machine-readable line to results.jsonl
    local l; l=$(grep -m1 "^$1 " "$2" | cut -d' ' -f2-) || true
    [ -n "$l" ] && "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(kind=sys.argv[2], round=sys.argv[3], subs=int(sys.argv[4])); print(json.dumps(d))' \
        "$l" "$1" "$3" "$4" >> "$OUT"
}

: > "$OUT"
# preflight against a first server: the two read URLs answer 200, the stream answers 200 text/event-stream
say "round 0: no subscribers (POST round-trips of the burst alone, reads)"
start_server r0
for u in "$URL_ID" "$URL_BBOX"; do
    c=$(curl -s -o "$WD/run/preflight.body" -w '%{http_code} %{size_download}' --max-time 10 "$CM$u")
    echo "  preflight GET $u: $c bytes"; [ "${c%% *}" = 200 ] || die "GET $u returned ${c%% *}"
done
h=$(curl -s -D - -o /dev/null --max-time 2 "$CM/api/events" || true)
echo "$h" | grep -qi '^content-type: *text/event-stream' || die "GET /api/events did not answer text/event-stream: $(echo "$h" | head -3)"
echo "  preflight GET /api/events: $(echo "$h" | head -1 | tr -d '\r'), text/event-stream"
timeout -k 5 120 "$WD/bin/$CLI_NAME" -p "${CM##*:}" -n 0 -w "$WRITES" -T "$WD/token" --server-pid "$CM_PID" --label "r0-" \
    > "$WD/run/subs-0.out" 2>&1 || true
grep -E "^(writes|  writer|burst)" "$WD/run/subs-0.out" | sed 's/^/  /'
json_line LIVEJSON "$WD/run/subs-0.out" r0 0
check_server r0
reads r0 0
stop_server

# ---------------------------------------------------------------- rounds with subscribers
LASTN=${NS##* }
for N in $NS; do
    R=r$N
    say "round $N subscribers: fresh server, connect, $WRITES-write burst, reads while connected"
    start_server "$R"
    HOLD=$((4 * (D + WARM) + 300))   # upper bound; the client is stopped as soon as the reads are done
    CONNECT_S=$((60 + N / 100))
    timeout -k 5 $((CONNECT_S + 60 + HOLD)) "$WD/bin/$CLI_NAME" -p "${CM##*:}" -n "$N" -w "$WRITES" -T "$WD/token" \
        --server-pid "$CM_PID" --batch "$BATCH" --connect-s "$CONNECT_S" --drain-s 20 --hold "$HOLD" --heartbeat-s "$HEARTBEAT_S" --label "$R-" \
        > "$WD/run/subs-$N.out" 2>&1 &
    SUBS_PID=$!; echo "$SUBS_PID" > "$WD/subs.pid"
    t_wait=$(( $(date +%s) + CONNECT_S + 60 ))
    until grep -q '^HOLDING' "$WD/run/subs-$N.out"; do
        alive "$SUBS_PID" || { cat "$WD/run/subs-$N.out"; check_server "$R"; die "the subscriber client exited before holding its subscribers"; }
        [ "$(date +%s)" -lt "$t_wait" ] || { cat "$WD/run/subs-$N.out"; die "the subscriber client did not finish its burst in time"; }
        sleep 0.2
    done
    grep -v '^LIVEJSON\|^HOLDING' "$WD/run/subs-$N.out" | sed 's/^/  /'
    json_line LIVEJSON "$WD/run/subs-$N.out" "$R" "$N"
    check_server "$R"
    echo "  reads with $(grep -m1 '^HOLDING' "$WD/run/subs-$N.out" | awk '{print $2}') subscribers connected:"
    reads "$R" "$N"
    alive "$SUBS_PID" || echo "WARNING: the subscriber client ended before the reads were done: $(tail -2 "$WD/run/subs-$N.out")"
    FDS_HELD=$(fds); RSS_HELD=$(awk '/^VmRSS:/{print $2}' "/proc/$CM_PID/status")
    stop_subs; wait "$SUBS_PID" 2>/dev/null || true
    json_line HOLDJSON "$WD/run/subs-$N.out" "$R" "$N"
    grep -m1 '^silence during the hold' "$WD/run/subs-$N.out" | sed 's/^/  /' || echo "  (the client printed no hold summary)"
    if [ "$REAP_CHECK" = 1 ] && [ "$N" = "$LASTN" ]; then
        # Subscribers closed by the client: how long does the server keep their connections (fds, memory)?
        BASE_FDS=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["fds_before"])' "$(grep -m1 '^LIVEJSON' "$WD/run/subs-$N.out" | cut -d' ' -f2-)")
        t0=$(date +%s.%N); lim=$((2 * HEARTBEAT_S + 15)); released=""
        while :; do
            f=$(fds)
            if [ "$f" -le $((BASE_FDS + 5)) ]; then released=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'); break; fi
            awk -v a="$t0" -v b="$(date +%s.%N)" -v l="$lim" 'BEGIN{exit !(b-a > l)}' && break
            sleep 0.5
        done
        check_server "$R"
        FAILED_LOG=$(grep -c 'Failed to send the chunked response body' "$WD/server-$R.log" || true)
        "$PY" -c 'import json,sys; print(json.dumps(dict(kind="REAP", round=sys.argv[1], subs=int(sys.argv[2]), released_s=float(sys.argv[3]) if sys.argv[3] else None,
            limit_s=int(sys.argv[4]), fds_held=int(sys.argv[5]), fds_after=int(sys.argv[6]), base_fds=int(sys.argv[7]), rss_held_kb=int(sys.argv[8]),
            rss_after_kb=int(sys.argv[9]), failed_send_log_lines=int(sys.argv[10]))))' \
            "$R" "$N" "$released" "$lim" "$FDS_HELD" "$(fds)" "$BASE_FDS" "$RSS_HELD" "$(awk '/^VmRSS:/{print $2}' "/proc/$CM_PID/status")" "$FAILED_LOG" >> "$OUT"
        echo "  after the client closed its $N subscribers: server fds $FDS_HELD -> $(fds) (baseline $BASE_FDS), released after ${released:-more than $lim} s; server log lines 'Failed to send the chunked response body': $FAILED_LOG"
    fi
    check_server "$R"
    grep -v 'Failed to send the chunked response body\|^listening on\|features in .* layers loaded\|stopping (signal' "$WD/server-$R.log" | head -5 | sed 's/^/  server log: /' || true
    if ! { [ "${KEEP_SERVER:-0}" = 1 ] && [ "$N" = "$LASTN" ]; }; then
        f=$(fds); t0=$(date +%s.%N); stop_server
        echo "  server stopped (SIGTERM, with $f fds open) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
    fi
done

# ---------------------------------------------------------------- report
say "report"
export STAMP MODE BIN REPO WD D WARM WRITES NS LIMITS_DONE BATCH C_READ T_READ URL_ID URL_BBOX HEARTBEAT_S
export HOSTDESC="$(nproc) x$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r); load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${CRISISMAP:-}" ]; then CMVER="$BIN (given with CRISISMAP=; checkout at"; else CMVER="$BIN (Release build of"; fi
CMVER="$CMVER $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
[ -z "$(git -C "$REPO" status --porcelain -- . ':!bench' 2>/dev/null || true)" ] || CMVER="$CMVER + uncommitted changes"
export CMVER="$CMVER)"
export WRKVER="$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
export MHDVER="libmicrohttpd $(dpkg-query -W -f '${Version}' libmicrohttpd12 2>/dev/null || echo '?')"
"$PY" "$HERE/live_report.py" "$OUT" | tee "$RESULTS"
echo
echo "results: $RESULTS   (full log: $LOG; raw: $OUT; client output: $WD/run/subs-*.out)"
