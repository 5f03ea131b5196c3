//! The state store facade: a durable, ordered map of byte keys to byte values.
//!
//! A write is appended to the write-ahead log, then applied to the active memtable. A full
//! memtable becomes immutable; immutable memtables are flushed to level-0 SSTables, the
//! manifest is replaced, and the log is truncated up to the flushed writes. Reads merge the
//! memtables and tables, newest first. Flushes and compactions are serialised by one
//! maintenance lock and run on the calling thread; the table list and memtables sit behind
//! a read-write lock held only briefly, never across table I/O.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex, MutexGuard, RwLock};

use super::batch::{BatchOp, WriteBatch};
use super::codec::len_u32;
use super::compaction::{self, CompactionResult, Plan, TableView};
use super::config::{StateStoreConfig, WalSyncMode};
use super::manifest::{Manifest, TableRecord};
use super::memtable::{bounds_empty, Entry, MemTable};
use super::merge::{MemSource, MergeIter, Source};
use super::sstable::{SsTable, SsTableWriter};
use super::wal::{sync_dir, Wal};
use crate::storage::blocking::off_worker;
use crate::storage::{Result, StorageError};

/// Most compactions one `compact` call (or one flush) runs back to back.
const MAX_COMPACTIONS_PER_CALL: usize = 64;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn table_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.sst"))
}

#[derive(Debug, Clone)]
struct TableHandle {
    record: TableRecord,
    table: Arc<SsTable>,
}

impl TableHandle {
    fn view(&self) -> TableView<'_> {
        TableView {
            id: self.record.id,
            level: self.record.level,
            max_seq: self.record.max_seq,
            created_ms: self.record.created_ms,
            size: self.table.size(),
            first_key: self.table.first_key(),
            last_key: self.table.last_key(),
        }
    }
}

/// Sorts tables into read order: level ascending, newest writes first.
fn sort_read_order(tables: &mut [TableHandle]) {
    tables.sort_by(|a, b| {
        a.record
            .level
            .cmp(&b.record.level)
            .then(b.record.max_seq.cmp(&a.record.max_seq))
            .then(b.record.id.cmp(&a.record.id))
    });
}

struct Core {
    active: MemTable,
    /// Oldest first.
    immutables: VecDeque<Arc<MemTable>>,
    /// In read order.
    tables: Vec<TableHandle>,
    replay_from: u64,
    closed: bool,
}

impl Core {
    fn check_open(&self) -> Result<()> {
        if self.closed {
            Err(StorageError::StateStoreClosed)
        } else {
            Ok(())
        }
    }

    fn rotate(&mut self) {
        if !self.active.is_empty() {
            let full = std::mem::take(&mut self.active);
            self.immutables.push_back(Arc::new(full));
        }
    }
}

/// Writers waiting to be committed. The first writer to find no leader commits every
/// queued batch with one log write and one fsync, then wakes the others.
#[derive(Default)]
struct CommitQueue {
    pending: Vec<(u64, WriteBatch, Vec<u8>)>,
    next_ticket: u64,
    /// Outcome per ticket: immutable memtables waiting for a flush, or the error.
    done: HashMap<u64, Result<usize>>,
    leader: bool,
}

/// A copy of an error for each writer of a failed group.
fn error_copy(e: &StorageError) -> StorageError {
    match e {
        StorageError::StateStoreClosed => StorageError::StateStoreClosed,
        StorageError::Io(io) => StorageError::Io(std::io::Error::new(io.kind(), io.to_string())),
        StorageError::InvalidStateRequest(m) => StorageError::InvalidStateRequest(m.clone()),
        StorageError::Compression(m) => StorageError::Compression(m.clone()),
        other => StorageError::StateCorrupted(other.to_string()),
    }
}

/// Description of one live SSTable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Table id.
    pub id: u64,
    /// Level.
    pub level: u32,
    /// File path.
    pub path: PathBuf,
    /// File size in bytes.
    pub size: u64,
    /// Entries, tombstones included.
    pub entries: u64,
}

/// A snapshot of the store's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreStats {
    /// Bytes held by the active memtable.
    pub memtable_bytes: u64,
    /// Immutable memtables waiting for their flush.
    pub immutable_memtables: usize,
    /// Live tables in read order.
    pub tables: Vec<TableInfo>,
    /// Offset the next write-ahead log record gets.
    pub wal_next_offset: u64,
    /// Write-ahead log segment files, oldest first.
    pub wal_segments: Vec<PathBuf>,
}

