//! `jws_verify` and `jws_sign` configuration: every mistake fails at load with a message that
//! names the partner and the field; nothing is left to fail at request time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use signet_core::config::sign::SignConfig;
use signet_core::config::VerifyConfig;

fn verify_err(cfg: Value) -> String {
    VerifyConfig::from_json(&cfg.to_string())
        .unwrap_err()
        .to_string()
}

fn sign_err(cfg: Value) -> String {
    SignConfig::from_json(&cfg.to_string(), &|_| None)
        .unwrap_err()
        .to_string()
}

#[test]
fn verify_configuration_errors_name_the_field() {
    let pem = public_pem(&ec_key(1));
    let rsa1024 = {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(9);
        let k =
            signet_core::keys::PrivateKey::Rsa(rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap());
        public_pem(&k)
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"profile": "nope"}), "profile: unknown variant `nope`"),
        (json!({"profile": {"nope": {}}}), "profile: unknown variant `nope`"),
        (json!({"profile": {}}), "profile: names no profile"),
        (
            json!({"profile": {"mojaloop": {}, "ocen": {}}}),
            "profile: names more than one profile",
        ),
        (json!({"profile": "mojaloop", "bogus": 1}), "bogus"),
        // Another profile's setting cannot be written: the section is the profile's own type.
        (
            json!({"profile": {"ocen": {"payload_mode": "raw"}}}),
            "profile.ocen.payload_mode: unknown field `payload_mode`",
        ),
        (
            json!({"profile": "ocen", "payload_mode": "raw"}),
            "unknown field `payload_mode`",
        ),
        (
            json!({"profile": {"mojaloop": {"source_binding": "nobody"}}}),
            "profile.mojaloop.source_binding: unknown variant `nobody`",
        ),
        (
            json!({"profile": {"mojaloop": {"date_window_s": -1}}}),
            "profile.mojaloop.date_window_s: must not be negative",
        ),
        (
            json!({"profile": {"mojaloop": {"date_window": "5 min"}}}),
            "profile.mojaloop.date_window: \"5 min\" is not a duration",
        ),
        (
            json!({"profile": {"mojaloop": {"date_window": "1.5s"}}}),
            "profile.mojaloop.date_window: must be a whole number of seconds",
        ),
        (
            json!({"profile": {"mojaloop": {"date_window": "5m", "date_window_s": 300}}}),
            "profile.mojaloop.date_window: give date_window or date_window_s, not both",
        ),
        (
            json!({"profile": "generic", "clock_skew": "30s", "clock_skew_s": 30}),
            "clock_skew: give clock_skew or clock_skew_s, not both",
        ),
        (
            json!({"profile": "generic", "clock_skew": 30}),
            "clock_skew: invalid type: integer `30`, expected a string",
        ),
        (
            json!({"profile": "generic", "algorithms": ["HS256"]}),
            "algorithms: \"HS256\" is not supported",
        ),
        (
            json!({"profile": "ocen", "algorithms": ["ES256"]}),
            "not allowed for profile ocen",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "dfsp-a", "keys": [{}]}]}),
            "partners[0].keys[0]: partner \"dfsp-a\": exactly one of",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "dfsp-a", "keys": [{"public_key_pem": "garbage"}]}]}),
            "partners[0].keys[0].public_key_pem: partner \"dfsp-a\"",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "dfsp-a", "keys": [{"public_key_pem": rsa1024}]}]}),
            "partners[0].keys[0]: partner \"dfsp-a\", key (no kid): ",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "dfsp-a", "keys": [{"public_key_pem": pem, "algorithms": ["RS256"]}]}]}),
            "RS256 does not fit",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "dfsp-a", "status": "sleepy"}]}),
            "partners[0].status",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "a"}, {"id": "a"}]}),
            "partners[1].id: duplicate partner id",
        ),
        (
            json!({"profile": "mojaloop", "partners": [{"id": "a", "keys": [{"public_jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}}]}]}),
            "public_jwk",
        ),
        (json!({"profile": "mosip"}), "domain_ca"),
        (
            json!({"profile": "mosip", "domain_ca": {"AUTH": ["not a cert"]}}),
            "domain_ca.AUTH[0]",
        ),
        (
            json!({"profile": "mojaloop", "replay_cache": true}),
            "replay_cache: needs the mojaloop freshness window on (profile.mojaloop.date_window)",
        ),
        (
            json!({"profile": "mojaloop", "direction": "response"}),
            "never signed",
        ),
        (
            json!({"profile": "ocen", "direction": "response"}),
            "profile.ocen.peer_participant_id: required",
        ),
        (
            json!({"profile": "generic", "route_policy": [{"policy": "skip"}]}),
            "route_policy[0]",
        ),
        (
            json!({"profile": "generic", "max_body_bytes": 0}),
            "max_body_bytes",
        ),
        (
            json!({"profile": "generic", "body_timeout_ms": 99}),
            "body_timeout: must be between 100ms and 600s",
        ),
        (
            json!({"profile": "generic", "body_timeout": "601s"}),
            "body_timeout: must be between 100ms and 600s",
        ),
        (
            json!({"profile": "generic", "body_timeout": "-1s"}),
            "body_timeout: \"-1s\" is not a duration",
        ),
        (
            json!({"profile": {"mosip": {"error_status": "500"}}, "domain_ca": {}}),
            "profile.mosip.error_status: unknown variant `500`",
        ),
        (
            json!({"profile": {"mojaloop": {"registry": {"url": "http://r/service", "cluster": "r"}}}}),
            "profile.mojaloop.registry: unknown field `registry`",
        ),
        (
            json!({"profile": {"ocen": {"registry": {"url": "http://r/api", "cluster": "r"}}}}),
            "profile.ocen.registry.url: \"http://r/api\" must be the registry base ending in /service",
        ),
        (
            json!({"profile": {"ocen": {"registry": {"url": "http://r/service"}}}}),
            "profile.ocen.registry: missing field `cluster`",
        ),
        (
            json!({"profile": {"ocen": {"registry": {"url": "http://r/service", "cluster": "r", "ttl_s": 0}}}}),
            "profile.ocen.registry.ttl: must be between 1s and 24h",
        ),
        (
            json!({"profile": {"ocen": {"registry": {"url": "http://r/service", "cluster": "r", "timeout": "61s"}}}}),
            "profile.ocen.registry.timeout: must be between 1ms and 60s",
        ),
        (
            json!({"profile": {"ocen": {"registry": {"url": "http://r/service", "cluster": "r", "token_env": "BAD-NAME"}}}}),
            "profile.ocen.registry.token_env",
        ),
        (
            json!({"profile": {"ocen": {"peer_participant_id": "x",
                   "registry": {"url": "http://r/service", "cluster": "r"}}}, "direction": "response"}),
            "profile.ocen.registry: only with direction request",
        ),
    ];
    let mut wrong = Vec::new();
    for (cfg, needle) in cases {
        let e = verify_err(cfg.clone());
        if !e.contains(needle) {
            wrong.push(format!("{cfg}: {e:?} should mention {needle:?}"));
        }
        assert!(!e.contains("BEGIN"), "no key material in errors: {e}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn sign_configuration_errors_name_the_field() {
    let rsa = private_pem(&rsa_key(1));
    let ec = private_pem(&ec_key(1));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"profile": "mojaloop", "signing_key": rsa}),
            "profile.mojaloop.source_id: required",
        ),
        (
            json!({"profile": {"mojaloop": {"source_id": "a"}}}),
            "exactly one of signing_key, signing_key_env",
        ),
        (
            json!({"profile": {"mojaloop": {"source_id": "a"}}, "signing_key_env": "NOPE"}),
            "NOPE is not set",
        ),
        (
            json!({"profile": {"mojaloop": {"source_id": "a"}}, "signing_key": "junk"}),
            "signing key",
        ),
        (
            json!({"profile": {"mojaloop": {"source_id": "a"}}, "signing_key": ec, "sign_alg": "RS256"}),
            "does not fit the signing key",
        ),
        (
            json!({"profile": "ocen", "signing_key": ec}),
            "not used by profile ocen",
        ),
        (
            json!({"profile": {"mojaloop": {"source_id": "a"}}, "direction": "response", "signing_key": rsa}),
            "never signed",
        ),
        (
            json!({"profile": "mosip", "signing_key": rsa}),
            "profile.mosip.signing_certificate: required",
        ),
        (
            json!({"profile": "generic", "direction": "response", "signing_key": ec}),
            "profile.generic.sign_responses: must be on",
        ),
        (
            json!({"profile": {"spar": {"sign_unencoded": true}}, "signing_key": ec}),
            "profile.spar.sign_unencoded: unknown field `sign_unencoded`",
        ),
        (
            json!({"profile": "spar", "signing_key": ec, "body_timeout_ms": 0}),
            "body_timeout: must be between 100ms and 600s",
        ),
        (
            json!({"profile": "spar", "signing_key": ec, "body_timeout": "30s", "body_timeout_ms": 30000}),
            "body_timeout: give body_timeout or body_timeout_ms, not both",
        ),
    ];
    let mut wrong = Vec::new();
    for (cfg, needle) in cases {
        let e = sign_err(cfg.clone());
        if !e.contains(needle) {
            wrong.push(format!("{needle}: {e:?}"));
        }
        assert!(!e.contains("PRIVATE KEY"), "no key material in errors: {e}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_signing_key_comes_from_the_environment() {
    let rsa = private_pem(&rsa_key(1));
    let env = |name: &str| (name == "SIGNET_KEY").then(|| rsa.clone());
    let cfg = json!({"profile": {"mojaloop": {"source_id": "a"}}, "signing_key_env": "SIGNET_KEY"});
    assert!(SignConfig::from_json(&cfg.to_string(), &env).is_ok());
}

#[test]
fn ocen_registry_settings_and_defaults() {
    use signet_core::config::Verifier;
    let cfg = VerifyConfig::from_json(
        &json!({"profile": {"ocen": {"registry": {"url": "https://registry.ocen.test/ocen/service/",
                "cluster": "registry", "token_env": "OCEN_TOKEN"}}}})
        .to_string(),
    )
    .unwrap();
    let Verifier::Ocen(o) = &cfg.profile else {
        panic!("ocen")
    };
    let r = o.registry.as_ref().unwrap();
    assert_eq!(r.authority, "registry.ocen.test");
    assert_eq!(r.base_path, "/ocen/service");
    assert_eq!((r.ttl_s, r.stale_s, r.timeout_ms), (300, 3600, 5000));
    assert_eq!(r.token_env.as_deref(), Some("OCEN_TOKEN"));
    assert_eq!(r.path_for("LA-1"), "/ocen/service/participant-roles/LA-1");
}

/// Durations as Envoy writes them, and their integer aliases, resolve to the same settings.
#[test]
fn durations_as_envoy_writes_them() {
    use signet_core::config::Verifier;
    let cfg = |v: Value| VerifyConfig::from_json(&v.to_string()).unwrap();
    for (new, old) in [
        (
            json!({"profile": {"mojaloop": {"date_window": "5m"}}, "clock_skew": "1m", "body_timeout": "2.5s"}),
            json!({"profile": {"mojaloop": {"date_window_s": 300}}, "clock_skew_s": 60, "body_timeout_ms": 2500}),
        ),
        (
            json!({"profile": {"mojaloop": {"date_window": "0.1h"}}, "clock_skew": "60000ms", "body_timeout": "2500ms"}),
            json!({"profile": {"mojaloop": {"date_window_s": 360}}, "clock_skew_s": 60, "body_timeout_ms": 2500}),
        ),
    ] {
        let (a, b) = (cfg(new), cfg(old));
        assert_eq!(a.common.clock_skew_s, b.common.clock_skew_s);
        assert_eq!(a.common.body_timeout_ms, b.common.body_timeout_ms);
        let (Verifier::Mojaloop(x), Verifier::Mojaloop(y)) = (&a.profile, &b.profile) else {
            panic!("mojaloop")
        };
        assert_eq!(x.date_window_s, y.date_window_s);
    }
    let ocen = cfg(
        json!({"profile": {"ocen": {"timestamp_window": "90s", "registry": {
        "url": "http://r/service", "cluster": "r", "ttl": "10m", "stale": "2h", "timeout": "1.5s"}}}}),
    );
    let Verifier::Ocen(o) = &ocen.profile else {
        panic!("ocen")
    };
    let r = o.registry.as_ref().unwrap();
    assert_eq!(
        (o.timestamp_window_s, r.ttl_s, r.stale_s, r.timeout_ms),
        (90, 600, 7200, 1500)
    );
}

/// The conformance loader files a flat vector setting under the profile's section unless it is
/// one of `TOP_LEVEL`: the list must name exactly the members `RawVerifyConfig` accepts.
#[test]
fn top_level_names_every_shared_member() {
    let e = verify_err(json!({"profile": "generic", "zzz": 1}));
    let expected = e.split("expected one of ").nth(1).unwrap();
    let mut accepted: Vec<&str> = expected.split(", ").map(|n| n.trim_matches('`')).collect();
    let mut listed = signet_core::config::TOP_LEVEL.to_vec();
    accepted.sort_unstable();
    listed.sort_unstable();
    assert_eq!(accepted, listed);
}
