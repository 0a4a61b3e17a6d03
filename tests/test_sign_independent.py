"""Every algorithm Signet signs with, checked by a verifier that is not Signet's: the `signet
sign` CLI (the jws_sign filter's core) signs, Python's `cryptography` verifies the exact
signing input and signature bytes."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, utils

from signet_cli import sign

HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def key_pair(pki, tmp_path, kind: str):
    """(private PEM, public key object) for rsa, p256, p384, ed25519."""
    if kind in ("rsa", "p256"):
        name = "rsa" if kind == "rsa" else "ec"
        priv = (pki.root / f"dfsp-a/jws/{name}.key").read_text()
    else:
        algo = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"] if kind == "p384" else ["-algorithm", "ed25519"]
        out = tmp_path / f"{kind}.key"
        subprocess.run(["openssl", "genpkey", *algo, "-out", str(out)], check=True, capture_output=True, timeout=30)
        priv = out.read_text()
    public = serialization.load_pem_private_key(priv.encode(), password=None).public_key()
    return priv, public


def independent_verify(alg: str, public, signing_input: bytes, sig: bytes) -> None:
    """Raises InvalidSignature when the signature is wrong."""
    family, bits = alg[:2], alg[2:]
    if family == "RS":
        public.verify(sig, signing_input, padding.PKCS1v15(), HASHES[bits]())
    elif family == "PS":
        h = HASHES[bits]()
        public.verify(sig, signing_input, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    elif family == "ES":
        half = len(sig) // 2
        der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"))
        public.verify(der, signing_input, ec.ECDSA(HASHES[bits]()))
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(sig, signing_input)


CASES = [("RS256", "rsa"), ("RS384", "rsa"), ("RS512", "rsa"), ("PS256", "rsa"), ("PS384", "rsa"),
         ("PS512", "rsa"), ("ES256", "p256"), ("ES384", "p384"), ("EdDSA", "ed25519")]


@pytest.mark.parametrize("alg,kind", CASES)
@pytest.mark.parametrize("unencoded", [False, True])
def test_every_algorithm_verifies_independently(pki, tmp_path, alg, kind, unencoded):
    priv, public = key_pair(pki, tmp_path, kind)
    body = json.dumps({"amount": "10.00", "note": "caf\u00e9"}, ensure_ascii=False).encode()
    config = {"profile": {"generic": {"sign_unencoded": unencoded}}, "sign_alg": alg, "kid": "k1",
              "signing_key": priv}
    _, _, headers, got = sign(tmp_path, config, "POST", "/api", [("content-type", "application/json")], body)
    assert got == body
    value = dict((n.lower(), v) for n, v in headers)["x-jws-signature"]
    h, middle, s = value.split(".")
    assert middle == ""
    header = json.loads(b64u_decode(h))
    assert header["alg"] == alg and header["kid"] == "k1"
    payload = body if unencoded else base64.urlsafe_b64encode(body).rstrip(b"=")
    signing_input = h.encode() + b"." + payload
    independent_verify(alg, public, signing_input, b64u_decode(s))
    with pytest.raises(Exception):
        independent_verify(alg, public, signing_input + b" ", b64u_decode(s))
