//! Digital-id checks (issue #14 item 3): the biometric records of an IDA auth / e-KYC request,
//! checked on the partner's egress before the request is sealed, as IDA checks them after it
//! opens the request (id-authentication `IdAuthFilter.decipherBioData`,
//! `AuthRequestValidator.validateBiometrics` / `validateDeviceDetails`; keymanager
//! `SignatureServiceImpl.jwtVerify` with trust validation):
//!
//! - `request.biometrics[i].data` is a compact JWS signed by the device key (SBI "capture
//!   response"); its `x5c[0]` must chain to a device provider's CA (IDA's `DEVICE` domain);
//! - its payload's `digitalId` is a compact JWS signed by the Foundational Trust Module's chip
//!   key; its `x5c[0]` must chain to an FTM provider's CA (IDA's `FTM` domain). A digital id
//!   that is not a JWS string is refused (IDA skips the check when it is a JSON object);
//! - both certificates in date now, each CA with `cA=TRUE` and `keyCertSign` (the rule of
//!   [`crate::x509::validate_chain`], as Java's PKIX builder applies it); only `x5c[0]` is read
//!   and intermediates come from the configured set, never from the message (keymanager reads
//!   `x5c[0]` only too); no revocation (IDA has none);
//! - the members IDA requires are present (`digitalId`, `bioValue`, `timestamp`,
//!   `transactionId`, `deviceCode`, `deviceServiceVersion`; the digital id's `serialNo`, `make`,
//!   `model`, `type`, `deviceSubType`, `deviceProvider`, `deviceProviderId`, `dateTime`), and
//!   `data.transactionId` is the request's `transactionID` (a capture is bound to one
//!   transaction);
//! - IDA's time rule: the last record's `timestamp` and `digitalId.dateTime` within
//!   `[now − allowed − adjustment, now + adjustment]`, each record's no earlier than the one
//!   before and at most `segment_time_allowed` after it;
//! - when `models` are configured, the digital id's (`deviceProviderId`, `make`, `model`) is
//!   one of them (a Signet policy: IDA itself no longer looks the device up).
//!
//! Not checked here: `hash` (IDA chains it over the *decrypted* biometric, which the device
//! encrypted to IDA's key: the partner never sees it in clear), `sessionKey`, `thumbprint`.

use std::fmt;
use std::sync::Mutex;

use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::crypto::{CryptoBackend, CryptoError};
use crate::duration::Duration;
use crate::jose::header::{Header, HeaderRules};
use crate::jose::jws::{decode_segment, split_three};
use crate::json::{parse_strict_object, JsonLimits, JsonValue};
use crate::reason::Reason;
use crate::x509::{validate_chain, CertError, Certificate};

/// The two signed parts of a biometric record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `data`, signed by the device key.
    Data,
    /// `data.digitalId`, signed by the FTM chip key.
    DigitalId,
}

impl Part {
    /// IDA's parameter path of the part, below `request/biometrics/<i>/`.
    fn path(self) -> &'static str {
        match self {
            Part::Data => "data",
            Part::DigitalId => "data/digitalId",
        }
    }
}

