//! `Storage`: every partition log of the broker, keyed by topic-partition, with the
//! background flusher of the `interval` fsync policy.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dashmap::DashMap;
use parking_lot::Mutex;

use crate::storage::config::LogConfig;
use crate::storage::error::{Result, StorageError};
use crate::storage::fsync::FsyncPolicy;
use crate::storage::log::Log;
use crate::storage::retention::{RetentionConfig, RetentionManager};

/// A topic name and partition index.
pub type TopicPartition = (String, i32);

/// Directory name of a partition: `<topic>-<partition>`, as Kafka lays it out.
pub fn partition_dir_name(topic: &str, partition: i32) -> String {
    format!("{topic}-{partition}")
}

/// Splits a `<topic>-<partition>` directory name.
pub fn parse_partition_dir(name: &str) -> Option<TopicPartition> {
    let (topic, partition) = name.rsplit_once('-')?;
    if topic.is_empty() || partition.starts_with('+') {
        return None;
    }
    let partition: i32 = partition.parse().ok()?;
    (partition >= 0).then(|| (topic.to_string(), partition))
}

/// All partition logs of a broker. Safe to share across threads; each log serialises its own
/// appends while different partitions proceed in parallel.
pub struct Storage {
    data_dir: PathBuf,
    default_config: LogConfig,
    logs: Arc<DashMap<TopicPartition, Arc<Log>>>,
    create_lock: Mutex<()>,
    flusher: Mutex<Option<(mpsc::Sender<()>, JoinHandle<()>)>>,
    retention: RetentionManager,
    cleaner: Mutex<Option<crate::storage::cleaner::LogCleaner>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("data_dir", &self.data_dir)
            .field("partitions", &self.logs.len())
            .finish()
    }
}

impl Storage {
    /// Opens every `<topic>-<partition>` log under `data_dir` with `default_config`, and starts
    /// the interval flusher if that policy is chosen.
    pub fn open(data_dir: &Path, default_config: LogConfig) -> Result<Storage> {
        fs::create_dir_all(data_dir)?;
        let logs = Arc::new(DashMap::new());
        for entry in fs::read_dir(data_dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let name = entry.file_name();
            let Some(tp) = parse_partition_dir(&name.to_string_lossy()) else {
                continue;
            };
            let log = Log::open(&entry.path(), default_config.clone())?;
            logs.insert(tp, Arc::new(log));
        }
        let storage = Storage {
            data_dir: data_dir.to_path_buf(),
            default_config: default_config.clone(),
            logs,
            create_lock: Mutex::new(()),
            flusher: Mutex::new(None),
            retention: RetentionManager::new(RetentionConfig::default()),
            cleaner: Mutex::new(None),
        };
        for entry in storage.logs.iter() {
            let (topic, partition) = entry.key();
            storage.retention.register_log(
                &partition_dir_name(topic, *partition),
                Arc::clone(entry.value()),
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
                    let all: Vec<Arc<Log>> = logs.iter().map(|e| Arc::clone(e.value())).collect();
                    for log in all {
                        if log.is_closed() {
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

    /// The configuration new logs get unless the caller passes another.
    pub fn default_config(&self) -> &LogConfig {
        &self.default_config
    }

    /// The log of a partition, creating it with `config` if it doesn't exist.
    pub fn get_or_create(
        &self,
        topic: &str,
        partition: i32,
        config: LogConfig,
    ) -> Result<Arc<Log>> {
        let key = (topic.to_string(), partition);
        if let Some(log) = self.logs.get(&key) {
            return Ok(Arc::clone(log.value()));
        }
        let _guard = self.create_lock.lock();
        if let Some(log) = self.logs.get(&key) {
            return Ok(Arc::clone(log.value()));
        }
        if topic.is_empty() || topic.contains('/') || topic == "." || topic == ".." || partition < 0
        {
            return Err(StorageError::UnknownPartition(format!(
                "{topic}-{partition}"
            )));
        }
        let dir = self.data_dir.join(partition_dir_name(topic, partition));
        let log = Arc::new(Log::open(&dir, config)?);
        fs::File::open(&self.data_dir)?.sync_all()?;
        self.logs.insert(key, Arc::clone(&log));
        self.retention
            .register_log(&partition_dir_name(topic, partition), Arc::clone(&log));
        Ok(log)
    }

    /// The log of a partition, if it exists.
    pub fn get(&self, topic: &str, partition: i32) -> Option<Arc<Log>> {
        self.logs
            .get(&(topic.to_string(), partition))
            .map(|l| Arc::clone(l.value()))
    }

    /// Closes a partition's log and deletes its files.
    pub fn remove(&self, topic: &str, partition: i32) -> Result<()> {
        let Some((_, log)) = self.logs.remove(&(topic.to_string(), partition)) else {
            return Err(StorageError::UnknownPartition(format!(
                "{topic}-{partition}"
            )));
        };
        self.retention
            .unregister_log(&partition_dir_name(topic, partition));
        log.close()?;
        fs::remove_dir_all(log.dir())?;
        Ok(())
    }

    /// Every topic-partition held.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self.logs.iter().map(|e| e.key().clone()).collect();
        v.sort();
        v
    }

    /// Flushes every log.
    pub fn flush(&self) -> Result<()> {
        for entry in self.logs.iter() {
            entry.value().flush()?;
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

    /// Stops the flusher and closes every log cleanly.
    pub fn close(&self) -> Result<()> {
        self.stop_cleaner();
        self.retention.stop();
        if let Some((stop, handle)) = self.flusher.lock().take() {
            drop(stop);
            if handle.join().is_err() {
                tracing::error!("flusher thread panicked");
            }
        }
        let mut first_err = None;
        for entry in self.logs.iter() {
            if let Err(e) = entry.value().close() {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
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
            Arc::new(move || logs.iter().map(|e| Arc::clone(e.value())).collect());
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
