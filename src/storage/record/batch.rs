//! The Kafka v2 record batch header: parsing, validation and the in-place edits
//! the broker makes (base offset, partition leader epoch) that the CRC doesn't cover.

use crate::storage::error::{Result, StorageError};

/// Byte size of the fixed v2 batch header (base offset through record count).
pub const BATCH_HEADER_LEN: usize = 61;
/// Bytes before the batch-length field's end: base offset (8) + length (4).
pub const LOG_OVERHEAD: usize = 12;
/// The only record batch magic Skiff stores.
pub const MAGIC_V2: i8 = 2;

const OFF_BASE_OFFSET: usize = 0;
const OFF_LENGTH: usize = 8;
const OFF_LEADER_EPOCH: usize = 12;
const OFF_MAGIC: usize = 16;
const OFF_CRC: usize = 17;
const OFF_ATTRIBUTES: usize = 21;
const OFF_LAST_OFFSET_DELTA: usize = 23;
const OFF_BASE_TIMESTAMP: usize = 27;
const OFF_MAX_TIMESTAMP: usize = 35;
const OFF_PRODUCER_ID: usize = 43;
const OFF_PRODUCER_EPOCH: usize = 51;
const OFF_BASE_SEQUENCE: usize = 53;
const OFF_RECORD_COUNT: usize = 57;

/// Attribute bits: compression codec mask.
pub const ATTR_COMPRESSION_MASK: i16 = 0x07;
/// Attribute bit: timestamps are log-append time.
pub const ATTR_LOG_APPEND_TIME: i16 = 0x08;
/// Attribute bit: the batch belongs to a transaction.
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
/// Attribute bit: the batch is a control batch (commit/abort marker).
pub const ATTR_CONTROL: i16 = 0x20;
/// Attribute bit: the batch carries a delete horizon (compaction).
pub const ATTR_DELETE_HORIZON: i16 = 0x40;

/// The `N` bytes at `at`, or an error if `b` ends before them.
fn field<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    b.get(at..)
        .and_then(|rest| rest.first_chunk::<N>())
        .copied()
        .ok_or_else(|| too_short(b.len()))
}
/// Overwrites the `N` bytes at `at`, or fails if `b` ends before them.
fn put_field<const N: usize>(b: &mut [u8], at: usize, value: [u8; N]) -> Result<()> {
    let len = b.len();
    let dst = b
        .get_mut(at..)
        .and_then(|rest| rest.first_chunk_mut::<N>())
        .ok_or_else(|| too_short(len))?;
    *dst = value;
    Ok(())
}
fn too_short(len: usize) -> StorageError {
    StorageError::InvalidBatch(format!("{len} bytes is shorter than a batch header"))
}
fn be_i64(b: &[u8], at: usize) -> Result<i64> {
    field(b, at).map(i64::from_be_bytes)
}
fn be_i32(b: &[u8], at: usize) -> Result<i32> {
    field(b, at).map(i32::from_be_bytes)
}
fn be_i16(b: &[u8], at: usize) -> Result<i16> {
    field(b, at).map(i16::from_be_bytes)
}
/// The bytes the CRC covers: attributes to the end of the batch.
fn crc_covered(buf: &[u8]) -> Result<&[u8]> {
    if buf.len() < BATCH_HEADER_LEN {
        return Err(too_short(buf.len()));
    }
    buf.get(OFF_ATTRIBUTES..)
        .ok_or_else(|| too_short(buf.len()))
}

/// The decoded fixed header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes following the length field (the whole batch is `batch_length + 12`).
    pub batch_length: i32,
    /// Leader epoch stamped by the broker on append.
    pub partition_leader_epoch: i32,
    /// Record format magic (always 2 here).
    pub magic: i8,
    /// CRC32C over attributes..end.
    pub crc: u32,
    /// Attribute bits (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

