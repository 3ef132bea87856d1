"""API behaviours that need more than one request or an independent computation.

Each flow takes the running Server and raises AssertionError with what went wrong.
"""
import gzip
import json
import math
import os
import random
import socket
import time

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LAYERS = json.load(open(os.path.join(SOURCE, "config", "layers.json"), encoding="utf-8"))["layers"]


def all_features(srv, layer):
    status, _, doc = srv.get_json("/api/collections/%s/items?limit=10000" % layer)
    assert status == 200, "whole %s: %s" % (layer, status)
    assert doc["numberReturned"] == doc["numberMatched"] == len(doc["features"])
    return doc["features"]


def paging_follows_next_links(srv):
    seen, pages = [], 0
    path = "/api/collections/roads/items?limit=1000"
    matched = None
    while path:
        status, _, doc = srv.get_json(path)
        assert status == 200, "page %d: %s" % (pages, status)
        matched = doc["numberMatched"]
        seen += [f["id"] for f in doc["features"]]
        nxt = [l["href"] for l in doc["links"] if l["rel"] == "next"]
        assert all(h.startswith(srv.url + "/api/") for h in nxt), "next link not absolute: %s" % nxt
        path = nxt[0][len(srv.url):] if nxt else None
        pages += 1
        assert pages < 20, "paging does not end"
    assert len(seen) == matched == 5434, "paged %d of %s" % (len(seen), matched)
    assert len(set(seen)) == len(seen), "a feature appeared twice while paging"
    assert seen == sorted(seen), "pages are not in a stable id order"


# An independent geometry-vs-box test (not the server's code), for brute-force comparison.
def _seg_hits_box(p, q, b):
    (x0, y0), (x1, y1) = p, q
    t0, t1 = 0.0, 1.0
    dx, dy = x1 - x0, y1 - y0
    for pi, qi in ((-dx, x0 - b[0]), (dx, b[2] - x0), (-dy, y0 - b[1]), (dy, b[3] - y0)):
        if pi == 0:
            if qi < 0:
                return False
        else:
            t = qi / pi
            if pi < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
    return True


def _in_box(p, b):
    return b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3]


def _point_in_rings(rings, x, y):
    inside = False
    for ring in rings:
        for i in range(len(ring)):
            (xi, yi), (xj, yj) = ring[i], ring[i - 1]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
    return inside


def intersects(geom, b):
    t, c = geom["type"], geom["coordinates"]
    if t == "Point":
        return _in_box(c, b)
    lines = {"LineString": [c], "MultiLineString": c, "Polygon": c,
             "MultiPolygon": [r for poly in c for r in poly]}[t]
    for line in lines:
        if _in_box(line[0], b) or any(_seg_hits_box(line[i - 1], line[i], b) for i in range(1, len(line))):
            return True
    polys = [c] if t == "Polygon" else c if t == "MultiPolygon" else []
    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    return any(_point_in_rings(p, cx, cy) for p in polys)


def bbox_matches_brute_force(srv):
    rnd = random.Random(7)
    for layer in ("roads", "services", "districts", "blocked_areas", "closures"):
        feats = all_features(srv, layer)
        for _ in range(15):
            x, y, s = rnd.uniform(7.36, 7.48), rnd.uniform(43.72, 43.76), rnd.uniform(0.001, 0.02)
            b = (x, y, x + s, y + s)
            expected = sorted(f["id"] for f in feats if intersects(f["geometry"], b))
            status, _, doc = srv.get_json("/api/collections/%s/items?limit=10000&bbox=%.7f,%.7f,%.7f,%.7f" % ((layer,) + b))
            assert status == 200
            got = [f["id"] for f in doc["features"]]
            assert got == expected, "%s bbox %s: got %d ids, expected %d (diff %s)" % (
                layer, b, len(got), len(expected), sorted(set(got) ^ set(expected))[:10])
            assert doc["numberMatched"] == len(expected)


