"""The per-worker caches through a real Envoy with two workers (`--concurrency 2`): token_check's
JWKS and token cache, token_fetch's access token, jws_verify's OCEN registry cache. Each lives
in the root context of one worker's VM, so each worker fetches on its own; these tests show the
promises hold on BOTH workers, not just on whichever one a test happened to hit.

Forcing requests onto each worker: the listener balances connections exactly
(`connection_balance_config: exact_balance`, through start_gateway's `patch=`), so each new
connection goes to the worker with the fewest open ones. The tests open keep-alive connections
one at a time and learn each one's worker from the admin's per-worker gauge
(`listener.<name>.worker_<n>.downstream_cx_active`): 2n connections are n per worker, and a
request sent on a connection is served by that connection's worker.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from authsvc import AuthService
from harness import start_gateway, tls_context
from test_ocen_registry import (BODY as OCEN_BODY, GATEWAY_TOKEN, PATH as OCEN_PATH, TOKEN_ENV,
                                FakeRegistry, jwk_from_pem, ocen_signature, role)
from test_token_check import (FAST_JWKS, GATEWAY, SAN_A, claims_a, fetch_gateway, provider,
                              token_check_config, wait_for)

WORKERS = 2
PER_WORKER = 4  # keep-alive connections per worker


def exact_balance(doc: dict) -> None:
    """start_gateway patch: every listener hands a new connection to its least busy worker."""
    for listener in doc["static_resources"]["listeners"]:
        listener["connection_balance_config"] = {"exact_balance": {}}


def per_worker(gw, stat: str) -> dict[int, int]:
    """A per-worker stat of the gateway's listener (stat prefix: the listener's name)."""
    out = {}
    for name, value in gw.stats(".worker_").items():
        m = re.fullmatch(rf"listener\.(?!admin\.)[^.]+\.worker_(\d+)\.{stat}", name)
        if m:
            out[int(m.group(1))] = value
    return out


def active_per_worker(gw) -> dict[int, int]:
    """Open downstream connections of the gateway's listener, per worker."""
    return per_worker(gw, "downstream_cx_active")


def total_per_worker(gw) -> dict[int, int]:
    return per_worker(gw, "downstream_cx_total")


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes
    worker: int

    @property
    def reason(self) -> str | None:
        return self.headers.get("x-signet-reason")

    def json(self):
        return json.loads(self.body)

    def upstream_saw(self, name: str) -> str | None:
        """A request header as the upstream (scripts/upstream.py's echo) received it."""
        return {n.lower(): v for n, v in self.json()["headers"]}.get(name)


class Conn:
    """A keep-alive mTLS connection that stays on one worker: a response that would close it
    (so the next request would reconnect, possibly to the other worker) fails the test."""

    def __init__(self, gw, ctx, source_ip: str):
        self.http = http.client.HTTPSConnection("127.0.0.1", gw.port, timeout=15, context=ctx,
                                                source_address=(source_ip, 0))
        self.http.connect()
        self.sock = self.http.sock
        self.worker = -1

    def request(self, method: str, path: str, headers: list, body: bytes | None = None,
                last: bool = False) -> Reply:
        """One request; last=True: the connection may close after it (not used again)."""
        assert self.http.sock is self.sock, "connection was reopened: its worker is unknown"
        self.http.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            self.http.putheader(name, value)
        if body is not None:
            self.http.putheader("content-length", str(len(body)))
        self.http.endheaders(body)
        resp = self.http.getresponse()
        data = resp.read()
        assert last or not resp.will_close, f"Envoy closed the connection after {resp.status}"
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, self.worker)

    def close(self) -> None:
        self.http.close()


@contextlib.contextmanager
def pinned(gw, pki, party: str = "dfsp-a", source_ip: str = "127.0.0.1", per_worker: int = PER_WORKER):
    """per_worker keep-alive connections on each worker, each tagged with its worker."""
    cert, key = pki.client(party)
    ctx = tls_context(pki.platform_ca, cert, key)
    conns: list[Conn] = []
    # Connections closed earlier are gone from the gauges first (the balance counts open ones).
    assert wait_for(lambda: sum(active_per_worker(gw).values()) == 0, timeout=5), active_per_worker(gw)
    totals = total_per_worker(gw)
    try:
        for i in range(WORKERS * per_worker):
            before = active_per_worker(gw)
            conn = Conn(gw, ctx, source_ip)
            conns.append(conn)
            after = wait_for(lambda: (lambda a: a if sum(a.values()) == i + 1 else None)(active_per_worker(gw)),
                             timeout=5, step=0.02)
            assert after, f"connection {i} not seen by Envoy: {active_per_worker(gw)}"
            grew = [w for w in after if after[w] == before.get(w, 0) + 1]
            assert len(grew) == 1, (before, after)
            conn.worker = grew[0]
        counts = active_per_worker(gw)
        assert counts == {w: per_worker for w in range(WORKERS)}, counts
        now = total_per_worker(gw)
        assert {w: now[w] - totals.get(w, 0) for w in now} == counts, "the listener took these only"
        yield conns
    finally:
        for conn in conns:
            conn.close()


