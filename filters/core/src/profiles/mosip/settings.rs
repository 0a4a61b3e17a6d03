//! The `mosip` sections of the `jws_verify` and `jws_sign` configurations (docs/profiles.md#mosip):
//! as written, with their defaults, and resolved.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::{pick, Duration, Seconds};
use crate::jose::alg::Alg;
use crate::keys::PublicKey;
use crate::profiles::{header_name, SignSettings, SignSetup, VerifySettings};
use crate::registry::Registry;
use crate::reply::ErrorStatus;
use crate::sign::SignResponses;
use crate::verify::{Common, Direction};
use crate::x509::Certificate;

const AT: &str = "profile.mosip";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    On,
    Off,
}

/// `profile.mosip` of `jws_verify`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "mosip_verify")]
pub struct MosipVerifySection {
    /// Header carrying a request's signature (default `signature`).
    pub signature_header: Option<String>,
    /// Header carrying a response's signature (default `response-signature`).
    pub response_signature_header: Option<String>,
    /// Partner domain whose CAs (`domain_ca`) issue partner certificates (default `AUTH`).
    pub partner_domain: Option<String>,
    /// Accept a signature by the MISP's certificate (default on).
    pub accept_misp_certificate: Option<bool>,
    /// Check partner, API key, MISP and licence key as IDA does (default on).
    pub partner_checks: Option<bool>,
    /// Check the body's `requestTime` (default `on`).
    pub request_time_window: Option<OnOff>,
    /// How far `requestTime` may be from now (default 30s).
    pub request_time_allowed: Option<Duration>,
    /// Alias of `request_time_allowed` in seconds.
    pub request_time_allowed_s: Option<Seconds>,
    /// Extra tolerance added to the window (default 30s).
    pub request_time_adjustment: Option<Duration>,
    /// Alias of `request_time_adjustment` in seconds.
    pub request_time_adjustment_s: Option<Seconds>,
    /// Accept an `x5c` holding PEM text, as some MOSIP clients send (default off).
    pub x5c_pem_compat: Option<bool>,
    /// Accept base64url segments with padding (default off).
    pub allow_padded_segments: Option<bool>,
    /// Refusals as IDA answers them (`200`, the default, with errors) or as `4xx` statuses.
    pub error_status: Option<ErrorStatus>,
    /// Response direction: the pinned IDA certificate (SHA-256, hex).
    pub ida_certificate_sha256: Option<String>,
}

/// `jws_verify` with profile `mosip`, resolved.
#[derive(Clone, Debug)]
pub struct MosipVerify {
    pub signature_header: String,
    pub partner_domain: String,
    pub accept_misp_certificate: bool,
    pub partner_checks: bool,
    pub request_time_window: bool,
    pub request_time_allowed_s: i64,
    pub request_time_adjustment_s: i64,
    pub x5c_pem_compat: bool,
    pub allow_padded_segments: bool,
    /// `false`: IDA's 200; `true`: the generic 4xx statuses.
    pub error_status_4xx: bool,
    /// Response direction: the pinned IDA certificate (upper-case hex).
    pub ida_certificate_sha256: Option<String>,
    pub direction: Direction,
}

