#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::token::testkeys;

const T0: u64 = 1_700_000_000_000;
const S: u64 = 1000;

fn settings() -> JwksSettings {
    JwksSettings {
        default_max_age_s: 600,
        min_refresh_interval_s: 30,
        max_refresh_interval_s: 3600,
        stale_s: 300,
        retry_interval_s: 10,
        unknown_kid_refetch_interval_s: 60,
        fetch_timeout_s: 30,
        min_rsa_bits: 2048,
    }
}

fn body(kids: &[&str]) -> Vec<u8> {
    let keys: Vec<_> = kids
        .iter()
        .enumerate()
        .map(|(i, k)| testkeys::jwk(&testkeys::p256(100 + i as u64), k, None))
        .collect();
    testkeys::jwks(&keys).into_bytes()
}

fn loaded(max_age: Option<u64>) -> JwksCache {
    let mut c = JwksCache::new(settings());
    assert!(c.start_fetch(T0));
    c.on_fetch_ok(&body(&["a"]), max_age, T0).unwrap();
    c
}

#[test]
fn empty_before_first_fetch_fails_closed() {
    let c = JwksCache::new(settings());
    assert_eq!(c.state(T0), JwksState::Empty);
    assert_eq!(c.keys(T0), Err(TokenError::KeysUnavailable));
    assert!(c.needs_refresh(T0));
}

#[test]
fn failed_before_first_fetch_is_keys_unavailable() {
    let mut c = JwksCache::new(settings());
    assert!(c.start_fetch(T0));
    c.on_fetch_err(T0);
    assert_eq!(c.state(T0), JwksState::Failed);
    assert_eq!(c.keys(T0 + 1), Err(TokenError::KeysUnavailable));
    // Retried after retry_interval_s, not before.
    assert!(!c.needs_refresh(T0 + 9 * S));
    assert!(c.needs_refresh(T0 + 10 * S));
    assert_eq!(c.failures(), 1);
}

#[test]
fn fresh_then_refresh_at_80_percent() {
    let c = loaded(Some(100));
    assert_eq!(c.state(T0), JwksState::Fresh);
    assert_eq!(c.keys(T0).unwrap().len(), 1);
    assert!(!c.needs_refresh(T0 + 79 * S));
    assert!(c.needs_refresh(T0 + 80 * S));
    assert_eq!(c.state(T0 + 99 * S), JwksState::Fresh);
    assert_eq!(c.state(T0 + 100 * S), JwksState::Stale);
}

#[test]
fn refresh_interval_bounds() {
    // max-age 0 → refresh after the minimum (30 s); keys fresh until then.
    let c = loaded(Some(0));
    assert!(!c.needs_refresh(T0 + 29 * S));
    assert!(c.needs_refresh(T0 + 30 * S));
    assert_eq!(c.state(T0 + 29 * S), JwksState::Fresh);
    // A day-long max-age still refreshes after the maximum (1 h), and stays fresh a day.
    let c = loaded(Some(86_400));
    assert!(!c.needs_refresh(T0 + 3599 * S));
    assert!(c.needs_refresh(T0 + 3600 * S));
    assert_eq!(c.state(T0 + 86_399 * S), JwksState::Fresh);
    // No Cache-Control: the default (600 s → refresh at 480 s).
    let c = loaded(None);
    assert!(!c.needs_refresh(T0 + 479 * S));
    assert!(c.needs_refresh(T0 + 480 * S));
}

#[test]
fn stale_within_bound_then_failed() {
    let mut c = loaded(Some(100));
    // The endpoint goes down at the refresh.
    assert!(c.start_fetch(T0 + 80 * S));
    c.on_fetch_err(T0 + 81 * S);
    assert_eq!(c.state(T0 + 81 * S), JwksState::Fresh);
    assert_eq!(c.state(T0 + 150 * S), JwksState::Stale);
    assert!(c.keys(T0 + 399 * S).is_ok());
    assert_eq!(c.state(T0 + 400 * S), JwksState::Failed);
    assert_eq!(c.keys(T0 + 400 * S), Err(TokenError::KeysUnavailable));
    // Recovery.
    assert!(c.start_fetch(T0 + 500 * S));
    c.on_fetch_ok(&body(&["a"]), Some(100), T0 + 500 * S)
        .unwrap();
    assert_eq!(c.state(T0 + 500 * S), JwksState::Fresh);
    assert_eq!(c.failures(), 0);
}

#[test]
fn single_flight() {
    let mut c = JwksCache::new(settings());
    assert!(c.start_fetch(T0));
    assert!(!c.needs_refresh(T0 + S));
    assert!(!c.start_fetch(T0 + S));
    // A fetch never reported back is considered lost after fetch_timeout_s.
    assert!(c.needs_refresh(T0 + 30 * S));
    assert!(c.start_fetch(T0 + 30 * S));
}

