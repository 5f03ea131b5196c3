//! Feature flags (KIP-584): the features this broker supports, the levels finalized for the
//! cluster, and their changes through UpdateFeatures.
//!
//! Kafka keeps finalized levels as `FeatureLevelRecord`s in its metadata log and answers
//! with the log offset as the finalized features epoch. Skiff keeps them in its keyed state
//! store, `feature/level/<name>` → level (2 bytes, big endian) and `feature/epoch` → epoch
//! (8 bytes), written before a change is visible. The first start writes Kafka 4.1.1's
//! defaults at epoch 1 (what a freshly formatted Kafka 4.1.1 finalizes); each change raises
//! the epoch by one. A level of 0 is not finalized (Kafka leaves such features out).
//!
//! The update rules are Kafka's controller's (`FeatureControlManager`): an unknown upgrade
//! type, a negative level, a feature or level this broker does not support, a downgrade
//! without a downgrade type, an upgrade with one, and a `metadata.version` downgrade that
//! might lose metadata each fail the whole request with INVALID_UPDATE_VERSION.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::storage::kv::{StateStore, WriteBatch};
use crate::storage::StorageError;

/// `transaction.version`: 2 is KIP-890 part 2 (implicit partition adds, epoch bump on every
/// EndTxn).
pub const TRANSACTION_VERSION: &str = "transaction.version";
/// `group.version`: 1 enables KIP-848 consumer groups.
pub const GROUP_VERSION: &str = "group.version";
/// `share.version`: 1 enables share groups (KIP-932).
pub const SHARE_VERSION: &str = "share.version";
/// `metadata.version`.
pub const METADATA_VERSION: &str = "metadata.version";

/// The lowest `metadata.version` a downgrade may reach: Kafka 4.1.1 refuses to go below it
/// because the metadata format changed there (observed: 27 → 23 is accepted, → 22 refused).
const METADATA_VERSION_SAFE_FLOOR: i16 = 23;

const LEVEL_PREFIX: &str = "feature/level/";
const EPOCH_KEY: &str = "feature/epoch";

/// A feature this broker supports: its version range and the level a new broker finalizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedFeature {
    /// Kafka's name of the feature.
    pub name: &'static str,
    /// Lowest supported level.
    pub min_version: i16,
    /// Highest supported level.
    pub max_version: i16,
    /// The level finalized on the first start (Kafka 4.1.1's default).
    pub default_level: i16,
}

/// The features Skiff implements, by name. Kafka 4.1.1 also supports `kraft.version` 1
/// (dynamic quorums), which Skiff does not implement: it is listed at 0 only.
/// `share.version` is finalized at 1 on a new data dir, as Kafka 4.2 and later do (Kafka
/// 4.1.1 leaves it at 0).
pub const SUPPORTED: &[SupportedFeature] = &[
    SupportedFeature {
        name: "eligible.leader.replicas.version",
        min_version: 0,
        max_version: 1,
        default_level: 1,
    },
    SupportedFeature {
        name: GROUP_VERSION,
        min_version: 0,
        max_version: 1,
        default_level: 1,
    },
    SupportedFeature {
        name: "kraft.version",
        min_version: 0,
        max_version: 0,
        default_level: 0,
    },
    SupportedFeature {
        name: METADATA_VERSION,
        min_version: 7,
        max_version: 27,
        default_level: 27,
    },
    SupportedFeature {
        name: SHARE_VERSION,
        min_version: 0,
        max_version: 1,
        default_level: 1,
    },
    SupportedFeature {
        name: TRANSACTION_VERSION,
        min_version: 0,
        max_version: 2,
        default_level: 2,
    },
];

/// The supported range of feature `name`.
pub fn supported(name: &str) -> Option<&'static SupportedFeature> {
    SUPPORTED.iter().find(|f| f.name == name)
}

/// The finalized levels at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedFeatures {
    /// Raised by every change.
    pub epoch: i64,
    /// Finalized levels above 0, by name.
    pub levels: BTreeMap<String, i16>,
}

impl FinalizedFeatures {
    /// The finalized level of `name` (0 when not finalized).
    pub fn level(&self, name: &str) -> i16 {
        self.levels.get(name).copied().unwrap_or(0)
    }
}

/// How a level may move (UpdateFeatures v1's `upgrade_type`; v0's `allow_downgrade` maps to
/// [`UpgradeType::SafeDowngrade`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeType {
    /// Upgrades only (1).
    Upgrade,
    /// Lossless downgrades (2).
    SafeDowngrade,
    /// Lossy downgrades (3).
    UnsafeDowngrade,
    /// Any other code.
    Unknown,
}

impl UpgradeType {
    /// The type of UpdateFeatures v1's code.
    pub fn from_code(code: i8) -> UpgradeType {
        match code {
            1 => UpgradeType::Upgrade,
            2 => UpgradeType::SafeDowngrade,
            3 => UpgradeType::UnsafeDowngrade,
            _ => UpgradeType::Unknown,
        }
    }
}

