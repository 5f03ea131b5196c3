//! Disk faults (issue 17, item 2), on an in-process broker through the wire protocol:
//! - the data dir on a small tmpfs filled up during produce: produce answers
//!   KAFKA_STORAGE_ERROR, every acknowledged batch stays readable (fetch keeps working),
//!   and produce succeeds again by itself once space is freed, and after a restart;
//! - an fsync that fails (the `storage::fault` seam): nothing is acknowledged after it, and
//!   the partition's log dir goes offline until restart, as Kafka's does (fsyncgate);
//! - the data dir turned read-only (`EROFS` through the fault seam): produce answers
//!   KAFKA_STORAGE_ERROR, fetch keeps working, and produce works again once it is writable.
//!
//! The tmpfs cases need root (mount); where mounting is not permitted they print why and
//! pass without running.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::wire::Wire;
use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use skiff::storage::fault::{self, FaultOp};
use skiff::storage::record::batch::split_batches;

const KAFKA_STORAGE_ERROR: i16 = 56;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` at `at`, or says why it cannot.
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A Produce v9 (acks=all) of a batch of `count` records tagged `tag` to `topic`-0: the
/// error code and base offset.
async fn produce(w: &mut Wire, topic: &str, tag: u64, count: usize) -> (i16, i64) {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(
                    batches::batch(tag, count, base_timestamp()).freeze(),
                ))])]);
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Fetches `topic`-0 from offset 0 to its end: the error code and the (base offset, record
/// count) of every batch read.
async fn fetch_all(w: &mut Wire, topic: &str) -> (i16, Vec<(i64, i32)>) {
    let mut batches = Vec::new();
    let mut offset = 0;
    loop {
        let req = FetchRequest::default()
            .with_max_wait_ms(0)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])]);
        let r: FetchResponse = w.call(ApiKey::Fetch, 12, &req).await;
        let p = &r.responses[0].partitions[0];
        if p.error_code != 0 {
            return (p.error_code, batches);
        }
        let records = p.records.clone().unwrap_or_default();
        let before = batches.len();
        for item in split_batches(&records) {
            let (h, _) = item.unwrap();
            batches.push((h.base_offset, h.record_count));
            offset = h.next_offset();
        }
        if batches.len() == before {
            return (0, batches);
        }
    }
}

/// Checks that `got` holds every acknowledged batch (base offset, count) and nothing else.
fn assert_batches(got: &[(i64, i32)], acked: &[(i64, i32)]) {
    assert_eq!(
        got, acked,
        "the log must hold exactly the acknowledged batches"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_dir_refuses_produce_keeps_reads_and_recovers_when_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("mnt");
    let _tmpfs = match Tmpfs::mount(&mnt, "8m") {
        Ok(t) => t,
        Err(why) => {
            eprintln!("skipping the full-disk test: {why}");
            return;
        }
    };
    // 2 MiB of the 8 are taken by a file that is removed later to free space.
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![7u8; 2 << 20]).unwrap();
    let data = mnt.join("data");
    let broker = start_broker(&data, &["num.partitions=1"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("full").await;
    let mut acked = Vec::new();
    let mut last = 0;
    // Batches of 200 records (about 9 KiB) until the file system is full.
    for tag in 0..2_000u64 {
        let (code, base) = produce(&mut w, "full", tag, 200).await;
        last = code;
        if code != 0 {
            break;
        }
        acked.push((base, 200));
    }
    assert_eq!(
        last, KAFKA_STORAGE_ERROR,
        "a full disk answers KAFKA_STORAGE_ERROR"
    );
    assert!(acked.len() > 100, "only {} batches fitted", acked.len());
    assert_eq!(
        produce(&mut w, "full", 9_000, 200).await.0,
        KAFKA_STORAGE_ERROR
    );
    // Reads go on, and hold exactly what was acknowledged.
    let (code, got) = fetch_all(&mut w, "full").await;
    assert_eq!(code, 0, "fetch from a full disk");
    assert_batches(&got, &acked);
    // Space freed: produce works again by itself, going on from the last acknowledged batch.
    std::fs::remove_file(&filler).unwrap();
    let (code, base) = produce(&mut w, "full", 9_001, 200).await;
    assert_eq!(code, 0, "produce once space is freed");
    let next = acked.last().map_or(0, |(b, n)| b + i64::from(*n));
    assert_eq!(base, next, "the failed appends left nothing in the log");
    acked.push((base, 200));
    let (code, got) = fetch_all(&mut w, "full").await;
    assert_eq!(code, 0);
    assert_batches(&got, &acked);
    drop(w);
    broker.shutdown().await.unwrap();
    // And after a restart.
    let broker = start_broker(&data, &["num.partitions=1"]).await;
    let mut w = Wire::connect(&broker).await;
    let (code, got) = fetch_all(&mut w, "full").await;
    assert_eq!(code, 0);
    assert_batches(&got, &acked);
    assert_eq!(produce(&mut w, "full", 9_002, 200).await.0, 0);
    drop(w);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_fsync_acknowledges_nothing_after_it_and_takes_the_log_dir_offline() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = ["num.partitions=1", "log.fsync.policy=always"];
    let broker = start_broker(dir.path(), &overrides).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("synced").await;
    let mut acked = Vec::new();
    for tag in 0..5 {
        let (code, base) = produce(&mut w, "synced", tag, 10).await;
        assert_eq!(code, 0);
        acked.push((base, 10));
    }
    let partition_dir = dir.path().join("synced-0");
    fault::arm(&partition_dir, &[FaultOp::Sync]);
    assert_eq!(
        produce(&mut w, "synced", 100, 10).await.0,
        KAFKA_STORAGE_ERROR,
        "a write whose fsync failed is not acknowledged"
    );
    fault::disarm(&partition_dir);
    // The disk "works" again, but what the page cache held may be lost: the log dir stays
    // offline until restart, and nothing more is acknowledged (fsyncgate).
    for tag in 101..104 {
        assert_eq!(
            produce(&mut w, "synced", tag, 10).await.0,
            KAFKA_STORAGE_ERROR
        );
    }
    assert_eq!(fetch_all(&mut w, "synced").await.0, KAFKA_STORAGE_ERROR);
    drop(w);
    broker.shutdown().await.unwrap();
    // After a restart every acknowledged batch is there (the unacknowledged one may be).
    let broker = start_broker(dir.path(), &overrides).await;
    let mut w = Wire::connect(&broker).await;
    let (code, got) = fetch_all(&mut w, "synced").await;
    assert_eq!(code, 0);
    assert_eq!(&got[..acked.len()], &acked[..]);
    assert!(got.len() <= acked.len() + 1, "{got:?}");
    assert_eq!(produce(&mut w, "synced", 200, 10).await.0, 0);
    drop(w);
    broker.shutdown().await.unwrap();
}

/// A data dir that turns read-only while the broker runs (ext4's `errors=remount-ro`, say):
/// writes fail with `EROFS`. A test cannot remount a live broker's file system read-only
/// (`mount -o remount,ro` answers EBUSY while files are open for writing, as a broker's
/// segments always are), so the `storage::fault` seam makes the writes fail with `EROFS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_turned_read_only_refuses_produce_and_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["num.partitions=1"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("ro").await;
    let mut acked = Vec::new();
    for tag in 0..5 {
        let (code, base) = produce(&mut w, "ro", tag, 10).await;
        assert_eq!(code, 0);
        acked.push((base, 10));
    }
    let partition_dir = dir.path().join("ro-0");
    let erofs = rustix::io::Errno::ROFS.raw_os_error();
    fault::arm_with(&partition_dir, &[FaultOp::Write], erofs);
    assert_eq!(produce(&mut w, "ro", 100, 10).await.0, KAFKA_STORAGE_ERROR);
    let (code, got) = fetch_all(&mut w, "ro").await;
    assert_eq!(code, 0, "fetch from a read-only data dir");
    assert_batches(&got, &acked);
    fault::disarm(&partition_dir);
    let (code, base) = produce(&mut w, "ro", 101, 10).await;
    assert_eq!(code, 0, "produce once the data dir is writable again");
    acked.push((base, 10));
    let (code, got) = fetch_all(&mut w, "ro").await;
    assert_eq!(code, 0);
    assert_batches(&got, &acked);
    drop(w);
    broker.shutdown().await.unwrap();
}
