//! `signet mosip seal|open`: MOSIP's partner-side encryption from files, as the egress applies
//! it (`signet_core::seal`). A way in for the interop tests and for integrators checking their
//! request shape or their keys.

use std::io::Write as _;
use std::process::ExitCode;

use rand_core::OsRng;
use signet_core::crypto::RustCrypto;
use signet_core::seal::{Opened, SealSettings};

use crate::Args;

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let (op, rest) = args.split_first().ok_or("mosip needs seal or open")?;
    let args = Args::parse(rest, &["--config", "--now"], &[])?;
    let config_path = args
        .value("--config")
        .ok_or("mosip needs --config <file>")?;
    let [body_path] = args.positional.as_slice() else {
        return Err("mosip needs exactly one body file".into());
    };
    let now_s = match args.value("--now") {
        Some(t) => signet_core::time::parse_rfc3339_ms(t)
            .ok_or_else(|| format!("--now: {t:?} is not RFC 3339"))?,
        None => crate::verify::system_now_ms(),
    } / 1000;
    let text = std::fs::read_to_string(config_path).map_err(|e| format!("{config_path}: {e}"))?;
    let settings = SealSettings::from_json(&text, &|name| std::env::var(name).ok(), now_s)
        .map_err(|e| format!("{config_path}: {e}"))?;
    let body = std::fs::read(body_path).map_err(|e| format!("{body_path}: {e}"))?;
    let result = match op.as_str() {
        "seal" => {
            let sealer = settings
                .sealer
                .ok_or("seal needs ida_encryption_certificate in the configuration")?;
            sealer
                .seal(&body, now_s, &mut OsRng, &RustCrypto)
                .map_err(|e| (e.reason(), e.to_string()))
        }
        "open" => {
            let opener = settings.opener.ok_or(
                "open needs partner_encryption_certificate and partner_encryption_key_env",
            )?;
            opener
                .open(&body, &mut OsRng)
                .map(|o| match o {
                    Opened::Clear(b) => b,
                    Opened::NothingToOpen => body,
                })
                .map_err(|e| (e.reason(), e.to_string()))
        }
        other => return Err(format!("mosip: unknown operation {other:?} (seal or open)")),
    };
    match result {
        Ok(out) => {
            let _ = std::io::stdout().write_all(&out);
            Ok(ExitCode::SUCCESS)
        }
        Err((reason, detail)) => {
            eprintln!("signet: refused: {detail}");
            out!("{reason}");
            Ok(ExitCode::from(1))
        }
    }
}
