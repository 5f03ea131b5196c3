//! transaction.version 2 (KIP-890 part 2) and feature flags through the wire, with requests
//! built by `kafka-protocol` the way a Java 4.1 producer sends them: Produce v12 without
//! AddPartitionsToTxn, EndTxn v5 (epoch bump, id and epoch returned), TxnOffsetCommit v5
//! without AddOffsetsToTxn, an exhausted epoch moving to a new producer id; ApiVersions'
//! features and UpdateFeatures (a downgrade to transaction.version 1, kept across a restart).
//! Expected codes are Kafka 4.1.1's answers to the same requests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use bytes::Bytes;
use common::wire::Wire;
use common::{batches, start_broker};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::update_features_request::FeatureUpdateKey;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

const NONE: i16 = 0;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const PRODUCER_FENCED: i16 = 90;
const INVALID_UPDATE_VERSION: i16 = 95;
const TRANSACTION_ABORTABLE: i16 = 120;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn batch(pid: i64, epoch: i16, base_seq: i32, key: &str) -> Bytes {
    batches::producer_batch(pid, epoch, base_seq, true, &[key.to_string()], b"v")
}

/// A transactional Produce of one record at `version`: the partition's error code.
async fn produce(
    w: &mut Wire,
    version: i16,
    t: &str,
    pid: i64,
    epoch: i16,
    seq: i32,
    key: &str,
) -> i16 {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_transactional_id(Some(TransactionalId(s(t))))
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s("tv2")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(pid, epoch, seq, key)))])]);
    let r: ProduceResponse = w.call(ApiKey::Produce, version, &req).await;
    r.responses[0].partition_responses[0].error_code
}

/// AddPartitionsToTxn v3 (transaction.version 0/1) of partition 0 of `tv2`: its error.
async fn add_partition_v3(w: &mut Wire, t: &str, pid: i64, epoch: i16) -> i16 {
    let r: AddPartitionsToTxnResponse = w
        .call(
            ApiKey::AddPartitionsToTxn,
            3,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(TransactionalId(s(t)))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(s("tv2")))
                    .with_partitions(vec![0])]),
        )
        .await;
    r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
}

async fn init(w: &mut Wire, t: &str) -> (i64, i16) {
    let r: InitProducerIdResponse = w
        .call(
            ApiKey::InitProducerId,
            5,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s(t))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(r.error_code, NONE);
    (r.producer_id.0, r.producer_epoch)
}

/// EndTxn at `version`: (error, producer id, producer epoch) as answered.
async fn end(
    w: &mut Wire,
    version: i16,
    t: &str,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> (i16, i64, i16) {
    let r: EndTxnResponse = w
        .call(
            ApiKey::EndTxn,
            version,
            &EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s(t)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(commit),
        )
        .await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

/// (high watermark, last stable offset) of partition 0.
async fn offsets(w: &mut Wire) -> (i64, i64) {
    let mut out = [0i64; 2];
    for isolation in [0i8, 1] {
        let r: ListOffsetsResponse = w
            .call(
                ApiKey::ListOffsets,
                7,
                &ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_isolation_level(isolation)
                    .with_topics(vec![ListOffsetsTopic::default()
                        .with_name(TopicName(s("tv2")))
                        .with_partitions(vec![ListOffsetsPartition::default()
                            .with_partition_index(0)
                            .with_timestamp(-1)])]),
            )
            .await;
        out[isolation as usize] = r.topics[0].partitions[0].offset;
    }
    (out[0], out[1])
}

/// The aborted transactions a read_committed Fetch v11 reports: (producer id, first offset).
async fn aborted(w: &mut Wire) -> Vec<(i64, i64)> {
    let r: FetchResponse = w
        .call(
            ApiKey::Fetch,
            11,
            &FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(0)
                .with_max_bytes(1 << 20)
                .with_isolation_level(1)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(TopicName(s("tv2")))
                    .with_partitions(vec![FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(2)
                        .with_partition_max_bytes(1 << 20)])]),
        )
        .await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, NONE);
    p.aborted_transactions
        .iter()
        .flatten()
        .map(|a| (a.producer_id.0, a.first_offset))
        .collect()
}

async fn committed(w: &mut Wire, group: &str) -> i64 {
    let r: OffsetFetchResponse = w
        .call(
            ApiKey::OffsetFetch,
            5,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(TopicName(s("tv2")))
                    .with_partition_indexes(vec![0])])),
        )
        .await;
    r.topics[0].partitions[0].committed_offset
}

