//! End-to-end tests with librdkafka (rdkafka) against an in-process broker.
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
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};

const PARTITIONS: i32 = 3;

/// Produces `n` records round-robin over the partitions; returns, per partition, the record
/// numbers in the order they were sent.
fn produce_all(bootstrap: &str, topic: &str, compression: &str, n: usize) -> Vec<Vec<usize>> {
    let p = producer(bootstrap, compression, "1");
    let mut per_partition = vec![Vec::new(); PARTITIONS as usize];
    for i in 0..n {
        let partition = (i % PARTITIONS as usize) as i32;
        send(&p, topic, partition, &test_record(i));
        per_partition[partition as usize].push(i);
        if i % 1000 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    flush(&p);
    per_partition
}

/// Checks that `consumed` is exactly `expected` per partition: offsets 0.. in order, every
/// field equal.
fn check_exact(consumed: &[Consumed], expected: &[Vec<usize>]) {
    let mut by_partition: HashMap<i32, Vec<&Consumed>> = HashMap::new();
    for c in consumed {
        by_partition.entry(c.partition).or_default().push(c);
    }
    for (p, numbers) in expected.iter().enumerate() {
        let got = by_partition.remove(&(p as i32)).unwrap_or_default();
        assert_eq!(got.len(), numbers.len(), "partition {p} record count");
        for (offset, (c, &i)) in got.iter().zip(numbers).enumerate() {
            assert_eq!(
                c.offset, offset as i64,
                "partition {p} offsets are contiguous"
            );
            assert_eq!(c.record, test_record(i), "partition {p} offset {offset}");
        }
    }
    assert!(
        by_partition.is_empty(),
        "records from unexpected partitions"
    );
}

fn round_trip(compression: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start_broker(dir.path(), &[]));
    let bootstrap = broker.bootstrap();
    let topic = format!("round-trip-{compression}");
    ensure_topic(&bootstrap, &topic);
    let n = volume();
    let expected = produce_all(&bootstrap, &topic, compression, n);

    let c = consumer(&bootstrap);
    assign(&c, &topic, PARTITIONS, Offset::Beginning);
    let consumed = consume(&c, n);
    check_exact(&consumed, &expected);

    for (p, numbers) in expected.iter().enumerate() {
        let (low, high) = c
            .fetch_watermarks(&topic, p as i32, Duration::from_secs(10))
            .unwrap();
        assert_eq!((low, high), (0, numbers.len() as i64), "watermarks of {p}");
    }
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn round_trip_uncompressed() {
    round_trip("none");
}

#[test]
fn round_trip_gzip() {
    round_trip("gzip");
}

#[test]
fn round_trip_snappy() {
    round_trip("snappy");
}

#[test]
fn round_trip_lz4() {
    round_trip("lz4");
}

#[test]
fn round_trip_zstd() {
    round_trip("zstd");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_for_times_finds_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "times";
    ensure_topic(&bootstrap, topic);
    // 3000 records; partition p gets records p, p+3, ...: timestamps BASE + i.
    let expected = produce_all(&bootstrap, topic, "lz4", 3000);
    let c = consumer(&bootstrap);
    let mut query = TopicPartitionList::new();
    // Record 1501 sits in partition 1 at offset 500.
    query
        .add_partition_offset(topic, 1, Offset::Offset(base_timestamp() + 1501))
        .unwrap();
    // A timestamp between records: partition 0 holds 0, 3, 6, ...; BASE+4 -> record 6 (offset 2).
    query
        .add_partition_offset(topic, 0, Offset::Offset(base_timestamp() + 4))
        .unwrap();
    // Beyond every record: no offset (librdkafka reports End).
    query
        .add_partition_offset(topic, 2, Offset::Offset(base_timestamp() + 1_000_000))
        .unwrap();
    let found = c.offsets_for_times(query, Duration::from_secs(10)).unwrap();
    let offset_of = |p: i32| found.find_partition(topic, p).unwrap().offset();
    assert_eq!(expected[1][500], 1501);
    assert_eq!(offset_of(1), Offset::Offset(500));
    assert_eq!(offset_of(0), Offset::Offset(2));
    assert_eq!(offset_of(2), Offset::End);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_at_latest_sees_only_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "latest";
    ensure_topic(&bootstrap, topic);
    produce_all(&bootstrap, topic, "none", 300);

    let c = consumer(&bootstrap);
    assign(&c, topic, PARTITIONS, Offset::End);
    // The consumer resolves `End` asynchronously: keep producing new records (to partition
    // 0) until it receives one; every record it ever gets must be new.
    let p = producer(&bootstrap, "none", "1");
    let mut got = Vec::new();
    let mut next = 1000;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while got.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no new record arrived"
        );
        send(&p, topic, 0, &test_record(next));
        next += 1;
        flush(&p);
        if let Some(m) = c.poll(Duration::from_millis(100)) {
            got.push(m.unwrap().offset());
        }
    }
    // Then a burst on every partition arrives completely.
    for i in 5000..5030 {
        send(&p, topic, (i % 3) as i32, &test_record(i));
    }
    flush(&p);
    assert!(
        got[0] >= 100,
        "an old record (offset {}) was delivered",
        got[0]
    );
    // Read until the whole burst is in; only new records may show up on the way.
    let mut burst = std::collections::BTreeSet::new();
    while burst.len() < 30 {
        let r = consume(&c, 1).remove(0);
        let n = key_number(&r.record.key);
        assert!(n >= 1000, "old record {n} delivered");
        if n >= 5000 {
            assert!(burst.insert(n), "record {n} delivered twice");
        }
    }
    assert_eq!(burst, (5000..5030).collect());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_records_at_same_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "restart";
    ensure_topic(&bootstrap, topic);
    let n = volume() / 10;
    let expected = produce_all(&bootstrap, topic, "zstd", n);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    let c = consumer(&bootstrap);
    // The topic is still known (no auto-creation needed) with its partitions.
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    assert_eq!(md.topics()[0].partitions().len(), PARTITIONS as usize);
    assign(&c, topic, PARTITIONS, Offset::Beginning);
    let consumed = consume(&c, n);
    check_exact(&consumed, &expected);
    // And appends continue after the recovered end.
    let p = producer(&bootstrap, "none", "all");
    send(&p, topic, 0, &test_record(n));
    flush(&p);
    let (_, high) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!(high, expected[0].len() as i64 + 1);
    broker.shutdown().await.unwrap();
}
