//! The `jws_verify` configuration: JSON in, a validated [`VerifyConfig`] out.
//!
//! Parsed once (Envoy's `on_configure`, or the CLI); every error names the field. The settings
//! every profile shares (docs/configuration.md#jws_verify) are at the top level; a profile's own
//! are its section, `"profile": {"mojaloop": {...}}` (or `"profile": "mojaloop"` for its defaults),
//! typed by the profile module, so a setting of another profile cannot be written.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

pub mod gateway;
pub mod sign;

use crate::config_error::ConfigError;
use crate::duration::{body_timeout, pick, seconds_or_zero, Duration, Millis, Seconds};
use crate::jose::alg::Alg;
use crate::message::{Context, Message};
use crate::reason::Refusal;
use crate::registry::{InlineMembers, RawMisp, RawPartner, RawPolicy, Registry};
use crate::reply::Reply;
use crate::route::{RawRule, RoutePolicy};

pub use crate::profiles::{ProfileName, Verifier, VerifySection};
pub use crate::verify::{Common, Direction, ErrorFormat};

/// Which crypto implementation the filter uses (the CLI always uses pure Rust).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CryptoChoice {
    /// Envoy's native `verify_signature`/`sign` where the host has them, pure Rust otherwise.
    #[default]
    Auto,
    /// Native only: configuration fails on a host without the foreign functions.
    Native,
    /// Pure Rust (RustCrypto) inside the VM.
    Rust,
}

/// The configuration exactly as written: the shared settings at the top level, the profile's
/// own in its section (`profile`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawVerifyConfig {
    /// The platform profile and its own settings.
    pub profile: VerifySection,
    /// `request` (default): verify requests (provider side); `response`: verify the
    /// responses a partner's egress receives.
    #[serde(default)]
    pub direction: Direction,
    /// Envoy only: `auto` (native where the host has it), `native`, or `rust`.
    #[serde(default)]
    pub crypto_backend: CryptoChoice,
    /// JWS algorithms accepted (default: the profile's); never `none` or HS*.
    pub algorithms: Option<Vec<String>>,
    /// Smallest RSA key accepted (default 2048, at least 1024).
    pub min_rsa_bits: Option<usize>,
    /// Largest body held for verification (default: the profile's, 1 MiB).
    pub max_body_bytes: Option<usize>,
    /// How long a held message may take to end (default 30s; 100ms to 600s).
    pub body_timeout: Option<Duration>,
    /// Alias of `body_timeout` in milliseconds.
    pub body_timeout_ms: Option<Millis>,
    /// Deepest JSON nesting accepted in a body (default 64, 1 to 128).
    pub max_json_depth: Option<usize>,
    /// Most JSON values accepted in a body (default 100000).
    pub max_json_elements: Option<usize>,
    /// Which routes need a signature: first matching rule wins (default: all do).
    #[serde(default)]
    pub route_policy: Vec<RawRule>,
    /// Reply bodies: `platform` (default, the platform's own) or `signet`.
    #[serde(default)]
    pub error_format: ErrorFormat,
    /// Refuse a signature seen before within the freshness window (needs the
    /// profile's window on).
    #[serde(default)]
    pub replay_cache: bool,
    /// Capacity of the replay cache (default 100000).
    pub replay_cache_entries: Option<usize>,
    /// Tolerance on the message's time (default 0s).
    pub clock_skew: Option<Duration>,
    /// Alias of `clock_skew` in seconds.
    pub clock_skew_s: Option<Seconds>,
    /// Write the audit record (`signet.audit.jws_verify`); default on.
    pub audit: Option<bool>,
    /// The partner registry inline (`docs/registry.md`), when not in the VM configuration.
    pub partners: Option<Vec<RawPartner>>,
    /// Access policies inline (see the partner registry).
    pub policies: Option<Vec<RawPolicy>>,
    /// MOSIP MISPs inline (see the partner registry).
    pub misps: Option<Vec<RawMisp>>,
    /// MOSIP partner domain → CA certificates, inline (see the partner registry).
    pub domain_ca: Option<BTreeMap<String, Vec<String>>>,
}

/// The members of [`RawVerifyConfig`] besides `profile`: the conformance loader files every
/// other setting of a flat vector under the profile's section.
pub const TOP_LEVEL: [&str; 21] = [
    "direction",
    "crypto_backend",
    "algorithms",
    "min_rsa_bits",
    "max_body_bytes",
    "body_timeout",
    "body_timeout_ms",
    "max_json_depth",
    "max_json_elements",
    "route_policy",
    "error_format",
    "replay_cache",
    "replay_cache_entries",
    "clock_skew",
    "clock_skew_s",
    "audit",
    "partners",
    "policies",
    "domain_ca",
    "misps",
    "profile",
];

/// A validated `jws_verify` configuration.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    pub crypto_backend: CryptoChoice,
    pub common: Common,
    pub profile: Verifier,
    pub registry: Registry,
}

impl VerifyConfig {
    /// Parses and validates the filter's JSON configuration.
    pub fn from_json(json: &str) -> Result<VerifyConfig, ConfigError> {
        VerifyConfig::from_json_with(json, None)
    }

