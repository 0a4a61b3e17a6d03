//! API keys, MISP licence keys and policies: the MOSIP model (`profiles.md` §5.5, §5.10).
//!
//! An API key belongs to one partner and names one policy; a policy lists the routes it allows
//! (method + path prefix or glob) and optional scopes; a MISP licence key belongs to a MISP,
//! which may serve a listed set of partners. Keys and licence keys have a status and validity
//! dates. They are configured in clear or as SHA-256 (hex) and only ever held, compared and
//! shown hashed: a lookup hashes the presented secret, logs carry the first 12 hex characters.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

use super::error::{Inactive, TokenError};

/// SHA-256 of a secret (API key, licence key). `Debug`/`Display` show 12 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes a secret as presented.
    pub fn of(secret: &str) -> SecretHash {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Reads a configured hash: 64 hex digits, either case.
    pub fn from_hex(s: &str) -> Option<SecretHash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(SecretHash(out))
    }

    /// First 12 hex characters: enough to correlate, not enough to guess from.
    pub fn short(&self) -> String {
        let mut s = hex::encode(self.0);
        s.truncate(12);
        s
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({})", self.short())
    }
}

impl fmt::Display for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short())
    }
}

/// Status of a partner, key, licence, MISP or policy (MOSIP `ACTIVE`, deactivated, blocked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In use.
    Active,
    /// Deactivated (partner, policy, MISP).
    Inactive,
    /// Withdrawn for good (key, licence).
    Revoked,
    /// Suspended (MOSIP "blocked" licence keys).
    Blocked,
}

/// Validity dates, unix ms, both inclusive (MOSIP `commenceOn ≤ now ≤ expiresOn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Validity {
    /// Not valid before.
    pub not_before_ms: Option<i64>,
    /// Not valid after.
    pub not_after_ms: Option<i64>,
}

/// Where `now` is relative to a [`Validity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InDate {
    /// Within the dates.
    Yes,
    /// Before the start.
    NotYet,
    /// After the end.
    Expired,
}

impl Validity {
    /// Where `now_ms` falls.
    pub fn at(&self, now_ms: u64) -> InDate {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        if self.not_before_ms.is_some_and(|t| now < t) {
            InDate::NotYet
        } else if self.not_after_ms.is_some_and(|t| now > t) {
            InDate::Expired
        } else {
            InDate::Yes
        }
    }
}

/// A path condition of a route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path (without query) starts with this.
    Prefix(String),
    /// The path (without query) matches this glob: `*` any run of characters within one
    /// segment, `**` any run including `/`.
    Glob(String),
}

impl PathMatch {
    /// Whether `path` (query already removed) matches.
    pub fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::Glob(g) => glob(g.as_bytes(), path.as_bytes()),
        }
    }
}

/// Glob match with `*` (not across `/`) and `**` (across `/`), run as an NFA over the
/// pattern positions: O(path × pattern), so a hostile path cannot make it blow up.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Byte(u8),
        Star,
        DoubleStar,
    }
    let mut toks = Vec::with_capacity(pat.len());
    let mut i = 0;
    while let Some(&b) = pat.get(i) {
        if b == b'*' && pat.get(i + 1) == Some(&b'*') {
            toks.push(Tok::DoubleStar);
            i += 2;
        } else if b == b'*' {
            toks.push(Tok::Star);
            i += 1;
        } else {
            toks.push(Tok::Byte(b));
            i += 1;
        }
    }
    // `live[j]`: the first j tokens can match the input read so far.
    let n = toks.len();
    let mut live = vec![false; n + 1];
    let close = |live: &mut Vec<bool>| {
        // A star may match nothing: position j live ⇒ j + 1 live.
        for j in 0..n {
            if live.get(j) == Some(&true)
                && matches!(toks.get(j), Some(Tok::Star | Tok::DoubleStar))
            {
                if let Some(x) = live.get_mut(j + 1) {
                    *x = true;
                }
            }
        }
    };
    if let Some(x) = live.get_mut(0) {
        *x = true;
    }
    close(&mut live);
    for &c in s {
        let mut next = vec![false; n + 1];
        for j in 0..n {
            if live.get(j) != Some(&true) {
                continue;
            }
            match toks.get(j) {
                Some(Tok::Byte(b)) if *b == c => {
                    if let Some(x) = next.get_mut(j + 1) {
                        *x = true;
                    }
                }
                // Stars consume the byte and stay; `*` never consumes `/`.
                Some(Tok::Star) if c != b'/' => {
                    if let Some(x) = next.get_mut(j) {
                        *x = true;
                    }
                }
                Some(Tok::DoubleStar) => {
                    if let Some(x) = next.get_mut(j) {
                        *x = true;
                    }
                }
                _ => {}
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            return false;
        }
        live = next;
    }
    live.get(n) == Some(&true)
}

