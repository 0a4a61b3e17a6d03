"""Writes sdk-vectors.json: envelopes sealed by MOSIP's own `mosip-auth-sdk` 0.5.4
(`CryptoUtility.encrypt_auth_data`, via tests/interop/mosip_crypto.py) for the Rust tests.
Run once, by hand: tests/interop/.venv/bin/python filters/core/tests/data/seal/sdk_vectors.py
- "kyc": an IDA-shaped e-KYC answer whose identity is sealed to partner.crt;
- "auth": an auth request's `request`, sealed to ida.crt as the SDK sends it."""
import hashlib, json, subprocess, sys
from pathlib import Path

here = Path(__file__).parent
interop = here.parents[4] / "tests" / "interop"
c = lambda n: (here / n).read_text()


def sdk(job):
    out = subprocess.run([sys.executable, str(interop / "mosip_crypto.py")], input=json.dumps(job).encode(),
                         capture_output=True, check=True, timeout=60)
    return json.loads(out.stdout)


identity = '{"name":[{"language":"eng","value":"Asha Rao"}],"dob":"1990/01/01","phoneNumber":"9876543210"}'
kyc = sdk({"op": "seal", "cert_pem": c("partner.crt"), "key_pem": c("partner.key"), "plain": identity})
der = subprocess.run(["openssl", "x509", "-in", str(here / "partner.crt"), "-outform", "DER"],
                     capture_output=True, check=True).stdout
answer = {"id": "mosip.identity.kyc", "version": "1.0", "responseTime": "2027-01-01T00:00:00.000Z",
          "transactionID": "1234567890",
          "response": {"kycStatus": True, "authToken": "tok-1", "thumbprint": hashlib.sha256(der).hexdigest().upper(),
                       "identity": kyc["request"], "sessionKey": kyc["requestSessionKey"]},
          "errors": None}
request = '{"biometrics":[],"demographics":{"dob":"1990/01/01"},"otp":"","timestamp":"2027-01-01T00:00:00.000Z"}'
auth = sdk({"op": "seal", "cert_pem": c("ida.crt"), "key_pem": c("ida.key"), "plain": request})
(here / "sdk-vectors.json").write_text(json.dumps({
    "source": "mosip-auth-sdk 0.5.4 CryptoUtility.encrypt_auth_data (sdk_vectors.py)",
    "kyc": {"identity": identity, "answer": json.dumps(answer, separators=(",", ":"))},
    "auth": {"clear": request, **auth}}, indent=1) + "\n")
