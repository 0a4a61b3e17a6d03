"""The same checks through the real Envoy for each request-signing profile: a correctly signed
request is forwarded byte for byte; a one-byte change of the body, another partner's key, a
suspended partner and a missing signature are refused in the profile's own format; a body of the
configured maximum passes and one byte more is refused. (OCEN needs a verified token first: its
chain with token_check is in test_ocen_flow.py and test_ocen_registry.py.)"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from harness import start_gateway
from signet_cli import sign
from test_jws_verify import SAN_A, SAN_B, assert_forwarded, assert_refused, pem, send, verify_filter

LIMIT = 2048
MOSIP_PATH = "/idauthentication/v1/auth/mispLK0001/{partner}/apiKey0001"


def padded(doc: dict, size: int) -> bytes:
    """`doc` as compact JSON with a "pad" member sized so the whole body is `size` bytes."""
    doc = dict(doc, pad="")
    base = len(json.dumps(doc, separators=(",", ":")).encode())
    doc["pad"] = "x" * (size - base)
    body = json.dumps(doc, separators=(",", ":")).encode()
    assert len(body) == size
    return body


def now_ms_z() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Profile:
    """How one profile is configured, signed and answers."""

    def __init__(self, name, verify, signer, method_path, body, headers=(), statuses=None, reply=None):
        self.name, self.verify, self.signer = name, verify, signer
        self.method_path, self.body, self.headers = method_path, body, list(headers)
        self.statuses = statuses  # reason -> HTTP status in this profile's format
        self.reply = reply  # (out) -> None, asserts the body is the platform's error format

    def request(self, pki, tmp_path, party="dfsp-a", body=None, key_party=None):
        method, path = self.method_path(party)
        cfg = self.signer(pki, party, key_party or party)
        return sign(tmp_path, cfg, method, path, self.headers, body if body is not None else self.body(party, 512))


def ml_reply(out):
    assert "errorInformation" in out.json()


def ida_reply(out):
    assert out.json()["errors"][0]["errorCode"].startswith("IDA-")


def spar_reply(out):
    assert out.json()["response_header"]["response_status"] == "ERROR"


def generic_reply(out):
    assert set(out.json()) == {"error"}


def keys(pki, party, kind="rsa"):
    return [{"public_key_pem": pem(pki.root / f"{party}/jws/{kind}.pub")}]


PROFILES = {
    "mojaloop": Profile(
        "mojaloop",
        lambda pki: {"profile": "mojaloop", "max_body_bytes": LIMIT, "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "keys": keys(pki, "dfsp-a")},
            {"id": "dfsp-b", "status": "suspended", "tls_names": [SAN_B], "keys": keys(pki, "dfsp-b")}]},
        lambda pki, party, key: {"profile": {"mojaloop": {"source_id": party, "sign_body_form": "as-is"}},
                                 "signing_key": pem(pki.root / f"{key}/jws/rsa.key")},
        lambda party: ("POST", "/transfers"),
        lambda party, size: padded({"amount": {"amount": "100", "currency": "USD"}, "payerFsp": party}, size),
        statuses={"sig_invalid": 400, "partner_inactive": 403, "sig_missing": 400, "body_too_large": 400},
        reply=ml_reply,
    ),
    "mosip": Profile(
        "mosip",
        lambda pki: {"profile": "mosip", "max_body_bytes": LIMIT,
                     "domain_ca": {"AUTH": [pem(pki.root / "platform/partner-domain-ca/ca.crt")]},
                     "misps": [{"id": "misp-1", "license_keys": [{"key": "mispLK0001"}]}],
                     "partners": [
                         {"id": "dfsp-a", "tls_names": [SAN_A], "certificate_pem": pem(pki.root / "dfsp-a/signing/signing.crt"),
                          "api_keys": [{"key": "apiKey0001"}]},
                         {"id": "dfsp-b", "status": "INACTIVE", "tls_names": [SAN_B],
                          "certificate_pem": pem(pki.root / "dfsp-b/signing/signing.crt"),
                          "api_keys": [{"key": "apiKey0001"}]}]},
        lambda pki, party, key: {"profile": {"mosip": {
                                     "signing_certificate": pem(pki.root / f"{key}/signing/signing.crt")}},
                                 "signing_key": pem(pki.root / f"{key}/signing/signing.key")},
        lambda party: ("POST", MOSIP_PATH.format(partner=party)),
        lambda party, size: padded({"id": "mosip.identity.auth", "version": "1.0", "transactionID": "1234567890",
                                    "requestTime": now_ms_z(), "individualId": "2047102734"}, size),
        headers=[("authorization", "partner-token"), ("content-type", "application/json")],
        statuses={"sig_invalid": 200, "cert_not_registered": 200, "partner_inactive": 200, "sig_missing": 200,
                  "body_too_large": 413},
        reply=ida_reply,
    ),
    "spar": Profile(
        "spar",
        lambda pki: {"profile": "spar", "max_body_bytes": LIMIT, "partners": [
            {"id": "dfsp-a", "sender_id": "dfsp-a", "tls_names": [SAN_A], "keys": keys(pki, "dfsp-a")},
            {"id": "dfsp-b", "sender_id": "dfsp-b", "status": "suspended", "tls_names": [SAN_B], "keys": keys(pki, "dfsp-b")}]},
        lambda pki, party, key: {"profile": "spar", "signing_key": pem(pki.root / f"{key}/jws/rsa.key")},
        lambda party: ("POST", "/mapper/resolve"),
        lambda party, size: padded({"request_header": {"request_id": "r-1", "sender_app_mnemonic": party},
                                    "request_body": {"request_payload": {"transaction_id": "t-1"}}}, size),
        statuses={"sig_invalid": 200, "partner_inactive": 200, "sig_missing": 200, "body_too_large": 413},
        reply=spar_reply,
    ),
    "generic": Profile(
        "generic",
        lambda pki: {"profile": "generic", "max_body_bytes": LIMIT, "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "keys": keys(pki, "dfsp-a", "ec")},
            {"id": "dfsp-b", "status": "suspended", "tls_names": [SAN_B], "keys": keys(pki, "dfsp-b", "ec")}]},
        lambda pki, party, key: {"profile": "generic", "signing_key": pem(pki.root / f"{key}/jws/ec.key")},
        lambda party: ("POST", "/api/payments"),
        lambda party, size: padded({"payment": {"amount": "100", "currency": "USD"}, "from": party}, size),
        statuses={"sig_invalid": 401, "partner_inactive": 403, "sig_missing": 401, "body_too_large": 413},
        reply=generic_reply,
    ),
}


@pytest.fixture(scope="module", params=sorted(PROFILES))
def profile_gw(request, pki, tmp_path_factory):
    p = PROFILES[request.param]
    with start_gateway(tmp_path_factory.mktemp(p.name), pki, filters=verify_filter(p.verify(pki))) as gw:
        yield p, gw


def refused(gw, out, p, code, hits):
    assert_refused(gw, out, code, p.statuses[code], hits)
    p.reply(out)


def test_signed_request_is_forwarded_byte_for_byte(profile_gw, pki, tmp_path):
    p, gw = profile_gw
    req = p.request(pki, tmp_path)
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, req), req[3], hits)


def test_one_byte_changed_is_refused(profile_gw, pki, tmp_path):
    p, gw = profile_gw
    method, path, headers, body = p.request(pki, tmp_path)
    changed = body.replace(b'"x', b'"y', 1)
    assert len(changed) == len(body) and changed != body
    refused(gw, send(gw, pki, (method, path, headers, changed)), p, "sig_invalid", gw.upstream.hits())


def test_another_partners_key_is_refused(profile_gw, pki, tmp_path):
    p, gw = profile_gw
    req = p.request(pki, tmp_path, key_party="dfsp-b")
    # MOSIP's key travels in x5c: dfsp-b's own certificate is not dfsp-a's registered one.
    code = "cert_not_registered" if p.name == "mosip" else "sig_invalid"
    refused(gw, send(gw, pki, req), p, code, gw.upstream.hits())


def test_suspended_partner_is_refused(profile_gw, pki, tmp_path):
    p, gw = profile_gw
    req = p.request(pki, tmp_path, party="dfsp-b")
    out = send(gw, pki, req, party="dfsp-b", source_ip="127.0.0.2")
    refused(gw, out, p, "partner_inactive", gw.upstream.hits())


def test_missing_signature_is_refused(profile_gw, pki, tmp_path):
    p, gw = profile_gw
    method, path, headers, body = p.request(pki, tmp_path)
    names = {"mojaloop": "fspiop-signature", "mosip": "signature", "spar": "signature", "generic": "x-jws-signature"}
    unsigned = [(n, v) for n, v in headers if n.lower() != names[p.name]]
    refused(gw, send(gw, pki, (method, path, unsigned, body)), p, "sig_missing", gw.upstream.hits())


def test_body_limit_is_exact(profile_gw, pki, tmp_path):
    p, gw = profile_gw
    at_limit = p.request(pki, tmp_path, body=p.body("dfsp-a", LIMIT))
    over = p.request(pki, tmp_path, body=p.body("dfsp-a", LIMIT + 1))
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, at_limit), at_limit[3], hits)
    refused(gw, send(gw, pki, over), p, "body_too_large", hits + 1)
