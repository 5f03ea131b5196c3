//! The config entries DescribeConfigs reports for a topic or the broker: value, source,
//! read-only flag, type, documentation and synonyms, from the descriptors and the layers
//! of the broker configuration. The protocol handler only encodes them.

use std::collections::BTreeMap;

use crate::config::{self, ConfigSource, ConfigType, BROKER_OPTIONS};

use super::dynamic_config::BrokerConfigLayers;
use super::topic_config::TOPIC_CONFIGS;

/// One described config.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    /// The config's name.
    pub name: &'static str,
    /// Its value in force (`None` for a sensitive one).
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be changed with AlterConfigs / IncrementalAlterConfigs.
    pub read_only: bool,
    /// Whether its value is a secret.
    pub sensitive: bool,
    /// Kafka's type.
    pub kind: ConfigType,
    /// What it does.
    pub doc: &'static str,
    /// Every layer that sets it, highest first: name, value, source.
    pub synonyms: Vec<(&'static str, Option<String>, ConfigSource)>,
}

fn hide(kind: ConfigType, value: String) -> Option<String> {
    (kind != ConfigType::Password).then_some(value)
}

/// The configs of a topic whose overrides are `overrides`.
pub fn topic_entries(
    layers: &BrokerConfigLayers,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    TOPIC_CONFIGS
        .iter()
        .map(|d| {
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(d.name) {
                synonyms.push((d.name, hide(d.kind, v.clone()), ConfigSource::DynamicTopic));
            }
            match d.broker_synonym {
                Some(b) => synonyms.extend(
                    layers
                        .values(b)
                        .into_iter()
                        .map(|(v, s)| (b, hide(d.kind, v), s)),
                ),
                None => synonyms.push((d.name, Some(d.default.to_string()), ConfigSource::Default)),
            }
            let (value, source) = synonyms
                .first()
                .map(|(_, v, s)| (v.clone(), *s))
                .unwrap_or((Some(d.default.to_string()), ConfigSource::Default));
            ConfigEntry {
                name: d.name,
                value,
                source,
                read_only: false,
                sensitive: d.kind == ConfigType::Password,
                kind: d.kind,
                doc: d.doc,
                synonyms,
            }
        })
        .collect()
}

/// The broker configs of resource `resource`: this broker's (its node id) lists every
/// option; the cluster-wide default (empty) lists those set as cluster-wide defaults, as
/// Kafka lists them.
pub fn broker_entries(layers: &BrokerConfigLayers, resource: &str) -> Vec<ConfigEntry> {
    let cluster_default = resource.is_empty();
    let mut entries = BROKER_OPTIONS
        .iter()
        .filter(|d| !cluster_default || layers.cluster_default.contains_key(d.name))
        .map(|d| {
            let synonyms: Vec<_> = layers
                .values(d.name)
                .into_iter()
                // The cluster-wide default resource lists only its own layer, as Kafka does.
                .filter(|(_, s)| !cluster_default || *s == ConfigSource::DynamicDefaultBroker)
                .map(|(v, s)| (d.name, hide(d.kind, v), s))
                .collect();
            let (value, source) = synonyms
                .first()
                .map(|(_, v, s)| (v.clone(), *s))
                .unwrap_or((Some(d.default.to_string()), ConfigSource::Default));
            ConfigEntry {
                name: d.name,
                value,
                source,
                read_only: !d.is_dynamic(),
                sensitive: d.kind == ConfigType::Password,
                kind: d.kind,
                doc: d.doc,
                synonyms,
            }
        })
        .collect::<Vec<_>>();
    if !cluster_default {
        if let Some(e) = entries.iter_mut().find(|e| e.name == "log.dirs") {
            describe_log_dirs_entry(layers, e);
        }
        let derived = kafka_static_entries(layers);
        // `listeners` and `advertised.listeners` left unset are shown as derived from
        // `listen` and `advertised.listener`, the shorthand that is then in force.
        entries.retain(|e| !derived.iter().any(|d| d.name == e.name));
        entries.extend(derived);
    }
    entries
}

/// A Kafka-named static broker config that Skiff derives from its own options.
fn derived(
    name: &'static str,
    value: Option<String>,
    source: ConfigSource,
    kind: ConfigType,
    default: Option<&str>,
    doc: &'static str,
) -> ConfigEntry {
    let mut synonyms = Vec::new();
    if source == ConfigSource::StaticBroker {
        synonyms.push((name, value.clone(), source));
    }
    if let Some(d) = default {
        synonyms.push((name, Some(d.to_string()), ConfigSource::Default));
    }
    ConfigEntry {
        name,
        value,
        source,
        read_only: true,
        sensitive: false,
        kind,
        doc,
        synonyms,
    }
}

