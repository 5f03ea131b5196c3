//! Authorization as Kafka's StandardAuthorizer, through real clients: librdkafka (rdkafka's
//! producer, consumer, transactional producer and admin client) authenticated over
//! SASL_PLAINTEXT with PLAIN users, against an in-process broker with the authorizer on.
//! The ACL APIs themselves (CreateAcls, DescribeAcls, DeleteAcls) go over the raw wire,
//! authenticated the same way, since rdkafka has no ACL admin calls.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::wire::Wire;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{
    ApiKey, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
    DescribeAclsRequest, DescribeAclsResponse, MetadataRequest, MetadataResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;
use skiff::config::Config;
use skiff::{Broker, BrokerHandle};

const JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
     username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" \
     user_alice=\"alice-secret\" user_bob=\"bob-secret\";";

// Kafka's codes (ResourceType, PatternType, AclOperation, AclPermissionType, errors).
const TOPIC: i8 = 2;
const GROUP: i8 = 3;
const CLUSTER: i8 = 4;
const TRANSACTIONAL_ID: i8 = 5;
const ANY: i8 = 1;
const MATCH: i8 = 2;
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const ALL: i8 = 2;
const READ: i8 = 3;
const WRITE: i8 = 4;
const CREATE: i8 = 5;
const DESCRIBE: i8 = 8;
const ALLOW: i8 = 3;
const DENY: i8 = 2;
const INVALID_REQUEST: i16 = 42;
const SECURITY_DISABLED: i16 = 54;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A broker with one SASL_PLAINTEXT listener (PLAIN users admin, alice, bob), the
/// StandardAuthorizer and `User:admin` as super user.
async fn start(dir: &Path, extra: &[&str]) -> BrokerHandle {
    let mut config = Config::default();
    config.set("data.dir", dir.to_str().unwrap()).unwrap();
    config.set("num.partitions", "1").unwrap();
    for o in [
        "listeners=SASL_PLAINTEXT://127.0.0.1:0".to_string(),
        "sasl.enabled.mechanisms=PLAIN".into(),
        format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}"),
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer".into(),
        "super.users=User:admin".into(),
    ] {
        config.apply_override(&o).unwrap();
    }
    for o in extra {
        config.apply_override(o).unwrap();
    }
    Broker::start(config).await.unwrap()
}

fn client(addr: SocketAddr, user: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr.to_string())
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", user)
        .set("sasl.password", format!("{user}-secret"));
    c
}

/// A raw connection authenticated as `user` with SASL PLAIN.
async fn wire_as(addr: SocketAddr, user: &str) -> Wire {
    let mut w = Wire::connect_addr(addr).await;
    let hs: SaslHandshakeResponse = w
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .await;
    assert_eq!(hs.error_code, 0);
    let token = format!("\0{user}\0{user}-secret");
    let auth: SaslAuthenticateResponse = w
        .call(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)),
        )
        .await;
    assert_eq!(auth.error_code, 0, "{:?}", auth.error_message);
    w
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn acl(
    resource_type: i8,
    name: &str,
    pattern: i8,
    principal: &str,
    operation: i8,
    permission: i8,
) -> AclCreation {
    AclCreation::default()
        .with_resource_type(resource_type)
        .with_resource_name(s(name))
        .with_resource_pattern_type(pattern)
        .with_principal(s(principal))
        .with_host(s("*"))
        .with_operation(operation)
        .with_permission_type(permission)
}

async fn create_acls(w: &mut Wire, creations: Vec<AclCreation>) -> Vec<i16> {
    let r: CreateAclsResponse = w
        .call(
            ApiKey::CreateAcls,
            3,
            &CreateAclsRequest::default().with_creations(creations),
        )
        .await;
    r.results.iter().map(|r| r.error_code).collect()
}

fn principal_filter(principal: &str) -> DescribeAclsRequest {
    DescribeAclsRequest::default()
        .with_resource_type_filter(ANY)
        .with_resource_name_filter(None)
        .with_pattern_type_filter(ANY)
        .with_principal_filter(Some(s(principal)))
        .with_host_filter(None)
        .with_operation(ANY)
        .with_permission_type(ANY)
}

/// The bindings DescribeAcls returns, as (resource type, name, pattern, principal,
/// operation, permission), sorted.
async fn describe_acls(
    w: &mut Wire,
    filter: &DescribeAclsRequest,
) -> (i16, Vec<(i8, String, i8, String, i8, i8)>) {
    let r: DescribeAclsResponse = w.call(ApiKey::DescribeAcls, 3, filter).await;
    let mut out = Vec::new();
    for res in &r.resources {
        for a in &res.acls {
            out.push((
                res.resource_type,
                res.resource_name.to_string(),
                res.pattern_type,
                a.principal.to_string(),
                a.operation,
                a.permission_type,
            ));
        }
    }
    out.sort();
    (r.error_code, out)
}

