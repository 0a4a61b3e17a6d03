//! MOSIP partner-side encryption (issue #14): sealing an IDA auth / e-KYC request on the
//! partner's egress, and opening the identity of an e-KYC answer.
//!
//! The byte layouts are those of MOSIP's own client, `mosip-auth-sdk` 0.5.4
//! (`CryptoUtility.encrypt_auth_data` / `decrypt_auth_data`), which IDA accepts:
//!
//! - `request`: the clear `request` object (its exact bytes as the application sent them),
//!   AES-256-GCM under a fresh key, `ciphertext ‖ tag ‖ nonce` (16-byte nonce), base64url with
//!   `=` padding;
//! - `requestSessionKey`: that AES key, RSA-OAEP-SHA256 (MGF1-SHA256) to IDA's encryption
//!   certificate, base64url padded;
//! - `requestHMAC`: not an HMAC: the upper-case hex SHA-256 of the clear request bytes,
//!   AES-GCM-encrypted under the same key with its own nonce, base64url padded;
//! - `thumbprint`: base64url (padded) SHA-256 of IDA's certificate DER (IDA also takes hex).
//!
//! Every other member of the envelope (`id`, `version`, `transactionID`, `requestTime`,
//! `specVersion`, `domainUri`, `env`, `requestedAuth`, `consentObtained`, `metadata`, …) is
//! the application's and is kept byte for byte, in its order.
//!
//! An e-KYC answer carries `response.identity` (AES-GCM, same layout), `response.sessionKey`
//! (RSA-OAEP to the partner's encryption certificate) and `response.thumbprint` (upper-case hex
//! SHA-256 of that certificate, IDA's `encryptData`). [`Opener::open`] checks the thumbprint
//! names the partner's certificate, unwraps, verifies the tag and writes the identity in clear.
//! It runs only on an answer whose `response-signature` has been verified: the open step does
//! not itself authenticate IDA.
//!
//! Before sealing, the biometric records of the request are checked as IDA checks them
//! (device and FTM chip signatures, their chains to the configured CAs, IDA's time rule): see
//! [`device`]. A request that fails is refused and never sealed.
//!
//! Randomness is injected: the caller passes a CSPRNG (the Wasm glue: the host's, WASI
//! `random_get`; tests: a seeded one). Only the session key and a 32-byte seed are read from
//! it, through the fallible `try_fill_bytes`, so a host without randomness is an error, not a
//! panic. The session key is wiped when sealing or opening returns.

mod cipher;
pub mod device;
mod settings;

pub use device::{DeviceError, DeviceTrust};
pub use settings::{schema as settings_schema, SealSettings, DEFAULT_MAX_BODY_BYTES};

use std::fmt;

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::b64;
use crate::crypto::CryptoBackend;
use crate::json::{parse_strict_object, JsonError, JsonLimits, JsonValue, ObjectWriter};
use crate::reason::Reason;
use crate::reply;
use crate::x509::Certificate;

/// Why a request could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The body is longer than the configured bound.
    TooLarge {
        /// The bound, bytes.
        limit: usize,
    },
    /// The body is not one strict JSON object (RFC 8259, no duplicate names, bounded).
    Json(JsonError),
    /// The envelope has no `request` member: nothing to seal.
    RequestMissing,
    /// `request` is not a JSON object. A string is what an application that encrypts by itself
    /// sends; sealing it again would give IDA something it cannot read, and passing it would let
    /// a request leave that Signet did not seal.
    RequestNotObject,
    /// IDA's encryption certificate is outside its validity period now: IDA would refuse the
    /// key, and the partner's data would be encrypted to a retired key.
    CertificateNotValid,
    /// The host gave no randomness (fail closed: never a predictable AES key).
    Entropy,
    /// OAEP or GCM refused to encrypt (not reachable with a checked key).
    Encrypt,
    /// A biometric record failed the digital-id checks.
    Device(DeviceError),
}

impl SealError {
    /// The stable reason code.
    pub fn reason(&self) -> Reason {
        match self {
            SealError::TooLarge { .. } => Reason::BodyTooLarge,
            SealError::Json(_) | SealError::RequestMissing | SealError::RequestNotObject => {
                Reason::BodyMalformed
            }
            SealError::CertificateNotValid => Reason::CertInvalid,
            SealError::Entropy | SealError::Encrypt => Reason::Internal,
            SealError::Device(e) => e.reason(),
        }
    }

