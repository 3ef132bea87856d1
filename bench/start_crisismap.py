#!/usr/bin/env python3
"""Start `crisismap serve` in the background and measure its startup (Python standard library only).

usage: start_crisismap.py --bin CRISISMAP --config CONF --store STORE --log LOG --out startup.json [--timeout 300]

Startup time = from the exec of the server to the first /healthz answered 200 (the port is read from the
first stdout line, `listening on http://HOST:PORT`). Then VmRSS is read from /proc (memory with the
store loaded). Also times the first items request. The server keeps running (its own session, stdout and
stderr to LOG); its pid is in startup.json, and the caller stops it.
"""
import argparse, json, os, re, subprocess, sys, time, urllib.request


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True); ap.add_argument("--config", required=True)
    ap.add_argument("--store", required=True); ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True); ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--listen", default="127.0.0.1:0")
    a = ap.parse_args()
    log = open(a.log, "wb")
    cmd = [a.bin, "serve", "--config", a.config, "--listen", a.listen, "--store", a.store]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    # first stdout line: listening on http://HOST:PORT (polled from the log file every ms)
    m = None
    while True:
        with open(a.log, "rb") as f:
            head = f.read(4096)
        m = re.search(rb"listening on http://([0-9.]+):(\d+)", head)
        if m or p.poll() is not None or time.monotonic() > t0 + a.timeout:
            break
        time.sleep(0.001)
    t_listen = time.monotonic()
    if not m:
        sys.stderr.write("crisismap did not print 'listening on http://HOST:PORT' (exit %s); see %s\n" % (p.poll(), a.log))
        if p.poll() is None:
            p.kill()
        return 1
    host, port = m.group(1).decode(), int(m.group(2))
    if host != "127.0.0.1":
        p.kill()
        sys.stderr.write("crisismap listens on %s, not 127.0.0.1: stopped\n" % host)
        return 1
    base = "http://127.0.0.1:%d" % port
    deadline = t0 + a.timeout
    while True:
        st, body = get(base + "/healthz", timeout=2)
        if st == 200:
            break
        if p.poll() is not None:
            sys.stderr.write("crisismap exited with %s before /healthz answered; see %s\n" % (p.returncode, a.log))
            return 1
        if time.monotonic() > deadline:
            sys.stderr.write("/healthz not 200 within %.0f s (last: %s %r)\n" % (a.timeout, st, body[:200]))
            p.kill()
            return 1
        time.sleep(0.002)
    t_health = time.monotonic()
    rss_health = status_kb(p.pid, "VmRSS")
    st, _ = get(base + "/api/collections/services/items?limit=1", timeout=60)
    t_items = time.monotonic()
    rec = dict(pid=p.pid, port=port, base=base, cmd=cmd, listen_ms=round((t_listen - t0) * 1000, 1),
               startup_ms=round((t_health - t0) * 1000, 1), first_items_ms=round((t_items - t0) * 1000, 1),
               first_items_status=st, rss_kb=rss_health, rss_after_first_items_kb=status_kb(p.pid, "VmRSS"),
               healthz=body.decode(errors="replace")[:300])
    with open(a.out, "w") as f:
        json.dump(rec, f)
    print("crisismap pid %d on %s: listening after %.0f ms, /healthz 200 after %.0f ms, first items (%s) after %.0f ms, VmRSS %.1f MiB"
          % (p.pid, base, rec["listen_ms"], rec["startup_ms"], st, rec["first_items_ms"], (rss_health or 0) / 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
