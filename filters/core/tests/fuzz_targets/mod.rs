//! The fuzz targets of the decoders and parsers outside the verification pipeline: protobuf
//! (`pb`), `google.protobuf.Struct` metadata (`struct_pb`), bearer JWTs, JWK sets, API-key path
//! templates, the four configuration parsers and the CLI's HTTP message reader.
//!
//! Each target is an input strategy (structure-aware: valid encodings, tokens, configs and
//! messages, then mutated; plus raw bytes) and a property. `fuzz_long.rs` runs them for a time
//! budget (`make fuzz`), `fuzz_props.rs` a few hundred cases each in `cargo test`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};
use signet_core::b64;
use signet_core::config::sign::SignConfig;
use signet_core::config::VerifyConfig;
use signet_core::conformance::Case;
use signet_core::crypto::{CryptoBackend, RustCrypto};
use signet_core::httpmsg::{parse_message, HttpLimits};
use signet_core::jose::Alg;
use signet_core::json::{JsonNumber, JsonValue};
use signet_core::keys::{Jwk, PrivateKey, PublicKey};
use signet_core::pb::{self, Field};
use signet_core::registry::SecretHash;
use signet_core::token::apikey::{strip_query, PathTemplate};
use signet_core::token::fetch::TokenFetcher;
use signet_core::token::fetch_config::FetchConfig;
use signet_core::token::jwks::{cache_control_max_age, JwksCache, JwksSettings, JwksState};
use signet_core::token::jwt::{check_claims, Claims, JwtRules, UntrustedJwt};
use signet_core::token::struct_pb::{self, StructError};
use signet_core::token::{TokenConfig, TokenState};

use crate::common::{ec_key, ed_key, private_pem, public_pem};

pub mod seal;

type Outcome = Result<(), TestCaseError>;

/// The clock of the token targets (2026-05-28).
const NOW_MS: u64 = 1_780_000_000_000;
const NOW_S: u64 = NOW_MS / 1000;

// --- byte and JSON mutations --------------------------------------------------------------------

/// One byte-level edit; positions wrap around the input.
#[derive(Debug, Clone)]
pub enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    /// Copies up to 16 bytes from one place to another (splices fields, segments, lines).
    Copy(usize, usize, usize),
}

fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        any::<u8>(),
        proptest::sample::select(
            b"\x00\x01\x02\x05\x08\x0a\x12\x7f\x80\xff\"{}[]:,.\r\n \t-=".to_vec()
        ),
    ]
}

pub fn edits(max: usize) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), byte()).prop_map(|(p, b)| Edit::Set(p, b)),
        (any::<usize>(), byte()).prop_map(|(p, b)| Edit::Insert(p, b)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(f, n, t)| Edit::Copy(f, n, t)),
    ];
    proptest::collection::vec(edit, 0..max)
}

pub fn apply(bytes: &mut Vec<u8>, edits: &[Edit]) {
    for e in edits {
        let len = bytes.len();
        match *e {
            Edit::Set(p, v) if len > 0 => bytes[p % len] = v,
            Edit::Insert(p, v) => bytes.insert(p % (len + 1), v),
            Edit::Remove(p) if len > 0 => {
                bytes.remove(p % len);
            }
            Edit::Truncate(p) => bytes.truncate(p % (len + 1)),
            Edit::Copy(from, n, to) if len > 0 => {
                let f = from % len;
                let n = (n % 17).min(len - f);
                let chunk = bytes[f..f + n].to_vec();
                let t = to % (len + 1);
                bytes.splice(t..t, chunk);
            }
            _ => {}
        }
    }
}

/// One structural edit of a JSON document; node indices (pre-order) wrap around.
#[derive(Debug, Clone)]
pub enum JsonEdit {
    Replace(usize, Value),
    /// Removes a member / an element of the node, if it is a container.
    Remove(usize, usize),
    /// Adds a member (object) or an element (array) to the node.
    Add(usize, &'static str, Value),
}

/// Values that break configurations in interesting ways.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(0)),
        Just(json!(1)),
        "[ -~]{0,12}".prop_map(Value::String),
        Just(json!("")),
        Just(json!("https://auth.example/x")),
        Just(json!("ES256")),
        Just(json!("*")),
        Just(json!("/{license}/{partner}/{api_key}")),
        Just(json!(
            "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n"
        )),
        Just(json!("2030-01-01T00:00:00Z")),
        Just(Value::String("x".repeat(3000))),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

/// Member names of the configurations (so an added member is often a real one), and others.
fn field_name() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(vec![
        "profile",
        "partners",
        "keys",
        "id",
        "algorithms",
        "public_key_pem",
        "tls_names",
        "signing_key",
        "signing_key_env",
        "kid",
        "source_id",
        "providers",
        "issuer",
        "jwks",
        "jwks_uri",
        "jwks_cluster",
        "policies",
        "policy",
        "routes",
        "api_keys",
        "key_sha256",
        "path_templates",
        "misps",
        "license_keys",
        "credentials",
        "trust_jwt_authn",
        "client_id",
        "scope",
        "timeout_ms",
        "bogus",
        "",
    ])
}

pub fn json_edits(max: usize) -> impl Strategy<Value = Vec<JsonEdit>> {
    let edit = prop_oneof![
        (any::<usize>(), json_value()).prop_map(|(n, v)| JsonEdit::Replace(n, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(n, i)| JsonEdit::Remove(n, i)),
        (any::<usize>(), field_name(), json_value()).prop_map(|(n, k, v)| JsonEdit::Add(n, k, v)),
    ];
    proptest::collection::vec(edit, 0..max)
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

fn nth_mut<'v>(v: &'v mut Value, n: &mut usize) -> Option<&'v mut Value> {
    if *n == 0 {
        return Some(v);
    }
    *n -= 1;
    match v {
        Value::Array(a) => a.iter_mut().find_map(|x| nth_mut(x, n)),
        Value::Object(o) => o.values_mut().find_map(|x| nth_mut(x, n)),
        _ => None,
    }
}

