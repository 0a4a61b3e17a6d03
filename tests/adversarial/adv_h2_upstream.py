"""An HTTP/2 upstream (PyPI `h2`) whose responses end the ways a response can end: signed or
not, the signature in the headers or only in trailers, forged, body in many DATA frames,
trailers after the body, or trailers without any body. The request path picks the response:
`/resp/<mode>` (see MODES). TLS with the platform's server certificate (the egress's `platform`
cluster pins it) or plain h2c (a platform gateway's `upstream` cluster). Counts what reached it.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading

import h2.config
import h2.connection
import h2.events
import h2.exceptions
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

BODY = json.dumps({"result": "ok", "amount": {"currency": "USD", "amount": "100"},
                   "pad": "x" * 300}, separators=(",", ":")).encode()
TRAILER = ("x-trailer-note", "after-the-body")

# mode -> (signature in headers: None | "valid" | "forged", body frames?, trailers: None |
#          "plain" | "valid-sig" | "forged-sig")
MODES = {
    "signed": ("valid", True, None),
    "signed-trailers": ("valid", True, "plain"),
    "unsigned": (None, True, None),
    "unsigned-trailers": (None, True, "plain"),
    "forged-trailers": ("forged", True, "plain"),
    "sig-in-trailers": (None, True, "valid-sig"),
    "forged-sig-in-trailers": (None, True, "forged-sig"),
    "empty-trailers": (None, False, "plain"),
    "signet-headers": ("valid", True, None),  # plus x-signet-* headers of the upstream's own
    "stall": ("valid", True, None),  # headers and the first DATA frame, then silence
}
SIGNET_HEADERS = [("x-signet-reason", "ok"), ("x-signet-partner", "dfsp-b"), ("x-signet-verified", "true")]


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def es256_detached(key_pem: bytes, body: bytes, kid: str) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    h = b64u(json.dumps({"alg": "ES256", "kid": kid}, separators=(",", ":")).encode())
    der = key.sign(h.encode() + b"." + b64u(body).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return f"{h}..{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def forge(value: str) -> str:
    return value[:-2] + ("AA" if not value.endswith("AA") else "BA")


class H2Upstream:
    def __init__(self, pki, *, tls: bool, sig_header: str = "x-jws-signature", kid: str = "platform-ec",
                 responder=None):
        """responder(conn, stream_id, request): answers instead of the `/resp/<mode>` table
        (`request` as recorded in `seen`); it may send nothing (a stall) or reset the stream."""
        self.sig_header, self.kid, self.responder = sig_header, kid, responder
        self.key_pem = (pki.root / "platform" / "jws" / "ec.key").read_bytes()
        self.ctx = None
        if tls:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(str(pki.root / "platform/tls/server.crt"),
                                     str(pki.root / "platform/tls/server.key"))
            self.ctx.set_alpn_protocols(["h2"])
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.3)
        self.port = self.sock.getsockname()[1]
        self._hits = 0
        self.seen: list[dict] = []  # every request: {"path", "headers", "body", "trailers"}
        # Everything any request carried (header and trailer fields, DATA), also of requests that
        # never ended: what a leak would be found in.
        self.wire: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def hits(self) -> int:
        with self._lock:
            return self._hits

    def _record(self, fields) -> None:
        with self._lock:
            self.wire.extend(f"{n}: {v}".encode("utf-8", "surrogateescape") for n, v in fields)

    def received(self) -> bytes:
        """Every byte of every request so far (see `wire`)."""
        with self._lock:
            return b"\n".join(self.wire)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            sock = self.ctx.wrap_socket(raw, server_side=True) if self.ctx else raw
        except (ssl.SSLError, OSError):
            raw.close()
            return
        # Fields as bytes, decoded here: a byte that is not UTF-8 (HTTP allows obs-text) is kept
        # as a surrogate instead of failing the connection.
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=False, header_encoding=None))
        conn.initiate_connection()
        paths: dict[int, str] = {}
        reqs: dict[int, dict] = {}
        try:
            sock.sendall(conn.data_to_send())
            while not self._stop.is_set():
                data = sock.recv(65536)
                if not data:
                    break
                for ev in conn.receive_data(data):
                    if isinstance(ev, (h2.events.RequestReceived, h2.events.TrailersReceived)):
                        ev.headers = [(n.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
                                      for n, v in ev.headers]
                    if isinstance(ev, h2.events.RequestReceived):
                        paths[ev.stream_id] = dict(ev.headers).get(":path", "/")
                        reqs[ev.stream_id] = {"path": paths[ev.stream_id], "headers": list(ev.headers),
                                              "body": b"", "trailers": []}
                        self._record(ev.headers)
                    elif isinstance(ev, h2.events.DataReceived):
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                        if ev.stream_id in reqs:
                            reqs[ev.stream_id]["body"] += ev.data
                        with self._lock:
                            self.wire.append(ev.data)
                    elif isinstance(ev, h2.events.TrailersReceived):
                        if ev.stream_id in reqs:
                            reqs[ev.stream_id]["trailers"] = list(ev.headers)
                        self._record(ev.headers)
                    elif isinstance(ev, h2.events.StreamEnded):
                        if ev.stream_id in paths:
                            req = reqs.pop(ev.stream_id, {})
                            with self._lock:
                                self.seen.append(req)
                            if self.responder is None:
                                self._respond(conn, ev.stream_id, paths.pop(ev.stream_id))
                            else:
                                paths.pop(ev.stream_id)
                                with self._lock:
                                    self._hits += 1
                                self.responder(conn, ev.stream_id, req)
                    elif isinstance(ev, h2.events.ConnectionTerminated):
                        return
                sock.sendall(conn.data_to_send())
        except (OSError, ssl.SSLError, h2.exceptions.H2Error):
            pass
        finally:
            sock.close()

    def _respond(self, conn, sid: int, path: str) -> None:
        with self._lock:
            self._hits += 1
        mode = path.split("?")[0].rsplit("/", 1)[-1]
        sig_mode, with_body, trailer_mode = MODES.get(mode, MODES["unsigned"])
        sig = es256_detached(self.key_pem, BODY, self.kid)
        headers = [(":status", "200"), ("content-type", "application/json")]
        if sig_mode == "valid":
            headers.append((self.sig_header, sig))
        elif sig_mode == "forged":
            headers.append((self.sig_header, forge(sig)))
        if mode == "signet-headers":
            headers += SIGNET_HEADERS
        trailers = None
        if trailer_mode == "plain":
            trailers = [TRAILER]
        elif trailer_mode == "valid-sig":
            trailers = [(self.sig_header, sig)]
        elif trailer_mode == "forged-sig":
            trailers = [(self.sig_header, forge(sig))]
        frames = [BODY[i:i + 64] for i in range(0, len(BODY), 64)] if with_body else []
        if mode == "stall":
            conn.send_headers(sid, headers)
            conn.send_data(sid, frames[0])
            return
        conn.send_headers(sid, headers, end_stream=not frames and trailers is None)
        for i, chunk in enumerate(frames):
            conn.send_data(sid, chunk, end_stream=i == len(frames) - 1 and trailers is None)
        if trailers is not None:
            conn.send_headers(sid, trailers, end_stream=True)


def http2_cluster(cluster_name: str):
    """A patch for harness.start_gateway: the named cluster speaks HTTP/2 to its endpoint."""

    def patch(doc: dict) -> None:
        for c in doc["static_resources"]["clusters"]:
            if c["name"] == cluster_name:
                c["typed_extension_protocol_options"] = {
                    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        "explicit_http_config": {"http2_protocol_options": {}},
                    }}
                return
        raise AssertionError(f"no cluster {cluster_name}")

    return patch
