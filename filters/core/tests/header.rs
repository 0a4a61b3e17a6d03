//! Protected header rules of docs/profiles.md#signing-inputs-and-segments, #crit-and-b64, one
//! negative test per rule, each asserting the exact error variant (and so the reason code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use signet_core::b64::encode_url;
use signet_core::jose::header::MAX_HEADER_LEN;
use signet_core::jose::{CritB64, Header, HeaderError, HeaderRules};

fn h(json: &str) -> String {
    encode_url(json.as_bytes())
}

fn malformed(r: Result<Header, HeaderError>) {
    match r {
        Err(HeaderError::Malformed(_)) => {}
        other => panic!("expected Malformed, got {other:?}"),
    }
}

fn crit(r: Result<Header, HeaderError>) {
    match r {
        Err(HeaderError::CritUnsupported(_)) => {}
        other => panic!("expected CritUnsupported, got {other:?}"),
    }
}

const S: HeaderRules = HeaderRules::STRICT;
const PADDED: HeaderRules = HeaderRules {
    allow_padding: true,
    crit_b64: CritB64::Reject,
};

#[test]
fn accepts_typical_headers() {
    let raw = h(
        r#"{"alg": "RS256", "x5c": ["MIIB"], "x5t#S256": "abc", "kid": "k1", "jku": "https://x", "jwk": {"kty":"RSA"}, "other": [1, {"a": null}]}"#,
    );
    let hd = Header::parse(&raw, &S).unwrap();
    assert_eq!(hd.raw(), raw);
    assert_eq!(hd.alg_name(), Some("RS256"));
    assert_eq!(hd.alg(), Some(signet_core::jose::Alg::RS256));
    assert_eq!(hd.kid(), Some("k1"));
    assert_eq!(hd.x5c().unwrap(), ["MIIB".to_string()]);
    assert_eq!(hd.x5t_s256(), Some("abc"));
    assert!(hd.b64());
    assert_eq!(hd.members().len(), 7);
    assert_eq!(hd.members()[0].0, "alg");
    assert!(hd.member("jwk").is_some());
    assert!(hd.member("ALG").is_none());
}

#[test]
fn unknown_alg_is_not_a_header_error() {
    // `none` / HS256 / missing alg are `alg_not_allowed`, decided by the caller.
    for j in [r#"{"alg":"none"}"#, r#"{"alg":"HS256"}"#, r#"{}"#] {
        let hd = Header::parse(&h(j), &S).unwrap();
        assert_eq!(hd.alg(), None);
    }
}

