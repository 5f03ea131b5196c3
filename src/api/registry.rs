//! The API registry: every Kafka API Skiff serves, in one table.
//!
//! Each API lives in a module named after it (`api/describe_log_dirs.rs`,
//! `api/group/join_group.rs`) and declares itself by implementing [`Api`]: its key, the
//! versions it serves, the ACL operation and resource type it needs, its request and
//! response types (kafka-protocol's), and its handler. [`REGISTRY`] lists them; decoding,
//! dispatch, encoding and the ApiVersions answer all come from that list. Serving a new API
//! is one new file and one line in [`REGISTRY`].

use std::fmt::Debug;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};

use super::chunks::{Chunks, FetchAnswer};
use super::{ApiContext, Call, Handled, Reply, ResponseFuture};

/// Kafka's ACL operations (the codes of `AclOperation`), as an API declares what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum AclOperation {
    /// READ.
    Read = 3,
    /// WRITE.
    Write = 4,
    /// CREATE.
    Create = 5,
    /// DELETE.
    Delete = 6,
    /// ALTER.
    Alter = 7,
    /// DESCRIBE.
    Describe = 8,
    /// CLUSTER_ACTION.
    ClusterAction = 9,
    /// DESCRIBE_CONFIGS.
    DescribeConfigs = 10,
    /// ALTER_CONFIGS.
    AlterConfigs = 11,
    /// IDEMPOTENT_WRITE.
    IdempotentWrite = 12,
}

/// Kafka's ACL resource types (the codes of `ResourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i8)]
pub enum ResourceType {
    /// TOPIC.
    Topic = 2,
    /// GROUP.
    Group = 3,
    /// CLUSTER.
    Cluster = 4,
    /// TRANSACTIONAL_ID.
    TransactionalId = 5,
    /// DELEGATION_TOKEN.
    DelegationToken = 6,
    /// USER.
    User = 7,
}

/// What an API needs from the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// Anyone may call it (ApiVersions, the SASL handshake).
    Open,
    /// `operation` on each named resource of `resource` type (per topic for Produce, per
    /// group for OffsetCommit, the cluster for cluster-wide APIs). Where Kafka accepts one of
    /// two (CreateTopics: CREATE on the cluster or on the topic), this is the narrower one
    /// and the handler's resources are checked against it.
    Requires(AclOperation, ResourceType),
}

/// One Kafka API, as its module declares it.
pub trait Api {
    /// The request body (kafka-protocol's type).
    type Request: Decodable + Send + 'static;
    /// The response body (kafka-protocol's type, or a wrapper that encodes it in chunks).
    type Response: ResponseBody + 'static;
    /// The API key.
    const KEY: ApiKey;
    /// Lowest version advertised in ApiVersions.
    const MIN_VERSION: i16;
    /// Highest version advertised (and served).
    const MAX_VERSION: i16;
    /// Lowest version actually served; below it the connection is closed. Differs from
    /// [`Api::MIN_VERSION`] only for Produce, advertised from v0 as Kafka 4 does for older
    /// librdkafka although v0–v2 are refused.
    const MIN_SERVED: i16 = Self::MIN_VERSION;
    /// What the caller must be allowed to do.
    const AUTHORIZATION: Authorization;
    /// Handles one request. The part that must keep request order runs before this
    /// returns; what waits (durability, long polls, coordinator fsyncs) is the returned
    /// future.
    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: Self::Request,
    ) -> Handled<Self::Response>;
}

/// A response body of any API, encoded by the connection's writer.
pub trait ResponseBody: Debug + Send {
    /// Encodes the body at `version`.
    fn encode_body(&self, out: &mut BytesMut, version: i16) -> Result<(), String>;

    /// Encodes the body at `version` as chunks that are written without being copied
    /// together (Fetch's records), or `None` to use [`ResponseBody::encode_body`].
    fn encode_chunked(&self, version: i16) -> Option<Result<Chunks, String>> {
        let _ = version;
        None
    }
}

impl ResponseBody for FetchAnswer {
    fn encode_body(&self, out: &mut BytesMut, version: i16) -> Result<(), String> {
        self.0.encode(out, version).map_err(|e| e.to_string())
    }

    fn encode_chunked(&self, version: i16) -> Option<Result<Chunks, String>> {
        Some(self.encode_chunks(version))
    }
}

impl<T: Encodable + Debug + Send> ResponseBody for T {
    fn encode_body(&self, out: &mut BytesMut, version: i16) -> Result<(), String> {
        self.encode(out, version).map_err(|e| e.to_string())
    }
}

/// Decodes a request body and runs its handler.
pub type Serve = fn(&Arc<ApiContext>, &Call, &mut Bytes) -> Result<ResponseFuture, String>;

/// A row of the registry, made from an [`Api`] by [`entry`].
#[derive(Clone, Copy)]
pub struct ApiEntry {
    /// The API key.
    pub key: ApiKey,
    /// Lowest advertised version.
    pub min_version: i16,
    /// Highest advertised version.
    pub max_version: i16,
    /// Lowest served version.
    pub min_served: i16,
    /// What the caller must be allowed to do.
    pub authorization: Authorization,
    /// Decode, then handle.
    pub serve: Serve,
}

impl Debug for ApiEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiEntry")
            .field("key", &self.key)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .field("min_served", &self.min_served)
            .field("authorization", &self.authorization)
            .finish()
    }
}

impl ApiEntry {
    /// Whether a request at `version` is served.
    pub fn serves(&self, version: i16) -> bool {
        (self.min_served..=self.max_version).contains(&version)
    }
}

