"""The whole flow through two real Envoys, per profile:

    partner app ─HTTP─▶ egress (jws_sign request) ─mTLS─▶ platform (jws_verify) ─▶ upstream
    partner app ◀─ egress (jws_verify response) ◀─ platform (jws_sign response) ◀─┘

What the upstream received and what the application received are checked by code that is not
Signet's filters: Python `cryptography` over the exact bytes, and the `signet verify` CLI.
Private keys reach both gateways through the environment (host_env_keys), never the YAML.
Gateways are started once per profile (module-scoped fixtures) to keep the suite fast.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from datetime import datetime, timezone

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.x509 import load_pem_x509_certificate

from harness import REPO, start_gateway
from jws_check import (
    TamperProxy, canonical_json, cli_verify, http_request, inline_pki, protected,
    request_file, response_file, split, verify_independently,
)

SAN_A = "dfsp-a.partners.signet.test"
GATEWAY = {"root_id": "gateway", "configuration": {}}


def profile_filters(name: str) -> list:
    """The platform-side chain of envoy/profiles/<name>.json, with the overlay's registry
    inline in each filter that reads one (so the CLI checks with the very same configuration)."""
    params = json.loads((REPO / "envoy" / "profiles" / f"{name}.json").read_text())
    registry = {k: params[k] for k in ("partners", "policies", "misps", "domain_ca") if k in params}
    for f in params["filters"]:
        if f["root_id"] in ("jws_verify", "token_check"):
            f["configuration"] = {**f["configuration"], **registry}
    return params["filters"]


class Pair:
    def __init__(self, platform, egress, pki, egress_filters, platform_filters):
        self.platform, self.egress, self.pki = platform, egress, pki
        self.egress_filters, self.platform_filters = egress_filters, platform_filters

    def send(self, method, path, headers=(), body=None):
        return http_request(self.egress.port, method, path, list(headers), body)

    def config(self, filters, root_id, index=0):
        found = [f["configuration"] for f in filters if f["root_id"] == root_id]
        return inline_pki(found[index], self.pki.root)


@contextlib.contextmanager
def two_gateways(tmp_path_factory, pki, *, platform_filters, egress_filters,
                 platform_env=None, egress_env=None, platform_port=None):
    """A platform gateway (with the demo upstream) and dfsp-a's egress pointed at it (or at
    platform_port, e.g. a tampering intermediary)."""
    with contextlib.ExitStack() as stack:
        platform = stack.enter_context(start_gateway(
            tmp_path_factory.mktemp("platform"), pki, filters=platform_filters,
            env=key_env(pki, platform_env)))
        egress = stack.enter_context(start_egress(
            tmp_path_factory, pki, egress_filters, egress_env, platform_port or platform.port))
        yield Pair(platform, egress, pki, egress_filters, platform_filters)


def start_egress(tmp_path_factory, pki, filters, env, platform_port):
    params = {"platform_host": "127.0.0.1", "platform_port": platform_port,
              "platform_sni": "localhost", "partner": "dfsp-a"}
    return start_gateway(tmp_path_factory.mktemp("egress"), pki, filters=filters,
                         template="egress.yaml", listener="egress", params=params,
                         env=key_env(pki, env), with_upstream=False)


def key_env(pki, files: dict | None) -> dict:
    """{VAR: pki file} -> {VAR: the file's text}: how a private key reaches the VM."""
    return {var: (pki.root / rel).read_text() for var, rel in (files or {}).items()}


def upstream_saw(reply) -> tuple[list, bytes]:
    echo = reply.json()
    return [tuple(h) for h in echo["headers"]], base64.b64decode(echo["body_b64"])


def header(headers, name):
    return next((v for n, v in headers if n.lower() == name), None)


def pem(pki, rel) -> bytes:
    return (pki.root / rel).read_bytes()


# --- generic: both directions signed, both crypto backends ------------------------------------

# auto: the partner signs ES256, the platform RS256; rust: the other way round. So each
# backend signs and verifies both algorithms across the two gateways.
GENERIC_KEYS = {"auto": ("ec", "rsa"), "rust": ("rsa", "ec")}
GENERIC_LIMIT = 8192


def generic_filters(backend: str, partner_key: str, platform_key: str, pinned: str):
    # The response signer comes before jws_verify: a local reply runs through the filters
    # before the one that sent it only, so a signer after the verifier never sees its replies.
    platform = [
        GATEWAY,
        {"root_id": "jws_sign", "name": "signet.jws_sign.response", "configuration": {
            "profile": {"generic": {"sign_responses": True}}, "direction": "response",
            "crypto_backend": backend, "kid": f"platform-{platform_key}",
            "max_body_bytes": 65536, "signing_key_env": "SIGNET_PLATFORM_JWS_KEY"}},
        {"root_id": "jws_verify", "configuration": {
            "profile": "generic", "crypto_backend": backend, "max_body_bytes": GENERIC_LIMIT,
            "partners": [{"id": "dfsp-a", "tls_names": [SAN_A], "keys": [
                {"kid": "a-ec", "public_key_pem": "@pki:dfsp-a/jws/ec.pub"},
                {"kid": "a-rsa", "public_key_pem": "@pki:dfsp-a/jws/rsa.pub"}]}]}},
    ]
    egress = [
        GATEWAY,
        {"root_id": "jws_verify", "configuration": {
            "profile": "generic", "direction": "response", "crypto_backend": backend,
            "max_body_bytes": 65536,
            "partners": [{"id": "platform", "tls_names": ["localhost"], "keys": [
                {"kid": f"platform-{platform_key}", "public_key_pem": f"@pki:{pinned}"}]}]}},
        {"root_id": "jws_sign", "configuration": {
            "profile": "generic", "crypto_backend": backend, "kid": f"a-{partner_key}",
            "max_body_bytes": GENERIC_LIMIT, "signing_key_env": "SIGNET_EGRESS_JWS_KEY"}},
    ]
    return platform, egress


@pytest.fixture(scope="module", params=["auto", "rust"])
def generic(request, pki, tmp_path_factory):
    backend = request.param
    partner_key, platform_key = GENERIC_KEYS[backend]
    platform, egress = generic_filters(backend, partner_key, platform_key,
                                       f"platform/jws/{platform_key}.pub")
    with two_gateways(tmp_path_factory, pki, platform_filters=platform, egress_filters=egress,
                      platform_env={"SIGNET_PLATFORM_JWS_KEY": f"platform/jws/{platform_key}.key"},
                      egress_env={"SIGNET_EGRESS_JWS_KEY": f"dfsp-a/jws/{partner_key}.key"}) as p:
        p.backend, p.partner_key, p.platform_key = backend, partner_key, platform_key
        yield p


def test_generic_round_trip(generic, pki, tmp_path):
    p = generic
    hits = p.platform.upstream.hits()
    signed = p.platform.decisions("jws_sign", "ok")
    body = b'{"hello": "world", "n": [1, 2, 3]}'
    out = p.send("POST", "/api/orders?x=1", [("content-type", "application/json")], body)
    assert out.status == 200, (out.status, out.header("x-signet-reason"), out.body)
    assert p.platform.upstream.hits() == hits + 1
    # The request as the upstream got it: the body byte for byte, signed by dfsp-a.
    seen, got = upstream_saw(out)
    assert got == body
    h, s = split(header(seen, "x-jws-signature"))
    assert protected(h) == {"alg": {"ec": "ES256", "rsa": "RS256"}[p.partner_key],
                            "kid": f"a-{p.partner_key}"}
    verify_independently(h, s, got, pem(pki, f"dfsp-a/jws/{p.partner_key}.pub"))
    code, text = cli_verify(tmp_path / "req", p.config(p.platform_filters, "jws_verify"),
                            request_file("POST", "/api/orders?x=1", seen, got), "--peer", "dfsp-a")
    assert code == 0, text
    # The response as the application got it: signed by the platform over exactly these bytes.
    h, s = split(out.header("x-jws-signature"))
    assert protected(h)["kid"] == f"platform-{p.platform_key}"
    verify_independently(h, s, out.body, pem(pki, f"platform/jws/{p.platform_key}.pub"))
    code, text = cli_verify(tmp_path / "resp", p.config(p.egress_filters, "jws_verify"),
                            response_file(200, out.headers, out.body), "--peer", "platform")
    assert code == 0, text
    assert p.platform.decisions("jws_sign", "ok") == signed + 1
    assert p.egress.decisions("jws_verify", "ok", "platform") >= 1
    native = "crypto envoy-native" in p.egress.log()
    assert native == (p.backend == "auto"), "the backend in use is logged"


def test_generic_request_without_body(generic, pki):
    p = generic
    out = p.send("GET", "/api/orders/7")
    assert out.status == 200, (out.status, out.body)
    seen, got = upstream_saw(out)
    assert got == b"" and header(seen, "x-jws-signature") is None, "bodyless: not signed"
    h, s = split(out.header("x-jws-signature"))
    verify_independently(h, s, out.body, pem(pki, f"platform/jws/{p.platform_key}.pub"))


def test_generic_bodies_up_to_the_limit(generic, pki):
    p = generic
    pad = b'{"pad":"' + b"x" * (GENERIC_LIMIT - 10) + b'"}'
    assert len(pad) == GENERIC_LIMIT
    out = p.send("POST", "/api/big", [("content-type", "application/json")], pad)
    assert out.status == 200, (out.status, out.header("x-signet-reason"))
    assert upstream_saw(out)[1] == pad
    h, s = split(out.header("x-jws-signature"))
    verify_independently(h, s, out.body, pem(pki, f"platform/jws/{p.platform_key}.pub"))
    # One byte more: the egress never sends it unsigned, and nothing reaches the platform.
    hits = p.platform.upstream.hits()
    out = p.send("POST", "/api/big", [("content-type", "application/json")], pad + b" ")
    assert (out.status, out.header("x-signet-reason")) == (413, "body_too_large")
    assert out.json() == {"error": "body_too_large"}
    assert p.platform.upstream.hits() == hits


def test_generic_platform_local_reply_is_signed(generic, pki):
    # A body the platform refuses (content-encoding: signed bodies are never compressed): its
    # jws_verify answers itself, and that local reply is signed too (§2.10), so the egress
    # verifies it and the application gets the platform's real answer, not a 502.
    p = generic
    hits = p.platform.upstream.hits()
    out = p.send("POST", "/api/orders", [("content-encoding", "gzip")], b'{"a":1}')
    assert out.status == 415 and out.json() == {"error": "content_encoding"}
    # x-signet-reason from the upstream side is never passed on (§2.8): the egress drops it.
    assert out.header("x-signet-reason") is None
    h, s = split(out.header("x-jws-signature"))
    verify_independently(h, s, out.body, pem(pki, f"platform/jws/{p.platform_key}.pub"))
    assert p.platform.upstream.hits() == hits


def test_generic_keys_stay_out_of_config_dump(generic, pki):
    p = generic
    for gw, var, rel in ((p.egress, "SIGNET_EGRESS_JWS_KEY", f"dfsp-a/jws/{p.partner_key}.key"),
                         (p.platform, "SIGNET_PLATFORM_JWS_KEY",
                          f"platform/jws/{p.platform_key}.key")):
        dump = gw.admin("/config_dump?include_eds")
        assert var in dump, "the filter names its variable"
        key_lines = [l for l in (pki.root / rel).read_text().splitlines() if "-----" not in l]
        assert key_lines and not any(line in dump for line in key_lines)
        assert "PRIVATE KEY" not in dump


def test_generic_tampered_response_is_refused(generic, pki, tmp_path_factory):
    p = generic
    proxy = TamperProxy(pki, p.platform.port)
    try:
        _, egress = generic_filters(p.backend, p.partner_key, p.platform_key,
                                    f"platform/jws/{p.platform_key}.pub")
        env = {"SIGNET_EGRESS_JWS_KEY": f"dfsp-a/jws/{p.partner_key}.key"}
        with start_egress(tmp_path_factory, pki, egress, env, proxy.port) as eg:
            body = b'{"hello":"world"}'
            ok = http_request(eg.port, "POST", "/api/t", [], body)
            assert ok.status == 200 and proxy.seen == 1, "the intermediary itself is faithful"
            proxy.tamper = True
            before = eg.decisions("jws_verify", "sig_invalid")
            out = http_request(eg.port, "POST", "/api/t", [], body)
            assert proxy.seen == 2
            assert (out.status, out.header("x-signet-reason")) == (502, "sig_invalid")
            assert out.json() == {"error": "sig_invalid"}
            assert eg.decisions("jws_verify", "sig_invalid") == before + 1
    finally:
        proxy.stop()


def test_generic_wrong_pinned_key_is_refused(generic, pki, tmp_path_factory):
    p = generic
    if p.backend == "rust":
        pytest.skip("one backend is enough for a configuration mistake")
    # The egress pins dfsp-b's key as the platform's: every platform response fails.
    _, egress = generic_filters(p.backend, p.partner_key, p.platform_key,
                                f"dfsp-b/jws/{p.platform_key}.pub")
    env = {"SIGNET_EGRESS_JWS_KEY": f"dfsp-a/jws/{p.partner_key}.key"}
    with start_egress(tmp_path_factory, pki, egress, env, p.platform.port) as eg:
        hits = p.platform.upstream.hits()
        out = http_request(eg.port, "POST", "/api/w", [], b'{"a":1}')
        assert (out.status, out.header("x-signet-reason")) == (502, "sig_invalid")
        assert out.json() == {"error": "sig_invalid"}
        assert p.platform.upstream.hits() == hits + 1, "the request went through; its answer not"


# --- mojaloop: requests signed by the egress, responses never ---------------------------------


@pytest.fixture(scope="module")
def mojaloop(pki, tmp_path_factory):
    egress = [GATEWAY, {"root_id": "jws_sign", "configuration": {
        "profile": {"mojaloop": {"source_id": "dfsp-a"}}, "signing_key_env": "SIGNET_EGRESS_JWS_KEY"}}]
    with two_gateways(tmp_path_factory, pki, platform_filters=profile_filters("mojaloop"),
                      egress_filters=egress,
                      egress_env={"SIGNET_EGRESS_JWS_KEY": "dfsp-a/jws/rsa.key"}) as p:
        yield p


def test_mojaloop_round_trip(mojaloop, pki, tmp_path):
    p = mojaloop
    body = b'{"transferId": "b51ec534", "payeeFsp": "dfsp-b", "payerFsp": "dfsp-a",\n "amount": {"currency": "USD", "amount": "100"}}'
    out = p.send("POST", "/transfers", [("content-type", "application/json"),
                                        ("fspiop-destination", "dfsp-b")], body)
    assert out.status == 200, (out.status, out.header("x-signet-reason"), out.body)
    seen, got = upstream_saw(out)
    # sign_body_form sorted-compact: the signed, forwarded body is the sorted compact form.
    assert got == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    assert header(seen, "content-length") == str(len(got))
    value = json.loads(header(seen, "fspiop-signature"))
    h = value["protectedHeader"]
    assert list(protected(h)) == ["alg", "FSPIOP-URI", "FSPIOP-HTTP-Method", "FSPIOP-Source",
                                  "FSPIOP-Destination", "Date"]
    assert protected(h)["Date"] == header(seen, "date")
    assert verify_independently(h, value["signature"], got, pem(pki, "dfsp-a/jws/rsa.pub")) == "RS256"
    code, text = cli_verify(tmp_path, p.config(p.platform_filters, "jws_verify"),
                            request_file("POST", "/transfers", seen, got), "--peer", "dfsp-a")
    assert code == 0, text
    assert out.header("fspiop-signature") is None, "Mojaloop responses are never signed"
    # A GET is neither signed nor verified, and goes through.
    out = p.send("GET", "/parties/MSISDN/123")
    assert out.status == 200 and header(upstream_saw(out)[0], "fspiop-signature") is None


# --- spar: canonical JSON signing input; responses unsigned ---------------------------------


@pytest.fixture(scope="module")
def spar(pki, tmp_path_factory):
    egress = [GATEWAY, {"root_id": "jws_sign", "configuration": {
        "profile": "spar", "signing_key_env": "SIGNET_EGRESS_JWS_KEY"}}]
    with two_gateways(tmp_path_factory, pki, platform_filters=profile_filters("spar"),
                      egress_filters=egress,
                      egress_env={"SIGNET_EGRESS_JWS_KEY": "dfsp-a/jws/rsa.key"}) as p:
        yield p


def test_spar_round_trip(spar, pki, tmp_path):
    p = spar
    body = json.dumps({"request_header": {"sender_app_mnemonic": "dfsp-a", "request_id": "r1"},
                       "request_body": {"request_payload": {"transaction_id": "t1"}}},
                      indent=2).encode()
    out = p.send("POST", "/mapper/resolve", [("content-type", "application/json")], body)
    assert out.status == 200, (out.status, out.header("x-signet-reason"), out.body)
    seen, got = upstream_saw(out)
    assert got == body, "spar forwards the bytes; the signature covers their canonical JSON"
    h, s = split(header(seen, "signature"))
    assert b64_text(h) == '{"alg":"RS256"}'
    verify_independently(h, s, canonical_json(got), pem(pki, "dfsp-a/jws/rsa.pub"))
    with pytest.raises(InvalidSignature):
        verify_independently(h, s, got, pem(pki, "dfsp-a/jws/rsa.pub"))
    code, text = cli_verify(tmp_path, p.config(p.platform_filters, "jws_verify"),
                            request_file("POST", "/mapper/resolve", seen, got), "--peer", "dfsp-a")
    assert code == 0, text


def b64_text(h: str) -> str:
    return base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)).decode()


