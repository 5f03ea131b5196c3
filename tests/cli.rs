//! The `skiff` CLI's client verbs, run as the real binary against an in-process broker on
//! an ephemeral port; what they print (`--json`) is checked against what librdkafka's
//! admin client, metadata and consumer report.
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

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `skiff ARGS -b BOOTSTRAP` with `stdin`.
async fn skiff(bootstrap: &str, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut all = args.to_vec();
    all.extend(["-b", bootstrap, "--timeout", "20"]);
    skiff_raw(&all, stdin).await
}

/// Runs `skiff ARGS` with `stdin`.
async fn skiff_raw(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_skiff"));
    cmd.args(args)
        .env_remove("SKIFF_BROKERS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).await.unwrap();
    }
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("skiff did not finish")
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs a verb with `--json`, expects success, and parses its one JSON document.
async fn json(bootstrap: &str, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let r = skiff(bootstrap, &a, None).await;
    assert_eq!(r.code, 0, "skiff {args:?} failed: {}", r.stderr);
    serde_json::from_str(r.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap()
}

fn admin_opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

fn metadata_consumer(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "false")
        .create()
        .unwrap()
}

/// Topic → (partition → leader) as librdkafka's Metadata shows it.
fn rdkafka_topics(bootstrap: &str) -> BTreeMap<String, BTreeMap<i32, i32>> {
    let md = metadata_consumer(bootstrap)
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    md.topics()
        .iter()
        .filter(|t| !t.name().starts_with("__"))
        .map(|t| {
            (
                t.name().to_string(),
                t.partitions()
                    .iter()
                    .map(|p| (p.id(), p.leader()))
                    .collect(),
            )
        })
        .collect()
}

/// A topic's config as librdkafka's describe_configs reports it: name → (value, source).
async fn rdkafka_configs(
    bootstrap: &str,
    topic: &str,
) -> BTreeMap<String, (Option<String>, String)> {
    let r = admin(bootstrap)
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &admin_opts())
        .await
        .unwrap();
    let res = r.into_iter().next().unwrap().unwrap();
    res.entries
        .iter()
        .map(|e| (e.name.clone(), (e.value.clone(), format!("{:?}", e.source))))
        .collect()
}

/// librdkafka's ConfigSource debug name for Kafka's ConfigSource name.
fn rdkafka_source(kafka: &str) -> String {
    match kafka {
        "DYNAMIC_TOPIC_CONFIG" => "DynamicTopic",
        "DYNAMIC_BROKER_CONFIG" => "DynamicBroker",
        "DYNAMIC_DEFAULT_BROKER_CONFIG" => "DynamicDefaultBroker",
        "STATIC_BROKER_CONFIG" => "StaticBroker",
        "DEFAULT_CONFIG" => "Default",
        _ => "Unknown",
    }
    .to_string()
}

