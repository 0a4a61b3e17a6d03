//! `jws_sign`: signs the exact bytes that leave Envoy — requests on a partner's egress
//! (`direction: request`), responses on the provider side (`direction: response`).
//!
//! The signature header is computed over the body, so headers are held until the body is
//! complete: the Wasm filter needs `allow_on_headers_stop_iteration: true` (Envoy ≥ 1.35),
//! without which the paused stream hangs silently. A message that must be signed never leaves
//! unsigned: too large or a signing error becomes a local reply (`body_too_large`,
//! `sign_failed`), as docs/profiles.md#what-signets-signer-writes says.
//!
//! **Stats and audit** (`docs/stats.md`): every verdict (`ok` signed, `skipped` not due for a
//! signature, or the refusal's reason) in the `decisions` table; on the response path the
//! partner is the one an earlier filter bound (filter state `signet.partner`). With `audit` on,
//! the record goes to filter state `signet.audit.jws_sign`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::config::sign::SignConfig;
use signet_core::config::{CryptoChoice, Direction};
use signet_core::message::Message;
use signet_core::reason::Reason;
use signet_core::sign::{SignOutcome, SignResponses};

use crate::host::{self, events, Counters, Decisions};
use crate::hostcalls;
use crate::log;
use crate::native_crypto::{Backend, NativeSupport};
use crate::waiters::OpenMessages;

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "jws_sign";
// Event counters `signet.jws_sign.<event>` (verdicts are in the `decisions` table).
events! {
    BODY_REWRITTEN = "body_rewritten",
    SIGN_BODY_KEPT = "sign_body_kept",
}
/// The root's timer: the bound on held messages.
const TICK: Duration = Duration::from_millis(1000);

/// A configured `jws_sign` filter.
pub struct JwsSign {
    cfg: SignConfig,
    backend: Backend,
    counters: Counters,
    decisions: Decisions,
    root_id: Cell<u32>,
    /// Messages held until they end, checked against `body_timeout` on every tick.
    open: OpenMessages<Stream>,
}

impl JwsSign {
    /// Parses the configuration; the private key comes from the VM's environment
    /// (`vm_config.environment_variables`) when `signing_key_env` names it.
    pub fn configure(cfg: SignConfig) -> Result<JwsSign, String> {
        let native = match cfg.crypto_backend {
            CryptoChoice::Rust => NativeSupport::default(),
            CryptoChoice::Auto => NativeSupport::probe(),
            CryptoChoice::Native => {
                let n = NativeSupport::probe();
                if !n.sign {
                    return Err("crypto_backend: native requested but this Envoy has no sign foreign function (needs Envoy >= 1.37)".into());
                }
                n
            }
        };
        let counters = Counters::define(ROOT_ID, EVENTS)?;
        let decisions = Decisions::new(ROOT_ID, cfg.profile.name().name(), [])?;
        log(
            LogLevel::Info,
            &format!(
                "signet jws_sign: profile {}, {} {}, native sign {}",
                cfg.profile.name().name(),
                cfg.key.alg.name(),
                if cfg.direction == Direction::Response {
                    "responses"
                } else {
                    "requests"
                },
                native.sign
            ),
        );
        let backend = Backend::for_signer(native, &cfg.key.key)?;
        Ok(JwsSign {
            open: OpenMessages::new(cfg.body_timeout_ms),
            cfg,
            backend,
            counters,
            decisions,
            root_id: Cell::new(0),
        })
    }

    /// Called once the root is configured: starts the timer that bounds held messages.
    pub fn start(&self, root_id: u32) {
        self.root_id.set(root_id);
        let _ = hostcalls::set_tick_period(TICK);
    }

    /// A message still collecting its body after `body_timeout` is refused: it cannot leave
    /// signed, and it never leaves unsigned.
    pub fn on_tick(&self) {
        self.open.expire(
            self.root_id.get(),
            |s| s.phase == Phase::Collecting,
            |s| {
                self.fail(
                    s,
                    Reason::BodyTimeout,
                    "message did not end within body_timeout",
                );
            },
        );
    }

    /// A local reply in place of a message that cannot leave signed.
    fn fail(&self, stream: &RefCell<Stream>, reason: Reason, detail: &str) -> Action {
        stream.borrow_mut().phase = Phase::Refused;
        log(
            LogLevel::Error,
            &format!("signet jws_sign: {reason}: {detail}"),
        );
        let r = self.cfg.profile.reply(reason);
        self.decided(
            &stream.borrow().msg,
            Verdict::Refused(reason),
            Some(r.status),
        );
        host::send(&r);
        Action::Pause
    }

