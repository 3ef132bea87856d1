#!/usr/bin/env python3
"""Random malformed requests against the real server, from a fixed seed: the named cases of
test_writes.py, widened. Bodies mutated at the JSON level (a value replaced by one of the
wrong type, size or range, a member dropped or added) and at the byte level (bytes flipped,
cut, or a NUL, a bad UTF-8 sequence, NaN, deep nesting spliced in); geometries of every kind
and malformation; odd Content-Type, Content-Crs, If-Match, Accept values; query parameters
with values of the wrong shape; feature ids that are not ids.

What must hold for every request:
- the answer is a status below 500; every 4xx (but to HEAD) is JSON with a code and a
  description;
- a refused write leaves the store as it was: the feature's ETag and body, or the layer's
  count for a refused create;
- an accepted write is what a later GET serves (201/200: the answer's ETag; 204: a 404).
And at the end: the server exits 0 (no sanitizer report), the audit chain verifies, and a
restarted server serves exactly what the first one served last (what was acknowledged is
what is on disk).

usage: test_fuzz.py BINARY SOURCE_DIR
  CM_FUZZ_SEED (default 20261129) and CM_FUZZ_REQUESTS (default 2500) widen the run.
Then the same mix again from 4 clients at once (no per-request state checks there: the others
write meanwhile), before the end checks.
"""
import http.client
import json
import os
import random
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks, Server  # noqa: E402

check = Checks()
ITEMS = "/api/collections/%s/items"

SEED = int(os.environ.get("CM_FUZZ_SEED", "20261129"))
REQUESTS = int(os.environ.get("CM_FUZZ_REQUESTS", "2500"))
THREADS = 4  # the concurrent phase


class _ThreadRandom(threading.local):
    """One seeded generator per thread, so that each thread's requests repeat from run to run."""

    def __init__(self):
        self.r = random.Random(SEED)

    def seed(self, seed):
        self.r = random.Random(seed)

    def __getattr__(self, name):
        return getattr(self.r, name)


rnd = _ThreadRandom()

# A valid feature per layer; the fuzz starts from these. roads is reference data (admin only).
VALID = {
    "closures": {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.42, 43.73], [7.421, 43.731]]},
                 "properties": {"name": "fuzz closure", "reason": "flood", "severity": "full",
                                "valid_from": "2026-01-01T00:00:00Z"}},
    "blocked_areas": {"type": "Feature",
                      "geometry": {"type": "Polygon",
                                   "coordinates": [[[7.42, 43.73], [7.421, 43.73], [7.421, 43.731], [7.42, 43.73]]]},
                      "properties": {"name": "fuzz area", "reason": "flood", "severity": "full"}},
    "services": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                 "properties": {"name": "fuzz service", "kind": "water", "status": "open", "capacity": 3}},
    "roads": {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.42, 43.73], [7.421, 43.731]]},
              "properties": {"name": "fuzz road", "highway": "primary"}},
}
LAYERS = list(VALID)

# Values of the wrong type, size or range. Dates far from now: no feature's status may move
# by the clock during the run, or a refused write's "unchanged" check would see it move.
WEIRD = [None, True, False, 0, -0.0, 1e308, -1e308, 2 ** 63, 2 ** 64, -2 ** 63 - 1, 1.5, "", "x" * 1500, "\u0000",
         "\ud800", "\u00e9" * 300, "<script>alert(1)</script>", "\u202e\u0627", [], {}, [[]], [[[]]],
         {"a": {"b": {"c": 1}}}, [1, 2, 3], "2026-13-45T99:99:99Z", "2026-01-01", "9999-12-31T23:59:59Z",
         "0000-01-01T00:00:00Z", "NaN", "Infinity", "open", "flood", "full", "water"]