/// One requested change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureUpdate {
    /// The feature.
    pub name: String,
    /// Its new level (0 removes it).
    pub level: i16,
    /// How it may move.
    pub upgrade_type: UpgradeType,
}

/// Why an update was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The update breaks a rule: INVALID_UPDATE_VERSION with this message.
    #[error("{0}")]
    InvalidUpdateVersion(String),
    /// The state store failed.
    #[error("cannot store the finalized features: {0}")]
    Store(#[from] StorageError),
    /// A stored entry that cannot be read back.
    #[error("bad feature entry `{0}` in the state store")]
    Corrupt(String),
}

/// The finalized features of the cluster (this broker), durable in the state store.
pub struct Features {
    node_id: i32,
    store: Option<Arc<StateStore>>,
    state: RwLock<Arc<FinalizedFeatures>>,
    write: Mutex<()>,
}

impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Features")
            .field("finalized", &*self.state.read())
            .finish()
    }
}

fn defaults() -> FinalizedFeatures {
    FinalizedFeatures {
        epoch: 1,
        levels: SUPPORTED
            .iter()
            .filter(|f| f.default_level > 0)
            .map(|f| (f.name.to_string(), f.default_level))
            .collect(),
    }
}

fn store_batch(batch: &mut WriteBatch, old: &FinalizedFeatures, new: &FinalizedFeatures) {
    for name in old.levels.keys().filter(|n| !new.levels.contains_key(*n)) {
        batch.delete(format!("{LEVEL_PREFIX}{name}"));
    }
    for (name, level) in &new.levels {
        batch.put(format!("{LEVEL_PREFIX}{name}"), level.to_be_bytes());
    }
    batch.put(EPOCH_KEY, new.epoch.to_be_bytes());
}

fn load(store: &StateStore) -> Result<Option<FinalizedFeatures>, FeatureError> {
    let Some(epoch) = store.get(EPOCH_KEY)? else {
        return Ok(None);
    };
    let epoch = <[u8; 8]>::try_from(epoch.as_slice())
        .map(i64::from_be_bytes)
        .map_err(|_| FeatureError::Corrupt(EPOCH_KEY.to_string()))?;
    let mut levels = BTreeMap::new();
    for item in store.scan_prefix(LEVEL_PREFIX)? {
        let (key, value) = item?;
        let key = String::from_utf8_lossy(&key).into_owned();
        let name = key
            .strip_prefix(LEVEL_PREFIX)
            .ok_or_else(|| FeatureError::Corrupt(key.clone()))?;
        let level = <[u8; 2]>::try_from(value.as_slice())
            .map(i16::from_be_bytes)
            .map_err(|_| FeatureError::Corrupt(key.clone()))?;
        levels.insert(name.to_string(), level);
    }
    Ok(Some(FinalizedFeatures { epoch, levels }))
}

impl Features {
    /// The finalized features kept in `store` (`None`: in memory only); a store without
    /// them gets Kafka 4.1.1's defaults, written at once.
    pub fn open(node_id: i32, store: Option<Arc<StateStore>>) -> Result<Features, FeatureError> {
        let finalized = match &store {
            Some(s) => match load(s)? {
                Some(f) => f,
                None => {
                    let f = defaults();
                    let mut batch = WriteBatch::new();
                    store_batch(
                        &mut batch,
                        &FinalizedFeatures {
                            epoch: 0,
                            levels: BTreeMap::new(),
                        },
                        &f,
                    );
                    s.write(&batch)?;
                    f
                }
            },
            None => defaults(),
        };
        Ok(Features {
            node_id,
            store,
            state: RwLock::new(Arc::new(finalized)),
            write: Mutex::new(()),
        })
    }

    /// The finalized features now.
    pub fn finalized(&self) -> Arc<FinalizedFeatures> {
        Arc::clone(&self.state.read())
    }

    /// The finalized level of `name` now (0 when not finalized).
    pub fn level(&self, name: &str) -> i16 {
        self.state.read().level(name)
    }

