//! Group-level configs (the GROUP config resource of DescribeConfigs and
//! IncrementalAlterConfigs) and the settings a share group works under.
//!
//! A group's overrides are kept in the state store (`group-config/<id>` → JSON object; not under `group/`, which the group coordinator owns);
//! whatever a group does not set comes from the broker's `group.share.*` options.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::time::Duration;

use super::error::{Result, ShareError};
use super::partition::Limits;
use crate::config::{Config, ConfigType};
use crate::storage::kv::StateStore;

const KEY_PREFIX: &[u8] = b"group-config/";

/// Where a share group starts reading a partition it has no state for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoOffsetReset {
    /// At the high watermark (Kafka's default).
    Latest,
    /// At the log start.
    Earliest,
    /// At the first record no older than this.
    ByDuration(Duration),
}

/// The settings of one share group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareSettings {
    /// `share.auto.offset.reset`.
    pub auto_offset_reset: AutoOffsetReset,
    /// `share.isolation.level` is `read_committed`.
    pub read_committed: bool,
    /// `share.session.timeout.ms`.
    pub session_timeout: Duration,
    /// `share.heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// Lock duration, delivery limit and window size.
    pub limits: Limits,
}

/// One group config Skiff knows.
struct GroupConfigDef {
    name: &'static str,
    /// Kafka's type of the config.
    kind: ConfigType,
    /// The value when the group sets none.
    default: fn(&Config) -> String,
    /// Checks a value against the broker's bounds.
    check: fn(&Config, &str) -> std::result::Result<(), String>,
}

fn int_within(value: &str, min: u64, max: u64) -> std::result::Result<(), String> {
    match value.trim().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Ok(()),
        _ => Err(format!("must be an integer between {min} and {max}")),
    }
}

/// The group configs Skiff serves, with their broker-level defaults and bounds.
const GROUP_CONFIGS: &[GroupConfigDef] = &[
    GroupConfigDef {
        name: "share.auto.offset.reset",
        kind: ConfigType::String,
        default: |_| "latest".into(),
        check: |_, v| parse_auto_offset_reset(v).map(|_| ()),
    },
    GroupConfigDef {
        name: "share.delivery.count.limit",
        kind: ConfigType::Int,
        default: |c| c.group_share_delivery_count_limit.to_string(),
        check: |_, v| int_within(v, 2, 10),
    },
    GroupConfigDef {
        name: "share.heartbeat.interval.ms",
        kind: ConfigType::Int,
        default: |c| c.group_share_heartbeat_interval_ms.to_string(),
        check: |c, v| {
            int_within(
                v,
                c.group_share_min_heartbeat_interval_ms,
                c.group_share_max_heartbeat_interval_ms,
            )
        },
    },
    GroupConfigDef {
        name: "share.isolation.level",
        kind: ConfigType::String,
        default: |_| "read_uncommitted".into(),
        check: |_, v| match v {
            "read_committed" | "read_uncommitted" => Ok(()),
            _ => Err("must be read_committed or read_uncommitted".into()),
        },
    },
    GroupConfigDef {
        name: "share.partition.max.record.locks",
        kind: ConfigType::Int,
        default: |c| c.group_share_partition_max_record_locks.to_string(),
        check: |_, v| int_within(v, 100, 10_000),
    },
    GroupConfigDef {
        name: "share.record.lock.duration.ms",
        kind: ConfigType::Int,
        default: |c| c.group_share_record_lock_duration_ms.to_string(),
        check: |c, v| {
            int_within(
                v,
                c.group_share_min_record_lock_duration_ms,
                c.group_share_max_record_lock_duration_ms,
            )
        },
    },
    GroupConfigDef {
        name: "share.session.timeout.ms",
        kind: ConfigType::Int,
        default: |c| c.group_share_session_timeout_ms.to_string(),
        check: |c, v| {
            int_within(
                v,
                c.group_share_min_session_timeout_ms,
                c.group_share_max_session_timeout_ms,
            )
        },
    },
];

/// Parses `latest`, `earliest` or `by_duration:<ISO-8601 duration>` (`PnDTnHnMn.nS`).
pub fn parse_auto_offset_reset(value: &str) -> std::result::Result<AutoOffsetReset, String> {
    match value {
        "latest" => Ok(AutoOffsetReset::Latest),
        "earliest" => Ok(AutoOffsetReset::Earliest),
        v => v
            .strip_prefix("by_duration:")
            .and_then(parse_iso_duration)
            .map(AutoOffsetReset::ByDuration)
            .ok_or_else(|| "must be latest, earliest or by_duration:PnDTnHnMn.nS".to_string()),
    }
}

/// An ISO-8601 duration of days, hours, minutes and seconds (`P1DT2H3M4.5S`).
fn parse_iso_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut secs = 0f64;
    if !days.is_empty() {
        secs += days.strip_suffix('D')?.parse::<f64>().ok()? * 86_400.0;
    }
    let mut number = String::new();
    for c in time.chars() {
        let unit = match c {
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => {
                number.push(c);
                continue;
            }
        };
        secs += number.parse::<f64>().ok()? * unit;
        number.clear();
    }
    (number.is_empty() && secs.is_finite() && secs >= 0.0 && text.len() > 1)
        .then(|| Duration::from_secs_f64(secs))
}

