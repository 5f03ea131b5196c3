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
    BROKER_OPTIONS
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
        .collect()
}

/// Whether topic or broker config `name` is a list (IncrementalAlterConfigs' APPEND and
/// SUBTRACT apply to lists only).
pub fn is_list(name: &str) -> bool {
    config::broker_option(name)
        .or_else(|| config::topic_config(name))
        .is_some_and(|d| d.kind == ConfigType::List)
}