    /// Counts a verdict and writes its audit record when configured.
    fn decided(&self, msg: &Message, verdict: Verdict, status: Option<u16>) {
        // Responses go to the partner an earlier filter authenticated; requests (a partner's
        // egress) are the partner's own.
        let partner = if self.cfg.direction == Direction::Response {
            host::property(&["signet.partner"])
        } else {
            None
        };
        self.decisions.count(partner.as_deref(), verdict);
        if !self.cfg.audit {
            return;
        }
        let mut record = AuditRecord::new(
            host::now_ms_u64(),
            ROOT_ID,
            self.cfg.profile.name().name(),
            verdict,
            &msg.method,
            &msg.path,
        );
        record.status = status;
        record.partner = partner;
        if verdict == Verdict::Ok {
            record.alg = Some(self.cfg.key.alg.name());
            record.kid = self.cfg.key.kid.clone();
        }
        host::set_audit(&record);
    }
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Not a message this filter signs (yet).
    #[default]
    Idle,
    /// Held: headers paused, body being collected.
    Collecting,
    /// Signed (or not due for a signature) and released.
    Passed,
    /// Refused with a local reply: stays paused whatever arrives after.
    Refused,
}

/// Per-stream state, shared with the root while the message is held (`Weak` there).
#[derive(Default)]
pub struct Stream {
    msg: Message,
    phase: Phase,
}

/// Per-stream context of the signer.
pub struct JwsSignRequest {
    filter: Rc<JwsSign>,
    context_id: u32,
    stream: Rc<RefCell<Stream>>,
}

impl JwsSignRequest {
    pub fn new(filter: Rc<JwsSign>, context_id: u32) -> JwsSignRequest {
        JwsSignRequest {
            filter,
            context_id,
            stream: Rc::new(RefCell::new(Stream::default())),
        }
    }

    fn response_mode(&self) -> bool {
        self.filter.cfg.direction == Direction::Response
    }

    fn map(&self) -> MapType {
        if self.response_mode() {
            MapType::HttpResponseHeaders
        } else {
            MapType::HttpRequestHeaders
        }
    }

    /// Whether this response is one the configuration signs
    /// (docs/profiles.md#what-signets-signer-writes).
    fn wants_response(&self) -> bool {
        match self.filter.cfg.sign_responses {
            SignResponses::All => true,
            SignResponses::Local => host::is_local_reply(),
            SignResponses::Off => false,
        }
    }

    fn fail(&self, reason: Reason, detail: &str) -> Action {
        self.filter.fail(&self.stream, reason, detail)
    }

    fn start(&mut self, end_of_stream: bool) -> Action {
        let headers = match host::headers(self.map()) {
            Ok(h) => h,
            Err(e) => return self.fail(Reason::Internal, &e),
        };
        {
            let mut st = self.stream.borrow_mut();
            if self.response_mode() {
                st.msg.status = headers
                    .iter()
                    .find(|(n, _)| n == ":status")
                    .and_then(|(_, v)| v.parse().ok());
            } else {
                // An empty method or path would sign (or skip) the wrong thing: fail closed.
                match host::request_line_of(&headers) {
                    Ok((method, path)) => {
                        st.msg.method = method;
                        st.msg.path = path;
                    }
                    Err(e) => {
                        drop(st);
                        return self.fail(Reason::Internal, &e);
                    }
                }
            }
            st.msg.headers = headers
                .into_iter()
                .filter(|(n, _)| !n.starts_with(':'))
                .collect();
            st.phase = Phase::Collecting;
        }
        if end_of_stream {
            return self.finish(None);
        }
        // The rest may never come: the root's tick refuses it after body_timeout.
        self.filter.open.add(self.context_id, &self.stream);
        Action::Pause
    }

    /// What a body or trailers callback answers when the message is not being collected.
    fn settled(&self) -> Option<Action> {
        match self.stream.borrow().phase {
            Phase::Collecting => None,
            Phase::Refused => Some(Action::Pause),
            Phase::Idle | Phase::Passed => Some(Action::Continue),
        }
    }

