//! Raw-TCP tests of framing, error codes and bad input, with requests built by
//! `kafka-protocol`. After each bad input the broker must keep serving other connections.
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

use bytes::{BufMut, Bytes, BytesMut};
use common::wire::Wire;
use common::{batches, start_broker};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProducerId, TransactionalId,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, FetchRequest, FetchResponse,
    ListOffsetsRequest, ListOffsetsResponse, MetadataRequest, MetadataResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProduceRequest, ProduceResponse,
    RequestHeader, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{Compression, Record, TimestampType};
use skiff::BrokerHandle;

/// Asserts that a fresh connection gets a normal ApiVersions answer.
async fn assert_still_serving(broker: &BrokerHandle) {
    let mut w = Wire::connect(broker).await;
    let r: ApiVersionsResponse = w
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(r.error_code, 0);
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// One v2 batch of `n` records with `value_len`-byte values, stamped in 2023.
fn batch(n: usize, value_len: usize) -> BytesMut {
    batch_at(n, value_len, 1_700_000_000_000)
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One v2 batch of `n` records with `value_len`-byte values and timestamps from `ts`.
fn batch_at(n: usize, value_len: usize, ts: i64) -> BytesMut {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            delete_horizon: false,
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: ts + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(vec![b'v'; value_len])),
            headers: Default::default(),
        })
        .collect();
    batches::encode(&records, Compression::None)
}

fn produce_request(topic: &str, partition: i32, acks: i16, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])])
}

async fn produce_error(w: &mut Wire, version: i16, req: &ProduceRequest) -> i16 {
    let r: ProduceResponse = w.call(ApiKey::Produce, version, req).await;
    r.responses[0].partition_responses[0].error_code
}

