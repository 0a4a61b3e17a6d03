//! docs/data-path.md rules 11 and 12 through each profile's whole pipeline: a path that could be
//! read two ways is refused before any route policy reads it (`path_not_canonical`), methods
//! match exactly (a case variant is never skipped), and a route the policy lets through
//! unverified still binds the platform's identity to the authenticated peer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{json, Value};
use signet_core::config::VerifyConfig;
use signet_core::conformance::Case;
use signet_core::message::{Context, Message};
use signet_core::reason::Reason;
use signet_core::verify::Outcome;

const TRANSFER: &[u8] = br#"{"transferId":"b51ec534"}"#;

/// `skip /health` configured, as an operator would for a health check.
fn health_skip() -> Value {
    json!([{"path_prefix": "/health", "policy": "skip"}])
}

/// The mojaloop verifier with `section` as its profile settings.
fn mojaloop(section: Value) -> VerifyConfig {
    verifier(json!({
        "profile": {"mojaloop": section},
        "partners": [partner("dfspa", &rsa_key(1)), partner("dfspb", &ec_key(2)),
                     partner("hub", &ec_key(3))],
        "route_policy": health_skip(),
    }))
}

/// The shared MOSIP vector's configuration (its CA, partner, MISP) plus `settings`.
fn mosip(settings: Value) -> VerifyConfig {
    let text = std::fs::read_to_string(spec_vectors_dir().join("mosip-2.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["settings"] = settings;
    let case = Case::from_json(&v.to_string()).unwrap();
    verifier(case.config_json().unwrap())
}

const MOSIP_PARTNER: &str = "signet-test-auth-partner";

fn mosip_path(partner: &str) -> String {
    format!("/idauthentication/v1/auth/mispLK0001/{partner}/apiKey0001")
}

fn ocen() -> VerifyConfig {
    verifier(json!({"profile": "ocen", "route_policy": health_skip(),
        "partners": [{"id": "3051", "keys": [{"public_key_pem": public_pem(&rsa_key(10))}]}]}))
}

fn spar() -> VerifyConfig {
    verifier(json!({"profile": "spar", "route_policy": health_skip(),
        "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": public_pem(&rsa_key(20))}]}]}))
}

fn generic() -> VerifyConfig {
    verifier(json!({"profile": "generic", "route_policy": health_skip(),
        "partners": [partner("p", &ec_key(30))]}))
}

fn outcome(cfg: &VerifyConfig, msg: &Message, c: &Context) -> Result<Outcome, Reason> {
    run(cfg, msg, c).map_err(|r| r.reason())
}

/// The forms of docs/data-path.md rule 11 a review used against the defaults and `skip` rules.
const TWO_READINGS: [&str; 14] = [
    "/health/../transfers",
    "/health/%2e%2e/transfers",
    "/health/%2E%2E/transfers",
    "/health/./x",
    "/health/..",
    "//health",
    "/health;x",
    "/health\\..\\x",
    "/health%2Fx",
    "/health%5c..",
    "/%68ealth",
    "/health%",
    "/health#x",
    "/health/\u{e9}",
];

#[test]
fn every_profile_refuses_a_path_with_two_readings_before_its_route_policy() {
    let configs = [
        ("mojaloop", mojaloop(json!({}))),
        ("mosip", mosip(json!({"route_policy": health_skip()}))),
        ("ocen", ocen()),
        ("spar", spar()),
        ("generic", generic()),
    ];
    for (name, cfg) in &configs {
        // The rule does skip its own path, and a query is not the path.
        for ok in ["/health", "/health/live?x=/../y&z=%2e%2e;//"] {
            let msg = request("POST", ok, &[("fspiop-source", "dfspa")], TRANSFER);
            assert_eq!(
                outcome(cfg, &msg, &ctx(Some("dfspa"))),
                Ok(Outcome::Skipped),
                "{name} {ok}"
            );
        }
        for bad in TWO_READINGS {
            let msg = request("POST", bad, &[("fspiop-source", "dfspa")], TRANSFER);
            assert_eq!(
                outcome(cfg, &msg, &ctx(Some("dfspa"))),
                Err(Reason::PathNotCanonical),
                "{name} {bad:?}"
            );
        }
    }
}

