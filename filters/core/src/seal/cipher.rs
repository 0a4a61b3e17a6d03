//! The two primitives of MOSIP's envelope, exactly as `mosip-auth-sdk` 0.5.4 (`CryptoUtility`)
//! and the keymanager's `CryptoCore` use them:
//!
//! - AES-256-GCM with a **16-byte** nonce (the SDK's `symmetric_nonce_size = 128`, the
//!   keymanager's cipher block size), no associated data, 16-byte tag, written as
//!   `ciphertext ‖ tag ‖ nonce`;
//! - RSA-OAEP with SHA-256 and MGF1-SHA-256, empty label (`RSA/ECB/OAEPWITHSHA-256ANDMGF1PADDING`
//!   with an explicit SHA-256 MGF1, as the keymanager configures it), wrapping the AES key.
//!
//! All work is done by the RustCrypto crates (`aes-gcm`, `rsa`); this module fixes the
//! parameters and the byte layout.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::aes::Aes256;
use aes_gcm::{AesGcm, Nonce};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use zeroize::Zeroizing;

/// AES-256-GCM with a 128-bit nonce (GCM hashes a nonce that is not 96 bits into its counter
/// block, SP 800-38D §7.1; Java's and Python's GCM do the same).
type Aes256Gcm16 = AesGcm<Aes256, U16>;

/// AES key length (AES-256).
pub const KEY_LEN: usize = 32;
/// Nonce length, written after the tag.
pub const NONCE_LEN: usize = 16;
/// GCM tag length, written between the ciphertext and the nonce.
pub const TAG_LEN: usize = 16;

/// Why a primitive failed. Each maps to the caller's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherError {
    /// Shorter than `tag ‖ nonce`: not an envelope.
    TooShort,
    /// The tag does not verify: tampered, truncated, or a different key.
    Tag,
    /// OAEP decoding failed (a key wrapped for someone else, or altered), or the unwrapped key
    /// is not 32 bytes.
    Unwrap,
    /// OAEP or GCM refused to encrypt (a message too long for the cipher; not reachable with a
    /// checked 2048-bit or larger key).
    Encrypt,
}

/// Encrypts `plaintext` under `key` with a fresh nonce from `rng`: `ciphertext ‖ tag ‖ nonce`.
pub fn seal(
    key: &[u8; KEY_LEN],
    plaintext: &[u8],
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u8>, CipherError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let cipher = Aes256Gcm16::new(key.into());
    let mut out = cipher
        .encrypt(&Nonce::<U16>::from(nonce), plaintext)
        .map_err(|_| CipherError::Encrypt)?;
    out.extend_from_slice(&nonce);
    Ok(out)
}

/// Decrypts `ciphertext ‖ tag ‖ nonce` under `key`.
pub fn open(key: &[u8; KEY_LEN], data: &[u8]) -> Result<Vec<u8>, CipherError> {
    let split = data
        .len()
        .checked_sub(NONCE_LEN)
        .filter(|n| *n >= TAG_LEN)
        .ok_or(CipherError::TooShort)?;
    let (sealed, nonce) = data.split_at(split);
    let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| CipherError::TooShort)?;
    let cipher = Aes256Gcm16::new(key.into());
    cipher
        .decrypt(&Nonce::<U16>::from(nonce), sealed)
        .map_err(|_| CipherError::Tag)
}

/// Wraps the AES key to the recipient's RSA key (RSA-OAEP-SHA256, MGF1-SHA256).
pub fn wrap(
    to: &RsaPublicKey,
    key: &[u8; KEY_LEN],
    rng: &mut ChaCha20Rng,
) -> Result<Vec<u8>, CipherError> {
    to.encrypt(rng, Oaep::new::<Sha256>(), key)
        .map_err(|_| CipherError::Encrypt)
}

/// Unwraps an AES key with our RSA key. The private operation is blinded with `rng` (the `rsa`
/// crate's private operation is not constant time, RUSTSEC-2023-0071). The key, and the
/// buffer it is decoded into, are wiped when dropped.
pub fn unwrap(
    with: &RsaPrivateKey,
    wrapped: &[u8],
    rng: &mut ChaCha20Rng,
) -> Result<Zeroizing<[u8; KEY_LEN]>, CipherError> {
    let key = Zeroizing::new(
        with.decrypt_blinded(rng, Oaep::new::<Sha256>(), wrapped)
            .map_err(|_| CipherError::Unwrap)?,
    );
    <[u8; KEY_LEN]>::try_from(key.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| CipherError::Unwrap)
}
