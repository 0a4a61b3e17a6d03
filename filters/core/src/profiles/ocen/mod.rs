//! `ocen`: detached JWS with unencoded payload, `H..S` in `x-jws-signature` / `Signature`
//! (docs/profiles.md#ocen).
//!
//! OCEN signers send `b64:false` without `crit` (jose4j); the signing input is then the
//! U-input over the raw body. The key is chosen by the verified token's `participantId`, never
//! by the message (`kid` is ignored).

pub mod registry;
mod settings;

pub use settings::{OcenSign, OcenSignSection, OcenVerify, OcenVerifySection, RegistrySection};

use crate::crypto::CryptoBackend;
use crate::jose::header::{CritB64, HeaderRules};
use crate::jose::jws::{signing_input_encoded, signing_input_unencoded, split_detached};
use crate::json::JsonValue;
use crate::message::{Context, Message};
use crate::profiles::{SignProfile, VerifyProfile};
use crate::reason::{Refusal, Rejection};
use crate::reply::Reply;
use crate::route::Policy;
use crate::sign::{header_bytes, set_all, SignError, SignKey, SignOutcome};
use crate::verify::error::{Binding, Credential, Fetch, Framing, Protected, Selection};
use crate::verify::{Direction, Lookup, Outcome, Run, StepError};

impl VerifyProfile for OcenVerify {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>> {
        verify(run, self)
    }

    fn reply(
        &self,
        refusal: &dyn Refusal,
        msg: &Message,
        ctx: &Context,
        request_id: &str,
        client_side: bool,
    ) -> Reply {
        crate::reply::spring(
            refusal.reason(),
            msg.path_only(),
            ctx.now_ms,
            request_id,
            client_side,
        )
    }

    fn segments(&self, msg: &Message) -> Option<(String, String)> {
        let v = self.signature_headers.iter().find_map(|h| msg.header(h))?;
        split_detached(v).ok().map(|(h, s)| (h.into(), s.into()))
    }
}

impl SignProfile for OcenSign {
    /// `H..S` with `b64: false` over the raw body (docs/profiles.md#ocen); jose4j writes `kid:
    /// null` when unset.
    fn sign(
        &self,
        key: &SignKey,
        msg: &mut Message,
        _now_ms: i64,
        backend: &dyn CryptoBackend,
    ) -> Result<SignOutcome, SignError> {
        if msg.body.is_empty() && self.direction == Direction::Response {
            return Ok(SignOutcome::NotSigned("response without a body"));
        }
        let header = header_bytes(|w| {
            w.string("alg", key.alg.name());
            match &key.kid {
                Some(k) => w.string("kid", k),
                None => w.null("kid"),
            };
            w.bool("b64", false);
            if self.crit_b64 {
                w.string_array("crit", &["b64"]);
            }
        });
        // docs/profiles.md#ocen: a bodyless request signs its path.
        let payload = if msg.body.is_empty() {
            msg.path.clone().into_bytes()
        } else {
            msg.body.clone()
        };
        let sig = key.signature(backend, &signing_input_unencoded(&header, &payload))?;
        set_all(&self.headers, msg, &format!("{header}..{sig}"));
        Ok(SignOutcome::SIGNED)
    }
}

