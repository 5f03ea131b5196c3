//! The engine's message batch (the seed's API, over the Kafka v2 format of this folder) and
//! offsets. `storage::types` re-exports them with the codec and the record types.

use bytes::Bytes;

use super::batch::{BatchHeader, BATCH_HEADER_LEN};
use super::compression::{decompress, Compression};
use super::records::{Message, MessageIter, RecordIter};

/// A position in a partition log.
pub type Offset = i64;

/// Decompression limit of [`MessageBatch::messages`]: a batch whose records decompress to
/// more than this is refused rather than expanded.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 * 1024 * 1024;

/// One Kafka v2 record batch, kept as the bytes that arrived (validated) with its header
/// decoded; records are decoded only on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBatch {
    bytes: Bytes,
    header: BatchHeader,
}

impl MessageBatch {
    /// Wraps the bytes of exactly one batch, validating magic, length and CRC.
    pub fn from_bytes(bytes: Bytes) -> crate::storage::Result<MessageBatch> {
        let header = BatchHeader::parse_and_validate(&bytes)?;
        Ok(MessageBatch { bytes, header })
    }

    /// Wraps bytes whose header was already parsed (and validated) by the caller.
    pub(crate) fn from_parts(bytes: Bytes, header: BatchHeader) -> Self {
        MessageBatch { bytes, header }
    }

    /// The batch's bytes as stored.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The decoded fixed header.
    pub fn header(&self) -> &BatchHeader {
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

    /// Number of records the header declares.
    pub fn record_count(&self) -> i32 {
        self.header.record_count
    }

    /// Whether the batch is part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.header.is_transactional()
    }

    /// Whether the batch is a control batch (transaction markers).
    pub fn is_control(&self) -> bool {
        self.header.is_control()
    }

    /// The records section, decompressed if the batch is compressed (at most
    /// `max_decompressed` bytes). Uncompressed batches return a zero-copy slice.
    pub fn records_section(&self, max_decompressed: usize) -> crate::storage::Result<Bytes> {
        let codec = self.compression().ok_or_else(|| {
            crate::storage::StorageError::Compression(format!(
                "unknown codec id {}",
                self.header.compression_id()
            ))
        })?;
        if self.bytes.len() < BATCH_HEADER_LEN {
            return Err(crate::storage::StorageError::InvalidBatch(
                "batch shorter than its header".into(),
            ));
        }
        let section = self.bytes.slice(BATCH_HEADER_LEN..);
        match codec {
            Compression::None => Ok(section),
            codec => decompress(codec, &section, max_decompressed).map(Bytes::from),
        }
    }

    /// Iterates over the raw records (relative offsets and timestamps). Keys and values
    /// are slices of the batch, or of its decompressed records section.
    pub fn records(&self, max_decompressed: usize) -> crate::storage::Result<RecordIter> {
        Ok(self.record_iter_over(self.records_section(max_decompressed)?))
    }

    /// Iterates lazily over the messages, decompressing the records section once up front.
    pub fn message_iter(&self, max_decompressed: usize) -> crate::storage::Result<MessageIter> {
        Ok(self.message_iter_over(self.records_section(max_decompressed)?))
    }

    fn record_iter_over(&self, section: Bytes) -> RecordIter {
        let count = usize::try_from(self.header.record_count).unwrap_or(0);
        RecordIter::new(section, count)
    }

    fn message_iter_over(&self, section: Bytes) -> MessageIter {
        let log_append_time = self
            .header
            .is_log_append_time()
            .then_some(self.header.max_timestamp);
        MessageIter::new(
            self.record_iter_over(section),
            self.header.base_offset,
            self.header.base_timestamp,
            log_append_time,
            self.header.crc,
        )
    }

    /// Decodes every message: offsets are `base_offset + offsetDelta`, timestamps
    /// `base_timestamp + timestampDelta` (or the max timestamp under log-append time), and
    /// each carries the batch CRC. Decompression is bounded by [`DEFAULT_MAX_DECOMPRESSED`].
    pub fn messages(&self) -> crate::storage::Result<Vec<Message>> {
        self.messages_bounded(DEFAULT_MAX_DECOMPRESSED)
    }

    /// [`MessageBatch::messages`] with an explicit decompression limit.
    pub fn messages_bounded(
        &self,
        max_decompressed: usize,
    ) -> crate::storage::Result<Vec<Message>> {
        let section = self.records_section(max_decompressed)?;
        // The smallest record takes 7 bytes; don't let a lying count size the vector.
        let count = usize::try_from(self.header.record_count).unwrap_or(0);
        let mut out = Vec::with_capacity(count.min(section.len() / 7));
        for m in self.message_iter_over(section) {
            out.push(m?);
        }
        Ok(out)
    }
}
