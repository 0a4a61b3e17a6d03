//! Bearer JWT verification (RFC 7519, RFC 8725, docs/profiles.md#ocen): a compact JWS `H.P.S`
//! whose key comes from the provider's JWKS and whose algorithm the key decides.
//!
//! The flow is typed: [`UntrustedJwt::parse`] splits and decodes (nothing trusted yet; the
//! claims are read only to pick the provider by `iss`), [`UntrustedJwt::verify`] checks the
//! signature and then the claim rules, and only then yields a [`VerifiedJwt`]. A verified-token
//! cache ([`TokenCache`]) spares the signature check for repeated tokens, never beyond `exp`.

use crate::crypto::CryptoBackend;
use crate::jose::alg::Alg;
use crate::jose::header::{Header, HeaderError, HeaderRules};
use crate::json::{ecmascript, parse_strict_object, JsonLimits, JsonNumber, JsonValue, KeyOrder};
use crate::keys::Jwk;
use crate::{b64, jose::jws};
use sha2::{Digest, Sha256};
use std::borrow::Borrow;
use std::cell::OnceCell;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;

use super::error::{ClaimError, TokenError};

/// Claims objects are small; these bounds stop a hostile token from costing much to parse.
const CLAIMS_LIMITS: JsonLimits = JsonLimits {
    max_depth: 16,
    max_members: Some(256),
    max_elements: Some(4096),
};

/// When a token has no `kid`, at most this many keys are tried: each try is a signature
/// verification, and a JWKS may hold many keys (a `kid`-less token must not cost 1024 RSA
/// operations).
const MAX_KIDLESS_TRIES: usize = 4;

/// The claim rules of one provider (built from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct JwtRules {
    /// `iss` must equal this exactly.
    pub issuer: String,
    /// When non-empty, `aud` must contain one of these.
    pub audiences: Vec<String>,
    /// The provider's allowed algorithms, intersected with each key's own set.
    pub algorithms: Vec<Alg>,
    /// `exp` must be present (default true).
    pub require_exp: bool,
    /// `iat` must be present (OCEN: true).
    pub require_iat: bool,
    /// Skew allowed on `exp`, `nbf` and `iat`, in seconds (default 60, as OCEN's Spring).
    pub clock_skew_s: u64,
    /// Every one of these must be in `scope` (space-separated) or `scp` (array).
    pub required_scopes: Vec<String>,
    /// Each claim must equal the value (or, for an array claim, contain it).
    pub required_claims: Vec<(String, JsonValue)>,
}

/// The claims of a token: a strict JSON object (no duplicate names). Shared, not copied, by
/// the verified-token cache and every request it answers, with their JSON text written once.
#[derive(Debug, Clone)]
pub struct Claims(Rc<SharedClaims>);

#[derive(Debug)]
struct SharedClaims {
    value: JsonValue,
    json: OnceCell<String>,
}

impl PartialEq for Claims {
    fn eq(&self, other: &Claims) -> bool {
        self.0.value == other.0.value
    }
}

impl Claims {
    fn new(value: JsonValue) -> Claims {
        Claims(Rc::new(SharedClaims {
            value,
            json: OnceCell::new(),
        }))
    }

    /// Parses a payload as a strict JSON object.
    pub fn parse(payload: &[u8]) -> Result<Claims, TokenError> {
        parse_strict_object(payload, CLAIMS_LIMITS)
            .map(Claims::new)
            .map_err(|_| TokenError::Claim(ClaimError::PayloadNotJson))
    }

    /// Wraps claims read elsewhere (Envoy jwt_authn's `payload_in_metadata`); must be an object.
    pub fn from_value(v: JsonValue) -> Result<Claims, TokenError> {
        match v {
            JsonValue::Object(_) => Ok(Claims::new(v)),
            _ => Err(TokenError::Claim(ClaimError::PayloadNotJson)),
        }
    }

    /// A claim.
    pub fn get(&self, name: &str) -> Option<&JsonValue> {
        self.0.value.get(name)
    }

