//! `mosip_seal`: MOSIP's partner-side encryption on the partner's egress (issue #14), over
//! `signet_core::seal`.
//!
//! Requests: the application sends the IDA auth / e-KYC request with `request` in clear; the
//! body is held, sealed into IDA's envelope and released. A request that cannot be sealed is
//! refused here and never leaves. Responses: an e-KYC answer's `response.identity` is opened
//! with the partner's key and the application receives it in clear.
//!
//! Place it first among the egress's Signet filters: `[mosip_seal, jws_sign, jws_verify]`.
//! Requests then run seal → sign (the signature covers the sealed bytes IDA receives), and
//! responses, in Envoy's reverse order, verify → open: only an answer whose `response-signature`
//! has been verified reaches the open step. Like `jws_sign`, it needs
//! `allow_on_headers_stop_iteration: true`.
//!
//! Randomness: one 32-byte seed per message from WASI `random_get` (the host's CSPRNG, through
//! `getrandom`); a host without it refuses (`internal`), never a predictable key.

use std::cell::Cell;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use rand_core::OsRng;
use signet_core::reason::Reason;
use signet_core::reply;
use signet_core::seal::{Opened, Opener, SealSettings, Sealer};
use std::rc::Rc;

use crate::host::{self, events, Counters};
use crate::log;

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "mosip_seal";
// Event counters `signet.mosip_seal.<event>`; a refusal's code is in the log line.
events! {
    SEALED = "sealed",
    OPENED = "opened",
    NOTHING_TO_OPEN = "nothing_to_open",
    REFUSED = "refused",
}

/// A configured `mosip_seal` filter.
pub struct MosipSeal {
    settings: SealSettings,
    counters: Counters,
}

impl MosipSeal {
    /// Parses and checks the settings (certificates in date now); the partner's key comes from
    /// the VM's environment.
    pub fn configure(settings: SealSettings) -> Result<MosipSeal, String> {
        let counters = Counters::define(ROOT_ID, EVENTS)?;
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
        Ok(MosipSeal { settings, counters })
    }
}

/// Per-stream context.
pub struct MosipSealStream {
    filter: Rc<MosipSeal>,
    /// The request was refused: the response is our own local reply and passes.
    request_refused: Cell<bool>,
    /// The answer was refused: what is left of the upstream's stays paused.
    response_refused: Cell<bool>,
    /// The response is held for opening.
    opening: bool,
}

impl MosipSealStream {
    pub fn new(filter: Rc<MosipSeal>) -> MosipSealStream {
        MosipSealStream {
            filter,
            request_refused: Cell::new(false),
            response_refused: Cell::new(false),
            opening: false,
        }
    }

    /// A local reply: the generic status of the code for a request (it never leaves), 502 for
    /// an answer (the application never gets it half-opened).
    fn refuse(&self, reason: Reason, detail: &str) -> Action {
        let status = if self.opening {
            self.response_refused.set(true);
            502
        } else {
            self.request_refused.set(true);
            reason.generic_status()
        };
        self.filter.counters.inc(REFUSED);
        log(
            LogLevel::Warn,
            &format!("signet mosip_seal: {reason}: {detail}"),
        );
        host::send(&reply::generic(reason, Some(status)));
        Action::Pause
    }

    fn settings(&self) -> &SealSettings {
        &self.filter.settings
    }

    /// Reads the whole body, transforms it, writes it back with its new length.
    fn rewrite(
        &self,
        buffer: BufferType,
        map: MapType,
        body_size: usize,
        f: impl FnOnce(&[u8]) -> Result<Option<Vec<u8>>, (Reason, String)>,
    ) -> Action {
        let body = match hostcalls::get_buffer(buffer, 0, body_size) {
            Ok(b) => b.unwrap_or_default(),
            Err(s) => return self.refuse(Reason::Internal, &format!("cannot read body: {s:?}")),
        };
        let out = match f(&body) {
            Ok(Some(out)) => out,
            Ok(None) => return Action::Continue,
            Err((reason, detail)) => return self.refuse(reason, &detail),
        };
        if let Err(s) = hostcalls::set_buffer(buffer, 0, body.len(), &out) {
            return self.refuse(Reason::Internal, &format!("cannot replace the body: {s:?}"));
        }
        if hostcalls::get_map_value(map, "content-length")
            .ok()
            .flatten()
            .is_some()
        {
            if let Err(s) =
                hostcalls::set_map_value(map, "content-length", Some(&out.len().to_string()))
            {
                return self.refuse(
                    Reason::Internal,
                    &format!("cannot set content-length: {s:?}"),
                );
            }
        }
        Action::Continue
    }
}

