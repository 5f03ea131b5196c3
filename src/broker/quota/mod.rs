//! Client quotas (KIP-13, KIP-55, KIP-124, KIP-219, KIP-546, KIP-599): the quotas set
//! through AlterClientQuotas, kept durable, and the quota manager that measures each
//! client and says how long to throttle it.
//!
//! Kafka keeps client quotas as `ClientQuotaRecord`s in its metadata log; Skiff keeps them
//! in its keyed state store, `quota/<entity>#<key>` → the value (an `f64`, 8 bytes big
//! endian), written before a change is visible (see [`ClientQuotaEntity::store_key`] for
//! the entity's form).
//!
//! Which quota applies to a request is Kafka's default quota callback's choice, for the
//! request's user principal and client id, first match wins:
//! `/users/<u>/clients/<c>`, `/users/<u>/clients/<default>`, `/users/<u>`,
//! `/users/<default>/clients/<c>`, `/users/<default>/clients/<default>`,
//! `/users/<default>`, `/clients/<c>`, `/clients/<default>`. Clients that share the
//! matching entity share one measurement (all client ids of a user under a `/users/<u>`
//! quota), as Kafka's metric tags make them.
//!
//! Byte rates and request time are rates over `quota.window.num` windows of
//! `quota.window.size.seconds` ([`rate::SampledRate`]); controller mutations are a token
//! bucket over `controller.quota.window.num` × `controller.quota.window.size.seconds`
//! ([`rate::TokenBucket`]). Nothing is measured for a kind of quota until a quota of that
//! kind has been set (as Kafka, which then measures until the next restart).

pub mod entity;
pub mod rate;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

pub use entity::{ClientQuotaEntity, ClientQuotaFilter, FilterComponent, MatchType};
use entity::{CLIENT_ID, IP, USER};
use rate::{SampledRate, TokenBucket, WindowConfig};

use crate::config::Config;
use crate::storage::kv::{StateStore, WriteBatch};
use crate::storage::StorageError;

/// Quota key `producer_byte_rate` (bytes a second of produce requests).
pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
/// Quota key `consumer_byte_rate` (bytes a second of fetch responses).
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
/// Quota key `request_percentage` (percent of one request-handling thread over the window).
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
/// Quota key `controller_mutation_rate` (partitions created or deleted a second).
pub const CONTROLLER_MUTATION_RATE: &str = "controller_mutation_rate";
/// Quota key `connection_creation_rate` (connections a second, for IP entities).
pub const CONNECTION_CREATION_RATE: &str = "connection_creation_rate";

const KEY_PREFIX: &str = "quota/";

/// How long a client's measurement is kept without use (Kafka's inactive sensor
/// expiration, one hour).
const INACTIVE_SENSOR_MS: i64 = 3_600_000;

/// Kafka's value type of a quota key, which decides the checks on a new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueType {
    Long,
    Int,
    Double,
}

/// The keys valid for user and client-id entities, with their types.
const USER_CLIENT_KEYS: &[(&str, ValueType)] = &[
    (PRODUCER_BYTE_RATE, ValueType::Long),
    (CONSUMER_BYTE_RATE, ValueType::Long),
    (REQUEST_PERCENTAGE, ValueType::Double),
    (CONTROLLER_MUTATION_RATE, ValueType::Double),
];

/// The keys valid for IP entities.
const IP_KEYS: &[(&str, ValueType)] = &[(CONNECTION_CREATION_RATE, ValueType::Int)];

/// The kinds of client quota the manager enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    /// Produce request bytes.
    Produce,
    /// Fetch response bytes.
    Fetch,
    /// Time spent handling requests.
    Request,
    /// Partitions created or deleted (CreateTopics, CreatePartitions, DeleteTopics).
    ControllerMutation,
}

impl QuotaKind {
    const ALL: [QuotaKind; 4] = [
        QuotaKind::Produce,
        QuotaKind::Fetch,
        QuotaKind::Request,
        QuotaKind::ControllerMutation,
    ];

    /// The quota key that sets it.
    pub fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => PRODUCER_BYTE_RATE,
            QuotaKind::Fetch => CONSUMER_BYTE_RATE,
            QuotaKind::Request => REQUEST_PERCENTAGE,
            QuotaKind::ControllerMutation => CONTROLLER_MUTATION_RATE,
        }
    }

    fn of_key(key: &str) -> Option<QuotaKind> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// Why a quota request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// A malformed entity, filter, key or value: INVALID_REQUEST with this message.
    #[error("{0}")]
    InvalidRequest(String),
    /// A filter on an entity type Kafka does not know: UNSUPPORTED_VERSION.
    #[error("{0}")]
    UnsupportedEntityType(String),
    /// The state store failed.
    #[error("cannot store the client quotas: {0}")]
    Store(#[from] StorageError),
    /// A stored entry that cannot be read back.
    #[error("bad client quota entry `{0}` in the state store")]
    Corrupt(String),
}

/// One entity's changes in an AlterClientQuotas request: key → new value, or `None` to
/// remove it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientQuotaAlteration {
    /// The entity.
    pub entity: ClientQuotaEntity,
    /// The operations, in request order.
    pub ops: Vec<(String, Option<f64>)>,
}

