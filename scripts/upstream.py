#!/usr/bin/env python3
"""Demo upstream: echoes each request as JSON and counts the requests that reached it.

    scripts/upstream.py [--host 127.0.0.1] [--port 8080]   (--port 0 picks a free port)

Every request except GET /__hits is counted (whatever its method, even `post` or `FOO`) and
answered with 200 and {"method", "path", "headers": [[name, value], ...], "body": text,
"body_b64": base64, "trailers": [[name, value], ...] (of a chunked body), "hit": n};
with request header `x-echo-body: sha256`, "body_sha256" and "body_len" replace the body.
GET /__hits answers {"hits": n} without counting itself, so a test can prove whether a
request reached the upstream. Prints "listening on HOST:PORT" once ready.

Tests add response headers with request header `x-upstream-reply`, a JSON object
{"headers": {name: value}} (e.g. an upstream forging Signet's `x-signet-reason`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._n = 0

    def bump(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    def value(self) -> int:
        with self._lock:
            return self._n


HITS = Counter()


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "signet-upstream"

    def log_message(self, fmt: str, *args: object) -> None:
        sys.stderr.write("upstream: %s - %s\n" % (self.address_string(), fmt % args))

    def _reply(self, status: int, doc: dict) -> None:
        try:
            extra = json.loads(self.headers.get("x-upstream-reply") or "{}").get("headers") or {}
        except (ValueError, AttributeError):
            extra = {}
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_body(self) -> bytes | None:
        self.trailers: list[list[str]] = []
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                        name, _, value = line.decode("latin-1").partition(":")
                        self.trailers.append([name.strip().lower(), value.strip()])
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        if self.command == "GET" and self.path == "/__hits":
            self._reply(200, {"hits": HITS.value()})
            return
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._reply(413, {"error": "body too large"})
            return
        hit = HITS.bump()
        doc = {
            "method": self.command,
            "path": self.path,
            "headers": [[k.lower(), v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", errors="replace"),
            "body_b64": base64.b64encode(body).decode(),
            "trailers": self.trailers,
            "hit": hit,
        }
        if self.headers.get("x-echo-body", "").lower() == "sha256":
            # Large bodies: the digest and length instead of the bytes.
            del doc["body"], doc["body_b64"]
            doc.update(body_sha256=hashlib.sha256(body).hexdigest(), body_len=len(body))
        self._reply(200, doc)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def __getattr__(self, name: str):
        # Any other method (`post`, `Post`, `FOO`) is counted and echoed too: a test must see
        # every request that reached the upstream, not a 501 that hides it.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


def main() -> int:
    ap = argparse.ArgumentParser(description="Signet demo upstream (echo + hit counter)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    args = ap.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Echo)
    server.daemon_threads = True
    # SIGTERM ends serve_forever cleanly (from another thread, as shutdown() requires).
    signal.signal(
        signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start()
    )
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
