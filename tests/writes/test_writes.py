#!/usr/bin/env python3
"""Operators' writes against the real server (OGC API - Features Part 4): every status
code, every malformed input (and that the store is unchanged after each), If-Match
conflicts between two operators, parallel writers, server-owned fields, status over time,
the audit log and its chain, a GDAL client seeing a created feature, and the throttle.

usage: test_writes.py BINARY SOURCE_DIR
"""
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks, Server, derived_config  # noqa: E402

check = Checks()


ITEMS = "/api/collections/%s/items"


def closure(name="Test closure", **props):
    p = {"reason": "flood", "name": name, "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z"}
    p.update(props)
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.42, 43.73], [7.421, 43.731]]},
            "properties": p}


def store_state(srv):
    """What must not change after a refused request: counts, layer versions, audit length."""
    _, _, health = srv.get_json("/healthz")
    tags = {}
    for layer in health["layers"]:
        _, h, _ = srv.request("GET", ITEMS % layer + "?limit=10000")
        tags[layer] = h.get("etag")
    return health["layers"], tags


def main():
    binary, source = sys.argv[1], sys.argv[2]
    srv = Server(binary, source)
    # A short wait for the store's lock, so the locked-store checks take a moment, not 5 s each.
    srv.config = derived_config(source, srv.tmp, store_lock_wait_ms=1500,
                                # a short live log, so that /changes from far back reads the audit log
                                events={"log_length": 16})
    srv.make_demo_store()
    admin = srv.token("city-admin", "admin")
    op = srv.token("traffic-1", "operator")
    op2 = srv.token("civil-defence-2", "operator")
    scoped = srv.token("health-1", "operator", "services")
    viewer = srv.token("observer", "viewer")
    srv.start()
    try:
        run_all(srv, admin, op, op2, scoped, viewer)
        rc = srv.stop()
        check(rc == 0, "server exits cleanly (no sanitizer report)", srv.read_log()[-2000:] if rc else "")
        # Every connection closed, the WAL folded in: the stopped store is one file a GIS or a
        # backup can take (a connection left open keeps the latest writes in store.gpkg-wal).
        check(not os.path.exists(srv.store + "-wal") and not os.path.exists(srv.store + "-shm"),
              "a stopped server leaves the store as one file, every write in it", os.listdir(srv.tmp))
        verify = subprocess.run([binary, "audit", "verify", "--store", srv.store], capture_output=True, text=True)
        check(verify.returncode == 0 and "intact" in verify.stdout, "audit chain verifies after the run", verify.stdout)
        tamper_and_verify(binary, srv)
        behind_a_proxy(binary, source)
    finally:
        srv.stop()
        srv.cleanup()
    return check.summary()


def audit_of(srv, admin, fid):
    """The audit records of closures feature fid, oldest first."""
    _, _, b = srv.get_json("/api/audit?collection=closures&feature=%d&limit=50" % fid, headers={"Authorization": "Bearer " + admin})
    return list(reversed(b.get("records", []))) if b else []


