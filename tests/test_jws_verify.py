"""jws_verify through a real Envoy: the shared vectors, and each profile's accept and reject
paths — always checking the partner-visible status and body, `x-signet-reason`, and whether
the upstream saw the request."""

from __future__ import annotations

import base64
import json

import pytest

from harness import https_request
from signet_cli import export_vectors, sign

SAN_A = "dfsp-a.partners.signet.test"
SAN_B = "dfsp-b.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}


def verify_filter(config: dict) -> list:
    return [GATEWAY, {"root_id": "jws_verify", "configuration": config}]


def send(gw, pki, request, party="dfsp-a", **kw):
    method, path, headers, body = request
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-length", "host")]
    cert, key = pki.client(party)
    return https_request(
        gw.port, ca=pki.platform_ca, cert=cert, key=key, method=method, path=path,
        headers=headers, body=body if body or method in ("POST", "PUT", "PATCH") else None, **kw,
    )


def reason(out) -> str | None:
    return dict((k.lower(), v) for k, v in out.headers).get("x-signet-reason")


def assert_forwarded(gw, out, body: bytes, hits_before: int):
    assert out.status == 200, (out.status, out.body, reason(out))
    echo = out.json()
    assert base64.b64decode(echo["body_b64"]) == body, "the upstream must get the exact bytes"
    assert gw.upstream.hits() == hits_before + 1


def assert_refused(gw, out, code: str, status: int, hits_before: int):
    assert out.kind == "response", out
    assert (out.status, reason(out)) == (status, code), (out.status, reason(out), out.body)
    assert gw.upstream.hits() == hits_before, "a refused request must never reach the upstream"


# --- the shared vectors -------------------------------------------------------------------

VECTOR_CASES = None


def vector_cases(tmp_path_factory):
    global VECTOR_CASES
    if VECTOR_CASES is None:
        VECTOR_CASES = export_vectors(tmp_path_factory.mktemp("vectors"), SAN_A)
    return VECTOR_CASES


# V-OCEN-1 needs a verified token (its claims never come from a header): it runs with token_check
# in front, in test_ocen_vector_through_envoy_with_token_check.
VECTOR_IDS = ["V-ML-1", "V-ML-2", "V-ML-3", "V-ML-4", "V-ML-5", "V-ML-6", "V-ML-7", "V-ML-8",
              "V-MOSIP-1", "V-MOSIP-2", "V-MOSIP-3", "V-OCEN-2", "V-SPAR-1", "V-SPAR-2", "V-SPAR-3"]


@pytest.mark.parametrize("vid", VECTOR_IDS)
def test_shared_vector_through_envoy(vid, gateway_factory, pki, tmp_path_factory):
    item = next(c for c in vector_cases(tmp_path_factory) if c["case"]["id"] == vid)
    case, config = item["case"], item["config"]
    gw = gateway_factory(filters=verify_filter(config))
    hits = gw.upstream.hits()
    out = send(gw, pki, item["request"])
    if case["expect"] == "accept":
        assert_forwarded(gw, out, item["request"][3], hits)
        assert reason(out) is None
    else:
        status = case.get("reply", {}).get("status", 400)
        assert_refused(gw, out, case["reason"], status, hits)
        if "body" in case.get("reply", {}):
            assert out.json() == case["reply"]["body"]
        if "body_errors" in case.get("reply", {}):
            assert out.json()["errors"] == case["reply"]["body_errors"]


# --- mojaloop ------------------------------------------------------------------------------

TRANSFER = b'{"transferId":"b51ec534","payerFsp":"dfsp-a","payeeFsp":"dfsp-b","amount":{"currency":"USD","amount":"100"}}'
ML_ERROR = {"errorInformation": {"errorCode": "3105", "errorDescription": "Invalid signature"}}


def pem(path) -> str:
    return path.read_text()


@pytest.fixture(scope="module")
def mojaloop(pki, tmp_path_factory):
    """A mojaloop gateway (dfsp-a RSA, dfsp-b EC, dfsp-c suspended) and dfsp-a's signed transfer."""
    root = pki.root
    config = {
        "profile": "mojaloop",
        "max_body_bytes": 4096,
        "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]},
            {"id": "dfsp-b", "tls_names": [SAN_B], "keys": [{"public_key_pem": pem(root / "dfsp-b/jws/ec.pub")}]},
            {"id": "dfsp-c", "status": "suspended", "keys": [{"public_key_pem": pem(root / "dfsp-b/jws/rsa.pub")}]},
        ],
    }
    work = tmp_path_factory.mktemp("ml")
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a"}}, "signing_key": pem(root / "dfsp-a/jws/rsa.key")}
    signed = sign(work, signer, "POST", "/transfers", [("content-type", "application/json"), ("fspiop-destination", "dfsp-b")], TRANSFER)
    return config, signed, work


@pytest.fixture(scope="module")
def ml_gateway(mojaloop, pki, tmp_path_factory):
    from harness import start_gateway

    with start_gateway(tmp_path_factory.mktemp("mlgw"), pki, filters=verify_filter(mojaloop[0])) as gw:
        yield gw


