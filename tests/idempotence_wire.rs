//! Raw-request tests of the idempotent producer and the transactional APIs, with requests
//! built by `kafka-protocol`: duplicated Produce requests, sequence gaps, stale epochs,
//! unknown transactional ids, EndTxn without AddPartitionsToTxn, transactional batches from
//! non-transactional producers, and the last stable offset never left stuck.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use bytes::Bytes;
use common::wire::Wire;
use common::{batches, start_broker};
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use skiff::BrokerHandle;

// Kafka's error codes used here.
const NONE: i16 = 0;
const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
const PRODUCER_FENCED: i16 = 90;
const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn tid(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.to_string()))
}

/// A producer's batch: `n` records from `base_seq`, transactional or not.
fn batch(pid: i64, epoch: i16, base_seq: i32, n: usize, transactional: bool) -> Bytes {
    let keys: Vec<String> = (0..n)
        .map(|i| format!("k{}", base_seq + i as i32))
        .collect();
    batches::producer_batch(pid, epoch, base_seq, transactional, &keys, b"value")
}

fn produce_request(
    topic: &str,
    partition: i32,
    transactional_id: Option<&str>,
    records: Bytes,
) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_transactional_id(transactional_id.map(tid))
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

/// (error code, base offset) of a one-partition Produce.
async fn produce(w: &mut Wire, req: &ProduceRequest) -> (i16, i64) {
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, req).await;
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// The latest offset of a partition: the high watermark (isolation 0) or the last stable
/// offset (isolation 1).
async fn latest(w: &mut Wire, topic: &str, partition: i32, isolation: i8) -> i64 {
    let r: ListOffsetsResponse = w
        .call(
            ApiKey::ListOffsets,
            7,
            &ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(isolation)
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![ListOffsetsPartition::default()
                        .with_partition_index(partition)
                        .with_timestamp(-1)])]),
        )
        .await;
    let p = &r.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    p.offset
}

async fn init_producer_id(
    w: &mut Wire,
    version: i16,
    transactional_id: Option<&str>,
) -> InitProducerIdResponse {
    w.call(
        ApiKey::InitProducerId,
        version,
        &InitProducerIdRequest::default()
            .with_transactional_id(transactional_id.map(tid))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )
    .await
}

/// AddPartitionsToTxn v3 (client form): the error of each partition.
async fn add_partitions(
    w: &mut Wire,
    version: i16,
    transactional_id: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
    partitions: &[i32],
) -> Vec<i16> {
    let r: AddPartitionsToTxnResponse = w
        .call(
            ApiKey::AddPartitionsToTxn,
            version,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(tid(transactional_id))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(name(topic))
                    .with_partitions(partitions.to_vec())]),
        )
        .await;
    r.results_by_topic_v3_and_below[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect()
}

async fn end_txn(
    w: &mut Wire,
    version: i16,
    transactional_id: &str,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> i16 {
    let r: EndTxnResponse = w
        .call(
            ApiKey::EndTxn,
            version,
            &EndTxnRequest::default()
                .with_transactional_id(tid(transactional_id))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(commit),
        )
        .await;
    r.error_code
}

/// OffsetFetch v7 with `require_stable`: (partition error code, committed offset).
async fn stable_offset(w: &mut Wire, group: &str, topic: &str) -> (i16, i64) {
    let r: OffsetFetchResponse = w
        .call(
            ApiKey::OffsetFetch,
            7,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_require_stable(true)
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(name(topic))
                    .with_partition_indexes(vec![0])])),
        )
        .await;
    assert_eq!(r.error_code, NONE);
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.committed_offset)
}

