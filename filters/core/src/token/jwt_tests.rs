#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::crypto::RustCrypto;
use crate::keys::Jwks;
use crate::token::testkeys;
use serde_json::{json, Value};

const ISS: &str = "https://auth.example/realms/ocen";
const NOW_S: i64 = 1_700_000_000;
const NOW: u64 = NOW_S as u64 * 1000;

fn rules() -> JwtRules {
    JwtRules {
        issuer: ISS.into(),
        audiences: vec![],
        algorithms: Alg::ALL.to_vec(),
        require_exp: true,
        require_iat: false,
        clock_skew_s: 60,
        required_scopes: vec![],
        required_claims: vec![],
    }
}

fn claims() -> Value {
    json!({"iss": ISS, "sub": "bank-a", "exp": NOW_S + 300, "iat": NOW_S - 1000})
}

fn ec_setup() -> (crate::keys::PrivateKey, Vec<Jwk>) {
    let key = testkeys::p256(1);
    let keys = Jwks::from_json(&testkeys::jwks(&[testkeys::jwk(&key, "k1", None)])).unwrap();
    (key, keys)
}

fn es256(payload: &Value, key: &crate::keys::PrivateKey) -> String {
    testkeys::sign(&json!({"alg":"ES256","kid":"k1"}), payload, key, Alg::ES256)
}

fn verify_with(
    token: &str,
    rules: &JwtRules,
    keys: &[Jwk],
    now: u64,
) -> Result<VerifiedJwt, TokenError> {
    UntrustedJwt::parse(token)?.verify(rules, keys, now, &RustCrypto)
}

fn verify(token: &str, keys: &[Jwk]) -> Result<VerifiedJwt, TokenError> {
    verify_with(token, &rules(), keys, NOW)
}

fn with(mut v: Value, name: &str, x: Value) -> Value {
    v[name] = x;
    v
}

fn without(mut v: Value, name: &str) -> Value {
    v.as_object_mut().unwrap().remove(name);
    v
}

#[test]
fn valid_es256_token() {
    let (key, keys) = ec_setup();
    let v = verify(&es256(&claims(), &key), &keys).unwrap();
    assert_eq!(v.claims.str("sub"), Some("bank-a"));
    assert_eq!(v.exp_ms, Some((NOW_S + 300) * 1000));
    assert!(v.token_id.starts_with("sha256:") && v.token_id.len() == 19);
}

#[test]
fn valid_rs256_token_and_jti_id() {
    let key = testkeys::rsa2048();
    let keys =
        Jwks::from_json(&testkeys::jwks(&[testkeys::jwk(&key, "r1", Some("RS256"))])).unwrap();
    let t = testkeys::sign(
        &json!({"alg":"RS256","kid":"r1","typ":"JWT"}),
        &with(claims(), "jti", json!("abc-123")),
        &key,
        Alg::RS256,
    );
    assert_eq!(verify(&t, &keys).unwrap().token_id, "jti:abc-123");
}

#[test]
fn exp_boundaries() {
    let (key, keys) = ec_setup();
    // Valid while exp > now − skew: exp = now − 59 s is valid, now − 60 s is expired.
    let at = |exp: i64| verify(&es256(&with(claims(), "exp", json!(exp)), &key), &keys);
    assert!(at(NOW_S - 59).is_ok());
    assert_eq!(at(NOW_S - 60), Err(TokenError::Expired));
    assert_eq!(at(NOW_S - 3600), Err(TokenError::Expired));
    assert!(at(NOW_S).is_ok());
    // One millisecond matters: at now_ms = (exp + 60) s − 1 ms it is still valid.
    let t = es256(&with(claims(), "exp", json!(NOW_S)), &key);
    assert!(verify_with(&t, &rules(), &keys, NOW + 59_999).is_ok());
    assert_eq!(
        verify_with(&t, &rules(), &keys, NOW + 60_000),
        Err(TokenError::Expired)
    );
    // Zero skew: exp == now is expired.
    let strict = JwtRules {
        clock_skew_s: 0,
        ..rules()
    };
    assert_eq!(
        verify_with(&t, &strict, &keys, NOW),
        Err(TokenError::Expired)
    );
    assert!(verify_with(&t, &strict, &keys, NOW - 1).is_ok());
    // Fractional NumericDate.
    assert!(at(NOW_S + 1).is_ok());
    let frac = es256(&with(claims(), "exp", json!(NOW_S as f64 - 59.5)), &key);
    assert!(verify(&frac, &keys).is_ok());
}

