//! A partition log: an ordered list of segments, the leader-epoch cache, the log start offset,
//! and group commit for the `always` fsync policy.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::watch;

use crate::storage::config::LogConfig;
use crate::storage::error::{Result, StorageError};
use crate::storage::fault::{self, FaultOp};
use crate::storage::fs_util::{sync_dir, write_atomically};
use crate::storage::fsync::FsyncPolicy;
use crate::storage::leader_epoch::LeaderEpochCache;
use crate::storage::log_dir::DirHealth;
use crate::storage::producer_state::{
    load_snapshot, write_snapshot, AbortedTxn, ProducerStateManager, SequenceCheck,
};
use crate::storage::record::batch::{
    set_base_offset, set_log_append_time, set_partition_leader_epoch,
};
use crate::storage::record::BatchHeader;
use crate::storage::record::{ControlRecordType, EndTxnMarker};
use crate::storage::segment::{ReadMode, Segment, SegmentSnapshot};
use crate::storage::types::{MessageBatch, DEFAULT_MAX_DECOMPRESSED};

/// Marker file written by a clean close; its absence on open means crash recovery.
pub(crate) const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";
/// File holding the log start offset when it is above the first segment's base offset.
pub(crate) const LOG_START_FILE: &str = "log-start-offset";

/// How a batch's timestamps are interpreted (the topic's `message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// The producer's timestamps are kept.
    #[default]
    CreateTime,
    /// The broker stamps the batch with its append time.
    LogAppendTime,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset assigned to the batch's first record.
    pub base_offset: i64,
    /// Offset of the batch's last record.
    pub last_offset: i64,
    /// The log-append time stamped on the batch, or -1 for create time.
    pub log_append_time: i64,
    /// The log start offset after the append.
    pub log_start_offset: i64,
    /// The batch was a producer's retry of a batch already in the log: nothing was appended
    /// and the offsets are the original ones.
    pub duplicate: bool,
}

/// A read planned under the log's lock and carried out without it (see
/// [`Log::read_view`]).
#[derive(Debug, Clone)]
pub struct ReadView {
    offset: i64,
    max_bytes: usize,
    segments: Vec<SegmentSnapshot>,
    health: Arc<DirHealth>,
}

impl ReadView {
    /// Whether the read would return nothing without touching the disk (the offset is the
    /// log end offset).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Reads the planned batches (preads, on the caller's thread, no lock held).
    pub fn read(&self) -> Result<Bytes> {
        let read = self.health.watch(self.read_with(ReadMode::Blocking));
        Ok(read?.unwrap_or_default())
    }

    /// Reads the planned batches if they are small (the first segment holds at most
    /// `limit` bytes from the planned start, or `max_bytes` is at most `limit`) and all in
    /// the page cache, without waiting for the disk; `None` otherwise. This is what a
    /// caught-up consumer asks for: the batches just appended, read in microseconds where
    /// a hand-off to a blocking thread costs two thread wake-ups.
    pub fn read_cached(&self, limit: u64) -> Result<Option<Bytes>> {
        let small = self
            .segments
            .first()
            .is_none_or(|s| s.planned_len().min(self.max_bytes as u64) <= limit);
        if !small {
            return Ok(None);
        }
        self.health.watch(self.read_with(ReadMode::CachedOnly))
    }

    /// The read under `mode`; `None` when some bytes were not cached (`CachedOnly`).
    fn read_with(&self, mode: ReadMode) -> Result<Option<Bytes>> {
        let (offset, max_bytes) = (self.offset, self.max_bytes);
        let mut segments = self.segments.iter();
        let mut found = None;
        for seg in segments.by_ref() {
            match seg.read_with(offset, max_bytes, mode)? {
                None => return Ok(None),
                Some(Some(bytes)) => {
                    found = Some(bytes);
                    break;
                }
                Some(None) => {}
            }
        }
        let Some(bytes) = found else {
            return Ok(Some(Bytes::new()));
        };
        // Compaction can leave segments holding only emptied batches. A read that found
        // nothing but those goes on into the next segments (whole batches, within
        // `max_bytes`), so a reader sees records in one answer instead of one empty
        // segment per round trip (librdkafka gives up after a run of record-less answers).
        if !holds_no_records(&bytes) {
            return Ok(Some(bytes));
        }
        let mut out = BytesMut::from(&bytes[..]);
        for seg in segments {
            let remaining = max_bytes.saturating_sub(out.len());
            if remaining == 0 {
                break;
            }
            let more = match seg.read_with(seg.base_offset(), remaining, mode)? {
                None => return Ok(None),
                Some(None) => continue,
                Some(Some(more)) => more,
            };
            if more.len() > remaining {
                break;
            }
            out.extend_from_slice(&more);
            if !holds_no_records(&more) {
                break;
            }
        }
        Ok(Some(out.freeze()))
    }
}

/// Size and time facts about one segment, for retention and inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The segment's base offset.
    pub base_offset: i64,
    /// The offset after its last batch.
    pub next_offset: i64,
    /// Bytes in its log file.
    pub size: u64,
    /// Largest batch timestamp in it, or -1.
    pub max_timestamp: i64,
}

/// The segments of a log, oldest first. Never empty: the last one is the active segment,
/// where appends go; the ones before it are closed and never change again.
struct Segments {
    closed: Vec<Segment>,
    active: Segment,
}

