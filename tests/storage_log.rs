//! Partition log behaviour: append/read, rolling, recovery, indexes, epochs, deletion,
//! durability (group commit) and a crash test with SIGKILL.
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

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::batches::{batch, batch_with, crc_of};
use skiff::storage::record::batch::split_batches;
use skiff::storage::{FsyncPolicy, Log, LogConfig, StorageError, TimestampType};

fn cfg(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        segment_ms: None,
        index_interval_bytes: 256,
        max_batch_bytes: 1 << 20,
        fsync: FsyncPolicy::Never,
        ..LogConfig::default()
    }
}

fn append(log: &Log, tag: u64, count: usize) -> skiff::storage::AppendInfo {
    log.append(
        batch(tag, count, 1_000 + tag as i64),
        0,
        TimestampType::CreateTime,
    )
    .unwrap()
}

/// Base offsets of the batches in `bytes`.
fn bases(bytes: &[u8]) -> Vec<i64> {
    split_batches(bytes)
        .map(|b| b.unwrap().0.base_offset)
        .collect()
}

#[test]
fn offsets_are_contiguous_and_batches_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    let a = append(&log, 1, 3);
    let b = append(&log, 2, 5);
    let c = append(&log, 3, 1);
    assert_eq!((a.base_offset, a.last_offset), (0, 2));
    assert_eq!((b.base_offset, b.last_offset), (3, 7));
    assert_eq!((c.base_offset, c.last_offset), (8, 8));
    assert_eq!(log.log_end_offset(), 9);
    assert_eq!(log.high_watermark(), 9);
    assert_eq!(log.log_start_offset(), 0);
    // Reading from inside a batch returns that whole batch first.
    assert_eq!(bases(&log.read(5, 1 << 20).unwrap()), vec![3, 8]);
    // max_bytes smaller than the first batch still returns it, and only it.
    assert_eq!(bases(&log.read(0, 1).unwrap()), vec![0]);
    // At the end: empty. Past it: out of range.
    assert!(log.read(9, 1 << 20).unwrap().is_empty());
    assert!(matches!(
        log.read(10, 100),
        Err(StorageError::OffsetOutOfRange { offset: 10, .. })
    ));
    assert!(matches!(
        log.read(-1, 100),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
}

#[test]
fn append_rejects_corrupt_truncated_and_oversized_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(1 << 30);
    config.max_batch_bytes = 2000;
    let log = Log::open(dir.path(), config).unwrap();
    let mut bad = batch(1, 3, 5);
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    assert!(matches!(
        log.append(bad, 0, TimestampType::CreateTime),
        Err(StorageError::ChecksumMismatch { .. })
    ));
    let mut short = batch(1, 3, 5);
    short.truncate(n - 4);
    assert!(matches!(
        log.append(short, 0, TimestampType::CreateTime),
        Err(StorageError::InvalidBatch(_))
    ));
    let big = batch(1, 200, 5);
    assert!(matches!(
        log.append(big, 0, TimestampType::CreateTime),
        Err(StorageError::BatchTooLarge { .. })
    ));
    assert_eq!(log.log_end_offset(), 0);
}

#[test]
fn stored_batch_keeps_its_crc_and_gets_offset_and_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    append(&log, 1, 2);
    let original = batch(7, 4, 99);
    let crc = crc_of(&original);
    log.append(original.clone(), 5, TimestampType::CreateTime)
        .unwrap();
    let stored = log.read(2, 1 << 20).unwrap();
    let h = skiff::storage::record::BatchHeader::parse_and_validate(&stored).unwrap();
    assert_eq!(h.base_offset, 2);
    assert_eq!(h.partition_leader_epoch, 5);
    assert_eq!(h.crc, crc);
    assert_eq!(&stored[21..], &original[21..]);
}

#[test]
fn log_append_time_stamps_batch_and_keeps_it_valid() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    let info = log
        .append(batch(1, 2, 5), 0, TimestampType::LogAppendTime)
        .unwrap();
    assert!(info.log_append_time > 1_600_000_000_000);
    let stored = log.read(0, 1 << 20).unwrap();
    let h = skiff::storage::record::BatchHeader::parse_and_validate(&stored).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, info.log_append_time);
}

