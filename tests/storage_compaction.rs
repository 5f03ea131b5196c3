//! Key-based log compaction (`cleanup.policy=compact`): what survives a cleaning pass, the
//! delete horizon of tombstones, eligibility, keyless appends, the crash-safe swap, the
//! spilled key index, the background cleaner, and a model-based property test.
//!
//! Time is injected through `Log::compact(now_ms)` and record timestamps; nothing sleeps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use skiff::storage::cleaner::{delete_horizon, CHECKPOINT_FILE};
use skiff::storage::record::batch::split_batches;
use skiff::storage::record::{BatchBuilder, BatchHeader};
use skiff::storage::{
    Cleaner, CleanerConfig, CleanupPolicy, Compression, FsyncPolicy, Log, LogConfig, MessageBatch,
    Storage, StorageError, TimestampType,
};

const RETENTION: i64 = 1_000;

fn cfg(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        segment_ms: None,
        index_interval_bytes: 256,
        max_batch_bytes: 1 << 20,
        fsync: FsyncPolicy::Never,
        cleanup_policy: CleanupPolicy {
            delete: false,
            compact: true,
        },
        retention_ms: None,
        delete_retention_ms: RETENTION,
        ..LogConfig::default()
    }
}

type Rec<'a> = (&'a str, Option<&'a str>);

/// A batch of keyed records stamped `ts`.
fn build(codec: Compression, recs: &[Rec<'_>], ts: i64) -> Bytes {
    let mut b = BatchBuilder::new(codec);
    for (k, v) in recs {
        b.push(Some(k.as_bytes()), v.map(str::as_bytes), &[], ts)
            .unwrap();
    }
    b.build().unwrap()
}

fn append(log: &Log, recs: &[Rec<'_>], ts: i64) -> (i64, i64) {
    let info = log
        .append(
            BytesMut::from(&build(Compression::None, recs, ts)[..]),
            0,
            TimestampType::CreateTime,
        )
        .unwrap();
    (info.base_offset, info.last_offset)
}

/// One record as read back: offset, key, value, timestamp.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Read {
    offset: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    timestamp: i64,
}

/// Every record from the log start to the end, through `Log::read`, plus the batch headers.
fn read_all_with_headers(log: &Log) -> (Vec<Read>, Vec<BatchHeader>) {
    let mut out = Vec::new();
    let mut headers = Vec::new();
    let mut next = log.log_start_offset();
    let end = log.log_end_offset();
    while next < end {
        let chunk = log.read(next, 64 * 1024).unwrap();
        assert!(
            !chunk.is_empty(),
            "read at {next} below the end {end} is empty"
        );
        for item in split_batches(&chunk) {
            let (h, bytes) = item.unwrap();
            let batch = MessageBatch::from_bytes(chunk.slice_ref(bytes)).unwrap();
            for m in batch.messages().unwrap() {
                if m.offset >= next {
                    out.push(Read {
                        offset: m.offset,
                        key: m.key,
                        value: m.value,
                        timestamp: m.timestamp,
                    });
                }
            }
            headers.push(h);
            next = h.next_offset();
        }
    }
    (out, headers)
}

fn read_all(log: &Log) -> Vec<Read> {
    read_all_with_headers(log).0
}

/// Key → (offset, value) of the last record of each key.
fn latest(records: &[Read]) -> BTreeMap<Bytes, (i64, Option<Bytes>)> {
    let mut m = BTreeMap::new();
    for r in records {
        if let Some(k) = &r.key {
            m.insert(k.clone(), (r.offset, r.value.clone()));
        }
    }
    m
}

fn key(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Writes `rounds` batches updating keys k0..k{keys}, rolling a segment every few batches.
fn fill(log: &Log, rounds: usize, keys: usize, ts: i64) {
    for round in 0..rounds {
        let recs: Vec<(String, Option<String>)> = (0..keys)
            .filter(|k| (k + round) % 3 != 0)
            .map(|k| (format!("k{k}"), Some(format!("v{round}-{k}"))))
            .collect();
        let refs: Vec<Rec<'_>> = recs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        append(log, &refs, ts + round as i64);
        if round % 4 == 3 {
            log.roll_now().unwrap();
        }
    }
}

#[test]
fn latest_value_per_key_survives_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    fill(&log, 40, 12, 1_000);
    log.roll_now().unwrap();
    let before = read_all(&log);
    let size_before = log.size_bytes();
    let end = log.log_end_offset();

    let stats = log.compact(10_000).unwrap();
    assert!(stats.complete);
    assert!(stats.segments_cleaned >= 10, "{stats:?}");
    assert_eq!(stats.records_read, before.len() as u64);

    let after = read_all(&log);
    // Exactly the latest record of every key, at its original offset, value and timestamp.
    let want: Vec<Read> = {
        let last = latest(&before);
        let mut v: Vec<Read> = before
            .iter()
            .filter(|r| last[r.key.as_ref().unwrap()].0 == r.offset)
            .cloned()
            .collect();
        v.sort();
        v
    };
    assert_eq!(after, want);
    assert_eq!(after.len(), 12);
    assert_eq!(stats.records_retained, 12);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.log_start_offset(), 0);
    assert!(
        log.size_bytes() < size_before / 4,
        "{} vs {size_before}",
        log.size_bytes()
    );
    assert!(dir.path().join(CHECKPOINT_FILE).exists());
    // Offsets still increase batch after batch, with gaps.
    assert!(after.windows(2).all(|w| w[0].offset < w[1].offset));
}

