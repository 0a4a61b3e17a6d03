//! The settings of the MOSIP encryption step, parsed and checked once (configure time).
//!
//! ```json
//! {"ida_encryption_certificate": "<PEM>",
//!  "partner_encryption_certificate": "<PEM>",
//!  "partner_encryption_key_env": "SIGNET_MOSIP_ENCRYPTION_KEY",
//!  "min_rsa_bits": 2048, "max_body_bytes": 1048576,
//!  "device_trust": {"device_ca_certificates": "<PEM>", "ftm_ca_certificates": "<PEM>",
//!                   "models": [{"device_provider_id": "…", "make": "…", "model": "…"}]},
//!  "body_timeout": "30s", "audit": true, "error_status": "200"}
//! ```
//!
//! `ida_encryption_certificate` enables sealing, the partner pair enables opening; at least one
//! half is required. `device_trust` (with sealing only) checks the biometric records before a
//! request is sealed (`super::device`); without it they are sealed unchecked. The partner's
//! private key is read only from the environment (never from the YAML or `/config_dump`). Both certificates must hold an RSA key of at least
//! `min_rsa_bits` and be in date now; the partner key must be the certificate's.

use schemars::JsonSchema;
use serde::Deserialize;

use super::device::{DeviceTrust, RawDeviceTrust};
use super::{Opener, Sealer};
use crate::config_error::ConfigError;
use crate::duration::{body_timeout, Duration};
use crate::keys::{PrivateKey, PublicKey};
use crate::reply::ErrorStatus;
use crate::x509::Certificate;

/// Default bound on a sealed request or an opened answer (IDA's own is 1 MiB of request).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The JSON Schema of the `mosip_seal` configuration.
pub fn schema() -> schemars::schema::RootSchema {
    crate::schema::root_of::<RawSealSettings>()
}

/// The step's JSON, as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawSealSettings {
    /// IDA's encryption certificate, PEM: enables sealing requests.
    ida_encryption_certificate: Option<String>,
    /// The partner's encryption certificate, PEM: with the key, enables
    /// opening e-KYC answers.
    partner_encryption_certificate: Option<String>,
    /// Environment variable holding the partner's private key (PEM).
    partner_encryption_key_env: Option<String>,
    /// Smallest RSA key accepted (default 2048, at least 2048).
    min_rsa_bits: Option<usize>,
    /// Largest request sealed or answer opened (default 1 MiB, at most 16 MiB).
    max_body_bytes: Option<usize>,
    /// Check each biometric record's device and FTM chip signatures before sealing.
    device_trust: Option<RawDeviceTrust>,
    /// How long a held message may take to end (default 30s; 100ms to 600s).
    body_timeout: Option<Duration>,
    /// Write the audit record (`signet.audit.mosip_seal`); default on.
    audit: Option<bool>,
    /// Refused requests as IDA answers them (`200`, the default, with errors) or with `4xx`
    /// statuses.
    error_status: Option<ErrorStatus>,
}

/// The checked settings: what can be sealed and what can be opened.
#[derive(Debug, Clone)]
pub struct SealSettings {
    /// Seals requests to IDA's encryption certificate (when configured).
    pub sealer: Option<Sealer>,
    /// Opens e-KYC answers with the partner's key (when configured).
    pub opener: Option<Opener>,
    /// The bound on a request to seal or an answer to open, bytes.
    pub max_body_bytes: usize,
    /// How long a held message may take to end before it is refused, ms.
    pub body_timeout_ms: u64,
    /// Write the audit record (`signet.audit.mosip_seal`) for the access log.
    pub audit: bool,
    /// `false`: IDA's 200 with errors; `true`: the generic 4xx statuses.
    pub error_status_4xx: bool,
}

