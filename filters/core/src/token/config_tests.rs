#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::token::testkeys;
use serde_json::json;

fn jwks() -> Value {
    json!({"keys": [testkeys::jwk(&testkeys::p256(1), "k1", None)]})
}

fn parse(v: &Value) -> Result<TokenConfig, ConfigError> {
    TokenConfig::from_json(v.to_string().as_bytes())
}

fn base() -> Value {
    json!({
        "providers": [{
            "name": "keycloak",
            "issuer": "https://auth.example/realms/ocen",
            "jwks": jwks(),
            "claim_to_partner": "participantId"
        }]
    })
}

fn field_of(v: &Value) -> String {
    parse(v).unwrap_err().field
}

#[test]
fn example_config_parses() {
    let doc = json!({
        "providers": [
            {
                "name": "keycloak",
                "issuer": "https://auth.example/realms/ocen",
                "audiences": ["lender-api"],
                "jwks_uri": "https://auth.example/realms/ocen/protocol/openid-connect/certs",
                "jwks_cluster": "auth_service",
                "jwks_cache": {"default_max_age": "10m", "stale": "1h", "fetch_timeout": "3s"},
                "claim_to_partner": "participantId",
                "required_scopes": ["loan.write"],
                "required_claims": {"typ": "Bearer"},
                "algorithms": ["RS256"],
                "require_iat": true
            },
            {"name": "static", "issuer": "http://issuer.local", "jwks": jwks().to_string(), "header": "X-JWT", "prefix": ""}
        ],
        "partners": [{
            "id": "bank-a", "tls_names": ["spiffe://bank-a"], "token_subjects": ["bank-a-client"],
            "policy": "lender",
            "api_keys": [{"key_sha256": "a".repeat(64), "policy": "auth", "not_after": "2030-01-01T00:00:00Z"}]
        }],
        "policies": [
            {"id": "lender", "routes": [{"methods": ["post"], "path_prefix": "/v4/"}]},
            {"id": "auth", "routes": [{"path_glob": "/idauthentication/v1/*/**"}], "required_scopes": []}
        ],
        "misps": [{"id": "misp-1", "partners": ["bank-a"], "license_keys": [{"key": "LK1", "status": "active"}]}],
        "api_key": {"path_templates": [".../{license}/{partner}/{api_key}"]},
        "credentials": {"token": "optional", "api_key": "required"},
        "binding": {"platform_header": "FSPIOP-Source", "require_partner": true},
        "route_policy": [{"methods": ["GET"], "path_prefix": "/common/heartbeat", "policy": "skip"}],
        "token_cache_entries": 500,
        "forward_partner_header": "x-signet-partner",
        "error_format": "ocen",
        "realm": "lender"
    });
    let c = parse(&doc).unwrap();
    assert_eq!(c.providers.len(), 2);
    let JwksSource::Remote(r) = &c.providers[0].keys else {
        panic!()
    };
    assert_eq!(r.authority, "auth.example");
    assert_eq!(r.path, "/realms/ocen/protocol/openid-connect/certs");
    assert_eq!(r.timeout_ms, 3000);
    assert_eq!(r.settings.stale_s, 3600);
    assert_eq!(c.providers[0].rules.algorithms, vec![Alg::RS256]);
    assert_eq!(c.providers[1].header, "x-jwt");
    assert_eq!(c.binding.platform_header.as_deref(), Some("fspiop-source"));
    assert_eq!(c.token, Requirement::Optional);
    assert_eq!(c.error_format, TokenErrorFormat::Ocen);
    assert!(c.registry.policy("lender").unwrap().routes[0].methods == vec!["POST".to_string()]);
    assert!(c.registry.partner("bank-a").is_some());
}

