//! Where a filter's time goes, per stream: `trace-calls` builds only (`make wasm-trace`, never
//! the shipped module, which has no such feature).
//!
//! Every host call the filters make goes through [`counted`] (via `crate::hostcalls`) and is
//! counted by kind, with the bytes it moved across the VM boundary; the counting allocator
//! (`memstat.rs`) counts allocations and their bytes; and [`Traced`] wraps each stream's context
//! to read the host clock around every callback. The totals are kept per filter and VM, and
//! added to counters `signet.trace.<filter>.<field>` when a stream ends (Envoy sums the VMs:
//! filters whose VM configuration differs get VMs of their own). `scripts/bench --trace` sends
//! one scenario at a time and divides the counters' growth by the streams it served.
//!
//! `root_id: "noop"` is a filter that does nothing (untraced): the floor every Wasm filter pays.
//!
//! A request carrying `x-signet-trace-time: 1` also times single host calls in isolation (many
//! calls between two clock reads, inside that request) into `signet.trace.time.<call>_ns`.

use std::cell::RefCell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use proxy_wasm::hostcalls as raw;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel, MapType, MetricType};
// A row is kept for each filter (streams of the no-op root are not traced).
use signet_core::check::ROOT_IDS as FILTERS;

/// The `root_id` of a filter that does nothing: what any Wasm filter costs Envoy.
pub const NOOP: &str = "noop";
/// The `root_id` of a filter that only holds the request until its body is complete and reads
/// it, as `jws_verify` does before any check: what that hand-off costs Envoy.
pub const NOOP_BODY: &str = "noop_body";

/// The context of a [`NOOP`] stream (every callback answers `Continue`) or, with `body`, of a
/// [`NOOP_BODY`] one.
pub struct Noop {
    pub body: bool,
}

impl Context for Noop {}

