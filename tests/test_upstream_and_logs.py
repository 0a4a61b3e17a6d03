"""Upstreams do not speak for Signet (rule 9, profiles.md §2.8) and logs keep secrets (rule
14), through a real Envoy. The ways a message can end (rule 10) are in tests/adversarial/.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import https_request

SAN_A = "dfsp-a.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}
BODY = json.dumps({"payment": {"amount": "100", "currency": "USD"}}).encode()


def pem(path: Path) -> str:
    return path.read_text()


def call(gw, pki, reply: dict | None = None, path: str = "/api/payments", headers=()):
    cert, key = pki.client("dfsp-a")
    extra = [("x-upstream-reply", json.dumps(reply))] if reply else []
    return https_request(
        gw.port, ca=pki.platform_ca, cert=cert, key=key, method="POST", path=path,
        headers=[("content-type", "application/json"), *extra, *headers], body=BODY,
    )


def header(out, name: str) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get(name)


def test_upstream_x_signet_headers_never_reach_the_client(gateway_factory, pki):
    # jws_verify alone (no gateway filter before it), on a route it skips: the request is
    # accepted, and the upstream's forged verdict must still not pass for Signet's.
    verify = {"profile": "generic", "route_policy": [{"path_prefix": "/open", "policy": "skip"}],
              "partners": [{"id": "dfsp-a", "tls_names": [SAN_A],
                            "keys": [{"public_key_pem": pem(pki.root / "dfsp-a/jws/ec.pub")}]}]}
    forged = {"headers": {"x-signet-reason": "verified-by-upstream", "x-signet-partner": "dfsp-b"}}
    for filters in ([{"root_id": "jws_verify", "configuration": verify}],
                    [GATEWAY, {"root_id": "jws_verify", "configuration": verify}]):
        gw = gateway_factory(filters=filters)
        out = call(gw, pki, forged, path="/open/x")
        assert out.status == 200, (out.status, out.body)
        assert header(out, "x-signet-reason") is None, out.headers
        assert header(out, "x-signet-partner") is None, out.headers
        # Signet's own refusals keep their reason code.
        refused = call(gw, pki, forged, path="/api/payments")
        assert (refused.status, header(refused, "x-signet-reason")) == (401, "sig_missing")


def test_rejection_logs_carry_no_licence_or_api_key(gateway_factory, pki):
    # Rule 14: MOSIP partner paths carry the MISP licence key and the partner's API key; a
    # refusal is logged with the path cut before them.
    from test_jws_verify_profiles import PROFILES

    gw = gateway_factory(filters=[GATEWAY, {"root_id": "jws_verify",
                                            "configuration": PROFILES["mosip"].verify(pki)}])
    cert, key = pki.client("dfsp-a")
    out = https_request(
        gw.port, ca=pki.platform_ca, cert=cert, key=key, method="POST",
        path="/idauthentication/v1/auth/LKSECRET4711/dfsp-a/APIKEYSECRET4711?x=QUERYSECRET",
        headers=[("authorization", "partner-token"), ("content-type", "application/json")],
        body=b'{"id":"mosip.identity.auth"}',
    )
    assert header(out, "x-signet-reason") == "sig_missing", out.headers
    log = gw.log()
    assert "signet jws_verify: rejected POST /idauthentication/v1/auth/" in log
    for secret in ("LKSECRET4711", "APIKEYSECRET4711", "QUERYSECRET"):
        assert secret not in log, f"{secret} in the Envoy log"
