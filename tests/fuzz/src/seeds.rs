//! Seeds generated at run time (nothing large is committed): request frames of every API
//! Skiff serves at every version it serves, the Java client's record batches of every codec
//! (`tests/fixtures/batches/`, written by `compat/fixtures-gen`), decompression bombs, and
//! log and state-store directories written by Skiff itself.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use skiff::api::registry;

/// The topic the request-frame target's broker holds (auto-creation is off there).
pub const FUZZ_TOPIC: &str = "fuzz";

/// The batch fixtures of the Java client, by name (codec or kind).
pub const FIXTURES: &[(&str, &[u8])] = &[
    ("none", include_bytes!("../../fixtures/batches/none.bin")),
    ("gzip", include_bytes!("../../fixtures/batches/gzip.bin")),
    (
        "snappy",
        include_bytes!("../../fixtures/batches/snappy.bin"),
    ),
    ("lz4", include_bytes!("../../fixtures/batches/lz4.bin")),
    ("zstd", include_bytes!("../../fixtures/batches/zstd.bin")),
    (
        "log_append_time",
        include_bytes!("../../fixtures/batches/log_append_time.bin"),
    ),
    (
        "transactional",
        include_bytes!("../../fixtures/batches/transactional.bin"),
    ),
    (
        "control_commit",
        include_bytes!("../../fixtures/batches/control_commit.bin"),
    ),
];

/// Mode byte of a request-frame input whose size prefixes the harness refits.
pub const MODE_REFIT: u8 = 1;

/// One framed request: header at the version `key` wants, then `body`.
pub fn frame(key: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("skiff-fuzz")));
    let mut buf = BytesMut::new();
    if header
        .encode(&mut buf, key.request_header_version(version))
        .is_err()
    {
        return Vec::new();
    }
    buf.put_slice(body);
    let mut out = Vec::with_capacity(buf.len() + 4);
    out.extend_from_slice(&u32::try_from(buf.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&buf);
    out
}

fn encoded<T: Encodable>(message: &T, version: i16) -> Option<Vec<u8>> {
    let mut buf = BytesMut::new();
    message.encode(&mut buf, version).ok()?;
    Some(buf.to_vec())
}

macro_rules! default_bodies {
    ($key:expr, $version:expr, $($api:ident => $ty:ty),* $(,)?) => {
        match $key {
            $(ApiKey::$api => encoded(&<$ty>::default(), $version),)*
            _ => None,
        }
    };
}

/// A default (all fields empty) body of `key` at `version`.
fn default_body(key: ApiKey, version: i16) -> Option<Vec<u8>> {
    default_bodies!(key, version,
        Produce => ProduceRequest, Fetch => FetchRequest, ListOffsets => ListOffsetsRequest,
        Metadata => MetadataRequest, OffsetCommit => OffsetCommitRequest,
        OffsetFetch => OffsetFetchRequest, FindCoordinator => FindCoordinatorRequest,
        JoinGroup => JoinGroupRequest, Heartbeat => HeartbeatRequest,
        LeaveGroup => LeaveGroupRequest, SyncGroup => SyncGroupRequest,
        DescribeGroups => DescribeGroupsRequest, ListGroups => ListGroupsRequest,
        SaslHandshake => SaslHandshakeRequest, ApiVersions => ApiVersionsRequest,
        CreateTopics => CreateTopicsRequest, DeleteTopics => DeleteTopicsRequest,
        DeleteRecords => DeleteRecordsRequest, InitProducerId => InitProducerIdRequest,
        OffsetForLeaderEpoch => OffsetForLeaderEpochRequest,
        AddPartitionsToTxn => AddPartitionsToTxnRequest,
        AddOffsetsToTxn => AddOffsetsToTxnRequest, EndTxn => EndTxnRequest,
        TxnOffsetCommit => TxnOffsetCommitRequest, DescribeConfigs => DescribeConfigsRequest,
        AlterConfigs => AlterConfigsRequest, AlterReplicaLogDirs => AlterReplicaLogDirsRequest,
        DescribeLogDirs => DescribeLogDirsRequest, SaslAuthenticate => SaslAuthenticateRequest,
        CreatePartitions => CreatePartitionsRequest, DeleteGroups => DeleteGroupsRequest,
        ElectLeaders => ElectLeadersRequest,
        IncrementalAlterConfigs => IncrementalAlterConfigsRequest,
        AlterPartitionReassignments => AlterPartitionReassignmentsRequest,
        ListPartitionReassignments => ListPartitionReassignmentsRequest,
        OffsetDelete => OffsetDeleteRequest, DescribeClientQuotas => DescribeClientQuotasRequest,
        AlterClientQuotas => AlterClientQuotasRequest,
        DescribeUserScramCredentials => DescribeUserScramCredentialsRequest,
        AlterUserScramCredentials => AlterUserScramCredentialsRequest,
        DescribeQuorum => DescribeQuorumRequest, UpdateFeatures => UpdateFeaturesRequest,
        DescribeCluster => DescribeClusterRequest, DescribeProducers => DescribeProducersRequest,
        DescribeTransactions => DescribeTransactionsRequest,
        ListTransactions => ListTransactionsRequest,
        ConsumerGroupHeartbeat => ConsumerGroupHeartbeatRequest,
        ConsumerGroupDescribe => ConsumerGroupDescribeRequest,
        GetTelemetrySubscriptions => GetTelemetrySubscriptionsRequest,
        PushTelemetry => PushTelemetryRequest,
        ListConfigResources => ListConfigResourcesRequest,
        DescribeTopicPartitions => DescribeTopicPartitionsRequest,
    )
}

/// A Produce of `batch` to partition 0 of the fuzz topic.
fn produce_body(version: i16, batch: &[u8]) -> Option<Vec<u8>> {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(1000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str(FUZZ_TOPIC)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(Bytes::copy_from_slice(batch)))])]);
    encoded(&request, version)
}

/// Seeds of the request-frame target: every served API at every served version, and
/// Produce of each fixture batch, each preceded by [`MODE_REFIT`].
pub fn request_frames() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for entry in registry::REGISTRY {
        for version in entry.min_version..=entry.max_version {
            if let Some(body) = default_body(entry.key, version) {
                let mut input = vec![MODE_REFIT];
                input.extend(frame(entry.key, version, 7, &body));
                seeds.push((format!("{:?}-v{version}", entry.key), input));
            }
        }
    }
    for (name, batch) in FIXTURES {
        for version in [3, 9, 12] {
            if let Some(body) = produce_body(version, batch) {
                let mut input = vec![MODE_REFIT];
                input.extend(frame(ApiKey::Produce, version, 8, &body));
                seeds.push((format!("produce-{name}-v{version}"), input));
            }
        }
    }
    seeds
}

/// A bomb: `len` zero bytes compressed with `codec`.
pub fn bomb(codec: skiff::storage::Compression, len: usize) -> Vec<u8> {
    skiff::storage::record::compression::compress(codec, &vec![0u8; len]).unwrap_or_default()
}
