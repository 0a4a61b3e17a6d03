//! The `ocen` sections of the `jws_verify` and `jws_sign` configurations (docs/profiles.md#ocen):
//! as written, with their defaults, and resolved.

use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::{split_registry_url, RegistrySettings, DEFAULT_MAX_ENTRIES};
use crate::duration::{pick, seconds_or_zero, Duration, Millis, Seconds};
use crate::jose::alg::Alg;
use crate::profiles::{header_name, SignSettings, SignSetup, VerifySettings};
use crate::sign::SignResponses;
use crate::verify::{Common, Direction};

const AT: &str = "profile.ocen";

/// `profile.ocen` of `jws_verify`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ocen_verify")]
pub struct OcenVerifySection {
    /// Headers that may carry the signature (default `x-jws-signature`).
    pub signature_headers: Option<Vec<String>>,
    /// Claim of the token naming the participant (default `participantId`).
    pub identity_claim: Option<String>,
    /// Refuse participants whose registry status is not `APPROVED` (default on).
    pub require_approved: Option<bool>,
    /// Accept an attached (base64url) payload as well as a detached one (default on).
    pub allow_encoded_payload: Option<bool>,
    /// Require the signer to be the TLS peer's partner (default off).
    pub bind_originator: Option<bool>,
    /// The message timestamp window, both sides (default 0s, off).
    pub timestamp_window: Option<Duration>,
    /// Alias of `timestamp_window` in seconds.
    pub timestamp_window_s: Option<Seconds>,
    /// Paths not verified (default `/common/heartbeat`).
    pub skip_paths: Option<Vec<String>>,
    /// The participant id of the TLS peer, when the token does not name it.
    pub peer_participant_id: Option<String>,
    /// Participants not configured statically get their key from the OCEN registry.
    pub registry: Option<RegistrySection>,
}

/// `profile.ocen.registry`, as written.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrySection {
    /// The registry base, ending in `/service`.
    pub url: String,
    /// The Envoy cluster of the registry.
    pub cluster: String,
    /// How long a fetched key is used (default 300s; 1s to 24h).
    pub ttl: Option<Duration>,
    /// Alias of `ttl` in seconds.
    pub ttl_s: Option<Seconds>,
    /// How long an expired key may still be used while the registry is unreachable (default 3600s).
    pub stale: Option<Duration>,
    /// Alias of `stale` in seconds.
    pub stale_s: Option<Seconds>,
    /// Bound on a registry call (default 5s; 1ms to 60s).
    pub timeout: Option<Duration>,
    /// Alias of `timeout` in milliseconds.
    pub timeout_ms: Option<Millis>,
    /// Environment variable holding the registry's bearer token.
    pub token_env: Option<String>,
    /// Most participants cached (1 to 1000000).
    pub max_entries: Option<usize>,
}

/// `jws_verify` with profile `ocen`, resolved.
#[derive(Clone, Debug)]
pub struct OcenVerify {
    pub signature_headers: Vec<String>,
    pub identity_claim: String,
    pub require_approved: bool,
    pub allow_encoded_payload: bool,
    pub bind_originator: bool,
    pub timestamp_window_s: i64,
    pub skip_paths: Vec<String>,
    /// Response direction: the participant whose key verifies the responses.
    pub peer_participant_id: Option<String>,
    pub registry: Option<RegistrySettings>,
}

impl VerifySettings for OcenVerify {
    type Section = OcenVerifySection;
    const ALGORITHMS: &'static [Alg] = &[Alg::RS256];
    const MAX_BODY_BYTES: usize = 5_242_880;
    const WINDOW: &'static str = "timestamp_window";

    fn build(s: OcenVerifySection, common: &Common) -> Result<OcenVerify, String> {
        if common.min_rsa_bits < 2048 {
            return Err("min_rsa_bits: ocen requires 2048 (jose4j's minimum)".into());
        }
        let response = common.direction == Direction::Response;
        if response && s.peer_participant_id.is_none() {
            return Err(format!(
                "{AT}.peer_participant_id: required with direction response (whose key verifies)"
            ));
        }
        let signature_headers = match s.signature_headers {
            Some(v) if v.is_empty() => {
                return Err(format!("{AT}.signature_headers: must not be empty"))
            }
            Some(v) => v
                .iter()
                .map(|h| header_name(h, &format!("{AT}.signature_headers")))
                .collect::<Result<_, _>>()?,
            None => vec!["x-jws-signature".into(), "signature".into()],
        };
        let window = pick(
            &format!("{AT}.timestamp_window"),
            s.timestamp_window,
            "timestamp_window_s",
            s.timestamp_window_s,
        )?;
        let registry = match s.registry {
            Some(_) if response => {
                return Err(format!(
                "{AT}.registry: only with direction request (responses are verified with a static partner)"
            ))
            }
            Some(r) => Some(registry(r)?),
            None => None,
        };
        Ok(OcenVerify {
            signature_headers,
            identity_claim: s.identity_claim.unwrap_or_else(|| "participantId".into()),
            require_approved: s.require_approved.unwrap_or(true),
            allow_encoded_payload: s.allow_encoded_payload.unwrap_or(true),
            bind_originator: s.bind_originator.unwrap_or(false),
            timestamp_window_s: seconds_or_zero(window, &format!("{AT}.timestamp_window"))?,
            skip_paths: s
                .skip_paths
                .unwrap_or_else(|| vec!["/common/heartbeat".into()]),
            peer_participant_id: s.peer_participant_id,
            registry,
        })
    }

