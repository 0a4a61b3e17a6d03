//! `mojaloop` through the whole pipeline: the Signet signer's output verifies, and every
//! rejection gives its exact reason code (docs/reason-codes.md).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::json;
use signet_core::b64;
use signet_core::jose::jws::signing_input_encoded;
use signet_core::reason::Reason;
use signet_core::verify::{MemoryReplay, Outcome};

const BODY: &[u8] = br#"{"transferId":"b51ec534","payerFsp":"dfspa","payeeFsp":"dfspb","amount":{"currency":"USD","amount":"100"}}"#;

struct Fixture {
    cfg: signet_core::config::VerifyConfig,
    msg: signet_core::message::Message,
}

fn fixture() -> Fixture {
    let a = rsa_key(1);
    let b = ec_key(2);
    let cfg = verifier(json!({
        "profile": "mojaloop",
        "partners": [partner("dfspa", &a), partner("dfspb", &b),
                     {"id": "dfspc", "status": "suspended", "keys": [{"public_key_pem": public_pem(&rsa_key(3))}]}],
    }));
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}), &a);
    let msg = signed(
        &s,
        request(
            "POST",
            "/transfers",
            &[
                (
                    "content-type",
                    "application/vnd.interoperability.transfers+json;version=1.1",
                ),
                ("fspiop-destination", "dfspb"),
            ],
            BODY,
        ),
    );
    Fixture { cfg, msg }
}

/// Replaces the FSPIOP-Signature with one made from a hand-written header and key.
fn forged(
    msg: &signet_core::message::Message,
    header_json: &str,
    sig: &[u8],
) -> signet_core::message::Message {
    let h = b64h(header_json);
    let value = json!({"protectedHeader": h, "signature": b64::encode_url(sig)}).to_string();
    with_header(msg, "fspiop-signature", &value)
}

#[test]
fn signer_output_verifies_and_is_sorted_compact() {
    let f = fixture();
    accepts(&f.cfg, &f.msg, &ctx(Some("dfspa")), "dfspa");
    // The signer re-serialized the body compactly with sorted keys and fixed content-length.
    assert!(f
        .msg
        .body
        .starts_with(br#"{"amount":{"amount":"100","currency":"USD"}"#));
    assert_eq!(
        f.msg.header("content-length"),
        Some(f.msg.body.len().to_string().as_str())
    );
    let sig: serde_json::Value =
        serde_json::from_str(f.msg.header("fspiop-signature").unwrap()).unwrap();
    let h = b64::decode_url(sig["protectedHeader"].as_str().unwrap()).unwrap();
    assert_eq!(
        String::from_utf8(h).unwrap(),
        r#"{"alg":"RS256","FSPIOP-URI":"/transfers","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfspa","FSPIOP-Destination":"dfspb","Date":"Tue, 02 Jun 2026 10:00:00 GMT"}"#
    );
}

#[test]
fn es256_signer_and_high_s_form_both_verify() {
    let b = ec_key(2);
    let cfg = verifier(json!({"profile": "mojaloop", "partners": [partner("dfspb", &b)]}));
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspb"}}}), &b);
    let msg = signed(&s, request("PUT", "/transfers/1", &[], BODY));
    accepts(&cfg, &msg, &ctx(Some("dfspb")), "dfspb");
    // (r, n - s) is the same signature to ECDSA: accepted, as BoringSSL does.
    let v: serde_json::Value =
        serde_json::from_str(msg.header("fspiop-signature").unwrap()).unwrap();
    let sig = b64::decode_url(v["signature"].as_str().unwrap()).unwrap();
    let s_val = p256::NonZeroScalar::try_from(&sig[32..]).unwrap();
    let flipped = -*s_val.as_ref();
    let mut high = sig[..32].to_vec();
    high.extend_from_slice(&flipped.to_bytes());
    let value =
        json!({"protectedHeader": v["protectedHeader"], "signature": b64::encode_url(&high)})
            .to_string();
    accepts(
        &cfg,
        &with_header(&msg, "fspiop-signature", &value),
        &ctx(Some("dfspb")),
        "dfspb",
    );
    // r = 0 or s = 0 never verifies.
    let mut zero_s = sig[..32].to_vec();
    zero_s.extend_from_slice(&[0u8; 32]);
    let value =
        json!({"protectedHeader": v["protectedHeader"], "signature": b64::encode_url(&zero_s)})
            .to_string();
    rejects(
        &cfg,
        &with_header(&msg, "fspiop-signature", &value),
        &ctx(Some("dfspb")),
        Reason::SigMalformed,
    );
    let mut zero_r = vec![0u8; 32];
    zero_r.extend_from_slice(&sig[32..]);
    let value =
        json!({"protectedHeader": v["protectedHeader"], "signature": b64::encode_url(&zero_r)})
            .to_string();
    rejects(
        &cfg,
        &with_header(&msg, "fspiop-signature", &value),
        &ctx(Some("dfspb")),
        Reason::SigMalformed,
    );
}

#[test]
fn a_changed_body_or_another_partners_key_is_sig_invalid() {
    let f = fixture();
    let mut m = f.msg.clone();
    m.body[20] ^= 1;
    rejects(&f.cfg, &m, &ctx(Some("dfspa")), Reason::SigInvalid);
    // Signed by dfspc's key while claiming dfspa.
    let other = signer(
        json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}),
        &rsa_key(3),
    );
    let m = signed(
        &other,
        request(
            "POST",
            "/transfers",
            &[("fspiop-destination", "dfspb")],
            BODY,
        ),
    );
    rejects(&f.cfg, &m, &ctx(Some("dfspa")), Reason::SigInvalid);
}

