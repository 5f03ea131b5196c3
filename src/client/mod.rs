//! A small async Kafka client for the `skiff` CLI: bootstrap, per-broker connections with
//! ApiVersions negotiation, any request through kafka-protocol's client-side encoding,
//! Metadata and FindCoordinator. It speaks to any broker (Skiff or Kafka) and never reaches
//! into the broker's own layers.

pub mod connection;
pub mod error;
pub mod sasl;
pub mod security;

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::{MetadataResponse, TopicName};
use kafka_protocol::protocol::{Request, StrBytes};

pub use connection::Connection;
pub use error::{kafka_error_name, ClientError, Result};
pub use security::{SaslMechanism, Security, SecurityProtocol};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Bootstrap brokers, `HOST:PORT` each; tried in order.
    pub bootstrap: Vec<String>,
    /// The client id sent in every request header.
    pub client_id: String,
    /// How long a connection attempt or a request may take.
    pub timeout: Duration,
    /// TLS and SASL.
    pub security: Security,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            bootstrap: vec!["127.0.0.1:9092".into()],
            client_id: "skiff-cli".into(),
            timeout: Duration::from_secs(30),
            security: Security::default(),
        }
    }
}

/// A broker as the cluster metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Broker id.
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if set.
    pub rack: Option<String>,
}

/// A client of one cluster: a bootstrap connection plus one connection per broker used.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    bootstrap: Connection,
    nodes: HashMap<i32, Node>,
    connections: HashMap<i32, Connection>,
}

/// Opens a connection to `addr`: TCP (and TLS), ApiVersions, then SASL.
async fn open(addr: &str, config: &ClientConfig) -> Result<Connection> {
    let mut conn =
        Connection::open(addr, &config.client_id, config.timeout, &config.security).await?;
    sasl::authenticate(&config.security, &mut conn).await?;
    Ok(conn)
}

/// FindCoordinator's key type for consumer groups.
const GROUP_KEY: i8 = 0;

impl Client {
    /// Connects to the first bootstrap broker that answers and reads the cluster's brokers.
    pub async fn connect(config: ClientConfig) -> Result<Client> {
        let mut last = None;
        for addr in &config.bootstrap {
            match open(addr, &config).await {
                Ok(bootstrap) => {
                    let mut client = Client {
                        config,
                        bootstrap,
                        nodes: HashMap::new(),
                        connections: HashMap::new(),
                    };
                    client.metadata(Some(&[])).await?;
                    return Ok(client);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Connect {
            addr: String::new(),
            reason: "no bootstrap broker given".into(),
        }))
    }

    /// The bootstrap connection (its ApiVersions answer, its versions).
    pub fn bootstrap(&self) -> &Connection {
        &self.bootstrap
    }

    /// The brokers the last Metadata answer listed, by id.
    pub fn nodes(&self) -> &HashMap<i32, Node> {
        &self.nodes
    }

    /// Sends a request to the bootstrap broker at the highest version both sides speak;
    /// `build` makes it for that version.
    pub async fn call<R: Request>(&mut self, build: impl FnOnce(i16) -> R) -> Result<R::Response> {
        self.bootstrap.call(build).await
    }

    /// Sends a request to broker `node` (opening a connection to it on first use).
    pub async fn call_node<R: Request>(
        &mut self,
        node: i32,
        build: impl FnOnce(i16) -> R,
    ) -> Result<R::Response> {
        self.node(node).await?.call(build).await
    }

    /// The connection to broker `node`, opened on first use.
    pub async fn node(&mut self, node: i32) -> Result<&mut Connection> {
        if !self.connections.contains_key(&node) {
            let n = self
                .nodes
                .get(&node)
                .ok_or(ClientError::UnknownNode(node))?;
            let addr = format!("{}:{}", n.host, n.port);
            let conn = open(&addr, &self.config).await?;
            self.connections.insert(node, conn);
        }
        self.connections
            .get_mut(&node)
            .ok_or(ClientError::UnknownNode(node))
    }

    /// Metadata for `topics` (`None`: every topic; `Some(&[])`: brokers only), without
    /// creating topics; remembers the brokers it lists.
    pub async fn metadata(&mut self, topics: Option<&[String]>) -> Result<MetadataResponse> {
        let response = self
            .bootstrap
            .call(|_| {
                MetadataRequest::default()
                    .with_topics(topics.map(|names| {
                        names
                            .iter()
                            .map(|n| {
                                MetadataRequestTopic::default()
                                    .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                            })
                            .collect()
                    }))
                    .with_allow_auto_topic_creation(false)
            })
            .await?;
        self.nodes = response
            .brokers
            .iter()
            .map(|b| {
                (
                    b.node_id.0,
                    Node {
                        id: b.node_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.as_ref().map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        Ok(response)
    }

    /// The broker that coordinates consumer group `group`.
    pub async fn group_coordinator(&mut self, group: &str) -> Result<i32> {
        let key = StrBytes::from_string(group.to_string());
        let response = self
            .bootstrap
            .call(|v| {
                let r = FindCoordinatorRequest::default().with_key_type(GROUP_KEY);
                if v >= 4 {
                    r.with_coordinator_keys(vec![key.clone()])
                } else {
                    r.with_key(key.clone())
                }
            })
            .await?;
        let context = format!("group {group}");
        if let Some(c) = response.coordinators.first() {
            ClientError::check(c.error_code, context, c.error_message.as_deref())?;
            return Ok(c.node_id.0);
        }
        ClientError::check(
            response.error_code,
            context,
            response.error_message.as_deref(),
        )?;
        Ok(response.node_id.0)
    }
}
