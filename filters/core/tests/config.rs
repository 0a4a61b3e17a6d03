//! `jws_verify` and `jws_sign` configuration: every mistake fails at load with a message that
//! names the partner and the field; nothing is left to fail at request time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};
use signet_core::config::VerifyConfig;
use signet_core::sign::SignConfig;

fn verify_err(cfg: Value) -> String {
    VerifyConfig::from_json(&cfg.to_string()).unwrap_err()
}

fn sign_err(cfg: Value) -> String {
    SignConfig::from_json(&cfg.to_string(), &|_| None).unwrap_err()
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
        (json!({"profile": "nope"}), "profile"),
        (json!({"profile": "mojaloop", "bogus": 1}), "bogus"),
        (
            json!({"profile": "ocen", "payload_mode": "raw"}),
            "payload_mode: not a setting of profile ocen",
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
            "replay_cache: needs the mojaloop freshness window",
        ),
        (
            json!({"profile": "mojaloop", "direction": "response"}),
            "never signed",
        ),
        (
            json!({"profile": "ocen", "direction": "response"}),
            "peer_participant_id",
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
            "body_timeout_ms: must be between 100 and 600000",
        ),
        (
            json!({"profile": "generic", "body_timeout_ms": 600_001}),
            "body_timeout_ms",
        ),
        (
            json!({"profile": "mosip", "error_status": "500", "domain_ca": {}}),
            "error_status",
        ),
        (
            json!({"profile": "mojaloop", "registry_url": "http://r/service"}),
            "registry_url: not a setting of profile mojaloop",
        ),
        (
            json!({"profile": "ocen", "registry_url": "http://r/api", "registry_cluster": "r"}),
            "registry_url: \"http://r/api\" must be the registry base ending in /service",
        ),
        (
            json!({"profile": "ocen", "registry_url": "http://r/service"}),
            "registry_cluster: required",
        ),
        (
            json!({"profile": "ocen", "registry_stale_s": 10}),
            "registry_stale_s: needs registry_url",
        ),
        (
            json!({"profile": "ocen", "registry_url": "http://r/service", "registry_cluster": "r",
                   "registry_ttl_s": 0}),
            "registry_ttl_s",
        ),
        (
            json!({"profile": "ocen", "registry_url": "http://r/service", "registry_cluster": "r",
                   "registry_token_env": "BAD-NAME"}),
            "registry_token_env",
        ),
        (
            json!({"profile": "ocen", "direction": "response", "peer_participant_id": "x",
                   "registry_url": "http://r/service", "registry_cluster": "r"}),
            "registry_url: only with direction request",
        ),
    ];
    for (cfg, needle) in cases {
        let e = verify_err(cfg.clone());
        assert!(e.contains(needle), "{cfg}: {e:?} should mention {needle:?}");
        assert!(!e.contains("BEGIN"), "no key material in errors: {e}");
    }
}

#[test]
fn sign_configuration_errors_name_the_field() {
    let rsa = private_pem(&rsa_key(1));
    let ec = private_pem(&ec_key(1));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"profile": "mojaloop", "signing_key": rsa}),
            "source_id",
        ),
        (
            json!({"profile": "mojaloop", "source_id": "a"}),
            "exactly one of signing_key, signing_key_env",
        ),
        (
            json!({"profile": "mojaloop", "source_id": "a", "signing_key_env": "NOPE"}),
            "NOPE is not set",
        ),
        (
            json!({"profile": "mojaloop", "source_id": "a", "signing_key": "junk"}),
            "signing key",
        ),
        (
            json!({"profile": "mojaloop", "source_id": "a", "signing_key": ec, "sign_alg": "RS256"}),
            "does not fit the signing key",
        ),
        (
            json!({"profile": "ocen", "signing_key": ec}),
            "not used by profile ocen",
        ),
        (
            json!({"profile": "mojaloop", "direction": "response", "source_id": "a", "signing_key": rsa}),
            "never signed",
        ),
        (
            json!({"profile": "mosip", "signing_key": rsa}),
            "signing_certificate: required",
        ),
        (
            json!({"profile": "generic", "direction": "response", "signing_key": ec}),
            "sign_responses",
        ),
        (
            json!({"profile": "spar", "signing_key": ec, "sign_unencoded": true}),
            "sign_unencoded: not a setting of profile spar",
        ),
        (
            json!({"profile": "spar", "signing_key": ec, "body_timeout_ms": 0}),
            "body_timeout_ms: must be between 100 and 600000",
        ),
    ];
    for (cfg, needle) in cases {
        let e = sign_err(cfg.clone());
        assert!(e.contains(needle), "{needle}: {e:?}");
        assert!(!e.contains("PRIVATE KEY"), "no key material in errors: {e}");
    }
}

#[test]
fn the_signing_key_comes_from_the_environment() {
    let rsa = private_pem(&rsa_key(1));
    let env = |name: &str| (name == "SIGNET_KEY").then(|| rsa.clone());
    let cfg = json!({"profile": "mojaloop", "source_id": "a", "signing_key_env": "SIGNET_KEY"});
    assert!(SignConfig::from_json(&cfg.to_string(), &env).is_ok());
}

#[test]
fn ocen_registry_settings_and_defaults() {
    use signet_core::config::Profile;
    let cfg = VerifyConfig::from_json(
        &json!({"profile": "ocen", "registry_url": "https://registry.ocen.test/ocen/service/",
                "registry_cluster": "registry", "registry_token_env": "OCEN_TOKEN"})
        .to_string(),
    )
    .unwrap();
    let Profile::Ocen(o) = &cfg.profile else {
        panic!("ocen")
    };
    let r = o.registry.as_ref().unwrap();
    assert_eq!(r.authority, "registry.ocen.test");
    assert_eq!(r.base_path, "/ocen/service");
    assert_eq!((r.ttl_s, r.stale_s, r.timeout_ms), (300, 3600, 5000));
    assert_eq!(r.token_env.as_deref(), Some("OCEN_TOKEN"));
    assert_eq!(r.path_for("LA-1"), "/ocen/service/participant-roles/LA-1");
}
