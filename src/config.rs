//! Broker configuration: built-in defaults, a TOML file, and `--set name=value` overrides.
//!
//! Options carry Kafka's names (`num.partitions`, `log.segment.bytes`, …). A TOML file may
//! write them as dotted keys (`log.segment.bytes = 1073741824`), quoted keys
//! (`"log.segment.bytes" = …`) or tables (`[log]` then `segment.bytes = …`): every leaf is
//! flattened to its dotted name and applied through [`Config::set`], the same validation path
//! as the command line. Unknown names are errors.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A configuration problem: unreadable file, bad TOML, unknown option or bad value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML.
    #[error("invalid TOML in {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An option name that Skiff does not know.
    #[error("unknown config option `{0}`")]
    UnknownOption(String),
    /// A value that does not parse or is out of range for its option.
    #[error("invalid value `{value}` for `{name}`: {reason}")]
    InvalidValue {
        /// The option.
        name: String,
        /// The value given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A `--set` argument without `=`.
    #[error("expected NAME=VALUE, got `{0}`")]
    MalformedOverride(String),
}

/// When appended data is forced to disk (`log.fsync.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicyName {
    /// fsync before an acks=all produce is answered (group commit).
    Always,
    /// fsync every `log.fsync.interval.ms`.
    Interval,
    /// Leave it to the operating system.
    Never,
}

impl FsyncPolicyName {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "always" => Some(Self::Always),
            "interval" => Some(Self::Interval),
            "never" => Some(Self::Never),
            _ => None,
        }
    }

    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Interval => "interval",
            Self::Never => "never",
        }
    }
}

/// Which timestamp a stored batch carries (`log.message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimestampTypeName {
    /// The producer's timestamps are kept.
    CreateTime,
    /// The broker stamps each batch with its append time.
    LogAppendTime,
}

