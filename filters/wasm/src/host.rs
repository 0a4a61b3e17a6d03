//! Small wrappers over the proxy-wasm host calls the filters share: headers, clock, peer
//! identity, local replies, counters, filter state, and the replay cache's shared-data store.
//!
//! Everything returns `Result`/`Option`; nothing here can panic on what a request carries.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::num::NonZeroU32;

use proxy_wasm::types::{LogLevel, MapType, MetricType, Status};
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::message::header_name_starts_with;
use signet_core::reply::Reply;
use signet_core::verify::replay::{random_salt, CasError, CasKv, Layout};

use crate::header_map;
use crate::hostcalls;
use crate::log;

/// Now in milliseconds since the Unix epoch (the host's clock).
pub fn now_ms() -> i64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// Now in milliseconds since the Unix epoch, unsigned (0 if the host's clock is unusable).
pub fn now_ms_u64() -> u64 {
    u64::try_from(now_ms()).unwrap_or(0)
}

/// All headers of a map, names lower case as Envoy gives them, names and values decoded
/// lossily (a non-UTF-8 value cannot equal any string Signet compares it with).
pub fn headers(map: MapType) -> Result<Vec<(String, String)>, String> {
    let raw = read_map(map)?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(pairs(&raw)?
        .into_iter()
        .map(|(n, v)| (text(n), text(v)))
        .collect())
}

/// The host's serialisation of a map (see `header_map`), for reading in place.
pub fn read_map(map: MapType) -> Result<Vec<u8>, String> {
    hostcalls::get_map_raw(map).map_err(|s| format!("cannot read headers: {s:?}"))
}

/// The names of a map read with [`read_map`], borrowed from it.
pub fn header_names(raw: &[u8]) -> Result<Vec<Cow<'_, str>>, String> {
    Ok(pairs(raw)?
        .into_iter()
        .map(|(n, _)| String::from_utf8_lossy(n))
        .collect())
}

fn pairs(raw: &[u8]) -> Result<header_map::Pairs<'_>, String> {
    header_map::split(raw).ok_or_else(|| "cannot read headers: malformed map".to_string())
}

/// Removes every header of `names` starting with `prefix` (a client or upstream could forge
/// them), also spelled with `_` for `-` (CGI and WSGI read both as one).
pub fn strip_prefixed<'a>(
    map: MapType,
    names: impl IntoIterator<Item = &'a str>,
    prefix: &str,
) -> Result<(), String> {
    let mut doomed: Vec<&str> = names
        .into_iter()
        .filter(|n| header_name_starts_with(n, prefix))
        .collect();
    // A repeated header appears once per value; one removal takes all of them.
    doomed.sort_unstable();
    doomed.dedup();
    for name in doomed {
        hostcalls::remove_map_value(map, name)
            .map_err(|s| format!("cannot remove {name}: {s:?}"))?;
    }
    Ok(())
}

/// One header's value, decoded lossily as [`headers`] does. Never the SDK's `get_map_value`:
/// it panics on a value that is not UTF-8, and obs-text (bytes 0x80–0xFF) is legal in HTTP
/// field values, so a client or a callout's server could crash the VM with one byte.
pub fn header_value(map: MapType, name: &str) -> Result<Option<String>, Status> {
    hostcalls::get_map_value_bytes(map, name).map(|v| v.map(utf8_lossy))
}

