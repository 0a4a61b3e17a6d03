//! The FSPIOP signer (docs/profiles.md#mojaloop): the `FSPIOP-*` headers it binds, the `Date`, and
//! the body in the form the hub and the SDKs re-serialize to.

use super::settings::{BodyForm, MojaloopSign};
use super::stripped_path;
use crate::crypto::CryptoBackend;
use crate::jose::jws::signing_input_encoded;
use crate::json::{
    ecmascript, ecmascript_changes_numbers, parse_strict, JsonLimits, KeyOrder, ObjectWriter,
};
use crate::message::Message;
use crate::sign::{header_bytes, SignError, SignKey, SignOutcome};

/// The FSPIOP signer (docs/profiles.md#mojaloop).
pub(super) fn sign(
    cfg: &MojaloopSign,
    key: &SignKey,
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
    let header_name = cfg.signature_header.as_str();
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
    let header = header_bytes(|w| {
        w.string("alg", key.alg.name());
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
    let sig = key.signature(backend, &signing_input_encoded(&header, &msg.body))?;
    let mut value = ObjectWriter::new();
    value.string("protectedHeader", &header);
    value.string("signature", &sig);
    let value =
        String::from_utf8(value.finish()).map_err(|_| SignError("header is not UTF-8".into()))?;
    msg.set_header(header_name, &value);
    Ok(SignOutcome::Signed {
        body_rewritten: rewritten,
        body_kept: kept,
    })
}
