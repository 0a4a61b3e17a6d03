//! The partner registry: who may sign, with which keys, certificates, API keys and licences.
//!
//! Built once from the filter configuration; every error names the partner and the field. The
//! registry answers "which keys may this signer use" — the message never chooses its own key
//! (security.md rule 2).

use std::collections::HashMap;

use serde::Deserialize;

use crate::jose::alg::Alg;
use crate::keys::{Jwk, PublicKey};
use crate::x509::Certificate;

/// A registered verification key.
#[derive(Clone, Debug)]
pub struct RegisteredKey {
    pub kid: Option<String>,
    pub key: PublicKey,
    /// Allowed algorithms for this key (registry entry, or JWK `alg`, or the key type's defaults).
    pub algorithms: Vec<Alg>,
    /// When the key was registered as a certificate: its validity dates (spar checks them).
    pub certificate: Option<Certificate>,
}

/// Status of a partner, key or licence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Suspended, inactive or deactivated by the platform.
    Inactive,
    /// A MISP licence blocked by the platform.
    Blocked,
    /// Revoked for good.
    Revoked,
}

impl Status {
    fn parse(s: &str) -> Result<Status, String> {
        match s.to_ascii_lowercase().as_str() {
            "active" => Ok(Status::Active),
            "suspended" | "inactive" | "deactivated" | "deactive" => Ok(Status::Inactive),
            "blocked" => Ok(Status::Blocked),
            "revoked" => Ok(Status::Revoked),
            other => Err(format!(
                "unknown status {other:?} (active, suspended, inactive, blocked, revoked)"
            )),
        }
    }
}

/// A validity period in Unix seconds; absent ends are open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Validity {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Validity {
    /// Whether `now` is before the start.
    pub fn not_yet(&self, now: i64) -> bool {
        self.from.is_some_and(|f| now < f)
    }
    /// Whether `now` is past the end.
    pub fn expired(&self, now: i64) -> bool {
        self.to.is_some_and(|t| now > t)
    }
}

/// A MOSIP policy attached to an API key.
#[derive(Clone, Debug)]
pub struct PolicyEntry {
    pub name: Option<String>,
    pub status: Status,
    pub validity: Validity,
}

/// A partner API key (MOSIP path segment or header).
#[derive(Clone, Debug)]
pub struct ApiKey {
    /// SHA-256 of the key, so a configuration never needs the key in clear.
    pub sha256: [u8; 32],
    pub status: Status,
    pub validity: Validity,
    pub policy: Option<PolicyEntry>,
}

/// A MISP and its licence key.
#[derive(Clone, Debug)]
pub struct Misp {
    pub id: Option<String>,
    pub license_sha256: [u8; 32],
    pub status: Status,
    pub validity: Validity,
    /// Upper-case hex SHA-256 of the MISP's registered certificate, when it may sign.
    pub certificate_sha256: Option<String>,
}

/// One registered partner.
#[derive(Clone, Debug)]
pub struct Partner {
    pub id: String,
    pub status: Status,
    /// Names the partner's mTLS client certificate carries (SAN DNS/URI or subject).
    pub tls_names: Vec<String>,
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
    pub api_keys: Vec<ApiKey>,
    /// mosip: SHA-256 of the MISP licence keys this partner is served under.
    pub misp_licenses: Vec<[u8; 32]>,
}

/// The whole registry, indexed.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    partners: Vec<Partner>,
    by_id: HashMap<String, usize>,
    by_sender: HashMap<String, usize>,
    by_tls_name: HashMap<String, usize>,
    pub domain_ca: HashMap<String, Vec<Certificate>>,
    pub misps: Vec<Misp>,
}

impl Registry {
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
    /// Every partner.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }
    /// The CA set of a partner domain.
    pub fn cas(&self, domain: &str) -> &[Certificate] {
        self.domain_ca.get(domain).map(Vec::as_slice).unwrap_or(&[])
    }
    /// The MISP holding this licence key (compared by SHA-256).
    pub fn misp_by_license(&self, license: &str) -> Option<&Misp> {
        let h = sha256(license.as_bytes());
        self.misps.iter().find(|m| m.license_sha256 == h)
    }
}

