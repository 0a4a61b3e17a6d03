//! The registry as written (serde, unknown fields refused) and its validation into
//! [`Registry`]. Every error names the field as a JSON path: `partners[0].keys[1].kid`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use super::{
    AccessPolicy, ApiKey, LicenceKey, Misp, Partner, PathMatch, RegisteredKey, Registry, RouteRule,
    SecretHash, Status, Validity,
};
use crate::config_error::ConfigError;
use crate::jose::alg::Alg;
use crate::keys::{Jwk, PublicKey};
use crate::route::Glob;
use crate::x509::Certificate;

type Result<T> = std::result::Result<T, ConfigError>;

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::new(field, message)
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Status, D::Error> {
        let s = String::deserialize(d)?;
        Status::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown status {s:?} (active, suspended, inactive, blocked, revoked)"
            ))
        })
    }
}

impl JsonSchema for Status {
    fn schema_name() -> String {
        "Status".into()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        crate::schema::literal(serde_json::json!({
            "type": "string",
            "enum": ["active", "suspended", "inactive", "blocked", "revoked"],
            "description": "Status, in any case; only `active` is in force."
        }))
    }
}

/// The registry document, or the same members inline in a filter configuration.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRegistry {
    /// The partners: each written once, read by every filter and by the renderer.
    #[serde(default)]
    pub partners: Vec<RawPartner>,
    /// Access policies that partners and API keys name (`policy`).
    #[serde(default)]
    pub policies: Vec<RawPolicy>,
    /// MOSIP MISPs and their licence keys.
    #[serde(default)]
    pub misps: Vec<RawMisp>,
    /// MOSIP partner domain → CA certificates (PEM, bundles allowed).
    #[serde(default)]
    pub domain_ca: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    /// The partner's id: what stats, audit records and `x-signet-partner` name.
    pub id: String,
    /// `active` (default) or suspended / inactive / blocked / revoked, any case: anything
    /// but active is refused.
    #[serde(default)]
    pub status: Status,
    /// In force from (RFC 3339, inclusive).
    pub not_before: Option<String>,
    /// In force until (RFC 3339, inclusive).
    pub not_after: Option<String>,
    /// URI SAN, DNS SAN or subject of the partner's client certificate.
    #[serde(default)]
    pub tls_names: Vec<String>,
    /// Source ranges of the partner's connections (the renderer's RBAC; a partner
    /// without them gets no TLS access).
    #[serde(default)]
    pub source_cidrs: Vec<String>,
    /// JWS verification keys, newest first.
    #[serde(default)]
    pub keys: Vec<RawKey>,
    /// The partner's signing certificate (MOSIP: pinned).
    pub certificate_pem: Option<String>,
    /// Or the SHA-256 of that certificate, hex.
    pub certificate_sha256: Option<String>,
    /// The id the partner writes as sender in its messages (default `id`).
    pub sender_id: Option<String>,
    /// MOSIP partner domain (`domain_ca` key) of the partner's certificate.
    pub domain: Option<String>,
    /// OCEN registry status (e.g. `APPROVED`).
    pub registry_status: Option<String>,
    /// Token subjects / client ids that name this partner (`token_check`).
    #[serde(default)]
    pub token_subjects: Vec<String>,
    /// The access policy (`policies[].id`) of the partner and, by default, of its API keys.
    pub policy: Option<String>,
    /// API keys the partner presents (`token_check`; MOSIP `jws_verify`).
    #[serde(default)]
    pub api_keys: Vec<RawApiKey>,
}

