//! The replica manager: every partition of every topic and its log. Skiff runs one broker,
//! so this broker leads every partition and the ISR is itself. As when a Kafka broker
//! becomes leader again, each start begins a new leader epoch (one for all partitions), so
//! clients can detect a log truncated by crash recovery (OffsetForLeaderEpoch).

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, FsyncPolicyName, TimestampTypeName};
use crate::storage::{FsyncPolicy, Log, LogConfig, Storage, TimestampType};

use super::error::{BrokerError, Result};
use super::meta_file;
use super::topics::{TopicMetadata, TopicRegistry};

/// File in the data directory holding the leader epoch of the last start.
pub const EPOCH_FILE: &str = "leader-epoch.meta";

/// Partitions and their logs.
pub struct ReplicaManager {
    storage: Arc<Storage>,
    topics: TopicRegistry,
    log_config: LogConfig,
    timestamp_type: TimestampTypeName,
    leader_epoch: i32,
}

/// The storage engine's per-log settings from the broker configuration.
pub fn log_config(config: &Config) -> LogConfig {
    LogConfig {
        segment_bytes: config.log_segment_bytes,
        segment_ms: Some(Duration::from_millis(config.log_roll_ms)),
        index_interval_bytes: config.log_index_interval_bytes,
        max_batch_bytes: config.message_max_bytes,
        retention_ms: (config.log_retention_ms >= 0).then_some(config.log_retention_ms),
        retention_bytes: u64::try_from(config.log_retention_bytes).ok(),
        fsync: match config.log_fsync_policy {
            FsyncPolicyName::Always => FsyncPolicy::Always,
            FsyncPolicyName::Interval => {
                FsyncPolicy::Interval(Duration::from_millis(config.log_fsync_interval_ms))
            }
            FsyncPolicyName::Never => FsyncPolicy::Never,
        },
        ..LogConfig::default()
    }
}

impl ReplicaManager {
    /// The storage engine holding every partition log.
    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }

    /// Opens the data directory: the topic registry and every partition log it names.
    pub fn open(config: &Config) -> Result<ReplicaManager> {
        std::fs::create_dir_all(&config.data_dir)?;
        let log_config = log_config(config);
        let storage = Storage::open(&config.data_dir, log_config.clone())?;
        let topics = TopicRegistry::open(&config.data_dir)?;
        let leader_epoch = next_leader_epoch(&config.data_dir)?;
        storage.start_retention(Duration::from_millis(
            config.log_retention_check_interval_ms,
        ))?;
        for topic in topics.list() {
            for p in 0..topic.partitions {
                storage.get_or_create(&topic.name, p, log_config.clone())?;
            }
        }
        Ok(ReplicaManager {
            storage: Arc::new(storage),
            topics,
            log_config,
            timestamp_type: config.log_message_timestamp_type,
            leader_epoch,
        })
    }

    /// The leader epoch of every partition during this run.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// The topic registry.
    pub fn topics(&self) -> &TopicRegistry {
        &self.topics
    }

    /// Creates a topic and its partition logs unless it exists; returns it and whether this
    /// call created it.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(Arc<TopicMetadata>, bool)> {
        self.topics.create(name, partitions, |t| {
            for p in 0..t.partitions {
                self.storage
                    .get_or_create(&t.name, p, self.log_config.clone())?;
            }
            Ok(())
        })
    }

    /// The log of a partition of a registered topic.
    pub fn log(&self, topic: &str, partition: i32) -> Option<Arc<Log>> {
        let t = self.topics.get(topic)?;
        if partition < 0 || partition >= t.partitions {
            return None;
        }
        self.storage.get(topic, partition)
    }

    /// Every partition log of every registered topic: (topic, partition, log).
    pub fn all_logs(&self) -> Vec<(String, i32, Arc<Log>)> {
        let mut out = Vec::new();
        for t in self.topics.list() {
            for p in 0..t.partitions {
                if let Some(log) = self.storage.get(&t.name, p) {
                    out.push((t.name.clone(), p, log));
                }
            }
        }
        out
    }

    /// Runs time and size retention over every log now (it also runs in the background
    /// every `log.retention.check.interval.ms`).
    pub fn enforce_retention(&self) {
        let stats = self.storage.retention().enforce_now();
        tracing::debug!(?stats, "retention pass");
    }

    /// How appended batches are timestamped.
    pub fn timestamp_type(&self) -> TimestampType {
        match self.timestamp_type {
            TimestampTypeName::CreateTime => TimestampType::CreateTime,
            TimestampTypeName::LogAppendTime => TimestampType::LogAppendTime,
        }
    }

    /// Flushes every log to disk.
    pub fn flush(&self) -> Result<()> {
        Ok(self.storage.flush()?)
    }

    /// Flushes and closes every log.
    pub fn close(&self) -> Result<()> {
        self.storage.flush()?;
        Ok(self.storage.close()?)
    }
}

/// Reads the epoch of the previous start, stores and returns the next one (0 at first).
fn next_leader_epoch(data_dir: &std::path::Path) -> Result<i32> {
    let path = data_dir.join(EPOCH_FILE);
    let next = match meta_file::read_checked(&path)? {
        None => 0,
        Some(body) => {
            let previous: i32 = body
                .trim()
                .parse()
                .map_err(|_| BrokerError::CorruptMetadata {
                    path: path.display().to_string(),
                    reason: format!("bad leader epoch `{}`", body.trim()),
                })?;
            previous
                .checked_add(1)
                .ok_or(BrokerError::CorruptMetadata {
                    path: path.display().to_string(),
                    reason: "leader epoch overflow".into(),
                })?
        }
    };
    meta_file::write_atomic(&path, &format!("{next}\n"))?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_start_begins_a_new_leader_epoch() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(next_leader_epoch(dir.path()).unwrap(), 0);
        assert_eq!(next_leader_epoch(dir.path()).unwrap(), 1);
        assert_eq!(next_leader_epoch(dir.path()).unwrap(), 2);
    }
}
