//! One set of the shared table: up to `ways` entries packed into one shared-data value, so that
//! a check-and-insert is a single compare-and-swap on a single key.
//!
//! Value layout: a version byte, then per entry a 16-byte tag (part of the salted key digest)
//! and its expiry (i64, milliseconds since the epoch, little endian). The value is never empty:
//! the Rust SDK reports a present key with an empty value as "no data", which would be
//! indistinguishable from a missing set.
//!
//! Every value is written at its full size, `ways` entries with the free ones padded: the host
//! then allocates a set's memory once, at configure time. A value that grew with use made
//! Envoy's memory creep for as long as untouched sets remained (days at low traffic) — bounded,
//! but indistinguishable from a leak (found by `make soak`: RSS +3.1 % from the 100 000th to the
//! 1 000 000th request, with 480 000 sets).

use super::Seen;

/// Bytes of the salted digest kept per entry: a false "replay" between two distinct signing
/// inputs of one set would need a 128-bit collision.
pub const TAG_LEN: usize = 16;
pub type Tag = [u8; TAG_LEN];
const ENTRY_LEN: usize = TAG_LEN + 8;
const VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayEntry {
    pub tag: Tag,
    pub expiry_ms: i64,
}

/// A free way: expired before any clock reading, so it is never a match nor kept by [`insert`].
const FREE: ReplayEntry = ReplayEntry {
    tag: [0; TAG_LEN],
    expiry_ms: i64::MIN,
};

/// The value of an empty set of `ways` ways.
pub fn empty(ways: usize) -> Vec<u8> {
    encode(&[], ways)
}

/// Parses a set's value; anything else than this layout with at most `ways` entries is an error
/// (the caller fails closed rather than overwrite what it cannot read).
pub fn decode(value: &[u8], ways: usize) -> Result<Vec<ReplayEntry>, String> {
    let Some((&version, body)) = value.split_first() else {
        return Err("empty set value".into());
    };
    if version != VERSION {
        return Err(format!("set value version {version}, expected {VERSION}"));
    }
    if body.len() % ENTRY_LEN != 0 || body.len() / ENTRY_LEN > ways {
        return Err(format!("set value of {} bytes", value.len()));
    }
    body.chunks_exact(ENTRY_LEN)
        .map(|chunk| {
            let (tag, exp) = chunk.split_at(TAG_LEN);
            Ok(ReplayEntry {
                tag: tag.try_into().map_err(|_| "tag length")?,
                expiry_ms: i64::from_le_bytes(exp.try_into().map_err(|_| "expiry length")?),
            })
        })
        .filter(|e| !matches!(e, Ok(entry) if *entry == FREE))
        .collect::<Result<Vec<ReplayEntry>, &str>>()
        .map_err(str::to_string)
}

/// The entries, then free ways up to `ways`: the same size whatever the set holds.
pub fn encode(entries: &[ReplayEntry], ways: usize) -> Vec<u8> {
    let slots = ways.max(entries.len());
    let mut out = Vec::with_capacity(1 + slots * ENTRY_LEN);
    out.push(VERSION);
    for e in entries.iter().chain(std::iter::repeat(&FREE)).take(slots) {
        out.extend_from_slice(&e.tag);
        out.extend_from_slice(&e.expiry_ms.to_le_bytes());
    }
    out
}

/// What inserting `tag` into a set decided: the new entries to write back, or no write at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Insert {
    Store(Vec<ReplayEntry>),
    Refuse(Seen),
}

/// Drops the expired entries (an entry expiring at `t` still counts at `t`), refuses a tag that
/// is present and unexpired, refuses when all `ways` hold unexpired entries (never evicts one),
/// and otherwise appends the tag with `expiry_ms`.
pub fn insert(
    mut entries: Vec<ReplayEntry>,
    tag: &Tag,
    now_ms: i64,
    expiry_ms: i64,
    ways: usize,
) -> Insert {
    entries.retain(|e| e.expiry_ms >= now_ms);
    if entries.iter().any(|e| &e.tag == tag) {
        return Insert::Refuse(Seen::Replay);
    }
    if entries.len() >= ways {
        return Insert::Refuse(Seen::Full);
    }
    entries.push(ReplayEntry {
        tag: *tag,
        expiry_ms,
    });
    Insert::Store(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(b: u8, expiry_ms: i64) -> ReplayEntry {
        ReplayEntry {
            tag: [b; TAG_LEN],
            expiry_ms,
        }
    }

    #[test]
    fn round_trips_and_refuses_what_it_cannot_read() {
        let entries = vec![e(1, 5), e(2, -7)];
        assert_eq!(decode(&encode(&entries, 8), 8), Ok(entries.clone()));
        assert_eq!(decode(&empty(8), 8), Ok(vec![]));
        assert_eq!(decode(&[VERSION], 8), Ok(vec![]), "an unpadded empty set");
        assert!(decode(&[], 8).is_err());
        assert!(decode(&[2], 8).is_err());
        assert!(decode(&encode(&entries, 8)[..10], 8).is_err());
        assert!(
            decode(&encode(&entries, 8), 1).is_err(),
            "more entries than ways"
        );
    }

    #[test]
    fn a_set_value_keeps_its_size_whatever_it_holds() {
        // The host allocates the value once (regression: values grew with use, so Envoy's
        // memory crept until every set had been touched).
        let full = 1 + 8 * ENTRY_LEN;
        assert_eq!(empty(8).len(), full);
        let mut entries = Vec::new();
        for i in 0..8u8 {
            let Insert::Store(next) = insert(entries, &[i + 1; TAG_LEN], 100, 200, 8) else {
                panic!("refused");
            };
            assert_eq!(encode(&next, 8).len(), full);
            entries = decode(&encode(&next, 8), 8).unwrap_or_default();
            assert_eq!(entries.len(), usize::from(i) + 1);
        }
        assert_eq!(
            insert(entries, &[99; TAG_LEN], 150, 250, 8),
            Insert::Refuse(Seen::Full)
        );
        // A free way never matches, even the all-zero tag.
        assert_eq!(
            insert(
                decode(&empty(8), 8).unwrap_or_default(),
                &[0; TAG_LEN],
                1,
                2,
                8
            ),
            Insert::Store(vec![e(0, 2)])
        );
    }

    #[test]
    fn insert_drops_expired_refuses_present_and_full() {
        let t = [9; TAG_LEN];
        assert_eq!(
            insert(vec![e(1, 10), e(2, 99)], &t, 50, 150, 2),
            Insert::Store(vec![
                e(2, 99),
                ReplayEntry {
                    tag: t,
                    expiry_ms: 150
                }
            ])
        );
        assert_eq!(
            insert(vec![e(9, 50)], &t, 50, 150, 2),
            Insert::Refuse(Seen::Replay)
        );
        assert_eq!(
            insert(vec![e(1, 50), e(2, 60)], &t, 50, 150, 2),
            Insert::Refuse(Seen::Full)
        );
    }
}