#[test]
fn header_bindings_are_checked() {
    let f = fixture();
    let c = ctx(Some("dfspa"));
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-uri", "/quotes"),
        &c,
        Reason::BindingMismatch,
    );
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-http-method", "PUT"),
        &c,
        Reason::BindingMismatch,
    );
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-destination", "dfspx"),
        &c,
        Reason::BindingMismatch,
    );
    rejects(
        &f.cfg,
        &with_header(&f.msg, "date", "Tue, 02 Jun 2026 10:00:01 GMT"),
        &c,
        Reason::BindingMismatch,
    );
    rejects(
        &f.cfg,
        &without_header(&f.msg, "date"),
        &c,
        Reason::BindingMismatch,
    );
    // Source changed to another registered FSP that is also the peer: the protected member differs.
    let b = ctx(Some("dfspb"));
    let m = with_header(&f.msg, "fspiop-source", "dfspb");
    rejects(&f.cfg, &m, &b, Reason::AlgNotAllowed); // dfspb's key is EC: RS256 not allowed for it
}

#[test]
fn missing_pieces_have_their_codes() {
    let f = fixture();
    let c = ctx(Some("dfspa"));
    rejects(
        &f.cfg,
        &without_header(&f.msg, "fspiop-signature"),
        &c,
        Reason::SigMissing,
    );
    rejects(
        &f.cfg,
        &without_header(&f.msg, "fspiop-uri"),
        &c,
        Reason::SigMissing,
    );
    rejects(
        &f.cfg,
        &without_header(&f.msg, "fspiop-source"),
        &c,
        Reason::IdentityMissing,
    );
    let mut empty = f.msg.clone();
    empty.body.clear();
    rejects(&f.cfg, &empty, &c, Reason::BodyMissing);
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-source", "nobody"),
        &ctx(Some("nobody")),
        Reason::KeyUnknown,
    );
}

#[test]
fn identity_rules() {
    let f = fixture();
    rejects(&f.cfg, &f.msg, &ctx(Some("dfspb")), Reason::PeerMismatch);
    rejects(&f.cfg, &f.msg, &ctx(None), Reason::PeerMismatch);
    let s = signer(
        json!({"profile": {"mojaloop": {"source_id": "dfspc"}}}),
        &rsa_key(3),
    );
    let m = signed(&s, request("POST", "/quotes", &[], BODY));
    rejects(&f.cfg, &m, &ctx(Some("dfspc")), Reason::PartnerInactive);
    // A trusted forwarder (the hub) may relay dfspa's message.
    let hub = verifier(
        json!({"profile": {"mojaloop": {"trusted_forwarders": ["hub"]}}, "partners": [partner("dfspa", &rsa_key(1))]}),
    );
    accepts(&hub, &f.msg, &ctx(Some("hub")), "dfspa");
}

