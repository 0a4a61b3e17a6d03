//! `mosip_seal`: MOSIP's partner-side encryption on the partner's egress (issue #14), over
//! `signet_core::seal`.
//!
//! Requests: the application sends the IDA auth / e-KYC request with `request` in clear; the
//! body is held, its biometric records checked (`device_trust`: device and FTM chip signatures
//! and chains), sealed into IDA's envelope and released. A request that cannot be sealed is
//! refused here, in IDA's error envelope (`errors[0].errorCode`, HTTP 200 unless
//! `error_status: 4xx`), and never leaves. Responses: an e-KYC answer's `response.identity` is
//! opened with the partner's key and the application receives it in clear; one that does not
//! open becomes a 502.
//!
//! Place it first among the egress's Signet filters: `[mosip_seal, jws_sign, jws_verify]`.
//! Requests then run seal → sign (the signature covers the sealed bytes IDA receives), and
//! responses, in Envoy's reverse order, verify → open: only an answer whose `response-signature`
//! has been verified reaches the open step. Like `jws_sign`, it needs
//! `allow_on_headers_stop_iteration: true`. A held message that does not end within
//! `body_timeout` is refused (`body_timeout`). With `audit` on, each verdict is written to
//! filter state `signet.audit.mosip_seal`.
//!
//! Randomness: the session key and one 32-byte seed per message from WASI `random_get` (the
//! host's CSPRNG, through `getrandom`); a host without it refuses (`internal`), never a
//! predictable key.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use rand_core::OsRng;
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::reason::Reason;
use signet_core::reply;
use signet_core::seal::{Opened, SealSettings};

use crate::host::{self, events, Counters};
use crate::hostcalls;
use crate::log;
use crate::native_crypto::{Backend, NativeSupport};
use crate::waiters::OpenMessages;

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "mosip_seal";
// Event counters `signet.mosip_seal.<event>`; a refusal's code is in the log line and the
// audit record.
events! {
    SEALED = "sealed",
    OPENED = "opened",
    NOTHING_TO_OPEN = "nothing_to_open",
    REFUSED = "refused",
}
/// The root's timer: the bound on held messages.
const TICK: Duration = Duration::from_millis(1000);

/// A configured `mosip_seal` filter.
pub struct MosipSeal {
    settings: SealSettings,
    /// Verifies the biometric records' signatures (the host's when it has them).
    backend: Backend,
    counters: Counters,
    root_id: Cell<u32>,
    /// Messages held until they end, checked against `body_timeout` on every tick.
    open: OpenMessages<Stream>,
}

impl MosipSeal {
    /// Takes the checked settings (certificates in date now; the partner's key from the VM's
    /// environment) and logs what the filter will do.
    pub fn configure(settings: SealSettings) -> Result<MosipSeal, String> {
        let counters = Counters::define(ROOT_ID, EVENTS)?;
        let mut backend = Backend::new(NativeSupport::default());
        if let Some(s) = &settings.sealer {
            let c = s.certificate();
            log(
                LogLevel::Info,
                &format!(
                    "signet mosip_seal: sealing requests to IDA certificate {} (thumbprint {}, SHA-256 {}), valid until {}",
                    c.subject(),
                    s.thumbprint(),
                    c.sha256_hex_upper(),
                    signet_core::time::format_millis_z(c.not_after().saturating_mul(1000))
                        .unwrap_or_default()
                ),
            );
            match s.device_trust() {
                Some(d) => {
                    backend = Backend::new(NativeSupport::probe());
                    let (device, ftm, models) = d.counts();
                    log(
                        LogLevel::Info,
                        &format!(
                            "signet mosip_seal: checking biometric records against {device} device-provider and {ftm} FTM CA certificate(s), {}, crypto {}",
                            if models == 0 { "any model".to_string() } else { format!("{models} model(s)") },
                            signet_core::crypto::CryptoBackend::name(&backend)
                        ),
                    );
                }
                None => log(
                    LogLevel::Info,
                    "signet mosip_seal: no device_trust: biometric records are sealed unchecked",
                ),
            }
        }
        if let Some(o) = &settings.opener {
            log(
                LogLevel::Info,
                &format!(
                    "signet mosip_seal: opening e-KYC answers for partner certificate SHA-256 {}",
                    o.thumbprint_hex()
                ),
            );
        }
        Ok(MosipSeal {
            open: OpenMessages::new(settings.body_timeout_ms),
            settings,
            backend,
            counters,
            root_id: Cell::new(0),
        })
    }