# --- mosip: signature with x5c; every response (errors too) carries response-signature -------


def mosip_filters(sign_responses: str):
    gateway, verify = profile_filters("mosip")
    signer = {
        "root_id": "jws_sign", "name": "signet.jws_sign.response", "configuration": {
            "profile": {"mosip": {"sign_responses": sign_responses,
                                  "signing_certificate": "@pki:platform/signing/signing.crt"}},
            "direction": "response", "signing_key_env": "SIGNET_PLATFORM_SIGNING_KEY"}}
    return [gateway, signer, verify]


def ida_pin(pki) -> str:
    cert = load_pem_x509_certificate(pem(pki, "platform/signing/signing.crt"))
    from cryptography.hazmat.primitives.serialization import Encoding
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest().upper()


def mosip_egress(pki):
    return [
        GATEWAY,
        {"root_id": "jws_verify", "configuration": {
            "profile": {"mosip": {"ida_certificate_sha256": ida_pin(pki)}}, "direction": "response"}},
        {"root_id": "jws_sign", "configuration": {
            "profile": {"mosip": {"signing_certificate": "@pki:dfsp-a/signing/signing.crt"}},
            "signing_key_env": "SIGNET_EGRESS_SIGNING_KEY"}},
    ]


PLATFORM_SIGNING = {"SIGNET_PLATFORM_SIGNING_KEY": "platform/signing/signing.key"}
AUTH_PATH = "/idauthentication/v1/auth/mispLK0001/dfsp-a/apiKey0001"