#[test]
fn exp_missing_and_optional() {
    let (key, keys) = ec_setup();
    let t = es256(&without(claims(), "exp"), &key);
    assert_eq!(
        verify(&t, &keys),
        Err(TokenError::Claim(ClaimError::ExpMissing))
    );
    let lax = JwtRules {
        require_exp: false,
        ..rules()
    };
    assert_eq!(verify_with(&t, &lax, &keys, NOW).unwrap().exp_ms, None);
}

#[test]
fn time_claims_must_be_numbers() {
    let (key, keys) = ec_setup();
    for (name, v) in [
        ("exp", json!("1700000300")),
        ("nbf", json!(true)),
        ("iat", json!(null)),
    ] {
        let t = es256(&with(claims(), name, v), &key);
        assert_eq!(
            verify(&t, &keys),
            Err(TokenError::Claim(ClaimError::TimeClaimType)),
            "{name}"
        );
    }
    let t = es256(&with(claims(), "exp", json!(1e300)), &key);
    assert_eq!(
        verify(&t, &keys),
        Err(TokenError::Claim(ClaimError::TimeClaimType))
    );
}

#[test]
fn nbf_boundaries() {
    let (key, keys) = ec_setup();
    let at = |nbf: i64| verify(&es256(&with(claims(), "nbf", json!(nbf)), &key), &keys);
    assert!(at(NOW_S + 60).is_ok());
    assert_eq!(
        at(NOW_S + 61),
        Err(TokenError::Claim(ClaimError::NotYetValid))
    );
    assert!(at(NOW_S - 1000).is_ok());
}

#[test]
fn iat_rules() {
    let (key, keys) = ec_setup();
    let at = |iat: i64| verify(&es256(&with(claims(), "iat", json!(iat)), &key), &keys);
    assert!(at(NOW_S + 60).is_ok());
    assert_eq!(
        at(NOW_S + 61),
        Err(TokenError::Claim(ClaimError::IssuedInFuture))
    );
    // exp must be after iat.
    let t = es256(
        &with(with(claims(), "iat", json!(NOW_S)), "exp", json!(NOW_S)),
        &key,
    );
    assert_eq!(
        verify(&t, &keys),
        Err(TokenError::Claim(ClaimError::IssuedInFuture))
    );
    let t = es256(&without(claims(), "iat"), &key);
    assert!(verify(&t, &keys).is_ok());
    let ocen = JwtRules {
        require_iat: true,
        ..rules()
    };
    assert_eq!(
        verify_with(&t, &ocen, &keys, NOW),
        Err(TokenError::Claim(ClaimError::IatMissing))
    );
}

#[test]
fn issuer_must_match_exactly() {
    let (key, keys) = ec_setup();
    for iss in [
        json!("https://evil.example/realms/ocen"),
        json!(format!("{ISS}/")),
        json!(null),
        json!([ISS]),
    ] {
        let t = es256(&with(claims(), "iss", iss.clone()), &key);
        assert_eq!(
            verify(&t, &keys),
            Err(TokenError::Claim(ClaimError::Issuer)),
            "{iss}"
        );
    }
    let t = es256(&without(claims(), "iss"), &key);
    assert_eq!(
        verify(&t, &keys),
        Err(TokenError::Claim(ClaimError::Issuer))
    );
}

#[test]
fn audience_string_or_array() {
    let (key, keys) = ec_setup();
    let r = JwtRules {
        audiences: vec!["lender".into(), "lsp".into()],
        ..rules()
    };
    let at = |aud: Option<Value>| {
        let c = match aud {
            Some(a) => with(claims(), "aud", a),
            None => claims(),
        };
        verify_with(&es256(&c, &key), &r, &keys, NOW)
    };
    assert!(at(Some(json!("lender"))).is_ok());
    assert!(at(Some(json!(["x", "lsp"]))).is_ok());
    let bad = Err(TokenError::Claim(ClaimError::Audience));
    assert_eq!(at(Some(json!("other"))), bad);
    assert_eq!(at(Some(json!(["other"]))), bad);
    assert_eq!(at(Some(json!([]))), bad);
    assert_eq!(at(Some(json!(1))), bad);
    assert_eq!(at(None), bad);
    // No audience configured: not checked (docs/profiles.md#ocen).
    assert!(verify(&es256(&with(claims(), "aud", json!("any")), &key), &keys).is_ok());
}

