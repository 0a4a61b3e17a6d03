"""The verdicts every adversarial case ends with: what reached the upstream (counted after a
short settle) and what the client was answered."""

from __future__ import annotations

import base64
import time

# Seconds to let a request Envoy might still be forwarding reach the upstream before counting:
# short after an answer (a local reply is not raced by a forwarded copy), longer after a
# reset, a close or silence.
SETTLE_ANSWERED = 0.1
SETTLE_UNANSWERED = 0.5


# --- verdicts ----------------------------------------------------------------------------------


def settled_hits(gw, before: int, answered: bool = False) -> int:
    """Requests that reached the upstream since `before`, after giving a wrongly forwarded one
    time to arrive."""
    time.sleep(SETTLE_ANSWERED if answered else SETTLE_UNANSWERED)
    return gw.upstream.hits() - before


def assert_refused(p, gw, out, hits_before: int, reasons=None, codec_ok: bool = False,
                   filter_ok: bool = True):
    """The request never reached the upstream, and the answer is a refusal: the filter's (the
    profile's status for the reason in `x-signet-reason`, the reason one of `reasons` when given)
    or — with codec_ok — Envoy's own (400/403/404/413/431 without a Signet reason, a reset, or a
    closed connection)."""
    assert settled_hits(gw, hits_before, out.kind == "response") == 0, f"reached the upstream: {out!r}"
    if out.kind == "response" and out.reason is not None:
        assert filter_ok, f"expected Envoy's own refusal, got the filter's: {out!r}"
        assert out.status == p.status(out.reason), (p.name, out)
        if reasons is not None:
            assert out.reason in reasons, (reasons, out)
        return
    assert codec_ok, f"expected the filter's refusal with x-signet-reason: {out!r}"
    assert out.kind in ("response", "reset", "closed"), out
    if out.kind == "response":
        assert out.status in (400, 403, 404, 405, 413, 431, 501), out


def echo_of(out) -> dict:
    assert out.kind == "response" and out.status == 200, out
    doc = out.json()
    assert "hit" in doc, f"not the upstream's echo: {out!r}"
    return doc


def assert_forwarded(gw, out, body: bytes, hits_before: int) -> dict:
    """Accepted: 200 from the upstream, which got exactly `body`, once."""
    doc = echo_of(out)
    assert base64.b64decode(doc["body_b64"]) == body, "the upstream must get the exact signed bytes"
    assert gw.upstream.hits() == hits_before + 1
    return doc


# --- one reading of the path (rule 11) -----------------------------------------------------------

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def canonical(path: str) -> bool:
    """True when `path` (query excluded) has one reading: no `//`, no `.`/`..` segment, no `;`,
    no `\\`, and no percent-escape of `/`, `\\` or an unreserved character, no malformed one."""
    p = path.split("?", 1)[0]
    if not p.startswith("/") or "//" in p or ";" in p or "\\" in p:
        return False
    if any(seg in (".", "..") for seg in p.split("/")):
        return False
    i = 0
    while i < len(p):
        if p[i] == "%":
            h = p[i + 1:i + 3]
            if len(h) != 2 or any(c not in "0123456789abcdefABCDEF" for c in h):
                return False
            ch = chr(int(h, 16))
            if ch in UNRESERVED or ch in "/\\":
                return False
            i += 3
        else:
            i += 1
    return True


def assert_no_weaker_route(p, gw, out, hits_before: int, weaker_ok):
    """An unsigned request sent by a path spelling: refused (as assert_refused with codec_ok),
    or — only when Envoy rewrote it — received by the upstream at a canonical path that really
    is on the weaker route (`weaker_ok(path)`): then the route policy and the upstream read the
    same path. Anything else that reached the upstream is the bypass."""
    got = settled_hits(gw, hits_before, out.kind == "response")
    if got == 0:
        assert_refused(p, gw, out, hits_before, codec_ok=True)
        return
    doc = echo_of(out)
    path = doc["path"]
    assert canonical(path) and weaker_ok(path), (
        f"an unsigned request reached the upstream at {path!r}, which does not read as the "
        f"skipped route: {out!r}")
