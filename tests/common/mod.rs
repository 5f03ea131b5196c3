//! Shared helpers of the integration tests: an in-process broker on an ephemeral port, and
//! rdkafka clients pointed at it.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]

pub mod batches;
pub mod wire;

use std::path::Path;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};
use skiff::config::Config;
use skiff::{Broker, BrokerHandle};

/// Starts a broker on 127.0.0.1:0 over `dir` with `overrides` (`name=value`).
pub async fn start_broker(dir: &Path, overrides: &[&str]) -> BrokerHandle {
    let mut config = Config::default();
    config.set("listen", "127.0.0.1:0").unwrap();
    config.set("data.dir", dir.to_str().unwrap()).unwrap();
    config.set("num.partitions", "3").unwrap();
    for o in overrides {
        config.apply_override(o).unwrap();
    }
    Broker::start(config).await.unwrap()
}

/// A producer with `compression` (none, gzip, snappy, lz4, zstd) and `acks`.
pub fn producer(bootstrap: &str, compression: &str, acks: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("compression.codec", compression)
        .set("acks", acks)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

/// A group-less consumer (partitions are assigned explicitly).
pub fn consumer(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "skiff-tests")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap()
}

/// The record the tests write as number `i`: deterministic key, value, headers (with a
/// repeated key and a null value) and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: i64,
}

/// First timestamp used by [`test_record`]: an hour before the test process started
/// (recent, so time-based segment rolling and retention leave the data alone).
pub fn base_timestamp() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        now - 3_600_000
    })
}

/// Record number `i`.
pub fn test_record(i: usize) -> TestRecord {
    TestRecord {
        key: format!("key-{i}").into_bytes(),
        value: format!("value-{i}-{}", "x".repeat(i % 64)).into_bytes(),
        headers: vec![
            ("dup".to_string(), Some(format!("first-{i}").into_bytes())),
            ("other".to_string(), None),
            ("dup".to_string(), Some(format!("second-{i}").into_bytes())),
        ],
        timestamp: base_timestamp() + i as i64,
    }
}

/// Sends `r` to `partition`, retrying while the producer queue is full.
pub fn send<C: ProducerContext<DeliveryOpaque = ()>>(
    p: &BaseProducer<C>,
    topic: &str,
    partition: i32,
    r: &TestRecord,
) {
    let mut headers = OwnedHeaders::new();
    for (k, v) in &r.headers {
        headers = headers.insert(Header {
            key: k,
            value: v.as_deref(),
        });
    }
    let mut record = BaseRecord::to(topic)
        .key(&r.key[..])
        .payload(&r.value[..])
        .partition(partition)
        .timestamp(r.timestamp)
        .headers(headers);
    loop {
        match p.send(record) {
            Ok(()) => return,
            Err((e, back)) => {
                assert!(
                    matches!(
                        e.rdkafka_error_code(),
                        Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                    ),
                    "send failed: {e}"
                );
                record = back;
                p.poll(Duration::from_millis(10));
            }
        }
    }
}

/// Flushes `p`, failing the test on timeout.
pub fn flush(p: &BaseProducer) {
    p.flush(Duration::from_secs(60)).unwrap();
}

/// A consumed record with its position.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub record: TestRecord,
}

/// Reads records from `c` until `count` have arrived (or a generous timeout).
pub fn consume(c: &BaseConsumer, count: usize) -> Vec<Consumed> {
    let mut out = Vec::with_capacity(count);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while out.len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {count} records consumed",
            out.len()
        );
        let Some(m) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        let headers = m
            .headers()
            .map(|h| {
                (0..h.count())
                    .map(|i| {
                        let hd = h.get(i);
                        (hd.key.to_string(), hd.value.map(|v| v.to_vec()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Consumed {
            partition: m.partition(),
            offset: m.offset(),
            record: TestRecord {
                key: m.key().unwrap_or_default().to_vec(),
                value: m.payload().unwrap_or_default().to_vec(),
                headers,
                timestamp: m.timestamp().to_millis().unwrap_or(-1),
            },
        });
    }
    out
}

/// Assigns all `partitions` of `topic` to `c` starting at `offset`.
pub fn assign(c: &BaseConsumer, topic: &str, partitions: i32, offset: Offset) {
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, offset).unwrap();
    }
    c.assign(&tpl).unwrap();
}

/// The number in a key written by [`test_record`].
pub fn key_number(key: &[u8]) -> usize {
    std::str::from_utf8(key)
        .unwrap()
        .strip_prefix("key-")
        .unwrap()
        .parse()
        .unwrap()
}

/// How many records the volume tests write (override with SKIFF_TEST_RECORDS).
pub fn volume() -> usize {
    std::env::var("SKIFF_TEST_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Makes sure `topic` exists (auto-created with the broker's num.partitions) by asking
/// for its metadata.
pub fn ensure_topic(bootstrap: &str, topic: &str) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "true")
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    assert_eq!(md.topics()[0].error(), None);
}
