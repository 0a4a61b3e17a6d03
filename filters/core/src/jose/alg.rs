//! JWS algorithms Signet accepts (docs/profiles.md#algorithms) and the key types each one needs.
//!
//! The enum holds only asymmetric algorithms: `none` and `HS*` have no variant, so no
//! configuration or message can select them (RFC 8725 §3.1, §3.2: the RS256 → HS256 confusion
//! needs an HMAC algorithm to exist).

use std::fmt;

/// An asymmetric JWS algorithm (RFC 7518 §3, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, 32-byte salt.
    PS256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt.
    PS384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, 64-byte salt.
    PS512,
    /// ECDSA P-256 with SHA-256, 64-byte `r ‖ s`.
    ES256,
    /// ECDSA P-384 with SHA-384, 96-byte `r ‖ s`.
    ES384,
    /// Ed25519 (RFC 8032), 64 bytes.
    EdDSA,
}

/// The hash an algorithm uses (also what Envoy's native `hash_function` wants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Envoy's `hash_function` spelling.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }
}

/// The family of an algorithm (which signature scheme).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgFamily {
    /// RSASSA-PKCS1-v1_5.
    RsaPkcs1,
    /// RSASSA-PSS.
    RsaPss,
    /// ECDSA with `r ‖ s` signatures.
    Ecdsa,
    /// Ed25519.
    EdDSA,
}

impl Alg {
    /// Every supported algorithm.
    pub const ALL: [Alg; 9] = [
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::EdDSA,
    ];

    /// Looks up an `alg` value (case-sensitive, RFC 7515 §4.1.1). `none`, `HS*` and anything
    /// unknown give `None`.
    pub fn from_name(s: &str) -> Option<Alg> {
        Alg::ALL.iter().copied().find(|a| a.name() == s)
    }

    /// The registered `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The signature scheme.
    pub fn family(self) -> AlgFamily {
        match self {
            Alg::RS256 | Alg::RS384 | Alg::RS512 => AlgFamily::RsaPkcs1,
            Alg::PS256 | Alg::PS384 | Alg::PS512 => AlgFamily::RsaPss,
            Alg::ES256 | Alg::ES384 => AlgFamily::Ecdsa,
            Alg::EdDSA => AlgFamily::EdDSA,
        }
    }

    /// The message hash (`None` for EdDSA, which hashes internally).
    pub fn hash(self) -> Option<HashAlg> {
        match self {
            Alg::RS256 | Alg::PS256 | Alg::ES256 => Some(HashAlg::Sha256),
            Alg::RS384 | Alg::PS384 | Alg::ES384 => Some(HashAlg::Sha384),
            Alg::RS512 | Alg::PS512 => Some(HashAlg::Sha512),
            Alg::EdDSA => None,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

    #[test]
    fn names_roundtrip() {
        for a in Alg::ALL {
            assert_eq!(Alg::from_name(a.name()), Some(a));
        }
    }

    #[test]
    fn refused_names() {
        for n in [
            "none",
            "None",
            "NONE",
            "HS256",
            "HS384",
            "HS512",
            "rs256",
            "ES512",
            "ES256K",
            "Ed25519",
            "EdDSA ",
            "",
            "RS256\u{0}",
        ] {
            assert_eq!(Alg::from_name(n), None, "{n}");
        }
    }
}