#[test]
fn reads_across_gaps_start_at_the_next_surviving_batch() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    append(&log, &[("a", Some("1")), ("b", Some("1"))], 10); // 0, 1
    append(&log, &[("a", Some("2")), ("c", Some("1"))], 11); // 2, 3
    log.roll_now().unwrap();
    append(&log, &[("c", Some("2"))], 12); // 4
    log.roll_now().unwrap();
    append(&log, &[("a", Some("3")), ("d", Some("1"))], 13); // 5, 6
    log.roll_now().unwrap();
    append(&log, &[("z", Some("active"))], 14); // 7, active segment
    log.compact(1_000).unwrap();

    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![1, 4, 5, 6, 7]);
    // Batch [0, 1] survives whole-batch: its base offset and last offset delta are kept.
    let first = log.read(0, 1).unwrap();
    let h = BatchHeader::parse_and_validate(&first).unwrap();
    assert_eq!((h.base_offset, h.last_offset(), h.record_count), (0, 1, 1));
    // Batch [2, 3] lost both records and is gone: a read in the gap returns the next batch.
    let gap = log.read(2, 1).unwrap();
    let h = BatchHeader::parse_and_validate(&gap).unwrap();
    assert_eq!((h.base_offset, h.last_offset(), h.record_count), (4, 4, 1));
    // A read returns the batches of one segment (as before cleaning): the cleaned segment
    // ends with [5, 6], then the active segment serves 7.
    let r = log.read(1, 1 << 20).unwrap();
    let bases: Vec<i64> = split_batches(&r)
        .map(|b| b.unwrap().0.base_offset)
        .collect();
    assert_eq!(bases, vec![0, 4, 5]);
    let r = log.read(6, 1 << 20).unwrap();
    assert_eq!(BatchHeader::parse(&r).unwrap().base_offset, 5);
    let r = log.read(7, 1 << 20).unwrap();
    assert_eq!(BatchHeader::parse(&r).unwrap().base_offset, 7);
}

#[test]
fn emptied_batches_are_dropped_except_a_producers_last() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    let producer_batch = |seq: i32, recs: &[Rec<'_>]| {
        let mut b = BatchBuilder::new(Compression::None).producer(42, 3, seq);
        for (k, v) in recs {
            b.push(Some(k.as_bytes()), v.map(str::as_bytes), &[], 5)
                .unwrap();
        }
        BytesMut::from(&b.build().unwrap()[..])
    };
    log.append(
        producer_batch(0, &[("a", Some("1"))]),
        0,
        TimestampType::CreateTime,
    )
    .unwrap(); // 0
    log.append(
        producer_batch(1, &[("a", Some("2")), ("a", Some("3"))]),
        0,
        TimestampType::CreateTime,
    )
    .unwrap(); // 1, 2: the producer's last batch
    append(&log, &[("b", Some("1"))], 6); // 3
    append(&log, &[("a", Some("4"))], 7); // 4
    append(&log, &[("b", Some("2"))], 8); // 5
    log.roll_now().unwrap();
    let stats = log.compact(1_000).unwrap();
    let (records, headers) = read_all_with_headers(&log);
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![4, 5]);
    let bases: Vec<(i64, i64, i32)> = headers
        .iter()
        .map(|h| (h.base_offset, h.last_offset(), h.record_count))
        .collect();
    // Batch 0 is gone; 1..2 stays empty (producer 42's sequence state); 3 is gone.
    assert_eq!(bases, vec![(1, 2, 0), (4, 4, 1), (5, 5, 1)]);
    let empty = headers[0];
    assert_eq!(
        (empty.producer_id, empty.producer_epoch, empty.base_sequence),
        (42, 3, 1)
    );
    assert_eq!(stats.empty_batches_kept, 1);
    assert_eq!(stats.batches_dropped, 2);
}

#[test]
fn tombstones_stay_until_the_delete_horizon_then_go() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    append(&log, &[("gone", Some("1")), ("kept", Some("1"))], 10); // 0, 1
    append(&log, &[("gone", None)], 11); // 2
    log.roll_now().unwrap();
    let t0 = 50_000;
    log.compact(t0).unwrap();
    let (records, headers) = read_all_with_headers(&log);
    let got: Vec<(i64, bool)> = records
        .iter()
        .map(|r| (r.offset, r.value.is_some()))
        .collect();
    assert_eq!(got, vec![(1, true), (2, false)]);
    // The tombstone's batch now carries the horizon; its record keeps its timestamp.
    let tomb = headers.iter().find(|h| h.base_offset == 2).unwrap();
    assert_eq!(delete_horizon(tomb), Some(t0 + RETENTION));
    assert_eq!(records[1].timestamp, 11);
    assert_eq!(delete_horizon(&headers[0]), None);

    // Before the horizon, later passes keep it (even with nothing dirty).
    log.compact(t0 + RETENTION - 1).unwrap();
    assert_eq!(read_all(&log).len(), 2);
    // Reopening keeps the horizon.
    log.close().unwrap();
    drop(log);
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    let stats = log.compact(t0 + RETENTION).unwrap();
    assert_eq!(stats.tombstones_removed, 1);
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![1]);
}

