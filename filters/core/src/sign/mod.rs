//! The signers: what each profile signs, with which protected header, in which header
//! (profiles.md §2.10, §3.10, §4.4, §5.4, §6.4, §7.7).
//!
//! A signer takes the message exactly as it will leave Envoy and adds the signature header; the
//! Mojaloop signer may also re-serialize the body (and then updates `content-length`). The
//! signature always covers the bytes actually sent.

pub mod config;

use crate::b64;
use crate::config::{Direction, ProfileName};
use crate::crypto::CryptoBackend;
use crate::jose::jws::{signing_input_encoded, signing_input_unencoded};
use crate::json::{
    ecmascript, ecmascript_changes_numbers, orjson_canonical, parse_strict, JsonLimits, KeyOrder,
    ObjectWriter,
};
use crate::message::Message;
use crate::profiles::mojaloop::stripped_path;

pub use config::{BodyForm, SignConfig, SignResponses};

/// What the signer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignOutcome {
    /// Signed; `body_rewritten` when the body was re-serialized before signing.
    Signed {
        body_rewritten: bool,
        /// Mojaloop: the body could not be re-serialized safely and was signed as-is.
        body_kept: bool,
    },
    /// Not signed, by rule (§2.10.3); the reason in words.
    NotSigned(&'static str),
}

/// The signer refused (`sign_failed`): the message must not leave unsigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignError(pub String);

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Signs `msg` in place. `now_ms` feeds the Mojaloop `Date`.
pub fn sign(
    cfg: &SignConfig,
    msg: &mut Message,
    now_ms: i64,
    backend: &dyn CryptoBackend,
) -> Result<SignOutcome, SignError> {
    if msg.body.len() > cfg.max_body_bytes {
        return Err(SignError(format!(
            "body of {} bytes over max_body_bytes",
            msg.body.len()
        )));
    }
    let response = cfg.direction == Direction::Response;
    match cfg.profile {
        ProfileName::Mojaloop => mojaloop(cfg, msg, now_ms, backend),
        ProfileName::Ocen => {
            if msg.body.is_empty() && response {
                return Ok(SignOutcome::NotSigned("response without a body"));
            }
            let header = header_bytes(cfg, |w| {
                w.string("alg", cfg.alg.name());
                match &cfg.kid {
                    Some(k) => w.string("kid", k),
                    None => w.null("kid"),
                };
                w.bool("b64", false);
                if cfg.crit_b64 {
                    w.string_array("crit", &["b64"]);
                }
            });
            // §4.9: a bodyless request signs its path.
            let payload = if msg.body.is_empty() {
                msg.path.clone().into_bytes()
            } else {
                msg.body.clone()
            };
            let sig = signature(cfg, backend, &signing_input_unencoded(&header, &payload))?;
            set_all(cfg, msg, &format!("{header}..{sig}"));
            Ok(signed(false, false))
        }
        ProfileName::Mosip => {
            if msg.body.is_empty() {
                return Ok(SignOutcome::NotSigned("no body"));
            }
            let cert = cfg
                .certificate
                .as_ref()
                .ok_or_else(|| SignError("no signing certificate".into()))?;
            let header = header_bytes(cfg, |w| {
                w.string("alg", cfg.alg.name());
                w.string_array("x5c", &[b64::encode_std(cert.der())]);
                w.string("x5t#S256", &cert.x5t_s256());
                if let Some(k) = &cfg.kid {
                    w.string("kid", k);
                }
            });
            let sig = signature(cfg, backend, &signing_input_encoded(&header, &msg.body))?;
            set_all(cfg, msg, &format!("{header}..{sig}"));
            Ok(signed(false, false))
        }
        ProfileName::Spar => {
            if msg.body.is_empty() {
                return Ok(SignOutcome::NotSigned("no body"));
            }
            let value = parse_strict(
                &msg.body,
                JsonLimits {
                    max_depth: 64,
                    max_members: None,
                    max_elements: Some(JsonLimits::DEFAULT_MAX_ELEMENTS),
                },
            )
            .map_err(|e| {
                SignError(format!(
                    "spar signs canonical JSON; the body is not JSON: {e}"
                ))
            })?;
            // An integer beyond 64 bits has no orjson form: the platform could never verify it.
            let canonical = orjson_canonical(&msg.body, &value).map_err(|e| {
                SignError(format!(
                    "spar signs canonical JSON; the body has no orjson form: {e}"
                ))
            })?;
            let header = header_bytes(cfg, |w| {
                w.string("alg", cfg.alg.name());
            });
            let sig = signature(cfg, backend, &signing_input_encoded(&header, &canonical))?;
            set_all(cfg, msg, &format!("{header}..{sig}"));
            Ok(signed(false, false))
        }
        ProfileName::Generic => {
            if msg.body.is_empty() {
                return Ok(SignOutcome::NotSigned("no body"));
            }
            let header = header_bytes(cfg, |w| {
                w.string("alg", cfg.alg.name());
                if let Some(k) = &cfg.kid {
                    w.string("kid", k);
                }
                if cfg.unencoded {
                    w.bool("b64", false);
                    w.string_array("crit", &["b64"]);
                }
            });
            let input = if cfg.unencoded {
                signing_input_unencoded(&header, &msg.body)
            } else {
                signing_input_encoded(&header, &msg.body)
            };
            let sig = signature(cfg, backend, &input)?;
            set_all(cfg, msg, &format!("{header}..{sig}"));
            Ok(signed(false, false))
        }
    }
}

