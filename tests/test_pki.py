"""scripts/pki: the demo PKI has the properties the gateway and later filters rely on."""

from __future__ import annotations

import subprocess

import pytest

from harness import REPO, run


def openssl(*args: str) -> str:
    return run(["openssl", *args], timeout=30).stdout


def verifies(ca, cert) -> bool:
    result = run(["openssl", "verify", "-CAfile", str(ca), str(cert)], timeout=30, check=False)
    return result.returncode == 0


@pytest.mark.parametrize("party", ["platform", "dfsp-a", "dfsp-b"])
def test_jws_keys_are_pkcs8_and_spki(pki, party):
    jws = pki.root / party / "jws"
    for name, algo in (("rsa", "RSA"), ("ec", "EC")):
        assert (jws / f"{name}.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
        assert (jws / f"{name}.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
        text = openssl("pkey", "-in", str(jws / f"{name}.key"), "-noout", "-text")
        assert ("Private-Key: (2048 bit" in text) if algo == "RSA" else ("NIST CURVE: P-256" in text)
        # The public file holds the public half of the private key.
        derived = openssl("pkey", "-in", str(jws / f"{name}.key"), "-pubout")
        assert derived == (jws / f"{name}.pub").read_text()


def test_certificates_chain_to_the_right_cas(pki):
    r = pki.root
    partner_ca = r / "platform" / "partner-ca" / "ca.crt"
    assert verifies(r / "platform" / "ca" / "ca.crt", r / "platform" / "tls" / "server.crt")
    for p in ("dfsp-a", "dfsp-b"):
        assert verifies(partner_ca, r / p / "tls" / "client.crt")
        assert verifies(r / "platform" / "partner-domain-ca" / "ca.crt", r / p / "signing" / "signing.crt")
        assert verifies(r / p / "ca" / "ca.crt", r / "platform" / "tls" / f"client-for-{p}.crt")
        san = openssl("x509", "-in", str(r / p / "tls" / "client.crt"), "-noout", "-ext", "subjectAltName")
        assert f"DNS:{p}.partners.signet.test" in san
    assert verifies(partner_ca, r / "unregistered" / "tls" / "client.crt")
    assert not verifies(partner_ca, r / "foreign" / "tls" / "client.crt")
    expired = run(["openssl", "verify", "-CAfile", str(partner_ca), str(r / "dfsp-a" / "tls" / "expired.crt")],
                  timeout=30, check=False)
    assert expired.returncode != 0 and "certificate has expired" in expired.stdout + expired.stderr


def test_server_cert_names_localhost(pki):
    san = openssl("x509", "-in", str(pki.root / "platform" / "tls" / "server.crt"), "-noout", "-ext", "subjectAltName")
    assert "DNS:localhost" in san and "IP Address:127.0.0.1" in san


def test_demo_is_idempotent(pki):
    files = {p: p.read_bytes() for p in pki.root.rglob("*") if p.is_file()}
    out = run([str(REPO / "scripts" / "pki"), "demo", str(pki.root)], timeout=60).stdout
    assert "created" not in out and "issued" not in out and "wrote" not in out, out
    assert {p: p.read_bytes() for p in pki.root.rglob("*") if p.is_file()} == files


def test_private_keys_are_not_world_readable(pki):
    keys = [p for p in pki.root.rglob("*.key")]
    assert keys
    for key in keys:
        assert key.stat().st_mode & 0o077 == 0, key


def test_sign_csr_refuses_a_tampered_csr(pki, tmp_path):
    csr = (pki.root / "dfsp-a" / "tls" / "client.csr").read_text().splitlines()
    # Flip one base64 character inside the body: the CSR's self-signature no longer holds.
    i = len(csr) // 2
    csr[i] = ("A" if csr[i][5] != "A" else "B").join([csr[i][:5], csr[i][6:]])
    bad = tmp_path / "bad.csr"
    bad.write_text("\n".join(csr) + "\n")
    result = subprocess.run(
        [str(REPO / "scripts" / "pki"), "sign-csr", str(pki.root / "platform" / "partner-ca"),
         str(bad), str(tmp_path / "out.crt"), "--profile", "client"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert not (tmp_path / "out.crt").exists()
