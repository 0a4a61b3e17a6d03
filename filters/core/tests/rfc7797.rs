//! RFC 7797 §4 (unencoded payload). The examples are HS256: the test proves that the E-input
//! and U-input this crate builds are the bytes the RFC signed (by recomputing the RFC's HMACs
//! with the RFC 7515 A.1 key), and that HS256 itself is refused by [`Alg`].
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hmac::{Hmac, Mac};
use signet_core::b64::{decode_url, encode_url};
use signet_core::jose::jws::{
    encode_header, signing_input_encoded, signing_input_unencoded, split_detached, HeaderValue,
};
use signet_core::jose::{Alg, Header, HeaderError, HeaderRules};

/// RFC 7515 A.1 key, used by RFC 7797 §4.
const KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const PAYLOAD: &[u8] = b"$.02";

fn hs256(input: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&decode_url(KEY).unwrap()).unwrap();
    mac.update(input);
    encode_url(&mac.finalize().into_bytes())
}

#[test]
fn s4_1_encoded_payload() {
    let h = "eyJhbGciOiJIUzI1NiJ9";
    let input = signing_input_encoded(h, PAYLOAD);
    assert_eq!(input, b"eyJhbGciOiJIUzI1NiJ9.JC4wMg".to_vec());
    assert_eq!(hs256(&input), "5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ");
}

#[test]
fn s4_2_unencoded_payload() {
    let h = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19";
    // The header writer produces the RFC's header byte for byte.
    assert_eq!(
        encode_header(&[
            ("alg", HeaderValue::Str("HS256")),
            ("b64", HeaderValue::Bool(false)),
            ("crit", HeaderValue::StrList(&["b64"])),
        ]),
        h
    );
    let compact = format!("{h}..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY");
    let (hh, s) = split_detached(&compact).unwrap();
    let header = Header::parse(hh, &HeaderRules::GENERIC).unwrap();
    assert!(!header.b64());
    let input = signing_input_unencoded(header.raw(), PAYLOAD);
    let mut expected = h.as_bytes().to_vec();
    expected.extend_from_slice(b".$.02");
    assert_eq!(input, expected);
    assert_eq!(hs256(&input), s);
    // The same header under mojaloop/mosip/spar rules is crit_unsupported; ocen accepts it.
    assert!(matches!(
        Header::parse(hh, &HeaderRules::STRICT),
        Err(HeaderError::CritUnsupported(_))
    ));
    assert!(!Header::parse(hh, &HeaderRules::OCEN).unwrap().b64());
}

#[test]
fn hs256_refused() {
    assert_eq!(Alg::from_name("HS256"), None);
    let header = Header::parse(
        "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19",
        &HeaderRules::GENERIC,
    )
    .unwrap();
    assert_eq!(header.alg(), None);
}
