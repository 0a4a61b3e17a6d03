//! `token_fetch` (client side): an OAuth2 client-credentials token (RFC 6749 §4.4,
//! docs/profiles.md#ocen), fetched through an Envoy cluster and cached until `expires_in − 60 s`.
//!
//! Single-flight: the first request that finds no usable token starts the fetch; the others wait
//! for it (the glue pauses them and resumes them with the answer). After a failure, requests are
//! refused until `retry_at` instead of hammering the auth service.

use serde::Deserialize;
use std::fmt;

/// Refresh this long before `expires_in` runs out (docs/profiles.md#ocen; Spring's default skew).
const EARLY_REFRESH_S: u64 = 60;

/// Token response bodies are small; a larger one is refused rather than parsed.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Client credentials. `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// Optional `scope` (space-separated).
    pub scope: Option<String>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

impl ClientCredentials {
    /// The form body `grant_type=client_credentials&client_id=…&client_secret=…[&scope=…]`
    /// (`application/x-www-form-urlencoded`, properly escaped).
    pub fn request_body(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        form.append_pair("client_id", &self.client_id);
        form.append_pair("client_secret", &self.client_secret);
        if let Some(s) = &self.scope {
            form.append_pair("scope", s);
        }
        form.finish()
    }

    /// Headers of the token request besides `:method`/`:path`/`:authority`.
    pub fn request_headers() -> [(&'static str, &'static str); 2] {
        [
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "application/json"),
        ]
    }
}

/// Why a token response was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchError {
    /// The call failed or timed out.
    Transport,
    /// Not HTTP 200 (carries the status).
    Status(u16),
    /// Not JSON, too large, or `access_token` missing.
    Body,
    /// `access_token` is empty or has characters that cannot go in a header (CR/LF would
    /// inject headers into every upstream request).
    BadToken,
    /// `token_type` is present and not `Bearer`.
    TokenType,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Transport => f.write_str("token request failed"),
            FetchError::Status(s) => write!(f, "token endpoint answered {s}"),
            FetchError::Body => f.write_str("token response is not the expected JSON"),
            FetchError::BadToken => f.write_str("access_token is not a header-safe string"),
            FetchError::TokenType => f.write_str("token_type is not Bearer"),
        }
    }
}

impl std::error::Error for FetchError {}

#[derive(Deserialize)]
struct RawResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// A parsed token response.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Lifetime in seconds, if given.
    pub expires_in_s: Option<u64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_in_s", &self.expires_in_s)
            .finish()
    }
}

/// Parses a token endpoint response body (RFC 6749 §5.1).
pub fn parse_token_response(body: &[u8]) -> Result<TokenResponse, FetchError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(FetchError::Body);
    }
    let raw: RawResponse = serde_json::from_slice(body).map_err(|_| FetchError::Body)?;
    let token = raw.access_token.ok_or(FetchError::Body)?;
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FetchError::BadToken);
    }
    if let Some(t) = &raw.token_type {
        if !t.eq_ignore_ascii_case("bearer") {
            return Err(FetchError::TokenType);
        }
    }
    // Keycloak sends a number; some servers send a numeric string.
    let expires_in_s = match raw.expires_in {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => Some(n.as_u64().ok_or(FetchError::Body)?),
        Some(serde_json::Value::String(s)) => Some(s.parse().map_err(|_| FetchError::Body)?),
        Some(_) => return Err(FetchError::Body),
    };
    Ok(TokenResponse {
        access_token: token,
        expires_in_s,
    })
}

/// Timing of the fetcher, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// Lifetime assumed when the response has no `expires_in`.
    pub default_expires_in_s: u64,
    /// Wait after a failure before the next fetch.
    pub retry_interval_s: u64,
    /// A fetch not reported back within this time is considered lost.
    pub fetch_timeout_s: u64,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            default_expires_in_s: 300,
            retry_interval_s: 5,
            fetch_timeout_s: 30,
        }
    }
}

/// The fetcher's state.
#[derive(Clone, PartialEq, Eq)]
pub enum FetchState {
    /// No token, nothing in flight.
    Idle,
    /// A fetch is in flight; `waiters` requests wait for it (the starter included).
    Fetching {
        /// When it started.
        since_ms: u64,
        /// Requests waiting.
        waiters: u32,
    },
    /// A token usable until `refresh_at_ms`.
    Ready {
        /// The token.
        token: String,
        /// Refresh from here on (`expires_in − 60 s`).
        refresh_at_ms: u64,
    },
    /// The last fetch failed; no new fetch before `retry_at_ms`.
    Failed {
        /// Next attempt allowed from here on.
        retry_at_ms: u64,
        /// Why.
        error: FetchError,
    },
}

