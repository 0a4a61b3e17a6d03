//! The replay table the filter keeps in proxy-wasm shared data, shared by every worker's VM.
//!
//! Shared data is a map of keys to values with one atomic primitive: `set(key, value, cas)`
//! succeeds only if the key still carries the `cas` a previous `get` returned. That guard holds
//! only for a key that exists: on an absent key `set` inserts whatever `cas` says
//! (proxy-wasm-cpp-host `src/shared_data.cc`, Envoy 1.40), so two workers that both find a key
//! absent both "win". The table is built around that:
//!
//! - **Set-associative, one key per set.** `sets × ways` entries; a set's entries are packed
//!   into one value (`set.rs`), so check-and-insert is a single compare-and-swap on one key. A
//!   full set refuses ([`Seen::Full`]) instead of evicting: no unexpired entry is ever
//!   forgotten, so no traffic — however crafted — can make room for a replay.
//! - **Every key exists before traffic.** The salt and all sets are created at configure time
//!   ([`Layout::prepare`]), only where absent, and shared data keys are never removed. Envoy
//!   runs `on_configure` first in the main thread's configuration canary VM (same `vm_id`,
//!   proxy-wasm-cpp-host `WasmHandleBase::canary`), before any worker serves a request, so
//!   the only writes without compare-and-swap happen single-threaded, once per process. On the
//!   data path a missing set is an error (fail closed), never a cas-less insert.
//! - **Keyed placement.** A key's set and tag come from SHA-256(salt ‖ key) with a random
//!   per-process salt kept in shared data (so all workers agree). A partner cannot tell which
//!   set its messages land in, so it cannot aim its own traffic at a captured message's set to
//!   fill it (a full set costs availability — 503 — never a replay). Without the salt, the set
//!   of any signing input would be public and a handful of requests could keep that set full.
//! - **A resize forgets nothing.** A set's key names its geometry, so a configuration push that
//!   changes `replay_cache_entries` starts a new table. The geometries a process has used are
//!   listed in shared data; a check also looks (read only) into the sets of the last
//!   [`PREVIOUS`] other ones, so a message accepted before the push is still a replay after it.
//! - **Bounded retries.** A compare-and-swap lost to another worker is retried from a fresh
//!   read (which then sees the winner's entry: the copy is refused as a replay); after
//!   [`ATTEMPTS`] losses the request fails closed (`internal`).

use std::num::NonZeroU32;

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use super::set::{self, Insert, Tag, TAG_LEN};
use super::{ReplayStore, Seen};

/// The shared-data key of the salt (one per process and `vm_id`, whatever the geometry).
pub const SALT_KEY: &str = "signet.replay.salt";
const SALT_LEN: usize = 16;
/// Ways per set: 8 keeps a set's value small (193 bytes, whatever it holds: `set.rs`) while
/// making a random set unlikely to fill before the table as a whole is near capacity.
pub const WAYS: usize = 8;
/// Every set is created at configure time; this bounds that work (500 000 keys) and the memory.
pub const MAX_ENTRIES: usize = 4_000_000;
/// The shared-data key listing the geometries used in this process, newest first.
pub const GEOMETRIES_KEY: &str = "signet.replay.geometries";
/// Earlier geometries still consulted after a resize (one extra read each per check).
pub const PREVIOUS: usize = 3;
/// Compare-and-swap attempts per check; a loss needs another worker writing the same set
/// between our read and our write, so a few suffice.
pub const ATTEMPTS: usize = 8;

/// A compare-and-swap key-value store: proxy-wasm shared data in the filter, a map in tests.
pub trait CasKv {
    /// The value and its cas; `None` when the key is absent. A present key without a cas is
    /// an error (writing with no cas would be unconditional).
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, NonZeroU32)>, String>;
    /// Writes `value` only if `key` still carries `cas`.
    fn replace(&mut self, key: &str, value: &[u8], cas: NonZeroU32) -> Result<(), CasError>;
    /// Writes without compare-and-swap: configure time only, for a key found absent.
    fn create(&mut self, key: &str, value: &[u8]) -> Result<(), String>;
}

