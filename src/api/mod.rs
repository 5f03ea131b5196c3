//! The Kafka APIs: one module per API family. Handlers take decoded requests and return
//! responses; they do no socket or file I/O of their own (the broker layer owns the logs).
//!
//! A handler runs in two parts. The part that must keep request order (appending produced
//! batches, auto-creating topics) runs synchronously when the request is dispatched; the
//! part that waits (durability for acks=all, Fetch long-polls) is the returned future.
//!
//! Serving a new API takes: a variant in [`Request`] and [`Response`] and a handler module
//! here; its advertised range in [`versions::SUPPORTED`]; its decode and encode arms in
//! `server/frame.rs`; and its body schema in `server/precheck.rs` (bodies without one are
//! refused, because the decoder trusts array counts).

pub mod acl_operations;
pub mod admin;
pub mod admin_cluster;
pub mod api_versions;
pub mod configs;
pub mod error;
pub mod fetch;
pub mod group;
pub mod list_offsets;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod txn;
pub mod txn_describe;
pub mod versions;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest,
    CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteRecordsRequest,
    DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    DescribeLogDirsRequest, DescribeLogDirsResponse, DescribeProducersRequest,
    DescribeProducersResponse, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
    DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, InitProducerIdRequest,
    InitProducerIdResponse, ListTransactionsRequest, ListTransactionsResponse,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FetchRequest, FetchResponse,
    ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceRequest, ProduceResponse,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatResponse, DeleteGroupsRequest,
    DeleteGroupsResponse, DescribeGroupsRequest, FindCoordinatorRequest, FindCoordinatorResponse,
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, ListGroupsRequest, ListGroupsResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse, OffsetFetchRequest,
    OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse,
};
use tokio::sync::watch;

use crate::broker::ReplicaManager;
use crate::config::Config;

/// A decoded request of a served API.
#[derive(Debug)]
pub enum Request {
    /// ApiVersions.
    ApiVersions(ApiVersionsRequest),
    /// Metadata.
    Metadata(MetadataRequest),
    /// Produce.
    Produce(ProduceRequest),
    /// Fetch.
    Fetch(FetchRequest),
    /// ListOffsets.
    ListOffsets(ListOffsetsRequest),
    /// OffsetForLeaderEpoch.
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    /// CreateTopics.
    CreateTopics(CreateTopicsRequest),
    /// DeleteTopics.
    DeleteTopics(DeleteTopicsRequest),
    /// CreatePartitions.
    CreatePartitions(CreatePartitionsRequest),
    /// DescribeConfigs.
    DescribeConfigs(DescribeConfigsRequest),
    /// AlterConfigs.
    AlterConfigs(AlterConfigsRequest),
    /// IncrementalAlterConfigs.
    IncrementalAlterConfigs(IncrementalAlterConfigsRequest),
    /// DescribeCluster.
    DescribeCluster(DescribeClusterRequest),
    /// DescribeLogDirs.
    DescribeLogDirs(DescribeLogDirsRequest),
    /// DeleteRecords.
    DeleteRecords(DeleteRecordsRequest),
    /// DescribeTopicPartitions.
    DescribeTopicPartitions(DescribeTopicPartitionsRequest),
    /// InitProducerId.
    InitProducerId(InitProducerIdRequest),
    /// AddPartitionsToTxn.
    AddPartitionsToTxn(AddPartitionsToTxnRequest),
    /// AddOffsetsToTxn.
    AddOffsetsToTxn(AddOffsetsToTxnRequest),
    /// EndTxn.
    EndTxn(EndTxnRequest),
    /// TxnOffsetCommit.
    TxnOffsetCommit(TxnOffsetCommitRequest),
    /// DescribeProducers.
    DescribeProducers(DescribeProducersRequest),
    /// DescribeTransactions.
    DescribeTransactions(DescribeTransactionsRequest),
    /// ListTransactions.
    ListTransactions(ListTransactionsRequest),
    /// FindCoordinator.
    FindCoordinator(FindCoordinatorRequest),
    /// JoinGroup, with its sender.
    JoinGroup(JoinGroupRequest, group::ClientInfo),
    /// SyncGroup.
    SyncGroup(SyncGroupRequest),
    /// Heartbeat.
    Heartbeat(HeartbeatRequest),
    /// LeaveGroup.
    LeaveGroup(LeaveGroupRequest),
    /// OffsetCommit.
    OffsetCommit(OffsetCommitRequest),
    /// OffsetFetch.
    OffsetFetch(OffsetFetchRequest),
    /// OffsetDelete.
    OffsetDelete(OffsetDeleteRequest),
    /// ListGroups.
    ListGroups(ListGroupsRequest),
    /// DescribeGroups.
    DescribeGroups(DescribeGroupsRequest),
    /// DeleteGroups.
    DeleteGroups(DeleteGroupsRequest),
    /// ConsumerGroupHeartbeat, with its sender.
    ConsumerGroupHeartbeat(group::consumer::HeartbeatRequest, group::ClientInfo),
    /// ConsumerGroupDescribe.
    ConsumerGroupDescribe(ConsumerGroupDescribeRequest),
}

