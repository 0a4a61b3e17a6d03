"""The response direction, against an HTTP/2 upstream that ends its responses on trailers.

- jws_verify `direction: response` on dfsp-a's egress (envoy/egress.yaml, its `platform`
  cluster switched to HTTP/2 over the pinned mTLS): a response whose signature is absent,
  forged, or only in the trailers gets the profile's 502 and the application never gets the
  body (security.md rule 10: a paused response is never released by the trailers callback;
  nothing in trailers is trusted).
- jws_sign on the platform gateway (the shipped generic chain, envoy/profiles/generic.json,
  `sign_responses`), its `upstream` cluster h2c:
  a response ending on trailers leaves signed over the exact bytes the client gets, or is
  refused — never unsigned (security.md "Signing": never an unsigned message where a signature
  is due; rule 10).
"""

from __future__ import annotations

import contextlib
import json

import pytest

from adv_h2_upstream import BODY, SIGNET_HEADERS, H2Upstream, http2_cluster
from adv_wire import h1_bytes, h1_one, h2_exchange, send
from harness import REPO, start_gateway
from jws_check import split as jws_split
from jws_check import verify_independently

EGRESS_TRANSPORTS = ["h1", "h2c"]


def key_env(pki, files: dict) -> dict:
    return {var: (pki.root / rel).read_text() for var, rel in files.items()}


@contextlib.contextmanager
def egress_gateway(pki, workdir, body_timeout_ms: int | None = None):
    """dfsp-a's shipped egress in front of an HTTP/2 platform over the pinned mTLS; with
    `body_timeout_ms` on its response verifier and request signer."""
    up = H2Upstream(pki, tls=True)
    shipped = json.loads((REPO / "envoy" / "egress.demo.json").read_text())
    filters = shipped["filters"]
    for f in filters:
        if body_timeout_ms is not None and f["root_id"] in ("jws_verify", "jws_sign"):
            f["configuration"]["body_timeout_ms"] = body_timeout_ms
    params = {"platform_host": "127.0.0.1", "platform_port": up.port, "platform_sni": "localhost",
              "partner": "dfsp-a"}
    try:
        with start_gateway(workdir, pki, filters=filters, partners=shipped["partners"],
                           template="egress.yaml", listener="egress", params=params,
                           env=key_env(pki, {"SIGNET_EGRESS_JWS_KEY": "dfsp-a/jws/ec.key"}),
                           with_upstream=False, patch=http2_cluster("platform")) as gw:
            yield gw, up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def egress(pki, tmp_path_factory):
    with egress_gateway(pki, tmp_path_factory.mktemp("egress-h2")) as pair:
        yield pair


def egress_get(gw, transport: str, mode: str):
    """The application's request through the egress (plain HTTP on loopback)."""
    body = b'{"q":1}'
    headers = [("content-type", "application/json")]
    if transport == "h1":
        return h1_one(gw.port, None, h1_bytes("POST", f"/resp/{mode}", headers, body))
    return h2_exchange(gw.port, None, "POST", f"/resp/{mode}", headers, data=[body], alpn=False,
                       scheme="http")


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
def test_egress_signed_response_passes(egress, transport):
    """Baseline (rule 5): the platform's valid signature over the body, body in 64-byte frames."""
    gw, up = egress
    out = egress_get(gw, transport, "signed")
    assert out.kind == "response" and out.status == 200 and out.body == BODY, out


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
def test_egress_signed_response_with_trailers_passes(egress, transport):
    """Rule 10: a valid signature in the headers, the body, then trailers: verified at the end
    of the message and delivered exactly."""
    gw, up = egress
    out = egress_get(gw, transport, "signed-trailers")
    assert out.kind == "response" and out.status == 200 and out.body == BODY, out


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
@pytest.mark.parametrize("mode", ["unsigned", "unsigned-trailers", "forged-trailers", "sig-in-trailers",
                                  "forged-sig-in-trailers"])