#[test]
fn a_tombstone_removes_older_values_at_once_and_later_writes_live_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    append(&log, &[("k", Some("1"))], 1); // 0
    log.roll_now().unwrap();
    log.compact(100).unwrap();
    append(&log, &[("k", None)], 2); // 1
    log.roll_now().unwrap();
    log.compact(200).unwrap();
    let got: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(got, vec![1]);
    append(&log, &[("k", Some("again"))], 3); // 2
    log.roll_now().unwrap();
    log.compact(200 + 10 * RETENTION).unwrap();
    let all = read_all(&log);
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].offset, all[0].value.as_deref()),
        (2, Some(&b"again"[..]))
    );
}

#[test]
fn min_compaction_lag_keeps_young_segments_dirty() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(1 << 30);
    config.min_compaction_lag_ms = 1_000;
    let log = Log::open(dir.path(), config).unwrap();
    append(&log, &[("a", Some("old"))], 1_000); // 0
    log.roll_now().unwrap();
    append(&log, &[("a", Some("young"))], 5_000); // 1
    log.roll_now().unwrap();
    append(&log, &[("a", Some("younger"))], 5_500); // 2
    log.roll_now().unwrap();

    // At 5_800 the segment of offset 1 is younger than the lag: nothing from it on is cleaned,
    // and the index stops there, so offset 0 survives too.
    let stats = log.compact(5_800).unwrap();
    assert_eq!(stats.end_offset, 1);
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 1, 2]);
    // At 6_200 offset 1's segment is old enough (offset 2's is not): 0 goes, 1 and 2 stay.
    let stats = log.compact(6_200).unwrap();
    assert_eq!((stats.first_dirty_offset, stats.end_offset), (1, 2));
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![1, 2]);
    // Once everything is old enough only the latest survives.
    log.compact(7_000).unwrap();
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![2]);
}

#[test]
fn eligibility_follows_dirty_ratio_and_max_compaction_lag() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = cfg(1 << 30);
    config.min_cleanable_dirty_ratio = 0.5;
    let log = Log::open(dir.path(), config.clone()).unwrap();
    let cleaner = Cleaner::default();
    // The active segment is never cleanable.
    append(&log, &[("a", Some("1"))], 1_000);
    assert!(cleaner.clean_if_due(&log, 2_000).unwrap().is_none());
    log.roll_now().unwrap();
    // All dirty: ratio 1.
    let range = cleaner.cleanable_range(&log, 2_000).unwrap();
    assert_eq!(range.dirty_ratio(), 1.0);
    assert!(cleaner.clean_if_due(&log, 2_000).unwrap().is_some());
    // Now a large clean section and a small dirty one: below the ratio, not due.
    for i in 0..20 {
        append(&log, &[(&format!("big{i}"), Some("x"))], 1_000);
    }
    log.roll_now().unwrap();
    log.compact(2_000).unwrap();
    append(&log, &[("a", Some("2"))], 3_000);
    log.roll_now().unwrap();
    let range = cleaner.cleanable_range(&log, 4_000).unwrap();
    assert!(
        range.dirty_ratio() > 0.0 && range.dirty_ratio() < 0.5,
        "{range:?}"
    );
    assert!(!range.needs_compaction_now);
    assert!(cleaner.clean_if_due(&log, 4_000).unwrap().is_none());
    // With max.compaction.lag.ms the old dirty record forces a pass.
    config.max_compaction_lag_ms = 500;
    log.set_config(config.clone());
    assert!(
        !cleaner
            .cleanable_range(&log, 3_400)
            .unwrap()
            .needs_compaction_now
    );
    assert!(cleaner.clean_if_due(&log, 3_400).unwrap().is_none());
    assert!(
        cleaner
            .cleanable_range(&log, 3_600)
            .unwrap()
            .needs_compaction_now
    );
    let stats = cleaner.clean_if_due(&log, 3_600).unwrap().unwrap();
    assert_eq!(stats.end_offset, log.log_end_offset());
    // A log that is not compacted is never cleaned.
    config.cleanup_policy = CleanupPolicy::default();
    log.set_config(config);
    append(&log, &[("a", Some("3"))], 5_000);
    log.roll_now().unwrap();
    assert!(cleaner.clean_if_due(&log, 9_000).unwrap().is_none());
    assert_eq!(log.compact(9_000).unwrap().records_read, 0);
}