fn utf8_lossy(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A string property, if the host has it.
pub fn property(path: &[&str]) -> Option<String> {
    match hostcalls::get_property(path.to_vec()) {
        Ok(Some(bytes)) => String::from_utf8(bytes).ok().filter(|s| !s.is_empty()),
        _ => None,
    }
}

/// The request's method and path (`:method`, `:path`, as Envoy's `request.method` and
/// `request.path` attributes read them). A host that cannot give either is an error, never an
/// empty string: an empty method or path would fall to a route policy's default (often
/// `skip`), so the caller refuses the request (`internal`, fail closed).
pub fn request_line() -> Result<(String, String), String> {
    let read = |name: &str| match header_value(MapType::HttpRequestHeaders, name) {
        Ok(Some(v)) if !v.is_empty() => Ok(v),
        Ok(_) => Err(format!("{name} is absent")),
        Err(s) => Err(format!("cannot read {name}: {s:?}")),
    };
    Ok((read(":method")?, read(":path")?))
}

/// As [`request_line`], from request headers already read.
pub fn request_line_of(headers: &[(String, String)]) -> Result<(String, String), String> {
    let read = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{name} is absent"))
    };
    Ok((read(":method")?, read(":path")?))
}

/// Removes every `x-signet-*` header from a response that came from the upstream: only
/// Signet speaks for Signet (an upstream's forged `x-signet-reason` would otherwise reach the
/// client and the access log). A local reply of Signet's keeps its own. The names are looked
/// at first: whether the reply is local is asked only when there is something to strip.
pub fn strip_signet_from_upstream_response() -> Result<(), String> {
    let raw = read_map(MapType::HttpResponseHeaders)?;
    let names = header_names(&raw)?;
    if !names
        .iter()
        .any(|n| header_name_starts_with(n, "x-signet-"))
        || is_local_reply()
    {
        return Ok(());
    }
    strip_prefixed(
        MapType::HttpResponseHeaders,
        names.iter().map(|n| n.as_ref()),
        "x-signet-",
    )
}

/// The names the downstream client certificate carries: URI SAN, DNS SAN, subject. A name the
/// connection does not have is absent; a host that fails to answer is an error (the caller
/// fails closed), never "no certificate".
pub fn peer_certificate_names() -> Result<Vec<String>, String> {
    certificate_names("connection")
}

/// The names the upstream's server certificate carries (URI SAN, DNS SAN, subject): the
/// peer whose signature a partner's egress verifies on responses.
pub fn upstream_certificate_names() -> Result<Vec<String>, String> {
    certificate_names("upstream")
}

fn certificate_names(side: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for name in [
        "uri_san_peer_certificate",
        "dns_san_peer_certificate",
        "subject_peer_certificate",
    ] {
        match hostcalls::get_property(vec![side, name]) {
            Ok(Some(bytes)) => {
                if let Ok(s) = String::from_utf8(bytes) {
                    if !s.is_empty() {
                        names.push(s);
                    }
                }
            }
            Ok(None) => {}
            Err(s) => return Err(format!("cannot read {side}.{name}: {s:?}")),
        }
    }
    Ok(names)
}

/// Whether the response being processed is a local reply this Envoy generated before any
/// upstream was chosen. Upstream responses carry `response.code_details` "via_upstream"
/// (local replies from Wasm carry none); the upstream address is checked as well, so a host
/// without the code_details attribute still verifies every upstream response (fail closed).
/// The router's own 503/504 after an upstream was chosen is not one (see `is_envoy_reply`);
/// `jws_sign`'s `sign_responses: local` signs only these (Signet's own local replies).
pub fn is_local_reply() -> bool {
    let via_upstream = property(&["response", "code_details"]).is_some_and(|d| d == "via_upstream");
    !via_upstream && property(&["upstream", "address"]).is_none()
}

/// Whether this Envoy generated the response rather than forwarding one from the upstream:
/// every local reply of `is_local_reply`, and also the router's own replies after an upstream
/// was chosen (`upstream_response_timeout` 504, `upstream_reset_before_response_started{...}`
/// 503), which carry no signature because the upstream never answered. The router marks every
/// response it forwards "via_upstream" before any encoder filter sees it. A host that does not
/// expose the attribute falls back to "no upstream address", so every response that may have
/// come from an upstream is still verified (fail closed).
pub fn is_envoy_reply() -> bool {
    envoy_reply_from(
        property(&["response", "code_details"]).as_deref(),
        property(&["upstream", "address"]).is_some(),
    )
}

