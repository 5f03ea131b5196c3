//! Crash safety: `skiff serve` as a child process with fsync=always, produce with acks=all,
//! SIGKILL it mid-stream, restart it: every acknowledged record is there, once, in order.
//! Client quotas set before a SIGKILL are there after the restart.
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

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset};

/// Records whose delivery the broker acknowledged: record number -> offset.
#[derive(Clone, Default)]
struct Acks(Arc<Mutex<HashMap<usize, i64>>>);

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(m) = result {
            let n = key_number(m.key().unwrap());
            let previous = self.0.lock().unwrap().insert(n, m.offset());
            assert!(previous.is_none(), "record {n} acknowledged twice");
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child broker that is killed when dropped (also when a test panics).
struct ChildBroker(Child);

impl ChildBroker {
    fn sigkill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for ChildBroker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `skiff serve` with fsync=always and waits until it accepts connections.
fn spawn_broker(dir: &Path) -> (ChildBroker, String) {
    spawn_broker_with(dir, "always")
}

/// Starts `skiff serve` with the given fsync policy.
fn spawn_broker_with(dir: &Path, fsync: &str) -> (ChildBroker, String) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["serve", "--listen", &addr, "--data-dir"])
        .arg(dir)
        .args(["--set", &format!("log.fsync.policy={fsync}")])
        .args(["--set", "num.partitions=3", "--log-level", "warn"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = ChildBroker(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "skiff exited before listening"
        );
        assert!(Instant::now() < deadline, "skiff did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, addr)
}

#[test]
fn sigkill_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_broker(dir.path());
    let topic = "crash";
    ensure_topic(&addr, topic);

    let acks = Acks::default();
    let producer: BaseProducer<Acks> = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.send.max.retries", "0")
        .set("message.timeout.ms", "2000")
        .create_with_context(acks.clone())
        .unwrap();
    let kill_after = volume() / 10;
    let mut sent = 0usize;
    // Produce until enough records are acknowledged, then kill the broker mid-stream.
    while acks.0.lock().unwrap().len() < kill_after {
        send(&producer, topic, 0, &test_record(sent));
        sent += 1;
        producer.poll(Duration::ZERO);
    }
    for _ in 0..1000 {
        send(&producer, topic, 0, &test_record(sent));
        sent += 1;
    }
    producer.poll(Duration::ZERO);
    child.sigkill();
    // Let the producer report the fate of everything in flight.
    let _ = producer.flush(Duration::from_secs(15));
    drop(producer);
    let acked = acks.0.lock().unwrap().clone();
    assert!(acked.len() >= kill_after);

    let (_child, addr) = spawn_broker(dir.path());
    let c = consumer(&addr);
    let (low, high) = c
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!(low, 0);
    assert!(
        high as usize >= acked.len(),
        "log shorter than what was acknowledged"
    );
    assign(&c, topic, 1, Offset::Beginning);
    let log = consume(&c, high as usize);
    let mut seen = HashMap::new();
    let mut previous = None;
    for (i, r) in log.iter().enumerate() {
        assert_eq!(r.offset, i as i64, "offsets are contiguous");
        let n = key_number(&r.record.key);
        assert_eq!(r.record, test_record(n));
        assert!(
            seen.insert(n, r.offset).is_none(),
            "record {n} stored twice"
        );
        if let Some(p) = previous {
            assert!(n > p, "record {n} after {p}: out of order");
        }
        previous = Some(n);
    }
    eprintln!(
        "sent {sent}, acknowledged {}, found after restart {}",
        acked.len(),
        log.len()
    );
    for (n, offset) in &acked {
        assert_eq!(
            seen.get(n),
            Some(offset),
            "acknowledged record {n} lost or moved"
        );
    }
}

#[test]
fn sigterm_shuts_down_cleanly_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    // SIGTERM must end the process with success after closing its logs cleanly; the
    // restarted broker then finds every record.
    let (mut child, addr) = spawn_broker_with(dir.path(), "never");
    let topic = "graceful";
    ensure_topic(&addr, topic);
    let p = producer(&addr, "lz4", "1");
    let n = 5000;
    for i in 0..n {
        send(&p, topic, (i % 3) as i32, &test_record(i));
    }
    flush(&p);
    drop(p);
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "skiff exited with {exit}");

    let (_child, addr) = spawn_broker_with(dir.path(), "never");
    let c = consumer(&addr);
    assign(&c, topic, 3, Offset::Beginning);
    let mut got: Vec<usize> = consume(&c, n)
        .iter()
        .map(|r| key_number(&r.record.key))
        .collect();
    got.sort();
    assert_eq!(got, (0..n).collect::<Vec<_>>());
}

/// Sets `producer_byte_rate` of `user` (None: the default user) and describes every quota,
/// as (user name, value) pairs sorted.
async fn quotas_over_the_wire(
    addr: &str,
    set: Option<(Option<&str>, f64)>,
) -> Vec<(Option<String>, f64)> {
    use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
    use kafka_protocol::messages::{
        AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey, DescribeClientQuotasRequest,
        DescribeClientQuotasResponse,
    };
    use kafka_protocol::protocol::StrBytes;
    let mut w = wire::Wire::connect_addr(addr).await;
    if let Some((user, value)) = set {
        let req = AlterClientQuotasRequest::default().with_entries(vec![EntryData::default()
            .with_entity(vec![EntityData::default()
                .with_entity_type(StrBytes::from_static_str("user"))
                .with_entity_name(
                    user.map(|u| StrBytes::from_string(u.to_string())),
                )])
            .with_ops(vec![OpData::default()
                .with_key(StrBytes::from_static_str("producer_byte_rate"))
                .with_value(value)])]);
        let r: AlterClientQuotasResponse = w.call(ApiKey::AlterClientQuotas, 1, &req).await;
        assert_eq!(r.entries[0].error_code, 0);
    }
    let r: DescribeClientQuotasResponse = w
        .call(
            ApiKey::DescribeClientQuotas,
            1,
            &DescribeClientQuotasRequest::default(),
        )
        .await;
    let mut out: Vec<(Option<String>, f64)> = r
        .entries
        .unwrap()
        .iter()
        .map(|e| {
            (
                e.entity[0].entity_name.as_ref().map(|n| n.to_string()),
                e.values[0].value,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn client_quotas_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut child, addr) = spawn_broker(dir.path());
    rt.block_on(quotas_over_the_wire(&addr, Some((Some("alice"), 1024.0))));
    let before = rt.block_on(quotas_over_the_wire(&addr, Some((None, 2048.0))));
    assert_eq!(
        before,
        vec![(None, 2048.0), (Some("alice".to_string()), 1024.0)]
    );
    child.sigkill();
    let (_child, addr) = spawn_broker(dir.path());
    assert_eq!(rt.block_on(quotas_over_the_wire(&addr, None)), before);
}