#[test]
fn malformed_signatures_and_headers() {
    let f = fixture();
    let c = ctx(Some("dfspa"));
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-signature", "not json"),
        &c,
        Reason::SigMalformed,
    );
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-signature", r#"{"protectedHeader":"e30"}"#),
        &c,
        Reason::SigMalformed,
    );
    let v: serde_json::Value =
        serde_json::from_str(f.msg.header("fspiop-signature").unwrap()).unwrap();
    let h = v["protectedHeader"].as_str().unwrap();
    let bad_b64 = json!({"protectedHeader": h, "signature": "abc+/=="}).to_string();
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-signature", &bad_b64),
        &c,
        Reason::SigMalformed,
    );
    let short =
        json!({"protectedHeader": h, "signature": b64::encode_url(&[1u8; 255])}).to_string();
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-signature", &short),
        &c,
        Reason::SigMalformed,
    );
    let bad_header =
        json!({"protectedHeader": "bm90IGpzb24", "signature": v["signature"]}).to_string();
    rejects(
        &f.cfg,
        &with_header(&f.msg, "fspiop-signature", &bad_header),
        &c,
        Reason::HeaderMalformed,
    );
    let dup = forged(
        &f.msg,
        r#"{"alg":"RS256","alg":"RS256","FSPIOP-URI":"/transfers","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfspa","FSPIOP-Destination":"dfspb"}"#,
        &[0; 256],
    );
    rejects(&f.cfg, &dup, &c, Reason::HeaderMalformed);
    let crit = forged(
        &f.msg,
        r#"{"alg":"RS256","crit":["exp"],"exp":1,"FSPIOP-URI":"/transfers","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfspa","FSPIOP-Destination":"dfspb"}"#,
        &[0; 256],
    );
    rejects(&f.cfg, &crit, &c, Reason::CritUnsupported);
    let b64false = forged(
        &f.msg,
        r#"{"alg":"RS256","b64":false,"crit":["b64"],"FSPIOP-URI":"/transfers","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfspa","FSPIOP-Destination":"dfspb"}"#,
        &[0; 256],
    );
    rejects(&f.cfg, &b64false, &c, Reason::CritUnsupported);
    let no_uri = forged(
        &f.msg,
        r#"{"alg":"RS256","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfspa","FSPIOP-Destination":"dfspb"}"#,
        &[0; 256],
    );
    rejects(&f.cfg, &no_uri, &c, Reason::HeaderMalformed);
}

