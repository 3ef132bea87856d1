#!/usr/bin/env python3
"""Print the read-benchmark report: one table + target ratios (PASS/MISS) + startup, memory, import.

usage: report.py RESULTS.jsonl META.json        (Python standard library only)
"""
import json, sys

QGIS_LIMIT1000_RPS = 96.0   # QGIS Server 3.22, services?limit=1000, 8 conns, 2 cores (median of 3 rounds)
QGIS_SOURCE = "shared/bench/peers/RESULTS-2026-11-28.md"

MEASURES = [  # key, title
    ("id", "feature by id (services)"),
    ("bbox", "bbox ~100 features"),
    ("page", "page limit=1000"),
    ("layer_plain", "whole layer 100k, plain"),
    ("layer_gzip", "whole layer 100k, gzip"),
]
SERVER_TITLES = {
    ("id", "crisismap"): "crisismap",
    ("id", "nginx"): "nginx static ~1 KB feature",
    ("id", "mapserver"): "MapServer 8 (FastCGI)",
    ("bbox", "crisismap"): "crisismap",
    ("bbox", "nginx"): "nginx static, same bytes",
    ("bbox", "mapserver"): "MapServer 8 (FastCGI)",
    ("page", "crisismap"): "crisismap",
    ("page", "mapserver"): "MapServer 8 (FastCGI)",
    ("layer_plain", "crisismap"): "crisismap",
    ("layer_plain", "nginx"): "nginx static, same bytes",
    ("layer_gzip", "crisismap"): "crisismap",
    ("layer_gzip", "nginx"): "nginx gzip_static, same bytes",
}


def fmt_num(v):
    if v is None:
        return "-"
    if v >= 1000:
        return "%.0f" % v
    if v >= 100:
        return "%.1f" % v
    return "%.2f" % v


def fmt_bytes(n):
    if n is None:
        return "-"
    if n >= 1 << 20:
        return "%.1f MiB" % (n / (1 << 20))
    if n >= 10 * 1024:
        return "%.1f KiB" % (n / 1024)
    return "%d B" % n


