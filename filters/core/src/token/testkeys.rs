#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Test keys made at test time (seeded, so runs are reproducible) and a JWT signer over
//! [`RustCrypto`]. RSA keys are generated once per test binary: key generation is the slow part.

use crate::b64;
use crate::crypto::{CryptoBackend, RustCrypto};
use crate::jose::alg::Alg;
use crate::keys::{PrivateKey, PublicKey};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// A P-256 key from a seed.
pub fn p256(seed: u64) -> PrivateKey {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    PrivateKey::P256(p256::ecdsa::SigningKey::random(&mut rng))
}

/// An RSA key of `bits` from a seed (slow; prefer [`rsa2048`]).
pub fn rsa(bits: usize, seed: u64) -> PrivateKey {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    PrivateKey::Rsa(rsa::RsaPrivateKey::new(&mut rng, bits).unwrap())
}

/// One shared RSA-2048 key.
pub fn rsa2048() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa(2048, 7)).clone()
}

/// One shared RSA-1024 key (too weak: must be dropped / refused).
pub fn rsa1024() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa(1024, 11)).clone()
}

/// The public JWK of `key`, with `kid` and an optional `alg`.
pub fn jwk(key: &PrivateKey, kid: &str, alg: Option<&str>) -> Value {
    let mut v = match key.public_key() {
        PublicKey::Rsa(k) => json!({
            "kty": "RSA",
            "n": b64::encode_url(&k.n().to_bytes_be()),
            "e": b64::encode_url(&k.e().to_bytes_be()),
        }),
        PublicKey::P256(k) => {
            let p = k.to_encoded_point(false);
            json!({
                "kty": "EC", "crv": "P-256",
                "x": b64::encode_url(p.x().unwrap()),
                "y": b64::encode_url(p.y().unwrap()),
            })
        }
        PublicKey::P384(k) => {
            let p = k.to_encoded_point(false);
            json!({
                "kty": "EC", "crv": "P-384",
                "x": b64::encode_url(p.x().unwrap()),
                "y": b64::encode_url(p.y().unwrap()),
            })
        }
        PublicKey::Ed25519(k) => json!({
            "kty": "OKP", "crv": "Ed25519", "x": b64::encode_url(k.as_bytes()),
        }),
    };
    v["kid"] = json!(kid);
    if let Some(a) = alg {
        v["alg"] = json!(a);
    }
    v
}

/// A JWK set text of `keys`.
pub fn jwks(keys: &[Value]) -> String {
    json!({ "keys": keys }).to_string()
}

/// A compact JWS with the given header and payload JSON, signed by `key` under `alg`.
pub fn sign(header: &Value, payload: &Value, key: &PrivateKey, alg: Alg) -> String {
    let h = b64::encode_url(header.to_string().as_bytes());
    let p = b64::encode_url(payload.to_string().as_bytes());
    let input = format!("{h}.{p}");
    let sig = RustCrypto.sign(alg, key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode_url(&sig))
}

/// A compact JWS with an arbitrary (possibly broken) header and a garbage signature.
pub fn unsigned(header: &Value, payload: &Value) -> String {
    let h = b64::encode_url(header.to_string().as_bytes());
    let p = b64::encode_url(payload.to_string().as_bytes());
    format!("{h}.{p}.{}", b64::encode_url(&[0u8; 64]))
}
