//! Client quotas: DescribeClientQuotas and AlterClientQuotas on the wire (Kafka's answers
//! and error codes, persistence across a restart), and their enforcement through real
//! clients (throttle_time_ms reported, the channel muted, nothing lost, no disconnect).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::start_broker;
use common::wire::Wire;
use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey, CreatePartitionsRequest,
    CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse,
    ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

const INVALID_REQUEST: i16 = 42;
const UNSUPPORTED_VERSION: i16 = 35;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// An AlterClientQuotas entry: entity components (type, name) and ops (key, value or
/// `None` to remove).
fn entry(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> EntryData {
    EntryData::default()
        .with_entity(
            entity
                .iter()
                .map(|(t, n)| {
                    EntityData::default()
                        .with_entity_type(s(t))
                        .with_entity_name(n.map(s))
                })
                .collect(),
        )
        .with_ops(
            ops.iter()
                .map(|(k, v)| {
                    OpData::default()
                        .with_key(s(k))
                        .with_value(v.unwrap_or(0.0))
                        .with_remove(v.is_none())
                })
                .collect(),
        )
}

async fn alter(
    w: &mut Wire,
    version: i16,
    entries: Vec<EntryData>,
    validate_only: bool,
) -> Vec<(i16, Option<String>)> {
    let req = AlterClientQuotasRequest::default()
        .with_entries(entries)
        .with_validate_only(validate_only);
    let r: AlterClientQuotasResponse = w.call(ApiKey::AlterClientQuotas, version, &req).await;
    r.entries
        .iter()
        .map(|e| {
            (
                e.error_code,
                e.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect()
}

/// A filter component: (entity type, match type, match).
fn component(t: &str, match_type: i8, m: Option<&str>) -> ComponentData {
    ComponentData::default()
        .with_entity_type(s(t))
        .with_match_type(match_type)
        .with_match(m.map(s))
}

/// Entities (as sorted (type, name) lists) with their sorted (key, value) quotas.
type Described = Vec<(Vec<(String, Option<String>)>, Vec<(String, f64)>)>;

async fn describe(
    w: &mut Wire,
    version: i16,
    components: Vec<ComponentData>,
    strict: bool,
) -> Result<Described, (i16, String)> {
    let req = DescribeClientQuotasRequest::default()
        .with_components(components)
        .with_strict(strict);
    let r: DescribeClientQuotasResponse = w.call(ApiKey::DescribeClientQuotas, version, &req).await;
    if r.error_code != 0 {
        assert!(r.entries.is_none());
        return Err((
            r.error_code,
            r.error_message.map(|m| m.to_string()).unwrap_or_default(),
        ));
    }
    let mut out: Described = r
        .entries
        .unwrap()
        .iter()
        .map(|e| {
            let mut entity: Vec<_> = e
                .entity
                .iter()
                .map(|c| {
                    (
                        c.entity_type.to_string(),
                        c.entity_name.as_ref().map(|n| n.to_string()),
                    )
                })
                .collect();
            entity.sort();
            let mut values: Vec<_> = e
                .values
                .iter()
                .map(|v| (v.key.to_string(), v.value))
                .collect();
            values.sort_by(|a, b| a.0.cmp(&b.0));
            (entity, values)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn entity(parts: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = parts
        .iter()
        .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_and_describe_client_quotas_on_the_wire_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    for version in [0, 1] {
        assert_eq!(describe(&mut w, version, vec![], false).await, Ok(vec![]));
    }
    // Set: a user, a user's default client, the default client id, a user with a client.
    let r = alter(
        &mut w,
        1,
        vec![
            entry(
                &[("user", Some("alice"))],
                &[
                    ("producer_byte_rate", Some(1024.0)),
                    ("request_percentage", Some(12.5)),
                ],
            ),
            entry(
                &[("user", Some("alice")), ("client-id", None)],
                &[("consumer_byte_rate", Some(2048.0))],
            ),
            entry(
                &[("client-id", None)],
                &[("controller_mutation_rate", Some(2.5))],
            ),
            entry(
                &[("user", Some("bob")), ("client-id", Some("app"))],
                &[("producer_byte_rate", Some(10.0))],
            ),
            entry(
                &[("ip", None)],
                &[("connection_creation_rate", Some(100.0))],
            ),
        ],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None); 5]);
    let all = describe(&mut w, 1, vec![], false).await.unwrap();
    assert_eq!(all.len(), 5);
    // Exact user match, not strict: alice and alice with the default client.
    let alice = describe(&mut w, 1, vec![component("user", 0, Some("alice"))], false)
        .await
        .unwrap();
    assert_eq!(
        alice,
        vec![
            (
                entity(&[("user", Some("alice")), ("client-id", None)]),
                vec![("consumer_byte_rate".into(), 2048.0)]
            ),
            (
                entity(&[("user", Some("alice"))]),
                vec![
                    ("producer_byte_rate".into(), 1024.0),
                    ("request_percentage".into(), 12.5)
                ]
            ),
        ]
    );
    // Strict: only the entity that has nothing but the user.
    let strict = describe(&mut w, 1, vec![component("user", 0, Some("alice"))], true)
        .await
        .unwrap();
    assert_eq!(strict.len(), 1);
    // Default client id, strict; any client id (specified).
    let default_client = describe(&mut w, 0, vec![component("client-id", 1, None)], true)
        .await
        .unwrap();
    assert_eq!(
        default_client,
        vec![(
            entity(&[("client-id", None)]),
            vec![("controller_mutation_rate".into(), 2.5)]
        )]
    );
    let any_client = describe(&mut w, 1, vec![component("client-id", 2, None)], false)
        .await
        .unwrap();
    assert_eq!(any_client.len(), 3);
    // validate_only changes nothing; removal drops a key, the last key drops the entity.
    let r = alter(
        &mut w,
        1,
        vec![entry(
            &[("client-id", None)],
            &[("controller_mutation_rate", None)],
        )],
        true,
    )
    .await;
    assert_eq!(r, vec![(0, None)]);
    assert_eq!(describe(&mut w, 1, vec![], false).await.unwrap().len(), 5);
    let r = alter(
        &mut w,
        1,
        vec![
            entry(
                &[("client-id", None)],
                &[("controller_mutation_rate", None)],
            ),
            entry(
                &[("user", Some("alice"))],
                &[("request_percentage", None), ("consumer_byte_rate", None)],
            ),
        ],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None), (0, None)]);
    let before = describe(&mut w, 1, vec![], false).await.unwrap();
    assert_eq!(before.len(), 4);
    assert!(before.contains(&(
        entity(&[("user", Some("alice"))]),
        vec![("producer_byte_rate".into(), 1024.0)]
    )));
    drop(w);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    assert_eq!(describe(&mut w, 1, vec![], false).await.unwrap(), before);
    drop(w);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_quota_requests_get_kafkas_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let cases: Vec<(EntryData, &str)> = vec![
        (entry(&[], &[("producer_byte_rate", Some(1.0))]), "Invalid empty client quota entity"),
        (entry(&[("group", Some("g"))], &[("producer_byte_rate", Some(1.0))]), "Unhandled client quota entity type: group"),
        (entry(&[("user", Some(""))], &[("producer_byte_rate", Some(1.0))]), "Empty user not supported"),
        (entry(&[("user", Some("u"))], &[("no_such_key", Some(1.0))]), "Invalid configuration key no_such_key"),
        (entry(&[("user", Some("u"))], &[("producer_byte_rate", Some(0.0))]), "Quota producer_byte_rate must be greater than 0"),
        (entry(&[("client-id", Some("c"))], &[("consumer_byte_rate", Some(-1.0))]), "Quota consumer_byte_rate must be greater than 0"),
        (entry(&[("client-id", Some("c"))], &[("consumer_byte_rate", Some(10.5))]), "consumer_byte_rate cannot be a fractional value."),
        (entry(&[("user", Some("u"))], &[("connection_creation_rate", Some(1.0))]), "Invalid configuration key connection_creation_rate"),
        (entry(&[("ip", Some("10.0.0.1")), ("user", Some("u"))], &[("connection_creation_rate", Some(1.0))]), "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
        (entry(&[("ip", None)], &[("producer_byte_rate", Some(1.0))]), "Invalid configuration key producer_byte_rate"),
    ];
    for (e, message) in cases {
        let r = alter(&mut w, 1, vec![e], false).await;
        assert_eq!(r, vec![(INVALID_REQUEST, Some(message.to_string()))]);
    }
    // One bad entity does not stop the others.
    let r = alter(
        &mut w,
        0,
        vec![
            entry(
                &[("user", Some("u"))],
                &[
                    ("producer_byte_rate", Some(1.0)),
                    ("consumer_byte_rate", Some(0.0)),
                ],
            ),
            entry(&[("user", Some("v"))], &[("producer_byte_rate", Some(5.0))]),
        ],
        false,
    )
    .await;
    assert_eq!(r[0].0, INVALID_REQUEST);
    assert_eq!(r[1], (0, None));
    assert_eq!(
        describe(&mut w, 1, vec![], false).await.unwrap(),
        vec![(
            entity(&[("user", Some("v"))]),
            vec![("producer_byte_rate".into(), 5.0)]
        )]
    );
    // Filters.
    let filters: Vec<(Vec<ComponentData>, i16, &str)> = vec![
        (vec![component("", 0, Some("x"))], INVALID_REQUEST, "Invalid empty entity type."),
        (vec![component("user", 2, None), component("user", 1, None)], INVALID_REQUEST, "Entity type user cannot appear more than once in the filter."),
        (vec![component("group", 2, None)], UNSUPPORTED_VERSION, "Unsupported entity type group"),
        (vec![component("user", 0, None)], INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."),
        (vec![component("user", 1, Some("x"))], INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."),
        (vec![component("user", 2, Some("x"))], INVALID_REQUEST, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."),
        (vec![component("user", 9, None)], INVALID_REQUEST, "Unknown match type 9"),
        (vec![component("ip", 2, None), component("client-id", 2, None)], INVALID_REQUEST, "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."),
    ];
    for (components, code, message) in filters {
        assert_eq!(
            describe(&mut w, 1, components, false).await,
            Err((code, message.to_string()))
        );
    }
    drop(w);
    broker.shutdown().await.unwrap();
}

/// Quota windows short enough for tests: the rate is measured over at least one 1 s window.
const SHORT_WINDOWS: &[&str] = &[
    "quota.window.num=2",
    "quota.window.size.seconds=1",
    "controller.quota.window.num=2",
    "controller.quota.window.size.seconds=1",
];

/// Sets `key` to `value` for the default client id (every client).
async fn set_default_client_quota(w: &mut Wire, key: &str, value: f64) {
    let r = alter(
        w,
        1,
        vec![entry(&[("client-id", None)], &[(key, Some(value))])],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None)]);
}

/// What librdkafka's statistics said over a client's life: the largest throttle time a
/// broker reported, and the disconnects.
#[derive(Default)]
struct Seen {
    max_throttle_ms: AtomicI64,
    disconnects: AtomicI64,
    stats: AtomicI64,
}

#[derive(Clone, Default)]
struct StatsContext(Arc<Seen>);

impl ClientContext for StatsContext {
    fn stats(&self, statistics: Statistics) {
        for b in statistics.brokers.values() {
            if let Some(t) = &b.throttle {
                self.0.max_throttle_ms.fetch_max(t.max, Ordering::Relaxed);
            }
            // librdkafka's logical GroupCoordinator handle counts a "disconnect" whenever
            // it is pointed at a real connection; only real connections count here.
            if b.source != "logical" {
                self.0
                    .disconnects
                    .fetch_max(b.disconnects.unwrap_or(0), Ordering::Relaxed);
            }
        }
        self.0.stats.fetch_add(1, Ordering::Relaxed);
    }
}

impl ProducerContext for StatsContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

impl ConsumerContext for StatsContext {}

/// Polls `poll` until librdkafka has published statistics after the work was done (so the
/// last throttle window is in), at most a generous deadline.
fn await_stats(seen: &Seen, mut poll: impl FnMut()) {
    let after = seen.stats.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.stats.load(Ordering::Relaxed) < after + 2 {
        assert!(Instant::now() < deadline, "no statistics from librdkafka");
        poll();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_over_its_byte_rate_is_throttled_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), SHORT_WINDOWS).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("quota-produce").await;
    // 20 KB/s; the producer sends about 60 KB, several times what one window allows.
    set_default_client_quota(&mut w, "producer_byte_rate", 20_000.0).await;
    let bootstrap = broker.bootstrap();
    let count = 600;
    let (seen, delivered) = tokio::task::spawn_blocking(move || {
        let ctx = StatsContext::default();
        let p: BaseProducer<StatsContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("client.id", "throttled-producer")
            .set("linger.ms", "5")
            .set("batch.size", "4000")
            .set("statistics.interval.ms", "100")
            .create_with_context(ctx.clone())
            .unwrap();
        let value = vec![b'x'; 100];
        for i in 0..count {
            let key = format!("k{i}");
            let mut record = BaseRecord::to("quota-produce")
                .key(&key)
                .payload(&value)
                .partition(0);
            loop {
                match p.send(record) {
                    Ok(()) => break,
                    Err((_, back)) => {
                        record = back;
                        p.poll(Duration::from_millis(10));
                    }
                }
            }
            p.poll(Duration::ZERO);
        }
        p.flush(Duration::from_secs(60)).unwrap();
        assert_eq!(p.in_flight_count(), 0);
        await_stats(&ctx.0, || {
            p.poll(Duration::from_millis(50));
        });
        (ctx.0, count)
    })
    .await
    .unwrap();
    assert!(
        seen.max_throttle_ms.load(Ordering::Relaxed) > 0,
        "librdkafka saw no throttle time"
    );
    assert_eq!(
        seen.disconnects.load(Ordering::Relaxed),
        0,
        "a connection was dropped"
    );
    // Every record is in the log, once.
    let partition = broker.replicas().partition("quota-produce", 0).unwrap();
    assert_eq!(partition.offsets().high_watermark, delivered as i64);
    drop(w);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_over_its_byte_rate_is_throttled_and_reads_everything() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), SHORT_WINDOWS).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("quota-fetch").await;
    let bootstrap = broker.bootstrap();
    let count = 600usize;
    {
        let bootstrap = bootstrap.clone();
        tokio::task::spawn_blocking(move || {
            // Batches well below what the quota allows in one window: a single batch above it
            // would be throttled on every fetch (as on Kafka).
            let p: BaseProducer = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("linger.ms", "5")
                .set("batch.size", "4000")
                .create()
                .unwrap();
            let value = vec![b'y'; 100];
            for i in 0..count {
                let key = format!("k{i}");
                p.send(
                    BaseRecord::to("quota-fetch")
                        .key(&key)
                        .payload(&value)
                        .partition(0),
                )
                .unwrap();
                p.poll(Duration::ZERO);
            }
            p.flush(Duration::from_secs(60)).unwrap();
        })
        .await
        .unwrap();
    }
    set_default_client_quota(&mut w, "consumer_byte_rate", 20_000.0).await;
    let seen = tokio::task::spawn_blocking(move || {
        let ctx = StatsContext::default();
        let c: BaseConsumer<StatsContext> = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "quota-tests")
            .set("client.id", "throttled-consumer")
            .set("enable.auto.commit", "false")
            .set("fetch.max.bytes", "8000")
            .set("message.max.bytes", "8000")
            .set("max.partition.fetch.bytes", "8000")
            .set("statistics.interval.ms", "100")
            .create_with_context(ctx.clone())
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("quota-fetch", 0, Offset::Beginning)
            .unwrap();
        c.assign(&tpl).unwrap();
        let mut next = 0i64;
        let deadline = Instant::now() + Duration::from_secs(60);
        while next < count as i64 {
            assert!(Instant::now() < deadline, "consumed only {next} of {count}");
            if let Some(m) = c.poll(Duration::from_millis(100)) {
                let m = m.unwrap();
                assert_eq!(m.offset(), next, "records out of order or missing");
                assert_eq!(m.key(), Some(format!("k{next}").as_bytes()));
                next += 1;
            }
        }
        await_stats(&ctx.0, || {
            let _ = c.poll(Duration::from_millis(50));
        });
        ctx.0
    })
    .await
    .unwrap();
    assert!(
        seen.max_throttle_ms.load(Ordering::Relaxed) > 0,
        "librdkafka saw no throttle time"
    );
    assert_eq!(
        seen.disconnects.load(Ordering::Relaxed),
        0,
        "a connection was dropped"
    );
    drop(w);
    broker.shutdown().await.unwrap();
}

/// A Produce v9 request of one batch of `count` records to `topic`/0.
fn produce_request(topic: &str, count: usize) -> ProduceRequest {
    let batch = common::batches::batch(1, count, common::base_timestamp()).freeze();
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_produce_is_answered_with_its_throttle_time_and_the_connection_stays() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), SHORT_WINDOWS).await;
    let mut w = Wire::connect_as(&broker, "raw-producer").await;
    w.create_topic("quota-wire").await;
    // Below any quota: no throttle.
    let r: ProduceResponse = w
        .call(ApiKey::Produce, 9, &produce_request("quota-wire", 5))
        .await;
    assert_eq!(r.throttle_time_ms, 0);
    // A quota for this client id only: 1000 B/s, and a batch of a few KB.
    let r = alter(
        &mut w,
        1,
        vec![entry(
            &[("client-id", Some("raw-producer"))],
            &[("producer_byte_rate", Some(1000.0))],
        )],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None)]);
    let r: ProduceResponse = w
        .call(ApiKey::Produce, 9, &produce_request("quota-wire", 40))
        .await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "a throttled produce is still appended");
    assert_eq!(p.base_offset, 5);
    assert!(r.throttle_time_ms > 0, "no throttle time in the response");
    // The connection is muted for a while, not closed: the next request is answered.
    let r: ProduceResponse = w
        .call(ApiKey::Produce, 9, &produce_request("quota-wire", 1))
        .await;
    assert_eq!(r.responses[0].partition_responses[0].base_offset, 45);
    // Another client id has no quota.
    let mut other = Wire::connect_as(&broker, "other-producer").await;
    let r: ProduceResponse = other
        .call(ApiKey::Produce, 9, &produce_request("quota-wire", 40))
        .await;
    assert_eq!(r.throttle_time_ms, 0);
    drop(w);
    drop(other);
    broker.shutdown().await.unwrap();
}

