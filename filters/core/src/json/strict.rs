//! Strict JSON parsing (docs/profiles.md#protected-header, #bodies, #spar).
//!
//! Built on serde_json's parser with a custom [`serde::de::Visitor`]; nothing here tokenizes JSON
//! by hand. On top of RFC 8259 as serde_json implements it, the visitor enforces what the
//! platforms' own parsers do not: duplicate member names are rejected (compared after unescaping),
//! nesting depth, member counts and the total number of values are bounded, and object member
//! order is kept.
//!
//! Depth is checked when a container is *entered*, so hostile input such as 10 000 `[` fails at
//! `max_depth` without deep recursion; serde_json's own limit (127 levels) is a second backstop
//! mapped to [`JsonError::TooDeep`].

use core::cell::{Cell, RefCell};
use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// A parsed JSON value. Objects keep their members in received order.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any number token.
    Number(JsonNumber),
    /// A string, unescaped.
    String(String),
    /// An array, in order.
    Array(Vec<JsonValue>),
    /// An object: members in received order; names are unique (checked by the parser).
    Object(Vec<(String, JsonValue)>),
}

/// A JSON number.
///
/// Integer tokens (no `.`, `e`, `E`) in [−2^63, 2^64−1] are kept as integers: non-negative ones
/// as `U64` (also the token `-0`), negative ones as `I64`. Every other token is the nearest
/// double (`F64`; serde_json's `float_roundtrip` is enabled), never NaN or infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JsonNumber {
    /// Non-negative integer token.
    U64(u64),
    /// Negative integer token.
    I64(i64),
    /// Fraction/exponent token, or an integer token outside the 64-bit ranges.
    F64(f64),
}

impl JsonNumber {
    /// The number as a double (integers above 2^53 are rounded).
    pub fn as_f64(self) -> f64 {
        match self {
            JsonNumber::U64(u) => u as f64,
            JsonNumber::I64(i) => i as f64,
            JsonNumber::F64(f) => f,
        }
    }
}

/// Why strict parsing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Any RFC 8259 grammar violation not listed separately (bad token, missing `,`/`:`, raw
    /// control character in a string, invalid escape, empty input, leading zeros, `NaN` …).
    Syntax,
    /// The input is not valid UTF-8.
    InvalidUtf8,
    /// The input starts with a UTF-8 byte order mark (RFC 8259 §8.1: must not be sent).
    Bom,
    /// An object has two members with the same name after unescaping; carries the name.
    DuplicateMember(String),
    /// Nesting deeper than [`JsonLimits::max_depth`] (or serde_json's own 127-level limit).
    TooDeep,
    /// An object has more members than [`JsonLimits::max_members`].
    TooManyMembers,
    /// The text holds more values than [`JsonLimits::max_elements`].
    TooManyElements,
    /// An integer token outside [−2^63, 2^64−1], which orjson refuses to serialize (it is not
    /// written as a double: two different integers would then give the same bytes). Raised by
    /// [`crate::json::orjson_canonical`], never by the parser itself.
    IntegerOutOfRange,
    /// The top-level value is not an object where one is required ([`parse_strict_object`]).
    NotAnObject,
    /// A `\uD800`–`\uDFFF` escape that is not part of a valid surrogate pair.
    LoneSurrogate,
    /// A number token whose magnitude overflows a double (e.g. `1e400`).
    NumberOutOfRange,
    /// Non-whitespace bytes after the top-level value.
    TrailingData,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax => f.write_str("invalid JSON syntax"),
            JsonError::InvalidUtf8 => f.write_str("JSON text is not valid UTF-8"),
            JsonError::Bom => f.write_str("JSON text starts with a byte order mark"),
            JsonError::DuplicateMember(name) => write!(f, "duplicate member name {name:?}"),
            JsonError::TooDeep => f.write_str("JSON nesting too deep"),
            JsonError::TooManyMembers => f.write_str("too many object members"),
            JsonError::TooManyElements => f.write_str("too many JSON values"),
            JsonError::IntegerOutOfRange => f.write_str("integer outside the 64-bit range"),
            JsonError::NotAnObject => f.write_str("JSON value is not an object"),
            JsonError::LoneSurrogate => f.write_str("lone surrogate escape in string"),
            JsonError::NumberOutOfRange => f.write_str("number out of double range"),
            JsonError::TrailingData => f.write_str("trailing data after JSON value"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Bounds applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Maximum container nesting: a scalar has depth 0, `[]`/`{}` depth 1, `[[1]]` depth 2.
    /// Values above 127 are capped by serde_json's recursion limit.
    pub max_depth: usize,
    /// Maximum members of any single object (`None` = unbounded).
    pub max_members: Option<usize>,
    /// Maximum number of values in the whole text: the top-level value, every member value and
    /// every array item, containers and scalars alike (`None` = unbounded). Counted before each
    /// value is read, so a body of a million tiny values stops at the bound, before its tree
    /// (about 30 times the body in memory) is built.
    pub max_elements: Option<usize>,
}

