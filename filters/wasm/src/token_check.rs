//! `token_check`: who is calling — bearer JWT, API key / licence key, mTLS certificate and
//! platform header bound to one partner — decided by the host-free core
//! (`signet_core::token::check`); this is the Envoy glue around it.
//!
//! - **Remote JWKS.** Fetched by the root context with `dispatch_http_call` to the configured
//!   cluster, on its timer (`on_tick`, every second; the core says when a refresh is due) and
//!   early on an unknown `kid` (single-flight, at most once per interval, decided by the core).
//!   A request with an unknown `kid` waits (paused) for that refetch and is then decided again,
//!   so the first request signed with a rotated-in key already passes. Requests before the
//!   first successful fetch get 503 `keys_unavailable` (fail closed); stale keys are served
//!   within the configured bound.
//! - **Where the JWKS state lives.** In the root context of each worker's VM (one fetch per
//!   worker per interval). Shared data would save the duplicate fetches but every VM would still
//!   have to parse the keys and track versions; JWKS fetches are rare and small, and per-worker
//!   state keeps the fail-closed logic free of cross-thread races.
//! - **Filter state** (read by later filters and the access log): `signet.partner` (the bound
//!   partner id; `jws_verify` takes it as the authenticated peer), `signet.token_claims` (the
//!   verified claims as JSON; `jws_verify`'s `ocen` profile picks the key by its
//!   `participantId`; off with `claims_in_filter_state: false`), `signet.audit.token_check` (the
//!   audit record, with `audit` on).
//!   Envoy stores them as `wasm.signet.*`.
//! - **Stats** (`docs/stats.md`): every verdict in the `decisions` table, per partner; a
//!   partner that is not configured (an open registry: identities taken as partner ids) gets a
//!   row once accepted, up to `host::LEARNED_PARTNERS`.
//! - **Replies.** Token failures 401 with `WWW-Authenticate` (RFC 6750, or OCEN's form),
//!   partner / policy 403 `partner_inactive`, `peer_mismatch` 403 — built by the core.
//! - `forward_partner_header` is removed from every incoming request, then set on accepted ones.
//! - **`trust_jwt_authn`.** Envoy's jwt_authn (earlier in the chain, `payload_in_metadata`)
//!   verified the token; its claims are read from the property `metadata` (the serialized
//!   `Metadata` message) and decoded by the core; no token header is read here.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel, MapType};
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::json::JsonValue;
use signet_core::reason::{Reason, Rejection};
use signet_core::token::audit;
use signet_core::token::config::TokenErrorFormat;
use signet_core::token::struct_pb::payload_from_metadata;
use signet_core::token::{
    check, check_or_wait, Checked, Decision, Findings, RequestFacts, TokenConfig, TokenError,
    TokenState,
};

use crate::host::{self, events, Counters, Decisions};
use crate::hostcalls;
use crate::log;
use crate::native_crypto::{Backend, NativeSupport};
use crate::waiters::{self, Waiters};

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "token_check";
/// The root's timer: JWKS refresh checks and the bound on paused requests.
const TICK: Duration = Duration::from_millis(1000);
// Event counters `signet.token_check.<event>` (verdicts are in the `decisions` table).
events! {
    CACHE_HIT = "cache_hit",
    KID_WAIT = "kid_wait",
    JWKS_FETCH_OK = "jwks.fetch_ok",
    JWKS_FETCH_FAILED = "jwks.fetch_failed",
    JWKS_BODY_REJECTED = "jwks.body_rejected",
    JWT_AUTHN_METADATA_INVALID = "jwt_authn.metadata_invalid",
}

/// A request's facts, kept while it may wait for a JWKS refetch.
#[derive(Default)]
pub struct Pending {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    tls_names: Vec<String>,
    cert_sha256: Option<String>,
    /// Already waited once: a second unknown `kid` is final.
    waited: bool,
    /// Paused (waiting for a refetch) or refused: the body must not move the request on.
    held: bool,
    /// `trust_jwt_authn`: the claims jwt_authn verified (`None`: it verified no token).
    jwt_authn_claims: Option<JsonValue>,
}

/// A configured `token_check` filter: configuration and the worker's JWKS / token caches.
pub struct TokenCheck {
    cfg: TokenConfig,
    backend: Backend,
    counters: Counters,
    decisions: Decisions,
    /// The `profile` stats tag and audit field: the reply format's platform.
    profile: &'static str,
    state: RefCell<TokenState>,
    /// JWKS callouts in flight: token → provider index.
    calls: RefCell<HashMap<u32, usize>>,
    waiters: RefCell<Waiters<Pending>>,
    root_id: Cell<u32>,
    /// A partner is bound to certificate names (else they are not read).
    cert_names: bool,
}