/// The quotas set, by entity.
pub type QuotaMap = BTreeMap<ClientQuotaEntity, BTreeMap<String, f64>>;

/// The quota windows, from the broker options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaWindows {
    /// Byte rates and request time: `quota.window.num` × `quota.window.size.seconds`.
    pub client: WindowConfig,
    /// Controller mutations: `controller.quota.window.num` ×
    /// `controller.quota.window.size.seconds`.
    pub controller: WindowConfig,
}

impl QuotaWindows {
    /// The windows `config` sets.
    pub fn from_config(config: &Config) -> QuotaWindows {
        QuotaWindows {
            client: WindowConfig::new(config.quota_window_num, config.quota_window_size_seconds),
            controller: WindowConfig::new(
                config.controller_quota_window_num,
                config.controller_quota_window_size_seconds,
            ),
        }
    }
}

impl Default for QuotaWindows {
    fn default() -> Self {
        QuotaWindows {
            client: WindowConfig::new(11, 1),
            controller: WindowConfig::new(11, 1),
        }
    }
}

/// Quotas at one of the three levels Kafka tells apart to choose a measurement's tags.
const CLIENT_LEVEL: u8 = 1;
const USER_LEVEL: u8 = 2;
const USER_CLIENT_LEVEL: u8 = 4;

/// Which client a measurement covers: (user tag, client-id tag), as Kafka's metric tags;
/// an empty tag covers every value.
type Tags = (String, String);

#[derive(Debug, Default)]
struct Sensor {
    rate: SampledRate,
    bucket: TokenBucket,
    last_used_ms: i64,
}

/// The client quotas and the measurements they are enforced on.
pub struct QuotaManager {
    store: Option<Arc<StateStore>>,
    windows: QuotaWindows,
    quotas: RwLock<Arc<QuotaMap>>,
    write: Mutex<()>,
    /// Per kind, the levels (CLIENT_LEVEL, ...) at which a quota has been set since start.
    levels: Levels,
    sensors: Mutex<Sensors>,
    clock: Instant,
}

/// Per kind of quota, the levels at which one has been set since start.
#[derive(Debug, Default)]
struct Levels {
    produce: AtomicU8,
    fetch: AtomicU8,
    request: AtomicU8,
    mutation: AtomicU8,
}

impl Levels {
    fn of(&self, kind: QuotaKind) -> &AtomicU8 {
        match kind {
            QuotaKind::Produce => &self.produce,
            QuotaKind::Fetch => &self.fetch,
            QuotaKind::Request => &self.request,
            QuotaKind::ControllerMutation => &self.mutation,
        }
    }
}

#[derive(Default)]
struct Sensors {
    by_tags: HashMap<(QuotaKind, Tags), Sensor>,
    last_sweep_ms: i64,
}

impl std::fmt::Debug for QuotaManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaManager")
            .field("quotas", &*self.quotas.read())
            .field("windows", &self.windows)
            .finish()
    }
}

fn store_key(entity: &ClientQuotaEntity, key: &str) -> String {
    format!("{KEY_PREFIX}{}#{key}", entity.store_key())
}

fn load(store: &StateStore) -> Result<QuotaMap, QuotaError> {
    let mut out = QuotaMap::new();
    for item in store.scan_prefix(KEY_PREFIX)? {
        let (key, value) = item?;
        let key = String::from_utf8_lossy(&key).into_owned();
        let corrupt = || QuotaError::Corrupt(key.clone());
        let (entity, name) = key
            .strip_prefix(KEY_PREFIX)
            .and_then(|k| k.rsplit_once('#'))
            .ok_or_else(corrupt)?;
        let entity = ClientQuotaEntity::from_store_key(entity).ok_or_else(corrupt)?;
        let value = <[u8; 8]>::try_from(value.as_slice())
            .map(f64::from_be_bytes)
            .map_err(|_| corrupt())?;
        out.entry(entity)
            .or_default()
            .insert(name.to_string(), value);
    }
    Ok(out)
}

/// The level at which a user/client-id entity sets a quota.
fn level_of(entity: &ClientQuotaEntity) -> u8 {
    match (entity.has(USER), entity.has(CLIENT_ID)) {
        (true, true) => USER_CLIENT_LEVEL,
        (true, false) => USER_LEVEL,
        (false, true) => CLIENT_LEVEL,
        (false, false) => 0,
    }
}

fn invalid(message: impl Into<String>) -> QuotaError {
    QuotaError::InvalidRequest(message.into())
}

/// Checks an entity's components (Kafka's `validateEntity`).
fn validate_entity(entity: &ClientQuotaEntity) -> Result<(), QuotaError> {
    if entity.0.is_empty() {
        return Err(invalid("Invalid empty client quota entity"));
    }
    for (entity_type, name) in &entity.0 {
        if ![USER, CLIENT_ID, IP].contains(&entity_type.as_str()) {
            return Err(invalid(format!(
                "Unhandled client quota entity type: {entity_type}"
            )));
        }
        if name.as_deref() == Some("") {
            return Err(invalid(format!("Empty {entity_type} not supported")));
        }
    }
    Ok(())
}

