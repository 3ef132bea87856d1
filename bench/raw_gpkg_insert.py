#!/usr/bin/env python3
"""Raw GeoPackage insert rate: the peer figure crisismap's creates are compared with, measured in the same run.

usage: raw_gpkg_insert.py --src STORE.gpkg --dir DIR [--table services] [-d 10] [--warm 1]
                          [--modes c1,c8,c1_audit] [--out results.jsonl] [--retries 1] [--deadline EPOCH]

Copies the GeoPackage --src (SQLite online backup, read-only on the source) to DIR/raw-insert.gpkg —
put DIR on the same disk as the crisismap store — and inserts single rows into --table (a copy of the
store's own table: same columns, the GeoPackage R-tree and feature-count triggers), each row in its own
transaction, with journal_mode=WAL and synchronous=FULL (what crisismap's store uses), for -d seconds
per mode, with Python's sqlite3 module (standard library only). The geometry is a real GeoPackage blob
(GeoPackageBinary header, srs_id 4326, no envelope, little-endian WKB Point), and the functions the
GeoPackage R-tree triggers call (ST_IsEmpty, ST_MinX, ST_MaxX, ST_MinY, ST_MaxY; GDAL provides them
in C) are registered in Python so the triggers run and keep the spatial index current, as under GDAL.
Properties: name, kind, capacity, created, updated, updated_by, version (what a crisismap create fills).

modes:
  c1        1 connection: BEGIN IMMEDIATE; INSERT one row; COMMIT — the reference rate.
  c8        8 threads, each with its own connection, doing the same at once. SQLite allows one writer
            at a time per database: the others wait on the lock (busy_timeout 10 s; SQLite's busy
            handler polls with sleeps of 1, 2, 5, 10 … ms), so this shows what naive concurrent writers
            to one GeoPackage get, not more fsyncs in parallel.
  c1_audit  1 connection, the feature row plus one audit row (~1 KB of JSON and two SHA-256 hex hashes,
            like crisismap's cm_audit record) in the same transaction: what one crisismap create writes.
            Informational; created only when the table cm_audit exists in the copy.
Latency = BEGIN to COMMIT returned (for c8 this includes waiting for the write lock). inserts/s =
committed transactions / wall time of the timed window. A --warm unrecorded window runs first.
Prints one line per mode and appends a JSON record to --out (the report uses the least disturbed one per mode). CPU:
"own" = this process, "other" = the rest of the machine in the window (someone else's work, plus kernel
threads flushing for our fsyncs); a mode whose "other" exceeds 0.6 cores is run once more (--retries).
The copy is removed at the end.
"""
import argparse, hashlib, json, os, random, resource, sqlite3, struct, sys, threading, time

BUSY_TIMEOUT_S = 10.0
OTHER_CPU_LIMIT = 0.6  # as in bench_write.py: "other" also holds kernel threads flushing for our own fsyncs


def gpkg_point(x, y, srs_id=4326):
    # GeoPackageBinary: magic "GP", version 0, flags 0x01 (little-endian, no envelope, not empty), srs_id,
    # then WKB Point (little-endian, type 1).
    return b"GP" + struct.pack("<BBi", 0, 0x01, srs_id) + struct.pack("<BIdd", 1, 1, x, y)


_ENV_LEN = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def _wkb_xy(blob):
    """Coordinates of a GeoPackage blob holding a WKB Point, or None (enough for the triggers here)."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0x10:  # empty geometry flag
        return None
    off = 8 + _ENV_LEN.get((flags >> 1) & 0x07, 0)
    wkb = blob[off:]
    if len(wkb) < 21:
        return None
    end = "<" if wkb[0] == 1 else ">"
    gtype = struct.unpack(end + "I", wkb[1:5])[0]
    if gtype % 1000 != 1:
        return None
    x, y = struct.unpack(end + "dd", wkb[5:21])
    return x, y


def _st_isempty(blob):
    if blob is None:
        return None
    return 1 if len(blob) >= 4 and blob[:2] == b"GP" and blob[3] & 0x10 else 0


def _coord(i):
    def f(blob):
        xy = _wkb_xy(blob)
        return None if xy is None else xy[i]
    return f


def connect(path):
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    det = {"deterministic": True} if sys.version_info >= (3, 8) else {}
    con.create_function("ST_IsEmpty", 1, _st_isempty, **det)
    con.create_function("ST_MinX", 1, _coord(0), **det)
    con.create_function("ST_MaxX", 1, _coord(0), **det)
    con.create_function("ST_MinY", 1, _coord(1), **det)
    con.create_function("ST_MaxY", 1, _coord(1), **det)
    jm = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    con.execute("PRAGMA synchronous=FULL")
    sync = con.execute("PRAGMA synchronous").fetchone()[0]
    return con, {"journal_mode": jm, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync)}


def host_busy_ticks():
    """Busy ticks of the whole machine (all CPUs): total - idle - iowait, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - (v[4] if len(v) > 4 else 0)