#[test]
fn keyless_records_are_refused_on_compacted_logs_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(&dir.path().join("t-0"), cfg(1 << 30)).unwrap();
    let mut b = BatchBuilder::new(Compression::Snappy);
    b.push(Some(b"k"), Some(b"v"), &[], 1).unwrap();
    b.push(None, Some(b"no key"), &[], 1).unwrap();
    let bytes = b.build().unwrap();
    match log.append(BytesMut::from(&bytes[..]), 0, TimestampType::CreateTime) {
        Err(StorageError::InvalidRecord {
            message,
            record_errors,
        }) => {
            assert_eq!(record_errors.len(), 1);
            assert_eq!(record_errors[0].batch_index, 1);
            assert_eq!(
                record_errors[0].message,
                "Compacted topic cannot accept message without key in topic partition t-0"
            );
            assert!(message.contains("1 record errors"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(log.log_end_offset(), 0);
    // Tombstones have keys: fine.
    append(&log, &[("k", None)], 1);
    let mut config = cfg(1 << 30);
    config.cleanup_policy = CleanupPolicy::default();
    log.set_config(config);
    log.append(BytesMut::from(&bytes[..]), 0, TimestampType::CreateTime)
        .unwrap();
}

#[test]
fn compressed_batches_are_cleaned_in_their_codec() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    for (i, codec) in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ]
    .into_iter()
    .enumerate()
    {
        let v = format!("{i}");
        let batch = build(
            codec,
            &[("a", Some(&v)), (&format!("only{i}"), Some("x"))],
            10,
        );
        log.append(BytesMut::from(&batch[..]), 0, TimestampType::CreateTime)
            .unwrap();
    }
    log.roll_now().unwrap();
    log.compact(1_000).unwrap();
    let (records, headers) = read_all_with_headers(&log);
    assert_eq!(records.len(), 5);
    let codecs: Vec<i16> = headers.iter().map(|h| h.compression_id()).collect();
    assert_eq!(codecs, vec![1, 2, 3, 4]);
    let a = records
        .iter()
        .find(|r| r.key.as_deref() == Some(&b"a"[..]))
        .unwrap();
    assert_eq!((a.offset, a.value.as_deref()), (6, Some(&b"3"[..])));
}

#[test]
fn reopen_after_compaction_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(2_000)).unwrap();
    fill(&log, 60, 9, 100);
    log.roll_now().unwrap();
    log.compact(10_000).unwrap();
    let before = read_all(&log);
    let segments = log.segment_infos();
    log.close().unwrap();
    drop(log);
    let log = Log::open(dir.path(), cfg(2_000)).unwrap();
    assert_eq!(read_all(&log), before);
    assert_eq!(log.segment_infos(), segments);
    // And after a crash (no clean shutdown), the same again.
    drop(log);
    let log = Log::open(dir.path(), cfg(2_000)).unwrap();
    assert_eq!(read_all(&log), before);
    // Appends continue after the last offset.
    let (base, _) = append(&log, &[("new", Some("1"))], 200);
    assert_eq!(base, before.last().unwrap().offset + 1);
    // A second pass with nothing new changes nothing.
    log.roll_now().unwrap();
    log.compact(20_000).unwrap();
    let mut want = before.clone();
    want.push(read_all(&log).pop().unwrap());
    assert_eq!(read_all(&log), want);
}

#[test]
fn spilled_key_index_gives_identical_results() {
    let mut results = Vec::new();
    for budget in [1usize << 30, 256] {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), cfg(4_000)).unwrap();
        fill(&log, 80, 40, 100);
        for i in 0..30 {
            append(&log, &[(&format!("k{}", i * 7 % 40), None)], 500 + i);
        }
        log.roll_now().unwrap();
        let cleaner = Cleaner::new(CleanerConfig {
            dedupe_buffer_size: budget,
            ..CleanerConfig::default()
        });
        let stats = cleaner.clean(&log, 10_000).unwrap();
        assert_eq!(stats.offset_map_spilled, budget < 1024, "{stats:?}");
        let first = read_all(&log);
        let stats2 = cleaner.clean(&log, 10_000 + RETENTION).unwrap();
        assert!(stats2.tombstones_removed > 0);
        let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        assert!(!dir
            .path()
            .join(skiff::storage::cleaner::SPILL_DIR_NAME)
            .exists());
        results.push((first, read_all(&log), files));
    }
    assert_eq!(results[0], results[1]);
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn segment_files(dir: &Path, base: i64) -> [(String, std::path::PathBuf); 3] {
    ["log", "index", "timeindex"].map(|ext| {
        let name = format!("{base:020}.{ext}");
        (ext.to_string(), dir.join(name))
    })
}