/// The committed offset of `group` for partition 0 of `topic` (OffsetFetch v5), or -1.
async fn committed_offset(w: &mut Wire, group: &str, topic: &str) -> i64 {
    let r: OffsetFetchResponse = w
        .call(
            ApiKey::OffsetFetch,
            5,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(name(topic))
                    .with_partition_indexes(vec![0])])),
        )
        .await;
    assert_eq!(r.error_code, NONE);
    r.topics[0].partitions[0].committed_offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_produce_is_written_once_and_answered_with_the_original_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("idem").await;

    let ids = init_producer_id(&mut w, 4, None).await;
    assert_eq!(ids.error_code, NONE);
    assert!(ids.producer_id.0 >= 0);
    assert_eq!(ids.producer_epoch, 0);
    let pid = ids.producer_id.0;

    // Another producer writes first, so the idempotent producer's offsets are not 0.
    let other = init_producer_id(&mut w, 4, None).await.producer_id.0;
    assert_ne!(other, pid);
    let (code, base) = produce(
        &mut w,
        &produce_request("idem", 0, None, batch(other, 0, 0, 2, false)),
    )
    .await;
    assert_eq!((code, base), (NONE, 0));

    let first = produce_request("idem", 0, None, batch(pid, 0, 0, 3, false));
    assert_eq!(produce(&mut w, &first).await, (NONE, 2));
    // The same request again (a retry after a lost response): original offset, no write.
    assert_eq!(produce(&mut w, &first).await, (NONE, 2));
    let second = produce_request("idem", 0, None, batch(pid, 0, 3, 4, false));
    assert_eq!(produce(&mut w, &second).await, (NONE, 5));
    // A retry of an older one of the last five batches is answered too.
    assert_eq!(produce(&mut w, &first).await, (NONE, 2));
    assert_eq!(produce(&mut w, &second).await, (NONE, 5));
    assert_eq!(latest(&mut w, "idem", 0, 0).await, 9, "each record once");

    // The records are there once each, in order.
    let fetched: FetchResponse = w
        .call(
            ApiKey::Fetch,
            12,
            &FetchRequest::default()
                .with_max_wait_ms(0)
                .with_min_bytes(1)
                .with_max_bytes(1 << 20)
                .with_topics(vec![fetch_request::FetchTopic::default()
                    .with_topic(name("idem"))
                    .with_partitions(vec![fetch_request::FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(0)
                        .with_partition_max_bytes(1 << 20)])]),
        )
        .await;
    let mut records = fetched.responses[0].partitions[0].records.clone().unwrap();
    let sets = kafka_protocol::records::RecordBatchDecoder::decode_all(&mut records).unwrap();
    let keys: Vec<String> = sets
        .iter()
        .flat_map(|s| s.records.iter())
        .filter(|r| r.producer_id == pid)
        .map(|r| String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap())
        .collect();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_gaps_and_stale_epochs_get_kafkas_codes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("seq").await;
    let pid = init_producer_id(&mut w, 4, None).await.producer_id.0;

    assert_eq!(
        produce(
            &mut w,
            &produce_request("seq", 0, None, batch(pid, 0, 0, 2, false))
        )
        .await,
        (NONE, 0)
    );
    // A gap: sequence 5 after 1.
    let (code, _) = produce(
        &mut w,
        &produce_request("seq", 0, None, batch(pid, 0, 5, 1, false)),
    )
    .await;
    assert_eq!(code, OUT_OF_ORDER_SEQUENCE_NUMBER);
    // A newer epoch starts again at 0; the old epoch is then stale.
    assert_eq!(
        produce(
            &mut w,
            &produce_request("seq", 0, None, batch(pid, 1, 0, 1, false))
        )
        .await,
        (NONE, 2)
    );
    let (code, _) = produce(
        &mut w,
        &produce_request("seq", 0, None, batch(pid, 0, 2, 1, false)),
    )
    .await;
    assert_eq!(code, INVALID_PRODUCER_EPOCH);
    assert_eq!(latest(&mut w, "seq", 0, 0).await, 3, "nothing else written");
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_transactional_requests_get_kafkas_codes_and_leave_no_stuck_lso() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("tx").await;

    // Unknown transactional ids.
    assert_eq!(
        add_partitions(&mut w, 3, "nobody", 1000, 0, "tx", &[0]).await,
        [INVALID_PRODUCER_ID_MAPPING]
    );
    assert_eq!(
        end_txn(&mut w, 3, "nobody", 1000, 0, true).await,
        INVALID_PRODUCER_ID_MAPPING
    );
    let described: DescribeTransactionsResponse = w
        .call(
            ApiKey::DescribeTransactions,
            0,
            &DescribeTransactionsRequest::default().with_transactional_ids(vec![tid("nobody")]),
        )
        .await;
    assert_eq!(
        described.transaction_states[0].error_code,
        TRANSACTIONAL_ID_NOT_FOUND
    );

    let ids = init_producer_id(&mut w, 4, Some("bad-tx")).await;
    assert_eq!(ids.error_code, NONE);
    let (pid, epoch) = (ids.producer_id.0, ids.producer_epoch);

    // EndTxn without AddPartitionsToTxn.
    assert_eq!(
        end_txn(&mut w, 3, "bad-tx", pid, epoch, true).await,
        INVALID_TXN_STATE
    );
    // A transactional batch without a transactional id in the request.
    let (code, _) = produce(
        &mut w,
        &produce_request("tx", 0, None, batch(pid, epoch, 0, 1, true)),
    )
    .await;
    assert_eq!(code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    // As in Kafka, the whole request is refused, its plain batches too.
    let mixed = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("tx"))
            .with_partition_data(vec![
                PartitionProduceData::default()
                    .with_index(2)
                    .with_records(Some(batch(-1, -1, -1, 1, false))),
                PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(batch(pid, epoch, 0, 1, true))),
            ])]);
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &mixed).await;
    let codes: Vec<i16> = r.responses[0]
        .partition_responses
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(
        codes,
        [
            TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        ]
    );
    // A transactional batch for a partition not added to the transaction (KIP-890).
    let (code, _) = produce(
        &mut w,
        &produce_request("tx", 0, Some("bad-tx"), batch(pid, epoch, 0, 1, true)),
    )
    .await;
    assert_eq!(code, INVALID_TXN_STATE);
    // A transactional batch from an idempotent (non-transactional) producer.
    let idem = init_producer_id(&mut w, 4, None).await.producer_id.0;
    let (code, _) = produce(
        &mut w,
        &produce_request("tx", 1, Some("bad-tx"), batch(idem, 0, 0, 1, true)),
    )
    .await;
    assert_eq!(code, INVALID_PRODUCER_ID_MAPPING);
    let (code, _) = produce(
        &mut w,
        &produce_request("tx", 1, None, batch(idem, 0, 0, 1, true)),
    )
    .await;
    assert_eq!(code, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);

    // Stale epochs: a second InitProducerId fences the first epoch.
    let bumped = init_producer_id(&mut w, 4, Some("bad-tx")).await;
    assert_eq!(bumped.producer_id.0, pid);
    assert_eq!(bumped.producer_epoch, epoch + 1);
    assert_eq!(
        add_partitions(&mut w, 3, "bad-tx", pid, epoch, "tx", &[0]).await,
        [PRODUCER_FENCED]
    );
    // Versions before KIP-588 are told INVALID_PRODUCER_EPOCH.
    assert_eq!(
        add_partitions(&mut w, 1, "bad-tx", pid, epoch, "tx", &[0]).await,
        [INVALID_PRODUCER_EPOCH]
    );
    assert_eq!(
        end_txn(&mut w, 3, "bad-tx", pid, epoch, false).await,
        PRODUCER_FENCED
    );
    assert_eq!(
        end_txn(&mut w, 1, "bad-tx", pid, epoch, false).await,
        INVALID_PRODUCER_EPOCH
    );
    // A wrong producer id.
    assert_eq!(
        add_partitions(&mut w, 3, "bad-tx", pid + 1000, epoch + 1, "tx", &[0]).await,
        [INVALID_PRODUCER_ID_MAPPING]
    );

    // Nothing was written, so every partition's LSO is its high watermark.
    for p in 0..3 {
        let hw = latest(&mut w, "tx", p, 0).await;
        assert_eq!(latest(&mut w, "tx", p, 1).await, hw, "partition {p}");
        assert_eq!(hw, 0, "partition {p}: no refused batch was appended");
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_transaction_holds_the_lso_until_it_commits_and_operators_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("raw-tx").await;
    let ids = init_producer_id(&mut w, 5, Some("raw")).await;
    assert_eq!(ids.error_code, NONE);
    let (pid, epoch) = (ids.producer_id.0, ids.producer_epoch);

    assert_eq!(
        add_partitions(&mut w, 3, "raw", pid, epoch, "raw-tx", &[0, 1]).await,
        [NONE, NONE]
    );
    assert_eq!(
        produce(
            &mut w,
            &produce_request("raw-tx", 0, Some("raw"), batch(pid, epoch, 0, 3, true))
        )
        .await,
        (NONE, 0)
    );
    assert_eq!(latest(&mut w, "raw-tx", 0, 0).await, 3);
    assert_eq!(
        latest(&mut w, "raw-tx", 0, 1).await,
        0,
        "LSO held by the open txn"
    );

    // The group's offsets join the transaction and are committed with it.
    let r: AddOffsetsToTxnResponse = w
        .call(
            ApiKey::AddOffsetsToTxn,
            3,
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(tid("raw"))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_group_id(GroupId(StrBytes::from_static_str("raw-group"))),
        )
        .await;
    assert_eq!(r.error_code, NONE);
    let r: TxnOffsetCommitResponse = w
        .call(
            ApiKey::TxnOffsetCommit,
            3,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(tid("raw"))
                .with_group_id(GroupId(StrBytes::from_static_str("raw-group")))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(name("raw-tx"))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(3)
                        .with_committed_leader_epoch(-1)])]),
        )
        .await;
    assert_eq!(r.topics[0].name.0.as_str(), "raw-tx");
    assert_eq!(r.topics[0].partitions[0].error_code, NONE);
    assert_eq!(committed_offset(&mut w, "raw-group", "raw-tx").await, -1);
    // A require_stable fetch is told the offset is pending (UNSTABLE_OFFSET_COMMIT, 88).
    assert_eq!(stable_offset(&mut w, "raw-group", "raw-tx").await, (88, -1));

    // The broker-side verification form (v4+, verify_only) sees the partitions.
    let verified: AddPartitionsToTxnResponse = w
        .call(
            ApiKey::AddPartitionsToTxn,
            5,
            &AddPartitionsToTxnRequest::default().with_transactions(vec![
                AddPartitionsToTxnTransaction::default()
                    .with_transactional_id(tid("raw"))
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch)
                    .with_verify_only(true)
                    .with_topics(vec![AddPartitionsToTxnTopic::default()
                        .with_name(name("raw-tx"))
                        .with_partitions(vec![0, 2])]),
            ]),
        )
        .await;
    assert_eq!(verified.error_code, NONE);
    let result = &verified.results_by_transaction[0];
    assert_eq!(result.transactional_id.0.as_str(), "raw");
    let codes: Vec<(i32, i16)> = result.topic_results[0]
        .results_by_partition
        .iter()
        .map(|p| (p.partition_index, p.partition_error_code))
        .collect();
    assert_eq!(
        codes,
        [(0, NONE), (2, 120)],
        "partition 2 is not in the txn: TRANSACTION_ABORTABLE (120, as Kafka 4.1.1 answers)"
    );

    // Operators see the transaction and the producer.
    let described: DescribeTransactionsResponse = w
        .call(
            ApiKey::DescribeTransactions,
            0,
            &DescribeTransactionsRequest::default().with_transactional_ids(vec![tid("raw")]),
        )
        .await;
    let s = &described.transaction_states[0];
    assert_eq!(s.error_code, NONE);
    assert_eq!(s.transaction_state.as_str(), "Ongoing");
    assert_eq!(s.producer_id.0, pid);
    let topics: Vec<(&str, Vec<i32>)> = s
        .topics
        .iter()
        .map(|t| (t.topic.0.as_str(), t.partitions.clone()))
        .collect();
    // Group offsets show as the group's __consumer_offsets partition (Java string hash of
    // "raw-group", masked, modulo 50).
    let hash = "raw-group"
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    let offsets_partition = (hash & 0x7fff_ffff) % 50;
    assert_eq!(
        topics,
        [
            ("raw-tx", vec![0, 1]),
            ("__consumer_offsets", vec![offsets_partition])
        ]
    );
    let listed: ListTransactionsResponse = w
        .call(
            ApiKey::ListTransactions,
            1,
            &ListTransactionsRequest::default()
                .with_state_filters(vec![
                    StrBytes::from_static_str("Ongoing"),
                    StrBytes::from_static_str("Bogus"),
                ])
                .with_duration_filter(-1),
        )
        .await;
    assert_eq!(
        listed.unknown_state_filters,
        [StrBytes::from_static_str("Bogus")]
    );
    assert_eq!(listed.transaction_states.len(), 1);
    assert_eq!(
        listed.transaction_states[0].transactional_id.0.as_str(),
        "raw"
    );
    // v2 (KIP-1152): the pattern must match the whole transactional id.
    for (pattern, expected) in [
        ("r.w", vec!["raw"]),
        ("ra", vec![]),
        ("", vec!["raw"]),
        ("x|raw", vec!["raw"]),
    ] {
        let listed: ListTransactionsResponse = w
            .call(
                ApiKey::ListTransactions,
                2,
                &ListTransactionsRequest::default()
                    .with_duration_filter(-1)
                    .with_transactional_id_pattern(Some(StrBytes::from_static_str(pattern))),
            )
            .await;
        assert_eq!(listed.error_code, NONE, "{pattern}");
        let ids: Vec<&str> = listed
            .transaction_states
            .iter()
            .map(|t| t.transactional_id.0.as_str())
            .collect();
        assert_eq!(ids, expected, "{pattern}");
    }
    let listed: ListTransactionsResponse = w
        .call(
            ApiKey::ListTransactions,
            2,
            &ListTransactionsRequest::default()
                .with_duration_filter(-1)
                .with_transactional_id_pattern(Some(StrBytes::from_static_str("(unclosed"))),
        )
        .await;
    assert_eq!(listed.error_code, 128, "INVALID_REGULAR_EXPRESSION");
    let producers: DescribeProducersResponse = w
        .call(
            ApiKey::DescribeProducers,
            0,
            &DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
                .with_name(name("raw-tx"))
                .with_partition_indexes(vec![0, 7])]),
        )
        .await;
    let parts = &producers.topics[0].partitions;
    assert_eq!(parts[0].error_code, NONE);
    assert_eq!(parts[0].active_producers.len(), 1);
    assert_eq!(parts[0].active_producers[0].producer_id.0, pid);
    assert_eq!(parts[0].active_producers[0].last_sequence, 2);
    assert_eq!(parts[0].active_producers[0].current_txn_start_offset, 0);
    assert_eq!(parts[1].error_code, 3, "partition 7 does not exist");

    // Commit: a marker closes both partitions, the LSO reaches the high watermark.
    assert_eq!(end_txn(&mut w, 4, "raw", pid, epoch, true).await, NONE);
    // A retried EndTxn is answered again.
    assert_eq!(end_txn(&mut w, 4, "raw", pid, epoch, true).await, NONE);
    assert_eq!(
        latest(&mut w, "raw-tx", 0, 0).await,
        4,
        "3 records and a marker"
    );
    assert_eq!(latest(&mut w, "raw-tx", 0, 1).await, 4);
    assert_eq!(latest(&mut w, "raw-tx", 1, 1).await, 1, "a marker alone");
    assert_eq!(committed_offset(&mut w, "raw-group", "raw-tx").await, 3);
    assert_eq!(
        stable_offset(&mut w, "raw-group", "raw-tx").await,
        (NONE, 3)
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_left_open_is_aborted_after_its_timeout_and_the_lso_advances() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        &["transaction.abort.timed.out.transaction.cleanup.interval.ms=50"],
    )
    .await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("stale-tx").await;
    let ids: InitProducerIdResponse = w
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(tid("stale")))
                .with_transaction_timeout_ms(200)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    let (pid, epoch) = (ids.producer_id.0, ids.producer_epoch);
    assert_eq!(
        add_partitions(&mut w, 3, "stale", pid, epoch, "stale-tx", &[0]).await,
        [NONE]
    );
    assert_eq!(
        produce(
            &mut w,
            &produce_request("stale-tx", 0, Some("stale"), batch(pid, epoch, 0, 2, true))
        )
        .await
        .0,
        NONE
    );
    assert_eq!(latest(&mut w, "stale-tx", 0, 1).await, 0);

    // Wait (on the coordinator's own progress, not a sleep) for the timeout abort.
    let mut stats = broker_txn_stats(&broker);
    stats.wait_for(|s| s.timed_out >= 1).await.unwrap();
    assert_eq!(
        latest(&mut w, "stale-tx", 0, 0).await,
        3,
        "2 records, abort marker"
    );
    assert_eq!(
        latest(&mut w, "stale-tx", 0, 1).await,
        3,
        "the LSO advanced"
    );
    // The old epoch is fenced by the abort's epoch bump.
    assert_ne!(end_txn(&mut w, 4, "stale", pid, epoch, true).await, NONE);
    broker.shutdown().await.unwrap();
}