def another_program_writes(srv, op, admin):
    """A GIS (here ogr2ogr and ogrinfo) writing to the GeoPackage while the server runs: what it
    adds is served within seconds, and an edit through the API never overwrites what it changed
    unseen, nor resurrects what it removed; each of its changes gets an audit record of its own."""
    # --- it adds a feature: served within seconds, with no edit through the API needed ---
    srcfile = os.path.join(srv.tmp, "outside.geojson")
    with open(srcfile, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [closure("Added by a GIS")]}, f)
    s0, _, health0 = srv.get_json("/healthz")
    _, _, last0 = srv.get_json("/api/collections/closures/changes?since=0&limit=1")
    out = subprocess.run(["ogr2ogr", "-append", "-nln", "closures", srv.store, srcfile], capture_output=True, text=True, timeout=120)
    con = sqlite3.connect("file:%s?mode=ro" % srv.store, uri=True)
    outside_id = con.execute("SELECT MAX(fid) FROM closures").fetchone()[0]
    con.close()
    deadline, g = time.time() + 8, (0, None, None)
    while time.time() < deadline:
        g = srv.get_json(ITEMS % "closures" + "/%d" % outside_id)
        if g[0] == 200 and g[2]["properties"]["status"] == "active":
            break
        time.sleep(0.2)
    check(out.returncode == 0 and health0["changed_outside"] == [] and g[0] == 200 and
          g[2]["properties"]["name"] == "Added by a GIS",
          "a feature another program adds is served within seconds, with no edit needed, and the status its times "
          "give", (out.stderr[-200:], g[0], g[2]))
    _, _, ch = srv.get_json("/api/collections/closures/changes?since=%d" % last0["last_seq"])
    rec = audit_of(srv, admin, outside_id)
    # Then the status timer gives it the status its times call for (the GIS left it empty).
    acts = [(r["actor"], r["role"], r["action"]) for r in rec]
    check({c["id"] for c in ch.get("changes", [])} == {outside_id} and ch["changes"][0]["action"] == "created" and
          acts[:1] == [("(another program)", "system", "created")] and
          all(a == ("system", "system", "updated") for a in acts[1:]),
          "it comes with a change in the feed and an audit record by (another program), then the status its time gives",
          (ch, acts))
    created = [srv.send_json("POST", ITEMS % "closures", op, closure()) for _ in range(2)]
    s, _, health = srv.get_json("/healthz")
    check(all(c[0] == 201 for c in created) and created[0][2]["id"] > outside_id and
          health["changed_outside"] == ["closures"] and "another program changed features of closures" in srv.read_log(),
          "creates go on above its id, and /healthz and the log say another program wrote to the layer",
          ([c[0] for c in created], outside_id, created[0][2].get("id"), health.get("changed_outside")))

    # --- what it changes or removes is followed within seconds too, with no edit needed ---
    _, _, watched = srv.send_json("POST", ITEMS % "closures", op, closure("Watched"))
    _, _, doomed = srv.send_json("POST", ITEMS % "closures", op, closure("Doomed"))
    _, _, moved = srv.send_json("POST", ITEMS % "closures", op, closure("Moved"))
    _, _, last1 = srv.get_json("/api/collections/closures/changes?since=0&limit=1")
    # As a GIS saves a moved line: the feature replaced through OGR (geometry, blob and R-tree too).
    upsert = os.path.join(srv.tmp, "moved.geojson")
    with open(upsert, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [dict(closure("Moved in a GIS"), id=moved["id"], geometry={
            "type": "LineString", "coordinates": [[7.40, 43.70], [7.401, 43.701]]})]}, f)
    ups = subprocess.run(["ogr2ogr", "-update", "-upsert", "-preserve_fid", "-nln", "closures", srv.store, upsert],
                         capture_output=True, text=True, timeout=120)
    upd = subprocess.run(["ogrinfo", srv.store, "-sql", "UPDATE closures SET name = 'Watched, renamed' WHERE fid = %d"
                          % watched["id"]], capture_output=True, text=True, timeout=120)
    rm = subprocess.run(["ogrinfo", srv.store, "-sql", "DELETE FROM closures WHERE fid = %d" % doomed["id"]],
                        capture_output=True, text=True, timeout=120)
    deadline, seen = time.time() + 8, None
    want = ("Watched, renamed", 404, [[7.40, 43.70], [7.401, 43.701]])
    while time.time() < deadline:
        gw, gd, gm = (srv.get_json(ITEMS % "closures" + "/%d" % f["id"]) for f in (watched, doomed, moved))
        seen = (gw[2]["properties"]["name"] if gw[0] == 200 else gw[0], gd[0],
                gm[2]["geometry"]["coordinates"] if gm[0] == 200 else gm[0])
        if seen == want:
            break
        time.sleep(0.2)
    _, _, ch = srv.get_json("/api/collections/closures/changes?since=%d" % last1["last_seq"])
    # (the replaced feature came without a status: the status timer then gives it one, a second update)
    got = sorted({(c["id"], c["action"]) for c in ch.get("changes", [])})
    _, _, near = srv.get_json(ITEMS % "closures" + "?bbox=7.3995,43.6995,7.4015,43.7015")
    check(upd.returncode == 0 and rm.returncode == 0 and ups.returncode == 0 and seen == want and
          got == sorted([(watched["id"], "updated"), (doomed["id"], "deleted"), (moved["id"], "updated")]) and
          [f["id"] for f in near.get("features", [])] == [moved["id"]],
          "what another program changes, moves or removes is served as stored within seconds (a bbox query finds "
          "the moved line where it is now), with its change in the feed",
          (upd.stderr[-300:], ups.stderr[-300:], seen, got, [f["id"] for f in near.get("features", [])]))

    # --- it changes a feature: an edit with the ETag from before gets 412, one without is applied
    # to what it stored, and nothing it changed is lost ---
    _, h, feat = srv.send_json("POST", ITEMS % "closures", op, closure("Before the GIS", description_en="kept"))
    fid, old_etag = feat["id"], h["etag"]
    upd = subprocess.run(["ogrinfo", srv.store, "-sql",
                          "UPDATE closures SET name = 'Renamed in a GIS', severity = 'partial' WHERE fid = %d" % fid],
                         capture_output=True, text=True, timeout=120)
    s1, _, b1 = srv.send_json("PATCH", ITEMS % "closures" + "/%d" % fid, op, {"properties": {"reason": "works"}},
                              content_type="application/merge-patch+json", headers={"If-Match": old_etag})
    sg, hg, g = srv.get_json(ITEMS % "closures" + "/%d" % fid)
    check(upd.returncode == 0 and s1 == 412 and sg == 200 and hg["etag"] != old_etag and
          g["properties"]["name"] == "Renamed in a GIS" and g["properties"]["reason"] == "flood",
          "an edit with the ETag from before another program changed the feature: 412, and it is served as stored",
          (upd.stderr[-200:], s1, b1, sg, g.get("properties") if g else None))
    s2, _, b2 = srv.send_json("PATCH", ITEMS % "closures" + "/%d" % fid, op, {"properties": {"reason": "works"}},
                              content_type="application/merge-patch+json", headers={"If-Match": hg["etag"]})
    p2 = b2.get("properties", {}) if b2 else {}
    check(s2 == 200 and p2.get("reason") == "works" and p2.get("name") == "Renamed in a GIS" and
          p2.get("severity") == "partial" and p2.get("description_en") == "kept",
          "with the current ETag the edit applies to what the other program stored: its change is kept", (s2, p2))
    subprocess.run(["ogrinfo", srv.store, "-sql", "UPDATE closures SET name = 'Renamed again' WHERE fid = %d" % fid],
                   capture_output=True, text=True, timeout=120)
    s3, _, b3 = srv.send_json("PATCH", ITEMS % "closures" + "/%d" % fid, op, {"properties": {"reason": "flood"}},
                              content_type="application/merge-patch+json")
    rec = [(r["actor"], r["action"], (r["after"] or {}).get("properties", {}).get("name")) for r in audit_of(srv, admin, fid)]
    check(s3 == 200 and b3["properties"]["name"] == "Renamed again" and
          rec == [("traffic-1", "created", "Before the GIS"), ("(another program)", "updated", "Renamed in a GIS"),
                  ("traffic-1", "updated", "Renamed in a GIS"), ("(another program)", "updated", "Renamed again"),
                  ("traffic-1", "updated", "Renamed again")],
          "an edit without If-Match is merged onto the stored version; the audit log shows each program's change in turn",
          (s3, b3.get("properties", {}).get("name") if b3 else None, rec))

    # --- it removes a feature: its edits get 404 saying why; the edits beside it go through ---
    _, _, gone = srv.send_json("POST", ITEMS % "closures", op, closure("to be removed outside"))
    _, _, kept = srv.send_json("POST", ITEMS % "closures", op, closure("edited beside it"))
    rm = subprocess.run(["ogrinfo", srv.store, "-sql", "DELETE FROM closures WHERE fid = %d" % gone["id"]],
                        capture_output=True, text=True, timeout=120)
    results = {}
    def patch(fid, value):
        results.setdefault(fid, []).append(srv.send_json("PATCH", ITEMS % "closures" + "/%d" % fid, op,
                                                         {"properties": {"reason": value}},
                                                         content_type="application/merge-patch+json"))
    threads = [threading.Thread(target=patch, args=(fid, "works")) for fid in (gone["id"], kept["id"], gone["id"])]
    threads += [threading.Thread(target=patch, args=(kept["id"], "flood"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sd, _, bd = srv.send_json("DELETE", ITEMS % "closures" + "/%d" % gone["id"], op)
    sg, _, _ = srv.get_json(ITEMS % "closures" + "/%d" % gone["id"])
    gone_codes = sorted(r[0] for r in results[gone["id"]])
    said = [r[2]["description"] for r in results[gone["id"]] if r[0] == 404]
    rec = [(r["actor"], r["action"]) for r in audit_of(srv, admin, gone["id"])]
    check(rm.returncode == 0 and gone_codes == [404, 404] and len(said) == 2 and
          all(r[0] == 200 for r in results[kept["id"]]) and sd == 404 and sg == 404 and
          rec == [("traffic-1", "created"), ("(another program)", "deleted")],
          "an edit of a feature another program removed gets 404, the feature is no longer served, the log records "
          "the removal once, and the edits beside it go through",
          (rm.stderr[-200:], gone_codes, said, [r[0] for r in results[kept["id"]]], sd, sg, rec))


def behind_a_proxy(binary, source):
    """A server behind a reverse proxy (trusted_proxies): the throttle and the access log go by
    the client the proxy names in X-Forwarded-For, so one client's bad tokens do not lock out
    every operator behind the same proxy."""
    srv = Server(binary, source)
    srv.config = derived_config(source, srv.tmp, trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    srv.make_demo_store()
    op = srv.token("behind-proxy", "operator")
    srv.start()
    try:
        def post(token, client):
            # As nginx's $proxy_add_x_forwarded_for sends it: what the client sent, then the client.
            return srv.send_json("POST", ITEMS % "closures", token, closure(),
                                 headers={"X-Forwarded-For": "1.2.3.4, %s" % client})[0]
        codes = [post("cm_bad%d" % i, "203.0.113.7") for i in range(12)]
        other = post(op, "203.0.113.8")
        same = post(op, "203.0.113.7")
        via = post(op, "198.51.100.1, 10.1.2.3")  # a second proxy in 10/8 in between
        log = srv.read_log()
        check(codes[:9] == [401] * 9 and codes[-1] == 429 and other == 201 and same == 429 and via == 201 and
              "203.0.113.7 throttled" in log and "203.0.113.8 POST /api/collections/closures/items 201" in log and
              "198.51.100.1 POST /api/collections/closures/items 201" in log and "1.2.3.4" not in log,
              "behind a trusted proxy, the throttle and the access log go by the forwarded client, not the proxy "
              "nor what the client claims", (codes, other, same, via, log[-600:]))
        rc = srv.stop()
        check(rc == 0, "the server behind a proxy exits cleanly", srv.read_log()[-1000:] if rc else "")
    finally:
        srv.stop()
        srv.cleanup()
    bad = Server(binary, source)
    bad.config = derived_config(source, bad.tmp, trusted_proxies=["10.0.0.0/33"])
    out = subprocess.run([binary, "serve", "--config", bad.config, "--listen", "127.0.0.1:0"], capture_output=True,
                         text=True, timeout=60)
    bad.cleanup()
    check(out.returncode != 0 and "trusted_proxies[0]" in out.stderr,
          "a trusted_proxies entry that is not an address or range is refused at start, naming it", out.stderr[-300:])


def run_all(srv, admin, op, op2, scoped, viewer):
    # --- authentication and roles ---
    s, h, b = srv.send_json("POST", ITEMS % "closures", None, closure())
    check(s == 401 and h.get("www-authenticate", "").startswith("Bearer") and b["field"] == "Authorization", "no token: 401")
    s, h, b = srv.send_json("POST", ITEMS % "closures", "cm_" + "0" * 64, closure())
    check(s == 401 and "invalid_token" in h.get("www-authenticate", ""), "wrong token: 401 invalid_token")
    s, _, b = srv.send_json("POST", ITEMS % "closures", viewer, closure())
    check(s == 403 and b["code"] == "forbidden", "viewer may not write: 403")
    s, _, _ = srv.send_json("POST", ITEMS % "closures", scoped, closure())
    check(s == 403, "operator scoped to services may not edit closures: 403")
    road = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.41, 43.73], [7.411, 43.731]]},
            "properties": {"name": "Test road", "highway": "residential"}}
    s, _, _ = srv.send_json("POST", ITEMS % "roads", op, road)
    check(s == 403, "operator may not edit reference data: 403")
    s, _, b = srv.send_json("POST", ITEMS % "roads", admin, road)
    check(s == 201 and b["properties"]["name"] == "Test road", "admin edits reference data: 201")
    s, h, _ = srv.request("OPTIONS", ITEMS % "closures" + "/1", {"Origin": "https://x", "Access-Control-Request-Method": "PATCH"})
    check(s == 204 and "PATCH" in h.get("access-control-allow-methods", ""), "CORS preflight for PATCH without a token")

    # --- create ---
    before = store_state(srv)
    s, h, b = srv.send_json("POST", ITEMS % "closures", op, closure("Rue de test", version=99, updated_by="someone-else"))
    ok = s == 201 and h.get("location", "").endswith("/items/%d" % b["id"]) and h.get("etag", "").startswith('"f')
    check(ok, "POST creates: 201 with Location and ETag", (s, h, b))
    cid, etag = b["id"], h["etag"]
    p = b["properties"]
    check(p["version"] == 1 and p["updated_by"] == "traffic-1" and p["created"] == p["updated"] and p["status"] == "active",
          "the server owns version, updated_by, created, updated and status", p)
    s, h, g = srv.get_json(ITEMS % "closures" + "/%d" % cid)
    check(s == 200 and h["etag"] == etag and g["properties"]["name"] == "Rue de test", "the created feature is served at once")
    after = store_state(srv)
    check(after[0]["closures"] == before[0]["closures"] + 1 and after[1]["closures"] != before[1]["closures"],
          "the layer's count and ETag change")

    # --- malformed input: 4xx naming the field, store unchanged ---
    state = store_state(srv)
    bad = [
        ("POST", "closures", {"Content-Type": "text/plain"}, b"{}", 415, "Content-Type"),
        ("POST", "closures", {}, b'{"type":"Feature",', 400, "body"),
        ("POST", "closures", {}, b'{"type":"Feature","geometry":NaN}', 400, "body"),
        ("POST", "closures", {}, b'{"type":"Feature","geometry":{"type":"Point","coordinates":[Infinity,1]}}', 400, "body"),
        ("POST", "closures", {}, b'{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1e400,1],[2,2]]}}', 400, "body"),
        ("POST", "closures", {}, b'{"type":"Feature","a":1,"a":2}', 400, "body"),
        ("POST", "closures", {}, b'\xff\xfe{"type":"Feature"}', 400, "body"),
        ("POST", "closures", {}, json.dumps({"type": "FeatureCollection", "features": []}).encode(), 400, "type"),
        ("POST", "closures", {}, json.dumps({"type": "Feature", "properties": {"reason": "flood"}}).encode(), 400, "geometry"),
        ("POST", "closures", {}, json.dumps(dict(closure(), geometry={"type": "Point", "coordinates": [7.4, 43.7]})).encode(), 400, "geometry.type"),
        ("POST", "closures", {}, json.dumps(dict(closure(), geometry={"type": "LineString", "coordinates": [[200, 43.7], [7.4, 43.7]]})).encode(), 400, "geometry.coordinates[0]"),
        ("POST", "closures", {}, json.dumps(dict(closure(), geometry={"type": "LineString", "coordinates": [[7.4, 43.7]]})).encode(), 400, "geometry.coordinates"),
        ("POST", "closures", {}, json.dumps(dict(closure(), geometry={"type": "LineString", "coordinates": [[7.4, 95], [7.4, 43.7]]})).encode(), 400, "geometry.coordinates[0]"),
        ("POST", "blocked_areas", {}, json.dumps({"type": "Feature", "properties": {"reason": "flood"}, "geometry": {"type": "Polygon", "coordinates": [[[7.4, 43.7], [7.41, 43.7], [7.41, 43.71], [7.4, 43.71]]]}}).encode(), 400, "geometry.coordinates[0]"),
        ("POST", "blocked_areas", {}, json.dumps({"type": "Feature", "properties": {"reason": "flood"}, "geometry": {"type": "Polygon", "coordinates": [[[7.4, 43.7], [7.41, 43.7], [7.4, 43.7]]]}}).encode(), 400, "geometry.coordinates[0]"),
        ("POST", "blocked_areas", {}, json.dumps({"type": "Feature", "properties": {"reason": "flood"}, "geometry": {"type": "Polygon", "coordinates": [[[7.40, 43.70], [7.41, 43.71], [7.41, 43.70], [7.40, 43.71], [7.40, 43.70]]]}}).encode(), 422, "geometry"),
        ("POST", "closures", {}, json.dumps(dict(closure(), geometry={"type": "LineString", "coordinates": [[7.42, 43.73], [7.42, 43.73]]})).encode(), 422, "geometry"),
        ("POST", "closures", {}, json.dumps(closure(colour="red")).encode(), 400, "properties.colour"),
        ("POST", "closures", {}, json.dumps(closure(reason="aliens")).encode(), 400, "properties.reason"),
        ("POST", "closures", {}, json.dumps(closure(name="x" * 201)).encode(), 400, "properties.name"),
        ("POST", "closures", {}, json.dumps(closure(valid_until="next tuesday")).encode(), 400, "properties.valid_until"),
        ("POST", "closures", {}, json.dumps({"type": "Feature", "geometry": closure()["geometry"], "properties": {"name": "no reason"}}).encode(), 400, "properties.reason"),
        ("POST", "services", {}, json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}, "properties": {"kind": "shelter", "capacity": "many"}}).encode(), 400, "properties.capacity"),
        ("POST", "services", {}, json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}, "properties": {"kind": "shelter", "capacity": -5}}).encode(), 400, "properties.capacity"),
        ("POST", "closures", {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/999999>"}, json.dumps(closure()).encode(), 400, "Content-Crs"),
        ("PATCH", "closures/%d" % cid, {"Content-Type": "application/json"}, b'{"properties":{}}', 415, "Content-Type"),
        ("PATCH", "closures/%d" % cid, {"Content-Type": "application/merge-patch+json"}, b'[1,2]', 400, "body"),
        ("PATCH", "closures/%d" % cid, {"Content-Type": "application/merge-patch+json"}, b'{"properties":{"reason":"aliens"}}', 400, "properties.reason"),
        ("PATCH", "closures/%d" % cid, {"Content-Type": "application/merge-patch+json"}, b'{"properties":{"reason":null}}', 400, "properties.reason"),
        ("PATCH", "closures/%d" % cid, {"Content-Type": "application/merge-patch+json"}, b'{"geometry":{"type":"Point","coordinates":[7.4,43.7]}}', 400, "geometry.type"),
        ("PUT", "closures/%d" % cid, {"If-Match": '"f0000000000000abc"'}, json.dumps(closure()).encode(), 412, "If-Match"),
        ("PUT", "closures/999999", {}, json.dumps(closure()).encode(), 404, "featureId"),
        ("DELETE", "closures/999999", {}, None, 404, "featureId"),
        ("PUT", "evacuation_routes/1", {}, json.dumps({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.42, 43.73], [7.43, 43.74]]}, "properties": {"name": "x"}}).encode(), 428, "If-Match"),
    ]
    for method, where, headers, body, want, field in bad:
        path = ITEMS % where.split("/")[0] + ("/" + where.split("/")[1] if "/" in where else "")
        h = {"Content-Type": "application/geo+json", "Authorization": "Bearer " + (admin if where.startswith("evac") else op)}
        h.update(headers)
        s, hdrs, out = srv.request(method, path, h, body)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = {}
        check(s == want and doc.get("field") == field and doc.get("description"),
              "%s %s -> %d naming %s" % (method, where, want, field), (s, doc))
    check(store_state(srv) == state, "the store is unchanged after every refused request")

    # An oversized body is refused before it is read.
    st, body = srv.early_reply("POST", ITEMS % "closures", {"Content-Type": "application/geo+json", "Authorization": "Bearer " + op},
                               5 << 20, send_bytes=1000)
    doc = json.loads(body) if body else {}
    check(st == 413 and doc.get("field") == "body", "a 5 MiB body gets 413 before it is read", (st, body[:200]))
    check(store_state(srv) == state, "the store is unchanged after the 413")
    # Without Content-Length (chunked) the cap is found on the way; the answer is still a 413.
    import http.client
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    conn.request("POST", ITEMS % "closures", body=(b"a" * 65536 for _ in range(40)), encode_chunked=True,
                 headers={"Content-Type": "application/geo+json", "Authorization": "Bearer " + op})
    r = conn.getresponse()
    doc = json.loads(r.read() or b"{}")
    conn.close()
    check(r.status == 413 and doc.get("field") == "body" and store_state(srv) == state,
          "a 2.5 MiB chunked body gets 413 and changes nothing", (r.status, doc))

    # Too many vertices (under the body cap): refused, not stored.
    coords = ",".join(["[7,43]"] * 100001)
    body = ('{"type":"Feature","properties":{"reason":"flood"},"geometry":{"type":"LineString","coordinates":[%s]}}' % coords).encode()
    s, _, out = srv.request("POST", ITEMS % "closures", {"Content-Type": "application/geo+json", "Authorization": "Bearer " + op}, body)
    check(s in (400, 413) and store_state(srv) == state, "a line with 100,001 vertices is refused", s)

    # --- Content-Crs: a body in Web Mercator is stored in WGS84 ---
    merc = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [826000.0, 5423000.0]},
            "properties": {"kind": "water", "name": "Mercator tank"}}
    s, _, b = srv.send_json("POST", ITEMS % "services", scoped, merc, headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/3857>"})
    ok = s == 201 and abs(b["geometry"]["coordinates"][0] - 7.4201) < 0.001 and abs(b["geometry"]["coordinates"][1] - 43.7320) < 0.01
    check(ok, "Content-Crs EPSG:3857 is transformed to WGS84 on the way in", b)

    # --- PUT, PATCH, DELETE ---
    s, h, b = srv.send_json("PUT", ITEMS % "closures" + "/%d" % cid, op, closure("Replaced", severity="partial"), headers={"If-Match": etag})
    check(s == 200 and b["properties"]["name"] == "Replaced" and b["properties"]["version"] == 2 and
          b["properties"]["created"] == p["created"], "PUT replaces, keeps created, bumps version", b)
    etag = h["etag"]
    s, h, b = srv.send_json("PATCH", ITEMS % "closures" + "/%d" % cid, op, {"properties": {"severity": None, "direction": "forward"}},
                            content_type="application/merge-patch+json", headers={"If-Match": etag})
    check(s == 200 and b["properties"]["severity"] is None and b["properties"]["direction"] == "forward" and
          b["properties"]["name"] == "Replaced" and b["properties"]["version"] == 3, "PATCH merges (null removes)", b)
    etag = h["etag"]
    s, h, b = srv.send_json("PATCH", ITEMS % "closures" + "/%d" % cid, op, {"properties": {"status": "lifted"}},
                            content_type="application/merge-patch+json")
    check(s == 200 and b["properties"]["status"] == "lifted", "lifting a closure sticks", b)
    s, h, b = srv.send_json("DELETE", ITEMS % "closures" + "/%d" % cid, op)
    s2, _, _ = srv.get_json(ITEMS % "closures" + "/%d" % cid)
    check(s == 204 and s2 == 404, "DELETE removes: 204, then 404")

    # --- status follows time ---
    s, _, b = srv.send_json("POST", ITEMS % "closures", op, closure("Old", valid_from="2020-01-01T00:00:00Z", valid_until="2020-01-02T00:00:00Z"))
    check(s == 201 and b["properties"]["status"] == "expired", "a closure whose time has passed is expired")
    s, _, b = srv.send_json("POST", ITEMS % "closures", op, closure("Later", valid_from="2099-01-01T00:00:00Z", valid_until=None))
    check(s == 201 and b["properties"]["status"] == "planned", "a closure in the future is planned")
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
    s, _, b = srv.send_json("POST", ITEMS % "closures", op, closure("Ends soon", valid_until=soon))
    timed = b["id"]
    check(s == 201 and b["properties"]["status"] == "active", "a closure ending in 2 s starts active")
    deadline = time.time() + 8
    status = None
    while time.time() < deadline:
        _, _, g = srv.get_json(ITEMS % "closures" + "/%d" % timed)
        status = g["properties"]["status"]
        if status == "expired":
            break
        time.sleep(0.25)
    check(status == "expired", "the timer expires it without any request", status)
    s, _, active = srv.get_json(ITEMS % "closures" + "?status=active&limit=10000")
    check(timed not in [f["id"] for f in active["features"]], "an expired closure leaves the active list")

    # --- two operators, one feature ---
    s, h, b = srv.send_json("POST", ITEMS % "services", admin, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.735]},
                                                             "properties": {"kind": "shelter", "name": "Shared shelter", "capacity": 100}})
    sid, tag = b["id"], h["etag"]
    s1, h1, b1 = srv.send_json("PATCH", ITEMS % "services" + "/%d" % sid, op, {"properties": {"status": "full"}},
                               content_type="application/merge-patch+json", headers={"If-Match": tag})
    s2, h2, b2 = srv.send_json("PATCH", ITEMS % "services" + "/%d" % sid, op2, {"properties": {"capacity": 150}},
                               content_type="application/merge-patch+json", headers={"If-Match": tag})
    check(s1 == 200 and s2 == 412 and b2["code"] == "precondition_failed", "second operator with a stale ETag gets 412", (s1, s2))
    _, h3, cur = srv.get_json(ITEMS % "services" + "/%d" % sid)
    s3, _, b3 = srv.send_json("PATCH", ITEMS % "services" + "/%d" % sid, op2, {"properties": {"capacity": 150}},
                              content_type="application/merge-patch+json", headers={"If-Match": h3["etag"]})
    check(s3 == 200 and b3["properties"]["status"] == "full" and b3["properties"]["capacity"] == 150 and
          b3["properties"]["updated_by"] == "civil-defence-2", "after reloading both changes are there: nothing lost", b3)

    # --- N parallel writers x M updates ---
    n_writers, m_updates = 8, 20
    ids, errors = [], []
    for i in range(n_writers):
        s, h, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.41 + i / 1000, 43.73]},
                                                              "properties": {"kind": "water", "name": "tank %d" % i, "capacity": 0}})
        ids.append((b["id"], h["etag"]))

    def writer(k):
        fid, tag = ids[k]
        for j in range(1, m_updates + 1):
            s, h, b = srv.send_json("PATCH", ITEMS % "services" + "/%d" % fid, op, {"properties": {"capacity": j}},
                                    content_type="application/merge-patch+json", headers={"If-Match": tag})
            if s != 200:
                errors.append((k, j, s, b))
                return
            tag = h["etag"]
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(n_writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    finals = [srv.get_json(ITEMS % "services" + "/%d" % fid)[2]["properties"] for fid, _ in ids]
    check(not errors and all(p["capacity"] == m_updates and p["version"] == m_updates + 1 for p in finals),
          "%d parallel writers x %d updates: exact final state" % (n_writers, m_updates), errors[:3])
    created = []

    def creator(k):
        for j in range(10):
            s, _, b = srv.send_json("POST", ITEMS % "blocked_areas", op, {"type": "Feature", "properties": {"reason": "cordon", "name": "p%d-%d" % (k, j)},
                                    "geometry": {"type": "Polygon", "coordinates": [[[7.4, 43.7], [7.401, 43.7], [7.401, 43.701], [7.4, 43.7]]]}})
            if s == 201:
                created.append(b["id"])
    count0 = srv.get_json("/healthz")[2]["layers"]["blocked_areas"]
    threads = [threading.Thread(target=creator, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    count1 = srv.get_json("/healthz")[2]["layers"]["blocked_areas"]
    check(len(created) == 80 and len(set(created)) == 80 and count1 == count0 + 80, "80 parallel creates: 80 distinct ids, exact count")
    bbox_exact_while_the_index_is_rebuilt(srv, op)

    # --- audit API ---
    s, _, b = srv.send_json("GET", "/api/audit?limit=5", op)
    check(s == 403, "the audit log is admins' only")
    s, _, b = srv.send_json("GET", "/api/audit?limit=5", admin)
    recs = b["records"] if b else []
    check(s == 200 and len(recs) == 5 and recs[0]["seq"] > recs[1]["seq"] and recs[0]["hash"] and
          recs[1]["hash"] == recs[0]["prev_hash"], "admins page through the audit log, newest first, chained", b and b.get("links"))
    nxt = [l["href"] for l in b["links"] if l["rel"] == "next"]
    s, _, b2 = srv.send_json("GET", nxt[0][len(srv.url):], admin) if nxt else (0, None, None)
    check(s == 200 and b2["records"][0]["seq"] == recs[-1]["seq"] - 1, "the next page continues where the first ended")
    s, _, b = srv.send_json("GET", "/api/audit?collection=services&feature=%d" % sid, admin)
    acts = [r["action"] for r in b["records"]]
    check(s == 200 and acts == ["updated", "updated", "created"] and b["records"][0]["actor"] == "civil-defence-2" and
          b["records"][0]["before"]["properties"]["capacity"] == 100 and b["records"][0]["after"]["properties"]["capacity"] == 150,
          "a feature's history: who, what, before and after", acts)
    s, _, b = srv.send_json("GET", "/api/audit?collection=closures&feature=%d" % timed, admin)
    check(s == 200 and b["records"][0]["action"] == "expired" and b["records"][0]["actor"] == "system", "the timer's change is audited as expired")
    feature_history_pages(srv, op, admin)
    if_match_forms(srv, op, admin)
    crs_axis_order_and_ranges(srv, op)
    error_bodies_are_utf8(srv, op)
    no_markup_in_audit(srv, op, admin)
    patches_that_change_nothing(srv, op, admin)
    write_figures_in_health(srv, op)

    # --- another program holds the GeoPackage's write lock (a GIS editing the file) ---
    before = store_state(srv)
    locker = sqlite3.connect(srv.store, isolation_level=None, timeout=10)
    locker.execute("BEGIN IMMEDIATE")
    try:
        t0 = time.time()
        s, h, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                                                              "properties": {"kind": "water", "name": "During the lock"}})
        waited = time.time() - t0
        check(s == 503 and "write lock" in b.get("description", "") and waited < 4 and h.get("retry-after") == "1",
              "a create while another program holds the store's lock: 503 after a bounded wait, saying why, with "
              "Retry-After", (s, b, waited, h.get("retry-after")))
        # The audit log is read beside the persistence worker, not behind it: while a patch waits
        # for the lock, the log and a layer's changes from it are answered (before, a read queued
        # behind the waiting write, and two clients polling /changes held every write).
        waiting = {}
        patcher = threading.Thread(target=lambda: waiting.update(r=srv.send_json(
            "PATCH", ITEMS % "services" + "/%d" % sid, op, {"properties": {"capacity": 999}},
            content_type="application/merge-patch+json")))
        patcher.start()
        time.sleep(0.2)
        sa, _, ba = srv.get_json("/api/audit?limit=3", headers={"Authorization": "Bearer " + admin})
        sc, _, bc = srv.get_json("/api/collections/services/changes?since=0&limit=3")
        still_waiting = patcher.is_alive()
        patcher.join()
        s2, _, b2 = waiting["r"]
        check(sa == 200 and len(ba["records"]) == 3 and sc == 200 and len(bc["changes"]) == 3 and still_waiting,
              "while a write waits for the lock, the audit log and /changes from it are answered",
              (sa, sc, still_waiting))
        check(s2 == 503, "a patch meanwhile: 503 too", (s2, b2))
        s3, _, b3 = srv.get_json(ITEMS % "services" + "/%d" % sid)
        check(s3 == 200 and b3["properties"]["capacity"] != 999, "reads go on during the lock and show nothing half-applied")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    check(store_state(srv) == before, "after the lock: counts and versions as before the refused writes")
    # Between reads the audit reader holds no read transaction: a checkpoint can copy the whole WAL
    # and truncate it (a reader left inside one would keep the WAL growing for ever).
    srv.get_json("/api/collections/services/changes?since=0&limit=5")
    ckpt = sqlite3.connect(srv.store, isolation_level=None, timeout=10)
    busy, wal_pages, copied = ckpt.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    ckpt.close()
    check(busy == 0 and wal_pages == copied, "after an audit read, a checkpoint takes the whole WAL", (busy, wal_pages, copied))
    s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                                                          "properties": {"kind": "water", "name": "After the lock"}})
    s2, _, b2 = srv.get_json(ITEMS % "services" + "/%d" % b["id"]) if s == 201 else (0, None, None)
    check(s == 201 and s2 == 200 and b2["properties"]["name"] == "After the lock", "once the lock is gone, writes go through", (s, b))

    # --- a GDAL client sees a feature created through the API ---
    s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.4222, 43.7333]},
                                                          "properties": {"kind": "hospital", "name": "Field hospital GDAL"}})
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", "OAPIF:%s/api" % srv.url, "services"],
                         capture_output=True, text=True, timeout=120)
    names = [f["properties"].get("name") for f in json.loads(out.stdout)["features"]] if out.returncode == 0 else []
    check("Field hospital GDAL" in names, "GDAL's OAPIF client sees the feature created through the API")

    another_program_writes(srv, op, admin)
    # Another program stores a line the server cannot take (more vertices than it reads): that
    # row is logged and left as it was in memory; the writes go on.
    _, _, huge = srv.send_json("POST", ITEMS % "closures", op, closure("To be made huge"))
    hugefile = os.path.join(srv.tmp, "huge.geojson")
    with open(hugefile, "w") as f:
        json.dump({"type": "FeatureCollection", "features": [dict(closure("Huge"), id=huge["id"], geometry={
            "type": "LineString", "coordinates": [[7.40 + i * 1e-7, 43.70] for i in range(100001)]})]}, f)
    hu = subprocess.run(["ogr2ogr", "-update", "-upsert", "-preserve_fid", "-nln", "closures", srv.store, hugefile],
                        capture_output=True, text=True, timeout=120)
    s1, _, _ = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                                                             "properties": {"kind": "water", "name": "After a huge line"}})
    g = srv.get_json(ITEMS % "closures" + "/%d" % huge["id"])
    check(hu.returncode == 0 and s1 == 201 and g[0] == 200 and g[2]["properties"]["name"] == "To be made huge" and
          "feature %d of closures as another program stored it cannot be read" % huge["id"] in srv.read_log(),
          "a row another program stored that the server cannot read is logged and served as it was; writes go on",
          (hu.stderr[-300:], s1, g[0], srv.read_log()[-400:]))
    # Last before the throttle: another program drops the closures table. The look at the store
    # fails for that layer alone; the other layers' writes go on (had the failed look failed
    # the batch, every write of every layer would have got 503 until a restart).
    ren = subprocess.run(["ogrinfo", srv.store, "-sql", "DROP TABLE closures"], capture_output=True, text=True, timeout=120)
    s1, _, _ = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                                                             "properties": {"kind": "water", "name": "After a rename"}})
    check(ren.returncode == 0 and s1 == 201 and "cannot look for other programs' changes to closures" in srv.read_log(),
          "a layer table another program dropped leaves the other layers' writes working, and the log says which",
          (ren.stderr[-300:], s1, srv.read_log()[-500:]))

    # --- throttle (last: it blocks this address for a minute) ---
    codes = [srv.send_json("POST", ITEMS % "closures", "cm_bad%d" % i, closure())[0] for i in range(12)]
    s, h, b = srv.send_json("POST", ITEMS % "closures", op, closure())
    check(codes[:9] == [401] * 9 and 429 in codes and s == 429 and int(h.get("retry-after", "0")) > 0,
          "repeated failures from one address: 429 with Retry-After", codes)
    # No trusted_proxies here: what a client says it forwards for is ignored.
    s, _, _ = srv.send_json("POST", ITEMS % "closures", op, closure(), headers={"X-Forwarded-For": "203.0.113.99"})
    check(s == 429, "X-Forwarded-For from a peer that is not a trusted proxy does not get round the throttle", s)
    log = srv.read_log()
    check(op not in log and admin not in log and "cm_bad" not in log, "tokens never appear in the log")


