//! Integration tests of the keyed state store: a model-based property test against a
//! `BTreeMap`, crash recovery of the write-ahead log, corruption of tables, and sharing
//! across threads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

use std::collections::BTreeMap;
use std::fs;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use skiff::storage::kv::{
    CompactionStrategy, StateStore, StateStoreConfig, WalSyncMode, WriteBatch,
};
use skiff::storage::{Compression, StorageError};

fn small_config(strategy: CompactionStrategy, compression: Compression) -> StateStoreConfig {
    let mut c = StateStoreConfig::default();
    c.memtable.max_size = 600;
    c.memtable.num_immutable = 1;
    c.sstable.block_size = 96;
    c.sstable.compression = compression;
    c.wal.segment_bytes = 512;
    c.wal.sync_mode = WalSyncMode::Manual;
    c.compaction.strategy = strategy;
    c.compaction.level0_trigger = 2;
    c.compaction.level1_bytes = 1024;
    c.compaction.size_ratio = 3;
    c.compaction.max_levels = 4;
    c.compaction.target_table_bytes = 512;
    c.compaction.min_merge_tables = 2;
    c.background_maintenance = false;
    c
}

fn sync_mode_strategy() -> impl Strategy<Value = WalSyncMode> {
    prop::sample::select(vec![
        WalSyncMode::Manual,
        WalSyncMode::Always,
        WalSyncMode::Interval(std::time::Duration::from_millis(1)),
    ])
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn all(store: &StateStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.iter().unwrap().collect::<Result<_, _>>().unwrap()
}

// ---------------------------------------------------------------- model-based test

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Get(Vec<u8>),
    Batch(Vec<(Vec<u8>, Option<Vec<u8>>)>),
    ScanPrefix(Vec<u8>),
    Range(Vec<u8>, Vec<u8>, bool, bool),
    Flush,
    Compact,
    CompactFull,
    Reopen,
    /// Copy the files of the open store (as a process crash would leave them) and go on
    /// with a store opened from the copy.
    Crash,
}

fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec!["", "a", "offsets/g1/", "offsets/g2/", "\u{ff}"]),
        0u8..24,
    )
        .prop_map(|(p, n)| {
            let mut k = p.as_bytes().to_vec();
            k.push(b'0' + n);
            k
        })
}

fn value_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..40)
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (key_strategy(), value_strategy()).prop_map(|(k, v)| Op::Put(k, v)),
        4 => key_strategy().prop_map(Op::Delete),
        4 => key_strategy().prop_map(Op::Get),
        2 => prop::collection::vec((key_strategy(), prop::option::of(value_strategy())), 1..6)
            .prop_map(Op::Batch),
        2 => prop::sample::select(vec!["", "a", "offsets/", "offsets/g1/", "offsets/g2/", "zz"])
            .prop_map(|p| Op::ScanPrefix(p.as_bytes().to_vec())),
        2 => (key_strategy(), key_strategy(), any::<bool>(), any::<bool>())
            .prop_map(|(a, b, ia, ib)| Op::Range(a, b, ia, ib)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::CompactFull),
        1 => Just(Op::Reopen),
        1 => Just(Op::Crash),
    ]
}

