//! `token_check`'s audit record: the common fields and its own ([`TokenAudit`]): who (certificate
//! fingerprint, MISP), with what (token id, hashed API / licence key, policy).
//!
//! Built only from [`Findings`], which never hold a secret in clear: tokens appear as `jti` or
//! a short hash, keys as short hashes, and the route has its licence / API-key segments hashed.

use super::{Decision, Findings, RequestFacts, TokenError};
use crate::audit::{AuditRecord, TokenAudit, Verdict};
use crate::reason::Rejection;

/// The verdict of an outcome of [`super::check`].
pub fn verdict(outcome: &Result<Decision, Rejection<TokenError, Box<Findings>>>) -> Verdict {
    match outcome {
        Ok(d) if d.skipped => Verdict::Skipped,
        Ok(_) => Verdict::Ok,
        Err(r) => Verdict::Refused(r.reason()),
    }
}

/// The record for an outcome of [`super::check`].
pub fn record(
    req: &RequestFacts<'_>,
    outcome: &Result<Decision, Rejection<TokenError, Box<Findings>>>,
    profile: &'static str,
) -> AuditRecord {
    let f: &Findings = match outcome {
        Ok(d) => &d.findings,
        Err(r) => &r.findings,
    };
    // The findings' route has its secret segments hashed already; only the query goes.
    let mut r = AuditRecord::new(
        req.now_ms,
        "token_check",
        profile,
        verdict(outcome),
        req.method,
        "",
    );
    r.route = crate::audit::truncated(&f.route, 256);
    r.status = outcome.as_ref().err().map(|e| e.error.status());
    r.partner = f.partner.clone();
    r.token = Some(TokenAudit {
        sources: f.sources.iter().map(|s| s.name()).collect(),
        // Only a hex fingerprint is accepted: the glue passes what the host gives.
        cert_sha256: req
            .cert_sha256
            .filter(|c| c.len() <= 128 && c.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'))
            .map(str::to_string),
        provider: f.provider.clone(),
        token_id: f.token_id.clone(),
        token_verifier: f.token_verifier,
        api_key: f.api_key.clone(),
        misp: f.misp.clone(),
        licence_key: f.licence_key.clone(),
        policy: f.policy.clone(),
    });
    r
}
