//! Client telemetry (KIP-714): client-metrics subscriptions as config resources, the
//! GetTelemetrySubscriptions / PushTelemetry exchange with Kafka's checks, librdkafka pushing
//! the metrics it is subscribed to, and the receiver off by default (as on a Kafka broker
//! without a ClientTelemetry plugin).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::time::{Duration, Instant};

use common::start_broker;
use common::wire::Wire;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, ListConfigResourcesRequest,
    ListConfigResourcesResponse, PushTelemetryRequest, PushTelemetryResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::{BaseRecord, Producer};
use skiff::BrokerHandle;
use uuid::Uuid;

const CLIENT_METRICS: i8 = 16;
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const UNSUPPORTED_COMPRESSION_TYPE: i16 = 76;
const THROTTLING_QUOTA_EXCEEDED: i16 = 89;
const UNKNOWN_SUBSCRIPTION_ID: i16 = 117;
const TELEMETRY_TOO_LARGE: i16 = 118;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Sets (or with `None` deletes) configs of client-metrics resource `name`; the error code.
async fn alter(wire: &mut Wire, name: &str, configs: &[(&str, Option<&str>)]) -> i16 {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(CLIENT_METRICS)
            .with_resource_name(s(name))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(if v.is_some() { OP_SET } else { OP_DELETE })
                            .with_value(v.map(s))
                    })
                    .collect(),
            ),
    ]);
    let r: IncrementalAlterConfigsResponse =
        wire.call(ApiKey::IncrementalAlterConfigs, 1, &req).await;
    r.responses[0].error_code
}

async fn list_client_metrics(wire: &mut Wire) -> Vec<String> {
    let r: ListConfigResourcesResponse = wire
        .call(
            ApiKey::ListConfigResources,
            1,
            &ListConfigResourcesRequest::default().with_resource_types(vec![CLIENT_METRICS]),
        )
        .await;
    assert_eq!(r.error_code, 0);
    r.config_resources
        .iter()
        .map(|c| c.resource_name.to_string())
        .collect()
}

async fn describe(wire: &mut Wire, name: &str) -> Vec<(String, String, i8)> {
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(CLIENT_METRICS)
            .with_resource_name(s(name))]);
    let r: DescribeConfigsResponse = wire.call(ApiKey::DescribeConfigs, 4, &req).await;
    assert_eq!(r.results[0].error_code, 0);
    r.results[0]
        .configs
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                c.config_source,
            )
        })
        .collect()
}

async fn advertised(broker: &BrokerHandle) -> Vec<i16> {
    let mut wire = Wire::connect(broker).await;
    let r: ApiVersionsResponse = wire
        .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
        .await;
    r.api_keys.iter().map(|k| k.api_key).collect()
}

async fn get_subscription(wire: &mut Wire, id: Uuid) -> GetTelemetrySubscriptionsResponse {
    wire.call(
        ApiKey::GetTelemetrySubscriptions,
        0,
        &GetTelemetrySubscriptionsRequest::default().with_client_instance_id(id),
    )
    .await
}

