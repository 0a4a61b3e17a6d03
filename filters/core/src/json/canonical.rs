//! Byte-exact re-serializations of a [`JsonValue`].
//!
//! - [`orjson_sorted`]: SPAR's signing input, `orjson.dumps(v, option=OPT_SORT_KEYS)`
//!   (docs/profiles.md#spar).
//! - [`ecmascript`]: `JSON.stringify(JSON.parse(body))`, in ECMAScript property order or sorted by
//!   UTF-16 code units like `safe-stable-stringify` (docs/profiles.md#mojaloop).
//! - [`write_json_string`] / [`ObjectWriter`]: the minimal escaping shared with the JOSE header
//!   writer (docs/profiles.md#what-signets-signer-writes).
//!
//! Recursion follows the value's nesting, which the strict parser bounds (docs/profiles.md#bodies).

use std::io::Write;

use super::numfmt::{changes_decimal_value, ecmascript_number, orjson_float};
use super::strict::{float_tokens, JsonError, JsonLimits, JsonNumber, JsonValue};

/// Appends `s` as a JSON string: `"` and `\` escaped, U+0008/0009/000A/000C/000D as
/// `\b \t \n \f \r`, other U+0000–U+001F as `\u00xx` (lower-case hex); everything else,
/// including `/`, U+007F and non-ASCII, as literal UTF-8. Identical in orjson and
/// `JSON.stringify` for well-formed strings.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        start = i + 1;
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(b & 0x0F)).copied().unwrap_or(b'0'));
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Writes a compact JSON object member by member, in the order given (protected headers,
/// `FSPIOP-Signature`, error bodies).
#[derive(Debug, Default, Clone)]
pub struct ObjectWriter {
    out: Vec<u8>,
    members: usize,
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    fn name(&mut self, name: &str) {
        self.out.push(if self.members == 0 { b'{' } else { b',' });
        self.members += 1;
        write_json_string(&mut self.out, name);
        self.out.push(b':');
    }

    /// `"name":"value"`.
    pub fn string(&mut self, name: &str, value: &str) -> &mut Self {
        self.name(name);
        write_json_string(&mut self.out, value);
        self
    }

    /// `"name":"value"` or `"name":null`.
    pub fn opt_string(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.string(name, v),
            None => self.null(name),
        }
    }

    /// `"name":true|false`.
    pub fn bool(&mut self, name: &str, value: bool) -> &mut Self {
        self.name(name);
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// `"name":null`.
    pub fn null(&mut self, name: &str) -> &mut Self {
        self.name(name);
        self.out.extend_from_slice(b"null");
        self
    }

    /// `"name":123`.
    pub fn int(&mut self, name: &str, value: i64) -> &mut Self {
        self.name(name);
        self.out.extend_from_slice(value.to_string().as_bytes());
        self
    }

    /// `"name":["a","b"]`.
    pub fn string_array<S: AsRef<str>>(&mut self, name: &str, values: &[S]) -> &mut Self {
        self.name(name);
        self.out.push(b'[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            write_json_string(&mut self.out, v.as_ref());
        }
        self.out.push(b']');
        self
    }

    /// `"name":<raw>`; `raw` must already be compact JSON (e.g. another writer's output).
    pub fn raw(&mut self, name: &str, raw: &[u8]) -> &mut Self {
        self.name(name);
        self.out.extend_from_slice(raw);
        self
    }

    /// The finished object bytes (`{}` when no member was written).
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.out.clone();
        if self.members == 0 {
            out.push(b'{');
        }
        out.push(b'}');
        out
    }
}

/// `orjson.dumps(v, option=OPT_SORT_KEYS)` (docs/profiles.md#spar): compact, keys sorted by code
/// point at every level, integers as decimal, doubles in orjson's form.
pub fn orjson_sorted(v: &JsonValue) -> Vec<u8> {
    let mut out = Vec::new();
    write_orjson(&mut out, v);
    out
}

