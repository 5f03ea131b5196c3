//! End-to-end benchmark: the same librdkafka-driven load against a running broker, against
//! `skiff serve`, against the reference Apache Kafka, or against both in turn.
//!
//! Run it with `cargo bench --bench e2e -- [flags]`; `--help` lists the flags and
//! `benches/README.md` explains every row. Without cargo bench's `--bench` argument (that is,
//! when `cargo test --all-targets` or `cargo test --benches` runs the binary) it exits at once.
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

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, NoCustomPartitioner, Producer, ProducerContext,
    ThreadedProducer,
};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// The repository root, where compat/ lives.
const REPO_ROOT: &str = env!("CARGO_MANIFEST_DIR");

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, BoxError>;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "e2e",
    about = "Skiff end-to-end benchmark (librdkafka load; Kafka vs Skiff side by side)"
)]
struct Args {
    /// Drive a broker that is already running at HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap: Option<String>,
    /// With --bootstrap: the broker's pid, to report its RSS and CPU time.
    #[arg(long, value_name = "PID")]
    broker_pid: Option<u32>,
    /// Start `skiff serve` (fresh data dir, free port) and drive it.
    #[arg(long)]
    skiff: bool,
    /// Start the reference Apache Kafka (KRaft, as compat/kafka/start-kafka.sh does) and drive it.
    #[arg(long)]
    kafka: bool,
    /// Kafka first, then Skiff, one at a time; print a Skiff/Kafka comparison table.
    #[arg(long)]
    both: bool,
    /// Multiply every record count and the latency duration (env E2E_SCALE; default 1).
    #[arg(long)]
    scale: Option<f64>,
    /// Records in the 100-byte rows before scaling (env E2E_RECORDS_100; default 1000000).
    #[arg(long)]
    records_100: Option<u64>,
    /// Records in the 1 KiB rows before scaling (env E2E_RECORDS_1K; default 200000).
    #[arg(long)]
    records_1k: Option<u64>,
    /// Records per second sent in the latency rows.
    #[arg(long, default_value_t = 1000)]
    latency_rate: u64,
    /// Seconds of measured traffic in each latency row before scaling.
    #[arg(long, default_value_t = 10.0)]
    latency_secs: f64,
    /// Seconds of unmeasured traffic at the start of each latency row.
    #[arg(long, default_value_t = 2.0)]
    latency_warmup_secs: f64,
    /// Records (100 B, acks=1) produced and consumed untimed before the first row, so that
    /// connections, page cache and a JIT are warm (before scaling; 0 turns it off).
    #[arg(long, default_value_t = 200_000)]
    warmup_records: u64,
    /// Partitions per topic (the brokers' num.partitions; topics are auto-created).
    #[arg(long, default_value_t = 4)]
    partitions: i32,
    /// Producer compression.type for the throughput rows.
    #[arg(long, default_value = "none")]
    compression: String,
    /// Comma-separated row ids to run (default: all but the opt-in ones). Ids:
    /// produce-100-acks1, produce-100-acksall, produce-1k-acks1, produce-1k-acksall,
    /// consume-100, consume-1k, e2e-acks1, e2e-acksall, produce-p99-cold-backlog; opt-in
    /// (only when named): partitions-1000-acksall, fetch-sessions-1000.
    #[arg(long, value_delimiter = ',')]
    rows: Vec<String>,
    /// produce-p99-cold-backlog: MiB of 1 KiB records in the backlog before scaling.
    #[arg(long, default_value_t = 1024)]
    backlog_mib: u64,
    /// produce-p99-cold-backlog: consumers reading the backlog at once.
    #[arg(long, default_value_t = 4)]
    backlog_readers: usize,
    /// produce-p99-cold-backlog: leave the backlog in the page cache (to see what the drop
    /// costs).
    #[arg(long)]
    backlog_warm: bool,
    /// partitions-1000-acksall: partitions of its topic (created with CreateTopics).
    #[arg(long, default_value_t = 1000)]
    wide_partitions: i32,
    /// partitions-1000-acksall: producers sending at once.
    #[arg(long, default_value_t = 4)]
    wide_producers: usize,
    /// partitions-1000-acksall: records (100 B) of all producers together before scaling.
    #[arg(long, default_value_t = 200_000)]
    wide_records: u64,
    /// fetch-sessions-1000: partitions of its topic (created with CreateTopics).
    #[arg(long, default_value_t = 1000)]
    fetch_partitions: i32,
    /// fetch-sessions-1000: partitions among them that receive records.
    #[arg(long, default_value_t = 10)]
    fetch_busy: i32,
    /// quota-1mbps: seconds of producing under the quota before scaling (at least 4).
    #[arg(long, default_value_t = 60.0)]
    quota_secs: f64,
    /// The skiff binary (env SKIFF_BIN; default: the one cargo built with this bench).
    #[arg(long)]
    skiff_bin: Option<PathBuf>,
    /// Extra `--set NAME=VALUE` for skiff serve (repeatable), e.g. log.fsync.policy=always.
    #[arg(long = "skiff-set", value_name = "NAME=VALUE")]
    skiff_set: Vec<String>,
    /// Extra `name=value` lines for Kafka's server.properties (repeatable).
    #[arg(long = "kafka-set", value_name = "NAME=VALUE")]
    kafka_set: Vec<String>,
    /// Extra librdkafka producer property (repeatable), e.g. linger.ms=10; applied last.
    #[arg(long = "producer-set", value_name = "NAME=VALUE")]
    producer_set: Vec<String>,
    /// Extra librdkafka consumer property (repeatable), e.g. fetch.queue.backoff.ms=10.
    #[arg(long = "consumer-set", value_name = "NAME=VALUE")]
    consumer_set: Vec<String>,
    /// Parent directory for the brokers' temp dirs (default: the system temp dir).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Keep the brokers' temp dirs (data and logs) instead of removing them.
    #[arg(long)]
    keep: bool,
    /// Also write the result tables (markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seconds to let a started broker settle before its idle RSS is read.
    #[arg(long, default_value_t = 2.0)]
    idle_secs: f64,
    /// Start the broker this many times in all (fresh data dir each time) and report the
    /// median time to first answer (default: 3 at --scale >= 1, otherwise 1).
    #[arg(long)]
    start_runs: Option<u32>,
    /// Repeat the whole run this many times (with --both: Kafka, Skiff, Kafka, Skiff, ...) and
    /// report the median of each figure as well as every round.
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Passed by `cargo bench`; the benchmark only runs when it is present.
    #[arg(long, hide = true)]
    bench: bool,
}

// ---------------------------------------------------------------------------------------
// Clock and statistics

/// Nanoseconds since the first call in this process (monotonic, shared by all threads).
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn median(v: &[f64]) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// p50 and p99 (nearest rank) of nanosecond samples, in milliseconds.
fn percentiles_ms(samples: &mut [u64]) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let idx = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[idx] as f64 / 1e6
    };
    Some((rank(0.50), rank(0.99)))
}

// ---------------------------------------------------------------------------------------
// Broker processes

/// What the benchmark drives: a process it started, or an address it was given.
struct Broker {
    name: String,
    bootstrap: String,
    child: Option<Child>,
    pid: Option<u32>,
    workdir: Option<PathBuf>,
    log_file: Option<PathBuf>,
    /// Milliseconds from spawn to the first answered Metadata request.
    start_ms: Option<f64>,
}