#[test]
fn crash_leftovers_are_completed_or_discarded_at_open() {
    let root = tempfile::tempdir().unwrap();
    let original = root.path().join("orig");
    // Many small segments, then one group when cleaning (segment.bytes raised).
    let log = Log::open(&original, cfg(1_500)).unwrap();
    fill(&log, 40, 10, 100);
    log.roll_now().unwrap();
    let old_bases: Vec<i64> = log.segment_infos().iter().map(|s| s.base_offset).collect();
    let active_base = *old_bases.last().unwrap();
    let before = read_all(&log);
    log.close().unwrap();
    drop(log);
    let pristine = root.path().join("pristine");
    copy_dir(&original, &pristine);

    let log = Log::open(&original, cfg(1 << 30)).unwrap();
    log.compact(10_000).unwrap();
    let after = read_all(&log);
    let new_bases: Vec<i64> = log.segment_infos().iter().map(|s| s.base_offset).collect();
    assert_eq!(
        new_bases,
        vec![0, active_base],
        "one cleaned segment plus the active one"
    );
    log.close().unwrap();
    drop(log);
    assert_ne!(before, after);

    let cleaned = segment_files(&original, 0);
    let replaced: Vec<i64> = old_bases
        .iter()
        .copied()
        .filter(|b| *b < active_base)
        .collect();
    assert!(replaced.len() > 3);
    // Each scenario: which cleaned files exist under which suffix, what happened to the old
    // segments, and whether the swap counts as done.
    let plant = |dir: &Path,
                 files: &[(String, std::path::PathBuf); 3],
                 ext_suffix: &dyn Fn(&str) -> &'static str| {
        for (ext, src) in files {
            let suffix = ext_suffix(ext);
            let name = format!("{:020}.{ext}{suffix}", 0);
            fs::copy(src, dir.join(name)).unwrap();
        }
    };
    let retire = |dir: &Path, bases: &[i64], rename: bool| {
        for b in bases {
            for (ext, p) in segment_files(dir, *b) {
                if rename {
                    fs::rename(&p, dir.join(format!("{b:020}.{ext}.deleted"))).unwrap();
                } else {
                    fs::remove_file(&p).unwrap();
                }
            }
        }
    };
    type Setup<'a> = Box<dyn Fn(&Path) + 'a>;
    let scenarios: Vec<(&str, bool, Setup<'_>)> = vec![
        (
            "cleaned files half written",
            false,
            Box::new(|d: &Path| {
                fs::write(d.join(format!("{:020}.log.cleaned", 0)), b"partial").unwrap();
            }),
        ),
        (
            "cleaned files complete",
            false,
            Box::new(|d: &Path| plant(d, &cleaned, &|_| ".cleaned")),
        ),
        (
            "index swaps renamed, log still cleaned",
            false,
            Box::new(|d: &Path| {
                plant(d, &cleaned, &|ext| {
                    if ext == "log" {
                        ".cleaned"
                    } else {
                        ".swap"
                    }
                })
            }),
        ),
        (
            "swap committed",
            true,
            Box::new(|d: &Path| plant(d, &cleaned, &|_| ".swap")),
        ),
        (
            "old segments half retired",
            true,
            Box::new(|d: &Path| {
                plant(d, &cleaned, &|_| ".swap");
                retire(d, &replaced[..2], true);
            }),
        ),
        (
            "old segments retired, indexes renamed",
            true,
            Box::new(|d: &Path| {
                retire(d, &replaced, true);
                plant(d, &cleaned, &|ext| if ext == "log" { ".swap" } else { "" });
            }),
        ),
        (
            "old segments deleted, index swaps lost",
            true,
            Box::new(|d: &Path| {
                retire(d, &replaced, false);
                plant(d, &cleaned, &|ext| if ext == "log" { ".swap" } else { "" });
                fs::remove_file(d.join(format!("{:020}.index", 0))).unwrap();
            }),
        ),
        (
            "swap done, deleted files left",
            true,
            Box::new(|d: &Path| {
                retire(d, &replaced, true);
                plant(d, &cleaned, &|_| "");
            }),
        ),
    ];
    for (i, (name, done, setup)) in scenarios.iter().enumerate() {
        let dir = root.path().join(format!("case{i}"));
        copy_dir(&pristine, &dir);
        let _ = fs::remove_file(dir.join(".clean-shutdown")); // it crashed
        setup(&dir);
        let log = Log::open(&dir, cfg(1 << 30)).unwrap();
        let got = read_all(&log);
        if *done {
            assert_eq!(got, after, "{name}");
        } else {
            assert_eq!(got, before, "{name}");
        }
        let leftovers: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
        // The recovered log cleans to the same result.
        log.compact(10_000).unwrap();
        assert_eq!(read_all(&log), after, "{name}: after a new pass");
        drop(log);
    }
}

#[test]
fn readers_during_compaction_see_whole_valid_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path(), cfg(3_000)).unwrap());
    fill(&log, 60, 15, 100);
    log.roll_now().unwrap();
    let values = |records: &[Read]| -> BTreeMap<Bytes, Option<Bytes>> {
        latest(records)
            .into_iter()
            .map(|(k, (_, v))| (k, v))
            .collect()
    };
    let want = values(&read_all(&log));
    let k0 = want[&key("k0")].clone().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let log = Arc::clone(&log);
            let stop = Arc::clone(&stop);
            let want = want.clone();
            std::thread::spawn(move || {
                let mut rounds = 0u64;
                while !stop.load(Ordering::Acquire) || rounds == 0 {
                    // read_all checks every batch's CRC and framing.
                    let got = values(&read_all(&log));
                    assert_eq!(got, want);
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    for round in 0..5 {
        // Keep rewriting k0 (with its current value, so the readers' view holds), then clean.
        let v = std::str::from_utf8(&k0).unwrap();
        append(&log, &[("k0", Some(v))], 1_000 + round);
        append(&log, &[("k0", Some(v))], 1_000 + round);
        log.roll_now().unwrap();
        log.compact(2_000 + round).unwrap();
    }
    stop.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
}

#[test]
fn storage_compacts_a_partition_and_runs_a_background_cleaner() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(dir.path(), cfg(1 << 30)).unwrap();
    let log = storage.get_or_create("compacted", 0, cfg(1 << 30)).unwrap();
    let plain = storage
        .get_or_create(
            "plain",
            0,
            LogConfig {
                cleanup_policy: CleanupPolicy::default(),
                ..cfg(1 << 30)
            },
        )
        .unwrap();
    for l in [&log, &plain] {
        append(l, &[("a", Some("1"))], 1);
        append(l, &[("a", Some("2"))], 2);
        l.roll_now().unwrap();
    }
    let stats = storage.compact("compacted", 0).unwrap();
    assert_eq!(stats.records_retained, 1);
    assert!(matches!(
        storage.compact("missing", 0),
        Err(StorageError::UnknownPartition(_))
    ));
    // The background cleaner picks up new dirt on the compacted log only.
    append(&log, &[("a", Some("3"))], 3);
    append(&log, &[("a", Some("4"))], 4);
    log.roll_now().unwrap();
    storage
        .start_cleaner(CleanerConfig {
            backoff: std::time::Duration::from_millis(5),
            ..CleanerConfig::default()
        })
        .unwrap();
    assert!(storage.cleaner_running());
    // Wait for the condition (not for time): the cleaner rewrites the log to one record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while read_all(&log).len() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "background cleaner never ran"
        );
        std::thread::yield_now();
    }
    assert_eq!(read_all(&log)[0].offset, 3);
    assert_eq!(read_all(&plain).len(), 2);
    storage.close().unwrap();
    assert!(!storage.cleaner_running());
}