/// SPAR's signing payload (docs/profiles.md#spar) of `v`, parsed from `body`: [`orjson_sorted`],
/// refusing ([`JsonError::IntegerOutOfRange`]) an integer token outside [−2^63, 2^64−1].
///
/// The parser keeps such a token as the nearest double, and [`orjson_sorted`] would write that
/// double, so `18446744073709551616` and `18446744073709551617` would give the same bytes and one
/// signature would cover both bodies. The platform reads the body into Python integers and
/// `orjson.dumps` raises on them ("Integer exceeds 64-bit range"): no signature of the platform's
/// covers such a body, and refusing it loses nothing. Non-integer tokens are doubles in both
/// (Python's `float`, orjson's shortest form): two tokens of one double are one value there too.
pub fn orjson_canonical(body: &[u8], v: &JsonValue) -> Result<Vec<u8>, JsonError> {
    orjson_integers_fit(body, v)?;
    Ok(orjson_sorted(v))
}

/// [`JsonError::IntegerOutOfRange`] when `body` (the bytes `v` was parsed from) holds an integer
/// token outside [−2^63, 2^64−1]. Only when `v` holds a double of magnitude ≥ 2^63 (the double
/// every such token rounds to) is `body` re-read for its number tokens; an unreadable `body`
/// is refused.
pub fn orjson_integers_fit(body: &[u8], v: &JsonValue) -> Result<(), JsonError> {
    if !has_large_double(v) {
        return Ok(());
    }
    let limits = JsonLimits {
        max_depth: v.depth().max(1),
        max_members: None,
        // `v` was parsed from these bytes under its caller's bounds.
        max_elements: None,
    };
    let tokens = float_tokens(body, limits)?;
    if tokens
        .iter()
        .any(|(_, token)| !token.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')))
    {
        return Err(JsonError::IntegerOutOfRange);
    }
    Ok(())
}

/// Whether `v` holds a double of magnitude ≥ 2^63, what an integer token outside the 64-bit
/// ranges becomes.
fn has_large_double(v: &JsonValue) -> bool {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    match v {
        JsonValue::Number(JsonNumber::F64(f)) => f.abs() >= TWO_63,
        JsonValue::Array(items) => items.iter().any(has_large_double),
        JsonValue::Object(members) => members.iter().any(|(_, x)| has_large_double(x)),
        _ => false,
    }
}

fn write_orjson(out: &mut Vec<u8>, v: &JsonValue) {
    match v {
        JsonValue::Number(JsonNumber::U64(u)) => out.extend_from_slice(u.to_string().as_bytes()),
        JsonValue::Number(JsonNumber::I64(i)) => out.extend_from_slice(i.to_string().as_bytes()),
        JsonValue::Number(JsonNumber::F64(f)) => out.extend_from_slice(orjson_float(*f).as_bytes()),
        JsonValue::Array(items) => write_array(out, items, write_orjson),
        JsonValue::Object(members) => {
            let mut sorted: Vec<&(String, JsonValue)> = members.iter().collect();
            // Code point order is UTF-8 byte order, which `str` comparison uses.
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            write_members(out, sorted, write_orjson);
        }
        scalar => write_literal(out, scalar),
    }
}

/// Member order for [`ecmascript`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// ECMAScript property order: array-index keys (`"0"`…`"4294967294"`) ascending
    /// numerically, then the other keys in order of first appearance (`compact`).
    Insertion,
    /// Keys sorted by UTF-16 code units, as `safe-stable-stringify` (`sorted`).
    SortedUtf16,
}

/// `JSON.stringify(JSON.parse(body))` with the chosen member order (docs/profiles.md#mojaloop):
/// compact, every number through an IEEE-754 double and ECMAScript `Number::toString`.
pub fn ecmascript(v: &JsonValue, order: KeyOrder) -> Vec<u8> {
    let mut out = Vec::new();
    write_ecmascript(&mut out, v, order);
    out
}

/// Integers up to this magnitude are exact doubles, and ECMAScript prints an integral double
/// below 10^21 as its plain digits: those need no shortest-digits search.
const EXACT_INTEGER: u64 = 1 << 53;