/// `is_envoy_reply` on the attribute values (host-free).
fn envoy_reply_from(code_details: Option<&str>, has_upstream_address: bool) -> bool {
    match code_details {
        Some(details) if !details.is_empty() => details != "via_upstream",
        _ => !has_upstream_address,
    }
}

/// Writes a string into filter state (`set_property`), readable by later filters and the
/// access log; Wasm cannot write dynamic metadata.
pub fn set_state(name: &str, value: &str) {
    if let Err(s) = hostcalls::set_property(vec![name], Some(value.as_bytes())) {
        log(
            LogLevel::Warn,
            &format!("signet: cannot set filter state {name}: {s:?}"),
        );
    }
}

/// Sends a local reply; the request (or response) stops here.
pub fn send(reply: &Reply) {
    let headers: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = if reply.body.is_empty() {
        None
    } else {
        Some(reply.body.as_slice())
    };
    if let Err(s) = hostcalls::send_http_response(u32::from(reply.status), headers, body) {
        log(
            LogLevel::Critical,
            &format!("signet: cannot send local reply: {s:?}"),
        );
    }
}

/// What a root-owned callout got back; `status` is `None` when the call failed (no headers).
pub struct CallResponse {
    pub status: Option<u16>,
    pub cache_control: Option<String>,
    pub body: Vec<u8>,
}

impl CallResponse {
    /// Reads the answer inside `on_http_call_response`.
    pub fn read(num_headers: usize, body_size: usize) -> CallResponse {
        let header = |name: &str| {
            header_value(MapType::HttpCallResponseHeaders, name)
                .ok()
                .flatten()
        };
        CallResponse {
            status: (num_headers > 0)
                .then(|| header(":status"))
                .flatten()
                .and_then(|s| s.parse::<u16>().ok()),
            cache_control: header("cache-control"),
            body: hostcalls::get_buffer(
                proxy_wasm::types::BufferType::HttpCallResponseBody,
                0,
                body_size,
            )
            .ok()
            .flatten()
            .unwrap_or_default(),
        }
    }
}

/// Declares a filter's event counters: `EVENTS`, their names in order (for
/// [`Counters::define`]), and one index constant per event (for [`Counters::inc`]).
macro_rules! events {
    ($($index:ident = $name:literal),+ $(,)?) => {
        const EVENTS: &[&str] = &[$($name),+];
        crate::host::events!(@index 0usize; $($index),+);
    };
    (@index $i:expr; $index:ident $(, $rest:ident)*) => {
        const $index: usize = $i;
        crate::host::events!(@index $i + 1usize; $($rest),*);
    };
    (@index $i:expr;) => {};
}
pub(crate) use events;

/// A filter's event counters, `signet.<filter>.<event>`: defined at configure time (so they
/// show in `/stats` before they move) and counted by index, never by a name built per request.
pub struct Counters {
    ids: Vec<u32>,
}

impl Counters {
    /// Defines `signet.{filter}.{name}` for each name; [`Counters::inc`] takes the name's
    /// position in `names`.
    pub fn define(filter: &str, names: &[&str]) -> Result<Counters, String> {
        let ids = names
            .iter()
            .map(|name| define_counter(&format!("signet.{filter}.{name}")))
            .collect::<Result<_, _>>()?;
        Ok(Counters { ids })
    }

    /// Counts the event at `index` of the names given to [`Counters::define`].
    pub fn inc(&self, index: usize) {
        if let Some(id) = self.ids.get(index) {
            let _ = hostcalls::increment_metric(*id, 1);
        }
    }
}

fn define_counter(name: &str) -> Result<u32, String> {
    hostcalls::define_metric(MetricType::Counter, name)
        .map_err(|s| format!("cannot define metric {name}: {s:?}"))
}

