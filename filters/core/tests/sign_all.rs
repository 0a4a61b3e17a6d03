//! Sign-then-verify for every algorithm Signet signs with, and known answers where the
//! algorithm is deterministic (RS256: RFC 7520 §4.1 in `rfc7520.rs`; EdDSA: RFC 8037 A.4 here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::json;
use signet_core::b64;
use signet_core::crypto::{CryptoBackend, RustCrypto};
use signet_core::jose::alg::Alg;
use signet_core::keys::PrivateKey;

/// RFC 8037 Appendix A.4: Ed25519 signing of "Example of Ed25519 signing" under {"alg":"EdDSA"}.
#[test]
fn rfc8037_a4_ed25519_known_answer() {
    let key = PrivateKey::from_jwk(
        r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
    )
    .unwrap();
    let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let sig = RustCrypto.sign(Alg::EdDSA, &key, input).unwrap();
    assert_eq!(
        b64::encode_url(&sig),
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    RustCrypto
        .verify(Alg::EdDSA, &key.public_key(), input, &sig)
        .unwrap();
}

/// The generic profile signs and verifies with every algorithm; the verifier refuses the same
/// message with a flipped body byte.
#[test]
fn generic_sign_then_verify_every_algorithm() {
    let p384 = {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(40);
        PrivateKey::P384(p384::ecdsa::SigningKey::random(&mut rng))
    };
    let cases = [
        (Alg::RS256, rsa_key(1)),
        (Alg::RS384, rsa_key(1)),
        (Alg::RS512, rsa_key(1)),
        (Alg::PS256, rsa_key(1)),
        (Alg::PS384, rsa_key(1)),
        (Alg::PS512, rsa_key(1)),
        (Alg::ES256, ec_key(2)),
        (Alg::ES384, p384),
        (Alg::EdDSA, ed_key(3)),
    ];
    for (alg, key) in cases {
        let cfg = verifier(
            json!({"profile": "generic", "partners": [{"id": "p", "keys": [
            {"public_key_pem": public_pem(&key), "algorithms": [alg.name()]}]}]}),
        );
        for unencoded in [false, true] {
            let s = signer(
                json!({"profile": {"generic": {"sign_unencoded": unencoded}}, "sign_alg": alg.name()}),
                &key,
            );
            let msg = signed(&s, request("POST", "/api", &[], b"{\"n\":1}"));
            accepts(&cfg, &msg, &ctx(Some("p")), "p");
            let mut bad = msg.clone();
            bad.body[5] ^= 1;
            rejects(
                &cfg,
                &bad,
                &ctx(Some("p")),
                signet_core::reason::Reason::SigInvalid,
            );
        }
    }
}

/// The profiles' signers with their non-default algorithms.
#[test]
fn profile_signers_with_each_allowed_algorithm() {
    let body = br#"{"request_header":{"sender_app_mnemonic":"p"},"request_body":{}}"#;
    for (alg, key) in [
        (Alg::PS256, rsa_key(1)),
        (Alg::ES256, ec_key(2)),
        (Alg::EdDSA, ed_key(3)),
    ] {
        let cfg = verifier(
            json!({"profile": "spar", "algorithms": ["RS256", alg.name()], "partners": [
            {"id": "p", "sender_id": "p", "keys": [{"public_key_pem": public_pem(&key), "algorithms": [alg.name()]}]}]}),
        );
        let s = signer(json!({"profile": "spar", "sign_alg": alg.name()}), &key);
        let msg = signed(&s, request("POST", "/mapper/link", &[], body));
        accepts(&cfg, &msg, &ctx(Some("p")), "p");
    }
    for alg in [Alg::RS384, Alg::RS512] {
        let key = rsa_key(1);
        let cfg = verifier(
            json!({"profile": "mojaloop", "algorithms": ["RS256", alg.name()], "partners": [
            {"id": "p", "keys": [{"public_key_pem": public_pem(&key), "algorithms": [alg.name()]}]}]}),
        );
        let s = signer(
            json!({"profile": {"mojaloop": {"source_id": "p"}}, "sign_alg": alg.name()}),
            &key,
        );
        let msg = signed(&s, request("POST", "/quotes", &[], b"{}"));
        accepts(&cfg, &msg, &ctx(Some("p")), "p");
    }
}
