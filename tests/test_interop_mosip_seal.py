"""MOSIP partner-side encryption against MOSIP's own client, `mosip-auth-sdk` 0.5.4
(`CryptoUtility`, driven by tests/interop/mosip_crypto.py), both ways, through the `signet
mosip seal|open` CLI (the core the egress filter runs), then the `mosip_seal` filter in Envoy
(also on a message ending on trailers) and the two-gateway journey with a stand-in IDA:

- what Signet seals, the SDK configured with IDA's key opens to the same request, and the
  `requestHMAC` to the upper-case hex SHA-256 of it; the thumbprint is the SDK's own;
- what the SDK seals to the partner's certificate (the layout IDA answers e-KYC with), Signet
  opens with the partner's key;
- tampered ciphertext, a wrong tag, a wrong thumbprint, a wrong key: each refused, with its
  reason code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from harness import REPO, run, start_gateway
from signet_cli import CLI

INTEROP = REPO / "tests" / "interop"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    """RSA-2048 encryption pairs for IDA, the partner and a stranger (self-signed, as PMS
    certificates may be)."""
    d = tmp_path_factory.mktemp("mosip-enc")
    for who in ("ida", "partner", "stranger"):
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{who}.key"),
             "-out", str(d / f"{who}.crt"), "-subj", f"/CN={who} encryption", "-days", "30"], timeout=60)
    return d


@pytest.fixture(scope="module")
def sdk():
    subprocess.run([str(INTEROP / "install"), "mosip"], check=True, timeout=280)

    def call(job: dict, ok: bool = True) -> dict:
        out = subprocess.run([str(INTEROP / ".venv/bin/python"), str(INTEROP / "mosip_crypto.py")],
                             input=json.dumps(job).encode(), capture_output=True, timeout=60, check=False)
        assert (out.returncode == 0) == ok, out.stderr.decode()[-3000:]
        return json.loads(out.stdout) if ok else {}

    return call


def signet(keys: Path, op: str, body: bytes, partner_key: str = "partner") -> tuple[int, bytes, str]:
    """`signet mosip <op>` with IDA's certificate and the partner's pair; (exit, stdout, stderr)."""
    cfg = keys / f"settings-{partner_key}.json"
    cfg.write_text(json.dumps({
        "ida_encryption_certificate": (keys / "ida.crt").read_text(),
        "partner_encryption_certificate": (keys / f"{partner_key}.crt").read_text(),
        "partner_encryption_key_env": "SIGNET_TEST_ENC_KEY"}))
    (keys / "body.json").write_bytes(body)
    env = {**os.environ, "SIGNET_TEST_ENC_KEY": (keys / f"{partner_key}.key").read_text()}
    out = subprocess.run([str(CLI), "mosip", op, "--config", str(cfg), str(keys / "body.json")],
                         capture_output=True, timeout=30, env=env, check=False)
    return out.returncode, out.stdout, out.stderr.decode()


def cert_sha256(cert: Path) -> str:
    out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").upper()


# The SDK's own request shape (MOSIPAuthRequest), `request` in clear (MOSIPEncryptAuthRequest).
CLEAR_REQUEST = {"biometrics": [], "demographics": {"dob": "1990/01/01", "name": [{"language": "eng", "value": "Asha Rao"}]},
                 "otp": "", "timestamp": "2026-12-04T10:00:00.000Z"}
ENVELOPE = {"id": "mosip.identity.kyc", "version": "1.0", "individualId": "2345678901", "individualIdType": "UIN",
            "transactionID": "1234567890", "requestTime": "2026-12-04T10:00:00.000Z", "specVersion": "1.0",
            "thumbprint": "", "domainUri": "https://ida.example", "env": "Staging",
            "requestedAuth": {"demo": True, "pin": False, "otp": False, "bio": False}, "consentObtained": True,
            "requestHMAC": "", "requestSessionKey": "", "request": CLEAR_REQUEST, "metadata": {}}


def test_signet_seals_what_the_sdk_opens_with_idas_key(keys, sdk):
    body = json.dumps(ENVELOPE, separators=(",", ":")).encode()
    rc, out, err = signet(keys, "seal", body)
    assert rc == 0, err
    sealed = json.loads(out)
    clear = json.dumps(CLEAR_REQUEST, separators=(",", ":"))
    assert clear.encode() in body
    opened = sdk({"op": "open", "cert_pem": (keys / "ida.crt").read_text(), "key_pem": (keys / "ida.key").read_text(),
                  "session_key": sealed["requestSessionKey"], "data": sealed["request"], "hmac": sealed["requestHMAC"]})
    assert opened["clear"] == CLEAR_REQUEST
    assert opened["hmac"] == hashlib.sha256(clear.encode()).hexdigest().upper()
    # The thumbprint is the one the SDK writes for the same certificate.
    mine = sdk({"op": "seal", "cert_pem": (keys / "ida.crt").read_text(), "key_pem": (keys / "ida.key").read_text(),
                "plain": "{}"})
    assert sealed["thumbprint"] == mine["thumbprint"]
    # Everything else is the application's, in its order.
    assert list(sealed) == list(ENVELOPE)
    assert {k: v for k, v in sealed.items() if k not in ("request", "requestHMAC", "requestSessionKey", "thumbprint")} \
        == {k: v for k, v in ENVELOPE.items() if k not in ("request", "requestHMAC", "requestSessionKey", "thumbprint")}
    # Control: a key that is not IDA's cannot open it (the SDK refuses, so the check above can fail).
    sdk({"op": "open", "cert_pem": (keys / "stranger.crt").read_text(), "key_pem": (keys / "stranger.key").read_text(),
         "session_key": sealed["requestSessionKey"], "data": sealed["request"]}, ok=False)


def test_signet_refuses_a_request_it_cannot_seal(keys):
    for body in (b'{"id":"x"}', b'{"request":"already-encrypted"}', b'{"request":{}, "request":{}}'):
        rc, out, err = signet(keys, "seal", body)
        assert (rc, out.decode().strip()) == (1, "body_malformed"), err


IDENTITY = {"name": [{"language": "eng", "value": "Asha Rao"}], "dob": "1990/01/01", "phoneNumber": "9876543210",
            "face": "iVBORw0KGgo" * 20}


def kyc_answer(sdk, keys: Path, to: str = "partner", thumbprint_of: str = "partner") -> dict:
    """An e-KYC answer as IDA writes it: the identity sealed by the SDK to `to`'s certificate,
    `thumbprint` upper-case hex SHA-256 of `thumbprint_of`'s (IdAuthSecurityManager.encryptData)."""
    sealed = sdk({"op": "seal", "cert_pem": (keys / f"{to}.crt").read_text(), "key_pem": (keys / f"{to}.key").read_text(),
                  "plain": json.dumps(IDENTITY)})
    return {"id": "mosip.identity.kyc", "version": "1.0", "responseTime": "2026-12-04T10:00:01.000Z",
            "transactionID": "1234567890",
            "response": {"kycStatus": True, "authToken": "token-1", "thumbprint": cert_sha256(keys / f"{thumbprint_of}.crt"),
                         "identity": sealed["request"], "sessionKey": sealed["requestSessionKey"]},
            "errors": None}