/// Why a compare-and-swap write did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CasError {
    /// Someone wrote the key since our read.
    Mismatch,
    /// The store failed.
    Store(String),
}

/// How many sets of how many ways.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub sets: u64,
    pub ways: usize,
}

impl Geometry {
    /// At least `entries` entries: `ceil(entries / WAYS)` sets of [`WAYS`] (one smaller set
    /// when `entries < WAYS`).
    pub fn for_entries(entries: usize) -> Result<Geometry, String> {
        if entries == 0 || entries > MAX_ENTRIES {
            return Err(format!(
                "replay_cache_entries: must be between 1 and {MAX_ENTRIES} (the shared table is created at configure time)"
            ));
        }
        let ways = entries.min(WAYS);
        let sets = u64::try_from(entries.div_ceil(ways)).map_err(|_| "too many sets")?;
        Ok(Geometry { sets, ways })
    }

    /// A set's key. The geometry is part of the name, so filters (or a reload) with another
    /// size use their own sets rather than misread these.
    pub fn set_key(&self, index: u64) -> String {
        format!("signet.replay.{}x{}.{index}", self.sets, self.ways)
    }

    /// `SETSxWAYS`, as in the set keys and the geometry list.
    fn name(&self) -> String {
        format!("{}x{}", self.sets, self.ways)
    }

    fn parse(name: &str) -> Option<Geometry> {
        let (sets, ways) = name.split_once('x')?;
        Some(Geometry {
            sets: sets.parse().ok().filter(|s| *s > 0)?,
            ways: ways.parse().ok().filter(|w| (1..=WAYS).contains(w))?,
        })
    }
}

/// What the data path needs: the geometry and the shared salt (a secret: not `Debug`).
#[derive(Clone, Copy)]
pub struct Layout {
    geometry: Geometry,
    salt: [u8; SALT_LEN],
    /// Earlier geometries of this process whose sets may still hold live entries.
    previous: [Option<Geometry>; PREVIOUS],
}

impl Layout {
    /// Configure time: creates the salt (from `fresh_salt`) and every set, each only where
    /// absent, then reads the salt back, so every VM of the process uses the first one written.
    /// Sets already there (an earlier VM of this process) must be readable.
    pub fn prepare(
        kv: &mut dyn CasKv,
        entries: usize,
        fresh_salt: [u8; SALT_LEN],
    ) -> Result<Layout, String> {
        let geometry = Geometry::for_entries(entries)?;
        if kv.get(SALT_KEY)?.is_none() {
            kv.create(SALT_KEY, &fresh_salt)?;
        }
        let salt = match kv.get(SALT_KEY)? {
            Some((v, _)) => <[u8; SALT_LEN]>::try_from(v.as_slice())
                .map_err(|_| format!("{SALT_KEY}: {} bytes", v.len()))?,
            None => return Err(format!("{SALT_KEY}: absent after creation")),
        };
        for index in 0..geometry.sets {
            let key = geometry.set_key(index);
            match kv.get(&key)? {
                Some((value, _)) => {
                    set::decode(&value, geometry.ways).map_err(|e| format!("{key}: {e}"))?;
                }
                None => kv.create(&key, &set::empty(geometry.ways))?,
            }
        }
        // This geometry first, then the earlier ones (a resize keeps consulting them).
        let recorded = kv.get(GEOMETRIES_KEY)?.map(|(v, _)| v);
        let used: Vec<Geometry> = recorded
            .as_deref()
            .map(|v| {
                String::from_utf8_lossy(v)
                    .split(',')
                    .filter_map(Geometry::parse)
                    .collect()
            })
            .unwrap_or_default();
        let mut previous = [None; PREVIOUS];
        let earlier = used.into_iter().filter(|g| *g != geometry);
        for (slot, g) in previous.iter_mut().zip(earlier) {
            *slot = Some(g);
        }
        let list: Vec<String> = std::iter::once(geometry)
            .chain(previous.iter().flatten().copied())
            .map(|g| g.name())
            .collect();
        let list = list.join(",");
        if recorded.as_deref() != Some(list.as_bytes()) {
            kv.create(GEOMETRIES_KEY, list.as_bytes())?;
        }
        Ok(Layout {
            geometry,
            salt,
            previous,
        })
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// The set index and tag of `key`: both from SHA-256(salt ‖ key). The salt has a fixed
    /// length, so the concatenation is unambiguous; its output is never shown to anyone.
    pub fn placement(&self, key: &str) -> (u64, Tag) {
        let (hash, tag) = self.digest(key);
        (hash % self.geometry.sets.max(1), tag)
    }

    /// The first 8 bytes of SHA-256(salt ‖ key) (for the set index) and the tag after them.
    fn digest(&self, key: &str) -> (u64, Tag) {
        let h = Sha256::new()
            .chain_update(self.salt)
            .chain_update(key.as_bytes())
            .finalize();
        let mut first = [0u8; 8];
        let mut tag = [0u8; TAG_LEN];
        for (dst, src) in first.iter_mut().chain(tag.iter_mut()).zip(h.iter()) {
            *dst = *src;
        }
        (u64::from_be_bytes(first), tag)
    }
}

/// A fresh random salt (WASI `random_get` under Envoy); `Err` rather than a guessable one.
pub fn random_salt() -> Result<[u8; SALT_LEN], String> {
    let mut salt = [0u8; SALT_LEN];
    OsRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| format!("no randomness for the replay salt: {e}"))?;
    Ok(salt)
}

