//! Rejection replies in each platform's own status and body (profiles.md §2.8, §3.11, §4.10,
//! §5.10, §6.9), with the stable reason code in `x-signet-reason`.
//!
//! Bodies never carry key material, stack traces or other partners' names: only the fixed
//! texts of the platform and fields echoed from the caller's own request.

use serde::Serialize;
use serde_json::Value;

use crate::config::{Envelope, ErrorFormat, Mosip, Profile, Spar, VerifyConfig};
use crate::message::{Context, Message};
use crate::reason::Reason;
use crate::verify::{Inactive, Rejection};

/// A local reply for Envoy's `send_http_response`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn json(status: u16, reason: Reason, body: Vec<u8>) -> Reply {
        Reply {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-signet-reason".into(), reason.code().into()),
            ],
            body,
        }
    }

    fn empty(status: u16, reason: Reason) -> Reply {
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
    struct E<'a> {
        error: &'a str,
    }
    let body = serde_json::to_vec(&E {
        error: reason.code(),
    })
    .unwrap_or_default();
    Reply::json(status.unwrap_or(reason.generic_status()), reason, body)
}

/// The reply for a rejected request (provider side) or, with `client_side`, the 502 that
/// replaces an unverifiable response on a partner's egress (§2.9).
pub fn for_rejection(
    cfg: &VerifyConfig,
    rej: &Rejection,
    msg: &Message,
    ctx: &Context,
    request_id: &str,
    client_side: bool,
) -> Reply {
    let reason = rej.reason;
    if cfg.common.error_format == ErrorFormat::Signet {
        return generic(reason, client_side.then_some(502));
    }
    match &cfg.profile {
        Profile::Mojaloop(_) => mojaloop(reason),
        Profile::Ocen(_) => ocen(reason, msg, ctx, request_id, client_side),
        Profile::Mosip(m) => mosip(m, rej, msg, ctx, client_side),
        Profile::Spar(s) => spar(s, reason, msg, ctx),
        Profile::Generic(_) => generic(reason, client_side.then_some(502)),
    }
}

