//! `jws_verify`: verifies the body signature of every request (or, with `direction: response`,
//! every upstream response) inside Envoy's data path.
//!
//! Headers are held (`allow_on_headers_stop_iteration: true` is required) until the whole body
//! has arrived, so nothing reaches the upstream — or the partner application — before the
//! signature checked out. The body is read once at end of stream, verified by the core, and
//! dropped with the request context.
//!
//! **OCEN registry** (`ocen` with `registry`): a participant that is not configured
//! statically gets its key from `GET {registry.url}/participant-roles/{id}`. The root context
//! makes the callout (`dispatch_http_call` to `registry.cluster`, with the gateway's bearer
//! token from `registry.token_env`), single-flight per participant; the request stays paused
//! (`waiters.rs`, as `token_check` does for JWKS refetches) and is verified again when the
//! answer arrives. The cache (`signet_core::profiles::ocen::registry`) lives in the root context
//! of each worker's VM: one fetch per participant per worker per lifetime, no cross-thread
//! state. Entries are refreshed in the background before they expire and served stale within
//! `registry.stale` while the registry is down; with nothing usable cached the answer is 503
//! `keys_unavailable` (fail closed).
//!
//! **Stats and audit** (`docs/stats.md`): every verdict in the `decisions` table, per partner
//! (a registry participant gets its row once verified, up to `host::LEARNED_PARTNERS`); with
//! `audit` on, the record goes to filter state `signet.audit.jws_verify`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::config::{Direction, VerifyConfig};
use signet_core::message::{Context as VerifyContext, Message};
use signet_core::profiles::ocen::registry::{
    FetchResult, KeyRules, RegistryCache, RegistrySettings,
};
use signet_core::reason::Rejection;
use signet_core::trace::Trace;
use signet_core::verify::error::{Binding, Body, Fetch};
use signet_core::verify::replay::{Layout, ReplayTable};
use signet_core::verify::{no_wait, verify, KeySource, Outcome, ReplayStore, Run, StepError};

use crate::host::{self, events, Counters, Decisions, SharedKv};
use crate::hostcalls;
use crate::log;
use crate::native_crypto::{Backend, NativeSupport};
use crate::waiters::{self, OpenMessages, Waiters};

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "jws_verify";
// Event counters `signet.jws_verify.<event>` (verdicts are in the `decisions` table).
events! {
    LOCAL_REPLY = "local_reply",
    REGISTRY_FETCH_OK = "registry.fetch_ok",
    REGISTRY_FETCH_FAILED = "registry.fetch_failed",
    REGISTRY_NEGATIVE = "registry.negative",
    REGISTRY_WAIT = "registry.wait",
}
/// The root's timer while a registry is configured: the bound on paused requests.
const TICK: Duration = Duration::from_millis(1000);

/// The OCEN registry client of one worker: settings, cache, callouts under way, waiters.
struct Remote {
    settings: RegistrySettings,
    /// `Authorization` value of the callouts (the gateway's own bearer token), if configured.
    authorization: Option<String>,
    cache: RefCell<RegistryCache>,
    /// Callout token → participant.
    calls: RefCell<HashMap<u32, String>>,
    /// Fetches begun (single-flight) but not yet dispatched by the root.
    due: RefCell<Vec<String>>,
    /// Paused requests, per participant whose entry is being fetched.
    waiters: RefCell<HashMap<String, Waiters<Pending>>>,
}

/// A configured `jws_verify` filter, shared by its requests on one worker.
pub struct JwsVerify {
    cfg: VerifyConfig,
    backend: Backend,
    counters: Counters,
    decisions: Decisions,
    remote: Option<Remote>,
    /// The shared replay table (with `replay_cache`), created at configure time.
    replay: Option<Layout>,
    root_id: Cell<u32>,
    /// Messages held until they end, checked against `body_timeout` on every tick.
    open: OpenMessages<Pending>,
    /// What the verdict may depend on besides the message, known from the configuration: only
    /// these are read from the host per message.
    reads: Reads,
}