    /// The claims as compact JSON, members in their order in the token (for later filters);
    /// serialised on first use, once per verified token.
    pub fn json(&self) -> &str {
        self.0.json.get_or_init(|| {
            // Strings in the tree are UTF-8: the bytes are taken as they are, not copied.
            String::from_utf8(ecmascript(&self.0.value, KeyOrder::Insertion))
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    /// A string claim.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(JsonValue::as_str)
    }

    /// The whole object.
    pub fn value(&self) -> &JsonValue {
        &self.0.value
    }

    /// Scopes from `scope` (space-separated string) and `scp` (array of strings, or a string).
    pub fn scopes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if let Some(s) = self.str("scope") {
            out.extend(s.split(' ').filter(|x| !x.is_empty()));
        }
        match self.get("scp") {
            Some(JsonValue::Array(items)) => out.extend(items.iter().filter_map(JsonValue::as_str)),
            Some(JsonValue::String(s)) => out.extend(s.split(' ').filter(|x| !x.is_empty())),
            _ => {}
        }
        out
    }

    /// A NumericDate claim in unix ms: `Ok(None)` if absent; integer or fractional seconds.
    pub fn time_ms(&self, name: &str) -> Result<Option<i64>, TokenError> {
        let bad = TokenError::Claim(ClaimError::TimeClaimType);
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let ms = match v.as_number().ok_or(bad)? {
            JsonNumber::U64(s) => i64::try_from(s).ok().and_then(|s| s.checked_mul(1000)),
            JsonNumber::I64(s) => s.checked_mul(1000),
            JsonNumber::F64(f) => {
                let ms = (f * 1000.0).floor();
                // ±2^53 ms is far beyond any date a token carries; refuse rather than saturate.
                (ms.abs() < 9.0e15).then_some(ms as i64)
            }
        };
        ms.map(Some).ok_or(bad)
    }
}

/// A token split and decoded, nothing checked against keys yet.
#[derive(Debug, Clone)]
pub struct UntrustedJwt<'a> {
    header: Header,
    signing_input: &'a str,
    signature: Vec<u8>,
    claims: Claims,
}

impl<'a> UntrustedJwt<'a> {
    /// Splits `H.P.S` (exactly three segments, none empty), parses `H` strictly (no `crit`, no
    /// `b64:false`: a JWT is never unencoded), decodes `P` and `S` as strict base64url and
    /// parses the claims as a strict JSON object.
    pub fn parse(token: &'a str) -> Result<UntrustedJwt<'a>, TokenError> {
        let (h, p, s) = jws::split_three(token).map_err(|_| TokenError::Malformed("segments"))?;
        if p.is_empty() {
            return Err(TokenError::Malformed("empty payload"));
        }
        let header = Header::parse(h, &HeaderRules::STRICT).map_err(|e| match e {
            HeaderError::Malformed(what) | HeaderError::CritUnsupported(what) => {
                TokenError::Header(what)
            }
        })?;
        let payload = b64::decode_url(p).map_err(|_| TokenError::Malformed("payload base64"))?;
        let signature =
            b64::decode_url(s).map_err(|_| TokenError::Malformed("signature base64"))?;
        let claims = Claims::parse(&payload)?;
        // `H.P` is a prefix of the token: the signing input is the bytes as received.
        let signing_input = token
            .get(..h.len() + 1 + p.len())
            .ok_or(TokenError::Malformed("segments"))?;
        Ok(UntrustedJwt {
            header,
            signing_input,
            signature,
            claims,
        })
    }

    /// The protected header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// `iss`, unverified: used only to choose which provider's keys and rules apply.
    pub fn unverified_issuer(&self) -> Option<&str> {
        self.claims.str("iss")
    }

    /// Checks the signature with a key of `keys` chosen by `kid`, then the claim rules at
    /// `now_ms`.
    pub fn verify(
        self,
        rules: &JwtRules,
        keys: &[Jwk],
        now_ms: u64,
        backend: &dyn CryptoBackend,
    ) -> Result<VerifiedJwt, TokenError> {
        self.verify_signature(&rules.algorithms, keys, backend)?;
        let exp_ms = check_claims(&self.claims, rules, now_ms)?;
        let token_id = token_id(&self.claims, self.signing_input);
        Ok(VerifiedJwt {
            claims: self.claims,
            exp_ms,
            token_id,
        })
    }

    fn verify_signature(
        &self,
        provider_algs: &[Alg],
        keys: &[Jwk],
        backend: &dyn CryptoBackend,
    ) -> Result<(), TokenError> {
        // `none`, HS*, unknown names and an absent `alg` have no `Alg`: refused here, before
        // any key is looked at (RS256 → HS256 confusion needs an HMAC algorithm to exist).
        let alg = self.header.alg().ok_or(TokenError::AlgNotAllowed)?;
        let kid = self.header.kid();
        let named = |k: &Jwk| kid.is_none() || k.kid.as_deref() == kid;
        if !keys.iter().any(named) {
            return Err(TokenError::KidUnknown);
        }
        // The key decides: the alg must be in the key's own set and the provider's set, and
        // fit the key type (docs/data-path.md rule 1).
        let allowed = keys
            .iter()
            .filter(|k| named(k))
            .filter(|k| k.algorithms().contains(&alg) && provider_algs.contains(&alg))
            .filter(|k| alg.fits(&k.key))
            .take(MAX_KIDLESS_TRIES);
        let input = self.signing_input.as_bytes();
        let mut tried = false;
        for k in allowed {
            tried = true;
            if backend.verify(alg, &k.key, input, &self.signature).is_ok() {
                return Ok(());
            }
        }
        Err(if tried {
            TokenError::SignatureInvalid
        } else {
            TokenError::AlgNotAllowed
        })
    }
}

/// Claims a verified token carries, and what the cache needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJwt {
    /// The claims (checked).
    pub claims: Claims,
    /// `exp` in unix ms, if present.
    pub exp_ms: Option<i64>,
    /// `jti:<jti>` when the token has a short printable `jti`, else `sha256:<12 hex>` of the
    /// signing input (never the token itself: it is a credential).
    pub token_id: String,
}

