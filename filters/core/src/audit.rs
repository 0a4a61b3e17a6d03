//! What a deciding filter (`gateway`, `token_check`, `jws_verify`, `jws_sign`, `mosip_seal`)
//! concluded about one message: the [`Verdict`] its stats count and the [`AuditRecord`] its
//! access-log line carries (`docs/stats.md` lists both).
//!
//! A record never holds a secret in clear: tokens appear as `jti` or a short hash, keys as
//! short hashes, and the route loses its query and the path segments that may carry keys.

use serde::ser::{Serialize, SerializeMap, Serializer};

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
/// filter state `signet.audit.<filter>` when the filter's `audit` setting is on: the fields in
/// this order, `alg`, `kid` and the [`TokenAudit`] fields only when set, other absent values
/// as `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub alg: Option<&'static str>,
    /// `jws_verify` / `jws_sign`: the key id, when the JWS names one.
    pub kid: Option<String>,
    /// `token_check`: how the caller proved who it is.
    pub token: Option<TokenAudit>,
}

/// The fields only `token_check` fills, flattened into the record.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            method: truncated(method, 16),
            route: route_for_log(path),
            alg: None,
            kid: None,
            token: None,
        }
    }

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        // Sized for a token_check record, the longest usual one: written without regrowing.
        let mut out = Vec::with_capacity(512);
        // Plain strings and numbers cannot fail to serialise; `{}` is the fallback all the same.
        match serde_json::to_writer(&mut out, self) {
            Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "{}".into()),
            Err(_) => "{}".into(),
        }
    }
}

/// Written member by member (serde's `flatten` of [`TokenAudit`] went through a buffering map
/// serializer, several times slower, on every message of every filter).
impl Serialize for AuditRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ts_ms", &self.ts_ms)?;
        m.serialize_entry("filter", self.filter)?;
        m.serialize_entry("profile", self.profile)?;
        m.serialize_entry("decision", self.decision)?;
        m.serialize_entry("reason", self.reason)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("partner", &self.partner)?;
        m.serialize_entry("method", &self.method)?;
        m.serialize_entry("route", &self.route)?;
        if let Some(alg) = self.alg {
            m.serialize_entry("alg", alg)?;
        }
        if let Some(kid) = &self.kid {
            m.serialize_entry("kid", kid)?;
        }
        if let Some(t) = &self.token {
            m.serialize_entry("sources", &t.sources)?;
            m.serialize_entry("cert_sha256", &t.cert_sha256)?;
            m.serialize_entry("provider", &t.provider)?;
            m.serialize_entry("token_id", &t.token_id)?;
            m.serialize_entry("token_verifier", &t.token_verifier)?;
            m.serialize_entry("api_key", &t.api_key)?;
            m.serialize_entry("misp", &t.misp)?;
            m.serialize_entry("licence_key", &t.licence_key)?;
            m.serialize_entry("policy", &t.policy)?;
        }
        m.end()
    }
}

/// A path as it may appear in a log line or audit record: no query, and only its first three
/// segments (MOSIP partner paths carry the MISP licence key, the partner id and the API key
/// after those), at most 256 characters.
pub fn route_for_log(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    // A fifth segment starts after the fourth `/` (the empty one before the leading `/` counts).
    match path.match_indices('/').nth(3) {
        Some((cut, _)) => {
            let kept = path.get(..cut).unwrap_or_default();
            kept.chars().chain("/…".chars()).take(256).collect()
        }
        None => truncated(path, 256),
    }
}

/// The first `max` characters of `s` (one allocation, no per-character work when it is short).
pub fn truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        s.to_string()
    } else {
        s.chars().take(max).collect()
    }
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
        assert_eq!(route_for_log("/a/b/c"), "/a/b/c");
        assert_eq!(route_for_log("/a/b/c/"), "/a/b/c/…");
        assert_eq!(route_for_log("a/b/c/d/e"), "a/b/c/d/…");
        let long = format!("/{}", "é".repeat(300));
        assert_eq!(route_for_log(&long).chars().count(), 256);
        assert_eq!(truncated("ééé", 2), "éé");
    }

    /// Records with every field set, none set, and strings that need escaping.
    fn samples() -> Vec<AuditRecord> {
        let mut bare = AuditRecord::new(0, "gateway", "none", Verdict::Ok, "", "");
        bare.partner = None;
        let mut signed = AuditRecord::new(
            1_780_394_400_123,
            "jws_verify",
            "mojaloop",
            Verdict::Ok,
            "POST",
            "/quotes?x=1",
        );
        signed.partner = Some("dfsp-a".into());
        signed.alg = Some("RS256");
        signed.kid = Some("k\"1\\\u{1}\u{8}\u{c}\n\r\té/".into());
        let mut token = AuditRecord::new(
            u64::MAX,
            "token_check",
            "generic",
            Verdict::Refused(Reason::PeerMismatch),
            "PUT",
            "/a/b/c/d/e",
        );
        token.status = Some(403);
        token.token = Some(TokenAudit {
            sources: vec!["certificate", "token"],
            cert_sha256: Some("ab:12".into()),
            provider: Some("auth".into()),
            token_id: Some("jti:x\u{1f}".into()),
            token_verifier: Some("token_check"),
            api_key: None,
            misp: Some("m1".into()),
            licence_key: None,
            policy: Some("p".into()),
        });
        let mut empty_token = bare.clone();
        empty_token.token = Some(TokenAudit {
            sources: vec![],
            cert_sha256: None,
            provider: None,
            token_id: None,
            token_verifier: None,
            api_key: None,
            misp: None,
            licence_key: None,
            policy: None,
        });
        vec![bare, signed, token, empty_token]
    }

    #[test]
    fn records_serialise_to_these_exact_lines() {
        let lines: Vec<String> = samples().iter().map(AuditRecord::to_json).collect();
        let want = [
            r#"{"ts_ms":0,"filter":"gateway","profile":"none","decision":"allow","reason":"ok","status":null,"partner":null,"method":"","route":""}"#,
            r#"{"ts_ms":1780394400123,"filter":"jws_verify","profile":"mojaloop","decision":"allow","reason":"ok","status":null,"partner":"dfsp-a","method":"POST","route":"/quotes","alg":"RS256","kid":"k\"1\\\u0001\b\f\n\r\té/"}"#,
            r#"{"ts_ms":18446744073709551615,"filter":"token_check","profile":"generic","decision":"deny","reason":"peer_mismatch","status":403,"partner":null,"method":"PUT","route":"/a/b/c/…","sources":["certificate","token"],"cert_sha256":"ab:12","provider":"auth","token_id":"jti:x\u001f","token_verifier":"token_check","api_key":null,"misp":"m1","licence_key":null,"policy":"p"}"#,
            r#"{"ts_ms":0,"filter":"gateway","profile":"none","decision":"allow","reason":"ok","status":null,"partner":null,"method":"","route":"","sources":[],"cert_sha256":null,"provider":null,"token_id":null,"token_verifier":null,"api_key":null,"misp":null,"licence_key":null,"policy":null}"#,
        ];
        assert_eq!(lines, want);
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
