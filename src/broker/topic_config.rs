//! Topic-level configuration: the configs a topic may override (Kafka's names), their
//! validation, their broker-level defaults, and the effective settings of a topic's logs.
//!
//! A topic stores only its overrides. Every other config takes the broker's value: the
//! broker option that is its synonym (`retention.ms` ← `log.retention.ms`) when Skiff has
//! that option, else Kafka's default.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Config;
use crate::storage::{CleanupPolicy, Compression, LogConfig, TimestampType};

/// Kafka's config value types (DescribeConfigs `config_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    /// true/false.
    Boolean = 1,
    /// Free text.
    String = 2,
    /// 32-bit integer.
    Int = 3,
    /// 64-bit integer.
    Long = 5,
    /// Floating point.
    Double = 6,
    /// Comma-separated list.
    List = 7,
}

/// One topic config Skiff knows.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigDef {
    /// The topic config's name.
    pub name: &'static str,
    /// The broker option that supplies its default.
    pub broker_synonym: &'static str,
    /// The value type.
    pub kind: ConfigType,
    /// Kafka's default, used when Skiff has no broker option of that name.
    pub default: &'static str,
    /// What the config does.
    pub doc: &'static str,
}

const fn def(
    name: &'static str,
    broker_synonym: &'static str,
    kind: ConfigType,
    default: &'static str,
    doc: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        broker_synonym,
        kind,
        default,
        doc,
    }
}

