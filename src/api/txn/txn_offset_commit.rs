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
    let offsets: Vec<TxnOffsetCommitPartition> = req
        .topics
        .iter()
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
    let on_panic = txn_offset_commit_response(&failed, version);
    blocking(
        ctx,
        move |txns| {
            let results = txns.txn_offset_commit(&input);
            txn_offset_commit_response(&results, version)
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
        txn_offset_commit(ctx, call.version, request)
    }
}
