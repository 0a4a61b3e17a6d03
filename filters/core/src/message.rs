//! What the verifier is given: one HTTP message and the facts earlier filters established.
//!
//! Header names are lower case (Envoy hands them over that way); values are the raw strings.
//! The same types serve the request path and the response path.

/// Whether two header names are one to a server that folds case and reads `_` as `-` (CGI
/// and WSGI servers give `FSPIOP_Source` and `FSPIOP-Source` one variable).
pub fn same_header_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && header_name_starts_with(a, b)
}

/// Whether `name` begins with `prefix`, compared as [`same_header_name`] compares.
pub fn header_name_starts_with(name: &str, prefix: &str) -> bool {
    let fold = |b: u8| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    };
    name.len() >= prefix.len()
        && name
            .bytes()
            .zip(prefix.bytes())
            .all(|(x, y)| fold(x) == fold(y))
}

/// One HTTP message as the verifier sees it.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// `:method` of the request (for a response: the method of the request it answers).
    pub method: String,
    /// `:path` of the request, query included (for a response: the request's path).
    pub path: String,
    /// Response status, `None` on the request path.
    pub status: Option<u16>,
    /// Headers in arrival order, names lower case.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes.
    pub body: Vec<u8>,
}

impl Message {
    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many times a header was sent.
    pub fn header_count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// Whether a header was sent more than once, or under a look-alike spelling (see
    /// [`same_header_name`]): which copy a server reads is then not ours to guess.
    pub fn header_repeated(&self, name: &str) -> bool {
        // One pass: a name equal up to case is also alike, so the exact one is among these.
        let (mut alike, mut exact) = (0usize, false);
        for (n, _) in &self.headers {
            if same_header_name(n, name) {
                alike += 1;
                exact = exact || n.eq_ignore_ascii_case(name);
            }
        }
        alike > usize::from(exact)
    }

    /// `:path` without the query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// Sets (replaces) a header, keeping its position when it exists.
    pub fn set_header(&mut self, name: &str, value: &str) {
        let lower = name.to_ascii_lowercase();
        let mut replaced = false;
        self.headers.retain_mut(|(n, v)| {
            if *n == lower {
                if replaced {
                    return false;
                }
                *v = value.to_string();
                replaced = true;
            }
            true
        });
        if !replaced {
            self.headers.push((lower, value.to_string()));
        }
    }
}

/// Facts established outside the message: the clock, and what earlier filters authenticated.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// The authenticated partner of the connection (mTLS certificate matched in the registry,
    /// or the partner bound by `token_check`), never taken from a request header.
    pub peer: Option<String>,
    /// Claims of a bearer token `token_check` already verified.
    pub token_claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// Envoy's `xds.route_name`, when the route has one.
    pub route_name: Option<String>,
}

impl Context {
    /// Now, in whole seconds since the Unix epoch.
    pub fn now_s(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }
}

/// Reads `max-age` from a `Cache-Control` header value (RFC 9111 §5.2.2.1). `no-store` /
/// `no-cache` give `Some(0)`: refresh as soon as the minimum interval allows.
pub fn cache_control_max_age(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',') {
        let d = directive.trim();
        let (name, arg) = match d.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
            None => (d, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = arg.and_then(|a| a.parse::<u64>().ok());
        }
    }
    max_age
}
