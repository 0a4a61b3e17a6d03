//! Every case of `shared/spec/vectors/` through the conformance runner: expected verdict,
//! reason and reply fields, with the pure-Rust backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use signet_core::conformance::Case;
use signet_core::crypto::RustCrypto;

/// `shared/spec/vectors` of the nearest ancestor that has one (main checkout or worktree).
fn vectors_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/spec/vectors"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| here.join("../../../shared/spec/vectors"))
}

#[test]
fn shared_vectors_get_their_expected_verdicts() {
    let dir = vectors_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 16,
        "expected the 16 shared vectors, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let case = Case::from_json(&std::fs::read_to_string(f).unwrap()).unwrap();
        match case.run(&RustCrypto) {
            Ok(r) if r.passed() => eprintln!("{}: {} {}", r.id, r.got.name(), r.reason),
            Ok(r) => failures.push(format!(
                "{}: {:?}\n  trace: {:?}",
                r.id,
                r.problems,
                r.trace.steps()
            )),
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
