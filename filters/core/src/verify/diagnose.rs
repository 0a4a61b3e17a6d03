//! Why did a signature not verify? For the CLI only (never on the data path): after an
//! `sig_invalid`, try the mistakes integrators actually make — signing another serialization of
//! the body (the Mojaloop SDK's re-serialization, SPAR's canonical JSON), the encoded instead of
//! the unencoded payload (or back), the path instead of the body, another registered key — and
//! say which one produces this signature.

use crate::b64;
use crate::crypto::CryptoBackend;
use crate::jose::alg::Alg;
use crate::jose::jws::{signing_input_encoded, signing_input_unencoded};
use crate::json::{ecmascript, orjson_sorted, parse_strict, JsonLimits, KeyOrder};
use crate::keys::PublicKey;
use crate::message::Message;
use crate::registry::Registry;
use crate::x509::Certificate;

/// Each candidate key with a label naming its owner (the CLI runs at the operator's desk, so
/// naming partners is fine here — never in a reply).
fn candidate_keys(registry: &Registry, h: &str) -> Vec<(String, PublicKey)> {
    let mut keys: Vec<(String, PublicKey)> = registry
        .partners()
        .iter()
        .flat_map(|p| {
            p.keys.iter().enumerate().map(move |(i, k)| {
                let kid = k
                    .kid
                    .as_deref()
                    .map(|k| format!(" (kid {k})"))
                    .unwrap_or_default();
                (format!("partner {}'s key #{i}{kid}", p.id), k.key.clone())
            })
        })
        .collect();
    // mosip: the key of the certificate the message carries in x5c.
    let x5c_key = b64::decode_url(h)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("x5c")?.get(0)?.as_str().map(str::to_string))
        .and_then(|c| b64::decode_std(&c).ok())
        .and_then(|der| Certificate::from_der(der).ok())
        .and_then(|c| c.public_key().ok());
    if let Some(k) = x5c_key {
        keys.push(("the x5c[0] certificate's key".into(), k));
    }
    keys
}

/// Hints, in words; empty when no variant explains the signature. `segments` is `(H, S)` of
/// the message's signature as its profile frames it.
pub fn diagnose(
    registry: &Registry,
    segments: Option<(String, String)>,
    msg: &Message,
    backend: &dyn CryptoBackend,
) -> Vec<String> {
    let Some((h, s)) = segments else {
        return Vec::new();
    };
    let Ok(sig) = b64::decode_url(&s) else {
        return Vec::new();
    };
    let alg_name = b64::decode_url(&h)
        .ok()
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|v| v.get("alg")?.as_str().map(str::to_string))
        .unwrap_or_default();
    let Some(alg) = Alg::from_name(&alg_name) else {
        return Vec::new();
    };
    let mut payloads: Vec<(&str, Vec<u8>)> = vec![
        ("the raw body", msg.body.clone()),
        ("the request path", msg.path.clone().into_bytes()),
    ];
    if let Ok(v) = parse_strict(&msg.body, JsonLimits::body(64)) {
        payloads.push((
            "the body's canonical JSON (orjson, sorted keys)",
            orjson_sorted(&v),
        ));
        payloads.push((
            "the body re-serialized compactly (JSON.stringify)",
            ecmascript(&v, KeyOrder::Insertion),
        ));
        payloads.push((
            "the body re-serialized compactly with sorted keys",
            ecmascript(&v, KeyOrder::SortedUtf16),
        ));
    }
    // Forms that coincide for this body are one candidate, named by its first label.
    let mut seen = std::collections::HashSet::new();
    payloads.retain(|(_, bytes)| seen.insert(bytes.clone()));
    let mut hints = Vec::new();
    for (key_label, key) in candidate_keys(registry, &h) {
        if !alg.fits(&key) || alg.signature_len(&key) != sig.len() {
            continue;
        }
        for (what, payload) in &payloads {
            for (form, input) in [
                (
                    "encoded payload (E-input)",
                    signing_input_encoded(&h, payload),
                ),
                (
                    "unencoded payload (U-input, b64:false)",
                    signing_input_unencoded(&h, payload),
                ),
            ] {
                if backend.verify(alg, &key, &input, &sig).is_ok() {
                    hints.push(format!(
                        "the signature verifies with {key_label} over {what} as {form}"
                    ));
                }
            }
        }
    }
    hints
}