async fn txn_offset_commit(
    w: &mut Wire,
    version: i16,
    t: &str,
    group: &str,
    pid: i64,
    epoch: i16,
    offset: i64,
) -> i16 {
    let r: TxnOffsetCommitResponse = w
        .call(
            ApiKey::TxnOffsetCommit,
            version,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s(t)))
                .with_group_id(GroupId(s(group)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_member_id(s(""))
                .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                    .with_name(TopicName(s("tv2")))
                    .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(-1)])]),
        )
        .await;
    r.topics[0].partitions[0].error_code
}

/// ApiVersions at `version`: (supported, finalized, epoch).
async fn features(
    w: &mut Wire,
    version: i16,
) -> (Vec<(String, i16, i16)>, Vec<(String, i16)>, i64) {
    let r: ApiVersionsResponse = w
        .call(
            ApiKey::ApiVersions,
            version,
            &ApiVersionsRequest::default()
                .with_client_software_name(s("test"))
                .with_client_software_version(s("1")),
        )
        .await;
    let supported = r
        .supported_features
        .iter()
        .map(|f| (f.name.to_string(), f.min_version, f.max_version))
        .collect();
    let finalized = r
        .finalized_features
        .iter()
        .map(|f| {
            assert_eq!(
                f.min_version_level, f.max_version_level,
                "Kafka sends level as both"
            );
            (f.name.to_string(), f.max_version_level)
        })
        .collect();
    (supported, finalized, r.finalized_features_epoch)
}

async fn update(
    w: &mut Wire,
    version: i16,
    name: &str,
    level: i16,
    upgrade_type: i8,
    validate_only: bool,
) -> UpdateFeaturesResponse {
    w.call(
        ApiKey::UpdateFeatures,
        version,
        &UpdateFeaturesRequest::default()
            .with_timeout_ms(60_000)
            .with_validate_only(version >= 1 && validate_only)
            .with_feature_updates(vec![FeatureUpdateKey::default()
                .with_feature(s(name))
                .with_max_version_level(level)
                .with_upgrade_type(if version == 0 { 1 } else { upgrade_type })
                .with_allow_downgrade(version == 0 && upgrade_type != 1)]),
    )
    .await
}