/// The keys an entity may set (Kafka's `configKeysForEntityType`).
fn keys_for(
    entity: &ClientQuotaEntity,
) -> Result<&'static [(&'static str, ValueType)], QuotaError> {
    match entity.get(IP) {
        Some(_) if entity.has(USER) || entity.has(CLIENT_ID) => Err(invalid(
            "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId",
        )),
        Some(None) => Ok(IP_KEYS),
        Some(Some(ip)) if ip.parse::<IpAddr>().is_ok() => Ok(IP_KEYS),
        Some(Some(ip)) => Err(invalid(format!(
            "{ip} is not a valid IP or resolvable host."
        ))),
        None if entity.has(USER) || entity.has(CLIENT_ID) => Ok(USER_CLIENT_KEYS),
        None => Err(invalid("Invalid empty client quota entity")),
    }
}

/// Checks a new value of `key` (Kafka's `validateQuotaKeyValue`).
fn validate_value(keys: &[(&str, ValueType)], key: &str, value: f64) -> Result<(), QuotaError> {
    let Some((_, value_type)) = keys.iter().find(|(k, _)| *k == key) else {
        return Err(invalid(format!("Invalid configuration key {key}")));
    };
    if value <= 0.0 {
        return Err(invalid(format!("Quota {key} must be greater than 0")));
    }
    let integral = |max: f64, article: &str, name: &str| {
        if value > max {
            Err(invalid(format!(
                "Proposed value for {key} is too large for {article} {name}."
            )))
        } else if (value % 1.0).abs() > 1e-6 {
            Err(invalid(format!("{key} cannot be a fractional value.")))
        } else {
            Ok(())
        }
    };
    match value_type {
        ValueType::Double => Ok(()),
        ValueType::Long => integral(i64::MAX as f64, "a", "LONG"),
        ValueType::Int => integral(f64::from(i32::MAX), "an", "INT"),
    }
}

/// Checks a DescribeClientQuotas filter's components (Kafka's checks, in its order):
/// `(entity type, match type code, match)`.
pub fn build_filter(
    components: &[(String, i8, Option<String>)],
    strict: bool,
) -> Result<ClientQuotaFilter, QuotaError> {
    let mut out: Vec<FilterComponent> = Vec::new();
    for (entity_type, match_type, name) in components {
        if entity_type.is_empty() {
            return Err(invalid("Invalid empty entity type."));
        }
        if out.iter().any(|c| &c.entity_type == entity_type) {
            return Err(invalid(format!(
                "Entity type {entity_type} cannot appear more than once in the filter."
            )));
        }
        if ![USER, CLIENT_ID, IP].contains(&entity_type.as_str()) {
            return Err(QuotaError::UnsupportedEntityType(format!(
                "Unsupported entity type {entity_type}"
            )));
        }
        let match_type =
            match (match_type, name) {
                (0, Some(n)) => MatchType::Exact(Some(n.clone())),
                (0, None) => {
                    return Err(invalid(
                        "Request specified MATCH_TYPE_EXACT, but set match string to null.",
                    ))
                }
                (1, None) => MatchType::Exact(None),
                (1, Some(_)) => {
                    return Err(invalid(
                        "Request specified MATCH_TYPE_DEFAULT, but also specified a match string.",
                    ))
                }
                (2, None) => MatchType::Specified,
                (2, Some(_)) => return Err(invalid(
                    "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.",
                )),
                (other, _) => return Err(invalid(format!("Unknown match type {other}"))),
            };
        out.push(FilterComponent {
            entity_type: entity_type.clone(),
            match_type,
        });
    }
    let has = |t: &str| out.iter().any(|c| c.entity_type == t);
    if has(IP) && (has(USER) || has(CLIENT_ID)) {
        return Err(invalid(
            "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.",
        ));
    }
    Ok(ClientQuotaFilter {
        components: out,
        strict,
    })
}

/// The result of one entity of an AlterClientQuotas request.
pub type AlterResult = (ClientQuotaEntity, Result<(), QuotaError>);

impl QuotaManager {
    /// The quotas kept in `store` (`None`: in memory only, lost on restart).
    pub fn open(
        windows: QuotaWindows,
        store: Option<Arc<StateStore>>,
    ) -> Result<QuotaManager, QuotaError> {
        let quotas = match &store {
            Some(s) => load(s)?,
            None => QuotaMap::new(),
        };
        if !quotas.is_empty() {
            tracing::info!(entities = quotas.len(), "client quotas loaded");
        }
        let manager = QuotaManager {
            store,
            windows,
            quotas: RwLock::new(Arc::new(QuotaMap::new())),
            write: Mutex::new(()),
            levels: Default::default(),
            sensors: Mutex::new(Sensors::default()),
            clock: Instant::now(),
        };
        manager.enable_levels(&quotas);
        *manager.quotas.write() = Arc::new(quotas);
        Ok(manager)
    }

    /// The quota windows.
    pub fn windows(&self) -> QuotaWindows {
        self.windows
    }

    /// Every quota set now.
    pub fn quotas(&self) -> Arc<QuotaMap> {
        Arc::clone(&self.quotas.read())
    }

    fn enable_levels(&self, quotas: &QuotaMap) {
        for (entity, values) in quotas {
            let level = level_of(entity);
            for key in values.keys() {
                if let Some(kind) = QuotaKind::of_key(key) {
                    self.levels.of(kind).fetch_or(level, Ordering::Relaxed);
                }
            }
        }
    }

