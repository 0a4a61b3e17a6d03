//! A header map as the host serialises it, read in one call and split in place. proxy-wasm's
//! `get_map_bytes` copies every name and value into an allocation of its own (and panics on a
//! name that is not UTF-8); a filter that only looks at names — which `x-signet-*` to strip —
//! needs none of those copies, and one that keeps the pairs decodes them lossily itself.
//!
//! The format (proxy-wasm ABI 0.2): the pair count as a little-endian u32; for each pair the
//! name's and the value's lengths (u32 each); then each name and each value, each followed by
//! a NUL byte.

use proxy_wasm::types::{MapType, Status};

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
}

/// The host's serialisation of one header map (empty when the map is).
pub fn get_map_raw(map_type: MapType) -> Result<Vec<u8>, Status> {
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the out-pointers are valid for the call; on `Ok` the host has written a buffer of
    // `size` bytes that it allocated through the module's `proxy_on_memory_allocate` export
    // (proxy-wasm's: `Vec::with_capacity(size)`, leaked), so ownership passes to this Vec, as
    // in proxy-wasm's own `get_map_bytes`.
    match unsafe { proxy_get_header_map_pairs(map_type, &mut data, &mut size) } {
        Status::Ok if data.is_null() => Ok(Vec::new()),
        Status::Ok => Ok(unsafe { Vec::from_raw_parts(data, size, size) }),
        status => Err(status),
    }
}

/// (name, value) pairs borrowed from a serialised map.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// The pairs of a serialised map; `None` when it is malformed (the caller fails closed: a
/// header it cannot see might be one it must act on).
pub fn split(buf: &[u8]) -> Option<Pairs<'_>> {
    if buf.is_empty() {
        return Some(Vec::new());
    }
    let u32_at = |at: usize| -> Option<usize> {
        let b = buf.get(at..at.checked_add(4)?)?;
        usize::try_from(u32::from_le_bytes(b.try_into().ok()?)).ok()
    };
    let count = u32_at(0)?;
    // Each pair takes 8 bytes of lengths and 2 NULs at least: a count beyond that is a lie.
    if count > buf.len() / 10 {
        return None;
    }
    let mut at = count.checked_mul(8)?.checked_add(4)?;
    let mut take = |len: usize| -> Option<&[u8]> {
        let end = at.checked_add(len)?;
        let s = buf.get(at..end)?;
        (buf.get(end) == Some(&0)).then_some(())?;
        at = end + 1;
        Some(s)
    };
    let mut pairs = Vec::with_capacity(count);
    for i in 0..count {
        let lens = i.checked_mul(8)?.checked_add(4)?;
        let (name_len, value_len) = (u32_at(lens)?, u32_at(lens.checked_add(4)?)?);
        let name = take(name_len)?;
        let value = take(value_len)?;
        pairs.push((name, value));
    }
    Some(pairs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn serialise(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (n, v) in pairs {
            out.extend((n.len() as u32).to_le_bytes());
            out.extend((v.len() as u32).to_le_bytes());
        }
        for (n, v) in pairs {
            out.extend(*n);
            out.push(0);
            out.extend(*v);
            out.push(0);
        }
        out
    }

    #[test]
    fn splits_what_the_host_serialises() {
        let pairs: Vec<(&[u8], &[u8])> = vec![
            (b":path", b"/x?q=\xff"),
            (b"x-signet-partner", b""),
            (b"x-a", b"1"),
            (b"x-a", b"2"),
        ];
        assert_eq!(split(&serialise(&pairs)).unwrap(), pairs);
        assert_eq!(split(&[]).unwrap(), Vec::<(&[u8], &[u8])>::new());
        assert_eq!(split(&serialise(&[])).unwrap().len(), 0);
    }

    #[test]
    fn a_malformed_map_is_none_never_a_panic() {
        let good = serialise(&[(b"x-signet-a", b"v"), (b"b", b"w")]);
        // Every truncation, a missing NUL, lengths and counts beyond the buffer.
        for end in 1..good.len() {
            assert_eq!(split(&good[..end]), None, "truncated at {end}");
        }
        let mut no_nul = good.clone();
        let first_nul = 4 + 16 + b"x-signet-a".len();
        no_nul[first_nul] = b'!';
        assert_eq!(split(&no_nul), None);
        let mut long = good.clone();
        long[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(split(&long), None);
        let mut many = good;
        many[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(split(&many), None);
        for junk in [
            &b"\x01\x00\x00"[..],
            b"\x01\x00\x00\x00",
            b"\xff\xff\xff\xff\x00\x00",
        ] {
            assert_eq!(split(junk), None);
        }
    }
}
