//! The shared signing primitives (docs/profiles.md#what-signets-signer-writes): the key with its
//! algorithm, the protected header writer, the signature, and what a signer did. What each profile
//! signs, with which header, is its own module's (`crate::profiles::<name>::sign`).
//!
//! A signer takes the message exactly as it will leave Envoy and adds the signature header; the
//! Mojaloop signer may also re-serialize the body (and then updates `content-length`). The
//! signature always covers the bytes actually sent.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::b64;
use crate::crypto::CryptoBackend;
use crate::jose::alg::Alg;
use crate::json::ObjectWriter;
use crate::keys::{PrivateKey, PublicKey};
use crate::message::Message;

/// What the signer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignOutcome {
    /// Signed; `body_rewritten` when the body was re-serialized before signing.
    Signed {
        body_rewritten: bool,
        /// Mojaloop: the body could not be re-serialized safely and was signed as-is.
        body_kept: bool,
    },
    /// Not signed, by rule (docs/profiles.md#what-signets-signer-writes); the reason in words.
    NotSigned(&'static str),
}

impl SignOutcome {
    /// Signed, the body as it was.
    pub const SIGNED: SignOutcome = SignOutcome::Signed {
        body_rewritten: false,
        body_kept: false,
    };
}

/// The signer refused (`sign_failed`): the message must not leave unsigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignError(pub String);

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which responses a signer signs (docs/profiles.md#what-signets-signer-writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignResponses {
    /// Nothing is signed.
    #[default]
    Off,
    /// Only Signet's own local replies.
    Local,
    /// Every response with a body, local replies included.
    All,
}

/// The private key, its algorithm and `kid`.
#[derive(Clone, Debug)]
pub struct SignKey {
    pub key: PrivateKey,
    pub alg: Alg,
    pub kid: Option<String>,
}

impl SignKey {
    /// BASE64URL of the signature over `input`.
    pub fn signature(
        &self,
        backend: &dyn CryptoBackend,
        input: &[u8],
    ) -> Result<String, SignError> {
        backend
            .sign(self.alg, &self.key, input)
            .map(|s| b64::encode_url(&s))
            .map_err(|e| SignError(format!("{} signing failed: {e}", self.alg.name())))
    }
}

/// The protected header: compact JSON in the profile's member order, then BASE64URL.
pub fn header_bytes(build: impl FnOnce(&mut ObjectWriter)) -> String {
    let mut w = ObjectWriter::new();
    build(&mut w);
    b64::encode_url(&w.finish())
}

/// Writes the signature to every configured header.
pub fn set_all(headers: &[String], msg: &mut Message, value: &str) {
    for h in headers {
        msg.set_header(h, value);
    }
}

/// The algorithm every platform verifies for a key when `sign_alg` is not set (RSA: RS256,
/// P-256: ES256); a profile may add its own.
pub fn default_alg(key: &PublicKey) -> Option<Alg> {
    match key {
        PublicKey::Rsa(_) => Some(Alg::RS256),
        PublicKey::P256(_) => Some(Alg::ES256),
        _ => None,
    }
}