def if_match_forms(srv, op, admin):
    """If-Match takes the ETag of the gzip twin of a response (browsers always get that one for a
    feature of 1 KB or more), a list of tags, and refuses * on a layer that requires If-Match;
    a malformed header is a 400 and a tag we never issued (uppercase hex is not ours) a 412."""
    long_name = "Gzip route " + "x" * 150
    route = {"type": "Feature", "properties": {"name": long_name},
             "geometry": {"type": "LineString", "coordinates": [[7.41 + i * 0.0001, 43.73 + (i % 7) * 0.0001] for i in range(60)]}}
    s, h, b = srv.send_json("POST", ITEMS % "evacuation_routes", admin, route)
    rid = b["id"]
    path = ITEMS % "evacuation_routes" + "/%d" % rid
    _, gh, _ = srv.request("GET", path, {"Accept-Encoding": "gzip"})
    gz_tag = gh.get("etag", "")
    check(gh.get("content-encoding") == "gzip" and gz_tag.endswith('-gz"'), "a large feature goes out gzipped, its ETag marked -gz", gh)
    patch = lambda tag, note: srv.send_json("PATCH", path, admin, {"properties": {"name": note}},
                                            content_type="application/merge-patch+json", headers={"If-Match": tag} if tag is not None else {})
    s, h2, b2 = patch(gz_tag, "via gzip tag")
    check(s == 200 and b2["properties"]["name"] == "via gzip tag", "the gzip twin's ETag is accepted as If-Match", (s, b2))
    tag = h2["etag"]
    s, h3, b3 = patch('"f0000000000000abc", W/%s' % tag, "via list")
    check(s == 200 and b3["properties"]["name"] == "via list", "a list of ETags matches when any of them is current", (s, b3))
    tag = h3["etag"]
    s, _, b4 = patch(tag.upper().replace('"F', '"f'), "uppercase hex")
    check(s == 412 and b4["field"] == "If-Match", "uppercase hex is not our tag: 412", (s, b4))
    s, _, b4w = patch("W/" + gz_tag, "weak stale tag")
    check(s == 412 and b4w["field"] == "If-Match", "a weak mark does not make a stale tag match: 412", (s, b4w))
    s, _, b5 = patch("*", "star")
    check(s == 428 and b5["field"] == "If-Match", "a layer that requires If-Match refuses *: 428", (s, b5))
    for bad in ['f0123', '"f0123456789abcdef" "f0123456789abcdef"', '"unterminated', '*, "f0123456789abcdef"']:
        s, _, b6 = patch(bad, "malformed")
        check(s == 400 and b6["field"] == "If-Match", "a malformed If-Match is a 400: %s" % bad, (s, b6))
    _, _, now = srv.get_json(path)
    check(now["properties"]["name"] == "via list" and now["properties"]["version"] == 3, "refused edits changed nothing", now["properties"])
    s, _, b7 = srv.send_json("PATCH", ITEMS % "closures" + "/1", op, {"properties": {"name": "star closure"}},
                             content_type="application/merge-patch+json", headers={"If-Match": "*"})
    check(s == 200, "* is accepted where If-Match is optional", (s, b7))


