//! The transactional APIs of producers: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! EndTxn and TxnOffsetCommit, served by the transaction coordinator.
//!
//! The coordinator's request methods are synchronous and wait for the state store's fsync,
//! so each handler runs its call on the blocking pool and answers from the returned future.
//! Errors go out through [`TxnError::code_for`], which downgrades codes an older request
//! version does not know.

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod describe_producers;
pub mod describe_transactions;
pub mod end_txn;
pub mod init_producer_id;
pub mod list_transactions;
pub mod txn_offset_commit;

use std::sync::Arc;

use crate::api::{ApiContext, Handled, Reply};
use crate::broker::txn::{TxnApi, TxnCoordinator, TxnError};

/// Runs `work` on the blocking pool (the coordinator may wait for fsync) and sends its
/// response; a panicked task is answered with `on_panic`.
pub(crate) fn blocking<R, F>(ctx: &Arc<ApiContext>, work: F, on_panic: R) -> Handled<R>
where
    R: Send + 'static,
    F: FnOnce(&TxnCoordinator) -> R + Send + 'static,
{
    let txns = Arc::clone(&ctx.txns);
    Handled::Later(Box::pin(async move {
        match tokio::task::spawn_blocking(move || work(&txns)).await {
            Ok(response) => Reply::Send(response),
            Err(e) => {
                tracing::error!(error = %e, "transaction request task failed");
                Reply::Send(on_panic)
            }
        }
    }))
}

pub(crate) fn code(result: &Result<(), TxnError>, api: TxnApi, version: i16) -> i16 {
    match result {
        Ok(()) => 0,
        Err(e) => e.code_for(api, version),
    }
}

pub(crate) fn unknown_server_error() -> i16 {
    TxnError::UnknownServerError.code()
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

    use crate::api::registry;
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
            let a = registry::lookup(key).unwrap();
            a.min_version..=a.max_version
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
