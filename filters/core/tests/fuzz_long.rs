//! `make fuzz`: every parser a request or a registry value reaches, and the whole verification
//! pipeline of every profile, each fed fresh random input for a time budget
//! (`SIGNET_FUZZ_SECS`, default 60 s per target). Ignored by `cargo test`; `make test` runs the
//! bounded versions (`fuzz_props.rs`, `pipeline_props.rs`, the crate's unit proptests).
//!
//! A long proptest rather than cargo-fuzz: cargo-fuzz needs a nightly toolchain, which a fresh
//! machine does not have. A failure panics with the shrunk input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod fuzz_targets;
mod pipeline;

use fuzz_targets as t;
use pipeline::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use signet_core::b64;
use signet_core::httpmsg::{parse_message, HttpLimits};
use signet_core::jose::jws::{split_detached, split_three};
use signet_core::jose::{Header, HeaderRules};
use signet_core::json::{ecmascript, orjson_sorted, parse_strict, JsonLimits, KeyOrder};
use signet_core::keys::{Jwk, Jwks, PrivateKey, PublicKey};
use signet_core::x509::Certificate;

/// Without a budget (plain `cargo test -- --ignored`), a short run.
const CASES: u32 = 2000;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_+/=\\- \\r\\n.]{0,128}",
        "[{}\\[\\]\":,a-z0-9 .\\-+eE\\\\u]{0,128}",
    ]
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_b64() {
    check("b64", CASES, text(), |s| {
        let _ = b64::decode_url_allow_padding(&s);
        let _ = b64::decode_std(&s);
        if let Ok(bytes) = b64::decode_url(&s) {
            prop_assert_eq!(b64::encode_url(&bytes), s);
        }
        Ok(())
    });
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_protected_header() {
    let input = prop_oneof![
        text(),
        text().prop_map(|s| b64::encode_url(s.as_bytes())),
        protected_header(fixture("generic-eddsa")).prop_map(|s| b64::encode_url(s.as_bytes())),
        protected_header(fixture("mosip")).prop_map(|s| b64::encode_url(s.as_bytes())),
    ];
    check("protected_header", CASES, input, |s| {
        for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
            let _ = Header::parse(&s, &rules);
        }
        let _ = split_detached(&s);
        let _ = split_three(&s);
        Ok(())
    });
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_json() {
    let input = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        "[{}\\[\\]\":,a-z0-9 .\\-+eE\\\\u]{0,256}".prop_map(String::into_bytes),
        (1usize..200).prop_map(|n| "[".repeat(n).into_bytes()),
    ];
    check("json", CASES, input, |bytes| {
        let limits = JsonLimits {
            max_depth: 64,
            max_members: Some(64),
            max_elements: Some(1024),
        };
        if let Ok(v) = parse_strict(&bytes, limits) {
            // Whatever parses re-serializes to JSON that parses to the same value.
            for out in [
                orjson_sorted(&v),
                ecmascript(&v, KeyOrder::Insertion),
                ecmascript(&v, KeyOrder::SortedUtf16),
            ] {
                let again = parse_strict(
                    &out,
                    JsonLimits {
                        max_depth: 127,
                        max_members: None,
                        max_elements: None,
                    },
                );
                prop_assert!(
                    again.is_ok(),
                    "re-serialization does not parse: {:?}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
        Ok(())
    });
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_keys() {
    let label = prop_oneof![
        Just("PUBLIC KEY"),
        Just("RSA PUBLIC KEY"),
        Just("CERTIFICATE"),
        Just("PRIVATE KEY"),
        Just("EC PRIVATE KEY"),
        Just("RSA PRIVATE KEY"),
        Just("X"),
    ];
    let input = (
        proptest::collection::vec(any::<u8>(), 0..400),
        label,
        text(),
    );
    check("keys", CASES, input, |(body, label, s)| {
        let pem = format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            b64::encode_std(&body)
        );
        let _ = PublicKey::from_pem(&pem);
        let _ = PrivateKey::from_pem(&pem);
        let _ = PublicKey::from_spki_der(&body);
        let _ = PrivateKey::from_pkcs8_der(&body);
        let _ = PrivateKey::from_sec1_der(&body);
        let _ = PublicKey::from_pem(&s);
        let _ = Jwk::from_json(&s);
        let _ = Jwks::from_json(&s);
        let _ = PrivateKey::from_jwk(&s);
        Ok(())
    });
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_jwk() {
    let b = || "[A-Za-z0-9_+/=\\-]{0,90}";
    let input = (
        prop_oneof![Just("RSA"), Just("EC"), Just("OKP"), Just("oct"), Just("")],
        prop_oneof![
            Just("P-256"),
            Just("P-384"),
            Just("Ed25519"),
            Just("P-521"),
            Just("secp256k1")
        ],
        b(),
        b(),
        b(),
        b(),
        proptest::option::of(b()),
        prop_oneof![
            Just("ES256"),
            Just("RS256"),
            Just("EdDSA"),
            Just("HS256"),
            Just("none")
        ],
    );
    check("jwk", CASES, input, |(kty, crv, x, y, n, e, d, alg)| {
        let mut v =
            serde_json::json!({"kty": kty, "crv": crv, "x": x, "y": y, "n": n, "e": e, "alg": alg});
        if let Some(d) = d {
            v["d"] = d.into();
        }
        let _ = Jwk::from_value(&v);
        let _ = PrivateKey::from_jwk_value(&v);
        let _ = Jwks::from_value(&serde_json::json!({"keys": [v]}));
        Ok(())
    });
}

fn leaf_der() -> Vec<u8> {
    let pem = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/x509/leaf.pem"
    ))
    .unwrap();
    Certificate::from_pem(&pem).unwrap().der().to_vec()
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_certificate() {
    let der = leaf_der();
    let input = (
        proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        any::<usize>(),
        proptest::collection::vec(any::<u8>(), 0..600),
    );
    check("certificate", CASES, input, |(edits, cut, random)| {
        let mut d = der.clone();
        for (pos, val) in edits {
            let p = pos % d.len();
            d[p] = val;
        }
        let c = cut % (d.len() + 1);
        for candidate in [d.clone(), d[..c].to_vec(), random.clone()] {
            let _ = Certificate::from_x5c(&b64::encode_std(&candidate), false);
            if let Ok(cert) = Certificate::from_der(candidate) {
                let _ = cert.public_key();
                let _ = (
                    cert.not_before(),
                    cert.not_after(),
                    cert.is_ca(),
                    cert.subject(),
                    cert.subject_alt_names(),
                    cert.x5t_s256(),
                    cert.sha256_hex_upper(),
                );
                let _ = signet_core::x509::validate_chain(
                    &cert,
                    std::slice::from_ref(&cert),
                    1_748_736_000,
                );
            }
        }
        Ok(())
    });
}

#[test]
#[ignore = "make fuzz"]
fn fuzz_http_message() {
    let line = prop_oneof![
        Just("POST /transfers HTTP/1.1".to_string()),
        Just("HTTP/1.1 200 OK".to_string()),
        Just("transfer-encoding: chunked".to_string()),
        Just("content-length: 5".to_string()),
        Just("content-length: -1".to_string()),
        Just("5".to_string()),
        Just("0".to_string()),
        Just(String::new()),
        "[ -~\\t]{0,40}",
        any::<String>(),
    ];
    let structured = (
        proptest::collection::vec(line, 0..10),
        prop_oneof![Just("\r\n"), Just("\n"), Just("\r")],
    )
        .prop_map(|(lines, eol)| lines.join(eol).into_bytes());
    let input = prop_oneof![structured, proptest::collection::vec(any::<u8>(), 0..600)];
    check("http_message", CASES, input, |bytes| {
        let limits = HttpLimits {
            max_headers: 16,
            max_line_bytes: 256,
            max_body_bytes: 1024,
        };
        if let Ok(msg) = parse_message(&bytes, limits) {
            // What parses renders to a message that parses again.
            let again = parse_message(&msg.render(), HttpLimits::default());
            prop_assert!(again.is_ok(), "render does not re-parse: {:?}", again.err());
        }
        let _ = parse_message(&bytes, HttpLimits::default());
        Ok(())
    });
}

/// The targets of `fuzz_targets` (strategy, property), each under its own test name.
macro_rules! targets {
    ($($test:ident => $name:literal, $input:expr, $check:path;)*) => {$(
        #[test]
        #[ignore = "make fuzz"]
        fn $test() {
            check($name, CASES, $input, $check);
        }
    )*};
}

targets! {
    fuzz_pb => "pb", t::pb_input(), t::check_pb;
    fuzz_struct_pb => "struct_pb", t::struct_input(), t::check_struct;
    fuzz_jwt => "jwt", t::jwt_input(), t::check_jwt;
    fuzz_jwks => "jwks", t::jwks_input(), t::check_jwks;
    fuzz_apikey => "apikey", t::apikey_input(), t::check_apikey;
    fuzz_token_config => "token_config", t::doc_input(2), t::check_token_config;
    fuzz_fetch_config => "fetch_config", t::doc_input(2), t::check_fetch_config;
    fuzz_verify_config => "verify_config", t::doc_input(5), t::check_verify_config;
    fuzz_sign_config => "sign_config", t::doc_input(4), t::check_sign_config;
    fuzz_http_message_mutated => "http_message_mutated", t::http_input(), t::check_http;
    fuzz_mosip_open => "mosip_open", t::seal::open_input(), t::seal::check_open;
    fuzz_mosip_device => "mosip_device", t::seal::device_input(), t::seal::check_device;
}

/// One pipeline input of any of the three kinds.
#[derive(Debug, Clone)]
enum Input {
    Mutated(Vec<Mutation>),
    Forged(String, Vec<u8>, Option<Vec<u8>>),
    Garbage(String, String, Vec<(String, String)>, Vec<u8>),
}

fn pipeline(name: &'static str) {
    let f = fixture(name);
    let input = prop_oneof![
        proptest::collection::vec(mutation(), 1..6).prop_map(Input::Mutated),
        (
            protected_header(f),
            signature_bytes(f),
            proptest::option::of(body_bytes())
        )
            .prop_map(|(h, s, b)| Input::Forged(h, s, b)),
        (method(), path(), headers(), body_bytes())
            .prop_map(|(m, p, h, b)| Input::Garbage(m, p, h, b)),
    ];
    check(
        &format!("pipeline {name}"),
        CASES,
        input,
        |i| -> Result<(), TestCaseError> {
            match i {
                Input::Mutated(ms) => check_mutated(f, &ms),
                Input::Forged(h, s, b) => check_forged(f, &h, &s, b.as_deref()),
                Input::Garbage(m, p, h, b) => check_garbage(f, &m, &p, &h, &b),
            }
        },
    );
}

macro_rules! pipeline_targets {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        #[test]
        #[ignore = "make fuzz"]
        fn $test() {
            pipeline($name);
        }
    )*};
}

pipeline_targets! {
    fuzz_pipeline_mojaloop_rs256 => "mojaloop-rs256",
    fuzz_pipeline_mojaloop_es256 => "mojaloop-es256",
    fuzz_pipeline_ocen => "ocen",
    fuzz_pipeline_mosip => "mosip",
    fuzz_pipeline_spar => "spar",
    fuzz_pipeline_generic_es256_unencoded => "generic-es256-unencoded",
    fuzz_pipeline_generic_eddsa => "generic-eddsa",
}