impl TokenCheck {
    /// Parses and validates the configuration, probes the host's crypto, defines the stats.
    /// `shared` is the VM's partner registry, if it has one.
    pub fn configure(cfg: TokenConfig) -> Result<TokenCheck, String> {
        let counters = Counters::define(ROOT_ID, EVENTS)?;
        let profile = match cfg.error_format {
            TokenErrorFormat::Ocen => "ocen",
            TokenErrorFormat::Rfc6750 => "generic",
        };
        let decisions = Decisions::new(
            ROOT_ID,
            profile,
            cfg.registry.partners().iter().map(|p| p.id.as_str()),
        )?;
        let backend = Backend::new(NativeSupport::probe());
        log(
            LogLevel::Info,
            &format!(
                "signet token_check: {} provider(s), {} partner(s), crypto {}",
                cfg.providers.len(),
                cfg.registry.partners().len(),
                signet_core::crypto::CryptoBackend::name(&backend)
            ),
        );
        let state = RefCell::new(TokenState::new(&cfg));
        let cert_names = cfg
            .registry
            .partners()
            .iter()
            .any(|p| !p.tls_names.is_empty());
        Ok(TokenCheck {
            cert_names,
            cfg,
            backend,
            counters,
            decisions,
            profile,
            state,
            calls: RefCell::new(HashMap::new()),
            waiters: RefCell::new(Waiters::default()),
            root_id: Cell::new(0),
        })
    }

    /// Called once the root is configured: starts the timer (the first tick fetches the JWKS).
    pub fn start(&self, root_id: u32) {
        self.root_id.set(root_id);
        waiters::kick_root();
    }

    fn now() -> u64 {
        u64::try_from(host::now_ms()).unwrap_or(0)
    }

    /// The root's timer: restore the normal period, start due JWKS fetches, and finish requests
    /// that waited longer than any callout can take.
    pub fn on_tick(&self) {
        let _ = hostcalls::set_tick_period(TICK);
        let now = Self::now();
        let due = self.state.borrow_mut().due_fetches(&self.cfg, now);
        for f in due {
            let headers = vec![
                (":method", "GET"),
                (":path", f.path.as_str()),
                (":authority", f.authority.as_str()),
                ("accept", "application/json"),
            ];
            match hostcalls::dispatch_http_call(
                &f.cluster,
                headers,
                None,
                vec![],
                Duration::from_millis(f.timeout_ms),
            ) {
                Ok(token) => {
                    self.calls.borrow_mut().insert(token, f.provider);
                }
                Err(s) => {
                    log(
                        LogLevel::Warn,
                        &format!(
                            "signet token_check: JWKS callout to cluster {} failed to start: {s:?}",
                            f.cluster
                        ),
                    );
                    self.counters.inc(JWKS_FETCH_FAILED);
                    let _ = self
                        .state
                        .borrow_mut()
                        .on_jwks_response(f.provider, None, b"", None, now);
                }
            }
        }
        let bound = self
            .cfg
            .providers
            .len()
            .max(1)
            .saturating_mul(60_000)
            .min(90_000);
        let stale = self
            .waiters
            .borrow_mut()
            .take_older_than(host::now_ms() - i64::try_from(bound).unwrap_or(90_000));
        self.finish_waiters(stale);
    }

    /// A JWKS callout answered (or failed: no headers).
    pub fn on_http_call_response(&self, token: u32, num_headers: usize, body_size: usize) {
        let Some(provider) = self.calls.borrow_mut().remove(&token) else {
            return;
        };
        let now = Self::now();
        let host::CallResponse {
            status,
            cache_control,
            body,
        } = host::CallResponse::read(num_headers, body_size);
        let name = self
            .cfg
            .providers
            .get(provider)
            .map(|p| p.name.as_str())
            .unwrap_or("?");
        let result = self.state.borrow_mut().on_jwks_response(
            provider,
            status,
            &body,
            cache_control.as_deref(),
            now,
        );
        match result {
            Some(Ok(update)) => {
                self.counters.inc(JWKS_FETCH_OK);
                for d in &update.dropped {
                    log(
                        LogLevel::Warn,
                        &format!(
                            "signet token_check: provider {name}: key {:?} dropped: {}",
                            d.kid.as_deref().unwrap_or(""),
                            d.reason
                        ),
                    );
                }
                log(
                    LogLevel::Info,
                    &format!(
                        "signet token_check: provider {name}: JWKS loaded, {} key(s){}",
                        update.kept,
                        if update.changed { ", changed" } else { "" }
                    ),
                );
            }
            Some(Err(e)) => {
                self.counters.inc(JWKS_BODY_REJECTED);
                log(
                    LogLevel::Warn,
                    &format!(
                        "signet token_check: provider {name}: JWKS body refused ({e:?}); previous keys kept"
                    ),
                );
            }
            None => {
                self.counters.inc(JWKS_FETCH_FAILED);
                log(
                    LogLevel::Warn,
                    &format!(
                        "signet token_check: provider {name}: JWKS fetch failed (status {status:?})"
                    ),
                );
            }
        }
        let all = self.waiters.borrow_mut().take_all();
        self.finish_waiters(all);
    }

