//! The JWS protected header `H` (docs/profiles.md#protected-header, #crit-and-b64), checked in the
//! order docs/profiles.md gives: size and decoding, UTF-8 / JSON object / duplicates / limits, then
//! the shape of `crit` and `b64` (`header_malformed`), then the profile's `crit`/`b64` rule
//! (`crit_unsupported`), then the types of the other members we read (`header_malformed`).
//!
//! `H` is kept exactly as received: the signing input is built from it, never from a re-encoding (a
//! verifier that re-encodes verifies something the signer did not sign). `jku`, `jwk` and `x5u` are
//! kept as plain members and never interpreted (docs/profiles.md#protected-header).

use crate::b64;
use crate::jose::alg::Alg;
use crate::json::{parse_strict_object, JsonError, JsonLimits, JsonValue};
use std::fmt;

/// Longest accepted `H`, in characters (docs/profiles.md#protected-header; Mojaloop's limit,
/// applied everywhere).
pub const MAX_HEADER_LEN: usize = 32_768;

/// Why a protected header was refused. Each variant maps to one reason code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// `header_malformed`: too long, not strict base64url, not UTF-8, BOM, not one JSON object,
    /// duplicate member, over the depth/member limits, or a member of the wrong type; names
    /// what failed.
    Malformed(&'static str),
    /// `crit_unsupported`: `crit` lists something other than `b64`, or `b64:false` where the
    /// profile does not allow it; names what.
    CritUnsupported(&'static str),
}

impl HeaderError {
    /// The stable reason (docs/reason-codes.md).
    pub fn reason(&self) -> crate::reason::Reason {
        match self {
            HeaderError::Malformed(_) => crate::reason::Reason::HeaderMalformed,
            HeaderError::CritUnsupported(_) => crate::reason::Reason::CritUnsupported,
        }
    }

    /// The stable reason code, as in `x-signet-reason`.
    pub fn reason_code(&self) -> &'static str {
        self.reason().code()
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Malformed(what) => write!(f, "protected header malformed: {what}"),
            HeaderError::CritUnsupported(what) => write!(f, "unsupported critical use: {what}"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// The profile's rule for `crit` and `b64` (docs/profiles.md#crit-and-b64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CritB64 {
    /// mojaloop, mosip, spar: `crit` absent only; `b64:false` refused.
    Reject,
    /// ocen: `crit` absent or exactly `["b64"]`; `b64:false` with or without `crit`.
    Optional,
    /// generic (RFC 7797 §6): `crit` absent or exactly `["b64"]`; `b64:false` only when `crit`
    /// lists `b64`.
    RequireCrit,
}

/// How a profile parses `H`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRules {
    /// Accept correct `=` padding on `H` (`mosip.allow_padded_segments`,
    /// docs/profiles.md#signing-inputs-and-segments).
    pub allow_padding: bool,
    /// The `crit` / `b64` rule.
    pub crit_b64: CritB64,
}

impl HeaderRules {
    /// mojaloop, mosip (without padding compat), spar.
    pub const STRICT: HeaderRules = HeaderRules {
        allow_padding: false,
        crit_b64: CritB64::Reject,
    };
    /// ocen.
    pub const OCEN: HeaderRules = HeaderRules {
        allow_padding: false,
        crit_b64: CritB64::Optional,
    };
    /// generic.
    pub const GENERIC: HeaderRules = HeaderRules {
        allow_padding: false,
        crit_b64: CritB64::RequireCrit,
    };
}

/// A checked protected header. `alg`, `kid` and `x5t#S256` are read from the members when
/// asked (their types are checked here), not copied out of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    raw: String,
    members: Vec<(String, JsonValue)>,
    kid_null: bool,
    x5c: Option<Vec<String>>,
    crit: Option<Vec<String>>,
    b64: bool,
}