/// A key: exactly one of the three forms.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Key id the partner's signatures name.
    pub kid: Option<String>,
    /// Algorithms of this key (default: those its type and the profile allow).
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// SPKI public key, PEM; exactly one of the three forms.
    pub public_key_pem: Option<String>,
    /// Public key as a JWK object.
    pub public_jwk: Option<serde_json::Value>,
    /// Certificate holding the key, PEM.
    pub certificate_pem: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawApiKey {
    /// The key in clear (demos), or
    pub key: Option<String>,
    /// its SHA-256 in hex.
    pub key_sha256: Option<String>,
    /// Access policy of this key (default: the partner's).
    pub policy: Option<String>,
    /// `active` (default) or suspended / inactive / blocked / revoked, any case: anything
    /// but active is refused.
    #[serde(default)]
    pub status: Status,
    /// In force from (RFC 3339, inclusive).
    pub not_before: Option<String>,
    /// In force until (RFC 3339, inclusive).
    pub not_after: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// The policy's id, as partners and API keys name it.
    pub id: String,
    /// `active` (default) or suspended / inactive / blocked / revoked, any case: anything
    /// but active is refused.
    #[serde(default)]
    pub status: Status,
    /// In force from (RFC 3339, inclusive).
    pub not_before: Option<String>,
    /// In force until (RFC 3339, inclusive).
    pub not_after: Option<String>,
    /// The routes the policy allows (`token_check`).
    pub routes: Vec<RawRoute>,
    /// Scopes the token must carry.
    #[serde(default)]
    pub required_scopes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// HTTP methods (default: any).
    #[serde(default)]
    pub methods: Vec<String>,
    /// A string prefix of the path, or
    pub path_prefix: Option<String>,
    /// a glob over path segments: `*` one segment, `**` any number.
    pub path_glob: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMisp {
    /// The MISP's id.
    pub id: String,
    /// `active` (default) or suspended / inactive / blocked / revoked, any case: anything
    /// but active is refused.
    #[serde(default)]
    pub status: Status,
    /// The partners the MISP may serve (absent: any).
    pub partners: Option<Vec<String>>,
    /// Licence keys the MISP's partners present.
    #[serde(default)]
    pub license_keys: Vec<RawLicenseKey>,
    /// The MISP's certificate, PEM.
    pub certificate_pem: Option<String>,
    /// Or its SHA-256, hex.
    pub certificate_sha256: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLicenseKey {
    /// The licence key in clear (demos), or
    pub key: Option<String>,
    /// its SHA-256 in hex.
    pub key_sha256: Option<String>,
    /// `active` (default) or suspended / inactive / blocked / revoked, any case: anything
    /// but active is refused.
    #[serde(default)]
    pub status: Status,
    /// In force from (RFC 3339, inclusive).
    pub not_before: Option<String>,
    /// In force until (RFC 3339, inclusive).
    pub not_after: Option<String>,
}

impl RawRegistry {
    /// Nothing written.
    pub fn is_empty(&self) -> bool {
        self.partners.is_empty()
            && self.policies.is_empty()
            && self.misps.is_empty()
            && self.domain_ca.is_empty()
    }

    /// Validates and indexes.
    pub fn build(&self) -> Result<Registry> {
        let mut reg = Registry::default();
        for (i, p) in self.policies.iter().enumerate() {
            let f = format!("policies[{i}]");
            let p = build_policy(p, &f)?;
            if reg.policies.contains_key(&p.id) {
                return Err(err(format!("{f}.id"), "duplicate policy id"));
            }
            reg.policies.insert(p.id.clone(), p);
        }
        for (i, raw) in self.partners.iter().enumerate() {
            let f = format!("partners[{i}]");
            let idx = reg.partners.len();
            // The id beside the path: an operator looks for the partner, not its index.
            let p = build_partner(raw, &f, &reg).map_err(|e| ConfigError {
                message: format!("partner {:?}: {}", raw.id, e.message),
                ..e
            })?;
            if reg.by_id.insert(p.id.clone(), idx).is_some() {
                return Err(err(format!("{f}.id"), "duplicate partner id"));
            }
            if let Some(s) = &p.sender_id {
                if reg.by_sender.insert(s.clone(), idx).is_some() {
                    return Err(err(format!("{f}.sender_id"), "registered twice"));
                }
            }
            for (j, n) in p.tls_names.iter().enumerate() {
                if reg.by_tls_name.insert(n.clone(), idx).is_some() {
                    return Err(err(
                        format!("{f}.tls_names[{j}]"),
                        "name already registered for a partner",
                    ));
                }
            }
            for (j, s) in p.token_subjects.iter().enumerate() {
                if reg.by_subject.insert(s.clone(), idx).is_some() {
                    return Err(err(
                        format!("{f}.token_subjects[{j}]"),
                        "subject already registered for a partner",
                    ));
                }
            }
            for (j, k) in p.api_keys.iter().enumerate() {
                let field = format!("{f}.api_keys[{j}]");
                match reg.api_keys.get(&k.hash) {
                    Some((other, _)) if *other == idx => {
                        return Err(err(field, "API key registered twice"));
                    }
                    Some(_) => {
                        reg.shared_api_key.get_or_insert(field);
                    }
                    None => {
                        reg.api_keys.insert(k.hash, (idx, j));
                    }
                }
            }
            reg.partners.push(p);
        }
        // A subject that is another partner's id would let one token resolve to two partners.
        for (i, p) in reg.partners.iter().enumerate() {
            for (j, s) in p.token_subjects.iter().enumerate() {
                if s != &p.id && reg.by_id.contains_key(s) {
                    return Err(err(
                        format!("partners[{i}].token_subjects[{j}]"),
                        "is another partner's id",
                    ));
                }
            }
        }
        for (i, m) in self.misps.iter().enumerate() {
            let f = format!("misps[{i}]");
            nonempty(&m.id, &format!("{f}.id"))?;
            if reg.misps.contains_key(&m.id) {
                return Err(err(format!("{f}.id"), "duplicate MISP id"));
            }
            for (j, p) in m.partners.iter().flatten().enumerate() {
                if !reg.by_id.contains_key(p) {
                    return Err(err(format!("{f}.partners[{j}]"), "no partner with this id"));
                }
            }
            for (j, k) in m.license_keys.iter().enumerate() {
                let kf = format!("{f}.license_keys[{j}]");
                let hash = secret_hash(k.key.as_deref(), k.key_sha256.as_deref(), &kf)?;
                let lk = LicenceKey {
                    hash,
                    misp: m.id.clone(),
                    status: k.status,
                    validity: validity(k.not_before.as_deref(), k.not_after.as_deref(), &kf)?,
                };
                if reg.licences.insert(hash, lk).is_some() {
                    return Err(err(kf, "licence key registered twice"));
                }
            }
            let certificate_sha256 = certificate_hash(
                m.certificate_pem.as_deref(),
                m.certificate_sha256.as_deref(),
            )
            .map_err(|e| e.under(&f))?
            .map(|(h, _)| h);
            reg.misps.insert(
                m.id.clone(),
                Misp {
                    id: m.id.clone(),
                    status: m.status,
                    partners: m.partners.clone(),
                    certificate_sha256,
                },
            );
        }
        for (domain, pems) in &self.domain_ca {
            let mut set = Vec::new();
            for (j, pem) in pems.iter().enumerate() {
                let certs = Certificate::from_pem_bundle(pem)
                    .map_err(|e| err(format!("domain_ca.{domain}[{j}]"), e.to_string()))?;
                set.extend(certs);
            }
            reg.domain_ca.insert(domain.clone(), set);
        }
        Ok(reg)
    }
}

fn build_partner(raw: &RawPartner, f: &str, reg: &Registry) -> Result<Partner> {
    nonempty(&raw.id, &format!("{f}.id"))?;
    for (j, n) in raw.tls_names.iter().enumerate() {
        nonempty(n, &format!("{f}.tls_names[{j}]"))?;
    }
    for (j, s) in raw.token_subjects.iter().enumerate() {
        nonempty(s, &format!("{f}.token_subjects[{j}]"))?;
    }
    for (j, c) in raw.source_cidrs.iter().enumerate() {
        check_cidr(c).map_err(|m| err(format!("{f}.source_cidrs[{j}]"), m))?;
    }
    let policy_known = |id: &str, field: String| {
        if reg.policies.contains_key(id) {
            Ok(())
        } else {
            Err(err(field, "no policy with this id"))
        }
    };
    if let Some(pol) = &raw.policy {
        policy_known(pol, format!("{f}.policy"))?;
    }
    let mut keys = Vec::new();
    for (j, k) in raw.keys.iter().enumerate() {
        keys.push(build_key(k).map_err(|e| e.under(&format!("{f}.keys[{j}]")))?);
    }
    let (certificate_sha256, certificate) = match certificate_hash(
        raw.certificate_pem.as_deref(),
        raw.certificate_sha256.as_deref(),
    )
    .map_err(|e| e.under(f))?
    {
        Some((h, c)) => (Some(h), c),
        None => (None, None),
    };
    let mut api_keys = Vec::new();
    for (j, k) in raw.api_keys.iter().enumerate() {
        let kf = format!("{f}.api_keys[{j}]");
        if let Some(pol) = &k.policy {
            policy_known(pol, format!("{kf}.policy"))?;
        }
        api_keys.push(ApiKey {
            hash: secret_hash(k.key.as_deref(), k.key_sha256.as_deref(), &kf)?,
            partner: raw.id.clone(),
            policy: k.policy.clone(),
            status: k.status,
            validity: validity(k.not_before.as_deref(), k.not_after.as_deref(), &kf)?,
        });
    }
    Ok(Partner {
        id: raw.id.clone(),
        status: raw.status,
        validity: validity(raw.not_before.as_deref(), raw.not_after.as_deref(), f)?,
        tls_names: raw.tls_names.clone(),
        source_cidrs: raw.source_cidrs.clone(),
        keys,
        certificate_sha256,
        certificate,
        sender_id: raw.sender_id.clone(),
        domain: raw.domain.clone().unwrap_or_else(|| "AUTH".into()),
        approved: raw
            .registry_status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("APPROVED")),
        token_subjects: raw.token_subjects.clone(),
        policy: raw.policy.clone(),
        api_keys,
    })
}

/// Builds one key: parsed, and its algorithms fitting its type. The profile's own cut and the
/// RSA size floor are [`Registry::for_profile`]'s.
fn build_key(k: &RawKey) -> Result<RegisteredKey> {
    let forms = [
        k.public_key_pem.is_some(),
        k.public_jwk.is_some(),
        k.certificate_pem.is_some(),
    ];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err(err(
            "",
            "exactly one of public_key_pem, public_jwk, certificate_pem is required",
        ));
    }
    let mut jwk_alg = None;
    let mut jwk_kid = None;
    let mut certificate = None;
    let key: PublicKey = if let Some(pem) = &k.public_key_pem {
        PublicKey::from_pem(pem).map_err(|e| err("public_key_pem", e.to_string()))?
    } else if let Some(j) = &k.public_jwk {
        let jwk = Jwk::from_value(j).map_err(|e| err("public_jwk", e.to_string()))?;
        jwk_alg = jwk.alg;
        jwk_kid = jwk.kid.clone();
        jwk.key
    } else {
        let pem = k.certificate_pem.as_deref().unwrap_or_default();
        let cert = Certificate::from_pem(pem).map_err(|e| err("certificate_pem", e.to_string()))?;
        let key = cert
            .public_key()
            .map_err(|e| err("certificate_pem", e.to_string()))?;
        certificate = Some(cert);
        key
    };
    let algorithms = if k.algorithms.is_empty() {
        match jwk_alg {
            Some(a) => vec![a],
            None => Alg::defaults_for(&key).to_vec(),
        }
    } else {
        let mut v = Vec::new();
        for (i, name) in k.algorithms.iter().enumerate() {
            let f = format!("algorithms[{i}]");
            let a = Alg::from_name(name)
                .ok_or_else(|| err(&f, format!("{name:?} is not a supported algorithm")))?;
            if jwk_alg.is_some_and(|j| j != a) {
                return Err(err(f, format!("{name:?} differs from the JWK's alg")));
            }
            if !a.fits(&key) {
                return Err(err(f, format!("{name} does not fit this key type")));
            }
            v.push(a);
        }
        v
    };
    Ok(RegisteredKey {
        kid: k.kid.clone().or(jwk_kid),
        key,
        algorithms,
        certificate,
    })
}