/// Every topic config Kafka 4 has, sorted by name (DescribeConfigs lists them all). Those
/// that have no meaning on a single broker without tiered storage are accepted and
/// described; their docs say so.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        "log.cleanup.policy",
        ConfigType::List,
        "delete",
        "What happens to old data: `delete` (retention), `compact` (latest value per key) or both.",
    ),
    def(
        "compression.gzip.level",
        "compression.gzip.level",
        ConfigType::Int,
        "-1",
        "gzip level when the broker compresses (compression.type=gzip): -1 (the codec's default) or 1-9.",
    ),
    def(
        "compression.lz4.level",
        "compression.lz4.level",
        ConfigType::Int,
        "9",
        "lz4 level when the broker compresses (compression.type=lz4): 1-17 (accepted; Skiff's lz4 has one level).",
    ),
    def(
        "compression.type",
        "compression.type",
        ConfigType::String,
        "producer",
        "Codec batches are stored with: producer (as sent), uncompressed, gzip, snappy, lz4 or zstd.",
    ),
    def(
        "compression.zstd.level",
        "compression.zstd.level",
        ConfigType::Int,
        "3",
        "zstd level when the broker compresses (compression.type=zstd): -131072 to 22.",
    ),
    def(
        "delete.retention.ms",
        "log.cleaner.delete.retention.ms",
        ConfigType::Long,
        "86400000",
        "How long tombstones stay in a compacted log after it was cleaned.",
    ),
    def(
        "file.delete.delay.ms",
        "log.segment.delete.delay.ms",
        ConfigType::Long,
        "60000",
        "Delay before a deleted segment's files are removed (accepted; Skiff removes them at once).",
    ),
    def(
        "flush.messages",
        "log.flush.interval.messages",
        ConfigType::Long,
        "9223372036854775807",
        "Records between forced flushes (accepted; Skiff's log.fsync.policy governs syncing).",
    ),
    def(
        "flush.ms",
        "log.flush.interval.ms",
        ConfigType::Long,
        "9223372036854775807",
        "Time between forced flushes (accepted; Skiff's log.fsync.policy governs syncing).",
    ),
    def(
        "follower.replication.throttled.replicas",
        "follower.replication.throttled.replicas",
        ConfigType::List,
        "",
        "Replicas throttled as followers (accepted; one broker has no followers).",
    ),
    def(
        "index.interval.bytes",
        "log.index.interval.bytes",
        ConfigType::Int,
        "4096",
        "Bytes between two entries of the sparse offset index.",
    ),
    def(
        "leader.replication.throttled.replicas",
        "leader.replication.throttled.replicas",
        ConfigType::List,
        "",
        "Replicas throttled as leaders (accepted; one broker has no followers).",
    ),
    def(
        "local.retention.bytes",
        "log.local.retention.bytes",
        ConfigType::Long,
        "-2",
        "Tiered storage: local retention size (-2: as retention.bytes). Skiff has no tiered storage.",
    ),
    def(
        "local.retention.ms",
        "log.local.retention.ms",
        ConfigType::Long,
        "-2",
        "Tiered storage: local retention time (-2: as retention.ms). Skiff has no tiered storage.",
    ),
    def(
        "max.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms",
        ConfigType::Long,
        "9223372036854775807",
        "Longest time a record stays uncompacted in a compacted log.",
    ),
    def(
        "max.message.bytes",
        "message.max.bytes",
        ConfigType::Int,
        "1048588",
        "Largest record batch accepted.",
    ),
    def(
        "message.timestamp.after.max.ms",
        "log.message.timestamp.after.max.ms",
        ConfigType::Long,
        "3600000",
        "How far in the future a CreateTime timestamp may be.",
    ),
    def(
        "message.timestamp.before.max.ms",
        "log.message.timestamp.before.max.ms",
        ConfigType::Long,
        "9223372036854775807",
        "How far in the past a CreateTime timestamp may be.",
    ),
    def(
        "message.timestamp.type",
        "log.message.timestamp.type",
        ConfigType::String,
        "CreateTime",
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches on append.",
    ),
    def(
        "min.cleanable.dirty.ratio",
        "log.cleaner.min.cleanable.ratio",
        ConfigType::Double,
        "0.5",
        "Share of a compacted log that must be uncleaned before the cleaner takes it.",
    ),
    def(
        "min.compaction.lag.ms",
        "log.cleaner.min.compaction.lag.ms",
        ConfigType::Long,
        "0",
        "Shortest time a record stays uncompacted.",
    ),
    def(
        "min.insync.replicas",
        "min.insync.replicas",
        ConfigType::Int,
        "1",
        "Replicas that must hold a record before acks=all succeeds; above 1 acks=all produces fail with NOT_ENOUGH_REPLICAS on one broker.",
    ),
    def(
        "preallocate",
        "log.preallocate",
        ConfigType::Boolean,
        "false",
        "Preallocate segment files (accepted; no effect).",
    ),
    def(
        "remote.log.copy.disable",
        "remote.log.copy.disable",
        ConfigType::Boolean,
        "false",
        "Tiered storage: stop copying segments to remote storage. Skiff has no tiered storage.",
    ),
    def(
        "remote.log.delete.on.disable",
        "remote.log.delete.on.disable",
        ConfigType::Boolean,
        "false",
        "Tiered storage: delete remote data when it is disabled. Skiff has no tiered storage.",
    ),
    def(
        "remote.storage.enable",
        "remote.storage.enable",
        ConfigType::Boolean,
        "false",
        "Tiered storage (KIP-405); only false is accepted: Skiff has no tiered storage.",
    ),
    def(
        "retention.bytes",
        "log.retention.bytes",
        ConfigType::Long,
        "-1",
        "Largest size of a partition before old segments are deleted (-1: no limit).",
    ),
    def(
        "retention.ms",
        "log.retention.ms",
        ConfigType::Long,
        "604800000",
        "How long segments are kept before deletion (-1: forever).",
    ),
    def(
        "segment.bytes",
        "log.segment.bytes",
        ConfigType::Int,
        "1073741824",
        "Size at which a segment is rolled.",
    ),
    def(
        "segment.index.bytes",
        "log.index.size.max.bytes",
        ConfigType::Int,
        "10485760",
        "Largest offset index of a segment (accepted; Skiff's indexes grow as needed).",
    ),
    def(
        "segment.jitter.ms",
        "log.roll.jitter.ms",
        ConfigType::Long,
        "0",
        "Random jitter subtracted from segment.ms (accepted; Skiff rolls at segment.ms).",
    ),
    def(
        "segment.ms",
        "log.roll.ms",
        ConfigType::Long,
        "604800000",
        "Age at which a segment is rolled.",
    ),
    def(
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        "false",
        "Elect an out-of-sync replica as leader (accepted; one broker is always in sync).",
    ),
];

/// Kafka's internal topic config for tests: a segment size below `segment.bytes`'
/// 1 MiB minimum. Accepted on a topic, never described (as Kafka).
pub const INTERNAL_SEGMENT_BYTES: &str = "internal.segment.bytes";