/// The host facts a configuration needs.
struct Reads {
    /// A partner is bound to certificate names.
    cert_names: bool,
    /// The profile takes the signer from `token_check`'s claims (OCEN requests).
    token_claims: bool,
    /// A route rule matches on Envoy's route name.
    route_name: bool,
}

impl JwsVerify {
    /// Parses and validates the configuration, probes the host's crypto, defines the stats.
    /// `shared` is the VM's partner registry, if it has one.
    pub fn configure(cfg: VerifyConfig) -> Result<JwsVerify, String> {
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
        let counters = Counters::define(ROOT_ID, EVENTS)?;
        let decisions = Decisions::new(
            ROOT_ID,
            cfg.profile.name().name(),
            cfg.registry.partners().iter().map(|p| p.id.as_str()),
        )?;
        let backend = Backend::new(native);
        log(
            LogLevel::Info,
            &format!(
                "signet jws_verify: profile {}, {} partner(s), crypto {}",
                cfg.profile.name().name(),
                cfg.registry.partners().len(),
                signet_core::crypto::CryptoBackend::name(&backend)
            ),
        );
        let remote = match &cfg.profile {
            signet_core::config::Verifier::Ocen(o) => match &o.registry {
                Some(settings) => Some(Remote::new(settings, &cfg)?),
                None => None,
            },
            _ => None,
        };
        // Created here, before any worker serves traffic (Envoy configures the main thread's
        // canary VM first): the data path then only ever compare-and-swaps existing keys.
        let replay = if cfg.common.replay_cache {
            Some(host::prepare_replay(cfg.common.replay_cache_entries)?)
        } else {
            None
        };
        let body_timeout_ms = cfg.common.body_timeout_ms;
        let reads = Reads {
            cert_names: cfg
                .registry
                .partners()
                .iter()
                .any(|p| !p.tls_names.is_empty()),
            token_claims: matches!(cfg.profile, signet_core::config::Verifier::Ocen(_))
                && cfg.common.direction == Direction::Request,
            route_name: cfg.common.route_policy.names_routes(),
        };
        Ok(JwsVerify {
            reads,
            cfg,
            backend,
            counters,
            decisions,
            remote,
            replay,
            root_id: Cell::new(0),
            open: OpenMessages::new(body_timeout_ms),
        })
    }

    /// Called once the root is configured: starts the timer that bounds held messages (and
    /// registry waits).
    pub fn start(&self, root_id: u32) {
        self.root_id.set(root_id);
        let _ = hostcalls::set_tick_period(TICK);
    }

    /// The root's timer: a message whose body has not ended within `body_timeout` is
    /// refused; requests that waited longer than any registry callout can take are decided
    /// again (they get `keys_unavailable` unless the entry arrived meanwhile).
    pub fn on_tick(&self) {
        let _ = hostcalls::set_tick_period(TICK);
        self.open
            .expire(self.root_id.get(), Pending::is_open, |pending| {
                self.reject_now(pending, Body::Timeout);
            });
        let Some(remote) = &self.remote else {
            return;
        };
        self.dispatch_due(remote);
        let bound = i64::try_from(remote.settings.timeout_ms).unwrap_or(60_000) + 5_000;
        let deadline = host::now_ms() - bound;
        let mut late = Vec::new();
        remote.waiters.borrow_mut().retain(|_, w| {
            late.extend(w.take_older_than(deadline));
            !w.is_empty()
        });
        self.finish_waiters(late);
    }

    /// Asks for a registry fetch of `participant` unless one is under way (single-flight).
    /// The callout itself is made by the root context on its next tick (kicked now): a callout
    /// made from a request's context would die with that request.
    fn want(&self, remote: &Remote, participant: &str) {
        if remote
            .cache
            .borrow_mut()
            .begin_fetch(participant, host::now_ms())
        {
            remote.due.borrow_mut().push(participant.to_string());
            waiters::kick_root();
        }
    }

