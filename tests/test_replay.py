"""The replay cache through a real Envoy: it keeps its promise (security.md rule 7) against an
authenticated partner's own traffic and against copies racing on two workers.

- Eviction: with a one-set table (8 entries), the partner's own fresh messages fill the set;
  the overflow is refused with 503 `replay_cache_full`, never stored by evicting, so the
  captured message stays a replay. (A table that evicts — direct-mapped or oldest-first — lets
  the captured message through again.)
- Race: Envoy with two workers; every copy of a message is held by Envoy until its last body
  byte (the filter decides at end of stream), then the last bytes of all copies are written
  back to back, so both workers decide copies of the same message within microseconds. The
  upstream must see each message exactly once. Both workers must also place a message in the
  same set (the salt is shared): a per-worker salt would let one copy through on each.
  This cannot force the two workers into the microsecond between a read and a write: the old
  cache (first writes without compare-and-swap) let about one message in 400 through twice
  on a busy 2-core machine, so this test (200 messages) caught it in 1 run of 4; the
  deterministic interleavings are the core's unit tests (`verify::replay::tests`).
"""

from __future__ import annotations

import http.client
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from harness import tls_context
from signet_cli import sign
from test_jws_verify import SAN_A, assert_forwarded, assert_refused, pem, reason, send, verify_filter

WINDOW = {"profile": {"mojaloop": {"date_window": "5m"}}, "replay_cache": True}


def config(pki, entries: int) -> dict:
    root = pki.root
    return {
        **WINDOW,
        "replay_cache_entries": entries,
        "partners": [{"id": "dfsp-a", "tls_names": [SAN_A],
                      "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]}],
    }


def signer(pki) -> dict:
    return {"profile": {"mojaloop": {"source_id": "dfsp-a"}},
            "signing_key": pem(pki.root / "dfsp-a/jws/rsa.key")}


def quote(i: int, tag: str) -> bytes:
    return f'{{"quoteId":"{tag}-{i}","amount":{{"currency":"USD","amount":"5"}}}}'.encode()


def sign_many(tmp_path, pki, tag: str, n: int) -> list:
    """n distinct signed messages (`signet sign`, four at a time, each in its own directory)."""
    s = signer(pki)

    def one(i: int):
        work = tmp_path / f"{tag}-{i}"
        work.mkdir()
        return sign(work, s, "POST", "/quotes", [], quote(i, tag))

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, range(n)))


def test_own_traffic_cannot_evict_a_captured_message(pki, gateway_factory, tmp_path):
    captured = sign(tmp_path, signer(pki), "POST", "/quotes", [], quote(0, "captured"))
    # 40 of the attacker's own messages: against an 8-slot table that evicts, one of them
    # would push the captured entry out with probability 1 - (7/8)^40 > 99.4 %.
    own = sign_many(tmp_path, pki, "own", 40)
    gw = gateway_factory(filters=verify_filter(config(pki, 8)))
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, captured), captured[3], hits)
    outs = [send(gw, pki, msg) for msg in own]
    accepted = sum(1 for o in outs if o.status == 200)
    # The replay: refused, and the upstream saw the captured message exactly once.
    assert_refused(gw, send(gw, pki, captured), "replay", 400, hits + 1 + accepted)
    full = [(o.status, reason(o)) for o in outs if o.status != 200]
    assert accepted == 7, "one set of 8: the captured entry + 7 of the attacker's"
    assert full == [(503, "replay_cache_full")] * 33
    assert gw.decisions("jws_verify", "replay_cache_full") == 33
    assert gw.decisions("jws_verify", "replay") == 1


def open_held(port: int, ctx, request) -> tuple[socket.socket, bytes]:
    """A TLS connection with the whole request written except the body's last byte."""
    method, path, headers, body = request
    head = f"{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n"
    for name, value in headers:
        if name.lower() not in ("content-length", "host"):
            head += f"{name}: {value}\r\n"
    head += f"content-length: {len(body)}\r\n\r\n"
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    tls.sendall(head.encode() + body[:-1])
    return tls, body[-1:]


def read_response(tls: socket.socket) -> tuple[int, str | None, bytes]:
    resp = http.client.HTTPResponse(tls)
    resp.begin()
    data = resp.read()
    return resp.status, resp.getheader("x-signet-reason"), data


def test_copies_racing_on_two_workers_pass_once(pki, gateway_factory, tmp_path):
    messages, copies = 200, 4
    signed = sign_many(tmp_path, pki, "race", messages)
    gw = gateway_factory(filters=verify_filter(config(pki, 10_000)), concurrency=2)
    hits = gw.upstream.hits()
    cert, key = pki.client("dfsp-a")
    ctx = tls_context(pki.platform_ca, cert, key)
    started = time.monotonic()
    # Every connection is accepted by one of the two workers (SO_REUSEPORT spreads them);
    # all copies of all messages are held in Envoy, waiting for their last byte.
    held = [[open_held(gw.port, ctx, msg) for _ in range(copies)] for msg in signed]
    try:
        for conns in held:
            for tls, last in conns:
                tls.sendall(last)
        results = [[read_response(tls) for tls, _ in conns] for conns in held]
    finally:
        for conns in held:
            for tls, _ in conns:
                tls.close()
    elapsed = time.monotonic() - started
    for i, outs in enumerate(results):
        passed = [o for o in outs if o[0] == 200]
        refused = [(o[0], o[1]) for o in outs if o[0] != 200]
        assert len(passed) == 1, f"message {i}: {len(passed)} of {copies} copies reached the upstream"
        assert refused == [(400, "replay")] * (copies - 1), refused
    assert gw.upstream.hits() == hits + messages
    assert gw.decisions("jws_verify", "replay") == messages * (copies - 1)
    # Every set existed on the data path (created at configure time, seen by both workers).
    assert gw.decisions("jws_verify", "internal") == 0
    assert elapsed < 20, elapsed
