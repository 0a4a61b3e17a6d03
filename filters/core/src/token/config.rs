//! The `token_check` configuration: JSON parsed once (serde, unknown fields refused), then
//! validated into the runtime form — decoded keys, hashed secrets, indexed registries. Every
//! error names the field, e.g. `providers[0].issuer: must be an https or http URL`, so
//! `on_configure` can say exactly what to fix.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::rc::Rc;

use super::apikey::PathTemplate;
use super::jwks::JwksSettings;
use super::jwt::JwtRules;
pub use crate::config_error::ConfigError;
use crate::duration::{pick, Duration, Legacy, Millis, Seconds};
use crate::jose::alg::Alg;
use crate::json::{parse_strict, JsonLimits, JsonValue};
use crate::keys::{Jwk, Jwks};
use crate::registry::{self, InlineMembers, Registry, RouteRule};
use crate::route::Policy;

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.into(),
        message: message.into(),
    }
}

/// A duration setting kept to the second: `field` (`"30s"`) or its integer alias.
pub(super) fn seconds<L: Legacy>(
    field: &str,
    new: Option<Duration>,
    alias: &str,
    old: Option<L>,
    default: u64,
) -> Result<u64, ConfigError> {
    match pick(field, new, alias, old).map_err(ConfigError::from)? {
        Some(d) => d.whole_seconds(field).map_err(ConfigError::from),
        None => Ok(default),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw JSON form.

/// The JSON Schema of the `token_check` configuration.
pub fn schema() -> schemars::schema::RootSchema {
    crate::schema::root_of::<RawConfig>()
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The token issuers accepted.
    #[serde(default)]
    providers: Vec<RawProvider>,
    /// The partner registry inline (`docs/registry.md`), when not in the VM configuration.
    #[serde(default)]
    partners: Option<Vec<registry::RawPartner>>,
    /// Access policies inline (see the partner registry).
    #[serde(default)]
    policies: Option<Vec<registry::RawPolicy>>,
    /// MOSIP MISPs inline (see the partner registry).
    #[serde(default)]
    misps: Option<Vec<registry::RawMisp>>,
    /// MOSIP partner domain → CA certificates, inline (see the partner registry).
    #[serde(default)]
    domain_ca: Option<BTreeMap<String, Vec<String>>>,
    /// Where API keys (and MOSIP licence keys) are read from.
    #[serde(default)]
    api_key: Option<RawApiKeySource>,
    /// Which credentials a request must present.
    #[serde(default)]
    credentials: RawCredentials,
    /// How the TLS peer, token and API key are bound to one partner.
    #[serde(default)]
    binding: RawBinding,
    /// Per-route requirements: first matching rule wins.
    #[serde(default)]
    route_policy: Vec<RawRoutePolicy>,
    /// Verified tokens remembered.
    #[serde(default = "default_cache_entries")]
    token_cache_entries: usize,
    /// Largest token read.
    #[serde(default = "default_max_token_bytes")]
    max_token_bytes: usize,
    /// Header the bound partner is forwarded in, to the upstream.
    #[serde(default)]
    forward_partner_header: Option<String>,
    /// Take the token's claims from Envoy's `jwt_authn` filter instead of verifying it.
    #[serde(default)]
    trust_jwt_authn: Option<RawTrustJwtAuthn>,
    /// Reply bodies: RFC 6750 (default) or OCEN's.
    #[serde(default)]
    error_format: TokenErrorFormat,
    /// `realm` of the `WWW-Authenticate` challenge.
    #[serde(default)]
    realm: Option<String>,
    /// Write the audit record (`signet.audit.token_check`).
    #[serde(default = "default_true")]
    audit: bool,
    /// Write the verified claims as JSON into filter state `signet.token_claims` (read by
    /// `jws_verify`'s `ocen` profile and the access log); off saves a write per request.
    #[serde(default = "default_true")]
    claims_in_filter_state: bool,
}

fn default_cache_entries() -> usize {
    1024
}
fn default_max_token_bytes() -> usize {
    16_384
}
fn default_header() -> String {
    "authorization".into()
}
fn default_prefix() -> String {
    "Bearer ".into()
}
fn default_true() -> bool {
    true
}
fn default_min_rsa_bits() -> usize {
    2048
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    /// The provider's name (stats, audit).
    name: String,
    /// The `iss` tokens of this provider carry.
    issuer: String,
    /// Accepted `aud` values (empty: not checked).
    #[serde(default)]
    audiences: Vec<String>,
    /// The JWKS inline.
    #[serde(default)]
    jwks: Option<Value>,
    /// URL of the JWKS, fetched through `jwks_cluster`.
    #[serde(default)]
    jwks_uri: Option<String>,
    /// Envoy cluster of the JWKS host.
    #[serde(default)]
    jwks_cluster: Option<String>,
    /// How the fetched JWKS is cached and refreshed.
    #[serde(default)]
    jwks_cache: RawJwksCache,
    /// Header carrying the token.
    #[serde(default = "default_header")]
    header: String,
    /// Prefix before the token in that header.
    #[serde(default = "default_prefix")]
    prefix: String,
    /// Claim naming the partner (matched to `token_subjects`).
    #[serde(default)]
    claim_to_partner: Option<String>,
    /// Scopes every token must carry.
    #[serde(default)]
    required_scopes: Vec<String>,
    /// Claims every token must carry, with these values.
    #[serde(default)]
    required_claims: serde_json::Map<String, Value>,
    /// JWS algorithms accepted (default: RS256 and ES256 families).
    #[serde(default)]
    algorithms: Option<Vec<String>>,
    /// Refuse a token without `exp`.
    #[serde(default = "default_true")]
    require_exp: bool,
    /// Refuse a token without `iat`.
    #[serde(default)]
    require_iat: bool,
    /// Tolerance on `exp`, `nbf` and `iat`.
    #[serde(default)]
    clock_skew: Option<Duration>,
    /// Alias of `clock_skew` in seconds.
    #[serde(default)]
    clock_skew_s: Option<Seconds>,
    /// Smallest RSA key accepted.
    #[serde(default = "default_min_rsa_bits")]
    min_rsa_bits: usize,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawJwksCache {
    /// How long a JWKS without cache headers is used.
    default_max_age: Option<Duration>,
    /// Alias of `default_max_age` in seconds.
    default_max_age_s: Option<Seconds>,
    /// Shortest time between two fetches.
    min_refresh_interval: Option<Duration>,
    /// Alias of `min_refresh_interval` in seconds.
    min_refresh_interval_s: Option<Seconds>,
    /// Longest time between two fetches.
    max_refresh_interval: Option<Duration>,
    /// Alias of `max_refresh_interval` in seconds.
    max_refresh_interval_s: Option<Seconds>,
    /// How long an expired JWKS may still be used while the issuer is unreachable.
    stale: Option<Duration>,
    /// Alias of `stale` in seconds.
    stale_s: Option<Seconds>,
    /// Wait after a failed fetch.
    retry_interval: Option<Duration>,
    /// Alias of `retry_interval` in seconds.
    retry_interval_s: Option<Seconds>,
    /// Shortest time between refetches caused by an unknown `kid`.
    unknown_kid_refetch_interval: Option<Duration>,
    /// Alias of `unknown_kid_refetch_interval` in seconds.
    unknown_kid_refetch_interval_s: Option<Seconds>,
    /// Bound on a JWKS fetch.
    fetch_timeout: Option<Duration>,
    /// Alias of `fetch_timeout` in milliseconds.
    fetch_timeout_ms: Option<Millis>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawApiKeySource {
    /// Header carrying the API key.
    #[serde(default)]
    header: Option<String>,
    /// Path templates naming the API key (and partner) in the path.
    #[serde(default)]
    path_templates: Vec<String>,
    /// Header carrying the MOSIP licence key.
    #[serde(default)]
    licence_header: Option<String>,
}

#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    /// Whether a token is required, optional or never read.
    #[serde(default)]
    token: Option<Requirement>,
    /// Whether an API key is required, optional or never read.
    #[serde(default)]
    api_key: Option<Requirement>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawBinding {
    /// Header naming the partner, set by a platform in front.
    #[serde(default)]
    platform_header: Option<String>,
    /// Refuse a request no credential binds to a partner.
    #[serde(default = "default_true")]
    require_partner: bool,
}

impl Default for RawBinding {
    fn default() -> Self {
        RawBinding {
            platform_header: None,
            require_partner: true,
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawRoutePolicy {
    /// HTTP methods (default: any).
    #[serde(default)]
    methods: Vec<String>,
    /// A string prefix of the path, or
    #[serde(default)]
    path_prefix: Option<String>,
    /// a glob over path segments: `*` one segment, `**` any number.
    #[serde(default)]
    path_glob: Option<String>,
    /// What the route needs.
    policy: Policy,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawTrustJwtAuthn {
    /// Dynamic metadata namespace of `jwt_authn`.
    #[serde(default = "default_jwt_authn_namespace")]
    metadata_namespace: String,
    /// The `payload_in_metadata` name `jwt_authn` writes the claims under.
    payload_in_metadata: String,
}

fn default_jwt_authn_namespace() -> String {
    "envoy.filters.http.jwt_authn".into()
}

// ---------------------------------------------------------------------------------------------
// Runtime form.

/// Whether a credential must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Requirement {
    /// Absent → `token_missing`.
    Required,
    /// Checked when present.
    Optional,
    /// Never read.
    Off,
}

/// The reply format (docs/reason-codes.md, docs/profiles.md#ocen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenErrorFormat {
    /// RFC 6750 `WWW-Authenticate` with `realm`, `error`, `error_description`, and the Signet
    /// body `{"error":"<code>"}`.
    #[default]
    Rfc6750,
    /// OCEN (Spring Security resource server): 401 with an empty body and `Bearer` /
    /// `Bearer error="invalid_token"`; other codes in Spring's error JSON.
    Ocen,
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// Inline JWKS, parsed at configure time.
    Static(Rc<Vec<Jwk>>),
    /// Fetched over an Envoy cluster.
    Remote(RemoteJwks),
}

/// A remote JWKS endpoint, ready for `dispatch_http_call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteJwks {
    /// The configured URI.
    pub uri: String,
    /// Envoy cluster for the callout.
    pub cluster: String,
    /// `:authority` (host[:port] of the URI).
    pub authority: String,
    /// `:path` (path and query of the URI).
    pub path: String,
    /// Cache timing.
    pub settings: JwksSettings,
    /// Callout timeout.
    pub timeout_ms: u64,
}

/// A token provider (one issuer).
#[derive(Debug, Clone)]
pub struct Provider {
    /// Name for logs and the audit record.
    pub name: String,
    /// Claim rules (issuer, audiences, algorithms, skew, scopes, claims).
    pub rules: JwtRules,
    /// Keys.
    pub keys: JwksSource,
    /// Request header carrying the token (lower-case).
    pub header: String,
    /// Prefix before the token, compared case-insensitively (`Bearer `); may be empty.
    pub prefix: String,
    /// Claim naming the partner (e.g. `participantId`, `client_id`, `azp`, `sub`).
    pub claim_to_partner: Option<String>,
}

/// Where API keys and licence keys are read.
#[derive(Debug, Clone, Default)]
pub struct ApiKeySource {
    /// Header carrying the API key (lower-case).
    pub header: Option<String>,
    /// Path templates (MOSIP `/{MISP-LK}/{Partner-ID}/{API-Key}`). For IDA write `"ida"`:
    /// the triple exactly as IDA's controllers (and `jws_verify`'s `mosip` profile) read it;
    /// a `.../{license}/{partner}/{api_key}` suffix reads the last three segments of any path.
    pub path_templates: Vec<PathTemplate>,
    /// Header carrying the licence key when it is not in the path.
    pub licence_header: Option<String>,
}

/// Binding options.
#[derive(Debug, Clone, Default)]
pub struct BindingConfig {
    /// A header naming the partner (e.g. `fspiop-source`), lower-case.
    pub platform_header: Option<String>,
    /// A request no source names a partner for is refused (`identity_missing`).
    pub require_partner: bool,
}

/// Claims from Envoy's jwt_authn instead of verifying here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustJwtAuthn {
    /// Dynamic-metadata namespace (default `envoy.filters.http.jwt_authn`).
    pub metadata_namespace: String,
    /// jwt_authn's `payload_in_metadata` key.
    pub payload_in_metadata: String,
}

/// The validated `token_check` configuration.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Token providers, in configured order.
    pub providers: Vec<Provider>,
    /// The partner registry: partners, API keys, licence keys, MISPs, policies.
    pub registry: Registry,
    /// Where API keys are read (`None`: never).
    pub api_key: Option<ApiKeySource>,
    /// Token requirement.
    pub token: Requirement,
    /// API-key requirement.
    pub api_key_requirement: Requirement,
    /// Binding options.
    pub binding: BindingConfig,
    /// Route rules, first match wins; no match → `Required`.
    pub route_policy: Vec<(RouteRule, Policy)>,
    /// Verified-token cache size (0 = off).
    pub token_cache_entries: usize,
    /// Longest accepted token, in bytes.
    pub max_token_bytes: usize,
    /// Header set for the upstream with the bound partner (always stripped from the request).
    pub forward_partner_header: Option<String>,
    /// Read claims from jwt_authn metadata instead of verifying.
    pub trust_jwt_authn: Option<TrustJwtAuthn>,
    /// Reply format.
    pub error_format: TokenErrorFormat,
    /// `realm` of `WWW-Authenticate`.
    pub realm: String,
    /// Write the audit record (`signet.audit.token_check`) for the access log.
    pub audit: bool,
    /// Write the verified claims into filter state `signet.token_claims`.
    pub claims_in_filter_state: bool,
}

impl TokenConfig {
    /// Parses and validates a configuration that carries its registry inline (if any).
    pub fn from_json(json: &[u8]) -> Result<TokenConfig, ConfigError> {
        TokenConfig::from_json_with(json, None)
    }

    /// Parses and validates the plugin configuration; `shared` is the VM's registry, which the
    /// configuration must then not repeat inline.
    pub fn from_json_with(
        json: &[u8],
        shared: Option<&Registry>,
    ) -> Result<TokenConfig, ConfigError> {
        let raw: RawConfig = ConfigError::parse_object(json)?;
        build(raw, shared)
    }
}

fn build(raw: RawConfig, shared: Option<&Registry>) -> Result<TokenConfig, ConfigError> {
    let mut providers = Vec::with_capacity(raw.providers.len());
    let mut issuers = HashSet::new();
    let mut names = HashSet::new();
    for (i, p) in raw.providers.into_iter().enumerate() {
        let f = format!("providers[{i}]");
        let p = build_provider(p, &f)?;
        if !names.insert(p.name.clone()) {
            return Err(err(format!("{f}.name"), "duplicate provider name"));
        }
        if !issuers.insert((p.header.clone(), p.rules.issuer.clone())) {
            return Err(err(
                format!("{f}.issuer"),
                "another provider has the same issuer and header",
            ));
        }
        providers.push(p);
    }

    let registry = InlineMembers {
        partners: raw.partners,
        policies: raw.policies,
        misps: raw.misps,
        domain_ca: raw.domain_ca,
    }
    .resolve(shared)?;

    let api_key = match raw.api_key {
        None => None,
        Some(s) => {
            let header = s
                .header
                .map(|h| header_name(&h, "api_key.header"))
                .transpose()?;
            let licence_header = s
                .licence_header
                .map(|h| header_name(&h, "api_key.licence_header"))
                .transpose()?;
            let mut path_templates = Vec::new();
            for (i, t) in s.path_templates.iter().enumerate() {
                path_templates.push(
                    PathTemplate::parse(t)
                        .map_err(|m| err(format!("api_key.path_templates[{i}]"), m))?,
                );
            }
            if header.is_none() && path_templates.is_empty() {
                return Err(err("api_key", "needs a header or path_templates"));
            }
            Some(ApiKeySource {
                header,
                path_templates,
                licence_header,
            })
        }
    };

    // token_check finds the partner by the key: a key two partners hold would name either.
    if let Some(field) = registry.shared_api_key() {
        return Err(err(field, "API key registered twice"));
    }
    if api_key.is_some() {
        // An API key grants what its policy allows; one with no policy would allow everything.
        for (i, p) in registry.partners().iter().enumerate() {
            for (j, k) in p.api_keys.iter().enumerate() {
                if k.policy.is_none() && p.policy.is_none() {
                    return Err(err(
                        format!("partners[{i}].api_keys[{j}].policy"),
                        "token_check needs a policy for each API key (its own or the partner's)",
                    ));
                }
            }
        }
    }

    let token = raw.credentials.token.unwrap_or(if providers.is_empty() {
        Requirement::Off
    } else {
        Requirement::Required
    });
    if token != Requirement::Off && providers.is_empty() {
        return Err(err("credentials.token", "no providers configured"));
    }
    let api_key_requirement = raw.credentials.api_key.unwrap_or(if api_key.is_some() {
        Requirement::Required
    } else {
        Requirement::Off
    });
    if api_key_requirement != Requirement::Off && api_key.is_none() {
        return Err(err("credentials.api_key", "no api_key source configured"));
    }
    if token == Requirement::Off && api_key_requirement == Requirement::Off {
        return Err(err(
            "credentials",
            "neither a token nor an API key is checked",
        ));
    }

    let binding = BindingConfig {
        platform_header: raw
            .binding
            .platform_header
            .map(|h| header_name(&h, "binding.platform_header"))
            .transpose()?,
        require_partner: raw.binding.require_partner,
    };

    let mut route_policy = Vec::new();
    for (i, r) in raw.route_policy.into_iter().enumerate() {
        let rule = registry::route_rule(
            &r.methods,
            r.path_prefix.as_deref(),
            r.path_glob.as_deref(),
            &format!("route_policy[{i}]"),
        )?;
        route_policy.push((rule, r.policy));
    }

    if raw.token_cache_entries > 1_000_000 {
        return Err(err("token_cache_entries", "must be at most 1000000"));
    }
    if !(64..=1_048_576).contains(&raw.max_token_bytes) {
        return Err(err("max_token_bytes", "must be between 64 and 1048576"));
    }
    let forward_partner_header = raw
        .forward_partner_header
        .map(|h| header_name(&h, "forward_partner_header"))
        .transpose()?;
    if let Some(h) = &forward_partner_header {
        // The upstream must be able to trust it: never a header a credential arrives in.
        let clash = providers.iter().any(|p| &p.header == h)
            || api_key.as_ref().is_some_and(|a| {
                a.header.as_ref() == Some(h) || a.licence_header.as_ref() == Some(h)
            })
            || binding.platform_header.as_ref() == Some(h)
            || h == "authorization"
            || h == "x-signet-reason";
        if clash {
            return Err(err(
                "forward_partner_header",
                "must not be a header that carries a credential",
            ));
        }
    }
    let trust_jwt_authn = match raw.trust_jwt_authn {
        None => None,
        Some(t) => {
            nonempty(
                &t.payload_in_metadata,
                "trust_jwt_authn.payload_in_metadata",
            )?;
            nonempty(&t.metadata_namespace, "trust_jwt_authn.metadata_namespace")?;
            if providers.is_empty() {
                return Err(err(
                    "trust_jwt_authn",
                    "needs providers for the claim rules",
                ));
            }
            Some(TrustJwtAuthn {
                metadata_namespace: t.metadata_namespace,
                payload_in_metadata: t.payload_in_metadata,
            })
        }
    };
    let realm = raw.realm.unwrap_or_else(|| "signet".into());
    if realm.is_empty()
        || !realm
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        // It is written into a quoted-string of WWW-Authenticate.
        return Err(err("realm", "must be printable ASCII without '\"' or '\\'"));
    }

    Ok(TokenConfig {
        providers,
        registry,
        api_key,
        token,
        api_key_requirement,
        binding,
        route_policy,
        token_cache_entries: raw.token_cache_entries,
        max_token_bytes: raw.max_token_bytes,
        forward_partner_header,
        trust_jwt_authn,
        error_format: raw.error_format,
        realm,
        audit: raw.audit,
        claims_in_filter_state: raw.claims_in_filter_state,
    })
}

fn build_provider(p: RawProvider, f: &str) -> Result<Provider, ConfigError> {
    nonempty(&p.name, &format!("{f}.name"))?;
    if split_url(&p.issuer).is_none() {
        return Err(err(format!("{f}.issuer"), "must be an https or http URL"));
    }
    let algorithms = match p.algorithms {
        None => Alg::ALL.to_vec(),
        Some(list) => {
            if list.is_empty() {
                return Err(err(format!("{f}.algorithms"), "must not be empty"));
            }
            let mut out = Vec::new();
            for (i, a) in list.iter().enumerate() {
                out.push(Alg::from_name(a).ok_or_else(|| {
                    err(
                        format!("{f}.algorithms[{i}]"),
                        format!("{a:?} is not an accepted algorithm (none and HS* never are)"),
                    )
                })?);
            }
            out
        }
    };
    if p.min_rsa_bits < 2048 {
        return Err(err(format!("{f}.min_rsa_bits"), "must be at least 2048"));
    }
    let clock_skew_s = seconds(
        &format!("{f}.clock_skew"),
        p.clock_skew,
        "clock_skew_s",
        p.clock_skew_s,
        60,
    )?;
    if clock_skew_s > 600 {
        return Err(err(format!("{f}.clock_skew"), "must be at most 10m"));
    }
    let mut required_claims = Vec::new();
    for (name, v) in p.required_claims {
        let jv = parse_strict(v.to_string().as_bytes(), JsonLimits::BODY)
            .map_err(|_| err(format!("{f}.required_claims.{name}"), "not a JSON value"))?;
        required_claims.push((name, jv));
    }
    for (i, s) in p.required_scopes.iter().enumerate() {
        if s.is_empty() || s.contains(' ') {
            return Err(err(
                format!("{f}.required_scopes[{i}]"),
                "must be one non-empty scope",
            ));
        }
    }
    let keys = match (p.jwks, p.jwks_uri, p.jwks_cluster) {
        (Some(jwks), None, None) => {
            let keys = parse_inline_jwks(&jwks, p.min_rsa_bits, &format!("{f}.jwks"))?;
            JwksSource::Static(Rc::new(keys))
        }
        (None, Some(uri), Some(cluster)) => {
            let (authority, path) = split_url(&uri)
                .ok_or_else(|| err(format!("{f}.jwks_uri"), "must be an https or http URL"))?;
            nonempty(&cluster, &format!("{f}.jwks_cluster"))?;
            let (settings, timeout_ms) = jwks_settings(&p.jwks_cache, p.min_rsa_bits, f)?;
            JwksSource::Remote(RemoteJwks {
                uri: uri.clone(),
                cluster,
                authority,
                path,
                settings,
                timeout_ms,
            })
        }
        (None, Some(_), None) => {
            return Err(err(format!("{f}.jwks_cluster"), "required with jwks_uri"))
        }
        (None, None, _) => {
            return Err(err(
                format!("{f}.jwks"),
                "one of jwks or jwks_uri is required",
            ))
        }
        _ => {
            return Err(err(
                format!("{f}.jwks"),
                "give either jwks, or jwks_uri with jwks_cluster",
            ))
        }
    };
    let header = header_name(&p.header, &format!("{f}.header"))?;
    if p.prefix.bytes().any(|b| b.is_ascii_control()) {
        return Err(err(
            format!("{f}.prefix"),
            "must not contain control characters",
        ));
    }
    if let Some(c) = &p.claim_to_partner {
        nonempty(c, &format!("{f}.claim_to_partner"))?;
    }
    Ok(Provider {
        name: p.name,
        rules: JwtRules {
            issuer: p.issuer,
            audiences: p.audiences,
            algorithms,
            require_exp: p.require_exp,
            require_iat: p.require_iat,
            clock_skew_s,
            required_scopes: p.required_scopes,
            required_claims,
        },
        keys,
        header,
        prefix: p.prefix,
        claim_to_partner: p.claim_to_partner,
    })
}

fn parse_inline_jwks(v: &Value, min_rsa_bits: usize, f: &str) -> Result<Vec<Jwk>, ConfigError> {
    let keys = match v {
        Value::String(s) => Jwks::from_json(s),
        other => Jwks::from_value(other),
    }
    .map_err(|e| err(f, e.to_string()))?;
    if keys.is_empty() {
        return Err(err(f, "no signature key in the set"));
    }
    // Static keys: a weak one is a configuration error (docs/profiles.md#algorithms), not silently
    // dropped.
    for k in &keys {
        k.key
            .check_strength(min_rsa_bits)
            .map_err(|e| err(f, format!("key {:?}: {e}", k.kid.as_deref().unwrap_or(""))))?;
    }
    Ok(keys)
}

fn jwks_settings(
    raw: &RawJwksCache,
    min_rsa_bits: usize,
    f: &str,
) -> Result<(JwksSettings, u64), ConfigError> {
    let d = JwksSettings::default();
    let f = format!("{f}.jwks_cache");
    let at = |name: &str| format!("{f}.{name}");
    let s = JwksSettings {
        default_max_age_s: seconds(
            &at("default_max_age"),
            raw.default_max_age,
            "default_max_age_s",
            raw.default_max_age_s,
            d.default_max_age_s,
        )?,
        min_refresh_interval_s: seconds(
            &at("min_refresh_interval"),
            raw.min_refresh_interval,
            "min_refresh_interval_s",
            raw.min_refresh_interval_s,
            d.min_refresh_interval_s,
        )?,
        max_refresh_interval_s: seconds(
            &at("max_refresh_interval"),
            raw.max_refresh_interval,
            "max_refresh_interval_s",
            raw.max_refresh_interval_s,
            d.max_refresh_interval_s,
        )?,
        stale_s: seconds(&at("stale"), raw.stale, "stale_s", raw.stale_s, d.stale_s)?,
        retry_interval_s: seconds(
            &at("retry_interval"),
            raw.retry_interval,
            "retry_interval_s",
            raw.retry_interval_s,
            d.retry_interval_s,
        )?,
        unknown_kid_refetch_interval_s: seconds(
            &at("unknown_kid_refetch_interval"),
            raw.unknown_kid_refetch_interval,
            "unknown_kid_refetch_interval_s",
            raw.unknown_kid_refetch_interval_s,
            d.unknown_kid_refetch_interval_s,
        )?,
        fetch_timeout_s: d.fetch_timeout_s,
        min_rsa_bits,
    };
    let timeout_ms = pick(
        &at("fetch_timeout"),
        raw.fetch_timeout,
        "fetch_timeout_ms",
        raw.fetch_timeout_ms,
    )
    .map_err(ConfigError::from)?
    .map_or(5000, Duration::ms);
    if s.min_refresh_interval_s == 0 {
        return Err(err(
            format!("{f}.min_refresh_interval"),
            "must be at least 1s",
        ));
    }
    if s.max_refresh_interval_s < s.min_refresh_interval_s {
        return Err(err(
            format!("{f}.max_refresh_interval"),
            "must not be below min_refresh_interval",
        ));
    }
    if s.retry_interval_s == 0 {
        return Err(err(format!("{f}.retry_interval"), "must be at least 1s"));
    }
    if !(100..=60_000).contains(&timeout_ms) {
        return Err(err(
            format!("{f}.fetch_timeout"),
            "must be between 100ms and 60s",
        ));
    }
    // The lost-fetch guard must outlast the callout timeout.
    let s = JwksSettings {
        fetch_timeout_s: (timeout_ms / 1000 + 1).max(d.fetch_timeout_s),
        ..s
    };
    Ok((s, timeout_ms))
}

fn nonempty(s: &str, f: &str) -> Result<(), ConfigError> {
    if s.is_empty() {
        Err(err(f, "must not be empty"))
    } else {
        Ok(())
    }
}

/// A header name as Envoy hands them over: lower-case RFC 9110 token, not a pseudo-header.
fn header_name(h: &str, f: &str) -> Result<String, ConfigError> {
    let ok = !h.is_empty()
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(h.to_ascii_lowercase())
    } else {
        Err(err(f, "not a valid header name"))
    }
}

/// `(authority, path)` of an `http(s)://host[:port][/path]` URL; `None` if it is not one.
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, ""),
    };
    let valid = !authority.is_empty()
        && !authority.contains('@')
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
        && !url
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'#');
    if !valid {
        return None;
    }
    let path = if path.is_empty() { "/" } else { path };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Some((authority.to_string(), path))
}

/// Turns a JSON value (e.g. a jwt_authn payload from metadata) into the strict form.
pub fn json_value(v: &Value) -> Option<JsonValue> {
    parse_strict(v.to_string().as_bytes(), JsonLimits::BODY).ok()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
