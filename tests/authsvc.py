"""A small local OAuth2 / OIDC auth service for the integration tests (Keycloak-shaped paths).

    svc = AuthService(issuer_path="/realms/signet")      # one RSA key, kid "k1"
    svc.start()
    svc.jwks_path, svc.token_path                        # GET JWKS (Cache-Control max-age), POST token
    svc.token({"participantId": "dfsp-a", ...})          # arbitrary claims, signed with the active key
    svc.rotate()                                         # new key in (and signing), old key out
    svc.mode = "garbage" | "error" | "ok"; svc.delay_s = 2.0
    svc.stop(); svc.start()                              # same port: down (open connections shut too), then back
    AuthService(tls=(cert, key))                          # HTTPS with that certificate (PEM files)

Runs in a thread of the test process, so tests steer it directly. Counts every JWKS and token
request (`jwks_hits`, `token_hits`); client-credentials requests are checked against `clients`.
Each wait is bounded (the server socket has a timeout; `delay_s` is capped at 10 s).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n: int) -> str:
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Key:
    """A signing key and its public JWK."""

    def __init__(self, kid: str, kind: str = "RSA"):
        self.kid, self.kind = kid, kind
        if kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pub = self.private.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": _uint(pub.n), "e": _uint(pub.e)}
            self.alg = "RS256"
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            pub = self.private.public_key().public_numbers()
            self.jwk = {"kty": "EC", "kid": kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                        "x": b64u(pub.x.to_bytes(32, "big")), "y": b64u(pub.y.to_bytes(32, "big"))}
            self.alg = "ES256"

    def sign(self, signing_input: bytes) -> bytes:
        if self.kind == "RSA":
            return self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jwt(header: dict, claims: dict, key: Key | None) -> str:
    """A compact JWS; `key` None gives an empty signature (for alg none / HS tests)."""
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    sig = key.sign(f"{h}.{p}".encode()) if key else b""
    return f"{h}.{p}.{b64u(sig)}"


def hs256(header: dict, claims: dict, secret: bytes) -> str:
    """The classic key-confusion token: HMAC keyed with public material."""
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64u(mac)}"


class AuthService:
    def __init__(self, issuer_path: str = "/realms/signet", max_age: int = 300,
                 tls: tuple | None = None):
        self.issuer_path = issuer_path
        self.tls = tls  # (certificate chain, private key) files: serve HTTPS
        self.tls_failures = 0  # TLS handshakes that did not complete (e.g. the client refused us)
        self.jwks_path = f"{issuer_path}/protocol/openid-connect/certs"
        self.token_path = f"{issuer_path}/protocol/openid-connect/token"
        self.max_age = max_age
        self.keys = [Key("k1")]
        self.extra_jwks: list[dict] = []  # public keys served without being used for signing
        self.mode = "ok"  # ok | garbage | error
        self.cache_control: str | None = None  # the JWKS answer's Cache-Control (else max-age)
        self.token_mode = "ok"  # ok | error
        self.delay_s = 0.0
        self.token_ttl_s = 300
        self.clients: dict[str, str] = {}
        self.default_claims: dict = {}
        self.jwks_hits = 0
        self.token_hits = 0
        self.token_requests: list[dict] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conns: set = set()  # open client connections (closed by stop())
        self._serial = 0
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()

    # --- keys and tokens --------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return f"http://auth.signet.test{self.issuer_path}"

    @property
    def key(self) -> Key:
        return self.keys[-1]

    def jwks(self) -> dict:
        return {"keys": [k.jwk for k in self.keys] + self.extra_jwks}

    def rotate(self, kind: str = "RSA") -> Key:
        """A new key in (used for signing from now on); the previous ones removed."""
        new = Key(f"k{len(self.keys) + 1}-{int(time.time() * 1000) % 100000}", kind)
        self.keys = [new]
        return new

    def token(self, claims: dict | None = None, *, key: Key | None = None, header: dict | None = None,
              ttl_s: int | None = None) -> str:
        """A signed token: default claims (iss, iat, exp, jti) overridden by `claims`."""
        now = int(time.time())
        with self._lock:
            self._serial += 1
            serial = self._serial
        body = {"iss": self.issuer, "iat": now, "exp": now + (ttl_s or self.token_ttl_s), "jti": f"t-{serial}",
                **self.default_claims, **(claims or {})}
        body = {k: v for k, v in body.items() if v is not None}
        k = key or self.key
        h = header or {"alg": k.alg, "typ": "JWT", "kid": k.kid}
        return jwt(h, body, k)

    # --- server -----------------------------------------------------------------------------

    def start(self) -> "AuthService":
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                super().setup()
                with svc._lock:
                    svc._conns.add(self.connection)

            def finish(self):
                with svc._lock:
                    svc._conns.discard(self.connection)
                super().finish()

            def _send(self, status: int, body: bytes, headers: dict | None = None):
                self.send_response(status)
                for n, v in (headers or {}).items():
                    self.send_header(n, v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _delay(self):
                if svc.delay_s:
                    time.sleep(min(svc.delay_s, 10.0))

            def do_GET(self):
                if self.path != svc.jwks_path:
                    return self._send(404, b"not found")
                with svc._lock:
                    svc.jwks_hits += 1
                self._delay()
                if svc.mode == "garbage":
                    return self._send(200, b"<html>oops</html>", {"content-type": "text/html",
                                                                  "cache-control": f"max-age={svc.max_age}"})
                if svc.mode == "error":
                    return self._send(500, b"{}", {"content-type": "application/json"})
                # send_header writes Latin-1: "\xff" in cache_control is the byte 0xff (obs-text).
                cc = svc.cache_control or f"max-age={svc.max_age}"
                self._send(200, json.dumps(svc.jwks()).encode(),
                           {"content-type": "application/json", "cache-control": cc})

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path != svc.token_path:
                    return self._send(404, b"not found")
                form = dict(urllib.parse.parse_qsl(raw.decode()))
                with svc._lock:
                    svc.token_hits += 1
                    svc.token_requests.append({"form": form, "content_type": self.headers.get("content-type")})
                self._delay()
                if svc.token_mode == "error":
                    return self._send(503, b'{"error":"temporarily_unavailable"}', {"content-type": "application/json"})
                cid, secret = form.get("client_id"), form.get("client_secret")
                if form.get("grant_type") != "client_credentials" or svc.clients.get(cid) != secret:
                    return self._send(401, b'{"error":"invalid_client"}', {"content-type": "application/json"})
                tok = svc.token({"azp": cid, "client_id": cid, "sub": cid}, ttl_s=svc.token_ttl_s)
                body = {"access_token": tok, "token_type": "Bearer", "expires_in": svc.token_ttl_s}
                self._send(200, json.dumps(body).encode(), {"content-type": "application/json"})

        class Server(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request, client_address):  # a refused handshake: count it
                with svc._lock:
                    svc.tls_failures += 1

        self._server = Server(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            # The handshake runs in the handler thread (first read), never in the accept loop.
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: no new connection is accepted and the open ones (a client's keep-alive pool)
        are shut, so no request is served after this."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._lock:
                conns = list(self._conns)
            for conn in conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def cluster(self, name: str = "auth", *, ca=None, san: str | None = None) -> dict:
        """The render parameter entry for this service's Envoy cluster (with ca and san: over
        TLS, the server verified against that CA and SAN)."""
        entry = {"name": name, "host": "127.0.0.1", "port": self.port}
        if ca is not None or san is not None:
            entry["tls"] = {k: v for k, v in (("ca", str(ca) if ca else None), ("san", san)) if v}
        return entry
