//! Signet core.

pub mod json;
