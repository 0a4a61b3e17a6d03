//! IDA's error envelope, HTTP 200 by default (§5.10).

use serde::Serialize;
use serde_json::Value;

use super::Verify;
use crate::message::{Context, Message};
use crate::reason::Reason;
use crate::reply::Reply;
use crate::verify::{Inactive, Rejection};

/// IDA's error envelope, HTTP 200 by default (§5.10).
pub fn reply(
    m: &Verify,
    rej: &Rejection,
    msg: &Message,
    ctx: &Context,
    client_side: bool,
) -> Reply {
    let reason = rej.reason;
    let (code, text): (&str, String) = if client_side {
        (
            "IDA-MPA-001",
            "Digital signature verification failed for response-signature header".into(),
        )
    } else {
        match (reason, rej.inactive) {
            (Reason::SigMissing, _) => (
                "IDA-MLC-006",
                "Missing Input Parameter - signature header".into(),
            ),
            (Reason::TokenMissing, _) => (
                "IDA-MLC-006",
                "Missing Input Parameter - Authorization - header".into(),
            ),
            (
                Reason::SigMalformed
                | Reason::HeaderMalformed
                | Reason::AlgNotAllowed
                | Reason::CritUnsupported
                | Reason::SigInvalid
                | Reason::CertInvalid,
                _,
            ) => (
                "IDA-MPA-001",
                "Digital signature verification failed for signature header".into(),
            ),
            (Reason::CertNotRegistered, _) => (
                "IDA-MPA-021",
                "Partner (Auth) Certificate not matching with signature header certificate".into(),
            ),
            (Reason::IdentityMissing, _) => ("IDA-MPA-038", "Missing path parameters".into()),
            (Reason::KeyUnknown, _) => ("IDA-MPA-009", "Partner is not registered".into()),
            (Reason::PartnerInactive, Some(Inactive::Policy)) => {
                ("IDA-MPA-019", "Partner policy is not active".into())
            }
            (Reason::PartnerInactive, Some(Inactive::ApiKeyDates)) => (
                "IDA-MPA-039",
                "Partner API is expired or using before Commence Start Date".into(),
            ),
            (Reason::PartnerInactive, Some(Inactive::LicenceUnknown)) => (
                "IDA-MPA-007",
                "License key does not belong to a registered MISP".into(),
            ),
            (Reason::PartnerInactive, Some(Inactive::LicenceExpired)) => {
                ("IDA-MPA-008", "License key of MISP has expired".into())
            }
            (Reason::PartnerInactive, Some(Inactive::LicenceBlocked)) => {
                ("IDA-MPA-017", "License key of MISP is blocked".into())
            }
            (Reason::PartnerInactive, _) => ("IDA-MPA-012", "Partner is deactivated".into()),
            (Reason::Stale, _) => (
                "IDA-MLC-001",
                format!(
                    "Request to be received at MOSIP within {} seconds",
                    m.request_time_allowed_s
                ),
            ),
            (Reason::BodyMalformed | Reason::ContentEncoding | Reason::BodyTooLarge, _) => {
                ("IDA-MLC-009", "Invalid Input Parameter - request".into())
            }
            _ => (
                "IDA-MLC-007",
                "Request could not be processed. Please try again".into(),
            ),
        }
    };
    error_envelope(
        reason,
        error_status(reason, client_side, m.error_status_4xx),
        (code, text),
        &msg.body,
        msg.path_only(),
        ctx.now_ms,
    )
}

/// The status of IDA's error answer: 502 for an answer refused on the partner's egress, 413 for
/// a body over the bound, else IDA's 200 (or, with `generic_4xx`, the generic status).
pub fn error_status(reason: Reason, client_side: bool, generic_4xx: bool) -> u16 {
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

/// IDA's error answer: the request's `id`, `version` and `transactionID` echoed, the
/// `authStatus` / `kycStatus` false of the path's API, and one error `(code, text)`. Also what
/// `mosip_seal` refuses a request with on the partner's egress.
pub fn error_envelope(
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
    struct Error<'a> {
        error_code: &'a str,
        error_message: String,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        id: Value,
        version: Value,
        #[serde(rename = "transactionID")]
        transaction_id: Value,
        #[serde(rename = "responseTime")]
        response_time: String,
        response: Value,
        errors: [Error<'a>; 1],
    }
    let body = serde_json::to_vec(&Body {
        id: field("id").unwrap_or_else(|| Value::String("mosip.identity.auth".into())),
        version: field("version").unwrap_or_else(|| Value::String("1.0".into())),
        transaction_id: field("transactionID").unwrap_or(Value::Null),
        response_time: crate::time::format_millis_z(now_ms).unwrap_or_default(),
        response,
        errors: [Error {
            error_code: code,
            error_message: text,
        }],
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}
