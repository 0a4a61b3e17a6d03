"""Interop with Mojaloop's own JWS code, `@mojaloop/sdk-standard-components` (the version pinned
in tests/interop/package-lock.json, installed by tests/interop/install):

- requests signed by the SDK's `Jws.signer` (RS256 with an RSA key, ES256 with a P-256 key)
  pass a real Envoy with a `mojaloop` jws_verify filter, byte for byte; tampered ones do not;
- requests signed by `signet sign` (profile mojaloop, default `sign_body_form: sorted-compact`)
  pass the SDK's `Jws.validator`; tampered ones do not.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from harness import REPO, start_gateway
from signet_cli import sign
from test_jws_verify import SAN_A, SAN_B, assert_forwarded, assert_refused, pem, reason, send, verify_filter

INTEROP = REPO / "tests" / "interop"
SDK = "@mojaloop/sdk-standard-components"
DATE = "Tue, 02 Jun 2026 10:00:00 GMT"

# npm ci on a fresh machine (normally already done by scripts/setup).
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def sdk():
    """Runs one job through tests/interop/mojaloop.js (the SDK's real signer / validator)."""
    subprocess.run([str(INTEROP / "install")], check=True, timeout=550)

    def call(job: dict):
        out = subprocess.run(
            ["node", str(INTEROP / "mojaloop.js")], input=json.dumps(job).encode(),
            capture_output=True, timeout=60, cwd=INTEROP, check=False,
        )
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)

    version = call({"op": "version"})["version"]
    lock = json.loads((INTEROP / "package-lock.json").read_text())
    assert version == lock["packages"][f"node_modules/{SDK}"]["version"], "the pinned SDK runs"
    print(f"{SDK} {version}")
    return call


@pytest.fixture(scope="module")
def ml_gateway(pki, tmp_path_factory):
    root = pki.root
    config = {
        "profile": "mojaloop",
        "partners": [
            {"id": "dfsp-a", "tls_names": [SAN_A], "keys": [{"public_key_pem": pem(root / "dfsp-a/jws/rsa.pub")}]},
            {"id": "dfsp-b", "tls_names": [SAN_B], "keys": [{"public_key_pem": pem(root / "dfsp-b/jws/ec.pub")}]},
        ],
    }
    with start_gateway(tmp_path_factory.mktemp("interop-ml"), pki, filters=verify_filter(config)) as gw:
        yield gw


TRANSFER = {
    "transferId": "b51ec534-ee48-4575-b6a9-ead2955b8069",
    "payerFsp": "dfsp-a",
    "payeeFsp": "dfsp-b",
    "amount": {"currency": "USD", "amount": "123.45"},
    "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgy",
    "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
    "expiration": "2026-06-02T10:05:00.000Z",
    "extensionList": {"extension": [{"key": "note", "value": "caf\u00e9 \u2013 \u00fcber"}]},
}
# A body the application serialized itself, with whitespace and unsorted keys: the SDK signs
# the string as it is.
QUOTE_TEXT = json.dumps(
    {"quoteId": "q-7", "transactionId": "t-7", "amount": {"currency": "EUR", "amount": "5"}, "amountType": "SEND"},
    indent=2,
)


def sdk_jobs(root) -> list[dict]:
    rsa_a = pem(root / "dfsp-a/jws/rsa.key")
    ec_b = pem(root / "dfsp-b/jws/ec.key")
    ml = {"content-type": "application/vnd.interoperability.transfers+json;version=1.1", "accept": "application/json"}
    return [
        # RS256, object body (the SDK serializes it with safe-stable-stringify), destination + date.
        {"party": "dfsp-a", "path": "/transfers", "job": {
            "key_pem": rsa_a, "method": "post", "url": "http://switch.example/transfers",
            "headers": {**ml, "fspiop-source": "dfsp-a", "fspiop-destination": "dfsp-b", "date": DATE},
            "body": TRANSFER}},
        # RS256, a pre-serialized string body, a callback behind a path prefix.
        {"party": "dfsp-a", "path": "/fspiop/quotes/q-7", "job": {
            "key_pem": rsa_a, "method": "put", "url": "http://switch.example/fspiop/quotes/q-7",
            "headers": {**ml, "fspiop-source": "dfsp-a", "fspiop-destination": "dfsp-b"},
            "body": QUOTE_TEXT}},
        # ES256 (the SDK picks it for a SEC1 "EC PRIVATE KEY"), object body, no destination.
        {"party": "dfsp-b", "path": "/transfers", "job": {
            "key_pem": ec_b, "method": "post", "url": "http://switch.example/transfers",
            "headers": {**ml, "fspiop-source": "dfsp-b", "date": DATE},
            "body": {**TRANSFER, "payerFsp": "dfsp-b", "payeeFsp": "dfsp-a"}}},
        # ES256, error callback.
        {"party": "dfsp-b", "path": "/transfers/b51ec534/error", "job": {
            "key_pem": ec_b, "method": "put", "url": "http://switch.example/transfers/b51ec534/error",
            "headers": {**ml, "fspiop-source": "dfsp-b", "fspiop-destination": "dfsp-a"},
            "body": {"errorInformation": {"errorCode": "5100", "errorDescription": "Payee rejected"}}}},
    ]