#[test]
fn segments_roll_by_size_and_reads_cross_them_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    {
        let log = Log::open(dir.path(), cfg(1024)).unwrap();
        for tag in 0..60 {
            let info = append(&log, tag, 1 + (tag as usize % 4));
            expected.push(info.base_offset);
        }
        assert!(log.segment_infos().len() > 5, "{:?}", log.segment_infos());
        log.close().unwrap();
        assert!(matches!(log.read(0, 10), Err(StorageError::LogClosed)));
    }
    for clean in [true, false] {
        if !clean {
            // Simulate a crash: remove the clean-shutdown marker.
            let _ = fs::remove_file(dir.path().join(".clean-shutdown"));
        }
        let log = Log::open(dir.path(), cfg(1024)).unwrap();
        let mut seen = Vec::new();
        let mut next = 0;
        while next < log.log_end_offset() {
            let chunk = log.read(next, 700).unwrap();
            for item in split_batches(&chunk) {
                let (h, _) = item.unwrap();
                seen.push(h.base_offset);
                next = h.next_offset();
            }
        }
        assert_eq!(seen, expected);
        drop(log);
    }
}

#[test]
fn torn_tail_is_truncated_at_every_byte_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    {
        let log = Log::open(&path, cfg(1 << 30)).unwrap();
        for tag in 0..4 {
            append(&log, tag, 3);
        }
        log.flush().unwrap();
    }
    let seg = path.join(format!("{:020}.log", 0));
    let full = fs::read(&seg).unwrap();
    let last_len = batch(3, 3, 1003).len();
    let keep = full.len() - last_len;
    let indexes: Vec<(String, Vec<u8>)> = ["index", "timeindex"]
        .iter()
        .map(|ext| {
            let p = path.join(format!("{:020}.{ext}", 0));
            (p.to_string_lossy().into_owned(), fs::read(&p).unwrap())
        })
        .collect();
    for cut in keep..full.len() {
        fs::write(&seg, &full[..cut]).unwrap();
        for (p, data) in &indexes {
            fs::write(p, data).unwrap();
        }
        let _ = fs::remove_file(path.join(".clean-shutdown"));
        let log = Log::open(&path, cfg(1 << 30)).unwrap();
        assert_eq!(log.log_end_offset(), 9, "cut at {cut}");
        assert_eq!(bases(&log.read(0, 1 << 20).unwrap()), vec![0, 3, 6]);
        let info = append(&log, 9, 2);
        assert_eq!(info.base_offset, 9);
        assert_eq!(bases(&log.read(0, 1 << 20).unwrap()), vec![0, 3, 6, 9]);
    }
    // Random garbage after the last whole batch is cut as well.
    let mut garbage = full.clone();
    garbage.extend((0..500u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    fs::write(&seg, &garbage).unwrap();
    let _ = fs::remove_file(path.join(".clean-shutdown"));
    let log = Log::open(&path, cfg(1 << 30)).unwrap();
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(append(&log, 20, 1).base_offset, 12);
}

#[test]
fn corrupt_batch_in_a_closed_segment_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), cfg(1024)).unwrap();
        for tag in 0..30 {
            append(&log, tag, 2);
        }
        assert!(log.segment_infos().len() >= 3);
        log.close().unwrap();
    }
    let first = dir.path().join(format!("{:020}.log", 0));
    let mut data = fs::read(&first).unwrap();
    data[100] ^= 0x55;
    fs::write(&first, data).unwrap();
    // The index disagrees (it is gone), so the segment is rescanned and the damage found.
    fs::remove_file(dir.path().join(format!("{:020}.index", 0))).unwrap();
    match Log::open(dir.path(), cfg(1024)) {
        Err(StorageError::LogCorrupted(msg)) => assert!(msg.contains("00000000000000000000")),
        other => panic!("expected LogCorrupted, got {other:?}"),
    }
}

#[test]
fn lost_indexes_are_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
        for tag in 0..50 {
            append(&log, tag, 2);
        }
        log.close().unwrap();
    }
    fs::write(dir.path().join(format!("{:020}.index", 0)), b"garbage!!").unwrap();
    fs::remove_file(dir.path().join(format!("{:020}.timeindex", 0))).unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    assert_eq!(log.log_end_offset(), 100);
    assert_eq!(bases(&log.read(51, 1).unwrap()), vec![50]);
    let found = log.find_batch_by_timestamp(1_030).unwrap().unwrap();
    assert_eq!(bases(&found), vec![60]);
}

#[test]
fn find_by_timestamp_handles_non_monotonic_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(600)).unwrap();
    // Batch max timestamps: 100, 300, 200, 500, 400 (one record each).
    for (tag, ts) in [100i64, 300, 200, 500, 400].into_iter().enumerate() {
        log.append(
            batch_with(
                tag as u64,
                1,
                |_| ts,
                kafka_protocol::records::Compression::None,
            ),
            0,
            TimestampType::CreateTime,
        )
        .unwrap();
    }
    let at = |ts| {
        log.find_batch_by_timestamp(ts)
            .unwrap()
            .map(|b| bases(&b)[0])
    };
    assert_eq!(at(50), Some(0));
    assert_eq!(at(100), Some(0));
    assert_eq!(at(150), Some(1));
    assert_eq!(at(250), Some(1));
    assert_eq!(at(301), Some(3));
    assert_eq!(at(450), Some(3));
    assert_eq!(at(501), None);
    let max = log.find_max_timestamp_batch().unwrap().unwrap();
    assert_eq!(bases(&max), vec![3]);
}