def bbox_is_geometry_not_envelope(srv):
    """Find a diagonal road whose envelope covers a box the road itself misses: it must not match."""
    for f in all_features(srv, "roads"):
        c = f["geometry"]["coordinates"]
        if len(c) != 2:
            continue
        (x0, y0), (x1, y1) = c
        if abs(x1 - x0) < 0.002 or abs(y1 - y0) < 0.002:
            continue
        # A small box in the envelope corner away from the segment.
        bx = max(x0, x1) - 0.0002 if (y1 - y0) * (x1 - x0) > 0 else min(x0, x1)
        by = min(y0, y1)
        b = (bx, by, bx + 0.0002, by + 0.0002)
        if intersects(f["geometry"], b):
            continue
        status, _, doc = srv.get_json("/api/collections/roads/items?limit=10000&bbox=%.7f,%.7f,%.7f,%.7f" % b)
        assert status == 200
        assert f["id"] not in [g["id"] for g in doc["features"]], "road %s matched on its envelope only" % f["id"]
        return
    raise AssertionError("no diagonal road found to test with")


def bbox_crs_3857_equals_crs84(srv):
    def merc(lon, lat):
        r = 6378137.0
        return r * math.radians(lon), r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    b = (7.41, 43.73, 7.43, 43.745)
    x0, y0 = merc(b[0], b[1])
    x1, y1 = merc(b[2], b[3])
    _, _, a = srv.get_json("/api/collections/roads/items?limit=10000&bbox=%.7f,%.7f,%.7f,%.7f" % b)
    _, _, m = srv.get_json("/api/collections/roads/items?limit=10000&bbox=%.3f,%.3f,%.3f,%.3f&bbox-crs="
                           "http://www.opengis.net/def/crs/EPSG/0/3857" % (x0, y0, x1, y1))
    ids_a, ids_m = {f["id"] for f in a["features"]}, {f["id"] for f in m["features"]}
    assert len(ids_a) > 20, "test box too empty"
    assert ids_a == ids_m, "bbox-crs 3857 selects %d, CRS84 %d" % (len(ids_m), len(ids_a))