    /// Checks `updates` against the finalized levels and, unless `validate_only`, makes
    /// them durable and finalized (all or none), raising the epoch.
    pub fn update(
        &self,
        updates: &[FeatureUpdate],
        validate_only: bool,
    ) -> Result<(), FeatureError> {
        let _write = self.write.lock();
        let current = self.finalized();
        let mut next = (*current).clone();
        for u in updates {
            self.check(&current, u)?;
            if u.level > 0 {
                next.levels.insert(u.name.clone(), u.level);
            } else {
                next.levels.remove(&u.name);
            }
        }
        if validate_only || updates.is_empty() {
            return Ok(());
        }
        next.epoch = current.epoch + 1;
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::new();
            store_batch(&mut batch, &current, &next);
            store.write(&batch)?;
        }
        tracing::info!(epoch = next.epoch, levels = ?next.levels, "finalized features changed");
        *self.state.write() = Arc::new(next);
        Ok(())
    }

    fn check(&self, current: &FinalizedFeatures, u: &FeatureUpdate) -> Result<(), FeatureError> {
        let invalid = |reason: &str| {
            FeatureError::InvalidUpdateVersion(format!(
                "Invalid update version {} for feature {}. {reason}",
                u.level, u.name
            ))
        };
        if u.upgrade_type == UpgradeType::Unknown {
            return Err(invalid(
                "The controller does not support the given upgrade type.",
            ));
        }
        if u.level < 0 {
            return Err(invalid("A feature version cannot be less than 0."));
        }
        let Some(spec) = supported(&u.name) else {
            return Err(invalid(&format!(
                "Local controller {} does not support this feature.",
                self.node_id
            )));
        };
        if !(spec.min_version..=spec.max_version).contains(&u.level) {
            return Err(invalid(&format!(
                "Local controller {} only supports versions {}-{}",
                self.node_id, spec.min_version, spec.max_version
            )));
        }
        let level = current.level(&u.name);
        if u.level < level && u.upgrade_type == UpgradeType::Upgrade {
            return Err(invalid(
                "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.",
            ));
        }
        if u.level > level && u.upgrade_type != UpgradeType::Upgrade {
            return Err(invalid("Can't downgrade to a newer version."));
        }
        if u.name == METADATA_VERSION && u.level < level && u.level < METADATA_VERSION_SAFE_FLOOR {
            let reason = if u.upgrade_type == UpgradeType::UnsafeDowngrade {
                "Unsafe metadata downgrade is not supported in this version."
            } else {
                "Refusing to perform the requested downgrade because it might delete metadata information."
            };
            return Err(FeatureError::InvalidUpdateVersion(format!(
                "Invalid metadata.version {}. {reason}",
                u.level
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(name: &str, level: i16, t: UpgradeType) -> FeatureUpdate {
        FeatureUpdate {
            name: name.to_string(),
            level,
            upgrade_type: t,
        }
    }

    #[test]
    fn rules_and_persistence() {
        let dir = tempfile::tempdir().unwrap();
        let open_store = || {
            Arc::new(
                StateStore::open(dir.path(), crate::storage::kv::StateStoreConfig::default())
                    .unwrap(),
            )
        };
        let s = open_store();
        let f = Features::open(1, Some(Arc::clone(&s))).unwrap();
        assert_eq!(f.finalized().epoch, 1);
        assert_eq!(f.level(TRANSACTION_VERSION), 2);
        assert_eq!(f.level("kraft.version"), 0);
        let refused = |u: FeatureUpdate| f.update(&[u], false).unwrap_err().to_string();
        assert!(
            refused(update(TRANSACTION_VERSION, 1, UpgradeType::Upgrade))
                .contains("without setting the upgrade type")
        );
        assert!(
            refused(update(TRANSACTION_VERSION, 3, UpgradeType::Upgrade))
                .contains("only supports versions 0-2")
        );
        assert!(refused(update("foo.version", 1, UpgradeType::Upgrade))
            .contains("does not support this feature"));
        assert!(
            refused(update(TRANSACTION_VERSION, -1, UpgradeType::SafeDowngrade))
                .contains("cannot be less than 0")
        );
        assert!(
            refused(update(TRANSACTION_VERSION, 1, UpgradeType::Unknown)).contains("upgrade type")
        );
        assert!(
            refused(update(METADATA_VERSION, 22, UpgradeType::SafeDowngrade))
                .contains("might delete metadata")
        );
        assert!(
            refused(update(METADATA_VERSION, 22, UpgradeType::UnsafeDowngrade))
                .contains("Unsafe metadata downgrade")
        );
        f.update(
            &[update(TRANSACTION_VERSION, 1, UpgradeType::SafeDowngrade)],
            true,
        )
        .unwrap();
        assert_eq!(f.finalized().epoch, 1);
        f.update(
            &[update(TRANSACTION_VERSION, 0, UpgradeType::SafeDowngrade)],
            false,
        )
        .unwrap();
        assert_eq!(f.level(TRANSACTION_VERSION), 0);
        assert!(!f.finalized().levels.contains_key(TRANSACTION_VERSION));
        assert_eq!(f.finalized().epoch, 2);
        assert!(
            refused(update(TRANSACTION_VERSION, 1, UpgradeType::SafeDowngrade))
                .contains("newer version")
        );
        f.update(
            &[update(TRANSACTION_VERSION, 1, UpgradeType::Upgrade)],
            false,
        )
        .unwrap();
        drop(f);
        s.close().unwrap();
        drop(s);
        let f = Features::open(1, Some(open_store())).unwrap();
        assert_eq!(f.level(TRANSACTION_VERSION), 1);
        assert_eq!(f.finalized().epoch, 3);
    }
}
