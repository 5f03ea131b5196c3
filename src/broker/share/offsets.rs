//! The share-group offset administration (DescribeShareGroupOffsets,
//! AlterShareGroupOffsets, DeleteShareGroupOffsets): a share-partition's start offset, read,
//! moved, or forgotten.

use std::sync::Arc;

use parking_lot::Mutex;
use uuid::Uuid;

use super::partition::SharePartition;
use super::{codec, state_record, Result, ShareCoordinator, ShareError};
use crate::storage::kv::WriteBatch;

/// The start offset of one share-partition, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStart {
    /// The partition.
    pub partition: i32,
    /// The share-partition start offset (-1: the group has no state for it).
    pub start_offset: i64,
    /// Records from the start offset to the high watermark not yet delivered to completion
    /// (acknowledged or archived); -1 when the group has no state for the partition.
    pub lag: i64,
    /// The partition's error.
    pub error: Option<ShareError>,
}

/// The start offsets of one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStarts {
    /// The topic's name.
    pub topic_name: String,
    /// Its id (nil when it does not exist).
    pub topic_id: Uuid,
    /// Its partitions.
    pub partitions: Vec<PartitionStart>,
}

impl ShareCoordinator {
    fn require_group(&self, group_id: &str, empty: bool) -> Result<()> {
        let groups = self.groups.lock();
        match groups.get(group_id) {
            None => Err(ShareError::GroupIdNotFound(format!(
                "Group {group_id} not found."
            ))),
            Some(g) if empty && !g.members.is_empty() => Err(ShareError::NonEmptyGroup),
            Some(_) => Ok(()),
        }
    }

    /// The share-partition in memory, or as stored, if the group has one.
    fn known_partition(
        &self,
        group_id: &str,
        topic_id: Uuid,
        partition: i32,
    ) -> Result<Option<SharePartition>> {
        let key = (group_id.to_string(), topic_id, partition);
        if let Some(sp) = self.partitions.lock().get(&key) {
            return Ok(Some(sp.lock().clone()));
        }
        match self
            .store
            .get(codec::state_key(group_id, topic_id, partition))?
        {
            None => Ok(None),
            Some(value) => {
                let rec = codec::StateRecord::decode(&value)?;
                Ok(Some(SharePartition::restore(
                    rec.start_offset,
                    rec.state_epoch,
                    &rec.runs,
                )))
            }
        }
    }

    /// A share-partition's lag: the records between its start offset and the end the group
    /// reads to (the high watermark, or the last stable offset under read_committed) that
    /// are not yet acknowledged or archived.
    fn lag(&self, topic: &str, partition: i32, sp: &SharePartition, group_id: &str) -> i64 {
        if sp.start_offset() < 0 {
            return -1;
        }
        let Some(log) = self.replicas.partition(topic, partition) else {
            return -1;
        };
        let offsets = log.offsets();
        let end = if self.configs.share_settings(group_id).read_committed {
            offsets.last_stable_offset
        } else {
            offsets.high_watermark
        };
        (end - sp.start_offset() - sp.completed_in_window()).max(0)
    }