impl fmt::Debug for FetchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchState::Idle => f.write_str("Idle"),
            FetchState::Fetching { since_ms, waiters } => {
                write!(f, "Fetching {{ since_ms: {since_ms}, waiters: {waiters} }}")
            }
            FetchState::Ready { refresh_at_ms, .. } => {
                write!(f, "Ready {{ refresh_at_ms: {refresh_at_ms} }}")
            }
            FetchState::Failed { retry_at_ms, error } => {
                write!(
                    f,
                    "Failed {{ retry_at_ms: {retry_at_ms}, error: {error:?} }}"
                )
            }
        }
    }
}

/// What a request should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    /// Use this token (`Authorization: Bearer <token>`).
    Ready(String),
    /// Start the fetch (this request is its first waiter).
    StartFetch,
    /// A fetch is in flight: pause and wait for it.
    Wait,
    /// Refuse the request (503): the token endpoint failed recently.
    Unavailable {
        /// Unix ms from which a new fetch will be tried.
        retry_at_ms: u64,
    },
}

/// The client-credentials token cache and single-flight state machine.
#[derive(Debug, Clone)]
pub struct TokenFetcher {
    settings: FetchSettings,
    state: FetchState,
}

impl TokenFetcher {
    /// An idle fetcher.
    pub fn new(settings: FetchSettings) -> TokenFetcher {
        TokenFetcher {
            settings,
            state: FetchState::Idle,
        }
    }

    /// The state.
    pub fn state(&self) -> &FetchState {
        &self.state
    }

    /// What a request arriving at `now_ms` should do.
    pub fn acquire(&mut self, now_ms: u64) -> Acquire {
        let timeout_ms = self.settings.fetch_timeout_s.saturating_mul(1000);
        match &mut self.state {
            FetchState::Ready {
                token,
                refresh_at_ms,
            } if now_ms < *refresh_at_ms => return Acquire::Ready(token.clone()),
            FetchState::Fetching { since_ms, waiters }
                if now_ms < since_ms.saturating_add(timeout_ms) =>
            {
                *waiters = waiters.saturating_add(1);
                return Acquire::Wait;
            }
            FetchState::Failed { retry_at_ms, .. } if now_ms < *retry_at_ms => {
                return Acquire::Unavailable {
                    retry_at_ms: *retry_at_ms,
                }
            }
            _ => {}
        }
        // Idle, expired token, lost fetch or retry time reached: this request fetches.
        self.state = FetchState::Fetching {
            since_ms: now_ms,
            waiters: 1,
        };
        Acquire::StartFetch
    }

    /// Reports the token response (`status` `None` when the call failed). Returns the number
    /// of waiting requests to resume (each then calls [`Self::acquire`] again) and the result.
    pub fn on_response(
        &mut self,
        status: Option<u16>,
        body: &[u8],
        now_ms: u64,
    ) -> (u32, Result<(), FetchError>) {
        let waiters = match self.state {
            FetchState::Fetching { waiters, .. } => waiters,
            _ => 0,
        };
        let result = match status {
            None => Err(FetchError::Transport),
            Some(200) => parse_token_response(body),
            Some(s) => Err(FetchError::Status(s)),
        };
        match result {
            Ok(r) => {
                let lifetime = r.expires_in_s.unwrap_or(self.settings.default_expires_in_s);
                // A lifetime of a minute or less cannot lose 60 s: use half of it instead.
                let usable = if lifetime > EARLY_REFRESH_S * 2 {
                    lifetime - EARLY_REFRESH_S
                } else {
                    lifetime / 2
                };
                self.state = FetchState::Ready {
                    token: r.access_token,
                    refresh_at_ms: now_ms.saturating_add(usable.saturating_mul(1000)),
                };
                (waiters, Ok(()))
            }
            Err(e) => {
                self.state = FetchState::Failed {
                    retry_at_ms: now_ms
                        .saturating_add(self.settings.retry_interval_s.saturating_mul(1000)),
                    error: e,
                };
                (waiters, Err(e))
            }
        }
    }

