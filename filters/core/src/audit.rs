//! What a deciding filter (`gateway`, `token_check`, `jws_verify`, `jws_sign`, `mosip_seal`)
//! concluded about one message: the [`Verdict`] its stats count and the [`AuditRecord`] its
//! access-log line carries (`docs/stats.md` lists both).
//!
//! A record never holds a secret in clear: tokens appear as `jti` or a short hash, keys as
//! short hashes, and the route loses its query and the path segments that may carry keys.

use serde::Serialize;

use crate::reason::Reason;

/// A filter's verdict on one message. Also the `reason` tag of the `decisions` stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted, and what the filter checks or adds was there (allowed, verified, signed).
    Ok,
    /// The route policy says this message is not the filter's business.
    Skipped,
    /// `jws_verify`: no signature on a route where it is optional; forwarded unsigned.
    Unsigned,
    /// Refused with a local reply.
    Refused(Reason),
}

impl Verdict {
    /// How many distinct verdicts there are: the width of a stats table row.
    pub const COUNT: usize = 3 + Reason::ALL.len();

    /// A dense index in `0..COUNT` (stats tables are indexed by it, not by name).
    pub fn index(self) -> usize {
        match self {
            Verdict::Ok => 0,
            Verdict::Skipped => 1,
            Verdict::Unsigned => 2,
            // `Reason::ALL` lists the variants in declaration order (tested below).
            Verdict::Refused(r) => 3 + r as usize,
        }
    }

    /// The verdict at `index` (the inverse of [`Verdict::index`]).
    pub fn from_index(index: usize) -> Option<Verdict> {
        match index {
            0 => Some(Verdict::Ok),
            1 => Some(Verdict::Skipped),
            2 => Some(Verdict::Unsigned),
            i => Reason::ALL.get(i - 3).map(|r| Verdict::Refused(*r)),
        }
    }

    /// The stats tag value and the record's `reason`: `ok`, `skipped`, `unsigned` or the
    /// reason code.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Skipped => "skipped",
            Verdict::Unsigned => "unsigned",
            Verdict::Refused(r) => r.code(),
        }
    }

    /// `allow`, `skip` or `deny`.
    pub fn decision(self) -> &'static str {
        match self {
            Verdict::Ok | Verdict::Unsigned => "allow",
            Verdict::Skipped => "skip",
            Verdict::Refused(_) => "deny",
        }
    }
}

/// One filter's audit record for one message, serialised once as a JSON object into the
/// filter state `signet.audit.<filter>` when the filter's `audit` setting is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Unix ms.
    pub ts_ms: u64,
    /// The filter's `root_id`.
    pub filter: &'static str,
    /// The profile the filter speaks (`none` for the gateway).
    pub profile: &'static str,
    /// `allow`, `skip` or `deny`.
    pub decision: &'static str,
    /// `ok`, `skipped`, `unsigned` or the reason code of a refusal.
    pub reason: &'static str,
    /// HTTP status of the local reply on `deny`.
    pub status: Option<u16>,
    /// The authenticated partner (on `deny`, the one known when refused).
    pub partner: Option<String>,
    /// `:method` (at most 16 characters).
    pub method: String,
    /// The path: no query, secrets hashed or cut off.
    pub route: String,
    /// `jws_verify` / `jws_sign`: the JWS algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<&'static str>,
    /// `jws_verify` / `jws_sign`: the key id, when the JWS names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `token_check`: how the caller proved who it is.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenAudit>,
}

/// The fields only `token_check` fills, flattened into the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenAudit {
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
}

impl AuditRecord {
    /// A record with the fields every filter has; `route` is taken through [`route_for_log`].
    pub fn new(
        ts_ms: u64,
        filter: &'static str,
        profile: &'static str,
        verdict: Verdict,
        method: &str,
        path: &str,
    ) -> AuditRecord {
        AuditRecord {
            ts_ms,
            filter,
            profile,
            decision: verdict.decision(),
            reason: verdict.code(),
            status: None,
            partner: None,
            method: method.chars().take(16).collect(),
            route: route_for_log(path),
            alg: None,
            kid: None,
            token: None,
        }
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        // Plain strings and numbers cannot fail to serialise; `{}` is the fallback all the same.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A path as it may appear in a log line or audit record: no query, and only its first three
/// segments (MOSIP partner paths carry the MISP licence key, the partner id and the API key
/// after those), at most 256 characters.
pub fn route_for_log(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut kept: Vec<&str> = path.splitn(5, '/').collect();
    if kept.len() == 5 {
        kept.truncate(4);
        kept.push("…");
    }
    kept.join("/").chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_indexes_are_dense_and_invert() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "Reason::ALL must follow declaration order");
        }
        for i in 0..Verdict::COUNT {
            let v = Verdict::from_index(i);
            assert_eq!(v.map(Verdict::index), Some(i));
        }
        assert_eq!(Verdict::from_index(Verdict::COUNT), None);
        let codes: std::collections::HashSet<_> = (0..Verdict::COUNT)
            .filter_map(Verdict::from_index)
            .map(Verdict::code)
            .collect();
        assert_eq!(
            codes.len(),
            Verdict::COUNT,
            "stats tag values must be distinct"
        );
    }

    #[test]
    fn decisions() {
        assert_eq!(Verdict::Ok.decision(), "allow");
        assert_eq!(Verdict::Unsigned.decision(), "allow");
        assert_eq!(Verdict::Skipped.decision(), "skip");
        let refused = Verdict::Refused(Reason::SigInvalid);
        assert_eq!(
            (refused.decision(), refused.code()),
            ("deny", "sig_invalid")
        );
    }

    #[test]
    fn logged_routes_lose_the_query_and_the_segments_that_carry_keys() {
        assert_eq!(
            route_for_log("/idauthentication/v1/auth/LK123/partner-a/APIKEY?x=1"),
            "/idauthentication/v1/auth/…"
        );
        assert_eq!(
            route_for_log("/transfers/abc?apikey=secret"),
            "/transfers/abc"
        );
        assert_eq!(route_for_log("/parties/MSISDN/123"), "/parties/MSISDN/123");
        assert_eq!(route_for_log("/a#frag"), "/a");
        assert_eq!(route_for_log(""), "");
        assert_eq!(route_for_log(&"/x".repeat(400)).chars().count(), 8);
    }

    #[test]
    fn a_record_is_one_json_object_with_the_common_fields() {
        let mut r = AuditRecord::new(
            7,
            "jws_verify",
            "mojaloop",
            Verdict::Refused(Reason::Stale),
            "POST-but-much-longer-than-sixteen",
            "/transfers?x=1",
        );
        r.status = Some(400);
        r.partner = Some("dfsp-a".into());
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_default();
        assert_eq!(v["filter"], "jws_verify");
        assert_eq!(v["profile"], "mojaloop");
        assert_eq!(v["decision"], "deny");
        assert_eq!(v["reason"], "stale");
        assert_eq!(v["status"], 400);
        assert_eq!(v["partner"], "dfsp-a");
        assert_eq!(v["method"], "POST-but-much-lo");
        assert_eq!(v["route"], "/transfers");
        // Fields of other filters are absent, not null.
        assert!(v.get("alg").is_none() && v.get("token_id").is_none(), "{v}");
    }
}
