//! Key forms of docs/profiles.md#keys and the strength rule of docs/profiles.md#algorithms. PEM
//! fixtures are TEST-ONLY keys from `tests/data/gen.sh`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use signet_core::b64::encode_url;
use signet_core::crypto::{CryptoBackend, CryptoError, RustCrypto};
use signet_core::jose::Alg;
use signet_core::keys::{strip_ascii_whitespace, Jwk, Jwks, KeyError, PrivateKey, PublicKey};

fn pem(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/keys/{name}.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Public JWK members of a key, built through its SPKI (independent of the JWK parser).
fn jwk_of(key: &PublicKey) -> serde_json::Value {
    use rsa::traits::PublicKeyParts;
    match key {
        PublicKey::Rsa(k) => serde_json::json!({
            "kty": "RSA", "n": encode_url(&k.n().to_bytes_be()), "e": encode_url(&k.e().to_bytes_be())
        }),
        PublicKey::P256(k) => {
            let p = k.to_encoded_point(false);
            serde_json::json!({"kty":"EC","crv":"P-256","x":encode_url(p.x().unwrap()),"y":encode_url(p.y().unwrap())})
        }
        PublicKey::P384(k) => {
            let p = k.to_encoded_point(false);
            serde_json::json!({"kty":"EC","crv":"P-384","x":encode_url(p.x().unwrap()),"y":encode_url(p.y().unwrap())})
        }
        PublicKey::Ed25519(k) => {
            serde_json::json!({"kty":"OKP","crv":"Ed25519","x":encode_url(k.as_bytes())})
        }
    }
}

#[test]
fn every_pem_form_parses_and_pairs() {
    let pairs = [
        ("test-rsa2048-pkcs8", "test-rsa2048-spki", Alg::RS256),
        (
            "test-rsa2048-pkcs1",
            "test-rsa2048-pkcs1-public",
            Alg::PS256,
        ),
        ("test-p256-pkcs8", "test-p256-spki", Alg::ES256),
        ("test-p256-sec1", "test-p256-spki", Alg::ES256),
        ("test-p384-pkcs8", "test-p384-spki", Alg::ES384),
        ("test-p384-sec1", "test-p384-spki", Alg::ES384),
        ("test-ed25519-pkcs8", "test-ed25519-spki", Alg::EdDSA),
    ];
    for (private, public, alg) in pairs {
        let sk = PrivateKey::from_pem(&pem(private)).unwrap_or_else(|e| panic!("{private}: {e}"));
        let pk = PublicKey::from_pem(&pem(public)).unwrap_or_else(|e| panic!("{public}: {e}"));
        assert_eq!(sk.public_key(), pk, "{private} ↔ {public}");
        assert!(alg.fits(&pk));
        pk.check_strength(2048).unwrap();
        // Round trips through the DER forms the native backend uses.
        assert_eq!(PublicKey::from_spki_der(&pk.to_spki_der()).unwrap(), pk);
        let back = PrivateKey::from_pkcs8_der(&sk.to_pkcs8_der()).unwrap();
        assert_eq!(back.public_key(), pk);
        // Sign / verify.
        let sig = RustCrypto.sign(alg, &sk, b"input").unwrap();
        assert_eq!(sig.len(), alg.signature_len(&pk));
        RustCrypto.verify(alg, &pk, b"input", &sig).unwrap();
        assert_eq!(
            RustCrypto.verify(alg, &pk, b"inpuT", &sig),
            Err(CryptoError::Invalid)
        );
        // And the same key as a JWK.
        let jwk = Jwk::from_value(&jwk_of(&pk)).unwrap();
        assert_eq!(jwk.key, pk);
        assert_eq!(jwk.algorithms(), Alg::defaults_for(&pk).to_vec());
        // Debug output of a private key names only its type.
        let dbg = format!("{sk:?}");
        assert!(dbg.starts_with("PrivateKey(") && dbg.len() < 24, "{dbg}");
    }
    // CRLF line endings and surrounding whitespace are fine.
    let crlf = format!("\n  {}  \n", pem("test-p256-spki").replace('\n', "\r\n"));
    assert!(PublicKey::from_pem(&crlf).is_ok());
}

#[test]
fn rsa_signing_is_deterministic() {
    let sk = PrivateKey::from_pem(&pem("test-rsa2048-pkcs1")).unwrap();
    let a = RustCrypto.sign(Alg::RS256, &sk, b"m").unwrap();
    let b = RustCrypto.sign(Alg::RS256, &sk, b"m").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 256);
    // PSS is randomized.
    let p1 = RustCrypto.sign(Alg::PS256, &sk, b"m").unwrap();
    let p2 = RustCrypto.sign(Alg::PS256, &sk, b"m").unwrap();
    assert_ne!(p1, p2);
    // Wrong algorithm for the key.
    assert_eq!(
        RustCrypto.sign(Alg::ES256, &sk, b"m"),
        Err(CryptoError::KeyMismatch)
    );
}

