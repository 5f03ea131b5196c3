//! The replica manager: every partition of every topic and its log. Skiff runs one broker,
//! so this broker leads every partition and the ISR is itself. As when a Kafka broker
//! becomes leader again, each start begins a new leader epoch (one for all partitions), so
//! clients can detect a log truncated by crash recovery (OffsetForLeaderEpoch).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, FsyncPolicyName, TimestampTypeName};
use crate::storage::CleanerConfig;
use crate::storage::{
    FsyncPolicy, FutureLog, Log, LogConfig, Storage, StorageError, TimestampType,
};
use tokio::sync::watch;

use super::dynamic_config::{DynamicBrokerConfig, DynamicConfigError};
use super::error::{BrokerError, Result};
use super::internal_topics;
use super::meta_file;
use super::partition::{Partition, PartitionError};
use super::topic_config::{self, TopicSettings};
use super::topics::{TopicMetadata, TopicRegistry};

/// File in the data directory holding the leader epoch of the last start.
pub const EPOCH_FILE: &str = "leader-epoch.meta";

/// Partitions and their logs.
pub struct ReplicaManager {
    storage: Arc<Storage>,
    topics: TopicRegistry,
    /// Broker-wide log settings of the configuration in force.
    log_config: parking_lot::RwLock<LogConfig>,
    leader_epoch: i32,
    /// The broker configuration, with its run-time changes.
    config: Arc<DynamicBrokerConfig>,
    /// Effective settings per topic id, valid while the topic's metadata is the one kept.
    settings_cache: parking_lot::RwLock<SettingsCache>,
    /// The partitions handed out, by topic name and index (each keeps its writer queue,
    /// so there is one per log).
    partitions: parking_lot::RwLock<PartitionMap>,
    /// Partition moves between log directories started in this run, by partition: how
    /// each stands.
    moves: parking_lot::Mutex<std::collections::HashMap<(String, i32), watch::Receiver<MoveState>>>,
}

/// Where a partition move between log directories stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveState {
    /// Copying, or swapping the copy in.
    Running,
    /// The partition is in its new directory.
    Done,
    /// The move stopped; the partition stayed where it was.
    Failed(String),
}

/// Bytes a copy round may leave for the last one, copied with the partition's appends
/// paused: rounds go on while more than this was appended during the previous one.
const FINAL_DELTA_BYTES: u64 = 4 << 20;
/// Copy rounds before the last one at most (a partition appended to faster than it is
/// copied is then paused for a longer last round).
const MAX_COPY_ROUNDS: usize = 16;

type PartitionMap =
    std::collections::HashMap<String, std::collections::HashMap<i32, Arc<Partition>>>;