/// The group configs of every group, kept in the state store.
#[derive(Debug)]
pub struct GroupConfigs {
    store: Arc<StateStore>,
    broker: Arc<Config>,
    overrides: RwLock<HashMap<String, BTreeMap<String, String>>>,
}

impl GroupConfigs {
    /// Loads every group's overrides.
    pub fn open(store: Arc<StateStore>, broker: Arc<Config>) -> Result<GroupConfigs> {
        let mut overrides = HashMap::new();
        for item in store.scan_prefix(KEY_PREFIX)? {
            let (key, value) = item?;
            let group = key
                .strip_prefix(KEY_PREFIX)
                .and_then(|k| String::from_utf8(k.to_vec()).ok())
                .ok_or_else(|| ShareError::Corrupt("group config key".into()))?;
            let map: BTreeMap<String, String> = serde_json::from_slice(&value)
                .map_err(|e| ShareError::Corrupt(format!("group config: {e}")))?;
            overrides.insert(group, map);
        }
        Ok(GroupConfigs {
            store,
            broker,
            overrides: RwLock::new(overrides),
        })
    }

    /// Whether Skiff knows the group config `name`.
    pub fn is_known(name: &str) -> bool {
        GROUP_CONFIGS.iter().any(|d| d.name == name)
    }

    /// Checks `value` for the group config `name` (INVALID_CONFIG's message on failure).
    pub fn check(&self, name: &str, value: &str) -> std::result::Result<(), String> {
        match GROUP_CONFIGS.iter().find(|d| d.name == name) {
            None => Err(format!("Unknown group config name: {name}")),
            Some(d) => (d.check)(&self.broker, value)
                .map_err(|e| format!("Invalid value {value} for configuration {name}: {e}")),
        }
    }

    /// What `group_id` sets.
    pub fn overrides(&self, group_id: &str) -> BTreeMap<String, String> {
        self.overrides
            .read()
            .get(group_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The value of group config `name` when a group sets none (from the broker's options).
    pub fn default_value(&self, name: &str) -> Option<String> {
        GROUP_CONFIGS
            .iter()
            .find(|d| d.name == name)
            .map(|d| (d.default)(&self.broker))
    }

    /// Every known config of `group_id`: its name, type, value and whether the group sets it.
    pub fn describe(&self, group_id: &str) -> Vec<(&'static str, ConfigType, String, bool)> {
        let set = self.overrides(group_id);
        GROUP_CONFIGS
            .iter()
            .map(|d| match set.get(d.name) {
                Some(v) => (d.name, d.kind, v.clone(), true),
                None => (d.name, d.kind, (d.default)(&self.broker), false),
            })
            .collect()
    }

    /// Replaces what `group_id` sets (already checked), durably.
    pub fn replace(&self, group_id: &str, configs: BTreeMap<String, String>) -> Result<()> {
        let key = [KEY_PREFIX, group_id.as_bytes()].concat();
        if configs.is_empty() {
            self.store.delete(&key)?;
            self.overrides.write().remove(group_id);
        } else {
            let value = serde_json::to_vec(&configs)
                .map_err(|e| ShareError::Storage(format!("group config: {e}")))?;
            self.store.put(&key, value)?;
            self.overrides.write().insert(group_id.to_string(), configs);
        }
        Ok(())
    }

    /// The settings `group_id` works under now.
    pub fn share_settings(&self, group_id: &str) -> ShareSettings {
        let set = self.overrides(group_id);
        let value = |name: &str| -> String {
            set.get(name).cloned().unwrap_or_else(|| {
                GROUP_CONFIGS
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| (d.default)(&self.broker))
                    .unwrap_or_default()
            })
        };
        let ms = |name: &str, fallback: u64| {
            Duration::from_millis(value(name).parse().unwrap_or(fallback))
        };
        let c = &self.broker;
        ShareSettings {
            auto_offset_reset: parse_auto_offset_reset(&value("share.auto.offset.reset"))
                .unwrap_or(AutoOffsetReset::Latest),
            read_committed: value("share.isolation.level") == "read_committed",
            session_timeout: ms("share.session.timeout.ms", c.group_share_session_timeout_ms),
            heartbeat_interval: ms(
                "share.heartbeat.interval.ms",
                c.group_share_heartbeat_interval_ms,
            ),
            limits: Limits {
                lock_duration: ms(
                    "share.record.lock.duration.ms",
                    c.group_share_record_lock_duration_ms,
                ),
                delivery_count_limit: value("share.delivery.count.limit").parse().unwrap_or(5),
                max_in_flight: value("share.partition.max.record.locks")
                    .parse()
                    .unwrap_or(2000),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_offset_reset_values() {
        assert_eq!(
            parse_auto_offset_reset("latest"),
            Ok(AutoOffsetReset::Latest)
        );
        assert_eq!(
            parse_auto_offset_reset("by_duration:P1DT1H30M0.5S"),
            Ok(AutoOffsetReset::ByDuration(Duration::from_secs_f64(
                86_400.0 + 5_400.0 + 0.5
            )))
        );
        assert_eq!(
            parse_auto_offset_reset("by_duration:PT10M"),
            Ok(AutoOffsetReset::ByDuration(Duration::from_secs(600)))
        );
        assert!(parse_auto_offset_reset("by_duration:10M").is_err());
        assert!(parse_auto_offset_reset("by_duration:P").is_err());
        assert!(parse_auto_offset_reset("newest").is_err());
    }
}
