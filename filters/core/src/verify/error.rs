//! Why `jws_verify` refused a message: one typed error per stage, each deriving its stable
//! [`Reason`] (docs/reason-codes.md), for the shared steps, the profiles' own checks and the
//! glue alike; a profile names what failed, never the code. The text (`Display`) is for logs
//! and the CLI; it never carries key material.

use std::fmt;

use crate::b64::B64Error;
use crate::jose::header::HeaderError;
use crate::path::Defect;
use crate::reason::{Inactive, Reason, Refusal};

/// The signature as sent: header presence and the signature segment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Framing {
    /// The named signature header is absent.
    Absent(String),
    /// The named signature header is sent more than once.
    Repeated(String),
    /// Several signature headers carry different values.
    Conflicting,
    /// Headers the signature needs are absent (mojaloop: `FSPIOP-URI`, ...); names them.
    Missing(Vec<String>),
    /// The signature's serialization is not the `expected` one (`H..S`, `H.X.S`, the JSON
    /// envelope); says why.
    Serialization {
        expected: &'static str,
        problem: String,
    },
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
    /// A signature needs the body it covers, and none came.
    Missing,
    /// A `content-encoding` other than identity (first 64 characters).
    Encoded(String),
    TooLarge {
        len: usize,
        max: usize,
    },
    /// Not strict JSON within the bounds; names why.
    Json(String),
    /// The message did not end within `body_timeout`.
    Timeout,
}

/// The protected header.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protected {
    Header(HeaderError),
    /// `kid: null` where the profile wants a string.
    KidNotString,
    /// A member the profile requires is absent; names it.
    MemberMissing(String),
    /// A member the profile wants as a string is not one; names it.
    MemberNotString(String),
    /// `x5t#S256` is not the thumbprint of `x5c[0]`.
    Thumbprint,
    /// `b64` absent or true where the profile requires `b64:false`.
    EncodedPayload,
}

/// The algorithm the header names, against the profile and the key (docs/data-path.md rule 1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// No `alg` member.
    Missing,
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
    /// Two registries (token_check's binding and this filter's) name different partners for
    /// the connection.
    TwoPartners,
    /// A header the signature binds is sent more than once; names it.
    Repeated(String),
    /// A protected member differs from the HTTP header of the same name; names it.
    Differs(String),
    /// A protected member names an HTTP header that is absent; names it.
    HeaderAbsent(String),
    /// A protected member names an HTTP header that is empty; names it.
    HeaderEmpty(String),
    /// The protected method and URI are not the request's.
    RequestLine {
        method: String,
        path: String,
    },
    /// A field of the body (named) does not name the signer.
    NotTheSigner(String),
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

/// The caller's credential, where the profile needs one beside the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// No verified bearer token in the request's context (OCEN: `token_check` runs first).
    NoVerifiedToken,
    /// No `Authorization` header (MOSIP IDA requires one).
    NoAuthorization,
}

/// Keys of a signer that come from a remote registry (`crate::verify::KeySource`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fetch {
    /// The participant's keys are not fetched yet, and waiting is not possible; names it.
    NotYet(String),
    /// The registry failed and nothing usable is cached; says how.
    RegistryDown(String),
    /// The participant is not configured statically and no registry client is wired here.
    NoClient,
}

/// The certificate a message carries in `x5c`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum X5c {
    /// No `x5c`: the signature cannot be verified without it (`sig_invalid`, as IDA answers).
    Missing,
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
    Credential(Credential),
    Fetch(Fetch),
    X5c(X5c),
    /// A host call failed (the glue names which).
    Internal(String),
}

impl Refusal for StepError {
    /// The stable reason code: derived here, never chosen at the call site. Every variant is
    /// listed, so a new one does not compile until its code is chosen.
    fn reason(&self) -> Reason {
        match self {
            StepError::Framing(e) => match e {
                Framing::Absent(_) | Framing::Missing(_) => Reason::SigMissing,
                Framing::Repeated(_)
                | Framing::Conflicting
                | Framing::Serialization { .. }
                | Framing::Encoding(_)
                | Framing::Length { .. }
                | Framing::ScalarRange => Reason::SigMalformed,
            },
            StepError::Body(e) => match e {
                Body::Missing => Reason::BodyMissing,
                Body::Encoded(_) => Reason::ContentEncoding,
                Body::TooLarge { .. } => Reason::BodyTooLarge,
                Body::Json(_) => Reason::BodyMalformed,
                Body::Timeout => Reason::BodyTimeout,
            },
            StepError::Protected(e) => match e {
                Protected::Header(e) => e.reason(),
                Protected::EncodedPayload => Reason::CritUnsupported,
                Protected::KidNotString
                | Protected::MemberMissing(_)
                | Protected::MemberNotString(_)
                | Protected::Thumbprint => Reason::HeaderMalformed,
            },
            StepError::Algorithm(
                Algorithm::Missing
                | Algorithm::Never(_)
                | Algorithm::NotInProfile(_)
                | Algorithm::NotForKey(_)
                | Algorithm::NotForCertificate(_),
            ) => Reason::AlgNotAllowed,
            StepError::Crypto(Crypto::DoesNotVerify) => Reason::SigInvalid,
            StepError::Freshness(e) => match e {
                Freshness::TimeMissing(_) | Freshness::Outside { .. } => Reason::Stale,
                Freshness::Replay => Reason::Replay,
                Freshness::CacheFull => Reason::ReplayCacheFull,
                Freshness::NoCache | Freshness::Cache(_) => Reason::Internal,
            },
            StepError::Binding(e) => match e {
                Binding::PathNotCanonical(_) => Reason::PathNotCanonical,
                Binding::NotThePeer
                | Binding::NoPeer
                | Binding::NamedNotThePeer(_)
                | Binding::TwoPartners => Reason::PeerMismatch,
                Binding::MethodOverride(_)
                | Binding::Repeated(_)
                | Binding::Differs(_)
                | Binding::HeaderAbsent(_)
                | Binding::HeaderEmpty(_)
                | Binding::RequestLine { .. }
                | Binding::NotTheSigner(_) => Reason::BindingMismatch,
            },
            StepError::Selection(e) => match e {
                Selection::IdentityMissing(_) => Reason::IdentityMissing,
                Selection::NoKey(_) => Reason::KeyUnknown,
                Selection::Inactive(_) => Reason::PartnerInactive,
            },
            StepError::Credential(Credential::NoVerifiedToken | Credential::NoAuthorization) => {
                Reason::TokenMissing
            }
            StepError::Fetch(Fetch::NotYet(_) | Fetch::RegistryDown(_) | Fetch::NoClient) => {
                Reason::KeysUnavailable
            }
            StepError::X5c(e) => match e {
                X5c::Missing => Reason::SigInvalid,
                X5c::Invalid(_) => Reason::CertInvalid,
                X5c::NotRegistered(_) => Reason::CertNotRegistered,
            },
            StepError::Internal(_) => Reason::Internal,
        }
    }

