//! One segment of a partition log: `<base_offset>.log` holding whole record batches exactly as
//! stored, with its `.index` and `.timeindex` beside it.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::storage::error::{Result, StorageError};
use crate::storage::index::{OffsetIndex, OffsetPosition, TimeIndex, TimestampOffset};
use crate::storage::record::{BatchHeader, BATCH_HEADER_LEN};

/// File name stem of a segment: the base offset, zero-padded to 20 digits like Kafka.
pub fn file_stem(base_offset: i64) -> String {
    format!("{base_offset:020}")
}

/// What a recovery scan of a segment found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryOutcome {
    /// Number of valid batches kept.
    pub batches: u64,
    /// Bytes cut from a torn or corrupt tail.
    pub truncated_bytes: u64,
}

/// A segment: an append-only file of record batches and its sparse indexes.
#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    path: PathBuf,
    file: Arc<File>,
    size: u64,
    next_offset: i64,
    index: OffsetIndex,
    time_index: TimeIndex,
    bytes_since_index: usize,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    position_of_max_timestamp: u64,
    first_timestamp: Option<i64>,
}

/// A segment as it was when a read was planned (see [`Segment::snapshot`]).
#[derive(Debug, Clone)]
pub struct SegmentSnapshot {
    file: Arc<File>,
    base_offset: i64,
    size: u64,
    start: u64,
}

/// Bytes one `pread` of a fetch copies at most. The kernel copies a read from the page
/// cache without a chance to reschedule (this machine's kernel is `PREEMPT_NONE`), so a
/// 1 MiB read holds its core for the whole copy: a producer's thread woken meanwhile waits
/// for it. Reading in pieces returns to user space between them, where the scheduler can
/// run a woken thread. (Measured on the cold-backlog bench row; see ARCHITECTURE.md.)
const READ_PIECE: usize = 128 * 1024;

/// How a planned read may touch the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Ordinary `pread`s: wait for the disk if the bytes are not in the page cache.
    Blocking,
    /// `preadv2(RWF_NOWAIT)`: only bytes already in the page cache; a read that would
    /// wait gives up (the caller then reads on a blocking thread).
    CachedOnly,
}

/// Reads `buf.len()` bytes at `pos`, at most [`READ_PIECE`] per system call. `Ok(false)`:
/// under [`ReadMode::CachedOnly`], some of the bytes were not in the page cache.
fn pread_exact(file: &File, buf: &mut [u8], pos: u64, mode: ReadMode) -> Result<bool> {
    let mut at = pos;
    for piece in buf.chunks_mut(READ_PIECE) {
        match mode {
            ReadMode::Blocking => file.read_exact_at(piece, at)?,
            ReadMode::CachedOnly => {
                let want = piece.len();
                let got = match rustix::io::preadv2(
                    file,
                    &mut [std::io::IoSliceMut::new(piece)],
                    at,
                    rustix::io::ReadWriteFlags::NOWAIT,
                ) {
                    Ok(n) => n,
                    // EAGAIN: not cached. EOPNOTSUPP/EINVAL: a file system or kernel
                    // without RWF_NOWAIT. Either way the blocking read decides.
                    Err(_) => return Ok(false),
                };
                if got < want {
                    return Ok(false);
                }
            }
        }
        at += piece.len() as u64;
    }
    Ok(true)
}

impl SegmentSnapshot {
    /// The segment's base offset.
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Bytes from the planned start to the segment's end when planned: an upper bound on
    /// what a read of this segment copies before `max_bytes` caps it.
    pub fn planned_len(&self) -> u64 {
        self.size.saturating_sub(self.start)
    }

