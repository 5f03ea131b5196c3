//! SASL/OAUTHBEARER and KIP-368 re-authentication: librdkafka with its unsecured JWTs over
//! SASL_PLAINTEXT, signed tokens checked against a JWKS file, the error challenge of a bad
//! token, and re-authentication on the wire (the session lifetime, the same principal and
//! mechanism required, an expired connection closed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use common::wire::Wire;
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Message, TopicPartitionList};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use skiff::config::Config;
use skiff::{Broker, BrokerHandle};

const PLAIN_JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
     user_alice=\"alice-secret\" user_bob=\"bob-secret\";";

async fn start(dir: &Path, overrides: &[String]) -> BrokerHandle {
    let mut config = Config::default();
    config.set("data.dir", dir.to_str().unwrap()).unwrap();
    config.set("num.partitions", "1").unwrap();
    for o in overrides {
        config.apply_override(o).unwrap();
    }
    Broker::start(config).await.unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn base_overrides(mechanisms: &str, reauth_ms: u64) -> Vec<String> {
    vec![
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0".into(),
        format!("sasl.enabled.mechanisms={mechanisms}"),
        format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
        format!("connections.max.reauth.ms={reauth_ms}"),
        "connection.failed.authentication.delay.ms=10".into(),
    ]
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unsecured_jwt(claims: &str) -> String {
    format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims.as_bytes()))
}

fn first_message(token: &str) -> Vec<u8> {
    format!("n,,\x01auth=Bearer {token}\x01\x01").into_bytes()
}

async fn handshake(w: &mut Wire, mechanism: &str) -> SaslHandshakeResponse {
    let req =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_string(mechanism.into()));
    w.call(ApiKey::SaslHandshake, 1, &req).await
}

async fn authenticate(w: &mut Wire, token: &[u8]) -> SaslAuthenticateResponse {
    let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token));
    w.call(ApiKey::SaslAuthenticate, 2, &req).await
}

async fn metadata(w: &mut Wire) -> MetadataResponse {
    w.call(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    )
    .await
}

/// Sends a Metadata request; whether the broker closed the connection instead of answering.
async fn closed_on_request(w: &mut Wire) -> bool {
    w.send(
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    )
    .await;
    w.recv_frame().await.is_none()
}

/// Produces `n` records with `client` and reads them back from the partition's start.
fn produce_and_read_back(client: &ClientConfig, topic: &str, n: usize) {
    let producer: BaseProducer = client.create().unwrap();
    for i in 0..n {
        let payload = format!("record-{i}");
        producer
            .send(BaseRecord::<(), _>::to(topic).payload(&payload))
            .unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    let mut c = client.clone();
    c.set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = c.create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, rdkafka::Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while seen.len() < n {
        assert!(std::time::Instant::now() < deadline, "read {seen:?}");
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            seen.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
        }
    }
    let expected: Vec<String> = (0..n).map(|i| format!("record-{i}")).collect();
    assert_eq!(seen, expected);
}

