//! `token_check`, host-free: who is calling, proven by a bearer JWT, an API key / MISP licence
//! key, the mTLS certificate or a platform header — all bound to one registered partner
//! (docs/filters.md#token_check-provider-side; docs/profiles.md#mojaloop, #ocen, #mosip).
//!
//! The glue reads the request facts and the clock, calls [`check_or_wait`] (or [`check`] once
//! it has waited), and acts on the answer: forward (setting `forward_partner_header` and filter
//! state from the [`Decision`]), send the local reply of the [`Rejection`] ([`reply`]), or wait
//! for the keys ([`Checked::NeedKeys`]). It also runs the JWKS callouts
//! that [`TokenState::due_fetches`] asks for and reports them back.

pub mod apikey;
pub mod audit;
pub mod binding;
pub mod config;
pub mod error;
pub mod fetch;
pub mod fetch_config;
pub mod jwks;
pub mod jwt;
pub mod struct_pb;

#[cfg(test)]
mod testkeys;

pub use config::{ConfigError, TokenConfig};
pub use error::{ClaimError, Inactive, Source, TokenError};

use crate::crypto::CryptoBackend;
use crate::json::JsonValue;
use crate::reason::{Refusal, Rejection};
use crate::registry::SecretHash;
use crate::reply::Reply;
use crate::route::Policy;
use apikey::strip_query;
use config::{JwksSource, Requirement};
use jwks::{cache_control_max_age, JwksBodyError, JwksCache, JwksUpdate};
use jwt::{CachedToken, Claims, TokenCache, UntrustedJwt};
use std::rc::Rc;

/// What the glue knows about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path` (with query).
    pub path: &'a str,
    /// Request headers, names lower-case (as Envoy gives them).
    pub headers: &'a [(String, String)],
    /// Names of the validated client certificate: SAN URIs, SAN DNS names, subject DN.
    pub tls_names: &'a [String],
    /// Hex SHA-256 of the client certificate, for the audit record.
    pub cert_sha256: Option<&'a str>,
    /// Unix ms.
    pub now_ms: u64,
    /// jwt_authn's payload from dynamic metadata, when `trust_jwt_authn` is configured.
    pub jwt_authn_claims: Option<&'a JsonValue>,
}

/// What was established about a request, accepted or not (for logs and the audit record).
/// Secrets appear only as short hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    /// The bound partner (or, on rejection, the partner known so far).
    pub partner: Option<String>,
    /// Provider that verified the token.
    pub provider: Option<String>,
    /// `jti:<jti>` or `sha256:<12 hex>` of the token.
    pub token_id: Option<String>,
    /// Who verified the token's signature: `token_check`, or `jwt_authn` (`trust_jwt_authn`).
    pub token_verifier: Option<&'static str>,
    /// Policy applied.
    pub policy: Option<String>,
    /// MISP of the licence key.
    pub misp: Option<String>,
    /// Short hash of the API key.
    pub api_key: Option<String>,
    /// Short hash of the licence key.
    pub licence_key: Option<String>,
    /// The sources that named the partner.
    pub sources: Vec<Source>,
    /// Path without query, licence / API key segments hashed.
    pub route: String,
}

/// An accepted request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// What was established.
    pub findings: Findings,
    /// The verified claims, if a token was presented.
    pub claims: Option<Claims>,
    /// Route policy `skip`: nothing was checked.
    pub skipped: bool,
    /// The token came from the verified-token cache.
    pub cache_hit: bool,
}

impl Decision {
    /// The bound partner id.
    pub fn partner(&self) -> Option<&str> {
        self.findings.partner.as_deref()
    }
}

/// What [`check_or_wait`] decided.
// One per request, unpacked at once: boxing the common case would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Checked {
    /// Accepted or refused.
    Decided(Result<Decision, Rejection<TokenError, Box<Findings>>>),
    /// The token's `kid` is in no loaded key set while a JWKS refetch is granted, due or under
    /// way: not a refusal yet. The glue waits for the keys and decides again, with [`check`].
    NeedKeys,
}

