//! The topic registry: names, stable topic ids, partition counts and per-topic config
//! overrides, durable across restarts. Every change is durable before it becomes visible.
//!
//! The broker keeps it in the keyed state store (one key per topic, `topic/<id>`, whose
//! value is `partitions name` then one `name=value` line per config override). A registry
//! can also live in a small checksummed file under the data directory (`topics.meta`: one
//! line per topic, `id partitions name`, then one line per override, `@ id name=value`);
//! that is where earlier versions kept it, and opening the registry in the state store
//! migrates such a file once (it is renamed to `topics.meta.migrated`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use super::error::{BrokerError, Result};
use super::meta_file;
use crate::storage::kv::{StateStore, WriteBatch};

/// Longest legal topic name (Kafka's limit).
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// File name of the registry inside the data directory.
pub const TOPICS_FILE: &str = "topics.meta";

/// Key prefix of the topics in the state store.
pub const TOPIC_KEY_PREFIX: &str = "topic/";

/// Where the registry is kept.
enum Backing {
    /// A checksummed file rewritten on every change.
    File(PathBuf),
    /// The keyed state store.
    Store(Arc<StateStore>),
}

/// One topic's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic's name.
    pub name: String,
    /// The topic id, fixed at creation.
    pub id: Uuid,
    /// Number of partitions (0..partitions).
    pub partitions: i32,
    /// Topic config overrides (name → value); unset configs take the broker's defaults.
    pub configs: BTreeMap<String, String>,
}

/// Checks a topic name against Kafka's rules: 1–249 characters from `[a-zA-Z0-9._-]`,
/// and neither `.` nor `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(BrokerError::InvalidTopic {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not allowed");
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return bad("longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("only ASCII letters, digits, `.`, `_` and `-` are allowed");
    }
    Ok(())
}

#[derive(Default)]
struct Topics {
    by_name: HashMap<String, Arc<TopicMetadata>>,
    by_id: HashMap<Uuid, Arc<TopicMetadata>>,
}

/// All topics of the broker.
pub struct TopicRegistry {
    backing: Backing,
    topics: RwLock<Topics>,
    /// Serialises creations so the file is written in the order of the map's changes.
    write: Mutex<()>,
}

impl TopicRegistry {
    /// Opens the registry kept in `data_dir`, empty if none was written yet.
    pub fn open(data_dir: &Path) -> Result<TopicRegistry> {
        let path = data_dir.join(TOPICS_FILE);
        let topics = read_file(&path)?;
        Ok(TopicRegistry {
            backing: Backing::File(path),
            topics: RwLock::new(topics),
            write: Mutex::new(()),
        })
    }

    /// Opens the registry kept in `store`, first moving into it the topics of a
    /// `topics.meta` file left in `data_dir` by an earlier version.
    pub fn open_in_store(data_dir: &Path, store: Arc<StateStore>) -> Result<TopicRegistry> {
        let path = data_dir.join(TOPICS_FILE);
        if path.exists() {
            let old = read_file(&path)?;
            let mut batch = WriteBatch::new();
            for t in old.by_id.values() {
                batch.put(store_key(&t.id), store_value(t));
            }
            store.write(&batch)?;
            std::fs::rename(&path, path.with_extension("meta.migrated"))?;
            tracing::info!(
                topics = old.by_id.len(),
                "moved the topic registry into the state store"
            );
        }
        let mut topics = Topics::default();
        for item in store.scan_prefix(TOPIC_KEY_PREFIX)? {
            let (key, value) = item?;
            let t =
                parse_store_entry(&key, &value).ok_or_else(|| BrokerError::CorruptMetadata {
                    path: store.dir().display().to_string(),
                    reason: format!("bad topic entry `{}`", String::from_utf8_lossy(&key)),
                })?;
            let t = Arc::new(t);
            topics.by_id.insert(t.id, t.clone());
            topics.by_name.insert(t.name.clone(), t);
        }
        Ok(TopicRegistry {
            backing: Backing::Store(store),
            topics: RwLock::new(topics),
            write: Mutex::new(()),
        })
    }
}

fn store_key(id: &Uuid) -> String {
    format!("{TOPIC_KEY_PREFIX}{id}")
}