#[test]
fn mojaloop_parties_if_present_cannot_reach_transfers() {
    let cfg = mojaloop(json!({}));
    let a = ctx(Some("dfspa"));
    let src = [("fspiop-source", "dfspa")];
    // The honest cases: an unsigned PUT /parties passes, an unsigned PUT /transfers does not.
    let parties = request("PUT", "/parties/MSISDN/123", &src, TRANSFER);
    assert_eq!(outcome(&cfg, &parties, &a), Ok(Outcome::Unsigned));
    let escaped_id = request("PUT", "/parties/EMAIL/alice%40example.org", &src, TRANSFER);
    assert_eq!(outcome(&cfg, &escaped_id, &a), Ok(Outcome::Unsigned));
    let transfers = request("PUT", "/transfers/b51ec534", &src, TRANSFER);
    assert_eq!(outcome(&cfg, &transfers, &a), Err(Reason::SigMissing));
    for attack in [
        "/parties/../transfers/b51ec534",
        "/parties/%2e%2e/transfers/b51ec534",
        "/parties/%2E%2e/transfers/b51ec534",
        "/parties/MSISDN/..%2ftransfers",
        "/parties;/../transfers/b51ec534",
    ] {
        let msg = request("PUT", attack, &src, TRANSFER);
        assert_eq!(
            outcome(&cfg, &msg, &a),
            Err(Reason::PathNotCanonical),
            "{attack}"
        );
    }
    // `/parties` is a segment: `/partiesX` is not a party resource.
    let lookalike = request("PUT", "/partiesX/1", &src, TRANSFER);
    assert_eq!(outcome(&cfg, &lookalike, &a), Err(Reason::SigMissing));
    // Methods match exactly: a case variant is signed like any other write.
    for m in ["put", "Put", "get", "delete", "FOO"] {
        let msg = request(m, "/parties/MSISDN/123", &src, TRANSFER);
        assert_eq!(outcome(&cfg, &msg, &a), Err(Reason::SigMissing), "{m}");
    }
    // uri_strip_prefix does not open a second reading either.
    let stripped = mojaloop(json!({"uri_strip_prefix": "/fspiop"}));
    let msg = request("PUT", "/fspiop/parties/../transfers/1", &src, TRANSFER);
    assert_eq!(outcome(&stripped, &msg, &a), Err(Reason::PathNotCanonical));
}

#[test]
fn mojaloop_source_is_bound_to_the_peer_whatever_the_policy() {
    let cfg = mojaloop(json!({}));
    let a = ctx(Some("dfspa"));
    // Peer A speaking as B on a skipped route, and on an unsigned if-present one.
    let delete = request(
        "DELETE",
        "/participants/MSISDN/123",
        &[("fspiop-source", "dfspb")],
        b"",
    );
    assert_eq!(outcome(&cfg, &delete, &a), Err(Reason::PeerMismatch));
    let get = request(
        "GET",
        "/parties/MSISDN/123",
        &[("fspiop-source", "dfspb")],
        b"",
    );
    assert_eq!(outcome(&cfg, &get, &a), Err(Reason::PeerMismatch));
    let put = request(
        "PUT",
        "/parties/MSISDN/123",
        &[("fspiop-source", "dfspb")],
        TRANSFER,
    );
    assert_eq!(outcome(&cfg, &put, &a), Err(Reason::PeerMismatch));
    // A configured skip rule does not skip the binding either.
    let health = request("GET", "/health", &[("fspiop-source", "dfspb")], b"");
    assert_eq!(outcome(&cfg, &health, &a), Err(Reason::PeerMismatch));
    // Its own name, no name, or no authenticated peer to bind to: as before.
    let own = request(
        "DELETE",
        "/participants/MSISDN/123",
        &[("fspiop-source", "dfspa")],
        b"",
    );
    assert_eq!(outcome(&cfg, &own, &a), Ok(Outcome::Skipped));
    let none = request("DELETE", "/participants/MSISDN/123", &[], b"");
    assert_eq!(outcome(&cfg, &none, &a), Ok(Outcome::Skipped));
    assert_eq!(outcome(&cfg, &delete, &ctx(None)), Ok(Outcome::Skipped));
    // A duplicated FSPIOP-Source is refused even where nothing is verified.
    let twice = request(
        "GET",
        "/parties/MSISDN/123",
        &[("fspiop-source", "dfspa"), ("fspiop-source", "dfspb")],
        b"",
    );
    assert_eq!(outcome(&cfg, &twice, &a), Err(Reason::BindingMismatch));
    let twice_same = request(
        "GET",
        "/parties/MSISDN/123",
        &[("fspiop-source", "dfspa"), ("fspiop-source", "dfspa")],
        b"",
    );
    assert_eq!(outcome(&cfg, &twice_same, &a), Err(Reason::BindingMismatch));
    // The hub, a trusted forwarder, relays others' requests as today.
    let at_dfsp = mojaloop(json!({"trusted_forwarders": ["hub"]}));
    let hub = ctx(Some("hub"));
    assert_eq!(outcome(&at_dfsp, &delete, &hub), Ok(Outcome::Skipped));
    assert_eq!(outcome(&at_dfsp, &put, &hub), Ok(Outcome::Unsigned));
    // ...but a partner that is not one still may not.
    assert_eq!(outcome(&at_dfsp, &delete, &a), Err(Reason::PeerMismatch));
    // source_binding none (test setups) binds nothing, as before.
    let unbound = mojaloop(json!({"source_binding": "none"}));
    assert_eq!(outcome(&unbound, &delete, &a), Ok(Outcome::Skipped));
}

