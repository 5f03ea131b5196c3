//! Dynamic broker configs: broker options changed while the broker runs, through
//! IncrementalAlterConfigs / AlterConfigs on the BROKER resource, as Kafka allows it.
//!
//! A value has four layers, highest first: set for this broker at run time (resource name
//! = its node id, DYNAMIC_BROKER_CONFIG), set as the cluster-wide default at run time
//! (empty resource name, DYNAMIC_DEFAULT_BROKER_CONFIG), the configuration file and
//! command line (STATIC_BROKER_CONFIG), and the built-in default (DEFAULT_CONFIG).
//!
//! Kafka keeps these changes as config records in its metadata log; Skiff keeps them in
//! its keyed state store beside the topics, one key per config,
//! `config/broker/<node id or <default>>/<name>` → value, written before the change becomes
//! visible. Only options whose descriptor says they can change at run time are accepted;
//! read-only ones are refused (INVALID_REQUEST, as Kafka refuses them). A name Kafka does
//! not know is kept as a custom config and otherwise ignored, as Kafka does.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::config::{self, Config, ConfigSource, UpdateMode};
use crate::storage::kv::{StateStore, WriteBatch};
use crate::storage::StorageError;

/// Key prefix of the dynamic broker configs in the state store.
pub const KEY_PREFIX: &str = "config/broker/";

/// The entity name of the cluster-wide defaults in the state store.
const DEFAULT_ENTITY: &str = "<default>";