    /// The entities matching `filter`, with their quotas.
    pub fn describe(
        &self,
        filter: &ClientQuotaFilter,
    ) -> Vec<(ClientQuotaEntity, BTreeMap<String, f64>)> {
        self.quotas()
            .iter()
            .filter(|(e, _)| filter.matches(e))
            .map(|(e, v)| (e.clone(), v.clone()))
            .collect()
    }

    /// Applies `alterations` as Kafka's controller does: each entity is checked and
    /// changed as a whole (a bad key or value fails that entity only); an entity given
    /// twice, or a key given twice for one entity, is refused ("Ignoring duplicate
    /// entity"). With `validate_only` nothing changes. One result per distinct entity, in
    /// request order.
    pub fn alter(
        &self,
        alterations: &[ClientQuotaAlteration],
        validate_only: bool,
    ) -> Vec<AlterResult> {
        let _write = self.write.lock();
        let current = self.quotas();
        let mut next = (*current).clone();
        let mut batch = WriteBatch::new();
        let mut results: Vec<AlterResult> = Vec::new();
        let mut changed: QuotaMap = QuotaMap::new();
        for alteration in alterations {
            let entity = &alteration.entity;
            let mut ops: Vec<(&str, Option<f64>)> = Vec::new();
            let mut duplicate_key = false;
            for (key, value) in &alteration.ops {
                if ops.iter().any(|(k, _)| k == key) {
                    duplicate_key = true;
                } else {
                    ops.push((key, *value));
                }
            }
            if let Some(r) = results.iter_mut().find(|(e, _)| e == entity) {
                r.1 = Err(invalid(format!("Ignoring duplicate entity {entity}")));
                continue;
            }
            if duplicate_key {
                // Kafka records the duplicate-key error, then finds the entity already
                // answered and reports it as a duplicate entity.
                results.push((
                    entity.clone(),
                    Err(invalid(format!("Ignoring duplicate entity {entity}"))),
                ));
                continue;
            }
            let outcome = Self::alter_entity(entity, &ops, &mut next, &mut batch, &mut changed);
            results.push((entity.clone(), outcome));
        }
        if validate_only || batch.is_empty() {
            return results;
        }
        if let Some(store) = &self.store {
            if let Err(e) = store.write(&batch) {
                tracing::error!(error = %e, "storing client quotas failed");
                let message = e.to_string();
                return results
                    .into_iter()
                    .map(|(entity, r)| {
                        let r = r.and_then(|()| {
                            Err(QuotaError::Store(StorageError::InvalidStateRequest(
                                message.clone(),
                            )))
                        });
                        (entity, r)
                    })
                    .collect();
            }
        }
        self.enable_levels(&changed);
        tracing::info!(entities = changed.len(), "client quotas changed");
        *self.quotas.write() = Arc::new(next);
        results
    }

    fn alter_entity(
        entity: &ClientQuotaEntity,
        ops: &[(&str, Option<f64>)],
        next: &mut QuotaMap,
        batch: &mut WriteBatch,
        changed: &mut QuotaMap,
    ) -> Result<(), QuotaError> {
        validate_entity(entity)?;
        let keys = keys_for(entity)?;
        let mut values = next.get(entity).cloned().unwrap_or_default();
        let mut writes: Vec<(&str, Option<f64>)> = Vec::new();
        for (key, value) in ops {
            match value {
                None => {
                    if values.contains_key(*key) {
                        writes.push((key, None));
                    }
                }
                Some(v) => {
                    validate_value(keys, key, *v)?;
                    if values.get(*key) != Some(v) {
                        writes.push((key, Some(*v)));
                    }
                }
            }
        }
        for (key, value) in writes {
            let k = store_key(entity, key);
            match value {
                None => {
                    values.remove(key);
                    batch.delete(k);
                }
                Some(v) => {
                    values.insert(key.to_string(), v);
                    batch.put(k, v.to_be_bytes());
                }
            }
            changed
                .entry(entity.clone())
                .or_default()
                .insert(key.to_string(), value.unwrap_or(0.0));
        }
        if values.is_empty() {
            next.remove(entity);
        } else {
            next.insert(entity.clone(), values);
        }
        Ok(())
    }

    /// Milliseconds on the manager's monotonic clock.
    pub fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether quotas of `kind` are measured (one has been set since the broker started).
    pub fn enabled(&self, kind: QuotaKind) -> bool {
        self.levels.of(kind).load(Ordering::Relaxed) != 0
    }

    fn value(quotas: &QuotaMap, kind: QuotaKind, entity: &ClientQuotaEntity) -> Option<f64> {
        quotas.get(entity).and_then(|v| v.get(kind.key())).copied()
    }