    /// Decides waiting requests again, each in its own context, and resumes the accepted ones.
    fn finish_waiters(&self, list: Vec<(u32, Rc<RefCell<Pending>>)>) {
        let root = self.root_id.get();
        for (id, pending) in list {
            waiters::as_context(id, root, || {
                if self.decide(id, &pending) == Action::Continue {
                    waiters::resume();
                }
            });
        }
    }

    /// Decides one request in the current effective context: forwards it (filter state,
    /// partner header), refuses it (local reply), or parks it until a JWKS refetch (`Pause`
    /// without a reply).
    fn decide(&self, context_id: u32, pending: &Rc<RefCell<Pending>>) -> Action {
        let now = Self::now();
        let (checked, record, request_id) = {
            let p = pending.borrow();
            let facts = RequestFacts {
                method: &p.method,
                path: &p.path,
                headers: &p.headers,
                tls_names: &p.tls_names,
                cert_sha256: p.cert_sha256.as_deref(),
                now_ms: now,
                jwt_authn_claims: p.jwt_authn_claims.as_ref(),
            };
            let mut state = self.state.borrow_mut();
            // Waits once at most: a request that waited is decided with the keys it got.
            let checked = if p.waited {
                Checked::Decided(check(&self.cfg, &mut state, &facts, &self.backend))
            } else {
                check_or_wait(&self.cfg, &mut state, &facts, &self.backend)
            };
            // Built (and serialised, below) only when the access log is to carry it.
            let record = match (&checked, self.cfg.audit) {
                (Checked::Decided(outcome), true) => {
                    Some(audit::record(&facts, outcome, self.profile))
                }
                _ => None,
            };
            let request_id = p
                .headers
                .iter()
                .find(|(n, _)| n == "x-request-id")
                .map(|(_, v)| v.clone());
            (checked, record, request_id)
        };
        let outcome = match checked {
            Checked::Decided(outcome) => outcome,
            Checked::NeedKeys => {
                let mut p = pending.borrow_mut();
                p.waited = true;
                p.held = true;
                drop(p);
                self.waiters
                    .borrow_mut()
                    .add(context_id, host::now_ms(), pending);
                self.counters.inc(KID_WAIT);
                waiters::kick_root();
                return Action::Pause;
            }
        };
        self.decisions
            .count(partner_of(&outcome), audit::verdict(&outcome));
        if let Some(record) = &record {
            host::set_audit(record);
        }
        pending.borrow_mut().held = outcome.is_err();
        match outcome {
            Ok(d) => {
                self.accepted(&d);
                Action::Continue
            }
            Err(rej) => {
                self.rejected(&rej, now, request_id.as_deref(), &pending.borrow());
                Action::Pause
            }
        }
    }

    /// `trust_jwt_authn`: the payload jwt_authn put in the request's dynamic metadata. The
    /// host serializes the whole `Metadata` message for the property `metadata` (a deeper path
    /// would come back as a CEL map whose values carry no type); the core decodes it. Absent →
    /// `None` (the core answers `token_missing`); undecodable → a non-object, which the core
    /// refuses as `token_invalid` (fail closed).
    fn jwt_authn_claims(&self) -> Option<JsonValue> {
        let t = self.cfg.trust_jwt_authn.as_ref()?;
        let decoded = match hostcalls::get_property(vec!["metadata"]) {
            Ok(Some(b)) => payload_from_metadata(&b, &t.metadata_namespace, &t.payload_in_metadata)
                .map_err(|e| e.to_string()),
            Ok(None) => Ok(None),
            // Not "absent": a host failure must not pass for "no token" on optional routes.
            Err(s) => Err(format!("host: {s:?}")),
        };
        match decoded {
            Ok(v) => v,
            Err(e) => {
                self.counters.inc(JWT_AUTHN_METADATA_INVALID);
                log(
                    LogLevel::Warn,
                    &format!(
                        "signet token_check: jwt_authn metadata {}/{} unreadable: {e}",
                        t.metadata_namespace, t.payload_in_metadata
                    ),
                );
                Some(JsonValue::Null)
            }
        }
    }

    fn accepted(&self, d: &Decision) {
        if d.skipped {
            return;
        }
        if d.cache_hit {
            self.counters.inc(CACHE_HIT);
        }
        if let Some(p) = d.partner() {
            host::set_state("signet.partner", p);
            if let Some(h) = &self.cfg.forward_partner_header {
                if let Err(s) = hostcalls::set_map_value(MapType::HttpRequestHeaders, h, Some(p)) {
                    log(
                        LogLevel::Error,
                        &format!("signet token_check: cannot set {h}: {s:?}"),
                    );
                }
            }
        }
        if let (Some(claims), true) = (&d.claims, self.cfg.claims_in_filter_state) {
            host::set_state("signet.token_claims", claims.json());
        }
    }