/// `(upper-case hex SHA-256, certificate)` from `certificate_pem` and/or `certificate_sha256`;
/// both given must agree.
fn certificate_hash(
    pem: Option<&str>,
    sha: Option<&str>,
) -> Result<Option<(String, Option<Certificate>)>> {
    let cert = pem
        .map(|p| Certificate::from_pem(p).map_err(|e| err("certificate_pem", e.to_string())))
        .transpose()?;
    let hash = sha
        .map(|h| {
            SecretHash::from_hex(h)
                .map(|_| h.to_ascii_uppercase())
                .ok_or_else(|| err("certificate_sha256", "must be 64 hex digits"))
        })
        .transpose()?;
    Ok(match (hash, cert) {
        (Some(h), Some(c)) if h != c.sha256_hex_upper() => {
            return Err(err("certificate_sha256", "does not match certificate_pem"))
        }
        (Some(h), c) => Some((h, c)),
        (None, Some(c)) => Some((c.sha256_hex_upper(), Some(c))),
        (None, None) => None,
    })
}

fn build_policy(p: &RawPolicy, f: &str) -> Result<AccessPolicy> {
    nonempty(&p.id, &format!("{f}.id"))?;
    if p.routes.is_empty() {
        return Err(err(format!("{f}.routes"), "must list at least one route"));
    }
    let mut routes = Vec::new();
    for (j, r) in p.routes.iter().enumerate() {
        routes.push(route_rule(
            &r.methods,
            r.path_prefix.as_deref(),
            r.path_glob.as_deref(),
            &format!("{f}.routes[{j}]"),
        )?);
    }
    for (j, s) in p.required_scopes.iter().enumerate() {
        if s.is_empty() || s.contains(' ') {
            return Err(err(
                format!("{f}.required_scopes[{j}]"),
                "must be one non-empty scope",
            ));
        }
    }
    Ok(AccessPolicy {
        id: p.id.clone(),
        status: p.status,
        validity: validity(p.not_before.as_deref(), p.not_after.as_deref(), f)?,
        routes,
        required_scopes: p.required_scopes.clone(),
    })
}