#[tokio::test]
async fn garbage_bytes_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    // An HTTP request read as a Kafka frame: its size prefix is ~1.1 GB.
    w.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    w.expect_closed().await;
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn huge_and_negative_size_prefixes_disconnect_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    for size in [i32::MAX, i32::MIN, -1, 104_857_601] {
        let mut w = Wire::connect(&broker).await;
        w.send_raw(&size.to_be_bytes()).await;
        w.expect_closed().await;
    }
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn truncated_and_undecodable_bodies_disconnect() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    // A frame announcing 100 bytes, of which 10 arrive before the client stops sending.
    let mut w = Wire::connect(&broker).await;
    let mut raw = BytesMut::new();
    raw.put_i32(100);
    raw.put_slice(&[0u8; 10]);
    w.send_raw(&raw).await;
    w.shutdown_write().await;
    w.expect_closed().await;
    // A whole frame whose Metadata body is cut short.
    let mut w = Wire::connect(&broker).await;
    let (_, mut framed) = w.frame(
        ApiKey::Metadata,
        1,
        &MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("some-topic")))
        ])),
    );
    let cut = framed.len() - 5;
    framed.truncate(cut);
    let new_len = (cut - 4) as i32;
    framed[..4].copy_from_slice(&new_len.to_be_bytes());
    w.send_raw(&framed).await;
    w.expect_closed().await;
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_api_key_disconnects() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    for key in [999i16, ApiKey::JoinGroup as i16] {
        let mut w = Wire::connect(&broker).await;
        let mut raw = BytesMut::new();
        raw.put_i32(10);
        raw.put_i16(key);
        raw.put_i16(0);
        raw.put_i32(7);
        raw.put_i16(-1);
        w.send_raw(&raw).await;
        w.expect_closed().await;
    }
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn unsupported_versions() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    // ApiVersions from the future: UNSUPPORTED_VERSION with a v0 body listing the APIs.
    let mut w = Wire::connect(&broker).await;
    let mut raw = BytesMut::new();
    raw.put_i32(10);
    raw.put_i16(ApiKey::ApiVersions as i16);
    raw.put_i16(99);
    raw.put_i32(42);
    raw.put_i16(-1);
    w.send_raw(&raw).await;
    let (id, r): (i32, ApiVersionsResponse) = w.recv(ApiKey::ApiVersions, 0).await;
    assert_eq!(id, 42);
    assert_eq!(r.error_code, 35);
    let produce = r
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    assert_eq!((produce.min_version, produce.max_version), (0, 13));
    // Produce v0-v2 are advertised but, as in Kafka 4, refused with a disconnect.
    w.create_topic("old").await;
    let req = produce_request("old", 0, 1, batch(1, 10).freeze());
    // kafka-protocol 0.18 encodes Produce from v3; v2's body is v3's without the leading
    // transactional id (a null string: two bytes).
    let mut v3 = BytesMut::new();
    req.encode(&mut v3, 3).unwrap();
    assert_eq!(&v3[..2], &[0xff, 0xff]);
    w.send_bytes(ApiKey::Produce, 2, &v3[2..]).await;
    w.expect_closed().await;
    let mut w = Wire::connect(&broker).await;
    // A version outside the advertised range of another API: disconnect.
    let mut raw = BytesMut::new();
    raw.put_i32(10);
    raw.put_i16(ApiKey::Metadata as i16);
    raw.put_i16(14);
    raw.put_i32(43);
    raw.put_i16(-1);
    w.send_raw(&raw).await;
    w.expect_closed().await;
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_versions_at_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    for v in 0..=4 {
        let r: ApiVersionsResponse = w
            .call(
                ApiKey::ApiVersions,
                v,
                &ApiVersionsRequest::default()
                    .with_client_software_name(StrBytes::from_static_str("t"))
                    .with_client_software_version(StrBytes::from_static_str("1")),
            )
            .await;
        assert_eq!(r.error_code, 0);
        let fetch = r
            .api_keys
            .iter()
            .find(|k| k.api_key == ApiKey::Fetch as i16)
            .unwrap();
        assert_eq!((fetch.min_version, fetch.max_version), (4, 18));
        // The answer is the registry, row for row, but for client telemetry, which is off
        // by default (tests/client_telemetry.rs checks it is advertised when on).
        let answered: Vec<(i16, i16, i16)> = r
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        let telemetry = [ApiKey::GetTelemetrySubscriptions, ApiKey::PushTelemetry];
        let registry: Vec<(i16, i16, i16)> = skiff::api::registry::REGISTRY
            .iter()
            .filter(|e| !telemetry.contains(&e.key))
            .map(|e| (e.key as i16, e.min_version, e.max_version))
            .collect();
        assert_eq!(answered, registry);
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_errors_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["message.max.bytes=2000"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("errors").await;

    // Corrupted CRC: flip a byte of a value.
    let mut b = batch(3, 20);
    let last = b.len() - 3;
    b[last] ^= 0xff;
    let req = produce_request("errors", 0, 1, b.freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 2, "CORRUPT_MESSAGE");

    // A batch above message.max.bytes.
    let req = produce_request("errors", 0, 1, batch(1, 3000).freeze());
    assert_eq!(
        produce_error(&mut w, 9, &req).await,
        10,
        "MESSAGE_TOO_LARGE"
    );

    // A truncated batch.
    let mut b = batch(2, 20);
    b.truncate(b.len() - 4);
    let req = produce_request("errors", 0, 1, b.freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 2, "CORRUPT_MESSAGE");

    // Unknown topic, unknown partition, invalid topic name.
    let req = produce_request("no-such-topic", 0, 1, batch(1, 1).freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 3);
    let req = produce_request("errors", 7, 1, batch(1, 1).freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 3);
    let req = produce_request("bad/name", 0, 1, batch(1, 1).freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 17);

    // acks outside {-1, 0, 1}.
    let req = produce_request("errors", 0, 2, batch(1, 1).freeze());
    assert_eq!(
        produce_error(&mut w, 9, &req).await,
        21,
        "INVALID_REQUIRED_ACKS"
    );

    // Nothing above was appended; a good batch lands at offset 0.
    let req = produce_request("errors", 0, -1, batch(5, 10).freeze());
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset, p.log_start_offset), (0, 0, 0));
    assert_eq!(p.log_append_time_ms, -1);

    // Several batches in one partition's records: each appended, base offset of the first.
    let mut two = batch(2, 10);
    two.extend_from_slice(&batch(3, 10));
    let req = produce_request("errors", 0, 1, two.freeze());
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 5));
    let req = produce_request("errors", 0, 1, batch(1, 10).freeze());
    let r: ProduceResponse = w.call(ApiKey::Produce, 3, &req).await;
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 10);
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn metadata_errors_and_topic_ids() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["auto.create.topics.enable=true"]).await;
    let mut w = Wire::connect(&broker).await;
    let req = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("absent"))),
            MetadataRequestTopic::default().with_name(Some(name(".."))),
            MetadataRequestTopic::default().with_name(Some(name(&"x".repeat(250)))),
        ]));
    let r: MetadataResponse = w.call(ApiKey::Metadata, 12, &req).await;
    let codes: Vec<i16> = r.topics.iter().map(|t| t.error_code).collect();
    assert_eq!(codes, vec![3, 17, 17]);
    assert_eq!(r.brokers.len(), 1);
    assert_eq!(r.brokers[0].port as u16, broker.local_addr().port());
    w.create_topic("ids").await;
    // Every version answers; the topic id is stable and resolvable.
    let mut id = None;
    for v in 0..=12 {
        let req = MetadataRequest::default()
            .with_allow_auto_topic_creation(v < 4)
            .with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("ids")))
            ]));
        let r: MetadataResponse = w.call(ApiKey::Metadata, v, &req).await;
        let t = &r.topics[0];
        assert_eq!(t.error_code, 0, "v{v}");
        assert_eq!(t.partitions.len(), 3, "v{v}");
        if v >= 10 {
            assert!(!t.topic_id.is_nil());
            assert_eq!(*id.get_or_insert(t.topic_id), t.topic_id);
        }
    }
    let by_id = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_topic_id(id.unwrap())
    ]));
    let r: MetadataResponse = w.call(ApiKey::Metadata, 12, &by_id).await;
    assert_eq!(r.topics[0].name.as_ref().unwrap().0.as_str(), "ids");
    // Internal topic names are auto-created as Kafka's internal topics, never as ordinary
    // ones (num.partitions is 3 here, offsets.topic.num.partitions 50).
    let internal = MetadataRequest::default()
        .with_allow_auto_topic_creation(true)
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("__consumer_offsets")))
        ]));
    for _ in 0..2 {
        let r: MetadataResponse = w.call(ApiKey::Metadata, 12, &internal).await;
        assert_eq!(r.topics[0].error_code, 0);
        assert!(r.topics[0].is_internal);
        assert_eq!(r.topics[0].partitions.len(), 50);
    }
    broker.shutdown().await.unwrap();
}

fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32, min_bytes: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_partition_max_bytes(1 << 20)])])
}

#[tokio::test]
async fn fetch_long_poll_is_woken_by_produce_and_responses_stay_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("poll").await;
    // A fetch that would wait a minute for data, then a pipelined ApiVersions and an acks=0
    // produce (no response) on the same connection.
    let fetch_id = w
        .send(ApiKey::Fetch, 11, &fetch_request("poll", 0, 60_000, 1))
        .await;
    let versions_id = w
        .send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    // Produce from another connection wakes the fetch.
    let mut other = Wire::connect(&broker).await;
    let req = produce_request("poll", 0, 1, batch(4, 8).freeze());
    assert_eq!(produce_error(&mut other, 9, &req).await, 0);
    let (id, r): (i32, FetchResponse) = w.recv(ApiKey::Fetch, 11).await;
    assert_eq!(id, fetch_id, "responses in request order");
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.high_watermark, 4);
    assert_eq!(p.last_stable_offset, 4);
    assert_eq!(p.log_start_offset, 0);
    assert!(!p.records.as_ref().unwrap().is_empty());
    let (id, _): (i32, ApiVersionsResponse) = w.recv(ApiKey::ApiVersions, 3).await;
    assert_eq!(id, versions_id);

    // acks=0 gets no response: the next response is for the request after it.
    w.send(
        ApiKey::Produce,
        9,
        &produce_request("poll", 0, 0, batch(1, 8).freeze()),
    )
    .await;
    let lo = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name("poll"))
        .with_partitions(vec![ListOffsetsPartition::default()
            .with_partition_index(0)
            .with_current_leader_epoch(-1)
            .with_timestamp(-1)])]);
    let lo_id = w.send(ApiKey::ListOffsets, 7, &lo).await;
    let (id, r): (i32, ListOffsetsResponse) = w.recv(ApiKey::ListOffsets, 7).await;
    assert_eq!(id, lo_id);
    assert_eq!(r.topics[0].partitions[0].offset, 5);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetch_errors_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("limits").await;
    for _ in 0..3 {
        let req = produce_request("limits", 0, 1, batch(10, 100).freeze());
        assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    }
    // Out of range.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("limits", 99, 0, 0))
        .await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 1, "OFFSET_OUT_OF_RANGE");
    assert_eq!((p.high_watermark, p.log_start_offset), (-1, -1));
    // A tiny max bytes still returns the first whole batch, and only that one.
    let mut tiny = fetch_request("limits", 0, 0, 0);
    tiny.max_bytes = 1;
    tiny.topics[0].partitions[0].partition_max_bytes = 1;
    let r: FetchResponse = w.call(ApiKey::Fetch, 11, &tiny).await;
    let records = r.responses[0].partitions[0].records.clone().unwrap();
    let batch_len = i32::from_be_bytes(records[8..12].try_into().unwrap()) as usize + 12;
    assert_eq!(records.len(), batch_len);
    // Fetching at the end: empty records, not null.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("limits", 30, 0, 0))
        .await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(p.records.as_ref().map(|r| r.len()), Some(0));
    assert_eq!(p.aborted_transactions.as_ref().map(|a| a.len()), Some(0));
    // Leader epoch checks: older is fenced, newer is unknown.
    for (epoch, code) in [(-1, 0), (0, 0), (1, 75)] {
        let mut req = fetch_request("limits", 0, 0, 0);
        req.topics[0].partitions[0].current_leader_epoch = epoch;
        let r: FetchResponse = w.call(ApiKey::Fetch, 11, &req).await;
        assert_eq!(
            r.responses[0].partitions[0].error_code, code,
            "epoch {epoch}"
        );
    }
    // Unknown topic by name (v11) and by id (v13).
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("nope", 0, 0, 0))
        .await;
    assert_eq!(r.responses[0].partitions[0].error_code, 3);
    let mut by_id = fetch_request("", 0, 0, 0);
    by_id.topics[0].topic_id = uuid::Uuid::new_v4();
    let r: FetchResponse = w.call(ApiKey::Fetch, 13, &by_id).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code, 100,
        "UNKNOWN_TOPIC_ID"
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn size_retention_advances_log_start_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        &[
            "log.segment.bytes=2000",
            "log.retention.bytes=4000",
            "log.retention.ms=-1",
        ],
    )
    .await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("retained").await;
    // 20 batches of ~1.1 KB: one segment each.
    for _ in 0..20 {
        let req = produce_request("retained", 0, 1, batch(10, 100).freeze());
        assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    }
    broker.enforce_retention().await;
    let earliest = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name("retained"))
        .with_partitions(vec![ListOffsetsPartition::default()
            .with_partition_index(0)
            .with_current_leader_epoch(-1)
            .with_timestamp(-2)])]);
    let r: ListOffsetsResponse = w.call(ApiKey::ListOffsets, 7, &earliest).await;
    let start = r.topics[0].partitions[0].offset;
    assert!(start > 0 && start < 200, "log start offset {start}");
    assert_eq!(start % 10, 0, "whole batches deleted");
    // Fetching below it is out of range; at it works.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("retained", 0, 0, 0))
        .await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 1);
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("retained", start, 0, 0))
        .await;
    assert_eq!(r.responses[0].partitions[0].error_code, 0);
    broker.shutdown().await.unwrap();
}

