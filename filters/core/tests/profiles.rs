//! `ocen`, `spar`, `generic` and `mosip` through the whole pipeline: signer output verifies, and
//! each rejection path gives its exact reason code (docs/reason-codes.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::json;
use signet_core::conformance::Case;
use signet_core::crypto::RustCrypto;
use signet_core::message::Context;
use signet_core::reason::Reason;
use signet_core::verify::Outcome;

fn ocen_ctx(participant: &str) -> Context {
    let mut c = ctx(None);
    c.token_claims = Some(serde_json::from_value(json!({"participantId": participant})).unwrap());
    c
}

const LOAN: &[u8] = br#"{"metadata":{"originatorParticipantId":"3051","timestamp":"2026-06-02T10:00:00.000Z"},"loanApplications":[]}"#;

#[test]
fn ocen_signer_output_verifies_with_the_token_participant_key() {
    let k = rsa_key(10);
    let cfg = verifier(
        json!({"profile": "ocen", "partners": [{"id": "3051", "registry_status": "APPROVED", "keys": [{"public_key_pem": public_pem(&k)}]},
                                                         {"id": "3052", "registry_status": "PENDING", "keys": [{"public_key_pem": public_pem(&rsa_key(11))}]}]}),
    );
    let s = signer(json!({"profile": "ocen", "kid": "lender-key-1"}), &k);
    let msg = signed(
        &s,
        request(
            "POST",
            "/v4.0.0alpha/loanApplications/createLoanRequest",
            &[],
            LOAN,
        ),
    );
    let value = msg.header("x-jws-signature").unwrap();
    let h = value.split('.').next().unwrap();
    assert_eq!(
        String::from_utf8(signet_core::b64::decode_url(h).unwrap()).unwrap(),
        r#"{"alg":"RS256","kid":"lender-key-1","b64":false}"#
    );
    assert!(value.contains(".."));
    accepts(&cfg, &msg, &ocen_ctx("3051"), "3051");
    // The token names another participant: its key does not verify.
    rejects(&cfg, &msg, &ocen_ctx("3052"), Reason::KeyUnknown);
    rejects(&cfg, &msg, &ctx(None), Reason::TokenMissing);
    let mut no_claim = ctx(None);
    no_claim.token_claims = Some(serde_json::Map::new());
    rejects(&cfg, &msg, &no_claim, Reason::IdentityMissing);
    let mut tampered = msg.clone();
    tampered.body[3] ^= 1;
    rejects(&cfg, &tampered, &ocen_ctx("3051"), Reason::SigInvalid);
    // Non-empty middle, conflicting headers, unknown crit.
    let (hh, ss) = value.split_once("..").unwrap();
    rejects(
        &cfg,
        &with_header(&msg, "x-jws-signature", &format!("{hh}.eA.{ss}")),
        &ocen_ctx("3051"),
        Reason::SigMalformed,
    );
    rejects(
        &cfg,
        &with_header(&msg, "signature", &format!("{hh}..AAAA")),
        &ocen_ctx("3051"),
        Reason::SigMalformed,
    );
    let crit = b64h(r#"{"alg":"RS256","b64":false,"crit":["b64","exp"],"exp":1}"#);
    rejects(
        &cfg,
        &with_header(&msg, "x-jws-signature", &format!("{crit}..{ss}")),
        &ocen_ctx("3051"),
        Reason::CritUnsupported,
    );
    let ps = b64h(r#"{"alg":"PS256","b64":false}"#);
    rejects(
        &cfg,
        &with_header(&msg, "x-jws-signature", &format!("{ps}..{ss}")),
        &ocen_ctx("3051"),
        Reason::AlgNotAllowed,
    );
    // The same signature under Signature (the spec's header name) verifies too.
    let spec_name = {
        let mut m = without_header(&msg, "x-jws-signature");
        m.set_header("signature", value);
        m
    };
    accepts(&cfg, &spec_name, &ocen_ctx("3051"), "3051");
}

#[test]
fn ocen_bodyless_requests_sign_the_path_and_unsigned_ones_pass_if_present() {
    let k = rsa_key(10);
    let cfg = verifier(
        json!({"profile": "ocen", "partners": [{"id": "3051", "keys": [{"public_key_pem": public_pem(&k)}]}]}),
    );
    let s = signer(json!({"profile": "ocen"}), &k);
    let msg = signed(
        &s,
        request("GET", "/v4.0.0alpha/loanApplications/status?id=1", &[], b""),
    );
    accepts(&cfg, &msg, &ocen_ctx("3051"), "3051");
    let mut other_path = msg.clone();
    other_path.path = "/v4.0.0alpha/loanApplications/status?id=2".into();
    rejects(&cfg, &other_path, &ocen_ctx("3051"), Reason::SigInvalid);
    let unsigned = request("GET", "/x", &[], b"");
    assert_eq!(
        run(&cfg, &unsigned, &ocen_ctx("3051")).unwrap(),
        Outcome::Unsigned
    );
    let heartbeat = request("POST", "/common/heartbeat", &[], b"{}");
    assert_eq!(
        run(&cfg, &heartbeat, &ocen_ctx("3051")).unwrap(),
        Outcome::Skipped
    );
    let post = request("POST", "/x", &[], b"{}");
    rejects(&cfg, &post, &ocen_ctx("3051"), Reason::SigMissing);
}

#[test]
fn ocen_originator_binding_is_opt_in() {
    let k = rsa_key(10);
    let cfg = verifier(
        json!({"profile": {"ocen": {"bind_originator": true}}, "partners": [{"id": "3051", "keys": [{"public_key_pem": public_pem(&k)}]}, {"id": "3099", "keys": [{"public_key_pem": public_pem(&k)}]}]}),
    );
    let s = signer(json!({"profile": "ocen"}), &k);
    let msg = signed(&s, request("POST", "/x", &[], LOAN));
    accepts(&cfg, &msg, &ocen_ctx("3051"), "3051");
    rejects(&cfg, &msg, &ocen_ctx("3099"), Reason::BindingMismatch);
}

fn spar_body(sender: &str) -> Vec<u8> {
    format!(r#"{{"request_header":{{"request_id":"r1","sender_app_mnemonic":"{sender}","request_timestamp":"2026-06-02T10:00:00Z"}},"request_body":{{"request_payload":{{"transaction_id":"t1","resolve_request":[{{"id":"token:1","scope":"details"}}]}}}}}}"#).into_bytes()
}

#[test]
fn spar_canonical_json_rules() {
    let k = rsa_key(20);
    let cfg = verifier(
        json!({"profile": "spar", "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": public_pem(&k)}]},
                                                         {"id": "bank-b", "sender_id": "bank-b", "keys": [{"public_key_pem": public_pem(&rsa_key(21))}]}]}),
    );
    let s = signer(json!({"profile": "spar"}), &k);
    let msg = signed(
        &s,
        request("POST", "/mapper/resolve", &[], &spar_body("bank-a")),
    );
    let c = ctx(Some("bank-a"));
    accepts(&cfg, &msg, &c, "bank-a");
    // Same JSON value in other bytes: accepted; a changed value: sig_invalid.
    let mut pretty = msg.clone();
    let v: serde_json::Value = serde_json::from_slice(&msg.body).unwrap();
    pretty.body = serde_json::to_vec_pretty(&v).unwrap();
    accepts(&cfg, &pretty, &c, "bank-a");
    let mut changed = msg.clone();
    changed.body = String::from_utf8(msg.body.clone())
        .unwrap()
        .replace("details", "all")
        .into_bytes();
    rejects(&cfg, &changed, &c, Reason::SigInvalid);
    // Duplicate members are refused, not guessed.
    let mut dup = msg.clone();
    dup.body =
        br#"{"request_header":{"sender_app_mnemonic":"bank-a","sender_app_mnemonic":"bank-b"}}"#
            .to_vec();
    rejects(&cfg, &dup, &c, Reason::BodyMalformed);
    let mut anon = msg.clone();
    anon.body = br#"{"request_body":{}}"#.to_vec();
    rejects(&cfg, &anon, &c, Reason::IdentityMissing);
    // The body names bank-a but the connection is bank-b's.
    rejects(&cfg, &msg, &ctx(Some("bank-b")), Reason::PeerMismatch);
    rejects(&cfg, &msg, &ctx(None), Reason::PeerMismatch);
    let unknown = signed(
        &s,
        request("POST", "/mapper/resolve", &[], &spar_body("bank-z")),
    );
    rejects(&cfg, &unknown, &c, Reason::KeyUnknown);
    // An x5c that is not the registered certificate.
    let sig = msg.header("signature").unwrap();
    let (_, ss) = sig.split_once("..").unwrap();
    let cert = std::fs::read_to_string(spec_vectors_dir().join("mosip-1.json")).unwrap();
    let der = {
        let v: serde_json::Value = serde_json::from_str(&cert).unwrap();
        let pem = v["keys"]["partners"][0]["certificate_pem"]
            .as_str()
            .unwrap()
            .to_string();
        signet_core::x509::Certificate::from_pem(&pem)
            .unwrap()
            .der()
            .to_vec()
    };
    let x5c = b64h(&format!(
        r#"{{"alg":"RS256","x5c":["{}"]}}"#,
        signet_core::b64::encode_std(&der)
    ));
    rejects(
        &cfg,
        &with_header(&msg, "signature", &format!("{x5c}..{ss}")),
        &c,
        Reason::CertNotRegistered,
    );
    let b64false = b64h(r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#);
    rejects(
        &cfg,
        &with_header(&msg, "signature", &format!("{b64false}..{ss}")),
        &c,
        Reason::CritUnsupported,
    );
    rejects(
        &cfg,
        &with_header(&msg, "signature", ss),
        &c,
        Reason::SigMalformed,
    );
}

