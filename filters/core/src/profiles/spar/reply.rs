//! SPAR / G2P Connect error envelopes (docs/profiles.md#spar).

use serde_json::Value;

use super::settings::Envelope;
use super::SparVerify;
use crate::message::{Context, Message};
use crate::reason::Reason;
use crate::reply::Reply;

/// SPAR / G2P Connect envelopes (docs/profiles.md#spar).
pub fn reply(s: &SparVerify, reason: Reason, msg: &Message, ctx: &Context) -> Reply {
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