def crs_output_is_transformed(srv):
    _, _, f = srv.get_json("/api/collections/services/items/1")
    lon, lat = f["geometry"]["coordinates"]
    status, hdrs, m = srv.get_json("/api/collections/services/items/1?crs=http://www.opengis.net/def/crs/EPSG/0/3857")
    assert status == 200 and hdrs["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    x, y = m["geometry"]["coordinates"]
    ex, ey = 6378137.0 * math.radians(lon), 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    assert abs(x - ex) < 0.01 and abs(y - ey) < 0.01, "3857 gives %s, expected %s" % ((x, y), (ex, ey))
    assert m["properties"] == f["properties"], "properties changed with the CRS"
    _, _, page = srv.get_json("/api/collections/closures/items?limit=3&crs=http://www.opengis.net/def/crs/EPSG/0/3857")
    for feat in page["features"]:
        px, py = feat["geometry"]["coordinates"][0]
        assert 800000 < px < 840000 and 5400000 < py < 5450000, "closure not in metres: %s" % [px, py]


def etag_revalidation(srv):
    for path in ("/api/collections/services/items", "/api/collections/roads/items?limit=10000",
                 "/api/collections/services/items/3", "/api/collections", "/api", "/"):
        status, hdrs, body = srv.request("GET", path)
        assert status == 200 and "etag" in hdrs, "%s: %s %s" % (path, status, hdrs)
        status2, hdrs2, body2 = srv.request("GET", path, {"If-None-Match": hdrs["etag"]})
        assert status2 == 304 and body2 == b"", "%s: If-None-Match gave %s" % (path, status2)
        assert hdrs2.get("etag") == hdrs["etag"]
        status3, _, _ = srv.request("GET", path, {"If-None-Match": '"something-else"'})
        assert status3 == 200, "%s: a stale tag gave %s" % (path, status3)
    # Different queries have different tags.
    _, h1, _ = srv.request("GET", "/api/collections/roads/items?limit=5")
    _, h2, _ = srv.request("GET", "/api/collections/roads/items?limit=6")
    assert h1["etag"] != h2["etag"]


def gzip_when_accepted(srv):
    for path in ("/api/collections/roads/items?limit=10000", "/api/collections/roads/items?limit=300",
                 "/api/collections"):
        status, plain_hdrs, plain = srv.request("GET", path)
        conn_status, hdrs, body = srv.request("GET", path, {"Accept-Encoding": "gzip"})
        assert hdrs.get("content-encoding") == "gzip", "%s not gzipped: %s" % (path, hdrs)
        assert "accept-encoding" in hdrs.get("vary", "").lower()
        if "limit=10000" in path:
            assert body == plain, "gzip twin differs from the plain body"
            assert status == 200 and conn_status == 200
        else:
            a, b = json.loads(body), json.loads(plain)
            a.pop("timeStamp", None)
            b.pop("timeStamp", None)
            assert a == b
    _, hdrs, _ = srv.request("GET", "/api/collections/roads/items?limit=300", {"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in hdrs, "gzip sent although refused"
    _, hdrs, _ = srv.request("GET", "/api/collections/services/items/1", {"Accept-Encoding": "gzip"})
    assert "content-encoding" not in hdrs, "a tiny body should go as it is"


def every_feature_has_every_property(srv):
    for layer in LAYERS:
        names = {p["name"] for p in layer["properties"]}
        feats = all_features(srv, layer["id"])
        assert feats, "%s is empty in the demo" % layer["id"]
        for f in feats:
            assert set(f["properties"]) == names, "%s/%s properties %s" % (layer["id"], f["id"], set(f["properties"]) ^ names)
            assert isinstance(f["id"], int)


def datetime_filter_matches_intervals(srv):
    feats = all_features(srv, "closures")

    def ms(s):
        from datetime import datetime
        return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() if s else None

    for q in ("2026-11-28T12:00:00Z", "2026-11-29T12:00:00Z/..", "../2026-11-28T05:00:00Z",
              "2026-11-28T00:00:00Z/2026-11-28T06:00:00Z", "2030-01-01T00:00:00Z"):
        if "/" in q:
            a, b = q.split("/")
            qa, qb = (ms(a) if a not in ("", "..") else -math.inf), (ms(b) if b not in ("", "..") else math.inf)
        else:
            qa = qb = ms(q)
        expected = sorted(f["id"] for f in feats
                          if (ms(f["properties"]["valid_from"]) or -math.inf) <= qb
                          and (ms(f["properties"]["valid_until"]) or math.inf) >= qa)
        status, _, doc = srv.get_json("/api/collections/closures/items?limit=10000&datetime=" + q)
        assert status == 200
        got = [f["id"] for f in doc["features"]]
        assert got == expected, "datetime %s: got %s expected %s" % (q, got, expected)


def host_header_cannot_inject_links(srv):
    status, _, body = srv.request("GET", "/api", {"Host": 'evil"><script>'})
    assert status in (200, 400)
    if status == 200:
        doc = json.loads(body)
        assert all("<" not in l["href"] and '"' not in l["href"] for l in doc["links"]), doc["links"]


def long_url_is_refused(srv):
    # Over max_url_bytes (2048): our JSON 414. Past what a connection holds at all,
    # libmicrohttpd answers 414 itself (in HTML) before the server sees the request.
    status, hdrs, body = srv.request("GET", "/api/collections/services/items?kind=" + "a" * 3000)
    assert status == 414 and json.loads(body)["code"] == "uri_too_long", "3 KB URL gave %s %r" % (status, body[:200])
    status, hdrs, body = srv.request("GET", "/api/collections/services/items?kind=" + "a" * 9000)
    assert status == 414, "9 KB URL gave %s %r" % (status, body[:200])


_operator = []


def operator_token(srv):
    """An operator token made with the real command, once the running server has picked it up
    (tokens are reloaded within 2 s; few tries, as failures from one address are throttled)."""
    if not _operator:
        token = srv.token("api-operator", "operator")
        for _ in range(4):
            time.sleep(1.5)
            if srv.request("GET", "/api/whoami", {"Authorization": "Bearer " + token})[0] == 200:
                break
        else:
            raise AssertionError("the server never accepted the new token")
        _operator.append(token)
    return _operator[0]


def raw_exchange(srv, head, timeout=10):
    """Sends head (bytes, a request without its body) on a fresh socket and reads until the
    response is complete or the server closes; returns (status or 0, headers dict, body)."""
    sock = socket.create_connection((srv.host, srv.port), timeout=timeout)
    data = b""
    try:
        sock.sendall(head)
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + srv._clen(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return 0, {}, b"(no complete response within %d s)" % timeout
    finally:
        sock.close()
    if not data.startswith(b"HTTP/"):
        return 0, {}, data
    head_part, _, body = data.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    return int(lines[0].split()[1]), hdrs, body


def _service(name):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]},
            "properties": {"kind": "water", "name": name}}


def _count(srv, layer):
    return srv.get_json("/api/collections/%s/items?limit=1" % layer)[2]["numberMatched"]


def large_request_heads_are_answered(srv):
    # The connection's memory once held 4 KB whatever the limits said: 3 KB of headers created
    # the feature and then closed the connection without a response (the client retried: a
    # duplicate). Now every head within the limits is answered, and one beyond them is refused
    # in JSON before anything is written.
    token = operator_token(srv)
    for pad in (1000, 2500):
        before = _count(srv, "services")
        status, hdrs, doc = srv.send_json("POST", "/api/collections/services/items", token, _service("pad %d" % pad),
                                          headers={"X-Pad": "p" * pad})
        assert status == 201 and doc and doc["properties"]["name"] == "pad %d" % pad, \
            "POST with %d bytes of headers: %s %r" % (pad, status, doc)
        assert hdrs.get("location"), "201 without Location"
        assert _count(srv, "services") == before + 1
    # A URL just within max_url_bytes (2048) with a browser's headers gets a complete answer.
    browser = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
               "Accept": "application/geo+json,application/json;q=0.9,*/*;q=0.8", "Accept-Language": "ar-JO,ar;q=0.9,en;q=0.8",
               "Accept-Encoding": "gzip, deflate, br", "Referer": "http://127.0.0.1/", "Cookie": "c=" + "x" * 400}
    path = "/api/collections/services/items?name="
    status, hdrs, body = srv.request("GET", path + "a" * (2040 - len(path)), browser)
    assert status == 200 and json.loads(body)["numberReturned"] == 0, "2 KB URL: %s %r" % (status, body[:200])
    # A head that would leave no room for the response is refused before the write, in JSON;
    # one past what a connection holds at all gets libmicrohttpd's own 431 (HTML).
    # (libmicrohttpd closes that connection at once, so a client still sending its body may
    # see a reset instead of the 431.)
    for pad, ours in ((3500, True), (9000, False)):
        before = _count(srv, "services")
        try:
            status, _, doc = srv.send_json("POST", "/api/collections/services/items", token, _service("too big"),
                                           headers={"X-Pad": "p" * pad})
        except ConnectionResetError:
            assert not ours, "%d bytes of headers: connection reset" % pad
            status, doc = 431, None
        assert status == 431 and (not ours or (doc and doc["code"] == "headers_too_large")), \
            "%d bytes of headers: %s %r" % (pad, status, doc)
        assert _count(srv, "services") == before, "a refused request created a feature"


