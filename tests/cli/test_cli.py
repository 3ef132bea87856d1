#!/usr/bin/env python3
"""The command-line contract: help texts, exit statuses, and `crisismap import` of every
kind of file a city might bring (GeoJSON, Shapefile, KML, GeoPackage, CSV with WKT or
lon/lat columns), reprojection through --s_srs or the file's own CRS, all-or-nothing
imports and --skip-invalid. Stores are checked with GDAL's own ogr2ogr.

usage: test_cli.py BINARY SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks  # noqa: E402

BIN, SOURCE = sys.argv[1], sys.argv[2]
CONFIG = os.path.join(SOURCE, "config", "crisismap.json")
check = Checks()


def run(*args, **kw):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=120, **kw)


def layer_features(store, layer):
    out = subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", store, layer], capture_output=True, text=True)
    return json.loads(out.stdout)["features"] if out.returncode == 0 else None


tmp = tempfile.mkdtemp(prefix="crisismap-cli-")
try:
    r = run("--help")
    check(r.returncode == 0 and all(c in r.stdout for c in ("serve", "demo", "import")), "crisismap --help lists the commands")
    for cmd, opts in (("serve", ("--config", "--listen", "--store")), ("demo", ("--store", "--config")),
                      ("import", ("--store", "--layer", "--s_srs", "--skip-invalid", "--replace"))):
        r = run(cmd, "--help")
        check(r.returncode == 0 and all(o in r.stdout for o in opts), "crisismap %s --help describes every option" % cmd)
    for args, what in ((["frobnicate"], "unknown command"), (["serve", "--bogus"], "unknown option"),
                       (["serve", "--config", "/nonexistent.json"], "missing config file"),
                       (["serve", "--config", CONFIG, "--store", os.path.join(tmp, "none.gpkg")], "missing store"),
                       (["import", "--store", os.path.join(tmp, "s.gpkg"), "--layer", "services", "/nonexistent.geojson"],
                        "missing import file"),
                       (["import", "--store", os.path.join(tmp, "s.gpkg"), "--layer", "nosuch", CONFIG], "unknown layer"),
                       (["serve", "--config", CONFIG, "--listen", "nowhere"], "bad --listen"),
                       (["demo"], "demo without --store"), ([], "no command")):
        r = run(*args)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(r.returncode == 2 and len(lines) == 1, "%s: exit 2 with one line (got %s, %r)" % (what, r.returncode, r.stderr[:200]))

    # Two services in WGS84, then the same data in other formats made with ogr2ogr.
    src = os.path.join(tmp, "services.geojson")
    json.dump({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.91, 31.95]},
         "properties": {"name": "مستشفى الاختبار", "kind": "hospital", "status": "open", "capacity": 120,
                        "verified_at": "2026-11-28T08:00:00Z", "unknown_column": "dropped"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.93, 31.97]},
         "properties": {"name": "Shelter B", "kind": "shelter", "status": "full", "capacity": 300}}]},
        open(src, "w"), ensure_ascii=False)
    conversions = {
        "shp": ["-f", "ESRI Shapefile", "-t_srs", "EPSG:32636", "-lco", "ENCODING=UTF-8"],  # reprojected: the .prj says UTM 36N
        "kml": ["-f", "KML"],
        "gpkg": ["-f", "GPKG"],
        "csv": ["-f", "CSV", "-lco", "GEOMETRY=AS_WKT"],
    }
    for ext, args in conversions.items():
        path = os.path.join(tmp, "in_%s.%s" % (ext, ext))
        subprocess.run(["ogr2ogr"] + args + [path, src], check=True, capture_output=True)
        store = os.path.join(tmp, "store_%s.gpkg" % ext)
        r = run("import", "--config", CONFIG, "--store", store, "--layer", "services", path)
        feats = layer_features(store, "services")
        ok = r.returncode == 0 and feats is not None and len(feats) == 2
        if ok:
            a = next(f for f in feats if f["properties"]["kind"] == "hospital")
            lon, lat = a["geometry"]["coordinates"]
            ok = abs(lon - 35.91) < 1e-6 and abs(lat - 31.95) < 1e-6 and a["properties"]["name"] == "مستشفى الاختبار"
            if ext != "kml":  # KML keeps only name/description columns
                ok = ok and a["properties"]["capacity"] == 120
        check(ok, "import %s: 2 features, WGS84 coordinates, UTF-8 names (%s)" % (ext, r.stderr.strip()[-200:]))

    # CSV with lon/lat columns in Web Mercator, CRS given on the command line.
    csv = os.path.join(tmp, "mercator.csv")
    with open(csv, "w") as f:
        f.write("lon,lat,name,kind,status\n3997483.7,3756749.1,Pharmacy X,pharmacy,open\n")
    store = os.path.join(tmp, "store_merc.gpkg")
    r = run("import", "--config", CONFIG, "--store", store, "--layer", "services", "--s_srs", "EPSG:3857", csv)
    feats = layer_features(store, "services")
    ok = r.returncode == 0 and feats and len(feats) == 1
    if ok:
        lon, lat = feats[0]["geometry"]["coordinates"]
        ok = abs(lon - 35.91) < 1e-4 and abs(lat - 31.95) < 1e-4
    check(ok, "import CSV lon/lat with --s_srs EPSG:3857 reprojects to WGS84 (%s)" % r.stderr.strip()[-200:])

    # One invalid feature: nothing is imported, the error names the feature and the field.
    bad = os.path.join(tmp, "bad.geojson")
    json.dump({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.9, 31.9]}, "properties": {"kind": "hospital"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.9, 31.9]}, "properties": {"kind": "casino"}}]},
        open(bad, "w"))
    store = os.path.join(tmp, "store_bad.gpkg")
    r = run("import", "--config", CONFIG, "--store", store, "--layer", "services", bad)
    feats = layer_features(store, "services")
    check(r.returncode == 1 and "kind" in r.stderr and "record 2" in r.stderr and feats == [],
          "an invalid feature rolls the whole import back and is named (%r)" % r.stderr[-300:])
    r = run("import", "--config", CONFIG, "--store", store, "--layer", "services", "--skip-invalid", bad)
    feats = layer_features(store, "services")
    check(r.returncode == 0 and feats is not None and len(feats) == 1 and "rejected" in r.stderr,
          "--skip-invalid imports the valid features and reports the rest")
    # Wrong geometry type for the layer.
    r = run("import", "--config", CONFIG, "--store", store, "--layer", "closures", src)
    check(r.returncode == 1 and "geometry" in r.stderr, "points are refused by the closures layer")
    # --replace empties the layer first.
    r = run("import", "--config", CONFIG, "--store", store, "--layer", "services", "--replace", src)
    feats = layer_features(store, "services")
    check(r.returncode == 0 and feats is not None and len(feats) == 2, "--replace replaces the layer's features")
    # The demo command builds a complete store.
    store = os.path.join(tmp, "demo.gpkg")
    r = run("demo", "--config", CONFIG, "--store", store)
    roads = layer_features(store, "roads")
    check(r.returncode == 0 and roads is not None and len(roads) == 5434, "crisismap demo creates the demo store")
    r = run("demo", "--config", os.path.join(SOURCE, "config", "amman.json"), "--store", os.path.join(tmp, "amman.gpkg"))
    districts = layer_features(os.path.join(tmp, "amman.gpkg"), "districts")
    check(r.returncode == 0 and districts is not None and len(districts) == 18, "the Amman profile loads its 18 districts")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(check.summary())
