//! Property tests: arbitrary input to every parser reachable from a request or a registry value
//! never panics (docs/data-path.md rule 6), and the base64 codecs round-trip. ~1000 cases each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod fuzz_targets;

use fuzz_targets as t;
use proptest::prelude::*;
use signet_core::b64;
use signet_core::jose::jws::{split_detached, split_three};
use signet_core::jose::{Header, HeaderRules};
use signet_core::keys::{Jwk, Jwks, PrivateKey, PublicKey};
use signet_core::x509::Certificate;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    }
}

/// Strings over the characters that matter to the decoders.
fn b64ish() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Za-z0-9_+/=\\- \\r\\n.]{0,64}").unwrap()
}

fn leaf_der() -> Vec<u8> {
    let pem = std::fs::read_to_string(format!(
        "{}/tests/data/x509/leaf.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Certificate::from_pem(&pem).unwrap().der().to_vec()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn b64_decoders_never_panic(s in b64ish()) {
        let _ = b64::decode_url(&s);
        let _ = b64::decode_url_allow_padding(&s);
        let _ = b64::decode_std(&s);
    }

    #[test]
    fn b64_any_string_never_panics(s in any::<String>()) {
        let _ = b64::decode_url(&s);
        let _ = b64::decode_url_allow_padding(&s);
        let _ = b64::decode_std(&s);
    }

    #[test]
    fn b64_roundtrip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(b64::decode_url(&b64::encode_url(&bytes)).unwrap(), bytes.clone());
        prop_assert_eq!(b64::decode_std(&b64::encode_std(&bytes)).unwrap(), bytes);
    }

    /// Any accepted base64url string is the canonical encoding of what it decodes to.
    #[test]
    fn b64_url_is_canonical(s in b64ish()) {
        if let Ok(bytes) = b64::decode_url(&s) {
            prop_assert_eq!(b64::encode_url(&bytes), s);
        }
    }

    #[test]
    fn header_parse_never_panics(s in any::<String>()) {
        for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
            let _ = Header::parse(&s, &rules);
        }
        let _ = split_detached(&s);
        let _ = split_three(&s);
    }

    /// Arbitrary JSON-ish bytes, encoded, reach the JSON and member checks.
    #[test]
    fn header_parse_json_never_panics(s in proptest::string::string_regex(
        "[{}\\[\\]\":,a-z0-9 \\\\ufe]{0,80}").unwrap()) {
        let h = b64::encode_url(s.as_bytes());
        for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
            let _ = Header::parse(&h, &rules);
        }
    }

    #[test]
    fn header_members_never_panic(
        alg in prop_oneof![Just("\"RS256\"".to_string()), Just("1".to_string()), Just("null".to_string())],
        kid in prop_oneof![Just("null"), Just("\"k\""), Just("[]"), Just("true")],
        crit in prop_oneof![Just("[\"b64\"]"), Just("[]"), Just("[\"x\",\"x\"]"), Just("\"b64\""), Just("[1]")],
        b64v in prop_oneof![Just("false"), Just("true"), Just("0"), Just("\"false\"")],
        x5c in prop_oneof![Just("[\"MIIB\"]"), Just("[]"), Just("[1]"), Just("\"a\"")],
    ) {
        let json = format!(r#"{{"alg":{alg},"kid":{kid},"crit":{crit},"b64":{b64v},"x5c":{x5c}}}"#);
        let h = b64::encode_url(json.as_bytes());
        for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
            let _ = Header::parse(&h, &rules);
        }
    }

    #[test]
    fn public_key_from_pem_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300),
                                         label in prop_oneof![Just("PUBLIC KEY"), Just("RSA PUBLIC KEY"),
                                             Just("CERTIFICATE"), Just("PRIVATE KEY"), Just("EC PRIVATE KEY"),
                                             Just("RSA PRIVATE KEY"), Just("X")]) {
        let pem = format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", b64::encode_std(&body));
        let _ = PublicKey::from_pem(&pem);
        let _ = PrivateKey::from_pem(&pem);
        let _ = PublicKey::from_spki_der(&body);
        let _ = PrivateKey::from_pkcs8_der(&body);
        let _ = PrivateKey::from_sec1_der(&body);
    }

    #[test]
    fn pem_text_never_panics(s in any::<String>()) {
        let _ = PublicKey::from_pem(&s);
        let _ = PrivateKey::from_pem(&s);
        let _ = Certificate::from_pem_bundle(&s);
        let _ = Certificate::from_x5c(&s, true);
    }

    #[test]
    fn jwk_never_panics(
        kty in prop_oneof![Just("RSA"), Just("EC"), Just("OKP"), Just("oct")],
        crv in prop_oneof![Just("P-256"), Just("P-384"), Just("Ed25519"), Just("P-521")],
        x in b64ish(), y in b64ish(), n in b64ish(), e in b64ish(),
        alg in prop_oneof![Just("ES256"), Just("RS256"), Just("EdDSA"), Just("HS256")],
        d in proptest::option::of(b64ish()),
    ) {
        let mut v = serde_json::json!({"kty":kty,"crv":crv,"x":x,"y":y,"n":n,"e":e,"alg":alg});
        if let Some(d) = d { v["d"] = d.into(); }
        let _ = Jwk::from_value(&v);
        let _ = PrivateKey::from_jwk_value(&v);
        let _ = Jwks::from_value(&serde_json::json!({"keys":[v.clone()]}));
        let _ = Jwk::from_json(&v.to_string());
    }

    #[test]
    fn jwk_arbitrary_text_never_panics(s in any::<String>()) {
        let _ = Jwk::from_json(&s);
        let _ = Jwks::from_json(&s);
        let _ = PrivateKey::from_jwk(&s);
    }

    #[test]
    fn certificate_from_der_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Certificate::from_der(bytes);
    }

    /// Single-byte mutations of a real certificate: parse, and if it parses, every accessor
    /// and the chain check run without panicking.
    #[test]
    fn mutated_certificate_never_panics(pos in 0usize..2000, val in any::<u8>(), cut in 0usize..2000) {
        let mut der = leaf_der();
        let p = pos % der.len();
        der[p] = val;
        let c = cut % (der.len() + 1);
        for candidate in [der.clone(), der[..c].to_vec()] {
            if let Ok(cert) = Certificate::from_der(candidate) {
                let _ = cert.public_key();
                let _ = (cert.not_before(), cert.not_after(), cert.is_ca(), cert.subject(),
                         cert.subject_alt_names(), cert.x5t_s256(), cert.sha256_hex_upper());
                let _ = signet_core::x509::validate_chain(&cert, std::slice::from_ref(&cert), 1_748_736_000);
            }
        }
    }
}