fn model_range(
    model: &BTreeMap<Vec<u8>, Vec<u8>>,
    start: Bound<&[u8]>,
    end: Bound<&[u8]>,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    model
        .iter()
        .filter(|(k, _)| match start {
            Bound::Included(s) => k.as_slice() >= s,
            Bound::Excluded(s) => k.as_slice() > s,
            Bound::Unbounded => true,
        })
        .filter(|(k, _)| match end {
            Bound::Included(e) => k.as_slice() <= e,
            Bound::Excluded(e) => k.as_slice() < e,
            Bound::Unbounded => true,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn run_model(ops: Vec<Op>, config: StateStoreConfig) -> Result<(), TestCaseError> {
    let mut dir = tempfile::tempdir().unwrap();
    let mut store = StateStore::open(dir.path(), config.clone()).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Put(k, v) => {
                store.put(&k, &v).unwrap();
                model.insert(k, v);
            }
            Op::Delete(k) => {
                store.delete(&k).unwrap();
                model.remove(&k);
            }
            Op::Get(k) => {
                prop_assert_eq!(store.get(&k).unwrap(), model.get(&k).cloned());
            }
            Op::Batch(ops) => {
                let mut b = WriteBatch::new();
                for (k, v) in ops {
                    match v {
                        Some(v) => {
                            b.put(&k, &v);
                            model.insert(k, v);
                        }
                        None => {
                            b.delete(&k);
                            model.remove(&k);
                        }
                    }
                }
                store.write(&b).unwrap();
            }
            Op::ScanPrefix(p) => {
                let got: Vec<_> = store
                    .scan_prefix(&p)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let want: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(got, want);
            }
            Op::Range(a, b, ia, ib) => {
                let start = if ia {
                    Bound::Included(&a[..])
                } else {
                    Bound::Excluded(&a[..])
                };
                let end = if ib {
                    Bound::Included(&b[..])
                } else {
                    Bound::Excluded(&b[..])
                };
                let got: Vec<_> = store
                    .range(start, end)
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                prop_assert_eq!(got, model_range(&model, start, end));
            }
            Op::Flush => store.flush().unwrap(),
            Op::Compact => {
                store.compact().unwrap();
            }
            Op::CompactFull => {
                store.compact_full().unwrap();
            }
            Op::Reopen => {
                store.close().unwrap();
                drop(store);
                store = StateStore::open(dir.path(), config.clone()).unwrap();
            }
            Op::Crash if config.background_maintenance => {
                // A file-by-file copy is no point-in-time image while the background
                // thread writes tables; a clean reopen stands in.
                drop(store);
                store = StateStore::open(dir.path(), config.clone()).unwrap();
            }
            Op::Crash => {
                let next = tempfile::tempdir().unwrap();
                copy_dir(dir.path(), next.path());
                let recovered = StateStore::open(next.path(), config.clone()).unwrap();
                drop(store);
                store = recovered;
                dir = next;
            }
        }
    }
    let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    prop_assert_eq!(all(&store), want.clone());
    drop(store);
    let store = StateStore::open(dir.path(), config).unwrap();
    prop_assert_eq!(all(&store), want);
    Ok(())
}

fn compression_strategy() -> impl Strategy<Value = Compression> {
    prop::sample::select(vec![
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn leveled_store_agrees_with_a_btreemap(
        ops in prop::collection::vec(op_strategy(), 1..120),
        compression in compression_strategy(),
        num_immutable in 0usize..3,
        background in any::<bool>(),
        sync_mode in sync_mode_strategy(),
    ) {
        let mut c = small_config(CompactionStrategy::Leveled, compression);
        c.wal.sync_mode = sync_mode;
        c.memtable.num_immutable = num_immutable;
        c.background_maintenance = background;
        run_model(ops, c)?;
    }

    #[test]
    fn size_tiered_store_agrees_with_a_btreemap(
        ops in prop::collection::vec(op_strategy(), 1..120),
        compression in compression_strategy(),
        bloom in any::<bool>(),
        background in any::<bool>(),
    ) {
        let mut c = small_config(CompactionStrategy::SizeTiered, compression);
        c.sstable.bloom_filter_enabled = bloom;
        c.background_maintenance = background;
        run_model(ops, c)?;
    }

    #[test]
    fn time_window_store_agrees_with_a_btreemap(
        ops in prop::collection::vec(op_strategy(), 1..120),
        compression in compression_strategy(),
        background in any::<bool>(),
        sync_mode in sync_mode_strategy(),
    ) {
        let mut c = small_config(CompactionStrategy::TimeWindow, compression);
        c.background_maintenance = background;
        c.wal.sync_mode = sync_mode;
        c.compaction.time_window = std::time::Duration::from_millis(1);
        run_model(ops, c)?;
    }
}

// ---------------------------------------------------------------- crash recovery

fn key(i: usize) -> String {
    format!("producers/{i:04}")
}

/// Writes `n` single-put records and one final batch record; returns the last WAL
/// segment's path and its length before the final record.
fn store_with_a_final_batch(dir: &Path, n: usize) -> (std::path::PathBuf, u64) {
    let store = StateStore::open(
        dir,
        small_config(CompactionStrategy::Leveled, Compression::None),
    )
    .unwrap();
    for i in 0..n {
        store.put(key(i), format!("v{i}")).unwrap();
    }
    let segment = store.stats().wal_segments.last().unwrap().clone();
    let before = fs::metadata(&segment).unwrap().len();
    let mut b = WriteBatch::new();
    b.put("txn/a", "1").put("txn/b", "2").delete(key(n - 1));
    store.write(&b).unwrap();
    assert_eq!(
        store.stats().wal_segments.last().unwrap(),
        &segment,
        "no roll in the last write"
    );
    store.close().unwrap();
    (segment, before)
}

fn assert_earlier_records(store: &StateStore, n: usize) {
    for i in 0..n {
        assert_eq!(
            store.get(key(i)).unwrap(),
            Some(format!("v{i}").into_bytes()),
            "key {i}"
        );
    }
}

#[test]
fn wal_torn_at_every_byte_of_its_last_record_keeps_every_earlier_record() {
    let origin = tempfile::tempdir().unwrap();
    let n = 5;
    let (segment, before) = store_with_a_final_batch(origin.path(), n);
    let full = fs::metadata(&segment).unwrap().len();
    let rel = segment.strip_prefix(origin.path()).unwrap().to_path_buf();
    assert!(full > before);
    for cut in before..full {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(origin.path(), copy.path());
        let seg = copy.path().join(&rel);
        fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let config = small_config(CompactionStrategy::Leveled, Compression::None);
        let store = StateStore::open(copy.path(), config.clone()).unwrap();
        assert_earlier_records(&store, n);
        // The torn batch is gone as a whole.
        assert_eq!(store.get("txn/a").unwrap(), None, "cut {cut}");
        assert_eq!(store.get("txn/b").unwrap(), None, "cut {cut}");
        // New writes after recovery are durable.
        store.put("after", "crash").unwrap();
        drop(store);
        let store = StateStore::open(copy.path(), config).unwrap();
        assert_eq!(store.get("after").unwrap(), Some(b"crash".to_vec()));
        assert_earlier_records(&store, n);
    }
    // Uncut, the batch is applied whole.
    let store = StateStore::open(
        origin.path(),
        small_config(CompactionStrategy::Leveled, Compression::None),
    )
    .unwrap();
    assert_eq!(store.get("txn/a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get(key(n - 1)).unwrap(), None);
}

#[test]
fn wal_with_garbage_appended_keeps_every_record() {
    let origin = tempfile::tempdir().unwrap();
    let n = 5;
    let (segment, _) = store_with_a_final_batch(origin.path(), n);
    let rel = segment.strip_prefix(origin.path()).unwrap().to_path_buf();
    let garbage: Vec<Vec<u8>> = vec![
        vec![0u8; 1],
        vec![0u8; 64],
        vec![0xff; 9],
        // A frame header claiming 4 bytes with a wrong checksum, and its payload.
        vec![4, 0, 0, 0, 1, 2, 3, 4, b'a', b'b', b'c', b'd'],
        (0..200u32).map(|i| (i * 37 % 251) as u8).collect(),
    ];
    for g in garbage {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(origin.path(), copy.path());
        let seg = copy.path().join(&rel);
        let mut bytes = fs::read(&seg).unwrap();
        bytes.extend_from_slice(&g);
        fs::write(&seg, &bytes).unwrap();
        let store = StateStore::open(
            copy.path(),
            small_config(CompactionStrategy::Leveled, Compression::None),
        )
        .unwrap();
        assert_earlier_records(&store, n - 1);
        assert_eq!(store.get("txn/b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(store.get(key(n - 1)).unwrap(), None);
    }
}

#[test]
fn leftovers_of_a_crashed_flush_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(CompactionStrategy::Leveled, Compression::None);
    {
        let store = StateStore::open(dir.path(), config.clone()).unwrap();
        store.put("k", "v").unwrap();
        store.flush().unwrap();
    }
    let orphan = dir.path().join(format!("{:020}.sst", 999));
    fs::write(&orphan, b"half a table").unwrap();
    fs::write(dir.path().join("MANIFEST.tmp"), b"half a manifest").unwrap();
    let store = StateStore::open(dir.path(), config).unwrap();
    assert!(!orphan.exists());
    assert_eq!(store.get("k").unwrap(), Some(b"v".to_vec()));
    store.put("k2", "v2").unwrap();
    store.flush().unwrap();
    assert_eq!(store.get("k2").unwrap(), Some(b"v2".to_vec()));
}

#[test]
fn a_corrupt_manifest_fails_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_config(CompactionStrategy::Leveled, Compression::None);
    {
        let store = StateStore::open(dir.path(), config.clone()).unwrap();
        store.put("k", "v").unwrap();
        store.flush().unwrap();
    }
    let path = dir.path().join("MANIFEST");
    let mut bytes = fs::read(&path).unwrap();
    bytes[10] ^= 0x10;
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        StateStore::open(dir.path(), config),
        Err(StorageError::StateCorrupted(_))
    ));
}

// ---------------------------------------------------------------- table corruption

#[test]
fn a_corrupt_sstable_block_is_reported_not_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(CompactionStrategy::Leveled, Compression::Snappy);
    config.memtable.max_size = 1 << 20;
    let path = {
        let store = StateStore::open(dir.path(), config.clone()).unwrap();
        for i in 0..200 {
            store.put(key(i), format!("value-{i}")).unwrap();
        }
        store.flush().unwrap();
        let stats = store.stats();
        assert_eq!(stats.tables.len(), 1);
        stats.tables[0].path.clone()
    };
    let mut bytes = fs::read(&path).unwrap();
    bytes[8] ^= 0x20;
    fs::write(&path, &bytes).unwrap();

    let store = StateStore::open(dir.path(), config).unwrap();
    assert!(matches!(
        store.get(key(0)),
        Err(StorageError::StateCorrupted(_))
    ));
    // A key in a later, intact block still reads.
    assert_eq!(store.get(key(199)).unwrap(), Some(b"value-199".to_vec()));
    let scanned: Vec<_> = store.scan_prefix("producers/").unwrap().collect();
    assert!(scanned.iter().any(Result::is_err));
    assert!(matches!(
        store.compact_full(),
        Err(StorageError::StateCorrupted(_))
    ));
    // A failed compaction leaves the store as it was.
    assert_eq!(store.stats().tables.len(), 1);
    store.put("still", "writable").unwrap();
    assert_eq!(store.get("still").unwrap(), Some(b"writable".to_vec()));
}

// ---------------------------------------------------------------- concurrency

#[test]
fn threads_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = small_config(CompactionStrategy::SizeTiered, Compression::Lz4);
    config.background_maintenance = true;
    let store = Arc::new(StateStore::open(dir.path(), config.clone()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..200 {
                    let k = format!("offsets/group-{t}/p-{i:03}");
                    store.put(&k, i.to_string()).unwrap();
                    assert_eq!(store.get(&k).unwrap(), Some(i.to_string().into_bytes()));
                    if i % 50 == 0 {
                        store.flush().unwrap();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    for t in 0..4 {
        let n = store
            .scan_prefix(format!("offsets/group-{t}/"))
            .unwrap()
            .count();
        assert_eq!(n, 200);
    }
    store.close().unwrap();
    drop(store);
    let store = StateStore::open(dir.path(), config).unwrap();
    assert_eq!(all(&store).len(), 800);
}

#[test]
fn default_config_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(dir.path(), StateStoreConfig::default()).unwrap();
    store.put("topics/orders", "partitions=3").unwrap();
    store
        .put("configs/orders/cleanup.policy", "compact")
        .unwrap();
    store.delete("topics/orders").unwrap();
    drop(store);
    let store = StateStore::open(dir.path(), StateStoreConfig::default()).unwrap();
    assert_eq!(store.get("topics/orders").unwrap(), None);
    assert_eq!(
        all(&store),
        vec![(
            b"configs/orders/cleanup.policy".to_vec(),
            b"compact".to_vec()
        )]
    );
}

#[test]
fn concurrent_writers_agree_with_the_log_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StateStoreConfig::default();
    config.wal.sync_mode = WalSyncMode::Always;
    let store = Arc::new(StateStore::open(dir.path(), config.clone()).unwrap());
    let threads = 6;
    let per_thread = 40;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    let mut b = WriteBatch::new();
                    b.put("transactions/shared", format!("{t}-{i}"))
                        .put(format!("transactions/{t}"), i.to_string());
                    store.write(&b).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.stats().wal_next_offset, (threads * per_thread) as u64);
    let before = all(&store);
    assert_eq!(before.len(), threads + 1);
    drop(store);
    let store = StateStore::open(dir.path(), config).unwrap();
    // The memtable saw the batches in the order the log replays them.
    assert_eq!(all(&store), before);
}
