//! Route policy: which requests must carry a signature (docs/profiles.md#route-policy).
//!
//! Envoy has no per-route configuration for Wasm filters, so the rules are matched here, on the
//! method and the path (query excluded) or on Envoy's `xds.route_name`. Configured rules are
//! tried first, in order; the profile's defaults decide when none matches.
//!
//! Methods match exactly: HTTP methods are case-sensitive (RFC 9110 §9.1), so a rule for
//! `POST` does not match `post`, and a rule for `GET` does not skip `get`. The profiles'
//! defaults list the methods they skip and require a signature for everything else (a case
//! variant or an unknown method included); a configured catch-all `skip` without `methods`
//! skips every method, spelled any way. Paths are matched as received: the verifiers refuse
//! beforehand any path that could be read two ways ([`crate::path`]), so a prefix such as
//! `/health` cannot also cover `/health/../admin`.

use schemars::JsonSchema;
use serde::Deserialize;

/// What a matched rule demands (`route_policy` of `jws_verify` and `token_check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Present and valid: the signature (`jws_verify`), the credentials `credentials` asks
    /// for (`token_check`).
    Required,
    /// Whatever is absent may be (an unsigned message passes, stat `unsigned`); whatever is
    /// present is fully checked.
    IfPresent,
    /// Nothing checked (health checks).
    Skip,
}

impl Policy {
    /// The configuration spelling.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Required => "required",
            Policy::IfPresent => "if-present",
            Policy::Skip => "skip",
        }
    }
}

/// One rule as written in the filter configuration.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Upper-case methods, matched exactly; absent or empty means any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// A string prefix of the path, or
    pub path_prefix: Option<String>,
    /// a glob over path segments: `*` one segment, `**` any number, or
    pub path_glob: Option<String>,
    /// the name of Envoy's matched route.
    pub route_name: Option<String>,
    /// What the matching requests need.
    pub policy: Policy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Matcher {
    Prefix(String),
    Glob(Glob),
    RouteName(String),
}

/// A `path_glob`, the one meaning every Signet configuration gives it: matched segment by
/// segment on the path without its query; `*` is exactly one non-empty segment, `**` any number
/// of segments (none included), anything else a literal segment. A `*` inside a segment is
/// refused at configure time rather than given a second meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(Vec<GlobPart>);

impl Glob {
    /// Parses a glob; it must start with `/`.
    pub fn parse(g: &str) -> Result<Glob, String> {
        parse_glob(g).map(Glob)
    }

    /// Whether `path` (query already removed) matches.
    pub fn matches(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        glob_match(&self.0, &segments)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum GlobPart {
    /// A literal path segment.
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: any number of segments, including none.
    Any,
}

/// A validated rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    methods: Vec<String>,
    matcher: Matcher,
    policy: Policy,
}

impl Rule {
    /// Validates a configured rule; the error names the offending field.
    pub fn from_raw(raw: &RawRule) -> Result<Rule, String> {
        let given = [
            raw.path_prefix.is_some(),
            raw.path_glob.is_some(),
            raw.route_name.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err("exactly one of path_prefix, path_glob, route_name is required".into());
        }
        let matcher = if let Some(p) = &raw.path_prefix {
            if !p.starts_with('/') {
                return Err(format!("path_prefix {p:?} must start with '/'"));
            }
            Matcher::Prefix(p.clone())
        } else if let Some(g) = &raw.path_glob {
            Matcher::Glob(Glob::parse(g)?)
        } else {
            Matcher::RouteName(raw.route_name.clone().unwrap_or_default())
        };
        for m in &raw.methods {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(format!("method {m:?} must be an upper-case HTTP method"));
            }
        }
        Ok(Rule {
            methods: raw.methods.clone(),
            matcher,
            policy: raw.policy,
        })
    }

    /// A rule on methods and a path prefix (profile defaults).
    pub fn prefix(methods: &[&str], prefix: &str, policy: Policy) -> Rule {
        Rule {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            matcher: Matcher::Prefix(prefix.to_string()),
            policy,
        }
    }

    /// A rule on methods and a glob (profile defaults); the glob must be valid.
    pub fn glob(methods: &[&str], glob: &str, policy: Policy) -> Result<Rule, String> {
        Ok(Rule {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            matcher: Matcher::Glob(Glob::parse(glob)?),
            policy,
        })
    }

    fn matches(&self, method: &str, path: &str, route_name: Option<&str>) -> bool {
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m == method) {
            return false;
        }
        match &self.matcher {
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Glob(g) => g.matches(path),
            Matcher::RouteName(n) => route_name == Some(n.as_str()),
        }
    }
}

fn parse_glob(g: &str) -> Result<Vec<GlobPart>, String> {
    if !g.starts_with('/') {
        return Err(format!("path_glob {g:?} must start with '/'"));
    }
    g.trim_start_matches('/')
        .split('/')
        .map(|s| match s {
            "*" => Ok(GlobPart::One),
            "**" => Ok(GlobPart::Any),
            s if s.contains('*') => Err(format!(
                "path_glob {g:?}: '*' must be a whole segment ('*' or '**')"
            )),
            s => Ok(GlobPart::Literal(s.to_string())),
        })
        .collect()
}

