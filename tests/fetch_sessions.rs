//! Incremental fetch sessions (KIP-227) on the wire: creation by a full fetch with epoch 0,
//! incremental fetches that name only changed partitions and get only partitions with
//! something new, forgotten partitions, closing, the session errors, topic ids (v13) and the
//! cache's limits and eviction.
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

use std::time::Duration;

use bytes::Bytes;
use common::wire::Wire;
use common::{batches, start_broker};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DeleteRecordsRequest, DeleteRecordsResponse, FetchRequest, FetchResponse,
    MetadataRequest, MetadataResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use skiff::BrokerHandle;
use uuid::Uuid;

const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
const INVALID_FETCH_SESSION_EPOCH: i16 = 71;
const UNKNOWN_TOPIC_ID: i16 = 100;
const FETCH_SESSION_TOPIC_ID_ERROR: i16 = 106;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// How a test names its topic: by name (Fetch v12) or by id (v13+).
#[derive(Clone, Copy)]
enum By<'a> {
    Name(&'a str),
    Id(Uuid),
}

/// (partition, fetch offset).
type Wanted = [(i32, i64)];

fn topic(by: By<'_>, partitions: &Wanted) -> FetchTopic {
    let t = match by {
        By::Name(n) => FetchTopic::default().with_topic(name(n)),
        By::Id(id) => FetchTopic::default().with_topic_id(id),
    };
    t.with_partitions(
        partitions
            .iter()
            .map(|&(p, offset)| {
                FetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(offset)
                    .with_current_leader_epoch(-1)
                    .with_partition_max_bytes(1 << 20)
            })
            .collect(),
    )
}

/// A fetch that does not wait, in session `id` at `epoch`, naming `partitions` of `by`
/// (none: an empty topic list) and forgetting `forget`.
fn fetch(id: i32, epoch: i32, by: By<'_>, partitions: &Wanted, forget: &[i32]) -> FetchRequest {
    let mut req = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_session_id(id)
        .with_session_epoch(epoch);
    if !partitions.is_empty() {
        req.topics = vec![topic(by, partitions)];
    }
    if !forget.is_empty() {
        let f = match by {
            By::Name(n) => ForgottenTopic::default().with_topic(name(n)),
            By::Id(id) => ForgottenTopic::default().with_topic_id(id),
        };
        req.forgotten_topics_data = vec![f.with_partitions(forget.to_vec())];
    }
    req
}

async fn produce(w: &mut Wire, topic: &str, partition: i32, records: usize) {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(
                    batches::batch(partition as u64, records, common::base_timestamp()).freeze(),
                ))])]);
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
}

/// The partitions of a response, as (partition, high watermark, log start, record bytes,
/// error), sorted.
fn answered(r: &FetchResponse) -> Vec<(i32, i64, i64, usize, i16)> {
    let mut out: Vec<_> = r
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p: &PartitionData| {
            (
                p.partition_index,
                p.high_watermark,
                p.log_start_offset,
                p.records.as_ref().map_or(0, Bytes::len),
                p.error_code,
            )
        })
        .collect();
    out.sort_unstable();
    out
}

fn indexes(r: &FetchResponse) -> Vec<i32> {
    answered(r).into_iter().map(|a| a.0).collect()
}

/// A broker with a 3-partition topic `s`, and a connection.
async fn setup(overrides: &[&str]) -> (tempfile::TempDir, BrokerHandle, Wire) {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), overrides).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("s").await;
    (dir, broker, w)
}

