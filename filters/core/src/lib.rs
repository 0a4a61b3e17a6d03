//! Signet core.

pub mod b64;
pub mod crypto;
pub mod jose;
pub mod json;
pub mod keys;
pub mod token;
pub mod x509;
