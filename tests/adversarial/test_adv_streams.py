"""Every way a request can end, for each profile, over HTTP/1.1, HTTP/2 negotiated by ALPN and
HTTP/2 by prior knowledge (all over the partner's mTLS). The judge is the upstream: what reaches
it, and the exact bytes it got.

Rules (security.md): 5 — what is signed is what is forwarded, nothing before the body is
verified; 10 — no way around the verdict: every end of a message (END_STREAM on headers, on the
last DATA frame, on trailers, a reset) reaches a decision, a paused request is never resumed by
a later callback, nothing carried in trailers is trusted.
"""

from __future__ import annotations

import time

import pytest

from adv_profiles import NAMES
from adv_wire import TRANSPORTS, send, split
from adv_verdicts import assert_forwarded, assert_refused, echo_of, settled_hits

TRAILERS = [("x-trailer-note", "appended-after-the-body"), ("x-request-total", "100")]


@pytest.fixture(params=NAMES)
def pg(request, pool):
    """(profile, gateway) for each profile (its gateway shared by the whole session)."""
    return pool.get(request.param)


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def test_baseline_signed_request_is_forwarded(pg, transport):
    """Rule 5: the reference the other cases are measured against — a correctly signed request,
    body in one piece, is forwarded byte for byte over this transport."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(transport, gw.port, p.pki, m, path, headers, body), body, hits)


def test_baseline_unsigned_request_is_refused(pg, transport):
    """Rule 10 (and 9): an unsigned request on a required route, ended on its only DATA frame
    (h1: Content-Length), is answered sig_missing in the profile's format."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, body)
    assert_refused(p, gw, out, hits, reasons={"sig_missing"})


# --- trailers ----------------------------------------------------------------------------------


def test_unsigned_with_trailers_is_refused(pg, transport):
    """Rule 10: the message ends on trailers; the verdict is taken there (sig_missing), the
    trailers callback never resumes the paused stream."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=[body], trailers=TRAILERS)
    assert_refused(p, gw, out, hits, reasons={"sig_missing"})


def test_forged_signature_with_trailers_is_refused(pg, transport):
    """Rule 10 + 5: a signature whose bytes are wrong, message ended on trailers → refused."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, p.forged_signature(headers), frames=[body],
               trailers=TRAILERS)
    assert_refused(p, gw, out, hits, reasons={"sig_invalid", "sig_malformed"})


def test_empty_body_with_trailers_is_refused(pg, transport):
    """Rule 10: headers, no DATA at all, then trailers (END_STREAM on the trailers): the body is
    empty, the signature (for another body) cannot hold → refused."""
    p, gw = pg
    m, path, headers, _ = p.signed()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=[], trailers=TRAILERS)
    assert_refused(p, gw, out, hits)


def test_empty_unsigned_body_with_trailers_is_refused(pg, transport):
    """Rule 10: unsigned, no body, trailers only (not ocen: bodyless is if-present there)."""
    p, gw = pg
    if p.name == "ocen":
        pytest.skip("ocen: a bodyless request is if-present by the profile's own rule")
    m, path, headers, _ = p.unsigned()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=[], trailers=TRAILERS)
    assert_refused(p, gw, out, hits)


def test_valid_signature_with_trailers_is_forwarded_without_trailers(pg, transport):
    """Rule 10: a correctly signed body ended by trailers is verified and forwarded; the trailer
    fields (no signature covers them) never reach the upstream."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(body, 100), trailers=TRAILERS)
    doc = assert_forwarded(gw, out, body, hits)
    names = {n for n, _ in doc["headers"]} | {n for n, _ in doc.get("trailers", [])}
    assert not names & {n for n, _ in TRAILERS}, f"trailer fields reached the upstream: {doc}"


def test_signature_only_in_trailers_counts_as_absent(pg, transport):
    """Rule 10: "nothing carried in trailers is trusted" — the signature header (valid!) sent
    only as a trailer field is absent for the verdict → sig_missing."""
    p, gw = pg
    m, path, headers, body = p.signed()
    sig = [(n, v) for n, v in headers if n.lower() == p.sig_header]
    rest = [(n, v) for n, v in headers if n.lower() != p.sig_header]
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, rest, frames=[body], trailers=sig)
    assert_refused(p, gw, out, hits, reasons={"sig_missing"})


# --- bodies in many frames, empty bodies ---------------------------------------------------------


def test_body_in_many_frames_is_forwarded_byte_exact(pg, transport):
    """Rule 5: a valid body split in 7-byte DATA frames (h1: 7-byte TCP writes under a
    Content-Length) is verified whole and forwarded byte for byte."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(body, 7), gap=0.002)
    assert_forwarded(gw, out, body, hits)


