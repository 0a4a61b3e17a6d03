#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

//! Records built here from the generated chains of `tests/data/seal/device/` (gen.py): a
//! device certificate under a device provider's root and CA, a P-256 chip certificate under an
//! FTM root, and the negatives each check must refuse.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

use super::*;
use crate::b64;
use crate::crypto::RustCrypto;
use crate::jose::Alg;
use crate::keys::PrivateKey;
use crate::seal::{SealError, SealSettings, Sealer};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/data/seal/device/", $name))
    };
}
const DP_ROOT: &str = fixture!("dp-root.crt");
const DP_CA: &str = fixture!("dp-ca.crt");
const FTM_ROOT: &str = fixture!("ftm-root.crt");
const DEVICE_CRT: &str = fixture!("device.crt");
const DEVICE_KEY: &str = fixture!("device.key");
const DEVICE_EXPIRED: &str = fixture!("device-expired.crt");
const CHIP_CRT: &str = fixture!("ftm-chip.crt");
const CHIP_KEY: &str = fixture!("ftm-chip.key");
const STRANGER_CRT: &str = fixture!("stranger-device.crt");
const STRANGER_KEY: &str = fixture!("stranger-device.key");
const STRANGER_ROOT: &str = fixture!("stranger-root.crt");
const IDA_CRT: &str = include_str!("../../../tests/data/seal/ida.crt");
const RSA1024_CRT: &str = include_str!("../../../tests/data/seal/rsa1024.crt");

/// 2027-01-01T00:00:00Z: the fixtures' leaves are valid 2026-06-01 … 2036-06-01.
const NOW: i64 = 1_798_761_600;
const TXN: &str = "1234567890";

fn trust() -> Value {
    json!({"device_ca_certificates": format!("{DP_ROOT}{DP_CA}"),
           "ftm_ca_certificates": FTM_ROOT,
           "models": [{"device_provider_id": "MOSIP.PROXY.SBI", "make": "MOSIP", "model": "SLAP01"}]})
}

fn settings(trust: Value) -> Result<SealSettings, String> {
    let cfg = json!({"ida_encryption_certificate": IDA_CRT, "device_trust": trust});
    SealSettings::from_json(&cfg.to_string(), &|_| None, NOW).map_err(|e| e.to_string())
}

fn sealer() -> Sealer {
    settings(trust()).unwrap().sealer.unwrap()
}

/// A compact JWS as the SBI writes one (jose4j: `x5c` of one certificate, `typ` JWT).
fn jws(payload: &Value, alg: Alg, key_pem: &str, cert_pem: &str) -> String {
    let der = Certificate::from_pem(cert_pem).unwrap().der().to_vec();
    let header = json!({"x5c": [b64::encode_std(&der)], "alg": alg.name(), "typ": "JWT"});
    let input = format!(
        "{}.{}",
        b64::encode_url(header.to_string().as_bytes()),
        b64::encode_url(payload.to_string().as_bytes())
    );
    let key = PrivateKey::from_pem(key_pem).unwrap();
    let sig = RustCrypto.sign(alg, &key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode_url(&sig))
}

fn digital_id(date_time: &str) -> Value {
    json!({"serialNo": "SN-0001", "make": "MOSIP", "model": "SLAP01", "type": "Finger",
           "deviceSubType": "Slap", "deviceProvider": "MOSIP", "deviceProviderId": "MOSIP.PROXY.SBI",
           "dateTime": date_time})
}

fn data(digital_id: String, timestamp: &str) -> Value {
    json!({"digitalId": digital_id, "deviceCode": "dc-1", "deviceServiceVersion": "0.9.5",
           "bioType": "Finger", "bioSubType": "Left IndexFinger", "purpose": "Auth", "env": "Staging",
           "domainUri": "https://ida.example", "bioValue": "ZW5jcnlwdGVk", "transactionId": TXN,
           "timestamp": timestamp, "requestedScore": "40", "qualityScore": "80"})
}

/// A record whose data and digital id are signed by the right keys, captured at `t`.
fn record(t: &str) -> Value {
    let id = jws(&digital_id(t), Alg::ES256, CHIP_KEY, CHIP_CRT);
    record_of(&data(id, t))
}

fn record_of(data: &Value) -> Value {
    json!({"specVersion": "0.9.5", "data": jws(data, Alg::RS256, DEVICE_KEY, DEVICE_CRT),
           "hash": "AB12", "sessionKey": "c2Vzc2lvbg", "thumbprint": "CD34"})
}

fn envelope(records: Vec<Value>) -> Vec<u8> {
    json!({"id": "mosip.identity.auth", "version": "1.0", "transactionID": TXN,
           "requestTime": "2026-12-31T23:59:58.000Z",
           "request": {"biometrics": records, "timestamp": "2026-12-31T23:59:58.000Z"}})
    .to_string()
    .into_bytes()
}

