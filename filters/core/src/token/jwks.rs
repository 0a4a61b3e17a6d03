//! The remote JWKS cache of one token provider, host-free: the glue runs the HTTP callout on a
//! timer and hands the result here; this decides when to fetch and which keys are usable
//! (docs/filters.md#token_check-provider-side, "Remote JWKS").
//!
//! States ([`JwksState`]):
//! - `Empty`: never fetched, nothing failed yet.
//! - `Fresh`: keys fetched less than their lifetime ago.
//! - `Stale`: past their lifetime, but within `stale_s`: still served, so an auth-service outage
//!   does not take the API down.
//! - `Failed`: no fetch ever succeeded (while at least one failed), or the keys are stale beyond
//!   the bound. Requests then fail closed with `keys_unavailable` (docs/data-path.md rule 8).
//!
//! Refresh happens at 80 % of the lifetime (bounded by `min_refresh_interval_s` and
//! `max_refresh_interval_s`), so a healthy endpoint never lets keys go stale. One fetch at a time
//! (single-flight): the glue calls [`JwksCache::start_fetch`] and reports back with
//! [`JwksCache::on_fetch_ok`] / [`JwksCache::on_fetch_err`]. An unknown `kid` (a key rotated
//! in) may trigger at most one early refetch per `unknown_kid_refetch_interval_s`, which stops a
//! client from turning random `kid`s into a flood of callouts.

use crate::keys::{Jwk, Jwks, KeyError};
use std::rc::Rc;

/// Shared with the OCEN registry cache, which must not import `token` (`crate::message`).
pub use crate::message::cache_control_max_age;

use super::error::TokenError;

/// Refresh at this share (in percent) of the key lifetime.
const REFRESH_AT_PERCENT: u64 = 80;

/// Cache timing, in seconds (configuration `providers[i].jwks_cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksSettings {
    /// Lifetime used when the response carries no `Cache-Control: max-age`.
    pub default_max_age_s: u64,
    /// Lower bound between two scheduled fetches (a `max-age=0` endpoint is not hammered).
    pub min_refresh_interval_s: u64,
    /// Upper bound between two scheduled fetches (a day-long `max-age` still sees rotations).
    pub max_refresh_interval_s: u64,
    /// How long past their lifetime keys are still served while fetches fail.
    pub stale_s: u64,
    /// Wait after a failed fetch before the next attempt.
    pub retry_interval_s: u64,
    /// At most one unknown-`kid` refetch per this interval.
    pub unknown_kid_refetch_interval_s: u64,
    /// A fetch not reported back within this time is considered lost (the glue's callout
    /// timeout is shorter); a lost fetch must not block refreshes forever.
    pub fetch_timeout_s: u64,
    /// RSA keys shorter than this are dropped from fetched sets (docs/profiles.md#algorithms).
    pub min_rsa_bits: usize,
}

impl Default for JwksSettings {
    fn default() -> Self {
        JwksSettings {
            default_max_age_s: 600,
            min_refresh_interval_s: 30,
            max_refresh_interval_s: 3600,
            stale_s: 3600,
            retry_interval_s: 10,
            unknown_kid_refetch_interval_s: 60,
            fetch_timeout_s: 30,
            min_rsa_bits: 2048,
        }
    }
}

/// The observable state of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksState {
    /// Never fetched; nothing failed yet.
    Empty,
    /// Keys within their lifetime.
    Fresh,
    /// Keys past their lifetime, within `stale_s`.
    Stale,
    /// No usable keys: never fetched successfully, or stale beyond `stale_s`.
    Failed,
}

/// Why a fetched body was not taken (the previous keys stay in use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksBodyError {
    /// Not a JWK set, or a member is malformed.
    Parse(KeyError),
    /// The set holds no key usable for signatures (all dropped or none present). Treated as an
    /// error rather than "no keys": an endpoint glitch must not revoke every token at once.
    NoUsableKeys,
}

/// A key dropped from a fetched set, for the glue to log (never fatal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedKey {
    /// The key's `kid`, if any.
    pub kid: Option<String>,
    /// Why (e.g. RSA modulus under `min_rsa_bits`).
    pub reason: KeyError,
}

