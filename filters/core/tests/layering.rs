//! The step kit (`verify/`, `sign/`, `reply.rs`) names no profile and no filter configuration:
//! profiles build on the kit, never the other way round, so the import graph has no cycle and
//! a new profile is its own module plus one registration line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_step_kit_imports_no_profile() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("reply.rs")];
    rust_files(&src.join("verify"), &mut files);
    rust_files(&src.join("sign"), &mut files);
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("crate::profiles") || code.contains("crate::config") {
                found.push(format!("{}:{}: {line}", f.display(), i + 1));
            }
        }
    }
    assert!(files.len() > 5, "{files:?}");
    assert!(found.is_empty(), "{}", found.join("\n"));
}