impl MosipSealStream {
    fn seal_body(&self, sealer: &Sealer, body_size: usize) -> Action {
        let counters = &self.filter.counters;
        self.rewrite(
            BufferType::HttpRequestBody,
            MapType::HttpRequestHeaders,
            body_size,
            |body| {
                let sealed = sealer
                    .seal(body, host::now_ms() / 1000, &mut OsRng)
                    .map_err(|e| (e.reason(), e.to_string()))?;
                counters.inc(SEALED);
                Ok(Some(sealed))
            },
        )
    }

    fn open_body(&self, opener: &Opener, body_size: usize) -> Action {
        let counters = &self.filter.counters;
        self.rewrite(
            BufferType::HttpResponseBody,
            MapType::HttpResponseHeaders,
            body_size,
            |body| match opener.open(body, &mut OsRng) {
                Ok(Opened::Clear(out)) => {
                    counters.inc(OPENED);
                    Ok(Some(out))
                }
                Ok(Opened::NothingToOpen) => {
                    counters.inc(NOTHING_TO_OPEN);
                    Ok(None)
                }
                Err(e) => Err((e.reason(), e.to_string())),
            },
        )
    }
}

impl Context for MosipSealStream {}

impl HttpContext for MosipSealStream {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.settings().sealer.is_none() || end_of_stream {
            // No body: nothing in clear can leave.
            return Action::Continue;
        }
        Action::Pause
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.request_refused.get() {
            return Action::Pause;
        }
        let Some(sealer) = self.filter.settings.sealer.as_ref() else {
            return Action::Continue;
        };
        if body_size > self.settings().max_body_bytes {
            return self.refuse(
                Reason::BodyTooLarge,
                "request over max_body_bytes: never sent in clear",
            );
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.seal_body(sealer, body_size)
    }

    // A message ending with trailers: the body buffered so far is all there is. Without these,
    // Envoy would release the held body as it is — in clear. The trailers themselves are
    // nothing IDA reads and would travel unsealed: they are emptied.
    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.request_refused.get() {
            return Action::Pause;
        }
        let Some(sealer) = self.filter.settings.sealer.as_ref() else {
            return Action::Continue;
        };
        if let Err(s) = hostcalls::set_map(MapType::HttpRequestTrailers, vec![]) {
            return self.refuse(Reason::Internal, &format!("cannot drop trailers: {s:?}"));
        }
        self.seal_body(sealer, usize::MAX)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.request_refused.get() || self.settings().opener.is_none() || end_of_stream {
            return Action::Continue;
        }
        // Envoy's own replies pass as they are. Every upstream answer is held whatever its
        // content-type says: an e-KYC identity is never handed over still sealed.
        if host::is_envoy_reply() {
            return Action::Continue;
        }
        self.opening = true;
        Action::Pause
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.response_refused.get() {
            return Action::Pause;
        }
        let Some(opener) = self
            .filter
            .settings
            .opener
            .as_ref()
            .filter(|_| self.opening)
        else {
            return Action::Continue;
        };
        if body_size > self.settings().max_body_bytes {
            return self.refuse(
                Reason::BodyTooLarge,
                "answer over max_body_bytes: cannot be opened",
            );
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.open_body(opener, body_size)
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        if self.response_refused.get() {
            return Action::Pause;
        }
        match self
            .filter
            .settings
            .opener
            .as_ref()
            .filter(|_| self.opening)
        {
            Some(opener) => self.open_body(opener, usize::MAX),
            None => Action::Continue,
        }
    }
}
