//! Verification keys: RSA, ECDSA P-256 / P-384 and Ed25519, read from SPKI, PKCS#1 or (in
//! `crate::x509`) a certificate (docs/profiles.md#keys), with the strength rule of
//! docs/profiles.md#algorithms.

use super::{oid, KeyError};
use crate::jose::alg::{Alg, AlgFamily};
use der::asn1::ObjectIdentifier;
use der::Decode;
use pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;

/// What an algorithm needs of a key. It lives here, beside the key types, so that `jose`
/// (the algorithm names) sits below `keys` in the import graph.
impl Alg {
    /// Whether the key type (and curve) fits the algorithm (docs/profiles.md#algorithms).
    pub fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (
                Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512,
                PublicKey::Rsa(_)
            ) | (Alg::ES256, PublicKey::P256(_))
                | (Alg::ES384, PublicKey::P384(_))
                | (Alg::EdDSA, PublicKey::Ed25519(_))
        )
    }

    /// The exact signature length this algorithm produces with this key
    /// (docs/profiles.md#algorithms): RSA the modulus length in bytes (0 if the key is not RSA),
    /// ES256 64, ES384 96, EdDSA 64.
    pub fn signature_len(self, key: &PublicKey) -> usize {
        match self.family() {
            AlgFamily::RsaPkcs1 | AlgFamily::RsaPss => key.rsa_modulus_len().unwrap_or(0),
            AlgFamily::Ecdsa => match self {
                Alg::ES384 => 96,
                _ => 64,
            },
            AlgFamily::EdDSA => 64,
        }
    }

    /// Default algorithm set for a key without its own list (docs/profiles.md#generic):
    /// RSA → RS256, PS256; P-256 → ES256; P-384 → ES384; Ed25519 → EdDSA.
    pub fn defaults_for(key: &PublicKey) -> &'static [Alg] {
        match key {
            PublicKey::Rsa(_) => &[Alg::RS256, Alg::PS256],
            PublicKey::P256(_) => &[Alg::ES256],
            PublicKey::P384(_) => &[Alg::ES384],
            PublicKey::Ed25519(_) => &[Alg::EdDSA],
        }
    }
}

/// A public key of one of the four supported types.
#[derive(Debug, Clone, PartialEq)]
pub enum PublicKey {
    /// RSA (RS*, PS*).
    Rsa(rsa::RsaPublicKey),
    /// ECDSA on P-256 (ES256).
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA on P-384 (ES384).
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519 (EdDSA).
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// Reads a DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|_| KeyError::Der("SubjectPublicKeyInfo"))?;
        let alg = spki.algorithm.oid;
        if alg == oid::RSA {
            let key = rsa::RsaPublicKey::from_public_key_der(der).map_err(rsa_spki_error)?;
            Ok(PublicKey::Rsa(key))
        } else if alg == oid::EC {
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .ok_or(KeyError::Der("EC parameters"))?
                .decode_as()
                .map_err(|_| KeyError::UnsupportedCurve)?;
            if curve == oid::P256 {
                let pk = p256::PublicKey::from_public_key_der(der)
                    .map_err(|_| KeyError::Invalid("P-256 point"))?;
                Ok(PublicKey::P256(pk.into()))
            } else if curve == oid::P384 {
                let pk = p384::PublicKey::from_public_key_der(der)
                    .map_err(|_| KeyError::Invalid("P-384 point"))?;
                Ok(PublicKey::P384(pk.into()))
            } else {
                Err(KeyError::UnsupportedCurve)
            }
        } else if alg == oid::ED25519 {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map_err(|_| KeyError::Invalid("Ed25519 point"))?;
            if key.is_weak() {
                return Err(KeyError::WeakKey);
            }
            Ok(PublicKey::Ed25519(key))
        } else {
            Err(KeyError::UnsupportedKeyType)
        }
    }

    /// Reads a DER PKCS#1 `RSAPublicKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        rsa::RsaPublicKey::from_pkcs1_der(der)
            .map(PublicKey::Rsa)
            .map_err(|e| match e {
                pkcs1::Error::Asn1(_) => KeyError::Der("RSAPublicKey"),
                _ => KeyError::Invalid("RSA public key (modulus over 4096 bits or bad exponent)"),
            })
    }

    /// The key as DER `SubjectPublicKeyInfo` (what Envoy's native `verify_signature` takes).
    pub fn try_to_spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let doc = match self {
            PublicKey::Rsa(k) => k.to_public_key_der(),
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::P384(k) => k.to_public_key_der(),
            PublicKey::Ed25519(k) => k.to_public_key_der(),
        };
        doc.map(|d| d.into_vec())
            .map_err(|_| KeyError::Der("SubjectPublicKeyInfo encoding"))
    }

    /// As [`PublicKey::try_to_spki_der`]; on the (unreachable for valid keys) encoding failure
    /// it returns an empty vector, which every verifier rejects — fail closed.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.try_to_spki_der().unwrap_or_default()
    }

    /// Bits of the RSA modulus, `None` for other key types.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self {
            PublicKey::Rsa(k) => Some(k.n().bits()),
            _ => None,
        }
    }

    /// Bytes of the RSA modulus (= RSA signature length), `None` for other key types.
    pub fn rsa_modulus_len(&self) -> Option<usize> {
        match self {
            PublicKey::Rsa(k) => Some(k.size()),
            _ => None,
        }
    }

    /// Short name of the key type, for logs: `RSA`, `P-256`, `P-384`, `Ed25519`.
    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::Rsa(_) => "RSA",
            PublicKey::P256(_) => "P-256",
            PublicKey::P384(_) => "P-384",
            PublicKey::Ed25519(_) => "Ed25519",
        }
    }

    /// The strength rule of docs/profiles.md#algorithms: RSA modulus ≥ `min_rsa_bits`, public
    /// exponent odd and > 1; Ed25519 not of small order. EC keys are validated when parsed.
    pub fn check_strength(&self, min_rsa_bits: usize) -> Result<(), KeyError> {
        match self {
            PublicKey::Rsa(k) => {
                let bits = k.n().bits();
                if bits < min_rsa_bits {
                    return Err(KeyError::RsaTooSmall {
                        bits,
                        min: min_rsa_bits,
                    });
                }
                let e = k.e();
                let one = rsa::BigUint::from(1u8);
                let odd = e.to_bytes_le().first().is_some_and(|b| b & 1 == 1);
                if !odd || *e <= one {
                    return Err(KeyError::RsaExponent);
                }
                Ok(())
            }
            PublicKey::Ed25519(k) if k.is_weak() => Err(KeyError::WeakKey),
            _ => Ok(()),
        }
    }
}

fn rsa_spki_error(e: spki::Error) -> KeyError {
    match e {
        spki::Error::KeyMalformed => {
            KeyError::Invalid("RSA public key (modulus over 4096 bits or bad exponent)")
        }
        _ => KeyError::Der("RSA SubjectPublicKeyInfo"),
    }
}
