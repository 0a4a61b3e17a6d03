"""HTTP/1.1 framing tricks, written byte for byte over the partner's mTLS, for each profile:
conflicting and duplicated lengths, chunk extensions, pipelining, duplicated and case-varied
signature/identity headers, oversized headers, CONNECT and absolute-form targets. Where
Envoy's codec refuses first (400/413/431, a close) that is accepted; the upstream must never
get a request the filter did not pass.

Rules (security.md): 4 strict decoding, 5 what is signed is what is forwarded, 6 bounds,
10 no way around the verdict, 11 one reading of the path, 12 identity before policy.
"""

from __future__ import annotations

import base64

import pytest

from adv_profiles import NAMES
from adv_wire import h1_bytes, h1_exchange, h1_one, h2_exchange, send
from adv_verdicts import assert_forwarded, assert_no_weaker_route, assert_refused, echo_of, settled_hits


@pytest.fixture(params=NAMES)
def pg(request, pool):
    return pool.get(request.param)


def tamper(body: bytes) -> bytes:
    i = body.rfind(b"x")
    return body[:i] + b"y" + body[i + 1:]


def test_content_length_and_chunked_conflict_is_refused(pg):
    """Rules 5, 10: Content-Length of the signed body AND Transfer-Encoding: chunked carrying
    another body — two readings of one message; never forwarded."""
    p, gw = pg
    m, path, headers, body = p.signed()
    other = tamper(body)
    raw = h1_bytes(m, path, headers + [("Content-Length", str(len(body))), ("Transfer-Encoding", "chunked")],
                   chunks=[other[:50], other[50:]])
    hits = gw.upstream.hits()
    out = h1_one(gw.port, p.pki, raw)
    if out.kind == "response" and out.status == 200:
        pytest.fail(f"CL+TE request forwarded: {out!r}")
    assert_refused(p, gw, out, hits, codec_ok=True)


def test_unsigned_content_length_and_chunked_is_refused(pg):
    """Rule 10: the same conflict, unsigned."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    raw = h1_bytes(m, path, headers + [("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
                   chunks=[body])
    hits = gw.upstream.hits()
    assert_refused(p, gw, h1_one(gw.port, p.pki, raw), hits, codec_ok=True)


def test_duplicate_content_length_is_refused(pg):
    """Rules 5, 10: two different Content-Length values (the signed body's and a longer one
    that would swallow a second, unsigned request) → refused."""
    p, gw = pg
    m, path, headers, body = p.signed()
    um, upath, uheaders, ubody = p.unsigned()
    smuggled = h1_bytes(um, upath, uheaders, ubody)
    raw = h1_bytes(m, path, headers + [("Content-Length", str(len(body))),
                                       ("Content-Length", str(len(body) + len(smuggled)))],
                   body + smuggled, content_length=False)
    hits = gw.upstream.hits()
    out = h1_exchange(gw.port, p.pki, [raw], expect=2, timeout=3)
    assert settled_hits(gw, hits) == 0, f"a request of a duplicated-length message reached the upstream: {out}"
    for r in out:
        if r.kind == "response":
            assert r.status != 200, out


def test_chunk_extensions_valid_body_is_forwarded_exact(pg):
    """Rule 5: a valid body in chunks carrying extensions (`;ext=...`): the upstream gets the
    signed bytes exactly, never the extension text."""
    p, gw = pg
    m, path, headers, body = p.signed()
    pieces = [body[i:i + 40] for i in range(0, len(body), 40)]
    raw = h1_bytes(m, path, headers, chunks=pieces, chunk_ext=';ext="a;b"')
    hits = gw.upstream.hits()
    out = h1_one(gw.port, p.pki, raw)
    if out.kind == "response" and out.status == 400 and out.reason is None:
        assert settled_hits(gw, hits) == 0  # the codec refused the extension syntax: fine
        return
    assert_forwarded(gw, out, body, hits)


def test_chunk_extensions_unsigned_is_refused(pg):
    """Rule 10: unsigned chunked body with extensions, one byte per chunk → refused."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    raw = h1_bytes(m, path, headers, chunks=[body[i:i + 1] for i in range(len(body))], chunk_ext=";x=1")
    hits = gw.upstream.hits()
    assert_refused(p, gw, h1_one(gw.port, p.pki, raw, timeout=8), hits, reasons={"sig_missing"}, codec_ok=True)


