//! `signet conformance <dir> [--json]`: run every case file, print a table or JSON lines.

use std::path::Path;
use std::process::ExitCode;

use signet_core::conformance::Case;
use signet_core::crypto::RustCrypto;

use crate::Args;

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let args = Args::parse(args, &["--export", "--tls-name"], &["--json"])?;
    let [dir] = args.positional.as_slice() else {
        return Err("conformance needs exactly one directory".into());
    };
    let json = args.switch("--json");
    let mut files: Vec<_> = std::fs::read_dir(Path::new(dir))
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{dir}: no *.json case files"));
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    if !json {
        out!(
            "{:<12} {:<9} {:<7} {:<7} {:<20} result",
            "case",
            "profile",
            "expect",
            "got",
            "reason"
        );
    }
    for path in &files {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let case = Case::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(outdir) = args.value("--export") {
            export(&case, Path::new(outdir), args.value("--tls-name"))?;
        }
        let outcome = case.run(&RustCrypto);
        let (got, reason, problems) = match &outcome {
            Ok(r) => (r.got.name(), r.reason.clone(), r.problems.clone()),
            Err(e) => ("error", "-".to_string(), vec![e.clone()]),
        };
        let ok = problems.is_empty();
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        if json {
            let line = serde_json::json!({
                "id": case.id,
                "expect": case.expect.name(),
                "got": got,
                "reason": reason,
                "pass": ok,
                "problems": problems,
            });
            out!("{line}");
        } else {
            out!(
                "{:<12} {:<9} {:<7} {:<7} {:<20} {}",
                case.id,
                case.profile.name(),
                case.expect.name(),
                got,
                reason,
                if ok {
                    "pass".to_string()
                } else {
                    format!("FAIL: {}", problems.join("; "))
                }
            );
        }
    }
    if !json {
        out!("{passed} passed, {failed} failed");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes the case as a live gateway would see it: the `jws_verify` configuration and the
/// request as an HTTP/1.1 message file. The gateway's clock is not the case's `at`, so a
/// freshness window that the case relies on (mosip `requestTime`) is switched off.
fn export(case: &Case, dir: &Path, tls_name: Option<&str>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut cfg = case.config_json()?;
    let msg = case.message()?;
    let Some(obj) = cfg.as_object_mut() else {
        return Err(format!("{}: configuration is not an object", case.id));
    };
    if case.profile == signet_core::config::ProfileName::Mosip {
        let mut section = match obj.remove("profile") {
            Some(serde_json::Value::Object(mut named)) => match named.remove("mosip") {
                Some(serde_json::Value::Object(s)) => s,
                _ => serde_json::Map::new(),
            },
            _ => serde_json::Map::new(),
        };
        section.insert("request_time_window".into(), "off".into());
        obj.insert("profile".into(), serde_json::json!({ "mosip": section }));
    }
    if let (Some(name), Some(peer)) = (tls_name, case.peer(&msg)) {
        let partners = obj.get_mut("partners").and_then(|p| p.as_array_mut());
        for p in partners
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_object_mut())
        {
            if p.get("id").and_then(|v| v.as_str()) == Some(peer.as_str()) {
                p.insert("tls_names".into(), serde_json::json!([name]));
            }
        }
    }
    let write = |name: String, bytes: &[u8]| {
        std::fs::write(dir.join(&name), bytes).map_err(|e| format!("{name}: {e}"))
    };
    write(
        format!("{}.config.json", case.id),
        cfg.to_string().as_bytes(),
    )?;
    let mut http = format!("{} {} HTTP/1.1\r\n", msg.method, msg.path).into_bytes();
    for (n, v) in &msg.headers {
        http.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    http.extend_from_slice(b"\r\n");
    http.extend_from_slice(&msg.body);
    write(format!("{}.http", case.id), &http)
}