    /// Called once the root is configured: starts the timer that bounds held messages.
    pub fn start(&self, root_id: u32) {
        self.root_id.set(root_id);
        let _ = hostcalls::set_tick_period(TICK);
    }

    /// A message still arriving after `body_timeout` is refused: a request never leaves in
    /// clear, an answer never reaches the application sealed.
    pub fn on_tick(&self) {
        self.open.expire(
            self.root_id.get(),
            |s| s.phase == Phase::Collecting,
            |s| {
                self.refuse(
                    s,
                    Reason::BodyTimeout,
                    None,
                    &[],
                    "message did not end within body_timeout",
                );
            },
        );
    }

    /// A local reply in IDA's error envelope: `ida` is IDA's `(errorCode, errorMessage)` for
    /// the refusal when it has one; `body` the message whose `id`, `version` and
    /// `transactionID` the envelope echoes.
    fn refuse(
        &self,
        stream: &RefCell<Stream>,
        reason: Reason,
        ida: Option<(&'static str, String)>,
        body: &[u8],
        detail: &str,
    ) -> Action {
        let (status, path) = {
            let mut st = stream.borrow_mut();
            st.phase = Phase::Refused;
            let status = reply::ida_status(reason, st.response, self.settings.error_status_4xx);
            self.decided(&st, Verdict::Refused(reason), Some(status));
            (status, st.path.clone())
        };
        let ida = ida.unwrap_or_else(|| match reason {
            Reason::BodyTooLarge => reply::ida_invalid_request(),
            _ => reply::ida_not_processed(),
        });
        self.counters.inc(REFUSED);
        log(
            LogLevel::Warn,
            &format!("signet mosip_seal: {reason}: {detail}"),
        );
        // Not borrowed while the reply is sent: Envoy may run this stream's callbacks inside.
        host::send(&reply::ida(
            reason,
            status,
            ida,
            body,
            &path,
            host::now_ms(),
        ));
        Action::Pause
    }

    /// Writes the audit record of a verdict when configured.
    fn decided(&self, st: &Stream, verdict: Verdict, status: Option<u16>) {
        if !self.settings.audit {
            return;
        }
        let mut record = AuditRecord::new(
            host::now_ms_u64(),
            ROOT_ID,
            "mosip",
            verdict,
            &st.method,
            &st.path,
        );
        record.status = status;
        host::set_audit(&record);
    }
}

/// Where the message being held stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Nothing held (yet).
    #[default]
    Idle,
    /// Held: headers paused, body being collected.
    Collecting,
    /// Sealed or opened (or nothing to do) and released.
    Passed,
    /// Refused with a local reply: stays paused whatever arrives after.
    Refused,
}

/// Per-stream state, shared with the root while a message is held (`Weak` there).
#[derive(Default)]
pub struct Stream {
    phase: Phase,
    /// Whether `phase` is about the response (else the request).
    response: bool,
    method: String,
    /// `:path` without its query (the audit route and the envelope's API).
    path: String,
}

/// Per-stream context.
pub struct MosipSealStream {
    filter: Rc<MosipSeal>,
    context_id: u32,
    stream: Rc<RefCell<Stream>>,
}

impl MosipSealStream {
    pub fn new(filter: Rc<MosipSeal>, context_id: u32) -> MosipSealStream {
        MosipSealStream {
            filter,
            context_id,
            stream: Rc::new(RefCell::new(Stream::default())),
        }
    }

    fn settings(&self) -> &SealSettings {
        &self.filter.settings
    }

