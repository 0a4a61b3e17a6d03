//! Signet core.

pub mod json;
pub mod time;