GEOMETRIES = [
    {"type": "Point", "coordinates": []}, {"type": "Point", "coordinates": [1]},
    {"type": "Point", "coordinates": [1, 2, 3, 4, 5]}, {"type": "Point", "coordinates": [181, 0]},
    {"type": "Point", "coordinates": ["a", "b"]}, {"type": "Point"}, {"type": "Point", "coordinates": [7.43, 43.74]},
    {"type": "LineString", "coordinates": [[7.42, 43.73]]},
    {"type": "LineString", "coordinates": [[7.42, 43.73], [7.42, 43.73]]},
    {"type": "LineString", "coordinates": [[7.42 + i * 1e-6, 43.73] for i in range(20000)]},
    {"type": "LineString", "coordinates": [[7.42, 43.73, 5], [7.43, 43.74, 6]]},
    {"type": "LineString", "coordinates": [[1e-320, 5e-324], [1e-300, -1e-300]]},
    {"type": "MultiLineString", "coordinates": [[[7.42, 43.73], [7.43, 43.74]]] * 3000},
    {"type": "MultiLineString", "coordinates": []}, {"type": "MultiLineString", "coordinates": [[]]},
    {"type": "MultiLineString", "coordinates": [[[7.42, 43.73], [7.43, 43.74]], [[7.44, 43.73], [7.45, 43.74]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}, {"type": "Polygon", "coordinates": []},
    {"type": "Polygon", "coordinates": [[[7.42, 43.73], [7.421, 43.73], [7.421, 43.731], [7.42, 43.73]]] * 2000},
    {"type": "Polygon", "coordinates": [[[7.42, 43.73, 1], [7.421, 43.73, 2], [7.421, 43.731, 3], [7.42, 43.73, 1]]]},
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
    {"type": "MultiPolygon", "coordinates": [[[[7.42, 43.73], [7.421, 43.73], [7.421, 43.731], [7.42, 43.73]]]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2]}]},
    {"type": "Curve", "coordinates": [1, 2]}, None, [], "POINT(1 2)",
    {"type": "Point", "coordinates": [7.42, 43.73], "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}},
]
CONTENT_TYPES = ["application/json", "text/plain", "", "application/geo+json; charset=latin1",
                 "application/geo+json; charset=utf-8", "application/geo+json;;;", "multipart/form-data; boundary=x",
                 "APPLICATION/GEO+JSON", "application/merge-patch+json", "application/geo+json"]
CRSS = ["http://www.opengis.net/def/crs/EPSG/0/3857", "<http://www.opengis.net/def/crs/EPSG/0/3857>",
        "<http://www.opengis.net/def/crs/EPSG/0/4326>", "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
        "<http://www.opengis.net/def/crs/EPSG/0/99999999>", "<>", "<" + "a" * 300 + ">", "EPSG:4326",
        "<http://www.opengis.net/def/crs/EPSG/0/32632>", "<http://www.opengis.net/def/crs/EPSG/0/4978>",
        "<urn:ogc:def:crs:EPSG::3857>", "+proj=longlat +no_defs"]
IF_MATCHES = ["*", 'W/"1"', '"abc"', '""', '"' + "x" * 300 + '"', '"1", "2", "3"', "garbage"]
SPLICES = [b"\x00", b"\xff\xfe", b"\xc0\xaf", b"NaN", b"Infinity", b"-", b"1e99999", b"[" * 5000, b"{" * 3000,
           b'"\\u0000"', b'"\\ud800"', b",", b"}", b'"a":1,"a":2,']
QUERY_KEYS = ["bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f", "properties", "status", "kind", "lang",
              "sortby", "filter", "skipGeometry", "near", "cursor", "since"]
QUERY_VALUES = ["1,2,3,4", "7.4,43.7,7.5,43.8", "-180,-90,180,90", "1,2,3", "a,b,c,d", "nan,nan,nan,nan",
                "1e999,0,0,0", "2026-01-01T00:00:00Z/..", "../..", "x", "-1", "0", "100000000000000000000", "json",
                "html", "geojson", "name,kind", "%00", "%ff", "http://www.opengis.net/def/crs/EPSG/0/3857",
                "7.42,43.73", "a" * 600, "1,2,3,4,5,6", "%3Cscript%3E"]
BAD_IDS = ["0", "-1", "18446744073709551616", "abc", "1.5", "%2e%2e", "1%00", "1%202", "9" * 100]


ADDED_KEYS = ["id", "type", "properties", "geometry", "bbox", "links", "foo", "created", "version", "updated_by",
              "status", "valid_until", "verified_at"]


def mutate_value(doc):
    """doc with one value somewhere inside replaced, dropped or added."""
    if isinstance(doc, (dict, list)) and doc and rnd.random() < 0.7:
        out = type(doc)(doc)
        at = rnd.choice(list(out)) if isinstance(out, dict) else rnd.randrange(len(out))
        r = rnd.random()
        if r < 0.3:
            out[at] = rnd.choice(WEIRD)
        elif r < 0.4:
            del out[at]
        elif r < 0.5:
            if isinstance(out, dict):
                out[rnd.choice(ADDED_KEYS)] = rnd.choice(WEIRD)
            else:
                out.append(rnd.choice(WEIRD))
        else:
            out[at] = mutate_value(out[at])
        return out
    return rnd.choice(WEIRD)


def mutate_bytes(data):
    b = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        if not b:
            break
        i, r = rnd.randrange(len(b)), rnd.random()
        if r < 0.3:
            b[i] = rnd.randrange(256)
        elif r < 0.5:
            del b[i:]
        elif r < 0.7:
            b[i:i] = rnd.choice(SPLICES)
        else:
            del b[i]
    return bytes(b)


def feature_body(layer):
    doc = json.loads(json.dumps(VALID[layer]))
    r = rnd.random()
    if r < 0.25:
        doc["geometry"] = rnd.choice(GEOMETRIES)
    elif r < 0.55:
        doc = mutate_value(doc)
    elif r < 0.85:
        return mutate_bytes(json.dumps(doc).encode())
    return json.dumps(doc).encode()


def patch_body():
    if rnd.random() < 0.2:  # a valid one now and then, so that changes are accepted too
        return json.dumps({"properties": {"name": "patched %d" % rnd.randrange(1000)}}).encode()
    if rnd.random() < 0.6:
        patch = {"properties": {rnd.choice(["name", "status", "capacity", "kind", "valid_until", "reason", "severity",
                                            "x", "id", "version", "created", "verified_at"]): rnd.choice(WEIRD)}}
        if rnd.random() < 0.3:
            patch["geometry"] = rnd.choice(GEOMETRIES + [None])
        return json.dumps(patch).encode()
    return mutate_bytes(json.dumps({"properties": {"name": "patched"}}).encode())


class Fuzz:
    def __init__(self, srv, operator, admin, alone=True, ids=None):
        """alone: no other client writes meanwhile, so each refused write can be checked to have
        changed nothing and each accepted one to be served as answered."""
        self.srv, self.operator, self.admin, self.alone = srv, operator, admin, alone
        self.ids = {layer: list(ids[layer]) if ids else [] for layer in LAYERS}
        self.statuses = {}
        self.checked = {"refused create": 0, "refused change": 0, "create": 0, "change": 0, "delete": 0}
        self.problems = 0

    def problem(self, what, detail):
        self.problems += 1
        if self.problems <= 20:  # the first few in full; the count says the rest
            check(False, what, repr(detail)[:600])

    def counts(self):
        _, _, health = self.srv.get_json("/healthz")
        return health["layers"]

    def feature(self, layer, fid):
        s, h, b = self.srv.request("GET", ITEMS % layer + "/" + fid)
        return s, h.get("etag"), b

    def request(self):
        layer = rnd.choice(LAYERS * 6 + ["nope", "..%2Fetc", "closures%00", "a" * 300])
        method = rnd.choice(["POST", "POST", "PUT", "PATCH", "PATCH", "DELETE", "GET", "GET", "OPTIONS", "HEAD"])
        token = self.admin if rnd.random() < 0.25 else self.operator
        headers = {"Authorization": "Bearer " + token}
        if method in ("POST", "PUT", "PATCH"):
            headers["Content-Type"] = rnd.choice(CONTENT_TYPES) if rnd.random() < 0.15 else (
                "application/merge-patch+json" if method == "PATCH" else "application/geo+json")
        if rnd.random() < 0.15:
            headers["Content-Crs"] = rnd.choice(CRSS)
        if rnd.random() < 0.1:
            headers[rnd.choice(["Accept", "Accept-Language", "Accept-Encoding", "Prefer", "Origin"])] = rnd.choice(
                ["*/*", "ar", "gzip", "text/html", "application/geo+json;q=0", "x" * 300, "\u00e9"])
        path, fid = ITEMS % layer, None
        known = self.ids.get(layer, [])
        if method in ("PUT", "PATCH", "DELETE") or (method == "GET" and rnd.random() < 0.5):
            fid = rnd.choice(known * 4 + BAD_IDS) if known else rnd.choice(BAD_IDS)
            path += "/" + fid
        elif method == "GET":
            path += "?" + "&".join("%s=%s" % (k, rnd.choice(QUERY_VALUES))
                                   for k in rnd.sample(QUERY_KEYS, rnd.randint(1, 4)))
        # Before a write to a feature we know: its state, and often its current ETag to match.
        before = None
        if self.alone and method in ("PUT", "PATCH", "DELETE") and fid in known:
            before = self.feature(layer, fid)
            if before[0] == 200 and rnd.random() < 0.7:
                headers["If-Match"] = before[1]
        if rnd.random() < 0.1:
            headers["If-Match"] = rnd.choice(IF_MATCHES)
        counts = self.counts() if method == "POST" and self.alone else None
        body = None
        if method in ("POST", "PUT"):
            body = feature_body(layer if layer in VALID else "services")
        elif method == "PATCH":
            body = patch_body()
        try:
            status, h, out = self.srv.request(method, path, headers, body, timeout=60)
        except (http.client.HTTPException, OSError) as e:
            self.problem("every request is answered", (method, path, repr(e)))
            return
        self.statuses[status] = self.statuses.get(status, 0) + 1
        what = (status, method, path, headers.get("Content-Type"), (body or b"")[:200], out[:300])
        if status >= 500:
            self.problem("no 5xx", what)
            return
        if status >= 400 and method != "HEAD":
            try:
                doc = json.loads(out)
                ok = "json" in h.get("content-type", "") and doc.get("code") and doc.get("description")
            except ValueError:
                ok = False
            if not ok:
                self.problem("every 4xx is JSON with a code and a description", what)
        if not self.alone:
            if method == "POST" and status == 201 and layer in VALID:
                known.append(h["location"].rsplit("/", 1)[1])
            elif method == "DELETE" and status == 204 and fid in known:
                known.remove(fid)
            return
        if method == "POST" and layer in VALID:
            if status == 201:
                new_id = h["location"].rsplit("/", 1)[1]
                known.append(new_id)
                self.checked["create"] += 1
                self.served_as_answered(layer, new_id, h.get("etag"), what)
            else:
                self.checked["refused create"] += 1
                if self.counts() != counts:
                    self.problem("a refused create leaves every layer's count as it was", (what, counts, self.counts()))
        elif before is not None:
            after = self.feature(layer, fid)
            if status >= 400:
                self.checked["refused change"] += 1
                if (after[0], after[1], after[2]) != before:
                    self.problem("a refused write leaves the feature as it was", (what, before[:2], after[:2]))
            elif method == "DELETE":
                self.checked["delete"] += 1
                if status != 204 or after[0] != 404:
                    self.problem("a deleted feature is gone", (what, after[0]))
                known.remove(fid)
            elif status == 200:
                self.checked["change"] += 1
                if after[0] != 200 or after[1] != h.get("etag"):
                    self.problem("a changed feature is served with the ETag its answer gave", (what, after[:2]))

    def served_as_answered(self, layer, fid, etag, what):
        s, served_etag, _ = self.feature(layer, fid)
        if s != 200 or served_etag != etag:
            self.problem("a created feature is served with the ETag its answer gave", (what, s, served_etag, etag))

    def seed(self):
        for layer in LAYERS:
            token = self.admin if layer == "roads" else self.operator
            for _ in range(3):
                s, h, _ = self.srv.send_json("POST", ITEMS % layer, token, VALID[layer])
                check(s == 201, "seed feature created in " + layer, s)
                if s == 201:
                    self.ids[layer].append(h["location"].rsplit("/", 1)[1])


def everything(srv):
    """Every layer's features as served, by layer."""
    out = {}
    for layer in LAYERS:
        s, _, b = srv.get_json(ITEMS % layer + "?limit=10000")
        out[layer] = {f["id"]: f for f in b["features"]} if s == 200 else s
    return out


def main():
    binary, source = sys.argv[1], sys.argv[2]
    srv = Server(binary, source)
    srv.make_demo_store()
    operator = srv.token("fuzz-operator", "operator")
    admin = srv.token("fuzz-admin", "admin")
    srv.start()
    try:
        fuzz = Fuzz(srv, operator, admin)
        fuzz.seed()
        print("seed %d, %d requests" % (SEED, REQUESTS), flush=True)
        for i in range(REQUESTS):
            fuzz.request()
            if srv.proc.poll() is not None:
                check(False, "the server is still running after request %d" % i, srv.read_log()[-3000:])
                break
        print("statuses:", sorted(fuzz.statuses.items()), flush=True)
        print("writes checked:", fuzz.checked, flush=True)
        check(fuzz.problems == 0, "%d random requests: no problem" % REQUESTS, "%d problems" % fuzz.problems)
        # The run must have reached the store: creates, changes and deletes accepted, and refusals.
        check(all(n >= REQUESTS // 200 for n in fuzz.checked.values()),
              "the run checked accepted and refused creates, changes and deletes", fuzz.checked)
        # The same mix from several clients at once: no 5xx, JSON errors, and (below) a store that
        # still verifies and a restart that serves the same.
        runners = [Fuzz(srv, operator, admin, alone=False, ids=fuzz.ids) for _ in range(THREADS)]

        def run(k):
            rnd.seed(SEED + 1 + k)
            for _ in range(REQUESTS // THREADS):
                runners[k].request()

        threads = [threading.Thread(target=run, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = {}
        for r in runners:
            for k, v in r.statuses.items():
                statuses[k] = statuses.get(k, 0) + v
        print("concurrent statuses:", sorted(statuses.items()), flush=True)
        problems = sum(r.problems for r in runners)
        check(problems == 0 and srv.proc.poll() is None and statuses.get(201, 0) and statuses.get(200, 0),
              "%d clients at once, %d random requests each: no problem" % (THREADS, REQUESTS // THREADS),
              "%d problems" % problems)
        # Every row the run wrote reads back as its feature in memory: a token command is a commit
        # by another connection, so the next batch compares every row written since the start
        # with memory (layers/outside.c), and any difference would be taken for another
        # program's change.
        srv.token("fuzz-after", "viewer")
        s, _, _ = srv.send_json("POST", ITEMS % "services", operator, VALID["services"])
        _, _, health = srv.get_json("/healthz")
        check(s == 201 and health["changed_outside"] == [], "no written row differs from its feature in memory",
              (s, health["changed_outside"]))
        served = everything(srv)
        rc = srv.stop()
        check(rc == 0, "server exits cleanly (no sanitizer report)", srv.read_log()[-3000:] if rc else "")
        verify = subprocess.run([binary, "audit", "verify", "--store", srv.store], capture_output=True, text=True)
        check(verify.returncode == 0 and "intact" in verify.stdout, "audit chain verifies after the run", verify.stdout)
        srv.start()
        again = everything(srv)
        same = all(served[layer] == again[layer] for layer in LAYERS)
        check(same, "a restarted server serves what the first served last (acknowledged = on disk)",
              [layer for layer in LAYERS if served[layer] != again[layer]])
        rc = srv.stop()
        check(rc == 0, "restarted server exits cleanly", srv.read_log()[-2000:] if rc else "")
    finally:
        srv.stop()
        srv.cleanup()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
