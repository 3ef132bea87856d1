#!/usr/bin/env python3
"""crisismap write benchmark: durable creates/s with 1 and 8 clients, and read latency while writers run.

usage: bench_write.py run --base http://127.0.0.1:PORT --token-file F --pid PID --run DIR --out RESULTS.jsonl
                          [-d 10] [--warm 2] [--read-delay-ms 2] [--retries 1] [--deadline EPOCH]
       bench_write.py quiet [--max-wait 30]      (wait, bounded, until the machine is nearly idle)
       bench_write.py report RESULTS.jsonl META.json

Python standard library + wrk (Debian). Every load is a wrk run bounded by -d plus a hard `timeout`.

run, in this order (each phase first waits until the server is idle, wrkrun.quiesce):
  1. preflight (urllib): one POST must answer 201 with a Location whose GET answers 200 with the same
     feature; the read targets must answer 200.
  2. creates, 1 client  : wrk -t1 -c1, a Lua script (generated into --run) POSTs one new `services` Point
     per request (distinct coordinates and names); --warm s unrecorded, then -d s recorded.
  2b. paired            : --pairs alternating windows of --pair-s s: raw 1-connection inserts (raw_gpkg_insert's
     Inserter, in this process, on a fresh copy of --raw-src in --raw-dir) and 1-client creates, raw first in
     even pairs, crisismap first in odd ones. The 1-client target is judged on the median pair ratio: the
     disk's fsync rate drifts by 2x within seconds on this VM, and adjacent windows share its mood.
     With --floor, each pair has a third window between the two: the same 1-client creates against
     bench/http_floor.c (libmicrohttpd doing the raw insert on its own thread, nothing else): information,
     what the HTTP round trip itself costs here. With --floor-owner, a fourth beside the crisismap window
     (raw, floor, crisismap, owner-thread floor, then the reverse): http_floor.c --owner-thread --audit (the
     insert and an audit row committed by a second thread that owns the store): information, the least a
     server built as issue 3 asks does per create.
  3. creates, 8 clients : wrk -t2 -c8, the same.
  3b. paired, 8 clients : as 2b, with wrk -t2 -c8 beside the same raw 1-connection inserts (their points east of
     the read bbox, as in step 5). The 8-client figure is judged on its median pair ratio.
     A create counts only when it answered 201 (the Lua response() hook counts statuses; non-201 answers
     and socket errors are reported, and invalidate the row). Latency percentiles are wrk's, over every
     response of the window. The store's services count (/healthz) is read before and after each window:
     it must grow by at least the number of 201s (by at most that + the connections in flight at the end).
  4. reads, idle        : three paced readers at once, each its own wrk -t1 -c1 with a think time of
     --read-delay-ms between a response and the next request (delay() hook), for -d s: feature by id
     (the demo's services ids, cycled), roads bbox 7.41,43.73,7.42,43.74 (the layer nobody writes), and
     services bbox, same box (the layer being written). Paced, not flat out: the question is the latency
     a map user sees, not how many reads the 2 cores can squeeze in beside the writers.
  5. reads, 8 writers   : the same readers while a wrk -t2 -c8 creator runs (started --warm s before the
     readers, ends 1 s after them; its points go east of the read bbox, so the bbox answers keep their
     size); the creator's rate over its whole run is recorded too.
  5b. reads, raw disk   : the same readers beside raw 1-connection GeoPackage inserts by this script (a thread,
     on a copy of the store made once in --raw-dir): the fsyncs and their interrupts of a writer the server
     does no work for. Information: the part of the loaded p99 that no server design can remove on this box.
     Steps 4, 5 and 5b run --read-rounds times in turn; the report judges the read targets on the median of
     the rounds' p99 ratios (loaded / idle), as one window pair on a shared box can land on a calm or a busy
     moment.
  6. creates, 1 client, again at the end: same as 2, on the layer grown by the run (each commit maintains the
     layer's snapshot and spatial index, whose cost may depend on the layer size).
CPU is accounted per window: the server's process tree, this script and its wrk processes, the whole machine;
"other" = machine - server - ours. The box is shared: a phase whose window saw more than OTHER_CPU_LIMIT cores
of other work is run once more (--retries) and flagged "!" in the report if it stays disturbed.
Each phase appends one JSON record per wrk run to --out (measure = write_c1, write_c1_paired and write_c8_paired (one record
for all pairs each), write_c8, read_idle, read_loaded, write_during_reads, read_rawdisk, raw_during_reads, write_c1_grown;
plus preflight).

report prints the table and the target checks from those records, the raw GeoPackage records written
by raw_gpkg_insert.py into the same file, and META.json (written by write.sh).
"""
import argparse, json, os, re, resource, statistics, subprocess, sys, time, urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the checkout
import wrkrun  # noqa: E402  (proc_table, tree_ticks, quiesce: the read benchmark's helpers)

SERVICES = "/api/collections/services/items"
ROADS_BBOX = "/api/collections/roads/items?bbox=7.41,43.73,7.42,43.74"
SERVICES_BBOX = "/api/collections/services/items?bbox=7.41,43.73,7.42,43.74"

LUA_JSON_DONE = r'''
local function esc(s) return (s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('%c', ' ')) end
function done(summary, latency, requests)
  local ok, other, fo = 0, 0, ""
  for _, t in ipairs(threads) do
    ok = ok + (t:get("n_ok") or 0); other = other + (t:get("n_other") or 0)
    local f = t:get("first_other")
    if fo == "" and f and f ~= "" then fo = f end
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,' ..
    '"lat_p99_us":%d,"lat_max_us":%d,"n_ok":%d,"n_other":%d,"first_other":"%s"}\n', summary.requests,
    summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, ok, other, esc(fo)))
end
'''

def lua_count_answers(ok_status):
    """wrk's response() hook: counts answers with ok_status, keeps the first other one for the report."""
    return """function response(status, headers, body)
  if status == %d then n_ok = n_ok + 1
  else
    n_other = n_other + 1
    if first_other == "" then first_other = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
  end
end
""" % ok_status


# POST one new services feature per request; a request counts only when it answered 201.
LUA_POST = r'''-- generated by bench/bench_write.py: creates services features, counts 201 answers
local token = os.getenv("BW_TOKEN")
local path = os.getenv("BW_PATH")
local label = os.getenv("BW_LABEL") or "w"
-- longitudes lon0 .. lon0 + lon_span (degrees)
local lon0 = tonumber(os.getenv("BW_LON0") or "7.405")
local lon_units = math.floor(tonumber(os.getenv("BW_LON_SPAN") or "0.03") * 1000000 + 0.5)
threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args)
  n_ok = 0; n_other = 0; seq = 0; first_other = ""
  hdrs = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/geo+json"}
end
function request()
  seq = seq + 1
  local k = (tid or 0) * 1000003 + seq
  local lon = lon0 + (k * 7919 % lon_units) / 1000000
  local lat = 43.725 + (k * 104729 % 25000) / 1000000
  local body = string.format('{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},' ..
    '"properties":{"kind":"water","name":"bench %s %d-%d","capacity":%d}}', lon, lat, label, tid or 0, seq, seq % 500)
  return wrk.format("POST", path, hdrs, body)
end
''' + lua_count_answers(201) + LUA_JSON_DONE

