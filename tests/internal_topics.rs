//! Kafka's internal topics, `__consumer_offsets` and `__transaction_state`: created by the
//! first coordinator lookup (or a Metadata request allowed to auto-create them) with their
//! own partition count, listed in Metadata as internal, compacted, closed to producers,
//! readable (empty), and still there after a restart.
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

use common::wire::Wire;
use common::{batches, start_broker};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use skiff::BrokerHandle;

const OFFSETS: &str = "__consumer_offsets";
const TXN_STATE: &str = "__transaction_state";

/// Metadata v12 for `names` (all topics when `None`), without auto-creation unless `create`.
async fn metadata(wire: &mut Wire, names: Option<&[&str]>, create: bool) -> MetadataResponse {
    let topics = names.map(|names| {
        names
            .iter()
            .map(|n| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(n.to_string()))))
            })
            .collect()
    });
    let req = MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(create);
    wire.call(ApiKey::Metadata, 12, &req).await
}

/// (error code, partition count, is_internal) of `name` in a Metadata response.
fn topic_of(resp: &MetadataResponse, name: &str) -> Option<(i16, usize, bool)> {
    resp.topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == name))
        .map(|t| (t.error_code, t.partitions.len(), t.is_internal))
}

async fn find_coordinator(wire: &mut Wire, key: &str, key_type: i8) -> i16 {
    let req = FindCoordinatorRequest::default()
        .with_key_type(key_type)
        .with_coordinator_keys(vec![StrBytes::from_string(key.to_string())]);
    let resp: FindCoordinatorResponse = wire.call(ApiKey::FindCoordinator, 4, &req).await;
    resp.coordinators[0].error_code
}

/// The error code of a one-record Produce (v9, acks=1) to partition 0 of `topic`.
async fn produce(wire: &mut Wire, topic: &str) -> i16 {
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(
                    batches::batch(1, 1, 1_700_000_000_000).freeze(),
                ))])]);
    let resp: ProduceResponse = wire.call(ApiKey::Produce, 9, &req).await;
    resp.responses[0].partition_responses[0].error_code
}

async fn broker(dir: &std::path::Path) -> BrokerHandle {
    start_broker(dir, &["offsets.topic.num.partitions=5"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_topics_appear_like_kafkas() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let mut wire = Wire::connect(&broker).await;

    // Nothing before the first lookup; a Metadata request that may not create answers 3.
    let all = metadata(&mut wire, None, false).await;
    assert_eq!(topic_of(&all, OFFSETS), None);
    let named = metadata(&mut wire, Some(&[OFFSETS]), false).await;
    assert_eq!(topic_of(&named, OFFSETS), Some((3, 0, false)));

    // The first group coordinator lookup creates __consumer_offsets with the configured
    // partition count, listed as internal.
    assert_eq!(find_coordinator(&mut wire, "g1", 0).await, 0);
    let all = metadata(&mut wire, None, false).await;
    assert_eq!(topic_of(&all, OFFSETS), Some((0, 5, true)));
    assert_eq!(topic_of(&all, TXN_STATE), None);

    // A transactional lookup creates __transaction_state (Kafka's default 50 partitions).
    assert_eq!(find_coordinator(&mut wire, "tx1", 1).await, 0);
    let all = metadata(&mut wire, None, false).await;
    assert_eq!(topic_of(&all, TXN_STATE), Some((0, 50, true)));

    // Ordinary topics are not internal.
    let created = metadata(&mut wire, Some(&["plain"]), true).await;
    assert_eq!(topic_of(&created, "plain"), Some((0, 3, false)));

    // Producing to an internal topic is refused with INVALID_TOPIC_EXCEPTION and stores
    // nothing; a real client reads its (empty) partitions like any other.
    assert_eq!(produce(&mut wire, OFFSETS).await, 17);
    let log = broker.replicas().log(OFFSETS, 0).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    let bootstrap = broker.local_addr().to_string();
    let watermarks = tokio::task::spawn_blocking({
        let bootstrap = bootstrap.clone();
        move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", "reader")
                .create()
                .unwrap();
            consumer
                .fetch_watermarks(OFFSETS, 4, Duration::from_secs(10))
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert_eq!(watermarks, (0, 0));

    // Compacted, as Kafka's.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    let described = admin
        .describe_configs(
            &[ResourceSpecifier::Topic(OFFSETS)],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    let resource = described[0].as_ref().unwrap();
    let policy = resource.get("cleanup.policy").unwrap();
    assert_eq!(policy.value.as_deref(), Some("compact"));
    assert!(!policy.is_default);

    drop(wire);
    broker.shutdown().await.unwrap();

    // Both survive a restart, still internal, with the partition count they were made with.
    let broker = start_broker(dir.path(), &["offsets.topic.num.partitions=9"]).await;
    let mut wire = Wire::connect(&broker).await;
    let all = metadata(&mut wire, None, false).await;
    assert_eq!(topic_of(&all, OFFSETS), Some((0, 5, true)));
    assert_eq!(topic_of(&all, TXN_STATE), Some((0, 50, true)));
    drop(wire);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_auto_create_makes_the_internal_topic_not_an_ordinary_one() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let mut wire = Wire::connect(&broker).await;
    let created = metadata(&mut wire, Some(&[OFFSETS, TXN_STATE]), true).await;
    assert_eq!(topic_of(&created, OFFSETS), Some((0, 5, true)));
    assert_eq!(topic_of(&created, TXN_STATE), Some((0, 50, true)));
    drop(wire);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_to_an_internal_topic_gets_invalid_topic_before_and_after_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path()).await;
    let mut wire = Wire::connect(&broker).await;
    assert_eq!(produce(&mut wire, TXN_STATE).await, 17);
    assert_eq!(find_coordinator(&mut wire, "tx1", 1).await, 0);
    assert_eq!(produce(&mut wire, TXN_STATE).await, 17);
    let log = broker.replicas().log(TXN_STATE, 0).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    drop(wire);
    broker.shutdown().await.unwrap();
}