    fn body(&mut self, buffer: BufferType, body_size: usize, end_of_stream: bool) -> Action {
        if let Some(action) = self.settled() {
            return action;
        }
        if body_size > self.filter.cfg.max_body_bytes {
            return self.too_large();
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.read_and_finish(buffer, body_size)
    }

    /// The message ends with trailers: the body buffered so far is all there is, and it is
    /// signed now (trailers are not part of what a JWS covers and pass as they are).
    fn trailers(&mut self, buffer: BufferType) -> Action {
        if let Some(action) = self.settled() {
            return action;
        }
        self.read_and_finish(buffer, usize::MAX)
    }

    fn too_large(&mut self) -> Action {
        self.fail(
            Reason::BodyTooLarge,
            "body over max_body_bytes: never sent unsigned",
        )
    }

    fn read_and_finish(&mut self, buffer: BufferType, body_size: usize) -> Action {
        let body = match hostcalls::get_buffer(buffer, 0, body_size) {
            Ok(b) => b.unwrap_or_default(),
            Err(s) => return self.fail(Reason::Internal, &format!("cannot read body: {s:?}")),
        };
        if body.len() > self.filter.cfg.max_body_bytes {
            return self.too_large();
        }
        let size = body.len();
        self.stream.borrow_mut().msg.body = body;
        self.finish(Some((buffer, size)))
    }

    /// Signs the complete message and writes back what the signer changed.
    fn finish(&mut self, buffer: Option<(BufferType, usize)>) -> Action {
        let f = Rc::clone(&self.filter);
        let (before, result) = {
            let mut st = self.stream.borrow_mut();
            // The headers as they were, to write back only what the signer changed (the body,
            // possibly large, is not copied: `body_rewritten` says whether it changed).
            let before = st.msg.headers.clone();
            let result = f.cfg.sign(&mut st.msg, host::now_ms(), &f.backend);
            (before, result)
        };
        match result {
            Ok(SignOutcome::NotSigned(why)) => {
                f.decided(&self.stream.borrow().msg, Verdict::Skipped, None);
                log(
                    LogLevel::Debug,
                    &format!("signet jws_sign: not signed: {why}"),
                );
                self.release()
            }
            Ok(SignOutcome::Signed {
                body_rewritten,
                body_kept,
            }) => {
                if let Err(e) = self.write_back(&before, buffer, body_rewritten) {
                    return self.fail(Reason::SignFailed, &e);
                }
                f.decided(&self.stream.borrow().msg, Verdict::Ok, None);
                if body_rewritten {
                    f.counters.inc(BODY_REWRITTEN);
                }
                if body_kept {
                    f.counters.inc(SIGN_BODY_KEPT);
                }
                self.release()
            }
            Err(e) => self.fail(Reason::SignFailed, &e.0),
        }
    }

    /// The message goes on; its body is no longer needed here.
    fn release(&mut self) -> Action {
        let mut st = self.stream.borrow_mut();
        st.phase = Phase::Passed;
        st.msg.body = Vec::new();
        Action::Continue
    }

    fn write_back(
        &self,
        before: &[(String, String)],
        buffer: Option<(BufferType, usize)>,
        body_rewritten: bool,
    ) -> Result<(), String> {
        let map = self.map();
        let st = self.stream.borrow();
        for (name, value) in &st.msg.headers {
            let was = before
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str());
            if was != Some(value.as_str()) {
                hostcalls::set_map_value(map, name, Some(value))
                    .map_err(|s| format!("cannot set header {name}: {s:?}"))?;
            }
        }
        if body_rewritten {
            let (buf, size) = buffer.ok_or("body rewritten without a body buffer")?;
            hostcalls::set_buffer(buf, 0, size, &st.msg.body)
                .map_err(|s| format!("cannot replace the body: {s:?}"))?;
        }
        Ok(())
    }
}

impl Context for JwsSignRequest {}

impl HttpContext for JwsSignRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !self.response_mode() {
            return self.start(end_of_stream);
        }
        // The response's signature and verdict name the request it answers: an empty method or
        // path would sign (or skip) the wrong thing, so fail closed instead.
        match host::request_line() {
            Ok((method, path)) => {
                let mut st = self.stream.borrow_mut();
                st.msg.method = method;
                st.msg.path = path;
                Action::Continue
            }
            Err(e) => self.fail(Reason::Internal, &e),
        }
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
        self.trailers(BufferType::HttpRequestBody)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if let Err(e) = host::strip_signet_from_upstream_response() {
            return self.fail(Reason::Internal, &e);
        }
        if !self.response_mode()
            || self.stream.borrow().phase != Phase::Idle
            || !self.wants_response()
        {
            return Action::Continue;
        }
        self.start(end_of_stream)
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
        self.trailers(BufferType::HttpResponseBody)
    }
}
