//! Model-based property test: random appends, reads, deletions, flushes and (clean or
//! crash-style) reopenings of a partition log agree with a simple in-memory model.
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

use common::batches::{batch, crc_of};
use proptest::prelude::*;
use skiff::storage::record::batch::split_batches;
use skiff::storage::{FsyncPolicy, Log, LogConfig, StorageError, TimestampType};

#[derive(Debug, Clone)]
enum Op {
    Append { count: usize, ts: i64 },
    Read { at: u16, max_bytes: usize },
    DeleteBefore { at: u16 },
    Flush,
    Reopen { crash: bool, lose_marker: bool },
    FindTimestamp { ts: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..6, 0i64..1000).prop_map(|(count, ts)| Op::Append { count, ts }),
        3 => (any::<u16>(), 1usize..2000).prop_map(|(at, max_bytes)| Op::Read { at, max_bytes }),
        1 => any::<u16>().prop_map(|at| Op::DeleteBefore { at }),
        1 => Just(Op::Flush),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(crash, lose_marker)| Op::Reopen { crash, lose_marker }),
        1 => (0i64..1100).prop_map(|ts| Op::FindTimestamp { ts }),
    ]
}

/// One batch as the model knows it.
#[derive(Debug, Clone, Copy)]
struct ModelBatch {
    base: i64,
    count: i64,
    crc: u32,
    ts: i64,
}

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 700,
        segment_ms: None,
        index_interval_bytes: 200,
        max_batch_bytes: 1 << 20,
        fsync: FsyncPolicy::Never,
        ..LogConfig::default()
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::open(dir.path(), config()).unwrap();
    let mut model: Vec<ModelBatch> = Vec::new();
    let mut start = 0i64;
    let mut tag = 0u64;
    let end = |m: &[ModelBatch]| m.last().map_or(0, |b| b.base + b.count);
    for op in ops {
        match op {
            Op::Append { count, ts } => {
                tag += 1;
                let b = batch(tag, count, ts);
                let crc = crc_of(&b);
                let info = log.append(b, 0, TimestampType::CreateTime).unwrap();
                prop_assert_eq!(info.base_offset, end(&model));
                model.push(ModelBatch {
                    base: info.base_offset,
                    count: count as i64,
                    crc,
                    ts,
                });
            }
            Op::Read { at, max_bytes } => {
                let offset = i64::from(at) % (end(&model) + 2);
                let res = log.read(offset, max_bytes);
                if offset < start || offset > end(&model) {
                    let out_of_range = matches!(res, Err(StorageError::OffsetOutOfRange { .. }));
                    prop_assert!(out_of_range);
                } else {
                    let bytes = res.unwrap();
                    let got: Vec<(i64, u32)> = split_batches(&bytes)
                        .map(|b| {
                            let (h, _) = b.unwrap();
                            (h.base_offset, h.crc)
                        })
                        .collect();
                    let first = model.iter().position(|b| b.base + b.count > offset);
                    match first {
                        None => prop_assert!(got.is_empty()),
                        Some(i) => {
                            prop_assert!(!got.is_empty());
                            for (j, g) in got.iter().enumerate() {
                                let m = model[i + j];
                                prop_assert_eq!(*g, (m.base, m.crc));
                            }
                            prop_assert!(bytes.len() <= max_bytes || got.len() == 1);
                        }
                    }
                }
            }
            Op::DeleteBefore { at } => {
                let offset = i64::from(at) % (end(&model) + 1);
                log.delete_before(offset).unwrap();
                start = start.max(offset);
            }
            Op::Flush => log.flush().unwrap(),
            Op::Reopen { crash, lose_marker } => {
                if crash {
                    drop(log);
                } else {
                    log.close().unwrap();
                    drop(log);
                    if lose_marker {
                        // Recovery must agree with the trusted-index path.
                        fs::remove_file(dir.path().join(".clean-shutdown")).unwrap();
                    }
                }
                log = Log::open(dir.path(), config()).unwrap();
            }
            Op::FindTimestamp { ts } => {
                let expected = model
                    .iter()
                    .find(|b| b.ts >= ts && b.base + b.count > start)
                    .map(|b| (b.base.max(start), b.ts));
                prop_assert_eq!(log.find_offset_by_timestamp(ts).unwrap(), expected);
            }
        }
        prop_assert_eq!(log.log_end_offset(), end(&model));
        prop_assert_eq!(log.log_start_offset(), start);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn log_agrees_with_model(ops in prop::collection::vec(op(), 1..80)) {
        run(ops)?;
    }
}