def crs_axis_order_and_ranges(srv, op):
    """Input in a CRS whose authority order is lat,lon is read in that order, as the server answers
    (a client writing back what it read must not move the feature); a geometry patch in another CRS
    must give its coordinates; dates that an offset carries out of the years 0000-9999, and validity
    intervals that end before they start, are refused."""
    epsg4326 = "<http://www.opengis.net/def/crs/EPSG/0/4326>"
    s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [43.7333, 7.4222]},
                                                          "properties": {"kind": "water", "name": "Lat-lon tank"}},
                            headers={"Content-Crs": epsg4326})
    x, y = b["geometry"]["coordinates"] if s == 201 else (0, 0)
    check(s == 201 and abs(x - 7.4222) < 1e-6 and abs(y - 43.7333) < 1e-6, "Content-Crs EPSG:4326 is read as lat,lon", b)
    fid = b["id"]
    path = ITEMS % "services" + "/%d" % fid
    _, h, g = srv.get_json(path + "?crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    s, _, b = srv.send_json("PATCH", path, op, {"geometry": g["geometry"]}, content_type="application/merge-patch+json",
                            headers={"Content-Crs": epsg4326, "If-Match": h["etag"]})
    x, y = b["geometry"]["coordinates"] if s == 200 else (0, 0)
    check(s == 200 and abs(x - 7.4222) < 1e-6 and abs(y - 43.7333) < 1e-6, "writing back what EPSG:4326 output gave leaves it in place", b)
    _, _, box = srv.get_json(ITEMS % "services" + "?bbox=43.733,7.422,43.734,7.423&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326")
    check(fid in [f["id"] for f in box.get("features", [])], "bbox-crs EPSG:4326 is lat,lon too", box)

    state = store_state(srv)
    merc = "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    for patch in ({"geometry": {}}, {"geometry": {"type": "Point"}}):
        s, _, b = srv.send_json("PATCH", path, op, patch, content_type="application/merge-patch+json", headers={"Content-Crs": merc})
        check(s == 400 and b["field"] == "geometry.coordinates", "a geometry patch in EPSG:3857 without coordinates is a 400: %s" % patch, (s, b))
    bad_dates = [(closure(valid_from="0000-01-01T00:00:00+00:01"), "properties.valid_from"),
                 (closure(valid_until="9999-12-31T23:59:00-00:02"), "properties.valid_until"),
                 (closure(valid_from="2026-06-01T00:00:00Z", valid_until="2026-05-31T23:59:59Z"), "properties.valid_until")]
    for doc, field in bad_dates:
        s, _, b = srv.send_json("POST", ITEMS % "closures", op, doc)
        check(s == 400 and b["field"] == field, "refused: %s" % field, (s, b))
    far = [("<http://www.opengis.net/def/crs/EPSG/0/3857>", [0, 1e300], "geometry"),      # latitude 90
           ("<http://www.opengis.net/def/crs/EPSG/0/3857>", [1e300, 0], "geometry"),
           ("<http://www.opengis.net/def/crs/EPSG/0/2154>", [-1e9, 1e9], "geometry"),     # France's Lambert, near a pole
           ("<http://www.opengis.net/def/crs/EPSG/0/4978>", [4.0e6, 5.0e5], "Content-Crs")]  # geocentric, not 2D
    for crs, xy, field in far:
        s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": xy},
                                                              "properties": {"kind": "water", "name": "Far"}}, headers={"Content-Crs": crs})
        check(s == 400 and b["field"] == field, "refused: %s in %s" % (xy, crs), (s, b))
    check(store_state(srv) == state, "the refused writes changed nothing")
    s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1046000.0, 6300000.0]},
                                                          "properties": {"kind": "water", "name": "Lambert tank"}},
                            headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/2154>"})
    x, y = b["geometry"]["coordinates"] if s == 201 else (0, 0)
    check(s == 201 and 7.0 < x < 7.9 and 43.4 < y < 44.1, "EPSG:2154 inside France (and a little past its edge) is taken", b)
    s, _, b = srv.send_json("PATCH", path, op, {"geometry": {"coordinates": [826000.0, 5423000.0]}},
                            content_type="application/merge-patch+json", headers={"Content-Crs": merc})
    x, y = b["geometry"]["coordinates"] if s == 200 else (0, 0)
    check(s == 200 and abs(x - 7.4201) < 0.001 and abs(y - 43.732) < 0.01, "a geometry patch in EPSG:3857 with coordinates moves it", b)


