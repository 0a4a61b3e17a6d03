//! The configuration reference — `docs/config/<name>.schema.json` and `docs/configuration.md` —
//! is generated from the serde types (`signet_core::check::documents`); this test fails when the files
//! are out of date, and checks every shipped filter configuration and registry against them.
//! `SIGNET_BLESS=1 cargo test -p signet-core --test config_reference` rewrites the files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schemas() -> Vec<(&'static str, Value)> {
    signet_core::check::documents()
        .into_iter()
        .map(|(n, s)| (n, serde_json::to_value(s).unwrap()))
        .collect()
}

fn schema_map() -> Map<String, Value> {
    schemas()
        .into_iter()
        .map(|(n, s)| (n.to_string(), s))
        .collect()
}

/// Compares `path` with `fresh`, or rewrites it under `SIGNET_BLESS`.
fn in_sync(path: &Path, fresh: &str, stale: &mut Vec<String>) {
    if std::env::var_os("SIGNET_BLESS").is_some() {
        std::fs::write(path, fresh).unwrap();
    } else if std::fs::read_to_string(path).ok().as_deref() != Some(fresh) {
        stale.push(path.display().to_string());
    }
}

#[test]
fn configuration_reference_is_up_to_date() {
    let mut stale = Vec::new();
    let docs = repo().join("docs");
    for (name, schema) in schemas() {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        in_sync(
            &docs.join(format!("config/{name}.schema.json")),
            &text,
            &mut stale,
        );
    }
    in_sync(&docs.join("configuration.md"), &markdown(), &mut stale);
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}: run SIGNET_BLESS=1 cargo test -p signet-core --test config_reference"
    );
}

// ---------------------------------------------------------------------------------------------
// The Markdown page.

const INTRO: &str = "\
# Configuration reference

<!-- generated from the serde types (filters/core/src/schema.rs) by
     filters/core/tests/config_reference.rs: do not edit -->

Every Signet filter takes its configuration as JSON text (the `configuration` StringValue of
its `envoy.filters.http.wasm` entry); the partner registry is the VM's configuration
(`vm_config.configuration`, see [registry.md](registry.md)) or the same members inline in a
filter's configuration. Unknown members are refused, so a typo fails the configuration
instead of being ignored. Durations are written as Envoy writes them (`\"30s\"`, `\"1.5s\"`,
`\"250ms\"`); their older integer spellings (`_s`, `_ms`) remain as aliases, never both.

Check a configuration offline with the same check Envoy runs:
`signet config check envoy.yaml` (every Signet filter of a bootstrap and the LDS files it names)
or `signet config check verify.json --root-id jws_verify [--registry registry.json]`.

The JSON Schemas are in [config/](config/): one per `root_id`, and `registry.schema.json`.
";

fn markdown() -> String {
    let mut out = String::from(INTRO);
    for (name, schema) in schemas() {
        let defs = schema.get("definitions").cloned().unwrap_or_default();
        let title = if name == "registry" {
            "The partner registry".to_string()
        } else {
            format!("`{name}`")
        };
        write!(out, "\n## {title}\n\n").unwrap();
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            write!(out, "{}\n\n", one_line(d)).unwrap();
        }
        write!(
            out,
            "Schema: [config/{name}.schema.json](config/{name}.schema.json)\n\n"
        )
        .unwrap();
        out.push_str("| field | type | default | meaning |\n|---|---|---|---|\n");
        rows(&schema, &defs, "", &mut out, name == "registry");
    }
    out
}

/// The registry's members, which `jws_verify` and `token_check` also take inline.
const REGISTRY_MEMBERS: [&str; 4] = ["partners", "policies", "misps", "domain_ca"];