def auth_body() -> bytes:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return json.dumps({"id": "mosip.identity.auth", "version": "1.0", "requestTime": now,
                       "transactionID": "1234567890", "request": "ZW5jcnlwdGVk"}).encode()


@pytest.fixture(scope="module")
def mosip(pki, tmp_path_factory):
    with two_gateways(tmp_path_factory, pki, platform_filters=mosip_filters("all"),
                      egress_filters=mosip_egress(pki), platform_env=PLATFORM_SIGNING,
                      egress_env={"SIGNET_EGRESS_SIGNING_KEY": "dfsp-a/signing/signing.key"}) as p:
        yield p


def test_mosip_round_trip(mosip, pki, tmp_path):
    p = mosip
    body = auth_body()
    out = p.send("POST", AUTH_PATH, [("authorization", "Bearer t"),
                                     ("content-type", "application/json")], body)
    assert out.status == 200, (out.status, out.header("x-signet-reason"), out.body)
    seen, got = upstream_saw(out)
    assert got == body
    h, s = split(header(seen, "signature"))
    assert list(protected(h)) == ["alg", "x5c", "x5t#S256"]
    verify_independently(h, s, got, pem(pki, "dfsp-a/signing/signing.crt"))
    code, text = cli_verify(tmp_path / "req", p.config(p.platform_filters, "jws_verify"),
                            request_file("POST", AUTH_PATH, seen, got), "--peer", "dfsp-a")
    assert code == 0, text
    h, s = split(out.header("response-signature"))
    assert verify_independently(h, s, out.body, pem(pki, "platform/signing/signing.crt")) == "ES256"
    code, text = cli_verify(tmp_path / "resp", p.config(p.egress_filters, "jws_verify"),
                            response_file(200, out.headers, out.body))
    assert code == 0, text


