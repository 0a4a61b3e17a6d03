#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

fn field_of(json: &str) -> String {
    Registry::from_json(json.as_bytes()).unwrap_err().field
}

#[test]
fn status_reads_any_case_and_the_aliases() {
    for (s, want) in [
        ("ACTIVE", Status::Active),
        ("Suspended", Status::Inactive),
        ("deactivated", Status::Inactive),
        ("BLOCKED", Status::Blocked),
        ("revoked", Status::Revoked),
    ] {
        assert_eq!(Status::parse(s), Some(want), "{s}");
    }
    assert_eq!(Status::parse("paused"), None);
    assert_eq!(
        field_of(r#"{"partners": [{"id": "a", "status": "paused"}]}"#),
        "partners[0].status"
    );
}

#[test]
fn validity_is_inclusive_milliseconds() {
    let r = Registry::from_json(
        br#"{"partners": [{"id": "a", "not_before": "2026-01-01T00:00:00Z",
                            "not_after": "2026-01-01T00:00:01.500+00:00"}]}"#,
    )
    .unwrap();
    let p = r.partner("a").unwrap();
    let t0 = 1_767_225_600_000;
    assert!(!p.active_at(t0 - 1));
    assert!(p.active_at(t0));
    assert!(p.active_at(t0 + 1500));
    assert!(!p.active_at(t0 + 1501));
    assert_eq!(
        field_of(r#"{"partners": [{"id": "a", "not_after": "yesterday"}]}"#),
        "partners[0].not_after"
    );
    assert_eq!(
        field_of(
            r#"{"partners": [{"id": "a", "not_before": "2026-02-01T00:00:00Z",
                              "not_after": "2026-01-01T00:00:00Z"}]}"#
        ),
        "partners[0].not_after"
    );
}

#[test]
fn one_partner_serves_every_lookup() {
    let r = Registry::from_json(
        br#"{
        "policies": [{"id": "auth", "routes": [{"methods": ["post"], "path_glob": "/v1/*/**"}]}],
        "partners": [{"id": "p1", "tls_names": ["p1.example"], "source_cidrs": ["10.0.0.0/8", "::1/128"],
                      "token_subjects": ["p1-client"], "sender_id": "p1.sender", "policy": "auth",
                      "api_keys": [{"key": "ak1"}]}],
        "misps": [{"id": "m1", "license_keys": [{"key": "lk1", "status": "BLOCKED"}]},
                  {"id": "m2", "partners": ["p1"], "license_keys": [{"key": "lk2"}]}]
    }"#,
    )
    .unwrap();
    for p in [
        r.partner("p1"),
        r.by_tls_name("p1.example"),
        r.by_token_name("p1-client"),
        r.by_token_name("p1"),
        r.by_sender("p1.sender"),
    ] {
        assert_eq!(p.map(|p| p.id.as_str()), Some("p1"));
    }
    assert_eq!(r.api_key("ak1").map(|k| k.partner.as_str()), Some("p1"));
    assert!(r.api_key("ak2").is_none());
    let pol = r.policy("auth").unwrap();
    assert!(pol.allows("POST", "/v1/auth/x/y"));
    assert!(!pol.allows("GET", "/v1/auth/x"));
    assert!(!pol.allows("POST", "/v1"));
    let (lk, m) = r.licence("lk1").unwrap();
    assert_eq!((lk.status, m.id.as_str()), (Status::Blocked, "m1"));
    assert!(m.serves("anyone"));
    let (_, m2) = r.licence("lk2").unwrap();
    assert!(m2.serves("p1") && !m2.serves("p2"));
    assert_eq!(r.partner("p1").unwrap().domain, "AUTH");
}

