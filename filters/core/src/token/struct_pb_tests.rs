use super::*;
use crate::json::{parse_strict, JsonLimits};
use crate::pb::put_bytes;

fn key_value(key: &str, value: &[u8]) -> Vec<u8> {
    let mut e = Vec::new();
    put_bytes(&mut e, 1, key.as_bytes());
    put_bytes(&mut e, 2, value);
    e
}

fn string(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    put_bytes(&mut v, 3, s.as_bytes());
    v
}

fn num(x: f64) -> Vec<u8> {
    let mut v = vec![0x11];
    v.extend_from_slice(&x.to_bits().to_le_bytes());
    v
}

fn boolean(b: bool) -> Vec<u8> {
    vec![0x20, u8::from(b)]
}

fn null() -> Vec<u8> {
    vec![0x08, 0x00]
}

fn strukt(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut s = Vec::new();
    for (k, v) in members {
        put_bytes(&mut s, 1, &key_value(k, v));
    }
    s
}

fn struct_v(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut v = Vec::new();
    put_bytes(&mut v, 5, &strukt(members));
    v
}

fn list_v(items: &[Vec<u8>]) -> Vec<u8> {
    let mut l = Vec::new();
    for i in items {
        put_bytes(&mut l, 1, i);
    }
    let mut v = Vec::new();
    put_bytes(&mut v, 6, &l);
    v
}

/// A `Metadata` with `filter_metadata[ns] = {key: payload}` plus an unrelated namespace.
fn metadata(ns: &str, key: &str, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    put_bytes(
        &mut m,
        1,
        &key_value("envoy.lb", &strukt(&[("canary", boolean(true))])),
    );
    put_bytes(
        &mut m,
        1,
        &key_value(ns, &strukt(&[(key, payload.to_vec())])),
    );
    m
}

fn json(text: &str) -> JsonValue {
    parse_strict(text.as_bytes(), JsonLimits::BODY).unwrap()
}

const NS: &str = "envoy.filters.http.jwt_authn";

fn claims() -> Vec<u8> {
    struct_v(&[
        ("iss", string("http://auth")),
        ("exp", num(1_700_000_000.0)),
        ("skew", num(-2.5)),
        ("neg", num(-3.0)),
        ("admin", boolean(false)),
        ("none", null()),
        ("aud", list_v(&[string("a"), string("b")])),
        ("nested", struct_v(&[("participantId", string("dfsp-a"))])),
    ])
}

#[test]
fn reads_the_payload_from_metadata() {
    let got = payload_from_metadata(&metadata(NS, "jwt_payload", &claims()), NS, "jwt_payload");
    let want = json(
        r#"{"iss":"http://auth","exp":1700000000,"skew":-2.5,"neg":-3,"admin":false,"none":null,
            "aud":["a","b"],"nested":{"participantId":"dfsp-a"}}"#,
    );
    assert_eq!(got, Ok(Some(want)));
}

#[test]
fn absent_namespace_or_key_is_none() {
    let m = metadata(NS, "jwt_payload", &claims());
    assert_eq!(payload_from_metadata(&m, NS, "other"), Ok(None));
    assert_eq!(
        payload_from_metadata(&m, "other.ns", "jwt_payload"),
        Ok(None)
    );
    assert_eq!(payload_from_metadata(b"", NS, "jwt_payload"), Ok(None));
}

#[test]
fn integral_doubles_become_integers_only_when_exact() {
    let v = |x: f64| decode_value(&num(x), 0);
    assert_eq!(v(0.0), Ok(JsonValue::Number(JsonNumber::U64(0))));
    assert_eq!(v(-0.0), Ok(JsonValue::Number(JsonNumber::U64(0))));
    assert_eq!(
        v(9_007_199_254_740_991.0),
        Ok(JsonValue::Number(JsonNumber::U64(9_007_199_254_740_991)))
    );
    assert_eq!(v(EXACT), Ok(JsonValue::Number(JsonNumber::F64(EXACT))));
    assert_eq!(v(1.5), Ok(JsonValue::Number(JsonNumber::F64(1.5))));
    assert_eq!(v(f64::NAN), Err(StructError::NotFinite));
    assert_eq!(v(f64::INFINITY), Err(StructError::NotFinite));
}

