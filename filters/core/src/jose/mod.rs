//! JOSE: algorithms, the protected header, JWS serializations and signing inputs
//! (RFC 7515, RFC 7797, docs/profiles.md#rules-every-profile-follows).

pub mod alg;
pub mod header;
pub mod jws;

pub use alg::Alg;
pub use header::{CritB64, Header, HeaderError, HeaderRules};
pub use jws::{HeaderValue, JwsError};