/// Why a dynamic broker config change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DynamicConfigError {
    /// The resource names another broker.
    #[error("unknown broker `{name}`: this broker is {node_id}")]
    UnknownBroker {
        /// The resource name given.
        name: String,
        /// This broker's id.
        node_id: i32,
    },
    /// A config that cannot change at run time.
    #[error("Cannot update these configs dynamically: {0}")]
    ReadOnly(String),
    /// A per-broker config given as a cluster-wide default.
    #[error(
        "Cannot update these configs at default cluster level, broker id must be specified: {0}"
    )]
    PerBrokerOnly(String),
    /// A value its descriptor refuses.
    #[error("Invalid value {value} for configuration {name}: {reason}")]
    InvalidValue {
        /// The config.
        name: String,
        /// The value given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// The state store failed.
    #[error("cannot store the broker configs: {0}")]
    Store(#[from] StorageError),
    /// A stored entry that cannot be read back.
    #[error("bad dynamic broker config entry `{0}` in the state store")]
    Corrupt(String),
}

/// The layers of the broker configuration at one moment.
#[derive(Debug, Clone)]
pub struct BrokerConfigLayers {
    /// From the configuration file and command line.
    pub static_config: Arc<Config>,
    /// Set at run time as the cluster-wide default.
    pub cluster_default: BTreeMap<String, String>,
    /// Set at run time for this broker.
    pub this_broker: BTreeMap<String, String>,
    /// The configuration in force: every layer applied.
    pub effective: Arc<Config>,
}

impl BrokerConfigLayers {
    fn build(
        static_config: Arc<Config>,
        cluster_default: BTreeMap<String, String>,
        this_broker: BTreeMap<String, String>,
    ) -> BrokerConfigLayers {
        let mut effective = (*static_config).clone();
        for (name, value) in cluster_default.iter().chain(&this_broker) {
            if config::broker_option(name).is_none() {
                continue; // a custom config
            }
            if let Err(e) = effective.set(name, value) {
                tracing::warn!(error = %e, "dynamic broker config ignored");
            }
        }
        BrokerConfigLayers {
            static_config,
            cluster_default,
            this_broker,
            effective: Arc::new(effective),
        }
    }

    /// The value of broker option `name` with every layer that sets it, highest first
    /// (the first is the value in force): DescribeConfigs' value, source and synonyms.
    pub fn values(&self, name: &str) -> Vec<(String, ConfigSource)> {
        let mut out = Vec::new();
        if let Some(v) = self.this_broker.get(name) {
            out.push((v.clone(), ConfigSource::DynamicBroker));
        }
        if let Some(v) = self.cluster_default.get(name) {
            out.push((v.clone(), ConfigSource::DynamicDefaultBroker));
        }
        if let Some(def) = config::broker_option(name) {
            if let Some(v) = self.static_config.get(name) {
                if v != def.default {
                    out.push((v, ConfigSource::StaticBroker));
                }
            }
            out.push((def.default.to_string(), ConfigSource::Default));
        }
        out
    }
}

type Listener = Box<dyn Fn(&Config, &Config) + Send + Sync>;

/// The configuration in force before and after a change.
pub type ConfigChange = (Arc<Config>, Arc<Config>);

/// The broker configuration with its run-time changes.
pub struct DynamicBrokerConfig {
    node_id: i32,
    store: Option<Arc<StateStore>>,
    layers: RwLock<Arc<BrokerConfigLayers>>,
    /// Serialises changes, so the store and the layers change in the same order.
    write: Mutex<()>,
    listeners: Mutex<Vec<Listener>>,
}

fn entity_of(resource: &str) -> &str {
    if resource.is_empty() {
        DEFAULT_ENTITY
    } else {
        resource
    }
}

fn load(store: &StateStore, entity: &str) -> Result<BTreeMap<String, String>, DynamicConfigError> {
    let prefix = format!("{KEY_PREFIX}{entity}/");
    let mut out = BTreeMap::new();
    for item in store.scan_prefix(&prefix)? {
        let (key, value) = item?;
        let key = String::from_utf8_lossy(&key).into_owned();
        let name = key
            .strip_prefix(&prefix)
            .ok_or_else(|| DynamicConfigError::Corrupt(key.clone()))?;
        let value =
            String::from_utf8(value).map_err(|_| DynamicConfigError::Corrupt(key.clone()))?;
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

impl DynamicBrokerConfig {
    /// The configuration `static_config` with the run-time changes kept in `store`
    /// (`None`: changes are kept in memory only and lost on restart).
    pub fn open(
        static_config: Config,
        store: Option<Arc<StateStore>>,
    ) -> Result<DynamicBrokerConfig, DynamicConfigError> {
        let node_id = static_config.node_id;
        let (cluster_default, this_broker) = match &store {
            Some(s) => (load(s, DEFAULT_ENTITY)?, load(s, &node_id.to_string())?),
            None => (BTreeMap::new(), BTreeMap::new()),
        };
        let layers =
            BrokerConfigLayers::build(Arc::new(static_config), cluster_default, this_broker);
        if !layers.cluster_default.is_empty() || !layers.this_broker.is_empty() {
            tracing::info!(
                cluster_default = layers.cluster_default.len(),
                this_broker = layers.this_broker.len(),
                "dynamic broker configs loaded"
            );
        }
        Ok(DynamicBrokerConfig {
            node_id,
            store,
            layers: RwLock::new(Arc::new(layers)),
            write: Mutex::new(()),
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// The configuration in force.
    pub fn current(&self) -> Arc<Config> {
        Arc::clone(&self.layers.read().effective)
    }

    /// Every layer of the configuration.
    pub fn layers(&self) -> Arc<BrokerConfigLayers> {
        Arc::clone(&self.layers.read())
    }

    /// Calls `f(old, new)` after every change of the configuration in force.
    pub fn on_change(&self, f: impl Fn(&Config, &Config) + Send + Sync + 'static) {
        self.listeners.lock().push(Box::new(f));
    }

    /// Checks that `resource` names this broker (its node id) or the cluster default
    /// (empty).
    pub fn check_resource(&self, resource: &str) -> Result<(), DynamicConfigError> {
        if resource.is_empty() || resource == self.node_id.to_string() {
            Ok(())
        } else {
            Err(DynamicConfigError::UnknownBroker {
                name: resource.to_string(),
                node_id: self.node_id,
            })
        }
    }

    /// The run-time changes of `resource` (this node id, or empty for the cluster
    /// default).
    pub fn overrides(
        &self,
        resource: &str,
    ) -> Result<BTreeMap<String, String>, DynamicConfigError> {
        self.check_resource(resource)?;
        let layers = self.layers.read();
        Ok(if resource.is_empty() {
            layers.cluster_default.clone()
        } else {
            layers.this_broker.clone()
        })
    }

    /// Checks one run-time change of `resource`.
    fn validate(resource: &str, name: &str, value: &str) -> Result<(), DynamicConfigError> {
        let Some(def) = config::broker_option(name) else {
            if config::KAFKA_READ_ONLY_ELSEWHERE.contains(&name) {
                return Err(DynamicConfigError::ReadOnly(name.to_string()));
            }
            return Ok(()); // a custom config, kept as Kafka keeps it
        };
        match def.mode {
            UpdateMode::ReadOnly => return Err(DynamicConfigError::ReadOnly(name.to_string())),
            UpdateMode::PerBroker if resource.is_empty() => {
                return Err(DynamicConfigError::PerBrokerOnly(name.to_string()))
            }
            UpdateMode::PerBroker | UpdateMode::ClusterWide => {}
        }
        def.validate(value)
            .map_err(|reason| DynamicConfigError::InvalidValue {
                name: name.to_string(),
                value: value.to_string(),
                reason,
            })
    }

    /// Makes `configs` the run-time changes of `resource` (this node id, or empty for the
    /// cluster default): `change` gets the current ones and returns the new set, which is
    /// validated, stored, then put in force. Returns the configuration in force before and
    /// after, or `None` with `validate_only`.
    pub fn alter<E>(
        &self,
        resource: &str,
        validate_only: bool,
        change: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, E>,
    ) -> Result<Option<ConfigChange>, E>
    where
        E: From<DynamicConfigError>,
    {
        self.check_resource(resource)?;
        let _write = self.write.lock();
        let layers = self.layers();
        let current = if resource.is_empty() {
            &layers.cluster_default
        } else {
            &layers.this_broker
        };
        let new = change(current)?;
        for (name, value) in &new {
            if current.get(name) != Some(value) {
                Self::validate(resource, name, value)?;
            }
        }
        if validate_only {
            return Ok(None);
        }
        if let Some(store) = &self.store {
            let entity = entity_of(resource);
            let mut batch = WriteBatch::new();
            for name in current.keys().filter(|n| !new.contains_key(*n)) {
                batch.delete(format!("{KEY_PREFIX}{entity}/{name}"));
            }
            for (name, value) in &new {
                batch.put(format!("{KEY_PREFIX}{entity}/{name}"), value);
            }
            store.write(&batch).map_err(DynamicConfigError::from)?;
        }
        let (cluster_default, this_broker) = if resource.is_empty() {
            (new, layers.this_broker.clone())
        } else {
            (layers.cluster_default.clone(), new)
        };
        let next = Arc::new(BrokerConfigLayers::build(
            Arc::clone(&layers.static_config),
            cluster_default,
            this_broker,
        ));
        let old = Arc::clone(&layers.effective);
        let now = Arc::clone(&next.effective);
        *self.layers.write() = next;
        for f in self.listeners.lock().iter() {
            f(&old, &now);
        }
        Ok(Some((old, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &std::path::Path) -> Arc<StateStore> {
        Arc::new(StateStore::open(dir, crate::storage::kv::StateStoreConfig::default()).unwrap())
    }

    fn set(
        d: &DynamicBrokerConfig,
        resource: &str,
        name: &str,
        value: &str,
    ) -> Result<(), DynamicConfigError> {
        d.alter(resource, false, |current| {
            let mut m = current.clone();
            m.insert(name.to_string(), value.to_string());
            Ok::<_, DynamicConfigError>(m)
        })
        .map(drop)
    }

    #[test]
    fn layers_apply_in_kafka_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut static_config = Config::default();
        static_config.set("log.retention.ms", "5000").unwrap();
        let s = store(dir.path());
        let d = DynamicBrokerConfig::open(static_config.clone(), Some(Arc::clone(&s))).unwrap();
        assert_eq!(d.current().log_retention_ms, 5000);
        set(&d, "", "log.retention.ms", "6000").unwrap();
        assert_eq!(d.current().log_retention_ms, 6000);
        set(&d, "1", "log.retention.ms", "7000").unwrap();
        assert_eq!(d.current().log_retention_ms, 7000);
        let sources: Vec<ConfigSource> = d
            .layers()
            .values("log.retention.ms")
            .iter()
            .map(|v| v.1)
            .collect();
        assert_eq!(
            sources,
            vec![
                ConfigSource::DynamicBroker,
                ConfigSource::DynamicDefaultBroker,
                ConfigSource::StaticBroker,
                ConfigSource::Default
            ]
        );
        assert!(matches!(
            set(&d, "1", "node.id", "7"),
            Err(DynamicConfigError::ReadOnly(_))
        ));
        assert!(matches!(
            set(&d, "1", "log.dirs", "/x"),
            Err(DynamicConfigError::ReadOnly(_))
        ));
        assert!(matches!(
            set(&d, "", "log.retention.ms", "-7"),
            Err(DynamicConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            set(&d, "2", "log.retention.ms", "1"),
            Err(DynamicConfigError::UnknownBroker { .. })
        ));
        set(&d, "1", "no.such.config", "1").unwrap();
        drop(d);
        s.close().unwrap();
        drop(s);
        let d = DynamicBrokerConfig::open(static_config, Some(store(dir.path()))).unwrap();
        assert_eq!(d.current().log_retention_ms, 7000);
        assert_eq!(
            d.overrides("").unwrap().get("log.retention.ms").unwrap(),
            "6000"
        );
        assert_eq!(
            d.overrides("1").unwrap().get("no.such.config").unwrap(),
            "1"
        );
    }
}
