//! Topic configs governing the log, end to end with librdkafka: retention by time and size
//! with small segments, compaction (latest value per key, tombstones until
//! `delete.retention.ms`), `compression.type`, `message.timestamp.type=LogAppendTime` and
//! the timestamp bounds.
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

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Timestamp;
use rdkafka::producer::{BaseRecord, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset};
use skiff::storage::record::BatchHeader;

async fn create(bootstrap: &str, name: &str, configs: &[(&str, &str)]) {
    let a: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let mut t = NewTopic::new(name, 1, TopicReplication::Fixed(1));
    for (k, v) in configs {
        t = t.set(k, v);
    }
    let r = a.create_topics(&[t], &AdminOptions::new()).await.unwrap();
    assert_eq!(r[0], Ok(name.to_string()));
}

fn earliest_consumer(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "lifecycle")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap()
}

/// Consumes (offset, key, value) until the partition's end `end` is reached.
fn read_to_end(c: &BaseConsumer, end: i64) -> Vec<(i64, Vec<u8>, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "stuck at {out:?}");
        if out.last().is_some_and(|(o, _, _)| *o + 1 >= end) {
            return out;
        }
        if let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            out.push((
                m.offset(),
                m.key().unwrap_or_default().to_vec(),
                m.payload().map(|p| p.to_vec()),
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_size_and_time_moves_the_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    create(
        &bootstrap,
        "sized",
        &[
            ("internal.segment.bytes", "2048"),
            ("retention.bytes", "8192"),
        ],
    )
    .await;
    create(
        &bootstrap,
        "timed",
        &[
            ("internal.segment.bytes", "2048"),
            ("retention.ms", "600000"),
        ],
    )
    .await;
    let p = producer(&bootstrap, "none", "all");
    for i in 0..400 {
        // test_record timestamps are an hour old: older than retention.ms above.
        send(&p, "sized", 0, &test_record(i));
        send(&p, "timed", 0, &test_record(i));
        if i % 50 == 0 {
            flush(&p);
        }
    }
    flush(&p);
    let sized = broker.replicas().log("sized", 0).unwrap();
    let timed = broker.replicas().log("timed", 0).unwrap();
    let segments_before = sized.segment_infos().len();
    assert!(
        segments_before > 5,
        "small segments roll: {segments_before}"
    );
    broker.enforce_retention().await;
    assert!(sized.log_start_offset() > 0);
    assert!(
        sized.size_bytes() <= 8192 + 2 * 2048,
        "{}",
        sized.size_bytes()
    );
    assert!(sized.segment_infos().len() < segments_before);
    // Time retention removes every closed segment of old data.
    assert!(timed.log_start_offset() > 0);
    assert_eq!(timed.segment_infos().len(), 1);

    // A consumer from the beginning starts at the new log start; one positioned before it
    // is reset (auto.offset.reset=earliest) to it.
    for start in [Offset::Beginning, Offset::Offset(0)] {
        let c = earliest_consumer(&bootstrap);
        assign(&c, "sized", 1, start);
        let got = read_to_end(&c, sized.log_end_offset());
        assert_eq!(got[0].0, sized.log_start_offset(), "{start:?}");
        assert_eq!(got.len() as i64, 400 - sized.log_start_offset());
    }
    let c = consumer(&bootstrap);
    let (low, high) = c
        .fetch_watermarks("sized", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!((low, high), (sized.log_start_offset(), 400));
    drop(p);
    broker.shutdown().await.unwrap();
}

fn produce_keyed(p: &rdkafka::producer::BaseProducer, topic: &str, key: &str, value: Option<&str>) {
    let mut r: BaseRecord<'_, str, str> = BaseRecord::to(topic).key(key).partition(0);
    if let Some(v) = value {
        r = r.payload(v);
    }
    loop {
        match p.send(r) {
            Ok(()) => return,
            Err((_, back)) => {
                r = back;
                p.poll(Duration::from_millis(10));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_keeps_the_latest_value_per_key_and_drops_tombstones_later() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["log.cleaner.enable=false"]).await;
    let bootstrap = broker.bootstrap();
    create(
        &bootstrap,
        "kv",
        &[
            ("cleanup.policy", "compact"),
            ("internal.segment.bytes", "65536"),
            ("delete.retention.ms", "60000"),
        ],
    )
    .await;
    // 100k records over 1k keys by default (SKIFF_TEST_RECORDS scales it).
    let keys = 1000;
    let rounds = (volume() / keys).max(2);
    let p = producer(&bootstrap, "none", "all");
    let mut latest: HashMap<String, Option<String>> = HashMap::new();
    for r in 0..rounds {
        for k in 0..keys {
            if k % 500 == 0 {
                p.poll(Duration::ZERO);
            }
            let key = format!("k{k}");
            // Every 7th key ends deleted (a tombstone in the last round).
            let value = if r == rounds - 1 && k % 7 == 0 {
                None
            } else {
                Some(format!("v{r}-{k}"))
            };
            produce_keyed(&p, "kv", &key, value.as_deref());
            latest.insert(key, value);
        }
        flush(&p);
    }
    let log = broker.replicas().log("kv", 0).unwrap();
    let end = log.log_end_offset();
    assert_eq!(end, (keys * rounds) as i64);
    let size_before = log.size_bytes();
    log.roll_now().unwrap();
    let stats = broker.replicas().storage().compact("kv", 0).unwrap();
    assert!(stats.segments_cleaned > 0, "{stats:?}");
    assert!(log.size_bytes() < size_before / 4, "disk usage shrinks");

    let check = |expect_tombstones: bool| {
        let c = earliest_consumer(&bootstrap);
        assign(&c, "kv", 1, Offset::Beginning);
        let got = read_to_end(&c, end);
        let mut seen: HashMap<String, Option<String>> = HashMap::new();
        for (offset, k, v) in &got {
            let key = String::from_utf8(k.clone()).unwrap();
            assert!(*offset < end);
            assert!(
                seen.insert(key, v.clone().map(|v| String::from_utf8(v).unwrap()))
                    .is_none(),
                "a key appears twice after compaction"
            );
        }
        for (k, v) in &latest {
            match (v, seen.get(k)) {
                (Some(v), Some(Some(got))) => assert_eq!(got, v),
                (None, Some(None)) => assert!(expect_tombstones, "{k}: tombstone kept"),
                (None, None) => assert!(!expect_tombstones, "{k}: tombstone gone too early"),
                other => panic!("{k}: {other:?}"),
            }
        }
    };
    check(true);
    // Once delete.retention.ms has passed since the tombstones were cleaned, they go.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 120_000;
    log.compact(later).unwrap();
    log.compact(later).unwrap();
    check(false);
    // Offsets of kept records are unchanged: the last round's live values sit at their
    // original offsets.
    let c = earliest_consumer(&bootstrap);
    assign(&c, "kv", 1, Offset::Beginning);
    for (offset, k, _) in read_to_end(&c, end) {
        let k: usize = String::from_utf8(k).unwrap()[1..].parse().unwrap();
        assert_eq!(offset, ((rounds - 1) * keys + k) as i64);
    }
    drop(p);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_cleaner_runs_when_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    assert!(broker.replicas().storage().cleaner_running());
    broker.shutdown().await.unwrap();
    let broker = start_broker(dir.path(), &["log.cleaner.enable=false"]).await;
    assert!(!broker.replicas().storage().cleaner_running());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_type_and_log_append_time_and_timestamp_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    // At a level of its own (compression.zstd.level), which the broker compresses with.
    create(
        &bootstrap,
        "zstd",
        &[
            ("compression.type", "zstd"),
            ("compression.zstd.level", "19"),
        ],
    )
    .await;
    create(
        &bootstrap,
        "appended",
        &[("message.timestamp.type", "LogAppendTime")],
    )
    .await;
    create(
        &bootstrap,
        "recent",
        &[("message.timestamp.before.max.ms", "60000")],
    )
    .await;
    for (codec, topic) in [("none", "zstd"), ("gzip", "zstd"), ("none", "appended")] {
        let p = producer(&bootstrap, codec, "all");
        for i in 0..50 {
            send(&p, topic, 0, &test_record(i));
        }
        flush(&p);
    }
    // Every stored batch of the zstd topic is zstd, and reads back intact.
    let log = broker.replicas().log("zstd", 0).unwrap();
    let data = log.read(0, 64 * 1024 * 1024).unwrap();
    let mut pos = 0;
    let mut batches = 0;
    while pos + 61 <= data.len() {
        let h = BatchHeader::parse(&data[pos..]).unwrap();
        assert_eq!(h.compression_id(), 4, "batch at {}", h.base_offset);
        pos += h.batch_length as usize + 12;
        batches += 1;
    }
    assert!(batches >= 2);
    let c = consumer(&bootstrap);
    assign(&c, "zstd", 1, Offset::Beginning);
    let got = consume(&c, 100);
    for (n, g) in got.iter().enumerate() {
        assert_eq!(g.record, test_record(n % 50));
    }

    // LogAppendTime: the broker's clock, not the producer's hour-old timestamps.
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 60_000;
    let c = consumer(&bootstrap);
    assign(&c, "appended", 1, Offset::Beginning);
    let mut n = 0;
    while n < 50 {
        let Some(m) = c.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = m.unwrap();
        match m.timestamp() {
            Timestamp::LogAppendTime(t) => assert!(t >= before),
            other => panic!("expected LogAppendTime, got {other:?}"),
        }
        n += 1;
    }

    // message.timestamp.before.max.ms: an hour-old timestamp is refused, a fresh one taken.
    let fp: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("message.send.max.retries", "0")
        .create()
        .unwrap();
    let old = FutureRecord::to("recent")
        .key("k")
        .payload("old")
        .partition(0)
        .timestamp(base_timestamp());
    let err = fp.send(old, Duration::from_secs(10)).await.unwrap_err().0;
    assert_eq!(
        err.rdkafka_error_code(),
        Some(RDKafkaErrorCode::InvalidTimestamp)
    );
    let fresh = FutureRecord::to("recent")
        .key("k")
        .payload("new")
        .partition(0);
    assert!(fp.send(fresh, Duration::from_secs(10)).await.is_ok());
    fp.flush(Duration::from_secs(10)).unwrap();
    broker.shutdown().await.unwrap();
}

/// After compaction empties whole segments, one read from the log start reaches the first
/// live record (librdkafka stops after a run of record-less fetch answers).
#[test]
fn a_read_crosses_segments_left_empty_by_compaction() {
    use skiff::storage::record::batch::split_batches;
    use skiff::storage::record::BatchBuilder;
    use skiff::storage::{CleanupPolicy, Compression, Log, LogConfig, TimestampType};
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 200,
        segment_ms: None,
        cleanup_policy: CleanupPolicy {
            delete: false,
            compact: true,
        },
        retention_ms: None,
        ..LogConfig::default()
    };
    let log = Log::open(&dir.path().join("t-0"), config).unwrap();
    let now = base_timestamp() + 3_600_000;
    for i in 0..40 {
        let mut b = BatchBuilder::new(Compression::None);
        let value = format!("value-{i}");
        b.push(Some(b"same-key"), Some(value.as_bytes()), &[], now)
            .unwrap();
        let batch = bytes::BytesMut::from(&b.build().unwrap()[..]);
        log.append(batch, 0, TimestampType::CreateTime).unwrap();
    }
    log.roll_now().unwrap();
    assert!(log.segment_infos().len() > 10);
    log.compact_now().unwrap();
    let data = log.read(log.log_start_offset(), 1 << 20).unwrap();
    let records: i32 = split_batches(&data)
        .map(|b| b.unwrap().0.record_count)
        .sum();
    assert_eq!(records, 1, "the one live record is in the first answer");
    let last = split_batches(&data).last().unwrap().unwrap().0;
    assert_eq!(last.base_offset, 39);
}