// ---- model-based property test ----

#[derive(Debug, Clone)]
enum Op {
    /// Append a batch of (key index, value or tombstone) records.
    Append(Vec<(u8, Option<u8>)>, Compression),
    /// Close the active segment.
    Roll,
    /// Clean, with the clock advanced by this much.
    Compact(i64),
    /// Close and reopen (cleanly or as after a crash).
    Reopen(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let codec = prop_oneof![
        Just(Compression::None),
        Just(Compression::Lz4),
        Just(Compression::Zstd)
    ];
    prop_oneof![
        6 => (
            prop::collection::vec((0u8..8, prop::option::weighted(0.8, 0u8..255)), 1..6),
            codec
        )
            .prop_map(|(r, c)| Op::Append(r, c)),
        2 => Just(Op::Roll),
        2 => (0i64..800).prop_map(Op::Compact),
        1 => any::<bool>().prop_map(Op::Reopen),
    ]
}

/// Checks the log against the model: every record is one that was appended (same offset,
/// key, value), the latest record of each key with a value is there, no key comes back
/// after its latest tombstone went, and after a pass over a fully closed log each key holds
/// at most its latest record.
fn check(log: &Log, model: &[(i64, u8, Option<u8>)], fully_cleaned: bool) {
    let got = read_all(log);
    let by_offset: HashMap<i64, (u8, Option<u8>)> =
        model.iter().map(|(o, k, v)| (*o, (*k, *v))).collect();
    for r in &got {
        let (k, v) = by_offset[&r.offset];
        assert_eq!(r.key.as_deref(), Some(&[k][..]), "key at {}", r.offset);
        assert_eq!(
            r.value.as_deref(),
            v.as_ref().map(std::slice::from_ref),
            "value at {}",
            r.offset
        );
    }
    let mut last: HashMap<u8, (i64, Option<u8>)> = HashMap::new();
    for (o, k, v) in model {
        last.insert(*k, (*o, *v));
    }
    let present: std::collections::HashSet<i64> = got.iter().map(|r| r.offset).collect();
    for (k, (o, v)) in &last {
        if v.is_some() {
            assert!(present.contains(o), "latest of key {k} at {o} missing");
        } else if !present.contains(o) {
            assert!(
                !got.iter().any(|r| r.key.as_deref() == Some(&[*k][..])),
                "key {k} resurrected after its tombstone at {o} went"
            );
        }
    }
    if fully_cleaned {
        let mut seen = std::collections::HashSet::new();
        for r in &got {
            assert!(
                seen.insert(r.key.clone()),
                "key {:?} twice after a full clean",
                r.key
            );
        }
    }
    assert_eq!(log.log_end_offset(), model.last().map_or(0, |m| m.0 + 1));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn compaction_matches_the_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let config = cfg(400);
        let mut log = Log::open(dir.path(), config.clone()).unwrap();
        let mut model: Vec<(i64, u8, Option<u8>)> = Vec::new();
        let mut now = 1_000i64;
        for op in ops {
            match op {
                Op::Append(recs, codec) => {
                    let keys: Vec<[u8; 1]> = recs.iter().map(|(k, _)| [*k]).collect();
                    let vals: Vec<Option<[u8; 1]>> = recs.iter().map(|(_, v)| v.map(|v| [v])).collect();
                    let mut b = BatchBuilder::new(codec);
                    for (k, v) in keys.iter().zip(&vals) {
                        b.push(Some(&k[..]), v.as_ref().map(|v| &v[..]), &[], now).unwrap();
                    }
                    let info = log
                        .append(BytesMut::from(&b.build().unwrap()[..]), 0, TimestampType::CreateTime)
                        .unwrap();
                    for (i, (k, v)) in recs.iter().enumerate() {
                        model.push((info.base_offset + i as i64, *k, *v));
                    }
                    now += 1;
                }
                Op::Roll => log.roll_now().unwrap(),
                Op::Compact(dt) => {
                    now += dt;
                    let active_empty = log.segment_infos().last().unwrap().size == 0;
                    log.compact(now).unwrap();
                    check(&log, &model, active_empty);
                }
                Op::Reopen(clean) => {
                    if clean {
                        log.close().unwrap();
                    }
                    drop(log);
                    log = Log::open(dir.path(), config.clone()).unwrap();
                }
            }
        }
        check(&log, &model, false);
        log.roll_now().unwrap();
        log.compact(now + 2 * RETENTION).unwrap();
        log.compact(now + 4 * RETENTION).unwrap();
        check(&log, &model, true);
        // After the horizon every tombstone is gone: exactly the live keys remain.
        let live: BTreeMap<u8, i64> = {
            let mut last = BTreeMap::new();
            for (o, k, v) in &model {
                last.insert(*k, (*o, *v));
            }
            last.into_iter().filter_map(|(k, (o, v))| v.map(|_| (k, o))).collect()
        };
        let got: BTreeMap<u8, i64> = read_all(&log)
            .iter()
            .map(|r| (r.key.as_ref().unwrap()[0], r.offset))
            .collect();
        prop_assert_eq!(got, live);
    }
}