impl Segments {
    /// `all` oldest first, or `None` if there is none.
    fn new(mut all: Vec<Segment>) -> Option<Segments> {
        let active = all.pop()?;
        Some(Segments {
            closed: all,
            active,
        })
    }
    fn first(&self) -> &Segment {
        self.closed.first().unwrap_or(&self.active)
    }
    fn iter(&self) -> impl Iterator<Item = &Segment> {
        self.closed.iter().chain(std::iter::once(&self.active))
    }
    /// The segment that holds `offset` (the first one if `offset` is below all) and every
    /// segment after it.
    fn starting_at(&self, offset: i64) -> impl Iterator<Item = &Segment> {
        // Bases increase, so the active segment is at or below `offset` only if all are.
        let at_or_below = self.closed.partition_point(|s| s.base_offset() <= offset)
            + usize::from(self.active.base_offset() <= offset);
        self.iter().skip(at_or_below.saturating_sub(1))
    }
    /// Removes and returns the oldest segment if it is closed and every offset it holds is
    /// below `offset` (the segment after it starts at or below `offset`).
    fn pop_wholly_below(&mut self, offset: i64) -> Option<Segment> {
        let next_base = self.closed.get(1).unwrap_or(&self.active).base_offset();
        if self.closed.is_empty() || next_base > offset {
            return None;
        }
        Some(self.closed.remove(0))
    }
    /// Closes the active segment and makes `next` the active one.
    fn roll(&mut self, next: Segment) {
        let closed = std::mem::replace(&mut self.active, next);
        self.closed.push(closed);
    }
}

struct LogInner {
    segments: Segments,
    log_start_offset: i64,
    epochs: LeaderEpochCache,
    producers: ProducerStateManager,
}

impl LogInner {
    fn active(&self) -> &Segment {
        &self.segments.active
    }
    fn active_mut(&mut self) -> &mut Segment {
        &mut self.segments.active
    }
    fn next_offset(&self) -> i64 {
        self.active().next_offset()
    }
}

struct DurableState {
    durable_end: i64,
    syncing: bool,
}

/// One partition's log. Appends are serialised; reads run concurrently with each other.
pub struct Log {
    dir: PathBuf,
    config: RwLock<LogConfig>,
    inner: RwLock<LogInner>,
    end_tx: watch::Sender<i64>,
    durable: Mutex<DurableState>,
    durable_cv: Condvar,
    durable_tx: watch::Sender<i64>,
    closed: AtomicBool,
    /// Whether the log directory is online (shared by every log in it).
    health: Arc<DirHealth>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("dir", &self.dir).finish()
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Log {
    /// Opens the log in `dir` (creating it if needed), recovering from an unclean shutdown:
    /// the active segment is re-read and CRC-checked, a torn tail truncated, indexes rebuilt.
    pub fn open(dir: &Path, config: LogConfig) -> Result<Log> {
        let parent = dir.parent().unwrap_or(dir);
        Log::open_in(dir, config, Arc::new(DirHealth::new(parent)))
    }

    /// Opens the log in `dir` like [`Log::open`], as a log of the log directory whose
    /// health is `health`: an I/O error on one of its files takes that directory offline,
    /// and the log refuses every operation with [`StorageError::LogDirOffline`] while it is.
    pub fn open_in(dir: &Path, config: LogConfig, health: Arc<DirHealth>) -> Result<Log> {
        health.check()?;
        let opened = Log::open_unwatched(dir, config, Arc::clone(&health));
        health.watch(opened)
    }

    fn open_unwatched(dir: &Path, config: LogConfig, health: Arc<DirHealth>) -> Result<Log> {
        fault::check(dir, FaultOp::Read)?;
        fs::create_dir_all(dir)?;
        crate::storage::swap::recover_leftovers(dir)?;
        let clean_marker = dir.join(CLEAN_SHUTDOWN_FILE);
        let clean = clean_marker.exists();
        let mut bases = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".log") {
                if let Ok(base) = stem.parse::<i64>() {
                    bases.push(base);
                }
            }
        }
        bases.sort_unstable();
        let start_checkpoint = read_log_start(dir)?;
        let mut segments = Vec::with_capacity(bases.len().max(1));
        for (i, base) in bases.iter().enumerate() {
            let last = i + 1 == bases.len();
            let (seg, outcome) = Segment::open(dir, *base, last && !clean)?;
            if outcome.truncated_bytes > 0 {
                tracing::warn!(
                    log = %dir.display(),
                    bytes = outcome.truncated_bytes,
                    "recovered log by truncating a torn tail"
                );
            }
            if let Some(prev) = segments.last() {
                let prev: &Segment = prev;
                if prev.next_offset() > seg.base_offset() {
                    return Err(StorageError::LogCorrupted(format!(
                        "{}: segment {} overlaps the previous one ending at {}",
                        dir.display(),
                        seg.base_offset(),
                        prev.next_offset()
                    )));
                }
            }
            segments.push(seg);
        }
        let segments = match Segments::new(segments) {
            Some(segments) => segments,
            None => {
                let first = Segment::create(dir, start_checkpoint.unwrap_or(0))?;
                sync_dir(dir)?;
                Segments {
                    closed: Vec::new(),
                    active: first,
                }
            }
        };
        // A log start past the log's end (records below it were deleted, and what followed
        // was lost): as Kafka does, the log starts over, empty, at its log start, so the
        // next append gets an offset at or above it (never one below the log start, which
        // would be acknowledged and then unreadable).
        let segments = match start_checkpoint {
            Some(start) if start > segments.active.next_offset() => {
                tracing::warn!(log = %dir.display(), log_start = start,
                    log_end = segments.active.next_offset(),
                    "log start offset past the end of the log: starting the log over at it");
                let Segments { closed, active } = segments;
                for seg in closed.into_iter().chain(std::iter::once(active)) {
                    seg.delete()?;
                }
                let fresh = Segment::create(dir, start)?;
                sync_dir(dir)?;
                Segments {
                    closed: Vec::new(),
                    active: fresh,
                }
            }
            _ => segments,
        };
        let first_base = segments.first().base_offset();
        let next = segments.active.next_offset();
        let log_start_offset = start_checkpoint
            .unwrap_or(first_base)
            .max(first_base)
            .min(next);
        let mut epochs = LeaderEpochCache::open(dir)?;
        epochs.truncate_from_end(next)?;
        let producers = recover_producer_state(dir, &segments, log_start_offset, next)?;
        if clean {
            fs::remove_file(&clean_marker)?;
        }
        let (end_tx, _) = watch::channel(next);
        let (durable_tx, _) = watch::channel(next);
        Ok(Log {
            dir: dir.to_path_buf(),
            config: RwLock::new(config),
            inner: RwLock::new(LogInner {
                segments,
                log_start_offset,
                epochs,
                producers,
            }),
            end_tx,
            durable: Mutex::new(DurableState {
                durable_end: next,
                syncing: false,
            }),
            durable_cv: Condvar::new(),
            durable_tx,
            closed: AtomicBool::new(false),
            health,
        })
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The log's current configuration.
    pub fn config(&self) -> LogConfig {
        self.config.read().clone()
    }