fn watermarks(bootstrap: &str, topic: &str, partition: i32) -> (i64, i64) {
    metadata_consumer(bootstrap)
        .fetch_watermarks(topic, partition, Duration::from_secs(10))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn topic_verbs_agree_with_librdkafka() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let b = broker.bootstrap();

    let created = json(
        &b,
        &[
            "topic",
            "create",
            "orders",
            "-p",
            "3",
            "-c",
            "retention.ms=123456",
            "-c",
            "cleanup.policy=compact",
        ],
    )
    .await;
    assert_eq!(created["name"], "orders");
    assert_eq!(created["partitions"], 3);
    let rd = rdkafka_topics(&b);
    assert_eq!(rd["orders"].len(), 3);

    // A second create is Kafka's TOPIC_ALREADY_EXISTS: exit code 1.
    let again = skiff(&b, &["topic", "create", "orders"], None).await;
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("TOPIC_ALREADY_EXISTS"),
        "{}",
        again.stderr
    );

    json(&b, &["topic", "create", "payments"]).await;
    let listed = json(&b, &["topic", "list"]).await;
    let names: BTreeSet<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    let rd = rdkafka_topics(&b);
    assert_eq!(names, rd.keys().cloned().collect::<BTreeSet<_>>());
    for t in listed.as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        assert_eq!(t["partitions"].as_u64().unwrap() as usize, rd[name].len());
    }

    // Records so that offsets are not all zero.
    let p = producer(&b, "none", "all");
    for i in 0..7 {
        p.send(
            BaseRecord::<str, str>::to("orders")
                .partition(i % 3)
                .key("k")
                .payload("v"),
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();

    let described = json(&b, &["topic", "describe", "orders"]).await;
    let rd = rdkafka_topics(&b);
    for part in described["partitions"].as_array().unwrap() {
        let idx = part["partition"].as_i64().unwrap() as i32;
        assert_eq!(part["leader"].as_i64().unwrap() as i32, rd["orders"][&idx]);
        let (low, high) = watermarks(&b, "orders", idx);
        assert_eq!(part["earliest_offset"].as_i64().unwrap(), low);
        assert_eq!(part["latest_offset"].as_i64().unwrap(), high);
    }
    let rd_configs = rdkafka_configs(&b, "orders").await;
    let configs = described["configs"].as_array().unwrap();
    assert_eq!(configs.len(), rd_configs.len());
    for c in configs {
        let (value, source) = &rd_configs[c["name"].as_str().unwrap()];
        assert_eq!(c["value"].as_str().map(str::to_string), *value, "{c}");
        assert_eq!(
            rdkafka_source(c["source"].as_str().unwrap()),
            *source,
            "{c}"
        );
    }
    assert_eq!(rd_configs["retention.ms"].0.as_deref(), Some("123456"));

    // alter-config: set one, delete another override.
    json(
        &b,
        &[
            "topic",
            "alter-config",
            "orders",
            "retention.ms=999",
            "--delete",
            "cleanup.policy",
        ],
    )
    .await;
    let rd_configs = rdkafka_configs(&b, "orders").await;
    assert_eq!(rd_configs["retention.ms"].0.as_deref(), Some("999"));
    assert_eq!(rd_configs["cleanup.policy"].1, "Default");

    // config get --topic reads the same.
    let got = json(&b, &["config", "get", "--topic", "orders", "retention.ms"]).await;
    assert_eq!(got[0]["name"], "retention.ms");
    assert_eq!(got[0]["value"], "999");
    assert_eq!(got[0]["source"], "DYNAMIC_TOPIC_CONFIG");

    let added = json(&b, &["topic", "add-partitions", "orders", "-n", "2"]).await;
    assert_eq!(added["partitions"], 5);
    assert_eq!(rdkafka_topics(&b)["orders"].len(), 5);

    let deleted = json(&b, &["topic", "delete", "payments"]).await;
    assert_eq!(deleted[0]["name"], "payments");
    assert!(deleted[0]["error"].is_null());
    assert!(!rdkafka_topics(&b).contains_key("payments"));
    let missing = skiff(&b, &["topic", "describe", "payments"], None).await;
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{}",
        missing.stderr
    );

    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn produced_lines_reach_librdkafka_with_keys_headers_and_every_codec() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let b = broker.bootstrap();
    json(&b, &["topic", "create", "lines", "-p", "1"]).await;
    let mut expected = Vec::new();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let input: String = (0..50)
            .map(|i| format!("{codec}-{i}:value {i} of {codec}\n"))
            .collect();
        let r = skiff(
            &b,
            &[
                "produce",
                "lines",
                "-k",
                ":",
                "-H",
                "source=cli",
                "-H",
                "source=again",
                "-z",
                codec,
                "--json",
            ],
            Some(input.as_bytes()),
        )
        .await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        let summary: Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(summary["records"], 50);
        for i in 0..50 {
            expected.push((format!("{codec}-{i}"), format!("value {i} of {codec}")));
        }
    }
    let c = consumer(&b);
    assign(&c, "lines", 1, Offset::Beginning);
    let mut got = Vec::new();
    while got.len() < expected.len() {
        let Some(m) = c.poll(Duration::from_secs(10)) else {
            panic!("only {} of {} records", got.len(), expected.len());
        };
        let m = m.unwrap();
        let headers = m.headers().unwrap();
        let hs: Vec<(String, Option<Vec<u8>>)> = headers
            .iter()
            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
            .collect();
        assert_eq!(
            hs,
            vec![
                ("source".to_string(), Some(b"cli".to_vec())),
                ("source".to_string(), Some(b"again".to_vec()))
            ]
        );
        got.push((
            String::from_utf8(m.key().unwrap().to_vec()).unwrap(),
            String::from_utf8(m.payload().unwrap().to_vec()).unwrap(),
        ));
    }
    assert_eq!(got, expected);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consume_prints_what_librdkafka_produced() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let b = broker.bootstrap();
    json(&b, &["topic", "create", "events", "-p", "2"]).await;
    let p = producer(&b, "lz4", "all");
    let mut sent = BTreeMap::new();
    for i in 0..40 {
        let key = format!("k{i}");
        let value = format!("v{i}");
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "h",
                value: Some("1"),
            })
            .insert(Header {
                key: "h",
                value: Some("2"),
            });
        p.send(
            BaseRecord::to("events")
                .partition(i % 2)
                .key(&key)
                .payload(&value)
                .headers(headers)
                .timestamp(1_700_000_000_000 + i64::from(i)),
        )
        .unwrap();
        sent.insert(key, (i % 2, value, 1_700_000_000_000 + i64::from(i)));
    }
    p.flush(Duration::from_secs(10)).unwrap();

    let r = skiff(&b, &["consume", "events", "-e", "--json"], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let records: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), sent.len());
    for rec in &records {
        let (partition, value, ts) = &sent[rec["key"].as_str().unwrap()];
        assert_eq!(rec["partition"].as_i64().unwrap() as i32, *partition);
        assert_eq!(rec["value"].as_str().unwrap(), value);
        assert_eq!(rec["timestamp"].as_i64().unwrap(), *ts);
        assert_eq!(
            rec["headers"],
            serde_json::json!([{"key": "h", "value": "1"}, {"key": "h", "value": "2"}])
        );
    }
    // Offsets per partition run from 0 to the high watermark librdkafka reports.
    for partition in 0..2 {
        let offsets: Vec<i64> = records
            .iter()
            .filter(|r| r["partition"] == partition)
            .map(|r| r["offset"].as_i64().unwrap())
            .collect();
        let (low, high) = watermarks(&b, "events", partition);
        assert_eq!(offsets, (low..high).collect::<Vec<_>>());
    }

    // -n, -p, -o OFFSET and a template.
    let r = skiff(
        &b,
        &[
            "consume",
            "events",
            "-p",
            "1",
            "-o",
            "5",
            "-n",
            "3",
            "-f",
            "%p:%o:%k=%v|%h\\n",
        ],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let keys_in_1: Vec<&String> = sent
        .iter()
        .filter(|(_, v)| v.0 == 1)
        .map(|(k, _)| k)
        .collect();
    assert_eq!(r.stdout.lines().count(), 3);
    for (line, offset) in r.stdout.lines().zip(5..) {
        let (prefix, rest) = line.split_once('=').unwrap();
        assert!(prefix.starts_with(&format!("1:{offset}:")), "{line}");
        let key = prefix.rsplit(':').next().unwrap();
        assert!(keys_in_1.iter().any(|k| *k == key), "{line}");
        assert!(rest.ends_with("|h=1,h=2"), "{line}");
    }

    // @TIMESTAMP: the first record at or after the time, as offsetsForTimes says.
    let c = consumer(&b);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("events", 0, Offset::Offset(1_700_000_000_020))
        .unwrap();
    let found = c.offsets_for_times(tpl, Duration::from_secs(10)).unwrap();
    let Offset::Offset(first) = found.elements()[0].offset() else {
        panic!("no offset for the time");
    };
    let r = skiff(
        &b,
        &[
            "consume",
            "events",
            "-p",
            "0",
            "-o",
            "@1700000000020",
            "-n",
            "1",
            "--json",
        ],
        None,
    )
    .await;
    let rec: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(rec["offset"].as_i64().unwrap(), first);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_verbs_agree_with_librdkafkas_commits() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let b = broker.bootstrap();
    json(&b, &["topic", "create", "work", "-p", "2"]).await;
    // Keyed lines, so that both partitions get records (murmur2 of the key).
    let input: String = (0..30).map(|i| format!("key{i}:line {i}\n")).collect();
    let r = skiff(
        &b,
        &["produce", "work", "-k", ":", "--json"],
        Some(input.as_bytes()),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);

    // A librdkafka group member commits offsets 4 and 6.
    let member: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &b)
        .set("group.id", "billing")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("work", 0, Offset::Offset(4))
        .unwrap();
    tpl.add_partition_offset("work", 1, Offset::Offset(6))
        .unwrap();
    member.commit(&tpl, CommitMode::Sync).unwrap();

    let listed = json(&b, &["group", "list"]).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "billing"),
        "{listed}"
    );

    let described = json(&b, &["group", "describe", "billing"]).await;
    let committed = |c: &BaseConsumer| {
        let mut want = TopicPartitionList::new();
        want.add_partition("work", 0);
        want.add_partition("work", 1);
        c.committed_offsets(want, Duration::from_secs(10))
            .unwrap()
            .elements()
            .iter()
            .map(|e| (e.partition(), e.offset().to_raw().unwrap()))
            .collect::<BTreeMap<_, _>>()
    };
    let rd = committed(&member);
    let mut total = 0;
    for o in described["offsets"].as_array().unwrap() {
        let p = o["partition"].as_i64().unwrap() as i32;
        assert_eq!(o["committed_offset"].as_i64().unwrap(), rd[&p]);
        let (_, high) = watermarks(&b, "work", p);
        assert_eq!(o["log_end_offset"].as_i64().unwrap(), high);
        assert_eq!(o["lag"].as_i64().unwrap(), high - rd[&p]);
        total += high - rd[&p];
    }
    assert_eq!(described["total_lag"].as_i64().unwrap(), total);

    // A dry run changes nothing; the reset itself moves both partitions.
    let plan = json(
        &b,
        &[
            "group",
            "reset-offsets",
            "billing",
            "--topic",
            "work",
            "--to-earliest",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(plan["offsets"].as_array().unwrap().len(), 2);
    assert_eq!(committed(&member), rd);
    json(
        &b,
        &[
            "group",
            "reset-offsets",
            "billing",
            "--topic",
            "work",
            "--to-offset",
            "2",
        ],
    )
    .await;
    assert_eq!(committed(&member), BTreeMap::from([(0, 2), (1, 2)]));
    json(
        &b,
        &[
            "group",
            "reset-offsets",
            "billing",
            "--topic",
            "work",
            "--to-latest",
        ],
    )
    .await;
    let latest: BTreeMap<i32, i64> = (0..2).map(|p| (p, watermarks(&b, "work", p).1)).collect();
    assert_eq!(committed(&member), latest);

    // consume --group starts at the committed offsets and commits where it stopped.
    json(
        &b,
        &[
            "group",
            "reset-offsets",
            "billing",
            "--topic",
            "work",
            "--to-offset",
            "10",
        ],
    )
    .await;
    let r = skiff(
        &b,
        &["consume", "work", "-g", "billing", "-e", "--json"],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let expected: i64 = latest.values().map(|h| h - 10).sum();
    assert_eq!(r.stdout.lines().count() as i64, expected);
    assert_eq!(committed(&member), latest);

    let deleted = json(&b, &["group", "delete", "billing"]).await;
    assert!(deleted[0]["error"].is_null(), "{deleted}");
    let listed = json(&b, &["group", "list"]).await;
    assert!(!listed
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["group"] == "billing"));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_config_user_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let b = broker.bootstrap();

    let info = json(&b, &["cluster", "info"]).await;
    let md = metadata_consumer(&b)
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let rd_brokers: BTreeSet<(i64, String, i64)> = md
        .brokers()
        .iter()
        .map(|x| (i64::from(x.id()), x.host().to_string(), i64::from(x.port())))
        .collect();
    let brokers: BTreeSet<(i64, String, i64)> = info["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id"].as_i64().unwrap(),
                x["host"].as_str().unwrap().to_string(),
                x["port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(brokers, rd_brokers);
    assert!(info["cluster_id"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(info["api_versions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["api"] == "Produce"));

    let health = json(&b, &["cluster", "health"]).await;
    assert_eq!(health["healthy"], true);

    // Broker configs, as librdkafka describes them.
    let node = md.brokers()[0].id();
    let got = json(&b, &["config", "get", "--broker", &node.to_string()]).await;
    let r = admin(&b)
        .describe_configs(&[ResourceSpecifier::Broker(node)], &admin_opts())
        .await
        .unwrap();
    let rd: BTreeMap<String, Option<String>> = r
        .into_iter()
        .next()
        .unwrap()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| (e.name, e.value))
        .collect();
    let ours: BTreeMap<String, Option<String>> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["value"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(ours, rd);

    // SCRAM users.
    json(
        &b,
        &[
            "user",
            "create",
            "alice",
            "--new-password",
            "s3cret",
            "--mechanism",
            "SCRAM-SHA-256",
        ],
    )
    .await;
    let users = json(&b, &["user", "list"]).await;
    assert_eq!(users[0]["user"], "alice");
    assert_eq!(users[0]["credentials"][0]["mechanism"], "SCRAM-SHA-256");
    json(
        &b,
        &["user", "delete", "alice", "--mechanism", "SCRAM-SHA-256"],
    )
    .await;
    assert_eq!(json(&b, &["user", "list"]).await, serde_json::json!([]));

    // Exit codes: 2 bad usage, 3 no broker, 1 an unhealthy (unreachable) cluster.
    let usage = skiff(&b, &["topic", "create"], None).await;
    assert_eq!(usage.code, 2);
    let bad_offset = skiff(&b, &["consume", "x", "-o", "sometime"], None).await;
    assert_eq!(bad_offset.code, 2, "{}", bad_offset.stderr);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let down = skiff(&closed, &["topic", "list"], None).await;
    assert_eq!(down.code, 3, "{}", down.stderr);
    let unhealthy = skiff(&closed, &["cluster", "health"], None).await;
    assert_eq!(unhealthy.code, 1, "{}", unhealthy.stderr);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_and_completions_cover_every_verb() {
    for verb in [
        "topic",
        "produce",
        "consume",
        "group",
        "cluster",
        "config",
        "user",
        "completion",
    ] {
        let r = skiff_raw(&[verb, "--help"], None).await;
        assert_eq!(r.code, 0, "{verb}: {}", r.stderr);
        assert!(r.stdout.contains("Usage: skiff"), "{verb}: {}", r.stdout);
    }
    let r = skiff_raw(&["completion", "bash"], None).await;
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("reset-offsets"));
}
