//! Several log directories (JBOD): partitions spread over `log.dirs`, DescribeLogDirs,
//! AlterReplicaLogDirs moving a partition online under produce load, a directory that
//! fails going offline while the others serve, and recovery from a move a crash
//! interrupted. Real clients (rdkafka; raw protocol requests where rdkafka has no API)
//! against an in-process broker over temp dirs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::wire::Wire;
use common::*;
use kafka_protocol::messages::alter_replica_log_dirs_request::{
    AlterReplicaLogDir, AlterReplicaLogDirTopic,
};
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, ApiKey, DeleteTopicsRequest,
    DeleteTopicsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse, FetchRequest,
    FetchResponse, ListOffsetsRequest, ListOffsetsResponse, ProduceRequest, ProduceResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use skiff::broker::replica_manager::MoveState;
use skiff::storage::fault::{self, FaultOp};
use skiff::storage::{LogConfig, Storage};
use skiff::BrokerHandle;

const KAFKA_STORAGE_ERROR: i16 = 56;
const LOG_DIR_NOT_FOUND: i16 = 57;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// A temp dir with two log dirs `a` and `b` and a data dir.
struct Dirs {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

impl Dirs {
    fn new() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        Dirs {
            _tmp: tmp,
            data,
            a,
            b,
        }
    }

    fn log_dirs(&self) -> String {
        format!("log.dirs={},{}", self.a.display(), self.b.display())
    }

    async fn start(&self, overrides: &[&str]) -> BrokerHandle {
        let log_dirs = self.log_dirs();
        let mut all = vec![log_dirs.as_str()];
        all.extend_from_slice(overrides);
        start_broker(&self.data, &all).await
    }
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// The partitions of `topic` whose directories are in `dir`.
fn partitions_in(dir: &Path, topic: &str) -> Vec<i32> {
    let mut found: Vec<i32> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            name.strip_prefix(&format!("{topic}-"))?.parse().ok()
        })
        .collect();
    found.sort_unstable();
    found
}

async fn describe_log_dirs(
    w: &mut Wire,
    topics: Option<Vec<(&str, Vec<i32>)>>,
) -> DescribeLogDirsResponse {
    let req = DescribeLogDirsRequest::default().with_topics(topics.map(|ts| {
        ts.into_iter()
            .map(|(t, ps)| {
                DescribableLogDirTopic::default()
                    .with_topic(name(t))
                    .with_partitions(ps)
            })
            .collect()
    }));
    w.call(ApiKey::DescribeLogDirs, 4, &req).await
}

async fn alter_log_dir(w: &mut Wire, topic: &str, partition: i32, dir: &str) -> i16 {
    let req = AlterReplicaLogDirsRequest::default().with_dirs(vec![AlterReplicaLogDir::default()
        .with_path(StrBytes::from_string(dir.to_string()))
        .with_topics(vec![AlterReplicaLogDirTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![partition])])]);
    let r: AlterReplicaLogDirsResponse = w.call(ApiKey::AlterReplicaLogDirs, 2, &req).await;
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].topic_name.0.as_str(), topic);
    assert_eq!(r.results[0].partitions[0].partition_index, partition);
    r.results[0].partitions[0].error_code
}

/// A Produce v9 of one batch to `topic`-`partition`: its error code.
async fn produce_code(w: &mut Wire, topic: &str, partition: i32) -> i16 {
    let req = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(
                    batches::batch(7, 3, base_timestamp()).freeze(),
                ))])]);
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    r.responses[0].partition_responses[0].error_code
}

/// A Fetch v12 of `topic`-`partition` from offset 0: its error code and records' length.
async fn fetch_code(w: &mut Wire, topic: &str, partition: i32) -> (i16, usize) {
    let req = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)])]);
    let r: FetchResponse = w.call(ApiKey::Fetch, 12, &req).await;
    let p = &r.responses[0].partitions[0];
    (p.error_code, p.records.as_ref().map_or(0, Bytes::len))
}

