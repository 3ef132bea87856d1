"""Test harness: a real crisismap server on 127.0.0.1 port 0 over a fresh demo store.

Used by the API, GDAL-client and (later) browser tests. Everything lives in a temporary
directory that is removed afterwards; the server is stopped with SIGTERM and must exit 0.
"""
import gzip
import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import urllib.parse


class Server:
    def __init__(self, binary, source_dir, config="config/crisismap.json", extra_args=()):
        self.binary = binary
        self.source_dir = source_dir
        self.config = os.path.join(source_dir, config)
        self.tmp = tempfile.mkdtemp(prefix="crisismap-test-")
        self.store = os.path.join(self.tmp, "store.gpkg")
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None

    def make_demo_store(self):
        subprocess.run([self.binary, "demo", "--store", self.store, "--config", self.config],
                       check=True, stdout=subprocess.DEVNULL)

    def start(self):
        self.log = open(os.path.join(self.tmp, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.config, "--store", self.store,
             "--listen", "127.0.0.1:0"] + self.extra_args,
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on http://"):
            self.stop()
            raise RuntimeError("server did not start: %r; log:\n%s" % (line, self.read_log()))
        self.url = line[len("listening on "):]
        parsed = urllib.parse.urlparse(self.url)
        self.host, self.port = parsed.hostname, parsed.port
        return self

    def read_log(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = "killed after timeout"
        elif self.proc:
            rc = self.proc.returncode
        return rc

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def request(self, method, path, headers=None, body=None, timeout=30):
        """One request on a fresh connection; returns (status, headers dict lower-cased, body bytes
        decoded from gzip when the server sent gzip)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        conn.close()
        if hdrs.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return resp.status, hdrs, raw

    def get_json(self, path, headers=None):
        status, hdrs, body = self.request("GET", path, headers)
        return status, hdrs, (json.loads(body) if body else None)
