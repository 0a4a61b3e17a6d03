//! The reason-code reference, `docs/reason-codes.md`, is generated between two markers: what
//! each code means and what to fix from `Reason`, and what each platform's caller receives from
//! the reply mappers the filters use (`VerifyConfig::reply`, `reply::spring`); this test fails
//! when the file is out of date.
//! `SIGNET_BLESS=1 cargo test -p signet-core --test docs` rewrites it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fmt;

use serde_json::Value;
use signet_core::config::VerifyConfig;
use signet_core::message::{Context, Message};
use signet_core::reason::{Inactive, Reason, Refusal};
use signet_core::reply::Reply;

const START: &str = "<!-- generated from filters/core/src/reason.rs: do not edit -->";
const END: &str = "<!-- end of generated table -->";

/// A bare reason, to ask a reply mapper what it answers to it.
struct Code(Reason, Option<Inactive>);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code())
    }
}

impl Refusal for Code {
    fn reason(&self) -> Reason {
        self.0
    }

    fn inactive(&self) -> Option<Inactive> {
        self.1
    }
}

/// A platform column: the `jws_verify` profile whose replies it shows, and where the error
/// code sits in the reply (`None`: the status says it all).
struct Platform {
    profile: &'static str,
    code: fn(&Reply, &Value) -> Option<String>,
}

fn at(body: &Value, pointer: &str) -> Option<String> {
    body.pointer(pointer)?.as_str().map(str::to_string)
}

const PLATFORMS: [(&str, Platform); 5] = [
    (
        "generic",
        Platform {
            profile: "generic",
            code: |_, _| None,
        },
    ),
    (
        "Mojaloop",
        Platform {
            profile: "mojaloop",
            code: |_, b| at(b, "/errorInformation/errorCode"),
        },
    ),
    (
        "OCEN",
        Platform {
            profile: "ocen",
            // Spring: a token refusal is an empty 401 with its challenge, the rest the
            // reason phrase of the error JSON.
            code: |r, b| {
                let challenge = r.headers.iter().find(|(n, _)| n == "www-authenticate");
                challenge
                    .map(|(_, v)| v.clone())
                    .or_else(|| at(b, "/error"))
            },
        },
    ),
    (
        "MOSIP",
        Platform {
            profile: "mosip",
            code: |_, b| at(b, "/errors/0/errorCode"),
        },
    ),
    (
        "SPAR",
        Platform {
            profile: "spar",
            code: |_, b| at(b, "/response_header/response_error_message"),
        },
    ),
];

/// The profile's defaults (MOSIP also needs its partner domain's CA).
fn verifier(profile: &str) -> VerifyConfig {
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/x509/ca.pem");
    let json = serde_json::json!({
        "profile": profile,
        "partners": [],
        "domain_ca": {"AUTH": [std::fs::read_to_string(ca).unwrap()]},
    });
    VerifyConfig::from_json(&json.to_string()).unwrap_or_else(|e| panic!("{profile}: {e}"))
}

/// `status` and, where the platform has one, the error code of its reply to `code`.
fn cell(cfg: &VerifyConfig, p: &Platform, code: &Code) -> String {
    let msg = Message {
        method: "POST".into(),
        path: "/idauthentication/v1/auth/lk/partner/key".into(),
        status: None,
        headers: Vec::new(),
        body: b"{}".to_vec(),
    };
    let ctx = Context {
        now_ms: 1_750_000_000_000,
        peer: None,
        token_claims: None,
        route_name: None,
    };
    let reply = cfg.reply(code, &msg, &ctx, "00000000", false);
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    match (p.code)(&reply, &body) {
        Some(c) => format!("{} `{c}`", reply.status),
        None => reply.status.to_string(),
    }
}

fn table() -> String {
    let mut out = String::from(
        "| code | what it means | what the sender should do |\n\
         |---|---|---|\n",
    );
    for r in Reason::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            r.code(),
            r.meaning(),
            r.fix()
        ));
    }
    let configs: Vec<VerifyConfig> = PLATFORMS.iter().map(|(_, p)| verifier(p.profile)).collect();
    out.push_str(
        "\nWhat the caller receives: the HTTP status and the platform's error code.\n\n| code |",
    );
    for (name, _) in &PLATFORMS {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(PLATFORMS.len()));
    out.push('\n');
    for r in Reason::ALL {
        out.push_str(&format!("| `{}` |", r.code()));
        for ((_, p), cfg) in PLATFORMS.iter().zip(&configs) {
            let plain = cell(cfg, p, &Code(r, None));
            // Where a platform tells the inactive credentials apart (MOSIP), each one that
            // answers otherwise is listed.
            let mut variants = Vec::new();
            if r == Reason::PartnerInactive {
                for i in Inactive::ALL {
                    let c = cell(cfg, p, &Code(r, Some(i)));
                    if c != plain {
                        variants.push(format!("{}: {c}", i.what()));
                    }
                }
            }
            if variants.is_empty() {
                out.push_str(&format!(" {plain} |"));
            } else {
                out.push_str(&format!(" {plain}; {} |", variants.join("; ")));
            }
        }
        out.push('\n');
    }
    out
}

#[test]
fn reason_code_reference_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reason-codes.md");
    let text = std::fs::read_to_string(path).unwrap();
    let (head, rest) = text.split_once(START).expect("start marker");
    let (_, tail) = rest.split_once(END).expect("end marker");
    let fresh = format!("{head}{START}\n{}{END}{tail}", table());
    if std::env::var_os("SIGNET_BLESS").is_some() {
        std::fs::write(path, &fresh).unwrap();
    } else {
        assert!(
            fresh == text,
            "docs/reason-codes.md is out of date: run SIGNET_BLESS=1 cargo test -p signet-core --test docs"
        );
    }
}