/// Why a biometric record was refused. `index` is the record's position in
/// `request.biometrics`; `field` an IDA parameter path below `request/biometrics/<index>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceError {
    /// `request.biometrics` is neither null nor an array of objects.
    NotRecords,
    /// A member IDA requires is missing, empty or not a string.
    Missing { index: usize, field: &'static str },
    /// A capture time does not parse as an ISO-8601 date-time.
    BadTime { index: usize, field: &'static str },
    /// The part is not a compact JWS that verifies with its `x5c[0]` key; says what failed.
    Signature {
        index: usize,
        part: Part,
        what: &'static str,
    },
    /// The part's `x5c[0]` certificate is undecodable, out of date or does not chain to the
    /// part's configured CAs.
    Certificate {
        index: usize,
        part: Part,
        error: CertError,
    },
    /// The part's `x5c[0]` key is weaker than `min_rsa_bits` (or a weak Ed25519 point).
    WeakKey { index: usize, part: Part },
    /// The digital id's (`deviceProviderId`, `make`, `model`) is not a configured model.
    Unregistered { index: usize },
    /// `data.transactionId` is not the request's `transactionID`: a capture made for another
    /// transaction, replayed.
    TransactionId { index: usize },
    /// The last capture is outside IDA's window around now.
    Stale {
        index: usize,
        field: &'static str,
        allowed_s: i64,
    },
    /// A capture is earlier than the one before it, or more than `limit_s` after it.
    Gap {
        index: usize,
        field: &'static str,
        limit_s: i64,
    },
}

impl DeviceError {
    /// The stable reason code.
    pub fn reason(&self) -> Reason {
        match self {
            DeviceError::NotRecords | DeviceError::Missing { .. } | DeviceError::BadTime { .. } => {
                Reason::BodyMalformed
            }
            DeviceError::Signature { .. } => Reason::DeviceSigInvalid,
            DeviceError::Certificate { .. } | DeviceError::WeakKey { .. } => {
                Reason::DeviceCertInvalid
            }
            DeviceError::Unregistered { .. } => Reason::DeviceUnregistered,
            DeviceError::TransactionId { .. } => Reason::BindingMismatch,
            DeviceError::Stale { .. } | DeviceError::Gap { .. } => Reason::Stale,
        }
    }

    /// IDA's own error code and message for the same refusal (`IdAuthenticationErrorConstants`).
    pub fn ida_error(&self) -> (&'static str, String) {
        let at = |i: &usize, field: &str| format!("request/biometrics/{i}/{field}");
        match self {
            DeviceError::NotRecords => (
                "IDA-MLC-009",
                "Invalid Input Parameter - request/biometrics".into(),
            ),
            DeviceError::Missing { index, field } => (
                "IDA-MLC-006",
                format!("Missing Input Parameter - {}", at(index, field)),
            ),
            DeviceError::BadTime { index, field } => (
                "IDA-MLC-009",
                format!("Invalid Input Parameter - {}", at(index, field)),
            ),
            DeviceError::TransactionId { index } => (
                "IDA-MLC-009",
                format!(
                    "Invalid Input Parameter - {}",
                    at(index, "data/transactionId")
                ),
            ),
            DeviceError::Signature { index, part, .. }
            | DeviceError::Certificate { index, part, .. }
            | DeviceError::WeakKey { index, part } => (
                "IDA-MPA-001",
                format!(
                    "Digital signature verification failed for {}",
                    at(index, part.path())
                ),
            ),
            DeviceError::Unregistered { .. } => {
                ("IDA-DPM-001", "Device is not registered with MOSIP".into())
            }
            DeviceError::Stale {
                index,
                field,
                allowed_s,
            } => (
                "IDA-MLC-001",
                format!(
                    "Request to be received at MOSIP within {allowed_s} seconds. Attribute: {}",
                    at(index, field)
                ),
            ),
            DeviceError::Gap { field, limit_s, .. } if *field == DATE_TIME => (
                "IDA-MLC-031",
                format!(
                    "DigitalId of Biometrics not captured within {limit_s} seconds of previous biometrics"
                ),
            ),
            DeviceError::Gap { limit_s, .. } => (
                "IDA-MLC-030",
                format!("Biometrics not captured within {limit_s} seconds of previous biometrics"),
            ),
        }
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = |i: &usize, field: &str| format!("request.biometrics[{i}].{field}");
        match self {
            DeviceError::NotRecords => f.write_str("request.biometrics is not an array of objects"),
            DeviceError::Missing { index, field } => {
                write!(f, "{}: missing or empty", at(index, field))
            }
            DeviceError::BadTime { index, field } => {
                write!(f, "{}: not an ISO-8601 date-time", at(index, field))
            }
            DeviceError::Signature { index, part, what } => {
                write!(f, "{}: {what}", at(index, part.path()))
            }
            DeviceError::Certificate { index, part, error } => {
                write!(f, "{} x5c[0]: {error}", at(index, part.path()))
            }
            DeviceError::WeakKey { index, part } => {
                write!(f, "{} x5c[0]: key too weak", at(index, part.path()))
            }
            DeviceError::Unregistered { index } => write!(
                f,
                "{}: device provider, make and model not among device_trust.models",
                at(index, "data/digitalId")
            ),
            DeviceError::TransactionId { index } => write!(
                f,
                "{}: not the request's transactionID",
                at(index, "data/transactionId")
            ),
            DeviceError::Stale {
                index,
                field,
                allowed_s,
            } => write!(
                f,
                "{}: captured outside the {allowed_s}s window (plus adjustment) around now",
                at(index, field)
            ),
            DeviceError::Gap {
                index,
                field,
                limit_s,
            } => write!(
                f,
                "{}: before the previous record's or more than {limit_s}s after it",
                at(index, field)
            ),
        }
    }
}

impl std::error::Error for DeviceError {}

const TIMESTAMP: &str = "data/timestamp";
const DATE_TIME: &str = "data/digitalId/dateTime";

/// The data members IDA requires (`IdAuthFilter`, `AuthRequestValidator`), each non-empty.
const DATA_MEMBERS: [(&str, &str); 5] = [
    ("bioValue", "data/bioValue"),
    ("timestamp", TIMESTAMP),
    ("transactionId", "data/transactionId"),
    ("deviceCode", "data/deviceCode"),
    ("deviceServiceVersion", "data/deviceServiceVersion"),
];

/// The digital id members IDA requires (`validateDeviceDetails`, `nullCheckDigitalIdAndTimestamp`).
const DIGITAL_ID_MEMBERS: [(&str, &str); 8] = [
    ("serialNo", "data/digitalId/serialNo"),
    ("make", "data/digitalId/make"),
    ("model", "data/digitalId/model"),
    ("type", "data/digitalId/type"),
    ("deviceSubType", "data/digitalId/deviceSubType"),
    ("deviceProvider", "data/digitalId/deviceProvider"),
    ("deviceProviderId", "data/digitalId/deviceProviderId"),
    ("dateTime", DATE_TIME),
];

/// `device_trust`, as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "mosip_device_trust")]
pub struct RawDeviceTrust {
    /// Device providers' CA certificates, PEM (roots and issuing CAs): the chains of the
    /// device certificates that sign each biometric record (IDA's `DEVICE` domain).
    device_ca_certificates: String,
    /// Foundational Trust Module providers' CA certificates, PEM: the chains of the chip
    /// certificates that sign each digital id (IDA's `FTM` domain).
    ftm_ca_certificates: String,
    /// Registered device models; when given, a digital id must name one of them.
    models: Option<Vec<RawModel>>,
    /// How old the last capture may be (default 30s, IDA's `authrequest.received-time-allowed`).
    capture_time_allowed: Option<Duration>,
    /// Clock tolerance added on both sides (default 30s, IDA's
    /// `authrequest.received-time-adjustment`).
    capture_time_adjustment: Option<Duration>,
    /// Longest gap between successive captures (default 120s, IDA's
    /// `authrequest.biometrics.allowed-segment-time-difference-in-seconds`).
    segment_time_allowed: Option<Duration>,
}

/// One registered device model, as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "mosip_device_model")]
pub struct RawModel {
    /// The digital id's `deviceProviderId`.
    device_provider_id: String,
    /// The digital id's `make`.
    make: String,
    /// The digital id's `model`.
    model: String,
}

/// A registered device model (exact, case-sensitive match).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    device_provider_id: String,
    make: String,
    model: String,
}