    fn inactive(&self) -> Option<Inactive> {
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
                Framing::Conflicting => {
                    f.write_str("several signature headers with different values")
                }
                Framing::Missing(names) => write!(f, "missing headers {names:?}"),
                Framing::Serialization { expected, problem } => {
                    write!(f, "expected {expected}: {problem}")
                }
                Framing::Encoding(e) => write!(f, "signature segment: {e}"),
                Framing::Length { got, alg, want } => {
                    write!(f, "{got} signature bytes, {alg} needs {want}")
                }
                Framing::ScalarRange => f.write_str("ECDSA r or s outside [1, n-1]"),
            },
            StepError::Body(e) => match e {
                Body::Missing => f.write_str("a signed message needs a body"),
                Body::Encoded(enc) => write!(
                    f,
                    "content-encoding {enc:?}: signed bodies are never compressed"
                ),
                Body::TooLarge { len, max } => {
                    write!(f, "{len} bytes, over max_body_bytes {max}")
                }
                Body::Json(e) => write!(f, "body: {e}"),
                Body::Timeout => f.write_str("message did not end within body_timeout"),
            },
            StepError::Protected(e) => match e {
                Protected::Header(
                    HeaderError::Malformed(what) | HeaderError::CritUnsupported(what),
                ) => {
                    write!(f, "protected header: {what}")
                }
                Protected::KidNotString => f.write_str("protected header: kid must be a string"),
                Protected::MemberMissing(name) => {
                    write!(f, "protected header: mandatory member {name} missing")
                }
                Protected::MemberNotString(name) => {
                    write!(f, "protected header: {name} is not a string")
                }
                Protected::Thumbprint => f.write_str("x5t#S256 is not the thumbprint of x5c[0]"),
                Protected::EncodedPayload => f.write_str("b64:false is required"),
            },
            StepError::Algorithm(e) => match e {
                Algorithm::Missing => f.write_str("alg missing"),
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
                Binding::TwoPartners => {
                    f.write_str("token_check's partner is not the certificate's partner")
                }
                Binding::Repeated(h) => write!(f, "{h} sent more than once"),
                Binding::Differs(name) => {
                    write!(f, "protected {name} differs from the HTTP header")
                }
                Binding::HeaderAbsent(name) => {
                    write!(f, "protected {name} but no such HTTP header")
                }
                Binding::HeaderEmpty(name) => {
                    write!(f, "protected {name} but the HTTP header is empty")
                }
                Binding::RequestLine { method, path } => {
                    write!(f, "{method} {path} does not match the protected method/URI")
                }
                Binding::NotTheSigner(what) => write!(f, "{what} does not name the signer"),
            },
            StepError::Selection(e) => match e {
                Selection::IdentityMissing(what) | Selection::NoKey(what) => f.write_str(what),
                Selection::Inactive(i) => f.write_str(i.what()),
            },
            StepError::Credential(Credential::NoVerifiedToken) => {
                f.write_str("no verified bearer token (token_check must run first)")
            }
            StepError::Credential(Credential::NoAuthorization) => {
                f.write_str("Authorization header absent")
            }
            StepError::Fetch(e) => match e {
                Fetch::NotYet(p) => write!(f, "participant {p}: keys not fetched yet"),
                Fetch::RegistryDown(why) => write!(
                    f,
                    "key registry unavailable and nothing usable cached: {why}"
                ),
                Fetch::NoClient => f.write_str(
                    "participant not configured statically and no key registry client here",
                ),
            },
            StepError::X5c(X5c::Missing) => {
                f.write_str("x5c missing: the signature cannot be verified without it")
            }
            StepError::X5c(X5c::Invalid(what) | X5c::NotRegistered(what)) => f.write_str(what),
            StepError::Internal(what) => f.write_str(what),
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
from_stage!(
    Framing, Body, Protected, Algorithm, Crypto, Freshness, Binding, Selection, Credential, Fetch,
    X5c
);

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