/// A response of a served API.
#[derive(Debug)]
pub enum Response {
    /// ApiVersions.
    ApiVersions(ApiVersionsResponse),
    /// Metadata.
    Metadata(MetadataResponse),
    /// Produce.
    Produce(ProduceResponse),
    /// Fetch.
    Fetch(FetchResponse),
    /// ListOffsets.
    ListOffsets(ListOffsetsResponse),
    /// OffsetForLeaderEpoch.
    OffsetForLeaderEpoch(OffsetForLeaderEpochResponse),
    /// CreateTopics.
    CreateTopics(CreateTopicsResponse),
    /// DeleteTopics.
    DeleteTopics(DeleteTopicsResponse),
    /// CreatePartitions.
    CreatePartitions(CreatePartitionsResponse),
    /// DescribeConfigs.
    DescribeConfigs(DescribeConfigsResponse),
    /// AlterConfigs.
    AlterConfigs(AlterConfigsResponse),
    /// IncrementalAlterConfigs.
    IncrementalAlterConfigs(IncrementalAlterConfigsResponse),
    /// DescribeCluster.
    DescribeCluster(DescribeClusterResponse),
    /// DescribeLogDirs.
    DescribeLogDirs(DescribeLogDirsResponse),
    /// DeleteRecords.
    DeleteRecords(DeleteRecordsResponse),
    /// DescribeTopicPartitions.
    DescribeTopicPartitions(DescribeTopicPartitionsResponse),
    /// InitProducerId.
    InitProducerId(InitProducerIdResponse),
    /// AddPartitionsToTxn.
    AddPartitionsToTxn(AddPartitionsToTxnResponse),
    /// AddOffsetsToTxn.
    AddOffsetsToTxn(AddOffsetsToTxnResponse),
    /// EndTxn.
    EndTxn(EndTxnResponse),
    /// TxnOffsetCommit.
    TxnOffsetCommit(TxnOffsetCommitResponse),
    /// DescribeProducers.
    DescribeProducers(DescribeProducersResponse),
    /// DescribeTransactions.
    DescribeTransactions(DescribeTransactionsResponse),
    /// ListTransactions.
    ListTransactions(ListTransactionsResponse),
    /// FindCoordinator.
    FindCoordinator(FindCoordinatorResponse),
    /// JoinGroup.
    JoinGroup(JoinGroupResponse),
    /// SyncGroup.
    SyncGroup(SyncGroupResponse),
    /// Heartbeat.
    Heartbeat(HeartbeatResponse),
    /// LeaveGroup.
    LeaveGroup(LeaveGroupResponse),
    /// OffsetCommit.
    OffsetCommit(OffsetCommitResponse),
    /// OffsetFetch.
    OffsetFetch(OffsetFetchResponse),
    /// OffsetDelete.
    OffsetDelete(OffsetDeleteResponse),
    /// ListGroups.
    ListGroups(ListGroupsResponse),
    /// DescribeGroups (v6 encoded beyond kafka-protocol).
    DescribeGroups(group::admin::DescribeGroups),
    /// DeleteGroups.
    DeleteGroups(DeleteGroupsResponse),
    /// ConsumerGroupHeartbeat.
    ConsumerGroupHeartbeat(ConsumerGroupHeartbeatResponse),
    /// ConsumerGroupDescribe (v1 encoded beyond kafka-protocol).
    ConsumerGroupDescribe(group::consumer::ConsumerGroupDescribe),
}