/// Partners learned at run time (OCEN participants from the registry, `token_check` without a
/// partner list) that get their own `partner` tag value, per filter and worker; later ones are
/// counted as `other`. Bounds the series one Envoy exports whatever the registry holds.
pub const LEARNED_PARTNERS: usize = 100;

/// The row of requests that named no partner, or one that was not authenticated.
const UNKNOWN: usize = 0;
/// The row of learned partners beyond [`LEARNED_PARTNERS`].
const OTHER: usize = 1;

/// A counter of the table: defined on first use, or never (the host refused it).
#[derive(Clone, Copy)]
enum Cell {
    Undefined,
    Id(u32),
    Failed,
}

/// A filter's verdicts, per partner and verdict:
/// `signet.<filter>.<profile>.decisions.partner.<partner>.reason.<verdict>`, which the
/// templates' `stats_tags` turn into the Prometheus family `signet_decisions` with the labels
/// `signet_filter`, `signet_profile`, `signet_partner` and `signet_reason` (`docs/stats.md`).
///
/// One row per configured partner (plus `unknown` and `other`), laid out at configure time,
/// one column per [`Verdict`]. A cell's metric is defined the first time it counts (one name
/// built per cell and worker, never per request), except each configured partner's `ok` cell,
/// defined at configure time so every partner shows from the start: defining all of them
/// would export partners × 31 series of zeros.
pub struct Decisions {
    /// `signet.<filter>.<profile>.decisions.partner.`
    prefix: String,
    rows: RefCell<Rows>,
}

struct Rows {
    /// Partner id → row.
    index: HashMap<String, usize>,
    /// Each row's `partner` tag value.
    tags: Vec<String>,
    cells: Vec<[Cell; Verdict::COUNT]>,
    learned: usize,
}

impl Decisions {
    /// The table of a filter speaking `profile`, with a row for each configured partner.
    pub fn new<'a>(
        filter: &str,
        profile: &str,
        partners: impl IntoIterator<Item = &'a str>,
    ) -> Result<Decisions, String> {
        let mut rows = Rows::new();
        for id in partners {
            rows.add(id);
        }
        let table = Decisions {
            prefix: format!("signet.{filter}.{profile}.decisions.partner."),
            rows: RefCell::new(rows),
        };
        {
            let mut rows = table.rows.borrow_mut();
            for row in OTHER + 1..rows.tags.len() {
                let id = define_counter(&table.name(&rows.tags, row, Verdict::Ok))?;
                if let Some(c) = rows
                    .cells
                    .get_mut(row)
                    .and_then(|c| c.get_mut(Verdict::Ok.index()))
                {
                    *c = Cell::Id(id);
                }
            }
        }
        Ok(table)
    }

    fn name(&self, tags: &[String], row: usize, verdict: Verdict) -> String {
        let partner = tags.get(row).map(String::as_str).unwrap_or("unknown");
        format!("{}{partner}.reason.{}", self.prefix, verdict.code())
    }

    /// Counts one verdict. `partner` is the authenticated partner (or, on a refusal, the one
    /// named so far): a partner without a row gets one when it is accepted (learned from a
    /// registry, up to [`LEARNED_PARTNERS`], then `other`); a refusal never makes a row (the
    /// name may be a forgery), it counts as `unknown`.
    pub fn count(&self, partner: Option<&str>, verdict: Verdict) {
        let mut rows = self.rows.borrow_mut();
        let row = rows.row(partner, verdict);
        let col = verdict.index();
        let cell = rows
            .cells
            .get(row)
            .and_then(|c| c.get(col))
            .copied()
            .unwrap_or(Cell::Failed);
        let id = match cell {
            Cell::Id(id) => id,
            Cell::Failed => return,
            Cell::Undefined => {
                let (next, id) = match define_counter(&self.name(&rows.tags, row, verdict)) {
                    Ok(id) => (Cell::Id(id), Some(id)),
                    Err(e) => {
                        log(LogLevel::Warn, &format!("signet: {e}"));
                        (Cell::Failed, None)
                    }
                };
                if let Some(c) = rows.cells.get_mut(row).and_then(|c| c.get_mut(col)) {
                    *c = next;
                }
                match id {
                    Some(id) => id,
                    None => return,
                }
            }
        };
        let _ = hostcalls::increment_metric(id, 1);
    }
}

