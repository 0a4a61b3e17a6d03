//! `token_check`, host-free: who is calling, proven by a bearer JWT, an API key / MISP licence
//! key, the mTLS certificate or a platform header — all bound to one registered partner
//! (`architecture.md`, `profiles.md` §3.5, §4.5, §4.7, §5.5).

pub mod apikey;
pub mod binding;
pub mod error;
pub mod jwks;
pub mod jwt;
mod time;

#[cfg(test)]
mod testkeys;

pub use error::{ClaimError, Inactive, Source, TokenError};
