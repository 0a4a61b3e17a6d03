//! The local reply for a [`TokenError`] (`profiles.md` §2.8, §4.7, §4.10; RFC 6750 §3).
//!
//! Every reply carries `x-signet-reason`. Bodies and `error_description` are fixed per code:
//! never token contents, key material or another partner's name.

use super::config::{ErrorFormat, TokenConfig};
use super::error::{Inactive, TokenError};
use crate::json::write_json_string;

/// A local reply for the glue to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body bytes (may be empty).
    pub body: Vec<u8>,
}

/// Request details some formats put in the body.
#[derive(Debug, Clone, Copy)]
pub struct ReplyContext<'a> {
    /// Unix ms.
    pub now_ms: u64,
    /// The route as in [`super::Findings::route`] (query removed, secrets hashed).
    pub route: &'a str,
    /// `x-request-id`, when the request has one.
    pub request_id: Option<&'a str>,
}

/// Builds the reply for `err` in the configured format.
pub fn reply(err: &TokenError, cfg: &TokenConfig, ctx: &ReplyContext<'_>) -> Reply {
    let code = err.reason_code();
    let mut headers = vec![("x-signet-reason".to_string(), code.to_string())];
    match cfg.error_format {
        ErrorFormat::Rfc6750 => {
            if let Some(w) = rfc6750_challenge(err, &cfg.realm) {
                headers.push(("www-authenticate".into(), w));
            }
            headers.push(("content-type".into(), "application/json".into()));
            let mut body = b"{\"error\":".to_vec();
            write_json_string(&mut body, code);
            body.push(b'}');
            Reply {
                status: err.status(),
                headers,
                body,
            }
        }
        ErrorFormat::Ocen => ocen(err, headers, ctx),
    }
}

fn rfc6750_challenge(err: &TokenError, realm: &str) -> Option<String> {
    let (error, description) = match err {
        // RFC 6750 §3.1: no error code when the request carried no credential.
        TokenError::Missing => return Some(format!("Bearer realm=\"{realm}\"")),
        TokenError::Expired => ("invalid_token", "token expired"),
        TokenError::Malformed(_)
        | TokenError::Header(_)
        | TokenError::AlgNotAllowed
        | TokenError::KidUnknown
        | TokenError::SignatureInvalid
        | TokenError::Claim(_) => ("invalid_token", "token not accepted"),
        TokenError::KeyUnknown => ("invalid_token", "credential not registered"),
        TokenError::Inactive(Inactive::PolicyScope) => {
            ("insufficient_scope", "scope required by the policy")
        }
        TokenError::IdentityMissing(_) => ("invalid_request", "caller identity missing"),
        TokenError::PathNotCanonical(_) => ("invalid_request", "path not canonical"),
        TokenError::Inactive(_) | TokenError::PeerMismatch(..) | TokenError::KeysUnavailable => {
            return None
        }
    };
    Some(format!(
        "Bearer realm=\"{realm}\", error=\"{error}\", error_description=\"{description}\""
    ))
}

fn ocen(err: &TokenError, mut headers: Vec<(String, String)>, ctx: &ReplyContext<'_>) -> Reply {
    // §4.7: Spring Security's resource server answers token problems with an empty 401.
    let challenge = match err {
        TokenError::Missing => Some("Bearer"),
        TokenError::Malformed(_)
        | TokenError::Header(_)
        | TokenError::AlgNotAllowed
        | TokenError::KidUnknown
        | TokenError::SignatureInvalid
        | TokenError::Claim(_)
        | TokenError::Expired => Some("Bearer error=\"invalid_token\""),
        _ => None,
    };
    if let Some(c) = challenge {
        headers.push(("www-authenticate".into(), c.into()));
        return Reply {
            status: 401,
            headers,
            body: Vec::new(),
        };
    }
    // §4.10 table: identity and key problems are 400, binding 403, keys 503.
    let (status, error) = match err {
        TokenError::PeerMismatch(..) | TokenError::Inactive(_) => (403, "Forbidden"),
        TokenError::KeysUnavailable => (503, "Service Unavailable"),
        _ => (400, "Bad Request"),
    };
    let mut body = b"{\"timestamp\":".to_vec();
    write_json_string(
        &mut body,
        &crate::time::format_millis_utc_offset(i64::try_from(ctx.now_ms).unwrap_or(i64::MAX))
            .unwrap_or_default(),
    );
    body.extend_from_slice(b",\"path\":");
    write_json_string(&mut body, ctx.route);
    body.extend_from_slice(format!(",\"status\":{status},\"error\":").as_bytes());
    write_json_string(&mut body, error);
    body.extend_from_slice(b",\"requestId\":");
    let fallback = super::jwt::short_hash(&ctx.now_ms.to_be_bytes());
    let id = ctx
        .request_id
        .unwrap_or_else(|| fallback.get(..8).unwrap_or("00000000"));
    write_json_string(&mut body, id);
    body.push(b'}');
    headers.push(("content-type".into(), "application/json".into()));
    Reply {
        status,
        headers,
        body,
    }
}
