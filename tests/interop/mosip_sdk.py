"""Drives MOSIP's own Python partner SDK (`mosip-auth-sdk`, pinned in requirements-mosip.txt)
for tests/test_interop_mosip.py; runs in tests/interop/.venv.

One JSON job on stdin:
  {"sign_key_pem", "sign_cert_pem", "encrypt_cert_pem", "algorithm": "RS256" | "ES256",
   "misp_lk", "partner_id", "api_key", "authorization"}
prints the request the SDK sent, as JSON: {"method", "path", "headers": [[name, value]...],
"body_b64"}.

The SDK's `MOSIPAuthenticator.auth(...)` builds, encrypts and signs an IDA auth request
(`CryptoUtility.sign_auth_request_data`) and POSTs it with `requests`. Its `ida_auth_url` points
at a local capture server here, which records the exact request and answers 200 `{}`; the test
then sends those bytes through Envoy (with the partner's mTLS certificate, which the SDK has no
option for).
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from mosip_auth_sdk import MOSIPAuthenticator
from mosip_auth_sdk.models import DemographicsModel

CAPTURED: list[dict] = []


class Capture(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        CAPTURED.append({
            "method": "POST",
            "path": self.path,
            "headers": [[k.lower(), v] for k, v in self.headers.items()],
            "body_b64": base64.b64encode(body).decode(),
        })
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


def p12(path: Path, key_pem: str, cert_pem: str, password: str) -> None:
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"partner", key, cert, None, serialization.BestAvailableEncryption(password.encode())))


def main() -> int:
    job = json.load(sys.stdin)
    server = HTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.handle_request, daemon=True).start()
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "ida.crt").write_text(job["encrypt_cert_pem"])
        p12(d / "sign.p12", job["sign_key_pem"], job["sign_cert_pem"], "pw")
        config = SimpleNamespace(
            mosip_auth=SimpleNamespace(
                timestamp_format="%Y-%m-%dT%H:%M:%S", ida_auth_version="1.0",
                ida_auth_request_demo_id="mosip.identity.auth", ida_auth_request_kyc_id="mosip.identity.kyc",
                ida_auth_request_otp_id="mosip.identity.otp", ida_auth_env="Staging",
                authorization_header_constant=job["authorization"], partner_apikey=job["api_key"],
                partner_misp_lk=job["misp_lk"], partner_id=job["partner_id"]),
            mosip_auth_server=SimpleNamespace(
                ida_auth_domain_uri=f"http://127.0.0.1:{port}",
                ida_auth_url=f"http://127.0.0.1:{port}/idauthentication/v1/"),
            crypto_encrypt=SimpleNamespace(
                symmetric_key_size=256, symmetric_nonce_size=128, symmetric_gcm_tag_size=128,
                encrypt_cert_path=str(d / "ida.crt"),
                decrypt_p12_file_path=str(d / "sign.p12"), decrypt_p12_file_password="pw"),
            crypto_signature=SimpleNamespace(
                algorithm=job["algorithm"], sign_p12_file_path=str(d / "sign.p12"), sign_p12_file_password="pw"),
            logging=SimpleNamespace(log_file_path=str(d / "sdk.log"), log_format="%(message)s", loglevel="ERROR"),
        )
        logger = logging.getLogger("mosip-sdk")
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
        auth = MOSIPAuthenticator(config=config, logger=logger)
        response = auth.auth(
            individual_id="2345678901", individual_id_type="UIN",
            demographic_data=DemographicsModel(dob="1990/01/01"), consent=True)
        assert response.status_code == 200, response.status_code
    server.server_close()
    json.dump(CAPTURED[0], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
