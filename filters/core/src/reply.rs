//! Local replies: the shape every filter sends, with the stable reason code in
//! `x-signet-reason`, and Signet's generic body (profiles.md §2.8). Each platform's own status
//! and body (§3.11, §4.10, §5.10, §6.9) is its profile module's (`crate::profiles`).
//!
//! Bodies never carry key material, stack traces or other partners' names: only the fixed
//! texts of the platform and fields echoed from the caller's own request.

use serde::Serialize;

use crate::reason::Reason;

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
    struct E<'a> {
        error: &'a str,
    }
    let body = serde_json::to_vec(&E {
        error: reason.code(),
    })
    .unwrap_or_default();
    Reply::json(status.unwrap_or(reason.generic_status()), reason, body)
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
