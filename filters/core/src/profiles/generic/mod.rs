//! `generic`: strict RFC 7515 detached JWS (Appendix F) and RFC 7797, for partners without a
//! platform format (docs/profiles.md#generic).
//!
//! The key belongs to the authenticated peer; `kid` only chooses among that peer's keys.

mod settings;

pub use settings::{GenericSign, GenericSignSection, GenericVerify, GenericVerifySection};

use crate::crypto::CryptoBackend;
use crate::jose::header::{CritB64, HeaderRules};
use crate::jose::jws::{signing_input_encoded, signing_input_unencoded, split_detached};
use crate::json::JsonValue;
use crate::message::{Context, Message};
use crate::profiles::{SignProfile, VerifyProfile};
use crate::reason::{Refusal, Rejection};
use crate::registry::RegisteredKey;
use crate::reply::Reply;
use crate::route::Policy;
use crate::sign::{header_bytes, SignError, SignKey, SignOutcome};
use crate::verify::error::{Framing, Selection};
use crate::verify::{Gate, Outcome, Run, StepError};

impl VerifyProfile for GenericVerify {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>> {
        verify(run, self)
    }

    fn reply(
        &self,
        refusal: &dyn Refusal,
        _msg: &Message,
        _ctx: &Context,
        _request_id: &str,
        client_side: bool,
    ) -> Reply {
        crate::reply::generic(refusal.reason(), client_side.then_some(502))
    }

    fn segments(&self, msg: &Message) -> Option<(String, String)> {
        split_detached(msg.header(&self.signature_header)?)
            .ok()
            .map(|(h, s)| (h.into(), s.into()))
    }
}

impl SignProfile for GenericSign {
    /// `H..S` over the body, RFC 7797 unencoded when configured (docs/profiles.md#generic).
    fn sign(
        &self,
        key: &SignKey,
        msg: &mut Message,
        _now_ms: i64,
        backend: &dyn CryptoBackend,
    ) -> Result<SignOutcome, SignError> {
        if msg.body.is_empty() {
            return Ok(SignOutcome::NotSigned("no body"));
        }
        let header = header_bytes(|w| {
            w.string("alg", key.alg.name());
            if let Some(k) = &key.kid {
                w.string("kid", k);
            }
            if self.unencoded {
                w.bool("b64", false);
                w.string_array("crit", &["b64"]);
            }
        });
        let input = if self.unencoded {
            signing_input_unencoded(&header, &msg.body)
        } else {
            signing_input_encoded(&header, &msg.body)
        };
        let sig = key.signature(backend, &input)?;
        msg.set_header(&self.header, &format!("{header}..{sig}"));
        Ok(SignOutcome::SIGNED)
    }
}

pub fn verify(run: &mut Run<'_>, p: &GenericVerify) -> Result<Outcome, Rejection<StepError>> {
    // docs/profiles.md#generic, failing closed: only the bodyless methods, spelled exactly, are
    // skipped; `post` or an unknown method is `required` like POST.
    let default = match run.msg.method.as_str() {
        _ if run.msg.status.is_some() => None,
        "GET" | "HEAD" | "OPTIONS" | "DELETE" => Some(Policy::Skip),
        _ => Some(Policy::Required),
    };
    let value = match run.open(default, &p.signature_header)? {
        Gate::Pass(outcome) => return Ok(outcome),
        Gate::Verify(v) => v,
    };
    let (h, s) = split_detached(&value).map_err(|e| {
        let problem = e.to_string();
        run.fail(
            "serialization",
            Framing::Serialization {
                expected: "H..S",
                problem,
            },
        )
    })?;
    let header = run.header(
        h,
        &HeaderRules {
            allow_padding: false,
            crit_b64: CritB64::RequireCrit,
        },
    )?;
    // The peer's keys, then `kid`.
    let Some(peer) = run.ctx.peer.clone() else {
        return Err(run.fail(
            "identity",
            Selection::IdentityMissing("no authenticated peer".into()),
        ));
    };
    let registry = run.registry;
    let Some(partner) = registry.partner(&peer) else {
        return Err(run.fail("key", Selection::NoKey("peer not in the registry".into())));
    };
    let with_partner = |r: Rejection<StepError>| r.with_partner(Some(&partner.id));
    let candidates: Vec<RegisteredKey> = match header.kid() {
        Some(kid) => partner
            .keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .cloned()
            .collect(),
        None if p.require_kid => {
            return Err(with_partner(
                run.fail("key", Selection::NoKey("kid required".into())),
            ))
        }
        None if partner.keys.len() == 1 => partner.keys.clone(),
        None => {
            return Err(with_partner(
                run.fail("key", Selection::NoKey("several keys and no kid".into())),
            ))
        }
    };
    if candidates.is_empty() {
        return Err(with_partner(
            run.fail("key", Selection::NoKey("no key with that kid".into())),
        ));
    }
    run.trace
        .pass("key", || format!("peer {peer}, kid {:?}", header.kid()));
    run.active(partner)?;
    let (alg, keys) = run.alg(&header, &candidates).map_err(with_partner)?;
    let sig = run.signature_bytes(s, false).map_err(with_partner)?;
    let (input, what) = if header.b64() {
        (signing_input_encoded(h, &run.msg.body), "the E-input")
    } else {
        (
            signing_input_unencoded(h, &run.msg.body),
            "the U-input (b64:false)",
        )
    };
    let key_refs: Vec<_> = keys.iter().map(|k| &k.key).collect();
    let used = run
        .crypto(alg, &key_refs, &[(what, &input)], &sig)
        .map_err(with_partner)?;
    if p.iat_window_s > 0 {
        let iat = header
            .member("iat")
            .and_then(JsonValue::as_i64)
            .map(|s| s.saturating_mul(1000));
        let w = p.iat_window_s;
        run.fresh("iat", iat, (w, w), partner, &input)?;
    }
    Ok(Outcome::Verified {
        partner: partner.id.clone(),
        alg,
        kid: keys.get(used).and_then(|k| k.kid.clone()),
    })
}
