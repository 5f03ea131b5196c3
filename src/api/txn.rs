//! The transactional APIs of producers: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! EndTxn and TxnOffsetCommit, served by the transaction coordinator.
//!
//! The coordinator's request methods are synchronous and wait for the state store's fsync,
//! so each handler runs its call on the blocking pool and answers from the returned future.
//! Errors go out through [`TxnError::code_for`], which downgrades codes an older request
//! version does not know.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProducerId, TopicName, TransactionalId, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::{ApiContext, Reply, Response, ResponseFuture};
use crate::broker::txn::{
    self, AddPartitionsRequest, PartitionResult, TxnApi, TxnCoordinator, TxnError,
    TxnOffsetCommitPartition,
};
use crate::storage::record::batch::split_batches;

/// Runs `work` on the blocking pool (the coordinator may wait for fsync) and sends its
/// response; a panicked task is answered with `on_panic`.
fn blocking<F>(ctx: &Arc<ApiContext>, work: F, on_panic: Response) -> ResponseFuture
where
    F: FnOnce(&TxnCoordinator) -> Response + Send + 'static,
{
    let txns = Arc::clone(&ctx.txns);
    Box::pin(async move {
        match tokio::task::spawn_blocking(move || work(&txns)).await {
            Ok(response) => Reply::Send(response),
            Err(e) => {
                tracing::error!(error = %e, "transaction request task failed");
                Reply::Send(on_panic)
            }
        }
    })
}

fn code(result: &Result<(), TxnError>, api: TxnApi, version: i16) -> i16 {
    match result {
        Ok(()) => 0,
        Err(e) => e.code_for(api, version),
    }
}

fn unknown_server_error() -> i16 {
    TxnError::UnknownServerError.code()
}

// ---- Produce (KIP-890) -------------------------------------------------------------

/// Checks the transactional batches of one partition of a Produce request before any is
/// appended: a transactional batch needs the request's transactional id
/// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED without one, as Kafka answers) and a partition
/// added to that producer's open transaction (KIP-890 verification), so that no batch
/// lands where no marker will ever close it. Coordinator states a producer should retry
/// through are answered NOT_ENOUGH_REPLICAS, as Kafka does.
pub fn verify_produce_batches(
    txns: &TxnCoordinator,
    transactional_id: Option<&str>,
    topic: &str,
    partition: i32,
    records: &Bytes,
) -> Result<(), i16> {
    let mut checked: Option<(i64, i16)> = None;
    for item in split_batches(records) {
        let Ok((header, _)) = item else {
            return Err(ResponseError::CorruptMessage.code());
        };
        if !header.is_transactional() {
            continue;
        }
        let Some(transactional_id) = transactional_id else {
            return Err(ResponseError::TransactionalIdAuthorizationFailed.code());
        };
        let producer = (header.producer_id, header.producer_epoch);
        if checked == Some(producer) {
            continue;
        }
        txns.verify_produce(transactional_id, producer.0, producer.1, topic, partition)
            .map_err(|e| match e {
                TxnError::ConcurrentTransactions | TxnError::CoordinatorNotAvailable => {
                    ResponseError::NotEnoughReplicas.code()
                }
                other => other.code(),
            })?;
        checked = Some(producer);
    }
    Ok(())
}

// ---- InitProducerId -----------------------------------------------------------------

/// InitProducerId v0–v5: a producer id and epoch (bumped and fencing for a transactional
/// id; KIP-360 bumps from v3). Errors carry producer id -1 and epoch -1.
pub fn init_producer_id(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: InitProducerIdRequest,
) -> ResponseFuture {
    let input = txn::InitProducerIdRequest {
        transactional_id: req.transactional_id.map(|t| t.0.to_string()),
        transaction_timeout_ms: req.transaction_timeout_ms,
        producer_id: if version >= 3 { req.producer_id.0 } else { -1 },
        producer_epoch: if version >= 3 { req.producer_epoch } else { -1 },
    };
    let failed = |code: i16| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    let on_panic = Response::InitProducerId(failed(unknown_server_error()));
    blocking(
        ctx,
        move |txns| {
            let response = match txns.init_producer_id(&input) {
                Ok(ids) => InitProducerIdResponse::default()
                    .with_producer_id(ProducerId(ids.producer_id))
                    .with_producer_epoch(ids.producer_epoch),
                Err(e) => failed(e.code_for(TxnApi::InitProducerId, version)),
            };
            Response::InitProducerId(response)
        },
        on_panic,
    )
}

// ---- AddPartitionsToTxn -------------------------------------------------------------

fn partitions_of(topics: &[AddPartitionsToTxnTopic]) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for t in topics {
        for p in &t.partitions {
            let entry = (t.name.0.to_string(), *p);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

/// Groups per-partition results by topic, topics in first-seen order.
fn topic_results(
    results: &[PartitionResult],
    api: TxnApi,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut out: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for r in results {
        let partition = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(r.partition)
            .with_partition_error_code(code(&r.result, api, version));
        match out.iter_mut().find(|t| t.name.0.as_str() == r.topic) {
            Some(t) => t.results_by_partition.push(partition),
            None => out.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(StrBytes::from_string(r.topic.clone())))
                    .with_results_by_partition(vec![partition]),
            ),
        }
    }
    out
}

