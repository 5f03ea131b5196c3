//! The configuration descriptors: what a config is called, its Kafka type, default,
//! documentation, scope, run-time update mode and validation. Everything else about
//! configuration (parsing, defaults, `--set`, TOML, DescribeConfigs, the dynamic broker
//! configs, `config/skiff.toml`) is derived from these descriptors.

/// Kafka's config value types, numbered as DescribeConfigs' `config_type` numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// `true` or `false` (any case).
    Boolean = 1,
    /// Free text.
    String = 2,
    /// 32-bit signed integer.
    Int = 3,
    /// 16-bit signed integer.
    Short = 4,
    /// 64-bit signed integer.
    Long = 5,
    /// Floating point number.
    Double = 6,
    /// Comma-separated list.
    List = 7,
    /// A class name (Java); free text here.
    Class = 8,
    /// A secret; never described with its value.
    Password = 9,
}

/// Where a config value comes from, numbered as DescribeConfigs' `config_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic.
    DynamicTopic = 1,
    /// Set at run time for this broker (resource name = node id).
    DynamicBroker = 2,
    /// Set at run time as the cluster-wide default (empty resource name).
    DynamicDefaultBroker = 3,
    /// Set in the broker's configuration file or command line.
    StaticBroker = 4,
    /// The built-in default.
    Default = 5,
    /// Set on a client-metrics subscription (Kafka's CLIENT_METRICS_CONFIG).
    ClientMetrics = 7,
    /// Set on a group (Kafka's DYNAMIC_GROUP_CONFIG).
    DynamicGroup = 8,
}

/// Whether and how a broker config can change while the broker runs (the "update mode"
/// column of Kafka's broker config documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// Only from the configuration file or command line; a restart applies a change.
    ReadOnly,
    /// At run time, for one broker only (resource name = its node id).
    PerBroker,
    /// At run time, per broker or as the cluster-wide default (empty resource name).
    ClusterWide,
}

impl UpdateMode {
    /// Kafka's spelling (`read-only`, `per-broker`, `cluster-wide`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::PerBroker => "per-broker",
            Self::ClusterWide => "cluster-wide",
        }
    }
}

/// Where a config applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A broker option only.
    Broker,
    /// A topic config only (no broker-level default of its own).
    Topic,
    /// A broker option that is the default of a topic config of another name.
    Both,
}

/// What values a config accepts beyond its type.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Any value of the type.
    Any,
    /// An integer between two bounds, both included.
    Range(i64, i64),
    /// A number between two bounds, both included.
    RangeF(f64, f64),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A non-empty comma-separated list of these words.
    ListOf(&'static [&'static str]),
    /// A rule of its own.
    Custom(fn(&str) -> Result<(), String>),
}

/// One configuration option.
#[derive(Debug, Clone, Copy)]
pub struct ConfigDef {
    /// The name as Kafka spells it (the broker name of a config with both scopes).
    pub name: &'static str,
    /// The topic-level name of a config with both scopes (`retention.ms` for
    /// `log.retention.ms`), or the name of a topic-only config.
    pub topic_name: Option<&'static str>,
    /// Where it applies.
    pub scope: Scope,
    /// Kafka's type.
    pub kind: ConfigType,
    /// The default, as text.
    pub default: &'static str,
    /// Whether a broker can change it at run time.
    pub mode: UpdateMode,
    /// The values accepted for the broker option (and the topic config unless
    /// `topic_check` says otherwise).
    pub check: Check,
    /// The values accepted at topic level when they differ from the broker's.
    pub topic_check: Option<Check>,
    /// One sentence on what it does.
    pub doc: &'static str,
}

impl ConfigDef {
    /// Checks `value` against the type and the rule of the broker option.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        check_value(self.kind, self.check, value)
    }

    /// Checks `value` against the type and the rule of the topic config.
    pub fn validate_topic(&self, value: &str) -> Result<(), String> {
        check_value(self.kind, self.topic_check.unwrap_or(self.check), value)
    }

    /// Whether the broker can change it at run time.
    pub fn is_dynamic(&self) -> bool {
        self.mode != UpdateMode::ReadOnly
    }
}

fn integer(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let v: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not an integer"))?;
    if v < min {
        return Err(format!("{v} is below the minimum {min}"));
    }
    if v > max {
        return Err(format!("{v} is above the maximum {max}"));
    }
    Ok(v)
}