impl Broker {
    fn status_kb(&self, field: &str) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }

    /// User + system CPU seconds the broker process has used so far.
    fn cpu_secs(&self) -> Option<f64> {
        stat_cpu_secs(&format!("/proc/{}/stat", self.pid?))
    }

    /// The exit status if the broker process this benchmark started has exited.
    fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    fn log_tail(&self) -> String {
        let Some(path) = &self.log_file else {
            return String::new();
        };
        let text = fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM, wait up to 60 s, then SIGKILL. Returns the shutdown time in seconds.
    fn stop(&mut self, keep: bool) -> Option<f64> {
        let mut took = None;
        if let Some(child) = &mut self.child {
            let t0 = Instant::now();
            if matches!(child.try_wait(), Ok(None)) {
                let _ = Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string())
                    .status();
                while t0.elapsed() < Duration::from_secs(60) {
                    if !matches!(child.try_wait(), Ok(None)) {
                        break;
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                if matches!(child.try_wait(), Ok(None)) {
                    eprintln!("[e2e] {} ignored SIGTERM for 60 s: SIGKILL", self.name);
                    let _ = child.kill();
                }
                let _ = child.wait();
                took = Some(t0.elapsed().as_secs_f64());
            }
        }
        self.child = None;
        if let Some(dir) = &self.workdir {
            if keep {
                eprintln!("[e2e] kept {}", dir.display());
            } else {
                let _ = fs::remove_dir_all(dir);
            }
        }
        took
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// User + system CPU seconds of a /proc stat file (a process or this benchmark itself).
fn stat_cpu_secs(path: &str) -> Option<f64> {
    let stat = fs::read_to_string(path).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// CPU seconds used so far by the broker and by this benchmark (the clients).
#[derive(Clone, Copy)]
struct CpuMark {
    broker: Option<f64>,
    client: Option<f64>,
}

impl CpuMark {
    fn now(broker: &Broker) -> Self {
        CpuMark {
            broker: broker.cpu_secs(),
            client: stat_cpu_secs("/proc/self/stat"),
        }
    }
    /// (broker, client) CPU seconds since this mark.
    fn since(self, broker: &Broker) -> (Option<f64>, Option<f64>) {
        let now = CpuMark::now(broker);
        (
            self.broker.zip(now.broker).map(|(a, b)| b - a),
            self.client.zip(now.client).map(|(a, b)| b - a),
        )
    }
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn make_workdir(args: &Args, prefix: &str) -> Result<PathBuf> {
    let parent = args.workdir.clone().unwrap_or_else(std::env::temp_dir);
    fs::create_dir_all(&parent)?;
    let dir = parent.join(format!(
        "skiff-e2e-{prefix}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    fs::create_dir_all(dir.join("data"))?;
    Ok(dir)
}

/// One Metadata v1 request (no topics) over raw TCP; true when an answer listing at least
/// one broker comes back with our correlation id.
fn metadata_answered(addr: &str) -> bool {
    let try_once = || -> Result<bool> {
        let sock = addr.to_socket_addrs()?.next().ok_or("no address")?;
        let mut s = TcpStream::connect_timeout(&sock, Duration::from_millis(250))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        let client_id = b"skiff-e2e";
        let mut req = Vec::new();
        req.extend_from_slice(&3i16.to_be_bytes()); // api key: Metadata
        req.extend_from_slice(&1i16.to_be_bytes()); // version 1
        req.extend_from_slice(&4242i32.to_be_bytes()); // correlation id
        req.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
        req.extend_from_slice(client_id);
        req.extend_from_slice(&0i32.to_be_bytes()); // topics: empty array = none
        let mut frame = (req.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&req);
        s.write_all(&frame)?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        let corr = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let brokers = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        Ok(corr == 4242 && brokers >= 1)
    };
    try_once().unwrap_or(false)
}

/// Poll with Metadata every 5 ms until the broker answers; milliseconds since `spawned`.
fn wait_first_answer(broker: &mut Broker, spawned: Instant, timeout: Duration) -> Result<f64> {
    while spawned.elapsed() < timeout {
        if let Some(status) = broker.exit_status() {
            return Err(format!(
                "{} exited ({status}) before answering; log tail:\n{}",
                broker.name,
                broker.log_tail()
            )
            .into());
        }
        if metadata_answered(&broker.bootstrap) {
            return Ok(spawned.elapsed().as_secs_f64() * 1e3);
        }
        thread::sleep(Duration::from_millis(5));
    }
    Err(format!(
        "{} did not answer within {timeout:?}; log tail:\n{}",
        broker.name,
        broker.log_tail()
    )
    .into())
}

fn start_skiff(args: &Args) -> Result<Broker> {
    let bin = args
        .skiff_bin
        .clone()
        .or_else(|| std::env::var_os("SKIFF_BIN").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_skiff")));
    let workdir = make_workdir(args, "skiff")?;
    let port = free_port()?;
    let bootstrap = format!("127.0.0.1:{port}");
    let log_file = workdir.join("skiff.log");
    let log = fs::File::create(&log_file)?;
    let mut cmd = Command::new(&bin);
    cmd.arg("serve")
        .arg("--listen")
        .arg(&bootstrap)
        .arg("--data-dir")
        .arg(workdir.join("data"))
        .arg("--set")
        .arg(format!("num.partitions={}", args.partitions));
    for s in &args.skiff_set {
        cmd.arg("--set").arg(s);
    }
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    eprintln!("[e2e] starting {} serve on {bootstrap}", bin.display());
    let spawned = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut broker = Broker {
        name: "skiff".into(),
        bootstrap,
        pid: Some(child.id()),
        child: Some(child),
        workdir: Some(workdir),
        log_file: Some(log_file),
        start_ms: None,
    };
    match wait_first_answer(&mut broker, spawned, Duration::from_secs(60)) {
        Ok(ms) => broker.start_ms = Some(ms),
        Err(e) => {
            broker.stop(args.keep);
            return Err(e);
        }
    }
    Ok(broker)
}

/// A random cluster id as `kafka-storage random-uuid` prints it: the 16 bytes of a UUID in
/// unpadded base64url, never starting with '-' (the tool's argument parser would take it for
/// an option, as Kafka's own `Uuid.randomUuid` knows).
fn kafka_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    loop {
        let id = uuid::Uuid::new_v4();
        let mut out = String::with_capacity(22);
        for chunk in id.as_bytes().chunks(3) {
            let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
            let n = (byte(0) << 16) | (byte(1) << 8) | byte(2);
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        if !out.starts_with('-') {
            return out;
        }
    }
}

fn start_kafka(args: &Args) -> Result<Broker> {
    // Fetch (or reuse) Kafka's jars exactly as the compat harness does.
    let status = Command::new("bash")
        .arg("-c")
        .arg(". compat/lib.sh && ensure_kafka_libs")
        .current_dir(REPO_ROOT)
        .status()?;
    if !status.success() {
        return Err("compat/lib.sh ensure_kafka_libs failed".into());
    }
    let libs = Path::new(REPO_ROOT).join("target/kafka-libs");
    let version = fs::read_dir(&libs)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .find_map(|n| {
            n.strip_prefix("kafka_2.13-")
                .and_then(|v| v.strip_suffix(".jar"))
                .map(str::to_string)
        })
        .ok_or("no kafka_2.13-*.jar in target/kafka-libs")?;

    let workdir = make_workdir(args, "kafka")?;
    let port = free_port()?;
    let mut cport = free_port()?;
    while cport == port {
        cport = free_port()?;
    }
    let bootstrap = format!("127.0.0.1:{port}");
    // The same node as compat/kafka/start-kafka.sh: one KRaft combined-mode node.
    let mut props = format!(
        "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{cport}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions={partitions}
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
background.threads=2
",
        data = workdir.join("data").display(),
        partitions = args.partitions,
    );
    for s in &args.kafka_set {
        props.push_str(s);
        props.push('\n');
    }
    fs::write(workdir.join("server.properties"), props)?;
    fs::write(
        workdir.join("log4j2.yaml"),
        "Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: \"[%d] %p %m (%c)%n\"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: WARN
",
    )?;
    let heap = std::env::var("KAFKA_HEAP_OPTS").unwrap_or_else(|_| "-Xmx512m -Xms256m".into());
    let mut java_args: Vec<String> = heap.split_whitespace().map(str::to_string).collect();
    java_args.extend(
        [
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:ActiveProcessorCount=2",
            "-Djava.awt.headless=true",
        ]
        .map(str::to_string),
    );
    java_args.push(format!(
        "-Dlog4j2.configurationFile={}",
        workdir.join("log4j2.yaml").display()
    ));
    java_args.push(format!("-Dkafka.logs.dir={}", workdir.display()));
    if let Ok(extra) = std::env::var("KAFKA_JVM_OPTS") {
        java_args.extend(extra.split_whitespace().map(str::to_string));
    }
    java_args.push("-cp".into());
    java_args.push(format!("{}/*", libs.display()));

    let cluster_id = kafka_cluster_id();
    eprintln!(
        "[e2e] formatting Kafka {version} storage in {}",
        workdir.display()
    );
    let fmt = Command::new("java")
        .args(&java_args)
        .arg("kafka.tools.StorageTool")
        .arg("format")
        .arg("--cluster-id")
        .arg(&cluster_id)
        .arg("--config")
        .arg(workdir.join("server.properties"))
        .output()?;
    if !fmt.status.success() {
        return Err(format!(
            "kafka-storage format failed: {}{}",
            String::from_utf8_lossy(&fmt.stdout),
            String::from_utf8_lossy(&fmt.stderr)
        )
        .into());
    }

    let log_file = workdir.join("kafka.log");
    let log = fs::File::create(&log_file)?;
    let mut cmd = Command::new("java");
    cmd.args(&java_args)
        .arg("kafka.Kafka")
        .arg(workdir.join("server.properties"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    eprintln!("[e2e] starting Kafka {version} on {bootstrap}");
    let spawned = Instant::now();
    let child = cmd.spawn()?;
    let mut broker = Broker {
        name: format!("kafka-{version}"),
        bootstrap,
        pid: Some(child.id()),
        child: Some(child),
        workdir: Some(workdir),
        log_file: Some(log_file),
        start_ms: None,
    };
    match wait_first_answer(&mut broker, spawned, Duration::from_secs(180)) {
        Ok(ms) => broker.start_ms = Some(ms),
        Err(e) => {
            broker.stop(args.keep);
            return Err(e);
        }
    }
    Ok(broker)
}

// ---------------------------------------------------------------------------------------
// Clients

/// Records delivery-report latencies (enqueue → report) of a producer.
struct Reports {
    latencies: Mutex<Vec<u64>>,
    /// (send time, latency) of every sampled record, when asked for (`with_send_times`).
    timed: Option<Mutex<Vec<(u64, u64)>>>,
    delivered: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Reports {
    fn new(capacity: usize) -> Self {
        Reports {
            latencies: Mutex::new(Vec::with_capacity(capacity)),
            timed: None,
            delivered: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
        }
    }

    /// Also keeps each sample's send time, so that a row can pick samples by when they were
    /// sent.
    fn with_send_times(capacity: usize) -> Self {
        Reports {
            timed: Some(Mutex::new(Vec::with_capacity(capacity))),
            ..Reports::new(capacity)
        }
    }
}

impl ClientContext for Reports {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        client_log(level, fac, message);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        client_note(&format!("producer error: {error}: {reason}"));
    }
}

/// Context of the benchmark's consumers: librdkafka's log lines go to stderr.
struct ConsumerLog;

impl ClientContext for ConsumerLog {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        client_log(level, fac, message);
    }
    fn error(&self, error: KafkaError, reason: &str) {
        client_note(&format!("consumer error: {error}: {reason}"));
    }
}

impl ConsumerContext for ConsumerLog {}

/// Print a client-side complaint once; repeats of the same text are counted, not printed
/// (a broker without some API, e.g. FindCoordinator, would otherwise flood stderr).
fn client_note(text: &str) {
    static SEEN: OnceLock<Mutex<std::collections::HashMap<String, u64>>> = OnceLock::new();
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else {
        return;
    };
    // librdkafka appends "(after N ms ...)" and suppression counts: key on the stable part.
    let key = text.split(" (after ").next().unwrap_or(text).to_string();
    let n = seen.entry(key).or_insert(0);
    *n += 1;
    if *n == 1 {
        eprintln!("[e2e] {text}");
    } else if n.is_power_of_two() {
        eprintln!("[e2e] (seen {n} times) {text}");
    }
}

fn client_log(level: RDKafkaLogLevel, fac: &str, message: &str) {
    if (level as i32) <= (RDKafkaLogLevel::Warning as i32)
        || std::env::var_os("E2E_RDKAFKA_DEBUG").is_some()
    {
        client_note(&format!("librdkafka {level:?} {fac}: {message}"));
    }
}

impl ProducerContext<NoCustomPartitioner> for Reports {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_ns: usize) {
        let now = now_ns();
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
                // sent_ns == 0 marks a warm-up record: delivered, not sampled.
                if sent_ns != 0 {
                    let latency = now.saturating_sub(sent_ns as u64);
                    if let Ok(mut l) = self.latencies.lock() {
                        l.push(latency);
                    }
                    if let Some(Ok(mut t)) = self.timed.as_ref().map(Mutex::lock) {
                        t.push((sent_ns as u64, latency));
                    }
                }
            }
            Err((e, _)) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut f) = self.first_error.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

fn base_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", "skiff-e2e")
        // Warnings and errors only (E2E_RDKAFKA_DEBUG=broker,fetch,... turns on librdkafka's
        // debug contexts).
        .set("log_level", "4");
    if let Ok(d) = std::env::var("E2E_RDKAFKA_DEBUG") {
        c.set("debug", d).set("log_level", "7");
    }
    c
}

/// `--producer-set` / `--consumer-set` overrides, fixed once at start.
static CLIENT_OVERRIDES: OnceLock<(Properties, Properties)> = OnceLock::new();

/// librdkafka properties as (name, value) pairs.
type Properties = Vec<(String, String)>;

fn parse_overrides(list: &[String]) -> Result<Properties> {
    list.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("expected NAME=VALUE, got {kv}").into())
        })
        .collect()
}

fn producer(
    bootstrap: &str,
    acks: &str,
    extra: &[(&str, &str)],
    capacity: usize,
) -> Result<ThreadedProducer<Reports>> {
    producer_with(bootstrap, acks, extra, Reports::new(capacity))
}

/// `producer` with a given delivery-report context.
fn producer_with(
    bootstrap: &str,
    acks: &str,
    extra: &[(&str, &str)],
    reports: Reports,
) -> Result<ThreadedProducer<Reports>> {
    let mut c = base_config(bootstrap);
    c.set("acks", acks).set("enable.idempotence", "false");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    for (k, v) in CLIENT_OVERRIDES.get().map_or(&[][..], |o| &o.0[..]) {
        c.set(k, v);
    }
    Ok(c.create_with_context(reports)?)
}

fn consumer(bootstrap: &str) -> Result<BaseConsumer<ConsumerLog>> {
    let mut c = base_config(bootstrap);
    // librdkafka's assign() needs a group.id; nothing is committed and no group is joined.
    c.set(
        "group.id",
        format!("skiff-e2e-{}", uuid::Uuid::new_v4().simple()),
    )
    .set("enable.auto.commit", "false")
    .set("enable.auto.offset.store", "false")
    .set("auto.offset.reset", "earliest")
    // When the application drains more slowly than librdkafka fetches, the local queue
    // fills and the default 1000 ms backoff stalls fetching for whole seconds: noise that
    // says nothing about the broker (0.6-1.6M records/s against 1.7-2.0M with 10 ms).
    .set("fetch.queue.backoff.ms", "10");
    for (k, v) in CLIENT_OVERRIDES.get().map_or(&[][..], |o| &o.1[..]) {
        c.set(k, v);
    }
    Ok(c.create_with_context(ConsumerLog)?)
}

/// Auto-create `topic` through Metadata requests and wait until every partition has a leader.
fn ensure_topic(bootstrap: &str, topic: &str) -> Result<i32> {
    let mut c = base_config(bootstrap);
    c.set("allow.auto.create.topics", "true");
    let client: BaseProducer = c.create()?;
    let t0 = Instant::now();
    let mut last = String::new();
    while t0.elapsed() < Duration::from_secs(60) {
        match client
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
        {
            Ok(md) => {
                if let Some(t) = md.topics().iter().find(|t| t.name() == topic) {
                    let ready = t.error().is_none()
                        && !t.partitions().is_empty()
                        && t.partitions()
                            .iter()
                            .all(|p| p.leader() >= 0 && p.error().is_none());
                    if ready {
                        return Ok(t.partitions().len() as i32);
                    }
                    last = format!("topic error {:?}", t.error());
                }
            }
            Err(e) => last = e.to_string(),
        }
        thread::sleep(Duration::from_millis(100));
    }
    Err(format!("topic {topic} not ready after 60 s: {last}").into())
}

// ---------------------------------------------------------------------------------------
// Rows

#[derive(Clone, Debug, Default)]
struct RowResult {
    id: String,
    label: String,
    records: u64,
    bytes: u64,
    secs: f64,
    /// Delivery-report latency p50/p99 in ms.
    produce_lat: Option<(f64, f64)>,
    /// Produce → consumer receipt latency p50/p99 in ms.
    e2e_lat: Option<(f64, f64)>,
    broker_cpu: Option<f64>,
    /// CPU seconds of the benchmark process (librdkafka and the load loop) in the row.
    client_cpu: Option<f64>,
    note: String,
    /// A fixed-rate row: records/s is the target rate, not a result to compare.
    fixed_rate: bool,
    /// Metrics only some rows have, shown in a table of their own and compared by name.
    extra: Vec<Extra>,
}

/// One named metric of a row beyond the common columns.
#[derive(Clone, Copy, Debug)]
struct Extra {
    name: &'static str,
    value: f64,
    higher_is_better: bool,
    precision: usize,
}

impl RowResult {
    fn rate(&self) -> f64 {
        self.records as f64 / self.secs
    }
    fn mbps(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.secs
    }
}

fn payload(size: usize) -> Vec<u8> {
    // Not compressible, so a codec (if one is chosen) cannot shrink the load to nothing.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn send_blocking(
    p: &ThreadedProducer<Reports>,
    topic: &str,
    value: &[u8],
    opaque: impl Fn() -> usize,
) -> Result<()> {
    loop {
        let rec = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, opaque()).payload(value);
        match p.send(rec) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                thread::sleep(Duration::from_micros(500));
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}

/// Wait until every record is acknowledged and its delivery report served (the producer's
/// own thread serves reports as they arrive, so each latency sample is taken on arrival).
fn drain(p: &ThreadedProducer<Reports>, timeout: Duration) -> Result<()> {
    let t0 = Instant::now();
    while p.in_flight_count() > 0 {
        if t0.elapsed() > timeout {
            return Err(format!(
                "{} records still in flight after {timeout:?}",
                p.in_flight_count()
            )
            .into());
        }
        thread::sleep(Duration::from_micros(200));
    }
    Ok(())
}

fn check_delivery(p: &ThreadedProducer<Reports>, expected: u64) -> Result<()> {
    let ctx = p.context();
    let errors = ctx.errors.load(Ordering::Relaxed);
    let delivered = ctx.delivered.load(Ordering::Relaxed);
    if errors > 0 || delivered != expected {
        let first = ctx.first_error.lock().ok().and_then(|f| f.clone());
        return Err(format!(
            "{delivered} of {expected} records delivered, {errors} failed (first: {})",
            first.unwrap_or_default()
        )
        .into());
    }
    Ok(())
}

/// Produce `count` records of `size` bytes as fast as librdkafka takes them.
fn run_produce(
    broker: &Broker,
    topic: &str,
    size: usize,
    count: u64,
    acks: &str,
    compression: &str,
) -> Result<RowResult> {
    ensure_topic(&broker.bootstrap, topic)?;
    let p = producer(
        &broker.bootstrap,
        acks,
        &[("compression.type", compression)],
        count as usize,
    )?;
    let value = payload(size);
    let cpu0 = CpuMark::now(broker);
    let t0 = Instant::now();
    for _ in 0..count {
        send_blocking(&p, topic, &value, || now_ns() as usize)?;
    }
    drain(&p, Duration::from_secs(300))?;
    let secs = t0.elapsed().as_secs_f64();
    let (broker_cpu, client_cpu) = cpu0.since(broker);
    check_delivery(&p, count)?;
    let mut lat = std::mem::take(&mut *p.context().latencies.lock().map_err(|_| "poisoned")?);
    Ok(RowResult {
        records: count,
        bytes: count * size as u64,
        secs,
        produce_lat: percentiles_ms(&mut lat),
        broker_cpu,
        client_cpu,
        ..Default::default()
    })
}

/// Read every partition of `topic` from its start to its high watermark.
fn run_consume(broker: &Broker, topic: &str, expected: u64) -> Result<RowResult> {
    let c = consumer(&broker.bootstrap)?;
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let parts: Vec<i32> = md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or("topic missing from metadata")?
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut high = Vec::new();
    let mut tpl = TopicPartitionList::new();
    for &p in &parts {
        let (lo, hi) = c.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        if hi > lo {
            high.push((p, lo, hi));
            tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        }
    }
    let total: i64 = high.iter().map(|(_, lo, hi)| hi - lo).sum();
    if total as u64 != expected {
        return Err(format!("high watermarks sum to {total}, expected {expected}").into());
    }
    let mut next: std::collections::HashMap<i32, i64> =
        high.iter().map(|&(p, lo, _)| (p, lo)).collect();
    let mut remaining = high.len();
    let cpu0 = CpuMark::now(broker);
    let t0 = Instant::now();
    c.assign(&tpl)?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut last_progress = Instant::now();
    while remaining > 0 {
        match c.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                records += 1;
                bytes += m.payload_len() as u64;
                last_progress = Instant::now();
                let p = m.partition();
                let hi = high.iter().find(|(q, _, _)| *q == p).map(|(_, _, h)| *h);
                if let (Some(n), Some(hi)) = (next.get_mut(&p), hi) {
                    if m.offset() != *n {
                        return Err(format!(
                            "partition {p}: offset {} where {} was expected",
                            m.offset(),
                            n
                        )
                        .into());
                    }
                    *n = m.offset() + 1;
                    if *n == hi {
                        remaining -= 1;
                    }
                }
            }
            Some(Err(e)) => client_note(&format!("consumer: {e}")),
            None => {
                if last_progress.elapsed() > Duration::from_secs(60) {
                    return Err(format!("no record for 60 s after {records} records").into());
                }
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let (broker_cpu, client_cpu) = cpu0.since(broker);
    Ok(RowResult {
        records,
        bytes,
        secs,
        broker_cpu,
        client_cpu,
        ..Default::default()
    })
}

/// A fixed-rate producer (linger 0) stamping its send time into each value, and a concurrent
/// consumer measuring when each record arrives. The first `warmup_secs` are not measured.
fn run_latency(
    broker: &Broker,
    topic: &str,
    acks: &str,
    rate: u64,
    secs: f64,
    warmup_secs: f64,
) -> Result<RowResult> {
    const SIZE: usize = 100;
    ensure_topic(&broker.bootstrap, topic)?;
    let warmup = (rate as f64 * warmup_secs).round() as u64;
    let measured = ((rate as f64 * secs).round() as u64).max(1);
    let total = warmup + measured;

    // Consumer first: assigned at the start of the (empty) topic, waiting for records.
    let c = consumer(&broker.bootstrap)?;
    let md = c.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for p in md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or("topic missing from metadata")?
        .partitions()
    {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)?;
    }
    c.assign(&tpl)?;
    let samples = Arc::new(Mutex::new(Vec::with_capacity(measured as usize)));
    let consumer_thread = {
        let samples = Arc::clone(&samples);
        thread::spawn(move || -> std::result::Result<u64, String> {
            let mut seen = 0u64;
            let mut last_progress = Instant::now();
            while seen < total {
                match c.poll(Duration::from_millis(200)) {
                    Some(Ok(m)) => {
                        let now = now_ns();
                        seen += 1;
                        last_progress = Instant::now();
                        let v = m.payload().unwrap_or_default();
                        if v.len() >= 16 {
                            let mut a = [0u8; 8];
                            a.copy_from_slice(&v[0..8]);
                            let sent = u64::from_be_bytes(a);
                            a.copy_from_slice(&v[8..16]);
                            let seq = u64::from_be_bytes(a);
                            if seq >= warmup {
                                if let Ok(mut s) = samples.lock() {
                                    s.push(now.saturating_sub(sent));
                                }
                            }
                        }
                    }
                    Some(Err(e)) => client_note(&format!("latency consumer: {e}")),
                    None => {
                        if last_progress.elapsed() > Duration::from_secs(30) {
                            return Err(format!("consumer saw {seen} of {total} records"));
                        }
                    }
                }
            }
            Ok(seen)
        })
    };

    let p = producer(
        &broker.bootstrap,
        acks,
        &[("linger.ms", "0")],
        measured as usize,
    )?;
    let mut cpu0 = None;
    let mut value = payload(SIZE);
    let interval_ns = 1e9 / rate as f64;
    let start = now_ns();
    let mut measured_start = None;
    for seq in 0..total {
        let due = start + (seq as f64 * interval_ns) as u64;
        loop {
            let now = now_ns();
            if now >= due {
                break;
            }
            thread::sleep(Duration::from_nanos(due - now));
        }
        if seq == warmup {
            measured_start = Some(Instant::now());
            cpu0 = Some(CpuMark::now(broker));
        }
        let sent = now_ns();
        value[0..8].copy_from_slice(&sent.to_be_bytes());
        value[8..16].copy_from_slice(&seq.to_be_bytes());
        let opaque = if seq >= warmup { sent as usize } else { 0 };
        send_blocking(&p, topic, &value, || opaque)?;
    }
    // The sending rate actually achieved over the measured part (one interval per record).
    let elapsed = measured_start.map_or(0.0, |t| t.elapsed().as_secs_f64()) + interval_ns / 1e9;
    drain(&p, Duration::from_secs(60))?;
    check_delivery(&p, total)?;
    let seen = consumer_thread
        .join()
        .map_err(|_| "latency consumer panicked")??;
    let (broker_cpu, client_cpu) = cpu0.map_or((None, None), |c| c.since(broker));
    let mut e2e = std::mem::take(&mut *samples.lock().map_err(|_| "poisoned")?);
    let mut lat = std::mem::take(&mut *p.context().latencies.lock().map_err(|_| "poisoned")?);
    let achieved = measured as f64 / elapsed.max(1e-9);
    Ok(RowResult {
        records: measured,
        bytes: measured * SIZE as u64,
        secs: elapsed,
        produce_lat: percentiles_ms(&mut lat),
        e2e_lat: percentiles_ms(&mut e2e),
        broker_cpu,
        client_cpu,
        note: format!("{seen} received, target {rate}/s, sent {achieved:.0}/s"),
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------
// Rows that run only when named: a cold backlog read under fixed-rate produce, and a topic
// with many partitions under acks=all

/// Forces every file in `topic`'s partition directories (`<topic>-<n>` under `data_dir`, the
/// layout of both brokers) to disk and drops its pages from the page cache. Returns the
/// number of files and the bytes of the segments (`*.log`) among them.
fn drop_topic_cache(data_dir: &Path, topic: &str) -> Result<(u64, u64)> {
    let prefix = format!("{topic}-");
    let (mut files, mut segment_bytes) = (0u64, 0u64);
    for dir in fs::read_dir(data_dir)? {
        let dir = dir?;
        let name = dir.file_name().to_string_lossy().into_owned();
        let partition_dir = name
            .strip_prefix(&prefix)
            .is_some_and(|n| n.parse::<u32>().is_ok());
        if !partition_dir || !dir.file_type()?.is_dir() {
            continue;
        }
        for f in fs::read_dir(dir.path())? {
            let f = f?;
            if !f.file_type()?.is_file() {
                continue;
            }
            // Segments (`*.log`) and their indexes. Dirty pages cannot be dropped, so the
            // file is fsynced first (fsync works on a read-only descriptor).
            let file = fs::File::open(f.path())?;
            file.sync_all()?;
            drop_cached_pages(&file)?;
            files += 1;
            if f.path().extension().is_some_and(|e| e == "log") {
                segment_bytes += file.metadata()?.len();
            }
        }
    }
    if segment_bytes == 0 {
        return Err(format!("no segments of {topic} in {}", data_dir.display()).into());
    }
    Ok((files, segment_bytes))
}

/// `posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)`: drop the file's clean pages from the
/// page cache (through rustix's safe wrapper; a length of `None` means "to the end").
fn drop_cached_pages(file: &fs::File) -> Result<()> {
    rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed)?;
    Ok(())
}

/// What one backlog reader read, and when it reached its last high watermark.
struct ReadOutcome {
    records: u64,
    bytes: u64,
    done_ns: u64,
}

/// Assigns `parts` (partition, low, high) of `topic` at their beginning and reads each up to
/// its high watermark, checking that offsets are contiguous.
fn read_backlog(
    c: &BaseConsumer<ConsumerLog>,
    topic: &str,
    parts: &[(i32, i64, i64)],
) -> std::result::Result<ReadOutcome, String> {
    let mut tpl = TopicPartitionList::new();
    let mut next = std::collections::HashMap::new();
    for &(p, lo, hi) in parts {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
        next.insert(p, (lo, hi));
    }
    c.assign(&tpl).map_err(|e| e.to_string())?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut remaining = parts.len();
    let mut last_progress = Instant::now();
    while remaining > 0 {
        match c.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                records += 1;
                bytes += m.payload_len() as u64;
                last_progress = Instant::now();
                let p = m.partition();
                if let Some((n, hi)) = next.get_mut(&p) {
                    if m.offset() != *n {
                        return Err(format!(
                            "partition {p}: offset {} where {n} was expected",
                            m.offset()
                        ));
                    }
                    *n += 1;
                    if *n == *hi {
                        remaining -= 1;
                    }
                }
            }
            Some(Err(e)) => client_note(&format!("backlog reader: {e}")),
            None => {
                if last_progress.elapsed() > Duration::from_secs(60) {
                    return Err(format!("no record for 60 s after {records} records"));
                }
            }
        }
    }
    Ok(ReadOutcome {
        records,
        bytes,
        done_ns: now_ns(),
    })
}

/// The workload of the cold-backlog row.
struct ColdBacklog<'a> {
    /// Filled with `backlog_records` × 1 KiB, then dropped from the page cache and read.
    backlog_topic: &'a str,
    /// Where the fixed-rate producer sends.
    topic: &'a str,
    backlog_records: u64,
    /// Consumers splitting the backlog's partitions between them.
    readers: usize,
    rate: u64,
    /// Shortest measured window; it lasts until the readers are done if that is longer.
    secs: f64,
    warmup_secs: f64,
    /// Leave the backlog in the page cache.
    warm: bool,
}

/// Produces `count` records of `size` bytes (acks=1) spread round-robin over the partitions
/// of `topic`, so that every partition holds the same share (null keys alone would go to
/// the partitions unevenly: librdkafka's sticky partitioner).
fn fill_evenly(broker: &Broker, topic: &str, size: usize, count: u64) -> Result<()> {
    let partitions = ensure_topic(&broker.bootstrap, topic)?;
    let p = producer(&broker.bootstrap, "1", &[], 0)?;
    let value = payload(size);
    for i in 0..count {
        send_to_partition(&p, topic, (i % partitions as u64) as i32, &value, || 0)?;
    }
    drain(&p, Duration::from_secs(600))?;
    check_delivery(&p, count)
}

/// `send_blocking` to a given partition.
fn send_to_partition(
    p: &ThreadedProducer<Reports>,
    topic: &str,
    partition: i32,
    value: &[u8],
    opaque: impl Fn() -> usize,
) -> std::result::Result<(), KafkaError> {
    loop {
        let rec = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, opaque())
            .payload(value)
            .partition(partition);
        match p.send(rec) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                thread::sleep(Duration::from_micros(500));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// Produce latency at a fixed rate (100 B, acks=1, linger 0) while `readers` consumers read a
/// backlog whose pages are not in the page cache.
fn run_cold_backlog(broker: &Broker, w: &ColdBacklog<'_>) -> Result<RowResult> {
    const SIZE: usize = 100;
    const BACKLOG_SIZE: usize = 1024;
    let t_fill = Instant::now();
    fill_evenly(broker, w.backlog_topic, BACKLOG_SIZE, w.backlog_records)
        .map_err(|e| format!("filling the backlog: {e}"))?;
    eprintln!(
        "[e2e] {}: backlog of {} x 1 KiB written in {:.1} s",
        broker.name,
        w.backlog_records,
        t_fill.elapsed().as_secs_f64()
    );
    ensure_topic(&broker.bootstrap, w.topic)?;

    // The readers' partitions and watermarks are read while the pages are still warm, so
    // that the measured window starts with the first Fetch.
    let probe = consumer(&broker.bootstrap)?;
    let md = probe.fetch_metadata(Some(w.backlog_topic), Duration::from_secs(10))?;
    let mut plan: Vec<Vec<(i32, i64, i64)>> = vec![Vec::new(); w.readers];
    let mut total = 0i64;
    let partitions = md
        .topics()
        .iter()
        .find(|t| t.name() == w.backlog_topic)
        .ok_or("backlog topic missing from metadata")?
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect::<Vec<_>>();
    for (i, &p) in partitions.iter().enumerate() {
        let (lo, hi) = probe.fetch_watermarks(w.backlog_topic, p, Duration::from_secs(10))?;
        total += hi - lo;
        if hi > lo {
            plan[i % w.readers].push((p, lo, hi));
        }
    }
    drop(probe);
    if total as u64 != w.backlog_records {
        return Err(format!(
            "backlog high watermarks sum to {total}, expected {}",
            w.backlog_records
        )
        .into());
    }
    let readers = plan
        .iter()
        .map(|_| consumer(&broker.bootstrap))
        .collect::<Result<Vec<_>>>()?;

    let data_dir = broker.workdir.as_ref().map(|d| d.join("data"));
    let cold = match &data_dir {
        _ if w.warm => "WARM (--backlog-warm)",
        Some(dir) => {
            let t = Instant::now();
            let (files, bytes) = drop_topic_cache(dir, w.backlog_topic)?;
            eprintln!(
                "[e2e] {}: fsynced the backlog's {files} files ({:.0} MiB of segments) and dropped them from the page cache in {:.1} s",
                broker.name,
                bytes as f64 / (1024.0 * 1024.0),
                t.elapsed().as_secs_f64()
            );
            "cold"
        }
        None => {
            eprintln!(
                "[e2e] {}: no data dir known (--bootstrap): the backlog stays in the page cache",
                broker.name
            );
            "WARM (data dir unknown)"
        }
    };

    let warmup = (w.rate as f64 * w.warmup_secs).round() as u64;
    let min_measured = ((w.rate as f64 * w.secs).round() as u64).max(1);
    let p = producer_with(
        &broker.bootstrap,
        "1",
        &[("linger.ms", "0")],
        Reports::with_send_times(min_measured as usize),
    )?;
    let done = AtomicUsize::new(0);
    let outcomes = thread::scope(|scope| -> Result<_> {
        let mut handles = Vec::new();
        let mut readers = Some(readers);
        let mut value = payload(SIZE);
        let interval_ns = 1e9 / w.rate as f64;
        let start = now_ns();
        let mut measured_start: Option<(u64, CpuMark)> = None;
        let mut seq = 0u64;
        loop {
            let due = start + (seq as f64 * interval_ns) as u64;
            loop {
                let now = now_ns();
                if now >= due {
                    break;
                }
                thread::sleep(Duration::from_nanos(due - now));
            }
            if seq == warmup {
                measured_start = Some((now_ns(), CpuMark::now(broker)));
                for (c, parts) in readers.take().unwrap_or_default().into_iter().zip(&plan) {
                    let done = &done;
                    handles.push(scope.spawn(move || {
                        let r = read_backlog(&c, w.backlog_topic, parts);
                        done.fetch_add(1, Ordering::SeqCst);
                        r
                    }));
                }
            }
            // The window lasts at least `secs` and until every reader is done.
            if measured_start.is_some()
                && seq - warmup >= min_measured
                && done.load(Ordering::SeqCst) == handles.len()
            {
                break;
            }
            let sent = now_ns();
            value[0..8].copy_from_slice(&sent.to_be_bytes());
            let opaque = if seq >= warmup { sent as usize } else { 0 };
            send_blocking(&p, w.topic, &value, || opaque)?;
            seq += 1;
        }
        let (t0, cpu0) = measured_start.ok_or("no measured window")?;
        let end = now_ns();
        drain(&p, Duration::from_secs(60))?;
        let (broker_cpu, client_cpu) = cpu0.since(broker);
        check_delivery(&p, seq)?;
        let mut outcomes = Vec::new();
        for h in handles {
            outcomes.push(
                h.join()
                    .map_err(|_| "backlog reader panicked")?
                    .map_err(|e| format!("backlog reader: {e}"))?,
            );
        }
        Ok((seq - warmup, t0, end, broker_cpu, client_cpu, outcomes))
    })?;
    let (measured, t0, end, broker_cpu, client_cpu, outcomes) = outcomes;

    let read_records: u64 = outcomes.iter().map(|o| o.records).sum();
    let read_bytes: u64 = outcomes.iter().map(|o| o.bytes).sum();
    if read_records != w.backlog_records {
        return Err(format!(
            "readers got {read_records} of {} backlog records",
            w.backlog_records
        )
        .into());
    }
    let read_end = outcomes.iter().map(|o| o.done_ns).max().unwrap_or(end);
    let read_secs = read_end.saturating_sub(t0) as f64 / 1e9;
    let timed = std::mem::take(
        &mut *p
            .context()
            .timed
            .as_ref()
            .ok_or("no send times")?
            .lock()
            .map_err(|_| "poisoned")?,
    );
    let mut all: Vec<u64> = timed.iter().map(|&(_, l)| l).collect();
    let mut while_reading: Vec<u64> = timed
        .iter()
        .filter(|&&(sent, _)| sent <= read_end)
        .map(|&(_, l)| l)
        .collect();
    let max_ms = all.iter().max().map_or(0.0, |&l| l as f64 / 1e6);
    let produce_lat = percentiles_ms(&mut all);
    let reading_lat = percentiles_ms(&mut while_reading);
    let secs = end.saturating_sub(t0) as f64 / 1e9;
    let mut extra = vec![Extra {
        name: "produce max ms",
        value: max_ms,
        higher_is_better: false,
        precision: 2,
    }];
    if let Some((_, p99)) = reading_lat {
        extra.push(Extra {
            name: "produce p99 ms while the backlog is read",
            value: p99,
            higher_is_better: false,
            precision: 2,
        });
    }
    extra.push(Extra {
        name: "readers MB/s",
        value: read_bytes as f64 / 1e6 / read_secs.max(1e-9),
        higher_is_better: true,
        precision: 1,
    });
    extra.push(Extra {
        name: "backlog read s",
        value: read_secs,
        higher_is_better: false,
        precision: 2,
    });
    Ok(RowResult {
        records: measured,
        bytes: measured * SIZE as u64,
        secs,
        produce_lat,
        broker_cpu,
        client_cpu,
        note: format!(
            "{cold} backlog read by {} readers in {read_secs:.2} s of a {secs:.2} s window ({} of {measured} produce samples sent meanwhile)",
            outcomes.len(),
            while_reading.len()
        ),
        fixed_rate: true,
        extra,
        ..Default::default()
    })
}

/// Creates `topic` with CreateTopics (replication factor 1) and the given topic configs.
fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<()> {
    let admin: AdminClient<ConsumerLog> =
        base_config(bootstrap).create_with_context(ConsumerLog)?;
    let mut new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for &(k, v) in configs {
        new_topic = new_topic.set(k, v);
    }
    let opts = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(120)))
        .request_timeout(Some(Duration::from_secs(150)));
    // The admin client resolves its futures from its own thread: any executor will do.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    for result in runtime.block_on(admin.create_topics([&new_topic], &opts))? {
        if let Err((name, code)) = result {
            return Err(format!("CreateTopics {name}: {code}").into());
        }
    }
    Ok(())
}

/// `producers` producers at once, each as fast as librdkafka takes records, sending 100 B
/// records round-robin over every partition of a topic created with `partitions`
/// partitions and `flush.messages=1` (Kafka fsyncs every append; Skiff accepts the config
/// and syncs as its `log.fsync.policy` says).
fn run_wide(
    broker: &Broker,
    topic: &str,
    partitions: i32,
    producers: usize,
    total: u64,
) -> Result<RowResult> {
    const SIZE: usize = 100;
    let t_create = Instant::now();
    create_topic(
        &broker.bootstrap,
        topic,
        partitions,
        &[("flush.messages", "1")],
    )?;
    let got = ensure_topic(&broker.bootstrap, topic)?;
    if got != partitions {
        return Err(format!("{topic} has {got} partitions, {partitions} were asked for").into());
    }
    eprintln!(
        "[e2e] {}: {topic} created with {partitions} partitions in {:.1} s",
        broker.name,
        t_create.elapsed().as_secs_f64()
    );
    let counts: Vec<u64> = (0..producers as u64)
        .map(|k| total / producers as u64 + u64::from(k < total % producers as u64))
        .collect();
    let ps = counts
        .iter()
        .map(|&n| producer(&broker.bootstrap, "all", &[], n as usize))
        .collect::<Result<Vec<_>>>()?;
    let value = payload(SIZE);
    let cpu0 = CpuMark::now(broker);
    let t0 = Instant::now();
    thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = ps
            .iter()
            .zip(&counts)
            .enumerate()
            .map(|(k, (p, &n))| {
                let value = &value;
                scope.spawn(move || -> std::result::Result<(), String> {
                    // Each producer starts at its own offset into the partitions.
                    let first = (k as u64 * partitions as u64 / producers as u64) as i64;
                    for i in 0..n {
                        let part = ((first + i as i64) % i64::from(partitions)) as i32;
                        send_to_partition(p, topic, part, value, || now_ns() as usize)
                            .map_err(|e| e.to_string())?;
                    }
                    drain(p, Duration::from_secs(600)).map_err(|e| e.to_string())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "producer thread panicked")??;
        }
        Ok(())
    })?;
    let secs = t0.elapsed().as_secs_f64();
    let (broker_cpu, client_cpu) = cpu0.since(broker);
    let mut lat = Vec::with_capacity(total as usize);
    for (p, &n) in ps.iter().zip(&counts) {
        check_delivery(p, n)?;
        lat.append(&mut *p.context().latencies.lock().map_err(|_| "poisoned")?);
    }
    Ok(RowResult {
        records: total,
        bytes: total * SIZE as u64,
        secs,
        produce_lat: percentiles_ms(&mut lat),
        broker_cpu,
        client_cpu,
        ..Default::default()
    })
}

/// The quota of the quota-1mbps row, bytes a second.
const QUOTA_BYTES_PER_SEC: f64 = 1_048_576.0;

/// One request and its answer on a new connection (kafka-protocol's types).
fn wire_call<Req, Resp>(
    bootstrap: &str,
    key: kafka_protocol::messages::ApiKey,
    v: i16,
    req: &Req,
) -> Result<Resp>
where
    Req: kafka_protocol::protocol::Encodable,
    Resp: kafka_protocol::protocol::Decodable,
{
    use kafka_protocol::messages::{RequestHeader, ResponseHeader};
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
    let mut stream = TcpStream::connect(bootstrap)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(v)
        .with_correlation_id(1)
        .with_client_id(Some(StrBytes::from_static_str("skiff-e2e-admin")));
    let mut buf = bytes::BytesMut::new();
    buf.extend_from_slice(&[0; 4]);
    header.encode(&mut buf, key.request_header_version(v))?;
    req.encode(&mut buf, v)?;
    let size = i32::try_from(buf.len() - 4)?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&buf)?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size)?;
    let mut body = vec![0u8; usize::try_from(i32::from_be_bytes(size))?];
    stream.read_exact(&mut body)?;
    let mut body = bytes::Bytes::from(body);
    ResponseHeader::decode(&mut body, key.response_header_version(v))?;
    Ok(Resp::decode(&mut body, v)?)
}