async fn push(wire: &mut Wire, req: PushTelemetryRequest) -> i16 {
    let r: PushTelemetryResponse = wire.call(ApiKey::PushTelemetry, 0, &req).await;
    r.error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default_neither_advertised_nor_served() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let keys = advertised(&broker).await;
    assert!(!keys.contains(&(ApiKey::GetTelemetrySubscriptions as i16)));
    assert!(!keys.contains(&(ApiKey::PushTelemetry as i16)));
    // A client that asks anyway is disconnected, as by Kafka for an API it does not enable.
    let mut wire = Wire::connect(&broker).await;
    wire.send(
        ApiKey::GetTelemetrySubscriptions,
        0,
        &GetTelemetrySubscriptionsRequest::default(),
    )
    .await;
    wire.expect_closed().await;
    // Subscriptions are config resources either way (Kafka keeps them without a plugin).
    let mut wire = Wire::connect(&broker).await;
    assert_eq!(alter(&mut wire, "sub", &[("metrics", Some("*"))]).await, 0);
    assert_eq!(list_client_metrics(&mut wire).await, ["sub"]);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_checked_described_listed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["client.telemetry.enable=true"]).await;
    let keys = advertised(&broker).await;
    assert!(keys.contains(&(ApiKey::GetTelemetrySubscriptions as i16)));
    assert!(keys.contains(&(ApiKey::PushTelemetry as i16)));
    let mut wire = Wire::connect(&broker).await;
    assert_eq!(
        alter(&mut wire, "bad", &[("interval.ms", Some("99"))]).await,
        INVALID_REQUEST
    );
    assert_eq!(
        alter(&mut wire, "bad", &[("bogus", Some("1"))]).await,
        INVALID_REQUEST
    );
    assert_eq!(
        alter(&mut wire, "bad", &[("match", Some("nope=x"))]).await,
        INVALID_CONFIG
    );
    assert_eq!(
        alter(&mut wire, "", &[("metrics", Some("*"))]).await,
        INVALID_REQUEST
    );
    assert!(list_client_metrics(&mut wire).await.is_empty());
    assert_eq!(
        alter(
            &mut wire,
            "producers",
            &[
                ("metrics", Some("org.apache.kafka.producer.")),
                ("interval.ms", Some("1000")),
                ("match", Some("client_software_name=librdkafka")),
            ],
        )
        .await,
        0
    );
    assert_eq!(alter(&mut wire, "all", &[("metrics", Some("*"))]).await, 0);
    assert_eq!(list_client_metrics(&mut wire).await, ["all", "producers"]);
    let configs = describe(&mut wire, "producers").await;
    assert!(configs.contains(&("interval.ms".into(), "1000".into(), 7)));
    assert!(configs.contains(&("metrics".into(), "org.apache.kafka.producer.".into(), 7)));
    // What is not set is described with its default (source DEFAULT_CONFIG), as by Kafka,
    // also for a resource that does not exist.
    let configs = describe(&mut wire, "all").await;
    assert!(configs.contains(&("metrics".into(), "*".into(), 7)));
    assert!(configs.contains(&("interval.ms".into(), "300000".into(), 5)));
    assert_eq!(describe(&mut wire, "nothing-set").await.len(), 3);
    // Kafka 4.1.1 only sets and deletes a subscription's configs.
    let append = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(CLIENT_METRICS)
            .with_resource_name(s("all"))
            .with_configs(vec![AlterableConfig::default()
                .with_name(s("metrics"))
                .with_config_operation(2)
                .with_value(Some(s("x.")))]),
    ]);
    let r: IncrementalAlterConfigsResponse =
        wire.call(ApiKey::IncrementalAlterConfigs, 1, &append).await;
    assert_eq!(r.responses[0].error_code, INVALID_CONFIG);
    // Deleting every config removes the subscription.
    assert_eq!(alter(&mut wire, "all", &[("metrics", None)]).await, 0);
    assert_eq!(list_client_metrics(&mut wire).await, ["producers"]);
    drop(wire);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &["client.telemetry.enable=true"]).await;
    let mut wire = Wire::connect(&broker).await;
    assert_eq!(list_client_metrics(&mut wire).await, ["producers"]);
    let configs = describe(&mut wire, "producers").await;
    assert!(configs.contains(&("match".into(), "client_software_name=librdkafka".into(), 7)));
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exchange_follows_kafkas_rules() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(
        dir.path(),
        &["client.telemetry.enable=true", "telemetry.max.bytes=64"],
    )
    .await;
    let mut wire = Wire::connect_as(&broker, "app-1").await;
    // No subscription matches yet: nothing requested, Kafka's default interval.
    let first = get_subscription(&mut wire, Uuid::nil()).await;
    assert_eq!(first.error_code, 0);
    assert_ne!(first.client_instance_id, Uuid::nil());
    assert!(first.requested_metrics.is_empty());
    assert_eq!(first.push_interval_ms, 300_000);
    assert_eq!(first.telemetry_max_bytes, 64);
    assert_eq!(first.accepted_compression_types, [4, 3, 1, 2]);
    let id = first.client_instance_id;
    // Asking again before the interval is throttled.
    let again = get_subscription(&mut wire, id).await;
    assert_eq!(again.error_code, THROTTLING_QUOTA_EXCEEDED);

    // A subscription that matches this client id changes the answer at once.
    assert_eq!(
        alter(
            &mut wire,
            "apps",
            &[
                ("metrics", Some("org.apache.kafka.")),
                ("interval.ms", Some("60000")),
                ("match", Some("client_id=app-.*")),
            ],
        )
        .await,
        0
    );
    // The old subscription id is now unknown; the client may ask again at once.
    let stale = PushTelemetryRequest::default()
        .with_client_instance_id(id)
        .with_subscription_id(first.subscription_id)
        .with_metrics(bytes::Bytes::from_static(b"x"));
    assert_eq!(push(&mut wire, stale).await, UNKNOWN_SUBSCRIPTION_ID);
    let sub = get_subscription(&mut wire, id).await;
    assert_eq!(sub.error_code, 0);
    assert_eq!(sub.client_instance_id, id);
    assert_eq!(sub.requested_metrics, [s("org.apache.kafka.")]);
    assert_eq!(sub.push_interval_ms, 60_000);
    let good = |payload: &'static [u8]| {
        PushTelemetryRequest::default()
            .with_client_instance_id(id)
            .with_subscription_id(sub.subscription_id)
            .with_metrics(bytes::Bytes::from_static(payload))
    };
    assert_eq!(push(&mut wire, good(b"first push")).await, 0);
    // Before the push interval: throttled.
    assert_eq!(
        push(&mut wire, good(b"too soon")).await,
        THROTTLING_QUOTA_EXCEEDED
    );
    let kept = broker.client_metrics().received();
    assert_eq!(kept.len(), 1);
    assert_eq!(&kept[0].metrics[..], b"first push");
    assert_eq!(kept[0].client.client_id, "app-1");

    // A second instance of the client: its first push after asking is always on time, so
    // the checks after the interval's are reached without waiting it out.
    let sub2 = get_subscription(&mut wire, Uuid::nil()).await;
    assert_eq!(sub2.error_code, 0);
    assert_eq!(sub2.requested_metrics, [s("org.apache.kafka.")]);
    let id2 = sub2.client_instance_id;
    assert_ne!(id2, id);
    let second = |payload: &'static [u8], compression: i8, terminating: bool| {
        PushTelemetryRequest::default()
            .with_client_instance_id(id2)
            .with_subscription_id(sub2.subscription_id)
            .with_compression_type(compression)
            .with_terminating(terminating)
            .with_metrics(bytes::Bytes::from_static(payload))
    };
    assert_eq!(
        push(&mut wire, second(b"codec", 9, false)).await,
        UNSUPPORTED_COMPRESSION_TYPE
    );
    // After a codec refusal the client may ask again at once.
    assert_eq!(get_subscription(&mut wire, id2).await.error_code, 0);
    assert_eq!(
        push(&mut wire, second(&[b'x'; 65], 0, false)).await,
        TELEMETRY_TOO_LARGE
    );
    // A terminating push is never throttled; after it nothing more is accepted.
    assert_eq!(push(&mut wire, second(b"bye", 0, true)).await, 0);
    let kept = broker.client_metrics().received();
    let last = kept.iter().find(|r| r.client_instance_id == id2).unwrap();
    assert!(last.terminating);
    assert_eq!(&last.metrics[..], b"bye");
    assert_eq!(
        push(&mut wire, second(b"after bye", 0, true)).await,
        INVALID_REQUEST
    );
    // A zero instance id is refused.
    let zero = PushTelemetryRequest::default().with_client_instance_id(Uuid::nil());
    assert_eq!(push(&mut wire, zero).await, INVALID_REQUEST);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_pushes_the_metrics_it_is_subscribed_to() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &["client.telemetry.enable=true"]).await;
    let mut wire = Wire::connect(&broker).await;
    assert_eq!(
        alter(
            &mut wire,
            "librdkafka-producers",
            &[
                ("metrics", Some("org.apache.kafka.producer.")),
                ("interval.ms", Some("500")),
                (
                    "match",
                    Some("client_software_name=librdkafka,client_id=telemetry-app")
                ),
            ],
        )
        .await,
        0
    );
    let producer: rdkafka::producer::BaseProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .set("client.id", "telemetry-app")
        .create()
        .unwrap();
    producer
        .send(BaseRecord::to("telemetry").payload("v").key("k"))
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    // Push intervals are the client's clock: wait for the first push, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let pushed = loop {
        producer.poll(Duration::from_millis(50));
        let got = broker.client_metrics().received();
        if let Some(r) = got.into_iter().find(|r| !r.metrics.is_empty()) {
            break r;
        }
        assert!(Instant::now() < deadline, "no telemetry pushed within 30 s");
    };
    assert_eq!(pushed.client.client_id, "telemetry-app");
    assert_eq!(pushed.client.software_name, "librdkafka");
    // OTLP protobuf carries metric names as plain strings: the subscribed prefix is there,
    // and nothing outside it (consumer metrics) was sent.
    let text = String::from_utf8_lossy(&pushed.metrics);
    assert!(
        text.contains("org.apache.kafka.producer."),
        "pushed metrics lack the subscribed prefix"
    );
    assert!(!text.contains("org.apache.kafka.consumer."));
    drop(producer);
    broker.shutdown().await.unwrap();
}