def test_tampered_body_in_many_frames_is_refused(pg, transport):
    """Rule 5 + 10: the same, with one byte changed in the last frame → sig_invalid; no frame
    reached the upstream before the verdict."""
    p, gw = pg
    m, path, headers, body = p.signed()
    i = body.rfind(b"x")
    tampered = body[:i] + b"y" + body[i + 1:]
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(tampered, 7), gap=0.002)
    assert_refused(p, gw, out, hits, reasons={"sig_invalid"})


def test_signed_headers_with_empty_body_are_refused(pg, transport):
    """Rule 5: the signature of a body, sent with none (END_STREAM on headers; h1:
    Content-Length 0) → refused."""
    p, gw = pg
    m, path, headers, _ = p.signed()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, b"")
    assert_refused(p, gw, out, hits)


def test_unsigned_empty_body_is_refused(pg, transport):
    """Rule 10: END_STREAM on the headers of an unsigned POST to a required route → refused
    (OCEN's bodyless requests are if-present by its default; its route here carries a body
    policy, so it is left to the other profiles)."""
    p, gw = pg
    if p.name == "ocen":
        pytest.skip("ocen: a bodyless request is if-present by the profile's own rule")
    m, path, headers, _ = p.unsigned()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, b"")
    assert_refused(p, gw, out, hits)


# --- early resets, slow bodies -------------------------------------------------------------------