impl Partner {
    /// The API key entry matching `key` (compared by SHA-256).
    pub fn api_key(&self, key: &str) -> Option<&ApiKey> {
        let h = sha256(key.as_bytes());
        self.api_keys.iter().find(|k| k.sha256 == h)
    }
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).into()
}

// ---------------------------------------------------------------------------------------------
// Configuration form

/// A key as written in the configuration: exactly one of the three forms.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub kid: Option<String>,
    #[serde(default)]
    pub algorithms: Vec<String>,
    pub public_key_pem: Option<String>,
    pub public_jwk: Option<serde_json::Value>,
    pub certificate_pem: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: Option<String>,
    #[serde(default = "active")]
    pub status: String,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApiKey {
    /// The key in clear (demos), or
    pub key: Option<String>,
    /// its SHA-256 in hex.
    pub key_sha256: Option<String>,
    #[serde(default = "active")]
    pub status: String,
    pub commence_on: Option<String>,
    pub expires_on: Option<String>,
    pub policy: Option<RawPolicy>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPartner {
    pub id: String,
    #[serde(default = "active")]
    pub status: String,
    #[serde(default)]
    pub tls_names: Vec<String>,
    #[serde(default)]
    pub keys: Vec<RawKey>,
    pub certificate_pem: Option<String>,
    pub certificate_sha256: Option<String>,
    pub sender_id: Option<String>,
    pub domain: Option<String>,
    pub registry_status: Option<String>,
    #[serde(default)]
    pub api_keys: Vec<RawApiKey>,
    #[serde(default)]
    pub misp_license_keys: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMisp {
    pub id: Option<String>,
    pub license_key: Option<String>,
    pub license_key_sha256: Option<String>,
    #[serde(default = "active")]
    pub status: String,
    pub commence_on: Option<String>,
    pub expires_on: Option<String>,
    pub certificate_pem: Option<String>,
    pub certificate_sha256: Option<String>,
}

fn active() -> String {
    "active".into()
}

/// What building the registry needs from the profile.
pub struct BuildRules<'a> {
    /// Algorithms the profile allows; each key's set is intersected with it.
    pub profile_algorithms: &'a [Alg],
    pub min_rsa_bits: usize,
}

impl Registry {
    /// Validates and indexes the configured registry.
    pub fn build(
        partners: &[RawPartner],
        domain_ca: &HashMap<String, Vec<String>>,
        misps: &[RawMisp],
        rules: &BuildRules<'_>,
    ) -> Result<Registry, String> {
        let mut reg = Registry::default();
        for (i, raw) in partners.iter().enumerate() {
            let at = if raw.id.is_empty() {
                format!("partners[{i}]")
            } else {
                format!("partner {:?}", raw.id)
            };
            let p = build_partner(raw, rules).map_err(|e| format!("{at}: {e}"))?;
            let idx = reg.partners.len();
            if reg.by_id.insert(p.id.clone(), idx).is_some() {
                return Err(format!("{at}: id registered twice"));
            }
            if let Some(s) = &p.sender_id {
                if reg.by_sender.insert(s.clone(), idx).is_some() {
                    return Err(format!("{at}: sender_id {s:?} registered twice"));
                }
            }
            for n in &p.tls_names {
                if reg.by_tls_name.insert(n.clone(), idx).is_some() {
                    return Err(format!("{at}: tls_names entry {n:?} registered twice"));
                }
            }
            reg.partners.push(p);
        }
        for (domain, pems) in domain_ca {
            let mut set = Vec::new();
            for (j, pem) in pems.iter().enumerate() {
                let certs = Certificate::from_pem_bundle(pem)
                    .map_err(|e| format!("domain_ca.{domain}[{j}]: {e}"))?;
                set.extend(certs);
            }
            reg.domain_ca.insert(domain.clone(), set);
        }
        for (i, m) in misps.iter().enumerate() {
            reg.misps
                .push(build_misp(m).map_err(|e| format!("misps[{i}]: {e}"))?);
        }
        Ok(reg)
    }
}

fn build_partner(raw: &RawPartner, rules: &BuildRules<'_>) -> Result<Partner, String> {
    if raw.id.is_empty() {
        return Err("id: must not be empty".into());
    }
    let status = Status::parse(&raw.status).map_err(|e| format!("status: {e}"))?;
    let mut keys = Vec::new();
    for (j, k) in raw.keys.iter().enumerate() {
        keys.push(build_key(k, rules).map_err(|e| format!("keys[{j}]: {e}"))?);
    }
    let certificate = match &raw.certificate_pem {
        Some(pem) => Some(Certificate::from_pem(pem).map_err(|e| format!("certificate_pem: {e}"))?),
        None => None,
    };
    let certificate_sha256 = match (&raw.certificate_sha256, &certificate) {
        (Some(h), Some(c)) => {
            let h = normalize_hex(h, "certificate_sha256")?;
            if h != c.sha256_hex_upper() {
                return Err("certificate_sha256 does not match certificate_pem".into());
            }
            Some(h)
        }
        (Some(h), None) => Some(normalize_hex(h, "certificate_sha256")?),
        (None, Some(c)) => Some(c.sha256_hex_upper()),
        (None, None) => None,
    };
    let approved = match raw.registry_status.as_deref() {
        None => true,
        Some(s) => s.eq_ignore_ascii_case("APPROVED"),
    };
    let mut api_keys = Vec::new();
    for (j, k) in raw.api_keys.iter().enumerate() {
        api_keys.push(build_api_key(k).map_err(|e| format!("api_keys[{j}]: {e}"))?);
    }
    Ok(Partner {
        id: raw.id.clone(),
        status,
        tls_names: raw.tls_names.clone(),
        keys,
        certificate_sha256,
        certificate,
        sender_id: raw.sender_id.clone(),
        domain: raw.domain.clone().unwrap_or_else(|| "AUTH".into()),
        approved,
        api_keys,
        misp_licenses: raw
            .misp_license_keys
            .iter()
            .map(|l| sha256(l.as_bytes()))
            .collect(),
    })
}

/// Builds one key; RSA keys below `min_rsa_bits` and algorithms outside the profile's set fail.
pub fn build_key(k: &RawKey, rules: &BuildRules<'_>) -> Result<RegisteredKey, String> {
    let forms = [
        k.public_key_pem.is_some(),
        k.public_jwk.is_some(),
        k.certificate_pem.is_some(),
    ];
    if forms.iter().filter(|f| **f).count() != 1 {
        return Err(
            "exactly one of public_key_pem, public_jwk, certificate_pem is required".into(),
        );
    }
    let mut jwk_alg = None;
    let mut jwk_kid = None;
    let mut certificate = None;
    let key = if let Some(pem) = &k.public_key_pem {
        PublicKey::from_pem(pem).map_err(|e| format!("public_key_pem: {e}"))?
    } else if let Some(j) = &k.public_jwk {
        let jwk = Jwk::from_value(j).map_err(|e| format!("public_jwk: {e}"))?;
        jwk_alg = jwk.alg;
        jwk_kid = jwk.kid.clone();
        jwk.key
    } else {
        let pem = k.certificate_pem.as_deref().unwrap_or_default();
        let cert = Certificate::from_pem(pem).map_err(|e| format!("certificate_pem: {e}"))?;
        let key = cert
            .public_key()
            .map_err(|e| format!("certificate_pem: {e}"))?;
        certificate = Some(cert);
        key
    };
    key.check_strength(rules.min_rsa_bits)
        .map_err(|e| format!("{e}"))?;
    let mut algorithms = if k.algorithms.is_empty() {
        match jwk_alg {
            Some(a) => vec![a],
            None => Alg::defaults_for(&key).to_vec(),
        }
    } else {
        let mut v = Vec::new();
        for name in &k.algorithms {
            let a = Alg::from_name(name)
                .ok_or_else(|| format!("algorithms: {name:?} is not a supported algorithm"))?;
            if jwk_alg.is_some_and(|j| j != a) {
                return Err(format!("algorithms: {name:?} differs from the JWK's alg"));
            }
            v.push(a);
        }
        v
    };
    for a in &algorithms {
        if !a.fits(&key) {
            return Err(format!(
                "algorithms: {} does not fit this key type",
                a.name()
            ));
        }
    }
    algorithms.retain(|a| rules.profile_algorithms.contains(a));
    if algorithms.is_empty() {
        return Err("algorithms: none of the key's algorithms is allowed by the profile".into());
    }
    Ok(RegisteredKey {
        kid: k.kid.clone().or(jwk_kid),
        key,
        algorithms,
        certificate,
    })
}

fn build_api_key(k: &RawApiKey) -> Result<ApiKey, String> {
    let sha256 = hash_or_clear(k.key.as_deref(), k.key_sha256.as_deref(), "key")?;
    let policy = match &k.policy {
        Some(p) => Some(PolicyEntry {
            name: p.name.clone(),
            status: Status::parse(&p.status).map_err(|e| format!("policy.status: {e}"))?,
            validity: validity(
                p.valid_from.as_deref(),
                p.valid_to.as_deref(),
                "policy.valid",
            )?,
        }),
        None => None,
    };
    Ok(ApiKey {
        sha256,
        status: Status::parse(&k.status).map_err(|e| format!("status: {e}"))?,
        validity: validity(k.commence_on.as_deref(), k.expires_on.as_deref(), "")?,
        policy,
    })
}

fn build_misp(m: &RawMisp) -> Result<Misp, String> {
    let certificate_sha256 = match (&m.certificate_pem, &m.certificate_sha256) {
        (Some(pem), _) => Some(
            Certificate::from_pem(pem)
                .map_err(|e| format!("certificate_pem: {e}"))?
                .sha256_hex_upper(),
        ),
        (None, Some(h)) => Some(normalize_hex(h, "certificate_sha256")?),
        (None, None) => None,
    };
    Ok(Misp {
        id: m.id.clone(),
        license_sha256: hash_or_clear(
            m.license_key.as_deref(),
            m.license_key_sha256.as_deref(),
            "license_key",
        )?,
        status: Status::parse(&m.status).map_err(|e| format!("status: {e}"))?,
        validity: validity(m.commence_on.as_deref(), m.expires_on.as_deref(), "")?,
        certificate_sha256,
    })
}

fn hash_or_clear(clear: Option<&str>, hash: Option<&str>, field: &str) -> Result<[u8; 32], String> {
    match (clear, hash) {
        (Some(c), None) => Ok(sha256(c.as_bytes())),
        (None, Some(h)) => {
            let bytes = hex::decode(h).map_err(|_| format!("{field}_sha256: not hex"))?;
            bytes
                .try_into()
                .map_err(|_| format!("{field}_sha256: must be 32 bytes"))
        }
        _ => Err(format!(
            "exactly one of {field}, {field}_sha256 is required"
        )),
    }
}

fn normalize_hex(h: &str, field: &str) -> Result<String, String> {
    let bytes = hex::decode(h).map_err(|_| format!("{field}: not hex"))?;
    if bytes.len() != 32 {
        return Err(format!("{field}: must be 32 bytes"));
    }
    Ok(h.to_ascii_uppercase())
}

fn validity(from: Option<&str>, to: Option<&str>, field: &str) -> Result<Validity, String> {
    let parse = |s: &str, name: &str| {
        crate::time::parse_rfc3339_ms(s)
            .map(|ms| ms.div_euclid(1000))
            .ok_or_else(|| format!("{field}{name}: {s:?} is not an RFC 3339 date-time"))
    };
    Ok(Validity {
        from: from
            .map(|s| parse(s, "commence_on/valid_from"))
            .transpose()?,
        to: to.map(|s| parse(s, "expires_on/valid_to")).transpose()?,
    })
}
