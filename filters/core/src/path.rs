//! One reading of the path (docs/data-path.md rule 11).
//!
//! Route policy, path-derived identities (MOSIP's licence / partner / API key) and the upstream
//! must read the same path. Envoy normalises in front of us (`normalize_path`, `merge_slashes`,
//! `path_with_escaped_slashes_action`), but a config without those, or an upstream that decodes
//! or resolves differently (Spring strips `;` parameters, Node resolves `..`), would make a
//! prefix rule such as `skip /health` cover `/health/../admin`. So the verifiers refuse any path
//! that a normalising reader could turn into another one: defence in depth, fail closed.
//!
//! The same goes for the identities a path carries: MOSIP IDA's `{MISP-LK}/{Partner-ID}/
//! {API-Key}` is read here ([`ida_triple`]), once, for every filter.

use std::fmt;

/// Why a path can be read two ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Defect {
    /// Not starting with `/` (asterisk or absolute form, or empty).
    NotAbsolute,
    /// `//`: merged by some readers, kept by others.
    EmptySegment,
    /// A `.` or `..` segment.
    DotSegment,
    /// `;`: matrix parameters, stripped by servlet containers before matching.
    Semicolon,
    /// `\`: a separator for some readers.
    Backslash,
    /// `%XX` of an unreserved character, `/` or `\`: decoded by some readers only.
    EscapedUnreserved,
    /// `%` not followed by two hex digits.
    MalformedEscape,
    /// `#`: a fragment never belongs in a request path.
    Fragment,
    /// A byte outside printable ASCII (0x21..=0x7e).
    NonPrintable,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Defect::NotAbsolute => "does not start with '/'",
            Defect::EmptySegment => "has an empty segment ('//')",
            Defect::DotSegment => "has a '.' or '..' segment",
            Defect::Semicolon => "has ';' parameters",
            Defect::Backslash => "has a '\\'",
            Defect::EscapedUnreserved => "escapes an unreserved character, '/' or '\\'",
            Defect::MalformedEscape => "has a '%' not followed by two hex digits",
            Defect::Fragment => "has a '#'",
            Defect::NonPrintable => "has a byte outside printable ASCII",
        })
    }
}

/// Checks the path part (before the first `?`) of a request's `:path`. The query is not read:
/// nothing here routes on it.
pub fn check(path: &str) -> Result<(), Defect> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(Defect::NotAbsolute);
    }
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b';' => return Err(Defect::Semicolon),
            b'\\' => return Err(Defect::Backslash),
            b'#' => return Err(Defect::Fragment),
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex);
                let lo = bytes.get(i + 2).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(Defect::MalformedEscape);
                };
                let decoded = (hi << 4) | lo;
                if is_unreserved(decoded) || decoded == b'/' || decoded == b'\\' {
                    return Err(Defect::EscapedUnreserved);
                }
                i += 3;
                continue;
            }
            0x21..=0x7e => {}
            _ => return Err(Defect::NonPrintable),
        }
        i += 1;
    }
    // Segments after the leading '/'; the last may be empty (a trailing slash), no other.
    let segments: Vec<&str> = path.get(1..).unwrap_or_default().split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (n, s) in segments.iter().enumerate() {
        if *s == "." || *s == ".." {
            return Err(Defect::DotSegment);
        }
        if s.is_empty() && n != last {
            return Err(Defect::EmptySegment);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// MOSIP IDA's path variables: `jws_verify`'s `mosip` profile and `token_check`'s `ida` path
// template read them here, the one way IDA's controllers do.

/// IDA's partner operations (the controllers' `@PostMapping`s under the context path
/// `/idauthentication/v1`), and whether the path variables follow a `delegated` segment:
/// `/auth/{MISP-LK}/{Partner-ID}/{API-Key}`, `/kyc-auth/delegated/{IdP-LK}/{Auth-Partner-ID}/
/// {OIDC-Client-Id}`.
const OPERATIONS: [(&str, bool); 7] = [
    ("auth", false),
    ("kyc", false),
    ("otp", false),
    ("kyc-auth", true),
    ("kyc-exchange", true),
    ("identity-key-binding", true),
    ("vci-exchange", true),
];

/// The path variables of an IDA partner request (docs/profiles.md#mosip).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdaTriple<'a> {
    /// `{MISP-LK}` / `{IdP-LK}`.
    pub licence: &'a str,
    /// `{Partner-ID}` / `{Auth-Partner-ID}`.
    pub partner: &'a str,
    /// `{API-Key}` / `{OIDC-Client-Id}`.
    pub api_key: &'a str,
}

/// The triple as IDA's Spring controllers bind it: the three segments right after the first
/// operation segment (and its `delegated`), and nothing after them. Anything else — fewer or
/// more segments, an empty one, a `%` escape that Spring would decode — is `None`: refused,
/// not guessed. `jws_verify`'s `mosip` profile and `token_check`'s `ida` path template both
/// read it here.
pub fn ida_triple(path: &str) -> Option<IdaTriple<'_>> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let start = ida_variables_at(&segments)?;
    let usable = |s: &str| !s.is_empty() && !s.contains('%');
    match segments.get(start..)? {
        &[licence, partner, api_key] if [licence, partner, api_key].into_iter().all(usable) => {
            Some(IdaTriple {
                licence,
                partner,
                api_key,
            })
        }
        _ => None,
    }
}

