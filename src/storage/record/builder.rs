//! Encoding v2 record batches: [`BatchBuilder`] for data and control batches, the
//! end-transaction marker, and [`recompress`] to change a stored batch's codec.

use bytes::Bytes;

use super::batch::{
    encode_batch, BatchHeader, ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_LOG_APPEND_TIME,
    ATTR_TRANSACTIONAL, BATCH_HEADER_LEN, MAGIC_V2,
};
use super::compression::{compress_level, decompress, Compression};
use super::message::MessageBatch;
use super::records::{encode_record, Header, RecordIter};
use crate::storage::error::{Result, StorageError};

/// How a batch's timestamps are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// Each record carries the producer's create time.
    #[default]
    CreateTime,
    /// Every record takes the broker's append time (the batch's max timestamp).
    LogAppendTime,
}

/// The fields of a v2 batch header that an encoder chooses.
#[derive(Debug, Clone, Copy)]
struct HeaderFields {
    base_offset: i64,
    partition_leader_epoch: i32,
    attributes: i16,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    record_count: i32,
}

/// Writes header + compressed records section and fills in length and CRC.
fn assemble(
    f: &HeaderFields,
    records: &[u8],
    codec: Compression,
    level: Option<i32>,
) -> Result<Bytes> {
    let payload = compress_level(codec, records, level)?;
    let header = BatchHeader {
        base_offset: f.base_offset,
        batch_length: 0,
        partition_leader_epoch: f.partition_leader_epoch,
        magic: MAGIC_V2,
        crc: 0,
        attributes: (f.attributes & !ATTR_COMPRESSION_MASK) | codec.id(),
        last_offset_delta: f.last_offset_delta,
        base_timestamp: f.base_timestamp,
        max_timestamp: f.max_timestamp,
        producer_id: f.producer_id,
        producer_epoch: f.producer_epoch,
        base_sequence: f.base_sequence,
        record_count: f.record_count,
    };
    encode_batch(&header, &payload)
}

/// Builds one Kafka v2 record batch.
///
/// ```
/// use skiff::storage::record::BatchBuilder;
/// use skiff::storage::{Compression, MessageBatch};
///
/// let mut b = BatchBuilder::new(Compression::Lz4).base_offset(42);
/// b.push(Some(b"k"), Some(b"v"), &[], 1_700_000_000_000).unwrap();
/// let batch = MessageBatch::from_bytes(b.build().unwrap()).unwrap();
/// assert_eq!(batch.messages().unwrap()[0].offset, 42);
/// ```
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    compression: Compression,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    log_append_time: Option<i64>,
    records: Vec<u8>,
    count: i32,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
}

impl BatchBuilder {
    /// A builder for a batch compressed with `compression`: base offset 0, leader epoch -1,
    /// no producer (id -1, epoch -1, sequence -1), create-time timestamps.
    pub fn new(compression: Compression) -> BatchBuilder {
        BatchBuilder {
            compression,
            base_offset: 0,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            log_append_time: None,
            records: Vec::new(),
            count: 0,
            base_timestamp: None,
            max_timestamp: -1,
        }
    }

    /// Sets the base offset (the first record's offset).
    pub fn base_offset(mut self, base_offset: i64) -> Self {
        self.base_offset = base_offset;
        self
    }

    /// Sets the partition leader epoch.
    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Sets the idempotent producer's id, epoch and first sequence number.
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch as part of a transaction.
    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as a control batch.
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Uses log-append time: the batch's max timestamp becomes `now_ms` and every record
    /// reads with that timestamp.
    pub fn log_append_time(mut self, now_ms: i64) -> Self {
        self.log_append_time = Some(now_ms);
        self
    }

    /// The timestamp type the batch will carry.
    pub fn timestamp_type(&self) -> TimestampType {
        match self.log_append_time {
            Some(_) => TimestampType::LogAppendTime,
            None => TimestampType::CreateTime,
        }
    }

    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no record was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uncompressed size of the batch so far (header plus encoded records).
    pub fn uncompressed_size(&self) -> usize {
        BATCH_HEADER_LEN + self.records.len()
    }

    /// Appends a record at the next offset. Timestamps are milliseconds; -1 (no
    /// timestamp) is allowed, other negative values are refused as Kafka refuses them.
    pub fn push(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        timestamp: i64,
    ) -> Result<()> {
        if timestamp < -1 {
            return Err(StorageError::InvalidBatch(format!(
                "invalid negative timestamp {timestamp}"
            )));
        }
        let offset_delta = self.count;
        let next = self
            .count
            .checked_add(1)
            .ok_or_else(|| StorageError::InvalidBatch("too many records".into()))?;
        let base = *self.base_timestamp.get_or_insert(timestamp);
        let timestamp_delta = timestamp
            .checked_sub(base)
            .ok_or_else(|| StorageError::InvalidBatch("timestamp delta overflows".into()))?;
        encode_record(
            &mut self.records,
            offset_delta,
            timestamp_delta,
            key,
            value,
            headers,
        )?;
        self.count = next;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        Ok(())
    }