def main():
    recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    meta = json.load(open(sys.argv[2]))
    by = {(r["measure"], r["server"]): r for r in recs}   # last record of a pair wins

    out = []
    p = out.append
    p("crisismap read benchmark  %s" % meta.get("stamp", ""))
    for k in ("host", "crisismap", "mapserver", "nginx", "wrk", "gdal", "mode"):
        if meta.get(k):
            p("  %-10s %s" % (k + ":", meta[k]))
    p("")
    hdr = ("measurement", "server", "conns", "req/s", "p50 ms", "p99 ms", "resp bytes", "non2xx/err", "srv CPU")
    rows = []
    for key, title in MEASURES:
        for srv in ("crisismap", "nginx", "mapserver"):
            r = by.get((key, srv))
            if (key, srv) not in SERVER_TITLES:
                continue
            if r is None:
                rows.append((title, SERVER_TITLES[(key, srv)], "-", "not run", "-", "-", "-", "-", "-"))
                continue
            rows.append((title, SERVER_TITLES[(key, srv)], str(r["conns"]), fmt_num(r["rps"]), fmt_num(r["p50_ms"]),
                         fmt_num(r["p99_ms"]), fmt_bytes(meta.get("body_bytes", {}).get("%s/%s" % (key, srv), r["bytes_per_resp"])), "%d/%d" % (r["non2xx"], r["errors"]),
                         "-" if r.get("server_cpu_cores") is None else "%.2f" % r["server_cpu_cores"]))
        if key == "page":
            rows.append((title, "QGIS Server 3.22 (reference*)", "8", fmt_num(QGIS_LIMIT1000_RPS), "-", "-", "~247 KiB", "-", "-"))
    w = [max(len(hdr[i]), max(len(r[i]) for r in rows)) for i in range(len(hdr))]
    right = {2, 3, 4, 5, 6, 7, 8}
    line = lambda cells: "  ".join(c.rjust(w[i]) if i in right else c.ljust(w[i]) for i, c in enumerate(cells))
    p(line(hdr))
    p("  ".join("-" * x for x in w))
    prev = None
    for r in rows:
        p(line((r[0] if r[0] != prev else "",) + r[1:]))
        prev = r[0]
    p("")
    p("resp bytes: response body as sent (gzip: compressed), mean over the first 20 requests of the list. non2xx: status >= 400")
    p("(wrk); err: connect/read/write/timeout errors. srv CPU: cores used by the server's processes during the run.")
    p("* QGIS Server 3.22 limit=1000: %.0f req/s, measured on this machine, from %s (not re-measured)." % (QGIS_LIMIT1000_RPS, QGIS_SOURCE))
    p("")

    def rps(key, srv):
        r = by.get((key, srv))
        return r["rps"] if r and r["requests"] > 0 else None

    targets = [
        ("bbox ~100: crisismap / MapServer", rps("bbox", "crisismap"), rps("bbox", "mapserver"), 25.0),
        ("bbox ~100: crisismap / nginx static same bytes", rps("bbox", "crisismap"), rps("bbox", "nginx"), 0.5),
        ("whole layer gzip: crisismap / nginx gzip_static", rps("layer_gzip", "crisismap"), rps("layer_gzip", "nginx"), 0.8),
        ("feature by id: crisismap / nginx 1 KB static", rps("id", "crisismap"), rps("id", "nginx"), 0.5),
        ("page 1000: crisismap / QGIS Server (96 req/s)", rps("page", "crisismap"), QGIS_LIMIT1000_RPS, 10.0),
    ]
    info = [
        ("feature by id: crisismap / MapServer", rps("id", "crisismap"), rps("id", "mapserver")),
        ("page 1000: crisismap / MapServer", rps("page", "crisismap"), rps("page", "mapserver")),
        ("whole layer plain: crisismap / nginx static", rps("layer_plain", "crisismap"), rps("layer_plain", "nginx")),
    ]
    p("Targets (req/s ratios, same run)")
    tw = max(len(t[0]) for t in targets + [(i[0],) for i in info])
    passed = 0
    for name, a, b, goal in targets:
        if a is None or not b:
            p("  %-*s  %10s   target >= %-5g  MISS (not measured)" % (tw, name, "n/a", goal))
            continue
        ratio = a / b
        ok = ratio >= goal
        passed += ok
        p("  %-*s  %9.2fx   target >= %-5g  %s" % (tw, name, ratio, goal, "PASS" if ok else "MISS"))
    p("  %d of %d targets met" % (passed, len(targets)))
    p("Other ratios (no target)")
    for name, a, b in info:
        p("  %-*s  %s" % (tw, name, "%9.2fx" % (a / b) if a is not None and b else "      n/a"))
    p("")

    s = meta.get("startup") or {}
    p("crisismap startup (exec -> first /healthz 200): %s ms   (listening line after %s ms; first items request done after %s ms)"
      % (s.get("startup_ms", "n/a"), s.get("listen_ms", "n/a"), s.get("first_items_ms", "n/a")))
    if s.get("rss_kb") is not None:
        p("crisismap VmRSS after loading: %.1f MiB   (after first items request: %.1f MiB; peak VmHWM at the end: %s)"
          % (s["rss_kb"] / 1024, (s.get("rss_after_first_items_kb") or 0) / 1024,
             "%.1f MiB" % (meta["vmhwm_end_kb"] / 1024) if meta.get("vmhwm_end_kb") else "n/a"))
    if meta.get("vmrss_end_kb"):
        p("crisismap VmRSS at the end of the run: %.1f MiB" % (meta["vmrss_end_kb"] / 1024))
    imp = meta.get("imports") or []
    if imp:
        p("import (crisismap import, fresh store): " + ", ".join(
            "%s %d features %.1f s" % (i["layer"], i["features"], i["seconds"]) for i in imp)
          + "; total %.1f s; store %s" % (sum(i["seconds"] for i in imp), fmt_bytes(meta.get("store_bytes"))))
    for n in meta.get("notes", []):
        p("note: " + n)
    print("\n".join(out))


if __name__ == "__main__":
    main()
