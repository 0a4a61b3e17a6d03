//! RFC 7520 §4 (JOSE Cookbook, JWS): 4.1 RS256 signed byte-exactly with the published private
//! key and verified; 4.2 PS384 verified; 4.3 ES512 (P-521) refused as an unknown algorithm;
//! 4.4 HS256 refused; 4.5 detached content verified with the payload supplied separately.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hmac::{Hmac, Mac};
use signet_core::b64::{decode_url, encode_url};
use signet_core::crypto::{CryptoBackend, RustCrypto};
use signet_core::jose::jws::{signing_input_encoded, split_detached, split_three};
use signet_core::jose::{Alg, Header, HeaderRules};
use signet_core::keys::{Jwk, KeyError, PrivateKey};

/// Figure 7 (U+2019 as UTF-8).
const PAYLOAD: &str = "It\u{2019}s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there\u{2019}s no knowing where you might be swept off to.";

/// Figure 8.
const PAYLOAD_B64: &str = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";

/// Figure 3.
const RSA_PUBLIC: &str = r#"{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
 "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
 "e":"AQAB"}"#;

/// Figure 4.
const RSA_PRIVATE: &str = r#"{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
 "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
 "e":"AQAB",
 "d":"bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCku9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ",
 "p":"3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k",
 "q":"uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKvwqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc",
 "dp":"B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik",
 "dq":"CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8",
 "qi":"3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4"}"#;

/// Figure 5.
const HMAC_KEY: &str = "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg";

const H_4_1: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const S_4_1: &str = "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";
const H_4_2: &str = "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const S_4_2: &str = "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw";
const H_4_3: &str = "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9";
const H_4_4: &str =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9";
const S_4_4: &str = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0";

#[test]
fn payload_encoding() {
    assert_eq!(encode_url(PAYLOAD.as_bytes()), PAYLOAD_B64);
}

#[test]
fn s4_1_rs256_sign_exact_and_verify() {
    let sk = PrivateKey::from_jwk(RSA_PRIVATE).unwrap();
    let jwk = Jwk::from_json(RSA_PUBLIC).unwrap();
    assert_eq!(jwk.kid.as_deref(), Some("bilbo.baggins@hobbiton.example"));
    assert_eq!(sk.public_key(), jwk.key);
    let header = Header::parse(H_4_1, &HeaderRules::STRICT).unwrap();
    assert_eq!(header.alg(), Some(Alg::RS256));
    assert_eq!(header.kid(), Some("bilbo.baggins@hobbiton.example"));
    let input = signing_input_encoded(header.raw(), PAYLOAD.as_bytes());
    let sig = RustCrypto.sign(Alg::RS256, &sk, &input).unwrap();
    assert_eq!(encode_url(&sig), S_4_1, "PKCS#1 v1.5 is deterministic");
    RustCrypto
        .verify(Alg::RS256, &jwk.key, &input, &decode_url(S_4_1).unwrap())
        .unwrap();
    // The header writer reproduces the RFC's header when the members are the same.
    let written = signet_core::jose::jws::encode_header(&[
        ("alg", signet_core::jose::HeaderValue::Str("RS256")),
        (
            "kid",
            signet_core::jose::HeaderValue::Str("bilbo.baggins@hobbiton.example"),
        ),
    ]);
    assert_eq!(written, H_4_1);
}

#[test]
fn s4_2_ps384_verify() {
    let key = Jwk::from_json(RSA_PUBLIC).unwrap().key;
    let header = Header::parse(H_4_2, &HeaderRules::STRICT).unwrap();
    assert_eq!(header.alg(), Some(Alg::PS384));
    let input = signing_input_encoded(H_4_2, PAYLOAD.as_bytes());
    RustCrypto
        .verify(Alg::PS384, &key, &input, &decode_url(S_4_2).unwrap())
        .unwrap();
    // PSS signing is randomized; a fresh signature verifies too.
    let sk = PrivateKey::from_jwk(RSA_PRIVATE).unwrap();
    let sig = RustCrypto.sign(Alg::PS384, &sk, &input).unwrap();
    RustCrypto.verify(Alg::PS384, &key, &input, &sig).unwrap();
    // The same bytes under PS256 / PS512 / RS384 do not verify.
    for alg in [Alg::PS256, Alg::PS512, Alg::RS384] {
        assert!(RustCrypto
            .verify(alg, &key, &input, &decode_url(S_4_2).unwrap())
            .is_err());
    }
}

#[test]
fn s4_3_es512_unknown() {
    let header = Header::parse(H_4_3, &HeaderRules::STRICT).unwrap();
    assert_eq!(header.alg_name(), Some("ES512"));
    assert_eq!(header.alg(), None);
    let p521 = r#"{"kty":"EC","kid":"bilbo.baggins@hobbiton.example","use":"sig","crv":"P-521",
      "x":"AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
      "y":"AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1"}"#;
    assert_eq!(Jwk::from_json(p521), Err(KeyError::UnsupportedCurve));
}

#[test]
fn s4_4_hs256_refused() {
    let header = Header::parse(H_4_4, &HeaderRules::STRICT).unwrap();
    assert_eq!(header.alg_name(), Some("HS256"));
    assert_eq!(header.alg(), None);
    let oct = format!(
        r#"{{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"{HMAC_KEY}"}}"#
    );
    assert!(Jwk::from_json(&oct).is_err());
}

#[test]
fn s4_5_detached_content() {
    // Figure 41: the compact serialization without payload; the payload comes separately.
    let compact = format!("{H_4_4}..{S_4_4}");
    let (h, s) = split_detached(&compact).unwrap();
    let input = signing_input_encoded(h, PAYLOAD.as_bytes());
    // The example is HMAC: prove the rebuilt signing input is the one the RFC signed …
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&decode_url(HMAC_KEY).unwrap()).unwrap();
    mac.update(&input);
    assert_eq!(encode_url(&mac.finalize().into_bytes()), s);
    // … while Signet itself refuses HS256.
    assert_eq!(Header::parse(h, &HeaderRules::GENERIC).unwrap().alg(), None);
    // The same detached construction with the asymmetric 4.1 signature verifies.
    let detached = format!("{H_4_1}..{S_4_1}");
    let (h, s) = split_detached(&detached).unwrap();
    let key = Jwk::from_json(RSA_PUBLIC).unwrap().key;
    RustCrypto
        .verify(
            Alg::RS256,
            &key,
            &signing_input_encoded(h, PAYLOAD.as_bytes()),
            &decode_url(s).unwrap(),
        )
        .unwrap();
    // A non-detached value is not accepted as detached; a three-part value still splits.
    let attached = format!("{H_4_1}.{PAYLOAD_B64}.{S_4_1}");
    assert!(split_detached(&attached).is_err());
    assert_eq!(split_three(&attached).unwrap().1, PAYLOAD_B64);
}