    /// Byte position and header of the first batch whose last offset is ≥ `offset`, at or
    /// after the planned start.
    pub fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        match self.find_batch_with(offset, ReadMode::Blocking)? {
            Some(found) => Ok(found),
            None => Ok(None),
        }
    }

    /// [`SegmentSnapshot::find_batch`] under `mode`: the outer `None` means a header was not
    /// in the page cache (only under [`ReadMode::CachedOnly`]).
    fn find_batch_with(
        &self,
        offset: i64,
        mode: ReadMode,
    ) -> Result<Option<Option<(u64, BatchHeader)>>> {
        let mut pos = self.start;
        while pos < self.size {
            let mut buf = [0u8; BATCH_HEADER_LEN];
            if !pread_exact(&self.file, &mut buf, pos, mode)? {
                return Ok(None);
            }
            let h = BatchHeader::parse(&buf)?;
            if h.last_offset() >= offset {
                return Ok(Some(Some((pos, h))));
            }
            pos += h.total_len() as u64;
        }
        Ok(Some(None))
    }

    /// Whole batches starting with the one holding `offset`, up to `max_bytes` but always at
    /// least that first batch. `None` if no batch reaches `offset`.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Option<Bytes>> {
        match self.read_with(offset, max_bytes, ReadMode::Blocking)? {
            Some(read) => Ok(read),
            None => Ok(None),
        }
    }

    /// [`SegmentSnapshot::read`] under `mode`: the outer `None` means some bytes were not
    /// in the page cache (only under [`ReadMode::CachedOnly`]).
    pub fn read_with(
        &self,
        offset: i64,
        max_bytes: usize,
        mode: ReadMode,
    ) -> Result<Option<Option<Bytes>>> {
        let Some(found) = self.find_batch_with(offset, mode)? else {
            return Ok(None);
        };
        let Some((pos, first)) = found else {
            return Ok(Some(None));
        };
        let available = (self.size - pos) as usize;
        let want = max_bytes.max(first.total_len()).min(available);
        let mut buf = vec![0u8; want];
        if !pread_exact(&self.file, &mut buf, pos, mode)? {
            return Ok(None);
        }
        // Trim to whole batches.
        let mut end = 0usize;
        while end + BATCH_HEADER_LEN <= buf.len() {
            let h = BatchHeader::parse(buf.get(end..).unwrap_or_default())?;
            if end + h.total_len() > buf.len() {
                break;
            }
            end += h.total_len();
        }
        buf.truncate(end);
        Ok(Some(Some(Bytes::from(buf))))
    }
}

impl Segment {
    /// The paths of the segment of `base_offset` in `dir`: its log, offset index and time
    /// index.
    pub fn paths(dir: &Path, base_offset: i64) -> (PathBuf, PathBuf, PathBuf) {
        let stem = file_stem(base_offset);
        (
            dir.join(format!("{stem}.log")),
            dir.join(format!("{stem}.index")),
            dir.join(format!("{stem}.timeindex")),
        )
    }

