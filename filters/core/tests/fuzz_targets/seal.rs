//! The fuzz target of MOSIP's e-KYC `open` (`signet_core::seal`): an answer sealed by
//! `mosip-auth-sdk` (tests/data/seal/sdk-vectors.json), byte-edited, with its sealed fields
//! replaced by other base64url, or raw bytes.
//!
//! Property: never a panic; an answer opens only to the identity the SDK sealed (any edit of the
//! ciphertext, tag, nonce, wrapped key or thumbprint is refused); the output is JSON and never
//! longer than the input (memory bounded by the body).

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use signet_core::b64;
use signet_core::seal::{Opened, Opener, SealSettings};

use super::{apply, edits, Edit, Outcome};

/// 2027-01-01, inside the fixtures' validity.
const NOW: i64 = 1_798_761_600;

struct Fixture {
    opener: Opener,
    answer: String,
    identity: Value,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let settings = serde_json::json!({
            "partner_encryption_certificate": include_str!("../data/seal/partner.crt"),
            "partner_encryption_key_env": "K",
        });
        let env = |_: &str| Some(include_str!("../data/seal/partner.key").to_string());
        let opener = SealSettings::from_json(&settings.to_string(), &env, NOW)
            .unwrap()
            .opener
            .unwrap();
        let v: Value = serde_json::from_str(include_str!("../data/seal/sdk-vectors.json")).unwrap();
        Fixture {
            opener,
            answer: v["kyc"]["answer"].as_str().unwrap().to_string(),
            identity: serde_json::from_str(v["kyc"]["identity"].as_str().unwrap()).unwrap(),
        }
    })
}

#[derive(Debug, Clone)]
pub enum OpenInput {
    /// The SDK's answer, byte-edited.
    Mutated(Vec<Edit>),
    /// One of `identity`, `sessionKey`, `thumbprint` replaced by base64url of these bytes.
    Field(usize, Vec<u8>),
    Raw(Vec<u8>),
}

pub fn open_input() -> impl Strategy<Value = OpenInput> {
    prop_oneof![
        4 => edits(6).prop_map(OpenInput::Mutated),
        2 => (0usize..3, proptest::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(f, b)| OpenInput::Field(f, b)),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(OpenInput::Raw),
    ]
}

pub fn check_open(input: OpenInput) -> Outcome {
    let f = fixture();
    let body = match &input {
        OpenInput::Mutated(e) => {
            let mut b = f.answer.clone().into_bytes();
            apply(&mut b, e);
            b
        }
        OpenInput::Field(i, bytes) => {
            let mut v: Value = serde_json::from_str(&f.answer).unwrap();
            let name = ["identity", "sessionKey", "thumbprint"][*i];
            v["response"][name] = b64::encode_url(bytes).into();
            serde_json::to_vec(&v).unwrap()
        }
        OpenInput::Raw(b) => b.clone(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    if let Ok(Opened::Clear(out)) = f.opener.open(&body, &mut rng) {
        prop_assert!(out.len() <= body.len());
        let v: Value =
            serde_json::from_slice(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&v["response"]["identity"], &f.identity);
    }
    Ok(())
}