impl Request {
    /// The request's API key.
    pub fn api_key(&self) -> ApiKey {
        match self {
            Request::ApiVersions(_) => ApiKey::ApiVersions,
            Request::Metadata(_) => ApiKey::Metadata,
            Request::Produce(_) => ApiKey::Produce,
            Request::Fetch(_) => ApiKey::Fetch,
            Request::ListOffsets(_) => ApiKey::ListOffsets,
            Request::OffsetForLeaderEpoch(_) => ApiKey::OffsetForLeaderEpoch,
            Request::CreateTopics(_) => ApiKey::CreateTopics,
            Request::DeleteTopics(_) => ApiKey::DeleteTopics,
            Request::CreatePartitions(_) => ApiKey::CreatePartitions,
            Request::DescribeConfigs(_) => ApiKey::DescribeConfigs,
            Request::AlterConfigs(_) => ApiKey::AlterConfigs,
            Request::IncrementalAlterConfigs(_) => ApiKey::IncrementalAlterConfigs,
            Request::DescribeCluster(_) => ApiKey::DescribeCluster,
            Request::DescribeLogDirs(_) => ApiKey::DescribeLogDirs,
            Request::DeleteRecords(_) => ApiKey::DeleteRecords,
            Request::DescribeTopicPartitions(_) => ApiKey::DescribeTopicPartitions,
            Request::InitProducerId(_) => ApiKey::InitProducerId,
            Request::AddPartitionsToTxn(_) => ApiKey::AddPartitionsToTxn,
            Request::AddOffsetsToTxn(_) => ApiKey::AddOffsetsToTxn,
            Request::EndTxn(_) => ApiKey::EndTxn,
            Request::TxnOffsetCommit(_) => ApiKey::TxnOffsetCommit,
            Request::DescribeProducers(_) => ApiKey::DescribeProducers,
            Request::DescribeTransactions(_) => ApiKey::DescribeTransactions,
            Request::ListTransactions(_) => ApiKey::ListTransactions,
            Request::FindCoordinator(_) => ApiKey::FindCoordinator,
            Request::JoinGroup(..) => ApiKey::JoinGroup,
            Request::SyncGroup(_) => ApiKey::SyncGroup,
            Request::Heartbeat(_) => ApiKey::Heartbeat,
            Request::LeaveGroup(_) => ApiKey::LeaveGroup,
            Request::OffsetCommit(_) => ApiKey::OffsetCommit,
            Request::OffsetFetch(_) => ApiKey::OffsetFetch,
            Request::OffsetDelete(_) => ApiKey::OffsetDelete,
            Request::ListGroups(_) => ApiKey::ListGroups,
            Request::DescribeGroups(_) => ApiKey::DescribeGroups,
            Request::DeleteGroups(_) => ApiKey::DeleteGroups,
            Request::ConsumerGroupHeartbeat(..) => ApiKey::ConsumerGroupHeartbeat,
            Request::ConsumerGroupDescribe(_) => ApiKey::ConsumerGroupDescribe,
        }
    }
}

/// What the connection does once a request is handled.
#[derive(Debug)]
pub enum Reply {
    /// Send this response.
    Send(Response),
    /// Send nothing (an acks=0 produce that succeeded).
    Nothing,
    /// Send nothing and close the connection: an acks=0 produce failed, and closing is the
    /// only way to tell the client (as Kafka does).
    Close,
}

/// A reply still being produced.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// What every handler may use.
pub struct ApiContext {
    /// Topics, partitions and their logs.
    pub replicas: Arc<ReplicaManager>,
    /// The keyed state store (groups, offsets, producer ids, transactions).
    pub state: Arc<crate::storage::kv::StateStore>,
    /// The consumer-group coordinator.
    pub groups: crate::broker::group::GroupCoordinator,
    /// The transaction coordinator.
    pub txns: Arc<crate::broker::txn::TxnCoordinator>,
    /// The broker configuration.
    pub config: Arc<Config>,
    /// The cluster id reported in Metadata.
    pub cluster_id: String,
    /// Host advertised to clients.
    pub advertised_host: String,
    /// Port advertised to clients.
    pub advertised_port: i32,
    /// Becomes `true` when the broker shuts down (ends long-polls early).
    pub shutdown: watch::Receiver<bool>,
}

fn ready(response: Response) -> ResponseFuture {
    Box::pin(std::future::ready(Reply::Send(response)))
}