def test_signet_opens_what_the_sdk_sealed_for_the_partner(keys, sdk):
    answer = kyc_answer(sdk, keys)
    rc, out, err = signet(keys, "open", json.dumps(answer).encode())
    assert rc == 0, err
    opened = json.loads(out)
    assert opened["response"] == {"kycStatus": True, "authToken": "token-1", "identity": IDENTITY}
    assert {k: v for k, v in opened.items() if k != "response"} == {k: v for k, v in answer.items() if k != "response"}
    # The SDK's own decryption agrees (same answer, same key).
    r = answer["response"]
    assert sdk({"op": "open", "cert_pem": (keys / "partner.crt").read_text(), "key_pem": (keys / "partner.key").read_text(),
                "session_key": r["sessionKey"], "data": r["identity"]})["clear"] == IDENTITY


def flip(s: str, at: int) -> str:
    return s[:at] + ("B" if s[at] == "A" else "A") + s[at + 1:]


@pytest.mark.parametrize("case,reason", [
    ("tampered ciphertext", "decrypt_failed"),
    ("wrong tag", "decrypt_failed"),
    ("wrong thumbprint", "cert_not_registered"),
    ("wrong key", "decrypt_failed"),
    ("not the partner's key", "cert_not_registered"),
])
def test_signet_refuses_what_it_must_not_open(keys, sdk, case, reason):
    if case == "wrong key":
        # Sealed to a stranger's key but naming the partner's certificate.
        answer = kyc_answer(sdk, keys, to="stranger", thumbprint_of="partner")
    elif case == "not the partner's key":
        # Sealed to the stranger and saying so: not for this partner.
        answer = kyc_answer(sdk, keys, to="stranger", thumbprint_of="stranger")
    else:
        answer = kyc_answer(sdk, keys)
        r = answer["response"]
        identity = r["identity"].rstrip("=")
        if case == "tampered ciphertext":
            r["identity"] = flip(identity, 8)
        elif case == "wrong tag":
            # ciphertext ‖ tag (16) ‖ nonce (16): a character inside the tag.
            r["identity"] = flip(identity, len(identity) - 28)
        elif case == "wrong thumbprint":
            r["thumbprint"] = cert_sha256(keys / "ida.crt")
    rc, out, err = signet(keys, "open", json.dumps(answer).encode())
    assert (rc, out.decode().strip()) == (1, reason), err
    assert "Asha" not in out.decode() + err