fn check_value(kind: ConfigType, check: Check, value: &str) -> Result<(), String> {
    let (min, max) = match kind {
        ConfigType::Int => (i64::from(i32::MIN), i64::from(i32::MAX)),
        ConfigType::Short => (i64::from(i16::MIN), i64::from(i16::MAX)),
        ConfigType::Long => (i64::MIN, i64::MAX),
        ConfigType::Boolean => {
            if !matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "false") {
                return Err(format!("`{value}` is not true or false"));
            }
            (i64::MIN, i64::MAX)
        }
        ConfigType::Double => {
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("`{value}` is not a number"))?;
            return match check {
                Check::RangeF(lo, hi) if !(lo..=hi).contains(&v) => {
                    Err(format!("{v} is not between {lo} and {hi}"))
                }
                _ => Ok(()),
            };
        }
        ConfigType::String | ConfigType::List | ConfigType::Class | ConfigType::Password => {
            (i64::MIN, i64::MAX)
        }
    };
    let numeric = matches!(kind, ConfigType::Int | ConfigType::Short | ConfigType::Long);
    if numeric {
        integer(value, min, max)?;
    }
    match check {
        Check::Any | Check::RangeF(..) => Ok(()),
        Check::Range(lo, hi) => integer(value, lo.max(min), hi.min(max)).map(drop),
        Check::OneOf(words) => {
            if words.contains(&value.trim()) {
                Ok(())
            } else {
                Err(format!("`{value}` is not one of {}", words.join(", ")))
            }
        }
        Check::ListOf(words) => {
            let items: Vec<&str> = value.split(',').map(str::trim).collect();
            if items.iter().all(|i| i.is_empty()) {
                return Err(format!("the list must name one of {}", words.join(", ")));
            }
            match items.iter().find(|i| !words.contains(i)) {
                Some(bad) => Err(format!("`{bad}` is not one of {}", words.join(", "))),
                None => Ok(()),
            }
        }
        Check::Custom(f) => f(value),
    }
}

/// `HOST:PORT` with a host and a valid port.
fn host_port(value: &str) -> Result<(), String> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| "expected HOST:PORT".to_string())?;
    if host.is_empty() {
        return Err("empty host".into());
    }
    port.parse::<u16>()
        .map(drop)
        .map_err(|e| format!("bad port: {e}"))
}

/// `HOST:PORT`, or empty for "none".
fn optional_host_port(value: &str) -> Result<(), String> {
    if value.is_empty() {
        Ok(())
    } else {
        host_port(value)
    }
}

fn non_empty(value: &str) -> Result<(), String> {
    if value.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

/// A list of log directories: empty (unset), or directories that are neither blank nor
/// named twice.
fn log_dir_list(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Ok(());
    }
    let dirs: Vec<&str> = value.split(',').map(str::trim).collect();
    if dirs.iter().any(|d| d.is_empty()) {
        return Err("a log directory is blank".into());
    }
    for (i, d) in dirs.iter().enumerate() {
        if dirs.get(..i).is_some_and(|before| before.contains(d)) {
            return Err(format!("`{d}` is named twice"));
        }
    }
    Ok(())
}

/// A gzip level: -1 (the codec's default) or 1 to 9.
fn gzip_level(value: &str) -> Result<(), String> {
    match integer(value, -1, 9)? {
        0 => Err("0 is not a gzip level (-1 or 1-9)".into()),
        _ => Ok(()),
    }
}

/// A replica list of the throttled-replicas configs: empty, `*`, or `partition:broker`
/// pairs separated by commas.
fn throttled_replicas(value: &str) -> Result<(), String> {
    let v = value.trim();
    if v.is_empty() || v == "*" {
        return Ok(());
    }
    for item in v.split(',') {
        let ok = item.trim().split_once(':').is_some_and(|(p, b)| {
            p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
        });
        if !ok {
            return Err(format!(
                "`{item}` is not partition:broker (the list must be empty, * or such pairs)"
            ));
        }
    }
    Ok(())
}

/// `remote.storage.enable`: only `false` (no tiered storage here).
fn no_tiered_storage(value: &str) -> Result<(), String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "false" => Ok(()),
        _ => Err("tiered storage is not available on this broker".into()),
    }
}

/// Smallest `segment.bytes` Kafka 4 accepts on a topic.
pub const MIN_SEGMENT_BYTES: i64 = 1024 * 1024;

const I32_MAX: i64 = i32::MAX as i64;
const POSITIVE: Check = Check::Range(1, i64::MAX);
const NOT_NEGATIVE: Check = Check::Range(0, i64::MAX);
const RETENTION: Check = Check::Range(-1, i64::MAX);

/// The codecs of `compression.type`.
pub const COMPRESSION_TYPES: &[&str] =
    &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"];

/// The group assignors a KIP-848 group can use (`group.consumer.assignors`).
pub const ASSIGNORS: &[&str] = &["uniform", "range"];

const fn topic_only(
    name: &'static str,
    kind: ConfigType,
    default: &'static str,
    check: Check,
    doc: &'static str,
) -> ConfigDef {
    ConfigDef {
        name,
        topic_name: Some(name),
        scope: Scope::Topic,
        kind,
        default,
        mode: UpdateMode::ReadOnly,
        check,
        topic_check: None,
        doc,
    }
}