#[test]
fn none_and_hmac_are_never_accepted() {
    let f = fixture();
    let c = ctx(Some("dfspa"));
    let base = r#""FSPIOP-URI":"/transfers","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfspa","FSPIOP-Destination":"dfspb"}"#;
    let none = forged(&f.msg, &format!(r#"{{"alg":"none",{base}"#), &[0; 256]);
    rejects(&f.cfg, &none, &c, Reason::AlgNotAllowed);
    // The classic confusion: the RSA public key PEM used as an HMAC secret.
    let header = format!(r#"{{"alg":"HS256",{base}"#);
    let input = signing_input_encoded(&b64h(&header), &f.msg.body);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(public_pem(&rsa_key(1)).as_bytes()).unwrap();
    mac.update(&input);
    let hs = forged(&f.msg, &header, &mac.finalize().into_bytes());
    rejects(&f.cfg, &hs, &c, Reason::AlgNotAllowed);
    let missing = forged(&f.msg, &format!("{{{base}"), &[0; 256]);
    rejects(&f.cfg, &missing, &c, Reason::AlgNotAllowed);
}

#[test]
fn bounds_and_encoding() {
    let f = fixture();
    let c = ctx(Some("dfspa"));
    rejects(
        &f.cfg,
        &with_header(&f.msg, "content-encoding", "gzip"),
        &c,
        Reason::ContentEncoding,
    );
    // Every content-encoding header and every coding of its list must be identity: the first
    // header alone, or the first coding alone, proves nothing about what the upstream decodes.
    let identity = with_header(&f.msg, "content-encoding", "identity");
    for (first, second) in [
        ("identity", Some("gzip")),
        ("Identity", Some(" br ")),
        ("identity, gzip", None),
        ("identity,gzip", None),
        ("gzip, identity", None),
        ("identity,", None),
        ("", None),
    ] {
        let mut m = with_header(&f.msg, "content-encoding", first);
        if let Some(v) = second {
            m.headers.push(("content-encoding".into(), v.into()));
        }
        rejects(&f.cfg, &m, &c, Reason::ContentEncoding);
    }
    accepts(&f.cfg, &identity, &c, "dfspa");
    let mut twice = with_header(&f.msg, "content-encoding", " IDENTITY ,identity");
    twice
        .headers
        .push(("content-encoding".into(), "identity".into()));
    accepts(&f.cfg, &twice, &c, "dfspa");
    let small = verifier(
        json!({"profile": "mojaloop", "max_body_bytes": 50, "partners": [partner("dfspa", &rsa_key(1))]}),
    );
    rejects(&small, &f.msg, &c, Reason::BodyTooLarge);
    let exact = verifier(
        json!({"profile": "mojaloop", "max_body_bytes": f.msg.body.len(), "partners": [partner("dfspa", &rsa_key(1))]}),
    );
    accepts(&exact, &f.msg, &c, "dfspa");
}

#[test]
fn route_policy_defaults() {
    let f = fixture();
    let c = ctx(Some("dfspa"));
    let get = request("GET", "/parties/MSISDN/1", &[], b"");
    assert_eq!(run(&f.cfg, &get, &c).unwrap(), Outcome::Skipped);
    let put_parties = request(
        "PUT",
        "/parties/MSISDN/1",
        &[("fspiop-source", "dfspa")],
        BODY,
    );
    assert_eq!(run(&f.cfg, &put_parties, &c).unwrap(), Outcome::Unsigned);
    let put_transfer = request("PUT", "/transfers/1", &[("fspiop-source", "dfspa")], BODY);
    rejects(&f.cfg, &put_transfer, &c, Reason::SigMissing);
}

#[test]
fn freshness_and_replay_when_enabled() {
    let a = rsa_key(1);
    let cfg = verifier(
        json!({"profile": {"mojaloop": {"date_window": "5m"}}, "replay_cache": true, "partners": [partner("dfspa", &a)]}),
    );
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}), &a);
    let msg = signed(&s, request("POST", "/quotes", &[], BODY));
    let c = ctx(Some("dfspa"));
    let mut replay = MemoryReplay::new(10);
    assert!(run_with(
        &cfg,
        &msg,
        &c,
        &signet_core::crypto::RustCrypto,
        &mut replay
    )
    .is_ok());
    let again = run_with(
        &cfg,
        &msg,
        &c,
        &signet_core::crypto::RustCrypto,
        &mut replay,
    );
    assert_eq!(again.unwrap_err().reason(), Reason::Replay);
    let mut late = c.clone();
    late.now_ms += 301_000;
    rejects(&cfg, &msg, &late, Reason::Stale);
}

/// A full replay cache refuses the new message (`replay_cache_full`) rather than forget an
/// unexpired one: the message already recorded stays a replay.
#[test]
fn full_replay_cache_refuses_instead_of_evicting() {
    let a = rsa_key(1);
    let cfg = verifier(
        json!({"profile": {"mojaloop": {"date_window": "5m"}}, "replay_cache": true, "partners": [partner("dfspa", &a)]}),
    );
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}), &a);
    let first = signed(&s, request("POST", "/quotes", &[], BODY));
    let other = signed(
        &s,
        request("POST", "/quotes", &[], b"{\"quoteId\":\"other\"}"),
    );
    let c = ctx(Some("dfspa"));
    let mut replay = MemoryReplay::new(1);
    let crypto = signet_core::crypto::RustCrypto;
    assert!(run_with(&cfg, &first, &c, &crypto, &mut replay).is_ok());
    let full = run_with(&cfg, &other, &c, &crypto, &mut replay).unwrap_err();
    assert_eq!(full.reason(), Reason::ReplayCacheFull);
    assert_eq!(full.reason().code(), "replay_cache_full");
    let again = run_with(&cfg, &first, &c, &crypto, &mut replay).unwrap_err();
    assert_eq!(again.reason(), Reason::Replay);
}

