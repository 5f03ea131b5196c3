//! Producer state in the log: idempotent retries answered with their original offsets,
//! sequence gaps and stale epochs refused, open transactions holding the last stable offset,
//! aborted transactions listed for read_committed fetches — all surviving restart and crash.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

use std::fs;

use bytes::BytesMut;
use skiff::storage::record::{BatchBuilder, ControlRecordType, EndTxnMarker};
use skiff::storage::{Compression, FsyncPolicy, Log, LogConfig, StorageError, TimestampType};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 1024,
        segment_ms: None,
        fsync: FsyncPolicy::Never,
        ..LogConfig::default()
    }
}

fn producer_batch(pid: i64, epoch: i16, seq: i32, n: usize, txn: bool) -> BytesMut {
    let mut b = BatchBuilder::new(Compression::None)
        .producer(pid, epoch, seq)
        .transactional(txn);
    for i in 0..n {
        let v = format!("p{pid}-e{epoch}-s{}", seq as usize + i);
        b.push(Some(b"k"), Some(v.as_bytes()), &[], 1_000).unwrap();
    }
    BytesMut::from(&b.build().unwrap()[..])
}

fn marker(pid: i64, epoch: i16, kind: ControlRecordType) -> BytesMut {
    let bytes = BatchBuilder::end_txn_marker(
        0,
        2_000,
        0,
        pid,
        epoch,
        EndTxnMarker {
            control_type: kind,
            coordinator_epoch: 0,
        },
    )
    .unwrap();
    BytesMut::from(&bytes[..])
}

fn put(log: &Log, b: BytesMut) -> Result<skiff::storage::AppendInfo, StorageError> {
    log.append(b, 0, TimestampType::CreateTime)
}

#[test]
fn idempotent_retries_gaps_and_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), config()).unwrap();
    let a = put(&log, producer_batch(9, 0, 0, 3, false)).unwrap();
    let b = put(&log, producer_batch(9, 0, 3, 2, false)).unwrap();
    assert_eq!((a.base_offset, b.base_offset), (0, 3));
    // A retried batch: same offsets, nothing appended.
    let retry = put(&log, producer_batch(9, 0, 0, 3, false)).unwrap();
    assert!(retry.duplicate);
    assert_eq!((retry.base_offset, retry.last_offset), (0, 2));
    assert_eq!(log.log_end_offset(), 5);
    // A gap.
    assert!(matches!(
        put(&log, producer_batch(9, 0, 6, 1, false)),
        Err(StorageError::OutOfOrderSequence {
            expected: 5,
            got: 6,
            ..
        })
    ));
    // A bumped epoch starts at 0; the old epoch is then fenced.
    put(&log, producer_batch(9, 1, 0, 1, false)).unwrap();
    assert!(matches!(
        put(&log, producer_batch(9, 0, 5, 1, false)),
        Err(StorageError::InvalidProducerEpoch {
            epoch: 0,
            current: 1,
            ..
        })
    ));
    assert_eq!(log.log_end_offset(), 6);
}

#[test]
fn duplicate_detection_survives_clean_restart_and_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), config()).unwrap();
        for i in 0..40 {
            put(&log, producer_batch(1, 0, i * 2, 2, false)).unwrap();
        }
        assert!(log.segment_infos().len() > 2);
        log.close().unwrap();
    }
    for crash in [false, true] {
        if crash {
            // Lose the clean marker and the newest snapshot: state is replayed from the log.
            let _ = fs::remove_file(dir.path().join(".clean-shutdown"));
            let snaps: Vec<_> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "snapshot"))
                .collect();
            let newest = snaps.iter().max().unwrap();
            fs::remove_file(newest).unwrap();
        }
        let log = Log::open(dir.path(), config()).unwrap();
        let retry = put(&log, producer_batch(1, 0, 78, 2, false)).unwrap();
        assert!(retry.duplicate, "crash={crash}");
        assert_eq!(retry.base_offset, 78);
        assert!(matches!(
            put(&log, producer_batch(1, 0, 81, 1, false)),
            Err(StorageError::OutOfOrderSequence { expected: 80, .. })
        ));
        drop(log);
    }
}

#[test]
fn transactions_hold_the_lso_and_aborts_are_listed_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), config()).unwrap();
        put(&log, producer_batch(5, 0, 0, 2, false)).unwrap(); // 0..1 plain idempotent
        put(&log, producer_batch(6, 0, 0, 3, true)).unwrap(); // 2..4 txn of 6
        put(&log, producer_batch(7, 0, 0, 2, true)).unwrap(); // 5..6 txn of 7
        assert_eq!(log.high_watermark(), 7);
        assert_eq!(log.last_stable_offset(), 2);
        put(&log, marker(6, 0, ControlRecordType::Abort)).unwrap(); // 7
        assert_eq!(log.last_stable_offset(), 5);
        let aborted = log.aborted_transactions(0, 100);
        assert_eq!(aborted.len(), 1);
        assert_eq!(
            (
                aborted[0].producer_id,
                aborted[0].first_offset,
                aborted[0].last_offset
            ),
            (6, 2, 7)
        );
        drop(log); // crash: no clean shutdown, no snapshot
    }
    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.last_stable_offset(), 5);
    assert_eq!(log.aborted_transactions(0, 100).len(), 1);
    assert!(log.aborted_transactions(8, 100).is_empty());
    put(&log, marker(7, 0, ControlRecordType::Commit)).unwrap(); // 8
    assert_eq!(log.last_stable_offset(), 9);
    assert_eq!(log.high_watermark(), 9);
    log.close().unwrap();
    let log = Log::open(dir.path(), config()).unwrap();
    assert_eq!(log.last_stable_offset(), 9);
    assert_eq!(log.aborted_transactions(0, 100).len(), 1);
}