#[tokio::test]
async fn incremental_fetches_carry_only_partitions_with_something_new() {
    let (_dir, broker, mut w) = setup(&[]).await;
    produce(&mut w, "s", 0, 4).await;
    produce(&mut w, "s", 1, 2).await;
    let s = By::Name("s");

    // A full fetch with epoch 0 creates a session and is answered in full.
    let r: FetchResponse = w
        .call(
            ApiKey::Fetch,
            12,
            &fetch(0, 0, s, &[(0, 0), (1, 0), (2, 0)], &[]),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let id = r.session_id;
    assert!(id > 0, "a session id is handed out");
    let a = answered(&r);
    assert_eq!(a.len(), 3);
    assert!(a[0].3 > 0 && a[1].3 > 0 && a[2].3 == 0, "{a:?}");

    // Epoch 1 names the partitions whose fetch offset moved; nothing new: an empty answer.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(id, 1, s, &[(0, 4), (1, 2)], &[]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    assert!(r.responses.is_empty(), "{:?}", answered(&r));

    // New records in partition 2 only: only it is answered, although the request names none.
    produce(&mut w, "s", 2, 3).await;
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 2, s, &[], &[])).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    let a = answered(&r);
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].0, a[0].1), (2, 3));
    assert!(a[0].3 > 0);

    // A moved log start offset is news too, even without records (partition 0 is at its end).
    let del = DeleteRecordsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![DeleteRecordsTopic::default()
            .with_name(name("s"))
            .with_partitions(vec![DeleteRecordsPartition::default()
                .with_partition_index(0)
                .with_offset(2)])]);
    let d: DeleteRecordsResponse = w.call(ApiKey::DeleteRecords, 2, &del).await;
    assert_eq!(d.topics[0].partitions[0].error_code, 0);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(id, 3, s, &[(2, 3)], &[]))
        .await;
    assert_eq!(answered(&r), vec![(0, 4, 2, 0, 0)]);

    // A changed high watermark is news without records: with room for one partition's
    // records only, the other is sent with its new high watermark and no records, and its
    // records come with the next fetch (the one whose records were sent is left out then).
    produce(&mut w, "s", 1, 2).await;
    produce(&mut w, "s", 2, 2).await;
    let mut tight = fetch(id, 4, s, &[], &[]);
    tight.max_bytes = 1;
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &tight).await;
    let a = answered(&r);
    assert_eq!(indexes(&r), vec![1, 2], "{a:?}");
    let (full, empty): (Vec<_>, Vec<_>) = a.iter().copied().partition(|p| p.3 > 0);
    assert_eq!((full.len(), empty.len()), (1, 1), "{a:?}");
    let (sent, held): ((i32, i64, i64, usize, i16), _) = (full[0], empty[0]);
    assert_eq!(held.1, if held.0 == 1 { 4 } else { 5 });
    let sent_end = sent.1;
    let r: FetchResponse = w
        .call(
            ApiKey::Fetch,
            12,
            &fetch(id, 5, s, &[(sent.0, sent_end)], &[]),
        )
        .await;
    let a = answered(&r);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].0, held.0);
    assert!(a[0].3 > 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_incremental_long_poll_wakes_for_a_session_partition_not_named() {
    let (_dir, broker, mut w) = setup(&[]).await;
    let s = By::Name("s");
    let r: FetchResponse = w
        .call(
            ApiKey::Fetch,
            12,
            &fetch(0, 0, s, &[(0, 0), (1, 0), (2, 0)], &[]),
        )
        .await;
    let id = r.session_id;
    assert!(id > 0);
    let mut poll = fetch(id, 1, s, &[], &[]);
    poll.max_wait_ms = 600_000;
    poll.min_bytes = 1;
    let sent = w.send(ApiKey::Fetch, 12, &poll).await;
    let mut other = Wire::connect(&broker).await;
    produce(&mut other, "s", 1, 5).await;
    let (got, r): (i32, FetchResponse) =
        tokio::time::timeout(Duration::from_secs(60), w.recv(ApiKey::Fetch, 12))
            .await
            .expect("the long poll was not woken");
    assert_eq!(got, sent);
    assert_eq!((r.error_code, r.session_id), (0, id));
    let a = answered(&r);
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].0, a[0].1), (1, 5));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn forgotten_partitions_leave_the_session_and_forgetting_all_closes_it() {
    let (_dir, broker, mut w) = setup(&[]).await;
    let s = By::Name("s");
    let r: FetchResponse = w
        .call(
            ApiKey::Fetch,
            12,
            &fetch(0, 0, s, &[(0, 0), (1, 0), (2, 0)], &[]),
        )
        .await;
    let id = r.session_id;
    assert!(id > 0);
    // Forget partition 1; new data there is no longer answered, data in 0 still is.
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 1, s, &[], &[1])).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    produce(&mut w, "s", 1, 2).await;
    produce(&mut w, "s", 0, 2).await;
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 2, s, &[], &[])).await;
    assert_eq!(indexes(&r), vec![0]);
    // Add partition 1 back, at offset 1: it is answered from there.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(id, 3, s, &[(0, 2), (1, 1)], &[]))
        .await;
    assert_eq!(answered(&r).len(), 1);
    assert_eq!(answered(&r)[0].0, 1);
    // Forgetting every partition closes the session: answered without one, and the id is gone.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(id, 4, s, &[], &[0, 1, 2]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert!(r.responses.is_empty());
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 5, s, &[], &[])).await;
    assert_eq!(r.error_code, FETCH_SESSION_ID_NOT_FOUND);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn session_errors_bad_epochs_unknown_ids_and_closing() {
    let (_dir, broker, mut w) = setup(&[]).await;
    let s = By::Name("s");
    produce(&mut w, "s", 0, 1).await;
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(0, 0, s, &[(0, 0)], &[]))
        .await;
    let id = r.session_id;
    assert!(id > 0);
    // Wrong epochs: refused with no partitions, and the session is untouched.
    for epoch in [2, 7, i32::MAX, -2] {
        let r: FetchResponse = w
            .call(ApiKey::Fetch, 12, &fetch(id, epoch, s, &[(0, 0)], &[]))
            .await;
        assert_eq!(r.error_code, INVALID_FETCH_SESSION_EPOCH, "epoch {epoch}");
        assert_eq!(r.session_id, 0);
        assert!(r.responses.is_empty());
    }
    // Replaying epoch 1 after it was used is out of step too.
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 1, s, &[], &[])).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 1, s, &[], &[])).await;
    assert_eq!(r.error_code, INVALID_FETCH_SESSION_EPOCH);
    // Unknown ids, and an incremental epoch without an id.
    for (unknown, epoch) in [(0, 1), (12345, 3)] {
        if unknown == id {
            continue;
        }
        let r: FetchResponse = w
            .call(ApiKey::Fetch, 12, &fetch(unknown, epoch, s, &[(0, 0)], &[]))
            .await;
        assert_eq!(r.error_code, FETCH_SESSION_ID_NOT_FOUND, "id {unknown}");
        assert_eq!(r.session_id, 0);
        assert!(r.responses.is_empty());
    }
    // Epoch -1 closes it and is answered in full without a session.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(id, -1, s, &[(0, 0)], &[]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(indexes(&r), vec![0]);
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(id, 2, s, &[], &[])).await;
    assert_eq!(r.error_code, FETCH_SESSION_ID_NOT_FOUND);
    // A full fetch with epoch 0 naming an old id replaces it with a new session.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(0, 0, s, &[(0, 0)], &[]))
        .await;
    let first = r.session_id;
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(first, 0, s, &[(0, 0)], &[]))
        .await;
    let second = r.session_id;
    assert!(second > 0 && second != first);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(first, 1, s, &[], &[]))
        .await;
    assert_eq!(r.error_code, FETCH_SESSION_ID_NOT_FOUND);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(second, 1, s, &[], &[]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, second));
    // Versions before 7 have no sessions.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 6, &fetch(0, 0, s, &[(0, 0)], &[]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    broker.shutdown().await.unwrap();
}