/// The table over a store: cheap to build per request (the layout is `Copy`).
pub struct ReplayTable<K> {
    layout: Layout,
    kv: K,
}

impl<K: CasKv> ReplayTable<K> {
    pub fn new(layout: Layout, kv: K) -> ReplayTable<K> {
        ReplayTable { layout, kv }
    }

    /// The store, for tests that script a worker's turn.
    #[cfg(test)]
    pub(super) fn kv_mut(&mut self) -> &mut K {
        &mut self.kv
    }
}

impl<K: CasKv> ReplayStore for ReplayTable<K> {
    fn check_and_insert(&mut self, key: &str, now_ms: i64, ttl_ms: i64) -> Result<Seen, String> {
        let (hash, tag) = self.layout.digest(key);
        // Tables of earlier geometries (before a resize) are read, never written.
        for g in self.layout.previous.iter().flatten() {
            let name = g.set_key(hash % g.sets.max(1));
            if let Some((value, _)) = self.kv.get(&name)? {
                let entries = set::decode(&value, g.ways).map_err(|e| format!("{name}: {e}"))?;
                if entries
                    .iter()
                    .any(|e| e.tag == tag && e.expiry_ms >= now_ms)
                {
                    return Ok(Seen::Replay);
                }
            }
        }
        let index = hash % self.layout.geometry.sets.max(1);
        let ways = self.layout.geometry.ways;
        let name = self.layout.geometry.set_key(index);
        let expiry_ms = now_ms.saturating_add(ttl_ms);
        for _ in 0..ATTEMPTS {
            let Some((value, cas)) = self.kv.get(&name)? else {
                return Err(format!(
                    "{name} missing (sets are created at configure time; never written here without compare-and-swap)"
                ));
            };
            let entries = set::decode(&value, ways).map_err(|e| format!("{name}: {e}"))?;
            match set::insert(entries, &tag, now_ms, expiry_ms, ways) {
                Insert::Refuse(seen) => return Ok(seen),
                Insert::Store(next) => match self.kv.replace(&name, &set::encode(&next, ways), cas)
                {
                    Ok(()) => return Ok(Seen::First),
                    Err(CasError::Mismatch) => continue,
                    Err(CasError::Store(e)) => return Err(format!("{name}: {e}")),
                },
            }
        }
        Err(format!("{name}: still contended after {ATTEMPTS} attempts"))
    }
}