    /// IDA's error code and message for the refusal (what IDA would have answered, or its
    /// "could not be processed" where the fault is the gateway's).
    pub fn ida_error(&self) -> (&'static str, String) {
        match self {
            SealError::Device(e) => e.ida_error(),
            SealError::TooLarge { .. }
            | SealError::Json(_)
            | SealError::RequestMissing
            | SealError::RequestNotObject => reply::ida_invalid_request(),
            SealError::CertificateNotValid | SealError::Entropy | SealError::Encrypt => {
                reply::ida_not_processed()
            }
        }
    }
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::TooLarge { limit } => write!(f, "body longer than {limit} bytes"),
            SealError::Json(e) => write!(f, "body: {e}"),
            SealError::RequestMissing => f.write_str("body has no \"request\" member"),
            SealError::RequestNotObject => f.write_str("\"request\" is not a JSON object"),
            SealError::CertificateNotValid => {
                f.write_str("IDA encryption certificate outside its validity period")
            }
            SealError::Entropy => f.write_str("no randomness from the host"),
            SealError::Encrypt => f.write_str("encryption failed"),
            SealError::Device(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SealError {}

/// Why an e-KYC answer could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The body is longer than the configured bound.
    TooLarge {
        /// The bound, bytes.
        limit: usize,
    },
    /// The body is not one strict JSON object.
    Json(JsonError),
    /// A member is missing or of the wrong type; names it.
    Field(&'static str),
    /// A member is not base64url; names it.
    Base64(&'static str),
    /// `response.thumbprint` is absent: nothing says which key the identity is for.
    ThumbprintMissing,
    /// `response.thumbprint` names another certificate than the partner's encryption
    /// certificate (an answer meant for another partner, or a rotated key).
    ThumbprintMismatch,
    /// `response.sessionKey` does not unwrap with the partner's key.
    KeyUnwrap,
    /// `response.identity` is shorter than a tag and a nonce.
    TooShort,
    /// The GCM tag of `response.identity` does not verify: altered in transit.
    Tag,
    /// The decrypted identity is not a strict JSON value.
    IdentityNotJson(JsonError),
    /// The host gave no randomness (needed to blind the RSA operation).
    Entropy,
}

impl OpenError {
    /// The stable reason code.
    pub fn reason(&self) -> Reason {
        match self {
            OpenError::TooLarge { .. } => Reason::BodyTooLarge,
            OpenError::Json(_)
            | OpenError::Field(_)
            | OpenError::Base64(_)
            | OpenError::TooShort
            | OpenError::IdentityNotJson(_) => Reason::BodyMalformed,
            OpenError::ThumbprintMissing | OpenError::ThumbprintMismatch => {
                Reason::CertNotRegistered
            }
            OpenError::KeyUnwrap | OpenError::Tag => Reason::DecryptFailed,
            OpenError::Entropy => Reason::Internal,
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::TooLarge { limit } => write!(f, "body longer than {limit} bytes"),
            OpenError::Json(e) => write!(f, "body: {e}"),
            OpenError::Field(name) => write!(f, "{name}: missing or not of the expected type"),
            OpenError::Base64(name) => write!(f, "{name}: not base64url"),
            OpenError::ThumbprintMissing => f.write_str("response.thumbprint missing"),
            OpenError::ThumbprintMismatch => f.write_str(
                "response.thumbprint does not name the partner's encryption certificate",
            ),
            OpenError::KeyUnwrap => {
                f.write_str("response.sessionKey does not unwrap with the partner's key")
            }
            OpenError::TooShort => f.write_str("response.identity shorter than tag and nonce"),
            OpenError::Tag => f.write_str("response.identity: GCM tag does not verify"),
            OpenError::IdentityNotJson(e) => write!(f, "decrypted identity: {e}"),
            OpenError::Entropy => f.write_str("no randomness from the host"),
        }
    }
}

impl std::error::Error for OpenError {}

/// IDA's encryption certificate, checked at configure time: what requests are sealed to.
#[derive(Debug, Clone)]
pub struct Sealer {
    certificate: Certificate,
    key: rsa::RsaPublicKey,
    thumbprint: String,
    max_body_bytes: usize,
    /// Checks the biometric records before sealing (when configured).
    device: Option<DeviceTrust>,
}

impl Sealer {
    /// The `thumbprint` written into each envelope: base64url (padded) SHA-256 of the DER.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// IDA's encryption certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The digital-id checks run before sealing, when configured.
    pub fn device_trust(&self) -> Option<&DeviceTrust> {
        self.device.as_ref()
    }

    /// Checks the biometric records (when `device_trust` is configured), then seals a request
    /// whose `request` member is in clear into IDA's envelope. `crypto` verifies the records'
    /// signatures.
    pub fn seal<R: RngCore + CryptoRng + ?Sized>(
        &self,
        body: &[u8],
        now_s: i64,
        entropy: &mut R,
        crypto: &dyn CryptoBackend,
    ) -> Result<Vec<u8>, SealError> {
        if body.len() > self.max_body_bytes {
            return Err(SealError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let parsed = parse_strict_object(body, JsonLimits::BODY).map_err(SealError::Json)?;
        let request = match parsed.get("request") {
            None => return Err(SealError::RequestMissing),
            Some(r) if r.as_object().is_none() => return Err(SealError::RequestNotObject),
            Some(r) => r,
        };
        if let Some(device) = &self.device {
            let txn = parsed.get("transactionID").and_then(JsonValue::as_str);
            device
                .check(request, txn, now_s, crypto)
                .map_err(SealError::Device)?;
        }
        if !self.certificate.in_validity(now_s) {
            return Err(SealError::CertificateNotValid);
        }
        let members = raw_members(body).map_err(SealError::Json)?;
        let clear = members
            .iter()
            .find(|(name, _)| name == "request")
            .map(|(_, raw)| raw.get().as_bytes())
            .ok_or(SealError::RequestMissing)?;

        // The session key comes straight from the caller's entropy, not from the generator
        // that makes the nonces and the OAEP seed, and is wiped when this returns.
        let mut key = Zeroizing::new([0u8; cipher::KEY_LEN]);
        entropy
            .try_fill_bytes(key.as_mut())
            .map_err(|_| SealError::Entropy)?;
        let mut rng = seeded(entropy).ok_or(SealError::Entropy)?;
        let seal = |plain: &[u8], rng: &mut ChaCha20Rng| {
            cipher::seal(&key, plain, rng)
                .map(|c| b64::encode_url_padded(&c))
                .map_err(|_| SealError::Encrypt)
        };
        let request = seal(clear, &mut rng)?;
        let digest = hex::encode_upper(Sha256::digest(clear));
        let hmac = seal(digest.as_bytes(), &mut rng)?;
        let session_key = cipher::wrap(&self.key, &key, &mut rng)
            .map(|w| b64::encode_url_padded(&w))
            .map_err(|_| SealError::Encrypt)?;

        // The application's members in its order, the four sealed ones replaced in place or,
        // when absent, appended in the SDK's order.
        let sealed: [(&str, &str); 4] = [
            ("thumbprint", &self.thumbprint),
            ("requestHMAC", &hmac),
            ("requestSessionKey", &session_key),
            ("request", &request),
        ];
        let mut out = ObjectWriter::new();
        for (name, raw) in &members {
            match sealed.iter().find(|(n, _)| n == name) {
                Some((n, v)) => out.string(n, v),
                None => out.raw(name, raw.get().as_bytes()),
            };
        }
        for (n, v) in sealed {
            if !members.iter().any(|(name, _)| name == n) {
                out.string(n, v);
            }
        }
        Ok(out.finish())
    }
}

/// The partner's encryption key and certificate, checked at configure time: what e-KYC
/// answers are opened with.
#[derive(Clone)]
pub struct Opener {
    key: rsa::RsaPrivateKey,
    certificate_sha256: [u8; 32],
    max_body_bytes: usize,
}

impl fmt::Debug for Opener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Opener({})", hex::encode_upper(self.certificate_sha256))
    }
}

/// What [`Opener::open`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// The body with `response.identity` in clear (its JSON value) and `response.sessionKey`
    /// and `response.thumbprint` removed.
    Clear(Vec<u8>),
    /// The answer carries no identity (`kycStatus` false, an error answer, a plain auth
    /// answer): nothing is encrypted, the body is passed unchanged.
    NothingToOpen,
}

impl Opener {
    /// SHA-256 of the partner's encryption certificate DER, upper-case hex (IDA's thumbprint).
    pub fn thumbprint_hex(&self) -> String {
        hex::encode_upper(self.certificate_sha256)
    }

    /// Opens the identity of an e-KYC answer whose signature has been verified.
    pub fn open<R: RngCore + CryptoRng + ?Sized>(
        &self,
        body: &[u8],
        entropy: &mut R,
    ) -> Result<Opened, OpenError> {
        if body.len() > self.max_body_bytes {
            return Err(OpenError::TooLarge {
                limit: self.max_body_bytes,
            });
        }
        let parsed = parse_strict_object(body, JsonLimits::BODY).map_err(OpenError::Json)?;
        let Some(response) = parsed.get("response").filter(|r| !r.is_null()) else {
            return Ok(Opened::NothingToOpen);
        };
        if response.as_object().is_none() {
            return Err(OpenError::Field("response"));
        }
        let identity = match response.get("identity") {
            None => return Ok(Opened::NothingToOpen),
            Some(v) if v.is_null() => return Ok(Opened::NothingToOpen),
            Some(v) => v.as_str().ok_or(OpenError::Field("response.identity"))?,
        };
        let thumbprint = match response.get("thumbprint") {
            None => return Err(OpenError::ThumbprintMissing),
            Some(v) if v.is_null() => return Err(OpenError::ThumbprintMissing),
            Some(v) => v.as_str().ok_or(OpenError::Field("response.thumbprint"))?,
        };
        if thumbprint_bytes(thumbprint).as_ref() != Some(&self.certificate_sha256) {
            return Err(OpenError::ThumbprintMismatch);
        }
        let session_key = response
            .get("sessionKey")
            .and_then(|v| v.as_str())
            .ok_or(OpenError::Field("response.sessionKey"))?;
        let wrapped = b64::decode_url_allow_padding(session_key)
            .map_err(|_| OpenError::Base64("response.sessionKey"))?;
        let sealed = b64::decode_url_allow_padding(identity)
            .map_err(|_| OpenError::Base64("response.identity"))?;

        let mut rng = seeded(entropy).ok_or(OpenError::Entropy)?;
        let key =
            cipher::unwrap(&self.key, &wrapped, &mut rng).map_err(|_| OpenError::KeyUnwrap)?;
        let clear = cipher::open(&key, &sealed).map_err(|e| match e {
            cipher::CipherError::TooShort => OpenError::TooShort,
            _ => OpenError::Tag,
        })?;
        crate::json::parse_strict(&clear, JsonLimits::BODY).map_err(OpenError::IdentityNotJson)?;

        let members = raw_members(body).map_err(OpenError::Json)?;
        let mut out = ObjectWriter::new();
        for (name, raw) in &members {
            if name != "response" {
                out.raw(name, raw.get().as_bytes());
                continue;
            }
            let mut inner = ObjectWriter::new();
            for (n, r) in raw_members(raw.get().as_bytes()).map_err(OpenError::Json)? {
                match n.as_str() {
                    "identity" => inner.raw(&n, &clear),
                    "sessionKey" | "thumbprint" => continue,
                    _ => inner.raw(&n, r.get().as_bytes()),
                };
            }
            out.raw(name, &inner.finish());
        }
        Ok(Opened::Clear(out.finish()))
    }
}

/// A ChaCha20 generator seeded with 32 bytes of the caller's entropy; `None` when the source
/// fails. Everything after the seed is infallible, so no later draw can panic.
fn seeded<R: RngCore + CryptoRng + ?Sized>(entropy: &mut R) -> Option<ChaCha20Rng> {
    let mut seed = Zeroizing::new([0u8; 32]);
    entropy.try_fill_bytes(seed.as_mut()).ok()?;
    Some(ChaCha20Rng::from_seed(*seed))
}

/// A thumbprint as IDA reads one (`IdAuthSecurityManager.getBytesFromThumbprint`): hex first,
/// then base64url; `None` unless it is 32 bytes.
fn thumbprint_bytes(t: &str) -> Option<[u8; 32]> {
    let bytes = if t.len() == 64 {
        hex::decode(t).ok()?
    } else {
        b64::decode_url_allow_padding(t).ok()?
    };
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

/// The members of a JSON object (already checked strict) in document order, each value as its
/// exact source text.
fn raw_members(text: &[u8]) -> Result<Vec<(String, &RawValue)>, JsonError> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let text = std::str::from_utf8(text).map_err(|_| JsonError::InvalidUtf8)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let members = (&mut de)
        .deserialize_map(Members)
        .map_err(|_| JsonError::Syntax)?;
    de.end().map_err(|_| JsonError::TrailingData)?;
    Ok(members)
}

#[cfg(test)]
mod tests;
