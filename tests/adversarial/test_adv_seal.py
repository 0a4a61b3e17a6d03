"""`mosip_seal` on a MOSIP partner's egress, attacked from both sides (issue #14's rule: a request
whose `request` is in clear never leaves; the application receives an e-KYC identity opened
only from an answer whose IDA signature verified).

The chain is the documented one, `[gateway, mosip_seal, jws_sign, jws_verify(response)]` on
envoy/egress.yaml, its `platform` cluster HTTP/2 over the pinned mTLS to a stand-in IDA
(adv_answers.Scripted) that records every byte it receives, also of requests that never end.

- As a buggy or hostile application: the clear `request` sent where the filter might not see
  it (trailers, many frames, compressed, HTTP/1.1 framing tricks, content types, JSON name
  tricks, other methods and paths, over the bound, stalled, reset). Judged at IDA: whatever
  arrived is a sealed envelope that IDA's key opens, and no clear identity byte arrived.
- As a hostile network on the answer: unsigned, re-signed, signature only in trailers, 1xx,
  bodiless, HEAD, another certificate's thumbprint, duplicate members, a content type that
  skipped the open step. Judged at the application: the clear identity only from IDA's signed
  answer, and never an identity left sealed.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import json
import os
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

from adv_answers import Answer, Scripted, mosip_sig
from adv_h2_upstream import http2_cluster
from adv_verdicts import SETTLE_ANSWERED, SETTLE_UNANSWERED
from adv_wire import h1_bytes, h1_exchange, h1_one, h2_exchange, split
from harness import start_gateway
from test_two_gateways import ida_pin

pytestmark = pytest.mark.timeout(120)

MARK = "Asha Rao"  # in the clear request and in the identity: never at IDA, never sealed at the app
CLEAR = {"demographics": {"dob": "1990/01/01", "name": [{"language": "eng", "value": MARK}]},
         "biometrics": [], "otp": "", "timestamp": "2026-12-04T10:00:00.000Z"}
ENVELOPE = {"id": "mosip.identity.kyc", "version": "1.0", "individualId": "2345678901",
            "individualIdType": "UIN", "transactionID": "1234567890",
            "requestTime": "2026-12-04T10:00:00.000Z", "specVersion": "1.0", "thumbprint": "",
            "requestedAuth": {"demo": True}, "consentObtained": True, "requestHMAC": "",
            "requestSessionKey": "", "request": CLEAR, "metadata": {}}
BODY = json.dumps(ENVELOPE, separators=(",", ":")).encode()
KYC = "/idauthentication/v1/kyc/misp1/dfsp-a/ak1"
IDENTITY = {"name": [{"language": "eng", "value": MARK}], "phoneNumber": "9876543210"}
JSON = [("content-type", "application/json")]
MAX_BODY = 16384  # under HTTP/2's initial 64 KiB window: the client can send past it
TRANSPORTS = ["h1", "h2c"]


# --- keys, sealing and opening as IDA does (Python `cryptography`) ---------------------------------


def rsa_pair(name: str) -> tuple[bytes, bytes, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} encryption")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, key


OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def b64url_pad(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ida_opens(key: rsa.RSAPrivateKey, envelope: dict) -> bytes:
    """What IDA reads of a sealed envelope: the `request` bytes (AES-GCM, ct‖tag‖16-byte nonce)
    under the session key its private key unwraps. Raises when it does not open."""
    aes = key.decrypt(unb64(envelope["requestSessionKey"]), OAEP)
    data = unb64(envelope["request"])
    return AESGCM(aes).decrypt(data[-16:], data[:-16], None)


def kyc_answer(to_cert: bytes, thumbprint_of: bytes, identity: dict | None = None) -> dict:
    """An e-KYC answer as IDA writes it: the identity sealed to `to_cert`, the thumbprint the
    upper-case hex SHA-256 of `thumbprint_of`."""
    aes, nonce = os.urandom(32), os.urandom(16)
    plain = json.dumps(identity or IDENTITY).encode()
    sealed = AESGCM(aes).encrypt(nonce, plain, None) + nonce
    cert = x509.load_pem_x509_certificate(to_cert)
    wrapped = cert.public_key().encrypt(aes, OAEP)
    thumb = x509.load_pem_x509_certificate(thumbprint_of).fingerprint(hashes.SHA256()).hex().upper()
    return {"id": "mosip.identity.kyc", "version": "1.0", "transactionID": "1234567890",
            "response": {"kycStatus": True, "authToken": "token-1", "thumbprint": thumb,
                         "identity": b64url_pad(sealed), "sessionKey": b64url_pad(wrapped)},
            "errors": None}


# --- the egress ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keys():
    return {who: rsa_pair(who) for who in ("ida", "partner", "stranger")}


@pytest.fixture(scope="module")
def egress(pki, keys, tmp_path_factory):
    ida = Scripted(pki)
    seal = {"root_id": "mosip_seal", "configuration": {
        "ida_encryption_certificate": keys["ida"][0].decode(),
        "partner_encryption_certificate": keys["partner"][0].decode(),
        "partner_encryption_key_env": "SIGNET_TEST_ENC_KEY", "max_body_bytes": MAX_BODY}}
    chain = [
        {"root_id": "gateway", "configuration": {}}, seal,
        {"root_id": "jws_sign", "configuration": {
            "profile": {"mosip": {"signing_certificate": "@pki:dfsp-a/signing/signing.crt"}},
            "signing_key_env": "SIGNET_EGRESS_SIGNING_KEY"}},
        {"root_id": "jws_verify", "configuration": {
            "profile": {"mosip": {"ida_certificate_sha256": ida_pin(pki)}}, "direction": "response"}},
    ]
    env = {"SIGNET_TEST_ENC_KEY": keys["partner"][1].decode(),
           "SIGNET_EGRESS_SIGNING_KEY": (pki.root / "dfsp-a/signing/signing.key").read_text()}
    params = {"platform_host": "127.0.0.1", "platform_port": ida.port, "platform_sni": "localhost",
              "partner": "dfsp-a"}
    try:
        with start_gateway(tmp_path_factory.mktemp("seal-egress"), pki, filters=chain,
                           template="egress.yaml", listener="egress", params=params, env=env,
                           with_upstream=False, patch=http2_cluster("platform")) as gw:
            yield gw, ida
    finally:
        ida.stop()


@pytest.fixture
def plain_ida(egress, pki):
    """The stand-in IDA answers a signed auth answer without identity."""
    gw, ida = egress
    body = b'{"response":{"authStatus":true},"errors":null}'
    ida.answer = Answer(headers=JSON + mosip_sig(pki, body), body=body)
    return gw, ida


def app(transport: str, gw, method: str = "POST", path: str = KYC, headers=None, body: bytes | None = BODY,
        *, frames=None, trailers=None, timeout: float = 5.0, **kw):
    """The application's request to the egress (plain HTTP on loopback)."""
    headers = JSON if headers is None else headers
    if transport == "h1":
        if trailers is not None or frames is not None:
            raw = h1_bytes(method, path, headers, chunks=frames or split(body or b"", 64), trailers=trailers)
        else:
            raw = h1_bytes(method, path, headers, body)
        return h1_one(gw.port, None, raw, timeout=timeout, head=method == "HEAD", **kw)
    data = frames if frames is not None else ([body] if body else None)
    return h2_exchange(gw.port, None, method, path, headers, data=data, trailers=trailers, alpn=False,
                       scheme="http", timeout=timeout, **kw)


