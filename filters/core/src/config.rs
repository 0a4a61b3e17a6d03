//! The `jws_verify` configuration: JSON in, a validated [`VerifyConfig`] out.
//!
//! Parsed once (Envoy's `on_configure`, or the CLI); every error names the field. Settings are
//! flat, as in profiles.md §2.11 and each profile's settings table; a setting that does not
//! belong to the chosen profile is an error rather than silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::jose::alg::Alg;
use crate::profiles::ocen_registry::{split_registry_url, RegistrySettings};
use crate::registry::{InlineMembers, RawMisp, RawPartner, RawPolicy, Registry};
use crate::route::{RawRule, RoutePolicy};

/// Which platform's wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    Mojaloop,
    Ocen,
    Mosip,
    Spar,
    Generic,
}

impl ProfileName {
    pub fn name(self) -> &'static str {
        match self {
            ProfileName::Mojaloop => "mojaloop",
            ProfileName::Ocen => "ocen",
            ProfileName::Mosip => "mosip",
            ProfileName::Spar => "spar",
            ProfileName::Generic => "generic",
        }
    }
}

/// Request path (provider side) or response path (a partner's egress).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Request,
    Response,
}

/// Which crypto implementation the filter uses (the CLI always uses pure Rust).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
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

/// Reply bodies: the platform's own, or Signet's generic `{"error":code}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ErrorFormat {
    #[default]
    Platform,
    Signet,
}