    fn freshness_on(&self) -> bool {
        self.timestamp_window_s > 0
    }
}

/// `profile.ocen.registry`, checked; each error names its field.
fn registry(r: RegistrySection) -> Result<RegistrySettings, String> {
    let at = format!("{AT}.registry");
    let (authority, base_path) =
        split_registry_url(&r.url).map_err(|e| format!("{at}.url: {e}"))?;
    if r.cluster.trim().is_empty() {
        return Err(format!(
            "{at}.cluster: must name the Envoy cluster of the registry"
        ));
    }
    let ttl = pick(&format!("{at}.ttl"), r.ttl, "ttl_s", r.ttl_s)?;
    let ttl_s = ttl.map_or(Ok(300), |d| d.whole_seconds(&format!("{at}.ttl")))?;
    if !(1..=86_400).contains(&ttl_s) {
        return Err(format!("{at}.ttl: must be between 1s and 24h"));
    }
    let stale = pick(&format!("{at}.stale"), r.stale, "stale_s", r.stale_s)?;
    let stale_s = stale.map_or(Ok(3_600), |d| d.whole_seconds(&format!("{at}.stale")))?;
    if stale_s > 7 * 86_400 {
        return Err(format!("{at}.stale: must be at most 168h (7 days)"));
    }
    let timeout = pick(
        &format!("{at}.timeout"),
        r.timeout,
        "timeout_ms",
        r.timeout_ms,
    )?;
    let timeout_ms = timeout.map_or(5_000, Duration::ms);
    if !(1..=60_000).contains(&timeout_ms) {
        return Err(format!("{at}.timeout: must be between 1ms and 60s"));
    }
    let max_entries = r.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES);
    if !(1..=1_000_000).contains(&max_entries) {
        return Err(format!("{at}.max_entries: must be between 1 and 1000000"));
    }
    if let Some(v) = &r.token_env {
        if v.is_empty()
            || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || v.as_bytes().first().is_some_and(u8::is_ascii_digit)
        {
            return Err(format!(
                "{at}.token_env: {v:?} is not an environment variable name"
            ));
        }
    }
    Ok(RegistrySettings {
        url: r.url,
        authority,
        base_path,
        cluster: r.cluster,
        ttl_s,
        stale_s,
        timeout_ms,
        token_env: r.token_env,
        max_entries,
    })
}

/// `profile.ocen` of `jws_sign`, as written.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ocen_sign")]
pub struct OcenSignSection {
    /// Headers the signature is written to (default `x-jws-signature`).
    pub sign_headers: Option<Vec<String>>,
    /// Also write `crit: ["b64"]` (jose4j does not).
    pub sign_crit_b64: Option<bool>,
}

/// `jws_sign` with profile `ocen`, resolved.
#[derive(Clone, Debug)]
pub struct OcenSign {
    pub headers: Vec<String>,
    pub crit_b64: bool,
    pub direction: Direction,
}

impl SignSettings for OcenSign {
    type Section = OcenSignSection;
    const MAX_BODY_BYTES: usize = 5_242_880;

    fn build(s: OcenSignSection, at: &SignSetup<'_>) -> Result<OcenSign, String> {
        let headers = match s.sign_headers {
            Some(v) if v.is_empty() => return Err(format!("{AT}.sign_headers: must not be empty")),
            Some(v) => v
                .iter()
                .map(|h| header_name(h, &format!("{AT}.sign_headers")))
                .collect::<Result<_, _>>()?,
            None => vec!["x-jws-signature".into()],
        };
        Ok(OcenSign {
            headers,
            crit_b64: s.sign_crit_b64.unwrap_or(false),
            direction: at.direction,
        })
    }

    fn alg_allowed(alg: Alg) -> bool {
        alg == Alg::RS256
    }

    fn sign_responses(&self) -> SignResponses {
        SignResponses::All
    }
}