def error_bodies_are_utf8(srv, op):
    """JSON error bodies are UTF-8 even when they echo bytes that are not (a path with an overlong
    sequence) or cut a message inside a character (a long path of two-byte characters)."""
    for path in ["/%C0%AF", "/api/collections/a" + "%C3%A9" * 100 + "/items", ITEMS % "services" + "/a" + "%C3%A9" * 30,
                 ITEMS % "services" + "?a" + "%C3%A9" * 40 + "=1"]:
        s, _, body = srv.request("GET", path)
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            doc = {"undecodable": str(e)}
        check(400 <= s < 500 and "code" in doc, "a %d error body is UTF-8 JSON: %s" % (s, path[:40]), doc)


def no_markup_in_audit(srv, op, admin):
    """The audit log re-serialises stored records; like every other response it escapes <, > and &."""
    name = "<script>alert(1)</script>&"
    s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
                                                          "properties": {"kind": "water", "name": name}})
    s2, _, raw = srv.request("GET", "/api/audit?collection=services&feature=%d" % b["id"], {"Authorization": "Bearer " + admin})
    doc = json.loads(raw)
    check(s2 == 200 and b"<" not in raw and b">" not in raw and b"&" not in raw and
          doc["records"][0]["after"]["properties"]["name"] == name, "the audit log escapes markup", raw[:300])