fn creatable(name: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(s(name)))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_mutations_beyond_the_quota_are_refused_with_throttling_quota_exceeded() {
    const THROTTLING_QUOTA_EXCEEDED: i16 = 89;
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), SHORT_WINDOWS).await;
    let mut w = Wire::connect(&broker).await;
    // 1 partition a second, a bucket of 2 windows: 2 partitions of burst.
    set_default_client_quota(&mut w, "controller_mutation_rate", 1.0).await;
    // v7 (strict): the first topic takes the bucket far below zero (18 s to refill), the
    // second is refused.
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![creatable("m1", 20), creatable("m2", 3)]);
    let r: CreateTopicsResponse = w.call(ApiKey::CreateTopics, 7, &req).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert_eq!(r.topics[1].error_code, THROTTLING_QUOTA_EXCEEDED);
    assert_eq!(
        r.topics[1].error_message.as_ref().map(|m| m.to_string()),
        Some("The throttling quota has been exceeded.".to_string())
    );
    assert!(r.throttle_time_ms > 0);
    assert!(broker.replicas().topics().get("m2").is_none());
    // That connection is muted for the throttle time (until the bucket has refilled);
    // other connections of the same client id share its quota and see the bucket
    // still below zero. CreatePartitions v3 and DeleteTopics v6 are strict too.
    let mut w = Wire::connect(&broker).await;
    let req = CreatePartitionsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(TopicName(s("m1")))
            .with_count(22)
            .with_assignments(None)]);
    let r: CreatePartitionsResponse = w.call(ApiKey::CreatePartitions, 3, &req).await;
    assert_eq!(r.results[0].error_code, THROTTLING_QUOTA_EXCEEDED);
    assert!(r.throttle_time_ms > 0);
    assert_eq!(broker.replicas().topics().get("m1").unwrap().partitions, 20);
    let mut w = Wire::connect(&broker).await;
    let req = DeleteTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![
            DeleteTopicState::default().with_name(Some(TopicName(s("m1"))))
        ]);
    let r: DeleteTopicsResponse = w.call(ApiKey::DeleteTopics, 6, &req).await;
    assert_eq!(r.responses[0].error_code, THROTTLING_QUOTA_EXCEEDED);
    assert!(broker.replicas().topics().get("m1").is_some());
    // CreateTopics v5 (permissive): accepted, and throttled.
    let mut w = Wire::connect(&broker).await;
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(vec![creatable("m3", 1)]);
    let r: CreateTopicsResponse = w.call(ApiKey::CreateTopics, 5, &req).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert!(r.throttle_time_ms > 0);
    assert!(broker.replicas().topics().get("m3").is_some());
    drop(w);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_request_percentage_is_throttled_not_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), SHORT_WINDOWS).await;
    let mut w = Wire::connect_as(&broker, "busy-client").await;
    w.create_topic("quota-requests").await;
    // A share of one thread so small that handling any request exceeds it.
    let r = alter(
        &mut w,
        1,
        vec![entry(
            &[("client-id", Some("busy-client"))],
            &[("request_percentage", Some(1e-9))],
        )],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None)]);
    for expected_offset in [0, 3] {
        let r: ProduceResponse = w
            .call(ApiKey::Produce, 9, &produce_request("quota-requests", 3))
            .await;
        assert_eq!(
            r.responses[0].partition_responses[0].base_offset,
            expected_offset
        );
        // The request-time throttle is at most one window (Kafka's bound).
        assert!(
            r.throttle_time_ms > 0 && r.throttle_time_ms <= 1000,
            "throttle_time_ms {}",
            r.throttle_time_ms
        );
    }
    drop(w);
    broker.shutdown().await.unwrap();
}
