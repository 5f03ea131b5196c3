//! Transactions with librdkafka (rdkafka): commit and abort seen through both isolation
//! levels, fencing by a second producer with the same transactional id, and an exactly-once
//! consume-transform-produce loop across kill -9 of the producer process and of the broker.
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

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};

const TIMEOUT: Duration = Duration::from_secs(30);

fn transactional_producer(bootstrap: &str, transactional_id: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", transactional_id)
        .set("transaction.timeout.ms", "60000")
        .set("linger.ms", "1")
        .create()
        .unwrap()
}

/// A consumer at `isolation` reporting partition EOF, so that reading "everything up to the
/// end" needs no timeout.
fn eof_consumer(bootstrap: &str, isolation: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("txn-tests-{isolation}"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .unwrap()
}

/// Reads `topic`'s `partitions` from the beginning until every partition reported EOF;
/// returns the (partition, offset, value) of each record.
fn read_to_end(c: &BaseConsumer, topic: &str, partitions: i32) -> Vec<(i32, i64, String)> {
    assign(c, topic, partitions, Offset::Beginning);
    let mut at_end = vec![false; partitions as usize];
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while at_end.iter().any(|e| !e) {
        assert!(
            Instant::now() < deadline,
            "partitions never reached their end"
        );
        match c.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(p))) => at_end[p as usize] = true,
            Some(Err(e)) => panic!("consume failed: {e}"),
            Some(Ok(m)) => {
                at_end[m.partition() as usize] = false;
                out.push((
                    m.partition(),
                    m.offset(),
                    String::from_utf8(m.payload().unwrap_or_default().to_vec()).unwrap(),
                ));
            }
        }
    }
    out
}

