//! One structured audit record per request: who (partner, certificate fingerprint, MISP),
//! with what (token id, hashed API / licence key, policy), on which route, and the decision.
//!
//! Built only from [`Findings`], which never hold a secret in clear: tokens appear as `jti` or
//! a short hash, keys as short hashes, and the route has its licence / API-key segments hashed.

use serde::Serialize;

use super::{Decision, Findings, Rejection, RequestFacts};

/// The audit record (serialized as one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Unix ms.
    pub ts_ms: u64,
    /// Always `token_check`.
    pub filter: &'static str,
    /// `allow`, `skip` or `deny`.
    pub decision: &'static str,
    /// The reason code on `deny`.
    pub reason: Option<&'static str>,
    /// HTTP status sent on `deny`.
    pub status: Option<u16>,
    /// Bound partner (or the one known when refused).
    pub partner: Option<String>,
    /// Sources that named the partner.
    pub sources: Vec<&'static str>,
    /// Hex SHA-256 of the client certificate.
    pub cert_sha256: Option<String>,
    /// Token provider.
    pub provider: Option<String>,
    /// `jti:…` or `sha256:…` of the token.
    pub token_id: Option<String>,
    /// Who verified the token: `token_check`, or Envoy's `jwt_authn` (`trust_jwt_authn`).
    pub token_verifier: Option<&'static str>,
    /// Short hash of the API key.
    pub api_key: Option<String>,
    /// MISP of the licence key.
    pub misp: Option<String>,
    /// Short hash of the licence key.
    pub licence_key: Option<String>,
    /// Policy applied.
    pub policy: Option<String>,
    /// `:method`.
    pub method: String,
    /// Route (query removed, secrets hashed).
    pub route: String,
    /// `jws_verify`'s verdict (`verified`, `unsigned`, `skipped`, `rejected`), when a
    /// signature filter ran after `token_check`; filled in on the response path.
    pub signature: Option<String>,
}

impl AuditRecord {
    /// The record for the outcome of [`super::check`].
    pub fn new(req: &RequestFacts<'_>, outcome: &Result<Decision, Rejection>) -> AuditRecord {
        let (decision, reason, status, f): (_, _, _, &Findings) = match outcome {
            Ok(d) if d.skipped => ("skip", None, None, &d.findings),
            Ok(d) => ("allow", None, None, &d.findings),
            Err(r) => (
                "deny",
                Some(r.error.reason_code()),
                Some(r.error.status()),
                &r.findings,
            ),
        };
        AuditRecord {
            ts_ms: req.now_ms,
            filter: "token_check",
            decision,
            reason,
            status,
            partner: f.partner.clone(),
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
            method: req.method.chars().take(16).collect(),
            route: f.route.clone(),
            signature: None,
        }
    }

    /// Records the signature verdict; only the known verdict words are taken (the value comes
    /// from filter state, but the audit line must stay well-formed whatever it holds).
    pub fn set_signature(&mut self, verdict: &str) {
        const KNOWN: [&str; 4] = ["verified", "unsigned", "skipped", "rejected"];
        self.signature = KNOWN
            .iter()
            .find(|k| **k == verdict)
            .map(|k| (*k).to_string());
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and numbers cannot fail; an empty object is the fallback.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}
