#!/usr/bin/env python3
"""Durability: writers keep creating, patching and deleting while the server is killed
with SIGKILL; after a restart every acknowledged write is there with its acknowledged
content (or a later version of it), every acknowledged delete stays deleted, and the audit
chain verifies. CRISISMAP_CRASH_ROUNDS sets the number of rounds (3 by default).

usage: test_crash.py BINARY SOURCE_DIR
"""
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Server  # noqa: E402

ITEMS = "/api/collections/services/items"


def writer(srv, token, k, rnd, acked, deleted, in_flight, lock, stop):
    mine = []  # (id, etag)
    j = 0
    while not stop.is_set():
        j += 1
        try:
            r = rnd.random()
            if not mine or r < 0.4:
                s, h, b = srv.send_json("POST", ITEMS, token, {
                    "type": "Feature", "geometry": {"type": "Point", "coordinates": [7.40 + rnd.random() / 50, 43.72 + rnd.random() / 50]},
                    "properties": {"kind": "water", "name": "w%d-%d" % (k, j), "capacity": j}}, timeout=5)
                if s == 201:
                    with lock:
                        acked[b["id"]] = b
                    mine.append((b["id"], h["etag"]))
            elif r < 0.9:
                i = rnd.randrange(len(mine))
                fid, tag = mine[i]
                s, h, b = srv.send_json("PATCH", ITEMS + "/%d" % fid, token, {"properties": {"capacity": j, "name": "p%d-%d" % (k, j)}},
                                        content_type="application/merge-patch+json", headers={"If-Match": tag}, timeout=5)
                if s == 200:
                    with lock:
                        acked[fid] = b
                    mine[i] = (fid, h["etag"])
            else:
                fid, tag = mine.pop(rnd.randrange(len(mine)))
                # Until its 204 arrives, a delete may or may not have been committed.
                with lock:
                    in_flight.add(fid)
                s, _, _ = srv.send_json("DELETE", ITEMS + "/%d" % fid, token, headers={"If-Match": tag}, timeout=5)
                if s == 204:
                    with lock:
                        acked.pop(fid, None)
                        deleted.add(fid)
                        in_flight.discard(fid)
        except (OSError, ValueError):
            return  # the server is gone


def main():
    binary, source = sys.argv[1], sys.argv[2]
    rounds = int(os.environ.get("CRISISMAP_CRASH_ROUNDS", "3"))
    rnd = random.Random(11)
    srv = Server(binary, source)
    srv.make_demo_store()
    token = srv.token("crash-writer", "operator")
    failures, passed = [], 0
    acked, deleted, in_flight, lock = {}, set(), set(), threading.Lock()
    try:
        for rnd_no in range(1, rounds + 1):
            srv.start()
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(srv, token, k, random.Random(rnd.random()), acked, deleted, in_flight, lock, stop))
                       for k in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.5 + rnd.random())
            with lock:
                n_acked = len(acked)
            srv.kill()
            stop.set()
            for t in threads:
                t.join()
            srv.start()
            missing, stale, resurrected = [], [], []
            with lock:
                # A delete cut off by the kill leaves its feature either way; settle it now.
                for fid in list(in_flight):
                    if srv.get_json(ITEMS + "/%d" % fid)[0] == 404:
                        acked.pop(fid, None)
                        deleted.add(fid)
                in_flight.clear()
                items = list(acked.items())
                gone = list(deleted)
            for fid, want in items:
                s, _, got = srv.get_json(ITEMS + "/%d" % fid)
                if s != 200:
                    missing.append(fid)
                    continue
                gv, wv = got["properties"]["version"], want["properties"]["version"]
                if gv < wv or (gv == wv and (got["properties"] != want["properties"] or got["geometry"] != want["geometry"])):
                    stale.append((fid, gv, wv))
            for fid in gone:
                if srv.get_json(ITEMS + "/%d" % fid)[0] != 404:
                    resurrected.append(fid)
            rc = srv.stop()
            verify = subprocess.run([binary, "audit", "verify", "--store", srv.store], capture_output=True, text=True)
            ok = not missing and not stale and not resurrected and verify.returncode == 0 and rc == 0
            print("%s round %d: %d acknowledged features (%d when killed), %d deletes; missing %s, stale %s, resurrected %s; %s"
                  % ("ok  " if ok else "FAIL", rnd_no, len(items), n_acked, len(gone), missing[:5], stale[:5], resurrected[:5],
                     verify.stdout.strip()))
            if ok:
                passed += 1
            else:
                failures.append(rnd_no)
            if len(items) == 0:
                failures.append("round %d wrote nothing" % rnd_no)
    finally:
        srv.stop()
        srv.cleanup()
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