#[test]
fn unknown_kid_refetch_at_most_once_per_interval() {
    let mut c = loaded(Some(600));
    assert!(!c.needs_refresh(T0 + S));
    assert!(c.request_refetch(T0 + S));
    assert!(c.needs_refresh(T0 + S));
    // Granted once: further unknown kids wait (already wanted, then in flight, then interval).
    assert!(!c.request_refetch(T0 + S));
    assert!(c.start_fetch(T0 + S));
    assert!(!c.request_refetch(T0 + 2 * S));
    c.on_fetch_ok(&body(&["a", "b"]), Some(600), T0 + 2 * S)
        .unwrap();
    assert!(!c.request_refetch(T0 + 3 * S));
    assert!(!c.request_refetch(T0 + 60 * S));
    assert!(!c.needs_refresh(T0 + 60 * S));
    assert!(c.request_refetch(T0 + 61 * S));
    assert!(c.needs_refresh(T0 + 61 * S));
}

#[test]
fn garbage_body_keeps_previous_keys() {
    let mut c = loaded(Some(100));
    let gen = c.generation();
    for garbage in [
        &b"<html>oops</html>"[..],
        b"{}",
        b"{\"keys\":{}}",
        b"\xff\xfe",
        b"{\"keys\":[]}",
    ] {
        assert!(c.start_fetch(T0 + 80 * S));
        assert!(c.on_fetch_ok(garbage, Some(100), T0 + 80 * S).is_err());
        assert!(c.last_error().is_some());
        assert_eq!(c.keys(T0 + 90 * S).unwrap().len(), 1);
        assert_eq!(c.generation(), gen);
    }
    // The failure schedules a retry, and the keys still go stale on their own clock.
    assert!(c.needs_refresh(T0 + 90 * S));
    assert_eq!(c.state(T0 + 100 * S), JwksState::Stale);
}

#[test]
fn weak_rsa_keys_are_dropped_not_fatal() {
    let mut c = JwksCache::new(settings());
    let weak = testkeys::jwk(&testkeys::rsa1024(), "weak", None);
    let good = testkeys::jwk(&testkeys::p256(5), "good", None);
    assert!(c.start_fetch(T0));
    let up = c
        .on_fetch_ok(testkeys::jwks(&[weak.clone(), good]).as_bytes(), None, T0)
        .unwrap();
    assert_eq!(up.kept, 1);
    assert_eq!(up.dropped.len(), 1);
    assert_eq!(up.dropped[0].kid.as_deref(), Some("weak"));
    assert!(matches!(
        up.dropped[0].reason,
        KeyError::RsaTooSmall {
            bits: 1024,
            min: 2048
        }
    ));
    let keys = c.keys(T0).unwrap();
    assert_eq!(keys[0].kid.as_deref(), Some("good"));
    // A set of only weak keys is an error; nothing usable replaces nothing.
    let mut c = JwksCache::new(settings());
    assert!(c.start_fetch(T0));
    assert_eq!(
        c.on_fetch_ok(testkeys::jwks(&[weak]).as_bytes(), None, T0),
        Err(JwksBodyError::NoUsableKeys)
    );
    assert_eq!(c.state(T0), JwksState::Failed);
}

#[test]
fn generation_changes_only_with_the_key_set() {
    let mut c = loaded(Some(100));
    let g = c.generation();
    assert!(c.start_fetch(T0 + 80 * S));
    let up = c
        .on_fetch_ok(&body(&["a"]), Some(100), T0 + 80 * S)
        .unwrap();
    assert!(!up.changed);
    assert_eq!(c.generation(), g);
    assert!(c.start_fetch(T0 + 160 * S));
    let up = c
        .on_fetch_ok(&body(&["b"]), Some(100), T0 + 160 * S)
        .unwrap();
    assert!(up.changed);
    assert_eq!(c.generation(), g + 1);
}

#[test]
fn cache_control_parsing() {
    assert_eq!(cache_control_max_age("max-age=300"), Some(300));
    assert_eq!(
        cache_control_max_age("public, max-age=60, must-revalidate"),
        Some(60)
    );
    assert_eq!(cache_control_max_age("Max-Age=\"120\""), Some(120));
    assert_eq!(cache_control_max_age("no-cache"), Some(0));
    assert_eq!(cache_control_max_age("private"), None);
    assert_eq!(cache_control_max_age("max-age=-1"), None);
    assert_eq!(cache_control_max_age(""), None);
}