def test_answers_without_identity_pass_unchanged(keys):
    for answer in ({"id": "mosip.identity.kyc", "response": {"kycStatus": False, "authToken": None},
                    "errors": [{"errorCode": "IDA-MLC-007", "errorMessage": "Request could not be processed"}]},
                   {"response": None, "errors": []}):
        body = json.dumps(answer).encode()
        rc, out, err = signet(keys, "open", body)
        assert (rc, out) == (0, body), err


# --- through Envoy: the mosip_seal filter in the partner's egress ----------------------------------


class StandInIda:
    """A stand-in IDA behind the gateway: records what it receives and answers the e-KYC
    answer the test set (the SDK's sealing of IDENTITY to the partner's certificate)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        ida = self
        self.received: list[bytes] = []
        self.answer = b"{}"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                ida.received.append(self.body())
                answer = ida.respond(ida.received[-1])
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def body(self) -> bytes:
                if "chunked" not in self.headers.get("transfer-encoding", "").lower():
                    return self.rfile.read(int(self.headers.get("content-length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, body: bytes) -> bytes:
        return self.answer


@pytest.fixture(scope="module")
def egress(keys, pki, tmp_path_factory):
    ida = StandInIda()
    seal = {"root_id": "mosip_seal", "configuration": {
        "ida_encryption_certificate": (keys / "ida.crt").read_text(),
        "partner_encryption_certificate": (keys / "partner.crt").read_text(),
        "partner_encryption_key_env": "SIGNET_TEST_ENC_KEY"}}
    with start_gateway(tmp_path_factory.mktemp("mosip-seal-gw"), pki, filters=[seal], with_upstream=False,
                       params={"upstream_port": ida.port},
                       env={"SIGNET_TEST_ENC_KEY": (keys / "partner.key").read_text()}) as gw:
        yield gw, ida
    ida.server.shutdown()


def test_envoy_seals_the_request_and_opens_the_answer(egress, keys, sdk, pki):
    from test_jws_verify import reason, send

    gw, ida = egress
    ida.answer = json.dumps(kyc_answer(sdk, keys)).encode()
    body = json.dumps(ENVELOPE, separators=(",", ":")).encode()
    out = send(gw, pki, ("POST", "/idauthentication/v1/kyc/misp1/dfsp-a/ak1",
                         [("content-type", "application/json")], body))
    assert out.status == 200, (out.status, out.body, reason(out))
    # The application gets the identity in clear.
    assert out.json()["response"] == {"kycStatus": True, "authToken": "token-1", "identity": IDENTITY}
    # IDA got the sealed envelope, which the SDK with IDA's key opens to the clear request.
    sealed = json.loads(ida.received[-1])
    assert "Asha" not in ida.received[-1].decode()
    opened = sdk({"op": "open", "cert_pem": (keys / "ida.crt").read_text(), "key_pem": (keys / "ida.key").read_text(),
                  "session_key": sealed["requestSessionKey"], "data": sealed["request"], "hmac": sealed["requestHMAC"]})
    assert opened["clear"] == CLEAR_REQUEST
    assert "sealing requests to IDA certificate" in gw.log()


def test_envoy_refuses_what_it_cannot_seal_or_open(egress, keys, sdk, pki):
    from test_jws_verify import reason, send

    gw, ida = egress
    n = len(ida.received)
    out = send(gw, pki, ("POST", "/idauthentication/v1/kyc/misp1/dfsp-a/ak1",
                         [("content-type", "application/json")], b'{"request":"c2VhbGVk"}'))
    # Refused as IDA refuses a request it cannot read: its envelope, HTTP 200.
    assert (out.status, reason(out)) == (200, "body_malformed")
    assert out.json()["errors"][0]["errorCode"] == "IDA-MLC-009"
    assert out.json()["response"] == {"kycStatus": False}
    assert len(ida.received) == n, "a request Signet did not seal never leaves"
    answer = kyc_answer(sdk, keys)
    answer["response"]["identity"] = flip(answer["response"]["identity"], 8)
    ida.answer = json.dumps(answer).encode()
    body = json.dumps(ENVELOPE, separators=(",", ":")).encode()
    out = send(gw, pki, ("POST", "/idauthentication/v1/kyc/misp1/dfsp-a/ak1",
                         [("content-type", "application/json")], body))
    assert (out.status, reason(out)) == (502, "decrypt_failed")


@pytest.mark.parametrize("transport", ["h1", "h2-alpn"])
def test_envoy_seals_a_request_that_ends_on_trailers(egress, keys, sdk, pki, transport):
    """The message ends on trailers, not on its last body chunk: the held body is sealed there,
    never released as it came (in clear)."""
    import sys
    sys.path.insert(0, str(REPO / "tests" / "adversarial"))
    from adv_wire import send as send_wire

    gw, ida = egress
    ida.answer = b'{"response":{"authStatus":true}}'
    body = json.dumps(ENVELOPE, separators=(",", ":")).encode()
    n = len(ida.received)
    out = send_wire(transport, gw.port, pki, "POST", "/idauthentication/v1/auth/misp1/dfsp-a/ak1",
                    [("content-type", "application/json")], frames=[body[:100], body[100:]],
                    trailers=[("x-note", "after-the-body")])
    assert out.status == 200, out
    assert len(ida.received) == n + 1
    assert b"Asha" not in ida.received[-1]
    sealed = json.loads(ida.received[-1])
    opened = sdk({"op": "open", "cert_pem": (keys / "ida.crt").read_text(), "key_pem": (keys / "ida.key").read_text(),
                  "session_key": sealed["requestSessionKey"], "data": sealed["request"]})
    assert opened["clear"] == CLEAR_REQUEST


# --- the two-gateway journey with encryption -------------------------------------------------------


class SdkIda(StandInIda):
    """A stand-in IDA behind the platform gateway that does what IDA does, with MOSIP's own
    `CryptoUtility`: opens the request with its key, checks `requestHMAC`, and answers an e-KYC
    whose identity is sealed to the partner's certificate (thumbprint: its upper-case hex SHA-256)."""

    def __init__(self, sdk, keys: Path):
        super().__init__()
        self.sdk, self.keys, self.opened = sdk, keys, []

    def respond(self, body: bytes) -> bytes:
        k = self.keys
        req = json.loads(body)
        opened = self.sdk({"op": "open", "cert_pem": (k / "ida.crt").read_text(), "key_pem": (k / "ida.key").read_text(),
                           "session_key": req["requestSessionKey"], "data": req["request"], "hmac": req["requestHMAC"]})
        self.opened.append(opened)
        identity = self.sdk({"op": "seal", "cert_pem": (k / "partner.crt").read_text(),
                             "key_pem": (k / "partner.key").read_text(), "plain": json.dumps(IDENTITY)})
        return json.dumps({"id": req["id"], "version": "1.0", "responseTime": req["requestTime"],
                           "transactionID": req["transactionID"],
                           "response": {"kycStatus": True, "authToken": "token-1",
                                        "thumbprint": cert_sha256(k / "partner.crt"),
                                        "identity": identity["request"], "sessionKey": identity["requestSessionKey"]},
                           "errors": None}).encode()


