//! Filtering one batch for the cleaner (Kafka's `MemoryRecords.filterTo` with the cleaner's
//! record filter): which records survive, and what is written for the batch.
//!
//! - A record survives if it has a key, no later offset of that key was indexed, and it has a
//!   value or is a tombstone still within its delete horizon.
//! - All records surviving (and no horizon to set) → the batch is copied byte for byte.
//! - Some surviving → the batch is rebuilt: same base offset, last offset delta, leader
//!   epoch, producer id/epoch, base sequence, flags and codec; the surviving records keep
//!   their offset deltas, timestamps and headers.
//! - A surviving tombstone in a batch without a delete horizon sets one (KIP-534): attribute
//!   bit 0x40, and the base timestamp becomes `now + delete.retention.ms`; record timestamp
//!   deltas are rewritten relative to it so every record keeps its timestamp.
//! - None surviving → the batch is dropped, unless it must be kept as an empty batch (the
//!   last batch of a producer, for its sequence numbers; the last batch of a cleaned
//!   segment, for its end offset): then a header-only batch is written with the original
//!   offsets, producer fields, timestamp type and max timestamp.

use bytes::Bytes;

use super::offset_map::OffsetMap;
use crate::storage::error::{Result, StorageError};
use crate::storage::record::batch::{
    ATTR_COMPRESSION_MASK, ATTR_CONTROL, ATTR_DELETE_HORIZON, ATTR_LOG_APPEND_TIME,
    ATTR_TRANSACTIONAL,
};
use crate::storage::record::{compress, encode_record, BatchHeader, Record};
use crate::storage::types::{Compression, MessageBatch};

/// Counters of what filtering did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilterCounts {
    /// Records examined.
    pub records_read: u64,
    /// Records kept.
    pub records_retained: u64,
    /// Tombstones removed because their delete horizon passed.
    pub tombstones_removed: u64,
    /// Keyless records removed (they can't be compacted; Kafka counts them as invalid).
    pub invalid_records: u64,
    /// Batches rewritten with fewer records or a new delete horizon.
    pub batches_rebuilt: u64,
    /// Batches whose records all went but whose header was kept.
    pub empty_batches_kept: u64,
    /// Batches dropped entirely.
    pub batches_dropped: u64,
}

/// The delete horizon a batch carries (KIP-534), if any.
pub fn delete_horizon(h: &BatchHeader) -> Option<i64> {
    (h.attributes & ATTR_DELETE_HORIZON != 0).then_some(h.base_timestamp)
}

/// Decides, batch by batch, what the cleaner writes.
#[derive(Debug)]
pub struct RecordFilter<'a> {
    /// Key → latest offset of the dirty section.
    pub map: &'a OffsetMap,
    /// The time of the cleaning pass.
    pub now_ms: i64,
    /// The log's `delete.retention.ms`.
    pub delete_retention_ms: i64,
    /// Decompression bound for one batch.
    pub max_decompressed: usize,
}

impl RecordFilter<'_> {
    /// Filters one validated data batch. Control and transactional batches must not be
    /// passed here (the cleaner keeps them untouched). Returns the bytes to write, if any.
    pub fn filter(
        &self,
        bytes: &Bytes,
        h: &BatchHeader,
        retain_empty: bool,
        counts: &mut FilterCounts,
    ) -> Result<Option<Bytes>> {
        let batch = MessageBatch::from_parts(bytes.clone(), *h);
        let horizon = delete_horizon(h);
        let retain_deletes = horizon.is_none_or(|t| self.now_ms < t);
        let mut kept: Vec<Record> = Vec::new();
        let mut all = true;
        let mut tombstones = false;
        for r in batch.records(self.max_decompressed)? {
            let r = r?;
            counts.records_read += 1;
            let offset = h
                .base_offset
                .checked_add(i64::from(r.offset_delta))
                .ok_or_else(|| StorageError::InvalidBatch("record offset overflows".into()))?;
            let keep = match &r.key {
                None => {
                    counts.invalid_records += 1;
                    false
                }
                Some(key) => {
                    let latest = self.map.get(key)?.is_none_or(|found| offset >= found);
                    let value_kept = r.value.is_some() || retain_deletes;
                    if latest && !value_kept {
                        counts.tombstones_removed += 1;
                    }
                    latest && value_kept
                }
            };
            if keep {
                tombstones |= r.value.is_none();
                kept.push(r);
            } else {
                all = false;
            }
        }
        counts.records_retained += kept.len() as u64;
        let set_horizon = tombstones && horizon.is_none();
        if !kept.is_empty() && all && !set_horizon {
            return Ok(Some(bytes.clone()));
        }
        if !kept.is_empty() {
            counts.batches_rebuilt += 1;
            let new_horizon = if set_horizon {
                Some(self.now_ms.saturating_add(self.delete_retention_ms))
            } else {
                horizon
            };
            return rebuild(h, &kept, new_horizon).map(Some);
        }
        if retain_empty {
            counts.empty_batches_kept += 1;
            return Ok(Some(empty_batch(h)));
        }
        counts.batches_dropped += 1;
        Ok(None)
    }
}

