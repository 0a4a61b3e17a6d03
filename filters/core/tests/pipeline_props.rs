//! The WHOLE verification pipeline under arbitrary input, for every profile (docs/data-path.md rule
//! 6: nothing in a request can make the filter panic): mutations of validly signed messages never
//! verify, forged protected headers and signatures never verify, arbitrary messages never verify,
//! and none of it panics. ~500 cases per profile and property; `make fuzz` runs the same properties
//! for a time budget (`SIGNET_FUZZ_SECS`, see `fuzz_long.rs`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod pipeline;

use pipeline::*;

const CASES: u32 = 500;

fn mutated(name: &'static str) {
    let f = fixture(name);
    check(
        &format!("{name}: mutated"),
        CASES,
        proptest::collection::vec(mutation(), 1..4),
        |ms| check_mutated(f, &ms),
    );
}

fn forged(name: &'static str) {
    let f = fixture(name);
    check(
        &format!("{name}: forged"),
        CASES,
        (
            protected_header(f),
            signature_bytes(f),
            proptest::option::of(body_bytes()),
        ),
        |(h, s, b)| check_forged(f, &h, &s, b.as_deref()),
    );
}

fn garbage(name: &'static str) {
    let f = fixture(name);
    check(
        &format!("{name}: garbage"),
        CASES,
        (method(), path(), headers(), body_bytes()),
        |(m, p, h, b)| check_garbage(f, &m, &p, &h, &b),
    );
}

macro_rules! profile_props {
    ($($test:ident => $name:literal),* $(,)?) => {$(
        mod $test {
            #[test]
            fn mutated_signed_message_never_verifies() {
                super::mutated($name);
            }
            #[test]
            fn forged_header_or_signature_never_verifies() {
                super::forged($name);
            }
            #[test]
            fn garbage_message_never_verifies() {
                super::garbage($name);
            }
        }
    )*};
}

profile_props! {
    mojaloop_rs256 => "mojaloop-rs256",
    mojaloop_es256 => "mojaloop-es256",
    ocen => "ocen",
    mosip => "mosip",
    spar => "spar",
    generic_es256_unencoded => "generic-es256-unencoded",
    generic_eddsa => "generic-eddsa",
}

/// The oracle itself: the unmodified fixture verifies, and the content check tells a real
/// change from a neutral one.
#[test]
fn fixtures_verify_and_the_oracle_sees_changes() {
    for f in fixtures() {
        assert!(f.same_signed_content(&f.msg), "{}", f.name);
        let mut m = f.msg.clone();
        m.body.push(b' ');
        assert_eq!(f.same_signed_content(&m), f.json_body, "{}", f.name);
        let mut m = f.msg.clone();
        apply(f, &mut m, &Mutation::SigCut { len: 10 });
        assert!(!f.same_signed_content(&m), "{}", f.name);
    }
}
