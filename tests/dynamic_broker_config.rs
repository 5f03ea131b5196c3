//! Dynamic broker configs over the wire: IncrementalAlterConfigs and AlterConfigs on the
//! BROKER resource (this node id, or empty for the cluster-wide default), what
//! DescribeConfigs then reports (value, source, synonyms, read-only flag), the change
//! taking effect on the live logs, and the change surviving a restart.
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

use common::start_broker;
use common::wire::Wire;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResourceResult;
use kafka_protocol::messages::{
    alter_configs_request, incremental_alter_configs_request, AlterConfigsRequest,
    AlterConfigsResponse, ApiKey, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;

const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const DYNAMIC_BROKER_CONFIG: i8 = 2;
const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
const DEFAULT_CONFIG: i8 = 5;

const INVALID_REQUEST: i16 = 42;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// IncrementalAlterConfigs on one resource; its error code.
async fn incremental(
    w: &mut Wire,
    resource_type: i8,
    resource: &str,
    validate_only: bool,
    ops: &[(&str, i8, Option<&str>)],
) -> i16 {
    use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let req = IncrementalAlterConfigsRequest::default()
        .with_validate_only(validate_only)
        .with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(resource))
            .with_configs(
                ops.iter()
                    .map(|(k, op, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(*op)
                            .with_value(v.map(s))
                    })
                    .collect(),
            )]);
    let r: IncrementalAlterConfigsResponse = w.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    r.responses[0].error_code
}

/// DescribeConfigs (v4, synonyms and documentation) of one resource.
async fn describe(
    w: &mut Wire,
    resource_type: i8,
    resource: &str,
    keys: Option<&[&str]>,
) -> (i16, Vec<DescribeConfigsResourceResult>) {
    let mut req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(resource))
            .with_configuration_keys(keys.map(|k| k.iter().map(|k| s(k)).collect()))]);
    req.include_synonyms = true;
    req.include_documentation = true;
    let r: DescribeConfigsResponse = w.call(ApiKey::DescribeConfigs, 4, &req).await;
    let result = r.results.into_iter().next().unwrap();
    (result.error_code, result.configs)
}

async fn entry(
    w: &mut Wire,
    resource_type: i8,
    resource: &str,
    name: &str,
) -> DescribeConfigsResourceResult {
    let (error, configs) = describe(w, resource_type, resource, Some(&[name])).await;
    assert_eq!(error, 0, "describe {resource} {name}");
    assert_eq!(configs.len(), 1, "{configs:?}");
    configs.into_iter().next().unwrap()
}

fn value(e: &DescribeConfigsResourceResult) -> Option<&str> {
    e.value.as_ref().map(|v| v.as_str())
}

fn synonyms(e: &DescribeConfigsResourceResult) -> Vec<(String, Option<String>, i8)> {
    e.synonyms
        .iter()
        .map(|s| {
            (
                s.name.to_string(),
                s.value.as_ref().map(|v| v.to_string()),
                s.source,
            )
        })
        .collect()
}