/// Applies the claim rules; returns `exp` in ms. Order: `iss`, `exp`, `nbf`, `iat`, `aud`,
/// scopes, required claims.
pub fn check_claims(
    claims: &Claims,
    rules: &JwtRules,
    now_ms: u64,
) -> Result<Option<i64>, TokenError> {
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let skew = i64::try_from(rules.clock_skew_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    if claims.str("iss") != Some(rules.issuer.as_str()) {
        return Err(TokenError::Claim(ClaimError::Issuer));
    }
    let exp = claims.time_ms("exp")?;
    match exp {
        // Expired when exp + skew ≤ now, i.e. valid while exp > now − skew (docs/profiles.md#ocen).
        Some(exp) if exp.saturating_add(skew) <= now => return Err(TokenError::Expired),
        None if rules.require_exp => return Err(TokenError::Claim(ClaimError::ExpMissing)),
        _ => {}
    }
    if let Some(nbf) = claims.time_ms("nbf")? {
        if nbf > now.saturating_add(skew) {
            return Err(TokenError::Claim(ClaimError::NotYetValid));
        }
    }
    match claims.time_ms("iat")? {
        // A token issued in the future comes from a broken or forged issuer clock.
        Some(iat) if iat > now.saturating_add(skew) || exp.is_some_and(|e| e <= iat) => {
            return Err(TokenError::Claim(ClaimError::IssuedInFuture));
        }
        None if rules.require_iat => return Err(TokenError::Claim(ClaimError::IatMissing)),
        _ => {}
    }
    if !rules.audiences.is_empty() {
        let ok = match claims.get("aud") {
            Some(JsonValue::String(a)) => rules.audiences.iter().any(|x| x == a),
            Some(JsonValue::Array(items)) => items
                .iter()
                .filter_map(JsonValue::as_str)
                .any(|a| rules.audiences.iter().any(|x| x == a)),
            _ => false,
        };
        if !ok {
            return Err(TokenError::Claim(ClaimError::Audience));
        }
    }
    if !has_scopes(claims, &rules.required_scopes) {
        return Err(TokenError::Claim(ClaimError::Scope));
    }
    for (name, expected) in &rules.required_claims {
        let ok = match claims.get(name) {
            Some(v) if v == expected => true,
            Some(JsonValue::Array(items)) => items.contains(expected),
            _ => false,
        };
        if !ok {
            return Err(TokenError::Claim(ClaimError::RequiredClaim));
        }
    }
    Ok(exp)
}

/// Whether every scope of `required` is among the token's scopes.
pub fn has_scopes(claims: &Claims, required: &[String]) -> bool {
    if required.is_empty() {
        return true;
    }
    let have = claims.scopes();
    required.iter().all(|r| have.contains(&r.as_str()))
}

fn token_id(claims: &Claims, signing_input: &str) -> String {
    match claims.str("jti") {
        Some(j) if !j.is_empty() && j.len() <= 128 && j.bytes().all(|b| b.is_ascii_graphic()) => {
            ["jti:", j].concat()
        }
        _ => ["sha256:", &short_hash(signing_input.as_bytes())].concat(),
    }
}

/// First 12 hex characters of SHA-256: enough to correlate log lines, useless to an attacker.
pub fn short_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = hex::encode(digest);
    s.truncate(12);
    s
}

