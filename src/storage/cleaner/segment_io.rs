//! Reading the batches of a closed segment without the log's lock, and writing a cleaned
//! segment (log file and both indexes) under its `.cleaned` names.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::storage::error::{Result, StorageError};
use crate::storage::index::{OffsetIndex, OffsetPosition, TimeIndex, TimestampOffset};
use crate::storage::log::SegmentView;
use crate::storage::record::{BatchHeader, BATCH_HEADER_LEN};
use crate::storage::swap;

/// Sequential reader of the batches of a segment file up to a fixed size.
#[derive(Debug)]
pub struct BatchReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    buf_start: u64,
    io_buffer: usize,
}

impl BatchReader {
    /// Iterates the whole batches of `seg`'s snapshot, CRC-checked, reading `io_buffer`
    /// bytes at a time.
    pub fn new(seg: &SegmentView, io_buffer: usize) -> BatchReader {
        BatchReader {
            file: Arc::clone(seg.file()),
            pos: 0,
            end: seg.size,
            buf: Vec::new(),
            buf_start: 0,
            io_buffer: io_buffer.max(BATCH_HEADER_LEN),
        }
    }

    /// Makes `[pos, pos + len)` available in the buffer.
    fn ensure(&mut self, len: usize) -> Result<()> {
        let have_from = self.buf_start;
        let have_to = self.buf_start + self.buf.len() as u64;
        if self.pos >= have_from && self.pos + len as u64 <= have_to {
            return Ok(());
        }
        let want = (self.end - self.pos).min(len.max(self.io_buffer) as u64) as usize;
        self.buf.resize(want, 0);
        self.file.read_exact_at(&mut self.buf, self.pos)?;
        self.buf_start = self.pos;
        Ok(())
    }

    /// The next batch as `(position, bytes)`, validated; `None` at the end.
    pub fn next_batch(&mut self) -> Result<Option<(u64, Bytes)>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        if self.end - self.pos < BATCH_HEADER_LEN as u64 {
            return Err(StorageError::LogCorrupted(format!(
                "{} stray bytes at the end of a closed segment",
                self.end - self.pos
            )));
        }
        self.ensure(BATCH_HEADER_LEN)?;
        let at = (self.pos - self.buf_start) as usize;
        let h = BatchHeader::parse(self.buf.get(at..).unwrap_or_default())?;
        let total = h.total_len();
        if self.pos + total as u64 > self.end {
            return Err(StorageError::LogCorrupted(format!(
                "batch at {} runs past the end of its closed segment",
                self.pos
            )));
        }
        self.ensure(total)?;
        let at = (self.pos - self.buf_start) as usize;
        let slice = self
            .buf
            .get(at..at + total)
            .ok_or_else(|| StorageError::LogCorrupted("short segment read".into()))?;
        BatchHeader::parse_and_validate(slice)?;
        let out = (self.pos, Bytes::copy_from_slice(slice));
        self.pos += total as u64;
        Ok(Some(out))
    }
}

/// Writes one cleaned segment: `<base>.log.cleaned` with `.index.cleaned` and
/// `.timeindex.cleaned` beside it, indexed the way the segment's own recovery indexes.
pub struct CleanedSegmentWriter {
    dir: PathBuf,
    base_offset: i64,
    out: BufWriter<File>,
    size: u64,
    index_interval: usize,
    since_index: usize,
    offsets: Vec<OffsetPosition>,
    times: Vec<TimestampOffset>,
    max_timestamp: i64,
    last_next_offset: i64,
}

impl std::fmt::Debug for CleanedSegmentWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanedSegmentWriter")
            .field("dir", &self.dir)
            .field("base_offset", &self.base_offset)
            .field("size", &self.size)
            .finish()
    }
}

impl CleanedSegmentWriter {
    /// Starts a cleaned segment of `base_offset` in `dir`, replacing any leftover.
    pub fn create(dir: &Path, base_offset: i64, index_interval: usize) -> Result<Self> {
        swap::discard_cleaned(dir, base_offset)?;
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(swap::cleaned_path(dir, base_offset, "log"))?;
        Ok(CleanedSegmentWriter {
            dir: dir.to_path_buf(),
            base_offset,
            out: BufWriter::with_capacity(1 << 20, file),
            size: 0,
            index_interval,
            since_index: usize::MAX,
            offsets: Vec::new(),
            times: Vec::new(),
            max_timestamp: -1,
            last_next_offset: base_offset,
        })
    }

    /// Appends one whole batch (offsets must grow).
    pub fn append(&mut self, batch: &[u8]) -> Result<()> {
        let h = BatchHeader::parse(batch)?;
        if h.base_offset < self.last_next_offset {
            return Err(StorageError::CleaningAborted(format!(
                "cleaned batch at offset {} after {}",
                h.base_offset, self.last_next_offset
            )));
        }
        if self.since_index >= self.index_interval {
            self.offsets.push(OffsetPosition {
                offset: h.base_offset,
                position: self.size,
            });
            self.since_index = 0;
        }
        self.since_index += batch.len();
        if h.max_timestamp > self.max_timestamp || self.times.is_empty() {
            self.times.push(TimestampOffset {
                timestamp: h.max_timestamp.max(self.max_timestamp),
                offset: h.base_offset,
                position: self.size,
            });
            self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
        }
        self.out.write_all(batch)?;
        self.size += batch.len() as u64;
        self.last_next_offset = h.next_offset();
        Ok(())
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flushes and fsyncs the log file and writes both indexes, fsynced.
    pub fn finish(self) -> Result<()> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| StorageError::Io(e.into_error()))?;
        file.sync_all()?;
        let mut index =
            OffsetIndex::open(&swap::cleaned_path(&self.dir, self.base_offset, "index"))?;
        index.reset(self.offsets)?;
        index.sync()?;
        let mut times = TimeIndex::open(&swap::cleaned_path(
            &self.dir,
            self.base_offset,
            "timeindex",
        ))?;
        times.reset(self.times)?;
        times.sync()?;
        Ok(())
    }
}