    /// The upstream rejected the token (401): drop it so the next request fetches a new one.
    pub fn invalidate(&mut self) {
        if matches!(self.state, FetchState::Ready { .. }) {
            self.state = FetchState::Idle;
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;
    const S: u64 = 1000;

    fn ok(token: &str, expires_in: u64) -> Vec<u8> {
        format!(r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#)
            .into_bytes()
    }

    #[test]
    fn form_body_is_escaped() {
        let c = ClientCredentials {
            client_id: "lender one".into(),
            client_secret: "s&e=c+r/e%t".into(),
            scope: Some("loan.read loan.write".into()),
        };
        assert_eq!(
            c.request_body(),
            "grant_type=client_credentials&client_id=lender+one&client_secret=s%26e%3Dc%2Br%2Fe%25t&scope=loan.read+loan.write"
        );
        let parsed: Vec<(String, String)> = form_urlencoded::parse(c.request_body().as_bytes())
            .into_owned()
            .collect();
        assert_eq!(parsed[2], ("client_secret".into(), "s&e=c+r/e%t".into()));
        assert!(!format!("{c:?}").contains("s&e"));
    }

    #[test]
    fn response_parsing() {
        let r = parse_token_response(&ok("abc.def.ghi", 300)).unwrap();
        assert_eq!(r.access_token, "abc.def.ghi");
        assert_eq!(r.expires_in_s, Some(300));
        assert!(!format!("{r:?}").contains("abc"));
        let r = parse_token_response(br#"{"access_token":"t","expires_in":"120"}"#).unwrap();
        assert_eq!(r.expires_in_s, Some(120));
        let r = parse_token_response(br#"{"access_token":"t","token_type":"bearer"}"#).unwrap();
        assert_eq!(r.expires_in_s, None);
        let cases: [(&[u8], FetchError); 7] = [
            (b"not json", FetchError::Body),
            (br#"{"token_type":"Bearer"}"#, FetchError::Body),
            (br#"{"access_token":""}"#, FetchError::BadToken),
            (
                br#"{"access_token":"a\r\nx-evil: 1"}"#,
                FetchError::BadToken,
            ),
            (br#"{"access_token":"a b"}"#, FetchError::BadToken),
            (
                br#"{"access_token":"t","token_type":"mac"}"#,
                FetchError::TokenType,
            ),
            (br#"{"access_token":"t","expires_in":-5}"#, FetchError::Body),
        ];
        for (body, e) in cases {
            assert_eq!(
                parse_token_response(body),
                Err(e),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn cached_until_expires_in_minus_60() {
        let mut f = TokenFetcher::new(FetchSettings::default());
        assert_eq!(f.acquire(T0), Acquire::StartFetch);
        assert_eq!(f.on_response(Some(200), &ok("tok", 300), T0), (1, Ok(())));
        assert_eq!(f.acquire(T0 + 239 * S), Acquire::Ready("tok".into()));
        assert_eq!(f.acquire(T0 + 240 * S), Acquire::StartFetch);
        assert!(f
            .on_response(Some(200), &ok("tok2", 300), T0 + 241 * S)
            .1
            .is_ok());
        assert_eq!(f.acquire(T0 + 242 * S), Acquire::Ready("tok2".into()));
        // Short lifetimes use half.
        let mut f = TokenFetcher::new(FetchSettings::default());
        f.acquire(T0);
        assert!(f.on_response(Some(200), &ok("t", 60), T0).1.is_ok());
        assert_eq!(f.acquire(T0 + 29 * S), Acquire::Ready("t".into()));
        assert_eq!(f.acquire(T0 + 30 * S), Acquire::StartFetch);
        // No expires_in: the default (300 s → 240 s).
        let mut f = TokenFetcher::new(FetchSettings::default());
        f.acquire(T0);
        assert!(f
            .on_response(Some(200), br#"{"access_token":"t"}"#, T0)
            .1
            .is_ok());
        assert_eq!(f.acquire(T0 + 239 * S), Acquire::Ready("t".into()));
        assert_eq!(f.acquire(T0 + 240 * S), Acquire::StartFetch);
    }

    #[test]
    fn single_flight_with_waiters() {
        let mut f = TokenFetcher::new(FetchSettings::default());
        assert_eq!(f.acquire(T0), Acquire::StartFetch);
        assert_eq!(f.acquire(T0 + 1), Acquire::Wait);
        assert_eq!(f.acquire(T0 + 2), Acquire::Wait);
        assert_eq!(
            f.state(),
            &FetchState::Fetching {
                since_ms: T0,
                waiters: 3
            }
        );
        assert_eq!(f.on_response(Some(200), &ok("t", 300), T0 + 5), (3, Ok(())));
        assert_eq!(f.acquire(T0 + 6), Acquire::Ready("t".into()));
        // A lost fetch is restarted after the timeout.
        let mut f = TokenFetcher::new(FetchSettings::default());
        f.acquire(T0);
        assert_eq!(f.acquire(T0 + 29 * S), Acquire::Wait);
        assert_eq!(f.acquire(T0 + 30 * S), Acquire::StartFetch);
    }

    #[test]
    fn failure_then_retry_after() {
        let mut f = TokenFetcher::new(FetchSettings::default());
        f.acquire(T0);
        f.acquire(T0);
        assert_eq!(
            f.on_response(Some(401), b"{}", T0 + S),
            (2, Err(FetchError::Status(401)))
        );
        assert_eq!(
            f.acquire(T0 + 2 * S),
            Acquire::Unavailable {
                retry_at_ms: T0 + 6 * S
            }
        );
        assert_eq!(f.acquire(T0 + 6 * S), Acquire::StartFetch);
        assert_eq!(
            f.on_response(None, b"", T0 + 7 * S).1,
            Err(FetchError::Transport)
        );
        assert!(format!("{:?}", f.state()).starts_with("Failed"));
        assert_eq!(f.acquire(T0 + 12 * S), Acquire::StartFetch);
        assert!(f
            .on_response(Some(200), &ok("secret-token", 300), T0 + 12 * S)
            .1
            .is_ok());
        assert!(!format!("{:?}", f.state()).contains("secret-token"));
        f.invalidate();
        assert_eq!(f.state(), &FetchState::Idle);
    }
}
