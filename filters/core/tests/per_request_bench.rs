//! Native cost of the core's per-request work (issue #13), with a crypto backend that answers
//! "verified" at once so the signature check does not hide the rest: `token_check` on a cache
//! hit and on a miss, and `jws_verify` with the Mojaloop profile, each with the audit record the
//! glue serialises. Prints CPU ns and allocations (reallocations included) per request. The
//! request is `scripts/bench`'s: `POST /quotes`, a 1 KiB body, a bearer RS256 JWT and an RS256
//! `FSPIOP-Signature`. Not a test of behaviour: ignored by `cargo test`; run
//! `cargo test --release -p signet-core --test per_request_bench -- --ignored --nocapture`
//! (add a test name to run one; `SIGNET_BENCH_ITERS` sets the loop length, e.g. under
//! `perf record --call-graph dwarf`, with `CARGO_PROFILE_RELEASE_STRIP=false
//! CARGO_PROFILE_RELEASE_DEBUG=line-tables-only` for symbols).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rsa::traits::PublicKeyParts;
use serde_json::json;
use signet_core::audit::{AuditRecord, Verdict};
use signet_core::b64;
use signet_core::crypto::{CryptoBackend, CryptoError};
use signet_core::jose::alg::Alg;
use signet_core::keys::{PrivateKey, PublicKey};
use signet_core::message::{Context, Message};
use signet_core::token::{self, RequestFacts, TokenConfig, TokenState};
use signet_core::trace::Trace;
use signet_core::verify::{verify, Outcome, Run};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

const ISS: &str = "https://auth.signet.test/realms/bench";
const AUD: &str = "signet-api";

/// Every signature verifies: what is timed is the work around the host's crypto call.
struct Instant;

impl CryptoBackend for Instant {
    fn verify(&self, _: Alg, _: &PublicKey, _: &[u8], _: &[u8]) -> Result<(), CryptoError> {
        Ok(())
    }
    fn sign(&self, _: Alg, _: &PrivateKey, _: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError::SignFailed)
    }
    fn name(&self) -> &'static str {
        "instant"
    }
}

/// The system allocator, counting allocations (the trace build's figure, natively).
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// This thread's CPU time, ns (Linux `schedstat`): on a shared machine wall time also counts
/// the time spent waiting for a core.
fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

