#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::b64;
use crate::keys::PublicKey;
use rsa::traits::PublicKeyParts;

const T0: i64 = 1_700_000_000_000;
const S: i64 = 1000;

fn jwk_of(pem: &str) -> String {
    let PublicKey::Rsa(k) = PublicKey::from_pem(pem).unwrap() else {
        panic!("not RSA")
    };
    format!(
        r#"{{"kty":"RSA","n":"{}","e":"{}"}}"#,
        b64::encode_url(&k.n().to_bytes_be()),
        b64::encode_url(&k.e().to_bytes_be())
    )
}

fn rsa2048_jwk() -> String {
    jwk_of(include_str!(
        "../../../tests/data/keys/test-rsa2048-spki.pem"
    ))
}

fn rsa1024_jwk() -> String {
    jwk_of(include_str!(
        "../../../tests/data/keys/test-rsa1024-spki.pem"
    ))
}

/// An OCEN `ParticipantRole` answer; `publicKey` is a string, as in the registry API.
fn answer(jwk: &str, status: &str, approved: bool) -> Vec<u8> {
    serde_json::json!({
        "id": 17, "participantRole": "LOAN_AGENT", "approvedBy": "admin",
        "isApproved": approved, "participantRoleStatus": status, "publicKey": jwk,
    })
    .to_string()
    .into_bytes()
}

fn settings() -> RegistrySettings {
    RegistrySettings {
        url: "https://registry.ocen.test/service".into(),
        authority: "registry.ocen.test".into(),
        base_path: "/service".into(),
        cluster: "registry".into(),
        ttl_s: 60,
        stale_s: 300,
        timeout_ms: 2000,
        token_env: None,
        max_entries: 3,
    }
}

fn rules() -> KeyRules {
    KeyRules {
        algorithms: vec![Alg::RS256],
        min_rsa_bits: 2048,
    }
}

fn cache() -> RegistryCache {
    RegistryCache::new(&settings(), rules())
}

fn loaded(id: &str) -> RegistryCache {
    let mut c = cache();
    assert!(c.begin_fetch(id, T0));
    let r = c.on_response(
        id,
        Some(200),
        &answer(&rsa2048_jwk(), "APPROVED", true),
        None,
        T0,
    );
    assert_eq!(r, FetchResult::Loaded { approved: true });
    c
}

fn found(c: &RegistryCache, id: &str, now: i64) -> bool {
    matches!(c.lookup(id, now), Lookup::Found(p) if p.approved && p.keys.len() == 1)
}

#[test]
fn nothing_cached_needs_a_fetch() {
    assert!(matches!(cache().lookup("LA-1", T0), Lookup::FetchNeeded));
}

#[test]
fn fresh_entry_is_served_and_refreshed_before_expiry() {
    let c = loaded("LA-1");
    assert!(found(&c, "LA-1", T0 + 10 * S));
    assert!(!c.refresh_due("LA-1", T0 + 44 * S));
    assert!(
        c.refresh_due("LA-1", T0 + 45 * S),
        "3/4 of the 60 s lifetime"
    );
    assert!(!c.refresh_due("other", T0 + 45 * S));
}

#[test]
fn cache_control_max_age_sets_the_lifetime() {
    let mut c = cache();
    assert!(c.begin_fetch("LA-1", T0));
    c.on_response(
        "LA-1",
        Some(200),
        &answer(&rsa2048_jwk(), "APPROVED", true),
        Some("public, max-age=8"),
        T0,
    );
    assert!(c.refresh_due("LA-1", T0 + 6 * S));
    assert!(!c.refresh_due("LA-1", T0 + 5 * S));
}