pub fn apply_json(doc: &mut Value, edits: &[JsonEdit]) {
    for e in edits {
        let (n, total) = match e {
            JsonEdit::Replace(n, _) | JsonEdit::Remove(n, _) | JsonEdit::Add(n, _, _) => {
                (*n, count(doc))
            }
        };
        let node = nth_mut(doc, &mut (n % total)).unwrap();
        match (e, node) {
            (JsonEdit::Replace(_, v), node) => *node = v.clone(),
            (JsonEdit::Remove(_, i), Value::Array(a)) if !a.is_empty() => {
                a.remove(i % a.len());
            }
            (JsonEdit::Remove(_, i), Value::Object(o)) if !o.is_empty() => {
                let k = o.keys().nth(i % o.len()).unwrap().clone();
                o.remove(&k);
            }
            (JsonEdit::Add(_, _, v), Value::Array(a)) => a.push(v.clone()),
            (JsonEdit::Add(_, k, v), Value::Object(o)) => {
                o.insert((*k).to_string(), v.clone());
            }
            _ => {}
        }
    }
}

/// A JSON document from one of `bases`, edited structurally, serialized, then edited bytewise;
/// or raw bytes.
#[derive(Debug, Clone)]
pub enum DocInput {
    Edited(usize, Vec<JsonEdit>, Vec<Edit>),
    Raw(Vec<u8>),
}

pub fn doc_input(bases: usize) -> impl Strategy<Value = DocInput> {
    prop_oneof![
        6 => (0..bases, json_edits(4), edits(3)).prop_map(|(b, j, e)| DocInput::Edited(b, j, e)),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(DocInput::Raw),
        1 => "[{}\\[\\]\":,a-z_0-9 ]{0,128}".prop_map(|s| DocInput::Raw(s.into_bytes())),
    ]
}

fn doc_bytes(bases: &[Value], input: &DocInput) -> Vec<u8> {
    match input {
        DocInput::Edited(b, j, e) => {
            let mut doc = bases[*b].clone();
            apply_json(&mut doc, j);
            let mut bytes = doc.to_string().into_bytes();
            apply(&mut bytes, e);
            bytes
        }
        DocInput::Raw(bytes) => bytes.clone(),
    }
}

// --- pb ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub enum OwnedField {
    Varint(u64),
    Fixed64(u64),
    Bytes(Vec<u8>),
    Fixed32(u32),
}

#[derive(Debug, Clone)]
pub enum PbInput {
    /// A valid encoding of these fields, then edited.
    Encoded(Vec<(u64, OwnedField)>, Vec<Edit>),
    Raw(Vec<u8>),
}

pub fn pb_input() -> impl Strategy<Value = PbInput> {
    let number = prop_oneof![1u64..20, 1u64..(1 << 29), 1u64..(u64::MAX >> 3)];
    let value = prop_oneof![
        any::<u64>().prop_map(OwnedField::Varint),
        any::<u64>().prop_map(OwnedField::Fixed64),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(OwnedField::Bytes),
        any::<u32>().prop_map(OwnedField::Fixed32),
    ];
    prop_oneof![
        3 => (proptest::collection::vec((number, value), 0..8), edits(4))
            .prop_map(|(f, e)| PbInput::Encoded(f, e)),
        1 => proptest::collection::vec(any::<u8>(), 0..128).prop_map(PbInput::Raw),
    ]
}

