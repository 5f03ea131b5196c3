//! What an API declares: the [`Api`] trait each API module implements (key, versions, the
//! ACL operation and resource type it needs, request and response types, handler), and the
//! registry row ([`ApiEntry`]) made from it, and what a handler gets and gives back
//! ([`ApiContext`], [`Call`], [`Handled`], [`Reply`]). The table of rows is
//! [`super::registry::REGISTRY`].

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::time::{Duration, Instant};

use super::chunks::Chunks;
use crate::broker::security::credentials::ScramCredentials;
use crate::broker::security::sasl::SaslSession;
use crate::broker::security::KafkaPrincipal;
use crate::broker::ReplicaManager;
use crate::config::{Config, SecurityProtocol};

/// Kafka's ACL operations and resource types, as an API declares what it needs (the
/// authorizer's own types).
pub use crate::broker::authorizer::{AclOperation, ResourceType};

/// What an API needs from the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// Anyone may call it (ApiVersions, the SASL handshake).
    Open,
    /// `operation` on each named resource of `resource` type (per topic for Produce, per
    /// group for OffsetCommit, the cluster for cluster-wide APIs). Where Kafka accepts one of
    /// two (CreateTopics: CREATE on the cluster or on the topic), this is the narrower one
    /// and the handler's resources are checked against it.
    Requires(AclOperation, ResourceType),
}

/// One Kafka API, as its module declares it.
pub trait Api {
    /// The request body (kafka-protocol's type).
    type Request: Decodable + Send + 'static;
    /// The response body (kafka-protocol's type, or a wrapper that encodes it in chunks).
    type Response: ResponseBody + 'static;
    /// The API key.
    const KEY: ApiKey;
    /// Lowest version advertised in ApiVersions.
    const MIN_VERSION: i16;
    /// Highest version advertised (and served).
    const MAX_VERSION: i16;
    /// Lowest version actually served; below it the connection is closed. Differs from
    /// [`Api::MIN_VERSION`] only for Produce, advertised from v0 as Kafka 4 does for older
    /// librdkafka although v0–v2 are refused.
    const MIN_SERVED: i16 = Self::MIN_VERSION;
    /// What the caller must be allowed to do.
    const AUTHORIZATION: Authorization;
    /// Whether this broker serves (and advertises) the API as configured; a request to an
    /// API that is not enabled closes the connection, as Kafka does. Most APIs always are;
    /// client telemetry is served only with its receiver turned on.
    fn enabled(ctx: &ApiContext) -> bool {
        let _ = ctx;
        true
    }
    /// Handles one request. The part that must keep request order runs before this
    /// returns; what waits (durability, long polls, coordinator fsyncs) is the returned
    /// future.
    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: Self::Request,
    ) -> Handled<Self::Response>;
}

/// A response body of any API, encoded by the connection's writer.
pub trait ResponseBody: Debug + Send {
    /// Encodes the body at `version`.
    fn encode_body(&self, out: &mut BytesMut, version: i16) -> Result<(), String>;

    /// Encodes the body at `version` as chunks that are written without being copied
    /// together (Fetch's records), or `None` to use [`ResponseBody::encode_body`].
    fn encode_chunked(&self, version: i16) -> Option<Result<Chunks, String>> {
        let _ = version;
        None
    }
}

impl<T: Encodable + Debug + Send> ResponseBody for T {
    fn encode_body(&self, out: &mut BytesMut, version: i16) -> Result<(), String> {
        self.encode(out, version).map_err(|e| e.to_string())
    }
}

/// Decodes a request body and runs its handler.
pub type Serve = fn(&Arc<ApiContext>, &Call, &mut Bytes) -> Result<ResponseFuture, String>;

/// A row of the registry, made from an [`Api`] by [`entry`].
#[derive(Clone, Copy)]
pub struct ApiEntry {
    /// The API key.
    pub key: ApiKey,
    /// Lowest advertised version.
    pub min_version: i16,
    /// Highest advertised version.
    pub max_version: i16,
    /// Lowest served version.
    pub min_served: i16,
    /// What the caller must be allowed to do.
    pub authorization: Authorization,
    /// Decode, then handle.
    pub serve: Serve,
    /// Whether the broker serves it as configured ([`Api::enabled`]).
    pub enabled: fn(&ApiContext) -> bool,
}

impl Debug for ApiEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiEntry")
            .field("key", &self.key)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .field("min_served", &self.min_served)
            .field("authorization", &self.authorization)
            .finish()
    }
}

impl ApiEntry {
    /// Whether a request at `version` is served.
    pub fn serves(&self, version: i16) -> bool {
        (self.min_served..=self.max_version).contains(&version)
    }
}

fn serve<A: Api>(
    ctx: &Arc<ApiContext>,
    call: &Call,
    body: &mut Bytes,
) -> Result<ResponseFuture, String> {
    if !A::enabled(ctx) {
        return Err(format!("{:?} is not enabled on this broker", A::KEY));
    }
    let request = A::Request::decode(body, call.version).map_err(|e| e.to_string())?;
    Ok(match A::handle(ctx, call, request) {
        Handled::Now(reply) => Box::pin(std::future::ready(erase(reply))),
        Handled::Later(future) => Box::pin(async move { erase(future.await) }),
    })
}

