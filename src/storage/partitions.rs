//! `Storage`: every partition log of the broker, keyed by topic-partition, with the
//! background flusher of the `interval` fsync policy.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};

use crate::storage::config::LogConfig;
use crate::storage::error::{Result, StorageError};
use crate::storage::fault::{self, FaultOp};
use crate::storage::fs_util::sync_dir;
use crate::storage::fsync::FsyncPolicy;
use crate::storage::log::Log;
use crate::storage::log_dir::{delete_dir_name, parse_dir_name, LogDir, PartitionDirKind};
use crate::storage::log_move::FutureLog;
use crate::storage::retention::{RetentionConfig, RetentionManager};

pub use crate::storage::log_dir::{parse_partition_dir, partition_dir_name, TopicPartition};

/// The log of one partition as the broker holds it: a partition move swaps the log
/// inside while everyone holding the slot (the partition, its writer) keeps it.
#[derive(Debug)]
pub struct LogSlot {
    log: RwLock<Arc<Log>>,
}

impl LogSlot {
    /// A slot holding `log`.
    pub fn new(log: Arc<Log>) -> LogSlot {
        LogSlot {
            log: RwLock::new(log),
        }
    }

    /// The partition's log now.
    pub fn current(&self) -> Arc<Log> {
        Arc::clone(&self.log.read())
    }

    fn replace(&self, log: Arc<Log>) -> Arc<Log> {
        std::mem::replace(&mut *self.log.write(), log)
    }
}

/// All partition logs of a broker, spread over its log directories. Safe to share across
/// threads; each log serialises its own appends while different partitions proceed in
/// parallel.
pub struct Storage {
    data_dir: PathBuf,
    log_dirs: Vec<Arc<LogDir>>,
    default_config: LogConfig,
    logs: Arc<DashMap<TopicPartition, Arc<LogSlot>>>,
    /// Partitions whose log directory failed before their log could be opened.
    offline: DashMap<TopicPartition, Arc<LogDir>>,
    /// Moves in progress: the future log of each partition being moved.
    futures: DashMap<TopicPartition, Arc<FutureLog>>,
    /// Moves a crash interrupted, found on open: partition and destination directory.
    interrupted_moves: Mutex<Vec<(TopicPartition, Arc<LogDir>)>>,
    /// Set by [`Storage::close`]: a move stopped by it keeps its copy, to resume on the
    /// next start as Kafka resumes its future replicas.
    closing: std::sync::atomic::AtomicBool,
    create_lock: Mutex<()>,
    flusher: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    retention: RetentionManager,
    cleaner: Mutex<Option<crate::storage::cleaner::LogCleaner>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("data_dir", &self.data_dir)
            .field("log_dirs", &self.log_dirs.len())
            .field("partitions", &self.logs.len())
            .finish()
    }
}

/// What the scan of the log directories found.
#[derive(Default)]
struct Scan {
    current: std::collections::BTreeMap<TopicPartition, (usize, PathBuf)>,
    futures: Vec<(TopicPartition, usize, PathBuf)>,
    deletes: Vec<PathBuf>,
}

impl Storage {
    /// Opens every `<topic>-<partition>` log under `data_dir` with `default_config` (the
    /// data dir is the one log directory), and starts the interval flusher if that policy
    /// is chosen.
    pub fn open(data_dir: &Path, default_config: LogConfig) -> Result<Storage> {
        Storage::open_dirs(data_dir, &[data_dir.to_path_buf()], None, default_config)
    }

