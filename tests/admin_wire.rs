//! Admin APIs over raw TCP with requests built by `kafka-protocol`: the corners librdkafka's
//! AdminClient cannot reach (topic ids, incremental config operations, per-resource errors,
//! DescribeCluster, DescribeLogDirs, DescribeTopicPartitions paging).
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

use bytes::{Bytes, BytesMut};
use common::wire::Wire;
use common::{batches, start_broker};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_topic_partitions_request::TopicRequest;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    alter_configs_request, incremental_alter_configs_request, AlterConfigsRequest,
    AlterConfigsResponse, ApiKey, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse,
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ProduceRequest,
    ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, TimestampType};
use uuid::Uuid;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn name(v: &str) -> TopicName {
    TopicName(s(v))
}

fn topic(n: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(name(n))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(s(k))
                        .with_value(Some(s(v)))
                })
                .collect(),
        )
}

async fn create(w: &mut Wire, version: i16, topics: Vec<CreatableTopic>) -> CreateTopicsResponse {
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(5000);
    w.call(ApiKey::CreateTopics, version, &req).await
}

async fn describe(w: &mut Wire, version: i16, t: &str) -> DescribeConfigsResponse {
    let mut req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(t))]);
    req.include_synonyms = true;
    if version >= 3 {
        req.include_documentation = true;
    }
    w.call(ApiKey::DescribeConfigs, version, &req).await
}

async fn config_value(w: &mut Wire, t: &str, key: &str) -> (String, i8) {
    let r = describe(w, 4, t).await;
    let c = r.results[0]
        .configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .unwrap();
    (c.value.as_ref().unwrap().to_string(), c.config_source)
}

