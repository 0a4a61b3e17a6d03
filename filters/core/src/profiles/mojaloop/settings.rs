//! The `mojaloop` sections of the `jws_verify` and `jws_sign` configurations
//! (docs/profiles.md#mojaloop): as written, with their defaults, and resolved.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::{pick, seconds_or_zero, Duration, Seconds};
use crate::jose::alg::Alg;
use crate::profiles::{header_name, SignSettings, SignSetup, VerifySettings};
use crate::sign::SignResponses;
use crate::verify::{Common, Direction};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadMode {
    Raw,
    RawThenCompact,
    RawThenSorted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceBinding {
    Peer,
    None,
}

/// Body handling before signing (docs/profiles.md#mojaloop).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BodyForm {
    #[default]
    SortedCompact,
    AsIs,
}

/// `profile.mojaloop` of `jws_verify`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "mojaloop_verify")]
pub struct MojaloopVerifySection {
    /// Header carrying the signature (default `fspiop-signature`).
    pub signature_header: Option<String>,
    /// Which bytes are verified: the raw body (default), or raw then a re-serialized form.
    pub payload_mode: Option<PayloadMode>,
    /// Also require the signed URI and method to match the request (default off).
    pub check_request_line: Option<bool>,
    /// Path prefix removed before comparing the signed URI (a hub mount point).
    pub uri_strip_prefix: Option<String>,
    /// `peer` (default): `FSPIOP-Source` must be the TLS peer's partner; `none`.
    pub source_binding: Option<SourceBinding>,
    /// Partners (e.g. the hub) that may forward messages of other sources.
    pub trusted_forwarders: Option<Vec<String>>,
    /// The protected `Date` window, both sides (default 0s, off).
    pub date_window: Option<Duration>,
    /// Alias of `date_window` in seconds.
    pub date_window_s: Option<Seconds>,
}

/// `jws_verify` with profile `mojaloop`, resolved.
#[derive(Clone, Debug)]
pub struct MojaloopVerify {
    pub signature_header: String,
    pub payload_mode: PayloadMode,
    pub check_request_line: bool,
    pub uri_strip_prefix: String,
    pub source_binding: SourceBinding,
    pub trusted_forwarders: Vec<String>,
    /// The protected `Date` window, both sides; 0 is off.
    pub date_window_s: i64,
}

const AT: &str = "profile.mojaloop";

impl VerifySettings for MojaloopVerify {
    type Section = MojaloopVerifySection;
    const ALGORITHMS: &'static [Alg] = &[Alg::RS256, Alg::ES256];
    const OPTIONAL_ALGORITHMS: &'static [Alg] = &[Alg::RS384, Alg::RS512];
    const MAX_BODY_BYTES: usize = 5_242_880;
    const WINDOW: &'static str = "date_window";

    fn build(s: MojaloopVerifySection, common: &Common) -> Result<MojaloopVerify, String> {
        if common.direction == Direction::Response {
            return Err(
                "direction: mojaloop responses are never signed (FSPIOP Signature v1.1 §2)".into(),
            );
        }
        let window = pick(
            &format!("{AT}.date_window"),
            s.date_window,
            "date_window_s",
            s.date_window_s,
        )?;
        Ok(MojaloopVerify {
            signature_header: header_name(
                s.signature_header.as_deref().unwrap_or("fspiop-signature"),
                &format!("{AT}.signature_header"),
            )?,
            payload_mode: s.payload_mode.unwrap_or(PayloadMode::Raw),
            check_request_line: s.check_request_line.unwrap_or(false),
            uri_strip_prefix: s.uri_strip_prefix.unwrap_or_default(),
            source_binding: s.source_binding.unwrap_or(SourceBinding::Peer),
            trusted_forwarders: s.trusted_forwarders.unwrap_or_default(),
            date_window_s: seconds_or_zero(window, &format!("{AT}.date_window"))?,
        })
    }

    fn freshness_on(&self) -> bool {
        self.date_window_s > 0
    }
}

/// `profile.mojaloop` of `jws_sign`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "mojaloop_sign")]
pub struct MojaloopSignSection {
    /// The FSP id this gateway signs as (required).
    pub source_id: Option<String>,
    /// Header the signature is written to (default `fspiop-signature`).
    pub signature_header: Option<String>,
    /// `sorted-compact` (default): sign the body re-serialized; `as-is`.
    pub sign_body_form: Option<BodyForm>,
    /// Also sign `PUT /parties` callbacks.
    pub sign_put_parties: Option<bool>,
    /// Path prefix removed from the signed URI.
    pub uri_strip_prefix: Option<String>,
}

/// `jws_sign` with profile `mojaloop`, resolved.
#[derive(Clone, Debug)]
pub struct MojaloopSign {
    pub source_id: String,
    pub signature_header: String,
    pub body_form: BodyForm,
    pub sign_put_parties: bool,
    pub uri_strip_prefix: String,
}

impl SignSettings for MojaloopSign {
    type Section = MojaloopSignSection;
    const MAX_BODY_BYTES: usize = 5_242_880;

    fn build(s: MojaloopSignSection, at: &SignSetup<'_>) -> Result<MojaloopSign, String> {
        if at.direction == Direction::Response {
            return Err(
                "direction: mojaloop responses are never signed (FSPIOP Signature v1.1 §2)".into(),
            );
        }
        let source_id = match s.source_id {
            Some(id) if !id.is_empty() => id,
            _ => {
                return Err(format!(
                    "{AT}.source_id: required (the FSP id this gateway signs as)"
                ))
            }
        };
        Ok(MojaloopSign {
            source_id,
            signature_header: header_name(
                s.signature_header.as_deref().unwrap_or("fspiop-signature"),
                &format!("{AT}.signature_header"),
            )?,
            body_form: s.sign_body_form.unwrap_or_default(),
            sign_put_parties: s.sign_put_parties.unwrap_or(true),
            uri_strip_prefix: s.uri_strip_prefix.unwrap_or_default(),
        })
    }

    fn alg_allowed(alg: Alg) -> bool {
        matches!(alg, Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::ES256)
    }

    fn sign_responses(&self) -> SignResponses {
        SignResponses::Off
    }
}