    /// Makes the callouts asked for (root context).
    fn dispatch_due(&self, remote: &Remote) {
        let due = std::mem::take(&mut *remote.due.borrow_mut());
        for participant in due {
            let path = remote.settings.path_for(&participant);
            let mut headers = vec![
                (":method", "GET"),
                (":path", path.as_str()),
                (":authority", remote.settings.authority.as_str()),
                ("accept", "application/json"),
            ];
            if let Some(a) = &remote.authorization {
                headers.push(("authorization", a.as_str()));
            }
            match hostcalls::dispatch_http_call(
                &remote.settings.cluster,
                headers,
                None,
                vec![],
                Duration::from_millis(remote.settings.timeout_ms),
            ) {
                Ok(token) => {
                    remote.calls.borrow_mut().insert(token, participant);
                }
                Err(s) => {
                    log(
                        LogLevel::Warn,
                        &format!(
                            "signet jws_verify: OCEN registry callout to cluster {} failed to start: {s:?}",
                            remote.settings.cluster
                        ),
                    );
                    self.finish_fetch(remote, &participant, None, b"", None);
                }
            }
        }
    }

    /// A registry callout answered (or failed: no headers).
    pub fn on_http_call_response(&self, token: u32, num_headers: usize, body_size: usize) {
        let Some(remote) = &self.remote else {
            return;
        };
        let Some(participant) = remote.calls.borrow_mut().remove(&token) else {
            return;
        };
        let host::CallResponse {
            status,
            cache_control,
            body,
        } = host::CallResponse::read(num_headers, body_size);
        self.finish_fetch(
            remote,
            &participant,
            status,
            &body,
            cache_control.as_deref(),
        );
    }

    /// Records a registry answer (or failure) and decides the requests waiting for it.
    fn finish_fetch(
        &self,
        remote: &Remote,
        participant: &str,
        status: Option<u16>,
        body: &[u8],
        cache_control: Option<&str>,
    ) {
        let result = remote.cache.borrow_mut().on_response(
            participant,
            status,
            body,
            cache_control,
            host::now_ms(),
        );
        match &result {
            FetchResult::Loaded { approved } => {
                self.counters.inc(REGISTRY_FETCH_OK);
                log(
                    LogLevel::Info,
                    &format!(
                        "signet jws_verify: OCEN registry: participant {participant} loaded (approved: {approved})"
                    ),
                );
            }
            FetchResult::Negative(why) => {
                self.counters.inc(REGISTRY_NEGATIVE);
                log(
                    LogLevel::Info,
                    &format!(
                        "signet jws_verify: OCEN registry: participant {participant}: no usable key: {why}"
                    ),
                );
            }
            FetchResult::Failed(why) => {
                self.counters.inc(REGISTRY_FETCH_FAILED);
                log(
                    LogLevel::Warn,
                    &format!(
                        "signet jws_verify: OCEN registry: participant {participant}: fetch failed: {why}"
                    ),
                );
            }
        }
        let list = remote
            .waiters
            .borrow_mut()
            .remove(participant)
            .map(|mut w| w.take_all())
            .unwrap_or_default();
        self.finish_waiters(list);
    }

    /// Verifies waiting requests again, each in its own context; resumes the accepted ones.
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
}

impl Remote {
    fn new(settings: &RegistrySettings, cfg: &VerifyConfig) -> Result<Remote, String> {
        let authorization = match &settings.token_env {
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Some(format!("Bearer {}", t.trim())),
                _ => {
                    return Err(format!(
                        "profile.ocen.registry.token_env: environment variable {var} is not set for the VM (vm_config.environment_variables.host_env_keys)"
                    ))
                }
            },
            None => None,
        };
        let rules = KeyRules {
            algorithms: cfg.common.algorithms.clone(),
            min_rsa_bits: cfg.common.min_rsa_bits,
        };
        Ok(Remote {
            settings: settings.clone(),
            authorization,
            cache: RefCell::new(RegistryCache::new(settings, rules)),
            calls: RefCell::new(HashMap::new()),
            due: RefCell::new(Vec::new()),
            waiters: RefCell::new(HashMap::new()),
        })
    }
}