const T0: &str = "2026-12-31T23:59:40.000Z";
const T1: &str = "2026-12-31T23:59:50+00:00";

fn seal(body: &[u8]) -> Result<Vec<u8>, SealError> {
    sealer().seal(body, NOW, &mut ChaCha20Rng::seed_from_u64(1), &RustCrypto)
}

fn refusal(case: &str, body: &[u8]) -> DeviceError {
    match seal(body) {
        Err(SealError::Device(e)) => e,
        Err(e) => panic!("{case}: expected a device refusal, got {e:?}"),
        Ok(_) => panic!("{case}: sealed"),
    }
}

#[test]
fn records_signed_by_a_registered_device_and_chip_are_sealed() {
    let sealed = seal(&envelope(vec![record(T0), record(T1)])).unwrap();
    let v: Value = serde_json::from_slice(&sealed).unwrap();
    assert!(v["request"].is_string(), "sealed, not in clear");
    // The check itself, once per record; the chains of the second record's (same)
    // certificates are not walked again.
    let request = crate::json::parse_strict(
        json!({"biometrics": [record(T0), record(T1)]})
            .to_string()
            .as_bytes(),
        JsonLimits::BODY,
    )
    .unwrap();
    let n = sealer()
        .device_trust()
        .unwrap()
        .check(&request, Some(TXN), NOW, &RustCrypto)
        .unwrap();
    assert_eq!(n, 2);
    // No biometrics, or none: nothing to check.
    for request in [
        json!({"otp": "123456"}),
        json!({"biometrics": []}),
        json!({"biometrics": null}),
    ] {
        let body = json!({"transactionID": TXN, "request": request}).to_string();
        assert!(seal(body.as_bytes()).is_ok(), "{request}");
    }
}

#[test]
fn without_models_any_model_of_a_trusted_device_passes() {
    let mut t = trust();
    t.as_object_mut().unwrap().remove("models");
    let s = settings(t).unwrap().sealer.unwrap();
    let mut d = digital_id(T1);
    d["model"] = "OTHER".into();
    let body = envelope(vec![record_of(&data(
        jws(&d, Alg::ES256, CHIP_KEY, CHIP_CRT),
        T1,
    ))]);
    assert!(s
        .seal(&body, NOW, &mut ChaCha20Rng::seed_from_u64(1), &RustCrypto)
        .is_ok());
}

/// Flips one character of the signature segment (the last one: it only changes bits that
/// count, base64url's last character of 256 bytes carries two padding bits).
fn bad_signature(jws: &str) -> String {
    let at = jws.len() - 10;
    let c = if &jws[at..=at] == "A" { "B" } else { "A" };
    format!("{}{c}{}", &jws[..at], &jws[at + 1..])
}

