//! Envoy's native crypto: the `verify_signature` and `sign` foreign functions (BoringSSL).
//!
//! Measured on Envoy 1.40 (shared/notes/envoy-wasm-host.md): RS256 verification through the
//! host costs ~37 µs against ~1.6 ms for pure-Rust RSA inside V8, so the native path is the
//! default wherever the host has it. The host knows RSA PKCS#1 v1.5 and DER-encoded ECDSA only;
//! PS*, EdDSA (and hosts without the functions) fall back to pure Rust.
//!
//! Arguments are small protobuf messages (Envoy `source/extensions/common/wasm/ext/
//! {verify_signature,sign}.proto`); they are encoded here by hand: every argument field is
//! length-delimited, and the results hold one varint and one or two length-delimited fields.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use proxy_wasm::types::Status;
use signet_core::crypto::{ecdsa_der, CryptoBackend, CryptoError, RustCrypto};
use signet_core::jose::alg::Alg;
use signet_core::keys::{PrivateKey, PublicKey};
use signet_core::pb::{self, put_bytes, Field};

use crate::hostcalls;

/// Which foreign functions the host offers, probed once at configure time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NativeSupport {
    pub verify: bool,
    pub sign: bool,
}

impl NativeSupport {
    /// Calls each function with an empty argument: a host that has it answers `BadArgument`
    /// (no key given), one that lacks it answers `NotFound`.
    pub fn probe() -> NativeSupport {
        let has = |name: &str| {
            !matches!(
                hostcalls::call_foreign_function(name, Some(&[])),
                Err(Status::NotFound)
            )
        };
        NativeSupport {
            verify: has("verify_signature"),
            sign: has("sign"),
        }
    }
}

/// The backend the filters use: native where the host and algorithm allow, pure Rust otherwise.
#[derive(Debug)]
pub struct Backend {
    pub native: NativeSupport,
    /// A signer's key as PKCS#8 DER, encoded once at configure time: encoding it per call
    /// costs ~1 ms for P-256 in V8 (the public point is recomputed), ten times the host's
    /// own signing time. Empty for verifiers (then `sign` encodes the key it is given).
    signing_der: Vec<u8>,
    /// Verification keys as SPKI DER (what `verify_signature` takes), encoded on first use.
    spki: SpkiCache,
}

/// SPKI DER of the keys verified with: encoding an RSA key (its modulus converted limb by
/// limb) was a sixth of `jws_verify`'s own work per request, so each key is encoded once per
/// worker.
/// Keys live in the registry or a JWKS for many requests; they are found by address and
/// checked by value, so a key built later at a freed key's address is encoded anew, never
/// taken for the old one.
#[derive(Debug, Default)]
struct SpkiCache(RefCell<HashMap<usize, Encoded>>);

/// A key and its SPKI DER.
type Encoded = (PublicKey, Rc<[u8]>);

/// Keys remembered; past this (JWKS rotations leave old keys behind) the cache starts over.
const SPKI_CACHE_KEYS: usize = 256;

impl SpkiCache {
    fn der(&self, key: &PublicKey) -> Rc<[u8]> {
        let at = std::ptr::from_ref(key) as usize;
        let mut cache = self.0.borrow_mut();
        if let Some((known, der)) = cache.get(&at) {
            if known == key {
                return Rc::clone(der);
            }
        }
        if cache.len() >= SPKI_CACHE_KEYS {
            cache.clear();
        }
        let der: Rc<[u8]> = key.to_spki_der().into();
        cache.insert(at, (key.clone(), Rc::clone(&der)));
        der
    }
}

impl Backend {
    /// A verifier's backend.
    pub fn new(native: NativeSupport) -> Backend {
        Backend {
            native,
            signing_der: Vec::new(),
            spki: SpkiCache::default(),
        }
    }

    /// A signer's backend: `key` is the only key it will be asked to sign with.
    pub fn for_signer(native: NativeSupport, key: &PrivateKey) -> Result<Backend, String> {
        let signing_der = if native.sign {
            key.try_to_pkcs8_der()
                .map_err(|e| format!("signing key: {e}"))?
        } else {
            Vec::new()
        };
        Ok(Backend {
            native,
            signing_der,
            spki: SpkiCache::default(),
        })
    }
}

