//! Mojaloop's `errorInformation` replies (docs/profiles.md#mojaloop).

use serde::Serialize;

use crate::reason::Reason;
use crate::reply::Reply;

/// Mojaloop `errorInformation` (docs/profiles.md#mojaloop).
pub fn reply(reason: Reason) -> Reply {
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
    struct ErrorInformation<'a> {
        error_code: &'a str,
        error_description: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct MojaloopError<'a> {
        error_information: ErrorInformation<'a>,
    }
    let body = serde_json::to_vec(&MojaloopError {
        error_information: ErrorInformation {
            error_code: code,
            error_description: text,
        },
    })
    .unwrap_or_default();
    Reply::json(status, reason, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojaloop_bodies_are_exact() {
        let r = reply(Reason::SigInvalid);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.body,
            br#"{"errorInformation":{"errorCode":"3105","errorDescription":"Invalid signature"}}"#
        );
        assert_eq!(
            reply(Reason::BodyTooLarge).body,
            br#"{"errorInformation":{"errorCode":"3104","errorDescription":"Too large payload"}}"#
                .to_vec()
        );
        assert_eq!(reply(Reason::PeerMismatch).status, 403);
        assert_eq!(reply(Reason::KeysUnavailable).status, 503);
        assert!(r
            .headers
            .contains(&("x-signet-reason".into(), "sig_invalid".into())));
    }
}