# --- the verdicts -----------------------------------------------------------------------------------


class AtIda:
    """What reached IDA during a `with` block: on exit, no clear identity byte arrived, and
    each request that arrived with a body is a sealed envelope IDA's key opens to a JSON object
    (collected in `opened`). Set `out` to the application's answer: the wait for a wrongly
    forwarded copy is short after an answer, longer after silence or a reset."""

    def __init__(self, ida, keys):
        self.ida, self.key = ida, keys["ida"][2]
        self.opened: list[bytes] = []
        self.out = None

    def __enter__(self):
        self.seen, self.wire = len(self.ida.seen), len(self.ida.wire)
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        answered = self.out is not None and self.out.kind == "response"
        time.sleep(SETTLE_ANSWERED if answered else SETTLE_UNANSWERED)
        new = b"\n".join(self.ida.wire[self.wire:])
        assert MARK.encode() not in new, f"the identity reached IDA in clear: {new[:600]!r}"
        for req in self.ida.seen[self.seen:]:
            if not req["body"]:
                continue
            envelope = json.loads(req["body"])
            assert isinstance(envelope.get("request"), str), f"not sealed: {req['body'][:300]!r}"
            clear = ida_opens(self.key, envelope)
            assert isinstance(json.loads(clear), dict)
            self.opened.append(clear)
        return False


