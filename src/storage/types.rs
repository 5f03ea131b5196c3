//! The engine's value types: offsets, messages and message batches.

use bytes::Bytes;

/// A position in a partition log.
pub type Offset = i64;

/// A record batch's compression codec (Kafka's attribute bits 0–2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (deflate with gzip framing).
    Gzip,
    /// Snappy, raw or in the Java client's xerial framing.
    Snappy,
    /// LZ4 in the LZ4 frame format.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The codec for Kafka's attribute id, if known.
    pub fn from_id(id: i16) -> Option<Compression> {
        match id {
            0 => Some(Compression::None),
            1 => Some(Compression::Gzip),
            2 => Some(Compression::Snappy),
            3 => Some(Compression::Lz4),
            4 => Some(Compression::Zstd),
            _ => None,
        }
    }

    /// Kafka's attribute id of the codec.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }
}

/// One record header: a key and an optional value. Headers are an ordered list and a key
/// may repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Header value; `None` is a null value.
    pub value: Option<Bytes>,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Absolute offset in the partition.
    pub offset: Offset,
    /// Key; `None` is a null key.
    pub key: Option<Bytes>,
    /// Value; `None` is a null value (a tombstone).
    pub value: Option<Bytes>,
    /// Headers in their original order, duplicates kept.
    pub headers: Vec<Header>,
    /// Timestamp in milliseconds (create time, or the batch's log-append time).
    pub timestamp: i64,
    /// CRC32C of the batch the record was read from.
    pub crc: u32,
}

/// One Kafka v2 record batch, kept as the bytes that arrived (validated) with its header
/// decoded; records are decoded only on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBatch {
    bytes: Bytes,
    header: crate::storage::record::BatchHeader,
}

impl MessageBatch {
    /// Wraps the bytes of exactly one batch, validating magic, length and CRC.
    pub fn from_bytes(bytes: Bytes) -> crate::storage::Result<MessageBatch> {
        let header = crate::storage::record::BatchHeader::parse_and_validate(&bytes)?;
        Ok(MessageBatch { bytes, header })
    }

    /// Wraps bytes whose header was already parsed (and validated) by the caller.
    pub(crate) fn from_parts(bytes: Bytes, header: crate::storage::record::BatchHeader) -> Self {
        MessageBatch { bytes, header }
    }

    /// The batch's bytes as stored.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The decoded fixed header.
    pub fn header(&self) -> &crate::storage::record::BatchHeader {
        &self.header
    }

    /// Offset of the first record.
    pub fn base_offset(&self) -> Offset {
        self.header.base_offset
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> Offset {
        self.header.last_offset()
    }

    /// The batch's compression codec; `None` for an unknown codec id.
    pub fn compression(&self) -> Option<Compression> {
        Compression::from_id(self.header.compression_id())
    }

    /// The batch's max timestamp.
    pub fn timestamp(&self) -> i64 {
        self.header.max_timestamp
    }

    /// Producer id, or -1.
    pub fn producer_id(&self) -> i64 {
        self.header.producer_id
    }

    /// Producer epoch, or -1.
    pub fn producer_epoch(&self) -> i16 {
        self.header.producer_epoch
    }

    /// Partition leader epoch stamped on append.
    pub fn leader_epoch(&self) -> i32 {
        self.header.partition_leader_epoch
    }
}
