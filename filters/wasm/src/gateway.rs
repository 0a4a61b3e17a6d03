//! `gateway`: the first filter on every Signet chain.
//!
//! It removes every request header a client could use to impersonate a fact that Signet's own
//! filters establish (`x-signet-*`, e.g. `x-signet-partner`), so that any such header the
//! upstream sees was set by Signet; and it counts requests in an Envoy stat. It refuses a
//! request only when the host fails it (`internal`), with a verdict and an audit record like
//! every deciding filter.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel, MapType};
use serde_json::Value;
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::reason::Reason;

use crate::host::{self, events, Counters, Decisions};
use crate::log;

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "gateway";

/// Headers with this prefix belong to Signet; they are always stripped from requests.
pub const SIGNET_HEADER_PREFIX: &str = "x-signet-";

// Counter of requests seen: `wasmcustom.signet.gateway.requests` in `/stats`,
// `signet_requests{signet_filter="gateway"}` in Prometheus.
events! {
    REQUESTS = "requests",
}

/// The parsed `configuration` of a `gateway` filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Lower-case header name prefixes removed from every request; always holds `x-signet-`.
    pub strip_header_prefixes: Vec<String>,
    /// Write the audit record of a refusal (`signet.audit.gateway`); default on.
    pub audit: bool,
}

impl GatewayConfig {
    /// Parses the JSON configuration; an empty configuration means all defaults.
    ///
    /// Accepted: `{"strip_header_prefixes": ["x-internal-", ...]}` (optional; added to
    /// `x-signet-`, which cannot be removed). Unknown fields are refused so a typo does not
    /// silently disable a setting.
    pub fn parse(raw: &[u8]) -> Result<Self, String> {
        let mut config = GatewayConfig {
            strip_header_prefixes: vec![SIGNET_HEADER_PREFIX.to_string()],
            audit: true,
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(config);
        }
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| format!("configuration is not JSON: {e}"))?;
        let Value::Object(fields) = value else {
            return Err("configuration must be a JSON object".to_string());
        };
        for (name, field) in &fields {
            match name.as_str() {
                "strip_header_prefixes" => {
                    let Value::Array(items) = field else {
                        return Err(
                            "field strip_header_prefixes: expected an array of strings".to_string()
                        );
                    };
                    for (i, item) in items.iter().enumerate() {
                        let prefix = item.as_str().ok_or_else(|| {
                            format!("field strip_header_prefixes[{i}]: expected a string")
                        })?;
                        validate_prefix(prefix)
                            .map_err(|e| format!("field strip_header_prefixes[{i}]: {e}"))?;
                        if !config.strip_header_prefixes.iter().any(|p| p == prefix) {
                            config.strip_header_prefixes.push(prefix.to_string());
                        }
                    }
                }
                "audit" => {
                    config.audit = field
                        .as_bool()
                        .ok_or_else(|| "field audit: expected true or false".to_string())?;
                }
                other => {
                    return Err(format!(
                        "unknown field \"{other}\" (known: strip_header_prefixes, audit)"
                    ))
                }
            }
        }
        Ok(config)
    }

    /// Whether a request header of this name must be removed.
    pub fn strips(&self, header_name: &str) -> bool {
        self.strip_header_prefixes.iter().any(|prefix| {
            header_name
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        })
    }
}

/// A prefix must be a non-empty, lower-case HTTP token (Envoy hands header names lower-cased).
fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("empty prefix would strip every header".to_string());
    }
    let ok = prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{prefix}\" is not a lower-case header name prefix (a-z, 0-9, '-', '_', '.')"
        ))
    }
}

/// A configured `gateway` filter, shared by all its requests on one worker.
pub struct Gateway {
    config: GatewayConfig,
    counters: Counters,
    decisions: Decisions,
}

impl Gateway {
    /// Defines the filter's stats; Envoy returns the same metric to every worker's VM.
    pub fn new(config: GatewayConfig) -> Result<Self, String> {
        Ok(Gateway {
            config,
            counters: Counters::define(ROOT_ID, EVENTS)?,
            decisions: Decisions::new(ROOT_ID, "none", [])?,
        })
    }

    /// A refusal: counted, audited when configured, answered with 500 `internal`.
    fn refuse(&self) {
        let verdict = Verdict::Refused(Reason::Internal);
        self.decisions.count(None, verdict);
        if self.config.audit {
            let (method, path) = host::request_line().unwrap_or_default();
            let mut record =
                AuditRecord::new(host::now_ms_u64(), ROOT_ID, "none", verdict, &method, &path);
            record.status = Some(500);
            host::set_audit(&record);
        }
        if let Err(status) = hostcalls::send_http_response(
            500,
            vec![("x-signet-reason", Reason::Internal.code())],
            None,
        ) {
            log(LogLevel::Critical, &format!("cannot send 500: {status:?}"));
        }
    }
}

