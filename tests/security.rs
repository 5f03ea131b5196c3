//! Listeners, TLS and SASL through real clients: librdkafka (rdkafka) over SSL, mutual TLS,
//! SASL_SSL and SASL_PLAINTEXT with SCRAM and PLAIN, and raw-wire exchanges for the SASL
//! APIs' error paths. Certificates are made in the test (rcgen): a CA, a server certificate
//! for 127.0.0.1 and client certificates.
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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::wire::Wire;
use common::*;
use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey,
    ApiVersionsRequest, ApiVersionsResponse, DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse, MetadataRequest, MetadataResponse,
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Message;
use rustls::pki_types::pem::PemObject;
use skiff::broker::security::credentials::parse_add_scram;
use skiff::broker::security::scram::{client_final, ScramMechanism};
use skiff::config::Config;
use skiff::{Broker, BrokerHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PLAIN_JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required \
     username=\"admin\" password=\"admin-secret\" user_admin=\"admin-secret\" user_carol=\"carol-secret\";";

/// Certificates of one test, as PEM files.
struct Pki {
    ca: PathBuf,
    /// The server's key and chain in one file (Kafka's PEM key store).
    server: PathBuf,
    server_cert: String,
    server_key: String,
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(DnType::CommonName, "Skiff test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca_cert.pem()).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let server_cert = params.signed_by(&server_key, &issuer).unwrap().pem();
        let server_key = server_key.serialize_pem();
        let server = dir.path().join("server.pem");
        std::fs::write(&server, format!("{server_key}{server_cert}")).unwrap();
        Pki {
            ca: ca_path,
            server,
            server_cert,
            server_key,
            dir,
            issuer,
        }
    }

    /// A client certificate with subject `O=Skiff, OU=<ou>, CN=<cn>` (RFC 2253:
    /// `CN=<cn>,OU=<ou>,O=Skiff`); its certificate and key files.
    fn client(&self, cn: &str, ou: &str) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // In this order in the certificate; RFC 2253 prints the last first.
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Skiff");
        params
            .distinguished_name
            .push(DnType::OrganizationalUnitName, ou);
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_path = self.dir.path().join(format!("{cn}.crt"));
        let key_path = self.dir.path().join(format!("{cn}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    fn path(p: &Path) -> &str {
        p.to_str().unwrap()
    }
}

async fn start(dir: &Path, overrides: &[String]) -> BrokerHandle {
    let mut config = Config::default();
    config.set("data.dir", dir.to_str().unwrap()).unwrap();
    config.set("num.partitions", "3").unwrap();
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

/// Client settings for TLS to the test broker.
fn tls_client(pki: &Pki, addr: SocketAddr, protocol: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", addr.to_string())
        .set("security.protocol", protocol)
        .set("ssl.ca.location", Pki::path(&pki.ca))
        .set("ssl.endpoint.identification.algorithm", "https");
    c
}

fn sasl(mut c: ClientConfig, mechanism: &str, user: &str, password: &str) -> ClientConfig {
    c.set("sasl.mechanisms", mechanism)
        .set("sasl.username", user)
        .set("sasl.password", password);
    c
}

/// Produces `n` records to `topic` and reads them back with a group consumer (subscribe,
/// commit), all with `client`'s settings.
fn produce_consume_group(client: &ClientConfig, topic: &str, group: &str, n: usize) {
    let producer: BaseProducer = client
        .clone()
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for i in 0..n {
        let key = format!("k{i}");
        let value = format!("v{i}");
        producer
            .send(BaseRecord::to(topic).key(&key).payload(&value))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    let consumer: BaseConsumer = client
        .clone()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut values = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while values.len() < n {
        assert!(std::time::Instant::now() < deadline, "consumed {values:?}");
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            values.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
        }
    }
    consumer
        .commit_consumer_state(rdkafka::consumer::CommitMode::Sync)
        .unwrap();
    let committed = consumer
        .committed(Duration::from_secs(30))
        .unwrap()
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            rdkafka::Offset::Offset(o) => Some(o),
            _ => None,
        })
        .sum::<i64>();
    assert_eq!(committed, n as i64, "the group committed every record");
    values.sort_by_key(|v| v[1..].parse::<usize>().unwrap());
    let expected: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    assert_eq!(values, expected);
}

/// Records librdkafka's error callbacks (authentication failures arrive there).
#[derive(Clone, Default)]
struct Errors(Arc<Mutex<Vec<(RDKafkaErrorCode, String)>>>);

impl ClientContext for Errors {
    fn error(&self, error: KafkaError, reason: &str) {
        if let Some(code) = error.rdkafka_error_code() {
            self.0.lock().unwrap().push((code, reason.to_string()));
        }
    }
}

impl rdkafka::producer::ProducerContext for Errors {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
}

/// Polls `producer` until its context has seen an error of `code`; the reason.
fn wait_for_error(producer: &BaseProducer<Errors>, code: RDKafkaErrorCode) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((_, reason)) = producer
            .context()
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|(c, _)| *c == code)
        {
            return reason.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {code:?} error; saw {:?}",
            producer.context().0.lock().unwrap()
        );
        producer.poll(Duration::from_millis(100));
    }
}