fn hash_name(alg: Alg) -> Option<&'static str> {
    match alg {
        Alg::RS256 | Alg::ES256 => Some("sha256"),
        Alg::RS384 | Alg::ES384 => Some("sha384"),
        Alg::RS512 => Some("sha512"),
        _ => None,
    }
}

impl CryptoBackend for Backend {
    fn verify(
        &self,
        alg: Alg,
        key: &PublicKey,
        input: &[u8],
        sig: &[u8],
    ) -> Result<(), CryptoError> {
        let Some(hash) = hash_name(alg).filter(|_| self.native.verify) else {
            return RustCrypto.verify(alg, key, input, sig);
        };
        if sig.len() != alg.signature_len(key) || !alg.fits(key) {
            return Err(CryptoError::BadLength);
        }
        // JOSE carries ECDSA as r‖s; BoringSSL wants DER. The range check (r, s in [1, n-1])
        // happens in the conversion, so a zero r or s never reaches the host.
        let signature = match alg {
            Alg::ES256 | Alg::ES384 => ecdsa_der::p1363_to_der(alg, sig)?,
            _ => sig.to_vec(),
        };
        let der = self.spki.der(key);
        let mut args = Vec::with_capacity(input.len() + signature.len() + der.len() + 32);
        put_bytes(&mut args, 1, hash.as_bytes());
        put_bytes(&mut args, 2, &der);
        put_bytes(&mut args, 3, &signature);
        put_bytes(&mut args, 4, input);
        match hostcalls::call_foreign_function("verify_signature", Some(&args)) {
            Ok(Some(result)) if result_flag(&result) => Ok(()),
            Ok(_) => Err(CryptoError::Invalid),
            Err(_) => Err(CryptoError::Unsupported("host verify_signature failed")),
        }
    }

    fn sign(&self, alg: Alg, key: &PrivateKey, input: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let Some(hash) = hash_name(alg).filter(|_| self.native.sign) else {
            return RustCrypto.sign(alg, key, input);
        };
        let encoded;
        let der: &[u8] = if self.signing_der.is_empty() {
            encoded = key.to_pkcs8_der();
            &encoded
        } else {
            &self.signing_der
        };
        let mut args = Vec::with_capacity(input.len() + der.len() + 64);
        put_bytes(&mut args, 1, hash.as_bytes());
        put_bytes(&mut args, 2, der);
        put_bytes(&mut args, 3, input);
        let result = match hostcalls::call_foreign_function("sign", Some(&args)) {
            Ok(Some(r)) => r,
            _ => return Err(CryptoError::SignFailed),
        };
        if !result_flag(&result) {
            return Err(CryptoError::SignFailed);
        }
        let der = field_bytes(&result, 2).ok_or(CryptoError::SignFailed)?;
        match alg {
            Alg::ES256 | Alg::ES384 => ecdsa_der::der_to_p1363(alg, der),
            _ => Ok(der.to_vec()),
        }
    }

    fn name(&self) -> &'static str {
        if self.native.verify {
            "envoy-native"
        } else {
            "rustcrypto"
        }
    }
}

/// The varint and length-delimited fields of a result message, up to the first malformed one.
fn fields(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
    pb::fields(bytes)
        .map_while(Result::ok)
        .filter_map(|(n, f)| match f {
            Field::Varint(v) => Some((n, v, &[][..])),
            Field::Bytes(b) => Some((n, 0, b)),
            _ => None,
        })
        .collect()
}

/// Field 1 (`result`, a bool varint) of a result message.
fn result_flag(bytes: &[u8]) -> bool {
    fields(bytes).iter().any(|(f, v, _)| *f == 1 && *v == 1)
}

/// A length-delimited field of a result message.
fn field_bytes(bytes: &[u8], field: u64) -> Option<&[u8]> {
    fields(bytes)
        .into_iter()
        .find(|(f, _, _)| *f == field)
        .map(|(_, _, b)| b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_results_and_survives_garbage() {
        assert!(result_flag(b"\x08\x01"));
        assert!(!result_flag(b"\x08\x00\x12\x03err"));
        assert_eq!(field_bytes(b"\x08\x01\x12\x02ab", 2), Some(&b"ab"[..]));
        assert!(!result_flag(b"\x12\xff\xff\xff\xff\x0f"));
        assert!(!result_flag(b"\xff"));
        assert_eq!(field_bytes(b"\x12\x05ab", 2), None);
    }
}
