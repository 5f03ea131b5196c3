//! Topic administration with librdkafka's AdminClient against an in-process broker:
//! create (with validate_only and every per-topic error), describe and alter configs,
//! create partitions, delete records, delete and re-create, and a restart in between.
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

use std::time::Duration;

use common::*;
use rdkafka::admin::{
    AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))
}

/// Partition count and id of `topic` as Metadata reports it (None if unknown).
fn topic_partitions(bootstrap: &str, topic: &str) -> Option<usize> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "false")
        .create()
        .unwrap();
    let md = c
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let t = &md.topics()[0];
    t.error().is_none().then(|| t.partitions().len())
}

async fn create_one(
    a: &AdminClient<DefaultClientContext>,
    t: NewTopic<'_>,
    o: &AdminOptions,
) -> Result<String, RDKafkaErrorCode> {
    let mut r = a.create_topics(&[t], o).await.unwrap();
    r.remove(0).map_err(|(_, e)| e)
}

async fn config_of(
    a: &AdminClient<DefaultClientContext>,
    topic: &str,
    name: &str,
) -> (Option<String>, String, bool) {
    let r = a
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &opts())
        .await
        .unwrap();
    let res = r.into_iter().next().unwrap().unwrap();
    let e = res
        .entries
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} not described"));
    (e.value.clone(), format!("{:?}", e.source), e.is_default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_alter_partitions_delete_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["auto.create.topics.enable=false"]).await;
    let bootstrap = broker.bootstrap();
    let a = admin(&bootstrap);

    // validate_only creates nothing.
    let t = NewTopic::new("orders", 4, TopicReplication::Fixed(1)).set("retention.ms", "123456");
    assert_eq!(
        create_one(&a, t, &opts().validate_only(true)).await,
        Ok("orders".into())
    );
    assert_eq!(topic_partitions(&bootstrap, "orders"), None);

    // A real creation with overrides.
    let t = NewTopic::new("orders", 4, TopicReplication::Fixed(1))
        .set("retention.ms", "123456")
        .set("cleanup.policy", "compact,delete");
    assert_eq!(create_one(&a, t, &opts()).await, Ok("orders".into()));
    assert_eq!(topic_partitions(&bootstrap, "orders"), Some(4));
    // -1: the broker's default replication factor.
    let t = NewTopic::new("defaults", 2, TopicReplication::Fixed(-1));
    assert_eq!(create_one(&a, t, &opts()).await, Ok("defaults".into()));

    // Every per-topic error.
    let again = NewTopic::new("orders", 1, TopicReplication::Fixed(1));
    assert_eq!(
        create_one(&a, again, &opts()).await,
        Err(RDKafkaErrorCode::TopicAlreadyExists)
    );
    let rf = NewTopic::new("rf3", 1, TopicReplication::Fixed(3));
    assert_eq!(
        create_one(&a, rf, &opts()).await,
        Err(RDKafkaErrorCode::InvalidReplicationFactor)
    );
    let unknown = NewTopic::new("cfg", 1, TopicReplication::Fixed(1)).set("no.such.config", "1");
    assert_eq!(
        create_one(&a, unknown, &opts()).await,
        Err(RDKafkaErrorCode::InvalidConfig)
    );
    let bad_value = NewTopic::new("cfg", 1, TopicReplication::Fixed(1)).set("retention.ms", "soon");
    assert_eq!(
        create_one(&a, bad_value, &opts()).await,
        Err(RDKafkaErrorCode::InvalidConfig)
    );
    let long = "x".repeat(250);
    for bad in ["..", "a b", long.as_str()] {
        let t = NewTopic::new(bad, 1, TopicReplication::Fixed(1));
        assert_eq!(
            create_one(&a, t, &opts()).await,
            Err(RDKafkaErrorCode::InvalidTopic),
            "{bad}"
        );
    }
    assert_eq!(topic_partitions(&bootstrap, "cfg"), None);
    assert_eq!(topic_partitions(&bootstrap, "rf3"), None);

    // Describe: overrides are dynamic topic configs, the rest defaults.
    assert_eq!(
        config_of(&a, "orders", "retention.ms").await,
        (Some("123456".into()), "DynamicTopic".to_string(), false)
    );
    assert_eq!(
        config_of(&a, "orders", "segment.bytes").await,
        (Some("1073741824".into()), "Default".to_string(), true)
    );
    assert_eq!(
        config_of(&a, "defaults", "cleanup.policy").await,
        (Some("delete".into()), "Default".to_string(), true)
    );
    let described = a
        .describe_configs(&[ResourceSpecifier::Topic("defaults")], &opts())
        .await
        .unwrap();
    let entries = &described[0].as_ref().unwrap().entries;
    for name in [
        "cleanup.policy",
        "compression.type",
        "delete.retention.ms",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.timestamp.type",
        "message.timestamp.before.max.ms",
        "message.timestamp.after.max.ms",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.ms",
    ] {
        assert!(entries.iter().any(|e| e.name == name), "{name} missing");
    }
    // Unknown topic.
    let r = a
        .describe_configs(&[ResourceSpecifier::Topic("nope")], &opts())
        .await
        .unwrap();
    // (librdkafka passes the resource's UNKNOWN_TOPIC_OR_PARTITION on as an empty list.)
    assert!(
        r[0].as_ref().map_or(true, |c| c.entries.is_empty()),
        "{r:?}"
    );
    // Broker resource: every option, read-only.
    let r = a
        .describe_configs(&[ResourceSpecifier::Broker(1)], &opts())
        .await
        .unwrap();
    let broker_entries = &r[0].as_ref().unwrap().entries;
    let auto = broker_entries
        .iter()
        .find(|e| e.name == "auto.create.topics.enable")
        .unwrap();
    assert_eq!(auto.value.as_deref(), Some("false"));
    assert_eq!(auto.source, ConfigSource::StaticBroker);
    assert!(auto.is_read_only);

    // AlterConfigs replaces the overrides.
    let alter =
        AlterConfig::new(ResourceSpecifier::Topic("orders")).set("segment.bytes", "1048576");
    let r = a.alter_configs(&[alter], &opts()).await.unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    assert_eq!(
        config_of(&a, "orders", "segment.bytes").await.0.as_deref(),
        Some("1048576")
    );
    assert_eq!(config_of(&a, "orders", "retention.ms").await.1, "Default");
    let log = broker.replicas().log("orders", 0).unwrap();
    assert_eq!(
        log.config().segment_bytes,
        1_048_576,
        "applied to the live log"
    );
    // (rdkafka does not surface per-resource alter errors; tests/admin_wire.rs checks them.)

    // CreatePartitions.
    let r = a
        .create_partitions(&[NewPartitions::new("defaults", 5)], &opts())
        .await
        .unwrap();
    assert_eq!(r[0], Ok("defaults".to_string()));
    assert_eq!(topic_partitions(&bootstrap, "defaults"), Some(5));
    let r = a
        .create_partitions(&[NewPartitions::new("defaults", 3)], &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].as_ref().unwrap_err().1,
        RDKafkaErrorCode::InvalidPartitions
    );

    // Produce, then DeleteRecords moves the low watermark.
    let p = producer(&bootstrap, "none", "all");
    for i in 0..10 {
        send(&p, "defaults", 4, &test_record(i));
    }
    flush(&p);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("defaults", 4, Offset::Offset(6))
        .unwrap();
    let r = a.delete_records(&tpl, &opts()).await.unwrap();
    let e = r.find_partition("defaults", 4).unwrap();
    assert_eq!(e.offset(), Offset::Offset(6));
    let c = consumer(&bootstrap);
    let (low, high) = c
        .fetch_watermarks("defaults", 4, Duration::from_secs(10))
        .unwrap();
    assert_eq!((low, high), (6, 10));

    // Restart: topics, partitions and configs survive.
    let old_id = broker.replicas().topics().get("orders").unwrap().id;
    drop(a);
    drop(c);
    drop(p);
    broker.shutdown().await.unwrap();
    let broker = start_broker(dir.path(), &["auto.create.topics.enable=false"]).await;
    let bootstrap = broker.bootstrap();
    let a = admin(&bootstrap);
    assert_eq!(topic_partitions(&bootstrap, "orders"), Some(4));
    assert_eq!(topic_partitions(&bootstrap, "defaults"), Some(5));
    assert_eq!(
        config_of(&a, "orders", "segment.bytes").await,
        (Some("1048576".into()), "DynamicTopic".to_string(), false)
    );
    assert_eq!(
        broker
            .replicas()
            .log("orders", 3)
            .unwrap()
            .config()
            .segment_bytes,
        1_048_576
    );

    // Delete by name: data gone; a re-created topic has a new id and starts at 0.
    let p = producer(&bootstrap, "none", "all");
    for i in 0..5 {
        send(&p, "orders", 0, &test_record(i));
    }
    flush(&p);
    let dir_of_partition = broker
        .replicas()
        .log("orders", 0)
        .unwrap()
        .dir()
        .to_path_buf();
    assert!(dir_of_partition.exists());
    let r = a.delete_topics(&["orders"], &opts()).await.unwrap();
    assert_eq!(r[0], Ok("orders".to_string()));
    assert!(!dir_of_partition.exists(), "partition files removed");
    assert_eq!(topic_partitions(&bootstrap, "orders"), None);
    let r = a.delete_topics(&["orders"], &opts()).await.unwrap();
    assert_eq!(
        r[0].as_ref().unwrap_err().1,
        RDKafkaErrorCode::UnknownTopicOrPartition
    );
    let t = NewTopic::new("orders", 1, TopicReplication::Fixed(1));
    assert_eq!(create_one(&a, t, &opts()).await, Ok("orders".into()));
    let new_id = broker.replicas().topics().get("orders").unwrap().id;
    assert_ne!(new_id, old_id);
    assert_eq!(
        config_of(&a, "orders", "segment.bytes").await.1,
        "Default",
        "overrides of the deleted topic are gone"
    );
    let c = consumer(&bootstrap);
    let (low, high) = c
        .fetch_watermarks("orders", 0, Duration::from_secs(10))
        .unwrap();
    assert_eq!((low, high), (0, 0));
    drop(p);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_topic_being_written_to_loses_nothing_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["auto.create.topics.enable=false"]).await;
    let bootstrap = broker.bootstrap();
    let a = admin(&bootstrap);
    for name in ["doomed", "kept"] {
        let t = NewTopic::new(name, 2, TopicReplication::Fixed(1));
        assert_eq!(create_one(&a, t, &opts()).await, Ok(name.to_string()));
    }
    // A writer keeps producing to the doomed topic while it is deleted.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let bootstrap = bootstrap.clone();
        std::thread::spawn(move || {
            let p = producer(&bootstrap, "none", "1");
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Errors (queue full, topic gone) are expected here: keep going.
                let key = format!("k{i}");
                let record = rdkafka::producer::BaseRecord::<str, str>::to("doomed")
                    .key(&key)
                    .payload("v")
                    .partition(i % 2);
                let _ = p.send(record);
                p.poll(Duration::ZERO);
                i += 1;
                if i % 100 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let _ = rdkafka::producer::Producer::flush(&p, Duration::from_secs(5));
        })
    };
    let kept = producer(&bootstrap, "none", "all");
    for i in 0..500 {
        send(&kept, "kept", (i % 2) as i32, &test_record(i));
        if i == 250 {
            let r = a.delete_topics(&["doomed"], &opts()).await.unwrap();
            assert_eq!(r[0], Ok("doomed".to_string()));
        }
    }
    flush(&kept);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(broker.replicas().topics().get("doomed").is_none());
    assert_eq!(topic_partitions(&bootstrap, "doomed"), None);
    let c = consumer(&bootstrap);
    assign(&c, "kept", 2, Offset::Beginning);
    let got = consume(&c, 500);
    let mut numbers: Vec<usize> = got.iter().map(|g| key_number(&g.record.key)).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..500).collect::<Vec<_>>());
    broker.shutdown().await.unwrap();
}
