//! The one verification pipeline: parse → select partner and key → check header bindings →
//! verify bytes → freshness/replay → verdict.
//!
//! Each profile module (`crate::profiles`) runs these steps in its platform's order; the steps
//! themselves live here so that every profile rejects the same defect with the same code. This
//! kit names no profile: a profile reaches it through [`Steps`] and [`Run`].

pub mod diagnose;
pub mod error;
pub mod remote;
pub mod replay;
pub mod settings;

use crate::b64;
use crate::crypto::{CryptoBackend, CryptoError};
use crate::jose::alg::Alg;
use crate::jose::header::{Header, HeaderRules};
use crate::json::{parse_strict, JsonLimits, JsonValue};
use crate::keys::PublicKey;
use crate::message::{Context, Message};
pub use crate::reason::Inactive;
use crate::reason::{Refusal, Rejection};
use crate::registry::{Partner, RegisteredKey, Registry};
use crate::route::Policy;
use crate::trace::Trace;

pub use error::StepError;
pub use remote::{KeySource, Lookup};

use error::{Algorithm, Binding, Body, Crypto, Fetch, Framing, Freshness, Protected, Selection};
pub use replay::{MemoryReplay, ReplayStore, Seen};
pub use settings::{Common, Direction, ErrorFormat};

/// What a verification decided short of a rejection: the message may go on, or it must wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The signer's keys are not here yet (nothing cached for a participant of a remote
    /// [`KeySource`]): not a verdict. The glue fetches them and verifies again; where it cannot
    /// wait, [`no_wait`] refuses it (`keys_unavailable`, fail closed).
    NeedKeys { participant: String },
    /// The signature verified; `partner` signed it.
    Verified {
        partner: String,
        alg: Alg,
        kid: Option<String>,
    },
    /// `if-present` and no signature header: forwarded unsigned.
    Unsigned,
    /// The route policy says `skip`.
    Skipped,
}

/// What the opening checks decided: let the message pass as it is, or verify this signature.
pub enum Gate {
    Pass(Outcome),
    Verify(String),
}

impl Outcome {
    /// Whether the message may go on (`NeedKeys` may not).
    pub fn passes(&self) -> bool {
        !matches!(self, Outcome::NeedKeys { .. })
    }
}

/// The verdict where waiting for keys is not possible (the CLI, the conformance runner, or a
/// request that already waited once): `NeedKeys` is refused as `keys_unavailable`.
pub fn no_wait(
    result: Result<Outcome, Rejection<StepError>>,
) -> Result<Outcome, Rejection<StepError>> {
    match result {
        Ok(Outcome::NeedKeys { participant }) => {
            Err(Rejection::new(Fetch::NotYet(participant).into()))
        }
        other => other,
    }
}

/// A profile's own steps, run after the shared opening checks (`crate::profiles` implements it).
pub trait Steps {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>>;
}

/// Everything one verification needs.
pub struct Run<'a> {
    pub common: &'a Common,
    pub registry: &'a Registry,
    /// The configured profile.
    pub profile: &'a dyn Steps,
    pub msg: &'a Message,
    pub ctx: &'a Context,
    pub backend: &'a dyn CryptoBackend,
    pub replay: Option<&'a mut dyn ReplayStore>,
    pub trace: &'a mut Trace,
    /// Keys fetched from a remote registry (the OCEN registry), for participants that are not
    /// configured statically; `None` where no such source is wired (the CLI).
    pub keys: Option<&'a dyn KeySource>,
}

