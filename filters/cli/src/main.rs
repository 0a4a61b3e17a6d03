//! `signet`: verify, sign and explain, over the same core as the Envoy filters.
//!
//! `signet verify --config <filter config JSON> <message.http>` prints every check and the
//! verdict; `signet config check <file>` checks filter configurations as Envoy would;
//! `signet conformance <dir> [--json]` runs case files in the shared vector format.

/// `println!` that ignores a closed stdout (`signet conformance | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod config;
mod conformance;
mod mosip;
mod sign;
mod verify;

use std::process::ExitCode;

const USAGE: &str = "\
usage:
  signet verify --config <jws_verify config.json> [--registry <registry.json>] [--peer ID] [--now RFC3339] [--claims JSON] <message.http>
  signet sign --config <jws_sign config.json> [--now RFC3339] [--curl [--url BASE]] <message.http>
  signet conformance <dir> [--json] [--export <outdir> [--tls-name NAME]]
  signet config check <Envoy bootstrap.yaml|json> | <filter config.json> --root-id ID [--registry <registry.json>]
  signet mosip seal|open --config <encryption settings.json> [--now RFC3339] <body.json>

verify   reads a raw HTTP/1.1 message file (request line, headers, blank line, exact body),
         prints each check with pass/fail and the verdict; exit 0 accepted, 1 rejected
         (the reason code on the last line), 2 usage or configuration error. The partner
         registry is inline in the config (partners, policies, misps, domain_ca) or, as
         Envoy's VM configuration holds it, in --registry (not both).
sign     signs a raw HTTP message file (request or response) exactly as the jws_sign filter
         would and prints the signed message, or a ready-to-paste curl with --curl.
config check  runs the check Envoy's on_configure runs on a filter configuration (given
         --root-id), or on every Signet Wasm filter of an Envoy bootstrap and the LDS files it
         names: prints `ok <filter>` or `error <filter>: <field>: <message>` (the text of
         Envoy's log) per filter; exit 0 all valid, 1 any error, 2 usage error. `*_env`
         settings read the VM's environment as Envoy would give it (key_values, host_env_keys).
conformance  runs every *.json case file in <dir> (format: docs/cli.md#case-files);
         exit 0 only when every case gets its expected verdict. --export writes, per case,
         the jws_verify configuration (<id>.config.json) and the request (<id>.http) it
         implies; --tls-name registers NAME as the signer's mTLS identity in those configs.
mosip    seal: an IDA auth / e-KYC request body with `request` in clear → the encrypted
         envelope MOSIP's partner SDK sends; open: an e-KYC answer → the identity in clear.
         The partner's key comes from the environment variable the settings name. Exit 0 with
         the body on stdout, 1 refused (the reason code on stdout, the detail on stderr).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("verify") => verify::run(args.get(1..).unwrap_or_default()),
        Some("sign") => sign::run(args.get(1..).unwrap_or_default()),
        Some("config") => config::run(args.get(1..).unwrap_or_default()),
        Some("conformance") => conformance::run(args.get(1..).unwrap_or_default()),
        Some("mosip") => mosip::run(args.get(1..).unwrap_or_default()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("signet: {e}");
            ExitCode::from(2)
        }
    }
}

/// Splits `--flag value` options from positional arguments.
pub(crate) struct Args {
    pub flags: Vec<(String, Option<String>)>,
    pub positional: Vec<String>,
}

impl Args {
    pub fn parse(args: &[String], with_value: &[&str], switches: &[&str]) -> Result<Args, String> {
        let mut flags = Vec::new();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if with_value.contains(&a.as_str()) {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                flags.push((a.clone(), Some(v.clone())));
            } else if switches.contains(&a.as_str()) {
                flags.push((a.clone(), None));
            } else if a.starts_with("--") {
                return Err(format!("unknown option {a}\n{USAGE}"));
            } else {
                positional.push(a.clone());
            }
        }
        Ok(Args { flags, positional })
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn switch(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }
}
