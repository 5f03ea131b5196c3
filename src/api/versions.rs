//! The APIs and versions Skiff serves, as advertised in ApiVersions.

use kafka_protocol::messages::ApiKey;

/// One served API: key and the inclusive version range advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedApi {
    /// The API.
    pub key: ApiKey,
    /// Lowest advertised version.
    pub min: i16,
    /// Highest advertised version.
    pub max: i16,
}

/// Every API Skiff serves. Produce is advertised from v0 like Kafka 4 (older librdkafka
/// disables compression otherwise) although v0–v2 requests are refused.
pub const SUPPORTED: &[SupportedApi] = &[
    SupportedApi {
        key: ApiKey::Produce,
        min: 0,
        max: 11,
    },
    SupportedApi {
        key: ApiKey::Fetch,
        min: 4,
        max: 17,
    },
    SupportedApi {
        key: ApiKey::ListOffsets,
        min: 1,
        max: 9,
    },
    SupportedApi {
        key: ApiKey::Metadata,
        min: 0,
        max: 12,
    },
    SupportedApi {
        key: ApiKey::ApiVersions,
        min: 0,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::OffsetForLeaderEpoch,
        min: 2,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::CreateTopics,
        min: 2,
        max: 7,
    },
    SupportedApi {
        key: ApiKey::DeleteTopics,
        min: 1,
        max: 6,
    },
    SupportedApi {
        key: ApiKey::CreatePartitions,
        min: 0,
        max: 3,
    },
    SupportedApi {
        key: ApiKey::DescribeConfigs,
        min: 1,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::AlterConfigs,
        min: 0,
        max: 2,
    },
    SupportedApi {
        key: ApiKey::IncrementalAlterConfigs,
        min: 0,
        max: 1,
    },
    SupportedApi {
        key: ApiKey::DescribeCluster,
        min: 0,
        max: 1,
    },
    SupportedApi {
        key: ApiKey::DescribeLogDirs,
        min: 1,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::DeleteRecords,
        min: 0,
        max: 2,
    },
    SupportedApi {
        key: ApiKey::DescribeTopicPartitions,
        min: 0,
        max: 0,
    },
    // Consumer groups. JoinGroup is advertised from v0: librdkafka before 2.11 enables
    // classic groups only when it is (Kafka 4.0.1 re-added v0-v1 for that reason).
    SupportedApi {
        key: ApiKey::FindCoordinator,
        min: 0,
        max: 6,
    },
    SupportedApi {
        key: ApiKey::JoinGroup,
        min: 0,
        max: 9,
    },
    SupportedApi {
        key: ApiKey::SyncGroup,
        min: 0,
        max: 5,
    },
    SupportedApi {
        key: ApiKey::Heartbeat,
        min: 0,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::LeaveGroup,
        min: 0,
        max: 5,
    },
    SupportedApi {
        key: ApiKey::OffsetCommit,
        min: 2,
        max: 9,
    },
    SupportedApi {
        key: ApiKey::OffsetFetch,
        min: 1,
        max: 9,
    },
    SupportedApi {
        key: ApiKey::OffsetDelete,
        min: 0,
        max: 0,
    },
    SupportedApi {
        key: ApiKey::ListGroups,
        min: 0,
        max: 5,
    },
    SupportedApi {
        key: ApiKey::DescribeGroups,
        min: 0,
        max: 6,
    },
    SupportedApi {
        key: ApiKey::DeleteGroups,
        min: 0,
        max: 2,
    },
    SupportedApi {
        key: ApiKey::ConsumerGroupHeartbeat,
        min: 0,
        max: 1,
    },
    SupportedApi {
        key: ApiKey::ConsumerGroupDescribe,
        min: 0,
        max: 1,
    },
    SupportedApi {
        key: ApiKey::InitProducerId,
        min: 0,
        max: 5,
    },
    SupportedApi {
        key: ApiKey::AddPartitionsToTxn,
        min: 0,
        max: 5,
    },
    SupportedApi {
        key: ApiKey::AddOffsetsToTxn,
        min: 0,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::EndTxn,
        min: 0,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::TxnOffsetCommit,
        min: 0,
        max: 4,
    },
    SupportedApi {
        key: ApiKey::DescribeProducers,
        min: 0,
        max: 0,
    },
    SupportedApi {
        key: ApiKey::DescribeTransactions,
        min: 0,
        max: 0,
    },
    SupportedApi {
        key: ApiKey::ListTransactions,
        min: 0,
        max: 1,
    },
];

/// Lowest Produce version actually served (a v0–v2 request closes the connection, as in
/// Kafka 4).
pub const PRODUCE_MIN_SERVED: i16 = 3;

/// The advertised range of `key`, if served.
pub fn supported(key: ApiKey) -> Option<SupportedApi> {
    SUPPORTED.iter().copied().find(|a| a.key == key)
}

/// Whether `version` of `key` is advertised.
pub fn is_supported(key: ApiKey, version: i16) -> bool {
    supported(key).is_some_and(|a| (a.min..=a.max).contains(&version))
}