async fn incremental(w: &mut Wire, t: &str, ops: &[(&str, i8, Option<&str>)]) -> i16 {
    use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(t))
            .with_configs(
                ops.iter()
                    .map(|(k, op, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(*op)
                            .with_value(v.map(s))
                    })
                    .collect(),
            ),
    ]);
    let r: IncrementalAlterConfigsResponse = w.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    r.responses[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_errors_ids_and_configs() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let r = create(
        &mut w,
        7,
        vec![
            topic("a", 2, 1, &[("retention.ms", "1000")]),
            topic("b", 0, 1, &[]),
            topic("c", -2, 1, &[]),
            topic("d", 1, 2, &[]),
            topic("e", 1, 1, &[("cleanup.policy", "shred")]),
            topic("f.", 1, 1, &[]),
            topic("bad/name", 1, 1, &[]),
            topic("dup", 1, 1, &[]),
            topic("dup", 1, 1, &[]),
            topic("g", -1, -1, &[]),
        ],
    )
    .await;
    let codes: Vec<(String, i16)> = r
        .topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("a".into(), 0),
            ("b".into(), 37),
            ("c".into(), 37),
            ("d".into(), 38),
            ("e".into(), 40),
            ("f.".into(), 0),
            ("bad/name".into(), 17),
            ("dup".into(), 42),
            ("dup".into(), 42),
            ("g".into(), 0),
        ]
    );
    let a = &r.topics[0];
    assert_eq!(a.num_partitions, 2);
    assert_eq!(a.replication_factor, 1);
    assert!(!a.topic_id.is_nil());
    assert_eq!(broker.replicas().topics().get("a").unwrap().id, a.topic_id);
    let retention = a
        .configs
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(retention.value.as_ref().unwrap().as_str(), "1000");
    assert_eq!(retention.config_source, 1);
    // -1 partitions: the broker's num.partitions (3 in the tests).
    assert_eq!(r.topics[9].num_partitions, 3);
    assert!(r.topics[3].error_message.is_some());
    // Existing topic.
    let r = create(&mut w, 2, vec![topic("a", 1, 1, &[])]).await;
    assert_eq!(r.topics[0].error_code, 36);
    // validate_only at v2 answers without creating.
    let req = CreateTopicsRequest::default()
        .with_topics(vec![topic("later", 1, 1, &[])])
        .with_validate_only(true);
    let r: CreateTopicsResponse = w.call(ApiKey::CreateTopics, 2, &req).await;
    assert_eq!(r.topics[0].error_code, 0);
    assert!(broker.replicas().topics().get("later").is_none());
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configs_describe_alter_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["log.retention.ms=3600000"]).await;
    let mut w = Wire::connect(&broker).await;
    create(
        &mut w,
        5,
        vec![topic("t", 1, 1, &[("segment.ms", "60000")])],
    )
    .await;

    // Sources: topic override 1, static broker 4, default 5; synonyms and docs.
    let r = describe(&mut w, 4, "t").await;
    assert_eq!(r.results[0].error_code, 0);
    let entry = |n: &str| {
        r.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == n)
            .unwrap()
            .clone()
    };
    let seg = entry("segment.ms");
    assert_eq!(seg.config_source, 1);
    assert_eq!(seg.synonyms[0].source, 1);
    assert_eq!(seg.synonyms.last().unwrap().name.as_str(), "log.roll.ms");
    let ret = entry("retention.ms");
    assert_eq!(ret.value.as_ref().unwrap().as_str(), "3600000");
    assert_eq!(ret.config_source, 4);
    assert_eq!(ret.synonyms[0].name.as_str(), "log.retention.ms");
    assert_eq!(ret.config_type, 5);
    assert!(ret.documentation.is_some());
    let cleanup = entry("cleanup.policy");
    assert_eq!(cleanup.config_source, 5);
    assert_eq!(cleanup.value.as_ref().unwrap().as_str(), "delete");
    // v1 answers too (no documentation, no types).
    let r1 = describe(&mut w, 1, "t").await;
    assert_eq!(r1.results[0].configs.len(), r.results[0].configs.len());
    // Unknown topic.
    let r = describe(&mut w, 4, "nope").await;
    assert_eq!(r.results[0].error_code, 3);

    // IncrementalAlterConfigs: SET, APPEND, SUBTRACT, DELETE.
    assert_eq!(
        incremental(&mut w, "t", &[("cleanup.policy", 2, Some("compact"))]).await,
        0
    );
    assert_eq!(
        config_value(&mut w, "t", "cleanup.policy").await,
        ("delete,compact".into(), 1)
    );
    let log = broker.replicas().log("t", 0).unwrap();
    assert!(log.config().cleanup_policy.compact && log.config().cleanup_policy.delete);
    assert_eq!(
        incremental(&mut w, "t", &[("cleanup.policy", 3, Some("delete"))]).await,
        0
    );
    assert!(log.config().cleanup_policy.compact && !log.config().cleanup_policy.delete);
    assert_eq!(
        incremental(
            &mut w,
            "t",
            &[
                ("retention.bytes", 0, Some("4096")),
                ("segment.ms", 1, None)
            ]
        )
        .await,
        0
    );
    assert_eq!(log.config().retention_bytes, Some(4096));
    assert_eq!(
        config_value(&mut w, "t", "segment.ms").await,
        ("604800000".into(), 5)
    );
    // Errors: bad value, unknown config, APPEND on a non-list, unknown topic.
    assert_eq!(
        incremental(&mut w, "t", &[("retention.bytes", 0, Some("lots"))]).await,
        40
    );
    assert_eq!(
        incremental(&mut w, "t", &[("no.such", 0, Some("1"))]).await,
        40
    );
    // APPEND to a config that is not a list: INVALID_CONFIG, as Kafka.
    assert_eq!(
        incremental(&mut w, "t", &[("retention.ms", 2, Some("1"))]).await,
        40
    );
    // DELETE of a name Kafka does not know is a no-op there.
    assert_eq!(incremental(&mut w, "t", &[("no.such", 1, None)]).await, 0);
    assert_eq!(
        incremental(&mut w, "nope", &[("retention.ms", 0, Some("1"))]).await,
        3
    );
    assert_eq!(log.config().retention_bytes, Some(4096), "nothing changed");
    // Subtracting the last policy leaves an invalid value.
    assert_eq!(
        incremental(&mut w, "t", &[("cleanup.policy", 3, Some("compact"))]).await,
        40
    );

    // AlterConfigs replaces all overrides; errors per resource; read-only broker configs
    // are refused (dynamic ones: tests/dynamic_broker_config.rs).
    use alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let alter = |t: &str, rt: i8, k: &str, v: &str| {
        AlterConfigsResource::default()
            .with_resource_type(rt)
            .with_resource_name(s(t))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s(k))
                .with_value(Some(s(v)))])
    };
    let req = AlterConfigsRequest::default().with_resources(vec![
        alter("t", 2, "max.message.bytes", "2048"),
        alter("t2", 2, "retention.ms", "1"),
        alter("1", 4, "node.id", "7"),
    ]);
    let r: AlterConfigsResponse = w.call(ApiKey::AlterConfigs, 2, &req).await;
    let codes: Vec<i16> = r.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 3, 42]);
    assert_eq!(log.config().max_batch_bytes, 2048);
    assert_eq!(log.config().retention_bytes, None, "overrides replaced");
    let req =
        AlterConfigsRequest::default().with_resources(vec![alter("t", 2, "segment.bytes", "1")]);
    let r: AlterConfigsResponse = w.call(ApiKey::AlterConfigs, 0, &req).await;
    assert_eq!(r.responses[0].error_code, 40);

    // Broker resource.
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(s("1"))
            .with_configuration_keys(Some(vec![s("log.retention.ms"), s("num.partitions")]))]);
    let r: DescribeConfigsResponse = w.call(ApiKey::DescribeConfigs, 2, &req).await;
    let c = &r.results[0].configs;
    assert_eq!(c.len(), 2);
    // As Kafka: num.partitions is read-only, log.retention.ms can change at run time.
    let read_only = |n: &str| c.iter().find(|c| c.name.as_str() == n).unwrap().read_only;
    assert!(read_only("num.partitions"));
    assert!(!read_only("log.retention.ms"));
    assert_eq!(
        c.iter()
            .find(|c| c.name.as_str() == "log.retention.ms")
            .unwrap()
            .config_source,
        4
    );

    // The overrides survive a restart and apply to the reopened logs.
    drop(w);
    drop(log);
    broker.shutdown().await.unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let log = broker.replicas().log("t", 0).unwrap();
    assert_eq!(log.config().max_batch_bytes, 2048);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_by_id_cluster_log_dirs_and_partition_paging() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    create(
        &mut w,
        7,
        vec![
            topic("p1", 3, 1, &[]),
            topic("p2", 2, 1, &[]),
            topic("p3", 1, 1, &[]),
        ],
    )
    .await;

    // DescribeCluster.
    for v in 0..=2 {
        // v2 asks for fenced brokers too; the one broker is never fenced.
        let req = DescribeClusterRequest::default().with_include_fenced_brokers(v >= 2);
        let r: DescribeClusterResponse = w.call(ApiKey::DescribeCluster, v, &req).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.brokers.len(), 1);
        assert!(!r.brokers[0].is_fenced);
        assert_eq!(r.brokers[0].broker_id.0, 1);
        assert_eq!(r.controller_id.0, 1);
        assert_eq!(r.brokers[0].port, i32::from(broker.local_addr().port()));
        assert!(!r.cluster_id.is_empty());
    }

    // DescribeLogDirs: all partitions, or the ones asked for.
    for v in 1..=4 {
        let r: DescribeLogDirsResponse = w
            .call(
                ApiKey::DescribeLogDirs,
                v,
                &DescribeLogDirsRequest::default().with_topics(None),
            )
            .await;
        assert_eq!(r.results.len(), 1);
        let parts: usize = r.results[0].topics.iter().map(|t| t.partitions.len()).sum();
        assert_eq!(parts, 6, "v{v}");
    }

    // DescribeTopicPartitions, two partitions a page.
    let mut cursor = None;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let req = DescribeTopicPartitionsRequest::default()
            .with_response_partition_limit(2)
            .with_cursor(cursor.take());
        let r: DescribeTopicPartitionsResponse =
            w.call(ApiKey::DescribeTopicPartitions, 0, &req).await;
        for t in &r.topics {
            for p in &t.partitions {
                seen.push((t.name.as_ref().unwrap().0.to_string(), p.partition_index));
            }
        }
        match r.next_cursor {
            Some(c) => {
                cursor = Some(
                    kafka_protocol::messages::describe_topic_partitions_request::Cursor::default()
                        .with_topic_name(c.topic_name)
                        .with_partition_index(c.partition_index),
                )
            }
            None => break,
        }
    }
    let expected: Vec<(String, i32)> = [
        ("p1", 0),
        ("p1", 1),
        ("p1", 2),
        ("p2", 0),
        ("p2", 1),
        ("p3", 0),
    ]
    .iter()
    .map(|(t, p)| (t.to_string(), *p))
    .collect();
    assert_eq!(seen, expected);
    let req = DescribeTopicPartitionsRequest::default()
        .with_topics(vec![TopicRequest::default().with_name(name("ghost"))]);
    let r: DescribeTopicPartitionsResponse = w.call(ApiKey::DescribeTopicPartitions, 0, &req).await;
    assert_eq!(r.topics[0].error_code, 3);

    // CreatePartitions errors: unknown topic, fewer partitions.
    let req = CreatePartitionsRequest::default().with_topics(vec![
        kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
            .with_name(name("ghost"))
            .with_count(2),
        kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
            .with_name(name("p1"))
            .with_count(3),
    ]);
    let r: CreatePartitionsResponse = w.call(ApiKey::CreatePartitions, 3, &req).await;
    let codes: Vec<i16> = r.results.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![3, 37]);

    // DeleteTopics v6 by id, by name, unknown id.
    let id = broker.replicas().topics().get("p2").unwrap().id;
    let req = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_topic_id(id),
        DeleteTopicState::default().with_name(Some(name("p3"))),
        DeleteTopicState::default().with_topic_id(Uuid::new_v4()),
    ]);
    let r: DeleteTopicsResponse = w.call(ApiKey::DeleteTopics, 6, &req).await;
    let got: Vec<(Option<String>, i16)> = r
        .responses
        .iter()
        .map(|r| (r.name.as_ref().map(|n| n.0.to_string()), r.error_code))
        .collect();
    assert_eq!(
        got,
        vec![(Some("p2".into()), 0), (Some("p3".into()), 0), (None, 100)]
    );
    assert_eq!(r.responses[0].topic_id, id);
    assert!(broker.replicas().topics().get("p2").is_none());
    // v1 by name.
    let req = DeleteTopicsRequest::default().with_topic_names(vec![name("p1"), name("p1x")]);
    let r: DeleteTopicsResponse = w.call(ApiKey::DeleteTopics, 1, &req).await;
    let codes: Vec<i16> = r.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![0, 3]);
    assert!(broker.replicas().topics().list().is_empty());
    drop(w);
    broker.shutdown().await.unwrap();
    // Deleted topics stay deleted after a restart.
    let broker = start_broker(dir.path(), &[]).await;
    assert!(broker.replicas().topics().list().is_empty());
    broker.shutdown().await.unwrap();
}

