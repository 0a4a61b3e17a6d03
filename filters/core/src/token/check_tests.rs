#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::audit;
use super::*;
use crate::crypto::RustCrypto;
use crate::jose::alg::Alg;
use crate::token::testkeys;
use serde_json::{json, Value};

const ISS: &str = "https://auth.example/realms/ocen";
const NOW_S: i64 = 1_700_000_000;
const NOW: u64 = NOW_S as u64 * 1000;
const API_KEY: &str = "AK-secret-0001";
const LICENCE: &str = "LK-secret-0001";

fn key() -> crate::keys::PrivateKey {
    testkeys::p256(1)
}

fn token(claims: Value) -> String {
    testkeys::sign(
        &json!({"alg":"ES256","kid":"k1"}),
        &claims,
        &key(),
        Alg::ES256,
    )
}

fn claims(partner: &str) -> Value {
    json!({"iss": ISS, "sub": "svc", "participantId": partner, "exp": NOW_S + 300, "iat": NOW_S - 5, "jti": "j-1"})
}

fn provider(remote: bool) -> Value {
    let mut p = json!({"name": "keycloak", "issuer": ISS, "claim_to_partner": "participantId"});
    if remote {
        p["jwks_uri"] = json!(format!("{ISS}/protocol/openid-connect/certs"));
        p["jwks_cluster"] = json!("auth");
    } else {
        p["jwks"] = json!({"keys": [testkeys::jwk(&key(), "k1", None)]});
    }
    p
}

/// A MOSIP-ish registry with two partners, an API key, a MISP licence and policies.
fn config(extra: Value) -> TokenConfig {
    let mut doc = json!({
        "providers": [provider(false)],
        "partners": [
            {"id": "p1", "tls_names": ["spiffe://p1"], "token_subjects": ["p1-client"], "policy": "lender",
             "api_keys": [{"key": API_KEY, "policy": "auth"}]},
            {"id": "p2", "tls_names": ["spiffe://p2"], "policy": "lender"},
            {"id": "p3", "status": "inactive"}
        ],
        "policies": [
            {"id": "lender", "routes": [{"path_prefix": "/v4/"}]},
            {"id": "auth", "routes": [{"methods": ["POST"], "path_prefix": "/idauthentication/v1/auth/"}]}
        ],
        "misps": [{"id": "m1", "partners": ["p1"], "license_keys": [{"key": LICENCE}]}],
        "api_key": {"path_templates": [".../{license}/{partner}/{api_key}"]},
        "credentials": {"token": "optional", "api_key": "optional"},
        "binding": {"platform_header": "fspiop-source"},
        "route_policy": [{"path_prefix": "/health", "policy": "skip"}, {"path_prefix": "/public/", "policy": "if-present"}]
    });
    if let Value::Object(m) = extra {
        for (k, v) in m {
            doc[k] = v;
        }
    }
    TokenConfig::from_json(doc.to_string().as_bytes()).unwrap()
}

struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    tls: Vec<String>,
    now: u64,
}

impl Req {
    fn new(path: &str) -> Req {
        Req {
            method: "POST",
            path: path.into(),
            headers: vec![],
            tls: vec![],
            now: NOW,
        }
    }
    fn bearer(mut self, t: &str) -> Req {
        self.headers
            .push(("authorization".into(), format!("Bearer {t}")));
        self
    }
    fn header(mut self, n: &str, v: &str) -> Req {
        self.headers.push((n.into(), v.into()));
        self
    }
    fn tls(mut self, n: &str) -> Req {
        self.tls.push(n.into());
        self
    }
    fn facts(&self) -> RequestFacts<'_> {
        RequestFacts {
            method: self.method,
            path: &self.path,
            headers: &self.headers,
            tls_names: &self.tls,
            cert_sha256: Some("ab12"),
            now_ms: self.now,
            jwt_authn_claims: None,
        }
    }
}

fn run(
    cfg: &TokenConfig,
    state: &mut TokenState,
    r: &Req,
) -> Result<Decision, Rejection<TokenError, Box<Findings>>> {
    check(cfg, state, &r.facts(), &RustCrypto)
}

fn err(cfg: &TokenConfig, r: &Req) -> TokenError {
    let mut st = TokenState::new(cfg);
    run(cfg, &mut st, r).unwrap_err().error
}

const MOSIP: &str = "/idauthentication/v1/auth/LK-secret-0001/p1/AK-secret-0001";