    /// The tags of the measurement of (`user`, `client_id`) for `kind` (Kafka's
    /// `quotaMetricTags`): with quotas at one level only, that level's; otherwise those
    /// of the entity whose quota applies.
    fn tags(&self, quotas: &QuotaMap, kind: QuotaKind, user: &str, client_id: &str) -> Tags {
        let (u, c) = (user.to_string(), client_id.to_string());
        match self.levels.of(kind).load(Ordering::Relaxed) {
            0 | CLIENT_LEVEL => (String::new(), c),
            USER_LEVEL => (u, String::new()),
            USER_CLIENT_LEVEL => (u, c),
            _ => {
                let has = |e: ClientQuotaEntity| Self::value(quotas, kind, &e).is_some();
                if has(ClientQuotaEntity::user_client(Some(user), Some(client_id)))
                    || has(ClientQuotaEntity::user_client(Some(user), None))
                {
                    (u, c)
                } else if has(ClientQuotaEntity::user(Some(user))) {
                    (u, String::new())
                } else if has(ClientQuotaEntity::user_client(None, Some(client_id)))
                    || has(ClientQuotaEntity::user_client(None, None))
                {
                    (u, c)
                } else if has(ClientQuotaEntity::user(None)) {
                    (u, String::new())
                } else {
                    (String::new(), c)
                }
            }
        }
    }

    /// The quota of the measurement tagged `tags` (Kafka's `quotaLimit`), in Kafka's
    /// order of precedence.
    fn limit(quotas: &QuotaMap, kind: QuotaKind, tags: &Tags) -> Option<f64> {
        let (user, client_id) = (tags.0.as_str(), tags.1.as_str());
        let get = |e: ClientQuotaEntity| Self::value(quotas, kind, &e);
        if !user.is_empty() && !client_id.is_empty() {
            get(ClientQuotaEntity::user_client(Some(user), Some(client_id)))
                .or_else(|| get(ClientQuotaEntity::user_client(Some(user), None)))
                .or_else(|| get(ClientQuotaEntity::user_client(None, Some(client_id))))
                .or_else(|| get(ClientQuotaEntity::user_client(None, None)))
        } else if !user.is_empty() {
            get(ClientQuotaEntity::user(Some(user))).or_else(|| get(ClientQuotaEntity::user(None)))
        } else if !client_id.is_empty() {
            get(ClientQuotaEntity::client_id(Some(client_id)))
                .or_else(|| get(ClientQuotaEntity::client_id(None)))
        } else {
            None
        }
    }

    /// The quota of `kind` that applies to `user` with `client_id`, if any.
    pub fn quota_for(&self, kind: QuotaKind, user: &str, client_id: &str) -> Option<f64> {
        let quotas = self.quotas();
        let tags = self.tags(&quotas, kind, user, client_id);
        Self::limit(&quotas, kind, &tags)
    }

    fn with_sensor<T>(
        &self,
        kind: QuotaKind,
        user: &str,
        client_id: &str,
        f: impl FnOnce(&mut Sensor, Option<f64>, i64) -> T,
    ) -> T {
        let quotas = self.quotas();
        let tags = self.tags(&quotas, kind, user, client_id);
        let bound = Self::limit(&quotas, kind, &tags);
        let now = self.now_ms();
        let mut sensors = self.sensors.lock();
        if now - sensors.last_sweep_ms >= 60_000 {
            sensors.last_sweep_ms = now;
            sensors
                .by_tags
                .retain(|_, s| now - s.last_used_ms < INACTIVE_SENSOR_MS);
        }
        let sensor = sensors.by_tags.entry((kind, tags)).or_default();
        sensor.last_used_ms = now;
        f(sensor, bound, now)
    }

    /// Records `value` for a client's quota of `kind` (bytes for Produce and Fetch) and
    /// returns how long to throttle it in milliseconds (0: within its quota).
    pub fn record(&self, kind: QuotaKind, user: &str, client_id: &str, value: f64) -> i64 {
        if !self.enabled(kind) {
            return 0;
        }
        let window = self.windows.client;
        self.with_sensor(kind, user, client_id, |s, bound, now| {
            let throttle = s.rate.record_and_check(window, value, bound, now);
            tracing::debug!(target: "quota", ?kind, user, client_id, value, ?bound, throttle,
                "recorded");
            throttle
        })
    }

    /// Records `nanos` of request handling for a client's `request_percentage` quota (as
    /// a percentage of one thread for one second) and returns the throttle time, at most
    /// one window (as Kafka bounds it).
    pub fn record_request_time(&self, user: &str, client_id: &str, nanos: u64) -> i64 {
        if !self.enabled(QuotaKind::Request) {
            return 0;
        }
        let percent = nanos as f64 * 100.0 / 1e9;
        let window = self.windows.client;
        self.with_sensor(QuotaKind::Request, user, client_id, |s, bound, now| {
            s.rate
                .record_and_check(window, percent, bound, now)
                .min(window.window_ms)
        })
    }

    /// Takes back `value` recorded for `kind` (a throttled fetch answers without records).
    pub fn unrecord(&self, kind: QuotaKind, user: &str, client_id: &str, value: f64) {
        if !self.enabled(kind) {
            return;
        }
        let window = self.windows.client;
        self.with_sensor(kind, user, client_id, |s, _, now| {
            s.rate.record(window, -value, now)
        });
    }

    /// The most a single recording of `kind` may be without being throttled for sure
    /// (Kafka's `getMaxValueInQuotaWindow`: quota × (samples − 1) × window), if a quota
    /// applies.
    pub fn max_value_in_window(&self, kind: QuotaKind, user: &str, client_id: &str) -> Option<f64> {
        if !self.enabled(kind) {
            return None;
        }
        let w = self.windows.client;
        self.quota_for(kind, user, client_id)
            .map(|q| q * f64::from(w.samples.saturating_sub(1)) * (w.window_ms as f64 / 1000.0))
    }

