#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

use crate::registry::{Registry, SecretHash};
use sha2::{Digest, Sha256};

const NOW: u64 = 1_700_000_000_000;
const DAY: u64 = 86_400_000;

fn at(ms: u64) -> String {
    crate::time::format_millis_z(ms as i64).unwrap()
}

/// Policies `auth` (active) and `p` with the given status and dates.
fn registry_with(status: &str, not_before: Option<u64>, not_after: Option<u64>) -> Registry {
    let mut p = serde_json::json!({"id": "p", "status": status, "routes": [{"path_prefix": "/"}]});
    if let Some(t) = not_before {
        p["not_before"] = at(t).into();
    }
    if let Some(t) = not_after {
        p["not_after"] = at(t).into();
    }
    let doc = serde_json::json!({
        "policies": [
            {"id": "auth", "routes": [
                {"methods": ["POST"], "path_prefix": "/idauthentication/v1/auth/"},
                {"path_glob": "/idauthentication/v1/kyc/*/*/*"}]},
            p],
        "partners": [{"id": "p1", "api_keys": [
            {"key": "ak-good", "policy": "auth"},
            {"key": "ak-revoked", "policy": "auth", "status": "revoked"},
            {"key": "ak-old", "policy": "auth", "not_after": at(NOW - DAY)}]}],
        "misps": [
            {"id": "m1", "partners": ["p1"], "license_keys": [
                {"key": "lk-good"},
                {"key": "lk-blocked", "status": "blocked"},
                {"key": "lk-future", "not_before": at(NOW + DAY)},
                {"key": "lk-expired", "not_after": at(NOW - DAY)}]},
            {"id": "m2", "status": "inactive", "partners": ["p1"], "license_keys": [{"key": "lk-m2"}]}]
    });
    Registry::from_json(doc.to_string().as_bytes()).unwrap()
}

fn registry() -> Registry {
    registry_with("active", None, None)
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
    let r = registry();
    let p = r.policy("auth").unwrap();
    let check = |m: &str, path: &str| check_policy(p, m, path, NOW);
    assert!(check("POST", "/idauthentication/v1/auth/lk/p/k").is_ok());
    let route = Err(TokenError::Inactive(Inactive::Route));
    assert_eq!(check("GET", "/idauthentication/v1/auth/lk/p/k"), route);
    assert!(check("GET", "/idauthentication/v1/kyc/lk/p/k").is_ok());
    assert_eq!(check("GET", "/idauthentication/v1/kyc/lk/p/k/x"), route);
    assert_eq!(check("POST", "/idauthentication/v1/otp/lk/p/k"), route);
}

#[test]
fn policy_status_and_dates() {
    let bad = Err(TokenError::Inactive(Inactive::Policy));
    let check = |r: Registry| check_policy(r.policy("p").unwrap(), "POST", "/x", NOW);
    assert_eq!(check(registry_with("inactive", None, None)), bad);
    assert_eq!(check(registry_with("active", Some(NOW + 1), None)), bad);
    assert_eq!(check(registry_with("active", None, Some(NOW - 1))), bad);
    // Inclusive bounds.
    assert!(check(registry_with("active", Some(NOW), Some(NOW))).is_ok());
}

#[test]
fn api_keys() {
    let r = registry();
    let k = r.api_key("ak-good").unwrap();
    assert_eq!(k.partner, "p1");
    assert!(check_api_key(k, NOW).is_ok());
    assert!(r.api_key("nope").is_none());
    assert_eq!(
        check_api_key(r.api_key("ak-revoked").unwrap(), NOW),
        Err(TokenError::Inactive(Inactive::ApiKey))
    );
    assert_eq!(
        check_api_key(r.api_key("ak-old").unwrap(), NOW),
        Err(TokenError::Inactive(Inactive::ApiKeyDates))
    );
}

#[test]
fn licence_keys() {
    let r = registry();
    assert_eq!(
        check_licence(&r, "lk-good", Some("p1"), NOW).unwrap().1.id,
        "m1"
    );
    assert!(check_licence(&r, "lk-good", None, NOW).is_ok());
    let err = |lk: &str, p: &str| check_licence(&r, lk, Some(p), NOW).err();
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
