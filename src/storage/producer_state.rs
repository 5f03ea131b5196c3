//! Per-partition producer state: the idempotent producer's sequence checks (duplicates of the
//! last five batches are answered with their original offsets, gaps are refused), producer
//! epochs, open transactions (which hold back the last stable offset) and the aborted
//! transactions that `read_committed` fetches must skip. Snapshotted to
//! `<offset>.snapshot` files and rebuilt from the log on recovery.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use crate::storage::error::{Result, StorageError};
use crate::storage::fs_util::write_atomically;
use crate::storage::record::{BatchHeader, ControlRecordType};

/// How many recent batches per producer are remembered for duplicate detection (Kafka's 5,
/// the client's `max.in.flight.requests.per.connection` limit under idempotence).
pub const RETAINED_BATCHES: usize = 5;
const SNAPSHOT_SUFFIX: &str = ".snapshot";
const SNAPSHOT_VERSION: u16 = 1;

/// One batch a producer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMetadata {
    /// Sequence of its first record.
    pub first_seq: i32,
    /// Sequence of its last record.
    pub last_seq: i32,
    /// Offset of its first record.
    pub first_offset: i64,
    /// Offset of its last record.
    pub last_offset: i64,
    /// Its max timestamp.
    pub timestamp: i64,
}

/// What the log knows about one producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerEntry {
    /// The producer's current epoch.
    pub epoch: i16,
    /// Its most recent batches, oldest first.
    pub batches: VecDeque<BatchMetadata>,
    /// Epoch of the coordinator that wrote its last transaction marker, or -1.
    pub coordinator_epoch: i32,
    /// Timestamp of its last write (for expiry).
    pub last_timestamp: i64,
    /// First offset of its open transaction in this partition, if any.
    pub txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn last_seq(&self) -> Option<i32> {
        self.batches.back().map(|b| b.last_seq)
    }
}

/// A transaction aborted in this partition: fetches in `read_committed` skip the producer's
/// records from `first_offset` up to the abort marker at `last_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    /// The producer that aborted.
    pub producer_id: i64,
    /// First offset of the aborted transaction.
    pub first_offset: i64,
    /// Offset of the abort marker.
    pub last_offset: i64,
}

/// The verdict on a batch about to be appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// A retry of a batch already in the log: answer with its offsets, don't append.
    Duplicate(BatchMetadata),
}

/// The producer state of one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ProducerStateManager {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions by first offset → producer id.
    ongoing: BTreeMap<i64, i64>,
    aborted: Vec<AbortedTxn>,
}

fn in_sequence(last: i32, next: i32) -> bool {
    next == last.wrapping_add(1) || (next == 0 && last == i32::MAX)
}

/// The sequence of the last record of a batch (sequences wrap at `i32::MAX`).
pub fn last_sequence(h: &BatchHeader) -> i32 {
    let last = h.base_sequence as i64 + h.last_offset_delta as i64;
    if last > i32::MAX as i64 {
        (last - i32::MAX as i64 - 1) as i32
    } else {
        last as i32
    }
}

impl ProducerStateManager {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry of a producer, if known.
    pub fn producer(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Every known producer.
    pub fn producers(&self) -> impl Iterator<Item = (&i64, &ProducerEntry)> {
        self.producers.iter()
    }

    /// Checks a data batch from a producer (producer id ≥ 0) before it is appended: stale
    /// epochs and sequence gaps are refused, retries of one of the last five batches are
    /// reported as duplicates. A producer the log doesn't know may start at any sequence (its
    /// state may have been removed by retention), as in Kafka.
    pub fn check(&self, h: &BatchHeader) -> Result<SequenceCheck> {
        if h.producer_id < 0 || h.is_control() {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return Ok(SequenceCheck::Append);
        };
        if h.producer_epoch < entry.epoch {
            return Err(StorageError::InvalidProducerEpoch {
                producer_id: h.producer_id,
                epoch: h.producer_epoch,
                current: entry.epoch,
            });
        }
        if h.base_sequence < 0 {
            // Transactional-but-not-idempotent writes are not produced by real clients.
            return Ok(SequenceCheck::Append);
        }
        let last_seq = last_sequence(h);
        if h.producer_epoch == entry.epoch {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == h.base_sequence && b.last_seq == last_seq)
            {
                return Ok(SequenceCheck::Duplicate(*dup));
            }
            if let Some(current) = entry.last_seq() {
                if !in_sequence(current, h.base_sequence) {
                    return Err(StorageError::OutOfOrderSequence {
                        producer_id: h.producer_id,
                        expected: current.wrapping_add(1),
                        got: h.base_sequence,
                    });
                }
            }
        } else if h.base_sequence != 0 {
            return Err(StorageError::OutOfOrderSequence {
                producer_id: h.producer_id,
                expected: 0,
                got: h.base_sequence,
            });
        }
        Ok(SequenceCheck::Append)
    }

