//! Local replies, for every filter that refuses: the shape every reply has (the stable reason code
//! in `x-signet-reason`) and the wire forms more than one filter sends — Signet's generic body
//! (docs/reason-codes.md), RFC 6750's challenge (`token_check`), Spring's error JSON (OCEN's
//! `jws_verify` and `token_check`, docs/profiles.md#ocen) and IDA's error envelope (MOSIP's
//! `jws_verify` and `mosip_seal`, docs/profiles.md#mosip). Forms only one platform's
//! `jws_verify` sends (docs/profiles.md#mojaloop, #spar) and the choice of IDA's error codes are
//! its profile module's (`crate::profiles`), built on these.
//!
//! Bodies never carry key material, stack traces or other partners' names: only the fixed texts of
//! the platform and fields echoed from the caller's own request.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::reason::{Inactive, Reason};

/// A local reply for Envoy's `send_http_response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, reason: Reason, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-signet-reason".into(), reason.code().into()),
            ],
            body,
        }
    }

    pub fn empty(status: u16, reason: Reason) -> Reply {
        Reply {
            status,
            headers: vec![("x-signet-reason".into(), reason.code().into())],
            body: Vec::new(),
        }
    }
}

/// `{"error":"<code>"}` with the generic status (`error_format: signet`, profile `generic`).
pub fn generic(reason: Reason, status: Option<u16>) -> Reply {
    #[derive(Serialize)]
    struct GenericError<'a> {
        error: &'a str,
    }
    let body = serde_json::to_vec(&GenericError {
        error: reason.code(),
    })
    .unwrap_or_default();
    Reply::json(status.unwrap_or(reason.generic_status()), reason, body)
}

/// Spring's `www-authenticate` challenge for a token refusal, or `None` when Spring's resource
/// server would not have refused (docs/profiles.md#ocen).
fn spring_challenge(reason: Reason) -> Option<&'static str> {
    match reason {
        Reason::TokenMissing => Some("Bearer"),
        Reason::TokenInvalid | Reason::TokenExpired => Some("Bearer error=\"invalid_token\""),
        _ => None,
    }
}

