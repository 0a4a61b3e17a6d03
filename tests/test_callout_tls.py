"""Callouts authenticate their server (security.md rule 13) through a real Envoy: token_check's
JWKS fetch and token_fetch's client-credentials call go to the local auth service over HTTPS,
with the test PKI's server certificate (SAN DNS:localhost, issued by the platform CA). With the
cluster pinned to that CA and SAN they work; pinned to another name, the TLS handshake fails,
nothing reaches the service (no JWKS request, no client secret) and the request fails closed:
503 keys_unavailable."""

from __future__ import annotations

import os
import time

import pytest

from authsvc import AuthService
from harness import https_request, start_gateway

SAN_A = "dfsp-a.partners.signet.test"
AUD = "signet-api"
SECRET_ENV = "SIGNET_TEST_CALLOUT_SECRET"


@pytest.fixture
def tls_auth(pki):
    svc = AuthService(tls=pki.client("platform", "server")).start()
    yield svc
    svc.stop()


def call(gw, pki, token: str | None = None):
    cert, key = pki.client("dfsp-a")
    headers = [("authorization", f"Bearer {token}")] if token else []
    return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, method="POST",
                         path="/transfers", headers=headers, body=b"{}", source_ip="127.0.0.1")


def reason(out) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get("x-signet-reason")


def token_check(svc: AuthService) -> list:
    provider = {"name": "auth", "issuer": svc.issuer, "audiences": [AUD],
                "jwks_uri": f"https://localhost{svc.jwks_path}", "jwks_cluster": "auth",
                "jwks_cache": {"min_refresh_interval": "1s", "retry_interval": "1s", "stale": "1m",
                               "unknown_kid_refetch_interval": "1s", "fetch_timeout": "2s"},
                "claim_to_partner": "client_id", "algorithms": ["RS256"]}
    return [{"root_id": "gateway", "configuration": {}},
            {"root_id": "token_check", "configuration": {
                "providers": [provider], "partners": [{"id": "dfsp-a", "tls_names": [SAN_A]}]}}]


def wait_status(fn, want: int, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    out = fn()
    while out.status != want and time.monotonic() < deadline:
        time.sleep(0.2)
        out = fn()
    return out


@pytest.mark.parametrize("san, works", [("DNS:localhost", True), ("DNS:auth.signet.test", False)])
def test_jwks_callout_is_pinned_to_the_servers_san(pki, tmp_path, tls_auth, san, works):
    cluster = tls_auth.cluster(ca=pki.platform_ca, san=san)
    token = tls_auth.token({"client_id": "dfsp-a", "aud": AUD})
    with start_gateway(tmp_path, pki, filters=token_check(tls_auth), params={"clusters": [cluster]}) as g:
        if works:
            out = wait_status(lambda: call(g, pki, token), 200)
            assert out.status == 200, (out.status, out.body, g.log()[-2000:])
            assert tls_auth.jwks_hits >= 1
            return
        time.sleep(2.5)  # the first fetch and at least one retry (retry_interval_s 1)
        hits = g.upstream.hits()
        out = call(g, pki, token)
        assert (out.status, reason(out)) == (503, "keys_unavailable"), out.body
        assert g.upstream.hits() == hits
        # The handshake failed: no HTTP request ever reached the service.
        assert tls_auth.jwks_hits == 0 and tls_auth.tls_failures >= 1
        assert g.counter("wasmcustom.signet.token_check.jwks.fetch_failed") >= 1


@pytest.mark.parametrize("san, works", [("DNS:localhost", True), ("DNS:auth.signet.test", False)])
def test_token_fetch_sends_its_secret_only_to_the_pinned_server(pki, tmp_path, tls_auth, san, works):
    os.environ[SECRET_ENV] = "s3cret-tls"
    tls_auth.clients["dfsp-a"] = "s3cret-tls"
    cfg = {"cluster": "auth", "token_uri": f"https://localhost{tls_auth.token_path}", "client_id": "dfsp-a",
           "client_secret_env": SECRET_ENV, "retry_interval": "1s", "timeout": "3s"}
    filters = [{"root_id": "token_fetch", "configuration": cfg, "host_env_keys": [SECRET_ENV]}]
    cluster = tls_auth.cluster(ca=pki.platform_ca, san=san)
    with start_gateway(tmp_path, pki, filters=filters, params={"clusters": [cluster]}) as g:
        out = call(g, pki)
        if works:
            assert out.status == 200, (out.status, out.body)
            seen = {n.lower(): v for n, v in out.json()["headers"]}
            assert seen["authorization"].startswith("Bearer ey") and tls_auth.token_hits == 1
            return
        assert (out.status, reason(out)) == (503, "keys_unavailable"), out.body
        assert tls_auth.token_hits == 0 and tls_auth.tls_failures >= 1
        assert "s3cret-tls" not in g.log()