#[test]
fn wrong_labels_and_unsupported_keys() {
    assert!(matches!(
        PublicKey::from_pem(&pem("test-rsa2048-pkcs8")),
        Err(KeyError::PemLabel(_))
    ));
    assert!(matches!(
        PrivateKey::from_pem(&pem("test-rsa2048-spki")),
        Err(KeyError::PemLabel(_))
    ));
    assert_eq!(
        PublicKey::from_pem(&pem("test-p521-spki")),
        Err(KeyError::UnsupportedCurve)
    );
    assert_eq!(
        PublicKey::from_pem(&pem("test-secp256k1-spki")),
        Err(KeyError::UnsupportedCurve)
    );
    assert!(matches!(
        PublicKey::from_pem(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"
        ),
        Err(KeyError::PemLabel(_))
    ));
    assert!(matches!(
        PublicKey::from_pem("not a pem"),
        Err(KeyError::Pem(_))
    ));
    let two = format!("{}{}", pem("test-p256-spki"), pem("test-p384-spki"));
    assert!(matches!(PublicKey::from_pem(&two), Err(KeyError::Pem(_))));
    assert!(matches!(
        PublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
        Err(KeyError::Der(_))
    ));
}

#[test]
fn rsa_1024_refused_by_strength() {
    let pk = PublicKey::from_pem(&pem("test-rsa1024-spki")).unwrap();
    assert_eq!(pk.rsa_bits(), Some(1024));
    assert_eq!(
        pk.check_strength(2048),
        Err(KeyError::RsaTooSmall {
            bits: 1024,
            min: 2048
        })
    );
    pk.check_strength(1024).unwrap();
    // Even exponent.
    let n = {
        let PublicKey::Rsa(k) = &pk else { panic!() };
        use rsa::traits::PublicKeyParts;
        k.n().clone()
    };
    // (the rsa crate refuses it too; build it unchecked to test our own rule)
    let even = PublicKey::Rsa(rsa::RsaPublicKey::new_unchecked(
        n,
        rsa::BigUint::from(65_538u32),
    ));
    assert_eq!(even.check_strength(1024), Err(KeyError::RsaExponent));
}