/// Sets `producer_byte_rate` of `client_id` with AlterClientQuotas and waits until
/// DescribeClientQuotas shows it (Kafka applies it through its metadata log after
/// answering).
fn set_producer_quota(bootstrap: &str, client_id: &str, rate: f64) -> Result<()> {
    use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
    use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
    use kafka_protocol::messages::{
        AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey, DescribeClientQuotasRequest,
        DescribeClientQuotasResponse,
    };
    use kafka_protocol::protocol::StrBytes;
    let name = StrBytes::from_string(client_id.to_string());
    let alter = AlterClientQuotasRequest::default().with_entries(vec![EntryData::default()
        .with_entity(vec![EntityData::default()
            .with_entity_type(StrBytes::from_static_str("client-id"))
            .with_entity_name(Some(name.clone()))])
        .with_ops(vec![OpData::default()
            .with_key(StrBytes::from_static_str("producer_byte_rate"))
            .with_value(rate)])]);
    let r: AlterClientQuotasResponse = wire_call(bootstrap, ApiKey::AlterClientQuotas, 1, &alter)?;
    if let Some(e) = r.entries.iter().find(|e| e.error_code != 0) {
        return Err(format!(
            "AlterClientQuotas: error {} {:?}",
            e.error_code, e.error_message
        )
        .into());
    }
    let describe = DescribeClientQuotasRequest::default()
        .with_components(vec![ComponentData::default()
            .with_entity_type(StrBytes::from_static_str("client-id"))
            .with_match_type(0)
            .with_match(Some(name))])
        .with_strict(true);
    let t0 = Instant::now();
    loop {
        let r: DescribeClientQuotasResponse =
            wire_call(bootstrap, ApiKey::DescribeClientQuotas, 1, &describe)?;
        let set = r
            .entries
            .iter()
            .flatten()
            .flat_map(|e| &e.values)
            .any(|v| v.key.as_str() == "producer_byte_rate" && v.value == rate);
        if set {
            return Ok(());
        }
        if t0.elapsed() > Duration::from_secs(30) {
            return Err("the quota did not become visible".into());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// The rate (records a second) a throttled producer is held to, over whole throttle cycles.
/// A quota's rate counts at least `quota.window.num - 1` windows, so once throttled a
/// producer is let through in a burst of about ten windows' worth each time the samples of
/// the previous burst expire (every ~12 s with Kafka's defaults, on Kafka and on Skiff
/// alike), with throttled requests between: a measuring window not aligned to these cycles
/// counts one burst more or less, a swing of ±30 % over 30 s. Bursts are where the
/// acknowledged count (`samples`: seconds since the start, count) rises by at least
/// `burst` records within one second; the rate is taken from the second burst (the first
/// is the free start) to the last. `None` with fewer than three bursts.
fn cycle_rate(samples: &[(f64, u64)], burst: u64) -> Option<f64> {
    let mut starts: Vec<(f64, u64)> = Vec::new();
    let mut j = 0;
    for (i, &(t, count)) in samples.iter().enumerate() {
        j = j.max(i);
        while samples.get(j + 1).is_some_and(|&(tj, _)| tj - t < 1.0) {
            j += 1;
        }
        let rise = samples.get(j).map_or(0, |&(_, c)| c.saturating_sub(count));
        if rise >= burst && starts.last().is_none_or(|&(ts, _)| t - ts > 3.0) {
            starts.push((t, count));
        }
    }
    let (&(t0, c0), &(t1, c1)) = (starts.get(1)?, starts.get(2..)?.last()?);
    Some((c1 - c0) as f64 / (t1 - t0))
}

/// quota-1mbps: a producer whose client id has a 1 MiB/s `producer_byte_rate` sends 1 KiB
/// records as fast as librdkafka takes them (its local queue held to 2 MiB) for `secs`.
/// Reported: the rate over the whole run (it includes the burst a quota allows at first:
/// Kafka measures over at least ten windows) and, as an extra, the rate acknowledged over
/// whole throttle cycles ([`cycle_rate`]; the second half of the run if the run is too
/// short for three cycles), in units of the quota.
fn run_quota(broker: &Broker, topic: &str, client_id: &str, secs: f64) -> Result<RowResult> {
    const SIZE: usize = 1024;
    ensure_topic(&broker.bootstrap, topic)?;
    set_producer_quota(&broker.bootstrap, client_id, QUOTA_BYTES_PER_SEC)?;
    let p = producer(
        &broker.bootstrap,
        "1",
        &[
            ("client.id", client_id),
            ("compression.type", "none"),
            // A small local queue, so the producer is held back by the broker's throttling
            // rather than queueing minutes of records in librdkafka.
            ("queue.buffering.max.kbytes", "2048"),
        ],
        (secs * QUOTA_BYTES_PER_SEC / SIZE as f64 * 4.0) as usize,
    )?;
    let value = payload(SIZE);
    let cpu0 = CpuMark::now(broker);
    let t0 = Instant::now();
    let run = Duration::from_secs_f64(secs);
    let mut half: Option<(Instant, u64)> = None;
    let mut sent = 0u64;
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (produced, samples) = thread::scope(|scope| {
        // The acknowledged count every 10 ms, for the throttle cycles.
        let sampler = scope.spawn(|| {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.push((
                    t0.elapsed().as_secs_f64(),
                    p.context().delivered.load(Ordering::Relaxed),
                ));
                thread::sleep(Duration::from_millis(10));
            }
            samples
        });
        let produced = (|| -> Result<()> {
            while t0.elapsed() < run {
                if half.is_none() && t0.elapsed() >= run / 2 {
                    half = Some((
                        Instant::now(),
                        p.context().delivered.load(Ordering::Relaxed),
                    ));
                }
                send_blocking(&p, topic, &value, || now_ns() as usize)?;
                sent += 1;
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        (produced, sampler.join().unwrap_or_default())
    });
    produced?;
    let end = (
        Instant::now(),
        p.context().delivered.load(Ordering::Relaxed),
    );
    drain(&p, Duration::from_secs(300))?;
    let total_secs = t0.elapsed().as_secs_f64();
    let (broker_cpu, client_cpu) = cpu0.since(broker);
    check_delivery(&p, sent)?;
    let burst = (4.0 * QUOTA_BYTES_PER_SEC / SIZE as f64) as u64;
    let held = match cycle_rate(&samples, burst) {
        Some(records_per_sec) => records_per_sec * SIZE as f64,
        None => {
            let (h_at, h_count) = half.ok_or("the run ended before its second half")?;
            (end.1 - h_count) as f64 * SIZE as f64 / end.0.duration_since(h_at).as_secs_f64()
        }
    };
    Ok(RowResult {
        records: sent,
        bytes: sent * SIZE as u64,
        secs: total_secs,
        broker_cpu,
        client_cpu,
        note: format!("quota {QUOTA_BYTES_PER_SEC} B/s"),
        extra: vec![Extra {
            name: "held MiB/s (whole throttle cycles; quota 1)",
            value: held / QUOTA_BYTES_PER_SEC,
            higher_is_better: false,
            precision: 3,
        }],
        ..Default::default()
    })
}

/// A consumer written against the wire (kafka-protocol's Fetch v12), because librdkafka
/// (2.12) never uses fetch sessions: every Fetch it sends is a full one with epoch -1.
/// With `sessions` it does what the Java consumer does (KIP-227): a full fetch with epoch 0,
/// then incremental fetches naming only the partitions whose fetch offset moved.
struct WireFetcher {
    stream: TcpStream,
    correlation: i32,
    /// Bytes of Fetch requests sent (size prefixes included).
    request_bytes: u64,
    /// Bytes of Fetch responses received (size prefixes included).
    response_bytes: u64,
    fetches: u64,
}

impl WireFetcher {
    const VERSION: i16 = 12;

    fn connect(bootstrap: &str) -> Result<WireFetcher> {
        let stream = TcpStream::connect(bootstrap)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(WireFetcher {
            stream,
            correlation: 0,
            request_bytes: 0,
            response_bytes: 0,
            fetches: 0,
        })
    }

    fn fetch(
        &mut self,
        req: &kafka_protocol::messages::FetchRequest,
    ) -> Result<kafka_protocol::messages::FetchResponse> {
        use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
        use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
        let v = Self::VERSION;
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(ApiKey::Fetch as i16)
            .with_request_api_version(v)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("e2e-fetch-sessions")));
        let mut buf = bytes::BytesMut::new();
        buf.extend_from_slice(&[0; 4]);
        header.encode(&mut buf, ApiKey::Fetch.request_header_version(v))?;
        req.encode(&mut buf, v)?;
        let size = i32::try_from(buf.len() - 4)?;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&buf)?;
        self.request_bytes += buf.len() as u64;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let size = usize::try_from(i32::from_be_bytes(size))?;
        let mut body = vec![0u8; size];
        self.stream.read_exact(&mut body)?;
        self.response_bytes += 4 + size as u64;
        self.fetches += 1;
        let mut body = bytes::Bytes::from(body);
        let h = ResponseHeader::decode(&mut body, ApiKey::Fetch.response_header_version(v))?;
        if h.correlation_id != self.correlation {
            return Err("Fetch answered out of order".into());
        }
        Ok(kafka_protocol::messages::FetchResponse::decode(
            &mut body, v,
        )?)
    }
}

/// Whole v2 batches in `records` from `offset` on: (records, next offset).
fn count_batches(records: &[u8], mut offset: i64) -> (u64, i64) {
    let mut n = 0;
    let mut rest = records;
    while rest.len() >= 27 {
        let base = i64::from_be_bytes(rest[..8].try_into().unwrap_or([0; 8]));
        let len = i32::from_be_bytes(rest[8..12].try_into().unwrap_or([0; 4]));
        let Some(total) = usize::try_from(len).ok().map(|l| l + 12) else {
            break;
        };
        if total > rest.len() {
            break; // a partial last batch
        }
        let delta = i32::from_be_bytes(rest[23..27].try_into().unwrap_or([0; 4]));
        let next = base + i64::from(delta) + 1;
        if next > offset {
            n += u64::try_from(next - offset.max(base)).unwrap_or(0);
            offset = next;
        }
        rest = &rest[total..];
    }
    (n, offset)
}

/// What one fetching phase saw.
struct FetchPhase {
    records: u64,
    request_bytes: u64,
    response_bytes: u64,
    fetches: u64,
}

/// Fetches every partition of `topic` from `offsets` (kept up to date) until `stop` is set
/// and `expected` records (set by then) have arrived.
fn fetch_phase(
    bootstrap: &str,
    topic: &str,
    offsets: &mut [i64],
    sessions: bool,
    stop: &std::sync::atomic::AtomicBool,
    expected: &AtomicU64,
) -> Result<FetchPhase> {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{FetchRequest, TopicName};
    use kafka_protocol::protocol::StrBytes;
    let mut f = WireFetcher::connect(bootstrap)?;
    let name = TopicName(StrBytes::from_string(topic.to_string()));
    let (mut session_id, mut epoch) = (0, if sessions { 0 } else { -1 });
    // The fetch offset the session holds for each partition (-1: not in it).
    let mut told = vec![-1i64; offsets.len()];
    let mut records = 0;
    let deadline_after_stop = Duration::from_secs(120);
    let mut stopped_at = None;
    loop {
        if stop.load(Ordering::Acquire) {
            let at = *stopped_at.get_or_insert_with(Instant::now);
            if records >= expected.load(Ordering::Acquire) {
                break;
            }
            if at.elapsed() > deadline_after_stop {
                return Err(format!(
                    "{records} of {} records fetched",
                    expected.load(Ordering::Acquire)
                )
                .into());
            }
        }
        let full = epoch <= 0;
        let partitions: Vec<FetchPartition> = offsets
            .iter()
            .enumerate()
            .filter(|&(p, &o)| full || told[p] != o)
            .map(|(p, &o)| {
                FetchPartition::default()
                    .with_partition(p as i32)
                    .with_fetch_offset(o)
                    .with_current_leader_epoch(-1)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(1 << 20)
            })
            .collect();
        let mut req = FetchRequest::default()
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_bytes(50 << 20)
            .with_session_id(session_id)
            .with_session_epoch(epoch);
        if !partitions.is_empty() {
            req.topics = vec![FetchTopic::default()
                .with_topic(name.clone())
                .with_partitions(partitions)];
        }
        let r = f.fetch(&req)?;
        if r.error_code != 0 {
            return Err(format!(
                "Fetch error {} (session {session_id}, epoch {epoch})",
                r.error_code
            )
            .into());
        }
        if sessions {
            told.copy_from_slice(offsets);
            if epoch == 0 {
                session_id = r.session_id;
                epoch = if session_id == 0 { 0 } else { 1 };
            } else {
                epoch = if epoch == i32::MAX { 1 } else { epoch + 1 };
            }
        }
        let mut transient = false;
        for t in &r.responses {
            for p in &t.partitions {
                // A fresh topic on Kafka answers NOT_LEADER_OR_FOLLOWER (or its kin) for a
                // moment: fetch again (the session resends the partition).
                if matches!(p.error_code, 3 | 5 | 6) {
                    transient = true;
                    continue;
                }
                if p.error_code != 0 {
                    return Err(
                        format!("partition {} error {}", p.partition_index, p.error_code).into(),
                    );
                }
                let Some(slot) = usize::try_from(p.partition_index)
                    .ok()
                    .and_then(|i| offsets.get_mut(i))
                else {
                    return Err(format!("unknown partition {}", p.partition_index).into());
                };
                if let Some(bytes) = &p.records {
                    let (n, next) = count_batches(bytes, *slot);
                    records += n;
                    *slot = next;
                }
            }
        }
        if transient {
            thread::sleep(Duration::from_millis(50));
        }
    }
    if sessions && session_id != 0 {
        // Close the session, as a closing Java consumer does.
        let close = FetchRequest::default()
            .with_max_wait_ms(0)
            .with_session_id(session_id)
            .with_session_epoch(-1);
        f.fetch(&close)?;
    }
    Ok(FetchPhase {
        records,
        request_bytes: f.request_bytes,
        response_bytes: f.response_bytes,
        fetches: f.fetches,
    })
}

/// One consumer of every partition of a topic of `partitions` partitions, `busy` of which
/// receive `rate` records/s (100 B, acks=1) for `secs` seconds: first with full fetches
/// (what librdkafka sends), then with a fetch session, each while the same producer load
/// runs. Reports broker CPU and the consumer's Fetch request and response bytes.
fn run_fetch_sessions(
    broker: &Broker,
    topic: &str,
    partitions: i32,
    busy: i32,
    rate: u64,
    secs: f64,
) -> Result<Vec<RowResult>> {
    const SIZE: usize = 100;
    create_topic(&broker.bootstrap, topic, partitions, &[])?;
    let got = ensure_topic(&broker.bootstrap, topic)?;
    if got != partitions {
        return Err(format!("{topic} has {got} partitions, {partitions} were asked for").into());
    }
    let busy: Vec<i32> = (0..busy.min(partitions))
        .map(|i| (i64::from(i) * i64::from(partitions) / i64::from(busy.min(partitions))) as i32)
        .collect();
    let value = payload(SIZE);
    let mut offsets = vec![0i64; partitions as usize];
    let mut rows = Vec::new();
    for sessions in [false, true] {
        let count = ((rate as f64 * secs).round() as u64).max(1);
        let p = producer(&broker.bootstrap, "1", &[], count as usize)?;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let expected = AtomicU64::new(u64::MAX);
        let cpu0 = CpuMark::now(broker);
        let t0 = Instant::now();
        let phase = thread::scope(|scope| -> Result<FetchPhase> {
            let fetcher = scope.spawn(|| {
                fetch_phase(
                    &broker.bootstrap,
                    topic,
                    &mut offsets,
                    sessions,
                    &stop,
                    &expected,
                )
                .map_err(|e| e.to_string())
            });
            let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
            let mut sent = 0;
            let produced = (|| -> Result<()> {
                for i in 0..count {
                    let due = t0 + interval.mul_f64(i as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        thread::sleep(wait);
                    }
                    let part = busy[(i % busy.len() as u64) as usize];
                    send_to_partition(&p, topic, part, &value, || now_ns() as usize)?;
                    sent += 1;
                }
                drain(&p, Duration::from_secs(120))?;
                check_delivery(&p, count)
            })();
            expected.store(sent, Ordering::Release);
            stop.store(true, Ordering::Release);
            let phase = fetcher.join().map_err(|_| "fetcher panicked")??;
            produced?;
            Ok(phase)
        })?;
        let secs = t0.elapsed().as_secs_f64();
        let (broker_cpu, client_cpu) = cpu0.since(broker);
        let (id, how) = if sessions {
            ("fetch-1000-sessions", "fetch session")
        } else {
            ("fetch-1000-sessionless", "full fetches")
        };
        let mb = |b: u64| b as f64 / 1e6;
        rows.push(RowResult {
            id: id.into(),
            label: format!(
                "consume {partitions} partitions ({} busy), {how}",
                busy.len()
            ),
            records: phase.records,
            bytes: phase.records * SIZE as u64,
            secs,
            broker_cpu,
            client_cpu,
            fixed_rate: true,
            note: format!("{} fetches", phase.fetches),
            extra: vec![
                Extra {
                    name: "fetch request MB",
                    value: mb(phase.request_bytes),
                    higher_is_better: false,
                    precision: 2,
                },
                Extra {
                    name: "fetch response MB",
                    value: mb(phase.response_bytes),
                    higher_is_better: false,
                    precision: 2,
                },
                Extra {
                    name: "fetches",
                    value: phase.fetches as f64,
                    higher_is_better: false,
                    precision: 0,
                },
                // Per fetch: the totals depend on how often each broker answers.
                Extra {
                    name: "fetch request B/fetch",
                    value: phase.request_bytes as f64 / phase.fetches.max(1) as f64,
                    higher_is_better: false,
                    precision: 0,
                },
                Extra {
                    name: "fetch response B/fetch",
                    value: phase.response_bytes as f64 / phase.fetches.max(1) as f64,
                    higher_is_better: false,
                    precision: 0,
                },
            ],
            ..Default::default()
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// A whole run against one broker

#[derive(Clone, Debug, Default)]
struct TargetResult {
    name: String,
    rows: Vec<RowResult>,
    start_ms: Option<f64>,
    /// Every start measured (ms), the first being the broker the rows ran against.
    start_samples: Vec<f64>,
    idle_rss_mb: Option<f64>,
    peak_rss_mb: Option<f64>,
    end_rss_mb: Option<f64>,
    shutdown_s: Option<f64>,
    partitions: Option<i32>,
}

struct Sizes {
    scale: f64,
    warmup: u64,
    n100: u64,
    n1k: u64,
    latency_secs: f64,
    /// 1 KiB records in the cold backlog.
    backlog_records: u64,
    /// 100 B records of all producers together in the wide-topic row.
    wide_records: u64,
}

fn sizes(args: &Args) -> Sizes {
    let env_f = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok());
    let env_u = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let scale = args.scale.or_else(|| env_f("E2E_SCALE")).unwrap_or(1.0);
    let n100 = args
        .records_100
        .or_else(|| env_u("E2E_RECORDS_100"))
        .unwrap_or(1_000_000);
    let n1k = args
        .records_1k
        .or_else(|| env_u("E2E_RECORDS_1K"))
        .unwrap_or(200_000);
    Sizes {
        scale,
        warmup: (args.warmup_records as f64 * scale).round() as u64,
        n100: ((n100 as f64 * scale).round() as u64).max(1),
        n1k: ((n1k as f64 * scale).round() as u64).max(1),
        latency_secs: (args.latency_secs * scale).max(1.0),
        backlog_records: ((args.backlog_mib as f64 * 1024.0 * scale).round() as u64).max(1),
        wide_records: ((args.wide_records as f64 * scale).round() as u64)
            .max(args.wide_producers.max(1) as u64),
    }
}

const ROW_IDS: [&str; 12] = [
    "produce-100-acks1",
    "produce-100-acksall",
    "produce-1k-acks1",
    "produce-1k-acksall",
    "consume-100",
    "consume-1k",
    "e2e-acks1",
    "e2e-acksall",
    COLD_BACKLOG_ROW,
    WIDE_ROW,
    FETCH_ROW,
    QUOTA_ROW,
];

/// Rows that run only when `--rows` names them: too long for the default run (Kafka
/// fsyncing every append to 1000 partitions takes minutes at full size; the quota row is a
/// minute of producing at 1 MiB/s).
const OPT_IN_ROWS: [&str; 3] = [WIDE_ROW, FETCH_ROW, QUOTA_ROW];
const COLD_BACKLOG_ROW: &str = "produce-p99-cold-backlog";
const WIDE_ROW: &str = "partitions-1000-acksall";
/// One consumer of 1,000 partitions (10 busy) with and without fetch sessions: two result
/// rows, `fetch-1000-sessionless` and `fetch-1000-sessions`.
const FETCH_ROW: &str = "fetch-sessions-1000";
/// A producer under a 1 MiB/s `producer_byte_rate` quota, producing as fast as it can.
const QUOTA_ROW: &str = "quota-1mbps";

fn human_count(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(100_000) {
        format!("{}M", n as f64 / 1e6)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    }
}

fn run_target(args: &Args, broker: &mut Broker) -> Result<TargetResult> {
    let s = sizes(args);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let mut out = TargetResult {
        name: broker.name.clone(),
        start_ms: broker.start_ms,
        ..Default::default()
    };
    if broker.pid.is_some() {
        thread::sleep(Duration::from_secs_f64(args.idle_secs));
        out.idle_rss_mb = broker.status_kb("VmRSS").map(|kb| kb as f64 / 1024.0);
    }
    if s.warmup > 0 {
        let t = format!("e2e-warmup-{run_id}");
        eprintln!(
            "[e2e] {}: warm-up ({} x 100 B produced and consumed, {} s of latency traffic; not reported)",
            broker.name, s.warmup, args.latency_warmup_secs
        );
        run_produce(broker, &t, 100, s.warmup, "1", &args.compression)
            .and_then(|_| run_consume(broker, &t, s.warmup))
            .and_then(|_| {
                run_latency(
                    broker,
                    &format!("e2e-warmup-latency-{run_id}"),
                    "1",
                    args.latency_rate,
                    args.latency_warmup_secs,
                    0.0,
                )
            })
            .map_err(|e| format!("warm-up: {e}"))?;
    }
    let wanted = |id: &str| {
        args.rows.iter().any(|r| r == id) || (args.rows.is_empty() && !OPT_IN_ROWS.contains(&id))
    };
    let topic = |id: &str| format!("e2e-{id}-{run_id}");
    let mut produced: Vec<(String, u64)> = Vec::new();
    let specs: [(&str, usize, u64, &str); 4] = [
        ("produce-100-acks1", 100, s.n100, "1"),
        ("produce-100-acksall", 100, s.n100, "all"),
        ("produce-1k-acks1", 1024, s.n1k, "1"),
        ("produce-1k-acksall", 1024, s.n1k, "all"),
    ];
    let consume_src = [
        ("consume-100", "produce-100-acks1"),
        ("consume-1k", "produce-1k-acks1"),
    ];
    for (id, size, count, acks) in specs {
        let needed_by_consume = consume_src.iter().any(|(c, src)| *src == id && wanted(c));
        if !wanted(id) && !needed_by_consume {
            continue;
        }
        let t = topic(id);
        eprintln!(
            "[e2e] {}: {id} ({count} x {size} B, acks={acks})",
            broker.name
        );
        let mut r = run_produce(broker, &t, size, count, acks, &args.compression)
            .map_err(|e| format!("{id}: {e}"))?;
        produced.push((id.to_string(), count));
        if out.partitions.is_none() {
            out.partitions = ensure_topic(&broker.bootstrap, &t).ok();
        }
        if wanted(id) {
            r.id = id.into();
            let unit = if size == 1024 {
                "1 KiB".to_string()
            } else {
                format!("{size} B")
            };
            r.label = format!("produce {} x {unit} acks={acks}", human_count(count));
            print_row(&broker.name, &r);
            out.rows.push(r);
        }
    }
    for (id, src) in consume_src {
        if !wanted(id) {
            continue;
        }
        let count = produced
            .iter()
            .find(|(p, _)| p == src)
            .map(|(_, c)| *c)
            .ok_or("consume source missing")?;
        eprintln!("[e2e] {}: {id} ({count} records)", broker.name);
        let mut r = run_consume(broker, &topic(src), count).map_err(|e| format!("{id}: {e}"))?;
        r.id = id.into();
        let unit = if src.contains("1k") { "1 KiB" } else { "100 B" };
        r.label = format!("consume {} x {unit}", human_count(count));
        print_row(&broker.name, &r);
        out.rows.push(r);
    }
    for (id, acks) in [("e2e-acks1", "1"), ("e2e-acksall", "all")] {
        if !wanted(id) {
            continue;
        }
        eprintln!(
            "[e2e] {}: {id} ({} records/s for {:.0} s + {} s warm-up)",
            broker.name, args.latency_rate, s.latency_secs, args.latency_warmup_secs
        );
        let mut r = run_latency(
            broker,
            &topic(id),
            acks,
            args.latency_rate,
            s.latency_secs,
            args.latency_warmup_secs,
        )
        .map_err(|e| format!("{id}: {e}"))?;
        r.id = id.into();
        r.label = format!(
            "end-to-end {}/s x 100 B acks={acks}",
            human_count(args.latency_rate)
        );
        print_row(&broker.name, &r);
        out.rows.push(r);
    }
    if wanted(COLD_BACKLOG_ROW) {
        let id = COLD_BACKLOG_ROW;
        let backlog_mib = s.backlog_records as f64 / 1024.0;
        eprintln!(
            "[e2e] {}: {id} ({backlog_mib:.0} MiB backlog of 1 KiB records, page cache dropped; {} readers; {} records/s x 100 B acks=1 for {:.0} s + {} s warm-up)",
            broker.name, args.backlog_readers, args.latency_rate, s.latency_secs, args.latency_warmup_secs
        );
        let mut r = run_cold_backlog(
            broker,
            &ColdBacklog {
                backlog_topic: &format!("e2e-{id}-backlog-{run_id}"),
                topic: &topic(id),
                backlog_records: s.backlog_records,
                readers: args.backlog_readers.max(1),
                rate: args.latency_rate,
                secs: s.latency_secs,
                warmup_secs: args.latency_warmup_secs,
                warm: args.backlog_warm,
            },
        )
        .map_err(|e| format!("{id}: {e}"))?;
        if out.partitions.is_none() {
            out.partitions = ensure_topic(&broker.bootstrap, &topic(id)).ok();
        }
        r.id = id.into();
        r.label = format!(
            "produce {}/s x 100 B acks=1, {} readers of a cold {} backlog",
            human_count(args.latency_rate),
            args.backlog_readers.max(1),
            if s.backlog_records.is_multiple_of(1024 * 1024) {
                format!("{} GiB", s.backlog_records / (1024 * 1024))
            } else {
                format!("{backlog_mib:.0} MiB")
            }
        );
        print_row(&broker.name, &r);
        out.rows.push(r);
    }
    if wanted(WIDE_ROW) {
        let id = WIDE_ROW;
        let producers = args.wide_producers.max(1);
        eprintln!(
            "[e2e] {}: {id} ({} x 100 B acks=all from {producers} producers over {} partitions, flush.messages=1)",
            broker.name, s.wide_records, args.wide_partitions
        );
        let mut r = run_wide(
            broker,
            &topic(id),
            args.wide_partitions,
            producers,
            s.wide_records,
        )
        .map_err(|e| format!("{id}: {e}"))?;
        r.id = id.into();
        r.label = format!(
            "produce {} x 100 B acks=all, {} partitions, {producers} producers",
            human_count(s.wide_records),
            args.wide_partitions
        );
        print_row(&broker.name, &r);
        out.rows.push(r);
    }
    if wanted(FETCH_ROW) {
        let id = FETCH_ROW;
        let (parts, busy) = (args.fetch_partitions.max(1), args.fetch_busy.max(1));
        eprintln!(
            "[e2e] {}: {id} (one consumer of {parts} partitions, {busy} receiving {} records/s x 100 B for {:.0} s, without then with fetch sessions)",
            broker.name, args.latency_rate, s.latency_secs
        );
        let rows = run_fetch_sessions(
            broker,
            &topic(id),
            parts,
            busy,
            args.latency_rate,
            s.latency_secs,
        )
        .map_err(|e| format!("{id}: {e}"))?;
        for r in rows {
            print_row(&broker.name, &r);
            out.rows.push(r);
        }
    }
    if wanted(QUOTA_ROW) {
        let id = QUOTA_ROW;
        let secs = (args.quota_secs * s.scale).max(4.0);
        eprintln!(
            "[e2e] {}: {id} (1 KiB records as fast as librdkafka takes them for {secs:.0} s under producer_byte_rate={QUOTA_BYTES_PER_SEC})",
            broker.name
        );
        let mut r = run_quota(broker, &topic(id), &format!("e2e-quota-{run_id}"), secs)
            .map_err(|e| format!("{id}: {e}"))?;
        r.id = id.into();
        r.label = format!("produce 1 KiB under a 1 MiB/s producer_byte_rate for {secs:.0} s");
        print_row(&broker.name, &r);
        out.rows.push(r);
    }
    if out.partitions.is_none() && s.warmup > 0 {
        // Only rows with topics of their own ran: the warm-up topic has the default count.
        out.partitions = ensure_topic(&broker.bootstrap, &format!("e2e-warmup-{run_id}")).ok();
    }
    out.peak_rss_mb = broker.status_kb("VmHWM").map(|kb| kb as f64 / 1024.0);
    out.end_rss_mb = broker.status_kb("VmRSS").map(|kb| kb as f64 / 1024.0);
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Output

fn ms(v: Option<(f64, f64)>, which: usize) -> String {
    match v {
        Some((a, b)) => format!("{:.2}", if which == 0 { a } else { b }),
        None => "-".into(),
    }
}

fn print_row(broker: &str, r: &RowResult) {
    eprintln!(
        "[e2e] {broker}: {:<34} {:>10.0} rec/s {:>8.1} MB/s  produce p50/p99 {}/{} ms  e2e p50/p99 {}/{} ms  CPU broker {} s client {} s {}",
        r.label,
        r.rate(),
        r.mbps(),
        ms(r.produce_lat, 0),
        ms(r.produce_lat, 1),
        ms(r.e2e_lat, 0),
        ms(r.e2e_lat, 1),
        opt(r.broker_cpu, 1),
        opt(r.client_cpu, 1),
        r.note
    );
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |x| format!("{x:.prec$}"))
}

fn target_table(t: &TargetResult) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### {} ({} partitions per topic)\n",
        t.name,
        t.partitions.map_or("?".into(), |p| p.to_string())
    );
    let _ = writeln!(
        s,
        "| row | records | records/s | MB/s | produce p50 ms | produce p99 ms | e2e p50 ms | e2e p99 ms | broker CPU s | client CPU s |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &t.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | {:.1} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.records,
            r.rate(),
            r.mbps(),
            ms(r.produce_lat, 0),
            ms(r.produce_lat, 1),
            ms(r.e2e_lat, 0),
            ms(r.e2e_lat, 1),
            opt(r.broker_cpu, 2),
            opt(r.client_cpu, 2)
        );
    }
    if t.rows.iter().any(|r| !r.extra.is_empty()) {
        let _ = writeln!(s, "\n| row | metric | value |\n|---|---|---:|");
        for r in &t.rows {
            for e in &r.extra {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.prec$} |",
                    r.label,
                    e.name,
                    e.value,
                    prec = e.precision
                );
            }
        }
    }
    let starts: Vec<String> = t.start_samples.iter().map(|v| format!("{v:.0}")).collect();
    let _ = writeln!(
        s,
        "\nstart → first Metadata answer: {} ms (median of [{}]); idle RSS: {} MiB; peak RSS (VmHWM): {} MiB; RSS at the end: {} MiB; shutdown: {} s",
        opt(t.start_ms, 0),
        starts.join(", "),
        opt(t.idle_rss_mb, 1),
        opt(t.peak_rss_mb, 1),
        opt(t.end_rss_mb, 1),
        opt(t.shutdown_s, 1)
    );
    s
}

