//! `spar`: OpenG2P SPAR / G2P Connect detached JWS over the canonical JSON of the body
//! (docs/profiles.md#spar).
//!
//! The signature covers `orjson.dumps(body, OPT_SORT_KEYS)`, not the received bytes; the
//! received bytes are forwarded unchanged. The signer is named in the body and must be the
//! authenticated peer; an `x5c`, when sent, must be the registered certificate.

mod reply;
mod settings;

pub use settings::{Envelope, SparSign, SparSignSection, SparVerify, SparVerifySection};

use crate::crypto::CryptoBackend;
use crate::jose::header::{CritB64, HeaderRules};
use crate::jose::jws::{signing_input_encoded, split_three};
use crate::json::canonical::orjson_canonical;
use crate::json::canonical::{orjson_integers_fit, orjson_sorted};
use crate::json::JsonValue;
use crate::json::{parse_strict, JsonLimits};
use crate::message::{Context, Message};
use crate::profiles::{SignProfile, VerifyProfile};
use crate::reason::{Refusal, Rejection};
use crate::reply::Reply;
use crate::route::Policy;
use crate::sign::{header_bytes, SignError, SignKey, SignOutcome};
use crate::verify::error::{Body, Framing, Selection, X5c};
use crate::verify::{Gate, Outcome, Run, StepError};
use crate::x509::Certificate;

impl VerifyProfile for SparVerify {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection<StepError>> {
        verify(run, self)
    }

    fn reply(
        &self,
        refusal: &dyn Refusal,
        msg: &Message,
        ctx: &Context,
        _request_id: &str,
        client_side: bool,
    ) -> Reply {
        if client_side {
            return crate::reply::generic(refusal.reason(), Some(502));
        }
        reply::reply(self, refusal.reason(), msg, ctx)
    }

    fn segments(&self, msg: &Message) -> Option<(String, String)> {
        split_three(msg.header(&self.signature_header)?)
            .ok()
            .map(|(h, _, s)| (h.into(), s.into()))
    }
}

impl SignProfile for SparSign {
    /// `H..S` over the body's canonical JSON (orjson, sorted keys; docs/profiles.md#spar).
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
        let value = parse_strict(
            &msg.body,
            JsonLimits {
                max_depth: 64,
                max_members: None,
                max_elements: Some(JsonLimits::DEFAULT_MAX_ELEMENTS),
            },
        )
        .map_err(|e| {
            SignError(format!(
                "spar signs canonical JSON; the body is not JSON: {e}"
            ))
        })?;
        // An integer beyond 64 bits has no orjson form: the platform could never verify it.
        let canonical = orjson_canonical(&msg.body, &value).map_err(|e| {
            SignError(format!(
                "spar signs canonical JSON; the body has no orjson form: {e}"
            ))
        })?;
        let header = header_bytes(|w| {
            w.string("alg", key.alg.name());
        });
        let sig = key.signature(backend, &signing_input_encoded(&header, &canonical))?;
        msg.set_header(&self.header, &format!("{header}..{sig}"));
        Ok(SignOutcome::SIGNED)
    }
}

/// The body's sender id (docs/profiles.md#spar): 2.x `request_header.sender_app_mnemonic`, else 1.x
/// `header.sender_id`.
pub fn sender(body: &JsonValue) -> Option<&str> {
    let s = match body.get("request_header") {
        Some(h) => h.get("sender_app_mnemonic"),
        None => body.get("header").and_then(|h| h.get("sender_id")),
    };
    s.and_then(JsonValue::as_str).filter(|s| !s.is_empty())
}

/// The body's request timestamp (docs/profiles.md#spar).
fn timestamp(body: &JsonValue) -> Option<&str> {
    match body.get("request_header") {
        Some(h) => h.get("request_timestamp"),
        None => body.get("header").and_then(|h| h.get("message_ts")),
    }
    .and_then(JsonValue::as_str)
}