def test_two_gateway_mosip_journey_with_encryption(keys, sdk, pki, tmp_path_factory):
    """partner app → egress (mosip_seal, jws_sign) → mTLS → platform (jws_verify) → IDA (opens
    with its key, answers an encrypted e-KYC) → platform (jws_sign) → egress (jws_verify,
    mosip_seal opens) → app: the request leaves sealed and signed, the identity arrives in clear."""
    from datetime import datetime, timezone

    from test_two_gateways import AUTH_PATH, GATEWAY, PLATFORM_SIGNING, ida_pin, key_env, mosip_filters
    from jws_check import http_request

    ida = SdkIda(sdk, keys)
    seal = {"root_id": "mosip_seal", "configuration": {
        "ida_encryption_certificate": (keys / "ida.crt").read_text(),
        "partner_encryption_certificate": (keys / "partner.crt").read_text(),
        "partner_encryption_key_env": "SIGNET_TEST_ENC_KEY"}}
    egress_filters = [
        GATEWAY, seal,
        {"root_id": "jws_verify", "configuration": {
            "profile": {"mosip": {"ida_certificate_sha256": ida_pin(pki)}}, "direction": "response"}},
        {"root_id": "jws_sign", "configuration": {
            "profile": {"mosip": {"signing_certificate": "@pki:dfsp-a/signing/signing.crt"}},
            "signing_key_env": "SIGNET_EGRESS_SIGNING_KEY"}}]
    egress_env = {"SIGNET_TEST_ENC_KEY": (keys / "partner.key").read_text(),
                  **key_env(pki, {"SIGNET_EGRESS_SIGNING_KEY": "dfsp-a/signing/signing.key"})}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    envelope = {**ENVELOPE, "id": "mosip.identity.auth", "requestTime": now}
    body = json.dumps(envelope, separators=(",", ":")).encode()
    with contextlib.ExitStack() as stack:
        platform = stack.enter_context(start_gateway(
            tmp_path_factory.mktemp("platform"), pki, filters=mosip_filters("all"),
            env=key_env(pki, PLATFORM_SIGNING), with_upstream=False, params={"upstream_port": ida.port}))
        egress = stack.enter_context(start_gateway(
            tmp_path_factory.mktemp("egress"), pki, filters=egress_filters, template="egress.yaml",
            listener="egress", env=egress_env, with_upstream=False,
            params={"platform_host": "127.0.0.1", "platform_port": platform.port,
                    "platform_sni": "localhost", "partner": "dfsp-a"}))
        out = http_request(egress.port, "POST", AUTH_PATH,
                           [("authorization", "Bearer t"), ("content-type", "application/json")], body)
        assert out.status == 200, (out.status, out.header("x-signet-reason"), out.body)
        assert out.json()["response"] == {"kycStatus": True, "authToken": "token-1", "identity": IDENTITY}
        # IDA received a signed, sealed request and opened it to the application's request.
        assert ida.opened[-1]["clear"] == CLEAR_REQUEST
        assert ida.opened[-1]["hmac"] == hashlib.sha256(json.dumps(CLEAR_REQUEST, separators=(",", ":")).encode()).hexdigest().upper()
        assert b"Asha" not in ida.received[-1]
    ida.server.shutdown()