#[test]
fn librdkafka_with_unsecured_jwts_produces_and_consumes() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut overrides = base_overrides("OAUTHBEARER,PLAIN", 0);
    overrides.push(
        "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=\"admin\";".into(),
    );
    let broker = rt.block_on(start(dir.path(), &overrides));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", addr.to_string())
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "OAUTHBEARER")
        .set("enable.sasl.oauthbearer.unsecure.jwt", "true")
        .set("sasl.oauthbearer.config", "principal=alice lifeSeconds=600");
    produce_and_read_back(&client, "oauth-topic", 20);
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn a_bad_token_gets_the_json_challenge_then_the_failure() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &base_overrides("OAUTHBEARER", 0)));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        // A good token: authenticated, with no session lifetime (no reauth limit, and the
        // token's own expiry one hour away is the lifetime).
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "OAUTHBEARER").await.error_code, 0);
        let exp = now_s() + 3600;
        let token = unsecured_jwt(&format!(r#"{{"sub":"alice","exp":{exp}}}"#));
        let r = authenticate(&mut w, &first_message(&token)).await;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        assert!(r.auth_bytes.is_empty());
        let lifetime = r.session_lifetime_ms;
        assert!(
            (3_500_000..=3_600_000).contains(&lifetime),
            "the token's time left: {lifetime}"
        );
        assert_eq!(metadata(&mut w).await.brokers.len(), 1);

        // An expired token: the JSON challenge, then the failure and a closed connection.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "OAUTHBEARER").await.error_code, 0);
        let exp = now_s() - 60;
        let token = unsecured_jwt(&format!(r#"{{"sub":"alice","exp":{exp}}}"#));
        let r = authenticate(&mut w, &first_message(&token)).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(&r.auth_bytes[..], br#"{"status":"invalid_token"}"#);
        let r = authenticate(&mut w, b"\x01").await;
        assert_eq!(r.error_code, 58, "SASL_AUTHENTICATION_FAILED");
        assert_eq!(
            r.error_message.as_deref().map(|m| m.to_string()),
            Some(r#"{"status":"invalid_token"}"#.to_string())
        );
        assert!(w.recv_frame().await.is_none(), "the connection closes");

        // A first message that does not parse.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "OAUTHBEARER").await.error_code, 0);
        let r = authenticate(&mut w, b"n,,\x01auth=Basic abc\x01\x01").await;
        assert_eq!(r.error_code, 58);
        assert!(w.recv_frame().await.is_none());
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn signed_tokens_are_checked_against_a_jwks_file() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = key.public_key().as_ref();
    assert_eq!(point.len(), 65);
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        format!(
            r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"k1","x":"{}","y":"{}"}}]}}"#,
            b64(&point[1..33]),
            b64(&point[33..])
        ),
    )
    .unwrap();
    let sign = |claims: &str| {
        let input = format!(
            "{}.{}",
            b64(br#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#),
            b64(claims.as_bytes())
        );
        let sig = key.sign(&rng, input.as_bytes()).unwrap();
        format!("{input}.{}", b64(sig.as_ref()))
    };
    let data = dir.path().join("data");
    let mut overrides = base_overrides("OAUTHBEARER", 0);
    overrides.extend([
        "listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler".to_string(),
        format!("sasl.oauthbearer.jwks.endpoint.url=file://{}", jwks.display()),
        "sasl.oauthbearer.expected.audience=skiff".into(),
        "sasl.oauthbearer.expected.issuer=https://idp.example".into(),
    ]);
    let broker = rt.block_on(start(&data, &overrides));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let exp = now_s() + 600;
    let good = sign(&format!(
        r#"{{"sub":"svc-1","aud":["skiff"],"iss":"https://idp.example","exp":{exp},"iat":{}}}"#,
        now_s()
    ));
    let wrong_audience = sign(&format!(
        r#"{{"sub":"svc-1","aud":"other","iss":"https://idp.example","exp":{exp}}}"#
    ));
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let unsigned = unsecured_jwt(&format!(r#"{{"sub":"svc-1","exp":{exp}}}"#));
    rt.block_on(async {
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "OAUTHBEARER").await.error_code, 0);
        let r = authenticate(&mut w, &first_message(&good)).await;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        assert!(r.auth_bytes.is_empty());
        assert_eq!(metadata(&mut w).await.brokers.len(), 1);
        for bad in [&wrong_audience, &tampered, &unsigned] {
            let mut w = Wire::connect_addr(addr).await;
            assert_eq!(handshake(&mut w, "OAUTHBEARER").await.error_code, 0);
            let r = authenticate(&mut w, &first_message(bad)).await;
            assert_eq!(&r.auth_bytes[..], br#"{"status":"invalid_token"}"#, "{bad}");
            assert_eq!(authenticate(&mut w, b"\x01").await.error_code, 58);
        }
    });
    rt.block_on(broker.shutdown()).unwrap();
}

async fn plain_login(w: &mut Wire, user: &str, password: &str) -> SaslAuthenticateResponse {
    assert_eq!(handshake(w, "PLAIN").await.error_code, 0);
    authenticate(w, format!("\0{user}\0{password}").as_bytes()).await
}

#[test]
fn reauthentication_keeps_the_principal_and_an_expired_session_is_closed() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(
        dir.path(),
        &base_overrides("PLAIN,OAUTHBEARER", 2_000),
    ));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        // The session lifetime is connections.max.reauth.ms; re-authenticating as the
        // same user renews it, and requests go on between.
        let mut w = Wire::connect_addr(addr).await;
        let r = plain_login(&mut w, "alice", "alice-secret").await;
        assert_eq!((r.error_code, r.session_lifetime_ms), (0, 2_000));
        assert_eq!(metadata(&mut w).await.brokers.len(), 1);
        let r = plain_login(&mut w, "alice", "alice-secret").await;
        assert_eq!((r.error_code, r.session_lifetime_ms), (0, 2_000));
        assert_eq!(metadata(&mut w).await.brokers.len(), 1);

        // Another principal on re-authentication fails, and the connection closes.
        let r = plain_login(&mut w, "bob", "bob-secret").await;
        assert_eq!(r.error_code, 58);
        assert_eq!(
            r.error_message.as_deref().map(|m| m.to_string()),
            Some(
                "Cannot change principals during re-authentication from User.alice: User.bob"
                    .into()
            )
        );
        assert!(w.recv_frame().await.is_none());

        // Another mechanism on re-authentication fails the same way.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(
            plain_login(&mut w, "alice", "alice-secret")
                .await
                .error_code,
            0
        );
        assert_eq!(handshake(&mut w, "OAUTHBEARER").await.error_code, 0);
        let r = authenticate(&mut w, b"n,,\x01auth=Bearer a.b.\x01\x01").await;
        assert_eq!(r.error_code, 58);
        assert!(r.error_message.as_deref().is_some_and(
            |m| m.contains("not supported for re-authentication of mechanism 'PLAIN'")
        ));
        assert!(w.recv_frame().await.is_none());

        // A client that authenticated with SaslAuthenticate v0 cannot re-authenticate:
        // a second handshake is ILLEGAL_SASL_STATE, and the connection goes on.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "PLAIN").await.error_code, 0);
        let req = SaslAuthenticateRequest::default()
            .with_auth_bytes(Bytes::from_static(b"\0alice\0alice-secret"));
        let r: SaslAuthenticateResponse = w.call(ApiKey::SaslAuthenticate, 0, &req).await;
        assert_eq!(r.error_code, 0);
        assert_eq!(
            handshake(&mut w, "PLAIN").await.error_code,
            34,
            "ILLEGAL_SASL_STATE"
        );

        // Past its lifetime without re-authenticating, the next request closes the
        // connection (the wait is the behaviour under test: the session's 2 s).
        let mut w = Wire::connect_addr(addr).await;
        let r = plain_login(&mut w, "alice", "alice-secret").await;
        assert_eq!(r.error_code, 0);
        assert_eq!(metadata(&mut w).await.brokers.len(), 1);
        let lifetime = u64::try_from(r.session_lifetime_ms).unwrap();
        tokio::time::sleep(Duration::from_millis(lifetime + 200)).await;
        assert!(
            closed_on_request(&mut w).await,
            "an expired session is closed"
        );
    });
    rt.block_on(broker.shutdown()).unwrap();
}