#[test]
fn hundred_thousand_records_over_a_thousand_keys() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(256 * 1024)).unwrap();
    let mut last: HashMap<u32, (i64, bool)> = HashMap::new();
    let mut offset = 0i64;
    for b in 0..1_000u32 {
        let mut builder = BatchBuilder::new(Compression::Lz4);
        for i in 0..100u32 {
            let n = b * 100 + i;
            let k = (n.wrapping_mul(2_654_435_761) >> 7) % 1_000;
            let tombstone = n.is_multiple_of(97);
            let value = format!("value-{n}-{}", "x".repeat((n % 50) as usize));
            let value = (!tombstone).then_some(value.as_bytes());
            builder
                .push(
                    Some(format!("key-{k}").as_bytes()),
                    value,
                    &[],
                    1_000 + b as i64,
                )
                .unwrap();
            last.insert(k, (offset, !tombstone));
            offset += 1;
        }
        log.append(
            BytesMut::from(&builder.build().unwrap()[..]),
            0,
            TimestampType::CreateTime,
        )
        .unwrap();
    }
    log.roll_now().unwrap();
    let size_before = log.size_bytes();
    let stats = log.compact(1_000_000).unwrap();
    assert_eq!(stats.records_read, 100_000);
    let got: BTreeMap<i64, bool> = read_all(&log)
        .iter()
        .map(|r| (r.offset, r.value.is_some()))
        .collect();
    let want: BTreeMap<i64, bool> = last.values().copied().collect();
    assert_eq!(got, want);
    assert!(
        log.size_bytes() * 20 < size_before,
        "{} vs {size_before}",
        log.size_bytes()
    );
    // After delete.retention.ms the tombstones are gone too.
    log.compact(1_000_000 + RETENTION).unwrap();
    let got: BTreeMap<i64, bool> = read_all(&log)
        .iter()
        .map(|r| (r.offset, r.value.is_some()))
        .collect();
    let live: BTreeMap<i64, bool> = want.into_iter().filter(|(_, v)| *v).collect();
    assert_eq!(got, live);
    assert_eq!(log.log_end_offset(), 100_000);
}

// ---- SIGKILL during cleaning ----

/// The records of batch `tag`: (key, tombstone?) for each of 5 records.
fn crash_records(tag: u64) -> Vec<(String, bool)> {
    (0..5)
        .map(|i| {
            let n = tag * 5 + i;
            (format!("key-{}", n % 23), i == 4 && tag.is_multiple_of(3))
        })
        .collect()
}

fn crash_cfg() -> LogConfig {
    cfg(6_000)
}

/// Child side of the SIGKILL test: appends batches tagged in a header, compacting every other
/// batch, and prints "<tag> <base offset>" once each append returned.
#[test]
#[ignore = "run only as the child process of a_kill_during_cleaning_leaves_a_consistent_log"]
fn crash_child_cleaner() {
    let Ok(dir) = std::env::var("SKIFF_CLEAN_CRASH_DIR") else {
        return;
    };
    let log = Log::open(Path::new(&dir), crash_cfg()).unwrap();
    let start: u64 = std::env::var("SKIFF_CLEAN_CRASH_START")
        .unwrap()
        .parse()
        .unwrap();
    let stdout = std::io::stdout();
    for tag in start.. {
        let mut b = BatchBuilder::new(Compression::None);
        for (i, (k, tombstone)) in crash_records(tag).into_iter().enumerate() {
            let header = skiff::storage::Header {
                key: "tag".into(),
                value: Some(Bytes::from(format!("{tag}-{i}"))),
            };
            let value = format!("v{tag}");
            b.push(
                Some(k.as_bytes()),
                (!tombstone).then_some(value.as_bytes()),
                &[header],
                tag as i64,
            )
            .unwrap();
        }
        let info = log
            .append(
                BytesMut::from(&b.build().unwrap()[..]),
                0,
                TimestampType::CreateTime,
            )
            .unwrap();
        {
            use std::io::Write;
            let mut out = stdout.lock();
            writeln!(out, "{tag} {}", info.base_offset).unwrap();
            out.flush().unwrap();
        }
        if tag.is_multiple_of(2) {
            log.compact(tag as i64 * 10).unwrap();
        }
    }
}