    /// A controller mutation quota for one request of `user` with `client_id`: strict
    /// ones refuse mutations once the quota is exceeded (the versions of CreateTopics,
    /// CreatePartitions and DeleteTopics that know THROTTLING_QUOTA_EXCEEDED), permissive
    /// ones accept them and only throttle.
    pub fn mutation_quota(&self, user: &str, client_id: &str, strict: bool) -> MutationQuota<'_> {
        MutationQuota {
            manager: self,
            client: self
                .enabled(QuotaKind::ControllerMutation)
                .then(|| (user.to_string(), client_id.to_string())),
            strict,
            throttle_ms: 0,
            recorded_at_ms: 0,
        }
    }
}

/// Refused by a strict controller mutation quota: THROTTLING_QUOTA_EXCEEDED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The throttling quota has been exceeded.")]
pub struct ThrottlingQuotaExceeded {
    /// How long the client should wait.
    pub throttle_ms: i64,
}

/// The controller mutation quota of one request (Kafka's strict and permissive
/// `ControllerMutationQuota`).
#[derive(Debug)]
pub struct MutationQuota<'a> {
    manager: &'a QuotaManager,
    client: Option<(String, String)>,
    strict: bool,
    throttle_ms: i64,
    recorded_at_ms: i64,
}

impl MutationQuota<'_> {
    /// Records `permits` mutations (partitions created or deleted). A strict quota first
    /// checks the bucket: if it is already below zero the mutation is refused and nothing
    /// is taken; otherwise the permits are taken even if the bucket goes below zero.
    pub fn record(&mut self, permits: f64) -> Result<(), ThrottlingQuotaExceeded> {
        let Some((user, client_id)) = &self.client else {
            return Ok(());
        };
        let window = self.manager.windows.controller;
        let strict = self.strict;
        let outcome = self.manager.with_sensor(
            QuotaKind::ControllerMutation,
            user,
            client_id,
            |s, bound, now| {
                let Some(quota) = bound else {
                    return (0, now, true);
                };
                if strict {
                    let tokens = s.bucket.tokens(window, quota, now);
                    if tokens < 0.0 {
                        return (TokenBucket::throttle_time_ms(tokens, quota), now, false);
                    }
                    s.bucket.record(window, quota, permits, now);
                    (0, now, true)
                } else {
                    s.bucket.record(window, quota, permits, now);
                    let tokens = s.bucket.tokens(window, quota, now);
                    (TokenBucket::throttle_time_ms(tokens, quota), now, true)
                }
            },
        );
        let (throttle_ms, now, accepted) = outcome;
        if throttle_ms > 0 {
            self.throttle_ms = throttle_ms;
            self.recorded_at_ms = now;
        }
        if accepted {
            Ok(())
        } else {
            Err(ThrottlingQuotaExceeded { throttle_ms })
        }
    }

    /// The throttle time the response carries: the last one recorded, less the time
    /// since.
    pub fn throttle_time_ms(&self) -> i64 {
        if self.throttle_ms == 0 {
            return 0;
        }
        let elapsed = self.manager.now_ms() - self.recorded_at_ms;
        (self.throttle_ms - elapsed).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alteration(entity: ClientQuotaEntity, ops: &[(&str, Option<f64>)]) -> ClientQuotaAlteration {
        ClientQuotaAlteration {
            entity,
            ops: ops.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    fn set(m: &QuotaManager, entity: ClientQuotaEntity, key: &str, value: f64) {
        let r = m.alter(&[alteration(entity, &[(key, Some(value))])], false);
        assert!(r.iter().all(|(_, r)| r.is_ok()), "{r:?}");
    }

    fn message(r: &[AlterResult]) -> String {
        match &r[0].1 {
            Err(QuotaError::InvalidRequest(m)) => m.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn precedence_follows_kafka() {
        let m = QuotaManager::open(QuotaWindows::default(), None).unwrap();
        let k = QuotaKind::Produce;
        let levels: Vec<(ClientQuotaEntity, f64)> = vec![
            (ClientQuotaEntity::client_id(None), 8.0),
            (ClientQuotaEntity::client_id(Some("app")), 7.0),
            (ClientQuotaEntity::user(None), 6.0),
            (ClientQuotaEntity::user_client(None, None), 5.0),
            (ClientQuotaEntity::user_client(None, Some("app")), 4.0),
            (ClientQuotaEntity::user(Some("alice")), 3.0),
            (ClientQuotaEntity::user_client(Some("alice"), None), 2.0),
            (
                ClientQuotaEntity::user_client(Some("alice"), Some("app")),
                1.0,
            ),
        ];
        assert_eq!(m.quota_for(k, "alice", "app"), None);
        // Adding each more specific level makes it the one that applies.
        for (entity, value) in &levels {
            set(&m, entity.clone(), PRODUCER_BYTE_RATE, *value);
            assert_eq!(m.quota_for(k, "alice", "app"), Some(*value), "{entity}");
        }
        // Removing them from the most specific falls back one level at a time.
        for (i, (entity, _)) in levels.iter().enumerate().rev().skip(1) {
            let next = &levels[i + 1].0;
            let r = m.alter(
                &[alteration(next.clone(), &[(PRODUCER_BYTE_RATE, None)])],
                false,
            );
            assert!(r[0].1.is_ok());
            assert_eq!(
                m.quota_for(k, "alice", "app"),
                Some(levels[i].1),
                "{entity}"
            );
        }
        // Other clients and users resolve to their own levels.
        assert_eq!(m.quota_for(k, "bob", "other"), Some(8.0));
        // Another kind is not affected.
        assert_eq!(m.quota_for(QuotaKind::Fetch, "alice", "app"), None);
    }

    #[test]
    fn clients_under_one_user_quota_share_a_measurement() {
        let m = QuotaManager::open(QuotaWindows::default(), None).unwrap();
        set(
            &m,
            ClientQuotaEntity::user(Some("alice")),
            PRODUCER_BYTE_RATE,
            100.0,
        );
        // 10 s window minimum: 600 bytes from each of two clients is 120 bytes/s together.
        assert_eq!(m.record(QuotaKind::Produce, "alice", "a", 600.0), 0);
        let t = m.record(QuotaKind::Produce, "alice", "b", 600.0);
        assert!(t > 0, "shared rate not throttled");
        // A client-id quota measures each client on its own.
        let m = QuotaManager::open(QuotaWindows::default(), None).unwrap();
        set(
            &m,
            ClientQuotaEntity::client_id(None),
            PRODUCER_BYTE_RATE,
            100.0,
        );
        assert_eq!(m.record(QuotaKind::Produce, "alice", "a", 600.0), 0);
        assert_eq!(m.record(QuotaKind::Produce, "alice", "b", 600.0), 0);
    }

    #[test]
    fn nothing_is_measured_without_quotas() {
        let m = QuotaManager::open(QuotaWindows::default(), None).unwrap();
        assert_eq!(m.record(QuotaKind::Produce, "u", "c", 1e12), 0);
        assert!(m.sensors.lock().by_tags.is_empty());
        assert_eq!(m.max_value_in_window(QuotaKind::Fetch, "u", "c"), None);
        set(
            &m,
            ClientQuotaEntity::client_id(Some("c")),
            CONSUMER_BYTE_RATE,
            1000.0,
        );
        assert_eq!(
            m.max_value_in_window(QuotaKind::Fetch, "u", "c"),
            Some(10_000.0)
        );
    }

    #[test]
    fn alter_checks_as_kafka_does() {
        let m = QuotaManager::open(QuotaWindows::default(), None).unwrap();
        let user = ClientQuotaEntity::user(Some("u"));
        let cases: Vec<(ClientQuotaAlteration, &str)> = vec![
            (alteration(ClientQuotaEntity::default(), &[(PRODUCER_BYTE_RATE, Some(1.0))]),
                "Invalid empty client quota entity"),
            (alteration(ClientQuotaEntity::from_pairs([("group", Some("g"))]), &[]),
                "Unhandled client quota entity type: group"),
            (alteration(ClientQuotaEntity::user(Some("")), &[]), "Empty user not supported"),
            (alteration(user.clone(), &[("nope", Some(1.0))]), "Invalid configuration key nope"),
            (alteration(user.clone(), &[(PRODUCER_BYTE_RATE, Some(0.0))]),
                "Quota producer_byte_rate must be greater than 0"),
            (alteration(user.clone(), &[(PRODUCER_BYTE_RATE, Some(-5.0))]),
                "Quota producer_byte_rate must be greater than 0"),
            (alteration(user.clone(), &[(PRODUCER_BYTE_RATE, Some(1.5))]),
                "producer_byte_rate cannot be a fractional value."),
            (alteration(user.clone(), &[(PRODUCER_BYTE_RATE, Some(1e20))]),
                "Proposed value for producer_byte_rate is too large for a LONG."),
            (alteration(user.clone(), &[(CONNECTION_CREATION_RATE, Some(1.0))]),
                "Invalid configuration key connection_creation_rate"),
            (alteration(user.clone(), &[(PRODUCER_BYTE_RATE, Some(1.0)), (PRODUCER_BYTE_RATE, Some(2.0))]),
                "Ignoring duplicate entity ClientQuotaEntity(entries={user=u})"),
            (alteration(ClientQuotaEntity::from_pairs([(IP, Some("1.2.3.4")), (USER, Some("u"))]), &[]),
                "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
            (alteration(ClientQuotaEntity::from_pairs([(IP, Some("not an ip"))]), &[]),
                "not an ip is not a valid IP or resolvable host."),
            (alteration(ClientQuotaEntity::from_pairs([(IP, None)]), &[(CONNECTION_CREATION_RATE, Some(2.5))]),
                "connection_creation_rate cannot be a fractional value."),
        ];
        for (a, expected) in cases {
            assert_eq!(message(&m.alter(&[a], false)), expected);
        }
        assert!(m.quotas().is_empty());
        // request_percentage is a DOUBLE: fractions are fine. validate_only changes nothing.
        let ok = alteration(user.clone(), &[(REQUEST_PERCENTAGE, Some(12.5))]);
        assert!(m.alter(std::slice::from_ref(&ok), true)[0].1.is_ok());
        assert!(m.quotas().is_empty());
        // A bad op fails the whole entity, the other entities still change.
        let bad = alteration(
            ClientQuotaEntity::client_id(None),
            &[
                (CONSUMER_BYTE_RATE, Some(5.0)),
                (PRODUCER_BYTE_RATE, Some(-1.0)),
            ],
        );
        let r = m.alter(&[ok.clone(), bad], false);
        assert!(r[0].1.is_ok() && r[1].1.is_err());
        assert_eq!(m.quotas().len(), 1);
        // The same entity twice: the second is refused.
        let r = m.alter(&[ok.clone(), ok], false);
        assert_eq!(r.len(), 1);
        assert!(r[0].1.is_err());
        // Removing what is not set is fine; removing the last key removes the entity.
        let rm = alteration(
            user,
            &[(REQUEST_PERCENTAGE, None), (PRODUCER_BYTE_RATE, None)],
        );
        assert!(m.alter(&[rm], false)[0].1.is_ok());
        assert!(m.quotas().is_empty());
    }

    #[test]
    fn filters_are_checked_as_kafka_does() {
        let f = |c: &[(&str, i8, Option<&str>)]| {
            build_filter(
                &c.iter()
                    .map(|(t, m, n)| (t.to_string(), *m, n.map(str::to_string)))
                    .collect::<Vec<_>>(),
                false,
            )
        };
        assert!(f(&[(USER, 0, Some("a")), (CLIENT_ID, 2, None)]).is_ok());
        assert!(matches!(
            f(&[("", 0, Some("a"))]),
            Err(QuotaError::InvalidRequest(_))
        ));
        assert!(matches!(
            f(&[(USER, 1, None), (USER, 2, None)]),
            Err(QuotaError::InvalidRequest(_))
        ));
        assert!(matches!(
            f(&[("group", 2, None)]),
            Err(QuotaError::UnsupportedEntityType(_))
        ));
        assert!(matches!(
            f(&[(USER, 0, None)]),
            Err(QuotaError::InvalidRequest(_))
        ));
        assert!(matches!(
            f(&[(USER, 1, Some("x"))]),
            Err(QuotaError::InvalidRequest(_))
        ));
        assert!(matches!(
            f(&[(USER, 2, Some("x"))]),
            Err(QuotaError::InvalidRequest(_))
        ));
        assert!(matches!(
            f(&[(USER, 7, None)]),
            Err(QuotaError::InvalidRequest(_))
        ));
        assert!(matches!(
            f(&[(IP, 2, None), (USER, 2, None)]),
            Err(QuotaError::InvalidRequest(_))
        ));
    }

    #[test]
    fn quotas_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let open_store = || {
            Arc::new(
                StateStore::open(dir.path(), crate::storage::kv::StateStoreConfig::default())
                    .unwrap(),
            )
        };
        let s = open_store();
        let m = QuotaManager::open(QuotaWindows::default(), Some(Arc::clone(&s))).unwrap();
        set(
            &m,
            ClientQuotaEntity::user_client(Some("a/#b"), None),
            PRODUCER_BYTE_RATE,
            1024.0,
        );
        set(
            &m,
            ClientQuotaEntity::from_pairs([(IP, None)]),
            CONNECTION_CREATION_RATE,
            5.0,
        );
        set(
            &m,
            ClientQuotaEntity::client_id(Some("x")),
            REQUEST_PERCENTAGE,
            50.0,
        );
        let r = m.alter(
            &[alteration(
                ClientQuotaEntity::client_id(Some("x")),
                &[(REQUEST_PERCENTAGE, None)],
            )],
            false,
        );
        assert!(r[0].1.is_ok());
        let before = m.quotas();
        drop(m);
        s.close().unwrap();
        drop(s);
        let m = QuotaManager::open(QuotaWindows::default(), Some(open_store())).unwrap();
        assert_eq!(m.quotas(), before);
        assert_eq!(before.len(), 2);
        assert!(m.enabled(QuotaKind::Produce));
        assert_eq!(m.quota_for(QuotaKind::Produce, "a/#b", "any"), Some(1024.0));
        assert_eq!(m.quota_for(QuotaKind::Request, "u", "x"), None);
    }

    #[test]
    fn strict_mutation_quota_refuses_once_the_bucket_is_empty() {
        let m = QuotaManager::open(QuotaWindows::default(), None).unwrap();
        set(
            &m,
            ClientQuotaEntity::client_id(None),
            CONTROLLER_MUTATION_RATE,
            1.0,
        );
        // Burst 11: the first 20 are accepted (the bucket may go below zero), then refused.
        let mut q = m.mutation_quota("u", "c", true);
        assert!(q.record(20.0).is_ok());
        let e = q.record(1.0).unwrap_err();
        assert!(e.throttle_ms > 8000 && e.throttle_ms <= 9000, "{e:?}");
        assert!(q.throttle_time_ms() > 0);
        // A permissive quota accepts and throttles.
        let mut q = m.mutation_quota("u", "c", false);
        assert!(q.record(1.0).is_ok());
        assert!(q.throttle_time_ms() > 0);
    }
}