/// A signature over the canonical double `1.8446744073709552e+19` must not cover the integers
/// 2^64 and 2^64 + 1, which the platform's orjson refuses and which would canonicalize to those
/// same bytes if written as doubles.
#[test]
fn spar_integers_beyond_64_bits_are_refused() {
    let k = rsa_key(20);
    let cfg = verifier(
        json!({"profile": "spar", "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": public_pem(&k)}]}]}),
    );
    let s = signer(json!({"profile": "spar"}), &k);
    let body = |amount: &str| {
        format!(r#"{{"request_header":{{"sender_app_mnemonic":"bank-a"}},"request_body":{{"amount":{amount}}}}}"#)
            .into_bytes()
    };
    let c = ctx(Some("bank-a"));
    let msg = signed(
        &s,
        request(
            "POST",
            "/mapper/resolve",
            &[],
            &body("1.8446744073709552e19"),
        ),
    );
    accepts(&cfg, &msg, &c, "bank-a");
    for amount in [
        "18446744073709551616",
        "18446744073709551617",
        "-9223372036854775809",
    ] {
        let mut m = msg.clone();
        m.body = body(amount);
        rejects(&cfg, &m, &c, Reason::BodyMalformed);
    }
    // The boundary integers are canonical as integers: signed and verified.
    for amount in ["18446744073709551615", "-9223372036854775808"] {
        let m = signed(&s, request("POST", "/mapper/resolve", &[], &body(amount)));
        accepts(&cfg, &m, &c, "bank-a");
    }
    // The signer refuses to sign what has no orjson form.
    let mut big = request(
        "POST",
        "/mapper/resolve",
        &[],
        &body("18446744073709551616"),
    );
    assert!(s.sign(&mut big, NOW_MS, &RustCrypto).is_err());
}

