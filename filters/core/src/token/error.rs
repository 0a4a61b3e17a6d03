//! Why `token_check` refused a request, and the stable reason code of each refusal
//! (docs/reason-codes.md). The reply a partner sees is built from this in [`super::reply`].
//!
//! Variants are typed (no free-text bags): the detail that reaches logs is a `&'static str` or
//! an enum, never token, key or secret bytes.

use std::fmt;

pub use crate::reason::Inactive;
use crate::reason::{Reason, Refusal};

/// A claim rule that failed (all map to `token_invalid`, except `exp` which has its own code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimError {
    /// The payload is not a strict JSON object (duplicate members refused: a second `sub` would
    /// let two parsers disagree on who the caller is).
    PayloadNotJson,
    /// `iss` is absent, not a string, or names no configured provider.
    Issuer,
    /// An audience is configured and `aud` does not contain it.
    Audience,
    /// `exp` is absent while required.
    ExpMissing,
    /// `iat` is absent while required (OCEN).
    IatMissing,
    /// `nbf` is in the future (beyond the skew).
    NotYetValid,
    /// `iat` is in the future (beyond the skew), or not before `exp`.
    IssuedInFuture,
    /// A time claim is not a number (NumericDate, RFC 7519 §2) or out of range.
    TimeClaimType,
    /// A required scope is absent from `scope` / `scp`.
    Scope,
    /// A required claim is absent or has another value.
    RequiredClaim,
}

impl ClaimError {
    fn what(self) -> &'static str {
        match self {
            ClaimError::PayloadNotJson => "payload is not a JSON object",
            ClaimError::Issuer => "issuer not accepted",
            ClaimError::Audience => "audience not accepted",
            ClaimError::ExpMissing => "exp missing",
            ClaimError::IatMissing => "iat missing",
            ClaimError::NotYetValid => "token not yet valid (nbf)",
            ClaimError::IssuedInFuture => "iat in the future or not before exp",
            ClaimError::TimeClaimType => "time claim is not a NumericDate",
            ClaimError::Scope => "required scope missing",
            ClaimError::RequiredClaim => "required claim missing or different",
        }
    }
}

/// A source that names the partner of a request ([`super::binding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// The mTLS client certificate (SAN URI / DNS or subject), matched in the registry.
    Certificate,
    /// The bearer token (subject, client id or the configured platform claim).
    Token,
    /// The owner of the API key.
    ApiKey,
    /// A platform header such as `FSPIOP-Source`.
    PlatformHeader,
    /// The partner segment of a MOSIP path (`/{MISP-LK}/{Partner-ID}/{API-Key}`).
    Path,
}

impl Source {
    /// Name used in logs and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Source::Certificate => "certificate",
            Source::Token => "token",
            Source::ApiKey => "api_key",
            Source::PlatformHeader => "platform_header",
            Source::Path => "path",
        }
    }
}

