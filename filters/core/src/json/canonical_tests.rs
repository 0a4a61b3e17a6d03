//! Tests of the canonical serializers: spec examples, SPAR vectors, and a comparison with
//! Node's `JSON.stringify` when `node` is installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;

fn parse(s: &str) -> JsonValue {
    parse_strict(s.as_bytes(), JsonLimits::BODY).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn orjson(s: &str) -> String {
    let v = parse(s);
    let canonical = orjson_canonical(s.as_bytes(), &v).unwrap_or_else(|e| panic!("{s}: {e}"));
    assert_eq!(canonical, orjson_sorted(&v), "{s}");
    String::from_utf8(canonical).unwrap()
}

fn es(s: &str, order: KeyOrder) -> String {
    String::from_utf8(ecmascript(&parse(s), order)).unwrap()
}

#[test]
fn orjson_spec_examples() {
    for (input, want) in [
        ("1e2", "100.0"),
        ("1.50", "1.5"),
        ("0.00001", "0.00001"),
        ("-0.0", "-0.0"),
        ("-0", "0"),
        ("0", "0"),
        ("1e16", "1e+16"),
        ("1e-6", "1e-6"),
        ("1E+2", "100.0"),
        ("123456789012345678901234.0", "1.2345678901234569e+23"),
        ("18446744073709551615", "18446744073709551615"),
        ("18446744073709551616.0", "1.8446744073709552e+19"),
        ("1.8446744073709552e19", "1.8446744073709552e+19"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775809e0", "-9.223372036854776e+18"),
        ("[true,false,null]", "[true,false,null]"),
        (r#""\u00e9\/\u007f""#, "\"é/\u{7f}\""),
        (
            r#""\u0000\u001f\b\t\n\f\r\"\\""#,
            r#""\u0000\u001f\b\t\n\f\r\"\\""#,
        ),
        (r#""\ud83d\ude00""#, "\"😀\""),
        (
            " { \"b\" : [ 1 , { \"d\":1, \"c\":2 } ], \"a\" : {} } ",
            r#"{"a":{},"b":[1,{"c":2,"d":1}]}"#,
        ),
        // Code point order: U+E000 sorts before U+1F600 (UTF-16 would put the emoji first).
        (
            r#"{"😀":1,"\ue000":2,"a":3,"é":4}"#,
            "{\"a\":3,\"é\":4,\"\u{e000}\":2,\"😀\":1}",
        ),
        (
            r#"{"10":1,"2":2,"B":3,"a":4}"#,
            r#"{"10":1,"2":2,"B":3,"a":4}"#,
        ),
    ] {
        assert_eq!(orjson(input), want, "{input}");
    }
}

/// Integer tokens outside [−2^63, 2^64−1] have no orjson form (`orjson.dumps` raises
/// "Integer exceeds 64-bit range" on the platform's Python integers). Written as their nearest
/// double they would collide: two bodies, one signature.
#[test]
fn orjson_refuses_integers_beyond_64_bits() {
    let (a, b) = (
        r#"{"amount":18446744073709551616}"#,
        r#"{"amount":18446744073709551617}"#,
    );
    // The collision the refusal closes: one double for two integers.
    assert_eq!(orjson_sorted(&parse(a)), orjson_sorted(&parse(b)));
    for body in [
        a,
        b,
        "18446744073709551616",
        "-9223372036854775809",
        "123456789012345678901234",
        "-123456789012345678901234567890",
        r#"[1,{"x":[2.5,99999999999999999999]}]"#,
        r#"{"a":1e19,"b":[18446744073709551616]}"#,
    ] {
        assert_eq!(
            orjson_canonical(body.as_bytes(), &parse(body)),
            Err(JsonError::IntegerOutOfRange),
            "{body}"
        );
    }
    // The boundaries themselves, and doubles of any size, are written.
    for (body, want) in [
        ("18446744073709551615", "18446744073709551615"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("9223372036854775808", "9223372036854775808"),
        (r#"[1e19,-9.3e18,2E+19]"#, "[1e+19,-9.3e+18,2e+19]"),
    ] {
        assert_eq!(orjson(body), want, "{body}");
    }
}

/// The orjson canonical form compared with the real orjson (`.venv`, pinned in
/// tests/requirements.txt) over what the platform does: Python's `json.loads`, then
/// `orjson.dumps(v, option=OPT_SORT_KEYS)`; an exception there must be a refusal here.
#[test]
fn orjson_matches_python_orjson() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let script = r#"
import json, sys
import orjson
if orjson.dumps(1e16) != b"1e+16":
    print("OLD"); sys.exit(0)
out = []
for c in json.load(sys.stdin):
    try:
        out.append(orjson.dumps(json.loads(c), option=orjson.OPT_SORT_KEYS).decode())
    except Exception:
        out.append(None)
print(json.dumps(out))
"#;
    let python = std::env::var("SIGNET_PYTHON")
        .unwrap_or_else(|_| format!("{}/../../.venv/bin/python", env!("CARGO_MANIFEST_DIR")));
    let child = Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        println!("orjson_matches_python_orjson: skipped, {python} not available");
        return;
    };
    let mut cases: Vec<&str> = NODE_CASES.to_vec();
    cases.extend([
        "-9223372036854775809",
        "9223372036854775808",
        "-9223372036854775808.0",
        "18446744073709551616.0",
        r#"{"a":18446744073709551617}"#,
        "[0.1,0.10000000000000001,1e2,100,-0,-0.0,1e-5,0.00001,1e-6]",
    ]);
    let input = serde_json::to_vec(&cases).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        println!("orjson_matches_python_orjson: skipped, no orjson in {python}");
        return;
    }
    if out.stdout.starts_with(b"OLD") {
        println!("orjson_matches_python_orjson: skipped, orjson older than 3.13 (writes 1e16)");
        return;
    }
    let results: Vec<Option<String>> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    for (case, want) in cases.iter().zip(results) {
        let v = parse(case);
        let got = orjson_canonical(case.as_bytes(), &v)
            .ok()
            .map(|b| String::from_utf8(b).unwrap());
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn orjson_is_idempotent_and_reparses() {
    let input = r#"{"z":[1.0,2.5e-9,-0,"x"],"a":{"y":null,"b":1e300}}"#;
    let once = orjson_sorted(&parse(input));
    let again = orjson_sorted(&parse_strict(&once, JsonLimits::BODY).unwrap());
    assert_eq!(once, again);
}

#[test]
fn ecmascript_spec_examples() {
    for (input, want) in [
        ("1.50", "1.5"),
        ("1E2", "100"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("1e-7", "1e-7"),
        ("0.000001", "0.000001"),
        ("9007199254740993", "9007199254740992"),
        ("18446744073709551615", "18446744073709552000"),
        ("-9223372036854775808", "-9223372036854776000"),
        (r#""\u00e9\u2028""#, "\"é\u{2028}\""),
        (r#""\u001f""#, r#""\u001f""#),
    ] {
        assert_eq!(es(input, KeyOrder::Insertion), want, "{input}");
    }
}

#[test]
fn ecmascript_key_orders() {
    let input = r#"{"b":1,"10":2,"a":3,"2":4,"01":5,"4294967295":6,"4294967294":7,"-1":8,"":9}"#;
    assert_eq!(
        es(input, KeyOrder::Insertion),
        r#"{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6,"-1":8,"":9}"#
    );
    assert_eq!(
        es(input, KeyOrder::SortedUtf16),
        r#"{"":9,"-1":8,"01":5,"10":2,"2":4,"4294967294":7,"4294967295":6,"a":3,"b":1}"#
    );
    // UTF-16 order: the surrogate pair of U+1F600 (0xD83D…) sorts before U+E000.
    assert_eq!(
        es(r#"{"\ue000":1,"😀":2}"#, KeyOrder::SortedUtf16),
        "{\"😀\":2,\"\u{e000}\":1}"
    );
    assert_eq!(
        es(r#"{"\ue000":1,"😀":2}"#, KeyOrder::Insertion),
        "{\"\u{e000}\":1,\"😀\":2}"
    );
}

#[test]
fn ecmascript_number_changes() {
    let changes = |s: &str| ecmascript_changes_numbers(s.as_bytes(), &parse(s));
    assert!(!changes(
        r#"{"a":"1","b":[1,2.5,1.50,1E2,-0,-0.0,9007199254740992]}"#
    ));
    assert!(changes(r#"{"a":9007199254740993}"#));
    assert!(changes(r#"[18446744073709551615]"#));
    assert!(changes(r#"[-9223372036854775807]"#));
    assert!(changes(r#"[0.30000000000000000001]"#));
    assert!(changes(r#"[100000000000000000000000000001]"#));
    assert!(!changes(r#"[100000000000000000000000000000]"#));
    assert!(changes(r#"[1e-400]"#));
    assert!(!changes(r#"[0.1, 123.456, 1e300]"#));
}

#[test]
fn json_string_and_object_writer() {
    let mut out = Vec::new();
    write_json_string(&mut out, "a\"b\\c/\u{1}\u{7f}é\n");
    assert_eq!(out, b"\"a\\\"b\\\\c/\\u0001\x7f\xc3\xa9\\n\"");
    let mut w = ObjectWriter::new();
    w.string("alg", "RS256")
        .opt_string("kid", None)
        .bool("b64", false)
        .string_array("crit", &["b64"])
        .int("n", -3)
        .raw("o", b"{}");
    assert_eq!(
        w.finish(),
        br#"{"alg":"RS256","kid":null,"b64":false,"crit":["b64"],"n":-3,"o":{}}"#
    );
    assert_eq!(ObjectWriter::new().finish(), b"{}");
}

const SPAR: [&[u8]; 3] = [
    include_bytes!("testdata/spar-1.body.json"),
    include_bytes!("testdata/spar-2.body.json"),
    include_bytes!("testdata/spar-3.body.json"),
];

#[test]
fn spar_vectors_canonical_form() {
    let canon: Vec<Vec<u8>> = SPAR
        .iter()
        .map(|b| orjson_sorted(&parse_strict(b, JsonLimits::BODY).unwrap()))
        .collect();
    assert_eq!(canon[0], canon[1]);
    assert_ne!(canon[0], canon[2]);
    assert_eq!(
        String::from_utf8(canon[0].clone()).unwrap(),
        concat!(
            r#"{"request_body":{"request_payload":{"resolve_request":[{"id":"token:12345","#,
            r#""reference_id":"ref-1","scope":"details","timestamp":"2026-06-02T10:00:00Z"}],"#,
            r#""transaction_id":"txn-0001"}},"request_header":{"request_id":"#,
            r#""2f1d8e7c-0b2a-4b7e-9a77-3c9f2a7d5e11","request_timestamp":"2026-06-02T10:00:00Z","#,
            r#""sender_app_mnemonic":"bank-a","sender_app_url":"https://bank-a.example/spar"}}"#
        )
    );
}

/// The canonical form is the signing input: the V-SPAR signature verifies over it (RS256).
#[test]
fn spar_vectors_signature_verifies_over_canonical_form() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::signature::Verifier as _;

    let key =
        rsa::RsaPublicKey::from_public_key_pem(include_str!("testdata/spar.public.pem")).unwrap();
    let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
    let jws = include_str!("testdata/spar.signature.txt");
    let parts: Vec<&str> = jws.split('.').collect();
    let sig =
        rsa::pkcs1v15::Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice())
            .unwrap();
    let input = |body: &[u8]| {
        let mut s = format!("{}.", parts[0]).into_bytes();
        s.extend_from_slice(URL_SAFE_NO_PAD.encode(body).as_bytes());
        s
    };
    for (i, body) in SPAR.iter().enumerate() {
        let canon = orjson_sorted(&parse_strict(body, JsonLimits::BODY).unwrap());
        assert_eq!(
            verifier.verify(&input(&canon), &sig).is_ok(),
            i < 2,
            "spar-{}",
            i + 1
        );
        assert!(
            verifier.verify(&input(body), &sig).is_err(),
            "raw spar-{}",
            i + 1
        );
    }
}

/// Inputs compared with Node's `JSON.stringify(JSON.parse(x))` (and a UTF-16 sorted variant).
const NODE_CASES: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "1",
    "-1",
    "1.5",
    "1.50",
    "1E2",
    "1e21",
    "1e20",
    "1e-7",
    "1e-6",
    "1.5e-7",
    "0.1",
    "0.2",
    "0.30000000000000004",
    "123.456",
    "1e300",
    "-1e-300",
    "5e-324",
    "1.7976931348623157e308",
    "9007199254740991",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "123456789012345678901234567890",
    "4.35",
    "0.000001234",
    "1234567890123456789",
    "2.5e+25",
    "99999999999999999999",
    r#""plain""#,
    r#""\u00e9\u0000\u001f\u007f\u2028\u2029/\\\"""#,
    r#""\ud83d\ude00 \uffff \ue000""#,
    r#""\b\f\n\r\t""#,
    "[]",
    "{}",
    "[1,[2,[3,{}]]]",
    "true",
    "null",
    r#"{"b":1,"a":2,"10":3,"2":4,"01":5,"4294967294":6,"4294967295":7,"-1":8,"1.0":9}"#,
    r#"{"😀":1,"\ue000":2,"é":3,"e":4,"E":5,"\uffff":6,"":7}"#,
    r#"{"z":{"y":[{"b":null,"a":true}],"x":-12.5e-3},"a":[1e2,"1e2"]}"#,
];

#[test]
fn ecmascript_matches_node() {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    let script = r#"
        const sorted = v => Array.isArray(v) ? '[' + v.map(sorted).join(',') + ']'
          : (v !== null && typeof v === 'object')
            ? '{' + Object.keys(v).sort().map(k => JSON.stringify(k) + ':' + sorted(v[k])).join(',') + '}'
            : JSON.stringify(v);
        let input = '';
        process.stdin.on('data', d => input += d);
        process.stdin.on('end', () => {
          const cases = JSON.parse(input);
          process.stdout.write(JSON.stringify(cases.map(c => {
            const v = JSON.parse(c);
            return [JSON.stringify(v), sorted(v)];
          })));
        });
    "#;
    let child = Command::new("node")
        .arg("-e")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("ecmascript_matches_node: skipped, `node` not available");
        return;
    };
    let cases = serde_json::to_vec(NODE_CASES).unwrap();
    child.stdin.take().unwrap().write_all(&cases).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node failed");
    let results: Vec<(String, String)> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), NODE_CASES.len());
    for (case, (insertion, sorted)) in NODE_CASES.iter().zip(results) {
        assert_eq!(
            es(case, KeyOrder::Insertion),
            insertion,
            "insertion order: {case}"
        );
        assert_eq!(es(case, KeyOrder::SortedUtf16), sorted, "sorted: {case}");
    }
}

/// The deepest value the parser lets through (serde_json's 127 levels) is parsed, serialized and
/// dropped within a small stack: recursion is bounded by the parse limit.
#[test]
fn deep_nesting_fits_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let limits = JsonLimits {
                max_depth: usize::MAX,
                max_members: None,
                max_elements: None,
            };
            let text = format!("{}1{}", "[{\"a\":".repeat(63), "}]".repeat(63));
            let v = parse_strict(text.as_bytes(), limits).unwrap();
            assert_eq!(v.depth(), 126);
            assert_eq!(orjson_sorted(&v), text.as_bytes());
            assert_eq!(ecmascript(&v, KeyOrder::Insertion), text.as_bytes());
            assert!(!ecmascript_changes_numbers(text.as_bytes(), &v));
            let hostile = "[".repeat(100_000);
            assert_eq!(
                parse_strict(hostile.as_bytes(), limits),
                Err(JsonError::TooDeep)
            );
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn integers_print_as_ecmascript_prints_their_double() {
    let edge: i64 = 1 << 53;
    for i in [
        0,
        1,
        -1,
        1_700_000_000,
        -1_700_000_000,
        edge - 1,
        edge,
        -edge,
        edge + 2,
    ] {
        let want = numfmt::ecmascript_number(i as f64);
        assert_eq!(es(&i.to_string(), KeyOrder::Insertion), want, "{i}");
    }
    for u in [u64::MAX, (1 << 53) + 2, 10_u64.pow(19)] {
        let want = numfmt::ecmascript_number(u as f64);
        assert_eq!(es(&u.to_string(), KeyOrder::Insertion), want, "{u}");
    }
}