    /// Encodes the batch: compresses the records and fills in last offset delta, base and
    /// max timestamps, record count, length and CRC32C. A batch needs at least one record.
    pub fn build(&self) -> Result<Bytes> {
        let Some(base_timestamp) = self.base_timestamp else {
            return Err(StorageError::InvalidBatch(
                "a batch needs at least one record".into(),
            ));
        };
        let mut attributes = 0;
        if self.transactional {
            attributes |= ATTR_TRANSACTIONAL;
        }
        if self.control {
            attributes |= ATTR_CONTROL;
        }
        if self.log_append_time.is_some() {
            attributes |= ATTR_LOG_APPEND_TIME;
        }
        let fields = HeaderFields {
            base_offset: self.base_offset,
            partition_leader_epoch: self.partition_leader_epoch,
            attributes,
            last_offset_delta: self.count - 1,
            base_timestamp,
            max_timestamp: self.log_append_time.unwrap_or(self.max_timestamp),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
            record_count: self.count,
        };
        assemble(&fields, &self.records, self.compression, None)
    }

    /// [`BatchBuilder::build`], wrapped as a [`MessageBatch`] without re-checking the CRC
    /// it just computed.
    pub fn build_batch(&self) -> Result<MessageBatch> {
        let bytes = self.build()?;
        let header = BatchHeader::parse(&bytes)?;
        Ok(MessageBatch::from_parts(bytes, header))
    }

    /// Encodes an uncompressed, transactional control batch holding one end-transaction
    /// marker (a commit or abort), as the transaction coordinator writes them.
    pub fn end_txn_marker(
        base_offset: i64,
        timestamp: i64,
        partition_leader_epoch: i32,
        producer_id: i64,
        producer_epoch: i16,
        marker: EndTxnMarker,
    ) -> Result<Bytes> {
        let mut b = BatchBuilder::new(Compression::None)
            .base_offset(base_offset)
            .partition_leader_epoch(partition_leader_epoch)
            .producer(producer_id, producer_epoch, -1)
            .transactional(true)
            .control(true);
        b.push(
            Some(&marker.control_type.encode_key()),
            Some(&marker.encode_value()),
            &[],
            timestamp,
        )?;
        b.build()
    }
}

/// The type of a control record, from its key (`version i16, type i16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRecordType {
    /// Transaction aborted (type 0).
    Abort,
    /// Transaction committed (type 1).
    Commit,
    /// Any other control type (leader change, snapshot markers, …).
    Other(i16),
}

impl ControlRecordType {
    /// The type's id in the control record key.
    pub fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::Other(id) => id,
        }
    }

    /// Reads a control record key: version (ignored beyond being present) and type.
    pub fn parse_key(key: &[u8]) -> Result<ControlRecordType> {
        let Some(&[_, _, t0, t1]) = key.first_chunk::<4>() else {
            return Err(StorageError::InvalidBatch(format!(
                "control record key of {} bytes",
                key.len()
            )));
        };
        Ok(match i16::from_be_bytes([t0, t1]) {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            id => ControlRecordType::Other(id),
        })
    }

    /// The control record key: version 0 and the type id.
    pub fn encode_key(self) -> [u8; 4] {
        let t = self.id().to_be_bytes();
        [0, 0, t[0], t[1]]
    }
}

/// An end-transaction marker: the control record that commits or aborts a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    /// Commit or abort.
    pub control_type: ControlRecordType,
    /// Epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

impl EndTxnMarker {
    /// Reads a marker from a control record's key and value (`version i16, coordinator
    /// epoch i32`; later versions may append fields, which are ignored).
    pub fn parse(key: &[u8], value: &[u8]) -> Result<EndTxnMarker> {
        let control_type = ControlRecordType::parse_key(key)?;
        if !matches!(
            control_type,
            ControlRecordType::Abort | ControlRecordType::Commit
        ) {
            return Err(StorageError::InvalidBatch(format!(
                "control type {} is not an end-transaction marker",
                control_type.id()
            )));
        }
        let Some(&[v0, v1, e0, e1, e2, e3]) = value.first_chunk::<6>() else {
            return Err(StorageError::InvalidBatch(format!(
                "end-transaction marker value of {} bytes",
                value.len()
            )));
        };
        if i16::from_be_bytes([v0, v1]) < 0 {
            return Err(StorageError::InvalidBatch(
                "negative end-transaction marker version".into(),
            ));
        }
        Ok(EndTxnMarker {
            control_type,
            coordinator_epoch: i32::from_be_bytes([e0, e1, e2, e3]),
        })
    }