#[test]
fn scopes_from_scope_or_scp() {
    let (key, keys) = ec_setup();
    let r = JwtRules {
        required_scopes: vec!["loan.read".into(), "loan.write".into()],
        ..rules()
    };
    let at =
        |name: &str, v: Value| verify_with(&es256(&with(claims(), name, v), &key), &r, &keys, NOW);
    assert!(at("scope", json!("openid loan.write  loan.read")).is_ok());
    assert!(at("scp", json!(["loan.read", "loan.write"])).is_ok());
    let bad = Err(TokenError::Claim(ClaimError::Scope));
    assert_eq!(at("scope", json!("loan.read")), bad);
    assert_eq!(at("scope", json!("loan.read,loan.write")), bad);
    assert_eq!(at("scp", json!(["loan.read"])), bad);
    assert_eq!(verify_with(&es256(&claims(), &key), &r, &keys, NOW), bad);
}

#[test]
fn required_claims() {
    let (key, keys) = ec_setup();
    let expected = crate::json::parse_strict(b"\"lender\"", JsonLimits::BODY).unwrap();
    let r = JwtRules {
        required_claims: vec![("role".into(), expected)],
        ..rules()
    };
    let at = |v: Option<Value>| {
        let c = match v {
            Some(v) => with(claims(), "role", v),
            None => claims(),
        };
        verify_with(&es256(&c, &key), &r, &keys, NOW)
    };
    assert!(at(Some(json!("lender"))).is_ok());
    assert!(at(Some(json!(["lsp", "lender"]))).is_ok());
    let bad = Err(TokenError::Claim(ClaimError::RequiredClaim));
    assert_eq!(at(Some(json!("lsp"))), bad);
    assert_eq!(at(Some(json!({"lender": true}))), bad);
    assert_eq!(at(None), bad);
}

#[test]
fn unknown_kid() {
    let (key, keys) = ec_setup();
    let t = testkeys::sign(
        &json!({"alg":"ES256","kid":"k2"}),
        &claims(),
        &key,
        Alg::ES256,
    );
    assert_eq!(verify(&t, &keys), Err(TokenError::KidUnknown));
    assert_eq!(
        verify(&es256(&claims(), &key), &[]),
        Err(TokenError::KidUnknown)
    );
}

#[test]
fn kidless_token_tries_the_keys() {
    let (key, keys) = ec_setup();
    let t = testkeys::sign(&json!({"alg":"ES256"}), &claims(), &key, Alg::ES256);
    assert!(verify(&t, &keys).is_ok());
}

#[test]
fn signature_by_a_key_not_in_the_jwks() {
    let (_, keys) = ec_setup();
    let other = testkeys::p256(2);
    assert_eq!(
        verify(&es256(&claims(), &other), &keys),
        Err(TokenError::SignatureInvalid)
    );
    // Same kid, payload changed after signing.
    let (key, _) = ec_setup();
    let t = es256(&claims(), &key);
    let (hp, s) = t.rsplit_once('.').unwrap();
    let (h, _) = hp.split_once('.').unwrap();
    let forged = format!(
        "{h}.{}.{s}",
        crate::b64::encode_url(
            with(claims(), "sub", json!("bank-b"))
                .to_string()
                .as_bytes()
        )
    );
    assert_eq!(verify(&forged, &keys), Err(TokenError::SignatureInvalid));
}

#[test]
fn alg_not_allowed_for_the_key() {
    let (key, keys) = ec_setup();
    // RS256 header over an EC key: key type does not fit.
    let t = testkeys::sign(
        &json!({"alg":"RS256","kid":"k1"}),
        &claims(),
        &testkeys::rsa2048(),
        Alg::RS256,
    );
    assert_eq!(verify(&t, &keys), Err(TokenError::AlgNotAllowed));
    // The JWK's alg restricts the key: an RSA key pinned to RS256 refuses PS256.
    let rsa = testkeys::rsa2048();
    let rkeys =
        Jwks::from_json(&testkeys::jwks(&[testkeys::jwk(&rsa, "r1", Some("RS256"))])).unwrap();
    let t = testkeys::sign(
        &json!({"alg":"PS256","kid":"r1"}),
        &claims(),
        &rsa,
        Alg::PS256,
    );
    assert_eq!(verify(&t, &rkeys), Err(TokenError::AlgNotAllowed));
    // The provider's set restricts too.
    let only_rs = JwtRules {
        algorithms: vec![Alg::RS256],
        ..rules()
    };
    assert_eq!(
        verify_with(&es256(&claims(), &key), &only_rs, &keys, NOW),
        Err(TokenError::AlgNotAllowed)
    );
}