#[test]
fn token_binds_partner_and_caches() {
    let cfg = config(json!({}));
    let mut st = TokenState::new(&cfg);
    let r = Req::new("/v4/loans").bearer(&token(claims("p1")));
    let d = run(&cfg, &mut st, &r).unwrap();
    assert_eq!(d.partner(), Some("p1"));
    assert_eq!(d.findings.policy.as_deref(), Some("lender"));
    assert_eq!(d.findings.token_id.as_deref(), Some("jti:j-1"));
    assert_eq!(d.findings.provider.as_deref(), Some("keycloak"));
    assert!(!d.cache_hit);
    let d = run(&cfg, &mut st, &r).unwrap();
    assert!(d.cache_hit);
    assert_eq!(d.partner(), Some("p1"));
    // The cache never outlives exp (300 s; skew only applies to a fresh verification).
    let mut late = Req::new("/v4/loans").bearer(&token(claims("p1")));
    late.now = NOW + 300_000;
    let d = run(&cfg, &mut st, &late).unwrap();
    assert!(!d.cache_hit);
    late.now = NOW + 360_000;
    assert_eq!(
        run(&cfg, &mut st, &late).unwrap_err().error,
        TokenError::Expired
    );
    // Token subject alias resolves to the partner.
    let r = Req::new("/v4/loans").bearer(&token(claims("p1-client")));
    assert_eq!(run(&cfg, &mut st, &r).unwrap().partner(), Some("p1"));
}

#[test]
fn token_problems() {
    let cfg = config(json!({"credentials": {"token": "required", "api_key": "off"}}));
    assert_eq!(err(&cfg, &Req::new("/v4/x")), TokenError::Missing);
    assert_eq!(
        err(
            &cfg,
            &Req::new("/v4/x").header("authorization", "Basic dXNlcjpwdw==")
        ),
        TokenError::Missing
    );
    assert_eq!(
        err(&cfg, &Req::new("/v4/x").header("authorization", "Bearer ")),
        TokenError::Malformed("empty token")
    );
    let t = token(claims("p1"));
    let two = Req::new("/v4/x").bearer(&t).bearer(&token(claims("p2")));
    assert_eq!(err(&cfg, &two), TokenError::Malformed("header repeated"));
    assert!(run(
        &cfg,
        &mut TokenState::new(&cfg),
        &Req::new("/v4/x").header("authorization", &format!("bearer {t}"))
    )
    .is_ok());
    let long = "a".repeat(20_000);
    assert_eq!(
        err(&cfg, &Req::new("/v4/x").bearer(&long)),
        TokenError::Malformed("token too long")
    );
    let mut other_iss = claims("p1");
    other_iss["iss"] = json!("https://evil.example");
    assert_eq!(
        err(&cfg, &Req::new("/v4/x").bearer(&token(other_iss))),
        TokenError::Claim(ClaimError::Issuer)
    );
    let mut no_partner = claims("p1");
    no_partner.as_object_mut().unwrap().remove("participantId");
    assert_eq!(
        err(&cfg, &Req::new("/v4/x").bearer(&token(no_partner))),
        TokenError::IdentityMissing("partner claim")
    );
    assert_eq!(
        err(&cfg, &Req::new("/v4/x").bearer(&token(claims("ghost")))),
        TokenError::KeyUnknown
    );
    assert_eq!(
        err(&cfg, &Req::new("/v4/x").bearer(&token(claims("p3")))),
        TokenError::Inactive(Inactive::Partner)
    );
    assert_eq!(
        err(&cfg, &Req::new("/other").bearer(&token(claims("p1")))),
        TokenError::Inactive(Inactive::Route)
    );
}

#[test]
fn a_skipped_route_still_binds_the_platform_header_and_the_path_to_the_certificate() {
    // docs/data-path.md rule 12: skip waives the credential, never the identity.
    let cfg = config(json!({"credentials": {"token": "required", "api_key": "off"}}));
    let mut st = TokenState::new(&cfg);
    let own = Req::new("/health")
        .tls("spiffe://p1")
        .header("fspiop-source", "p1");
    assert!(run(&cfg, &mut st, &own).unwrap().skipped);
    let other = Req::new("/health")
        .tls("spiffe://p1")
        .header("fspiop-source", "p2");
    assert!(matches!(err(&cfg, &other), TokenError::PeerMismatch(..)));
    let in_path = Req::new("/health/x/lk/p2/key").tls("spiffe://p1");
    assert!(matches!(err(&cfg, &in_path), TokenError::PeerMismatch(..)));
    // Without a certificate naming a partner there is no peer to bind to.
    let anonymous = Req::new("/health").header("fspiop-source", "p2");
    assert!(run(&cfg, &mut st, &anonymous).unwrap().skipped);
}