    /// The marker's value: version 0 and the coordinator epoch.
    pub fn encode_value(&self) -> [u8; 6] {
        let e = self.coordinator_epoch.to_be_bytes();
        [0, 0, e[0], e[1], e[2], e[3]]
    }
}

/// Re-encodes one whole batch with another codec, keeping every header field (base
/// offset, leader epoch, offsets and deltas, timestamps, producer fields, flags) and the
/// records byte for byte. The batch's CRC is checked first; decompression is bounded by
/// `max_decompressed`. Control batches are never compressed and come back unchanged.
pub fn recompress(batch: &[u8], to: Compression, max_decompressed: usize) -> Result<Bytes> {
    recompress_level(batch, to, None, max_decompressed)
}

/// [`recompress`] at a codec level (see [`compress_level`]).
pub fn recompress_level(
    batch: &[u8],
    to: Compression,
    level: Option<i32>,
    max_decompressed: usize,
) -> Result<Bytes> {
    let h = BatchHeader::parse_and_validate(batch)?;
    let from = Compression::from_id(h.compression_id()).ok_or_else(|| {
        StorageError::Compression(format!("unknown codec id {}", h.compression_id()))
    })?;
    if h.is_control() || from == to {
        return Ok(Bytes::copy_from_slice(batch));
    }
    let section = batch.get(BATCH_HEADER_LEN..).unwrap_or_default();
    let records = Bytes::from(decompress(from, section, max_decompressed)?);
    for r in RecordIter::new(records.clone(), h.record_count as usize) {
        r?;
    }
    let fields = HeaderFields {
        base_offset: h.base_offset,
        partition_leader_epoch: h.partition_leader_epoch,
        attributes: h.attributes,
        last_offset_delta: h.last_offset_delta,
        base_timestamp: h.base_timestamp,
        max_timestamp: h.max_timestamp,
        producer_id: h.producer_id,
        producer_epoch: h.producer_epoch,
        base_sequence: h.base_sequence,
        record_count: h.record_count,
    };
    assemble(&fields, &records, to, level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record::batch::ATTR_DELETE_HORIZON;

    #[test]
    fn built_batch_has_the_header_fields_asked_for() {
        let mut b = BatchBuilder::new(Compression::Gzip)
            .base_offset(500)
            .partition_leader_epoch(3)
            .producer(77, 2, 9)
            .transactional(true);
        b.push(Some(b"a"), Some(b"1"), &[], 1000).unwrap();
        b.push(None, None, &[], 990).unwrap();
        b.push(Some(b"c"), Some(b"3"), &[], 1010).unwrap();
        assert_eq!(b.len(), 3);
        let bytes = b.build().unwrap();
        let h = BatchHeader::parse_and_validate(&bytes).unwrap();
        assert_eq!(h.base_offset, 500);
        assert_eq!(h.partition_leader_epoch, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.record_count, 3);
        assert_eq!(h.base_timestamp, 1000);
        assert_eq!(h.max_timestamp, 1010);
        assert_eq!(
            (h.producer_id, h.producer_epoch, h.base_sequence),
            (77, 2, 9)
        );
        assert_eq!(h.compression_id(), Compression::Gzip.id());
        assert!(h.is_transactional() && !h.is_control() && !h.is_log_append_time());
    }

    #[test]
    fn build_batch_wraps_the_same_bytes() {
        let mut b = BatchBuilder::new(Compression::Snappy).base_offset(3);
        b.push(Some(b"k"), Some(b"v"), &[], 10).unwrap();
        let batch = b.build_batch().unwrap();
        assert_eq!(batch.bytes(), &b.build().unwrap());
        assert_eq!(
            batch,
            MessageBatch::from_bytes(batch.bytes().clone()).unwrap()
        );
    }

    #[test]
    fn log_append_time_sets_the_bit_and_max_timestamp() {
        let mut b = BatchBuilder::new(Compression::None).log_append_time(99_999);
        assert_eq!(b.timestamp_type(), TimestampType::LogAppendTime);
        b.push(None, Some(b"v"), &[], 5).unwrap();
        let h = BatchHeader::parse_and_validate(&b.build().unwrap()).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99_999);
        assert_eq!(h.base_timestamp, 5);
    }

    #[test]
    fn negative_timestamps_other_than_none_are_refused() {
        let mut b = BatchBuilder::new(Compression::None);
        assert!(b.push(None, None, &[], -2).is_err());
        assert!(b.is_empty());
        b.push(None, None, &[], -1).unwrap();
        let h = BatchHeader::parse_and_validate(&b.build().unwrap()).unwrap();
        assert_eq!((h.base_timestamp, h.max_timestamp), (-1, -1));
    }

    #[test]
    fn empty_builder_refuses_to_build() {
        assert!(BatchBuilder::new(Compression::None).build().is_err());
    }

    #[test]
    fn end_txn_marker_batch_round_trips() {
        let marker = EndTxnMarker {
            control_type: ControlRecordType::Abort,
            coordinator_epoch: 17,
        };
        let bytes = BatchBuilder::end_txn_marker(10, 1234, 4, 88, 1, marker).unwrap();
        let h = BatchHeader::parse_and_validate(&bytes).unwrap();
        assert!(h.is_control() && h.is_transactional());
        assert_eq!(h.base_sequence, -1);
        let section = Bytes::copy_from_slice(&bytes[BATCH_HEADER_LEN..]);
        let r = RecordIter::new(section, 1).next().unwrap().unwrap();
        let parsed = EndTxnMarker::parse(r.key.as_deref().unwrap(), r.value.as_deref().unwrap());
        assert_eq!(parsed.unwrap(), marker);
    }

    #[test]
    fn marker_parse_rejects_short_or_foreign_records() {
        assert!(EndTxnMarker::parse(&[0, 0, 0], &[0, 0, 0, 0, 0, 1]).is_err());
        assert!(EndTxnMarker::parse(&[0, 0, 0, 1], &[0, 0, 0]).is_err());
        assert!(EndTxnMarker::parse(&[0, 0, 0, 2], &[0, 0, 0, 0, 0, 1]).is_err());
        assert_eq!(
            ControlRecordType::parse_key(&[0, 0, 0, 2]).unwrap(),
            ControlRecordType::Other(2)
        );
    }

    #[test]
    fn recompress_keeps_header_and_records() {
        let mut b = BatchBuilder::new(Compression::None)
            .base_offset(1_000)
            .partition_leader_epoch(9)
            .producer(5, 6, 7);
        for i in 0..20i64 {
            let v = format!("value-{i}");
            b.push(None, Some(v.as_bytes()), &[], 100 + i).unwrap();
        }
        let original = b.build().unwrap();
        let h0 = BatchHeader::parse_and_validate(&original).unwrap();
        for to in [
            Compression::Zstd,
            Compression::Snappy,
            Compression::Gzip,
            Compression::Lz4,
        ] {
            let out = recompress(&original, to, 1 << 20).unwrap();
            let h = BatchHeader::parse_and_validate(&out).unwrap();
            assert_eq!(h.compression_id(), to.id());
            assert_eq!(
                (h.base_offset, h.partition_leader_epoch, h.last_offset_delta),
                (
                    h0.base_offset,
                    h0.partition_leader_epoch,
                    h0.last_offset_delta
                )
            );
            assert_eq!(
                (h.base_timestamp, h.max_timestamp),
                (h0.base_timestamp, h0.max_timestamp)
            );
            assert_eq!(h.attributes & !ATTR_COMPRESSION_MASK, h0.attributes);
            let back = recompress(&out, Compression::None, 1 << 20).unwrap();
            assert_eq!(back, original);
        }
    }

    #[test]
    fn recompress_keeps_unknown_attribute_bits() {
        let mut b = BatchBuilder::new(Compression::None);
        b.push(None, Some(b"v"), &[], 1).unwrap();
        let mut raw = b.build().unwrap().to_vec();
        raw[22] |= ATTR_DELETE_HORIZON as u8;
        crate::storage::record::batch::rewrite_crc(&mut raw).unwrap();
        let out = recompress(&raw, Compression::Zstd, 1024).unwrap();
        let h = BatchHeader::parse_and_validate(&out).unwrap();
        assert_eq!(h.attributes & ATTR_DELETE_HORIZON, ATTR_DELETE_HORIZON);
    }

    #[test]
    fn recompress_rejects_corrupt_and_bounds_output() {
        let mut b = BatchBuilder::new(Compression::Zstd);
        b.push(None, Some(&[0u8; 4096]), &[], 1).unwrap();
        let good = b.build().unwrap();
        assert!(matches!(
            recompress(&good, Compression::None, 100),
            Err(StorageError::DecompressedTooLarge { .. })
        ));
        let mut bad = good.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        assert!(matches!(
            recompress(&bad, Compression::None, 1 << 20),
            Err(StorageError::ChecksumMismatch { .. })
        ));
    }
}