/// The result of taking a fetched body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUpdate {
    /// Keys now in use.
    pub kept: usize,
    /// Keys dropped (too weak).
    pub dropped: Vec<DroppedKey>,
    /// Whether the key set differs from the previous one (token-cache entries verified under
    /// the old set are then no longer served).
    pub changed: bool,
}

/// The JWKS cache of one provider.
#[derive(Debug, Clone)]
pub struct JwksCache {
    settings: JwksSettings,
    keys: Option<Rc<Vec<Jwk>>>,
    fetched_at_ms: u64,
    fresh_until_ms: u64,
    refresh_at_ms: u64,
    last_failure_ms: Option<u64>,
    last_error: Option<JwksBodyError>,
    failures: u32,
    in_flight_since_ms: Option<u64>,
    refetch_wanted: bool,
    last_kid_refetch_ms: Option<u64>,
    generation: u64,
}

impl JwksCache {
    /// An empty cache.
    pub fn new(settings: JwksSettings) -> JwksCache {
        JwksCache {
            settings,
            keys: None,
            fetched_at_ms: 0,
            fresh_until_ms: 0,
            refresh_at_ms: 0,
            last_failure_ms: None,
            last_error: None,
            failures: 0,
            in_flight_since_ms: None,
            refetch_wanted: false,
            last_kid_refetch_ms: None,
            generation: 0,
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &JwksSettings {
        &self.settings
    }

    /// The state at `now_ms`.
    pub fn state(&self, now_ms: u64) -> JwksState {
        match &self.keys {
            None if self.failures == 0 && self.last_error.is_none() => JwksState::Empty,
            None => JwksState::Failed,
            Some(_) if now_ms < self.fresh_until_ms => JwksState::Fresh,
            Some(_) if now_ms < self.stale_until_ms() => JwksState::Stale,
            Some(_) => JwksState::Failed,
        }
    }

    fn stale_until_ms(&self) -> u64 {
        self.fresh_until_ms
            .saturating_add(self.settings.stale_s.saturating_mul(1000))
    }

    /// The usable keys at `now_ms`: fresh or stale within the bound; else `keys_unavailable`.
    pub fn keys(&self, now_ms: u64) -> Result<Rc<Vec<Jwk>>, TokenError> {
        match (&self.keys, self.state(now_ms)) {
            (Some(k), JwksState::Fresh | JwksState::Stale) => Ok(Rc::clone(k)),
            _ => Err(TokenError::KeysUnavailable),
        }
    }

    /// Bumped every time the key set changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The last body error, kept for logs and stats until the next successful fetch.
    pub fn last_error(&self) -> Option<&JwksBodyError> {
        self.last_error.as_ref()
    }

    /// Consecutive failed fetches.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether a fetch is under way (and not yet considered lost) at `now_ms`.
    pub fn in_flight(&self, now_ms: u64) -> bool {
        self.in_flight_since_ms.is_some_and(|since| {
            now_ms < since.saturating_add(self.settings.fetch_timeout_s.saturating_mul(1000))
        })
    }

    /// Whether a fetch should start now: none in flight, and never fetched, or the refresh
    /// time reached, or the retry interval after a failure elapsed, or an unknown-`kid`
    /// refetch was granted.
    pub fn needs_refresh(&self, now_ms: u64) -> bool {
        if self.in_flight(now_ms) {
            return false;
        }
        if self.refetch_wanted {
            return true;
        }
        if let Some(failed) = self.last_failure_ms {
            return now_ms
                >= failed.saturating_add(self.settings.retry_interval_s.saturating_mul(1000));
        }
        self.keys.is_none() || now_ms >= self.refresh_at_ms
    }

    /// Marks a fetch as started (single-flight). Returns `false` if one is already in flight.
    pub fn start_fetch(&mut self, now_ms: u64) -> bool {
        if self.in_flight(now_ms) {
            return false;
        }
        self.in_flight_since_ms = Some(now_ms);
        self.refetch_wanted = false;
        true
    }

    /// A token named a `kid` not in the set. Grants an early refetch at most once per
    /// `unknown_kid_refetch_interval_s`; returns whether one was granted (the glue then sees
    /// [`Self::needs_refresh`] true). Never while a fetch is in flight: that fetch will bring
    /// the rotated key if it exists.
    pub fn request_refetch(&mut self, now_ms: u64) -> bool {
        if self.in_flight(now_ms) || self.refetch_wanted {
            return false;
        }
        let interval_ms = self
            .settings
            .unknown_kid_refetch_interval_s
            .saturating_mul(1000);
        if let Some(last) = self.last_kid_refetch_ms {
            if now_ms < last.saturating_add(interval_ms) {
                return false;
            }
        }
        self.last_kid_refetch_ms = Some(now_ms);
        self.refetch_wanted = true;
        true
    }

    /// A fetch returned 200 with `body`; `max_age_s` is the response's `Cache-Control: max-age`
    /// if any. A body that is not a usable JWK set keeps the previous keys and counts as a
    /// failure (retried after `retry_interval_s`).
    pub fn on_fetch_ok(
        &mut self,
        body: &[u8],
        max_age_s: Option<u64>,
        now_ms: u64,
    ) -> Result<JwksUpdate, JwksBodyError> {
        self.in_flight_since_ms = None;
        let parsed = std::str::from_utf8(body)
            .map_err(|_| KeyError::Json("not UTF-8"))
            .and_then(Jwks::from_json);
        let all = match parsed {
            Ok(keys) => keys,
            Err(e) => return Err(self.fail_body(JwksBodyError::Parse(e), now_ms)),
        };
        let mut kept = Vec::with_capacity(all.len());
        let mut dropped = Vec::new();
        for jwk in all {
            match jwk.key.check_strength(self.settings.min_rsa_bits) {
                Ok(()) => kept.push(jwk),
                Err(reason) => dropped.push(DroppedKey {
                    kid: jwk.kid.clone(),
                    reason,
                }),
            }
        }
        if kept.is_empty() {
            return Err(self.fail_body(JwksBodyError::NoUsableKeys, now_ms));
        }
        let s = &self.settings;
        let lifetime_s = max_age_s.unwrap_or(s.default_max_age_s);
        // `max-age` comes from the JWKS endpoint: any u64, so no overflow on the way.
        let refresh_after_s = (lifetime_s.saturating_mul(REFRESH_AT_PERCENT) / 100)
            .clamp(s.min_refresh_interval_s, s.max_refresh_interval_s.max(1));
        // Keys stay fresh at least until the scheduled refresh.
        let fresh_s = lifetime_s.max(refresh_after_s);
        let changed = self.keys.as_deref() != Some(&kept);
        if changed {
            self.generation += 1;
        }
        let update = JwksUpdate {
            kept: kept.len(),
            dropped,
            changed,
        };
        self.keys = Some(Rc::new(kept));
        self.fetched_at_ms = now_ms;
        self.fresh_until_ms = now_ms.saturating_add(fresh_s.saturating_mul(1000));
        self.refresh_at_ms = now_ms.saturating_add(refresh_after_s.saturating_mul(1000));
        self.last_failure_ms = None;
        self.last_error = None;
        self.failures = 0;
        Ok(update)
    }

    fn fail_body(&mut self, e: JwksBodyError, now_ms: u64) -> JwksBodyError {
        self.last_error = Some(e.clone());
        self.last_failure_ms = Some(now_ms);
        self.failures = self.failures.saturating_add(1);
        e
    }

    /// A fetch failed (connection error, timeout, non-200). Keys, if any, stay in use within
    /// the stale bound.
    pub fn on_fetch_err(&mut self, now_ms: u64) {
        self.in_flight_since_ms = None;
        self.last_failure_ms = Some(now_ms);
        self.failures = self.failures.saturating_add(1);
    }

    /// When the keys were last fetched (unix ms; 0 if never).
    pub fn fetched_at_ms(&self) -> u64 {
        self.fetched_at_ms
    }
}

#[cfg(test)]
#[path = "jwks_tests.rs"]
mod tests;
