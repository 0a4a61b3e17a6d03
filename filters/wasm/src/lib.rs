//! Signet's proxy-wasm glue: one module, one filter per `root_id`.
//!
//! Envoy creates one root context per `envoy.filters.http.wasm` entry (per worker). The root
//! learns which filter it is from the `plugin_root_id` property in `on_configure`, parses that
//! filter's JSON configuration once, and then hands out HTTP contexts of that filter.
//!
//! The partner registry (`docs/registry.md`) is the VM's configuration (`vm_config.
//! configuration`), shared by every Signet filter of the gateway: the host calls `on_vm_start`
//! for each plugin's root context, in the canary VM and in each worker's VM, before its
//! `on_configure` (proxy-wasm-cpp-host `WasmBase::start` then `configure`), so the registry is
//! parsed there once per VM and handed to each filter's configuration.

use std::cell::RefCell;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use signet_core::check::{self, FilterConfig};
use signet_core::registry::Registry;

pub mod gateway;
pub mod header_map;
pub mod host;
pub mod hostcalls;
pub mod jws_sign;
pub mod jws_verify;
pub mod memstat;
pub mod mosip_seal;
pub mod native_crypto;
pub mod token_check;
pub mod token_fetch;
#[cfg(feature = "trace-calls")]
pub mod trace;
pub mod trap;
pub mod waiters;

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: memstat::CountingAlloc = memstat::CountingAlloc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| -> Box<dyn RootContext> {
        Box::new(SignetRoot {
            context_id,
            ..SignetRoot::default()
        })
    });
}}

/// A configured filter, ready to create per-request contexts.
enum Filter {
    Gateway(Rc<gateway::Gateway>),
    JwsVerify(Rc<jws_verify::JwsVerify>),
    JwsSign(Rc<jws_sign::JwsSign>),
    TokenCheck(Rc<token_check::TokenCheck>),
    TokenFetch(Rc<token_fetch::TokenFetch>),
    MosipSeal(Rc<mosip_seal::MosipSeal>),
    /// `trace-calls` builds: a filter that does nothing (the cost of any Wasm filter), or only
    /// holds and reads the request body (`true`).
    #[cfg(feature = "trace-calls")]
    Noop(bool),
}

#[cfg(feature = "trace-calls")]
impl Filter {
    fn root_id(&self) -> &'static str {
        match self {
            Filter::Gateway(_) => gateway::ROOT_ID,
            Filter::JwsVerify(_) => jws_verify::ROOT_ID,
            Filter::JwsSign(_) => jws_sign::ROOT_ID,
            Filter::TokenCheck(_) => token_check::ROOT_ID,
            Filter::TokenFetch(_) => token_fetch::ROOT_ID,
            Filter::MosipSeal(_) => mosip_seal::ROOT_ID,
            Filter::Noop(false) => trace::NOOP,
            Filter::Noop(true) => trace::NOOP_BODY,
        }
    }
}

/// The root context: unconfigured until `on_configure` succeeds.
#[derive(Default)]
pub struct SignetRoot {
    filter: Option<Filter>,
    /// The host's id of this root (callouts are made here; waiters are resumed from here).
    context_id: u32,
}

/// Logs through the host; a failing log call has nowhere better to go, so it is dropped.
pub(crate) fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

/// The `root_id` Envoy gave this plugin (empty when none was configured).
fn plugin_root_id() -> Result<String, String> {
    match hostcalls::get_property(vec!["plugin_root_id"]) {
        Ok(Some(bytes)) => {
            String::from_utf8(bytes).map_err(|_| "plugin_root_id property is not UTF-8".to_string())
        }
        Ok(None) => Ok(String::new()),
        Err(status) => Err(format!("cannot read plugin_root_id property: {status:?}")),
    }
}

thread_local! {
    /// This VM's registry and the bytes it was parsed from; `None` when the VM configuration
    /// is empty (filters then carry their registry inline, or none).
    static VM_REGISTRY: RefCell<Option<(Vec<u8>, Rc<Registry>)>> = const { RefCell::new(None) };
}

