#!/usr/bin/env python3
"""Administration: `crisismap token` (256-bit tokens shown once, only hashes stored,
list, revoke, changes picked up by a running server), `crisismap audit verify`, and
serving HTTPS with --tls-cert/--tls-key.

usage: test_admin.py BINARY SOURCE_DIR
"""
import gzip
import http.client
import json
import os
import re
import sqlite3
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import Checks, Server  # noqa: E402

check = Checks()


def huge_pages_available():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[never]" not in f.read()
    except OSError:
        return False


def server_environ(srv):
    """The environment the running server process has now (after any re-exec)."""
    with open("/proc/%d/environ" % srv.proc.pid, "rb") as f:
        return [e.decode("utf-8", "replace") for e in f.read().split(b"\0") if e]


def main():
    binary, source = sys.argv[1], sys.argv[2]
    srv = Server(binary, source)
    srv.make_demo_store()
    run = lambda *a: subprocess.run([binary] + list(a), capture_output=True, text=True)  # noqa: E731
    try:
        out = run("token", "create", "--store", srv.store, "--name", "traffic-1", "--role", "operator", "--layers", "closures")
        tok = out.stdout
        check(out.returncode == 0 and re.fullmatch(r"cm_[0-9a-f]{64}\n", tok) is not None,
              "token create prints one 256-bit token alone on stdout", repr(tok))
        tok = tok.strip()
        con = sqlite3.connect(srv.store)
        rows = con.execute("SELECT name, role, layers, hash FROM cm_tokens").fetchall()
        con.close()
        check(rows and all(tok not in str(r) and tok[3:] not in str(r) for r in rows) and len(rows[0][3]) == 64,
              "only a hash of the token is stored", rows)
        out = run("token", "list", "--store", srv.store)
        check(out.returncode == 0 and "traffic-1" in out.stdout and "operator" in out.stdout and tok not in out.stdout,
              "token list shows names and roles, never tokens")
        out = run("token", "create", "--store", srv.store, "--name", "traffic-1", "--role", "operator")
        check(out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, "a taken name is refused (exit 2)", out.stderr)
        out = run("token", "create", "--store", srv.store, "--name", "x", "--role", "superuser")
        check(out.returncode == 2, "an unknown role is refused (exit 2)")
        out = run("token", "revoke", "--store", srv.store, "nobody")
        check(out.returncode == 2, "revoking an unknown token is refused (exit 2)")

        srv.start()
        # `serve` re-executes itself (same pid) with glibc's heap on transparent huge pages when
        # the kernel offers them (service/heap_hint.h); an explicit setting is left alone.
        thp = huge_pages_available()
        env = server_environ(srv)
        hugetlb = any(e.startswith("GLIBC_TUNABLES=") and "glibc.malloc.hugetlb=1" in e for e in env)
        check(hugetlb == thp,
              "serve runs with glibc.malloc.hugetlb=1 exactly when transparent huge pages are available",
              "thp %s, environ %s" % (thp, [e for e in env if e.startswith("GLIBC")]))
        with open("/proc/%d/comm" % srv.proc.pid) as f:
            comm = f.read().strip()
        check(comm == os.path.basename(binary)[:15], "after the re-exec the process keeps its name (tools stop it by name)", comm)
        closure = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[7.42, 43.73], [7.421, 43.731]]},
                   "properties": {"reason": "works"}}
        s, _, _ = srv.send_json("POST", "/api/collections/closures/items", tok, closure)
        check(s == 201, "the token works on its layer", s)
        late = run("token", "create", "--store", srv.store, "--name", "late", "--role", "operator").stdout.strip()
        deadline, s = time.time() + 6, 0
        while time.time() < deadline and s != 201:
            s, _, _ = srv.send_json("POST", "/api/collections/closures/items", late, closure)
            time.sleep(0.3)
        check(s == 201, "a token created while the server runs is accepted within seconds")
        out = run("token", "revoke", "--store", srv.store, "traffic-1")
        check(out.returncode == 0, "token revoke", out.stderr)
        deadline, s = time.time() + 6, 201
        while time.time() < deadline and s != 401:
            s, _, _ = srv.send_json("POST", "/api/collections/closures/items", tok, closure)
            time.sleep(0.3)
        check(s == 401, "a revoked token is refused within seconds", s)
        check(srv.get_json("/healthz")[2]["changed_outside"] == [],
              "token commands against a running server are not taken for another program's edits")
        # One writer of a store at a time: while it is served, import, demo and a second serve
        # are refused, naming the server, and change nothing.
        count = srv.get_json("/healthz")[2]["layers"]["services"]
        data = os.path.join(source, "data", "demo", "services.geojson")
        cfg = os.path.join(source, "config", "crisismap.json")
        held = "serve, pid %d" % srv.proc.pid
        alias = os.path.join(srv.tmp, "alias.gpkg")
        os.symlink(srv.store, alias)
        for what, args in (("import through a symlink", ("import", "--store", alias, "--config", cfg, "--layer", "services", data)),
                           ("import", ("import", "--store", srv.store, "--config", cfg, "--layer", "services", data)),
                           ("demo", ("demo", "--store", srv.store, "--config", cfg)),
                           ("a second serve", ("serve", "--store", srv.store, "--config", cfg, "--listen", "127.0.0.1:0"))):
            out = subprocess.run([binary] + list(args), capture_output=True, text=True, timeout=60)
            check(out.returncode == 1 and held in out.stderr and "in use" in out.stderr and not out.stdout,
                  "%s of a served store is refused, naming the server" % what, (out.returncode, out.stdout, out.stderr))
        con = sqlite3.connect("file:%s?mode=ro" % srv.store, uri=True)
        on_disk = con.execute("SELECT count(*) FROM services").fetchone()[0]
        con.close()
        check(on_disk == count and srv.get_json("/healthz")[2]["layers"]["services"] == count,
              "the refused commands changed nothing", (count, on_disk))
        srv.stop()
        out = run("import", "--store", srv.store, "--config", cfg, "--layer", "services", data)
        check(out.returncode == 0, "once the server stops, import takes the store", out.stderr[-300:])
        out = run("audit", "verify", "--store", srv.store)
        check(out.returncode == 0 and re.search(r"intact: [1-9]\d* records", out.stdout), "audit verify", out.stdout)
        os.environ["GLIBC_TUNABLES"] = "glibc.malloc.hugetlb=0"
        try:
            srv.start()
            env = server_environ(srv)
            check("GLIBC_TUNABLES=glibc.malloc.hugetlb=0" in env and "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" not in env,
                  "GLIBC_TUNABLES naming glibc.malloc.hugetlb is left as given (the opt-out)",
                  [e for e in env if e.startswith("GLIBC")])
            srv.stop()
        finally:
            del os.environ["GLIBC_TUNABLES"]

        # HTTPS through GnuTLS.
        cert, key = os.path.join(srv.tmp, "cert.pem"), os.path.join(srv.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        srv.extra_args = ["--tls-cert", cert, "--tls-key", key]
        srv.start()
        check(srv.url.startswith("https://"), "serve --tls-cert/--tls-key announces https", srv.url)
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        conn = http.client.HTTPSConnection(srv.host, srv.port, context=ctx, timeout=10)
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        body = json.loads(r.read())
        check(r.status == 200 and body["status"] == "ok", "HTTPS serves with the given certificate")
        # Links carry the scheme the client came with: a GIS following "next" over HTTPS must not be
        # sent to http:// on this port.
        conn.request("GET", "/api/collections/services/items?limit=2")
        r = conn.getresponse()
        page = json.loads(gzip.decompress(r.read()) if r.getheader("Content-Encoding") == "gzip" else r.read())
        hrefs = [l["href"] for l in page.get("links", [])]
        check(r.status == 200 and hrefs and all(h.startswith("https://%s:%d/" % (srv.host, srv.port)) for h in hrefs),
              "links in HTTPS answers are https", hrefs)
        try:
            plain = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
            plain.request("GET", "/healthz")
            plain_ok = plain.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            plain_ok = False
        check(not plain_ok, "plain HTTP is not served on the HTTPS port")
        rc = srv.stop()
        check(rc == 0, "HTTPS server stops cleanly", srv.read_log()[-1500:])
        out = run("serve", "--config", os.path.join(source, "config", "crisismap.json"), "--store", srv.store, "--tls-cert", cert)
        check(out.returncode == 2, "--tls-cert without --tls-key is refused (exit 2)")
    finally:
        srv.stop()
        srv.cleanup()
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
