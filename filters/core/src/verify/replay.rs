//! Replay protection store: "have I accepted this signing input inside the window?"
//!
//! The filter backs it with proxy-wasm shared data (shared by every worker); the CLI and tests
//! use [`MemoryReplay`]. Both are bounded: the oldest entry is evicted when full.

use std::collections::{HashMap, VecDeque};

/// A bounded set of recently accepted keys with expiry.
pub trait ReplayStore {
    /// Records `key` until `now_ms + ttl_ms`; `Ok(true)` when it was not already present and
    /// unexpired. `Err` when the store cannot answer (the caller fails closed).
    fn check_and_insert(&mut self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<bool, String>;
}

/// In-memory store: a map of expiries plus insertion order for eviction.
#[derive(Debug)]
pub struct MemoryReplay {
    capacity: usize,
    expiry: HashMap<String, i64>,
    order: VecDeque<String>,
}

impl MemoryReplay {
    pub fn new(capacity: usize) -> MemoryReplay {
        MemoryReplay {
            capacity: capacity.max(1),
            expiry: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.expiry.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expiry.is_empty()
    }
}

impl ReplayStore for MemoryReplay {
    fn check_and_insert(&mut self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<bool, String> {
        if let Some(exp) = self.expiry.get(key) {
            if *exp >= now_ms {
                return Ok(false);
            }
        }
        while self.expiry.len() >= self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.expiry.remove(&old);
                }
                None => break,
            }
        }
        if self
            .expiry
            .insert(key.to_string(), now_ms + ttl_ms)
            .is_none()
        {
            self.order.push_back(key.to_string());
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_keys_are_refused_until_they_expire() {
        let mut r = MemoryReplay::new(10);
        assert_eq!(r.check_and_insert("a", 0, 1000), Ok(true));
        assert_eq!(r.check_and_insert("a", 999, 1000), Ok(false));
        assert_eq!(r.check_and_insert("a", 1000, 1000), Ok(false));
        assert_eq!(r.check_and_insert("a", 1001, 1000), Ok(true));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn capacity_evicts_the_oldest() {
        let mut r = MemoryReplay::new(2);
        assert_eq!(r.check_and_insert("a", 0, 1000), Ok(true));
        assert_eq!(r.check_and_insert("b", 0, 1000), Ok(true));
        assert_eq!(r.check_and_insert("c", 0, 1000), Ok(true));
        assert_eq!(r.len(), 2);
        assert_eq!(r.check_and_insert("a", 1, 1000), Ok(true), "a was evicted");
        assert_eq!(r.check_and_insert("c", 1, 1000), Ok(false));
    }
}
