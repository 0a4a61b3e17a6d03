//! The one sign/verify trait, with signatures in their JOSE form (RFC 7518 §3): RSA raw,
//! ECDSA `r ‖ s` fixed-length, Ed25519 64 bytes.
//!
//! Two implementations exist: [`RustCrypto`] here (pure Rust, every algorithm) and an
//! Envoy-native one in the Wasm glue (calls the host's BoringSSL; RS*/ES* only). The same tests
//! run against both; [`ecdsa_der`] converts between JOSE `r ‖ s` and the DER the host speaks.

pub mod ecdsa_der;
mod rustcrypto;

pub use rustcrypto::RustCrypto;

use crate::jose::alg::Alg;
use crate::keys::{PrivateKey, PublicKey};
use std::fmt;

/// A signature backend.
pub trait CryptoBackend {
    /// Verifies `signature` (JOSE form) over `signing_input` with `key` under `alg`.
    /// Implementations check, before any crypto, that `alg` fits `key` (`KeyMismatch`) and that
    /// the signature has the exact length the algorithm and key give (`BadLength`).
    fn verify(
        &self,
        alg: Alg,
        key: &PublicKey,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;

    /// Signs `signing_input` with `key` under `alg`, returning the JOSE-form signature.
    fn sign(
        &self,
        alg: Alg,
        key: &PrivateKey,
        signing_input: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// A short name for logs and stats (`rustcrypto`, `envoy`).
    fn name(&self) -> &'static str;
}

/// Why a signature operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoError {
    /// The signature is well-formed but does not verify (`sig_invalid`).
    Invalid,
    /// The signature length is not the one the algorithm and key require, or an ECDSA
    /// `r`/`s` is outside [1, n−1] (`sig_malformed`, checked before crypto).
    BadLength,
    /// The key type or curve does not fit the algorithm (`alg_not_allowed`).
    KeyMismatch,
    /// The backend does not implement this algorithm (e.g. PS* on the Envoy-native backend).
    Unsupported(&'static str),
    /// Signing failed (no randomness, host error); the message must not be sent unsigned.
    SignFailed,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CryptoError::Invalid => f.write_str("signature did not verify"),
            CryptoError::BadLength => f.write_str("signature has the wrong length or range"),
            CryptoError::KeyMismatch => f.write_str("key does not fit the algorithm"),
            CryptoError::Unsupported(what) => write!(f, "unsupported by this backend: {what}"),
            CryptoError::SignFailed => f.write_str("signing failed"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// The checks every backend runs before crypto: key fits `alg`, exact signature length.
pub fn precheck(alg: Alg, key: &PublicKey, signature: &[u8]) -> Result<(), CryptoError> {
    if !alg.fits(key) {
        return Err(CryptoError::KeyMismatch);
    }
    if signature.len() != alg.signature_len(key) {
        return Err(CryptoError::BadLength);
    }
    Ok(())
}
