"""jws_verify state through a real Envoy: the replay cache in proxy-wasm shared data (shared by
every worker) and the freshness window, on a gateway with several workers."""

from __future__ import annotations

from test_jws_verify import SAN_A, assert_forwarded, assert_refused, pem, send, verify_filter
from signet_cli import sign

BODY = b'{"quoteId":"q-1","amount":{"currency":"USD","amount":"5"}}'


def test_replay_is_refused_across_workers(pki, gateway_factory, tmp_path):
    root = pki.root
    config = {
        "profile": {"mojaloop": {"date_window": "5m"}}, "replay_cache": True, "replay_cache_entries": 1000,
        "partners": [{"id": "dfsp-a", "tls_names": [SAN_A], "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]}],
    }
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a"}}, "signing_key": pem(root / "dfsp-a/jws/rsa.key")}
    first = sign(tmp_path, signer, "POST", "/quotes", [], BODY)
    gw = gateway_factory(filters=verify_filter(config), concurrency=2)
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, first), first[3], hits)
    # Each request opens a new connection, so the resends may land on either worker.
    for _ in range(4):
        out = send(gw, pki, first)
        assert_refused(gw, out, "replay", 400, hits + 1)
    # A new message (new Date) from the same partner is fresh.
    import time
    time.sleep(1.1)
    second = sign(tmp_path, signer, "POST", "/quotes", [], BODY)
    assert_forwarded(gw, send(gw, pki, second), second[3], hits + 1)


def test_stale_date_is_refused(pki, gateway_factory, tmp_path):
    root = pki.root
    config = {
        "profile": {"mojaloop": {"date_window_s": 60}},
        "partners": [{"id": "dfsp-a", "tls_names": [SAN_A], "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]}],
    }
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a"}}, "signing_key": pem(root / "dfsp-a/jws/rsa.key")}
    old = sign(tmp_path, signer, "POST", "/quotes", [("date", "Tue, 02 Jun 2026 10:00:00 GMT")], BODY)
    gw = gateway_factory(filters=verify_filter(config))
    out = send(gw, pki, old)
    assert_refused(gw, out, "stale", 400, gw.upstream.hits())
