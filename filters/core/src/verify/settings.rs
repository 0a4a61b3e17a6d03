//! The settings every profile shares (docs/configuration.md#jws_verify): the top level of a
//! `jws_verify` configuration, resolved. A profile's own settings are its section
//! (`crate::profiles`).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::jose::alg::Alg;
use crate::route::RoutePolicy;

/// Request path (provider side) or response path (a partner's egress).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Request,
    Response,
}

/// Reply bodies: the platform's own, or Signet's generic `{"error":code}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorFormat {
    #[default]
    Platform,
    Signet,
}

/// Settings shared by every profile (docs/configuration.md#jws_verify).
#[derive(Clone, Debug)]
pub struct Common {
    pub direction: Direction,
    pub algorithms: Vec<Alg>,
    pub min_rsa_bits: usize,
    pub max_body_bytes: usize,
    /// How long a held message may take to end (headers to last byte) before it is refused.
    pub body_timeout_ms: u64,
    pub max_json_depth: usize,
    /// Most values (members, array items, scalars) a body parsed as JSON may hold
    /// (docs/profiles.md#bodies): bounds the tree built before the key is known.
    pub max_json_elements: usize,
    pub route_policy: RoutePolicy,
    pub error_format: ErrorFormat,
    pub replay_cache: bool,
    pub replay_cache_entries: usize,
    pub clock_skew_s: i64,
    /// Write the audit record (`signet.audit.jws_verify`) for the access log.
    pub audit: bool,
}