fn store_value(t: &TopicMetadata) -> String {
    let mut v = format!("{} {}\n", t.partitions, t.name);
    for (k, val) in &t.configs {
        v.push_str(&format!("{k}={val}\n"));
    }
    v
}

fn parse_store_entry(key: &[u8], value: &[u8]) -> Option<TopicMetadata> {
    let key = std::str::from_utf8(key).ok()?;
    let id = Uuid::parse_str(key.strip_prefix(TOPIC_KEY_PREFIX)?).ok()?;
    let value = std::str::from_utf8(value).ok()?;
    let mut lines = value.lines();
    let (partitions, name) = lines.next()?.split_once(' ')?;
    validate_topic_name(name).ok()?;
    let mut configs = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=')?;
        configs.insert(k.to_string(), v.to_string());
    }
    Some(TopicMetadata {
        name: name.to_string(),
        id,
        partitions: partitions.parse().ok()?,
        configs,
    })
}

fn read_file(path: &Path) -> Result<Topics> {
    let mut topics = Topics::default();
    if let Some(body) = meta_file::read_checked(path)? {
        let corrupt = |line: &str| BrokerError::CorruptMetadata {
            path: path.display().to_string(),
            reason: format!("bad topic line `{line}`"),
        };
        let mut parsed: Vec<TopicMetadata> = Vec::new();
        for line in body.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("@ ") {
                let (id, name, value) = parse_config_line(rest).ok_or_else(|| corrupt(line))?;
                let t = parsed
                    .iter_mut()
                    .rev()
                    .find(|t| t.id == id)
                    .ok_or_else(|| corrupt(line))?;
                t.configs.insert(name, value);
                continue;
            }
            parsed.push(parse_line(line).ok_or_else(|| corrupt(line))?);
        }
        for t in parsed {
            let t = Arc::new(t);
            topics.by_id.insert(t.id, t.clone());
            topics.by_name.insert(t.name.clone(), t);
        }
    }
    Ok(topics)
}