type SettingsCache =
    std::collections::HashMap<uuid::Uuid, (Arc<TopicMetadata>, Arc<TopicSettings>)>;

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

    /// Opens the data directory: the topic registry (in `topics.meta`) and every partition
    /// log it names.
    /// Broker configs changed at run time are kept in memory only.
    pub fn open(config: &Config) -> Result<ReplicaManager> {
        std::fs::create_dir_all(&config.data_dir)?;
        let topics = TopicRegistry::open(&config.data_dir)?;
        let dynamic = DynamicBrokerConfig::open(config.clone(), None).map_err(config_error)?;
        Self::open_with(dynamic, topics)
    }

    /// Opens the data directory with the topic registry kept in the keyed state store
    /// `state` (a `topics.meta` file of an earlier version is migrated into it). The broker
    /// configs changed at run time are kept there too, and apply from the start.
    pub fn open_with_state(
        config: &Config,
        state: Arc<crate::storage::kv::StateStore>,
    ) -> Result<ReplicaManager> {
        std::fs::create_dir_all(&config.data_dir)?;
        let dynamic = DynamicBrokerConfig::open(config.clone(), Some(Arc::clone(&state)))
            .map_err(config_error)?;
        let topics = TopicRegistry::open_in_store(&config.data_dir, state)?;
        Self::open_with(dynamic, topics)
    }

    fn open_with(dynamic: DynamicBrokerConfig, topics: TopicRegistry) -> Result<ReplicaManager> {
        let config = &*dynamic.current();
        let log_config = log_config(config);
        let storage = Storage::open_dirs(
            &config.data_dir,
            &config.log_dirs(),
            Some(config.node_id),
            log_config.clone(),
        )?;
        let leader_epoch = next_leader_epoch(&config.data_dir)?;
        // Partitions beyond a topic's count (a crash while adding partitions) go now. Logs
        // of topics the registry does not name (a crash while deleting a topic, or a lost
        // registry) are left on disk untouched and unserved; creating a topic of that name
        // removes them.
        for (topic, p) in storage.partitions() {
            match topics.get(&topic) {
                Some(t) if p >= t.partitions => {
                    tracing::info!(topic, partition = p, "removing a partition never committed");
                    storage.remove(&topic, p)?;
                }
                Some(_) => {}
                None => {
                    tracing::warn!(topic, partition = p, "log of an unregistered topic ignored")
                }
            }
        }
        for topic in topics.list() {
            let settings = topic_config::settings(config, &log_config, &topic.configs);
            for p in 0..topic.partitions {
                if storage.hold_missing_as_offline(&topic.name, p) {
                    tracing::error!(
                        topic = topic.name,
                        partition = p,
                        "partition offline: its log is missing while a log directory is offline"
                    );
                    continue;
                }
                match storage.get_or_create(&topic.name, p, settings.log.clone()) {
                    Ok(log) => log.set_config(settings.log.clone()),
                    Err(StorageError::LogDirOffline(dir)) => {
                        tracing::error!(
                            topic = topic.name,
                            partition = p,
                            dir,
                            "partition offline: its log directory failed"
                        );
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        storage.start_retention(Duration::from_millis(
            config.log_retention_check_interval_ms,
        ))?;
        if config.log_cleaner_enable {
            storage.start_cleaner(cleaner_config(config))?;
        }
        Ok(ReplicaManager {
            storage: Arc::new(storage),
            topics,
            log_config: parking_lot::RwLock::new(log_config),
            leader_epoch,
            config: Arc::new(dynamic),
            settings_cache: parking_lot::RwLock::new(SettingsCache::new()),
            partitions: parking_lot::RwLock::new(PartitionMap::new()),
            moves: parking_lot::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The broker configuration in force (the file and command line, with the changes
    /// made at run time).
    pub fn broker_config(&self) -> Arc<Config> {
        self.config.current()
    }

    /// The broker configuration with its layers and run-time changes.
    pub fn dynamic_config(&self) -> &Arc<DynamicBrokerConfig> {
        &self.config
    }

    /// Changes the run-time broker configs of `resource` (this node id, or empty for the
    /// cluster-wide default; see [`DynamicBrokerConfig::alter`]) and applies the new
    /// configuration to every log.
    pub fn alter_broker_configs<E>(
        &self,
        resource: &str,
        validate_only: bool,
        change: impl FnOnce(
            &BTreeMap<String, String>,
        ) -> std::result::Result<BTreeMap<String, String>, E>,
    ) -> std::result::Result<(), E>
    where
        E: From<DynamicConfigError> + From<BrokerError>,
    {
        if let Some((old, new)) = self.config.alter(resource, validate_only, change)? {
            self.reconfigure(&old, &new)?;
        }
        Ok(())
    }

    /// Puts a changed broker configuration in force: the broker-wide log settings, every
    /// topic's effective settings and the log cleaner.
    fn reconfigure(&self, old: &Config, new: &Config) -> Result<()> {
        *self.log_config.write() = log_config(new);
        self.settings_cache.write().clear();
        for t in self.topics.list() {
            let settings = self.settings_for(&t.configs);
            for p in 0..t.partitions {
                if let Some(log) = self.storage.get(&t.name, p) {
                    log.set_config(settings.log.clone());
                }
            }
        }
        if new.log_cleaner_enable && cleaner_config(old) != cleaner_config(new) {
            tracing::info!("restarting the log cleaner with its new settings");
            self.storage.stop_cleaner();
            self.storage.start_cleaner(cleaner_config(new))?;
        }
        Ok(())
    }

    /// The effective settings of a topic with config overrides `configs`.
    pub fn settings_for(&self, configs: &BTreeMap<String, String>) -> TopicSettings {
        let base = self.log_config.read().clone();
        topic_config::settings(&self.broker_config(), &base, configs)
    }

    /// The effective settings of topic `name` (broker defaults if it doesn't exist).
    pub fn topic_settings(&self, name: &str) -> Arc<TopicSettings> {
        let Some(t) = self.topics.get(name) else {
            return Arc::new(self.settings_for(&BTreeMap::new()));
        };
        if let Some((meta, settings)) = self.settings_cache.read().get(&t.id) {
            if Arc::ptr_eq(meta, &t) {
                return Arc::clone(settings);
            }
        }
        let settings = Arc::new(self.settings_for(&t.configs));
        let mut cache = self.settings_cache.write();
        // Forget deleted topics' entries now and then.
        if cache.len() > 2 * self.topics.list().len() + 16 {
            cache.retain(|id, _| self.topics.get_by_id(id).is_some());
        }
        cache.insert(t.id, (t, Arc::clone(&settings)));
        settings
    }

    /// Creates a topic with config overrides (validated by the caller) and its partition
    /// logs unless it exists; returns it and whether this call created it.
    pub fn create_topic_with_configs(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
    ) -> Result<(Arc<TopicMetadata>, bool)> {
        let settings = self.settings_for(&configs);
        let logs_created = std::cell::Cell::new(false);
        let created = self
            .topics
            .create_with_configs(name, partitions, configs, |t| {
                // Leftovers of an earlier topic of this name (deleted while the broker
                // crashed) must not become the new topic's data.
                for (topic, p) in self.storage.partitions() {
                    if topic == t.name {
                        tracing::warn!(topic, partition = p, "removing a stale log");
                        self.storage.remove(&topic, p)?;
                    }
                }
                for p in 0..t.partitions {
                    let opened = self.storage.get_or_create(&t.name, p, settings.log.clone());
                    match opened {
                        Ok(log) => log.set_config(settings.log.clone()),
                        Err(e) => {
                            tracing::warn!(topic = %t.name, partition = p, error = %e,
                                "creating a partition failed: removing the topic's logs");
                            self.discard_partial_topic(&t.name, p + 1);
                            return Err(e.into());
                        }
                    }
                }
                logs_created.set(true);
                Ok(())
            });
        if created.is_err() && logs_created.get() && self.topics.get(name).is_none() {
            // The logs were made but the registry could not record the topic.
            self.discard_partial_topic(name, partitions);
        }
        created
    }

    /// Removes what a failed creation made of topic `name`'s first `partitions` partitions
    /// (their logs, closed and deleted, and any directory a failed open left behind), so a
    /// CreateTopics that fails part way leaves nothing behind. Logs go first: closing them
    /// gives back the descriptors that removing a directory needs when they ran out.
    fn discard_partial_topic(&self, name: &str, partitions: i32) {
        for p in (0..partitions).rev() {
            match self.storage.remove(name, p) {
                Ok(()) | Err(StorageError::UnknownPartition(_)) => {}
                Err(e) => tracing::error!(topic = name, partition = p, error = %e,
                    "cannot remove the log of a topic whose creation failed"),
            }
            if let Err(e) = self.storage.discard_unopened(name, p) {
                tracing::error!(topic = name, partition = p, error = %e,
                    "cannot remove what a failed partition creation left behind");
            }
        }
    }

    /// Deletes a topic: gone from the registry first, then its logs and their files.
    pub fn delete_topic(&self, name: &str) -> Result<Arc<TopicMetadata>> {
        self.partitions.write().remove(name);
        self.topics.delete(name, |t| {
            for p in 0..t.partitions {
                match self.storage.remove(&t.name, p) {
                    Ok(()) | Err(StorageError::UnknownPartition(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        })
    }

    /// Raises a topic's partition count to `count`, creating the new partitions' logs.
    pub fn create_partitions(&self, name: &str, count: i32) -> Result<Arc<TopicMetadata>> {
        self.topics.set_partitions(name, count, |t| {
            let settings = self.settings_for(&t.configs);
            for p in 0..t.partitions {
                let log = self
                    .storage
                    .get_or_create(&t.name, p, settings.log.clone())?;
                log.set_config(settings.log.clone());
            }
            Ok(())
        })
    }

    /// Replaces a topic's config overrides (validated by the caller) and applies them to
    /// its live logs.
    pub fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<Arc<TopicMetadata>> {
        self.topics.set_configs(name, configs, |t| {
            let settings = self.settings_for(&t.configs);
            for p in 0..t.partitions {
                if let Some(log) = self.storage.get(&t.name, p) {
                    log.set_config(settings.log.clone());
                }
            }
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
        self.create_topic_with_configs(name, partitions, BTreeMap::new())
    }

    /// Creates Kafka's internal topic `name` (`__consumer_offsets` or `__transaction_state`)
    /// with its partition count and compacted configs unless it exists, and returns it;
    /// `None` for any other name.
    pub fn ensure_internal_topic(&self, name: &str) -> Option<Result<Arc<TopicMetadata>>> {
        if let Some(t) = self.topics.get(name) {
            return Some(Ok(t));
        }
        let (partitions, configs) = internal_topics::creation_spec(&self.broker_config(), name)?;
        Some(
            self.create_topic_with_configs(name, partitions, configs)
                .map(|(t, created)| {
                    if created {
                        tracing::info!(topic = name, partitions, "created internal topic");
                    }
                    t
                }),
        )
    }

    /// The log of a partition of a registered topic.
    pub fn log(&self, topic: &str, partition: i32) -> Option<Arc<Log>> {
        let t = self.topics.get(topic)?;
        if partition < 0 || partition >= t.partitions {
            return None;
        }
        self.storage.get(topic, partition)
    }

    /// The partition `partition` of registered topic `topic`: the seam through which the
    /// protocol layer appends, reads and looks offsets up. One `Partition` per log is
    /// kept, so appends to it are queued in one place.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<Arc<Partition>> {
        let t = self.topics.get(topic)?;
        if partition < 0 || partition >= t.partitions {
            return None;
        }
        let log = self.storage.slot(topic, partition)?;
        let settings = self.topic_settings(topic);
        if let Some(p) = self
            .partitions
            .read()
            .get(topic)
            .and_then(|m| m.get(&partition))
        {
            if p.serves(&log) {
                p.refresh_settings(&settings);
                return Some(Arc::clone(p));
            }
        }
        let mut map = self.partitions.write();
        let slot = map
            .entry(topic.to_string())
            .or_default()
            .entry(partition)
            .or_insert_with(|| {
                Arc::new(Partition::leader(
                    topic,
                    partition,
                    Arc::clone(&log),
                    self.leader_epoch,
                    Arc::clone(&settings),
                ))
            });
        if !slot.serves(&log) {
            // The topic was deleted and created again: a new log, a new partition.
            *slot = Arc::new(Partition::leader(
                topic,
                partition,
                Arc::clone(&log),
                self.leader_epoch,
                Arc::clone(&settings),
            ));
        }
        slot.refresh_settings(&settings);
        Some(Arc::clone(slot))
    }

    /// The partition `partition` of `topic`, or why there is none to serve: its log
    /// directory failed before the log could be opened (KAFKA_STORAGE_ERROR), or it does
    /// not exist (UNKNOWN_TOPIC_OR_PARTITION).
    pub fn partition_or_error(
        &self,
        topic: &str,
        partition: i32,
    ) -> std::result::Result<Arc<Partition>, PartitionError> {
        self.partition(topic, partition).ok_or_else(|| {
            match self
                .topics
                .get(topic)
                .and_then(|_| self.storage.offline_dir_of(topic, partition))
            {
                Some(dir) => StorageError::LogDirOffline(dir.path().display().to_string()).into(),
                None => PartitionError::UnknownTopicOrPartition,
            }
        })
    }

    /// The partition a client produces to: internal topics are refused whether they exist
    /// or not (INVALID_TOPIC_EXCEPTION, as from Kafka), as are names that break Kafka's
    /// rules; a missing one is UNKNOWN_TOPIC_OR_PARTITION.
    pub fn partition_for_produce(
        &self,
        topic: &str,
        partition: i32,
    ) -> std::result::Result<Arc<Partition>, PartitionError> {
        if internal_topics::is_internal(topic) {
            return Err(PartitionError::InvalidTopic(topic.to_string()));
        }
        self.partition_or_error(topic, partition).map_err(|e| {
            if super::validate_topic_name(topic).is_err() {
                PartitionError::InvalidTopic(topic.to_string())
            } else {
                e
            }
        })
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
        match self.broker_config().log_message_timestamp_type {
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

/// One log directory as DescribeLogDirs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirDescription {
    /// The directory's absolute path.
    pub path: String,
    /// Whether it is online (an offline one is reported with KAFKA_STORAGE_ERROR only).
    pub online: bool,
    /// Bytes of its file system, or -1.
    pub total_bytes: i64,
    /// Bytes of its file system available to the broker, or -1.
    pub usable_bytes: i64,
    /// The replicas in it, by topic then partition.
    pub replicas: Vec<ReplicaDescription>,
}

/// One replica in a log directory: the partition's log, or the future copy of a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaDescription {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// Bytes of its segment files.
    pub size: i64,
    /// How far its log end is behind the partition's (a future copy's lag; 0 for the
    /// partition's own log, which is the leader's).
    pub offset_lag: i64,
    /// Whether it is the future copy of a move in progress.
    pub is_future: bool,
}

impl ReplicaManager {
    /// Every log directory with the replicas in it among `wanted` (every partition of
    /// every topic when `None`), their sizes, and the file system's total and usable
    /// bytes, in the order of `log.dirs` (DescribeLogDirs).
    pub fn describe_log_dirs(
        &self,
        wanted: Option<&[(String, Vec<i32>)]>,
    ) -> Vec<LogDirDescription> {
        let is_wanted = |topic: &str, partition: i32| match wanted {
            None => true,
            Some(w) => w
                .iter()
                .any(|(t, ps)| t == topic && ps.contains(&partition)),
        };
        let size = |bytes: u64| i64::try_from(bytes).unwrap_or(i64::MAX);
        let mut out: Vec<LogDirDescription> = self
            .storage
            .log_dirs()
            .iter()
            .map(|d| {
                let (total_bytes, usable_bytes) = d.space().unwrap_or((-1, -1));
                LogDirDescription {
                    path: d.path().display().to_string(),
                    online: d.is_online(),
                    total_bytes,
                    usable_bytes,
                    replicas: Vec::new(),
                }
            })
            .collect();
        let dirs = self.storage.log_dirs();
        let index_of =
            |dir: &Arc<crate::storage::LogDir>| dirs.iter().position(|d| Arc::ptr_eq(d, dir));
        for (topic, partition, log) in self.all_logs() {
            if !is_wanted(&topic, partition) {
                continue;
            }
            let Some(i) = self.storage.log_dir_of(&log).and_then(index_of) else {
                continue;
            };
            if let Some(d) = out.get_mut(i) {
                d.replicas.push(ReplicaDescription {
                    topic: topic.clone(),
                    partition,
                    size: size(log.size_bytes()),
                    offset_lag: 0,
                    is_future: false,
                });
            }
            if let Some(future) = self.storage.future(&topic, partition) {
                if let Some(d) = index_of(future.destination()).and_then(|i| out.get_mut(i)) {
                    d.replicas.push(ReplicaDescription {
                        topic,
                        partition,
                        size: size(future.size_bytes()),
                        offset_lag: (log.log_end_offset() - future.copied_end()).max(0),
                        is_future: true,
                    });
                }
            }
        }
        for d in &mut out {
            if !d.online {
                d.replicas.clear();
                d.total_bytes = -1;
                d.usable_bytes = -1;
            }
            d.replicas.sort_by(|a, b| {
                (&a.topic, a.partition, a.is_future).cmp(&(&b.topic, b.partition, b.is_future))
            });
        }
        out
    }
}

/// Partition moves between log directories (AlterReplicaLogDirs).
impl ReplicaManager {
    /// Moves partition `topic`-`partition` to the log directory `dir` names, online, as
    /// Kafka's AlterReplicaLogDirs does: Ok at once when the move is started (or the
    /// partition is there already, or moving there); the copy runs on a thread of its
    /// own, with the partition serving meanwhile, and its appends paused only while the
    /// last delta is copied and the copy swapped in. Refused: a directory that is not
    /// one of the log dirs (LOG_DIR_NOT_FOUND), an offline one or a partition in an
    /// offline one (KAFKA_STORAGE_ERROR), an unknown partition.
    pub fn alter_log_dir(
        self: &Arc<Self>,
        topic: &str,
        partition: i32,
        dir: &str,
    ) -> std::result::Result<(), PartitionError> {
        let dest = self
            .storage
            .log_dir_named(dir)
            .cloned()
            .ok_or_else(|| StorageError::UnknownLogDir(dir.to_string()))?;
        dest.health().check()?;
        if self.partition(topic, partition).is_none() {
            return match self.storage.offline_dir_of(topic, partition) {
                Some(d) => Err(StorageError::LogDirOffline(d.path().display().to_string()).into()),
                None => Err(PartitionError::UnknownTopicOrPartition),
            };
        }
        let Some(future) = self.storage.begin_move(topic, partition, &dest)? else {
            return Ok(());
        };
        self.spawn_move(topic, partition, future)
            .map_err(|e| PartitionError::Storage(StorageError::Io(e)))
    }

    /// Starts the moves a crash interrupted (found when the log dirs were opened) again.
    pub fn resume_interrupted_moves(self: &Arc<Self>) {
        for ((topic, partition), dest) in self.storage.interrupted_moves() {
            let path = dest.path().display().to_string();
            match self.alter_log_dir(&topic, partition, &path) {
                Ok(()) => tracing::info!(
                    topic,
                    partition,
                    dir = path,
                    "resuming an interrupted partition move"
                ),
                Err(e) => {
                    tracing::warn!(topic, partition, dir = path, error = %e, "could not resume an interrupted partition move")
                }
            }
        }
    }

    /// How the last move of a partition started in this run stands, once it is no longer
    /// running; `None` if none was started.
    pub async fn wait_for_move(&self, topic: &str, partition: i32) -> Option<MoveState> {
        let mut rx = self
            .moves
            .lock()
            .get(&(topic.to_string(), partition))
            .cloned()?;
        let state = rx
            .wait_for(|s| *s != MoveState::Running)
            .await
            .map(|s| s.clone())
            .unwrap_or_else(|_| MoveState::Failed("the move's thread ended".into()));
        Some(state)
    }

    fn spawn_move(
        self: &Arc<Self>,
        topic: &str,
        partition: i32,
        future: Arc<FutureLog>,
    ) -> std::io::Result<()> {
        let (tx, rx) = watch::channel(MoveState::Running);
        self.moves.lock().insert((topic.to_string(), partition), rx);
        let me = Arc::clone(self);
        let runtime = tokio::runtime::Handle::try_current().ok();
        let name = topic.to_string();
        let moving = Arc::clone(&future);
        let spawned = std::thread::Builder::new()
            .name("skiff-log-move".into())
            .spawn(move || {
                // Drains the move starts (when it resumes appends) run on the runtime's
                // blocking pool.
                let _entered = runtime.as_ref().map(|h| h.enter());
                let state = match me.run_move(&name, partition, &moving) {
                    Ok(()) => MoveState::Done,
                    Err(e) => {
                        tracing::warn!(topic = name, partition, error = %e, "partition move failed");
                        me.storage.abandon_move(&name, partition, &moving);
                        MoveState::Failed(e.to_string())
                    }
                };
                tx.send_replace(state);
            });
        if let Err(e) = spawned {
            self.storage.abandon_move(topic, partition, &future);
            return Err(e);
        }
        Ok(())
    }

    /// Copies the partition's log in rounds while it serves, then, with its appends
    /// paused, the last delta, and swaps the copy in.
    fn run_move(
        &self,
        topic: &str,
        partition: i32,
        future: &Arc<FutureLog>,
    ) -> std::result::Result<(), StorageError> {
        let unknown = || StorageError::UnknownPartition(format!("{topic}-{partition}"));
        let slot = self.storage.slot(topic, partition).ok_or_else(unknown)?;
        for _ in 0..MAX_COPY_ROUNDS {
            if future.copy_round(&slot.current())? <= FINAL_DELTA_BYTES {
                break;
            }
        }
        let target = self.partition(topic, partition).ok_or_else(unknown)?;
        let deleted = {
            let _paused = target.pause_appends();
            self.storage.complete_move(topic, partition, future)?
        };
        if let Err(e) = std::fs::remove_dir_all(&deleted) {
            tracing::warn!(dir = %deleted.display(), error = %e, "could not delete a moved partition's old copy");
        }
        tracing::info!(
            topic,
            partition,
            dir = %future.destination().path().display(),
            "partition moved"
        );
        Ok(())
    }
}

/// The log cleaner's settings from the broker configuration.
fn cleaner_config(config: &Config) -> CleanerConfig {
    CleanerConfig {
        dedupe_buffer_size: config.log_cleaner_dedupe_buffer_size,
        backoff: Duration::from_millis(config.log_cleaner_backoff_ms),
        ..CleanerConfig::default()
    }
}

fn config_error(e: DynamicConfigError) -> BrokerError {
    match e {
        DynamicConfigError::Store(e) => BrokerError::from(e),
        other => BrokerError::CorruptMetadata {
            path: "state store".into(),
            reason: other.to_string(),
        },
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
