//! The answers of a one-node cluster (issue 12), over raw TCP with requests built by
//! `kafka-protocol`, checked against what Kafka 4.1.1 answers (recorded by the diff suite's
//! `java-cluster` and `kafka-python-cluster` scenarios): DescribeQuorum, ElectLeaders,
//! AlterPartitionReassignments, ListPartitionReassignments, ListConfigResources and the
//! Kafka-named static configs of the BROKER resource.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use common::start_broker;
use common::wire::Wire;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    CreateTopicsRequest, CreateTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    DescribeQuorumRequest, DescribeQuorumResponse, ElectLeadersRequest, ElectLeadersResponse,
    ListConfigResourcesRequest, ListConfigResourcesResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const UNSUPPORTED_VERSION: i16 = 35;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_REQUEST: i16 = 42;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;

fn name(v: &str) -> TopicName {
    TopicName(StrBytes::from_string(v.to_string()))
}

async fn create_topic(w: &mut Wire, topic: &str, partitions: i32) {
    let req = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1)])
        .with_timeout_ms(5000);
    let r: CreateTopicsResponse = w.call(ApiKey::CreateTopics, 7, &req).await;
    assert_eq!(r.topics[0].error_code, 0);
}

fn quorum_request(topic: &str, partition: i32) -> DescribeQuorumRequest {
    DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(name(topic))
        .with_partitions(vec![
            PartitionData::default().with_partition_index(partition)
        ])])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_quorum_lists_this_node_as_the_only_voter_and_leader() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["node.id=7"]).await;
    let mut w = Wire::connect(&broker).await;
    for version in 0..=2 {
        let r: DescribeQuorumResponse = w
            .call(
                ApiKey::DescribeQuorum,
                version,
                &quorum_request("__cluster_metadata", 0),
            )
            .await;
        assert_eq!(r.error_code, 0);
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.leader_id, p.leader_epoch),
            (0, BrokerId(7), 1)
        );
        assert!(p.high_watermark > 0, "{p:?}");
        assert_eq!(p.current_voters.len(), 1);
        assert!(p.observers.is_empty());
        let voter = &p.current_voters[0];
        assert_eq!(
            (voter.replica_id, voter.log_end_offset),
            (BrokerId(7), p.high_watermark)
        );
        if version >= 1 {
            assert!(voter.last_fetch_timestamp > 0 && voter.last_caught_up_timestamp > 0);
        }
        if version == 2 {
            assert_eq!(r.nodes.len(), 1);
            assert_eq!(r.nodes[0].node_id, BrokerId(7));
            let l = &r.nodes[0].listeners[0];
            assert_eq!(
                (l.host.as_str(), i32::from(l.port)),
                ("127.0.0.1", i32::from(broker.local_addr().port()))
            );
        }
    }
    // Anything but partition 0 of the metadata topic: UNKNOWN_TOPIC_OR_PARTITION on it.
    for (topic, partition) in [("other", 0), ("__cluster_metadata", 1)] {
        let r: DescribeQuorumResponse = w
            .call(ApiKey::DescribeQuorum, 2, &quorum_request(topic, partition))
            .await;
        assert_eq!(r.error_code, 0);
        assert_eq!(r.topics[0].topic_name, name(topic));
        let p = &r.topics[0].partitions[0];
        assert_eq!(
            (p.partition_index, p.error_code),
            (partition, UNKNOWN_TOPIC_OR_PARTITION)
        );
    }
}

fn elect_request(
    election_type: i8,
    partitions: Option<Vec<(&str, Vec<i32>)>>,
) -> ElectLeadersRequest {
    ElectLeadersRequest::default()
        .with_election_type(election_type)
        .with_timeout_ms(5000)
        .with_topic_partitions(partitions.map(|ps| {
            ps.into_iter()
                .map(|(t, p)| {
                    TopicPartitions::default()
                        .with_topic(name(t))
                        .with_partitions(p)
                })
                .collect()
        }))
}