def patches_that_change_nothing(srv, op, admin):
    """A merge patch that leaves the feature as it is ({} or values it already has) answers 200 with
    the feature, and makes no version, no audit record and no change to the layer."""
    s, h, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.4211, 43.7311]},
                                                          "properties": {"kind": "shelter", "name": "Idle shelter", "capacity": 40}})
    fid, tag = b["id"], h["etag"]
    path = ITEMS % "services" + "/%d" % fid
    audit = lambda: srv.get_json("/api/audit?collection=services&feature=%d" % fid, {"Authorization": "Bearer " + admin})[2]["records"]
    state, records = store_state(srv), len(audit())
    for patch in ({}, {"properties": {"name": "Idle shelter", "capacity": 40}}, {"geometry": {"type": "Point", "coordinates": [7.4211, 43.7311]}}):
        s, h2, b2 = srv.send_json("PATCH", path, op, patch, content_type="application/merge-patch+json", headers={"If-Match": tag})
        check(s == 200 and h2.get("etag") == tag and b2["properties"]["version"] == 1, "a patch that changes nothing keeps the version: %s" % patch, (s, b2))
    check(store_state(srv) == state and len(audit()) == records, "and leaves no audit record and no new layer version")
    s, h3, b3 = srv.send_json("PATCH", path, op, {"properties": {"capacity": 41}}, content_type="application/merge-patch+json", headers={"If-Match": tag})
    check(s == 200 and b3["properties"]["version"] == 2 and len(audit()) == records + 1, "a patch that changes a value makes version 2", b3)