/// One comparison line: metric values for Kafka and Skiff, and which is better.
fn cmp_line(
    s: &mut String,
    row: &str,
    metric: &str,
    k: Option<f64>,
    sk: Option<f64>,
    higher_better: bool,
    prec: usize,
) {
    let ratio = match (k, sk) {
        (Some(k), Some(sk)) if k > 0.0 => Some(sk / k),
        _ => None,
    };
    let better = match ratio {
        Some(r) if (r - 1.0).abs() < 0.005 => "even",
        Some(r) if (r > 1.0) == higher_better => "Skiff",
        Some(_) => "Kafka",
        None => "-",
    };
    let _ = writeln!(
        s,
        "| {row} | {metric} ({}) | {} | {} | {} | {better} |",
        if higher_better {
            "higher is better"
        } else {
            "lower is better"
        },
        opt(k, prec),
        opt(sk, prec),
        ratio.map_or("-".into(), |r| if r < 0.1 {
            format!("{r:.4}")
        } else {
            format!("{r:.2}")
        }),
    );
}

fn comparison_table(kafka: &TargetResult, skiff: &TargetResult) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### Skiff vs {} (ratio = Skiff / Kafka)\n", kafka.name);
    let _ = writeln!(s, "| row | metric | Kafka | Skiff | Skiff/Kafka | better |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---|");
    for kr in &kafka.rows {
        let Some(sr) = skiff.rows.iter().find(|r| r.id == kr.id) else {
            continue;
        };
        let row = kr.label.as_str();
        if kr.e2e_lat.is_none() && !kr.fixed_rate {
            cmp_line(
                &mut s,
                row,
                "records/s",
                Some(kr.rate()),
                Some(sr.rate()),
                true,
                0,
            );
            cmp_line(
                &mut s,
                row,
                "MB/s",
                Some(kr.mbps()),
                Some(sr.mbps()),
                true,
                1,
            );
        } else {
            cmp_line(
                &mut s,
                row,
                "e2e p50 ms",
                kr.e2e_lat.map(|l| l.0),
                sr.e2e_lat.map(|l| l.0),
                false,
                2,
            );
            cmp_line(
                &mut s,
                row,
                "e2e p99 ms",
                kr.e2e_lat.map(|l| l.1),
                sr.e2e_lat.map(|l| l.1),
                false,
                2,
            );
        }
        if kr.produce_lat.is_some() {
            cmp_line(
                &mut s,
                row,
                "produce p50 ms",
                kr.produce_lat.map(|l| l.0),
                sr.produce_lat.map(|l| l.0),
                false,
                2,
            );
            cmp_line(
                &mut s,
                row,
                "produce p99 ms",
                kr.produce_lat.map(|l| l.1),
                sr.produce_lat.map(|l| l.1),
                false,
                2,
            );
        }
        for e in &kr.extra {
            let other = sr.extra.iter().find(|x| x.name == e.name).map(|x| x.value);
            cmp_line(
                &mut s,
                row,
                e.name,
                Some(e.value),
                other,
                e.higher_is_better,
                e.precision,
            );
        }
        cmp_line(
            &mut s,
            row,
            "broker CPU s",
            kr.broker_cpu,
            sr.broker_cpu,
            false,
            2,
        );
    }
    cmp_line(
        &mut s,
        "broker",
        "start → first Metadata answer ms",
        kafka.start_ms,
        skiff.start_ms,
        false,
        0,
    );
    cmp_line(
        &mut s,
        "broker",
        "idle RSS MiB",
        kafka.idle_rss_mb,
        skiff.idle_rss_mb,
        false,
        1,
    );
    cmp_line(
        &mut s,
        "broker",
        "peak RSS (VmHWM) MiB",
        kafka.peak_rss_mb,
        skiff.peak_rss_mb,
        false,
        1,
    );
    cmp_line(
        &mut s,
        "broker",
        "shutdown s",
        kafka.shutdown_s,
        skiff.shutdown_s,
        false,
        1,
    );
    s
}

