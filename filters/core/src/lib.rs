//! Signet core: everything the filters and the CLI decide, with no proxy-wasm dependency.
//!
//! The glue (`filters/wasm`) reads from Envoy, calls into this crate once per message and acts
//! on the answer; the CLI (`filters/cli`) does the same from files. The clock and the crypto
//! backend are passed in, so every decision here is unit-tested natively.

pub mod audit;
pub mod b64;
pub mod check;
pub mod config;
pub mod config_error;
pub mod conformance;
pub mod crypto;
pub mod duration;
pub mod httpmsg;
pub mod jose;
pub mod json;
pub mod keys;
pub mod message;
pub mod path;
pub mod pb;
pub mod profiles;
pub mod reason;
pub mod registry;
pub mod reply;
pub mod route;
pub mod schema;
pub mod seal;
pub mod sign;
pub mod time;
pub mod token;
pub mod trace;
pub mod verify;
pub mod x509;