/// The static configs tools read under Kafka's names (`listeners`, `advertised.listeners`,
/// `broker.id`, `process.roles`, `log.dirs`, …), derived from Skiff's own options (`listen`,
/// `advertised.listener`, `node.id`, `data.dir`) with the source of the option they come
/// from (`listeners` and `advertised.listeners` only while they are unset). Skiff is broker
/// and controller of its one-node cluster, and has no rack.
fn kafka_static_entries(layers: &BrokerConfigLayers) -> Vec<ConfigEntry> {
    let config = &layers.static_config;
    let source_of = |name: &str| {
        layers
            .values(name)
            .into_iter()
            .find(|(_, s)| *s == ConfigSource::StaticBroker)
            .map_or(ConfigSource::Default, |(_, s)| s)
    };
    let listen_default = config::broker_option("listen").map_or("", |d| d.default);
    let mut out = Vec::new();
    if config.listeners.is_none() {
        out.push(derived(
            "listeners",
            Some(format!("PLAINTEXT://{}", config.listen)),
            source_of("listen"),
            ConfigType::String,
            Some(&format!("PLAINTEXT://{listen_default}")),
            "The listener Skiff binds (option `listen`), in Kafka's form.",
        ));
    }
    if config.advertised_listeners.is_none() {
        out.push(match &config.advertised_listener {
            Some(a) => derived(
                "advertised.listeners",
                Some(format!("PLAINTEXT://{a}")),
                ConfigSource::StaticBroker,
                ConfigType::String,
                None,
                "The address handed to clients (option `advertised.listener`), in Kafka's form.",
            ),
            None => derived(
                "advertised.listeners",
                None,
                ConfigSource::Default,
                ConfigType::String,
                None,
                "Unset: clients are handed the listener's address.",
            ),
        });
    }
    out.extend([
        derived(
            "broker.id",
            Some(config.node_id.to_string()),
            source_of("node.id"),
            ConfigType::Int,
            Some("-1"),
            "This broker's id: its node.id.",
        ),
        derived(
            "process.roles",
            Some("broker,controller".to_string()),
            ConfigSource::Default,
            ConfigType::List,
            Some("broker,controller"),
            "Skiff is the broker and the controller of its one-node cluster.",
        ),
        derived(
            "broker.rack",
            None,
            ConfigSource::Default,
            ConfigType::String,
            None,
            "No rack.",
        ),
    ]);
    out
}

/// `log.dirs` as Kafka describes it: the directories in force. Unset (and `log.dir` unset
/// too) it is the data dir, with the source of `data.dir`; `log.dirs` has no default synonym
/// in Kafka, so Skiff's data.dir default stands in.
fn describe_log_dirs_entry(layers: &BrokerConfigLayers, entry: &mut ConfigEntry) {
    let config = &layers.static_config;
    if entry.source != ConfigSource::Default {
        return;
    }
    let dirs: Vec<String> = config
        .log_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    let data_dir_default = config::broker_option("data.dir").map_or("", |d| d.default);
    let from_data_dir = config.log_dir.is_none();
    let source = if from_data_dir {
        layers
            .values("data.dir")
            .into_iter()
            .find(|(_, s)| *s == ConfigSource::StaticBroker)
            .map_or(ConfigSource::Default, |(_, s)| s)
    } else {
        ConfigSource::StaticBroker
    };
    entry.value = Some(dirs.join(","));
    entry.source = source;
    entry.doc = "The directories of the logs (option `log.dirs`, else `log.dir`, else `data.dir`).";
    entry.synonyms = if source == ConfigSource::Default {
        vec![(
            "log.dirs",
            Some(data_dir_default.to_string()),
            ConfigSource::Default,
        )]
    } else {
        vec![("log.dirs", entry.value.clone(), source)]
    };
}

/// Whether topic or broker config `name` is a list (IncrementalAlterConfigs' APPEND and
/// SUBTRACT apply to lists only).
pub fn is_list(name: &str) -> bool {
    config::broker_option(name)
        .or_else(|| config::topic_config(name))
        .is_some_and(|d| d.kind == ConfigType::List)
}
