//! IDA's error envelope, HTTP 200 by default (docs/profiles.md#mosip).

use super::MosipVerify;
use crate::message::{Context, Message};
use crate::reason::{Inactive, Reason, Refusal};
use crate::reply::{ida, ida_invalid_request, ida_not_processed, ida_status, Reply};

/// IDA's error envelope, HTTP 200 by default (docs/profiles.md#mosip).
pub fn reply(
    m: &MosipVerify,
    refusal: &dyn Refusal,
    msg: &Message,
    ctx: &Context,
    client_side: bool,
) -> Reply {
    let reason = refusal.reason();
    let (code, text): (&str, String) = if client_side {
        (
            "IDA-MPA-001",
            "Digital signature verification failed for response-signature header".into(),
        )
    } else {
        match (reason, refusal.inactive()) {
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
                ida_invalid_request()
            }
            _ => ida_not_processed(),
        }
    };
    ida(
        reason,
        ida_status(reason, client_side, m.error_status_4xx),
        (code, text),
        &msg.body,
        msg.path_only(),
        ctx.now_ms,
    )
}