/// Why `token_check` refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// `token_missing`: no bearer token (or API key) where one is required.
    Missing,
    /// `token_invalid`: not a compact JWS `H.P.S`, a segment not strict base64url, over the
    /// size bound, two tokens in one request, or an empty token after the prefix; names what.
    Malformed(&'static str),
    /// `token_invalid`: the protected header is refused (bad JSON, `crit`, `b64:false`).
    Header(&'static str),
    /// `token_invalid`: `alg` absent, `none`, `HS*`, or not in the key's allowed set
    /// (RFC 8725 §3.1: the key decides the algorithm, never the token).
    AlgNotAllowed,
    /// `token_invalid`: no key in the provider's JWKS has the token's `kid`; while a refetch is
    /// pending the request waits instead ([`super::check_or_wait`]).
    KidUnknown,
    /// `token_invalid`: the signature does not verify with the selected key.
    SignatureInvalid,
    /// `token_invalid`: a claim rule failed.
    Claim(ClaimError),
    /// `token_expired`: `exp` + skew is not after now.
    Expired,
    /// `keys_unavailable`: the provider's JWKS has not been loaded, or is stale beyond the
    /// configured bound (fail closed, docs/data-path.md rule 8).
    KeysUnavailable,
    /// `key_unknown`: the API key (or the partner a source names) is not registered.
    KeyUnknown,
    /// `identity_missing`: the configured partner claim is absent, or a MOSIP path does not
    /// have the template's segments.
    IdentityMissing(&'static str),
    /// `partner_inactive`: a partner, key, policy or licence is not active or not in date.
    Inactive(Inactive),
    /// `peer_mismatch`: two sources name different partners (or a certificate names none).
    PeerMismatch(Source, Source),
    /// `path_not_canonical`: the path could be read two ways (docs/data-path.md rule 11), so the
    /// route policy and the path's identities might not be the upstream's.
    PathNotCanonical(crate::path::Defect),
}

impl Refusal for TokenError {
    /// The project-wide reason (docs/reason-codes.md): one enum for every filter's stats,
    /// `x-signet-reason` and logs.
    fn reason(&self) -> Reason {
        match self {
            TokenError::Missing => Reason::TokenMissing,
            TokenError::Malformed(_)
            | TokenError::Header(_)
            | TokenError::AlgNotAllowed
            | TokenError::KidUnknown
            | TokenError::SignatureInvalid
            | TokenError::Claim(_) => Reason::TokenInvalid,
            TokenError::Expired => Reason::TokenExpired,
            TokenError::KeysUnavailable => Reason::KeysUnavailable,
            TokenError::KeyUnknown => Reason::KeyUnknown,
            TokenError::IdentityMissing(_) => Reason::IdentityMissing,
            TokenError::Inactive(_) => Reason::PartnerInactive,
            TokenError::PeerMismatch(..) => Reason::PeerMismatch,
            TokenError::PathNotCanonical(_) => Reason::PathNotCanonical,
        }
    }

    fn inactive(&self) -> Option<Inactive> {
        match self {
            TokenError::Inactive(i) => Some(*i),
            _ => None,
        }
    }
}

impl TokenError {
    /// The stable reason code (docs/reason-codes.md), as in `x-signet-reason`.
    pub fn reason_code(&self) -> &'static str {
        self.reason().code()
    }

    /// The generic HTTP status of the reason code (docs/reason-codes.md).
    pub fn status(&self) -> u16 {
        self.reason().generic_status()
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Missing => f.write_str("no credential"),
            TokenError::Malformed(what) => write!(f, "malformed token: {what}"),
            TokenError::Header(what) => write!(f, "token header refused: {what}"),
            TokenError::AlgNotAllowed => f.write_str("algorithm not allowed for the key"),
            TokenError::KidUnknown => f.write_str("kid not in the provider's key set"),
            TokenError::SignatureInvalid => f.write_str("token signature invalid"),
            TokenError::Claim(c) => write!(f, "claim check failed: {}", c.what()),
            TokenError::Expired => f.write_str("token expired"),
            TokenError::KeysUnavailable => f.write_str("provider keys not available"),
            TokenError::KeyUnknown => f.write_str("credential not registered"),
            TokenError::IdentityMissing(what) => write!(f, "identity missing: {what}"),
            TokenError::Inactive(i) => write!(f, "not active: {}", i.what()),
            TokenError::PeerMismatch(a, b) => {
                write!(f, "{} and {} name different partners", a.name(), b.name())
            }
            TokenError::PathNotCanonical(d) => write!(f, "path {d}"),
        }
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_table() {
        let cases: [(TokenError, &str, u16); 10] = [
            (TokenError::Missing, "token_missing", 401),
            (TokenError::AlgNotAllowed, "token_invalid", 401),
            (
                TokenError::Claim(ClaimError::NotYetValid),
                "token_invalid",
                401,
            ),
            (TokenError::Expired, "token_expired", 401),
            (TokenError::KeysUnavailable, "keys_unavailable", 503),
            (TokenError::KeyUnknown, "key_unknown", 401),
            (TokenError::IdentityMissing("x"), "identity_missing", 400),
            (
                TokenError::Inactive(Inactive::Policy),
                "partner_inactive",
                403,
            ),
            (
                TokenError::PeerMismatch(Source::Token, Source::Certificate),
                "peer_mismatch",
                403,
            ),
            (
                TokenError::PathNotCanonical(crate::path::Defect::DotSegment),
                "path_not_canonical",
                400,
            ),
        ];
        for (e, code, status) in cases {
            assert_eq!(e.reason_code(), code, "{e}");
            assert_eq!(e.status(), status, "{e}");
        }
    }
}
