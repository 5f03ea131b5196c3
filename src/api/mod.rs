//! The Kafka APIs: one module per API, named after it, listed in [`registry::REGISTRY`].
//! Handlers take decoded requests and return responses; they do no socket or file I/O of
//! their own (the broker layer owns the logs).
//!
//! A handler runs in two parts. The part that must keep request order (queueing produced
//! batches on their partition's writer, auto-creating topics) runs synchronously when the
//! request is dispatched; the part that waits (the append itself and, for acks=all, its
//! fsync; Fetch long-polls) is the returned future.
//!
//! Serving a new API: a file named after it that implements [`spec::Api`], and its line
//! in [`registry::REGISTRY`]. `src/ARCHITECTURE.md` walks through it.

pub mod acl_operations;
pub mod alter_configs;
pub mod api_versions;
pub mod chunks;
pub mod configs;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_log_dirs;
pub mod describe_topic_partitions;
pub mod error;
pub mod fetch;
pub mod group;
pub mod incremental_alter_configs;
pub mod list_offsets;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod registry;
pub mod spec;
pub mod topic_configs;
pub mod txn;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;

use crate::broker::ReplicaManager;
use crate::config::Config;
pub use spec::{Api, ResponseBody};

/// A protocol string from an owned one.
pub(crate) fn text(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}

/// Who sent a request, and at which version: what a handler knows besides the body.
#[derive(Debug, Clone)]
pub struct Call {
    /// The negotiated version of the request.
    pub version: i16,
    /// The request header's correlation id.
    pub correlation_id: i32,
    /// The request header's client id.
    pub client_id: Option<String>,
    /// The client's address.
    pub peer: SocketAddr,
}

/// What the connection does once a request is handled.
#[derive(Debug)]
pub enum Reply<R = Box<dyn ResponseBody>> {
    /// Send this response.
    Send(R),
    /// Send nothing (an acks=0 produce that succeeded).
    Nothing,
    /// Send nothing and close the connection: an acks=0 produce failed, and closing is the
    /// only way to tell the client (as Kafka does).
    Close,
}

/// A reply still being produced.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// A typed reply still being produced.
pub type TypedFuture<R> = Pin<Box<dyn Future<Output = Reply<R>> + Send>>;

/// What a handler returns: its reply now, or a future of it.
pub enum Handled<R> {
    /// The reply is ready.
    Now(Reply<R>),
    /// The reply waits (durability, a long poll, a coordinator on the blocking pool).
    Later(TypedFuture<R>),
}

impl<R> From<R> for Handled<R> {
    fn from(response: R) -> Self {
        Handled::Now(Reply::Send(response))
    }
}

impl<R> Handled<R> {
    /// A reply that a future produces.
    pub fn later(future: impl Future<Output = R> + Send + 'static) -> Self {
        Handled::Later(Box::pin(async move { Reply::Send(future.await) }))
    }
}

/// What every handler may use.
pub struct ApiContext {
    /// Topics, partitions and their logs.
    pub replicas: Arc<ReplicaManager>,
    /// The consumer-group coordinator.
    pub groups: crate::broker::group::GroupCoordinator,
    /// The transaction coordinator.
    pub txns: Arc<crate::broker::txn::TxnCoordinator>,
    /// The broker configuration.
    pub config: Arc<Config>,
    /// The cluster id reported in Metadata.
    pub cluster_id: String,
    /// Host advertised to clients.
    pub advertised_host: String,
    /// Port advertised to clients.
    pub advertised_port: i32,
    /// The served APIs (the registry's table), as ApiVersions lists them.
    pub apis: &'static [spec::ApiEntry],
    /// Becomes `true` when the broker shuts down (ends long-polls early).
    pub shutdown: watch::Receiver<bool>,
}