#[test]
fn base64url_rules() {
    let good = h(r#"{"alg":"RS256"}"#); // 20 chars, no padding needed
    assert!(Header::parse(&good, &S).is_ok());
    let needs_pad = h(r#"{"alg":"ES256","a":12}"#);
    assert_ne!(needs_pad.len() % 4, 0);
    let padded = format!("{needs_pad}{}", "=".repeat(4 - needs_pad.len() % 4));
    malformed(Header::parse(&padded, &S));
    assert!(Header::parse(&padded, &PADDED).is_ok());
    assert!(Header::parse(&needs_pad, &PADDED).is_ok());
    malformed(Header::parse(&format!("{needs_pad}="), &PADDED));
    // '+' and '/' (standard alphabet) in place of '-' and '_'.
    let urlish = h(r#"{"alg":"RS256","x":"???>>>"}"#);
    assert!(urlish.contains('_') || urlish.contains('-'), "{urlish}");
    assert!(Header::parse(&urlish, &S).is_ok());
    malformed(Header::parse(
        &urlish.replace('_', "/").replace('-', "+"),
        &S,
    ));
    // whitespace, CR/LF anywhere
    malformed(Header::parse(&format!(" {good}"), &S));
    malformed(Header::parse(&format!("{good}\n"), &S));
    malformed(Header::parse(
        &format!("{}\r\n{}", &good[..8], &good[8..]),
        &S,
    ));
    // length mod 4 == 1
    malformed(Header::parse(&format!("{good}A"), &S));
    // non-canonical trailing bits: last char of a 2-char tail with low bits set
    let two_tail = h(r#"{"alg":"RS256"} "#); // 16 bytes → 22 chars, last char carries 4 zero bits
    assert_eq!(two_tail.len() % 4, 2);
    let mut bad = two_tail.clone().into_bytes();
    let last = bad.last_mut().unwrap();
    assert!(b"AQgw".contains(last)); // canonical: value multiple of 16
    *last += 1;
    malformed(Header::parse(std::str::from_utf8(&bad).unwrap(), &S));
    // empty H
    malformed(Header::parse("", &S));
}

#[test]
fn json_rules() {
    malformed(Header::parse(&h(r#"["alg","RS256"]"#), &S)); // not an object
    malformed(Header::parse(&h(r#""RS256""#), &S));
    malformed(Header::parse(&h("null"), &S));
    malformed(Header::parse(&h(r#"{"alg":"RS256""#), &S)); // truncated
    malformed(Header::parse(&h(r#"{"alg":"RS256"} x"#), &S)); // trailing data
    malformed(Header::parse(&h("\u{feff}{\"alg\":\"RS256\"}"), &S)); // BOM
    malformed(Header::parse(&encode_url(b"{\"alg\":\"RS\xff256\"}"), &S)); // bad UTF-8
    malformed(Header::parse(&h(r#"{"alg":"RS256","alg":"HS256"}"#), &S)); // duplicate
    malformed(Header::parse(
        &h(r#"{"alg":"RS256","\u0061lg":"HS256"}"#),
        &S,
    )); // dup after unescape
        // depth: object(1) > a(2) > b(3) > c(4) ok; one more level fails
    assert!(Header::parse(&h(r#"{"alg":"RS256","a":{"b":{"c":[1]}}}"#), &S).is_ok());
    malformed(Header::parse(
        &h(r#"{"alg":"RS256","a":{"b":{"c":[[1]]}}}"#),
        &S,
    ));
    // 64 members ok, 65 fail
    let members = |n: usize| {
        let mut s = String::from("{\"alg\":\"RS256\"");
        for i in 1..n {
            s.push_str(&format!(",\"m{i}\":{i}"));
        }
        s.push('}');
        s
    };
    assert!(Header::parse(&h(&members(64)), &S).is_ok());
    malformed(Header::parse(&h(&members(65)), &S));
    // whitespace between tokens is allowed (MOSIP Python SDK)
    assert!(Header::parse(&h("{ \"alg\" : \"RS256\" ,\n\t\"kid\": \"x\" }"), &S).is_ok());
}

#[test]
fn size_limit() {
    let pad = "x".repeat(24_000);
    let ok = h(&format!(r#"{{"alg":"RS256","p":"{pad}"}}"#));
    assert!(ok.len() <= MAX_HEADER_LEN);
    assert!(Header::parse(&ok, &S).is_ok());
    let pad = "x".repeat(24_600);
    let big = h(&format!(r#"{{"alg":"RS256","p":"{pad}"}}"#));
    assert!(big.len() > MAX_HEADER_LEN);
    assert_eq!(
        Header::parse(&big, &S),
        Err(HeaderError::Malformed(
            "header longer than 32768 characters"
        ))
    );
}

#[test]
fn member_types() {
    for j in [
        r#"{"alg":256}"#,
        r#"{"alg":null}"#,
        r#"{"alg":["RS256"]}"#,
        r#"{"alg":"RS256","kid":1}"#,
        r#"{"alg":"RS256","kid":["a"]}"#,
        r#"{"alg":"RS256","x5c":"MIIB"}"#,
        r#"{"alg":"RS256","x5c":[]}"#,
        r#"{"alg":"RS256","x5c":[1]}"#,
        r#"{"alg":"RS256","x5c":null}"#,
        r#"{"alg":"RS256","x5t#S256":1}"#,
        r#"{"alg":"RS256","b64":"false"}"#,
        r#"{"alg":"RS256","b64":0}"#,
        r#"{"alg":"RS256","crit":"b64","b64":false}"#,
        r#"{"alg":"RS256","crit":[]}"#,
        r#"{"alg":"RS256","crit":[1]}"#,
    ] {
        for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
            malformed(Header::parse(&h(j), &rules));
        }
    }
}

#[test]
fn kid_null_is_none() {
    let hd = Header::parse(
        &h(r#"{"alg":"RS256","kid":null,"b64":false}"#),
        &HeaderRules::OCEN,
    )
    .unwrap();
    assert_eq!(hd.kid(), None);
    assert!(hd.kid_is_null());
    assert!(!hd.b64());
}

#[test]
fn crit_shape_before_profile_rule() {
    // Shape errors are header_malformed even where crit itself is not accepted.
    for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
        // names an absent member
        malformed(Header::parse(
            &h(r#"{"alg":"RS256","crit":["b64"]}"#),
            &rules,
        ));
        malformed(Header::parse(
            &h(r#"{"alg":"RS256","crit":["exp"]}"#),
            &rules,
        ));
        // duplicates
        malformed(Header::parse(
            &h(r#"{"alg":"RS256","b64":false,"crit":["b64","b64"]}"#),
            &rules,
        ));
    }
}

#[test]
fn crit_unknown() {
    for rules in [HeaderRules::STRICT, HeaderRules::OCEN, HeaderRules::GENERIC] {
        crit(Header::parse(
            &h(r#"{"alg":"RS256","exp":1,"crit":["exp"]}"#),
            &rules,
        ));
        crit(Header::parse(
            &h(r#"{"alg":"RS256","exp":1,"b64":false,"crit":["b64","exp"]}"#),
            &rules,
        ));
        crit(Header::parse(
            &h(r#"{"alg":"RS256","crit":["alg"]}"#),
            &rules,
        ));
    }
}

#[test]
fn b64_per_profile() {
    let no_crit = h(r#"{"alg":"RS256","b64":false}"#);
    let with_crit = h(r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#);
    let true_crit = h(r#"{"alg":"RS256","b64":true,"crit":["b64"]}"#);
    let true_plain = h(r#"{"alg":"RS256","b64":true}"#);

    // mojaloop / mosip / spar: reject b64:false and any crit; b64:true is as absent.
    crit(Header::parse(&no_crit, &HeaderRules::STRICT));
    crit(Header::parse(&with_crit, &HeaderRules::STRICT));
    crit(Header::parse(&true_crit, &HeaderRules::STRICT));
    assert!(Header::parse(&true_plain, &HeaderRules::STRICT)
        .unwrap()
        .b64());

    // ocen: b64:false with or without crit.
    assert!(!Header::parse(&no_crit, &HeaderRules::OCEN).unwrap().b64());
    assert!(!Header::parse(&with_crit, &HeaderRules::OCEN).unwrap().b64());
    assert!(Header::parse(&true_plain, &HeaderRules::OCEN)
        .unwrap()
        .b64());

    // generic: b64:false only with crit ["b64"] (V-OCEN-2).
    crit(Header::parse(&no_crit, &HeaderRules::GENERIC));
    let g = Header::parse(&with_crit, &HeaderRules::GENERIC).unwrap();
    assert!(!g.b64());
    assert_eq!(g.crit().unwrap(), ["b64".to_string()]);
    assert!(Header::parse(&true_crit, &HeaderRules::GENERIC)
        .unwrap()
        .b64());
}

#[test]
fn reason_codes() {
    assert_eq!(
        HeaderError::Malformed("x").reason_code(),
        "header_malformed"
    );
    assert_eq!(
        HeaderError::CritUnsupported("x").reason_code(),
        "crit_unsupported"
    );
}

#[test]
fn spec_vectors_headers_parse() {
    // Every protected header in the shared vectors parses under its profile's rules.
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here
        .ancestors()
        .map(|a| a.join("shared/spec/vectors"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| here.join("../../../shared/spec/vectors"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("shared vectors not found at {}; skipped", dir.display());
        return;
    };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let profile = v["profile"].as_str().unwrap();
        let rules = match profile {
            "ocen" => HeaderRules::OCEN,
            "generic" => HeaderRules::GENERIC,
            _ => HeaderRules::STRICT,
        };
        for (name, value) in v["request"]["headers"].as_object().unwrap() {
            let Some(value) = value.as_str() else {
                continue;
            };
            let hseg = match (profile, name.as_str()) {
                ("mojaloop", "fspiop-signature") => {
                    let j: serde_json::Value = serde_json::from_str(value).unwrap();
                    j["protectedHeader"].as_str().unwrap().to_string()
                }
                ("ocen" | "generic", "x-jws-signature" | "signature")
                | ("mosip" | "spar", "signature") => value.split('.').next().unwrap().to_string(),
                _ => continue,
            };
            let expect_crit = v["reason"] == "crit_unsupported";
            let r = Header::parse(&hseg, &rules);
            if expect_crit {
                crit(r);
            } else {
                r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            n += 1;
        }
    }
    eprintln!("parsed {n} vector headers");
    assert!(n >= 16);
}