/// Verifies one message under the configured profile.
pub fn verify(run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>> {
    let result = canonical_path(run)
        .and_then(|()| one_method(run))
        .and_then(|()| {
            let profile = run.profile;
            profile.verify(run)
        });
    match &result {
        Ok(Outcome::NeedKeys { participant }) => run.trace.fail("verdict", || {
            format!("waiting for the keys of {participant}")
        }),
        Ok(o) => run.trace.pass("verdict", || format!("{o:?}")),
        Err(r) => run
            .trace
            .fail("verdict", || format!("reject {}: {}", r.reason(), r.error)),
    }
    result
}

/// A request path that could be read two ways is refused before any route policy or path identity
/// is read (docs/data-path.md rule 11). Responses carry the request's path, already checked.
fn canonical_path(run: &mut Run<'_>) -> Result<(), Rejection<StepError>> {
    if run.common.direction != Direction::Request {
        return Ok(());
    }
    match crate::path::check(&run.msg.path) {
        Ok(()) => {
            run.trace.pass("path", || "one reading".into());
            Ok(())
        }
        Err(d) => Err(run.fail("path", Binding::PathNotCanonical(d))),
    }
}

/// Headers with which common frameworks let a request claim another method than its own
/// (Express `method-override`, Symfony, Laravel, ASP.NET, Google APIs).
const METHOD_OVERRIDES: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Route policy is decided on the request's method; an upstream that honoured a method
/// override would run another one (an unsigned `GET`, skipped, executed as a `PUT`). A request
/// carrying one is refused whatever its route (docs/data-path.md rules 11 and 12: one reading).
fn one_method(run: &mut Run<'_>) -> Result<(), Rejection<StepError>> {
    if run.common.direction != Direction::Request {
        return Ok(());
    }
    match METHOD_OVERRIDES
        .iter()
        .find(|h| run.msg.header(h).is_some())
    {
        None => Ok(()),
        Some(h) => Err(run.fail("method", Binding::MethodOverride(h))),
    }
}

impl Run<'_> {
    /// Route policy: configured rules first, then the profile's default.
    pub fn policy(&mut self, path: &str, default: Policy) -> Policy {
        let configured = self.common.route_policy.configured(
            &self.msg.method,
            path,
            self.ctx.route_name.as_deref(),
        );
        let policy = configured.unwrap_or(default);
        let from = if configured.is_some() {
            "route_policy"
        } else {
            "profile default"
        };
        self.trace.pass("route_policy", || {
            format!("{} {} → {} ({from})", self.msg.method, path, policy.name())
        });
        policy
    }

    /// The opening shared by the detached-JWS profiles: route policy (`default`; `None` on the
    /// response path, where a signature is always required), body bounds, then the signature
    /// header, which must be present.
    pub fn open(
        &mut self,
        default: Option<Policy>,
        header: &str,
    ) -> Result<Gate, Rejection<StepError>> {
        if let Some(default) = default {
            let path = self.msg.path_only().to_string();
            match self.policy(&path, default) {
                Policy::Skip => return Ok(Gate::Pass(Outcome::Skipped)),
                Policy::IfPresent if self.msg.header(header).is_none() => {
                    self.trace.pass("signature_header", || {
                        "absent, if-present: forwarded unsigned".into()
                    });
                    return Ok(Gate::Pass(Outcome::Unsigned));
                }
                _ => {}
            }
        }
        self.body_bounds()?;
        match self.signature_header(header)? {
            Some(v) => Ok(Gate::Verify(v)),
            None => Err(self.fail("signature_header", Framing::Absent(header.into()))),
        }
    }

    /// The value of the signature header, refusing one sent several times or under a look-alike
    /// name (`sig_malformed`): which copy an upstream would read is not ours to guess.
    pub fn signature_header(&mut self, name: &str) -> Result<Option<String>, Rejection<StepError>> {
        if self.msg.header_repeated(name) {
            return Err(self.fail("signature_header", Framing::Repeated(name.into())));
        }
        Ok(self.msg.header(name).map(str::to_string))
    }

    /// `content-encoding` and the size bound (docs/profiles.md#bodies).
    pub fn body_bounds(&mut self) -> Result<(), Rejection<StepError>> {
        // Every `content-encoding` header and every coding in its list: an upstream may apply
        // the second header or the last coding of a list, so the first alone proves nothing.
        let encoded = self
            .msg
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
            .map(|(_, v)| v.as_str())
            .find(|v| {
                !v.split(',')
                    .all(|c| c.trim().eq_ignore_ascii_case("identity"))
            });
        if let Some(enc) = encoded {
            let enc: String = enc.chars().take(64).collect();
            return Err(self.fail("body", Body::Encoded(enc)));
        }
        let max = self.common.max_body_bytes;
        if self.msg.body.len() > max {
            let len = self.msg.body.len();
            return Err(self.fail("body", Body::TooLarge { len, max }));
        }
        self.trace.pass("body", || {
            format!("{} bytes, identity encoding", self.msg.body.len())
        });
        Ok(())
    }

    /// Parses the body as strict JSON (docs/profiles.md#bodies).
    pub fn body_json(&mut self) -> Result<JsonValue, Rejection<StepError>> {
        let limits = JsonLimits {
            max_depth: self.common.max_json_depth,
            max_members: None,
            max_elements: Some(self.common.max_json_elements),
        };
        match parse_strict(&self.msg.body, limits) {
            Ok(v) => {
                self.trace.pass("body_json", || "strict JSON".into());
                Ok(v)
            }
            Err(e) => Err(self.fail("body_json", Body::Json(e.to_string()))),
        }
    }

    /// Decodes and checks the protected header (docs/profiles.md#protected-header, #crit-and-b64);
    /// `kid` must be a string.
    pub fn header(&mut self, h: &str, rules: &HeaderRules) -> Result<Header, Rejection<StepError>> {
        self.header_kid_null(h, rules, false)
    }

    /// As [`Run::header`]; with `null_kid`, `kid: null` is accepted (jose4j writes it for OCEN).
    pub fn header_kid_null(
        &mut self,
        h: &str,
        rules: &HeaderRules,
        null_kid: bool,
    ) -> Result<Header, Rejection<StepError>> {
        match Header::parse(h, rules) {
            Ok(hdr) if hdr.kid_is_null() && !null_kid => {
                Err(self.fail("protected_header", Protected::KidNotString))
            }
            Ok(hdr) => {
                self.trace.pass("protected_header", || {
                    let names: Vec<&str> = hdr.members().iter().map(|(n, _)| n.as_str()).collect();
                    format!("members {names:?}")
                });
                Ok(hdr)
            }
            Err(e) => Err(self.fail("protected_header", Protected::Header(e))),
        }
    }

    /// The algorithm of the header, if allowed for at least one candidate key: returns it with
    /// the keys that may use it (docs/data-path.md rule 1: the key decides, before any crypto).
    pub fn alg<'k>(
        &mut self,
        header: &Header,
        keys: &'k [RegisteredKey],
    ) -> Result<(Alg, Vec<&'k RegisteredKey>), Rejection<StepError>> {
        let name = header.alg_name().unwrap_or_default();
        let Some(alg) = Alg::from_name(name) else {
            return Err(self.fail("alg", Algorithm::Never(name.into())));
        };
        if !self.common.algorithms.contains(&alg) {
            return Err(self.fail("alg", Algorithm::NotInProfile(name.into())));
        }
        let usable: Vec<&RegisteredKey> = keys
            .iter()
            .filter(|k| k.algorithms.contains(&alg) && alg.fits(&k.key))
            .collect();
        if usable.is_empty() {
            return Err(self.fail("alg", Algorithm::NotForKey(name.into())));
        }
        self.trace
            .pass("alg", || format!("{name} allowed for the key"));
        Ok((alg, usable))
    }

    /// The algorithm of the header for a key that is not in the registry (mosip `x5c`).
    pub fn alg_for_key(
        &mut self,
        header: &Header,
        key: &PublicKey,
    ) -> Result<Alg, Rejection<StepError>> {
        let name = header.alg_name().unwrap_or_default();
        match Alg::from_name(name) {
            Some(alg) if self.common.algorithms.contains(&alg) && alg.fits(key) => {
                self.trace.pass("alg", || format!("{name} allowed"));
                Ok(alg)
            }
            Some(alg) if self.common.algorithms.contains(&alg) => {
                Err(self.fail("alg", Algorithm::NotForCertificate(name.into())))
            }
            _ => Err(self.fail("alg", Algorithm::NotInProfile(name.into()))),
        }
    }

    /// Checks the algorithm name alone against the profile's set (before the key is known).
    pub fn alg_name_allowed(&mut self, header: &Header) -> Result<Alg, Rejection<StepError>> {
        let name = header.alg_name().unwrap_or_default();
        match Alg::from_name(name) {
            Some(alg) if self.common.algorithms.contains(&alg) => Ok(alg),
            _ => Err(self.fail("alg", Algorithm::NotInProfile(name.into()))),
        }
    }

    /// Decodes the signature segment (docs/profiles.md#signing-inputs-and-segments) — length is
    /// checked per key by [`Run::crypto`].
    pub fn signature_bytes(
        &mut self,
        s: &str,
        allow_padding: bool,
    ) -> Result<Vec<u8>, Rejection<StepError>> {
        let decoded = if allow_padding {
            b64::decode_url_allow_padding(s)
        } else {
            b64::decode_url(s)
        };
        decoded.map_err(|e| self.fail("signature_encoding", Framing::Encoding(e)))
    }

    /// Verifies `input` with each candidate key in turn (rotation: newest first).
    /// Length mismatches for every key are `sig_malformed`; otherwise a failure is `sig_invalid`.
    pub fn crypto(
        &mut self,
        alg: Alg,
        keys: &[&PublicKey],
        inputs: &[(&'static str, &[u8])],
        sig: &[u8],
    ) -> Result<usize, Rejection<StepError>> {
        let fits = |k: &PublicKey| alg.signature_len(k) == sig.len();
        if !keys.iter().any(|k| fits(k)) {
            let want = keys.first().map(|k| alg.signature_len(k)).unwrap_or(0);
            let (got, alg) = (sig.len(), alg.name());
            return Err(self.fail("signature_length", Framing::Length { got, alg, want }));
        }
        self.trace
            .pass("signature_length", || format!("{} bytes", sig.len()));
        for (what, input) in inputs {
            for (i, key) in keys.iter().enumerate().filter(|(_, k)| fits(k)) {
                match self.backend.verify(alg, key, input, sig) {
                    Ok(()) => {
                        self.trace.pass("signature", || {
                            format!(
                                "{} over {what} verified with key #{i} ({})",
                                alg.name(),
                                self.backend.name()
                            )
                        });
                        return Ok(i);
                    }
                    // r or s outside [1, n-1]: not a signature at all.
                    Err(CryptoError::BadLength) => {
                        return Err(self.fail("signature_length", Framing::ScalarRange))
                    }
                    Err(_) => {}
                }
            }
            self.trace.fail("signature", || {
                format!("{} over {what}: does not verify", alg.name())
            });
        }
        // Each input's failure is traced above.
        Err(Rejection::new(Crypto::DoesNotVerify.into()))
    }

    /// Freshness, then replay: the time field `t_ms` must lie within `past_s` before and
    /// `future_s` after now (each widened by `clock_skew_s`), and the signing input must not have
    /// been accepted before inside the window. Rejections name the partner for the logs.
    pub fn fresh(
        &mut self,
        what: &str,
        t_ms: Option<i64>,
        (past_s, future_s): (i64, i64),
        partner: &Partner,
        input: &[u8],
    ) -> Result<(), Rejection<StepError>> {
        self.window(what, t_ms, past_s, future_s)
            .and_then(|()| self.replay(&partner.id, input, past_s.max(future_s)))
            .map_err(|r| r.with_partner(Some(&partner.id)))
    }

    /// A freshness window around `t_ms` (`window_s` both sides, plus `clock_skew_s`).
    fn window(
        &mut self,
        what: &str,
        t_ms: Option<i64>,
        past_s: i64,
        future_s: i64,
    ) -> Result<(), Rejection<StepError>> {
        let skew = self.common.clock_skew_s;
        let Some(t) = t_ms else {
            return Err(self.fail("freshness", Freshness::TimeMissing(what.into())));
        };
        let now = self.ctx.now_ms;
        let early = now - (past_s + skew) * 1000;
        let late = now + (future_s + skew) * 1000;
        if t < early || t > late {
            let outside = Freshness::Outside {
                what: what.into(),
                offset_s: (t - now) / 1000,
                past_s,
                future_s,
            };
            return Err(self.fail("freshness", outside));
        }
        self.trace
            .pass("freshness", || format!("{what} within the window"));
        Ok(())
    }

    /// Replay protection keyed on partner ‖ SHA-256(signing input), never on signature bytes
    /// (ECDSA signatures are malleable: (r, n−s) verifies too).
    fn replay(
        &mut self,
        partner: &str,
        input: &[u8],
        window_s: i64,
    ) -> Result<(), Rejection<StepError>> {
        if !self.common.replay_cache {
            return Ok(());
        }
        let key = format!("{partner}:{}", hex::encode(crate::registry::sha256(input)));
        let ttl_ms = (window_s + self.common.clock_skew_s).max(1) * 2000;
        let Some(store) = self.replay.as_deref_mut() else {
            return Err(self.fail("replay", Freshness::NoCache));
        };
        match store.check_and_insert(&key, self.ctx.now_ms, ttl_ms) {
            Ok(Seen::First) => {
                self.trace
                    .pass("replay", || "first use inside the window".into());
                Ok(())
            }
            Ok(Seen::Replay) => Err(self.fail("replay", Freshness::Replay)),
            // Recording it would mean forgetting an unexpired entry, which would let that one
            // be replayed: refuse this (new) message instead (503, the partner may retry).
            Ok(Seen::Full) => Err(self.fail("replay", Freshness::CacheFull)),
            Err(e) => Err(self.fail("replay", Freshness::Cache(e.to_string()))),
        }
    }

    /// The peer binding shared by the profiles: the signer must be the authenticated peer.
    pub fn bind_peer(
        &mut self,
        partner: &Partner,
        forwarders: &[String],
    ) -> Result<(), Rejection<StepError>> {
        match self.ctx.peer.as_deref() {
            Some(p) if p == partner.id => {
                self.trace
                    .pass("peer", || format!("signer is the authenticated peer {p}"));
                Ok(())
            }
            Some(p) if forwarders.iter().any(|f| f == p) => {
                self.trace
                    .pass("peer", || format!("peer {p} is a trusted forwarder"));
                Ok(())
            }
            Some(_) => Err(self
                .fail("peer", Binding::NotThePeer)
                .with_partner(Some(&partner.id))),
            None => Err(self
                .fail("peer", Binding::NoPeer)
                .with_partner(Some(&partner.id))),
        }
    }

    /// Rule 12 on a route the policy lets through unverified: an identity the request names
    /// (`what`, e.g. Mojaloop's `FSPIOP-Source`, MOSIP's path Partner-ID) must be the
    /// authenticated peer, unless the peer is one of `forwarders` (as [`Run::bind_peer`]).
    /// With no authenticated peer there is nothing to bind to.
    pub fn bind_named(
        &mut self,
        what: &str,
        named: &str,
        forwarders: &[String],
    ) -> Result<(), Rejection<StepError>> {
        let Some(peer) = self.ctx.peer.as_deref() else {
            return Ok(());
        };
        if peer == named || forwarders.iter().any(|f| f == peer) {
            self.trace
                .pass("peer", || format!("{what} is the peer or its forwarder"));
            return Ok(());
        }
        Err(self
            .fail("peer", Binding::NamedNotThePeer(what.into()))
            .with_partner(Some(peer)))
    }

    /// The partner must be active.
    pub fn active(&mut self, partner: &Partner) -> Result<(), Rejection<StepError>> {
        if !partner.active_at(self.ctx.now_ms) {
            let inactive = Selection::Inactive(Inactive::Partner);
            return Err(self
                .fail("partner_status", inactive)
                .with_partner(Some(&partner.id)));
        }
        self.trace.pass("partner_status", || "active".into());
        Ok(())
    }

    /// Records a failed step and builds its rejection; the reason is the error's.
    pub fn fail(&mut self, check: &'static str, e: impl Into<StepError>) -> Rejection<StepError> {
        let e = e.into();
        self.trace.fail(check, || format!("{}: {e}", e.reason()));
        Rejection::new(e)
    }
}