fn metadata_port(client: &ClientConfig) -> Result<i32, KafkaError> {
    let p: BaseProducer = client.create().unwrap();
    let md = p.client().fetch_metadata(None, Duration::from_secs(10))?;
    Ok(md.brokers()[0].port())
}

#[test]
fn ssl_produce_consume_and_each_listener_advertises_itself() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(
        dir.path(),
        &[
            "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0".into(),
            "ssl.keystore.type=PEM".into(),
            format!("ssl.keystore.location={}", Pki::path(&pki.server)),
        ],
    ));
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    let ssl = broker.listener_addr("ssl").unwrap();
    assert_ne!(plain.port(), ssl.port());
    let client = tls_client(&pki, ssl, "ssl");
    assert_eq!(metadata_port(&client).unwrap(), i32::from(ssl.port()));
    let mut plain_client = ClientConfig::new();
    plain_client.set("bootstrap.servers", plain.to_string());
    assert_eq!(
        metadata_port(&plain_client).unwrap(),
        i32::from(plain.port())
    );
    ensure_topic(&plain.to_string(), "over-tls");
    produce_consume_group(&client, "over-tls", "tls-group", 50);
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn inline_pem_key_store_with_an_encrypted_key_and_tls13_only() {
    use pkcs8::der::pem::LineEnding;
    use pkcs8::der::Decode;
    use pkcs8::pkcs5::pbes2;
    let rt = runtime();
    let pki = Pki::new();
    let (_, der) = pkcs8::SecretDocument::from_pem(&pki.server_key).unwrap();
    let info = pkcs8::PrivateKeyInfoRef::from_der(der.as_bytes()).unwrap();
    let params =
        pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(2048, b"saltsalt", [7; 16]).unwrap();
    let encrypted = info
        .encrypt_with_params(params, "key-pw")
        .unwrap()
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = vec![
        "listeners=SECURE://127.0.0.1:0".to_string(),
        "listener.security.protocol.map=SECURE:SSL".into(),
        "listener.name.secure.ssl.keystore.type=PEM".into(),
        format!("ssl.keystore.certificate.chain={}", pki.server_cert),
        format!("ssl.keystore.key={}", *encrypted),
        "ssl.enabled.protocols=TLSv1.3".into(),
    ];
    // Without the password, or with a wrong one, the broker refuses to start.
    let mut config = Config::default();
    config
        .set("data.dir", dir.path().to_str().unwrap())
        .unwrap();
    for o in &base {
        config.apply_override(o).unwrap();
    }
    let err = rt.block_on(Broker::start(config.clone())).err().unwrap();
    assert!(err.to_string().contains("ssl.key.password"), "{err}");
    config.set("ssl.key.password", "wrong").unwrap();
    assert!(rt.block_on(Broker::start(config)).is_err());
    let mut overrides = base.clone();
    overrides.push("ssl.key.password=key-pw".into());
    let broker = rt.block_on(start(dir.path(), &overrides));
    let addr = broker.local_addr();
    let client = tls_client(&pki, addr, "ssl");
    assert_eq!(metadata_port(&client).unwrap(), i32::from(addr.port()));
    // librdkafka cannot be limited to TLS 1.2, so a rustls client is: it cannot complete a
    // handshake with the TLS 1.3-only listener, while a TLS 1.3 one can.
    let handshake = |versions: &[&'static rustls::SupportedProtocolVersion]| {
        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(&pki.ca).unwrap();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
            roots.add(cert.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        rt.block_on(async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            connector.connect(name, tcp).await.map(drop)
        })
    };
    assert!(handshake(&[&rustls::version::TLS12]).is_err());
    assert!(handshake(&[&rustls::version::TLS13]).is_ok());
    rt.block_on(broker.shutdown()).unwrap();
}