    /// Parses and validates the filter's JSON configuration; `shared` is the VM's registry,
    /// which the configuration must then not repeat inline.
    pub fn from_json_with(
        json: &str,
        shared: Option<&Registry>,
    ) -> Result<VerifyConfig, ConfigError> {
        VerifyConfig::from_raw_with(ConfigError::parse_object(json.as_bytes())?, shared)
    }

    /// Validates an already deserialized configuration.
    pub fn from_raw(raw: RawVerifyConfig) -> Result<VerifyConfig, ConfigError> {
        VerifyConfig::from_raw_with(raw, None)
    }

    /// Validates an already deserialized configuration; `shared` as in [`Self::from_json_with`].
    pub fn from_raw_with(
        raw: RawVerifyConfig,
        shared: Option<&Registry>,
    ) -> Result<VerifyConfig, ConfigError> {
        let p = raw.profile.name();
        let (defaults, optional) = raw.profile.algorithms();
        let algorithms = match &raw.algorithms {
            None => defaults.to_vec(),
            Some(names) => {
                let mut v = Vec::new();
                for n in names {
                    let a = Alg::from_name(n).ok_or_else(|| {
                        ConfigError::new(
                            "algorithms",
                            format!("{n:?} is not supported (none and HS* never are)"),
                        )
                    })?;
                    if !optional.contains(&a) && !defaults.contains(&a) {
                        return Err(ConfigError::new(
                            "algorithms",
                            format!("{n:?} is not allowed for profile {}", p.name()),
                        ));
                    }
                    v.push(a);
                }
                if v.is_empty() {
                    return Err("algorithms: must not be empty".into());
                }
                v
            }
        };
        let min_rsa_bits = raw.min_rsa_bits.unwrap_or(2048);
        if min_rsa_bits < 1024 {
            return Err("min_rsa_bits: below 1024 is never acceptable".into());
        }
        let max_body_bytes = raw.max_body_bytes.unwrap_or(raw.profile.max_body_bytes());
        if max_body_bytes == 0 || max_body_bytes > 64 * 1024 * 1024 {
            return Err("max_body_bytes: must be between 1 and 67108864".into());
        }
        let body_timeout_ms = body_timeout(raw.body_timeout, raw.body_timeout_ms)?;
        let max_json_depth = raw.max_json_depth.unwrap_or(64);
        if !(1..=128).contains(&max_json_depth) {
            return Err("max_json_depth: must be between 1 and 128".into());
        }
        let max_json_elements = raw
            .max_json_elements
            .unwrap_or(crate::json::JsonLimits::DEFAULT_MAX_ELEMENTS);
        if !(1..=10_000_000).contains(&max_json_elements) {
            return Err("max_json_elements: must be between 1 and 10000000".into());
        }
        let replay_cache_entries = raw.replay_cache_entries.unwrap_or(100_000);
        if replay_cache_entries == 0 {
            return Err("replay_cache_entries: must be positive".into());
        }
        let clock_skew = pick(
            "clock_skew",
            raw.clock_skew,
            "clock_skew_s",
            raw.clock_skew_s,
        )?;
        let clock_skew_s = seconds_or_zero(clock_skew, "clock_skew")?;
        let common = Common {
            direction: raw.direction,
            algorithms: algorithms.clone(),
            min_rsa_bits,
            max_body_bytes,
            body_timeout_ms,
            max_json_depth,
            max_json_elements,
            route_policy: RoutePolicy::from_raw(&raw.route_policy)?,
            error_format: raw.error_format,
            replay_cache: raw.replay_cache,
            replay_cache_entries,
            clock_skew_s,
            audit: raw.audit.unwrap_or(true),
        };
        let profile = raw.profile.build(&common)?;
        if common.replay_cache && !profile.freshness_on() {
            return Err(ConfigError::new(
                "replay_cache",
                format!(
                    "needs the {} freshness window on (profile.{}.{})",
                    p.name(),
                    p.name(),
                    profile.window()
                ),
            ));
        }
        let registry = InlineMembers {
            partners: raw.partners,
            policies: raw.policies,
            misps: raw.misps,
            domain_ca: raw.domain_ca,
        }
        .resolve(shared)?
        .for_profile(&algorithms, min_rsa_bits)?;
        profile.check_registry(&common, &registry)?;
        Ok(VerifyConfig {
            crypto_backend: raw.crypto_backend,
            common,
            profile,
            registry,
        })
    }
}

impl VerifyConfig {
    /// The reply to a refusal (a rejection's error) of a request (provider side) or, with
    /// `client_side`, the 502 that replaces an unverifiable response on a partner's egress
    /// (docs/profiles.md#replies): the platform's own, or Signet's generic one with `error_format:
    /// signet`.
    pub fn reply(
        &self,
        refusal: &dyn Refusal,
        msg: &Message,
        ctx: &Context,
        request_id: &str,
        client_side: bool,
    ) -> Reply {
        if self.common.error_format == ErrorFormat::Signet {
            return crate::reply::generic(refusal.reason(), client_side.then_some(502));
        }
        self.profile
            .reply(refusal, msg, ctx, request_id, client_side)
    }
}