fn broker_txn_stats(
    broker: &BrokerHandle,
) -> tokio::sync::watch::Receiver<skiff::broker::txn::TxnStats> {
    broker.transactions().subscribe_stats()
}

/// JoinGroup v3 then SyncGroup v3 as the only member of `group`: (member id, generation).
async fn join_group_alone(w: &mut Wire, group: &str) -> (String, i32) {
    use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
    let joined: JoinGroupResponse = w
        .call(
            ApiKey::JoinGroup,
            3,
            &JoinGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(10_000)
                .with_protocol_type(StrBytes::from_static_str("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str("range"))
                    .with_metadata(Bytes::from_static(b"subscription"))]),
        )
        .await;
    assert_eq!(joined.error_code, NONE);
    let synced: SyncGroupResponse = w
        .call(
            ApiKey::SyncGroup,
            3,
            &SyncGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_generation_id(joined.generation_id)
                .with_member_id(joined.member_id.clone()),
        )
        .await;
    assert_eq!(synced.error_code, NONE);
    (joined.member_id.to_string(), joined.generation_id)
}

/// TxnOffsetCommit v3 of offset 1 for partition 0 of `topic`: the partition's error code.
async fn txn_offset_commit(
    w: &mut Wire,
    (pid, epoch): (i64, i16),
    group: &str,
    topic: &str,
    member: (&str, i32, Option<&str>),
) -> i16 {
    let (member_id, generation, instance) = member;
    let r: TxnOffsetCommitResponse = w
        .call(
            ApiKey::TxnOffsetCommit,
            3,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(tid("kip447"))
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_generation_id(generation)
                .with_member_id(StrBytes::from_string(member_id.to_string()))
                .with_group_instance_id(instance.map(|i| StrBytes::from_string(i.to_string())))
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(name(topic))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(1)
                        .with_committed_leader_epoch(-1)])]),
        )
        .await;
    r.topics[0].partitions[0].error_code
}

