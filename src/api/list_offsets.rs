//! ListOffsets: earliest, latest, max-timestamp and by-timestamp offsets of partitions.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::error::{code, partition_error_code};
use super::ApiContext;
use crate::broker::partition::OffsetSpec;

/// ListOffsets timestamp: the log end offset (high watermark).
pub const LATEST_TIMESTAMP: i64 = -1;
/// ListOffsets timestamp: the log start offset.
pub const EARLIEST_TIMESTAMP: i64 = -2;
/// ListOffsets timestamp (v7+): the record with the largest timestamp.
pub const MAX_TIMESTAMP: i64 = -3;
/// ListOffsets timestamp (v8+): the earliest offset held locally (no tiered storage here).
pub const EARLIEST_LOCAL_TIMESTAMP: i64 = -4;
/// ListOffsets timestamp (v9+, KIP-1005): the last offset in tiered storage. Without
/// tiered storage Kafka answers no offset (-1), as does Skiff.
pub const LATEST_TIERED_TIMESTAMP: i64 = -5;

/// What a ListOffsets timestamp asks for; `None` for a value the protocol does not define.
fn offset_spec(timestamp: i64) -> Option<OffsetSpec> {
    match timestamp {
        LATEST_TIMESTAMP => Some(OffsetSpec::Latest),
        EARLIEST_TIMESTAMP => Some(OffsetSpec::Earliest),
        EARLIEST_LOCAL_TIMESTAMP => Some(OffsetSpec::EarliestLocal),
        LATEST_TIERED_TIMESTAMP => Some(OffsetSpec::LatestTiered),
        MAX_TIMESTAMP => Some(OffsetSpec::MaxTimestamp),
        ts if ts >= 0 => Some(OffsetSpec::Timestamp(ts)),
        _ => None,
    }
}

/// Answers a ListOffsets request (v1–v10; v10's timeout only bounds waits for remote
/// storage, which Skiff does not have). A topic the caller may not DESCRIBE is
/// TOPIC_AUTHORIZATION_FAILED.
pub fn handle(
    ctx: &ApiContext,
    call: &super::Call,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let version = call.version;
    let read_committed = version >= 2 && req.isolation_level == 1;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.as_str().to_string();
            let authorized = ctx.authorized::<ListOffsets>(call, &name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    if !authorized {
                        r.error_code = code(ResponseError::TopicAuthorizationFailed);
                        return r;
                    }
                    let partition = match ctx.replicas.partition_or_error(&name, p.partition_index)
                    {
                        Ok(partition) => partition,
                        Err(e) => {
                            r.error_code = partition_error_code(&e);
                            return r;
                        }
                    };
                    if let Err(e) = partition.check_leader_epoch(p.current_leader_epoch) {
                        r.error_code = partition_error_code(&e);
                        return r;
                    }
                    let Some(spec) = offset_spec(p.timestamp) else {
                        r.error_code = code(ResponseError::InvalidRequest);
                        return r;
                    };
                    match partition.list_offset(spec, read_committed) {
                        Ok(found) => {
                            r.timestamp = found.timestamp;
                            r.offset = found.offset;
                            // The leader epoch field exists from v4 on.
                            r.leader_epoch = if version >= 4 { found.leader_epoch } else { -1 };
                        }
                        Err(e) => r.error_code = partition_error_code(&e),
                    }
                    r
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// ListOffsets: offsets by timestamp, earliest, latest, max timestamp.
pub struct ListOffsets;

impl super::Api for ListOffsets {
    type Request = ListOffsetsRequest;
    type Response = ListOffsetsResponse;
    const KEY: kafka_protocol::messages::ApiKey = kafka_protocol::messages::ApiKey::ListOffsets;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 10;
    const AUTHORIZATION: super::spec::Authorization = super::spec::Authorization::Requires(
        super::spec::AclOperation::Describe,
        super::spec::ResourceType::Topic,
    );

    fn handle(
        ctx: &std::sync::Arc<ApiContext>,
        call: &super::Call,
        request: ListOffsetsRequest,
    ) -> super::Handled<ListOffsetsResponse> {
        handle(ctx, call, request).into()
    }
}