def test_egress_unverifiable_response_is_502(egress, transport, mode):
    """Rule 10 (and 9): absent signature (with or without trailers), forged signature with
    trailers, the signature only in trailers (valid or forged): the application gets the
    profile's 502 from the filter, never the upstream's body."""
    gw, up = egress
    hits = up.hits()
    out = egress_get(gw, transport, mode)
    assert up.hits() == hits + 1, "the request should have reached the h2 upstream"
    leaked = BODY in out.body
    assert not leaked, f"the unverified body reached the application: {out!r}"
    assert out.kind == "response", f"expected the profile's 502, got {out!r}"
    assert out.status == 502 and out.reason is not None, out


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
def test_egress_trailers_without_body(egress, transport):
    """Rule 10: headers, no DATA, then trailers carrying nothing signed: the response ends on
    its trailers and gets a verdict — the profile's 502, or a bodiless 200 (profiles.md §2.10:
    a response without a body is not signed) — never a hang."""
    gw, up = egress
    out = egress_get(gw, transport, "empty-trailers")
    assert out.kind == "response", out
    assert out.status == 502 or (out.status == 200 and out.body == b""), out


# --- jws_sign: responses that end on trailers leave signed ------------------------------------------


def platform_chain(**sign_extra) -> list:
    """The shipped generic platform chain (envoy/profiles/generic.json): gateway, jws_sign
    (responses), jws_verify (requests; a GET is not signed by the profile's default policy)."""
    filters = json.loads((REPO / "envoy" / "profiles" / "generic.json").read_text())["filters"]
    for f in filters:
        if f["root_id"] == "jws_sign":
            f["configuration"].update(sign_extra)
    return filters


@contextlib.contextmanager
def signer_gateway(pki, workdir, **chain):
    """The shipped generic platform chain (`platform_chain(**chain)`) in front of an h2c
    upstream that ends its responses as each test asks."""
    up = H2Upstream(pki, tls=False)
    try:
        shipped = json.loads((REPO / "envoy" / "profiles" / "generic.json").read_text())
        with start_gateway(workdir, pki, filters=platform_chain(**chain), partners=shipped["partners"],
                           params={"upstream_port": up.port}, with_upstream=False,
                           env=key_env(pki, {"SIGNET_PLATFORM_JWS_KEY": "platform/jws/ec.key"}),
                           patch=http2_cluster("upstream")) as gw:
            yield gw, up
    finally:
        up.stop()


@pytest.fixture(scope="module")
def signer(pki, tmp_path_factory):
    with signer_gateway(pki, tmp_path_factory.mktemp("signer-h2")) as pair:
        yield pair


@pytest.mark.parametrize("transport", ["h1", "h2-alpn", "h2-prior"])
@pytest.mark.parametrize("mode", ["unsigned", "unsigned-trailers", "empty-trailers"])
def test_signed_response_or_refused_never_unsigned(signer, pki, transport, mode):
    """Signing rules + rule 10: the upstream's unsigned response (body in frames, with or without
    trailers; or trailers and no body) reaches the partner signed over exactly the bytes it
    gets — or as an error without the upstream's body — never unsigned."""
    gw, up = signer
    hits = up.hits()
    out = send(transport, gw.port, pki, "GET", f"/resp/{mode}", [("accept", "application/json")])
    assert up.hits() == hits + 1, out
    assert out.kind == "response", out
    sig = out.header("x-jws-signature")
    if out.status == 200 and out.body:
        assert sig is not None, f"an unsigned response left the platform: {out!r}"
        h, s = jws_split(sig)
        verify_independently(h, s, out.body, (pki.root / "platform/jws/ec.pub").read_bytes())
        assert out.body == BODY
    elif out.status == 200:
        assert mode == "empty-trailers", out  # a bodiless response (profiles.md §2.10)
    else:
        leaked = BODY in out.body
        assert not leaked, out


