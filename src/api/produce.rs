//! Produce: validates each partition's record batches and appends them to the partition log
//! as they arrived (no decompression); acks=-1 waits for the log's durability.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use super::error::{code, storage_error_code, NONE};
use super::registry::{AclOperation, Api, Authorization, ResourceType};
use super::{ApiContext, Call, Handled, Reply, TypedFuture};
use crate::broker::topic_config::TopicSettings;
use crate::broker::{internal_topics, validate_topic_name};
use crate::storage::record::batch::split_batches;
use crate::storage::record::{recompress_level, BatchHeader};
use crate::storage::types::DEFAULT_MAX_DECOMPRESSED;
use crate::storage::{Log, StorageError, TimestampType};

/// Where a partition's appended data ends, for acks=-1.
struct DurabilityWait {
    log: Arc<Log>,
    last_offset: i64,
    topic: usize,
    partition: usize,
}

fn partition_error(index: i32, error: i16) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(error)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
}

/// Checks every batch of a partition's records before anything is appended, so that a
/// malformed request appends nothing. The CRC is checked by the log on append.
fn validate_batches(records: &Bytes, max_batch_bytes: usize) -> Result<Vec<(usize, usize)>, i16> {
    let mut ranges = Vec::new();
    let mut pos = 0usize;
    for item in split_batches(records) {
        let (header, bytes): (BatchHeader, &[u8]) =
            item.map_err(|_| code(ResponseError::CorruptMessage))?;
        let len = bytes.len();
        if len > max_batch_bytes {
            return Err(code(ResponseError::MessageTooLarge));
        }
        if header.record_count <= 0
            || header.last_offset_delta != header.record_count - 1
            || header.is_control()
            || header.compression_id() > 4
        {
            return Err(code(ResponseError::InvalidRecord));
        }
        ranges.push((pos, pos + len));
        pos += len;
    }
    if pos != records.len() {
        // A truncated or garbled tail: sizes that do not add up.
        return Err(code(ResponseError::CorruptMessage));
    }
    Ok(ranges)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Applies a topic's `message.timestamp.before/after.max.ms` (CreateTime topics: the
/// batch's first and largest timestamps must lie in the window around now, else
/// INVALID_TIMESTAMP) and `compression.type` (the batch is recompressed when its codec
/// differs).
fn apply_topic_settings(batch: BytesMut, settings: &TopicSettings) -> Result<BytesMut, i16> {
    let h = BatchHeader::parse(&batch).map_err(|_| code(ResponseError::CorruptMessage))?;
    if settings.timestamp_type == TimestampType::CreateTime
        && (settings.timestamp_before_max_ms < i64::MAX
            || settings.timestamp_after_max_ms < i64::MAX)
    {
        let now = now_ms();
        let earliest = now.saturating_sub(settings.timestamp_before_max_ms);
        let latest = now.saturating_add(settings.timestamp_after_max_ms);
        let first = h.base_timestamp;
        let max = h.max_timestamp.max(first);
        if first < earliest || max > latest {
            return Err(code(ResponseError::InvalidTimestamp));
        }
    }
    match settings.compression {
        Some(c) if c.id() != h.compression_id() && !h.is_control() => recompress_level(
            &batch,
            c,
            settings.compression_level,
            DEFAULT_MAX_DECOMPRESSED,
        )
        .map(|b| BytesMut::from(&b[..]))
        .map_err(|e| storage_error_code(&e)),
        _ => Ok(batch),
    }
}

#[allow(clippy::too_many_arguments)]
fn produce_partition(
    ctx: &ApiContext,
    topic: &str,
    index: i32,
    records: Option<Bytes>,
    acks: i16,
    waits: &mut Vec<DurabilityWait>,
    position: (usize, usize),
    transactional_id: Option<&str>,
) -> PartitionProduceResponse {
    // Kafka's internal topics are written by its coordinators only (Skiff's coordinators
    // keep their state elsewhere): clients get INVALID_TOPIC_EXCEPTION, as from Kafka,
    // whether the topic exists yet or not.
    if internal_topics::is_internal(topic) {
        return partition_error(index, code(ResponseError::InvalidTopicException));
    }
    let Some(log) = ctx.replicas.log(topic, index) else {
        let err = if validate_topic_name(topic).is_err() {
            ResponseError::InvalidTopicException
        } else {
            ResponseError::UnknownTopicOrPartition
        };
        return partition_error(index, code(err));
    };
    let records = records.unwrap_or_default();
    let settings = ctx.replicas.topic_settings(topic);
    // One broker is the whole in-sync replica set: acks=all cannot be satisfied when the
    // topic asks for more (Kafka answers NOT_ENOUGH_REPLICAS and appends nothing).
    if acks == -1 && settings.min_insync_replicas > 1 {
        return partition_error(index, code(ResponseError::NotEnoughReplicas));
    }
    let ranges = match validate_batches(&records, settings.log.max_batch_bytes) {
        Ok(r) => r,
        Err(e) => return partition_error(index, e),
    };
    if let Err(e) =
        super::txn::verify_produce_batches(&ctx.txns, transactional_id, topic, index, &records)
    {
        return partition_error(index, e);
    }
    let mut response = partition_error(index, NONE);
    response.log_start_offset = log.log_start_offset();
    let mut last_offset = -1;
    for (i, (from, to)) in ranges.into_iter().enumerate() {
        let batch = records
            .get(from..to)
            .map(BytesMut::from)
            .unwrap_or_default();
        let batch = match apply_topic_settings(batch, &settings) {
            Ok(b) => b,
            Err(error) => {
                let mut r = partition_error(index, error);
                if i > 0 {
                    r.base_offset = response.base_offset;
                }
                return r;
            }
        };
        match log.append(batch, ctx.replicas.leader_epoch(), settings.timestamp_type) {
            Ok(info) => {
                if i == 0 {
                    response.base_offset = info.base_offset;
                    response.log_append_time_ms = info.log_append_time;
                }
                response.log_start_offset = info.log_start_offset;
                last_offset = info.last_offset;
            }
            Err(e) => {
                tracing::debug!(topic, partition = index, error = %e, "append rejected");
                // Batches before this one stay appended, as their offsets are assigned.
                let mut r = partition_error(index, storage_error_code(&e));
                if let StorageError::InvalidRecord {
                    message,
                    record_errors,
                } = &e
                {
                    r.error_message = Some(StrBytes::from_string(message.clone()));
                    r.record_errors = record_errors
                        .iter()
                        .map(|re| {
                            BatchIndexAndErrorMessage::default()
                                .with_batch_index(re.batch_index)
                                .with_batch_index_error_message(Some(StrBytes::from_string(
                                    re.message.clone(),
                                )))
                        })
                        .collect();
                }
                if i > 0 {
                    r.base_offset = response.base_offset;
                }
                return r;
            }
        }
    }
    if acks == -1 && last_offset >= 0 {
        waits.push(DurabilityWait {
            log,
            last_offset,
            topic: position.0,
            partition: position.1,
        });
    }
    response
}

/// Handles a Produce request: appends now (in request order), answers when the acks are met.
pub fn handle(
    ctx: &Arc<ApiContext>,
    _version: i16,
    req: ProduceRequest,
) -> TypedFuture<ProduceResponse> {
    let acks = req.acks;
    let transactional_id = req.transactional_id.as_ref().map(|t| t.0.to_string());
    let whole_request_error = if !matches!(acks, -1..=1) {
        Some(code(ResponseError::InvalidRequiredAcks))
    } else {
        super::txn::check_transactional_id(&req)
    };
    let mut waits = Vec::new();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (ti, topic) in req.topic_data.into_iter().enumerate() {
        let name = topic.name.0.as_str().to_string();
        let partition_responses = topic
            .partition_data
            .into_iter()
            .enumerate()
            .map(|(pi, p)| match whole_request_error {
                Some(err) => partition_error(p.index, err),
                None => produce_partition(
                    ctx,
                    &name,
                    p.index,
                    p.records,
                    acks,
                    &mut waits,
                    (ti, pi),
                    transactional_id.as_deref(),
                ),
            })
            .collect();
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_partition_responses(partition_responses),
        );
    }
    let response = ProduceResponse::default().with_responses(responses);
    if acks == 0 {
        let failed = response
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .any(|p| p.error_code != NONE);
        let reply = if failed { Reply::Close } else { Reply::Nothing };
        return Box::pin(std::future::ready(reply));
    }
    Box::pin(async move {
        let mut response = response;
        for w in waits {
            if let Err(e) = w.log.wait_durable(w.last_offset).await {
                tracing::warn!(error = %e, "waiting for durability failed");
                if let Some(p) = response
                    .responses
                    .get_mut(w.topic)
                    .and_then(|t| t.partition_responses.get_mut(w.partition))
                {
                    p.error_code = storage_error_code(&e);
                }
            }
        }
        Reply::Send(response)
    })
}

/// Produce: appends each partition's record batches.
pub struct Produce;

impl Api for Produce {
    type Request = ProduceRequest;
    type Response = ProduceResponse;
    const KEY: ApiKey = ApiKey::Produce;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 11;
    const MIN_SERVED: i16 = 3;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Write, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ProduceRequest,
    ) -> Handled<ProduceResponse> {
        Handled::Later(handle(ctx, call.version, request))
    }
}