/// Index of the first path variable in `segments` (the path after its leading `/`, split on
/// `/`): right after the first operation segment, and after its `delegated`.
pub fn ida_variables_at(segments: &[&str]) -> Option<usize> {
    let (at, delegated) = segments.iter().enumerate().find_map(|(i, s)| {
        OPERATIONS
            .iter()
            .find(|(op, _)| op == s)
            .map(|(_, d)| (i, *d))
    })?;
    if !delegated {
        return Some(at + 1);
    }
    (segments.get(at + 1) == Some(&"delegated")).then_some(at + 2)
}

/// RFC 3986 §2.3.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triple(l: &'static str, p: &'static str, k: &'static str) -> Option<IdaTriple<'static>> {
        Some(IdaTriple {
            licence: l,
            partner: p,
            api_key: k,
        })
    }

    #[test]
    fn ida_triple_is_what_the_controllers_bind() {
        assert_eq!(
            ida_triple("/idauthentication/v1/auth/lk/p/k"),
            triple("lk", "p", "k")
        );
        assert_eq!(
            ida_triple("/idauthentication/v1/otp/lk/p/k?x=/a/b"),
            triple("lk", "p", "k")
        );
        assert_eq!(
            ida_triple("/idauthentication/v1/kyc-exchange/delegated/lk/p/k?x=1"),
            triple("lk", "p", "k")
        );
        assert_eq!(
            ida_triple("/idauthentication/v1/identity-key-binding/delegated/lk/p/c"),
            triple("lk", "p", "c")
        );
        // The first operation segment decides: a licence key may be called "auth".
        assert_eq!(
            ida_triple("/idauthentication/v1/otp/auth/p/k"),
            triple("auth", "p", "k")
        );
        // Delegated operations without `delegated` are not IDA's.
        assert_eq!(ida_triple("/idauthentication/v1/kyc-auth/lk/p/k"), None);
        // Fewer, more (a trailing slash too), empty or escaped segments: refused, not guessed.
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p/k/x"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p/k/"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/x/lk/p/k"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk//k"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p%40x/k"), None);
        // No operation: no triple (the last three segments of any path are nobody's).
        assert_eq!(ida_triple("/a/b/c/d"), None);
        assert_eq!(ida_triple("/a"), None);
        assert_eq!(ida_triple(""), None);
    }

    #[test]
    fn refused_forms() {
        let cases: &[(&str, Defect)] = &[
            ("", Defect::NotAbsolute),
            ("*", Defect::NotAbsolute),
            ("parties/x", Defect::NotAbsolute),
            ("http://h/parties", Defect::NotAbsolute),
            ("?/x", Defect::NotAbsolute),
            ("//idauthentication/v1/auth/a/b/c", Defect::EmptySegment),
            ("/a//b", Defect::EmptySegment),
            ("/a//", Defect::EmptySegment),
            ("/parties/../transfers/1", Defect::DotSegment),
            ("/a/./b", Defect::DotSegment),
            ("/a/.", Defect::DotSegment),
            ("/a/..", Defect::DotSegment),
            ("/..", Defect::DotSegment),
            ("/.", Defect::DotSegment),
            ("/health/../x?y=1", Defect::DotSegment),
            ("/idauthentication;x/v1/auth/a/b/c", Defect::Semicolon),
            ("/a/b;jsessionid=1", Defect::Semicolon),
            ("/a\\b", Defect::Backslash),
            ("/parties/%2e%2e/transfers/1", Defect::EscapedUnreserved),
            ("/parties/%2E%2E/transfers/1", Defect::EscapedUnreserved),
            ("/a%2Fb", Defect::EscapedUnreserved),
            ("/a%2fb", Defect::EscapedUnreserved),
            ("/a%5cb", Defect::EscapedUnreserved),
            ("/a%5Cb", Defect::EscapedUnreserved),
            (
                "/%69dauthentication/v1/auth/a/b/c",
                Defect::EscapedUnreserved,
            ),
            ("/a%41", Defect::EscapedUnreserved),
            ("/a%30", Defect::EscapedUnreserved),
            ("/a%2d", Defect::EscapedUnreserved),
            ("/a%5f", Defect::EscapedUnreserved),
            ("/a%7e", Defect::EscapedUnreserved),
            ("/a%7E", Defect::EscapedUnreserved),
            ("/a%", Defect::MalformedEscape),
            ("/a%4", Defect::MalformedEscape),
            ("/a%4g", Defect::MalformedEscape),
            ("/a%g0", Defect::MalformedEscape),
            ("/a%%41", Defect::MalformedEscape),
            ("/a#b", Defect::Fragment),
            ("/a b", Defect::NonPrintable),
            ("/a\tb", Defect::NonPrintable),
            ("/a\u{7f}", Defect::NonPrintable),
            ("/a\u{e9}", Defect::NonPrintable),
            ("/a\0", Defect::NonPrintable),
        ];
        for (p, want) in cases {
            assert_eq!(check(p), Err(*want), "{p:?}");
        }
    }

    #[test]
    fn accepted_forms() {
        for p in [
            "/",
            "/parties/MSISDN/123",
            "/parties/MSISDN/123/",
            "/parties/EMAIL/alice%40example.org",
            "/a%20b",
            "/a%25b",
            "/a%3Bb",
            "/a%3fb",
            "/a%00b",
            "/transfers/1?x=/../y",
            "/transfers/1?a=..&b=%2e%2e&c=//&d=;&e=\\",
            "/transfers/1?",
            "/x/..y/.z/y..",
            "/x/...",
            "/idauthentication/v1/auth/lk/p/k",
            "/a:b@c!$&'()*+,=",
        ] {
            assert_eq!(check(p), Ok(()), "{p:?}");
        }
    }
}