#[test]
fn stale_within_the_bound_while_the_registry_is_down_then_unavailable() {
    let mut c = loaded("LA-1");
    // Expired (60 s): a refresh goes out and fails.
    assert!(c.begin_fetch("LA-1", T0 + 61 * S));
    assert!(
        found(&c, "LA-1", T0 + 61 * S),
        "served stale while in flight"
    );
    let r = c.on_response("LA-1", None, b"", None, T0 + 62 * S);
    assert!(matches!(r, FetchResult::Failed(_)));
    assert!(found(&c, "LA-1", T0 + 62 * S));
    assert!(found(&c, "LA-1", T0 + 359 * S), "within 60 + 300 s");
    // Beyond the stale bound: nothing usable; right after a failure → unavailable.
    assert!(c.begin_fetch("LA-1", T0 + 361 * S));
    c.on_response("LA-1", Some(503), b"", None, T0 + 361 * S);
    assert!(matches!(
        c.lookup("LA-1", T0 + 362 * S),
        Lookup::Unavailable(why) if why.contains("503")
    ));
    // After the retry interval, a new fetch is wanted again.
    assert!(matches!(
        c.lookup("LA-1", T0 + 361 * S + RETRY_MS),
        Lookup::FetchNeeded
    ));
}

#[test]
fn down_before_the_first_fetch_is_unavailable() {
    let mut c = cache();
    assert!(c.begin_fetch("LA-1", T0));
    assert!(matches!(c.lookup("LA-1", T0), Lookup::FetchNeeded));
    c.on_response("LA-1", None, b"", None, T0 + S);
    assert!(matches!(c.lookup("LA-1", T0 + S), Lookup::Unavailable(_)));
    assert!(!c.refresh_due("LA-1", T0 + S));
}

#[test]
fn negative_answers_are_cached_briefly() {
    let mut c = cache();
    assert!(c.begin_fetch("nobody", T0));
    let r = c.on_response("nobody", Some(404), b"not found", None, T0);
    assert!(matches!(r, FetchResult::Negative(_)));
    assert!(matches!(c.lookup("nobody", T0 + 29 * S), Lookup::Negative(w) if w.contains("404")));
    // The negative lifetime is short (30 s even with a 60 s ttl), then the registry is asked again.
    assert!(matches!(
        c.lookup("nobody", T0 + 31 * S),
        Lookup::FetchNeeded
    ));
}

#[test]
fn unapproved_entries_carry_their_status() {
    for (status, flag) in [
        ("UNDER_REVIEW", false),
        ("APPROVED", false),
        ("REJECTED", true),
    ] {
        let mut c = cache();
        assert!(c.begin_fetch("LA-2", T0));
        let r = c.on_response(
            "LA-2",
            Some(200),
            &answer(&rsa2048_jwk(), status, flag),
            None,
            T0,
        );
        assert_eq!(
            r,
            FetchResult::Loaded { approved: false },
            "{status} {flag}"
        );
        assert!(matches!(c.lookup("LA-2", T0), Lookup::Found(p) if !p.approved));
    }
    // Neither field: not approved.
    let body = serde_json::json!({"publicKey": rsa2048_jwk()}).to_string();
    let k = parse_participant("x", body.as_bytes(), &rules()).unwrap();
    assert!(matches!(k, Known::Partner(p) if !p.approved));
}

#[test]
fn whitespace_laden_jwk_and_data_wrapper() {
    let jwk = rsa2048_jwk();
    // Wrapped and indented as registry values arrive, with tabs and CRLF inside the JSON.
    let messy: String = jwk
        .chars()
        .enumerate()
        .flat_map(|(i, ch)| {
            let pad = if i % 17 == 0 { "\r\n\t  " } else { "" };
            pad.chars().chain(std::iter::once(ch))
        })
        .collect();
    assert_ne!(messy, jwk);
    let k = parse_participant("LA-1", &answer(&messy, "APPROVED", true), &rules()).unwrap();
    assert!(matches!(&k, Known::Partner(p) if p.approved && p.id == "LA-1"));
    // The JWK as an object, inside {"data": ...}.
    let v: Value = serde_json::from_str(&jwk).unwrap();
    let body = serde_json::json!({"data": {"participantRoleStatus": "APPROVED", "publicKey": v}});
    let k = parse_participant("LA-1", body.to_string().as_bytes(), &rules()).unwrap();
    assert!(matches!(k, Known::Partner(p) if p.approved));
}

