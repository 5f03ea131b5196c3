//! The sparse indexes beside each segment: offset → file position (`.index`) and
//! timestamp → offset (`.timeindex`). Both are append-only files of fixed-size entries,
//! mirrored in memory for lookups, and rebuilt from the log when they disagree with it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::storage::error::{Result, StorageError};

/// One fixed-size entry of an index file.
pub trait IndexEntry: Copy {
    /// Encoded size in bytes.
    const SIZE: usize;
    /// Appends the entry's `SIZE` bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Decodes an entry from the first `SIZE` bytes of `b`, or `None` if `b` is shorter.
    fn decode(b: &[u8]) -> Option<Self>;
    /// The key the index is ordered by (offset for both kinds of index).
    fn offset(&self) -> i64;
}

/// An offset-index entry: the batch at `offset` starts at byte `position` of the segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    /// Absolute offset of a batch's first record.
    pub offset: i64,
    /// Byte position of the batch in the segment file.
    pub position: u64,
}

/// A time-index entry: batches up to `offset` have timestamps up to `timestamp`, and the batch
/// starting at `offset` (byte `position`) is the first to reach `timestamp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    /// Largest timestamp seen so far in the segment.
    pub timestamp: i64,
    /// Base offset of the batch that first carried `timestamp`.
    pub offset: i64,
    /// Byte position of that batch.
    pub position: u64,
}

/// Takes a big-endian `i64` off the front of `b`.
fn take_i64(b: &mut &[u8]) -> Option<i64> {
    let (head, rest) = b.split_first_chunk::<8>()?;
    *b = rest;
    Some(i64::from_be_bytes(*head))
}

impl IndexEntry for OffsetPosition {
    const SIZE: usize = 16;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(mut b: &[u8]) -> Option<Self> {
        Some(OffsetPosition {
            offset: take_i64(&mut b)?,
            position: take_i64(&mut b)? as u64,
        })
    }
    fn offset(&self) -> i64 {
        self.offset
    }
}

impl IndexEntry for TimestampOffset {
    const SIZE: usize = 24;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
    fn decode(mut b: &[u8]) -> Option<Self> {
        Some(TimestampOffset {
            timestamp: take_i64(&mut b)?,
            offset: take_i64(&mut b)?,
            position: take_i64(&mut b)? as u64,
        })
    }
    fn offset(&self) -> i64 {
        self.offset
    }
}

/// An append-only index file mirrored in memory.
#[derive(Debug)]
pub struct IndexFile<E: IndexEntry> {
    path: PathBuf,
    file: File,
    entries: Vec<E>,
    dirty: bool,
}

