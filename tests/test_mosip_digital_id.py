"""`mosip_seal`'s digital-id checks in Envoy (issue #14 item 3) and its refusals: biometric
records built here as an SBI writes them (the data JWS signed by the device key, RS256; the
digital id inside it signed by the FTM chip key, ES256; `x5c` of one certificate), from the
generated chains of filters/core/tests/data/seal/device (gen.py).

- genuine records are sealed and IDA receives them, with an audit record in the access log;
- each failed check is refused before anything is sealed or sent, in IDA's error envelope
  (HTTP 200, `errors[0].errorCode`) with the stable reason in `x-signet-reason`;
- a request body that never ends is refused after `body_timeout`, never released in clear.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from harness import REPO, start_gateway
from test_interop_mosip_seal import StandInIda, keys  # noqa: F401 (the module's fixture)
from test_jws_verify import reason, send

DEV = REPO / "filters" / "core" / "tests" / "data" / "seal" / "device"
IDA_PATH = "/idauthentication/v1/auth/misp1/dfsp-a/ak1"
TXN = "1234567890"

pytestmark = pytest.mark.timeout(120)


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jws(payload: dict, who: str, cert: str | None = None) -> str:
    """A compact JWS as jose4j writes it for the SBI: `x5c` of `cert` (default: `who`'s),
    `alg` by the key type, signed with `who`'s key."""
    key = serialization.load_pem_private_key((DEV / f"{who}.key").read_bytes(), password=None)
    der = x509.load_pem_x509_certificate((DEV / f"{cert or who}.crt").read_bytes()).public_bytes(
        serialization.Encoding.DER)
    alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    header = {"x5c": [base64.b64encode(der).decode()], "alg": alg, "typ": "JWT"}
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(payload).encode())}".encode()
    if alg == "ES256":
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64u(sig)}"


def now_iso(offset_s: float = 0) -> str:
    t = datetime.now(timezone.utc) + timedelta(seconds=offset_s)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def record(*, model: str = "SLAP01", device: str = "device", device_cert: str | None = None,
           chip: str = "ftm-chip", age_s: float = 2, txn: str = TXN) -> dict:
    t = now_iso(-age_s)
    digital_id = {"serialNo": "SN-0001", "make": "MOSIP", "model": model, "type": "Finger",
                  "deviceSubType": "Slap", "deviceProvider": "MOSIP", "deviceProviderId": "MOSIP.PROXY.SBI",
                  "dateTime": t}
    data = {"digitalId": jws(digital_id, chip), "deviceCode": "dc-1", "deviceServiceVersion": "0.9.5",
            "bioType": "Finger", "bioSubType": "Left IndexFinger", "purpose": "Auth", "env": "Staging",
            "domainUri": "https://ida.example", "bioValue": "ZW5jcnlwdGVk", "transactionId": txn,
            "timestamp": t, "requestedScore": "40", "qualityScore": "80"}
    return {"specVersion": "0.9.5", "data": jws(data, device, device_cert), "hash": "AB12",
            "sessionKey": "c2Vzc2lvbg", "thumbprint": "CD34"}