fn serve<A: Api>(
    ctx: &Arc<ApiContext>,
    call: &Call,
    body: &mut Bytes,
) -> Result<ResponseFuture, String> {
    let request = A::Request::decode(body, call.version).map_err(|e| e.to_string())?;
    Ok(match A::handle(ctx, call, request) {
        Handled::Now(reply) => Box::pin(std::future::ready(erase(reply))),
        Handled::Later(future) => Box::pin(async move { erase(future.await) }),
    })
}

fn erase<R: ResponseBody + 'static>(reply: Reply<R>) -> Reply {
    match reply {
        Reply::Send(body) => Reply::Send(Box::new(body)),
        Reply::Nothing => Reply::Nothing,
        Reply::Close => Reply::Close,
    }
}

/// The registry row of `A`.
pub const fn entry<A: Api>() -> ApiEntry {
    ApiEntry {
        key: A::KEY,
        min_version: A::MIN_VERSION,
        max_version: A::MAX_VERSION,
        min_served: A::MIN_SERVED,
        authorization: A::AUTHORIZATION,
        serve: serve::<A>,
    }
}

use super::group::{
    consumer_group_describe::ConsumerGroupDescribe,
    consumer_group_heartbeat::ConsumerGroupHeartbeat, delete_groups::DeleteGroups,
    describe_groups::DescribeGroups, find_coordinator::FindCoordinator, heartbeat::Heartbeat,
    join_group::JoinGroup, leave_group::LeaveGroup, list_groups::ListGroups,
    offset_commit::OffsetCommit, offset_delete::OffsetDelete, offset_fetch::OffsetFetch,
    sync_group::SyncGroup,
};
use super::txn::{
    add_offsets_to_txn::AddOffsetsToTxn, add_partitions_to_txn::AddPartitionsToTxn,
    describe_producers::DescribeProducers, describe_transactions::DescribeTransactions,
    end_txn::EndTxn, init_producer_id::InitProducerId, list_transactions::ListTransactions,
    txn_offset_commit::TxnOffsetCommit,
};
use super::{
    alter_configs::AlterConfigs, api_versions::ApiVersions, create_partitions::CreatePartitions,
    create_topics::CreateTopics, delete_records::DeleteRecords, delete_topics::DeleteTopics,
    describe_cluster::DescribeCluster, describe_configs::DescribeConfigs,
    describe_log_dirs::DescribeLogDirs, describe_topic_partitions::DescribeTopicPartitions,
    fetch::Fetch, incremental_alter_configs::IncrementalAlterConfigs, list_offsets::ListOffsets,
    metadata::Metadata, offset_for_leader_epoch::OffsetForLeaderEpoch, produce::Produce,
};

/// Every API Skiff serves, in ApiVersions order (by key).
pub const REGISTRY: &[ApiEntry] = &[
    entry::<Produce>(),
    entry::<Fetch>(),
    entry::<ListOffsets>(),
    entry::<Metadata>(),
    entry::<OffsetCommit>(),
    entry::<OffsetFetch>(),
    entry::<FindCoordinator>(),
    entry::<JoinGroup>(),
    entry::<Heartbeat>(),
    entry::<LeaveGroup>(),
    entry::<SyncGroup>(),
    entry::<DescribeGroups>(),
    entry::<ListGroups>(),
    entry::<ApiVersions>(),
    entry::<CreateTopics>(),
    entry::<DeleteTopics>(),
    entry::<DeleteRecords>(),
    entry::<InitProducerId>(),
    entry::<OffsetForLeaderEpoch>(),
    entry::<AddPartitionsToTxn>(),
    entry::<AddOffsetsToTxn>(),
    entry::<EndTxn>(),
    entry::<TxnOffsetCommit>(),
    entry::<DescribeConfigs>(),
    entry::<AlterConfigs>(),
    entry::<DescribeLogDirs>(),
    entry::<CreatePartitions>(),
    entry::<DeleteGroups>(),
    entry::<IncrementalAlterConfigs>(),
    entry::<OffsetDelete>(),
    entry::<DescribeCluster>(),
    entry::<DescribeProducers>(),
    entry::<DescribeTransactions>(),
    entry::<ListTransactions>(),
    entry::<ConsumerGroupHeartbeat>(),
    entry::<ConsumerGroupDescribe>(),
    entry::<DescribeTopicPartitions>(),
];

/// The registry row of `key`, if Skiff serves it.
pub fn lookup(key: ApiKey) -> Option<&'static ApiEntry> {
    REGISTRY.iter().find(|e| e.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ApiKey::Produce` → `produce`, `DescribeLogDirs` → `describe_log_dirs`.
    fn snake_case(key: ApiKey) -> String {
        let mut out = String::new();
        for (i, c) in format!("{key:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    fn find_file(dir: &std::path::Path, name: &str) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            let path = e.path();
            if path.is_dir() {
                find_file(&path, name)
            } else {
                path.file_name().is_some_and(|f| f == name)
            }
        })
    }

    #[test]
    fn every_served_api_has_a_file_named_after_it() {
        let api_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
        for e in REGISTRY {
            let file = format!("{}.rs", snake_case(e.key));
            assert!(
                find_file(&api_dir, &file),
                "{:?} has no src/api/**/{file}",
                e.key
            );
        }
    }

    #[test]
    fn keys_are_unique_sorted_and_within_kafka_protocols_versions() {
        for pair in REGISTRY.windows(2) {
            assert!((pair[0].key as i16) < (pair[1].key as i16), "{pair:?}");
        }
        for e in REGISTRY {
            let known = e.key.valid_versions();
            assert!(e.min_version <= e.min_served && e.min_served <= e.max_version);
            assert!(
                e.max_version <= known.max && e.min_served >= known.min,
                "{:?} serves {}..={} but kafka-protocol decodes {}..={}",
                e.key,
                e.min_served,
                e.max_version,
                known.min,
                known.max
            );
        }
    }
}
