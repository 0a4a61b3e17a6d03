//! The `jws_sign` configuration: JSON in, a validated [`SignConfig`] out.
//!
//! The private key is parsed once here. It comes from an environment variable of the Envoy
//! process (`signing_key_env`, passed to the VM by `vm_config.environment_variables`) so it
//! stays out of the YAML and `/config_dump`; inline `signing_key` is for demos. A key that does
//! not fit its algorithm, or a certificate that is not the key's, fails configuration.

use serde::Deserialize;

use crate::config::{CryptoChoice, Direction, ProfileName};
use crate::jose::alg::Alg;
use crate::keys::{PrivateKey, PublicKey};
use crate::x509::Certificate;

/// MOSIP / generic response signing (§2.10.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignResponses {
    /// Nothing is signed.
    #[default]
    Off,
    /// Only Signet's own local replies.
    Local,
    /// Every response with a body, local replies included.
    All,
}

/// Mojaloop body handling before signing (§3.10.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum BodyForm {
    #[default]
    SortedCompact,
    AsIs,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignConfig {
    pub profile: ProfileName,
    #[serde(default)]
    pub direction: Direction,
    #[serde(default)]
    pub crypto_backend: CryptoChoice,
    /// Private key PEM or JWK JSON, inline (demos only).
    pub signing_key: Option<String>,
    /// Name of the environment variable holding the private key.
    pub signing_key_env: Option<String>,
    pub sign_alg: Option<String>,
    pub kid: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub body_timeout_ms: Option<u64>,
    pub signature_header: Option<String>,
    #[serde(default)]
    pub min_rsa_bits: Option<usize>,
    pub audit: Option<bool>,
    // mojaloop
    pub source_id: Option<String>,
    pub sign_body_form: Option<BodyForm>,
    pub sign_put_parties: Option<bool>,
    pub uri_strip_prefix: Option<String>,
    // ocen
    pub sign_headers: Option<Vec<String>>,
    pub sign_crit_b64: Option<bool>,
    // mosip
    pub signing_certificate: Option<String>,
    pub signing_certificate_env: Option<String>,
    pub response_signature_header: Option<String>,
    // mosip and generic
    pub sign_responses: Option<serde_json::Value>,
    // generic
    pub sign_unencoded: Option<bool>,
}

/// A validated signer.
#[derive(Clone, Debug)]
pub struct SignConfig {
    pub profile: ProfileName,
    pub direction: Direction,
    pub crypto_backend: CryptoChoice,
    pub key: PrivateKey,
    pub alg: Alg,
    pub kid: Option<String>,
    pub max_body_bytes: usize,
    /// How long a held message may take to end before it is refused (`body_timeout`).
    pub body_timeout_ms: u64,
    /// Header names the signature is written to.
    pub headers: Vec<String>,
    pub source_id: String,
    pub body_form: BodyForm,
    pub sign_put_parties: bool,
    pub uri_strip_prefix: String,
    pub crit_b64: bool,
    pub certificate: Option<Certificate>,
    pub sign_responses: SignResponses,
    pub unencoded: bool,
    /// Write the audit record (`signet.audit.jws_sign`) for the access log.
    pub audit: bool,
}

/// Reads the process environment (the VM's WASI environment, or the CLI's).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

impl SignConfig {
    /// Parses and validates the filter's JSON configuration; `env` resolves `*_env` settings.
    pub fn from_json(json: &str, env: EnvLookup<'_>) -> Result<SignConfig, String> {
        SignConfig::from_raw(&crate::config::parse_named(json)?, env)
    }