/// The end-entity certificate `addr` serves, over a rustls client trusting `ca`.
fn served_certificate(rt: &tokio::runtime::Runtime, ca: &Path, addr: SocketAddr) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&std::fs::read(ca).unwrap()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    rt.block_on(async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    })
}

#[test]
fn a_renewed_key_store_file_is_served_without_a_restart() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(
        dir.path(),
        &[
            "listeners=SSL://127.0.0.1:0".into(),
            "ssl.keystore.type=PEM".into(),
            format!("ssl.keystore.location={}", Pki::path(&pki.server)),
        ],
    ));
    let addr = broker.local_addr();
    let first = served_certificate(&rt, &pki.ca, addr);
    let first_pem = rustls::pki_types::CertificateDer::from_pem_slice(pki.server_cert.as_bytes())
        .unwrap()
        .to_vec();
    assert_eq!(first, first_pem);
    // A new key and certificate replace the file (its modification time moves on).
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    let renewed = |contents: String, seconds: u64| {
        std::fs::write(&pki.server, contents).unwrap();
        let later = std::time::SystemTime::now() + Duration::from_secs(seconds);
        std::fs::File::options()
            .write(true)
            .open(&pki.server)
            .unwrap()
            .set_modified(later)
            .unwrap();
    };
    renewed(format!("{}{}", key.serialize_pem(), cert.pem()), 10);
    assert_eq!(served_certificate(&rt, &pki.ca, addr), cert.der().to_vec());
    // A broken file keeps the last good certificate.
    renewed("not a key store".into(), 20);
    assert_eq!(served_certificate(&rt, &pki.ca, addr), cert.der().to_vec());
    let client = tls_client(&pki, addr, "ssl");
    assert_eq!(metadata_port(&client).unwrap(), i32::from(addr.port()));
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn mutual_tls_principal_mapping_decides_who_gets_in() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    // Only certificates of OU=eng map to a principal; there is no DEFAULT.
    let broker = rt.block_on(start(
        dir.path(),
        &[
            "listeners=SSL://127.0.0.1:0".into(),
            "ssl.keystore.type=PEM".into(),
            format!("ssl.keystore.location={}", Pki::path(&pki.server)),
            "ssl.truststore.type=PEM".into(),
            format!("ssl.truststore.location={}", Pki::path(&pki.ca)),
            "listener.name.ssl.ssl.client.auth=required".into(),
            "ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=eng,O=Skiff$/$1/L".into(),
        ],
    ));
    let addr = broker.local_addr();
    let (alice_cert, alice_key) = pki.client("Alice", "eng");
    let (bob_cert, bob_key) = pki.client("bob", "sales");
    let with_cert = |cert: &Path, key: &Path| {
        let mut c = tls_client(&pki, addr, "ssl");
        c.set("ssl.certificate.location", Pki::path(cert))
            .set("ssl.key.location", Pki::path(key));
        c
    };
    let alice = with_cert(&alice_cert, &alice_key);
    assert_eq!(metadata_port(&alice).unwrap(), i32::from(addr.port()));
    ensure_topic_with(&alice, "mtls");
    produce_consume_group(&alice, "mtls", "mtls-group", 20);
    // bob's subject matches no rule: refused. No certificate at all: refused.
    assert!(metadata_port(&with_cert(&bob_cert, &bob_key)).is_err());
    assert!(metadata_port(&tls_client(&pki, addr, "ssl")).is_err());
    // Alice still gets in afterwards.
    assert!(metadata_port(&alice).is_ok());
    rt.block_on(broker.shutdown()).unwrap();
}