/// One allowed route of a policy (or a route-policy rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Upper-case methods; empty = any.
    pub methods: Vec<String>,
    /// The path condition.
    pub path: PathMatch,
}

impl RouteRule {
    /// Whether `method` and `path` (query removed) match.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
            && self.path.matches(path)
    }
}

/// A policy: what a partner (or one of its API keys) may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Policy id.
    pub id: String,
    /// Status.
    pub status: Status,
    /// Validity dates.
    pub validity: Validity,
    /// Allowed routes (first match allows).
    pub routes: Vec<RouteRule>,
    /// Scopes the bearer token must carry (when non-empty, a token is needed).
    pub required_scopes: Vec<String>,
}

impl Policy {
    /// Active, in date, and allows `method` + `path`; scopes are checked by the caller, who
    /// has the token.
    pub fn check(&self, method: &str, path: &str, now_ms: u64) -> Result<(), TokenError> {
        if self.status != Status::Active || self.validity.at(now_ms) != InDate::Yes {
            return Err(TokenError::Inactive(Inactive::Policy));
        }
        if !self.routes.iter().any(|r| r.matches(method, path)) {
            return Err(TokenError::Inactive(Inactive::Route));
        }
        Ok(())
    }
}

/// A registered API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// SHA-256 of the key.
    pub hash: SecretHash,
    /// Owning partner id.
    pub partner: String,
    /// Policy id.
    pub policy: String,
    /// Status.
    pub status: Status,
    /// Validity dates.
    pub validity: Validity,
}

impl ApiKey {
    /// Active and in date (MOSIP IDA-MPA-012 / IDA-MPA-039).
    pub fn check(&self, now_ms: u64) -> Result<(), TokenError> {
        if self.status != Status::Active {
            return Err(TokenError::Inactive(Inactive::ApiKey));
        }
        if self.validity.at(now_ms) != InDate::Yes {
            return Err(TokenError::Inactive(Inactive::ApiKeyDates));
        }
        Ok(())
    }
}

/// A MISP licence key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceKey {
    /// SHA-256 of the key.
    pub hash: SecretHash,
    /// Owning MISP id.
    pub misp: String,
    /// Status.
    pub status: Status,
    /// Validity dates.
    pub validity: Validity,
}

/// A MISP (MOSIP Infrastructure Service Provider) and the partners it may serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misp {
    /// MISP id.
    pub id: String,
    /// Status.
    pub status: Status,
    /// Partner ids it may serve.
    pub partners: Vec<String>,
}

/// The key registry: API keys, licence keys, MISPs and policies, indexed by hash / id.
#[derive(Debug, Clone, Default)]
pub struct KeyRegistry {
    api_keys: HashMap<SecretHash, ApiKey>,
    licences: HashMap<SecretHash, LicenceKey>,
    misps: HashMap<String, Misp>,
    policies: HashMap<String, Policy>,
}

