//! Skiff: a Kafka-wire-compatible broker.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod broker;
pub mod config;
pub mod server;
pub mod storage;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::api::ApiContext;
use crate::broker::group::GroupCoordinator;
use crate::broker::txn::{LogMarkerWriter, TokioClock, TxnCoordinator};
use crate::broker::ReplicaManager;
use crate::config::Config;
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
    /// The advertised listener is not `HOST:PORT`.
    #[error("invalid advertised listener `{0}`")]
    AdvertisedListener(String),
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
        let listener =
            TcpListener::bind(&config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen.clone(),
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
        let (advertised_host, advertised_port) = match &config.advertised_listener {
            Some(a) => {
                let (h, p) = a
                    .rsplit_once(':')
                    .ok_or_else(|| StartError::AdvertisedListener(a.clone()))?;
                let port = p
                    .parse::<u16>()
                    .map_err(|_| StartError::AdvertisedListener(a.clone()))?;
                (h.to_string(), i32::from(port))
            }
            None => (local_addr.ip().to_string(), i32::from(local_addr.port())),
        };
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
            std::time::Duration::from_millis(config.producer_id_expiration_check_interval_ms),
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
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let ctx = Arc::new(ApiContext {
            apis: api::registry::REGISTRY,
            replicas: replicas.clone(),
            groups: groups.clone(),
            txns: Arc::clone(&txns),
            features,
            config: config.clone(),
            cluster_id,
            advertised_host,
            advertised_port,
            shutdown: shutdown_rx.clone(),
            fetch_sessions: Arc::new(api::fetch_session::FetchSessionCache::new(
                config.max_incremental_fetch_session_cache_slots,
                config.min_incremental_fetch_session_eviction_ms,
            )),
            client_metrics: Arc::clone(&client_metrics),
            quotas,
        });
        let limit = Arc::new(Semaphore::new(config.max_connections));
        let accept = tokio::spawn(server::accept_loop(
            listener,
            ctx,
            limit.clone(),
            shutdown_rx,
        ));
        tracing::info!(%local_addr, data_dir = %config.data_dir.display(), "skiff broker serving");
        Ok(BrokerHandle {
            local_addr,
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

/// How long shutdown waits for connections to finish their in-flight requests.
pub const SHUTDOWN_DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// A running broker.
pub struct BrokerHandle {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    accept: JoinHandle<()>,
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
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `HOST:PORT` of the listener, for client bootstrap settings.
    pub fn bootstrap(&self) -> String {
        self.local_addr.to_string()
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
        if let Err(e) = self.accept.await {
            tracing::warn!(error = %e, "accept loop panicked");
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