/// Keeps librdkafka's latest statistics.
#[derive(Default)]
struct Stats(std::sync::Mutex<Option<rdkafka::Statistics>>);

impl rdkafka::ClientContext for Stats {
    fn stats(&self, statistics: rdkafka::Statistics) {
        *self.0.lock().unwrap() = Some(statistics);
    }
}

impl rdkafka::producer::ProducerContext for Stats {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
}

#[test]
fn librdkafka_reauthenticates_before_its_session_ends() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &base_overrides("PLAIN", 1_500)));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", addr.to_string())
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", "alice")
        .set("sasl.password", "alice-secret");
    let mut with_stats = client.clone();
    with_stats.set("statistics.interval.ms", "200");
    let producer: BaseProducer<Stats> = with_stats.create_with_context(Stats::default()).unwrap();
    // Produce one record at a time across several session lifetimes. Each is delivered on
    // a connection librdkafka re-authenticates: had the broker closed an expired one,
    // librdkafka would have connected again, which its statistics count.
    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_millis(5_000) {
        producer
            .send(BaseRecord::<(), _>::to("reauth-topic").payload(&format!("r{i}")))
            .unwrap();
        producer.flush(Duration::from_secs(30)).unwrap();
        i += 1;
    }
    assert!(i > 3);
    // Statistics emitted after the last delivery.
    *producer.context().0.lock().unwrap() = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let stats = loop {
        assert!(std::time::Instant::now() < deadline, "no statistics");
        producer.poll(Duration::from_millis(100));
        if let Some(s) = producer.context().0.lock().unwrap().take() {
            break s;
        }
    };
    let connects: Vec<(String, Option<i64>, Option<i64>)> = stats
        .brokers
        .values()
        .filter(|b| b.nodeid >= 0)
        .map(|b| (b.name.clone(), b.connects, b.disconnects))
        .collect();
    assert!(!connects.is_empty());
    for (name, connects, disconnects) in &connects {
        assert_eq!(
            *connects,
            Some(1),
            "{name}: one connection, re-authenticated"
        );
        assert_eq!(*disconnects, Some(0), "{name}");
    }
    let consumer: BaseConsumer = client.create().unwrap();
    let (low, high) = consumer
        .fetch_watermarks("reauth-topic", 0, Duration::from_secs(30))
        .unwrap();
    assert_eq!(high - low, i64::from(i));
    rt.block_on(broker.shutdown()).unwrap();
}
