//! Envoy jwt_authn's `payload_in_metadata`, as the Wasm host hands it over: the request's
//! dynamic metadata (`envoy.config.core.v3.Metadata`) in protobuf wire format, whose
//! `filter_metadata[namespace]` is a `google.protobuf.Struct` and whose payload entry is a
//! `Value` holding the verified claims as a `struct_value`.
//!
//! Decoded into [`JsonValue`] host-free, bounded (input size, depth, members per object, items
//! per list) and strict: a malformed message, a group, a string that is not UTF-8, a non-finite
//! number, a `Value` with no kind or a name given twice in one `Struct` is [`StructError`] —
//! the caller fails closed. Unknown fields are skipped, as protobuf requires.
//!
//! Numbers are doubles in a `Struct`; integral ones within ±2^53 become integers again (so
//! `exp`, `iat`, `nbf` read as the token had them).

use crate::json::{JsonNumber, JsonValue};
use crate::pb::{fields, Field};

/// Largest metadata message accepted.
pub const MAX_INPUT: usize = 256 * 1024;
/// Deepest nesting of `Struct` / `ListValue` (the claims' own limit is 16).
pub const MAX_DEPTH: usize = 16;
/// Most members of one object / items of one list.
pub const MAX_MEMBERS: usize = 256;

/// Why the metadata could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructError {
    /// Larger than [`MAX_INPUT`].
    TooLarge,
    /// Not well-formed protobuf (or a wire type where another was expected).
    Malformed,
    /// A string or key that is not UTF-8.
    NotUtf8,
    /// NaN or infinite `number_value`.
    NotFinite,
    /// A `Value` with none of its kinds set.
    NoKind,
    /// The same name twice in one `Struct`.
    DuplicateName,
    /// Deeper than [`MAX_DEPTH`] or more than [`MAX_MEMBERS`] entries.
    TooBig,
}

impl std::fmt::Display for StructError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StructError::TooLarge => "metadata too large",
            StructError::Malformed => "malformed protobuf",
            StructError::NotUtf8 => "string not UTF-8",
            StructError::NotFinite => "number not finite",
            StructError::NoKind => "Value without a kind",
            StructError::DuplicateName => "name given twice in a Struct",
            StructError::TooBig => "too deep or too many entries",
        })
    }
}

/// The entry `key` of `filter_metadata[namespace]` in a serialized `Metadata`: `Ok(None)` when
/// the namespace or the key is absent (jwt_authn verified no token).
pub fn payload_from_metadata(
    metadata: &[u8],
    namespace: &str,
    key: &str,
) -> Result<Option<JsonValue>, StructError> {
    if metadata.len() > MAX_INPUT {
        return Err(StructError::TooLarge);
    }
    // Metadata.filter_metadata = 1: map<string, Struct>; the last entry for a key wins.
    let mut found = None;
    for f in fields(metadata) {
        let (n, v) = f.map_err(|_| StructError::Malformed)?;
        if n != 1 {
            continue;
        }
        let (k, s) = map_entry(v)?;
        if k == namespace {
            found = s;
        }
    }
    let Some(ns) = found else {
        return Ok(None);
    };
    // Struct.fields = 1: map<string, Value>.
    let mut value = None;
    for f in fields(ns) {
        let (n, v) = f.map_err(|_| StructError::Malformed)?;
        if n != 1 {
            continue;
        }
        let (k, v) = map_entry(v)?;
        if k == key {
            value = v;
        }
    }
    match value {
        None => Ok(None),
        Some(v) => decode_value(v, 0).map(Some),
    }
}

/// A serialized `google.protobuf.Struct` as a JSON object.
pub fn decode_struct(bytes: &[u8]) -> Result<JsonValue, StructError> {
    if bytes.len() > MAX_INPUT {
        return Err(StructError::TooLarge);
    }
    struct_value(bytes, 1)
}