impl KeyRegistry {
    /// Builds the registry (uniqueness was checked by the configuration).
    pub fn new(
        api_keys: Vec<ApiKey>,
        licences: Vec<LicenceKey>,
        misps: Vec<Misp>,
        policies: Vec<Policy>,
    ) -> KeyRegistry {
        KeyRegistry {
            api_keys: api_keys.into_iter().map(|k| (k.hash, k)).collect(),
            licences: licences.into_iter().map(|k| (k.hash, k)).collect(),
            misps: misps.into_iter().map(|m| (m.id.clone(), m)).collect(),
            policies: policies.into_iter().map(|p| (p.id.clone(), p)).collect(),
        }
    }

    /// The API key presented, if registered (`key_unknown` otherwise). Status and dates are
    /// checked later ([`ApiKey::check`]), in MOSIP's order.
    pub fn api_key(&self, secret: &str) -> Result<&ApiKey, TokenError> {
        self.api_keys
            .get(&SecretHash::of(secret))
            .ok_or(TokenError::KeyUnknown)
    }

    /// A policy by id.
    pub fn policy(&self, id: &str) -> Option<&Policy> {
        self.policies.get(id)
    }

    /// The licence key presented and its MISP, checked in MOSIP's order: unknown (or MISP
    /// unknown/inactive) → IDA-MPA-007, blocked → -017, not commenced → -007, expired → -008;
    /// then the MISP must be allowed to serve `partner`.
    pub fn licence(
        &self,
        secret: &str,
        partner: Option<&str>,
        now_ms: u64,
    ) -> Result<(&LicenceKey, &Misp), TokenError> {
        let lk = self
            .licences
            .get(&SecretHash::of(secret))
            .ok_or(TokenError::Inactive(Inactive::LicenceUnknown))?;
        let misp = self
            .misps
            .get(&lk.misp)
            .filter(|m| m.status == Status::Active)
            .ok_or(TokenError::Inactive(Inactive::LicenceUnknown))?;
        if lk.status != Status::Active {
            return Err(TokenError::Inactive(Inactive::LicenceBlocked));
        }
        match lk.validity.at(now_ms) {
            InDate::Yes => {}
            InDate::NotYet => return Err(TokenError::Inactive(Inactive::LicenceNotCommenced)),
            InDate::Expired => return Err(TokenError::Inactive(Inactive::LicenceExpired)),
        }
        if let Some(p) = partner {
            if !misp.partners.iter().any(|x| x == p) {
                return Err(TokenError::Inactive(Inactive::MispNotForPartner));
            }
        }
        Ok((lk, misp))
    }
}

/// A variable segment of a [`PathTemplate`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Any,
    Licence,
    Partner,
    ApiKey,
}

/// A path template such as `/idauthentication/v1/auth/{license}/{partner}/{api_key}` (whole
/// path) or `.../{license}/{partner}/{api_key}` (the last segments of any path). `*` matches
/// any one segment. `ida` reads MOSIP IDA's own path variables, exactly as `jws_verify`'s
/// `mosip` profile does ([`crate::profiles::mosip::ida_triple`]): `{MISP-LK}/{Partner-ID}/
/// {API-Key}` right after the operation (`auth`, `kyc`, `otp`, `kyc-auth/delegated`, ...)
/// and nothing after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    suffix: bool,
    segs: Vec<Seg>,
    ida: bool,
}

/// What a template captured from a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PathIds<'a> {
    /// The MISP licence key segment.
    pub licence: Option<&'a str>,
    /// The partner id segment.
    pub partner: Option<&'a str>,
    /// The API key segment.
    pub api_key: Option<&'a str>,
}

