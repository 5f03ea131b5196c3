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
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: Some(Duration::from_secs(7 * 24 * 3600)),
            index_interval_bytes: 4096,
            max_batch_bytes: 1024 * 1024 + 12,
            fsync: FsyncPolicy::default(),
        }
    }
}
