//! Recovery from arbitrary bytes: a partition log directory (segments, offset and time
//! indexes, leader-epoch checkpoint, log-start-offset, clean-shutdown marker) and a state
//! store directory (write-ahead log segments, SSTables, MANIFEST) are laid out from the
//! input's pieces (`[tag][len: u16][bytes]`, see `skiff_fuzz::Pieces`) and opened.
//!
//! Oracle: opening never panics; a log or store that opens serves every read; a batch
//! appended (a key put) after recovery is still there after a close and a second open, and
//! a second open of a recovered log finds the same end offset (recovery is idempotent), or
//! reports the damage the first open trusted as `LogCorrupted` (never another error).
#![no_main]

use std::path::Path;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use skiff::storage::kv::{StateStore, StateStoreConfig};
use skiff::storage::{Log, LogConfig, StorageError, TimestampType};
use skiff_fuzz::seeds::FIXTURES;
use skiff_fuzz::{encode_pieces, Pieces};

/// Where each piece tag goes: log directory files, then state store files.
const LOG_FILES: &[&str] = &[
    "00000000000000000000.log",
    "00000000000000000000.index",
    "00000000000000000000.timeindex",
    "leader-epoch-checkpoint",
    "log-start-offset",
    "00000000000000000005.log",
    "00000000000000000005.index",
    ".clean-shutdown",
];
const STORE_FILES: &[&str] = &[
    "wal/00000000000000000000.wal",
    "wal/00000000000000000010.wal",
    "00000000000000000001.sst",
    "00000000000000000002.sst",
    "MANIFEST",
];

fn store_config() -> StateStoreConfig {
    StateStoreConfig {
        background_maintenance: false,
        ..StateStoreConfig::default()
    }
}

fn probe_batch() -> BytesMut {
    BytesMut::from(FIXTURES[0].1)
}

fn exercise_log(dir: &Path) {
    let Ok(log) = Log::open(dir, LogConfig::default()) else {
        return;
    };
    let start = log.log_start_offset();
    let end = log.log_end_offset();
    assert!(start <= end, "log start {start} past log end {end}");
    let mut offset = start;
    while offset < end {
        match log.read(offset, 1 << 20) {
            Ok(bytes) if !bytes.is_empty() => {
                let Some(next) = skiff::storage::record::batch::split_batches(&bytes)
                    .filter_map(Result::ok)
                    .map(|(h, _)| h.next_offset())
                    .last()
                else {
                    break;
                };
                if next <= offset {
                    break;
                }
                offset = next;
            }
            _ => break,
        }
    }
    let _ = log.find_offset_by_timestamp(0);
    let _ = log.max_timestamp();
    let appended = log.append(probe_batch(), 0, TimestampType::CreateTime);
    let end_after = log.log_end_offset();
    if log.close().is_err() {
        return;
    }
    let again = match Log::open(dir, LogConfig::default()) {
        Ok(log) => log,
        // Damage the first open trusted without reading it (segments behind a clean
        // shutdown, sealed segments with sane indexes) may be found once an index is
        // rebuilt: the broker then holds the partition offline (see
        // tests/storage_partitions.rs). Any other failure is a finding.
        Err(StorageError::LogCorrupted(_)) => return,
        Err(e) => panic!("a log that recovered and closed cleanly does not open again: {e}"),
    };
    assert_eq!(
        again.log_end_offset(),
        end_after,
        "end offset moved on reopen"
    );
    if let Ok(info) = appended {
        let back = again
            .read(info.base_offset, 1 << 20)
            .expect("read the appended batch");
        assert!(
            !back.is_empty(),
            "the batch appended after recovery is gone"
        );
    }
    let _ = again.close();
}