fn election_codes(r: &ElectLeadersResponse) -> Vec<(String, i32, i16)> {
    let mut out: Vec<_> = r
        .replica_election_results
        .iter()
        .flat_map(|t| {
            t.partition_result
                .iter()
                .map(|p| (t.topic.to_string(), p.partition_id, p.error_code))
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elect_leaders_is_never_needed_on_one_node() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    create_topic(&mut w, "t", 2).await;
    for (version, election_type) in [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1)] {
        let named = Some(vec![("t", vec![0, 1, 9]), ("missing", vec![0])]);
        let r: ElectLeadersResponse = w
            .call(
                ApiKey::ElectLeaders,
                version,
                &elect_request(election_type, named),
            )
            .await;
        assert_eq!(r.error_code, 0);
        assert_eq!(
            election_codes(&r),
            vec![
                ("missing".to_string(), 0, UNKNOWN_TOPIC_OR_PARTITION),
                ("t".to_string(), 0, ELECTION_NOT_NEEDED),
                ("t".to_string(), 1, ELECTION_NOT_NEEDED),
                ("t".to_string(), 9, UNKNOWN_TOPIC_OR_PARTITION),
            ],
            "v{version} type {election_type}"
        );
        assert!(r
            .replica_election_results
            .iter()
            .flat_map(|t| &t.partition_result)
            .all(|p| p.error_message.is_some()));
        // All partitions (null): those that needed no election are left out.
        let all: ElectLeadersResponse = w
            .call(
                ApiKey::ElectLeaders,
                version,
                &elect_request(election_type, None),
            )
            .await;
        assert_eq!(all.error_code, 0);
        assert!(all
            .replica_election_results
            .iter()
            .any(|t| t.topic == name("t")));
        assert!(election_codes(&all).is_empty(), "{all:?}");
    }
    let bad: ElectLeadersResponse = w
        .call(
            ApiKey::ElectLeaders,
            2,
            &elect_request(5, Some(vec![("t", vec![0])])),
        )
        .await;
    assert_eq!(bad.error_code, INVALID_REQUEST);
}

fn reassign(parts: Vec<(&str, i32, Option<Vec<i32>>)>) -> AlterPartitionReassignmentsRequest {
    let topics = parts
        .into_iter()
        .map(|(t, p, replicas)| {
            ReassignableTopic::default()
                .with_name(name(t))
                .with_partitions(vec![ReassignablePartition::default()
                    .with_partition_index(p)
                    .with_replicas(replicas.map(|r| r.into_iter().map(BrokerId).collect()))])
        })
        .collect();
    AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(5000)
        .with_topics(topics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassignments_to_this_node_complete_at_once_and_others_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    create_topic(&mut w, "t", 2).await;
    for version in 0..=1 {
        let mut req = reassign(vec![
            ("t", 0, Some(vec![1])),
            ("t", 1, Some(vec![4242])),
            ("t", 1, Some(vec![1, 4242])),
            ("t", 1, Some(vec![1, 1])),
            ("t", 1, Some(vec![])),
            ("t", 0, None),
            ("missing", 0, Some(vec![1])),
            ("t", 9, None),
        ]);
        // v1 only: refusing a replication factor change changes nothing on one node.
        req.allow_replication_factor_change = version == 0;
        let r: AlterPartitionReassignmentsResponse = w
            .call(ApiKey::AlterPartitionReassignments, version, &req)
            .await;
        assert_eq!(r.error_code, 0);
        let codes: Vec<i16> = r
            .responses
            .iter()
            .map(|t| t.partitions[0].error_code)
            .collect();
        assert_eq!(
            codes,
            vec![
                0,
                INVALID_REPLICA_ASSIGNMENT,
                INVALID_REPLICA_ASSIGNMENT,
                INVALID_REPLICA_ASSIGNMENT,
                INVALID_REPLICA_ASSIGNMENT,
                NO_REASSIGNMENT_IN_PROGRESS,
                UNKNOWN_TOPIC_OR_PARTITION,
                UNKNOWN_TOPIC_OR_PARTITION,
            ]
        );
        assert!(r.responses[0].partitions[0].error_message.is_none());
        assert!(r.responses[1].partitions[0].error_message.is_some());
        if version >= 1 {
            assert!(!r.allow_replication_factor_change);
        }
    }
    // Nothing is ever in progress, whether all, named or unknown partitions are asked for.
    for topics in [
        None,
        Some(vec![
            ListPartitionReassignmentsTopics::default()
                .with_name(name("t"))
                .with_partition_indexes(vec![0, 1]),
            ListPartitionReassignmentsTopics::default()
                .with_name(name("missing"))
                .with_partition_indexes(vec![0]),
        ]),
    ] {
        let req = ListPartitionReassignmentsRequest::default()
            .with_timeout_ms(5000)
            .with_topics(topics);
        let r: ListPartitionReassignmentsResponse =
            w.call(ApiKey::ListPartitionReassignments, 0, &req).await;
        assert_eq!(r.error_code, 0);
        assert!(r.topics.is_empty());
    }
}

async fn list_resources(w: &mut Wire, version: i16, types: Vec<i8>) -> ListConfigResourcesResponse {
    let req = ListConfigResourcesRequest::default().with_resource_types(types);
    w.call(ApiKey::ListConfigResources, version, &req).await
}

fn listed(r: &ListConfigResourcesResponse) -> Vec<(i8, String)> {
    let mut out: Vec<_> = r
        .config_resources
        .iter()
        .map(|c| (c.resource_type, c.resource_name.to_string()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_config_resources_lists_topics_and_this_broker() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["node.id=3"]).await;
    let mut w = Wire::connect(&broker).await;
    create_topic(&mut w, "b", 1).await;
    create_topic(&mut w, "a", 1).await;
    let all = list_resources(&mut w, 1, vec![]).await;
    assert_eq!(all.error_code, 0);
    assert_eq!(
        listed(&all),
        vec![(2, "a".into()), (2, "b".into()), (4, "3".into())]
    );
    let topics = list_resources(&mut w, 1, vec![2]).await;
    assert_eq!(listed(&topics), vec![(2, "a".into()), (2, "b".into())]);
    for empty in [8, 16, 32] {
        let r = list_resources(&mut w, 1, vec![empty]).await;
        assert_eq!(
            (r.error_code, r.config_resources.len()),
            (0, 0),
            "type {empty}"
        );
    }
    // v0 (ListClientMetricsResources): client-metrics resources only, and there are none.
    let v0 = list_resources(&mut w, 0, vec![]).await;
    assert_eq!((v0.error_code, v0.config_resources.len()), (0, 0));
    for unknown in [0, 1, 99] {
        let r = list_resources(&mut w, 1, vec![2, unknown]).await;
        assert_eq!(r.error_code, UNSUPPORTED_VERSION, "type {unknown}");
        assert!(r.config_resources.is_empty());
    }
}

async fn broker_config(w: &mut Wire, node: &str, keys: &[&str]) -> DescribeConfigsResponse {
    let mut req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_string(node.to_string()))
            .with_configuration_keys(Some(
                keys.iter()
                    .map(|k| StrBytes::from_string((*k).to_string()))
                    .collect(),
            ))]);
    req.include_synonyms = true;
    w.call(ApiKey::DescribeConfigs, 4, &req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_describes_its_static_configs_under_kafka_names() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        &["node.id=5", "advertised.listener=localhost:9999"],
    )
    .await;
    let mut w = Wire::connect(&broker).await;
    let keys = [
        "listeners",
        "advertised.listeners",
        "broker.id",
        "node.id",
        "process.roles",
        "log.dirs",
        "listener.security.protocol.map",
        "broker.rack",
    ];
    let r = broker_config(&mut w, "5", &keys).await;
    let entries = &r.results[0].configs;
    let get = |n: &str| {
        let e = entries
            .iter()
            .find(|e| e.name.as_str() == n)
            .unwrap_or_else(|| panic!("{n}"));
        (
            e.value.as_ref().map(|v| v.to_string()),
            e.config_source,
            e.read_only,
        )
    };
    const STATIC: i8 = 4;
    const DEFAULT: i8 = 5;
    assert_eq!(entries.len(), keys.len());
    assert_eq!(
        get("listeners"),
        (Some("PLAINTEXT://127.0.0.1:0".into()), STATIC, true)
    );
    assert_eq!(
        get("advertised.listeners"),
        (Some("PLAINTEXT://localhost:9999".into()), STATIC, true)
    );
    assert_eq!(get("broker.id"), (Some("5".into()), STATIC, true));
    assert_eq!(get("node.id"), (Some("5".into()), STATIC, true));
    assert_eq!(
        get("process.roles"),
        (Some("broker,controller".into()), DEFAULT, true)
    );
    assert_eq!(
        get("log.dirs"),
        (Some(dir.path().display().to_string()), STATIC, true)
    );
    assert_eq!(get("broker.rack"), (None, DEFAULT, true));
    let listeners = entries
        .iter()
        .find(|e| e.name.as_str() == "listeners")
        .unwrap();
    let synonyms: Vec<i8> = listeners.synonyms.iter().map(|s| s.source).collect();
    assert_eq!(synonyms, vec![STATIC, DEFAULT]);
    // They are read-only, as Kafka's are at run time (listeners are per-broker there, but
    // Skiff cannot rebind): altering one is refused, not kept as a custom config.
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::messages::{
        IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    };
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("5"))
            .with_configs(vec![AlterableConfig::default()
                .with_name(StrBytes::from_static_str("listeners"))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_static_str("PLAINTEXT://0.0.0.0:1")))]),
    ]);
    let r: IncrementalAlterConfigsResponse = w.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    assert_eq!(r.responses[0].error_code, INVALID_REQUEST);
    // The cluster-wide default resource lists none of them.
    let d = broker_config(&mut w, "", &keys).await;
    assert!(
        d.results[0].configs.is_empty(),
        "{:?}",
        d.results[0].configs
    );
}
