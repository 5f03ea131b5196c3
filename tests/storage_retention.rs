//! Retention on real logs: time and size limits delete whole closed segments and advance
//! the log start offset; compact-only logs are left alone.
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
use skiff::storage::{
    CleanupPolicy, FsyncPolicy, Log, LogConfig, RetentionConfig, RetentionManager, Storage,
    StorageError, TimestampType,
};

fn config(retention_ms: Option<i64>, retention_bytes: Option<u64>) -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        segment_ms: None,
        fsync: FsyncPolicy::Never,
        retention_ms,
        retention_bytes,
        ..LogConfig::default()
    }
}

/// Appends 40 two-record batches stamped 1000, 1010, 1020, …
fn fill(log: &Log) {
    for tag in 0..40u64 {
        log.append(
            batch(tag, 2, 1000 + tag as i64 * 10),
            0,
            TimestampType::CreateTime,
        )
        .unwrap();
    }
}

#[test]
fn time_retention_deletes_old_segments_and_moves_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path(), config(Some(100), None)).unwrap());
    fill(&log);
    let before = log.segment_infos();
    assert!(before.len() >= 4, "{before:?}");
    let manager = RetentionManager::new(RetentionConfig::default());
    manager.register_log("t-0", Arc::clone(&log));
    // At time 1250, segments whose newest record is before 1150 are expired.
    let now = 1250;
    let expected: Vec<_> = before
        .iter()
        .take_while(|s| s.max_timestamp < now - 100)
        .collect();
    assert!(!expected.is_empty());
    let stats = manager.enforce_at(now);
    assert_eq!(stats.partitions_checked, 1);
    assert_eq!(stats.segments_deleted, expected.len() as i64);
    assert_eq!(
        stats.bytes_reclaimed,
        expected.iter().map(|s| s.size as i64).sum::<i64>()
    );
    let first_kept = before[expected.len()].base_offset;
    assert_eq!(log.log_start_offset(), first_kept);
    assert!(matches!(
        log.read(first_kept - 1, 100),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert!(!log.read(first_kept, 100).unwrap().is_empty());
    assert_eq!(log.log_end_offset(), 80);
    // Everything expired: the active segment is rolled and deleted too; appends continue.
    manager.enforce_at(1_000_000);
    assert_eq!(log.log_start_offset(), 80);
    assert_eq!(log.segment_infos().len(), 1);
    let info = log
        .append(batch(99, 1, 2_000_000), 0, TimestampType::CreateTime)
        .unwrap();
    assert_eq!(info.base_offset, 80);
    assert_eq!(manager.stats().segments_deleted, before.len() as i64);
}

#[test]
fn size_retention_keeps_the_newest_data_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path(), config(None, Some(2500))).unwrap());
    fill(&log);
    let manager = RetentionManager::new(RetentionConfig::default());
    manager.register_log("t-0", Arc::clone(&log));
    let stats = manager.enforce_at(0);
    assert!(stats.segments_deleted > 0);
    let size = log.size_bytes();
    assert!(size >= 2500, "deleted too much: {size}");
    let oldest = log.segment_infos()[0].size;
    assert!(size - oldest < 2500, "kept too much: {size}");
    assert_eq!(log.log_end_offset(), 80);
    // A second pass has nothing left to do.
    assert_eq!(manager.enforce_at(0).segments_deleted, 0);
}

#[test]
fn compact_only_logs_are_not_touched_by_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(Some(1), Some(1));
    cfg.cleanup_policy = CleanupPolicy::parse("compact").unwrap();
    let log = Arc::new(Log::open(dir.path(), cfg).unwrap());
    fill(&log);
    let manager = RetentionManager::new(RetentionConfig::default());
    manager.register_log("t-0", Arc::clone(&log));
    assert_eq!(manager.enforce_at(i64::MAX / 2).segments_deleted, 0);
    assert_eq!(log.log_start_offset(), 0);
}

#[test]
fn storage_registers_its_logs_for_retention() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), config(Some(100), None)).unwrap();
    for p in 0..3 {
        let log = storage
            .get_or_create("events", p, config(Some(100), None))
            .unwrap();
        fill(&log);
    }
    storage.start_retention(Duration::from_secs(3600)).unwrap();
    let stats = storage.retention().enforce_at(1_000_000);
    assert_eq!(stats.partitions_checked, 3);
    for p in 0..3 {
        assert_eq!(storage.get("events", p).unwrap().log_start_offset(), 80);
    }
    storage.remove("events", 2).unwrap();
    assert_eq!(
        storage.retention().enforce_at(1_000_000).partitions_checked,
        2
    );
    storage.close().unwrap();
}
