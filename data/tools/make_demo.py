#!/usr/bin/env python3
"""Generate crisismap's shipped demo data (deterministic).

    python3 data/tools/make_demo.py

Reads the read-only real data in ../shared/data (relative to the repository root; override
with CRISISMAP_SHARED_DATA=/path) and writes:

    data/demo/services.geojson            OSM service points (+ exercise shelters/statuses)
    data/demo/roads.geojson               OSM road graph edges (5,434)
    data/demo/districts.geojson           OSM admin areas (Monaco + quartiers + 3 communes)
    data/demo/blocked_areas.geojson       EXERCISE flash-flood extents (buffers of real streams)
    data/demo/closures.geojson            EXERCISE closures of the real road edges they cut
    data/demo/evacuation_routes.geojson   EXERCISE evacuation routes (shortest paths on the graph)
    data/amman/districts.geojson          Greater-Amman districts (izaslavsky, OSM-derived)

Everything flagged "exercise" is FICTIONAL: a flash-flood exercise drawn on real streets.
Requires Debian's python3-gdal (osgeo.ogr/osr with GEOS). If the interpreter found first on
PATH (e.g. a pyenv python3) has no osgeo module, the script re-executes itself with
/usr/bin/python3.
"""

import heapq
import json
import math
import os
import sys

try:
    from osgeo import ogr, osr
except ImportError:  # pragma: no cover - depends on the machine
    _deb = "/usr/bin/python3"
    if os.path.exists(_deb) and os.path.realpath(sys.executable) != os.path.realpath(_deb):
        os.execv(_deb, [_deb] + sys.argv)
    sys.exit("make_demo.py: osgeo (GDAL/OGR) not found; run: apt-get install -y python3-gdal")

ogr.UseExceptions()
osr.UseExceptions()

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("CRISISMAP_SHARED_DATA") or os.path.join(REPO, "..", "shared", "data")
MONACO = os.path.join(SHARED, "monaco")
AMMAN = os.path.join(SHARED, "amman")
OUT_DEMO = os.path.join(REPO, "data", "demo")
OUT_AMMAN = os.path.join(REPO, "data", "amman")
LAYERS_JSON = os.path.join(REPO, "config", "layers.json")

STAMP = "2026-11-28T06:00:00Z"  # created/updated of every generated feature
SERVER = {"created": STAMP, "updated": STAMP, "version": 1, "updated_by": "demo"}
EX_SOURCE = "crisismap demo exercise"
PREC = 7
NOTES = []  # oddities found in the source data, printed at the end

# Car roads: the only edges that get closures and that evacuation routes use.
CAR = {"motorway", "trunk", "primary", "secondary", "tertiary", "residential",
       "unclassified", "living_street", "motorway_link", "trunk_link", "primary_link",
       "secondary_link", "tertiary_link"}

# --------------------------------------------------------------------------- CRS helpers
_S4326 = osr.SpatialReference()
_S4326.ImportFromEPSG(4326)
_S4326.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
_SUTM = osr.SpatialReference()
_SUTM.ImportFromEPSG(32632)  # WGS 84 / UTM 32N: metric CRS covering 6-12 E
_SUTM.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
TO_UTM = osr.CoordinateTransformation(_S4326, _SUTM)
TO_WGS = osr.CoordinateTransformation(_SUTM, _S4326)


def geom(gj, utm=False):
    g = ogr.CreateGeometryFromJson(json.dumps(gj))
    if utm:
        g.Transform(TO_UTM)
    return g


def to_wgs(g):
    g = g.Clone()
    g.Transform(TO_WGS)
    return g


# --------------------------------------------------------------------------- GeoJSON output
def _round(c):
    if isinstance(c[0], (int, float)):
        return [round(c[0], PREC), round(c[1], PREC)]
    return [_round(x) for x in c]


def _ring_area2(ring):
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
               for i in range(len(ring) - 1))


def _orient_polygon(rings):
    """RFC 7946 right-hand rule: exterior counter-clockwise, holes clockwise."""
    out = []
    for i, ring in enumerate(rings):
        ccw = _ring_area2(ring) > 0
        if (i == 0) != ccw:
            ring = ring[::-1]
        out.append(ring)
    return out


def _dedupe(line):
    out = [line[0]]
    for p in line[1:]:
        if p != out[-1]:
            out.append(p)
    return out