impl Rows {
    /// The row a verdict about `partner` counts in (see [`Decisions::count`]).
    fn row(&mut self, partner: Option<&str>, verdict: Verdict) -> usize {
        let Some(p) = partner else {
            return UNKNOWN;
        };
        match self.index.get(p) {
            Some(row) => *row,
            None if verdict != Verdict::Ok => UNKNOWN,
            None if self.learned < LEARNED_PARTNERS => {
                self.learned += 1;
                self.add(p)
            }
            None => OTHER,
        }
    }

    /// The `unknown` and `other` rows.
    fn new() -> Rows {
        Rows {
            index: HashMap::new(),
            tags: vec!["unknown".into(), "other".into()],
            cells: vec![[Cell::Undefined; Verdict::COUNT]; 2],
            learned: 0,
        }
    }

    /// A new row for `id` (once: a repeated id keeps its first row).
    fn add(&mut self, id: &str) -> usize {
        if let Some(row) = self.index.get(id) {
            return *row;
        }
        let row = self.tags.len();
        self.index.insert(id.to_string(), row);
        self.tags.push(stat_tag(id));
        self.cells.push([Cell::Undefined; Verdict::COUNT]);
        row
    }
}

/// A partner id as a stats tag value: `[A-Za-z0-9_-]` (a dot would split the name where the
/// tag regex does not expect it), others as `_`, at most 64 characters, never empty.
pub fn stat_tag(id: &str) -> String {
    let tag: String = id
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if tag.is_empty() {
        "_".into()
    } else {
        tag
    }
}

/// Writes a filter's audit record into filter state `signet.audit.<filter>` (the access log
/// reads `%FILTER_STATE(wasm.signet.audit.<filter>:PLAIN)%`).
pub fn set_audit(record: &AuditRecord) {
    let key = match record.filter {
        "gateway" => "signet.audit.gateway",
        "token_check" => "signet.audit.token_check",
        "jws_verify" => "signet.audit.jws_verify",
        "mosip_seal" => "signet.audit.mosip_seal",
        _ => "signet.audit.jws_sign",
    };
    set_state(key, &record.to_json());
}

/// proxy-wasm shared data as the compare-and-swap store of the replay table
/// (`signet_core::verify::replay`, which explains the layout). Shared by every worker's VM of
/// the same `vm_id`.
pub struct SharedKv {
    /// On the data path every key exists (created at configure time); one that does not is
    /// worth an error log besides the `internal` refusal.
    pub data_path: bool,
}

impl CasKv for SharedKv {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, NonZeroU32)>, String> {
        let (value, cas) = hostcalls::get_shared_data(key)
            .map_err(|s| format!("shared data read {key}: {s:?}"))?;
        match (value, cas.and_then(NonZeroU32::new)) {
            (None, None) => {
                if self.data_path {
                    log(
                        LogLevel::Error,
                        &format!("signet: replay set {key} missing from shared data; refusing"),
                    );
                }
                Ok(None)
            }
            (Some(v), Some(cas)) => Ok(Some((v, cas))),
            // Present without a cas (a write with it would be unconditional), or a cas without
            // data (an empty value, which the table never writes).
            _ => Err(format!(
                "shared data {key}: value and cas do not come together"
            )),
        }
    }

    fn replace(&mut self, key: &str, value: &[u8], cas: NonZeroU32) -> Result<(), CasError> {
        match hostcalls::set_shared_data(key, Some(value), Some(cas.get())) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(CasError::Mismatch),
            Err(s) => Err(CasError::Store(format!("shared data write {key}: {s:?}"))),
        }
    }

    fn create(&mut self, key: &str, value: &[u8]) -> Result<(), String> {
        hostcalls::set_shared_data(key, Some(value), None)
            .map_err(|s| format!("shared data create {key}: {s:?}"))
    }
}