impl Header {
    /// Parses and checks `H` under `rules` (see the module doc for the order).
    pub fn parse(h: &str, rules: &HeaderRules) -> Result<Header, HeaderError> {
        use HeaderError::{CritUnsupported, Malformed};

        // Size and encoding.
        if h.len() > MAX_HEADER_LEN {
            return Err(Malformed("header longer than 32768 characters"));
        }
        let bytes = if rules.allow_padding {
            b64::decode_url_allow_padding(h)
        } else {
            b64::decode_url(h)
        }
        .map_err(|_| Malformed("not strict base64url"))?;

        // One JSON object, no member twice, within the limits.
        let members = match parse_strict_object(&bytes, JsonLimits::HEADER) {
            Ok(JsonValue::Object(m)) => m,
            Ok(_) | Err(JsonError::NotAnObject) => return Err(Malformed("not a JSON object")),
            Err(e) => return Err(Malformed(json_error_what(&e))),
        };
        let get = |name: &str| members.iter().find(|(k, _)| k == name).map(|(_, v)| v);

        // The shape of `b64` and `crit`.
        let b64 = match get("b64") {
            None => true,
            Some(JsonValue::Bool(b)) => *b,
            Some(_) => return Err(Malformed("b64 is not a boolean")),
        };
        let crit = match get("crit") {
            None => None,
            Some(JsonValue::Array(items)) => {
                if items.is_empty() {
                    return Err(Malformed("crit is empty"));
                }
                let mut names: Vec<String> = Vec::with_capacity(items.len());
                for item in items {
                    let JsonValue::String(name) = item else {
                        return Err(Malformed("crit element is not a string"));
                    };
                    if names.contains(name) {
                        return Err(Malformed("crit lists a name twice"));
                    }
                    if get(name).is_none() {
                        return Err(Malformed("crit names an absent member"));
                    }
                    names.push(name.clone());
                }
                Some(names)
            }
            Some(_) => return Err(Malformed("crit is not an array")),
        };

        // The profile's `crit` / `b64` rule.
        let crit_is_b64 = match &crit {
            None => false,
            Some(names) if names.len() == 1 && names.iter().all(|n| n == "b64") => true,
            Some(_) => return Err(CritUnsupported("crit lists an unsupported member")),
        };
        match rules.crit_b64 {
            CritB64::Reject => {
                if crit.is_some() {
                    return Err(CritUnsupported("crit not accepted by this profile"));
                }
                if !b64 {
                    return Err(CritUnsupported("b64:false not accepted by this profile"));
                }
            }
            CritB64::Optional => {}
            CritB64::RequireCrit => {
                if !b64 && !crit_is_b64 {
                    return Err(CritUnsupported("b64:false without crit [\"b64\"]"));
                }
            }
        }

        // The types of the other members read here.
        if !matches!(get("alg"), None | Some(JsonValue::String(_))) {
            return Err(Malformed("alg is not a string"));
        }
        let kid_null = match get("kid") {
            None | Some(JsonValue::String(_)) => false,
            Some(JsonValue::Null) => true,
            Some(_) => return Err(Malformed("kid is not a string")),
        };
        let x5c = match get("x5c") {
            None => None,
            Some(JsonValue::Array(items)) => {
                if items.is_empty() {
                    return Err(Malformed("x5c is empty"));
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let JsonValue::String(s) = item else {
                        return Err(Malformed("x5c element is not a string"));
                    };
                    out.push(s.clone());
                }
                Some(out)
            }
            Some(_) => return Err(Malformed("x5c is not an array")),
        };
        if !matches!(get("x5t#S256"), None | Some(JsonValue::String(_))) {
            return Err(Malformed("x5t#S256 is not a string"));
        }

        Ok(Header {
            raw: h.to_string(),
            members,
            kid_null,
            x5c,
            crit,
            b64,
        })
    }

    /// `H` exactly as received.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// `alg` as sent (may be `none`, `HS256`, unknown: the caller maps those to
    /// `alg_not_allowed`); `None` when absent.
    pub fn alg_name(&self) -> Option<&str> {
        self.member("alg").and_then(JsonValue::as_str)
    }

    /// `alg` when it names an algorithm Signet accepts.
    pub fn alg(&self) -> Option<Alg> {
        self.alg_name().and_then(Alg::from_name)
    }

    /// `kid` when it is a string; `None` when absent or `null`.
    pub fn kid(&self) -> Option<&str> {
        self.member("kid").and_then(JsonValue::as_str)
    }

    /// Whether `kid` was present as JSON `null` (OCEN signers send it).
    pub fn kid_is_null(&self) -> bool {
        self.kid_null
    }

    /// `x5c` elements as sent (not yet decoded).
    pub fn x5c(&self) -> Option<&[String]> {
        self.x5c.as_deref()
    }

    /// `x5t#S256` as sent.
    pub fn x5t_s256(&self) -> Option<&str> {
        self.member("x5t#S256").and_then(JsonValue::as_str)
    }

    /// `crit` names, when present.
    pub fn crit(&self) -> Option<&[String]> {
        self.crit.as_deref()
    }

    /// `false` only when the header has `b64:false` (U-input); absent or `true` → `true`.
    pub fn b64(&self) -> bool {
        self.b64
    }

    /// A member by name (case-sensitive).
    pub fn member(&self, name: &str) -> Option<&JsonValue> {
        self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// All members, in received order.
    pub fn members(&self) -> &[(String, JsonValue)] {
        &self.members
    }
}

fn json_error_what(e: &JsonError) -> &'static str {
    match e {
        JsonError::Syntax => "not valid JSON",
        JsonError::InvalidUtf8 => "not UTF-8",
        JsonError::Bom => "starts with a byte order mark",
        JsonError::DuplicateMember(_) => "duplicate member",
        JsonError::TooDeep => "nested deeper than 4",
        JsonError::TooManyMembers => "more than 64 members",
        JsonError::TooManyElements => "more than 1024 values",
        JsonError::IntegerOutOfRange => "integer out of range",
        JsonError::NotAnObject => "not a JSON object",
        JsonError::LoneSurrogate => "lone surrogate in a string",
        JsonError::NumberOutOfRange => "number out of range",
        JsonError::TrailingData => "data after the JSON object",
    }
}
