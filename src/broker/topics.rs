//! The topic registry: names, stable topic ids and partition counts, durable across
//! restarts. Kept for now in a small checksummed file under the data directory; callers
//! only see this API, so the backing store can move to the state store later.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use super::error::{BrokerError, Result};
use super::meta_file;

/// Longest legal topic name (Kafka's limit).
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// File name of the registry inside the data directory.
pub const TOPICS_FILE: &str = "topics.meta";

/// One topic's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    /// The topic's name.
    pub name: String,
    /// The topic id, fixed at creation.
    pub id: Uuid,
    /// Number of partitions (0..partitions).
    pub partitions: i32,
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
    path: PathBuf,
    topics: RwLock<Topics>,
    /// Serialises creations so the file is written in the order of the map's changes.
    write: Mutex<()>,
}

impl TopicRegistry {
    /// Opens the registry kept in `data_dir`, empty if none was written yet.
    pub fn open(data_dir: &Path) -> Result<TopicRegistry> {
        let path = data_dir.join(TOPICS_FILE);
        let mut topics = Topics::default();
        if let Some(body) = meta_file::read_checked(&path)? {
            for line in body.lines().filter(|l| !l.is_empty()) {
                let t = parse_line(line).ok_or_else(|| BrokerError::CorruptMetadata {
                    path: path.display().to_string(),
                    reason: format!("bad topic line `{line}`"),
                })?;
                let t = Arc::new(t);
                topics.by_id.insert(t.id, t.clone());
                topics.by_name.insert(t.name.clone(), t);
            }
        }
        Ok(TopicRegistry {
            path,
            topics: RwLock::new(topics),
            write: Mutex::new(()),
        })
    }

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
        });
        before_commit(&topic)?;
        let mut body = String::new();
        for t in self.list().iter().chain(std::iter::once(&topic)) {
            body.push_str(&format!("{} {} {}\n", t.id, t.partitions, t.name));
        }
        meta_file::write_atomic(&self.path, &body)?;
        let mut topics = self.topics.write();
        topics.by_id.insert(topic.id, topic.clone());
        topics.by_name.insert(topic.name.clone(), topic.clone());
        Ok((topic, true))
    }
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
}