    fn rejected(
        &self,
        rej: &Rejection<TokenError, Box<Findings>>,
        now: u64,
        request_id: Option<&str>,
        p: &Pending,
    ) {
        let reason = rej.reason();
        host::set_state("signet.reason", reason.code());
        log(
            LogLevel::Info,
            &format!(
                "signet token_check: rejected {} {}: {} ({}){}",
                p.method,
                rej.findings.route,
                reason,
                rej.error,
                rej.findings
                    .partner
                    .as_deref()
                    .map(|x| format!(", partner {x}"))
                    .unwrap_or_default()
            ),
        );
        let request_id = signet_core::reply::request_id(request_id, now as i64);
        host::send(&signet_core::token::reply(
            &rej.error,
            &self.cfg,
            &rej.findings.route,
            now,
            &request_id,
        ));
    }
}

/// Per-request context.
pub struct TokenCheckRequest {
    filter: Rc<TokenCheck>,
    context_id: u32,
    pending: Rc<RefCell<Pending>>,
}

impl TokenCheckRequest {
    pub fn new(filter: Rc<TokenCheck>, context_id: u32) -> TokenCheckRequest {
        TokenCheckRequest {
            filter,
            context_id,
            pending: Rc::new(RefCell::new(Pending::default())),
        }
    }

    fn internal(&self, what: &str) -> Action {
        log(LogLevel::Error, &format!("signet token_check: {what}"));
        self.pending.borrow_mut().held = true;
        let f = &self.filter;
        let verdict = Verdict::Refused(Reason::Internal);
        f.decisions.count(None, verdict);
        if f.cfg.audit {
            let p = self.pending.borrow();
            let mut record = AuditRecord::new(
                host::now_ms_u64(),
                ROOT_ID,
                f.profile,
                verdict,
                &p.method,
                &p.path,
            );
            record.status = Some(500);
            host::set_audit(&record);
        }
        host::send(&signet_core::reply::Reply {
            status: 500,
            headers: vec![("x-signet-reason".into(), "internal".into())],
            body: b"{\"error\":\"internal\"}".to_vec(),
        });
        Action::Pause
    }
}

impl Context for TokenCheckRequest {}

impl HttpContext for TokenCheckRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let mut headers = match host::headers(MapType::HttpRequestHeaders) {
            Ok(h) => h,
            Err(e) => return self.internal(&e),
        };
        // Ours to set: a client must never be able to name the partner for the upstream.
        if let Some(h) = &self.filter.cfg.forward_partner_header {
            if let Err(s) = hostcalls::remove_map_value(MapType::HttpRequestHeaders, h) {
                return self.internal(&format!("cannot remove {h}: {s:?}"));
            }
            headers.retain(|(n, _)| n != h);
        }
        let (method, path) = match host::request_line_of(&headers) {
            Ok(line) => line,
            Err(e) => return self.internal(&e),
        };
        let f = &self.filter;
        // A registry that binds no partner to a certificate name finds none in any certificate.
        let tls_names = if f.cert_names {
            match host::peer_certificate_names() {
                Ok(names) => names,
                Err(e) => return self.internal(&e),
            }
        } else {
            Vec::new()
        };
        {
            let mut p = self.pending.borrow_mut();
            p.method = method;
            p.path = path;
            p.headers = headers
                .into_iter()
                .filter(|(n, _)| !n.starts_with(':'))
                .collect();
            p.tls_names = tls_names;
            // Only the audit record shows the certificate's fingerprint.
            if f.cfg.audit {
                p.cert_sha256 = host::property(&["connection", "sha256_peer_certificate_digest"]);
            }
            p.jwt_authn_claims = f.jwt_authn_claims();
        }
        self.filter.decide(self.context_id, &self.pending)
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        // Continue here would release headers paused on purpose (Envoy resumes the stream).
        waiters::hold_if(self.pending.borrow().held)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // The same holds for trailers: a request waiting for a JWKS refetch, or refused, must
        // not be resumed by the end of its own message.
        waiters::hold_if(self.pending.borrow().held)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Err(e) = host::strip_signet_from_upstream_response() {
            log(LogLevel::Error, &format!("signet token_check: {e}"));
        }
        Action::Continue
    }
}

/// The partner a verdict is counted for: the bound one, or on a refusal the one known so far.
fn partner_of(outcome: &Result<Decision, Rejection<TokenError, Box<Findings>>>) -> Option<&str> {
    match outcome {
        Ok(d) => d.partner(),
        Err(r) => r.findings.partner.as_deref(),
    }
}
