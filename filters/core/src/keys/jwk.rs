//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2) as docs/profiles.md#keys takes them:
//! RSA (`n`,`e`), EC (`crv` P-256/P-384, `x`,`y`), OKP (`crv` Ed25519, `x`).
//!
//! A public entry carrying private members is refused (a leaked private key in a registry is a
//! configuration error, not something to ignore); `use`, if present, must be `sig`; the JWK
//! `alg`, if present, must be an algorithm Signet accepts and fit the key — it then restricts
//! the key to that one algorithm.

use super::private::checked_rsa_key;
use super::{KeyError, PrivateKey, PublicKey};
use crate::b64;
use crate::jose::alg::Alg;
use rsa::BigUint;
use serde_json::{Map, Value};

/// Members that only a private JWK carries (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// Upper bound on the keys read from one JWK set.
const MAX_JWKS_KEYS: usize = 1024;

/// A public JWK: the key, its `kid` and its optional `alg` restriction.
#[derive(Debug, Clone, PartialEq)]
pub struct Jwk {
    /// The public key.
    pub key: PublicKey,
    /// `kid`, if present.
    pub kid: Option<String>,
    /// `alg`, if present (already checked to fit `key`).
    pub alg: Option<Alg>,
}

impl Jwk {
    /// Parses one public JWK from JSON text.
    pub fn from_json(json: &str) -> Result<Jwk, KeyError> {
        Jwk::from_value(&parse_json(json)?)
    }

    /// Parses one public JWK from a parsed JSON value.
    pub fn from_value(v: &Value) -> Result<Jwk, KeyError> {
        let obj = v
            .as_object()
            .ok_or(KeyError::Json("JWK is not an object"))?;
        if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            return Err(KeyError::PrivateMaterial);
        }
        let (kid, alg_name) = common_members(obj)?;
        let key = public_from_obj(obj)?;
        let alg = restrict_alg(alg_name, &key)?;
        Ok(Jwk { key, kid, alg })
    }

    /// The algorithms this key may be used with: its `alg` if present, else the defaults for
    /// its type ([`Alg::defaults_for`]).
    pub fn algorithms(&self) -> Vec<Alg> {
        match self.alg {
            Some(a) => vec![a],
            None => Alg::defaults_for(&self.key).to_vec(),
        }
    }
}

/// JWK sets (`{"keys":[…]}`, RFC 7517 §5).
pub struct Jwks;

impl Jwks {
    /// Parses a JWK set. Entries meant for something else are skipped: `use` other than `sig`,
    /// unsupported `kty`/`crv`, or an `alg` Signet does not accept (e.g. an encryption key
    /// published beside the signing keys). Any other problem — private members, a malformed
    /// supported key, `alg` not fitting the key — fails the whole set.
    pub fn from_json(json: &str) -> Result<Vec<Jwk>, KeyError> {
        Jwks::from_value(&parse_json(json)?)
    }

    /// As [`Jwks::from_json`], from a parsed JSON value.
    pub fn from_value(v: &Value) -> Result<Vec<Jwk>, KeyError> {
        let keys = v
            .as_object()
            .and_then(|o| o.get("keys"))
            .and_then(Value::as_array)
            .ok_or(KeyError::Json("JWK set without a \"keys\" array"))?;
        if keys.len() > MAX_JWKS_KEYS {
            return Err(KeyError::Json("too many keys in JWK set"));
        }
        let mut out = Vec::with_capacity(keys.len());
        for entry in keys {
            match Jwk::from_value(entry) {
                Ok(jwk) => out.push(jwk),
                Err(
                    KeyError::NotForSignatures
                    | KeyError::UnsupportedKeyType
                    | KeyError::UnsupportedCurve
                    | KeyError::UnsupportedAlg(_),
                ) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Removes every ASCII whitespace character (OCEN registry `publicKey` values arrive wrapped
/// and indented; docs/profiles.md#keys).
pub fn strip_ascii_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_whitespace()).collect()
}

pub(super) fn private_from_json(json: &str) -> Result<PrivateKey, KeyError> {
    private_from_value(&parse_json(json)?)
}

pub(super) fn private_from_value(v: &Value) -> Result<PrivateKey, KeyError> {
    let obj = v
        .as_object()
        .ok_or(KeyError::Json("JWK is not an object"))?;
    let (_kid, alg_name) = common_members(obj)?;
    let d = b64_member(obj, "d")?;
    let key = match kty(obj)? {
        "RSA" => {
            let n = BigUint::from_bytes_be(&b64_member(obj, "n")?);
            let e = BigUint::from_bytes_be(&b64_member(obj, "e")?);
            let d = BigUint::from_bytes_be(&d);
            let primes = match (obj.get("p"), obj.get("q")) {
                (None, None) => Vec::new(),
                (Some(_), Some(_)) => vec![
                    BigUint::from_bytes_be(&b64_member(obj, "p")?),
                    BigUint::from_bytes_be(&b64_member(obj, "q")?),
                ],
                (None, Some(_)) => return Err(KeyError::Jwk("p")),
                (Some(_), None) => return Err(KeyError::Jwk("q")),
            };
            let key = rsa::RsaPrivateKey::from_components(n, e, d, primes)
                .map_err(|_| KeyError::Invalid("inconsistent RSA private key"))?;
            checked_rsa_key(key)?
        }
        "EC" => {
            let sk = match crv(obj)? {
                "P-256" => PrivateKey::P256(
                    p256::ecdsa::SigningKey::from_slice(&exact(d, 32, "d")?)
                        .map_err(|_| KeyError::Invalid("P-256 private scalar"))?,
                ),
                "P-384" => PrivateKey::P384(
                    p384::ecdsa::SigningKey::from_slice(&exact(d, 48, "d")?)
                        .map_err(|_| KeyError::Invalid("P-384 private scalar"))?,
                ),
                _ => return Err(KeyError::UnsupportedCurve),
            };
            if sk.public_key() != public_from_obj(obj)? {
                return Err(KeyError::PairMismatch);
            }
            sk
        }
        "OKP" => {
            if crv(obj)? != "Ed25519" {
                return Err(KeyError::UnsupportedCurve);
            }
            let seed: [u8; 32] = exact(d, 32, "d")?
                .try_into()
                .map_err(|_| KeyError::Jwk("d"))?;
            let sk = PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed));
            if sk.public_key() != public_from_obj(obj)? {
                return Err(KeyError::PairMismatch);
            }
            sk
        }
        _ => return Err(KeyError::UnsupportedKeyType),
    };
    restrict_alg(alg_name, &key.public_key())?;
    Ok(key)
}

/// JSON text → value, through the strict parser first so a key with two `n` (or two `kty`)
/// members is refused instead of silently taking the last one.
fn parse_json(json: &str) -> Result<Value, KeyError> {
    crate::json::parse_strict(json.as_bytes(), crate::json::JsonLimits::body(16))
        .map_err(|_| KeyError::Json("invalid JSON or duplicate member"))?;
    serde_json::from_str(json).map_err(|_| KeyError::Json("invalid JSON"))
}

/// Checks `use`, reads `kid` and `alg`.
fn common_members(obj: &Map<String, Value>) -> Result<(Option<String>, Option<&str>), KeyError> {
    match obj.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(Value::String(_)) => return Err(KeyError::NotForSignatures),
        Some(_) => return Err(KeyError::Jwk("use")),
    }
    let kid = match obj.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(KeyError::Jwk("kid")),
    };
    let alg = match obj.get("alg") {
        None => None,
        Some(Value::String(a)) => Some(a.as_str()),
        Some(_) => return Err(KeyError::Jwk("alg")),
    };
    Ok((kid, alg))
}

