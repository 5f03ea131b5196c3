//! Client telemetry (KIP-714): the client-metrics subscriptions, the client instances that
//! asked for theirs, and the metrics those clients pushed.
//!
//! A subscription is a CLIENT_METRICS config resource (`metrics`, `interval.ms`, `match`),
//! set with IncrementalAlterConfigs and kept in the state store under
//! `client-metrics/<name>`. A client asks for its subscription with
//! GetTelemetrySubscriptions: the broker gives it an instance id (if it had none), the
//! metrics of every subscription whose `match` selectors all match the client, the shortest
//! of their push intervals (5 minutes if none matches) and a subscription id; the client then
//! pushes those metrics every interval with PushTelemetry. A change of any subscription
//! makes every instance's subscription be worked out again at its next request, and a push
//! with the old subscription id is refused with UNKNOWN_SUBSCRIPTION_ID so that the client
//! asks again.
//!
//! Kafka hands the pushed metrics to a `ClientTelemetry` metrics-reporter plugin and serves
//! these APIs only when one is configured. Skiff is its own receiver, turned on by
//! `client.telemetry.enable`: it keeps the latest push of each client instance (OTLP
//! protobuf, decompressed) for the operator's metrics endpoint.

mod subscription;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

pub use subscription::{
    Subscription, SubscriptionError, CLIENT_METRICS_CONFIGS, DEFAULT_PUSH_INTERVAL_MS,
};

use crate::storage::kv::{StateStore, WriteBatch};
use crate::storage::StorageError;

/// Client instances the broker remembers at once (Kafka's cache size); the least recently
/// seen is forgotten first.
const MAX_INSTANCES: usize = 16_384;

/// An instance is forgotten after this long without a request, or three push intervals if
/// that is longer (Kafka's rule).
const MIN_INSTANCE_EXPIRY_MS: i64 = 60_000;

/// Compression types a client may push with: zstd, lz4, gzip, snappy (Kafka's order).
pub const ACCEPTED_COMPRESSION_TYPES: [i8; 4] = [4, 3, 1, 2];

const STORE_PREFIX: &str = "client-metrics/";

/// Why a telemetry request was refused; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TelemetryError {
    /// A request came sooner than the push interval allows.
    #[error("request from client instance {0} arrived before the next push interval")]
    Throttled(Uuid),
    /// The push names a subscription that is not (or no longer) the instance's.
    #[error("unknown client subscription id for client instance {0}")]
    UnknownSubscription(Uuid),
    /// The push is compressed with a codec Kafka does not know.
    #[error("unknown compression type {0} in the telemetry push of client instance {1}")]
    UnsupportedCompression(i8, Uuid),
    /// The payload is larger than `telemetry.max.bytes`.
    #[error("telemetry push from client instance {0} is larger than the maximum allowed size {1}")]
    TooLarge(Uuid, i32),
    /// A request after the instance's terminating push, or with a reserved instance id.
    #[error("{0}")]
    InvalidRequest(String),
    /// The payload could not be decompressed.
    #[error("the telemetry payload of client instance {0} cannot be decompressed: {1}")]
    InvalidPayload(Uuid, String),
}

/// What a client tells about itself, matched against subscriptions' `match` selectors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAttributes {
    /// The request header's client id.
    pub client_id: String,
    /// `client_software_name` of the connection's ApiVersions request (v3+).
    pub software_name: String,
    /// `client_software_version` of the connection's ApiVersions request.
    pub software_version: String,
    /// The client's address.
    pub peer: Option<SocketAddr>,
}

impl ClientAttributes {
    /// The value of match selector `selector` for instance `id`, if the client has one.
    fn selector(&self, id: Uuid, selector: &str) -> Option<String> {
        match selector {
            subscription::CLIENT_INSTANCE_ID => Some(id.to_string()),
            subscription::CLIENT_ID => Some(self.client_id.clone()),
            subscription::CLIENT_SOFTWARE_NAME => Some(self.software_name.clone()),
            subscription::CLIENT_SOFTWARE_VERSION => Some(self.software_version.clone()),
            subscription::CLIENT_SOURCE_ADDRESS => self.peer.map(|p| p.ip().to_string()),
            subscription::CLIENT_SOURCE_PORT => self.peer.map(|p| p.port().to_string()),
            _ => None,
        }
    }
}

/// What GetTelemetrySubscriptions answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionAnswer {
    /// The client's instance id (assigned if it sent the zero id).
    pub client_instance_id: Uuid,
    /// Identifies the metrics and interval below; a push must carry it.
    pub subscription_id: i32,
    /// Metric name prefixes to push (`*`: all; empty: none).
    pub requested_metrics: Vec<String>,
    /// How often to push.
    pub push_interval_ms: i32,
    /// Largest payload accepted.
    pub telemetry_max_bytes: i32,
}