fn send_value(p: &BaseProducer, topic: &str, partition: i32, value: &str) {
    p.send(
        BaseRecord::to(topic)
            .key(value)
            .payload(value)
            .partition(partition),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_and_aborted_transactions_through_both_isolation_levels() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "txn-visibility";
    tokio::task::spawn_blocking(move || {
        ensure_topic(&bootstrap, topic);
        let p = transactional_producer(&bootstrap, "visibility");
        p.init_transactions(TIMEOUT).unwrap();

        p.begin_transaction().unwrap();
        for i in 0..6 {
            send_value(&p, topic, i % 3, &format!("committed-{i}"));
        }
        p.commit_transaction(TIMEOUT).unwrap();

        p.begin_transaction().unwrap();
        for i in 0..4 {
            send_value(&p, topic, i % 3, &format!("aborted-{i}"));
        }
        p.flush(TIMEOUT).unwrap();
        p.abort_transaction(TIMEOUT).unwrap();

        let committed = read_to_end(&eof_consumer(&bootstrap, "read_committed"), topic, 3);
        let mut values: Vec<&str> = committed.iter().map(|(_, _, v)| v.as_str()).collect();
        values.sort();
        assert_eq!(
            values,
            (0..6).map(|i| format!("committed-{i}")).collect::<Vec<_>>(),
            "read_committed sees exactly the committed records"
        );

        let all = read_to_end(&eof_consumer(&bootstrap, "read_uncommitted"), topic, 3);
        let mut values: Vec<&str> = all.iter().map(|(_, _, v)| v.as_str()).collect();
        values.sort();
        let mut expected: Vec<String> = (0..4)
            .map(|i| format!("aborted-{i}"))
            .chain((0..6).map(|i| format!("committed-{i}")))
            .collect();
        expected.sort();
        assert_eq!(values, expected, "read_uncommitted sees both, no markers");

        // Each partition holds its records plus two markers (commit, abort), which take
        // offsets but are never delivered as records.
        let c = eof_consumer(&bootstrap, "read_uncommitted");
        for partition in 0..3 {
            let (_, high) = c.fetch_watermarks(topic, partition, TIMEOUT).unwrap();
            let records = all.iter().filter(|(p, _, _)| *p == partition).count() as i64;
            assert_eq!(high, records + 2, "partition {partition}");
        }
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_with_the_same_transactional_id_fences_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let bootstrap = broker.bootstrap();
    let topic = "txn-fencing";
    tokio::task::spawn_blocking(move || {
        ensure_topic(&bootstrap, topic);
        let first = transactional_producer(&bootstrap, "fenced-id");
        first.init_transactions(TIMEOUT).unwrap();
        first.begin_transaction().unwrap();
        send_value(&first, topic, 0, "from-first");
        first.flush(TIMEOUT).unwrap();

        let second = transactional_producer(&bootstrap, "fenced-id");
        second.init_transactions(TIMEOUT).unwrap();

        // The first producer's transaction was aborted by the second's InitProducerId and
        // its epoch is stale: it cannot commit.
        let err = first.commit_transaction(TIMEOUT).unwrap_err();
        let fatal = match &err {
            KafkaError::Transaction(e) => e.is_fatal(),
            _ => false,
        };
        assert!(fatal, "expected a fatal fencing error, got {err}");

        second.begin_transaction().unwrap();
        send_value(&second, topic, 0, "from-second");
        second.commit_transaction(TIMEOUT).unwrap();

        let seen = read_to_end(&eof_consumer(&bootstrap, "read_committed"), topic, 3);
        let values: Vec<&str> = seen.iter().map(|(_, _, v)| v.as_str()).collect();
        assert_eq!(values, ["from-second"]);
    })
    .await
    .unwrap();
    broker.shutdown().await.unwrap();
}

// ---- exactly-once across kill -9 ------------------------------------------------------

const EOS_INPUT: &str = "eos-in";
const EOS_OUTPUT: &str = "eos-out";
const EOS_GROUP: &str = "eos-group";
const EOS_RECORDS: usize = 600;
const WORKER_ENV: &str = "SKIFF_EOS_WORKER_BOOTSTRAP";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped (also when the test panics).
struct ChildGuard(Child);

impl ChildGuard {
    fn sigkill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `skiff serve` on `addr` over `dir`, once it accepts connections.
fn spawn_skiff(dir: &Path, addr: &str) -> ChildGuard {
    let addr = addr.to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir)
        .args(["--set", "num.partitions=3", "--log-level", "warn"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(child.0.try_wait().unwrap().is_none(), "skiff exited early");
        assert!(Instant::now() < deadline, "skiff did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// This test binary again, running only [`eos_worker`] against `bootstrap`.
fn spawn_worker(bootstrap: &str) -> ChildGuard {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "eos_worker", "--ignored", "--nocapture"])
        .env(WORKER_ENV, bootstrap)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    ChildGuard(child)
}

/// Committed output records of the loop: input key -> times seen.
fn committed_output(bootstrap: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for (_, _, v) in read_to_end(&eof_consumer(bootstrap, "read_committed"), EOS_OUTPUT, 3) {
        *seen.entry(v).or_insert(0) += 1;
    }
    seen
}

/// Waits until at least `n` transformed records are committed, or the worker exited.
fn wait_for_committed_output(bootstrap: &str, n: usize, worker: &mut ChildGuard) {
    let c = eof_consumer(bootstrap, "read_committed");
    assign(&c, EOS_OUTPUT, 3, Offset::Beginning);
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while count < n {
        assert!(Instant::now() < deadline, "only {count} of {n} committed");
        if worker.0.try_wait().unwrap().is_some() {
            return;
        }
        if let Some(Ok(_)) = c.poll(Duration::from_millis(200)) {
            count += 1;
        }
    }
}

/// The consume-transform-produce loop, run in a child process by
/// [`exactly_once_across_kill_9_of_the_producer_and_the_broker`]: reads the input from the
/// group's committed offsets, writes "out-<value>" and commits the input offsets in the same
/// transaction, and exits once the whole input is consumed.
#[test]
#[ignore = "runs as a child process of the exactly-once test"]
fn eos_worker() {
    let Ok(bootstrap) = std::env::var(WORKER_ENV) else {
        return;
    };
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", EOS_GROUP)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    assign(&consumer, EOS_INPUT, 3, Offset::Stored);
    let producer = transactional_producer(&bootstrap, "eos-worker");
    producer.init_transactions(TIMEOUT).unwrap();
    let mut next: HashMap<i32, i64> = HashMap::new();
    loop {
        producer.begin_transaction().unwrap();
        let mut taken = 0;
        while taken < 7 {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(m)) => {
                    let value = std::str::from_utf8(m.payload().unwrap()).unwrap();
                    send_value(
                        &producer,
                        EOS_OUTPUT,
                        m.partition(),
                        &format!("out-{value}"),
                    );
                    next.insert(m.partition(), m.offset() + 1);
                    taken += 1;
                }
                // Transport failures while the broker restarts are reported and retried.
                Some(Err(e)) => {
                    eprintln!("eos worker: consumer event: {e}");
                    break;
                }
                None => break,
            }
        }
        let mut offsets = TopicPartitionList::new();
        for (p, o) in &next {
            offsets
                .add_partition_offset(EOS_INPUT, *p, Offset::Offset(*o))
                .unwrap();
        }
        producer
            .send_offsets_to_transaction(&offsets, &consumer.group_metadata().unwrap(), TIMEOUT)
            .unwrap();
        producer.commit_transaction(TIMEOUT).unwrap();
        // Done once the group's committed offsets reach the end of every input partition.
        if taken == 0 {
            let committed = consumer.committed(TIMEOUT).unwrap();
            let done = (0..3).all(|p| {
                let (_, high) = consumer.fetch_watermarks(EOS_INPUT, p, TIMEOUT).unwrap();
                let at = committed
                    .find_partition(EOS_INPUT, p)
                    .and_then(|e| e.offset().to_raw())
                    .unwrap_or(-1);
                high == 0 || at >= high
            });
            if done {
                return;
            }
        }
    }
}

#[test]
fn exactly_once_across_kill_9_of_the_producer_and_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = format!("127.0.0.1:{}", free_port());
    let mut broker = spawn_skiff(dir.path(), &bootstrap);
    ensure_topic(&bootstrap, EOS_INPUT);
    ensure_topic(&bootstrap, EOS_OUTPUT);
    let input = producer(&bootstrap, "none", "all");
    for i in 0..EOS_RECORDS {
        send_value(&input, EOS_INPUT, (i % 3) as i32, &format!("v{i}"));
    }
    input.flush(TIMEOUT).unwrap();
    drop(input);

    // The broker is killed -9 under a running worker and restarted on the same address
    // over the same data; the worker carries on, or fails and is restarted.
    let mut worker = spawn_worker(&bootstrap);
    wait_for_committed_output(&bootstrap, EOS_RECORDS / 4, &mut worker);
    broker.sigkill();
    let _broker = spawn_skiff(dir.path(), &bootstrap);
    if let Some(status) = worker.0.try_wait().unwrap() {
        eprintln!("worker exited when the broker was killed ({status}): restarted");
        worker = spawn_worker(&bootstrap);
    }
    wait_for_committed_output(&bootstrap, EOS_RECORDS / 2, &mut worker);
    if let Some(status) = worker.0.try_wait().unwrap() {
        eprintln!("worker exited after the broker restart ({status}): restarted");
        worker = spawn_worker(&bootstrap);
    }
    // Then the worker is killed -9 mid-stream, with a transaction likely open.
    wait_for_committed_output(&bootstrap, EOS_RECORDS * 2 / 3, &mut worker);
    worker.sigkill();

    // A second worker with the same transactional id fences the first's leftovers and
    // finishes from the committed offsets.
    let mut worker = spawn_worker(&bootstrap);
    let status = worker.0.wait().unwrap();
    assert!(status.success(), "worker failed: {status}");

    let seen = committed_output(&bootstrap);
    let expected: BTreeMap<String, usize> =
        (0..EOS_RECORDS).map(|i| (format!("out-v{i}"), 1)).collect();
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicates: {duplicated:?}");
    assert_eq!(
        seen, expected,
        "every input record transformed exactly once"
    );
}