# GET paths from a file, cycled, with a think time between a response and the next request.
LUA_READ = r'''-- generated by bench/bench_write.py: paced reader, counts 200 answers
local pf = os.getenv("BW_PATHS")
local think = tonumber(os.getenv("BW_DELAY_MS") or "0")
threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
local paths = {}
for line in io.lines(pf) do if #line > 0 then paths[#paths + 1] = line end end
assert(#paths > 0, "empty BW_PATHS file " .. pf)
local i = 0
function init(args) n_ok = 0; n_other = 0; first_other = "" end
function request()
  i = i % #paths + 1
  return wrk.format(nil, paths[i])
end
function delay() return think end
''' + lua_count_answers(200) + LUA_JSON_DONE


# ---------------------------------------------------------------- small HTTP helpers (urllib)
def http(method, url, body=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict((k.lower(), v) for k, v in r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict((k.lower(), v) for k, v in e.headers.items()), e.read()


def writer_figures(base):
    """The persistence worker's totals from /healthz (writes: edits, batches, queue_wait_ms, apply_ms, commit_ms),
    or None from a server without them."""
    st, _, body = http("GET", base + "/healthz")
    try:
        return json.loads(body)["writes"] if st == 200 else None
    except (ValueError, KeyError, TypeError):
        return None


def phases_per_create(w0, w1, per_s, conns):
    """Where a window's creates spent their time, in microseconds per create, from the worker's totals before and
    after it: waiting for the worker, being applied (rows, audit record), in the COMMIT (WAL write + fsync: the
    disk's), and the rest of the round trip (HTTP, the client, the hand-back). None without the figures."""
    if not w0 or not w1 or not per_s or w1["edits"] <= w0["edits"]:
        return None
    n = w1["edits"] - w0["edits"]
    us = lambda k: round((w1[k] - w0[k]) * 1000.0 / n, 1)
    out = dict(edits=n, batches=w1["batches"] - w0["batches"], wait_us=us("queue_wait_ms"), apply_us=us("apply_ms"),
               commit_us=us("commit_ms"))
    # With one client every create's round trip is 1/rate; the batch's apply and commit are shared by its edits.
    if conns == 1:
        out["rest_us"] = round(1e6 / per_s - out["wait_us"] - out["apply_us"] - out["commit_us"], 1)
    return out


def services_count(base):
    st, _, body = http("GET", base + "/healthz")
    if st != 200:
        return None
    try:
        return json.loads(body)["layers"]["services"]
    except (ValueError, KeyError, TypeError):
        return None


# ---------------------------------------------------------------- wrk
class Wrk:
    def __init__(self, script, url, c, t, d, env, timeout="30s"):
        self.cmd = ["timeout", "-k", "5", str(d + 60), "wrk", "-t%d" % t, "-c%d" % c, "-d%ds" % d,
                    "--timeout", timeout, "--latency", "-s", script, url]
        self.c, self.t, self.d = c, t, d
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  env=dict(os.environ, **env))
        self.t0 = time.time()

    def result(self):
        out = self.p.communicate()[0].decode(errors="replace")
        self.wall = time.time() - self.t0
        m = re.search(r"WRKJSON (\{.*\})", out)
        if not m:
            sys.stderr.write(out)
            raise SystemExit("wrk failed: %s" % " ".join(self.cmd))
        return json.loads(m.group(1))


def summarize(r, c, t):
    dur = r["duration_us"] / 1e6
    errors = r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"]
    return dict(conns=c, threads=t, dur_s=round(dur, 2), requests=r["requests"], ok=r["n_ok"],
                not_ok=r["n_other"], errors=errors, first_not_ok=r["first_other"] or None,
                ok_per_s=round(r["n_ok"] / dur, 1) if dur else 0.0,
                bytes_per_resp=round(r["bytes"] / r["requests"]) if r["requests"] else 0,
                p50_ms=r["lat_p50_us"] / 1000, p90_ms=r["lat_p90_us"] / 1000, p99_ms=r["lat_p99_us"] / 1000,
                max_ms=r["lat_max_us"] / 1000, mean_ms=round(r["lat_mean_us"] / 1000, 3))


def host_busy_ticks():
    """Busy ticks of the whole machine (all CPUs): total - idle - iowait, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - (v[4] if len(v) > 4 else 0)


# Cores used outside the server and the load generator above which a window is flagged as disturbed. "other"
# also holds kernel threads flushing for our own fsyncs (~0.2-0.5 cores at ~3,000 fsyncs/s in the raw runs).
OTHER_CPU_LIMIT = 0.6


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class CPU:
    """Cores used between start() and stop() by the server's process tree (server), by this script and the wrk
    processes it runs (gen: descendants alive at both ends by /proc ticks, those reaped in between by
    RUSAGE_CHILDREN), by the whole machine (host), and the rest (other = host - server - gen: someone else's
    work on the shared box)."""

    def __init__(self, pids):
        self.pids = pids

    def start(self):
        t = wrkrun.proc_table()
        self.s0 = wrkrun.tree_ticks(self.pids, t); self.g0 = wrkrun.tree_ticks([os.getpid()], t)
        self.c0 = children_cpu_s(); self.h0 = host_busy_ticks(); self.w0 = time.time()

    def stop(self):
        t = wrkrun.proc_table()
        s1 = wrkrun.tree_ticks(self.pids, t); g1 = wrkrun.tree_ticks([os.getpid()], t)
        c1 = children_cpu_s(); h1 = host_busy_ticks(); wall = time.time() - self.w0
        if wall <= 0:
            self.host = self.gen = self.other = None
            return None
        server = sum(max(0, s1[p] - self.s0.get(p, 0)) for p in s1) / wrkrun.HZ / wall
        gen = (sum(max(0, g1[p] - self.g0[p]) for p in g1 if p in self.g0) / wrkrun.HZ + (c1 - self.c0)) / wall
        self.host = round((h1 - self.h0) / wrkrun.HZ / wall, 2)
        self.gen = round(gen, 2)
        self.other = round(max(0.0, self.host - server - gen), 2)
        return round(server, 2)


def busiest(n=4):
    """The processes that used the most CPU over 0.5 s, as 'comm(pid) cores'."""
    a = wrkrun.proc_table(); time.sleep(0.5); b = wrkrun.proc_table()
    use = sorted(((b[p][1] - a[p][1], p) for p in b if p in a), reverse=True)[:n]
    out = []
    for ticks, p in use:
        try:
            comm = open("/proc/%d/comm" % p).read().strip()
        except OSError:
            comm = "?"
        out.append("%s(%d) %.2f" % (comm, p, ticks / wrkrun.HZ / 0.5))
    return out


def wait_quiet(max_wait, limit=0.3):
    """Wait (at most max_wait s) until the machine is nearly idle over 1 s; returns (seconds waited, busy cores)."""
    t0 = time.time()
    while True:
        h0 = host_busy_ticks(); time.sleep(1.0); busy = (host_busy_ticks() - h0) / wrkrun.HZ
        if busy < limit or time.time() - t0 >= max_wait:
            return round(time.time() - t0, 1), round(busy, 2)


def append(out, rec):
    rec["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")


# ---------------------------------------------------------------- phases
def preflight(a, token, paths):
    body = json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                       "properties": {"kind": "water", "name": "bench preflight", "capacity": 10}}).encode()
    hdrs = {"Authorization": "Bearer " + token, "Content-Type": "application/geo+json"}
    t0 = time.perf_counter()
    st, h, b = http("POST", a.base + SERVICES, body, hdrs)
    post_ms = (time.perf_counter() - t0) * 1000
    if st != 201:
        raise SystemExit("preflight: POST %s answered %s: %s" % (SERVICES, st, b[:300]))
    loc = h.get("location", "")
    created = json.loads(b)
    fid = created.get("id")
    m = re.match(r"^https?://[^/]+(/.*)$", loc)
    if not m or not loc.endswith("/%s" % fid):
        raise SystemExit("preflight: 201 without a Location naming the new id (Location %r, id %r)" % (loc, fid))
    st2, h2, b2 = http("GET", a.base + m.group(1))
    if st2 != 200 or json.loads(b2).get("properties", {}).get("name") != "bench preflight":
        raise SystemExit("preflight: GET %s after the 201 answered %s: %s" % (m.group(1), st2, b2[:300]))
    info = dict(post_status=st, post_ms=round(post_ms, 2), location=m.group(1), id=fid, post_resp_bytes=len(b),
                etag_post=h.get("etag"), etag_get=h2.get("etag"))
    for name, path in paths.items():
        first = open(path).readline().strip()
        st, _, body = http("GET", a.base + first)
        if st != 200:
            raise SystemExit("preflight: GET %s answered %s" % (first, st))
        d = json.loads(body)
        info[name] = dict(path=first, bytes=len(body), features=len(d["features"]) if "features" in d else 1,
                          number_matched=d.get("numberMatched"))
    print("  POST %s -> 201 in %.1f ms, Location %s (GET 200, same feature)" % (SERVICES, post_ms, info["location"]))
    for name in paths:
        x = info[name]
        print("  GET %-55s 200  %6d bytes  %3d features%s" % (x["path"][:55], x["bytes"], x["features"],
              "" if x["number_matched"] is None else " (numberMatched %s)" % x["number_matched"]))
    append(a.out, dict(measure="preflight", **info))
    return info


def write_phase(a, measure, c, t, env, title):
    wrkrun.quiesce(a.pids)
    if a.warm > 0:
        Wrk(a.post_lua, a.base + "/", c, t, a.warm, dict(env, BW_LABEL=measure + "-warm")).result()
        wrkrun.quiesce(a.pids)
    n0 = services_count(a.base)
    cpu = CPU(a.pids); cpu.start()
    w = Wrk(a.post_lua, a.base + "/", c, t, a.d, dict(env, BW_LABEL=measure))
    r = w.result()
    cores = cpu.stop()
    time.sleep(0.2)  # the last in-flight requests (not counted by wrk) finish
    n1 = services_count(a.base)
    rec = dict(measure=measure, title=title, **summarize(r, c, t))
    rec.update(server_cpu_cores=cores, host_cpu_cores=cpu.host, gen_cpu_cores=cpu.gen, other_cpu_cores=cpu.other,
               services_before=n0, services_after=n1,
               store_grew=(n1 - n0) if n0 is not None and n1 is not None else None)
    rec["cpu_ms_per_create"] = round(cores * rec["dur_s"] * 1000 / rec["ok"], 3) if cores and rec["ok"] else None
    grew_ok = rec["store_grew"] is not None and rec["ok"] <= rec["store_grew"] <= rec["ok"] + c
    rec["store_check"] = "ok" if grew_ok else "MISMATCH"
    append(a.out, rec)
    print("  %-30s c%-2d %8.1f creates/s  p50 %7.2f ms  p99 %7.2f ms  max %7.1f ms  201: %d  non-201: %d  err: %d  "
          "server CPU %.2f cores (%.2f ms/create), host %.2f, other %.2f  services %s -> %s%s" % (
              title, c, rec["ok_per_s"], rec["p50_ms"], rec["p99_ms"], rec["max_ms"], rec["ok"], rec["not_ok"],
              rec["errors"], cores or 0, rec["cpu_ms_per_create"] or 0, cpu.host, cpu.other, n0, n1,
              "" if grew_ok else "  STORE COUNT MISMATCH (grew %s for %d acknowledged creates)" % (rec["store_grew"], rec["ok"])),
          flush=True)
    if rec["first_not_ok"]:
        print("    first non-201 answer: %s" % rec["first_not_ok"])
    return rec


def raw_copy(a, name):
    """A fresh copy of the store for raw inserts, in --raw-dir (the store's disk): (path, rows in services)."""
    import raw_gpkg_insert as raw
    db = os.path.join(a.raw_dir, name)
    raw.remove_copy(db)
    os.makedirs(a.raw_dir, exist_ok=True)
    has_table, _, rows0 = raw.make_copy(a.raw_src, db, "services")
    if not has_table:
        raise SystemExit("no services table in the copy of %s" % a.raw_src)
    return db, rows0


def paired_phase(a, env, measure, conns, threads, title):
    """crisismap creates with `conns` clients and raw 1-connection GeoPackage inserts in alternating short
    windows (raw, crisismap; then crisismap, raw; ...). The disk's fsync rate on this kind of VM drifts by 2x
    over seconds (bench/README.md), so windows measured minutes apart compare the disk's moods as much as the
    two writers; adjacent windows share them."""
    import raw_gpkg_insert as raw
    label = "paired-c%d" % conns
    db, rows0 = raw_copy(a, "paired-raw.gpkg")
    ins = raw.Inserter(db, "services", 0, False)
    pairs = []
    try:
        wrkrun.quiesce(a.pids)
        raw.insert_for(ins, 1.0)  # unrecorded warm-up of both sides
        Wrk(a.post_lua, a.base + "/", conns, threads, 1, dict(env, BW_LABEL=label + "-warm")).result()
        n0 = services_count(a.base)
        floors = {k: u for k, u in (("floor", a.floor), ("floor_owner", a.floor_owner)) if u and conns == 1}
        for k, u in floors.items():
            Wrk(a.post_lua, u + "/", 1, 1, 1, dict(env, BW_LABEL="%s-%s-warm" % (label, k))).result()
        for i in range(a.pairs):
            res = {}
            # raw and crisismap one window apart, as before the owner-thread floor came; it goes beside
            # crisismap, the figure it bounds
            sides = ("raw", "floor", "cm", "floor_owner")
            for side in (s for s in (sides if i % 2 == 0 else reversed(sides)) if s in ("raw", "cm") or s in floors):
                if side in floors:
                    r = summarize(Wrk(a.post_lua, floors[side] + "/", 1, 1, a.pair_s,
                                      dict(env, BW_LABEL="%s-%s-%d" % (label, side, i))).result(), 1, 1)
                    res[side] = dict(n=r["ok"], s=r["dur_s"], per_s=r["ok_per_s"], p50_ms=r["p50_ms"],
                                     p99_ms=r["p99_ms"], not_ok=r["not_ok"], errors=r["errors"])
                elif side == "raw":
                    n, wall, lat = raw.insert_for(ins, a.pair_s)
                    res["raw"] = dict(n=n, s=round(wall, 3), per_s=round(n / wall, 1),
                                      p50_ms=round(raw.pct(lat, 50) * 1000, 3), p99_ms=round(raw.pct(lat, 99) * 1000, 3))
                else:
                    w0 = writer_figures(a.base)
                    r = summarize(Wrk(a.post_lua, a.base + "/", conns, threads, a.pair_s,
                                      dict(env, BW_LABEL="%s-%d" % (label, i))).result(), conns, threads)
                    res["cm"] = dict(n=r["ok"], s=r["dur_s"], per_s=r["ok_per_s"], p50_ms=r["p50_ms"],
                                     p99_ms=r["p99_ms"], not_ok=r["not_ok"], errors=r["errors"])
                    ph = phases_per_create(w0, writer_figures(a.base), r["ok_per_s"], conns)
                    if ph:
                        res["cm"]["phases"] = ph
            res["ratio"] = round(res["cm"]["per_s"] / res["raw"]["per_s"], 3) if res["raw"]["per_s"] else None
            for k in floors:
                if res["raw"]["per_s"]:
                    res[k + "_ratio"] = round(res[k]["per_s"] / res["raw"]["per_s"], 3)
            pairs.append(res)
            ph = res["cm"].get("phases")
            print("  pair %d: raw %7.1f inserts/s, crisismap %7.1f creates/s  ratio %.2fx%s%s%s" % (
                i + 1, res["raw"]["per_s"], res["cm"]["per_s"], res["ratio"] or 0,
                "  (HTTP floor %.1f/s, %.2fx)" % (res["floor"]["per_s"], res.get("floor_ratio") or 0)
                if "floor" in res else "",
                "  (owner-thread floor %.1f/s, %.2fx)" % (res["floor_owner"]["per_s"], res.get("floor_owner_ratio") or 0)
                if "floor_owner" in res else "",
                "  [us per create: wait %.0f, apply %.0f, commit %.0f%s; %.1f creates per commit]" % (
                    ph["wait_us"], ph["apply_us"], ph["commit_us"],
                    ", rest %.0f" % ph["rest_us"] if "rest_us" in ph else "", ph["edits"] / max(1, ph["batches"]))
                if ph else ""), flush=True)
        time.sleep(0.2)
        n1 = services_count(a.base)
    finally:
        ins.close()
        raw.remove_copy(db)
    ok = sum(x["cm"]["n"] for x in pairs)
    rs = [x["ratio"] for x in pairs if x["ratio"] is not None]
    rec = dict(measure=measure, title=title, conns=conns, pair_s=a.pair_s,
               pairs=pairs, raw_rows_before=rows0,
               raw_per_s=round(sum(x["raw"]["n"] for x in pairs) / sum(x["raw"]["s"] for x in pairs), 1),
               cm_per_s=round(ok / sum(x["cm"]["s"] for x in pairs), 1),
               median_ratio=statistics.median(rs) if rs else None,
               not_ok=sum(x["cm"]["not_ok"] for x in pairs), errors=sum(x["cm"]["errors"] for x in pairs),
               services_before=n0, services_after=n1)
    for k in ("floor", "floor_owner"):
        fr = [x[k + "_ratio"] for x in pairs if x.get(k + "_ratio") is not None]
        if fr:
            rec[k + "_median_ratio"] = statistics.median(fr)
            rec[k + "_not_ok"] = sum(x[k]["not_ok"] + x[k]["errors"] for x in pairs if k in x)
    grew = (n1 - n0) if n0 is not None and n1 is not None else None
    rec["store_check"] = "ok" if grew is not None and ok <= grew <= ok + a.pairs * conns else "MISMATCH"
    append(a.out, rec)
    print("  all pairs: raw %.1f inserts/s, crisismap %.1f creates/s; median pair ratio %.2fx; store %s" % (
        rec["raw_per_s"], rec["cm_per_s"], rec["median_ratio"] or 0, rec["store_check"]), flush=True)
    return rec


def raw_load_start(a):
    """Raw 1-connection GeoPackage inserts by this process (a thread; sqlite3 releases the GIL while it waits on the
    disk) on a copy of the store on the same disk, until the returned stop() is called: the fsync load of a writer
    that costs the server nothing. Returns stop(), which answers (inserts, seconds)."""
    import threading
    import raw_gpkg_insert as raw
    if getattr(a, "raw_load_ins", None) is None:
        db, _ = raw_copy(a, "reads-raw.gpkg")
        a.raw_load_db, a.raw_load_ins = db, raw.Inserter(db, "services", 7, False)
    stop, count = threading.Event(), [0]

    def loop():
        while not stop.is_set():
            a.raw_load_ins.one()
            count[0] += 1
    t0 = time.perf_counter()
    th = threading.Thread(target=loop, daemon=True)
    th.start()

    def finish():
        stop.set()
        th.join(30)
        return count[0], time.perf_counter() - t0
    return finish


def raw_load_close(a):
    import raw_gpkg_insert as raw
    if getattr(a, "raw_load_ins", None) is not None:
        a.raw_load_ins.close()
        raw.remove_copy(a.raw_load_db)
        a.raw_load_ins = None


def read_phase(a, measure, env, readers, load, rnd=0):
    """The paced readers for -d s, with `load` beside them: None (idle), "cm" (8 clients creating through the
    server) or "raw" (raw inserts by this process into a copy of the store: the disk's load without the server's)."""
    wrkrun.quiesce(a.pids)
    writer = raw_stop = None
    n0 = services_count(a.base)
    if load == "cm":
        # Its points go east of the read bbox (lon > 7.42): the bbox answers keep their size, so the reads
        # compare with idle at equal work while the layer, its snapshots and its index change under them.
        writer = Wrk(a.post_lua, a.base + "/", 8, 2, a.warm + a.d + 1,
                     dict(env, BW_LABEL="during-reads", BW_LON0="7.4205", BW_LON_SPAN="0.0145"))
        time.sleep(a.warm + 0.2)
    elif load == "raw":
        raw_stop = raw_load_start(a)
        time.sleep(a.warm + 0.2)
    cpu = CPU(a.pids); cpu.start()
    ws = [(name, title, Wrk(a.read_lua, a.base + "/", 1, 1, a.d,
                            dict(BW_PATHS=path, BW_DELAY_MS=str(a.read_delay_ms)))) for name, title, path in readers]
    res = [(name, title, w.result()) for name, title, w in ws]
    cores = cpu.stop()
    recs = []
    print("  %-12s round %d: CPU in the readers' window (cores of %d): server %.2f, this script + wrk %.2f, whole machine %.2f, "
          "other %.2f%s" % (measure, rnd + 1, os.cpu_count() or 0, cores or 0, cpu.gen, cpu.host, cpu.other,
                            "  (SOMETHING ELSE WAS RUNNING)" if cpu.other > OTHER_CPU_LIMIT else ""))
    for name, title, r in res:
        rec = dict(measure=measure, target=name, title=title, think_ms=a.read_delay_ms, round=rnd, **summarize(r, 1, 1))
        rec["server_cpu_cores"] = cores
        rec.update(host_cpu_cores=cpu.host, gen_cpu_cores=cpu.gen, other_cpu_cores=cpu.other)
        append(a.out, rec)
        recs.append(rec)
        print("  %-12s %-34s %7.1f req/s  p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms  %6d B/resp  non-200: %d  err: %d" % (
            measure, title, rec["ok_per_s"], rec["p50_ms"], rec["p99_ms"], rec["max_ms"], rec["bytes_per_resp"],
            rec["not_ok"], rec["errors"]), flush=True)
        if rec["first_not_ok"]:
            print("    first non-200 answer: %s" % rec["first_not_ok"])
    if writer:
        r = writer.result()
        time.sleep(0.2)
        n1 = services_count(a.base)
        rec = dict(measure="write_during_reads", title="creates while readers run", **summarize(r, 8, 2))
        rec.update(services_before=n0, services_after=n1, server_cpu_cores_during_reads=cores, host_cpu_cores=cpu.host,
                   gen_cpu_cores=cpu.gen, other_cpu_cores=cpu.other,
                   store_grew=(n1 - n0) if n0 is not None and n1 is not None else None)
        append(a.out, rec)
        print("  %-12s %-34s %7.1f creates/s over %.0f s  p50 %6.2f ms  p99 %6.2f ms  201: %d  non-201: %d  err: %d  "
              "services %s -> %s  (server CPU while reading+writing %.2f cores)" % (
                  "writers", "8 clients (wrk -t2 -c8)", rec["ok_per_s"], rec["dur_s"], rec["p50_ms"], rec["p99_ms"],
                  rec["ok"], rec["not_ok"], rec["errors"], n0, n1, cores or 0), flush=True)
    if raw_stop:
        n, wall = raw_stop()
        rec = dict(measure="raw_during_reads", round=rnd, inserts=n, seconds=round(wall, 2),
                   inserts_per_s=round(n / wall, 1) if wall else 0.0, server_cpu_cores_during_reads=cores,
                   host_cpu_cores=cpu.host, gen_cpu_cores=cpu.gen, other_cpu_cores=cpu.other)
        append(a.out, rec)
        print("  %-12s %-34s %7.1f inserts/s over %.0f s  (server CPU while reading %.2f cores)" % (
            "raw writer", "python sqlite3, copy of the store", rec["inserts_per_s"], wall, cores or 0), flush=True)
    return recs


def run(a):
    if not re.match(r"^http://127\.0\.0\.1:\d+$", a.base):
        raise SystemExit("refusing a non-loopback target: " + a.base)
    os.makedirs(a.run, exist_ok=True)
    token = open(a.token_file).read().strip()
    a.pids = [int(p) for p in str(a.pid).split(",") if p.strip().isdigit()]
    a.post_lua = os.path.join(a.run, "bw_post.lua")
    a.read_lua = os.path.join(a.run, "bw_read.lua")
    with open(a.post_lua, "w") as f:
        f.write(LUA_POST)
    with open(a.read_lua, "w") as f:
        f.write(LUA_READ)
    # ids of the features present before any write (the demo's services), for the by-id reader
    st, _, body = http("GET", a.base + SERVICES + "?limit=10000")
    if st != 200:
        raise SystemExit("GET %s?limit=10000 answered %s" % (SERVICES, st))
    ids = [f["id"] for f in json.loads(body)["features"]]
    if not ids:
        raise SystemExit("the services layer is empty")
    paths = {"id": os.path.join(a.run, "bw_ids.txt"), "roads_bbox": os.path.join(a.run, "bw_roads_bbox.txt"),
             "services_bbox": os.path.join(a.run, "bw_services_bbox.txt")}
    with open(paths["id"], "w") as f:
        f.write("".join("%s/%s\n" % (SERVICES, i) for i in ids))
    with open(paths["roads_bbox"], "w") as f:
        f.write(ROADS_BBOX + "\n")
    with open(paths["services_bbox"], "w") as f:
        f.write(SERVICES_BBOX + "\n")
    readers = [("id", "feature by id (services, %d ids)" % len(ids), paths["id"]),
               ("roads_bbox", "bbox roads (not written)", paths["roads_bbox"]),
               ("services_bbox", "bbox services (being written)", paths["services_bbox"])]
    env = dict(BW_TOKEN=token, BW_PATH=SERVICES)

    print("-- preflight")
    preflight(a, token, paths)
    print("-- creates (wrk + Lua POST, %d s each after %d s unrecorded warm-up)" % (a.d, a.warm))

    left = [3 + 3 * a.read_rounds]  # phases still to run after the current one

    def retried(fn, *args):
        """Run a phase; once more (up to --retries) when someone else's work disturbed its window, if the time
        budget (--deadline) still holds the repeat and the phases after it. Every attempt stays in --out; the
        report uses the least disturbed attempt of each measurement."""
        left[0] -= 1
        phase_s = a.warm + a.d + 6
        for attempt in range(1 + a.retries):
            res = fn(*args)
            worst = max((r.get("other_cpu_cores") or 0) for r in (res if isinstance(res, list) else [res]))
            if worst <= OTHER_CPU_LIMIT or attempt == a.retries:
                return res
            if a.deadline and time.time() + 10 + phase_s * (left[0] + 1) > a.deadline:
                print("  (that window was disturbed: %.2f cores used by other work; no time left in the budget to repeat it)" % worst)
                return res
            print("  (that window was disturbed: %.2f cores used by other work; waiting for a quiet box, then once more)" % worst)
            wait_quiet(10)

    retried(write_phase, a, "write_c1", 1, 1, env, "POST create, 1 client")
    print("-- creates, 1 client, beside raw GeoPackage inserts: %d pairs of %d s windows, alternating" % (a.pairs, a.pair_s))
    paired_phase(a, env, "write_c1_paired", 1, 1, "creates 1 client / raw inserts, alternating windows")
    retried(write_phase, a, "write_c8", 8, 2, env, "POST create, 8 clients")
    print("-- creates, 8 clients, beside raw GeoPackage inserts: %d pairs of %d s windows, alternating" % (a.pairs, a.pair_s))
    # East of the read bbox, as the loaded readers' creator: the bbox answers of the read rounds keep their size.
    paired_phase(a, dict(env, BW_LON0="7.4205", BW_LON_SPAN="0.0145"), "write_c8_paired", 8, 2,
                 "creates 8 clients / raw inserts, alternating windows")
    print("-- reads: 3 paced readers at once (wrk -t1 -c1 each, %d ms think time), %d s; %d round(s) of idle then loaded"
          % (a.read_delay_ms, a.d, a.read_rounds))
    # Rounds of idle and loaded windows, in turn: on a shared box one window pair can land on a calm or a busy
    # moment; the target is judged on the median of the rounds' ratios.
    # The third window of each round puts the same readers beside raw GeoPackage inserts by this script: the disk
    # and the CPUs see a writer's fsyncs, the server does nothing for them. Information for reading the ratio.
    try:
        for rnd in range(a.read_rounds):
            retried(read_phase, a, "read_idle", env, readers, None, rnd)
            retried(read_phase, a, "read_loaded", env, readers, "cm", rnd)
            retried(read_phase, a, "read_rawdisk", env, readers, "raw", rnd)
    finally:
        raw_load_close(a)
    print("-- creates, 1 client, on the grown layer")
    retried(write_phase, a, "write_c1_grown", 1, 1, env, "POST create, 1 client, grown")
    return 0


# ---------------------------------------------------------------- report
READ_MEASURES = ("read_idle", "read_loaded", "read_rawdisk")


def f(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return "%.0f" % v
    return ("%." + str(nd) + "f") % v


def report(results, meta_path):
    recs = [json.loads(l) for l in open(results) if l.strip()]
    meta = json.load(open(meta_path)) if meta_path and os.path.exists(meta_path) else {}
    # A measurement repeated because other work disturbed its window: keep the least disturbed attempt
    # (the last one on a tie). The readers and the creator of one read attempt share one window.
    def keep(d, k, r):
        if k not in d or (r.get("other_cpu_cores") or 0) <= (d[k].get("other_cpu_cores") or 0):
            d[k] = r

    raw, by = {}, {}
    for r in recs:
        if r.get("measure") == "raw_gpkg_insert":
            keep(raw, r["mode"], r)
        elif r.get("measure") in READ_MEASURES:
            keep(by, (r["measure"], r["target"], r.get("round", 0)), r)
        elif "measure" in r:
            keep(by, r["measure"], r)
    attempts = {}  # one entry per attempt: raw modes, create phases, read phases (counted by their "id" reader)
    for r in recs:
        m = r.get("measure")
        k = ("raw", r["mode"]) if m == "raw_gpkg_insert" else (m if m in ("write_c1", "write_c8", "write_c1_grown") else
                                                               ((m, r.get("round", 0)) if m in READ_MEASURES and r.get("target") == "id" else None))
        if k:
            attempts[k] = attempts.get(k, 0) + 1
    repeated = sum(n - 1 for n in attempts.values())
    out = []
    p = out.append
    disturbed = []

    def other(r):  # cores used by neither the server nor the load generator during the window; "!" above the limit
        v = r.get("other_cpu_cores")
        if v is None:
            return "-"
        if v > OTHER_CPU_LIMIT:
            disturbed.append(r)
            return "%.2f!" % v
        return "%.2f" % v

    p("crisismap write benchmark  %s" % meta.get("stamp", ""))
    for k in ("mode", "host", "crisismap", "store", "disk", "wrk", "sqlite", "gdal"):
        if meta.get(k):
            p("  %-10s %s" % (k + ":", meta[k]))
    p("")
    p("Durable single-feature writes (each acknowledged only after its commit: WAL, synchronous=FULL)")
    hdr = ("measurement", "clients", "per s", "p50 ms", "p99 ms", "max ms", "ok/bad/err", "rows before->after", "srv CPU",
           "other CPU")
    rows = []
    raw_titles = [("c1", "raw GPKG insert (python sqlite3)"), ("c8", "raw GPKG insert, 8 connections"),
                  ("c1_audit", "raw GPKG insert + audit row")]
    for mode, title in raw_titles:
        r = raw.get(mode)
        if r is None:
            rows.append((title, "-", "not run", "-", "-", "-", "-", "-", "-", "-"))
            continue
        rows.append((title, str(r["threads"]), f(r["inserts_per_s"]), f(r["p50_ms"], 2), f(r["p99_ms"], 2),
                     f(r["max_ms"], 1), "%d/-/%d" % (r["inserts"], r["errors"]),
                     "%s->%s" % (r.get("rows_before", "?"), r.get("rows_after", "?")), "-", other(r)))
    for m, title in (("write_c1", "crisismap POST create"), ("write_c8", "crisismap POST create"),
                     ("write_during_reads", "crisismap POST create, beside readers"),
                     ("write_c1_grown", "crisismap POST create, grown layer")):
        r = by.get(m)
        if r is None:
            rows.append((title, "-", "not run", "-", "-", "-", "-", "-", "-", "-"))
            continue
        rows.append((title, str(r["conns"]), f(r["ok_per_s"]), f(r["p50_ms"], 2), f(r["p99_ms"], 2), f(r["max_ms"], 1),
                     "%d/%d/%d" % (r["ok"], r["not_ok"], r["errors"]),
                     "%s->%s" % (r.get("services_before"), r.get("services_after")),
                     f(r.get("server_cpu_cores") if m != "write_during_reads" else r.get("server_cpu_cores_during_reads"), 2),
                     other(r)))
    rd = [r for r in recs if r.get("measure") == "raw_during_reads"]
    if rd:
        rows.append(("raw GPKG insert, beside readers (%d windows)" % len(rd), "1",
                     f(sum(r["inserts"] for r in rd) / sum(r["seconds"] for r in rd)), "-", "-", "-",
                     "%d/-/-" % sum(r["inserts"] for r in rd), "-", "-", other(max(rd, key=lambda r: r["other_cpu_cores"]))))
    table(p, hdr, rows)
    for m, who in (("write_c1_paired", "1 client"), ("write_c8_paired", "8 clients")):
        pr = by.get(m)
        if not pr:
            continue
        p("")
        p("%s beside the raw insert (1 connection), in alternating %d s windows (the disk's fsync rate drifts over "
          "seconds)" % (who, pr["pair_s"]))
        floors = [(k, name) for k, name in (("floor", "HTTP floor"), ("floor_owner", "owner-thread floor"))
                  if k + "_median_ratio" in pr]
        fl = lambda q: sum(((f(q[k]["per_s"]), f(q[k]["p50_ms"], 2),
                             "%.2fx" % q[k + "_ratio"] if q.get(k + "_ratio") is not None else "-")
                            if k in q else ("-", "-", "-") for k, _ in floors), ())
        table(p, ("pair", "raw inserts/s", "raw p50 ms", "crisismap creates/s", "crisismap p50 ms", "ratio")
              + sum(((name + "/s", "p50 ms", "ratio") for _, name in floors), ()),
              [(str(i + 1), f(q["raw"]["per_s"]), f(q["raw"]["p50_ms"], 2), f(q["cm"]["per_s"]), f(q["cm"]["p50_ms"], 2),
                "%.2fx" % q["ratio"] if q["ratio"] is not None else "-") + fl(q) for i, q in enumerate(pr["pairs"])]
              + [("all", f(pr["raw_per_s"]), "", f(pr["cm_per_s"]), "", "%.2fx" % (pr["cm_per_s"] / pr["raw_per_s"]))
                 + sum((("", "", "%.2fx" % pr[k + "_median_ratio"] + " (median)") for k, _ in floors), ())])
        if "floor_median_ratio" in pr:
            p("  HTTP floor: bench/http_floor.c, libmicrohttpd on one thread doing the raw insert itself per request, "
              "no parsing, validation or audit record: what HTTP costs on this box")
        if "floor_owner_median_ratio" in pr:
            p("  owner-thread floor: http_floor.c --owner-thread --audit, the same with an audit row in the transaction "
              "and the commit on a second thread that owns the store: the least a server built as issue 3 asks does")
        phs = [(i, q["raw"], q["cm"]["phases"]) for i, q in enumerate(pr["pairs"]) if q["cm"].get("phases")]
        if phs and m == "write_c1_paired":
            p("  where a 1-client create's time goes (server's /healthz totals over each window), us per create:")
            table(p, ("pair", "raw insert (whole)", "queue wait", "apply (rows, audit)", "COMMIT (WAL + fsync)",
                      "rest (HTTP, client, hand-back)"),
                  [(str(i + 1), f(1e6 / r["per_s"]) if r["per_s"] else "-", f(x["wait_us"]), f(x["apply_us"]),
                    f(x["commit_us"]), f(x.get("rest_us", 0))) for i, r, x in phs])
    p("")
    think = next((r["think_ms"] for k, r in by.items() if isinstance(k, tuple)), None)
    p("Reads while idle and while 8 writers create (each reader: 1 keep-alive connection, %s ms think time)" % think)
    hdr2 = ("read", "idle p50", "idle p99", "loaded p50", "loaded p99", "p99 ratio", "raw-disk p99", "ratio",
            "req/s idle/loaded", "bytes", "bad/err", "other CPU idle/loaded")
    rows2 = []
    ratios = {}  # target -> [(round, ratio, idle rec, loaded rec)]
    disk_ratios = {}  # target -> [loaded beside raw inserts p99 / idle p99]
    rounds = sorted({k[2] for k in by if isinstance(k, tuple)})
    for tgt, title in (("id", "feature by id (services)"), ("roads_bbox", "bbox roads, limit 100"),
                       ("services_bbox", "bbox services, limit 100")):
        for rnd in rounds:
            i, l = by.get(("read_idle", tgt, rnd)), by.get(("read_loaded", tgt, rnd))
            label = title if len(rounds) == 1 else "%s, round %d" % (title, rnd + 1)
            if not i or not l:
                rows2.append((label,) + ("-",) * (len(hdr2) - 1))
                continue
            ratio = l["p99_ms"] / i["p99_ms"] if i["p99_ms"] else None
            if ratio is not None:
                ratios.setdefault(tgt, []).append((rnd, ratio, i, l))
            d = by.get(("read_rawdisk", tgt, rnd))
            dratio = d["p99_ms"] / i["p99_ms"] if d and i["p99_ms"] else None
            if dratio is not None:
                disk_ratios.setdefault(tgt, []).append(dratio)
            rows2.append((label, f(i["p50_ms"], 2), f(i["p99_ms"], 2), f(l["p50_ms"], 2), f(l["p99_ms"], 2),
                          ("%.2fx" % ratio) if ratio else "-", f(d["p99_ms"], 2) if d else "-",
                          ("%.2fx" % dratio) if dratio else "-", "%s/%s" % (f(i["ok_per_s"]), f(l["ok_per_s"])),
                          "%d/%d" % (i["bytes_per_resp"], l["bytes_per_resp"]),
                          "%d/%d" % (i["not_ok"] + l["not_ok"], i["errors"] + l["errors"]),
                          "%s/%s" % (other(i), other(l))))
    table(p, hdr2, rows2)
    wr = [r for r in recs if r.get("measure") == "write_during_reads"]
    if len(wr) > 1:
        p("")
        p("The 8 writers beside the loaded readers, per window (the layer grows: write stalls show here)")
        table(p, ("window", "services before->after", "creates/s", "p50 ms", "p99 ms", "max ms"),
              [(str(i + 1), "%s->%s" % (r.get("services_before"), r.get("services_after")), f(r["ok_per_s"]),
                f(r["p50_ms"], 2), f(r["p99_ms"], 2), f(r["max_ms"], 1)) for i, r in enumerate(wr)])
    if repeated > 0:
        p("")
        p("%d measurement(s) were repeated because other work disturbed the first window; the table shows the least "
          "disturbed attempt of each (all attempts are in %s)." % (repeated, results))
    if disturbed:
        p("")
        p("WARNING: %d window(s) marked ! ran while something else on the machine used more than %.2f cores (other CPU = "
          "whole machine - server - this benchmark's own processes): those figures, and ratios built on them, are not "
          "trustworthy; rerun when the box is quiet." % (len(disturbed), OTHER_CPU_LIMIT))
    p("")
    p("Targets (same run)")
    raw1 = raw.get("c1", {}).get("inserts_per_s")
    c1, c8 = by.get("write_c1"), by.get("write_c8")
    valid = lambda r: r is not None and r["not_ok"] == 0 and r["errors"] == 0 and r.get("store_check") == "ok"
    noisy = lambda *rs: " (! disturbed window)" if any(r is not None and (r.get("other_cpu_cores") or 0) > OTHER_CPU_LIMIT
                                                    for r in rs) else ""
    pr = by.get("write_c1_paired")
    if pr and pr.get("median_ratio") is not None:
        x = pr["median_ratio"]
        good = pr["not_ok"] == 0 and pr["errors"] == 0 and pr.get("store_check") == "ok"
        p("  creates/s 1 client / raw, alternating windows  %6.2fx   target >= 0.7          %s%s   (median of %d pairs: %s)" % (
            x, "PASS" if x >= 0.7 and good else "MISS", "" if good else " (invalid: non-201/errors/store count)",
            len(pr["pairs"]), ", ".join("%.2fx" % q["ratio"] for q in pr["pairs"] if q["ratio"] is not None)))
    if pr and pr.get("floor_median_ratio") is not None:
        fr = [q["floor_ratio"] for q in pr["pairs"] if q.get("floor_ratio") is not None]
        cf = [q["cm"]["per_s"] / q["floor"]["per_s"] for q in pr["pairs"] if "floor" in q and q["floor"]["per_s"]]
        p("  HTTP floor / raw, same pairs (information)      %6.2fx   crisismap / HTTP floor %.2fx%s   (pairs: %s)" % (
            pr["floor_median_ratio"], statistics.median(cf) if cf else 0,
            "" if not pr.get("floor_not_ok") else " (floor answered %d non-201/errors)" % pr["floor_not_ok"],
            ", ".join("%.2fx" % x for x in fr)))
    if pr and pr.get("floor_owner_median_ratio") is not None:
        fr = [q["floor_owner_ratio"] for q in pr["pairs"] if q.get("floor_owner_ratio") is not None]
        cf = [q["cm"]["per_s"] / q["floor_owner"]["per_s"] for q in pr["pairs"]
              if "floor_owner" in q and q["floor_owner"]["per_s"]]
        p("  owner-thread floor / raw, same pairs (info)     %6.2fx   crisismap / owner-thread floor %.2fx%s   (pairs: %s)" % (
            pr["floor_owner_median_ratio"], statistics.median(cf) if cf else 0,
            "" if not pr.get("floor_owner_not_ok") else " (it answered %d non-201/errors)" % pr["floor_owner_not_ok"],
            ", ".join("%.2fx" % x for x in fr)))
    if raw1 and c1:
        x = c1["ok_per_s"] / raw1
        p("  creates/s 1 client / raw GPKG insert/s          %6.2fx   %s%s%s" % (
            x, "(windows minutes apart; info)" if pr else "target >= 0.7          ",
            "" if pr else ("PASS" if x >= 0.7 and valid(c1) else "MISS"),
            ("" if valid(c1) else " (row invalid: non-201/errors/store count)") + noisy(c1, raw.get("c1"))))
    words = lambda x: "well above" if x >= 2 else ("above" if x > 1.2 else ("about equal" if x >= 0.8 else "below"))
    p8 = by.get("write_c8_paired")
    if p8 and p8.get("median_ratio") is not None:
        x = p8["median_ratio"]
        good = p8["not_ok"] == 0 and p8["errors"] == 0 and p8.get("store_check") == "ok"
        p("  creates/s 8 clients / raw, alternating windows %6.2fx   target: well above 1x  %s (ratio only)%s   (median of %d "
          "pairs: %s)" % (x, words(x), "" if good else " (invalid: non-201/errors/store count)", len(p8["pairs"]),
                          ", ".join("%.2fx" % q["ratio"] for q in p8["pairs"] if q["ratio"] is not None)))
    if raw1 and c8:
        x = c8["ok_per_s"] / raw1
        p("  creates/s 8 clients / raw GPKG insert/s         %6.2fx   %s%s" % (
            x, "(windows minutes apart; info)" if p8 else "target: well above 1x  %s (ratio only)" % words(x),
            ("" if valid(c8) else " (row invalid)") + noisy(c8, raw.get("c1"))))
    if raw1 and by.get("write_c1_grown"):
        g = by["write_c1_grown"]
        p("  creates/s 1 client, grown layer / raw           %6.2fx   (services layer %s features; info)" % (
            g["ok_per_s"] / raw1, g.get("services_before")))
    for tgt, title in (("id", "feature by id"), ("roads_bbox", "bbox roads"), ("services_bbox", "bbox services")):
        if not ratios.get(tgt):
            continue
        rs = ratios[tgt]
        median = statistics.median(x[1] for x in rs)
        bad = sum(i["not_ok"] + l["not_ok"] + i["errors"] + l["errors"] for _, _, i, l in rs)
        each = "" if len(rs) == 1 else "   (rounds: %s)" % ", ".join("%.2fx" % x[1] for x in sorted(rs))
        p("  read p99 under 8 writers / idle, %-14s %6.2fx   target <= 2            %s%s%s" % (
            title, median, "PASS" if median <= 2 and not bad else "MISS", (" (non-200/errors)" if bad else "")
            + noisy(*[r for _, _, i, l in rs for r in (i, l)]), each))
    if len(rounds) > 1:
        p("  (read targets: the median of the %d rounds' p99 ratios)" % len(rounds))
    for tgt, title in (("id", "feature by id"), ("roads_bbox", "bbox roads"), ("services_bbox", "bbox services")):
        if disk_ratios.get(tgt):
            p("  read p99 beside raw inserts / idle, %-12s %6.2fx   (info: another process's fsyncs, no server writes; "
              "rounds: %s)" % (title, statistics.median(disk_ratios[tgt]),
                               ", ".join("%.2fx" % x for x in sorted(disk_ratios[tgt]))))
    notes = meta.get("notes") or []
    if meta.get("store_after"):
        notes = notes + [meta["store_after"]]
    if notes:
        p("")
        p("Notes")
        for n in notes:
            p("  - " + n)
    print("\n".join(out))


def table(p, hdr, rows):
    w = [max(len(str(x[i])) for x in [hdr] + rows) for i in range(len(hdr))]
    line = lambda r: "  ".join((str(v).ljust(w[i]) if i == 0 else str(v).rjust(w[i])) for i, v in enumerate(r))
    p(line(hdr))
    for r in rows:
        p(line(r))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd")
    r = sub.add_parser("run")
    r.add_argument("--base", required=True); r.add_argument("--token-file", required=True)
    r.add_argument("--pid", required=True); r.add_argument("--run", required=True); r.add_argument("--out", required=True)
    r.add_argument("-d", type=int, default=10); r.add_argument("--warm", type=int, default=2)
    r.add_argument("--read-delay-ms", type=int, default=2)
    r.add_argument("--raw-src", required=True, help="the store, copied for the raw inserts of the paired phase")
    r.add_argument("--raw-dir", required=True, help="where that copy goes (the store's disk)")
    r.add_argument("--pairs", type=int, default=6, help="raw/crisismap window pairs of each paired phase (1 and 8 clients)")
    r.add_argument("--pair-s", type=int, default=2, help="seconds per window of the paired phase")
    r.add_argument("--floor", default="", help="URL of bench/http_floor.c's server: a third window in each 1-client pair")
    r.add_argument("--floor-owner", default="",
                   help="URL of bench/http_floor.c --owner-thread --audit: a fourth window in each 1-client pair")
    r.add_argument("--read-rounds", type=int, default=3, help="idle/loaded window pairs, in turn")
    r.add_argument("--retries", type=int, default=1, help="repeat a phase disturbed by other work at most this often")
    r.add_argument("--deadline", type=float, default=0, help="epoch seconds: no repeats that would end after it")
    q = sub.add_parser("quiet", help="wait (bounded) until the machine is nearly idle")
    q.add_argument("--max-wait", type=float, default=30)
    rp = sub.add_parser("report")
    rp.add_argument("results"); rp.add_argument("meta", nargs="?")
    a = ap.parse_args()
    if a.cmd == "run":
        return run(a)
    if a.cmd == "quiet":
        waited, busy = wait_quiet(a.max_wait)
        if busy < 0.3:
            print("  machine quiet (%.2f cores busy over 1 s) after %.0f s" % (busy, waited))
        else:
            print("  WARNING: the machine is still busy (%.2f cores over 1 s) after %.0f s; measuring anyway (see 'other CPU')"
                  % (busy, waited))
            print("  busiest processes: " + ", ".join(busiest()))
        return 0
    if a.cmd == "report":
        return report(a.results, a.meta) or 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
