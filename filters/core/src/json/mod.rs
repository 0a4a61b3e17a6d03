//! JSON for Signet: strict parsing (`strict`) and byte-exact re-serialization (`canonical`).

pub mod strict;

pub use strict::{parse_strict, parse_strict_object, JsonError, JsonLimits, JsonNumber, JsonValue};
