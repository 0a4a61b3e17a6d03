"""The shipped MOSIP pair (envoy/examples/mosip/) through two real Envoys and a stand-in IDA:

    partner app ─HTTP─▶ partner egress: mosip_seal (request to IDA's key) + jws_sign (x5c)
        ─mTLS─▶ IDA gateway: jws_verify (certificate pinned, API key, licence key) ─▶ IDA
    app ◀─ egress: jws_verify (IDA's pinned certificate) + mosip_seal (opens the identity)
        ◀─ IDA gateway: jws_sign (response-signature, errors too) ◀─┘

The stand-in IDA opens what it receives and seals its e-KYC answer with Python `cryptography`
(not Signet's code); signatures are checked the same way; refusals are counted at the IDA.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509 import load_pem_x509_certificate

from examples import EXAMPLES, start_example
from harness import Pki, https_request
from jws_check import http_request, protected, split, verify_independently
from signet_cli import sign
from test_two_gateways import header

MOSIP = EXAMPLES / "mosip"
PKI = Pki(MOSIP / "pki")
# The demo API and licence keys whose SHA-256 the IDA params register.
API_KEY_A, API_KEY_B, LICENCE_KEY = "491273", "582364", "misp-1-demo-licence-key"
KYC = f"/idauthentication/v1/kyc/{LICENCE_KEY}/partner-a/{API_KEY_A}"
AUTH = f"/idauthentication/v1/auth/{LICENCE_KEY}/partner-a/{API_KEY_A}"
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
CLEAR_REQUEST = {"otp": "", "timestamp": "2026-12-04T10:00:00.000Z",
                 "demographics": {"name": [{"language": "eng", "value": "Asha Rao"}]}}
IDENTITY = {"name": [{"language": "eng", "value": "Asha Rao"}], "dob": "1990/01/01"}


def cert(rel: str):
    return load_pem_x509_certificate((PKI.root / rel).read_bytes())


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def der_sha256(c) -> bytes:
    return hashlib.sha256(c.public_bytes(serialization.Encoding.DER)).digest()


class StandInIda:
    """IDA behind the gateway: opens each sealed request with IDA's key (AES key under
    RSA-OAEP-SHA256, AES-GCM `ciphertext ‖ tag ‖ 16-byte nonce`), and answers an e-KYC with the
    identity sealed to partner-a's encryption certificate, an auth with its status."""

    def __init__(self):
        self.received: list[tuple[str, dict, bytes]] = []
        self.opened: list[tuple[bytes, bytes]] = []
        ida = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                ida.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                answer = ida.answer(self.path, json.loads(body))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, req: dict) -> bytes:
        key = serialization.load_pem_private_key((PKI.root / "platform/encryption/ida.key").read_bytes(), None)
        aes = AESGCM(key.decrypt(b64d(req["requestSessionKey"]), OAEP))
        open_ = lambda v: aes.decrypt(b64d(v)[-16:], b64d(v)[:-16], None)  # noqa: E731
        self.opened.append((open_(req["request"]), open_(req["requestHMAC"])))
        assert b64d(req["thumbprint"]) == der_sha256(cert("platform/encryption/ida.crt"))
        head = {"id": req["id"], "version": "1.0", "transactionID": req["transactionID"],
                "responseTime": req["requestTime"], "errors": None}
        if "/kyc/" not in path:
            return json.dumps({**head, "response": {"authStatus": True, "authToken": "token-1"}}).encode()
        partner = cert("partner-a/encryption/partner.crt")
        session, nonce = AESGCM.generate_key(256), os.urandom(16)
        identity = AESGCM(session).encrypt(nonce, json.dumps(IDENTITY).encode(), None) + nonce
        return json.dumps({**head, "response": {
            "kycStatus": True, "authToken": "token-1", "thumbprint": der_sha256(partner).hex().upper(),
            "identity": b64e(identity), "sessionKey": b64e(partner.public_key().encrypt(session, OAEP))},
        }).encode()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    ida = StandInIda()
    try:
        with start_example(MOSIP / "ida.params.json", tmp_path_factory.mktemp("ida"),
                           upstream_port=ida.port) as gateway, \
             start_example(MOSIP / "partner.params.json", tmp_path_factory.mktemp("partner"),
                           platform_port=gateway.port) as egress:
            yield ida, gateway, egress
    finally:
        ida.stop()


def envelope(kind: str = "kyc") -> bytes:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return json.dumps({"id": f"mosip.identity.{kind}", "version": "1.0", "individualId": "2345678901",
                       "individualIdType": "UIN", "transactionID": "1234567890", "requestTime": now,
                       "specVersion": "1.0", "thumbprint": "", "requestedAuth": {"demo": True},
                       "consentObtained": True, "requestHMAC": "", "requestSessionKey": "",
                       "request": CLEAR_REQUEST}, separators=(",", ":")).encode()


def send(egress, path, body, authorization=True, request_id=None):
    # MOSIP's SDK sends the literal "Authorization"; IDA only requires the header.
    headers = [("content-type", "application/json")]
    headers += [("authorization", "Authorization")] if authorization else []
    headers += [("x-request-id", request_id)] if request_id else []
    return http_request(egress.port, "POST", path, headers, body)


