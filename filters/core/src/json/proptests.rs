//! Property tests: hostile bytes never panic the parser or serializers; canonical output
//! re-parses to the same value and is idempotent; number renderings round-trip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;

use super::*;

fn leaf() -> impl Strategy<Value = JsonValue> {
    prop_oneof![
        Just(JsonValue::Null),
        any::<bool>().prop_map(JsonValue::Bool),
        any::<u64>().prop_map(|u| JsonValue::Number(JsonNumber::U64(u))),
        (i64::MIN..0i64).prop_map(|i| JsonValue::Number(JsonNumber::I64(i))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| JsonValue::Number(JsonNumber::F64(f))),
        ".{0,8}".prop_map(JsonValue::String),
        "[\\u{0}-\\u{1f}\"\\\\/\\u{7f}\\u{e000}\\u{ffff}\\u{10000}-\\u{10ffff}a0-9]{0,6}"
            .prop_map(JsonValue::String),
    ]
}

fn value() -> impl Strategy<Value = JsonValue> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(JsonValue::Array),
            prop::collection::vec(("[a-c0-9\\u{e000}\\u{1f600}]{0,3}", inner), 0..6).prop_map(
                |members| {
                    // Member names must be unique; keep the first of each.
                    let mut seen = std::collections::BTreeSet::new();
                    JsonValue::Object(
                        members
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .collect(),
                    )
                }
            ),
        ]
    })
}

/// `v` with every object's members sorted by code point, as [`orjson_sorted`] orders them.
fn sorted(v: &JsonValue) -> JsonValue {
    match v {
        JsonValue::Array(a) => JsonValue::Array(a.iter().map(sorted).collect()),
        JsonValue::Object(m) => {
            let mut m: Vec<(String, JsonValue)> =
                m.iter().map(|(k, x)| (k.clone(), sorted(x))).collect();
            m.sort_by(|a, b| a.0.cmp(&b.0));
            JsonValue::Object(m)
        }
        other => other.clone(),
    }
}

fn reparse(bytes: &[u8]) -> JsonValue {
    let limits = JsonLimits {
        max_depth: 127,
        max_members: None,
        max_elements: None,
    };
    parse_strict(bytes, limits)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cfg(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_strict(&bytes, JsonLimits::HEADER);
        let _ = float_tokens(&bytes, JsonLimits::BODY);
        if let Ok(v) = parse_strict(&bytes, JsonLimits::BODY) {
            let canon = orjson_sorted(&v);
            prop_assert_eq!(orjson_sorted(&reparse(&canon)), canon);
            let _ = ecmascript(&v, KeyOrder::Insertion);
            let _ = ecmascript_changes_numbers(&bytes, &v);
        }
    }

    #[test]
    fn json_like_text_never_panics(text in "[\\[\\]{}:,\" 0-9eE.+\\-a-z\\\\u]{0,64}") {
        if let Ok(v) = parse_strict(text.as_bytes(), JsonLimits::BODY) {
            let canon = orjson_sorted(&v);
            prop_assert_eq!(orjson_sorted(&reparse(&canon)), canon);
            let es = ecmascript(&v, KeyOrder::Insertion);
            prop_assert_eq!(ecmascript(&reparse(&es), KeyOrder::Insertion), es);
            // Only the float tokens' text can make the two number views differ.
            let tokens = float_tokens(text.as_bytes(), JsonLimits::BODY).unwrap();
            prop_assert!(tokens.iter().all(|(f, t)| t.parse::<f64>().ok() == Some(*f)));
        }
    }

    #[test]
    fn finite_doubles_round_trip(x in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        prop_assert_eq!(orjson_float(x).parse::<f64>().unwrap().to_bits(), x.to_bits());
        let es: f64 = ecmascript_number(x).parse().unwrap();
        prop_assert!(es == x, "{} -> {}", x, es);
    }
}

proptest! {
    #![proptest_config(cfg(1000))]

    #[test]
    fn orjson_reparses_to_equal_value(v in value()) {
        let canon = orjson_sorted(&v);
        let back = reparse(&canon);
        prop_assert_eq!(&back, &sorted(&v));
        prop_assert_eq!(orjson_sorted(&back), canon);
    }

    #[test]
    fn ecmascript_is_idempotent(v in value()) {
        for order in [KeyOrder::Insertion, KeyOrder::SortedUtf16] {
            let once = ecmascript(&v, order);
            prop_assert_eq!(ecmascript(&reparse(&once), order), once);
        }
        // Pretty-printing the same value never changes its canonical forms.
        let pretty = serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(
            &orjson_sorted(&v),
        ).unwrap()).unwrap();
        prop_assert_eq!(orjson_sorted(&reparse(&pretty)), orjson_sorted(&v));
    }
}