    /// Replaces the configuration (takes effect on the next append).
    pub fn set_config(&self, config: LogConfig) {
        *self.config.write() = config;
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(StorageError::LogClosed)
        } else {
            self.health.check()
        }
    }

    /// Whether the log's directory failed (its operations answer
    /// [`StorageError::LogDirOffline`]).
    pub fn is_offline(&self) -> bool {
        self.health.is_offline()
    }

    /// The health of the log's directory.
    pub fn dir_health(&self) -> &Arc<DirHealth> {
        &self.health
    }

    /// Appends one whole v2 batch: validates it, assigns its base offset, stamps the leader
    /// epoch (and log-append time if asked). The batch is visible to readers on return but is
    /// durable only after [`Log::wait_durable`] / [`Log::sync_to`].
    pub fn append(
        &self,
        batch: BytesMut,
        leader_epoch: i32,
        timestamp_type: TimestampType,
    ) -> Result<AppendInfo> {
        self.append_inner(batch, leader_epoch, timestamp_type, true)?
            .ok_or(StorageError::LogClosed)
    }

    /// Appends like [`Log::append`] unless the batch would roll the active segment (a roll
    /// fsyncs the old segment, writes a snapshot and fsyncs the directory): then it
    /// appends nothing and returns `None`. Nothing in this call waits on the disk beyond a
    /// `pwrite` into the page cache, so the partition writer can run it in place on the
    /// submitting thread.
    pub fn append_unless_roll(
        &self,
        batch: BytesMut,
        leader_epoch: i32,
        timestamp_type: TimestampType,
    ) -> Result<Option<AppendInfo>> {
        self.append_inner(batch, leader_epoch, timestamp_type, false)
    }

    /// Whether an acks=all append needs an fsync before it is answered (`always` policy).
    pub fn syncs_each_append(&self) -> bool {
        self.config.read().fsync == FsyncPolicy::Always
    }

    /// The append itself; `None` only when `may_roll` is false and a roll is due. An I/O
    /// error takes the log directory offline.
    fn append_inner(
        &self,
        batch: BytesMut,
        leader_epoch: i32,
        timestamp_type: TimestampType,
        may_roll: bool,
    ) -> Result<Option<AppendInfo>> {
        self.health
            .watch(self.append_unwatched(batch, leader_epoch, timestamp_type, may_roll))
    }

    fn append_unwatched(
        &self,
        mut batch: BytesMut,
        leader_epoch: i32,
        timestamp_type: TimestampType,
        may_roll: bool,
    ) -> Result<Option<AppendInfo>> {
        let config = self.config.read().clone();
        if batch.len() > config.max_batch_bytes {
            return Err(StorageError::BatchTooLarge {
                size: batch.len(),
                max: config.max_batch_bytes,
            });
        }
        let incoming = BatchHeader::parse_and_validate(&batch)?;
        if config.cleanup_policy.compact {
            let name = crate::storage::validate::partition_name(&self.dir);
            crate::storage::validate::validate_keys(&batch, &name, DEFAULT_MAX_DECOMPRESSED)?;
        }
        let marker = if incoming.is_control() {
            control_marker(&batch)?
        } else {
            None
        };
        let mut inner = self.inner.write();
        self.check_open()?;
        if let SequenceCheck::Duplicate(dup) = inner.producers.check(&incoming)? {
            return Ok(Some(AppendInfo {
                base_offset: dup.first_offset,
                last_offset: dup.last_offset,
                log_append_time: -1,
                log_start_offset: inner.log_start_offset,
                duplicate: true,
            }));
        }
        let log_append_time = match timestamp_type {
            TimestampType::LogAppendTime => now_ms(),
            _ => -1,
        };
        let max_timestamp = match timestamp_type {
            TimestampType::LogAppendTime => log_append_time,
            _ => incoming.max_timestamp,
        };
        if self.should_roll(&inner, &config, batch.len(), max_timestamp) {
            if !may_roll {
                return Ok(None);
            }
            self.roll(&mut inner)?;
        }
        let base = inner.next_offset();
        set_base_offset(&mut batch, base)?;
        set_partition_leader_epoch(&mut batch, leader_epoch)?;
        if timestamp_type == TimestampType::LogAppendTime {
            set_log_append_time(&mut batch, log_append_time)?;
        }
        let h = BatchHeader::parse(&batch)?;
        inner.epochs.assign(leader_epoch, base)?;
        inner
            .active_mut()
            .append(&batch, &h, config.index_interval_bytes)?;
        inner.producers.update(&h, marker)?;
        let info = AppendInfo {
            base_offset: base,
            last_offset: h.last_offset(),
            log_append_time,
            log_start_offset: inner.log_start_offset,
            duplicate: false,
        };
        drop(inner);
        self.end_tx.send_replace(h.next_offset());
        Ok(Some(info))
    }

    /// Appends like [`Log::append`] and, under the `always` policy, returns only once the
    /// batch is durable (the seed's blocking `Append`).
    pub fn append_sync(
        &self,
        batch: BytesMut,
        leader_epoch: i32,
        timestamp_type: TimestampType,
    ) -> Result<AppendInfo> {
        let info = self.append(batch, leader_epoch, timestamp_type)?;
        self.sync_to(info.last_offset)?;
        Ok(info)
    }

    fn should_roll(
        &self,
        inner: &LogInner,
        config: &LogConfig,
        incoming: usize,
        incoming_max_timestamp: i64,
    ) -> bool {
        let active = inner.active();
        if active.size() == 0 {
            return false;
        }
        if active.size() + incoming as u64 > config.segment_bytes {
            return true;
        }
        // A compacted topic rolls by max.compaction.lag.ms too, so that old records become
        // cleanable in time (as Kafka caps segment.ms for such topics).
        let mut roll_ms = config.segment_ms.map(|d| d.as_millis() as i64);
        if config.cleanup_policy.compact && config.max_compaction_lag_ms < i64::MAX {
            roll_ms = Some(roll_ms.map_or(config.max_compaction_lag_ms, |ms| {
                ms.min(config.max_compaction_lag_ms)
            }));
        }
        match (roll_ms, active.first_timestamp()) {
            // As Kafka: the incoming batch's timestamp against the segment's first batch, so
            // replayed old data doesn't roll a segment per batch.
            (Some(ms), Some(first)) if first >= 0 => {
                incoming_max_timestamp.saturating_sub(first) > ms
            }
            _ => false,
        }
    }

    fn roll(&self, inner: &mut LogInner) -> Result<()> {
        let next = inner.next_offset();
        inner.active_mut().sync()?;
        write_snapshot(&self.dir, next, &inner.producers)?;
        let seg = Segment::create(&self.dir, next)?;
        sync_dir(&self.dir)?;
        inner.segments.roll(seg);
        Ok(())
    }

    /// Blocks until everything below `offset + 1` is durable under the `always` policy (group
    /// commit: one waiter syncs on behalf of all); returns at once under other policies.
    pub fn sync_to(&self, offset: i64) -> Result<()> {
        self.health.watch(self.sync_to_unwatched(offset))
    }

    fn sync_to_unwatched(&self, offset: i64) -> Result<()> {
        if self.config.read().fsync != FsyncPolicy::Always {
            return Ok(());
        }
        let mut st = self.durable.lock();
        loop {
            if st.durable_end > offset {
                return Ok(());
            }
            self.check_open()?;
            if !st.syncing {
                st.syncing = true;
                drop(st);
                let guard = SyncerGuard {
                    log: self,
                    target: None,
                };
                let result = self.sync_active();
                guard.finish(result.as_ref().ok().copied());
                result?;
                st = self.durable.lock();
                continue;
            }
            self.durable_cv.wait(&mut st);
        }
    }

    /// Resolves once everything below `offset + 1` is durable under the `always` policy (group
    /// commit without blocking the async runtime); at once under other policies.
    pub async fn wait_durable(&self, offset: i64) -> Result<()> {
        let waited = self.wait_durable_unwatched(offset).await;
        self.health.watch(waited)
    }

    async fn wait_durable_unwatched(&self, offset: i64) -> Result<()> {
        if self.config.read().fsync != FsyncPolicy::Always {
            return Ok(());
        }
        let mut rx = self.durable_tx.subscribe();
        loop {
            let become_syncer = {
                let mut st = self.durable.lock();
                if st.durable_end > offset {
                    return Ok(());
                }
                self.check_open()?;
                if st.syncing {
                    false
                } else {
                    st.syncing = true;
                    true
                }
            };
            if !become_syncer {
                if rx.changed().await.is_err() {
                    return Err(StorageError::LogClosed);
                }
                continue;
            }
            let guard = SyncerGuard {
                log: self,
                target: None,
            };
            let (file, target, path) = {
                let inner = self.inner.read();
                (
                    inner.active().file_handle(),
                    inner.next_offset(),
                    self.dir.clone(),
                )
            };
            let joined = tokio::task::spawn_blocking(move || {
                fault::check(&path, FaultOp::Sync)?;
                file.sync_data()
            })
            .await;
            match joined {
                Ok(Ok(())) => guard.finish(Some(target)),
                Ok(Err(e)) => {
                    guard.finish(None);
                    return Err(StorageError::SyncFailed(e));
                }
                Err(e) => {
                    guard.finish(None);
                    return Err(StorageError::Io(std::io::Error::other(e.to_string())));
                }
            }
        }
    }

    /// Syncs the active segment's file; returns the offset it made durable up to (exclusive).
    fn sync_active(&self) -> Result<i64> {
        let (file, target) = {
            let inner = self.inner.read();
            (inner.active().file_handle(), inner.next_offset())
        };
        fault::check(&self.dir, FaultOp::Sync).map_err(StorageError::SyncFailed)?;
        file.sync_data().map_err(StorageError::SyncFailed)?;
        Ok(target)
    }

    /// The offset below which everything is known to be on disk (synced by the group
    /// commit, a flush or a roll).
    pub fn durable_end(&self) -> i64 {
        self.durable.lock().durable_end
    }

    fn publish_durable(&self, target: Option<i64>) {
        let mut st = self.durable.lock();
        st.syncing = false;
        if let Some(t) = target {
            if t > st.durable_end {
                st.durable_end = t;
            }
        }
        let end = st.durable_end;
        drop(st);
        self.durable_tx.send_replace(end);
        self.durable_cv.notify_all();
    }

    /// Whole stored batches starting with the one that holds `offset`, up to `max_bytes` but
    /// always at least one batch; empty at the log end offset. The disk is read without the
    /// log's lock ([`Log::read_view`]), on the caller's thread.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes> {
        self.read_view(offset, max_bytes)?.read()
    }

    /// Plans a [`Log::read`] under the log's read lock without touching the disk: checks the
    /// offset and takes the file handles, sizes and index positions of the segments from
    /// the one holding `offset` on. [`ReadView::read`] then reads with no lock held, so
    /// appends never wait for a disk read.
    pub fn read_view(&self, offset: i64, max_bytes: usize) -> Result<ReadView> {
        self.health
            .watch(self.read_view_unwatched(offset, max_bytes))
    }

    fn read_view_unwatched(&self, offset: i64, max_bytes: usize) -> Result<ReadView> {
        fault::check(&self.dir, FaultOp::Read)?;
        let inner = self.inner.read();
        self.check_open()?;
        let end = inner.next_offset();
        if offset < inner.log_start_offset || offset > end {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                start: inner.log_start_offset,
                end,
            });
        }
        if offset == end {
            return Ok(ReadView {
                offset,
                max_bytes,
                segments: Vec::new(),
                health: Arc::clone(&self.health),
            });
        }
        let segments = inner
            .segments
            .starting_at(offset)
            .map(|seg| seg.snapshot(offset.max(seg.base_offset())))
            .collect();
        Ok(ReadView {
            offset,
            max_bytes,
            segments,
            health: Arc::clone(&self.health),
        })
    }

    /// The batches covering `[start, end)`, whole (the first may begin before `start`).
    pub fn read_range(&self, start: i64, end: i64) -> Result<Vec<Bytes>> {
        let mut out = Vec::new();
        let mut next = start;
        while next < end {
            let chunk = self.read(next, 1 << 20)?;
            if chunk.is_empty() {
                break;
            }
            for item in crate::storage::record::batch::split_batches(&chunk) {
                let (h, bytes) = item?;
                if h.base_offset >= end {
                    return Ok(out);
                }
                next = h.next_offset();
                out.push(chunk.slice_ref(bytes));
            }
        }
        Ok(out)
    }

    /// The high watermark: the offset after the last appended record (single replica).
    pub fn high_watermark(&self) -> i64 {
        self.log_end_offset()
    }

    /// The first offset a consumer may read.
    pub fn log_start_offset(&self) -> i64 {
        self.inner.read().log_start_offset
    }

    /// The offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.inner.read().next_offset()
    }

    /// A watch of the log end offset, changed on every append.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.end_tx.subscribe()
    }

    /// The first batch whose max timestamp is ≥ `timestamp`: its stored bytes. Kafka's
    /// "first offset with timestamp ≥ target" is the first record in it that qualifies.
    pub fn find_batch_by_timestamp(&self, timestamp: i64) -> Result<Option<Bytes>> {
        self.find_batch_by_timestamp_from(timestamp, 0)
    }

    /// Like [`Log::find_batch_by_timestamp`], considering only batches that end at or after
    /// `min_offset`.
    fn find_batch_by_timestamp_from(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<Bytes>> {
        self.health
            .watch(self.find_batch_by_timestamp_unwatched(timestamp, min_offset))
    }

    fn find_batch_by_timestamp_unwatched(
        &self,
        timestamp: i64,
        min_offset: i64,
    ) -> Result<Option<Bytes>> {
        fault::check(&self.dir, FaultOp::Read)?;
        let inner = self.inner.read();
        self.check_open()?;
        let min_offset = min_offset.max(inner.log_start_offset);
        for seg in inner.segments.iter() {
            if let Some((pos, h)) = seg.find_by_timestamp(timestamp, min_offset)? {
                return Ok(Some(seg.read_at(pos, h.total_len())?));
            }
        }
        Ok(None)
    }

    /// The batch holding the largest timestamp in the log (latest such batch on ties).
    pub fn find_max_timestamp_batch(&self) -> Result<Option<Bytes>> {
        self.health.watch(self.find_max_timestamp_unwatched())
    }

    fn find_max_timestamp_unwatched(&self) -> Result<Option<Bytes>> {
        fault::check(&self.dir, FaultOp::Read)?;
        let inner = self.inner.read();
        self.check_open()?;
        let best = inner
            .segments
            .iter()
            .filter(|s| s.max_timestamp() >= 0 || s.size() > 0)
            .max_by_key(|s| s.max_timestamp());
        let Some(seg) = best else { return Ok(None) };
        if seg.size() == 0 {
            return Ok(None);
        }
        match seg.find_batch(seg.offset_of_max_timestamp())? {
            Some((pos, h)) => Ok(Some(seg.read_at(pos, h.total_len())?)),
            None => Ok(None),
        }
    }

    /// ListOffsets by timestamp: the first record at or after the log start whose timestamp is
    /// ≥ `timestamp`, as `(offset, timestamp)`; `None` when no record qualifies.
    pub fn find_offset_by_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>> {
        let mut from = 0;
        loop {
            let Some(bytes) = self.find_batch_by_timestamp_from(timestamp, from)? else {
                return Ok(None);
            };
            let start = self.log_start_offset();
            let batch = MessageBatch::from_bytes(bytes)?;
            for m in batch.message_iter(DEFAULT_MAX_DECOMPRESSED)? {
                let m = m?;
                if m.offset >= start && m.timestamp >= timestamp {
                    return Ok(Some((m.offset, m.timestamp)));
                }
            }
            // No record of this batch qualifies (emptied by compaction, or below the log
            // start): look further on.
            from = batch.last_offset() + 1;
        }
    }

    /// ListOffsets MAX_TIMESTAMP: the first record carrying the largest timestamp in the log,
    /// as `(offset, timestamp)`; `None` for an empty log.
    pub fn max_timestamp(&self) -> Result<Option<(i64, i64)>> {
        let Some(bytes) = self.find_max_timestamp_batch()? else {
            return Ok(None);
        };
        let batch = MessageBatch::from_bytes(bytes)?;
        let mut best: Option<(i64, i64)> = None;
        if batch.record_count() == 0 {
            // A batch emptied by compaction keeps its header: report its last offset.
            return Ok(Some((batch.last_offset(), batch.timestamp())));
        }
        for m in batch.message_iter(DEFAULT_MAX_DECOMPRESSED)? {
            let m = m?;
            if best.is_none_or(|(_, ts)| m.timestamp > ts) {
                best = Some((m.offset, m.timestamp));
            }
        }
        Ok(best)
    }

    /// The last stable offset: the first offset of the oldest open transaction, or the high
    /// watermark when none is open. `read_committed` consumers read only below it.
    pub fn last_stable_offset(&self) -> i64 {
        let inner = self.inner.read();
        let hw = inner.next_offset();
        inner
            .producers
            .first_unstable_offset()
            .map_or(hw, |o| o.min(hw))
    }

    /// Aborted transactions overlapping `[from, to)`, for `read_committed` fetches.
    pub fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.inner.read().producers.aborted_between(from, to)
    }

    /// A copy of the partition's producer state (DescribeProducers, transactions).
    pub fn producer_state(&self) -> ProducerStateManager {
        self.inner.read().producers.clone()
    }

    /// Forgets producers idle since before `cutoff_ms` with no open transaction
    /// (`producer.id.expiration.ms`); returns how many.
    pub fn expire_producers(&self, cutoff_ms: i64) -> usize {
        self.inner.write().producers.expire(cutoff_ms)
    }

    /// The latest leader epoch, or -1 if none was recorded.
    pub fn latest_epoch(&self) -> i32 {
        self.inner.read().epochs.latest_epoch().unwrap_or(-1)
    }

    /// OffsetForLeaderEpoch: the largest epoch ≤ `epoch` and its end offset, or `(-1, -1)`.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        let inner = self.inner.read();
        let end = inner.next_offset();
        inner.epochs.end_offset_for(epoch, end)
    }

    /// The leader epoch in force at `offset`, if known.
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        self.inner.read().epochs.epoch_for_offset(offset)
    }

    /// Facts about every segment, oldest first.
    pub fn segment_infos(&self) -> Vec<SegmentInfo> {
        self.inner
            .read()
            .segments
            .iter()
            .map(|s| SegmentInfo {
                base_offset: s.base_offset(),
                next_offset: s.next_offset(),
                size: s.size(),
                max_timestamp: s.max_timestamp(),
            })
            .collect()
    }

    /// Total bytes of the log's segment files.
    pub fn size_bytes(&self) -> u64 {
        self.inner.read().segments.iter().map(|s| s.size()).sum()
    }

    /// Moves the log start offset up to `offset` and deletes the segments wholly below it.
    /// The segment holding `offset` and the active segment are never deleted. Returns the
    /// number of segments and bytes removed.
    pub fn delete_before(&self, offset: i64) -> Result<(u64, u64)> {
        self.health.watch(self.delete_before_unwatched(offset))
    }

    fn delete_before_unwatched(&self, offset: i64) -> Result<(u64, u64)> {
        let mut inner = self.inner.write();
        self.check_open()?;
        let end = inner.next_offset();
        if offset < 0 || offset > end {
            return Err(StorageError::OffsetOutOfRange {
                offset,
                start: inner.log_start_offset,
                end,
            });
        }
        if offset <= inner.log_start_offset {
            return Ok((0, 0));
        }
        inner.log_start_offset = offset;
        write_atomically(
            &self.dir.join(LOG_START_FILE),
            offset.to_string().as_bytes(),
        )?;
        let mut removed = (0u64, 0u64);
        while let Some(seg) = inner.segments.pop_wholly_below(offset) {
            removed.0 += 1;
            removed.1 += seg.size();
            seg.delete()?;
        }
        inner.epochs.truncate_from_start(offset)?;
        inner.producers.truncate_before(offset);
        Ok(removed)
    }

    /// Rolls a new active segment if the current one holds data (retention uses this to let
    /// an expired active segment go).
    pub fn roll_now(&self) -> Result<()> {
        let mut inner = self.inner.write();
        self.check_open()?;
        if inner.active().size() > 0 {
            self.health.watch(self.roll(&mut inner))?;
        }
        Ok(())
    }

    /// Deletes the `count` oldest segments (never the active one), moving the log start offset
    /// to the base offset of the first segment kept. Returns the segments and bytes removed.
    pub fn delete_oldest_segments(&self, count: usize) -> Result<(u64, u64)> {
        let next_base = {
            let inner = self.inner.read();
            self.check_open()?;
            let count = count.min(inner.segments.closed.len());
            if count == 0 {
                return Ok((0, 0));
            }
            // `count` ≤ the closed segments: the first one kept is closed or the active one.
            let segs = &inner.segments;
            segs.closed.get(count).unwrap_or(&segs.active).base_offset()
        };
        self.delete_before(next_base)
    }

    /// Forces every segment's data and indexes to disk.
    pub fn flush(&self) -> Result<()> {
        self.health.check()?;
        let target = {
            let mut inner = self.inner.write();
            self.health.watch(inner.active_mut().sync())?;
            inner.next_offset()
        };
        self.publish_durable(Some(target));
        Ok(())
    }

    /// Flushes and closes the log, leaving a clean-shutdown marker so the next open skips
    /// recovery. Later calls fail with [`StorageError::LogClosed`].
    pub fn close(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.health.is_offline() {
            // Nothing more is written to a failed directory: the next start recovers it.
            self.retire();
            return Ok(());
        }
        self.flush()?;
        let inner = self.inner.write();
        if self.closed.load(Ordering::Acquire) {
            // Retired meanwhile (a move swapped it out): its directory is not its own.
            return Ok(());
        }
        write_snapshot(&self.dir, inner.next_offset(), &inner.producers)?;
        self.closed.store(true, Ordering::Release);
        write_atomically(&self.dir.join(CLEAN_SHUTDOWN_FILE), b"")?;
        drop(inner);
        self.durable_cv.notify_all();
        let durable = *self.durable_tx.borrow();
        self.durable_tx.send_replace(durable);
        Ok(())
    }

    /// Closes the log without writing to its directory (a moved log whose files now live
    /// elsewhere, or a log of a failed directory): later calls fail with
    /// [`StorageError::LogClosed`], and waiters for durability are woken. Reads planned
    /// before keep their file handles and complete.
    pub fn retire(&self) {
        let inner = self.inner.write();
        self.closed.store(true, Ordering::Release);
        drop(inner);
        self.durable_cv.notify_all();
        let durable = *self.durable_tx.borrow();
        self.durable_tx.send_replace(durable);
        // Fetch long-polls waiting on this log wake up and look again (at the log that
        // replaced it).
        let end = *self.end_tx.borrow();
        self.end_tx.send_replace(end);
    }

    /// Marks the log closed without taking its lock (a move does it while holding the
    /// log still); [`Log::retire`] then wakes the waiters.
    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the log has been closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// A snapshot of the segments for the cleaner (closed segments never change, so it may
    /// read them afterwards without the lock).
    pub(crate) fn cleaner_view(&self) -> Result<LogView> {
        let inner = self.inner.read();
        self.check_open()?;
        Ok(LogView {
            segments: inner.segments.iter().map(SegmentView::of).collect(),
            log_start_offset: inner.log_start_offset,
            log_end_offset: inner.next_offset(),
            last_stable_offset: inner
                .producers
                .first_unstable_offset()
                .map_or(inner.next_offset(), |o| o.min(inner.next_offset())),
            producer_last_offsets: inner
                .producers
                .producers()
                .filter_map(|(id, e)| e.batches.back().map(|b| (*id, b.last_offset)))
                .collect(),
        })
    }

    /// Swaps the cleaned segment written for `old` (its `.cleaned` files) in place of the
    /// segments of `old`, under the write lock so no reader sees a half-done swap. Returns
    /// false, changing nothing, if those segments are no longer exactly as snapshotted.
    pub(crate) fn replace_cleaned(&self, old: &[SegmentView]) -> Result<bool> {
        use crate::storage::swap;
        let Some(first) = old.first() else {
            return Ok(false);
        };
        let mut inner = self.inner.write();
        self.check_open()?;
        let Some(at) = inner
            .segments
            .iter()
            .position(|s| s.base_offset() == first.base_offset)
        else {
            return Ok(false);
        };
        let until = at + old.len();
        // The active segment is never replaced.
        let Some(replaced) = inner.segments.closed.get(at..until) else {
            return Ok(false);
        };
        let same = replaced.iter().zip(old).all(|(s, v)| {
            s.base_offset() == v.base_offset
                && s.size() == v.size
                && s.next_offset() == v.next_offset
        });
        if !same {
            return Ok(false);
        }
        let bases: Vec<i64> = old.iter().map(|v| v.base_offset).collect();
        swap::commit_swap(&self.dir, first.base_offset)?;
        swap::retire_segments(&self.dir, &bases)?;
        swap::finish_swap(&self.dir, first.base_offset)?;
        // Until the new segment is open the old ones keep serving reads (their handles stay
        // valid after the renames); on failure a restart completes the swap from disk.
        let (segment, _) = Segment::open(&self.dir, first.base_offset, false)?;
        let retired: Vec<Segment> = inner.segments.closed.splice(at..until, [segment]).collect();
        drop(inner);
        drop(retired);
        swap::delete_retired(&self.dir, &bases)?;
        Ok(true)
    }
}

