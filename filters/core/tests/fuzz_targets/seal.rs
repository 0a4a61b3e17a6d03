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

// --- the digital-id checks before sealing (`signet_core::seal::device`) --------------------------
//
// Property: never a panic; a request is sealed only if each of its biometric records' `data` is
// one a device signed (any edit of a data JWS, or of a digital id re-signed by the device, is
// refused; edits elsewhere may pass or not).

/// 2027-01-01 minus 10 s and 5 s: the two captures of the fixture request.
const CAPTURES: [&str; 2] = ["2026-12-31T23:59:50.000Z", "2026-12-31T23:59:55.000Z"];

macro_rules! device_fixture {
    ($name:literal) => {
        include_str!(concat!("../data/seal/device/", $name))
    };
}

struct DeviceFixture {
    sealer: signet_core::seal::Sealer,
    /// The request, and each record's digital id and data JWS.
    body: Value,
    ids: Vec<String>,
    data: Vec<String>,
}

fn sign(payload: &Value, key: &str, cert: &str) -> String {
    use signet_core::crypto::{CryptoBackend, RustCrypto};
    use signet_core::jose::Alg;
    use signet_core::keys::PrivateKey;
    let key = PrivateKey::from_pem(key).unwrap();
    let alg = match key {
        PrivateKey::Rsa(_) => Alg::RS256,
        _ => Alg::ES256,
    };
    let der = signet_core::x509::Certificate::from_pem(cert)
        .unwrap()
        .der()
        .to_vec();
    let h = serde_json::json!({"x5c": [b64::encode_std(&der)], "alg": alg.name()});
    let input = format!(
        "{}.{}",
        b64::encode_url(h.to_string().as_bytes()),
        b64::encode_url(payload.to_string().as_bytes())
    );
    let sig = RustCrypto.sign(alg, &key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode_url(&sig))
}

fn data_of(digital_id: &str, t: &str) -> Value {
    serde_json::json!({"digitalId": digital_id, "deviceCode": "dc", "deviceServiceVersion": "0.9.5",
        "bioType": "Finger", "bioValue": "ZW5j", "transactionId": "T1", "timestamp": t})
}

fn sign_data(digital_id: &str, t: &str) -> String {
    sign(
        &data_of(digital_id, t),
        device_fixture!("device.key"),
        device_fixture!("device.crt"),
    )
}

fn device_fixture() -> &'static DeviceFixture {
    static F: OnceLock<DeviceFixture> = OnceLock::new();
    F.get_or_init(|| {
        let settings = serde_json::json!({
            "ida_encryption_certificate": include_str!("../data/seal/ida.crt"),
            "device_trust": {
                "device_ca_certificates": format!("{}{}", device_fixture!("dp-root.crt"), device_fixture!("dp-ca.crt")),
                "ftm_ca_certificates": device_fixture!("ftm-root.crt"),
                "models": [{"device_provider_id": "P1", "make": "M", "model": "X"}]},
        });
        let sealer = SealSettings::from_json(&settings.to_string(), &|_| None, NOW)
            .unwrap()
            .sealer
            .unwrap();
        let ids: Vec<String> = CAPTURES
            .iter()
            .map(|t| {
                let id = serde_json::json!({"serialNo": "S", "make": "M", "model": "X", "type": "Finger",
                    "deviceSubType": "Slap", "deviceProvider": "P", "deviceProviderId": "P1", "dateTime": t});
                sign(
                    &id,
                    device_fixture!("ftm-chip.key"),
                    device_fixture!("ftm-chip.crt"),
                )
            })
            .collect();
        let data: Vec<String> = ids
            .iter()
            .zip(CAPTURES)
            .map(|(id, t)| sign_data(id, t))
            .collect();
        let records: Vec<Value> = data
            .iter()
            .map(|d| serde_json::json!({"data": d, "hash": "H", "sessionKey": "K"}))
            .collect();
        let body = serde_json::json!({"id": "mosip.identity.auth", "transactionID": "T1",
            "request": {"biometrics": records, "timestamp": CAPTURES[1]}});
        let f = DeviceFixture {
            sealer,
            body,
            ids,
            data,
        };
        // The unedited request passes: the property below is not vacuous.
        assert!(f
            .sealer
            .seal(
                f.body.to_string().as_bytes(),
                NOW,
                &mut ChaCha20Rng::seed_from_u64(1),
                &signet_core::crypto::RustCrypto
            )
            .is_ok());
        f
    })
}

#[derive(Debug, Clone)]
pub enum DeviceInput {
    /// The request, byte-edited.
    Mutated(Vec<Edit>),
    /// One record's data JWS, byte-edited.
    Data(usize, Vec<Edit>),
    /// One record's digital id, byte-edited, and the data re-signed by the device around it.
    DigitalId(usize, Vec<Edit>),
    Raw(Vec<u8>),
}

pub fn device_input() -> impl Strategy<Value = DeviceInput> {
    prop_oneof![
        2 => edits(6).prop_map(DeviceInput::Mutated),
        3 => (0usize..2, edits(4)).prop_map(|(i, e)| DeviceInput::Data(i, e)),
        2 => (0usize..2, edits(4)).prop_map(|(i, e)| DeviceInput::DigitalId(i, e)),
        1 => proptest::collection::vec(any::<u8>(), 0..300).prop_map(DeviceInput::Raw),
    ]
}

fn edited(s: &str, e: &[Edit]) -> String {
    let mut b = s.as_bytes().to_vec();
    apply(&mut b, e);
    String::from_utf8_lossy(&b).into_owned()
}

pub fn check_device(input: DeviceInput) -> Outcome {
    let f = device_fixture();
    let mut body = f.body.clone();
    let mut resigned_id = None;
    let bytes = match &input {
        DeviceInput::Mutated(e) => {
            let mut b = body.to_string().into_bytes();
            apply(&mut b, e);
            b
        }
        DeviceInput::Data(i, e) => {
            body["request"]["biometrics"][*i]["data"] = edited(&f.data[*i], e).into();
            body.to_string().into_bytes()
        }
        DeviceInput::DigitalId(i, e) => {
            let id = edited(&f.ids[*i], e);
            body["request"]["biometrics"][*i]["data"] = sign_data(&id, CAPTURES[*i]).into();
            resigned_id = Some((*i, id));
            body.to_string().into_bytes()
        }
        DeviceInput::Raw(b) => b.clone(),
    };
    let sealed = f.sealer.seal(
        &bytes,
        NOW,
        &mut ChaCha20Rng::seed_from_u64(1),
        &signet_core::crypto::RustCrypto,
    );
    if sealed.is_err() {
        return Ok(());
    }
    if let Some((i, id)) = resigned_id {
        prop_assert_eq!(&id, &f.ids[i], "an edited digital id was sealed");
    }
    let v: Value =
        serde_json::from_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    if let Some(records) = v["request"]["biometrics"].as_array() {
        for r in records {
            let data = r["data"].as_str().unwrap_or_default();
            prop_assert!(
                f.data.iter().any(|d| d == data),
                "a record no device signed was sealed: {data}"
            );
        }
    }
    Ok(())
}