/// Wake-ups of the background maintenance thread.
#[derive(Default)]
struct WorkerSignal {
    pending: bool,
    shutdown: bool,
}

/// A durable, crash-safe, ordered key-value store; share it through an `Arc`.
pub struct StateStore {
    inner: Arc<Inner>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Whether flushes and compactions are left to the worker.
    background: bool,
}

/// The store's state, shared with the background maintenance thread.
struct Inner {
    dir: PathBuf,
    config: StateStoreConfig,
    /// Held across append-and-apply so log order and memtable order agree; taken before
    /// `core` when both are needed. Readers never wait on it, so an fsync does not stall
    /// gets and scans.
    wal: Mutex<Wal>,
    core: RwLock<Core>,
    maintenance: Mutex<()>,
    commits: Mutex<CommitQueue>,
    committed: Condvar,
    next_table_id: AtomicU64,
    /// The directory's `LOCK` file, exclusively locked while the store is open.
    _lock: fs::File,
    signal: Mutex<WorkerSignal>,
    signalled: Condvar,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

impl StateStore {
    /// Opens the store in `dir`, creating it if needed: loads the manifest, removes files a
    /// crash left behind, opens the tables and replays the write-ahead log. Starts the
    /// background maintenance thread when the config asks for it.
    pub fn open(dir: impl AsRef<Path>, config: StateStoreConfig) -> Result<StateStore> {
        let background = config.background_maintenance;
        let interval = matches!(config.wal.sync_mode, WalSyncMode::Interval(_));
        let inner = Arc::new(Inner::open(dir.as_ref(), config)?);
        let worker = if background || interval {
            let shared = Arc::clone(&inner);
            Some(
                std::thread::Builder::new()
                    .name("state-store-maintenance".into())
                    .spawn(move || shared.maintain())?,
            )
        } else {
            None
        };
        Ok(StateStore {
            inner,
            worker: Mutex::new(worker),
            background,
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let mut b = WriteBatch::new();
        b.put(key, value);
        self.write(&b)
    }

    /// Deletes `key`.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Result<()> {
        let mut b = WriteBatch::new();
        b.delete(key);
        self.write(&b)
    }

    /// Applies a batch atomically: one write-ahead log record, visible all at once, and
    /// (under `WalSyncMode::Always`) durable before it is visible. Concurrent writers are
    /// committed in groups sharing one fsync.
    ///
    /// Returns once the batch is durable, so a caller answering a request afterwards
    /// answers only for durable state. Called on a tokio worker thread, the worker first
    /// hands its other tasks on (see [`off_worker`]), so the fsync and the wait for the
    /// group's leader do not stall the runtime.
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        off_worker(|| self.write_blocking(batch))
    }

    fn write_blocking(&self, batch: &WriteBatch) -> Result<()> {
        let waiting = self.inner.write(batch)?;
        if waiting > self.inner.config.memtable.num_immutable || (waiting > 0 && !self.background) {
            let _guard = self.inner.maintenance.lock();
            self.inner.flush_immutables()?;
            self.inner.compact_picked()?;
        } else if waiting > 0 {
            self.inner.wake_worker();
        }
        Ok(())
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>> {
        self.inner.get(key.as_ref())
    }

    /// Iterates the live keys within the bounds in key order, with their values. The view
    /// is a snapshot taken at the call.
    pub fn range(&self, start: Bound<&[u8]>, end: Bound<&[u8]>) -> Result<StoreIter> {
        let start = start.map(<[u8]>::to_vec);
        let end = end.map(<[u8]>::to_vec);
        self.inner.range_owned(start, end)
    }

    /// Iterates the live keys starting with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Result<StoreIter> {
        let prefix = prefix.as_ref();
        self.inner
            .range_owned(Bound::Included(prefix.to_vec()), prefix_end(prefix))
    }

    /// Iterates every live key in key order.
    pub fn iter(&self) -> Result<StoreIter> {
        self.inner.range_owned(Bound::Unbounded, Bound::Unbounded)
    }

    /// Forces every appended write to disk (what `WalSyncMode::Manual` defers).
    pub fn sync(&self) -> Result<()> {
        off_worker(|| self.inner.sync())
    }

    /// Writes every memtable to SSTables, truncates the write-ahead log, then runs the
    /// compactions the strategy wants.
    pub fn flush(&self) -> Result<()> {
        off_worker(|| self.inner.flush())
    }

    /// Runs the compactions the strategy wants until it wants none; returns their sum.
    pub fn compact(&self) -> Result<CompactionResult> {
        self.inner.compact()
    }

