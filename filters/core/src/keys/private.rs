//! Signing keys (docs/profiles.md#keys, last row): PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`,
//! PKCS#1 `RSA PRIVATE KEY` PEM, or a private JWK. Parsed once at configure time.

use super::pem::pem_single;
use super::{oid, KeyError, PublicKey};
use der::asn1::ObjectIdentifier;
use der::Decode;
use pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use std::fmt;

/// A private key of one of the four supported types. `Debug` prints only the type.
#[derive(Clone)]
pub enum PrivateKey {
    /// RSA (RS*, PS*).
    Rsa(rsa::RsaPrivateKey),
    /// ECDSA on P-256 (ES256).
    P256(p256::ecdsa::SigningKey),
    /// ECDSA on P-384 (ES384).
    P384(p384::ecdsa::SigningKey),
    /// Ed25519 (EdDSA).
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({})", self.public_key().kind())
    }
}

impl PrivateKey {
    /// Reads a PEM PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`.
    /// Encrypted keys are refused (`KeyError::PemLabel`).
    pub fn from_pem(pem: &str) -> Result<PrivateKey, KeyError> {
        let block = pem_single(pem)?;
        match block.label.as_str() {
            "PRIVATE KEY" => PrivateKey::from_pkcs8_der(&block.der),
            "EC PRIVATE KEY" => PrivateKey::from_sec1_der(&block.der),
            "RSA PRIVATE KEY" => {
                let key = rsa::RsaPrivateKey::from_pkcs1_der(&block.der)
                    .map_err(|_| KeyError::Der("RSAPrivateKey"))?;
                checked_rsa(key)
            }
            _ => Err(KeyError::PemLabel(block.label)),
        }
    }

    /// Reads a DER PKCS#8 `PrivateKeyInfo` (RSA, P-256, P-384 or Ed25519).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let info =
            pkcs8::PrivateKeyInfo::from_der(der).map_err(|_| KeyError::Der("PrivateKeyInfo"))?;
        let alg = info.algorithm.oid;
        if alg == oid::RSA {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|_| KeyError::Invalid("RSA private key"))?;
            checked_rsa(key)
        } else if alg == oid::EC {
            let curve: ObjectIdentifier = info
                .algorithm
                .parameters
                .ok_or(KeyError::Der("EC parameters"))?
                .decode_as()
                .map_err(|_| KeyError::UnsupportedCurve)?;
            if curve == oid::P256 {
                let sk = p256::SecretKey::from_pkcs8_der(der)
                    .map_err(|_| KeyError::Invalid("P-256 private key"))?;
                Ok(PrivateKey::P256(sk.into()))
            } else if curve == oid::P384 {
                let sk = p384::SecretKey::from_pkcs8_der(der)
                    .map_err(|_| KeyError::Invalid("P-384 private key"))?;
                Ok(PrivateKey::P384(sk.into()))
            } else {
                Err(KeyError::UnsupportedCurve)
            }
        } else if alg == oid::ED25519 {
            let sk = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|_| KeyError::Invalid("Ed25519 private key"))?;
            Ok(PrivateKey::Ed25519(sk))
        } else {
            Err(KeyError::UnsupportedKeyType)
        }
    }

    /// Reads a DER SEC1 `ECPrivateKey`; the curve comes from its parameters, or from the
    /// scalar length when the parameters are absent.
    pub fn from_sec1_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let ec = sec1::EcPrivateKey::from_der(der).map_err(|_| KeyError::Der("ECPrivateKey"))?;
        let curve = match ec.parameters.and_then(|p| p.named_curve()) {
            Some(c) => c,
            None => match ec.private_key.len() {
                32 => oid::P256,
                48 => oid::P384,
                _ => return Err(KeyError::UnsupportedCurve),
            },
        };
        if curve == oid::P256 {
            let sk = p256::SecretKey::from_sec1_der(der)
                .map_err(|_| KeyError::Invalid("P-256 private key"))?;
            Ok(PrivateKey::P256(sk.into()))
        } else if curve == oid::P384 {
            let sk = p384::SecretKey::from_sec1_der(der)
                .map_err(|_| KeyError::Invalid("P-384 private key"))?;
            Ok(PrivateKey::P384(sk.into()))
        } else {
            Err(KeyError::UnsupportedCurve)
        }
    }

    /// Reads a private JWK (see [`super::Jwk`] for the member rules).
    pub fn from_jwk(json: &str) -> Result<PrivateKey, KeyError> {
        super::jwk::private_from_json(json)
    }

    /// Reads a private JWK from an already parsed JSON value.
    pub fn from_jwk_value(v: &serde_json::Value) -> Result<PrivateKey, KeyError> {
        super::jwk::private_from_value(v)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            PrivateKey::Rsa(k) => PublicKey::Rsa(k.to_public_key()),
            PrivateKey::P256(k) => PublicKey::P256(*k.verifying_key()),
            PrivateKey::P384(k) => PublicKey::P384(*k.verifying_key()),
            PrivateKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        }
    }

    /// The key as DER PKCS#8 `PrivateKeyInfo` (what Envoy's native `sign` takes).
    pub fn try_to_pkcs8_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = match self {
            PrivateKey::Rsa(k) => k.to_pkcs8_der(),
            PrivateKey::P256(k) => k.to_pkcs8_der(),
            PrivateKey::P384(k) => k.to_pkcs8_der(),
            PrivateKey::Ed25519(k) => k.to_pkcs8_der(),
        };
        doc.map(|d| d.as_bytes().to_vec())
            .map_err(|_| KeyError::Der("PrivateKeyInfo encoding"))
    }

    /// As [`PrivateKey::try_to_pkcs8_der`]; empty on the (unreachable for valid keys) encoding
    /// failure, which makes the native signer fail — never a signature with another key.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        self.try_to_pkcs8_der().unwrap_or_default()
    }
}

fn checked_rsa(mut key: rsa::RsaPrivateKey) -> Result<PrivateKey, KeyError> {
    key.validate()
        .map_err(|_| KeyError::Invalid("inconsistent RSA private key"))?;
    key.precompute()
        .map_err(|_| KeyError::Invalid("inconsistent RSA private key"))?;
    Ok(PrivateKey::Rsa(key))
}

pub(super) fn checked_rsa_key(key: rsa::RsaPrivateKey) -> Result<PrivateKey, KeyError> {
    checked_rsa(key)
}