def test_mosip_error_reply_is_signed_end_to_end(mosip, pki):
    # No Authorization: the platform's jws_verify answers with IDA's 200 + errors[], signed.
    p = mosip
    hits = p.platform.upstream.hits()
    out = p.send("POST", AUTH_PATH, [("content-type", "application/json")], auth_body())
    assert out.status == 200 and p.platform.upstream.hits() == hits
    assert out.json()["errors"][0]["errorCode"] == "IDA-MLC-006"
    h, s = split(out.header("response-signature"))
    verify_independently(h, s, out.body, pem(pki, "platform/signing/signing.crt"))


def test_mosip_sign_responses_local(pki, gateway_factory, tmp_path):
    """`local`: Signet's own replies are signed, the upstream's are left to IDA."""
    from harness import https_request

    gw = gateway_factory(filters=mosip_filters("local"), env=key_env(pki, PLATFORM_SIGNING))
    cert, key = pki.client("dfsp-a")
    send = lambda headers: https_request(gw.port, ca=pki.platform_ca, cert=cert, key=key,
                                         method="POST", path=AUTH_PATH, body=body,
                                         headers={k: v for k, v in headers.items()
                                                  if k.lower() != "content-length"})
    egress_check = {"profile": {"mosip": {"ida_certificate_sha256": ida_pin(pki)}},
                    "direction": "response"}
    body = auth_body()
    from signet_cli import sign

    signed = sign(tmp_path, {"profile": {"mosip": {
                                 "signing_certificate": (pki.root / "dfsp-a/signing/signing.crt").read_text()}},
                             "signing_key": (pki.root / "dfsp-a/signing/signing.key").read_text()},
                  "POST", AUTH_PATH, [("content-type", "application/json")], body)
    # The error reply (no Authorization): signed, and the egress's check (the CLI) accepts it.
    out = send(dict(signed[2]))
    headers = dict((k.lower(), v) for k, v in out.headers)
    assert out.status == 200 and headers["x-signet-reason"] == "token_missing"
    h, s = split(headers["response-signature"])
    verify_independently(h, s, out.body, pem(pki, "platform/signing/signing.crt"))
    code, text = cli_verify(tmp_path, egress_check, response_file(200, out.headers, out.body))
    assert code == 0, text
    # An upstream answer is not Signet's to sign under `local`.
    out = send(dict(signed[2]) | {"authorization": "Bearer t"})
    assert out.status == 200 and "response-signature" not in dict(
        (k.lower(), v) for k, v in out.headers), out.body


