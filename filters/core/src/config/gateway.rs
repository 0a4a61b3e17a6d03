//! The `gateway` configuration: which request headers are stripped, and the audit switch.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::config_error::ConfigError;
use crate::message::header_name_starts_with;

/// Headers with this prefix belong to Signet; they are always stripped from requests.
pub const SIGNET_HEADER_PREFIX: &str = "x-signet-";

/// The `gateway` configuration as written; an empty configuration means all defaults.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGatewayConfig {
    /// Lower-case header name prefixes to remove from every request, besides `x-signet-`
    /// (which cannot be removed).
    #[serde(default)]
    pub strip_header_prefixes: Vec<String>,
    /// Write the audit record of a refusal (`signet.audit.gateway`); default on.
    pub audit: Option<bool>,
}

/// The checked `gateway` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Lower-case header name prefixes removed from every request; always holds `x-signet-`.
    pub strip_header_prefixes: Vec<String>,
    /// Write the audit record of a refusal (`signet.audit.gateway`); default on.
    pub audit: bool,
}

impl GatewayConfig {
    /// Parses the JSON configuration; blank means all defaults. Unknown fields are refused so
    /// a typo does not silently disable a setting.
    pub fn parse(raw: &[u8]) -> Result<Self, ConfigError> {
        let raw: RawGatewayConfig = if raw.iter().all(u8::is_ascii_whitespace) {
            RawGatewayConfig::default()
        } else {
            ConfigError::parse_object(raw)?
        };
        let mut strip_header_prefixes = vec![SIGNET_HEADER_PREFIX.to_string()];
        for (i, prefix) in raw.strip_header_prefixes.into_iter().enumerate() {
            validate_prefix(&prefix)
                .map_err(|m| ConfigError::new(format!("strip_header_prefixes[{i}]"), m))?;
            if !strip_header_prefixes.contains(&prefix) {
                strip_header_prefixes.push(prefix);
            }
        }
        Ok(GatewayConfig {
            strip_header_prefixes,
            audit: raw.audit.unwrap_or(true),
        })
    }

    /// Whether a request header of this name must be removed; `x_signet_…` too, which CGI and
    /// WSGI upstreams read as `x-signet-…`.
    pub fn strips(&self, header_name: &str) -> bool {
        self.strip_header_prefixes
            .iter()
            .any(|prefix| header_name_starts_with(header_name, prefix))
    }
}

/// A prefix must be a non-empty, lower-case HTTP token (Envoy hands header names lower-cased).
fn validate_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("empty prefix would strip every header".to_string());
    }
    let ok = prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{prefix}\" is not a lower-case header name prefix (a-z, 0-9, '-', '_', '.')"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<GatewayConfig, ConfigError> {
        GatewayConfig::parse(raw.as_bytes())
    }

    #[test]
    fn empty_and_blank_configurations_mean_defaults() {
        for raw in ["", "  \n", "{}"] {
            assert_eq!(
                parse(raw),
                Ok(GatewayConfig {
                    strip_header_prefixes: vec!["x-signet-".to_string()],
                    audit: true,
                }),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn audit_can_be_turned_off() {
        assert_eq!(parse(r#"{"audit": false}"#).map(|c| c.audit), Ok(false));
    }

    #[test]
    fn extra_prefixes_are_added_to_the_signet_prefix() {
        let config = parse(r#"{"strip_header_prefixes": ["x-internal-", "x-signet-"]}"#);
        assert_eq!(
            config.map(|c| c.strip_header_prefixes),
            Ok(vec!["x-signet-".to_string(), "x-internal-".to_string()])
        );
    }

    #[test]
    fn bad_configurations_name_the_field() {
        let cases = [
            ("[1]", "(root)"),
            ("{", "(root)"),
            (r#"{"strip_header_prefix": []}"#, "strip_header_prefix"),
            (
                r#"{"strip_header_prefixes": "x-"}"#,
                "strip_header_prefixes",
            ),
            (
                r#"{"strip_header_prefixes": [1]}"#,
                "strip_header_prefixes[0]",
            ),
            (
                r#"{"strip_header_prefixes": ["x-a-", ""]}"#,
                "strip_header_prefixes[1]",
            ),
            (
                r#"{"strip_header_prefixes": ["X-Up"]}"#,
                "strip_header_prefixes[0]",
            ),
            (
                r#"{"strip_header_prefixes": ["x y"]}"#,
                "strip_header_prefixes[0]",
            ),
            (r#"{"audit": "yes"}"#, "audit"),
        ];
        for (raw, field) in cases {
            let got = parse(raw).map(|_| ()).map_err(|e| e.field);
            assert_eq!(got, Err(field.to_string()), "{raw}");
        }
        let unknown = parse(r#"{"strip_header_prefix": []}"#).map(|_| ());
        assert!(
            unknown.is_err_and(|e| e.message.contains("strip_header_prefix`")),
            "the unknown member is named"
        );
    }

    #[test]
    fn strips_signet_headers_in_any_case_and_nothing_else() {
        let config = parse("{}").unwrap_or_else(|_| GatewayConfig {
            strip_header_prefixes: Vec::new(),
            audit: false,
        });
        // `_` for `-` too: a CGI / WSGI upstream reads x_signet_partner as x-signet-partner.
        for name in [
            "x-signet-partner",
            "X-Signet-Policy",
            "x-signet-",
            "x_signet_partner",
            "X-Signet_Partner",
        ] {
            assert!(config.strips(name), "{name}");
        }
        for name in [
            "x-signet",
            "x-signe",
            "signet",
            "authorization",
            "x-signetpartner",
            "",
        ] {
            assert!(!config.strips(name), "{name}");
        }
    }
}