async fn topic_id(w: &mut Wire, topic: &str) -> Uuid {
    let req = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name(topic)))
    ]));
    let r: MetadataResponse = w.call(ApiKey::Metadata, 12, &req).await;
    r.topics[0].topic_id
}

#[tokio::test]
async fn sessions_by_topic_id_from_v13() {
    let (_dir, broker, mut w) = setup(&[]).await;
    let id_s = topic_id(&mut w, "s").await;
    let s = By::Id(id_s);
    produce(&mut w, "s", 0, 2).await;
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 13, &fetch(0, 0, s, &[(0, 0), (1, 0)], &[]))
        .await;
    let id = r.session_id;
    assert!(id > 0);
    assert_eq!(r.responses[0].topic_id, id_s);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 13, &fetch(id, 1, s, &[(0, 2)], &[]))
        .await;
    assert!(r.responses.is_empty(), "{:?}", answered(&r));
    // An unknown topic id joins the session and is answered UNKNOWN_TOPIC_ID.
    let ghost = Uuid::from_u128(0x1234);
    let r: FetchResponse = w
        .call(
            ApiKey::Fetch,
            13,
            &fetch(id, 2, By::Id(ghost), &[(0, 0)], &[]),
        )
        .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.responses.len(), 1);
    assert_eq!(r.responses[0].topic_id, ghost);
    assert_eq!(r.responses[0].partitions[0].error_code, UNKNOWN_TOPIC_ID);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 13, &fetch(id, 3, By::Id(ghost), &[], &[0]))
        .await;
    assert!(r.responses.is_empty(), "{:?}", answered(&r));
    // News by id (at the highest version too); forgetting by id.
    produce(&mut w, "s", 1, 3).await;
    let r: FetchResponse = w.call(ApiKey::Fetch, 18, &fetch(id, 4, s, &[], &[])).await;
    assert_eq!(r.responses.len(), 1);
    assert_eq!(r.responses[0].topic_id, id_s);
    assert_eq!(indexes(&r), vec![1]);
    // The same session at v12 (topics by name) is refused.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(id, 5, By::Name("s"), &[], &[]))
        .await;
    assert_eq!(r.error_code, FETCH_SESSION_TOPIC_ID_ERROR);
    let r: FetchResponse = w.call(ApiKey::Fetch, 13, &fetch(id, 5, s, &[], &[1])).await;
    assert_eq!((r.error_code, r.session_id), (0, id));
    produce(&mut w, "s", 1, 1).await;
    let r: FetchResponse = w.call(ApiKey::Fetch, 13, &fetch(id, 6, s, &[], &[])).await;
    assert!(r.responses.is_empty(), "{:?}", answered(&r));
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_full_cache_hands_out_no_session_and_a_replica_evicts_a_consumer() {
    let (_dir, broker, mut w) = setup(&["max.incremental.fetch.session.cache.slots=1"]).await;
    let s = By::Name("s");
    let all = [(0, 0), (1, 0), (2, 0)];
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(0, 0, s, &all, &[])).await;
    let first = r.session_id;
    assert!(first > 0);
    // The only slot is taken by a young session: another consumer, even with more
    // partitions, gets a full answer without a session.
    let mut other = Wire::connect(&broker).await;
    let r: FetchResponse = other
        .call(ApiKey::Fetch, 12, &fetch(0, 0, s, &all, &[]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, 0));
    assert_eq!(indexes(&r), vec![0, 1, 2]);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(first, 1, s, &[], &[]))
        .await;
    assert_eq!((r.error_code, r.session_id), (0, first));
    // A replica's fetch (replica id >= 0) is privileged: it takes the slot.
    let mut replica = fetch(0, 0, s, &[(0, 0)], &[]);
    replica.replica_id = BrokerId(2);
    let r: FetchResponse = other.call(ApiKey::Fetch, 12, &replica).await;
    let follower = r.session_id;
    assert!(follower > 0 && follower != first);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch(first, 2, s, &[], &[]))
        .await;
    assert_eq!(r.error_code, FETCH_SESSION_ID_NOT_FOUND);
    // A consumer cannot take it back.
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &fetch(0, 0, s, &all, &[])).await;
    assert_eq!(r.session_id, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn zero_slots_disable_sessions() {
    let (_dir, broker, mut w) = setup(&["max.incremental.fetch.session.cache.slots=0"]).await;
    let s = By::Name("s");
    produce(&mut w, "s", 2, 1).await;
    for _ in 0..3 {
        let r: FetchResponse = w
            .call(
                ApiKey::Fetch,
                12,
                &fetch(0, 0, s, &[(0, 0), (1, 0), (2, 0)], &[]),
            )
            .await;
        assert_eq!((r.error_code, r.session_id), (0, 0));
        assert_eq!(indexes(&r), vec![0, 1, 2]);
    }
    broker.shutdown().await.unwrap();
}

/// librdkafka (2.12, the rdkafka crate's) does not use fetch sessions: every Fetch it sends
/// is a full fetch with epoch -1. This checks that such a consumer of many partitions, of
/// which a few receive data in two waves (the second while it long-polls), reads exactly
/// what was written, with the session cache in place beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rdkafka_consumer_of_many_partitions_reads_exactly_what_a_few_received() {
    use common::{assign, consume, consumer, ensure_topic, flush, producer, send, test_record};
    use rdkafka::Offset;
    const PARTITIONS: i32 = 300;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["num.partitions=300"]).await;
    let bootstrap = broker.bootstrap();
    ensure_topic(&bootstrap, "wide");
    let busy: Vec<i32> = (0..10).map(|i| i * 29 + 3).collect();
    let p = producer(&bootstrap, "lz4", "1");
    let mut expected: std::collections::BTreeMap<i32, Vec<usize>> = Default::default();
    let mut n = 0;
    let mut wave = |p: &rdkafka::producer::BaseProducer, count: usize| {
        for _ in 0..count {
            let partition = busy[n % busy.len()];
            send(p, "wide", partition, &test_record(n));
            expected.entry(partition).or_default().push(n);
            n += 1;
        }
        flush(p);
    };
    wave(&p, 2000);
    let c = consumer(&bootstrap);
    assign(&c, "wide", PARTITIONS, Offset::Beginning);
    let mut consumed = tokio::task::block_in_place(|| consume(&c, 2000));
    wave(&p, 1000);
    consumed.extend(tokio::task::block_in_place(|| consume(&c, 1000)));
    let mut got: std::collections::BTreeMap<i32, Vec<(i64, usize)>> = Default::default();
    for m in &consumed {
        got.entry(m.partition)
            .or_default()
            .push((m.offset, common::key_number(&m.record.key)));
    }
    assert_eq!(got.len(), busy.len(), "partitions with records");
    for (partition, numbers) in &expected {
        let want: Vec<(i64, usize)> = numbers
            .iter()
            .enumerate()
            .map(|(offset, &i)| (offset as i64, i))
            .collect();
        assert_eq!(got.get(partition), Some(&want), "partition {partition}");
    }
    for m in &consumed {
        let i = common::key_number(&m.record.key);
        assert_eq!(m.record, test_record(i));
    }
    broker.shutdown().await.unwrap();
}
