#!/usr/bin/env python3
"""Deterministic wrk request lists for the read benchmark (Python standard library only).

usage: make_paths.py --store STORE.gpkg --services services.geojson --out DIR [--n 1000] [--seed 7]
                     [--target 100] [--ms-prefix /ms/bench/ogcapi]

- ids: N random feature ids of the services layer, drawn from the fids actually present in the store.
- bboxes: N random square bboxes, each sized so that it contains --target services points (the
  half-size is the midpoint between the target-th and (target+1)-th nearest point in Chebyshev
  distance from a random centre), so every bbox request returns ~target features.
Writes DIR/{ids.txt, bboxes.txt, cm_id.txt, ms_id.txt, cm_bbox.txt, ms_bbox.txt, static_bbox.txt}.
"""
import argparse, json, os, random, sqlite3

API = "/api/collections/services/items"


def load_points(path):
    with open(path, encoding="utf-8") as f:
        fc = json.load(f)
    return [tuple(ft["geometry"]["coordinates"][:2]) for ft in fc["features"]]


def load_fids(store, table="services"):
    con = sqlite3.connect("file:%s?mode=ro" % store, uri=True)
    try:
        return [r[0] for r in con.execute('SELECT fid FROM "%s" ORDER BY fid' % table)]
    finally:
        con.close()


class Grid:
    def __init__(self, pts, cell=0.004):
        self.cell = cell
        self.cells = {}
        for x, y in pts:
            self.cells.setdefault((int(x // cell), int(y // cell)), []).append((x, y))
        xs = [k[0] for k in self.cells]; ys = [k[1] for k in self.cells]
        self.span = max(max(xs) - min(xs), max(ys) - min(ys)) + 2

    def halfsize(self, cx, cy, k):
        """Half-size h of the square centred on (cx, cy) holding k points (between k-th and k+1-th)."""
        ci, cj = int(cx // self.cell), int(cy // self.cell)
        r = 1
        while True:
            d = []
            for i in range(ci - r, ci + r + 1):
                for j in range(cj - r, cj + r + 1):
                    for x, y in self.cells.get((i, j), ()):
                        d.append(max(abs(x - cx), abs(y - cy)))
            d.sort()
            covered = r * self.cell  # every point with Chebyshev distance <= covered is in d
            if len(d) > k and d[k] <= covered:
                return (d[k - 1] + d[k]) / 2
            if r > self.span:
                raise SystemExit("not enough points for a %d-point bbox" % k)
            r += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True); ap.add_argument("--services", required=True)
    ap.add_argument("--out", required=True); ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7); ap.add_argument("--target", type=int, default=100)
    ap.add_argument("--ms-prefix", default="/ms/bench/ogcapi")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(a.seed)

    fids = load_fids(a.store)
    if not fids:
        raise SystemExit("no features in the services table of %s" % a.store)
    ids = [rnd.choice(fids) for _ in range(a.n)]

    pts = load_points(a.services)
    grid = Grid(pts)
    boxes = []
    for _ in range(a.n):
        # centres near existing services (where people look), jittered by up to ~500 m
        x, y = rnd.choice(pts)
        cx, cy = x + rnd.uniform(-0.005, 0.005), y + rnd.uniform(-0.005, 0.005)
        h = grid.halfsize(cx, cy, a.target)
        boxes.append("%.6f,%.6f,%.6f,%.6f" % (cx - h, cy - h, cx + h, cy + h))

    ms = a.ms_prefix.rstrip("/") + "/collections/services/items"

    def w(name, lines):
        with open(os.path.join(a.out, name), "w") as f:
            f.write("\n".join(lines) + "\n")

    w("ids.txt", [str(i) for i in ids])
    w("bboxes.txt", boxes)
    w("cm_id.txt", ["%s/%d" % (API, i) for i in ids])
    w("ms_id.txt", ["%s/%d?f=json" % (ms, i) for i in ids])
    w("cm_bbox.txt", ["%s?bbox=%s&limit=%d" % (API, b, a.target) for b in boxes])
    w("ms_bbox.txt", ["%s?f=json&bbox=%s&limit=%d" % (ms, b, a.target) for b in boxes])
    w("static_bbox.txt", ["/plain/bbox/%04d.json" % i for i in range(a.n)])
    sizes = sorted(float(b.split(",")[2]) - float(b.split(",")[0]) for b in boxes)
    print("make_paths: %d ids (fids %d..%d, %d features), %d bboxes of %d points, side %.4f..%.4f deg (median %.4f) -> %s"
          % (len(ids), fids[0], fids[-1], len(fids), len(boxes), a.target, sizes[0], sizes[-1], sizes[len(sizes) // 2], a.out))


if __name__ == "__main__":
    main()