/// Configure time: the replay table's salt and sets, created where absent (see
/// `signet_core::verify::replay::table`: this must happen before traffic, which Envoy's
/// configuration canary VM guarantees).
pub fn prepare_replay(entries: usize) -> Result<Layout, String> {
    let salt = random_salt()?;
    let layout = Layout::prepare(&mut SharedKv { data_path: false }, entries, salt)
        .map_err(|e| format!("replay cache: {e}"))?;
    let g = layout.geometry();
    log(
        LogLevel::Info,
        &format!(
            "signet: replay cache in shared data, {} sets of {} entries",
            g.sets, g.ways
        ),
    );
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::{envoy_reply_from, stat_tag};

    #[test]
    fn only_a_forwarded_upstream_response_is_not_an_envoy_reply() {
        // Forwarded from the upstream: verified / stripped, with or without the address.
        assert!(!envoy_reply_from(Some("via_upstream"), true));
        assert!(!envoy_reply_from(Some("via_upstream"), false));
        // The router's own replies after an upstream was chosen (tests/test_faults.py).
        assert!(envoy_reply_from(Some("upstream_response_timeout"), true));
        assert!(envoy_reply_from(
            Some("upstream_reset_before_response_started{connection_termination}"),
            true
        ));
        // No attribute: local only when no upstream was involved (fail closed).
        assert!(envoy_reply_from(None, false));
        assert!(!envoy_reply_from(None, true));
        assert!(!envoy_reply_from(Some(""), true));
    }

    #[test]
    fn learned_partners_get_rows_up_to_the_limit_and_refusals_never_do() {
        use super::{Rows, Verdict, LEARNED_PARTNERS, OTHER, UNKNOWN};
        use signet_core::reason::Reason;
        let mut rows = Rows::new();
        let configured = rows.add("dfsp-a");
        assert_eq!(rows.add("dfsp-a"), configured, "one row per partner");
        let refused = Verdict::Refused(Reason::KeyUnknown);
        assert_eq!(rows.row(None, Verdict::Ok), UNKNOWN);
        assert_eq!(rows.row(Some("dfsp-a"), refused), configured);
        // A name nobody authenticated makes no row.
        assert_eq!(rows.row(Some("forged"), refused), UNKNOWN);
        assert_eq!(rows.row(Some("forged"), Verdict::Skipped), UNKNOWN);
        let first = rows.row(Some("p0"), Verdict::Ok);
        assert!(first > OTHER);
        assert_eq!(
            rows.row(Some("p0"), refused),
            first,
            "refusals count for a known partner"
        );
        for i in 1..LEARNED_PARTNERS {
            assert!(rows.row(Some(&format!("p{i}")), Verdict::Ok) > OTHER);
        }
        assert_eq!(rows.row(Some("late"), Verdict::Ok), OTHER);
        assert_eq!(rows.row(Some("p0"), Verdict::Ok), first);
        // Configured partners do not use up the limit.
        assert_eq!(rows.tags.len(), 2 + 1 + LEARNED_PARTNERS);
        assert_eq!(rows.cells.len(), rows.tags.len());
    }

    #[test]
    fn partner_tags_are_safe_for_the_tag_regex() {
        assert_eq!(stat_tag("dfsp-a"), "dfsp-a");
        assert_eq!(stat_tag("lender.example.org"), "lender_example_org");
        assert_eq!(stat_tag("a b/c"), "a_b_c");
        assert_eq!(stat_tag(""), "_");
        assert_eq!(stat_tag(&"x".repeat(100)).len(), 64);
    }
}