/// One PushTelemetry request.
#[derive(Debug, Clone, Copy)]
pub struct TelemetryPush<'a> {
    /// The client instance.
    pub client_instance_id: Uuid,
    /// The subscription the client pushes for.
    pub subscription_id: i32,
    /// The client is closing: its last push.
    pub terminating: bool,
    /// Kafka's codec id of `metrics`.
    pub compression_type: i8,
    /// OTLP metrics, compressed with `compression_type`.
    pub metrics: &'a [u8],
}

/// The latest metrics one client instance pushed.
#[derive(Debug, Clone)]
pub struct ReceivedMetrics {
    /// The client instance.
    pub client_instance_id: Uuid,
    /// Who the client said it is.
    pub client: ClientAttributes,
    /// The subscription the push answered.
    pub subscription_id: i32,
    /// When the push arrived (ms since the epoch).
    pub received_ms: i64,
    /// Whether the client said it was closing.
    pub terminating: bool,
    /// OTLP `ExportMetricsServiceRequest` bytes, decompressed.
    pub metrics: Bytes,
}

/// A client instance the broker has given a subscription.
#[derive(Debug, Clone)]
struct Instance {
    client: ClientAttributes,
    subscription_id: i32,
    subscriptions_version: u64,
    metrics: Vec<String>,
    push_interval_ms: i32,
    last_get_ms: i64,
    last_push_ms: i64,
    /// A GetTelemetrySubscriptions was answered since the last accepted push: the next push
    /// is on time whenever it comes.
    asked_since_push: bool,
    /// The last push was refused for a stale subscription or a codec: the client may ask
    /// again at once.
    may_ask_again: bool,
    terminating: bool,
    last_seen_ms: i64,
}

impl Instance {
    fn expired(&self, now_ms: i64) -> bool {
        let ttl = MIN_INSTANCE_EXPIRY_MS.max(3 * i64::from(self.push_interval_ms));
        now_ms - self.last_seen_ms > ttl
    }
}

#[derive(Debug, Default)]
struct Subscriptions {
    by_name: BTreeMap<String, Subscription>,
    /// Raised by every change; instances older than it are worked out again.
    version: u64,
}

/// The broker's client telemetry receiver (see the module documentation).
#[derive(Debug)]
pub struct ClientMetrics {
    enabled: bool,
    max_bytes: i32,
    store: Option<Arc<StateStore>>,
    subscriptions: RwLock<Subscriptions>,
    instances: Mutex<HashMap<Uuid, Instance>>,
    software: Mutex<HashMap<SocketAddr, (String, String)>>,
    received: Mutex<HashMap<Uuid, ReceivedMetrics>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl ClientMetrics {
    /// The receiver, with the subscriptions kept in `store` (`None`: in memory only).
    pub fn open(
        enabled: bool,
        max_bytes: i32,
        store: Option<Arc<StateStore>>,
    ) -> Result<ClientMetrics, SubscriptionError> {
        let mut subscriptions = Subscriptions::default();
        if let Some(store) = &store {
            for item in store.scan_prefix(STORE_PREFIX)? {
                let (key, value) = item?;
                let name =
                    String::from_utf8_lossy(key.get(STORE_PREFIX.len()..).unwrap_or_default())
                        .into_owned();
                let configs = subscription::decode_configs(&value)
                    .ok_or_else(|| SubscriptionError::Corrupt(name.clone()))?;
                let sub = Subscription::new(&name, configs)?;
                subscriptions.by_name.insert(name, sub);
            }
        }
        Ok(ClientMetrics {
            enabled,
            max_bytes,
            store,
            subscriptions: RwLock::new(subscriptions),
            instances: Mutex::new(HashMap::new()),
            software: Mutex::new(HashMap::new()),
            received: Mutex::new(HashMap::new()),
        })
    }

    /// Whether GetTelemetrySubscriptions and PushTelemetry are served.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Remembers the software a connection's ApiVersions request named (matched by the
    /// `client_software_*` selectors).
    pub fn note_software(&self, peer: SocketAddr, name: &str, version: &str) {
        if !self.enabled || (name.is_empty() && version.is_empty()) {
            return;
        }
        let mut software = self.software.lock();
        if software.len() >= MAX_INSTANCES && !software.contains_key(&peer) {
            software.clear();
        }
        software.insert(peer, (name.to_string(), version.to_string()));
    }

    /// The names of the client-metrics resources, sorted.
    pub fn resource_names(&self) -> Vec<String> {
        self.subscriptions.read().by_name.keys().cloned().collect()
    }

    /// The configs set on client-metrics resource `name` (empty if it has none).
    pub fn configs(&self, name: &str) -> BTreeMap<String, String> {
        self.subscriptions
            .read()
            .by_name
            .get(name)
            .map(|s| s.configs().clone())
            .unwrap_or_default()
    }

    /// Replaces the configs of client-metrics resource `name` with what `change` makes of
    /// them (none left: the subscription is removed), durably unless `validate_only`.
    pub fn alter<E: From<SubscriptionError>>(
        &self,
        name: &str,
        validate_only: bool,
        change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, E>,
    ) -> Result<(), E> {
        if name.is_empty() {
            return Err(SubscriptionError::EmptyName.into());
        }
        let mut subs = self.subscriptions.write();
        let current = subs
            .by_name
            .get(name)
            .map(|s| s.configs().clone())
            .unwrap_or_default();
        let next = change(&current)?;
        let sub = if next.is_empty() {
            None
        } else {
            Some(Subscription::new(name, next)?)
        };
        if validate_only {
            return Ok(());
        }
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::new();
            let key = format!("{STORE_PREFIX}{name}");
            match &sub {
                Some(s) => batch.put(&key, subscription::encode_configs(s.configs())),
                None => batch.delete(&key),
            };
            store.write(&batch).map_err(SubscriptionError::from)?;
        }
        match sub {
            Some(s) => {
                subs.by_name.insert(name.to_string(), s);
            }
            None => {
                if subs.by_name.remove(name).is_none() {
                    return Ok(());
                }
            }
        }
        subs.version += 1;
        Ok(())
    }