/// A JWKS callout the glue should make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksFetch {
    /// Provider index (report back with it).
    pub provider: usize,
    /// Envoy cluster.
    pub cluster: String,
    /// `:authority`.
    pub authority: String,
    /// `:path`.
    pub path: String,
    /// Callout timeout.
    pub timeout_ms: u64,
}

/// Per-VM mutable state: JWKS caches (one per remote provider) and the verified-token cache.
#[derive(Debug)]
pub struct TokenState {
    jwks: Vec<Option<JwksCache>>,
    tokens: TokenCache,
}

impl TokenState {
    /// Fresh state for `cfg`.
    pub fn new(cfg: &TokenConfig) -> TokenState {
        TokenState {
            jwks: cfg
                .providers
                .iter()
                .map(|p| match &p.keys {
                    JwksSource::Remote(r) => Some(JwksCache::new(r.settings)),
                    JwksSource::Static(_) => None,
                })
                .collect(),
            tokens: TokenCache::new(cfg.token_cache_entries),
        }
    }

    /// The JWKS cache of provider `i` (`None` for inline keys).
    pub fn jwks(&self, i: usize) -> Option<&JwksCache> {
        self.jwks.get(i).and_then(Option::as_ref)
    }

    /// Whether a JWKS fetch is due or under way for any provider at `now_ms`.
    pub fn fetch_pending(&self, now_ms: u64) -> bool {
        self.jwks
            .iter()
            .flatten()
            .any(|c| c.in_flight(now_ms) || c.needs_refresh(now_ms))
    }

    fn generation(&self, i: usize) -> u64 {
        generation(&self.jwks, i)
    }

    /// The callouts to start now; each is marked in flight (single-flight per provider).
    pub fn due_fetches(&mut self, cfg: &TokenConfig, now_ms: u64) -> Vec<JwksFetch> {
        let mut out = Vec::new();
        for (i, (slot, p)) in self.jwks.iter_mut().zip(&cfg.providers).enumerate() {
            let (Some(cache), JwksSource::Remote(r)) = (slot.as_mut(), &p.keys) else {
                continue;
            };
            if cache.needs_refresh(now_ms) && cache.start_fetch(now_ms) {
                out.push(JwksFetch {
                    provider: i,
                    cluster: r.cluster.clone(),
                    authority: r.authority.clone(),
                    path: r.path.clone(),
                    timeout_ms: r.timeout_ms,
                });
            }
        }
        out
    }

    /// Reports a JWKS callout: `status` `None` when the call failed; `cache_control` is the
    /// response header. Only a 200 with a usable JWK set replaces the keys.
    pub fn on_jwks_response(
        &mut self,
        provider: usize,
        status: Option<u16>,
        body: &[u8],
        cache_control: Option<&str>,
        now_ms: u64,
    ) -> Option<Result<JwksUpdate, JwksBodyError>> {
        let cache = self.jwks.get_mut(provider)?.as_mut()?;
        if status == Some(200) {
            Some(cache.on_fetch_ok(body, cache_control.and_then(cache_control_max_age), now_ms))
        } else {
            cache.on_fetch_err(now_ms);
            None
        }
    }
}

/// The key-set generation of provider `i` (0 for inline keys).
fn generation(jwks: &[Option<JwksCache>], i: usize) -> u64 {
    jwks.get(i)
        .and_then(Option::as_ref)
        .map_or(0, JwksCache::generation)
}

/// The local reply to `err` in the configured format (`crate::reply`); `route` as in
/// [`Findings::route`], `request_id` as [`crate::reply::request_id`] makes it.
pub fn reply(
    err: &TokenError,
    cfg: &TokenConfig,
    route: &str,
    now_ms: u64,
    request_id: &str,
) -> Reply {
    let reason = err.reason();
    match cfg.error_format {
        config::TokenErrorFormat::Rfc6750 => {
            crate::reply::rfc6750(reason, err.inactive(), &cfg.realm)
        }
        config::TokenErrorFormat::Ocen => crate::reply::spring(
            reason,
            route,
            i64::try_from(now_ms).unwrap_or(i64::MAX),
            request_id,
            false,
        ),
    }
}