fn syn(name: &str, value: &str, source: i8) -> (String, Option<String>, i8) {
    (name.to_string(), Some(value.to_string()), source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_broker_configs_are_described_applied_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    w.create_topic("t").await;
    let log = broker.replicas().log("t", 0).unwrap();
    assert_eq!(log.config().max_batch_bytes, 1_048_588);

    // Nothing set at run time: the cluster default resource lists nothing.
    assert_eq!(describe(&mut w, BROKER, "", None).await, (0, vec![]));
    let e = entry(&mut w, BROKER, "1", "message.max.bytes").await;
    assert!(!e.read_only, "message.max.bytes can change at run time");
    assert_eq!(e.config_source, DEFAULT_CONFIG);
    assert!(e.documentation.is_some());

    // Cluster-wide default, checked first (validate_only), then set.
    let set_default = [("message.max.bytes", SET, Some("2048"))];
    assert_eq!(incremental(&mut w, BROKER, "", true, &set_default).await, 0);
    assert_eq!(log.config().max_batch_bytes, 1_048_588, "validate_only");
    assert_eq!(
        incremental(&mut w, BROKER, "", false, &set_default).await,
        0
    );
    assert_eq!(
        log.config().max_batch_bytes,
        2048,
        "applied to the live log"
    );
    let e = entry(&mut w, BROKER, "1", "message.max.bytes").await;
    assert_eq!(value(&e), Some("2048"));
    assert_eq!(e.config_source, DYNAMIC_DEFAULT_BROKER_CONFIG);
    assert_eq!(
        synonyms(&e),
        vec![
            syn("message.max.bytes", "2048", DYNAMIC_DEFAULT_BROKER_CONFIG),
            syn("message.max.bytes", "1048588", DEFAULT_CONFIG),
        ]
    );
    let (error, configs) = describe(&mut w, BROKER, "", None).await;
    assert_eq!(error, 0);
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["message.max.bytes"]);
    assert_eq!(configs[0].config_source, DYNAMIC_DEFAULT_BROKER_CONFIG);
    // The cluster-wide default resource lists its own layer only (as Kafka 4.1.1 does).
    assert_eq!(
        synonyms(&configs[0]),
        vec![syn(
            "message.max.bytes",
            "2048",
            DYNAMIC_DEFAULT_BROKER_CONFIG
        )]
    );
    // The topic's max.message.bytes takes the broker's value and names its source.
    let e = entry(&mut w, TOPIC, "t", "max.message.bytes").await;
    assert_eq!(value(&e), Some("2048"));
    assert_eq!(e.config_source, DYNAMIC_DEFAULT_BROKER_CONFIG);

    // This broker's own value wins over the cluster default.
    let set_mine = [("message.max.bytes", SET, Some("4096"))];
    assert_eq!(incremental(&mut w, BROKER, "1", false, &set_mine).await, 0);
    assert_eq!(log.config().max_batch_bytes, 4096);
    let e = entry(&mut w, BROKER, "1", "message.max.bytes").await;
    assert_eq!(e.config_source, DYNAMIC_BROKER_CONFIG);
    assert_eq!(
        synonyms(&e),
        vec![
            syn("message.max.bytes", "4096", DYNAMIC_BROKER_CONFIG),
            syn("message.max.bytes", "2048", DYNAMIC_DEFAULT_BROKER_CONFIG),
            syn("message.max.bytes", "1048588", DEFAULT_CONFIG),
        ]
    );
    let e = entry(&mut w, TOPIC, "t", "max.message.bytes").await;
    assert_eq!(e.config_source, DYNAMIC_BROKER_CONFIG);
    // A topic override still wins over both.
    let o = [("max.message.bytes", SET, Some("1000"))];
    assert_eq!(incremental(&mut w, TOPIC, "t", false, &o).await, 0);
    assert_eq!(log.config().max_batch_bytes, 1000);
    let e = entry(&mut w, TOPIC, "t", "max.message.bytes").await;
    assert_eq!(e.config_source, DYNAMIC_TOPIC_CONFIG);
    assert_eq!(
        synonyms(&e),
        vec![
            syn("max.message.bytes", "1000", DYNAMIC_TOPIC_CONFIG),
            syn("message.max.bytes", "4096", DYNAMIC_BROKER_CONFIG),
            syn("message.max.bytes", "2048", DYNAMIC_DEFAULT_BROKER_CONFIG),
            syn("message.max.bytes", "1048588", DEFAULT_CONFIG),
        ]
    );
    let o = [("max.message.bytes", DELETE, None)];
    assert_eq!(incremental(&mut w, TOPIC, "t", false, &o).await, 0);
    assert_eq!(log.config().max_batch_bytes, 4096);

    // A list config: APPEND starts from the value in force.
    let append = [("log.cleanup.policy", APPEND, Some("compact"))];
    assert_eq!(incremental(&mut w, BROKER, "", false, &append).await, 0);
    assert!(log.config().cleanup_policy.compact && log.config().cleanup_policy.delete);
    let e = entry(&mut w, BROKER, "1", "log.cleanup.policy").await;
    assert_eq!(value(&e), Some("delete,compact"));

    // Refused as Kafka refuses them: read-only configs (also Kafka ones Skiff lacks),
    // invalid values, another broker. Nothing changes.
    for (resource, name, v) in [
        ("1", "node.id", "7"),
        ("1", "num.partitions", "3"),
        ("", "log.retention.check.interval.ms", "1"),
        ("1", "log.dirs", "/tmp/nowhere"),
        ("1", "message.max.bytes", "-1"),
        ("", "log.cleanup.policy", "shred"),
        ("2", "message.max.bytes", "1"),
    ] {
        let op = [(name, SET, Some(v))];
        assert_eq!(
            incremental(&mut w, BROKER, resource, false, &op).await,
            INVALID_REQUEST,
            "{resource} {name}={v}"
        );
    }
    assert_eq!(log.config().max_batch_bytes, 4096);
    assert_eq!(describe(&mut w, BROKER, "2", None).await.0, INVALID_REQUEST);
    // A name Kafka does not know is kept as a custom config (as Kafka keeps it).
    let custom = [("no.such.config", SET, Some("1"))];
    assert_eq!(incremental(&mut w, BROKER, "1", false, &custom).await, 0);

    // AlterConfigs replaces a resource's run-time configs: the cluster default now holds
    // log.retention.ms only (message.max.bytes and log.cleanup.policy go back).
    use alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(BROKER)
        .with_resource_name(s(""))
        .with_configs(vec![AlterableConfig::default()
            .with_name(s("log.retention.ms"))
            .with_value(Some(s("3600000")))])]);
    let r: AlterConfigsResponse = w.call(ApiKey::AlterConfigs, 2, &req).await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(log.config().retention_ms, Some(3_600_000));
    assert!(!log.config().cleanup_policy.compact);
    assert_eq!(
        log.config().max_batch_bytes,
        4096,
        "this broker's own value stays"
    );
    let (_, configs) = describe(&mut w, BROKER, "", None).await;
    let names: Vec<&str> = configs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["log.retention.ms"]);

    // Everything survives a restart, and applies to the reopened logs from the start.
    drop(w);
    drop(log);
    broker.shutdown().await.unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let log = broker.replicas().log("t", 0).unwrap();
    assert_eq!(log.config().max_batch_bytes, 4096);
    assert_eq!(log.config().retention_ms, Some(3_600_000));
    let mut w = Wire::connect(&broker).await;
    let e = entry(&mut w, BROKER, "1", "message.max.bytes").await;
    assert_eq!(e.config_source, DYNAMIC_BROKER_CONFIG);
    let e = entry(&mut w, TOPIC, "t", "retention.ms").await;
    assert_eq!(value(&e), Some("3600000"));
    assert_eq!(e.config_source, DYNAMIC_DEFAULT_BROKER_CONFIG);
    // A topic created now takes the values in force too.
    w.create_topic("u").await;
    let u = broker.replicas().log("u", 0).unwrap();
    assert_eq!(u.config().max_batch_bytes, 4096);
    // Deleting this broker's value falls back to the (now empty) default layer.
    let del = [("message.max.bytes", DELETE, None)];
    assert_eq!(incremental(&mut w, BROKER, "1", false, &del).await, 0);
    assert_eq!(u.config().max_batch_bytes, 1_048_588);
    drop(w);
    drop((log, u));
    broker.shutdown().await.unwrap();
}
