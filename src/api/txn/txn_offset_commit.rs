//! TxnOffsetCommit (v0–v5).

use std::sync::Arc;

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TopicName, TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use kafka_protocol::protocol::StrBytes;

use crate::api::{ApiContext, Handled};
use crate::broker::txn::{self, PartitionResult, TxnApi, TxnError, TxnOffsetCommitPartition};

use super::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::Call;
use kafka_protocol::messages::ApiKey;

fn txn_offset_commit_response(
    results: &[PartitionResult],
    version: i16,
) -> TxnOffsetCommitResponse {
    let mut topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new();
    for r in results {
        let partition = TxnOffsetCommitResponsePartition::default()
            .with_partition_index(r.partition)
            .with_error_code(code(&r.result, TxnApi::TxnOffsetCommit, version));
        match topics.iter_mut().find(|t| t.name.0.as_str() == r.topic) {
            Some(t) => t.partitions.push(partition),
            None => topics.push(
                TxnOffsetCommitResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(r.topic.clone())))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// TxnOffsetCommit v0–v5: stores the offsets as pending in the transaction (they reach the
/// group when it commits). Generation, member and instance ids are checked from v3. Up to
/// v4 the group must have joined the transaction with AddOffsetsToTxn (else
/// TRANSACTION_ABORTABLE from v4, INVALID_TXN_STATE before); v5 is transaction.version 2
/// (KIP-890 part 2): the group joins the transaction here.
pub fn txn_offset_commit(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: TxnOffsetCommitRequest,
) -> Handled<TxnOffsetCommitResponse> {
    txn_offset_commit_authorized(ctx, version, req, Vec::new())
}

/// Every partition of the request answered `error`.
fn all_failed(req: &TxnOffsetCommitRequest, error: i16) -> TxnOffsetCommitResponse {
    TxnOffsetCommitResponse::default().with_topics(
        req.topics
            .iter()
            .map(|t| {
                TxnOffsetCommitResponseTopic::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                TxnOffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(error)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// TxnOffsetCommit of the topics not in `denied` (those the caller may not READ), which
/// are answered TOPIC_AUTHORIZATION_FAILED.
fn txn_offset_commit_authorized(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: TxnOffsetCommitRequest,
    denied: Vec<String>,
) -> Handled<TxnOffsetCommitResponse> {
    let mut denied_answer = req.clone();
    denied_answer
        .topics
        .retain(|t| denied.iter().any(|d| d == t.name.0.as_str()));
    let denied_answer = all_failed(
        &denied_answer,
        kafka_protocol::error::ResponseError::TopicAuthorizationFailed.code(),
    );
    let offsets: Vec<TxnOffsetCommitPartition> = req
        .topics
        .iter()
        .filter(|t| !denied.iter().any(|d| d == t.name.0.as_str()))
        .flat_map(|t| {
            t.partitions.iter().map(|p| TxnOffsetCommitPartition {
                topic: t.name.0.to_string(),
                partition: p.partition_index,
                committed_offset: p.committed_offset,
                committed_leader_epoch: if version >= 2 {
                    p.committed_leader_epoch
                } else {
                    -1
                },
                committed_metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            })
        })
        .collect();
    let input = txn::TxnOffsetCommitRequest {
        transactional_id: req.transactional_id.0.to_string(),
        group_id: req.group_id.0.to_string(),
        producer_id: req.producer_id.0,
        producer_epoch: req.producer_epoch,
        generation_id: if version >= 3 { req.generation_id } else { -1 },
        member_id: if version >= 3 {
            req.member_id.to_string()
        } else {
            String::new()
        },
        group_instance_id: if version >= 3 {
            req.group_instance_id.map(|g| g.to_string())
        } else {
            None
        },
        offsets,
        implicit_add: version >= 5,
    };
    let failed: Vec<PartitionResult> = input
        .offsets
        .iter()
        .map(|o| PartitionResult {
            topic: o.topic.clone(),
            partition: o.partition,
            result: Err(TxnError::UnknownServerError),
        })
        .collect();
    let mut on_panic = txn_offset_commit_response(&failed, version);
    on_panic.topics.extend(denied_answer.topics.iter().cloned());
    blocking(
        ctx,
        move |txns| {
            let results = if input.offsets.is_empty() {
                Vec::new()
            } else {
                txns.txn_offset_commit(&input)
            };
            let mut response = txn_offset_commit_response(&results, version);
            response.topics.extend(denied_answer.topics);
            response
        },
        on_panic,
    )
}

/// TxnOffsetCommit: offsets committed within a transaction.
pub struct TxnOffsetCommit;

impl Api for TxnOffsetCommit {
    type Request = TxnOffsetCommitRequest;
    type Response = TxnOffsetCommitResponse;
    const KEY: ApiKey = ApiKey::TxnOffsetCommit;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: TxnOffsetCommitRequest,
    ) -> Handled<TxnOffsetCommitResponse> {
        // As Kafka: WRITE on the transactional id, READ on the group, READ on each topic.
        if !ctx.authorize(
            call,
            AclOperation::Write,
            ResourceType::TransactionalId,
            &request.transactional_id,
        ) {
            let error =
                kafka_protocol::error::ResponseError::TransactionalIdAuthorizationFailed.code();
            return all_failed(&request, error).into();
        }
        if !ctx.authorized::<Self>(call, &request.group_id) {
            let error = kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code();
            return all_failed(&request, error).into();
        }
        let denied: Vec<String> = request
            .topics
            .iter()
            .map(|t| t.name.0.to_string())
            .filter(|t| !ctx.authorize(call, AclOperation::Read, ResourceType::Topic, t))
            .collect();
        txn_offset_commit_authorized(ctx, call.version, request, denied)
    }
}