/// The configuration exactly as written (every profile's settings, all optional).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerifyConfig {
    pub profile: ProfileName,
    #[serde(default)]
    pub direction: Direction,
    /// Envoy only: `auto` (native where the host has it), `native`, or `rust`.
    #[serde(default)]
    pub crypto_backend: CryptoChoice,
    pub algorithms: Option<Vec<String>>,
    pub min_rsa_bits: Option<usize>,
    pub max_body_bytes: Option<usize>,
    pub body_timeout_ms: Option<u64>,
    pub max_json_depth: Option<usize>,
    pub max_json_elements: Option<usize>,
    #[serde(default)]
    pub route_policy: Vec<RawRule>,
    #[serde(default)]
    pub error_format: ErrorFormat,
    #[serde(default)]
    pub replay_cache: bool,
    pub replay_cache_entries: Option<usize>,
    #[serde(default)]
    pub clock_skew_s: i64,
    pub signature_header: Option<String>,
    /// The partner registry inline (`docs/registry.md`), when not in the VM configuration.
    pub partners: Option<Vec<RawPartner>>,
    pub policies: Option<Vec<RawPolicy>>,
    pub misps: Option<Vec<RawMisp>>,
    pub domain_ca: Option<BTreeMap<String, Vec<String>>>,
    // mojaloop
    pub payload_mode: Option<PayloadMode>,
    pub check_request_line: Option<bool>,
    pub uri_strip_prefix: Option<String>,
    pub source_binding: Option<SourceBinding>,
    pub trusted_forwarders: Option<Vec<String>>,
    pub date_window_s: Option<i64>,
    // ocen
    pub signature_headers: Option<Vec<String>>,
    pub identity_claim: Option<String>,
    pub require_approved: Option<bool>,
    pub allow_encoded_payload: Option<bool>,
    pub bind_originator: Option<bool>,
    pub timestamp_window_s: Option<i64>,
    pub skip_paths: Option<Vec<String>>,
    pub peer_participant_id: Option<String>,
    pub registry_url: Option<String>,
    pub registry_cluster: Option<String>,
    pub registry_ttl_s: Option<u64>,
    pub registry_stale_s: Option<u64>,
    pub registry_timeout_ms: Option<u64>,
    pub registry_token_env: Option<String>,
    pub registry_max_entries: Option<usize>,
    // mosip
    pub response_signature_header: Option<String>,
    pub partner_domain: Option<String>,
    pub accept_misp_certificate: Option<bool>,
    pub partner_checks: Option<bool>,
    pub request_time_window: Option<OnOff>,
    pub request_time_allowed_s: Option<i64>,
    pub request_time_adjustment_s: Option<i64>,
    pub x5c_pem_compat: Option<bool>,
    pub allow_padded_segments: Option<bool>,
    pub error_status: Option<String>,
    pub ida_certificate_sha256: Option<String>,
    // spar
    pub envelope: Option<Envelope>,
    pub bind_sender_to_peer: Option<bool>,
    pub keymanager_app_id: Option<String>,
    // generic
    pub require_kid: Option<bool>,
    pub iat_window_s: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadMode {
    Raw,
    RawThenCompact,
    RawThenSorted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceBinding {
    Peer,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Envelope {
    #[serde(rename = "spar-2")]
    Spar2,
    #[serde(rename = "g2pconnect-1")]
    G2pConnect1,
    #[serde(rename = "g2pconnect-http")]
    G2pConnectHttp,
}

/// Settings shared by every profile (§2.11).
#[derive(Clone, Debug)]
pub struct Common {
    pub direction: Direction,
    pub algorithms: Vec<Alg>,
    pub min_rsa_bits: usize,
    pub max_body_bytes: usize,
    /// How long a held message may take to end (headers to last byte) before it is refused.
    pub body_timeout_ms: u64,
    pub max_json_depth: usize,
    /// Most values (members, array items, scalars) a body parsed as JSON may hold (§2.6.3):
    /// bounds the tree built before the key is known.
    pub max_json_elements: usize,
    pub route_policy: RoutePolicy,
    pub error_format: ErrorFormat,
    pub replay_cache: bool,
    pub replay_cache_entries: usize,
    pub clock_skew_s: i64,
}

#[derive(Clone, Debug)]
pub struct Mojaloop {
    pub signature_header: String,
    pub payload_mode: PayloadMode,
    pub check_request_line: bool,
    pub uri_strip_prefix: String,
    pub source_binding: SourceBinding,
    pub trusted_forwarders: Vec<String>,
    pub date_window_s: i64,
}

#[derive(Clone, Debug)]
pub struct Ocen {
    pub signature_headers: Vec<String>,
    pub identity_claim: String,
    pub require_approved: bool,
    pub allow_encoded_payload: bool,
    pub bind_originator: bool,
    pub timestamp_window_s: i64,
    pub skip_paths: Vec<String>,
    /// Response direction: the participant whose key verifies the responses.
    pub peer_participant_id: Option<String>,
    /// `registry_url` and its companions: participants not configured statically get their
    /// key from the OCEN registry.
    pub registry: Option<RegistrySettings>,
}

#[derive(Clone, Debug)]
pub struct Mosip {
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
}

#[derive(Clone, Debug)]
pub struct Spar {
    pub signature_header: String,
    pub envelope: Envelope,
    pub bind_sender_to_peer: bool,
    pub timestamp_window_s: i64,
}

#[derive(Clone, Debug)]
pub struct Generic {
    pub signature_header: String,
    pub require_kid: bool,
    pub iat_window_s: i64,
}

/// The profile with its resolved settings.
#[derive(Clone, Debug)]
pub enum Profile {
    Mojaloop(Mojaloop),
    Ocen(Ocen),
    Mosip(Mosip),
    Spar(Spar),
    Generic(Generic),
}

impl Profile {
    pub fn name(&self) -> ProfileName {
        match self {
            Profile::Mojaloop(_) => ProfileName::Mojaloop,
            Profile::Ocen(_) => ProfileName::Ocen,
            Profile::Mosip(_) => ProfileName::Mosip,
            Profile::Spar(_) => ProfileName::Spar,
            Profile::Generic(_) => ProfileName::Generic,
        }
    }
}

/// A validated `jws_verify` configuration.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    pub crypto_backend: CryptoChoice,
    pub common: Common,
    pub profile: Profile,
    pub registry: Registry,
}

impl VerifyConfig {
    /// Parses and validates a configuration that carries its registry inline (if any).
    pub fn from_json(json: &str) -> Result<VerifyConfig, String> {
        VerifyConfig::from_json_with(json, None)
    }

    /// Parses and validates the filter's JSON configuration; `shared` is the VM's registry,
    /// which the configuration must then not repeat inline.
    pub fn from_json_with(json: &str, shared: Option<&Registry>) -> Result<VerifyConfig, String> {
        VerifyConfig::from_raw_with(&parse_named(json)?, shared)
    }

    /// Validates an already deserialized configuration (registry inline).
    pub fn from_raw(raw: &RawVerifyConfig) -> Result<VerifyConfig, String> {
        VerifyConfig::from_raw_with(raw, None)
    }

    /// Validates an already deserialized configuration.
    pub fn from_raw_with(
        raw: &RawVerifyConfig,
        shared: Option<&Registry>,
    ) -> Result<VerifyConfig, String> {
        let p = raw.profile;
        check_applicable(raw)?;
        let algorithms = match &raw.algorithms {
            None => default_algorithms(p).to_vec(),
            Some(names) => {
                let mut v = Vec::new();
                for n in names {
                    let a = Alg::from_name(n).ok_or_else(|| {
                        format!("algorithms: {n:?} is not supported (none and HS* never are)")
                    })?;
                    if !optional_algorithms(p).contains(&a) && !default_algorithms(p).contains(&a) {
                        return Err(format!(
                            "algorithms: {n:?} is not allowed for profile {}",
                            p.name()
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
        if p == ProfileName::Ocen && min_rsa_bits < 2048 {
            return Err("min_rsa_bits: ocen requires 2048 (jose4j's minimum)".into());
        }
        let max_body_bytes = raw.max_body_bytes.unwrap_or(match p {
            ProfileName::Mojaloop | ProfileName::Ocen => 5_242_880,
            _ => 1_048_576,
        });
        if max_body_bytes == 0 || max_body_bytes > 64 * 1024 * 1024 {
            return Err("max_body_bytes: must be between 1 and 67108864".into());
        }
        let body_timeout_ms = body_timeout(raw.body_timeout_ms)?;
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
        if raw.clock_skew_s < 0 {
            return Err("clock_skew_s: must not be negative".into());
        }
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
            clock_skew_s: raw.clock_skew_s,
        };
        let profile = build_profile(raw)?;
        if common.replay_cache && !freshness_on(&profile) {
            return Err(format!(
                "replay_cache: needs the {} freshness window on ({})",
                p.name(),
                window_setting(p)
            ));
        }
        if raw.direction == Direction::Response {
            check_response_direction(&profile)?;
        }
        let registry = InlineMembers {
            partners: raw.partners.clone(),
            policies: raw.policies.clone(),
            misps: raw.misps.clone(),
            domain_ca: raw.domain_ca.clone(),
        }
        .resolve(shared)
        .map_err(|e| e.to_string())?
        .for_profile(&algorithms, min_rsa_bits)?;
        if let Profile::Mosip(m) = &profile {
            if registry.cas(&m.partner_domain).is_empty() && raw.direction == Direction::Request {
                return Err(format!(
                    "domain_ca: no CA certificate for partner_domain {:?}",
                    m.partner_domain
                ));
            }
        }
        Ok(VerifyConfig {
            crypto_backend: raw.crypto_backend,
            common,
            profile,
            registry,
        })
    }
}

/// Deserializes a configuration so that an error names the field: `partners[0].keys[1].kid:
/// invalid type ...` rather than a line and column.
pub fn parse_named<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        let inner = inner
            .rsplit_once(" at line ")
            .map_or(inner.as_str(), |(m, _)| m)
            .to_string();
        // An unknown member named "" has an empty path.
        if path == "." || path.is_empty() {
            format!("configuration: {inner}")
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// The profile's default algorithms (§1, §3.7, §4.4, §5.8, §6.7, §7.4).
pub fn default_algorithms(p: ProfileName) -> &'static [Alg] {
    match p {
        ProfileName::Mojaloop => &[Alg::RS256, Alg::ES256],
        ProfileName::Ocen => &[Alg::RS256],
        ProfileName::Mosip => &[Alg::RS256, Alg::ES256],
        ProfileName::Spar => &[Alg::RS256],
        ProfileName::Generic => &Alg::ALL,
    }
}

/// Algorithms a profile may enable beyond its defaults.
pub fn optional_algorithms(p: ProfileName) -> &'static [Alg] {
    match p {
        ProfileName::Mojaloop => &[Alg::RS384, Alg::RS512],
        ProfileName::Ocen => &[],
        ProfileName::Mosip => &[
            Alg::RS384,
            Alg::RS512,
            Alg::PS256,
            Alg::PS384,
            Alg::PS512,
            Alg::ES384,
            Alg::EdDSA,
        ],
        ProfileName::Spar => &[Alg::PS256, Alg::ES256, Alg::EdDSA],
        ProfileName::Generic => &[],
    }
}

fn freshness_on(p: &Profile) -> bool {
    match p {
        Profile::Mojaloop(m) => m.date_window_s > 0,
        Profile::Ocen(o) => o.timestamp_window_s > 0,
        Profile::Mosip(m) => m.request_time_window,
        Profile::Spar(s) => s.timestamp_window_s > 0,
        Profile::Generic(g) => g.iat_window_s > 0,
    }
}

fn window_setting(p: ProfileName) -> &'static str {
    match p {
        ProfileName::Mojaloop => "date_window_s",
        ProfileName::Ocen | ProfileName::Spar => "timestamp_window_s",
        ProfileName::Mosip => "request_time_window",
        ProfileName::Generic => "iat_window_s",
    }
}

fn check_response_direction(p: &Profile) -> Result<(), String> {
    match p {
        Profile::Mojaloop(_) => {
            Err("direction: mojaloop responses are never signed (FSPIOP Signature v1.1 §2)".into())
        }
        Profile::Spar(_) => Err("direction: spar responses are never signed".into()),
        Profile::Ocen(o) if o.peer_participant_id.is_none() => {
            Err("peer_participant_id: required with direction response (whose key verifies)".into())
        }
        Profile::Mosip(m) if m.ida_certificate_sha256.is_none() => {
            Err("ida_certificate_sha256: required with direction response".into())
        }
        _ => Ok(()),
    }
}

/// Settings that belong to one profile only; naming one under another profile is an error.
/// Default bound on a held message: generous for a 5 MiB body on a slow link, short enough that
/// a client cannot park streams in the gateway.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 30_000;

/// Validates `body_timeout_ms` (shared by the verifier and the signer).
pub fn body_timeout(raw: Option<u64>) -> Result<u64, String> {
    let ms = raw.unwrap_or(DEFAULT_BODY_TIMEOUT_MS);
    if !(100..=600_000).contains(&ms) {
        return Err("body_timeout_ms: must be between 100 and 600000".into());
    }
    Ok(ms)
}

fn check_applicable(raw: &RawVerifyConfig) -> Result<(), String> {
    use ProfileName::*;
    let given: [(&str, bool, &[ProfileName]); 26] = [
        ("payload_mode", raw.payload_mode.is_some(), &[Mojaloop]),
        (
            "check_request_line",
            raw.check_request_line.is_some(),
            &[Mojaloop],
        ),
        (
            "uri_strip_prefix",
            raw.uri_strip_prefix.is_some(),
            &[Mojaloop],
        ),
        ("source_binding", raw.source_binding.is_some(), &[Mojaloop]),
        (
            "trusted_forwarders",
            raw.trusted_forwarders.is_some(),
            &[Mojaloop],
        ),
        ("date_window_s", raw.date_window_s.is_some(), &[Mojaloop]),
        (
            "signature_headers",
            raw.signature_headers.is_some(),
            &[Ocen],
        ),
        ("identity_claim", raw.identity_claim.is_some(), &[Ocen]),
        ("require_approved", raw.require_approved.is_some(), &[Ocen]),
        (
            "allow_encoded_payload",
            raw.allow_encoded_payload.is_some(),
            &[Ocen],
        ),
        ("bind_originator", raw.bind_originator.is_some(), &[Ocen]),
        (
            "timestamp_window_s",
            raw.timestamp_window_s.is_some(),
            &[Ocen, Spar],
        ),
        ("skip_paths", raw.skip_paths.is_some(), &[Ocen]),
        (
            "peer_participant_id",
            raw.peer_participant_id.is_some(),
            &[Ocen],
        ),
        (
            "response_signature_header",
            raw.response_signature_header.is_some(),
            &[Mosip],
        ),
        ("partner_domain", raw.partner_domain.is_some(), &[Mosip]),
        (
            "accept_misp_certificate",
            raw.accept_misp_certificate.is_some(),
            &[Mosip],
        ),
        ("partner_checks", raw.partner_checks.is_some(), &[Mosip]),
        (
            "request_time_window",
            raw.request_time_window.is_some(),
            &[Mosip],
        ),
        (
            "request_time_allowed_s",
            raw.request_time_allowed_s.is_some(),
            &[Mosip],
        ),
        (
            "request_time_adjustment_s",
            raw.request_time_adjustment_s.is_some(),
            &[Mosip],
        ),
        ("x5c_pem_compat", raw.x5c_pem_compat.is_some(), &[Mosip]),
        (
            "allow_padded_segments",
            raw.allow_padded_segments.is_some(),
            &[Mosip],
        ),
        ("error_status", raw.error_status.is_some(), &[Mosip]),
        (
            "ida_certificate_sha256",
            raw.ida_certificate_sha256.is_some(),
            &[Mosip],
        ),
        ("envelope", raw.envelope.is_some(), &[Spar]),
    ];
    let more: [(&str, bool, &[ProfileName]); 11] = [
        ("registry_url", raw.registry_url.is_some(), &[Ocen]),
        ("registry_cluster", raw.registry_cluster.is_some(), &[Ocen]),
        ("registry_ttl_s", raw.registry_ttl_s.is_some(), &[Ocen]),
        ("registry_stale_s", raw.registry_stale_s.is_some(), &[Ocen]),
        (
            "registry_timeout_ms",
            raw.registry_timeout_ms.is_some(),
            &[Ocen],
        ),
        (
            "registry_token_env",
            raw.registry_token_env.is_some(),
            &[Ocen],
        ),
        (
            "registry_max_entries",
            raw.registry_max_entries.is_some(),
            &[Ocen],
        ),
        (
            "bind_sender_to_peer",
            raw.bind_sender_to_peer.is_some(),
            &[Spar],
        ),
        (
            "keymanager_app_id",
            raw.keymanager_app_id.is_some(),
            &[Spar],
        ),
        ("require_kid", raw.require_kid.is_some(), &[Generic]),
        ("iat_window_s", raw.iat_window_s.is_some(), &[Generic]),
    ];
    for (name, set, profiles) in given.iter().chain(more.iter()) {
        if *set && !profiles.contains(&raw.profile) {
            return Err(format!(
                "{name}: not a setting of profile {}",
                raw.profile.name()
            ));
        }
    }
    Ok(())
}

fn non_negative(v: Option<i64>, name: &str) -> Result<i64, String> {
    match v {
        Some(x) if x < 0 => Err(format!("{name}: must not be negative")),
        Some(x) => Ok(x),
        None => Ok(0),
    }
}

fn header_name(v: &Option<String>, default: &str, field: &str) -> Result<String, String> {
    let name = v.clone().unwrap_or_else(|| default.to_string());
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!("{field}: {name:?} is not a header name"));
    }
    Ok(name.to_ascii_lowercase())
}

fn build_profile(raw: &RawVerifyConfig) -> Result<Profile, String> {
    Ok(match raw.profile {
        ProfileName::Mojaloop => Profile::Mojaloop(Mojaloop {
            signature_header: header_name(
                &raw.signature_header,
                "fspiop-signature",
                "signature_header",
            )?,
            payload_mode: raw.payload_mode.unwrap_or(PayloadMode::Raw),
            check_request_line: raw.check_request_line.unwrap_or(false),
            uri_strip_prefix: raw.uri_strip_prefix.clone().unwrap_or_default(),
            source_binding: raw.source_binding.unwrap_or(SourceBinding::Peer),
            trusted_forwarders: raw.trusted_forwarders.clone().unwrap_or_default(),
            date_window_s: non_negative(raw.date_window_s, "date_window_s")?,
        }),
        ProfileName::Ocen => {
            if raw.signature_header.is_some() {
                return Err("signature_header: ocen reads signature_headers (a list)".into());
            }
            let signature_headers = match &raw.signature_headers {
                Some(v) if v.is_empty() => {
                    return Err("signature_headers: must not be empty".into())
                }
                Some(v) => v
                    .iter()
                    .map(|h| header_name(&Some(h.clone()), "", "signature_headers"))
                    .collect::<Result<_, _>>()?,
                None => vec!["x-jws-signature".into(), "signature".into()],
            };
            Profile::Ocen(Ocen {
                signature_headers,
                identity_claim: raw
                    .identity_claim
                    .clone()
                    .unwrap_or_else(|| "participantId".into()),
                require_approved: raw.require_approved.unwrap_or(true),
                allow_encoded_payload: raw.allow_encoded_payload.unwrap_or(true),
                bind_originator: raw.bind_originator.unwrap_or(false),
                timestamp_window_s: non_negative(raw.timestamp_window_s, "timestamp_window_s")?,
                skip_paths: raw
                    .skip_paths
                    .clone()
                    .unwrap_or_else(|| vec!["/common/heartbeat".into()]),
                peer_participant_id: raw.peer_participant_id.clone(),
                registry: registry_settings(raw)?,
            })
        }
        ProfileName::Mosip => {
            let header_default = if raw.direction == Direction::Response {
                raw.response_signature_header
                    .clone()
                    .unwrap_or_else(|| "response-signature".into())
            } else {
                "signature".into()
            };
            let error_status_4xx = match raw.error_status.as_deref() {
                None | Some("200") => false,
                Some("4xx") => true,
                Some(o) => return Err(format!("error_status: {o:?} is not 200 or 4xx")),
            };
            let allowed = non_negative(raw.request_time_allowed_s, "request_time_allowed_s")?;
            let adjust = non_negative(raw.request_time_adjustment_s, "request_time_adjustment_s")?;
            Profile::Mosip(Mosip {
                signature_header: header_name(
                    &raw.signature_header,
                    &header_default,
                    "signature_header",
                )?,
                partner_domain: raw.partner_domain.clone().unwrap_or_else(|| "AUTH".into()),
                accept_misp_certificate: raw.accept_misp_certificate.unwrap_or(true),
                partner_checks: raw.partner_checks.unwrap_or(true),
                request_time_window: raw.request_time_window.unwrap_or(OnOff::On) == OnOff::On
                    && raw.direction == Direction::Request,
                request_time_allowed_s: if raw.request_time_allowed_s.is_some() {
                    allowed
                } else {
                    30
                },
                request_time_adjustment_s: if raw.request_time_adjustment_s.is_some() {
                    adjust
                } else {
                    30
                },
                x5c_pem_compat: raw.x5c_pem_compat.unwrap_or(false),
                allow_padded_segments: raw.allow_padded_segments.unwrap_or(false),
                error_status_4xx,
                ida_certificate_sha256: match &raw.ida_certificate_sha256 {
                    Some(h) => {
                        let b = hex::decode(h)
                            .map_err(|_| "ida_certificate_sha256: not hex".to_string())?;
                        if b.len() != 32 {
                            return Err("ida_certificate_sha256: must be 32 bytes".into());
                        }
                        Some(h.to_ascii_uppercase())
                    }
                    None => None,
                },
            })
        }
        ProfileName::Spar => Profile::Spar(Spar {
            signature_header: header_name(&raw.signature_header, "signature", "signature_header")?,
            envelope: raw.envelope.unwrap_or(Envelope::Spar2),
            bind_sender_to_peer: raw.bind_sender_to_peer.unwrap_or(true),
            timestamp_window_s: non_negative(raw.timestamp_window_s, "timestamp_window_s")?,
        }),
        ProfileName::Generic => Profile::Generic(Generic {
            signature_header: header_name(
                &raw.signature_header,
                "x-jws-signature",
                "signature_header",
            )?,
            require_kid: raw.require_kid.unwrap_or(false),
            iat_window_s: non_negative(raw.iat_window_s, "iat_window_s")?,
        }),
    })
}

/// The `registry_*` settings of the `ocen` profile; each error names its field.
fn registry_settings(raw: &RawVerifyConfig) -> Result<Option<RegistrySettings>, String> {
    let Some(url) = &raw.registry_url else {
        let companions = [
            ("registry_cluster", raw.registry_cluster.is_some()),
            ("registry_ttl_s", raw.registry_ttl_s.is_some()),
            ("registry_stale_s", raw.registry_stale_s.is_some()),
            ("registry_timeout_ms", raw.registry_timeout_ms.is_some()),
            ("registry_token_env", raw.registry_token_env.is_some()),
            ("registry_max_entries", raw.registry_max_entries.is_some()),
        ];
        if let Some((name, _)) = companions.iter().find(|(_, set)| *set) {
            return Err(format!("{name}: needs registry_url"));
        }
        return Ok(None);
    };
    if raw.direction == Direction::Response {
        return Err(
            "registry_url: only with direction request (responses are verified with a static partner)"
                .into(),
        );
    }
    let (authority, base_path) = split_registry_url(url)?;
    let cluster =
        match &raw.registry_cluster {
            Some(c) if !c.trim().is_empty() => c.clone(),
            _ => return Err(
                "registry_cluster: required with registry_url (the Envoy cluster of the registry)"
                    .into(),
            ),
        };
    let ttl_s = raw.registry_ttl_s.unwrap_or(300);
    if !(1..=86_400).contains(&ttl_s) {
        return Err("registry_ttl_s: must be between 1 and 86400".into());
    }
    let stale_s = raw.registry_stale_s.unwrap_or(3_600);
    if stale_s > 7 * 86_400 {
        return Err("registry_stale_s: must be at most 604800 (7 days)".into());
    }
    let timeout_ms = raw.registry_timeout_ms.unwrap_or(5_000);
    if !(1..=60_000).contains(&timeout_ms) {
        return Err("registry_timeout_ms: must be between 1 and 60000".into());
    }
    let max_entries = raw
        .registry_max_entries
        .unwrap_or(crate::profiles::ocen_registry::DEFAULT_MAX_ENTRIES);
    if !(1..=1_000_000).contains(&max_entries) {
        return Err("registry_max_entries: must be between 1 and 1000000".into());
    }
    let token_env = match &raw.registry_token_env {
        Some(v)
            if v.is_empty()
                || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                || v.as_bytes().first().is_some_and(u8::is_ascii_digit) =>
        {
            return Err(format!(
                "registry_token_env: {v:?} is not an environment variable name"
            ))
        }
        other => other.clone(),
    };
    Ok(Some(RegistrySettings {
        url: url.clone(),
        authority,
        base_path,
        cluster,
        ttl_s,
        stale_s,
        timeout_ms,
        token_env,
        max_entries,
    }))
}