pub fn encode_fields(fields: &[(u64, OwnedField)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (n, f) in fields {
        match f {
            OwnedField::Varint(v) => {
                pb::put_varint(&mut out, n << 3);
                pb::put_varint(&mut out, *v);
            }
            OwnedField::Fixed64(v) => {
                pb::put_varint(&mut out, n << 3 | 1);
                out.extend_from_slice(&v.to_le_bytes());
            }
            OwnedField::Bytes(b) => {
                pb::put_varint(&mut out, n << 3 | 2);
                pb::put_varint(&mut out, b.len() as u64);
                out.extend_from_slice(b);
            }
            OwnedField::Fixed32(v) => {
                pb::put_varint(&mut out, n << 3 | 5);
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

/// The walk never panics, yields at most one error (last), never a slice it was not given,
/// and round-trips what the writer wrote.
pub fn check_pb(input: PbInput) -> Outcome {
    let bytes = match &input {
        PbInput::Encoded(fields, e) => {
            let mut bytes = encode_fields(fields);
            if e.is_empty() {
                let got: Result<Vec<_>, _> = pb::fields(&bytes).collect();
                let got: Vec<(u64, OwnedField)> = got
                    .map_err(|_| TestCaseError::fail("a valid encoding is malformed"))?
                    .into_iter()
                    .map(|(n, f)| {
                        let f = match f {
                            Field::Varint(v) => OwnedField::Varint(v),
                            Field::Fixed64(v) => OwnedField::Fixed64(v),
                            Field::Bytes(b) => OwnedField::Bytes(b.to_vec()),
                            Field::Fixed32(v) => OwnedField::Fixed32(v),
                        };
                        (n, f)
                    })
                    .collect();
                prop_assert_eq!(&got, fields);
            }
            apply(&mut bytes, e);
            bytes
        }
        PbInput::Raw(b) => b.clone(),
    };
    let range = bytes.as_ptr_range();
    let (mut items, mut errors, mut payload) = (0usize, 0usize, 0usize);
    for f in pb::fields(&bytes) {
        items += 1;
        prop_assert_eq!(errors, 0, "an item after the error");
        match f {
            Err(_) => errors += 1,
            Ok((n, Field::Bytes(b))) => {
                prop_assert!(n > 0);
                let r = b.as_ptr_range();
                prop_assert!(range.start <= r.start && r.end <= range.end);
                payload += b.len();
            }
            Ok((n, _)) => prop_assert!(n > 0),
        }
    }
    // Every field takes at least two bytes; the slices never overlap.
    prop_assert!(items <= bytes.len() / 2 + 1);
    prop_assert!(payload <= bytes.len());
    // A varint read is at most ten bytes and re-encodes to at most as many.
    let mut pos = 0;
    if let Some(v) = pb::get_varint(&bytes, &mut pos) {
        prop_assert!(pos <= 10 && pos <= bytes.len());
        let mut again = Vec::new();
        pb::put_varint(&mut again, v);
        prop_assert!(again.len() <= pos);
        let mut p2 = 0;
        prop_assert_eq!(pb::get_varint(&again, &mut p2), Some(v));
    }
    Ok(())
}

// --- struct_pb -----------------------------------------------------------------------------------

pub const JWT_AUTHN: &str = "envoy.filters.http.jwt_authn";

fn json_number() -> impl Strategy<Value = JsonNumber> {
    const EXACT: u64 = 1 << 53;
    prop_oneof![
        (0..EXACT).prop_map(JsonNumber::U64),
        (1..EXACT).prop_map(|n| JsonNumber::I64(-(n as i64))),
        any::<f64>()
            .prop_filter("finite, not integral", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(JsonNumber::F64),
        Just(JsonNumber::U64(NOW_S + 3600)),
    ]
}

/// A claims-like JSON value (object names unique).
fn claims_value() -> impl Strategy<Value = JsonValue> {
    let leaf = prop_oneof![
        Just(JsonValue::Null),
        any::<bool>().prop_map(JsonValue::Bool),
        json_number().prop_map(JsonValue::Number),
        any::<String>().prop_map(JsonValue::String),
        proptest::sample::select(vec!["iss", "a b", "https://issuer.example", ""])
            .prop_map(|s| JsonValue::String(s.into())),
    ];
    leaf.prop_recursive(4, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(JsonValue::Array),
            proptest::collection::vec(("[a-z]{0,4}|exp|iat|nbf|scope|aud", inner), 0..5).prop_map(
                |mut m| {
                    let mut seen = std::collections::HashSet::new();
                    m.retain(|(k, _)| seen.insert(k.clone()));
                    JsonValue::Object(m)
                }
            ),
        ]
    })
}

fn enc_value(v: &JsonValue) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        JsonValue::Null => {
            pb::put_varint(&mut out, 1 << 3);
            pb::put_varint(&mut out, 0);
        }
        JsonValue::Number(n) => {
            let x = match *n {
                JsonNumber::U64(u) => u as f64,
                JsonNumber::I64(i) => i as f64,
                JsonNumber::F64(f) => f,
            };
            pb::put_varint(&mut out, 2 << 3 | 1);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        JsonValue::String(s) => pb::put_bytes(&mut out, 3, s.as_bytes()),
        JsonValue::Bool(b) => {
            pb::put_varint(&mut out, 4 << 3);
            pb::put_varint(&mut out, u64::from(*b));
        }
        JsonValue::Object(m) => pb::put_bytes(&mut out, 5, &enc_struct(m)),
        JsonValue::Array(items) => {
            let mut list = Vec::new();
            for x in items {
                pb::put_bytes(&mut list, 1, &enc_value(x));
            }
            pb::put_bytes(&mut out, 6, &list);
        }
    }
    out
}

pub fn enc_struct(members: &[(String, JsonValue)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in members {
        let mut entry = Vec::new();
        pb::put_bytes(&mut entry, 1, k.as_bytes());
        pb::put_bytes(&mut entry, 2, &enc_value(v));
        pb::put_bytes(&mut out, 1, &entry);
    }
    out
}

/// `Metadata{filter_metadata: {other: {}, jwt_authn: {"payload": claims}}}`.
pub fn enc_metadata(claims: &JsonValue) -> Vec<u8> {
    let mut out = Vec::new();
    for (ns, s) in [
        (
            "envoy.lb",
            enc_struct(&[("x".into(), JsonValue::Bool(true))]),
        ),
        (JWT_AUTHN, enc_struct(&[("payload".into(), claims.clone())])),
    ] {
        let mut entry = Vec::new();
        pb::put_bytes(&mut entry, 1, ns.as_bytes());
        pb::put_bytes(&mut entry, 2, &s);
        pb::put_bytes(&mut out, 1, &entry);
    }
    out
}

#[derive(Debug, Clone)]
pub enum StructInput {
    /// The metadata of these claims, edited.
    Encoded(JsonValue, Vec<Edit>),
    /// `depth` lists (or structs) nested in one another.
    Deep(usize, bool),
    Raw(Vec<u8>),
}

pub fn struct_input() -> impl Strategy<Value = StructInput> {
    let claims = claims_value().prop_map(|v| match v {
        JsonValue::Object(_) => v,
        other => JsonValue::Object(vec![("v".into(), other)]),
    });
    prop_oneof![
        6 => (claims, edits(5)).prop_map(|(c, e)| StructInput::Encoded(c, e)),
        1 => (1usize..40, any::<bool>()).prop_map(|(d, s)| StructInput::Deep(d, s)),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(StructInput::Raw),
    ]
}

/// Nodes, string bytes and container depth of a value.
fn measure(v: &JsonValue) -> (usize, usize, usize) {
    match v {
        JsonValue::String(s) => (1, s.len(), 0),
        JsonValue::Array(items) => items
            .iter()
            .map(measure)
            .fold((1, 0, 1), |a, m| (a.0 + m.0, a.1 + m.1, a.2.max(m.2 + 1))),
        JsonValue::Object(m) => m.iter().fold((1, 0, 1), |a, (k, v)| {
            let m = measure(v);
            (a.0 + m.0, a.1 + k.len() + m.1, a.2.max(m.2 + 1))
        }),
        _ => (1, 0, 0),
    }
}

/// The decoders never panic, and what they return is bounded by the input (each node, string
/// and name has bytes of its own) and by `MAX_DEPTH`; an unedited encoding decodes to the
/// claims it encodes; decoded claims go through the claim rules without panicking.
pub fn check_struct(input: StructInput) -> Outcome {
    let (bytes, expect) = match input {
        StructInput::Encoded(claims, e) => {
            let mut bytes = enc_metadata(&claims);
            let expect = e.is_empty().then_some(claims);
            apply(&mut bytes, &e);
            (bytes, expect)
        }
        StructInput::Deep(depth, as_struct) => {
            let mut v = JsonValue::Null;
            for _ in 0..depth {
                v = if as_struct {
                    JsonValue::Object(vec![("a".into(), v)])
                } else {
                    JsonValue::Array(vec![v])
                };
            }
            let bytes = enc_metadata(&v);
            let ok = depth <= struct_pb::MAX_DEPTH;
            let got = struct_pb::payload_from_metadata(&bytes, JWT_AUTHN, "payload");
            prop_assert_eq!(got.is_ok(), ok, "depth {}: {:?}", depth, got);
            if !ok {
                prop_assert_eq!(got, Err(StructError::TooBig));
            }
            (bytes, None)
        }
        StructInput::Raw(b) => (b, None),
    };
    let got = struct_pb::payload_from_metadata(&bytes, JWT_AUTHN, "payload");
    if let Some(claims) = expect {
        prop_assert_eq!(&got, &Ok(Some(claims)));
    }
    let direct = struct_pb::decode_struct(&bytes);
    for v in [got.ok().flatten(), direct.ok()].into_iter().flatten() {
        let (nodes, text, depth) = measure(&v);
        prop_assert!(
            nodes <= bytes.len().max(1),
            "{} nodes from {} bytes",
            nodes,
            bytes.len()
        );
        prop_assert!(text <= bytes.len());
        prop_assert!(depth <= struct_pb::MAX_DEPTH, "depth {}", depth);
        if let Ok(claims) = Claims::from_value(v) {
            let _ = claims.scopes();
            for name in ["exp", "nbf", "iat"] {
                let _ = claims.time_ms(name);
            }
            let _ = check_claims(&claims, jwt_rules(), NOW_MS);
        }
    }
    Ok(())
}

// --- JWT -----------------------------------------------------------------------------------------

struct JwtKeys {
    ec: PrivateKey,
    ed: PrivateKey,
    jwks: Vec<Jwk>,
    rules: JwtRules,
    /// A valid ES256 token and a valid EdDSA token.
    valid: [String; 2],
}

const ISSUER: &str = "https://issuer.example";

fn jwt_keys() -> &'static JwtKeys {
    static K: OnceLock<JwtKeys> = OnceLock::new();
    K.get_or_init(|| {
        let ec = ec_key(71);
        let ed = ed_key(72);
        let jwk = |k: &PrivateKey, kid: &str| Jwk {
            key: k.public_key(),
            kid: Some(kid.into()),
            alg: None,
        };
        let jwks = vec![jwk(&ec, "ec1"), jwk(&ed, "ed1")];
        let rules = JwtRules {
            issuer: ISSUER.into(),
            audiences: vec!["api".into()],
            algorithms: vec![Alg::ES256, Alg::EdDSA],
            require_exp: true,
            require_iat: false,
            clock_skew_s: 60,
            required_scopes: vec!["a".into()],
            required_claims: vec![("typ".into(), JsonValue::String("Bearer".into()))],
        };
        let claims = format!(
            r#"{{"iss":"{ISSUER}","sub":"bank-a","aud":"api","exp":{},"iat":{},"scope":"a b","typ":"Bearer","jti":"j1"}}"#,
            NOW_S + 3600,
            NOW_S - 10
        );
        let valid = [
            sign_jwt(r#"{"alg":"ES256","kid":"ec1","typ":"JWT"}"#, &claims, &ec, Alg::ES256),
            sign_jwt(r#"{"alg":"EdDSA","kid":"ed1"}"#, &claims, &ed, Alg::EdDSA),
        ];
        let keys = JwtKeys {
            ec,
            ed,
            jwks,
            rules,
            valid,
        };
        for t in &keys.valid {
            let jwt = UntrustedJwt::parse(t).unwrap();
            jwt.verify(&keys.rules, &keys.jwks, NOW_MS, &RustCrypto)
                .unwrap();
        }
        keys
    })
}

fn jwt_rules() -> &'static JwtRules {
    &jwt_keys().rules
}

fn sign_jwt(header: &str, claims: &str, key: &PrivateKey, alg: Alg) -> String {
    let input = format!(
        "{}.{}",
        b64::encode_url(header.as_bytes()),
        b64::encode_url(claims.as_bytes())
    );
    let sig = RustCrypto.sign(alg, key, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode_url(&sig))
}

#[derive(Debug, Clone)]
pub enum JwtInput {
    /// A valid token, edited.
    Mutated(usize, Vec<Edit>),
    /// A header and claims from pieces, signed with the real key of the header's alg.
    Signed(String, Vec<&'static str>),
    Raw(String),
}

/// One of the claims' variants (`""`: the member is absent).
fn one(values: Vec<&'static str>) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(values)
}

pub fn jwt_input() -> impl Strategy<Value = JwtInput> {
    let header = (
        proptest::sample::select(vec![
            r#""alg":"ES256""#,
            r#""alg":"EdDSA""#,
            r#""alg":"none""#,
            r#""alg":"HS256""#,
            r#""alg":"RS256""#,
            r#""alg":1"#,
            "",
        ]),
        proptest::sample::select(vec![
            r#","kid":"ec1""#,
            r#","kid":"ed1""#,
            r#","kid":"x""#,
            r#","kid":1"#,
            "",
        ]),
        proptest::sample::select(vec![
            "",
            r#","typ":"JWT""#,
            r#","crit":["exp"]"#,
            r#","b64":false"#,
            r#","jwk":{}"#,
        ]),
    )
        .prop_map(|(a, k, x)| format!("{{{}}}", format!("{a}{k}{x}").trim_start_matches(',')));
    let claims = (
        one(vec![
            r#""iss":"https://issuer.example""#,
            r#""iss":"https://evil.example""#,
            r#""iss":1"#,
            "",
        ]),
        one(vec![
            "\"exp\":FUTURE",
            "\"exp\":PAST",
            "\"exp\":SKEW",
            "\"exp\":FUTURE.5",
            "\"exp\":1e300",
            "\"exp\":-1e300",
            "\"exp\":\"FUTURE\"",
            "\"exp\":18446744073709551615",
            "\"exp\":-9223372036854775808",
            "\"exp\":null",
            "",
        ]),
        one(vec![
            "\"nbf\":PAST",
            "\"nbf\":FUTURE",
            "\"nbf\":1e20",
            "\"nbf\":[]",
            "",
        ]),
        one(vec![
            "\"iat\":PAST",
            "\"iat\":FUTURE",
            "\"iat\":SKEW",
            "\"iat\":-0.0",
            "",
        ]),
        one(vec![
            r#""aud":"api""#,
            r#""aud":["x","api"]"#,
            r#""aud":[]"#,
            r#""aud":1"#,
            "",
        ]),
        one(vec![
            r#""scope":"a b""#,
            r#""scope":"b""#,
            r#""scp":["a"]"#,
            r#""scp":"a""#,
            r#""scope":["a"]"#,
            "",
        ]),
        one(vec![
            r#""typ":"Bearer""#,
            r#""typ":["Bearer"]"#,
            r#""typ":"x""#,
            "",
        ]),
        one(vec![
            r#""jti":"j1""#,
            r#""jti":"""#,
            r#""jti":1"#,
            r#""iss":"dup""#,
            "",
        ]),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| vec![a, b, c, d, e, f, g, h]);
    prop_oneof![
        4 => (0usize..2, edits(4)).prop_map(|(i, e)| JwtInput::Mutated(i, e)),
        4 => (header, claims).prop_map(|(h, c)| JwtInput::Signed(h, c)),
        1 => "[A-Za-z0-9_\\-.]{0,120}".prop_map(JwtInput::Raw),
        1 => any::<String>().prop_map(JwtInput::Raw),
    ]
}

/// Never panics; an edited token never verifies unless it is the original; a token signed with
/// the right key verifies only if its claims meet the rules (checked here independently of
/// `check_claims`: issuer, expiry, audience, scope, `typ`).
pub fn check_jwt(input: JwtInput) -> Outcome {
    let k = jwt_keys();
    let (token, pieces) = match &input {
        JwtInput::Mutated(i, e) => {
            let mut bytes = k.valid[*i].clone().into_bytes();
            apply(&mut bytes, e);
            (String::from_utf8_lossy(&bytes).into_owned(), None)
        }
        JwtInput::Signed(header, members) => {
            let members: Vec<String> = members
                .iter()
                .filter(|m| !m.is_empty())
                .map(|m| {
                    m.replace("FUTURE", &(NOW_S + 3600).to_string())
                        .replace("PAST", &(NOW_S - 3600).to_string())
                        .replace("SKEW", &(NOW_S - 30).to_string())
                })
                .collect();
            let claims = format!("{{{}}}", members.join(","));
            let (key, alg) = if header.contains("ES256") {
                (&k.ec, Alg::ES256)
            } else {
                (&k.ed, Alg::EdDSA)
            };
            (sign_jwt(header, &claims, key, alg), Some(members))
        }
        JwtInput::Raw(s) => (s.clone(), None),
    };
    let Ok(jwt) = UntrustedJwt::parse(&token) else {
        return Ok(());
    };
    let _ = (jwt.header(), jwt.unverified_issuer());
    let verified = jwt.verify(&k.rules, &k.jwks, NOW_MS, &RustCrypto);
    match (&input, verified) {
        (JwtInput::Mutated(i, _), Ok(_)) => {
            prop_assert_eq!(&token, &k.valid[*i], "an edited token verified")
        }
        (JwtInput::Signed(..), Ok(v)) => {
            let m = pieces.unwrap();
            let has = |s: &str| m.iter().any(|x| x.as_str() == s);
            prop_assert!(has(r#""iss":"https://issuer.example""#) && !has(r#""iss":"dup""#));
            prop_assert!(v.exp_ms.is_some_and(|e| e + 60_000 > NOW_MS as i64));
            prop_assert!(has(r#""aud":"api""#) || has(r#""aud":["x","api"]"#));
            prop_assert!(has(r#""scope":"a b""#) || has(r#""scp":["a"]"#) || has(r#""scp":"a""#));
            prop_assert!(has(r#""typ":"Bearer""#) || has(r#""typ":["Bearer"]"#));
        }
        (JwtInput::Raw(_), Ok(_)) => prop_assert!(false, "a random token verified"),
        (_, Err(_)) => {}
    }
    Ok(())
}

// --- JWKS ----------------------------------------------------------------------------------------

fn jwk_json(k: &PrivateKey, kid: &str) -> Value {
    match k.public_key() {
        PublicKey::P256(v) => {
            let p = v.to_encoded_point(false);
            json!({"kty": "EC", "crv": "P-256", "kid": kid,
                   "x": b64::encode_url(p.x().unwrap()), "y": b64::encode_url(p.y().unwrap())})
        }
        PublicKey::Ed25519(v) => {
            json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64::encode_url(v.as_bytes())})
        }
        _ => unreachable!(),
    }
}

fn jwks_bases() -> &'static [Value] {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        let weak_rsa = {
            let mut n = vec![0x01u8; 128];
            n[0] = 0xc5;
            json!({"kty": "RSA", "kid": "r1", "alg": "RS256", "n": b64::encode_url(&n), "e": "AQAB"})
        };
        vec![
            json!({"keys": [jwk_json(&ec_key(73), "ec1"), jwk_json(&ed_key(74), "ed1")]}),
            json!({"keys": [jwk_json(&ec_key(75), "ec1"), weak_rsa]}),
        ]
    })
}

#[derive(Debug, Clone)]
pub struct JwksInput {
    body: DocInput,
    max_age: Option<u64>,
    cache_control: String,
}

pub fn jwks_input() -> impl Strategy<Value = JwksInput> {
    (
        doc_input(2),
        proptest::option::of(any::<u64>()),
        "(max-age|no-cache|no-store|private|[a-z=\"0-9 ,-]){0,4}",
    )
        .prop_map(|(body, max_age, cache_control)| JwksInput {
            body,
            max_age,
            cache_control,
        })
}

/// A fetched body either replaces the keys (then they are usable and fresh) or leaves the
/// previous ones in place; `Cache-Control` parsing never panics and reads what it is given.
pub fn check_jwks(input: JwksInput) -> Outcome {
    let bases = jwks_bases();
    let mut cache = JwksCache::new(JwksSettings::default());
    let first = cache.on_fetch_ok(bases[0].to_string().as_bytes(), None, NOW_MS);
    prop_assert!(first.is_ok());
    let before = cache.keys(NOW_MS).unwrap();
    let generation = cache.generation();
    let body = doc_bytes(bases, &input.body);
    let now = NOW_MS + 1000;
    match cache.on_fetch_ok(&body, input.max_age, now) {
        Ok(u) => {
            prop_assert!(u.kept >= 1);
            prop_assert_eq!(cache.keys(now).unwrap().len(), u.kept);
            prop_assert_eq!(cache.state(now), JwksState::Fresh);
            prop_assert_eq!(cache.generation(), generation + u64::from(u.changed));
        }
        Err(_) => {
            prop_assert_eq!(cache.keys(now).unwrap(), before);
            prop_assert_eq!(cache.generation(), generation);
        }
    }
    let _ = cache.needs_refresh(now);
    let _ = cache_control_max_age(&input.cache_control);
    if let Some(n) = input.max_age {
        prop_assert_eq!(
            cache_control_max_age(&format!("public, max-age={n}")),
            Some(n)
        );
    }
    Ok(())
}

// --- API keys ------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct ApiKeyInput {
    template: String,
    path: String,
    hex: String,
}

pub fn apikey_input() -> impl Strategy<Value = ApiKeyInput> {
    let tseg = proptest::sample::select(vec![
        "{license}",
        "{licence}",
        "{partner}",
        "{api_key}",
        "*",
        "v1",
        "auth",
        "",
        "{x}",
        "a?b",
        "**",
    ]);
    let template = prop_oneof![
        4 => (
            proptest::sample::select(vec!["/", ".../", "..", ""]),
            proptest::collection::vec(tseg, 0..6)
        )
            .prop_map(|(p, s)| format!("{p}{}", s.join("/"))),
        1 => Just("ida".to_string()),
        1 => any::<String>(),
    ];
    let pseg = proptest::sample::select(vec![
        "idauthentication",
        "v1",
        "auth",
        "kyc",
        "otp",
        "kyc-auth",
        "delegated",
        "LK1",
        "p1",
        "key1",
        "",
        "%2F",
        "a?x=1/y",
        "é",
    ]);
    let path = prop_oneof![
        4 => proptest::collection::vec(pseg, 0..9).prop_map(|s| format!("/{}", s.join("/"))),
        1 => any::<String>(),
    ];
    let hex = prop_oneof!["[0-9a-fA-F]{64}", "[0-9a-gA-G]{60,66}", any::<String>()];
    (template, path, hex).prop_map(|(template, path, hex)| ApiKeyInput {
        template,
        path,
        hex,
    })
}

/// Templates parse or say why; what a template captures it also redacts, segment for segment,
/// never leaving a captured licence or API key in clear; hashes read exactly 64 hex digits.
pub fn check_apikey(input: ApiKeyInput) -> Outcome {
    prop_assert_eq!(
        SecretHash::from_hex(&input.hex).is_some(),
        input.hex.len() == 64 && input.hex.bytes().all(|b| b.is_ascii_hexdigit())
    );
    let Ok(t) = PathTemplate::parse(&input.template) else {
        return Ok(());
    };
    let ids = t.capture(&input.path);
    let redacted = t.redact(&input.path);
    if let Some(ids) = ids {
        let r = redacted.as_deref();
        prop_assert!(r.is_some(), "captured but not redacted");
        let r = r.unwrap();
        let segs = strip_query(&input.path).split('/').count();
        prop_assert_eq!(r.split('/').count(), segs, "{:?}", r);
        for secret in [ids.licence, ids.api_key].into_iter().flatten() {
            let hashed = format!("~{}", SecretHash::of(secret).short());
            prop_assert!(
                r.split('/').any(|s| s == hashed),
                "{:?} not hashed in {:?}",
                secret,
                r
            );
        }
    }
    Ok(())
}

// --- configurations ------------------------------------------------------------------------------

fn key_file(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The environment the sign and fetch configurations see.
fn env(name: &str) -> Option<String> {
    match name {
        "SIGNET_SIGNING_KEY" => Some(key_file("test-rsa2048-pkcs8.pem")),
        "SIGNET_CLIENT_SECRET" => Some("s3cret".into()),
        _ => None,
    }
}

fn token_bases() -> &'static [Value] {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        let jwks = json!({"keys": [jwk_json(&ec_key(82), "k1")]});
        let bases = vec![
            json!({
                "providers": [
                    {
                        "name": "keycloak",
                        "issuer": "https://auth.example/realms/ocen",
                        "audiences": ["lender-api"],
                        "jwks_uri": "https://auth.example/realms/ocen/protocol/openid-connect/certs",
                        "jwks_cluster": "auth_service",
                        "jwks_cache": {"default_max_age_s": 600, "stale_s": 3600, "fetch_timeout_ms": 3000},
                        "claim_to_partner": "participantId",
                        "required_scopes": ["loan.write"],
                        "required_claims": {"typ": "Bearer"},
                        "algorithms": ["RS256"],
                        "require_iat": true
                    },
                    {"name": "static", "issuer": "http://issuer.local", "jwks": jwks.to_string(), "header": "X-JWT", "prefix": ""}
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
            }),
            json!({"providers": [{"name": "p", "issuer": "https://auth.example", "jwks": jwks,
                                  "claim_to_partner": "sub"}]}),
        ];
        for b in &bases {
            TokenConfig::from_json(b.to_string().as_bytes()).unwrap();
        }
        bases
    })
}

/// `token_check`: parses, or names the field that is wrong; what parses builds its runtime state.
pub fn check_token_config(input: DocInput) -> Outcome {
    let bytes = doc_bytes(token_bases(), &input);
    match TokenConfig::from_json(&bytes) {
        Ok(cfg) => {
            // The JWKS schedule under the configured timings: a failed fetch, the retry, a
            // set with the longest `max-age`, the refresh.
            let mut state = TokenState::new(&cfg);
            let body = jwks_bases()[0].to_string();
            for (i, now) in [NOW_MS, NOW_MS + 1, u64::MAX / 2, u64::MAX]
                .into_iter()
                .enumerate()
            {
                for f in state.due_fetches(&cfg, now) {
                    let status = (i % 2 == 1).then_some(200);
                    let cc = format!("max-age={}", u64::MAX);
                    let _ =
                        state.on_jwks_response(f.provider, status, body.as_bytes(), Some(&cc), now);
                }
            }
        }
        Err(e) => {
            prop_assert!(!e.field.is_empty() && !e.message.is_empty(), "{:?}", e);
        }
    }
    Ok(())
}

fn fetch_bases() -> &'static [Value] {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        let bases = vec![
            json!({"cluster": "auth", "token_uri": "https://auth.example/realms/ocen/protocol/openid-connect/token",
                   "client_id": "dfsp-a", "client_secret_env": "SIGNET_CLIENT_SECRET", "scope": "transfers",
                   "timeout_ms": 5000, "retry_interval_s": 5, "default_expires_in_s": 300}),
            json!({"cluster": "auth", "token_uri": "http://auth:8080/token", "client_id": "c",
                   "client_secret_env": "SIGNET_CLIENT_SECRET"}),
        ];
        for b in &bases {
            FetchConfig::from_json(b.to_string().as_bytes(), &env).unwrap();
        }
        bases
    })
}

/// `token_fetch`: parses, or names the field that is wrong.
pub fn check_fetch_config(input: DocInput) -> Outcome {
    let bytes = doc_bytes(fetch_bases(), &input);
    match FetchConfig::from_json(&bytes, &env) {
        Ok(cfg) => {
            // The fetcher under the configured timings: a failure, then the longest lifetime.
            let mut f = TokenFetcher::new(cfg.settings);
            let long = format!(r#"{{"access_token":"t","expires_in":{}}}"#, u64::MAX);
            for (now, status) in [(NOW_MS, 500), (u64::MAX / 2, 200), (u64::MAX, 200)] {
                let _ = f.acquire(now);
                let _ = f.on_response(Some(status), long.as_bytes(), now);
            }
        }
        Err(e) => prop_assert!(!e.field.is_empty() && !e.message.is_empty(), "{:?}", e),
    }
    Ok(())
}

fn verify_bases() -> &'static [Value] {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        let (ec, ed, rsa) = (ec_key(83), ed_key(84), key_file("test-rsa2048-spki.pem"));
        let mosip = Case::from_json(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/data/vectors/mosip-2.json"
            ))
            .unwrap(),
        )
        .unwrap()
        .config_json()
        .unwrap();
        let bases = vec![
            json!({"profile": {"mojaloop": {"source_binding": "peer", "trusted_forwarders": []}},
                   "partners": [{"id": "dfsp-a", "tls_names": ["dfsp-a.example"],
                                 "keys": [{"public_key_pem": public_pem(&ec)}]}]}),
            json!({"profile": "ocen", "partners": [{"id": "3051", "keys": [{"public_key_pem": rsa}]}]}),
            json!({"profile": "spar", "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": rsa}]}]}),
            json!({"profile": "generic", "partners": [{"id": "p", "keys": [{"public_key_pem": public_pem(&ed)}]}]}),
            mosip,
        ];
        for b in &bases {
            if let Err(e) = VerifyConfig::from_json(&b.to_string()) {
                panic!("verify base {b}: {e}");
            }
        }
        bases
    })
}