    /// Opens the log directories `log_dirs` (each gets a `meta.properties` identity; one
    /// that names another node than `node_id` is refused) and every partition log in them.
    /// What a crash left of a partition move is resolved as Kafka resolves it: the old
    /// copy of a finished move (`-delete`) is deleted; a future copy (`-future`) whose
    /// partition is still in its old directory was not finished, is dropped and the move
    /// is resumed (see [`Storage::interrupted_moves`]); a complete future copy whose old
    /// directory is gone takes the partition's name. A partition found in two directories
    /// is refused, as Kafka refuses it. A directory that cannot be read is offline.
    pub fn open_dirs(
        data_dir: &Path,
        log_dirs: &[PathBuf],
        node_id: Option<i32>,
        default_config: LogConfig,
    ) -> Result<Storage> {
        fs::create_dir_all(data_dir)?;
        check_data_dir_listed(data_dir, log_dirs)?;
        let mut dirs: Vec<Arc<LogDir>> = Vec::with_capacity(log_dirs.len());
        for path in log_dirs {
            let dir = Arc::new(LogDir::open(path, node_id)?);
            if let Some(twin) = dirs
                .iter()
                .find(|d| d.is_online() && dir.is_online() && d.id() == dir.id())
            {
                return Err(StorageError::LogDirMismatch(format!(
                    "{} and {} have the same directory id {}",
                    twin.path().display(),
                    dir.path().display(),
                    dir.id()
                )));
            }
            dirs.push(dir);
        }
        let scan = scan_log_dirs(&dirs)?;
        if !dirs.iter().any(|d| d.is_online()) {
            // As Kafka, which stops when every log dir has failed.
            return Err(StorageError::LogDirOffline("every log directory".into()));
        }
        let interrupted = resolve_moves(&dirs, &scan)?;
        let logs = Arc::new(DashMap::new());
        let offline = DashMap::new();
        let mut current = scan.current;
        for (tp, to) in &interrupted.promoted {
            current.insert(tp.clone(), to.clone());
        }
        for (tp, (i, path)) in current {
            let Some(dir) = dirs.get(i) else { continue };
            match Log::open_in(&path, default_config.clone(), Arc::clone(dir.health())) {
                Ok(log) => {
                    logs.insert(tp, Arc::new(LogSlot::new(Arc::new(log))));
                }
                Err(
                    StorageError::Io(_)
                    | StorageError::SyncFailed(_)
                    | StorageError::LogDirOffline(_),
                ) => {
                    offline.insert(tp, Arc::clone(dir));
                }
                // A damaged log (say, a flipped bit in a segment a clean shutdown vouched
                // for) is this partition's problem: it is held offline and answers
                // KAFKA_STORAGE_ERROR, while the broker starts and serves the others.
                Err(e @ StorageError::LogCorrupted(_)) => {
                    tracing::error!(log = %path.display(), error = %e,
                        "partition log is corrupted: holding it offline");
                    offline.insert(tp, Arc::clone(dir));
                }
                Err(e) => return Err(e),
            }
        }
        let storage = Storage {
            data_dir: data_dir.to_path_buf(),
            log_dirs: dirs,
            default_config: default_config.clone(),
            logs,
            offline,
            futures: DashMap::new(),
            interrupted_moves: Mutex::new(interrupted.resume),
            closing: std::sync::atomic::AtomicBool::new(false),
            create_lock: Mutex::new(()),
            flusher: Mutex::new(None),
            retention: RetentionManager::new(RetentionConfig::default()),
            cleaner: Mutex::new(None),
        };
        for entry in storage.logs.iter() {
            let (topic, partition) = entry.key();
            storage.retention.register_log(
                &partition_dir_name(topic, *partition),
                entry.value().current(),
            );
        }
        if let FsyncPolicy::Interval(every) = default_config.fsync {
            storage.start_flusher(every)?;
        }
        Ok(storage)
    }