/// One segment as a partition move copies it (see [`Log::copy_source`]).
#[derive(Debug, Clone)]
pub struct SegmentSource {
    /// The segment's base offset.
    pub base_offset: i64,
    /// The offset after its last batch.
    pub next_offset: i64,
    /// Bytes in its log file.
    pub size: u64,
    /// Whether it is the active segment (its indexes still grow).
    pub active: bool,
    file: Arc<File>,
}

impl SegmentSource {
    /// The segment's log file, shared with the log.
    pub(crate) fn file(&self) -> &Arc<File> {
        &self.file
    }
}

/// A log as a partition move copies it: its segments, oldest first, and its bounds.
#[derive(Debug, Clone)]
pub struct CopySource {
    /// Every segment, the active one last.
    pub segments: Vec<SegmentSource>,
    /// The log start offset.
    pub log_start_offset: i64,
    /// The log end offset.
    pub log_end_offset: i64,
}

impl Log {
    fn copy_source_of(&self, inner: &LogInner) -> CopySource {
        let active_base = inner.active().base_offset();
        CopySource {
            segments: inner
                .segments
                .iter()
                .map(|s| SegmentSource {
                    base_offset: s.base_offset(),
                    next_offset: s.next_offset(),
                    size: s.size(),
                    active: s.base_offset() == active_base,
                    file: s.file_handle(),
                })
                .collect(),
            log_start_offset: inner.log_start_offset,
            log_end_offset: inner.next_offset(),
        }
    }

