//! `signet config check`: the check Envoy's `on_configure` runs (`signet_core::check`), offline,
//! on one filter configuration or on every Signet filter of an Envoy bootstrap.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;
use signet_core::check::{self, Host};
use signet_core::config_error::ConfigError;
use signet_core::registry::Registry;

use crate::Args;

/// One Signet Wasm filter found in an Envoy configuration.
#[derive(Debug, PartialEq)]
struct Found {
    name: String,
    root_id: String,
    configuration: String,
    /// `vm_config.configuration`: the partner registry (blank: none).
    vm_configuration: String,
    /// `vm_config.environment_variables.key_values`: set in the VM by Envoy itself.
    key_values: Vec<(String, String)>,
    /// `vm_config.environment_variables.host_env_keys`: passed from Envoy's environment.
    host_env_keys: Vec<String>,
}

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(args, &["--root-id", "--registry"], &[])?;
    let [verb, file] = a.positional.as_slice() else {
        return Err("usage: signet config check <file> [--root-id ID [--registry FILE]]".into());
    };
    if verb != "check" {
        return Err(format!("unknown config command {verb:?} (known: check)"));
    }
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let text = read(Path::new(file))?;
    let found = match a.value("--root-id") {
        Some(root_id) => vec![Found {
            name: root_id.to_string(),
            root_id: root_id.to_string(),
            configuration: text,
            vm_configuration: match a.value("--registry") {
                Some(r) => read(Path::new(r))?,
                None => String::new(),
            },
            key_values: Vec::new(),
            // The operator's own environment stands for Envoy's.
            host_env_keys: std::env::vars().map(|(k, _)| k).collect(),
        }],
        None => {
            if a.value("--registry").is_some() {
                return Err("--registry goes with --root-id (a bootstrap names its own)".into());
            }
            bootstrap(Path::new(file), &text)?
        }
    };
    if found.is_empty() {
        out!("error {file}: no Signet Wasm filter found");
        return Ok(ExitCode::from(1));
    }
    let now_s = crate::verify::system_now_ms() / 1000;
    let mut failed = false;
    for f in &found {
        match verdict(f, now_s) {
            Ok(()) => out!("ok {}", f.name),
            Err(e) => {
                failed = true;
                out!("error {}: {e}", f.name);
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The filter's verdict, worded as Envoy logs it (`field: message`; the registry's prefixed).
fn verdict(f: &Found, now_s: i64) -> Result<(), String> {
    let registry: Option<Registry> = check::registry(f.vm_configuration.as_bytes())
        .map_err(|e| format!("{}: {e}", check::REGISTRY))?;
    let env = |name: &str| {
        f.key_values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                f.host_env_keys
                    .iter()
                    .any(|k| k == name)
                    .then(|| std::env::var(name).ok())
                    .flatten()
            })
    };
    let host = Host { env: &env, now_s };
    check::filter(
        &f.root_id,
        f.configuration.as_bytes(),
        registry.as_ref(),
        &host,
    )
    .map(|_| ())
    .map_err(|e: ConfigError| e.to_string())
}

/// Every Signet filter of an Envoy bootstrap (YAML or JSON) and of the LDS files it names.
fn bootstrap(path: &Path, text: &str) -> Result<Vec<Found>, String> {
    let doc: Value = serde_yaml::from_str(text)
        .map_err(|e| format!("{}: not YAML/JSON: {e}", path.display()))?;
    let mut found = Vec::new();
    let mut lds = Vec::new();
    walk(&doc, &mut found, &mut lds);
    for p in lds {
        // Envoy resolves a relative path against its working directory; try the bootstrap's
        // directory too, where such files usually sit.
        let beside = path.parent().map(|d| d.join(&p));
        let file = match beside {
            Some(b) if !p.exists() && b.exists() => b,
            _ => p,
        };
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value = serde_yaml::from_str(&text)
            .map_err(|e| format!("{}: not YAML/JSON: {e}", file.display()))?;
        walk(&doc, &mut found, &mut Vec::new());
    }
    Ok(found)
}

/// Collects Wasm plugin configurations (an object with `root_id` and `vm_config`) that are
/// Signet's (a known `root_id`), and the paths of `lds_config` files.
fn walk(v: &Value, found: &mut Vec<Found>, lds: &mut Vec<PathBuf>) {
    match v {
        Value::Object(m) => {
            if let (Some(Value::String(root_id)), Some(vm)) = (m.get("root_id"), m.get("vm_config"))
            {
                if check::ROOT_IDS.contains(&root_id.as_str()) {
                    found.push(plugin(m, root_id, vm));
                }
            }
            if let Some(l) = m.get("lds_config") {
                let p = l
                    .pointer("/path_config_source/path")
                    .or_else(|| l.get("path"));
                if let Some(Value::String(p)) = p {
                    lds.push(PathBuf::from(p));
                }
            }
            m.values().for_each(|c| walk(c, found, lds));
        }
        Value::Array(items) => items.iter().for_each(|c| walk(c, found, lds)),
        _ => {}
    }
}