def write_figures_in_health(srv, op):
    """/healthz counts the worker's edits and sums their time per phase, so a monitor (or the
    write benchmark) can tell a slow disk (commit time) from a busy worker (queue wait)."""
    _, _, h0 = srv.get_json("/healthz")
    created = [srv.send_json("POST", ITEMS % "services", op, {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.735]},
        "properties": {"name": "figures %d" % i, "kind": "water"}})[0] for i in range(5)]
    refused = srv.send_json("PATCH", ITEMS % "services" + "/999999999", op, {"properties": {"name": "x"}},
                            content_type="application/merge-patch+json")[0]
    _, _, h1 = srv.get_json("/healthz")
    w0, w1 = h0["writes"], h1["writes"]
    d = {k: w1[k] - w0[k] for k in w0}
    # batches: at most one per edit, plus any time-driven status change the worker commits meanwhile.
    check(created == [201] * 5 and refused == 404 and d["edits"] == 6 and 1 <= d["batches"] <= 8 and
          d["failed_batches"] == 0, "/healthz counts the edits the worker took (5 creates, 1 refused) and its commits", d)
    check(d["commit_ms"] > 0 and d["apply_ms"] > 0 and d["queue_wait_ms"] >= 0 and
          w1["commit_max_ms"] >= w0["commit_max_ms"] and w1["commit_max_ms"] * d["batches"] >= d["commit_ms"],
          "/healthz sums queue wait, apply and commit time, and keeps the slowest commit", w1)


