//! `token_fetch` (partner egress): attaches `Authorization: Bearer <token>` to every request,
//! the token obtained with the OAuth2 client-credentials grant from the auth service (a callout
//! to the configured cluster) and cached until shortly before it expires
//! (`signet_core::token::fetch`).
//!
//! Concurrent requests wait for one fetch: the first request that finds no usable token marks a
//! fetch as wanted and pauses; the root context makes the call (it outlives any request, see
//! [`crate::waiters`]); requests arriving meanwhile pause too; the answer resumes them all with
//! the new token, or answers each with a clear 503 (`x-signet-reason: keys_unavailable`) when
//! the auth service failed — and keeps answering 503 without calling it again until the retry
//! interval has passed. An upstream 401 drops the cached token, so the next request fetches a
//! new one. The client secret comes from the environment of the Envoy process
//! (`vm_config.environment_variables.host_env_keys`), never from the YAML.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use signet_core::reason::Reason;
use signet_core::token::fetch::{Acquire, ClientCredentials, FetchState, TokenFetcher};
use signet_core::token::fetch_config::FetchConfig;

use crate::host::{self, events, Counters};
use crate::hostcalls;
use crate::log;
use crate::waiters::{self, Waiters};

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "token_fetch";
// Event counters `signet.token_fetch.<event>`.
events! {
    ATTACHED = "attached",
    WAITED = "waited",
    FETCH_OK = "fetch_ok",
    FETCH_FAILED = "fetch_failed",
    UNAVAILABLE = "unavailable",
    UPSTREAM_401 = "upstream_401",
}
const TICK: Duration = Duration::from_millis(1000);

/// A configured `token_fetch` filter and the worker's token.
pub struct TokenFetch {
    cfg: FetchConfig,
    fetcher: RefCell<TokenFetcher>,
    /// The first waiter asked for a fetch; the root starts it on its next tick.
    wanted: Cell<bool>,
    /// The callout in flight.
    call: Cell<Option<u32>>,
    waiters: RefCell<Waiters<bool>>,
    counters: Counters,
    root_id: Cell<u32>,
}

impl TokenFetch {
    /// Parses the configuration; the client secret is read from the VM's environment.
    pub fn configure(cfg: FetchConfig) -> Result<TokenFetch, String> {
        let counters = Counters::define(ROOT_ID, EVENTS)?;
        log(
            LogLevel::Info,
            &format!(
                "signet token_fetch: client {} via cluster {}",
                cfg.credentials.client_id, cfg.cluster
            ),
        );
        let fetcher = RefCell::new(TokenFetcher::new(cfg.settings));
        Ok(TokenFetch {
            cfg,
            fetcher,
            wanted: Cell::new(false),
            call: Cell::new(None),
            waiters: RefCell::new(Waiters::default()),
            counters,
            root_id: Cell::new(0),
        })
    }

    /// Called once the root is configured.
    pub fn start(&self, root_id: u32) {
        self.root_id.set(root_id);
        let _ = hostcalls::set_tick_period(TICK);
    }

    fn now() -> u64 {
        u64::try_from(host::now_ms()).unwrap_or(0)
    }

    /// The root's timer: start a wanted fetch; bound every wait.
    pub fn on_tick(&self) {
        let _ = hostcalls::set_tick_period(TICK);
        if self.wanted.get() && self.call.get().is_none() {
            self.wanted.set(false);
            self.dispatch();
        }
        let bound_ms = i64::try_from(self.cfg.timeout_ms).unwrap_or(60_000) + 5_000;
        let stale = self
            .waiters
            .borrow_mut()
            .take_older_than(host::now_ms() - bound_ms);
        self.finish_waiters(stale);
    }

    fn dispatch(&self) {
        let body = self.cfg.credentials.request_body();
        let mut headers = vec![
            (":method", "POST"),
            (":path", self.cfg.path.as_str()),
            (":authority", self.cfg.authority.as_str()),
        ];
        headers.extend(ClientCredentials::request_headers());
        match hostcalls::dispatch_http_call(
            &self.cfg.cluster,
            headers,
            Some(body.as_bytes()),
            vec![],
            Duration::from_millis(self.cfg.timeout_ms),
        ) {
            Ok(token) => self.call.set(Some(token)),
            Err(s) => {
                log(
                    LogLevel::Warn,
                    &format!(
                        "signet token_fetch: token callout to cluster {} failed to start: {s:?}",
                        self.cfg.cluster
                    ),
                );
                self.completed(None, b"");
            }
        }
    }

    /// The token endpoint answered (or the call failed: no headers).
    pub fn on_http_call_response(&self, token: u32, num_headers: usize, body_size: usize) {
        if self.call.get() != Some(token) {
            return;
        }
        self.call.set(None);
        let status = if num_headers == 0 {
            None
        } else {
            host::header_value(MapType::HttpCallResponseHeaders, ":status")
                .ok()
                .flatten()
                .and_then(|s| s.parse::<u16>().ok())
        };
        let body = hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
            .ok()
            .flatten()
            .unwrap_or_default();
        self.completed(status, &body);
    }