fn erase<R: ResponseBody + 'static>(reply: Reply<R>) -> Reply {
    match reply {
        Reply::Send(body) => Reply::Send(Box::new(body)),
        Reply::SendAndClose(body) => Reply::SendAndClose(Box::new(body)),
        Reply::Nothing => Reply::Nothing,
        Reply::Close => Reply::Close,
    }
}

/// The registry row of `A`.
pub const fn entry<A: Api>() -> ApiEntry {
    ApiEntry {
        key: A::KEY,
        min_version: A::MIN_VERSION,
        max_version: A::MAX_VERSION,
        min_served: A::MIN_SERVED,
        authorization: A::AUTHORIZATION,
        serve: serve::<A>,
        enabled: A::enabled,
    }
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
    /// The connection's channel, muted while the client is throttled (KIP-219).
    pub throttle: ChannelThrottle,
    /// The listener the connection came in on.
    pub listener: Arc<Listener>,
    /// Who the connection authenticated as (`User:ANONYMOUS` on PLAINTEXT listeners and
    /// before SASL authentication).
    pub principal: Arc<KafkaPrincipal>,
    /// The connection's SASL exchange, on SASL listeners.
    pub sasl: Option<Arc<SaslSession>>,
}

/// Whether, and until when, a connection's channel is muted.
#[derive(Debug, Clone, Default)]
pub struct ChannelThrottle(Arc<Mutex<Option<Instant>>>);

impl ChannelThrottle {
    /// An unmuted channel.
    pub fn new() -> ChannelThrottle {
        ChannelThrottle::default()
    }

    /// Mutes the channel for `ms` milliseconds from now (a longer mute already in force
    /// is kept).
    pub fn mute_for(&self, ms: i64) {
        let Ok(ms) = u64::try_from(ms) else {
            return;
        };
        if ms == 0 {
            return;
        }
        let until = Instant::now() + Duration::from_millis(ms);
        let mut muted = self.0.lock();
        if muted.is_none_or(|m| m < until) {
            *muted = Some(until);
        }
    }

    /// When the mute ends, if the channel is muted now.
    pub fn muted_until(&self) -> Option<Instant> {
        let mut muted = self.0.lock();
        match *muted {
            Some(until) if until > Instant::now() => Some(until),
            Some(_) => {
                *muted = None;
                None
            }
            None => None,
        }
    }

    /// Milliseconds of mute left (0 when not muted).
    pub fn remaining_ms(&self) -> i32 {
        self.muted_until().map_or(0, |until| {
            let left = until.saturating_duration_since(Instant::now()).as_millis();
            i32::try_from(left).unwrap_or(i32::MAX)
        })
    }
}

/// A listener as handlers see it: its name, protocol and the address it advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The listener name (`PLAINTEXT`, `SASL_SSL`, or a custom one).
    pub name: String,
    /// Its security protocol.
    pub protocol: SecurityProtocol,
    /// Host handed to its clients (Metadata, FindCoordinator, DescribeCluster).
    pub advertised_host: String,
    /// Port handed to its clients.
    pub advertised_port: i32,
}

/// What the connection does once a request is handled.
#[derive(Debug)]
pub enum Reply<R = Box<dyn ResponseBody>> {
    /// Send this response.
    Send(R),
    /// Send this response, then close the connection (a failed authentication).
    SendAndClose(R),
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
    /// The share-group coordinator and its share-partitions (KIP-932).
    pub share: Arc<crate::broker::share::ShareCoordinator>,
    /// The transaction coordinator.
    pub txns: Arc<crate::broker::txn::TxnCoordinator>,
    /// The finalized feature levels (ApiVersions, UpdateFeatures).
    pub features: Arc<crate::broker::features::Features>,
    /// The broker configuration.
    pub config: Arc<Config>,
    /// The cluster id reported in Metadata.
    pub cluster_id: String,
    /// The SCRAM credentials (SaslAuthenticate, the SCRAM admin APIs).
    pub scram: Arc<ScramCredentials>,
    /// The delegation tokens (KIP-48).
    pub tokens: Arc<crate::broker::security::delegation::DelegationTokens>,
    /// The served APIs (the registry's table), as ApiVersions lists them.
    pub apis: &'static [ApiEntry],
    /// Becomes `true` when the broker shuts down (ends long-polls early).
    pub shutdown: watch::Receiver<bool>,
    /// Incremental fetch sessions (KIP-227).
    pub fetch_sessions: Arc<super::fetch_session::FetchSessionCache>,
    /// Client telemetry (KIP-714): subscriptions and what clients pushed.
    pub client_metrics: Arc<crate::broker::client_metrics::ClientMetrics>,
    /// Client quotas and their measurements.
    pub quotas: Arc<crate::broker::quota::QuotaManager>,
    /// The authorizer and the ACLs (every request is allowed when none is configured).
    pub authorizer: Arc<crate::broker::authorizer::Authorizer>,
}
