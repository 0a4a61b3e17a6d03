//! `mojaloop`: the FSPIOP `FSPIOP-Signature` header (docs/profiles.md#mojaloop).
//!
//! The header value is JSON `{"protectedHeader":H,"signature":S}`; the signing input is the
//! ordinary E-input over the raw body; the key is that of the FSP named by `FSPIOP-Source`, and
//! the protected `FSPIOP-*` members must equal the HTTP headers they claim to describe.

mod reply;
mod settings;
mod sign;

pub use reply::reply;
pub use settings::{
    BodyForm, MojaloopSign, MojaloopSignSection, MojaloopVerify, MojaloopVerifySection,
    PayloadMode, SourceBinding,
};

use crate::crypto::CryptoBackend;
use crate::jose::header::{CritB64, Header, HeaderRules};
use crate::jose::jws::signing_input_encoded;
use crate::json::canonical::{ecmascript, KeyOrder};
use crate::json::{parse_strict, JsonError, JsonLimits, JsonValue};
use crate::message::{Context, Message};
use crate::profiles::{SignProfile, VerifyProfile};
use crate::reason::{Reason, Refusal, Rejection};
use crate::reply::Reply;
use crate::route::{first_match, Policy, Rule};
use crate::sign::{SignError, SignKey, SignOutcome};
use crate::verify::error::{Algorithm, Binding, Body, Framing, Protected, Selection};
use crate::verify::{Outcome, Run, StepError};
use std::sync::OnceLock;

impl VerifyProfile for MojaloopVerify {
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
        if client_side {
            return crate::reply::generic(refusal.reason(), Some(502));
        }
        reply(refusal.reason())
    }

    fn segments(&self, msg: &Message) -> Option<(String, String)> {
        parse_envelope(msg.header(&self.signature_header)?).ok()
    }
}

impl SignProfile for MojaloopSign {
    fn sign(
        &self,
        key: &SignKey,
        msg: &mut Message,
        now_ms: i64,
        backend: &dyn CryptoBackend,
    ) -> Result<SignOutcome, SignError> {
        sign::sign(self, key, msg, now_ms, backend)
    }

    fn reply(reason: Reason) -> Reply {
        reply(reason)
    }
}

/// Longest `FSPIOP-Signature` value accepted (docs/profiles.md#mojaloop).
const MAX_VALUE: usize = 65_536;
/// Longest protected header (docs/profiles.md#protected-header).
const MAX_PROTECTED: usize = 32_768;
/// Longest encoded signature (docs/profiles.md#mojaloop).
const MAX_SIGNATURE: usize = 512;

/// JOSE member names that are never compared with HTTP headers (docs/profiles.md#mojaloop).
const JOSE_NAMES: [&str; 12] = [
    "alg", "kid", "typ", "cty", "crit", "b64", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256",
];

/// Protected members whose HTTP header must be present (docs/profiles.md#mojaloop).
const SPECIAL_MEMBERS: [&str; 5] = [
    "fspiop-uri",
    "fspiop-http-method",
    "fspiop-source",
    "fspiop-destination",
    "date",
];

/// The default route policy (docs/profiles.md#mojaloop). Methods match exactly: `get`, `Put` or an
/// unknown method fall through to `required`.
fn default_policy(method: &str, path: &str) -> Policy {
    // Built once, not per request. `/parties` and below, segment-wise: `/partiesX` is not a
    // party resource. A glob that failed to parse would only drop the rule, leaving `required`.
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            Some(Rule::prefix(
                &["GET", "HEAD", "DELETE", "OPTIONS"],
                "/",
                Policy::Skip,
            )),
            Rule::glob(&["PUT"], "/parties/**", Policy::IfPresent).ok(),
        ]
        .into_iter()
        .flatten()
        .collect()
    });
    first_match(rules, method, path).unwrap_or(Policy::Required)
}

/// The path after `uri_strip_prefix`.
pub fn stripped_path<'a>(path: &'a str, prefix: &str) -> &'a str {
    if prefix.is_empty() {
        return path;
    }
    match path.strip_prefix(prefix) {
        Some(rest) if rest.starts_with('/') || rest.is_empty() => rest,
        _ => path,
    }
}

