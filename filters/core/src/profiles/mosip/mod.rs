//! `mosip`: IDA partner requests signed with the partner's certificate in `x5c`
//! (profiles.md §5), and IDA's `response-signature` on the partner's egress.
//!
//! The `x5c[0]` key verifies the signature, but only a certificate that chains to the partner
//! domain's CA, is in date and is pinned to the partner (or its MISP) in the registry is
//! accepted — an `x5c` never chooses the key by itself.

mod reply;
mod settings;

pub use reply::{error_envelope, error_status};
pub use settings::{ErrorStatus, OnOff, Sign, SignSection, Verify, VerifySection};

use crate::b64;
use crate::crypto::CryptoBackend;
use crate::jose::header::{CritB64, Header, HeaderRules};
use crate::jose::jws::{signing_input_encoded, split_three};
use crate::json::JsonValue;
use crate::message::{Context, Message};
use crate::profiles::{SignProfile, VerifyProfile};
use crate::reason::Reason;
use crate::registry::{InDate, Partner, Status};
use crate::reply::Reply;
use crate::route::Policy;
use crate::sign::{header_bytes, SignError, SignKey, SignOutcome};
use crate::verify::error::{Selection, X5c};
use crate::verify::Direction;
use crate::verify::{Gate, Inactive, Outcome, Rejection, Run};
use crate::x509::{validate_chain, Certificate};

impl VerifyProfile for Verify {
    fn verify(&self, run: &mut Run<'_>) -> Result<Outcome, Rejection> {
        verify(run, self)
    }

    fn reply(
        &self,
        rej: &Rejection,
        msg: &Message,
        ctx: &Context,
        _request_id: &str,
        client_side: bool,
    ) -> Reply {
        reply::reply(self, rej, msg, ctx, client_side)
    }

    fn segments(&self, msg: &Message) -> Option<(String, String)> {
        split_three(msg.header(&self.signature_header)?)
            .ok()
            .map(|(h, _, s)| (h.into(), s.into()))
    }
}

impl SignProfile for Sign {
    /// `H..S` over the body with the certificate in `x5c` (§5.4).
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

/// IDA's partner operations (the controllers' `@PostMapping`s under the context path
/// `/idauthentication/v1`), and whether the path variables follow a `delegated` segment:
/// `/auth/{MISP-LK}/{Partner-ID}/{API-Key}`, `/kyc-auth/delegated/{IdP-LK}/{Auth-Partner-ID}/
/// {OIDC-Client-Id}`.
const OPERATIONS: [(&str, bool); 7] = [
    ("auth", false),
    ("kyc", false),
    ("otp", false),
    ("kyc-auth", true),
    ("kyc-exchange", true),
    ("identity-key-binding", true),
    ("vci-exchange", true),
];

/// Methods that never carry a partner request: the only ones the default policy skips.
const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];

/// Default route policy (§5.6.1): IDA's partner APIs need a signature on every method but the
/// safe ones — matched exactly, so `post` or an unknown method is `required`, never `skip`.
fn default_policy(method: &str, path: &str) -> Policy {
    let partner_api = path.starts_with("/idauthentication/v1/")
        && !path.starts_with("/idauthentication/v1/internal/");
    if partner_api && !SAFE_METHODS.contains(&method) {
        Policy::Required
    } else {
        Policy::Skip
    }
}

/// The path variables of an IDA partner request (§5.5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdaTriple<'a> {
    /// `{MISP-LK}` / `{IdP-LK}`.
    pub licence: &'a str,
    /// `{Partner-ID}` / `{Auth-Partner-ID}`.
    pub partner: &'a str,
    /// `{API-Key}` / `{OIDC-Client-Id}`.
    pub api_key: &'a str,
}

/// The triple as IDA's Spring controllers bind it: the three segments right after the first
/// operation segment (and its `delegated`), and nothing after them. Anything else — fewer or
/// more segments, an empty one, a `%` escape that Spring would decode — is `None`: refused,
/// not guessed. `jws_verify`'s `mosip` profile and `token_check`'s `ida` path template both
/// read it here.
pub fn ida_triple(path: &str) -> Option<IdaTriple<'_>> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let start = ida_variables_at(&segments)?;
    let usable = |s: &str| !s.is_empty() && !s.contains('%');
    match segments.get(start..)? {
        &[licence, partner, api_key] if [licence, partner, api_key].into_iter().all(usable) => {
            Some(IdaTriple {
                licence,
                partner,
                api_key,
            })
        }
        _ => None,
    }
}

/// Index of the first path variable in `segments` (the path after its leading `/`, split on
/// `/`): right after the first operation segment, and after its `delegated`.
pub fn ida_variables_at(segments: &[&str]) -> Option<usize> {
    let (at, delegated) = segments.iter().enumerate().find_map(|(i, s)| {
        OPERATIONS
            .iter()
            .find(|(op, _)| op == s)
            .map(|(_, d)| (i, *d))
    })?;
    if !delegated {
        return Some(at + 1);
    }
    (segments.get(at + 1) == Some(&"delegated")).then_some(at + 2)
}