/// The table rows of an object schema's members, nested members under a dotted path.
fn rows(schema: &Value, defs: &Value, prefix: &str, out: &mut String, expand_registry: bool) {
    let schema = resolve(schema, defs);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, p) in props {
        let path = format!("{prefix}{name}");
        let target = resolve(p, defs);
        let description = p
            .get("description")
            .or_else(|| target.get("description"))
            .and_then(Value::as_str)
            .map(one_line)
            .unwrap_or_default();
        let default = p
            .get("default")
            .filter(|d| !d.is_null())
            .map(|d| format!("`{d}`"))
            .unwrap_or_default();
        let kind = type_of(p, defs);
        let kind = if required.contains(&name.as_str()) {
            format!("{kind}, **required**")
        } else {
            kind
        };
        writeln!(out, "| `{path}` | {kind} | {default} | {description} |").unwrap();
        // A filter's inline registry members are the registry's, described once there.
        if prefix.is_empty() && !expand_registry && REGISTRY_MEMBERS.contains(&name.as_str()) {
            continue;
        }
        // Nested objects, arrays of objects, and the profile sections (`profile.<name>.`).
        let items = target.get("items").map(|i| resolve(i, defs));
        if let Some(i) = items.filter(|i| i.get("properties").is_some()) {
            rows(&i, defs, &format!("{path}[]."), out, true);
        } else if target.get("properties").is_some() {
            rows(&target, defs, &format!("{path}."), out, true);
        }
        for alt in target
            .get("oneOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if alt.get("properties").is_some() {
                rows(alt, defs, &format!("{path}."), out, true);
            }
        }
    }
}

fn resolve(schema: &Value, defs: &Value) -> Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => defs[r.trim_start_matches("#/definitions/")].clone(),
        None => match schema.get("allOf").and_then(Value::as_array) {
            Some(all) if all.len() == 1 => resolve(&all[0], defs),
            _ => schema.clone(),
        },
    }
}