def pct(sorted_v, q):
    if not sorted_v:
        return 0.0
    return sorted_v[min(len(sorted_v) - 1, int(q / 100.0 * len(sorted_v)))]


class Inserter:
    """One connection inserting rows, each in its own transaction."""

    def __init__(self, path, table, tid, audit):
        self.con, self.pragmas = connect(path)
        self.table, self.tid, self.audit = table, tid, audit
        self.rnd = random.Random(1000 + tid)
        self.seq = 0
        self.prev_hash = "0" * 64
        q = '"%s"' % table.replace('"', '""')
        self.sql = ("INSERT INTO %s (geom, name, kind, capacity, created, updated, updated_by, version) "
                    "VALUES (?,?,?,?,?,?,?,?)" % q)
        self.audit_sql = ("INSERT INTO cm_audit (time_ms, actor, role, action, layer, feature_id, before, after, "
                          "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)")

    def one(self):
        self.seq += 1
        x = round(self.rnd.uniform(7.405, 7.435), 6)
        y = round(self.rnd.uniform(43.725, 43.750), 6)
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        name = "raw %d-%d" % (self.tid, self.seq)
        row = (gpkg_point(x, y), name, "water", self.seq % 500, now, now, "bench", 1)
        t0 = time.perf_counter()
        cur = self.con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.execute(self.sql, row)
            if self.audit:
                fid = cur.lastrowid
                after = json.dumps({"type": "Feature", "id": fid, "geometry": {"type": "Point", "coordinates": [x, y]},
                                    "properties": {"name": name, "kind": "water", "capacity": self.seq % 500,
                                                   "created": now, "updated": now, "updated_by": "bench", "version": 1,
                                                   "pad": "x" * 400}})
                h = hashlib.sha256((self.prev_hash + after).encode()).hexdigest()
                cur.execute(self.audit_sql, (int(time.time() * 1000), "bench", "operator", "created", self.table, fid,
                                             None, after, self.prev_hash, h))
                self.prev_hash = h
            cur.execute("COMMIT")
        except BaseException:
            try:
                cur.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        return time.perf_counter() - t0

    def close(self):
        self.con.close()


def remove_copy(db):
    """Removes a copy made by make_copy, with its WAL and shared-memory files."""
    for suf in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suf):
            os.remove(db + suf)