#[tokio::test]
async fn txn_offset_commit_checks_the_group_member_as_kip_447() {
    const ILLEGAL_GENERATION: i16 = 22;
    const UNKNOWN_MEMBER_ID: i16 = 25;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["group.initial.rebalance.delay.ms=0"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("kip447").await;
    let (member, generation) = join_group_alone(&mut w, "kip447-group").await;
    let ids = init_producer_id(&mut w, 5, Some("kip447")).await;
    let producer = (ids.producer_id.0, ids.producer_epoch);
    for group in ["kip447-group", "kip447-unknown"] {
        let r: AddOffsetsToTxnResponse = w
            .call(
                ApiKey::AddOffsetsToTxn,
                3,
                &AddOffsetsToTxnRequest::default()
                    .with_transactional_id(tid("kip447"))
                    .with_producer_id(ProducerId(producer.0))
                    .with_producer_epoch(producer.1)
                    .with_group_id(GroupId(StrBytes::from_string(group.to_string()))),
            )
            .await;
        assert_eq!(r.error_code, NONE);
    }
    let g = "kip447-group";
    // The current member at the current generation, and an anonymous commit (a producer
    // that names only the group) are accepted.
    let cases = [
        (member.as_str(), generation, NONE, "the member"),
        ("", -1, NONE, "no member named"),
        (
            member.as_str(),
            generation + 1,
            ILLEGAL_GENERATION,
            "a zombie's generation",
        ),
        ("ghost", generation, UNKNOWN_MEMBER_ID, "an unknown member"),
    ];
    for (member_id, gen, want, what) in cases {
        let got = txn_offset_commit(&mut w, producer, g, "kip447", (member_id, gen, None)).await;
        assert_eq!(got, want, "{what}");
    }
    // A group that does not exist accepts only commits that name no generation.
    assert_eq!(
        txn_offset_commit(&mut w, producer, "kip447-unknown", "kip447", ("", 3, None)).await,
        ILLEGAL_GENERATION
    );
    assert_eq!(
        txn_offset_commit(&mut w, producer, "kip447-unknown", "kip447", ("", -1, None)).await,
        NONE
    );
    // After the member leaves, the group is Empty: generation -1 commits are accepted.
    let left: LeaveGroupResponse = w
        .call(
            ApiKey::LeaveGroup,
            2,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("kip447-group")))
                .with_member_id(StrBytes::from_string(member.clone())),
        )
        .await;
    assert_eq!(left.error_code, NONE);
    assert_eq!(
        txn_offset_commit(&mut w, producer, g, "kip447", (&member, -1, None)).await,
        NONE
    );
    assert_eq!(
        txn_offset_commit(&mut w, producer, g, "kip447", (&member, generation, None)).await,
        UNKNOWN_MEMBER_ID
    );
    drop(w);
    broker.shutdown().await.unwrap();
}
