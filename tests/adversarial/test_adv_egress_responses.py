"""jws_verify `direction: response` at a partner's egress, for each platform whose answers are
signed: `generic` (the egress template's demo), `mosip` (a partner verifying IDA's
`response-signature` against the pinned IDA certificate) and `ocen` (the loan agent verifying
the lender's `b64:false` signature). The platform is a hostile HTTP/2 upstream behind the
egress's pinned mTLS (adv_answers.Scripted) ending its answers every way an answer can end:
trailers, END_STREAM on the headers, a reset mid-body, a content-encoding, a 1xx first, HEAD,
204/304, a stall. Judged at the application: the platform's body only when its signature
verified over exactly those bytes; a bodiless answer only where the profile signs none
(profiles.md §2.10); never a trailer field or an upstream x-signet-* header.
"""

from __future__ import annotations

import gzip
import json

import pytest

from adv_answers import Answer, Scripted, generic_sig, mosip_sig, ocen_sig
from adv_h2_upstream import SIGNET_HEADERS, http2_cluster
from adv_wire import h1_bytes, h1_exchange, h2_exchange
from harness import start_gateway
from test_two_gateways import ida_pin

pytestmark = pytest.mark.timeout(120)

BODY = json.dumps({"result": "ok", "amount": {"currency": "USD", "amount": "100"}, "pad": "x" * 300},
                  separators=(",", ":")).encode()
JSON = [("content-type", "application/json")]
MAX_BODY = 4096
BOUND_S = 1.0
TRANSPORTS = ["h1", "h2c"]


def verifier(profile: str, pki) -> dict:
    config = {
        "generic": {"profile": "generic"},
        "mosip": {"profile": {"mosip": {"ida_certificate_sha256": ida_pin(pki)}}},
        "ocen": {"profile": {"ocen": {"peer_participant_id": "lender"}},
                 "partners": [{"id": "lender", "keys": [{"public_key_pem": "@pki:platform/jws/rsa.pub"}]}]},
    }[profile]
    return {"root_id": "jws_verify", "configuration": {
        **config, "direction": "response", "max_body_bytes": MAX_BODY,
        "body_timeout_ms": int(BOUND_S * 1000)}}


SIGN = {"generic": generic_sig, "mosip": mosip_sig, "ocen": ocen_sig}
# The platform's registry entry on the egress: the generic verifier picks the key by the
# platform's TLS name; mosip pins IDA's certificate; ocen names its partner in its section.
PARTNERS = [{"id": "platform", "tls_names": ["localhost"],
             "keys": [{"kid": "platform-ec", "public_key_pem": "@pki:platform/jws/ec.pub"}]}]


@pytest.fixture(scope="module", params=["generic", "mosip", "ocen"])
def egress(request, pki, tmp_path_factory):
    profile = request.param
    up = Scripted(pki)
    params = {"platform_host": "127.0.0.1", "platform_port": up.port, "platform_sni": "localhost",
              "partner": "dfsp-a"}
    try:
        with start_gateway(tmp_path_factory.mktemp(f"egress-{profile}"), pki,
                           filters=[{"root_id": "gateway", "configuration": {}}, verifier(profile, pki)],
                           partners=PARTNERS, template="egress.yaml", listener="egress", params=params,
                           with_upstream=False, patch=http2_cluster("platform")) as gw:
            yield profile, gw, up, lambda body: SIGN[profile](pki, body)
    finally:
        up.stop()


def app(transport: str, gw, method: str = "POST", timeout: float = 4.0):
    """The application's request (plain HTTP on loopback): (the final answer, every answer the
    connection carried — over h1 a forwarded 1xx would be among them)."""
    body = None if method == "HEAD" else b'{"q":1}'
    if transport == "h1":
        raw = h1_bytes(method, "/api/x", JSON + [("Connection", "close")], body)
        out = h1_exchange(gw.port, None, [raw], expect=3, timeout=timeout, head=method == "HEAD")
        finals = [r for r in out if r.kind != "response" or r.status is None or r.status >= 200]
        return (finals or out)[0], out
    out = h2_exchange(gw.port, None, method, "/api/x", JSON, data=[body] if body else None, alpn=False,
                      scheme="http", timeout=timeout)
    return out, [out]


def delivered(out, body: bytes = BODY):
    """The verified answer reached the application exactly, with nothing of the upstream's
    outside what was signed."""
    assert out.kind == "response" and out.status == 200 and out.body == body, out
    assert not out.trailers, f"trailer fields reached the application: {out.trailers}"
    leaked = [(n, v) for n, v in out.headers if (n, v) in SIGNET_HEADERS]
    assert not leaked, f"the upstream's x-signet-* headers reached the application: {leaked}"


def withheld(out):
    """The platform's body never reached the application: the verifier's 502 (any reason), or
    Envoy's own 5xx / a closed stream where the upstream broke off."""
    assert BODY[:64] not in out.body, f"the unverified body reached the application: {out!r}"
    if out.kind == "response" and out.reason is not None:
        assert out.status == 502, out
    else:
        assert out.kind != "response" or out.status >= 500, out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("frame", [64, 7])