fn list_offsets(topic: &str, timestamp: i64) -> ListOffsetsRequest {
    ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
        .with_name(name(topic))
        .with_partitions(vec![ListOffsetsPartition::default()
            .with_partition_index(0)
            .with_current_leader_epoch(-1)
            .with_timestamp(timestamp)])])
}

async fn end_offset_for_epoch(w: &mut Wire, topic: &str, epoch: i32) -> (i16, i32, i64) {
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(-1)
                .with_leader_epoch(epoch)])]);
    let r: OffsetForLeaderEpochResponse = w.call(ApiKey::OffsetForLeaderEpoch, 4, &req).await;
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

#[tokio::test]
async fn restart_begins_a_new_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("epochs").await;
    let req = produce_request("epochs", 0, -1, batch(5, 10).freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    assert_eq!(end_offset_for_epoch(&mut w, "epochs", 0).await, (0, 0, 5));
    drop(w);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let md: MetadataResponse = w
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("epochs")))
            ])),
        )
        .await;
    assert_eq!(md.topics[0].partitions[0].leader_epoch, 1);
    let req = produce_request("epochs", 0, 1, batch(3, 10).freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    // Epoch 0 ended where epoch 1 began; the current epoch ends at the log end.
    assert_eq!(end_offset_for_epoch(&mut w, "epochs", 0).await, (0, 0, 5));
    assert_eq!(end_offset_for_epoch(&mut w, "epochs", 1).await, (0, 1, 8));
    // An epoch above the current one is undefined.
    assert_eq!(end_offset_for_epoch(&mut w, "epochs", 7).await, (0, -1, -1));
    // Fetch v12+ divergence: a client whose log ends in epoch 0 beyond offset 5 (where
    // epoch 0 ended here) is told so, with no records; within epoch 0 it is fine.
    let diverging = |offset: i64, last_epoch: i32| {
        let mut f = fetch_request("epochs", offset, 0, 0);
        f.topics[0].partitions[0].last_fetched_epoch = last_epoch;
        f
    };
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &diverging(7, 0)).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!(p.error_code, 0);
    assert_eq!(
        (p.diverging_epoch.epoch, p.diverging_epoch.end_offset),
        (0, 5)
    );
    assert_eq!(p.records.as_ref().map(|r| r.len()), Some(0));
    for (offset, last_epoch) in [(3, 0), (5, 0), (6, 1)] {
        let r: FetchResponse = w
            .call(ApiKey::Fetch, 12, &diverging(offset, last_epoch))
            .await;
        let p = &r.responses[0].partitions[0];
        assert_eq!(
            p.diverging_epoch.epoch, -1,
            "offset {offset} epoch {last_epoch}"
        );
        assert!(!p.records.as_ref().unwrap().is_empty());
    }
    // A client still on epoch 0 is fenced.
    let mut f = fetch_request("epochs", 0, 0, 0);
    f.topics[0].partitions[0].current_leader_epoch = 0;
    let r: FetchResponse = w.call(ApiKey::Fetch, 11, &f).await;
    assert_eq!(
        r.responses[0].partitions[0].error_code, 74,
        "FENCED_LEADER_EPOCH"
    );
    // ListOffsets reports the epoch of the batch found.
    let r: ListOffsetsResponse = w
        .call(ApiKey::ListOffsets, 8, &list_offsets("epochs", -2))
        .await;
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.offset, p.leader_epoch), (0, 0));
    let r: ListOffsetsResponse = w
        .call(ApiKey::ListOffsets, 8, &list_offsets("epochs", -1))
        .await;
    let p = &r.topics[0].partitions[0];
    assert_eq!((p.offset, p.leader_epoch), (8, 1));
    let r: ListOffsetsResponse = w
        .call(ApiKey::ListOffsets, 8, &list_offsets("epochs", -3))
        .await;
    let p = &r.topics[0].partitions[0];
    // Both batches carry timestamps T+0..; the largest (T+4) is record 4 of the first batch.
    assert_eq!((p.offset, p.leader_epoch), (4, 0), "max timestamp");
    // v9's latest-tiered (-5): no tiered storage, so no offset, as Kafka answers.
    let r: ListOffsetsResponse = w
        .call(ApiKey::ListOffsets, 9, &list_offsets("epochs", -5))
        .await;
    let p = &r.topics[0].partitions[0];
    assert_eq!(
        (p.error_code, p.offset, p.timestamp, p.leader_epoch),
        (0, -1, -1, -1)
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_waiting_fetch_does_not_hold_back_earlier_responses() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("hol").await;
    // Pipelined: ApiVersions, then a fetch that waits up to 10 minutes for data. The
    // ApiVersions answer must arrive while the fetch is still waiting.
    let (v_id, mut bytes) = w.frame(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    let (f_id, fetch) = w.frame(ApiKey::Fetch, 11, &fetch_request("hol", 0, 600_000, 1));
    bytes.extend_from_slice(&fetch);
    w.send_raw(&bytes).await;
    let (id, _): (i32, ApiVersionsResponse) = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        w.recv(ApiKey::ApiVersions, 3),
    )
    .await
    .expect("ApiVersions response held back behind a waiting fetch");
    assert_eq!(id, v_id);
    let mut other = Wire::connect(&broker).await;
    let req = produce_request("hol", 0, 1, batch(1, 8).freeze());
    assert_eq!(produce_error(&mut other, 9, &req).await, 0);
    let (id, r): (i32, FetchResponse) = w.recv(ApiKey::Fetch, 11).await;
    assert_eq!(id, f_id);
    assert_eq!(r.responses[0].partitions[0].high_watermark, 1);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_fetch_naming_no_partition_is_answered_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    // What a closing Java consumer sends: session id 0, epoch -1 (close), no partitions,
    // min_bytes 1. Kafka answers it at once; a broker that waited for max_wait_ms (10 min
    // here) would stall every consumer's close by fetch.max.wait.ms.
    let close = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(600_000)
        .with_min_bytes(1)
        .with_max_bytes(50 * 1024 * 1024)
        .with_session_id(0)
        .with_session_epoch(-1);
    let plain = FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(600_000)
        .with_min_bytes(1);
    for (version, req) in [(12, &close), (11, &plain), (4, &plain)] {
        let r: FetchResponse = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            w.call(ApiKey::Fetch, version, req),
        )
        .await
        .unwrap_or_else(|_| panic!("v{version} empty fetch held for max_wait_ms"));
        assert_eq!(r.error_code, 0, "v{version}");
        assert!(r.responses.is_empty(), "v{version}: {:?}", r.responses);
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn array_count_bombs_disconnect_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    // Metadata v1 whose topics array claims i32::MAX elements (the decoder would try to
    // reserve ~150 GB), and Fetch v12 whose compact topics array claims 2^32 - 2.
    let bombs: [(ApiKey, i16, Vec<u8>); 2] = [
        (ApiKey::Metadata, 1, i32::MAX.to_be_bytes().to_vec()),
        (
            ApiKey::Fetch,
            12,
            [
                vec![0u8; 4 + 4 + 4 + 4 + 1 + 4 + 4],
                vec![0xff, 0xff, 0xff, 0xff, 0x0f],
            ]
            .concat(),
        ),
    ];
    for (key, version, body) in bombs {
        let mut w = Wire::connect(&broker).await;
        let mut payload = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(1)
            .encode(&mut payload, key.request_header_version(version))
            .unwrap();
        payload.extend_from_slice(&body);
        let mut raw = BytesMut::new();
        raw.put_i32(payload.len() as i32);
        raw.extend_from_slice(&payload);
        w.send_raw(&raw).await;
        w.expect_closed().await;
    }
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn time_retention_deletes_expired_records() {
    let dir = tempfile::tempdir().unwrap();
    // The test batches are stamped in 2023: far beyond the default 7-day retention.
    let broker = start_broker(dir.path(), &["log.segment.bytes=2000"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("expired").await;
    for _ in 0..4 {
        let req = produce_request("expired", 0, 1, batch(10, 100).freeze());
        assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    }
    broker.enforce_retention().await;
    let r: ListOffsetsResponse = w
        .call(ApiKey::ListOffsets, 7, &list_offsets("expired", -2))
        .await;
    assert_eq!(r.topics[0].partitions[0].offset, 40, "everything expired");
    // The log goes on at the same offsets.
    let req = produce_request("expired", 0, 1, batch(1, 1).freeze());
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(
        (p.error_code, p.base_offset, p.log_start_offset),
        (0, 40, 40)
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn failed_acks_zero_produce_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("fire-and-forget").await;
    // A good acks=0 produce: no response, the connection stays usable.
    let ok = produce_request("fire-and-forget", 0, 0, batch(2, 4).freeze());
    w.send(ApiKey::Produce, 9, &ok).await;
    let r: ApiVersionsResponse = w
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    assert_eq!(r.error_code, 0);
    // A failing one (unknown partition): the only signal possible is a disconnect.
    let bad = produce_request("fire-and-forget", 42, 0, batch(2, 4).freeze());
    w.send(ApiKey::Produce, 9, &bad).await;
    w.expect_closed().await;
    assert_still_serving(&broker).await;
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn fetch_at_every_served_version() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("versions").await;
    let md: MetadataResponse = w
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("versions")))
            ])),
        )
        .await;
    let topic_id = md.topics[0].topic_id;
    let req = produce_request("versions", 0, 1, batch(3, 5).freeze());
    assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    for v in 4..=18 {
        let mut req = fetch_request("versions", 1, 0, 0);
        if v >= 13 {
            req.topics[0].topic = TopicName::default();
            req.topics[0].topic_id = topic_id;
        }
        let r: FetchResponse = w.call(ApiKey::Fetch, v, &req).await;
        assert_eq!(r.error_code, 0, "v{v}");
        let t = &r.responses[0];
        if v >= 13 {
            assert_eq!(t.topic_id, topic_id, "v{v}");
        } else {
            assert_eq!(t.topic.0.as_str(), "versions", "v{v}");
        }
        let p = &t.partitions[0];
        assert_eq!((p.error_code, p.high_watermark), (0, 3), "v{v}");
        // Offset 1 lies inside the one batch: the whole batch comes back.
        let records = p.records.clone().unwrap();
        let base = i64::from_be_bytes(records[..8].try_into().unwrap());
        assert_eq!(base, 0, "v{v}");
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn produce_at_every_served_version() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("pv").await;
    let md: MetadataResponse = w
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("pv")))
            ])),
        )
        .await;
    let topic_id = md.topics[0].topic_id;
    let mut expected_base = 0;
    for v in 3..=13 {
        let mut req = produce_request("pv", 0, 1, batch(2, 3).freeze());
        if v >= 13 {
            // v13 (KIP-516) names the topic by id only.
            req.topic_data[0].name = TopicName::default();
            req.topic_data[0].topic_id = topic_id;
        }
        let r: ProduceResponse = w.call(ApiKey::Produce, v, &req).await;
        let t = &r.responses[0];
        if v >= 13 {
            assert_eq!(t.topic_id, topic_id, "v{v}");
        } else {
            assert_eq!(t.name.0.as_str(), "pv", "v{v}");
        }
        let p = &t.partition_responses[0];
        assert_eq!((p.error_code, p.base_offset), (0, expected_base), "v{v}");
        expected_base += 2;
    }
    // An id no topic has.
    let mut req = produce_request("pv", 0, 1, batch(2, 3).freeze());
    req.topic_data[0].name = TopicName::default();
    req.topic_data[0].topic_id = uuid::Uuid::new_v4();
    let r: ProduceResponse = w.call(ApiKey::Produce, 13, &req).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 100);
    // Nothing but the eleven batches above reached the log.
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 12, &fetch_request("pv", 0, 0, 0))
        .await;
    assert_eq!(r.responses[0].partitions[0].high_watermark, expected_base);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn log_append_time_is_stamped_and_returned() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["log.message.timestamp.type=LogAppendTime"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("lat").await;
    let req = produce_request("lat", 0, 1, batch(2, 4).freeze());
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    let append_time = r.responses[0].partition_responses[0].log_append_time_ms;
    assert!(
        append_time > 1_700_000_000_000,
        "log append time {append_time}"
    );
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("lat", 0, 0, 0))
        .await;
    let records = r.responses[0].partitions[0].records.clone().unwrap();
    let attributes = i16::from_be_bytes([records[21], records[22]]);
    assert_ne!(attributes & 0x08, 0, "timestamp type bit");
    let max_timestamp = i64::from_be_bytes(records[35..43].try_into().unwrap());
    assert_eq!(max_timestamp, append_time);
    broker.shutdown().await.unwrap();
}