/// `jws_verify`: parses, or says what is wrong (one line).
pub fn check_verify_config(input: DocInput) -> Outcome {
    let bytes = doc_bytes(verify_bases(), &input);
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(());
    };
    if let Err(e) = VerifyConfig::from_json(text) {
        prop_assert!(!e.message.trim().is_empty(), "empty error");
    }
    Ok(())
}

fn sign_bases() -> &'static [Value] {
    static B: OnceLock<Vec<Value>> = OnceLock::new();
    B.get_or_init(|| {
        let (ec, ed, rsa) = (ec_key(85), ed_key(86), key_file("test-rsa2048-pkcs8.pem"));
        let bases = vec![
            json!({"profile": {"mojaloop": {"source_id": "dfsp-a"}}, "signing_key": private_pem(&ec)}),
            json!({"profile": "ocen", "kid": "k1", "signing_key_env": "SIGNET_SIGNING_KEY"}),
            json!({"profile": "spar", "signing_key": rsa}),
            json!({"profile": {"generic": {"sign_unencoded": true}}, "signing_key": private_pem(&ed)}),
        ];
        for b in &bases {
            if let Err(e) = SignConfig::from_json(&b.to_string(), &env) {
                panic!("sign base {b}: {e}");
            }
        }
        bases
    })
}