impl VerifySettings for MosipVerify {
    type Section = MosipVerifySection;
    const ALGORITHMS: &'static [Alg] = &[Alg::RS256, Alg::ES256];
    const OPTIONAL_ALGORITHMS: &'static [Alg] = &[
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES384,
        Alg::EdDSA,
    ];
    const WINDOW: &'static str = "request_time_window";

    fn build(s: MosipVerifySection, common: &Common) -> Result<MosipVerify, String> {
        let response = common.direction == Direction::Response;
        let header_default = if response {
            s.response_signature_header
                .as_deref()
                .unwrap_or("response-signature")
        } else {
            "signature"
        };
        let seconds = |d: Option<Duration>, field: &str| -> Result<i64, String> {
            let field = format!("{AT}.{field}");
            let s = d.map_or(Ok(30), |d| d.whole_seconds(&field))?;
            i64::try_from(s).map_err(|_| format!("{field}: too long"))
        };
        let allowed = pick(
            &format!("{AT}.request_time_allowed"),
            s.request_time_allowed,
            "request_time_allowed_s",
            s.request_time_allowed_s,
        )?;
        let adjustment = pick(
            &format!("{AT}.request_time_adjustment"),
            s.request_time_adjustment,
            "request_time_adjustment_s",
            s.request_time_adjustment_s,
        )?;
        let ida_certificate_sha256 = match &s.ida_certificate_sha256 {
            Some(h) => {
                let field = format!("{AT}.ida_certificate_sha256");
                let b = hex::decode(h).map_err(|_| format!("{field}: not hex"))?;
                if b.len() != 32 {
                    return Err(format!("{field}: must be 32 bytes"));
                }
                Some(h.to_ascii_uppercase())
            }
            None if response => {
                return Err(format!(
                    "{AT}.ida_certificate_sha256: required with direction response"
                ))
            }
            None => None,
        };
        Ok(MosipVerify {
            signature_header: header_name(
                s.signature_header.as_deref().unwrap_or(header_default),
                &format!("{AT}.signature_header"),
            )?,
            partner_domain: s.partner_domain.unwrap_or_else(|| "AUTH".into()),
            accept_misp_certificate: s.accept_misp_certificate.unwrap_or(true),
            partner_checks: s.partner_checks.unwrap_or(true),
            request_time_window: s.request_time_window.unwrap_or(OnOff::On) == OnOff::On
                && !response,
            request_time_allowed_s: seconds(allowed, "request_time_allowed")?,
            request_time_adjustment_s: seconds(adjustment, "request_time_adjustment")?,
            x5c_pem_compat: s.x5c_pem_compat.unwrap_or(false),
            allow_padded_segments: s.allow_padded_segments.unwrap_or(false),
            error_status_4xx: s.error_status == Some(ErrorStatus::Generic4xx),
            ida_certificate_sha256,
            direction: common.direction,
        })
    }

    /// The partner domain's CA must be configured: without it no request could verify.
    fn check_registry(&self, common: &Common, registry: &Registry) -> Result<(), String> {
        if registry.cas(&self.partner_domain).is_empty() && common.direction == Direction::Request {
            return Err(format!(
                "domain_ca: no CA certificate for partner_domain {:?}",
                self.partner_domain
            ));
        }
        Ok(())
    }

    fn freshness_on(&self) -> bool {
        self.request_time_window
    }
}

/// `profile.mosip` of `jws_sign`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "mosip_sign")]
pub struct MosipSignSection {
    /// Header a request's signature is written to (default `signature`).
    pub signature_header: Option<String>,
    /// Header a response's signature is written to (default `response-signature`).
    pub response_signature_header: Option<String>,
    /// The certificate of the signing key, PEM (sent in `x5c`); or, by name, the environment
    /// variable holding it.
    pub signing_certificate: Option<String>,
    /// Environment variable holding that certificate.
    pub signing_certificate_env: Option<String>,
    /// Which responses are signed.
    pub sign_responses: Option<SignResponses>,
}

/// `jws_sign` with profile `mosip`, resolved.
#[derive(Clone, Debug)]
pub struct MosipSign {
    pub header: String,
    /// Boxed: a parsed certificate is several times the size of any other signer.
    pub certificate: Box<Certificate>,
    pub sign_responses: SignResponses,
}

impl SignSettings for MosipSign {
    type Section = MosipSignSection;

    fn build(s: MosipSignSection, at: &SignSetup<'_>) -> Result<MosipSign, String> {
        let pem = match (s.signing_certificate, &s.signing_certificate_env) {
            (Some(c), None) => c,
            (None, Some(var)) => (at.env)(var)
                .ok_or_else(|| format!("{AT}.signing_certificate_env: {var} is not set"))?,
            (None, None) => {
                return Err(format!("{AT}.signing_certificate: required (x5c)"))
            }
            _ => {
                return Err(format!(
                    "{AT}.signing_certificate: give signing_certificate or signing_certificate_env, not both"
                ))
            }
        };
        let field = format!("{AT}.signing_certificate");
        let certificate = Certificate::from_pem(&pem).map_err(|e| format!("{field}: {e}"))?;
        let cert_key = certificate
            .public_key()
            .map_err(|e| format!("{field}: {e}"))?;
        if cert_key.to_spki_der() != at.public.to_spki_der() {
            return Err(format!("{field}: does not certify the signing key"));
        }
        let sign_responses = s.sign_responses.unwrap_or_default();
        let header = match at.direction {
            Direction::Response => s
                .response_signature_header
                .as_deref()
                .unwrap_or("response-signature"),
            Direction::Request => s.signature_header.as_deref().unwrap_or("signature"),
        };
        Ok(MosipSign {
            header: header_name(header, &format!("{AT}.signature_header"))?,
            certificate: Box::new(certificate),
            sign_responses,
        })
    }

    fn default_alg(key: &PublicKey) -> Option<Alg> {
        match key {
            PublicKey::Ed25519(_) => Some(Alg::EdDSA),
            _ => crate::sign::default_alg(key),
        }
    }

    fn alg_allowed(_alg: Alg) -> bool {
        true
    }

    fn sign_responses(&self) -> SignResponses {
        self.sign_responses
    }
}
