"""The shipped OCEN pair (envoy/examples/ocen/) through two real Envoys, with a stand-in OCEN
auth service over TLS (its certificate from the example's PKI) and the demo upstream as the
lender's API:

    loan agent app ─HTTP─▶ loan-agent egress: token_fetch + jws_sign
        ─mTLS─▶ lender gateway: token_check + jws_verify ─▶ lender API
    app ◀─ egress: jws_verify (response) ◀─ lender gateway: jws_sign (response) ◀─┘

Signatures are checked with Python `cryptography`; refusals are counted at the lender API.
"""

from __future__ import annotations

import base64
import json

import pytest

from authsvc import AuthService
from examples import EXAMPLES, start_example
from harness import Pki, Upstream, https_request
from jws_check import http_request, protected, split, verify_independently
from test_ocen_registry import ocen_signature
from test_token_check import wait_for
from test_two_gateways import header, upstream_saw

OCEN = EXAMPLES / "ocen"
PKI = Pki(OCEN / "pki")
PATH = "/v4.0.0alpha/loanApplications/createLoanRequest"
BODY = json.dumps({"metadata": {"version": "4.0.0", "originatorParticipantId": "agent-a",
                                "requestId": "r-1"}, "loanApplications": []}).encode()


class OcenAuth(AuthService):
    """The auth service the example names: its issuer, and each client's participantId in its
    tokens (as the OCEN auth service writes it)."""

    @property
    def issuer(self) -> str:
        return "https://auth.ocen.example/realms/ocen"

    def token(self, claims=None, **kwargs) -> str:
        claims = dict(claims or {})
        if "client_id" in claims:
            claims.setdefault("participantId", claims["client_id"])
        return super().token(claims, **kwargs)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    svc = OcenAuth(issuer_path="/realms/ocen",
                   tls=(PKI.root / "auth/tls/server.crt", PKI.root / "auth/tls/server.key")).start()
    svc.clients["agent-a"] = (PKI.root / "agent-a/oauth/client-secret").read_text()
    api = Upstream(tmp_path_factory.mktemp("lender-api"))  # the demo echo as the lender's API

    def auth(side):
        """The side's auth cluster as shipped (its TLS pinning too), on the stand-in's port."""
        cluster = json.loads((OCEN / f"{side}.params.json").read_text())["clusters"][0]
        return [{**cluster, "port": svc.port}]

    try:
        with start_example(OCEN / "lender.params.json", tmp_path_factory.mktemp("lender"),
                           upstream_port=api.port, clusters=auth("lender")) as lender, \
             start_example(OCEN / "loan-agent.params.json", tmp_path_factory.mktemp("agent"),
                           platform_port=lender.port, clusters=auth("loan-agent")) as agent:
            lender.upstream = api
            # The lender's JWKS and the agent's first token arrive by callout: 503 until then.
            assert wait_for(lambda: send(agent).status != 503, timeout=20), send(agent).body
            yield svc, lender, agent
    finally:
        api.stop()
        svc.stop()


def pem(rel: str) -> bytes:
    return (PKI.root / rel).read_bytes()


def send(agent, body=BODY, headers=()):
    return http_request(agent.port, "POST", PATH,
                        [("content-type", "application/json"), *headers], body)


def test_loan_application_journey(pair):
    svc, lender, agent = pair
    out = send(agent, headers=[("x-request-id", "ocen-journey-1")])
    assert out.status == 200, (out.status, out.body)
    seen, got = upstream_saw(out)
    assert got == BODY
    # The lender API got the agent's token (its participantId), the partner the gateway bound,
    # and the agent's detached unencoded JWS over exactly these bytes.
    token = header(seen, "authorization").removeprefix("Bearer ")
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["participantId"] == "agent-a" and claims["iss"] == svc.issuer
    assert header(seen, "x-ocen-participant-id") == "agent-a"
    h, s = split(header(seen, "x-jws-signature"))
    assert protected(h) == {"alg": "RS256", "kid": "agent-a-1", "b64": False}
    verify_independently(h, s, got, pem("agent-a/jws/rsa.pub"))
    # The app got the lender's answer signed by the lender, checked by the egress.
    h, s = split(out.header("x-jws-signature"))
    assert protected(h)["kid"] == "lender-1"
    verify_independently(h, s, out.body, pem("platform/jws/rsa.pub"))
    assert svc.token_hits == 1, "one client-credentials grant serves every request"
    audit = lender.access_log("ocen-journey-1")["audit"]
    assert audit["token_check"]["partner"] == audit["jws_verify"]["partner"] == "agent-a"
    assert audit["jws_sign"]["decision"] == "allow"


def test_another_originator_is_refused_with_a_signed_answer(pair):
    # agent-a's app names agent-b as originator: the lender refuses (bind_originator), signs
    # its refusal, and the egress verifies it before the app sees it.
    svc, lender, agent = pair
    hits = lender.upstream.hits()
    out = send(agent, BODY.replace(b'"originatorParticipantId": "agent-a"',
                                   b'"originatorParticipantId": "agent-b"'))
    assert (out.status, out.json()["error"]) == (400, "Bad Request"), out.body
    h, s = split(out.header("x-jws-signature"))
    verify_independently(h, s, out.body, pem("platform/jws/rsa.pub"))
    assert lender.upstream.hits() == hits


def direct(lender, party, token, signature, body, source_ip="127.0.0.1"):
    """A request straight to the lender over mTLS as `party` (no egress)."""
    cert, key = PKI.client(party)
    headers = [("content-type", "application/json")]
    headers += [("authorization", f"Bearer {token}")] if token else []
    headers += [("x-jws-signature", signature)] if signature else []
    return https_request(lender.port, ca=PKI.platform_ca, cert=cert, key=key, source_ip=source_ip,
                         method="POST", path=PATH, headers=headers, body=body)


@pytest.mark.parametrize("case,status,reason", [
    ("control", 200, None),
    ("tampered body", 401, "sig_invalid"),
    ("other agent's key", 401, "sig_invalid"),
    ("other agent's certificate", 403, "peer_mismatch"),
    ("no token", 401, "token_missing"),
])
def test_lender_refusals(pair, case, status, reason):
    svc, lender, agent = pair
    token = svc.token({"client_id": "agent-a"})
    key = "agent-b" if case == "other agent's key" else "agent-a"
    signature = ocen_signature(PKI.root / f"{key}/jws/rsa.key", BODY)
    body = BODY.replace(b"r-1", b"r-2") if case == "tampered body" else BODY
    party, source = ("agent-b", "127.0.0.2") if case == "other agent's certificate" else ("agent-a", "127.0.0.1")
    hits = lender.upstream.hits()
    out = direct(lender, party, None if case == "no token" else token, signature, body, source)
    assert out.status == status, (out.status, out.body)
    assert header(out.headers, "x-signet-reason") == reason
    assert lender.upstream.hits() == hits + (1 if case == "control" else 0)
