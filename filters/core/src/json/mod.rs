//! JSON for Signet: strict parsing (`strict`) and byte-exact re-serialization (`canonical`).

pub mod canonical;
mod numfmt;
pub mod strict;

pub use canonical::{
    ecmascript, ecmascript_changes_numbers, orjson_canonical, orjson_integers_fit, orjson_sorted,
    write_json_string, KeyOrder, ObjectWriter,
};
pub use numfmt::{ecmascript_number, orjson_float};
pub use strict::{
    float_tokens, parse_strict, parse_strict_object, JsonError, JsonLimits, JsonNumber, JsonValue,
};

#[cfg(test)]
mod canonical_tests;
#[cfg(test)]
mod proptests;