/// Creates `topic` over `client`'s connection settings (Metadata auto-creation).
fn ensure_topic_with(client: &ClientConfig, topic: &str) {
    let p: BaseProducer = client.create().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let md = p
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        if md.topics()[0].error().is_none() && !md.topics()[0].partitions().is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "topic {topic} not created"
        );
    }
}

fn sasl_overrides(pki: &Pki) -> Vec<String> {
    vec![
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0"
            .into(),
        "ssl.keystore.type=PEM".into(),
        format!("ssl.keystore.location={}", Pki::path(&pki.server)),
        "sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN".into(),
        format!("listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_JAAS}"),
        format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}"),
        "connection.failed.authentication.delay.ms=50".into(),
    ]
}

#[test]
fn sasl_ssl_with_scram_and_plain_produce_consume_and_group() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    // alice exists before the first start, as with `kafka-storage format --add-scram`.
    skiff::add_scram_credentials(
        dir.path(),
        &[parse_add_scram("SCRAM-SHA-512=[name=alice,password=alice-secret]").unwrap()],
    )
    .unwrap();
    let broker = rt.block_on(start(dir.path(), &sasl_overrides(&pki)));
    let sasl_ssl = broker.listener_addr("SASL_SSL").unwrap();
    let sasl_plain = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let scram = sasl(
        tls_client(&pki, sasl_ssl, "sasl_ssl"),
        "SCRAM-SHA-512",
        "alice",
        "alice-secret",
    );
    assert_eq!(metadata_port(&scram).unwrap(), i32::from(sasl_ssl.port()));
    ensure_topic_with(&scram, "scram-topic");
    produce_consume_group(&scram, "scram-topic", "scram-group", 40);
    let plain = sasl(
        tls_client(&pki, sasl_ssl, "sasl_ssl"),
        "PLAIN",
        "carol",
        "carol-secret",
    );
    ensure_topic_with(&plain, "plain-topic");
    produce_consume_group(&plain, "plain-topic", "plain-group", 30);
    let mut plain_tcp = ClientConfig::new();
    plain_tcp
        .set("bootstrap.servers", sasl_plain.to_string())
        .set("security.protocol", "sasl_plaintext");
    let plain_tcp = sasl(plain_tcp, "PLAIN", "admin", "admin-secret");
    assert_eq!(
        metadata_port(&plain_tcp).unwrap(),
        i32::from(sasl_plain.port())
    );
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn a_wrong_password_is_an_authentication_error() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    skiff::add_scram_credentials(
        dir.path(),
        &[parse_add_scram("SCRAM-SHA-512=[name=alice,password=alice-secret]").unwrap()],
    )
    .unwrap();
    let broker = rt.block_on(start(dir.path(), &sasl_overrides(&pki)));
    let sasl_ssl = broker.listener_addr("SASL_SSL").unwrap();
    for (mechanism, user) in [("SCRAM-SHA-512", "alice"), ("PLAIN", "carol")] {
        let producer: BaseProducer<Errors> = sasl(
            tls_client(&pki, sasl_ssl, "sasl_ssl"),
            mechanism,
            user,
            "wrong",
        )
        .create_with_context(Errors::default())
        .unwrap();
        let reason = wait_for_error(&producer, RDKafkaErrorCode::Authentication);
        let expected = if mechanism == "PLAIN" {
            "Authentication failed: Invalid username or password"
        } else {
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
        };
        assert!(reason.contains(expected), "{reason}");
    }
    // The right password still works.
    let good = sasl(
        tls_client(&pki, sasl_ssl, "sasl_ssl"),
        "SCRAM-SHA-512",
        "alice",
        "alice-secret",
    );
    assert!(metadata_port(&good).is_ok());
    rt.block_on(broker.shutdown()).unwrap();
}

/// Reads until the broker closes the connection; what it sent meanwhile.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out)).await;
    match read {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Ok(Err(e)) => panic!("read failed: {e}"),
        Err(_) => panic!("the broker did not close the connection"),
    }
    out
}

fn api_versions_frame() -> Vec<u8> {
    let mut body = bytes::BytesMut::new();
    kafka_protocol::messages::RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(0)
        .with_correlation_id(7)
        .encode(&mut body, 1)
        .unwrap();
    ApiVersionsRequest::default().encode(&mut body, 0).unwrap();
    let mut framed = (body.len() as i32).to_be_bytes().to_vec();
    framed.extend_from_slice(&body);
    framed
}

