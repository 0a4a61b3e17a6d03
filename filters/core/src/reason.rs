//! The stable reason codes of every rejection (profiles.md §2.8).
//!
//! A code names *what* failed; the HTTP status and body a partner sees are the platform's own and
//! are chosen by the profile (`crate::reply`). The code itself travels in `x-signet-reason`, the
//! stats and the logs.

use std::fmt;

/// Why a message was rejected. One code per rejection, stable across releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// A required signature header is absent.
    SigMissing,
    /// The signature header cannot be parsed: JSON, segment count, base64url, lengths.
    SigMalformed,
    /// The protected header is not a well-formed JSON object with the mandatory members.
    HeaderMalformed,
    /// `alg` missing, `none`, HMAC, outside the allowed set, or not fitting the key type.
    AlgNotAllowed,
    /// `crit` lists something not understood, or `b64` is used where the profile forbids it.
    CritUnsupported,
    /// A signature is required but the body is empty.
    BodyMissing,
    /// The body is not the JSON the profile needs.
    BodyMalformed,
    /// The body exceeds `max_body_bytes`.
    BodyTooLarge,
    /// The body is compressed (`content-encoding` other than identity).
    ContentEncoding,
    /// The field that names the signer is absent.
    IdentityMissing,
    /// No registered, approved, in-date key for that signer.
    KeyUnknown,
    /// A protected member differs from the request it claims to describe.
    BindingMismatch,
    /// Cryptographic verification failed.
    SigInvalid,
    /// `x5c` undecodable, outside its validity period, or not chaining to a registered CA.
    CertInvalid,
    /// `x5c[0]` is not the partner's (or its MISP's) registered certificate.
    CertNotRegistered,
    /// Outside the freshness window, or the time field is missing while a window is on.
    Stale,
    /// The same signing input was already accepted inside the window.
    Replay,
    /// The signer is not the authenticated peer.
    PeerMismatch,
    /// Partner, API key, policy or licence not active or not in date.
    PartnerInactive,
    /// No bearer token.
    TokenMissing,
    /// The bearer token is not acceptable.
    TokenInvalid,
    /// The bearer token has expired.
    TokenExpired,
    /// Keys or registry not loaded yet (fail closed).
    KeysUnavailable,
    /// Any other internal failure (fail closed).
    Internal,
    /// The signer could not sign.
    SignFailed,
    /// The path could be read two ways (escapes of unreserved characters or `/`, `//`, dot
    /// segments, `;` parameters): route policy and path identities would not be the upstream's.
    PathNotCanonical,
    /// The message did not end within the configured bound (a body that never finishes).
    BodyTimeout,
    /// The replay cache has no room left inside the window: refused rather than evicting an
    /// entry that still protects against a replay (fail closed).
    ReplayCacheFull,
}

impl Reason {
    /// Every code, for stats definitions and exhaustive tests.
    pub const ALL: [Reason; 28] = [
        Reason::SigMissing,
        Reason::SigMalformed,
        Reason::HeaderMalformed,
        Reason::AlgNotAllowed,
        Reason::CritUnsupported,
        Reason::BodyMissing,
        Reason::BodyMalformed,
        Reason::BodyTooLarge,
        Reason::ContentEncoding,
        Reason::IdentityMissing,
        Reason::KeyUnknown,
        Reason::BindingMismatch,
        Reason::SigInvalid,
        Reason::CertInvalid,
        Reason::CertNotRegistered,
        Reason::Stale,
        Reason::Replay,
        Reason::PeerMismatch,
        Reason::PartnerInactive,
        Reason::TokenMissing,
        Reason::TokenInvalid,
        Reason::TokenExpired,
        Reason::KeysUnavailable,
        Reason::Internal,
        Reason::SignFailed,
        Reason::PathNotCanonical,
        Reason::BodyTimeout,
        Reason::ReplayCacheFull,
    ];

    /// The wire form, as in `x-signet-reason`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::SigMissing => "sig_missing",
            Reason::SigMalformed => "sig_malformed",
            Reason::HeaderMalformed => "header_malformed",
            Reason::AlgNotAllowed => "alg_not_allowed",
            Reason::CritUnsupported => "crit_unsupported",
            Reason::BodyMissing => "body_missing",
            Reason::BodyMalformed => "body_malformed",
            Reason::BodyTooLarge => "body_too_large",
            Reason::ContentEncoding => "content_encoding",
            Reason::IdentityMissing => "identity_missing",
            Reason::KeyUnknown => "key_unknown",
            Reason::BindingMismatch => "binding_mismatch",
            Reason::SigInvalid => "sig_invalid",
            Reason::CertInvalid => "cert_invalid",
            Reason::CertNotRegistered => "cert_not_registered",
            Reason::Stale => "stale",
            Reason::Replay => "replay",
            Reason::PeerMismatch => "peer_mismatch",
            Reason::PartnerInactive => "partner_inactive",
            Reason::TokenMissing => "token_missing",
            Reason::TokenInvalid => "token_invalid",
            Reason::TokenExpired => "token_expired",
            Reason::KeysUnavailable => "keys_unavailable",
            Reason::Internal => "internal",
            Reason::SignFailed => "sign_failed",
            Reason::PathNotCanonical => "path_not_canonical",
            Reason::BodyTimeout => "body_timeout",
            Reason::ReplayCacheFull => "replay_cache_full",
        }
    }

    /// Parses a wire code (used by the conformance runner and tests).
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The status of the generic column of §2.8 (`error_format: signet`, profile `generic`).
    pub fn generic_status(self) -> u16 {
        match self {
            Reason::SigMissing
            | Reason::AlgNotAllowed
            | Reason::KeyUnknown
            | Reason::BindingMismatch
            | Reason::SigInvalid
            | Reason::CertInvalid
            | Reason::CertNotRegistered
            | Reason::Stale
            | Reason::Replay
            | Reason::TokenMissing
            | Reason::TokenInvalid
            | Reason::TokenExpired => 401,
            Reason::SigMalformed
            | Reason::HeaderMalformed
            | Reason::CritUnsupported
            | Reason::BodyMissing
            | Reason::BodyMalformed
            | Reason::IdentityMissing
            | Reason::PathNotCanonical => 400,
            Reason::BodyTimeout => 408,
            Reason::BodyTooLarge => 413,
            Reason::ContentEncoding => 415,
            Reason::PeerMismatch | Reason::PartnerInactive => 403,
            Reason::KeysUnavailable | Reason::ReplayCacheFull => 503,
            Reason::Internal | Reason::SignFailed => 500,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.code()), "duplicate code {}", r.code());
            assert_eq!(Reason::from_code(r.code()), Some(r));
        }
        assert_eq!(Reason::from_code("ok"), None);
    }

    #[test]
    fn generic_statuses_follow_the_table() {
        assert_eq!(Reason::SigMissing.generic_status(), 401);
        assert_eq!(Reason::SigMalformed.generic_status(), 400);
        assert_eq!(Reason::BodyTooLarge.generic_status(), 413);
        assert_eq!(Reason::ContentEncoding.generic_status(), 415);
        assert_eq!(Reason::PeerMismatch.generic_status(), 403);
        assert_eq!(Reason::KeysUnavailable.generic_status(), 503);
        assert_eq!(Reason::Internal.generic_status(), 500);
    }
}
