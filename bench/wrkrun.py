#!/usr/bin/env python3
"""One bounded wrk measurement against 127.0.0.1; appends one JSON line to --out and prints a summary.

usage: wrkrun.py --measure M --server S --url http://127.0.0.1:PORT/path [--paths FILE] [-c 50] [-t 2]
                 [-d 10] [--warm 2] [--gzip] [--pids 123,456] --out results.jsonl

--pids: process ids of the server under test (their whole process trees are counted) for the CPU
figure, and to wait until the server is idle (queued work of the previous run drained) before the run.
--warm: an unrecorded wrk run of that many seconds first (opens datasets, fills caches, JIT-free servers
still fault in their pages). Python standard library only.
"""
import argparse, json, os, re, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
HZ = os.sysconf("SC_CLK_TCK")


def proc_table():
    t = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    s = f.read()
                rest = s[s.rindex(")") + 2:].split()
                t[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))  # ppid, utime+stime (ticks)
            except (OSError, ValueError, IndexError):
                pass
    return t


def tree_ticks(roots, table):
    pids = set(p for p in roots if p in table)
    changed = True
    while changed:
        changed = False
        for p, (pp, _) in table.items():
            if pp in pids and p not in pids:
                pids.add(p); changed = True
    return {p: table[p][1] for p in pids}


def quiesce(roots, max_wait=45.0):
    """Wait until the server trees use < 5 % of a core over 0.5 s (previous run's queue drained)."""
    t0 = time.time()
    while roots:
        a = tree_ticks(roots, proc_table()); time.sleep(0.5); b = tree_ticks(roots, proc_table())
        used = sum(max(0, b[p] - a.get(p, 0)) for p in b) / HZ / 0.5
        if used < 0.05 or time.time() - t0 > max_wait:
            break
    return round(time.time() - t0, 1)


def wrk(a, duration, env):
    threads = min(a.t, a.c)
    cmd = ["wrk", "-t%d" % threads, "-c%d" % a.c, "-d%ds" % duration, "--timeout", a.timeout, "--latency",
           "-s", os.path.join(HERE, "wrk_report.lua")]
    if a.gzip:
        cmd += ["-H", "Accept-Encoding: gzip"]
    cmd.append(a.url)
    # hard bound even if wrk misbehaves: duration + generous grace for in-flight slow responses
    p = subprocess.run(["timeout", "-k", "5", str(duration + 90)] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"WRKJSON (\{.*\})", out)
    if not m:
        sys.stderr.write(out)
        raise SystemExit("wrk failed (%s %s)" % (a.measure, a.server))
    return json.loads(m.group(1)), threads


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--measure", required=True); ap.add_argument("--server", required=True)
    ap.add_argument("--url", required=True); ap.add_argument("--paths", default="")
    ap.add_argument("-c", type=int, default=50); ap.add_argument("-t", type=int, default=2)
    ap.add_argument("-d", type=int, default=10); ap.add_argument("--warm", type=int, default=0)
    ap.add_argument("--timeout", default="60s"); ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--pids", default=""); ap.add_argument("--note", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not re.match(r"^http://127\.0\.0\.1:\d+/", a.url):
        raise SystemExit("refusing a non-loopback target: " + a.url)
    env = dict(os.environ, WRK_PATHS=a.paths)
    roots = [int(p) for p in a.pids.split(",") if p.strip().isdigit()]
    if a.warm > 0:
        quiesce(roots)
        wrk(a, a.warm, env)
    waited = quiesce(roots)
    s0 = tree_ticks(roots, proc_table()); w0 = time.time()
    r, threads = wrk(a, a.d, env)
    wall = time.time() - w0
    s1 = tree_ticks(roots, proc_table())
    srv_cores = sum(max(0, s1[p] - s0.get(p, 0)) for p in s1) / HZ / wall if roots else None
    dur = r["duration_us"] / 1e6
    n = r["requests"]
    rec = dict(measure=a.measure, server=a.server, url=a.url, paths=a.paths or None, gzip=a.gzip, conns=a.c,
               threads=threads, dur_s=round(dur, 2), requests=n, rps=round(n / dur, 1) if dur else 0.0,
               bytes_per_resp=round(r["bytes"] / n) if n else 0, mb_per_s=round(r["bytes"] / dur / 1e6, 1) if dur else 0.0,
               p50_ms=r["lat_p50_us"] / 1000, p90_ms=r["lat_p90_us"] / 1000, p99_ms=r["lat_p99_us"] / 1000,
               max_ms=r["lat_max_us"] / 1000, mean_ms=round(r["lat_mean_us"] / 1000, 3),
               errors=r["err_connect"] + r["err_read"] + r["err_write"] + r["err_timeout"],
               non2xx=r["err_status"], server_cpu_cores=round(srv_cores, 2) if srv_cores is not None else None,
               pre_wait_s=waited, note=a.note, ts=time.strftime("%Y-%m-%dT%H:%M:%S"))
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print("  %-22s %-28s c%-3d %10.1f req/s  p50 %8.2f ms  p99 %8.2f ms  %9d B/resp  err %d  non2xx %d  server CPU %s" % (
        a.measure, a.server, a.c, rec["rps"], rec["p50_ms"], rec["p99_ms"], rec["bytes_per_resp"], rec["errors"],
        rec["non2xx"], "%.2f cores" % srv_cores if srv_cores is not None else "-"), flush=True)


if __name__ == "__main__":
    main()
