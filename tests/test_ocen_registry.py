"""jws_verify's `ocen` profile with its `registry`, through a real Envoy: the caller's key comes
from a (fake, local) OCEN registry — `GET {url}/participant-roles/{id}` answering a
`ParticipantRole` of iSPIRT/OCEN-Documentation apis/ocen-registry.json, `publicKey` a JWK in a
string — fetched by callout with the gateway's own bearer token, cached, served stale while the
registry is down, and 503 `keys_unavailable` when nothing usable was ever fetched."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from authsvc import AuthService
from harness import https_request
from test_token_check import provider, wait_for

SAN_A = "dfsp-a.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}
TOKEN_ENV = "SIGNET_REGISTRY_TOKEN"
GATEWAY_TOKEN = "gw-token-0123456789"
PATH = "/v4.0.0alpha/loanApplications/createLoanRequest"
BODY = b'{"metadata":{"version":"4.0.0","originatorParticipantId":"dfsp-a","requestId":"r-1"},"loanApplications":[]}'


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_from_pem(path) -> dict:
    pub = serialization.load_pem_public_key(path.read_bytes()).public_numbers()
    n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
    e = pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big")
    return {"kty": "RSA", "n": b64u(n), "e": b64u(e)}


def messy(jwk: dict) -> str:
    """The JWK as the registry stores it: a string, pretty-printed and wrapped."""
    text = json.dumps(jwk, indent=4)
    return "\r\n".join(text[i:i + 40] for i in range(0, len(text), 40))


def ocen_signature(key_path, body: bytes) -> str:
    """A jose4j-style OCEN detached JWS: b64:false, kid null, over H.body."""
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    h = b64u(b'{"alg":"RS256","kid":null,"b64":false}')
    sig = key.sign(h.encode() + b"." + body, padding.PKCS1v15(), hashes.SHA256())
    return f"{h}..{b64u(sig)}"


class FakeRegistry:
    """Serves /service/participant-roles/{id} from `roles`; records each request's headers."""

    def __init__(self):
        self.roles: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []
        self.delay_s = 0.0  # before each answer (capped at 5 s)
        self.port = 0
        self._server = None
        self._thread = None

    def start(self) -> "FakeRegistry":
        reg = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                reg.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                if reg.delay_s:
                    time.sleep(min(reg.delay_s, 5.0))
                prefix = "/service/participant-roles/"
                role = reg.roles.get(self.path[len(prefix):]) if self.path.startswith(prefix) else None
                body, status = (json.dumps(role).encode(), 200) if role else (b'{"error":"not found"}', 404)
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def hits(self, participant: str) -> int:
        return sum(1 for p, _ in self.requests if p.endswith(f"/participant-roles/{participant}"))


def role(jwk: dict, status: str = "APPROVED", approved: bool = True) -> dict:
    return {"id": 42, "participantRole": "LOAN_AGENT", "approvedBy": "ocen-admin",
            "isApproved": approved, "participantRoleStatus": status, "publicKey": messy(jwk)}


def reason(out) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get("x-signet-reason")