#[test]
fn mosip_skip_cannot_be_reached_by_another_reading_or_method() {
    let cfg = mosip(json!({}));
    let c = ctx(Some(MOSIP_PARTNER));
    let body = br#"{"id":"mosip.identity.auth"}"#;
    let auth = [("authorization", "Bearer x")];
    // The honest case: an unsigned POST to the partner API needs its signature.
    let honest = request("POST", &mosip_path(MOSIP_PARTNER), &auth, body);
    assert_eq!(outcome(&cfg, &honest, &c), Err(Reason::SigMissing));
    let internal = request("POST", "/idauthentication/v1/internal/auth", &auth, body);
    assert_eq!(outcome(&cfg, &internal, &c), Ok(Outcome::Skipped));
    for attack in [
        format!("/{}", mosip_path(MOSIP_PARTNER)),
        mosip_path(MOSIP_PARTNER).replacen("/idauth", "/%69dauth", 1),
        mosip_path(MOSIP_PARTNER).replacen("/idauthentication", "/idauthentication;x", 1),
        mosip_path(MOSIP_PARTNER).replacen("/v1/auth", "/v1/internal/../auth", 1),
        mosip_path(MOSIP_PARTNER).replacen("/v1/", "/v1/%2e/", 1),
    ] {
        let msg = request("POST", &attack, &auth, body);
        assert_eq!(
            outcome(&cfg, &msg, &c),
            Err(Reason::PathNotCanonical),
            "{attack}"
        );
    }
    // A lower-case or unknown method is not a safe one: the signature is required.
    for m in ["post", "Post", "FOO", "PUT", "DELETE"] {
        let msg = request(m, &mosip_path(MOSIP_PARTNER), &auth, body);
        assert_eq!(outcome(&cfg, &msg, &c), Err(Reason::SigMissing), "{m}");
    }
}

#[test]
fn mosip_path_partner_is_the_peer_even_when_skipped() {
    let cfg = mosip(json!({}));
    let other = request("GET", &mosip_path("someone-else"), &[], b"");
    let own = request("GET", &mosip_path(MOSIP_PARTNER), &[], b"");
    assert_eq!(
        outcome(&cfg, &other, &ctx(Some(MOSIP_PARTNER))),
        Err(Reason::PeerMismatch)
    );
    assert_eq!(
        outcome(&cfg, &own, &ctx(Some(MOSIP_PARTNER))),
        Ok(Outcome::Skipped)
    );
    // No authenticated peer, or no IDA triple in the path: nothing to bind.
    assert_eq!(outcome(&cfg, &other, &ctx(None)), Ok(Outcome::Skipped));
    let internal = request("GET", "/idauthentication/v1/internal/a/b/c", &[], b"");
    assert_eq!(
        outcome(&cfg, &internal, &ctx(Some(MOSIP_PARTNER))),
        Ok(Outcome::Skipped)
    );
    // A configured skip rule over the partner API binds too.
    let skipping =
        mosip(json!({"route_policy": [{"path_prefix": "/idauthentication/", "policy": "skip"}]}));
    let post = request("POST", &mosip_path("someone-else"), &[], b"{}");
    assert_eq!(
        outcome(&skipping, &post, &ctx(Some(MOSIP_PARTNER))),
        Err(Reason::PeerMismatch)
    );
}

#[test]
fn spar_and_generic_never_skip_a_method_variant() {
    let body = b"{\"x\":1}";
    for (name, cfg, skipped) in [
        ("spar", spar(), &["GET", "HEAD", "OPTIONS"][..]),
        (
            "generic",
            generic(),
            &["GET", "HEAD", "OPTIONS", "DELETE"][..],
        ),
    ] {
        for m in skipped {
            let msg = request(m, "/api", &[], body);
            assert_eq!(
                outcome(&cfg, &msg, &ctx(Some("p"))),
                Ok(Outcome::Skipped),
                "{name} {m}"
            );
        }
        for m in ["post", "Post", "get", "FOO"] {
            let msg = request(m, "/api", &[], body);
            assert_eq!(
                outcome(&cfg, &msg, &ctx(Some("p"))),
                Err(Reason::SigMissing),
                "{name} {m}"
            );
        }
    }
}

/// `shared/spec/vectors` of the nearest ancestor that has one.
#[test]
fn a_method_override_header_is_refused_on_every_route() {
    // GET is skipped by mojaloop's defaults and by the health rule: an upstream honouring the
    // override would run an unsigned PUT.
    let cfg = mojaloop(json!({}));
    for (path, header) in [
        ("/transfers/b51ec534", "x-http-method-override"),
        ("/health", "X-HTTP-Method"),
        ("/parties/MSISDN/1", "x-method-override"),
    ] {
        let plain = request("GET", path, &[("fspiop-source", "dfspa")], b"");
        assert_eq!(
            outcome(&cfg, &plain, &ctx(Some("dfspa"))),
            Ok(Outcome::Skipped)
        );
        let msg = request(
            "GET",
            path,
            &[("fspiop-source", "dfspa"), (header, "PUT")],
            b"",
        );
        assert_eq!(
            outcome(&cfg, &msg, &ctx(Some("dfspa"))),
            Err(Reason::BindingMismatch),
            "{path} {header}"
        );
    }
}

fn spec_vectors_dir() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/spec/vectors"))
        .find(|p| p.is_dir())
        .expect("shared/spec/vectors next to the checkout")
}