#[test]
fn each_failed_check_is_refused_with_its_reason_and_idas_error() {
    use DeviceError as E;
    use Part::{Data, DigitalId};
    let good_id = jws(&digital_id(T1), Alg::ES256, CHIP_KEY, CHIP_CRT);
    let with_data = |d: &Value| envelope(vec![record_of(d)]);
    let with_id = |id: String| with_data(&data(id, T1));
    let with_member = |name: &str, value: Value| {
        let mut d = data(good_id.clone(), T1);
        d[name] = value;
        with_data(&d)
    };
    let raw_data =
        |jws: String| envelope(vec![json!({"data": jws, "hash": "AB", "sessionKey": "cw"})]);
    let good_data = jws(
        &data(good_id.clone(), T1),
        Alg::RS256,
        DEVICE_KEY,
        DEVICE_CRT,
    );
    let mut other_model = digital_id(T1);
    other_model["model"] = "FACE01".into();
    let mut no_make = digital_id(T1);
    no_make.as_object_mut().unwrap().remove("make");
    let sig = |index, part, what| E::Signature { index, part, what };
    let cert = |part, error| E::Certificate {
        index: 0,
        part,
        error,
    };

    let cases: Vec<(&str, Vec<u8>, DeviceError, &str, &str)> = vec![
        (
            "data signature altered",
            raw_data(bad_signature(&good_data)),
            sig(0, Data, "signature does not verify"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            "digital id signature altered",
            with_id(bad_signature(&good_id)),
            sig(0, DigitalId, "signature does not verify"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            "data signed by another key than x5c[0]'s",
            raw_data(jws(
                &data(good_id.clone(), T1),
                Alg::RS256,
                STRANGER_KEY,
                DEVICE_CRT,
            )),
            sig(0, Data, "signature does not verify"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            "device under an unknown root",
            raw_data(jws(
                &data(good_id.clone(), T1),
                Alg::RS256,
                STRANGER_KEY,
                STRANGER_CRT,
            )),
            cert(Data, CertError::IssuerNotFound { depth: 0 }),
            "device_cert_invalid",
            "IDA-MPA-001",
        ),
        (
            "digital id signed by the device, not by an FTM chip",
            with_id(jws(&digital_id(T1), Alg::RS256, DEVICE_KEY, DEVICE_CRT)),
            cert(DigitalId, CertError::IssuerNotFound { depth: 0 }),
            "device_cert_invalid",
            "IDA-MPA-001",
        ),
        (
            "device certificate expired",
            raw_data(jws(
                &data(good_id.clone(), T1),
                Alg::RS256,
                DEVICE_KEY,
                DEVICE_EXPIRED,
            )),
            cert(Data, CertError::Expired { depth: 0 }),
            "device_cert_invalid",
            "IDA-MPA-001",
        ),
        (
            "device key of 1024 bits",
            raw_data({
                let der = Certificate::from_pem(RSA1024_CRT).unwrap().der().to_vec();
                let h = json!({"x5c": [b64::encode_std(&der)], "alg": "RS256"});
                format!("{}.e30.AAAA", b64::encode_url(h.to_string().as_bytes()))
            }),
            E::WeakKey {
                index: 0,
                part: Data,
            },
            "device_cert_invalid",
            "IDA-MPA-001",
        ),
        (
            "model not registered",
            with_id(jws(&other_model, Alg::ES256, CHIP_KEY, CHIP_CRT)),
            E::Unregistered { index: 0 },
            "device_unregistered",
            "IDA-DPM-001",
        ),
        (
            "data not a compact JWS",
            raw_data("eyJhbGciOiJSUzI1NiJ9.e30".into()),
            sig(0, Data, "not a compact JWS (H.P.S)"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            "data header without x5c",
            raw_data(format!(
                "{}.e30.AAAA",
                b64::encode_url(br#"{"alg":"RS256"}"#)
            )),
            sig(0, Data, "x5c missing: nothing names the signer"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            "data with alg none",
            raw_data(format!(
                "{}.e30.AAAA",
                b64::encode_url(br#"{"alg":"none","x5c":["AA=="]}"#)
            )),
            sig(0, Data, "alg missing or not allowed"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            "data payload not JSON",
            raw_data({
                let der = Certificate::from_pem(DEVICE_CRT).unwrap().der().to_vec();
                let h = json!({"x5c": [b64::encode_std(&der)], "alg": "RS256"});
                let input = format!(
                    "{}.{}",
                    b64::encode_url(h.to_string().as_bytes()),
                    b64::encode_url(b"not json")
                );
                let k = PrivateKey::from_pem(DEVICE_KEY).unwrap();
                let s = RustCrypto.sign(Alg::RS256, &k, input.as_bytes()).unwrap();
                format!("{input}.{}", b64::encode_url(&s))
            }),
            sig(0, Data, "payload not one strict JSON object"),
            "device_sig_invalid",
            "IDA-MPA-001",
        ),
        (
            // IDA skips the signature check of a digital id sent as a JSON object.
            "digital id as a JSON object",
            with_member("digitalId", digital_id(T1)),
            E::Missing {
                index: 0,
                field: "data/digitalId",
            },
            "body_malformed",
            "IDA-MLC-006",
        ),
        (
            "digital id without make",
            with_id(jws(&no_make, Alg::ES256, CHIP_KEY, CHIP_CRT)),
            E::Missing {
                index: 0,
                field: "data/digitalId/make",
            },
            "body_malformed",
            "IDA-MLC-006",
        ),
        (
            "no bioValue",
            with_member("bioValue", Value::Null),
            E::Missing {
                index: 0,
                field: "data/bioValue",
            },
            "body_malformed",
            "IDA-MLC-006",
        ),
        (
            "capture made for another transaction",
            with_member("transactionId", "999".into()),
            E::TransactionId { index: 0 },
            "binding_mismatch",
            "IDA-MLC-009",
        ),
        (
            "capture time not ISO-8601",
            with_member("timestamp", "yesterday".into()),
            E::BadTime {
                index: 0,
                field: "data/timestamp",
            },
            "body_malformed",
            "IDA-MLC-009",
        ),
        (
            "last capture two minutes old",
            with_member("timestamp", "2026-12-31T23:58:00.000Z".into()),
            E::Stale {
                index: 0,
                field: "data/timestamp",
                allowed_s: 30,
            },
            "stale",
            "IDA-MLC-001",
        ),
        (
            "digital id dated in the future",
            with_id(jws(
                &digital_id("2027-01-01T00:01:00Z"),
                Alg::ES256,
                CHIP_KEY,
                CHIP_CRT,
            )),
            E::Stale {
                index: 0,
                field: "data/digitalId/dateTime",
                allowed_s: 30,
            },
            "stale",
            "IDA-MLC-001",
        ),
        (
            "second capture before the first",
            envelope(vec![record(T1), record(T0)]),
            E::Gap {
                index: 1,
                field: "data/timestamp",
                limit_s: 120,
            },
            "stale",
            "IDA-MLC-030",
        ),
        (
            "biometrics not an array",
            json!({"transactionID": TXN, "request": {"biometrics": {"data": "x"}}})
                .to_string()
                .into_bytes(),
            E::NotRecords,
            "body_malformed",
            "IDA-MLC-009",
        ),
    ];
    for (case, body, error, code, ida) in cases {
        let e = refusal(case, &body);
        assert_eq!(e, error, "{case}");
        assert_eq!(e.reason().code(), code, "{case}");
        assert_eq!(SealError::Device(e.clone()).ida_error().0, ida, "{case}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn idas_texts_name_the_record() {
    let e = DeviceError::Signature {
        index: 2,
        part: Part::DigitalId,
        what: "x",
    };
    assert_eq!(
        e.ida_error().1,
        "Digital signature verification failed for request/biometrics/2/data/digitalId"
    );
    let e = DeviceError::Gap {
        index: 1,
        field: DATE_TIME,
        limit_s: 120,
    };
    assert_eq!(e.ida_error().0, "IDA-MLC-031");
}

#[test]
fn device_trust_is_checked_at_configure_time_and_names_the_field() {
    let with = |f: &dyn Fn(&mut Value)| {
        let mut t = trust();
        f(&mut t);
        settings(t).unwrap_err()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            with(&|t| t["device_ca_certificates"] = DEVICE_CRT.into()),
            "device_trust.device_ca_certificates: certificate 0 (",
        ),
        (
            with(&|t| t["device_ca_certificates"] = DP_CA.into()),
            "does not chain in the set",
        ),
        (
            with(&|t| t["ftm_ca_certificates"] = "".into()),
            "device_trust.ftm_ca_certificates: malformed certificate",
        ),
        (
            with(&|t| {
                t["ftm_ca_certificates"] =
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()
            }),
            "device_trust.ftm_ca_certificates:",
        ),
        (
            with(&|t| t["models"][0]["make"] = "".into()),
            "device_trust.models[0]",
        ),
        (
            with(&|t| t["segment_time_allowed"] = "1.5s".into()),
            "device_trust.segment_time_allowed",
        ),
        (with(&|t| t["colour"] = "red".into()), "colour"),
    ];
    for (err, want) in cases {
        assert!(err.contains(want), "{err:?} should name {want:?}");
    }
    assert!(with(&|t| t["device_ca_certificates"] = DEVICE_CRT.into()).contains("not a CA"));
    // A CA set outside its dates: the whole configuration is refused now, not every request later.
    let late = SealSettings::from_json(
        &json!({"ida_encryption_certificate": IDA_CRT, "device_trust": trust()}).to_string(),
        &|_| None,
        2_400_000_000,
    )
    .unwrap_err()
    .to_string();
    assert!(late.contains("outside its validity"), "{late}");
    // Checks before sealing need sealing.
    let alone = SealSettings::from_json(
        &json!({"partner_encryption_certificate": IDA_CRT, "partner_encryption_key_env": "K",
                "device_trust": trust()})
        .to_string(),
        &|_| None,
        NOW,
    )
    .unwrap_err()
    .to_string();
    assert!(
        alone.contains("needs ida_encryption_certificate"),
        "{alone}"
    );
    // A stranger's root is a valid set of its own (the refusal above is the chain's, not the set's).
    let mut t = trust();
    t["device_ca_certificates"] = STRANGER_ROOT.into();
    assert_eq!(
        settings(t)
            .unwrap()
            .sealer
            .unwrap()
            .device_trust()
            .unwrap()
            .counts(),
        (1, 1, 1)
    );
}

#[test]
fn a_remembered_chain_still_has_its_leaf_dates_checked() {
    let s = sealer();
    let body = envelope(vec![record(T1)]);
    let seal_at = |now| s.seal(&body, now, &mut ChaCha20Rng::seed_from_u64(1), &RustCrypto);
    assert!(seal_at(NOW).is_ok());
    // 2036-07-01: the device certificate (to 2036-06-01) has expired, its CAs (to 2046) not.
    assert_eq!(
        seal_at(2_098_569_600).unwrap_err(),
        SealError::Device(DeviceError::Certificate {
            index: 0,
            part: Part::Data,
            error: CertError::Expired { depth: 0 }
        })
    );
    // 2026-05-01: not valid yet.
    assert_eq!(
        seal_at(1_777_593_600).unwrap_err(),
        SealError::Device(DeviceError::Certificate {
            index: 0,
            part: Part::Data,
            error: CertError::NotYetValid { depth: 0 }
        })
    );
}