    /// What a move copies now (segments only grow; a closed one never changes, but
    /// retention may delete it and the cleaner replace it, so the move's last pass
    /// compares).
    pub(crate) fn copy_source(&self) -> Result<CopySource> {
        let inner = self.inner.read();
        self.check_open()?;
        Ok(self.copy_source_of(&inner))
    }

    /// Runs `f` with the log held still: its segments, and its producer state, under the
    /// read lock, so retention, the cleaner and the flusher wait (the caller has paused
    /// appends through the partition's writer). Reads go on.
    pub(crate) fn with_frozen<R>(
        &self,
        f: impl FnOnce(&CopySource, &ProducerStateManager) -> Result<R>,
    ) -> Result<R> {
        let inner = self.inner.read();
        self.check_open()?;
        let source = self.copy_source_of(&inner);
        f(&source, &inner.producers)
    }
}

/// What the cleaner knows of one segment: a snapshot taken under the log's read lock. Closed
/// segments never change, so their file can be read through the shared handle afterwards.
#[derive(Debug, Clone)]
pub struct SegmentView {
    /// The segment's base offset.
    pub base_offset: i64,
    /// The offset after its last batch.
    pub next_offset: i64,
    /// Bytes in its log file.
    pub size: u64,
    /// Largest batch timestamp, or -1.
    pub max_timestamp: i64,
    /// Max timestamp of its first batch.
    pub first_timestamp: Option<i64>,
    file: Arc<File>,
}

