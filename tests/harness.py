"""Test harness: a real crisismap server on 127.0.0.1 port 0 over a fresh demo store.

Used by the API, GDAL-client and (later) browser tests. Everything lives in a temporary
directory that is removed afterwards; the server is stopped with SIGTERM and must exit 0.
"""
import faulthandler
import gzip
import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import urllib.parse

# A hung test prints where every thread of it was, then exits, before ctest's timeout kills it
# without a word (tests/CMakeLists.txt sets this a minute short of each test's timeout).
if os.environ.get("CM_TEST_WATCHDOG_S"):
    faulthandler.dump_traceback_later(float(os.environ["CM_TEST_WATCHDOG_S"]), exit=True)


class Checks:
    """Counts and prints test outcomes; `summary()` prints the closing line ctest shows."""

    def __init__(self):
        self.passed, self.failed = 0, []

    def __call__(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed.append(what)
            print("FAIL %s %s" % (what, detail))

    def summary(self):
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        return 1 if self.failed else 0


def derived_config(source_dir, tmp_dir, **overrides):
    """Writes a copy of config/crisismap.json with absolute paths and the given top-level
    overrides (e.g. events={"max_streams": 3}) into tmp_dir; returns its path."""
    base = os.path.join(os.path.abspath(source_dir), "config")
    cfg = json.load(open(os.path.join(base, "crisismap.json"), encoding="utf-8"))
    cfg["layers"] = os.path.join(base, cfg["layers"])
    cfg["web_root"] = os.path.join(base, cfg["web_root"])
    cfg["demo"] = {k: os.path.join(base, v) for k, v in cfg["demo"].items()}
    cfg.update(overrides)
    path = os.path.join(tmp_dir, "crisismap-test.json")
    json.dump(cfg, open(path, "w", encoding="utf-8"), ensure_ascii=False)
    return path


class SSEClient:
    """A Server-Sent Events subscriber on a raw socket, parsing frames on a thread into a list."""

    def __init__(self, host, port, path, last_event_id=None, headers=None):
        import socket
        import threading
        self.sock = socket.create_connection((host, port), timeout=30)
        h = "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\n" % (path, host, port)
        if last_event_id is not None:
            h += "Last-Event-ID: %s\r\n" % last_event_id
        for k, v in (headers or {}).items():
            h += "%s: %s\r\n" % (k, v)
        self.sock.sendall((h + "\r\n").encode())
        self.events, self.comments, self.status, self.headers = [], [], None, {}
        self.closed = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise OSError("closed")
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            self.status = int(lines[0].split()[1])
            self.headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
            chunked = self.headers.get("transfer-encoding", "") == "chunked"
            raw, text = buf, ""
            while True:
                if chunked:
                    while True:  # de-chunk whatever is complete
                        if b"\r\n" not in raw:
                            break
                        size_line, rest = raw.split(b"\r\n", 1)
                        size = int(size_line.split(b";")[0], 16)
                        if size == 0:
                            raise OSError("end of stream")
                        if len(rest) < size + 2:
                            break
                        text += rest[:size].decode()
                        raw = rest[size + 2:]
                else:
                    text += raw.decode()
                    raw = b""
                while "\n\n" in text:
                    frame, text = text.split("\n\n", 1)
                    self._frame(frame)
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except (OSError, ValueError):
            pass
        self.closed = True

    def _frame(self, frame):
        ev = {}
        for line in frame.split("\n"):
            if line.startswith(":"):
                with self.lock:
                    self.comments.append(line)
                continue
            if ":" in line:
                k, v = line.split(":", 1)
                ev[k] = v[1:] if v.startswith(" ") else v
        if "data" in ev:
            ev["json"] = json.loads(ev["data"])
            with self.lock:
                self.events.append(ev)

    def wait_for(self, predicate, timeout=5.0):
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if predicate(self):
                    return True
            time.sleep(0.02)
        return False

    def close(self):
        """Hangs up as a browser does (FIN). close() alone would not: the reader thread's
        pending recv keeps the socket open until something arrives."""
        import socket
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


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

    def token(self, name, role, layers=None):
        """Creates a token with the real command and returns its text."""
        args = [self.binary, "token", "create", "--store", self.store, "--name", name, "--role", role]
        if layers:
            args += ["--layers", layers]
        out = subprocess.run(args, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def start(self):
        self.log = open(os.path.join(self.tmp, "server.log"), "w+")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.config, "--store", self.store,
             "--listen", "127.0.0.1:0"] + self.extra_args,
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        # The first line says where it listens; a server that neither says it nor exits is a failure.
        ready, _, _ = select.select([self.proc.stdout], [], [], 120)
        line = self.proc.stdout.readline().strip() if ready else "(nothing within 120 s)"
        if not (line.startswith("listening on http://") or line.startswith("listening on https://")):
            self.stop()
            raise RuntimeError("server did not start: %r; log:\n%s" % (line, self.read_log()))
        self.url = line[len("listening on "):]
        parsed = urllib.parse.urlparse(self.url)
        self.host, self.port = parsed.hostname, parsed.port
        return self

    def read_log(self):
        self.log.seek(0)
        return self.log.read()

    def kill(self):
        """SIGKILL, as a power cut would: no shutdown code runs."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)

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

    def early_reply(self, method, path, headers, declared_length, send_bytes=0, timeout=10):
        """Sends the request head (and send_bytes of body) of a body declared_length long,
        then reads whatever the server answers without sending the rest: how a 413 is
        given without reading the body. Returns (status, body bytes)."""
        import socket
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        head = "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %d\r\n" % (method, path, self.host, self.port, declared_length)
        head += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
        sock.sendall(head.encode() + b"a" * send_bytes)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + self._clen(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            sock.close()
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        return status, data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""

    @staticmethod
    def _clen(data):
        for line in data.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return int(line.split(b":")[1])
        return 0

    def get_json(self, path, headers=None):
        status, hdrs, body = self.request("GET", path, headers)
        return status, hdrs, (json.loads(body) if body else None)

    def send_json(self, method, path, token=None, doc=None, content_type="application/geo+json", headers=None,
                  raw=None, timeout=30):
        """A write: returns (status, headers, parsed JSON body or None)."""
        h = {"Content-Type": content_type}
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        body = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else None)
        status, hdrs, out = self.request(method, path, h, body, timeout=timeout)
        try:
            parsed = json.loads(out) if out else None
        except ValueError:
            parsed = None
        return status, hdrs, parsed
