"""Drives the encryption half of MOSIP's own Python partner SDK (`mosip-auth-sdk`,
`CryptoUtility`) for tests/test_interop_mosip_seal.py; runs in tests/interop/.venv.

One JSON job on stdin, one JSON answer on stdout:
  {"op": "seal", "cert_pem", "key_pem", "plain"}
      `encrypt_auth_data(plain)` to the certificate (what a partner sends IDA, and, with the
      partner's certificate, the layout IDA answers e-KYC with) →
      {"request", "requestSessionKey", "requestHMAC", "thumbprint"}
  {"op": "open", "cert_pem", "key_pem", "session_key", "data", "hmac"?}
      `decrypt_auth_data(session_key, data)` with the key (what IDA does with a request, and
      the SDK's `decrypt_response`) → {"clear": <JSON value>, "hmac": <str>?}; the HMAC, when
      given, decrypted with the SDK's own `_symmetric_decrypt` under the same session key.
`cert_pem`/`key_pem` are the pair `CryptoUtility` is configured with (encryption certificate,
decryption key); errors exit 1 with the exception on stderr.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

from mosip_auth_sdk._authenticator.utils.cryptoutil import CryptoUtility, _b64pad

from mosip_sdk import p12


def crypto_util(d: Path, cert_pem: str, key_pem: str) -> CryptoUtility:
    (d / "enc.crt").write_text(cert_pem)
    p12(d / "key.p12", key_pem, cert_pem, "pw")
    encrypt = SimpleNamespace(symmetric_key_size=256, symmetric_nonce_size=128, symmetric_gcm_tag_size=128,
                              encrypt_cert_path=str(d / "enc.crt"),
                              decrypt_p12_file_path=str(d / "key.p12"), decrypt_p12_file_password="pw")
    sign = SimpleNamespace(algorithm="RS256", sign_p12_file_path=str(d / "key.p12"), sign_p12_file_password="pw")
    logger = logging.getLogger("mosip-crypto")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return CryptoUtility(encrypt, sign, logger)


def main() -> int:
    job = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as tmp:
        cu = crypto_util(Path(tmp), job["cert_pem"], job["key_pem"])
        if job["op"] == "seal":
            request, session_key, hmac = cu.encrypt_auth_data(job["plain"])
            out = {"request": request, "requestSessionKey": session_key, "requestHMAC": hmac,
                   "thumbprint": cu.enc_cert_thumbprint.decode()}
        else:
            out = {"clear": cu.decrypt_auth_data(job["session_key"], job["data"])}
            if job.get("hmac"):
                key = cu._asymmetric_decrypt(base64.urlsafe_b64decode(_b64pad(job["session_key"])))
                out["hmac"] = cu._symmetric_decrypt(base64.urlsafe_b64decode(_b64pad(job["hmac"])), key).decode()
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
