//! Certificates and the chain rule of docs/profiles.md#mosip. Fixtures in `tests/data/x509/` were
//! made once by `tests/data/gen.sh` (OpenSSL 3; CA keys discarded); the MOSIP vectors come from
//! `shared/spec/vectors/mosip-{1,2}.json` (copied to `tests/data/vectors/`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cloned_ref_to_slice_refs
)]

use signet_core::crypto::{CryptoBackend, RustCrypto};
use signet_core::jose::jws::{signing_input_encoded, split_three};
use signet_core::jose::{Alg, Header, HeaderRules};
use signet_core::keys::PublicKey;
use signet_core::x509::{validate_chain, CertError, Certificate};

/// 2025-06-01T00:00:00Z: every fixture leaf is in date, except `expired` and `future`.
const NOW: i64 = 1_748_736_000;

fn load(name: &str) -> Certificate {
    let path = format!("{}/tests/data/x509/{name}.pem", env!("CARGO_MANIFEST_DIR"));
    Certificate::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn vector(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/data/vectors/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn ca_to_leaf_valid() {
    let ca = load("ca");
    let leaf = load("leaf");
    assert!(ca.is_ca());
    assert!(!leaf.is_ca());
    assert!(ca.is_self_issued());
    assert_eq!(leaf.not_before(), 1_704_067_200);
    assert_eq!(leaf.not_after(), 2_019_686_400);
    assert!(leaf.in_validity(NOW));
    assert!(leaf.in_validity(leaf.not_before()) && leaf.in_validity(leaf.not_after()));
    assert!(!leaf.in_validity(leaf.not_after() + 1));
    assert_eq!(validate_chain(&leaf, &[ca.clone()], NOW), Ok(()));
    // Extra unrelated certificates in the trust set do not matter.
    assert_eq!(
        validate_chain(&leaf, &[load("other_ca"), load("impostor"), ca], NOW),
        Ok(())
    );
    assert!(leaf.subject().contains("CN=partner-leaf"));
    assert!(leaf.issuer().contains("CN=Signet Test Root CA"));
    assert_eq!(
        leaf.subject_alt_names(),
        vec![
            "DNS:partner.example".to_string(),
            "URI:urn:signet:test".to_string()
        ]
    );
    assert!(matches!(leaf.public_key(), Ok(PublicKey::Rsa(_))));
}

#[test]
fn expired_and_not_yet_valid() {
    let ca = load("ca");
    assert_eq!(
        validate_chain(&load("expired"), &[ca.clone()], NOW),
        Err(CertError::Expired { depth: 0 })
    );
    assert_eq!(
        validate_chain(&load("future"), &[ca.clone()], NOW),
        Err(CertError::NotYetValid { depth: 0 })
    );
    // CA out of date (after 2040) fails at depth 1; the leaf itself has expired by then too.
    assert_eq!(
        validate_chain(&load("leaf"), &[ca.clone()], 2_300_000_000),
        Err(CertError::Expired { depth: 0 })
    );
    // Before the CA's notBefore but inside a leaf window is impossible with these fixtures;
    // check the CA directly.
    assert!(!ca.in_validity(1_500_000_000));
}

#[test]
fn leaf_from_another_ca() {
    assert_eq!(
        validate_chain(&load("other_leaf"), &[load("ca")], NOW),
        Err(CertError::IssuerNotFound { depth: 0 })
    );
    assert_eq!(
        validate_chain(&load("leaf"), &[], NOW),
        Err(CertError::IssuerNotFound { depth: 0 })
    );
}

#[test]
fn same_name_other_key_is_bad_signature() {
    // `forged` names the real CA as issuer but was signed by an impostor with the same name.
    assert_eq!(
        validate_chain(&load("forged"), &[load("ca")], NOW),
        Err(CertError::BadSignature { depth: 0 })
    );
    // With the impostor in the trust set it chains (the trust set decides).
    assert_eq!(
        validate_chain(&load("forged"), &[load("ca"), load("impostor")], NOW),
        Ok(())
    );
}

#[test]
fn intermediates() {
    let ca = load("ca");
    let inter = load("inter");
    // Intermediates come from the trust set only.
    assert_eq!(
        validate_chain(&load("via_inter"), &[ca.clone()], NOW),
        Err(CertError::IssuerNotFound { depth: 0 })
    );
    assert_eq!(
        validate_chain(&load("via_inter"), &[ca.clone(), inter.clone()], NOW),
        Ok(())
    );
    // An intermediate alone (without its root) is not a trust anchor.
    assert_eq!(
        validate_chain(&load("via_inter"), &[inter], NOW),
        Err(CertError::IssuerNotFound { depth: 1 })
    );
}

#[test]
fn intermediate_without_ca_flag() {
    let trust = [load("ca"), load("noca")];
    assert!(!trust[1].is_ca());
    assert_eq!(
        validate_chain(&load("via_noca"), &trust, NOW),
        Err(CertError::IssuerNotCa { depth: 0 })
    );
}

#[test]
fn issuer_without_key_cert_sign() {
    let trust = [load("ca"), load("nokcs")];
    assert!(trust[1].is_ca());
    assert_eq!(
        validate_chain(&load("via_nokcs"), &trust, NOW),
        Err(CertError::IssuerKeyUsage { depth: 0 })
    );
}

#[test]
fn path_len_constraint() {
    let trust = [load("pl0"), load("pl0_inter")];
    assert_eq!(
        validate_chain(&load("via_pl0"), &trust, NOW),
        Err(CertError::PathLenConstraint { depth: 1 })
    );
    // The pathlen:0 root may still issue end-entity certificates directly.
    assert_eq!(
        validate_chain(&load("pl0_inter"), &[load("pl0")], NOW),
        Ok(())
    );
}

#[test]
fn self_signed_registered_certificate() {
    let ss = load("selfsigned");
    assert!(ss.is_self_issued());
    assert!(!ss.is_ca());
    // In the trust set itself: accepted (its own CA, V-MOSIP-1), compared by DER.
    assert_eq!(validate_chain(&ss, &[load("ca"), ss.clone()], NOW), Ok(()));
    // Not in the set: no issuer.
    assert_eq!(
        validate_chain(&ss, &[load("ca")], NOW),
        Err(CertError::IssuerNotFound { depth: 0 })
    );
    // Still only while in date.
    assert_eq!(
        validate_chain(&ss, &[ss.clone()], 2_100_000_000),
        Err(CertError::Expired { depth: 0 })
    );
}

#[test]
fn ecdsa_chain() {
    let ca = load("ec_ca");
    let leaf = load("ec_leaf");
    assert!(matches!(ca.public_key(), Ok(PublicKey::P384(_))));
    assert!(matches!(leaf.public_key(), Ok(PublicKey::P256(_))));
    assert_eq!(validate_chain(&leaf, &[ca], NOW), Ok(()));
    assert_eq!(
        validate_chain(&leaf, &[load("ca")], NOW),
        Err(CertError::IssuerNotFound { depth: 0 })
    );
}

#[test]
fn ed25519_chain() {
    let leaf = load("ed_leaf");
    assert!(matches!(leaf.public_key(), Ok(PublicKey::Ed25519(_))));
    assert_eq!(validate_chain(&leaf, &[load("ed_ca")], NOW), Ok(()));
}

#[test]
fn rsa_pss_signed_certificate() {
    assert_eq!(validate_chain(&load("pss"), &[load("ca")], NOW), Ok(()));
}

#[test]
fn thumbprints_and_forms() {
    let leaf = load("leaf");
    let hex = leaf.sha256_hex_upper();
    assert_eq!(hex.len(), 64);
    assert_eq!(hex, hex.to_uppercase());
    let raw = hex::decode(&hex).unwrap();
    assert_eq!(leaf.x5t_s256(), signet_core::b64::encode_url(&raw));
    // x5c element: strict B64(DER).
    let b64 = signet_core::b64::encode_std(leaf.der());
    assert_eq!(Certificate::from_x5c(&b64, false).unwrap(), leaf);
    assert!(Certificate::from_x5c(&format!("{b64}\n"), false).is_err());
    let url = signet_core::b64::encode_url(leaf.der());
    if url != b64.trim_end_matches('=') {
        assert!(Certificate::from_x5c(&url, false).is_err());
    }
    // x5c_pem_compat: B64 of the PEM text, wrapped with CR/LF.
    let pem = std::fs::read_to_string(format!(
        "{}/tests/data/x509/leaf.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let wrapped: String = signet_core::b64::encode_std(pem.as_bytes())
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n");
    assert!(Certificate::from_x5c(&wrapped, false).is_err());
    assert_eq!(Certificate::from_x5c(&wrapped, true).unwrap(), leaf);
    assert_eq!(Certificate::from_x5c(&b64, true).unwrap(), leaf);
    // Bundle and single-PEM rules.
    let bundle = format!(
        "{}\n{}",
        pem,
        std::fs::read_to_string(format!(
            "{}/tests/data/x509/ca.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    );
    assert_eq!(Certificate::from_pem_bundle(&bundle).unwrap().len(), 2);
    assert!(Certificate::from_pem(&bundle).is_err());
    assert!(Certificate::from_der(leaf.der()[..100].to_vec()).is_err());
    let mut trailing = leaf.der().to_vec();
    trailing.push(0);
    assert!(Certificate::from_der(trailing).is_err());
    // PublicKey::from_pem takes a CERTIFICATE too.
    assert_eq!(
        PublicKey::from_pem(&pem).unwrap(),
        leaf.public_key().unwrap()
    );
}

fn rfc3339_to_unix(v: &serde_json::Value) -> i64 {
    match v["at"].as_str().unwrap() {
        "2026-11-23T10:00:20Z" => 1_795_428_020,
        "2026-12-01T00:00:00Z" => 1_796_083_200,
        other => panic!("add the instant {other}"),
    }
}

/// V-MOSIP-2: real CA + CA-issued leaf in `x5c`, checked at the vector's `at`; the RS256
/// signature over the E-input verifies with the `x5c[0]` key; the pin matches the registry.
#[test]
fn mosip_2_chain_and_signature() {
    let v = vector("mosip-2");
    let now = rfc3339_to_unix(&v);
    let cas =
        Certificate::from_pem_bundle(v["keys"]["domain_ca"]["AUTH"][0].as_str().unwrap()).unwrap();
    let sig_header = v["request"]["headers"]["signature"].as_str().unwrap();
    let (h, _, s) = split_three(sig_header).unwrap();
    let header = Header::parse(h, &HeaderRules::STRICT).unwrap();
    let x5c = header.x5c().unwrap();
    let leaf = Certificate::from_x5c(&x5c[0], false).unwrap();
    assert_eq!(validate_chain(&leaf, &cas, now), Ok(()));
    if let Some(t) = header.x5t_s256() {
        assert_eq!(t, leaf.x5t_s256());
    }
    let pinned = v["keys"]["partners"][0]["certificate_sha256"]
        .as_str()
        .unwrap();
    assert_eq!(leaf.sha256_hex_upper(), pinned.to_uppercase());
    let body = signet_core::b64::decode_std(v["request"]["body_b64"].as_str().unwrap()).unwrap();
    let key = leaf.public_key().unwrap();
    key.check_strength(2048).unwrap();
    RustCrypto
        .verify(
            header.alg().unwrap(),
            &key,
            &signing_input_encoded(header.raw(), &body),
            &signet_core::b64::decode_url(s).unwrap(),
        )
        .unwrap();
    // Outside the leaf's validity (a year before it starts) the chain is refused.
    assert_eq!(
        validate_chain(&leaf, &cas, now - 365 * 86_400),
        Err(CertError::NotYetValid { depth: 0 })
    );
    // Another CA set: refused.
    assert_eq!(
        validate_chain(&leaf, &[load("ca")], now),
        Err(CertError::IssuerNotFound { depth: 0 })
    );
    assert_eq!(header.alg(), Some(Alg::RS256));
}

/// V-MOSIP-1: the registered self-signed certificate is its own CA.
#[test]
fn mosip_1_self_signed() {
    let v = vector("mosip-1");
    let now = rfc3339_to_unix(&v);
    let cas =
        Certificate::from_pem_bundle(v["keys"]["domain_ca"]["AUTH"][0].as_str().unwrap()).unwrap();
    let (h, _, _) = split_three(v["request"]["headers"]["signature"].as_str().unwrap()).unwrap();
    let header = Header::parse(h, &HeaderRules::STRICT).unwrap();
    let leaf = Certificate::from_x5c(&header.x5c().unwrap()[0], false).unwrap();
    assert_eq!(validate_chain(&leaf, &cas, now), Ok(()));
}