/// A transactional batch of `n` records from producer 7, epoch 0, sequences from 0.
fn txn_batch(n: usize, producer_id: i64, producer_epoch: i16) -> BytesMut {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            delete_horizon: false,
            transactional: true,
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: now_ms() + i as i64,
            key: None,
            value: Some(Bytes::from_static(b"in a transaction")),
            headers: Default::default(),
        })
        .collect();
    batches::encode(&records, Compression::None)
}

#[tokio::test]
async fn read_committed_stops_at_the_last_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("txn").await;
    // A transaction with partition 0 in it (transactional batches are verified, KIP-890).
    let txn_id = TransactionalId(StrBytes::from_static_str("wire-txn"));
    let ids: InitProducerIdResponse = w
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(txn_id.clone()))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(ids.error_code, 0);
    let added: AddPartitionsToTxnResponse = w
        .call(
            ApiKey::AddPartitionsToTxn,
            3,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn_id.clone())
                .with_v3_and_below_producer_id(ids.producer_id)
                .with_v3_and_below_producer_epoch(ids.producer_epoch)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(name("txn"))
                    .with_partitions(vec![0])]),
        )
        .await;
    assert_eq!(
        added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );
    // Offsets 0-1 plain, 2-3 an open transaction, 4-5 plain; recent timestamps keep them
    // in one segment.
    for (b, transactional) in [
        (batch_at(2, 4, now_ms()), false),
        (txn_batch(2, ids.producer_id.0, ids.producer_epoch), true),
        (batch_at(2, 4, now_ms()), false),
    ] {
        let mut req = produce_request("txn", 0, 1, b.freeze());
        if transactional {
            req.transactional_id = Some(txn_id.clone());
        }
        assert_eq!(produce_error(&mut w, 9, &req).await, 0);
    }
    let mut committed = fetch_request("txn", 0, 0, 0);
    committed.isolation_level = 1;
    let r: FetchResponse = w.call(ApiKey::Fetch, 11, &committed).await;
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.high_watermark, p.last_stable_offset), (6, 2));
    let records = p.records.clone().unwrap();
    let first_len = i32::from_be_bytes(records[8..12].try_into().unwrap()) as usize + 12;
    assert_eq!(records.len(), first_len, "only the batch below the LSO");
    assert_eq!(p.aborted_transactions.as_ref().map(|a| a.len()), Some(0));
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("txn", 0, 0, 0))
        .await;
    let all = r.responses[0].partitions[0].records.clone().unwrap();
    assert!(
        all.len() > 2 * first_len,
        "read_uncommitted reads past the LSO"
    );
    // At the LSO: nothing for read_committed, the open transaction's batch otherwise.
    let mut committed = fetch_request("txn", 2, 0, 0);
    committed.isolation_level = 1;
    let r: FetchResponse = w.call(ApiKey::Fetch, 11, &committed).await;
    assert_eq!(
        r.responses[0].partitions[0]
            .records
            .as_ref()
            .map(|r| r.len()),
        Some(0)
    );
    let r: FetchResponse = w
        .call(ApiKey::Fetch, 11, &fetch_request("txn", 2, 0, 0))
        .await;
    let records = r.responses[0].partitions[0].records.clone().unwrap();
    assert_eq!(i64::from_be_bytes(records[..8].try_into().unwrap()), 2);
    // ListOffsets latest: the LSO for read_committed, the high watermark otherwise.
    let mut lo = list_offsets("txn", -1);
    lo.isolation_level = 1;
    let r: ListOffsetsResponse = w.call(ApiKey::ListOffsets, 7, &lo).await;
    assert_eq!(r.topics[0].partitions[0].offset, 2);
    let r: ListOffsetsResponse = w
        .call(ApiKey::ListOffsets, 7, &list_offsets("txn", -1))
        .await;
    assert_eq!(r.topics[0].partitions[0].offset, 6);
    broker.shutdown().await.unwrap();
}
