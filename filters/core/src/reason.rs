//! The stable reason codes of every rejection (docs/reason-codes.md), and the rejection itself.
//!
//! A code names *what* failed; the HTTP status and body a partner sees are the platform's own and
//! are chosen by the profile (`crate::reply`). The code itself travels in `x-signet-reason`, the
//! stats and the logs. A [`Rejection`] carries the typed error its code is derived from
//! ([`Refusal`]).

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
    /// An encrypted payload (MOSIP e-KYC identity) does not open with the partner's key: the
    /// wrapped key does not unwrap, or the AES-GCM tag does not verify.
    DecryptFailed,
    /// A biometric record's device-signed `data`, or the digital id inside it, is not a JWS
    /// that verifies with the key of its `x5c[0]` certificate (malformed, no `x5c`, an
    /// algorithm that does not fit the key, or a bad signature).
    DeviceSigInvalid,
    /// The device or chip certificate of a biometric record is undecodable, weak, outside its
    /// validity, or does not chain to a configured device-provider / FTM CA.
    DeviceCertInvalid,
    /// The digital id names a device provider, make and model that is not among the
    /// configured models.
    DeviceUnregistered,
}

impl Reason {
    /// Every code, for stats definitions and exhaustive tests.
    pub const ALL: [Reason; 32] = [
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
        Reason::DecryptFailed,
        Reason::DeviceSigInvalid,
        Reason::DeviceCertInvalid,
        Reason::DeviceUnregistered,
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
            Reason::DecryptFailed => "decrypt_failed",
            Reason::DeviceSigInvalid => "device_sig_invalid",
            Reason::DeviceCertInvalid => "device_cert_invalid",
            Reason::DeviceUnregistered => "device_unregistered",
        }
    }

    /// Parses a wire code (used by the conformance runner and tests).
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the code means, for the reason-code reference (`docs/reason-codes.md`).
    pub fn meaning(self) -> &'static str {
        match self {
            Reason::SigMissing => "The signature header the profile requires is absent.",
            Reason::SigMalformed => "The signature header cannot be parsed: JSON, number of segments, base64url, lengths.",
            Reason::HeaderMalformed => "The protected header is not a JSON object with the members the profile requires.",
            Reason::AlgNotAllowed => "`alg` is missing, `none`, HMAC, outside the allowed set, or does not fit the key.",
            Reason::CritUnsupported => "`crit` lists a member Signet does not understand, or `b64` is used where the profile forbids it.",
            Reason::BodyMissing => "A signature is required but the body is empty.",
            Reason::BodyMalformed => "The body is not the JSON the profile needs (or exceeds the JSON depth or size bounds).",
            Reason::BodyTooLarge => "The body exceeds `max_body_bytes`.",
            Reason::ContentEncoding => "The body is compressed (`content-encoding` other than identity).",
            Reason::IdentityMissing => "The field that names the signer (header, claim, path segment, sender id) is absent.",
            Reason::KeyUnknown => "No registered, approved, in-date key for that signer.",
            Reason::BindingMismatch => "A protected member (URI, method, date, source, ...) differs from the request it describes, or a method-override header was sent.",
            Reason::SigInvalid => "The signature does not verify over the bytes received.",
            Reason::CertInvalid => "The `x5c` certificate cannot be decoded, is outside its validity, or does not chain to a registered CA.",
            Reason::CertNotRegistered => "The certificate in `x5c` is not the partner's (or its MISP's) registered one.",
            Reason::Stale => "The message is outside the freshness window, or its time field is missing while a window is on.",
            Reason::Replay => "The same signed message was already accepted inside the window.",
            Reason::PeerMismatch => "The signer (or token, or API key) is not the partner of the mTLS client certificate.",
            Reason::PartnerInactive => "The partner, its API key, policy or MISP licence is not active or not in date.",
            Reason::TokenMissing => "No access token.",
            Reason::TokenInvalid => "The access token is not acceptable: signature, issuer, audience, algorithm, claims or scopes.",
            Reason::TokenExpired => "The access token has expired.",
            Reason::KeysUnavailable => "The keys or registry entries needed are not loaded yet (the auth service or registry is unreachable); refused rather than let through.",
            Reason::Internal => "An internal failure (a host call failed); refused rather than let through.",
            Reason::SignFailed => "The gateway could not sign the message.",
            Reason::PathNotCanonical => "The path can be read two ways (`%2F`, escaped unreserved characters, `//`, dot segments, `;` parameters).",
            Reason::BodyTimeout => "The message did not end within `body_timeout`.",
            Reason::ReplayCacheFull => "The replay cache has no room left inside the window; refused rather than forget a message it protects.",
            Reason::DecryptFailed => "An encrypted payload (a MOSIP e-KYC identity) does not open with the partner's key: the wrapped key does not unwrap or the AES-GCM tag does not verify.",
            Reason::DeviceSigInvalid => "A biometric record's device-signed `data`, or the digital id inside it, is not a JWS that verifies with its `x5c[0]` certificate.",
            Reason::DeviceCertInvalid => "A biometric record's device or FTM chip certificate is undecodable, weak, outside its validity, or does not chain to a configured device-provider / FTM CA (`device_trust`).",
            Reason::DeviceUnregistered => "The digital id names a device provider, make and model that is not among `device_trust.models`.",
        }
    }

    /// What the sender should change, for the reference and the CLI's verdicts.
    pub fn fix(self) -> &'static str {
        match self {
            Reason::SigMissing => "Sign the request and send the signature in the profile's header (see docs/profiles.md).",
            Reason::SigMalformed | Reason::HeaderMalformed => "Build the signature with the platform's own SDK or `signet sign`; check the header is sent whole, unwrapped and unquoted.",
            Reason::AlgNotAllowed => "Sign with an algorithm the profile and your registered key allow (RS256 or ES256 in most profiles).",
            Reason::CritUnsupported => "Drop the `crit` / `b64` members the profile does not define.",
            Reason::BodyMissing => "Send the body the signature covers.",
            Reason::BodyMalformed => "Send one well-formed JSON document (UTF-8, no duplicate members) within the depth and size bounds.",
            Reason::BodyTooLarge => "Send a smaller body, or ask the operator to raise `max_body_bytes`.",
            Reason::ContentEncoding => "Send the body uncompressed: the signature covers the bytes as sent.",
            Reason::IdentityMissing => "Name yourself where the profile expects it (e.g. FSPIOP-Source, the token's partner claim, the path's partner id, the sender id).",
            Reason::KeyUnknown => "Sign with the key registered for you (check `kid`), or ask the operator to register or rotate it.",
            Reason::BindingMismatch => "Sign exactly the request you send: URI, method, date and source as sent; no method-override headers.",
            Reason::SigInvalid => "Sign the exact body bytes you send, with your registered private key; `signet verify` names the usual mistakes (re-serialised JSON, wrong key, path instead of body).",
            Reason::CertInvalid => "Send a certificate in date, issued by the CA registered for your domain.",
            Reason::CertNotRegistered => "Sign with the certificate registered for you (or your MISP), or register the new one first.",
            Reason::Stale => "Sync your clock (NTP) and send the message right after signing it, with the profile's time field.",
            Reason::Replay => "Sign each message afresh (new id, date or nonce); do not resend an accepted message.",
            Reason::PeerMismatch => "Use your own certificate, token, API key and signing key together: they must all name the same partner.",
            Reason::PartnerInactive => "Ask the platform to activate you, your API key, policy or licence, or use one that is in date.",
            Reason::TokenMissing => "Send an access token (`Authorization: Bearer ...`).",
            Reason::TokenInvalid => "Get a token from the platform's auth service for this audience, with the required claims and scopes.",
            Reason::TokenExpired => "Fetch a new token before the old one expires.",
            Reason::KeysUnavailable | Reason::ReplayCacheFull => "Retry later; the operator should check the auth service, registry and gateway capacity.",
            Reason::Internal | Reason::SignFailed => "Retry; the operator should read the gateway log.",
            Reason::PathNotCanonical => "Send the path in its one plain form: no `%2F`, `//`, `.`/`..` segments or `;` parameters.",
            Reason::BodyTimeout => "Send the whole body promptly; do not hold a request open.",
            Reason::DecryptFailed => "Register with MOSIP the encryption certificate whose key the gateway holds (`partner_encryption_certificate`, `partner_encryption_key_env`); an altered answer stays refused.",
            Reason::DeviceSigInvalid => "Send each biometric record exactly as the device (SBI) returned it; an altered record stays refused.",
            Reason::DeviceCertInvalid => "Capture with a device whose certificates are in date and issued under the CAs configured in `device_trust`, or add its provider's CA there.",
            Reason::DeviceUnregistered => "Capture with a registered device model, or add the model to `device_trust.models`.",
        }
    }

    /// The status of the generic column of docs/reason-codes.md (`error_format: signet`, profile
    /// `generic`).
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
            | Reason::TokenExpired
            | Reason::DecryptFailed
            | Reason::DeviceSigInvalid
            | Reason::DeviceCertInvalid => 401,
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
            Reason::PeerMismatch | Reason::PartnerInactive | Reason::DeviceUnregistered => 403,
            Reason::KeysUnavailable | Reason::ReplayCacheFull => 503,
            Reason::Internal | Reason::SignFailed => 500,
        }
    }
}