#[test]
fn jwk_rules() {
    let base = jwk_of(&PublicKey::from_pem(&pem("test-p256-spki")).unwrap());
    let with = |k: &str, v: serde_json::Value| {
        let mut o = base.clone();
        o[k] = v;
        o
    };
    // d → private material refused in a public entry.
    assert_eq!(
        Jwk::from_value(&with("d", "AAAA".into())),
        Err(KeyError::PrivateMaterial)
    );
    for m in ["p", "q", "dp", "dq", "qi", "oth"] {
        assert_eq!(
            Jwk::from_value(&with(m, "AAAA".into())),
            Err(KeyError::PrivateMaterial)
        );
    }
    // use
    assert_eq!(
        Jwk::from_value(&with("use", "enc".into())),
        Err(KeyError::NotForSignatures)
    );
    assert!(Jwk::from_value(&with("use", "sig".into())).is_ok());
    assert_eq!(
        Jwk::from_value(&with("use", 1.into())),
        Err(KeyError::Jwk("use"))
    );
    // alg restricts, must fit.
    let j = Jwk::from_value(&with("alg", "ES256".into())).unwrap();
    assert_eq!(j.alg, Some(Alg::ES256));
    assert_eq!(j.algorithms(), vec![Alg::ES256]);
    assert_eq!(
        Jwk::from_value(&with("alg", "RS256".into())),
        Err(KeyError::AlgMismatch)
    );
    assert_eq!(
        Jwk::from_value(&with("alg", "ES384".into())),
        Err(KeyError::AlgMismatch)
    );
    assert!(matches!(
        Jwk::from_value(&with("alg", "HS256".into())),
        Err(KeyError::UnsupportedAlg(_))
    ));
    assert!(matches!(
        Jwk::from_value(&with("alg", "none".into())),
        Err(KeyError::UnsupportedAlg(_))
    ));
    // kid
    assert_eq!(
        Jwk::from_value(&with("kid", "k1".into()))
            .unwrap()
            .kid
            .as_deref(),
        Some("k1")
    );
    assert_eq!(
        Jwk::from_value(&with("kid", 5.into())),
        Err(KeyError::Jwk("kid"))
    );
    // Coordinates: exact length, strict base64url, on the curve.
    let x = base["x"].as_str().unwrap().to_string();
    assert_eq!(
        Jwk::from_value(&with("x", format!("{x}=").into())),
        Err(KeyError::Jwk("x"))
    );
    assert_eq!(
        Jwk::from_value(&with("x", encode_url(&[1u8; 31]).into())),
        Err(KeyError::Jwk("x"))
    );
    assert!(matches!(
        Jwk::from_value(&with("x", encode_url(&[1u8; 32]).into())),
        Err(KeyError::Invalid(_))
    ));
    assert_eq!(
        Jwk::from_value(&with("crv", "P-521".into())),
        Err(KeyError::UnsupportedCurve)
    );
    assert_eq!(
        Jwk::from_value(&with("kty", "oct".into())),
        Err(KeyError::UnsupportedKeyType)
    );
    assert_eq!(
        Jwk::from_value(&serde_json::json!({"crv":"P-256"})),
        Err(KeyError::Jwk("kty"))
    );
    assert!(Jwk::from_json("[1]").is_err());
    let dup = r#"{"kty":"EC","crv":"P-256","crv":"P-384","x":"AA","y":"AA"}"#;
    assert!(matches!(Jwk::from_json(dup), Err(KeyError::Json(_))));
    assert!(Jwk::from_json("{").is_err());
    // Ed25519 small-order key refused.
    let weak = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":encode_url(&[0u8; 32])});
    assert!(Jwk::from_value(&weak).is_err());
    // RSA JWK with RSA-1024: parses; strength is the caller's configured minimum.
    let r1024 = jwk_of(&PublicKey::from_pem(&pem("test-rsa1024-spki")).unwrap());
    let k = Jwk::from_value(&r1024).unwrap();
    assert!(matches!(
        k.key.check_strength(2048),
        Err(KeyError::RsaTooSmall { .. })
    ));
}

#[test]
fn private_jwk() {
    let sk = PrivateKey::from_pem(&pem("test-p256-pkcs8")).unwrap();
    let PrivateKey::P256(k) = &sk else { panic!() };
    let p = k.verifying_key().to_encoded_point(false);
    let d = encode_url(&k.to_bytes());
    let jwk = serde_json::json!({"kty":"EC","crv":"P-256","x":encode_url(p.x().unwrap()),
        "y":encode_url(p.y().unwrap()),"d":d,"use":"sig","alg":"ES256"});
    let back = PrivateKey::from_jwk_value(&jwk).unwrap();
    assert_eq!(back.public_key(), sk.public_key());
    // d of another key → pair mismatch.
    let mut other = jwk.clone();
    other["d"] = encode_url(&[5u8; 32]).into();
    assert_eq!(
        PrivateKey::from_jwk_value(&other).err(),
        Some(KeyError::PairMismatch)
    );
    // alg not fitting the key fails configuration.
    let mut wrong = jwk.clone();
    wrong["alg"] = "RS256".into();
    assert_eq!(
        PrivateKey::from_jwk_value(&wrong).err(),
        Some(KeyError::AlgMismatch)
    );
    let mut enc = jwk.clone();
    enc["use"] = "enc".into();
    assert_eq!(
        PrivateKey::from_jwk_value(&enc).err(),
        Some(KeyError::NotForSignatures)
    );

    // Ed25519 private JWK.
    let ed = PrivateKey::from_pem(&pem("test-ed25519-pkcs8")).unwrap();
    let PrivateKey::Ed25519(e) = &ed else {
        panic!()
    };
    let ejwk = serde_json::json!({"kty":"OKP","crv":"Ed25519",
        "x":encode_url(e.verifying_key().as_bytes()),"d":encode_url(&e.to_bytes())});
    assert_eq!(
        PrivateKey::from_jwk_value(&ejwk).unwrap().public_key(),
        ed.public_key()
    );

    // RSA without p/q: primes recovered from n, e, d.
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let rsk = PrivateKey::from_pem(&pem("test-rsa2048-pkcs8")).unwrap();
    let PrivateKey::Rsa(r) = &rsk else { panic!() };
    let rjwk = serde_json::json!({"kty":"RSA","n":encode_url(&r.n().to_bytes_be()),
        "e":encode_url(&r.e().to_bytes_be()),"d":encode_url(&r.d().to_bytes_be())});
    assert_eq!(
        PrivateKey::from_jwk_value(&rjwk).unwrap().public_key(),
        rsk.public_key()
    );
    let mut only_p = rjwk.clone();
    only_p["p"] = encode_url(&r.primes()[0].to_bytes_be()).into();
    assert_eq!(
        PrivateKey::from_jwk_value(&only_p).err(),
        Some(KeyError::Jwk("q"))
    );
}