    /// DescribeShareGroupOffsets for one group: the requested partitions' start offsets,
    /// or (`topics` = `None`) those of every partition the group has state for. A group
    /// that is not a share group has none (no error), as in Kafka.
    pub fn describe_offsets(
        &self,
        group_id: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<TopicStarts>> {
        if !self.groups.lock().contains_key(group_id) {
            return Ok(Vec::new());
        }
        let wanted: Vec<(String, Vec<i32>)> = match topics {
            Some(t) => t,
            None => {
                let mut by_topic: std::collections::BTreeMap<String, Vec<i32>> =
                    std::collections::BTreeMap::new();
                for item in self.store.scan_prefix(codec::state_prefix(group_id))? {
                    let (key, _) = item?;
                    let (_, topic_id, partition) = codec::parse_state_key(&key)?;
                    if let Some(name) = self.topic_name(&topic_id) {
                        by_topic.entry(name).or_default().push(partition);
                    }
                }
                by_topic.into_iter().collect()
            }
        };
        let mut out = Vec::with_capacity(wanted.len());
        for (name, partitions) in wanted {
            let topic = self.replicas.topics().get(&name);
            let topic_id = topic.as_ref().map_or(Uuid::nil(), |t| t.id);
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    let known = match &topic {
                        None => Err(ShareError::UnknownTopicOrPartition),
                        Some(t) if p < 0 || p >= t.partitions => {
                            Err(ShareError::UnknownTopicOrPartition)
                        }
                        Some(t) => self.known_partition(group_id, t.id, p),
                    };
                    match known {
                        Ok(sp) => PartitionStart {
                            partition: p,
                            start_offset: sp.as_ref().map_or(-1, |sp| sp.start_offset()),
                            lag: sp.map_or(-1, |sp| self.lag(&name, p, &sp, group_id)),
                            error: None,
                        },
                        Err(e) => PartitionStart {
                            partition: p,
                            start_offset: -1,
                            lag: -1,
                            error: Some(e),
                        },
                    }
                })
                .collect();
            out.push(TopicStarts {
                topic_name: name,
                topic_id,
                partitions,
            });
        }
        Ok(out)
    }

    /// AlterShareGroupOffsets: the group must have no members; each partition's window
    /// starts over at the given offset. A group id no group has becomes an empty share group
    /// (as in Kafka); one of another kind of group (`is_other_group`) is not found.
    pub fn alter_offsets(
        &self,
        group_id: &str,
        topics: Vec<(String, Vec<(i32, i64)>)>,
        is_other_group: bool,
    ) -> Result<Vec<TopicStarts>> {
        {
            let mut groups = self.groups.lock();
            if !groups.contains_key(group_id) && !is_other_group {
                // Created by this change, at epoch 1 (Kafka's first group epoch).
                let group = groups.entry(group_id.to_string()).or_default();
                group.group_epoch = 1;
                group.assignment_epoch = 1;
                self.store_group(group_id, group);
            }
        }
        self.require_group(group_id, true)?;
        let mut out = Vec::with_capacity(topics.len());
        let mut batch = WriteBatch::new();
        let mut staged: Vec<((String, Uuid, i32), SharePartition)> = Vec::new();
        let mut uninitialized: Vec<(String, Uuid, i32)> = Vec::new();
        for (name, partitions) in topics {
            let topic = self.replicas.topics().get(&name);
            let topic_id = topic.as_ref().map_or(Uuid::nil(), |t| t.id);
            let mut results = Vec::with_capacity(partitions.len());
            for (p, offset) in partitions {
                let error = match &topic {
                    None => Some(ShareError::UnknownTopicOrPartition),
                    Some(t) if p < 0 || p >= t.partitions => {
                        Some(ShareError::UnknownTopicOrPartition)
                    }
                    // A negative start offset leaves the share-partition uninitialized: it
                    // is described without a start offset, and the next member starts where
                    // share.auto.offset.reset says (as Kafka 4.4.0 does).
                    Some(t) if offset < 0 => {
                        let mut sp = SharePartition::new(codec::UNINITIALIZED);
                        sp.reset(codec::UNINITIALIZED);
                        batch.put(
                            codec::state_key(group_id, t.id, p),
                            state_record(&sp).encode(),
                        );
                        uninitialized.push((group_id.to_string(), t.id, p));
                        None
                    }
                    Some(t) => match self.known_partition(group_id, t.id, p) {
                        Err(e) => Some(e),
                        Ok(known) => {
                            let mut sp = known.unwrap_or_else(|| SharePartition::new(offset));
                            sp.reset(offset);
                            batch.put(
                                codec::state_key(group_id, t.id, p),
                                state_record(&sp).encode(),
                            );
                            staged.push(((group_id.to_string(), t.id, p), sp));
                            None
                        }
                    },
                };
                results.push(PartitionStart {
                    partition: p,
                    start_offset: offset,
                    lag: -1,
                    error,
                });
            }
            out.push(TopicStarts {
                topic_name: name,
                topic_id,
                partitions: results,
            });
        }
        self.store.write(&batch)?;
        let mut map = self.partitions.lock();
        for (key, sp) in staged {
            map.insert(key, Arc::new(Mutex::new(sp)));
        }
        for key in &uninitialized {
            map.remove(key);
        }
        drop(map);
        self.released.notify_waiters();
        Ok(out)
    }

    /// DeleteShareGroupOffsets: the group must have no members; its state for each topic
    /// is forgotten (the next member starts where `share.auto.offset.reset` says). Answers
    /// each topic's id and error.
    pub fn delete_offsets(
        &self,
        group_id: &str,
        topics: Vec<String>,
    ) -> Result<Vec<(String, Uuid, Option<ShareError>)>> {
        self.require_group(group_id, true)?;
        let mut batch = WriteBatch::new();
        let mut out = Vec::with_capacity(topics.len());
        let mut forgotten: Vec<Uuid> = Vec::new();
        for name in topics {
            let Some(topic) = self.replicas.topics().get(&name) else {
                out.push((name, Uuid::nil(), Some(ShareError::UnknownTopicOrPartition)));
                continue;
            };
            for p in 0..topic.partitions {
                batch.delete(codec::state_key(group_id, topic.id, p));
            }
            forgotten.push(topic.id);
            out.push((name, topic.id, None));
        }
        self.store.write(&batch)?;
        self.partitions
            .lock()
            .retain(|(g, t, _), _| g != group_id || !forgotten.contains(t));
        Ok(out)
    }
}
