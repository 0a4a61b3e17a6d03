//! A tiny protobuf wire-format reader and writer: enough for the host's small messages
//! (Envoy's native-crypto foreign functions, `google.protobuf.Struct` metadata). Bounded, no
//! panics: malformed input ends the walk with an error, never an out-of-range index.

/// One field of a message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (little-endian 64 bits: `double`, `fixed64`).
    Fixed64(u64),
    /// Wire type 2 (strings, bytes, embedded messages, packed repeated).
    Bytes(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

/// The input is not a well-formed message (truncated, bad varint, group or unknown wire type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Appends a varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited field.
pub fn put_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, u64::from(field) << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Reads a varint at `*pos` (at most 10 bytes), advancing `pos`.
pub fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos = pos.checked_add(1)?;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// Iterates over `(field number, value)`; yields `Err(Malformed)` once and then stops.
pub struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

/// The fields of a message.
pub fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields {
        bytes,
        pos: 0,
        done: false,
    }
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Option<(u64, Field<'a>)> {
        let tag = get_varint(self.bytes, &mut self.pos)?;
        let number = tag >> 3;
        if number == 0 {
            return None;
        }
        let value = match tag & 7 {
            0 => Field::Varint(get_varint(self.bytes, &mut self.pos)?),
            1 => {
                let end = self.pos.checked_add(8)?;
                let raw: [u8; 8] = self.bytes.get(self.pos..end)?.try_into().ok()?;
                self.pos = end;
                Field::Fixed64(u64::from_le_bytes(raw))
            }
            2 => {
                let len = usize::try_from(get_varint(self.bytes, &mut self.pos)?).ok()?;
                let end = self.pos.checked_add(len)?;
                let slice = self.bytes.get(self.pos..end)?;
                self.pos = end;
                Field::Bytes(slice)
            }
            5 => {
                let end = self.pos.checked_add(4)?;
                let raw: [u8; 4] = self.bytes.get(self.pos..end)?.try_into().ok()?;
                self.pos = end;
                Field::Fixed32(u32::from_le_bytes(raw))
            }
            _ => return None,
        };
        Some((number, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Field<'a>), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.bytes.len() {
            return None;
        }
        match self.next_field() {
            Some(f) => Some(Ok(f)),
            None => {
                self.done = true;
                Some(Err(Malformed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut pos = 0;
            assert_eq!(get_varint(&out, &mut pos), Some(v));
            assert_eq!(pos, out.len());
        }
        // Eleven continuation bytes: not a varint.
        let mut pos = 0;
        assert_eq!(get_varint(&[0xff; 11], &mut pos), None);
        assert_eq!(get_varint(&[0x80], &mut 0), None);
    }

    #[test]
    fn length_delimited_fields() {
        let mut out = Vec::new();
        put_bytes(&mut out, 1, b"sha256");
        assert_eq!(out, b"\x0a\x06sha256");
        let mut long = Vec::new();
        put_bytes(&mut long, 4, &[0u8; 300]);
        assert_eq!(long.get(..3), Some(&[0x22, 0xac, 0x02][..]));
    }

    #[test]
    fn walks_every_wire_type() {
        let msg = b"\x08\x96\x01\x11\x01\x00\x00\x00\x00\x00\x00\x00\x1a\x02ab\x25\x02\x00\x00\x00";
        let got: Result<Vec<_>, _> = fields(msg).collect();
        assert_eq!(
            got,
            Ok(vec![
                (1, Field::Varint(150)),
                (2, Field::Fixed64(1)),
                (3, Field::Bytes(b"ab")),
                (4, Field::Fixed32(2)),
            ])
        );
    }

    #[test]
    fn garbage_ends_with_one_error() {
        for bad in [
            &b"\x12\x05ab"[..],                              // truncated bytes
            b"\x12\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", // huge length
            b"\xff",                                         // truncated tag
            b"\x0b",                                         // group start
            b"\x09\x01\x02",                                 // truncated fixed64
            b"\x00\x01",                                     // field number 0
        ] {
            let all: Vec<_> = fields(bad).collect();
            assert_eq!(all.last(), Some(&Err(Malformed)), "{bad:?}");
            assert_eq!(all.iter().filter(|r| r.is_err()).count(), 1);
        }
    }
}