fn keyless_batch() -> BytesMut {
    let record = Record {
        delete_horizon: false,
        transactional: false,
        control: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1,
        key: None,
        value: Some(Bytes::from_static(b"v")),
        headers: Default::default(),
    };
    batches::encode(&[record], Compression::None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_records_on_compacted_topics_are_invalid_records() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    create(
        &mut w,
        7,
        vec![topic("compacted", 1, 1, &[("cleanup.policy", "compact")])],
    )
    .await;
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("compacted"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(keyless_batch().freeze()))])]);
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &req).await;
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 87);
    assert_eq!(p.record_errors.len(), 1);
    assert_eq!(p.record_errors[0].batch_index, 0);
    assert!(p.error_message.is_some());
    assert_eq!(
        broker
            .replicas()
            .log("compacted", 0)
            .unwrap()
            .log_end_offset(),
        0
    );
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_kafka_topic_config_is_accepted_and_min_insync_replicas_holds() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    // Configs admin tools set at creation, meaningless or fixed on one broker, are
    // accepted as Kafka accepts them.
    let tools = [
        ("min.insync.replicas", "2"),
        ("unclean.leader.election.enable", "false"),
        ("compression.zstd.level", "5"),
        ("segment.index.bytes", "10485760"),
        ("segment.jitter.ms", "0"),
        ("flush.messages", "10000"),
        ("preallocate", "false"),
        ("remote.storage.enable", "false"),
        ("leader.replication.throttled.replicas", "*"),
    ];
    let r = create(&mut w, 7, vec![topic("strict", 1, 1, &tools)]).await;
    assert_eq!(r.topics[0].error_code, 0, "{:?}", r.topics[0].error_message);
    for (key, value) in tools {
        assert_eq!(
            config_value(&mut w, "strict", key).await,
            (value.to_string(), 1),
            "{key} is described as the topic's own"
        );
    }
    // Refused as Kafka 4 refuses them.
    for (key, value) in [
        ("segment.bytes", "1048575"),
        ("remote.storage.enable", "true"),
        ("min.insync.replicas", "0"),
        ("compression.gzip.level", "10"),
    ] {
        let r = create(&mut w, 7, vec![topic("refused", 1, 1, &[(key, value)])]).await;
        assert_eq!(r.topics[0].error_code, 40, "{key}={value}");
    }
    // One broker is the whole ISR: acks=all to a topic wanting 2 in sync is refused with
    // NOT_ENOUGH_REPLICAS and nothing is appended; acks=1 is accepted.
    let produce = |acks: i16| {
        ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(name("strict"))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(keyless_batch().freeze()))])])
    };
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &produce(-1)).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 19);
    let log = broker.replicas().log("strict", 0).unwrap();
    assert_eq!(log.log_end_offset(), 0);
    let r: ProduceResponse = w.call(ApiKey::Produce, 9, &produce(1)).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
    assert_eq!(log.log_end_offset(), 1);
    drop(w);
    broker.shutdown().await.unwrap();
}