    fn refuse(
        &self,
        reason: Reason,
        ida: Option<(&'static str, String)>,
        body: &[u8],
        detail: &str,
    ) -> Action {
        self.filter.refuse(&self.stream, reason, ida, body, detail)
    }

    /// Starts holding the request (`response` false) or the answer until it ends.
    fn hold(&self, response: bool) -> Action {
        {
            let mut st = self.stream.borrow_mut();
            st.phase = Phase::Collecting;
            st.response = response;
        }
        // The rest may never come: the root's tick refuses it after body_timeout.
        self.filter.open.add(self.context_id, &self.stream);
        Action::Pause
    }

    /// What a body or trailers callback of `response`'s direction answers when that message is
    /// not being collected: a refused one stays paused, anything else (our own local reply to a
    /// refused request included) passes.
    fn settled(&self, response: bool) -> Option<Action> {
        let st = self.stream.borrow();
        match (st.phase, st.response == response) {
            (Phase::Collecting, true) => None,
            (Phase::Refused, true) => Some(Action::Pause),
            _ => Some(Action::Continue),
        }
    }

    fn body(&self, response: bool, body_size: usize, end_of_stream: bool) -> Action {
        if let Some(action) = self.settled(response) {
            return action;
        }
        if body_size > self.settings().max_body_bytes {
            let detail = if response {
                "answer over max_body_bytes: cannot be opened"
            } else {
                "request over max_body_bytes: never sent in clear"
            };
            return self.refuse(Reason::BodyTooLarge, None, &[], detail);
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.finish(response, body_size)
    }

    /// The message ends with trailers: the body buffered so far is all there is. Without this,
    /// Envoy would release the held body as it is — in clear.
    fn trailers(&self, response: bool) -> Action {
        if let Some(action) = self.settled(response) {
            return action;
        }
        // A request's trailers are nothing IDA reads and would travel unsealed beside the
        // sealed body: they are emptied.
        if !response {
            if let Err(s) = hostcalls::set_map(MapType::HttpRequestTrailers, vec![]) {
                return self.refuse(
                    Reason::Internal,
                    None,
                    &[],
                    &format!("cannot drop trailers: {s:?}"),
                );
            }
        }
        self.finish(response, usize::MAX)
    }

    /// Reads the whole held body, seals or opens it, writes it back with its new length.
    fn finish(&self, response: bool, body_size: usize) -> Action {
        let (buffer, map) = if response {
            (BufferType::HttpResponseBody, MapType::HttpResponseHeaders)
        } else {
            (BufferType::HttpRequestBody, MapType::HttpRequestHeaders)
        };
        let body = match hostcalls::get_buffer(buffer, 0, body_size) {
            Ok(b) => b.unwrap_or_default(),
            Err(s) => {
                return self.refuse(
                    Reason::Internal,
                    None,
                    &[],
                    &format!("cannot read body: {s:?}"),
                )
            }
        };
        let f = &self.filter;
        let out = if response {
            let Some(opener) = &f.settings.opener else {
                return Action::Continue;
            };
            match opener.open(&body, &mut OsRng) {
                Ok(Opened::Clear(out)) => {
                    f.counters.inc(OPENED);
                    Some(out)
                }
                Ok(Opened::NothingToOpen) => {
                    f.counters.inc(NOTHING_TO_OPEN);
                    None
                }
                Err(e) => return self.refuse(e.reason(), None, &body, &e.to_string()),
            }
        } else {
            let Some(sealer) = &f.settings.sealer else {
                return Action::Continue;
            };
            match sealer.seal(&body, host::now_ms() / 1000, &mut OsRng, &f.backend) {
                Ok(out) => {
                    f.counters.inc(SEALED);
                    Some(out)
                }
                Err(e) => {
                    return self.refuse(e.reason(), Some(e.ida_error()), &body, &e.to_string())
                }
            }
        };
        if let Some(out) = out {
            if let Err(s) = hostcalls::set_buffer(buffer, 0, body.len(), &out) {
                return self.refuse(
                    Reason::Internal,
                    None,
                    &[],
                    &format!("cannot replace the body: {s:?}"),
                );
            }
            if host::header_value(map, "content-length")
                .ok()
                .flatten()
                .is_some()
            {
                if let Err(s) =
                    hostcalls::set_map_value(map, "content-length", Some(&out.len().to_string()))
                {
                    return self.refuse(
                        Reason::Internal,
                        None,
                        &[],
                        &format!("cannot set content-length: {s:?}"),
                    );
                }
            }
        }
        let mut st = self.stream.borrow_mut();
        st.phase = Phase::Passed;
        f.decided(&st, Verdict::Ok, None);
        Action::Continue
    }
}

impl Context for MosipSealStream {}

impl HttpContext for MosipSealStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        {
            let header = |name| {
                host::header_value(MapType::HttpRequestHeaders, name)
                    .ok()
                    .flatten()
                    .unwrap_or_default()
            };
            let mut st = self.stream.borrow_mut();
            st.method = header(":method");
            let path = header(":path");
            st.path = path.split(['?', '#']).next().unwrap_or_default().into();
        }
        if self.settings().sealer.is_none() || end_of_stream {
            // No body: nothing in clear can leave.
            return Action::Continue;
        }
        self.hold(false)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.body(false, body_size, end_of_stream)
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        self.trailers(false)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.stream.borrow().phase == Phase::Refused
            || self.settings().opener.is_none()
            || end_of_stream
        {
            return Action::Continue;
        }
        // Envoy's own replies pass as they are. Every upstream answer is held whatever its
        // content-type says: an e-KYC identity is never handed over still sealed.
        if host::is_envoy_reply() {
            return Action::Continue;
        }
        self.hold(true)
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.body(true, body_size, end_of_stream)
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        self.trailers(true)
    }
}