    pub fn from_raw(raw: &RawSignConfig, env: EnvLookup<'_>) -> Result<SignConfig, String> {
        use ProfileName::*;
        let p = raw.profile;
        let only = |name: &str, set: bool, profiles: &[ProfileName]| -> Result<(), String> {
            if set && !profiles.contains(&p) {
                return Err(format!("{name}: not a setting of profile {}", p.name()));
            }
            Ok(())
        };
        only("source_id", raw.source_id.is_some(), &[Mojaloop])?;
        only("sign_body_form", raw.sign_body_form.is_some(), &[Mojaloop])?;
        only(
            "sign_put_parties",
            raw.sign_put_parties.is_some(),
            &[Mojaloop],
        )?;
        only(
            "uri_strip_prefix",
            raw.uri_strip_prefix.is_some(),
            &[Mojaloop],
        )?;
        only("sign_headers", raw.sign_headers.is_some(), &[Ocen])?;
        only("sign_crit_b64", raw.sign_crit_b64.is_some(), &[Ocen])?;
        only(
            "signing_certificate",
            raw.signing_certificate.is_some() || raw.signing_certificate_env.is_some(),
            &[Mosip],
        )?;
        only(
            "response_signature_header",
            raw.response_signature_header.is_some(),
            &[Mosip],
        )?;
        only(
            "sign_responses",
            raw.sign_responses.is_some(),
            &[Mosip, Generic],
        )?;
        only("sign_unencoded", raw.sign_unencoded.is_some(), &[Generic])?;

        let key_text = match (&raw.signing_key, &raw.signing_key_env) {
            (Some(k), None) => k.clone(),
            (None, Some(var)) => env(var).ok_or_else(|| {
                format!("signing_key_env: environment variable {var} is not set (vm_config.environment_variables.host_env_keys)")
            })?,
            _ => return Err("exactly one of signing_key, signing_key_env is required".into()),
        };
        let key = if key_text.trim_start().starts_with('{') {
            PrivateKey::from_jwk(&key_text)
        } else {
            PrivateKey::from_pem(&key_text)
        }
        .map_err(|e| format!("signing key: {e}"))?;
        let public = key.public_key();
        public
            .check_strength(raw.min_rsa_bits.unwrap_or(2048))
            .map_err(|e| format!("signing key: {e}"))?;
        let alg = match &raw.sign_alg {
            Some(name) => Alg::from_name(name)
                .ok_or_else(|| format!("sign_alg: {name:?} is not a supported algorithm"))?,
            None => default_alg(p, &public)?,
        };
        if !alg.fits(&public) {
            return Err(format!(
                "sign_alg: {} does not fit the signing key",
                alg.name()
            ));
        }
        check_profile_alg(p, alg)?;

        let direction = raw.direction;
        let sign_responses = parse_sign_responses(p, raw.sign_responses.as_ref())?;
        match (p, direction) {
            (Mojaloop, Direction::Response) => {
                return Err(
                    "direction: mojaloop responses are never signed (FSPIOP Signature v1.1 §2)"
                        .into(),
                )
            }
            (Spar, Direction::Response) => {
                return Err("direction: spar responses are never signed".into())
            }
            (Mosip | Generic, Direction::Response) if sign_responses == SignResponses::Off => {
                return Err("sign_responses: must be on for direction response".into())
            }
            _ => {}
        }
        let certificate = match (&raw.signing_certificate, &raw.signing_certificate_env) {
            (Some(c), None) => Some(c.clone()),
            (None, Some(var)) => {
                Some(env(var).ok_or_else(|| format!("signing_certificate_env: {var} is not set"))?)
            }
            (None, None) => None,
            _ => return Err("at most one of signing_certificate, signing_certificate_env".into()),
        }
        .map(|pem| Certificate::from_pem(&pem).map_err(|e| format!("signing_certificate: {e}")))
        .transpose()?;
        if p == Mosip {
            let cert = certificate
                .as_ref()
                .ok_or("signing_certificate: required for mosip (x5c)")?;
            let cert_key = cert
                .public_key()
                .map_err(|e| format!("signing_certificate: {e}"))?;
            if cert_key.to_spki_der() != public.to_spki_der() {
                return Err("signing_certificate: does not certify the signing key".into());
            }
        }
        let source_id = raw.source_id.clone().unwrap_or_default();
        if p == Mojaloop && source_id.is_empty() {
            return Err(
                "source_id: required for mojaloop (the FSP id this gateway signs as)".into(),
            );
        }
        let headers = match p {
            Mojaloop => vec![raw
                .signature_header
                .clone()
                .unwrap_or_else(|| "fspiop-signature".into())],
            Ocen => {
                if raw.signature_header.is_some() {
                    return Err("signature_header: ocen writes sign_headers (a list)".into());
                }
                let v = raw
                    .sign_headers
                    .clone()
                    .unwrap_or_else(|| vec!["x-jws-signature".into()]);
                if v.is_empty() {
                    return Err("sign_headers: must not be empty".into());
                }
                v
            }
            Mosip => vec![if direction == Direction::Response {
                raw.response_signature_header
                    .clone()
                    .unwrap_or_else(|| "response-signature".into())
            } else {
                raw.signature_header
                    .clone()
                    .unwrap_or_else(|| "signature".into())
            }],
            Spar => vec![raw
                .signature_header
                .clone()
                .unwrap_or_else(|| "signature".into())],
            Generic => vec![raw
                .signature_header
                .clone()
                .unwrap_or_else(|| "x-jws-signature".into())],
        };
        for h in &headers {
            if h.is_empty()
                || !h
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!("signature header {h:?} is not a header name"));
            }
        }
        let max_body_bytes = raw.max_body_bytes.unwrap_or(match p {
            Mojaloop | Ocen => 5_242_880,
            _ => 1_048_576,
        });
        if max_body_bytes == 0 || max_body_bytes > 64 * 1024 * 1024 {
            return Err("max_body_bytes: must be between 1 and 67108864".into());
        }
        Ok(SignConfig {
            profile: p,
            direction,
            crypto_backend: raw.crypto_backend,
            key,
            alg,
            kid: raw.kid.clone(),
            max_body_bytes,
            body_timeout_ms: crate::config::body_timeout(raw.body_timeout_ms)?,
            headers: headers
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            source_id,
            body_form: raw.sign_body_form.unwrap_or_default(),
            sign_put_parties: raw.sign_put_parties.unwrap_or(true),
            uri_strip_prefix: raw.uri_strip_prefix.clone().unwrap_or_default(),
            crit_b64: raw.sign_crit_b64.unwrap_or(false),
            certificate,
            sign_responses,
            unencoded: raw.sign_unencoded.unwrap_or(false),
            audit: raw.audit.unwrap_or(true),
        })
    }
}

