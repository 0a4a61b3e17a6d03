//! Pure-Rust backend on the RustCrypto crates.
//!
//! Verification: RSA signature length must equal the modulus length; PSS salt = hash length
//! (RFC 7518 §3.5); ECDSA `r ‖ s` of exact length with r, s ∈ [1, n−1] (`Signature::from_slice`
//! refuses 0 and ≥ n). High-s ECDSA signatures are accepted, as JOSE and Envoy's BoringSSL do:
//! the `p256`/`p384` verifiers do not enforce low-s (only `k256` would), and a test pins it.
//! Ed25519 uses `verify_strict` (canonical S, no small-order R or key).
//!
//! Signing: RSA PKCS#1 v1.5 is deterministic; its private operation is blinded (the `rsa` crate's
//! private op is not constant time, RUSTSEC-2023-0071 "Marvin") with randomness from the OS
//! (`getrandom`; WASI `random_get` under Envoy), seeding a ChaCha20 generator so a later
//! failure cannot panic. PSS draws its salt from the same generator. ECDSA is deterministic
//! (RFC 6979); Ed25519 is deterministic by construction.

use super::{precheck, CryptoBackend, CryptoError};
use crate::jose::alg::Alg;
use crate::keys::{PrivateKey, PublicKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use sha2::{Sha256, Sha384, Sha512};
use signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};

/// The pure-Rust backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCrypto;

impl CryptoBackend for RustCrypto {
    fn verify(
        &self,
        alg: Alg,
        key: &PublicKey,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        precheck(alg, key, signature)?;
        match (alg, key) {
            (Alg::RS256, PublicKey::Rsa(k)) => rsa_pkcs1::<Sha256>(k, signing_input, signature),
            (Alg::RS384, PublicKey::Rsa(k)) => rsa_pkcs1::<Sha384>(k, signing_input, signature),
            (Alg::RS512, PublicKey::Rsa(k)) => rsa_pkcs1::<Sha512>(k, signing_input, signature),
            (Alg::PS256, PublicKey::Rsa(k)) => rsa_pss::<Sha256>(k, signing_input, signature),
            (Alg::PS384, PublicKey::Rsa(k)) => rsa_pss::<Sha384>(k, signing_input, signature),
            (Alg::PS512, PublicKey::Rsa(k)) => rsa_pss::<Sha512>(k, signing_input, signature),
            (Alg::ES256, PublicKey::P256(k)) => {
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| CryptoError::BadLength)?;
                k.verify(signing_input, &sig)
                    .map_err(|_| CryptoError::Invalid)
            }
            (Alg::ES384, PublicKey::P384(k)) => {
                let sig = p384::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| CryptoError::BadLength)?;
                k.verify(signing_input, &sig)
                    .map_err(|_| CryptoError::Invalid)
            }
            (Alg::EdDSA, PublicKey::Ed25519(k)) => {
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| CryptoError::BadLength)?;
                k.verify_strict(signing_input, &sig)
                    .map_err(|_| CryptoError::Invalid)
            }
            _ => Err(CryptoError::KeyMismatch),
        }
    }

    fn sign(
        &self,
        alg: Alg,
        key: &PrivateKey,
        signing_input: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        match (alg, key) {
            (Alg::RS256, PrivateKey::Rsa(k)) => sign_pkcs1::<Sha256>(k, signing_input),
            (Alg::RS384, PrivateKey::Rsa(k)) => sign_pkcs1::<Sha384>(k, signing_input),
            (Alg::RS512, PrivateKey::Rsa(k)) => sign_pkcs1::<Sha512>(k, signing_input),
            (Alg::PS256, PrivateKey::Rsa(k)) => sign_pss::<Sha256>(k, signing_input),
            (Alg::PS384, PrivateKey::Rsa(k)) => sign_pss::<Sha384>(k, signing_input),
            (Alg::PS512, PrivateKey::Rsa(k)) => sign_pss::<Sha512>(k, signing_input),
            (Alg::ES256, PrivateKey::P256(k)) => {
                let sig: p256::ecdsa::Signature = k
                    .try_sign(signing_input)
                    .map_err(|_| CryptoError::SignFailed)?;
                Ok(sig.to_bytes().to_vec())
            }
            (Alg::ES384, PrivateKey::P384(k)) => {
                let sig: p384::ecdsa::Signature = k
                    .try_sign(signing_input)
                    .map_err(|_| CryptoError::SignFailed)?;
                Ok(sig.to_bytes().to_vec())
            }
            (Alg::EdDSA, PrivateKey::Ed25519(k)) => {
                let sig = k
                    .try_sign(signing_input)
                    .map_err(|_| CryptoError::SignFailed)?;
                Ok(sig.to_bytes().to_vec())
            }
            _ => Err(CryptoError::KeyMismatch),
        }
    }

    fn name(&self) -> &'static str {
        "rustcrypto"
    }
}

fn rsa_pkcs1<D>(key: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError>
where
    D: sha2::Digest + const_oid_bound::AssociatedOid,
{
    let vk = rsa::pkcs1v15::VerifyingKey::<D>::new(key.clone());
    let sig = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| CryptoError::BadLength)?;
    vk.verify(msg, &sig).map_err(|_| CryptoError::Invalid)
}

fn rsa_pss<D>(key: &rsa::RsaPublicKey, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    // `new` fixes the salt length to the hash length (RFC 7518 §3.5).
    let vk = rsa::pss::VerifyingKey::<D>::new(key.clone());
    let sig = rsa::pss::Signature::try_from(sig).map_err(|_| CryptoError::BadLength)?;
    vk.verify(msg, &sig).map_err(|_| CryptoError::Invalid)
}

fn sign_pkcs1<D>(key: &rsa::RsaPrivateKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError>
where
    D: sha2::Digest + const_oid_bound::AssociatedOid,
{
    let mut rng = seeded_rng()?;
    let sk = rsa::pkcs1v15::SigningKey::<D>::new(key.clone());
    let sig = sk
        .try_sign_with_rng(&mut rng, msg)
        .map_err(|_| CryptoError::SignFailed)?;
    Ok(sig.to_vec())
}

fn sign_pss<D>(key: &rsa::RsaPrivateKey, msg: &[u8]) -> Result<Vec<u8>, CryptoError>
where
    D: sha2::Digest + sha2::digest::FixedOutputReset,
{
    let mut rng = seeded_rng()?;
    let sk = rsa::pss::SigningKey::<D>::new(key.clone());
    let sig = sk
        .try_sign_with_rng(&mut rng, msg)
        .map_err(|_| CryptoError::SignFailed)?;
    Ok(sig.to_vec())
}

/// A CSPRNG seeded from the OS; the only fallible step is the seed read, so nothing later can
/// panic (`OsRng::fill_bytes` would, on a host without randomness).
fn seeded_rng() -> Result<ChaCha20Rng, CryptoError> {
    let mut seed = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|_| CryptoError::SignFailed)?;
    Ok(ChaCha20Rng::from_seed(seed))
}

/// Re-export of the OID trait the `rsa` PKCS#1 v1.5 keys need on their digest.
mod const_oid_bound {
    pub use rsa::pkcs8::spki::der::oid::AssociatedOid;
}
