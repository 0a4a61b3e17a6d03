//! The `spar` sections of the `jws_verify` and `jws_sign` configurations (docs/profiles.md#spar):
//! as written, with their defaults, and resolved.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::duration::{pick, seconds_or_zero, Duration, Seconds};
use crate::jose::alg::Alg;
use crate::keys::PublicKey;
use crate::profiles::{header_name, SignSettings, SignSetup, VerifySettings};
use crate::sign::SignResponses;
use crate::verify::{Common, Direction};

const AT: &str = "profile.spar";

/// Which envelope the replies use (docs/profiles.md#spar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum Envelope {
    #[serde(rename = "spar-2")]
    Spar2,
    #[serde(rename = "g2pconnect-1")]
    G2pConnect1,
    #[serde(rename = "g2pconnect-http")]
    G2pConnectHttp,
}

/// `profile.spar` of `jws_verify`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "spar_verify")]
pub struct SparVerifySection {
    /// Header carrying the signature (default `signature`).
    pub signature_header: Option<String>,
    /// The envelope the replies use (default `spar-2`).
    pub envelope: Option<Envelope>,
    /// Require the envelope's sender to be the TLS peer's partner (default on).
    pub bind_sender_to_peer: Option<bool>,
    /// The envelope timestamp window, both sides (default 0s, off).
    pub timestamp_window: Option<Duration>,
    /// Alias of `timestamp_window` in seconds.
    pub timestamp_window_s: Option<Seconds>,
    /// SPAR's own Keymanager application id: accepted so that a SPAR configuration can be
    /// copied over; Signet's keys come from the registry.
    pub keymanager_app_id: Option<String>,
}

/// `jws_verify` with profile `spar`, resolved.
#[derive(Clone, Debug)]
pub struct SparVerify {
    pub signature_header: String,
    pub envelope: Envelope,
    pub bind_sender_to_peer: bool,
    pub timestamp_window_s: i64,
}

const NO_RESPONSES: &str = "direction: spar responses are never signed";

impl VerifySettings for SparVerify {
    type Section = SparVerifySection;
    const ALGORITHMS: &'static [Alg] = &[Alg::RS256];
    const OPTIONAL_ALGORITHMS: &'static [Alg] = &[Alg::PS256, Alg::ES256, Alg::EdDSA];
    const WINDOW: &'static str = "timestamp_window";

    fn build(s: SparVerifySection, common: &Common) -> Result<SparVerify, String> {
        if common.direction == Direction::Response {
            return Err(NO_RESPONSES.into());
        }
        let window = pick(
            &format!("{AT}.timestamp_window"),
            s.timestamp_window,
            "timestamp_window_s",
            s.timestamp_window_s,
        )?;
        Ok(SparVerify {
            signature_header: header_name(
                s.signature_header.as_deref().unwrap_or("signature"),
                &format!("{AT}.signature_header"),
            )?,
            envelope: s.envelope.unwrap_or(Envelope::Spar2),
            bind_sender_to_peer: s.bind_sender_to_peer.unwrap_or(true),
            timestamp_window_s: seconds_or_zero(window, &format!("{AT}.timestamp_window"))?,
        })
    }

    fn freshness_on(&self) -> bool {
        self.timestamp_window_s > 0
    }
}

/// `profile.spar` of `jws_sign`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "spar_sign")]
pub struct SparSignSection {
    /// Header the signature is written to (default `signature`).
    pub signature_header: Option<String>,
}

/// `jws_sign` with profile `spar`, resolved.
#[derive(Clone, Debug)]
pub struct SparSign {
    pub header: String,
}

impl SignSettings for SparSign {
    type Section = SparSignSection;

    fn build(s: SparSignSection, at: &SignSetup<'_>) -> Result<SparSign, String> {
        if at.direction == Direction::Response {
            return Err(NO_RESPONSES.into());
        }
        Ok(SparSign {
            header: header_name(
                s.signature_header.as_deref().unwrap_or("signature"),
                &format!("{AT}.signature_header"),
            )?,
        })
    }

    fn default_alg(key: &PublicKey) -> Option<Alg> {
        match key {
            PublicKey::Ed25519(_) => Some(Alg::EdDSA),
            _ => crate::sign::default_alg(key),
        }
    }

    fn alg_allowed(alg: Alg) -> bool {
        matches!(alg, Alg::RS256 | Alg::PS256 | Alg::ES256 | Alg::EdDSA)
    }

    fn sign_responses(&self) -> SignResponses {
        SignResponses::Off
    }
}
