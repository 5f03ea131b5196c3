//! OffsetForLeaderEpoch: the end offset of a leader epoch, for consumers validating their
//! position after a leader change.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::error::{code, partition_error_code};
use super::ApiContext;

/// Answers an OffsetForLeaderEpoch request (v2–v4). A consumer needs DESCRIBE on the topic,
/// a follower (replica id ≥ 0) CLUSTER_ACTION; else TOPIC_AUTHORIZATION_FAILED.
pub fn handle(
    ctx: &ApiContext,
    call: &super::Call,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let follower = req.replica_id.0 >= 0;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.as_str().to_string();
            let authorized = if follower {
                ctx.authorize_cluster(call, super::spec::AclOperation::ClusterAction)
            } else {
                ctx.authorized::<OffsetForLeaderEpoch>(call, &name)
            };
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    if !authorized {
                        r.error_code = code(ResponseError::TopicAuthorizationFailed);
                        return r;
                    }
                    let Some(partition) = ctx.replicas.partition(&name, p.partition) else {
                        r.error_code = code(ResponseError::UnknownTopicOrPartition);
                        return r;
                    };
                    if let Err(e) = partition.check_leader_epoch(p.current_leader_epoch) {
                        r.error_code = partition_error_code(&e);
                        return r;
                    }
                    let (epoch, end) = partition.end_offset_for_epoch(p.leader_epoch);
                    r.leader_epoch = epoch;
                    r.end_offset = end;
                    r
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

/// OffsetForLeaderEpoch: where each requested leader epoch ends.
pub struct OffsetForLeaderEpoch;

impl super::Api for OffsetForLeaderEpoch {
    type Request = OffsetForLeaderEpochRequest;
    type Response = OffsetForLeaderEpochResponse;
    const KEY: kafka_protocol::messages::ApiKey =
        kafka_protocol::messages::ApiKey::OffsetForLeaderEpoch;
    const MIN_VERSION: i16 = 2;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: super::spec::Authorization = super::spec::Authorization::Requires(
        super::spec::AclOperation::Describe,
        super::spec::ResourceType::Topic,
    );

    fn handle(
        ctx: &std::sync::Arc<ApiContext>,
        call: &super::Call,
        request: OffsetForLeaderEpochRequest,
    ) -> super::Handled<OffsetForLeaderEpochResponse> {
        handle(ctx, call, request).into()
    }
}