#[test]
fn route_policy_skip_and_if_present() {
    let cfg = config(json!({"credentials": {"token": "required", "api_key": "off"}}));
    let mut st = TokenState::new(&cfg);
    assert!(run(&cfg, &mut st, &Req::new("/health")).unwrap().skipped);
    let d = run(&cfg, &mut st, &Req::new("/public/x")).unwrap();
    assert_eq!(d.partner(), None);
    // if-present still checks a token that is there.
    let mut bad = claims("p1");
    bad["exp"] = json!(NOW_S - 3600);
    assert_eq!(
        run(&cfg, &mut st, &Req::new("/public/x").bearer(&token(bad)))
            .unwrap_err()
            .error,
        TokenError::Expired
    );
}

#[test]
fn mosip_api_key_and_licence() {
    let cfg = config(json!({"credentials": {"token": "off", "api_key": "required"}}));
    let mut st = TokenState::new(&cfg);
    let d = run(&cfg, &mut st, &Req::new(MOSIP)).unwrap();
    assert_eq!(d.partner(), Some("p1"));
    assert_eq!(d.findings.policy.as_deref(), Some("auth"));
    assert_eq!(d.findings.misp.as_deref(), Some("m1"));
    assert_eq!(d.findings.sources, vec![Source::ApiKey, Source::Path]);
    assert!(!d.findings.route.contains("secret"), "{}", d.findings.route);
    assert_eq!(
        err(&cfg, &Req::new("/auth/x")),
        TokenError::IdentityMissing("path")
    );
    assert_eq!(
        err(
            &cfg,
            &Req::new("/idauthentication/v1/auth/LK-secret-0001/p1/wrong")
        ),
        TokenError::KeyUnknown
    );
    assert_eq!(
        err(
            &cfg,
            &Req::new("/idauthentication/v1/auth/LK-other/p1/AK-secret-0001")
        ),
        TokenError::Inactive(Inactive::LicenceUnknown)
    );
    // Partner in path differs from the API key owner.
    assert_eq!(
        err(
            &cfg,
            &Req::new("/idauthentication/v1/auth/LK-secret-0001/p2/AK-secret-0001")
        ),
        TokenError::PeerMismatch(Source::ApiKey, Source::Path)
    );
    // Policy route: GET not allowed.
    let mut get = Req::new(MOSIP);
    get.method = "GET";
    assert_eq!(err(&cfg, &get), TokenError::Inactive(Inactive::Route));
}

#[test]
fn misp_may_serve_only_its_partners() {
    let cfg = config(json!({
        "credentials": {"token": "off", "api_key": "required"},
        "partners": [
            {"id": "p1", "api_keys": [{"key": API_KEY, "policy": "auth"}]},
            {"id": "p2"}
        ],
        "misps": [{"id": "m1", "partners": ["p2"], "license_keys": [{"key": LICENCE}]}]
    }));
    assert_eq!(
        err(&cfg, &Req::new(MOSIP)),
        TokenError::Inactive(Inactive::MispNotForPartner)
    );
}