fn tv(finalized: &[(String, i16)]) -> Option<i16> {
    finalized
        .iter()
        .find(|(n, _)| n == "transaction.version")
        .map(|f| f.1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_are_advertised_changed_by_update_features_and_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let (supported, finalized, epoch) = features(&mut w, 4).await;
    // What Kafka 4.1.1 finalizes on a fresh KRaft node (kraft.version 0 is not listed), and
    // share.version 1, which Kafka 4.2 and later finalize too (share groups on by default).
    let expected: Vec<(String, i16)> = [
        ("eligible.leader.replicas.version", 1),
        ("group.version", 1),
        ("metadata.version", 27),
        ("share.version", 1),
        ("transaction.version", 2),
    ]
    .iter()
    .map(|(n, l)| (n.to_string(), *l))
    .collect();
    assert_eq!(finalized, expected);
    assert!(epoch > 0, "finalized features have an epoch");
    assert!(supported.contains(&("transaction.version".into(), 0, 2)));
    assert!(supported.contains(&("metadata.version".into(), 7, 27)));
    // v3 leaves out supported features whose minimum is 0 (KIP-1022), as Kafka does.
    let (supported_v3, finalized_v3, _) = features(&mut w, 3).await;
    assert_eq!(supported_v3, vec![("metadata.version".to_string(), 7, 27)]);
    assert_eq!(finalized_v3, expected);

    // Kafka's rules: a downgrade needs a downgrade type; unknown features and levels
    // beyond the supported range are INVALID_UPDATE_VERSION for the whole request.
    let r = update(&mut w, 1, "transaction.version", 1, 1, false).await;
    assert_eq!(r.error_code, INVALID_UPDATE_VERSION);
    assert!(r.results.is_empty());
    assert_eq!(
        update(&mut w, 0, "transaction.version", 1, 1, false)
            .await
            .error_code,
        INVALID_UPDATE_VERSION
    );
    assert_eq!(
        update(&mut w, 1, "transaction.version", 3, 1, false)
            .await
            .error_code,
        INVALID_UPDATE_VERSION
    );
    assert_eq!(
        update(&mut w, 2, "no.such.version", 1, 1, false)
            .await
            .error_code,
        INVALID_UPDATE_VERSION
    );
    assert_eq!(
        update(&mut w, 1, "transaction.version", 1, 7, false)
            .await
            .error_code,
        INVALID_UPDATE_VERSION
    );
    // Validate-only changes nothing.
    let r = update(&mut w, 1, "transaction.version", 1, 2, true).await;
    assert_eq!((r.error_code, r.results.len()), (NONE, 1));
    assert_eq!(tv(&features(&mut w, 4).await.1), Some(2));
    // A safe downgrade (v2: no per-feature results).
    let r = update(&mut w, 2, "transaction.version", 1, 2, false).await;
    assert_eq!((r.error_code, r.results.len()), (NONE, 0));
    let (_, finalized, epoch_after) = features(&mut w, 4).await;
    assert_eq!(tv(&finalized), Some(1));
    assert!(epoch_after > epoch);
    drop(w);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let (_, finalized, epoch_restarted) = features(&mut w, 4).await;
    assert_eq!(tv(&finalized), Some(1), "kept across the restart");
    assert_eq!(epoch_restarted, epoch_after);
    // Level 0 removes the feature from the finalized list; an upgrade brings it back.
    assert_eq!(
        update(&mut w, 1, "transaction.version", 0, 2, false)
            .await
            .error_code,
        NONE
    );
    assert_eq!(tv(&features(&mut w, 4).await.1), None);
    assert_eq!(
        update(&mut w, 1, "transaction.version", 2, 1, false)
            .await
            .error_code,
        NONE
    );
    assert_eq!(tv(&features(&mut w, 4).await.1), Some(2));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_version_2_producer_commits_aborts_and_is_fenced_by_the_bump() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("tv2").await;
    let (pid, e0) = init(&mut w, "t").await;

    // Produce v12 adds the partition itself: no AddPartitionsToTxn.
    assert_eq!(
        produce(&mut w, 12, "t", pid, e0, 0, "committed-1").await,
        NONE
    );
    let (hw, lso) = offsets(&mut w).await;
    assert_eq!(
        (hw, lso),
        (1, 0),
        "the open transaction holds the last stable offset"
    );
    // EndTxn v5 bumps the epoch and says so.
    assert_eq!(
        end(&mut w, 5, "t", pid, e0, true).await,
        (NONE, pid, e0 + 1)
    );
    let (hw, lso) = offsets(&mut w).await;
    assert_eq!(
        (hw, lso),
        (2, 2),
        "committed: the marker at offset 1 with the bumped epoch"
    );
    // A retry with the epoch before the bump is answered with the current one.
    assert_eq!(
        end(&mut w, 5, "t", pid, e0, true).await,
        (NONE, pid, e0 + 1)
    );
    // The old epoch is fenced: produce (INVALID_PRODUCER_EPOCH, as Kafka answers a produce).
    assert_eq!(
        produce(&mut w, 12, "t", pid, e0, 1, "stale").await,
        INVALID_PRODUCER_EPOCH
    );

    // The next transaction, at the bumped epoch (sequences start again at 0), aborted.
    let e1 = e0 + 1;
    assert_eq!(produce(&mut w, 12, "t", pid, e1, 0, "aborted").await, NONE);
    assert_eq!(end(&mut w, 5, "t", pid, e0, true).await.0, PRODUCER_FENCED);
    assert_eq!(
        end(&mut w, 5, "t", pid, e1, false).await,
        (NONE, pid, e1 + 1)
    );
    let (hw, lso) = offsets(&mut w).await;
    assert_eq!((hw, lso), (4, 4));
    assert_eq!(
        aborted(&mut w).await,
        vec![(pid, 2)],
        "read_committed skips the aborted record"
    );

    // TxnOffsetCommit v5 adds the group itself: no AddOffsetsToTxn. The offset is visible
    // once the transaction commits.
    let e2 = e1 + 1;
    assert_eq!(
        produce(&mut w, 12, "t", pid, e2, 0, "committed-2").await,
        NONE
    );
    assert_eq!(
        txn_offset_commit(&mut w, 5, "t", "g", pid, e2, 42).await,
        NONE
    );
    assert_eq!(committed(&mut w, "g").await, -1);
    assert_eq!(
        end(&mut w, 5, "t", pid, e2, true).await,
        (NONE, pid, e2 + 1)
    );
    assert_eq!(committed(&mut w, "g").await, 42);
    assert_eq!(offsets(&mut w).await, (6, 6));
    assert_eq!(aborted(&mut w).await, vec![(pid, 2)]);
    // A stale epoch on TxnOffsetCommit v5: INVALID_PRODUCER_EPOCH (Kafka 4.1.1).
    assert_eq!(
        txn_offset_commit(&mut w, 5, "t", "g", pid, e2, 43).await,
        INVALID_PRODUCER_EPOCH
    );

    // An abort with no transaction open bumps the epoch too (Kafka 4.1.1).
    let e3 = e2 + 1;
    assert_eq!(
        end(&mut w, 5, "t", pid, e3, false).await,
        (NONE, pid, e3 + 1)
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_downgrade_to_transaction_version_1_the_old_rules_apply() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("tv2").await;
    assert_eq!(
        update(&mut w, 1, "transaction.version", 1, 2, false)
            .await
            .error_code,
        NONE
    );
    assert_eq!(tv(&features(&mut w, 4).await.1), Some(1));
    // A transaction.version 1 client (what a Java 4.1 producer is after reading this):
    // Produce v11 must be preceded by AddPartitionsToTxn; EndTxn v4 keeps the epoch.
    let (pid, e0) = init(&mut w, "t1").await;
    assert_eq!(
        produce(&mut w, 11, "t1", pid, e0, 0, "x").await,
        TRANSACTION_ABORTABLE
    );
    assert_eq!(add_partition_v3(&mut w, "t1", pid, e0).await, NONE);
    assert_eq!(produce(&mut w, 11, "t1", pid, e0, 0, "x").await, NONE);
    assert_eq!(end(&mut w, 4, "t1", pid, e0, true).await.0, NONE);
    let (hw, lso) = offsets(&mut w).await;
    assert_eq!((hw, lso), (2, 2));
    // The epoch did not move: the same producer goes on with its next sequence, and a
    // second EndTxn v4 commit is a retry.
    assert_eq!(end(&mut w, 4, "t1", pid, e0, true).await.0, NONE);
    assert_eq!(add_partition_v3(&mut w, "t1", pid, e0).await, NONE);
    assert_eq!(produce(&mut w, 11, "t1", pid, e0, 1, "y").await, NONE);
    assert_eq!(end(&mut w, 4, "t1", pid, e0, false).await.0, NONE);
    broker.shutdown().await.unwrap();
}

/// Every batch of partition 0 from offset 0 to the high watermark, read_uncommitted:
/// (base offset, producer id, producer epoch, control). Fetches again from the next offset
/// until there, as a consumer does (a Fetch may stop at a segment's end).
async fn batches_of(w: &mut Wire) -> Vec<(i64, i64, i16, bool)> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let r: FetchResponse = w
            .call(
                ApiKey::Fetch,
                11,
                &FetchRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_max_wait_ms(0)
                    .with_max_bytes(1 << 20)
                    .with_isolation_level(0)
                    .with_topics(vec![FetchTopic::default()
                        .with_topic(TopicName(s("tv2")))
                        .with_partitions(vec![FetchPartition::default()
                            .with_partition(0)
                            .with_fetch_offset(next)
                            .with_partition_max_bytes(1 << 20)])]),
            )
            .await;
        let p = &r.responses[0].partitions[0];
        assert_eq!(p.error_code, NONE);
        let bytes = p.records.clone().unwrap_or_default();
        let mut at = 0usize;
        // The v2 batch header: base offset (8), length (4), leader epoch (4), magic (1),
        // CRC (4), attributes (2), last offset delta (4), two timestamps (16), producer
        // id (8), producer epoch (2), ...
        while at + 61 <= bytes.len() {
            let field = |from: usize, len: usize| &bytes[at + from..at + from + len];
            let base = i64::from_be_bytes(field(0, 8).try_into().unwrap());
            let len = i32::from_be_bytes(field(8, 4).try_into().unwrap()) as usize;
            let attributes = i16::from_be_bytes(field(21, 2).try_into().unwrap());
            let last_delta = i32::from_be_bytes(field(23, 4).try_into().unwrap());
            let pid = i64::from_be_bytes(field(43, 8).try_into().unwrap());
            let epoch = i16::from_be_bytes(field(51, 2).try_into().unwrap());
            out.push((base, pid, epoch, attributes & 0x20 != 0));
            next = base + i64::from(last_delta) + 1;
            at += 12 + len;
        }
        if next >= p.high_watermark || at == 0 {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_epoch_moves_end_txn_v5_to_a_new_producer_id_and_fences_the_old_one() {
    use skiff::broker::txn::state::{txn_key, MAX_USABLE_EPOCH};
    use skiff::broker::txn::{TxnMetadata, TxnState};
    use skiff::storage::kv::{StateStore, StateStoreConfig};

    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("tv2").await;
    let (pid, _) = init(&mut w, "t").await;
    drop(w);
    broker.shutdown().await.unwrap();

    // Reaching the boundary through the wire takes 32,765 EndTxn v5 bumps (an fsync of the
    // state store each); the coordinator's record is set there directly instead, as those
    // bumps would have left it: no transaction open, epoch one below the exhausted one.
    {
        let store = StateStore::open(
            dir.path().join(skiff::STATE_DIR),
            StateStoreConfig::default(),
        )
        .unwrap();
        let mut m = TxnMetadata::decode(&store.get(txn_key("t")).unwrap().unwrap()).unwrap();
        assert_eq!((m.producer_id, m.state), (pid, TxnState::Empty));
        m.producer_epoch = MAX_USABLE_EPOCH - 1;
        store.put(txn_key("t"), m.encode()).unwrap();
    }
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;

    // Kafka's rule (TransactionMetadata.isEpochExhausted): an epoch >= i16::MAX - 1 is
    // exhausted. A commit from i16::MAX - 2 bumps onto i16::MAX - 1 as usual ...
    let before = MAX_USABLE_EPOCH - 1;
    assert_eq!(produce(&mut w, 12, "t", pid, before, 0, "a").await, NONE);
    assert_eq!(
        end(&mut w, 5, "t", pid, before, true).await,
        (NONE, pid, MAX_USABLE_EPOCH)
    );
    // ... and the transaction at the exhausted epoch still runs; its EndTxn writes the
    // markers with the old id at i16::MAX and answers a new producer id at epoch 0.
    assert_eq!(
        produce(&mut w, 12, "t", pid, MAX_USABLE_EPOCH, 0, "b").await,
        NONE
    );
    let (code, new_pid, new_epoch) = end(&mut w, 5, "t", pid, MAX_USABLE_EPOCH, true).await;
    assert_eq!((code, new_epoch), (NONE, 0));
    assert_ne!(new_pid, pid, "a new producer id");
    assert_eq!(offsets(&mut w).await, (4, 4));
    assert_eq!(
        batches_of(&mut w).await,
        vec![
            (0, pid, MAX_USABLE_EPOCH - 1, false),
            (1, pid, MAX_USABLE_EPOCH, true),
            (2, pid, MAX_USABLE_EPOCH, false),
            (3, pid, i16::MAX, true),
        ],
        "records and commit markers, each marker with the bumped epoch"
    );
    // A retry of the EndTxn whose answer was lost: the old id at the exhausted epoch gets
    // the new id again.
    assert_eq!(
        end(&mut w, 5, "t", pid, MAX_USABLE_EPOCH, true).await,
        (NONE, new_pid, 0)
    );

    // The old producer id is fenced: its produce no longer joins a transaction (the
    // coordinator's INVALID_PRODUCER_ID_MAPPING, which Kafka's partition leader passes on).
    assert_eq!(
        produce(&mut w, 12, "t", pid, MAX_USABLE_EPOCH, 1, "stale").await,
        INVALID_PRODUCER_ID_MAPPING
    );
    // The new id goes on, epoch 0, sequences from 0.
    assert_eq!(produce(&mut w, 12, "t", new_pid, 0, 0, "c").await, NONE);
    assert_eq!(
        end(&mut w, 5, "t", new_pid, 0, true).await,
        (NONE, new_pid, 1)
    );
    // Once the new id has moved on, the old one is not even a retry.
    assert_eq!(
        end(&mut w, 5, "t", pid, MAX_USABLE_EPOCH, true).await,
        (INVALID_PRODUCER_ID_MAPPING, -1, -1)
    );
    assert_eq!(offsets(&mut w).await, (6, 6));
    assert!(aborted(&mut w).await.is_empty());
    drop(w);
    broker.shutdown().await.unwrap();

    // The rotation is durable: after a restart the new id continues where it was.
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    assert_eq!(
        end(&mut w, 5, "t", new_pid, 1, false).await,
        (NONE, new_pid, 2),
        "an abort with nothing open bumps the epoch"
    );
    assert_eq!(
        end(&mut w, 5, "t", pid, MAX_USABLE_EPOCH, true).await.0,
        INVALID_PRODUCER_ID_MAPPING
    );
    broker.shutdown().await.unwrap();
}
