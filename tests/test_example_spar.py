"""The shipped OpenG2P SPAR pair (envoy/examples/spar/) through two real Envoys, the demo
upstream standing in for the SPAR mapper:

    bank app ─HTTP─▶ bank egress: jws_sign (canonical JSON) ─mTLS─▶ SPAR gateway: jws_verify
        (the body's sender must be the certificate's bank, with its key) ─▶ SPAR mapper

SPAR answers are not signed. Signatures are checked with Python `cryptography`; refusals are
counted at the mapper.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from examples import EXAMPLES, start_example
from harness import Pki, Upstream, https_request
from jws_check import canonical_json, http_request, protected, split, verify_independently
from test_two_gateways import header, upstream_saw

SPAR = EXAMPLES / "spar"
PKI = Pki(SPAR / "pki")
PATH = "/mapper/resolve"


def resolve(sender: str = "bank-a", transaction: str = "t-1") -> bytes:
    return json.dumps({
        "request_header": {"version": "1.0.0", "request_id": "r-1", "sender_app_mnemonic": sender,
                           "request_timestamp": "2026-12-05T10:00:00.000Z", "action": "resolve"},
        "request_body": {"request_payload": {"transaction_id": transaction, "resolve_request": [
            {"reference_id": "ref-1", "id": "token:12345@nationalId"}]}}}, indent=2).encode()


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    mapper = Upstream(tmp_path_factory.mktemp("mapper"))  # the demo echo as SPAR's mapper
    try:
        with start_example(SPAR / "spar.params.json", tmp_path_factory.mktemp("spar"),
                           upstream_port=mapper.port) as spar, \
             start_example(SPAR / "bank.params.json", tmp_path_factory.mktemp("bank"),
                           platform_port=spar.port) as bank:
            spar.upstream = mapper
            yield spar, bank
    finally:
        mapper.stop()


def pub(bank: str) -> bytes:
    return (PKI.root / f"{bank}/jws/rsa.pub").read_bytes()


def send(bank, body):
    return http_request(bank.port, "POST", PATH, [("content-type", "application/json")], body)


def test_resolve_journey(pair):
    spar, bank = pair
    body = resolve()
    out = send(bank, body)
    assert out.status == 200, (out.status, out.body)
    seen, got = upstream_saw(out)
    assert got == body, "the mapper gets the bank's bytes"
    # bank-a's signature covers the body's canonical JSON (sorted keys), not the raw bytes.
    h, s = split(header(seen, "signature"))
    assert protected(h) == {"alg": "RS256"}
    verify_independently(h, s, canonical_json(got), pub("bank-a"))
    with pytest.raises(InvalidSignature):
        verify_independently(h, s, got, pub("bank-a"))
    assert out.header("signature") is None, "SPAR answers are not signed"


def test_a_bank_cannot_speak_for_another(pair):
    # bank-a's app names bank-b as sender: its egress signs as bank-a, SPAR refuses in its own
    # error envelope (HTTP 200), and nothing reaches the mapper.
    spar, bank = pair
    hits = spar.upstream.hits()
    out = send(bank, resolve(sender="bank-b"))
    assert out.status == 200, (out.status, out.body)
    head = out.json()["response_header"]
    assert (head["response_status"], head["response_error_code"]) == ("ERROR", "rjct.request.validation")
    assert spar.upstream.hits() == hits


def spar_signature(bank: str, body: bytes) -> str:
    """`H..S` over the canonical JSON, as SPAR's partners sign."""
    key = serialization.load_pem_private_key((PKI.root / f"{bank}/jws/rsa.key").read_bytes(), None)
    b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()  # noqa: E731
    h = b64(b'{"alg":"RS256"}')
    signing_input = f"{h}.{b64(canonical_json(body))}".encode()
    return f"{h}..{b64(key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256()))}"


@pytest.mark.parametrize("case,reason", [
    ("control", None),
    ("re-indented body", None),
    ("tampered body", "sig_invalid"),
    ("bank-b's key", "sig_invalid"),
    ("bank-b's certificate", "peer_mismatch"),
    ("no signature", "sig_missing"),
])
def test_spar_refusals(pair, case, reason):
    """Straight to SPAR's gateway over mTLS, no egress: a message bank-a signed, changed."""
    spar, _ = pair
    body = resolve()
    signature = spar_signature("bank-b" if case == "bank-b's key" else "bank-a", body)
    if case == "re-indented body":
        body = json.dumps(json.loads(body)).encode()  # same JSON value: still verifies
    elif case == "tampered body":
        body = resolve(transaction="t-2")
    party, source = ("bank-b", "127.0.0.2") if case == "bank-b's certificate" else ("bank-a", "127.0.0.1")
    cert, key = PKI.client(party)
    headers = [("content-type", "application/json")]
    headers += [] if case == "no signature" else [("signature", signature)]
    hits = spar.upstream.hits()
    out = https_request(spar.port, ca=PKI.platform_ca, cert=cert, key=key, source_ip=source,
                        method="POST", path=PATH, headers=headers, body=body)
    assert out.status == 200, (out.status, out.body)
    assert header(out.headers, "x-signet-reason") == reason
    assert spar.upstream.hits() == hits + (0 if reason else 1)