/// Mojaloop `errorInformation` (§3.11).
pub fn mojaloop(reason: Reason) -> Reply {
    let (status, code, text) = match reason {
        Reason::BodyTooLarge => (400, "3104", "Too large payload"),
        Reason::TokenMissing | Reason::TokenInvalid | Reason::TokenExpired => {
            (401, "3000", "Generic client error")
        }
        Reason::PeerMismatch | Reason::PartnerInactive => (403, "3000", "Generic client error"),
        Reason::KeysUnavailable | Reason::ReplayCacheFull => {
            (503, "2003", "Service currently unavailable")
        }
        Reason::Internal | Reason::SignFailed => (500, "2001", "Internal server error"),
        Reason::PathNotCanonical => (400, "3101", "Malformed syntax"),
        Reason::BodyTimeout => (408, "3000", "Generic client error"),
        _ => (400, "3105", "Invalid signature"),
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Info<'a> {
        error_code: &'a str,
        error_description: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        error_information: Info<'a>,
    }
    let body = serde_json::to_vec(&Body {
        error_information: Info {
            error_code: code,
            error_description: text,
        },
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}

/// Spring WebFlux's default error shape (§4.10); token failures as Spring's resource server.
fn ocen(
    reason: Reason,
    msg: &Message,
    ctx: &Context,
    request_id: &str,
    client_side: bool,
) -> Reply {
    if !client_side {
        match reason {
            Reason::TokenMissing => {
                let mut r = Reply::empty(401, reason);
                r.headers.push(("www-authenticate".into(), "Bearer".into()));
                return r;
            }
            Reason::TokenInvalid | Reason::TokenExpired => {
                let mut r = Reply::empty(401, reason);
                r.headers.push((
                    "www-authenticate".into(),
                    "Bearer error=\"invalid_token\"".into(),
                ));
                return r;
            }
            _ => {}
        }
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
    struct Body<'a> {
        timestamp: String,
        path: &'a str,
        status: u16,
        error: &'a str,
        request_id: &'a str,
    }
    let body = serde_json::to_vec(&Body {
        timestamp: crate::time::format_millis_utc_offset(ctx.now_ms).unwrap_or_default(),
        path: msg.path_only(),
        status,
        error,
        request_id,
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}

/// IDA's error envelope, HTTP 200 by default (§5.10).
fn mosip(m: &Mosip, rej: &Rejection, msg: &Message, ctx: &Context, client_side: bool) -> Reply {
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
            (Reason::PartnerInactive, Some(Inactive::PolicyInactive)) => {
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
    let status = if client_side {
        502
    } else if reason == Reason::BodyTooLarge {
        413
    } else if m.error_status_4xx {
        reason.generic_status()
    } else {
        200
    };
    let request: Value = serde_json::from_slice(&msg.body).unwrap_or(Value::Null);
    let field = |name: &str| request.get(name).cloned();
    let path = msg.path_only();
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
        response_time: crate::time::format_millis_z(ctx.now_ms).unwrap_or_default(),
        response,
        errors: [Error {
            error_code: code,
            error_message: text,
        }],
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}

/// SPAR / G2P Connect envelopes (§6.9).
fn spar(s: &Spar, reason: Reason, msg: &Message, ctx: &Context) -> Reply {
    let request: Value = serde_json::from_slice(&msg.body).unwrap_or(Value::Null);
    let pointer = |p: &str| request.pointer(p).cloned().unwrap_or(Value::Null);
    let status = match reason {
        Reason::KeysUnavailable | Reason::ReplayCacheFull => 503,
        Reason::Internal | Reason::SignFailed => 500,
        Reason::BodyTooLarge => 413,
        _ => 200,
    };
    let signature_family = matches!(
        reason,
        Reason::SigMissing
            | Reason::SigMalformed
            | Reason::HeaderMalformed
            | Reason::AlgNotAllowed
            | Reason::CritUnsupported
            | Reason::SigInvalid
            | Reason::CertInvalid
            | Reason::CertNotRegistered
            | Reason::KeyUnknown
            | Reason::IdentityMissing
    );
    let now = crate::time::format_millis_z(ctx.now_ms).unwrap_or_default();
    let body = match s.envelope {
        Envelope::Spar2 => {
            let op = msg.path_only().rsplit('/').next().unwrap_or_default();
            let message = if signature_family {
                "StatusReasonCodeEnum.rjct_jwt_invalid"
            } else {
                reason.code()
            };
            // Member order as SPAR writes it; built with serde_json::Value maps would sort.
            let mut out = String::from("{\"response_header\":{\"request_id\":");
            out.push_str(&pointer("/request_header/request_id").to_string());
            out.push_str(",\"response_status\":\"ERROR\",\"response_error_code\":\"rjct.request.validation\",\"response_error_message\":");
            out.push_str(&Value::String(message.into()).to_string());
            out.push_str(",\"response_timestamp\":");
            out.push_str(&Value::String(now).to_string());
            out.push_str("},\"response_body\":{\"pagination_response\":null,\"response_payload\":{\"transaction_id\":");
            out.push_str(&pointer("/request_body/request_payload/transaction_id").to_string());
            out.push_str(",\"correlation_id\":null,");
            out.push_str(&Value::String(format!("{op}_response")).to_string());
            out.push_str(":[]}}}");
            out.into_bytes()
        }
        Envelope::G2pConnect1 => {
            let mut out = String::from("{\"header\":{\"version\":\"1.0.0\",\"message_id\":");
            out.push_str(&pointer("/header/message_id").to_string());
            out.push_str(",\"message_ts\":");
            out.push_str(&Value::String(now).to_string());
            out.push_str(",\"action\":");
            out.push_str(&pointer("/header/action").to_string());
            out.push_str(",\"status\":\"rjct\",\"status_reason_code\":\"rjct.jwt.invalid\",\"status_reason_message\":");
            out.push_str(&Value::String(reason.code().into()).to_string());
            out.push_str("},\"message\":null}");
            out.into_bytes()
        }
        Envelope::G2pConnectHttp => {
            let code = match reason {
                Reason::SigMissing => "err.signature.missing",
                Reason::IdentityMissing | Reason::KeyUnknown => "err.sender_id.invalid",
                Reason::PeerMismatch => "err.request.forbidden",
                Reason::BodyMissing
                | Reason::BodyMalformed
                | Reason::BodyTooLarge
                | Reason::ContentEncoding => "err.request.bad",
                Reason::KeysUnavailable | Reason::ReplayCacheFull => "err.service.unavailable",
                _ => "err.signature.invalid",
            };
            let mut out = String::from("{\"errors\":[{\"code\":");
            out.push_str(&Value::String(code.into()).to_string());
            out.push_str(",\"message\":");
            out.push_str(&Value::String(reason.code().into()).to_string());
            out.push_str("}]}");
            return Reply::json(reason.generic_status(), reason, out.into_bytes());
        }
    };
    Reply::json(status, reason, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojaloop_bodies_are_exact() {
        let r = mojaloop(Reason::SigInvalid);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body,
            br#"{"errorInformation":{"errorCode":"3105","errorDescription":"Invalid signature"}}"#
        );
        assert_eq!(
            mojaloop(Reason::BodyTooLarge).body,
            br#"{"errorInformation":{"errorCode":"3104","errorDescription":"Too large payload"}}"#
                .to_vec()
        );
        assert_eq!(mojaloop(Reason::PeerMismatch).status, 403);
        assert_eq!(mojaloop(Reason::KeysUnavailable).status, 503);
        assert!(r
            .headers
            .contains(&("x-signet-reason".into(), "sig_invalid".into())));
    }

    #[test]
    fn generic_body_names_only_the_code() {
        let r = generic(Reason::KeyUnknown, None);
        assert_eq!(r.status, 401);
        assert_eq!(r.body, br#"{"error":"key_unknown"}"#);
    }
}
