//! `mosip`: IDA partner requests signed with the partner's certificate in `x5c`
//! (docs/profiles.md#mosip), and IDA's `response-signature` on the partner's egress.
//!
//! The `x5c[0]` key verifies the signature, but only a certificate that chains to the partner
//! domain's CA, is in date and is pinned to the partner (or its MISP) in the registry is
//! accepted — an `x5c` never chooses the key by itself.

mod reply;
mod settings;

pub use settings::{MosipSign, MosipSignSection, MosipVerify, MosipVerifySection, OnOff};

use crate::b64;
use crate::crypto::CryptoBackend;
use crate::jose::header::{CritB64, Header, HeaderRules};
use crate::jose::jws::{signing_input_encoded, split_three};
use crate::json::JsonValue;
use crate::message::{Context, Message};
use crate::path::{ida_triple, IdaTriple};
use crate::profiles::{SignProfile, VerifyProfile};
use crate::reason::{Refusal, Rejection};
use crate::registry::{InDate, Partner, Status};
use crate::reply::Reply;
use crate::route::Policy;
use crate::sign::{header_bytes, SignError, SignKey, SignOutcome};
use crate::verify::error::{Credential, Framing, Protected, Selection, X5c};
use crate::verify::{Direction, Gate, Inactive, Outcome, Run, StepError};
use crate::x509::{validate_chain, Certificate};

impl VerifyProfile for MosipVerify {
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
        reply::reply(self, refusal, msg, ctx, client_side)
    }

    fn segments(&self, msg: &Message) -> Option<(String, String)> {
        split_three(msg.header(&self.signature_header)?)
            .ok()
            .map(|(h, _, s)| (h.into(), s.into()))
    }
}

impl SignProfile for MosipSign {
    /// `H..S` over the body with the certificate in `x5c` (docs/profiles.md#mosip).
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
        let cert = &self.certificate;
        let header = header_bytes(|w| {
            w.string("alg", key.alg.name());
            w.string_array("x5c", &[b64::encode_std(cert.der())]);
            w.string("x5t#S256", &cert.x5t_s256());
            if let Some(k) = &key.kid {
                w.string("kid", k);
            }
        });
        let sig = key.signature(backend, &signing_input_encoded(&header, &msg.body))?;
        msg.set_header(&self.header, &format!("{header}..{sig}"));
        Ok(SignOutcome::SIGNED)
    }
}

/// Methods that never carry a partner request: the only ones the default policy skips.
const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

/// Default route policy (docs/profiles.md#mosip): IDA's partner APIs need a signature on every
/// method but the safe ones — matched exactly, so `post` or an unknown method is `required`, never
/// `skip`.
fn default_policy(method: &str, path: &str) -> Policy {
    let partner_api = path.starts_with("/idauthentication/v1/")
        && !path.starts_with("/idauthentication/v1/internal/");
    if partner_api && !SAFE_METHODS.contains(&method) {
        Policy::Required
    } else {
        Policy::Skip
    }
}