#[test]
fn every_pair_of_sources_must_agree() {
    let cfg = config(json!({}));
    let t1 = token(claims("p1"));
    let t2 = token(claims("p2"));
    let cases: Vec<(Req, Source, Source)> = vec![
        (
            Req::new("/v4/x").tls("spiffe://p1").bearer(&t2),
            Source::Certificate,
            Source::Token,
        ),
        (
            Req::new(MOSIP).tls("spiffe://p2"),
            Source::Certificate,
            Source::ApiKey,
        ),
        (
            Req::new("/v4/x")
                .tls("spiffe://p1")
                .header("fspiop-source", "p2"),
            Source::Certificate,
            Source::PlatformHeader,
        ),
        (Req::new(MOSIP).bearer(&t2), Source::Token, Source::ApiKey),
        (
            Req::new("/v4/x").bearer(&t1).header("fspiop-source", "p2"),
            Source::Token,
            Source::PlatformHeader,
        ),
        (
            Req::new(MOSIP).header("fspiop-source", "p2"),
            Source::ApiKey,
            Source::PlatformHeader,
        ),
    ];
    for (r, a, b) in cases {
        let e = err(&cfg, &r);
        assert_eq!(e, TokenError::PeerMismatch(a, b), "{}", r.path);
        assert_eq!(e.status(), 403);
    }
    // Path partner against each other source (the API key in the path belongs to p1).
    let path_p2 = "/idauthentication/v1/auth/LK-secret-0001/p2/AK-secret-0001";
    assert_eq!(
        err(&cfg, &Req::new(path_p2)),
        TokenError::PeerMismatch(Source::ApiKey, Source::Path)
    );
    let pp = config(json!({"api_key": {"path_templates": ["/v4/pp/{partner}"]}}));
    for (r, a) in [
        (
            Req::new("/v4/pp/p2").tls("spiffe://p1"),
            Source::Certificate,
        ),
        (Req::new("/v4/pp/p2").bearer(&t1), Source::Token),
        (
            Req::new("/v4/pp/p2").header("fspiop-source", "p1"),
            Source::PlatformHeader,
        ),
    ] {
        assert_eq!(err(&pp, &r), TokenError::PeerMismatch(a, Source::Path));
    }
    assert_eq!(
        run(
            &pp,
            &mut TokenState::new(&pp),
            &Req::new("/v4/pp/p1").bearer(&t1)
        )
        .unwrap()
        .partner(),
        Some("p1")
    );
    // All agreeing: certificate, token, API key, header, path.
    let mut st = TokenState::new(&cfg);
    let all = Req::new(MOSIP)
        .tls("spiffe://p1")
        .bearer(&t1)
        .header("fspiop-source", "p1");
    let d = run(&cfg, &mut st, &all).unwrap();
    assert_eq!(d.partner(), Some("p1"));
    assert_eq!(d.findings.sources.len(), 5);
    // No source at all while binding is required.
    let cfg_open =
        config(json!({"credentials": {"token": "optional", "api_key": "off"}, "route_policy": []}));
    assert_eq!(
        err(&cfg_open, &Req::new("/v4/x")),
        TokenError::IdentityMissing("no source names a partner")
    );
}

#[test]
fn remote_jwks_flow() {
    let cfg = config(
        json!({"providers": [provider(true)], "credentials": {"token": "required", "api_key": "off"}}),
    );
    let mut st = TokenState::new(&cfg);
    let r = Req::new("/v4/x").bearer(&token(claims("p1")));
    // Before the first fetch: fail closed.
    assert_eq!(
        run(&cfg, &mut st, &r).unwrap_err().error,
        TokenError::KeysUnavailable
    );
    let fetches = st.due_fetches(&cfg, NOW);
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].cluster, "auth");
    assert_eq!(
        fetches[0].path,
        "/realms/ocen/protocol/openid-connect/certs"
    );
    assert!(st.due_fetches(&cfg, NOW).is_empty(), "single flight");
    // Endpoint down.
    assert!(st.on_jwks_response(0, Some(503), b"", None, NOW).is_none());
    assert_eq!(
        run(&cfg, &mut st, &r).unwrap_err().error,
        TokenError::KeysUnavailable
    );
    // A key set without k1, then an unknown kid schedules one refetch.
    let other = testkeys::jwks(&[testkeys::jwk(&testkeys::p256(9), "k0", None)]);
    assert_eq!(st.due_fetches(&cfg, NOW + 10_000).len(), 1);
    st.on_jwks_response(
        0,
        Some(200),
        other.as_bytes(),
        Some("max-age=600"),
        NOW + 10_000,
    )
    .unwrap()
    .unwrap();
    let mut r2 = Req::new("/v4/x").bearer(&token(claims("p1")));
    r2.now = NOW + 11_000;
    let wait = |st: &mut TokenState, r: &Req| check_or_wait(&cfg, st, &r.facts(), &RustCrypto);
    assert!(!st.fetch_pending(r2.now));
    // Not a refusal: the unknown kid asks for a refetch, and this request and the next wait.
    assert!(matches!(wait(&mut st, &r2), Checked::NeedKeys));
    assert!(st.fetch_pending(r2.now));
    assert!(matches!(wait(&mut st, &r2), Checked::NeedKeys));
    assert_eq!(st.due_fetches(&cfg, NOW + 11_000).len(), 1);
    assert!(matches!(wait(&mut st, &r2), Checked::NeedKeys));
    // A request that already waited is decided: the kid is unknown.
    assert_eq!(
        run(&cfg, &mut st, &r2).unwrap_err().error,
        TokenError::KidUnknown
    );
    let both = testkeys::jwks(&[
        testkeys::jwk(&testkeys::p256(9), "k0", None),
        testkeys::jwk(&key(), "k1", None),
    ]);
    st.on_jwks_response(0, Some(200), both.as_bytes(), None, NOW + 11_500)
        .unwrap()
        .unwrap();
    assert!(run(&cfg, &mut st, &r2).is_ok());
    assert!(run(&cfg, &mut st, &r2).unwrap().cache_hit);
    // k1 rotated out: the cached token stops at once.
    st.due_fetches(&cfg, NOW + 11_600 + 600_000);
    let gone = testkeys::jwks(&[testkeys::jwk(&testkeys::p256(9), "k0", None)]);
    st.on_jwks_response(0, Some(200), gone.as_bytes(), None, NOW + 12_000)
        .unwrap()
        .unwrap();
    let mut r3 = Req::new("/v4/x").bearer(&token(claims("p1")));
    r3.now = NOW + 12_000;
    assert_eq!(
        run(&cfg, &mut st, &r3).unwrap_err().error,
        TokenError::KidUnknown
    );
    // Inside the refetch interval and no fetch due: refused at once, nothing to wait for.
    assert!(matches!(wait(&mut st, &r3), Checked::Decided(Err(_))));
}