/// The short runs of the `fuzz_targets` (`make fuzz` runs them for minutes): a few hundred
/// cases each, with a fixed seed-free runner as above.
fn short() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(short())]

    #[test]
    fn pb_fields_are_bounded(input in t::pb_input()) { t::check_pb(input)?; }

    #[test]
    fn struct_metadata_is_bounded(input in t::struct_input()) { t::check_struct(input)?; }

    #[test]
    fn jwt_edits_never_verify(input in t::jwt_input()) { t::check_jwt(input)?; }

    #[test]
    fn jwks_body_replaces_or_keeps(input in t::jwks_input()) { t::check_jwks(input)?; }

    #[test]
    fn apikey_templates_redact_what_they_capture(input in t::apikey_input()) { t::check_apikey(input)?; }

    #[test]
    fn token_config_names_the_field(input in t::doc_input(2)) { t::check_token_config(input)?; }

    #[test]
    fn fetch_config_names_the_field(input in t::doc_input(2)) { t::check_fetch_config(input)?; }

    #[test]
    fn verify_config_parses_or_errs(input in t::doc_input(5)) { t::check_verify_config(input)?; }

    #[test]
    fn sign_config_parses_or_errs(input in t::doc_input(4)) { t::check_sign_config(input)?; }

    #[test]
    fn http_message_edits_parse_or_name_the_line(input in t::http_input()) { t::check_http(input)?; }

    #[test]
    fn mosip_open_refuses_every_edit_of_the_sealed_identity(input in t::seal::open_input()) { t::seal::check_open(input)?; }

    #[test]
    fn mosip_seal_refuses_every_edit_of_a_device_signed_record(input in t::seal::device_input()) { t::seal::check_device(input)?; }
}

// --- regressions: inputs `make fuzz` found, kept as they were minimised ---------------------------

/// A JWKS endpoint's `Cache-Control: max-age` is any u64: the refresh time was `max_age * 80`,
/// an overflow (a panic in debug builds, a wrapped refresh time in release).
#[test]
fn regression_jwks_huge_max_age() {
    use signet_core::token::jwks::{cache_control_max_age, JwksCache, JwksSettings, JwksState};
    let body = br#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    for max_age in [
        Some(230_584_300_921_369_396),
        cache_control_max_age("max-age=18446744073709551615"),
    ] {
        let mut cache = JwksCache::new(JwksSettings::default());
        assert!(cache.on_fetch_ok(body, max_age, 1_000).is_ok());
        assert_eq!(cache.state(1_000), JwksState::Fresh);
        assert!(!cache.needs_refresh(1_000 + 3_600_000 - 1));
    }
}

/// `retry_interval_s` and `unknown_kid_refetch_interval_s` come from the configuration (any
/// u64); turning them into milliseconds overflowed the same way.
#[test]
fn regression_jwks_huge_intervals() {
    use signet_core::token::jwks::{JwksCache, JwksSettings};
    let mut cache = JwksCache::new(JwksSettings {
        retry_interval_s: u64::MAX,
        unknown_kid_refetch_interval_s: u64::MAX,
        ..JwksSettings::default()
    });
    assert!(cache.request_refetch(1_000));
    assert!(cache.start_fetch(1_000));
    cache.on_fetch_err(1_000);
    assert!(!cache.needs_refresh(2_000));
    assert!(!cache.request_refetch(2_000));
}

/// An unknown member named "" has an empty path: the error named no field at all.
#[test]
fn regression_empty_member_name_names_the_root() {
    use signet_core::config::VerifyConfig;
    use signet_core::token::fetch_config::FetchConfig;
    use signet_core::token::TokenConfig;
    let e = TokenConfig::from_json(br#"{"":[false]}"#).unwrap_err();
    assert_eq!(e.field, "(root)", "{e}");
    let e = FetchConfig::from_json(br#"{"":[false]}"#, &|_| None).unwrap_err();
    assert_eq!(e.field, "(root)", "{e}");
    let e = VerifyConfig::from_json(r#"{"profile":"generic","":1}"#).unwrap_err();
    assert_eq!(e.field, "(root)", "{e}");
}

/// A chunked message whose input ends inside the header section's last line: the error named
/// line 4 of a 3-line file (the line after the headers, which does not exist).
#[test]
fn regression_chunked_without_body_names_an_existing_line() {
    use signet_core::httpmsg::{parse_message, HttpLimits, HttpMsgErrorKind};
    let input = b"POT /transfers?x=1 HTTP/1.1\r\ncontent-type: !A\r\nTransfer-Encoding: chunked\r";
    let e = parse_message(input, HttpLimits::default()).unwrap_err();
    assert_eq!((e.line, e.kind), (3, HttpMsgErrorKind::BadChunk));
}