def content_length_is_checked_before_the_body(srv):
    # 19 digits used to skip the early 413: the server waited for the body until its timeout.
    token = operator_token(srv)
    base = ("POST /api/collections/services/items HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/geo+json\r\n" % token)
    for declared in ("1000000000000000000", "99999999999999999999999", "2000000"):
        started = time.time()
        status, _, body = raw_exchange(srv, (base + "Content-Length: %s\r\n\r\n{}" % declared).encode())
        assert status == 413 and time.time() - started < 5, "Content-Length %s: %s %r" % (declared, status, body[:200])
        if len(declared) < 20:  # 2^64 and more: libmicrohttpd answers (in HTML) before the server sees it
            assert json.loads(body)["code"] == "payload_too_large", body
    # Two lengths, or a length beside chunked encoding: a 400 (a proxy could frame it otherwise).
    for extra in ("Content-Length: 2\r\nContent-Length: 2\r\n", "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"):
        before = _count(srv, "services")
        status, _, body = raw_exchange(srv, (base + extra + "\r\n2\r\n{}\r\n0\r\n\r\n").encode())
        assert status == 400 and json.loads(body)["field"] == "Content-Length", "%r: %s %r" % (extra, status, body[:200])
        assert _count(srv, "services") == before
    # Not a number: 400 (libmicrohttpd's own, in HTML, before the server sees the request).
    status, _, body = raw_exchange(srv, (base + "Content-Length: 12abc\r\n\r\n{}").encode())
    assert status == 400, "Content-Length 12abc: %s %r" % (status, body[:200])