/// Most certificates remembered as chained (devices and chips in use); past it the memory
/// starts again empty.
const CHAINED_MAX: usize = 1024;

/// Certificates whose path to their set was validated, by part and SHA-256. A clone starts
/// empty (it only saves work).
#[derive(Debug, Default)]
struct Chained(Mutex<Vec<(Part, [u8; 32])>>);

impl Clone for Chained {
    fn clone(&self) -> Chained {
        Chained::default()
    }
}

/// The checked `device_trust`: the CA sets, the models and IDA's time rule.
#[derive(Debug, Clone)]
pub struct DeviceTrust {
    device_cas: Vec<Certificate>,
    ftm_cas: Vec<Certificate>,
    /// The earliest `notAfter` of each set (device, FTM): until then every CA in it is in date
    /// (all were at configure time), so a path once validated stays valid but for its leaf's
    /// own dates.
    cas_expire: (i64, i64),
    /// Paths already validated: a device signs every capture with the same certificate, and a
    /// chain costs one RSA verification per CA (pure Rust, milliseconds inside the VM).
    chained: Chained,
    /// Empty: any model.
    models: Vec<Model>,
    allowed_s: i64,
    adjustment_s: i64,
    segment_s: i64,
    min_rsa_bits: usize,
}

impl DeviceTrust {
    /// Checks the settings at `now_s`. Every configured certificate must be a CA in date with a
    /// strong key, and every one that is not self-issued must chain to the others of its set:
    /// a set with a missing root would refuse every device at run time.
    pub fn from_raw(
        raw: RawDeviceTrust,
        now_s: i64,
        min_rsa_bits: usize,
    ) -> Result<DeviceTrust, String> {
        const AT: &str = "device_trust";
        let cas = |field: &str, pem: &str| -> Result<Vec<Certificate>, String> {
            let field = format!("{AT}.{field}");
            let set = Certificate::from_pem_bundle(pem).map_err(|e| format!("{field}: {e}"))?;
            if set.is_empty() {
                return Err(format!("{field}: no certificate"));
            }
            for (i, c) in set.iter().enumerate() {
                let name = || format!("{field}: certificate {i} ({})", c.subject());
                if !c.is_ca() {
                    return Err(format!("{}: not a CA (basicConstraints cA)", name()));
                }
                if !c.in_validity(now_s) {
                    return Err(format!("{}: outside its validity period", name()));
                }
                c.public_key()
                    .and_then(|k| k.check_strength(min_rsa_bits))
                    .map_err(|e| format!("{}: {e}", name()))?;
                if !c.is_self_issued() {
                    let others: Vec<Certificate> =
                        set.iter().filter(|o| o.der() != c.der()).cloned().collect();
                    validate_chain(c, &others, now_s)
                        .map_err(|e| format!("{}: does not chain in the set: {e}", name()))?;
                }
            }
            Ok(set)
        };
        let seconds = |d: Option<Duration>, default: u64, field: &str| -> Result<i64, String> {
            let field = format!("{AT}.{field}");
            let s = d.map_or(Ok(default), |d| d.whole_seconds(&field))?;
            i64::try_from(s).map_err(|_| format!("{field}: too long"))
        };
        let models = raw
            .models
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                if m.device_provider_id.is_empty() || m.make.is_empty() || m.model.is_empty() {
                    return Err(format!(
                        "{AT}.models[{i}]: device_provider_id, make and model must not be empty"
                    ));
                }
                Ok(Model {
                    device_provider_id: m.device_provider_id,
                    make: m.make,
                    model: m.model,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let device_cas = cas("device_ca_certificates", &raw.device_ca_certificates)?;
        let ftm_cas = cas("ftm_ca_certificates", &raw.ftm_ca_certificates)?;
        let expire = |set: &[Certificate]| set.iter().map(Certificate::not_after).min();
        Ok(DeviceTrust {
            cas_expire: (
                expire(&device_cas).unwrap_or(i64::MIN),
                expire(&ftm_cas).unwrap_or(i64::MIN),
            ),
            device_cas,
            ftm_cas,
            chained: Chained::default(),
            models,
            allowed_s: seconds(raw.capture_time_allowed, 30, "capture_time_allowed")?,
            adjustment_s: seconds(raw.capture_time_adjustment, 30, "capture_time_adjustment")?,
            segment_s: seconds(raw.segment_time_allowed, 120, "segment_time_allowed")?,
            min_rsa_bits,
        })
    }

    /// How many CA certificates each set holds (device, FTM) and how many models: for the log.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.device_cas.len(), self.ftm_cas.len(), self.models.len())
    }

    /// Checks every record of `request.biometrics` (absent or null: none) of a request whose
    /// envelope `transactionID` is `transaction_id`; returns how many were checked.
    pub fn check(
        &self,
        request: &JsonValue,
        transaction_id: Option<&str>,
        now_s: i64,
        crypto: &dyn CryptoBackend,
    ) -> Result<usize, DeviceError> {
        let records = match request.get("biometrics") {
            None | Some(JsonValue::Null) => return Ok(0),
            Some(JsonValue::Array(items)) => items,
            Some(_) => return Err(DeviceError::NotRecords),
        };
        let mut previous: Option<(i64, i64)> = None;
        let last = records.len().saturating_sub(1);
        for (index, record) in records.iter().enumerate() {
            if record.as_object().is_none() {
                return Err(DeviceError::NotRecords);
            }
            let jws = required(record, "data", index, "data")?;
            let data = self.verify_part(jws, Part::Data, index, now_s, crypto)?;
            for (name, field) in DATA_MEMBERS {
                required(&data, name, index, field)?;
            }
            let jws = required(&data, "digitalId", index, "data/digitalId")?;
            let digital_id = self.verify_part(jws, Part::DigitalId, index, now_s, crypto)?;
            for (name, field) in DIGITAL_ID_MEMBERS {
                required(&digital_id, name, index, field)?;
            }
            self.check_model(&digital_id, index)?;
            if let Some(txn) = transaction_id {
                if data.get("transactionId").and_then(JsonValue::as_str) != Some(txn) {
                    return Err(DeviceError::TransactionId { index });
                }
            }
            let times = (
                time_ms(&data, "timestamp", index, TIMESTAMP)?,
                time_ms(&digital_id, "dateTime", index, DATE_TIME)?,
            );
            if let Some(prev) = previous {
                self.check_gap(prev.0, times.0, index, TIMESTAMP)?;
                self.check_gap(prev.1, times.1, index, DATE_TIME)?;
            }
            if index == last {
                self.check_window(times.0, now_s, index, TIMESTAMP)?;
                self.check_window(times.1, now_s, index, DATE_TIME)?;
            }
            previous = Some(times);
        }
        Ok(records.len())
    }

    /// Verifies one signed part against its `x5c[0]` and chains that certificate to the part's
    /// CA set; returns the payload object.
    fn verify_part(
        &self,
        jws: &str,
        part: Part,
        index: usize,
        now_s: i64,
        crypto: &dyn CryptoBackend,
    ) -> Result<JsonValue, DeviceError> {
        let sig = |what| DeviceError::Signature { index, part, what };
        let (h, p, s) = split_three(jws).map_err(|_| sig("not a compact JWS (H.P.S)"))?;
        let header = Header::parse(h, &HeaderRules::STRICT)
            .map_err(|_| sig("protected header malformed"))?;
        let alg = header.alg().ok_or(sig("alg missing or not allowed"))?;
        let first = header
            .x5c()
            .and_then(<[String]>::first)
            .ok_or(sig("x5c missing: nothing names the signer"))?;
        let cert = Certificate::from_x5c(first, false)
            .map_err(|error| DeviceError::Certificate { index, part, error })?;
        let key = cert.public_key().map_err(|_| DeviceError::Certificate {
            index,
            part,
            error: CertError::Malformed("public key"),
        })?;
        key.check_strength(self.min_rsa_bits)
            .map_err(|_| DeviceError::WeakKey { index, part })?;
        let signature = decode_segment(s, false).map_err(|_| sig("signature not base64url"))?;
        // The signing input is `H.P` exactly as received.
        let input = jws.get(..h.len() + 1 + p.len()).unwrap_or_default();
        crypto
            .verify(alg, &key, input.as_bytes(), &signature)
            .map_err(|e| match e {
                CryptoError::KeyMismatch => sig("alg does not fit the x5c[0] key"),
                CryptoError::BadLength => sig("signature length wrong for alg and key"),
                _ => sig("signature does not verify"),
            })?;
        self.chain(&cert, part, now_s)
            .map_err(|error| DeviceError::Certificate { index, part, error })?;
        let payload = decode_segment(p, false).map_err(|_| sig("payload not base64url"))?;
        parse_strict_object(&payload, JsonLimits::BODY)
            .map_err(|_| sig("payload not one strict JSON object"))
    }

    /// Validates the path of a part's certificate to the part's CA set (a device certificate
    /// is no chip certificate), or, for one already validated while the set is in date, only
    /// its own dates.
    fn chain(&self, cert: &Certificate, part: Part, now_s: i64) -> Result<(), CertError> {
        let (anchors, expire) = match part {
            Part::Data => (&self.device_cas, self.cas_expire.0),
            Part::DigitalId => (&self.ftm_cas, self.cas_expire.1),
        };
        let key = (part, <[u8; 32]>::from(Sha256::digest(cert.der())));
        let remembered = self.chained.0.lock().is_ok_and(|c| c.contains(&key));
        if now_s <= expire && remembered {
            return if now_s < cert.not_before() {
                Err(CertError::NotYetValid { depth: 0 })
            } else if now_s > cert.not_after() {
                Err(CertError::Expired { depth: 0 })
            } else {
                Ok(())
            };
        }
        validate_chain(cert, anchors, now_s)?;
        // A poisoned lock (a panic elsewhere) only means nothing is remembered.
        if let Ok(mut chained) = self.chained.0.lock() {
            if chained.len() >= CHAINED_MAX {
                chained.clear();
            }
            chained.push(key);
        }
        Ok(())
    }

    fn check_model(&self, digital_id: &JsonValue, index: usize) -> Result<(), DeviceError> {
        if self.models.is_empty() {
            return Ok(());
        }
        let member = |name| digital_id.get(name).and_then(JsonValue::as_str);
        let known = self.models.iter().any(|m| {
            member("deviceProviderId") == Some(m.device_provider_id.as_str())
                && member("make") == Some(m.make.as_str())
                && member("model") == Some(m.model.as_str())
        });
        if known {
            Ok(())
        } else {
            Err(DeviceError::Unregistered { index })
        }
    }

    /// IDA's `validateReqTime` + `validateRequestTimedOut` on the last record.
    fn check_window(
        &self,
        t_ms: i64,
        now_s: i64,
        index: usize,
        field: &'static str,
    ) -> Result<(), DeviceError> {
        let now_ms = now_s.saturating_mul(1000);
        let earliest = now_ms.saturating_sub(
            self.allowed_s
                .saturating_add(self.adjustment_s)
                .saturating_mul(1000),
        );
        let latest = now_ms.saturating_add(self.adjustment_s.saturating_mul(1000));
        if (earliest..=latest).contains(&t_ms) {
            Ok(())
        } else {
            Err(DeviceError::Stale {
                index,
                field,
                allowed_s: self.allowed_s,
            })
        }
    }

    /// IDA's `validateSuccessiveBioSegmentTimestamp`: `0 ≤ t − previous ≤ segment`, in whole
    /// seconds as `Duration.toSeconds` counts them.
    fn check_gap(
        &self,
        previous_ms: i64,
        t_ms: i64,
        index: usize,
        field: &'static str,
    ) -> Result<(), DeviceError> {
        let diff_s = t_ms.saturating_sub(previous_ms) / 1000;
        if t_ms < previous_ms || diff_s > self.segment_s {
            return Err(DeviceError::Gap {
                index,
                field,
                limit_s: self.segment_s,
            });
        }
        Ok(())
    }
}

/// A member that must be a non-empty string.
fn required<'a>(
    object: &'a JsonValue,
    name: &str,
    index: usize,
    field: &'static str,
) -> Result<&'a str, DeviceError> {
    object
        .get(name)
        .and_then(JsonValue::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(DeviceError::Missing { index, field })
}

/// A capture time (SBI: ISO-8601; IDA reads `biometrics.datetime.pattern`, then its request
/// time pattern), Unix ms.
fn time_ms(
    object: &JsonValue,
    name: &str,
    index: usize,
    field: &'static str,
) -> Result<i64, DeviceError> {
    let text = required(object, name, index, field)?;
    crate::time::parse_iso8601_ms(text).ok_or(DeviceError::BadTime { index, field })
}

#[cfg(test)]
mod tests;
