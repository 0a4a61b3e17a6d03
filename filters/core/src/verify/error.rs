//! Why a shared verification step refused a message: one typed error per stage, each deriving
//! its stable [`Reason`] (docs/reason-codes.md). The text (`Display`) is for logs and the CLI;
//! it never carries key material.

use std::fmt;

use crate::b64::B64Error;
use crate::jose::header::HeaderError;
use crate::path::Defect;
use crate::reason::{Inactive, Reason};

/// The signature as sent: header presence and the signature segment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// The named signature header is absent.
    Absent(String),
    /// The named signature header is sent more than once.
    Repeated(String),
    /// The signature segment is not base64url.
    Encoding(B64Error),
    /// No candidate key takes a signature of this length.
    Length {
        got: usize,
        alg: &'static str,
        want: usize,
    },
    /// ECDSA `r` or `s` outside `[1, n-1]`: not a signature at all.
    ScalarRange,
}

/// The body: its encoding, size and JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// A `content-encoding` other than identity (first 64 characters).
    Encoded(String),
    TooLarge {
        len: usize,
        max: usize,
    },
    /// Not strict JSON within the bounds; names why.
    Json(String),
}

/// The protected header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protected {
    Header(HeaderError),
    /// `kid: null` where the profile wants a string.
    KidNotString,
}

/// The algorithm the header names, against the profile and the key (security.md rule 1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// Not an algorithm Signet ever accepts (`none`, HMAC, unknown).
    Never(String),
    /// Outside the profile's allowed set.
    NotInProfile(String),
    /// Not allowed for the signer's registered key.
    NotForKey(String),
    /// Does not fit the key type of the certificate in `x5c`.
    NotForCertificate(String),
}

/// The signature over the bytes received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Crypto {
    /// No candidate key verifies it.
    DoesNotVerify,
}

/// The freshness window and the replay cache.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Freshness {
    /// The named time field is missing or unparseable while the window is on.
    TimeMissing(String),
    /// The named time field lies `offset_s` from now, outside `-past_s/+future_s`.
    Outside {
        what: String,
        offset_s: i64,
        past_s: i64,
        future_s: i64,
    },
    Replay,
    /// No room without evicting an unexpired entry.
    CacheFull,
    /// No replay cache where one is configured.
    NoCache,
    /// The replay cache failed; names how.
    Cache(String),
}

/// The request's single reading and the signer's binding to the authenticated peer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    PathNotCanonical(Defect),
    /// A method-override header (named) was sent.
    MethodOverride(&'static str),
    /// The signer is not the authenticated peer.
    NotThePeer,
    /// There is no authenticated peer to bind the signer to.
    NoPeer,
    /// The identity the request names (what) is not the authenticated peer.
    NamedNotThePeer(String),
}

/// Who signed, and with which key: the identity the message names, the registry's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// The field that names the signer is absent; says which.
    IdentityMissing(String),
    /// No registered, approved, in-date key for the signer; says why.
    NoKey(String),
    /// The signer (or its key, policy, licence) is not active.
    Inactive(Inactive),
}

/// The certificate a message carries in `x5c`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum X5c {
    /// Undecodable, out of date, or not chaining to a registered CA; says which.
    Invalid(String),
    /// Not the signer's (or its MISP's) registered certificate; says how.
    NotRegistered(String),
}

/// A refusal by one of the shared steps.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepError {
    Framing(Framing),
    Body(Body),
    Protected(Protected),
    Algorithm(Algorithm),
    Crypto(Crypto),
    Freshness(Freshness),
    Binding(Binding),
    Selection(Selection),
    X5c(X5c),
}

impl StepError {
    /// The stable reason code: derived here, never chosen at the call site.
    pub fn reason(&self) -> Reason {
        match self {
            StepError::Framing(Framing::Absent(_)) => Reason::SigMissing,
            StepError::Framing(_) => Reason::SigMalformed,
            StepError::Body(Body::Encoded(_)) => Reason::ContentEncoding,
            StepError::Body(Body::TooLarge { .. }) => Reason::BodyTooLarge,
            StepError::Body(Body::Json(_)) => Reason::BodyMalformed,
            StepError::Protected(Protected::Header(e)) => e.reason(),
            StepError::Protected(Protected::KidNotString) => Reason::HeaderMalformed,
            StepError::Algorithm(_) => Reason::AlgNotAllowed,
            StepError::Crypto(Crypto::DoesNotVerify) => Reason::SigInvalid,
            StepError::Freshness(Freshness::TimeMissing(_) | Freshness::Outside { .. }) => {
                Reason::Stale
            }
            StepError::Freshness(Freshness::Replay) => Reason::Replay,
            StepError::Freshness(Freshness::CacheFull) => Reason::ReplayCacheFull,
            StepError::Freshness(Freshness::NoCache | Freshness::Cache(_)) => Reason::Internal,
            StepError::Binding(Binding::PathNotCanonical(_)) => Reason::PathNotCanonical,
            StepError::Binding(Binding::MethodOverride(_)) => Reason::BindingMismatch,
            StepError::Binding(_) => Reason::PeerMismatch,
            StepError::Selection(Selection::IdentityMissing(_)) => Reason::IdentityMissing,
            StepError::Selection(Selection::NoKey(_)) => Reason::KeyUnknown,
            StepError::Selection(Selection::Inactive(_)) => Reason::PartnerInactive,
            StepError::X5c(X5c::Invalid(_)) => Reason::CertInvalid,
            StepError::X5c(X5c::NotRegistered(_)) => Reason::CertNotRegistered,
        }
    }