def on_all(conns, fn) -> list[Reply]:
    """fn(conn) on every connection at once (one thread per connection)."""
    with ThreadPoolExecutor(len(conns)) as pool:
        return list(pool.map(fn, conns))


def one_per_worker(conns) -> list[Conn]:
    return [next(c for c in conns if c.worker == w) for w in range(WORKERS)]


def by_worker(replies) -> dict[int, list]:
    out: dict[int, list] = {}
    for r in replies:
        out.setdefault(r.worker, []).append(r)
    return out


def with_token(token: str | None):
    def send(conn: Conn) -> Reply:
        headers = [("authorization", f"Bearer {token}")] if token else []
        return conn.request("GET", "/quotes", headers)
    return send


def fresh_token(svc: AuthService, **claims):
    """A new token (distinct jti) for each request: never served from the token cache."""
    return lambda conn: with_token(svc.token(claims_a(**claims)))(conn)


def statuses(replies) -> list:
    return sorted((r.worker, r.status, r.reason) for r in replies)


def expect(replies, status: int, reason: str | None) -> None:
    want = sorted((w, status, reason) for w in range(WORKERS) for _ in range(len(replies) // WORKERS))
    assert statuses(replies) == want, [(r.worker, r.status, r.reason) for r in replies]


def token_gateway(svc: AuthService, pki, tmp_path, **jwks):
    """A platform gateway with token_check against svc, two workers, exact balance."""
    cfg = token_check_config(svc)
    cfg["providers"] = [provider(svc, jwks_cache={**FAST_JWKS, **jwks})]
    filters = [GATEWAY, {"root_id": "token_check", "configuration": cfg}]
    return start_gateway(tmp_path, pki, filters=filters, params={"clusters": [svc.cluster()]},
                         concurrency=WORKERS, patch=exact_balance)


C = "wasmcustom.signet.token_check."


# --- token_check: JWKS and token cache ----------------------------------------------------------


def test_rotation_is_accepted_on_both_workers_with_one_refetch_each(pki, tmp_path):
    svc = AuthService().start()
    try:
        # A 5 s unknown-kid interval: everything below happens within one interval.
        with token_gateway(svc, pki, tmp_path, unknown_kid_refetch_interval_s=5) as gw, \
                pinned(gw, pki) as conns:
            first = one_per_worker(conns)
            assert wait_for(lambda: all(with_token(svc.token(claims_a()))(c).status == 200 for c in first))
            # One fetch per worker at start, plus one by the root context of the main thread's
            # VM (Envoy configures the plugin there too; its keys never serve a request).
            assert wait_for(lambda: svc.jwks_hits == WORKERS + 1, timeout=2), svc.jwks_hits
            # The token cache is per worker: the same token is verified once on each worker.
            old = svc.token(claims_a())
            hits = gw.counter(C + "cache_hit")
            expect([with_token(old)(c) for c in first + first], 200, None)
            assert gw.counter(C + "cache_hit") == hits + WORKERS

            jwks = svc.jwks_hits
            waits = gw.counter(C + "kid_wait")
            svc.rotate()
            svc.delay_s = 0.5  # the refetch is slow: every request below arrives while it runs
            # Signed with the new kid, on 4 connections per worker at once: all accepted.
            expect(on_all(conns, fresh_token(svc)), 200, None)
            assert svc.jwks_hits == jwks + WORKERS, "one refetch per worker (single flight)"
            assert WORKERS <= gw.counter(C + "kid_wait") - waits <= len(conns)
            svc.delay_s = 0
            # More unknown kids within the interval: refused, and no further refetch.
            unknown = svc.token(claims_a(), header={"alg": "RS256", "kid": "not-rotated-in"})
            expect(on_all(conns, with_token(unknown)), 401, "token_invalid")
            assert svc.jwks_hits == jwks + WORKERS
            # The new key set replaced the old one on both workers: the token cached on each
            # under the old keys is no longer served.
            expect([with_token(old)(c) for c in first], 401, "token_invalid")
            assert gw.counter(C + "jwks.fetch_failed") == 0
    finally:
        svc.stop()


def test_auth_service_down_both_workers_serve_cached_keys_within_the_stale_bound(pki, tmp_path):
    svc = AuthService(max_age=1).start()  # keys fresh for 1 s, then stale
    try:
        with token_gateway(svc, pki, tmp_path, stale_s=3) as gw, pinned(gw, pki) as conns:
            first = one_per_worker(conns)
            assert wait_for(lambda: all(with_token(svc.token(claims_a()))(c).status == 200 for c in first))
            cached = svc.token(claims_a())
            expect([with_token(cached)(c) for c in first], 200, None)
            svc.stop()
            down = time.monotonic()
            failed = gw.counter(C + "jwks.fetch_failed")
            # Past the keys' lifetime (each worker's last fetch was before `down`; 1 s max-age):
            # both workers serve their stale keys.
            time.sleep(1.5)
            expect(on_all(conns, fresh_token(svc)), 200, None)
            # Past lifetime + stale_s: both workers fail closed.
            time.sleep(max(0.0, down + 1 + 3 + 0.5 - time.monotonic()))
            expect(on_all(conns, fresh_token(svc)), 503, "keys_unavailable")
            assert gw.counter(C + "jwks.fetch_failed") >= failed + WORKERS
            # Up again: both recover on their next retry (1 s), same Envoy, same connections.
            svc.start()
            assert wait_for(lambda: all(r.status == 200 for r in on_all(conns, fresh_token(svc))), timeout=5)
    finally:
        svc.stop()


def test_cached_token_fails_closed_past_the_stale_bound_on_both_workers(pki, tmp_path):
    """A token verified (and cached) while the keys were fresh must not pass once those keys are
    past their stale bound: every other request then gets 503 keys_unavailable (fail closed)."""
    svc = AuthService(max_age=1).start()
    try:
        with token_gateway(svc, pki, tmp_path, stale_s=2) as gw, pinned(gw, pki, per_worker=1) as conns:
            assert wait_for(lambda: all(with_token(svc.token(claims_a()))(c).status == 200 for c in conns))
            cached = svc.token(claims_a())
            expect([with_token(cached)(c) for c in conns], 200, None)
            svc.stop()
            time.sleep(1 + 2 + 0.5)
            expect([fresh_token(svc)(c) for c in conns], 503, "keys_unavailable")
            # The same keys verified this token: it must not outlive them either.
            expect([with_token(cached)(c) for c in conns], 503, "keys_unavailable")
    finally:
        svc.stop()


def test_before_the_first_fetch_both_workers_503_then_both_recover(pki, tmp_path):
    svc = AuthService()  # not started: connection refused
    try:
        with token_gateway(svc, pki, tmp_path) as gw, pinned(gw, pki) as conns:
            hits = gw.upstream.hits()
            assert wait_for(lambda: gw.counter(C + "jwks.fetch_failed") >= WORKERS)
            expect(on_all(conns, fresh_token(svc)), 503, "keys_unavailable")
            assert gw.upstream.hits() == hits
            pid = gw.proc.popen.pid
            svc.start()
            started = time.monotonic()
            # Each worker retries after retry_interval_s (1 s) and recovers on its own.
            assert wait_for(lambda: all(r.status == 200 for r in on_all(conns, fresh_token(svc))), timeout=5)
            assert time.monotonic() - started < 4
            expect(on_all(conns, fresh_token(svc)), 200, None)
            assert gw.proc.alive() and gw.proc.popen.pid == pid
            assert gw.counter(C + "jwks.fetch_ok") >= WORKERS
            assert gw.upstream.hits() >= hits + 2 * len(conns)
    finally:
        svc.stop()


# --- token_fetch: the access token --------------------------------------------------------------


def test_token_fetch_one_token_per_worker(pki, tmp_path):
    svc = AuthService().start()
    svc.delay_s = 0.5  # every request below arrives while its worker's fetch runs
    try:
        with fetch_gateway(tmp_path, pki, svc, concurrency=WORKERS, patch=exact_balance) as gw, \
                pinned(gw, pki) as conns:
            send = lambda c: c.request("GET", "/quotes", [("authorization", "Bearer app-own")])  # noqa: E731
            replies = on_all(conns, send)
            expect(replies, 200, None)
            assert svc.token_hits == WORKERS, "one client-credentials grant per worker"
            replies += on_all(conns, send)
            expect(replies, 200, None)
            assert svc.token_hits == WORKERS, "the token is reused for its lifetime"
            seen = {w: {r.upstream_saw("authorization") for r in rs} for w, rs in by_worker(replies).items()}
            assert all(len(tokens) == 1 for tokens in seen.values()), seen
            for (token,) in seen.values():
                assert token.startswith("Bearer ")
                check_token(svc, token.removeprefix("Bearer "), "dfsp-a")
            assert len({t for tokens in seen.values() for t in tokens}) == WORKERS, "each worker its own"
            assert gw.counter("wasmcustom.signet.token_fetch.fetch_ok") == WORKERS
    finally:
        svc.stop()


def check_token(svc: AuthService, token: str, client_id: str) -> None:
    """The token the upstream saw is one the auth service issued (signature, claims, not expired)."""
    h, p, s = token.split(".")
    pad = lambda x: base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))  # noqa: E731
    header, claims = json.loads(pad(h)), json.loads(pad(p))
    assert header["kid"] == svc.key.kid
    svc.key.private.public_key().verify(pad(s), f"{h}.{p}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert claims["client_id"] == client_id and claims["iss"] == svc.issuer
    assert claims["exp"] > time.time()


# --- jws_verify: the OCEN registry cache ------------------------------------------------------


def test_registry_key_fetched_once_per_worker(pki, tmp_path):
    auth = AuthService().start()
    registry = FakeRegistry().start()
    registry.delay_s = 0.5  # every request below arrives while its worker's fetch runs
    jwk_a = jwk_from_pem(pki.root / "dfsp-a" / "jws" / "rsa.pub")
    registry.roles["dfsp-a"] = role(jwk_a)
    prov = provider(auth, required_scopes=[], audiences=[])
    prov.pop("claim_to_partner")
    token_check = {"providers": [prov], "partners": [{"id": "dfsp-a", "tls_names": [SAN_A]}],
                   "error_format": "ocen"}
    verify = {"profile": {"ocen": {"registry": {
        "url": "http://registry.ocen.test/service", "cluster": "registry", "timeout": "3s",
        "token_env": TOKEN_ENV}}}}
    filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check},
               {"root_id": "jws_verify", "host_env_keys": [TOKEN_ENV], "configuration": verify}]
    signature = ocen_signature(pki.root / "dfsp-a" / "jws" / "rsa.key", OCEN_BODY)

    def send(conn: Conn, participant: str = "dfsp-a") -> Reply:
        headers = [("content-type", "application/json"), ("x-jws-signature", signature),
                   ("authorization", f"Bearer {auth.token({'participantId': participant})}")]
        return conn.request("POST", OCEN_PATH, headers, OCEN_BODY, last=participant != "dfsp-a")

    try:
        with start_gateway(tmp_path, pki, filters=filters, env={TOKEN_ENV: GATEWAY_TOKEN},
                           concurrency=WORKERS, patch=exact_balance,
                           params={"clusters": [auth.cluster(),
                                                {"name": "registry", "host": "127.0.0.1",
                                                 "port": registry.port}]}) as gw, \
                contextlib.ExitStack() as stack:
            # Both workers' JWKS (token_check) first: until then a request is 503 before it
            # reaches jws_verify. A participant absent from the registry (404) costs a fetch of
            # its own, not one of dfsp-a. Envoy closes a connection after a refusal of a request
            # with a body, so each round runs on new connections, one per worker.
            def warm() -> bool:
                with pinned(gw, pki, per_worker=1) as pair:
                    return all(r.status == 400 for r in on_all(pair, lambda c: send(c, "LA-warmup")))
            assert wait_for(warm)
            assert registry.hits("dfsp-a") == 0 and registry.hits("LA-warmup") <= WORKERS
            conns = stack.enter_context(pinned(gw, pki))
            hits = gw.upstream.hits()
            waits = gw.counter("wasmcustom.signet.jws_verify.registry.wait")
            replies = on_all(conns, send)
            expect(replies, 200, None)
            assert registry.hits("dfsp-a") == WORKERS, "one registry fetch per worker (single flight)"
            assert WORKERS <= gw.counter("wasmcustom.signet.jws_verify.registry.wait") - waits <= len(conns)
            replies = on_all(conns, send)
            expect(replies, 200, None)
            assert registry.hits("dfsp-a") == WORKERS, "then served from each worker's cache"
            assert gw.upstream.hits() == hits + 2 * len(conns)
            assert all(h.get("authorization") == f"Bearer {GATEWAY_TOKEN}"
                       for p, h in registry.requests if p.endswith("/dfsp-a"))
            assert gw.counter("wasmcustom.signet.jws_verify.registry.fetch_ok") == WORKERS
    finally:
        registry.stop()
        auth.stop()
