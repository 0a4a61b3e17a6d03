//! API keys, MISP licence keys and policies as `token_check` reads them (docs/profiles.md#mosip):
//! where the secrets arrive ([`PathTemplate`]) and the checks in MOSIP's order over the partner
//! registry ([`crate::registry`]), which holds the keys, licences and policies hashed.
//! Logs carry the first 12 hex characters of a secret's hash, never the secret.

use super::error::{Inactive, TokenError};
use crate::registry::{
    AccessPolicy, ApiKey, InDate, LicenceKey, Misp, Registry, SecretHash, Status,
};

fn ms(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}

/// The policy is active, in date, and allows `method` + `path`; scopes are checked by the
/// caller, who has the token.
pub fn check_policy(
    p: &AccessPolicy,
    method: &str,
    path: &str,
    now_ms: u64,
) -> Result<(), TokenError> {
    if !p.in_force(ms(now_ms)) {
        return Err(TokenError::Inactive(Inactive::Policy));
    }
    if !p.allows(method, path) {
        return Err(TokenError::Inactive(Inactive::Route));
    }
    Ok(())
}

/// The API key is active and in date (MOSIP IDA-MPA-012 / IDA-MPA-039).
pub fn check_api_key(k: &ApiKey, now_ms: u64) -> Result<(), TokenError> {
    if k.status != Status::Active {
        return Err(TokenError::Inactive(Inactive::ApiKey));
    }
    if k.validity.at(ms(now_ms)) != InDate::Yes {
        return Err(TokenError::Inactive(Inactive::ApiKeyDates));
    }
    Ok(())
}

/// The licence key presented and its MISP, checked in MOSIP's order: unknown (or MISP inactive)
/// → IDA-MPA-007, blocked → -017, not commenced → -007, expired → -008; then the MISP must be
/// allowed to serve `partner`.
pub fn check_licence<'r>(
    reg: &'r Registry,
    secret: &str,
    partner: Option<&str>,
    now_ms: u64,
) -> Result<(&'r LicenceKey, &'r Misp), TokenError> {
    let (lk, misp) = reg
        .licence(secret)
        .filter(|(_, m)| m.status == Status::Active)
        .ok_or(TokenError::Inactive(Inactive::LicenceUnknown))?;
    if lk.status != Status::Active {
        return Err(TokenError::Inactive(Inactive::LicenceBlocked));
    }
    match lk.validity.at(ms(now_ms)) {
        InDate::Yes => {}
        InDate::NotYet => return Err(TokenError::Inactive(Inactive::LicenceNotCommenced)),
        InDate::Expired => return Err(TokenError::Inactive(Inactive::LicenceExpired)),
    }
    if partner.is_some_and(|p| !misp.serves(p)) {
        return Err(TokenError::Inactive(Inactive::MispNotForPartner));
    }
    Ok((lk, misp))
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
/// `mosip` profile does ([`crate::path::ida_triple`]): `{MISP-LK}/{Partner-ID}/
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
            let t = crate::path::ida_triple(path)?;
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
        let start = crate::path::ida_variables_at(&segs)?;
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
