//! `jws_sign`: signs the exact bytes that leave Envoy — requests on a partner's egress
//! (`direction: request`), responses on the provider side (`direction: response`).
//!
//! The signature header is computed over the body, so headers are held until the body is
//! complete: the Wasm filter needs `allow_on_headers_stop_iteration: true` (Envoy ≥ 1.35),
//! without which the paused stream hangs silently. A message that must be signed never leaves
//! unsigned: too large or a signing error becomes a local reply (`body_too_large`,
//! `sign_failed`), as profiles.md §2.10 says.

use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, BufferType, LogLevel, MapType};
use signet_core::config::{CryptoChoice, Direction, ProfileName};
use signet_core::message::Message;
use signet_core::reason::Reason;
use signet_core::reply;
use signet_core::sign::{sign, SignConfig, SignOutcome, SignResponses};

use crate::host::{self, Counters};
use crate::log;
use crate::native_crypto::{Backend, NativeSupport};

/// The `root_id` that selects this filter.
pub const ROOT_ID: &str = "jws_sign";
const STAT: &str = "signet.jws_sign";

/// A configured `jws_sign` filter.
pub struct JwsSign {
    cfg: SignConfig,
    backend: Backend,
    counters: Counters,
}

impl JwsSign {
    /// Parses the configuration; the private key comes from the VM's environment
    /// (`vm_config.environment_variables`) when `signing_key_env` names it.
    pub fn configure(raw: &[u8]) -> Result<JwsSign, String> {
        let text =
            std::str::from_utf8(raw).map_err(|_| "configuration is not UTF-8".to_string())?;
        let cfg = SignConfig::from_json(text, &|name| std::env::var(name).ok())?;
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
        let counters = Counters::named(
            STAT,
            &[
                "signed",
                "not_signed",
                "body_rewritten",
                "sign_body_kept",
                "sign_failed",
                "too_large",
            ],
        )?;
        log(
            LogLevel::Info,
            &format!(
                "signet jws_sign: profile {}, {} {}, native sign {}",
                cfg.profile.name(),
                cfg.alg.name(),
                if cfg.direction == Direction::Response {
                    "responses"
                } else {
                    "requests"
                },
                native.sign
            ),
        );
        let backend = Backend::for_signer(native, &cfg.key)?;
        Ok(JwsSign {
            cfg,
            backend,
            counters,
        })
    }
}

/// Per-stream state of the signer.
pub struct JwsSignRequest {
    filter: Rc<JwsSign>,
    msg: Message,
    active: bool,
    done: bool,
}

impl JwsSignRequest {
    pub fn new(filter: Rc<JwsSign>) -> JwsSignRequest {
        JwsSignRequest {
            filter,
            msg: Message::default(),
            active: false,
            done: false,
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

    /// Whether this response is one the configuration signs (§2.10.3).
    fn wants_response(&self) -> bool {
        let local = host::is_local_reply();
        match self.filter.cfg.sign_responses {
            SignResponses::All => true,
            SignResponses::Local => local,
            SignResponses::Off => false,
        }
    }

    fn start(&mut self, end_of_stream: bool) -> Action {
        let headers = match host::headers(self.map()) {
            Ok(h) => h,
            Err(e) => return self.fail(Reason::Internal, &e),
        };
        let status = headers
            .iter()
            .find(|(n, _)| n == ":status")
            .and_then(|(_, v)| v.parse().ok());
        self.msg.status = if self.response_mode() { status } else { None };
        self.msg.headers = headers
            .into_iter()
            .filter(|(n, _)| !n.starts_with(':'))
            .collect();
        self.active = true;
        if end_of_stream {
            return self.finish(None);
        }
        Action::Pause
    }

    fn body(&mut self, buffer: BufferType, body_size: usize, end_of_stream: bool) -> Action {
        if !self.active || self.done {
            return Action::Continue;
        }
        if body_size > self.filter.cfg.max_body_bytes {
            self.filter.counters.inc(&format!("{STAT}.too_large"));
            return self.fail(
                Reason::BodyTooLarge,
                "body over max_body_bytes: never sent unsigned",
            );
        }
        if !end_of_stream {
            return Action::Pause;
        }
        match hostcalls::get_buffer(buffer, 0, body_size) {
            Ok(b) => self.msg.body = b.unwrap_or_default(),
            Err(s) => return self.fail(Reason::Internal, &format!("cannot read body: {s:?}")),
        }
        self.finish(Some((buffer, body_size)))
    }

    /// Signs the complete message and writes back what the signer changed.
    fn finish(&mut self, buffer: Option<(BufferType, usize)>) -> Action {
        self.done = true;
        let before = self.msg.clone();
        let f = Rc::clone(&self.filter);
        match sign(&f.cfg, &mut self.msg, host::now_ms(), &f.backend) {
            Ok(SignOutcome::NotSigned(why)) => {
                f.counters.inc(&format!("{STAT}.not_signed"));
                log(
                    LogLevel::Debug,
                    &format!("signet jws_sign: not signed: {why}"),
                );
                Action::Continue
            }
            Ok(SignOutcome::Signed {
                body_rewritten,
                body_kept,
            }) => {
                if let Err(e) = self.write_back(&before, buffer, body_rewritten) {
                    return self.fail(Reason::SignFailed, &e);
                }
                f.counters.inc(&format!("{STAT}.signed"));
                if body_rewritten {
                    f.counters.inc(&format!("{STAT}.body_rewritten"));
                }
                if body_kept {
                    f.counters.inc(&format!("{STAT}.sign_body_kept"));
                }
                self.msg.body = Vec::new();
                Action::Continue
            }
            Err(e) => {
                f.counters.inc(&format!("{STAT}.sign_failed"));
                self.fail(Reason::SignFailed, &e.0)
            }
        }
    }

    fn write_back(
        &self,
        before: &Message,
        buffer: Option<(BufferType, usize)>,
        body_rewritten: bool,
    ) -> Result<(), String> {
        let map = self.map();
        for (name, value) in &self.msg.headers {
            if before.header(name) != Some(value.as_str()) {
                hostcalls::set_map_value(map, name, Some(value))
                    .map_err(|s| format!("cannot set header {name}: {s:?}"))?;
            }
        }
        if body_rewritten {
            let (buf, size) = buffer.ok_or("body rewritten without a body buffer")?;
            hostcalls::set_buffer(buf, 0, size, &self.msg.body)
                .map_err(|s| format!("cannot replace the body: {s:?}"))?;
        }
        Ok(())
    }

    /// A local reply in place of a message that cannot leave signed.
    fn fail(&mut self, reason: Reason, detail: &str) -> Action {
        self.done = true;
        log(
            LogLevel::Error,
            &format!("signet jws_sign: {reason}: {detail}"),
        );
        let r = match self.filter.cfg.profile {
            ProfileName::Mojaloop => reply::mojaloop(reason),
            _ => reply::generic(reason, None),
        };
        host::send(&r);
        Action::Pause
    }
}

impl Context for JwsSignRequest {}

impl HttpContext for JwsSignRequest {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        self.msg.method = host::property(&["request", "method"]).unwrap_or_default();
        self.msg.path = host::property(&["request", "path"]).unwrap_or_default();
        if self.response_mode() {
            return Action::Continue;
        }
        self.start(end_of_stream)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.response_mode() {
            return Action::Continue;
        }
        self.body(BufferType::HttpRequestBody, body_size, end_of_stream)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if !self.response_mode() || self.done || !self.wants_response() {
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
}