@pytest.mark.parametrize("transport", ["h1", "h2-alpn"])
def test_upstream_signet_headers_are_stripped_from_responses(signer, pki, transport):
    """Rule 9 (the reason code is Signet's own) and 12: x-signet-* headers an upstream sets
    (x-signet-reason: ok, x-signet-partner: dfsp-b) never reach the partner."""
    gw, up = signer
    out = send(transport, gw.port, pki, "GET", "/resp/signet-headers", [("accept", "application/json")])
    assert out.kind == "response" and out.status == 200, out
    leaked = [(n, v) for n, v in out.headers if (n, v) in SIGNET_HEADERS]
    assert not leaked, f"the upstream's x-signet-* headers reached the partner: {leaked}"


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
def test_egress_upstream_signet_headers_are_stripped(egress, transport):
    """Rule 9: on the egress too, a verified response does not carry the platform's (or an
    intermediary's) x-signet-* headers to the application."""
    gw, up = egress
    out = egress_get(gw, transport, "signet-headers")
    assert out.kind == "response" and out.status == 200 and out.body == BODY, out
    leaked = [(n, v) for n, v in out.headers if (n, v) in SIGNET_HEADERS]
    assert not leaked, f"x-signet-* headers from upstream reached the application: {leaked}"



# --- bodies that never end, both signers' and the response verifier's bound ------------------------

BOUND_S = 1.5


@pytest.fixture(scope="module")
def egress_bounded(pki, tmp_path_factory):
    """The egress with `body_timeout_ms: 1500` on its response verifier and request signer."""
    with egress_gateway(pki, tmp_path_factory.mktemp("egress-bounded"), int(BOUND_S * 1000)) as pair:
        yield pair


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
def test_egress_request_stall_gets_body_timeout(egress_bounded, transport):
    """Rule 10 (jws_sign, request): the application's body stops halfway: the signer answers
    `body_timeout` within about a second after the bound; nothing reaches the platform."""
    gw, up = egress_bounded
    hits = up.hits()
    body = b'{"q":"' + b"x" * 200 + b'"}'
    headers = [("content-type", "application/json")]
    if transport == "h1":
        raw = h1_bytes("POST", "/resp/signed", headers + [("Content-Length", str(len(body)))], body[:100],
                       content_length=False)
        out = h1_one(gw.port, None, raw, timeout=BOUND_S + 4)
    else:
        out = h2_exchange(gw.port, None, "POST", "/resp/signed", headers, data=[body[:100]], alpn=False,
                          scheme="http", end_stream=False, timeout=BOUND_S + 4)
    assert out.kind == "response", f"no answer to a stalled request body: {out!r}"
    assert out.reason == "body_timeout" and out.status != 200, out
    assert out.elapsed <= BOUND_S + 2.0, out.elapsed
    assert up.hits() == hits, "a stalled request reached the platform"


@pytest.mark.parametrize("transport", EGRESS_TRANSPORTS)
def test_egress_response_stall_gets_body_timeout(egress_bounded, transport):
    """Rule 10 (jws_verify, response): the platform's response stops after its first frame:
    the application gets the profile's 502 with `body_timeout`, never the partial body."""
    gw, up = egress_bounded
    out = egress_get(gw, transport, "stall") if transport == "h1" else h2_exchange(
        gw.port, None, "POST", "/resp/stall", [("content-type", "application/json")], data=[b'{"q":1}'],
        alpn=False, scheme="http", timeout=BOUND_S + 4)
    assert out.kind == "response", f"no answer to a stalled response: {out!r}"
    assert out.status == 502 and out.reason == "body_timeout", out
    assert BODY[:64] not in out.body, out
    assert out.elapsed <= BOUND_S + 2.0, out.elapsed


@pytest.fixture(scope="module")
def signer_bounded(pki, tmp_path_factory):
    with signer_gateway(pki, tmp_path_factory.mktemp("signer-bounded"),
                        body_timeout_ms=int(BOUND_S * 1000)) as pair:
        yield pair


@pytest.mark.parametrize("transport", ["h1", "h2-alpn"])
def test_signer_response_stall_is_never_sent_unsigned(signer_bounded, pki, transport):
    """Rule 10 + Signing (jws_sign, response): the upstream's response stops after its first
    frame: the partner gets Signet's error with `body_timeout` within about a second after the
    bound — never the partial body unsigned, never a hang."""
    gw, up = signer_bounded
    out = send(transport, gw.port, pki, "GET", "/resp/stall", [("accept", "application/json")],
               timeout=BOUND_S + 4)
    assert out.kind == "response", f"no answer to a stalled upstream response: {out!r}"
    assert out.reason == "body_timeout" and out.status != 200, out
    assert BODY[:64] not in out.body, out
    assert out.elapsed <= BOUND_S + 2.0, out.elapsed
