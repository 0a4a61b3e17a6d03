//! The OCEN registry as a remote key source for the `ocen` profile (docs/profiles.md#ocen: the
//! participant's key, step 4; its `registry` setting): fetched by callout, cached, refreshed
//! before it expires and served stale within a bound while the registry is down
//! (docs/filters.md).
//!
//! `GET {url}/participant-roles/{participantId}` answers a `ParticipantRole`
//! (iSPIRT/OCEN-Documentation `apis/ocen-registry.json`): `publicKey` (a string holding a JWK,
//! often wrapped and indented — all ASCII whitespace is stripped before parsing),
//! `participantRoleStatus` (`APPLIED` / `UNDER_REVIEW` / `APPROVED` / `REJECTED`) and
//! `isApproved`. A body wrapped as `{"data": {...}}` is read the same way.
//!
//! This module is the host-free part: the settings, the parsing of one answer, and a bounded
//! per-participant cache whose state machine decides, for a participant and a time, whether a
//! usable entry exists (fresh, or stale within `registry.stale` while the registry fails),
//! whether a fetch is needed (single-flight per participant), or whether the registry is
//! unavailable (fail closed: `keys_unavailable`). The glue makes the callouts.

use std::collections::HashMap;

use serde_json::Value;

use crate::jose::alg::Alg;
use crate::keys::{strip_ascii_whitespace, Jwk};
use crate::message::cache_control_max_age;
use crate::registry::{Partner, RegisteredKey};
use crate::verify::remote::{KeySource, Lookup};

/// How long a "no usable key" answer (404, not approved, bad or weak key) is kept, at most.
pub const NEGATIVE_TTL_S: u64 = 30;
/// After a failed fetch, no new fetch for the same participant for this long (requests get the
/// stale entry, or 503, meanwhile): a registry that is down is not hammered per request.
pub const RETRY_MS: i64 = 2_000;
/// Upper bound on a `Cache-Control: max-age` the registry may ask for.
pub const MAX_TTL_S: u64 = 86_400;
/// Default bound on cached participants (oldest evicted first).
pub const DEFAULT_MAX_ENTRIES: usize = 4_096;

/// The validated `registry_*` settings of the `ocen` profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrySettings {
    /// `registry.url` as configured (base ending in `/service`).
    pub url: String,
    /// `:authority` of the callout (host of `registry.url`).
    pub authority: String,
    /// Path of `registry.url` (ends in `/service`, no trailing slash).
    pub base_path: String,
    /// Envoy cluster the callout goes to.
    pub cluster: String,
    /// Lifetime of an entry when the answer has no `Cache-Control: max-age`.
    pub ttl_s: u64,
    /// How long past its lifetime an entry is still served while the registry fails.
    pub stale_s: u64,
    /// Callout timeout.
    pub timeout_ms: u64,
    /// Environment variable holding the gateway's own bearer token, if any.
    pub token_env: Option<String>,
    /// Bound on cached participants.
    pub max_entries: usize,
}

impl RegistrySettings {
    /// The callout path for one participant (the id percent-encoded as a path segment).
    pub fn path_for(&self, participant: &str) -> String {
        format!(
            "{}/participant-roles/{}",
            self.base_path,
            encode_segment(participant)
        )
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Splits and checks the registry `url`: `http(s)://host[:port]/…/service` → (authority, path).
pub fn split_registry_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} is not an http(s) URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority_ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !authority_ok {
        return Err(format!("{url:?} has no valid host"));
    }
    let path = path.trim_end_matches('/');
    if path.contains(['?', '#']) || !path.ends_with("/service") {
        return Err(format!(
            "{url:?} must be the registry base ending in /service (no query)"
        ));
    }
    Ok((authority.to_string(), path.to_string()))
}

/// What one registry answer said about a participant.
#[derive(Clone, Debug)]
pub enum Known {
    /// An entry with a usable key (approved or not: the profile decides).
    Partner(Box<Partner>),
    /// No usable key: not registered, no / bad / weak `publicKey` (→ `key_unknown`).
    Negative(String),
}

/// Rules applied to registry keys (the profile's algorithms and RSA minimum).
#[derive(Clone, Debug)]
pub struct KeyRules {
    pub algorithms: Vec<Alg>,
    pub min_rsa_bits: usize,
}