impl PathTemplate {
    /// Parses a template; names what is wrong.
    pub fn parse(t: &str) -> Result<PathTemplate, &'static str> {
        if t == "ida" {
            return Ok(PathTemplate {
                suffix: true,
                segs: vec![Seg::Licence, Seg::Partner, Seg::ApiKey],
                ida: true,
            });
        }
        let (suffix, rest) = match t.strip_prefix("...") {
            Some(r) => (true, r),
            None => (false, t),
        };
        let rest = rest.strip_prefix('/').ok_or("must start with / or .../")?;
        let mut segs = Vec::new();
        for s in rest.split('/') {
            segs.push(match s {
                "" => return Err("empty segment"),
                "*" => Seg::Any,
                "{license}" | "{licence}" => Seg::Licence,
                "{partner}" => Seg::Partner,
                "{api_key}" => Seg::ApiKey,
                _ if s.contains(['{', '}', '*', '?', '#']) => {
                    return Err("unknown variable or wildcard in a segment")
                }
                _ => Seg::Lit(s.to_string()),
            });
        }
        for v in [Seg::Licence, Seg::Partner, Seg::ApiKey] {
            if segs.iter().filter(|s| **s == v).count() > 1 {
                return Err("a variable appears twice");
            }
        }
        if !segs
            .iter()
            .any(|s| matches!(s, Seg::Licence | Seg::Partner | Seg::ApiKey))
        {
            return Err("no {license}, {partner} or {api_key} variable");
        }
        Ok(PathTemplate {
            suffix,
            segs,
            ida: false,
        })
    }

    fn segments(path: &str) -> Option<Vec<&str>> {
        let p = strip_query(path).strip_prefix('/')?;
        Some(p.split('/').collect())
    }

    /// Captures the variables when `path` (query ignored) matches. Captured segments must be
    /// non-empty.
    pub fn capture<'a>(&self, path: &'a str) -> Option<PathIds<'a>> {
        if self.ida {
            // The triple is the path's last three segments, so redaction below still holds.
            let t = crate::profiles::mosip::ida_triple(path)?;
            return Some(PathIds {
                licence: Some(t.licence),
                partner: Some(t.partner),
                api_key: Some(t.api_key),
            });
        }
        let segs = Self::segments(path)?;
        let start = if self.suffix {
            segs.len().checked_sub(self.segs.len())?
        } else if segs.len() == self.segs.len() {
            0
        } else {
            return None;
        };
        let mut ids = PathIds::default();
        for (t, s) in self.segs.iter().zip(segs.get(start..)?.iter().copied()) {
            match t {
                Seg::Lit(l) if l == s => {}
                Seg::Lit(_) => return None,
                _ if s.is_empty() => return None,
                Seg::Any => {}
                Seg::Licence => ids.licence = Some(s),
                Seg::Partner => ids.partner = Some(s),
                Seg::ApiKey => ids.api_key = Some(s),
            }
        }
        Some(ids)
    }

    /// The path without query, licence and API key segments replaced by their short hashes
    /// (`~` + 12 hex) — what logs and audit records may show.
    pub fn redact(&self, path: &str) -> Option<String> {
        if self.ida {
            return Self::redact_ida(path, self.capture(path).is_some());
        }
        self.capture(path)?;
        let segs = Self::segments(path)?;
        let start = if self.suffix {
            segs.len().saturating_sub(self.segs.len())
        } else {
            0
        };
        let mut out = String::with_capacity(path.len());
        for (i, s) in segs.iter().enumerate() {
            out.push('/');
            let t = i.checked_sub(start).and_then(|j| self.segs.get(j));
            match t {
                Some(Seg::Licence | Seg::ApiKey) => {
                    out.push('~');
                    out.push_str(&SecretHash::of(s).short());
                }
                _ => out.push_str(s),
            }
        }
        Some(out)
    }
}

impl PathTemplate {
    /// An IDA path: every segment after the operation is hashed — the partner id alone stays
    /// readable when the triple is — so a path with extra or missing segments, which IDA does
    /// not read, still shows no licence or API key in clear.
    fn redact_ida(path: &str, readable: bool) -> Option<String> {
        let segs = Self::segments(path)?;
        let start = crate::profiles::mosip::ida_variables_at(&segs)?;
        let mut out = String::with_capacity(path.len());
        for (i, s) in segs.iter().enumerate() {
            out.push('/');
            if i < start || (readable && i == start + 1) {
                out.push_str(s);
            } else {
                out.push('~');
                out.push_str(&SecretHash::of(s).short());
            }
        }
        Some(out)
    }
}

/// `path` without its query string.
pub fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

#[cfg(test)]
#[path = "apikey_tests.rs"]
mod tests;