/// Decides one request. See the module doc of each step; the order follows MOSIP's where it applies
/// (docs/profiles.md#mosip): credentials present and valid, binding, partner, policy, API key
/// status and dates, licence key.
pub fn check(
    cfg: &TokenConfig,
    state: &mut TokenState,
    req: &RequestFacts<'_>,
    backend: &dyn CryptoBackend,
) -> Result<Decision, Rejection<TokenError, Box<Findings>>> {
    let mut f = Findings {
        route: redacted_route(cfg, req.path),
        ..Findings::default()
    };
    match run(cfg, state, req, backend, &mut f) {
        Ok((claims, skipped, cache_hit)) => Ok(Decision {
            findings: f,
            claims,
            skipped,
            cache_hit,
        }),
        Err(error) => Err(Rejection {
            error,
            findings: Box::new(f),
        }),
    }
}

/// As [`check`] for a request that may still wait for keys: an unknown `kid` (which asks for
/// an early refetch) is [`Checked::NeedKeys`] while any JWKS fetch is due or under way — a
/// refetch granted to an earlier request starts only on the root's next tick.
pub fn check_or_wait(
    cfg: &TokenConfig,
    state: &mut TokenState,
    req: &RequestFacts<'_>,
    backend: &dyn CryptoBackend,
) -> Checked {
    match check(cfg, state, req, backend) {
        Err(rej) if rej.error == TokenError::KidUnknown && state.fetch_pending(req.now_ms) => {
            Checked::NeedKeys
        }
        result => Checked::Decided(result),
    }
}

