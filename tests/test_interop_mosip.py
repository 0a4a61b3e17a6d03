"""Interop with MOSIP's own Python partner SDK, `mosip-auth-sdk` (pinned in
tests/interop/requirements-mosip.txt, installed by tests/interop/install into
tests/interop/.venv): the IDA auth request its `MOSIPAuthenticator.auth(...)` builds, encrypts
and signs (`CryptoUtility.sign_auth_request_data`: jwcrypto, `x5c` = base64 of the PEM text) is
sent byte for byte through a real Envoy with a `mosip` jws_verify filter: accepted (RS256 and
ES256) with `x5c_pem_compat`, refused without it, refused when tampered.

The other direction has no counterpart: the SDK does not verify signatures (it never checks
IDA's `response-signature`), so there is no MOSIP verifier to hand Signet's output to.
"""

from __future__ import annotations

import base64
import json
import subprocess

import pytest

from harness import REPO, run
from test_jws_verify import assert_forwarded, assert_refused, pem, send, verify_filter

INTEROP = REPO / "tests" / "interop"
PKI = REPO / "scripts" / "pki"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def mosip_sdk():
    subprocess.run([str(INTEROP / "install"), "mosip"], check=True, timeout=280)
    version = subprocess.run(
        [str(INTEROP / ".venv/bin/python"), "-c",
         "import importlib.metadata as m; print(m.version('mosip-auth-sdk'))"],
        capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    assert "mosip-auth-sdk==" + version in (INTEROP / "requirements-mosip.txt").read_text()
    print(f"mosip-auth-sdk {version}")

    def call(job: dict) -> tuple:
        out = subprocess.run([str(INTEROP / ".venv/bin/python"), str(INTEROP / "mosip_sdk.py")],
                             input=json.dumps(job).encode(), capture_output=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr.decode()[-3000:]
        r = json.loads(out.stdout)
        return r["method"], r["path"], [tuple(h) for h in r["headers"]], base64.b64decode(r["body_b64"])

    return call


@pytest.fixture(scope="module")
def auth_domain(pki, tmp_path_factory):
    """A MOSIP AUTH-domain CA and, under it, an RSA partner certificate for dfsp-a's RSA key
    (the SDK also needs an RSA certificate for IDA's encryption key: the same one serves)."""
    d = tmp_path_factory.mktemp("mosip-ca")
    run([str(PKI), "ca", str(d / "ca"), "--cn", "MOSIP AUTH partner CA"], timeout=60)
    run(["openssl", "req", "-new", "-key", str(pki.root / "dfsp-a/jws/rsa.key"), "-subj", "/CN=dfsp-a",
         "-out", str(d / "rsa.csr")], timeout=60)
    run([str(PKI), "sign-csr", str(d / "ca"), str(d / "rsa.csr"), str(d / "rsa.crt"), "--profile", "signing"],
        timeout=60)
    return d


def partner(pid: str, cert_pem: str) -> dict:
    # mosip binds no peer (the path names the partner): no tls_names needed.
    return {"id": pid, "domain": "AUTH", "status": "ACTIVE", "certificate_pem": cert_pem,
            "api_keys": [{"key": "ak1"}], "keys": []}


def config(ca_pems: list[str], partners: list[dict], **settings) -> dict:
    """`settings`: the mosip profile's own."""
    return {"profile": {"mosip": settings}, "domain_ca": {"AUTH": ca_pems},
            "misps": [{"id": "misp-1", "license_keys": [{"key": "misp1", "status": "ACTIVE"}]}],
            "partners": partners}


def job(key_pem: str, cert_pem: str, rsa_cert_pem: str, alg: str, partner_id: str = "dfsp-a") -> dict:
    return {"sign_key_pem": key_pem, "sign_cert_pem": cert_pem, "encrypt_cert_pem": rsa_cert_pem,
            "algorithm": alg, "misp_lk": "misp1", "partner_id": partner_id, "api_key": "ak1",
            "authorization": "Authorization"}


@pytest.fixture(scope="module")
def compat_gw(pki, auth_domain, tmp_path_factory):
    """x5c_pem_compat on; partner `dfsp-a` holds the RSA certificate (our AUTH CA), `dfsp-a-ec`
    the demo PKI's P-256 signing certificate (the demo partner-domain CA)."""
    from harness import start_gateway

    root = pki.root
    cfg = config([(auth_domain / "ca/ca.crt").read_text(), pem(root / "platform/partner-domain-ca/ca.crt")],
                 [partner("dfsp-a", (auth_domain / "rsa.crt").read_text()),
                  partner("dfsp-a-ec", pem(root / "dfsp-a/signing/signing.crt"))],
                 x5c_pem_compat=True)
    with start_gateway(tmp_path_factory.mktemp("mosip-compat"), pki, filters=verify_filter(cfg)) as gw:
        yield gw


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_sdk_signed_auth_request_passes_envoy(alg, mosip_sdk, auth_domain, pki, compat_gw):
    root = pki.root
    rsa_cert = (auth_domain / "rsa.crt").read_text()
    if alg == "RS256":
        pid, key, cert = "dfsp-a", pem(root / "dfsp-a/jws/rsa.key"), rsa_cert
    else:
        pid, key, cert = "dfsp-a-ec", pem(root / "dfsp-a/signing/signing.key"), pem(root / "dfsp-a/signing/signing.crt")
    request = mosip_sdk(job(key, cert, rsa_cert, alg, pid))
    method, path, headers, body = request
    assert path == f"/idauthentication/v1/auth/misp1/{pid}/ak1"
    sig = dict(headers)["signature"]
    h = sig.split(".")[0]
    protected = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    assert protected["alg"] == alg and "BEGIN CERTIFICATE" in base64.b64decode(protected["x5c"][0]).decode()
    # requestTime is the SDK's now: IDA's window (on by default) applies.
    gw = compat_gw
    hits = gw.upstream.hits()
    assert_forwarded(gw, send(gw, pki, request), body, hits)
    # One byte of the encrypted request changed: the IDA error envelope, nothing forwarded.
    tampered = body.replace(b'"request":"', b'"request":"A', 1)
    assert tampered != body
    out = send(gw, pki, (method, path, headers, tampered))
    assert_refused(gw, out, "sig_invalid", 200, hits + 1)
    assert out.json()["errors"][0]["errorCode"] == "IDA-MPA-001"
    assert out.json()["transactionID"] == json.loads(body)["transactionID"]


def test_sdk_pem_x5c_needs_the_compat_setting(mosip_sdk, auth_domain, pki, gateway_factory):
    """mosip-auth-sdk 0.5.4 puts base64(PEM text, with newlines) in x5c, not base64(DER):
    strict Signet (the default, keymanager ≥ 1.2 behaviour) refuses it as `cert_invalid`."""
    rsa_cert = (auth_domain / "rsa.crt").read_text()
    request = mosip_sdk(job(pem(pki.root / "dfsp-a/jws/rsa.key"), rsa_cert, rsa_cert, "RS256"))
    cfg = config([(auth_domain / "ca/ca.crt").read_text()], [partner("dfsp-a", rsa_cert)])
    gw = gateway_factory(filters=verify_filter(cfg))
    hits = gw.upstream.hits()
    out = send(gw, pki, request)
    assert_refused(gw, out, "cert_invalid", 200, hits)