#[test]
fn garbage_body_is_a_failure_and_keeps_the_previous_entry() {
    let mut c = loaded("LA-1");
    for garbage in [
        &b"<html>oops</html>"[..],
        b"[1,2]",
        b"",
        br#"{"isApproved":"yes"}"#,
    ] {
        assert!(c.begin_fetch("LA-1", T0 + 10 * S));
        let r = c.on_response("LA-1", Some(200), garbage, None, T0 + 10 * S);
        assert!(matches!(r, FetchResult::Failed(_)), "{r:?}");
        assert!(found(&c, "LA-1", T0 + 10 * S), "previous key kept");
    }
    let mut c = cache();
    assert!(c.begin_fetch("LA-9", T0));
    c.on_response("LA-9", Some(200), b"not json", None, T0);
    assert!(matches!(c.lookup("LA-9", T0), Lookup::Unavailable(_)));
}

#[test]
fn bad_or_weak_keys_are_negative_not_fatal() {
    let cases = [
        answer(&rsa1024_jwk(), "APPROVED", true),
        answer("{\"kty\":\"RSA\"}", "APPROVED", true),
        answer("not a jwk", "APPROVED", true),
        serde_json::json!({"participantRoleStatus": "APPROVED", "isApproved": true})
            .to_string()
            .into_bytes(),
    ];
    for body in cases {
        let mut c = cache();
        assert!(c.begin_fetch("LA-3", T0));
        let r = c.on_response("LA-3", Some(200), &body, None, T0);
        assert!(matches!(r, FetchResult::Negative(_)), "{r:?}");
        assert!(matches!(c.lookup("LA-3", T0), Lookup::Negative(_)));
    }
    let k = parse_participant("x", &answer(&rsa1024_jwk(), "APPROVED", true), &rules()).unwrap();
    assert!(matches!(k, Known::Negative(w) if w.contains("1024")));
}

#[test]
fn single_flight_per_participant() {
    let mut c = cache();
    assert!(c.begin_fetch("LA-1", T0));
    assert!(!c.begin_fetch("LA-1", T0 + 1), "one fetch at a time");
    assert!(c.in_flight("LA-1"));
    assert!(
        c.begin_fetch("LA-2", T0 + 1),
        "other participants are independent"
    );
    c.on_response("LA-1", Some(404), b"", None, T0 + 2);
    assert!(!c.in_flight("LA-1"));
    assert!(c.begin_fetch("LA-1", T0 + 3));
    // A fetch that never answers is considered lost after the timeout and a margin.
    assert!(!c.begin_fetch("LA-1", T0 + 3 + 6 * S));
    assert!(c.begin_fetch("LA-1", T0 + 3 + 8 * S));
}

#[test]
fn entries_are_bounded_oldest_evicted_first() {
    let mut c = cache();
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        let t = T0 + i as i64;
        assert!(c.begin_fetch(id, t));
        c.on_response(
            id,
            Some(200),
            &answer(&rsa2048_jwk(), "APPROVED", true),
            None,
            t,
        );
    }
    assert_eq!(c.len(), 3);
    assert!(c.begin_fetch("d", T0 + 10));
    assert_eq!(c.len(), 3);
    assert!(
        matches!(c.lookup("a", T0 + 10), Lookup::FetchNeeded),
        "oldest evicted"
    );
    assert!(found(&c, "b", T0 + 10) && found(&c, "c", T0 + 10));
}

#[test]
fn registry_url_and_paths() {
    assert_eq!(
        split_registry_url("https://registry.ocen.test:8443/api/service/").unwrap(),
        ("registry.ocen.test:8443".into(), "/api/service".into())
    );
    for bad in [
        "ftp://r/service",
        "https:///service",
        "https://r/registry",
        "https://r/service?x=1",
        "https://r",
    ] {
        assert!(
            split_registry_url(bad)
                .unwrap_err()
                .starts_with(&format!("{bad:?}")),
            "{bad}"
        );
    }
    assert_eq!(
        settings().path_for("LA 1/ä"),
        "/service/participant-roles/LA%201%2F%C3%A4"
    );
}
