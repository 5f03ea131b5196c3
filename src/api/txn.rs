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
    InitProducerIdResponse, ProduceRequest, ProducerId, TopicName, TransactionalId,
    TxnOffsetCommitRequest, TxnOffsetCommitResponse,
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

/// Kafka refuses a whole Produce request that holds a transactional batch but names no
/// transactional id: TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every partition.
pub fn check_transactional_id(req: &ProduceRequest) -> Option<i16> {
    if req.transactional_id.is_some() {
        return None;
    }
    let transactional = req
        .topic_data
        .iter()
        .flat_map(|t| &t.partition_data)
        .filter_map(|p| p.records.as_ref())
        .flat_map(|records| split_batches(records))
        .any(|b| b.is_ok_and(|(header, _)| header.is_transactional()));
    transactional.then(|| ResponseError::TransactionalIdAuthorizationFailed.code())
}

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

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
    };
    use kafka_protocol::messages::describe_producers_request::TopicRequest;
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

    use crate::api::versions;
    use crate::server::precheck::check_body;

    fn s(v: &'static str) -> StrBytes {
        StrBytes::from_static_str(v)
    }

    fn encoded<T: Encodable>(body: &T, version: i16) -> Vec<u8> {
        let mut b = BytesMut::new();
        body.encode(&mut b, version).unwrap();
        b.to_vec()
    }

    /// A request of every transactional API at every advertised version, with the fields
    /// of that version set.
    fn samples() -> Vec<(ApiKey, i16, Vec<u8>)> {
        let mut out = Vec::new();
        let range = |key: ApiKey| {
            let a = versions::supported(key).unwrap();
            a.min..=a.max
        };
        for v in range(ApiKey::InitProducerId) {
            let mut r = InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s("t"))))
                .with_transaction_timeout_ms(1000);
            if v >= 3 {
                r.producer_id = ProducerId(7);
                r.producer_epoch = 2;
            }
            out.push((ApiKey::InitProducerId, v, encoded(&r, v)));
        }
        let topic = AddPartitionsToTxnTopic::default()
            .with_name(TopicName(s("topic")))
            .with_partitions(vec![0, 1, 2]);
        for v in range(ApiKey::AddPartitionsToTxn) {
            let r = if v >= 4 {
                AddPartitionsToTxnRequest::default().with_transactions(vec![
                    AddPartitionsToTxnTransaction::default()
                        .with_transactional_id(TransactionalId(s("t")))
                        .with_producer_id(ProducerId(7))
                        .with_verify_only(true)
                        .with_topics(vec![topic.clone(), topic.clone()]),
                ])
            } else {
                AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(TransactionalId(s("t")))
                    .with_v3_and_below_producer_id(ProducerId(7))
                    .with_v3_and_below_topics(vec![topic.clone()])
            };
            out.push((ApiKey::AddPartitionsToTxn, v, encoded(&r, v)));
        }
        for v in range(ApiKey::AddOffsetsToTxn) {
            let r = AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s("t")))
                .with_group_id(GroupId(s("g")));
            out.push((ApiKey::AddOffsetsToTxn, v, encoded(&r, v)));
        }
        for v in range(ApiKey::EndTxn) {
            let r = EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s("t")))
                .with_committed(true);
            out.push((ApiKey::EndTxn, v, encoded(&r, v)));
        }
        for v in range(ApiKey::TxnOffsetCommit) {
            let mut p = TxnOffsetCommitRequestPartition::default()
                .with_committed_offset(5)
                .with_committed_metadata(Some(s("meta")));
            if v >= 2 {
                p.committed_leader_epoch = 3;
            }
            let mut r = TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s("t")))
                .with_group_id(GroupId(s("g")))
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("topic")))
                    .with_partitions(vec![p.clone(), p])]);
            if v >= 3 {
                r.generation_id = 4;
                r.member_id = s("member");
                r.group_instance_id = Some(s("instance"));
            }
            out.push((ApiKey::TxnOffsetCommit, v, encoded(&r, v)));
        }
        let r = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
            .with_name(TopicName(s("topic")))
            .with_partition_indexes(vec![0, 1])]);
        out.push((ApiKey::DescribeProducers, 0, encoded(&r, 0)));
        let r = DescribeTransactionsRequest::default()
            .with_transactional_ids(vec![TransactionalId(s("a")), TransactionalId(s("bb"))]);
        out.push((ApiKey::DescribeTransactions, 0, encoded(&r, 0)));
        for v in range(ApiKey::ListTransactions) {
            let mut r = ListTransactionsRequest::default()
                .with_state_filters(vec![s("Ongoing")])
                .with_producer_id_filters(vec![ProducerId(1), ProducerId(2)]);
            if v >= 1 {
                r.duration_filter = 1000;
            }
            out.push((ApiKey::ListTransactions, v, encoded(&r, v)));
        }
        out
    }

    #[test]
    fn precheck_accepts_every_version_and_the_decoder_agrees() {
        for (key, v, body) in samples() {
            assert_eq!(check_body(key, v, &body), Ok(()), "{key:?} v{v}");
            let mut bytes = bytes::Bytes::from(body);
            let decoded = match key {
                ApiKey::InitProducerId => InitProducerIdRequest::decode(&mut bytes, v).map(drop),
                ApiKey::AddPartitionsToTxn => {
                    AddPartitionsToTxnRequest::decode(&mut bytes, v).map(drop)
                }
                ApiKey::AddOffsetsToTxn => AddOffsetsToTxnRequest::decode(&mut bytes, v).map(drop),
                ApiKey::EndTxn => EndTxnRequest::decode(&mut bytes, v).map(drop),
                ApiKey::TxnOffsetCommit => TxnOffsetCommitRequest::decode(&mut bytes, v).map(drop),
                ApiKey::DescribeProducers => {
                    DescribeProducersRequest::decode(&mut bytes, v).map(drop)
                }
                ApiKey::DescribeTransactions => {
                    DescribeTransactionsRequest::decode(&mut bytes, v).map(drop)
                }
                ApiKey::ListTransactions => {
                    ListTransactionsRequest::decode(&mut bytes, v).map(drop)
                }
                other => panic!("unexpected {other:?}"),
            };
            assert!(decoded.is_ok(), "{key:?} v{v} decodes");
        }
    }

    #[test]
    fn precheck_refuses_every_truncation() {
        for (key, v, body) in samples() {
            for cut in 0..body.len() {
                assert!(
                    check_body(key, v, &body[..cut]).is_err(),
                    "{key:?} v{v} cut at {cut} of {}",
                    body.len()
                );
            }
        }
    }

    #[test]
    fn precheck_refuses_huge_counts() {
        // DescribeTransactions v0 (compact): an id array claiming 2^32 - 2 elements.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(check_body(ApiKey::DescribeTransactions, 0, &body).is_err());
        // ListTransactions v0: no state filters, then a producer-id array claiming
        // 2^28 elements of 8 bytes each.
        let body = [0x01, 0xff, 0xff, 0xff, 0x7f, 0x00];
        assert!(check_body(ApiKey::ListTransactions, 0, &body).is_err());
        // AddPartitionsToTxn v2: a topic whose partition array claims i32::MAX elements.
        let mut body = vec![
            0, 1, b't', 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 1, 0, 1, b'x',
        ];
        body.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(check_body(ApiKey::AddPartitionsToTxn, 2, &body).is_err());
    }
}