def geojson_geometry(g):
    """OGR geometry (EPSG:4326) -> RFC 7946 geometry dict, 7 decimals, rings oriented."""
    d = json.loads(g.ExportToJson())
    t = d["type"]
    if t == "Point":
        d["coordinates"] = _round(d["coordinates"])
    elif t == "LineString":
        d["coordinates"] = _dedupe(_round(d["coordinates"]))
    elif t == "MultiLineString":
        d["coordinates"] = [_dedupe(_round(l)) for l in d["coordinates"]]
    elif t == "Polygon":
        d["coordinates"] = _orient_polygon([_dedupe(_round(r)) for r in d["coordinates"]])
    elif t == "MultiPolygon":
        d["coordinates"] = [_orient_polygon([_dedupe(_round(r)) for r in p])
                            for p in d["coordinates"]]
    else:
        raise ValueError("unexpected geometry type " + t)
    return {"type": t, "coordinates": d["coordinates"]}


def write_fc(path, layer_id, feats, layers):
    """Validate against config/layers.json and write a compact, one-feature-per-line file."""
    spec = layers[layer_id]
    declared = {p["name"]: p for p in spec["properties"]}
    for i, f in enumerate(feats):
        props, gj = f["properties"], f["geometry"]
        if gj["type"] not in spec["geometry"]:
            raise ValueError("%s #%d: geometry %s not allowed" % (layer_id, i, gj["type"]))
        g = ogr.CreateGeometryFromJson(json.dumps(gj))
        if not g.IsValid() or g.IsEmpty():
            raise ValueError("%s #%d: invalid geometry after rounding" % (layer_id, i))
        for k, v in props.items():
            p = declared.get(k)
            if p is None:
                raise ValueError("%s: undeclared property %s" % (layer_id, k))
            if v is None:
                continue
            t = p["type"]
            ok = {"string": isinstance(v, str), "datetime": isinstance(v, str),
                  "integer": isinstance(v, int) and not isinstance(v, bool),
                  "number": isinstance(v, (int, float)) and not isinstance(v, bool),
                  "boolean": isinstance(v, bool)}[t]
            if not ok:
                raise ValueError("%s #%d: %s=%r is not %s" % (layer_id, i, k, v, t))
            if "enum" in p and v not in p["enum"]:
                raise ValueError("%s #%d: %s=%r not in enum" % (layer_id, i, k, v))
            if "maxLength" in p and len(v) > p["maxLength"]:
                raise ValueError("%s #%d: %s too long" % (layer_id, i, k))
            if "minimum" in p and v < p["minimum"]:
                raise ValueError("%s #%d: %s below minimum" % (layer_id, i, k))
            if t == "datetime" and not (len(v) == 20 and v[10] == "T" and v.endswith("Z")):
                raise ValueError("%s #%d: %s=%r is not RFC 3339 UTC" % (layer_id, i, k, v))
        for p in spec["properties"]:
            if p.get("required") and props.get(p["name"]) is None:
                raise ValueError("%s #%d: required %s missing" % (layer_id, i, p["name"]))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"type":"FeatureCollection","name":%s,"features":[\n' % json.dumps(layer_id))
        # null properties are left out: GDAL would type an all-null column as String
        fh.write(",\n".join(json.dumps({"type": "Feature",
                                        "properties": {k: v for k, v in f["properties"].items()
                                                       if v is not None},
                                        "geometry": f["geometry"]},
                                       ensure_ascii=False, separators=(",", ":"))
                            for f in feats))
        fh.write("\n]}\n")
    print("wrote %-40s %5d features" % (os.path.relpath(path, REPO), len(feats)))


def feature(props, g):
    return {"properties": props, "geometry": geojson_geometry(g) if not isinstance(g, dict) else g}


def load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["features"]


def none_if_empty(v):
    return v if v not in ("", None) else None


# --------------------------------------------------------------------------- roads
def make_roads(src):
    feats = []
    for f in src:
        p = f["properties"]
        oneway = p.get("oneway")
        if oneway is None and p.get("junction") in ("roundabout", "circular"):
            oneway = "yes"  # implied by junction=roundabout in OSM (junction is not a layer field)
        props = {
            "name": p.get("name"),
            "name_en": p.get("name:en"),
            "name_ar": p.get("name:ar"),
            "highway": p["highway"],
            "oneway": oneway,
            "maxspeed": p.get("maxspeed"),
            "length_m": float(p["length_m"]),
            "edge_id": p["edge_id"],
            "u": int(p["u"]),
            "v": int(p["v"]),
            "osm_way_id": int(p["osm_way_id"]),
        }
        coords = _round(f["geometry"]["coordinates"])
        if all(c == coords[0] for c in coords):
            # OSM has two distinct nodes at the same position here (w250830463_4, 0 m). Keep
            # the edge for graph connectivity but move its end by 1e-7 deg (one OSM coordinate
            # unit, ~1 cm) so that it is a valid LineString.
            coords = [coords[0], [coords[0][0], round(coords[0][1] + 1e-7, PREC)]]
            NOTES.append("roads: %s is 0 m long (two OSM nodes at one position); end moved "
                         "by 1e-7 deg" % p["edge_id"])
        gj = {"type": "LineString", "coordinates": coords}
        feats.append({"properties": props, "geometry": gj})
    return feats


# --------------------------------------------------------------------------- districts
def make_monaco_districts(src):
    feats = []
    for f in src:
        p = f["properties"]
        g = geom(f["geometry"])
        if not g.IsValid():
            g = g.MakeValid()
        level = int(p["admin_level"])
        pop = p.get("population")
        feats.append(feature({
            "name": p["name"],
            "name_ar": p.get("name:ar"),
            "name_en": p.get("name:en"),
            "admin_level": level,
            "population": int(pop) if pop not in (None, "") else None,
            "population_year": None,  # the OSM population tag carries no date
            "parent": "Monaco" if level == 10 else None,
            "source_id": "%s/%d" % (p["osm_type"], int(p["osm_id"])),
        }, g))
    return feats


def make_amman_districts(src):
    feats = []
    for f in src:
        p = f["properties"]
        g = geom(f["geometry"])
        if not g.IsValid():
            g = g.MakeValid()
        pop = p.get("population_2024")
        feats.append(feature({
            "name": p["name"],
            "name_ar": p["name"],
            "name_en": p.get("name_en"),
            "admin_level": None,
            "population": int(pop) if pop is not None else None,
            "population_year": 2024 if pop is not None else None,
            "parent": p.get("governorate_ar"),
            "source_id": p.get("wikidata"),
        }, g))
    return feats


# --------------------------------------------------------------------------- EXERCISE: floods
# Hand-made scenario. Each flood extent is a buffer, computed in UTM 32N, around a stretch of
# real OSM waterways (way id, optional [first, last] vertex range). Stream names are not in
# OSM for the unnamed ways, so extents are labelled by the real streets they cross.
FLOODS = [
    {
        "key": "boulingrins",
        "ways": [(156248738, None), (156248737, None), (156248736, None)],
        "buffer_m": 50, "severity": "full", "status": "active",
        "valid_from": "2026-11-28T05:30:00Z", "valid_until": "2026-11-30T18:00:00Z",
        "where_en": "the stream at Allées des Boulingrins / Avenue de la Madone (Monte-Carlo, Monaco)",
        "where_ar": "المجرى المائي عند Allées des Boulingrins / Avenue de la Madone (Monte-Carlo، موناكو)",
        "label": "Boulingrins (Monte-Carlo)",
    },
    {
        "key": "peglion",
        "ways": [(153035542, (9, 17)), (262902073, None), (262902077, None)],
        "buffer_m": 35, "severity": "full", "status": "active",
        "valid_from": "2026-11-28T05:30:00Z", "valid_until": "2026-11-30T18:00:00Z",
        "where_en": "the stream crossing Avenue Antoine Péglion and Avenue Victor Hugo (Carnolès)",
        "where_ar": "المجرى المائي الذي يعبر Avenue Antoine Péglion و Avenue Victor Hugo (Carnolès)",
        "label": "Avenue Antoine Péglion (Carnolès)",
    },
    {
        "key": "paillon",
        "ways": [(5150703, (8, 25))],
        "buffer_m": 40, "severity": "full", "status": "active",
        "valid_from": "2026-11-28T04:00:00Z", "valid_until": "2026-12-01T12:00:00Z",
        "where_en": "a stretch of the river Le Paillon at Route des Mazues",
        "where_ar": "مقطع من نهر Le Paillon عند Route des Mazues",
        "label": "Le Paillon (Route des Mazues)",
    },
    {
        "key": "laghet",
        "ways": [(28767910, (17, 24))],
        "buffer_m": 30, "severity": "partial", "status": "planned",
        "valid_from": "2026-11-29T06:00:00Z", "valid_until": "2026-12-01T18:00:00Z",
        "where_en": "Le Laghet where it crosses Route de Laghet (expected overflow, pre-emptive)",
        "where_ar": "نهر Le Laghet حيث يعبر Route de Laghet (فيضان متوقع، إجراء احترازي)",
        "label": "Le Laghet (Route de Laghet)",
    },
    {
        "key": "basse-corniche",
        "ways": [(294164435, None), (294164440, None), (294164442, None),
                 (294164439, None), (294164445, None)],
        "buffer_m": 30, "severity": "partial", "status": "active",
        "valid_from": "2026-11-28T05:30:00Z", "valid_until": "2026-11-29T18:00:00Z",
        "where_en": "the stream culverted under the Basse Corniche near Avenue Lamaro",
        "where_ar": "المجرى المائي المار في عبّارة تحت Basse Corniche قرب Avenue Lamaro",
        "label": "Basse Corniche / Avenue Lamaro",
    },
    {
        "key": "georges-drin",
        "ways": [(199700038, None)],
        "buffer_m": 30, "severity": "partial", "status": "active",
        "valid_from": "2026-11-28T05:30:00Z", "valid_until": "2026-11-29T18:00:00Z",
        "where_en": "the stream crossing Avenue Georges Drin",
        "where_ar": "المجرى المائي الذي يعبر Avenue Georges Drin",
        "label": "Avenue Georges Drin",
    },
]

EX_NOTE_EN = "EXERCISE - fictional flash-flood scenario on real streets, not a real event."
EX_NOTE_AR = "تمرين - سيناريو فيضان مفاجئ افتراضي على شوارع حقيقية، وليس حدثاً حقيقياً."


def stretch(ways_by_id, way_id, rng):
    g = geom(ways_by_id[way_id]["geometry"], utm=True)
    if rng is None:
        return g
    a, b = rng
    line = ogr.Geometry(ogr.wkbLineString)
    for i in range(a, b + 1):
        x, y = g.GetPoint_2D(i)
        line.AddPoint_2D(x, y)
    return line


def make_floods(waterways):
    ways_by_id = {f["properties"]["osm_way_id"]: f for f in waterways}
    floods = []
    for fl in FLOODS:
        axis = ogr.Geometry(ogr.wkbMultiLineString)
        for wid, rng in fl["ways"]:
            axis.AddGeometry(stretch(ways_by_id, wid, rng))
        area = axis.Buffer(fl["buffer_m"], 8)
        if not area.IsValid():
            area = area.MakeValid()
        fl = dict(fl, axis_utm=axis, area_utm=area, area_wgs=to_wgs(area),
                  axis_len=axis.Length(), area_m2=area.GetArea())
        floods.append(fl)
    feats = []
    for fl in floods:
        planned = fl["status"] == "planned"
        name = "EXERCISE flash flood - %s" % fl["label"]
        name_ar = "تمرين: فيضان مفاجئ - %s" % fl["label"]
        if planned:
            d_en = ("%s Planned flood extent: %s. Water is expected to leave the bed here from "
                    "%s; the area will be closed pre-emptively. Buffer of %d m around %d m of "
                    "the OSM watercourse." % (EX_NOTE_EN, fl["where_en"], fl["valid_from"],
                                             fl["buffer_m"], round(fl["axis_len"])))
            d_ar = ("%s امتداد فيضان مخطط: %s. يُتوقع خروج المياه من المجرى هنا ابتداءً من %s، "
                    "وستُغلق المنطقة احترازياً. نطاق %d م حول %d م من المجرى المائي في خريطة "
                    "الشارع المفتوحة." % (EX_NOTE_AR, fl["where_ar"], fl["valid_from"],
                                          fl["buffer_m"], round(fl["axis_len"])))
        else:
            d_en = ("%s Flooded area: %s. Do not enter; water is flowing across the road. "
                    "Buffer of %d m around %d m of the OSM watercourse." % (
                        EX_NOTE_EN, fl["where_en"], fl["buffer_m"], round(fl["axis_len"])))
            d_ar = ("%s منطقة مغمورة بالمياه: %s. يُمنع الدخول؛ المياه تجري فوق الطريق. نطاق %d م "
                    "حول %d م من المجرى المائي في خريطة الشارع المفتوحة." % (
                        EX_NOTE_AR, fl["where_ar"], fl["buffer_m"], round(fl["axis_len"])))
        props = {
            "name": name, "name_ar": name_ar, "reason": "flood",
            "severity": fl["severity"], "status": fl["status"],
            "valid_from": fl["valid_from"], "valid_until": fl["valid_until"],
            "verified_at": None,
            "description_en": d_en, "description_ar": d_ar,
            "exercise": True, "source": EX_SOURCE,
        }
        props.update(SERVER)
        feats.append(feature(props, fl["area_wgs"]))
    return floods, feats


# --------------------------------------------------------------------------- EXERCISE: closures
def make_closures(road_feats, floods):
    """Car-road edges intersecting a flood extent, grouped per (flood, street name)."""
    edges_utm = [(f, geom(f["geometry"], utm=True)) for f in road_feats]
    closed_ids = set()
    groups = []  # (flood, name, [(feature, utm geom)])
    for fl in floods:
        by_name = {}
        order = []
        for f, g in edges_utm:
            p = f["properties"]
            if p["highway"] not in CAR or not g.Intersects(fl["area_utm"]):
                continue
            key = p["name"] or ""
            if key not in by_name:
                by_name[key] = []
                order.append(key)
            by_name[key].append((f, g))
            closed_ids.add(p["edge_id"])
        # named streets first (alphabetical), unnamed roads last
        for key in sorted(order, key=lambda k: (k == "", k)):
            groups.append((fl, key, by_name[key]))
    feats = []
    for fl, street, members in groups:
        members.sort(key=lambda m: m[0]["properties"]["edge_id"])
        inside = sum(g.Intersection(fl["area_utm"]).Length() for _, g in members)
        total = sum(m[0]["properties"]["length_m"] for m in members)
        # full closure where the extent is "full" and the street is really under water
        # (>= 30 m or >= half of it); where only the edge of the water reaches it: partial
        severity = "full" if (fl["severity"] == "full" and
                              (inside >= 30.0 or inside >= 0.5 * total)) else "partial"
        # merge the edges of one street; edges that share an end node are joined
        ml = ogr.Geometry(ogr.wkbMultiLineString)
        for f, _ in members:
            ml.AddGeometry(geom(f["geometry"]))
        merged = _linemerge(ml)
        hw = members[0][0]["properties"]["highway"]
        label = street if street else "unnamed %s road at %s" % (hw, fl["label"])
        label_ar = street if street else "طريق بلا اسم (%s) عند %s" % (hw, fl["label"])
        planned = fl["status"] == "planned"
        edge_list = ", ".join(m[0]["properties"]["edge_id"] for m in members)
        if severity == "full":
            what_en = "closed to all traffic in both directions"
            what_ar = "مغلق أمام جميع المركبات في الاتجاهين"
        else:
            what_en = ("restricted in both directions (water at the roadside, one lane, "
                       "emergency vehicles and residents only)")
            what_ar = "حركة مقيدة في الاتجاهين (مياه على جانب الطريق، مسرب واحد، لمركبات الطوارئ والسكان فقط)"
        d_en = ("%s %s%s closure of %s (%d OSM edge%s between junctions, %.0f m, of which %.0f m "
                "inside the flood extent '%s'): %s%s. Edges: %s." % (
                    EX_NOTE_EN, "Planned " if planned else "", severity.capitalize(),
                    label, len(members), "" if len(members) == 1 else "s", total, inside,
                    fl["label"], what_en, " from %s" % fl["valid_from"] if planned else "",
                    edge_list))
        d_ar = ("%s إغلاق %s%s لـ %s (عدد المقاطع بين التقاطعات: %d، الطول %.0f م، منها %.0f م داخل "
                "امتداد الفيضان '%s'): %s%s." % (
                    EX_NOTE_AR, "كامل" if severity == "full" else "جزئي",
                    " مخطط" if planned else "",
                    label_ar, len(members), total, inside, fl["label"], what_ar,
                    " ابتداءً من %s" % fl["valid_from"] if planned else ""))
        props = {
            "name": "EXERCISE closure - %s" % label,
            "name_ar": "تمرين: إغلاق - %s" % label_ar,
            "reason": "flood", "severity": severity, "direction": "both",
            "status": fl["status"],
            "valid_from": fl["valid_from"], "valid_until": fl["valid_until"],
            "verified_at": None,
            "description_en": d_en, "description_ar": d_ar,
            "exercise": True, "source": EX_SOURCE,
        }
        props.update(SERVER)
        feats.append(feature(props, merged))
    return closed_ids, feats


def _linemerge(g):
    """Join edge pieces that share an end point into as few lines as possible."""
    lines = [[g.GetGeometryRef(i).GetPoint_2D(j) for j in range(g.GetGeometryRef(i).GetPointCount())]
             for i in range(g.GetGeometryCount())]
    changed = True
    while changed and len(lines) > 1:
        changed = False
        for i in range(len(lines)):
            for j in range(len(lines)):
                if i == j:
                    continue
                a, b = lines[i], lines[j]
                if a[-1] == b[0]:
                    lines[i] = a + b[1:]
                elif a[-1] == b[-1]:
                    lines[i] = a + b[::-1][1:]
                elif a[0] == b[-1]:
                    lines[i] = b + a[1:]
                elif a[0] == b[0]:
                    lines[i] = b[::-1] + a[1:]
                else:
                    continue
                del lines[j]
                changed = True
                break
            if changed:
                break
    if len(lines) == 1:
        out = ogr.Geometry(ogr.wkbLineString)
        for x, y in lines[0]:
            out.AddPoint_2D(x, y)
        return out
    out = ogr.Geometry(ogr.wkbMultiLineString)
    for ln in sorted(lines):
        part = ogr.Geometry(ogr.wkbLineString)
        for x, y in ln:
            part.AddPoint_2D(x, y)
        out.AddGeometry(part)
    return out


# --------------------------------------------------------------------------- EXERCISE: services
KIND = {"hospital": "hospital", "pharmacy": "pharmacy", "water_point": "water",
        "civil_defence": "civil_defence", "police": "police", "townhall": "townhall",
        "school": "school"}  # place_of_worship: dropped (no matching kind)

# Exercise shelter designations: osm id -> (capacity, occupancy). Schools / town halls,
# none inside a flood extent; one of them is full.
SHELTERS = {
    "node/280489204": (220, 64),     # École Saint-Charles (Monte-Carlo) - route 1 target
    "node/1867162684": (180, 180),   # École de la Condamine - FULL
    "node/1872391440": (200, 35),    # École des Carmes (La Rousse)
    "relation/1484190": (400, 120),  # Lycée Albert 1er (Monaco-Ville)
    "way/176131190": (250, 40),      # École de Fontvieille
    "way/63018870": (120, 15),       # Mairie de Cap-d'Ail
    "node/3813022271": (260, 48),    # École élémentaire La Plage - route 2 target
    "node/3830778499": (150, 0),     # École primaire Gianton
}
FULL_SHELTER = "node/1867162684"
# Exercise bed numbers for hospitals (no beds/capacity tag in OSM). Points tagged
# amenity=hospital but emergency=no (a sports-medicine institute and a mis-tagged
# "Farmacy") get no invented capacity.
HOSPITAL_BEDS = {"node/25237989": 380, "node/1794111144": 60, "node/2169430533": 250}
HOSPITAL_FULL = "node/1794111144"  # Centre Cardio Thoracique: full in the exercise
CLOSE_WITHIN_M = 40.0  # services this close to an active flood extent are closed


def make_services(pois, floods):
    active = [fl for fl in floods if fl["status"] == "active"]
    feats = []
    counts = {}
    for f in pois:
        p = f["properties"]
        cat = p["category"]
        if cat not in KIND:
            counts["dropped_" + cat] = counts.get("dropped_" + cat, 0) + 1
            continue
        osm_id = "%s/%d" % (p["osm_type"], int(p["osm_id"]))
        kind = KIND[cat]
        g = geom(f["geometry"])
        g_utm = geom(f["geometry"], utm=True)
        street = p.get("addr:street")
        hn = p.get("addr:housenumber")
        if street:
            address = ("%s %s" % (hn, street)) if hn else street
            if p.get("addr:city"):
                address += ", " + p["addr:city"]
        else:
            address = None  # a lone house number / city is not an address
        cap = p.get("capacity") or p.get("beds")
        capacity = int(cap) if cap and str(cap).isdigit() else None
        occupancy = None
        status = "open"
        ex_parts = []
        if osm_id in SHELTERS:
            kind = "shelter"
            capacity, occupancy = SHELTERS[osm_id]
            ex_parts.append("shelter designation (OSM: %s), capacity, occupancy" % cat)
            if osm_id == FULL_SHELTER:
                status = "full"
                ex_parts.append("status full")
        elif kind == "hospital" and capacity is None and osm_id in HOSPITAL_BEDS:
            capacity = HOSPITAL_BEDS[osm_id]
            ex_parts.append("capacity (beds)")
            if osm_id == HOSPITAL_FULL:
                status = "full"
                ex_parts.append("status full")
        near = [fl for fl in active if g_utm.Distance(fl["area_utm"]) <= CLOSE_WITHIN_M]
        if near:
            status = "closed"
            ex_parts = [x for x in ex_parts if x != "status full"]
            ex_parts.append("status closed (within %d m of flood extent '%s')"
                            % (CLOSE_WITHIN_M, near[0]["label"]))
        exercise = bool(ex_parts)
        source = "OpenStreetMap %s" % osm_id
        if exercise:
            source += "; EXERCISE: " + "; ".join(ex_parts)
        props = {
            "name": none_if_empty(p.get("name")),
            "name_ar": none_if_empty(p.get("name:ar")),
            "name_en": none_if_empty(p.get("name:en")),
            "kind": kind, "status": status,
            "capacity": capacity, "occupancy": occupancy,
            "phone": none_if_empty(p.get("phone")),
            "opening_hours": none_if_empty(p.get("opening_hours")),
            "address": address,
            "operator": none_if_empty(p.get("operator")),
            "verified_at": None,
            "osm_id": osm_id,
            "exercise": exercise,
            "source": source[:200],
        }
        props.update(SERVER)
        feats.append(feature(props, g))
    missing = (set(SHELTERS) | set(HOSPITAL_BEDS)) - {f["properties"]["osm_id"] for f in feats}
    if missing:
        raise SystemExit("exercise ids not found in pois: %s" % sorted(missing))
    for f in feats:
        if f["properties"]["kind"] == "shelter" and f["properties"]["status"] == "closed":
            raise SystemExit("a designated shelter lies in a flood extent: %s" % f["properties"]["osm_id"])
    return feats, counts


# --------------------------------------------------------------------------- EXERCISE: routes
def build_graph(road_feats, closed_ids):
    """Directed car graph; edges cut by any flood extent (closed_ids) are left out."""
    adj = {}
    for f in road_feats:
        p = f["properties"]
        if p["highway"] not in CAR or p["edge_id"] in closed_ids:
            continue
        if f.get("_noaccess") or f.get("_tunnel"):
            continue  # no access for cars, or a tunnel (tunnels flood: not for evacuation)
        ow = p.get("oneway")
        coords = f["geometry"]["coordinates"]
        if ow != "-1":
            adj.setdefault(p["u"], []).append((p["v"], p["length_m"], p["edge_id"], coords))
        if ow in (None, "no", "-1"):
            adj.setdefault(p["v"], []).append((p["u"], p["length_m"], p["edge_id"], coords[::-1]))
    for k in adj:
        adj[k].sort(key=lambda e: (e[0], e[2]))
    return adj


def dijkstra(adj, src):
    dist = {src: 0.0}
    prev = {}
    heap = [(0.0, src)]
    while heap:
        d, n = heapq.heappop(heap)
        if d > dist.get(n, math.inf):
            continue
        for m, w, eid, coords in adj.get(n, ()):
            nd = d + w
            if nd < dist.get(m, math.inf) - 1e-9:
                dist[m] = nd
                prev[m] = (n, eid, coords)
                heapq.heappush(heap, (nd, m))
    return dist, prev


ROUTES = [
    {"flood": "boulingrins", "shelter": "node/280489204", "no": 1,
     "note_en": " Monte-Carlo's one-way streets and the closures make the drive much longer than "
                "the 300 m straight line; people on foot are guided by marshals.",
     "note_ar": " بسبب الشوارع ذات الاتجاه الواحد في Monte-Carlo والإغلاقات، الطريق بالسيارة أطول "
                "بكثير من المسافة المباشرة (300 م)؛ يرشد المنظمون المشاة."},
    {"flood": "peglion", "shelter": "node/3813022271", "no": 2, "note_en": "", "note_ar": ""},
]


def make_routes(road_feats, closed_ids, floods, services):
    adj = build_graph(road_feats, closed_ids)
    node_xy = {}
    for f in road_feats:
        c = f["geometry"]["coordinates"]
        node_xy[f["properties"]["u"]] = c[0]
        node_xy[f["properties"]["v"]] = c[-1]
    node_utm = {}

    def utm_pt(n):
        if n not in node_utm:
            x, y = node_xy[n]
            pt = ogr.Geometry(ogr.wkbPoint)
            pt.AddPoint_2D(x, y)
            pt.Transform(TO_UTM)
            node_utm[n] = pt
        return node_utm[n]

    fl_by_key = {fl["key"]: fl for fl in floods}
    svc = {f["properties"]["osm_id"]: f for f in services}
    feats = []
    for r in ROUTES:
        fl = fl_by_key[r["flood"]]
        shelter = svc[r["shelter"]]
        sp = shelter["properties"]
        assert sp["kind"] == "shelter" and sp["status"] == "open"
        # start: the cordon point - an endpoint of a closed edge of this flood, outside every
        # flood extent, that still has an open road out; the one closest to the flood centre
        cands = set()
        for f in road_feats:
            p = f["properties"]
            if p["edge_id"] in closed_ids and p["highway"] in CAR:
                for n in (p["u"], p["v"]):
                    if n in adj and utm_pt(n).Distance(fl["area_utm"]) < 30.0 and \
                            all(not utm_pt(n).Intersects(o["area_utm"]) for o in floods):
                        cands.add(n)
        centre = fl["area_utm"].Centroid()
        target = geom(shelter["geometry"], utm=True)
        best = None
        for n in sorted(cands, key=lambda n: (round(utm_pt(n).Distance(centre), 3), n)):
            dist, prev = dijkstra(adj, n)
            reach = sorted(dist, key=lambda m: (round(utm_pt(m).Distance(target), 3), m))
            dest = reach[0]
            if utm_pt(dest).Distance(target) <= 150.0 and dest != n:
                best = (n, dest, dist, prev)
                break
        if best is None:
            raise SystemExit("no evacuation route for %s" % r["flood"])
        start, dest, dist, prev = best
        path = []
        n = dest
        while n != start:
            pn, eid, coords = prev[n]
            path.append((eid, coords))
            n = pn
        path.reverse()
        coords = []
        for eid, c in path:
            coords.extend(c if not coords else c[1:])
        line = {"type": "LineString", "coordinates": _dedupe(_round(coords))}
        lg = geom(line, utm=True)
        for o in floods:
            if lg.Intersects(o["area_utm"]):
                raise SystemExit("route %d crosses flood extent %s" % (r["no"], o["key"]))
        dest_name = sp["name"]
        length = dist[dest]
        d_en = ("%s Evacuation route %d from the edge of the flood extent '%s' to the exercise "
                "shelter %s (%.0f m by road, %d OSM edges; car roads only, no tunnels, respects "
                "one-way streets, avoids all exercise closures and flood extents).%s Edges: %s." % (
                    EX_NOTE_EN, r["no"], fl["label"], dest_name, length, len(path),
                    r["note_en"], ", ".join(e for e, _ in path)))
        d_ar = ("%s طريق الإخلاء رقم %d من حافة امتداد الفيضان '%s' إلى ملجأ التمرين %s (%.0f م عبر "
                "الطرق، عدد المقاطع: %d، طرق السيارات فقط دون أنفاق، مع احترام الشوارع ذات الاتجاه الواحد وتجنّب "
                "جميع إغلاقات التمرين ومناطق الفيضان).%s" % (
                    EX_NOTE_AR, r["no"], fl["label"], dest_name, length, len(path), r["note_ar"]))
        props = {
            "name": "EXERCISE evacuation route %d - %s to %s" % (r["no"], fl["label"], dest_name),
            "name_ar": "تمرين: طريق الإخلاء %d - من %s إلى %s" % (r["no"], fl["label"], dest_name),
            "status": "open",
            "destination": dest_name,
            "destination_ar": "ملجأ التمرين: %s" % dest_name,
            "verified_at": None,
            "description_en": d_en, "description_ar": d_ar,
            "exercise": True, "source": EX_SOURCE,
        }
        props.update(SERVER)
        feats.append({"properties": props, "geometry": line})
        print("  route %d: %s -> node %d near %s, %.0f m, %d edges"
              % (r["no"], start, dest, dest_name, length, len(path)))
    return feats


# --------------------------------------------------------------------------- main
def main():
    with open(LAYERS_JSON, encoding="utf-8") as fh:
        layers = {l["id"]: l for l in json.load(fh)["layers"]}

    src_roads = load(os.path.join(MONACO, "roads.geojson"))
    roads = make_roads(src_roads)
    # access restrictions are not a layer field, but routing must still honour them
    for f, s in zip(roads, src_roads):
        sp = s["properties"]
        if sp.get("access") in ("no", "private") or sp.get("motor_vehicle") in ("no", "private") \
                or sp.get("area") == "yes":
            f["_noaccess"] = True
        if sp.get("tunnel") not in (None, "no"):
            f["_tunnel"] = True

    floods, blocked = make_floods(load(os.path.join(MONACO, "waterways.geojson")))
    closed_ids, closures = make_closures(roads, floods)
    services, counts = make_services(load(os.path.join(MONACO, "pois.geojson")), floods)
    routes = make_routes(roads, closed_ids, floods, services)

    write_fc(os.path.join(OUT_DEMO, "services.geojson"), "services", services, layers)
    write_fc(os.path.join(OUT_DEMO, "roads.geojson"), "roads",
             [{"properties": f["properties"], "geometry": f["geometry"]} for f in roads], layers)
    write_fc(os.path.join(OUT_DEMO, "districts.geojson"), "districts",
             make_monaco_districts(load(os.path.join(MONACO, "admin_boundaries.geojson"))), layers)
    write_fc(os.path.join(OUT_DEMO, "blocked_areas.geojson"), "blocked_areas", blocked, layers)
    write_fc(os.path.join(OUT_DEMO, "closures.geojson"), "closures", closures, layers)
    write_fc(os.path.join(OUT_DEMO, "evacuation_routes.geojson"), "evacuation_routes", routes, layers)
    write_fc(os.path.join(OUT_AMMAN, "districts.geojson"), "districts",
             make_amman_districts(load(os.path.join(AMMAN, "amman_districts.geojson"))), layers)
    print("dropped POIs:", counts, "| closed car edges:", len(closed_ids))
    for n in NOTES:
        print("note:", n)


if __name__ == "__main__":
    main()