/// A map entry (key = 1, a string; value = 2, a message): the key and the value's bytes.
fn map_entry(v: Field<'_>) -> Result<(&str, Option<&[u8]>), StructError> {
    let Field::Bytes(entry) = v else {
        return Err(StructError::Malformed);
    };
    let mut key: &[u8] = b"";
    let mut value = None;
    for f in fields(entry) {
        match f.map_err(|_| StructError::Malformed)? {
            (1, Field::Bytes(k)) => key = k,
            (2, Field::Bytes(v)) => value = Some(v),
            (1 | 2, _) => return Err(StructError::Malformed),
            _ => {}
        }
    }
    let key = std::str::from_utf8(key).map_err(|_| StructError::NotUtf8)?;
    Ok((key, value))
}

fn struct_value(bytes: &[u8], depth: usize) -> Result<JsonValue, StructError> {
    if depth > MAX_DEPTH {
        return Err(StructError::TooBig);
    }
    let mut members: Vec<(String, JsonValue)> = Vec::new();
    for f in fields(bytes) {
        let (n, v) = f.map_err(|_| StructError::Malformed)?;
        if n != 1 {
            continue;
        }
        let (k, v) = map_entry(v)?;
        if members.iter().any(|(m, _)| m == k) {
            return Err(StructError::DuplicateName);
        }
        if members.len() >= MAX_MEMBERS {
            return Err(StructError::TooBig);
        }
        // A missing value is the default Value: no kind.
        let v = decode_value(v.ok_or(StructError::NoKind)?, depth)?;
        members.push((k.to_string(), v));
    }
    Ok(JsonValue::Object(members))
}

fn list_value(bytes: &[u8], depth: usize) -> Result<JsonValue, StructError> {
    if depth > MAX_DEPTH {
        return Err(StructError::TooBig);
    }
    let mut items = Vec::new();
    for f in fields(bytes) {
        match f.map_err(|_| StructError::Malformed)? {
            (1, Field::Bytes(v)) => {
                if items.len() >= MAX_MEMBERS {
                    return Err(StructError::TooBig);
                }
                items.push(decode_value(v, depth)?);
            }
            (1, _) => return Err(StructError::Malformed),
            _ => {}
        }
    }
    Ok(JsonValue::Array(items))
}

/// A `google.protobuf.Value` (a oneof: the last kind on the wire wins, as in protobuf).
fn decode_value(bytes: &[u8], depth: usize) -> Result<JsonValue, StructError> {
    let mut out = None;
    for f in fields(bytes) {
        out = match f.map_err(|_| StructError::Malformed)? {
            (1, Field::Varint(_)) => Some(JsonValue::Null),
            (2, Field::Fixed64(bits)) => Some(JsonValue::Number(number(f64::from_bits(bits))?)),
            (3, Field::Bytes(s)) => Some(JsonValue::String(
                std::str::from_utf8(s)
                    .map_err(|_| StructError::NotUtf8)?
                    .to_string(),
            )),
            (4, Field::Varint(b)) => Some(JsonValue::Bool(b != 0)),
            (5, Field::Bytes(s)) => Some(struct_value(s, depth.saturating_add(1))?),
            (6, Field::Bytes(l)) => Some(list_value(l, depth.saturating_add(1))?),
            (1..=6, _) => return Err(StructError::Malformed),
            _ => out,
        };
    }
    out.ok_or(StructError::NoKind)
}

/// 2^53: integral doubles below it are exact integers.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn number(x: f64) -> Result<JsonNumber, StructError> {
    if !x.is_finite() {
        return Err(StructError::NotFinite);
    }
    if x.fract() == 0.0 && x.abs() < EXACT {
        // Exact: |x| < 2^53 and integral.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(if x >= 0.0 {
            JsonNumber::U64(x as u64)
        } else {
            JsonNumber::I64(x as i64)
        });
    }
    Ok(JsonNumber::F64(x))
}

#[cfg(test)]
#[path = "struct_pb_tests.rs"]
mod tests;