#[test]
fn trusted_jwt_authn_claims() {
    let cfg = config(json!({
        "credentials": {"token": "required", "api_key": "off"},
        "trust_jwt_authn": {"payload_in_metadata": "jwt_payload"}
    }));
    let mut st = TokenState::new(&cfg);
    let v = config::json_value(&claims("p1")).unwrap();
    let r = Req::new("/v4/x");
    let mut facts = r.facts();
    facts.jwt_authn_claims = Some(&v);
    let d = check(&cfg, &mut st, &facts, &RustCrypto).unwrap();
    assert_eq!(d.partner(), Some("p1"));
    assert_eq!(
        check(&cfg, &mut st, &r.facts(), &RustCrypto)
            .unwrap_err()
            .error,
        TokenError::Missing
    );
    let mut expired = claims("p1");
    expired["exp"] = json!(NOW_S - 3600);
    let v = config::json_value(&expired).unwrap();
    facts.jwt_authn_claims = Some(&v);
    assert_eq!(
        check(&cfg, &mut st, &facts, &RustCrypto).unwrap_err().error,
        TokenError::Expired
    );
    // The glue's stand-in for metadata it could not decode: refused, never skipped.
    let undecodable = JsonValue::Null;
    facts.jwt_authn_claims = Some(&undecodable);
    let rej = check(&cfg, &mut st, &facts, &RustCrypto).unwrap_err();
    assert_eq!(rej.error.reason_code(), "token_invalid");
    // The audit record says who verified the token.
    let v = config::json_value(&claims("p1")).unwrap();
    facts.jwt_authn_claims = Some(&v);
    let out = check(&cfg, &mut st, &facts, &RustCrypto);
    let rec = audit::record(&facts, &out, "generic");
    assert_eq!(rec.decision, "allow");
    assert_eq!(rec.token.and_then(|t| t.token_verifier), Some("jwt_authn"));
}

#[test]
fn audit_record_has_no_secret_in_clear() {
    let cfg = config(json!({}));
    let mut st = TokenState::new(&cfg);
    let mut c = claims("p1");
    c.as_object_mut().unwrap().remove("jti");
    let t = token(c);
    let r = Req::new(&format!("{MOSIP}?apikey=AK-secret-0001"))
        .bearer(&t)
        .tls("spiffe://p1");
    let out = run(&cfg, &mut st, &r);
    assert!(out.is_ok());
    let rec = audit::record(&r.facts(), &out, "generic");
    let line = rec.to_json();
    for secret in [t.as_str(), API_KEY, LICENCE, "secret"] {
        assert!(!line.contains(secret), "{secret} in {line}");
    }
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["partner"], "p1");
    assert_eq!(v["misp"], "m1");
    assert_eq!(v["policy"], "auth");
    assert_eq!(v["cert_sha256"], "ab12");
    assert_eq!(v["token_verifier"], "token_check");
    assert_eq!(v["api_key"].as_str().unwrap().len(), 12);
    assert_eq!(v["licence_key"].as_str().unwrap().len(), 12);
    assert!(v["token_id"].as_str().unwrap().starts_with("sha256:"));
    // Refusals too (wrong key in the path).
    let bad = Req::new("/idauthentication/v1/auth/LK-secret-0001/p1/AK-secret-9999").bearer(&t);
    let out = run(&cfg, &mut st, &bad);
    let line = audit::record(&bad.facts(), &out, "generic").to_json();
    assert!(
        line.contains("\"decision\":\"deny\"") && line.contains("key_unknown"),
        "{line}"
    );
    for secret in [t.as_str(), "AK-secret-9999", LICENCE] {
        assert!(!line.contains(secret), "{secret} in {line}");
    }
}