/// The fields of a batch header the cleaner writes.
struct Fields {
    attributes: i16,
    base_timestamp: i64,
    max_timestamp: i64,
    record_count: i32,
}

fn assemble(h: &BatchHeader, f: &Fields, payload: &[u8]) -> Result<Bytes> {
    let header = BatchHeader {
        attributes: f.attributes,
        base_timestamp: f.base_timestamp,
        max_timestamp: f.max_timestamp,
        record_count: f.record_count,
        ..*h
    };
    crate::storage::record::batch::encode_batch(&header, payload)
}

/// Re-encodes the kept records under the original header, with `horizon` as delete horizon.
fn rebuild(h: &BatchHeader, kept: &[Record], horizon: Option<i64>) -> Result<Bytes> {
    let codec = Compression::from_id(h.compression_id()).ok_or_else(|| {
        StorageError::Compression(format!("unknown codec id {}", h.compression_id()))
    })?;
    let log_append_time = h.attributes & ATTR_LOG_APPEND_TIME != 0;
    let timestamp_of = |r: &Record| -> Result<i64> {
        if log_append_time {
            Ok(h.max_timestamp)
        } else {
            h.base_timestamp
                .checked_add(r.timestamp_delta)
                .ok_or_else(|| StorageError::InvalidBatch("record timestamp overflows".into()))
        }
    };
    let first = kept
        .first()
        .ok_or_else(|| StorageError::InvalidBatch("rebuilding an empty batch".into()))?;
    let base_timestamp = match horizon {
        Some(t) => t,
        None => timestamp_of(first)?,
    };
    let mut max_timestamp = -1i64;
    let mut records = Vec::new();
    for r in kept {
        let ts = timestamp_of(r)?;
        max_timestamp = max_timestamp.max(ts);
        let delta = ts
            .checked_sub(base_timestamp)
            .ok_or_else(|| StorageError::InvalidBatch("timestamp delta overflows".into()))?;
        encode_record(
            &mut records,
            r.offset_delta,
            delta,
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers,
        )?;
    }
    if log_append_time {
        max_timestamp = h.max_timestamp;
    }
    let mut attributes = h.attributes & !ATTR_DELETE_HORIZON;
    if horizon.is_some() {
        attributes |= ATTR_DELETE_HORIZON;
    }
    let payload = compress(codec, &records)?;
    let fields = Fields {
        attributes,
        base_timestamp,
        max_timestamp,
        record_count: i32::try_from(kept.len())
            .map_err(|_| StorageError::InvalidBatch("too many records".into()))?,
    };
    assemble(h, &fields, &payload)
}