#[test]
fn a_kill_during_cleaning_leaves_a_consistent_log() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // Acknowledged batches: tag → base offset.
    let mut acked: BTreeMap<u64, i64> = BTreeMap::new();
    let mut next_tag = 0u64;
    for (round, &lines) in [150usize, 37, 400, 91, 260, 13, 333, 70].iter().enumerate() {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child_cleaner",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SKIFF_CLEAN_CRASH_DIR", dir.path())
            .env("SKIFF_CLEAN_CRASH_START", next_tag.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut got = 0;
        while got < lines {
            line.clear();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            let mut parts = line.split_whitespace();
            let (Some(Ok(tag)), Some(Ok(off))) = (
                parts.next().map(str::parse::<u64>),
                parts.next().map(str::parse::<i64>),
            ) else {
                continue;
            };
            acked.insert(tag, off);
            next_tag = tag + 1;
            got += 1;
        }
        assert_eq!(got, lines, "round {round}: child ended early");
        child.kill().unwrap();
        child.wait().unwrap();
        let interrupted: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
            .collect();
        eprintln!("round {round}: killed with cleaner files {interrupted:?}");

        let log = Log::open(dir.path(), crash_cfg()).unwrap();
        let leftovers: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cleaned") || n.ends_with(".swap") || n.ends_with(".deleted"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
        // Read every batch (CRC-checked) and the tag header of every record.
        let mut present: BTreeMap<i64, (String, bool)> = BTreeMap::new();
        let mut next = log.log_start_offset();
        while next < log.log_end_offset() {
            let chunk = log.read(next, 1 << 20).unwrap();
            for item in split_batches(&chunk) {
                let (h, bytes) = item.unwrap();
                let batch = MessageBatch::from_bytes(chunk.slice_ref(bytes)).unwrap();
                for m in batch.messages().unwrap() {
                    let tag = std::str::from_utf8(m.headers[0].value.as_deref().unwrap()).unwrap();
                    let (t, i) = tag.split_once('-').unwrap();
                    let (t, i): (u64, usize) = (t.parse().unwrap(), i.parse().unwrap());
                    let (k, tombstone) = crash_records(t)[i].clone();
                    assert_eq!(m.key.as_deref(), Some(k.as_bytes()), "record {tag}");
                    assert_eq!(m.value.is_none(), tombstone, "record {tag}");
                    if let Some(base) = acked.get(&t) {
                        assert_eq!(m.offset, base + i as i64, "record {tag}");
                    }
                    present.insert(m.offset, (k, tombstone));
                }
                next = h.next_offset();
            }
        }
        // The latest acknowledged record of each key survives (or a later one of that key
        // does); a key never comes back after its tombstone went.
        let mut latest: HashMap<String, (i64, bool)> = HashMap::new();
        for (tag, base) in &acked {
            for (i, (k, tombstone)) in crash_records(*tag).into_iter().enumerate() {
                latest.insert(k, (base + i as i64, tombstone));
            }
        }
        for (k, (off, tombstone)) in &latest {
            let later = present.range(off + 1..).any(|(_, (pk, _))| pk == k);
            if !tombstone {
                assert!(
                    present.contains_key(off) || later,
                    "round {round}: {k}@{off} lost"
                );
            } else if !present.contains_key(off) && !later {
                assert!(
                    !present.values().any(|(pk, _)| pk == k),
                    "round {round}: {k} resurrected after its tombstone at {off}"
                );
            }
        }
        drop(log);
        next_tag += 1_000; // unacknowledged tags may be on disk; never reuse them
    }
}

#[test]
fn cleaning_stops_at_the_last_stable_offset_and_leaves_transactions_alone() {
    use skiff::storage::record::{ControlRecordType, EndTxnMarker};
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), cfg(1 << 30)).unwrap();
    append(&log, &[("k", Some("1"))], 1); // 0
    log.roll_now().unwrap();
    let mut txn = BatchBuilder::new(Compression::None)
        .producer(9, 0, 0)
        .transactional(true);
    txn.push(Some(b"t"), Some(b"1"), &[], 2).unwrap();
    txn.push(Some(b"t"), Some(b"2"), &[], 2).unwrap();
    log.append(
        BytesMut::from(&txn.build().unwrap()[..]),
        0,
        TimestampType::CreateTime,
    )
    .unwrap(); // 1, 2: open transaction
    log.roll_now().unwrap();
    append(&log, &[("k", Some("2"))], 3); // 3
    log.roll_now().unwrap();
    assert_eq!(log.last_stable_offset(), 1);
    let stats = log.compact(1_000).unwrap();
    assert_eq!(stats.end_offset, 1);
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![0, 1, 2, 3]);

    let marker = BatchBuilder::end_txn_marker(
        0,
        4,
        0,
        9,
        0,
        EndTxnMarker {
            control_type: ControlRecordType::Commit,
            coordinator_epoch: 0,
        },
    )
    .unwrap();
    log.append(BytesMut::from(&marker[..]), 0, TimestampType::CreateTime)
        .unwrap(); // 4
    log.roll_now().unwrap();
    assert_eq!(log.last_stable_offset(), log.log_end_offset());
    log.compact(2_000).unwrap();
    let (records, headers) = read_all_with_headers(&log);
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    // k@0 is gone; the transactional batch (both its records) and the marker stay as written.
    assert_eq!(offsets, vec![1, 2, 3, 4]);
    assert!(headers.iter().any(|h| h.is_control() && h.base_offset == 4));
    assert!(headers
        .iter()
        .any(|h| h.is_transactional() && !h.is_control() && h.record_count == 2));
}
