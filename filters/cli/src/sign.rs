//! `signet sign`: sign a raw HTTP message file exactly as the `jws_sign` filter would.

use std::process::ExitCode;

use signet_core::config::sign::SignConfig;
use signet_core::crypto::RustCrypto;
use signet_core::httpmsg::{self, HttpMessage};
use signet_core::sign::SignOutcome;

use crate::verify::to_message;
use crate::Args;

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let args = Args::parse(args, &["--config", "--now", "--url"], &["--curl"])?;
    let config_path = args.value("--config").ok_or("sign needs --config <file>")?;
    let [message_path] = args.positional.as_slice() else {
        return Err("sign needs exactly one message file".into());
    };
    let text = std::fs::read_to_string(config_path).map_err(|e| format!("{config_path}: {e}"))?;
    let cfg = SignConfig::from_json(&text, &|name| std::env::var(name).ok())
        .map_err(|e| format!("{config_path}: {e}"))?;
    let raw = std::fs::read(message_path).map_err(|e| format!("{message_path}: {e}"))?;
    let mut parsed = httpmsg::parse_message(&raw, httpmsg::HttpLimits::default())
        .map_err(|e| format!("{message_path}: {e}"))?;
    let mut msg = to_message(&parsed);
    let now_ms = match args.value("--now") {
        Some(t) => signet_core::time::parse_rfc3339_ms(t)
            .ok_or_else(|| format!("--now: {t:?} is not RFC 3339"))?,
        None => crate::verify::system_now_ms(),
    };
    let outcome = cfg
        .sign(&mut msg, now_ms, &RustCrypto)
        .map_err(|e| format!("sign_failed: {e}"))?;
    if let SignOutcome::NotSigned(why) = outcome {
        eprintln!("signet: not signed: {why}");
    }
    // Write the signer's header changes back, keeping the file's own names and order.
    for (name, value) in &msg.headers {
        if parsed.header(name) != Some(value.as_str()) {
            parsed.set_header(name, value);
        }
    }
    parsed.body = msg.body;
    if args.switch("--curl") {
        out!(
            "{}",
            curl(
                &parsed,
                args.value("--url").unwrap_or("https://127.0.0.1:8443")
            )
        );
    } else {
        use std::io::Write as _;
        let _ = std::io::stdout().write_all(&parsed.render());
    }
    Ok(ExitCode::SUCCESS)
}

/// A ready-to-paste curl command sending exactly this message.
fn curl(m: &HttpMessage, base: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut parts = vec![
        "curl".to_string(),
        "-sS".into(),
        "-X".into(),
        m.method().unwrap_or("POST").to_string(),
        quote(&format!(
            "{}{}",
            base.trim_end_matches('/'),
            m.target().unwrap_or("/")
        )),
    ];
    for h in &m.headers {
        if h.name.eq_ignore_ascii_case("content-length") || h.name.eq_ignore_ascii_case("host") {
            continue;
        }
        parts.push("-H".into());
        parts.push(quote(&format!("{}: {}", h.name, h.value)));
    }
    if !m.body.is_empty() {
        parts.push("--data-binary".into());
        parts.push(quote(&String::from_utf8_lossy(&m.body)));
    }
    parts.join(" ")
}