#[test]
fn leader_epochs_are_checkpointed_and_answer_offset_for_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
        for (tag, epoch) in [0, 0, 1, 1, 3].into_iter().enumerate() {
            log.append(batch(tag as u64, 2, 5), epoch, TimestampType::CreateTime)
                .unwrap();
        }
        assert_eq!(log.latest_epoch(), 3);
        assert_eq!(log.end_offset_for_epoch(0), (0, 4));
        assert_eq!(log.end_offset_for_epoch(1), (1, 8));
        assert_eq!(log.end_offset_for_epoch(2), (1, 8));
        assert_eq!(log.end_offset_for_epoch(3), (3, 10));
        assert_eq!(log.end_offset_for_epoch(7), (3, 10));
        assert_eq!(log.epoch_for_offset(5), Some(1));
        log.close().unwrap();
    }
    let text = fs::read_to_string(dir.path().join("leader-epoch-checkpoint")).unwrap();
    assert_eq!(text, "0\n3\n0 0\n1 4\n3 8\n");
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    assert_eq!(log.end_offset_for_epoch(1), (1, 8));
    let stored = log.read(8, 1 << 20).unwrap();
    assert_eq!(
        skiff::storage::record::BatchHeader::parse(&stored)
            .unwrap()
            .partition_leader_epoch,
        3
    );
}

#[test]
fn delete_before_keeps_active_and_cut_segments_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1024)).unwrap();
    for tag in 0..40 {
        append(&log, tag, 2);
    }
    let segs = log.segment_infos();
    assert!(segs.len() >= 4);
    let cut = segs[2].base_offset + 1;
    let (removed, bytes) = log.delete_before(cut).unwrap();
    assert_eq!(removed, 2);
    assert_eq!(bytes, segs[0].size + segs[1].size);
    assert_eq!(log.log_start_offset(), cut);
    assert_eq!(log.segment_infos()[0].base_offset, segs[2].base_offset);
    assert!(matches!(
        log.read(cut - 1, 10),
        Err(StorageError::OffsetOutOfRange { .. })
    ));
    assert_eq!(bases(&log.read(cut, 1).unwrap()), vec![cut - 1]);
    // Deleting everything keeps the active segment.
    let end = log.log_end_offset();
    log.delete_before(end).unwrap();
    assert_eq!(log.segment_infos().len(), 1);
    assert_eq!(log.log_start_offset(), end);
    assert!(log.read(end, 10).unwrap().is_empty());
    assert!(log.delete_before(end + 1).is_err());
    log.close().unwrap();
    let log = Log::open(dir.path(), cfg(1024)).unwrap();
    assert_eq!(log.log_start_offset(), end);
    assert_eq!(append(&log, 99, 1).base_offset, end);
}

#[test]
fn fsync_always_group_commit_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(1 << 30);
    config.fsync = FsyncPolicy::Always;
    let log = Arc::new(Log::open(dir.path(), config).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        log.append_sync(batch(t * 100 + i, 2, 5), 0, TimestampType::CreateTime)
                            .unwrap()
                            .base_offset
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..200).map(|i| i * 2).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsync_always_async_waiters_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(1 << 30);
    config.fsync = FsyncPolicy::Always;
    let log = Arc::new(Log::open(dir.path(), config).unwrap());
    let tasks: Vec<_> = (0..32)
        .map(|t| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let info = log
                    .append(batch(t, 1, 5), 0, TimestampType::CreateTime)
                    .unwrap();
                log.wait_durable(info.last_offset).await.unwrap();
                info.base_offset
            })
        })
        .collect();
    let mut offsets = Vec::new();
    for t in tasks {
        offsets.push(t.await.unwrap());
    }
    offsets.sort_unstable();
    assert_eq!(offsets, (0..32).collect::<Vec<_>>());
}

#[tokio::test]
async fn subscribe_wakes_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path(), cfg(1 << 30)).unwrap());
    let mut rx = log.subscribe();
    assert_eq!(*rx.borrow_and_update(), 0);
    let writer = Arc::clone(&log);
    tokio::task::spawn_blocking(move || append(&writer, 1, 3));
    rx.changed().await.unwrap();
    assert_eq!(*rx.borrow(), 3);
}

