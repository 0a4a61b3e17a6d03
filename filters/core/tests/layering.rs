//! The core's structure, checked from its source: the top-level modules form layers, each
//! importing only from its own layer or those below it, and the import graph has no cycle (so
//! the step kits name no profile and a new profile is its own module plus one registration
//! line; docs/development.md describes the layers); and no type name is defined twice.
//!
//! `src/` is read as text: every `crate::` path outside comments and string literals is an
//! edge from the file's top-level module to the module the path names.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module imports from its own layer and the layers below; a new
/// top-level module is placed here.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "base",
        &[
            "b64",
            "json",
            "time",
            "duration",
            "reason",
            "config_error",
            "path",
            "message",
            "httpmsg",
            "pb",
            "trace",
            "route",
            "schema",
            "audit",
            "reply",
        ],
    ),
    ("JOSE", &["jose"]),
    ("keys", &["keys", "x509", "crypto"]),
    ("registry", &["registry"]),
    ("step kits", &["verify", "sign", "token", "seal"]),
    ("profiles", &["profiles"]),
    ("configuration", &["config", "check", "conformance"]),
];

/// module → imported module → the files that import it.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

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

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Length of the raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the start of `rest`.
fn raw_string_len(rest: &[u8]) -> Option<usize> {
    let open = if rest.starts_with(b"br") {
        2
    } else if rest.starts_with(b"r") {
        1
    } else {
        return None;
    };
    let hashes = rest[open..].iter().take_while(|b| **b == b'#').count();
    if rest.get(open + hashes) != Some(&b'"') {
        return None;
    }
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let body = open + hashes + 1;
    let end = rest[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())?;
    Some(body + end + close.len())
}

/// Length of the char literal at the start of `rest` (`'a'`, `'\n'`, `'"'`), or `None` for a
/// lifetime.
fn char_literal_len(rest: &[u8]) -> Option<usize> {
    if rest.get(1) == Some(&b'\\') {
        return rest[2..].iter().position(|b| *b == b'\'').map(|p| p + 3);
    }
    let c = std::str::from_utf8(&rest[1..rest.len().min(5)])
        .unwrap_or_else(|e| std::str::from_utf8(&rest[1..1 + e.valid_up_to()]).unwrap())
        .chars()
        .next()?;
    let after = 1 + c.len_utf8();
    (rest.get(after) == Some(&b'\'')).then_some(after + 1)
}

/// The source with comments (doc comments included) and string and char literals blanked.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let after_ident = i > 0 && is_ident(b[i - 1]);
        if rest.starts_with(b"//") {
            i += rest.iter().position(|c| *c == b'\n').unwrap_or(rest.len());
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if let Some(n) = raw_string_len(rest).filter(|_| !after_ident) {
            out.extend_from_slice(b"\"\"");
            i += n;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            out.extend_from_slice(b"\"\"");
            i += j + 1;
        } else if let Some(n) = (rest[0] == b'\'').then(|| char_literal_len(rest)).flatten() {
            out.extend_from_slice(b"' '");
            i += n;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The leading identifier of `s` (after whitespace).
fn ident(s: &str) -> &str {
    let s = s.trim_start();
    let end = s.bytes().position(|b| !is_ident(b)).unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules that the `crate::` paths of `code` name: `crate::a::B`,
/// `crate::{a, b::c}`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident(code.as_bytes()[at - 1]) {
            continue;
        }
        let rest = code[at + "crate::".len()..].trim_start();
        let Some(group) = rest.strip_prefix('{') else {
            out.insert(ident(rest).to_string());
            continue;
        };
        let mut depth = 0;
        let mut item = String::new();
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.insert(ident(&item).to_string());
                    item.clear();
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        out.insert(ident(&item).to_string());
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// The modules `lib.rs` declares.
fn declared_modules() -> BTreeSet<String> {
    let lib = code_only(&std::fs::read_to_string(src().join("lib.rs")).unwrap());
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("mod "))
                .map(|m| m.trim_end_matches(';').trim().to_string())
        })
        .collect()
}

fn graph() -> Graph {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.iter().next().unwrap().to_str().unwrap();
        let module = top.trim_end_matches(".rs");
        if module == "lib" {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        let edges = g.entry(module.to_string()).or_default();
        for to in imports(&code) {
            if to != module {
                edges
                    .entry(to)
                    .or_default()
                    .insert(format!("src/{}", rel.display()));
            }
        }
    }
    g
}

/// The cycles of `g`: each strongly connected component of more than one module, as one
/// closed path through it followed by every edge inside it with the files that make it.
fn cycles(g: &Graph) -> Vec<String> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(m) = todo.pop() {
            for next in g.get(&m).into_iter().flat_map(BTreeMap::keys) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for (m, r) in &reaches {
        if done.contains(*m) || !r.contains(*m) {
            continue;
        }
        let scc: BTreeSet<&String> = r
            .iter()
            .filter(|n| reaches.get(n).is_some_and(|rn| rn.contains(*m)))
            .collect();
        // A shortest closed path from `m` (breadth first inside the component).
        let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([*m]);
        'search: while let Some(at) = queue.pop_front() {
            for next in g.get(at).into_iter().flat_map(BTreeMap::keys) {
                if !scc.contains(next) || prev.contains_key(next) {
                    continue;
                }
                prev.insert(next, at);
                if next == *m {
                    break 'search;
                }
                queue.push_back(next);
            }
        }
        let mut path = vec![(*m).clone()];
        let mut at = *m;
        while let Some(p) = prev.get(at) {
            path.push((*p).clone());
            at = p;
            if at == *m {
                break;
            }
        }
        path.reverse();
        let mut text = format!("cycle: {}", path.join(" -> "));
        for from in &scc {
            for (to, files) in &g[*from] {
                if scc.contains(to) {
                    let files: Vec<&str> = files.iter().map(String::as_str).collect();
                    text.push_str(&format!("\n  {from} -> {to}: {}", files.join(", ")));
                }
            }
        }
        out.push(text);
        done.extend(scc.into_iter().cloned());
    }
    out
}

