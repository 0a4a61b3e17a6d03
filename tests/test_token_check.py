"""token_check and token_fetch through a real Envoy, against the local auth service of
tests/authsvc.py: bearer tokens and their JWKS (fetched by callout, rotated, down, garbage), API
and licence keys, the one-partner binding across certificate, token and JWS signer, the audit
record in the access log, and the client-credentials token on the egress."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import os
import re
import time

import pytest

from authsvc import AuthService, Key, hs256, jwt
from harness import https_request, start_gateway
from signet_cli import sign

SAN_A = "dfsp-a.partners.signet.test"
SAN_B = "dfsp-b.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}
AUD = "signet-api"
FAST_JWKS = {"min_refresh_interval_s": 1, "retry_interval_s": 1, "unknown_kid_refetch_interval_s": 1,
             "stale_s": 60, "fetch_timeout_ms": 2000}


def provider(svc: AuthService, **extra) -> dict:
    return {"name": "auth", "issuer": svc.issuer, "audiences": [AUD],
            "jwks_uri": f"http://auth.signet.test{svc.jwks_path}", "jwks_cluster": "auth",
            "jwks_cache": FAST_JWKS, "claim_to_partner": "client_id", "required_scopes": ["transfers"],
            "algorithms": ["RS256", "ES256"], **extra}


def token_check_config(svc: AuthService, **extra) -> dict:
    return {
        "providers": [provider(svc)],
        "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "policy": "fsp"},
            {"id": "dfsp-b", "tls_names": [SAN_B], "policy": "fsp"},
        ],
        "policies": [{"id": "fsp", "routes": [{"path_prefix": "/transfers"}, {"path_prefix": "/quotes"}]}],
        "forward_partner_header": "x-signet-partner",
        "route_policy": [{"path_prefix": "/health", "policy": "skip"}],
        **extra,
    }


def header(out, name: str) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get(name)


def call(gw, pki, token: str | None = None, *, party="dfsp-a", method="POST", path="/transfers",
         headers: list | None = None, body: bytes | None = b"{}", **kw):
    cert, key = pki.client(party)
    hdrs = list(headers or [])
    if token is not None:
        hdrs.append(("authorization", f"Bearer {token}"))
    src = {"dfsp-a": "127.0.0.1", "dfsp-b": "127.0.0.2"}.get(party)
    return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, method=method, path=path,
                         headers=hdrs, body=body, source_ip=src, **kw)


def wait_for(predicate, timeout: float = 10.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def claims_a(**extra) -> dict:
    return {"client_id": "dfsp-a", "aud": AUD, "scope": "transfers quotes", **extra}


def audit_for(gw, request_id: str, filter: str = "token_check") -> tuple[dict, dict]:
    """A filter's audit record of a request and the request's whole JSON access-log entry."""
    entry = gw.access_log(request_id)
    assert filter in entry["audit"], entry
    return entry["audit"][filter], entry


# --- provider side: one shared gateway ------------------------------------------------------


@pytest.fixture(scope="module")
def auth():
    svc = AuthService().start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def gw(auth, pki, tmp_path_factory):
    filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check_config(auth)}]
    with start_gateway(tmp_path_factory.mktemp("tc"), pki, filters=filters,
                       params={"clusters": [auth.cluster()]}) as g:
        # The first tick fetches the JWKS; until then requests get 503 keys_unavailable.
        assert wait_for(lambda: call(g, pki, auth.token(claims_a())).status == 200), g.log()[-3000:]
        yield g


def test_valid_token_is_forwarded_with_the_bound_partner(gw, auth, pki):
    hits = gw.upstream.hits()
    out = call(gw, pki, auth.token(claims_a()), headers=[("x-signet-partner", "dfsp-b")])
    assert out.status == 200, (out.status, out.body)
    seen = {n.lower(): v for n, v in out.json()["headers"]}
    # The forged header is gone; the bound partner is what the upstream sees.
    assert seen["x-signet-partner"] == "dfsp-a"
    assert gw.upstream.hits() == hits + 1
    assert gw.decisions("token_check", "ok", "dfsp-a") >= 1


def test_health_route_is_skipped(gw, pki):
    assert call(gw, pki, None, method="GET", path="/health", body=None).status == 200


NOW = int(time.time())
OTHER_KEY = Key("k1")  # same kid as the auth service's first key, but not its key


@pytest.mark.parametrize("case,make,reason,detail", [
    ("missing", lambda a: None, "token_missing", "no credential"),
    ("expired", lambda a: a.token(claims_a(exp=int(time.time()) - 120)), "token_expired", "token expired"),
    ("not_yet_valid", lambda a: a.token(claims_a(nbf=int(time.time()) + 600)), "token_invalid", "nbf"),
    ("wrong_iss", lambda a: a.token(claims_a(iss="http://evil.example/realms/signet")), "token_invalid",
     "issuer not accepted"),
    ("wrong_aud", lambda a: a.token(claims_a(aud="other-api")), "token_invalid", "audience not accepted"),
    ("missing_scope", lambda a: a.token(claims_a(scope="quotes")), "token_invalid", "required scope missing"),
    ("unknown_kid", lambda a: a.token(claims_a(), header={"alg": "RS256", "kid": "no-such-kid"}),
     "token_invalid", "kid not in the provider's key set"),
    ("alg_hs256", lambda a: hs256({"alg": "HS256", "kid": a.key.kid}, {"iss": a.issuer, **claims_a(),
                                  "exp": int(time.time()) + 60}, json.dumps(a.key.jwk).encode()),
     "token_invalid", "algorithm not allowed"),
    ("alg_none", lambda a: jwt({"alg": "none", "kid": a.key.kid}, {"iss": a.issuer, **claims_a(),
                               "exp": int(time.time()) + 60}, None), "token_invalid", "algorithm not allowed"),
    ("key_not_in_jwks", lambda a: a.token(claims_a(), key=OTHER_KEY, header={"alg": "RS256", "kid": a.key.kid}),
     "token_invalid", "token signature invalid"),
])
def test_bad_tokens_are_refused_with_401(gw, auth, pki, case, make, reason, detail):
    hits = gw.upstream.hits()
    before = gw.decisions("token_check", reason)
    request_id = f"bad-{case}-{time.monotonic_ns()}"
    out = call(gw, pki, make(auth), headers=[("x-request-id", request_id)])
    assert (out.status, header(out, "x-signet-reason")) == (401, reason), (out.status, out.headers, out.body)
    challenge = header(out, "www-authenticate") or ""
    assert challenge.startswith("Bearer realm=")
    if reason == "token_missing":
        assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials
    else:
        assert 'error="invalid_token"' in challenge
    assert out.json() == {"error": reason}
    assert gw.upstream.hits() == hits, "a refused request must never reach the upstream"
    assert gw.decisions("token_check", reason) == before + 1
    # The log names what failed (the reply does not).
    assert wait_for(lambda: detail in gw.log()), f"log lacks {detail!r}"
    record, _ = audit_for(gw, request_id)
    assert (record["decision"], record["reason"], record["status"]) == ("deny", reason, 401)


def test_token_of_partner_a_over_certificate_of_b_is_peer_mismatch(gw, auth, pki):
    hits = gw.upstream.hits()
    out = call(gw, pki, auth.token(claims_a()), party="dfsp-b")
    assert (out.status, header(out, "x-signet-reason")) == (403, "peer_mismatch"), out.body
    assert gw.upstream.hits() == hits
    assert gw.decisions("token_check", "peer_mismatch") >= 1


def test_route_outside_the_policy_is_403(gw, auth, pki):
    hits = gw.upstream.hits()
    out = call(gw, pki, auth.token(claims_a()), path="/admin/users")
    assert (out.status, header(out, "x-signet-reason")) == (403, "partner_inactive"), out.body
    assert gw.upstream.hits() == hits
    assert gw.decisions("token_check", "partner_inactive", "dfsp-a") >= 1


def test_cached_token_is_served_from_the_cache(gw, auth, pki):
    tok = auth.token(claims_a())
    before = gw.counter("wasmcustom.signet.token_check.cache_hit")
    assert call(gw, pki, tok).status == 200
    assert call(gw, pki, tok).status == 200
    assert gw.counter("wasmcustom.signet.token_check.cache_hit") == before + 1


def test_access_log_holds_the_audit_record_without_secrets(gw, auth, pki):
    tok = auth.token(claims_a(jti="audit-jti-1"))
    request_id = f"audit-{time.monotonic_ns()}"
    out = call(gw, pki, tok, headers=[("x-request-id", request_id)], path="/transfers?secret=1")
    assert out.status == 200
    record, entry = audit_for(gw, request_id)
    assert record["decision"] == "allow" and record["reason"] == "ok"
    assert record["partner"] == "dfsp-a" and record["provider"] == "auth"
    assert record["token_id"] == "jti:audit-jti-1"
    assert record["sources"] == ["certificate", "token"]
    assert record["policy"] == "fsp"
    assert record["method"] == "POST" and record["route"] == "/transfers"
    assert re.fullmatch(r"[0-9a-f]{64}", record["cert_sha256"] or ""), record
    signature = tok.rsplit(".", 1)[1]
    log = gw.log()
    assert tok not in log and signature not in log and "secret=1" not in json.dumps(entry)


def log_token_claims(doc: dict) -> None:
    """Adds the claims token_check writes to every JSON access-log format of the config."""
    if isinstance(doc, dict):
        if isinstance(doc.get("json_format"), dict):
            doc["json_format"]["token_claims"] = "%FILTER_STATE(wasm.signet.token_claims:PLAIN)%"
        for v in doc.values():
            log_token_claims(v)
    elif isinstance(doc, list):
        for v in doc:
            log_token_claims(v)


@pytest.mark.parametrize("claims", [True, False])
def test_claims_reach_filter_state_unless_told_not_to(auth, pki, tmp_path, claims):
    # `claims_in_filter_state: false` saves a write per request where nothing reads them.
    cfg = token_check_config(auth, **({} if claims else {"claims_in_filter_state": False}))
    filters = [GATEWAY, {"root_id": "token_check", "configuration": cfg}]
    with start_gateway(tmp_path, pki, filters=filters, params={"clusters": [auth.cluster()]},
                       patch=log_token_claims) as g:
        assert wait_for(lambda: call(g, pki, auth.token(claims_a())).status == 200), g.log()[-3000:]
        for _ in range(2):  # verified, then from the cache
            request_id = f"claims-{time.monotonic_ns()}"
            assert call(g, pki, auth.token(claims_a(jti="c-1")),
                        headers=[("x-request-id", request_id)]).status == 200
            logged = g.access_log(request_id).get("token_claims")
            if claims:
                assert json.loads(logged)["client_id"] == "dfsp-a", logged
            else:
                assert logged in (None, "-", ""), logged


def test_key_rotation_is_picked_up_at_once(gw, auth, pki):
    old = auth.token(claims_a())
    assert call(gw, pki, old).status == 200
    hits = auth.jwks_hits
    auth.rotate()  # a new key in, the old one out; the cached JWKS is fresh for another 5 min
    new = auth.token(claims_a())
    started = time.monotonic()
    out = call(gw, pki, new)
    assert out.status == 200, (out.status, out.body)
    assert auth.jwks_hits == hits + 1, "one refetch, triggered by the unknown kid"
    assert time.monotonic() - started < 3
    assert gw.counter("wasmcustom.signet.token_check.kid_wait") >= 1
    # The old key is gone: a token signed with it no longer passes, even though it was cached.
    time.sleep(1.1)
    out = call(gw, pki, old)
    assert (out.status, header(out, "x-signet-reason")) == (401, "token_invalid")


def test_garbage_jwks_keeps_the_previous_keys(gw, auth, pki):
    good = auth.token(claims_a())
    assert call(gw, pki, good).status == 200
    rejected = gw.counter("wasmcustom.signet.token_check.jwks.body_rejected")
    auth.mode = "garbage"
    try:
        time.sleep(1.1)  # past the unknown-kid interval
        hits = auth.jwks_hits
        out = call(gw, pki, auth.token(claims_a(), header={"alg": "RS256", "kid": "rotated-maybe"}))
        assert (out.status, header(out, "x-signet-reason")) == (401, "token_invalid")
        assert auth.jwks_hits == hits + 1
        assert gw.counter("wasmcustom.signet.token_check.jwks.body_rejected") == rejected + 1
        assert call(gw, pki, auth.token(claims_a())).status == 200, "previous keys must stay in use"
    finally:
        auth.mode = "ok"


def test_jwks_answer_with_a_header_outside_utf8_is_read(gw, auth, pki):
    """A Cache-Control value with obs-text (legal in HTTP, not UTF-8) on the JWKS answer: the
    root reads it without crashing its VM (proxy-wasm's `get_map_value` panics on it) and
    takes the keys."""
    auth.cache_control = "max-age=300, \xff"
    try:
        time.sleep(1.1)  # past the unknown-kid interval
        hits = auth.jwks_hits
        auth.rotate()
        out = call(gw, pki, auth.token(claims_a()))
        assert out.status == 200, (out.status, out.body)
        assert auth.jwks_hits == hits + 1
        assert "panicked" not in gw.log()
    finally:
        auth.cache_control = None


# --- JWKS endpoint down at start --------------------------------------------------------------


def test_jwks_down_at_start_is_503_then_recovers(pki, tmp_path):
    svc = AuthService()  # not started: connection refused
    filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check_config(svc)}]
    try:
        with start_gateway(tmp_path, pki, filters=filters, params={"clusters": [svc.cluster()]}) as g:
            hits = g.upstream.hits()
            out = call(g, pki, svc.token(claims_a()))
            assert (out.status, header(out, "x-signet-reason")) == (503, "keys_unavailable"), out.body
            assert g.upstream.hits() == hits
            assert wait_for(lambda: g.counter("wasmcustom.signet.token_check.jwks.fetch_failed") >= 1)
            svc.start()
            assert wait_for(lambda: call(g, pki, svc.token(claims_a())).status == 200, timeout=10)
            assert g.upstream.hits() >= hits + 1
    finally:
        svc.stop()


# --- API keys, licence keys (MOSIP model) -----------------------------------------------------

AUTH_PATH = "/idauthentication/v1/auth"


@pytest.fixture(scope="module")
def mosip_gw(pki, tmp_path_factory):
    config = {
        "partners": [{"id": "dfsp-a", "tls_names": [SAN_A], "api_keys": [
            {"key": "AK-live-123", "policy": "auth"},
            {"key": "AK-revoked-456", "policy": "auth", "status": "revoked"},
        ]}],
        "policies": [{"id": "auth", "routes": [{"methods": ["POST"], "path_prefix": f"{AUTH_PATH}/"}]}],
        "misps": [{"id": "misp-1", "partners": ["dfsp-a"], "license_keys": [
            {"key": "LK-live-789"},
            {"key": "LK-old-000", "not_after": "2021-01-01T00:00:00Z"},
        ]}],
        "api_key": {"path_templates": [".../{license}/{partner}/{api_key}"]},
    }
    filters = [GATEWAY, {"root_id": "token_check", "configuration": config}]
    with start_gateway(tmp_path_factory.mktemp("mosip"), pki, filters=filters) as g:
        yield g


@pytest.mark.parametrize("path,status,reason", [
    (f"{AUTH_PATH}/LK-live-789/dfsp-a/AK-live-123", 200, None),
    (f"{AUTH_PATH}/LK-live-789/dfsp-a/AK-revoked-456", 403, "partner_inactive"),
    (f"{AUTH_PATH}/LK-old-000/dfsp-a/AK-live-123", 403, "partner_inactive"),
    ("/idauthentication/v1/kyc/LK-live-789/dfsp-a/AK-live-123", 403, "partner_inactive"),
    (f"{AUTH_PATH}/LK-live-789/dfsp-a/AK-unknown", 401, "key_unknown"),
    (f"{AUTH_PATH}/LK-live-789/dfsp-b/AK-live-123", 401, "key_unknown"),
])
def test_api_and_licence_keys(mosip_gw, pki, path, status, reason):
    hits = mosip_gw.upstream.hits()
    request_id = f"mosip-{time.monotonic_ns()}"
    out = call(mosip_gw, pki, None, path=path, headers=[("x-request-id", request_id)])
    assert (out.status, header(out, "x-signet-reason")) == (status, reason), out.body
    assert mosip_gw.upstream.hits() == hits + (1 if status == 200 else 0)
    record, entry = audit_for(mosip_gw, request_id)
    # Keys appear only hashed, in the record and anywhere else in the log.
    for secret in ("AK-live-123", "AK-revoked-456", "LK-live-789", "LK-old-000"):
        assert secret not in json.dumps(entry)
        assert secret not in mosip_gw.log()
    assert re.fullmatch(r"[0-9a-f]{12}", record["api_key"] or ""), record
    if status != 401:  # an unknown API key stops the check before the licence is looked at
        assert re.fullmatch(r"[0-9a-f]{12}", record["licence_key"] or ""), record
    assert "LK-" not in record["route"] and "AK-" not in record["route"]
    if status == 200:
        assert record["misp"] == "misp-1" and record["policy"] == "auth" and record["partner"] == "dfsp-a"


# --- token_check + jws_verify: one partner from certificate, token and signature ---------------

TRANSFER = b'{"transferId":"b51ec534","payerFsp":"dfsp-a","payeeFsp":"dfsp-b","amount":{"currency":"USD","amount":"100"}}'


@pytest.fixture(scope="module")
def bound_gw(auth, pki, tmp_path_factory):
    root = pki.root
    # jws_verify's registry has no TLS names: the peer it binds the signer to can only be the
    # partner token_check bound (filter state signet.partner).
    verify = {"profile": "mojaloop", "partners": [
        {"id": "dfsp-a", "keys": [{"public_key_pem": (root / "dfsp-a/jws/rsa.pub").read_text()}]},
        {"id": "dfsp-b", "keys": [{"public_key_pem": (root / "dfsp-b/jws/rsa.pub").read_text()}]},
    ]}
    filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check_config(auth)},
               {"root_id": "jws_verify", "configuration": verify}]
    work = tmp_path_factory.mktemp("bound-sign")
    signed = {}
    for fsp in ("dfsp-a", "dfsp-b"):
        cfg = {"profile": {"mojaloop": {"source_id": fsp}}, "signing_key": (root / f"{fsp}/jws/rsa.key").read_text()}
        d = work / fsp
        d.mkdir()
        signed[fsp] = sign(d, cfg, "POST", "/transfers",
                           [("content-type", "application/json"), ("fspiop-destination", "hub")], TRANSFER)
    with start_gateway(tmp_path_factory.mktemp("bound"), pki, filters=filters,
                       params={"clusters": [auth.cluster()]}) as g:
        assert wait_for(lambda: call(g, pki, auth.token(claims_a()), method="GET", path="/quotes",
                                     body=None).status == 200)
        yield g, signed, verify


def send_signed(g, pki, token, request, party="dfsp-a", request_id=None):
    method, path, headers, body = request
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
    if request_id:
        headers.append(("x-request-id", request_id))
    return call(g, pki, token, method=method, path=path, headers=headers, body=body, party=party)


def test_jws_of_the_token_partner_passes(bound_gw, auth, pki):
    g, signed, _ = bound_gw
    request_id = f"bound-ok-{time.monotonic_ns()}"
    out = send_signed(g, pki, auth.token(claims_a()), signed["dfsp-a"], request_id=request_id)
    assert out.status == 200, (out.status, out.body, header(out, "x-signet-reason"))
    assert base64.b64decode(out.json()["body_b64"]) == signed["dfsp-a"][3]
    record, entry = audit_for(g, request_id, "jws_verify")
    assert (record["decision"], record["partner"]) == ("allow", "dfsp-a")
    assert entry["signet_signature"] == "verified"
    assert entry["audit"]["token_check"]["partner"] == "dfsp-a"


def test_jws_signed_by_b_with_token_of_a_is_403(bound_gw, auth, pki):
    g, signed, _ = bound_gw
    hits = g.upstream.hits()
    request_id = f"bound-bad-{time.monotonic_ns()}"
    out = send_signed(g, pki, auth.token(claims_a()), signed["dfsp-b"], request_id=request_id)
    assert (out.status, header(out, "x-signet-reason")) == (403, "peer_mismatch"), out.body
    assert g.upstream.hits() == hits
    assert g.decisions("jws_verify", "peer_mismatch") >= 1
    record, entry = audit_for(g, request_id)
    assert record["decision"] == "allow"
    assert entry["audit"]["jws_verify"]["reason"] == "peer_mismatch"


def test_without_token_check_the_signer_has_no_peer(bound_gw, auth, pki, tmp_path):
    # The control: the same jws_verify alone cannot bind the signer (no TLS names), so the
    # pass above really came from token_check's partner.
    _, signed, verify = bound_gw
    with start_gateway(tmp_path, pki, filters=[GATEWAY, {"root_id": "jws_verify", "configuration": verify}]) as g2:
        out = send_signed(g2, pki, None, signed["dfsp-a"])
        assert (out.status, header(out, "x-signet-reason")) == (403, "peer_mismatch"), out.body


# --- OCEN provider side: the token's participantId selects the signing key --------------------


@pytest.fixture(scope="module")
def ocen(auth, pki, tmp_path_factory):
    root = pki.root
    tc = token_check_config(auth, error_format="ocen")
    tc["providers"] = [provider(auth, claim_to_partner="participantId", required_scopes=[], audiences=[])]
    tc["partners"] = [{"id": "3051", "tls_names": [SAN_A]}, {"id": "3052", "tls_names": [SAN_B]}]
    tc.pop("policies")
    verify = {"profile": "ocen", "partners": [
        {"id": "3051", "registry_status": "APPROVED",
         "keys": [{"public_key_pem": (root / "dfsp-a/jws/rsa.pub").read_text()}]},
        {"id": "3052", "registry_status": "APPROVED",
         "keys": [{"public_key_pem": (root / "dfsp-b/jws/rsa.pub").read_text()}]},
    ]}
    filters = [GATEWAY, {"root_id": "token_check", "configuration": tc},
               {"root_id": "jws_verify", "configuration": verify}]
    body = b'{"metadata":{"version":"4.0.0","originatorParticipantId":"3051","requestId":"r-1"},"loanApplications":[]}'
    path = "/v4.0.0alpha/loanApplications/createLoanRequest"
    work = tmp_path_factory.mktemp("ocen-sign")
    signed = {}
    for party, key in (("own", "dfsp-a"), ("other", "dfsp-b")):
        d = work / party
        d.mkdir()
        signed[party] = sign(d, {"profile": "ocen", "signing_key": (root / f"{key}/jws/rsa.key").read_text()},
                             "POST", path, [("content-type", "application/json")], body)
    with start_gateway(tmp_path_factory.mktemp("ocen"), pki, filters=filters,
                       params={"clusters": [auth.cluster()]}) as g:
        yield g, signed


def ocen_token(auth):
    return auth.token({"participantId": "3051"})


def test_ocen_request_signed_with_the_participants_key_passes(ocen, auth, pki):
    g, signed = ocen
    assert wait_for(lambda: send_signed(g, pki, ocen_token(auth), signed["own"]).status != 503)
    out = send_signed(g, pki, ocen_token(auth), signed["own"])
    assert out.status == 200, (out.status, out.body, header(out, "x-signet-reason"))


def test_ocen_request_signed_with_another_participants_key_is_refused(ocen, auth, pki):
    g, signed = ocen
    assert wait_for(lambda: send_signed(g, pki, ocen_token(auth), signed["own"]).status == 200)
    hits = g.upstream.hits()
    out = send_signed(g, pki, ocen_token(auth), signed["other"])
    assert (out.status, header(out, "x-signet-reason")) == (401, "sig_invalid"), out.body
    assert out.json()["error"] == "Unauthorized"
    assert g.upstream.hits() == hits


def test_ocen_token_failure_is_springs_empty_401(ocen, auth, pki):
    g, signed = ocen
    out = send_signed(g, pki, auth.token({"participantId": "3051"}, ttl_s=-200), signed["own"])
    assert (out.status, header(out, "x-signet-reason")) == (401, "token_expired")
    assert header(out, "www-authenticate") == 'Bearer error="invalid_token"' and out.body == b""
    out = send_signed(g, pki, None, signed["own"])
    assert header(out, "www-authenticate") == "Bearer" and out.status == 401


# --- client side: token_fetch -----------------------------------------------------------------

SECRET_ENV = "SIGNET_TEST_CLIENT_SECRET"


def fetch_gateway(tmp_path, pki, svc, **kw):
    os.environ[SECRET_ENV] = "s3cret-a"
    svc.clients["dfsp-a"] = "s3cret-a"
    cfg = {"cluster": "auth", "token_uri": f"http://auth.signet.test{svc.token_path}", "client_id": "dfsp-a",
           "client_secret_env": SECRET_ENV, "retry_interval_s": 1, "timeout_ms": 3000}
    filters = [{"root_id": "token_fetch", "configuration": cfg, "host_env_keys": [SECRET_ENV]}]
    return start_gateway(tmp_path, pki, filters=filters, params={"clusters": [svc.cluster()]}, **kw)


def bearer_seen(out) -> str | None:
    seen = {n.lower(): v for n, v in out.json()["headers"]}
    return seen.get("authorization")


def test_concurrent_requests_share_one_token_fetch(pki, tmp_path):
    svc = AuthService().start()
    svc.delay_s = 0.5
    try:
        with fetch_gateway(tmp_path, pki, svc) as g:
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                outs = list(pool.map(lambda _: call(g, pki, None, headers=[("authorization", "Bearer app-own")],
                                                    timeout=10), range(16)))
            assert [o.status for o in outs] == [200] * 16, [(o.status, o.body) for o in outs]
            tokens = {bearer_seen(o) for o in outs}
            assert len(tokens) == 1 and tokens.pop().startswith("Bearer ey")
            assert svc.token_hits == 1
            req = svc.token_requests[0]
            assert req["form"] == {"grant_type": "client_credentials", "client_id": "dfsp-a",
                                   "client_secret": "s3cret-a"}
            assert req["content_type"] == "application/x-www-form-urlencoded"
            assert g.counter("wasmcustom.signet.token_fetch.waited") == 16
            assert "s3cret-a" not in g.log() and "s3cret-a" not in g.config.read_text()
    finally:
        svc.stop()


def test_token_is_renewed_after_expiry(pki, tmp_path):
    svc = AuthService().start()
    svc.token_ttl_s = 2  # a lifetime under 2 min is used for half of it: 1 s
    try:
        with fetch_gateway(tmp_path, pki, svc) as g:
            first = bearer_seen(call(g, pki, None))
            assert bearer_seen(call(g, pki, None)) == first and svc.token_hits == 1
            time.sleep(1.2)
            second = bearer_seen(call(g, pki, None))
            assert second != first and svc.token_hits == 2
    finally:
        svc.stop()


def test_auth_service_down_is_a_clear_503(pki, tmp_path):
    svc = AuthService()  # never started
    try:
        with fetch_gateway(tmp_path, pki, svc) as g:
            hits = g.upstream.hits()
            out = call(g, pki, None)
            assert (out.status, header(out, "x-signet-reason")) == (503, "keys_unavailable"), out.body
            assert "no access token from the auth service" in out.json()["message"]
            assert g.upstream.hits() == hits
            # Within the retry interval the auth service is not called again.
            out = call(g, pki, None)
            assert out.status == 503
            svc.token_mode = "error"
            svc.start()
            time.sleep(1.1)
            out = call(g, pki, None)
            assert out.status == 503 and "503" in out.json()["message"]
            svc.token_mode = "ok"
            time.sleep(1.1)
            assert call(g, pki, None).status == 200
    finally:
        svc.stop()
