//! The `generic` sections of the `jws_verify` and `jws_sign` configurations
//! (docs/profiles.md#generic): as written, with their defaults, and resolved.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::{pick, seconds_or_zero, Duration, Seconds};
use crate::jose::alg::Alg;
use crate::keys::PublicKey;
use crate::profiles::{header_name, SignSettings, SignSetup, VerifySettings};
use crate::sign::SignResponses;
use crate::verify::Common;

const AT: &str = "profile.generic";

/// `profile.generic` of `jws_verify`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "generic_verify")]
pub struct GenericVerifySection {
    /// Header carrying the JWS (default `x-jws-signature`).
    pub signature_header: Option<String>,
    /// Refuse a signature without `kid` (default off).
    pub require_kid: Option<bool>,
    /// The protected `iat` window, both sides (default 0s, off).
    pub iat_window: Option<Duration>,
    /// Alias of `iat_window` in seconds.
    pub iat_window_s: Option<Seconds>,
}

/// `jws_verify` with profile `generic`, resolved.
#[derive(Clone, Debug)]
pub struct GenericVerify {
    pub signature_header: String,
    pub require_kid: bool,
    pub iat_window_s: i64,
}

impl VerifySettings for GenericVerify {
    type Section = GenericVerifySection;
    const ALGORITHMS: &'static [Alg] = &Alg::ALL;
    const WINDOW: &'static str = "iat_window";

    fn build(s: GenericVerifySection, _common: &Common) -> Result<GenericVerify, String> {
        let window = pick(
            &format!("{AT}.iat_window"),
            s.iat_window,
            "iat_window_s",
            s.iat_window_s,
        )?;
        Ok(GenericVerify {
            signature_header: header_name(
                s.signature_header.as_deref().unwrap_or("x-jws-signature"),
                &format!("{AT}.signature_header"),
            )?,
            require_kid: s.require_kid.unwrap_or(false),
            iat_window_s: seconds_or_zero(window, &format!("{AT}.iat_window"))?,
        })
    }

    fn freshness_on(&self) -> bool {
        self.iat_window_s > 0
    }
}

/// `profile.generic` of `jws_sign`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "generic_sign")]
pub struct GenericSignSection {
    /// Header the JWS is written to (default `x-jws-signature`).
    pub signature_header: Option<String>,
    /// Sign every response with a body (`true`), or none.
    pub sign_responses: Option<bool>,
    /// RFC 7797 `b64: false`.
    pub sign_unencoded: Option<bool>,
}

/// `jws_sign` with profile `generic`, resolved.
#[derive(Clone, Debug)]
pub struct GenericSign {
    pub header: String,
    pub sign_responses: SignResponses,
    pub unencoded: bool,
}

impl SignSettings for GenericSign {
    type Section = GenericSignSection;

    fn build(s: GenericSignSection, _at: &SignSetup<'_>) -> Result<GenericSign, String> {
        let sign_responses = if s.sign_responses.unwrap_or(false) {
            SignResponses::All
        } else {
            SignResponses::Off
        };
        Ok(GenericSign {
            header: header_name(
                s.signature_header.as_deref().unwrap_or("x-jws-signature"),
                &format!("{AT}.signature_header"),
            )?,
            sign_responses,
            unencoded: s.sign_unencoded.unwrap_or(false),
        })
    }

    fn default_alg(key: &PublicKey) -> Option<Alg> {
        match key {
            PublicKey::P384(_) => Some(Alg::ES384),
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