impl SegmentView {
    /// Snapshots a segment.
    pub fn of(seg: &Segment) -> SegmentView {
        SegmentView {
            base_offset: seg.base_offset(),
            next_offset: seg.next_offset(),
            size: seg.size(),
            max_timestamp: seg.max_timestamp(),
            first_timestamp: seg.first_timestamp(),
            file: seg.file_handle(),
        }
    }

    /// The segment's log file, shared with the log.
    pub(crate) fn file(&self) -> &Arc<File> {
        &self.file
    }
}

/// A snapshot of a log for the cleaner.
#[derive(Debug, Clone)]
pub struct LogView {
    /// Every segment, oldest first, the active one last.
    pub segments: Vec<SegmentView>,
    /// The log start offset.
    pub log_start_offset: i64,
    /// The log end offset.
    pub log_end_offset: i64,
    /// The last stable offset (cleaning never passes the segment holding it).
    pub last_stable_offset: i64,
    /// Producer id → last offset of its last data batch, for the producers the log's
    /// producer state knows (Kafka's `lastRecordsOfActiveProducers`).
    pub producer_last_offsets: std::collections::HashMap<i64, i64>,
}

/// Ensures a group-commit syncer always hands the role back, even if its future is dropped.
struct SyncerGuard<'a> {
    log: &'a Log,
    /// What to publish when the guard goes: set by `finish`, `None` if the syncer was dropped.
    target: Option<i64>,
}