/// Best of five rounds, ns per iteration.
fn measure(name: &str, mut f: impl FnMut()) {
    let iters: u64 = std::env::var("SIGNET_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    for _ in 0..iters / 10 {
        f();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    f();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let best = (0..5)
        .map(|_| {
            let t = cpu_ns();
            for _ in 0..iters {
                f();
            }
            (cpu_ns() - t) as f64 / iters as f64
        })
        .fold(f64::INFINITY, f64::min);
    println!(
        "{name:<40} {best:>8.0} ns/iteration (best of 5 × {iters}, CPU time), {allocations} allocations"
    );
}

/// `scripts/bench`'s token: RS256 with `kid`, its claims; the signature is never checked here.
fn jwt(jti: &str) -> String {
    let h = b64::encode_url(br#"{"alg":"RS256","typ":"JWT","kid":"bench-1"}"#);
    let now = NOW_MS / 1000;
    let claims = json!({"iss": ISS, "aud": AUD, "client_id": "dfsp-a", "iat": now,
                        "exp": now + 86400, "jti": jti});
    let p = b64::encode_url(claims.to_string().as_bytes());
    format!("{h}.{p}.{}", b64::encode_url(&[7u8; 256]))
}

fn token_config(cache_entries: usize) -> TokenConfig {
    let PublicKey::Rsa(k) = rsa_key(1).public_key() else {
        unreachable!()
    };
    let jwk = json!({"kty": "RSA", "kid": "bench-1", "n": b64::encode_url(&k.n().to_bytes_be()),
                     "e": b64::encode_url(&k.e().to_bytes_be())});
    let cfg = json!({
        "providers": [{"name": "auth", "issuer": ISS, "audiences": [AUD], "jwks": {"keys": [jwk]},
                       "claim_to_partner": "client_id", "algorithms": ["RS256"]}],
        "partners": [{"id": "dfsp-a"}],
        "token_cache_entries": cache_entries,
    });
    TokenConfig::from_json(cfg.to_string().as_bytes()).unwrap()
}

/// The bench's request as a filter sees it: the Mojaloop body, signed, plus the bearer token.
fn request(token: &str) -> Message {
    let body =
        json!({"quoteId": "7c23e80c-d078-4077-8263-2c047876fcf6", "transactionId": "85feac2f",
        "payer": {"partyIdInfo": {"partyIdType": "MSISDN", "partyIdentifier": "1"}},
        "amountType": "SEND", "amount": {"currency": "USD", "amount": "100"},
        "note": "x".repeat(700)})
        .to_string();
    let s = signer(
        json!({"profile": {"mojaloop": {"source_id": "dfsp-a", "sign_body_form": "as-is"}}}),
        &rsa_key(2),
    );
    let mut msg = signed(
        &s,
        common::request(
            "POST",
            "/quotes",
            &[
                ("host", "127.0.0.1:10000"),
                ("user-agent", "wrk"),
                ("accept", "*/*"),
                ("content-type", "application/json"),
                ("x-forwarded-proto", "http"),
                ("x-request-id", "0f6c3a52-5c2e-4a47-9d53-6bbd1f4a0e53"),
            ],
            body.as_bytes(),
        ),
    );
    msg.headers
        .push(("authorization".into(), format!("Bearer {token}")));
    msg
}

fn facts<'a>(msg: &'a Message, tls: &'a [String]) -> RequestFacts<'a> {
    RequestFacts {
        method: &msg.method,
        path: &msg.path,
        headers: &msg.headers,
        tls_names: tls,
        cert_sha256: None,
        now_ms: NOW_MS as u64,
        jwt_authn_claims: None,
    }
}

/// One request through `token::check` and what the glue does with the core's answer: the
/// audit record, serialised, and the claims' JSON for `signet.token_claims`.
fn token_request(cfg: &TokenConfig, state: &mut TokenState, req: &RequestFacts<'_>) {
    let outcome = token::check(cfg, state, req, &Instant);
    let ok = outcome.as_ref().map(|d| d.cache_hit);
    if cfg.audit {
        black_box(token::audit::record(req, &outcome, "generic").to_json());
    }
    if let Ok(d) = &outcome {
        black_box(d.claims.as_ref().map(|c| c.json().len()));
    }
    assert!(ok.is_ok(), "{:?}", outcome.err().map(|r| r.error));
}

#[test]
#[ignore = "benchmark"]
fn a_token_cache_hit() {
    let cfg = token_config(1024);
    let mut state = TokenState::new(&cfg);
    let msg = request(&jwt("bench"));
    let req = facts(&msg, &[]);
    token_request(&cfg, &mut state, &req);
    assert!(
        token::check(&cfg, &mut state, &req, &Instant)
            .unwrap()
            .cache_hit
    );
    measure("(a) token_check, cache hit", || {
        token_request(&cfg, &mut state, &req)
    });
}

#[test]
#[ignore = "benchmark"]
fn b_token_miss() {
    // No cache: every request parses and verifies the token.
    let cfg = token_config(0);
    let mut state = TokenState::new(&cfg);
    let msg = request(&jwt("bench"));
    let req = facts(&msg, &[]);
    measure("(b) token_check, no cache", || {
        token_request(&cfg, &mut state, &req)
    });
    // A cache that never hits: more distinct tokens than entries, each looked up and inserted.
    let cfg = token_config(1024);
    let mut state = TokenState::new(&cfg);
    let base = request(&jwt("bench"));
    let msgs: Vec<Message> = (0..4096)
        .map(|i| {
            let mut m = base.clone();
            m.set_header(
                "authorization",
                &format!("Bearer {}", jwt(&format!("b{i}"))),
            );
            m
        })
        .collect();
    let reqs: Vec<RequestFacts<'_>> = msgs.iter().map(|m| facts(m, &[])).collect();
    let mut i = 0;
    measure("(b) token_check, cache miss + insert", || {
        let req = &reqs[i % reqs.len()];
        i += 1;
        token_request(&cfg, &mut state, req);
    });
}

#[test]
#[ignore = "benchmark"]
fn c_jws_verify_mojaloop() {
    let key = rsa_key(2);
    let cfg = verifier(json!({"profile": {"mojaloop": {"source_binding": "none"}},
                              "partners": [partner("dfsp-a", &key)]}));
    let msg = request(&jwt("bench"));
    let ctx = Context {
        now_ms: NOW_MS,
        peer: None,
        token_claims: None,
        route_name: None,
    };
    let once = || {
        let mut trace = Trace::off();
        let outcome = verify(&mut Run {
            common: &cfg.common,
            registry: &cfg.registry,
            profile: &cfg.profile,
            msg: &msg,
            ctx: &ctx,
            backend: &Instant,
            replay: None,
            trace: &mut trace,
            keys: None,
        });
        // As the glue's `accepted`: the record with the signer, alg and kid.
        let Ok(Outcome::Verified { partner, alg, kid }) = outcome else {
            panic!("{outcome:?}")
        };
        if cfg.common.audit {
            let mut record = AuditRecord::new(
                NOW_MS as u64,
                "jws_verify",
                cfg.profile.name().name(),
                Verdict::Ok,
                &msg.method,
                &msg.path,
            );
            record.partner = Some(partner);
            record.alg = Some(alg.name());
            record.kid = kid.map(|k| k.chars().take(128).collect());
            black_box(record.to_json());
        }
    };
    once();
    measure("(c) jws_verify mojaloop RS256", once);
}
