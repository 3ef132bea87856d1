#!/bin/bash
# crisismap: operators' creates beside clients paging the change feed from far back.
# See bench/README.md ("Change feed beside writes").
#
#   bench/changes.sh                     full run (~2 min after the build)
#   QUICK=1 bench/changes.sh             smoke run (~40 s after the build)
#   CRISISMAP=/path/to/crisismap ...     use that binary instead of building one (Release)
#   D=5 ROUNDS=5 READERS=2 GROW=20       seconds per window / rounds / feed clients / seconds of 8-client
#                                        creates that grow the audit log first
#   SKIP_SETUP=1                         do not check/install the Debian packages (bench/setup.sh)
#
# /changes?since=N is public; past the live event log (10,000 changes by default) it is read from the
# audit log. Each round runs 1-client creates alone, then beside READERS clients each asking, without
# pause, for a page of 500 changes from a random point far back. Prints per-round rates and latency
# and the median of the rounds' beside/alone ratios. The server binds 127.0.0.1 port 0, every load is
# bounded (wrk -d plus `timeout`), and the server is stopped on exit by pid after checking its name.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
W=${TMPDIR:-/tmp}/crisismap-bench
WD=$W/changes
if [ "${QUICK:-0}" = 1 ]; then D=${D:-2}; ROUNDS=${ROUNDS:-2}; GROW=${GROW:-8}; else D=${D:-5}; ROUNDS=${ROUNDS:-5}; GROW=${GROW:-20}; fi
READERS=${READERS:-2}
BUILD=${BUILD:-${TMPDIR:-/tmp}/bench-write-build}
SRV_NAME=cmbench-server
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS=$W/changes-results-$STAMP.txt
T_START=$(date +%s)
say() { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - T_START ))" "$*"; }
die() { echo "changes.sh: $*" >&2; exit 1; }
. "$HERE/lib.sh"

cleanup() { local rc=$?; trap - EXIT INT TERM; stop_pid "$WD/crisismap.pid" "$SRV_NAME" 10; exit $rc; }
trap cleanup EXIT INT TERM

if [ "${SKIP_SETUP:-0}" != 1 ]; then if [ -n "${CRISISMAP:-}" ]; then SKIP_BUILD_DEPS=1 "$HERE/setup.sh"; else "$HERE/setup.sh"; fi; fi
command -v wrk >/dev/null || die "wrk is missing: run bench/setup.sh"
rm -rf "$WD"; mkdir -p "$WD/store" "$WD/bin"
crisismap_binary
cp "$BIN" "$WD/bin/$SRV_NAME"

say "demo store, operator token, server"
"$WD/bin/$SRV_NAME" demo --store "$WD/store/crisismap.gpkg" --config "$REPO/config/crisismap.json" > "$WD/demo.log" 2>&1
TOKEN=$("$WD/bin/$SRV_NAME" token create --store "$WD/store/crisismap.gpkg" --name bench-operator --role operator)
python3 - "$REPO" "$WD" <<'PY'
import json, os, sys
repo, wd = sys.argv[1:3]
c = json.load(open(os.path.join(repo, "config", "crisismap.json"), encoding="utf-8"))
base = os.path.join(repo, "config")
c["layers"] = os.path.join(base, c["layers"]); c["web_root"] = os.path.join(base, c["web_root"])
c["demo"] = {k: os.path.join(base, v) for k, v in c["demo"].items()}
c["store"] = os.path.join(wd, "store", "crisismap.gpkg"); c["access_log"] = False
json.dump(c, open(os.path.join(wd, "crisismap.json"), "w", encoding="utf-8"), ensure_ascii=False)
PY
python3 "$HERE/start_crisismap.py" --bin "$WD/bin/$SRV_NAME" --config "$WD/crisismap.json" \
    --store "$WD/store/crisismap.gpkg" --log "$WD/crisismap.log" --out "$WD/startup.json" >/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["pid"]); print(d["base"], file=open(sys.argv[2], "w"))' \
    "$WD/startup.json" "$WD/url" > "$WD/crisismap.pid"
URL=$(cat "$WD/url")
echo "server $URL (pid $(cat "$WD/crisismap.pid"))"