const INTERNAL_SEGMENT_BYTES_DEF: TopicConfigDef = def(
    INTERNAL_SEGMENT_BYTES,
    "internal.segment.bytes",
    ConfigType::Int,
    "",
    "Segment size for tests, below segment.bytes' minimum (internal, not described).",
);

/// The definition of topic config `name`, if Skiff knows it.
pub fn definition(name: &str) -> Option<&'static TopicConfigDef> {
    if name == INTERNAL_SEGMENT_BYTES {
        return Some(&INTERNAL_SEGMENT_BYTES_DEF);
    }
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Smallest `segment.bytes` Kafka 4 accepts on a topic.
pub const MIN_SEGMENT_BYTES: i64 = 1024 * 1024;

fn int_between(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let v = int_at_least(value, min)?;
    if v > max {
        return Err(format!("{v} is above the maximum {max}"));
    }
    Ok(v)
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{value}` is not true or false")),
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

fn long_at_least(value: &str, min: i64) -> Result<i64, String> {
    let v: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not an integer"))?;
    if v < min {
        return Err(format!("{v} is below the minimum {min}"));
    }
    Ok(v)
}

fn int_at_least(value: &str, min: i64) -> Result<i64, String> {
    let v = long_at_least(value, min)?;
    if v > i64::from(i32::MAX) {
        return Err(format!("{v} does not fit in a 32-bit integer"));
    }
    Ok(v)
}

/// Parses `compression.type`: `None` means keep the producer's codec.
pub fn parse_compression(value: &str) -> Result<Option<Compression>, String> {
    Ok(Some(match value.trim() {
        "producer" => return Ok(None),
        "uncompressed" => Compression::None,
        "gzip" => Compression::Gzip,
        "snappy" => Compression::Snappy,
        "lz4" => Compression::Lz4,
        "zstd" => Compression::Zstd,
        other => return Err(format!("unknown compression type `{other}`")),
    }))
}

/// Checks a value for topic config `name`: `Err` says why it is refused (an unknown name
/// included).
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    match name {
        "cleanup.policy" => CleanupPolicy::parse(value)
            .map(drop)
            .ok_or_else(|| format!("`{value}` is not delete, compact or compact,delete")),
        "compression.type" => parse_compression(value).map(drop),
        "delete.retention.ms"
        | "min.compaction.lag.ms"
        | "message.timestamp.after.max.ms"
        | "message.timestamp.before.max.ms" => long_at_least(value, 0).map(drop),
        "max.compaction.lag.ms" | "segment.ms" => long_at_least(value, 1).map(drop),
        "retention.ms" | "retention.bytes" => long_at_least(value, -1).map(drop),
        "index.interval.bytes" | "max.message.bytes" => int_at_least(value, 0).map(drop),
        "segment.bytes" => int_at_least(value, MIN_SEGMENT_BYTES).map(drop),
        INTERNAL_SEGMENT_BYTES => int_at_least(value, 14).map(drop),
        "compression.gzip.level" => match int_between(value, -1, 9)? {
            0 => Err("0 is not a gzip level (-1 or 1-9)".into()),
            _ => Ok(()),
        },
        "compression.lz4.level" => int_between(value, 1, 17).map(drop),
        "compression.zstd.level" => int_between(value, -131_072, 22).map(drop),
        "file.delete.delay.ms" | "flush.ms" | "segment.jitter.ms" => {
            long_at_least(value, 0).map(drop)
        }
        "flush.messages" => long_at_least(value, 1).map(drop),
        "local.retention.ms" | "local.retention.bytes" => long_at_least(value, -2).map(drop),
        "min.insync.replicas" => int_at_least(value, 1).map(drop),
        "segment.index.bytes" => int_at_least(value, 4).map(drop),
        "preallocate"
        | "unclean.leader.election.enable"
        | "remote.log.copy.disable"
        | "remote.log.delete.on.disable" => boolean(value).map(drop),
        "remote.storage.enable" => match boolean(value)? {
            false => Ok(()),
            true => Err("tiered storage is not available on this broker".into()),
        },
        "leader.replication.throttled.replicas" | "follower.replication.throttled.replicas" => {
            throttled_replicas(value)
        }
        "message.timestamp.type" => match value.trim() {
            "CreateTime" | "LogAppendTime" => Ok(()),
            _ => Err(format!("`{value}` is not CreateTime or LogAppendTime")),
        },
        "min.cleanable.dirty.ratio" => {
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("`{value}` is not a number"))?;
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{v} is not between 0 and 1"))
            }
        }
        _ => Err(format!("unknown topic config `{name}`")),
    }
}

/// Where a config's value comes from (DescribeConfigs `config_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// Set on the topic.
    DynamicTopic = 1,
    /// Set in the broker's configuration file or command line.
    StaticBroker = 4,
    /// The built-in default.
    Default = 5,
}

