//! OCEN's replies: Spring WebFlux's default error shape (§4.10).

use serde::Serialize;

use crate::message::{Context, Message};
use crate::reason::Reason;
use crate::reply::Reply;

/// Spring WebFlux's default error shape (§4.10); token failures as Spring's resource server.
pub fn reply(
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
