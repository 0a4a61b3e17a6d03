//! The partner registry: every partner written once — status and validity, TLS identity and
//! source addresses, JWS keys and certificates, the token subjects and API keys that name it,
//! its policy — with the policies, MISPs and their licence keys, and the CA set of each MOSIP
//! partner domain (`docs/registry.md`).
//!
//! Built and validated once ([`Registry::from_json`], or the same members inline in a filter
//! configuration); every error names the field. Each filter reads its view of the same
//! `Registry`: `token_check` binds identities and checks API keys, licences and policies;
//! `jws_verify` takes a copy whose key algorithms are cut to its profile
//! ([`Registry::for_profile`]). The registry answers "which keys may this signer use" — a
//! message never chooses its own key (docs/data-path.md rule 2).

mod build;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use sha2::{Digest, Sha256};

use crate::config_error::ConfigError;
use crate::jose::alg::Alg;
use crate::keys::PublicKey;
use crate::route::Glob;
use crate::x509::Certificate;

pub use build::{route_rule, InlineMembers, RawMisp, RawPartner, RawPolicy, RawRegistry};

/// Status of a partner, key, licence, MISP or policy. Read case-insensitively (MOSIP writes
/// `ACTIVE`); `suspended`, `deactivated` and `deactive` are `Inactive`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// In use.
    #[default]
    Active,
    /// Suspended, inactive or deactivated.
    Inactive,
    /// Blocked by the platform (MOSIP licence keys).
    Blocked,
    /// Withdrawn for good.
    Revoked,
}

impl Status {
    /// Parses a configured status.
    pub fn parse(s: &str) -> Option<Status> {
        match s.to_ascii_lowercase().as_str() {
            "active" => Some(Status::Active),
            "suspended" | "inactive" | "deactivated" | "deactive" => Some(Status::Inactive),
            "blocked" => Some(Status::Blocked),
            "revoked" => Some(Status::Revoked),
            _ => None,
        }
    }
}

/// Validity dates in unix milliseconds, both ends inclusive (MOSIP `commenceOn ≤ now ≤
/// expiresOn`); an absent end is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    pub fn at(&self, now_ms: i64) -> InDate {
        if self.not_before_ms.is_some_and(|t| now_ms < t) {
            InDate::NotYet
        } else if self.not_after_ms.is_some_and(|t| now_ms > t) {
            InDate::Expired
        } else {
            InDate::Yes
        }
    }
}

/// SHA-256 of a secret (API key, licence key): configured in clear or as hex, only ever held,
/// compared and shown hashed. `Debug`/`Display` show 12 hex characters.
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

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A registered verification key.
#[derive(Clone, Debug)]
pub struct RegisteredKey {
    pub kid: Option<String>,
    pub key: PublicKey,
    /// Allowed algorithms (the entry's, or the JWK `alg`, or the key type's defaults); a
    /// `jws_verify` view keeps those its profile allows.
    pub algorithms: Vec<Alg>,
    /// When the key was registered as a certificate: its validity dates (spar checks them).
    pub certificate: Option<Certificate>,
}

/// A partner API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// SHA-256 of the key.
    pub hash: SecretHash,
    /// Owning partner id.
    pub partner: String,
    /// Policy id; `None`: the partner's policy, if any.
    pub policy: Option<String>,
    pub status: Status,
    pub validity: Validity,
}

/// A path condition of a route rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The path (without query) starts with this string.
    Prefix(String),
    /// The path (without query) matches this segment glob ([`Glob`]).
    Glob(Glob),
}

/// One allowed route of a policy (or a `token_check` route-policy rule).
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
            && match &self.path {
                PathMatch::Prefix(p) => path.starts_with(p.as_str()),
                PathMatch::Glob(g) => g.matches(path),
            }
    }
}

/// A policy: what a partner (or one of its API keys) may call. `token_check` enforces the
/// routes and scopes; `jws_verify` (MOSIP) checks status and dates only, as IDA does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    pub id: String,
    pub status: Status,
    pub validity: Validity,
    /// Allowed routes (first match allows).
    pub routes: Vec<RouteRule>,
    /// Scopes the bearer token must carry (when non-empty, a token is needed).
    pub required_scopes: Vec<String>,
}

impl AccessPolicy {
    /// Active and in date at `now_ms`.
    pub fn in_force(&self, now_ms: i64) -> bool {
        self.status == Status::Active && self.validity.at(now_ms) == InDate::Yes
    }

    /// Whether a route of the policy allows `method` + `path` (query removed).
    pub fn allows(&self, method: &str, path: &str) -> bool {
        self.routes.iter().any(|r| r.matches(method, path))
    }
}

/// A MISP licence key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceKey {
    /// SHA-256 of the key.
    pub hash: SecretHash,
    /// Owning MISP id.
    pub misp: String,
    pub status: Status,
    pub validity: Validity,
}

/// A MISP (MOSIP Infrastructure Service Provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misp {
    pub id: String,
    pub status: Status,
    /// Partner ids it may serve; `None`: any registered partner (MOSIP IDA has no such list).
    pub partners: Option<Vec<String>>,
    /// Upper-case hex SHA-256 of the MISP's registered certificate, when it may sign.
    pub certificate_sha256: Option<String>,
}

impl Misp {
    /// Whether it may serve `partner`.
    pub fn serves(&self, partner: &str) -> bool {
        self.partners
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == partner))
    }
}

