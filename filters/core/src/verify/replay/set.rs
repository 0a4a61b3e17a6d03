//! One set of the shared table: up to `ways` entries packed into one shared-data value, so that
//! a check-and-insert is a single compare-and-swap on a single key.
//!
//! Value layout: a version byte, then per entry a 16-byte tag (part of the salted key digest)
//! and its expiry (i64, milliseconds since the epoch, little endian). The value is never empty:
//! the Rust SDK reports a present key with an empty value as "no data", which would be
//! indistinguishable from a missing set.

use super::Seen;

/// Bytes of the salted digest kept per entry: a false "replay" between two distinct signing
/// inputs of one set would need a 128-bit collision.
pub const TAG_LEN: usize = 16;
pub type Tag = [u8; TAG_LEN];
const ENTRY_LEN: usize = TAG_LEN + 8;
const VERSION: u8 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub tag: Tag,
    pub expiry_ms: i64,
}

/// The value of an empty set.
pub fn empty() -> Vec<u8> {
    vec![VERSION]
}

/// Parses a set's value; anything else than this layout with at most `ways` entries is an error
/// (the caller fails closed rather than overwrite what it cannot read).
pub fn decode(value: &[u8], ways: usize) -> Result<Vec<Entry>, String> {
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
            Ok(Entry {
                tag: tag.try_into().map_err(|_| "tag length")?,
                expiry_ms: i64::from_le_bytes(exp.try_into().map_err(|_| "expiry length")?),
            })
        })
        .collect::<Result<Vec<Entry>, &str>>()
        .map_err(str::to_string)
}

pub fn encode(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + entries.len() * ENTRY_LEN);
    out.push(VERSION);
    for e in entries {
        out.extend_from_slice(&e.tag);
        out.extend_from_slice(&e.expiry_ms.to_le_bytes());
    }
    out
}

/// What inserting `tag` into a set decided: the new entries to write back, or no write at all.
#[derive(Debug, PartialEq, Eq)]
pub enum Insert {
    Store(Vec<Entry>),
    Refuse(Seen),
}

/// Drops the expired entries (an entry expiring at `t` still counts at `t`), refuses a tag that
/// is present and unexpired, refuses when all `ways` hold unexpired entries (never evicts one),
/// and otherwise appends the tag with `expiry_ms`.
pub fn insert(
    mut entries: Vec<Entry>,
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
    entries.push(Entry {
        tag: *tag,
        expiry_ms,
    });
    Insert::Store(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(b: u8, expiry_ms: i64) -> Entry {
        Entry {
            tag: [b; TAG_LEN],
            expiry_ms,
        }
    }

    #[test]
    fn round_trips_and_refuses_what_it_cannot_read() {
        let entries = vec![e(1, 5), e(2, -7)];
        assert_eq!(decode(&encode(&entries), 8), Ok(entries.clone()));
        assert_eq!(decode(&empty(), 8), Ok(vec![]));
        assert!(decode(&[], 8).is_err());
        assert!(decode(&[2], 8).is_err());
        assert!(decode(&encode(&entries)[..10], 8).is_err());
        assert!(
            decode(&encode(&entries), 1).is_err(),
            "more entries than ways"
        );
    }

    #[test]
    fn insert_drops_expired_refuses_present_and_full() {
        let t = [9; TAG_LEN];
        assert_eq!(
            insert(vec![e(1, 10), e(2, 99)], &t, 50, 150, 2),
            Insert::Store(vec![
                e(2, 99),
                Entry {
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