/// spar builds the body's tree before the key is known: at most `max_json_elements` values.
#[test]
fn spar_body_values_are_bounded() {
    let k = rsa_key(20);
    let cfg = |max: usize| {
        verifier(json!({"profile": "spar", "max_json_elements": max,
                   "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": public_pem(&k)}]}]}))
    };
    let s = signer(json!({"profile": "spar"}), &k);
    let msg = signed(
        &s,
        request("POST", "/mapper/resolve", &[], &spar_body("bank-a")),
    );
    // 12 values: the object, request_header and its 3 strings, request_body, request_payload,
    // transaction_id, resolve_request, its one object and that object's 2 strings.
    let c = ctx(Some("bank-a"));
    accepts(&cfg(12), &msg, &c, "bank-a");
    rejects(&cfg(11), &msg, &c, Reason::BodyMalformed);
    // The default (100 000): an array of 100 000 zeros is refused before any key is looked up.
    let mut flood = msg.clone();
    flood.body = format!(
        r#"{{"request_header":{{"sender_app_mnemonic":"bank-a"}},"pad":[{}0]}}"#,
        "0,".repeat(100_000)
    )
    .into_bytes();
    let default = verifier(
        json!({"profile": "spar", "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": public_pem(&k)}]}]}),
    );
    rejects(&default, &flood, &c, Reason::BodyMalformed);
}