def feature_history_pages(srv, op, admin):
    """An operator pages through one feature's history: the next link keeps the collection, the feature and the
    page size (the operator may not read the whole log), and the pages together are the feature's records, newest
    first, each once. The store has the index those reads seek."""
    s, h, b = srv.send_json("POST", ITEMS % "closures", op, closure("History"))
    fid, tag = b["id"], h["etag"]
    for reason in ("works", "event", "flood"):
        s, h, _ = srv.send_json("PATCH", ITEMS % "closures" + "/%d" % fid, op, {"properties": {"reason": reason}},
                                content_type="application/merge-patch+json", headers={"If-Match": tag})
        tag = h.get("etag")
    srv.send_json("POST", ITEMS % "closures", op, closure("Another"))  # a later record of another feature
    path, pages, seqs, actions = "/api/audit?collection=closures&feature=%d&limit=3" % fid, 0, [], []
    while path and pages < 5:
        s, _, b = srv.send_json("GET", path, op)
        if s != 200:
            break
        pages += 1
        seqs += [r["seq"] for r in b["records"]]
        actions += [r["action"] for r in b["records"]]
        nxt = [l["href"] for l in b["links"] if l["rel"] == "next"]
        path = nxt[0][len(srv.url):] if nxt else None
        if path:
            check("collection=closures" in path and "feature=%d" % fid in path and "limit=3" in path,
                  "a history's next link keeps its filters and page size", path)
    check(s == 200 and pages == 2 and actions == ["updated"] * 3 + ["created"] and seqs == sorted(seqs, reverse=True),
          "an operator pages through one feature's history: 3 + 1 records, newest first", (s, pages, actions))
    # An admin asks for a feature id in every layer: the same records (and those of other layers' features with that
    # id), newest first, in pages of 2 whose next links keep the feature.
    s3, h3, _ = srv.request("GET", ITEMS % "services" + "/%d" % fid)
    other = None
    if s3 == 200:  # a service with the same id: its change is one of the records asked for
        s3, _, b3 = srv.send_json("PATCH", ITEMS % "services" + "/%d" % fid, admin, {"properties": {"capacity": 7}},
                                  content_type="application/merge-patch+json", headers={"If-Match": h3.get("etag")})
        other = srv.send_json("GET", "/api/audit?collection=services&feature=%d&limit=1" % fid, admin)[2]["records"][0]["seq"]
    path, everywhere = "/api/audit?feature=%d&limit=2" % fid, []
    for _ in range(20):
        s2, _, b = srv.send_json("GET", path, admin)
        if s2 != 200:
            break
        everywhere += [(r["seq"], r["layer"], r["feature_id"]) for r in b["records"]]
        nxt = [l["href"] for l in b["links"] if l["rel"] == "next"]
        if not nxt:
            break
        path = nxt[0][len(srv.url):]
    got = [x[0] for x in everywhere]
    check(s2 == 200 and all(x[2] == fid for x in everywhere) and got == sorted(set(got), reverse=True) and
          [x[0] for x in everywhere if x[1] == "closures"] == seqs and (other is None or (other, "services", fid) in everywhere),
          "a feature id's records in every layer, newest first, paged", (everywhere, other))
    con = sqlite3.connect("file:%s?mode=ro" % srv.store, uri=True)
    plan = con.execute("EXPLAIN QUERY PLAN SELECT seq FROM cm_audit WHERE layer = 'closures' AND feature_id = ? AND seq < ? "
                       "ORDER BY seq DESC LIMIT 4", (fid, 1 << 40)).fetchall()
    con.close()
    check(any("cm_audit_feature" in str(row) for row in plan), "a feature's history seeks the audit log's feature index", plan)


def bbox_exact_while_the_index_is_rebuilt(srv, op):
    """Enough creates, moves and deletes on `services` that its spatial index is rebuilt several times (on the
    index builder's thread, adopted by later commits) while 8 writers go on: bbox answers must equal a brute-force
    filter of every feature the layer lists."""
    import random
    lock, errors, mine = threading.Lock(), [], []

    def worker(k):
        rnd = random.Random(100 + k)
        for j in range(70):
            pt = [round(rnd.uniform(7.40, 7.44), 6), round(rnd.uniform(43.72, 43.75), 6)]
            with lock:
                pick = rnd.choice(mine) if mine and j % 5 == 4 else None
            if pick and j % 10 == 9:
                s, _, b = srv.send_json("DELETE", ITEMS % "services" + "/%d" % pick, op)
                ok = s in (204, 404)  # another worker may have taken it first
                with lock:
                    if pick in mine:
                        mine.remove(pick)
            elif pick:
                s, _, b = srv.send_json("PATCH", ITEMS % "services" + "/%d" % pick, op, {"geometry": {"type": "Point", "coordinates": pt}},
                                        content_type="application/merge-patch+json")
                ok = s in (200, 404)
            else:
                s, _, b = srv.send_json("POST", ITEMS % "services", op, {"type": "Feature", "geometry": {"type": "Point", "coordinates": pt},
                                                                      "properties": {"kind": "water", "name": "idx %d-%d" % (k, j)}})
                ok = s == 201
                if ok:
                    with lock:
                        mine.append(b["id"])
            if not ok:
                errors.append((k, j, s, b))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _, _, every = srv.get_json(ITEMS % "services" + "?limit=100000")
    pts = {f["id"]: f["geometry"]["coordinates"] for f in every["features"] if f["geometry"]["type"] == "Point"}
    rnd, bad = random.Random(7), []
    for q in range(25):
        x, y = rnd.uniform(7.395, 7.44), rnd.uniform(43.715, 43.75)
        w, h = rnd.uniform(0.001, 0.03), rnd.uniform(0.001, 0.02)
        want = sorted(i for i, (px, py) in pts.items() if x <= px <= x + w and y <= py <= y + h)
        _, _, got = srv.get_json(ITEMS % "services" + "?bbox=%.6f,%.6f,%.6f,%.6f&limit=100000" % (x, y, x + w, y + h))
        ids = [f["id"] for f in got["features"]]
        if ids != want or got.get("numberMatched") != len(want):
            bad.append((q, len(want), len(ids), got.get("numberMatched")))
    check(not errors and len(pts) > 400 and not bad,
          "8 writers create, move and delete %d services while the index is rebuilt: 25 bbox answers equal a brute-force "
          "filter" % len(pts), (errors[:3], bad[:3]))


def tamper_and_verify(binary, srv):
    con = sqlite3.connect(srv.store)
    con.execute("UPDATE cm_audit SET actor = 'mallory' WHERE seq = 3")
    con.commit()
    con.close()
    out = subprocess.run([binary, "audit", "verify", "--store", srv.store], capture_output=True, text=True)
    check(out.returncode == 1 and "record 3" in out.stdout, "audit verify names the edited record", out.stdout)


if __name__ == "__main__":
    sys.exit(main())