def test_pipelined_unsigned_after_valid_is_refused(pg):
    """Rule 10: a valid request and an unsigned one in the same TCP write: the first is
    forwarded, the second refused — the first verdict does not carry over."""
    p, gw = pg
    m, path, headers, body = p.signed()
    um, upath, uheaders, ubody = p.unsigned()
    raw = h1_bytes(m, path, headers, body) + h1_bytes(um, upath, uheaders, ubody)
    hits = gw.upstream.hits()
    out = h1_exchange(gw.port, p.pki, [raw], expect=2)
    responses = [r for r in out if r.kind == "response"]
    assert responses and responses[0].status == 200, out
    assert base64.b64decode(responses[0].json()["body_b64"]) == body
    assert settled_hits(gw, hits) == 1, f"the unsigned pipelined request reached the upstream: {out}"
    if len(responses) > 1:
        assert responses[1].reason == "sig_missing" and responses[1].status == p.status("sig_missing"), out


def test_pipelined_forged_after_valid_is_refused(pg):
    """Rule 10: the same with a forged signature in the second request."""
    p, gw = pg
    m, path, headers, body = p.signed()
    raw = h1_bytes(m, path, headers, body) + h1_bytes(m, path, p.forged_signature(headers), body)
    hits = gw.upstream.hits()
    out = h1_exchange(gw.port, p.pki, [raw], expect=2)
    assert settled_hits(gw, hits) == 1, f"the forged pipelined request reached the upstream: {out}"


def test_duplicated_signature_headers_with_tampered_body_are_refused(pg):
    """Rules 4, 5: the valid signature twice (and a forged one) over a changed body → refused,
    whichever copy the filter reads."""
    p, gw = pg
    m, path, headers, body = p.signed()
    sig = [(n, v) for n, v in headers if n.lower() == p.sig_header]
    forged = [(n, v) for n, v in p.forged_signature(headers) if n.lower() == p.sig_header]
    hits = gw.upstream.hits()
    out = h1_one(gw.port, p.pki, h1_bytes(m, path, headers + sig + forged, tamper(body)))
    assert_refused(p, gw, out, hits, codec_ok=True)


def test_duplicated_signature_headers_forged_first(pg):
    """Rules 4, 5: a forged copy before the valid one, genuine body: either refused, or
    forwarded byte for byte — never an error that lets the upstream see something else."""
    p, gw = pg
    m, path, headers, body = p.signed()
    rest = [(n, v) for n, v in headers if n.lower() != p.sig_header]
    sig = [(n, v) for n, v in headers if n.lower() == p.sig_header]
    forged = [(n, v) for n, v in p.forged_signature(headers) if n.lower() == p.sig_header]
    hits = gw.upstream.hits()
    out = h1_one(gw.port, p.pki, h1_bytes(m, path, rest + forged + sig, body))
    if out.kind == "response" and out.status == 200 and out.reason is None:
        assert_forwarded(gw, out, body, hits)
    else:
        assert_refused(p, gw, out, hits, codec_ok=True)


@pytest.mark.parametrize("case", ["upper", "mixed"])
def test_case_varied_signature_header(pg, case):
    """Rules 4, 5: header names are case-insensitive: the signature under FSPIOP-SIGNATURE /
    Fspiop-Signature is the signature — valid body forwarded, tampered body refused (never
    "absent, so skipped")."""
    p, gw = pg
    m, path, headers, body = p.signed()
    f = str.upper if case == "upper" else str.title
    varied = [(f(n) if n.lower() == p.sig_header else n, v) for n, v in headers]
    hits = gw.upstream.hits()
    assert_forwarded(gw, h1_one(gw.port, p.pki, h1_bytes(m, path, varied, body)), body, hits)
    out = h1_one(gw.port, p.pki, h1_bytes(m, path, varied, tamper(body)))
    assert_refused(p, gw, out, hits + 1, reasons={"sig_invalid"})


@pytest.mark.parametrize("transport", ["h1", "h2-alpn"])
def test_oversized_signature_header_is_refused(pg, transport):
    """Rule 6: a 70 KiB signature header (Envoy's default header limit is 60 KiB): the codec
    (431, reset) or the filter refuses; the upstream sees nothing."""
    p, gw = pg
    m, path, headers, body = p.signed()
    big = [(n, v if n.lower() != p.sig_header else v + "A" * 70_000) for n, v in headers]
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, big, body)
    assert_refused(p, gw, out, hits, codec_ok=True)


