//! The pieces of the configuration reference: JSON Schemas generated from the serde types that
//! parse a configuration (their doc comments are the descriptions), and the schemas of the
//! types whose `Deserialize` is written by hand. Every module that parses a configuration uses
//! these; [`crate::check::documents`] puts the filters' schemas together for
//! `docs/config/*.schema.json` and `docs/configuration.md`.

use schemars::gen::{SchemaGenerator, SchemaSettings};
use schemars::schema::{RootSchema, Schema};
use schemars::JsonSchema;
use serde_json::{json, Value};

/// A schema written as JSON (for the types whose `Deserialize` is written by hand).
pub(crate) fn literal(v: Value) -> Schema {
    serde_json::from_value(v).unwrap_or(Schema::Bool(true))
}

/// A `profile` member: a profile's name (its defaults) or an object with exactly one member,
/// the profile's own section.
pub(crate) fn profile_section(names: &[&str], sections: Vec<Schema>) -> Schema {
    let properties: serde_json::Map<String, Value> = names
        .iter()
        .zip(sections)
        .map(|(n, s)| {
            (
                n.to_string(),
                serde_json::to_value(s).unwrap_or(Value::Bool(true)),
            )
        })
        .collect();
    literal(json!({
        "description": "The profile: its name (its defaults), or an object with one member, \
                        the profile's own section (`{\"mojaloop\": {...}}`).",
        "oneOf": [
            {"type": "string", "enum": names},
            {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": false, "properties": properties}
        ]
    }))
}

/// The draft-07 schema of a raw (as-written) configuration type.
pub(crate) fn root_of<T: JsonSchema>() -> RootSchema {
    let settings = SchemaSettings::draft07().with(|s| s.option_add_null_type = false);
    SchemaGenerator::new(settings).into_root_schema_for::<T>()
}
