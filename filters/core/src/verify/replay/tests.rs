//! The shared table against a fake of proxy-wasm shared data with the host's exact semantics
//! (compare-and-swap on existing keys only), including forced interleavings of two workers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::rc::Rc;

use super::table::{CasError, CasKv, Geometry, Layout, ReplayTable, ATTEMPTS, SALT_KEY};
use super::{ReplayStore, Seen};

/// proxy-wasm-cpp-host's `SharedData` (src/shared_data.cc): `set` on an existing key checks a
/// non-zero cas; on a missing key it inserts, whatever the cas.
#[derive(Default)]
struct FakeSharedData {
    map: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
    cas_less_writes: usize,
}

impl FakeSharedData {
    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), CasError> {
        if let Some((_, current)) = self.map.get(key) {
            if cas != 0 && cas != *current {
                return Err(CasError::Mismatch);
            }
        }
        if cas == 0 {
            self.cas_less_writes += 1;
        }
        self.next_cas += 1;
        self.map
            .insert(key.to_string(), (value.to_vec(), self.next_cas));
        Ok(())
    }
}

type Shared = Rc<RefCell<FakeSharedData>>;

/// One worker's view of the shared host; `before_write` runs once, just before this worker's
/// first compare-and-swap (after its read): the other worker's turn in an interleaving.
struct Worker {
    host: Shared,
    before_write: Option<Box<dyn FnOnce()>>,
}

impl Worker {
    fn new(host: &Shared) -> Worker {
        Worker {
            host: Rc::clone(host),
            before_write: None,
        }
    }
}

impl CasKv for Worker {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, NonZeroU32)>, String> {
        match self.host.borrow().map.get(key) {
            None => Ok(None),
            Some((v, cas)) => Ok(Some((v.clone(), NonZeroU32::new(*cas).ok_or("cas 0")?))),
        }
    }

    fn replace(&mut self, key: &str, value: &[u8], cas: NonZeroU32) -> Result<(), CasError> {
        if let Some(turn) = self.before_write.take() {
            turn();
        }
        self.host.borrow_mut().set(key, value, cas.get())
    }

    fn create(&mut self, key: &str, value: &[u8]) -> Result<(), String> {
        self.host
            .borrow_mut()
            .set(key, value, 0)
            .map_err(|e| format!("{e:?}"))
    }
}

const TTL: i64 = 600_000;

fn prepared(entries: usize, salt: u8) -> (Shared, Layout) {
    let host = Shared::default();
    let layout = Layout::prepare(&mut Worker::new(&host), entries, [salt; 16]).unwrap();
    (host, layout)
}

fn table(host: &Shared, layout: Layout) -> ReplayTable<Worker> {
    ReplayTable::new(layout, Worker::new(host))
}

/// `n` keys of the attacker's own (fresh, validly signed messages) that land in `index`.
fn keys_in_set(layout: &Layout, index: u64, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("dfsp-a:attacker-{i}"))
        .filter(|k| layout.placement(k).0 == index)
        .take(n)
        .collect()
}

#[test]
fn geometry_covers_the_entries() {
    let g = |n| Geometry::for_entries(n).map(|g| (g.sets, g.ways));
    assert_eq!(g(8), Ok((1, 8)));
    assert_eq!(g(9), Ok((2, 8)));
    assert_eq!(g(3), Ok((1, 3)));
    assert_eq!(g(100_000), Ok((12_500, 8)));
    assert!(g(0).is_err());
    assert!(g(super::table::MAX_ENTRIES + 1).is_err());
}

/// The eviction attack on a one-set table (8 entries): the partner's own fresh messages fill
/// the set, yet the captured message stays refused; the overflow is refused, not stored.
#[test]
fn own_traffic_cannot_evict_a_captured_message_one_set() {
    let (host, layout) = prepared(8, 1);
    let mut t = table(&host, layout);
    assert_eq!(
        t.check_and_insert("dfsp-a:captured", 0, TTL),
        Ok(Seen::First)
    );
    for i in 0..7 {
        let k = format!("dfsp-a:own-{i}");
        assert_eq!(t.check_and_insert(&k, 1, TTL), Ok(Seen::First), "{k}");
    }
    for i in 7..40 {
        let k = format!("dfsp-a:own-{i}");
        assert_eq!(t.check_and_insert(&k, 2, TTL), Ok(Seen::Full), "{k}");
    }
    assert_eq!(
        t.check_and_insert("dfsp-a:captured", 3, TTL),
        Ok(Seen::Replay)
    );
    assert_eq!(
        host.borrow().cas_less_writes,
        3,
        "salt + the one set + the geometry list, at configure"
    );
}

