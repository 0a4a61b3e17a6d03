//! `signet verify`: one message, every check explained.

use std::process::ExitCode;

use signet_core::config::{Direction, VerifyConfig};
use signet_core::crypto::RustCrypto;
use signet_core::httpmsg;
use signet_core::message::{Context, Message};
use signet_core::registry::Registry;
use signet_core::trace::Trace;
use signet_core::verify::{no_wait, verify, MemoryReplay, Outcome, Run};

use crate::Args;

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let args = Args::parse(
        args,
        &["--config", "--registry", "--peer", "--now", "--claims"],
        &[],
    )?;
    let config_path = args
        .value("--config")
        .ok_or("verify needs --config <file>")?;
    let [message_path] = args.positional.as_slice() else {
        return Err("verify needs exactly one message file".into());
    };
    let config_text =
        std::fs::read_to_string(config_path).map_err(|e| format!("{config_path}: {e}"))?;
    // The partner registry as Envoy's VM configuration holds it, or inline in the config.
    let registry = match args.value("--registry") {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
            Some(Registry::from_json(&bytes).map_err(|e| format!("{path}: {e}"))?)
        }
        None => None,
    };
    let cfg = VerifyConfig::from_json_with(&config_text, registry.as_ref())
        .map_err(|e| format!("{config_path}: {e}"))?;
    let raw = std::fs::read(message_path).map_err(|e| format!("{message_path}: {e}"))?;
    let parsed = httpmsg::parse_message(&raw, httpmsg::HttpLimits::default())
        .map_err(|e| format!("{message_path}: {e}"))?;
    let msg = to_message(&parsed);
    if (cfg.common.direction == Direction::Response) != msg.status.is_some() {
        return Err(format!(
            "{message_path}: the configuration verifies {}s but the file holds a {}",
            if cfg.common.direction == Direction::Response {
                "response"
            } else {
                "request"
            },
            if msg.status.is_some() {
                "response"
            } else {
                "request"
            },
        ));
    }
    let now_ms = match args.value("--now") {
        Some(t) => signet_core::time::parse_rfc3339_ms(t)
            .ok_or_else(|| format!("--now: {t:?} is not RFC 3339"))?,
        None => system_now_ms(),
    };
    let token_claims = match args.value("--claims") {
        Some(j) => Some(serde_json::from_str(j).map_err(|e| format!("--claims: {e}"))?),
        None => None,
    };
    let ctx = Context {
        now_ms,
        peer: args.value("--peer").map(str::to_string),
        token_claims,
        route_name: None,
    };
    let mut trace = Trace::recording();
    let mut replay = MemoryReplay::new(16);
    let result = no_wait(verify(&mut Run {
        common: &cfg.common,
        registry: &cfg.registry,
        profile: &cfg.profile,
        msg: &msg,
        ctx: &ctx,
        backend: &RustCrypto,
        replay: Some(&mut replay),
        trace: &mut trace,
        keys: None,
    }));
    out!("profile: {}", cfg.profile.name().name());
    for step in trace.steps() {
        out!(
            "  [{}] {:<18} {}",
            if step.ok { "pass" } else { "FAIL" },
            step.check,
            step.detail
        );
    }
    match result {
        Ok(Outcome::Verified { partner, alg, kid }) => {
            out!(
                "verdict: accepted — signed by partner {partner} ({}{})",
                alg.name(),
                kid.map(|k| format!(", kid {k}")).unwrap_or_default()
            );
            out!("ok");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Outcome::Unsigned) => {
            out!("verdict: accepted — unsigned, route policy if-present");
            out!("ok");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Outcome::Skipped) => {
            out!("verdict: accepted — not verified, route policy skip");
            out!("ok");
            Ok(ExitCode::SUCCESS)
        }
        // `no_wait` refused it already; never an acceptance.
        Ok(Outcome::NeedKeys { participant }) => Err(format!("keys of {participant} not loaded")),
        Err(rej) => {
            let reply = cfg.reply(
                &rej.error,
                &msg,
                &ctx,
                "cli",
                cfg.common.direction == Direction::Response,
            );
            out!("verdict: rejected — {}", rej.error);
            out!("fix: {}", rej.reason().fix());
            if rej.reason() == signet_core::reason::Reason::SigInvalid {
                let hints = signet_core::verify::diagnose::diagnose(
                    &cfg.registry,
                    cfg.profile.segments(&msg),
                    &msg,
                    &RustCrypto,
                );
                if hints.is_empty() {
                    out!("hint: no registered key verifies this signature over the body, its canonical or re-serialized forms, or the path: wrong key, or the bytes changed after signing");
                }
                for h in hints {
                    out!("hint: {h}");
                }
            }
            if let Some(p) = rej.partner() {
                out!("partner: {p}");
            }
            out!(
                "reply: HTTP {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
            out!("{}", rej.reason());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The core's view of a parsed message file.
pub fn to_message(m: &httpmsg::HttpMessage) -> Message {
    Message {
        method: m.method().unwrap_or_default().to_string(),
        path: m.target().unwrap_or_default().to_string(),
        status: m.status(),
        headers: m
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect(),
        body: m.body.clone(),
    }
}

/// The system clock in Unix milliseconds.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