#[test]
fn the_wrong_protocol_on_a_port_fails_at_once_and_others_are_served() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(
        dir.path(),
        &[
            "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0".into(),
            "ssl.keystore.type=PEM".into(),
            format!("ssl.keystore.location={}", Pki::path(&pki.server)),
        ],
    ));
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    let ssl = broker.listener_addr("SSL").unwrap();
    // A plaintext Kafka request on the TLS port: no Kafka answer, the connection closes
    // (at most after a TLS alert record).
    let sent_back = rt.block_on(async {
        let mut s = TcpStream::connect(ssl).await.unwrap();
        s.write_all(&api_versions_frame()).await.unwrap();
        read_to_close(&mut s).await
    });
    assert!(
        sent_back.is_empty() || sent_back[0] == 0x15,
        "expected nothing or a TLS alert, got {sent_back:?}"
    );
    // A TLS client on the plaintext port, and a plaintext client on the TLS port, fail.
    assert!(metadata_port(&tls_client(&pki, plain, "ssl")).is_err());
    let mut wrong = ClientConfig::new();
    wrong.set("bootstrap.servers", ssl.to_string());
    assert!(metadata_port(&wrong).is_err());
    // Both listeners keep serving their own clients.
    let mut plain_client = ClientConfig::new();
    plain_client.set("bootstrap.servers", plain.to_string());
    assert!(metadata_port(&plain_client).is_ok());
    assert!(metadata_port(&tls_client(&pki, ssl, "ssl")).is_ok());
    rt.block_on(broker.shutdown()).unwrap();
}

/// SaslHandshake v1 for `mechanism` on `w`.
async fn handshake(w: &mut Wire, mechanism: &str) -> SaslHandshakeResponse {
    let req =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_string(mechanism.into()));
    w.call(ApiKey::SaslHandshake, 1, &req).await
}

async fn authenticate(w: &mut Wire, token: &[u8]) -> SaslAuthenticateResponse {
    let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token));
    w.call(ApiKey::SaslAuthenticate, 2, &req).await
}

/// A full SCRAM exchange over SaslAuthenticate; the final answer.
async fn scram_login(
    w: &mut Wire,
    mechanism: ScramMechanism,
    user: &str,
    password: &str,
) -> SaslAuthenticateResponse {
    assert_eq!(handshake(w, mechanism.name()).await.error_code, 0);
    let bare = format!("n={user},r=clientnonce123");
    let first = authenticate(w, format!("n,,{bare}").as_bytes()).await;
    if first.error_code != 0 {
        return first;
    }
    let server_first = std::str::from_utf8(&first.auth_bytes).unwrap().to_string();
    let fin = client_final(mechanism, password, &bare, &server_first).unwrap();
    authenticate(w, fin.as_bytes()).await
}

async fn metadata_ok(w: &mut Wire) {
    let r: MetadataResponse = w
        .call(
            ApiKey::Metadata,
            12,
            &MetadataRequest::default().with_topics(None),
        )
        .await;
    assert_eq!(r.brokers.len(), 1);
}