impl<E: IndexEntry> IndexFile<E> {
    /// Opens (or creates) the index at `path` and loads its entries. A trailing partial entry
    /// is ignored; use [`IndexFile::is_sane`] to decide whether to trust the rest.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf)?;
        // Every chunk holds exactly `SIZE` bytes, so `decode` never stops the walk early.
        let entries = buf.chunks_exact(E::SIZE).map_while(E::decode).collect();
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            entries,
            dirty: false,
        })
    }

    /// Whether the entries are strictly increasing in offset, lie within
    /// `[base_offset, next_offset)` and the file has no partial entry.
    pub fn is_sane(&self, base_offset: i64, next_offset: i64) -> Result<bool> {
        let len = self.file.metadata()?.len();
        if len % E::SIZE as u64 != 0 {
            return Ok(false);
        }
        let mut prev = i64::MIN;
        for e in &self.entries {
            if e.offset() <= prev || e.offset() < base_offset || e.offset() >= next_offset {
                return Ok(false);
            }
            prev = e.offset();
        }
        Ok(true)
    }

    /// The in-memory entries.
    pub fn entries(&self) -> &[E] {
        &self.entries
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<&E> {
        self.entries.last()
    }

    /// Appends an entry (the caller keeps offsets increasing).
    pub fn append(&mut self, entry: E) -> Result<()> {
        let mut buf = Vec::with_capacity(E::SIZE);
        entry.encode(&mut buf);
        if let Err(e) = self.file.write_all(&buf) {
            // A partial entry (a full disk) would shift every later one: cut it off.
            let _ = self.file.set_len((self.entries.len() * E::SIZE) as u64);
            return Err(e.into());
        }
        self.entries.push(entry);
        self.dirty = true;
        Ok(())
    }

    /// Index of the last entry satisfying `pred`, where `pred` is true for a prefix.
    pub fn last_matching(&self, pred: impl Fn(&E) -> bool) -> Option<&E> {
        let n = self.entries.partition_point(pred);
        n.checked_sub(1).and_then(|i| self.entries.get(i))
    }

    /// Drops every entry with offset ≥ `offset` (log truncation).
    pub fn truncate_from(&mut self, offset: i64) -> Result<()> {
        let keep = self.entries.partition_point(|e| e.offset() < offset);
        if keep < self.entries.len() {
            self.entries.truncate(keep);
            self.rewrite()?;
        }
        Ok(())
    }

    /// Replaces the index with `entries` (rebuild after recovery).
    pub fn reset(&mut self, entries: Vec<E>) -> Result<()> {
        self.entries = entries;
        self.rewrite()
    }

    fn rewrite(&mut self) -> Result<()> {
        let mut buf = Vec::with_capacity(self.entries.len() * E::SIZE);
        for e in &self.entries {
            e.encode(&mut buf);
        }
        self.file.set_len(0)?;
        self.file.write_all(&buf)?;
        self.dirty = true;
        Ok(())
    }

    /// Forces the index file to disk if it changed.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.file.sync_data().map_err(StorageError::SyncFailed)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Deletes the index file.
    pub fn delete(self) -> Result<()> {
        drop(self.file);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// The `.index` file of a segment.
pub type OffsetIndex = IndexFile<OffsetPosition>;
/// The `.timeindex` file of a segment.
pub type TimeIndex = IndexFile<TimestampOffset>;

impl OffsetIndex {
    /// The entry of the largest indexed offset ≤ `offset`, if any.
    pub fn lookup(&self, offset: i64) -> Option<OffsetPosition> {
        self.last_matching(|e| e.offset <= offset).copied()
    }
}

impl TimeIndex {
    /// The last entry whose timestamp is below `timestamp`: every batch before its position has
    /// smaller timestamps, so a search for `timestamp` may start there.
    pub fn lookup_before(&self, timestamp: i64) -> Option<TimestampOffset> {
        self.last_matching(|e| e.timestamp < timestamp).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_sanity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.index");
        let mut idx = OffsetIndex::open(&path).unwrap();
        for (o, p) in [(10, 0), (20, 100), (35, 250)] {
            idx.append(OffsetPosition {
                offset: o,
                position: p,
            })
            .unwrap();
        }
        assert_eq!(idx.lookup(5), None);
        assert_eq!(idx.lookup(20).unwrap().position, 100);
        assert_eq!(idx.lookup(34).unwrap().position, 100);
        assert!(idx.is_sane(10, 40).unwrap());
        assert!(!idx.is_sane(10, 30).unwrap());
        idx.truncate_from(20).unwrap();
        drop(idx);
        let idx = OffsetIndex::open(&path).unwrap();
        assert_eq!(idx.entries().len(), 1);
        // A torn trailing entry makes the file insane.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, bytes).unwrap();
        let idx = OffsetIndex::open(&path).unwrap();
        assert!(!idx.is_sane(10, 40).unwrap());
    }

    #[test]
    fn time_lookup_finds_last_entry_below() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = TimeIndex::open(&dir.path().join("x.timeindex")).unwrap();
        for (t, o) in [(100, 0), (300, 5), (500, 9)] {
            idx.append(TimestampOffset {
                timestamp: t,
                offset: o,
                position: o as u64 * 10,
            })
            .unwrap();
        }
        assert_eq!(idx.lookup_before(100), None);
        assert_eq!(idx.lookup_before(101).unwrap().offset, 0);
        assert_eq!(idx.lookup_before(500).unwrap().offset, 5);
        assert_eq!(idx.lookup_before(9999).unwrap().offset, 9);
    }
}