def nul_bytes_are_refused(srv):
    # libmicrohttpd decodes %00 in the path and the query: "1%00" deleted feature 1.
    token = operator_token(srv)
    status, _, feature = srv.get_json("/api/collections/services/items/1")
    assert status == 200, "feature 1 missing before the test: %s" % status
    status, _, doc = srv.send_json("DELETE", "/api/collections/services/items/1%00", token)
    assert status == 400 and doc["code"] == "bad_request" and doc["field"] == "path", "DELETE 1%%00: %s %r" % (status, doc)
    status, _, after = srv.get_json("/api/collections/services/items/1")
    assert status == 200 and after == feature, "DELETE 1%%00 changed feature 1: %s" % status
    status, _, body = srv.request("GET", "/api/collections/services%00/items")
    assert status == 400 and json.loads(body)["field"] == "path", "services%%00: %s %r" % (status, body[:200])
    status, _, body = srv.request("GET", "/api/collections/services/items?kind%00=hospital")
    assert status == 400 and json.loads(body)["field"] == "kind", "kind%%00: %s %r" % (status, body[:200])
    status, _, body = srv.request("GET", "/api/collections/services/items?kind=hosp%00ital")
    assert status == 400 and json.loads(body)["field"] == "kind", "value hosp%%00ital: %s %r" % (status, body[:200])
    # The same requests without the NUL are fine (bare LF line ends too).
    status, _, body = raw_exchange(srv, ("GET /api/whoami HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer %s\n"
                                         "Connection: close\n\n" % token).encode())
    assert status == 200, "whoami with LF line ends: %s %r" % (status, body[:200])


def arabic_text_round_trips(srv):
    _, _, doc = srv.get_json("/api/collections/districts/items?limit=100")
    names = [f["properties"]["name_ar"] for f in doc["features"] if f["properties"]["name_ar"]]
    assert "موناكو" in names, names


ALL = [(fn.__name__, fn) for fn in (
    paging_follows_next_links, bbox_matches_brute_force, bbox_is_geometry_not_envelope, bbox_crs_3857_equals_crs84,
    crs_output_is_transformed, etag_revalidation, gzip_when_accepted, every_feature_has_every_property,
    datetime_filter_matches_intervals, host_header_cannot_inject_links, long_url_is_refused, arabic_text_round_trips,
    large_request_heads_are_answered, content_length_is_checked_before_the_body, nul_bytes_are_refused)]
