"""Responses a hostile platform (or network) sends an egress, scripted per test, and the
signatures of each profile's platform computed here with Python `cryptography` (not Signet):

- `Answer`: status, headers, body in DATA frames of `frame` bytes, then trailers, or a 1xx
  first, or RST_STREAM / silence after `cut` bytes of body;
- `Scripted`: an HTTP/2 upstream (adv_h2_upstream.H2Upstream, TLS with the platform's server
  certificate, as the egress's `platform` cluster pins it) that answers every request with
  its current `answer` and records what reached it (`seen`, `received()`);
- `generic_sig`, `mosip_sig`, `ocen_sig`: the response signatures the egress verifiers accept.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from adv_h2_upstream import H2Upstream, b64u, es256_detached


@dataclass
class Answer:
    status: int = 200
    headers: list = field(default_factory=list)
    body: bytes = b""
    frame: int = 64
    trailers: list | None = None
    informational: list | None = None  # [(status, [(name, value)])] before the final headers
    cut: int | None = None  # bytes of body sent before `then`
    then: str = "reset"  # after `cut`: "reset" (RST_STREAM CANCEL) | "stall" (silence)

    def send(self, conn, sid: int) -> None:
        for status, headers in self.informational or []:
            conn.send_headers(sid, [(":status", str(status))] + list(headers))
        body = self.body if self.cut is None else self.body[:self.cut]
        frames = [body[i:i + self.frame] for i in range(0, len(body), self.frame)]
        ends = self.cut is None
        conn.send_headers(sid, [(":status", str(self.status))] + list(self.headers),
                          end_stream=ends and not frames and self.trailers is None)
        for i, chunk in enumerate(frames):
            conn.send_data(sid, chunk, end_stream=ends and i == len(frames) - 1 and self.trailers is None)
        if not ends:
            if self.then == "reset":
                conn.reset_stream(sid, error_code=8)
            return
        if self.trailers is not None:
            conn.send_headers(sid, list(self.trailers), end_stream=True)


class Scripted(H2Upstream):
    """An HTTP/2 upstream answering every request with `self.answer`."""

    def __init__(self, pki, *, tls: bool = True):
        self.answer = Answer(body=b"{}")
        super().__init__(pki, tls=tls, responder=lambda conn, sid, req: self.answer.send(conn, sid))


# --- the platforms' response signatures --------------------------------------------------------


def _header(members: dict) -> str:
    return b64u(json.dumps(members, separators=(",", ":")).encode())


def _sign(key_pem: bytes, data: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def generic_sig(pki, body: bytes) -> list:
    """The generic platform's `x-jws-signature` (ES256, kid platform-ec, detached E-input)."""
    key = (pki.root / "platform" / "jws" / "ec.key").read_bytes()
    return [("x-jws-signature", es256_detached(key, body, "platform-ec"))]


def mosip_sig(pki, body: bytes, signer: str = "platform") -> list:
    """IDA's `response-signature`: `H.<payload>.S` with x5c = the signing certificate of
    `signer` (the egress pins platform/signing/signing.crt), E-input over the raw body."""
    cert = x509.load_pem_x509_certificate((pki.root / signer / "signing" / "signing.crt").read_bytes())
    key = (pki.root / signer / "signing" / "signing.key").read_bytes()
    alg = "ES256" if isinstance(cert.public_key(), ec.EllipticCurvePublicKey) else "RS256"
    h = _header({"x5c": [base64.b64encode(cert.public_bytes(Encoding.DER)).decode()], "alg": alg})
    payload = b64u(body)
    sig = _sign(key, f"{h}.{payload}".encode())
    return [("response-signature", f"{h}.{payload}.{b64u(sig)}")]


def ocen_sig(pki, body: bytes, kid: str = "platform-1") -> list:
    """The OCEN lender's `x-jws-signature`: RS256, `b64: false` (U-input over the raw body),
    detached, as jose4j writes it."""
    key = (pki.root / "platform" / "jws" / "rsa.key").read_bytes()
    h = _header({"alg": "RS256", "kid": kid, "b64": False, "crit": ["b64"]})
    sig = _sign(key, h.encode() + b"." + body)
    return [("x-jws-signature", f"{h}..{b64u(sig)}")]