fn run(
    cfg: &TokenConfig,
    state: &mut TokenState,
    req: &RequestFacts<'_>,
    backend: &dyn CryptoBackend,
    f: &mut Findings,
) -> Result<(Option<Claims>, bool, bool), TokenError> {
    // One reading of the path before any rule or template reads it (docs/data-path.md rule 11).
    crate::path::check(req.path).map_err(TokenError::PathNotCanonical)?;
    let path = strip_query(req.path);
    let route = cfg
        .route_policy
        .iter()
        .find(|(r, _)| r.matches(req.method, path))
        .map_or(Policy::Required, |(_, p)| *p);
    if route == Policy::Skip {
        // Identity before policy (docs/data-path.md rule 12): a route that needs no credential
        // still may not name, in the platform header or the path, another partner than the peer's
        // certificate.
        let path_partner = cfg
            .api_key
            .as_ref()
            .and_then(|src| src.path_templates.iter().find_map(|t| t.capture(req.path)))
            .and_then(|ids| ids.partner);
        let named = identities(cfg, req, None, None, path_partner)?;
        f.sources = named.iter().map(|(s, _)| *s).collect();
        f.partner = binding::bind(&named)?;
        return Ok((None, true, false));
    }
    let relax = |r: Requirement| match (route, r) {
        (Policy::IfPresent, Requirement::Required) => Requirement::Optional,
        (_, r) => r,
    };

    // 1. Bearer token.
    let mut cache_hit = false;
    let mut partner_claim: Option<&str> = None;
    let claims = match relax(cfg.token) {
        Requirement::Off => None,
        need => {
            let found = if cfg.trust_jwt_authn.is_some() {
                trusted_claims(cfg, req, f)?
            } else {
                verified_claims(cfg, state, req, backend, f, &mut cache_hit)?
            };
            match found {
                None if need == Requirement::Required => return Err(TokenError::Missing),
                None => None,
                Some((provider, claims)) => {
                    partner_claim = cfg
                        .providers
                        .get(provider)
                        .and_then(|p| p.claim_to_partner.as_deref());
                    Some(claims)
                }
            }
        }
    };
    // Read in place: the claims are returned as they are.
    let token_partner = match (partner_claim, &claims) {
        (Some(claim), Some(c)) => Some(
            c.str(claim)
                .filter(|v| !v.is_empty())
                .ok_or(TokenError::IdentityMissing("partner claim"))?,
        ),
        _ => None,
    };

    // 2. API key and licence key (existence only; status later, in MOSIP's order).
    let mut api_key = None;
    let mut licence: Option<&str> = None;
    let mut path_partner: Option<&str> = None;
    let api_need = relax(cfg.api_key_requirement);
    if let (Some(src), true) = (&cfg.api_key, api_need != Requirement::Off) {
        let from_header = match &src.header {
            Some(h) => single_header(req.headers, h)?,
            None => None,
        };
        let ids = src.path_templates.iter().find_map(|t| t.capture(req.path));
        let from_path = ids.and_then(|i| i.api_key);
        path_partner = ids.and_then(|i| i.partner);
        licence = ids.and_then(|i| i.licence);
        if let Some(h) = &src.licence_header {
            if let Some(v) = single_header(req.headers, h)? {
                if licence.is_some_and(|l| l != v) {
                    return Err(TokenError::Inactive(Inactive::LicenceUnknown));
                }
                licence = Some(v);
            }
        }
        let secret = match (from_header, from_path) {
            (Some(a), Some(b)) if a != b => return Err(TokenError::KeyUnknown),
            (a, b) => a.or(b),
        };
        match secret {
            Some(s) => {
                f.api_key = Some(SecretHash::of(s).short());
                api_key = Some(cfg.registry.api_key(s).ok_or(TokenError::KeyUnknown)?);
            }
            None if api_need == Requirement::Required => {
                return Err(if src.path_templates.is_empty() || src.header.is_some() {
                    TokenError::Missing
                } else {
                    TokenError::IdentityMissing("path")
                });
            }
            None => {}
        }
    }
    if let Some(l) = licence {
        f.licence_key = Some(SecretHash::of(l).short());
    }

    // 3. Binding.
    let named = identities(
        cfg,
        req,
        token_partner,
        api_key.map(|k| k.partner.as_str()),
        path_partner,
    )?;
    f.sources = named.iter().map(|(s, _)| *s).collect();
    f.partner = binding::bind(&named)?;
    let partner = f.partner.as_deref();
    let anonymous = claims.is_none() && api_key.is_none();
    if partner.is_none() && cfg.binding.require_partner {
        // An if-present route with no credential at all passes anonymously.
        if !(route == Policy::IfPresent && anonymous) {
            return Err(TokenError::IdentityMissing("no source names a partner"));
        }
    }

    // 4. Partner status.
    let registered = partner.and_then(|p| cfg.registry.partner(p));
    if let Some(p) = registered {
        if !p.active_at(i64::try_from(req.now_ms).unwrap_or(i64::MAX)) {
            return Err(TokenError::Inactive(Inactive::Partner));
        }
    }

    // 5. Policy: the API key's, else the partner's.
    let policy_id = api_key
        .and_then(|k| k.policy.as_deref())
        .or_else(|| registered.and_then(|p| p.policy.as_deref()));
    if let Some(id) = policy_id {
        f.policy = Some(id.to_string());
        // The configuration guarantees the policy exists; a missing one fails closed.
        let policy = cfg
            .registry
            .policy(id)
            .ok_or(TokenError::Inactive(Inactive::Policy))?;
        apikey::check_policy(policy, req.method, path, req.now_ms)?;
        if !policy.required_scopes.is_empty() {
            let ok = claims
                .as_ref()
                .is_some_and(|c| jwt::has_scopes(c, &policy.required_scopes));
            if !ok {
                return Err(TokenError::Inactive(Inactive::PolicyScope));
            }
        }
    }

    // 6. API key status and dates.
    if let Some(k) = api_key {
        apikey::check_api_key(k, req.now_ms)?;
    }

    // 7. Licence key and its MISP.
    if let Some(l) = licence {
        let (_, misp) = apikey::check_licence(&cfg.registry, l, partner, req.now_ms)?;
        f.misp = Some(misp.id.clone());
    }

    Ok((claims, false, cache_hit))
}

