"""The whole OCEN journey through two real Envoys and a real auth service, nothing stubbed:

    loan agent app ─HTTP─▶ egress: token_fetch (client credentials) + jws_sign (b64:false)
        ─mTLS─▶ platform: token_check (participantId) + jws_verify (that participant's key)
        ─▶ lender API ─▶ platform: jws_sign (response) ─▶ egress: jws_verify (response) ─▶ app

The application sends a plain unsigned request without a token; what reaches the lender is
authenticated three ways (mTLS, token, body signature) and bound to one participant.
"""

from __future__ import annotations

import contextlib

import pytest

from authsvc import AuthService
from harness import start_gateway
from jws_check import http_request, split, verify_independently
from test_token_check import provider, wait_for
from test_two_gateways import GATEWAY, SAN_A, header, key_env, pem, upstream_saw

SECRET_ENV = "SIGNET_OCEN_CLIENT_SECRET"
PATH = "/v4.0.0alpha/loanApplications/createLoanRequest"
BODY = b'{"metadata":{"version":"4.0.0","originatorParticipantId":"dfsp-a","requestId":"r-1"},"loanApplications":[]}'


def platform_filters(svc):
    return [
        GATEWAY,
        {"root_id": "jws_sign", "name": "signet.jws_sign.response", "configuration": {
            "profile": "ocen", "direction": "response", "kid": "lender-1",
            "signing_key_env": "SIGNET_PLATFORM_JWS_KEY"}},
        {"root_id": "token_check", "configuration": {
            "providers": [provider(svc, claim_to_partner="participantId", required_scopes=[], audiences=[])],
            "partners": [{"id": "dfsp-a", "tls_names": [SAN_A]}],
            # An x-signet-* name: jws_verify, after token_check, must leave it to the upstream.
            "forward_partner_header": "x-signet-partner",
            "error_format": "ocen"}},
        {"root_id": "jws_verify", "configuration": {
            "profile": {"ocen": {"bind_originator": True}},
            "partners": [{"id": "dfsp-a", "registry_status": "APPROVED",
                          "keys": [{"public_key_pem": "@pki:dfsp-a/jws/rsa.pub"}]}]}},
    ]


def egress_filters(svc, signing_key_env="SIGNET_EGRESS_JWS_KEY"):
    return [
        GATEWAY,
        {"root_id": "jws_verify", "configuration": {
            "profile": {"ocen": {"peer_participant_id": "lender"}}, "direction": "response",
            "partners": [{"id": "lender", "keys": [{"public_key_pem": "@pki:platform/jws/rsa.pub"}]}]}},
        {"root_id": "token_fetch", "host_env_keys": [SECRET_ENV], "configuration": {
            "cluster": "auth", "token_uri": f"http://auth.signet.test{svc.token_path}",
            "client_id": "dfsp-a", "client_secret_env": SECRET_ENV, "retry_interval": "1s",
            "timeout": "3s"}},
        {"root_id": "jws_sign", "configuration": {
            "profile": "ocen", "kid": "agent-1", "signing_key_env": signing_key_env}},
    ]


@contextlib.contextmanager
def journey(tmp_path_factory, pki, egress_key="dfsp-a/jws/rsa.key"):
    svc = AuthService().start()
    svc.clients["dfsp-a"] = "s3cret-a"
    svc.default_claims["participantId"] = "dfsp-a"  # what the OCEN auth service puts in tokens
    clusters = {"clusters": [svc.cluster()]}
    try:
        with start_gateway(tmp_path_factory.mktemp("lender"), pki, filters=platform_filters(svc),
                           params=clusters,
                           env=key_env(pki, {"SIGNET_PLATFORM_JWS_KEY": "platform/jws/rsa.key"})) as lender:
            params = {"platform_host": "127.0.0.1", "platform_port": lender.port,
                      "platform_sni": "localhost", "partner": "dfsp-a", **clusters}
            env = key_env(pki, {"SIGNET_EGRESS_JWS_KEY": egress_key}) | {SECRET_ENV: "s3cret-a"}
            with start_gateway(tmp_path_factory.mktemp("agent"), pki, filters=egress_filters(svc),
                               template="egress.yaml", listener="egress", params=params, env=env,
                               with_upstream=False) as agent:
                yield svc, lender, agent
    finally:
        svc.stop()


def send(agent, body=BODY):
    return http_request(agent.port, "POST", PATH, [("content-type", "application/json")], body)


def test_ocen_journey_token_signature_and_signed_response(pki, tmp_path_factory):
    with journey(tmp_path_factory, pki) as (svc, lender, agent):
        # JWKS and the first token arrive by callout: until then the lender answers 503.
        out = wait_for(lambda: (lambda o: o if o.status == 200 else None)(send(agent)), timeout=15)
        assert out, send(agent).body
        seen, got = upstream_saw(out)
        assert got == BODY
        # The lender saw the fetched bearer token and the agent's unencoded detached JWS.
        assert header(seen, "authorization").startswith("Bearer ey")
        assert [v for n, v in seen if n.lower() == "x-signet-partner"] == ["dfsp-a"]
        h, s = split(header(seen, "x-jws-signature"))
        verify_independently(h, s, got, pem(pki, "dfsp-a/jws/rsa.pub"))
        # The app got the lender's signed response, checked by the agent's egress.
        h, s = split(out.header("x-jws-signature"))
        verify_independently(h, s, out.body, pem(pki, "platform/jws/rsa.pub"))
        assert svc.token_hits == 1, "one client-credentials grant serves every request"
        assert send(agent).status == 200 and svc.token_hits == 1
        assert lender.decisions("jws_verify", "ok", "dfsp-a") >= 2


def test_ocen_journey_wrong_key_is_refused_with_a_signed_error(pki, tmp_path_factory):
    # The agent signs with another participant's key: the lender refuses (401, Spring's shape),
    # signs its refusal, and the agent's egress verifies that refusal before the app sees it.
    with journey(tmp_path_factory, pki, egress_key="dfsp-b/jws/rsa.key") as (svc, lender, agent):
        out = wait_for(lambda: (lambda o: o if o.status != 503 else None)(send(agent)), timeout=15)
        assert out and out.status == 401, (out.status if out else None)
        assert out.json()["error"] == "Unauthorized" and lender.upstream.hits() == 0
        h, s = split(out.header("x-jws-signature"))
        verify_independently(h, s, out.body, pem(pki, "platform/jws/rsa.pub"))