/// Per-request context of the `gateway` filter.
pub struct GatewayRequest {
    gateway: Rc<Gateway>,
    /// Refused with a local reply: nothing that arrives later may resume the request.
    refused: bool,
}

impl GatewayRequest {
    pub fn new(gateway: Rc<Gateway>) -> Self {
        GatewayRequest {
            gateway,
            refused: false,
        }
    }

    fn strip_reserved_headers(&self) -> Result<(), String> {
        let headers = hostcalls::get_map_bytes(MapType::HttpRequestHeaders)
            .map_err(|status| format!("cannot read request headers: {status:?}"))?;
        let mut doomed: Vec<&str> = headers
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| self.gateway.config.strips(name))
            .collect();
        // A repeated header appears once per value; one removal takes all of them.
        doomed.sort_unstable();
        doomed.dedup();
        for name in doomed {
            hostcalls::remove_map_value(MapType::HttpRequestHeaders, name)
                .map_err(|status| format!("cannot remove header {name}: {status:?}"))?;
        }
        Ok(())
    }
}

impl Context for GatewayRequest {}

impl HttpContext for GatewayRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Test-trap builds only (tests/test_faults.py); a no-op in the shipped module.
        crate::trap::check();
        self.gateway.counters.inc(REQUESTS);
        match self.strip_reserved_headers() {
            Ok(()) => Action::Continue,
            Err(message) => {
                // A forged x-signet-* header might survive: refuse rather than forward it.
                log(LogLevel::Error, &message);
                self.gateway.refuse();
                self.refused = true;
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        crate::waiters::hold_if(self.refused)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        crate::waiters::hold_if(self.refused)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // An upstream's x-signet-* headers would pass for Signet's verdict at the client and in
        // the access log: they go (Signet's own local replies keep theirs).
        if let Err(message) = crate::host::strip_signet_from_upstream_response() {
            log(LogLevel::Error, &message);
        }
        Action::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<GatewayConfig, String> {
        GatewayConfig::parse(raw.as_bytes())
    }

    #[test]
    fn empty_and_blank_configurations_mean_defaults() {
        for raw in ["", "  \n", "{}"] {
            assert_eq!(
                parse(raw),
                Ok(GatewayConfig {
                    strip_header_prefixes: vec!["x-signet-".to_string()],
                    audit: true,
                }),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn audit_can_be_turned_off() {
        assert_eq!(parse(r#"{"audit": false}"#).map(|c| c.audit), Ok(false));
    }

    #[test]
    fn extra_prefixes_are_added_to_the_signet_prefix() {
        let config = parse(r#"{"strip_header_prefixes": ["x-internal-", "x-signet-"]}"#);
        assert_eq!(
            config.map(|c| c.strip_header_prefixes),
            Ok(vec!["x-signet-".to_string(), "x-internal-".to_string()])
        );
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let cases = [
            ("[1]", "JSON object"),
            ("{", "not JSON"),
            (r#"{"strip_header_prefix": []}"#, "strip_header_prefix\""),
            (
                r#"{"strip_header_prefixes": "x-"}"#,
                "strip_header_prefixes",
            ),
            (
                r#"{"strip_header_prefixes": [1]}"#,
                "strip_header_prefixes[0]",
            ),
            (
                r#"{"strip_header_prefixes": ["x-a-", ""]}"#,
                "strip_header_prefixes[1]",
            ),
            (
                r#"{"strip_header_prefixes": ["X-Up"]}"#,
                "strip_header_prefixes[0]",
            ),
            (
                r#"{"strip_header_prefixes": ["x y"]}"#,
                "strip_header_prefixes[0]",
            ),
            (r#"{"audit": "yes"}"#, "field audit"),
        ];
        for (raw, needle) in cases {
            let message = parse(raw).err().unwrap_or_default();
            assert!(message.contains(needle), "{raw}: {message:?}");
        }
    }

    #[test]
    fn strips_signet_headers_in_any_case_and_nothing_else() {
        let config = parse("{}").unwrap_or_else(|_| GatewayConfig {
            strip_header_prefixes: Vec::new(),
            audit: false,
        });
        for name in ["x-signet-partner", "X-Signet-Policy", "x-signet-"] {
            assert!(config.strips(name), "{name}");
        }
        for name in [
            "x-signet",
            "x-signe",
            "signet",
            "authorization",
            "x-signetpartner",
            "",
        ] {
            assert!(!config.strips(name), "{name}");
        }
    }
}
