//! `Storage`: many partitions appended concurrently, reopened, removed; age-based rolling.
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

use common::batches::{batch, batch_with};
use skiff::storage::partitions::parse_partition_dir;
use skiff::storage::{FsyncPolicy, Log, LogConfig, Storage, StorageError, TimestampType};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        segment_ms: None,
        index_interval_bytes: 512,
        max_batch_bytes: 1 << 20,
        fsync: FsyncPolicy::Interval(Duration::from_millis(5)),
        ..LogConfig::default()
    }
}

#[test]
fn partition_dir_names_round_trip() {
    assert_eq!(
        parse_partition_dir("my-topic-12"),
        Some(("my-topic".to_string(), 12))
    );
    assert_eq!(parse_partition_dir("nodash"), None);
    assert_eq!(parse_partition_dir("t--1"), Some(("t-".to_string(), 1)));
    assert_eq!(parse_partition_dir("-3"), None);
    assert_eq!(parse_partition_dir("t-+3"), None);
}

#[test]
fn concurrent_appends_across_partitions_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let storage = Arc::new(Storage::open(dir.path(), config()).unwrap());
        let workers: Vec<_> = (0..4)
            .map(|p| {
                let storage = Arc::clone(&storage);
                std::thread::spawn(move || {
                    let log = storage.get_or_create("orders-eu", p, config()).unwrap();
                    for tag in 0..200 {
                        let info = log
                            .append(batch(tag, 2, 1), 0, TimestampType::CreateTime)
                            .unwrap();
                        assert_eq!(info.base_offset, tag as i64 * 2);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(storage.partitions().len(), 4);
        storage.close().unwrap();
    }
    let storage = Storage::open(dir.path(), config()).unwrap();
    assert_eq!(
        storage.partitions(),
        (0..4)
            .map(|p| ("orders-eu".to_string(), p))
            .collect::<Vec<_>>()
    );
    for p in 0..4 {
        let log = storage.get("orders-eu", p).unwrap();
        assert_eq!(log.log_end_offset(), 400);
        assert!(log.segment_infos().len() > 1);
    }
    assert!(storage.get("orders-eu", 4).is_none());
    storage.remove("orders-eu", 1).unwrap();
    assert!(!dir.path().join("orders-eu-1").exists());
    assert!(matches!(
        storage.remove("orders-eu", 1),
        Err(StorageError::UnknownPartition(_))
    ));
    // A re-created partition starts from offset 0.
    let again = storage.get_or_create("orders-eu", 1, config()).unwrap();
    assert_eq!(again.log_end_offset(), 0);
    storage.close().unwrap();
}

#[test]
fn segments_roll_by_age_of_their_first_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.segment_bytes = 1 << 30;
    config.segment_ms = Some(Duration::from_secs(3600));
    let log = Log::open(dir.path(), config).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // A fresh first batch: no roll on the next append.
    log.append(batch(1, 1, now), 0, TimestampType::CreateTime)
        .unwrap();
    log.append(batch(2, 1, now), 0, TimestampType::CreateTime)
        .unwrap();
    assert_eq!(log.segment_infos().len(), 1);
    let dir2 = tempfile::tempdir().unwrap();
    let log2 = Log::open(dir2.path(), log.config()).unwrap();
    // A first batch two hours old: the next append rolls a new segment.
    log2.append(
        batch_with(
            1,
            1,
            |_| now - 2 * 3600 * 1000,
            kafka_protocol::records::Compression::None,
        ),
        0,
        TimestampType::CreateTime,
    )
    .unwrap();
    log2.append(batch(2, 1, now), 0, TimestampType::CreateTime)
        .unwrap();
    let segs = log2.segment_infos();
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[1].base_offset, 1);
}

#[test]
fn old_timestamps_do_not_roll_a_segment_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config();
    config.segment_bytes = 1 << 30;
    config.segment_ms = Some(Duration::from_secs(3600));
    let log = Log::open(dir.path(), config).unwrap();
    // Replayed data from 2023, one minute apart: well within segment.ms of each other.
    for i in 0..5 {
        log.append(
            batch(i, 1, 1_690_000_000_000 + i as i64 * 60_000),
            0,
            TimestampType::CreateTime,
        )
        .unwrap();
    }
    assert_eq!(log.segment_infos().len(), 1);
}

/// Found by the storage_recovery fuzz target: a segment whose batch no longer matches its
/// CRC, behind a clean-shutdown marker but without its index, made `Storage::open` fail, so
/// one damaged partition kept the whole broker from starting. It is held offline instead
/// and the other partitions open.
#[test]
fn a_corrupted_partition_is_held_offline_and_the_others_open() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), config()).unwrap();
    for p in 0..2 {
        let log = storage.get_or_create("t", p, config()).unwrap();
        log.append(batch(p as u64, 5, 1_000), 0, TimestampType::CreateTime)
            .unwrap();
    }
    storage.close().unwrap();
    drop(storage);
    let damaged = dir.path().join("t-0");
    let segment = damaged.join("00000000000000000000.log");
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();
    std::fs::remove_file(damaged.join("00000000000000000000.index")).unwrap();

    let storage = Storage::open(dir.path(), config()).unwrap();
    assert!(
        storage.get("t", 0).is_none(),
        "the damaged log is not served"
    );
    assert!(
        storage.offline_dir_of("t", 0).is_some(),
        "it is held offline"
    );
    let intact = storage.get("t", 1).expect("the other partition opens");
    assert_eq!(intact.log_end_offset(), 5);
    storage.close().unwrap();
}