pub fn verify(run: &mut Run<'_>, p: &MosipVerify) -> Result<Outcome, Rejection<StepError>> {
    let response = p.direction == Direction::Response;
    let path = run.msg.path_only().to_string();
    let default = (!response).then(|| default_policy(&run.msg.method, &path));
    // 1–3: route policy, body, the signature header.
    let value = match run.open(default, &p.signature_header)? {
        Gate::Pass(outcome) => {
            // Rule 12: an unverified route still may not name another partner in its path.
            let msg = run.msg;
            if let Some(t) = ida_triple(&msg.path) {
                run.bind_named("path Partner-ID", t.partner, &[])?;
            }
            return Ok(outcome);
        }
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
    let rules = HeaderRules {
        allow_padding: p.allow_padded_segments,
        crit_b64: CritB64::Reject,
    };
    let header = run.header(h, &rules)?;
    run.alg_name_allowed(&header)?;
    let cert = leaf_certificate(run, &header, p)?;
    let key = cert
        .public_key()
        .map_err(|e| run.fail("x5c", X5c::Invalid(format!("x5c[0] public key: {e}"))))?;
    if let Err(e) = key.check_strength(run.common.min_rsa_bits) {
        return Err(run.fail("x5c", X5c::Invalid(format!("x5c[0] key: {e}"))));
    }
    let alg = run.alg_for_key(&header, &key)?;
    if let Some(t) = header.x5t_s256() {
        if t != cert.x5t_s256() {
            return Err(run.fail("x5t#S256", Protected::Thumbprint));
        }
        run.trace.pass("x5t#S256", || "matches x5c[0]".into());
    }
    // 5. Signature with the x5c[0] key.
    let sig = run.signature_bytes(s, p.allow_padded_segments)?;
    let input = signing_input_encoded(h, &run.msg.body);
    run.crypto(
        alg,
        &[&key],
        &[("the E-input over the raw body", &input)],
        &sig,
    )?;
    let now = run.ctx.now_s();
    if response {
        return verify_ida_response(run, p, &cert, now).map(|()| Outcome::Verified {
            partner: "ida".into(),
            alg,
            kid: header.kid().map(str::to_string),
        });
    }
    // 6. Dates and trust.
    let cas = run.registry.cas(&p.partner_domain);
    if let Err(e) = validate_chain(&cert, cas, now) {
        return Err(run.fail("certificate", X5c::Invalid(format!("x5c[0]: {e}"))));
    }
    run.trace.pass("certificate", || {
        format!("in date and chains to a {} CA", p.partner_domain)
    });
    // 7. Authorization must be present (IDA's rule; the value is not interpreted here).
    if run
        .msg
        .header("authorization")
        .is_none_or(|a| a.trim().is_empty())
    {
        return Err(run.fail("authorization", Credential::NoAuthorization));
    }
    // 8–9. Path identity and registry.
    let msg = run.msg;
    let Some(IdaTriple {
        licence: license,
        partner: partner_id,
        api_key,
    }) = ida_triple(&msg.path)
    else {
        return Err(run.fail(
            "identity",
            Selection::IdentityMissing("path lacks {MISP-LK}/{Partner-ID}/{API-Key}".into()),
        ));
    };
    let registry = run.registry;
    let Some(partner) = registry.partner(partner_id) else {
        return Err(run.fail(
            "registry",
            Selection::NoKey("partner not registered".into()),
        ));
    };
    if p.partner_checks {
        registry_checks(run, partner, license, api_key)?;
    }
    if run.ctx.peer.is_some() {
        run.bind_peer(partner, &[])?;
    }
    // 10. Pinning: the partner's registered certificate, or its MISP's.
    let thumb = cert.sha256_hex_upper();
    let partner_pin = partner.certificate_sha256.as_deref() == Some(thumb.as_str());
    let misp_pin = p.accept_misp_certificate
        && registry
            .licence(license)
            .and_then(|(_, m)| m.certificate_sha256.as_deref())
            == Some(thumb.as_str());
    if !partner_pin && !misp_pin {
        return Err(run
            .fail(
                "pinning",
                X5c::NotRegistered(
                    "x5c[0] is not the partner's (or its MISP's) registered certificate".into(),
                ),
            )
            .with_partner(Some(&partner.id)));
    }
    run.trace.pass("pinning", || {
        format!(
            "x5c[0] is the registered certificate of the {}",
            if partner_pin { "partner" } else { "MISP" }
        )
    });
    // 11. requestTime window, then replay.
    if p.request_time_window {
        let body = run
            .body_json()
            .map_err(|r| r.with_partner(Some(&partner.id)))?;
        let t = body
            .get("requestTime")
            .and_then(JsonValue::as_str)
            .and_then(crate::time::parse_mosip_request_time_ms);
        let past = p.request_time_allowed_s + p.request_time_adjustment_s;
        run.fresh(
            "requestTime",
            t,
            (past, p.request_time_adjustment_s),
            partner,
            &input,
        )?;
    }
    Ok(Outcome::Verified {
        partner: partner.id.clone(),
        alg,
        kid: header.kid().map(str::to_string),
    })
}

/// Decodes `x5c[0]` (docs/profiles.md#mosip): missing → `sig_invalid`, undecodable →
/// `cert_invalid`.
fn leaf_certificate(
    run: &mut Run<'_>,
    header: &Header,
    p: &MosipVerify,
) -> Result<Certificate, Rejection<StepError>> {
    let Some(first) = header.x5c().and_then(|c| c.first()) else {
        return Err(run.fail("x5c", X5c::Missing));
    };
    let strict = b64::decode_std(first)
        .map_err(|e| e.to_string())
        .and_then(|der| Certificate::from_der(der).map_err(|e| e.to_string()));
    let cert = match strict {
        Ok(c) => c,
        Err(e) if p.x5c_pem_compat => {
            let cleaned: String = first.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            let pem = b64::decode_std(&cleaned)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            match pem.map(|t| Certificate::from_pem(&t)) {
                Some(Ok(c)) => c,
                _ => {
                    return Err(run.fail(
                        "x5c",
                        X5c::Invalid(format!("x5c[0] is neither B64(DER) nor B64(PEM): {e}")),
                    ))
                }
            }
        }
        Err(e) => return Err(run.fail("x5c", X5c::Invalid(format!("x5c[0]: {e}")))),
    };
    run.trace.pass("x5c", || {
        format!("x5c[0] SHA-256 {}", cert.sha256_hex_upper())
    });
    Ok(cert)
}

/// Client side: IDA's `response-signature` must come from the pinned, in-date IDA certificate.
fn verify_ida_response(
    run: &mut Run<'_>,
    p: &MosipVerify,
    cert: &Certificate,
    now: i64,
) -> Result<(), Rejection<StepError>> {
    let pin = p.ida_certificate_sha256.as_deref().unwrap_or_default();
    if cert.sha256_hex_upper() != pin {
        return Err(run.fail(
            "pinning",
            X5c::NotRegistered("x5c[0] is not the pinned IDA certificate".into()),
        ));
    }
    if !cert.in_validity(now) {
        return Err(run.fail(
            "certificate",
            X5c::Invalid("IDA certificate outside its validity period".into()),
        ));
    }
    run.trace
        .pass("pinning", || "pinned IDA certificate, in date".into());
    Ok(())
}

/// IDA's partner, API key, policy and licence checks (docs/profiles.md#mosip).
fn registry_checks(
    run: &mut Run<'_>,
    partner: &Partner,
    license: &str,
    api_key: &str,
) -> Result<(), Rejection<StepError>> {
    let now = run.ctx.now_ms;
    let inactive = |run: &mut Run<'_>, which: Inactive| {
        run.fail("registry", Selection::Inactive(which))
            .with_partner(Some(&partner.id))
    };
    let Some(key) = partner.api_key(api_key) else {
        return Err(run
            .fail(
                "registry",
                Selection::NoKey("API key not mapped to the partner".into()),
            )
            .with_partner(Some(&partner.id)));
    };
    if !partner.active_at(now) {
        return Err(inactive(run, Inactive::Partner));
    }
    let registry = run.registry;
    // The registry guarantees a named policy exists; a missing one fails closed.
    let policy = key.policy.as_deref().or(partner.policy.as_deref());
    if policy.is_some_and(|id| !registry.policy(id).is_some_and(|p| p.in_force(now))) {
        return Err(inactive(run, Inactive::Policy));
    }
    if key.status != Status::Active {
        return Err(inactive(run, Inactive::ApiKey));
    }
    if key.validity.at(now) != InDate::Yes {
        return Err(inactive(run, Inactive::ApiKeyDates));
    }
    let Some((lk, misp)) = registry.licence(license) else {
        return Err(inactive(run, Inactive::LicenceUnknown));
    };
    let blocked = |s: Status| s == Status::Blocked || s == Status::Revoked;
    let dates = lk.validity.at(now);
    if !misp.serves(&partner.id) {
        Err(inactive(run, Inactive::LicenceUnknown))
    } else if blocked(lk.status) || blocked(misp.status) {
        Err(inactive(run, Inactive::LicenceBlocked))
    } else if lk.status != Status::Active
        || misp.status != Status::Active
        || dates == InDate::NotYet
    {
        Err(inactive(run, Inactive::LicenceUnknown))
    } else if dates == InDate::Expired {
        Err(inactive(run, Inactive::LicenceExpired))
    } else {
        run.trace.pass("registry", || {
            "partner, API key, policy and licence active and in date".into()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_covers_partner_apis_only() {
        assert_eq!(
            default_policy("POST", "/idauthentication/v1/auth/a/b/c"),
            Policy::Required
        );
        assert_eq!(
            default_policy("GET", "/idauthentication/v1/auth/a/b/c"),
            Policy::Skip
        );
        assert_eq!(
            default_policy("POST", "/idauthentication/v1/internal/auth"),
            Policy::Skip
        );
        assert_eq!(default_policy("POST", "/other"), Policy::Skip);
        // Methods match exactly: a case variant or an unknown method is never skipped.
        for m in ["post", "Post", "FOO", "PUT", "DELETE", "PATCH"] {
            assert_eq!(
                default_policy(m, "/idauthentication/v1/auth/a/b/c"),
                Policy::Required,
                "{m}"
            );
        }
        for m in ["HEAD", "OPTIONS"] {
            assert_eq!(
                default_policy(m, "/idauthentication/v1/auth/a/b/c"),
                Policy::Skip
            );
        }
    }
}
