#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

const NOW: u64 = 1_700_000_000_000;

fn rule(methods: &[&str], path: PathMatch) -> RouteRule {
    RouteRule {
        methods: methods.iter().map(|m| m.to_string()).collect(),
        path,
    }
}

fn policy(id: &str, status: Status, validity: Validity) -> Policy {
    Policy {
        id: id.into(),
        status,
        validity,
        routes: vec![
            rule(
                &["POST"],
                PathMatch::Prefix("/idauthentication/v1/auth/".into()),
            ),
            rule(
                &[],
                PathMatch::Glob("/idauthentication/v1/kyc/*/*/*".into()),
            ),
        ],
        required_scopes: vec![],
    }
}

#[test]
fn secret_hash_forms() {
    let h = SecretHash::of("key-1");
    let hex_form = hex::encode(Sha256::digest(b"key-1"));
    assert_eq!(SecretHash::from_hex(&hex_form), Some(h));
    assert_eq!(SecretHash::from_hex(&hex_form.to_uppercase()), Some(h));
    assert_eq!(SecretHash::from_hex(&hex_form[..63]), None);
    assert_eq!(SecretHash::from_hex("zz"), None);
    assert_eq!(h.short().len(), 12);
    assert!(!format!("{h:?} {h}").contains("key-1"));
}

#[test]
fn policy_routes() {
    let p = policy("auth", Status::Active, Validity::default());
    assert!(p
        .check("POST", "/idauthentication/v1/auth/lk/p/k", NOW)
        .is_ok());
    assert_eq!(
        p.check("GET", "/idauthentication/v1/auth/lk/p/k", NOW),
        Err(TokenError::Inactive(Inactive::Route))
    );
    assert!(p
        .check("GET", "/idauthentication/v1/kyc/lk/p/k", NOW)
        .is_ok());
    assert_eq!(
        p.check("GET", "/idauthentication/v1/kyc/lk/p/k/x", NOW),
        Err(TokenError::Inactive(Inactive::Route))
    );
    assert_eq!(
        p.check("POST", "/idauthentication/v1/otp/lk/p/k", NOW),
        Err(TokenError::Inactive(Inactive::Route))
    );
}

#[test]
fn policy_status_and_dates() {
    let path = "/idauthentication/v1/auth/lk/p/k";
    let bad = Err(TokenError::Inactive(Inactive::Policy));
    assert_eq!(
        policy("p", Status::Inactive, Validity::default()).check("POST", path, NOW),
        bad
    );
    let future = Validity {
        not_before_ms: Some(NOW as i64 + 1),
        not_after_ms: None,
    };
    assert_eq!(
        policy("p", Status::Active, future).check("POST", path, NOW),
        bad
    );
    let past = Validity {
        not_before_ms: None,
        not_after_ms: Some(NOW as i64 - 1),
    };
    assert_eq!(
        policy("p", Status::Active, past).check("POST", path, NOW),
        bad
    );
    // Inclusive bounds.
    let exact = Validity {
        not_before_ms: Some(NOW as i64),
        not_after_ms: Some(NOW as i64),
    };
    assert!(policy("p", Status::Active, exact)
        .check("POST", path, NOW)
        .is_ok());
}

#[test]
fn globs() {
    let m = |g: &str, p: &str| PathMatch::Glob(g.into()).matches(p);
    assert!(m("/a/*/c", "/a/b/c"));
    assert!(m("/a/*/c", "/a//c"));
    assert!(!m("/a/*/c", "/a/b/x/c"));
    assert!(m("/a/**/c", "/a/b/x/c"));
    assert!(m("/a/**", "/a/"));
    assert!(m("/a/**", "/a/b/c/d"));
    assert!(!m("/a/**", "/b/a/"));
    assert!(m("/v*/loans", "/v4.0.0alpha/loans"));
    assert!(!m("/v*/loans", "/v4/x/loans"));
    assert!(m("/exact", "/exact"));
    assert!(!m("/exact", "/exact/"));
    assert!(m("*", ""));
    // Pathological: many stars over a long path stays fast.
    let long = "/a".repeat(5000);
    assert!(!m("/**a*a*a*a*a*a*a*a*a*b", &long));
}

fn registry() -> KeyRegistry {
    let day = 86_400_000i64;
    KeyRegistry::new(
        vec![
            ApiKey {
                hash: SecretHash::of("ak-good"),
                partner: "p1".into(),
                policy: "auth".into(),
                status: Status::Active,
                validity: Validity::default(),
            },
            ApiKey {
                hash: SecretHash::of("ak-revoked"),
                partner: "p1".into(),
                policy: "auth".into(),
                status: Status::Revoked,
                validity: Validity::default(),
            },
            ApiKey {
                hash: SecretHash::of("ak-old"),
                partner: "p1".into(),
                policy: "auth".into(),
                status: Status::Active,
                validity: Validity {
                    not_before_ms: None,
                    not_after_ms: Some(NOW as i64 - day),
                },
            },
        ],
        vec![
            LicenceKey {
                hash: SecretHash::of("lk-good"),
                misp: "m1".into(),
                status: Status::Active,
                validity: Validity::default(),
            },
            LicenceKey {
                hash: SecretHash::of("lk-blocked"),
                misp: "m1".into(),
                status: Status::Blocked,
                validity: Validity::default(),
            },
            LicenceKey {
                hash: SecretHash::of("lk-future"),
                misp: "m1".into(),
                status: Status::Active,
                validity: Validity {
                    not_before_ms: Some(NOW as i64 + day),
                    not_after_ms: None,
                },
            },
            LicenceKey {
                hash: SecretHash::of("lk-expired"),
                misp: "m1".into(),
                status: Status::Active,
                validity: Validity {
                    not_before_ms: None,
                    not_after_ms: Some(NOW as i64 - day),
                },
            },
            LicenceKey {
                hash: SecretHash::of("lk-m2"),
                misp: "m2".into(),
                status: Status::Active,
                validity: Validity::default(),
            },
        ],
        vec![
            Misp {
                id: "m1".into(),
                status: Status::Active,
                partners: vec!["p1".into()],
            },
            Misp {
                id: "m2".into(),
                status: Status::Inactive,
                partners: vec!["p1".into()],
            },
        ],
        vec![policy("auth", Status::Active, Validity::default())],
    )
}