impl JsonLimits {
    /// Protected-header limits (docs/profiles.md#protected-header): depth 4, 64 members.
    pub const HEADER: JsonLimits = JsonLimits {
        max_depth: 4,
        max_members: Some(64),
        max_elements: Some(1024),
    };
    /// Default bound on the values of a body (`max_json_elements`, docs/profiles.md#bodies).
    pub const DEFAULT_MAX_ELEMENTS: usize = 100_000;
    /// Body limits with the default `max_json_depth` (docs/profiles.md#bodies): depth 64, 100 000
    /// values.
    pub const BODY: JsonLimits = JsonLimits {
        max_depth: 64,
        max_members: None,
        max_elements: Some(Self::DEFAULT_MAX_ELEMENTS),
    };

    /// Body limits with a configured `max_json_depth` (and the default value count).
    pub const fn body(max_depth: usize) -> JsonLimits {
        JsonLimits {
            max_depth,
            max_members: None,
            max_elements: Some(Self::DEFAULT_MAX_ELEMENTS),
        }
    }

    /// Body limits with a configured `max_json_depth` and `max_json_elements`.
    pub const fn body_bounded(max_depth: usize, max_elements: usize) -> JsonLimits {
        JsonLimits {
            max_depth,
            max_members: None,
            max_elements: Some(max_elements),
        }
    }
}

/// Parses `bytes` as one strict JSON text (any top-level value).
pub fn parse_strict(bytes: &[u8], limits: JsonLimits) -> Result<JsonValue, JsonError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(JsonError::Bom);
    }
    // Validate UTF-8 up front so the error is precise; serde_json then parses the `&str`.
    let text = core::str::from_utf8(bytes).map_err(|_| JsonError::InvalidUtf8)?;
    let first = run(text, limits, None, None)?;
    if !first.saw_negative_zero {
        return Ok(first.value);
    }
    // serde_json reports the integer token `-0` as the double -0.0, indistinguishable from `-0.0`.
    // orjson writes `0` for the first and `-0.0` for the second (docs/profiles.md#spar), so in this
    // rare case parse again through a reader that exposes the position, and look at the token.
    let position = Cell::new(0usize);
    Ok(run(text, limits, Some(&position), None)?.value)
}

/// The source text of every non-integer number token (`JsonNumber::F64`), in document order, with
/// its double. Slower than [`parse_strict`] (serde_json reads byte by byte through a
/// position-counting reader); used only when a caller needs the exact tokens
/// (docs/profiles.md#mojaloop).
pub fn float_tokens(bytes: &[u8], limits: JsonLimits) -> Result<Vec<(f64, String)>, JsonError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        return Err(JsonError::Bom);
    }
    let text = core::str::from_utf8(bytes).map_err(|_| JsonError::InvalidUtf8)?;
    let position = Cell::new(0usize);
    let tokens = RefCell::new(Vec::new());
    run(text, limits, Some(&position), Some(&tokens))?;
    Ok(tokens.into_inner())
}

/// Parses `bytes` and requires the top-level value to be an object (protected headers,
/// `FSPIOP-Signature`).
pub fn parse_strict_object(bytes: &[u8], limits: JsonLimits) -> Result<JsonValue, JsonError> {
    match parse_strict(bytes, limits)? {
        v @ JsonValue::Object(_) => Ok(v),
        _ => Err(JsonError::NotAnObject),
    }
}

struct Parsed {
    value: JsonValue,
    saw_negative_zero: bool,
}

/// Shared state of one parse: limits, the first error the visitor raised, and (second pass only)
/// how many bytes serde_json has pulled from the input.
struct Ctx<'a> {
    limits: JsonLimits,
    failure: Cell<Option<JsonError>>,
    saw_negative_zero: Cell<bool>,
    /// Values entered so far (checked against `limits.max_elements`).
    elements: Cell<usize>,
    text: &'a [u8],
    position: Option<&'a Cell<usize>>,
    float_tokens: Option<&'a RefCell<Vec<(f64, String)>>>,
}

