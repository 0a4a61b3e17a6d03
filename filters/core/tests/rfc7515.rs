//! RFC 7515 Appendix A: A.2 (RS256) and A.3 (ES256) verify with the RFC's keys; A.1 (HS256) and
//! A.5 (`none`) are refused because neither algorithm exists in [`Alg`].
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use signet_core::b64::decode_url;
use signet_core::crypto::{CryptoBackend, CryptoError, RustCrypto};
use signet_core::jose::jws::{signing_input_encoded, split_three};
use signet_core::jose::{Alg, Header, HeaderRules};
use signet_core::keys::{Jwk, PrivateKey};

/// The payload of A.1–A.5 (with its CR LF line breaks), base64url as printed in the RFC.
const PAYLOAD_B64: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const A2_JWS: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
);

const A2_JWK: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB"}"#;

const A3_JWS: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9.",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
);

const A3_JWK: &str = r#"{"kty":"EC","crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

const A3_PRIVATE_JWK: &str = r#"{"kty":"EC","crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
 "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;

fn verify(jws: &str, jwk: &str) -> Result<(), CryptoError> {
    let (h, p, s) = split_three(jws).unwrap();
    assert_eq!(p, PAYLOAD_B64);
    let header = Header::parse(h, &HeaderRules::STRICT).unwrap();
    let alg = header.alg().unwrap();
    let key = Jwk::from_json(jwk).unwrap().key;
    let payload = decode_url(p).unwrap();
    let sig = decode_url(s).unwrap();
    RustCrypto.verify(
        alg,
        &key,
        &signing_input_encoded(header.raw(), &payload),
        &sig,
    )
}

#[test]
fn a2_rs256_verifies() {
    verify(A2_JWS, A2_JWK).unwrap();
    let key = Jwk::from_json(A2_JWK).unwrap().key;
    assert_eq!(key.rsa_bits(), Some(2048));
    key.check_strength(2048).unwrap();
}

#[test]
fn a2_tampered_fails() {
    let bad = A2_JWS.replace("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Ug");
    let (h, p, s) = split_three(&bad).unwrap();
    let key = Jwk::from_json(A2_JWK).unwrap().key;
    let input = signing_input_encoded(h, &decode_url(p).unwrap());
    assert_eq!(
        RustCrypto.verify(Alg::RS256, &key, &input, &decode_url(s).unwrap()),
        Err(CryptoError::Invalid)
    );
}

#[test]
fn a3_es256_verifies() {
    verify(A3_JWS, A3_JWK).unwrap();
}

#[test]
fn a3_sign_then_verify_with_rfc_key() {
    let sk = PrivateKey::from_jwk(A3_PRIVATE_JWK).unwrap();
    let pk = Jwk::from_json(A3_JWK).unwrap().key;
    assert_eq!(sk.public_key(), pk);
    let input = b"eyJhbGciOiJFUzI1NiJ9.".to_vec();
    let sig = RustCrypto.sign(Alg::ES256, &sk, &input).unwrap();
    assert_eq!(sig.len(), 64);
    // RFC 6979: deterministic.
    assert_eq!(sig, RustCrypto.sign(Alg::ES256, &sk, &input).unwrap());
    RustCrypto.verify(Alg::ES256, &pk, &input, &sig).unwrap();
}

#[test]
fn a3_wrong_alg_or_key_refused_before_crypto() {
    let (h, p, s) = split_three(A3_JWS).unwrap();
    let input = signing_input_encoded(h, &decode_url(p).unwrap());
    let sig = decode_url(s).unwrap();
    let ec = Jwk::from_json(A3_JWK).unwrap().key;
    let rsa = Jwk::from_json(A2_JWK).unwrap().key;
    assert_eq!(
        RustCrypto.verify(Alg::RS256, &ec, &input, &sig),
        Err(CryptoError::KeyMismatch)
    );
    assert_eq!(
        RustCrypto.verify(Alg::ES384, &ec, &input, &sig),
        Err(CryptoError::KeyMismatch)
    );
    assert_eq!(
        RustCrypto.verify(Alg::ES256, &rsa, &input, &sig),
        Err(CryptoError::KeyMismatch)
    );
    // DER-encoded or truncated signatures are the wrong length.
    let der = signet_core::crypto::ecdsa_der::p1363_to_der(Alg::ES256, &sig).unwrap();
    assert_eq!(
        RustCrypto.verify(Alg::ES256, &ec, &input, &der),
        Err(CryptoError::BadLength)
    );
    assert_eq!(
        RustCrypto.verify(Alg::ES256, &ec, &input, &sig[..63]),
        Err(CryptoError::BadLength)
    );
}

#[test]
fn a1_hs256_refused() {
    // A.1: {"typ":"JWT",\r\n "alg":"HS256"}
    let h = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
    let header = Header::parse(h, &HeaderRules::STRICT).unwrap();
    assert_eq!(header.alg_name(), Some("HS256"));
    assert_eq!(header.alg(), None);
    assert_eq!(Alg::from_name("HS256"), None);
    // The A.1 oct key is not a key type Signet accepts either.
    let oct = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
    assert_eq!(
        Jwk::from_json(oct),
        Err(signet_core::keys::KeyError::UnsupportedKeyType)
    );
}

#[test]
fn a5_none_refused() {
    // A.5: {"alg":"none"} with an empty signature.
    let jws = format!("eyJhbGciOiJub25lIn0.{PAYLOAD_B64}.");
    assert!(split_three(&jws).is_err(), "empty signature segment");
    let header = Header::parse("eyJhbGciOiJub25lIn0", &HeaderRules::STRICT).unwrap();
    assert_eq!(header.alg_name(), Some("none"));
    assert_eq!(header.alg(), None);
    assert_eq!(Alg::from_name("none"), None);
}