#[test]
fn defaults() {
    let c = parse(&base()).unwrap();
    let p = &c.providers[0];
    assert_eq!(p.header, "authorization");
    assert_eq!(p.prefix, "Bearer ");
    assert_eq!(p.rules.clock_skew_s, 60);
    assert!(p.rules.require_exp);
    assert!(!p.rules.require_iat);
    assert_eq!(p.rules.algorithms, Alg::ALL.to_vec());
    assert_eq!(c.token, Requirement::Required);
    assert_eq!(c.api_key_requirement, Requirement::Off);
    assert_eq!(c.token_cache_entries, 1024);
    assert_eq!(c.error_format, TokenErrorFormat::Rfc6750);
    assert_eq!(c.realm, "signet");
    assert!(c.binding.require_partner);
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"providers": [{"name": "a", "issuer": "ftp://x", "jwks": jwks()}]}),
            "providers[0].issuer",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://", "jwks": jwks()}]}),
            "providers[0].issuer",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "algorithms": ["RS256", "HS256"]}]}),
            "providers[0].algorithms[1]",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "algorithms": ["none"]}]}),
            "providers[0].algorithms[0]",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x"}]}),
            "providers[0].jwks",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks_uri": "https://x/certs"}]}),
            "providers[0].jwks_cluster",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "jwks_uri": "https://x/c", "jwks_cluster": "c"}]}),
            "providers[0].jwks",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": {"keys": []}}]}),
            "providers[0].jwks",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "bogus": 1}]}),
            "providers[0].bogus",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "clock_skew_s": "60"}]}),
            "providers[0].clock_skew_s",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "min_rsa_bits": 1024}]}),
            "providers[0].min_rsa_bits",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "header": "bad header"}]}),
            "providers[0].header",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks_uri": "https://x/c", "jwks_cluster": "c", "jwks_cache": {"min_refresh_interval_s": 100, "max_refresh_interval_s": 10}}]}),
            "providers[0].jwks_cache.max_refresh_interval",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "clock_skew": "11m"}]}),
            "providers[0].clock_skew",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks(), "clock_skew": "1.5s"}]}),
            "providers[0].clock_skew",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks_uri": "https://x/c", "jwks_cluster": "c", "jwks_cache": {"stale": "1h", "stale_s": 3600}}]}),
            "providers[0].jwks_cache.stale",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks_uri": "https://x/c", "jwks_cluster": "c", "jwks_cache": {"fetch_timeout": "61s"}}]}),
            "providers[0].jwks_cache.fetch_timeout",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks()}, {"name": "a", "issuer": "https://y", "jwks": jwks()}]}),
            "providers[1].name",
        ),
        (
            json!({"providers": [{"name": "a", "issuer": "https://x", "jwks": jwks()}, {"name": "b", "issuer": "https://x", "jwks": jwks()}]}),
            "providers[1].issuer",
        ),
        (json!({"unknown_top": 1}), "unknown_top"),
        (json!([]), "(root)"),
        (json!({}), "credentials"),
        (
            json!({"credentials": {"token": "required"}}),
            "credentials.token",
        ),
        (
            json!({"credentials": {"api_key": "required"}}),
            "credentials.api_key",
        ),
        (
            json!({"credentials": {"api_key": "maybe"}}),
            "credentials.api_key",
        ),
        (json!({"api_key": {}}), "api_key"),
        (
            json!({"api_key": {"path_templates": ["/a/{what}"]}}),
            "api_key.path_templates[0]",
        ),
    ];
    for (doc, field) in cases {
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.field, field, "{doc}: {e}");
        assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
    }
    let mut doc = base();
    doc["providers"][0]["issuer"] = json!("not a url");
    assert_eq!(
        parse(&doc).unwrap_err().to_string(),
        "providers[0].issuer: must be an https or http URL"
    );
}