#[test]
fn unknown_fields_are_skipped_and_the_last_kind_wins() {
    let mut v = string("first");
    v.extend_from_slice(&[0x48, 0x01]); // field 9 varint: unknown
    v.extend(boolean(true));
    assert_eq!(decode_value(&v, 0), Ok(JsonValue::Bool(true)));
    let mut s = strukt(&[("a", null())]);
    s.extend_from_slice(&[0x10, 0x05]); // Struct field 2: unknown
    assert_eq!(decode_struct(&s), Ok(json(r#"{"a":null}"#)));
}

#[test]
fn refuses_what_is_not_a_well_formed_struct() {
    let cases: Vec<(Vec<u8>, StructError)> = vec![
        (vec![], StructError::NoKind),
        (vec![0x1a, 0x05, b'a'], StructError::Malformed),
        (vec![0x1a, 0x02, 0xff, 0xfe], StructError::NotUtf8),
        (vec![0x10, 0x01], StructError::Malformed), // number as varint
        (vec![0x22, 0x00], StructError::Malformed), // bool as bytes
        (vec![0x0b], StructError::Malformed),       // group
        (
            struct_v(&[("a", null()), ("a", null())]),
            StructError::DuplicateName,
        ),
        (
            {
                let mut v = Vec::new();
                put_bytes(&mut v, 5, &{
                    let mut s = Vec::new();
                    let mut e = Vec::new();
                    put_bytes(&mut e, 1, b"k");
                    put_bytes(&mut s, 1, &e);
                    s
                });
                v
            },
            StructError::NoKind,
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(decode_value(&bytes, 0), Err(err), "{bytes:?}");
    }
    assert_eq!(
        payload_from_metadata(b"\x0a\x05ab", NS, "p"),
        Err(StructError::Malformed)
    );
    assert_eq!(
        payload_from_metadata(&vec![0; MAX_INPUT + 1], NS, "p"),
        Err(StructError::TooLarge)
    );
}

#[test]
fn depth_and_width_are_bounded() {
    let mut v = string("leaf");
    for _ in 0..MAX_DEPTH {
        v = list_v(&[v]);
    }
    assert!(decode_value(&v, 0).is_ok());
    let deeper = list_v(&[v]);
    assert_eq!(decode_value(&deeper, 0), Err(StructError::TooBig));

    let wide: Vec<Vec<u8>> = (0..=MAX_MEMBERS).map(|_| null()).collect();
    assert_eq!(decode_value(&list_v(&wide), 0), Err(StructError::TooBig));
    let names: Vec<String> = (0..=MAX_MEMBERS).map(|i| format!("k{i}")).collect();
    let members: Vec<(&str, Vec<u8>)> = names.iter().map(|n| (n.as_str(), null())).collect();
    assert_eq!(
        decode_value(&struct_v(&members), 0),
        Err(StructError::TooBig)
    );
}

#[test]
fn garbage_never_panics() {
    // A deterministic xorshift over lengths and bytes, plus every truncation of a real message.
    let good = metadata(NS, "p", &claims());
    for end in 0..good.len() {
        let _ = payload_from_metadata(good.get(..end).unwrap(), NS, "p");
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut bytes = Vec::new();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 64) as usize;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes.push((x >> 24) as u8);
        }
        let _ = payload_from_metadata(&bytes, NS, "p");
        let _ = decode_struct(&bytes);
        let mut flipped = good.clone();
        if let Some(b) = flipped.get_mut((x as usize) % good.len()) {
            *b ^= (x >> 8) as u8 | 1;
        }
        let _ = payload_from_metadata(&flipped, NS, "p");
    }
    let mut deep = null();
    for _ in 0..2000 {
        deep = list_v(&[deep]);
    }
    assert!(decode_value(&deep, 0).is_err());
}