/// The same attack on a larger table by someone who knows the salt (the test does): the
/// captured message's set fills with the attacker's keys, the captured one is still a replay,
/// and the other sets are unaffected.
#[test]
fn own_traffic_cannot_evict_a_captured_message_many_sets() {
    let (host, layout) = prepared(64, 2);
    let mut t = table(&host, layout);
    let captured = "dfsp-b:captured";
    assert_eq!(t.check_and_insert(captured, 0, TTL), Ok(Seen::First));
    let (index, _) = layout.placement(captured);
    let own = keys_in_set(&layout, index, 8);
    for k in own.get(..7).unwrap() {
        assert_eq!(t.check_and_insert(k, 1, TTL), Ok(Seen::First), "{k}");
    }
    assert_eq!(t.check_and_insert(&own[7], 2, TTL), Ok(Seen::Full));
    assert_eq!(t.check_and_insert(captured, 3, TTL), Ok(Seen::Replay));
    let elsewhere = keys_in_set(&layout, (index + 1) % layout.geometry().sets, 1);
    assert_eq!(t.check_and_insert(&elsewhere[0], 3, TTL), Ok(Seen::First));
}

#[test]
fn expiry_frees_ways() {
    let (host, layout) = prepared(8, 3);
    let mut t = table(&host, layout);
    assert_eq!(t.check_and_insert("k-0", 0, 1000), Ok(Seen::First));
    for i in 1..8 {
        assert_eq!(
            t.check_and_insert(&format!("k-{i}"), 500, 1000),
            Ok(Seen::First)
        );
    }
    // k-0 expires at 1000 and still counts at 1000.
    assert_eq!(t.check_and_insert("new", 1000, 1000), Ok(Seen::Full));
    assert_eq!(t.check_and_insert("k-0", 1000, 1000), Ok(Seen::Replay));
    assert_eq!(t.check_and_insert("new", 1001, 1000), Ok(Seen::First));
    assert_eq!(t.check_and_insert("k-1", 1001, 1000), Ok(Seen::Replay));
    // After the window the captured message is a new message again (freshness refuses it).
    assert_eq!(t.check_and_insert("k-0", 1600, 1000), Ok(Seen::First));
}

/// Two workers read the same set, then both try to record the same signing input: the
/// compare-and-swap lets exactly one through; the other re-reads and sees a replay.
#[test]
fn race_on_one_digest_accepts_exactly_once() {
    let (host, layout) = prepared(64, 4);
    let mut a = table(&host, layout);
    let b_result = Rc::new(RefCell::new(None));
    {
        let (host, out) = (Rc::clone(&host), Rc::clone(&b_result));
        a.kv_mut().before_write = Some(Box::new(move || {
            let mut b = table(&host, layout);
            *out.borrow_mut() = Some(b.check_and_insert("dfsp-a:msg", 10, TTL));
        }));
    }
    let a_result = a.check_and_insert("dfsp-a:msg", 10, TTL);
    let b_result = b_result.borrow_mut().take();
    assert_eq!(b_result, Some(Ok(Seen::First)), "b wrote first");
    assert_eq!(
        a_result,
        Ok(Seen::Replay),
        "a lost the swap, re-read, found b's entry"
    );
}

/// Two different digests in one set: the loser retries and both are recorded.
#[test]
fn race_on_two_digests_records_both() {
    let (host, layout) = prepared(8, 5);
    let mut a = table(&host, layout);
    {
        let host = Rc::clone(&host);
        a.kv_mut().before_write = Some(Box::new(move || {
            let mut b = table(&host, layout);
            assert_eq!(b.check_and_insert("y", 10, TTL), Ok(Seen::First));
        }));
    }
    assert_eq!(a.check_and_insert("x", 10, TTL), Ok(Seen::First));
    let mut c = table(&host, layout);
    assert_eq!(c.check_and_insert("x", 11, TTL), Ok(Seen::Replay));
    assert_eq!(c.check_and_insert("y", 11, TTL), Ok(Seen::Replay));
}

/// Why sets must exist before traffic: the host has no compare-and-swap on a missing key, so
/// "read absent, then write with the read's cas" lets both racing workers win.
#[test]
fn the_host_has_no_cas_on_a_missing_key() {
    let mut host = FakeSharedData::default();
    assert_eq!(
        host.set("k", b"a", 12345),
        Ok(()),
        "absent: inserted whatever the cas"
    );
    host.map.remove("k");
    assert_eq!(host.set("k", b"a", 0), Ok(()));
    assert_eq!(
        host.set("k", b"b", 12345),
        Err(CasError::Mismatch),
        "present: guarded"
    );
}

/// A set missing on the data path (never created, or another process's layout) is an error:
/// nothing is written without compare-and-swap, so two racing workers cannot both pass.
#[test]
fn a_missing_set_fails_closed_without_writing() {
    let (_, layout) = prepared(64, 6);
    let empty = Shared::default();
    let mut a = table(&empty, layout);
    let b_result = Rc::new(RefCell::new(None));
    let a_result = a.check_and_insert("dfsp-a:msg", 10, TTL);
    {
        let mut b = table(&empty, layout);
        *b_result.borrow_mut() = Some(b.check_and_insert("dfsp-a:msg", 10, TTL));
    }
    assert!(a_result.unwrap_err().contains("missing"));
    assert!(b_result.borrow().as_ref().unwrap().is_err());
    assert!(
        empty.borrow().map.is_empty(),
        "no key was created on the data path"
    );
    assert_eq!(empty.borrow().cas_less_writes, 0);
}

