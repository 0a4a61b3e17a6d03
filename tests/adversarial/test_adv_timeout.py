"""Bodies that never end (security.md rule 10: "a message that never ends is answered with the
profile's error after a bound"). Each profile's gateway here sets jws_verify's
`body_timeout: "1.5s"`; a request whose body has not ended within it is answered by the filter
with reason `body_timeout` in the profile's format (generic 408) within about a second after
the bound, and the upstream sees nothing. A body dribbled within the bound still passes.
"""

from __future__ import annotations

import pytest

from adv_profiles import NAMES
from adv_wire import TRANSPORTS, h1_bytes, h1_exchange, h2_exchange, send, split
from adv_verdicts import assert_forwarded, assert_refused

BOUND_S = 1.5
SLACK_S = 2.0  # "within about a second after the bound", plus a loaded CI machine


@pytest.fixture(params=NAMES)
def pg(request, pool):
    return pool.get(request.param, "timeout", body_timeout=f"{BOUND_S}s")


def stalled(transport, p, gw, m, path, headers, part: bytes):
    """Headers and `part` of the body, then silence; waits up to the bound + 4 s for an answer."""
    if transport == "h1":
        raw = h1_bytes(m, path, headers + [("Content-Length", str(len(part) + 100))], part,
                       content_length=False)
        out = h1_exchange(gw.port, p.pki, [raw], timeout=BOUND_S + 4)
        responses = [r for r in out if r.kind == "response"]
        return responses[0] if responses else out[-1]
    return h2_exchange(gw.port, p.pki, m, path, [(n.lower(), v) for n, v in headers],
                       data=[part] if part else [], end_stream=False, alpn=transport == "h2-alpn",
                       timeout=BOUND_S + 4)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stalled_signed_body_gets_body_timeout(pg, transport):
    """Rule 10: a signed request whose body stops halfway: body_timeout after the bound."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    out = stalled(transport, p, gw, m, path, headers, body[: len(body) // 2])
    assert out.kind == "response", f"no answer to a stalled body within the bound: {out!r}"
    assert_refused(p, gw, out, hits, reasons={"body_timeout"})
    assert BOUND_S - 0.2 <= out.elapsed <= BOUND_S + SLACK_S, out.elapsed


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stalled_unsigned_headers_only_gets_body_timeout(pg, transport):
    """Rule 10: headers without END_STREAM (h1: a Content-Length with no body), nothing more:
    answered within the bound — body_timeout, or sig_missing if the filter decides on the
    headers already (it may: no trailer can add a signature)."""
    p, gw = pg
    m, path, headers, _ = p.unsigned()
    hits = gw.upstream.hits()
    out = stalled(transport, p, gw, m, path, headers, b"")
    assert out.kind == "response", f"no answer to a stalled body within the bound: {out!r}"
    assert_refused(p, gw, out, hits, reasons={"body_timeout", "sig_missing"})
    assert out.elapsed <= BOUND_S + SLACK_S, out.elapsed


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_dribbled_body_within_bound_passes(pg, transport):
    """Rule 10 (the other side of the bound): 5 pieces 0.15 s apart end well inside 1.5 s."""
    p, gw = pg
    m, path, headers, body = p.signed()
    hits = gw.upstream.hits()
    out = send(transport, gw.port, p.pki, m, path, headers, frames=split(body, len(body) // 5 + 1), gap=0.15)
    assert_forwarded(gw, out, body, hits)