    /// Which credential a `partner_inactive` is about.
    pub fn inactive(&self) -> Option<Inactive> {
        match self {
            StepError::Selection(Selection::Inactive(i)) => Some(*i),
            _ => None,
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Framing(e) => match e {
                Framing::Absent(h) => write!(f, "{h} header absent"),
                Framing::Repeated(h) => write!(f, "{h} sent more than once"),
                Framing::Encoding(e) => write!(f, "signature segment: {e}"),
                Framing::Length { got, alg, want } => {
                    write!(f, "{got} signature bytes, {alg} needs {want}")
                }
                Framing::ScalarRange => f.write_str("ECDSA r or s outside [1, n-1]"),
            },
            StepError::Body(e) => match e {
                Body::Encoded(enc) => write!(
                    f,
                    "content-encoding {enc:?}: signed bodies are never compressed"
                ),
                Body::TooLarge { len, max } => {
                    write!(f, "{len} bytes, over max_body_bytes {max}")
                }
                Body::Json(e) => write!(f, "body: {e}"),
            },
            StepError::Protected(e) => match e {
                Protected::Header(
                    HeaderError::Malformed(what) | HeaderError::CritUnsupported(what),
                ) => {
                    write!(f, "protected header: {what}")
                }
                Protected::KidNotString => f.write_str("protected header: kid must be a string"),
            },
            StepError::Algorithm(e) => match e {
                Algorithm::Never(name) => write!(f, "alg {name:?} is never accepted"),
                Algorithm::NotInProfile(name) => {
                    write!(f, "alg {name:?} is not in the profile's allowed set")
                }
                Algorithm::NotForKey(name) => {
                    write!(
                        f,
                        "alg {name} is not allowed for the signer's registered key"
                    )
                }
                Algorithm::NotForCertificate(name) => {
                    write!(f, "alg {name} does not fit the certificate's key type")
                }
            },
            StepError::Crypto(Crypto::DoesNotVerify) => {
                f.write_str("the signature does not verify with the signer's registered key")
            }
            StepError::Freshness(e) => match e {
                Freshness::TimeMissing(what) => {
                    write!(f, "{what} missing or unparseable while the window is on")
                }
                Freshness::Outside {
                    what,
                    offset_s,
                    past_s,
                    future_s,
                } => write!(
                    f,
                    "{what} is {offset_s} s from now, outside -{past_s}/+{future_s} s"
                ),
                Freshness::Replay => f.write_str("signing input already seen"),
                Freshness::CacheFull => {
                    f.write_str("no room in the replay cache without evicting an unexpired entry")
                }
                Freshness::NoCache => f.write_str("replay cache unavailable"),
                Freshness::Cache(e) => write!(f, "replay cache: {e}"),
            },
            StepError::Binding(e) => match e {
                Binding::PathNotCanonical(d) => write!(f, "path {d}"),
                Binding::MethodOverride(h) => write!(
                    f,
                    "{h}: the upstream could run another method than the one verified"
                ),
                Binding::NotThePeer => f.write_str("the signer is not the authenticated peer"),
                Binding::NoPeer => f.write_str("no authenticated peer to bind the signer to"),
                Binding::NamedNotThePeer(what) => {
                    write!(f, "{what} is not the authenticated peer")
                }
            },
            StepError::Selection(e) => match e {
                Selection::IdentityMissing(what) | Selection::NoKey(what) => f.write_str(what),
                Selection::Inactive(i) => f.write_str(i.what()),
            },
            StepError::X5c(X5c::Invalid(what) | X5c::NotRegistered(what)) => f.write_str(what),
        }
    }
}

impl std::error::Error for StepError {}

macro_rules! from_stage {
    ($($stage:ident),+) => {
        $(impl From<$stage> for StepError {
            fn from(e: $stage) -> StepError {
                StepError::$stage(e)
            }
        })+
    };
}
from_stage!(Framing, Body, Protected, Algorithm, Crypto, Freshness, Binding, Selection, X5c);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_derived_per_stage() {
        let cases: [(StepError, Reason); 10] = [
            (Framing::Absent("sig".into()).into(), Reason::SigMissing),
            (Framing::ScalarRange.into(), Reason::SigMalformed),
            (
                Body::TooLarge { len: 2, max: 1 }.into(),
                Reason::BodyTooLarge,
            ),
            (
                Protected::Header(HeaderError::CritUnsupported("crit")).into(),
                Reason::CritUnsupported,
            ),
            (Freshness::CacheFull.into(), Reason::ReplayCacheFull),
            (Freshness::NoCache.into(), Reason::Internal),
            (
                Binding::MethodOverride("x-http-method").into(),
                Reason::BindingMismatch,
            ),
            (
                Selection::Inactive(Inactive::Partner).into(),
                Reason::PartnerInactive,
            ),
            (Selection::NoKey("kid".into()).into(), Reason::KeyUnknown),
            (
                X5c::NotRegistered("pin".into()).into(),
                Reason::CertNotRegistered,
            ),
        ];
        for (e, reason) in cases {
            assert_eq!(e.reason(), reason, "{e}");
        }
    }
}
