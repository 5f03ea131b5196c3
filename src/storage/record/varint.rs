//! Variable-length integers as Kafka's v2 records use them: zigzag-encoded signed varints
//! (`i32`) and varlongs (`i64`), and plain unsigned varints (`u32`). Reads are bounds-checked
//! and reject truncated or overlong encodings instead of panicking.

use bytes::BufMut;

use crate::storage::error::{Result, StorageError};

/// Longest encoding of a 32-bit varint in bytes.
pub const MAX_VARINT_LEN: usize = 5;
/// Longest encoding of a 64-bit varlong in bytes.
pub const MAX_VARLONG_LEN: usize = 10;

fn truncated(what: &str) -> StorageError {
    StorageError::InvalidBatch(format!("truncated {what}"))
}

fn overlong(what: &str) -> StorageError {
    StorageError::InvalidBatch(format!("overlong {what}"))
}

/// Reads an unsigned LEB128 value of at most `max_len` bytes whose final byte may carry
/// at most `last_bits` significant bits, advancing `buf` past it.
fn get_raw(buf: &mut &[u8], max_len: usize, last_bits: u32, what: &str) -> Result<u64> {
    let mut value: u64 = 0;
    for i in 0..max_len {
        let Some((&b, rest)) = buf.split_first() else {
            return Err(truncated(what));
        };
        *buf = rest;
        let shift = 7 * i as u32;
        if i + 1 == max_len {
            if b & 0x80 != 0 || u32::from(b) >> last_bits != 0 {
                return Err(overlong(what));
            }
            return Ok(value | (u64::from(b) << shift));
        }
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(overlong(what))
}

fn put_raw<B: BufMut>(out: &mut B, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

fn raw_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads an unsigned varint (up to 5 bytes) and advances `buf` past it.
pub fn get_unsigned_varint(buf: &mut &[u8]) -> Result<u32> {
    // 4 * 7 = 28 bits in the first four bytes, 4 more in the fifth.
    get_raw(buf, MAX_VARINT_LEN, 4, "unsigned varint").map(|v| v as u32)
}

/// Reads a zigzag-encoded signed varint (up to 5 bytes) and advances `buf` past it.
pub fn get_varint(buf: &mut &[u8]) -> Result<i32> {
    let z = get_raw(buf, MAX_VARINT_LEN, 4, "varint")? as u32;
    Ok(((z >> 1) as i32) ^ -((z & 1) as i32))
}

/// Reads a zigzag-encoded signed varlong (up to 10 bytes) and advances `buf` past it.
pub fn get_varlong(buf: &mut &[u8]) -> Result<i64> {
    // 9 * 7 = 63 bits in the first nine bytes, 1 more in the tenth.
    let z = get_raw(buf, MAX_VARLONG_LEN, 1, "varlong")?;
    Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
}

/// Writes an unsigned varint.
pub fn put_unsigned_varint<B: BufMut>(out: &mut B, v: u32) {
    put_raw(out, u64::from(v));
}

/// Writes a zigzag-encoded signed varint.
pub fn put_varint<B: BufMut>(out: &mut B, v: i32) {
    put_raw(out, u64::from(zigzag32(v)));
}

/// Writes a zigzag-encoded signed varlong.
pub fn put_varlong<B: BufMut>(out: &mut B, v: i64) {
    put_raw(out, zigzag64(v));
}

/// Encoded size in bytes of an unsigned varint.
pub fn unsigned_varint_len(v: u32) -> usize {
    raw_len(u64::from(v))
}

/// Encoded size in bytes of a signed varint.
pub fn varint_len(v: i32) -> usize {
    raw_len(u64::from(zigzag32(v)))
}

/// Encoded size in bytes of a signed varlong.
pub fn varlong_len(v: i64) -> usize {
    raw_len(zigzag64(v))
}

fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_varint(v: i32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    #[test]
    fn known_encodings_match_kafka() {
        assert_eq!(enc_varint(0), [0x00]);
        assert_eq!(enc_varint(-1), [0x01]);
        assert_eq!(enc_varint(1), [0x02]);
        assert_eq!(enc_varint(-64), [0x7f]);
        assert_eq!(enc_varint(64), [0x80, 0x01]);
        assert_eq!(enc_varint(i32::MAX), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(enc_varint(i32::MIN), [0xff, 0xff, 0xff, 0xff, 0x0f]);
        let mut out = Vec::new();
        put_varlong(&mut out, i64::MIN);
        assert_eq!(
            out,
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        let mut out = Vec::new();
        put_unsigned_varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn round_trips_extremes_and_lengths_agree() {
        for v in [0, 1, -1, 63, -64, 64, -65, 8191, i32::MAX, i32::MIN] {
            let out = enc_varint(v);
            assert_eq!(out.len(), varint_len(v));
            let mut s = &out[..];
            assert_eq!(get_varint(&mut s).unwrap(), v);
            assert!(s.is_empty());
        }
        for v in [0, -1, 1, i64::MAX, i64::MIN, 1 << 40, -(1 << 40)] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(out.len(), varlong_len(v));
            let mut s = &out[..];
            assert_eq!(get_varlong(&mut s).unwrap(), v);
            assert!(s.is_empty());
        }
        for v in [0, 127, 128, u32::MAX] {
            let mut out = Vec::new();
            put_unsigned_varint(&mut out, v);
            assert_eq!(out.len(), unsigned_varint_len(v));
            let mut s = &out[..];
            assert_eq!(get_unsigned_varint(&mut s).unwrap(), v);
        }
    }

    #[test]
    fn reads_advance_only_past_the_value() {
        let buf = [0x02, 0x04, 0xff];
        let mut s = &buf[..];
        assert_eq!(get_varint(&mut s).unwrap(), 1);
        assert_eq!(get_varint(&mut s).unwrap(), 2);
        assert_eq!(s, &[0xff]);
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(get_varint(&mut &[][..]).is_err());
        assert!(get_varint(&mut &[0x80][..]).is_err());
        assert!(get_varlong(&mut &[0xff, 0xff, 0xff][..]).is_err());
        assert!(get_unsigned_varint(&mut &[0x80, 0x80][..]).is_err());
    }

    #[test]
    fn overlong_input_is_an_error() {
        assert!(get_varint(&mut &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01][..]).is_err());
        assert!(get_varint(&mut &[0xff, 0xff, 0xff, 0xff, 0x1f][..]).is_err());
        assert!(get_varlong(&mut &[0xff; 10][..]).is_err());
        assert!(get_varlong(
            &mut &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..]
        )
        .is_err());
    }

    proptest::proptest! {
        #[test]
        fn varint_round_trips(v: i32) {
            let out = enc_varint(v);
            proptest::prop_assert_eq!(out.len(), varint_len(v));
            proptest::prop_assert_eq!(get_varint(&mut &out[..]).unwrap(), v);
        }

        #[test]
        fn varlong_round_trips(v: i64) {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            proptest::prop_assert_eq!(out.len(), varlong_len(v));
            proptest::prop_assert_eq!(get_varlong(&mut &out[..]).unwrap(), v);
        }

        #[test]
        fn unsigned_varint_round_trips(v: u32) {
            let mut out = Vec::new();
            put_unsigned_varint(&mut out, v);
            proptest::prop_assert_eq!(out.len(), unsigned_varint_len(v));
            proptest::prop_assert_eq!(get_unsigned_varint(&mut &out[..]).unwrap(), v);
        }

        #[test]
        fn any_prefix_of_an_encoding_is_truncated(v: i64) {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            for cut in 0..out.len() {
                proptest::prop_assert!(get_varlong(&mut &out[..cut]).is_err());
            }
        }

        #[test]
        fn garbage_reads_never_panic(data: Vec<u8>) {
            let mut s = &data[..];
            let _ = get_varint(&mut s);
            let mut s = &data[..];
            let _ = get_varlong(&mut s);
            let mut s = &data[..];
            let _ = get_unsigned_varint(&mut s);
        }
    }
}
