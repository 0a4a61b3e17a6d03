#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::crypto::RustCrypto;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

const IDA_CRT: &str = include_str!("../../tests/data/seal/ida.crt");
const IDA_KEY: &str = include_str!("../../tests/data/seal/ida.key");
const PARTNER_CRT: &str = include_str!("../../tests/data/seal/partner.crt");
const PARTNER_KEY: &str = include_str!("../../tests/data/seal/partner.key");
const RSA1024_CRT: &str = include_str!("../../tests/data/seal/rsa1024.crt");
const P256_CRT: &str = include_str!("../../tests/data/seal/p256.crt");
const SDK: &str = include_str!("../../tests/data/seal/sdk-vectors.json");

/// 2027-01-01T00:00:00Z, inside the fixtures' validity (2026-12-04 … 2036-12-01).
const NOW: i64 = 1_798_761_600;

fn env(name: &str) -> Option<String> {
    match name {
        "PARTNER_KEY" => Some(PARTNER_KEY.into()),
        "IDA_KEY" => Some(IDA_KEY.into()),
        _ => None,
    }
}

fn settings(v: Value) -> Result<SealSettings, String> {
    SealSettings::from_json(&v.to_string(), &env, NOW).map_err(|e| e.to_string())
}

fn sealer() -> Sealer {
    settings(json!({"ida_encryption_certificate": IDA_CRT}))
        .unwrap()
        .sealer
        .unwrap()
}

fn opener() -> Opener {
    settings(json!({"partner_encryption_certificate": PARTNER_CRT,
                    "partner_encryption_key_env": "PARTNER_KEY"}))
    .unwrap()
    .opener
    .unwrap()
}

fn rsa_key(pem: &str) -> rsa::RsaPrivateKey {
    match crate::keys::PrivateKey::from_pem(pem).unwrap() {
        crate::keys::PrivateKey::Rsa(k) => k,
        _ => panic!("not RSA"),
    }
}

/// What IDA does with a sealed field: unwrap the session key with its key, open the field.
fn ida_open(session_key: &str, field: &str) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let wrapped = b64::decode_url_allow_padding(session_key).unwrap();
    let key = cipher::unwrap(&rsa_key(IDA_KEY), &wrapped, &mut rng).unwrap();
    cipher::open(&key, &b64::decode_url_allow_padding(field).unwrap()).unwrap()
}

fn sdk() -> Value {
    serde_json::from_str(SDK).unwrap()
}

fn kyc_answer() -> String {
    sdk()["kyc"]["answer"].as_str().unwrap().to_string()
}

/// The SDK's request shape with `request` in clear (and its empty placeholders).
const CLEAR: &str = r#"{"id":"mosip.identity.auth","version":"1.0","individualId":"2345678901","individualIdType":"UIN","transactionID":"1234567890","requestTime":"2027-01-01T00:00:00.000Z","specVersion":"1.0","thumbprint":"","domainUri":"https://ida.example","env":"Staging","requestedAuth":{"demo":true,"pin":false,"otp":false,"bio":false},"consentObtained":true,"requestHMAC":"","requestSessionKey":"","request":{"biometrics":[],"demographics":{"dob":"1990/01/01"}, "otp":"","timestamp":"2027-01-01T00:00:00.000Z"},"metadata":{}}"#;

#[test]
fn thumbprint_is_the_sdks() {
    // The SDK's `enc_cert_thumbprint` for the same certificate.
    assert_eq!(
        sealer().thumbprint(),
        sdk()["auth"]["thumbprint"].as_str().unwrap()
    );
    assert_eq!(
        opener().thumbprint_hex(),
        serde_json::from_str::<Value>(&kyc_answer()).unwrap()["response"]["thumbprint"]
    );
}