/// Topic configs with no broker option of their own (Kafka has none either).
pub const TOPIC_ONLY_CONFIGS: &[ConfigDef] = &[
    topic_only(
        "follower.replication.throttled.replicas",
        ConfigType::List,
        "",
        Check::Custom(throttled_replicas),
        "Replicas throttled as followers (accepted; one broker has no followers).",
    ),
    topic_only(
        "leader.replication.throttled.replicas",
        ConfigType::List,
        "",
        Check::Custom(throttled_replicas),
        "Replicas throttled as leaders (accepted; one broker has no followers).",
    ),
    topic_only(
        "remote.log.copy.disable",
        ConfigType::Boolean,
        "false",
        Check::Any,
        "Tiered storage: stop copying segments to remote storage. Skiff has no tiered storage.",
    ),
    topic_only(
        "remote.log.delete.on.disable",
        ConfigType::Boolean,
        "false",
        Check::Any,
        "Tiered storage: delete remote data when it is disabled. Skiff has no tiered storage.",
    ),
    topic_only(
        "remote.storage.enable",
        ConfigType::Boolean,
        "false",
        Check::Custom(no_tiered_storage),
        "Tiered storage (KIP-405); only false is accepted: Skiff has no tiered storage.",
    ),
];

/// Kafka broker configs that Skiff does not have and Kafka cannot change at run time:
/// altering one on the BROKER resource is refused as Kafka refuses it, while a name
/// Kafka does not know at all is kept as a custom dynamic config (as Kafka keeps it).
pub const KAFKA_READ_ONLY_ELSEWHERE: &[&str] = &[
    "broker.id",
    "broker.rack",
    "controller.listener.names",
    "controller.quorum.voters",
    "metadata.log.dir",
    "process.roles",
];