/// Parses the VM configuration as the partner registry, once per VM: later root contexts of the
/// same VM are handed the same bytes and reuse the parsed registry.
fn load_vm_registry(bytes: &[u8]) -> Result<(), String> {
    let cached = VM_REGISTRY.with(|r| {
        r.borrow()
            .as_ref()
            .is_some_and(|(seen, _)| seen.as_slice() == bytes)
    });
    if cached {
        return Ok(());
    }
    let parsed = check::registry(bytes)
        .map_err(|e| format!("{}: bad configuration: {e}", check::REGISTRY))?;
    if let Some(reg) = &parsed {
        log(
            LogLevel::Info,
            &format!(
                "signet: partner registry loaded from the VM configuration, {} partner(s)",
                reg.partners().len()
            ),
        );
    }
    VM_REGISTRY.with(|r| *r.borrow_mut() = parsed.map(|reg| (bytes.to_vec(), Rc::new(reg))));
    Ok(())
}

/// The registry of this VM, if its configuration holds one.
fn vm_registry() -> Option<Rc<Registry>> {
    VM_REGISTRY.with(|r| r.borrow().as_ref().map(|(_, reg)| Rc::clone(reg)))
}

/// The plugin configuration bytes; an absent configuration reads as empty.
fn plugin_configuration() -> Result<Vec<u8>, String> {
    match hostcalls::get_buffer(
        proxy_wasm::types::BufferType::PluginConfiguration,
        0,
        usize::MAX,
    ) {
        Ok(bytes) => Ok(bytes.unwrap_or_default()),
        Err(status) => Err(format!("cannot read plugin configuration: {status:?}")),
    }
}

/// Checks the plugin's configuration with the core (the check `signet config check` runs, so
/// both give the same verdict and text), then makes the live filter: defines its stats with
/// the host and probes native crypto.
fn configure(root_id: &str, raw: &[u8]) -> Result<Filter, String> {
    let shared = vm_registry();
    let env = |name: &str| std::env::var(name).ok();
    let at = check::Host {
        env: &env,
        now_s: host::now_ms() / 1000,
    };
    let bad = |e: &dyn std::fmt::Display| format!("root_id \"{root_id}\": bad configuration: {e}");
    #[cfg(feature = "trace-calls")]
    if root_id == trace::NOOP || root_id == trace::NOOP_BODY {
        return Ok(Filter::Noop(root_id == trace::NOOP_BODY));
    }
    let live = match check::filter(root_id, raw, shared.as_deref(), &at).map_err(|e| bad(&e))? {
        FilterConfig::Gateway(cfg) => {
            gateway::Gateway::new(cfg).map(|f| Filter::Gateway(Rc::new(f)))
        }
        FilterConfig::JwsVerify(cfg) => {
            jws_verify::JwsVerify::configure(*cfg).map(|f| Filter::JwsVerify(Rc::new(f)))
        }
        FilterConfig::JwsSign(cfg) => {
            jws_sign::JwsSign::configure(*cfg).map(|f| Filter::JwsSign(Rc::new(f)))
        }
        FilterConfig::TokenCheck(cfg) => {
            token_check::TokenCheck::configure(*cfg).map(|f| Filter::TokenCheck(Rc::new(f)))
        }
        FilterConfig::TokenFetch(cfg) => {
            token_fetch::TokenFetch::configure(*cfg).map(|f| Filter::TokenFetch(Rc::new(f)))
        }
        FilterConfig::MosipSeal(cfg) => {
            mosip_seal::MosipSeal::configure(*cfg).map(|f| Filter::MosipSeal(Rc::new(f)))
        }
    };
    live.map_err(|e| bad(&e))
}

impl Context for SignetRoot {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        match &self.filter {
            Some(Filter::TokenCheck(f)) => {
                f.on_http_call_response(token_id, num_headers, body_size)
            }
            Some(Filter::TokenFetch(f)) => {
                f.on_http_call_response(token_id, num_headers, body_size)
            }
            Some(Filter::JwsVerify(f)) => f.on_http_call_response(token_id, num_headers, body_size),
            _ => {}
        }
    }
}