impl Ctx<'_> {
    /// Records our own error (the first one wins) and hands serde an opaque one to unwind with.
    fn fail<E: de::Error>(&self, err: JsonError) -> E {
        let previous = self.failure.take();
        self.failure.set(Some(previous.unwrap_or(err)));
        E::custom("signet strict json")
    }

    /// Counting pass only: the source text of the number token serde_json just parsed.
    fn last_number_token(&self) -> Option<&str> {
        let mut end = self.position?.get();
        // serde_json peeked one byte past the number to find its end, unless at end of input.
        if matches!(end.checked_sub(1).and_then(|i| self.text.get(i)), Some(b) if !b.is_ascii_digit())
        {
            end -= 1;
        }
        // A number token is preceded by `[`, `,`, `:`, whitespace or the start, none of which
        // can occur inside it.
        let head = self.text.get(..end)?;
        let len = head
            .iter()
            .rev()
            .take_while(|b| b"0123456789+-.eE".contains(b))
            .count();
        core::str::from_utf8(head.get(end - len..)?).ok()
    }
}

fn run<'a>(
    text: &'a str,
    limits: JsonLimits,
    position: Option<&'a Cell<usize>>,
    float_tokens: Option<&'a RefCell<Vec<(f64, String)>>>,
) -> Result<Parsed, JsonError> {
    let ctx = Ctx {
        limits,
        failure: Cell::new(None),
        saw_negative_zero: Cell::new(false),
        elements: Cell::new(0),
        text: text.as_bytes(),
        position,
        float_tokens,
    };
    let seed = ValueSeed {
        ctx: &ctx,
        depth: 0,
    };
    let result = match position {
        None => {
            let mut de = serde_json::Deserializer::from_str(text);
            seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v))
        }
        Some(cell) => {
            let reader = CountingReader {
                bytes: text.as_bytes(),
                position: cell,
            };
            let mut de = serde_json::Deserializer::from_reader(reader);
            seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v))
        }
    };
    match result {
        Ok(value) => Ok(Parsed {
            value,
            saw_negative_zero: ctx.saw_negative_zero.get(),
        }),
        Err(e) => Err(ctx.failure.take().unwrap_or_else(|| classify(&e))),
    }
}

/// Maps serde_json's own errors. Its error codes are private; the category and message are the
/// stable public surface, and anything unrecognised is a plain syntax error.
fn classify(e: &serde_json::Error) -> JsonError {
    let msg = e.to_string();
    if msg.starts_with("recursion limit exceeded") {
        JsonError::TooDeep
    } else if msg.starts_with("number out of range") {
        JsonError::NumberOutOfRange
    } else if msg.starts_with("trailing characters") {
        JsonError::TrailingData
    } else if msg.contains("surrogate") || msg.starts_with("unexpected end of hex escape") {
        JsonError::LoneSurrogate
    } else {
        JsonError::Syntax
    }
}

/// A reader handing serde_json one byte per call, so `position` is exactly the number of bytes
/// consumed (serde_json's `IoRead` reads through `Read::bytes`).
struct CountingReader<'a> {
    bytes: &'a [u8],
    position: &'a Cell<usize>,
}

