//! ListOffsets: earliest, latest, max-timestamp and by-timestamp offsets of partitions.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::error::{code, leader_epoch_check, storage_error_code, NONE};
use super::ApiContext;
use crate::storage::Log;

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

fn lookup(
    log: &Log,
    timestamp: i64,
    current: i32,
    read_committed: bool,
) -> Result<(i64, i64, i32), i16> {
    let epoch_of = |offset: i64| log.epoch_for_offset(offset).unwrap_or(current);
    match timestamp {
        LATEST_TIMESTAMP => {
            // read_committed consumers start at the last stable offset.
            let end = if read_committed {
                log.last_stable_offset()
            } else {
                log.high_watermark()
            };
            Ok((-1, end, current))
        }
        EARLIEST_TIMESTAMP | EARLIEST_LOCAL_TIMESTAMP => {
            let start = log.log_start_offset();
            Ok((-1, start, epoch_of(start)))
        }
        LATEST_TIERED_TIMESTAMP => Ok((-1, -1, -1)),
        MAX_TIMESTAMP => match log.max_timestamp() {
            Ok(Some((offset, ts))) => Ok((ts, offset, epoch_of(offset))),
            Ok(None) => Ok((-1, -1, -1)),
            Err(e) => Err(storage_error_code(&e)),
        },
        ts if ts >= 0 => match log.find_offset_by_timestamp(ts) {
            Ok(Some((offset, found_ts))) => Ok((found_ts, offset, epoch_of(offset))),
            Ok(None) => Ok((-1, -1, -1)),
            Err(e) => Err(storage_error_code(&e)),
        },
        _ => Err(code(ResponseError::InvalidRequest)),
    }
}

/// Answers a ListOffsets request (v1–v10; v10's timeout only bounds waits for remote
/// storage, which Skiff does not have).
pub fn handle(ctx: &ApiContext, version: i16, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let current = ctx.replicas.leader_epoch();
    let read_committed = version >= 2 && req.isolation_level == 1;
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.as_str().to_string();
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let mut r = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1)
                        .with_leader_epoch(-1);
                    let Some(log) = ctx.replicas.log(&name, p.partition_index) else {
                        r.error_code = code(ResponseError::UnknownTopicOrPartition);
                        return r;
                    };
                    let epoch_error = leader_epoch_check(p.current_leader_epoch, current);
                    if epoch_error != NONE {
                        r.error_code = epoch_error;
                        return r;
                    }
                    match lookup(&log, p.timestamp, current, read_committed) {
                        Ok((ts, offset, epoch)) => {
                            r.timestamp = ts;
                            r.offset = offset;
                            // The leader epoch field exists from v4 on.
                            r.leader_epoch = if version >= 4 { epoch } else { -1 };
                        }
                        Err(e) => r.error_code = e,
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
    const AUTHORIZATION: super::registry::Authorization = super::registry::Authorization::Requires(
        super::registry::AclOperation::Describe,
        super::registry::ResourceType::Topic,
    );

    fn handle(
        ctx: &std::sync::Arc<ApiContext>,
        call: &super::Call,
        request: ListOffsetsRequest,
    ) -> super::Handled<ListOffsetsResponse> {
        handle(ctx, call.version, request).into()
    }
}