#[tokio::test]
async fn delete_records_needs_the_delete_policy_and_operations_are_all_allowed() {
    use kafka_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsTopic,
    };
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    use kafka_protocol::messages::{
        DeleteRecordsRequest, DeleteRecordsResponse, MetadataRequest, MetadataResponse,
    };
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let r = create(
        &mut w,
        7,
        vec![
            topic("compacted", 1, 1, &[("cleanup.policy", "compact")]),
            topic("both", 1, 1, &[("cleanup.policy", "compact,delete")]),
        ],
    )
    .await;
    assert!(r.topics.iter().all(|t| t.error_code == 0));
    // DeleteRecords is a retention operation: POLICY_VIOLATION (44) on a compact-only
    // topic whatever the offset, as Kafka; a topic that also deletes accepts it.
    for (t, offset, want) in [("compacted", 0, 44), ("compacted", 99, 44), ("both", 0, 0)] {
        let req = DeleteRecordsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(vec![DeleteRecordsTopic::default()
                .with_name(name(t))
                .with_partitions(vec![DeleteRecordsPartition::default()
                    .with_partition_index(0)
                    .with_offset(offset)])]);
        let r: DeleteRecordsResponse = w.call(ApiKey::DeleteRecords, 2, &req).await;
        assert_eq!(
            r.topics[0].partitions[0].error_code, want,
            "{t} at {offset}"
        );
    }
    // No authorizer: a client asking for authorized operations is told every operation of
    // the resource type is allowed; one not asking gets the "omitted" marker.
    for asked in [false, true] {
        let r: DescribeClusterResponse = w
            .call(
                ApiKey::DescribeCluster,
                1,
                &DescribeClusterRequest::default()
                    .with_include_cluster_authorized_operations(asked),
            )
            .await;
        let want = if asked { 8096 } else { i32::MIN };
        assert_eq!(r.cluster_authorized_operations, want);
        let r: MetadataResponse = w
            .call(
                ApiKey::Metadata,
                10,
                &MetadataRequest::default()
                    .with_topics(Some(vec![
                        MetadataRequestTopic::default().with_name(Some(name("both")))
                    ]))
                    .with_include_cluster_authorized_operations(asked)
                    .with_include_topic_authorized_operations(asked),
            )
            .await;
        assert_eq!(r.cluster_authorized_operations, want);
        let want = if asked { 3576 } else { i32::MIN };
        assert_eq!(r.topics[0].topic_authorized_operations, want);
    }
    drop(w);
    broker.shutdown().await.unwrap();
}