def ida_signed(out) -> None:
    """The answer carries IDA's response-signature over exactly these bytes."""
    h, s = split(out.header("response-signature"))
    verify_independently(h, s, out.body, (PKI.root / "platform/signing/signing.crt").read_bytes())


def test_ekyc_journey(pair):
    ida, gateway, egress = pair
    out = send(egress, KYC, envelope(), request_id="mosip-kyc-1")
    assert out.status == 200, (out.status, out.body)
    # The app gets the identity in clear; IDA's answer held it sealed to partner-a's key.
    assert out.json()["response"] == {"kycStatus": True, "authToken": "token-1", "identity": IDENTITY}
    path, headers, body = ida.received[-1]
    assert path == KYC and b"Asha" not in body
    clear, digest = ida.opened[-1]
    assert json.loads(clear) == CLEAR_REQUEST
    assert digest.decode() == hashlib.sha256(clear).hexdigest().upper()
    # IDA got partner-a's signature over the sealed bytes, its certificate in x5c.
    h, s = split(headers["signature"])
    x5c = base64.b64decode(protected(h)["x5c"][0])
    assert x5c == cert("partner-a/signing/signing.crt").public_bytes(serialization.Encoding.DER)
    verify_independently(h, s, body, (PKI.root / "partner-a/signing/signing.crt").read_bytes())
    # The audit record is in IDA's access log, without the API or licence key.
    entry = gateway.access_log("mosip-kyc-1")
    assert entry["audit"]["jws_verify"]["partner"] == "partner-a"
    assert entry["audit"]["jws_verify"]["decision"] == "allow"
    assert entry["audit"]["jws_sign"]["decision"] == "allow"
    line = next(line for line in gateway.log().splitlines() if "mosip-kyc-1" in line)
    assert API_KEY_A not in line and LICENCE_KEY not in line


def test_auth_answer_is_signed_by_ida(pair):
    ida, gateway, egress = pair
    out = send(egress, AUTH, envelope("auth"))
    assert out.status == 200 and out.json()["response"]["authStatus"] is True, out.body
    ida_signed(out)


@pytest.mark.parametrize("case,path,authorization,code", [
    ("unknown API key", AUTH.replace(API_KEY_A, "000000"), True, "IDA-MPA-009"),
    ("unknown licence key", AUTH.replace(LICENCE_KEY, "not-a-licence"), True, "IDA-MPA-007"),
    # partner-a's egress (its certificate, its signature) calling as partner-b.
    ("partner-b's path", f"/idauthentication/v1/auth/{LICENCE_KEY}/partner-b/{API_KEY_B}", True,
     "IDA-MLC-007"),
    ("no Authorization", AUTH, False, "IDA-MLC-006"),
])
def test_refusals_through_the_pair_are_signed_errors(pair, case, path, authorization, code):
    """IDA's gateway refuses with IDA's 200 + errors[], signed; the egress verifies it."""
    ida, gateway, egress = pair
    n = len(ida.received)
    out = send(egress, path, envelope("auth"), authorization)
    assert out.status == 200, (out.status, out.body)
    assert out.json()["errors"][0]["errorCode"] == code, out.body
    ida_signed(out)
    assert len(ida.received) == n


def direct(gateway, path, headers, body):
    """A request straight to IDA's gateway over mTLS as partner-a (no egress)."""
    cert_file, key_file = PKI.client("partner-a")
    return https_request(gateway.port, ca=PKI.platform_ca, cert=cert_file, key=key_file,
                         method="POST", path=path, body=body,
                         headers=[(k, v) for k, v in headers.items() if k not in ("content-length", "host")])


@pytest.mark.parametrize("case,reason", [
    ("control", None),
    ("tampered body", "sig_invalid"),
    ("partner-b's certificate and key", "cert_not_registered"),
])
def test_direct_refusals(pair, tmp_path, case, reason):
    """What the egress sent, replayed straight to IDA's gateway: as is (the control), one byte
    of the sealed request changed, or signed by partner-b instead."""
    ida, gateway, egress = pair
    assert send(egress, AUTH, envelope("auth")).status == 200
    path, headers, body = ida.received[-1]
    headers = {k: v for k, v in headers.items() if k not in ("x-request-id", "x-forwarded-proto")}
    if case == "tampered body":
        body = body.replace(b'"request":"', b'"request":"A', 1)
    elif case == "partner-b's certificate and key":
        signed = sign(tmp_path, {"profile": {"mosip": {
                          "signing_certificate": (PKI.root / "partner-b/signing/signing.crt").read_text()}},
                      "signing_key": (PKI.root / "partner-b/signing/signing.key").read_text()},
                      "POST", path, [("content-type", "application/json")], body)
        headers["signature"] = header(signed[2], "signature")
    n = len(ida.received)
    out = direct(gateway, path, headers, body)
    assert out.status == 200, (out.status, out.body)
    assert header(out.headers, "x-signet-reason") == reason
    assert len(ida.received) == n + (1 if case == "control" else 0)
