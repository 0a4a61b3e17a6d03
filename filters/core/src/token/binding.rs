//! Identity binding: every source that names the caller must name the same partner
//! (`profiles.md` §3.5.4, §4.5.5, §5.5). A token of partner A over partner B's mTLS connection,
//! or B's API key in A's path, is a stolen or borrowed credential: `peer_mismatch` (403).
//!
//! The partner registry resolves what each source carries (certificate names, token subjects /
//! client ids / platform claim, ids) to a registered partner; [`bind`] then requires agreement.

use std::collections::HashMap;

use super::apikey::Status;
use super::error::{Source, TokenError};

/// A registered partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    /// Partner id (what binding yields, what the upstream sees).
    pub id: String,
    /// Status; only `active` partners pass.
    pub status: Status,
    /// Names from its client certificate: SAN URI / DNS, or the subject DN as Envoy prints it.
    pub tls_names: Vec<String>,
    /// Token subjects / client ids / platform-claim values naming it (its id always does).
    pub token_subjects: Vec<String>,
    /// Policy applied when no API key names one.
    pub policy: Option<String>,
}

/// The partners, indexed by id, certificate name and token subject.
#[derive(Debug, Clone, Default)]
pub struct PartnerRegistry {
    partners: Vec<Partner>,
    by_id: HashMap<String, usize>,
    by_tls: HashMap<String, usize>,
    by_subject: HashMap<String, usize>,
}

impl PartnerRegistry {
    /// Builds the registry (uniqueness was checked by the configuration).
    pub fn new(partners: Vec<Partner>) -> PartnerRegistry {
        let mut r = PartnerRegistry::default();
        for (i, p) in partners.iter().enumerate() {
            r.by_id.insert(p.id.clone(), i);
            for n in &p.tls_names {
                r.by_tls.insert(n.clone(), i);
            }
            for s in &p.token_subjects {
                r.by_subject.insert(s.clone(), i);
            }
        }
        r.partners = partners;
        r
    }

    /// No partner configured: identities are taken as partner ids as they are (e.g. OCEN
    /// participant ids when the registry is remote).
    pub fn is_open(&self) -> bool {
        self.partners.is_empty()
    }

    /// Every registered partner, in configured order.
    pub fn iter(&self) -> impl Iterator<Item = &Partner> {
        self.partners.iter()
    }

    /// A partner by id.
    pub fn get(&self, id: &str) -> Option<&Partner> {
        self.by_id.get(id).and_then(|&i| self.partners.get(i))
    }

    /// The partner a token names: by token subject / client id, else by id.
    pub fn by_token_name(&self, name: &str) -> Option<&Partner> {
        self.by_subject
            .get(name)
            .and_then(|&i| self.partners.get(i))
            .or_else(|| self.get(name))
    }

    /// The partner the certificate names. `Ok(None)` when no name is registered (or no
    /// certificate); two names naming two partners is a `peer_mismatch`.
    pub fn by_certificate(&self, names: &[String]) -> Result<Option<&Partner>, TokenError> {
        let mut found: Option<usize> = None;
        for n in names {
            if let Some(&i) = self.by_tls.get(n) {
                match found {
                    Some(j) if j != i => {
                        return Err(TokenError::PeerMismatch(
                            Source::Certificate,
                            Source::Certificate,
                        ))
                    }
                    _ => found = Some(i),
                }
            }
        }
        Ok(found.and_then(|i| self.partners.get(i)))
    }

    /// Resolves a name from `source` to a partner id: in an open registry the name itself; in
    /// a closed one the registered partner (`key_unknown` if none).
    pub fn resolve(&self, source: Source, name: &str) -> Result<String, TokenError> {
        if self.is_open() {
            return Ok(name.to_string());
        }
        let p = match source {
            Source::Token => self.by_token_name(name),
            _ => self.get(name),
        };
        p.map(|p| p.id.clone()).ok_or(TokenError::KeyUnknown)
    }
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

    fn registry() -> PartnerRegistry {
        PartnerRegistry::new(vec![
            Partner {
                id: "p1".into(),
                status: Status::Active,
                tls_names: vec!["spiffe://p1".into(), "p1.example".into()],
                token_subjects: vec!["p1-client".into()],
                policy: None,
            },
            Partner {
                id: "p2".into(),
                status: Status::Active,
                tls_names: vec!["p2.example".into()],
                token_subjects: vec![],
                policy: None,
            },
        ])
    }

    #[test]
    fn registry_resolution() {
        let r = registry();
        assert!(!r.is_open());
        assert_eq!(r.resolve(Source::Token, "p1-client"), Ok("p1".into()));
        assert_eq!(r.resolve(Source::Token, "p2"), Ok("p2".into()));
        assert_eq!(
            r.resolve(Source::Path, "p1-client"),
            Err(TokenError::KeyUnknown)
        );
        assert_eq!(
            r.resolve(Source::PlatformHeader, "p9"),
            Err(TokenError::KeyUnknown)
        );
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            r.by_certificate(&names(&["CN=x", "p1.example"]))
                .unwrap()
                .map(|p| p.id.as_str()),
            Some("p1")
        );
        assert_eq!(r.by_certificate(&names(&["CN=x"])).unwrap(), None);
        assert_eq!(
            r.by_certificate(&names(&["p1.example", "p2.example"])),
            Err(TokenError::PeerMismatch(
                Source::Certificate,
                Source::Certificate
            ))
        );
        let open = PartnerRegistry::new(vec![]);
        assert!(open.is_open());
        assert_eq!(
            open.resolve(Source::Token, "anything"),
            Ok("anything".into())
        );
    }
}
