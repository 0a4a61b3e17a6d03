//! Replay protection: "have I accepted this signing input inside the window?"
//!
//! The promise (docs/data-path.md rule 7): once a signing input is accepted, every copy of it is
//! refused until its entry expires — whatever other traffic arrives meanwhile and whichever
//! worker receives the copy. Two consequences shape every store here:
//!
//! - **An unexpired entry is never evicted.** A store that evicts (oldest first, or by slot
//!   collision) lets an authenticated partner push a captured message out with traffic of its
//!   own and then replay it. When there is no room left the store answers [`Seen::Full`] and
//!   the request is refused (`replay_cache_full`, 503): fail closed, never forget
//!   (docs/data-path.md, promise 4).
//! - **Check-and-insert is atomic across workers.** The filter's store ([`ReplayTable`]) lives
//!   in proxy-wasm shared data, whose only atomic primitive is compare-and-swap on a key that
//!   already exists; see `table.rs` for how the table is laid out around that.
//!
//! The CLI and tests use [`MemoryReplay`] (one process, no workers), which keeps the same promise.

mod memory;
mod set;
mod table;
#[cfg(test)]
mod tests;

pub use memory::MemoryReplay;
pub use table::{random_salt, CasError, CasKv, Geometry, Layout, ReplayTable, SALT_KEY};

/// What a store says about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Not seen inside the window; now recorded.
    First,
    /// Already recorded and not yet expired: a replay.
    Replay,
    /// Not seen, but there is no room to record it without forgetting an unexpired entry.
    Full,
}

/// A bounded set of recently accepted keys with expiry.
pub trait ReplayStore {
    /// Records `key` until `now_ms + ttl_ms` unless it is present and unexpired ([`Seen::Replay`])
    /// or there is no free room ([`Seen::Full`]); an entry expiring at `t` still counts at `t`.
    /// `Err` when the store cannot answer (the caller fails closed).
    fn check_and_insert(&mut self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<Seen, String>;
}