def refused(out) -> bool:
    """A refusal the application got instead of an answer: the filter's (its reason code, in
    whatever status and body the filter answers with), Envoy's codec's, or a closed stream."""
    return out.kind != "response" or out.status != 200 or out.reason is not None


# --- requests: the clear `request` where the filter might not see it ---------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_baseline_request_leaves_sealed(plain_ida, keys, transport):
    gw, ida = plain_ida
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw)
    assert out.kind == "response" and out.status == 200, out
    assert at.opened == [json.dumps(CLEAR, separators=(",", ":")).encode()]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_many_frames_leave_sealed(plain_ida, keys, transport):
    gw, ida = plain_ida
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, frames=split(BODY, 7))
    assert out.status == 200 and len(at.opened) == 1, out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("trailer", ["plain", "clear-request"])
def test_trailers_never_carry_clear_data_to_ida(plain_ida, keys, transport, trailer):
    """The message ends on trailers: the body is sealed there, and nothing the application put
    in the trailers (here its clear `request`) travels on unsealed."""
    gw, ida = plain_ida
    fields = [("x-note", "after-the-body")]
    if trailer == "clear-request":
        fields.append(("request", json.dumps(CLEAR, separators=(",", ":"))))
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, frames=split(BODY, 100), trailers=fields)
    assert out.status == 200 and len(at.opened) == 1, out
    assert all(not r["trailers"] for r in ida.seen[-1:]), ida.seen[-1]["trailers"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_trailers_without_body_leave_nothing(plain_ida, keys, transport):
    gw, ida = plain_ida
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, frames=[] if transport == "h1" else None, body=None,
                  trailers=[("request", json.dumps(CLEAR))])
    assert refused(out) and not at.opened, out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("encoding", ["gzip", "gzip-lying"])
def test_compressed_request_never_leaves_readable(plain_ida, keys, transport, encoding):
    """`content-encoding: gzip` over the compressed envelope (unreadable to the filter: refused),
    or over a plain one (sealed like any other)."""
    gw, ida = plain_ida
    body = gzip.compress(BODY) if encoding == "gzip" else BODY
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, headers=JSON + [("content-encoding", "gzip")], body=body)
    if encoding == "gzip":
        assert refused(out) and not at.opened, out
        assert not any(gzip.compress(BODY)[:10] in r["body"] for r in ida.seen)
    else:
        assert out.status == 200 and len(at.opened) == 1, out


