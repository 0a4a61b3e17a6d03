//! `jws_verify`: verifies the body signature of every request (or, with `direction: response`,
//! every upstream response) inside Envoy's data path.
//!
//! Headers are held (`allow_on_headers_stop_iteration: true` is required) until the whole body
//! has arrived, so nothing reaches the upstream — or the partner application — before the
//! signature checked out. The body is read once at end of stream, verified by the core, and
//! dropped with the request context.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use signet_core::config::{Direction, VerifyConfig};
use signet_core::message::{Context as VerifyContext, Message};
use signet_core::reason::Reason;
use signet_core::reply::for_rejection;
use signet_core::trace::Trace;
use signet_core::verify::{verify, Outcome, Rejection, Run};

use crate::host::{self, Counters, SharedReplay};
use crate::log;
use crate::native_crypto::{Backend, NativeSupport};

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "jws_verify";
const STAT: &str = "signet.jws_verify";

/// A configured `jws_verify` filter, shared by its requests on one worker.
pub struct JwsVerify {
    cfg: VerifyConfig,
    backend: Backend,
    counters: Counters,
}

impl JwsVerify {
    /// Parses and validates the configuration, probes the host's crypto, defines the stats.
    pub fn configure(raw: &[u8]) -> Result<JwsVerify, String> {
        let text =
            std::str::from_utf8(raw).map_err(|_| "configuration is not UTF-8".to_string())?;
        let cfg = VerifyConfig::from_json(text)?;
        let native = match cfg.crypto_backend {
            signet_core::config::CryptoChoice::Rust => NativeSupport::default(),
            signet_core::config::CryptoChoice::Auto => NativeSupport::probe(),
            signet_core::config::CryptoChoice::Native => {
                let n = NativeSupport::probe();
                if !n.verify {
                    return Err("crypto_backend: native requested but this Envoy has no verify_signature (needs Envoy >= 1.37)".into());
                }
                n
            }
        };
        let mut counters = Counters::default();
        for name in ["verified", "unsigned", "skipped"] {
            counters.define(&format!("{STAT}.{name}"))?;
        }
        for r in Reason::ALL {
            counters.define(&format!("{STAT}.reject.{}", r.code()))?;
        }
        for p in cfg.registry.partners() {
            let id = host::stat_name(&p.id);
            counters.define(&format!("{STAT}.partner.{id}.verified"))?;
            counters.define(&format!("{STAT}.partner.{id}.rejected"))?;
        }
        let backend = Backend { native };
        log(
            LogLevel::Info,
            &format!(
                "signet jws_verify: profile {}, {} partner(s), crypto {}",
                cfg.profile.name().name(),
                cfg.registry.partners().len(),
                signet_core::crypto::CryptoBackend::name(&backend)
            ),
        );
        Ok(JwsVerify {
            cfg,
            backend,
            counters,
        })
    }
}

/// Per-request state: the message as it builds up. Dropped with the stream.
pub struct JwsVerifyRequest {
    filter: Rc<JwsVerify>,
    msg: Message,
    done: bool,
}

impl JwsVerifyRequest {
    pub fn new(filter: Rc<JwsVerify>) -> JwsVerifyRequest {
        JwsVerifyRequest {
            filter,
            msg: Message::default(),
            done: false,
        }
    }

    fn response_mode(&self) -> bool {
        self.filter.cfg.common.direction == Direction::Response
    }

    /// The authenticated peer: the partner `token_check` bound (filter state `signet.partner`;
    /// it already tied the certificate, token and API key to one partner) when it ran, else
    /// the partner this filter's registry finds for the mTLS certificate.
    fn peers(&self) -> (Option<String>, Option<String>) {
        let registry = &self.filter.cfg.registry;
        let cert = host::peer_certificate_names()
            .iter()
            .find_map(|n| registry.by_tls_name(n))
            .map(|p| p.id.clone());
        (host::property(&["signet.partner"]), cert)
    }

    fn context(&self) -> VerifyContext {
        let (bound, cert) = self.peers();
        VerifyContext {
            now_ms: host::now_ms(),
            peer: bound.or(cert),
            token_claims: host::property(&["signet.token_claims"])
                .and_then(|s| serde_json::from_str(&s).ok()),
            route_name: host::property(&["xds", "route_name"]),
        }
    }

    /// Runs the verification on the complete message and acts on the verdict.
    fn finish(&mut self) -> Action {
        if !self.response_mode() {
            if let (Some(bound), Some(cert)) = self.peers() {
                if bound != cert {
                    // Two filters' registries disagree on who is calling: fail closed.
                    return self.reject_now(
                        Reason::PeerMismatch,
                        "token_check's partner is not the certificate's partner",
                    );
                }
            }
        }
        self.done = true;
        let f = Rc::clone(&self.filter);
        let ctx = self.context();
        let mut replay = SharedReplay {
            prefix: "signet.replay.".into(),
            capacity: f.cfg.common.replay_cache_entries as u64,
        };
        let mut trace = Trace::off();
        let result = verify(&mut Run {
            cfg: &f.cfg,
            msg: &self.msg,
            ctx: &ctx,
            backend: &f.backend,
            replay: Some(&mut replay),
            trace: &mut trace,
        });
        let action = match result {
            Ok(outcome) => {
                self.accepted(&outcome);
                Action::Continue
            }
            Err(rej) => {
                // The reply may echo fields of the request body (ids), so it is built first.
                self.rejected(&rej, &ctx);
                Action::Pause
            }
        };
        // The body is no longer needed: release it for the rest of the stream.
        self.msg.body = Vec::new();
        action
    }