# Lua: the benchmark's POST script (one new services Point per request) and the feed readers.
POST_LUA=$WD/post.lua
cat > "$POST_LUA" <<'LUA'
local token = os.getenv("BW_TOKEN")
local n = 0
function request()
  n = n + 1
  local body = string.format('{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},' ..
    '"properties":{"kind":"water","name":"feed bench %d"}}', 7.41 + (n * 7919 % 20000) / 1000000, 43.73 + (n * 104729 % 10000) / 1000000, n)
  return wrk.format("POST", "/api/collections/services/items", {["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/geo+json"}, body)
end
LUA
export BW_TOKEN=$TOKEN

say "grow the audit log: ${GROW} s of 8-client creates"
timeout $((GROW + 30)) wrk -t2 -c8 -d"${GROW}s" -s "$POST_LUA" "$URL/" | grep -E "Requests/sec" || true
COUNT=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/healthz"))["layers"]["services"])' "$URL")
FAR=$(( COUNT - 10000 - 600 ))   # the live log keeps the last 10,000 changes: start before them
[ "$FAR" -gt 1000 ] || die "the audit log is too short ($COUNT services): raise GROW"
cat > "$WD/feed.lua" <<LUA
request = function() return wrk.format("GET", "/api/collections/services/changes?limit=500&since=" .. math.random(1, $FAR)) end
LUA
echo "services: $COUNT; feed pages start at a random sequence number in 1..$FAR (audit log reads)"

creates() {  # label -> "rate p50_ms p99_ms"
    timeout $((D + 30)) wrk -t1 -c1 -d"${D}s" --latency -s "$POST_LUA" "$URL/" > "$WD/w.txt"
    python3 - "$WD/w.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s); v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", t, re.M))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print("%.0f %.2f %.2f %s" % (rate, ms(p["50"]), ms(p["99"]), non2xx.group(1) if non2xx else "0"))
PY
}

say "$ROUNDS rounds of ${D} s: creates alone, then beside $READERS feed clients"
: > "$WD/rounds.txt"
for r in $(seq "$ROUNDS"); do
    read -r a50 a_p50 a_p99 a_bad <<< "$(creates)"
    timeout $((D + 32)) wrk -t1 -c"$READERS" -d"$((D + 2))s" --latency -s "$WD/feed.lua" "$URL/" > "$WD/feed.txt" &
    FEED=$!
    # The WAL's size meanwhile: with a reader always inside a read transaction, checkpoints could
    # not reset it (layers/audit_reader.c leaves gaps past 8 MB).
    ( while alive "$FEED"; do stat -c %s "$WD/store/crisismap.gpkg-wal" 2>/dev/null || echo 0; sleep 0.5; done ) \
        | sort -n | tail -1 > "$WD/wal_max.txt" &
    sleep 1
    read -r b50 b_p50 b_p99 b_bad <<< "$(creates)"
    wait $FEED || true
    wait
    wal_mb=$(awk '{printf "%.1f", $1 / 1048576}' "$WD/wal_max.txt")
    feed=$(awk '/Requests\/sec/{print $2}' "$WD/feed.txt")
    feed_bad=$(awk '/Non-2xx/{print $5}' "$WD/feed.txt")
    printf 'round %d: alone %5s/s (p50 %s ms, p99 %s ms) | beside feed %5s/s (p50 %s ms, p99 %s ms) | feed pages %s/s%s | WAL max %s MB\n' \
        "$r" "$a50" "$a_p50" "$a_p99" "$b50" "$b_p50" "$b_p99" "$feed" "${feed_bad:+, $feed_bad not 200}" "$wal_mb"
    [ "$a_bad" = 0 ] && [ "$b_bad" = 0 ] || echo "  (some creates were not 201: $a_bad, $b_bad)"
    echo "$a50 $b50" >> "$WD/rounds.txt"
done | tee "$WD/table.txt"
python3 - "$WD/rounds.txt" <<'PY' | tee -a "$WD/table.txt"
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
ratios = [b / a for a, b in rows if a > 0]
print("creates beside the feed / alone: median %.2fx (rounds %s)" % (statistics.median(ratios), ", ".join("%.2f" % x for x in ratios)))
PY
{ echo "crisismap change feed beside writes, $STAMP, $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')";
  echo "services after growing: $COUNT; $READERS feed clients; ${D} s windows"; cat "$WD/table.txt"; } > "$RESULTS"
echo "report: $RESULTS"
