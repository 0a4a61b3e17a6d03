//! The in-process store of the CLI and the tests: fully associative, so the only way to be
//! `Full` is `capacity` unexpired entries at once.

use std::collections::{BTreeSet, HashMap};

use super::{ReplayStore, Seen};

/// In-memory store: each key's expiry, plus the same pairs ordered by expiry so that expired
/// entries are dropped cheaply. An unexpired entry is never evicted.
#[derive(Debug)]
pub struct MemoryReplay {
    capacity: usize,
    expiry: HashMap<String, i64>,
    by_expiry: BTreeSet<(i64, String)>,
}

impl MemoryReplay {
    pub fn new(capacity: usize) -> MemoryReplay {
        MemoryReplay {
            capacity: capacity.max(1),
            expiry: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.expiry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expiry.is_empty()
    }

    /// Drops every entry that expired before `now_ms`.
    fn purge(&mut self, now_ms: i64) {
        while let Some((exp, key)) = self.by_expiry.first().cloned() {
            if exp >= now_ms {
                break;
            }
            self.by_expiry.remove(&(exp, key.clone()));
            self.expiry.remove(&key);
        }
    }
}

impl ReplayStore for MemoryReplay {
    fn check_and_insert(&mut self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<Seen, String> {
        self.purge(now_ms);
        if self.expiry.contains_key(key) {
            return Ok(Seen::Replay);
        }
        if self.expiry.len() >= self.capacity {
            return Ok(Seen::Full);
        }
        let exp = now_ms.saturating_add(ttl_ms);
        self.expiry.insert(key.to_string(), exp);
        self.by_expiry.insert((exp, key.to_string()));
        Ok(Seen::First)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keys_are_refused_until_they_expire() {
        let mut r = MemoryReplay::new(10);
        assert_eq!(r.check_and_insert("a", 0, 1000), Ok(Seen::First));
        assert_eq!(r.check_and_insert("a", 999, 1000), Ok(Seen::Replay));
        assert_eq!(r.check_and_insert("a", 1000, 1000), Ok(Seen::Replay));
        assert_eq!(r.check_and_insert("a", 1001, 1000), Ok(Seen::First));
        assert_eq!(r.len(), 1);
    }

    /// The eviction attack: the attacker's own fresh keys cannot push a captured key out.
    #[test]
    fn full_refuses_instead_of_evicting() {
        let mut r = MemoryReplay::new(2);
        assert_eq!(r.check_and_insert("captured", 0, 1000), Ok(Seen::First));
        assert_eq!(r.check_and_insert("b", 0, 1000), Ok(Seen::First));
        assert_eq!(r.check_and_insert("c", 0, 1000), Ok(Seen::Full));
        assert_eq!(r.len(), 2);
        assert_eq!(r.check_and_insert("captured", 1, 1000), Ok(Seen::Replay));
        assert_eq!(
            r.check_and_insert("c", 1, 1000),
            Ok(Seen::Full),
            "c was never recorded"
        );
    }

    #[test]
    fn expiry_frees_room() {
        let mut r = MemoryReplay::new(2);
        assert_eq!(r.check_and_insert("a", 0, 1000), Ok(Seen::First));
        assert_eq!(r.check_and_insert("b", 500, 1000), Ok(Seen::First));
        assert_eq!(r.check_and_insert("c", 1000, 1000), Ok(Seen::Full));
        // a expired at 1000; b lives until 1500.
        assert_eq!(r.check_and_insert("c", 1001, 1000), Ok(Seen::First));
        assert_eq!(r.check_and_insert("b", 1001, 1000), Ok(Seen::Replay));
        assert_eq!(r.len(), 2);
    }
}