impl TopicRegistry {
    /// The topic called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<TopicMetadata>> {
        self.topics.read().by_name.get(name).cloned()
    }

    /// The topic with id `id`.
    pub fn get_by_id(&self, id: &Uuid) -> Option<Arc<TopicMetadata>> {
        self.topics.read().by_id.get(id).cloned()
    }

    /// Every topic, sorted by name.
    pub fn list(&self) -> Vec<Arc<TopicMetadata>> {
        let mut all: Vec<_> = self.topics.read().by_name.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Registers a topic durably unless it exists. Returns the topic and whether this call
    /// created it. `before_commit` runs (under the creation lock) before the registry file
    /// is written, e.g. to create the partition logs.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        before_commit: impl FnOnce(&TopicMetadata) -> Result<()>,
    ) -> Result<(Arc<TopicMetadata>, bool)> {
        self.create_with_configs(name, partitions, BTreeMap::new(), before_commit)
    }

    /// Like [`TopicRegistry::create`], with config overrides (already validated).
    pub fn create_with_configs(
        &self,
        name: &str,
        partitions: i32,
        configs: BTreeMap<String, String>,
        before_commit: impl FnOnce(&TopicMetadata) -> Result<()>,
    ) -> Result<(Arc<TopicMetadata>, bool)> {
        validate_topic_name(name)?;
        if partitions <= 0 {
            return Err(BrokerError::InvalidPartitions(partitions));
        }
        let _guard = self.write.lock();
        if let Some(t) = self.get(name) {
            return Ok((t, false));
        }
        let topic = Arc::new(TopicMetadata {
            name: name.to_string(),
            id: Uuid::new_v4(),
            partitions,
            configs,
        });
        before_commit(&topic)?;
        self.replace(Some(topic.clone()), None)?;
        Ok((topic, true))
    }

    /// Writes the registry with `put` added or replacing the topic of the same id, and the
    /// topic `remove` left out; then makes the change visible. Callers hold `write`.
    fn replace(&self, put: Option<Arc<TopicMetadata>>, remove: Option<Uuid>) -> Result<()> {
        match &self.backing {
            Backing::File(path) => self.rewrite_file(path, put.as_ref(), remove)?,
            Backing::Store(store) => {
                let mut batch = WriteBatch::new();
                if let Some(id) = remove {
                    batch.delete(store_key(&id));
                }
                if let Some(t) = &put {
                    batch.put(store_key(&t.id), store_value(t));
                }
                store.write(&batch)?;
            }
        }
        let mut topics = self.topics.write();
        if let Some(id) = remove {
            if let Some(t) = topics.by_id.remove(&id) {
                topics.by_name.remove(&t.name);
            }
        }
        if let Some(t) = put {
            topics.by_id.insert(t.id, t.clone());
            topics.by_name.insert(t.name.clone(), t);
        }
        Ok(())
    }

    fn rewrite_file(
        &self,
        path: &Path,
        put: Option<&Arc<TopicMetadata>>,
        remove: Option<Uuid>,
    ) -> Result<()> {
        let mut all: Vec<Arc<TopicMetadata>> = self
            .list()
            .into_iter()
            .filter(|t| Some(t.id) != remove && put.as_ref().map(|p| p.id) != Some(t.id))
            .collect();
        all.extend(put.cloned());
        let mut body = String::new();
        for t in &all {
            body.push_str(&format!("{} {} {}\n", t.id, t.partitions, t.name));
            for (k, v) in &t.configs {
                body.push_str(&format!("@ {} {}={}\n", t.id, k, v));
            }
        }
        meta_file::write_atomic(path, &body)
    }

    /// Removes the topic called `name` durably; `after_commit` runs (under the registry's
    /// lock) once it is gone from the file, e.g. to delete its logs.
    pub fn delete(
        &self,
        name: &str,
        after_commit: impl FnOnce(&TopicMetadata) -> Result<()>,
    ) -> Result<Arc<TopicMetadata>> {
        let _guard = self.write.lock();
        let t = self
            .get(name)
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))?;
        self.replace(None, Some(t.id))?;
        after_commit(&t)?;
        Ok(t)
    }

    /// Raises the partition count of `name` to `count`; `before_commit` runs first (under
    /// the lock) with the new metadata, e.g. to create the new partitions' logs.
    pub fn set_partitions(
        &self,
        name: &str,
        count: i32,
        before_commit: impl FnOnce(&TopicMetadata) -> Result<()>,
    ) -> Result<Arc<TopicMetadata>> {
        let _guard = self.write.lock();
        let t = self
            .get(name)
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))?;
        if count <= t.partitions {
            return Err(BrokerError::InvalidPartitions(count));
        }
        let updated = Arc::new(TopicMetadata {
            partitions: count,
            ..t.as_ref().clone()
        });
        before_commit(&updated)?;
        self.replace(Some(updated.clone()), None)?;
        Ok(updated)
    }

    /// Replaces the config overrides of `name`; `after_commit` runs (under the lock) with
    /// the new metadata, e.g. to apply the configs to live logs.
    pub fn set_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
        after_commit: impl FnOnce(&TopicMetadata),
    ) -> Result<Arc<TopicMetadata>> {
        let _guard = self.write.lock();
        let t = self
            .get(name)
            .ok_or_else(|| BrokerError::UnknownTopic(name.to_string()))?;
        let updated = Arc::new(TopicMetadata {
            configs,
            ..t.as_ref().clone()
        });
        self.replace(Some(updated.clone()), None)?;
        after_commit(&updated);
        Ok(updated)
    }
}

fn parse_config_line(rest: &str) -> Option<(Uuid, String, String)> {
    let (id, kv) = rest.split_once(' ')?;
    let id = Uuid::parse_str(id).ok()?;
    let (k, v) = kv.split_once('=')?;
    Some((id, k.to_string(), v.to_string()))
}