/// The partner each present identity source names: the certificate, the token's partner claim,
/// the API key's partner, the platform header, the path.
fn identities(
    cfg: &TokenConfig,
    req: &RequestFacts<'_>,
    token_partner: Option<&str>,
    api_key_partner: Option<&str>,
    path_partner: Option<&str>,
) -> Result<Vec<(Source, String)>, TokenError> {
    let mut named: Vec<(Source, String)> = Vec::new();
    if let Some(p) = binding::by_certificate(&cfg.registry, req.tls_names)? {
        named.push((Source::Certificate, p.id.clone()));
    }
    if let Some(v) = token_partner {
        named.push((
            Source::Token,
            binding::resolve(&cfg.registry, Source::Token, v)?,
        ));
    }
    if let Some(k) = api_key_partner {
        named.push((Source::ApiKey, k.to_string()));
    }
    if let Some(h) = &cfg.binding.platform_header {
        if let Some(v) = single_header(req.headers, h)? {
            named.push((
                Source::PlatformHeader,
                binding::resolve(&cfg.registry, Source::PlatformHeader, v)?,
            ));
        }
    }
    if let Some(p) = path_partner {
        named.push((
            Source::Path,
            binding::resolve(&cfg.registry, Source::Path, p)?,
        ));
    }
    Ok(named)
}

/// The one value of a header; two differing values are refused (a second copy is how a
/// client tries to make two components read two different credentials).
fn single_header<'a>(
    headers: &'a [(String, String)],
    name: &str,
) -> Result<Option<&'a str>, TokenError> {
    let mut found: Option<&str> = None;
    for (n, v) in headers {
        if n.eq_ignore_ascii_case(name) {
            match found {
                Some(prev) if prev != v => return Err(TokenError::Malformed("header repeated")),
                _ => found = Some(v.as_str()),
            }
        }
    }
    Ok(found)
}

fn redacted_route(cfg: &TokenConfig, path: &str) -> String {
    cfg.api_key
        .as_ref()
        .and_then(|a| a.path_templates.iter().find_map(|t| t.redact(path)))
        .unwrap_or_else(|| strip_query(path).to_string())
}

