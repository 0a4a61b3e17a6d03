"""Regenerates the digital-id fixtures (run once, by hand: `.venv/bin/python gen.py`). TEST-ONLY
keys, generated here and used nowhere else.

- `ftm-root.crt`: a Foundational Trust Module provider's root; `ftm-chip.crt` / `.key`: a chip
  certificate it issued (P-256, the key that signs the digital id);
- `dp-root.crt` → `dp-ca.crt`: a device provider's root and issuing CA; `device.crt` / `.key`:
  a device certificate from that CA (RSA-2048, the key that signs each biometric record);
  `device-expired.crt`: the same key, certified for 2025 only;
- `stranger-root.crt` → `stranger-device.crt` / `.key`: a device under a root nobody configured.

Validity: roots and CAs 2026-01-01 … 2046-01-01, leaves 2026-06-01 … 2036-06-01.
"""

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).parent
D = dt.datetime


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Signet test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def cert(subject, key, issuer, issuer_key, ca: bool, start: D, end: D, path_len=None):
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                      encipher_only=False, decipher_only=False), critical=True))
    return b.sign(issuer_key, hashes.SHA256())


def write(stem: str, c, key=None):
    (HERE / f"{stem}.crt").write_bytes(c.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (HERE / f"{stem}.key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


CA_FROM, CA_TO = D(2026, 1, 1), D(2046, 1, 1)
LEAF_FROM, LEAF_TO = D(2026, 6, 1), D(2036, 6, 1)

ftm_root_key = rsa_key()
ftm_root = cert("FTM provider root", ftm_root_key, "FTM provider root", ftm_root_key, True, CA_FROM, CA_TO)
chip_key = ec.generate_private_key(ec.SECP256R1())
write("ftm-root", ftm_root)
write("ftm-chip", cert("FTM chip 0001", chip_key, "FTM provider root", ftm_root_key, False, LEAF_FROM, LEAF_TO),
      chip_key)

dp_root_key, dp_ca_key, device_key = rsa_key(), rsa_key(), rsa_key()
write("dp-root", cert("Device provider root", dp_root_key, "Device provider root", dp_root_key, True, CA_FROM, CA_TO))
write("dp-ca", cert("Device provider CA", dp_ca_key, "Device provider root", dp_root_key, True, CA_FROM, CA_TO, 0))
write("device", cert("Device SN-0001", device_key, "Device provider CA", dp_ca_key, False, LEAF_FROM, LEAF_TO),
      device_key)
write("device-expired",
      cert("Device SN-0001", device_key, "Device provider CA", dp_ca_key, False, D(2025, 1, 1), D(2026, 1, 1)))

stranger_root_key, stranger_key = rsa_key(), rsa_key()
write("stranger-root", cert("Stranger root", stranger_root_key, "Stranger root", stranger_root_key, True, CA_FROM,
                            CA_TO))
write("stranger-device", cert("Stranger device", stranger_key, "Stranger root", stranger_root_key, False, LEAF_FROM,
                              LEAF_TO), stranger_key)