# --- ocen: U-input both ways; bodyless requests sign the path -----------------------------


def ocen_filters():
    # token_check (issue 6) is not in this branch: jws_verify sees no token, so paths under
    # /open/ are route_policy skip (standing in for a verified token) and every other path is
    # refused by the platform with token_missing, a bodyless local reply.
    platform = [
        GATEWAY,
        {"root_id": "jws_sign", "name": "signet.jws_sign.response", "configuration": {
            "profile": "ocen", "direction": "response", "kid": "platform-1",
            "signing_key_env": "SIGNET_PLATFORM_JWS_KEY"}},
        {"root_id": "jws_verify", "configuration": {
            "profile": "ocen", "max_body_bytes": 4096,
            "route_policy": [{"path_prefix": "/open/", "policy": "skip"}],
            "partners": [{"id": "dfsp-a", "registry_status": "APPROVED", "tls_names": [SAN_A],
                          "keys": [{"public_key_pem": "@pki:dfsp-a/jws/rsa.pub"}]}]}},
    ]
    egress = [
        GATEWAY,
        {"root_id": "jws_verify", "configuration": {
            "profile": {"ocen": {"peer_participant_id": "platform"}}, "direction": "response",
            "partners": [{"id": "platform", "registry_status": "APPROVED",
                          "keys": [{"public_key_pem": "@pki:platform/jws/rsa.pub"}]}]}},
        {"root_id": "jws_sign", "configuration": {
            "profile": "ocen", "kid": "dfsp-a-1", "signing_key_env": "SIGNET_EGRESS_JWS_KEY"}},
    ]
    return platform, egress