/// Segment-wise glob matching by dynamic programming: O(parts × segments), whatever the number
/// of `**` (a request path can hold thousands of segments).
fn glob_match(parts: &[GlobPart], segments: &[&str]) -> bool {
    // reach[j]: the parts consumed so far can match exactly the first j segments.
    let mut reach = vec![false; segments.len() + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for part in parts {
        let mut next = vec![false; segments.len() + 1];
        match part {
            GlobPart::Any => {
                let mut any = false;
                for (j, slot) in next.iter_mut().enumerate() {
                    any |= reach.get(j).copied().unwrap_or(false);
                    *slot = any;
                }
            }
            _ => {
                for (j, seg) in segments.iter().enumerate() {
                    let ok = match part {
                        GlobPart::One => !seg.is_empty(),
                        GlobPart::Literal(l) => l == seg,
                        GlobPart::Any => true,
                    };
                    if ok && reach.get(j).copied().unwrap_or(false) {
                        if let Some(slot) = next.get_mut(j + 1) {
                            *slot = true;
                        }
                    }
                }
            }
        }
        reach = next;
    }
    reach.last().copied().unwrap_or(false)
}

/// Configured rules, then the profile's defaults.
#[derive(Clone, Debug, Default)]
pub struct RoutePolicy {
    rules: Vec<Rule>,
}

impl RoutePolicy {
    /// Validates the configured rules; errors name the rule's index.
    pub fn from_raw(raw: &[RawRule]) -> Result<RoutePolicy, String> {
        let rules = raw
            .iter()
            .enumerate()
            .map(|(i, r)| Rule::from_raw(r).map_err(|e| format!("route_policy[{i}]: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(RoutePolicy { rules })
    }

    /// Whether a rule matches on Envoy's route name (else the glue need not read it).
    pub fn names_routes(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r.matcher, Matcher::RouteName(_)))
    }

    /// The first configured rule that matches, if any.
    pub fn configured(&self, method: &str, path: &str, route_name: Option<&str>) -> Option<Policy> {
        let path = path.split('?').next().unwrap_or_default();
        self.rules
            .iter()
            .find(|r| r.matches(method, path, route_name))
            .map(|r| r.policy)
    }
}

/// First matching rule of a default list.
pub fn first_match(rules: &[Rule], method: &str, path: &str) -> Option<Policy> {
    let path = path.split('?').next().unwrap_or_default();
    rules
        .iter()
        .find(|r| r.matches(method, path, None))
        .map(|r| r.policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RawRule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn prefix_glob_and_route_name_match() {
        let p = RoutePolicy::from_raw(&[
            raw(r#"{"methods":["GET"],"path_prefix":"/health","policy":"skip"}"#),
            raw(r#"{"methods":["PUT"],"path_glob":"/parties/**","policy":"if-present"}"#),
            raw(r#"{"path_glob":"/transfers/*/error","policy":"required"}"#),
            raw(r#"{"route_name":"partner-api","policy":"required"}"#),
        ])
        .unwrap();
        assert_eq!(p.configured("GET", "/health?x=1", None), Some(Policy::Skip));
        assert_eq!(p.configured("POST", "/health", None), None);
        assert_eq!(
            p.configured("PUT", "/parties/MSISDN/123", None),
            Some(Policy::IfPresent)
        );
        assert_eq!(
            p.configured("PUT", "/parties", None),
            Some(Policy::IfPresent)
        );
        assert_eq!(
            p.configured("PUT", "/transfers/abc/error", None),
            Some(Policy::Required)
        );
        assert_eq!(p.configured("PUT", "/transfers//error", None), None);
        assert_eq!(p.configured("PUT", "/transfers/abc/def/error", None), None);
        assert_eq!(
            p.configured("POST", "/x", Some("partner-api")),
            Some(Policy::Required)
        );
        assert_eq!(p.configured("POST", "/x", Some("other")), None);
    }

    #[test]
    fn bad_rules_name_the_field() {
        let e = RoutePolicy::from_raw(&[raw(r#"{"policy":"skip"}"#)]).unwrap_err();
        assert!(e.starts_with("route_policy[0]"), "{e}");
        let e =
            RoutePolicy::from_raw(&[raw(r#"{"path_glob":"/a*","policy":"skip"}"#)]).unwrap_err();
        assert!(e.contains("whole segment"), "{e}");
        let e = RoutePolicy::from_raw(&[raw(
            r#"{"methods":["get"],"path_prefix":"/","policy":"skip"}"#,
        )])
        .unwrap_err();
        assert!(e.contains("upper-case"), "{e}");
        assert!(
            serde_json::from_str::<RawRule>(r#"{"path_prefix":"/","policy":"maybe"}"#).is_err()
        );
    }

    #[test]
    fn many_double_stars_stay_bounded() {
        let rule = Rule::glob(&[], "/**/**/**/**/**/z", Policy::Skip).unwrap();
        let long = format!("/{}", vec!["a"; 20_000].join("/"));
        assert!(!rule.matches("GET", &long, None));
        assert!(rule.matches("GET", &format!("{long}/z"), None));
    }
}