/// A short type: `string`, `integer ≥ 0`, `[string]`, `object`, one of the enum values.
fn type_of(schema: &Value, defs: &Value) -> String {
    let s = resolve(schema, defs);
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = e.iter().map(|v| format!("`{v}`")).collect();
        return names.join(" \\| ");
    }
    if let Some(alts) = s
        .get("oneOf")
        .or_else(|| s.get("anyOf"))
        .and_then(Value::as_array)
    {
        let kinds: Vec<String> = alts.iter().map(|a| type_of(a, defs)).collect();
        return kinds.join(" or ");
    }
    let t = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    match t.as_str() {
        "array" => format!(
            "[{}]",
            s.get("items").map_or("any".into(), |i| type_of(i, defs))
        ),
        "object" if s.get("properties").is_none() => match s.get("additionalProperties") {
            Some(v @ Value::Object(_)) => format!("map of {}", type_of(v, defs)),
            _ => "object".into(),
        },
        "string" if s.get("pattern").is_some() => "duration".into(),
        "integer" if s.get("minimum").is_some() => "integer ≥ 0".into(),
        _ => t,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

// ---------------------------------------------------------------------------------------------
// Every shipped configuration against the schemas.

#[test]
fn every_shipped_configuration_fits_its_schema() {
    let schemas = schema_map();
    let envoy = repo().join("envoy");
    let mut files: Vec<PathBuf> = ["", "profiles", "examples"]
        .iter()
        .flat_map(|d| std::fs::read_dir(envoy.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut checked = 0;
    let mut errors = Vec::new();
    for file in &files {
        let params: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let mut registry = Map::new();
        for member in ["partners", "policies", "misps", "domain_ca"] {
            if let Some(v) = params.get(member) {
                registry.insert(member.into(), v.clone());
            }
        }
        let mut docs = vec![("registry".to_string(), Value::Object(registry))];
        for f in params
            .get("filters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let root_id = f["root_id"].as_str().unwrap().to_string();
            let configuration = f
                .get("configuration")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            docs.push((root_id, configuration));
        }
        for (name, doc) in docs {
            let schema = schemas
                .get(&name)
                .unwrap_or_else(|| panic!("{}: no schema {name}", file.display()));
            let defs = schema.get("definitions").cloned().unwrap_or_default();
            if let Err(e) = fits(&doc, schema, &defs, "") {
                errors.push(format!("{} {name}: {e}", file.display()));
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} configurations found");
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_schemas_refuse_what_the_parser_refuses() {
    let schemas = schema_map();
    let check = |name: &str, doc: Value| {
        let s = &schemas[name];
        fits(
            &doc,
            s,
            &s.get("definitions").cloned().unwrap_or_default(),
            "",
        )
    };
    let bad = [
        (
            "jws_verify",
            serde_json::json!({"profile": "generic", "clock_skw": "1s"}),
        ),
        (
            "jws_verify",
            serde_json::json!({"profile": {"mojaloop": {"date_window": 300}}}),
        ),
        (
            "jws_verify",
            serde_json::json!({"profile": {"generic": {}, "spar": {}}}),
        ),
        ("jws_verify", serde_json::json!({"profile": "nosuch"})),
        ("jws_verify", serde_json::json!({"direction": "request"})),
        (
            "gateway",
            serde_json::json!({"strip_header_prefixes": "x-"}),
        ),
        (
            "registry",
            serde_json::json!({"partners": [{"id": "a", "status": "sleepy"}]}),
        ),
        (
            "token_check",
            serde_json::json!({"providers": [{"isuer": "x"}]}),
        ),
    ];
    for (name, doc) in bad {
        assert!(check(name, doc.clone()).is_err(), "{name} {doc}");
    }
    let good = [
        (
            "jws_verify",
            serde_json::json!({"profile": {"mojaloop": {"date_window": "5m"}}, "clock_skew_s": 30}),
        ),
        ("gateway", serde_json::json!({})),
        (
            "registry",
            serde_json::json!({"partners": [{"id": "a", "status": "Active"}]}),
        ),
    ];
    for (name, doc) in good {
        assert_eq!(check(name, doc.clone()), Ok(()), "{name} {doc}");
    }
}

/// A JSON Schema check of the draft-07 subset the generated schemas use (no `pattern`:
/// durations are checked by their parser).
fn fits(v: &Value, schema: &Value, defs: &Value, at: &str) -> Result<(), String> {
    let s = resolve(schema, defs);
    if s == Value::Bool(true) {
        return Ok(());
    }
    let fail = |why: String| {
        Err(format!(
            "{}: {why}",
            if at.is_empty() { "(root)" } else { at }
        ))
    };
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let ok = e.iter().any(|x| {
            x == v
                || (x.is_string()
                    && v.as_str().map(str::to_ascii_lowercase).as_ref()
                        == x.as_str().map(str::to_string).as_ref())
        });
        if !ok {
            return fail(format!("{v} is not one of {e:?}"));
        }
    }
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        let n = alts.iter().filter(|a| fits(v, a, defs, at).is_ok()).count();
        if n != 1 {
            return fail(format!("fits {n} of the oneOf alternatives"));
        }
    }
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        if !alts.iter().any(|a| fits(v, a, defs, at).is_ok()) {
            return fail("fits none of the anyOf alternatives".into());
        }
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for a in all {
            fits(v, a, defs, at)?;
        }
    }
    if let Some(t) = s.get("type") {
        let kinds: Vec<&str> = match t {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let kind_ok = kinds.iter().any(|k| match *k {
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "array" => v.is_array(),
            "object" => v.is_object(),
            "null" => v.is_null(),
            _ => false,
        });
        if !kind_ok {
            return fail(format!("{v} is not {kinds:?}"));
        }
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        if n < min {
            return fail(format!("{n} is below {min}"));
        }
    }
    if let (Some(items), Some(a)) = (s.get("items"), v.as_array()) {
        for (i, x) in a.iter().enumerate() {
            fits(x, items, defs, &format!("{at}[{i}]"))?;
        }
    }
    if let Some(o) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for (k, x) in o {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(p), _) => fits(x, p, defs, &path)?,
                (None, Some(Value::Bool(false))) => return fail(format!("unknown member {k}")),
                (None, Some(extra @ Value::Object(_))) => fits(x, extra, defs, &path)?,
                (None, _) => {}
            }
        }
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !o.contains_key(r.as_str().unwrap_or_default()) {
                return fail(format!("{r} is required"));
            }
        }
        let count = o.len() as u64;
        if s.get("minProperties")
            .and_then(Value::as_u64)
            .is_some_and(|m| count < m)
            || s.get("maxProperties")
                .and_then(Value::as_u64)
                .is_some_and(|m| count > m)
        {
            return fail(format!("{count} members"));
        }
    }
    Ok(())
}