@pytest.fixture(scope="module")
def ocen(pki, tmp_path_factory):
    platform, egress = ocen_filters()
    with two_gateways(tmp_path_factory, pki, platform_filters=platform, egress_filters=egress,
                      platform_env={"SIGNET_PLATFORM_JWS_KEY": "platform/jws/rsa.key"},
                      egress_env={"SIGNET_EGRESS_JWS_KEY": "dfsp-a/jws/rsa.key"}) as p:
        yield p


CLAIMS = json.dumps({"participantId": "dfsp-a"})


def test_ocen_round_trip(ocen, pki, tmp_path):
    p = ocen
    body = b'{"metadata":{"requestId":"r-1"},"loanApplications":[]}'
    path = "/open/v4.0.0alpha/loanApplications/createLoanRequest"
    out = p.send("POST", path, [("content-type", "application/json")], body)
    assert out.status == 200, (out.status, out.header("x-signet-reason"), out.body)
    seen, got = upstream_saw(out)
    assert got == body
    h, s = split(header(seen, "x-jws-signature"))
    assert b64_text(h) == '{"alg":"RS256","kid":"dfsp-a-1","b64":false}'
    verify_independently(h, s, got, pem(pki, "dfsp-a/jws/rsa.pub"))
    code, text = cli_verify(tmp_path / "req", p.config(p.platform_filters, "jws_verify"),
                            request_file("POST", "/v4/x", seen, got), "--claims", CLAIMS)
    assert code == 0, text
    h, s = split(out.header("x-jws-signature"))
    assert b64_text(h) == '{"alg":"RS256","kid":"platform-1","b64":false}'
    verify_independently(h, s, out.body, pem(pki, "platform/jws/rsa.pub"))
    code, text = cli_verify(tmp_path / "resp", p.config(p.egress_filters, "jws_verify"),
                            response_file(200, out.headers, out.body))
    assert code == 0, text


