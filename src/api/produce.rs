//! Produce: hands each partition's record batches to its [`Partition`](crate::broker::Partition),
//! which applies the topic's produce policy and appends them as they arrived (no
//! decompression) in request order; acks=-1 waits for the log's durability.
//!
//! The records' bytes count toward the client's `producer_byte_rate` quota; a client over
//! it is answered at once with `throttle_time_ms` and its channel muted for that long
//! ([`super::throttle`]).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use super::error::{code, partition_error_code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::throttle::{quota_client_id, quota_user, throttle_ms_field};
use super::{ApiContext, Call, Handled, Reply, TypedFuture};
use crate::broker::partition::{
    has_transactional_batch, AppendFailure, AppendRequest, PendingAppend,
};
use crate::broker::quota::QuotaKind;
use crate::broker::PartitionError;

/// A partition's append, queued in request order; its answer goes at `topic`/`partition`.
struct Pending {
    append: PendingAppend,
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

/// The answer for an append that failed (batches before the failing one stay appended,
/// and their base offset is reported).
fn failed(index: i32, failure: &AppendFailure) -> PartitionProduceResponse {
    let mut r = partition_error(index, partition_error_code(&failure.error));
    if let PartitionError::InvalidRecord {
        message,
        record_errors,
    } = &failure.error
    {
        r.error_message = Some(StrBytes::from_string(message.clone()));
        r.record_errors = record_errors
            .iter()
            .map(|re| {
                BatchIndexAndErrorMessage::default()
                    .with_batch_index(re.batch_index)
                    .with_batch_index_error_message(Some(StrBytes::from_string(re.message.clone())))
            })
            .collect();
    }
    if let Some(base) = failure.base_offset {
        r.base_offset = base;
    }
    r
}

/// Checks one partition's records and queues them on the partition (in request order);
/// the answer is filled in when the append completes.
fn produce_partition(
    ctx: &ApiContext,
    topic: &str,
    index: i32,
    records: Option<Bytes>,
    acks: i16,
    transactional_id: Option<&str>,
    version: i16,
) -> Result<PendingAppend, i16> {
    let partition = ctx
        .replicas
        .partition_for_produce(topic, index)
        .map_err(|e| partition_error_code(&e))?;
    partition
        .append(AppendRequest {
            records: records.unwrap_or_default(),
            acks,
            transactional_id,
            txns: &ctx.txns,
            produce_version: version,
        })
        .map_err(|e| partition_error_code(&e))
}

/// Kafka refuses a whole Produce request that holds a transactional batch but names no
/// transactional id, or one the caller may not WRITE: TRANSACTIONAL_ID_AUTHORIZATION_FAILED
/// for every partition.
fn check_transactional_id(ctx: &ApiContext, call: &Call, req: &ProduceRequest) -> Option<i16> {
    let transactional = req
        .topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .filter_map(|p| p.records.as_ref())
        .any(|records| has_transactional_batch(records));
    let authorized = match &req.transactional_id {
        Some(id) => ctx.authorize(
            call,
            AclOperation::Write,
            ResourceType::TransactionalId,
            id.as_str(),
        ),
        None => false,
    };
    (transactional && !authorized).then(|| code(ResponseError::TransactionalIdAuthorizationFailed))
}

/// Records the request's record bytes against the client's `producer_byte_rate` quota
/// and mutes its channel if it is over: the throttle time in milliseconds (0 if not).
fn record_produce_bytes(ctx: &ApiContext, call: &Call, req: &ProduceRequest) -> i64 {
    if !ctx.quotas.enabled(QuotaKind::Produce) {
        return 0;
    }
    let bytes: usize = req
        .topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .filter_map(|p| p.records.as_ref())
        .map(|r| r.len())
        .sum();
    let throttle = ctx.quotas.record(
        QuotaKind::Produce,
        quota_user(call),
        quota_client_id(call),
        bytes as f64,
    );
    call.throttle.mute_for(throttle);
    throttle
}

/// Produce version from which topics are named by id (KIP-516).
const TOPIC_ID_VERSION: i16 = 13;

/// Handles a Produce request: appends now (in request order), answers when the acks are met.
///
/// v12 is v11 on the wire; it is what transaction.version 2 clients (KIP-890 part 2) send,
/// and a transactional batch adds its partition to the transaction implicitly (as Kafka
/// does by request version, whatever transaction.version is finalized); up to v11 it must
/// have been added with AddPartitionsToTxn. v13 names topics by id; an id no topic has is
/// UNKNOWN_TOPIC_ID.
pub fn handle(
    ctx: &Arc<ApiContext>,
    call: &Call,
    req: ProduceRequest,
) -> TypedFuture<ProduceResponse> {
    let version = call.version;
    let acks = req.acks;
    let bandwidth_throttle = record_produce_bytes(ctx, call, &req);
    let transactional_id = req.transactional_id.as_ref().map(|t| t.0.to_string());
    let whole_request_error = if !matches!(acks, -1..=1) {
        Some(code(ResponseError::InvalidRequiredAcks))
    } else {
        check_transactional_id(ctx, call, &req)
    };
    let mut pending = Vec::new();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (ti, topic) in req.topic_data.into_iter().enumerate() {
        let by_id = version >= TOPIC_ID_VERSION;
        let (name, topic_error) = if by_id {
            match ctx.replicas.topics().get_by_id(&topic.topic_id) {
                Some(t) => (t.name.clone(), whole_request_error),
                None => (
                    String::new(),
                    whole_request_error.or(Some(code(ResponseError::UnknownTopicId))),
                ),
            }
        } else {
            (topic.name.0.as_str().to_string(), whole_request_error)
        };
        let topic_error = topic_error.or_else(|| {
            (!ctx.authorized::<Produce>(call, &name))
                .then(|| code(ResponseError::TopicAuthorizationFailed))
        });
        let partition_responses = topic
            .partition_data
            .into_iter()
            .enumerate()
            .map(|(pi, p)| match topic_error {
                Some(err) => partition_error(p.index, err),
                None => match produce_partition(
                    ctx,
                    &name,
                    p.index,
                    p.records,
                    acks,
                    transactional_id.as_deref(),
                    version,
                ) {
                    Ok(append) => {
                        pending.push(Pending {
                            append,
                            topic: ti,
                            partition: pi,
                        });
                        partition_error(p.index, NONE)
                    }
                    Err(error) => partition_error(p.index, error),
                },
            })
            .collect();
        let answer = TopicProduceResponse::default().with_partition_responses(partition_responses);
        responses.push(if by_id {
            answer.with_topic_id(topic.topic_id)
        } else {
            answer.with_name(topic.name)
        });
    }
    let response = ProduceResponse::default().with_responses(responses);
    let throttle = call.throttle.clone();
    Box::pin(async move {
        let mut response = response;
        for w in pending {
            let outcome = w.append.outcome().await;
            let Some(p) = response
                .responses
                .get_mut(w.topic)
                .and_then(|t| t.partition_responses.get_mut(w.partition))
            else {
                continue;
            };
            match outcome {
                Ok(o) => {
                    p.base_offset = o.base_offset;
                    p.log_append_time_ms = o.log_append_time;
                    p.log_start_offset = o.log_start_offset;
                }
                Err(failure) => *p = failed(p.index, &failure),
            }
        }
        // The request-time quota may have muted the channel too: report the longer.
        response.throttle_time_ms =
            throttle_ms_field(bandwidth_throttle).max(throttle.remaining_ms());
        if acks == 0 {
            let failed = response
                .responses
                .iter()
                .flat_map(|t| &t.partition_responses)
                .any(|p| p.error_code != NONE);
            return if failed { Reply::Close } else { Reply::Nothing };
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
    const MAX_VERSION: i16 = 13;
    const MIN_SERVED: i16 = 3;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Write, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ProduceRequest,
    ) -> Handled<ProduceResponse> {
        Handled::Later(handle(ctx, call, request))
    }
}