/// One registered partner.
#[derive(Clone, Debug, Default)]
pub struct Partner {
    pub id: String,
    pub status: Status,
    pub validity: Validity,
    /// Names the partner's mTLS client certificate carries (SAN DNS/URI, or the subject DN as
    /// Envoy prints it).
    pub tls_names: Vec<String>,
    /// Source networks (CIDR) its connections come from (the renderer's RBAC; not read here).
    pub source_cidrs: Vec<String>,
    /// Keys, newest first (tried in this order during rotation).
    pub keys: Vec<RegisteredKey>,
    /// Upper-case hex SHA-256 of the registered certificate (mosip pinning, spar `x5c`).
    pub certificate_sha256: Option<String>,
    /// The registered certificate itself, when given.
    pub certificate: Option<Certificate>,
    /// spar: the body sender id this partner signs as.
    pub sender_id: Option<String>,
    /// mosip: the partner domain whose CA set anchors its certificates.
    pub domain: String,
    /// ocen: registry approval (`participantRoleStatus == APPROVED`).
    pub approved: bool,
    /// Token subjects / client ids / platform-claim values naming it (its id always does).
    pub token_subjects: Vec<String>,
    /// Policy applied when no API key names one.
    pub policy: Option<String>,
    pub api_keys: Vec<ApiKey>,
}

impl Partner {
    /// Active and in date at `now_ms`.
    pub fn active_at(&self, now_ms: i64) -> bool {
        self.status == Status::Active && self.validity.at(now_ms) == InDate::Yes
    }

    /// The API key entry matching `key` (compared by SHA-256).
    pub fn api_key(&self, key: &str) -> Option<&ApiKey> {
        let h = SecretHash::of(key);
        self.api_keys.iter().find(|k| k.hash == h)
    }
}

/// The whole registry, validated and indexed.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    partners: Vec<Partner>,
    by_id: HashMap<String, usize>,
    by_sender: HashMap<String, usize>,
    by_tls_name: HashMap<String, usize>,
    by_subject: HashMap<String, usize>,
    /// API key hash → (partner index, key index), for the first partner registering it.
    api_keys: HashMap<SecretHash, (usize, usize)>,
    /// The first API key registered by a second partner (its field): MOSIP looks a key up
    /// within the partner the path names, but `token_check` finds the partner by its key.
    shared_api_key: Option<String>,
    policies: HashMap<String, AccessPolicy>,
    misps: HashMap<String, Misp>,
    licences: HashMap<SecretHash, LicenceKey>,
    domain_ca: BTreeMap<String, Vec<Certificate>>,
}

impl Registry {
    /// Parses and validates a registry document (`{"partners": [...], "policies": [...],
    /// "misps": [...], "domain_ca": {...}}`), e.g. the module's VM configuration.
    pub fn from_json(json: &[u8]) -> Result<Registry, ConfigError> {
        let raw: RawRegistry = ConfigError::parse_object(json)?;
        raw.build()
    }

    /// No partner registered.
    pub fn is_empty(&self) -> bool {
        self.partners.is_empty()
    }
    /// Every partner, in configured order.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }
    /// The partner with this id.
    pub fn partner(&self, id: &str) -> Option<&Partner> {
        self.by_id.get(id).and_then(|i| self.partners.get(*i))
    }
    /// The partner registered for a spar sender id.
    pub fn by_sender(&self, sender: &str) -> Option<&Partner> {
        self.by_sender
            .get(sender)
            .and_then(|i| self.partners.get(*i))
    }
    /// The partner whose client certificate carries this name.
    pub fn by_tls_name(&self, name: &str) -> Option<&Partner> {
        self.by_tls_name
            .get(name)
            .and_then(|i| self.partners.get(*i))
    }
    /// The partner a token names: by token subject / client id, else by id.
    pub fn by_token_name(&self, name: &str) -> Option<&Partner> {
        self.by_subject
            .get(name)
            .and_then(|&i| self.partners.get(i))
            .or_else(|| self.partner(name))
    }
    /// The API key presented, if registered (status and dates are the caller's to check).
    pub fn api_key(&self, secret: &str) -> Option<&ApiKey> {
        let (p, k) = self.api_keys.get(&SecretHash::of(secret))?;
        self.partners.get(*p)?.api_keys.get(*k)
    }
    /// The field of the first API key that two partners register, if any.
    pub fn shared_api_key(&self) -> Option<&str> {
        self.shared_api_key.as_deref()
    }
    /// A policy by id.
    pub fn policy(&self, id: &str) -> Option<&AccessPolicy> {
        self.policies.get(id)
    }
    /// The licence key presented and its MISP, if registered (status and dates unchecked).
    pub fn licence(&self, secret: &str) -> Option<(&LicenceKey, &Misp)> {
        let lk = self.licences.get(&SecretHash::of(secret))?;
        Some((lk, self.misps.get(&lk.misp)?))
    }
    /// The CA set of a partner domain.
    pub fn cas(&self, domain: &str) -> &[Certificate] {
        self.domain_ca.get(domain).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `jws_verify`'s view: every key checked against `min_rsa_bits` and its algorithms cut to
    /// those the profile allows. A key left with none is a configuration error naming the
    /// partner and the key, so a rotation the profile cannot use fails at load, not at traffic.
    pub fn for_profile(&self, allowed: &[Alg], min_rsa_bits: usize) -> Result<Registry, String> {
        let mut view = self.clone();
        for (i, p) in view.partners.iter_mut().enumerate() {
            for (j, k) in p.keys.iter_mut().enumerate() {
                let at = format!(
                    "partners[{i}].keys[{j}]: partner {:?}, key {}",
                    p.id,
                    k.kid
                        .as_deref()
                        .map_or("(no kid)".into(), |kid| format!("{kid:?}"))
                );
                k.key
                    .check_strength(min_rsa_bits)
                    .map_err(|e| format!("{at}: {e}"))?;
                k.algorithms.retain(|a| allowed.contains(a));
                if k.algorithms.is_empty() {
                    return Err(format!(
                        "{at}: algorithms: none of the key's algorithms is allowed by the profile"
                    ));
                }
            }
        }
        Ok(view)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