    fn completed(&self, status: Option<u16>, body: &[u8]) {
        let (_, result) = self
            .fetcher
            .borrow_mut()
            .on_response(status, body, Self::now());
        match result {
            Ok(()) => {
                self.counters.inc(FETCH_OK);
                log(LogLevel::Info, "signet token_fetch: access token obtained");
            }
            Err(e) => {
                self.counters.inc(FETCH_FAILED);
                log(
                    LogLevel::Warn,
                    &format!("signet token_fetch: token request failed: {e}"),
                );
            }
        }
        let all = self.waiters.borrow_mut().take_all();
        self.finish_waiters(all);
    }

    fn finish_waiters(&self, list: Vec<(u32, Rc<RefCell<bool>>)>) {
        let root = self.root_id.get();
        for (id, held) in list {
            waiters::as_context(id, root, || {
                *held.borrow_mut() = false;
                // A token now, or a refusal: never a second wait.
                let acquired = self.fetcher.borrow_mut().acquire(Self::now());
                match acquired {
                    Acquire::Ready(t) => {
                        if self.attach(&t) {
                            waiters::resume();
                        } else {
                            *held.borrow_mut() = true;
                        }
                    }
                    _ => {
                        *held.borrow_mut() = true;
                        self.unavailable();
                    }
                }
            });
        }
    }

    /// Sets the `Authorization` header (replacing any the application sent).
    fn attach(&self, token: &str) -> bool {
        let value = format!("Bearer {token}");
        match hostcalls::set_map_value(MapType::HttpRequestHeaders, "authorization", Some(&value)) {
            Ok(()) => {
                self.counters.inc(ATTACHED);
                true
            }
            Err(s) => {
                log(
                    LogLevel::Error,
                    &format!("signet token_fetch: cannot set authorization: {s:?}"),
                );
                self.unavailable();
                false
            }
        }
    }

    /// The clear 503: no token, so the request is not sent.
    fn unavailable(&self) {
        self.counters.inc(UNAVAILABLE);
        let why = match self.fetcher.borrow().state() {
            FetchState::Failed { error, .. } => error.to_string(),
            _ => "no access token".to_string(),
        };
        let mut body = b"{\"error\":\"keys_unavailable\",\"message\":".to_vec();
        signet_core::json::write_json_string(
            &mut body,
            &format!("no access token from the auth service: {why}"),
        );
        body.push(b'}');
        host::send(&signet_core::reply::Reply {
            status: 503,
            headers: vec![
                (
                    "x-signet-reason".into(),
                    Reason::KeysUnavailable.code().into(),
                ),
                ("content-type".into(), "application/json".into()),
            ],
            body,
        });
    }
}

/// Per-request context.
pub struct TokenFetchRequest {
    filter: Rc<TokenFetch>,
    context_id: u32,
    /// Paused for the token, or refused: the body must not move the request on.
    held: Rc<RefCell<bool>>,
}

impl TokenFetchRequest {
    pub fn new(filter: Rc<TokenFetch>, context_id: u32) -> TokenFetchRequest {
        TokenFetchRequest {
            filter,
            context_id,
            held: Rc::new(RefCell::new(false)),
        }
    }
}

impl Context for TokenFetchRequest {}

impl HttpContext for TokenFetchRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let f = &self.filter;
        let acquired = f.fetcher.borrow_mut().acquire(TokenFetch::now());
        match acquired {
            Acquire::Ready(t) => {
                if f.attach(&t) {
                    Action::Continue
                } else {
                    *self.held.borrow_mut() = true;
                    Action::Pause
                }
            }
            Acquire::StartFetch | Acquire::Wait => {
                if acquired == Acquire::StartFetch {
                    f.wanted.set(true);
                    waiters::kick_root();
                }
                f.counters.inc(WAITED);
                *self.held.borrow_mut() = true;
                f.waiters
                    .borrow_mut()
                    .add(self.context_id, host::now_ms(), &self.held);
                Action::Pause
            }
            Acquire::Unavailable { .. } => {
                *self.held.borrow_mut() = true;
                f.unavailable();
                Action::Pause
            }
        }
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        // Continue here would release headers paused on purpose (Envoy resumes the stream).
        waiters::hold_if(*self.held.borrow())
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // Nor may the end of the message (trailers) release a request waiting for its token.
        waiters::hold_if(*self.held.borrow())
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let status = host::header_value(MapType::HttpResponseHeaders, ":status")
            .ok()
            .flatten();
        if status.as_deref() == Some("401") {
            self.filter.counters.inc(UPSTREAM_401);
            self.filter.fetcher.borrow_mut().invalidate();
        }
        Action::Continue
    }
}