/// Parses one `200` answer. `Err` means the body is not a registry answer at all (a failure of
/// the registry: the previous entry stays); a registry answer without a usable key is
/// `Ok(Known::Negative)`.
pub fn parse_participant(
    participant: &str,
    body: &[u8],
    rules: &KeyRules,
) -> Result<Known, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let obj = v.as_object().ok_or("body is not a JSON object")?;
    let obj = match obj.get("data").and_then(Value::as_object) {
        Some(inner) if !obj.contains_key("publicKey") => inner,
        _ => obj,
    };
    let status = obj.get("participantRoleStatus");
    let is_approved = obj.get("isApproved");
    if status.is_some_and(|s| !s.is_string()) || is_approved.is_some_and(|a| !a.is_boolean()) {
        return Err("participantRoleStatus / isApproved of the wrong type".into());
    }
    // Both fields, where present, must say approved; an entry with neither is not approved.
    let status_ok = match status {
        None => true,
        Some(s) => s.as_str() == Some("APPROVED"),
    };
    let flag_ok = match is_approved {
        None => true,
        Some(a) => a.as_bool() == Some(true),
    };
    let approved = (status.is_some() || is_approved.is_some()) && status_ok && flag_ok;
    let jwk = match obj.get("publicKey") {
        None | Some(Value::Null) => return Ok(Known::Negative("entry has no publicKey".into())),
        Some(Value::String(s)) => Jwk::from_json(&strip_ascii_whitespace(s)),
        Some(o @ Value::Object(_)) => Jwk::from_value(o),
        Some(_) => return Ok(Known::Negative("publicKey is not a JWK".into())),
    };
    let jwk = match jwk {
        Ok(j) => j,
        Err(e) => return Ok(Known::Negative(format!("publicKey: {e}"))),
    };
    if let Err(e) = jwk.key.check_strength(rules.min_rsa_bits) {
        return Ok(Known::Negative(format!("publicKey: {e}")));
    }
    let mut algorithms = jwk.algorithms();
    algorithms.retain(|a| rules.algorithms.contains(a));
    if algorithms.is_empty() {
        return Ok(Known::Negative(
            "publicKey: none of its algorithms is allowed by the profile".into(),
        ));
    }
    Ok(Known::Partner(Box::new(Partner {
        id: participant.to_string(),
        keys: vec![RegisteredKey {
            kid: jwk.kid,
            key: jwk.key,
            algorithms,
            certificate: None,
        }],
        approved,
        ..Partner::default()
    })))
}

/// One participant's cache entry.
#[derive(Debug)]
struct ParticipantEntry {
    known: Option<Known>,
    fetched_ms: i64,
    fresh_until_ms: i64,
    in_flight_since: Option<i64>,
    failed_ms: Option<i64>,
    failure: String,
    /// Creation time, for eviction (oldest first).
    created_ms: i64,
}

/// What a finished fetch did to the cache (for logs and stats).
#[derive(Debug, PartialEq, Eq)]
pub enum FetchResult {
    /// A usable key; `approved` as the registry says.
    Loaded { approved: bool },
    /// A registry answer without a usable key.
    Negative(String),
    /// No usable answer (down, timeout, 5xx, garbage): the previous entry, if any, stays.
    Failed(String),
}

/// The bounded per-participant cache (one per worker in the glue).
#[derive(Debug)]
pub struct RegistryCache {
    ttl_ms: i64,
    stale_ms: i64,
    timeout_ms: i64,
    max_entries: usize,
    rules: KeyRules,
    entries: HashMap<String, ParticipantEntry>,
}

fn ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}

impl RegistryCache {
    pub fn new(settings: &RegistrySettings, rules: KeyRules) -> RegistryCache {
        RegistryCache {
            ttl_ms: ms(settings.ttl_s),
            stale_ms: ms(settings.stale_s),
            timeout_ms: i64::try_from(settings.timeout_ms).unwrap_or(60_000),
            max_entries: settings.max_entries.max(1),
            rules,
            entries: HashMap::new(),
        }
    }

    /// How many participants are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Marks a fetch for `participant` as started, unless one is already under way
    /// (single-flight): `true` means the caller makes the callout now. A fetch older than the
    /// callout timeout (plus a margin) counts as lost.
    pub fn begin_fetch(&mut self, participant: &str, now_ms: i64) -> bool {
        if !self.entries.contains_key(participant) {
            self.evict_for_one();
            self.entries.insert(
                participant.to_string(),
                ParticipantEntry {
                    known: None,
                    fetched_ms: 0,
                    fresh_until_ms: 0,
                    in_flight_since: None,
                    failed_ms: None,
                    failure: String::new(),
                    created_ms: now_ms,
                },
            );
        }
        let lost_after = self.timeout_ms.saturating_add(5_000);
        let Some(e) = self.entries.get_mut(participant) else {
            return false;
        };
        match e.in_flight_since {
            Some(since) if now_ms.saturating_sub(since) < lost_after => false,
            _ => {
                e.in_flight_since = Some(now_ms);
                true
            }
        }
    }