/// A ListOffsets v7 (latest) of `topic`-`partition`: its error code.
async fn list_offsets_code(w: &mut Wire, topic: &str, partition: i32) -> i16 {
    let req = ListOffsetsRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(-1)])]);
    let r: ListOffsetsResponse = w.call(ApiKey::ListOffsets, 7, &req).await;
    r.topics[0].partitions[0].error_code
}

/// Produces records `from..to` to `topic`-`partition` with acks=all and waits for them.
async fn produce_records(bootstrap: &str, topic: &str, partition: i32, from: usize, to: usize) {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let p = producer(&bootstrap, "none", "all");
        for i in from..to {
            send(&p, &topic, partition, &test_record(i));
        }
        flush(&p);
    })
    .await
    .unwrap();
}

/// Reads `count` records of `topic`-`partition` from its beginning.
async fn read_back(bootstrap: &str, topic: &str, partition: i32, count: usize) -> Vec<Consumed> {
    let (bootstrap, topic) = (bootstrap.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let c = consumer(&bootstrap);
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, partition, Offset::Beginning)
            .unwrap();
        c.assign(&tpl).unwrap();
        consume(&c, count)
    })
    .await
    .unwrap()
}

/// Checks that `got` is records `from..from + got.len()` at offsets `from..`, in order.
fn assert_records(got: &[Consumed], from: usize) {
    for (i, c) in got.iter().enumerate() {
        assert_eq!(c.offset, (from + i) as i64, "offset of the {i}th record");
        assert_eq!(
            c.record,
            test_record(from + i),
            "record at offset {}",
            c.offset
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_spread_over_the_log_dirs_and_are_described() {
    let dirs = Dirs::new();
    let broker = dirs.start(&["num.partitions=4"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("spread").await;
    // The dir holding the fewest partitions gets the next one: two each.
    assert_eq!(partitions_in(&dirs.a, "spread"), vec![0, 2]);
    assert_eq!(partitions_in(&dirs.b, "spread"), vec![1, 3]);
    // Nothing of the logs in the data dir; each log dir has its own identity.
    assert!(partitions_in(&dirs.data, "spread").is_empty());
    let id = |d: &Path| {
        let text = std::fs::read_to_string(d.join("meta.properties")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("directory.id=").map(str::to_string))
            .unwrap()
    };
    assert_ne!(id(&dirs.a), id(&dirs.b));
    for p in 0..4 {
        produce_records(&broker.bootstrap(), "spread", p, 0, 20).await;
    }

    let r = describe_log_dirs(&mut w, None).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.results.len(), 2);
    for (result, dir, partitions) in [
        (&r.results[0], &dirs.a, [0, 2]),
        (&r.results[1], &dirs.b, [1, 3]),
    ] {
        assert_eq!(result.error_code, 0);
        assert_eq!(result.log_dir.as_str(), dir.to_str().unwrap());
        assert!(result.total_bytes > 0, "total bytes {}", result.total_bytes);
        assert!(
            result.usable_bytes > 0 && result.usable_bytes <= result.total_bytes,
            "usable bytes {}",
            result.usable_bytes
        );
        assert_eq!(result.topics.len(), 1);
        let t = &result.topics[0];
        assert_eq!(t.name.0.as_str(), "spread");
        let got: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
        assert_eq!(got, partitions);
        for p in &t.partitions {
            assert!(
                p.partition_size > 0,
                "size of partition {}",
                p.partition_index
            );
            assert!(!p.is_future_key);
            assert_eq!(p.offset_lag, 0);
        }
    }
    // Asking for one partition lists it in its dir only.
    let r = describe_log_dirs(&mut w, Some(vec![("spread", vec![3])])).await;
    assert!(r.results[0].topics.is_empty());
    assert_eq!(r.results[1].topics[0].partitions.len(), 1);
    assert_eq!(r.results[1].topics[0].partitions[0].partition_index, 3);
    broker.shutdown().await.unwrap();

    // The spread survives a restart: every record where it was.
    let broker = dirs.start(&["num.partitions=4"]).await;
    for p in 0..4 {
        assert_records(&read_back(&broker.bootstrap(), "spread", p, 20).await, 0);
    }
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_replica_log_dirs_answers_as_kafka() {
    let dirs = Dirs::new();
    let broker = dirs.start(&["num.partitions=1"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("t").await;
    let a = dirs.a.to_str().unwrap();
    // To the dir it is in: nothing to do.
    assert_eq!(alter_log_dir(&mut w, "t", 0, a).await, 0);
    assert_eq!(broker.replicas().wait_for_move("t", 0).await, None);
    // Not a log dir, an unknown partition.
    assert_eq!(
        alter_log_dir(&mut w, "t", 0, "/no/such/dir").await,
        LOG_DIR_NOT_FOUND
    );
    assert_eq!(
        alter_log_dir(&mut w, "t", 5, a).await,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        alter_log_dir(&mut w, "nope", 0, a).await,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(partitions_in(&dirs.a, "t"), vec![0]);
    broker.shutdown().await.unwrap();
}

/// Records the broker acknowledged (record number -> offset) and failed deliveries.
#[derive(Clone, Default)]
struct Acks {
    acked: Arc<Mutex<HashMap<usize, i64>>>,
    failed: Arc<AtomicUsize>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                let n = key_number(m.key().unwrap());
                let previous = self.acked.lock().unwrap().insert(n, m.offset());
                assert!(previous.is_none(), "record {n} acknowledged twice");
            }
            Err((e, _)) => {
                eprintln!("delivery failed: {e}");
                self.failed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_moves_between_dirs_under_produce_load_with_nothing_lost() {
    let dirs = Dirs::new();
    // Small segments, so the move copies closed segments and an active one.
    let overrides = ["num.partitions=1", "log.segment.bytes=65536"];
    let broker = dirs.start(&overrides).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("moving").await;
    assert_eq!(partitions_in(&dirs.a, "moving"), vec![0]);
    let bootstrap = broker.bootstrap();

    // A producer (idempotent, acks=all) that writes until told to stop, and says when
    // its first records are acknowledged.
    let acks = Acks::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let producing = {
        let (acks, stop, bootstrap) = (acks.clone(), Arc::clone(&stop), bootstrap.clone());
        std::thread::spawn(move || {
            let p: BaseProducer<Acks> = ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("acks", "all")
                .set("enable.idempotence", "true")
                .set("linger.ms", "2")
                .set("message.timeout.ms", "60000")
                .create_with_context(acks)
                .unwrap();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) || i < 8_000 {
                send(&p, "moving", 0, &test_record(i));
                i += 1;
                if i == 3_000 {
                    p.flush(Duration::from_secs(60)).unwrap();
                    started_tx.send(()).unwrap();
                }
                p.poll(Duration::ZERO);
            }
            p.flush(Duration::from_secs(60)).unwrap();
            i
        })
    };
    // A consumer reading along, until it has every record the producer wrote.
    let total = Arc::new(AtomicUsize::new(usize::MAX));
    let reading = {
        let (total, bootstrap) = (Arc::clone(&total), bootstrap.clone());
        std::thread::spawn(move || {
            let c = consumer(&bootstrap);
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset("moving", 0, Offset::Beginning)
                .unwrap();
            c.assign(&tpl).unwrap();
            let mut got: Vec<(i64, usize)> = Vec::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(180);
            while got.len() < total.load(Ordering::SeqCst) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "consumed only {}",
                    got.len()
                );
                if let Some(m) = c.poll(Duration::from_millis(100)) {
                    let m = m.unwrap();
                    got.push((m.offset(), key_number(m.key().unwrap())));
                }
            }
            got
        })
    };

    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    assert_eq!(
        alter_log_dir(&mut w, "moving", 0, dirs.b.to_str().unwrap()).await,
        0
    );
    assert_eq!(
        broker.replicas().wait_for_move("moving", 0).await,
        Some(MoveState::Done)
    );
    assert_eq!(partitions_in(&dirs.b, "moving"), vec![0]);
    assert!(partitions_in(&dirs.a, "moving").is_empty());
    assert!(
        std::fs::read_dir(&dirs.b).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with("-future")),
        "no future dir is left"
    );
    stop.store(true, Ordering::SeqCst);
    let produced = tokio::task::spawn_blocking(move || producing.join().unwrap())
        .await
        .unwrap();
    total.store(produced, Ordering::SeqCst);
    let consumed = tokio::task::spawn_blocking(move || reading.join().unwrap())
        .await
        .unwrap();

    assert_eq!(acks.failed.load(Ordering::SeqCst), 0, "no delivery failed");
    let acked = acks.acked.lock().unwrap().clone();
    assert_eq!(acked.len(), produced, "every record acknowledged");
    // Every acknowledged record read back once, in order, at the offset acknowledged.
    assert_eq!(consumed.len(), produced);
    for (i, (offset, n)) in consumed.iter().enumerate() {
        assert_eq!(*offset, i as i64, "offsets without gap or repeat");
        assert_eq!(*n, i, "records in the order produced");
        assert_eq!(acked[n], *offset, "record {n} where it was acknowledged");
    }
    // (The consumer's group made `__consumer_offsets`, spread over both dirs.)
    let r = describe_log_dirs(&mut w, Some(vec![("moving", vec![0])])).await;
    assert!(r.results[0].topics.is_empty());
    assert_eq!(r.results[1].topics[0].partitions[0].partition_index, 0);
    assert!(!r.results[1].topics[0].partitions[0].is_future_key);
    broker.shutdown().await.unwrap();

    // After a restart the partition is in its new dir with every record.
    let broker = dirs.start(&overrides).await;
    assert_eq!(partitions_in(&dirs.b, "moving"), vec![0]);
    let again = read_back(&broker.bootstrap(), "moving", 0, produced).await;
    assert_records(&again, 0);
    // And it takes appends at the next offset.
    produce_records(&broker.bootstrap(), "moving", 0, produced, produced + 10).await;
    let all = read_back(&broker.bootstrap(), "moving", 0, produced + 10).await;
    assert_records(&all, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_partition_is_deleted_with_its_topic_and_created_again() {
    let dirs = Dirs::new();
    let broker = dirs.start(&["num.partitions=1"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("gone").await;
    produce_records(&broker.bootstrap(), "gone", 0, 0, 30).await;
    assert_eq!(
        alter_log_dir(&mut w, "gone", 0, dirs.b.to_str().unwrap()).await,
        0
    );
    assert_eq!(
        broker.replicas().wait_for_move("gone", 0).await,
        Some(MoveState::Done)
    );
    let req = DeleteTopicsRequest::default()
        .with_topic_names(vec![name("gone")])
        .with_timeout_ms(5000);
    let r: DeleteTopicsResponse = w.call(ApiKey::DeleteTopics, 4, &req).await;
    assert_eq!(r.responses[0].error_code, 0);
    assert!(partitions_in(&dirs.a, "gone").is_empty());
    assert!(partitions_in(&dirs.b, "gone").is_empty());
    // Created again, it starts empty in the dir with the fewest partitions.
    w.create_topic("gone").await;
    assert_eq!(partitions_in(&dirs.a, "gone"), vec![0]);
    produce_records(&broker.bootstrap(), "gone", 0, 100, 105).await;
    let again = read_back(&broker.bootstrap(), "gone", 0, 5).await;
    assert_eq!(again[0].offset, 0);
    assert_eq!(again[0].record, test_record(100));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_dir_goes_offline_while_the_other_keeps_serving() {
    let dirs = Dirs::new();
    let broker = dirs.start(&["num.partitions=2"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("t").await;
    assert_eq!(partitions_in(&dirs.a, "t"), vec![0]);
    assert_eq!(partitions_in(&dirs.b, "t"), vec![1]);
    let bootstrap = broker.bootstrap();
    produce_records(&bootstrap, "t", 0, 0, 100).await;
    produce_records(&bootstrap, "t", 1, 0, 100).await;

    // Dir a's disk fails: the next write to it fails, and the dir goes offline.
    fault::arm(&dirs.a, &[FaultOp::Write, FaultOp::Read, FaultOp::Sync]);
    assert_eq!(produce_code(&mut w, "t", 0).await, KAFKA_STORAGE_ERROR);
    assert_eq!(produce_code(&mut w, "t", 0).await, KAFKA_STORAGE_ERROR);
    assert_eq!(fetch_code(&mut w, "t", 0).await.0, KAFKA_STORAGE_ERROR);
    assert_eq!(list_offsets_code(&mut w, "t", 0).await, KAFKA_STORAGE_ERROR);
    let r = describe_log_dirs(&mut w, Some(vec![("t", vec![0, 1])])).await;
    assert_eq!(r.results[0].error_code, KAFKA_STORAGE_ERROR);
    assert!(r.results[0].topics.is_empty());
    assert_eq!(
        (r.results[0].total_bytes, r.results[0].usable_bytes),
        (-1, -1)
    );
    assert_eq!(r.results[1].error_code, 0);
    assert_eq!(r.results[1].topics[0].partitions[0].partition_index, 1);
    // Nothing moves into or out of an offline dir.
    assert_eq!(
        alter_log_dir(&mut w, "t", 1, dirs.a.to_str().unwrap()).await,
        KAFKA_STORAGE_ERROR
    );
    assert_eq!(
        alter_log_dir(&mut w, "t", 0, dirs.b.to_str().unwrap()).await,
        KAFKA_STORAGE_ERROR
    );

    // Dir b serves on: produce and read, with the data acknowledged before.
    produce_records(&bootstrap, "t", 1, 100, 300).await;
    assert_records(&read_back(&bootstrap, "t", 1, 300).await, 0);
    let (code, bytes) = fetch_code(&mut w, "t", 1).await;
    assert_eq!(code, 0);
    assert!(bytes > 0);
    // The dir stays offline (a disk that recovers is trusted again only after a restart).
    fault::disarm(&dirs.a);
    assert_eq!(produce_code(&mut w, "t", 0).await, KAFKA_STORAGE_ERROR);
    broker.shutdown().await.unwrap();

    // Restarted with the disk back: what dir a had acknowledged is there.
    let broker = dirs.start(&["num.partitions=2"]).await;
    assert_records(&read_back(&broker.bootstrap(), "t", 0, 100).await, 0);
    assert_records(&read_back(&broker.bootstrap(), "t", 1, 300).await, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_dir_that_fails_before_start_leaves_its_partitions_offline() {
    let dirs = Dirs::new();
    let broker = dirs.start(&["num.partitions=2"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("t").await;
    produce_records(&broker.bootstrap(), "t", 0, 0, 50).await;
    produce_records(&broker.bootstrap(), "t", 1, 0, 50).await;
    broker.shutdown().await.unwrap();

    // Dir a cannot be read when the broker starts: it starts with dir b.
    fault::arm(&dirs.a, &[FaultOp::Read, FaultOp::Write, FaultOp::Sync]);
    let broker = dirs.start(&["num.partitions=2"]).await;
    let mut w = Wire::connect(&broker).await;
    assert_eq!(produce_code(&mut w, "t", 0).await, KAFKA_STORAGE_ERROR);
    assert_eq!(fetch_code(&mut w, "t", 0).await.0, KAFKA_STORAGE_ERROR);
    assert_eq!(list_offsets_code(&mut w, "t", 0).await, KAFKA_STORAGE_ERROR);
    let r = describe_log_dirs(&mut w, Some(vec![("t", vec![0, 1])])).await;
    assert_eq!(r.results[0].error_code, KAFKA_STORAGE_ERROR);
    assert_eq!(r.results[1].topics[0].partitions[0].partition_index, 1);
    // Partition 0 is not created afresh in dir b.
    assert_eq!(partitions_in(&dirs.b, "t"), vec![1]);
    produce_records(&broker.bootstrap(), "t", 1, 50, 80).await;
    assert_records(&read_back(&broker.bootstrap(), "t", 1, 80).await, 0);
    broker.shutdown().await.unwrap();
    fault::disarm(&dirs.a);

    let broker = dirs.start(&["num.partitions=2"]).await;
    assert_records(&read_back(&broker.bootstrap(), "t", 0, 50).await, 0);
    assert_records(&read_back(&broker.bootstrap(), "t", 1, 80).await, 0);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_a_crash_interrupted_is_finished_on_restart_with_nothing_lost() {
    let dirs = Dirs::new();
    let overrides = ["num.partitions=1", "log.segment.bytes=65536"];
    let broker = dirs.start(&overrides).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("m").await;
    produce_records(&broker.bootstrap(), "m", 0, 0, 3_000).await;

    // The destination's disk fails part-way through the copy: the move stops there and
    // leaves its future dir, as a crash would; the partition serves on from dir a.
    fault::arm(&dirs.b, &[FaultOp::Sync]);
    assert_eq!(
        alter_log_dir(&mut w, "m", 0, dirs.b.to_str().unwrap()).await,
        0
    );
    assert!(matches!(
        broker.replicas().wait_for_move("m", 0).await,
        Some(MoveState::Failed(_))
    ));
    fault::disarm(&dirs.b);
    let futures: Vec<String> = std::fs::read_dir(&dirs.b)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with("-future"))
        .collect();
    assert_eq!(futures.len(), 1, "the interrupted copy is on disk");
    assert_eq!(partitions_in(&dirs.a, "m"), vec![0]);
    produce_records(&broker.bootstrap(), "m", 0, 3_000, 3_100).await;
    broker.shutdown().await.unwrap();

    // On restart the move starts again from the partition's log and finishes.
    let broker = dirs.start(&overrides).await;
    assert_eq!(
        broker.replicas().wait_for_move("m", 0).await,
        Some(MoveState::Done)
    );
    assert_eq!(partitions_in(&dirs.b, "m"), vec![0]);
    assert!(partitions_in(&dirs.a, "m").is_empty());
    assert_records(&read_back(&broker.bootstrap(), "m", 0, 3_100).await, 0);
    broker.shutdown().await.unwrap();
}

#[test]
fn a_finished_copy_whose_old_dir_was_renamed_takes_the_partition() {
    // A crash between the two renames of a move's swap: the old copy is `-delete`, the
    // complete new one still `-future`.
    let dirs = Dirs::new();
    let log_dirs = [dirs.a.clone(), dirs.b.clone()];
    let config = LogConfig::default();
    let storage = Storage::open_dirs(&dirs.data, &log_dirs, Some(1), config.clone()).unwrap();
    let log = storage.get_or_create("x", 0, config.clone()).unwrap();
    for i in 0..10 {
        log.append(
            batches::batch(i, 2, base_timestamp()),
            0,
            Default::default(),
        )
        .unwrap();
    }
    storage.close().unwrap();
    let old = dirs.a.join("x-0");
    let future = dirs.b.join("x-0.0123456789abcdef0123456789abcdef-future");
    copy_dir(&old, &future);
    std::fs::rename(
        &old,
        dirs.a.join("x-0.fedcba9876543210fedcba9876543210-delete"),
    )
    .unwrap();

    let storage = Storage::open_dirs(&dirs.data, &log_dirs, Some(1), config).unwrap();
    let log = storage.get("x", 0).unwrap();
    assert_eq!(log.dir(), dirs.b.join("x-0"));
    assert_eq!(log.log_end_offset(), 20);
    assert!(std::fs::read_dir(&dirs.a).unwrap().all(|e| {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        !n.starts_with("x-0")
    }));
    storage.close().unwrap();

    // A partition found in two dirs is refused, as Kafka refuses it.
    copy_dir(&dirs.b.join("x-0"), &dirs.a.join("x-0"));
    assert!(Storage::open_dirs(&dirs.data, &log_dirs, Some(1), LogConfig::default()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_with_logs_must_be_listed_in_log_dirs() {
    let dirs = Dirs::new();
    let broker = start_broker(&dirs.data, &["num.partitions=1"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("old").await;
    produce_records(&broker.bootstrap(), "old", 0, 0, 10).await;
    broker.shutdown().await.unwrap();
    assert_eq!(partitions_in(&dirs.data, "old"), vec![0]);

    // Given log.dirs without the data dir, the broker refuses to leave its logs behind.
    let mut config = skiff::config::Config::default();
    config.set("listen", "127.0.0.1:0").unwrap();
    config.set("data.dir", dirs.data.to_str().unwrap()).unwrap();
    config.apply_override(&dirs.log_dirs()).unwrap();
    assert!(skiff::Broker::start(config).await.is_err());

    // Listed, the old logs serve from it, and new partitions go to the emptier dirs.
    let listed = format!("log.dirs={},{}", dirs.data.display(), dirs.a.display());
    let broker = start_broker(&dirs.data, &[listed.as_str(), "num.partitions=1"]).await;
    assert_records(&read_back(&broker.bootstrap(), "old", 0, 10).await, 0);
    let mut w = Wire::connect(&broker).await;
    w.create_topic("new").await;
    assert_eq!(partitions_in(&dirs.a, "new"), vec![0]);
    broker.shutdown().await.unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs at {}", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Log dir b is a 1 MiB tmpfs that fills up: produce to its partition answers
/// KAFKA_STORAGE_ERROR (ENOSPC), but a full disk is not a failed one, so the directory stays
/// online and its partition still serves reads (issue 17; Kafka would take it offline, see
/// tests/disk_faults.rs); dir a serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root (run with --ignored)"]
async fn a_full_log_dir_refuses_writes_but_keeps_serving_reads() {
    let dirs = Dirs::new();
    let _tmpfs = Tmpfs::mount(&dirs.b, "1m");
    let broker = dirs.start(&["num.partitions=2"]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("full").await;
    assert_eq!(partitions_in(&dirs.b, "full"), vec![1]);
    let mut codes = Vec::new();
    // Batches of 256 small records until the file system is full (about 1 MiB).
    for _ in 0..2_000 {
        let big = ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name("full"))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(1)
                    .with_records(Some(
                        batches::batch_with(
                            9,
                            256,
                            |_| base_timestamp(),
                            kafka_protocol::records::Compression::None,
                        )
                        .freeze(),
                    ))])]);
        let r: ProduceResponse = w.call(ApiKey::Produce, 9, &big).await;
        let code = r.responses[0].partition_responses[0].error_code;
        codes.push(code);
        if code != 0 {
            break;
        }
    }
    // (A smaller batch may still fit in what the failed one left free: no more writes
    // are asserted here; tests/disk_faults.rs follows a full disk further.)
    assert_eq!(codes.last(), Some(&KAFKA_STORAGE_ERROR), "{codes:?}");
    assert!(
        codes.iter().all(|c| *c == 0 || *c == KAFKA_STORAGE_ERROR),
        "{codes:?}"
    );
    let (code, bytes) = fetch_code(&mut w, "full", 1).await;
    assert_eq!(code, 0, "reads of a full log dir go on");
    assert!(bytes > 0);
    produce_records(&broker.bootstrap(), "full", 0, 0, 100).await;
    assert_records(&read_back(&broker.bootstrap(), "full", 0, 100).await, 0);
    // Closing the full dir's log cannot write its clean-shutdown marker (ENOSPC): shutdown
    // reports it, and the next start recovers that log.
    let _ = broker.shutdown().await;
}
