//! Conformance cases: the case files of docs/cli.md#case-files, each turned into a filter
//! configuration, a message and a context, run through the verifier, and compared with the
//! expected verdict, reason and reply.
//!
//! Operators write their own cases in the same format to onboard partners, so the runner takes
//! everything from the case: the registry, the settings, the clock.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::b64;
use crate::config::{ProfileName, RawVerifyConfig, VerifyConfig, TOP_LEVEL};
use crate::crypto::CryptoBackend;
use crate::message::{Context, Message};
use crate::reason::Rejection;
use crate::reply::Reply;
use crate::trace::Trace;
use crate::verify::{no_wait, verify, MemoryReplay, Outcome, Run, StepError};

/// One case file.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub id: String,
    pub profile: ProfileName,
    #[serde(default)]
    pub source: String,
    pub at: String,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default)]
    pub context: CaseContext,
    pub request: CaseRequest,
    pub keys: CaseKeys,
    pub expect: Expect,
    pub reason: String,
    pub reply: Option<Value>,
    #[serde(default)]
    pub note: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CaseContext {
    pub token_claims: Option<Map<String, Value>>,
    pub peer: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CaseRequest {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValues>,
    pub body: Option<String>,
    pub body_b64: Option<String>,
}

/// A header sent once (a string) or several times (a list, in order).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum HeaderValues {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CaseKeys {
    #[serde(default)]
    pub partners: Vec<Map<String, Value>>,
    #[serde(default)]
    pub domain_ca: Map<String, Value>,
    #[serde(default)]
    pub misps: Vec<Map<String, Value>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Accept,
    Reject,
}

impl Expect {
    pub fn name(self) -> &'static str {
        match self {
            Expect::Accept => "accept",
            Expect::Reject => "reject",
        }
    }
}

/// What running a case gave.
#[derive(Debug)]
pub struct CaseResult {
    pub id: String,
    pub expect: Expect,
    pub expected_reason: String,
    /// `accept` or `reject`.
    pub got: Expect,
    /// `ok` or the reason code.
    pub reason: String,
    /// The rejection reply, when rejected.
    pub reply: Option<Reply>,
    pub trace: Trace,
    /// Empty when the case passed; else what differed.
    pub problems: Vec<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Case {
    /// Parses a case file.
    pub fn from_json(text: &str) -> Result<Case, String> {
        serde_json::from_str(text).map_err(|e| format!("case file: {e}"))
    }

    /// The exact body bytes (`body_b64` is authoritative).
    pub fn body(&self) -> Result<Vec<u8>, String> {
        match (&self.request.body_b64, &self.request.body) {
            (Some(b), _) => b64::decode_std(b).map_err(|e| format!("request.body_b64: {e}")),
            (None, Some(t)) => Ok(t.as_bytes().to_vec()),
            (None, None) => Ok(Vec::new()),
        }
    }

    /// The filter configuration this case describes. Vectors write every setting flat
    /// (docs/cli.md#case-files); a profile's own settings are filed under its section here.
    pub fn config_json(&self) -> Result<Value, String> {
        let (mut cfg, section): (Map<String, Value>, Map<String, Value>) = self
            .settings
            .clone()
            .into_iter()
            .partition(|(k, _)| TOP_LEVEL.contains(&k.as_str()));
        let name = self.profile.name();
        let profile = if section.is_empty() {
            Value::String(name.into())
        } else {
            let mut named = Map::new();
            named.insert(name.into(), Value::Object(section));
            Value::Object(named)
        };
        cfg.insert("profile".into(), profile);
        let mut partners: Vec<Map<String, Value>> = Vec::new();
        for (i, entry) in self.keys.partners.iter().enumerate() {
            let id = entry
                .get("partner")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("keys.partners[{i}].partner: missing"))?;
            let pos = match partners
                .iter()
                .position(|p| p.get("id").and_then(Value::as_str) == Some(id))
            {
                Some(p) => p,
                None => {
                    let mut p = Map::new();
                    p.insert("id".into(), Value::String(id.into()));
                    p.insert("keys".into(), Value::Array(Vec::new()));
                    partners.push(p);
                    partners.len() - 1
                }
            };
            let Some(partner) = partners.get_mut(pos) else {
                continue;
            };
            self.fold_partner(entry, partner)?;
        }
        cfg.insert(
            "partners".into(),
            Value::Array(partners.into_iter().map(Value::Object).collect()),
        );
        if !self.keys.domain_ca.is_empty() {
            cfg.insert(
                "domain_ca".into(),
                Value::Object(self.keys.domain_ca.clone()),
            );
        }
        // A vector's MISP is one licence key; a partner naming licence keys restricts those
        // MISPs to the partners that name them.
        let mut misps: Vec<Value> = Vec::new();
        for (i, m) in self.keys.misps.iter().enumerate() {
            let mut lk = Map::new();
            for (from, to) in [
                ("misp_license_key", "key"),
                ("status", "status"),
                ("commence_on", "not_before"),
                ("expires_on", "not_after"),
            ] {
                if let Some(v) = m.get(from) {
                    lk.insert(to.into(), v.clone());
                }
            }
            let mut o = Map::new();
            let id = m
                .get("id")
                .cloned()
                .unwrap_or_else(|| Value::String(format!("misp-{i}")));
            o.insert("id".into(), id);
            for f in ["certificate_pem", "certificate_sha256"] {
                if let Some(v) = m.get(f) {
                    o.insert(f.into(), v.clone());
                }
            }
            let served: Vec<Value> = self
                .keys
                .partners
                .iter()
                .filter(|e| {
                    e.get("misp_license_key").is_some()
                        && e.get("misp_license_key") == m.get("misp_license_key")
                })
                .filter_map(|e| e.get("partner").cloned())
                .collect();
            if !served.is_empty() {
                o.insert("partners".into(), Value::Array(served));
            }
            o.insert("license_keys".into(), Value::Array(vec![Value::Object(lk)]));
            misps.push(Value::Object(o));
        }
        if !misps.is_empty() {
            cfg.insert("misps".into(), Value::Array(misps));
        }
        Ok(Value::Object(cfg))
    }