def make_copy(src_path, db, table):
    """Copies src_path to db (SQLite online backup, read-only on the source; the copy's pages on disk before any
    timing, so no stray writeback lands in a window). Returns (has table, has cm_audit, rows in table)."""
    src = sqlite3.connect("file:%s?mode=ro" % src_path, uri=True)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    has_table = dst.execute("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()[0]
    has_audit = dst.execute("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='cm_audit'").fetchone()[0]
    rows0 = dst.execute('SELECT count(*) FROM "%s"' % table.replace('"', '""')).fetchone()[0] if has_table else 0
    dst.close()
    fd = os.open(db, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return has_table, has_audit, rows0


def insert_for(ins, seconds):
    """One connection inserting for `seconds`: (committed rows, wall seconds, sorted latencies). Used by
    bench_write.py to alternate short raw and crisismap windows (the disk's fsync rate drifts over seconds)."""
    lat = []
    t0 = time.perf_counter()
    end = t0 + seconds
    while time.perf_counter() < end:
        lat.append(ins.one())
    return len(lat), time.perf_counter() - t0, sorted(lat)


def run_mode(path, table, mode, seconds, warm):
    threads = 8 if mode == "c8" else 1
    audit = mode == "c1_audit"
    workers = [Inserter(path, table, i, audit) for i in range(threads)]
    pragmas = workers[0].pragmas
    lat = [[] for _ in workers]
    errs = [0] * threads
    err_msgs = []
    phase = {"record": False, "stop": False}
    start = threading.Barrier(threads + 1)

    def loop(i):
        w = workers[i]
        start.wait()
        while not phase["stop"]:
            try:
                d = w.one()
            except sqlite3.OperationalError as e:  # e.g. "database is locked" after the busy timeout
                if phase["record"]:
                    errs[i] += 1
                    if len(err_msgs) < 3:
                        err_msgs.append(str(e))
                continue
            if phase["record"]:
                lat[i].append(d)

    ts = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    start.wait()
    if warm > 0:
        time.sleep(warm)
    phase["record"] = True
    h0 = host_busy_ticks()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    time.sleep(seconds)
    phase["stop"] = True
    # a transaction in flight when the window closes still counts for latency but not for the rate
    wall = time.perf_counter() - t0
    host = round((host_busy_ticks() - h0) / os.sysconf("SC_CLK_TCK") / wall, 2)
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    own = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / wall
    other = round(max(0.0, host - own), 2)  # cores used by anything but this process: someone else on the box
    for t in ts:
        t.join(BUSY_TIMEOUT_S + 5)
    counts = [len(l) for l in lat]
    allv = sorted(v for l in lat for v in l)
    # committed within the window: every recorded sample except at most one per thread finishing after it
    n = sum(counts)
    n_window = max(0, n - threads)
    rec = dict(measure="raw_gpkg_insert", mode=mode, threads=threads, table=table, seconds=round(wall, 2),
               inserts=n, inserts_per_s=round(n_window / wall, 1) if wall else 0.0,
               p50_ms=round(pct(allv, 50) * 1000, 3), p99_ms=round(pct(allv, 99) * 1000, 3),
               max_ms=round(allv[-1] * 1000, 3) if allv else 0.0, errors=sum(errs), error_samples=err_msgs,
               per_thread=counts if threads > 1 else None, pragmas=pragmas, audit_row=audit, host_cpu_cores=host,
               own_cpu_cores=round(own, 2), other_cpu_cores=other,
               geometry="GeoPackage blob (GP header, srs 4326, WKB Point), R-tree + feature-count triggers active",
               ts=time.strftime("%Y-%m-%dT%H:%M:%S"))
    for w in workers:
        w.close()
    return rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True, help="GeoPackage to copy (the crisismap store)")
    ap.add_argument("--dir", required=True, help="directory for the copy (same disk as the store)")
    ap.add_argument("--table", default="services")
    ap.add_argument("-d", type=float, default=10.0, help="seconds per mode")
    ap.add_argument("--warm", type=float, default=1.0, help="unrecorded seconds before each mode")
    ap.add_argument("--modes", default="c1,c8,c1_audit")
    ap.add_argument("--out", default="")
    ap.add_argument("--retries", type=int, default=1,
                    help="run a mode once more when other work on the machine used > %.1f cores in its window" % OTHER_CPU_LIMIT)
    ap.add_argument("--deadline", type=float, default=0, help="epoch seconds: no repeat that would end after it")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    db = os.path.join(a.dir, "raw-insert.gpkg")

    results = []
    try:
        todo = [(m.strip(), 0) for m in a.modes.split(",") if m.strip()]
        while todo:
            mode, attempt = todo.pop(0)
            remove_copy(db)  # every mode starts from the same copy (same table size, fresh WAL)
            has_table, has_audit, rows0 = make_copy(a.src, db, a.table)
            if not has_table:
                raise SystemExit("raw_gpkg_insert: no table %s in %s" % (a.table, a.src))
            if mode == "c1_audit" and not has_audit:
                print("  raw GPKG %-9s skipped: no cm_audit table in the copy" % mode)
                continue
            rec = run_mode(db, a.table, mode, a.d, a.warm)
            rec["rows_before"] = rows0
            rec["attempt"] = attempt + 1
            con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)  # warm-up rows included
            rec["rows_after"] = con.execute('SELECT count(*) FROM "%s"' % a.table.replace('"', '""')).fetchone()[0]
            con.close()
            results.append(rec)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            print("  raw GPKG %-9s %2d conn  %8.1f inserts/s  p50 %7.3f ms  p99 %8.3f ms  max %8.2f ms  %6d commits  "
                  "errors %d  CPU own %.2f other %.2f  %s%s" % (mode, rec["threads"], rec["inserts_per_s"], rec["p50_ms"], rec["p99_ms"],
                                       rec["max_ms"], rec["inserts"], rec["errors"], rec["own_cpu_cores"], rec["other_cpu_cores"],
                                       "journal_mode=%s synchronous=%s" % (rec["pragmas"]["journal_mode"], rec["pragmas"]["synchronous"]),
                                       ("  per connection %s" % rec["per_thread"]) if rec["per_thread"] else ""), flush=True)
            fits = not a.deadline or time.time() + (a.warm + a.d + 3) * (len(todo) + 1) < a.deadline
            if rec["other_cpu_cores"] > OTHER_CPU_LIMIT and attempt < a.retries and fits:
                print("  (that window was disturbed: %.2f cores used by other work; once more)" % rec["other_cpu_cores"])
                time.sleep(2)
                todo.insert(0, (mode, attempt + 1))
    finally:
        remove_copy(db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
