//! A partition's *future log*: the copy a move between log directories
//! (AlterReplicaLogDirs) fills in the destination directory while the partition keeps
//! serving from its current log, as Kafka's future replica.
//!
//! The copy goes in rounds ([`FutureLog::copy_round`]) without stopping appends: segment
//! files only grow, so each round copies what was appended since the last one (and whole
//! segments rolled, replaced by the cleaner, or first seen); segments that retention
//! deleted are dropped. A closed segment's indexes are final and copied with it. Then,
//! with the partition's appends paused by its writer and the log held still,
//! [`FutureLog::finish`] copies the last delta, the active segment's indexes, the
//! leader-epoch checkpoint, the log start offset and a producer-state snapshot at the log
//! end, syncs it all and marks the copy clean, so the log opened over it needs no
//! recovery. `Storage::complete_move` then swaps it in.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::storage::error::{Result, StorageError};
use crate::storage::fault::{self, FaultOp};
use crate::storage::fs_util::{sync_dir, write_atomically};
use crate::storage::leader_epoch::CHECKPOINT_FILE;
use crate::storage::log::{CopySource, Log, SegmentSource};
use crate::storage::log_dir::{future_dir_name, LogDir};
use crate::storage::producer_state::{write_snapshot, ProducerStateManager};
use crate::storage::segment::Segment;

/// Bytes copied per read and write.
const COPY_CHUNK: usize = 1 << 20;

/// What was copied of one segment.
#[derive(Debug, Clone, Copy)]
struct Copied {
    /// The source file's inode (a segment the cleaner replaced has another).
    inode: u64,
    /// Bytes of its log file copied.
    bytes: u64,
    /// Whether its (final) indexes were copied.
    indexes: bool,
}

/// The copy of a partition's log in another log directory, while a move runs.
#[derive(Debug)]
pub struct FutureLog {
    dest: Arc<LogDir>,
    dir: PathBuf,
    copied: Mutex<BTreeMap<i64, Copied>>,
    copied_end: AtomicI64,
    copied_bytes: AtomicU64,
    cancelled: AtomicBool,
}

impl FutureLog {
    /// Creates the future directory of `topic`-`partition` in `dest`.
    pub fn create(topic: &str, partition: i32, dest: Arc<LogDir>) -> Result<FutureLog> {
        let dir = dest.path().join(future_dir_name(topic, partition));
        let created = (|| {
            fault::check(&dir, FaultOp::Write)?;
            fs::create_dir(&dir)?;
            sync_dir(dest.path())
        })();
        dest.health().watch(created)?;
        Ok(FutureLog {
            dest,
            dir,
            copied: Mutex::new(BTreeMap::new()),
            copied_end: AtomicI64::new(0),
            copied_bytes: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
        })
    }

    /// The log directory the partition moves to.
    pub fn destination(&self) -> &Arc<LogDir> {
        &self.dest
    }

    /// The future directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log end offset of the source as far as it has been copied.
    pub fn copied_end(&self) -> i64 {
        self.copied_end.load(Ordering::Acquire)
    }

    /// Bytes of segment files copied so far (DescribeLogDirs' size of the future replica).
    pub fn size_bytes(&self) -> u64 {
        self.copied_bytes.load(Ordering::Acquire)
    }