/// `jws_sign`: parses, or says what is wrong.
pub fn check_sign_config(input: DocInput) -> Outcome {
    let bytes = doc_bytes(sign_bases(), &input);
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(());
    };
    if let Err(e) = SignConfig::from_json(text, &env) {
        prop_assert!(!e.message.trim().is_empty(), "empty error");
    }
    Ok(())
}

// --- HTTP messages -------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct HttpInput {
    request: bool,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// 0: none, 1: `Content-Length`, 2: chunked in chunks of this many bytes (at least 1).
    framing: (u8, usize),
    crlf: bool,
    edits: Vec<Edit>,
}

pub fn http_input() -> impl Strategy<Value = HttpInput> {
    let header = (
        proptest::sample::select(vec![
            "content-type",
            "Date",
            "FSPIOP-Source",
            "x-jws-signature",
            "host",
        ]),
        "[!-~]([ -~]{0,30}[!-~])?",
    );
    (
        any::<bool>(),
        proptest::collection::vec(header, 0..6),
        proptest::collection::vec(any::<u8>(), 0..200),
        (0u8..3, 1usize..64),
        any::<bool>(),
        edits(5),
    )
        .prop_map(|(request, headers, body, framing, crlf, edits)| HttpInput {
            request,
            headers,
            body,
            framing,
            crlf,
            edits,
        })
}

