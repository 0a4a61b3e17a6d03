//! Fuzzing the WHOLE verification pipeline (`signet_core::verify::verify`), for every profile:
//! shared by `pipeline_props.rs` (bounded, in `make test`) and `fuzz_long.rs` (time-bounded,
//! `make fuzz`).
//!
//! Each profile has a fixture: a configuration, a context and a message signed by
//! `signet_core::sign::sign` (mosip: the shared vector V-MOSIP-2, copied to `tests/data/vectors/`, as Signet's mosip signer needs
//! a certificate for its key) that verifies. The properties: no input panics; a mutated
//! signature or body never verifies (except mutations that provably keep the signed content:
//! the ignored middle segment of mosip and spar, JSON whitespace around mojaloop's signature members,
//! spar bodies with the same JSON value); garbage headers and bodies never verify.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{json, Value};
use signet_core::b64;
use signet_core::config::VerifyConfig;
use signet_core::conformance::Case;
use signet_core::crypto::RustCrypto;
use signet_core::message::{Context, Message};
use signet_core::reason::Rejection;
use signet_core::trace::Trace;
use signet_core::verify::{verify, MemoryReplay, Outcome, Run, StepError};

use crate::common::*;

// --- the runner: bounded cases, or a time budget under `make fuzz` --------------------------

/// Runs `test` over `strategy`: `cases` cases, or — when `SIGNET_FUZZ_SECS` is set — batches of
/// fresh random cases until that many seconds have passed. Panics with the (shrunk) failing
/// input.
pub fn check<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let budget = std::env::var("SIGNET_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let config = |cases| Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let report = |e: TestError<S::Value>| -> ! {
        match e {
            TestError::Fail(why, value) => panic!("{name}: {why}\nminimal input: {value:#?}"),
            TestError::Abort(why) => panic!("{name}: aborted: {why}"),
        }
    };
    match budget {
        None => {
            if let Err(e) = TestRunner::new(config(cases)).run(&strategy, &test) {
                report(e)
            }
        }
        Some(secs) => {
            let start = Instant::now();
            let mut total = 0u64;
            while start.elapsed() < Duration::from_secs(secs) {
                // A new runner: a new random seed for every batch.
                if let Err(e) = TestRunner::new(config(256)).run(&strategy, &test) {
                    report(e)
                }
                total += 256;
            }
            eprintln!(
                "fuzz {name}: {total} cases in {:.1}s, no failure",
                start.elapsed().as_secs_f64()
            );
        }
    }
}

// --- fixtures ----------------------------------------------------------------------------------

/// How the profile serializes its signature header (for the "same signed content" oracle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// mojaloop: JSON `{"protectedHeader":H,"signature":S}`.
    Json,
    /// `H..S`.
    Detached,
    /// mosip, spar: `H.<ignored>.S`.
    IgnoredMiddle,
}

pub struct Fixture {
    pub name: &'static str,
    pub cfg: VerifyConfig,
    pub ctx: Context,
    pub msg: Message,
    pub sig_header: &'static str,
    pub form: Form,
    /// spar: the signature covers the canonical JSON of the body, not its bytes.
    pub json_body: bool,
}

impl Fixture {
    pub fn run(&self, msg: &Message) -> Result<Outcome, Rejection<StepError>> {
        let mut trace = Trace::off();
        let mut replay = MemoryReplay::new(16);
        verify(&mut Run {
            common: &self.cfg.common,
            registry: &self.cfg.registry,
            profile: &self.cfg.profile,
            msg,
            ctx: &self.ctx,
            backend: &RustCrypto,
            replay: Some(&mut replay),
            trace: &mut trace,
            keys: None,
        })
    }

    pub fn signature(&self) -> &str {
        self.msg.header(self.sig_header).unwrap()
    }

    /// (H, S) as the profile reads them from a signature header value, if it has that shape.
    pub fn parts(&self, value: &str) -> Option<(String, String)> {
        match self.form {
            Form::Json => {
                let v: Value = serde_json::from_str(value).ok()?;
                Some((
                    v.get("protectedHeader")?.as_str()?.to_string(),
                    v.get("signature")?.as_str()?.to_string(),
                ))
            }
            Form::Detached | Form::IgnoredMiddle => {
                let p: Vec<&str> = value.split('.').collect();
                if p.len() != 3 || (self.form == Form::Detached && !p[1].is_empty()) {
                    return None;
                }
                Some((p[0].to_string(), p[2].to_string()))
            }
        }
    }

