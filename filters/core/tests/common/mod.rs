//! Shared helpers for the pipeline tests: deterministic test keys, configs, signed messages.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use signet_core::config::sign::SignConfig;
use signet_core::config::VerifyConfig;
use signet_core::crypto::{CryptoBackend, RustCrypto};
use signet_core::keys::PrivateKey;
use signet_core::message::{Context, Message};
use signet_core::reason::Reason;
use signet_core::reason::Rejection;
use signet_core::sign::SignOutcome;
use signet_core::trace::Trace;
use signet_core::verify::{verify, MemoryReplay, Outcome, Run, StepError};

/// A deterministic RSA-2048 test key (generated at test time, never stored; generated once
/// per seed and process, as RSA key generation is slow).
pub fn rsa_key(seed: u64) -> PrivateKey {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static KEYS: OnceLock<Mutex<HashMap<u64, rsa::RsaPrivateKey>>> = OnceLock::new();
    let mut keys = KEYS.get_or_init(Default::default).lock().unwrap();
    let key = keys.entry(seed).or_insert_with(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap()
    });
    PrivateKey::Rsa(key.clone())
}

/// A deterministic P-256 test key.
pub fn ec_key(seed: u64) -> PrivateKey {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    PrivateKey::P256(p256::ecdsa::SigningKey::random(&mut rng))
}

/// A deterministic Ed25519 test key.
pub fn ed_key(seed: u64) -> PrivateKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes))
}

pub fn public_pem(k: &PrivateKey) -> String {
    der::pem::encode_string(
        "PUBLIC KEY",
        der::pem::LineEnding::LF,
        &k.public_key().to_spki_der(),
    )
    .unwrap()
}

pub fn private_pem(k: &PrivateKey) -> String {
    der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &k.to_pkcs8_der()).unwrap()
}

/// A signer configuration with an inline key.
pub fn signer(mut cfg: Value, key: &PrivateKey) -> SignConfig {
    cfg["signing_key"] = Value::String(private_pem(key));
    SignConfig::from_json(&cfg.to_string(), &|_| None).unwrap()
}

pub fn verifier(cfg: Value) -> VerifyConfig {
    VerifyConfig::from_json(&cfg.to_string()).unwrap()
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Message {
    Message {
        method: method.into(),
        path: path.into(),
        status: None,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

pub const NOW_MS: i64 = 1_780_394_400_000; // 2026-06-02T10:00:00Z

pub fn ctx(peer: Option<&str>) -> Context {
    Context {
        now_ms: NOW_MS,
        peer: peer.map(str::to_string),
        token_claims: None,
        route_name: None,
    }
}

pub fn signed(cfg: &SignConfig, mut msg: Message) -> Message {
    let out = cfg.sign(&mut msg, NOW_MS, &RustCrypto).unwrap();
    assert!(matches!(out, SignOutcome::Signed { .. }), "{out:?}");
    msg
}

pub fn run_with(
    cfg: &VerifyConfig,
    msg: &Message,
    ctx: &Context,
    backend: &dyn CryptoBackend,
    replay: &mut MemoryReplay,
) -> Result<Outcome, Rejection<StepError>> {
    let mut trace = Trace::recording();
    verify(&mut Run {
        common: &cfg.common,
        registry: &cfg.registry,
        profile: &cfg.profile,
        msg,
        ctx,
        backend,
        replay: Some(replay),
        trace: &mut trace,
        keys: None,
    })
}

pub fn run(
    cfg: &VerifyConfig,
    msg: &Message,
    ctx: &Context,
) -> Result<Outcome, Rejection<StepError>> {
    run_with(cfg, msg, ctx, &RustCrypto, &mut MemoryReplay::new(100))
}

/// Asserts acceptance by `partner`.
pub fn accepts(cfg: &VerifyConfig, msg: &Message, ctx: &Context, partner: &str) {
    match run(cfg, msg, ctx) {
        Ok(Outcome::Verified { partner: p, .. }) => assert_eq!(p, partner),
        other => panic!("expected acceptance by {partner}, got {other:?}"),
    }
}

/// Asserts rejection with exactly `reason`.
pub fn rejects(cfg: &VerifyConfig, msg: &Message, ctx: &Context, reason: Reason) {
    match run(cfg, msg, ctx) {
        Err(r) => assert_eq!(r.reason(), reason, "detail: {}", r.error),
        other => panic!("expected {reason}, got {other:?}"),
    }
}

pub fn with_header(msg: &Message, name: &str, value: &str) -> Message {
    let mut m = msg.clone();
    m.set_header(name, value);
    m
}

pub fn without_header(msg: &Message, name: &str) -> Message {
    let mut m = msg.clone();
    m.headers.retain(|(n, _)| n != name);
    m
}

/// base64url of a JSON header object, for hand-made malformed headers.
pub fn b64h(json: &str) -> String {
    signet_core::b64::encode_url(json.as_bytes())
}

pub fn partner(id: &str, key: &PrivateKey) -> Value {
    json!({"id": id, "keys": [{"public_key_pem": public_pem(key)}]})
}