fn signed(body_rewritten: bool, body_kept: bool) -> SignOutcome {
    SignOutcome::Signed {
        body_rewritten,
        body_kept,
    }
}

/// The protected header: compact JSON in the profile's member order, then BASE64URL.
fn header_bytes(_cfg: &SignConfig, build: impl FnOnce(&mut ObjectWriter)) -> String {
    let mut w = ObjectWriter::new();
    build(&mut w);
    b64::encode_url(&w.finish())
}

fn signature(
    cfg: &SignConfig,
    backend: &dyn CryptoBackend,
    input: &[u8],
) -> Result<String, SignError> {
    backend
        .sign(cfg.alg, &cfg.key, input)
        .map(|s| b64::encode_url(&s))
        .map_err(|e| SignError(format!("{} signing failed: {e}", cfg.alg.name())))
}

fn set_all(cfg: &SignConfig, msg: &mut Message, value: &str) {
    for h in &cfg.headers {
        msg.set_header(h, value);
    }
}

/// The FSPIOP signer (§3.10).
fn mojaloop(
    cfg: &SignConfig,
    msg: &mut Message,
    now_ms: i64,
    backend: &dyn CryptoBackend,
) -> Result<SignOutcome, SignError> {
    let path = stripped_path(&msg.path, &cfg.uri_strip_prefix).to_string();
    if matches!(msg.method.as_str(), "GET" | "DELETE" | "HEAD" | "OPTIONS") || msg.body.is_empty() {
        return Ok(SignOutcome::NotSigned(
            "FSPIOP signs only requests with a body",
        ));
    }
    if msg.method == "PUT" && path.starts_with("/parties") && !cfg.sign_put_parties {
        return Ok(SignOutcome::NotSigned(
            "PUT /parties with sign_put_parties off",
        ));
    }
    let header_name = cfg
        .headers
        .first()
        .map(String::as_str)
        .unwrap_or("fspiop-signature");
    match msg.header("fspiop-source").map(str::to_string) {
        Some(s) if s != cfg.source_id && msg.header(header_name).is_some() => {
            return Ok(SignOutcome::NotSigned(
                "forwarding a message another FSP signed",
            ));
        }
        Some(s) if s != cfg.source_id => {
            return Err(SignError(
                "FSPIOP-Source names another FSP: the signer never signs as someone else".into(),
            ));
        }
        Some(_) => {}
        None => msg.set_header("fspiop-source", &cfg.source_id),
    }
    if msg.header("fspiop-http-method").is_none() {
        let m = msg.method.to_ascii_uppercase();
        msg.set_header("fspiop-http-method", &m);
    }
    if msg.header("fspiop-uri").is_none() {
        msg.set_header("fspiop-uri", &path);
    }
    // Any HTTP-date or ISO-8601 Date is rewritten to IMF-fixdate (as the hub does); an
    // unparseable or absent one is replaced by now.
    let date = msg
        .header("date")
        .and_then(crate::time::date_header_to_imf_fixdate)
        .or_else(|| crate::time::format_imf_fixdate(now_ms.div_euclid(1000)))
        .ok_or_else(|| SignError("cannot format the Date header".into()))?;
    msg.set_header("date", &date);
    let (mut rewritten, mut kept) = (false, false);
    if cfg.body_form == BodyForm::SortedCompact {
        match parse_strict(
            &msg.body,
            JsonLimits {
                max_depth: 64,
                max_members: None,
                max_elements: Some(JsonLimits::DEFAULT_MAX_ELEMENTS),
            },
        ) {
            Ok(v) if !ecmascript_changes_numbers(&msg.body, &v) => {
                let body = ecmascript(&v, KeyOrder::SortedUtf16);
                if body != msg.body {
                    rewritten = true;
                    msg.set_header("content-length", &body.len().to_string());
                    msg.body = body;
                }
            }
            _ => kept = true,
        }
    }
    let get = |m: &Message, n: &str| m.header(n).unwrap_or_default().to_string();
    let destination = get(msg, "fspiop-destination");
    let has_date = msg.header("date").is_some();
    let header = header_bytes(cfg, |w| {
        w.string("alg", cfg.alg.name());
        w.string("FSPIOP-URI", &get(msg, "fspiop-uri"));
        w.string("FSPIOP-HTTP-Method", &get(msg, "fspiop-http-method"));
        w.string("FSPIOP-Source", &get(msg, "fspiop-source"));
        if !destination.is_empty() {
            w.string("FSPIOP-Destination", &destination);
        }
        if has_date {
            w.string("Date", &get(msg, "date"));
        }
    });
    let sig = signature(cfg, backend, &signing_input_encoded(&header, &msg.body))?;
    let mut value = ObjectWriter::new();
    value.string("protectedHeader", &header);
    value.string("signature", &sig);
    let value =
        String::from_utf8(value.finish()).map_err(|_| SignError("header is not UTF-8".into()))?;
    set_all(cfg, msg, &value);
    Ok(signed(rewritten, kept))
}