fn write_ecmascript(out: &mut Vec<u8>, v: &JsonValue, order: KeyOrder) {
    match v {
        JsonValue::Number(JsonNumber::U64(u)) if *u <= EXACT_INTEGER => {
            let _ = write!(out, "{u}");
        }
        JsonValue::Number(JsonNumber::I64(i)) if i.unsigned_abs() <= EXACT_INTEGER => {
            let _ = write!(out, "{i}");
        }
        JsonValue::Number(n) => out.extend_from_slice(ecmascript_number(n.as_f64()).as_bytes()),
        JsonValue::Array(items) => {
            write_array(out, items, |o, item| write_ecmascript(o, item, order));
        }
        // Insertion order moves only array-index names: without one, nothing to sort.
        JsonValue::Object(members)
            if order == KeyOrder::Insertion
                && members.iter().all(|(n, _)| array_index(n).is_none()) =>
        {
            write_members(out, members, |o, item| write_ecmascript(o, item, order));
        }
        JsonValue::Object(members) => {
            let mut sorted: Vec<&(String, JsonValue)> = members.iter().collect();
            match order {
                // Stable sort: non-index keys (all `None`) keep their order after the indices.
                KeyOrder::Insertion => sorted.sort_by_key(|m| match array_index(&m.0) {
                    Some(i) => (0, i),
                    None => (1, 0),
                }),
                KeyOrder::SortedUtf16 => {
                    sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()))
                }
            }
            write_members(out, sorted, |o, item| write_ecmascript(o, item, order));
        }
        scalar => write_literal(out, scalar),
    }
}

/// The value of a canonical ECMAScript array index: decimal digits without leading zeros,
/// at most 2^32 − 2.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || key.len() > 10 || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if key.len() > 1 && key.starts_with('0') {
        return None;
    }
    key.parse::<u32>().ok().filter(|&i| i != u32::MAX)
}

/// Whether [`ecmascript`] would write some number of `v` with a different decimal value than its
/// token in `body` (docs/profiles.md#mojaloop: e.g. an integer above 2^53, or more digits than a
/// double holds). `body` must be the bytes `v` was parsed from. Integers are judged from `v`; only
/// when `v` holds non-integer numbers is `body` re-read for the exact tokens. An unparseable `body`
/// counts as changed.
pub fn ecmascript_changes_numbers(body: &[u8], v: &JsonValue) -> bool {
    let mut has_float = false;
    if integer_changes(v, &mut has_float) {
        return true;
    }
    if !has_float {
        return false;
    }
    let limits = JsonLimits {
        max_depth: v.depth().max(1),
        max_members: None,
        // `v` was parsed from these bytes under its caller's bounds.
        max_elements: None,
    };
    match float_tokens(body, limits) {
        Ok(tokens) => tokens
            .iter()
            .any(|(f, token)| changes_decimal_value(token, &ecmascript_number(*f))),
        Err(_) => true,
    }
}

fn integer_changes(v: &JsonValue, has_float: &mut bool) -> bool {
    match v {
        JsonValue::Number(JsonNumber::U64(u)) => {
            changes_decimal_value(&u.to_string(), &ecmascript_number(*u as f64))
        }
        JsonValue::Number(JsonNumber::I64(i)) => {
            changes_decimal_value(&i.to_string(), &ecmascript_number(*i as f64))
        }
        JsonValue::Number(JsonNumber::F64(_)) => {
            *has_float = true;
            false
        }
        JsonValue::Array(items) => items.iter().any(|x| integer_changes(x, has_float)),
        JsonValue::Object(members) => members.iter().any(|(_, x)| integer_changes(x, has_float)),
        _ => false,
    }
}

fn write_literal(out: &mut Vec<u8>, v: &JsonValue) {
    match v {
        JsonValue::Null => out.extend_from_slice(b"null"),
        JsonValue::Bool(true) => out.extend_from_slice(b"true"),
        JsonValue::Bool(false) => out.extend_from_slice(b"false"),
        JsonValue::String(s) => write_json_string(out, s),
        // Containers and numbers are handled by the callers.
        _ => {}
    }
}

fn write_array(
    out: &mut Vec<u8>,
    items: &[JsonValue],
    mut each: impl FnMut(&mut Vec<u8>, &JsonValue),
) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(out, item);
    }
    out.push(b']');
}

fn write_members<'a>(
    out: &mut Vec<u8>,
    members: impl IntoIterator<Item = &'a (String, JsonValue)>,
    mut each: impl FnMut(&mut Vec<u8>, &JsonValue),
) {
    out.push(b'{');
    for (i, (name, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(out, name);
        out.push(b':');
        each(out, value);
    }
    out.push(b'}');
}
