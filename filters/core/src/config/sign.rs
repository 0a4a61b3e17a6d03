//! The `jws_sign` configuration: JSON in, a validated [`SignConfig`] out.
//!
//! The private key is parsed once here. It comes from an environment variable of the Envoy
//! process (`signing_key_env`, passed to the VM by `vm_config.environment_variables`) so it
//! stays out of the YAML and `/config_dump`; inline `signing_key` is for demos. A key that does
//! not fit its algorithm, or a certificate that is not the key's, fails configuration. As for
//! `jws_verify`, the profile's own settings are its section (`"profile": {"mojaloop": {...}}`).

use schemars::JsonSchema;
use serde::Deserialize;

use super::CryptoChoice;
use crate::config_error::ConfigError;
use crate::crypto::CryptoBackend;
use crate::duration::{body_timeout, Duration, Millis};
use crate::jose::alg::Alg;
use crate::keys::PrivateKey;
use crate::message::Message;
use crate::profiles::{SignSection, SignSetup, Signer};
use crate::sign::{SignError, SignKey, SignOutcome, SignResponses};
use crate::verify::Direction;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSignConfig {
    /// The platform profile and its own settings.
    pub profile: SignSection,
    /// `request` (default): sign requests; `response`: sign responses.
    #[serde(default)]
    pub direction: Direction,
    /// Envoy only: `auto` (native where the host has it), `native`, or `rust`.
    #[serde(default)]
    pub crypto_backend: CryptoChoice,
    /// Private key PEM or JWK JSON, inline (demos only).
    pub signing_key: Option<String>,
    /// Name of the environment variable holding the private key.
    pub signing_key_env: Option<String>,
    /// JWS algorithm (default: the profile's for the key type).
    pub sign_alg: Option<String>,
    /// `kid` written in the protected header.
    pub kid: Option<String>,
    /// Largest body signed (default: the profile's, 1 MiB).
    pub max_body_bytes: Option<usize>,
    /// How long a held message may take to end (default 30s; 100ms to 600s).
    pub body_timeout: Option<Duration>,
    /// Alias of `body_timeout` in milliseconds.
    pub body_timeout_ms: Option<Millis>,
    /// Smallest RSA signing key accepted (default 2048).
    pub min_rsa_bits: Option<usize>,
    /// Write the audit record (`signet.audit.jws_sign`); default on.
    pub audit: Option<bool>,
}

/// A validated signer.
#[derive(Clone, Debug)]
pub struct SignConfig {
    pub profile: Signer,
    pub direction: Direction,
    pub crypto_backend: CryptoChoice,
    pub key: SignKey,
    pub max_body_bytes: usize,
    /// How long a held message may take to end before it is refused (`body_timeout`).
    pub body_timeout_ms: u64,
    pub sign_responses: SignResponses,
    /// Write the audit record (`signet.audit.jws_sign`) for the access log.
    pub audit: bool,
}

/// Reads the process environment (the VM's WASI environment, or the CLI's).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl SignConfig {
    /// Parses and validates the filter's JSON configuration; `env` resolves `*_env` settings.
    pub fn from_json(json: &str, env: EnvLookup<'_>) -> Result<SignConfig, ConfigError> {
        SignConfig::from_raw(ConfigError::parse_object(json.as_bytes())?, env)
    }

    pub fn from_raw(raw: RawSignConfig, env: EnvLookup<'_>) -> Result<SignConfig, ConfigError> {
        let p = raw.profile.name();
        let (key_field, key_text) = match (&raw.signing_key, &raw.signing_key_env) {
            (Some(k), None) => ("signing_key", k.clone()),
            (None, Some(var)) => ("signing_key_env", env(var).ok_or_else(|| {
                format!("signing_key_env: environment variable {var} is not set (vm_config.environment_variables.host_env_keys)")
            })?),
            _ => {
                return Err(ConfigError::new(
                    "signing_key",
                    "exactly one of signing_key, signing_key_env is required",
                ))
            }
        };
        let key = if key_text.trim_start().starts_with('{') {
            PrivateKey::from_jwk(&key_text)
        } else {
            PrivateKey::from_pem(&key_text)
        }
        .map_err(|e| ConfigError::new(key_field, format!("not a usable signing key: {e}")))?;
        let public = key.public_key();
        public
            .check_strength(raw.min_rsa_bits.unwrap_or(2048))
            .map_err(|e| ConfigError::new(key_field, format!("signing key too weak: {e}")))?;
        let alg = match &raw.sign_alg {
            Some(name) => Alg::from_name(name)
                .ok_or_else(|| format!("sign_alg: {name:?} is not a supported algorithm"))?,
            None => raw.profile.default_alg(&public).ok_or_else(|| {
                ConfigError::new(
                    key_field,
                    format!(
                        "{} signing keys cannot sign for profile {}",
                        public.kind(),
                        p.name()
                    ),
                )
            })?,
        };
        if !alg.fits(&public) {
            return Err(format!("sign_alg: {} does not fit the signing key", alg.name()).into());
        }
        if !raw.profile.alg_allowed(alg) {
            return Err(format!(
                "sign_alg: {} is not used by profile {}",
                alg.name(),
                p.name()
            )
            .into());
        }
        let max_body_bytes = raw.max_body_bytes.unwrap_or(raw.profile.max_body_bytes());
        if max_body_bytes == 0 || max_body_bytes > 64 * 1024 * 1024 {
            return Err("max_body_bytes: must be between 1 and 67108864".into());
        }
        let body_timeout_ms = body_timeout(raw.body_timeout, raw.body_timeout_ms)?;
        let profile = raw.profile.build(&SignSetup {
            direction: raw.direction,
            public: &public,
            env,
        })?;
        let sign_responses = profile.sign_responses();
        if raw.direction == Direction::Response && sign_responses == SignResponses::Off {
            return Err(format!(
                "profile.{}.sign_responses: must be on for direction response",
                p.name()
            )
            .into());
        }
        Ok(SignConfig {
            sign_responses,
            profile,
            direction: raw.direction,
            crypto_backend: raw.crypto_backend,
            key: SignKey {
                key,
                alg,
                kid: raw.kid,
            },
            max_body_bytes,
            body_timeout_ms,
            audit: raw.audit.unwrap_or(true),
        })
    }

    /// Signs `msg` in place. `now_ms` feeds the Mojaloop `Date`.
    pub fn sign(
        &self,
        msg: &mut Message,
        now_ms: i64,
        backend: &dyn CryptoBackend,
    ) -> Result<SignOutcome, SignError> {
        if msg.body.len() > self.max_body_bytes {
            return Err(SignError(format!(
                "body of {} bytes over max_body_bytes",
                msg.body.len()
            )));
        }
        self.profile.sign(&self.key, msg, now_ms, backend)
    }
}