fn restrict_alg(name: Option<&str>, key: &PublicKey) -> Result<Option<Alg>, KeyError> {
    match name {
        None => Ok(None),
        Some(n) => {
            let alg = Alg::from_name(n).ok_or_else(|| KeyError::UnsupportedAlg(n.to_string()))?;
            if alg.fits(key) {
                Ok(Some(alg))
            } else {
                Err(KeyError::AlgMismatch)
            }
        }
    }
}

fn public_from_obj(obj: &Map<String, Value>) -> Result<PublicKey, KeyError> {
    match kty(obj)? {
        "RSA" => {
            let n = BigUint::from_bytes_be(&b64_member(obj, "n")?);
            let e = BigUint::from_bytes_be(&b64_member(obj, "e")?);
            rsa::RsaPublicKey::new(n, e)
                .map(PublicKey::Rsa)
                .map_err(|_| {
                    KeyError::Invalid("RSA public key (modulus over 4096 bits or bad exponent)")
                })
        }
        "EC" => {
            let (len, curve) = match crv(obj)? {
                "P-256" => (32, "P-256"),
                "P-384" => (48, "P-384"),
                _ => return Err(KeyError::UnsupportedCurve),
            };
            let x = exact(b64_member(obj, "x")?, len, "x")?;
            let y = exact(b64_member(obj, "y")?, len, "y")?;
            let mut sec1 = Vec::with_capacity(1 + 2 * len);
            sec1.push(0x04);
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            if curve == "P-256" {
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(PublicKey::P256)
                    .map_err(|_| KeyError::Invalid("P-256 point not on the curve"))
            } else {
                p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(PublicKey::P384)
                    .map_err(|_| KeyError::Invalid("P-384 point not on the curve"))
            }
        }
        "OKP" => {
            if crv(obj)? != "Ed25519" {
                return Err(KeyError::UnsupportedCurve);
            }
            let x: [u8; 32] = exact(b64_member(obj, "x")?, 32, "x")?
                .try_into()
                .map_err(|_| KeyError::Jwk("x"))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map_err(|_| KeyError::Invalid("Ed25519 point"))?;
            if key.is_weak() {
                return Err(KeyError::WeakKey);
            }
            Ok(PublicKey::Ed25519(key))
        }
        _ => Err(KeyError::UnsupportedKeyType),
    }
}

fn kty(obj: &Map<String, Value>) -> Result<&str, KeyError> {
    obj.get("kty")
        .and_then(Value::as_str)
        .ok_or(KeyError::Jwk("kty"))
}

fn crv(obj: &Map<String, Value>) -> Result<&str, KeyError> {
    obj.get("crv")
        .and_then(Value::as_str)
        .ok_or(KeyError::Jwk("crv"))
}

fn b64_member(obj: &Map<String, Value>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let s = obj
        .get(name)
        .and_then(Value::as_str)
        .ok_or(KeyError::Jwk(name))?;
    let bytes = b64::decode_url(s).map_err(|_| KeyError::Jwk(name))?;
    if bytes.is_empty() {
        return Err(KeyError::Jwk(name));
    }
    Ok(bytes)
}

/// RFC 7518 §6.2.1.2: EC coordinates are exactly the field size.
fn exact(v: Vec<u8>, len: usize, name: &'static str) -> Result<Vec<u8>, KeyError> {
    if v.len() == len {
        Ok(v)
    } else {
        Err(KeyError::Jwk(name))
    }
}
