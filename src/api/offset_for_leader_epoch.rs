//! OffsetForLeaderEpoch: the end offset of a leader epoch, for consumers validating their
//! position after a leader change.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::error::{code, leader_epoch_check, NONE};
use super::ApiContext;
use crate::storage::Log;

/// The largest epoch ≤ `requested` and the offset where it ended: the log end offset for
/// the current epoch, `(-1, -1)` for an epoch above the current one or before the first.
pub fn epoch_end_offset(log: &Log, requested: i32, current: i32) -> (i32, i64) {
    if requested == current {
        (current, log.log_end_offset())
    } else if requested > current {
        (-1, -1)
    } else {
        log.end_offset_for_epoch(requested)
    }
}

/// Answers an OffsetForLeaderEpoch request (v2–v4).
pub fn handle(ctx: &ApiContext, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let current = ctx.replicas.leader_epoch();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.0.as_str().to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = EpochEndOffset::default()
                        .with_partition(p.partition)
                        .with_leader_epoch(-1)
                        .with_end_offset(-1);
                    let Some(log) = ctx.replicas.log(&name, p.partition) else {
                        r.error_code = code(ResponseError::UnknownTopicOrPartition);
                        return r;
                    };
                    let epoch_error = leader_epoch_check(p.current_leader_epoch, current);
                    if epoch_error != NONE {
                        r.error_code = epoch_error;
                        return r;
                    }
                    let (epoch, end) = epoch_end_offset(&log, p.leader_epoch, current);
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
    const AUTHORIZATION: super::registry::Authorization = super::registry::Authorization::Requires(
        super::registry::AclOperation::Describe,
        super::registry::ResourceType::Topic,
    );

    fn handle(
        ctx: &std::sync::Arc<ApiContext>,
        _call: &super::Call,
        request: OffsetForLeaderEpochRequest,
    ) -> super::Handled<OffsetForLeaderEpochResponse> {
        handle(ctx, request).into()
    }
}
