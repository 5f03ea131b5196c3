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

/// Every topic config Skiff honours, sorted by name.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        "log.cleanup.policy",
        ConfigType::List,
        "delete",
        "What happens to old data: `delete` (retention), `compact` (latest value per key) or both.",
    ),
    def(
        "compression.type",
        "compression.type",
        ConfigType::String,
        "producer",
        "Codec batches are stored with: producer (as sent), uncompressed, gzip, snappy, lz4 or zstd.",
    ),
    def(
        "delete.retention.ms",
        "log.cleaner.delete.retention.ms",
        ConfigType::Long,
        "86400000",
        "How long tombstones stay in a compacted log after it was cleaned.",
    ),
    def(
        "index.interval.bytes",
        "log.index.interval.bytes",
        ConfigType::Int,
        "4096",
        "Bytes between two entries of the sparse offset index.",
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
        "9223372036854775807",
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
        "segment.ms",
        "log.roll.ms",
        ConfigType::Long,
        "604800000",
        "Age at which a segment is rolled.",
    ),
];

/// The definition of topic config `name`, if Skiff knows it.
pub fn definition(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
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
        "segment.bytes" => int_at_least(value, 14).map(drop),
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
    /// Oldest accepted CreateTime timestamp, as a distance before now.
    pub timestamp_before_max_ms: i64,
    /// Newest accepted CreateTime timestamp, as a distance after now.
    pub timestamp_after_max_ms: i64,
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
    if let Some(v) = long("segment.bytes").and_then(|v| u64::try_from(v).ok()) {
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
    TopicSettings {
        log,
        timestamp_type,
        compression: parse_compression(&value("compression.type")).unwrap_or(None),
        timestamp_before_max_ms: long("message.timestamp.before.max.ms").unwrap_or(i64::MAX),
        timestamp_after_max_ms: long("message.timestamp.after.max.ms").unwrap_or(i64::MAX),
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
        assert_eq!(s.timestamp_type, TimestampType::LogAppendTime);
        let d = definition("segment.ms").unwrap();
        assert_eq!(effective_value(&config, &o, d).1, ConfigSource::Default);
    }
}