def as_request(signed: dict, path: str):
    headers = [(n, v) for n, v in signed["headers"].items()]
    return signed["method"].upper(), path, headers, signed["body"].encode()


def protected(signed: dict) -> dict:
    import base64

    h = json.loads(signed["headers"]["fspiop-signature"])["protectedHeader"]
    return json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))


def test_sdk_signed_requests_pass_envoy(sdk, ml_gateway, pki):
    gw = ml_gateway
    jobs = sdk_jobs(pki.root)
    signed = sdk({"op": "sign", "items": [j["job"] for j in jobs]})
    assert [protected(s)["alg"] for s in signed] == ["RS256", "RS256", "ES256", "ES256"]
    assert signed[1]["body"] == QUOTE_TEXT
    assert protected(signed[1])["FSPIOP-URI"] == "/quotes/q-7"  # the SDK drops the prefix
    # Sanity of the harness: the SDK's own validator accepts what its signer made from an
    # object body. Not the pre-serialized, unsorted string body: the validator verifies its own
    # sorted re-serialization, not the bytes (profiles.md §3.14 #1) — Signet verifies the raw
    # bytes, so it accepts all four.
    keys = {"dfsp-a": pem(pki.root / "dfsp-a/jws/rsa.pub"), "dfsp-b": pem(pki.root / "dfsp-b/jws/ec.pub")}
    checked = sdk({"op": "validate", "keys": keys,
                   "items": [{"headers": s["headers"], "body": s["body"]} for s in signed]})
    assert [c["ok"] for c in checked] == [True, False, True, True], checked
    verified = gw.decisions("jws_verify", "ok")
    for job, s in zip(jobs, signed):
        request = as_request(s, job["path"])
        source_ip = "127.0.0.2" if job["party"] == "dfsp-b" else None
        hits = gw.upstream.hits()
        out = send(gw, pki, request, party=job["party"], source_ip=source_ip)
        assert_forwarded(gw, out, request[3], hits)
        seen = {n.lower(): v for n, v in out.json()["headers"]}
        assert seen["fspiop-signature"] == s["headers"]["fspiop-signature"]
        assert reason(out) is None
    assert gw.decisions("jws_verify", "ok") == verified + len(signed)


def tamper_body(body: bytes) -> bytes:
    i = body.index(b'"5') if b'"5' in body else body.index(b'"1')
    return body[: i + 1] + (b"6" if body[i + 1 : i + 2] == b"5" else b"2") + body[i + 2 :]


def flip_signature(value: str) -> str:
    sig = json.loads(value)
    s = sig["signature"]
    sig["signature"] = s[:10] + ("A" if s[10] != "A" else "B") + s[11:]
    return json.dumps(sig)


def test_tampered_sdk_requests_are_refused(sdk, ml_gateway, pki):
    gw = ml_gateway
    jobs = sdk_jobs(pki.root)
    signed = sdk({"op": "sign", "items": [j["job"] for j in jobs]})
    for job, s in zip(jobs, signed):
        method, path, headers, body = as_request(s, job["path"])
        h = dict(headers)
        cases = [
            ("sig_invalid", headers, tamper_body(body)),
            ("sig_invalid", list({**h, "fspiop-signature": flip_signature(h["fspiop-signature"])}.items()), body),
            ("binding_mismatch", list({**h, "fspiop-uri": "/transfers/other"}.items()), body),
            ("binding_mismatch", list({**h, "fspiop-http-method": "PATCH"}.items()), body),
            # Another destination; where none was protected, the member is missing (§3.4).
            ("binding_mismatch" if "fspiop-destination" in h else "header_malformed",
             list({**h, "fspiop-destination": "dfsp-x"}.items()), body),
        ]
        for code, hdrs, b in cases:
            assert b != body or hdrs != headers
            source_ip = "127.0.0.2" if job["party"] == "dfsp-b" else None
            hits = gw.upstream.hits()
            out = send(gw, pki, (method, path, hdrs, b), party=job["party"], source_ip=source_ip)
            assert_refused(gw, out, code, 400, hits)
            assert out.json()["errorInformation"]["errorCode"] == "3105"