/// The broker's configuration. Field docs name the option and its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// `listen`: address the broker binds, `HOST:PORT` (port 0 picks a free port).
    /// Default `127.0.0.1:9092`.
    #[serde(rename = "listen")]
    pub listen: String,
    /// `advertised.listener`: `HOST:PORT` given to clients in Metadata. Default: the bound
    /// listen address.
    #[serde(rename = "advertised.listener")]
    pub advertised_listener: Option<String>,
    /// `data.dir`: directory of the partition logs and broker metadata. Default `./data`.
    #[serde(rename = "data.dir")]
    pub data_dir: PathBuf,
    /// `node.id`: this broker's id. Default 1.
    #[serde(rename = "node.id")]
    pub node_id: i32,
    /// `cluster.id`: the cluster id reported in Metadata. Default empty: generated once and
    /// kept in `data.dir`.
    #[serde(rename = "cluster.id")]
    pub cluster_id: String,
    /// `num.partitions`: partitions of an auto-created topic. Default 1 (as Kafka).
    #[serde(rename = "num.partitions")]
    pub num_partitions: i32,
    /// `auto.create.topics.enable`: create unknown topics named in Metadata requests that
    /// allow it. Default true.
    #[serde(rename = "auto.create.topics.enable")]
    pub auto_create_topics_enable: bool,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` when it is created.
    /// Default 50 (as Kafka).
    #[serde(rename = "offsets.topic.num.partitions")]
    pub offsets_topic_num_partitions: i32,
    /// `transaction.state.log.num.partitions`: partitions of `__transaction_state` when it
    /// is created. Default 50 (as Kafka).
    #[serde(rename = "transaction.state.log.num.partitions")]
    pub transaction_state_log_num_partitions: i32,
    /// `log.segment.bytes`: roll a segment at this size. Default 1073741824 (1 GiB).
    #[serde(rename = "log.segment.bytes")]
    pub log_segment_bytes: u64,
    /// `log.roll.ms`: roll a segment at this age. Default 604800000 (7 days).
    #[serde(rename = "log.roll.ms")]
    pub log_roll_ms: u64,
    /// `log.index.interval.bytes`: bytes between sparse index entries. Default 4096.
    #[serde(rename = "log.index.interval.bytes")]
    pub log_index_interval_bytes: usize,
    /// `log.retention.ms`: delete closed segments older than this; -1 keeps forever.
    /// Default 604800000 (7 days).
    #[serde(rename = "log.retention.ms")]
    pub log_retention_ms: i64,
    /// `log.retention.bytes`: per-partition size cap; -1 means none. Default -1.
    #[serde(rename = "log.retention.bytes")]
    pub log_retention_bytes: i64,
    /// `log.retention.check.interval.ms`: how often retention runs. Default 300000 (5 min).
    #[serde(rename = "log.retention.check.interval.ms")]
    pub log_retention_check_interval_ms: u64,
    /// `log.message.timestamp.type`: `CreateTime` or `LogAppendTime`. Default `CreateTime`.
    #[serde(rename = "log.message.timestamp.type")]
    pub log_message_timestamp_type: TimestampTypeName,
    /// `message.max.bytes`: largest record batch accepted. Default 1048588.
    #[serde(rename = "message.max.bytes")]
    pub message_max_bytes: usize,
    /// `socket.request.max.bytes`: largest request frame accepted. Default 104857600.
    #[serde(rename = "socket.request.max.bytes")]
    pub socket_request_max_bytes: usize,
    /// `log.fsync.policy`: `always`, `interval` or `never`. Default `always`: an acks=all
    /// produce is answered only once its records are fsynced (group commit), while acks=1
    /// is answered as soon as they are written.
    #[serde(rename = "log.fsync.policy")]
    pub log_fsync_policy: FsyncPolicyName,
    /// `log.fsync.interval.ms`: fsync period under the `interval` policy. Default 1000.
    #[serde(rename = "log.fsync.interval.ms")]
    pub log_fsync_interval_ms: u64,
    /// `max.connections`: simultaneous client connections; more wait to be accepted.
    /// Default 10000.
    #[serde(rename = "max.connections")]
    pub max_connections: usize,
    /// `log.level`: tracing filter of the binary (e.g. `info`, `skiff=debug`). Default `info`.
    #[serde(rename = "log.level")]
    pub log_level: String,
    /// `log.cleaner.enable`: run the background log cleaner over compacted topics.
    /// Default true.
    #[serde(rename = "log.cleaner.enable")]
    pub log_cleaner_enable: bool,
    /// `log.cleaner.backoff.ms`: pause of the cleaner when no log needs cleaning.
    /// Default 15000.
    #[serde(rename = "log.cleaner.backoff.ms")]
    pub log_cleaner_backoff_ms: u64,
    /// `log.cleaner.dedupe.buffer.size`: memory for the cleaner's key index; beyond it the
    /// index spills to disk. Default 134217728 (128 MiB).
    #[serde(rename = "log.cleaner.dedupe.buffer.size")]
    pub log_cleaner_dedupe_buffer_size: usize,
    /// `group.initial.rebalance.delay.ms`: how long a new classic group waits for more
    /// members before its first rebalance. Default 3000.
    #[serde(rename = "group.initial.rebalance.delay.ms")]
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`: smallest session timeout a classic member may ask
    /// for. Default 6000.
    #[serde(rename = "group.min.session.timeout.ms")]
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`: largest session timeout a classic member may ask
    /// for. Default 1800000.
    #[serde(rename = "group.max.session.timeout.ms")]
    pub group_max_session_timeout_ms: u64,
    /// `group.max.size`: members a group may hold. Default 2147483647.
    #[serde(rename = "group.max.size")]
    pub group_max_size: u32,
    /// `offsets.retention.minutes`: committed offsets of an empty group expire after this.
    /// Default 10080 (7 days).
    #[serde(rename = "offsets.retention.minutes")]
    pub offsets_retention_minutes: u64,
    /// `offsets.retention.check.interval.ms`: how often offset expiry runs. Default 600000.
    #[serde(rename = "offsets.retention.check.interval.ms")]
    pub offsets_retention_check_interval_ms: u64,
    /// `offset.metadata.max.bytes`: longest metadata string of a committed offset.
    /// Default 4096.
    #[serde(rename = "offset.metadata.max.bytes")]
    pub offset_metadata_max_bytes: usize,
    /// `group.consumer.session.timeout.ms`: session timeout of KIP-848 members. Default 45000.
    #[serde(rename = "group.consumer.session.timeout.ms")]
    pub group_consumer_session_timeout_ms: u64,
    /// `group.consumer.heartbeat.interval.ms`: heartbeat interval given to KIP-848 members.
    /// Default 5000.
    #[serde(rename = "group.consumer.heartbeat.interval.ms")]
    pub group_consumer_heartbeat_interval_ms: u64,
    /// `group.consumer.assignors`: KIP-848 server assignors, comma separated (`uniform`,
    /// `range`); the first is used when a member asks for none. Default `uniform,range`.
    #[serde(rename = "group.consumer.assignors")]
    pub group_consumer_assignors: String,
    /// `transaction.max.timeout.ms`: the largest transaction timeout a producer may ask for
    /// (larger ones get INVALID_TRANSACTION_TIMEOUT). Default 900000 (15 min).
    #[serde(rename = "transaction.max.timeout.ms")]
    pub transaction_max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: an idle transactional id is forgotten after this.
    /// Default 604800000 (7 days).
    #[serde(rename = "transactional.id.expiration.ms")]
    pub transactional_id_expiration_ms: i64,
    /// `producer.id.expiration.ms`: a producer's state in a partition is dropped after this
    /// long without writes. Default 86400000 (1 day).
    #[serde(rename = "producer.id.expiration.ms")]
    pub producer_id_expiration_ms: i64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out
    /// transactions are looked for and aborted. Default 10000.
    #[serde(rename = "transaction.abort.timed.out.transaction.cleanup.interval.ms")]
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired
    /// transactional ids are removed. Default 3600000 (1 hour).
    #[serde(rename = "transaction.remove.expired.transaction.cleanup.interval.ms")]
    pub transaction_remove_expired_transaction_cleanup_interval_ms: u64,
    /// `producer.id.expiration.check.interval.ms`: how often idle producers are looked for
    /// in the partition logs. Default 600000 (10 min).
    #[serde(rename = "producer.id.expiration.check.interval.ms")]
    pub producer_id_expiration_check_interval_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:9092".into(),
            advertised_listener: None,
            data_dir: PathBuf::from("./data"),
            node_id: 1,
            cluster_id: String::new(),
            num_partitions: 1,
            auto_create_topics_enable: true,
            offsets_topic_num_partitions: 50,
            transaction_state_log_num_partitions: 50,
            log_segment_bytes: 1 << 30,
            log_roll_ms: 7 * 24 * 60 * 60 * 1000,
            log_index_interval_bytes: 4096,
            log_retention_ms: 7 * 24 * 60 * 60 * 1000,
            log_retention_bytes: -1,
            log_retention_check_interval_ms: 300_000,
            log_message_timestamp_type: TimestampTypeName::CreateTime,
            message_max_bytes: 1_048_588,
            socket_request_max_bytes: 104_857_600,
            log_fsync_policy: FsyncPolicyName::Always,
            log_fsync_interval_ms: 1000,
            max_connections: 10_000,
            log_level: "info".into(),
            log_cleaner_enable: true,
            log_cleaner_backoff_ms: 15_000,
            log_cleaner_dedupe_buffer_size: 128 * 1024 * 1024,
            group_initial_rebalance_delay_ms: 3000,
            group_min_session_timeout_ms: 6000,
            group_max_session_timeout_ms: 1_800_000,
            group_max_size: i32::MAX as u32,
            offsets_retention_minutes: 7 * 24 * 60,
            offsets_retention_check_interval_ms: 600_000,
            offset_metadata_max_bytes: 4096,
            group_consumer_session_timeout_ms: 45_000,
            group_consumer_heartbeat_interval_ms: 5000,
            group_consumer_assignors: "uniform,range".into(),
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            producer_id_expiration_ms: 86_400_000,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            transaction_remove_expired_transaction_cleanup_interval_ms: 3_600_000,
            producer_id_expiration_check_interval_ms: 600_000,
        }
    }
}

/// Every option name, in the order `config/skiff.toml` documents them.
pub const OPTION_NAMES: &[&str] = &[
    "listen",
    "advertised.listener",
    "data.dir",
    "node.id",
    "cluster.id",
    "num.partitions",
    "auto.create.topics.enable",
    "offsets.topic.num.partitions",
    "transaction.state.log.num.partitions",
    "log.segment.bytes",
    "log.roll.ms",
    "log.index.interval.bytes",
    "log.retention.ms",
    "log.retention.bytes",
    "log.retention.check.interval.ms",
    "log.message.timestamp.type",
    "message.max.bytes",
    "socket.request.max.bytes",
    "log.fsync.policy",
    "log.fsync.interval.ms",
    "max.connections",
    "log.level",
    "log.cleaner.enable",
    "log.cleaner.backoff.ms",
    "log.cleaner.dedupe.buffer.size",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "group.max.size",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "offset.metadata.max.bytes",
    "group.consumer.session.timeout.ms",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.assignors",
    "transaction.max.timeout.ms",
    "transactional.id.expiration.ms",
    "producer.id.expiration.ms",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
    "producer.id.expiration.check.interval.ms",
];

fn invalid(name: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        name: name.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse::<T>()
        .map_err(|e| invalid(name, value, e.to_string()))
}

fn parse_positive<T>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Default,
    T::Err: std::fmt::Display,
{
    let v: T = parse_num(name, value)?;
    if v <= T::default() {
        return Err(invalid(name, value, "must be greater than 0"));
    }
    Ok(v)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, value, "expected true or false")),
    }
}

fn parse_retention(name: &str, value: &str) -> Result<i64, ConfigError> {
    let v: i64 = parse_num(name, value)?;
    if v < -1 {
        return Err(invalid(name, value, "must be -1 (unlimited) or >= 0"));
    }
    Ok(v)
}

fn parse_host_port(name: &str, value: &str) -> Result<String, ConfigError> {
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| invalid(name, value, "expected HOST:PORT"))?;
    if host.is_empty() {
        return Err(invalid(name, value, "empty host"));
    }
    port.parse::<u16>()
        .map_err(|e| invalid(name, value, format!("bad port: {e}")))?;
    Ok(value.to_string())
}

impl Config {
    /// Sets one option by its Kafka-style name from its textual value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "listen" => self.listen = parse_host_port(name, value)?,
            "advertised.listener" => {
                self.advertised_listener = if value.is_empty() {
                    None
                } else {
                    Some(parse_host_port(name, value)?)
                }
            }
            "data.dir" => {
                if value.is_empty() {
                    return Err(invalid(name, value, "must not be empty"));
                }
                self.data_dir = PathBuf::from(value)
            }
            "node.id" => {
                let v: i32 = parse_num(name, value)?;
                if v < 0 {
                    return Err(invalid(name, value, "must be >= 0"));
                }
                self.node_id = v
            }
            "cluster.id" => self.cluster_id = value.to_string(),
            "num.partitions" => self.num_partitions = parse_positive(name, value)?,
            "auto.create.topics.enable" => {
                self.auto_create_topics_enable = parse_bool(name, value)?
            }
            "offsets.topic.num.partitions" => {
                self.offsets_topic_num_partitions = parse_positive(name, value)?
            }
            "transaction.state.log.num.partitions" => {
                self.transaction_state_log_num_partitions = parse_positive(name, value)?
            }
            "log.segment.bytes" => {
                let v: u64 = parse_positive(name, value)?;
                if v < 14 {
                    return Err(invalid(name, value, "must be at least 14"));
                }
                self.log_segment_bytes = v
            }
            "log.roll.ms" => self.log_roll_ms = parse_positive(name, value)?,
            "log.index.interval.bytes" => self.log_index_interval_bytes = parse_num(name, value)?,
            "log.retention.ms" => self.log_retention_ms = parse_retention(name, value)?,
            "log.retention.bytes" => self.log_retention_bytes = parse_retention(name, value)?,
            "log.retention.check.interval.ms" => {
                self.log_retention_check_interval_ms = parse_positive(name, value)?
            }
            "log.message.timestamp.type" => {
                self.log_message_timestamp_type = match value.trim() {
                    "CreateTime" => TimestampTypeName::CreateTime,
                    "LogAppendTime" => TimestampTypeName::LogAppendTime,
                    _ => return Err(invalid(name, value, "expected CreateTime or LogAppendTime")),
                }
            }
            "message.max.bytes" => self.message_max_bytes = parse_positive(name, value)?,
            "socket.request.max.bytes" => {
                let v: usize = parse_positive(name, value)?;
                if v > i32::MAX as usize {
                    return Err(invalid(name, value, "must fit in a signed 32-bit size"));
                }
                self.socket_request_max_bytes = v
            }
            "log.fsync.policy" => {
                self.log_fsync_policy = FsyncPolicyName::parse(value.trim())
                    .ok_or_else(|| invalid(name, value, "expected always, interval or never"))?
            }
            "log.fsync.interval.ms" => self.log_fsync_interval_ms = parse_positive(name, value)?,
            "max.connections" => {
                let v: usize = parse_positive(name, value)?;
                if v > u32::MAX as usize {
                    return Err(invalid(name, value, "must be at most 4294967295"));
                }
                self.max_connections = v
            }
            "log.level" => self.log_level = value.to_string(),
            "log.cleaner.enable" => self.log_cleaner_enable = parse_bool(name, value)?,
            "log.cleaner.backoff.ms" => self.log_cleaner_backoff_ms = parse_positive(name, value)?,
            "log.cleaner.dedupe.buffer.size" => {
                self.log_cleaner_dedupe_buffer_size = parse_positive(name, value)?
            }
            "group.initial.rebalance.delay.ms" => {
                self.group_initial_rebalance_delay_ms = parse_num(name, value)?
            }
            "group.min.session.timeout.ms" => {
                self.group_min_session_timeout_ms = parse_positive(name, value)?
            }
            "group.max.session.timeout.ms" => {
                self.group_max_session_timeout_ms = parse_positive(name, value)?
            }
            "group.max.size" => {
                let v: u32 = parse_positive(name, value)?;
                if v > i32::MAX as u32 {
                    return Err(invalid(name, value, "must be at most 2147483647"));
                }
                self.group_max_size = v
            }
            "offsets.retention.minutes" => {
                self.offsets_retention_minutes = parse_positive(name, value)?
            }
            "offsets.retention.check.interval.ms" => {
                self.offsets_retention_check_interval_ms = parse_positive(name, value)?
            }
            "offset.metadata.max.bytes" => self.offset_metadata_max_bytes = parse_num(name, value)?,
            "group.consumer.session.timeout.ms" => {
                self.group_consumer_session_timeout_ms = parse_positive(name, value)?
            }
            "group.consumer.heartbeat.interval.ms" => {
                self.group_consumer_heartbeat_interval_ms = parse_positive(name, value)?
            }
            "group.consumer.assignors" => {
                let names: Vec<&str> = value.split(',').map(str::trim).collect();
                if names
                    .iter()
                    .any(|n| crate::broker::group::Assignor::from_name(n).is_none())
                {
                    return Err(invalid(name, value, "expected a list of uniform, range"));
                }
                self.group_consumer_assignors = names.join(",")
            }
            "transaction.max.timeout.ms" => {
                self.transaction_max_timeout_ms = parse_positive(name, value)?
            }
            "transactional.id.expiration.ms" => {
                let v: i64 = parse_positive(name, value)?;
                if v > i64::from(i32::MAX) {
                    return Err(invalid(name, value, "must be at most 2147483647"));
                }
                self.transactional_id_expiration_ms = v
            }
            "producer.id.expiration.ms" => {
                let v: i64 = parse_positive(name, value)?;
                if v > i64::from(i32::MAX) {
                    return Err(invalid(name, value, "must be at most 2147483647"));
                }
                self.producer_id_expiration_ms = v
            }
            "transaction.abort.timed.out.transaction.cleanup.interval.ms" => {
                self.transaction_abort_timed_out_transaction_cleanup_interval_ms =
                    parse_positive(name, value)?
            }
            "transaction.remove.expired.transaction.cleanup.interval.ms" => {
                self.transaction_remove_expired_transaction_cleanup_interval_ms =
                    parse_positive(name, value)?
            }
            "producer.id.expiration.check.interval.ms" => {
                self.producer_id_expiration_check_interval_ms = parse_positive(name, value)?
            }
            _ => return Err(ConfigError::UnknownOption(name.to_string())),
        }
        Ok(())
    }

    /// Applies a `NAME=VALUE` override.
    pub fn apply_override(&mut self, arg: &str) -> Result<(), ConfigError> {
        let (name, value) = arg
            .split_once('=')
            .ok_or_else(|| ConfigError::MalformedOverride(arg.to_string()))?;
        self.set(name.trim(), value)
    }

    /// Applies every option of a TOML document on top of `self`.
    pub fn apply_toml(&mut self, text: &str, origin: &Path) -> Result<(), ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Toml {
                path: origin.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut leaves = Vec::new();
        flatten("", &table, &mut leaves);
        for (name, value) in leaves {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => {
                    return Err(invalid(
                        &name,
                        &other.to_string(),
                        "unsupported TOML value type",
                    ))
                }
            };
            self.set(&name, &text)?;
        }
        Ok(())
    }

    /// Built-in defaults overlaid with the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::default();
        config.apply_toml(&text, path)?;
        Ok(config)
    }

    /// The value of an option as text (the inverse of [`Config::set`]).
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "listen" => self.listen.clone(),
            "advertised.listener" => self.advertised_listener.clone().unwrap_or_default(),
            "data.dir" => self.data_dir.display().to_string(),
            "node.id" => self.node_id.to_string(),
            "cluster.id" => self.cluster_id.clone(),
            "num.partitions" => self.num_partitions.to_string(),
            "auto.create.topics.enable" => self.auto_create_topics_enable.to_string(),
            "offsets.topic.num.partitions" => self.offsets_topic_num_partitions.to_string(),
            "transaction.state.log.num.partitions" => {
                self.transaction_state_log_num_partitions.to_string()
            }
            "log.segment.bytes" => self.log_segment_bytes.to_string(),
            "log.roll.ms" => self.log_roll_ms.to_string(),
            "log.index.interval.bytes" => self.log_index_interval_bytes.to_string(),
            "log.retention.ms" => self.log_retention_ms.to_string(),
            "log.retention.bytes" => self.log_retention_bytes.to_string(),
            "log.retention.check.interval.ms" => self.log_retention_check_interval_ms.to_string(),
            "log.message.timestamp.type" => match self.log_message_timestamp_type {
                TimestampTypeName::CreateTime => "CreateTime".into(),
                TimestampTypeName::LogAppendTime => "LogAppendTime".into(),
            },
            "message.max.bytes" => self.message_max_bytes.to_string(),
            "socket.request.max.bytes" => self.socket_request_max_bytes.to_string(),
            "log.fsync.policy" => self.log_fsync_policy.as_str().into(),
            "log.fsync.interval.ms" => self.log_fsync_interval_ms.to_string(),
            "max.connections" => self.max_connections.to_string(),
            "log.level" => self.log_level.clone(),
            "log.cleaner.enable" => self.log_cleaner_enable.to_string(),
            "log.cleaner.backoff.ms" => self.log_cleaner_backoff_ms.to_string(),
            "log.cleaner.dedupe.buffer.size" => self.log_cleaner_dedupe_buffer_size.to_string(),
            "group.initial.rebalance.delay.ms" => self.group_initial_rebalance_delay_ms.to_string(),
            "group.min.session.timeout.ms" => self.group_min_session_timeout_ms.to_string(),
            "group.max.session.timeout.ms" => self.group_max_session_timeout_ms.to_string(),
            "group.max.size" => self.group_max_size.to_string(),
            "offsets.retention.minutes" => self.offsets_retention_minutes.to_string(),
            "offsets.retention.check.interval.ms" => {
                self.offsets_retention_check_interval_ms.to_string()
            }
            "offset.metadata.max.bytes" => self.offset_metadata_max_bytes.to_string(),
            "group.consumer.session.timeout.ms" => {
                self.group_consumer_session_timeout_ms.to_string()
            }
            "group.consumer.heartbeat.interval.ms" => {
                self.group_consumer_heartbeat_interval_ms.to_string()
            }
            "group.consumer.assignors" => self.group_consumer_assignors.clone(),
            "transaction.max.timeout.ms" => self.transaction_max_timeout_ms.to_string(),
            "transactional.id.expiration.ms" => self.transactional_id_expiration_ms.to_string(),
            "producer.id.expiration.ms" => self.producer_id_expiration_ms.to_string(),
            "transaction.abort.timed.out.transaction.cleanup.interval.ms" => self
                .transaction_abort_timed_out_transaction_cleanup_interval_ms
                .to_string(),
            "transaction.remove.expired.transaction.cleanup.interval.ms" => self
                .transaction_remove_expired_transaction_cleanup_interval_ms
                .to_string(),
            "producer.id.expiration.check.interval.ms" => {
                self.producer_id_expiration_check_interval_ms.to_string()
            }
            _ => return None,
        })
    }
}

/// The group coordinator's settings from the broker configuration.
impl Config {
    /// The [`GroupConfig`](crate::broker::group::GroupConfig) these options describe.
    pub fn group_config(&self) -> crate::broker::group::GroupConfig {
        use crate::broker::group::{Assignor, GroupConfig};
        use std::time::Duration;
        let assignor = self
            .group_consumer_assignors
            .split(',')
            .find_map(|n| Assignor::from_name(n.trim()))
            .unwrap_or_default();
        GroupConfig {
            initial_rebalance_delay: Duration::from_millis(self.group_initial_rebalance_delay_ms),
            min_session_timeout: Duration::from_millis(self.group_min_session_timeout_ms),
            max_session_timeout: Duration::from_millis(self.group_max_session_timeout_ms),
            max_size: self.group_max_size as usize,
            offset_metadata_max_bytes: self.offset_metadata_max_bytes,
            offsets_retention: Duration::from_secs(
                self.offsets_retention_minutes.saturating_mul(60),
            ),
            offsets_retention_check_interval: Duration::from_millis(
                self.offsets_retention_check_interval_ms,
            ),
            consumer_session_timeout: Duration::from_millis(self.group_consumer_session_timeout_ms),
            consumer_heartbeat_interval: Duration::from_millis(
                self.group_consumer_heartbeat_interval_ms,
            ),
            consumer_default_assignor: assignor,
        }
    }
}

impl Config {
    /// The transaction coordinator's settings from the `transaction*` options.
    pub fn txn_config(&self) -> crate::broker::txn::TxnConfig {
        crate::broker::txn::TxnConfig {
            transaction_max_timeout_ms: self.transaction_max_timeout_ms,
            transactional_id_expiration_ms: self.transactional_id_expiration_ms,
            abort_timed_out_interval: std::time::Duration::from_millis(
                self.transaction_abort_timed_out_transaction_cleanup_interval_ms,
            ),
            remove_expired_interval: std::time::Duration::from_millis(
                self.transaction_remove_expired_transaction_cleanup_interval_ms,
            ),
            ..crate::broker::txn::TxnConfig::default()
        }
    }
}

fn flatten<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&name, inner, out),
            leaf => out.push((name, leaf)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_kafka() {
        let c = Config::default();
        assert_eq!(c.num_partitions, 1);
        assert_eq!(c.message_max_bytes, 1_048_588);
        assert_eq!(c.socket_request_max_bytes, 104_857_600);
        assert_eq!(c.node_id, 1);
        assert!(c.auto_create_topics_enable);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn toml_accepts_dotted_quoted_and_table_keys() {
        let mut c = Config::default();
        c.apply_toml(
            "num.partitions = 4\n\"log.segment.bytes\" = 1024\nlisten = \"0.0.0.0:9999\"\n\
             [log.fsync]\npolicy = \"never\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.num_partitions, 4);
        assert_eq!(c.log_segment_bytes, 1024);
        assert_eq!(c.listen, "0.0.0.0:9999");
        assert_eq!(c.log_fsync_policy, FsyncPolicyName::Never);
    }

    #[test]
    fn unknown_option_is_an_error() {
        let mut c = Config::default();
        assert!(matches!(
            c.apply_override("num.partition=3"),
            Err(ConfigError::UnknownOption(n)) if n == "num.partition"
        ));
        assert!(matches!(
            c.apply_toml("bogus = 1", Path::new("x")),
            Err(ConfigError::UnknownOption(_))
        ));
    }

    #[test]
    fn bad_values_are_rejected() {
        let mut c = Config::default();
        assert!(c.apply_override("num.partitions=0").is_err());
        assert!(c.apply_override("num.partitions=abc").is_err());
        assert!(c.apply_override("log.fsync.policy=sometimes").is_err());
        assert!(c.apply_override("listen=nohost").is_err());
        assert!(c.apply_override("auto.create.topics.enable=yes").is_err());
        assert!(c.apply_override("log.retention.ms=-2").is_err());
        assert!(c.apply_override("max.connections=4294967296").is_err());
        assert!(c.apply_override("no-equals-sign").is_err());
        assert_eq!(c, Config::default());
    }

    #[test]
    fn overrides_apply_in_order() {
        let mut c = Config::default();
        c.apply_override("log.fsync.policy=interval").unwrap();
        c.apply_override("log.fsync.policy=always").unwrap();
        c.apply_override("advertised.listener=example.com:19092")
            .unwrap();
        assert_eq!(c.log_fsync_policy, FsyncPolicyName::Always);
        assert_eq!(c.advertised_listener.as_deref(), Some("example.com:19092"));
    }

    #[test]
    fn every_option_round_trips_through_get_and_set() {
        let defaults = Config::default();
        let mut c = Config::default();
        for name in OPTION_NAMES {
            let v = defaults.get(name).unwrap();
            if name == &"advertised.listener" || name == &"cluster.id" {
                continue;
            }
            c.set(name, &v).unwrap();
        }
        assert_eq!(c, defaults);
    }

    #[test]
    fn group_options_reach_the_group_config() {
        use crate::broker::group::{Assignor, GroupConfig};
        use std::time::Duration;
        // Kafka's group.max.size default is Int.MaxValue; the coordinator's is unbounded.
        let defaults = GroupConfig {
            max_size: i32::MAX as usize,
            ..GroupConfig::default()
        };
        assert_eq!(Config::default().group_config(), defaults);
        let mut c = Config::default();
        c.apply_override("group.initial.rebalance.delay.ms=0")
            .unwrap();
        c.apply_override("offsets.retention.minutes=2").unwrap();
        c.apply_override("group.max.size=3").unwrap();
        c.apply_override("group.consumer.assignors=range,uniform")
            .unwrap();
        let g = c.group_config();
        assert_eq!(g.initial_rebalance_delay, Duration::ZERO);
        assert_eq!(g.offsets_retention, Duration::from_secs(120));
        assert_eq!(g.max_size, 3);
        assert_eq!(g.consumer_default_assignor, Assignor::Range);
        assert!(c.apply_override("group.consumer.assignors=sticky").is_err());
        assert!(c.apply_override("group.max.size=0").is_err());
    }

    #[test]
    fn shipped_skiff_toml_equals_builtin_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/skiff.toml");
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c, Config::default());
        let text = std::fs::read_to_string(&path).unwrap();
        for name in OPTION_NAMES {
            assert!(
                text.contains(name),
                "config/skiff.toml does not document {name}"
            );
        }
    }

    #[test]
    fn transaction_options_reach_the_coordinator_config() {
        let mut c = Config::default();
        assert_eq!(c.txn_config(), crate::broker::txn::TxnConfig::default());
        c.set("transaction.max.timeout.ms", "60000").unwrap();
        c.set("transactional.id.expiration.ms", "5000").unwrap();
        c.set(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            "250",
        )
        .unwrap();
        c.set(
            "transaction.remove.expired.transaction.cleanup.interval.ms",
            "750",
        )
        .unwrap();
        let t = c.txn_config();
        assert_eq!(t.transaction_max_timeout_ms, 60_000);
        assert_eq!(t.transactional_id_expiration_ms, 5000);
        assert_eq!(
            t.abort_timed_out_interval,
            std::time::Duration::from_millis(250)
        );
        assert_eq!(
            t.remove_expired_interval,
            std::time::Duration::from_millis(750)
        );
        assert!(c.set("transaction.max.timeout.ms", "0").is_err());
        assert!(c.set("producer.id.expiration.ms", "-1").is_err());
        assert!(c
            .set("transactional.id.expiration.ms", "4294967296")
            .is_err());
    }
}
