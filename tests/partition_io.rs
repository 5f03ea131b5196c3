//! Disk I/O off the async runtime: reads planned under the log's lock and carried out
//! without it, concurrent with appends; many acks=all producers on one partition through
//! the partition writer's group commit.
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

use std::sync::Arc;
use std::time::Duration;

use common::batches::batch;
use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::Offset;
use skiff::storage::record::batch::split_batches;
use skiff::storage::{FsyncPolicy, Log, LogConfig, TimestampType};

fn cfg() -> LogConfig {
    LogConfig {
        segment_bytes: 16 * 1024,
        segment_ms: None,
        index_interval_bytes: 256,
        max_batch_bytes: 1 << 20,
        fsync: FsyncPolicy::Never,
        ..LogConfig::default()
    }
}

/// (base offset, next offset) of each whole batch in `bytes`.
fn spans(bytes: &[u8]) -> Vec<(i64, i64)> {
    split_batches(bytes)
        .map(|b| {
            let (h, _) = b.unwrap();
            (h.base_offset, h.next_offset())
        })
        .collect()
}

#[test]
fn a_planned_read_returns_the_log_as_it_was_when_planned() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg()).unwrap();
    for tag in 0..10 {
        log.append(batch(tag, 3, 1_000), 0, TimestampType::CreateTime)
            .unwrap();
    }
    let view = log.read_view(0, 1 << 20).unwrap();
    // Appends (and a segment roll) between planning and reading are not seen, and do not
    // wait for the read: the view holds no lock.
    for tag in 10..200 {
        log.append(batch(tag, 3, 1_000), 0, TimestampType::CreateTime)
            .unwrap();
    }
    let bytes = view.read().unwrap();
    let got = spans(&bytes);
    assert_eq!(got.first().map(|s| s.0), Some(0));
    assert!(got.last().is_some_and(|s| s.1 <= 30), "{got:?}");
    assert!(got.windows(2).all(|w| w[0].1 == w[1].0), "contiguous");
    // At the log end a view is empty and reads nothing.
    let end = log.log_end_offset();
    let at_end = log.read_view(end, 1 << 20).unwrap();
    assert!(at_end.is_empty());
    assert!(at_end.read().unwrap().is_empty());
}

#[test]
fn reads_concurrent_with_appends_see_whole_contiguous_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path(), cfg()).unwrap());
    const BATCHES: u64 = 2_000;
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for tag in 0..BATCHES {
                log.append(batch(tag, 2, 1_000), 0, TimestampType::CreateTime)
                    .unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut next = 0i64;
                while next < (BATCHES * 2) as i64 {
                    let bytes = log.read(next, 4096).unwrap();
                    for (base, end) in spans(&bytes) {
                        assert_eq!(base, next, "batches follow each other");
                        next = end;
                    }
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(log.log_end_offset(), (BATCHES * 2) as i64);
}

/// Several idempotent producers (acks=all, several requests in flight each) send to one
/// partition of a broker started with `overrides`; then every record is consumed: each
/// lands once, at contiguous offsets, each producer's in the order sent.
async fn producers_land_complete_and_in_order(
    dir: &std::path::Path,
    overrides: &[&str],
    topic: &str,
    producers: usize,
    each: usize,
) {
    let broker = start_broker(dir, overrides).await;
    let bootstrap = broker.bootstrap();
    ensure_topic(&bootstrap, topic);
    let handles: Vec<_> = (0..producers)
        .map(|w| {
            let bootstrap = bootstrap.clone();
            let topic = topic.to_string();
            std::thread::spawn(move || {
                let p: BaseProducer = ClientConfig::new()
                    .set("bootstrap.servers", &bootstrap)
                    .set("acks", "all")
                    .set("enable.idempotence", "true")
                    .set("linger.ms", "0")
                    .create()
                    .unwrap();
                for n in 0..each {
                    send(&p, &topic, 0, &test_record(w * 100_000 + n));
                    p.poll(Duration::ZERO);
                }
                p.flush(Duration::from_secs(60)).unwrap();
            })
        })
        .collect();
    for h in handles {
        tokio::task::spawn_blocking(move || h.join().unwrap())
            .await
            .unwrap();
    }
    let t = topic.to_string();
    let consumed = tokio::task::spawn_blocking(move || {
        let c = consumer(&bootstrap);
        assign(&c, &t, 1, Offset::Beginning);
        consume(&c, producers * each)
    })
    .await
    .unwrap();
    let mut next_of = vec![0usize; producers];
    for (offset, c) in consumed.iter().enumerate() {
        assert_eq!(c.offset, offset as i64, "offsets are contiguous");
        let k = key_number(&c.record.key);
        let (w, n) = (k / 100_000, k % 100_000);
        assert_eq!(n, next_of[w], "producer {w}'s records in the order sent");
        assert_eq!(c.record, test_record(k));
        next_of[w] += 1;
    }
    assert_eq!(next_of, vec![each; producers]);
    broker.shutdown().await.unwrap();
}

/// fsync `always` (the default): each acknowledgement waits for the group's fsync (the
/// writer's drain, never in place).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_acks_all_producers_on_one_partition_land_complete_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    producers_land_complete_and_in_order(
        dir.path(),
        &["log.fsync.policy=always"],
        "group-commit",
        8,
        300,
    )
    .await;
}