impl std::io::Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.position.get();
        match (self.bytes.get(at), buf.first_mut()) {
            (Some(&b), Some(slot)) => {
                *slot = b;
                self.position.set(at + 1);
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[derive(Clone, Copy)]
struct ValueSeed<'c, 'a> {
    ctx: &'c Ctx<'a>,
    /// Containers enclosing the value about to be parsed.
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = JsonValue;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<JsonValue, D::Error> {
        // Counted before the value is read: nothing is allocated for the value over the bound.
        let seen = self.ctx.elements.get().saturating_add(1);
        if let Some(max) = self.ctx.limits.max_elements {
            if seen > max {
                return Err(self.ctx.fail(JsonError::TooManyElements));
            }
        }
        self.ctx.elements.set(seen);
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, '_> {
    type Value = JsonValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(JsonNumber::U64(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::Number(match u64::try_from(v) {
            Ok(u) => JsonNumber::U64(u),
            Err(_) => JsonNumber::I64(v),
        }))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonValue, E> {
        if !v.is_finite() {
            return Err(self.ctx.fail(JsonError::NumberOutOfRange));
        }
        let token = self.ctx.last_number_token();
        if v == 0.0 && v.is_sign_negative() {
            self.ctx.saw_negative_zero.set(true);
            if token == Some("-0") {
                return Ok(JsonValue::Number(JsonNumber::U64(0)));
            }
        }
        if let (Some(list), Some(token)) = (self.ctx.float_tokens, token) {
            list.borrow_mut().push((v, token.to_owned()));
        }
        Ok(JsonValue::Number(JsonNumber::F64(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let inner = self.enter::<A::Error>()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(JsonValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let inner = self.enter::<A::Error>()?;
        let mut members: Vec<(String, JsonValue)> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if let Some(max) = self.ctx.limits.max_members {
                if members.len() >= max {
                    return Err(self.ctx.fail(JsonError::TooManyMembers));
                }
            }
            let value = map.next_value_seed(inner)?;
            members.push((name, value));
        }
        if let Some(name) = first_duplicate(&members) {
            return Err(self.ctx.fail(JsonError::DuplicateMember(name.to_owned())));
        }
        Ok(JsonValue::Object(members))
    }
}

impl<'c, 'a> ValueSeed<'c, 'a> {
    /// The seed for the children of a container starting here, or `TooDeep`.
    fn enter<E: de::Error>(self) -> Result<ValueSeed<'c, 'a>, E> {
        let depth = self.depth + 1;
        if depth > self.ctx.limits.max_depth {
            return Err(self.ctx.fail(JsonError::TooDeep));
        }
        Ok(ValueSeed {
            ctx: self.ctx,
            depth,
        })
    }
}

/// Finds a repeated member name in O(n log n) (no hashing: no random state needed on wasm);
/// objects of a few members (headers, envelopes, claims) are compared pairwise, unallocated.
fn first_duplicate(members: &[(String, JsonValue)]) -> Option<&str> {
    if members.len() < 2 {
        return None;
    }
    if members.len() <= 16 {
        // The least name repeated, as the sorted scan below reports it (the error names it).
        return members
            .iter()
            .enumerate()
            .filter(|(i, (a, _))| members.iter().skip(i + 1).any(|(b, _)| a == b))
            .map(|(_, (a, _))| a.as_str())
            .min();
    }
    let mut names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.windows(2).find_map(|w| match w {
        [a, b] if a == b => Some(*a),
        _ => None,
    })
}

impl JsonValue {
    /// Member `key` of an object (`None` for non-objects or a missing member).
    pub fn get(&self, key: &str) -> Option<&JsonValue> {
        self.as_object()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            JsonValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The members, in received order, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, JsonValue)]> {
        match self {
            JsonValue::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[JsonValue]> {
        match self {
            JsonValue::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The boolean, if this is `true`/`false`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            JsonValue::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, if this is a number.
    pub fn as_number(&self) -> Option<JsonNumber> {
        match self {
            JsonValue::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The value of an integer token that fits `i64` (doubles are never converted).
    pub fn as_i64(&self) -> Option<i64> {
        match self.as_number()? {
            JsonNumber::U64(u) => i64::try_from(u).ok(),
            JsonNumber::I64(i) => Some(i),
            JsonNumber::F64(_) => None,
        }
    }

    /// The value of a non-negative integer token.
    pub fn as_u64(&self) -> Option<u64> {
        match self.as_number()? {
            JsonNumber::U64(u) => Some(u),
            _ => None,
        }
    }

    /// Any number as a double.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(JsonNumber::as_f64)
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, JsonValue::Null)
    }

    /// Container nesting depth: 0 for scalars, 1 for `[]`/`{}`, 1 + deepest child otherwise.
    pub fn depth(&self) -> usize {
        match self {
            JsonValue::Array(a) => 1 + a.iter().map(JsonValue::depth).max().unwrap_or(0),
            JsonValue::Object(m) => 1 + m.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    fn body(s: &str) -> Result<JsonValue, JsonError> {
        parse_strict(s.as_bytes(), JsonLimits::BODY)
    }

    fn num(s: &str) -> JsonNumber {
        match body(s) {
            Ok(JsonValue::Number(n)) => n,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn scalars_and_order() {
        assert_eq!(body("null"), Ok(JsonValue::Null));
        assert_eq!(body(" true "), Ok(JsonValue::Bool(true)));
        assert_eq!(body("\"a\\u00e9\""), Ok(JsonValue::String("aé".into())));
        let v = body(r#"{"b":1,"a":[2,{"c":null}]}"#).unwrap();
        let keys: Vec<&str> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(v.get("b").and_then(JsonValue::as_i64), Some(1));
        assert_eq!(v.depth(), 3);
        assert_eq!(JsonValue::Null.depth(), 0);
    }

    /// The value count bounds the whole text (members, array items, scalars, the top-level
    /// value), at any depth, and is checked before the value is read.
    #[test]
    fn element_count_is_bounded() {
        let limits = |n| JsonLimits {
            max_depth: 64,
            max_members: None,
            max_elements: Some(n),
        };
        // [1,2,3] is 4 values; {"a":[1,{"b":null}]} is 5.
        for (text, count) in [
            ("7", 1),
            ("[1,2,3]", 4),
            (r#"{"a":[1,{"b":null}]}"#, 5),
            (r#"[[],{},"x"]"#, 4),
        ] {
            assert!(
                parse_strict(text.as_bytes(), limits(count)).is_ok(),
                "{text}"
            );
            assert_eq!(
                parse_strict(text.as_bytes(), limits(count - 1)),
                Err(JsonError::TooManyElements),
                "{text}"
            );
        }
        // The default body bound: 100 000 values pass, one more does not.
        let array = |items: usize| format!("[{}0]", "0,".repeat(items - 1));
        let at = array(JsonLimits::DEFAULT_MAX_ELEMENTS - 1);
        assert!(parse_strict(at.as_bytes(), JsonLimits::BODY).is_ok());
        let over = array(JsonLimits::DEFAULT_MAX_ELEMENTS);
        assert_eq!(
            parse_strict(over.as_bytes(), JsonLimits::BODY),
            Err(JsonError::TooManyElements)
        );
        // Unbounded when asked, and the -0 second pass counts afresh.
        let unbounded = JsonLimits {
            max_elements: None,
            ..JsonLimits::BODY
        };
        assert!(parse_strict(over.as_bytes(), unbounded).is_ok());
        assert!(parse_strict(b"[-0,1]", limits(3)).is_ok());
        assert_eq!(
            parse_strict(b"[-0,1]", limits(2)),
            Err(JsonError::TooManyElements)
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(num("0"), JsonNumber::U64(0));
        assert_eq!(num("-0"), JsonNumber::U64(0));
        assert!(matches!(num("-0.0"), JsonNumber::F64(f) if f == 0.0 && f.is_sign_negative()));
        assert!(matches!(num("-0e0"), JsonNumber::F64(f) if f.is_sign_negative()));
        assert_eq!(num("-1"), JsonNumber::I64(-1));
        assert_eq!(num("18446744073709551615"), JsonNumber::U64(u64::MAX));
        assert_eq!(num("-9223372036854775808"), JsonNumber::I64(i64::MIN));
        assert_eq!(
            num("18446744073709551616"),
            JsonNumber::F64(18446744073709551616.0)
        );
        assert_eq!(
            num("-9223372036854775809"),
            JsonNumber::F64(-9223372036854775808.0)
        );
        assert_eq!(num("1.50"), JsonNumber::F64(1.5));
        assert_eq!(num("1E2"), JsonNumber::F64(100.0));
        assert_eq!(num("1e-400"), JsonNumber::F64(0.0));
        assert_eq!(body("1e400"), Err(JsonError::NumberOutOfRange));
        assert_eq!(body("-1e400"), Err(JsonError::NumberOutOfRange));
        // -0 inside containers, with and without the -0.0 ambiguity present.
        let v = body("[-0, -0.0, 1e-0, -0 ,{\"a\":-0}]").unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a[0], JsonValue::Number(JsonNumber::U64(0)));
        assert!(matches!(a[1], JsonValue::Number(JsonNumber::F64(f)) if f.is_sign_negative()));
        assert_eq!(a[2], JsonValue::Number(JsonNumber::F64(1.0)));
        assert_eq!(a[3], JsonValue::Number(JsonNumber::U64(0)));
        assert_eq!(a[4].get("a"), Some(&JsonValue::Number(JsonNumber::U64(0))));
        assert_eq!(body("1E-0"), Ok(JsonValue::Number(JsonNumber::F64(1.0))));
    }

    #[test]
    fn float_token_capture() {
        let t = float_tokens(
            br#"{"a":[1.50,-0,2,1E2, -0.0e-0 ,18446744073709551616],"b":7e-1}"#,
            JsonLimits::BODY,
        )
        .unwrap();
        let texts: Vec<&str> = t.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            texts,
            ["1.50", "1E2", "-0.0e-0", "18446744073709551616", "7e-1"]
        );
        assert_eq!(
            float_tokens(b"1.25", JsonLimits::BODY).unwrap(),
            [(1.25, "1.25".to_owned())]
        );
        assert_eq!(
            float_tokens(b"[1.5", JsonLimits::BODY),
            Err(JsonError::Syntax)
        );
    }

    #[test]
    fn rejects() {
        assert_eq!(body(""), Err(JsonError::Syntax));
        assert_eq!(body("   "), Err(JsonError::Syntax));
        assert_eq!(body("\u{feff}{}"), Err(JsonError::Bom));
        assert_eq!(
            parse_strict(b"{\"a\":\"\xff\"}", JsonLimits::BODY),
            Err(JsonError::InvalidUtf8)
        );
        assert_eq!(body("{} x"), Err(JsonError::TrailingData));
        assert_eq!(body("{}{}"), Err(JsonError::TrailingData));
        assert_eq!(body("[1,]"), Err(JsonError::Syntax));
        assert_eq!(body("{\"a\":1,}"), Err(JsonError::Syntax));
        assert_eq!(body("01"), Err(JsonError::Syntax));
        assert_eq!(body("+1"), Err(JsonError::Syntax));
        assert_eq!(body(".5"), Err(JsonError::Syntax));
        assert_eq!(body("1."), Err(JsonError::Syntax));
        assert_eq!(body("NaN"), Err(JsonError::Syntax));
        assert_eq!(body("'a'"), Err(JsonError::Syntax));
        assert_eq!(body("\"a\u{1}\""), Err(JsonError::Syntax));
        assert_eq!(body("\"\\x\""), Err(JsonError::Syntax));
        assert_eq!(body("\u{a0}1"), Err(JsonError::Syntax));
        assert_eq!(body("\"\\ud800\""), Err(JsonError::LoneSurrogate));
        assert_eq!(body("\"\\udc00\""), Err(JsonError::LoneSurrogate));
        assert_eq!(body("\"\\ud800x\""), Err(JsonError::LoneSurrogate));
        assert_eq!(body("\"\\ud800\\u0041\""), Err(JsonError::LoneSurrogate));
        assert_eq!(
            body("\"\\ud83d\\ude00\""),
            Ok(JsonValue::String("😀".into()))
        );
    }

    #[test]
    fn duplicates_after_unescaping() {
        assert_eq!(
            body(r#"{"a":1,"a":2}"#),
            Err(JsonError::DuplicateMember("a".into()))
        );
        assert_eq!(
            body(r#"{"a":1,"\u0061":2}"#),
            Err(JsonError::DuplicateMember("a".into()))
        );
        assert_eq!(
            body(r#"[{"x":{"b":1,"c":2,"b":3}}]"#),
            Err(JsonError::DuplicateMember("b".into()))
        );
        assert!(body(r#"{"a":{"a":1},"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn depth_and_members() {
        let h = |s: &str| parse_strict(s.as_bytes(), JsonLimits::HEADER);
        assert!(h(r#"{"a":[[[1]]]}"#).is_ok());
        assert_eq!(h(r#"{"a":[[[[1]]]]}"#), Err(JsonError::TooDeep));
        let many: Vec<String> = (0..65).map(|i| format!("\"k{i}\":{i}")).collect();
        assert_eq!(
            h(&format!("{{{}}}", many.join(","))),
            Err(JsonError::TooManyMembers)
        );
        assert!(h(&format!("{{{}}}", many[..64].join(","))).is_ok());
        for n in [65usize, 127, 128, 10_000, 1_000_000] {
            assert_eq!(body(&"[".repeat(n)), Err(JsonError::TooDeep), "{n}");
            assert_eq!(body(&"{\"a\":".repeat(n)), Err(JsonError::TooDeep), "{n}");
        }
        let deep = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(body(&deep).map(|v| v.depth()), Ok(64));
        // Beyond serde_json's backstop: still an error, never a crash.
        let unlimited = JsonLimits {
            max_depth: usize::MAX,
            max_members: None,
            max_elements: None,
        };
        let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(parse_strict(ok.as_bytes(), unlimited).is_ok());
        assert_eq!(
            parse_strict("[".repeat(10_000).as_bytes(), unlimited),
            Err(JsonError::TooDeep)
        );
    }

    #[test]
    fn object_helper() {
        assert!(parse_strict_object(
            b" {\"alg\" : \"RS256\" , \"b64\": false} ",
            JsonLimits::HEADER
        )
        .is_ok());
        assert_eq!(
            parse_strict_object(b"[]", JsonLimits::HEADER),
            Err(JsonError::NotAnObject)
        );
        assert_eq!(
            JsonError::DuplicateMember("x".into()).to_string(),
            "duplicate member name \"x\""
        );
    }
}
