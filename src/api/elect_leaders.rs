//! ElectLeaders (v0–v2): preferred and unclean leader elections, as Kafka's controller
//! answers them for one node. Every partition has one replica, this node, which leads it:
//! its leader is already the preferred one and a leader exists, so a named partition gets
//! ELECTION_NOT_NEEDED, an unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION (with
//! Kafka's messages). With no partitions named (null: all partitions), Kafka leaves out
//! those that needed no election, so every topic is listed with no partition.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse, TopicName};

use super::error::{code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};

/// PREFERRED (0) and UNCLEAN (1), the election types Kafka knows.
const KNOWN_ELECTION_TYPES: [i8; 2] = [0, 1];

/// The outcome of an election for one partition: its code and Kafka's message.
fn elect_one(ctx: &ApiContext, topic: &str, partition: i32) -> (i16, String) {
    let unknown = code(ResponseError::UnknownTopicOrPartition);
    match ctx.replicas.topics().get(topic) {
        None => (unknown, format!("No such topic as {topic}")),
        Some(t) if partition < 0 || partition >= t.partitions => {
            (unknown, format!("No such partition as {topic}-{partition}"))
        }
        Some(_) => {
            let not_needed = ResponseError::ElectionNotNeeded;
            (code(not_needed), not_needed.to_string())
        }
    }
}

/// Answers ElectLeaders v0–v2 (v0 is a preferred election and has no top-level error).
pub fn elect_leaders(
    ctx: &ApiContext,
    version: i16,
    req: ElectLeadersRequest,
) -> ElectLeadersResponse {
    if version >= 1 && !KNOWN_ELECTION_TYPES.contains(&req.election_type) {
        return ElectLeadersResponse::default()
            .with_error_code(code(ResponseError::InvalidRequest));
    }
    let results = match req.topic_partitions {
        None => {
            let mut topics = ctx.replicas.topics().list();
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            topics
                .iter()
                .map(|t| {
                    ReplicaElectionResult::default().with_topic(TopicName(text(t.name.clone())))
                })
                .collect()
        }
        Some(named) => named
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|&p| {
                        let (error, message) = elect_one(ctx, t.topic.as_str(), p);
                        PartitionResult::default()
                            .with_partition_id(p)
                            .with_error_code(error)
                            .with_error_message(Some(text(message)))
                    })
                    .collect();
                ReplicaElectionResult::default()
                    .with_topic(t.topic.clone())
                    .with_partition_result(partitions)
            })
            .collect(),
    };
    ElectLeadersResponse::default()
        .with_error_code(NONE)
        .with_replica_election_results(results)
}

/// Every requested partition refused with CLUSTER_AUTHORIZATION_FAILED (and the top-level
/// code), as Kafka answers a caller without ALTER on the cluster.
fn denied_elect_leaders(req: &ElectLeadersRequest) -> ElectLeadersResponse {
    use kafka_protocol::messages::elect_leaders_response::{
        PartitionResult, ReplicaElectionResult,
    };
    let error = ResponseError::ClusterAuthorizationFailed.code();
    ElectLeadersResponse::default()
        .with_error_code(error)
        .with_replica_election_results(
            req.topic_partitions
                .iter()
                .flatten()
                .map(|t| {
                    ReplicaElectionResult::default()
                        .with_topic(t.topic.clone())
                        .with_partition_result(
                            t.partitions
                                .iter()
                                .map(|&p| {
                                    PartitionResult::default()
                                        .with_partition_id(p)
                                        .with_error_code(error)
                                        .with_error_message(Some(text(
                                            "Cluster authorization failed.",
                                        )))
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
}

/// ElectLeaders: elect partitions' preferred (or any in-sync) replicas as leaders.
pub struct ElectLeaders;

impl Api for ElectLeaders {
    type Request = ElectLeadersRequest;
    type Response = ElectLeadersResponse;
    const KEY: ApiKey = ApiKey::ElectLeaders;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ElectLeadersRequest,
    ) -> Handled<ElectLeadersResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return denied_elect_leaders(&request).into();
        }
        elect_leaders(ctx, call.version, request).into()
    }
}