#[test]
fn generic_rfc7797_and_kid_rules() {
    let k1 = ec_key(30);
    let k2 = ed_key(31);
    let cfg = verifier(
        json!({"profile": "generic", "partners": [{"id": "p", "keys": [
        {"kid": "a", "public_key_pem": public_pem(&k1)}, {"kid": "b", "public_key_pem": public_pem(&k2)}]}]}),
    );
    let c = ctx(Some("p"));
    for (kid, key, unencoded) in [("a", &k1, false), ("b", &k2, true)] {
        let s = signer(
            json!({"profile": {"generic": {"sign_unencoded": unencoded}}, "kid": kid}),
            key,
        );
        let msg = signed(&s, request("POST", "/api", &[], b"{\"x\":1}"));
        accepts(&cfg, &msg, &c, "p");
        rejects(&cfg, &msg, &ctx(Some("q")), Reason::KeyUnknown);
        rejects(&cfg, &msg, &ctx(None), Reason::IdentityMissing);
    }
    // Several keys and no kid.
    let s = signer(json!({"profile": "generic"}), &k1);
    let msg = signed(&s, request("POST", "/api", &[], b"{}"));
    let h = msg
        .header("x-jws-signature")
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    assert_eq!(
        signet_core::b64::decode_url(h).unwrap(),
        br#"{"alg":"ES256"}"#
    );
    rejects(&cfg, &msg, &c, Reason::KeyUnknown);
    // b64:false without crit is refused by generic (RFC 7797 §6).
    let h = b64h(r#"{"alg":"ES256","kid":"a","b64":false}"#);
    rejects(
        &cfg,
        &with_header(&msg, "x-jws-signature", &format!("{h}..AAAA")),
        &c,
        Reason::CritUnsupported,
    );
    // kid null is OCEN's (jose4j) only.
    let h = b64h(r#"{"alg":"ES256","kid":null}"#);
    rejects(
        &cfg,
        &with_header(&msg, "x-jws-signature", &format!("{h}..AAAA")),
        &c,
        Reason::HeaderMalformed,
    );
    // Required by default on POST; GET skipped.
    rejects(
        &cfg,
        &request("POST", "/api", &[], b"{}"),
        &c,
        Reason::SigMissing,
    );
    assert_eq!(
        run(&cfg, &request("GET", "/api", &[], b""), &c).unwrap(),
        Outcome::Skipped
    );
}

#[test]
fn generic_iat_window() {
    let k = ec_key(30);
    let cfg = verifier(
        json!({"profile": {"generic": {"iat_window_s": 60}}, "partners": [partner("p", &k)]}),
    );
    let s = signer(json!({"profile": "generic"}), &k);
    // The signer does not emit iat: with a window on it is missing, hence stale.
    let msg = signed(&s, request("POST", "/api", &[], b"{}"));
    rejects(&cfg, &msg, &ctx(Some("p")), Reason::Stale);
}

/// Runs a shared vector with modifications.
fn mosip_case(edit: impl FnOnce(&mut serde_json::Value)) -> signet_core::conformance::CaseResult {
    let text = std::fs::read_to_string(spec_vectors_dir().join("mosip-2.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut v);
    Case::from_json(&v.to_string())
        .unwrap()
        .run(&RustCrypto)
        .unwrap()
}

#[test]
fn mosip_certificate_time_and_registry_rules() {
    assert_eq!(mosip_case(|_| {}).reason, "ok");
    // requestTime is 20 s before "at": 45 s later it is 65 s old (window −60 s).
    assert_eq!(
        mosip_case(|v| v["at"] = json!("2026-11-23T10:01:05Z")).reason,
        "stale"
    );
    // The leaf outside its validity period.
    assert_eq!(
        mosip_case(|v| {
            v["at"] = json!("2040-01-01T00:00:00Z");
            v["settings"] = json!({"request_time_window": "off"});
        })
        .reason,
        "cert_invalid"
    );
    // A chain to a CA that is not registered for the domain.
    let other_ca = {
        let t = std::fs::read_to_string(spec_vectors_dir().join("mosip-1.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        v["keys"]["domain_ca"].clone()
    };
    assert_eq!(
        mosip_case(|v| v["keys"]["domain_ca"] = other_ca).reason,
        "cert_invalid"
    );
    // Registry: unknown API key, deactivated partner, unknown licence, missing Authorization.
    assert_eq!(
        mosip_case(|v| v["keys"]["partners"][0]["api_key"] = json!("other")).reason,
        "key_unknown"
    );
    let r = mosip_case(|v| v["keys"]["partners"][0]["status"] = json!("INACTIVE"));
    assert_eq!(r.reason, "partner_inactive");
    assert!(String::from_utf8_lossy(&r.reply.unwrap().body).contains("IDA-MPA-012"));
    let r = mosip_case(|v| v["keys"]["misps"][0]["status"] = json!("BLOCKED"));
    assert!(String::from_utf8_lossy(&r.reply.unwrap().body).contains("IDA-MPA-017"));
    let r = mosip_case(|v| v["keys"]["misps"] = json!([]));
    assert!(String::from_utf8_lossy(&r.reply.unwrap().body).contains("IDA-MPA-007"));
    assert_eq!(
        mosip_case(|v| {
            v["request"]["headers"]
                .as_object_mut()
                .unwrap()
                .remove("authorization");
        })
        .reason,
        "token_missing"
    );
    assert_eq!(
        mosip_case(|v| v["request"]["path"] = json!("/idauthentication/v1/auth/x/y")).reason,
        "identity_missing"
    );
    // The MISP's registered certificate may sign for its partners.
    let r = mosip_case(|v| {
        let cert = v["keys"]["partners"][0]["certificate_pem"].clone();
        v["keys"]["partners"][0]["certificate_sha256"] = json!("00".repeat(32));
        v["keys"]["partners"][0]
            .as_object_mut()
            .unwrap()
            .remove("certificate_pem");
        v["keys"]["misps"][0]["certificate_pem"] = cert;
    });
    assert_eq!(r.reason, "ok", "{:?}", r.problems);
    let sig = {
        let t = std::fs::read_to_string(spec_vectors_dir().join("mosip-2.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&t).unwrap();
        v["request"]["headers"]["signature"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // x5c missing → sig_invalid (IDA cannot verify); a tampered body → sig_invalid.
    let (_, rest) = sig.split_once('.').unwrap();
    let no_x5c = format!("{}.{rest}", b64h(r#"{"alg":"RS256"}"#));
    assert_eq!(
        mosip_case(|v| v["request"]["headers"]["signature"] = json!(no_x5c)).reason,
        "sig_invalid"
    );
    assert_eq!(
        mosip_case(|v| {
            v["request"].as_object_mut().unwrap().remove("body_b64");
            let b = v["request"]["body"].as_str().unwrap().replace("VID", "UIN");
            v["request"]["body"] = json!(b);
        })
        .reason,
        "sig_invalid"
    );
    assert_eq!(
        mosip_case(|v| v["request"]["headers"]["signature"] = json!("abc")).reason,
        "sig_malformed"
    );
}

/// `shared/spec/vectors` of the nearest ancestor that has one: `/work/shared` for the main
/// checkout (`/work/main`) and for worktrees one level deeper (`/work/wt/<name>`) alike.
fn spec_vectors_dir() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/spec/vectors"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| here.join("../../../shared/spec/vectors"))
}

/// `registry_url`: a participant not configured statically is looked up in the OCEN registry
/// cache — nothing cached asks for a fetch (`Outcome::NeedKeys`, not a rejection), a fetched entry
/// verifies, an unapproved one is `key_unknown`, and static partners never touch the registry.
#[test]
fn ocen_registry_key_source() {
    use rsa::traits::PublicKeyParts;
    use signet_core::config::Verifier;
    use signet_core::keys::PublicKey;
    use signet_core::profiles::ocen::registry::{KeyRules, RegistryCache};
    use signet_core::trace::Trace;
    use signet_core::verify::{verify, MemoryReplay, Run};

    let k = rsa_key(10);
    let cfg = verifier(
        json!({"profile": {"ocen": {"registry": {"url": "http://registry/service",
        "cluster": "registry"}}},
        "partners": [{"id": "static", "registry_status": "APPROVED",
                      "keys": [{"public_key_pem": public_pem(&rsa_key(11))}]},
                     {"id": "3053", "tls_names": ["p3053.example"]},
                     {"id": "3054", "status": "suspended"}]}),
    );
    let Verifier::Ocen(o) = &cfg.profile else {
        panic!("ocen")
    };
    let mut cache = RegistryCache::new(
        o.registry.as_ref().unwrap(),
        KeyRules {
            algorithms: cfg.common.algorithms.clone(),
            min_rsa_bits: 2048,
        },
    );
    let s = signer(json!({"profile": "ocen"}), &k);
    let msg = signed(
        &s,
        request(
            "POST",
            "/v4.0.0alpha/loanApplications/createLoanRequest",
            &[],
            LOAN,
        ),
    );
    let run = |cache: &RegistryCache, who: &str| {
        let mut trace = Trace::off();
        let mut replay = MemoryReplay::new(10);
        verify(&mut Run {
            common: &cfg.common,
            registry: &cfg.registry,
            profile: &cfg.profile,
            msg: &msg,
            ctx: &ocen_ctx(who),
            backend: &RustCrypto,
            replay: Some(&mut replay),
            trace: &mut trace,
            keys: Some(cache),
        })
    };
    let need = |who: &str| Outcome::NeedKeys {
        participant: who.into(),
    };
    assert_eq!(run(&cache, "3051"), Ok(need("3051")));
    assert!(!need("3051").passes());
    // Where the caller cannot wait, it is refused (fail closed).
    let r = signet_core::verify::no_wait(run(&cache, "3051")).unwrap_err();
    assert_eq!(r.reason(), Reason::KeysUnavailable);
    // A partner the shared registry lists without a key (TLS, tokens) gets it from the OCEN
    // registry like any participant not configured.
    assert_eq!(run(&cache, "3053"), Ok(need("3053")));
    let r = run(&cache, "3054").unwrap_err();
    assert_eq!(r.reason(), Reason::PartnerInactive);
    let PublicKey::Rsa(pk) = k.public_key() else {
        panic!("rsa")
    };
    let jwk = json!({"kty": "RSA", "n": signet_core::b64::encode_url(&pk.n().to_bytes_be()),
                     "e": signet_core::b64::encode_url(&pk.e().to_bytes_be())})
    .to_string();
    for (who, status, approved) in [("3051", "APPROVED", true), ("3052", "UNDER_REVIEW", false)] {
        assert!(cache.begin_fetch(who, NOW_MS));
        let body = json!({"participantRoleStatus": status, "isApproved": approved,
                          "publicKey": format!("  {jwk}\n")});
        cache.on_response(who, Some(200), body.to_string().as_bytes(), None, NOW_MS);
    }
    assert_eq!(
        run(&cache, "3051").unwrap(),
        Outcome::Verified {
            partner: "3051".into(),
            alg: signet_core::jose::alg::Alg::RS256,
            kid: None
        }
    );
    assert_eq!(
        run(&cache, "3052").unwrap_err().reason(),
        Reason::KeyUnknown
    );
    // The static partner is judged with its own key (another key here: sig_invalid), no fetch.
    let r = run(&cache, "static").unwrap_err();
    assert_eq!(r.reason(), Reason::SigInvalid);
    // Without a key source (the CLI), registry participants are keys_unavailable, no fetch.
    let r = run_with_no_source(&cfg, &msg);
    assert_eq!(r.reason(), Reason::KeysUnavailable);
}

fn run_with_no_source(
    cfg: &signet_core::config::VerifyConfig,
    msg: &signet_core::message::Message,
) -> signet_core::reason::Rejection<signet_core::verify::StepError> {
    run(cfg, msg, &ocen_ctx("3051")).unwrap_err()
}
