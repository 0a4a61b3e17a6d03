"""Every way a message ends reaches a verdict (security.md rule 10), and upstreams do not speak
for Signet (rule 9, profiles.md §2.8) — through a real Envoy.

Response trailers come from the demo upstream (`x-upstream-reply`), read by Envoy because the
test enables HTTP/1 trailers on the upstream cluster (Envoy drops them by default). Request
trailers and stalled bodies need HTTP/2 and live in tests/adversarial/.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness import https_request

SAN_A = "dfsp-a.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}
BODY = json.dumps({"payment": {"amount": "100", "currency": "USD"}}).encode()


def pem(path: Path) -> str:
    return path.read_text()


def upstream_trailers(doc: dict) -> None:
    """Lets Envoy read the demo upstream's HTTP/1 trailers (a `patch` for start_gateway)."""
    for cluster in doc["static_resources"]["clusters"]:
        if cluster["name"] == "upstream":
            cluster["typed_extension_protocol_options"] = {
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http_protocol_options": {"enable_trailers": True}},
                }
            }


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


def test_response_with_trailers_leaves_signed(gateway_factory, pki):
    sign = {"root_id": "jws_sign", "configuration": {
        "profile": "generic", "direction": "response", "sign_responses": True,
        "signing_key": pem(pki.root / "dfsp-a/jws/ec.key")}}
    gw = gateway_factory(filters=[GATEWAY, sign], patch=upstream_trailers)
    body = json.dumps({"status": "ok"})
    out = call(gw, pki, {"body": body, "trailers": {"x-checksum": "abc"}})
    assert out.status == 200, (out.status, out.body)
    assert out.body == body.encode()
    jws = header(out, "x-jws-signature")
    assert jws, f"a response that ends with trailers left unsigned: {out.headers}"
    protected, payload, signature = jws.split(".")
    assert payload == "", "detached"
    sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    public = serialization.load_pem_public_key((pki.root / "dfsp-a/jws/ec.pub").read_bytes())
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    encoded = base64.urlsafe_b64encode(out.body).rstrip(b"=")
    public.verify(der, protected.encode() + b"." + encoded, ec.ECDSA(hashes.SHA256()))


def test_response_with_trailers_is_verified_before_it_leaves(gateway_factory, pki):
    # A partner's egress verifying the platform's responses: an unsigned response that ends with
    # trailers must be refused (502), never handed over because its trailers came.
    verify = {"root_id": "jws_verify", "configuration": {
        "profile": "generic", "direction": "response",
        "partners": [{"id": "platform", "tls_names": ["platform.signet.test"],
                      "keys": [{"public_key_pem": pem(pki.root / "dfsp-b/jws/ec.pub")}]}]}}
    gw = gateway_factory(filters=[GATEWAY, verify], patch=upstream_trailers)
    secret = "the platform's unverified answer"
    for reply in ({"body": secret, "trailers": {"x-t": "1"}}, {"body": secret}):
        out = call(gw, pki, reply)
        assert out.status == 502, (reply, out.status, out.body)
        assert secret.encode() not in out.body
        assert header(out, "x-signet-reason") is not None


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
