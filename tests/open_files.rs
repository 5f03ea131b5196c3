//! Running out of file descriptors (issue 17, item 5): `skiff serve` as a child process
//! under a low `RLIMIT_NOFILE` (set with the shell's `ulimit -n`, soft and hard). A
//! CreateTopics that runs out part way fails with KAFKA_STORAGE_ERROR and leaves nothing
//! behind (no directory, no topic); the broker goes on serving; accept failures do not stop
//! it; and it starts again on its data dir.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::wire::Wire;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, CreateTopicsRequest, CreateTopicsResponse, MetadataRequest,
    MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::Offset;

/// The descriptor limit of the child broker: enough to start and serve a few small topics,
/// far too few for a 300-partition topic (each partition holds at least 3).
const NOFILE: u32 = 256;

/// A child broker that is killed when dropped (also when a test panics).
struct ChildBroker(Child);

impl Drop for ChildBroker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ChildBroker {
    fn still_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// SIGTERM, and the exit status must be success.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.0.wait().unwrap();
        assert!(exit.success(), "skiff exited with {exit}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `skiff serve` over `dir` with at most `nofile` open files (None: the test's own
/// limit) and waits until it accepts connections.
fn spawn_broker(dir: &Path, nofile: Option<u32>) -> (ChildBroker, String) {
    let addr = format!("127.0.0.1:{}", free_port());
    let limit = nofile.map_or(String::new(), |n| format!("ulimit -n {n} && "));
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("{limit}exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_skiff"))
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir)
        .args([
            "--set",
            "num.partitions=2",
            "--set",
            "offsets.topic.num.partitions=1",
        ])
        .args(["--log-level", "warn"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildBroker(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(child.still_running(), "skiff exited before listening");
        assert!(Instant::now() < deadline, "skiff did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, addr)
}

fn topic(name: &str, partitions: i32) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(StrBytes::from_string(name.to_string())))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
}

/// Creates topics over the wire: each one's error code.
async fn create_topics(addr: &str, topics: Vec<CreatableTopic>) -> Vec<(String, i16)> {
    let mut wire = Wire::connect_addr(addr).await;
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000);
    let resp: CreateTopicsResponse = wire.call(ApiKey::CreateTopics, 7, &req).await;
    resp.topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.error_code))
        .collect()
}

/// The topics Metadata lists (but the internal ones), sorted.
async fn listed_topics(addr: &str) -> Vec<String> {
    let mut wire = Wire::connect_addr(addr).await;
    let req = MetadataRequest::default().with_topics(None);
    let resp: MetadataResponse = wire.call(ApiKey::Metadata, 12, &req).await;
    let mut names: Vec<String> = resp
        .topics
        .iter()
        .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        .filter(|n| !n.starts_with("__"))
        .collect();
    names.sort();
    names
}

/// The partition directories of `topic` in `dir`.
fn partition_dirs(dir: &Path, topic: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.rsplit_once('-').is_some_and(|(t, _)| t == topic))
        .collect()
}

/// ApiVersions on a new connection is answered.
async fn answers_api_versions(addr: &str) -> bool {
    let mut wire = Wire::connect_addr(addr).await;
    let resp: ApiVersionsResponse = wire
        .call(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default())
        .await;
    resp.error_code == 0
}

/// Produces `n` records to `topic` and reads them back.
fn produce_and_consume(addr: &str, topic: &str, n: usize) {
    let p = common::producer(addr, "none", "all");
    for i in 0..n {
        common::send(&p, topic, (i % 2) as i32, &common::test_record(i));
    }
    common::flush(&p);
    let c = common::consumer(addr);
    common::assign(&c, topic, 2, Offset::Beginning);
    let mut got: Vec<usize> = common::consume(&c, n)
        .iter()
        .map(|r| common::key_number(&r.record.key))
        .collect();
    got.sort();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_topics_out_of_descriptors_leaves_nothing_and_the_broker_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_broker(dir.path(), Some(NOFILE));
    let answers = create_topics(&addr, vec![topic("small", 2), topic("huge", 300)]).await;
    assert_eq!(
        answers,
        vec![("small".to_string(), 0), ("huge".to_string(), 56)],
        "the small topic is made; the huge one fails with KAFKA_STORAGE_ERROR"
    );
    assert!(child.still_running());
    assert_eq!(partition_dirs(dir.path(), "huge"), Vec::<String>::new());
    assert_eq!(listed_topics(&addr).await, vec!["small".to_string()]);
    // The log directory is still online: the broker creates and serves topics.
    assert_eq!(
        create_topics(&addr, vec![topic("after", 2)]).await,
        vec![("after".to_string(), 0)]
    );
    let addr2 = addr.clone();
    tokio::task::spawn_blocking(move || produce_and_consume(&addr2, "after", 100))
        .await
        .unwrap();
    // It stops cleanly and starts again on the same data dir, under the same limit.
    child.stop();
    let (_child, addr) = spawn_broker(dir.path(), Some(NOFILE));
    assert_eq!(
        listed_topics(&addr).await,
        vec!["after".to_string(), "small".to_string()]
    );
    let addr2 = addr.clone();
    tokio::task::spawn_blocking(move || produce_and_consume(&addr2, "small", 50))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_out_of_descriptors_does_not_stop_the_broker() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_broker(dir.path(), Some(NOFILE));
    // More connections than the broker has descriptors: the last ones wait in the listen
    // backlog while accept fails; each accepted one is answered.
    let mut held = Vec::new();
    for _ in 0..(NOFILE + 64) {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    assert!(child.still_running());
    drop(held);
    // Once they are gone, a new connection is served.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let served =
            tokio::time::timeout(Duration::from_secs(2), answers_api_versions(&addr)).await;
        if matches!(served, Ok(true)) {
            break;
        }
        assert!(Instant::now() < deadline, "the broker stopped serving");
    }
    assert!(child.still_running());
}