#[test]
fn errors_name_the_field() {
    for (json, field) in [
        (r#"{"partners": [{"id": ""}]}"#, "partners[0].id"),
        (
            r#"{"partners": [{"id": "a"}, {"id": "a"}]}"#,
            "partners[1].id",
        ),
        (
            r#"{"partners": [{"id": "a", "tls_names": ["x"]}, {"id": "b", "tls_names": ["x"]}]}"#,
            "partners[1].tls_names[0]",
        ),
        (
            r#"{"partners": [{"id": "a", "source_cidrs": ["10.0.0.0/33"]}]}"#,
            "partners[0].source_cidrs[0]",
        ),
        (
            r#"{"partners": [{"id": "a", "source_cidrs": ["host/8"]}]}"#,
            "partners[0].source_cidrs[0]",
        ),
        (
            r#"{"partners": [{"id": "a", "policy": "none"}]}"#,
            "partners[0].policy",
        ),
        (
            r#"{"partners": [{"id": "a", "api_keys": [{"key": "k", "policy": "x"}]}]}"#,
            "partners[0].api_keys[0].policy",
        ),
        (
            r#"{"partners": [{"id": "a", "api_keys": [{"key": "k"}, {"key": "k"}]}]}"#,
            "partners[0].api_keys[1]",
        ),
        (
            r#"{"partners": [{"id": "a", "keys": [{"kid": "k"}]}]}"#,
            "partners[0].keys[0]",
        ),
        (
            r#"{"partners": [{"id": "a", "keys": [{"public_key_pem": "x"}]}]}"#,
            "partners[0].keys[0].public_key_pem",
        ),
        (
            r#"{"partners": [{"id": "a", "certificate_sha256": "zz"}]}"#,
            "partners[0].certificate_sha256",
        ),
        (
            r#"{"partners": [{"id": "a", "token_subjects": ["b"]}, {"id": "b"}]}"#,
            "partners[0].token_subjects[0]",
        ),
        (
            r#"{"partners": [{"id": "a", "licence_keys": []}]}"#,
            "partners[0].licence_keys",
        ),
        (
            r#"{"misps": [{"id": "m", "partners": ["ghost"]}]}"#,
            "misps[0].partners[0]",
        ),
        (
            r#"{"misps": [{"id": "m", "license_keys": [{"key": "k"}, {"key_sha256": "x"}]}]}"#,
            "misps[0].license_keys[1].key_sha256",
        ),
        (
            r#"{"policies": [{"id": "p", "routes": []}]}"#,
            "policies[0].routes",
        ),
        (
            r#"{"policies": [{"id": "p", "routes": [{"path_glob": "/a*"}]}]}"#,
            "policies[0].routes[0].path_glob",
        ),
        (
            r#"{"domain_ca": {"AUTH": ["not a cert"]}}"#,
            "domain_ca.AUTH[0]",
        ),
        (r#"{"partner": []}"#, "partner"),
        ("[]", "(root)"),
    ] {
        assert_eq!(field_of(json), field, "{json}");
    }
}

#[test]
fn an_api_key_of_two_partners_is_found_within_each_but_flagged() {
    let r = Registry::from_json(
        br#"{"partners": [{"id": "a", "api_keys": [{"key": "k"}]}, {"id": "b", "api_keys": [{"key": "k"}]}]}"#,
    )
    .unwrap();
    assert!(r.partner("b").unwrap().api_key("k").is_some());
    assert_eq!(r.shared_api_key(), Some("partners[1].api_keys[0]"));
}

#[test]
fn inline_and_shared_are_exclusive() {
    let shared = Registry::from_json(br#"{"partners": [{"id": "a"}]}"#).unwrap();
    let inline = InlineMembers {
        misps: Some(vec![]),
        ..InlineMembers::default()
    };
    assert_eq!(inline.resolve(Some(&shared)).unwrap_err().field, "misps");
    let r = InlineMembers::default().resolve(Some(&shared)).unwrap();
    assert!(r.partner("a").is_some());
    assert!(InlineMembers::default().resolve(None).unwrap().is_empty());
}
