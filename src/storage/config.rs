//! Per-log configuration.

use std::time::Duration;

use crate::storage::fsync::FsyncPolicy;

/// How a partition log is laid out and flushed. Built from broker defaults and topic configs.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Roll the active segment once it reaches this size (`segment.bytes`).
    pub segment_bytes: u64,
    /// Roll the active segment once its first batch is this old (`segment.ms`), if set.
    pub segment_ms: Option<Duration>,
    /// Bytes between two sparse offset-index entries (`index.interval.bytes`).
    pub index_interval_bytes: usize,
    /// Largest accepted batch, in bytes (`max.message.bytes` plus the log overhead).
    pub max_batch_bytes: usize,
    /// When appended data is made durable.
    pub fsync: FsyncPolicy,
    /// What happens to old data (`cleanup.policy`): deletion by retention, compaction, or both.
    pub cleanup_policy: CleanupPolicy,
    /// Delete closed segments whose newest record is older than this (`retention.ms`);
    /// `None` keeps data forever.
    pub retention_ms: Option<i64>,
    /// Delete the oldest closed segments while the log exceeds this size by at least a
    /// segment (`retention.bytes`); `None` means no size limit.
    pub retention_bytes: Option<u64>,
    /// How long compaction keeps tombstones (`delete.retention.ms`).
    pub delete_retention_ms: i64,
    /// Compact once this share of the log is dirty (`min.cleanable.dirty.ratio`).
    pub min_cleanable_dirty_ratio: f64,
    /// Records younger than this are never compacted (`min.compaction.lag.ms`).
    pub min_compaction_lag_ms: i64,
    /// Records older than this are compacted whatever the dirty ratio
    /// (`max.compaction.lag.ms`).
    pub max_compaction_lag_ms: i64,
}

/// The topic's `cleanup.policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPolicy {
    /// Old segments are deleted by retention time and size.
    pub delete: bool,
    /// Old records are compacted to the latest per key.
    pub compact: bool,
}

impl Default for CleanupPolicy {
    fn default() -> Self {
        CleanupPolicy {
            delete: true,
            compact: false,
        }
    }
}

impl CleanupPolicy {
    /// Parses Kafka's comma-separated list (`delete`, `compact`, `compact,delete`).
    pub fn parse(s: &str) -> Option<CleanupPolicy> {
        let mut policy = CleanupPolicy {
            delete: false,
            compact: false,
        };
        for part in s.split(',').map(str::trim) {
            match part {
                "delete" => policy.delete = true,
                "compact" => policy.compact = true,
                _ => return None,
            }
        }
        (policy.delete || policy.compact).then_some(policy)
    }

    /// Kafka's spelling of the policy.
    pub fn name(&self) -> &'static str {
        match (self.compact, self.delete) {
            (true, true) => "compact,delete",
            (true, false) => "compact",
            _ => "delete",
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: Some(Duration::from_secs(7 * 24 * 3600)),
            index_interval_bytes: 4096,
            max_batch_bytes: 1024 * 1024 + 12,
            fsync: FsyncPolicy::default(),
            cleanup_policy: CleanupPolicy::default(),
            retention_ms: Some(7 * 24 * 3600 * 1000),
            retention_bytes: None,
            delete_retention_ms: 24 * 3600 * 1000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}

/// The whole engine's configuration (the seed's `Config`): where data lives, how partition
/// logs behave by default, and the keyed state store's WAL, memtable, SSTable and compaction
/// settings (seed defaults: 64 MiB memtable, 4 KiB blocks).
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Directory holding one folder per partition and the state store's folder.
    pub data_dir: std::path::PathBuf,
    /// Defaults for partition logs.
    pub log: LogConfig,
    /// The keyed state store.
    pub state: crate::storage::kv::StateStoreConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: std::path::PathBuf::from("data"),
            log: LogConfig::default(),
            state: crate::storage::kv::StateStoreConfig::default(),
        }
    }
}