def test_many_headers_are_refused(pg):
    """Rule 6: 150 extra headers (Envoy's default count limit is 100) on an unsigned request."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    extra = [(f"x-pad-{i}", "v") for i in range(150)]
    hits = gw.upstream.hits()
    out = h1_one(gw.port, p.pki, h1_bytes(m, path, headers + extra, body))
    assert_refused(p, gw, out, hits, codec_ok=True)


def test_connect_is_refused(pg):
    """Rule 10: CONNECT (a tunnel would carry unverified bytes) never reaches the upstream."""
    p, gw = pg
    hits = gw.upstream.hits()
    raw = b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n"
    # Envoy 1.40 leaves an h1 CONNECT without a route unanswered (no connect_matcher): a
    # timeout here is a refusal too, as long as nothing reached the upstream.
    out = h1_one(gw.port, p.pki, raw, timeout=1.5)
    assert settled_hits(gw, hits) == 0, out
    # A CONNECT has no path: the filters answer `internal` (fail closed), in the profile's
    # format — for MOSIP that is IDA's HTTP 200 error envelope.
    assert out.kind != "response" or out.status != 200 or out.reason == "internal", out


def test_connect_over_h2_is_refused(pg):
    """Rule 10: an HTTP/2 CONNECT stream (:method CONNECT) with unsigned data."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    hits = gw.upstream.hits()
    out = h2_exchange(gw.port, p.pki, "CONNECT", path, [(n.lower(), v) for n, v in headers], data=[body],
                      timeout=3)
    assert settled_hits(gw, hits) == 0, out
    assert out.kind != "response" or out.status != 200, out


@pytest.mark.parametrize("target", ["https://localhost{path}", "http://localhost{path}",
                                    "https://localhost/health/../{rel}"])
def test_absolute_form_unsigned_is_refused(pg, target):
    """Rules 10, 11: an absolute-form target (`POST https://host/path HTTP/1.1`) is the same
    route as its path: unsigned → refused (also when it dot-segments out of a skip prefix)."""
    p, gw = pg
    m, path, headers, body = p.unsigned()
    t = target.format(path=path, rel=path.lstrip("/"))
    hits = gw.upstream.hits()
    out = h1_one(gw.port, p.pki, h1_bytes(m, t, headers, body))
    assert_no_weaker_route(p, gw, out, hits, lambda path: path.startswith("/health/"))


@pytest.mark.parametrize("transport", ["h1", "h2-alpn"])
def test_injected_signet_headers_are_stripped(pg, transport):
    """Rules 12, 14: x-signet-* headers are Signet's own; one a partner sends (any case) never
    reaches the upstream with the partner's value."""
    p, gw = pg
    m, path, headers, body = p.signed()
    injected = [("X-Signet-Partner", "dfsp-b"), ("x-signet-reason", "ok"), ("X-SIGNET-VERIFIED", "true")]
    if transport != "h1":
        injected = [(n.lower(), v) for n, v in injected]
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers + injected, body)
    doc = assert_forwarded(gw, out, body, hits)
    seen = {(n.lower(), v) for n, v in doc["headers"]}
    assert not seen & {(n.lower(), v) for n, v in injected}, doc["headers"]


def test_head_and_options_carry_no_unverified_body(pg):
    """Rule 5: HEAD / OPTIONS to the signed route with no body — whatever the profile's policy
    for these methods, the upstream sees the method as sent and an empty body (no POST is made
    of them)."""
    p, gw = pg
    m, path, headers, _ = p.unsigned()
    for method in ("HEAD", "OPTIONS"):
        hits = gw.upstream.hits()
        out = send("h1", gw.port, p.pki, method, path, headers)
        if out.kind == "response" and out.status == 200 and out.reason is None:
            if method == "HEAD":
                assert out.body == b""
            else:
                doc = echo_of(out)
                assert doc["method"] == method and doc["body_b64"] == ""
            assert gw.upstream.hits() == hits + 1
        else:
            assert settled_hits(gw, hits) == 0, out