def test_ocen_bodyless_request_signs_the_path(ocen, pki):
    p = ocen
    path = "/open/v4.0.0alpha/loanApplications?id=7"
    out = p.send("GET", path)
    assert out.status == 200, (out.status, out.body)
    seen, got = upstream_saw(out)
    assert got == b""
    h, s = split(header(seen, "x-jws-signature"))
    verify_independently(h, s, path.encode(), pem(pki, "dfsp-a/jws/rsa.pub"))


def test_ocen_platform_local_replies(ocen, pki):
    p = ocen
    hits = p.platform.upstream.hits()
    # No token (token_check absent): 401 with an empty body, which is not signed and passes
    # (the platform's x-signet-reason is dropped by the egress, as any upstream's is).
    out = p.send("POST", "/v4/loanApplications/createLoanRequest", [], b'{"a":1}')
    assert out.status == 401 and out.header("x-signet-reason") is None
    assert out.header("www-authenticate") == "Bearer" and out.body == b""
    # Over the platform's limit (not the egress's): a 413 with a body, signed by the platform
    # and verified by the egress.
    big = b'{"pad":"' + b"x" * 5000 + b'"}'
    out = p.send("POST", "/v4/loanApplications/createLoanRequest", [], big)
    assert out.status == 413 and out.json()["error"] == "Payload Too Large"
    h, s = split(out.header("x-jws-signature"))
    verify_independently(h, s, out.body, pem(pki, "platform/jws/rsa.pub"))
    assert p.platform.upstream.hits() == hits