// The broker options, in the order `config/skiff.toml` lists them. Each line generates a
// typed field of `Config` and a descriptor of `BROKER_OPTIONS`:
// field: Rust type = name, Kafka type, default, update mode, check, [topic name [(topic
// check)],] doc.
broker_options! {
    listen: String = "listen", String, "127.0.0.1:9092", ReadOnly, Check::Custom(host_port),
        "Address the broker binds, HOST:PORT (port 0 picks a free port).";
    advertised_listener: Option<String> = "advertised.listener", String, "", ReadOnly,
        Check::Custom(optional_host_port),
        "HOST:PORT handed to clients in Metadata (empty: the bound listen address).";
    listeners: Option<String> = "listeners", List, "", ReadOnly, Check::Custom(super::listeners::check_listeners),
        "Listeners as NAME://HOST:PORT, comma-separated (empty: one PLAINTEXT listener on `listen`).";
    advertised_listeners: Option<String> = "advertised.listeners", List, "", ReadOnly,
        Check::Custom(super::listeners::check_advertised_listeners),
        "NAME://HOST:PORT handed to clients of each listener (empty or unnamed: the bound address).";
    listener_security_protocol_map: String = "listener.security.protocol.map", List,
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", ReadOnly,
        Check::Custom(super::listeners::check_protocol_map),
        "Security protocol of each listener name, NAME:PROTOCOL (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL).";
    data_dir: std::path::PathBuf = "data.dir", String, "./data", ReadOnly, Check::Custom(non_empty),
        "Directory of the broker's state, and of the partition logs unless log.dirs or log.dir names others.";
    log_dirs: Option<String> = "log.dirs", String, "", ReadOnly, Check::Custom(log_dir_list),
        "Comma-separated directories of the partition logs (JBOD); new partitions go to the one holding the fewest (empty: log.dir).";
    log_dir: Option<String> = "log.dir", String, "", ReadOnly, Check::Custom(log_dir_list),
        "The directory of the partition logs when log.dirs is unset (empty: data.dir).";
    node_id: i32 = "node.id", Int, "1", ReadOnly, NOT_NEGATIVE,
        "This broker's id.";
    cluster_id: String = "cluster.id", String, "", ReadOnly, Check::Any,
        "Cluster id reported in Metadata (empty: generated once and kept in data.dir).";
    num_partitions: i32 = "num.partitions", Int, "1", ReadOnly, POSITIVE,
        "Partitions of an auto-created topic.";
    auto_create_topics_enable: bool = "auto.create.topics.enable", Boolean, "true", ReadOnly, Check::Any,
        "Create unknown topics named in Metadata requests that allow it.";
    default_replication_factor: i32 = "default.replication.factor", Int, "1", ReadOnly,
        Check::Range(1, 1),
        "Replication factor of auto-created topics (one broker: always 1).";
    delete_topic_enable: bool = "delete.topic.enable", Boolean, "true", ReadOnly,
        Check::OneOf(&["true"]),
        "Whether DeleteTopics may delete topics (always true).";
    offsets_topic_num_partitions: i32 = "offsets.topic.num.partitions", Int, "50", ReadOnly, POSITIVE,
        "Partitions of __consumer_offsets when it is created.";
    transaction_state_log_num_partitions: i32 = "transaction.state.log.num.partitions", Int, "50",
        ReadOnly, POSITIVE,
        "Partitions of __transaction_state when it is created.";
    log_segment_bytes: u64 = "log.segment.bytes", Int, "1073741824", ClusterWide,
        Check::Range(14, I32_MAX), topic "segment.bytes" (Check::Range(MIN_SEGMENT_BYTES, I32_MAX)),
        "Size at which the active segment is rolled.";
    log_roll_ms: u64 = "log.roll.ms", Long, "604800000", ClusterWide, POSITIVE, topic "segment.ms",
        "Age at which the active segment is rolled.";
    log_roll_jitter_ms: i64 = "log.roll.jitter.ms", Long, "0", ClusterWide, NOT_NEGATIVE,
        topic "segment.jitter.ms",
        "Random jitter subtracted from the roll age (accepted; Skiff rolls at the roll age).";
    log_index_interval_bytes: usize = "log.index.interval.bytes", Int, "4096", ClusterWide,
        NOT_NEGATIVE, topic "index.interval.bytes",
        "Bytes of log between two entries of the sparse offset index.";
    log_index_size_max_bytes: i32 = "log.index.size.max.bytes", Int, "10485760", ClusterWide,
        Check::Range(4, I32_MAX), topic "segment.index.bytes",
        "Largest offset index of a segment (accepted; Skiff's indexes grow as needed).";
    log_retention_ms: i64 = "log.retention.ms", Long, "604800000", ClusterWide, RETENTION,
        topic "retention.ms",
        "How long closed segments are kept before deletion (-1: forever).";
    log_retention_bytes: i64 = "log.retention.bytes", Long, "-1", ClusterWide, RETENTION,
        topic "retention.bytes",
        "Size of a partition beyond which its oldest segments are deleted (-1: no limit).";
    log_retention_check_interval_ms: u64 = "log.retention.check.interval.ms", Long, "300000",
        ReadOnly, POSITIVE,
        "How often retention looks for segments to delete.";
    log_cleanup_policy: String = "log.cleanup.policy", List, "delete", ClusterWide,
        Check::ListOf(&["delete", "compact"]), topic "cleanup.policy",
        "What happens to old data: delete (retention), compact (latest value per key) or both.";
    log_segment_delete_delay_ms: i64 = "log.segment.delete.delay.ms", Long, "60000", ClusterWide,
        NOT_NEGATIVE, topic "file.delete.delay.ms",
        "Delay before a deleted segment's files are removed (accepted; Skiff removes them at once).";
    log_flush_interval_messages: i64 = "log.flush.interval.messages", Long, "9223372036854775807",
        ClusterWide, POSITIVE, topic "flush.messages",
        "Records between forced flushes (accepted; log.fsync.policy governs syncing).";
    log_flush_interval_ms: i64 = "log.flush.interval.ms", Long, "9223372036854775807", ClusterWide,
        NOT_NEGATIVE, topic "flush.ms",
        "Time between forced flushes (accepted; log.fsync.policy governs syncing).";
    log_preallocate: bool = "log.preallocate", Boolean, "false", ClusterWide, Check::Any,
        topic "preallocate",
        "Preallocate segment files (accepted; no effect).";
    log_local_retention_ms: i64 = "log.local.retention.ms", Long, "-2", ClusterWide,
        Check::Range(-2, i64::MAX), topic "local.retention.ms",
        "Tiered storage: local retention time (-2: as retention.ms); Skiff has no tiered storage.";
    log_local_retention_bytes: i64 = "log.local.retention.bytes", Long, "-2", ClusterWide,
        Check::Range(-2, i64::MAX), topic "local.retention.bytes",
        "Tiered storage: local retention size (-2: as retention.bytes); Skiff has no tiered storage.";
    log_message_timestamp_type: TimestampTypeName = "log.message.timestamp.type", String, "CreateTime",
        ClusterWide, Check::OneOf(&["CreateTime", "LogAppendTime"]), topic "message.timestamp.type",
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches on append.";
    log_message_timestamp_before_max_ms: i64 = "log.message.timestamp.before.max.ms", Long,
        "9223372036854775807", ClusterWide, NOT_NEGATIVE, topic "message.timestamp.before.max.ms",
        "How far in the past a CreateTime timestamp may be.";
    log_message_timestamp_after_max_ms: i64 = "log.message.timestamp.after.max.ms", Long, "3600000",
        ClusterWide, NOT_NEGATIVE, topic "message.timestamp.after.max.ms",
        "How far in the future a CreateTime timestamp may be.";
    message_max_bytes: usize = "message.max.bytes", Int, "1048588", ClusterWide, NOT_NEGATIVE,
        topic "max.message.bytes",
        "Largest record batch accepted.";
    compression_type: String = "compression.type", String, "producer", ClusterWide,
        Check::OneOf(COMPRESSION_TYPES), topic "compression.type",
        "Codec batches are stored with: producer (as sent), uncompressed, gzip, snappy, lz4 or zstd.";
    compression_gzip_level: i32 = "compression.gzip.level", Int, "-1", ClusterWide,
        Check::Custom(gzip_level), topic "compression.gzip.level",
        "gzip level when the broker compresses: -1 (the codec's default) or 1-9.";
    compression_lz4_level: i32 = "compression.lz4.level", Int, "9", ClusterWide, Check::Range(1, 17),
        topic "compression.lz4.level",
        "lz4 level when the broker compresses: 1-17 (accepted; Skiff's lz4 has one level).";
    compression_zstd_level: i32 = "compression.zstd.level", Int, "3", ClusterWide,
        Check::Range(-131_072, 22), topic "compression.zstd.level",
        "zstd level when the broker compresses: -131072 to 22.";
    min_insync_replicas: i32 = "min.insync.replicas", Int, "1", ClusterWide, POSITIVE,
        topic "min.insync.replicas",
        "Replicas that must hold a record before acks=all succeeds (above 1 fails on one broker).";
    unclean_leader_election_enable: bool = "unclean.leader.election.enable", Boolean, "false",
        ClusterWide, Check::Any, topic "unclean.leader.election.enable",
        "Elect an out-of-sync replica as leader (accepted; one broker is always in sync).";
    socket_request_max_bytes: usize = "socket.request.max.bytes", Int, "104857600", ReadOnly, POSITIVE,
        "Largest request frame accepted; a larger size prefix closes the connection.";
    log_fsync_policy: FsyncPolicyName = "log.fsync.policy", String, "always", ReadOnly,
        Check::OneOf(&["always", "interval", "never"]),
        "When appended data is fsynced: always (before acks=all answers), interval or never.";
    log_fsync_interval_ms: u64 = "log.fsync.interval.ms", Long, "1000", ReadOnly, POSITIVE,
        "fsync period under the interval policy.";
    max_connections: usize = "max.connections", Int, "10000", ReadOnly, POSITIVE,
        "Simultaneous client connections; more wait to be accepted.";
    log_level: String = "log.level", String, "info", ReadOnly, Check::Any,
        "Tracing filter of the binary (e.g. info, skiff=debug).";
    log_cleaner_enable: bool = "log.cleaner.enable", Boolean, "true", ReadOnly, Check::Any,
        "Run the background log cleaner over compacted topics.";
    log_cleaner_backoff_ms: u64 = "log.cleaner.backoff.ms", Long, "15000", ClusterWide, POSITIVE,
        "Pause of the log cleaner when no log needs cleaning.";
    log_cleaner_dedupe_buffer_size: usize = "log.cleaner.dedupe.buffer.size", Long, "134217728",
        ClusterWide, POSITIVE,
        "Memory for the cleaner's key index; beyond it the index spills to disk.";
    log_cleaner_delete_retention_ms: i64 = "log.cleaner.delete.retention.ms", Long, "86400000",
        ClusterWide, NOT_NEGATIVE, topic "delete.retention.ms",
        "How long tombstones stay in a compacted log after it was cleaned.";
    log_cleaner_min_compaction_lag_ms: i64 = "log.cleaner.min.compaction.lag.ms", Long, "0",
        ClusterWide, NOT_NEGATIVE, topic "min.compaction.lag.ms",
        "Shortest time a record stays uncompacted.";
    log_cleaner_max_compaction_lag_ms: i64 = "log.cleaner.max.compaction.lag.ms", Long,
        "9223372036854775807", ClusterWide, POSITIVE, topic "max.compaction.lag.ms",
        "Longest time a record stays uncompacted in a compacted log.";
    log_cleaner_min_cleanable_ratio: f64 = "log.cleaner.min.cleanable.ratio", Double, "0.5",
        ClusterWide, Check::RangeF(0.0, 1.0), topic "min.cleanable.dirty.ratio",
        "Share of a compacted log that must be uncleaned before the cleaner takes it.";
    transaction_max_timeout_ms: i32 = "transaction.max.timeout.ms", Int, "900000", ReadOnly, POSITIVE,
        "Largest transaction timeout a producer may ask for (larger: INVALID_TRANSACTION_TIMEOUT).";
    transactional_id_expiration_ms: i64 = "transactional.id.expiration.ms", Int, "604800000",
        ReadOnly, POSITIVE,
        "An idle transactional id is forgotten after this long.";
    producer_id_expiration_ms: i64 = "producer.id.expiration.ms", Int, "86400000", ClusterWide,
        POSITIVE,
        "A producer's state in a partition is dropped after this long without writes.";
    transaction_abort_timed_out_transaction_cleanup_interval_ms: u64 =
        "transaction.abort.timed.out.transaction.cleanup.interval.ms", Int, "10000", ReadOnly, POSITIVE,
        "How often timed-out transactions are looked for and aborted.";
    transaction_remove_expired_transaction_cleanup_interval_ms: u64 =
        "transaction.remove.expired.transaction.cleanup.interval.ms", Int, "3600000", ReadOnly,
        POSITIVE,
        "How often expired transactional ids are removed.";
    producer_id_expiration_check_interval_ms: u64 = "producer.id.expiration.check.interval.ms", Int,
        "600000", ReadOnly, POSITIVE,
        "How often the partition logs are scanned for idle producers.";
    group_initial_rebalance_delay_ms: u64 = "group.initial.rebalance.delay.ms", Int, "3000", ReadOnly,
        NOT_NEGATIVE,
        "How long a new classic group waits for more members before its first rebalance.";
    group_min_session_timeout_ms: u64 = "group.min.session.timeout.ms", Int, "6000", ReadOnly, POSITIVE,
        "Smallest session timeout a classic group member may ask for.";
    group_max_session_timeout_ms: u64 = "group.max.session.timeout.ms", Int, "1800000", ReadOnly,
        POSITIVE,
        "Largest session timeout a classic group member may ask for.";
    group_max_size: u32 = "group.max.size", Int, "2147483647", ReadOnly, POSITIVE,
        "Members a group may hold.";
    offsets_retention_minutes: u64 = "offsets.retention.minutes", Int, "10080", ReadOnly, POSITIVE,
        "Committed offsets of a group that has been empty this long expire.";
    offsets_retention_check_interval_ms: u64 = "offsets.retention.check.interval.ms", Long, "600000",
        ReadOnly, POSITIVE,
        "How often expired offsets are looked for.";
    offset_metadata_max_bytes: usize = "offset.metadata.max.bytes", Int, "4096", ReadOnly, NOT_NEGATIVE,
        "Longest metadata string of a committed offset.";
    group_consumer_session_timeout_ms: u64 = "group.consumer.session.timeout.ms", Int, "45000",
        ReadOnly, POSITIVE,
        "Session timeout of KIP-848 consumer group members.";
    group_consumer_heartbeat_interval_ms: u64 = "group.consumer.heartbeat.interval.ms", Int, "5000",
        ReadOnly, POSITIVE,
        "Heartbeat interval given to KIP-848 consumer group members.";
    group_consumer_assignors: String = "group.consumer.assignors", List, "uniform,range", ReadOnly,
        Check::ListOf(ASSIGNORS),
        "KIP-848 server assignors (uniform, range); the first serves members that name none.";
    group_share_session_timeout_ms: u64 = "group.share.session.timeout.ms", Int, "45000", ReadOnly,
        POSITIVE,
        "Session timeout of share group members (KIP-932).";
    group_share_min_session_timeout_ms: u64 = "group.share.min.session.timeout.ms", Int, "45000",
        ReadOnly, POSITIVE,
        "Smallest share.session.timeout.ms a share group may set.";
    group_share_max_session_timeout_ms: u64 = "group.share.max.session.timeout.ms", Int, "60000",
        ReadOnly, POSITIVE,
        "Largest share.session.timeout.ms a share group may set.";
    group_share_heartbeat_interval_ms: u64 = "group.share.heartbeat.interval.ms", Int, "5000",
        ReadOnly, POSITIVE,
        "Heartbeat interval given to share group members.";
    group_share_min_heartbeat_interval_ms: u64 = "group.share.min.heartbeat.interval.ms", Int,
        "5000", ReadOnly, POSITIVE,
        "Smallest share.heartbeat.interval.ms a share group may set.";
    group_share_max_heartbeat_interval_ms: u64 = "group.share.max.heartbeat.interval.ms", Int,
        "15000", ReadOnly, POSITIVE,
        "Largest share.heartbeat.interval.ms a share group may set.";
    group_share_record_lock_duration_ms: u64 = "group.share.record.lock.duration.ms", Int, "30000",
        ReadOnly, Check::Range(1000, 3_600_000),
        "How long a share group member holds the records it acquired before they are released.";
    group_share_min_record_lock_duration_ms: u64 = "group.share.min.record.lock.duration.ms", Int,
        "15000", ReadOnly, Check::Range(1000, 30_000),
        "Smallest share.record.lock.duration.ms a share group may set.";
    group_share_max_record_lock_duration_ms: u64 = "group.share.max.record.lock.duration.ms", Int,
        "60000", ReadOnly, Check::Range(30_000, 3_600_000),
        "Largest share.record.lock.duration.ms a share group may set.";
    group_share_delivery_count_limit: u32 = "group.share.delivery.count.limit", Int, "5", ReadOnly,
        Check::Range(2, 10),
        "Deliveries of a record to share group members after which it is archived.";
    group_share_partition_max_record_locks: u32 = "group.share.partition.max.record.locks", Int,
        "2000", ReadOnly, Check::Range(100, 10_000),
        "Records of one share-partition that may be in flight at once.";
    group_share_max_size: u32 = "group.share.max.size", Int, "200", ReadOnly, Check::Range(1, 1000),
        "Members a share group may hold.";
    group_share_max_share_sessions: u32 = "group.share.max.share.sessions", Int, "2000", ReadOnly,
        POSITIVE,
        "Share sessions the broker keeps at once.";
    max_incremental_fetch_session_cache_slots: usize = "max.incremental.fetch.session.cache.slots",
        Int, "1000", ReadOnly, NOT_NEGATIVE,
        "Incremental fetch sessions (KIP-227) the broker keeps at once (0: none are created).";
    min_incremental_fetch_session_eviction_ms: u64 = "min.incremental.fetch.session.eviction.ms",
        Long, "120000", ReadOnly, NOT_NEGATIVE,
        "How long a fetch session must be idle to be evicted for any newcomer, and how old it must be to be evicted for a larger one (Kafka's fixed 120000).";
    client_telemetry_enable: bool = "client.telemetry.enable", Boolean, "false", ReadOnly,
        Check::Any,
        "Skiff's receiver of client telemetry (KIP-714): GetTelemetrySubscriptions and PushTelemetry are served and advertised, and what clients push is kept. Off, as on a Kafka broker with no ClientTelemetry metrics reporter.";
    telemetry_max_bytes: i32 = "telemetry.max.bytes", Int, "1048576", ReadOnly, POSITIVE,
        "Largest metrics payload (compressed) a client may push with PushTelemetry.";
    quota_window_num: u32 = "quota.window.num", Int, "11", ReadOnly,
        Check::Range(1, I32_MAX),
        "Sample windows kept for client byte-rate and request-time quotas.";
    quota_window_size_seconds: u32 = "quota.window.size.seconds", Int, "1", ReadOnly,
        Check::Range(1, I32_MAX),
        "Length of one sample window of client byte-rate and request-time quotas.";
    controller_quota_window_num: u32 = "controller.quota.window.num", Int, "11", ReadOnly,
        Check::Range(1, I32_MAX),
        "Sample windows of the controller mutation quota (its token bucket holds this many windows' worth).";
    controller_quota_window_size_seconds: u32 = "controller.quota.window.size.seconds", Int, "1",
        ReadOnly, Check::Range(1, I32_MAX),
        "Length of one sample window of the controller mutation quota.";
    ssl_keystore_type: String = "ssl.keystore.type", String, "JKS", ReadOnly,
        Check::OneOf(&["JKS", "PKCS12", "PEM"]),
        "Format of the key store of SSL listeners; Skiff reads PEM (JKS and PKCS12 are refused at start).";
    ssl_keystore_location: Option<String> = "ssl.keystore.location", String, "", ReadOnly, Check::Any,
        "PEM file holding the listener's private key and certificate chain.";
    ssl_keystore_password: Option<String> = "ssl.keystore.password", Password, "", ReadOnly, Check::Any,
        "Password of the key store file (PKCS12/JKS only; a PEM key uses ssl.key.password).";
    ssl_keystore_certificate_chain: Option<String> = "ssl.keystore.certificate.chain", Password, "",
        ReadOnly, Check::Any,
        "The certificate chain in PEM, inline (with ssl.keystore.key, instead of a file).";
    ssl_keystore_key: Option<String> = "ssl.keystore.key", Password, "", ReadOnly, Check::Any,
        "The PKCS#8 private key in PEM, inline (encrypted if ssl.key.password is set).";
    ssl_key_password: Option<String> = "ssl.key.password", Password, "", ReadOnly, Check::Any,
        "Password of an encrypted PKCS#8 private key.";
    ssl_truststore_type: String = "ssl.truststore.type", String, "JKS", ReadOnly,
        Check::OneOf(&["JKS", "PKCS12", "PEM"]),
        "Format of the trust store that checks client certificates; Skiff reads PEM.";
    ssl_truststore_location: Option<String> = "ssl.truststore.location", String, "", ReadOnly, Check::Any,
        "PEM file of the certificates trusted to sign client certificates.";
    ssl_truststore_password: Option<String> = "ssl.truststore.password", Password, "", ReadOnly,
        Check::Any,
        "Password of the trust store file (PKCS12/JKS only).";
    ssl_truststore_certificates: Option<String> = "ssl.truststore.certificates", Password, "", ReadOnly,
        Check::Any,
        "Trusted certificates in PEM, inline (instead of a file).";
    ssl_client_auth: String = "ssl.client.auth", String, "none", ReadOnly,
        Check::OneOf(&["required", "requested", "none"]),
        "Whether SSL clients must (required), may (requested) or do not (none) present a certificate.";
    ssl_enabled_protocols: String = "ssl.enabled.protocols", List, "TLSv1.2,TLSv1.3", ReadOnly,
        Check::ListOf(&["TLSv1.2", "TLSv1.3"]),
        "TLS versions SSL listeners accept.";
    ssl_protocol: String = "ssl.protocol", String, "TLSv1.3", ReadOnly,
        Check::OneOf(&["TLSv1.2", "TLSv1.3", "TLS"]),
        "TLS protocol of the SSL context (accepted; ssl.enabled.protocols decides the versions).";
    ssl_principal_mapping_rules: String = "ssl.principal.mapping.rules", String, "DEFAULT", ReadOnly,
        Check::Custom(super::listeners::check_principal_mapping_rules),
        "Rules mapping a client certificate's subject to a principal name: RULE:pattern/replacement/[LU], DEFAULT.";
    sasl_enabled_mechanisms: String = "sasl.enabled.mechanisms", List, "GSSAPI", ReadOnly, Check::Any,
        "SASL mechanisms SASL listeners offer (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; GSSAPI is refused at start).";
    sasl_server_max_receive_size: usize = "sasl.server.max.receive.size", Int, "524288", ReadOnly,
        POSITIVE,
        "Largest frame accepted before a SASL client has authenticated.";
    connection_failed_authentication_delay_ms: u64 = "connection.failed.authentication.delay.ms", Int,
        "100", ReadOnly, NOT_NEGATIVE,
        "How long the answer to a failed authentication is held before the connection is closed.";
    connections_max_reauth_ms: u64 = "connections.max.reauth.ms", Long, "0", ReadOnly, NOT_NEGATIVE,
        "Longest a SASL authentication holds before the client must re-authenticate on its connection (KIP-368); 0 for no limit.";
    sasl_oauthbearer_jwks_endpoint_url: Option<String> = "sasl.oauthbearer.jwks.endpoint.url", String, "",
        ReadOnly, Check::Any,
        "The JWKS that signed OAUTHBEARER tokens are checked against (a file: URL), with the OAuthBearerValidatorCallbackHandler.";
    sasl_oauthbearer_expected_audience: String = "sasl.oauthbearer.expected.audience", List, "", ReadOnly,
        Check::Any,
        "Audiences a signed OAUTHBEARER token's aud claim must name one of (none: not checked).";
    sasl_oauthbearer_expected_issuer: Option<String> = "sasl.oauthbearer.expected.issuer", String, "",
        ReadOnly, Check::Any,
        "The issuer a signed OAUTHBEARER token's iss claim must equal (unset: not checked).";
    sasl_oauthbearer_sub_claim_name: String = "sasl.oauthbearer.sub.claim.name", String, "sub", ReadOnly,
        Check::Any,
        "The claim of a signed OAUTHBEARER token that names its principal.";
    sasl_oauthbearer_scope_claim_name: String = "sasl.oauthbearer.scope.claim.name", String, "scope",
        ReadOnly, Check::Any,
        "The claim of a signed OAUTHBEARER token that holds its scope.";
    sasl_oauthbearer_clock_skew_seconds: u64 = "sasl.oauthbearer.clock.skew.seconds", Int, "30", ReadOnly,
        NOT_NEGATIVE,
        "Clock skew allowed when checking a signed OAUTHBEARER token's exp and iat.";
    delegation_token_secret_key: Option<String> = "delegation.token.secret.key", Password, "", ReadOnly,
        Check::Any,
        "Secret that signs delegation tokens (HMAC-SHA512); delegation tokens are disabled without it.";
    delegation_token_max_lifetime_ms: u64 = "delegation.token.max.lifetime.ms", Long, "604800000",
        ReadOnly, POSITIVE,
        "The longest a delegation token can live, renewals included.";
    delegation_token_expiry_time_ms: u64 = "delegation.token.expiry.time.ms", Long, "86400000", ReadOnly,
        POSITIVE,
        "How long a new or renewed delegation token lasts before it must be renewed.";
    delegation_token_expiry_check_interval_ms: u64 = "delegation.token.expiry.check.interval.ms", Long,
        "3600000", ReadOnly, POSITIVE,
        "How often expired delegation tokens are removed (Skiff also removes them when tokens are asked for).";
    authorizer_class_name: String = "authorizer.class.name", Class, "", ReadOnly,
        Check::Custom(super::listeners::check_authorizer_class_name),
        "The authorizer: empty for none (every request is allowed), or org.apache.kafka.metadata.authorizer.StandardAuthorizer for Kafka's ACLs (CreateAcls, DescribeAcls, DeleteAcls, enforced on every API).";
    super_users: String = "super.users", String, "", ReadOnly, Check::Any,
        "Principals allowed everything whatever the ACLs say, separated by semicolons (User:admin;User:ops).";
    allow_everyone_if_no_acl_found: bool = "allow.everyone.if.no.acl.found", Boolean, "false",
        ReadOnly, Check::Any,
        "With the StandardAuthorizer: whether a resource that no ACL names is open to everyone.";
}

use super::{FsyncPolicyName, TimestampTypeName};