fn parse_line(line: &str) -> Option<TopicMetadata> {
    let mut parts = line.splitn(3, ' ');
    let id = Uuid::parse_str(parts.next()?).ok()?;
    let partitions = parts.next()?.parse().ok()?;
    let name = parts.next()?.to_string();
    validate_topic_name(&name).ok()?;
    Some(TopicMetadata {
        name,
        id,
        partitions,
        configs: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_name_rules() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        assert!(validate_topic_name(&"a".repeat(249)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü", &"a".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn topics_survive_reopen_with_same_ids() {
        let dir = tempfile::tempdir().unwrap();
        let reg = TopicRegistry::open(dir.path()).unwrap();
        let (a, created) = reg.create("a", 3, |_| Ok(())).unwrap();
        assert!(created);
        let (a2, created) = reg.create("a", 5, |_| Ok(())).unwrap();
        assert!(!created);
        assert_eq!(a, a2);
        let (b, _) = reg.create("b", 1, |_| Ok(())).unwrap();
        assert!(reg.create("bad name", 1, |_| Ok(())).is_err());
        assert!(reg.create("c", 0, |_| Ok(())).is_err());
        drop(reg);
        let reg = TopicRegistry::open(dir.path()).unwrap();
        assert_eq!(reg.get("a").unwrap().as_ref(), a.as_ref());
        assert_eq!(reg.get_by_id(&b.id).unwrap().as_ref(), b.as_ref());
        assert_eq!(reg.list().len(), 2);
    }

    #[test]
    fn failed_before_commit_registers_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let reg = TopicRegistry::open(dir.path()).unwrap();
        let r = reg.create("a", 1, |_| Err(BrokerError::InvalidPartitions(0)));
        assert!(r.is_err());
        assert!(reg.get("a").is_none());
    }

    #[test]
    fn a_topics_file_is_migrated_into_the_state_store() {
        let dir = tempfile::tempdir().unwrap();
        let reg = TopicRegistry::open(dir.path()).unwrap();
        let mut configs = BTreeMap::new();
        configs.insert("retention.ms".to_string(), "5".to_string());
        let (a, _) = reg
            .create_with_configs("a", 2, configs.clone(), |_| Ok(()))
            .unwrap();
        drop(reg);
        let store_dir = dir.path().join("state");
        let store = Arc::new(
            StateStore::open(&store_dir, crate::storage::kv::StateStoreConfig::default()).unwrap(),
        );
        let reg = TopicRegistry::open_in_store(dir.path(), store.clone()).unwrap();
        assert_eq!(reg.get("a").unwrap().as_ref(), a.as_ref());
        assert!(!dir.path().join(TOPICS_FILE).exists());
        let (b, _) = reg.create("b", 1, |_| Ok(())).unwrap();
        reg.set_partitions("a", 3, |_| Ok(())).unwrap();
        reg.delete("b", |_| Ok(())).unwrap();
        let (c, _) = reg.create("c", 1, |_| Ok(())).unwrap();
        drop(reg);
        store.close().unwrap();
        drop(store);
        let store = Arc::new(
            StateStore::open(&store_dir, crate::storage::kv::StateStoreConfig::default()).unwrap(),
        );
        let reg = TopicRegistry::open_in_store(dir.path(), store).unwrap();
        let a2 = reg.get("a").unwrap();
        assert_eq!((a2.id, a2.partitions, &a2.configs), (a.id, 3, &configs));
        assert!(reg.get_by_id(&b.id).is_none());
        assert_eq!(reg.get("c").unwrap().id, c.id);
        assert_eq!(reg.list().len(), 2);
    }

    #[test]
    fn configs_partitions_and_deletion_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let reg = TopicRegistry::open(dir.path()).unwrap();
        let mut configs = BTreeMap::new();
        configs.insert("cleanup.policy".to_string(), "compact,delete".to_string());
        let (a, _) = reg
            .create_with_configs("a", 1, configs.clone(), |_| Ok(()))
            .unwrap();
        reg.create("b", 1, |_| Ok(())).unwrap();
        reg.set_partitions("a", 4, |_| Ok(())).unwrap();
        assert!(reg.set_partitions("a", 2, |_| Ok(())).is_err());
        configs.insert("retention.ms".to_string(), "100".to_string());
        reg.set_configs("a", configs.clone(), |_| {}).unwrap();
        reg.delete("b", |_| Ok(())).unwrap();
        assert!(reg.delete("b", |_| Ok(())).is_err());
        drop(reg);
        let reg = TopicRegistry::open(dir.path()).unwrap();
        let a2 = reg.get("a").unwrap();
        assert_eq!(a2.id, a.id);
        assert_eq!(a2.partitions, 4);
        assert_eq!(a2.configs, configs);
        assert!(reg.get("b").is_none());
        assert_eq!(reg.list().len(), 1);
    }
}