/// Per-request state: the message as it builds up. Dropped with the stream (the root holds
/// only a `Weak` on it while the request waits for a registry entry).
#[derive(Default)]
pub struct Pending {
    msg: Message,
    done: bool,
    /// Already waited once for a registry fetch (a second miss is `keys_unavailable`).
    waited: bool,
    /// Paused on purpose (waiting or refused): later body callbacks must not continue.
    held: bool,
}

impl Pending {
    /// Still collecting the message: no verdict, not waiting for a callout.
    fn is_open(&self) -> bool {
        !self.done && !self.held
    }
}

impl JwsVerify {
    fn response_mode(&self) -> bool {
        self.cfg.common.direction == Direction::Response
    }

    /// The authenticated peer: the partner `token_check` bound (filter state `signet.partner`;
    /// it already tied the certificate, token and API key to one partner) when it ran, else
    /// the partner this filter's registry finds for the mTLS certificate. `Err` when the two
    /// disagree (two registries name different callers) or the host cannot say.
    fn peer(&self) -> Result<Option<String>, StepError> {
        let registry = &self.cfg.registry;
        // Requests: the partner's client certificate. Responses (a partner's egress): the
        // platform's server certificate, authenticated by the upstream TLS handshake. A
        // registry that binds no partner to a certificate name finds none in any certificate.
        let names = if !self.reads.cert_names {
            Ok(Vec::new())
        } else if self.response_mode() {
            host::upstream_certificate_names()
        } else {
            host::peer_certificate_names()
        }
        .map_err(StepError::Internal)?;
        let cert = names
            .iter()
            .find_map(|n| registry.by_tls_name(n))
            .map(|p| p.id.clone());
        if self.response_mode() {
            return Ok(cert);
        }
        match (host::property(&["signet.partner"]), cert) {
            (Some(bound), Some(cert)) if bound != cert => Err(Binding::TwoPartners.into()),
            (bound, cert) => Ok(bound.or(cert)),
        }
    }

    /// What the verdict depends on besides the message; `peer` as [`JwsVerify::peer`] found it.
    fn context(&self, peer: Option<String>) -> VerifyContext {
        VerifyContext {
            now_ms: host::now_ms(),
            peer,
            token_claims: self
                .reads
                .token_claims
                .then(|| host::property(&["signet.token_claims"]))
                .flatten()
                .and_then(|s| serde_json::from_str(&s).ok()),
            route_name: self
                .reads
                .route_name
                .then(|| host::property(&["xds", "route_name"]))
                .flatten(),
        }
    }

