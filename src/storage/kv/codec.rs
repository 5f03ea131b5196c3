//! Byte-level helpers of the state store's files: a bounds-checked reader, CRC'd block
//! framing and block compression.

use crate::storage::{Compression, Result, StorageError};

/// Builds a corruption error with a message.
pub(crate) fn corrupt(msg: impl Into<String>) -> StorageError {
    StorageError::StateCorrupted(msg.into())
}

/// A cursor over bytes read from disk: every read checks its bounds.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `buf`; `what` names the structure in error messages.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    /// Whether every byte was consumed.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| corrupt(format!("{}: truncated at byte {}", self.what, self.pos)))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| corrupt(self.what))?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// A byte.
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    /// A little-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A u32-length-prefixed byte string.
    pub(crate) fn len_prefixed(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
}

/// Appends a u32-length-prefixed byte string.
pub(crate) fn put_len_prefixed(out: &mut Vec<u8>, b: &[u8]) -> Result<()> {
    out.extend_from_slice(&len_u32(b.len())?.to_le_bytes());
    out.extend_from_slice(b);
    Ok(())
}

/// A length as u32, or an error when it does not fit.
pub(crate) fn len_u32(n: usize) -> Result<u32> {
    u32::try_from(n)
        .ok()
        .filter(|&v| v != u32::MAX)
        .ok_or_else(|| {
            StorageError::InvalidStateRequest(format!("{n} bytes exceed the 4 GiB framing limit"))
        })
}

/// Bytes of a block trailer: codec id (1) and CRC32C (4).
pub(crate) const BLOCK_TRAILER_LEN: usize = 5;

/// Frames `payload` as a block: the payload compressed with `codec`, the codec id, and a
/// CRC32C over both.
pub(crate) fn encode_block(payload: &[u8], codec: Compression) -> Result<Vec<u8>> {
    let mut out = compress(payload, codec)?;
    out.push(codec.id() as u8);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Checks a block's CRC and returns its decompressed payload. `what` names the block in
/// error messages.
pub(crate) fn decode_block(block: &[u8], what: &str) -> Result<Vec<u8>> {
    if block.len() < BLOCK_TRAILER_LEN {
        return Err(corrupt(format!("{what}: block of {} bytes", block.len())));
    }
    let (body, crc_bytes) = block.split_at(block.len() - 4);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(crc_bytes);
    let stored = u32::from_le_bytes(crc);
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(corrupt(format!(
            "{what}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
        )));
    }
    let (data, codec) = body.split_at(body.len() - 1);
    let codec = codec
        .first()
        .and_then(|&c| Compression::from_id(i16::from(c)))
        .ok_or_else(|| corrupt(format!("{what}: unknown codec")))?;
    decompress(data, codec)
}

/// Largest block payload a decompression may produce (a guard against forged sizes).
const MAX_BLOCK_PAYLOAD: usize = 256 * 1024 * 1024;

/// Compresses a block payload with the record codec's compressors.
pub(crate) fn compress(data: &[u8], codec: Compression) -> Result<Vec<u8>> {
    crate::storage::record::compression::compress(codec, data)
}

/// Decompresses a block payload, bounded by [`MAX_BLOCK_PAYLOAD`].
pub(crate) fn decompress(data: &[u8], codec: Compression) -> Result<Vec<u8>> {
    crate::storage::record::compression::decompress(codec, data, MAX_BLOCK_PAYLOAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    #[test]
    fn blocks_round_trip_with_every_codec() {
        let payload: Vec<u8> = (0..5000u32).flat_map(|i| (i % 97).to_le_bytes()).collect();
        for codec in ALL {
            let block = encode_block(&payload, codec).unwrap();
            assert_eq!(decode_block(&block, "t").unwrap(), payload, "{codec:?}");
        }
    }

    #[test]
    fn a_flipped_bit_fails_the_crc() {
        for codec in ALL {
            let mut block = encode_block(b"some payload bytes", codec).unwrap();
            block[0] ^= 0x01;
            assert!(matches!(
                decode_block(&block, "t"),
                Err(StorageError::StateCorrupted(_))
            ));
        }
    }

    #[test]
    fn reader_rejects_reads_past_the_end() {
        let mut r = Reader::new(&[1, 0, 0, 0, 9], "t");
        assert_eq!(r.u32().unwrap(), 1);
        assert!(r.u32().is_err());
        let mut r = Reader::new(&[200, 0, 0, 0, 1], "t");
        assert!(r.len_prefixed().is_err());
    }
}