#[test]
fn payload_mode_fallback_is_opt_in() {
    // A signature over the sorted re-serialization of an unsorted body.
    let a = rsa_key(1);
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}), &a);
    let mut m = signed(&s, request("POST", "/quotes", &[], BODY));
    m.body = BODY.to_vec(); // the original, unsorted bytes arrive
    let strict = verifier(json!({"profile": "mojaloop", "partners": [partner("dfspa", &a)]}));
    rejects(&strict, &m, &ctx(Some("dfspa")), Reason::SigInvalid);
    let compat = verifier(
        json!({"profile": {"mojaloop": {"payload_mode": "raw-then-sorted"}}, "partners": [partner("dfspa", &a)]}),
    );
    accepts(&compat, &m, &ctx(Some("dfspa")), "dfspa");
}

/// Values of a JSON document: the top-level one, every member value and every array item.
fn json_values(v: &serde_json::Value) -> usize {
    1 + match v {
        serde_json::Value::Array(a) => a.iter().map(json_values).sum(),
        serde_json::Value::Object(o) => o.values().map(json_values).sum(),
        _ => 0,
    }
}

#[test]
fn payload_mode_tree_is_bounded_by_max_json_elements() {
    let a = rsa_key(1);
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}), &a);
    let mut m = signed(&s, request("POST", "/quotes", &[], BODY));
    m.body = BODY.to_vec();
    let n = json_values(&serde_json::from_slice(BODY).unwrap());
    let compat = |max: usize| {
        verifier(
            json!({"profile": {"mojaloop": {"payload_mode": "raw-then-sorted"}}, "max_json_elements": max,
                   "partners": [partner("dfspa", &a)]}),
        )
    };
    accepts(&compat(n), &m, &ctx(Some("dfspa")), "dfspa");
    rejects(
        &compat(n - 1),
        &m,
        &ctx(Some("dfspa")),
        Reason::BodyMalformed,
    );
    // The raw mode builds no tree: the bound does not apply to it.
    let raw = signed(&s, request("POST", "/quotes", &[], BODY));
    let strict = verifier(
        json!({"profile": "mojaloop", "max_json_elements": 1, "partners": [partner("dfspa", &a)]}),
    );
    accepts(&strict, &raw, &ctx(Some("dfspa")), "dfspa");
    for bad in [0, 10_000_001] {
        let cfg = json!({"profile": "mojaloop", "max_json_elements": bad, "partners": [partner("dfspa", &a)]});
        let err = signet_core::config::VerifyConfig::from_json(&cfg.to_string()).unwrap_err();
        assert!(err.to_string().contains("max_json_elements"), "{err}");
    }
}

#[test]
fn signer_refuses_to_sign_as_another_fsp_and_leaves_forwarded_messages() {
    let s = signer(
        json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}),
        &rsa_key(1),
    );
    let mut m = request("POST", "/quotes", &[("fspiop-source", "dfspb")], BODY);
    assert!(s
        .sign(&mut m, NOW_MS, &signet_core::crypto::RustCrypto)
        .is_err());
    let mut fwd = request(
        "POST",
        "/quotes",
        &[("fspiop-source", "dfspb"), ("fspiop-signature", "{}")],
        BODY,
    );
    let out = s
        .sign(&mut fwd, NOW_MS, &signet_core::crypto::RustCrypto)
        .unwrap();
    assert!(matches!(out, signet_core::sign::SignOutcome::NotSigned(_)));
    assert_eq!(fwd.header("fspiop-signature"), Some("{}"));
    let mut get = request("GET", "/parties/MSISDN/1", &[], b"");
    assert!(matches!(
        s.sign(&mut get, NOW_MS, &signet_core::crypto::RustCrypto)
            .unwrap(),
        signet_core::sign::SignOutcome::NotSigned(_)
    ));
}

fn outcome(
    cfg: &signet_core::config::VerifyConfig,
    msg: &signet_core::message::Message,
    c: &signet_core::message::Context,
) -> Result<Outcome, Reason> {
    run(cfg, msg, c).map_err(|r| r.reason())
}

/// The message plus one more header, as sent (a copy, not a replacement).
fn plus(
    msg: &signet_core::message::Message,
    name: &str,
    value: &str,
) -> signet_core::message::Message {
    let mut m = msg.clone();
    m.headers.push((name.into(), value.into()));
    m
}