    /// The instance `id` as the current subscriptions make it (made again if unknown or
    /// out of date, with its request times kept).
    fn instance<'a>(
        &self,
        instances: &'a mut HashMap<Uuid, Instance>,
        id: Uuid,
        client: ClientAttributes,
        now: i64,
    ) -> &'a mut Instance {
        if !instances.contains_key(&id) && instances.len() >= MAX_INSTANCES {
            instances.retain(|_, i| !i.expired(now));
            if instances.len() >= MAX_INSTANCES {
                let oldest = instances
                    .iter()
                    .min_by_key(|(_, i)| i.last_seen_ms)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    instances.remove(&k);
                }
            }
        }
        let subs = self.subscriptions.read();
        let build = |previous: Option<&Instance>| {
            let mut metrics: Vec<String> = Vec::new();
            let mut interval = DEFAULT_PUSH_INTERVAL_MS;
            for sub in subs.by_name.values() {
                if sub.matches(|selector| client.selector(id, selector)) {
                    metrics.extend(sub.metrics().iter().cloned());
                    interval = interval.min(sub.interval_ms());
                }
            }
            metrics.sort();
            metrics.dedup();
            if metrics.iter().any(|m| m == subscription::ALL_METRICS) {
                metrics = vec![subscription::ALL_METRICS.to_string()];
            }
            Instance {
                client: client.clone(),
                subscription_id: subscription::subscription_id(&metrics, interval, id),
                subscriptions_version: subs.version,
                metrics,
                push_interval_ms: interval,
                last_get_ms: previous.map_or(0, |p| p.last_get_ms),
                last_push_ms: previous.map_or(0, |p| p.last_push_ms),
                asked_since_push: previous.is_some_and(|p| p.asked_since_push),
                may_ask_again: false,
                terminating: previous.is_some_and(|p| p.terminating),
                last_seen_ms: now,
            }
        };
        let instance = match instances.entry(id) {
            Entry::Occupied(e) => {
                let instance = e.into_mut();
                if instance.subscriptions_version != subs.version {
                    *instance = build(Some(instance));
                }
                instance
            }
            Entry::Vacant(e) => e.insert(build(None)),
        };
        instance.last_seen_ms = now;
        instance
    }

    fn attributes(&self, client_id: Option<&str>, peer: SocketAddr) -> ClientAttributes {
        let (software_name, software_version) =
            self.software.lock().get(&peer).cloned().unwrap_or_default();
        ClientAttributes {
            client_id: client_id.unwrap_or_default().to_string(),
            software_name,
            software_version,
            peer: Some(peer),
        }
    }

    /// GetTelemetrySubscriptions: the subscription of instance `id` (the zero id asks for
    /// a new instance id).
    pub fn get_subscription(
        &self,
        id: Uuid,
        client_id: Option<&str>,
        peer: SocketAddr,
    ) -> Result<SubscriptionAnswer, TelemetryError> {
        let now = now_ms();
        let client = self.attributes(client_id, peer);
        let mut instances = self.instances.lock();
        let id = if id.is_nil() {
            let mut fresh = Uuid::new_v4();
            while instances.contains_key(&fresh) {
                fresh = Uuid::new_v4();
            }
            fresh
        } else {
            id
        };
        let instance = self.instance(&mut instances, id, client, now);
        let since = now - instance.last_get_ms.max(instance.last_push_ms);
        if since < i64::from(instance.push_interval_ms) && !instance.may_ask_again {
            return Err(TelemetryError::Throttled(id));
        }
        instance.last_get_ms = now;
        instance.asked_since_push = true;
        instance.may_ask_again = false;
        Ok(SubscriptionAnswer {
            client_instance_id: id,
            subscription_id: instance.subscription_id,
            requested_metrics: instance.metrics.clone(),
            push_interval_ms: instance.push_interval_ms,
            telemetry_max_bytes: self.max_bytes,
        })
    }

    /// PushTelemetry: checks a push and keeps its metrics.
    pub fn push(
        &self,
        push: &TelemetryPush<'_>,
        client_id: Option<&str>,
        peer: SocketAddr,
    ) -> Result<(), TelemetryError> {
        let id = push.client_instance_id;
        if id.is_nil() || id == Uuid::from_u64_pair(0, 1) {
            return Err(TelemetryError::InvalidRequest(format!(
                "Invalid request from the client [{id}], invalid client instance id"
            )));
        }
        let now = now_ms();
        let client = self.attributes(client_id, peer);
        let (client, kept_subscription) = {
            let mut instances = self.instances.lock();
            let instance = self.instance(&mut instances, id, client, now);
            let checked = check_push(instance, push, self.max_bytes, now);
            instance.terminating = push.terminating;
            if let Err(e) = &checked {
                instance.may_ask_again = matches!(
                    e,
                    TelemetryError::UnknownSubscription(_)
                        | TelemetryError::UnsupportedCompression(..)
                );
            }
            checked?;
            (instance.client.clone(), instance.subscription_id)
        };
        if push.metrics.is_empty() {
            return Ok(());
        }
        let metrics = subscription::decompress(push.compression_type, push.metrics)
            .map_err(|e| TelemetryError::InvalidPayload(id, e))?;
        let mut received = self.received.lock();
        if received.len() >= MAX_INSTANCES && !received.contains_key(&id) {
            let oldest = received
                .iter()
                .min_by_key(|(_, r)| r.received_ms)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                received.remove(&k);
            }
        }
        received.insert(
            id,
            ReceivedMetrics {
                client_instance_id: id,
                client,
                subscription_id: kept_subscription,
                received_ms: now,
                terminating: push.terminating,
                metrics,
            },
        );
        Ok(())
    }

    /// The latest push of every client instance that pushed, oldest first.
    pub fn received(&self) -> Vec<ReceivedMetrics> {
        let mut all: Vec<ReceivedMetrics> = self.received.lock().values().cloned().collect();
        all.sort_by_key(|r| r.received_ms);
        all
    }
}