#[test]
fn replies() {
    let cfg = config(json!({"realm": "api"}));
    let ctx = (1_710_410_400_000, "/v4/x", "1a2b3c4d");
    let reply = |e: &TokenError, cfg: &TokenConfig, (now, route, id): &(u64, &str, &str)| {
        reply(e, cfg, route, *now, id)
    };
    let r = reply(&TokenError::Missing, &cfg, &ctx);
    assert_eq!(r.status, 401);
    assert!(r
        .headers
        .contains(&("www-authenticate".into(), "Bearer realm=\"api\"".into())));
    assert!(r
        .headers
        .contains(&("x-signet-reason".into(), "token_missing".into())));
    assert_eq!(r.body, br#"{"error":"token_missing"}"#);
    let r = reply(&TokenError::Expired, &cfg, &ctx);
    assert!(r.headers.contains(&(
        "www-authenticate".into(),
        "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"token expired\"".into()
    )));
    let r = reply(
        &TokenError::PeerMismatch(Source::Token, Source::Certificate),
        &cfg,
        &ctx,
    );
    assert_eq!(
        (r.status, r.body.as_slice()),
        (403, &br#"{"error":"peer_mismatch"}"#[..])
    );
    assert_eq!(reply(&TokenError::KeysUnavailable, &cfg, &ctx).status, 503);
    assert_eq!(
        reply(&TokenError::Inactive(Inactive::Partner), &cfg, &ctx).status,
        403
    );

    let ocen = config(json!({"error_format": "ocen"}));
    let r = reply(&TokenError::Missing, &ocen, &ctx);
    assert_eq!((r.status, r.body.len()), (401, 0));
    assert!(r
        .headers
        .contains(&("www-authenticate".into(), "Bearer".into())));
    let r = reply(&TokenError::SignatureInvalid, &ocen, &ctx);
    assert_eq!((r.status, r.body.len()), (401, 0));
    assert!(r.headers.contains(&(
        "www-authenticate".into(),
        "Bearer error=\"invalid_token\"".into()
    )));
    assert!(r
        .headers
        .contains(&("x-signet-reason".into(), "token_invalid".into())));
    let r = reply(
        &TokenError::PeerMismatch(Source::Token, Source::Certificate),
        &ocen,
        &ctx,
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        String::from_utf8(r.body).unwrap(),
        r#"{"timestamp":"2024-03-14T10:00:00.000+00:00","path":"/v4/x","status":403,"error":"Forbidden","requestId":"1a2b3c4d"}"#
    );
    assert_eq!(reply(&TokenError::KeysUnavailable, &ocen, &ctx).status, 503);
}

#[test]
fn a_path_with_two_readings_is_refused_before_route_policy() {
    let cfg = config(json!({"credentials": {"token": "required", "api_key": "off"}}));
    let mut st = TokenState::new(&cfg);
    // The skip rule skips its own path; the query is not the path.
    assert!(
        run(&cfg, &mut st, &Req::new("/health?x=/../y;z"))
            .unwrap()
            .skipped
    );
    for attack in [
        "/health/../v4/loans",
        "/health/%2e%2e/v4/loans",
        "/health;x",
        "//health",
        "/health\\..\\v4",
        "/%68ealth",
        "/health%2f..",
        "/health%zz",
    ] {
        let e = err(&cfg, &Req::new(attack));
        assert!(
            matches!(e, TokenError::PathNotCanonical(_)),
            "{attack}: {e:?}"
        );
        assert_eq!(e.reason_code(), "path_not_canonical");
        assert_eq!(e.status(), 400);
    }
    // MOSIP's paths: no second reading reaches another route or template.
    let mosip = config(json!({
        "credentials": {"token": "off", "api_key": "required"},
        "route_policy": [{"path_prefix": "/idauthentication/v1/internal/", "policy": "skip"}]
    }));
    for attack in [
        format!("/{MOSIP}"),
        MOSIP.replacen("/idauth", "/%69dauth", 1),
        MOSIP.replacen("/idauthentication", "/idauthentication;x", 1),
        MOSIP.replacen("/v1/auth", "/v1/internal/../auth", 1),
    ] {
        assert!(
            matches!(
                err(&mosip, &Req::new(&attack)),
                TokenError::PathNotCanonical(_)
            ),
            "{attack}"
        );
    }
    assert!(
        !run(&mosip, &mut TokenState::new(&mosip), &Req::new(MOSIP))
            .unwrap()
            .skipped
    );
    // The reply is a plain 400 without a token challenge.
    let r = reply(&err(&cfg, &Req::new("/health/..")), &cfg, "/x", NOW, "0");
    assert_eq!(r.status, 400);
    assert!(r
        .headers
        .contains(&("x-signet-reason".into(), "path_not_canonical".into())));
}

#[test]
fn ida_template_reads_the_triple_as_ida_does() {
    let cfg = config(json!({
        "credentials": {"token": "off", "api_key": "required"},
        "api_key": {"path_templates": ["ida"]},
        "policies": [
            {"id": "lender", "routes": [{"path_prefix": "/v4/"}]},
            {"id": "auth", "routes": [{"methods": ["POST"], "path_prefix": "/idauthentication/v1/"}]}
        ]
    }));
    let mut st = TokenState::new(&cfg);
    let d = run(&cfg, &mut st, &Req::new(MOSIP)).unwrap();
    assert_eq!(d.partner(), Some("p1"));
    assert_eq!(d.findings.sources, vec![Source::ApiKey, Source::Path]);
    assert!(!d.findings.route.contains("secret"), "{}", d.findings.route);
    let delegated = "/idauthentication/v1/kyc-auth/delegated/LK-secret-0001/p1/AK-secret-0001";
    assert_eq!(
        run(&cfg, &mut st, &Req::new(delegated)).unwrap().partner(),
        Some("p1")
    );
    // Segments after the triple, a triple not right after the operation, or no operation:
    // not IDA's reading, so no credential from the path.
    for path in [
        format!("{MOSIP}/extra"),
        format!("{MOSIP}/"),
        MOSIP.replacen("/auth/", "/auth/x/", 1),
        "/idauthentication/v1/kyc-auth/LK-secret-0001/p1/AK-secret-0001".to_string(),
        "/v4/LK-secret-0001/p1/AK-secret-0001".to_string(),
    ] {
        assert_eq!(
            err(&cfg, &Req::new(&path)),
            TokenError::IdentityMissing("path"),
            "{path}"
        );
    }
}

#[test]
fn a_cached_token_stops_when_its_keys_pass_the_stale_bound() {
    // The token cache answers for a token only while the key set that verified it is usable:
    // past the stale bound it is `keys_unavailable`, as a token not yet cached would be.
    let mut p = provider(true);
    p["jwks_cache"] = json!({"stale_s": 10, "min_refresh_interval_s": 5});
    let cfg =
        config(json!({"providers": [p], "credentials": {"token": "required", "api_key": "off"}}));
    let mut st = TokenState::new(&cfg);
    assert_eq!(st.due_fetches(&cfg, NOW).len(), 1);
    let keys = testkeys::jwks(&[testkeys::jwk(&key(), "k1", None)]);
    st.on_jwks_response(0, Some(200), keys.as_bytes(), Some("max-age=10"), NOW)
        .unwrap()
        .unwrap();
    let mut r = Req::new("/v4/x").bearer(&token(claims("p1")));
    assert!(!run(&cfg, &mut st, &r).unwrap().cache_hit);
    assert!(run(&cfg, &mut st, &r).unwrap().cache_hit);
    // The auth service is gone and the keys age past fresh + stale; the token has not expired.
    r.now = NOW + 250_000;
    assert_eq!(err(&cfg, &r), TokenError::KeysUnavailable);
    assert_eq!(
        run(&cfg, &mut st, &r).unwrap_err().error,
        TokenError::KeysUnavailable
    );
}