/// Configure runs again in every worker VM (and after a reload): it creates nothing that
/// exists, keeps the first salt, and leaves recorded entries alone.
#[test]
fn prepare_creates_only_what_is_absent() {
    let (host, first) = prepared(16, 7);
    let writes = host.borrow().cas_less_writes;
    assert_eq!(writes, 1 + 2 + 1, "salt + 2 sets + the geometry list");
    let mut t = table(&host, first);
    assert_eq!(t.check_and_insert("kept", 0, TTL), Ok(Seen::First));
    let again = Layout::prepare(&mut Worker::new(&host), 16, [99; 16]).unwrap();
    assert_eq!(host.borrow().cas_less_writes, writes);
    assert_eq!(
        again.placement("kept"),
        first.placement("kept"),
        "first salt kept"
    );
    assert_eq!(
        table(&host, again).check_and_insert("kept", 1, TTL),
        Ok(Seen::Replay)
    );
    // An unreadable set is a configuration error, not something to overwrite.
    let key = Geometry::for_entries(16).unwrap().set_key(0);
    host.borrow_mut().map.insert(key, (vec![7, 7], 1));
    assert!(Layout::prepare(&mut Worker::new(&host), 16, [1; 16]).is_err());
    host.borrow_mut().map.insert(SALT_KEY.into(), (vec![1], 2));
    assert!(Layout::prepare(&mut Worker::new(&host), 16, [1; 16]).is_err());
}

/// Placement depends on the secret salt: with another salt, keys land in other sets, so a
/// partner cannot compute which of its messages share a captured message's set.
#[test]
fn salt_makes_placement_unpredictable() {
    let (_, a) = prepared(100_000, 8);
    let (_, a2) = prepared(100_000, 8);
    let (_, b) = prepared(100_000, 9);
    let keys: Vec<String> = (0..200).map(|i| format!("dfsp-a:{i}")).collect();
    let same = keys
        .iter()
        .filter(|k| a.placement(k).0 == b.placement(k).0)
        .count();
    assert!(
        same <= 2,
        "{same} of 200 keys in the same set under another salt"
    );
    assert!(keys.iter().all(|k| a.placement(k) == a2.placement(k)));
    assert!(keys.iter().all(|k| a.placement(k).1 != b.placement(k).1));
}

#[test]
fn contention_is_bounded_and_fails_closed() {
    struct AlwaysLoses(Worker, usize);
    impl CasKv for AlwaysLoses {
        fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, NonZeroU32)>, String> {
            self.0.get(key)
        }
        fn replace(&mut self, _: &str, _: &[u8], _: NonZeroU32) -> Result<(), CasError> {
            self.1 += 1;
            Err(CasError::Mismatch)
        }
        fn create(&mut self, key: &str, value: &[u8]) -> Result<(), String> {
            self.0.create(key, value)
        }
    }
    let (host, layout) = prepared(8, 10);
    let mut t = ReplayTable::new(layout, AlwaysLoses(Worker::new(&host), 0));
    assert!(t
        .check_and_insert("k", 0, TTL)
        .unwrap_err()
        .contains("contended"));
    assert_eq!(t.kv_mut().1, ATTEMPTS);
}

#[test]
fn a_resize_still_refuses_what_the_old_table_accepted() {
    // A configuration push changes replay_cache_entries: the new table is empty, but the
    // message accepted under the old geometry is still a replay inside its window.
    let host = Shared::default();
    let small = Layout::prepare(&mut Worker::new(&host), 8, [5; 16]).unwrap();
    assert_eq!(
        table(&host, small).check_and_insert("captured", 0, TTL),
        Ok(Seen::First)
    );
    let large = Layout::prepare(&mut Worker::new(&host), 64, [6; 16]).unwrap();
    let mut t = table(&host, large);
    assert_eq!(t.check_and_insert("captured", 1, TTL), Ok(Seen::Replay));
    assert_eq!(t.check_and_insert("fresh", 1, TTL), Ok(Seen::First));
    // Once the old entry has expired it no longer counts.
    assert_eq!(
        t.check_and_insert("captured", TTL + 1, TTL),
        Ok(Seen::First)
    );
    // And back to the first size: both earlier tables are consulted.
    let again = Layout::prepare(&mut Worker::new(&host), 8, [7; 16]).unwrap();
    assert_eq!(
        table(&host, again).check_and_insert("fresh", 2, TTL),
        Ok(Seen::Replay)
    );
}