impl BatchHeader {
    /// Reads the header at the start of `buf` without checking the CRC. `buf` must hold at
    /// least [`BATCH_HEADER_LEN`] bytes; the magic must be 2 and the length sane.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader> {
        if buf.len() < BATCH_HEADER_LEN {
            return Err(too_short(buf.len()));
        }
        let [magic] = field::<1>(buf, OFF_MAGIC)?;
        let magic = magic as i8;
        if magic != MAGIC_V2 {
            return Err(StorageError::InvalidBatch(format!(
                "unsupported magic {magic}"
            )));
        }
        let batch_length = be_i32(buf, OFF_LENGTH)?;
        if (batch_length as i64) < (BATCH_HEADER_LEN - LOG_OVERHEAD) as i64 {
            return Err(StorageError::InvalidBatch(format!(
                "batch length {batch_length} below the header size"
            )));
        }
        let h = BatchHeader {
            base_offset: be_i64(buf, OFF_BASE_OFFSET)?,
            batch_length,
            partition_leader_epoch: be_i32(buf, OFF_LEADER_EPOCH)?,
            magic,
            crc: be_i32(buf, OFF_CRC)? as u32,
            attributes: be_i16(buf, OFF_ATTRIBUTES)?,
            last_offset_delta: be_i32(buf, OFF_LAST_OFFSET_DELTA)?,
            base_timestamp: be_i64(buf, OFF_BASE_TIMESTAMP)?,
            max_timestamp: be_i64(buf, OFF_MAX_TIMESTAMP)?,
            producer_id: be_i64(buf, OFF_PRODUCER_ID)?,
            producer_epoch: be_i16(buf, OFF_PRODUCER_EPOCH)?,
            base_sequence: be_i32(buf, OFF_BASE_SEQUENCE)?,
            record_count: be_i32(buf, OFF_RECORD_COUNT)?,
        };
        if h.last_offset_delta < 0 || h.record_count < 0 {
            return Err(StorageError::InvalidBatch(format!(
                "negative last offset delta {} or record count {}",
                h.last_offset_delta, h.record_count
            )));
        }
        Ok(h)
    }

    /// Parses the header and checks that `buf` is exactly one whole batch with a valid CRC.
    pub fn parse_and_validate(buf: &[u8]) -> Result<BatchHeader> {
        let h = Self::parse(buf)?;
        if h.total_len() != buf.len() {
            return Err(StorageError::InvalidBatch(format!(
                "batch length field says {} bytes, buffer holds {}",
                h.total_len(),
                buf.len()
            )));
        }
        let computed = crc32c::crc32c(crc_covered(buf)?);
        if computed != h.crc {
            return Err(StorageError::ChecksumMismatch {
                stored: h.crc,
                computed,
            });
        }
        Ok(h)
    }

    /// Size of the whole batch in bytes, including base offset and length fields.
    pub fn total_len(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record of the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// The offset following the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// The compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression_id(&self) -> i16 {
        self.attributes & ATTR_COMPRESSION_MASK
    }

    /// Whether timestamps are log-append time.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_LOG_APPEND_TIME != 0
    }

    /// Whether the batch is part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Whether the batch is a control batch.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
}

/// Overwrites the base offset of the batch at the start of `buf` (outside the CRC).
pub fn set_base_offset(buf: &mut [u8], base_offset: i64) -> Result<()> {
    put_field(buf, OFF_BASE_OFFSET, base_offset.to_be_bytes())
}

/// Overwrites the partition leader epoch of the batch at the start of `buf` (outside the CRC).
pub fn set_partition_leader_epoch(buf: &mut [u8], epoch: i32) -> Result<()> {
    put_field(buf, OFF_LEADER_EPOCH, epoch.to_be_bytes())
}

/// Stamps log-append time: sets the timestamp-type bit and max timestamp, then recomputes
/// the CRC (both fields are covered by it).
pub fn set_log_append_time(buf: &mut [u8], now_ms: i64) -> Result<()> {
    let attrs = be_i16(buf, OFF_ATTRIBUTES)? | ATTR_LOG_APPEND_TIME;
    put_field(buf, OFF_ATTRIBUTES, attrs.to_be_bytes())?;
    put_field(buf, OFF_MAX_TIMESTAMP, now_ms.to_be_bytes())?;
    rewrite_crc(buf)
}

/// Encodes a whole batch: the header's fields (its `batch_length`, `magic` and `crc` are
/// ignored and computed) followed by the records section `payload` as given (already
/// compressed if the attributes say so).
pub fn encode_batch(h: &BatchHeader, payload: &[u8]) -> Result<bytes::Bytes> {
    use bytes::BufMut;
    let total = BATCH_HEADER_LEN + payload.len();
    let batch_length =
        i32::try_from(total - LOG_OVERHEAD).map_err(|_| StorageError::BatchTooLarge {
            size: total,
            max: i32::MAX as usize,
        })?;
    let mut out = bytes::BytesMut::with_capacity(total);
    out.put_i64(h.base_offset);
    out.put_i32(batch_length);
    out.put_i32(h.partition_leader_epoch);
    out.put_i8(MAGIC_V2);
    out.put_u32(0); // CRC, filled below
    out.put_i16(h.attributes);
    out.put_i32(h.last_offset_delta);
    out.put_i64(h.base_timestamp);
    out.put_i64(h.max_timestamp);
    out.put_i64(h.producer_id);
    out.put_i16(h.producer_epoch);
    out.put_i32(h.base_sequence);
    out.put_i32(h.record_count);
    out.put_slice(payload);
    rewrite_crc(&mut out)?;
    Ok(out.freeze())
}

/// Recomputes and writes the CRC32C of the batch at the start of `buf`; fails if `buf` is
/// shorter than a batch header.
pub fn rewrite_crc(buf: &mut [u8]) -> Result<()> {
    let crc = crc32c::crc32c(crc_covered(buf)?);
    put_field(buf, OFF_CRC, crc.to_be_bytes())
}

/// Iterates over the whole batches at the start of a buffer of concatenated batches,
/// stopping at the first incomplete one (a fetch may end with a partial batch).
pub fn split_batches(mut buf: &[u8]) -> impl Iterator<Item = Result<(BatchHeader, &[u8])>> {
    std::iter::from_fn(move || {
        if buf.len() < BATCH_HEADER_LEN {
            return None;
        }
        let h = match BatchHeader::parse(buf) {
            Ok(h) => h,
            Err(e) => {
                buf = &[];
                return Some(Err(e));
            }
        };
        if buf.len() < h.total_len() {
            return None;
        }
        let (one, rest) = buf.split_at(h.total_len());
        buf = rest;
        Some(Ok((h, one)))
    })
}