def test_reset_mid_body_reaches_nothing(pg, transport):
    """Rule 10: headers and half the body of an unsigned request, then RST_STREAM (h2) or a
    closed connection (h1): the upstream never sees any of it."""
    from adv_wire import h1_bytes, h1_exchange, h2_exchange
    p, gw = pg
    m, path, headers, body = p.unsigned()
    hits = gw.upstream.hits()
    if transport == "h1":
        raw = h1_bytes(m, path, headers, body)
        h1_exchange(gw.port, p.pki, [raw[: len(raw) - len(body) // 2]], close_after_writes=True)
    else:
        h2_exchange(gw.port, p.pki, m, path, [(n.lower(), v) for n, v in headers],
                    data=[body[: len(body) // 2]], end_stream=False, reset_after_data=True,
                    alpn=transport == "h2-alpn")
    assert settled_hits(gw, hits) == 0, "a reset request reached the upstream"
    # The signed counterpart, reset the same way, does not reach it either.
    m, path, headers, body = p.signed()
    if transport == "h1":
        raw = h1_bytes(m, path, headers, body)
        h1_exchange(gw.port, p.pki, [raw[:-10]], close_after_writes=True)
    else:
        h2_exchange(gw.port, p.pki, m, path, [(n.lower(), v) for n, v in headers],
                    data=[body[:-10]], end_stream=False, reset_after_data=True,
                    alpn=transport == "h2-alpn")
    assert settled_hits(gw, hits) == 0, "a reset (incomplete) signed request reached the upstream"


def test_slow_body_within_bound_is_forwarded(pg, transport):
    """Rule 10: a body dribbled in 6 pieces 0.1 s apart (well inside the default bound) is
    verified whole and forwarded byte for byte."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    pieces = split(body, len(body) // 6 + 1)
    out = send(transport, gw.port, p.pki, m, path, headers, frames=pieces, gap=0.1, timeout=10)
    assert_forwarded(gw, out, body, hits)


def test_unsigned_body_in_many_frames_is_refused(pg, transport):
    """Rule 10: unsigned, 16-byte frames; the verdict is taken on the last one."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(body, 16))
    assert_refused(p, gw, out, hits, reasons={"sig_missing"})


def test_upstream_echo_is_the_upstream(pg, transport):
    """Rule 10's judge, sanity: a skipped route (GET /health) reaches the upstream and is counted."""
    p, gw = pg
    hits = gw.upstream.hits()
    headers = [("authorization", f"Bearer {p.token()}")] if p.name == "ocen" else []
    out = send(transport, gw.port, p.pki, "GET", "/health", headers)
    echo_of(out)
    assert gw.upstream.hits() == hits + 1


@pytest.mark.parametrize("transport", ["h2-alpn", "h2-prior"])
def test_ocen_token_missing_with_trailers_is_refused(pool, transport):
    """Rule 10 (token_check): OCEN without a bearer token, correctly signed body ended by
    trailers: token_check's verdict (401 token_missing) holds; its pause is not released by the
    trailers callback."""
    p, gw = pool.get("ocen")
    m, path, headers, body = p.signed()
    headers = [(n, v) for n, v in headers if n.lower() != "authorization"]
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(body, 50), trailers=TRAILERS)
    assert_refused(p, gw, out, hits, reasons={"token_missing"})



# --- behind an HTTP/2 upstream, where request trailers could travel on ------------------------------


@pytest.fixture(params=NAMES)
def pg_h2up(request, pool):
    """(profile, gateway, h2 upstream): the profile's gateway whose `upstream` cluster speaks
    HTTP/2 (h2c) to a recording upstream — so trailers Envoy forwards would arrive there."""
    from adv_h2_upstream import http2_cluster
    up = pool.h2up()
    p, gw = pool.get(request.param, "h2-upstream", params={"upstream_port": up.port},
                     patch=http2_cluster("upstream"))
    return p, gw, up


@pytest.mark.parametrize("transport", ["h2-alpn", "h2-prior"])
def test_h2_upstream_gets_verified_body_and_no_trailers(pg_h2up, transport):
    """Rule 10: a correctly signed body ended by trailers reaches an HTTP/2 upstream byte for
    byte, without the trailer fields (no signature covers them: removed, not forwarded)."""
    p, gw, up = pg_h2up
    m, path, headers, body = p.signed()
    n = len(up.seen)
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(body, 100), trailers=TRAILERS)
    assert out.kind == "response" and out.status == 200, out
    assert len(up.seen) == n + 1, "the request should have reached the upstream once"
    seen = up.seen[-1]
    assert seen["body"] == body, "the upstream must get the exact signed bytes"
    names = {k for k, _ in seen["trailers"]} | {k for k, _ in seen["headers"]}
    assert not names & {k for k, _ in TRAILERS}, f"trailer fields reached the upstream: {seen['trailers']}"


@pytest.mark.parametrize("transport", ["h2-alpn", "h2-prior"])
def test_h2_upstream_never_gets_unsigned_with_trailers(pg_h2up, transport):
    """Rule 10: unsigned body, the signature only in trailers: refused; nothing at the upstream."""
    p, gw, up = pg_h2up
    m, path, headers, body = p.signed()
    sig = [(k, v) for k, v in headers if k.lower() == p.sig_header]
    rest = [(k, v) for k, v in headers if k.lower() != p.sig_header]
    n = len(up.seen)
    out = send(transport, gw.port, p.pki, m, path, rest, frames=[body], trailers=sig)
    time.sleep(0.3)
    reached = [(r.get("path"), r.get("trailers")) for r in up.seen[n:]]
    assert not reached, f"reached the HTTP/2 upstream (path, trailers): {reached}"
    assert out.kind == "response" and out.reason == "sig_missing" and out.status == p.status("sig_missing"), out
