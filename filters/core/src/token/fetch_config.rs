//! The `token_fetch` configuration (client side, partner egress): where the OAuth2 token
//! endpoint is, which client, and where its secret comes from — the environment of the Envoy
//! process (`vm_config.environment_variables.host_env_keys`), never the YAML.
//!
//! ```json
//! {"cluster": "auth", "token_uri": "https://auth.example/realms/ocen/protocol/openid-connect/token",
//!  "client_id": "dfsp-a", "client_secret_env": "SIGNET_CLIENT_SECRET", "scope": "transfers",
//!  "timeout": "5s", "retry_interval": "5s", "default_expires_in": "5m"}
//! ```
//!
//! Every error names its field, as in [`super::config`].

use schemars::JsonSchema;
use serde::Deserialize;

use super::config::{seconds, ConfigError};
use super::fetch::{ClientCredentials, FetchSettings};
use crate::duration::{pick, Duration, Millis, Seconds};

/// The JSON Schema of the `token_fetch` configuration.
pub fn schema() -> schemars::schema::RootSchema {
    crate::schema::root_of::<RawFetchConfig>()
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawFetchConfig {
    /// Envoy cluster of the auth service.
    cluster: String,
    /// URL of the token endpoint (client credentials grant).
    token_uri: String,
    /// The OAuth client id.
    client_id: String,
    /// Environment variable holding the client secret.
    client_secret_env: String,
    /// `scope` asked for.
    #[serde(default)]
    scope: Option<String>,
    /// Bound on a token request.
    #[serde(default)]
    timeout: Option<Duration>,
    /// Alias of `timeout` in milliseconds.
    #[serde(default)]
    timeout_ms: Option<Millis>,
    /// Wait after a failed token request.
    #[serde(default)]
    retry_interval: Option<Duration>,
    /// Alias of `retry_interval` in seconds.
    #[serde(default)]
    retry_interval_s: Option<Seconds>,
    /// Lifetime assumed when the answer has no `expires_in`.
    #[serde(default)]
    default_expires_in: Option<Duration>,
    /// Alias of `default_expires_in` in seconds.
    #[serde(default)]
    default_expires_in_s: Option<Seconds>,
}

/// The validated `token_fetch` configuration, secret resolved.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Envoy cluster of the auth service.
    pub cluster: String,
    /// `:authority` of the token request.
    pub authority: String,
    /// `:path` of the token request.
    pub path: String,
    /// Client id, secret (from the environment) and scope.
    pub credentials: ClientCredentials,
    /// Callout timeout.
    pub timeout_ms: u64,
    /// Fetcher timing.
    pub settings: FetchSettings,
}

fn err(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        field: field.to_string(),
        message: message.into(),
    }
}

impl FetchConfig {
    /// Parses the plugin configuration; `env` looks up the client secret by name.
    pub fn from_json(
        json: &[u8],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<FetchConfig, ConfigError> {
        let raw: RawFetchConfig = ConfigError::parse_object(json)?;
        if raw.cluster.is_empty() {
            return Err(err("cluster", "must not be empty"));
        }
        let (authority, path) = split_url(&raw.token_uri)
            .ok_or_else(|| err("token_uri", "must be an https or http URL"))?;
        if raw.client_id.is_empty() {
            return Err(err("client_id", "must not be empty"));
        }
        if raw.client_secret_env.is_empty() {
            return Err(err("client_secret_env", "must not be empty"));
        }
        let client_secret = env(&raw.client_secret_env)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                err(
                    "client_secret_env",
                    format!(
                        "environment variable {} is not set for the VM (vm_config.environment_variables.host_env_keys)",
                        raw.client_secret_env
                    ),
                )
            })?;
        let timeout_ms = pick("timeout", raw.timeout, "timeout_ms", raw.timeout_ms)
            .map_err(ConfigError::from)?
            .map_or(5000, Duration::ms);
        if !(100..=60_000).contains(&timeout_ms) {
            return Err(err("timeout", "must be between 100ms and 60s"));
        }
        let d = FetchSettings::default();
        let retry_interval_s = seconds(
            "retry_interval",
            raw.retry_interval,
            "retry_interval_s",
            raw.retry_interval_s,
            d.retry_interval_s,
        )?;
        if retry_interval_s == 0 {
            return Err(err("retry_interval", "must be at least 1s"));
        }
        let default_expires_in_s = seconds(
            "default_expires_in",
            raw.default_expires_in,
            "default_expires_in_s",
            raw.default_expires_in_s,
            d.default_expires_in_s,
        )?;
        if default_expires_in_s == 0 {
            return Err(err("default_expires_in", "must be at least 1s"));
        }
        if let Some(s) = &raw.scope {
            if s.is_empty() || s.bytes().any(|b| b.is_ascii_control()) {
                return Err(err("scope", "must be non-empty printable text"));
            }
        }
        Ok(FetchConfig {
            cluster: raw.cluster,
            authority,
            path,
            credentials: ClientCredentials {
                client_id: raw.client_id,
                client_secret,
                scope: raw.scope,
            },
            timeout_ms,
            settings: FetchSettings {
                default_expires_in_s,
                retry_interval_s,
                // The lost-fetch guard outlasts the callout timeout.
                fetch_timeout_s: timeout_ms / 1000 + 2,
            },
        })
    }
}

