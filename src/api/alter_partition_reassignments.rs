//! AlterPartitionReassignments (v0–v1): moving partitions' replicas, as Kafka's controller
//! answers it for one node. The only broker is this node and every partition's replicas are
//! `[this node]`, so the only valid target is `[this node]`: a no-op that completes at once
//! (nothing is ever in progress). Per partition, in Kafka's order: an unknown topic or
//! partition is UNKNOWN_TOPIC_OR_PARTITION; a cancellation (null replicas) finds no
//! reassignment (NO_REASSIGNMENT_IN_PROGRESS); a target that is empty, names a broker that
//! is not registered or names one twice is INVALID_REPLICA_ASSIGNMENT. A valid target never
//! changes the replication factor, so v1's `allow_replication_factor_change` is honoured
//! whatever it says (and echoed, as Kafka does).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
};

use super::error::{code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};

/// Why a target replica list is refused, in Kafka's words; `None` if it is valid.
fn invalid_target(replicas: &[BrokerId], this_node: i32) -> Option<String> {
    if replicas.is_empty() {
        return Some("The manual partition assignment includes an empty replica list.".into());
    }
    let mut sorted: Vec<i32> = replicas.iter().map(|b| b.0).collect();
    sorted.sort_unstable();
    let mut previous = None;
    for id in sorted {
        if id != this_node {
            return Some(format!(
                "The manual partition assignment includes broker {id}, but no such broker is registered."
            ));
        }
        if previous == Some(id) {
            return Some(format!(
                "The manual partition assignment includes the broker {id} more than once."
            ));
        }
        previous = Some(id);
    }
    None
}

/// The outcome for one partition: its code and message (`None` on success).
fn reassign_one(
    ctx: &ApiContext,
    topic: &str,
    partition: i32,
    replicas: Option<&[BrokerId]>,
) -> (i16, Option<String>) {
    let unknown = code(ResponseError::UnknownTopicOrPartition);
    let Some(t) = ctx.replicas.topics().get(topic) else {
        return (
            unknown,
            Some(format!("Unable to find a topic named {topic}.")),
        );
    };
    if partition < 0 || partition >= t.partitions {
        return (
            unknown,
            Some(format!("Unable to find partition {topic}:{partition}.")),
        );
    }
    match replicas {
        None => {
            let none = ResponseError::NoReassignmentInProgress;
            (code(none), Some(none.to_string()))
        }
        Some(target) => match invalid_target(target, ctx.config.node_id) {
            Some(message) => (code(ResponseError::InvalidReplicaAssignment), Some(message)),
            None => (NONE, None),
        },
    }
}

/// Answers AlterPartitionReassignments v0–v1.
pub fn alter_partition_reassignments(
    ctx: &ApiContext,
    version: i16,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let responses = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let (error, message) = reassign_one(
                        ctx,
                        t.name.as_str(),
                        p.partition_index,
                        p.replicas.as_deref(),
                    );
                    ReassignablePartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error)
                        .with_error_message(message.map(text))
                })
                .collect();
            ReassignableTopicResponse::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    AlterPartitionReassignmentsResponse::default()
        // v0 has no such field (its default, true, is what v0 means).
        .with_allow_replication_factor_change(version == 0 || req.allow_replication_factor_change)
        .with_error_code(NONE)
        .with_error_message(None)
        .with_responses(responses)
}

/// AlterPartitionReassignments: start or cancel moving partitions' replicas.
pub struct AlterPartitionReassignments;

impl Api for AlterPartitionReassignments {
    type Request = AlterPartitionReassignmentsRequest;
    type Response = AlterPartitionReassignmentsResponse;
    const KEY: ApiKey = ApiKey::AlterPartitionReassignments;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AlterPartitionReassignmentsRequest,
    ) -> Handled<AlterPartitionReassignmentsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return AlterPartitionReassignmentsResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .with_error_message(Some(text("Cluster authorization failed.")))
                .into();
        }
        alter_partition_reassignments(ctx, call.version, request).into()
    }
}