// ---------------------------------------------------------------------------------------

/// One result from several rounds: the median of every figure (start samples pooled).
fn merge_rounds(runs: &[TargetResult]) -> TargetResult {
    let Some(first) = runs.first() else {
        return TargetResult::default();
    };
    if runs.len() == 1 {
        return first.clone();
    }
    let med = |f: &dyn Fn(&TargetResult) -> Option<f64>| {
        median(&runs.iter().filter_map(f).collect::<Vec<_>>())
    };
    let mut out = TargetResult {
        name: first.name.clone(),
        partitions: first.partitions,
        start_samples: runs.iter().flat_map(|r| r.start_samples.clone()).collect(),
        idle_rss_mb: med(&|r| r.idle_rss_mb),
        peak_rss_mb: med(&|r| r.peak_rss_mb),
        end_rss_mb: med(&|r| r.end_rss_mb),
        shutdown_s: med(&|r| r.shutdown_s),
        ..Default::default()
    };
    out.start_ms = median(&out.start_samples);
    for row in &first.rows {
        let same: Vec<&RowResult> = runs
            .iter()
            .filter_map(|r| r.rows.iter().find(|x| x.id == row.id))
            .collect();
        let m = |f: &dyn Fn(&RowResult) -> Option<f64>| {
            median(&same.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
        };
        let pair = |a: Option<f64>, b: Option<f64>| a.zip(b);
        out.rows.push(RowResult {
            secs: m(&|r| Some(r.secs)).unwrap_or(row.secs),
            produce_lat: pair(
                m(&|r| r.produce_lat.map(|l| l.0)),
                m(&|r| r.produce_lat.map(|l| l.1)),
            ),
            e2e_lat: pair(
                m(&|r| r.e2e_lat.map(|l| l.0)),
                m(&|r| r.e2e_lat.map(|l| l.1)),
            ),
            broker_cpu: m(&|r| r.broker_cpu),
            client_cpu: m(&|r| r.client_cpu),
            note: format!("median of {}", same.len()),
            extra: row
                .extra
                .iter()
                .map(|e| Extra {
                    value: m(&|r| r.extra.iter().find(|x| x.name == e.name).map(|x| x.value))
                        .unwrap_or(e.value),
                    ..*e
                })
                .collect(),
            ..row.clone()
        });
    }
    out
}

fn run_one(args: &Args, which: &str) -> Result<TargetResult> {
    let mut broker = match which {
        "kafka" => start_kafka(args)?,
        "skiff" => start_skiff(args)?,
        _ => Broker {
            name: format!("broker at {which}"),
            bootstrap: which.to_string(),
            child: None,
            pid: args.broker_pid,
            workdir: None,
            log_file: None,
            start_ms: None,
        },
    };
    if let Some(ms) = broker.start_ms {
        eprintln!(
            "[e2e] {} answered Metadata {ms:.0} ms after spawn",
            broker.name
        );
    }
    let result = run_target(args, &mut broker);
    match result {
        Ok(mut r) => {
            r.shutdown_s = broker.stop(args.keep);
            r.start_samples.extend(broker.start_ms);
            let runs = args
                .start_runs
                .unwrap_or(if sizes(args).scale >= 1.0 { 3 } else { 1 });
            if broker.child.is_none() && broker.start_ms.is_some() {
                for _ in 1..runs {
                    let mut again = match which {
                        "kafka" => start_kafka(args)?,
                        _ => start_skiff(args)?,
                    };
                    r.start_samples.extend(again.start_ms);
                    eprintln!(
                        "[e2e] {} answered Metadata {} ms after spawn",
                        again.name,
                        opt(again.start_ms, 0)
                    );
                    again.stop(false);
                }
            }
            r.start_ms = median(&r.start_samples);
            Ok(r)
        }
        Err(e) => {
            let tail = broker.log_tail();
            broker.stop(true);
            Err(format!("{}: {e}\nbroker log tail:\n{tail}", broker.name).into())
        }
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` / `--benches` runs this binary without `--bench`: do nothing.
    if !argv
        .iter()
        .any(|a| a == "--bench" || a == "--help" || a == "-h")
    {
        eprintln!("e2e: skipped (run it with `cargo bench --bench e2e -- --kafka|--skiff|--both|--bootstrap H:P`)");
        return;
    }
    let args = Args::parse();
    if let Err(e) = real_main(&args) {
        eprintln!("[e2e] error: {e}");
        std::process::exit(1);
    }
}

fn real_main(args: &Args) -> Result<()> {
    let _ = CLIENT_OVERRIDES.set((
        parse_overrides(&args.producer_set)?,
        parse_overrides(&args.consumer_set)?,
    ));
    for r in &args.rows {
        if !ROW_IDS.contains(&r.as_str()) {
            return Err(format!("unknown row {r}; rows: {}", ROW_IDS.join(",")).into());
        }
    }
    let targets: Vec<String> = if args.both {
        vec!["kafka".into(), "skiff".into()]
    } else if args.kafka {
        vec!["kafka".into()]
    } else if args.skiff {
        vec!["skiff".into()]
    } else if let Some(b) = &args.bootstrap {
        vec![b.clone()]
    } else {
        return Err("choose a target: --bootstrap H:P, --kafka, --skiff or --both".into());
    };
    let s = sizes(args);
    let mut report = format!(
        "e2e benchmark: {} x 100 B, {} x 1 KiB, latency {} records/s for {:.0} s, {} partitions, compression {}, librdkafka {}\n\n",
        s.n100,
        s.n1k,
        args.latency_rate,
        s.latency_secs,
        args.partitions,
        args.compression,
        rdkafka::util::get_rdkafka_version().1
    );
    if args.rows.is_empty() || args.rows.iter().any(|r| r == COLD_BACKLOG_ROW) {
        let _ = writeln!(
            report,
            "{COLD_BACKLOG_ROW}: {} x 1 KiB backlog ({:.0} MiB) read by {} consumers\n",
            s.backlog_records,
            s.backlog_records as f64 / 1024.0,
            args.backlog_readers
        );
    }
    if args.rows.iter().any(|r| r == WIDE_ROW) {
        let _ = writeln!(
            report,
            "{WIDE_ROW}: {} x 100 B from {} producers over {} partitions\n",
            s.wide_records, args.wide_producers, args.wide_partitions
        );
    }
    let rounds = args.rounds.max(1);
    let mut per_target: Vec<Vec<TargetResult>> = vec![Vec::new(); targets.len()];
    let mut failures = Vec::new();
    for round in 1..=rounds {
        for (i, t) in targets.iter().enumerate() {
            if rounds > 1 {
                eprintln!("[e2e] round {round} of {rounds}: {t}");
            }
            // A broker that fails does not throw away the other broker's figures.
            let r = match run_one(args, t) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("[e2e] {t} failed: {e}");
                    let first_line = e.to_string().lines().next().unwrap_or_default().to_string();
                    failures.push(format!("round {round}, {t}: {first_line}"));
                    continue;
                }
            };
            if rounds > 1 {
                let _ = writeln!(report, "#### round {round}\n");
            }
            report.push_str(&target_table(&r));
            report.push('\n');
            per_target[i].push(r);
        }
    }
    let results: Vec<TargetResult> = per_target.iter().map(|runs| merge_rounds(runs)).collect();
    if rounds > 1 {
        let _ = writeln!(report, "## medians of {rounds} rounds\n");
        for r in results.iter().filter(|r| !r.rows.is_empty()) {
            report.push_str(&target_table(r));
            report.push('\n');
        }
    }
    if let [k, sk] = results.as_slice() {
        if !k.rows.is_empty() && !sk.rows.is_empty() {
            report.push_str(&comparison_table(k, sk));
        }
    }
    for f in &failures {
        let _ = writeln!(report, "\nFAILED: {f}");
    }
    println!("{report}");
    if let Some(path) = &args.out {
        fs::write(path, &report)?;
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} broker run(s) failed", failures.len()).into())
    }
}