/// Small batches take the writer's in-place path (under `never` even acks=all needs no
/// fsync); small segments make some of them decline a roll and go through a drain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_through_in_place_appends_and_rolls_land_complete_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let topic = "in-place";
    producers_land_complete_and_in_order(
        dir.path(),
        &["log.fsync.policy=never", "log.segment.bytes=16384"],
        topic,
        4,
        500,
    )
    .await;
    let segments = std::fs::read_dir(dir.path().join(format!("{topic}-0")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count();
    assert!(
        segments > 2,
        "the small segments rolled ({segments} segments)"
    );
}

#[test]
fn append_unless_roll_declines_a_batch_that_would_roll_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg()).unwrap();
    let mut appended = 0;
    // Fill the first segment in place until a batch would roll it.
    while let Some(info) = log
        .append_unless_roll(batch(appended, 3, 1_000), 0, TimestampType::CreateTime)
        .unwrap()
    {
        assert_eq!(info.base_offset, appended as i64 * 3);
        appended += 1;
    }
    assert!(appended > 1, "a 16 KiB segment holds several batches");
    let before = (log.log_end_offset(), log.segment_infos().len());
    assert_eq!(before, (appended as i64 * 3, 1));
    // Declined: nothing appended, no roll. The same batch through `append` rolls.
    let again = log
        .append_unless_roll(batch(appended, 3, 1_000), 0, TimestampType::CreateTime)
        .unwrap();
    assert!(again.is_none());
    assert_eq!((log.log_end_offset(), log.segment_infos().len()), before);
    let info = log
        .append(batch(appended, 3, 1_000), 0, TimestampType::CreateTime)
        .unwrap();
    assert_eq!(info.base_offset, appended as i64 * 3);
    assert_eq!(log.segment_infos().len(), 2);
    let bytes = log.read(0, 1 << 30).unwrap();
    assert_eq!(spans(&bytes).first().map(|s| s.0), Some(0));
}

/// A small read of cached batches is served without a blocking thread; one whose bytes
/// were dropped from the page cache, or that is larger than the limit, is declined, and
/// the blocking read returns the same bytes.
#[test]
fn read_cached_serves_only_small_reads_already_in_the_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg()).unwrap();
    for tag in 0..20 {
        log.append(batch(tag, 3, 1_000), 0, TimestampType::CreateTime)
            .unwrap();
    }
    log.roll_now().unwrap();
    let view = log.read_view(3, 1 << 20).unwrap();
    let blocking = view.read().unwrap();
    assert_eq!(spans(&blocking).first().map(|s| s.0), Some(3));
    let cached = view.read_cached(1 << 20).unwrap();
    assert_eq!(
        cached.as_deref(),
        Some(&blocking[..]),
        "just written: cached"
    );
    // Over the limit: declined whether cached or not.
    assert!(view.read_cached(64).unwrap().is_none());
    // Drop the first segment's pages: a cached-only read declines, the blocking read
    // brings them back, and then the cached read serves them.
    let first = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .min()
        .unwrap();
    let file = std::fs::File::open(&first).unwrap();
    file.sync_all().unwrap();
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    let view = log.read_view(3, 1 << 20).unwrap();
    assert!(
        view.read_cached(1 << 20).unwrap().is_none(),
        "dropped: declined"
    );
    assert_eq!(view.read().unwrap(), blocking);
    assert_eq!(
        view.read_cached(1 << 20).unwrap().as_deref(),
        Some(&blocking[..])
    );
}