/// The broker-level value of topic config `d` and where it comes from.
pub fn broker_value(config: &Config, d: &TopicConfigDef) -> (String, ConfigSource) {
    match config.get(d.broker_synonym) {
        Some(v) => {
            let default = Config::default().get(d.broker_synonym);
            let source = if default.as_deref() == Some(v.as_str()) {
                ConfigSource::Default
            } else {
                ConfigSource::StaticBroker
            };
            (v, source)
        }
        None => (d.default.to_string(), ConfigSource::Default),
    }
}

/// The value of topic config `d` for a topic with `overrides`, and its source.
pub fn effective_value(
    config: &Config,
    overrides: &BTreeMap<String, String>,
    d: &TopicConfigDef,
) -> (String, ConfigSource) {
    match overrides.get(d.name) {
        Some(v) => (v.clone(), ConfigSource::DynamicTopic),
        None => broker_value(config, d),
    }
}

/// How a topic's logs and appends behave, from its configs.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSettings {
    /// The storage engine's per-log settings.
    pub log: LogConfig,
    /// How appended batches are timestamped.
    pub timestamp_type: TimestampType,
    /// The codec batches are stored with (`None`: as the producer sent them).
    pub compression: Option<Compression>,
    /// The level the broker compresses at (`compression.gzip.level` /
    /// `compression.zstd.level` of the configured codec; `None`: its default).
    pub compression_level: Option<i32>,
    /// Oldest accepted CreateTime timestamp, as a distance before now.
    pub timestamp_before_max_ms: i64,
    /// Newest accepted CreateTime timestamp, as a distance after now.
    pub timestamp_after_max_ms: i64,
    /// Replicas that must hold a record for acks=all (`min.insync.replicas`).
    pub min_insync_replicas: i64,
}