pub fn verify(run: &mut Run<'_>, p: &Verify) -> Result<Outcome, Rejection> {
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
        run.reject(
            "serialization",
            Reason::SigMalformed,
            format!("expected H.X.S: {e}"),
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
            return Err(run.reject(
                "x5t#S256",
                Reason::HeaderMalformed,
                "x5t#S256 is not the thumbprint of x5c[0]".into(),
            ));
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
        return Err(run.reject(
            "authorization",
            Reason::TokenMissing,
            "Authorization header absent".into(),
        ));
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
            .partner(Some(&partner.id)));
    }
    run.trace.pass("pinning", || {
        format!(
            "x5c[0] is the registered certificate of the {}",
            if partner_pin { "partner" } else { "MISP" }
        )
    });
    // 11. requestTime window, then replay.
    if p.request_time_window {
        let body = run.body_json().map_err(|r| r.partner(Some(&partner.id)))?;
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

/// Decodes `x5c[0]` (§5.4, §5.5.2): missing → `sig_invalid`, undecodable → `cert_invalid`.
fn leaf_certificate(
    run: &mut Run<'_>,
    header: &Header,
    p: &Verify,
) -> Result<Certificate, Rejection> {
    let Some(first) = header.x5c().and_then(|c| c.first()) else {
        return Err(run.reject(
            "x5c",
            Reason::SigInvalid,
            "x5c missing: IDA cannot verify without it".into(),
        ));
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
    p: &Verify,
    cert: &Certificate,
    now: i64,
) -> Result<(), Rejection> {
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

/// IDA's partner, API key, policy and licence checks (§5.5.6).
fn registry_checks(
    run: &mut Run<'_>,
    partner: &Partner,
    license: &str,
    api_key: &str,
) -> Result<(), Rejection> {
    let now = run.ctx.now_ms;
    let inactive = |run: &mut Run<'_>, which: Inactive, detail: &str| {
        let mut r = run.reject_partner("registry", Reason::PartnerInactive, partner, detail.into());
        r.inactive = Some(which);
        r
    };
    let Some(key) = partner.api_key(api_key) else {
        return Err(run
            .fail(
                "registry",
                Selection::NoKey("API key not mapped to the partner".into()),
            )
            .partner(Some(&partner.id)));
    };
    if !partner.active_at(now) {
        return Err(inactive(run, Inactive::Partner, "partner deactivated"));
    }
    let registry = run.registry;
    // The registry guarantees a named policy exists; a missing one fails closed.
    let policy = key.policy.as_deref().or(partner.policy.as_deref());
    if policy.is_some_and(|id| !registry.policy(id).is_some_and(|p| p.in_force(now))) {
        return Err(inactive(run, Inactive::Policy, "policy not active"));
    }
    if key.status != Status::Active {
        return Err(inactive(run, Inactive::ApiKey, "API key deactivated"));
    }
    if key.validity.at(now) != InDate::Yes {
        return Err(inactive(
            run,
            Inactive::ApiKeyDates,
            "API key expired or not yet commenced",
        ));
    }
    let Some((lk, misp)) = registry.licence(license) else {
        return Err(inactive(
            run,
            Inactive::LicenceUnknown,
            "licence key does not belong to a registered MISP",
        ));
    };
    let blocked = |s: Status| s == Status::Blocked || s == Status::Revoked;
    let dates = lk.validity.at(now);
    if !misp.serves(&partner.id) {
        Err(inactive(
            run,
            Inactive::LicenceUnknown,
            "licence key not registered for this partner",
        ))
    } else if blocked(lk.status) || blocked(misp.status) {
        Err(inactive(
            run,
            Inactive::LicenceBlocked,
            "licence key blocked",
        ))
    } else if lk.status != Status::Active
        || misp.status != Status::Active
        || dates == InDate::NotYet
    {
        Err(inactive(
            run,
            Inactive::LicenceUnknown,
            "licence key not active or not commenced",
        ))
    } else if dates == InDate::Expired {
        Err(inactive(
            run,
            Inactive::LicenceExpired,
            "licence key expired",
        ))
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

    fn triple(l: &'static str, p: &'static str, k: &'static str) -> Option<IdaTriple<'static>> {
        Some(IdaTriple {
            licence: l,
            partner: p,
            api_key: k,
        })
    }

    #[test]
    fn ida_triple_is_what_the_controllers_bind() {
        assert_eq!(
            ida_triple("/idauthentication/v1/auth/lk/p/k"),
            triple("lk", "p", "k")
        );
        assert_eq!(
            ida_triple("/idauthentication/v1/otp/lk/p/k?x=/a/b"),
            triple("lk", "p", "k")
        );
        assert_eq!(
            ida_triple("/idauthentication/v1/kyc-exchange/delegated/lk/p/k?x=1"),
            triple("lk", "p", "k")
        );
        assert_eq!(
            ida_triple("/idauthentication/v1/identity-key-binding/delegated/lk/p/c"),
            triple("lk", "p", "c")
        );
        // The first operation segment decides: a licence key may be called "auth".
        assert_eq!(
            ida_triple("/idauthentication/v1/otp/auth/p/k"),
            triple("auth", "p", "k")
        );
        // Delegated operations without `delegated` are not IDA's.
        assert_eq!(ida_triple("/idauthentication/v1/kyc-auth/lk/p/k"), None);
        // Fewer, more (a trailing slash too), empty or escaped segments: refused, not guessed.
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p/k/x"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p/k/"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/x/lk/p/k"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk//k"), None);
        assert_eq!(ida_triple("/idauthentication/v1/auth/lk/p%40x/k"), None);
        // No operation: no triple (the last three segments of any path are nobody's).
        assert_eq!(ida_triple("/a/b/c/d"), None);
        assert_eq!(ida_triple("/a"), None);
        assert_eq!(ida_triple(""), None);
    }

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