#[test]
fn scram_admin_apis_and_credentials_survive_a_restart() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let broker = rt.block_on(start(dir.path(), &sasl_overrides(&pki)));
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    let sasl_plain = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut admin = Wire::connect_addr(plain).await;
        let salt = b"0123456789abcdef".to_vec();
        let salted = ScramMechanism::Sha256.salted_password(b"dave-secret", &salt, 8192);
        let upsert = |name: &str, mechanism: i8, iterations: i32| {
            ScramCredentialUpsertion::default()
                .with_name(StrBytes::from_string(name.into()))
                .with_mechanism(mechanism)
                .with_iterations(iterations)
                .with_salt(Bytes::from(salt.clone()))
                .with_salted_password(Bytes::from(salted.clone()))
        };
        let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
            upsert("dave", 1, 8192),
            upsert("erin", 1, 100),
            upsert("frank", 9, 8192),
            upsert("gina", 1, 8192),
            upsert("gina", 2, 8192),
        ]);
        let r: AlterUserScramCredentialsResponse =
            admin.call(ApiKey::AlterUserScramCredentials, 0, &req).await;
        let by_user = |u: &str| {
            r.results
                .iter()
                .find(|x| x.user.as_str() == u)
                .map(|x| {
                    (
                        x.error_code,
                        x.error_message.as_ref().map(|m| m.to_string()),
                    )
                })
                .unwrap()
        };
        assert_eq!(by_user("dave"), (0, None));
        assert_eq!(by_user("erin"), (93, Some("Too few iterations".into())));
        assert_eq!(
            by_user("frank"),
            (33, Some("Unknown SCRAM mechanism".into()))
        );
        assert_eq!(
            by_user("gina"),
            (
                92,
                Some("A user credential cannot be altered twice in the same request".into())
            )
        );
        let d = DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
            UserName::default().with_name(StrBytes::from_static_str("dave")),
            UserName::default().with_name(StrBytes::from_static_str("gina")),
        ]));
        let r: DescribeUserScramCredentialsResponse = admin
            .call(ApiKey::DescribeUserScramCredentials, 0, &d)
            .await;
        assert_eq!(r.results.len(), 2);
        let dave = r
            .results
            .iter()
            .find(|x| x.user.as_str() == "dave")
            .unwrap();
        assert_eq!(dave.error_code, 0);
        assert_eq!(dave.credential_infos.len(), 1);
        assert_eq!(
            (
                dave.credential_infos[0].mechanism,
                dave.credential_infos[0].iterations
            ),
            (1, 8192)
        );
        let gina = r
            .results
            .iter()
            .find(|x| x.user.as_str() == "gina")
            .unwrap();
        assert_eq!(gina.error_code, 91, "RESOURCE_NOT_FOUND");
        // dave authenticates with the password behind the salted password.
        let mut w = Wire::connect_addr(sasl_plain).await;
        let done = scram_login(&mut w, ScramMechanism::Sha256, "dave", "dave-secret").await;
        assert_eq!(done.error_code, 0, "{:?}", done.error_message);
        assert!(done.auth_bytes.starts_with(b"v="));
        metadata_ok(&mut w).await;
    });
    rt.block_on(broker.shutdown()).unwrap();
    // After a restart the credential is still there.
    let broker = rt.block_on(start(dir.path(), &sasl_overrides(&pki)));
    let sasl_plain = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let sasl_ssl = broker.listener_addr("SASL_SSL").unwrap();
    rt.block_on(async {
        let mut w = Wire::connect_addr(sasl_plain).await;
        let done = scram_login(&mut w, ScramMechanism::Sha256, "dave", "dave-secret").await;
        assert_eq!(done.error_code, 0, "{:?}", done.error_message);
        metadata_ok(&mut w).await;
    });
    let dave = sasl(
        tls_client(&pki, sasl_ssl, "sasl_ssl"),
        "SCRAM-SHA-256",
        "dave",
        "dave-secret",
    );
    assert!(metadata_port(&dave).is_ok());
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn bad_sasl_input_gets_kafkas_errors_and_a_closed_connection() {
    let rt = runtime();
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    skiff::add_scram_credentials(
        dir.path(),
        &[parse_add_scram("SCRAM-SHA-512=[name=alice,password=alice-secret]").unwrap()],
    )
    .unwrap();
    let broker = rt.block_on(start(dir.path(), &sasl_overrides(&pki)));
    let addr = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        // ApiVersions is served before authentication.
        let mut w = Wire::connect_addr(addr).await;
        let v: ApiVersionsResponse = w
            .call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default())
            .await;
        let range = |k: ApiKey| {
            v.api_keys
                .iter()
                .find(|a| a.api_key == k as i16)
                .map(|a| (a.min_version, a.max_version))
        };
        assert_eq!(range(ApiKey::SaslHandshake), Some((0, 1)));
        assert_eq!(range(ApiKey::SaslAuthenticate), Some((0, 2)));
        assert_eq!(range(ApiKey::DescribeUserScramCredentials), Some((0, 0)));
        assert_eq!(range(ApiKey::AlterUserScramCredentials), Some((0, 0)));
        // Any other request before authentication ends the connection.
        w.send(ApiKey::Metadata, 12, &MetadataRequest::default()).await;
        w.expect_closed().await;

        // SaslAuthenticate before SaslHandshake: closed.
        let mut w = Wire::connect_addr(addr).await;
        w.send(
            ApiKey::SaslAuthenticate,
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0a\0b")),
        )
        .await;
        w.expect_closed().await;

        // An unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the enabled ones, closed.
        let mut w = Wire::connect_addr(addr).await;
        let r = handshake(&mut w, "GSSAPI").await;
        assert_eq!(r.error_code, 33);
        let listed: Vec<String> = r.mechanisms.iter().map(|m| m.to_string()).collect();
        assert_eq!(listed, ["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]);
        w.expect_closed().await;

        // A frame above sasl.server.max.receive.size before authentication: closed.
        let mut w = Wire::connect_addr(addr).await;
        w.send_raw(&(600_000i32).to_be_bytes()).await;
        w.send_raw(&[0u8; 1024]).await;
        w.expect_closed().await;

        // A truncated request: closed.
        let mut w = Wire::connect_addr(addr).await;
        w.send_raw(&[0, 0, 0, 40, 0, 17, 0, 1]).await;
        w.shutdown_write().await;
        w.expect_closed().await;

        // A wrong SCRAM proof: SASL_AUTHENTICATION_FAILED with Kafka's message, closed.
        let mut w = Wire::connect_addr(addr).await;
        let r = scram_login(&mut w, ScramMechanism::Sha512, "alice", "nope").await;
        assert_eq!(r.error_code, 58);
        assert_eq!(
            r.error_message.unwrap().as_str(),
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
        );
        w.expect_closed().await;

        // A client-final-message carrying another nonce (a replayed or forged one).
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "SCRAM-SHA-512").await.error_code, 0);
        let bare = "n=alice,r=nonceA";
        let first = authenticate(&mut w, format!("n,,{bare}").as_bytes()).await;
        let server_first = std::str::from_utf8(&first.auth_bytes).unwrap().to_string();
        let replayed = server_first.replacen("r=nonceA", "r=nonceB", 1);
        let fin = client_final(ScramMechanism::Sha512, "alice-secret", bare, &replayed).unwrap();
        let r = authenticate(&mut w, fin.as_bytes()).await;
        assert_eq!(r.error_code, 58);
        assert_eq!(
            r.error_message.unwrap().as_str(),
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
        );
        w.expect_closed().await;

        // Garbage as the SCRAM client-first-message, and an unknown user.
        for token in [&b"\xff\xfe garbage"[..], b"n,,n=nobody,r=abc"] {
            let mut w = Wire::connect_addr(addr).await;
            assert_eq!(handshake(&mut w, "SCRAM-SHA-512").await.error_code, 0);
            let r = authenticate(&mut w, token).await;
            assert_eq!(r.error_code, 58);
            w.expect_closed().await;
        }

        // Another request between the handshake and SaslAuthenticate: closed.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "PLAIN").await.error_code, 0);
        w.send(ApiKey::Metadata, 12, &MetadataRequest::default()).await;
        w.expect_closed().await;

        // PLAIN with a bad token layout.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "PLAIN").await.error_code, 0);
        let r = authenticate(&mut w, b"admin-only").await;
        assert_eq!(r.error_code, 58);
        assert_eq!(
            r.error_message.unwrap().as_str(),
            "Invalid SASL/PLAIN response: expected 3 tokens, got 1"
        );
        w.expect_closed().await;

        // SaslHandshake v0: the PLAIN token follows as a bare frame and is answered bare.
        let mut w = Wire::connect_addr(addr).await;
        let req = SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN"));
        let r: SaslHandshakeResponse = w.call(ApiKey::SaslHandshake, 0, &req).await;
        assert_eq!(r.error_code, 0);
        let token = b"\0admin\0admin-secret";
        let mut framed = (token.len() as i32).to_be_bytes().to_vec();
        framed.extend_from_slice(token);
        w.send_raw(&framed).await;
        assert_eq!(w.recv_frame().await.unwrap().len(), 0);
        metadata_ok(&mut w).await;
        // Once authenticated, SaslHandshake and SaslAuthenticate are ILLEGAL_SASL_STATE.
        assert_eq!(handshake(&mut w, "PLAIN").await.error_code, 34);
        assert_eq!(authenticate(&mut w, b"x").await.error_code, 34);
        metadata_ok(&mut w).await;

        // A good PLAIN login over SaslAuthenticate, then ordinary requests.
        let mut w = Wire::connect_addr(addr).await;
        assert_eq!(handshake(&mut w, "PLAIN").await.error_code, 0);
        let r = authenticate(&mut w, b"\0carol\0carol-secret").await;
        assert_eq!(r.error_code, 0);
        metadata_ok(&mut w).await;
    });
    // A PLAINTEXT listener answers the SASL APIs with ILLEGAL_SASL_STATE.
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut w = Wire::connect_addr(plain).await;
        assert_eq!(handshake(&mut w, "PLAIN").await.error_code, 34);
        metadata_ok(&mut w).await;
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn sasl_listener_settings_are_checked_at_start() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        // Kafka's default mechanism is GSSAPI, which Skiff does not serve.
        (&["listeners=SASL_PLAINTEXT://127.0.0.1:0"], "GSSAPI"),
        (
            &[
                "listeners=SASL_PLAINTEXT://127.0.0.1:0",
                "sasl.enabled.mechanisms=PLAIN",
            ],
            "plain.sasl.jaas.config",
        ),
        (
            &["listeners=SSL://127.0.0.1:0"],
            "ssl.keystore.type=JKS is not supported",
        ),
    ];
    for (overrides, message) in cases {
        let mut config = Config::default();
        config
            .set("data.dir", dir.path().to_str().unwrap())
            .unwrap();
        for o in *overrides {
            config.apply_override(o).unwrap();
        }
        let err = rt.block_on(Broker::start(config)).err().unwrap();
        assert!(err.to_string().contains(message), "{err}");
    }
}