/// `http(s)://host[:port]/path?query` → (authority, path-and-query).
fn split_url(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let ok = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        && path.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| (authority.to_string(), path.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SECRET").then(|| "s3cret".to_string())
    }

    fn parse(json: &str) -> Result<FetchConfig, ConfigError> {
        FetchConfig::from_json(json.as_bytes(), &env)
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"{"cluster":"auth","token_uri":"http://auth:8080/realms/x/token?a=b","client_id":"dfsp-a","client_secret_env":"SECRET","scope":"s1 s2","retry_interval":"2s","timeout":"4.5s"}"#,
        )
        .unwrap();
        assert_eq!(c.authority, "auth:8080");
        assert_eq!(c.path, "/realms/x/token?a=b");
        assert_eq!(c.credentials.client_secret, "s3cret");
        assert_eq!(c.settings.retry_interval_s, 2);
        assert_eq!((c.timeout_ms, c.settings.fetch_timeout_s), (4500, 6));
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn errors_name_the_field() {
        let base = r#""cluster":"auth","token_uri":"http://auth/t","client_id":"a""#;
        let cases = [
            (format!("{{{base}}}"), "(root)"),
            (
                format!("{{{base},\"client_secret_env\":\"NOPE\"}}"),
                "client_secret_env",
            ),
            (
                format!("{{{base},\"client_secret_env\":\"SECRET\",\"timeout_ms\":5}}"),
                "timeout",
            ),
            (
                format!("{{{base},\"client_secret_env\":\"SECRET\",\"timeout\":\"5ms\"}}"),
                "timeout",
            ),
            (
                format!(
                    "{{{base},\"client_secret_env\":\"SECRET\",\"timeout\":\"5s\",\"timeout_ms\":5000}}"
                ),
                "timeout",
            ),
            (
                format!("{{{base},\"client_secret_env\":\"SECRET\",\"retry_interval\":\"5\"}}"),
                "retry_interval",
            ),
            (
                format!("{{{base},\"client_secret_env\":\"SECRET\",\"extra\":1}}"),
                "extra",
            ),
            (
                r#"{"cluster":"auth","token_uri":"ftp://x","client_id":"a","client_secret_env":"SECRET"}"#
                    .to_string(),
                "token_uri",
            ),
            (
                format!("{{{base},\"client_secret_env\":\"SECRET\",\"retry_interval_s\":0}}"),
                "retry_interval",
            ),
            ("[]".to_string(), "(root)"),
        ];
        for (json, field) in cases {
            let e = parse(&json)
                .err()
                .unwrap_or_else(|| panic!("{json} accepted"));
            assert_eq!(e.field, field, "{json}: {e}");
        }
        let e = parse(&format!("{{{base},\"client_secret_env\":\"NOPE\"}}")).unwrap_err();
        assert!(e.message.contains("host_env_keys"), "{e}");
    }
}