#[test]
fn registry_errors_name_the_field() {
    let with = |k: &str, v: Value| {
        let mut d = base();
        d[k] = v;
        d
    };
    let pol = json!([{"id": "p", "routes": [{"path_prefix": "/"}]}]);
    let mut d = with(
        "partners",
        json!([{"id": "a", "api_keys": [{"key": "k", "key_sha256": "00", "policy": "p"}]}]),
    );
    d["policies"] = pol.clone();
    assert_eq!(field_of(&d), "partners[0].api_keys[0]");
    let mut d = with(
        "partners",
        json!([{"id": "a", "api_keys": [{"key_sha256": "xyz", "policy": "p"}]}]),
    );
    d["policies"] = pol.clone();
    assert_eq!(field_of(&d), "partners[0].api_keys[0].key_sha256");
    assert_eq!(
        field_of(&with(
            "partners",
            json!([{"id": "a", "api_keys": [{"key": "k", "policy": "nope"}]}])
        )),
        "partners[0].api_keys[0].policy"
    );
    let mut d = with(
        "partners",
        json!([{"id": "a", "api_keys": [{"key": "k", "policy": "p"}]}, {"id": "b", "api_keys": [{"key": "k", "policy": "p"}]}]),
    );
    d["policies"] = pol.clone();
    assert_eq!(field_of(&d), "partners[1].api_keys[0]");
    let mut d = with(
        "partners",
        json!([{"id": "a", "api_keys": [{"key": "k", "policy": "p", "not_before": "2024-13-01T00:00:00Z"}]}]),
    );
    d["policies"] = pol.clone();
    assert_eq!(field_of(&d), "partners[0].api_keys[0].not_before");
    let mut d = with(
        "partners",
        json!([{"id": "a", "api_keys": [{"key": "k", "policy": "p", "not_before": "2025-01-01T00:00:00Z", "not_after": "2024-01-01T00:00:00Z"}]}]),
    );
    d["policies"] = pol.clone();
    assert_eq!(field_of(&d), "partners[0].api_keys[0].not_after");
    assert_eq!(
        field_of(&with("partners", json!([{"id": "a"}, {"id": "a"}]))),
        "partners[1].id"
    );
    assert_eq!(
        field_of(&with(
            "partners",
            json!([{"id": "a", "tls_names": ["x"]}, {"id": "b", "tls_names": ["x"]}])
        )),
        "partners[1].tls_names[0]"
    );
    assert_eq!(
        field_of(&with(
            "partners",
            json!([{"id": "a"}, {"id": "b", "token_subjects": ["a"]}])
        )),
        "partners[1].token_subjects[0]"
    );
    assert_eq!(
        field_of(&with(
            "partners",
            json!([{"id": "a", "status": "sleeping"}])
        )),
        "partners[0].status"
    );
    assert_eq!(
        field_of(&with("policies", json!([{"id": "p", "routes": []}]))),
        "policies[0].routes"
    );
    assert_eq!(
        field_of(&with(
            "policies",
            json!([{"id": "p", "routes": [{"path_prefix": "x"}]}])
        )),
        "policies[0].routes[0].path_prefix"
    );
    assert_eq!(
        field_of(&with(
            "policies",
            json!([{"id": "p", "routes": [{"path_prefix": "/", "path_glob": "/"}]}])
        )),
        "policies[0].routes[0]"
    );
    assert_eq!(
        field_of(&with(
            "policies",
            json!([{"id": "p", "routes": [{"methods": ["G E T"], "path_prefix": "/"}]}])
        )),
        "policies[0].routes[0].methods[0]"
    );
    assert_eq!(
        field_of(&with("misps", json!([{"id": "m", "partners": ["ghost"]}]))),
        "misps[0].partners[0]"
    );
    assert_eq!(
        field_of(&with(
            "misps",
            json!([{"id": "m", "license_keys": [{"key": ""}]}])
        )),
        "misps[0].license_keys[0].key"
    );
    assert_eq!(
        field_of(&with("forward_partner_header", json!("authorization"))),
        "forward_partner_header"
    );
    assert_eq!(field_of(&with("realm", json!("a\"b"))), "realm");
    assert_eq!(
        field_of(&with("token_cache_entries", json!(10_000_000))),
        "token_cache_entries"
    );
    assert_eq!(
        field_of(&with("error_format", json!("xml"))),
        "error_format"
    );
    assert_eq!(
        field_of(&with("trust_jwt_authn", json!({"payload_in_metadata": ""}))),
        "trust_jwt_authn.payload_in_metadata"
    );
}

#[test]
fn weak_inline_keys_fail_configuration() {
    let mut d = base();
    d["providers"][0]["jwks"] =
        json!({"keys": [testkeys::jwk(&testkeys::rsa1024(), "weak", None)]});
    let e = parse(&d).unwrap_err();
    assert_eq!(e.field, "providers[0].jwks");
    assert!(e.message.contains("1024"), "{e}");
    // Private material in a public set is refused too.
    d["providers"][0]["jwks"] =
        json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}]});
    assert_eq!(parse(&d).unwrap_err().field, "providers[0].jwks");
}

#[test]
fn url_split() {
    assert_eq!(
        split_url("https://a.b:8443/x/y?z=1"),
        Some(("a.b:8443".into(), "/x/y?z=1".into()))
    );
    assert_eq!(split_url("http://a"), Some(("a".into(), "/".into())));
    assert_eq!(split_url("https://a?x"), Some(("a".into(), "/?x".into())));
    for bad in [
        "https://",
        "https://u@a/",
        "https://a b/",
        "a/b",
        "https://a/#f",
        "HTTPS://a",
    ] {
        assert_eq!(split_url(bad), None, "{bad}");
    }
}

#[test]
fn audit_is_on_unless_turned_off() {
    assert!(parse(&base()).unwrap().audit);
    let mut off = base();
    off["audit"] = json!(false);
    assert!(!parse(&off).unwrap().audit);
    off["audit"] = json!("no");
    assert_eq!(field_of(&off), "audit");
}