#[test]
fn api_keys() {
    let r = registry();
    let k = r.api_key("ak-good").unwrap();
    assert_eq!(k.partner, "p1");
    assert!(k.check(NOW).is_ok());
    assert_eq!(r.api_key("nope").err(), Some(TokenError::KeyUnknown));
    assert_eq!(
        r.api_key("ak-revoked").unwrap().check(NOW),
        Err(TokenError::Inactive(Inactive::ApiKey))
    );
    assert_eq!(
        r.api_key("ak-old").unwrap().check(NOW),
        Err(TokenError::Inactive(Inactive::ApiKeyDates))
    );
    assert!(r.policy("auth").is_some());
}

#[test]
fn licence_keys() {
    let r = registry();
    assert_eq!(r.licence("lk-good", Some("p1"), NOW).unwrap().1.id, "m1");
    assert!(r.licence("lk-good", None, NOW).is_ok());
    let err = |lk: &str, p: &str| r.licence(lk, Some(p), NOW).err();
    assert_eq!(
        err("lk-good", "p2"),
        Some(TokenError::Inactive(Inactive::MispNotForPartner))
    );
    assert_eq!(
        err("unknown", "p1"),
        Some(TokenError::Inactive(Inactive::LicenceUnknown))
    );
    assert_eq!(
        err("lk-m2", "p1"),
        Some(TokenError::Inactive(Inactive::LicenceUnknown))
    );
    assert_eq!(
        err("lk-blocked", "p1"),
        Some(TokenError::Inactive(Inactive::LicenceBlocked))
    );
    assert_eq!(
        err("lk-future", "p1"),
        Some(TokenError::Inactive(Inactive::LicenceNotCommenced))
    );
    assert_eq!(
        err("lk-expired", "p1"),
        Some(TokenError::Inactive(Inactive::LicenceExpired))
    );
}

#[test]
fn path_templates() {
    let full =
        PathTemplate::parse("/idauthentication/v1/auth/{license}/{partner}/{api_key}").unwrap();
    let ids = full
        .capture("/idauthentication/v1/auth/LK1/P1/AK1?x=1")
        .unwrap();
    assert_eq!(
        (ids.licence, ids.partner, ids.api_key),
        (Some("LK1"), Some("P1"), Some("AK1"))
    );
    assert!(full.capture("/idauthentication/v1/auth/LK1/P1").is_none());
    assert!(full
        .capture("/idauthentication/v1/auth/LK1/P1/AK1/x")
        .is_none());
    assert!(full
        .capture("/idauthentication/v1/kyc/LK1/P1/AK1")
        .is_none());
    assert!(full.capture("/idauthentication/v1/auth/LK1//AK1").is_none());
    assert!(full.capture("relative/path").is_none());

    let suffix = PathTemplate::parse(".../{license}/{partner}/{api_key}").unwrap();
    let ids = suffix
        .capture("/idauthentication/v1/kyc/LK1/P1/AK1")
        .unwrap();
    assert_eq!(ids.api_key, Some("AK1"));
    assert!(suffix.capture("/P1/AK1").is_none());

    let wild = PathTemplate::parse("/idauthentication/v1/*/{license}/{partner}/{api_key}").unwrap();
    assert!(wild.capture("/idauthentication/v1/otp/a/b/c").is_some());

    for bad in [
        "",
        "idauth/{partner}",
        "/a//{partner}",
        "/a/{x}",
        "/a/b",
        "/{partner}/{partner}",
        "/a*/{partner}",
    ] {
        assert!(PathTemplate::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn redaction_hides_secrets() {
    let t = PathTemplate::parse(".../{license}/{partner}/{api_key}").unwrap();
    let r = t
        .redact("/idauthentication/v1/auth/SECRETLK/P1/SECRETAK?q=SECRETQ")
        .unwrap();
    assert!(!r.contains("SECRET"), "{r}");
    assert!(r.starts_with("/idauthentication/v1/auth/~"));
    assert!(r.contains("/P1/~"));
    assert_eq!(t.redact("/x"), None);
    assert_eq!(strip_query("/a?b"), "/a");
}

#[test]
fn ida_template_redacts_every_variable_segment() {
    let t = PathTemplate::parse("ida").unwrap();
    let ok = t
        .redact("/idauthentication/v1/auth/SECRETLK/P1/SECRETAK?q=SECRETQ")
        .unwrap();
    assert!(ok.starts_with("/idauthentication/v1/auth/~"), "{ok}");
    assert!(ok.contains("/P1/~") && !ok.contains("SECRET"), "{ok}");
    // IDA reads no triple here, so none is captured, and nothing after the operation shows.
    for path in [
        "/idauthentication/v1/auth/SECRETLK/P1/SECRETAK/SECRETX",
        "/idauthentication/v1/auth/SECRETLK/SECRETAK",
        "/idauthentication/v1/kyc-auth/delegated/SECRETLK/P1/SECRETAK/x",
    ] {
        assert!(t.capture(path).is_none(), "{path}");
        let r = t.redact(path).unwrap();
        assert!(!r.contains("SECRET") && !r.contains("P1"), "{r}");
    }
    assert_eq!(t.redact("/v4/loans"), None);
}