    /// Records an appended batch (data or control). `control` is the marker type for a
    /// control batch, read from its record.
    pub fn update(
        &mut self,
        h: &BatchHeader,
        control: Option<(ControlRecordType, i32)>,
    ) -> Result<()> {
        if h.producer_id < 0 {
            return Ok(());
        }
        let entry = self
            .producers
            .entry(h.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: h.producer_epoch,
                batches: VecDeque::new(),
                coordinator_epoch: -1,
                last_timestamp: h.max_timestamp,
                txn_first_offset: None,
            });
        if h.producer_epoch > entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        entry.last_timestamp = entry.last_timestamp.max(h.max_timestamp);
        if let Some((kind, coordinator_epoch)) = control {
            entry.coordinator_epoch = coordinator_epoch;
            if let Some(first) = entry.txn_first_offset.take() {
                self.ongoing.remove(&first);
                if kind == ControlRecordType::Abort {
                    self.aborted.push(AbortedTxn {
                        producer_id: h.producer_id,
                        first_offset: first,
                        last_offset: h.base_offset,
                    });
                }
            }
            return Ok(());
        }
        if h.is_transactional() && entry.txn_first_offset.is_none() {
            entry.txn_first_offset = Some(h.base_offset);
            self.ongoing.insert(h.base_offset, h.producer_id);
        }
        if h.base_sequence >= 0 {
            entry.batches.push_back(BatchMetadata {
                first_seq: h.base_sequence,
                last_seq: last_sequence(h),
                first_offset: h.base_offset,
                last_offset: h.last_offset(),
                timestamp: h.max_timestamp,
            });
            while entry.batches.len() > RETAINED_BATCHES {
                entry.batches.pop_front();
            }
        }
        Ok(())
    }

    /// The first offset of the oldest open transaction, if any: the last stable offset when
    /// it is below the high watermark.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.ongoing.keys().next().copied()
    }

    /// Open transactions as (producer id, first offset).
    pub fn ongoing_transactions(&self) -> Vec<(i64, i64)> {
        self.ongoing.iter().map(|(o, p)| (*p, *o)).collect()
    }

    /// Aborted transactions that overlap `[from, to)`, for a `read_committed` fetch.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= from && a.first_offset < to)
            .copied()
            .collect()
    }

    /// Forgets what lies wholly before `offset` (the log start moved).
    pub fn truncate_before(&mut self, offset: i64) {
        self.aborted.retain(|a| a.last_offset >= offset);
    }

    /// Removes producers idle since before `cutoff_ms` that have no open transaction
    /// (`producer.id.expiration.ms`). Returns how many were removed.
    pub fn expire(&mut self, cutoff_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers
            .retain(|_, e| e.txn_first_offset.is_some() || e.last_timestamp >= cutoff_ms);
        before - self.producers.len()
    }

    /// Serialises the state (versioned, CRC-checked).
    fn encode(&self) -> Vec<u8> {
        // Everything after the version and the CRC, which covers it.
        let mut out = Vec::new();
        out.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        let mut producers: Vec<_> = self.producers.iter().collect();
        producers.sort_by_key(|(id, _)| **id);
        for (id, e) in producers {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&e.epoch.to_be_bytes());
            out.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            out.extend_from_slice(&e.last_timestamp.to_be_bytes());
            out.extend_from_slice(&e.txn_first_offset.unwrap_or(-1).to_be_bytes());
            out.push(e.batches.len() as u8);
            for b in &e.batches {
                out.extend_from_slice(&b.first_seq.to_be_bytes());
                out.extend_from_slice(&b.last_seq.to_be_bytes());
                out.extend_from_slice(&b.first_offset.to_be_bytes());
                out.extend_from_slice(&b.last_offset.to_be_bytes());
                out.extend_from_slice(&b.timestamp.to_be_bytes());
            }
        }
        out.extend_from_slice(&(self.aborted.len() as u32).to_be_bytes());
        for a in &self.aborted {
            out.extend_from_slice(&a.producer_id.to_be_bytes());
            out.extend_from_slice(&a.first_offset.to_be_bytes());
            out.extend_from_slice(&a.last_offset.to_be_bytes());
        }
        let crc = crc32c::crc32c(&out);
        let mut snapshot = Vec::with_capacity(6 + out.len());
        snapshot.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        snapshot.extend_from_slice(&crc.to_be_bytes());
        snapshot.extend_from_slice(&out);
        snapshot
    }

    fn decode(buf: &[u8]) -> std::result::Result<Self, String> {
        let mut r = Reader { buf, pos: 0 };
        let version = r.u16()?;
        if version != SNAPSHOT_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        let crc = r.u32()?;
        if crc32c::crc32c(buf.get(6..).unwrap_or(&[])) != crc {
            return Err("snapshot CRC mismatch".into());
        }
        let mut state = ProducerStateManager::new();
        for _ in 0..r.u32()? {
            let id = r.i64()?;
            let epoch = r.u16()? as i16;
            let coordinator_epoch = r.u32()? as i32;
            let last_timestamp = r.i64()?;
            let txn = r.i64()?;
            let n = r.u8()?;
            let mut batches = VecDeque::new();
            for _ in 0..n {
                batches.push_back(BatchMetadata {
                    first_seq: r.u32()? as i32,
                    last_seq: r.u32()? as i32,
                    first_offset: r.i64()?,
                    last_offset: r.i64()?,
                    timestamp: r.i64()?,
                });
            }
            let txn_first_offset = (txn >= 0).then_some(txn);
            if let Some(first) = txn_first_offset {
                state.ongoing.insert(first, id);
            }
            state.producers.insert(
                id,
                ProducerEntry {
                    epoch,
                    batches,
                    coordinator_epoch,
                    last_timestamp,
                    txn_first_offset,
                },
            );
        }
        for _ in 0..r.u32()? {
            state.aborted.push(AbortedTxn {
                producer_id: r.i64()?,
                first_offset: r.i64()?,
                last_offset: r.i64()?,
            });
        }
        if r.pos != buf.len() {
            return Err("trailing bytes in snapshot".into());
        }
        Ok(state)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let s = self
            .buf
            .get(self.pos..)
            .and_then(|rest| rest.first_chunk::<N>())
            .ok_or_else(|| "truncated snapshot".to_string())?;
        self.pos += N;
        Ok(*s)
    }
    fn u8(&mut self) -> std::result::Result<u8, String> {
        self.take().map(u8::from_be_bytes)
    }
    fn u16(&mut self) -> std::result::Result<u16, String> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        self.take().map(u32::from_be_bytes)
    }
    fn i64(&mut self) -> std::result::Result<i64, String> {
        self.take().map(i64::from_be_bytes)
    }
}

fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}{SNAPSHOT_SUFFIX}"))
}

/// Offsets of the snapshots in `dir`, ascending.
pub fn list_snapshots(dir: &Path) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(SNAPSHOT_SUFFIX) {
            if let Ok(offset) = stem.parse::<i64>() {
                out.push(offset);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Writes a snapshot of `state` taken at log end offset `offset`, keeping the two newest.
pub fn write_snapshot(dir: &Path, offset: i64, state: &ProducerStateManager) -> Result<()> {
    write_atomically(&snapshot_path(dir, offset), &state.encode())?;
    let all = list_snapshots(dir)?;
    for old in all.iter().take(all.len().saturating_sub(2)) {
        fs::remove_file(snapshot_path(dir, *old))?;
    }
    Ok(())
}

/// Loads the newest readable snapshot at or below `max_offset`, deleting those above it
/// (they describe a log that was truncated). Unreadable snapshots are skipped with a warning.
pub fn load_snapshot(dir: &Path, max_offset: i64) -> Result<Option<(i64, ProducerStateManager)>> {
    let all = list_snapshots(dir)?;
    for offset in all.iter().rev() {
        let path = snapshot_path(dir, *offset);
        if *offset > max_offset {
            fs::remove_file(&path)?;
            continue;
        }
        match fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| ProducerStateManager::decode(&b))
        {
            Ok(state) => return Ok(Some((*offset, state))),
            Err(e) => {
                tracing::warn!(snapshot = %path.display(), error = %e, "skipping bad producer snapshot");
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, base: i64, n: i32) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: n - 1,
            base_timestamp: 10,
            max_timestamp: 10,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: n,
        }
    }

    #[test]
    fn sequences_duplicates_and_epochs() {
        let mut s = ProducerStateManager::new();
        // An unknown producer may start anywhere.
        assert_eq!(
            s.check(&header(7, 0, 5, 0, 3)).unwrap(),
            SequenceCheck::Append
        );
        s.update(&header(7, 0, 5, 0, 3), None).unwrap();
        // Next in sequence.
        assert_eq!(
            s.check(&header(7, 0, 8, 3, 2)).unwrap(),
            SequenceCheck::Append
        );
        s.update(&header(7, 0, 8, 3, 2), None).unwrap();
        // A retry of the first batch is a duplicate with its original offsets.
        match s.check(&header(7, 0, 5, 99, 3)).unwrap() {
            SequenceCheck::Duplicate(b) => assert_eq!((b.first_offset, b.last_offset), (0, 2)),
            other => panic!("{other:?}"),
        }
        // A gap is refused.
        assert!(matches!(
            s.check(&header(7, 0, 11, 5, 1)),
            Err(StorageError::OutOfOrderSequence {
                expected: 10,
                got: 11,
                ..
            })
        ));
        // A stale epoch is refused; a new epoch must start at 0.
        s.update(&header(7, 1, 0, 5, 1), None).unwrap();
        assert!(matches!(
            s.check(&header(7, 0, 1, 6, 1)),
            Err(StorageError::InvalidProducerEpoch { .. })
        ));
        assert!(matches!(
            s.check(&header(7, 2, 4, 6, 1)),
            Err(StorageError::OutOfOrderSequence { .. })
        ));
        assert_eq!(
            s.check(&header(7, 2, 0, 6, 1)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn only_five_batches_are_remembered_and_sequences_wrap() {
        let mut s = ProducerStateManager::new();
        for i in 0..7 {
            s.update(&header(1, 0, i, i as i64, 1), None).unwrap();
        }
        assert_eq!(s.producer(1).unwrap().batches.len(), RETAINED_BATCHES);
        assert!(matches!(
            s.check(&header(1, 0, 0, 9, 1)),
            Err(StorageError::OutOfOrderSequence { .. })
        ));
        assert!(matches!(
            s.check(&header(1, 0, 2, 9, 1)).unwrap(),
            SequenceCheck::Duplicate(_)
        ));
        let mut w = ProducerStateManager::new();
        w.update(&header(2, 0, i32::MAX - 1, 0, 2), None).unwrap();
        assert_eq!(
            w.check(&header(2, 0, 0, 2, 1)).unwrap(),
            SequenceCheck::Append
        );
    }

    #[test]
    fn transactions_track_lso_and_aborts_and_snapshot_round_trips() {
        let mut s = ProducerStateManager::new();
        let mut t = header(3, 0, 0, 10, 2);
        t.attributes = crate::storage::record::batch::ATTR_TRANSACTIONAL;
        s.update(&t, None).unwrap();
        let mut u = header(4, 0, 0, 12, 1);
        u.attributes = crate::storage::record::batch::ATTR_TRANSACTIONAL;
        s.update(&u, None).unwrap();
        assert_eq!(s.first_unstable_offset(), Some(10));
        let mut marker = header(3, 0, -1, 13, 1);
        marker.attributes = crate::storage::record::batch::ATTR_TRANSACTIONAL
            | crate::storage::record::batch::ATTR_CONTROL;
        s.update(&marker, Some((ControlRecordType::Abort, 5)))
            .unwrap();
        assert_eq!(s.first_unstable_offset(), Some(12));
        assert_eq!(
            s.aborted_between(0, 100),
            vec![AbortedTxn {
                producer_id: 3,
                first_offset: 10,
                last_offset: 13
            }]
        );
        assert!(s.aborted_between(14, 100).is_empty());
        let decoded = ProducerStateManager::decode(&s.encode()).unwrap();
        assert_eq!(decoded, s);
        let mut bad = s.encode();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(ProducerStateManager::decode(&bad).is_err());
        // Producer 3 is idle with no open transaction; 4 has one and stays.
        assert_eq!(s.expire(i64::MAX), 1);
        assert!(s.producer(3).is_none());
        assert!(s.producer(4).is_some());
    }
}