    /// Folds one `keys.partners[]` entry (one key) into its partner's registry entry.
    fn fold_partner(
        &self,
        entry: &Map<String, Value>,
        partner: &mut Map<String, Value>,
    ) -> Result<(), String> {
        let mosip = self.profile == ProfileName::Mosip;
        let mut key = Map::new();
        if let Some(v) = entry.get("kid") {
            key.insert("kid".into(), v.clone());
        }
        if let Some(v) = entry.get("algorithms") {
            key.insert("algorithms".into(), v.clone());
        }
        // One form per key: PEM first (V-ML-1 gives the same key as PEM and JWK).
        if let Some(v) = entry.get("public_key_pem") {
            key.insert("public_key_pem".into(), v.clone());
        } else if let Some(v) = entry.get("public_jwk") {
            key.insert("public_jwk".into(), v.clone());
        } else if let (Some(v), false) = (entry.get("certificate_pem"), mosip) {
            key.insert("certificate_pem".into(), v.clone());
        }
        if key.contains_key("public_key_pem")
            || key.contains_key("public_jwk")
            || key.contains_key("certificate_pem")
        {
            if let Some(Value::Array(keys)) = partner.get_mut("keys") {
                keys.push(Value::Object(key));
            }
        }
        if mosip {
            for f in ["certificate_pem", "certificate_sha256"] {
                if let Some(v) = entry.get(f) {
                    partner.insert(f.into(), v.clone());
                }
            }
        } else if let Some(v) = entry.get("certificate_sha256") {
            partner.insert("certificate_sha256".into(), v.clone());
        }
        for f in ["sender_id", "registry_status", "status", "domain"] {
            if let Some(v) = entry.get(f) {
                partner.insert(f.into(), v.clone());
            }
        }
        if let Some(k) = entry.get("api_key") {
            let mut o = Map::new();
            o.insert("key".into(), k.clone());
            partner.insert("api_keys".into(), Value::Array(vec![Value::Object(o)]));
        }
        Ok(())
    }

    /// The message of the case.
    pub fn message(&self) -> Result<Message, String> {
        let mut headers = Vec::new();
        for (name, v) in &self.request.headers {
            match v {
                HeaderValues::One(s) => headers.push((name.to_ascii_lowercase(), s.clone())),
                HeaderValues::Many(list) => {
                    for s in list {
                        headers.push((name.to_ascii_lowercase(), s.clone()));
                    }
                }
            }
        }
        Ok(Message {
            method: self.request.method.clone(),
            path: self.request.path.clone(),
            status: None,
            headers,
            body: self.body()?,
        })
    }

    /// The context: the case's clock, claims and peer. Without `context.peer`, peer binding is
    /// not modelled (vectors README): the peer is the signer itself.
    pub fn context(&self, msg: &Message) -> Result<Context, String> {
        let now_ms = crate::time::parse_rfc3339_ms(&self.at)
            .ok_or_else(|| format!("at: {:?} is not RFC 3339", self.at))?;
        let peer = self.peer(msg);
        Ok(Context {
            now_ms,
            peer,
            token_claims: self.context.token_claims.clone(),
            route_name: None,
        })
    }