    /// Runs the verification on the complete message (in the request's own context, also when
    /// the root resumes it) and acts on the verdict: forward, refuse, or wait for the registry.
    fn decide(&self, context_id: u32, pending: &Rc<RefCell<Pending>>) -> Action {
        let peer = match self.peer() {
            Ok(peer) => peer,
            Err(e) => return self.reject_now(pending, e),
        };
        pending.borrow_mut().done = true;
        let ctx = self.context(peer);
        let mut replay = self
            .replay
            .map(|layout| ReplayTable::new(layout, SharedKv { data_path: true }));
        let mut trace = Trace::off();
        let result = {
            let cache = self.remote.as_ref().map(|r| r.cache.borrow());
            let p = pending.borrow();
            verify(&mut Run {
                common: &self.cfg.common,
                registry: &self.cfg.registry,
                profile: &self.cfg.profile,
                msg: &p.msg,
                ctx: &ctx,
                backend: &self.backend,
                replay: replay.as_mut().map(|r| r as &mut dyn ReplayStore),
                trace: &mut trace,
                keys: cache.as_deref().map(|c| c as &dyn KeySource),
            })
        };
        // Nothing cached for this participant yet: fetch it and wait (once).
        if let (Some(remote), Ok(Outcome::NeedKeys { participant })) = (&self.remote, &result) {
            if !pending.borrow().waited {
                self.want(remote, participant);
                {
                    let mut p = pending.borrow_mut();
                    p.waited = true;
                    p.held = true;
                }
                remote
                    .waiters
                    .borrow_mut()
                    .entry(participant.clone())
                    .or_default()
                    .add(context_id, host::now_ms(), pending);
                self.counters.inc(REGISTRY_WAIT);
                return Action::Pause;
            }
        }
        // Waited once already, or nothing to wait on: refused (fail closed).
        let result = no_wait(result);
        if let Some(remote) = &self.remote {
            // A registry entry in use: refreshed in the background before it expires.
            let who = match &result {
                Ok(Outcome::Verified { partner, .. }) => Some(partner.as_str()),
                Err(r) => r.partner(),
                _ => None,
            };
            if let Some(who) = who {
                if self.cfg.registry.partner(who).is_none()
                    && remote.cache.borrow().refresh_due(who, ctx.now_ms)
                {
                    self.want(remote, who);
                }
            }
        }
        let action = match result {
            // `no_wait` left no `NeedKeys`; one here would be refused all the same.
            Ok(Outcome::NeedKeys { participant }) => {
                self.reject_now(pending, Fetch::NotYet(participant))
            }
            Ok(outcome) => {
                self.accepted(&outcome, &pending.borrow().msg, ctx.now_ms);
                pending.borrow_mut().held = false;
                Action::Continue
            }
            Err(rej) => {
                // The reply may echo fields of the request body (ids), so it is built first.
                self.rejected(&rej, &ctx, &pending.borrow().msg);
                pending.borrow_mut().held = true;
                Action::Pause
            }
        };
        // The body is no longer needed: release it for the rest of the stream.
        pending.borrow_mut().msg.body = Vec::new();
        action
    }

    fn accepted(&self, outcome: &Outcome, msg: &Message, now_ms: i64) {
        let (verdict, partner) = match outcome {
            Outcome::Verified { partner, .. } => {
                host::set_state("signet.partner", partner);
                host::set_state("signet.signature", "verified");
                (Verdict::Ok, Some(partner.as_str()))
            }
            Outcome::Unsigned => {
                host::set_state("signet.signature", "unsigned");
                (Verdict::Unsigned, None)
            }
            Outcome::Skipped => {
                host::set_state("signet.signature", "skipped");
                (Verdict::Skipped, None)
            }
            Outcome::NeedKeys { .. } => return,
        };
        self.decisions.count(partner, verdict);
        if self.cfg.common.audit {
            let mut record = self.record(verdict, msg, now_ms);
            if let Outcome::Verified { partner, alg, kid } = outcome {
                record.partner = Some(partner.clone());
                record.alg = Some(alg.name());
                record.kid = kid.as_ref().map(|k| k.chars().take(128).collect());
            }
            host::set_audit(&record);
        }
    }

    /// The audit record's common fields.
    fn record(&self, verdict: Verdict, msg: &Message, now_ms: i64) -> AuditRecord {
        AuditRecord::new(
            u64::try_from(now_ms).unwrap_or(0),
            ROOT_ID,
            self.cfg.profile.name().name(),
            verdict,
            &msg.method,
            &msg.path,
        )
    }

    fn rejected(&self, rej: &Rejection<StepError>, ctx: &VerifyContext, msg: &Message) {
        let verdict = Verdict::Refused(rej.reason());
        self.decisions.count(rej.partner(), verdict);
        host::set_state("signet.signature", "rejected");
        host::set_state("signet.reason", rej.reason().code());
        log(
            LogLevel::Info,
            &format!(
                "signet jws_verify: rejected {} {}: {} ({}){}",
                msg.method,
                signet_core::audit::route_for_log(&msg.path),
                rej.reason(),
                rej.error,
                rej.partner()
                    .map(|p| format!(", partner {p}"))
                    .unwrap_or_default()
            ),
        );
        let request_id = signet_core::reply::request_id(msg.header("x-request-id"), ctx.now_ms);
        let reply = self
            .cfg
            .reply(&rej.error, msg, ctx, &request_id, self.response_mode());
        if self.cfg.common.audit {
            let mut record = self.record(verdict, msg, ctx.now_ms);
            record.status = Some(reply.status);
            record.partner = rej.partner().map(str::to_string);
            host::set_audit(&record);
        }
        host::send(&reply);
    }

