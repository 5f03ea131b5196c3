//! DescribeQuorum (v0–v2): the KRaft quorum of the metadata log, as a one-node Kafka in
//! combined mode answers it. Skiff is its own and only voter: it leads the quorum at epoch 1
//! (what a freshly formatted single node reaches), has no observers, and stands in its
//! finalized-features epoch for the metadata log's high watermark (Kafka's features epoch is
//! that log's offset; Skiff raises its own by one per change). v2's nodes list this node
//! with its one listener: Skiff has no separate controller listener.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DescribeQuorumRequest, DescribeQuorumResponse, TopicName,
};

use super::error::code;
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};

/// The metadata log's topic, the one a DescribeQuorum request must name.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

/// The leader epoch of Skiff's one-voter quorum.
pub const QUORUM_EPOCH: i32 = 1;

/// The listener name v2 reports for this node's endpoint.
pub const LISTENER_NAME: &str = "PLAINTEXT";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether `req` names exactly partition 0 of the metadata topic (Kafka's raft client
/// answers anything else with UNKNOWN_TOPIC_OR_PARTITION on each partition named).
fn names_the_metadata_partition(req: &DescribeQuorumRequest) -> bool {
    matches!(req.topics.as_slice(), [t] if t.topic_name.as_str() == METADATA_TOPIC
        && matches!(t.partitions.as_slice(), [p] if p.partition_index == 0))
}

/// Answers DescribeQuorum v0–v2.
pub fn describe_quorum(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    let version = call.version;
    if !names_the_metadata_partition(&req) {
        let unknown = ResponseError::UnknownTopicOrPartition;
        let topics = req
            .topics
            .iter()
            .map(|t| {
                TopicData::default()
                    .with_topic_name(t.topic_name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                PartitionData::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code(unknown))
                                    .with_error_message(Some(text(unknown.to_string())))
                            })
                            .collect(),
                    )
            })
            .collect();
        return DescribeQuorumResponse::default().with_topics(topics);
    }
    let node = BrokerId(ctx.config.node_id);
    let high_watermark = ctx.features.finalized().epoch;
    // The leader's own state: its log end is the high watermark, and it fetched and
    // caught up just now (as Kafka reports its leader).
    let now = now_ms();
    let (fetched, caught_up) = if version >= 1 { (now, now) } else { (-1, -1) };
    let me = ReplicaState::default()
        .with_replica_id(node)
        .with_log_end_offset(high_watermark)
        .with_last_fetch_timestamp(fetched)
        .with_last_caught_up_timestamp(caught_up);
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(node)
        .with_leader_epoch(QUORUM_EPOCH)
        .with_high_watermark(high_watermark)
        .with_current_voters(vec![me])
        .with_observers(Vec::new());
    let mut response = DescribeQuorumResponse::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(text(METADATA_TOPIC)))
        .with_partitions(vec![partition])]);
    if version >= 2 {
        let port = u16::try_from(call.listener.advertised_port).unwrap_or(0);
        response.nodes =
            vec![Node::default()
                .with_node_id(node)
                .with_listeners(vec![Listener::default()
                    .with_name(text(LISTENER_NAME))
                    .with_host(text(call.listener.advertised_host.clone()))
                    .with_port(port)])];
    }
    response
}

/// DescribeQuorum: the metadata quorum's leader, epoch, high watermark and voters.
pub struct DescribeQuorum;

impl Api for DescribeQuorum {
    type Request = DescribeQuorumRequest;
    type Response = DescribeQuorumResponse;
    const KEY: ApiKey = ApiKey::DescribeQuorum;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeQuorumRequest,
    ) -> Handled<DescribeQuorumResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return DescribeQuorumResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .with_error_message(Some(text("Cluster authorization failed.")))
                .into();
        }
        describe_quorum(ctx, call, request).into()
    }
}
