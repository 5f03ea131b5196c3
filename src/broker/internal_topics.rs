//! Kafka's internal topics, `__consumer_offsets` and `__transaction_state`.
//!
//! Skiff keeps group offsets and transaction state in its keyed state store, not in these
//! topics, but clients expect them to exist the way Kafka has them: created when the first
//! coordinator lookup (or a Metadata request allowed to auto-create) names them, listed in
//! Metadata with `is_internal`, compacted, and closed to producers. Their partitions are
//! real, empty logs, so fetching, listing offsets and describing configs behave as for any
//! other topic.

use std::collections::BTreeMap;

use crate::config::Config;

/// The topic Kafka keeps committed offsets and group metadata in.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// The topic Kafka keeps transaction coordinator state in.
pub const TRANSACTION_STATE: &str = "__transaction_state";

/// Segment size Kafka gives both internal topics (`offsets.topic.segment.bytes`,
/// `transaction.state.log.segment.bytes`): 100 MiB.
const INTERNAL_SEGMENT_BYTES: &str = "104857600";

/// Whether `name` is one of Kafka's internal topics.
pub fn is_internal(name: &str) -> bool {
    name == CONSUMER_OFFSETS || name == TRANSACTION_STATE
}

/// Partition count and config overrides an internal topic is created with, or `None` for
/// an ordinary name.
pub fn creation_spec(config: &Config, name: &str) -> Option<(i32, BTreeMap<String, String>)> {
    let partitions = match name {
        CONSUMER_OFFSETS => config.offsets_topic_num_partitions,
        TRANSACTION_STATE => config.transaction_state_log_num_partitions,
        _ => return None,
    };
    let mut configs = BTreeMap::new();
    configs.insert("cleanup.policy".to_string(), "compact".to_string());
    configs.insert(
        "segment.bytes".to_string(),
        INTERNAL_SEGMENT_BYTES.to_string(),
    );
    if name == CONSUMER_OFFSETS {
        configs.insert("compression.type".to_string(), "producer".to_string());
    }
    Some((partitions, configs))
}

/// The `__consumer_offsets` partition Kafka places `group_id` in, for a topic of
/// `partitions` partitions: the Java string hash of the id, made non-negative, modulo the
/// partition count.
pub fn consumer_offsets_partition(group_id: &str, partitions: i32) -> i32 {
    let hash = group_id
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    (hash & 0x7fff_ffff) % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_kafkas_two_internal_names_are_internal() {
        assert!(is_internal("__consumer_offsets"));
        assert!(is_internal("__transaction_state"));
        assert!(!is_internal("__consumer_offsets2"));
        assert!(!is_internal("orders"));
    }

    #[test]
    fn internal_topics_are_compacted_with_configured_partitions() {
        let config = Config {
            offsets_topic_num_partitions: 7,
            ..Config::default()
        };
        let (partitions, configs) = creation_spec(&config, CONSUMER_OFFSETS).unwrap();
        assert_eq!(partitions, 7);
        assert_eq!(configs["cleanup.policy"], "compact");
        let (partitions, _) = creation_spec(&config, TRANSACTION_STATE).unwrap();
        assert_eq!(partitions, 50);
        assert!(creation_spec(&config, "orders").is_none());
    }

    #[test]
    fn consumer_offsets_partition_follows_java_string_hash() {
        // Values of Java's "...".hashCode(), made non-negative, modulo 50.
        assert_eq!(consumer_offsets_partition("", 50), 0);
        assert_eq!(consumer_offsets_partition("a", 50), 97 % 50);
        assert_eq!(consumer_offsets_partition("group", 50), 98_630_247 % 50);
        assert_eq!(consumer_offsets_partition("polygenelubricants", 50), 0);
        assert_eq!(consumer_offsets_partition("a", 4), 97 % 4);
        assert_eq!(consumer_offsets_partition("a", 0), 0);
    }
}