    /// The authenticated peer the case assumes: `context.peer`, else the signer itself.
    pub fn peer(&self, msg: &Message) -> Option<String> {
        self.context.peer.clone().or_else(|| self.implied_peer(msg))
    }

    fn implied_peer(&self, msg: &Message) -> Option<String> {
        match self.profile {
            ProfileName::Mojaloop => msg.header("fspiop-source").map(str::to_string),
            ProfileName::Spar => {
                let body: Value = serde_json::from_slice(&msg.body).ok()?;
                let sender = body
                    .pointer("/request_header/sender_app_mnemonic")
                    .or_else(|| body.pointer("/header/sender_id"))?
                    .as_str()?;
                self.keys
                    .partners
                    .iter()
                    .find(|p| p.get("sender_id").and_then(Value::as_str) == Some(sender))
                    .and_then(|p| p.get("partner").and_then(Value::as_str))
                    .map(str::to_string)
            }
            ProfileName::Generic => {
                let first = self.keys.partners.first()?.get("partner")?.as_str()?;
                Some(first.to_string())
            }
            // ocen and mosip name no peer in the message (the token, the path do).
            _ => None,
        }
    }

    /// Runs the case with a crypto backend; `Err` when the case itself is unusable.
    pub fn run(&self, backend: &dyn CryptoBackend) -> Result<CaseResult, String> {
        let cfg_json = self.config_json()?;
        let raw: RawVerifyConfig = serde_json::from_value(cfg_json)
            .map_err(|e| format!("{}: configuration: {e}", self.id))?;
        let cfg = VerifyConfig::from_raw(raw).map_err(|e| format!("{}: {e}", self.id))?;
        let msg = self.message()?;
        let ctx = self.context(&msg)?;
        let mut trace = Trace::recording();
        let mut replay = MemoryReplay::new(cfg.common.replay_cache_entries);
        let result = no_wait(verify(&mut Run {
            common: &cfg.common,
            registry: &cfg.registry,
            profile: &cfg.profile,
            msg: &msg,
            ctx: &ctx,
            backend,
            replay: Some(&mut replay),
            trace: &mut trace,
            keys: None,
        }));
        Ok(self.compare(&cfg, &msg, &ctx, result, trace))
    }

    fn compare(
        &self,
        cfg: &VerifyConfig,
        msg: &Message,
        ctx: &Context,
        result: Result<Outcome, Rejection<StepError>>,
        trace: Trace,
    ) -> CaseResult {
        let mut problems = Vec::new();
        let (got, reason, reply) = match &result {
            Ok(_) => (Expect::Accept, "ok".to_string(), None),
            Err(r) => {
                let reply = cfg.reply(&r.error, msg, ctx, "00000000", false);
                (Expect::Reject, r.reason().code().to_string(), Some(reply))
            }
        };
        if got != self.expect {
            problems.push(format!(
                "expected {}, got {}",
                self.expect.name(),
                got.name()
            ));
        }
        if reason != self.reason {
            problems.push(format!("expected reason {}, got {reason}", self.reason));
        }
        if let (Some(want), Some(reply)) = (&self.reply, &reply) {
            problems.extend(reply_problems(want, reply));
        }
        CaseResult {
            id: self.id.clone(),
            expect: self.expect,
            expected_reason: self.reason.clone(),
            got,
            reason,
            reply,
            trace,
            problems,
        }
    }
}

/// Compares the expected reply fields of a case with the reply built.
fn reply_problems(want: &Value, reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(status) = want.get("status").and_then(Value::as_u64) {
        if u64::from(reply.status) != status {
            problems.push(format!("expected status {status}, got {}", reply.status));
        }
    }
    let body: Value = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    if let Some(b) = want.get("body") {
        if &body != b {
            problems.push(format!("expected body {b}, got {body}"));
        }
    }
    if let Some(errors) = want.get("body_errors") {
        if body.get("errors") != Some(errors) {
            problems.push(format!(
                "expected errors {errors}, got {:?}",
                body.get("errors")
            ));
        }
    }
    for field in ["response_status", "response_error_code"] {
        if let Some(v) = want.get(field) {
            if body.pointer(&format!("/response_header/{field}")) != Some(v) {
                problems.push(format!("expected response_header.{field} {v}"));
            }
        }
    }
    problems
}