    /// Whether `msg` carries exactly the signed content of the fixture (so that accepting it is
    /// right): the same H and S, and the same body bytes (spar: the same JSON value).
    pub fn same_signed_content(&self, msg: &Message) -> bool {
        // Copies of one value are one signature (ocen accepts identical copies by design).
        let values: Vec<&str> = msg
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(self.sig_header))
            .map(|(_, v)| v.as_str())
            .collect();
        let same_sig = !values.is_empty()
            && values
                .iter()
                .all(|v| self.parts(v).is_some() && self.parts(v) == self.parts(self.signature()));
        let same_body = msg.body == self.msg.body
            || (self.json_body
                && serde_json::from_slice::<Value>(&msg.body).ok()
                    == serde_json::from_slice::<Value>(&self.msg.body).ok());
        same_sig && same_body
    }
}

const TRANSFER: &[u8] = br#"{"transferId":"b51ec534","payerFsp":"dfsp-a","payeeFsp":"dfsp-b","amount":{"currency":"USD","amount":"100"}}"#;
const LOAN: &[u8] = br#"{"metadata":{"originatorParticipantId":"3051","timestamp":"2026-06-02T10:00:00.000Z"},"loanApplications":[]}"#;
const SPAR: &[u8] = br#"{"request_header":{"request_id":"r1","sender_app_mnemonic":"bank-a","request_timestamp":"2026-06-02T10:00:00Z"},"request_body":{"request_payload":{"transaction_id":"t1","resolve_request":[{"id":"token:1","scope":"details"}]}}}"#;

fn mojaloop(name: &'static str, key: &signet_core::keys::PrivateKey) -> Fixture {
    let cfg = verifier(json!({"profile": "mojaloop", "partners": [
        partner("dfsp-a", key), partner("dfsp-b", &ec_key(902))]}));
    let s = signer(
        json!({"profile": {"mojaloop": {"source_id": "dfsp-a"}}}),
        key,
    );
    let msg = signed(
        &s,
        request(
            "POST",
            "/transfers",
            &[
                ("content-type", "application/json"),
                ("fspiop-destination", "dfsp-b"),
                ("date", "Tue, 02 Jun 2026 10:00:00 GMT"),
            ],
            TRANSFER,
        ),
    );
    Fixture {
        name,
        cfg,
        ctx: ctx(Some("dfsp-a")),
        msg,
        sig_header: "fspiop-signature",
        form: Form::Json,
        json_body: false,
    }
}

fn ocen() -> Fixture {
    let k = rsa_key(903);
    let cfg = verifier(
        json!({"profile": "ocen", "partners": [{"id": "3051", "keys": [{"public_key_pem": public_pem(&k)}]}]}),
    );
    let s = signer(json!({"profile": "ocen", "kid": "k1"}), &k);
    let msg = signed(
        &s,
        request(
            "POST",
            "/v4.0.0alpha/loanApplications/createLoanRequest",
            &[],
            LOAN,
        ),
    );
    let mut c = ctx(None);
    c.token_claims = Some(serde_json::from_value(json!({"participantId": "3051"})).unwrap());
    Fixture {
        name: "ocen",
        cfg,
        ctx: c,
        msg,
        sig_header: "x-jws-signature",
        form: Form::Detached,
        json_body: false,
    }
}

fn spar() -> Fixture {
    let k = rsa_key(904);
    let cfg = verifier(
        json!({"profile": "spar", "partners": [{"id": "bank-a", "sender_id": "bank-a", "keys": [{"public_key_pem": public_pem(&k)}]}]}),
    );
    let s = signer(json!({"profile": "spar"}), &k);
    let msg = signed(&s, request("POST", "/mapper/resolve", &[], SPAR));
    Fixture {
        name: "spar",
        cfg,
        ctx: ctx(Some("bank-a")),
        msg,
        sig_header: "signature",
        form: Form::IgnoredMiddle,
        json_body: true,
    }
}

fn generic(name: &'static str, key: &signet_core::keys::PrivateKey, unencoded: bool) -> Fixture {
    let cfg = verifier(json!({"profile": "generic", "partners": [partner("p", key)]}));
    let s = signer(
        json!({"profile": {"generic": {"sign_unencoded": unencoded}}}),
        key,
    );
    let msg = signed(&s, request("POST", "/api/v1/items", &[], b"{\"x\":1}"));
    Fixture {
        name,
        cfg,
        ctx: ctx(Some("p")),
        msg,
        sig_header: "x-jws-signature",
        form: Form::Detached,
        json_body: false,
    }
}

