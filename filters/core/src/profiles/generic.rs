//! `generic`: strict RFC 7515 detached JWS (Appendix F) and RFC 7797, for partners without a
//! platform format (profiles.md §7).
//!
//! The key belongs to the authenticated peer; `kid` only chooses among that peer's keys.

use crate::config::Generic;
use crate::jose::header::{CritB64, HeaderRules};
use crate::jose::jws::{signing_input_encoded, signing_input_unencoded, split_detached};
use crate::json::JsonValue;
use crate::reason::Reason;
use crate::registry::RegisteredKey;
use crate::route::Policy;
use crate::verify::{Gate, Outcome, Rejection, Run};

pub fn verify(run: &mut Run<'_>, p: &Generic) -> Result<Outcome, Rejection> {
    // §7.8, failing closed: only the bodyless methods, spelled exactly, are skipped; `post`
    // or an unknown method is `required` like POST.
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
        run.reject(
            "serialization",
            Reason::SigMalformed,
            format!("expected H..S: {e}"),
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
        return Err(run.reject(
            "identity",
            Reason::IdentityMissing,
            "no authenticated peer".into(),
        ));
    };
    let cfg = run.cfg;
    let Some(partner) = cfg.registry.partner(&peer) else {
        return Err(run.reject("key", Reason::KeyUnknown, "peer not in the registry".into()));
    };
    let with_partner = |r: Rejection| r.partner(Some(&partner.id));
    let candidates: Vec<RegisteredKey> = match header.kid() {
        Some(kid) => partner
            .keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .cloned()
            .collect(),
        None if p.require_kid => {
            return Err(with_partner(run.reject(
                "key",
                Reason::KeyUnknown,
                "kid required".into(),
            )))
        }
        None if partner.keys.len() == 1 => partner.keys.clone(),
        None => {
            return Err(with_partner(run.reject(
                "key",
                Reason::KeyUnknown,
                "several keys and no kid".into(),
            )))
        }
    };
    if candidates.is_empty() {
        return Err(with_partner(run.reject(
            "key",
            Reason::KeyUnknown,
            "no key with that kid".into(),
        )));
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