/// Kafka's checks of a push, in its order.
fn check_push(
    instance: &mut Instance,
    push: &TelemetryPush<'_>,
    max_bytes: i32,
    now: i64,
) -> Result<(), TelemetryError> {
    let id = push.client_instance_id;
    if instance.terminating {
        return Err(TelemetryError::InvalidRequest(format!(
            "Client [{id}] sent the previous request with state terminating to TRUE, can not accept any requests after that"
        )));
    }
    // The first push after a GetTelemetrySubscriptions is always on time; later ones wait
    // the push interval. A terminating push is never throttled.
    let on_time = instance.asked_since_push
        || now - instance.last_push_ms >= i64::from(instance.push_interval_ms);
    if on_time {
        instance.last_push_ms = now;
        instance.asked_since_push = false;
    } else if !push.terminating {
        return Err(TelemetryError::Throttled(id));
    }
    if push.subscription_id != instance.subscription_id {
        return Err(TelemetryError::UnknownSubscription(id));
    }
    if !(0..=4).contains(&push.compression_type) {
        return Err(TelemetryError::UnsupportedCompression(
            push.compression_type,
            id,
        ));
    }
    if i64::try_from(push.metrics.len()).unwrap_or(i64::MAX) > i64::from(max_bytes) {
        return Err(TelemetryError::TooLarge(id, max_bytes));
    }
    Ok(())
}

impl From<StorageError> for SubscriptionError {
    fn from(e: StorageError) -> Self {
        SubscriptionError::Store(e.to_string())
    }
}