fn mosip() -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/vectors/mosip-2.json"
    ))
    .unwrap();
    let case = Case::from_json(&text).unwrap();
    let cfg = VerifyConfig::from_json(&case.config_json().unwrap().to_string()).unwrap();
    let msg = case.message().unwrap();
    let ctx = case.context(&msg).unwrap();
    Fixture {
        name: "mosip",
        cfg,
        ctx,
        msg,
        sig_header: "signature",
        form: Form::IgnoredMiddle,
        json_body: false,
    }
}

/// Every profile's fixture, built once; each verifies as given.
pub fn fixtures() -> &'static [Fixture] {
    static ALL: OnceLock<Vec<Fixture>> = OnceLock::new();
    ALL.get_or_init(|| {
        let all = vec![
            mojaloop("mojaloop-rs256", &rsa_key(901)),
            mojaloop("mojaloop-es256", &ec_key(905)),
            ocen(),
            mosip(),
            spar(),
            generic("generic-es256-unencoded", &ec_key(906), true),
            generic("generic-eddsa", &ed_key(907), false),
        ];
        for f in &all {
            assert!(
                matches!(f.run(&f.msg), Ok(Outcome::Verified { .. })),
                "fixture {} must verify: {:?}",
                f.name,
                f.run(&f.msg)
            );
        }
        all
    })
}

pub fn fixture(name: &str) -> &'static Fixture {
    fixtures().iter().find(|f| f.name == name).unwrap()
}

// --- strategies --------------------------------------------------------------------------------

/// Header values: printable, control characters, non-ASCII, replacement characters (what a
/// lossily decoded invalid UTF-8 value looks like), and oversized repetitions.
pub fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[A-Za-z0-9_\\-.={}\":,\\[\\] ]{0,80}",
        1 => Just(String::new()),
        1 => (".{1,4}", 1usize..20_000).prop_map(|(s, n)| s.repeat(n)),
        1 => proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

pub fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..512),
        2 => "[{}\\[\\]\":,a-z0-9 .\\-\\\\]{0,200}".prop_map(String::into_bytes),
        1 => (any::<u8>(), 0usize..200_000).prop_map(|(b, n)| vec![b; n]),
        1 => Just(Vec::new()),
    ]
}

/// Names a profile reads, and some it does not.
pub fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("fspiop-signature".to_string()),
        Just("fspiop-source".to_string()),
        Just("fspiop-destination".to_string()),
        Just("fspiop-uri".to_string()),
        Just("fspiop-http-method".to_string()),
        Just("date".to_string()),
        Just("x-jws-signature".to_string()),
        Just("signature".to_string()),
        Just("authorization".to_string()),
        Just("content-encoding".to_string()),
        Just("content-length".to_string()),
        Just("content-type".to_string()),
        "[a-z][a-z0-9-]{0,12}",
    ]
}

/// One edit of a message.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Flip one bit of one byte of the signature header value (as bytes, re-decoded lossily).
    SigBit { pos: usize, bit: u8 },
    /// Replace one character of the signature header value.
    SigChar { pos: usize, ch: char },
    /// Cut the signature header value.
    SigCut { len: usize },
    /// Insert a character into the signature header value.
    SigInsert { pos: usize, ch: char },
    /// Replace one byte of the body.
    BodyByte { pos: usize, byte: u8 },
    /// Cut the body.
    BodyCut { len: usize },
    /// Append to the body.
    BodyAppend(Vec<u8>),
    /// Set a header (maybe the signature header, maybe a bound one) to a value.
    Header { name: String, value: String },
    /// Send the signature header twice.
    SigTwice,
    /// Drop a header by index.
    Drop { index: usize },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let ch = prop_oneof![
        4 => proptest::char::ranges(vec!['A'..='Z', 'a'..='z', '0'..='9'].into()),
        1 => Just('-'), 1 => Just('_'), 1 => Just('.'), 1 => Just('='), 1 => Just(' '),
        1 => Just('"'), 1 => Just('\\'), 1 => any::<char>(),
    ];
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(pos, bit)| Mutation::SigBit { pos, bit }),
        3 => (any::<usize>(), ch.clone()).prop_map(|(pos, ch)| Mutation::SigChar { pos, ch }),
        1 => any::<usize>().prop_map(|len| Mutation::SigCut { len }),
        1 => (any::<usize>(), ch).prop_map(|(pos, ch)| Mutation::SigInsert { pos, ch }),
        4 => (any::<usize>(), any::<u8>()).prop_map(|(pos, byte)| Mutation::BodyByte { pos, byte }),
        1 => any::<usize>().prop_map(|len| Mutation::BodyCut { len }),
        1 => proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::BodyAppend),
        2 => (header_name(), header_value()).prop_map(|(name, value)| Mutation::Header { name, value }),
        1 => Just(Mutation::SigTwice),
        1 => any::<usize>().prop_map(|index| Mutation::Drop { index }),
    ]
}