def test_registry_keys_through_envoy(pki, gateway_factory):
    auth = AuthService().start()
    registry = FakeRegistry().start()
    jwk_a = jwk_from_pem(pki.root / "dfsp-a" / "jws" / "rsa.pub")
    registry.roles["dfsp-a"] = role(jwk_a)
    registry.roles["LA-review"] = role(jwk_a, "UNDER_REVIEW", False)
    try:
        # token_check verifies the bearer token and hands its claims (participantId) to
        # jws_verify; the partner it binds comes from the certificate (its own partner list
        # does not hold the registry's participants).
        prov = provider(auth, required_scopes=[], audiences=[])
        prov.pop("claim_to_partner")
        token_check = {
            "providers": [prov],
            "partners": [{"id": "dfsp-a", "tls_names": [SAN_A]}],
            "error_format": "ocen",
        }
        verify = {
            "profile": {"ocen": {"registry": {
                "url": "http://registry.ocen.test/service",
                "cluster": "registry",
                "ttl": "2s",
                "stale": "1m",
                "timeout": "1s",
                "token_env": TOKEN_ENV}}},
            # A static entry still works beside the registry.
            "partners": [{"id": "static-1", "registry_status": "APPROVED",
                          "keys": [{"public_key_pem": (pki.root / "dfsp-b" / "jws" / "rsa.pub").read_text()}]}],
        }
        filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check},
                   {"root_id": "jws_verify", "host_env_keys": [TOKEN_ENV], "configuration": verify}]
        gw = gateway_factory(filters=filters, env={TOKEN_ENV: GATEWAY_TOKEN}, params={
            "clusters": [auth.cluster(), {"name": "registry", "host": "127.0.0.1", "port": registry.port}]})
        cert, key = pki.client("dfsp-a")

        def send(participant: str, signer="dfsp-a"):
            headers = [("content-type", "application/json"),
                       ("authorization", f"Bearer {auth.token({'participantId': participant})}"),
                       ("x-jws-signature", ocen_signature(pki.root / signer / "jws" / "rsa.key", BODY))]
            return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, method="POST",
                                 path=PATH, headers=headers, body=BODY)

        # token_check's JWKS arrives by callout shortly after start (503 until then).
        assert wait_for(lambda: send("dfsp-a").status != 503 or registry.hits("dfsp-a") > 0)

        # 1. Signed by dfsp-a, key only in the registry: fetched (with our bearer token), accepted.
        hits = gw.upstream.hits()
        out = send("dfsp-a")
        assert (out.status, reason(out)) == (200, None), (out.status, reason(out), out.body)
        assert gw.upstream.hits() == hits + 1
        path, headers = next(r for r in registry.requests if r[0].endswith("/dfsp-a"))
        assert path == "/service/participant-roles/dfsp-a"
        assert headers.get("authorization") == f"Bearer {GATEWAY_TOKEN}"
        assert headers.get("host") == "registry.ocen.test"
        # Cached: the next request does not go to the registry again.
        fetched = registry.hits("dfsp-a")
        assert send("dfsp-a").status == 200
        assert registry.hits("dfsp-a") == fetched
        # A registry participant has its own partner label once it is verified (docs/stats.md).
        verified = gw.decisions("jws_verify", "ok", "dfsp-a", "ocen")
        assert verified >= 2
        assert [v for n, l, v in gw.prometheus() if n == "signet_decisions" and l == {
            "signet_filter": "jws_verify", "signet_profile": "ocen", "signet_partner": "dfsp-a",
            "signet_reason": "ok"}] == [verified]

        # 2. A participant that is not approved: key_unknown (400 in Spring's shape).
        hits = gw.upstream.hits()
        out = send("LA-review")
        assert (out.status, reason(out)) == (400, "key_unknown"), (out.status, reason(out), out.body)
        assert out.json()["error"] == "Bad Request"
        # Not in the registry at all (404): key_unknown too.
        out = send("LA-nobody")
        assert (out.status, reason(out)) == (400, "key_unknown"), (out.status, reason(out), out.body)
        assert gw.upstream.hits() == hits
        # Refused participants make no series of their own (the name may be anyone's).
        assert gw.decisions("jws_verify", "key_unknown") >= 2
        assert not [k for k in gw.stats(".decisions.partner.LA-")], gw.stats("decisions")

        # 3. The static partner needs no registry.
        before = len(registry.requests)
        out = send("static-1", signer="dfsp-b")
        # token_check binds dfsp-a (the certificate) as the peer, so the static partner is a
        # peer mismatch — what matters here is that it was judged without a registry fetch.
        assert (out.status, reason(out)) == (403, "peer_mismatch"), (out.status, reason(out))
        assert not any(p.endswith("/static-1") for p, _ in registry.requests[before:])

        # 4. Registry down: dfsp-a's entry (expired after 2 s) is served stale; a participant
        # never fetched gets 503 keys_unavailable (fail closed).
        registry.stop()
        time.sleep(2.5)
        hits = gw.upstream.hits()
        out = send("dfsp-a")
        assert (out.status, reason(out)) == (200, None), (out.status, reason(out), out.body)
        registry.roles["LA-new"] = role(jwk_a)
        out = send("LA-new")
        assert (out.status, reason(out)) == (503, "keys_unavailable"), (out.status, reason(out), out.body)
        assert out.json()["error"] == "Service Unavailable"
        assert gw.upstream.hits() == hits + 1
        assert gw.counter("wasmcustom.signet.jws_verify.registry.fetch_ok") >= 1
        assert gw.counter("wasmcustom.signet.jws_verify.registry.fetch_failed") >= 1
    finally:
        registry.stop()
        auth.stop()


def test_registry_settings_are_validated(pki, tmp_path):
    from signet_cli import CLI
    import subprocess

    cases = [
        ({"url": "http://r/registry", "cluster": "r"}, "profile.ocen.registry.url"),
        ({"url": "http://r/service"}, "profile.ocen.registry: missing field `cluster`"),
        ({"ttl_s": 5}, "profile.ocen.registry: missing field `url`"),
        ({"url": "http://r/service", "cluster": "r", "timeout_ms": 0},
         "profile.ocen.registry.timeout: must be between 1ms and 60s"),
        ({"url": "http://r/service", "cluster": "r", "ttl": "5"},
         "profile.ocen.registry.ttl: \"5\" is not a duration"),
    ]
    for registry, expect in cases:
        cfg = tmp_path / "c.json"
        cfg.write_text(json.dumps({"profile": {"ocen": {"registry": registry}}}))
        msg = tmp_path / "m.http"
        msg.write_bytes(b"POST / HTTP/1.1\r\n\r\n{}")
        out = subprocess.run([str(CLI), "verify", "--config", str(cfg), str(msg)],
                             capture_output=True, timeout=30, check=False)
        text = out.stdout.decode() + out.stderr.decode()
        assert out.returncode != 0 and expect in text, (extra, text)