SMUGGLE = [
    # (name, raw bytes after the request line and Host)
    ("cl-and-te", [("Content-Length", "5"), ("Transfer-Encoding", "chunked")], "chunked"),
    ("te-gzip-chunked", [("Transfer-Encoding", "gzip, chunked")], "chunked"),
    ("te-chunked-identity", [("Transfer-Encoding", "chunked, identity")], "chunked"),
    ("te-xchunked", [("Transfer-Encoding", "xchunked"), ("Content-Length", str(len(BODY)))], "plain"),
    ("te-twice", [("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "identity")], "chunked"),
    ("te-space", [("Transfer-Encoding", " chunked")], "chunked"),
    ("cl-short-then-rest", [("Content-Length", "2")], "plain"),
    ("cl-zero-pipelined", [("Content-Length", "0")], "pipelined"),
    ("expect-continue", [("Content-Length", str(len(BODY))), ("Expect", "100-continue")], "plain"),
    ("upgrade", [("Content-Length", str(len(BODY))), ("Connection", "Upgrade"), ("Upgrade", "websocket")],
     "plain"),
]


@pytest.mark.parametrize("name,headers,framing", SMUGGLE, ids=[s[0] for s in SMUGGLE])
def test_http1_framing_tricks_never_carry_clear(plain_ida, keys, name, headers, framing):
    """HTTP/1.1 framing the codec might read one way and the filter another: whatever Envoy
    makes of it, IDA gets sealed envelopes or nothing."""
    gw, ida = plain_ida
    head = f"POST {KYC} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n".encode()
    head += b"".join(f"{n}: {v}\r\n".encode() for n, v in headers) + b"\r\n"
    if framing == "chunked":
        raw = head + b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in split(BODY, 90)) + b"0\r\n\r\n"
    elif framing == "pipelined":
        raw = head + h1_bytes("POST", KYC, JSON, BODY)
    else:
        raw = head + BODY
    with AtIda(ida, keys) as at:
        out = h1_exchange(gw.port, None, [raw], expect=2 if framing == "pipelined" else 1, timeout=1.5)
        at.out = out[0]
    assert out, out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_content_type_does_not_skip_sealing(plain_ida, keys, transport, ctype):
    gw, ida = plain_ida
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, headers=[] if ctype is None else [("content-type", ctype)])
    assert out.status == 200 and len(at.opened) == 1, out


def clear_text() -> str:
    return json.dumps(CLEAR, separators=(",", ":"))


JSON_TRICKS = {
    # name: (body, sealed?)
    "duplicate-request": ('{"id":"x","request":%s,"request":%s}' % (clear_text(), clear_text()), False),
    "escaped-name": ('{"id":"x","requ\\u0065st":%s}' % clear_text(), True),
    "escaped-duplicate": ('{"id":"x","request":{},"requ\\u0065st":%s}' % clear_text(), False),
    "nested-only": ('{"id":"x","data":{"request":%s}}' % clear_text(), False),
    "string-of-json": ('{"id":"x","request":%s}' % json.dumps(clear_text()), False),
    "array": ('{"id":"x","request":[%s]}' % clear_text(), False),
    "bom": ('\ufeff{"id":"x","request":%s}' % clear_text(), False),
    "two-documents": ('{"id":"x","request":{}}{"request":%s}' % clear_text(), False),
    "trailing-garbage": ('{"id":"x","request":{}} %s' % clear_text(), False),
    "null-then-clear": ('{"id":"x","request":null,"requestX":%s}' % clear_text(), False),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("trick", list(JSON_TRICKS))
def test_json_tricks_never_leave_clear(plain_ida, keys, transport, trick):
    """Names and shapes a JSON reader might take for `request` where the filter does not, or
    the other way round: sealed when there is exactly one `request` object, else refused."""
    gw, ida = plain_ida
    body, sealed = JSON_TRICKS[trick]
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, body=body.encode())
    if sealed:
        assert out.status == 200 and at.opened == [clear_text().encode()], out
    else:
        assert refused(out) and not at.opened, out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "post"])
def test_every_method_with_a_body_is_sealed(plain_ida, keys, transport, method):
    if transport == "h1" and method == "post":
        pytest.skip("Envoy's HTTP/1.1 codec refuses lower-case methods itself")
    gw, ida = plain_ida
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, method=method)
    assert len(at.opened) == (0 if refused(out) else 1), out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("path", ["/health", "/", "/idauthentication/v1/internal/auth", "/x?request=1"])
def test_every_path_is_sealed(plain_ida, keys, transport, path):
    gw, ida = plain_ida
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, path=path)
    assert out.status == 200 and len(at.opened) == 1, out


def test_a_query_byte_outside_utf8_is_sealed(plain_ida, keys):
    """HTTP/2 carries a raw 0xff in the query to the filter (HTTP/1.1's codec answers 400
    itself): the path is read without choking on it (proxy-wasm's `get_map_value` panics on a
    value that is not UTF-8: a VM crash, every request after it 503 until the reload) and the
    body leaves sealed. Twice: the second shows the VM lived."""
    gw, ida = plain_ida
    for _ in range(2):
        with AtIda(ida, keys) as at:
            at.out = out = app("h2c", gw, path=KYC.encode() + b"?q=\xff")
        assert out.kind == "response" and out.status == 200 and len(at.opened) == 1, out


