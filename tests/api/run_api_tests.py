#!/usr/bin/env python3
"""API tests against the real server: the data-driven cases in cases/*.json, then the
flows in flows.py that need logic (paging, bbox against brute force, ETags, gzip, CRS).

A case file is {"name", "request": {"method", "path", "headers"}, "expect": {"status",
"headers": {name: value-or-null-for-absent}, "json": {"a.b[0].c": value}, "json_has":
["a.b"], "json_count": {"features": n}, "body_contains": [...]}}. A regression is a new
file.

usage: run_api_tests.py BINARY SOURCE_DIR
"""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Server  # noqa: E402
import flows  # noqa: E402

MISSING = object()


def lookup(doc, path):
    cur = doc
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            idx = int(part[1:-1])
            if not isinstance(cur, list) or idx >= len(cur):
                return MISSING
            cur = cur[idx]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return MISSING
            cur = cur[part]
    return cur


def run_case(srv, case):
    req, exp = case["request"], case["expect"]
    path = req["path"]
    status, hdrs, body = srv.request(req.get("method", "GET"), path, req.get("headers"),
                                     req.get("body"))
    problems = []
    if status != exp["status"]:
        problems.append("status %s, expected %s (body %s)" % (status, exp["status"], body[:300]))
    for name, value in exp.get("headers", {}).items():
        got = hdrs.get(name.lower())
        if value is None and got is not None:
            problems.append("header %s present (%s), expected absent" % (name, got))
        elif value is not None and (got is None or not re.fullmatch(value, got)):
            problems.append("header %s = %r, expected /%s/" % (name, got, value))
    doc = None
    if any(k in exp for k in ("json", "json_has", "json_count")):
        try:
            doc = json.loads(body)
        except ValueError:
            problems.append("body is not JSON: %r" % body[:200])
    if doc is not None:
        for p, value in exp.get("json", {}).items():
            got = lookup(doc, p)
            if got is MISSING or got != value:
                problems.append("%s = %r, expected %r" % (p, None if got is MISSING else got, value))
        for p in exp.get("json_has", []):
            if lookup(doc, p) is MISSING:
                problems.append("%s missing" % p)
        for p, n in exp.get("json_count", {}).items():
            got = lookup(doc, p)
            if got is MISSING or len(got) != n:
                problems.append("len(%s) = %s, expected %d" % (p, "missing" if got is MISSING else len(got), n))
    for text in exp.get("body_contains", []):
        if text.encode() not in body:
            problems.append("body does not contain %r" % text)
    return problems


def main():
    binary, source = sys.argv[1], sys.argv[2]
    srv = Server(binary, source)
    failed = passed = 0
    try:
        srv.make_demo_store()
        srv.start()
        for path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases", "*.json"))):
            case = json.load(open(path, encoding="utf-8"))
            problems = run_case(srv, case)
            name = os.path.basename(path)
            if problems:
                failed += 1
                print("FAIL %s (%s)\n  %s" % (name, case.get("name", ""), "\n  ".join(problems)))
            else:
                passed += 1
                print("ok   %s" % name)
        for name, fn in flows.ALL:
            try:
                fn(srv)
                passed += 1
                print("ok   flow %s" % name)
            except AssertionError as e:
                failed += 1
                print("FAIL flow %s: %s" % (name, e))
            except Exception as e:  # a flow that breaks (no response, not JSON) fails alone
                failed += 1
                print("FAIL flow %s: %s: %s" % (name, type(e).__name__, e))
        rc = srv.stop()
        if rc != 0:
            failed += 1
            print("FAIL server exit status %r; log tail:\n%s" % (rc, srv.read_log()[-3000:]))
        log = srv.read_log()
        if "runtime error" in log or "AddressSanitizer" in log or "LeakSanitizer" in log:
            failed += 1
            print("FAIL sanitizer report in server log:\n%s" % log[-5000:])
    finally:
        srv.stop()
        srv.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