impl SealSettings {
    /// Parses and checks the settings at `now_s`; `env` reads the process environment. Errors
    /// name the field.
    pub fn from_json(
        json: &str,
        env: &dyn Fn(&str) -> Option<String>,
        now_s: i64,
    ) -> Result<SealSettings, ConfigError> {
        let raw: RawSealSettings = ConfigError::parse_object(json.as_bytes())?;
        let min_rsa_bits = raw.min_rsa_bits.unwrap_or(2048);
        if min_rsa_bits < 2048 {
            return Err("min_rsa_bits: below 2048 is not accepted for encryption keys".into());
        }
        let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes == 0 || max_body_bytes > 16 * DEFAULT_MAX_BODY_BYTES {
            return Err("max_body_bytes: must be between 1 and 16777216".into());
        }
        let rsa_certificate =
            |field: &str, pem: &str| -> Result<(Certificate, rsa::RsaPublicKey), String> {
                let cert = Certificate::from_pem(pem).map_err(|e| format!("{field}: {e}"))?;
                let key = match cert.public_key().map_err(|e| format!("{field}: {e}"))? {
                    PublicKey::Rsa(k) => k,
                    other => {
                        return Err(format!(
                            "{field}: the key is {}, RSA is required (RSA-OAEP)",
                            other.kind()
                        ))
                    }
                };
                PublicKey::Rsa(key.clone())
                    .check_strength(min_rsa_bits)
                    .map_err(|e| format!("{field}: {e}"))?;
                if now_s < cert.not_before() {
                    return Err(format!("{field}: certificate not valid yet"));
                }
                if now_s > cert.not_after() {
                    return Err(format!("{field}: certificate expired"));
                }
                Ok((cert, key))
            };

        let body_timeout_ms = body_timeout(raw.body_timeout, None)?;
        let device = raw
            .device_trust
            .map(|d| DeviceTrust::from_raw(d, now_s, min_rsa_bits))
            .transpose()?;
        let sealer = match &raw.ida_encryption_certificate {
            None if device.is_some() => return Err(
                "device_trust: checks requests before sealing; needs ida_encryption_certificate"
                    .into(),
            ),
            None => None,
            Some(pem) => {
                let (certificate, key) = rsa_certificate("ida_encryption_certificate", pem)?;
                let thumbprint = crate::b64::encode_url_padded(&sha256(&certificate));
                Some(Sealer {
                    certificate,
                    key,
                    thumbprint,
                    max_body_bytes,
                    device,
                })
            }
        };

        let opener = match (
            &raw.partner_encryption_certificate,
            &raw.partner_encryption_key_env,
        ) {
            (None, None) => None,
            (Some(pem), Some(var)) => {
                let (certificate, public) = rsa_certificate("partner_encryption_certificate", pem)?;
                let text = env(var).ok_or_else(|| {
                    format!("partner_encryption_key_env: environment variable {var} is not set")
                })?;
                let key = match PrivateKey::from_pem(&text)
                    .map_err(|e| format!("partner_encryption_key_env: {e}"))?
                {
                    PrivateKey::Rsa(k) => k,
                    _ => {
                        return Err("partner_encryption_key_env: the key is not RSA".into());
                    }
                };
                if key.to_public_key() != public {
                    return Err("partner_encryption_key_env: the key is not the partner_encryption_certificate's".into());
                }
                Some(Opener {
                    key,
                    certificate_sha256: sha256(&certificate),
                    max_body_bytes,
                })
            }
            _ => {
                return Err(
                    "partner_encryption_certificate and partner_encryption_key_env go together"
                        .into(),
                )
            }
        };
        if sealer.is_none() && opener.is_none() {
            return Err("configuration: ida_encryption_certificate or partner_encryption_certificate is required".into());
        }
        Ok(SealSettings {
            sealer,
            opener,
            max_body_bytes,
            body_timeout_ms,
            audit: raw.audit.unwrap_or(true),
            error_status_4xx: raw.error_status == Some(ErrorStatus::Generic4xx),
        })
    }
}

/// SHA-256 of a certificate's DER.
fn sha256(cert: &Certificate) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(cert.der()).into()
}