# Insertion order differs from sorted order at every level; numbers that JSON.parse renders
# differently (1.50, 1E2), an escaped non-ASCII character: Signet's sorted-compact form is what
# the SDK's validator re-serializes.
SIGNET_BODY = (
    b'{"transferId":"c0ffee","payerFsp":"dfsp-a","payeeFsp":"dfsp-b",'
    b'"amount":{"currency":"USD","amount":"10"},"fee":1.50,"count":1E2,'
    b'"note":"caf\\u00e9","extensionList":{"extension":[{"value":"v","key":"k"}]}}'
)

SIGNET_SORTED = (
    '{"amount":{"amount":"10","currency":"USD"},"count":100,"extensionList":{"extension":'
    '[{"key":"k","value":"v"}]},"fee":1.5,"note":"caf\u00e9","payeeFsp":"dfsp-b",'
    '"payerFsp":"dfsp-a","transferId":"c0ffee"}'
).encode()


def signet_signed(tmp_path, root, key: str, headers: list, body: bytes, **extra):
    cfg = {"profile": {"mojaloop": {"source_id": "dfsp-a", **extra}},
           "signing_key": pem(root / f"dfsp-a/jws/{key}.key")}
    return sign(tmp_path, cfg, "POST", "/transfers", headers, body)


def test_signet_signed_requests_pass_the_sdk_validator(sdk, pki, tmp_path):
    root = pki.root
    keys = {"dfsp-a": pem(root / "dfsp-a/jws/rsa.pub")}
    ec_keys = {"dfsp-a": pem(root / "dfsp-a/jws/ec.pub")}
    ct = ("content-type", "application/vnd.interoperability.transfers+json;version=1.1")
    requests = {
        "rs256": signet_signed(tmp_path, root, "rsa", [ct, ("fspiop-destination", "dfsp-b")], SIGNET_BODY),
        "rs256-date": signet_signed(tmp_path, root, "rsa", [ct, ("date", DATE)], SIGNET_BODY),
        "es256": signet_signed(tmp_path, root, "ec", [ct, ("fspiop-destination", "dfsp-b")], SIGNET_BODY),
    }
    # The body Signet sends is the sorted compact form (what the SDK re-serializes).
    assert requests["rs256"][3] == SIGNET_SORTED
    # Tampered: another value in the body, a changed protected binding, a flipped signature,
    # another partner's key. The validator refuses each.
    _, _, headers, body = requests["rs256"]
    h, text = dict(headers), body.decode()
    bad = [
        {"headers": h, "body": text.replace('"10"', '"11"')},
        {"headers": {**h, "fspiop-uri": "/quotes"}, "body": text},
        {"headers": {**h, "fspiop-destination": "dfsp-c"}, "body": text},
        {"headers": {**h, "fspiop-signature": flip_signature(h["fspiop-signature"])}, "body": text},
        {"headers": h, "body": text, "keys": {"dfsp-a": pem(root / "dfsp-b/jws/rsa.pub")}},
    ]
    good = [{"headers": dict(hs), "body": b.decode(), "keys": ec_keys if name == "es256" else keys}
            for name, (_, _, hs, b) in requests.items()]
    out = sdk({"op": "validate", "keys": keys, "items": good + bad})
    assert [r["ok"] for r in out] == [True] * len(good) + [False] * len(bad), out
    assert "invalid signature" in out[-1]["error"], out


def test_signet_as_is_body_needs_sorted_keys_for_the_sdk(sdk, pki, tmp_path):
    """Why `sorted-compact` is the default: the SDK validator (>= 19.18.9) verifies its own
    sorted re-serialization, so an unsorted body signed byte for byte fails there, while the
    same bytes already sorted and compact pass."""
    root = pki.root
    keys = {"dfsp-a": pem(root / "dfsp-a/jws/rsa.pub")}
    unsorted = signet_signed(tmp_path, root, "rsa", [], SIGNET_BODY, sign_body_form="as-is")
    assert unsorted[3] == SIGNET_BODY
    sorted_as_is = signet_signed(tmp_path, root, "rsa", [], SIGNET_SORTED, sign_body_form="as-is")
    out = sdk({"op": "validate", "keys": keys, "items": [
        {"headers": dict(unsorted[2]), "body": unsorted[3].decode()},
        {"headers": dict(sorted_as_is[2]), "body": sorted_as_is[3].decode()},
    ]})
    assert [r["ok"] for r in out] == [False, True], out