#[test]
fn sealed_request_opens_with_idas_key_to_the_exact_bytes() {
    let out = sealer()
        .seal(
            CLEAR.as_bytes(),
            NOW,
            &mut ChaCha20Rng::seed_from_u64(1),
            &RustCrypto,
        )
        .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let clear = br#"{"biometrics":[],"demographics":{"dob":"1990/01/01"}, "otp":"","timestamp":"2027-01-01T00:00:00.000Z"}"#;
    let sk = v["requestSessionKey"].as_str().unwrap();
    assert_eq!(ida_open(sk, v["request"].as_str().unwrap()), clear);
    assert_eq!(
        ida_open(sk, v["requestHMAC"].as_str().unwrap()),
        hex::encode_upper(Sha256::digest(clear)).as_bytes()
    );
    assert_eq!(v["thumbprint"], sealer().thumbprint());
    // Base64url with padding, as the SDK writes (256-byte wrapped key → "==").
    assert!(sk.ends_with("==") && !sk.contains('+') && !sk.contains('/'));
    // The application's members, in its order, the sealed ones in place.
    let names: Vec<_> = raw_members(&out)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let before: Vec<_> = raw_members(CLEAR.as_bytes())
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, before);
    assert_eq!(
        v["requestedAuth"],
        json!({"demo":true,"pin":false,"otp":false,"bio":false})
    );
}

#[test]
fn sealing_is_fresh_per_request_and_deterministic_per_seed() {
    let s = sealer();
    let a = s
        .seal(
            CLEAR.as_bytes(),
            NOW,
            &mut ChaCha20Rng::seed_from_u64(1),
            &RustCrypto,
        )
        .unwrap();
    let b = s
        .seal(
            CLEAR.as_bytes(),
            NOW,
            &mut ChaCha20Rng::seed_from_u64(1),
            &RustCrypto,
        )
        .unwrap();
    let c = s
        .seal(
            CLEAR.as_bytes(),
            NOW,
            &mut ChaCha20Rng::seed_from_u64(2),
            &RustCrypto,
        )
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn absent_sealed_members_are_appended() {
    let out = sealer()
        .seal(
            br#"{"id":"x","request":{"otp":"1"}}"#,
            NOW,
            &mut ChaCha20Rng::seed_from_u64(3),
            &RustCrypto,
        )
        .unwrap();
    let names: Vec<_> = raw_members(&out)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "id",
            "request",
            "thumbprint",
            "requestHMAC",
            "requestSessionKey"
        ]
    );
}

struct NoEntropy;
impl RngCore for NoEntropy {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, _: &mut [u8]) {}
    fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), rand_core::Error> {
        Err(rand_core::Error::from(
            core::num::NonZeroU32::new(rand_core::Error::CUSTOM_START).unwrap(),
        ))
    }
}
impl CryptoRng for NoEntropy {}

#[test]
fn seal_refusals_name_their_reason() {
    let s = sealer();
    let rng = &mut ChaCha20Rng::seed_from_u64(4);
    let cases: [(&[u8], SealError, &str); 5] = [
        (b"{\"id\":1}", SealError::RequestMissing, "body_malformed"),
        (
            br#"{"request":"c2VhbGVk"}"#,
            SealError::RequestNotObject,
            "body_malformed",
        ),
        (
            br#"{"request":{},"request":{}}"#,
            SealError::Json(JsonError::DuplicateMember("request".into())),
            "body_malformed",
        ),
        (
            b"[1]",
            SealError::Json(JsonError::NotAnObject),
            "body_malformed",
        ),
        (
            b"{\"request\":{}",
            SealError::Json(JsonError::Syntax),
            "body_malformed",
        ),
    ];
    for (body, err, code) in cases {
        let e = s.seal(body, NOW, rng, &RustCrypto).unwrap_err();
        assert_eq!(e, err);
        assert_eq!(e.reason().code(), code);
    }
    let e = s
        .seal(CLEAR.as_bytes(), 2_200_000_000, rng, &RustCrypto)
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.reason().code()),
        (SealError::CertificateNotValid, "cert_invalid")
    );
    let e = s
        .seal(CLEAR.as_bytes(), NOW, &mut NoEntropy, &RustCrypto)
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.reason().code()),
        (SealError::Entropy, "internal")
    );
    let small = settings(json!({"ida_encryption_certificate": IDA_CRT, "max_body_bytes": 100}))
        .unwrap()
        .sealer
        .unwrap();
    let e = small
        .seal(CLEAR.as_bytes(), NOW, rng, &RustCrypto)
        .unwrap_err();
    assert_eq!(
        (e.clone(), e.reason().code()),
        (SealError::TooLarge { limit: 100 }, "body_too_large")
    );
}

