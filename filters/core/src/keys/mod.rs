//! Key forms of docs/profiles.md#keys: public keys (PEM SPKI / PKCS#1 / certificate, JWK) for
//! verification and private keys (PKCS#8, SEC1, PKCS#1, private JWK) for signing.
//!
//! Parsing is done by the RustCrypto crates (`spki`, `pkcs1`, `pkcs8`, `sec1`, `rsa`, `p256`,
//! `p384`, `ed25519-dalek`); this module picks the right one and names what went wrong. Errors
//! never print key material.

mod jwk;
mod pem;
mod private;
mod public;

pub use jwk::{strip_ascii_whitespace, Jwk, Jwks};
pub(crate) use pem::pem_single;
pub use pem::{pem_blocks, PemBlock};
pub use private::PrivateKey;
pub use public::PublicKey;

use std::fmt;

/// Why a key could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The text is not PEM (no `-----BEGIN …-----` / matching `-----END …-----`, or the body
    /// is not strict base64); names the problem.
    Pem(&'static str),
    /// A PEM block with a label this function does not take (e.g. `ENCRYPTED PRIVATE KEY`
    /// or a private key where a public key is expected).
    PemLabel(String),
    /// The DER inside is not the structure it claims to be; names the structure.
    Der(&'static str),
    /// The key's algorithm (SPKI/PKCS#8 OID, JWK `kty`) is not RSA, EC or Ed25519.
    UnsupportedKeyType,
    /// An EC/OKP curve other than P-256, P-384 and Ed25519 (e.g. P-521, secp256k1, Ed448).
    UnsupportedCurve,
    /// The key material is not a valid key (point not on the curve, inconsistent RSA
    /// components, modulus over 4096 bits, …); names the problem.
    Invalid(&'static str),
    /// RSA modulus shorter than the configured minimum (`min_rsa_bits`,
    /// docs/profiles.md#algorithms).
    RsaTooSmall {
        /// Bits of the key's modulus.
        bits: usize,
        /// The minimum in force.
        min: usize,
    },
    /// RSA public exponent even or ≤ 1 (docs/profiles.md#algorithms).
    RsaExponent,
    /// An Ed25519 public key of small order (any signature can be forged for it).
    WeakKey,
    /// A JWK member is missing or has the wrong type / encoding; names the member.
    Jwk(&'static str),
    /// A public JWK carries private members (`d`, `p`, `q`, …): a configuration error
    /// (docs/profiles.md#keys).
    PrivateMaterial,
    /// JWK `use` is present and not `sig` (docs/profiles.md#keys).
    NotForSignatures,
    /// JWK `alg` is not an algorithm Signet accepts (incl. `none`, `HS*`, encryption algs).
    UnsupportedAlg(String),
    /// JWK `alg` (or a configured algorithm) does not fit the key type / curve
    /// (docs/profiles.md#algorithms).
    AlgMismatch,
    /// The public part given with a private key does not belong to it.
    PairMismatch,
    /// A JWK set is not `{"keys":[…]}` or not valid JSON.
    Json(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Pem(what) => write!(f, "not a PEM document: {what}"),
            KeyError::PemLabel(label) => write!(f, "PEM label {label:?} not accepted here"),
            KeyError::Der(what) => write!(f, "malformed DER: {what}"),
            KeyError::UnsupportedKeyType => f.write_str("unsupported key type"),
            KeyError::UnsupportedCurve => f.write_str("unsupported curve"),
            KeyError::Invalid(what) => write!(f, "invalid key: {what}"),
            KeyError::RsaTooSmall { bits, min } => {
                write!(
                    f,
                    "RSA key of {bits} bits is shorter than the minimum {min}"
                )
            }
            KeyError::RsaExponent => f.write_str("RSA public exponent must be odd and > 1"),
            KeyError::WeakKey => f.write_str("weak (small-order) Ed25519 key"),
            KeyError::Jwk(member) => write!(f, "JWK member {member:?} missing or invalid"),
            KeyError::PrivateMaterial => f.write_str("public JWK carries private key members"),
            KeyError::NotForSignatures => f.write_str("JWK \"use\" is not \"sig\""),
            KeyError::UnsupportedAlg(alg) => write!(f, "JWK alg {alg:?} not supported"),
            KeyError::AlgMismatch => f.write_str("algorithm does not fit the key type"),
            KeyError::PairMismatch => f.write_str("public and private key parts do not match"),
            KeyError::Json(what) => write!(f, "invalid key JSON: {what}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Object identifiers of the key algorithms and curves we accept.
pub(crate) mod oid {
    use der::asn1::ObjectIdentifier as Oid;
    /// rsaEncryption.
    pub const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    /// id-ecPublicKey.
    pub const EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    /// prime256v1 / secp256r1.
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    /// secp384r1.
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    /// id-Ed25519.
    pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
}