    /// Merges every table into one sorted run at the bottom level, dropping tombstones and
    /// shadowed versions. Memtables are not flushed first.
    pub fn compact_full(&self) -> Result<CompactionResult> {
        self.inner.compact_full()
    }

    /// The store's current shape.
    pub fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    /// Stops the background thread, syncs the write-ahead log and closes the store; later
    /// calls fail with `StateStoreClosed`. Memtables are not flushed: the log replays them
    /// on open.
    pub fn close(&self) -> Result<()> {
        let worker = self.worker.lock().take();
        if let Some(worker) = worker {
            {
                let mut signal = self.inner.signal.lock();
                signal.shutdown = true;
            }
            self.inner.signalled.notify_all();
            if worker.join().is_err() {
                tracing::error!("the state store maintenance thread panicked");
            }
        }
        self.inner.close()
    }
}

/// The smallest key greater than every key starting with `prefix`, if any.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != u8::MAX {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

fn apply(mem: &mut MemTable, batch: &WriteBatch, seq: u64) {
    for op in batch.ops() {
        match op {
            BatchOp::Put { key, value } => mem.put(key, value),
            BatchOp::Delete { key } => mem.delete(key),
        }
    }
    mem.set_max_seq(seq);
}

impl Inner {
    fn open(dir: &Path, config: StateStoreConfig) -> Result<Inner> {
        let dir = dir.to_path_buf();
        fs::create_dir_all(&dir)?;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StorageError::InvalidStateRequest(format!(
                    "{} is already open",
                    dir.display()
                )))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e.into()),
        }
        let manifest = match Manifest::load(&dir)? {
            Some(m) => m,
            None => {
                let has_tables = fs::read_dir(&dir)?.any(|e| {
                    e.is_ok_and(|e| e.path().extension().and_then(|x| x.to_str()) == Some("sst"))
                });
                if has_tables {
                    return Err(StorageError::StateCorrupted(format!(
                        "{} holds tables but no manifest",
                        dir.display()
                    )));
                }
                let m = Manifest::default();
                m.store(&dir)?;
                m
            }
        };
        let live: HashSet<u64> = manifest.tables.iter().map(|t| t.id).collect();
        let mut max_id = manifest.next_table_id;
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("sst") {
                continue;
            }
            let id = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok());
            match id {
                Some(id) if live.contains(&id) => {}
                Some(id) => {
                    tracing::info!(table = %path.display(), "removing a table no manifest lists");
                    fs::remove_file(&path)?;
                    max_id = max_id.max(id + 1);
                }
                None => {}
            }
        }
        let mut tables = Vec::with_capacity(manifest.tables.len());
        for record in &manifest.tables {
            let table = Arc::new(SsTable::open(&table_path(&dir, record.id))?);
            max_id = max_id.max(record.id + 1);
            tables.push(TableHandle {
                record: *record,
                table,
            });
        }
        sort_read_order(&mut tables);
        let wal_dir = config.wal.dir.clone().unwrap_or_else(|| dir.join("wal"));
        let wal = Wal::open(&wal_dir, config.wal.clone(), manifest.replay_from)?;
        let mut active = MemTable::new();
        let mut immutables = VecDeque::new();
        wal.replay(manifest.replay_from, |seq, payload| {
            let batch = WriteBatch::decode(payload)?;
            apply(&mut active, &batch, seq);
            if active.size() >= config.memtable.max_size {
                immutables.push_back(Arc::new(std::mem::take(&mut active)));
            }
            Ok(())
        })?;
        let need_flush = immutables.len() > config.memtable.num_immutable;
        let store = Inner {
            dir,
            wal: Mutex::new(wal),
            core: RwLock::new(Core {
                active,
                immutables,
                tables,
                replay_from: manifest.replay_from,
                closed: false,
            }),
            config,
            maintenance: Mutex::new(()),
            commits: Mutex::new(CommitQueue::default()),
            committed: Condvar::new(),
            next_table_id: AtomicU64::new(max_id),
            _lock: lock,
            signal: Mutex::new(WorkerSignal::default()),
            signalled: Condvar::new(),
        };
        if need_flush {
            let _guard = store.maintenance.lock();
            store.flush_immutables()?;
        }
        Ok(store)
    }

    /// The background thread: flushes and compacts whenever woken, and under
    /// `WalSyncMode::Interval` syncs the log on time, until shutdown.
    fn maintain(&self) {
        let interval = match self.config.wal.sync_mode {
            WalSyncMode::Interval(d) => Some(d.max(Duration::from_millis(1))),
            _ => None,
        };
        let mut next_sync = interval.map(|d| Instant::now() + d);
        loop {
            let mut woken = false;
            {
                let mut signal = self.signal.lock();
                loop {
                    if signal.shutdown {
                        return;
                    }
                    if signal.pending {
                        signal.pending = false;
                        woken = true;
                        break;
                    }
                    match next_sync {
                        Some(at) if Instant::now() >= at => break,
                        Some(at) => {
                            self.signalled.wait_until(&mut signal, at);
                        }
                        None => self.signalled.wait(&mut signal),
                    }
                }
            }
            if let (Some(d), Some(at)) = (interval, next_sync) {
                if Instant::now() >= at {
                    match self.sync() {
                        Ok(()) | Err(StorageError::StateStoreClosed) => {}
                        Err(e) => tracing::error!(error = %e, "state store log sync failed"),
                    }
                    next_sync = Some(Instant::now() + d);
                }
            }
            if !woken {
                continue;
            }
            let _guard = self.maintenance.lock();
            let outcome = self.flush_immutables().and_then(|()| self.compact_picked());
            match outcome {
                Ok(_) | Err(StorageError::StateStoreClosed) => {}
                Err(e) => tracing::error!(error = %e, "state store background maintenance failed"),
            }
        }
    }

    fn wake_worker(&self) {
        self.signal.lock().pending = true;
        self.signalled.notify_all();
    }

    /// Commits a batch; returns how many immutable memtables wait for a flush.
    fn write(&self, batch: &WriteBatch) -> Result<usize> {
        if batch.is_empty() {
            self.core.read().check_open()?;
            return Ok(0);
        }
        let payload = batch.encode()?;
        len_u32(payload.len())?;
        self.commit(batch.clone(), payload)
    }

    /// Queues a batch and waits until a leader (perhaps this writer) has committed it.
    fn commit(&self, batch: WriteBatch, payload: Vec<u8>) -> Result<usize> {
        let mut queue = self.commits.lock();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.pending.push((ticket, batch, payload));
        loop {
            if let Some(outcome) = queue.done.remove(&ticket) {
                return outcome;
            }
            if queue.leader {
                self.committed.wait(&mut queue);
                continue;
            }
            queue.leader = true;
            let group = std::mem::take(&mut queue.pending);
            let outcomes = MutexGuard::unlocked(&mut queue, || self.commit_group(group));
            queue.leader = false;
            queue.done.extend(outcomes);
            self.committed.notify_all();
        }
    }

    /// Appends a group of batches to the log (one write, one fsync) and applies them to
    /// the memtable in log order.
    fn commit_group(&self, group: Vec<(u64, WriteBatch, Vec<u8>)>) -> Vec<(u64, Result<usize>)> {
        let outcome = (|| -> Result<usize> {
            let mut wal = self.wal.lock();
            self.core.read().check_open()?;
            let payloads: Vec<&[u8]> = group.iter().map(|(_, _, p)| p.as_slice()).collect();
            let first = wal.append_many(&payloads)?;
            let mut core = self.core.write();
            for (seq, (_, batch, _)) in (first..).zip(group.iter()) {
                apply(&mut core.active, batch, seq);
                if core.active.size() >= self.config.memtable.max_size {
                    core.rotate();
                }
            }
            Ok(core.immutables.len())
        })();
        group
            .iter()
            .map(|(ticket, _, _)| {
                let copy = match &outcome {
                    Ok(waiting) => Ok(*waiting),
                    Err(e) => Err(error_copy(e)),
                };
                (*ticket, copy)
            })
            .collect()
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let tables = {
            let core = self.core.read();
            core.check_open()?;
            if let Some(v) = core.active.get(key) {
                return Ok(v.map(<[u8]>::to_vec));
            }
            for mem in core.immutables.iter().rev() {
                if let Some(v) = mem.get(key) {
                    return Ok(v.map(<[u8]>::to_vec));
                }
            }
            core.tables
                .iter()
                .map(|t| Arc::clone(&t.table))
                .collect::<Vec<_>>()
        };
        for table in tables {
            if let Some(v) = table.get(key)? {
                return Ok(v);
            }
        }
        Ok(None)
    }

    fn range_owned(&self, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> Result<StoreIter> {
        let s = start.as_ref().map(Vec::as_slice);
        let e = end.as_ref().map(Vec::as_slice);
        if bounds_empty(s, e) {
            return Ok(StoreIter {
                inner: MergeIter::new(Vec::new(), true),
            });
        }
        let mut sources: Vec<Source> = Vec::new();
        let core = self.core.read();
        core.check_open()?;
        sources.push(Box::new(
            core.active.range_entries(s, e).into_iter().map(Ok),
        ));
        for mem in core.immutables.iter().rev() {
            sources.push(Box::new(MemSource::new(
                Arc::clone(mem),
                start.clone(),
                end.clone(),
            )));
        }
        for handle in &core.tables {
            let t = &handle.table;
            let below_start = match s {
                Bound::Included(k) => t.last_key() < k,
                Bound::Excluded(k) => t.last_key() <= k,
                Bound::Unbounded => false,
            };
            let above_end = match e {
                Bound::Included(k) => t.first_key() > k,
                Bound::Excluded(k) => t.first_key() >= k,
                Bound::Unbounded => false,
            };
            if t.entries() == 0 || below_start || above_end {
                continue;
            }
            sources.push(Box::new(t.range(start.clone(), end.clone())));
        }
        drop(core);
        Ok(StoreIter {
            inner: MergeIter::new(sources, true),
        })
    }

    fn sync(&self) -> Result<()> {
        let mut wal = self.wal.lock();
        self.core.read().check_open()?;
        wal.sync()
    }

    fn flush(&self) -> Result<()> {
        let _guard = self.maintenance.lock();
        {
            let mut core = self.core.write();
            core.check_open()?;
            core.rotate();
        }
        self.flush_immutables()?;
        self.compact_picked()?;
        Ok(())
    }

    fn compact(&self) -> Result<CompactionResult> {
        let _guard = self.maintenance.lock();
        self.core.read().check_open()?;
        self.compact_picked()
    }

    fn compact_full(&self) -> Result<CompactionResult> {
        let _guard = self.maintenance.lock();
        let plan = {
            let core = self.core.read();
            core.check_open()?;
            let views: Vec<TableView<'_>> = core.tables.iter().map(TableHandle::view).collect();
            compaction::full(&self.config.compaction, &views)
        };
        match plan {
            Some(plan) => self.run_compaction(&plan),
            None => Ok(CompactionResult::default()),
        }
    }

    fn stats(&self) -> StoreStats {
        let wal = self.wal.lock();
        let core = self.core.read();
        StoreStats {
            memtable_bytes: core.active.size(),
            immutable_memtables: core.immutables.len(),
            tables: core
                .tables
                .iter()
                .map(|h| TableInfo {
                    id: h.record.id,
                    level: h.record.level,
                    path: h.table.path().to_path_buf(),
                    size: h.table.size(),
                    entries: h.table.entries(),
                })
                .collect(),
            wal_next_offset: wal.next_offset(),
            wal_segments: wal.segment_paths(),
        }
    }

    fn close(&self) -> Result<()> {
        let _guard = self.maintenance.lock();
        let mut wal = self.wal.lock();
        let mut core = self.core.write();
        if core.closed {
            return Ok(());
        }
        core.closed = true;
        wal.close()
    }

    fn manifest_of(&self, tables: &[TableHandle], replay_from: u64) -> Manifest {
        Manifest {
            next_table_id: self.next_table_id.load(Ordering::SeqCst),
            replay_from,
            tables: tables.iter().map(|t| t.record).collect(),
        }
    }

    fn new_table_id(&self) -> u64 {
        self.next_table_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Flushes every immutable memtable. The caller holds the maintenance lock.
    fn flush_immutables(&self) -> Result<()> {
        let mems: Vec<Arc<MemTable>> = {
            let core = self.core.read();
            core.check_open()?;
            core.immutables.iter().cloned().collect()
        };
        if mems.is_empty() {
            return Ok(());
        }
        let mut built: Vec<TableHandle> = Vec::new();
        let mut replay_from = None;
        let outcome = (|| -> Result<()> {
            for mem in &mems {
                if let Some(seq) = mem.max_seq() {
                    replay_from = Some(seq + 1);
                }
                if mem.is_empty() {
                    continue;
                }
                let id = self.new_table_id();
                let path = table_path(&self.dir, id);
                let mut w = SsTableWriter::create(&path, &self.config.sstable)?;
                for (k, v) in mem.iter() {
                    w.add(k, v)?;
                }
                let table = Arc::new(w.finish()?);
                built.push(TableHandle {
                    record: TableRecord {
                        id,
                        level: 0,
                        max_seq: mem.max_seq().unwrap_or(0),
                        created_ms: now_ms(),
                    },
                    table,
                });
            }
            Ok(())
        })();
        // Only this thread (holding the maintenance lock) changes the table list and the
        // replay point, so they can be read now and installed after the manifest is
        // durable, without blocking readers during its fsyncs.
        let (mut tables, replay_from) = {
            let core = self.core.read();
            let r = replay_from.map_or(core.replay_from, |r| r.max(core.replay_from));
            (core.tables.clone(), r)
        };
        if let Err(e) = outcome {
            for t in &built {
                let _ = fs::remove_file(t.table.path());
            }
            return Err(e);
        }
        tables.extend(built);
        sort_read_order(&mut tables);
        // The manifest (and the directory entries of the new tables) must be durable
        // before the log records they replace are dropped. Should storing it fail, the new
        // tables stay on disk: the rename may have happened, and open removes any table
        // the manifest does not list.
        self.manifest_of(&tables, replay_from).store(&self.dir)?;
        let mut core = self.core.write();
        core.tables = tables;
        core.replay_from = replay_from;
        for mem in &mems {
            if core.immutables.front().is_some_and(|m| Arc::ptr_eq(m, mem)) {
                core.immutables.pop_front();
            }
        }
        drop(core);
        self.wal.lock().truncate(replay_from)?;
        Ok(())
    }

    /// Runs picked compactions until none is wanted. The caller holds the maintenance lock.
    fn compact_picked(&self) -> Result<CompactionResult> {
        let mut total = CompactionResult::default();
        for _ in 0..MAX_COMPACTIONS_PER_CALL {
            let plan = {
                let core = self.core.read();
                let views: Vec<TableView<'_>> = core.tables.iter().map(TableHandle::view).collect();
                compaction::pick(&self.config.compaction, &views, now_ms())
            };
            match plan {
                Some(plan) => total.absorb(self.run_compaction(&plan)?),
                None => break,
            }
        }
        Ok(total)
    }

    /// Merges the plan's inputs into new tables and swaps them in. The caller holds the
    /// maintenance lock, so the table list changes only here.
    fn run_compaction(&self, plan: &Plan) -> Result<CompactionResult> {
        let inputs: Vec<TableHandle> = {
            let core = self.core.read();
            core.check_open()?;
            core.tables
                .iter()
                .filter(|t| plan.inputs.contains(&t.record.id))
                .cloned()
                .collect()
        };
        if inputs.is_empty() {
            return Ok(CompactionResult::default());
        }
        let max_seq = inputs.iter().map(|t| t.record.max_seq).max().unwrap_or(0);
        let created_ms = inputs
            .iter()
            .map(|t| t.record.created_ms)
            .max()
            .unwrap_or(0);
        let sources: Vec<Source> = inputs
            .iter()
            .map(|t| -> Source { Box::new(t.table.range(Bound::Unbounded, Bound::Unbounded)) })
            .collect();
        let merged = MergeIter::new(sources, plan.drop_tombstones);
        let mut outputs: Vec<TableHandle> = Vec::new();
        let mut writer: Option<(u64, SsTableWriter)> = None;
        let finish = |w: (u64, SsTableWriter), outputs: &mut Vec<TableHandle>| -> Result<()> {
            let (id, w) = w;
            let table = Arc::new(w.finish()?);
            outputs.push(TableHandle {
                record: TableRecord {
                    id,
                    level: plan.output_level,
                    max_seq,
                    created_ms,
                },
                table,
            });
            Ok(())
        };
        let result = (|| -> Result<()> {
            for entry in merged {
                let (k, v): Entry = entry?;
                if writer.is_none() {
                    let id = self.new_table_id();
                    let w =
                        SsTableWriter::create(&table_path(&self.dir, id), &self.config.sstable)?;
                    writer = Some((id, w));
                }
                if let Some((_, w)) = writer.as_mut() {
                    w.add(&k, v.as_deref())?;
                    if plan.split_bytes.is_some_and(|limit| w.written() >= limit) {
                        if let Some(done) = writer.take() {
                            finish(done, &mut outputs)?;
                        }
                    }
                }
            }
            if let Some(done) = writer.take() {
                finish(done, &mut outputs)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // Leave the inputs live; partial outputs are removed now or at the next open.
            for o in &outputs {
                let _ = fs::remove_file(o.table.path());
            }
            return Err(e);
        }
        let out = CompactionResult {
            merged_entries: outputs.iter().map(|o| o.table.entries()).sum(),
            input_tables: inputs.len(),
            output_size: outputs.iter().map(|o| o.table.size()).sum(),
        };
        {
            // As in a flush: read, make the manifest durable, then install.
            let (mut tables, replay_from) = {
                let core = self.core.read();
                core.check_open()?;
                let kept: Vec<TableHandle> = core
                    .tables
                    .iter()
                    .filter(|t| !plan.inputs.contains(&t.record.id))
                    .cloned()
                    .collect();
                (kept, core.replay_from)
            };
            tables.extend(outputs);
            sort_read_order(&mut tables);
            // On failure the outputs stay (see flush); the inputs stay live in memory.
            self.manifest_of(&tables, replay_from).store(&self.dir)?;
            self.core.write().tables = tables;
        }
        for t in &inputs {
            if let Err(e) = fs::remove_file(t.table.path()) {
                tracing::warn!(table = %t.table.path().display(), error = %e, "could not remove a compacted table");
            }
        }
        sync_dir(&self.dir)?;
        Ok(out)
    }
}

impl Drop for StateStore {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// An iterator over live keys and values in key order; yields an error (and then ends)
/// when a table fails its checks.
pub struct StoreIter {
    inner: MergeIter,
}

impl std::fmt::Debug for StoreIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreIter").finish_non_exhaustive()
    }
}

impl Iterator for StoreIter {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.inner.next()? {
                Ok((k, Some(v))) => return Some(Ok((k, v))),
                Ok((_, None)) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kv::config::CompactionStrategy;

    fn small(strategy: CompactionStrategy) -> StateStoreConfig {
        let mut c = StateStoreConfig::default();
        c.memtable.max_size = 2048;
        c.memtable.num_immutable = 1;
        c.sstable.block_size = 256;
        c.wal.segment_bytes = 4096;
        c.wal.sync_mode = WalSyncMode::Manual;
        c.compaction.strategy = strategy;
        c.compaction.level0_trigger = 2;
        c.compaction.level1_bytes = 8192;
        c.compaction.target_table_bytes = 4096;
        c.compaction.min_merge_tables = 2;
        c.background_maintenance = false;
        c
    }

    fn collect(it: StoreIter) -> Vec<(Vec<u8>, Vec<u8>)> {
        it.collect::<Result<_>>().unwrap()
    }

    #[test]
    fn prefix_end_handles_ff_bytes() {
        assert_eq!(prefix_end(b"ab"), Bound::Excluded(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Bound::Excluded(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), Bound::Unbounded);
        assert_eq!(prefix_end(b""), Bound::Unbounded);
    }

    #[test]
    fn put_get_delete_scan_across_flushes_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
        for i in 0..300u32 {
            store
                .put(format!("offsets/g{}/t-{i:04}", i % 3), i.to_le_bytes())
                .unwrap();
        }
        store.delete("offsets/g1/t-0001").unwrap();
        assert!(store.stats().tables.len() > 1);
        assert_eq!(
            store.get("offsets/g0/t-0003").unwrap(),
            Some(3u32.to_le_bytes().to_vec())
        );
        assert_eq!(store.get("offsets/g1/t-0001").unwrap(), None);
        let g1 = collect(store.scan_prefix("offsets/g1/").unwrap());
        assert_eq!(g1.len(), 99);
        assert!(g1.windows(2).all(|w| w[0].0 < w[1].0));
        store.close().unwrap();
        assert!(matches!(
            store.get("x"),
            Err(StorageError::StateStoreClosed)
        ));
        drop(store);

        let store = StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
        assert_eq!(collect(store.scan_prefix("offsets/g1/").unwrap()).len(), 99);
        assert_eq!(collect(store.iter().unwrap()).len(), 299);
        let r = collect(
            store
                .range(
                    Bound::Included(b"offsets/g2/"),
                    Bound::Excluded(b"offsets/g2/t-0100"),
                )
                .unwrap(),
        );
        assert_eq!(r.len(), 33);
    }

    #[test]
    fn write_batches_are_atomic_and_ordered() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path(), small(CompactionStrategy::SizeTiered)).unwrap();
        let mut b = WriteBatch::new();
        b.put("a", "1").put("b", "2").delete("a").put("c", "3");
        store.write(&b).unwrap();
        assert_eq!(store.get("a").unwrap(), None);
        assert_eq!(store.stats().wal_next_offset, 1);
        drop(store);
        let store = StateStore::open(dir.path(), small(CompactionStrategy::SizeTiered)).unwrap();
        assert_eq!(
            collect(store.iter().unwrap()),
            vec![
                (b"b".to_vec(), b"2".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ]
        );
    }

    #[test]
    fn flush_truncates_the_wal_and_full_compaction_drops_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
        for i in 0..2000u32 {
            store.put(format!("k{i:05}"), [7u8; 16]).unwrap();
        }
        for i in 0..2000u32 {
            store.delete(format!("k{i:05}")).unwrap();
        }
        store.flush().unwrap();
        assert!(store.stats().wal_segments.len() <= 2);
        let r = store.compact_full().unwrap();
        assert!(r.input_tables >= 1);
        assert_eq!(r.merged_entries, 0);
        assert!(store.stats().tables.is_empty());
        assert_eq!(collect(store.iter().unwrap()), vec![]);
    }

    #[test]
    fn an_iterator_is_a_snapshot_that_outlives_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
        for i in 0..100u32 {
            store.put(format!("k{i:03}"), "old").unwrap();
        }
        store.flush().unwrap();
        store.put("k000", "newer").unwrap();
        let mut it = store.iter().unwrap();
        assert_eq!(
            it.next().unwrap().unwrap(),
            (b"k000".to_vec(), b"newer".to_vec())
        );
        store.put("k001", "after-snapshot").unwrap();
        store.delete("k002").unwrap();
        store.flush().unwrap();
        store.compact_full().unwrap();
        let rest: Vec<_> = it.collect::<Result<_>>().unwrap();
        assert_eq!(rest.len(), 99);
        assert_eq!(rest[0], (b"k001".to_vec(), b"old".to_vec()));
        assert_eq!(rest[1].0, b"k002".to_vec());
        assert_eq!(store.get("k001").unwrap(), Some(b"after-snapshot".to_vec()));
        assert_eq!(store.get("k002").unwrap(), None);
    }

    #[test]
    fn compaction_keeps_the_newest_version_and_reports_its_work() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = small(CompactionStrategy::SizeTiered);
        c.compaction.min_merge_tables = 10;
        let store = StateStore::open(dir.path(), c).unwrap();
        for round in 0..3u32 {
            for i in 0..20u32 {
                store.put(format!("k{i:02}"), format!("r{round}")).unwrap();
            }
            store.flush().unwrap();
        }
        assert_eq!(store.stats().tables.len(), 3);
        let r = store.compact_full().unwrap();
        assert_eq!(r.input_tables, 3);
        assert_eq!(r.merged_entries, 20);
        let stats = store.stats();
        assert_eq!(stats.tables.len(), 1);
        assert_eq!(r.output_size, stats.tables[0].size);
        assert_eq!(store.get("k07").unwrap(), Some(b"r2".to_vec()));
    }

    #[test]
    fn leveled_compaction_builds_deeper_levels() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = small(CompactionStrategy::Leveled);
        c.compaction.level1_bytes = 4096;
        c.compaction.size_ratio = 2;
        let store = StateStore::open(dir.path(), c.clone()).unwrap();
        for i in 0..3000u32 {
            store
                .put(format!("k{:05}", (i * 7919) % 3000), [1u8; 24])
                .unwrap();
        }
        store.flush().unwrap();
        let stats = store.stats();
        assert!(stats.tables.iter().any(|t| t.level >= 2), "{stats:?}");
        // Within a level below 0 the tables' key ranges do not overlap.
        let tables: Vec<_> = {
            let core = store.inner.core.read();
            core.tables
                .iter()
                .map(|t| {
                    (
                        t.record.level,
                        t.table.first_key().to_vec(),
                        t.table.last_key().to_vec(),
                    )
                })
                .collect()
        };
        for a in &tables {
            for b in &tables {
                if a != b && a.0 == b.0 && a.0 > 0 {
                    assert!(a.2 < b.1 || b.2 < a.1, "overlap in level {}", a.0);
                }
            }
        }
        assert_eq!(collect(store.iter().unwrap()).len(), 3000);
    }

    #[test]
    fn tables_without_a_manifest_are_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
            store.put("k", "v").unwrap();
            store.flush().unwrap();
        }
        fs::remove_file(dir.path().join("MANIFEST")).unwrap();
        assert!(matches!(
            StateStore::open(dir.path(), small(CompactionStrategy::Leveled)),
            Err(StorageError::StateCorrupted(_))
        ));
        assert_eq!(
            fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "sst"))
                .count(),
            1
        );
    }

    #[test]
    fn a_directory_opens_once_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
        assert!(matches!(
            StateStore::open(dir.path(), small(CompactionStrategy::Leveled)),
            Err(StorageError::InvalidStateRequest(_))
        ));
        drop(store);
        StateStore::open(dir.path(), small(CompactionStrategy::Leveled)).unwrap();
    }

    #[test]
    fn the_store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<StateStore>();
        assert_send_sync::<Arc<StateStore>>();
    }
}