pub fn verify(run: &mut Run<'_>, p: &SparVerify) -> Result<Outcome, Rejection<StepError>> {
    // docs/profiles.md#spar, failing closed: only the safe methods, spelled exactly, are skipped;
    // `post` or an unknown method is `required` like POST.
    let default = if matches!(run.msg.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        Policy::Skip
    } else {
        Policy::Required
    };
    // 1–3: route policy, body, the signature header.
    let value = match run.open(Some(default), &p.signature_header)? {
        Gate::Pass(outcome) => return Ok(outcome),
        Gate::Verify(v) => v,
    };
    let (h, _ignored, s) = split_three(&value).map_err(|e| {
        let problem = e.to_string();
        run.fail(
            "serialization",
            Framing::Serialization {
                expected: "H.X.S",
                problem,
            },
        )
    })?;
    let header = run.header(
        h,
        &HeaderRules {
            allow_padding: false,
            crit_b64: CritB64::Reject,
        },
    )?;
    // 4. Body and sender.
    let body = run.body_json()?;
    // What orjson cannot write as received (an integer beyond 64 bits) has no canonical form:
    // refused before the key is looked up (docs/profiles.md#spar).
    if let Err(e) = orjson_integers_fit(&run.msg.body, &body) {
        return Err(run.fail("body_json", Body::Json(e.to_string())));
    }
    let Some(sender) = sender(&body).map(str::to_string) else {
        return Err(run.fail(
            "identity",
            Selection::IdentityMissing(
                "no request_header.sender_app_mnemonic / header.sender_id".into(),
            ),
        ));
    };
    // 5. Key, certificate dates, peer, x5c.
    let registry = run.registry;
    let Some(partner) = registry.by_sender(&sender) else {
        return Err(run.fail("key", Selection::NoKey("sender not registered".into())));
    };
    if partner.keys.is_empty() {
        return Err(run
            .fail("key", Selection::NoKey("sender has no key".into()))
            .with_partner(Some(&partner.id)));
    }
    run.trace.pass("key", || {
        format!("sender {sender}: {} key(s)", partner.keys.len())
    });
    let with_partner = |r: Rejection<StepError>| r.with_partner(Some(&partner.id));
    let now = run.ctx.now_s();
    if partner
        .keys
        .iter()
        .filter_map(|k| k.certificate.as_ref())
        .any(|c| !c.in_validity(now))
    {
        return Err(with_partner(run.fail(
            "certificate",
            X5c::Invalid("registered certificate outside its validity period".into()),
        )));
    }
    run.active(partner)?;
    if p.bind_sender_to_peer {
        run.bind_peer(partner, &[])?;
    }
    if let Some(x5c) = header.x5c() {
        let registered = partner.certificate_sha256.clone().or_else(|| {
            partner
                .keys
                .iter()
                .find_map(|k| k.certificate.as_ref().map(Certificate::sha256_hex_upper))
        });
        let sent = x5c
            .first()
            .and_then(|c| crate::b64::decode_std(c).ok())
            .and_then(|der| Certificate::from_der(der).ok())
            .map(|c| c.sha256_hex_upper());
        if sent.is_none() || sent != registered {
            return Err(with_partner(run.fail(
                "x5c",
                X5c::NotRegistered("x5c[0] is not the registered certificate".into()),
            )));
        }
        run.trace
            .pass("x5c", || "x5c[0] is the registered certificate".into());
    }
    // 6. Algorithm, signature over the canonical body.
    let (alg, keys) = run.alg(&header, &partner.keys).map_err(with_partner)?;
    let sig = run.signature_bytes(s, false).map_err(with_partner)?;
    let canonical = orjson_sorted(&body);
    let input = signing_input_encoded(h, &canonical);
    let key_refs: Vec<_> = keys.iter().map(|k| &k.key).collect();
    let used = run
        .crypto(
            alg,
            &key_refs,
            &[("the canonical JSON of the body", &input)],
            &sig,
        )
        .map_err(with_partner)?;
    // 7. Freshness and replay.
    if p.timestamp_window_s > 0 {
        let t = timestamp(&body).and_then(crate::time::parse_rfc3339_ms);
        let w = p.timestamp_window_s;
        run.fresh("request timestamp", t, (w, w), partner, &input)?;
    }
    Ok(Outcome::Verified {
        partner: partner.id.clone(),
        alg,
        kid: keys.get(used).and_then(|k| k.kid.clone()),
    })
}