def with_header(request, name, value):
    method, path, headers, body = request
    headers = [(n, v) for n, v in headers if n.lower() != name] + ([(name, value)] if value is not None else [])
    return method, path, headers, body


def test_mojaloop_signed_request_is_forwarded_byte_for_byte(ml_gateway, mojaloop, pki):
    hits = ml_gateway.upstream.hits()
    out = send(ml_gateway, pki, mojaloop[1])
    assert_forwarded(ml_gateway, out, mojaloop[1][3], hits)
    seen = {n.lower(): v for n, v in out.json()["headers"]}
    assert "fspiop-signature" in seen and "x-signet-partner" not in seen
    assert ml_gateway.decisions("jws_verify", "ok", "dfsp-a") >= 1


def test_mojaloop_one_byte_changed(ml_gateway, mojaloop, pki):
    method, path, headers, body = mojaloop[1]
    tampered = body.replace(b'"100"', b'"900"')
    hits = ml_gateway.upstream.hits()
    before = ml_gateway.decisions("jws_verify", "sig_invalid")
    out = send(ml_gateway, pki, (method, path, headers, tampered))
    assert_refused(ml_gateway, out, "sig_invalid", 400, hits)
    assert out.json() == ML_ERROR
    assert ml_gateway.decisions("jws_verify", "sig_invalid") == before + 1


@pytest.mark.parametrize("header,value,code", [
    ("fspiop-uri", "/quotes", "binding_mismatch"),
    ("fspiop-http-method", "PUT", "binding_mismatch"),
    ("fspiop-destination", "dfsp-x", "binding_mismatch"),
    ("date", "Tue, 02 Jun 2026 10:00:01 GMT", "binding_mismatch"),
    ("fspiop-signature", None, "sig_missing"),
    ("fspiop-signature", '{"protectedHeader":"e30"}', "sig_malformed"),
    ("fspiop-signature", '{"protectedHeader":"e30","signature":"AAAA"}', "header_malformed"),
    ("fspiop-source", None, "identity_missing"),
    ("content-encoding", "gzip", "content_encoding"),
])
def test_mojaloop_header_rejections(ml_gateway, mojaloop, pki, header, value, code):
    hits = ml_gateway.upstream.hits()
    out = send(ml_gateway, pki, with_header(mojaloop[1], header, value))
    assert_refused(ml_gateway, out, code, 400, hits)
    assert out.json() == ML_ERROR


def test_mojaloop_identity_rejections(ml_gateway, mojaloop, pki):
    root = pki.root
    work = mojaloop[2]
    # dfsp-a's message sent over dfsp-b's connection: the signer is not the peer.
    hits = ml_gateway.upstream.hits()
    out = send(ml_gateway, pki, mojaloop[1], party="dfsp-b", source_ip="127.0.0.2")
    assert_refused(ml_gateway, out, "peer_mismatch", 403, hits)
    # Signed with dfsp-b's RSA key while claiming dfsp-a.
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a"}}, "signing_key": pem(root / "dfsp-b/jws/rsa.key")}
    forged = sign(work, signer, "POST", "/quotes", [], TRANSFER)
    out = send(ml_gateway, pki, forged)
    assert_refused(ml_gateway, out, "sig_invalid", 400, hits)
    # A suspended partner.
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-c"}}, "signing_key": pem(root / "dfsp-b/jws/rsa.key")}
    suspended = sign(work, signer, "POST", "/quotes", [], TRANSFER)
    out = send(ml_gateway, pki, suspended)
    assert out.status in (403,) and reason(out) in ("partner_inactive",), (out.status, reason(out))
    assert ml_gateway.upstream.hits() == hits


def test_mojaloop_body_limit(mojaloop, pki, gateway_factory):
    config, signed, work = mojaloop
    root = pki.root
    signer = {"profile": {"mojaloop": {"source_id": "dfsp-a", "sign_body_form": "as-is"}},
              "signing_key": pem(root / "dfsp-a/jws/rsa.key")}
    at_limit = sign(work, signer, "POST", "/quotes", [], b'{"pad":"' + b"x" * (4096 - 10) + b'"}')
    assert len(at_limit[3]) == 4096
    over = sign(work, signer, "POST", "/quotes", [], b'{"pad":"' + b"x" * (4097 - 10) + b'"}')
    gw = gateway_factory(filters=verify_filter(config))
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, at_limit), at_limit[3], hits)
    out = send(gw, pki, over)
    assert_refused(gw, out, "body_too_large", 400, hits + 1)
    assert out.json()["errorInformation"]["errorCode"] == "3104"


def test_mojaloop_get_is_skipped_and_forged_reason_dropped(ml_gateway, pki):
    hits = ml_gateway.upstream.hits()
    out = send(ml_gateway, pki, ("GET", "/parties/MSISDN/1", [("x-signet-reason", "ok"), ("x-signet-partner", "dfsp-b")], b""))
    assert out.status == 200 and ml_gateway.upstream.hits() == hits + 1
    seen = {n.lower() for n, _ in out.json()["headers"]}
    assert "x-signet-reason" not in seen and "x-signet-partner" not in seen