def envelope(records: list) -> bytes:
    return json.dumps({
        "id": "mosip.identity.auth", "version": "1.0", "individualId": "2345678901", "individualIdType": "UIN",
        "transactionID": TXN, "requestTime": now_iso(), "specVersion": "1.0", "domainUri": "https://ida.example",
        "env": "Staging", "requestedAuth": {"demo": False, "pin": False, "otp": False, "bio": True},
        "consentObtained": True, "request": {"biometrics": records, "timestamp": now_iso()}},
        separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def gw(keys, pki, tmp_path_factory):  # noqa: F811 (the imported fixture)
    ida = StandInIda()
    ida.answer = b'{"response":{"authStatus":true,"authToken":"t1"},"errors":null}'
    seal = {"root_id": "mosip_seal", "configuration": {
        "ida_encryption_certificate": (keys / "ida.crt").read_text(),
        "device_trust": {
            "device_ca_certificates": (DEV / "dp-root.crt").read_text() + (DEV / "dp-ca.crt").read_text(),
            "ftm_ca_certificates": (DEV / "ftm-root.crt").read_text(),
            "models": [{"device_provider_id": "MOSIP.PROXY.SBI", "make": "MOSIP", "model": "SLAP01"}]},
        "body_timeout": "1.5s"}}
    with start_gateway(tmp_path_factory.mktemp("mosip-digital-id"), pki, filters=[seal], with_upstream=False,
                       params={"upstream_port": ida.port}) as g:
        yield g, ida
    ida.server.shutdown()


def post(g, pki, body: bytes, request_id: str):
    return send(g, pki, ("POST", IDA_PATH, [("content-type", "application/json"),
                                            ("x-request-id", request_id)], body))


def test_genuine_device_records_are_sealed_and_audited(gw, pki):
    g, ida = gw
    n = len(ida.received)
    out = post(g, pki, envelope([record(), record(age_s=1)]), "digital-id-ok")
    assert out.status == 200, (out.status, reason(out), out.body)
    assert out.json()["response"]["authStatus"] is True
    assert len(ida.received) == n + 1
    sealed = json.loads(ida.received[-1])
    assert isinstance(sealed["request"], str) and "SN-0001" not in ida.received[-1].decode()
    audit = g.access_log("digital-id-ok")["audit"]["mosip_seal"]
    assert (audit["decision"], audit["reason"], audit["profile"]) == ("allow", "ok", "mosip")
    assert "checking biometric records against 2 device-provider and 1 FTM CA certificate(s), 1 model(s)" \
        in g.log()


def tamper(data_jws: str) -> str:
    h, p, s = data_jws.split(".")
    return f"{h}.{p}.{s[:5]}{'B' if s[5] == 'A' else 'A'}{s[6:]}"


@pytest.mark.parametrize("case,want,code", [
    ("data signature altered", "device_sig_invalid", "IDA-MPA-001"),
    ("device under an unknown root", "device_cert_invalid", "IDA-MPA-001"),
    ("device certificate expired", "device_cert_invalid", "IDA-MPA-001"),
    ("digital id signed by the device key", "device_cert_invalid", "IDA-MPA-001"),
    ("model not registered", "device_unregistered", "IDA-DPM-001"),
    ("capture for another transaction", "binding_mismatch", "IDA-MLC-009"),
    ("capture ten minutes old", "stale", "IDA-MLC-001"),
    ("data not a JWS", "device_sig_invalid", "IDA-MPA-001"),
])
def test_each_failed_device_check_is_refused_in_idas_envelope(gw, pki, case, want, code):
    g, ida = gw
    rec = {
        "data signature altered": lambda: {**record(), "data": tamper(record()["data"])},
        "device under an unknown root": lambda: record(device="stranger-device"),
        "device certificate expired": lambda: record(device_cert="device-expired"),
        "digital id signed by the device key": lambda: record(chip="device"),
        "model not registered": lambda: record(model="FACE01"),
        "capture for another transaction": lambda: record(txn="999"),
        "capture ten minutes old": lambda: record(age_s=600),
        "data not a JWS": lambda: {**record(), "data": "eyJhbGciOiJSUzI1NiJ9.e30"},
    }[case]()
    n = len(ida.received)
    request_id = f"digital-id-{case.replace(' ', '-')}"
    # After a genuine record (the refused one is the second), but for the old capture: a
    # record older than the one before it is a gap (IDA-MLC-030), not a stale capture.
    records = [rec] if case == "capture ten minutes old" else [record(age_s=3), rec]
    out = post(g, pki, envelope(records), request_id)
    assert (out.status, reason(out)) == (200, want), (out.status, reason(out), out.body)
    answer = out.json()
    assert answer["errors"][0]["errorCode"] == code, answer
    assert (answer["transactionID"], answer["response"]) == (TXN, {"authStatus": False, "authToken": None})
    assert len(ida.received) == n, "a refused request is never sealed nor sent"
    audit = g.access_log(request_id)["audit"]["mosip_seal"]
    assert (audit["decision"], audit["reason"], audit["status"]) == ("deny", want, 200)


def test_a_request_body_that_never_ends_is_refused_after_body_timeout(gw, pki):
    import sys
    sys.path.insert(0, str(REPO / "tests" / "adversarial"))
    from adv_wire import h1_bytes, h1_exchange

    g, ida = gw
    n = len(ida.received)
    body = envelope([record()])
    raw = h1_bytes("POST", IDA_PATH, [("content-type", "application/json"),
                                      ("Content-Length", str(len(body)))], body[:200], content_length=False)
    start = time.monotonic()
    out = [r for r in h1_exchange(g.port, pki, [raw], timeout=6) if r.kind == "response"]
    assert out, "no answer to a stalled body"
    assert (out[0].status, reason(out[0])) == (200, "body_timeout")
    assert json.loads(out[0].body)["errors"][0]["errorCode"] == "IDA-MLC-007"
    assert 1.4 < time.monotonic() - start < 5.5
    assert len(ida.received) == n, "nothing leaves in clear"