/// Dispatches a decoded request to its handler.
pub fn handle(ctx: &Arc<ApiContext>, api_version: i16, request: Request) -> ResponseFuture {
    match request {
        Request::ApiVersions(_) => ready(Response::ApiVersions(api_versions::respond(api_version))),
        Request::Metadata(r) => ready(Response::Metadata(metadata::handle(ctx, api_version, r))),
        Request::Produce(r) => produce::handle(ctx, api_version, r),
        Request::Fetch(r) => fetch::handle(ctx, api_version, r),
        Request::ListOffsets(r) => ready(Response::ListOffsets(list_offsets::handle(
            ctx,
            api_version,
            r,
        ))),
        Request::OffsetForLeaderEpoch(r) => ready(Response::OffsetForLeaderEpoch(
            offset_for_leader_epoch::handle(ctx, r),
        )),
        Request::CreateTopics(r) => ready(Response::CreateTopics(admin::create_topics(
            ctx,
            api_version,
            r,
        ))),
        Request::DeleteTopics(r) => ready(Response::DeleteTopics(admin::delete_topics(
            ctx,
            api_version,
            r,
        ))),
        Request::CreatePartitions(r) => {
            ready(Response::CreatePartitions(admin::create_partitions(ctx, r)))
        }
        Request::DescribeConfigs(r) => ready(Response::DescribeConfigs(configs::describe_configs(
            ctx,
            api_version,
            r,
        ))),
        Request::AlterConfigs(r) => ready(Response::AlterConfigs(configs::alter_configs(ctx, r))),
        Request::IncrementalAlterConfigs(r) => ready(Response::IncrementalAlterConfigs(
            configs::incremental_alter_configs(ctx, r),
        )),
        Request::DescribeCluster(r) => ready(Response::DescribeCluster(
            admin_cluster::describe_cluster(ctx, r),
        )),
        Request::DescribeLogDirs(r) => ready(Response::DescribeLogDirs(
            admin_cluster::describe_log_dirs(ctx, r),
        )),
        Request::DeleteRecords(r) => ready(Response::DeleteRecords(admin_cluster::delete_records(
            ctx, r,
        ))),
        Request::DescribeTopicPartitions(r) => ready(Response::DescribeTopicPartitions(
            admin_cluster::describe_topic_partitions(ctx, r),
        )),
        Request::InitProducerId(r) => txn::init_producer_id(ctx, api_version, r),
        Request::AddPartitionsToTxn(r) => txn::add_partitions_to_txn(ctx, api_version, r),
        Request::AddOffsetsToTxn(r) => txn::add_offsets_to_txn(ctx, api_version, r),
        Request::EndTxn(r) => txn::end_txn(ctx, api_version, r),
        Request::TxnOffsetCommit(r) => txn::txn_offset_commit(ctx, api_version, r),
        Request::DescribeProducers(r) => ready(Response::DescribeProducers(
            txn_describe::handle_describe_producers(ctx, r),
        )),
        Request::DescribeTransactions(r) => ready(Response::DescribeTransactions(
            txn_describe::handle_describe_transactions(ctx, r),
        )),
        Request::ListTransactions(r) => ready(Response::ListTransactions(
            txn_describe::handle_list_transactions(ctx, api_version, r),
        )),
        Request::FindCoordinator(r) => ready(Response::FindCoordinator(
            group::find_coordinator::handle(ctx, api_version, r),
        )),
        Request::JoinGroup(r, client) => group::membership::join_group(ctx, api_version, r, client),
        Request::SyncGroup(r) => group::membership::sync_group(ctx, api_version, r),
        Request::Heartbeat(r) => ready(Response::Heartbeat(group::membership::heartbeat(
            ctx,
            api_version,
            r,
        ))),
        Request::LeaveGroup(r) => ready(Response::LeaveGroup(group::membership::leave_group(
            ctx,
            api_version,
            r,
        ))),
        Request::OffsetCommit(r) => ready(Response::OffsetCommit(group::offsets::commit(
            ctx,
            api_version,
            r,
        ))),
        Request::OffsetFetch(r) => ready(Response::OffsetFetch(group::offsets::fetch(
            ctx,
            api_version,
            r,
        ))),
        Request::OffsetDelete(r) => ready(Response::OffsetDelete(group::offsets::delete(ctx, r))),
        Request::ListGroups(r) => ready(Response::ListGroups(group::admin::list(
            ctx,
            api_version,
            r,
        ))),
        Request::DescribeGroups(r) => ready(Response::DescribeGroups(group::admin::describe(
            ctx,
            api_version,
            r,
        ))),
        Request::DeleteGroups(r) => ready(Response::DeleteGroups(group::admin::delete(ctx, r))),
        Request::ConsumerGroupHeartbeat(r, client) => ready(Response::ConsumerGroupHeartbeat(
            group::consumer::heartbeat(ctx, r, client),
        )),
        Request::ConsumerGroupDescribe(r) => ready(Response::ConsumerGroupDescribe(
            group::consumer::describe(ctx, r),
        )),
    }
}