/// Which credential in an inactive or out-of-date state caused `partner_inactive`, for every
/// filter: the MOSIP reply maps each to its own IDA code and RFC 6750 one of them to
/// `insufficient_scope` (`crate::reply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inactive {
    /// The partner is not active.
    Partner,
    /// The API key is revoked or blocked.
    ApiKey,
    /// The API key is outside its validity dates.
    ApiKeyDates,
    /// The policy is not active or outside its dates.
    Policy,
    /// The policy does not allow this method and path.
    Route,
    /// The policy requires a scope the token does not carry.
    PolicyScope,
    /// The licence key is unknown, or its MISP is unknown / inactive.
    LicenceUnknown,
    /// The licence key is not yet valid (before its start date).
    LicenceNotCommenced,
    /// The licence key has expired.
    LicenceExpired,
    /// The licence key is blocked or revoked.
    LicenceBlocked,
    /// The licence's MISP may not serve this partner.
    MispNotForPartner,
}

impl Inactive {
    /// Every variant, in declaration order (tested), for the reason-code reference.
    pub const ALL: [Inactive; 11] = [
        Inactive::Partner,
        Inactive::ApiKey,
        Inactive::ApiKeyDates,
        Inactive::Policy,
        Inactive::Route,
        Inactive::PolicyScope,
        Inactive::LicenceUnknown,
        Inactive::LicenceNotCommenced,
        Inactive::LicenceExpired,
        Inactive::LicenceBlocked,
        Inactive::MispNotForPartner,
    ];