fn edit_str(s: &str, f: impl FnOnce(&mut Vec<char>)) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    f(&mut chars);
    chars.into_iter().collect()
}

pub fn apply(f: &Fixture, msg: &mut Message, m: &Mutation) {
    let sig = msg.header(f.sig_header).unwrap_or_default().to_string();
    match m {
        Mutation::SigBit { pos, bit } => {
            let mut bytes = sig.into_bytes();
            if !bytes.is_empty() {
                let p = pos % bytes.len();
                bytes[p] ^= 1 << bit;
            }
            msg.set_header(f.sig_header, &String::from_utf8_lossy(&bytes));
        }
        Mutation::SigChar { pos, ch } => {
            let v = edit_str(&sig, |c| {
                if !c.is_empty() {
                    let p = pos % c.len();
                    c[p] = *ch;
                }
            });
            msg.set_header(f.sig_header, &v);
        }
        Mutation::SigCut { len } => {
            let v = edit_str(&sig, |c| c.truncate(len % (c.len() + 1)));
            msg.set_header(f.sig_header, &v);
        }
        Mutation::SigInsert { pos, ch } => {
            let v = edit_str(&sig, |c| c.insert(pos % (c.len() + 1), *ch));
            msg.set_header(f.sig_header, &v);
        }
        Mutation::BodyByte { pos, byte } => {
            if !msg.body.is_empty() {
                let p = pos % msg.body.len();
                msg.body[p] = *byte;
            }
        }
        Mutation::BodyCut { len } => {
            let n = len % (msg.body.len() + 1);
            msg.body.truncate(n);
        }
        Mutation::BodyAppend(extra) => msg.body.extend_from_slice(extra),
        Mutation::Header { name, value } => msg.set_header(name, value),
        Mutation::SigTwice => msg.headers.push((f.sig_header.to_string(), sig)),
        Mutation::Drop { index } => {
            if !msg.headers.is_empty() {
                let i = index % msg.headers.len();
                msg.headers.remove(i);
            }
        }
    }
}

/// Checks one mutated message: never a panic (the call returns), and never `Verified` unless
/// the message still carries exactly the signed content.
pub fn check_mutated(f: &Fixture, mutations: &[Mutation]) -> Result<(), TestCaseError> {
    let mut msg = f.msg.clone();
    for m in mutations {
        apply(f, &mut msg, m);
    }
    let result = f.run(&msg);
    if let Ok(Outcome::Verified { .. }) = result {
        prop_assert!(
            f.same_signed_content(&msg),
            "{}: a mutated signature or body verified: {:?}\nsignature {:?}\nbody {:?}",
            f.name,
            result,
            msg.header(f.sig_header),
            String::from_utf8_lossy(&msg.body)
        );
    }
    Ok(())
}