#[test]
fn alg_key_mismatch_detected() {
    let rsa = PublicKey::from_pem(&pem("test-rsa2048-spki")).unwrap();
    let p256 = PublicKey::from_pem(&pem("test-p256-spki")).unwrap();
    let p384 = PublicKey::from_pem(&pem("test-p384-spki")).unwrap();
    let ed = PublicKey::from_pem(&pem("test-ed25519-spki")).unwrap();
    for alg in Alg::ALL {
        let fits: Vec<bool> = [&rsa, &p256, &p384, &ed]
            .iter()
            .map(|k| alg.fits(k))
            .collect();
        assert_eq!(fits.iter().filter(|f| **f).count(), 1, "{alg}");
        for k in [&rsa, &p256, &p384, &ed] {
            if !alg.fits(k) {
                let sig = vec![0u8; alg.signature_len(k).max(1)];
                assert_eq!(
                    RustCrypto.verify(alg, k, b"x", &sig),
                    Err(CryptoError::KeyMismatch)
                );
            }
        }
    }
    assert_eq!(Alg::RS256.signature_len(&rsa), 256);
    assert_eq!(Alg::ES256.signature_len(&p256), 64);
    assert_eq!(Alg::ES384.signature_len(&p384), 96);
    assert_eq!(Alg::EdDSA.signature_len(&ed), 64);
    assert_eq!(Alg::defaults_for(&rsa), &[Alg::RS256, Alg::PS256]);
    assert_eq!(Alg::defaults_for(&p384), &[Alg::ES384]);
    // Wrong RSA signature length → BadLength before crypto.
    assert_eq!(
        RustCrypto.verify(Alg::RS256, &rsa, b"x", &[0u8; 255]),
        Err(CryptoError::BadLength)
    );
}

#[test]
fn jwks_and_ocen_whitespace() {
    let p256 = jwk_of(&PublicKey::from_pem(&pem("test-p256-spki")).unwrap());
    let rsa = jwk_of(&PublicKey::from_pem(&pem("test-rsa2048-spki")).unwrap());
    let mut enc = rsa.clone();
    enc["use"] = "enc".into();
    enc["kid"] = "enc-1".into();
    let set = serde_json::json!({"keys":[p256, enc, {"kty":"oct","k":"AAAA"},
        {"kty":"EC","crv":"P-521","x":"AA","y":"AA"}, rsa]});
    let keys = Jwks::from_json(&set.to_string()).unwrap();
    assert_eq!(keys.len(), 2);
    let mut bad = set.clone();
    bad["keys"][0]["d"] = "AAAA".into();
    assert_eq!(Jwks::from_value(&bad), Err(KeyError::PrivateMaterial));
    assert!(Jwks::from_json(r#"{"nokeys":[]}"#).is_err());
    // OCEN registry values arrive wrapped and indented.
    let pretty = serde_json::to_string_pretty(&p256).unwrap();
    let wrapped = pretty.replace("\"x\": \"", "\"x\":\n   \"");
    let stripped = strip_ascii_whitespace(&wrapped);
    assert!(!stripped.contains(char::is_whitespace));
    assert!(Jwk::from_json(&stripped).is_ok());
}
