//! The reason-code reference, `docs/reason-codes.md`, is generated from `Reason` between two
//! markers; this test fails when the file is out of date.
//! `SIGNET_BLESS=1 cargo test -p signet-core --test docs` rewrites it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use signet_core::profiles::mojaloop;
use signet_core::reason::Reason;

const START: &str = "<!-- generated from filters/core/src/reason.rs: do not edit -->";
const END: &str = "<!-- end of generated table -->";

fn table() -> String {
    let mut out = String::from(
        "| code | generic status | Mojaloop | what it means | what the sender should do |\n\
         |---|---:|---|---|---|\n",
    );
    for r in Reason::ALL {
        let ml = mojaloop::reply(r);
        let body: serde_json::Value = serde_json::from_slice(&ml.body).unwrap();
        let code = body["errorInformation"]["errorCode"].as_str().unwrap();
        out.push_str(&format!(
            "| `{}` | {} | {} `{}` | {} | {} |\n",
            r.code(),
            r.generic_status(),
            ml.status,
            code,
            r.meaning(),
            r.fix()
        ));
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