    /// Whether a fetch for `participant` is under way.
    pub fn in_flight(&self, participant: &str) -> bool {
        self.entries
            .get(participant)
            .is_some_and(|e| e.in_flight_since.is_some())
    }

    /// Whether a cached entry should be refreshed now, in the background (three quarters of its
    /// lifetime gone, or stale), with no fetch under way and no recent failure.
    pub fn refresh_due(&self, participant: &str, now_ms: i64) -> bool {
        let Some(e) = self.entries.get(participant) else {
            return false;
        };
        if e.known.is_none() || e.in_flight_since.is_some() || recently_failed(e, now_ms) {
            return false;
        }
        let life = e.fresh_until_ms.saturating_sub(e.fetched_ms);
        now_ms >= e.fetched_ms.saturating_add(life.saturating_mul(3) / 4)
    }

    /// Records the end of a fetch: `status` `None` when the callout failed (no response).
    pub fn on_response(
        &mut self,
        participant: &str,
        status: Option<u16>,
        body: &[u8],
        cache_control: Option<&str>,
        now_ms: i64,
    ) -> FetchResult {
        let parsed = match status {
            Some(200) => parse_participant(participant, body, &self.rules),
            Some(404) => Ok(Known::Negative("not in the OCEN registry (404)".into())),
            Some(s) => Err(format!("registry answered {s}")),
            None => Err("registry unreachable (callout failed or timed out)".into()),
        };
        if !self.entries.contains_key(participant) {
            // Evicted while in flight: start it again.
            self.begin_fetch(participant, now_ms);
        }
        let ttl_ms = self.ttl_ms;
        let Some(e) = self.entries.get_mut(participant) else {
            return FetchResult::Failed("not cached".into());
        };
        e.in_flight_since = None;
        match parsed {
            Ok(known) => {
                let life = match cache_control.and_then(cache_control_max_age) {
                    Some(age) => ms(age.clamp(1, MAX_TTL_S)),
                    None => ttl_ms,
                };
                let result = match &known {
                    Known::Partner(p) => FetchResult::Loaded {
                        approved: p.approved,
                    },
                    Known::Negative(why) => FetchResult::Negative(why.clone()),
                };
                let life = match known {
                    Known::Negative(_) => life.min(ms(NEGATIVE_TTL_S)),
                    Known::Partner(_) => life,
                };
                e.known = Some(known);
                e.fetched_ms = now_ms;
                e.fresh_until_ms = now_ms.saturating_add(life);
                e.failed_ms = None;
                e.failure.clear();
                result
            }
            Err(why) => {
                e.failed_ms = Some(now_ms);
                e.failure.clone_from(&why);
                FetchResult::Failed(why)
            }
        }
    }

    /// Room for one more entry: the oldest entries with no fetch under way go first.
    fn evict_for_one(&mut self) {
        while self.entries.len() >= self.max_entries {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, e)| (e.in_flight_since.is_some(), e.created_ms))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => {
                    self.entries.remove(&k);
                }
                None => return,
            }
        }
    }
}

fn recently_failed(e: &ParticipantEntry, now_ms: i64) -> bool {
    e.failed_ms
        .is_some_and(|f| now_ms.saturating_sub(f) < RETRY_MS)
}

impl KeySource for RegistryCache {
    fn lookup(&self, participant: &str, now_ms: i64) -> Lookup<'_> {
        let Some(e) = self.entries.get(participant) else {
            return Lookup::FetchNeeded;
        };
        let fresh = now_ms < e.fresh_until_ms;
        let within_stale = now_ms < e.fresh_until_ms.saturating_add(self.stale_ms);
        match &e.known {
            // A key past its lifetime is served within the stale bound (the glue refreshes it
            // in the background; while the registry is down, that is all there is).
            Some(Known::Partner(p)) if fresh || within_stale => return Lookup::Found(p),
            // A negative answer is asked again once expired, unless the registry is failing.
            Some(Known::Negative(why))
                if fresh
                    || (within_stale && (e.failed_ms.is_some() || e.in_flight_since.is_some())) =>
            {
                return Lookup::Negative(why)
            }
            _ => {}
        }
        if recently_failed(e, now_ms) && e.in_flight_since.is_none() {
            return Lookup::Unavailable(&e.failure);
        }
        Lookup::FetchNeeded
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