impl RootContext for SignetRoot {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        let bytes = match hostcalls::get_buffer(
            proxy_wasm::types::BufferType::VmConfiguration,
            0,
            usize::MAX,
        ) {
            Ok(b) => b.unwrap_or_default(),
            Err(status) => {
                log(
                    LogLevel::Critical,
                    &format!("cannot read the VM configuration: {status:?}"),
                );
                return false;
            }
        };
        match load_vm_registry(&bytes) {
            Ok(()) => true,
            Err(message) => {
                // Envoy refuses the configuration when on_vm_start fails in its canary VM.
                log(LogLevel::Critical, &message);
                false
            }
        }
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let result = plugin_root_id()
            .and_then(|root_id| plugin_configuration().map(|cfg| (root_id, cfg)))
            .and_then(|(root_id, cfg)| configure(&root_id, &cfg));
        match result {
            Ok(filter) => {
                match &filter {
                    Filter::TokenCheck(f) => f.start(self.context_id),
                    Filter::TokenFetch(f) => f.start(self.context_id),
                    Filter::JwsVerify(f) => f.start(self.context_id),
                    Filter::JwsSign(f) => f.start(self.context_id),
                    Filter::MosipSeal(f) => f.start(self.context_id),
                    Filter::Gateway(_) => {}
                    #[cfg(feature = "trace-calls")]
                    Filter::Noop(_) => {}
                }
                self.filter = Some(filter);
                true
            }
            Err(message) => {
                // Envoy rejects the listener when on_configure fails, so nothing runs unconfigured.
                log(LogLevel::Critical, &message);
                self.filter = None;
                false
            }
        }
    }

    fn on_tick(&mut self) {
        match &self.filter {
            Some(Filter::TokenCheck(f)) => f.on_tick(),
            Some(Filter::TokenFetch(f)) => f.on_tick(),
            Some(Filter::JwsVerify(f)) => f.on_tick(),
            Some(Filter::JwsSign(f)) => f.on_tick(),
            Some(Filter::MosipSeal(f)) => f.on_tick(),
            _ => {}
        }
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        memstat::record();
        let context: Box<dyn HttpContext> = match &self.filter {
            Some(Filter::Gateway(gw)) => Box::new(gateway::GatewayRequest::new(Rc::clone(gw))),
            Some(Filter::JwsVerify(f)) => {
                Box::new(jws_verify::JwsVerifyRequest::new(Rc::clone(f), context_id))
            }
            Some(Filter::JwsSign(f)) => {
                Box::new(jws_sign::JwsSignRequest::new(Rc::clone(f), context_id))
            }
            Some(Filter::TokenCheck(f)) => Box::new(token_check::TokenCheckRequest::new(
                Rc::clone(f),
                context_id,
            )),
            Some(Filter::TokenFetch(f)) => Box::new(token_fetch::TokenFetchRequest::new(
                Rc::clone(f),
                context_id,
            )),
            Some(Filter::MosipSeal(f)) => {
                Box::new(mosip_seal::MosipSealStream::new(Rc::clone(f), context_id))
            }
            #[cfg(feature = "trace-calls")]
            Some(Filter::Noop(body)) => Box::new(trace::Noop { body: *body }),
            // Envoy does not run a plugin whose on_configure failed; should it ever ask anyway,
            // answer 503 rather than let the request through unchecked (fail closed).
            None => Box::new(Unconfigured),
        };
        #[cfg(feature = "trace-calls")]
        let context =
            trace::Traced::wrap(self.filter.as_ref().map_or("", Filter::root_id), context);
        Some(context)
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// Per-request context of a root that has no valid configuration: refuses every request.
struct Unconfigured;

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        log(LogLevel::Error, "request refused: filter is not configured");
        if let Err(status) = hostcalls::send_http_response(
            503,
            vec![(
                "x-signet-reason",
                signet_core::reason::Reason::Internal.code(),
            )],
            None,
        ) {
            log(LogLevel::Critical, &format!("cannot send 503: {status:?}"));
        }
        Action::Pause
    }

    // Nothing that arrives after the refusal may resume the request.
    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Pause
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Pause
    }
}
