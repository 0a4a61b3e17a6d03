//! Native cost of MOSIP sealing and opening (`signet_core::seal`), per request, for the report
//! of issue #14. Not a test of behaviour: ignored by `cargo test`; run
//! `cargo test --release -p signet-core --test seal_bench -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;
use signet_core::crypto::RustCrypto;
use signet_core::seal::{Opened, SealSettings};

const NOW: i64 = 1_798_761_600;

/// This thread's CPU time, ns (Linux `schedstat`): on a shared machine wall time also counts
/// the time spent waiting for a core.
fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
#[ignore = "benchmark"]
fn seal_and_open_cost() {
    let cfg = json!({
        "ida_encryption_certificate": include_str!("data/seal/ida.crt"),
        "partner_encryption_certificate": include_str!("data/seal/ida.crt"),
        "partner_encryption_key_env": "K",
    });
    let env = |_: &str| Some(include_str!("data/seal/ida.key").to_string());
    let s = SealSettings::from_json(&cfg.to_string(), &env, NOW).unwrap();
    let (sealer, opener) = (s.sealer.unwrap(), s.opener.unwrap());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for size in [1usize << 10, 64 << 10] {
        let request =
            json!({"biometrics": [], "demographics": {"photo": "A".repeat(size)}, "otp": ""});
        let body = json!({"id": "mosip.identity.kyc", "request": request}).to_string();
        let n = 200u32;
        let t = cpu_ns();
        let mut sealed = Vec::new();
        for _ in 0..n {
            sealed = sealer
                .seal(body.as_bytes(), NOW, &mut rng, &RustCrypto)
                .unwrap();
        }
        let seal_us = (cpu_ns() - t) as f64 / 1e3 / f64::from(n);
        // An e-KYC answer of the same size: the sealed request's fields as IDA's answer.
        let v: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let answer = json!({"response": {"kycStatus": true, "thumbprint": opener.thumbprint_hex(),
            "identity": v["request"], "sessionKey": v["requestSessionKey"]}})
        .to_string();
        let t = cpu_ns();
        for _ in 0..n {
            assert!(matches!(
                opener.open(answer.as_bytes(), &mut rng).unwrap(),
                Opened::Clear(_)
            ));
        }
        let open_us = (cpu_ns() - t) as f64 / 1e3 / f64::from(n);
        println!("identity/request {:>6} B: seal {seal_us:>8.1} µs, open {open_us:>8.1} µs (RSA-2048, native, CPU time, {n} runs)", body.len());
    }
}