/// AddPartitionsToTxn v0–v5. Up to v3 the request is one transaction from its top-level
/// fields; from v4 (KIP-890) it is a batch of transactions, each possibly `verify_only`.
pub fn add_partitions_to_txn(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: AddPartitionsToTxnRequest,
) -> ResponseFuture {
    let api = TxnApi::AddPartitionsToTxn;
    if version < 4 {
        let input = AddPartitionsRequest {
            transactional_id: req.v3_and_below_transactional_id.0.to_string(),
            producer_id: req.v3_and_below_producer_id.0,
            producer_epoch: req.v3_and_below_producer_epoch,
            verify_only: false,
            partitions: partitions_of(&req.v3_and_below_topics),
        };
        let failed: Vec<PartitionResult> = input
            .partitions
            .iter()
            .map(|(t, p)| PartitionResult {
                topic: t.clone(),
                partition: *p,
                result: Err(TxnError::UnknownServerError),
            })
            .collect();
        let on_panic = Response::AddPartitionsToTxn(
            AddPartitionsToTxnResponse::default()
                .with_results_by_topic_v3_and_below(topic_results(&failed, api, version)),
        );
        return blocking(
            ctx,
            move |txns| {
                let results = txns.add_partitions_to_txn(&input);
                Response::AddPartitionsToTxn(
                    AddPartitionsToTxnResponse::default()
                        .with_results_by_topic_v3_and_below(topic_results(&results, api, version)),
                )
            },
            on_panic,
        );
    }
    let inputs: Vec<AddPartitionsRequest> = req
        .transactions
        .iter()
        .map(|t| AddPartitionsRequest {
            transactional_id: t.transactional_id.0.to_string(),
            producer_id: t.producer_id.0,
            producer_epoch: t.producer_epoch,
            verify_only: t.verify_only,
            partitions: partitions_of(&t.topics),
        })
        .collect();
    let on_panic = Response::AddPartitionsToTxn(
        AddPartitionsToTxnResponse::default().with_error_code(unknown_server_error()),
    );
    blocking(
        ctx,
        move |txns| {
            let results = inputs
                .iter()
                .map(|input| {
                    let results = txns.add_partitions_to_txn(input);
                    AddPartitionsToTxnResult::default()
                        .with_transactional_id(TransactionalId(StrBytes::from_string(
                            input.transactional_id.clone(),
                        )))
                        .with_topic_results(topic_results(&results, api, version))
                })
                .collect();
            Response::AddPartitionsToTxn(
                AddPartitionsToTxnResponse::default().with_results_by_transaction(results),
            )
        },
        on_panic,
    )
}

// ---- AddOffsetsToTxn / EndTxn -------------------------------------------------------

/// AddOffsetsToTxn v0–v4: puts the group's offsets into the producer's transaction.
pub fn add_offsets_to_txn(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: AddOffsetsToTxnRequest,
) -> ResponseFuture {
    let on_panic = Response::AddOffsetsToTxn(
        AddOffsetsToTxnResponse::default().with_error_code(unknown_server_error()),
    );
    blocking(
        ctx,
        move |txns| {
            let result = txns.add_offsets_to_txn(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.group_id.0.as_str(),
            );
            Response::AddOffsetsToTxn(AddOffsetsToTxnResponse::default().with_error_code(code(
                &result,
                TxnApi::AddOffsetsToTxn,
                version,
            )))
        },
        on_panic,
    )
}

/// EndTxn v0–v4: commits or aborts the producer's transaction.
pub fn end_txn(ctx: &Arc<ApiContext>, version: i16, req: EndTxnRequest) -> ResponseFuture {
    let on_panic =
        Response::EndTxn(EndTxnResponse::default().with_error_code(unknown_server_error()));
    blocking(
        ctx,
        move |txns| {
            let result = txns.end_txn(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.committed,
            );
            Response::EndTxn(EndTxnResponse::default().with_error_code(code(
                &result,
                TxnApi::EndTxn,
                version,
            )))
        },
        on_panic,
    )
}

// ---- TxnOffsetCommit ----------------------------------------------------------------

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

/// TxnOffsetCommit v0–v4: stores the offsets as pending in the transaction (they reach the
/// group when it commits). Generation, member and instance ids are checked from v3.
pub fn txn_offset_commit(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: TxnOffsetCommitRequest,
) -> ResponseFuture {
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
    let on_panic = Response::TxnOffsetCommit(txn_offset_commit_response(&failed, version));
    blocking(
        ctx,
        move |txns| {
            let results = txns.txn_offset_commit(&input);
            Response::TxnOffsetCommit(txn_offset_commit_response(&results, version))
        },
        on_panic,
    )
}