def padded_body(size: int) -> bytes:
    env = dict(ENVELOPE, metadata={"pad": "x" * (size - len(BODY) - 20)})
    return json.dumps(env, separators=(",", ":")).encode()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("shape", ["one-piece", "frames"])
def test_body_over_the_bound_never_leaves(plain_ida, keys, transport, shape):
    gw, ida = plain_ida
    big = padded_body(MAX_BODY + 4096)
    with AtIda(ida, keys) as at:
        at.out = out = app(transport, gw, body=big, frames=split(big, 8192) if shape == "frames" else None)
    assert refused(out) and not at.opened, out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_stalled_body_never_leaves(plain_ida, keys, transport):
    """Half the envelope, then silence: nothing reaches IDA while the application waits (an
    answer within the wait, if any, is a refusal)."""
    gw, ida = plain_ida
    hits = ida.hits()
    with AtIda(ida, keys) as at:
        if transport == "h1":
            raw = h1_bytes("POST", KYC, JSON + [("Content-Length", str(len(BODY)))], BODY[:len(BODY) // 2],
                           content_length=False)
            at.out = out = h1_one(gw.port, None, raw, timeout=1.5)
        else:
            at.out = out = h2_exchange(gw.port, None, "POST", KYC, JSON, data=[BODY[:len(BODY) // 2]], alpn=False,
                              scheme="http", end_stream=False, timeout=1.5)
    assert ida.hits() == hits and not at.opened, out
    assert out.kind == "timeout" or refused(out), out


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_reset_mid_body_never_leaves(plain_ida, keys, transport):
    gw, ida = plain_ida
    hits = ida.hits()
    with AtIda(ida, keys) as at:
        if transport == "h1":
            raw = h1_bytes("POST", KYC, JSON, BODY)
            h1_exchange(gw.port, None, [raw[:len(raw) - len(BODY) // 2]], close_after_writes=True)
        else:
            h2_exchange(gw.port, None, "POST", KYC, JSON, data=[BODY[:len(BODY) // 2]], alpn=False,
                        scheme="http", end_stream=False, reset_after_data=True)
    assert ida.hits() == hits


# --- answers: the identity opened only from IDA's signed answer ----------------------------------


def assert_no_identity(out):
    """Neither the clear identity nor the sealed one reached the application."""
    assert MARK.encode() not in out.body, f"an unverified identity reached the application: {out!r}"
    assert b'"identity"' not in out.body and b'"sessionKey"' not in out.body, out


def answer(pki, doc: dict | bytes, *, sig=True, signer="platform", **kw) -> Answer:
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    headers = kw.pop("headers", JSON)
    if sig:
        headers = headers + mosip_sig(pki, body, signer)
    return Answer(headers=headers, body=body, **kw)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_signed_answer_is_opened(egress, pki, keys, transport):
    gw, ida = egress
    ida.answer = answer(pki, kyc_answer(keys["partner"][0], keys["partner"][0]), frame=50)
    out = app(transport, gw)
    assert out.status == 200, out
    assert out.json()["response"] == {"kycStatus": True, "authToken": "token-1", "identity": IDENTITY}


ATTACKS = {
    # name: (how the answer is spoiled, reason the application may see)
    "unsigned": dict(sig=False),
    "re-signed": dict(signer="dfsp-a"),
    "sig-in-trailers": dict(sig=False, trailers="sig"),
    "forged-with-trailers": dict(forge=True, trailers="plain"),
    "gzip": dict(gzip=True),
    "reset-mid-body": dict(cut=100, then="reset"),
    "other-thumbprint": dict(thumb="stranger"),
    "sealed-to-stranger": dict(to="stranger"),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_unverified_or_unopenable_answer_never_reaches_the_app(egress, pki, keys, transport, attack):
    gw, ida = egress
    a = ATTACKS[attack]
    doc = kyc_answer(keys[a.get("to", "partner")][0], keys[a.get("thumb", "partner")][0])
    body = json.dumps(doc).encode()
    headers = JSON
    if a.get("gzip"):
        body = gzip.compress(body)
        headers = JSON + [("content-encoding", "gzip")]
    sig = mosip_sig(pki, body, a.get("signer", "platform"))
    if a.get("forge"):
        v = sig[0][1]
        sig = [(sig[0][0], v[:-3] + ("AAA" if not v.endswith("AAA") else "BBB"))]
    trailers = {"sig": sig, "plain": [("x-note", "after")]}.get(a.get("trailers"))
    ida.answer = Answer(headers=headers + (sig if a.get("sig", True) else []), body=body,
                        trailers=trailers, cut=a.get("cut"), then=a.get("then", "reset"))
    out = app(transport, gw)
    assert_no_identity(out)
    assert refused(out), out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("dup", ["response", "identity"])
def test_duplicate_members_in_a_signed_answer_are_refused(egress, pki, keys, transport, dup):
    """IDA-signed bytes whose JSON reads two ways (a second `response` or `identity` member with a
    clear identity of the attacker's): never delivered as one of them."""
    gw, ida = egress
    doc = json.dumps(kyc_answer(keys["partner"][0], keys["partner"][0]))
    fake = json.dumps({"name": [{"language": "eng", "value": MARK}]})
    if dup == "response":
        body = doc[:-1] + ',"response":{"kycStatus":true,"identity":%s}}' % fake
    else:
        body = doc.replace('"identity":', '"identity":%s,"identity":' % fake, 1)
    ida.answer = answer(pki, body.encode())
    out = app(transport, gw)
    assert_no_identity(out)
    assert refused(out), out


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("ctype", ["text/plain", None, "application/octet-stream"])
def test_signed_answer_is_opened_whatever_its_content_type(egress, pki, keys, transport, ctype):
    """The identity is never handed over still sealed: IDA's signed e-KYC answer under another
    (or no) content type is opened like any other."""
    gw, ida = egress
    headers = [] if ctype is None else [("content-type", ctype)]
    ida.answer = answer(pki, kyc_answer(keys["partner"][0], keys["partner"][0]), headers=headers)
    out = app(transport, gw)
    assert out.status == 200, out
    assert b'"sessionKey"' not in out.body, f"the identity reached the application still sealed: {out!r}"
    assert out.json()["response"]["identity"] == IDENTITY


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", ["204", "304", "head", "end-on-headers"])
def test_bodiless_answers_carry_no_identity(egress, pki, keys, transport, case):
    gw, ida = egress
    full = json.dumps(kyc_answer(keys["partner"][0], keys["partner"][0])).encode()
    if case == "head":
        ida.answer = Answer(headers=JSON + mosip_sig(pki, full) + [("content-length", str(len(full)))])
    else:
        ida.answer = Answer(status=200 if case == "end-on-headers" else int(case),
                            headers=JSON + mosip_sig(pki, full))
    out = app(transport, gw, method="HEAD" if case == "head" else "POST",
              body=None if case == "head" else BODY)
    assert out.kind == "response", out
    assert_no_identity(out)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_informational_answer_first_carries_nothing_unverified(egress, pki, keys, transport):
    """A 103 with the platform's own headers before IDA's signed answer: the identity arrives
    opened, and no x-signet-* field of the upstream reaches the application in any 1xx."""
    gw, ida = egress
    ida.answer = answer(pki, kyc_answer(keys["partner"][0], keys["partner"][0]),
                        informational=[(103, [("x-signet-reason", "ok"), ("link", "</x>; rel=preload")])])
    if transport == "h1":
        raw = h1_bytes("POST", KYC, JSON + [("Connection", "close")], BODY)
        replies = [r for r in h1_exchange(gw.port, None, [raw], expect=2, timeout=3.0) if r.kind == "response"]
    else:
        replies = [app(transport, gw)]
    final = replies[-1]
    assert final.status == 200 and final.json()["response"]["identity"] == IDENTITY, replies
    for r in replies[:-1]:
        assert not [n for n, _ in r.headers if n.startswith("x-signet-")], r