/// A `skiff serve` child process, killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `skiff serve` over `dir` with a PLAINTEXT and a SASL_PLAINTEXT (SCRAM-SHA-512)
/// listener and waits until both accept connections.
fn spawn_sasl_broker(dir: &Path, plain: u16, sasl: u16) -> Child {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args([
            "--set",
            &format!("listeners=PLAINTEXT://127.0.0.1:{plain},SASL_PLAINTEXT://127.0.0.1:{sasl}"),
            "--set",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "--log-level",
            "warn",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for port in [plain, sasl] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.0.try_wait().unwrap().is_none(), "skiff exited");
            assert!(std::time::Instant::now() < deadline, "skiff did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    child
}

#[test]
fn scram_users_from_format_and_from_the_admin_api_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let format = std::process::Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args(["format", "--data-dir"])
        .arg(dir.path())
        .args([
            "--add-scram",
            "SCRAM-SHA-512=[name=alice,password=alice-secret]",
        ])
        .status()
        .unwrap();
    assert!(format.success());
    let (plain, sasl_port) = (free_port(), free_port());
    let mut child = spawn_sasl_broker(dir.path(), plain, sasl_port);
    let rt = runtime();
    rt.block_on(async {
        let mut admin = Wire::connect_addr(SocketAddr::from(([127, 0, 0, 1], plain))).await;
        let salt = b"fedcba9876543210".to_vec();
        let salted = ScramMechanism::Sha512.salted_password(b"bob-secret", &salt, 4096);
        let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
            ScramCredentialUpsertion::default()
                .with_name(StrBytes::from_static_str("bob"))
                .with_mechanism(2)
                .with_iterations(4096)
                .with_salt(Bytes::from(salt))
                .with_salted_password(Bytes::from(salted)),
        ]);
        let r: AlterUserScramCredentialsResponse =
            admin.call(ApiKey::AlterUserScramCredentials, 0, &req).await;
        assert_eq!(r.results[0].error_code, 0);
    });
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    drop(child);
    let _child = spawn_sasl_broker(dir.path(), plain, sasl_port);
    for (user, password) in [("alice", "alice-secret"), ("bob", "bob-secret")] {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", format!("127.0.0.1:{sasl_port}"))
            .set("security.protocol", "sasl_plaintext");
        let c = sasl(c, "SCRAM-SHA-512", user, password);
        assert_eq!(metadata_port(&c).unwrap(), i32::from(sasl_port), "{user}");
    }
}