    fn reject_now(&self, pending: &Rc<RefCell<Pending>>, e: impl Into<StepError>) -> Action {
        {
            let mut p = pending.borrow_mut();
            p.done = true;
            p.held = true;
        }
        // The reply needs no peer (it never names one): none is read again here.
        let ctx = self.context(None);
        self.rejected(&Rejection::new(e.into()), &ctx, &pending.borrow().msg);
        Action::Pause
    }
}

/// Per-request context.
pub struct JwsVerifyRequest {
    filter: Rc<JwsVerify>,
    context_id: u32,
    pending: Rc<RefCell<Pending>>,
}

impl JwsVerifyRequest {
    pub fn new(filter: Rc<JwsVerify>, context_id: u32) -> JwsVerifyRequest {
        JwsVerifyRequest {
            filter,
            context_id,
            pending: Rc::new(RefCell::new(Pending::default())),
        }
    }

    fn response_mode(&self) -> bool {
        self.filter.response_mode()
    }

    fn reject_now(&self, e: impl Into<StepError>) -> Action {
        self.filter.reject_now(&self.pending, e)
    }

    /// Collects headers at the start of the message being verified and holds it.
    fn start(&mut self, map: MapType, end_of_stream: bool) -> Action {
        let headers = match host::headers(map) {
            Ok(h) => h,
            Err(e) => return self.internal(&e),
        };
        // On a response, an upstream's x-signet-* headers would pass for Signet's verdict at the
        // client: drop them. On a request `gateway` strips forged ones at the front of the chain,
        // and what an earlier Signet filter set since (token_check's `forward_partner_header`)
        // must reach the upstream.
        if map == MapType::HttpResponseHeaders {
            let names = headers.iter().map(|(n, _)| n.as_str());
            if let Err(e) = host::strip_prefixed(map, names, "x-signet-") {
                return self.internal(&e);
            }
        }
        // A host that cannot say what the request is gets no verdict but `internal`: an empty
        // method or path would otherwise fall to a route policy's default.
        if map == MapType::HttpRequestHeaders {
            match host::request_line_of(&headers) {
                Ok((method, path)) => {
                    let mut p = self.pending.borrow_mut();
                    p.msg.method = method;
                    p.msg.path = path;
                }
                Err(e) => return self.internal(&e),
            }
        }
        let declared = {
            let mut p = self.pending.borrow_mut();
            if map == MapType::HttpResponseHeaders {
                p.msg.status = headers
                    .iter()
                    .find(|(n, _)| n == ":status")
                    .and_then(|(_, v)| v.parse().ok());
            }
            p.msg.headers = headers
                .into_iter()
                .filter(|(n, _)| !n.starts_with(':') && !n.starts_with("x-signet-"))
                .collect();
            p.msg
                .header("content-length")
                .and_then(|v| v.trim().parse::<usize>().ok())
        };
        let max = self.filter.cfg.common.max_body_bytes;
        if let Some(len) = declared.filter(|n| *n > max) {
            return self.reject_now(Body::TooLarge { len, max });
        }
        if end_of_stream {
            return self.filter.decide(self.context_id, &self.pending);
        }
        // The rest may never come: the root's tick refuses it after body_timeout.
        self.filter.open.add(self.context_id, &self.pending);
        Action::Pause
    }

    /// What a body or trailers callback answers once a verdict exists, if one does: a held
    /// (waiting or refused) message stays paused whatever arrives after; a passed one flows.
    fn settled(&self) -> Option<Action> {
        let p = self.pending.borrow();
        if p.held {
            Some(Action::Pause)
        } else if p.done {
            Some(Action::Continue)
        } else {
            None
        }
    }