fn http_bytes(m: &HttpInput) -> Vec<u8> {
    let eol = if m.crlf { "\r\n" } else { "\n" };
    let mut out = if m.request {
        format!("POST /transfers?x=1 HTTP/1.1{eol}")
    } else {
        format!("HTTP/1.1 202 Accepted{eol}")
    };
    for (n, v) in &m.headers {
        out.push_str(&format!("{n}: {v}{eol}"));
    }
    match m.framing.0 {
        1 => out.push_str(&format!("Content-Length: {}{eol}", m.body.len())),
        2 => out.push_str(&format!("Transfer-Encoding: chunked{eol}")),
        _ => {}
    }
    out.push_str(eol);
    let mut bytes = out.into_bytes();
    if m.framing.0 == 2 {
        for chunk in m.body.chunks(m.framing.1) {
            bytes.extend_from_slice(format!("{:x};ext=1{eol}", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(eol.as_bytes());
        }
        bytes.extend_from_slice(format!("0{eol}trailer: t{eol}{eol}").as_bytes());
    } else {
        bytes.extend_from_slice(&m.body);
    }
    bytes
}

/// A well-framed message reads back its body; an edited one parses or names its line; what
/// parses stays within the limits and renders to a message that parses to itself.
pub fn check_http(input: HttpInput) -> Outcome {
    let mut bytes = http_bytes(&input);
    if input.edits.is_empty() {
        let m = parse_message(&bytes, HttpLimits::default());
        prop_assert!(m.is_ok(), "{:?}", m);
        prop_assert_eq!(&m.unwrap().body, &input.body);
    }
    apply(&mut bytes, &input.edits);
    let small = HttpLimits {
        max_headers: 4,
        max_line_bytes: 64,
        max_body_bytes: 100,
    };
    for limits in [small, HttpLimits::default()] {
        match parse_message(&bytes, limits) {
            Ok(m) => {
                prop_assert!(m.headers.len() <= limits.max_headers);
                prop_assert!(m.body.len() <= limits.max_body_bytes);
                let again = parse_message(&m.render(), HttpLimits::default());
                prop_assert_eq!(again, Ok(m));
            }
            Err(e) => {
                let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
                prop_assert!(
                    e.line >= 1 && e.line <= lines,
                    "{:?} of {} lines: {:?}",
                    e,
                    lines,
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }
    Ok(())
}
