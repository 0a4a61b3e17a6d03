//! Identity binding: every source that names the caller must name the same partner
//! (docs/profiles.md#mojaloop, #ocen, #mosip). A token of partner A over partner B's mTLS
//! connection, or B's API key in A's path, is a stolen or borrowed credential: `peer_mismatch`
//! (403).
//!
//! The partner registry resolves what each source carries (certificate names, token subjects /
//! client ids / platform claim, ids) to a registered partner; [`bind`] then requires agreement.

use super::error::{Source, TokenError};
use crate::registry::{Partner, Registry};

/// The partner the certificate names. `Ok(None)` when no name is registered (or no
/// certificate); two names naming two partners is a `peer_mismatch`.
pub fn by_certificate<'r>(
    reg: &'r Registry,
    names: &[String],
) -> Result<Option<&'r Partner>, TokenError> {
    let mut found: Option<&Partner> = None;
    for n in names {
        if let Some(p) = reg.by_tls_name(n) {
            match found {
                Some(q) if q.id != p.id => {
                    return Err(TokenError::PeerMismatch(
                        Source::Certificate,
                        Source::Certificate,
                    ))
                }
                _ => found = Some(p),
            }
        }
    }
    Ok(found)
}

/// Resolves a name from `source` to a partner id: with no partner registered, the name itself
/// (e.g. OCEN participant ids when the registry is remote); otherwise the registered partner
/// (`key_unknown` if none).
pub fn resolve(reg: &Registry, source: Source, name: &str) -> Result<String, TokenError> {
    if reg.is_empty() {
        return Ok(name.to_string());
    }
    let p = match source {
        Source::Token => reg.by_token_name(name),
        _ => reg.partner(name),
    };
    p.map(|p| p.id.clone()).ok_or(TokenError::KeyUnknown)
}

/// The partner named by every present source, or `None` when no source is present. The first
/// pair that disagrees gives `peer_mismatch` naming both sources.
pub fn bind(named: &[(Source, String)]) -> Result<Option<String>, TokenError> {
    let Some((first_source, first)) = named.first() else {
        return Ok(None);
    };
    for (source, partner) in named.iter().skip(1) {
        if partner != first {
            return Err(TokenError::PeerMismatch(*first_source, *source));
        }
    }
    Ok(Some(first.clone()))
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

    const ALL: [Source; 5] = [
        Source::Certificate,
        Source::Token,
        Source::ApiKey,
        Source::PlatformHeader,
        Source::Path,
    ];

    #[test]
    fn agreeing_sources_bind() {
        assert_eq!(bind(&[]), Ok(None));
        let all: Vec<_> = ALL.iter().map(|s| (*s, "p1".to_string())).collect();
        assert_eq!(bind(&all), Ok(Some("p1".into())));
        for s in ALL {
            assert_eq!(bind(&[(s, "p1".into())]), Ok(Some("p1".into())));
        }
    }

    #[test]
    fn every_mismatching_pair_is_peer_mismatch() {
        for a in ALL {
            for b in ALL {
                if a == b {
                    continue;
                }
                let r = bind(&[(a, "p1".into()), (b, "p2".into())]);
                assert_eq!(r, Err(TokenError::PeerMismatch(a, b)), "{a:?} {b:?}");
                assert_eq!(r.unwrap_err().reason_code(), "peer_mismatch");
                // Also when the odd one out comes last among agreeing others.
                let mut named: Vec<_> = ALL
                    .iter()
                    .filter(|s| **s != b)
                    .map(|s| (*s, "p1".to_string()))
                    .collect();
                named.push((b, "p2".into()));
                assert!(matches!(bind(&named), Err(TokenError::PeerMismatch(_, x)) if x == b));
            }
        }
        // Ids differ only in case: different partners.
        assert!(bind(&[(Source::Token, "P1".into()), (Source::Path, "p1".into())]).is_err());
    }

    fn registry() -> Registry {
        Registry::from_json(
            br#"{"partners": [
                {"id": "p1", "tls_names": ["spiffe://p1", "p1.example"], "token_subjects": ["p1-client"]},
                {"id": "p2", "tls_names": ["p2.example"]}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn registry_resolution() {
        let r = registry();
        assert_eq!(resolve(&r, Source::Token, "p1-client"), Ok("p1".into()));
        assert_eq!(resolve(&r, Source::Token, "p2"), Ok("p2".into()));
        assert_eq!(
            resolve(&r, Source::Path, "p1-client"),
            Err(TokenError::KeyUnknown)
        );
        assert_eq!(
            resolve(&r, Source::PlatformHeader, "p9"),
            Err(TokenError::KeyUnknown)
        );
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            by_certificate(&r, &names(&["CN=x", "p1.example"]))
                .unwrap()
                .map(|p| p.id.as_str()),
            Some("p1")
        );
        assert!(by_certificate(&r, &names(&["CN=x"])).unwrap().is_none());
        assert_eq!(
            by_certificate(&r, &names(&["p1.example", "p2.example"])).map(|p| p.is_some()),
            Err(TokenError::PeerMismatch(
                Source::Certificate,
                Source::Certificate
            ))
        );
        let open = Registry::default();
        assert_eq!(
            resolve(&open, Source::Token, "anything"),
            Ok("anything".into())
        );
    }
}
