//! Storage engine micro-benchmarks, each beside a baseline measured in the same run:
//! - append: `Log::append` of 1 KiB and 16 KiB batches vs. a plain buffered `write` of the
//!   same bytes to a file;
//! - read: sequential `Log::read` in 1 MiB fetches vs. a plain `read` of the segment file.
//!
//! Run with `cargo bench --bench storage`; compare each pair as a ratio.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "benchmark code: stops at the first failure and reports on the terminal"
)]

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use skiff::storage::record::builder::BatchBuilder;
use skiff::storage::{Compression, FsyncPolicy, Log, LogConfig, TimestampType};

fn config() -> LogConfig {
    LogConfig {
        segment_bytes: 256 * 1024 * 1024,
        segment_ms: None,
        index_interval_bytes: 4096,
        max_batch_bytes: 1 << 20,
        fsync: FsyncPolicy::Never,
        ..LogConfig::default()
    }
}

/// An uncompressed batch of about `size` bytes made of 100-byte records.
fn batch_of(size: usize) -> Bytes {
    let mut b = BatchBuilder::new(Compression::None);
    let value = vec![b'v'; 90];
    let mut i = 0;
    while b.uncompressed_size() + 100 < size {
        let key = format!("k{i:05}");
        b.push(
            Some(key.as_bytes()),
            Some(&value),
            &[],
            1_700_000_000_000 + i,
        )
        .expect("push");
        i += 1;
    }
    b.build().expect("build")
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(20);
    for size in [1024usize, 16 * 1024] {
        let batch = batch_of(size);
        group.throughput(Throughput::Bytes(batch.len() as u64));
        group.bench_with_input(BenchmarkId::new("skiff_log", size), &batch, |bch, batch| {
            bch.iter_custom(|iters| {
                let dir = tempfile::tempdir().expect("tempdir");
                let log = Log::open(dir.path(), config()).expect("open");
                let start = Instant::now();
                for _ in 0..iters {
                    let buf = BytesMut::from(&batch[..]);
                    log.append(buf, 0, TimestampType::CreateTime)
                        .expect("append");
                }
                let elapsed = start.elapsed();
                drop(log);
                elapsed
            })
        });
        group.bench_with_input(
            BenchmarkId::new("baseline_buffered_write", size),
            &batch,
            |bch, batch| {
                bch.iter_custom(|iters| {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let file = File::create(dir.path().join("f")).expect("create");
                    let mut w = BufWriter::new(file);
                    let start = Instant::now();
                    for _ in 0..iters {
                        // The same copy the log makes from the request buffer.
                        let buf = BytesMut::from(&batch[..]);
                        w.write_all(&buf).expect("write");
                    }
                    w.flush().expect("flush");
                    start.elapsed()
                })
            },
        );
    }
    group.finish();
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    group.measurement_time(Duration::from_secs(4));
    group.sample_size(20);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = Log::open(dir.path(), config()).expect("open");
    let batch = batch_of(16 * 1024);
    let total = 64 * 1024 * 1024;
    while (log.size_bytes() as usize) < total {
        log.append(BytesMut::from(&batch[..]), 0, TimestampType::CreateTime)
            .expect("append");
    }
    log.flush().expect("flush");
    let bytes = log.size_bytes();
    let end = log.log_end_offset();
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("skiff_log_sequential_1MiB_fetches", |b| {
        b.iter(|| {
            let mut offset = 0;
            let mut n = 0usize;
            while offset < end {
                let chunk = log.read(offset, 1 << 20).expect("read");
                n += chunk.len();
                let mut last_next = offset;
                for item in skiff::storage::record::batch::split_batches(&chunk) {
                    last_next = item.expect("batch").0.next_offset();
                }
                offset = last_next;
            }
            n
        })
    });
    let path = dir.path().join(format!("{:020}.log", 0));
    group.bench_function("baseline_plain_read_1MiB", |b| {
        b.iter(|| {
            let mut f = File::open(&path).expect("open");
            let mut buf = vec![0u8; 1 << 20];
            let mut n = 0usize;
            loop {
                let r = f.read(&mut buf).expect("read");
                if r == 0 {
                    break;
                }
                n += r;
            }
            n
        })
    });
    group.finish();
}

/// The benchmark group (criterion's macro makes it a `pub fn`, which a private module keeps
/// out of the documented surface).
mod group {
    use super::{append, read};
    criterion::criterion_group!(benches, append, read);
}
criterion_main!(group::benches);