    /// Creates a new, empty segment (replacing any leftover files of the same base offset).
    pub fn create(dir: &Path, base_offset: i64) -> Result<Segment> {
        let (log_path, index_path, time_path) = Self::paths(dir, base_offset);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&log_path)?;
        let mut index = OffsetIndex::open(&index_path)?;
        index.reset(Vec::new())?;
        let mut time_index = TimeIndex::open(&time_path)?;
        time_index.reset(Vec::new())?;
        Ok(Segment {
            base_offset,
            path: log_path,
            file: Arc::new(file),
            size: 0,
            next_offset: base_offset,
            index,
            time_index,
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            position_of_max_timestamp: 0,
            first_timestamp: None,
        })
    }

    /// Opens an existing segment. With `recover`, every batch is read and CRC-checked, a torn
    /// or corrupt tail is truncated and both indexes are rebuilt. Without it, the indexes are
    /// trusted when sane (else rebuilt by a checked scan, where any corrupt batch is an error)
    /// and only the batch headers after the last index entry are read.
    pub fn open(dir: &Path, base_offset: i64, recover: bool) -> Result<(Segment, RecoveryOutcome)> {
        let (log_path, index_path, time_path) = Self::paths(dir, base_offset);
        let file = OpenOptions::new().read(true).write(true).open(&log_path)?;
        let size = file.metadata()?.len();
        let mut seg = Segment {
            base_offset,
            path: log_path,
            file: Arc::new(file),
            size,
            next_offset: base_offset,
            index: OffsetIndex::open(&index_path)?,
            time_index: TimeIndex::open(&time_path)?,
            bytes_since_index: 0,
            max_timestamp: -1,
            offset_of_max_timestamp: -1,
            position_of_max_timestamp: 0,
            first_timestamp: None,
        };
        if recover {
            let outcome = seg.rebuild(true)?;
            return Ok((seg, outcome));
        }
        if seg.load_from_indexes()? {
            Ok((seg, RecoveryOutcome::default()))
        } else {
            let outcome = seg.rebuild(false)?;
            Ok((seg, outcome))
        }
    }

    /// Trusts the indexes: finds the end by reading headers after the last index entry.
    /// Returns false if anything disagrees (the caller then rebuilds).
    fn load_from_indexes(&mut self) -> Result<bool> {
        let start = self.index.last().copied();
        let (mut pos, mut next) = match start {
            Some(e) => (e.position, e.offset),
            None => (0, self.base_offset),
        };
        if pos > self.size {
            return Ok(false);
        }
        if self.size > 0 && (self.index.last().is_none() || self.time_index.last().is_none()) {
            return Ok(false);
        }
        if let Some(t) = self.time_index.last() {
            self.max_timestamp = t.timestamp;
            self.offset_of_max_timestamp = t.offset;
            self.position_of_max_timestamp = t.position;
        }
        let mut tail_bytes = 0usize;
        while pos < self.size {
            let h = match self.read_header(pos) {
                Ok(h) => h,
                Err(_) => return Ok(false),
            };
            if h.base_offset < next || pos + h.total_len() as u64 > self.size {
                return Ok(false);
            }
            if h.max_timestamp > self.max_timestamp {
                self.max_timestamp = h.max_timestamp;
                self.offset_of_max_timestamp = h.base_offset;
                self.position_of_max_timestamp = pos;
            }
            next = h.next_offset();
            pos += h.total_len() as u64;
            tail_bytes += h.total_len();
        }
        if pos != self.size {
            return Ok(false);
        }
        self.next_offset = next;
        let bound = next.max(self.base_offset + 1);
        if !self.index.is_sane(self.base_offset, bound)?
            || !self.time_index.is_sane(self.base_offset, bound)?
        {
            return Ok(false);
        }
        if self.size > 0 {
            let first = self.read_header(0)?;
            self.first_timestamp = Some(first.max_timestamp);
        }
        self.bytes_since_index = tail_bytes;
        Ok(true)
    }

    /// Scans every batch from the start, rebuilding both indexes. With `truncate_tail`, the
    /// first invalid batch and everything after it are cut; otherwise it is an error.
    fn rebuild(&mut self, truncate_tail: bool) -> Result<RecoveryOutcome> {
        let mut reader = BufReader::with_capacity(1 << 20, self.file.as_ref());
        reader.seek(SeekFrom::Start(0))?;
        let mut index = Vec::new();
        let mut times: Vec<TimestampOffset> = Vec::new();
        let mut pos = 0u64;
        let mut next = self.base_offset;
        let mut since_index = usize::MAX;
        let mut batches = 0u64;
        let mut buf = BytesMut::new();
        self.max_timestamp = -1;
        self.offset_of_max_timestamp = -1;
        self.first_timestamp = None;
        let index_interval = 4096usize;
        let bad = loop {
            if pos == self.size {
                break None;
            }
            buf.resize(BATCH_HEADER_LEN, 0);
            if let Err(e) = reader.read_exact(&mut buf[..]) {
                break Some(format!("short header at {pos}: {e}"));
            }
            let h = match BatchHeader::parse(&buf) {
                Ok(h) => h,
                Err(e) => break Some(format!("bad header at {pos}: {e}")),
            };
            let total = h.total_len();
            if pos + total as u64 > self.size {
                break Some(format!("batch at {pos} runs past the end"));
            }
            buf.resize(total, 0);
            if let Err(e) = reader.read_exact(buf.get_mut(BATCH_HEADER_LEN..).unwrap_or_default()) {
                break Some(format!("short batch at {pos}: {e}"));
            }
            if let Err(e) = BatchHeader::parse_and_validate(&buf) {
                break Some(format!("batch at {pos}: {e}"));
            }
            if h.base_offset < next {
                break Some(format!(
                    "batch at {pos} has offset {} below the expected {next}",
                    h.base_offset
                ));
            }
            if since_index >= index_interval {
                index.push(OffsetPosition {
                    offset: h.base_offset,
                    position: pos,
                });
                since_index = 0;
            }
            since_index += total;
            if h.max_timestamp > self.max_timestamp || times.is_empty() {
                times.push(TimestampOffset {
                    timestamp: h.max_timestamp.max(self.max_timestamp),
                    offset: h.base_offset,
                    position: pos,
                });
                if h.max_timestamp > self.max_timestamp {
                    self.max_timestamp = h.max_timestamp;
                    self.offset_of_max_timestamp = h.base_offset;
                    self.position_of_max_timestamp = pos;
                }
            }
            if self.first_timestamp.is_none() {
                self.first_timestamp = Some(h.max_timestamp);
            }
            next = h.next_offset();
            pos += total as u64;
            batches += 1;
        };
        let mut outcome = RecoveryOutcome {
            batches,
            truncated_bytes: 0,
        };
        if let Some(reason) = bad {
            if !truncate_tail {
                return Err(StorageError::LogCorrupted(format!(
                    "{}: {reason}",
                    self.path.display()
                )));
            }
            tracing::warn!(segment = %self.path.display(), %reason, "truncating torn log tail");
            outcome.truncated_bytes = self.size - pos;
            self.file.set_len(pos)?;
            self.file.sync_all()?;
            self.size = pos;
        }
        self.next_offset = next;
        self.bytes_since_index = if since_index == usize::MAX {
            0
        } else {
            since_index
        };
        self.index.reset(index)?;
        self.time_index.reset(times)?;
        Ok(outcome)
    }

    /// Reads the fixed header of the batch at byte `pos`.
    pub fn read_header(&self, pos: u64) -> Result<BatchHeader> {
        let mut buf = [0u8; BATCH_HEADER_LEN];
        self.file.read_exact_at(&mut buf, pos)?;
        BatchHeader::parse(&buf)
    }

    /// Appends one validated batch (base offset already assigned). A failed append (a full
    /// disk, say) changes nothing: what part of the batch reached the file is cut off again,
    /// so the segment still ends with its last whole batch and a later append goes on from
    /// there.
    pub fn append(&mut self, batch: &[u8], h: &BatchHeader, index_interval: usize) -> Result<()> {
        crate::storage::fault::check(&self.path, crate::storage::fault::FaultOp::Write)?;
        let pos = self.size;
        if let Err(e) = self.file.write_all_at(batch, pos) {
            self.cut_back(pos);
            return Err(e.into());
        }
        let index_due = self.index.last().is_none() || self.bytes_since_index >= index_interval;
        if index_due {
            let indexed = self.index.append(OffsetPosition {
                offset: h.base_offset,
                position: pos,
            });
            if let Err(e) = indexed {
                self.cut_back(pos);
                return Err(e);
            }
        }
        self.size += batch.len() as u64;
        self.next_offset = h.next_offset();
        if h.max_timestamp > self.max_timestamp || pos == 0 {
            self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
            self.offset_of_max_timestamp = h.base_offset;
            self.position_of_max_timestamp = pos;
        }
        if index_due {
            self.bytes_since_index = 0;
            // The time index is sparse: an entry that cannot be written is only missed (a
            // lookup starts from an earlier entry), never wrong.
            if let Err(e) = self.maybe_append_time_entry() {
                tracing::warn!(segment = %self.path.display(), error = %e,
                    "time index entry not written");
            }
        }
        self.bytes_since_index += batch.len();
        if self.first_timestamp.is_none() {
            self.first_timestamp = Some(h.max_timestamp);
        }
        Ok(())
    }

    /// Cuts the log file back to `len` bytes after a failed append (best effort: shrinking a
    /// file needs no space; if it fails too, recovery truncates the torn tail on the next
    /// start, and the next append overwrites it meanwhile).
    fn cut_back(&mut self, len: u64) {
        if let Err(e) = self.file.set_len(len) {
            tracing::warn!(segment = %self.path.display(), error = %e,
                "cannot cut a failed append off the segment");
        }
    }

    /// Records the segment's max timestamp in the time index if it grew since the last entry.
    /// Entries are sparse (at offset-index points, and when the segment is synced or sealed):
    /// every batch before an entry's position has a timestamp ≤ the entry's.
    fn maybe_append_time_entry(&mut self) -> Result<()> {
        let grew = self
            .time_index
            .last()
            .is_none_or(|t| self.max_timestamp > t.timestamp);
        if grew && (self.size > 0 || self.next_offset > self.base_offset) {
            self.time_index.append(TimestampOffset {
                timestamp: self.max_timestamp,
                offset: self.offset_of_max_timestamp,
                position: self.position_of_max_timestamp,
            })?;
        }
        Ok(())
    }

    /// Byte position and header of the first batch whose last offset is ≥ `offset`.
    pub fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        self.snapshot(offset).find_batch(offset)
    }

    /// Whole batches starting with the one holding `offset`, up to `max_bytes` but always at
    /// least that first batch. `None` if no batch in this segment reaches `offset`.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Option<Bytes>> {
        self.snapshot(offset).read(offset, max_bytes)
    }

    /// What a read of `offset` needs, taken without touching the disk: the file handle,
    /// the size now, and where the offset index says to start looking. Reading it later,
    /// without the log's lock, sees the segment as it is now (it only ever grows, and a
    /// deleted or replaced segment's open file keeps its bytes).
    pub fn snapshot(&self, offset: i64) -> SegmentSnapshot {
        SegmentSnapshot {
            file: Arc::clone(&self.file),
            base_offset: self.base_offset,
            size: self.size,
            start: self.index.lookup(offset).map_or(0, |e| e.position),
        }
    }

    /// Position and header of the first batch whose max timestamp is ≥ `timestamp` and whose
    /// last offset is ≥ `min_offset` (the log start offset).
    pub fn find_by_timestamp(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<(u64, BatchHeader)>> {
        if self.max_timestamp < timestamp || self.next_offset <= min_offset {
            return Ok(None);
        }
        let by_time = self
            .time_index
            .lookup_before(timestamp)
            .map_or(0, |e| e.position);
        let by_offset = self.index.lookup(min_offset).map_or(0, |e| e.position);
        let mut pos = by_time.max(by_offset);
        while pos < self.size {
            let h = self.read_header(pos)?;
            if h.max_timestamp >= timestamp && h.last_offset() >= min_offset {
                return Ok(Some((pos, h)));
            }
            pos += h.total_len() as u64;
        }
        Ok(None)
    }

    /// Reads `len` bytes at `pos`.
    pub fn read_at(&self, pos: u64, len: usize) -> Result<Bytes> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, pos)?;
        Ok(Bytes::from(buf))
    }

    /// Base offset (offset of the first batch this segment may hold).
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// The offset after the last stored batch.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Size of the log file in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Largest batch max timestamp, or -1 for an empty segment.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// Base offset of the batch carrying the max timestamp, or -1.
    pub fn offset_of_max_timestamp(&self) -> i64 {
        self.offset_of_max_timestamp
    }

    /// Max timestamp of the first batch (what time-based rolling and retention measure).
    pub fn first_timestamp(&self) -> Option<i64> {
        self.first_timestamp
    }

    /// The log file handle, for syncing without holding the log's lock.
    pub fn file_handle(&self) -> Arc<File> {
        Arc::clone(&self.file)
    }

    /// Forces the log file and both indexes to disk.
    pub fn sync(&mut self) -> Result<()> {
        self.maybe_append_time_entry()?;
        crate::storage::fault::check(&self.path, crate::storage::fault::FaultOp::Sync)
            .map_err(StorageError::SyncFailed)?;
        self.file.sync_data().map_err(StorageError::SyncFailed)?;
        self.index.sync()?;
        self.time_index.sync()?;
        Ok(())
    }

    /// Syncs only the indexes (the log file is synced by the group commit).
    pub fn sync_indexes(&mut self) -> Result<()> {
        self.index.sync()?;
        self.time_index.sync()
    }

    /// Removes the segment's files.
    pub fn delete(self) -> Result<()> {
        let path = self.path.clone();
        self.index.delete()?;
        self.time_index.delete()?;
        drop(self.file);
        std::fs::remove_file(path)?;
        Ok(())
    }
}
