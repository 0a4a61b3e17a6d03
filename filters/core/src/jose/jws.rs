//! JWS compact pieces: splitting the serializations the profiles use, building the E-input and
//! U-input (docs/profiles.md#signing-inputs-and-segments), and writing a signer's protected header
//! (docs/profiles.md#what-signets-signer-writes).

use crate::b64;
use crate::json::write_json_string;
use std::fmt;

/// Why a JWS value could not be split (`sig_malformed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsError {
    /// The value does not have the number of `.`-separated parts the serialization needs.
    SegmentCount,
    /// A detached (`H..S`) value carries a payload in the middle segment.
    PayloadNotDetached,
    /// The header or signature segment is empty (docs/profiles.md#signing-inputs-and-segments: only
    /// the detached middle may be).
    EmptySegment,
}

impl fmt::Display for JwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwsError::SegmentCount => f.write_str("wrong number of JWS segments"),
            JwsError::PayloadNotDetached => f.write_str("detached JWS has a payload segment"),
            JwsError::EmptySegment => f.write_str("empty JWS header or signature segment"),
        }
    }
}

impl std::error::Error for JwsError {}

/// E-input: `ASCII(H) ‖ "." ‖ ASCII(BASE64URL(payload))` (RFC 7515 §5.1).
/// The payload is encoded straight into the result: a large body is not encoded into a
/// string of its own and copied again.
pub fn signing_input_encoded(h: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(h.len() + 1 + b64::url_len(payload.len()));
    out.extend_from_slice(h.as_bytes());
    out.push(b'.');
    b64::encode_url_into(payload, &mut out);
    out
}

/// U-input: `ASCII(H) ‖ "." ‖ payload` (RFC 7797 §3).
pub fn signing_input_unencoded(h: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(h.len() + 1 + payload.len());
    out.extend_from_slice(h.as_bytes());
    out.push(b'.');
    out.extend_from_slice(payload);
    out
}

/// Splits a detached compact JWS `H..S` (RFC 7515 Appendix F): exactly two dots, empty middle,
/// non-empty `H` and `S`. Returns `(H, S)`.
pub fn split_detached(v: &str) -> Result<(&str, &str), JwsError> {
    let (h, x, s) = split_three(v)?;
    if !x.is_empty() {
        return Err(JwsError::PayloadNotDetached);
    }
    Ok((h, s))
}

/// Splits `H.X.S`: exactly three parts (two dots), `H` and `S` non-empty; `X` is returned for
/// the caller to ignore or check (mosip/spar ignore it, docs/profiles.md#mosip).
pub fn split_three(v: &str) -> Result<(&str, &str, &str), JwsError> {
    let mut parts = v.split('.');
    let (Some(h), Some(x), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::SegmentCount);
    };
    if h.is_empty() || s.is_empty() {
        return Err(JwsError::EmptySegment);
    }
    Ok((h, x, s))
}

/// Decodes a signature (or header) segment: strict base64url, or with `allow_padding` also
/// correctly padded (docs/profiles.md#signing-inputs-and-segments).
pub fn decode_segment(s: &str, allow_padding: bool) -> Result<Vec<u8>, b64::B64Error> {
    if allow_padding {
        b64::decode_url_allow_padding(s)
    } else {
        b64::decode_url(s)
    }
}

/// A protected-header member value a signer emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// A JSON string.
    Str(&'a str),
    /// A JSON string, or `null` for `None` (OCEN `kid`).
    StrNull(Option<&'a str>),
    /// `true` / `false` (`b64`).
    Bool(bool),
    /// An array of strings (`x5c`, `crit`).
    StrArray(&'a [String]),
    /// An array of string slices (`crit: ["b64"]`).
    StrList(&'a [&'a str]),
}

/// Writes a compact JSON object with the members in the order given, strings escaped minimally
/// (docs/profiles.md#what-signets-signer-writes). Member names must be distinct (the caller's fixed
/// profile order).
pub fn write_header(members: &[(&str, HeaderValue)]) -> String {
    let mut out = Vec::with_capacity(64);
    out.push(b'{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(&mut out, name);
        out.push(b':');
        match value {
            HeaderValue::Str(s) | HeaderValue::StrNull(Some(s)) => write_json_string(&mut out, s),
            HeaderValue::StrNull(None) => out.extend_from_slice(b"null"),
            HeaderValue::Bool(true) => out.extend_from_slice(b"true"),
            HeaderValue::Bool(false) => out.extend_from_slice(b"false"),
            HeaderValue::StrArray(items) => write_array(&mut out, items.iter().map(String::as_str)),
            HeaderValue::StrList(items) => write_array(&mut out, items.iter().copied()),
        }
    }
    out.push(b'}');
    // Only whole `&str`s and ASCII are written, so this is always valid UTF-8.
    String::from_utf8_lossy(&out).into_owned()
}

/// `BASE64URL` of [`write_header`]: the `H` a signer sends.
pub fn encode_header(members: &[(&str, HeaderValue)]) -> String {
    b64::encode_url(write_header(members).as_bytes())
}

fn write_array<'a>(out: &mut Vec<u8>, items: impl Iterator<Item = &'a str>) {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(out, item);
    }
    out.push(b']');
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

    #[test]
    fn split() {
        assert_eq!(split_detached("a..b"), Ok(("a", "b")));
        assert_eq!(split_detached("a.x.b"), Err(JwsError::PayloadNotDetached));
        assert_eq!(split_detached("a.b"), Err(JwsError::SegmentCount));
        assert_eq!(split_detached("a...b"), Err(JwsError::SegmentCount));
        assert_eq!(split_detached("..b"), Err(JwsError::EmptySegment));
        assert_eq!(split_detached("a.."), Err(JwsError::EmptySegment));
        assert_eq!(split_three("a.x.b"), Ok(("a", "x", "b")));
        assert_eq!(split_three("a..b"), Ok(("a", "", "b")));
        assert_eq!(split_three("a.x.b.c"), Err(JwsError::SegmentCount));
        assert_eq!(split_three("abc"), Err(JwsError::SegmentCount));
        assert_eq!(split_three(""), Err(JwsError::SegmentCount));
    }

    #[test]
    fn inputs() {
        assert_eq!(signing_input_encoded("h", b"\xff\x00"), b"h._wA".to_vec());
        assert_eq!(signing_input_unencoded("h", b"$.02"), b"h.$.02".to_vec());
        assert_eq!(signing_input_encoded("h", b""), b"h.".to_vec());
    }

    #[test]
    fn header_writer() {
        let x5c = vec!["MIIB+/=".to_string()];
        let h = write_header(&[
            ("alg", HeaderValue::Str("RS256")),
            ("kid", HeaderValue::StrNull(None)),
            ("x5c", HeaderValue::StrArray(&x5c)),
            ("FSPIOP-URI", HeaderValue::Str("/a/b\"c\\\u{1}\té")),
            ("b64", HeaderValue::Bool(false)),
            ("crit", HeaderValue::StrList(&["b64"])),
        ]);
        assert_eq!(
            h,
            "{\"alg\":\"RS256\",\"kid\":null,\"x5c\":[\"MIIB+/=\"],\
             \"FSPIOP-URI\":\"/a/b\\\"c\\\\\\u0001\\té\",\"b64\":false,\"crit\":[\"b64\"]}"
        );
        assert_eq!(write_header(&[]), "{}");
        assert_eq!(
            encode_header(&[("alg", HeaderValue::Str("ES256"))]),
            "eyJhbGciOiJFUzI1NiJ9"
        );
    }
}
