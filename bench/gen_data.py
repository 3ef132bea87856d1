#!/usr/bin/env python3
"""Deterministic benchmark dataset for crisismap (greater Amman, EPSG:4326 lon/lat, RFC 7946 GeoJSON).

usage: gen_data.py OUTDIR [--seed N] [--services N] [--closures N] [--blocked-areas N] [--force]

Writes OUTDIR/services.geojson (points), OUTDIR/closures.geojson (LineStrings, 2-20 vertices) and
OUTDIR/blocked_areas.geojson (Polygons, ~30 vertices: perturbed circles, star-shaped around their centre,
hence simple and valid; exterior ring counter-clockwise). Every property matches config/layers.json
(enums, integer/boolean types, RFC 3339 datetimes, maxLength); server-owned properties (created, updated,
updated_by, version) are left to the server. Python standard library only; the same seed gives the same
bytes. Does nothing when OUTDIR/.gen_data matches the generator version and arguments (unless --force).
"""
import argparse, datetime, json, math, os, random, sys

VERSION = "crisismap-bench-data v1"
LON0, LON1, LAT0, LAT1 = 35.75, 36.15, 31.75, 32.15

# (English, Arabic) neighbourhoods of greater Amman, with rough centres used for clustering
NEIGHBOURHOODS = [
    ("Abdali", "العبدلي", 35.910, 31.963), ("Jabal Amman", "جبل عمان", 35.918, 31.951),
    ("Downtown", "وسط البلد", 35.934, 31.952), ("Marka", "ماركا", 35.985, 31.982),
    ("Sweileh", "صويلح", 35.840, 32.022), ("Tla' Al-Ali", "تلاع العلي", 35.862, 31.998),
    ("Khalda", "خلدا", 35.848, 31.997), ("Hashmi", "الهاشمي", 35.955, 31.968),
    ("Wadi Seer", "وادي السير", 35.818, 31.952), ("Shmeisani", "الشميساني", 35.902, 31.972),
    ("Jubeiha", "الجبيهة", 35.873, 32.024), ("Abu Nseir", "أبو نصير", 35.878, 32.060),
    ("Sahab", "سحاب", 36.005, 31.872), ("Quwaysimah", "القويسمة", 35.952, 31.912),
    ("Marj Al-Hamam", "مرج الحمام", 35.800, 31.885), ("Naour", "ناعور", 35.830, 31.875),
    ("Tabarbour", "طبربور", 35.942, 32.000), ("Jabal Al-Hussein", "جبل الحسين", 35.922, 31.968),
    ("Um Uthaina", "أم أذينة", 35.872, 31.965), ("Dabouq", "دابوق", 35.820, 31.992),
    ("Ruseifa", "الرصيفة", 36.045, 32.018), ("Zarqa road", "طريق الزرقاء", 36.010, 32.030),
    ("Airport road", "طريق المطار", 35.905, 31.880), ("Badr Al-Jadida", "بدر الجديدة", 35.790, 31.930),
]
STREETS = [("Queen Rania Street", "شارع الملكة رانيا"), ("Zahran Street", "شارع زهران"),
           ("Mecca Street", "شارع مكة"), ("Medina Street", "شارع المدينة المنورة"),
           ("Gardens Street", "شارع الجاردنز"), ("Airport Road", "طريق المطار"),
           ("Al-Shaheed Street", "شارع الشهيد"), ("Prince Hamzah Street", "شارع الأمير حمزة"),
           ("Army Street", "شارع الجيش"), ("Al-Istiqlal Street", "شارع الاستقلال"),
           ("King Abdullah II Street", "شارع الملك عبدالله الثاني"), ("Wasfi Al-Tal Street", "شارع وصفي التل"),
           ("Al-Quds Street", "شارع القدس"), ("Yajouz Road", "طريق ياجوز")]

KINDS = [  # enum value, weight, English label, Arabic label, typical operators, has capacity
    ("hospital", 4, "Hospital", "مستشفى", ["Ministry of Health", "Royal Medical Services", "Private"], True),
    ("clinic", 10, "Health Centre", "مركز صحي", ["Ministry of Health", "UNRWA", "Jordan Red Crescent"], False),
    ("pharmacy", 22, "Pharmacy", "صيدلية", ["Private"], False),
    ("shelter", 14, "Shelter", "مأوى", ["Greater Amman Municipality", "Jordan Red Crescent", "UNHCR"], True),
    ("water", 18, "Water Point", "نقطة مياه", ["Water Authority of Jordan", "Miyahuna", "UNICEF"], False),
    ("civil_defence", 4, "Civil Defence Centre", "مركز الدفاع المدني", ["Jordan Civil Defence"], False),
    ("police", 5, "Police Station", "مركز شرطة", ["Public Security Directorate"], False),
    ("school", 20, "School", "مدرسة", ["Ministry of Education", "UNRWA", "Private"], True),
    ("townhall", 3, "Municipality Office", "مكتب البلدية", ["Greater Amman Municipality"], False),
]
SERVICE_STATUS = (["open", "full", "closed", "unknown"], [70, 8, 12, 10])
HOURS = ["24/7", "Mo-Su 08:00-20:00", "Su-Th 08:00-15:00", "Sa-Th 09:00-22:00", "Mo-Fr 08:00-16:00; Sa 09:00-13:00"]