/// A header-only batch standing for `h` (Kafka's `writeEmptyHeader`): no records, no
/// compression, no delete horizon, base timestamp -1, the original max timestamp.
fn empty_batch(h: &BatchHeader) -> Bytes {
    let keep = ATTR_LOG_APPEND_TIME | ATTR_TRANSACTIONAL | ATTR_CONTROL;
    let fields = Fields {
        attributes: h.attributes & keep & !ATTR_COMPRESSION_MASK,
        base_timestamp: -1,
        max_timestamp: h.max_timestamp,
        record_count: 0,
    };
    // An empty payload always fits.
    assemble(h, &fields, &[]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record::BatchBuilder;

    fn map_with(dir: &std::path::Path, entries: &[(&str, i64)]) -> OffsetMap {
        let mut m = OffsetMap::new(1 << 20, dir);
        for (k, o) in entries {
            m.put(k.as_bytes(), *o).unwrap();
        }
        m
    }

    fn batch(codec: Compression, base: i64, recs: &[(&str, Option<&str>, i64)]) -> Bytes {
        let mut b = BatchBuilder::new(codec)
            .base_offset(base)
            .producer(7, 1, 100)
            .partition_leader_epoch(3);
        for (k, v, ts) in recs {
            b.push(Some(k.as_bytes()), v.map(str::as_bytes), &[], *ts)
                .unwrap();
        }
        b.build().unwrap()
    }

    #[test]
    fn rebuilt_batch_keeps_offsets_producer_fields_and_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let map = map_with(dir.path(), &[("b", 11), ("a", 12)]);
        let f = RecordFilter {
            map: &map,
            now_ms: 5_000,
            delete_retention_ms: 1_000,
            max_decompressed: 1 << 20,
        };
        for codec in [Compression::None, Compression::Zstd] {
            let bytes = batch(
                codec,
                10,
                &[
                    ("a", Some("1"), 100),
                    ("b", None, 101),
                    ("a", Some("2"), 105),
                ],
            );
            let h = BatchHeader::parse_and_validate(&bytes).unwrap();
            let mut c = FilterCounts::default();
            let out = f.filter(&bytes, &h, false, &mut c).unwrap().unwrap();
            let nh = BatchHeader::parse_and_validate(&out).unwrap();
            assert_eq!((nh.base_offset, nh.last_offset()), (10, 12));
            assert_eq!(nh.record_count, 2);
            assert_eq!(
                (nh.producer_id, nh.producer_epoch, nh.base_sequence),
                (7, 1, 100)
            );
            assert_eq!(nh.partition_leader_epoch, 3);
            assert_eq!(nh.compression_id(), codec.id());
            assert_eq!(delete_horizon(&nh), Some(6_000));
            assert_eq!(nh.max_timestamp, 105);
            let msgs = MessageBatch::from_bytes(out).unwrap().messages().unwrap();
            let got: Vec<(i64, i64, bool)> = msgs
                .iter()
                .map(|m| (m.offset, m.timestamp, m.value.is_some()))
                .collect();
            assert_eq!(got, vec![(11, 101, false), (12, 105, true)]);
            assert_eq!(c.records_read, 3);
            assert_eq!(c.records_retained, 2);
        }
    }

    #[test]
    fn untouched_batch_is_copied_and_emptied_batch_is_dropped_or_kept_empty() {
        let dir = tempfile::tempdir().unwrap();
        let map = map_with(dir.path(), &[("a", 50)]);
        let f = RecordFilter {
            map: &map,
            now_ms: 0,
            delete_retention_ms: 0,
            max_decompressed: 1 << 20,
        };
        let keep = batch(Compression::None, 0, &[("x", Some("1"), 1)]);
        let h = BatchHeader::parse(&keep).unwrap();
        let mut c = FilterCounts::default();
        assert_eq!(f.filter(&keep, &h, false, &mut c).unwrap(), Some(keep));
        let gone = batch(
            Compression::Lz4,
            20,
            &[("a", Some("1"), 1), ("a", Some("2"), 9)],
        );
        let h = BatchHeader::parse(&gone).unwrap();
        assert_eq!(f.filter(&gone, &h, false, &mut c).unwrap(), None);
        let empty = f.filter(&gone, &h, true, &mut c).unwrap().unwrap();
        let eh = BatchHeader::parse_and_validate(&empty).unwrap();
        assert_eq!(
            (eh.base_offset, eh.last_offset(), eh.record_count),
            (20, 21, 0)
        );
        assert_eq!((eh.producer_id, eh.base_sequence), (7, 100));
        assert_eq!((eh.base_timestamp, eh.max_timestamp), (-1, 9));
        assert_eq!(eh.compression_id(), 0);
    }

    #[test]
    fn tombstone_goes_once_its_horizon_passed() {
        let dir = tempfile::tempdir().unwrap();
        let map = map_with(dir.path(), &[]);
        let first = RecordFilter {
            map: &map,
            now_ms: 1_000,
            delete_retention_ms: 500,
            max_decompressed: 1 << 20,
        };
        let bytes = batch(
            Compression::None,
            0,
            &[("t", None, 10), ("v", Some("x"), 11)],
        );
        let h = BatchHeader::parse(&bytes).unwrap();
        let mut c = FilterCounts::default();
        let marked = first.filter(&bytes, &h, false, &mut c).unwrap().unwrap();
        let mh = BatchHeader::parse_and_validate(&marked).unwrap();
        assert_eq!(delete_horizon(&mh), Some(1_500));
        let early = RecordFilter {
            now_ms: 1_499,
            ..first
        };
        assert_eq!(
            early.filter(&marked, &mh, false, &mut c).unwrap(),
            Some(marked.clone())
        );
        let late = RecordFilter {
            now_ms: 1_500,
            ..early
        };
        let out = late.filter(&marked, &mh, false, &mut c).unwrap().unwrap();
        let msgs = MessageBatch::from_bytes(out).unwrap().messages().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!((msgs[0].offset, msgs[0].timestamp), (1, 11));
        assert_eq!(c.tombstones_removed, 1);
    }
}