# --- spar and generic, signed by the CLI -------------------------------------------------------

def test_spar_canonical_body_through_envoy(pki, gateway_factory, tmp_path):
    root = pki.root
    config = {"profile": "spar", "partners": [{"id": "dfsp-a", "sender_id": "bank-a", "tls_names": [SAN_A],
                                                "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]}]}
    body = b'{"request_header":{"sender_app_mnemonic":"bank-a","request_id":"r1"},"request_body":{"request_payload":{"transaction_id":"t1"}}}'
    signed = sign(tmp_path, {"profile": "spar", "signing_key": pem(root / "dfsp-a/jws/rsa.key")}, "POST", "/mapper/resolve", [("content-type", "application/json")], body)
    gw = gateway_factory(filters=verify_filter(config))
    hits = gw.upstream.hits()
    # Same JSON value, other bytes: forwarded unchanged; another value: the SPAR error envelope.
    pretty = json.dumps(json.loads(body), indent=2).encode()
    assert_forwarded(gw, send(gw, pki, signed[:3] + (pretty,)), pretty, hits)
    out = send(gw, pki, signed[:3] + (body.replace(b"t1", b"t2"),))
    assert_refused(gw, out, "sig_invalid", 200, hits + 1)
    header = out.json()["response_header"]
    assert (header["response_status"], header["request_id"]) == ("ERROR", "r1")
    assert out.json()["response_body"]["response_payload"]["resolve_response"] == []


@pytest.mark.parametrize("key,crypto", [("rsa", "auto"), ("rsa", "rust"), ("ec", "auto"), ("ec", "rust")])
def test_generic_both_crypto_backends(pki, gateway_factory, tmp_path, key, crypto):
    root = pki.root
    config = {"profile": "generic", "crypto_backend": crypto, "partners": [
        {"id": "dfsp-a", "tls_names": [SAN_A], "keys": [{"public_key_pem": pem(root / f"dfsp-a/jws/{key}.pub")}]}]}
    body = b'{"hello":"world"}'
    signed = sign(tmp_path, {"profile": "generic", "signing_key": pem(root / f"dfsp-a/jws/{key}.key")}, "POST", "/api", [], body)
    gw = gateway_factory(filters=verify_filter(config))
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, signed), body, hits)
    out = send(gw, pki, signed[:3] + (b'{"hello":"World"}',))
    assert_refused(gw, out, "sig_invalid", 401, hits + 1)
    assert out.json() == {"error": "sig_invalid"}
    log = gw.log()
    assert ("crypto envoy-native" in log) == (crypto == "auto"), "the backend in use is logged"


def test_bad_configuration_fails_at_load(pki, tmp_path):
    from harness import GatewayStartError, start_gateway

    bad = {"profile": "mojaloop", "partners": [{"id": "x", "keys": [{"public_key_pem": "nope"}]}]}
    with pytest.raises(GatewayStartError) as err:
        with start_gateway(tmp_path, pki, filters=verify_filter(bad)):
            pass
    assert "partner \\\"x\\\"" in err.value.log or 'partner "x"' in err.value.log


def test_ocen_vector_through_envoy_with_token_check(pki, gateway_factory, tmp_path_factory):
    """V-OCEN-1 through the real chain: token_check verifies the bearer token and hands its
    participantId to jws_verify, which picks that participant's key."""
    from authsvc import AuthService
    from test_token_check import provider, wait_for

    item = next(c for c in vector_cases(tmp_path_factory) if c["case"]["id"] == "V-OCEN-1")
    participant = item["case"]["context"]["token_claims"]["participantId"]
    auth = AuthService().start()
    try:
        token_check = {
            "providers": [provider(auth, claim_to_partner="participantId", required_scopes=[], audiences=[])],
            "partners": [{"id": participant, "tls_names": [SAN_A]}],
            "error_format": "ocen",
        }
        filters = [GATEWAY, {"root_id": "token_check", "configuration": token_check},
                   {"root_id": "jws_verify", "configuration": item["config"]}]
        gw = gateway_factory(filters=filters, params={"clusters": [auth.cluster()]})
        method, path, headers, body = item["request"]
        token = auth.token({"participantId": participant})
        request = (method, path, [(n, v) for n, v in headers if n != "authorization"]
                   + [("authorization", f"Bearer {token}")], body)
        # The JWKS arrives by callout shortly after start; until then token_check answers 503.
        assert wait_for(lambda: send(gw, pki, request).status != 503)
        hits = gw.upstream.hits()
        assert_forwarded(gw, send(gw, pki, request), body, hits)
        # The same bytes with another participant's token: that participant is not registered
        # (OCEN answers key problems 400 in Spring's shape, §4.10).
        other = (method, path, request[2][:-1] + [("authorization", f"Bearer {auth.token({'participantId': '3099'})}")], body)
        out = send(gw, pki, other)
        assert_refused(gw, out, "key_unknown", 400, hits + 1)
        assert out.json()["error"] == "Bad Request"
    finally:
        auth.stop()