CLOSURE_REASONS = (["flood", "accident", "works", "security", "event", "debris", "landslide", "other"],
                   [30, 12, 15, 8, 5, 18, 7, 5])
AREA_REASONS = (["flood", "collapse", "cordon", "fire", "landslide", "hazmat", "other"], [40, 12, 18, 8, 10, 5, 7])
EVENT_STATUS = (["planned", "active", "expired", "lifted"], [10, 70, 10, 10])
REASON_TEXT = {
    "flood": ("Flash flood water on the carriageway", "مياه فيضان مفاجئ على الطريق"),
    "accident": ("Traffic accident, emergency services on site", "حادث سير وفرق الطوارئ في الموقع"),
    "works": ("Emergency repair works", "أعمال صيانة طارئة"),
    "security": ("Closed by the security services", "مغلق من قبل الأجهزة الأمنية"),
    "event": ("Closed for a public event", "مغلق بسبب فعالية عامة"),
    "debris": ("Debris and mud blocking the road", "ركام وطين يغلقان الطريق"),
    "landslide": ("Landslide on the slope above the road", "انزلاق تربة على المنحدر فوق الطريق"),
    "collapse": ("Partial building collapse", "انهيار جزئي لمبنى"),
    "cordon": ("Police cordon, no entry", "طوق أمني، يمنع الدخول"),
    "fire": ("Fire, keep clear", "حريق، يرجى الابتعاد"),
    "hazmat": ("Hazardous materials spill", "تسرب مواد خطرة"),
    "other": ("Restricted access", "دخول مقيد"),
}
SOURCE = "crisismap benchmark (synthetic)"
T0 = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def rfc3339(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def r6(v):
    return round(v, 6)


def pick(rnd, table):
    return rnd.choices(table[0], weights=table[1])[0]


def point_in_amman(rnd, spread=0.018):
    """60 % clustered around a neighbourhood centre, 40 % uniform over the box."""
    if rnd.random() < 0.6:
        n = rnd.choice(NEIGHBOURHOODS)
        while True:
            x, y = rnd.gauss(n[2], spread), rnd.gauss(n[3], spread)
            if LON0 < x < LON1 and LAT0 < y < LAT1:
                return x, y, n
    x, y = rnd.uniform(LON0, LON1), rnd.uniform(LAT0, LAT1)
    n = min(NEIGHBOURHOODS, key=lambda q: (q[2] - x) ** 2 + (q[3] - y) ** 2)
    return x, y, n


def write_fc(path, features):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        for i, feat in enumerate(features):
            if i:
                f.write(",\n")
            f.write(json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
        f.write("\n]}\n")
    os.replace(tmp, path)


def services(rnd, n):
    kinds = [k[0] for k in KINDS]
    weights = [k[1] for k in KINDS]
    by = {k[0]: k for k in KINDS}
    counters = {}
    for i in range(n):
        x, y, nb = point_in_amman(rnd)
        kind = rnd.choices(kinds, weights=weights)[0]
        _, _, en, ar, operators, has_cap = by[kind]
        counters[kind] = counters.get(kind, 0) + 1
        num = counters[kind]
        street = rnd.choice(STREETS)
        p = {
            "name": "%s %s %d" % (en, nb[0], num),
            "name_ar": "%s %s %d" % (ar, nb[1], num),
            "name_en": "%s %s %d" % (en, nb[0], num),
            "kind": kind,
            "status": pick(rnd, SERVICE_STATUS),
        }
        if has_cap:
            cap = rnd.randint(20, 1500) if kind != "hospital" else rnd.randint(50, 800)
            p["capacity"] = cap
            p["occupancy"] = rnd.randint(0, cap)
        p["phone"] = "+962 6 %d%02d %04d" % (rnd.randint(4, 5), rnd.randint(0, 99), rnd.randint(0, 9999))
        p["opening_hours"] = "24/7" if kind in ("hospital", "civil_defence", "police", "shelter") else rnd.choice(HOURS)
        p["address"] = "%d %s, %s, Amman" % (rnd.randint(1, 250), street[0], nb[0])
        p["operator"] = rnd.choice(operators)
        p["verified_at"] = rfc3339(T0 + datetime.timedelta(seconds=rnd.randint(0, 27 * 86400)))
        p["osm_id"] = "node/%d" % rnd.randint(300000000, 11999999999)
        p["exercise"] = True
        p["source"] = SOURCE
        yield {"type": "Feature", "geometry": {"type": "Point", "coordinates": [r6(x), r6(y)]}, "properties": p}


def validity(rnd, p):
    start = T0 + datetime.timedelta(seconds=rnd.randint(0, 25 * 86400))
    p["valid_from"] = rfc3339(start)
    p["valid_until"] = rfc3339(start + datetime.timedelta(seconds=rnd.randint(3600, 10 * 86400)))
    p["verified_at"] = rfc3339(start + datetime.timedelta(seconds=rnd.randint(0, 3600)))


def closures(rnd, n):
    for i in range(n):
        x, y, nb = point_in_amman(rnd, 0.02)
        nv = rnd.randint(2, 20)
        h = rnd.uniform(0, 2 * math.pi)
        coords = []
        for _ in range(nv):
            coords.append([r6(x), r6(y)])
            h += rnd.gauss(0, 0.4)
            step = rnd.uniform(0.0002, 0.0012)
            nx, ny = x + step * math.cos(h), y + step * math.sin(h)
            if not (LON0 < nx < LON1 and LAT0 < ny < LAT1):  # turn back at the edge
                h += math.pi
                nx, ny = x + step * math.cos(h), y + step * math.sin(h)
            x, y = nx, ny
        street = rnd.choice(STREETS)
        reason = pick(rnd, CLOSURE_REASONS)
        p = {
            "name": "%s, %s (closure %d)" % (street[0], nb[0], i + 1),
            "name_ar": "%s، %s (إغلاق %d)" % (street[1], nb[1], i + 1),
            "reason": reason,
            "severity": rnd.choice(["full", "full", "partial"]),
            "direction": rnd.choice(["both", "both", "forward", "backward"]),
            "status": pick(rnd, EVENT_STATUS),
        }
        validity(rnd, p)
        p["description_en"] = "%s. EXERCISE." % REASON_TEXT[reason][0]
        p["description_ar"] = "%s. تمرين." % REASON_TEXT[reason][1]
        p["exercise"] = True
        p["source"] = SOURCE
        yield {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": p}


def blocked_areas(rnd, n):
    for i in range(n):
        x, y, nb = point_in_amman(rnd, 0.02)
        rad = rnd.uniform(0.0015, 0.008)
        x = min(max(x, LON0 + rad + 0.001), LON1 - rad - 0.001)
        y = min(max(y, LAT0 + rad + 0.001), LAT1 - rad - 0.001)
        nv = rnd.randint(27, 33)
        a0 = rnd.uniform(0, 2 * math.pi)
        ring = []
        for j in range(nv):  # strictly increasing angle, positive radius: star-shaped, simple, CCW
            a = a0 + 2 * math.pi * (j + rnd.uniform(-0.3, 0.3)) / nv
            rr = rad * rnd.uniform(0.75, 1.0)
            ring.append([r6(x + rr * math.cos(a)), r6(y + rr * math.sin(a))])
        ring.append(list(ring[0]))
        reason = pick(rnd, AREA_REASONS)
        p = {
            "name": "%s blocked area %d" % (nb[0], i + 1),
            "name_ar": "منطقة مغلقة %s %d" % (nb[1], i + 1),
            "reason": reason,
            "severity": rnd.choice(["full", "partial"]),
            "status": pick(rnd, EVENT_STATUS),
        }
        validity(rnd, p)
        p["description_en"] = "%s. EXERCISE." % REASON_TEXT[reason][0]
        p["description_ar"] = "%s. تمرين." % REASON_TEXT[reason][1]
        p["exercise"] = True
        p["source"] = SOURCE
        yield {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": p}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--services", type=int, default=100000)
    ap.add_argument("--closures", type=int, default=10000)
    ap.add_argument("--blocked-areas", type=int, default=1000)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    stamp = "%s seed=%d services=%d closures=%d blocked_areas=%d" % (VERSION, a.seed, a.services, a.closures, a.blocked_areas)
    marker = os.path.join(a.outdir, ".gen_data")
    names = ("services", "closures", "blocked_areas")
    if (not a.force and os.path.exists(marker) and open(marker).read().strip() == stamp
            and all(os.path.exists(os.path.join(a.outdir, n + ".geojson")) for n in names)):
        print("gen_data: up to date in %s (%s)" % (a.outdir, stamp))
        return
    if os.path.exists(marker):
        os.remove(marker)
    # one independent stream per layer: changing one count does not change the other layers
    write_fc(os.path.join(a.outdir, "services.geojson"), services(random.Random(a.seed * 10 + 1), a.services))
    write_fc(os.path.join(a.outdir, "closures.geojson"), closures(random.Random(a.seed * 10 + 2), a.closures))
    write_fc(os.path.join(a.outdir, "blocked_areas.geojson"), blocked_areas(random.Random(a.seed * 10 + 3), a.blocked_areas))
    with open(marker, "w") as f:
        f.write(stamp + "\n")
    for n in names:
        print("gen_data: %-24s %10d bytes" % (n + ".geojson", os.path.getsize(os.path.join(a.outdir, n + ".geojson"))))


if __name__ == "__main__":
    sys.exit(main())