    /// What was not active, for logs.
    pub fn what(self) -> &'static str {
        match self {
            Inactive::Partner => "partner not active",
            Inactive::ApiKey => "API key not active",
            Inactive::ApiKeyDates => "API key outside its validity dates",
            Inactive::Policy => "policy not active or not in date",
            Inactive::Route => "route not allowed by the policy",
            Inactive::PolicyScope => "policy scope missing from the token",
            Inactive::LicenceUnknown => "licence key unknown",
            Inactive::LicenceNotCommenced => "licence key not yet valid",
            Inactive::LicenceExpired => "licence key expired",
            Inactive::LicenceBlocked => "licence key blocked",
            Inactive::MispNotForPartner => "MISP may not serve this partner",
        }
    }
}

/// A typed refusal: each stage's error enum (`crate::verify::error::StepError`,
/// `crate::token::TokenError`) derives its stable reason from the variant, so no call site
/// chooses a code and none can pair an error with the wrong one.
pub trait Refusal: fmt::Display {
    /// The stable reason code.
    fn reason(&self) -> Reason;
    /// Which credential a `partner_inactive` is about.
    fn inactive(&self) -> Option<Inactive> {
        None
    }
}

/// A refused message: the typed error `E` and what was established before the refusal — the
/// partner (`jws_verify`, the default), or `token_check`'s findings — for logs, stats and the
/// audit record, never for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection<E, F = Option<String>> {
    pub error: E,
    pub findings: F,
}

impl<E: Refusal, F> Rejection<E, F> {
    /// The stable reason code, the error's.
    pub fn reason(&self) -> Reason {
        self.error.reason()
    }

    /// Which credential a `partner_inactive` is about.
    pub fn inactive(&self) -> Option<Inactive> {
        self.error.inactive()
    }
}

impl<E> Rejection<E> {
    /// A rejection that names no partner yet.
    pub fn new(error: E) -> Rejection<E> {
        Rejection {
            error,
            findings: None,
        }
    }

    /// The partner the rejection concerns, when it was identified.
    pub fn partner(&self) -> Option<&str> {
        self.findings.as_deref()
    }

    /// Names the partner the rejection concerns.
    pub fn with_partner(mut self, partner: Option<&str>) -> Rejection<E> {
        self.findings = partner.map(str::to_string);
        self
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
    fn inactive_all_follows_declaration_order() {
        for (n, i) in Inactive::ALL.iter().enumerate() {
            assert_eq!(*i as usize, n, "{}", i.what());
        }
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