impl HttpContext for Noop {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if self.body && !end_of_stream {
            Action::Pause
        } else {
            Action::Continue
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.body {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let _ = raw::get_buffer(proxy_wasm::types::BufferType::HttpRequestBody, 0, body_size);
        Action::Continue
    }
}

/// The kinds of host call, as the counters name them.
const KINDS: [&str; 15] = [
    "get_headers",
    "get_header",
    "set_header",
    "remove_header",
    "get_property",
    "set_property",
    "get_body",
    "set_body",
    "foreign",
    "metric",
    "log",
    "time",
    "shared_data",
    "local_reply",
    "other",
];

#[derive(Clone, Copy)]
enum Kind {
    GetHeaders,
    GetHeader,
    SetHeader,
    RemoveHeader,
    GetProperty,
    SetProperty,
    GetBody,
    SetBody,
    Foreign,
    Metric,
    Log,
    Time,
    SharedData,
    LocalReply,
    Other,
}

// A row of figures: these, then calls, bytes and nanoseconds of each kind.
const STREAMS: usize = 0;
const CALLBACKS: usize = 1;
const WASM_NS: usize = 2;
const ALLOCS: usize = 3;
const ALLOC_BYTES: usize = 4;
const FIRST_KIND: usize = 5;
const PER_KIND: usize = 3;
const FIELDS: usize = FIRST_KIND + PER_KIND * KINDS.len();
type Row = [u64; FIELDS];

/// Allocations and their bytes since the VM started (kept by `memstat::CountingAlloc`).
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
pub static ALLOCATED: AtomicU64 = AtomicU64::new(0);

/// One filter's totals, what was last published of them, and the counters' ids.
struct Totals {
    row: Row,
    published: Row,
    ids: [Option<u32>; FIELDS],
}

thread_local! {
    /// Host calls of the whole VM since it started: the kind columns of a [`Row`].
    static CALLS: RefCell<Row> = const { RefCell::new([0; FIELDS]) };
    static TOTALS: RefCell<Vec<Totals>> = RefCell::new(
        FILTERS
            .iter()
            .map(|_| Totals { row: [0; FIELDS], published: [0; FIELDS], ids: [None; FIELDS] })
            .collect(),
    );
}

/// Makes one host call, counted under `kind` with the time it took; `bytes` says how many
/// bytes it moved, given its answer.
fn note<T>(kind: Kind, call: impl FnOnce() -> T, bytes: impl FnOnce(&T) -> usize) -> T {
    let t0 = now_ns();
    let out = call();
    let ns = now_ns().saturating_sub(t0);
    let moved = bytes(&out) as u64;
    let col = FIRST_KIND + PER_KIND * kind as usize;
    CALLS.with(|c| {
        let mut c = c.borrow_mut();
        for (field, add) in c.iter_mut().skip(col).zip([1, moved, ns]) {
            *field += add;
        }
    });
    out
}

fn now_ns() -> u64 {
    raw::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The VM's counters now, in the layout of a [`Row`].
fn snapshot() -> Row {
    let mut row = CALLS.with(|c| *c.borrow());
    row[WASM_NS] = now_ns();
    row[ALLOCS] = ALLOCATIONS.load(Ordering::Relaxed);
    row[ALLOC_BYTES] = ALLOCATED.load(Ordering::Relaxed);
    row
}

fn field_name(i: usize) -> String {
    match i {
        STREAMS => "streams".into(),
        CALLBACKS => "callbacks".into(),
        WASM_NS => "wasm_ns".into(),
        ALLOCS => "alloc.count".into(),
        ALLOC_BYTES => "alloc.bytes".into(),
        _ => {
            let k = (i - FIRST_KIND) / PER_KIND;
            let what = ["calls", "bytes", "ns"]
                .get((i - FIRST_KIND) % PER_KIND)
                .unwrap_or(&"?");
            format!("{}.{what}", KINDS.get(k).unwrap_or(&"?"))
        }
    }
}

fn metric(kind: MetricType, name: &str) -> Option<u32> {
    raw::define_metric(kind, name).ok()
}

/// Publishes the fields of a filter's totals that moved since they were last published.
fn publish(filter: usize) {
    let name = FILTERS.get(filter).unwrap_or(&"?");
    TOTALS.with(|t| {
        let mut t = t.borrow_mut();
        let Some(t) = t.get_mut(filter) else { return };
        let fields = t
            .row
            .iter()
            .zip(t.published.iter_mut())
            .zip(t.ids.iter_mut());
        for (i, ((now, published), id)) in fields.enumerate() {
            if now == published {
                continue;
            }
            if id.is_none() {
                *id = metric(
                    MetricType::Counter,
                    &format!("signet.trace.{name}.{}", field_name(i)),
                );
            }
            if let Some(id) = id {
                let moved = i64::try_from(now.saturating_sub(*published)).unwrap_or(i64::MAX);
                let _ = raw::increment_metric(*id, moved);
                *published = *now;
            }
        }
    });
}

/// A stream's context with its callbacks measured.
pub struct Traced {
    inner: Box<dyn HttpContext>,
    filter: usize,
}

impl Traced {
    /// Wraps the context of a stream of `root_id` (returned as it is for a filter not traced).
    pub fn wrap(root_id: &str, inner: Box<dyn HttpContext>) -> Box<dyn HttpContext> {
        match FILTERS.iter().position(|f| *f == root_id) {
            Some(filter) => {
                TOTALS.with(|t| {
                    if let Some(t) = t.borrow_mut().get_mut(filter) {
                        t.row[STREAMS] += 1;
                    }
                });
                Box::new(Traced { inner, filter })
            }
            None => inner,
        }
    }

    fn run<T>(&mut self, callback: impl FnOnce(&mut dyn HttpContext) -> T) -> T {
        let before = snapshot();
        let out = callback(self.inner.as_mut());
        let after = snapshot();
        TOTALS.with(|t| {
            if let Some(t) = t.borrow_mut().get_mut(self.filter) {
                let moved = after.iter().zip(&before).map(|(a, b)| a.saturating_sub(*b));
                for (total, moved) in t.row.iter_mut().zip(moved).skip(WASM_NS) {
                    *total += moved;
                }
                t.row[CALLBACKS] += 1;
            }
        });
        out
    }
}

impl Context for Traced {
    fn on_done(&mut self) -> bool {
        self.run(|c| c.on_done())
    }
}

impl HttpContext for Traced {
    fn on_http_request_headers(&mut self, n: usize, end: bool) -> Action {
        let asked = raw::get_map_value_bytes(MapType::HttpRequestHeaders, "x-signet-trace-time");
        if matches!(asked, Ok(Some(v)) if v == b"1") {
            time_calls();
        }
        self.run(|c| c.on_http_request_headers(n, end))
    }

    fn on_http_request_body(&mut self, size: usize, end: bool) -> Action {
        self.run(|c| c.on_http_request_body(size, end))
    }

    fn on_http_request_trailers(&mut self, n: usize) -> Action {
        self.run(|c| c.on_http_request_trailers(n))
    }

    fn on_http_response_headers(&mut self, n: usize, end: bool) -> Action {
        self.run(|c| c.on_http_response_headers(n, end))
    }

    fn on_http_response_body(&mut self, size: usize, end: bool) -> Action {
        self.run(|c| c.on_http_response_body(size, end))
    }

    fn on_http_response_trailers(&mut self, n: usize) -> Action {
        self.run(|c| c.on_http_response_trailers(n))
    }

    fn on_log(&mut self) {
        self.run(|c| c.on_log());
        publish(self.filter);
    }
}

/// Times single host calls, each repeated between two clock reads, in the current request.
fn time_calls() {
    const N: u64 = 500;
    let counter = metric(MetricType::Counter, "signet.trace.time.scratch");
    let value = [b'x'; 256];
    let calls: [(&str, &dyn Fn()); 12] = [
        ("clock", &|| {
            let _ = raw::get_current_time();
        }),
        ("get_headers", &|| {
            // As the filters read a map: one buffer, split in place.
            if let Ok(m) = crate::header_map::get_map_raw(MapType::HttpRequestHeaders) {
                std::hint::black_box(crate::header_map::split(&m));
            }
        }),
        ("get_header", &|| {
            let _ = raw::get_map_value_bytes(MapType::HttpRequestHeaders, "authorization");
        }),
        ("get_header_absent", &|| {
            let _ = raw::get_map_value_bytes(MapType::HttpRequestHeaders, "x-absent");
        }),
        ("remove_header_absent", &|| {
            let _ = raw::remove_map_value(MapType::HttpRequestHeaders, "x-absent");
        }),
        ("get_property_method", &|| {
            let _ = raw::get_property(vec!["request", "method"]);
        }),
        ("get_property_peer_uri_san", &|| {
            let _ = raw::get_property(vec!["connection", "uri_san_peer_certificate"]);
        }),
        ("get_property_filter_state_absent", &|| {
            let _ = raw::get_property(vec!["signet.absent"]);
        }),
        ("set_property_256", &|| {
            let _ = raw::set_property(vec!["signet.trace"], Some(&value));
        }),
        ("get_property_filter_state_256", &|| {
            let _ = raw::get_property(vec!["signet.trace"]);
        }),
        ("increment_metric", &|| {
            if let Some(id) = counter {
                let _ = raw::increment_metric(id, 1);
            }
        }),
        ("log_debug", &|| {
            let _ = raw::log(LogLevel::Debug, "signet trace");
        }),
    ];
    // Work done inside the VM, for scale: a token's cache lookup hash, a 1 KiB body in base64url, an
    // audit record as JSON.
    let token = "x".repeat(800);
    // The token cache's hasher: what a lookup costs before the one comparison of a hit.
    let hasher = std::collections::hash_map::RandomState::new();
    let body = [b'y'; 1024];
    let mut record = signet_core::audit::AuditRecord::new(
        0,
        "token_check",
        "generic",
        signet_core::audit::Verdict::Ok,
        "POST",
        "/quotes",
    );
    record.partner = Some("dfsp-a".into());
    let work: [(&str, &dyn Fn()); 3] = [
        ("vm_token_hash_800b", &|| {
            std::hint::black_box(hasher.hash_one(token.as_str()));
        }),
        ("vm_base64url_1kib", &|| {
            std::hint::black_box(signet_core::b64::encode_url(&body));
        }),
        ("vm_audit_json", &|| {
            std::hint::black_box(record.to_json());
        }),
    ];
    for (name, call) in calls.into_iter().chain(work) {
        let t0 = now_ns();
        for _ in 0..N {
            call();
        }
        let per_call = now_ns().saturating_sub(t0) / N;
        if let Some(id) = metric(MetricType::Gauge, &format!("signet.trace.time.{name}_ns")) {
            let _ = raw::record_metric(id, per_call);
        }
    }
}

/// The host calls the filters use, each counted before it returns.
pub mod counted {
    use std::time::{Duration, SystemTime};

    use proxy_wasm::hostcalls as raw;
    use proxy_wasm::types::{BufferType, Bytes, LogLevel, MapType, MetricType, Status};

    use super::{note, Kind};

    fn len<T>(r: &Result<Option<Bytes>, T>) -> usize {
        match r {
            Ok(Some(b)) => b.len(),
            _ => 0,
        }
    }

    fn pairs(p: &[(&str, &str)]) -> usize {
        p.iter().map(|(n, v)| n.len() + v.len()).sum()
    }

    pub fn call_foreign_function(
        name: &str,
        arguments: Option<&[u8]>,
    ) -> Result<Option<Bytes>, Status> {
        let sent = arguments.map_or(0, <[u8]>::len);
        note(
            Kind::Foreign,
            || raw::call_foreign_function(name, arguments),
            |r| sent + len(r),
        )
    }

    pub fn define_metric(metric_type: MetricType, name: &str) -> Result<u32, Status> {
        note(
            Kind::Metric,
            || raw::define_metric(metric_type, name),
            |_| name.len(),
        )
    }

    pub fn increment_metric(metric_id: u32, offset: i64) -> Result<(), Status> {
        note(
            Kind::Metric,
            || raw::increment_metric(metric_id, offset),
            |_| 0,
        )
    }

    pub fn record_metric(metric_id: u32, value: u64) -> Result<(), Status> {
        note(Kind::Metric, || raw::record_metric(metric_id, value), |_| 0)
    }

    pub fn dispatch_http_call(
        upstream: &str,
        headers: Vec<(&str, &str)>,
        body: Option<&[u8]>,
        trailers: Vec<(&str, &str)>,
        timeout: Duration,
    ) -> Result<u32, Status> {
        let sent = pairs(&headers) + body.map_or(0, <[u8]>::len) + pairs(&trailers);
        note(
            Kind::Other,
            || raw::dispatch_http_call(upstream, headers, body, trailers, timeout),
            |_| sent,
        )
    }

    pub fn get_buffer(
        buffer_type: BufferType,
        start: usize,
        max_size: usize,
    ) -> Result<Option<Bytes>, Status> {
        note(
            Kind::GetBody,
            || raw::get_buffer(buffer_type, start, max_size),
            len,
        )
    }

    pub fn set_buffer(
        buffer_type: BufferType,
        start: usize,
        size: usize,
        value: &[u8],
    ) -> Result<(), Status> {
        note(
            Kind::SetBody,
            || raw::set_buffer(buffer_type, start, size, value),
            |_| value.len(),
        )
    }

    pub fn get_current_time() -> Result<SystemTime, Status> {
        note(Kind::Time, raw::get_current_time, |_| 0)
    }

    pub fn get_map_raw(map_type: MapType) -> Result<Bytes, Status> {
        note(
            Kind::GetHeaders,
            || crate::header_map::get_map_raw(map_type),
            |r| r.as_ref().map_or(0, Vec::len),
        )
    }

    pub fn get_map_value_bytes(map_type: MapType, key: &str) -> Result<Option<Bytes>, Status> {
        note(
            Kind::GetHeader,
            || raw::get_map_value_bytes(map_type, key),
            |r| key.len() + len(r),
        )
    }

    pub fn set_map(map_type: MapType, map: Vec<(&str, &str)>) -> Result<(), Status> {
        let sent = pairs(&map);
        note(Kind::SetHeader, || raw::set_map(map_type, map), |_| sent)
    }

    pub fn set_map_value(map_type: MapType, key: &str, value: Option<&str>) -> Result<(), Status> {
        note(
            Kind::SetHeader,
            || raw::set_map_value(map_type, key, value),
            |_| key.len() + value.map_or(0, str::len),
        )
    }

    pub fn remove_map_value(map_type: MapType, key: &str) -> Result<(), Status> {
        note(
            Kind::RemoveHeader,
            || raw::remove_map_value(map_type, key),
            |_| key.len(),
        )
    }

    pub fn get_property(path: Vec<&str>) -> Result<Option<Bytes>, Status> {
        let asked: usize = path.iter().map(|p| p.len()).sum();
        note(
            Kind::GetProperty,
            || raw::get_property(path),
            |r| asked + len(r),
        )
    }

    pub fn set_property(path: Vec<&str>, value: Option<&[u8]>) -> Result<(), Status> {
        let sent = path.iter().map(|p| p.len()).sum::<usize>() + value.map_or(0, <[u8]>::len);
        note(
            Kind::SetProperty,
            || raw::set_property(path, value),
            |_| sent,
        )
    }

    pub fn get_shared_data(key: &str) -> Result<(Option<Bytes>, Option<u32>), Status> {
        note(
            Kind::SharedData,
            || raw::get_shared_data(key),
            |r| {
                key.len()
                    + r.as_ref()
                        .map_or(0, |(v, _)| v.as_ref().map_or(0, Vec::len))
            },
        )
    }

    pub fn set_shared_data(
        key: &str,
        value: Option<&[u8]>,
        cas: Option<u32>,
    ) -> Result<(), Status> {
        note(
            Kind::SharedData,
            || raw::set_shared_data(key, value, cas),
            |_| key.len() + value.map_or(0, <[u8]>::len),
        )
    }

    pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
        note(Kind::Log, || raw::log(level, message), |_| message.len())
    }

    pub fn send_http_response(
        status_code: u32,
        headers: Vec<(&str, &str)>,
        body: Option<&[u8]>,
    ) -> Result<(), Status> {
        let sent = pairs(&headers) + body.map_or(0, <[u8]>::len);
        note(
            Kind::LocalReply,
            || raw::send_http_response(status_code, headers, body),
            |_| sent,
        )
    }

    pub fn resume_http_request() -> Result<(), Status> {
        note(Kind::Other, raw::resume_http_request, |_| 0)
    }

    pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
        note(
            Kind::Other,
            || raw::set_effective_context(context_id),
            |_| 0,
        )
    }

    pub fn set_tick_period(period: Duration) -> Result<(), Status> {
        note(Kind::Other, || raw::set_tick_period(period), |_| 0)
    }
}