def test_signed_answer_is_delivered_exactly(egress, transport, frame):
    profile, gw, up, sign = egress
    up.answer = Answer(headers=JSON + sign(BODY), body=BODY, frame=frame)
    delivered(app(transport, gw)[0])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_signed_answer_with_trailers_is_delivered_without_them(egress, transport):
    profile, gw, up, sign = egress
    up.answer = Answer(headers=JSON + sign(BODY), body=BODY, trailers=[("x-trailer-note", "unsigned")])
    delivered(app(transport, gw)[0])


def spoiled(sign, how: str) -> Answer:
    sig = sign(BODY)
    forged = [(sig[0][0], sig[0][1][:-3] + ("AAA" if not sig[0][1].endswith("AAA") else "BBB"))]
    return {
        "unsigned": Answer(headers=JSON, body=BODY),
        "unsigned-trailers": Answer(headers=JSON, body=BODY, trailers=[("x-trailer-note", "t")]),
        "sig-in-trailers": Answer(headers=JSON, body=BODY, trailers=sig),
        "forged-trailers": Answer(headers=JSON + forged, body=BODY, trailers=[("x-trailer-note", "t")]),
        "forged-sig-in-trailers": Answer(headers=JSON, body=BODY, trailers=forged),
        "reset-mid-body": Answer(headers=JSON + sig, body=BODY, cut=128, then="reset"),
        "gzip": Answer(headers=JSON + [("content-encoding", "gzip")] + sign(gzip.compress(BODY)),
                       body=gzip.compress(BODY)),
        "gzip-in-list": Answer(headers=JSON + [("content-encoding", "identity, gzip")] + sign(gzip.compress(BODY)),
                               body=gzip.compress(BODY)),
        "duplicate-sig": Answer(headers=JSON + forged + sig, body=BODY),
        "over-bound": Answer(headers=JSON + sign(BODY * 20), body=BODY * 20),
        "informational-unsigned": Answer(headers=JSON, body=BODY,
                                         informational=[(103, [("link", "</x>; rel=preload")] + sig)]),
    }[how]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("how", ["unsigned", "unsigned-trailers", "sig-in-trailers", "forged-trailers",
                                 "forged-sig-in-trailers", "reset-mid-body", "gzip", "gzip-in-list",
                                 "duplicate-sig", "over-bound", "informational-unsigned"])
def test_unverifiable_answer_is_withheld(egress, transport, how):
    profile, gw, up, sign = egress
    up.answer = spoiled(sign, how)
    withheld(app(transport, gw)[0])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_informational_first_then_signed_answer(egress, transport):
    """A 103 (with the upstream's own x-signet-* fields) before the signed answer: the answer
    is delivered, and no 1xx the application sees carries an x-signet-* field."""
    profile, gw, up, sign = egress
    up.answer = Answer(headers=JSON + sign(BODY), body=BODY,
                       informational=[(103, [("link", "</x>; rel=preload")] + SIGNET_HEADERS)])
    final, everything = app(transport, gw)
    delivered(final)
    for r in everything:
        assert not [n for n, _ in r.headers if n.startswith("x-signet-")], r


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", ["end-on-headers", "204", "304", "head"])
def test_bodiless_answer(egress, transport, case):
    """END_STREAM on the headers (a 200, 204 or 304 without a body, or the answer to HEAD
    carrying the signature of the body GET would get): delivered without a body only where
    the profile signs no bodiless answer (ocen, §2.10), else the 502; never a hang, never an
    x-signet-* header of the upstream."""
    profile, gw, up, sign = egress
    status = {"204": 204, "304": 304}.get(case, 200)
    extra = [("content-length", str(len(BODY)))] + sign(BODY) if case == "head" else []
    up.answer = Answer(status=status, headers=JSON + extra + SIGNET_HEADERS)
    out = app(transport, gw, method="HEAD" if case == "head" else "POST")[0]
    assert out.kind == "response", out
    assert out.body == b"" or out.reason is not None, out
    assert not [(n, v) for n, v in out.headers if (n, v) in SIGNET_HEADERS], out
    if profile == "ocen" and case != "head":
        assert out.status == status and out.reason is None, out
    else:
        assert out.status == 502 and out.reason is not None, out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stalled_answer_gets_body_timeout(egress, transport):
    """The platform sends its signed headers and one frame, then nothing: the application gets
    the 502 with `body_timeout` about a second after the bound, never the partial body."""
    profile, gw, up, sign = egress
    up.answer = Answer(headers=JSON + sign(BODY), body=BODY, cut=64, then="stall")
    out = app(transport, gw, timeout=BOUND_S + 3)[0]
    assert out.kind == "response" and out.status == 502 and out.reason == "body_timeout", out
    assert BODY[:64] not in out.body and out.elapsed <= BOUND_S + 2.0, out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_upstream_signet_headers_never_reach_the_app(egress, transport):
    profile, gw, up, sign = egress
    up.answer = Answer(headers=JSON + sign(BODY) + SIGNET_HEADERS, body=BODY)
    delivered(app(transport, gw)[0])