fn default_alg(p: ProfileName, key: &PublicKey) -> Result<Alg, String> {
    match (p, key) {
        (_, PublicKey::Rsa(_)) => Ok(Alg::RS256),
        (_, PublicKey::P256(_)) => Ok(Alg::ES256),
        (ProfileName::Generic, PublicKey::P384(_)) => Ok(Alg::ES384),
        (ProfileName::Generic | ProfileName::Spar | ProfileName::Mosip, PublicKey::Ed25519(_)) => {
            Ok(Alg::EdDSA)
        }
        _ => Err(format!(
            "signing key: {} keys cannot sign for profile {}",
            key.kind(),
            p.name()
        )),
    }
}

fn check_profile_alg(p: ProfileName, alg: Alg) -> Result<(), String> {
    let ok = match p {
        ProfileName::Mojaloop => matches!(alg, Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::ES256),
        ProfileName::Ocen => alg == Alg::RS256,
        ProfileName::Spar => matches!(alg, Alg::RS256 | Alg::PS256 | Alg::ES256 | Alg::EdDSA),
        ProfileName::Mosip | ProfileName::Generic => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "sign_alg: {} is not used by profile {}",
            alg.name(),
            p.name()
        ))
    }
}

fn parse_sign_responses(
    p: ProfileName,
    v: Option<&serde_json::Value>,
) -> Result<SignResponses, String> {
    use serde_json::Value;
    match (p, v) {
        (_, None) => Ok(if p == ProfileName::Ocen {
            SignResponses::All
        } else {
            SignResponses::Off
        }),
        (ProfileName::Generic, Some(Value::Bool(true))) => Ok(SignResponses::All),
        (ProfileName::Generic, Some(Value::Bool(false))) => Ok(SignResponses::Off),
        (ProfileName::Mosip, Some(Value::String(s))) => match s.as_str() {
            "off" => Ok(SignResponses::Off),
            "local" => Ok(SignResponses::Local),
            "all" => Ok(SignResponses::All),
            o => Err(format!("sign_responses: {o:?} is not off, local or all")),
        },
        (ProfileName::Generic, _) => Err("sign_responses: true or false".into()),
        _ => Err("sign_responses: off, local or all".into()),
    }
}
