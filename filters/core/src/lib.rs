//! Signet core.

pub mod httpmsg;
pub mod json;
pub mod time;