pub fn verify(run: &mut Run<'_>, p: &MojaloopVerify) -> Result<Outcome, Rejection<StepError>> {
    // The message outlives the run's borrows: what is read from it is not copied.
    let msg = run.msg;
    let path = stripped_path(&msg.path, &p.uri_strip_prefix);
    let policy = run.policy(path, default_policy(&msg.method, path));
    let present = run.msg.header(&p.signature_header).is_some();
    match policy {
        Policy::Skip => {
            unverified_source(run, p, false)?;
            return Ok(Outcome::Skipped);
        }
        Policy::IfPresent if !present => {
            let carries_body = !run.msg.body.is_empty();
            unverified_source(run, p, carries_body)?;
            run.trace.pass("signature_header", || {
                "absent, if-present: forwarded unsigned".into()
            });
            return Ok(Outcome::Unsigned);
        }
        _ => {}
    }
    // A header sent twice (or also as `fspiop_source`…) could be read one way here and another
    // way upstream.
    for name in [
        p.signature_header.as_str(),
        "fspiop-source",
        "fspiop-destination",
        "fspiop-uri",
        "fspiop-http-method",
        "date",
    ] {
        if run.msg.header_repeated(name) {
            let e: StepError = if name == p.signature_header {
                Framing::Repeated(name.into()).into()
            } else {
                Binding::Repeated(name.into()).into()
            };
            return Err(run.fail("headers", e));
        }
    }
    run.body_bounds()?;
    if run.msg.body.is_empty() {
        return Err(run.fail("body", Body::Missing));
    }
    // 4–6: the signer, its key, and whether the peer may send as it.
    let source = match msg.header("fspiop-source") {
        Some(s) if !s.is_empty() => s,
        _ => {
            return Err(run.fail(
                "identity",
                Selection::IdentityMissing("FSPIOP-Source absent or empty".into()),
            ))
        }
    };
    let registry = run.registry;
    let Some(partner) = registry.partner(source) else {
        return Err(run.fail(
            "key",
            Selection::NoKey("no registered key for FSPIOP-Source".into()),
        ));
    };
    if partner.keys.is_empty() {
        return Err(run
            .fail("key", Selection::NoKey("partner has no key".into()))
            .with_partner(Some(&partner.id)));
    }
    run.trace.pass("key", || {
        format!("FSPIOP-Source {source}: {} key(s)", partner.keys.len())
    });
    run.active(partner)?;
    if p.source_binding == SourceBinding::Peer {
        run.bind_peer(partner, &p.trusted_forwarders)?;
    }
    // 7–8: the headers the signature needs, and the JSON envelope.
    let needed = [
        "fspiop-uri",
        "fspiop-http-method",
        p.signature_header.as_str(),
    ];
    if needed.iter().any(|h| msg.header(h).is_none()) {
        let missing = needed
            .into_iter()
            .filter(|h| msg.header(h).is_none())
            .map(str::to_string)
            .collect();
        return Err(run
            .fail("signature_header", Framing::Missing(missing))
            .with_partner(Some(&partner.id)));
    }
    let value = msg.header(&p.signature_header).unwrap_or_default();
    let (h, s) = parse_envelope(value).map_err(|problem| {
        let envelope = Framing::Serialization {
            expected: "the JSON envelope",
            problem,
        };
        run.fail("signature_header", envelope)
            .with_partner(Some(&partner.id))
    })?;
    run.trace.pass("signature_header", || {
        "FSPIOP-Signature JSON envelope".into()
    });
    // 9–10: header, algorithm, signature bytes.
    let rules = HeaderRules {
        allow_padding: false,
        crit_b64: CritB64::Reject,
    };
    let header = run
        .header(&h, &rules)
        .map_err(|r| r.with_partner(Some(&partner.id)))?;
    mandatory_members(run, &header).map_err(|r| r.with_partner(Some(&partner.id)))?;
    let (alg, keys) = run
        .alg(&header, &partner.keys)
        .map_err(|r| r.with_partner(Some(&partner.id)))?;
    let sig = run
        .signature_bytes(&s, false)
        .map_err(|r| r.with_partner(Some(&partner.id)))?;
    // 11–12: bindings.
    bindings(run, &header).map_err(|r| r.with_partner(Some(&partner.id)))?;
    if p.check_request_line {
        request_line(run, &header, path).map_err(|r| r.with_partner(Some(&partner.id)))?;
    }
    // 13: crypto over the raw body, then the opt-in re-serializations.
    let raw = signing_input_encoded(&h, &run.msg.body);
    let fallback = match p.payload_mode {
        PayloadMode::Raw => None,
        PayloadMode::RawThenCompact => {
            reserialized(run, KeyOrder::Insertion).map_err(|r| r.with_partner(Some(&partner.id)))?
        }
        PayloadMode::RawThenSorted => reserialized(run, KeyOrder::SortedUtf16)
            .map_err(|r| r.with_partner(Some(&partner.id)))?,
    };
    let fallback_input = fallback.map(|body| signing_input_encoded(&h, &body));
    let raw_input = ("the raw body", raw.as_slice());
    let both;
    let inputs: &[(&'static str, &[u8])] = match &fallback_input {
        None => std::slice::from_ref(&raw_input),
        Some(f) => {
            both = [raw_input, ("the re-serialized body (payload_mode)", f)];
            &both
        }
    };
    let key_refs: Vec<_> = keys.iter().map(|k| &k.key).collect();
    let used = run
        .crypto(alg, &key_refs, inputs, &sig)
        .map_err(|r| r.with_partner(Some(&partner.id)))?;
    // 14: freshness and replay.
    if p.date_window_s > 0 {
        let date = header
            .member("Date")
            .and_then(JsonValue::as_str)
            .and_then(crate::time::parse_imf_fixdate);
        let w = p.date_window_s;
        run.fresh(
            "protected Date",
            date.map(|s| s * 1000),
            (w, w),
            partner,
            &raw,
        )?;
    }
    Ok(Outcome::Verified {
        partner: partner.id.clone(),
        alg,
        kid: keys.get(used).and_then(|k| k.kid.clone()),
    })
}

/// Rule 12 on a route that is not verified (`skip`, unsigned `if-present`): `FSPIOP-Source` is
/// still one header naming the authenticated peer (docs/profiles.md#mojaloop) — else peer A could
/// send `DELETE /participants/…` as B. Absent or empty names nobody, which is refused only for an
/// unsigned message with a body (`carries_body`): a signer downstream (the hub's outbound) signs a
/// message that names no source as its own, so peer A's unsigned `PUT /parties` would reach the
/// payer as the hub's. A verified route binds later, in the order of its checks.
fn unverified_source(
    run: &mut Run<'_>,
    p: &MojaloopVerify,
    carries_body: bool,
) -> Result<(), Rejection<StepError>> {
    if run.msg.header_repeated("fspiop-source") {
        return Err(run.fail("headers", Binding::Repeated("fspiop-source".into())));
    }
    if p.source_binding != SourceBinding::Peer {
        return Ok(());
    }
    let msg = run.msg;
    match msg.header("fspiop-source") {
        Some(source) if !source.is_empty() => {
            run.bind_named("FSPIOP-Source", source, &p.trusted_forwarders)
        }
        _ if carries_body => Err(run.fail(
            "identity",
            Selection::IdentityMissing("unsigned body without FSPIOP-Source".into()),
        )),
        _ => Ok(()),
    }
}

/// Parses the `FSPIOP-Signature` JSON (docs/profiles.md#mojaloop): `(protectedHeader, signature)`.
pub fn parse_envelope(value: &str) -> Result<(String, String), String> {
    if value.len() > MAX_VALUE {
        return Err(format!(
            "FSPIOP-Signature is {} bytes, over {MAX_VALUE}",
            value.len()
        ));
    }
    let v = parse_strict(
        value.as_bytes(),
        JsonLimits {
            max_depth: 4,
            max_members: Some(64),
            max_elements: Some(256),
        },
    )
    .map_err(|e| format!("FSPIOP-Signature is not strict JSON: {e}"))?;
    let JsonValue::Object(mut members) = v else {
        return Err("FSPIOP-Signature is not a JSON object".into());
    };
    // Names are unique (strict parsing): each member is taken out, not copied.
    let mut member = |name: &str, max: usize| -> Result<String, String> {
        let at = members.iter().position(|(n, _)| n == name);
        match at.map(|i| members.swap_remove(i).1) {
            // No more characters than bytes: only a long string needs counting.
            Some(JsonValue::String(s))
                if !s.is_empty() && (s.len() <= max || s.chars().count() <= max) =>
            {
                Ok(s)
            }
            Some(JsonValue::String(_)) => Err(format!("{name}: length outside 1..{max}")),
            Some(_) => Err(format!("{name}: not a string")),
            None => Err(format!("{name}: missing")),
        }
    };
    let protected = member("protectedHeader", MAX_PROTECTED)?;
    Ok((protected, member("signature", MAX_SIGNATURE)?))
}

/// Mandatory members present and strings (docs/profiles.md#mojaloop): missing → `header_malformed`.
fn mandatory_members(run: &mut Run<'_>, header: &Header) -> Result<(), Rejection<StepError>> {
    let destination = run
        .msg
        .header("fspiop-destination")
        .is_some_and(|d| !d.is_empty());
    let required = ["FSPIOP-URI", "FSPIOP-HTTP-Method", "FSPIOP-Source"]
        .into_iter()
        .chain(destination.then_some("FSPIOP-Destination"));
    for name in required {
        match header.member(name) {
            Some(JsonValue::String(_)) => {}
            Some(_) => {
                return Err(run.fail("protected_header", Protected::MemberNotString(name.into())))
            }
            None => return Err(run.fail("protected_header", Protected::MemberMissing(name.into()))),
        }
    }
    if header.alg_name().is_none() {
        return Err(run.fail("alg", Algorithm::Missing));
    }
    Ok(())
}

/// Every protected member that names a received HTTP header must equal it
/// (docs/profiles.md#mojaloop).
fn bindings(run: &mut Run<'_>, header: &Header) -> Result<(), Rejection<StepError>> {
    for (name, value) in header.members() {
        if JOSE_NAMES.contains(&name.as_str()) {
            continue;
        }
        let http = run.msg.header(name);
        let special = SPECIAL_MEMBERS.iter().any(|s| name.eq_ignore_ascii_case(s));
        match (http, value) {
            (Some(h), JsonValue::String(p)) if h == p => {}
            (Some(_), _) => return Err(run.fail("binding", Binding::Differs(name.clone()))),
            (None, _) if special => {
                // A protected Date / Destination demands the header (docs/profiles.md#mojaloop).
                return Err(run.fail("binding", Binding::HeaderAbsent(name.clone())));
            }
            (None, _) => {}
        }
    }
    if let Some(dest) = run.msg.header("fspiop-destination") {
        if dest.is_empty() && header.member("FSPIOP-Destination").is_some() {
            let empty = Binding::HeaderEmpty("FSPIOP-Destination".into());
            return Err(run.fail("binding", empty));
        }
    }
    // Every member with a header got here equal to it: listed only when tracing.
    let msg = run.msg;
    run.trace.pass("binding", || {
        let checked: Vec<&String> = header
            .members()
            .iter()
            .map(|(n, _)| n)
            .filter(|n| !JOSE_NAMES.contains(&n.as_str()) && msg.header(n).is_some())
            .collect();
        format!("protected members equal their headers: {checked:?}")
    });
    Ok(())
}

/// `check_request_line` (docs/profiles.md#mojaloop).
fn request_line(
    run: &mut Run<'_>,
    header: &Header,
    path: &str,
) -> Result<(), Rejection<StepError>> {
    let method = header
        .member("FSPIOP-HTTP-Method")
        .and_then(JsonValue::as_str)
        .unwrap_or_default();
    let uri = header
        .member("FSPIOP-URI")
        .and_then(JsonValue::as_str)
        .unwrap_or_default();
    // Equal, not a suffix: `/authorizations/{ID}` signed for the FSPIOP API must not run as
    // `/thirdpartyRequests/authorizations/{ID}`, and an empty URI would fit every path. A hub
    // mount point is what `uri_strip_prefix` removes.
    if run.msg.method != method || path != uri {
        let line = Binding::RequestLine {
            method: run.msg.method.clone(),
            path: path.into(),
        };
        return Err(run.fail("request_line", line));
    }
    run.trace
        .pass("request_line", || "method and path match".into());
    Ok(())
}

/// The body as the SDK re-serializes it, or `None` when it is not strict JSON (only the raw
/// body is then tried). A body over `max_json_elements` is refused (`body_malformed`): its tree
/// is not built before the signature is known to be good.
fn reserialized(
    run: &mut Run<'_>,
    order: KeyOrder,
) -> Result<Option<Vec<u8>>, Rejection<StepError>> {
    let limits = JsonLimits {
        max_depth: run.common.max_json_depth,
        max_members: None,
        max_elements: Some(run.common.max_json_elements),
    };
    match parse_strict(&run.msg.body, limits) {
        Ok(v) => Ok(Some(ecmascript(&v, order))),
        Err(e @ JsonError::TooManyElements) => {
            let max = run.common.max_json_elements;
            let e = Body::Json(format!("{e} (over max_json_elements {max})"));
            Err(run.fail("body_json", e))
        }
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_member_order_is_free_and_duplicates_fail() {
        assert!(parse_envelope(r#"{"signature":"abc","protectedHeader":"eyJ"}"#).is_ok());
        assert!(parse_envelope(r#"{ "protectedHeader" : "eyJ" , "signature" : "abc" }"#).is_ok());
        assert!(
            parse_envelope(r#"{"protectedHeader":"eyJ","signature":"a","signature":"b"}"#).is_err()
        );
        assert!(parse_envelope(r#"{"protectedHeader":"eyJ"}"#).is_err());
        assert!(parse_envelope(r#"{"protectedHeader":"","signature":"a"}"#).is_err());
        assert!(parse_envelope(r#"["eyJ","a"]"#).is_err());
        assert!(parse_envelope(&format!(
            r#"{{"protectedHeader":"eyJ","signature":"{}"}}"#,
            "a".repeat(513)
        ))
        .is_err());
    }

    #[test]
    fn default_policy_follows_the_spec() {
        assert_eq!(default_policy("GET", "/parties/MSISDN/1"), Policy::Skip);
        assert_eq!(default_policy("DELETE", "/x"), Policy::Skip);
        assert_eq!(
            default_policy("PUT", "/parties/MSISDN/1"),
            Policy::IfPresent
        );
        assert_eq!(default_policy("PUT", "/parties"), Policy::IfPresent);
        assert_eq!(default_policy("PUT", "/parties/"), Policy::IfPresent);
        assert_eq!(default_policy("PUT", "/partiesX/1"), Policy::Required);
        assert_eq!(default_policy("PUT", "/transfers/1"), Policy::Required);
        assert_eq!(default_policy("POST", "/quotes"), Policy::Required);
        assert_eq!(default_policy("PATCH", "/transfers/1"), Policy::Required);
        for m in ["get", "delete", "Delete", "put", "FOO"] {
            assert_eq!(
                default_policy(m, "/parties/MSISDN/1"),
                Policy::Required,
                "{m}"
            );
        }
    }

    #[test]
    fn strip_prefix_only_on_a_segment_boundary() {
        assert_eq!(
            stripped_path("/mojaloop/transfers", "/mojaloop"),
            "/transfers"
        );
        assert_eq!(
            stripped_path("/mojaloopx/transfers", "/mojaloop"),
            "/mojaloopx/transfers"
        );
        assert_eq!(stripped_path("/transfers", ""), "/transfers");
    }
}