#[test]
fn none_and_hmac_are_never_accepted() {
    let (_, keys) = ec_setup();
    let rsa = testkeys::rsa2048();
    let rkeys = Jwks::from_json(&testkeys::jwks(&[testkeys::jwk(&rsa, "r1", None)])).unwrap();
    for alg in ["none", "None", "HS256", "HS384", "HS512", "ES512", ""] {
        let t = testkeys::unsigned(&json!({"alg": alg, "kid":"k1"}), &claims());
        assert_eq!(verify(&t, &keys), Err(TokenError::AlgNotAllowed), "{alg}");
    }
    // `none` with an empty signature segment is not even a three-part token.
    let h = crate::b64::encode_url(br#"{"alg":"none"}"#);
    let p = crate::b64::encode_url(claims().to_string().as_bytes());
    assert_eq!(
        verify(&format!("{h}.{p}."), &keys),
        Err(TokenError::Malformed("segments"))
    );
    // RS256 public key used as an HS256 secret (the classic confusion).
    use hmac::{Hmac, Mac};
    let h = crate::b64::encode_url(br#"{"alg":"HS256","kid":"r1"}"#);
    let input = format!("{h}.{p}");
    let secret = rsa.public_key().to_spki_der();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
    mac.update(input.as_bytes());
    let t = format!(
        "{input}.{}",
        crate::b64::encode_url(&mac.finalize().into_bytes())
    );
    assert_eq!(verify(&t, &rkeys), Err(TokenError::AlgNotAllowed));
    // No alg at all.
    let t = testkeys::unsigned(&json!({"kid":"k1"}), &claims());
    assert_eq!(verify(&t, &keys), Err(TokenError::AlgNotAllowed));
}

#[test]
fn malformed_tokens() {
    let (key, keys) = ec_setup();
    let good = es256(&claims(), &key);
    let (h, rest) = good.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let cases: Vec<(String, TokenError)> = vec![
        (format!("{h}.{p}"), TokenError::Malformed("segments")),
        (
            format!("{h}.{p}.{s}.{s}"),
            TokenError::Malformed("segments"),
        ),
        (format!("{h}..{s}"), TokenError::Malformed("empty payload")),
        (format!(".{p}.{s}"), TokenError::Malformed("segments")),
        (format!("{h}.{p}="), TokenError::Malformed("segments")),
        (
            format!("{h}.{p}.{s}="),
            TokenError::Malformed("signature base64"),
        ),
        (
            format!("{h}.{p}+.{s}"),
            TokenError::Malformed("payload base64"),
        ),
        (
            format!("{h}.{p}.{}", s.replace('_', "/")),
            TokenError::Malformed("signature base64"),
        ),
        (format!("{h}={p}.{s}"), TokenError::Malformed("segments")),
        (
            format!("{h}.{}.{s}", crate::b64::encode_url(b"not json")),
            TokenError::Claim(ClaimError::PayloadNotJson),
        ),
        (
            format!("{h}.{}.{s}", crate::b64::encode_url(b"[1]")),
            TokenError::Claim(ClaimError::PayloadNotJson),
        ),
        (
            format!(
                "{h}.{}.{s}",
                crate::b64::encode_url(br#"{"sub":"a","sub":"b"}"#)
            ),
            TokenError::Claim(ClaimError::PayloadNotJson),
        ),
        (
            format!("{}.{p}.{s}", crate::b64::encode_url(b"alg")),
            TokenError::Header("not valid JSON"),
        ),
        (String::new(), TokenError::Malformed("segments")),
    ];
    for (t, e) in cases {
        let got = verify(&t, &keys);
        assert!(
            matches!((&got, &e), (Err(a), b) if std::mem::discriminant(a) == std::mem::discriminant(b)),
            "{t}: {got:?} vs {e:?}"
        );
        if !matches!(e, TokenError::Header(_)) {
            assert_eq!(got, Err(e), "{t}");
        }
    }
    // A short signature is refused (as invalid, before crypto).
    let t = format!("{h}.{p}.{}", crate::b64::encode_url(&[1u8; 63]));
    assert_eq!(verify(&t, &keys), Err(TokenError::SignatureInvalid));
}

#[test]
fn crit_and_b64_false_refused() {
    let (key, keys) = ec_setup();
    let t = testkeys::sign(
        &json!({"alg":"ES256","kid":"k1","b64":false,"crit":["b64"]}),
        &claims(),
        &key,
        Alg::ES256,
    );
    assert!(matches!(verify(&t, &keys), Err(TokenError::Header(_))));
    let t = testkeys::sign(
        &json!({"alg":"ES256","kid":"k1","exp":1,"crit":["exp"]}),
        &claims(),
        &key,
        Alg::ES256,
    );
    assert!(matches!(verify(&t, &keys), Err(TokenError::Header(_))));
}

fn cached(jwt: VerifiedJwt, generation: u64) -> CachedToken {
    CachedToken {
        provider: 0,
        generation,
        jwt: Rc::new(jwt),
    }
}

fn verified(exp_s: Option<i64>) -> VerifiedJwt {
    VerifiedJwt {
        claims: Claims::parse(b"{}").unwrap(),
        exp_ms: exp_s.map(|s| s * 1000),
        token_id: "x".into(),
    }
}

#[test]
fn cache_hit_never_outlives_exp() {
    let mut c = TokenCache::new(10);
    c.insert("t1", cached(verified(Some(NOW_S + 10)), 1), NOW);
    assert!(c.get("t1", NOW, |_| 1).is_some());
    assert!(c.get("t1", NOW + 9_999, |_| 1).is_some());
    assert!(c.get("t1", NOW + 10_000, |_| 1).is_none());
    assert!(c.is_empty());
    assert!(c.get("t2", NOW, |_| 1).is_none());
}

#[test]
fn cache_skips_tokens_without_exp_or_already_expired() {
    let mut c = TokenCache::new(10);
    c.insert("a", cached(verified(None), 1), NOW);
    c.insert("b", cached(verified(Some(NOW_S - 30)), 1), NOW);
    assert!(c.is_empty());
    let mut off = TokenCache::new(0);
    off.insert("c", cached(verified(Some(NOW_S + 30)), 1), NOW);
    assert!(off.is_empty());
}

#[test]
fn cache_drops_entries_of_an_old_key_set() {
    let mut c = TokenCache::new(10);
    c.insert("t", cached(verified(Some(NOW_S + 100)), 1), NOW);
    assert!(c.get("t", NOW, |_| 2).is_none());
    assert!(c.get("t", NOW, |_| 1).is_none());
}

#[test]
fn tokens_one_byte_apart_are_two_entries() {
    let mut c = TokenCache::new(10);
    c.insert(
        "hdr.claims.sigA",
        cached(verified(Some(NOW_S + 100)), 1),
        NOW,
    );
    assert!(c.get("hdr.claims.sigB", NOW, |_| 1).is_none());
    c.insert(
        "hdr.claims.sigB",
        cached(verified(Some(NOW_S + 100)), 1),
        NOW,
    );
    assert_eq!(c.len(), 2);
    assert!(c.get("hdr.claims.sigA", NOW, |_| 1).is_some());
    assert!(c.get("hdr.claims.sigB", NOW, |_| 1).is_some());
    // A prefix is another token too.
    assert!(c.get("hdr.claims.sig", NOW, |_| 1).is_none());
    // The cache holds credentials: its debug output does not show them.
    assert!(!format!("{c:?}").contains("hdr.claims"));
}

#[test]
fn cache_evicts_oldest() {
    let mut c = TokenCache::new(3);
    for i in 0..3 {
        c.insert(
            format!("t{i}").as_str(),
            cached(verified(Some(NOW_S + 100)), 1),
            NOW,
        );
    }
    // Re-inserting t0 makes it the newest.
    c.insert("t0", cached(verified(Some(NOW_S + 100)), 1), NOW);
    c.insert("t3", cached(verified(Some(NOW_S + 100)), 1), NOW);
    assert_eq!(c.len(), 3);
    assert!(c.get("t1", NOW, |_| 1).is_none());
    for t in ["t0", "t2", "t3"] {
        assert!(c.get(t, NOW, |_| 1).is_some(), "{t}");
    }
    // Churn keeps the bookkeeping bounded.
    for i in 0..1000 {
        c.insert(
            format!("t{}", i % 5).as_str(),
            cached(verified(Some(NOW_S + 100)), 1),
            NOW,
        );
    }
    assert_eq!(c.len(), 3);
    assert!(c.order.len() <= 16);
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn garbage_tokens_never_panic(s in "[A-Za-z0-9_.=+/ -]{0,300}") {
            let (_, keys) = ec_setup();
            let _ = verify(&s, &keys);
        }

        #[test]
        fn garbage_segments_never_panic(h in proptest::collection::vec(any::<u8>(), 0..80),
                                        p in proptest::collection::vec(any::<u8>(), 0..200),
                                        s in proptest::collection::vec(any::<u8>(), 0..80)) {
            let (_, keys) = ec_setup();
            let t = format!("{}.{}.{}", crate::b64::encode_url(&h), crate::b64::encode_url(&p), crate::b64::encode_url(&s));
            let _ = verify(&t, &keys);
        }
    }
}