fn exercise_store(dir: &Path) {
    let Ok(store) = StateStore::open(dir, store_config()) else {
        return;
    };
    if let Ok(iter) = store.iter() {
        for item in iter.take(10_000) {
            if item.is_err() {
                break;
            }
        }
    }
    let put = store.put(b"fuzz/probe", b"value");
    if store.close().is_err() {
        return;
    }
    drop(store);
    let again = match StateStore::open(dir, store_config()) {
        Ok(store) => store,
        Err(e) => panic!("a store that recovered and closed cleanly does not open again: {e}"),
    };
    if put.is_ok() {
        assert_eq!(
            again.get(b"fuzz/probe").ok().flatten().as_deref(),
            Some(&b"value"[..]),
            "a put acknowledged after recovery is gone"
        );
    }
    let _ = again.close();
}

fn seeds() -> Vec<(String, Vec<u8>)> {
    let Ok(tmp) = tempfile::tempdir() else {
        return Vec::new();
    };
    let log_dir = tmp.path().join("t-0");
    let store_dir = tmp.path().join("state");
    if let Ok(log) = Log::open(&log_dir, LogConfig::default()) {
        for (_, batch) in FIXTURES.iter().take(5) {
            let _ = log.append(BytesMut::from(*batch), 0, TimestampType::CreateTime);
        }
        let _ = log.close();
    }
    if let Ok(store) = StateStore::open(&store_dir, store_config()) {
        for i in 0..50 {
            let _ = store.put(format!("k{i:03}"), format!("v{i}"));
        }
        let _ = store.flush();
        for i in 0..20 {
            let _ = store.put(format!("j{i:03}"), format!("w{i}"));
        }
        let _ = store.delete("k007");
        let _ = store.sync();
        drop(store);
    }
    let mut files: Vec<(u8, Vec<u8>)> = Vec::new();
    for (tag, name) in LOG_FILES.iter().enumerate() {
        if let Ok(bytes) = std::fs::read(log_dir.join(name)) {
            files.push((tag as u8, bytes));
        }
    }
    let store_tag = LOG_FILES.len();
    let mut store_files: Vec<(u8, Vec<u8>)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&store_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let tag = if name.ends_with(".sst") {
                Some(2)
            } else if name == "MANIFEST" {
                Some(4)
            } else {
                None
            };
            if let (Some(t), Ok(bytes)) = (tag, std::fs::read(e.path())) {
                store_files.push(((store_tag + t) as u8, bytes));
            }
        }
    }
    if let Ok(bytes) = std::fs::read(store_dir.join("wal/00000000000000000000.wal")) {
        store_files.push((store_tag as u8, bytes));
    }
    let as_pieces = |v: &[(u8, Vec<u8>)]| {
        let refs: Vec<(u8, &[u8])> = v.iter().map(|(t, b)| (*t, &b[..])).collect();
        encode_pieces(&refs)
    };
    let mut all = files.clone();
    all.extend(store_files.iter().cloned());
    vec![
        ("log".into(), as_pieces(&files)),
        ("store".into(), as_pieces(&store_files)),
        ("both".into(), as_pieces(&all)),
    ]
}

fuzz_target!(
    init: {
        if let Some(dir) = skiff_fuzz::seed_dir() {
            skiff_fuzz::write_seeds(&dir, &seeds());
        }
    },
    |data: &[u8]| {
        let Ok(tmp) = tempfile::tempdir() else { return };
        let log_dir = tmp.path().join("t-0");
        let store_dir = tmp.path().join("state");
        let _ = std::fs::create_dir_all(&log_dir);
        let _ = std::fs::create_dir_all(store_dir.join("wal"));
        let (mut has_log, mut has_store) = (false, false);
        for (tag, bytes) in Pieces::new(data) {
            let tag = usize::from(tag) % (LOG_FILES.len() + STORE_FILES.len());
            let path = match LOG_FILES.get(tag) {
                Some(name) => {
                    has_log = true;
                    log_dir.join(name)
                }
                None => {
                    has_store = true;
                    store_dir.join(STORE_FILES[tag - LOG_FILES.len()])
                }
            };
            let _ = std::fs::write(path, bytes);
        }
        if has_log {
            exercise_log(&log_dir);
        }
        if has_store {
            exercise_store(&store_dir);
        }
    }
);