/// Produces one record to `topic` as the client configured; the delivery error code.
async fn produce(c: &ClientConfig, topic: &str) -> Option<RDKafkaErrorCode> {
    let p: FutureProducer = c
        .clone()
        .set("message.timeout.ms", "10000")
        .create()
        .unwrap();
    p.send(
        FutureRecord::to(topic).key("k").payload("v"),
        Duration::from_secs(10),
    )
    .await
    .err()
    .and_then(|(e, _)| e.rdkafka_error_code())
}

/// Polls `consumer` until it delivers a record (`Ok`) or one of `errors` (`Err`).
fn poll_until(
    consumer: &BaseConsumer,
    errors: &[RDKafkaErrorCode],
) -> Result<String, RDKafkaErrorCode> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => return Ok(String::from_utf8_lossy(m.payload().unwrap()).into()),
            Some(Err(e)) => {
                if let Some(code) = e.rdkafka_error_code() {
                    if errors.contains(&code) {
                        return Err(code);
                    }
                    seen.push(code);
                }
            }
            None => {}
        }
    }
    panic!("no record and none of {errors:?}; saw {seen:?}");
}

fn group_consumer(c: &ClientConfig, group: &str, topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = c
        .clone()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

async fn create_topic(c: &ClientConfig, topic: &str) -> Result<(), RDKafkaErrorCode> {
    let admin: AdminClient<DefaultClientContext> = c.create().unwrap();
    let results = admin
        .create_topics(
            &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    match results.into_iter().next().unwrap() {
        Ok(_) => Ok(()),
        Err((_, code)) => Err(code),
    }
}

fn init_transactions(c: &ClientConfig, id: &str) -> Result<FutureProducer, RDKafkaErrorCode> {
    let p: FutureProducer = c
        .clone()
        .set("transactional.id", id)
        .set("transaction.timeout.ms", "10000")
        .create()
        .unwrap();
    match p.init_transactions(Duration::from_secs(30)) {
        Ok(()) => Ok(p),
        Err(KafkaError::Transaction(e)) => Err(e.code()),
        Err(e) => panic!("init_transactions: {e}"),
    }
}

#[test]
fn a_principal_without_acls_is_refused_and_the_same_works_once_they_are_added() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &[]));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let admin = client(addr, "admin");
    let alice = client(addr, "alice");
    rt.block_on(async {
        // The super user needs no ACL.
        create_topic(&admin, "orders").await.unwrap();
        assert_eq!(produce(&admin, "orders").await, None);

        // alice has none: each API answers Kafka's authorization error.
        assert_eq!(
            create_topic(&alice, "alice-topic").await,
            Err(RDKafkaErrorCode::TopicAuthorizationFailed)
        );
        assert_eq!(
            produce(&alice, "orders").await,
            Some(RDKafkaErrorCode::TopicAuthorizationFailed)
        );
    });
    let consumer = group_consumer(&alice, "alice-group", "orders");
    assert_eq!(
        poll_until(&consumer, &[RDKafkaErrorCode::GroupAuthorizationFailed]),
        Err(RDKafkaErrorCode::GroupAuthorizationFailed)
    );
    drop(consumer);
    assert_eq!(
        init_transactions(&alice, "alice-tx").err(),
        Some(RDKafkaErrorCode::TransactionalIdAuthorizationFailed)
    );
    rt.block_on(async {
        let mut w = wire_as(addr, "alice").await;
        let (error, _) = describe_acls(&mut w, &principal_filter("User:alice")).await;
        assert_eq!(error, CLUSTER_AUTHORIZATION_FAILED);
        let denied = create_acls(
            &mut w,
            vec![acl(TOPIC, "orders", LITERAL, "User:alice", ALL, ALLOW)],
        )
        .await;
        assert_eq!(denied, vec![CLUSTER_AUTHORIZATION_FAILED]);

        // The super user grants what alice needs.
        let mut w = wire_as(addr, "admin").await;
        let created = create_acls(
            &mut w,
            vec![
                acl(TOPIC, "orders", LITERAL, "User:alice", WRITE, ALLOW),
                acl(TOPIC, "orders", LITERAL, "User:alice", READ, ALLOW),
                acl(GROUP, "alice-", PREFIXED, "User:alice", READ, ALLOW),
                acl(
                    TRANSACTIONAL_ID,
                    "alice-tx",
                    LITERAL,
                    "User:alice",
                    WRITE,
                    ALLOW,
                ),
                acl(TOPIC, "alice-", PREFIXED, "User:alice", CREATE, ALLOW),
            ],
        )
        .await;
        assert_eq!(created, vec![0; 5]);
        assert_eq!(produce(&alice, "orders").await, None);
        create_topic(&alice, "alice-topic").await.unwrap();
    });
    let consumer = group_consumer(&alice, "alice-group", "orders");
    assert_eq!(poll_until(&consumer, &[]), Ok("v".to_string()));
    consumer
        .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
        .unwrap();
    drop(consumer);
    let tx = init_transactions(&alice, "alice-tx").unwrap();
    tx.begin_transaction().unwrap();
    rt.block_on(async {
        tx.send(
            FutureRecord::to("orders").key("t").payload("in-tx"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    });
    tx.commit_transaction(Duration::from_secs(30)).unwrap();
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn describe_and_delete_acls_round_trip_and_deny_wins() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &[]));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let bob = client(addr, "bob");
    rt.block_on(async {
        let mut w = wire_as(addr, "admin").await;
        let created = create_acls(
            &mut w,
            vec![
                acl(TOPIC, "*", LITERAL, "User:bob", ALL, ALLOW),
                acl(TOPIC, "secret", PREFIXED, "User:bob", WRITE, DENY),
                acl(GROUP, "g", LITERAL, "User:*", READ, ALLOW),
                acl(
                    CLUSTER,
                    "kafka-cluster",
                    LITERAL,
                    "User:bob",
                    DESCRIBE,
                    ALLOW,
                ),
            ],
        )
        .await;
        assert_eq!(created, vec![0; 4]);
        assert_eq!(produce(&bob, "public").await, None);
        assert_eq!(
            produce(&bob, "secret-plans").await,
            Some(RDKafkaErrorCode::TopicAuthorizationFailed)
        );

        let (error, bobs) = describe_acls(&mut w, &principal_filter("User:bob")).await;
        assert_eq!(error, 0);
        assert_eq!(
            bobs,
            vec![
                (TOPIC, "*".into(), LITERAL, "User:bob".into(), ALL, ALLOW),
                (
                    TOPIC,
                    "secret".into(),
                    PREFIXED,
                    "User:bob".into(),
                    WRITE,
                    DENY
                ),
                (
                    CLUSTER,
                    "kafka-cluster".into(),
                    LITERAL,
                    "User:bob".into(),
                    DESCRIBE,
                    ALLOW
                ),
            ]
        );
        // MATCH finds the bindings that apply to one name: the wildcard and the prefix.
        let matching = DescribeAclsRequest::default()
            .with_resource_type_filter(TOPIC)
            .with_resource_name_filter(Some(s("secret-plans")))
            .with_pattern_type_filter(MATCH)
            .with_principal_filter(None)
            .with_host_filter(None)
            .with_operation(ANY)
            .with_permission_type(ANY);
        assert_eq!(describe_acls(&mut w, &matching).await.1.len(), 2);

        // Deleting the DENY opens the topic again.
        let deleted: DeleteAclsResponse = w
            .call(
                ApiKey::DeleteAcls,
                3,
                &DeleteAclsRequest::default().with_filters(vec![DeleteAclsFilter::default()
                    .with_resource_type_filter(TOPIC)
                    .with_resource_name_filter(None)
                    .with_pattern_type_filter(PREFIXED)
                    .with_principal_filter(None)
                    .with_host_filter(None)
                    .with_operation(ANY)
                    .with_permission_type(DENY)]),
            )
            .await;
        assert_eq!(deleted.filter_results.len(), 1);
        let gone = &deleted.filter_results[0];
        assert_eq!(gone.error_code, 0);
        assert_eq!(gone.matching_acls.len(), 1);
        assert_eq!(gone.matching_acls[0].resource_name.as_str(), "secret");
        assert_eq!(
            describe_acls(&mut w, &principal_filter("User:bob"))
                .await
                .1
                .len(),
            2
        );
        assert_eq!(produce(&bob, "secret-plans").await, None);

        // bob may describe the cluster now, so he sees his own ACLs but may not change any.
        let mut b = wire_as(addr, "bob").await;
        assert_eq!(
            describe_acls(&mut b, &principal_filter("User:bob")).await.0,
            0
        );
        let denied = create_acls(
            &mut b,
            vec![acl(GROUP, "x", LITERAL, "User:bob", ALL, ALLOW)],
        )
        .await;
        assert_eq!(denied, vec![CLUSTER_AUTHORIZATION_FAILED]);
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn metadata_leaves_out_topics_the_principal_may_not_describe() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &[]));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let admin = client(addr, "admin");
        create_topic(&admin, "visible").await.unwrap();
        create_topic(&admin, "hidden").await.unwrap();
        let mut w = wire_as(addr, "admin").await;
        let created = create_acls(
            &mut w,
            vec![acl(TOPIC, "visible", LITERAL, "User:alice", READ, ALLOW)],
        )
        .await;
        assert_eq!(created, vec![0]);
        let mut a = wire_as(addr, "alice").await;
        let all: MetadataResponse = a
            .call(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default()
                    .with_topics(None)
                    .with_include_topic_authorized_operations(true),
            )
            .await;
        let names: Vec<String> = all
            .topics
            .iter()
            .map(|t| t.name.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["visible".to_string()]);
        // READ implies DESCRIBE: bits 3 (READ) and 8 (DESCRIBE).
        assert_eq!(
            all.topics[0].topic_authorized_operations,
            (1 << 3) | (1 << 8)
        );
        let named: MetadataResponse = a
            .call(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default().with_topics(Some(vec![
                    kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                        .with_name(Some(kafka_protocol::messages::TopicName(s("hidden")))),
                ])),
            )
            .await;
        // TOPIC_AUTHORIZATION_FAILED (29), and no partitions given away.
        assert_eq!(named.topics[0].error_code, 29);
        assert!(named.topics[0].partitions.is_empty());
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn acls_survive_a_restart() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &[]));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        create_topic(&client(addr, "admin"), "kept").await.unwrap();
        let mut w = wire_as(addr, "admin").await;
        let created = create_acls(
            &mut w,
            vec![
                acl(TOPIC, "kept", LITERAL, "User:alice", WRITE, ALLOW),
                acl(TOPIC, "k", PREFIXED, "User:bob", ALL, DENY),
            ],
        )
        .await;
        assert_eq!(created, vec![0, 0]);
    });
    rt.block_on(broker.shutdown()).unwrap();
    let broker = rt.block_on(start(dir.path(), &[]));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut w = wire_as(addr, "admin").await;
        let (_, alices) = describe_acls(&mut w, &principal_filter("User:alice")).await;
        assert_eq!(
            alices,
            vec![(
                TOPIC,
                "kept".into(),
                LITERAL,
                "User:alice".into(),
                WRITE,
                ALLOW
            )]
        );
        let (_, bobs) = describe_acls(&mut w, &principal_filter("User:bob")).await;
        assert_eq!(
            bobs,
            vec![(TOPIC, "k".into(), PREFIXED, "User:bob".into(), ALL, DENY)]
        );
        assert_eq!(produce(&client(addr, "alice"), "kept").await, None);
        assert_eq!(
            produce(&client(addr, "bob"), "kept").await,
            Some(RDKafkaErrorCode::TopicAuthorizationFailed)
        );
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn bad_acls_get_invalid_request_and_unknown_codes_close_the_connection() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &[]));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut w = wire_as(addr, "admin").await;
        let answers = create_acls(
            &mut w,
            vec![
                acl(TOPIC, "t", MATCH, "User:a", READ, ALLOW),
                acl(TOPIC, "t", LITERAL, "User:a", ANY, ALLOW),
                acl(TOPIC, "t", LITERAL, "User:a", READ, ANY),
                acl(ANY, "t", LITERAL, "User:a", READ, ALLOW),
                acl(TOPIC, "", LITERAL, "User:a", READ, ALLOW),
                acl(CLUSTER, "other", LITERAL, "User:a", ALL, ALLOW),
                acl(TOPIC, "t", LITERAL, "no-colon", READ, ALLOW),
                acl(TOPIC, "t", LITERAL, "User:a", READ, ALLOW),
            ],
        )
        .await;
        assert_eq!(
            answers,
            vec![
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                INVALID_REQUEST,
                0
            ]
        );
        assert_eq!(
            describe_acls(&mut w, &principal_filter("User:a"))
                .await
                .1
                .len(),
            1
        );
        // Operation code 0 is Kafka's UNKNOWN: its parser refuses the request.
        w.send(
            ApiKey::CreateAcls,
            3,
            &CreateAclsRequest::default()
                .with_creations(vec![acl(TOPIC, "t", LITERAL, "User:a", 0, ALLOW)]),
        )
        .await;
        assert!(w.recv_frame().await.is_none(), "the connection stays open");
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn without_an_authorizer_the_acl_apis_answer_security_disabled() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(common::start_broker(dir.path(), &[]));
    rt.block_on(async {
        let mut w = Wire::connect(&broker).await;
        let (error, _) = describe_acls(&mut w, &principal_filter("User:a")).await;
        assert_eq!(error, SECURITY_DISABLED);
        let answers = create_acls(
            &mut w,
            vec![acl(TOPIC, "t", LITERAL, "User:a", READ, ALLOW)],
        )
        .await;
        assert_eq!(answers, vec![SECURITY_DISABLED]);
        // And everything else is allowed, as before.
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", broker.local_addr().to_string());
        assert_eq!(produce(&c, "open").await, None);
    });
    rt.block_on(broker.shutdown()).unwrap();
}