#[test]
fn opens_what_the_sdk_sealed() {
    let answer = kyc_answer();
    let Opened::Clear(out) = opener()
        .open(answer.as_bytes(), &mut ChaCha20Rng::seed_from_u64(5))
        .unwrap()
    else {
        panic!("nothing opened");
    };
    let v: Value = serde_json::from_slice(&out).unwrap();
    let identity: Value = serde_json::from_str(sdk()["kyc"]["identity"].as_str().unwrap()).unwrap();
    assert_eq!(v["response"]["identity"], identity);
    assert_eq!(v["response"]["kycStatus"], true);
    assert_eq!(v["response"]["authToken"], "tok-1");
    assert!(v["response"].get("sessionKey").is_none() && v["response"].get("thumbprint").is_none());
    assert_eq!(v["transactionID"], "1234567890");
    // The identity's exact decrypted bytes are written.
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(sdk()["kyc"]["identity"].as_str().unwrap()));
}

#[test]
fn the_sdks_auth_request_opens_with_our_primitives() {
    let a = &sdk()["auth"];
    let sk = a["requestSessionKey"].as_str().unwrap();
    let clear = ida_open(sk, a["request"].as_str().unwrap());
    assert_eq!(clear, a["clear"].as_str().unwrap().as_bytes());
    assert_eq!(
        ida_open(sk, a["requestHMAC"].as_str().unwrap()),
        hex::encode_upper(Sha256::digest(&clear)).as_bytes()
    );
}

/// The SDK's answer with `response` edited by `f`.
fn edited(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v: Value = serde_json::from_str(&kyc_answer()).unwrap();
    f(v["response"].as_object_mut().unwrap());
    serde_json::to_vec(&v).unwrap()
}

fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

#[test]
fn open_refusals_name_their_reason() {
    let o = opener();
    let rng = &mut ChaCha20Rng::seed_from_u64(6);
    let other = sdk()["auth"]["requestSessionKey"].clone(); // wrapped to IDA's key
    let s = |v: &Value| v.as_str().unwrap().to_string();
    let cases: Vec<(Vec<u8>, OpenError, &str)> = vec![
        (
            edited(|r| {
                r.remove("thumbprint");
            }),
            OpenError::ThumbprintMissing,
            "cert_not_registered",
        ),
        (
            edited(|r| {
                let t = flip(&s(&r["thumbprint"]), 5);
                r.insert("thumbprint".into(), t.into());
            }),
            OpenError::ThumbprintMismatch,
            "cert_not_registered",
        ),
        (
            edited(|r| {
                r.insert("thumbprint".into(), sealer().thumbprint().into());
            }),
            OpenError::ThumbprintMismatch,
            "cert_not_registered",
        ),
        (
            edited(|r| {
                r.insert("sessionKey".into(), other.clone());
            }),
            OpenError::KeyUnwrap,
            "decrypt_failed",
        ),
        (
            edited(|r| {
                let t = flip(&s(&r["sessionKey"]), 40);
                r.insert("sessionKey".into(), t.into());
            }),
            OpenError::KeyUnwrap,
            "decrypt_failed",
        ),
        (
            edited(|r| {
                let t = flip(&s(&r["identity"]), 10);
                r.insert("identity".into(), t.into());
            }),
            OpenError::Tag,
            "decrypt_failed",
        ),
        // Last bytes = the tag's end and the nonce: a wrong tag, a wrong nonce.
        (
            edited(|r| {
                let i = s(&r["identity"]);
                let t = flip(&i, i.len() - 30);
                r.insert("identity".into(), t.into());
            }),
            OpenError::Tag,
            "decrypt_failed",
        ),
        (
            edited(|r| {
                let i = s(&r["identity"]);
                let t = flip(&i, i.len() - 3);
                r.insert("identity".into(), t.into());
            }),
            OpenError::Tag,
            "decrypt_failed",
        ),
        (
            edited(|r| {
                r.insert("identity".into(), b64::encode_url(&[0u8; 31]).into());
            }),
            OpenError::TooShort,
            "body_malformed",
        ),
        (
            edited(|r| {
                r.insert("identity".into(), "a+b/".into());
            }),
            OpenError::Base64("response.identity"),
            "body_malformed",
        ),
        (
            edited(|r| {
                r.insert("identity".into(), 5.into());
            }),
            OpenError::Field("response.identity"),
            "body_malformed",
        ),
        (
            edited(|r| {
                r.remove("sessionKey");
            }),
            OpenError::Field("response.sessionKey"),
            "body_malformed",
        ),
        (
            b"{\"response\":[]}".to_vec(),
            OpenError::Field("response"),
            "body_malformed",
        ),
        (
            b"{\"response\":".to_vec(),
            OpenError::Json(JsonError::Syntax),
            "body_malformed",
        ),
    ];
    for (i, (body, err, code)) in cases.into_iter().enumerate() {
        let e = o.open(&body, rng).unwrap_err();
        assert_eq!(e, err, "case {i}");
        assert_eq!(e.reason().code(), code, "case {i}");
    }
    let e = o.open(kyc_answer().as_bytes(), &mut NoEntropy).unwrap_err();
    assert_eq!(
        (e.clone(), e.reason().code()),
        (OpenError::Entropy, "internal")
    );
}