pub fn verify(run: &mut Run<'_>, p: &OcenVerify) -> Result<Outcome, Rejection<StepError>> {
    let response = run.msg.status.is_some();
    let path = run.msg.path_only().to_string();
    // 1. Route policy: skip_paths, then bodyless → if-present, with a body → required.
    let default = if p.skip_paths.contains(&path) {
        Policy::Skip
    } else if run.msg.body.is_empty() {
        Policy::IfPresent
    } else {
        Policy::Required
    };
    let policy = if response {
        default
    } else {
        run.policy(&path, default)
    };
    let values = signature_values(run, p)?;
    match policy {
        Policy::Skip => return Ok(Outcome::Skipped),
        Policy::IfPresent if values.is_none() => {
            run.trace.pass("signature_header", || {
                "absent, if-present: forwarded unsigned".into()
            });
            return Ok(Outcome::Unsigned);
        }
        _ => {}
    }
    // 2. Encoding and size.
    run.body_bounds()?;
    // 3. The caller's identity: the token's participant (requests) or the called participant.
    let participant = if response {
        p.peer_participant_id.clone().unwrap_or_default()
    } else {
        let Some(claims) = run.ctx.token_claims.as_ref() else {
            return Err(run.fail("token", Credential::NoVerifiedToken));
        };
        match claims.get(&p.identity_claim).and_then(|v| v.as_str()) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                return Err(run.fail(
                    "identity",
                    Selection::IdentityMissing(format!(
                        "token claim {} missing or not a string",
                        p.identity_claim
                    )),
                ))
            }
        }
    };
    // 4. Registry key, approval, peer binding.
    let registry = run.registry;
    let source = run.keys;
    // A keyless partner of the shared registry takes its key from the OCEN registry but its
    // status and dates from here: a suspension must not be undone by the remote entry.
    if let Some(listed) = registry.partner(&participant) {
        if listed.keys.is_empty() && p.registry.is_some() {
            run.active(listed)?;
        }
    }
    let partner = match (registry.partner(&participant), &p.registry, source) {
        // Static partners first; the OCEN registry serves the participants not configured, and
        // those the shared registry lists without a key (for TLS and tokens only).
        (Some(partner), _, _) if !partner.keys.is_empty() || p.registry.is_none() => partner,
        (_, Some(_), Some(source)) => match source.lookup(&participant, run.ctx.now_ms) {
            Lookup::Found(partner) => {
                run.trace.pass("registry", || {
                    format!("participant {participant}: OCEN registry entry")
                });
                partner
            }
            Lookup::Negative(why) => {
                let unknown = Selection::NoKey(format!("OCEN registry: {why}"));
                return Err(run.fail("key", unknown).with_partner(Some(&participant)));
            }
            Lookup::FetchNeeded => {
                run.trace.fail("registry", || {
                    format!("participant {participant}: OCEN registry entry not fetched yet")
                });
                return Ok(Outcome::NeedKeys { participant });
            }
            Lookup::Unavailable(why) => {
                return Err(run.fail("registry", Fetch::RegistryDown(why.into())));
            }
        },
        (_, Some(_), None) => return Err(run.fail("registry", Fetch::NoClient)),
        (_, None, _) => {
            return Err(run.fail(
                "key",
                Selection::NoKey("participant not in the registry".into()),
            ))
        }
    };
    if partner.keys.is_empty() || (p.require_approved && !partner.approved) {
        return Err(run
            .fail(
                "key",
                Selection::NoKey("no approved key for the participant".into()),
            )
            .with_partner(Some(&partner.id)));
    }
    run.trace
        .pass("key", || format!("participant {participant}: approved key"));
    run.active(partner)?;
    if !response && run.ctx.peer.is_some() {
        run.bind_peer(partner, &[])?;
    }
    let with_partner = |r: Rejection<StepError>| r.with_partner(Some(&partner.id));
    // 5. Signature header and serialization.
    let Some(value) = values else {
        let absent = Framing::Absent(p.signature_headers.join(" / "));
        return Err(with_partner(run.fail("signature_header", absent)));
    };
    let (h, s) = split_detached(&value).map_err(|e| {
        let problem = e.to_string();
        let serialization = Framing::Serialization {
            expected: "H..S",
            problem,
        };
        with_partner(run.fail("serialization", serialization))
    })?;
    run.trace.pass("serialization", || "detached H..S".into());
    // 6. Header rules: b64 false with or without crit; b64 absent only while allowed.
    let rules = HeaderRules {
        allow_padding: false,
        crit_b64: CritB64::Optional,
    };
    let header = run.header_kid_null(h, &rules, true).map_err(with_partner)?;
    if header.b64() && !p.allow_encoded_payload {
        return Err(with_partner(
            run.fail("protected_header", Protected::EncodedPayload),
        ));
    }
    let (alg, keys) = run.alg(&header, &partner.keys).map_err(with_partner)?;
    // 7. Signature over the U-input (or E-input for b64 absent/true).
    let sig = run.signature_bytes(s, false).map_err(with_partner)?;
    let payload: &[u8] = if run.msg.body.is_empty() && !response {
        run.msg.path.as_bytes() // docs/profiles.md#ocen: a bodyless request signs its path
    } else {
        &run.msg.body
    };
    let (input, what) = if header.b64() {
        (
            signing_input_encoded(h, payload),
            "the E-input (b64 absent)",
        )
    } else {
        (
            signing_input_unencoded(h, payload),
            "the U-input (b64:false)",
        )
    };
    let key_refs: Vec<_> = keys.iter().map(|k| &k.key).collect();
    run.crypto(alg, &key_refs, &[(what, &input)], &sig)
        .map_err(with_partner)?;
    // 8. Originator binding, freshness, replay.
    if p.bind_originator || p.timestamp_window_s > 0 {
        let body = run.body_json().map_err(with_partner)?;
        let metadata = body.get("metadata");
        if p.bind_originator {
            let originator = metadata
                .and_then(|m| m.get("originatorParticipantId"))
                .and_then(JsonValue::as_str);
            if originator != Some(participant.as_str()) {
                let originator = Binding::NotTheSigner("metadata.originatorParticipantId".into());
                return Err(with_partner(run.fail("originator", originator)));
            }
            run.trace.pass("originator", || {
                "metadata.originatorParticipantId matches".into()
            });
        }
        if p.timestamp_window_s > 0 {
            let t = metadata
                .and_then(|m| m.get("timestamp"))
                .and_then(JsonValue::as_str)
                .and_then(crate::time::parse_rfc3339_ms);
            let w = p.timestamp_window_s;
            run.fresh("metadata.timestamp", t, (w, w), partner, &input)?;
        }
    }
    Ok(Outcome::Verified {
        partner: partner.id.clone(),
        alg,
        kid: None,
    })
}

/// The signature from the configured headers; two different values → `sig_malformed`
/// (docs/profiles.md#ocen).
fn signature_values(
    run: &mut Run<'_>,
    p: &OcenVerify,
) -> Result<Option<String>, Rejection<StepError>> {
    let mut found: Option<&str> = None;
    for name in &p.signature_headers {
        for (n, v) in &run.msg.headers {
            if n.eq_ignore_ascii_case(name) {
                match found {
                    Some(f) if f != v => {
                        return Err(run.fail("signature_header", Framing::Conflicting))
                    }
                    _ => found = Some(v),
                }
            }
        }
    }
    Ok(found.map(str::to_string))
}
