"""token_check's `trust_jwt_authn` through a real Envoy: Envoy's own jwt_authn verifies the
token (local JWKS from tests/authsvc.py, `payload_in_metadata`) and token_check reads the
verified claims from the request's dynamic metadata, adding only what Signet adds: the partner
binding (certificate ↔ `participantId`), the policy and the audit record."""

from __future__ import annotations

import json
import time

import pytest

from authsvc import AuthService, Key
from harness import https_request, start_gateway
from test_token_check import AUD, SAN_A, SAN_B, audit_for, header, wait_for

PAYLOAD_KEY = "jwt_payload"
TOKEN_HEADER = "x-jwt"  # jwt_authn reads this one; token_check must read none


def jwt_authn_filter(svc: AuthService) -> dict:
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "auth": {
                    "issuer": svc.issuer,
                    "audiences": [AUD],
                    "local_jwks": {"inline_string": json.dumps(svc.jwks())},
                    "from_headers": [{"name": TOKEN_HEADER, "value_prefix": "Bearer "}],
                    "payload_in_metadata": PAYLOAD_KEY,
                }
            },
            "rules": [
                # /quotes: a token is required by jwt_authn itself.
                {"match": {"prefix": "/quotes"}, "requires": {"provider_name": "auth"}},
                # Elsewhere a missing token passes jwt_authn (no metadata); a bad one does not.
                {"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
                    {"provider_name": "auth"}, {"allow_missing": {}}]}}},
            ],
        },
    }


def token_check_config(svc: AuthService) -> dict:
    return {
        "providers": [{
            "name": "auth", "issuer": svc.issuer, "audiences": [AUD],
            # Never used in this mode (jwt_authn verified the signature); the claim rules are.
            "jwks": svc.jwks(),
            "claim_to_partner": "participantId", "required_scopes": ["transfers"],
        }],
        "trust_jwt_authn": {"payload_in_metadata": PAYLOAD_KEY},
        "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "policy": "fsp"},
            {"id": "dfsp-b", "tls_names": [SAN_B], "policy": "fsp"},
        ],
        "policies": [{"id": "fsp", "routes": [{"path_prefix": "/transfers"}, {"path_prefix": "/quotes"}]}],
        "forward_partner_header": "x-signet-partner",
    }


def claims(partner: str = "dfsp-a", **extra) -> dict:
    return {"participantId": partner, "aud": AUD, "scope": "transfers quotes", **extra}


def call(gw, pki, token: str | None = None, *, party="dfsp-a", path="/transfers",
         token_header: str = TOKEN_HEADER, headers: list | None = None):
    cert, key = pki.client(party)
    hdrs = list(headers or [])
    if token is not None:
        hdrs.append((token_header, f"Bearer {token}"))
    src = {"dfsp-a": "127.0.0.1", "dfsp-b": "127.0.0.2"}[party]
    return https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key, method="POST", path=path,
                         headers=hdrs, body=b"{}", source_ip=src)


@pytest.fixture(scope="module")
def auth():
    svc = AuthService().start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def gw(auth, pki, tmp_path_factory):
    filters = [{"root_id": "token_check", "configuration": token_check_config(auth)}]
    with start_gateway(tmp_path_factory.mktemp("jwt_authn"), pki, filters=filters,
                       params={"native_filters_before": [jwt_authn_filter(auth)]}) as g:
        yield g


def test_jwt_authn_sits_before_token_check(gw):
    names = [f["name"] for f in gw.params["native_filters_before"]]
    assert names == ["envoy.filters.http.jwt_authn"]
    text = gw.config.read_text()
    assert text.index("envoy.filters.http.jwt_authn") < text.index("envoy.filters.http.wasm")


def test_verified_claims_bind_the_partner(gw, auth, pki):
    hits = gw.upstream.hits()
    out = call(gw, pki, auth.token(claims()), headers=[("x-signet-partner", "dfsp-b")])
    assert out.status == 200, (out.status, out.body, gw.log()[-3000:])
    seen = {n.lower(): v for n, v in out.json()["headers"]}
    assert seen["x-signet-partner"] == "dfsp-a"
    assert gw.upstream.hits() == hits + 1
    assert gw.decisions("token_check", "ok", "dfsp-a") >= 1


def test_token_of_another_partner_is_peer_mismatch(gw, auth, pki):
    hits = gw.upstream.hits()
    out = call(gw, pki, auth.token(claims("dfsp-b")))
    assert (out.status, header(out, "x-signet-reason")) == (403, "peer_mismatch"), out.body
    assert gw.upstream.hits() == hits


def test_no_token_is_token_missing_from_token_check(gw, pki):
    out = call(gw, pki, None)
    assert (out.status, header(out, "x-signet-reason")) == (401, "token_missing"), out.body
    assert "bearer" in (header(out, "www-authenticate") or "").lower()


def test_no_token_where_jwt_authn_requires_one_is_its_own_401(gw, pki):
    out = call(gw, pki, None, path="/quotes")
    assert out.status == 401
    assert header(out, "x-signet-reason") is None  # jwt_authn answered, token_check never ran
    assert b"Jwt is missing" in out.body


def test_bad_token_is_refused_by_jwt_authn(gw, auth, pki):
    out = call(gw, pki, auth.token(claims(), key=Key("k1")))  # same kid, another key
    assert out.status == 401 and header(out, "x-signet-reason") is None, out.body
    assert b"Jwt verification fails" in out.body


def test_token_check_reads_no_token_header_itself(gw, auth, pki):
    # A valid token that jwt_authn does not look at (it reads x-jwt): no metadata, so missing.
    out = call(gw, pki, auth.token(claims()), token_header="authorization")
    assert (out.status, header(out, "x-signet-reason")) == (401, "token_missing"), out.body


def test_claim_rules_still_apply_to_verified_claims(gw, auth, pki):
    out = call(gw, pki, auth.token(claims(scope="quotes")))
    assert (out.status, header(out, "x-signet-reason")) == (401, "token_invalid"), out.body


def test_audit_record_says_jwt_authn_verified_the_token(gw, auth, pki):
    request_id = f"jwt-authn-{time.monotonic_ns()}"
    out = call(gw, pki, auth.token(claims(jti="authn-jti-1")), headers=[("x-request-id", request_id)])
    assert out.status == 200, out.body
    record, _ = audit_for(gw, request_id)
    assert record["decision"] == "allow" and record["partner"] == "dfsp-a"
    assert record["token_verifier"] == "jwt_authn"
    assert record["token_id"] == "jti:authn-jti-1"
    assert record["provider"] == "auth"
    assert record["sources"] == ["certificate", "token"]
    assert wait_for(lambda: "metadata_invalid" not in gw.log())