#[test]
fn thumbprint_in_base64url_is_accepted_like_ida_does() {
    let body = edited(|r| {
        let hex = r["thumbprint"].as_str().unwrap().to_string();
        r.insert(
            "thumbprint".into(),
            b64::encode_url(&hex::decode(hex).unwrap()).into(),
        );
    });
    let opened = opener()
        .open(&body, &mut ChaCha20Rng::seed_from_u64(8))
        .unwrap();
    assert!(matches!(opened, Opened::Clear(_)));
}

#[test]
fn answers_without_identity_pass_unchanged() {
    let o = opener();
    let rng = &mut ChaCha20Rng::seed_from_u64(9);
    for body in [
        &br#"{"id":"mosip.identity.kyc","response":{"kycStatus":false,"authToken":null},"errors":[{"errorCode":"IDA-MLC-007","errorMessage":"x"}]}"#[..],
        br#"{"response":null,"errors":[]}"#,
        br#"{"errors":[]}"#,
        br#"{"response":{"kycStatus":false,"identity":null}}"#,
    ] {
        assert_eq!(o.open(body, rng).unwrap(), Opened::NothingToOpen);
    }
}

#[test]
fn settings_are_checked_and_name_the_field() {
    let err = |v: Value| settings(v).unwrap_err();
    let cases = [
        (
            json!({}),
            "ida_encryption_certificate or partner_encryption_certificate is required",
        ),
        (
            json!({"ida_encryption_certificate": P256_CRT}),
            "ida_encryption_certificate: the key is",
        ),
        (
            json!({"ida_encryption_certificate": RSA1024_CRT}),
            "ida_encryption_certificate: RSA key of 1024 bits",
        ),
        (
            json!({"ida_encryption_certificate": "x"}),
            "ida_encryption_certificate: malformed",
        ),
        (
            json!({"ida_encryption_certificate": IDA_CRT, "min_rsa_bits": 1024}),
            "min_rsa_bits:",
        ),
        (
            json!({"ida_encryption_certificate": IDA_CRT, "max_body_bytes": 0}),
            "max_body_bytes:",
        ),
        (
            json!({"ida_encryption_certificate": IDA_CRT, "ida_key": 1}),
            "unknown field `ida_key`",
        ),
        (
            json!({"partner_encryption_certificate": PARTNER_CRT}),
            "go together",
        ),
        (
            json!({"partner_encryption_certificate": PARTNER_CRT, "partner_encryption_key_env": "NOPE"}),
            "partner_encryption_key_env: environment variable NOPE is not set",
        ),
        (
            json!({"partner_encryption_certificate": PARTNER_CRT, "partner_encryption_key_env": "IDA_KEY"}),
            "partner_encryption_key_env: the key is not the partner_encryption_certificate's",
        ),
    ];
    for (v, want) in cases {
        let e = err(v.clone());
        assert!(e.contains(want), "{v}: {e}");
    }
    let at = |now| {
        SealSettings::from_json(
            &json!({"ida_encryption_certificate": IDA_CRT}).to_string(),
            &env,
            now,
        )
        .unwrap_err()
        .to_string()
    };
    assert!(at(1_700_000_000).contains("not valid yet"));
    assert!(at(2_200_000_000).contains("expired"));
}