    /// Asks the move to stop at its next step.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Whether the move was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    fn check_cancelled(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(StorageError::LogClosed)
        } else {
            Ok(())
        }
    }

    /// Deletes the copy (unless its directory failed: nothing more is written there).
    pub(crate) fn discard(&self) {
        self.cancel();
        if self.dest.is_online() {
            match fs::remove_dir_all(&self.dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(dir = %self.dir.display(), error = %e, "could not delete an abandoned move's copy")
                }
                _ => {}
            }
        }
    }

    /// Copies what `source` holds beyond the last round, without holding its lock;
    /// returns the bytes copied. An I/O error in the destination takes it offline.
    pub fn copy_round(&self, source: &Log) -> Result<u64> {
        self.check_cancelled()?;
        let view = source.copy_source()?;
        let copied = self.copy_segments(source, &view, false);
        self.dest.health().watch(copied)
    }

    /// The last round, with `source` held still and its appends paused: copies the rest,
    /// the active segment's indexes, the leader-epoch checkpoint, the log start offset and
    /// a producer-state snapshot, syncs everything and marks the copy clean.
    pub(crate) fn finish(
        &self,
        source: &Log,
        view: &CopySource,
        producers: &ProducerStateManager,
    ) -> Result<()> {
        self.check_cancelled()?;
        let finished = (|| {
            self.copy_segments(source, view, true)?;
            let epochs = source.dir().join(CHECKPOINT_FILE);
            match fs::read(&epochs) {
                Ok(bytes) => write_atomically(&self.dir.join(CHECKPOINT_FILE), &bytes)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            let first_base = view.segments.first().map_or(0, |s| s.base_offset);
            if view.log_start_offset > first_base {
                write_atomically(
                    &self.dir.join(crate::storage::log::LOG_START_FILE),
                    view.log_start_offset.to_string().as_bytes(),
                )?;
            }
            write_snapshot(&self.dir, view.log_end_offset, producers)?;
            write_atomically(
                &self.dir.join(crate::storage::log::CLEAN_SHUTDOWN_FILE),
                b"",
            )?;
            sync_dir(&self.dir)
        })();
        self.dest.health().watch(finished)
    }

    /// Brings the copy's segments to `view`: appends what each grew by, copies new and
    /// replaced ones whole, deletes those gone from the source. With `last`, the active
    /// segment's indexes too. Every file written is synced.
    fn copy_segments(&self, source: &Log, view: &CopySource, last: bool) -> Result<u64> {
        let mut copied = self.copied.lock();
        let mut written = 0u64;
        let gone: Vec<i64> = copied
            .keys()
            .filter(|b| !view.segments.iter().any(|s| s.base_offset == **b))
            .copied()
            .collect();
        for base in gone {
            copied.remove(&base);
            let (log, index, time) = Segment::paths(&self.dir, base);
            for path in [log, index, time] {
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        for seg in &view.segments {
            self.check_cancelled()?;
            let inode = seg.file().metadata()?.ino();
            let before = copied.get(&seg.base_offset).copied();
            let from = match before {
                Some(c) if c.inode == inode && c.bytes <= seg.size => c.bytes,
                _ => 0,
            };
            let (dest_log, dest_index, dest_time) = Segment::paths(&self.dir, seg.base_offset);
            if from < seg.size || before.is_none() {
                written += copy_range(seg, &dest_log, from)?;
            }
            let mut indexes = matches!(before, Some(c) if c.inode == inode && c.indexes);
            if !indexes && (!seg.active || last) {
                let (_, src_index, src_time) = Segment::paths(source.dir(), seg.base_offset);
                copy_file(&src_index, &dest_index)?;
                copy_file(&src_time, &dest_time)?;
                indexes = !seg.active;
            }
            copied.insert(
                seg.base_offset,
                Copied {
                    inode,
                    bytes: seg.size,
                    indexes,
                },
            );
        }
        self.copied_end
            .store(view.log_end_offset, Ordering::Release);
        self.copied_bytes
            .store(copied.values().map(|c| c.bytes).sum(), Ordering::Release);
        sync_dir(&self.dir)?;
        Ok(written)
    }
}

/// Copies `seg`'s bytes from `from` to its end into `dest` (truncated first when `from`
/// is 0), and syncs it; returns the bytes copied.
fn copy_range(seg: &SegmentSource, dest: &Path, from: u64) -> Result<u64> {
    fault::check(dest, FaultOp::Write)?;
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(from == 0)
        .open(dest)?;
    if from > 0 {
        out.set_len(from)?;
    }
    let mut buf = vec![0u8; COPY_CHUNK];
    let mut pos = from;
    while pos < seg.size {
        let n = usize::try_from(seg.size - pos).map_or(COPY_CHUNK, |left| left.min(COPY_CHUNK));
        let chunk = buf.get_mut(..n).unwrap_or_default();
        seg.file().read_exact_at(chunk, pos)?;
        fault::check(dest, FaultOp::Write)?;
        out.write_all_at(chunk, pos)?;
        pos += n as u64;
    }
    fault::check(dest, FaultOp::Sync)?;
    out.sync_data()?;
    Ok(seg.size - from)
}

/// Copies a whole small file (an index) and syncs it; a source that is gone (its segment
/// deleted meanwhile) leaves an empty file, which the last round replaces or removes.
fn copy_file(src: &Path, dest: &Path) -> Result<()> {
    let bytes = match fs::read(src) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    fault::check(dest, FaultOp::Write)?;
    let out = File::create(dest)?;
    out.write_all_at(&bytes, 0)?;
    fault::check(dest, FaultOp::Sync)?;
    out.sync_data()?;
    Ok(())
}