/// A verified token as cached: which provider, under which key-set generation.
#[derive(Debug, Clone)]
pub struct CachedToken {
    /// Index of the provider that verified it.
    pub provider: usize,
    /// The provider's JWKS generation at verification time.
    pub generation: u64,
    /// The verified token.
    pub jwt: Rc<VerifiedJwt>,
}

#[derive(Debug)]
struct TokenEntry {
    seq: u64,
    expires_at_ms: i64,
    token: CachedToken,
}

/// A token as the [`TokenCache`] holds it: the token itself, stored once and shared by the map
/// and the eviction queue. A hit needs the whole token byte for byte, so a forged token can
/// never stand for a cached one; lookups borrow the request's `&str` and copy nothing.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenKey(Rc<str>);

/// A token is a credential: debug output (of the cache, of the state holding it) shows its
/// length only.
impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenKey({} bytes)", self.0.len())
    }
}

impl From<&str> for TokenKey {
    fn from(token: &str) -> TokenKey {
        TokenKey(Rc::from(token))
    }
}

impl Borrow<str> for TokenKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A bounded cache of verified tokens, keyed by the token (std's keyed SipHash picks the bucket,
/// full equality decides a hit). An entry is served only before the token's `exp` and only while
/// the provider's key set is the one that verified it (a key rotated out of the JWKS must stop
/// its tokens at once). Oldest entries are evicted first. Tokens without `exp` are not cached.
/// Memory: one copy of each token (at most `max_token_bytes`: `check` refuses longer ones before
/// any lookup), shared by its entry and its records in the eviction queue; so about
/// `token_cache_entries` × `max_token_bytes`, plus the claims. A record of an entry dropped
/// early (expired, old key set) keeps its token until the queue is pruned: at worst
/// max(2 × `token_cache_entries`, 16) tokens are held.
#[derive(Debug)]
pub struct TokenCache {
    capacity: usize,
    map: HashMap<TokenKey, TokenEntry>,
    order: VecDeque<(TokenKey, u64)>,
    next_seq: u64,
}

impl TokenCache {
    /// A cache of at most `capacity` entries (0 disables caching).
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }

    /// Whether it holds anything at all (a capacity of 0 disables it).
    pub fn caches(&self) -> bool {
        self.capacity > 0
    }

    /// Entries held (expired ones included until touched or evicted).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A cached verification of `token`, if it is still before `exp` at `now_ms` and
    /// `generation_of(provider)` still equals the generation it was verified under.
    pub fn get(
        &mut self,
        token: &str,
        now_ms: u64,
        generation_of: impl Fn(usize) -> u64,
    ) -> Option<CachedToken> {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
        let entry = self.map.get(token)?;
        if now < entry.expires_at_ms
            && generation_of(entry.token.provider) == entry.token.generation
        {
            return Some(entry.token.clone());
        }
        self.map.remove(token);
        None
    }

    /// Caches a verification (no-op without `exp`, or when already past it).
    pub fn insert(&mut self, token: &str, cached: CachedToken, now_ms: u64) {
        let Some(exp) = cached.jwt.exp_ms else {
            return;
        };
        if self.capacity == 0 || exp <= i64::try_from(now_ms).unwrap_or(i64::MAX) {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = TokenEntry {
            seq,
            expires_at_ms: exp,
            token: cached,
        };
        // One hash per step (the token is long); a token cached again keeps the copy it has.
        let key = match self.map.entry(TokenKey::from(token)) {
            Entry::Occupied(mut held) => {
                held.insert(entry);
                held.key().clone()
            }
            Entry::Vacant(new) => {
                let key = new.key().clone();
                new.insert(entry);
                key
            }
        };
        self.order.push_back((key, seq));
        while self.map.len() > self.capacity {
            let Some((old, old_seq)) = self.order.pop_front() else {
                break;
            };
            // The queue may hold records of entries replaced or removed since: skip those.
            if let Entry::Occupied(e) = self.map.entry(old) {
                if e.get().seq == old_seq {
                    e.remove();
                }
            }
        }
        // Keep the queue bounded when the same tokens are re-inserted again and again.
        if self.order.len() > self.capacity.saturating_mul(2).max(16) {
            let map = &self.map;
            self.order
                .retain(|(k, s)| map.get(k).is_some_and(|e| e.seq == *s));
        }
    }
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