#[test]
fn look_alike_header_names_count_as_copies() {
    // `fspiop_source` is `FSPIOP-Source` to a CGI / WSGI upstream: a second reading.
    let f = fixture();
    let c = ctx(Some("dfspa"));
    for name in ["fspiop_source", "fspiop_uri", "fspiop_destination"] {
        rejects(
            &f.cfg,
            &plus(&f.msg, name, "dfspb"),
            &c,
            Reason::BindingMismatch,
        );
    }
    rejects(
        &f.cfg,
        &plus(&f.msg, "fspiop_signature", "{}"),
        &c,
        Reason::SigMalformed,
    );
    // On routes that are not verified too, alone or beside the real header.
    let get = request(
        "GET",
        "/parties/MSISDN/1",
        &[("fspiop-source", "dfspa")],
        b"",
    );
    assert_eq!(outcome(&f.cfg, &get, &c), Ok(Outcome::Skipped));
    rejects(
        &f.cfg,
        &plus(&get, "fspiop_source", "dfspb"),
        &c,
        Reason::BindingMismatch,
    );
    let alone = request(
        "GET",
        "/parties/MSISDN/1",
        &[("fspiop_source", "dfspb")],
        b"",
    );
    rejects(&f.cfg, &alone, &c, Reason::BindingMismatch);
}

#[test]
fn unsigned_body_must_name_its_source() {
    // A signer downstream signs what names no source as its own: an unsigned `if-present`
    // message with a body names its FSP (the peer), else identity_missing.
    let f = fixture();
    let c = ctx(Some("dfspa"));
    let party = br#"{"party":{"name":"x"}}"#;
    let named = request(
        "PUT",
        "/parties/MSISDN/1",
        &[("fspiop-source", "dfspa")],
        party,
    );
    assert_eq!(outcome(&f.cfg, &named, &c), Ok(Outcome::Unsigned));
    for headers in [&[][..], &[("fspiop-source", "")][..]] {
        let m = request("PUT", "/parties/MSISDN/1", headers, party);
        rejects(&f.cfg, &m, &c, Reason::IdentityMissing);
        // Without a body there is nothing to sign as anyone.
        let bodyless = request("PUT", "/parties/MSISDN/1", headers, b"");
        assert_eq!(outcome(&f.cfg, &bodyless, &c), Ok(Outcome::Unsigned));
    }
    let get = request("GET", "/parties/MSISDN/1", &[], b"");
    assert_eq!(outcome(&f.cfg, &get, &c), Ok(Outcome::Skipped));
}

#[test]
fn request_line_check_wants_the_signed_method_and_uri_exactly() {
    let a = rsa_key(1);
    let cfg = |extra: serde_json::Value| {
        let mut section = json!({"check_request_line": true});
        section
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        verifier(json!({"profile": {"mojaloop": section}, "partners": [partner("dfspa", &a)]}))
    };
    let s = signer(json!({"profile": {"mojaloop": {"source_id": "dfspa"}}}), &a);
    let m = signed(&s, request("PUT", "/authorizations/1", &[], BODY));
    let c = ctx(Some("dfspa"));
    let plain = cfg(json!({}));
    accepts(&plain, &m, &c, "dfspa");
    let moved = |method: &str, path: &str| {
        let mut x = m.clone();
        x.method = method.into();
        x.path = path.into();
        x
    };
    for (method, path) in [
        ("POST", "/authorizations/1"),
        ("PUT", "/authorizations/2"),
        ("PUT", "/thirdpartyRequests/authorizations/1"),
        ("PUT", "/mojaloop/authorizations/1"),
    ] {
        rejects(&plain, &moved(method, path), &c, Reason::BindingMismatch);
    }
    // A mount point is what uri_strip_prefix is for.
    let mounted = cfg(json!({"uri_strip_prefix": "/mojaloop"}));
    accepts(
        &mounted,
        &moved("PUT", "/mojaloop/authorizations/1"),
        &c,
        "dfspa",
    );
    // An empty signed URI fits no path.
    let s_empty = signed(
        &s,
        request("PUT", "/authorizations/1", &[("fspiop-uri", "")], BODY),
    );
    rejects(&plain, &s_empty, &c, Reason::BindingMismatch);
}