/// A route rule: methods (upper-cased) and exactly one of a path prefix or a glob.
pub fn route_rule(
    methods: &[String],
    prefix: Option<&str>,
    glob: Option<&str>,
    f: &str,
) -> Result<RouteRule> {
    let mut ms = Vec::new();
    for (i, m) in methods.iter().enumerate() {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(err(format!("{f}.methods[{i}]"), "not an HTTP method"));
        }
        ms.push(m.to_ascii_uppercase());
    }
    let path = match (prefix, glob) {
        (Some(p), None) if p.starts_with('/') => PathMatch::Prefix(p.to_string()),
        (Some(_), None) => return Err(err(format!("{f}.path_prefix"), "must start with /")),
        (None, Some(g)) => {
            PathMatch::Glob(Glob::parse(g).map_err(|m| err(format!("{f}.path_glob"), m))?)
        }
        _ => return Err(err(f, "give exactly one of path_prefix or path_glob")),
    };
    Ok(RouteRule { methods: ms, path })
}

fn secret_hash(key: Option<&str>, sha: Option<&str>, f: &str) -> Result<SecretHash> {
    match (key, sha) {
        (Some(k), None) if !k.is_empty() => Ok(SecretHash::of(k)),
        (None, Some(h)) => SecretHash::from_hex(h)
            .ok_or_else(|| err(format!("{f}.key_sha256"), "must be 64 hex digits")),
        (Some(_), None) => Err(err(format!("{f}.key"), "must not be empty")),
        _ => Err(err(f, "give exactly one of key or key_sha256")),
    }
}

