//! The configuration reference: a JSON Schema of every filter's configuration and of the
//! partner registry, generated from the serde types that parse them (their doc comments are
//! the descriptions). `docs/config/*.schema.json` and `docs/configuration.md` are written
//! from here and checked to be in sync (`filters/core/tests/config_reference.rs`).

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

fn root<T: JsonSchema>() -> RootSchema {
    let settings = SchemaSettings::draft07().with(|s| s.option_add_null_type = false);
    SchemaGenerator::new(settings).into_root_schema_for::<T>()
}

/// Every schema of the reference: `(name, schema)`; the name is the `root_id`, or `registry`.
pub fn documents() -> Vec<(&'static str, RootSchema)> {
    vec![
        (
            "gateway",
            root::<crate::config::gateway::RawGatewayConfig>(),
        ),
        ("jws_verify", root::<crate::config::RawVerifyConfig>()),
        ("jws_sign", root::<crate::config::sign::RawSignConfig>()),
        ("token_check", crate::token::config::schema()),
        ("token_fetch", crate::token::fetch_config::schema()),
        ("mosip_seal", crate::seal::settings_schema()),
        ("registry", root::<crate::registry::RawRegistry>()),
    ]
}

/// The schema of a private raw type, for its module to expose.
pub(crate) fn root_of<T: JsonSchema>() -> RootSchema {
    root::<T>()
}