    fn start_flusher(&self, every: Duration) -> Result<()> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let logs = Arc::clone(&self.logs);
        let handle = std::thread::Builder::new()
            .name("skiff-flusher".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stop_rx.recv_timeout(every) {
                    let all: Vec<Arc<Log>> = logs.iter().map(|e| e.value().current()).collect();
                    for log in all {
                        if log.is_closed() || log.is_offline() {
                            continue;
                        }
                        if let Err(e) = log.flush() {
                            tracing::error!(log = %log.dir().display(), error = %e, "interval flush failed");
                        }
                    }
                }
            })?;
        *self.flusher.lock() = Some((stop_tx, handle));
        Ok(())
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The log directories, in the order configured.
    pub fn log_dirs(&self) -> &[Arc<LogDir>] {
        &self.log_dirs
    }

    /// The log directory `path` names (as configured, absolute or canonical).
    pub fn log_dir_named(&self, path: &str) -> Option<&Arc<LogDir>> {
        self.log_dirs.iter().find(|d| d.is_named(path))
    }

    /// The log directory holding `log`.
    pub fn log_dir_of(&self, log: &Log) -> Option<&Arc<LogDir>> {
        self.log_dirs
            .iter()
            .find(|d| Arc::ptr_eq(d.health(), log.dir_health()))
    }

    /// The configuration new logs get unless the caller passes another.
    pub fn default_config(&self) -> &LogConfig {
        &self.default_config
    }

    /// Moves a crash interrupted, found on open (partition and destination directory),
    /// for the broker to start again; each is handed out once.
    pub fn interrupted_moves(&self) -> Vec<(TopicPartition, Arc<LogDir>)> {
        std::mem::take(&mut *self.interrupted_moves.lock())
    }

    /// The online log directory a new partition goes to: the one holding the fewest
    /// partitions, moves in progress included (Kafka's rule), the first listed on a tie.
    fn next_log_dir(&self) -> Result<Arc<LogDir>> {
        let mut counts = vec![0usize; self.log_dirs.len()];
        for entry in self.logs.iter() {
            let log = entry.value().current();
            if let Some(i) = self
                .log_dirs
                .iter()
                .position(|d| Arc::ptr_eq(d.health(), log.dir_health()))
            {
                if let Some(c) = counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        for entry in self.futures.iter() {
            if let Some(i) = self
                .log_dirs
                .iter()
                .position(|d| Arc::ptr_eq(d, entry.value().destination()))
            {
                if let Some(c) = counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
        self.log_dirs
            .iter()
            .zip(counts)
            .filter(|(d, _)| d.is_online())
            .min_by_key(|(_, c)| *c)
            .map(|(d, _)| Arc::clone(d))
            .ok_or_else(|| StorageError::LogDirOffline("every log directory".into()))
    }

    /// The log of a partition, creating it with `config` if it doesn't exist (in the log
    /// directory holding the fewest partitions). A partition whose directory failed is
    /// [`StorageError::LogDirOffline`].
    pub fn get_or_create(
        &self,
        topic: &str,
        partition: i32,
        config: LogConfig,
    ) -> Result<Arc<Log>> {
        let key = (topic.to_string(), partition);
        if let Some(log) = self.logs.get(&key) {
            return Ok(log.value().current());
        }
        let _guard = self.create_lock.lock();
        if let Some(log) = self.logs.get(&key) {
            return Ok(log.value().current());
        }
        if let Some(dir) = self.offline.get(&key) {
            return Err(StorageError::LogDirOffline(
                dir.path().display().to_string(),
            ));
        }
        if topic.is_empty() || topic.contains('/') || topic == "." || topic == ".." || partition < 0
        {
            return Err(StorageError::UnknownPartition(format!(
                "{topic}-{partition}"
            )));
        }
        let log_dir = self.next_log_dir()?;
        let dir = log_dir.path().join(partition_dir_name(topic, partition));
        let log = Arc::new(Log::open_in(&dir, config, Arc::clone(log_dir.health()))?);
        log_dir.health().watch(sync_dir(log_dir.path()))?;
        self.logs
            .insert(key, Arc::new(LogSlot::new(Arc::clone(&log))));
        self.retention
            .register_log(&partition_dir_name(topic, partition), Arc::clone(&log));
        Ok(log)
    }

    /// The log of a partition, if it exists.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Log>> {
        self.logs
            .get(&(topic.to_string(), partition))
            .map(|l| l.value().current())
    }

    /// The slot of a partition's log (it outlives a move of the log), if it exists.
    pub fn slot(&self, topic: &str, partition: i32) -> Option<Arc<LogSlot>> {
        self.logs
            .get(&(topic.to_string(), partition))
            .map(|l| Arc::clone(l.value()))
    }

    /// Records that the log of a partition the broker knows is missing while a log
    /// directory is offline: it may be in that directory, so it is served as offline
    /// (KAFKA_STORAGE_ERROR) rather than created empty elsewhere. False, changing nothing,
    /// when the partition has a log or every directory is online.
    pub fn hold_missing_as_offline(&self, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        if self.logs.contains_key(&key) || self.offline.contains_key(&key) {
            return false;
        }
        let Some(failed) = self.log_dirs.iter().find(|d| !d.is_online()) else {
            return false;
        };
        self.offline.insert(key, Arc::clone(failed));
        true
    }

    /// The log directory of a partition whose directory failed before its log was opened.
    pub fn offline_dir_of(&self, topic: &str, partition: i32) -> Option<Arc<LogDir>> {
        self.offline
            .get(&(topic.to_string(), partition))
            .map(|d| Arc::clone(d.value()))
    }

    /// Closes a partition's log and deletes its files (and those of a move in progress).
    pub fn remove(&self, topic: &str, partition: i32) -> Result<()> {
        let key = (topic.to_string(), partition);
        if let Some((_, future)) = self.futures.remove(&key) {
            future.cancel();
        }
        if self.offline.remove(&key).is_some() {
            return Ok(());
        }
        let Some((_, slot)) = self.logs.remove(&key) else {
            return Err(StorageError::UnknownPartition(format!(
                "{topic}-{partition}"
            )));
        };
        // A move may swap the log in meanwhile: close whichever is current until it stays.
        let result = loop {
            let log = slot.current();
            if log.is_offline() {
                log.retire();
                break Ok(());
            }
            if let Err(e) = log.close() {
                break Err(e);
            }
            if Arc::ptr_eq(&slot.current(), &log) {
                let removed = match fs::remove_dir_all(log.dir()) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                    _ => Ok(()),
                };
                break log.dir_health().watch(removed);
            }
        };
        self.retention
            .unregister_log(&partition_dir_name(topic, partition));
        result
    }

    /// Deletes the directory of partition `partition` of `topic` from every online log
    /// directory when the partition has no log here (neither open nor offline): what a
    /// [`Storage::get_or_create`] that failed part way (out of descriptors, say) left
    /// behind. A partition this storage holds is left alone.
    pub fn discard_unopened(&self, topic: &str, partition: i32) -> Result<()> {
        if topic.is_empty() || topic.contains('/') || topic == "." || topic == ".." || partition < 0
        {
            return Ok(());
        }
        let key = (topic.to_string(), partition);
        let _guard = self.create_lock.lock();
        if self.logs.contains_key(&key) || self.offline.contains_key(&key) {
            return Ok(());
        }
        for dir in self.log_dirs.iter().filter(|d| d.is_online()) {
            let path = dir.path().join(partition_dir_name(topic, partition));
            match fs::remove_dir_all(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Every topic-partition held (those of failed directories too).
    pub fn partitions(&self) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self.logs.iter().map(|e| e.key().clone()).collect();
        v.extend(self.offline.iter().map(|e| e.key().clone()));
        v.sort();
        v
    }

    /// Flushes every log of the online directories.
    pub fn flush(&self) -> Result<()> {
        for entry in self.logs.iter() {
            let log = entry.value().current();
            if log.is_offline() {
                continue;
            }
            log.flush()?;
        }
        Ok(())
    }

    /// The retention manager that covers every partition of this storage.
    pub fn retention(&self) -> &RetentionManager {
        &self.retention
    }

    /// Starts enforcing retention in the background every `check_interval`.
    pub fn start_retention(&self, check_interval: Duration) -> Result<()> {
        self.retention.set_check_interval(check_interval);
        self.retention.start()
    }

    /// Stops the flusher and closes every log cleanly (those of failed directories are
    /// left as they are, for the next start to recover).
    pub fn close(&self) -> Result<()> {
        self.closing
            .store(true, std::sync::atomic::Ordering::Release);
        self.stop_cleaner();
        self.retention.stop();
        for entry in self.futures.iter() {
            entry.value().cancel();
        }
        if let Some((stop, handle)) = self.flusher.lock().take() {
            drop(stop);
            if handle.join().is_err() {
                tracing::error!("flusher thread panicked");
            }
        }
        let mut first_err = None;
        for entry in self.logs.iter() {
            if let Err(e) = entry.value().current().close() {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Partition moves between log directories (AlterReplicaLogDirs).
impl Storage {
    /// Starts moving a partition to log directory `dest`: creates its future directory
    /// there, to be filled by [`FutureLog::copy_round`] and swapped in by
    /// [`Storage::complete_move`]. `None` when the partition is already in `dest` or
    /// already moving there; a move to another directory is cancelled first.
    pub fn begin_move(
        &self,
        topic: &str,
        partition: i32,
        dest: &Arc<LogDir>,
    ) -> Result<Option<Arc<FutureLog>>> {
        let key = (topic.to_string(), partition);
        if let Some(dir) = self.offline.get(&key) {
            return Err(StorageError::LogDirOffline(
                dir.path().display().to_string(),
            ));
        }
        let log = self
            .get(topic, partition)
            .ok_or_else(|| StorageError::UnknownPartition(format!("{topic}-{partition}")))?;
        log.dir_health().check()?;
        dest.health().check()?;
        let _guard = self.create_lock.lock();
        if let Some(running) = self.futures.get(&key) {
            if Arc::ptr_eq(running.destination(), dest) {
                return Ok(None);
            }
        }
        if let Some((_, running)) = self.futures.remove(&key) {
            running.cancel();
        }
        if Arc::ptr_eq(log.dir_health(), dest.health()) {
            return Ok(None);
        }
        let future = Arc::new(FutureLog::create(topic, partition, Arc::clone(dest))?);
        self.futures.insert(key, Arc::clone(&future));
        Ok(Some(future))
    }

    /// The move in progress of a partition, if any.
    pub fn future(&self, topic: &str, partition: i32) -> Option<Arc<FutureLog>> {
        self.futures
            .get(&(topic.to_string(), partition))
            .map(|f| Arc::clone(f.value()))
    }

    /// Every move in progress.
    pub fn futures(&self) -> Vec<(TopicPartition, Arc<FutureLog>)> {
        self.futures
            .iter()
            .map(|e| (e.key().clone(), Arc::clone(e.value())))
            .collect()
    }

    /// Forgets a move that ended without completing (cancelled or failed), deleting what
    /// it copied unless its directory failed.
    pub fn abandon_move(&self, topic: &str, partition: i32, future: &Arc<FutureLog>) {
        let key = (topic.to_string(), partition);
        self.futures
            .remove_if(&key, |_, running| Arc::ptr_eq(running, future));
        if self.closing.load(std::sync::atomic::Ordering::Acquire) {
            future.cancel();
        } else {
            future.discard();
        }
    }

    /// Finishes a move: with the partition's appends paused by the caller, copies what
    /// is left, swaps the copy in for the partition (the old directory renamed
    /// `-delete` first, so a crash leaves either the old copy or the finished new one),
    /// and retires the old log. Returns the old directory's new name, to delete once the
    /// caller has resumed appends.
    pub fn complete_move(
        &self,
        topic: &str,
        partition: i32,
        future: &Arc<FutureLog>,
    ) -> Result<PathBuf> {
        let key = (topic.to_string(), partition);
        let slot = self
            .slot(topic, partition)
            .ok_or_else(|| StorageError::UnknownPartition(format!("{topic}-{partition}")))?;
        let old = slot.current();
        let name = partition_dir_name(topic, partition);
        let deleted = old.with_frozen(|source, producers| {
            future.finish(&old, source, producers)?;
            let old_dir = old.dir().to_path_buf();
            let old_parent = old_dir.parent().unwrap_or(&old_dir).to_path_buf();
            let deleted = old_parent.join(delete_dir_name(topic, partition));
            let dest = future.destination();
            let new_dir = dest.path().join(&name);
            old.dir_health()
                .watch(rename_synced(&old_dir, &deleted, &old_parent))?;
            if let Err(e) = dest
                .health()
                .watch(rename_synced(future.dir(), &new_dir, dest.path()))
            {
                let _ = rename_synced(&deleted, &old_dir, &old_parent);
                return Err(e);
            }
            let opened = Log::open_in(&new_dir, old.config(), Arc::clone(dest.health()));
            let new = match opened {
                Ok(log) => Arc::new(log),
                Err(e) => {
                    let _ = rename_synced(&new_dir, future.dir(), dest.path());
                    let _ = rename_synced(&deleted, &old_dir, &old_parent);
                    return Err(e);
                }
            };
            slot.replace(Arc::clone(&new));
            self.retention.register_log(&name, new);
            old.mark_closed();
            Ok(deleted)
        });
        let deleted = match deleted {
            Ok(d) => d,
            Err(e) => {
                self.abandon_move(topic, partition, future);
                return Err(e);
            }
        };
        old.retire();
        self.futures
            .remove_if(&key, |_, running| Arc::ptr_eq(running, future));
        Ok(deleted)
    }
}

/// Refuses a data dir that holds partition logs but is not one of the log dirs (a broker
/// given `log.dirs` after running without): its partitions would be silently left behind.
fn check_data_dir_listed(data_dir: &Path, log_dirs: &[PathBuf]) -> Result<()> {
    let same = |a: &Path, b: &Path| match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if log_dirs.iter().any(|d| same(d, data_dir)) {
        return Ok(());
    }
    for entry in fs::read_dir(data_dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_dir() && parse_dir_name(&name.to_string_lossy()).is_some() {
            return Err(StorageError::LogDirMismatch(format!(
                "{} holds partition logs ({}) but is not one of the log dirs; add it to log.dirs",
                data_dir.display(),
                name.to_string_lossy()
            )));
        }
    }
    Ok(())
}

/// Renames `from` to `to` and syncs `parent`, the directory holding both.
fn rename_synced(from: &Path, to: &Path, parent: &Path) -> Result<()> {
    fault::check(from, FaultOp::Write)?;
    fs::rename(from, to)?;
    sync_dir(parent)
}

/// Lists the partition directories of every online log directory; a directory that
/// cannot be read goes offline.
fn scan_log_dirs(dirs: &[Arc<LogDir>]) -> Result<Scan> {
    let mut scan = Scan::default();
    for (i, dir) in dirs.iter().enumerate() {
        if !dir.is_online() {
            continue;
        }
        let mut found = Vec::new();
        let listed = (|| -> Result<()> {
            fault::check(dir.path(), FaultOp::Read)?;
            for entry in fs::read_dir(dir.path())? {
                let entry = entry?;
                if !entry.file_type()?.is_dir() {
                    continue;
                }
                if let Some((tp, kind)) = parse_dir_name(&entry.file_name().to_string_lossy()) {
                    found.push((tp, kind, entry.path()));
                }
            }
            Ok(())
        })();
        if let Err(e) = dir.health().watch(listed) {
            tracing::error!(log_dir = %dir.path().display(), error = %e, "log directory unreadable");
            continue;
        }
        for (tp, kind, path) in found {
            match kind {
                PartitionDirKind::Current => {
                    if let Some((_, other)) = scan.current.get(&tp) {
                        return Err(StorageError::LogDirMismatch(format!(
                            "the log of {}-{} is in both {} and {}; delete one of the two \
                             (the one in the directory that failed most recently)",
                            tp.0,
                            tp.1,
                            other.display(),
                            path.display()
                        )));
                    }
                    scan.current.insert(tp, (i, path));
                }
                PartitionDirKind::Future => scan.futures.push((tp, i, path)),
                PartitionDirKind::Delete => scan.deletes.push(path),
            }
        }
    }
    Ok(scan)
}

/// How the future directories found on open are resolved.
#[derive(Default)]
struct Resolved {
    /// Complete copies whose old directory is gone: renamed to the partition's name.
    promoted: Vec<(TopicPartition, (usize, PathBuf))>,
    /// Moves to start again.
    resume: Vec<(TopicPartition, Arc<LogDir>)>,
}

fn resolve_moves(dirs: &[Arc<LogDir>], scan: &Scan) -> Result<Resolved> {
    let mut out = Resolved::default();
    for (tp, i, path) in &scan.futures {
        let Some(dir) = dirs.get(*i) else { continue };
        let name = partition_dir_name(&tp.0, tp.1);
        if scan.current.contains_key(tp) || out.promoted.iter().any(|(p, _)| p == tp) {
            tracing::warn!(
                future = %path.display(),
                "a partition move was interrupted: dropping its copy and moving again"
            );
            dir.health()
                .watch(fs::remove_dir_all(path).map_err(Into::into))?;
            if !out.resume.iter().any(|(p, _)| p == tp) {
                out.resume.push((tp.clone(), Arc::clone(dir)));
            }
            continue;
        }
        tracing::warn!(
            future = %path.display(),
            "a partition move was interrupted after its copy was complete: finishing it"
        );
        let to = dir.path().join(&name);
        dir.health().watch(rename_synced(path, &to, dir.path()))?;
        out.promoted.push((tp.clone(), (*i, to)));
    }
    for path in &scan.deletes {
        if let Err(e) = fs::remove_dir_all(path) {
            tracing::warn!(dir = %path.display(), error = %e, "could not delete a moved partition's old copy");
        }
    }
    Ok(out)
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.flusher.lock().take() {
            drop(stop);
            let _ = handle.join();
        }
    }
}

/// Log compaction on the partitions of a storage.
impl Storage {
    /// Compacts one partition's log now (the seed's `Compact(partition)`), whatever its dirty
    /// ratio; a log whose `cleanup.policy` lacks `compact` is left alone.
    pub fn compact(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<crate::storage::cleaner::CompactionStats> {
        let log = self
            .get(topic, partition)
            .ok_or_else(|| StorageError::UnknownPartition(format!("{topic}-{partition}")))?;
        log.compact_now()
    }

    /// Starts the background log cleaner over every compacted partition (replacing a running
    /// one). It is stopped by [`Storage::stop_cleaner`] and on close.
    pub fn start_cleaner(&self, config: crate::storage::cleaner::CleanerConfig) -> Result<()> {
        self.stop_cleaner();
        let logs = Arc::clone(&self.logs);
        let source: crate::storage::cleaner::manager::LogSource =
            Arc::new(move || logs.iter().map(|e| e.value().current()).collect());
        let cleaner = crate::storage::cleaner::LogCleaner::start(config, source)?;
        *self.cleaner.lock() = Some(cleaner);
        Ok(())
    }

    /// Stops the background log cleaner, waiting for a pass in progress.
    pub fn stop_cleaner(&self) {
        let cleaner = self.cleaner.lock().take();
        if let Some(c) = cleaner {
            c.stop();
        }
    }

    /// Whether the background log cleaner runs.
    pub fn cleaner_running(&self) -> bool {
        self.cleaner.lock().is_some()
    }
}
