#!/usr/bin/env python3
"""A real GIS client against the real server: GDAL's OAPIF driver lists every layer with
the right feature count, and ogr2ogr copies each layer to a GeoPackage with identical
counts, properties and geometries (compared with what the API itself serves).

usage: test_oapif.py BINARY SOURCE_DIR
"""
import json
import os
import re
import subprocess
import sys
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Server  # noqa: E402


def norm_value(v):
    if isinstance(v, str) and re.fullmatch(r"\d{4}[-/]\d\d[-/]\d\dT?[ ]?\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?", v):
        s = v.replace("/", "-").replace(" ", "T")
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        elif re.search(r"[+-]\d\d$", s):
            s += ":00"
        return datetime.fromisoformat(s).timestamp()
    return v


def coords_close(a, b):
    if isinstance(a, (int, float)):
        return abs(a - b) < 1e-7
    return len(a) == len(b) and all(coords_close(x, y) for x, y in zip(a, b))


def main():
    binary, source = sys.argv[1], sys.argv[2]
    srv = Server(binary, source)
    failures = []
    passed = 0
    try:
        srv.make_demo_store()
        srv.start()
        _, _, health = srv.get_json("/healthz")
        counts = health["layers"]
        url = "OAPIF:%s/api" % srv.url
        out = subprocess.run(["ogrinfo", "-ro", "-so", "-q", url], capture_output=True, text=True, timeout=120)
        listed = re.findall(r"^\d+: (\w+)", out.stdout, re.M)
        if sorted(listed) != sorted(counts):
            failures.append("ogrinfo lists %s, expected %s\n%s" % (listed, sorted(counts), out.stderr))
        else:
            passed += 1
        for layer, n in counts.items():
            info = subprocess.run(["ogrinfo", "-ro", "-so", url, layer], capture_output=True, text=True, timeout=120)
            m = re.search(r"Feature Count: (\d+)", info.stdout)
            if not m or int(m.group(1)) != n:
                failures.append("ogrinfo %s: feature count %s, expected %d" % (layer, m and m.group(1), n))
                continue
            gpkg = os.path.join(srv.tmp, "copy_%s.gpkg" % layer)
            cp = subprocess.run(["ogr2ogr", "-preserve_fid", "-f", "GPKG", gpkg, url, layer], capture_output=True, text=True, timeout=300)
            if cp.returncode != 0:
                failures.append("ogr2ogr %s failed: %s" % (layer, cp.stderr[-500:]))
                continue
            back = subprocess.run(["ogr2ogr", "-preserve_fid", "-f", "GeoJSON", "/vsistdout/", gpkg, layer],
                                  capture_output=True, text=True, timeout=120)
            copied = json.loads(back.stdout)["features"]
            _, _, api = srv.get_json("/api/collections/%s/items?limit=10000" % layer)
            served = api["features"]
            if len(copied) != n or len(served) != n:
                failures.append("%s: copied %d, served %d, expected %d" % (layer, len(copied), len(served), n))
                continue
            by_id = {f["id"]: f for f in served}
            bad = []
            for f in copied:
                # The OAPIF driver keeps the server's id in the "id" field when it cannot use it as FID.
                fid = f["properties"].pop("id", None) or f.get("id")
                s = by_id.get(int(fid)) if fid is not None else None
                if s is None:
                    bad.append("feature %s not served" % fid)
                    continue
                p1 = {k: norm_value(v) for k, v in f["properties"].items()}
                p2 = {k: norm_value(v) for k, v in s["properties"].items()}
                if p1 != p2:
                    diff = {k: (p1.get(k), p2.get(k)) for k in set(p1) | set(p2) if p1.get(k) != p2.get(k)}
                    bad.append("feature %s properties differ: %s" % (fid, diff))
                g1, g2 = f["geometry"], s["geometry"]
                if g1["type"] != g2["type"] or not coords_close(g1["coordinates"], g2["coordinates"]):
                    bad.append("feature %s geometry differs" % fid)
            if bad:
                failures.append("%s: %d differences, first: %s" % (layer, len(bad), bad[:3]))
            else:
                passed += 1
                print("ok   %s: %d features copied by ogr2ogr, identical" % (layer, n))
        rc = srv.stop()
        if rc != 0:
            failures.append("server exit status %r (a sanitizer report?); log tail:\n%s" % (rc, srv.read_log()[-3000:]))
    finally:
        srv.stop()
        srv.cleanup()
    for f in failures:
        print("FAIL " + f)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