/// The names of the structs, enums, unions, traits and type aliases `code` defines; the
/// associated types of traits and impls are not counted (they name a role, not a type).
fn type_definitions(code: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphabetic() || c == '_' {
            let w = ident(rest);
            words.push(w);
            rest = &rest[w.len()..];
        } else {
            if matches!(c, '{' | '}' | ';' | '#' | '[' | ']') {
                words.push(&rest[..1]);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    // Whether each open block is an impl or trait body; `header` is the item being read.
    let mut blocks: Vec<bool> = Vec::new();
    let mut header: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        match *w {
            "{" => {
                let mut attribute = 0;
                let first = header.iter().find(|w| {
                    match **w {
                        "[" => attribute += 1,
                        "]" => attribute -= 1,
                        _ => {}
                    }
                    attribute == 0
                        && !matches!(**w, "#" | "]" | "pub" | "crate" | "super" | "in" | "unsafe")
                });
                blocks.push(matches!(first, Some(&"impl" | &"trait")));
                header.clear();
            }
            "}" => {
                blocks.pop();
                header.clear();
            }
            ";" => header.clear(),
            _ => header.push(w),
        }
        let defines = matches!(*w, "struct" | "enum" | "union" | "trait" | "type");
        let associated = *w == "type" && blocks.last() == Some(&true);
        if let (true, false, Some(name)) = (defines, associated, words.get(i + 1)) {
            if name.starts_with(|c: char| c.is_ascii_uppercase()) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Type name → the files that define it.
fn definitions() -> BTreeMap<String, Vec<String>> {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut defined: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files {
        let code = code_only(&std::fs::read_to_string(&f).unwrap());
        for name in type_definitions(&code) {
            let at = format!("src/{}", f.strip_prefix(&src).unwrap().display());
            defined.entry(name).or_default().push(at);
        }
    }
    defined
}

#[test]
fn no_type_name_is_defined_twice() {
    let defined = definitions();
    assert!(defined.len() > 100, "{}", defined.len());
    let twice: Vec<String> = defined
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(name, at)| format!("{name}: {}", at.join(", ")))
        .collect();
    assert!(twice.is_empty(), "\n{}", twice.join("\n"));
}

#[test]
fn the_import_graph_has_no_cycle() {
    let g = graph();
    assert!(g.len() > 20, "{:?}", g.keys());
    let found = cycles(&g);
    assert!(found.is_empty(), "\n{}", found.join("\n"));
}

#[test]
fn every_import_goes_down_the_layers() {
    let layer: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, mods))| mods.iter().map(move |m| (*m, i)))
        .collect();
    let declared = declared_modules();
    let placed: BTreeSet<String> = layer.keys().map(|m| m.to_string()).collect();
    assert_eq!(
        declared, placed,
        "lib.rs's modules and the LAYERS table differ: place a new module in a layer"
    );
    let mut upward = Vec::new();
    for (from, edges) in graph() {
        for (to, files) in edges {
            let (Some(&a), Some(&b)) = (layer.get(from.as_str()), layer.get(to.as_str())) else {
                upward.push(format!(
                    "{from} -> {to}: not a module of lib.rs ({files:?})"
                ));
                continue;
            };
            if b > a {
                upward.push(format!(
                    "{from} ({}) imports {to} ({}): {files:?}",
                    LAYERS[a].0, LAYERS[b].0
                ));
            }
        }
    }
    assert!(upward.is_empty(), "\n{}", upward.join("\n"));
}

#[test]
fn the_checks_see_imports_and_cycles() {
    let code = code_only(
        "use crate::{a, b::{c, D}, self};\n\
         // use crate::comment;\n\
         /* crate::block /* nested */ crate::still */\n\
         let s = \"crate::string\"; let r = r#\"crate::raw\"#; let q = '\"';\n\
         fn f<'x>() -> crate::e::E { crate::f::g() }\n",
    );
    let got: Vec<String> = imports(&code).into_iter().collect();
    assert_eq!(got, ["a", "b", "e", "f"]);
    let mut g = Graph::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(from.into())
            .or_default()
            .entry(to.into())
            .or_default()
            .insert(format!("src/{from}.rs"));
    }
    let found = cycles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("cycle: a -> b -> c -> a"),
        "{}",
        found[0]
    );
    g.get_mut("c").unwrap().remove("a");
    assert!(cycles(&g).is_empty());
    let code = code_only(
        "pub(crate) struct A<T> { t: T }\n#[derive(Debug)] enum B { X }\n\
         type C = u8; trait D { type Item; }\n\
         impl<T> Iterator for A<T> { type Item = u8; fn f() { struct E; } }\n\
         // struct F;\nlet s = \"struct G\";\n\
         macro_rules! m { () => { pub struct H; } }\n",
    );
    assert_eq!(type_definitions(&code), ["A", "B", "C", "D", "E", "H"]);
}
