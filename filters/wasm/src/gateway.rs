//! `gateway`: the first filter on every Signet chain.
//!
//! It removes every request header a client could use to impersonate a fact that Signet's own
//! filters establish (`x-signet-*`, e.g. `x-signet-partner`), so that any such header the
//! upstream sees was set by Signet; and it counts requests in an Envoy stat. It refuses a
//! request only when the host fails it (`internal`), with a verdict and an audit record like
//! every deciding filter.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel, MapType};
use signet_core::audit::{AuditRecord, Verdict};
pub use signet_core::config::gateway::{GatewayConfig, SIGNET_HEADER_PREFIX};
use signet_core::reason::Reason;

use crate::host::{self, events, Counters, Decisions};
use crate::hostcalls;
use crate::log;

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "gateway";

// Counter of requests seen: `wasmcustom.signet.gateway.requests` in `/stats`,
// `signet_requests{signet_filter="gateway"}` in Prometheus.
events! {
    REQUESTS = "requests",
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
        // Names only, looked at where the host put them: nothing is copied per header.
        let raw = host::read_map(MapType::HttpRequestHeaders)?;
        let names = host::header_names(&raw)?;
        let mut doomed: Vec<&str> = names
            .iter()
            .map(|name| name.as_ref())
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