impl SyncerGuard<'_> {
    fn finish(mut self, target: Option<i64>) {
        self.target = target;
    }
}

impl Drop for SyncerGuard<'_> {
    fn drop(&mut self) {
        self.log.publish_durable(self.target);
    }
}

fn read_log_start(dir: &Path) -> Result<Option<i64>> {
    match fs::read_to_string(dir.join(LOG_START_FILE)) {
        Ok(s) => s.trim().parse().map(Some).map_err(|_| {
            StorageError::LogCorrupted(format!("bad {LOG_START_FILE} in {}", dir.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The marker type and coordinator epoch of a control batch (its single record).
fn control_marker(batch: &[u8]) -> Result<Option<(ControlRecordType, i32)>> {
    let mb = MessageBatch::from_bytes(Bytes::copy_from_slice(batch))?;
    let Some(first) = mb.message_iter(DEFAULT_MAX_DECOMPRESSED)?.next() else {
        return Ok(None);
    };
    let m = first?;
    let (Some(key), Some(value)) = (m.key, m.value) else {
        return Err(StorageError::InvalidBatch(
            "control record without key or value".into(),
        ));
    };
    match ControlRecordType::parse_key(&key)? {
        t @ (ControlRecordType::Abort | ControlRecordType::Commit) => {
            let marker = EndTxnMarker::parse(&key, &value)?;
            Ok(Some((t, marker.coordinator_epoch)))
        }
        ControlRecordType::Other(_) => Ok(None),
    }
}

/// Loads the newest producer snapshot and replays the batches written after it.
fn recover_producer_state(
    dir: &Path,
    segments: &Segments,
    log_start_offset: i64,
    log_end_offset: i64,
) -> Result<ProducerStateManager> {
    let (from, mut state) = match load_snapshot(dir, log_end_offset)? {
        Some((offset, state)) if offset >= log_start_offset => (offset, state),
        _ => (log_start_offset, ProducerStateManager::new()),
    };
    if from >= log_end_offset {
        return Ok(state);
    }
    for seg in segments.starting_at(from) {
        let Some((mut pos, _)) = seg.find_batch(from)? else {
            continue;
        };
        while pos < seg.size() {
            let h = seg.read_header(pos)?;
            if h.producer_id >= 0 && h.last_offset() >= from {
                let marker = if h.is_control() {
                    control_marker(&seg.read_at(pos, h.total_len())?)?
                } else {
                    None
                };
                state.update(&h, marker)?;
            }
            pos += h.total_len() as u64;
        }
    }
    Ok(state)
}

/// Whether every whole batch in `bytes` is empty (emptied by compaction).
fn holds_no_records(bytes: &[u8]) -> bool {
    crate::storage::record::batch::split_batches(bytes)
        .all(|b| b.is_ok_and(|(h, _)| h.record_count == 0))
}
