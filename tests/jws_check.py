"""Checks of what crossed a gateway, by code that is not Signet's: Python `cryptography` for
the signature, the `signet verify` CLI for the whole profile, and a tampering TLS intermediary.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509 import load_pem_x509_certificate

from harness import REPO

CLI = REPO / "target" / "release" / "signet"


def b64u(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def split(value: str) -> tuple[str, str]:
    """H and S of `H..S` or `H.X.S` (compact or detached)."""
    parts = value.split(".")
    assert len(parts) == 3, value
    return parts[0], parts[2]


def protected(h: str) -> dict:
    return json.loads(b64u(h))


def public_key(pem: bytes):
    if b"CERTIFICATE" in pem:
        return load_pem_x509_certificate(pem).public_key()
    return serialization.load_pem_public_key(pem)


def verify_independently(h: str, s: str, payload: bytes, pem: bytes) -> str:
    """Verifies S over H and the payload: U-input when the header says b64:false, E-input
    otherwise. Raises cryptography's InvalidSignature on a bad signature; returns the alg."""
    header = protected(h)
    if header.get("b64") is False:
        signing_input = h.encode() + b"." + payload
    else:
        signing_input = h.encode() + b"." + base64.urlsafe_b64encode(payload).rstrip(b"=")
    sig = b64u(s)
    key = public_key(pem)
    alg = header["alg"]
    if alg == "RS256":
        key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "ES256":
        assert len(sig) == 64, "JOSE ES256 is r||s, 64 bytes"
        r, s_ = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        key.verify(encode_dss_signature(r, s_), signing_input, ec.ECDSA(hashes.SHA256()))
    else:
        raise AssertionError(f"no independent check for {alg}")
    return alg


def canonical_json(body: bytes) -> bytes:
    """The SPAR signing payload for plain bodies (orjson OPT_SORT_KEYS form)."""
    return json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


# --- messages as files, for `signet verify` ------------------------------------------------


def request_file(method: str, path: str, headers: list, body: bytes) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode() + b"\r\n" + body


def response_file(status: int, headers: list, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    return head.encode() + b"\r\n" + body


def cli_verify(workdir: Path, config: dict, message: bytes, *args: str) -> tuple[int, str]:
    """`signet verify` on a message file; (exit code, output)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cfg, msg = workdir / "verify.json", workdir / "message.http"
    cfg.write_text(json.dumps(config))
    msg.write_bytes(message)
    out = subprocess.run([str(CLI), "verify", "--config", str(cfg), *args, str(msg)],
                         capture_output=True, text=True, timeout=30, check=False)
    return out.returncode, out.stdout + out.stderr


def inline_pki(value, root: Path):
    """The renderer's "@pki:<file>" inlining, for configurations handed to the CLI."""
    if isinstance(value, dict):
        return {k: inline_pki(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [inline_pki(v, root) for v in value]
    if isinstance(value, str) and value.startswith("@pki:"):
        return (root / value[5:]).read_text()
    return value


# --- plain HTTP to an egress gateway --------------------------------------------------------


class Reply:
    def __init__(self, status: int, headers: list, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def json(self):
        return json.loads(self.body)


def http_request(port: int, method: str, path: str, headers: list | None = None,
                 body: bytes | None = None, timeout: float = 10) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for n, v in headers or []:
            conn.putheader(n, v)
        if body is not None:
            conn.putheader("content-length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return Reply(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


# --- an intermediary that changes response bodies after the platform signed them ----------


class TamperProxy:
    """TLS server posing as the platform (its certificate, so the egress's pinning passes),
    forwarding each request to the real platform with the partner's client certificate and,
    while `tamper` is set, changing one byte of every response body before passing it on."""

    def __init__(self, pki, platform_port: int, party: str = "dfsp-a"):
        self.tamper = False
        self.seen = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def do_any(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                ctx = ssl.create_default_context(cafile=str(pki.platform_ca))
                ctx.load_cert_chain(*map(str, pki.client(party)))
                up = http.client.HTTPSConnection("localhost", platform_port, timeout=10,
                                                 context=ctx)
                try:
                    up.request(self.command, self.path, body=body or None,
                               headers={k: v for k, v in self.headers.items()
                                        if k.lower() not in ("host", "connection")})
                    r = up.getresponse()
                    data = r.read()
                    headers = r.getheaders()
                finally:
                    up.close()
                if proxy.tamper and data:
                    i = len(data) // 2
                    data = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1:]
                proxy.seen += 1
                self.send_response(r.status)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_any

        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls = pki.root / "platform" / "tls"
        server_ctx.load_cert_chain(str(tls / "server.crt"), str(tls / "server.key"))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = server_ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