/// The effective settings of a topic whose overrides are `overrides`; `base` carries the
/// broker-wide log settings no topic config touches (fsync). Values that fail to parse
/// (they were validated when set) fall back to the base.
pub fn settings(
    config: &Config,
    base: &LogConfig,
    overrides: &BTreeMap<String, String>,
) -> TopicSettings {
    let value = |name: &str| {
        definition(name)
            .map(|d| effective_value(config, overrides, d).0)
            .unwrap_or_default()
    };
    let long = |name: &str| value(name).trim().parse::<i64>().ok();
    let mut log = base.clone();
    if let Some(p) = CleanupPolicy::parse(&value("cleanup.policy")) {
        log.cleanup_policy = p;
    }
    let segment_bytes = overrides
        .get(INTERNAL_SEGMENT_BYTES)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| long("segment.bytes"));
    if let Some(v) = segment_bytes.and_then(|v| u64::try_from(v).ok()) {
        log.segment_bytes = v;
    }
    if let Some(v) = long("segment.ms").and_then(|v| u64::try_from(v).ok()) {
        log.segment_ms = Some(Duration::from_millis(v));
    }
    if let Some(v) = long("index.interval.bytes").and_then(|v| usize::try_from(v).ok()) {
        log.index_interval_bytes = v;
    }
    if let Some(v) = long("max.message.bytes").and_then(|v| usize::try_from(v).ok()) {
        log.max_batch_bytes = v;
    }
    if let Some(v) = long("retention.ms") {
        log.retention_ms = (v >= 0).then_some(v);
    }
    if let Some(v) = long("retention.bytes") {
        log.retention_bytes = u64::try_from(v).ok();
    }
    if let Some(v) = long("delete.retention.ms") {
        log.delete_retention_ms = v;
    }
    if let Some(v) = long("min.compaction.lag.ms") {
        log.min_compaction_lag_ms = v;
    }
    if let Some(v) = long("max.compaction.lag.ms") {
        log.max_compaction_lag_ms = v;
    }
    if let Ok(v) = value("min.cleanable.dirty.ratio").trim().parse::<f64>() {
        log.min_cleanable_dirty_ratio = v;
    }
    let timestamp_type = if value("message.timestamp.type").trim() == "LogAppendTime" {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    };
    let compression = parse_compression(&value("compression.type")).unwrap_or(None);
    let level_config = match compression {
        Some(Compression::Gzip) => Some("compression.gzip.level"),
        Some(Compression::Zstd) => Some("compression.zstd.level"),
        Some(Compression::Lz4) => Some("compression.lz4.level"),
        _ => None,
    };
    let compression_level = level_config
        .and_then(&long)
        .and_then(|v| i32::try_from(v).ok());
    TopicSettings {
        log,
        timestamp_type,
        compression,
        compression_level,
        timestamp_before_max_ms: long("message.timestamp.before.max.ms").unwrap_or(i64::MAX),
        timestamp_after_max_ms: long("message.timestamp.after.max.ms").unwrap_or(i64::MAX),
        min_insync_replicas: long("min.insync.replicas").unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_accepts_kafka_values_and_refuses_others() {
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "shred").is_err());
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("segment.bytes", "13").is_err());
        assert!(validate("segment.bytes", "1048575").is_err());
        assert!(validate("segment.bytes", "1048576").is_ok());
        assert!(validate("internal.segment.bytes", "2048").is_ok());
        assert!(validate("min.insync.replicas", "2").is_ok());
        assert!(validate("min.insync.replicas", "0").is_err());
        assert!(validate("unclean.leader.election.enable", "TRUE").is_ok());
        assert!(validate("preallocate", "yes").is_err());
        assert!(validate("remote.storage.enable", "false").is_ok());
        assert!(validate("remote.storage.enable", "true").is_err());
        assert!(validate("compression.gzip.level", "0").is_err());
        assert!(validate("compression.zstd.level", "-5").is_ok());
        assert!(validate("compression.lz4.level", "18").is_err());
        assert!(validate("leader.replication.throttled.replicas", "0:1,1:1").is_ok());
        assert!(validate("leader.replication.throttled.replicas", "*").is_ok());
        assert!(validate("leader.replication.throttled.replicas", "zero").is_err());
        assert!(validate("local.retention.ms", "-2").is_ok());
        assert!(validate("segment.bytes", "99999999999").is_err());
        assert!(validate("compression.type", "zstd").is_ok());
        assert!(validate("compression.type", "brotli").is_err());
        assert!(validate("min.cleanable.dirty.ratio", "1.5").is_err());
        assert!(validate("no.such.config", "1").is_err());
    }

    #[test]
    fn settings_follow_overrides_then_broker_options() {
        let mut config = Config::default();
        config.set("log.retention.ms", "1000").unwrap();
        let base = LogConfig::default();
        let mut o = BTreeMap::new();
        let s = settings(&config, &base, &o);
        assert_eq!(s.log.retention_ms, Some(1000));
        assert_eq!(s.compression, None);
        let d = definition("retention.ms").unwrap();
        assert_eq!(
            effective_value(&config, &o, d),
            ("1000".to_string(), ConfigSource::StaticBroker)
        );
        o.insert("retention.ms".to_string(), "-1".to_string());
        o.insert("cleanup.policy".to_string(), "compact".to_string());
        o.insert("compression.type".to_string(), "zstd".to_string());
        o.insert(
            "message.timestamp.type".to_string(),
            "LogAppendTime".to_string(),
        );
        let s = settings(&config, &base, &o);
        assert_eq!(s.log.retention_ms, None);
        assert!(s.log.cleanup_policy.compact && !s.log.cleanup_policy.delete);
        assert_eq!(s.compression, Some(Compression::Zstd));
        assert_eq!(s.compression_level, Some(3), "zstd's default level");
        o.insert("compression.zstd.level".to_string(), "19".to_string());
        assert_eq!(settings(&config, &base, &o).compression_level, Some(19));
        assert_eq!(s.timestamp_type, TimestampType::LogAppendTime);
        let d = definition("segment.ms").unwrap();
        assert_eq!(effective_value(&config, &o, d).1, ConfigSource::Default);
    }
}