/// Child side of the SIGKILL test: appends with fsync=always and prints each acknowledged
/// batch as "<tag> <base_offset>" once `append_sync` has returned.
#[test]
#[ignore = "run only as the child process of crash_with_sigkill_loses_no_acknowledged_batch"]
fn crash_child_writer() {
    let Ok(dir) = std::env::var("SKIFF_CRASH_DIR") else {
        return;
    };
    let mut config = cfg(64 * 1024);
    config.fsync = FsyncPolicy::Always;
    let log = Log::open(Path::new(&dir), config).unwrap();
    let start: u64 = std::env::var("SKIFF_CRASH_START").unwrap().parse().unwrap();
    let stdout = std::io::stdout();
    for tag in start.. {
        let info = log
            .append_sync(
                batch(tag, 1 + (tag % 5) as usize, 7),
                0,
                TimestampType::CreateTime,
            )
            .unwrap();
        let mut out = stdout.lock();
        writeln!(out, "{tag} {}", info.base_offset).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn crash_with_sigkill_loses_no_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<(u64, i64)> = Vec::new();
    let mut next_tag = 0u64;
    // Pseudo-random kill points, deterministic per run.
    let kill_after = [37usize, 5, 120, 1, 64];
    for (round, &lines) in kill_after.iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_writer",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SKIFF_CRASH_DIR", dir.path())
            .env("SKIFF_CRASH_START", next_tag.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut got = 0;
        while got < lines {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            let mut parts = line.split_whitespace();
            let (Some(tag), Some(off)) = (parts.next(), parts.next()) else {
                continue; // libtest's own output
            };
            let (Ok(tag), Ok(off)) = (tag.parse::<u64>(), off.parse::<i64>()) else {
                continue;
            };
            acked.push((tag, off));
            next_tag = tag + 1;
            got += 1;
        }
        assert_eq!(got, lines, "round {round}: child ended early");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Whatever the child wrote after its last acknowledgement may or may not survive; the
        // next round continues with fresh tags after reopening (recovery) in the child.
        let log = Log::open(dir.path(), cfg(64 * 1024)).unwrap();
        for &(tag, off) in &acked {
            let stored = log.read(off, 1).unwrap();
            let h = skiff::storage::record::BatchHeader::parse_and_validate(&stored).unwrap();
            assert_eq!(h.base_offset, off, "tag {tag}");
            assert_eq!(
                h.crc,
                crc_of(&batch(tag, 1 + (tag % 5) as usize, 7)),
                "tag {tag} at {off}"
            );
        }
        next_tag += 1000; // unacknowledged tags may exist on disk; never reuse them
        drop(log);
    }
}

#[test]
fn offset_by_timestamp_is_record_exact_within_a_compressed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    // Record timestamps inside the batch are not monotonic: 10, 40, 20, 30, 50.
    let ts = [10i64, 40, 20, 30, 50];
    log.append(
        batch_with(1, 5, |i| ts[i], kafka_protocol::records::Compression::Gzip),
        0,
        TimestampType::CreateTime,
    )
    .unwrap();
    assert_eq!(log.find_offset_by_timestamp(5).unwrap(), Some((0, 10)));
    assert_eq!(log.find_offset_by_timestamp(15).unwrap(), Some((1, 40)));
    assert_eq!(log.find_offset_by_timestamp(45).unwrap(), Some((4, 50)));
    assert_eq!(log.find_offset_by_timestamp(51).unwrap(), None);
    assert_eq!(log.max_timestamp().unwrap(), Some((4, 50)));
}

/// Found by the storage_recovery fuzz target: a log-start-offset checkpoint past the end of
/// the segments. The log starts over at its log start (as Kafka's), so an append is never
/// given an offset below the log start (acknowledged, then unreadable).
#[test]
fn a_log_start_past_the_end_restarts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t-0");
    {
        let log = Log::open(&path, cfg(1 << 20)).unwrap();
        append(&log, 1, 3);
        log.close().unwrap();
    }
    // The checkpoint says everything below 10 is gone; the segments end at 3.
    fs::write(path.join("log-start-offset"), "10").unwrap();
    let log = Log::open(&path, cfg(1 << 20)).unwrap();
    assert_eq!(log.log_start_offset(), 10);
    assert_eq!(log.log_end_offset(), 10);
    let info = append(&log, 2, 2);
    assert_eq!(info.base_offset, 10);
    assert_eq!(bases(&log.read(10, 1 << 20).unwrap()), vec![10]);
    log.close().unwrap();
    let log = Log::open(&path, cfg(1 << 20)).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (10, 12));
    assert_eq!(bases(&log.read(10, 1 << 20).unwrap()), vec![10]);
}