/// A protected header from pieces: `alg` (incl. `none`, HMAC), `crit`, `b64`, `x5c`, `kid`,
/// the mojaloop members, duplicate members, garbage.
pub fn protected_header(f: &'static Fixture) -> impl Strategy<Value = String> {
    let alg = prop_oneof![
        Just(r#""alg":"none""#.to_string()),
        Just(r#""alg":"HS256""#.to_string()),
        Just(r#""alg":"RS256""#.to_string()),
        Just(r#""alg":"ES256""#.to_string()),
        Just(r#""alg":"PS256""#.to_string()),
        Just(r#""alg":"EdDSA""#.to_string()),
        Just(r#""alg":"rs256""#.to_string()),
        Just(r#""alg":1"#.to_string()),
        Just(String::new()),
    ];
    let extra = prop_oneof![
        Just(String::new()),
        Just(r#","crit":["b64"],"b64":false"#.to_string()),
        Just(r#","b64":false"#.to_string()),
        Just(r#","crit":["exp"],"exp":1"#.to_string()),
        Just(r#","crit":[]"#.to_string()),
        Just(r#","kid":"k1""#.to_string()),
        Just(r#","kid":null"#.to_string()),
        Just(r#","x5c":[]"#.to_string()),
        Just(r#","x5c":["MIIB"]"#.to_string()),
        Just(r#","x5c":"x""#.to_string()),
        Just(r#","jwk":{"kty":"oct","k":"AAAA"}"#.to_string()),
        Just(r#","FSPIOP-URI":"/transfers","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"dfsp-a","FSPIOP-Destination":"dfsp-b","Date":"Tue, 02 Jun 2026 10:00:00 GMT""#.to_string()),
        Just(r#","alg":"RS256""#.to_string()),
        "[a-z\":,{}\\[\\]0-9 ]{0,30}".prop_map(|s| format!(",{s}")),
    ];
    // The fixture's own header, with one of the extras spliced in.
    let own = f
        .parts(f.signature())
        .and_then(|(h, _)| b64::decode_url(&h).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    prop_oneof![
        (alg, proptest::collection::vec(extra.clone(), 0..3))
            .prop_map(|(a, e)| format!("{{{a}{}}}", e.concat())),
        extra.prop_map(move |e| {
            let body = own.strip_suffix('}').unwrap_or(&own).to_string();
            format!("{body}{e}}}")
        }),
        any::<String>(),
    ]
}

/// Signature bytes of telling lengths (64 = ES256/EdDSA, 256 = RSA-2048, off by one) and
/// shapes (all zero: ECDSA r = s = 0; r = 0 with s from the fixture; all 0xff).
pub fn signature_bytes(f: &'static Fixture) -> impl Strategy<Value = Vec<u8>> {
    let own = f
        .parts(f.signature())
        .and_then(|(_, s)| b64::decode_url(&s).ok())
        .unwrap_or_default();
    let own2 = own.clone();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        prop_oneof![
            Just(0usize),
            Just(63),
            Just(64),
            Just(65),
            Just(255),
            Just(256),
            Just(257),
            Just(512)
        ]
        .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n)),
        Just(vec![0u8; 64]),
        Just(vec![0xffu8; 64]),
        Just(
            own.iter()
                .enumerate()
                .map(|(i, b)| if i < 32 { 0 } else { *b })
                .collect()
        ),
        Just(
            own2.iter()
                .enumerate()
                .map(|(i, b)| if i >= 32 { 0 } else { *b })
                .collect()
        ),
        Just(vec![0u8; 256]),
    ]
}

/// The signature header value in the fixture's serialization, from H (JSON text) and S bytes.
pub fn serialize(f: &Fixture, header_json: &str, sig: &[u8], middle: &str) -> String {
    let h = b64::encode_url(header_json.as_bytes());
    let s = b64::encode_url(sig);
    match f.form {
        Form::Json => json!({"protectedHeader": h, "signature": s}).to_string(),
        Form::Detached => format!("{h}..{s}"),
        Form::IgnoredMiddle => format!("{h}.{middle}.{s}"),
    }
}

/// A forged signature header on the fixture's message never verifies.
pub fn check_forged(
    f: &Fixture,
    header_json: &str,
    sig: &[u8],
    body: Option<&[u8]>,
) -> Result<(), TestCaseError> {
    let mut msg = f.msg.clone();
    msg.set_header(f.sig_header, &serialize(f, header_json, sig, ""));
    if let Some(b) = body {
        msg.body = b.to_vec();
    }
    let result = f.run(&msg);
    prop_assert!(
        !matches!(result, Ok(Outcome::Verified { .. })),
        "{}: forged header {header_json:?} verified",
        f.name
    );
    Ok(())
}

/// An arbitrary message (method, path, headers, body) never verifies and never panics.
pub fn check_garbage(
    f: &Fixture,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), TestCaseError> {
    let msg = Message {
        method: method.to_string(),
        path: path.to_string(),
        status: None,
        headers: headers.to_vec(),
        body: body.to_vec(),
    };
    let result = f.run(&msg);
    prop_assert!(
        !matches!(result, Ok(Outcome::Verified { .. })),
        "{}: garbage verified: {msg:?}",
        f.name
    );
    Ok(())
}

pub fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("POST".to_string()),
        Just("PUT".to_string()),
        Just("PATCH".to_string()),
        Just("GET".to_string()),
        Just("DELETE".to_string()),
        "[A-Za-z]{0,8}",
    ]
}

pub fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/transfers".to_string()),
        Just("/parties/MSISDN/1".to_string()),
        Just("/mapper/resolve".to_string()),
        Just(
            "/idauthentication/v1/auth/mispLK0001/signet-test-auth-partner/apiKey0001".to_string()
        ),
        Just("/api/v1/items".to_string()),
        "/[a-zA-Z0-9/?=&%._-]{0,60}",
        any::<String>(),
    ]
}

pub fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((header_name(), header_value()), 0..8)
}