/// OCEN's replies (docs/profiles.md#ocen): token refusals as Spring Security's resource server (an
/// empty 401 with a challenge), the rest in Spring WebFlux's default error JSON; `client_side`: the
/// 502 that replaces an unverifiable response on a partner's egress. `path` is the request's,
/// without its query.
pub fn spring(
    reason: Reason,
    path: &str,
    now_ms: i64,
    request_id: &str,
    client_side: bool,
) -> Reply {
    if let Some(challenge) = spring_challenge(reason).filter(|_| !client_side) {
        let mut r = Reply::empty(401, reason);
        r.headers
            .push(("www-authenticate".into(), challenge.into()));
        return r;
    }
    let (status, error) = if client_side {
        (502, "Bad Gateway")
    } else {
        match reason {
            Reason::SigInvalid | Reason::AlgNotAllowed => (401, "Unauthorized"),
            Reason::PeerMismatch | Reason::PartnerInactive => (403, "Forbidden"),
            Reason::BodyTooLarge => (413, "Payload Too Large"),
            Reason::KeysUnavailable | Reason::ReplayCacheFull => (503, "Service Unavailable"),
            Reason::Internal | Reason::SignFailed => (500, "Internal Server Error"),
            Reason::BodyTimeout => (408, "Request Timeout"),
            _ => (400, "Bad Request"),
        }
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SpringError<'a> {
        timestamp: String,
        path: &'a str,
        status: u16,
        error: &'a str,
        request_id: &'a str,
    }
    let body = serde_json::to_vec(&SpringError {
        timestamp: crate::time::format_millis_utc_offset(now_ms).unwrap_or_default(),
        path,
        status,
        error,
        request_id,
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}

/// The request id Spring's body echoes: the request's `x-request-id`, else one made of the
/// clock (Spring makes one up too; it only has to tell replies apart in a log).
pub fn request_id(header: Option<&str>, now_ms: i64) -> String {
    header.map_or_else(|| format!("{:08x}", now_ms as u32), str::to_string)
}

/// The generic reply with RFC 6750's `www-authenticate` challenge (§3) in `realm`: no error
/// code when no credential came (§3.1), `insufficient_scope` when the policy wants a scope the
/// token lacks, and none for refusals that are not about the credential. `inactive` says which
/// credential a `partner_inactive` is about.
pub fn rfc6750(reason: Reason, inactive: Option<Inactive>, realm: &str) -> Reply {
    let (error, description) = match (reason, inactive) {
        (Reason::TokenMissing, _) => ("", ""),
        (Reason::TokenExpired, _) => ("invalid_token", "token expired"),
        (Reason::TokenInvalid, _) => ("invalid_token", "token not accepted"),
        (Reason::KeyUnknown, _) => ("invalid_token", "credential not registered"),
        (Reason::PartnerInactive, Some(Inactive::PolicyScope)) => {
            ("insufficient_scope", "scope required by the policy")
        }
        (Reason::IdentityMissing, _) => ("invalid_request", "caller identity missing"),
        (Reason::PathNotCanonical, _) => ("invalid_request", "path not canonical"),
        _ => return generic(reason, None),
    };
    let challenge = if error.is_empty() {
        format!("Bearer realm=\"{realm}\"")
    } else {
        format!("Bearer realm=\"{realm}\", error=\"{error}\", error_description=\"{description}\"")
    };
    let mut r = generic(reason, None);
    r.headers.push(("www-authenticate".into(), challenge));
    r
}

/// The status of IDA's error answer (`error_status` of `jws_verify`'s `mosip` profile and of
/// `mosip_seal`): IDA's own 200, or the generic 4xx.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum ErrorStatus {
    #[serde(rename = "200")]
    Ok200,
    #[serde(rename = "4xx")]
    Generic4xx,
}

/// The status of IDA's error answer: 502 for an answer refused on the partner's egress, 413 for
/// a body over the bound, else IDA's 200 (or, with `generic_4xx`, the generic status).
pub fn ida_status(reason: Reason, client_side: bool, generic_4xx: bool) -> u16 {
    if client_side {
        502
    } else if reason == Reason::BodyTooLarge {
        413
    } else if generic_4xx {
        reason.generic_status()
    } else {
        200
    }
}

/// IDA's error for a request it cannot read.
pub fn ida_invalid_request() -> (&'static str, String) {
    ("IDA-MLC-009", "Invalid Input Parameter - request".into())
}

/// IDA's error where the fault is not the request's.
pub fn ida_not_processed() -> (&'static str, String) {
    (
        "IDA-MLC-007",
        "Request could not be processed. Please try again".into(),
    )
}

/// IDA's error answer: the request's `id`, `version` and `transactionID` echoed, the
/// `authStatus` / `kycStatus` false of the path's API, and one error `(code, text)`. Also what
/// `mosip_seal` refuses a request with on the partner's egress.
pub fn ida(
    reason: Reason,
    status: u16,
    (code, text): (&str, String),
    request_body: &[u8],
    path: &str,
    now_ms: i64,
) -> Reply {
    let request: Value = serde_json::from_slice(request_body).unwrap_or(Value::Null);
    let field = |name: &str| request.get(name).cloned();
    let response = if path.contains("/auth/") {
        serde_json::from_str(r#"{"authStatus":false,"authToken":null}"#).unwrap_or(Value::Null)
    } else if path.contains("/kyc/") || path.contains("/kyc-") {
        serde_json::from_str(r#"{"kycStatus":false}"#).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct IdaError<'a> {
        error_code: &'a str,
        error_message: String,
    }
    #[derive(Serialize)]
    struct IdaReply<'a> {
        id: Value,
        version: Value,
        #[serde(rename = "transactionID")]
        transaction_id: Value,
        #[serde(rename = "responseTime")]
        response_time: String,
        response: Value,
        errors: [IdaError<'a>; 1],
    }
    let body = serde_json::to_vec(&IdaReply {
        id: field("id").unwrap_or_else(|| Value::String("mosip.identity.auth".into())),
        version: field("version").unwrap_or_else(|| Value::String("1.0".into())),
        transaction_id: field("transactionID").unwrap_or(Value::Null),
        response_time: crate::time::format_millis_z(now_ms).unwrap_or_default(),
        response,
        errors: [IdaError {
            error_code: code,
            error_message: text,
        }],
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_body_names_only_the_code() {
        let r = generic(Reason::KeyUnknown, None);
        assert_eq!(r.status, 401);
        assert_eq!(r.body, br#"{"error":"key_unknown"}"#);
    }
}