/// The bearer token of the request and the providers whose header carried it.
fn extract_token<'a>(
    cfg: &TokenConfig,
    req: &RequestFacts<'a>,
) -> Result<Option<(&'a str, Vec<usize>)>, TokenError> {
    let mut token: Option<&str> = None;
    let mut providers = Vec::new();
    for (i, p) in cfg.providers.iter().enumerate() {
        let Some(value) = single_header(req.headers, &p.header)? else {
            continue;
        };
        // The auth scheme is case-insensitive (RFC 9110 §11.1); another scheme (Basic) is not
        // a token for this provider.
        let Some(head) = value.get(..p.prefix.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(&p.prefix) {
            continue;
        }
        let t = value.get(p.prefix.len()..).unwrap_or("").trim_matches(' ');
        if t.is_empty() {
            return Err(TokenError::Malformed("empty token"));
        }
        if t.len() > cfg.max_token_bytes {
            return Err(TokenError::Malformed("token too long"));
        }
        match token {
            Some(prev) if prev != t => return Err(TokenError::Malformed("several tokens")),
            _ => token = Some(t),
        }
        providers.push(i);
    }
    Ok(token.map(|t| (t, providers)))
}

fn verified_claims(
    cfg: &TokenConfig,
    state: &mut TokenState,
    req: &RequestFacts<'_>,
    backend: &dyn CryptoBackend,
    f: &mut Findings,
    cache_hit: &mut bool,
) -> Result<Option<(usize, Claims)>, TokenError> {
    let Some((token, carriers)) = extract_token(cfg, req)? else {
        return Ok(None);
    };
    let caches = state.tokens.caches();
    let hit = if caches {
        let TokenState { jwks, tokens } = &mut *state;
        // An entry of a provider no longer configured is never served.
        let providers = cfg.providers.len();
        tokens.get(token, req.now_ms, |i| {
            if i < providers {
                generation(jwks, i)
            } else {
                u64::MAX
            }
        })
    } else {
        None
    };
    if let Some(hit) = hit {
        if carriers.contains(&hit.provider) {
            // A verified token is only as good as its keys: past the stale bound of a remote
            // JWKS the cache must not answer for it (fail closed, as a fresh token would).
            if let Some(JwksSource::Remote(_)) = cfg.providers.get(hit.provider).map(|p| &p.keys) {
                state
                    .jwks(hit.provider)
                    .ok_or(TokenError::KeysUnavailable)?
                    .keys(req.now_ms)?;
            }
            *cache_hit = true;
            f.provider = cfg.providers.get(hit.provider).map(|p| p.name.clone());
            f.token_id = Some(hit.jwt.token_id.clone());
            f.token_verifier = Some("token_check");
            return Ok(Some((hit.provider, hit.jwt.claims.clone())));
        }
    }
    let untrusted = UntrustedJwt::parse(token)?;
    let iss = untrusted.unverified_issuer();
    let index = carriers
        .iter()
        .copied()
        .find(|&i| cfg.providers.get(i).map(|p| Some(p.rules.issuer.as_str())) == Some(iss))
        .ok_or(TokenError::Claim(ClaimError::Issuer))?;
    let provider = cfg
        .providers
        .get(index)
        .ok_or(TokenError::Claim(ClaimError::Issuer))?;
    f.provider = Some(provider.name.clone());
    let keys = match &provider.keys {
        JwksSource::Static(k) => Rc::clone(k),
        JwksSource::Remote(_) => state
            .jwks(index)
            .ok_or(TokenError::KeysUnavailable)?
            .keys(req.now_ms)?,
    };
    let verified = match untrusted.verify(&provider.rules, &keys, req.now_ms, backend) {
        Ok(v) => v,
        Err(TokenError::KidUnknown) => {
            if let Some(Some(cache)) = state.jwks.get_mut(index) {
                // Granted or not, `check_or_wait` sees it through `fetch_pending`.
                cache.request_refetch(req.now_ms);
            }
            return Err(TokenError::KidUnknown);
        }
        Err(e) => return Err(e),
    };
    f.token_id = Some(verified.token_id.clone());
    f.token_verifier = Some("token_check");
    let claims = verified.claims.clone();
    if caches {
        state.tokens.insert(
            token,
            CachedToken {
                provider: index,
                generation: state.generation(index),
                jwt: Rc::new(verified),
            },
            req.now_ms,
        );
    }
    Ok(Some((index, claims)))
}

/// Claims Envoy's jwt_authn already verified: the provider is picked by `iss` and its claim
/// rules still apply (cheap, and a jwt_authn provider with laxer rules cannot widen ours).
fn trusted_claims(
    cfg: &TokenConfig,
    req: &RequestFacts<'_>,
    f: &mut Findings,
) -> Result<Option<(usize, Claims)>, TokenError> {
    let Some(v) = req.jwt_authn_claims else {
        return Ok(None);
    };
    f.token_verifier = Some("jwt_authn");
    let claims = Claims::from_value(v.clone())?;
    let index = cfg
        .providers
        .iter()
        .position(|p| claims.str("iss") == Some(p.rules.issuer.as_str()))
        .ok_or(TokenError::Claim(ClaimError::Issuer))?;
    let provider = cfg
        .providers
        .get(index)
        .ok_or(TokenError::Claim(ClaimError::Issuer))?;
    f.provider = Some(provider.name.clone());
    jwt::check_claims(&claims, &provider.rules, req.now_ms)?;
    f.token_id = Some(match claims.str("jti") {
        Some(j) if !j.is_empty() && j.len() <= 128 && j.bytes().all(|b| b.is_ascii_graphic()) => {
            format!("jti:{j}")
        }
        _ => "jwt_authn".to_string(),
    });
    Ok(Some((index, claims)))
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