fn plugin(m: &serde_json::Map<String, Value>, root_id: &str, vm: &Value) -> Found {
    // A StringValue `{"@type": ..., "value": "<text>"}`; absent is empty, as Envoy hands it.
    let string_value = |v: Option<&Value>| {
        v.and_then(|c| c.get("value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let env = vm.get("environment_variables");
    let key_values = env
        .and_then(|e| e.get("key_values"))
        .and_then(Value::as_object)
        .map(|kv| {
            kv.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let host_env_keys = env
        .and_then(|e| e.get("host_env_keys"))
        .and_then(Value::as_array)
        .map(|ks| {
            ks.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Found {
        name: m
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(root_id)
            .to_string(),
        root_id: root_id.to_string(),
        configuration: string_value(m.get("configuration")),
        vm_configuration: string_value(vm.get("configuration")),
        key_values,
        host_env_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOTSTRAP: &str = r#"
static_resources:
  listeners:
  - name: platform
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              config:
                name: signet.gateway
                root_id: gateway
                configuration: {"@type": type.googleapis.com/google.protobuf.StringValue, value: "{}"}
                vm_config:
                  configuration:
                    "@type": type.googleapis.com/google.protobuf.StringValue
                    value: '{"partners": [{"id": "a"}]}'
          - name: envoy.filters.http.wasm
            typed_config:
              config:
                root_id: jws_verify
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: '{"profile": {"mojaloop": {"date_window": "soon"}}}'
                vm_config: {environment_variables: {key_values: {K: v}, host_env_keys: [H]}}
          - name: envoy.filters.http.wasm
            typed_config:
              config: {root_id: someone_elses, vm_config: {}}
"#;

    fn found() -> Vec<Found> {
        bootstrap(Path::new("envoy.yaml"), BOOTSTRAP).unwrap_or_default()
    }

    #[test]
    fn finds_every_signet_filter_of_a_bootstrap() {
        let f = found();
        let names: Vec<_> = f
            .iter()
            .map(|f| (f.name.as_str(), f.root_id.as_str()))
            .collect();
        assert_eq!(
            names,
            [("signet.gateway", "gateway"), ("jws_verify", "jws_verify")]
        );
        assert_eq!(
            f.first().map(|f| f.vm_configuration.contains("partners")),
            Some(true)
        );
        assert_eq!(
            f.get(1)
                .map(|f| (f.key_values.clone(), f.host_env_keys.clone())),
            Some((vec![("K".into(), "v".into())], vec!["H".into()]))
        );
    }

    #[test]
    fn the_verdict_is_the_cores_field_and_message() {
        let v: Vec<_> = found().iter().map(|f| verdict(f, 1_750_000_000)).collect();
        assert_eq!(v.first(), Some(&Ok(())));
        let bad = v.get(1).cloned().and_then(Result::err).unwrap_or_default();
        assert!(bad.starts_with("profile.mojaloop.date_window: "), "{bad}");
    }

    #[test]
    fn follows_the_lds_file_a_bootstrap_names() {
        let dir = std::env::temp_dir().join(format!("signet-lds-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let lds = dir.join("lds.yaml");
        let listeners = BOOTSTRAP.replace("static_resources:\n  listeners:", "resources:");
        let written = std::fs::write(&lds, listeners);
        let boot = format!(
            "dynamic_resources:\n  lds_config:\n    path_config_source: {{path: {}}}\n",
            lds.display()
        );
        let f = bootstrap(&dir.join("envoy.yaml"), &boot);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(written.is_ok());
        let names: Vec<_> = f.unwrap_or_default().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["signet.gateway", "jws_verify"]);
    }

    #[test]
    fn a_bad_registry_is_named_as_envoy_names_it() {
        let mut f = found().remove(0);
        f.vm_configuration = r#"{"partners": [{"id": "a", "status": "sleepy"}]}"#.into();
        let e = verdict(&f, 0).err().unwrap_or_default();
        assert!(
            e.starts_with("partner registry (vm_config.configuration): partners[0].status: "),
            "{e}"
        );
    }
}
