//! Keys of partners that are not configured statically, from a remote source the glue keeps
//! (the OCEN registry today): the pipeline asks, and waits for a fetch when nothing is cached.

use crate::registry::Partner;

/// The cache's answer for one participant now.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// A fresh (or, while the registry fails, stale within the bound) entry.
    Found(&'a Partner),
    /// The registry says there is no usable key (→ `key_unknown`).
    Negative(&'a str),
    /// Nothing usable is cached: a fetch is needed (or already under way); wait for it.
    FetchNeeded,
    /// The registry failed and nothing usable is cached (→ `keys_unavailable`).
    Unavailable(&'a str),
}

/// Where the pipeline gets keys of participants that are not configured statically.
pub trait KeySource {
    fn lookup(&self, participant: &str, now_ms: i64) -> Lookup<'_>;
}