    fn accepted(&self, outcome: &Outcome) {
        let c = &self.filter.counters;
        match outcome {
            Outcome::Verified { partner, .. } => {
                c.inc(&format!("{STAT}.verified"));
                c.inc(&format!(
                    "{STAT}.partner.{}.verified",
                    host::stat_name(partner)
                ));
                host::set_state("signet.partner", partner);
                host::set_state("signet.signature", "verified");
            }
            Outcome::Unsigned => {
                c.inc(&format!("{STAT}.unsigned"));
                host::set_state("signet.signature", "unsigned");
            }
            Outcome::Skipped => {
                c.inc(&format!("{STAT}.skipped"));
                host::set_state("signet.signature", "skipped");
            }
        }
    }

    fn rejected(&self, rej: &Rejection, ctx: &VerifyContext) {
        let c = &self.filter.counters;
        c.inc(&format!("{STAT}.reject.{}", rej.reason.code()));
        if let Some(p) = &rej.partner {
            c.inc(&format!("{STAT}.partner.{}.rejected", host::stat_name(p)));
        }
        host::set_state("signet.signature", "rejected");
        host::set_state("signet.reason", rej.reason.code());
        log(
            LogLevel::Info,
            &format!(
                "signet jws_verify: rejected {} {}: {} ({}){}",
                self.msg.method,
                self.msg.path,
                rej.reason,
                rej.detail,
                rej.partner
                    .as_deref()
                    .map(|p| format!(", partner {p}"))
                    .unwrap_or_default()
            ),
        );
        let request_id = self
            .msg
            .header("x-request-id")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:08x}", ctx.now_ms as u32));
        let reply = for_rejection(
            &self.filter.cfg,
            rej,
            &self.msg,
            ctx,
            &request_id,
            self.response_mode(),
        );
        host::send(&reply);
    }

    fn reject_now(&mut self, reason: Reason, detail: &str) -> Action {
        self.done = true;
        let ctx = self.context();
        self.rejected(&Rejection::new(reason, detail), &ctx);
        Action::Pause
    }

    /// Collects headers at the start of the message being verified.
    fn start(&mut self, map: MapType, end_of_stream: bool) -> Action {
        let headers = match host::headers(map) {
            Ok(h) => h,
            Err(e) => return self.internal(&e),
        };
        // `x-signet-reason` (and every other x-signet-* header) is ours: drop forged ones.
        if let Err(e) = host::strip_prefixed(map, &headers, "x-signet-") {
            return self.internal(&e);
        }
        if map == MapType::HttpResponseHeaders {
            self.msg.status = headers
                .iter()
                .find(|(n, _)| n == ":status")
                .and_then(|(_, v)| v.parse().ok());
        }
        self.msg.headers = headers
            .into_iter()
            .filter(|(n, _)| !n.starts_with(':') && !n.starts_with("x-signet-"))
            .collect();
        let declared = self
            .msg
            .header("content-length")
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > self.filter.cfg.common.max_body_bytes) {
            return self.reject_now(Reason::BodyTooLarge, "content-length over max_body_bytes");
        }
        if end_of_stream {
            return self.finish();
        }
        Action::Pause
    }

    /// Buffers the body until end of stream, refusing it as soon as it passes the limit.
    fn body(&mut self, buffer: BufferType, body_size: usize, end_of_stream: bool) -> Action {
        if self.done {
            return Action::Continue;
        }
        if body_size > self.filter.cfg.common.max_body_bytes {
            return self.reject_now(Reason::BodyTooLarge, "body over max_body_bytes");
        }
        if !end_of_stream {
            return Action::Pause;
        }
        match hostcalls::get_buffer(buffer, 0, body_size) {
            Ok(b) => self.msg.body = b.unwrap_or_default(),
            Err(s) => return self.internal(&format!("cannot read body: {s:?}")),
        }
        self.finish()
    }

    fn internal(&mut self, what: &str) -> Action {
        log(LogLevel::Error, &format!("signet jws_verify: {what}"));
        self.reject_now(Reason::Internal, what)
    }
}

impl Context for JwsVerifyRequest {}

impl HttpContext for JwsVerifyRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.msg.method = host::property(&["request", "method"]).unwrap_or_default();
        self.msg.path = host::property(&["request", "path"]).unwrap_or_default();
        if self.response_mode() {
            // Only forged x-signet-* headers go; the request itself is not ours to hold.
            if let Ok(h) = host::headers(MapType::HttpRequestHeaders) {
                if let Err(e) = host::strip_prefixed(MapType::HttpRequestHeaders, &h, "x-signet-") {
                    return self.internal(&e);
                }
            }
            return Action::Continue;
        }
        self.start(MapType::HttpRequestHeaders, end_of_stream)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.response_mode() {
            return Action::Continue;
        }
        self.body(BufferType::HttpRequestBody, body_size, end_of_stream)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !self.response_mode() {
            // Upstreams do not speak for Signet: a response's x-signet-reason is dropped,
            // unless it is our own local reply (then the request was rejected here).
            if !self.done {
                if let Ok(h) = host::headers(MapType::HttpResponseHeaders) {
                    let _ =
                        host::strip_prefixed(MapType::HttpResponseHeaders, &h, "x-signet-reason");
                }
            }
            return Action::Continue;
        }
        if self.done {
            return Action::Continue;
        }
        self.start(MapType::HttpResponseHeaders, end_of_stream)
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.response_mode() {
            return Action::Continue;
        }
        self.body(BufferType::HttpResponseBody, body_size, end_of_stream)
    }
}
