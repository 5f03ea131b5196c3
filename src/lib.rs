//! Skiff: a Kafka-wire-compatible broker.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod broker;
pub mod cli;
pub mod client;
pub mod config;
pub mod server;
pub mod storage;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::api::spec::Listener;
use crate::api::ApiContext;
use crate::broker::group::GroupCoordinator;
use crate::broker::security::credentials::{CredentialChange, ScramCredentials};
use crate::broker::security::delegation::{DelegationTokens, TokenConfig};
use crate::broker::security::jaas::{JaasConfig, PLAIN_LOGIN_MODULE};
use crate::broker::security::oauthbearer::{
    jwks_path, JwksValidator, TokenValidator, UnsecuredOptions, OAUTHBEARER_LOGIN_MODULE,
    VALIDATOR_CALLBACK_HANDLERS,
};
use crate::broker::security::sasl::{SaslConfig, SUPPORTED_MECHANISMS};
use crate::broker::txn::{LogMarkerWriter, TokioClock, TxnCoordinator};
use crate::broker::ReplicaManager;
use crate::config::Config;
use crate::config::ListenerConfig;
use crate::server::ListenerRuntime;
use crate::storage::kv::{StateStore, StateStoreConfig};

/// Why a broker could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound or inspected.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The configured address.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The listener settings (`listeners`, `advertised.listeners`, the protocol map) do not
    /// make a set of listeners.
    #[error(transparent)]
    Listeners(#[from] config::ConfigError),
    /// A TLS listener's key store, trust store or options cannot be used.
    #[error(transparent)]
    Tls(#[from] server::tls::TlsError),
    /// A SASL listener's mechanisms or JAAS settings cannot be used.
    #[error("listener {listener}: {message}")]
    Sasl {
        /// The listener.
        listener: String,
        /// What is wrong.
        message: String,
    },
    /// The SCRAM credentials could not be loaded or stored.
    #[error(transparent)]
    Credentials(#[from] broker::security::SaslError),
    /// The data directory could not be opened.
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    /// A coordinator (groups, transactions) could not load its state.
    #[error("coordinator failed to start: {0}")]
    Coordinator(String),
}

/// Folder of the data directory holding the keyed state store (groups, offsets, producer
/// ids, transactions). Its name has no `-<partition>` suffix, so it is never taken for a log.
pub const STATE_DIR: &str = "__state";

/// A Skiff broker: storage, topics and the Kafka listener.
pub struct Broker;

impl Broker {
    /// Opens the data directory, binds the listener (port 0 picks a free port) and starts
    /// serving on the current tokio runtime.
    pub async fn start(config: Config) -> Result<BrokerHandle, StartError> {
        let listener_configs = config.listener_configs()?;
        let mut bound = Vec::with_capacity(listener_configs.len());
        for l in &listener_configs {
            let socket = TcpListener::bind(&l.bind)
                .await
                .map_err(|source| StartError::Listen {
                    addr: l.bind.clone(),
                    source,
                })?;
            let addr = socket.local_addr().map_err(|source| StartError::Listen {
                addr: l.bind.clone(),
                source,
            })?;
            bound.push((socket, addr));
        }
        let config = Arc::new(config);
        std::fs::create_dir_all(&config.data_dir).map_err(broker::BrokerError::from)?;
        let state = Arc::new(
            StateStore::open(config.data_dir.join(STATE_DIR), StateStoreConfig::default())
                .map_err(broker::BrokerError::from)?,
        );
        let replicas = Arc::new(ReplicaManager::open_with_state(
            &config,
            Arc::clone(&state),
        )?);
        replicas.resume_interrupted_moves();
        // The configuration in force: the file and command line with the broker configs
        // changed at run time (kept in the state store).
        let config = replicas.broker_config();
        let cluster_id =
            broker::cluster::load_or_create_cluster_id(&config.data_dir, &config.cluster_id)?;
        let groups = GroupCoordinator::open(
            Arc::clone(&state),
            broker::group::GroupConfig::from_broker_config(&config),
        )
        .map_err(|e| StartError::Coordinator(e.to_string()))?;
        let txns = TxnCoordinator::open(
            broker::txn::TxnConfig::from_broker_config(&config),
            Arc::clone(&state),
            Arc::new(LogMarkerWriter::new(Arc::clone(replicas.storage()))),
            Arc::new(groups.clone()),
            Arc::new(TokioClock::new()),
        )
        .map_err(|e| StartError::Coordinator(e.to_string()))?;
        let txn_task = txns.start();
        let features = Arc::new(
            broker::features::Features::open(config.node_id, Some(Arc::clone(&state)))
                .map_err(|e| StartError::Coordinator(e.to_string()))?,
        );
        let producer_expiration_ms = Arc::new(AtomicI64::new(config.producer_id_expiration_ms));
        let producer_expiry_task = broker::txn::spawn_producer_expiry_with(
            replicas.storage(),
            Arc::new(TokioClock::new()),
            Duration::from_millis(config.producer_id_expiration_check_interval_ms),
            Arc::clone(&producer_expiration_ms),
        );
        replicas.dynamic_config().on_change(move |_, new| {
            producer_expiration_ms.store(new.producer_id_expiration_ms, Ordering::Relaxed);
        });
        let client_metrics = Arc::new(
            broker::client_metrics::ClientMetrics::open(
                config.client_telemetry_enable,
                config.telemetry_max_bytes,
                Some(Arc::clone(&state)),
            )
            .map_err(|e| StartError::Coordinator(e.to_string()))?,
        );
        let quotas = Arc::new(
            broker::quota::QuotaManager::open(
                broker::quota::QuotaWindows::from_config(&config),
                Some(Arc::clone(&state)),
            )
            .map_err(|e| StartError::Coordinator(e.to_string()))?,
        );
        let scram = Arc::new(ScramCredentials::open(Some(Arc::clone(&state)))?);
        let tokens = Arc::new(
            DelegationTokens::open(token_config(&config), Some(Arc::clone(&state)))
                .map_err(|e| StartError::Coordinator(e.to_string()))?,
        );
        let authorizer = Arc::new(
            broker::authorizer::Authorizer::open(&config, Some(Arc::clone(&state)))
                .map_err(|e| StartError::Coordinator(e.to_string()))?,
        );
        let group_configs = Arc::new(
            broker::share::GroupConfigs::open(Arc::clone(&state), Arc::clone(&config))
                .map_err(|e| StartError::Coordinator(e.to_string()))?,
        );
        let share = broker::share::ShareCoordinator::open(
            Arc::clone(&state),
            Arc::clone(&replicas),
            group_configs,
            Arc::clone(&config),
        )
        .map_err(|e| StartError::Coordinator(e.to_string()))?;
        let mut runtimes = Vec::with_capacity(listener_configs.len());
        for (l, (_, addr)) in listener_configs.iter().zip(&bound) {
            runtimes.push(Arc::new(listener_runtime(
                &config, l, *addr, &scram, &tokens,
            )?));
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let ctx = Arc::new(ApiContext {
            apis: api::registry::REGISTRY,
            replicas: replicas.clone(),
            groups: groups.clone(),
            share,
            txns: Arc::clone(&txns),
            features,
            config: config.clone(),
            cluster_id,
            scram,
            tokens,
            shutdown: shutdown_rx.clone(),
            fetch_sessions: Arc::new(api::fetch_session::FetchSessionCache::new(
                config.max_incremental_fetch_session_cache_slots,
                config.min_incremental_fetch_session_eviction_ms,
            )),
            client_metrics: Arc::clone(&client_metrics),
            quotas,
            authorizer,
        });
        let limit = Arc::new(Semaphore::new(config.max_connections));
        let first_listener = runtimes.first().cloned();
        let mut accept = Vec::with_capacity(bound.len());
        let mut listeners = Vec::with_capacity(bound.len());
        for ((socket, addr), runtime) in bound.into_iter().zip(runtimes) {
            tracing::info!(listener = %runtime.info.name, protocol = runtime.info.protocol.name(),
                %addr, advertised = %format!("{}:{}", runtime.info.advertised_host,
                    runtime.info.advertised_port), "listening");
            listeners.push((runtime.info.name.clone(), addr));
            accept.push(tokio::spawn(server::accept_loop(
                socket,
                runtime,
                Arc::clone(&ctx),
                limit.clone(),
                shutdown_rx.clone(),
            )));
        }
        let local_addr = listeners.first().map(|(_, a)| *a).ok_or_else(|| {
            StartError::Listeners(config::ConfigError::InvalidValue {
                name: "listeners".into(),
                value: String::new(),
                reason: "no listener".into(),
            })
        })?;
        let first_listener = first_listener.ok_or_else(|| {
            StartError::Listeners(config::ConfigError::InvalidValue {
                name: "listeners".into(),
                value: String::new(),
                reason: "no listener".into(),
            })
        })?;
        tracing::info!(%local_addr, data_dir = %config.data_dir.display(), "skiff broker serving");
        Ok(BrokerHandle {
            local_addr,
            ctx,
            first_listener,
            listeners,
            shutdown: shutdown_tx,
            accept,
            limit,
            max_connections: config.max_connections,
            replicas,
            state,
            groups,
            txn_task,
            producer_expiry_task,
            txns,
            client_metrics,
        })
    }
}

/// The runtime settings of one listener: its advertised address, TLS and SASL.
fn listener_runtime(
    config: &Config,
    l: &ListenerConfig,
    bound: SocketAddr,
    scram: &Arc<ScramCredentials>,
    tokens: &Arc<DelegationTokens>,
) -> Result<ListenerRuntime, StartError> {
    let (advertised_host, advertised_port) = match &l.advertised {
        Some((h, p)) => (h.clone(), *p),
        None => (bound.ip().to_string(), bound.port()),
    };
    let info = Arc::new(Listener {
        name: l.name.clone(),
        protocol: l.protocol,
        advertised_host,
        advertised_port: i32::from(advertised_port),
    });
    let tls = if l.protocol.uses_tls() {
        Some(server::tls::listener_tls(config, &l.name)?)
    } else {
        None
    };
    let sasl = if l.protocol.uses_sasl() {
        Some(Arc::new(sasl_config(config, &l.name, scram, tokens)?))
    } else {
        None
    };
    Ok(ListenerRuntime { info, tls, sasl })
}

/// The SASL settings of listener `name`: its mechanisms (each one Skiff serves) and, with
/// PLAIN, the users of its PlainLoginModule JAAS line.
fn sasl_config(
    config: &Config,
    name: &str,
    scram: &Arc<ScramCredentials>,
    tokens: &Arc<DelegationTokens>,
) -> Result<SaslConfig, StartError> {
    let fail = |message: String| StartError::Sasl {
        listener: name.to_string(),
        message,
    };
    let mechanisms: Vec<String> = config
        .listener_option(name, "sasl.enabled.mechanisms")
        .unwrap_or_default()
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if mechanisms.is_empty() {
        return Err(fail("sasl.enabled.mechanisms is empty".into()));
    }
    if let Some(m) = mechanisms
        .iter()
        .find(|m| !SUPPORTED_MECHANISMS.contains(&m.as_str()))
    {
        return Err(fail(format!(
            "SASL mechanism {m} is not supported (sasl.enabled.mechanisms may list {})",
            SUPPORTED_MECHANISMS.join(", ")
        )));
    }
    let mut plain_users = BTreeMap::new();
    if mechanisms.iter().any(|m| m == "PLAIN") {
        let line = config
            .listener_option(name, "plain.sasl.jaas.config")
            .ok_or_else(|| {
                fail(format!(
                    "PLAIN needs listener.name.{}.plain.sasl.jaas.config",
                    name.to_ascii_lowercase()
                ))
            })?;
        let jaas =
            JaasConfig::parse(&line).map_err(|e| fail(format!("plain.sasl.jaas.config: {e}")))?;
        if jaas.login_module != PLAIN_LOGIN_MODULE {
            return Err(fail(format!(
                "plain.sasl.jaas.config names {}, not {PLAIN_LOGIN_MODULE}",
                jaas.login_module
            )));
        }
        plain_users = jaas.plain_users();
    }
    let oauthbearer = if mechanisms.iter().any(|m| m == "OAUTHBEARER") {
        Some(oauthbearer_validator(config, name).map_err(fail)?)
    } else {
        None
    };
    let max_reauth_ms = mechanisms
        .iter()
        .map(|m| {
            let option = format!("{}.connections.max.reauth.ms", m.to_ascii_lowercase());
            let ms = config
                .listener_option(name, &option)
                .and_then(|v| v.parse().ok())
                .unwrap_or(config.connections_max_reauth_ms);
            (m.clone(), ms)
        })
        .collect();
    Ok(SaslConfig {
        mechanisms,
        plain_users,
        failed_authentication_delay: Duration::from_millis(
            config.connection_failed_authentication_delay_ms,
        ),
        credentials: Arc::clone(scram),
        tokens: Some(Arc::clone(tokens)),
        max_reauth_ms,
        oauthbearer,
    })
}

/// The delegation token settings (`delegation.token.*`).
fn token_config(config: &Config) -> TokenConfig {
    TokenConfig {
        secret_key: config.delegation_token_secret_key.clone(),
        max_lifetime_ms: i64::try_from(config.delegation_token_max_lifetime_ms).unwrap_or(i64::MAX),
        expiry_time_ms: i64::try_from(config.delegation_token_expiry_time_ms).unwrap_or(i64::MAX),
    }
}

/// How listener `name` validates OAUTHBEARER tokens: with Kafka's
/// `OAuthBearerValidatorCallbackHandler` as its server callback handler, signed tokens
/// against `sasl.oauthbearer.jwks.endpoint.url`; otherwise Kafka's unsecured validator,
/// with the options of the listener's OAuthBearerLoginModule JAAS line (if any).
fn oauthbearer_validator(config: &Config, name: &str) -> Result<TokenValidator, String> {
    let handler = config.listener_option(name, "oauthbearer.sasl.server.callback.handler.class");
    if let Some(handler) = handler {
        if !VALIDATOR_CALLBACK_HANDLERS.contains(&handler.as_str()) {
            return Err(format!(
                "oauthbearer.sasl.server.callback.handler.class {handler} is not supported (use one of {})",
                VALIDATOR_CALLBACK_HANDLERS.join(", ")
            ));
        }
        let url = config
            .listener_option(name, "sasl.oauthbearer.jwks.endpoint.url")
            .ok_or(
                "OAuthBearerValidatorCallbackHandler needs sasl.oauthbearer.jwks.endpoint.url",
            )?;
        let keys = JwksValidator::load(&url)?;
        let path = jwks_path(&url)?;
        let list = |option: &str| -> Vec<String> {
            config
                .listener_option(name, option)
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        return Ok(TokenValidator::Jwks(Box::new(JwksValidator {
            jwks_path: path,
            keys,
            expected_audience: list("sasl.oauthbearer.expected.audience"),
            expected_issuer: config.listener_option(name, "sasl.oauthbearer.expected.issuer"),
            sub_claim: config
                .listener_option(name, "sasl.oauthbearer.sub.claim.name")
                .unwrap_or_else(|| "sub".into()),
            scope_claim: config
                .listener_option(name, "sasl.oauthbearer.scope.claim.name")
                .unwrap_or_else(|| "scope".into()),
            clock_skew_s: config
                .listener_option(name, "sasl.oauthbearer.clock.skew.seconds")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30),
        })));
    }
    let options = match config.listener_option(name, "oauthbearer.sasl.jaas.config") {
        Some(line) => {
            let jaas = JaasConfig::parse(&line)
                .map_err(|e| format!("oauthbearer.sasl.jaas.config: {e}"))?;
            if jaas.login_module != OAUTHBEARER_LOGIN_MODULE {
                return Err(format!(
                    "oauthbearer.sasl.jaas.config names {}, not {OAUTHBEARER_LOGIN_MODULE}",
                    jaas.login_module
                ));
            }
            UnsecuredOptions::from_jaas(&jaas.options)?
        }
        None => UnsecuredOptions::default(),
    };
    Ok(TokenValidator::Unsecured(options))
}

/// What `skiff format --add-scram` does before a first start (as `kafka-storage format
/// --add-scram`): writes SCRAM credentials into the state store of `data_dir`.
pub fn add_scram_credentials(
    data_dir: &std::path::Path,
    changes: &[CredentialChange],
) -> Result<(), StartError> {
    std::fs::create_dir_all(data_dir).map_err(broker::BrokerError::from)?;
    let state = Arc::new(
        StateStore::open(data_dir.join(STATE_DIR), StateStoreConfig::default())
            .map_err(broker::BrokerError::from)?,
    );
    let credentials = ScramCredentials::open(Some(Arc::clone(&state)))?;
    credentials.apply(changes)?;
    state.close().map_err(broker::BrokerError::from)?;
    Ok(())
}

/// How long shutdown waits for connections to finish their in-flight requests.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(30);

/// A running broker.
pub struct BrokerHandle {
    local_addr: SocketAddr,
    ctx: Arc<ApiContext>,
    first_listener: Arc<ListenerRuntime>,
    listeners: Vec<(String, SocketAddr)>,
    shutdown: watch::Sender<bool>,
    accept: Vec<JoinHandle<()>>,
    limit: Arc<Semaphore>,
    max_connections: usize,
    replicas: Arc<ReplicaManager>,
    state: Arc<StateStore>,
    groups: GroupCoordinator,
    txn_task: JoinHandle<()>,
    producer_expiry_task: JoinHandle<()>,
    txns: Arc<TxnCoordinator>,
    client_metrics: Arc<broker::client_metrics::ClientMetrics>,
}

impl BrokerHandle {
    /// The address the first listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `HOST:PORT` of the first listener, for client bootstrap settings.
    pub fn bootstrap(&self) -> String {
        self.local_addr.to_string()
    }

    /// The address listener `name` (any case) is bound to.
    pub fn listener_addr(&self, name: &str) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, a)| *a)
    }

    /// Every listener's name and bound address, in the configured order.
    pub fn listeners(&self) -> &[(String, SocketAddr)] {
        &self.listeners
    }

    /// Serves one connection over an in-memory pipe, as if a client at `peer` had connected
    /// to the first listener (without its TLS, but with its SASL exchange): the whole
    /// connection path (framing, decoding, dispatch, in-order responses) without a socket.
    /// Returns the client's end; the connection ends when that end is dropped or shut down
    /// for writing, like a TCP connection. Fuzzers and tests drive the broker with it.
    pub fn connect_in_memory(&self, peer: SocketAddr) -> tokio::io::DuplexStream {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (read_half, write_half) = tokio::io::split(server);
        tokio::spawn(server::connection::serve(
            read_half,
            write_half,
            peer,
            Arc::clone(&self.ctx),
            Arc::clone(&self.first_listener),
            broker::security::KafkaPrincipal::anonymous(),
        ));
        client
    }

    /// The replica manager (topics, partitions and their logs).
    pub fn replicas(&self) -> &Arc<ReplicaManager> {
        &self.replicas
    }

    /// The transaction coordinator (tests wait on its background work's stats).
    pub fn transactions(&self) -> &Arc<TxnCoordinator> {
        &self.txns
    }

    /// The client telemetry receiver (subscriptions and what clients pushed).
    pub fn client_metrics(&self) -> &Arc<broker::client_metrics::ClientMetrics> {
        &self.client_metrics
    }

    /// Runs time and size retention over every log now (it also runs every
    /// `log.retention.check.interval.ms`).
    pub async fn enforce_retention(&self) {
        let replicas = self.replicas.clone();
        let _ = tokio::task::spawn_blocking(move || replicas.enforce_retention()).await;
    }

    /// Stops accepting, lets connections answer their in-flight requests, then flushes and
    /// closes every log.
    pub async fn shutdown(self) -> Result<(), StartError> {
        let _ = self.shutdown.send(true);
        for accept in self.accept {
            if let Err(e) = accept.await {
                tracing::warn!(error = %e, "accept loop panicked");
            }
        }
        // Every connection holds a permit until it has finished: taking them all waits. A
        // client that stops reading its responses cannot hold the shutdown forever.
        let all = u32::try_from(self.max_connections).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(SHUTDOWN_DRAIN, self.limit.acquire_many(all)).await;
        if drained.is_err() {
            tracing::warn!("connections still open after {SHUTDOWN_DRAIN:?}; closing logs anyway");
        }
        self.groups.shutdown();
        self.txn_task.abort();
        self.producer_expiry_task.abort();
        self.replicas.close()?;
        if let Err(e) = self.state.close() {
            tracing::error!(error = %e, "closing the state store failed");
        }
        tracing::info!("skiff broker stopped");
        Ok(())
    }
}