fn validity(nb: Option<&str>, na: Option<&str>, f: &str) -> Result<Validity> {
    let parse = |v: Option<&str>, name: &str| {
        v.map(|s| {
            crate::time::parse_rfc3339_ms(s)
                .ok_or_else(|| err(format!("{f}.{name}"), "must be an RFC 3339 date-time"))
        })
        .transpose()
    };
    let v = Validity {
        not_before_ms: parse(nb, "not_before")?,
        not_after_ms: parse(na, "not_after")?,
    };
    if let (Some(a), Some(b)) = (v.not_before_ms, v.not_after_ms) {
        if a > b {
            return Err(err(format!("{f}.not_after"), "is before not_before"));
        }
    }
    Ok(v)
}

fn nonempty(s: &str, f: &str) -> Result<()> {
    if s.is_empty() {
        Err(err(f, "must not be empty"))
    } else {
        Ok(())
    }
}

/// An address block as Envoy's `CidrRange` takes it: an IP address, `/`, a prefix length that
/// fits the address family.
fn check_cidr(c: &str) -> std::result::Result<(), &'static str> {
    let (ip, len) = c.split_once('/').ok_or("must be ADDRESS/PREFIX_LENGTH")?;
    let max = match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => 32,
        Ok(std::net::IpAddr::V6(_)) => 128,
        Err(_) => return Err("not an IP address before '/'"),
    };
    match len.parse::<u8>() {
        Ok(n) if n <= max && !len.starts_with('+') => Ok(()),
        _ => Err("prefix length out of range"),
    }
}

/// The four registry members a filter configuration may carry inline, each as written (absent
/// is not the same as empty: both forms at once is refused even for an empty list).
#[derive(Clone, Debug, Default)]
pub struct InlineMembers {
    pub partners: Option<Vec<RawPartner>>,
    pub policies: Option<Vec<RawPolicy>>,
    pub misps: Option<Vec<RawMisp>>,
    pub domain_ca: Option<BTreeMap<String, Vec<String>>>,
}

impl InlineMembers {
    /// The filter's registry: the shared one (VM configuration) or the inline members — never
    /// both, since a partner written in two places is the drift this registry removes.
    pub fn resolve(self, shared: Option<&Registry>) -> Result<Registry> {
        let given: Vec<&str> = [
            ("partners", self.partners.is_some()),
            ("policies", self.policies.is_some()),
            ("misps", self.misps.is_some()),
            ("domain_ca", self.domain_ca.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| *n)
        .collect();
        match (shared, given.first()) {
            (Some(_), Some(field)) => Err(err(
                *field,
                "the partner registry is in the VM configuration; write it there only \
                 (not also inline in the filter configuration)",
            )),
            (Some(r), None) => Ok(r.clone()),
            (None, _) => RawRegistry {
                partners: self.partners.unwrap_or_default(),
                policies: self.policies.unwrap_or_default(),
                misps: self.misps.unwrap_or_default(),
                domain_ca: self.domain_ca.unwrap_or_default(),
            }
            .build(),
        }
    }
}
