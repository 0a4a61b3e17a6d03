//! The one host-free check of a filter's configuration: Envoy's `on_configure` (the Wasm
//! adapter) and `signet config check` both run it, so the CLI's verdict and text are Envoy's.

use schemars::schema::RootSchema;

use crate::config::gateway::GatewayConfig;
use crate::config::sign::SignConfig;
use crate::config::VerifyConfig;
use crate::config_error::ConfigError;
use crate::registry::Registry;
use crate::schema::root_of;
use crate::seal::SealSettings;
use crate::token::config::TokenConfig;
use crate::token::fetch_config::FetchConfig;

/// Every filter, by the `root_id` that selects it.
pub const ROOT_IDS: &[&str] = &[
    "gateway",
    "jws_verify",
    "jws_sign",
    "token_check",
    "token_fetch",
    "mosip_seal",
];

/// Every schema of the configuration reference (`docs/config/<name>.schema.json`, checked by
/// `filters/core/tests/config_reference.rs`): `(name, schema)`, the name a `root_id` or
/// `registry`.
pub fn documents() -> Vec<(&'static str, RootSchema)> {
    vec![
        (
            "gateway",
            root_of::<crate::config::gateway::RawGatewayConfig>(),
        ),
        ("jws_verify", root_of::<crate::config::RawVerifyConfig>()),
        ("jws_sign", root_of::<crate::config::sign::RawSignConfig>()),
        ("token_check", crate::token::config::schema()),
        ("token_fetch", crate::token::fetch_config::schema()),
        ("mosip_seal", crate::seal::settings_schema()),
        ("registry", root_of::<crate::registry::RawRegistry>()),
    ]
}

/// How Envoy's log and `signet config check` name the VM's partner registry.
pub const REGISTRY: &str = "partner registry (vm_config.configuration)";

/// A filter's checked configuration, ready for its adapter.
#[derive(Debug)]
pub enum FilterConfig {
    Gateway(GatewayConfig),
    JwsVerify(Box<VerifyConfig>),
    JwsSign(Box<SignConfig>),
    TokenCheck(Box<TokenConfig>),
    TokenFetch(Box<FetchConfig>),
    MosipSeal(Box<SealSettings>),
}

/// What a configuration is checked against besides its text: the process environment
/// (`*_env` settings) and the time (certificates in date).
pub struct Host<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub now_s: i64,
}

/// Parses the VM configuration (`vm_config.configuration`) as the partner registry; blank means
/// none (filters then carry theirs inline, or none).
pub fn registry(vm_configuration: &[u8]) -> Result<Option<Registry>, ConfigError> {
    if vm_configuration.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Registry::from_json(vm_configuration).map(Some)
}

/// Checks the configuration of the filter `root_id`; `registry` is the VM's.
pub fn filter(
    root_id: &str,
    configuration: &[u8],
    registry: Option<&Registry>,
    host: &Host<'_>,
) -> Result<FilterConfig, ConfigError> {
    let text = || {
        std::str::from_utf8(configuration)
            .map_err(|_| ConfigError::new("(root)", "configuration is not UTF-8"))
    };
    Ok(match root_id {
        "gateway" => FilterConfig::Gateway(GatewayConfig::parse(configuration)?),
        "jws_verify" => {
            FilterConfig::JwsVerify(Box::new(VerifyConfig::from_json_with(text()?, registry)?))
        }
        "jws_sign" => FilterConfig::JwsSign(Box::new(SignConfig::from_json(text()?, host.env)?)),
        "token_check" => FilterConfig::TokenCheck(Box::new(TokenConfig::from_json_with(
            configuration,
            registry,
        )?)),
        "token_fetch" => {
            FilterConfig::TokenFetch(Box::new(FetchConfig::from_json(configuration, host.env)?))
        }
        "mosip_seal" => FilterConfig::MosipSeal(Box::new(SealSettings::from_json(
            text()?,
            host.env,
            host.now_s,
        )?)),
        other => {
            return Err(ConfigError::new(
                "root_id",
                format!(
                    "unknown root_id \"{other}\"; this module provides: {}",
                    ROOT_IDS.join(", ")
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Host<'static> = Host {
        env: &|_| None,
        now_s: 1_750_000_000,
    };

    fn check(root_id: &str, json: &str) -> Result<(), ConfigError> {
        filter(root_id, json.as_bytes(), None, &HOST).map(|_| ())
    }

    #[test]
    fn every_filter_names_the_field_of_a_bad_setting() {
        let cases = [
            ("gateway", r#"{"audit": 1}"#, "audit"),
            (
                "jws_verify",
                r#"{"profile": {"mojaloop": {"date_window": "x"}}}"#,
                "profile.mojaloop.date_window",
            ),
            (
                "jws_verify",
                r#"{"profile": "generic", "min_rsa_bits": 512}"#,
                "min_rsa_bits",
            ),
            (
                "jws_verify",
                r#"{"profile": "generic", "partners": [{"id": "a"}, {"id": "b", "keys": [{"kid": 1}]}]}"#,
                "partners[1].keys[0].kid",
            ),
            (
                "jws_sign",
                r#"{"profile": "generic", "sign_alg": "RS256"}"#,
                "signing_key",
            ),
            (
                "jws_sign",
                r#"{"profile": "generic", "signing_key": "junk"}"#,
                "signing_key",
            ),
            (
                "jws_verify",
                r#"{"profile": "mojaloop", "replay_cache": true}"#,
                "replay_cache",
            ),
            (
                "token_check",
                r#"{"providers": [{"issuer": 1}]}"#,
                "providers[0].issuer",
            ),
            ("token_fetch", r#"{"cluster": 3}"#, "cluster"),
            ("mosip_seal", r#"{"max_body_bytes": 0}"#, "max_body_bytes"),
            ("nope", "{}", "root_id"),
        ];
        for (root_id, json, field) in cases {
            let got = check(root_id, json).map_err(|e| e.field);
            assert_eq!(got, Err(field.to_string()), "{root_id} {json}");
        }
    }

    #[test]
    fn a_blank_vm_configuration_is_no_registry() {
        assert!(matches!(registry(b" \n"), Ok(None)));
        let bad = registry(br#"{"partners": [{"id": "a", "status": "sleeping"}]}"#);
        assert_eq!(
            bad.map(|_| ()).map_err(|e| e.field),
            Err("partners[0].status".into())
        );
    }
}
