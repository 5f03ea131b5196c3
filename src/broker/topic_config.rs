//! Topic-level configuration: the configs a topic may override (Kafka's names), their
//! validation, their broker-level defaults, and the effective settings of a topic's logs.
//!
//! A topic stores only its overrides. Every other config takes the broker's value: the
//! broker option that is its synonym (`retention.ms` ← `log.retention.ms`) when Skiff has
//! that option, else Kafka's default.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use crate::config::{self, Config, ConfigDef};
use crate::storage::{CleanupPolicy, Compression, LogConfig, TimestampType};

pub use crate::config::{ConfigSource, ConfigType, MIN_SEGMENT_BYTES};

/// One topic config Skiff knows, as a topic sees it.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigDef {
    /// The topic config's name.
    pub name: &'static str,
    /// The broker option that supplies its default (`None`: a topic-only config).
    pub broker_synonym: Option<&'static str>,
    /// The value type.
    pub kind: ConfigType,
    /// The built-in default.
    pub default: &'static str,
    /// What the config does.
    pub doc: &'static str,
    /// Its descriptor.
    pub def: &'static ConfigDef,
}

impl TopicConfigDef {
    fn of(def: &'static ConfigDef, name: &'static str) -> TopicConfigDef {
        TopicConfigDef {
            name,
            broker_synonym: (def.scope == config::Scope::Both).then_some(def.name),
            kind: def.kind,
            default: def.default,
            doc: def.doc,
            def,
        }
    }
}

/// Every topic config Kafka 4 has, sorted by name (DescribeConfigs lists them all), from
/// the descriptors of `crate::config`. Those that have no meaning on a single broker
/// without tiered storage are accepted and described; their docs say so.
pub static TOPIC_CONFIGS: LazyLock<Vec<TopicConfigDef>> = LazyLock::new(|| {
    let mut all: Vec<TopicConfigDef> = config::all_configs()
        .filter_map(|d| d.topic_name.map(|t| TopicConfigDef::of(d, t)))
        .collect();
    all.sort_by_key(|d| d.name);
    all
});

/// Kafka's internal topic config for tests: a segment size below `segment.bytes`'
/// 1 MiB minimum. Accepted on a topic, never described (as Kafka).
pub const INTERNAL_SEGMENT_BYTES: &str = "internal.segment.bytes";

const INTERNAL_SEGMENT_BYTES_DEF: ConfigDef = ConfigDef {
    name: INTERNAL_SEGMENT_BYTES,
    topic_name: Some(INTERNAL_SEGMENT_BYTES),
    scope: config::Scope::Topic,
    kind: ConfigType::Int,
    default: "",
    mode: config::UpdateMode::ReadOnly,
    check: config::Check::Range(14, i32::MAX as i64),
    topic_check: None,
    doc: "Segment size for tests, below segment.bytes' minimum (internal, not described).",
};

static INTERNAL_SEGMENT_BYTES_TOPIC: LazyLock<TopicConfigDef> =
    LazyLock::new(|| TopicConfigDef::of(&INTERNAL_SEGMENT_BYTES_DEF, INTERNAL_SEGMENT_BYTES));

/// The definition of topic config `name`, if Skiff knows it.
pub fn definition(name: &str) -> Option<&'static TopicConfigDef> {
    if name == INTERNAL_SEGMENT_BYTES {
        return Some(&INTERNAL_SEGMENT_BYTES_TOPIC);
    }
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
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

/// Checks a value for topic config `name` against its descriptor: `Err` says why it is
/// refused (an unknown name included).
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    match definition(name) {
        Some(d) => d.def.validate_topic(value),
        None => Err(format!("unknown topic config `{name}`")),
    }
}

/// The broker-level value of topic config `d` and where it comes from.
pub fn broker_value(config: &Config, d: &TopicConfigDef) -> (String, ConfigSource) {
    match d.broker_synonym.and_then(|b| config.get(b)) {
        Some(v) => {
            let source = if v == d.default {
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