    /// Buffers the body until end of stream, refusing it as soon as it passes the limit.
    fn body(&mut self, buffer: BufferType, body_size: usize, end_of_stream: bool) -> Action {
        if let Some(action) = self.settled() {
            return action;
        }
        let max = self.filter.cfg.common.max_body_bytes;
        if body_size > max {
            return self.reject_now(Body::TooLarge {
                len: body_size,
                max,
            });
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.finish(buffer, body_size)
    }

    /// The message ends with trailers: nothing in them is covered by a signature, so they are
    /// emptied before the verdict (the next hop never reads an unverified trailer field) and
    /// the message is decided on the complete body buffered so far.
    fn trailers(&mut self, buffer: BufferType, trailers: MapType) -> Action {
        if let Some(action) = self.settled() {
            return action;
        }
        if let Err(s) = hostcalls::set_map(trailers, vec![]) {
            return self.internal(&format!("cannot drop trailers: {s:?}"));
        }
        // The body buffered so far is all there is; `usize::MAX` reads it whole.
        self.finish(buffer, usize::MAX)
    }

    /// Reads the complete body and decides.
    fn finish(&mut self, buffer: BufferType, body_size: usize) -> Action {
        match hostcalls::get_buffer(buffer, 0, body_size) {
            Ok(b) => self.pending.borrow_mut().msg.body = b.unwrap_or_default(),
            Err(s) => return self.internal(&format!("cannot read body: {s:?}")),
        }
        let (len, max) = (
            self.pending.borrow().msg.body.len(),
            self.filter.cfg.common.max_body_bytes,
        );
        if len > max {
            return self.reject_now(Body::TooLarge { len, max });
        }
        self.filter.decide(self.context_id, &self.pending)
    }

    fn internal(&mut self, what: &str) -> Action {
        log(LogLevel::Error, &format!("signet jws_verify: {what}"));
        self.reject_now(StepError::Internal(what.into()))
    }
}

impl Context for JwsVerifyRequest {}

impl HttpContext for JwsVerifyRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        // Test-trap builds only (tests/test_faults.py; a chain without `gateway` in front, which
        // strips the header first); a no-op in the shipped module.
        crate::trap::check();
        if !self.response_mode() {
            return self.start(MapType::HttpRequestHeaders, end_of_stream);
        }
        // The response's verdict names the request it answers (fail closed as in `start`).
        match host::request_line() {
            Ok((method, path)) => {
                let mut p = self.pending.borrow_mut();
                p.msg.method = method;
                p.msg.path = path;
            }
            Err(e) => return self.internal(&e),
        }
        // The request is not ours to hold (forged x-signet-* headers are `gateway`'s).
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.response_mode() {
            return Action::Continue;
        }
        self.body(BufferType::HttpRequestBody, body_size, end_of_stream)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.response_mode() {
            return Action::Continue;
        }
        self.trailers(BufferType::HttpRequestBody, MapType::HttpRequestTrailers)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !self.response_mode() {
            // Upstreams do not speak for Signet: their x-signet-* headers are dropped (our own
            // local replies keep theirs).
            return match host::strip_signet_from_upstream_response() {
                Ok(()) => Action::Continue,
                Err(e) => {
                    log(LogLevel::Error, &format!("signet jws_verify: {e}"));
                    self.reject_now(StepError::Internal(e))
                }
            };
        }
        if self.pending.borrow().done {
            return Action::Continue;
        }
        // A reply this Envoy made itself (a Signet filter's refusal, e.g. the signer's
        // body_too_large, or the router's own 503/504 when the platform resets or is slower
        // than the route timeout) never came from the platform, so there is no platform
        // signature to check: it passes as it is. Everything forwarded "via_upstream" is
        // verified.
        if host::is_envoy_reply() {
            self.pending.borrow_mut().done = true;
            self.filter.counters.inc(LOCAL_REPLY);
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

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        if !self.response_mode() {
            return Action::Continue;
        }
        self.trailers(BufferType::HttpResponseBody, MapType::HttpResponseTrailers)
    }
}
