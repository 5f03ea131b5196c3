//! Committed offsets (OffsetCommit, OffsetFetch, OffsetDelete, retention) and the
//! group-listing requests (ListGroups, DescribeGroups, DeleteGroups).

use std::collections::{BTreeMap, BTreeSet};

use tokio::time::Instant;

use super::classic::check_instance;
use super::codec::{self, OffsetRecord};
use super::state::{ClassicGroup, ClassicState, Group, GroupKind, State};
use super::types::*;
use super::{GroupError, Inner, Result};
use crate::storage::kv::WriteBatch;

fn all_partitions(topics: &[CommitTopic], error: &GroupError) -> PartitionResults {
    topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.partitions
                    .iter()
                    .map(|p| (p.partition, Some(error.clone())))
                    .collect(),
            )
        })
        .collect()
}

impl Group {
    /// Topics the group's members subscribe to (classic: when the subscriptions parse).
    fn subscribed_topics(&self) -> BTreeSet<String> {
        match &self.kind {
            GroupKind::Classic(g) if g.state != ClassicState::Empty => {
                g.subscribed_topics().unwrap_or_default()
            }
            GroupKind::Classic(_) => BTreeSet::new(),
            GroupKind::Consumer(g) => g
                .members
                .values()
                .flat_map(|m| m.subscribed_topic_names.iter().cloned())
                // Topics resolved from regular expressions too.
                .chain(g.topic_names.values().cloned())
                .collect(),
        }
    }
}

impl Inner {
    /// Checks that the committer may commit for the group (creating a simple group for
    /// a generation -1 commit to an unknown group).
    fn validate_commit(&self, st: &mut State, req: &OffsetCommitRequest) -> Result<()> {
        if st.closed {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        let generation = req.generation_id_or_member_epoch;
        let now_ms = self.now_ms();
        let Some(group) = st.groups.get_mut(&req.group_id) else {
            if generation < 0 {
                st.groups.insert(
                    req.group_id.clone(),
                    Group {
                        kind: GroupKind::Classic(ClassicGroup::new(now_ms)),
                        offsets: BTreeMap::new(),
                    },
                );
                st.dirty.insert(req.group_id.clone());
                return Ok(());
            }
            return Err(GroupError::IllegalGeneration);
        };
        match &mut group.kind {
            GroupKind::Classic(g) => {
                if g.state == ClassicState::Dead {
                    return Err(GroupError::CoordinatorNotAvailable);
                }
                if generation < 0 && g.state == ClassicState::Empty {
                    return Ok(());
                }
                check_instance(g, &req.member_id, req.group_instance_id.as_deref())?;
                if g.state == ClassicState::CompletingRebalance {
                    return Err(GroupError::RebalanceInProgress);
                }
                let group_generation = g.generation;
                let m = g
                    .members
                    .get_mut(&req.member_id)
                    .ok_or(GroupError::UnknownMemberId)?;
                if generation != group_generation {
                    return Err(GroupError::IllegalGeneration);
                }
                m.session_deadline = Instant::now() + m.session_timeout;
                Ok(())
            }
            GroupKind::Consumer(g) => {
                if generation < 0 && req.member_id.is_empty() && g.members.is_empty() {
                    return Ok(());
                }
                let m = g
                    .members
                    .get(&req.member_id)
                    .ok_or(GroupError::UnknownMemberId)?;
                if generation != m.member_epoch {
                    return Err(GroupError::StaleMemberEpoch);
                }
                Ok(())
            }
        }
    }

    pub(crate) fn commit_offsets(&self, req: OffsetCommitRequest) -> PartitionResults {
        // Commits are ordered by the commit lock; the group lock is released while the
        // store syncs, so heartbeats and joins never wait for a disk.
        let _commit = self.commit_lock.lock();
        let mut st = self.state.lock();
        let checked = self.validate_commit(&mut st, &req);
        self.flush_dirty(&mut st);
        if let Err(e) = checked {
            return all_partitions(&req.topics, &e);
        }
        let now_ms = self.now_ms();
        let expire = if req.retention_time_ms > 0 {
            now_ms.saturating_add(req.retention_time_ms)
        } else {
            -1
        };
        let mut batch = WriteBatch::new();
        let mut accepted: Vec<(String, i32, OffsetRecord)> = Vec::new();
        let mut results: PartitionResults = Vec::with_capacity(req.topics.len());
        for t in &req.topics {
            let mut parts = Vec::with_capacity(t.partitions.len());
            for p in &t.partitions {
                let too_large = p
                    .metadata
                    .as_ref()
                    .is_some_and(|m| m.len() > self.config.offset_metadata_max_bytes);
                if too_large {
                    parts.push((p.partition, Some(GroupError::OffsetMetadataTooLarge)));
                    continue;
                }
                let key = match codec::offset_key(&req.group_id, &t.name, p.partition) {
                    Ok(k) => k,
                    Err(e) => {
                        parts.push((p.partition, Some(e)));
                        continue;
                    }
                };
                let rec = OffsetRecord {
                    offset: p.offset,
                    leader_epoch: p.leader_epoch,
                    metadata: p.metadata.clone(),
                    commit_timestamp_ms: now_ms,
                    expire_timestamp_ms: expire,
                };
                batch.put(key, rec.encode());
                accepted.push((t.name.clone(), p.partition, rec));
                parts.push((p.partition, None));
            }
            results.push((t.name.clone(), parts));
        }
        if batch.is_empty() {
            return results;
        }
        drop(st);
        if let Err(e) = self.store.write(&batch) {
            tracing::error!(group = req.group_id, error = %e, "offset commit failed");
            let err = GroupError::from(e);
            for (_, parts) in &mut results {
                for (_, r) in parts.iter_mut() {
                    if r.is_none() {
                        *r = Some(err.clone());
                    }
                }
            }
            return results;
        }
        let mut st = self.state.lock();
        if let Some(group) = st.groups.get_mut(&req.group_id) {
            for (topic, partition, rec) in accepted {
                group
                    .offsets
                    .entry(topic)
                    .or_default()
                    .insert(partition, rec);
            }
        }
        results
    }

    pub(crate) fn fetch_offsets(&self, req: OffsetFetchRequest) -> OffsetFetchResponse {
        let st = self.state.lock();
        let group = st.groups.get(&req.group_id);
        if let (
            Some(member_id),
            Some(Group {
                kind: GroupKind::Consumer(g),
                ..
            }),
        ) = (&req.member_id, group)
        {
            if !member_id.is_empty() || req.member_epoch >= 0 {
                let error = match g.members.get(member_id) {
                    None => Some(GroupError::UnknownMemberId),
                    Some(m) if m.member_epoch != req.member_epoch => {
                        Some(GroupError::StaleMemberEpoch)
                    }
                    Some(_) => None,
                };
                if let Some(e) = error {
                    return OffsetFetchResponse {
                        error: Some(e),
                        topics: Vec::new(),
                    };
                }
            }
        }
        let fetched = |p: i32, rec: Option<&OffsetRecord>| match rec {
            Some(r) => FetchedPartition {
                partition: p,
                offset: r.offset,
                leader_epoch: r.leader_epoch,
                metadata: r.metadata.clone().unwrap_or_default(),
                error: None,
            },
            None => FetchedPartition {
                partition: p,
                offset: -1,
                leader_epoch: -1,
                metadata: String::new(),
                error: None,
            },
        };
        let topics = match &req.topics {
            None => group
                .map(|g| {
                    g.offsets
                        .iter()
                        .map(|(name, parts)| FetchedTopic {
                            name: name.clone(),
                            partitions: parts.iter().map(|(p, r)| fetched(*p, Some(r))).collect(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Some(wanted) => wanted
                .iter()
                .map(|t| {
                    let stored = group.and_then(|g| g.offsets.get(&t.name));
                    FetchedTopic {
                        name: t.name.clone(),
                        partitions: t
                            .partitions
                            .iter()
                            .map(|p| fetched(*p, stored.and_then(|s| s.get(p))))
                            .collect(),
                    }
                })
                .collect(),
        };
        OffsetFetchResponse {
            error: None,
            topics,
        }
    }

    pub(crate) fn delete_offsets(
        &self,
        group_id: &str,
        topics: &[TopicPartitionsRequest],
    ) -> Result<PartitionResults> {
        let _commit = self.commit_lock.lock();
        let mut st = self.state.lock();
        let group = st
            .groups
            .get_mut(group_id)
            .ok_or(GroupError::GroupIdNotFound)?;
        if let GroupKind::Classic(g) = &group.kind {
            if g.state == ClassicState::Dead {
                return Err(GroupError::GroupIdNotFound);
            }
            if g.state != ClassicState::Empty && g.protocol_type.as_deref() != Some("consumer") {
                return Err(GroupError::NonEmptyGroup);
            }
        }
        let subscribed = group.subscribed_topics();
        let mut batch = WriteBatch::new();
        let mut results = Vec::with_capacity(topics.len());
        let mut removed = Vec::new();
        for t in topics {
            let mut parts = Vec::with_capacity(t.partitions.len());
            for &p in &t.partitions {
                if subscribed.contains(&t.name) {
                    parts.push((p, Some(GroupError::GroupSubscribedToTopic)));
                    continue;
                }
                match codec::offset_key(group_id, &t.name, p) {
                    Ok(k) => {
                        batch.delete(k);
                        removed.push((t.name.clone(), p));
                        parts.push((p, None));
                    }
                    Err(e) => parts.push((p, Some(e))),
                }
            }
            results.push((t.name.clone(), parts));
        }
        if !batch.is_empty() {
            self.store.write(&batch)?;
        }
        for (topic, p) in removed {
            if let Some(parts) = group.offsets.get_mut(&topic) {
                parts.remove(&p);
                if parts.is_empty() {
                    group.offsets.remove(&topic);
                }
            }
        }
        Ok(results)
    }

    pub(crate) fn list_groups(&self, states: &[String], types: &[String]) -> Vec<ListedGroup> {
        let st = self.state.lock();
        let mut out: Vec<ListedGroup> = st
            .groups
            .iter()
            .map(|(id, g)| ListedGroup {
                group_id: id.clone(),
                protocol_type: match &g.kind {
                    GroupKind::Classic(c) => c.protocol_type.clone().unwrap_or_default(),
                    GroupKind::Consumer(_) => "consumer".into(),
                },
                group_state: g.state_name().to_string(),
                group_type: g.group_type(),
            })
            .filter(|l| {
                states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(&l.group_state))
            })
            .filter(|l| {
                types.is_empty()
                    || types
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(l.group_type.name()))
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    pub(crate) fn describe_groups(&self, ids: &[String]) -> Vec<DescribedGroup> {
        let st = self.state.lock();
        ids.iter()
            .map(|id| {
                let dead = |error| DescribedGroup {
                    group_id: id.clone(),
                    error,
                    group_state: ClassicState::Dead.name().into(),
                    protocol_type: String::new(),
                    protocol_data: String::new(),
                    members: Vec::new(),
                };
                // Unknown, or not a classic group: GROUP_ID_NOT_FOUND, which DescribeGroups
                // before v6 leaves out (the group is then just Dead), as Kafka does.
                match st.groups.get(id).map(|g| &g.kind) {
                    None | Some(GroupKind::Consumer(_)) => dead(Some(GroupError::GroupIdNotFound)),
                    Some(GroupKind::Classic(g)) => {
                        let stable = g.state == ClassicState::Stable;
                        let protocol = g.protocol_name.clone().unwrap_or_default();
                        let mut members: Vec<_> = g.members.values().collect();
                        members.sort_by_key(|m| m.seq);
                        DescribedGroup {
                            group_id: id.clone(),
                            error: None,
                            group_state: g.state.name().into(),
                            protocol_type: g.protocol_type.clone().unwrap_or_default(),
                            protocol_data: if stable {
                                protocol.clone()
                            } else {
                                String::new()
                            },
                            members: members
                                .into_iter()
                                .map(|m| DescribedMember {
                                    member_id: m.member_id.clone(),
                                    group_instance_id: m.group_instance_id.clone(),
                                    client_id: m.client_id.clone(),
                                    client_host: m.client_host.clone(),
                                    member_metadata: if stable {
                                        m.metadata_for(&protocol)
                                    } else {
                                        Default::default()
                                    },
                                    member_assignment: if stable {
                                        m.assignment.clone()
                                    } else {
                                        Default::default()
                                    },
                                })
                                .collect(),
                        }
                    }
                }
            })
            .collect()
    }

    pub(crate) fn delete_groups(&self, ids: &[String]) -> Vec<(String, Option<GroupError>)> {
        let _commit = self.commit_lock.lock();
        let mut st = self.state.lock();
        ids.iter()
            .map(|id| {
                let error = (|| {
                    let group = st.groups.get(id).ok_or(GroupError::GroupIdNotFound)?;
                    if !group.is_empty_of_members() {
                        return Err(GroupError::NonEmptyGroup);
                    }
                    let mut batch = WriteBatch::new();
                    for (topic, parts) in &group.offsets {
                        for p in parts.keys() {
                            batch.delete(codec::offset_key(id, topic, *p)?);
                        }
                    }
                    batch.delete(codec::group_key(id));
                    self.store.write(&batch)?;
                    if let Some(mut g) = st.groups.remove(id) {
                        if let GroupKind::Classic(c) = &mut g.kind {
                            c.state = ClassicState::Dead;
                        }
                    }
                    st.dirty.remove(id);
                    Ok(())
                })()
                .err();
                (id.clone(), error)
            })
            .collect()
    }

    pub(crate) fn expire_offsets(&self) -> usize {
        let _commit = self.commit_lock.lock();
        let mut st = self.state.lock();
        let now_ms = self.now_ms();
        let retention = self.config.offsets_retention.as_millis() as i64;
        let mut batch = WriteBatch::new();
        let mut expired: Vec<(String, String, i32)> = Vec::new();
        let mut removable = Vec::new();
        for (id, group) in &st.groups {
            // When the whole group's offsets age from one moment (it became empty).
            let empty_since = match &group.kind {
                GroupKind::Classic(g) if g.state == ClassicState::Empty => {
                    g.protocol_type.as_ref().map(|_| g.state_since_ms)
                }
                GroupKind::Consumer(g) if g.members.is_empty() => Some(g.state_since_ms),
                _ => None,
            };
            let has_members = !group.is_empty_of_members();
            let subscribed = if has_members {
                group.subscribed_topics()
            } else {
                BTreeSet::new()
            };
            let stable_classic = matches!(&group.kind, GroupKind::Classic(g) if g.state == ClassicState::Stable && g.subscribed_topics().is_some());
            let consumer = matches!(group.kind, GroupKind::Consumer(_));
            for (topic, parts) in &group.offsets {
                for (p, rec) in parts {
                    let explicit =
                        rec.expire_timestamp_ms >= 0 && now_ms >= rec.expire_timestamp_ms;
                    let by_base = if !has_members {
                        let base = empty_since.unwrap_or(rec.commit_timestamp_ms);
                        base.saturating_add(retention) <= now_ms
                    } else if (stable_classic || consumer) && !subscribed.contains(topic) {
                        rec.commit_timestamp_ms.saturating_add(retention) <= now_ms
                    } else {
                        false
                    };
                    if explicit || by_base {
                        if let Ok(k) = codec::offset_key(id, topic, *p) {
                            batch.delete(k);
                            expired.push((id.clone(), topic.clone(), *p));
                        }
                    }
                }
            }
        }
        if !batch.is_empty() {
            if let Err(e) = self.store.write(&batch) {
                tracing::error!(error = %e, "offset expiry failed");
                return 0;
            }
        }
        for (id, topic, p) in &expired {
            if let Some(g) = st.groups.get_mut(id) {
                if let Some(parts) = g.offsets.get_mut(topic) {
                    parts.remove(p);
                    if parts.is_empty() {
                        g.offsets.remove(topic);
                    }
                }
            }
        }
        for (id, group) in &st.groups {
            let idle = match &group.kind {
                GroupKind::Classic(g) => g.state == ClassicState::Empty,
                GroupKind::Consumer(g) => g.members.is_empty(),
            };
            if idle && group.offsets.is_empty() {
                removable.push(id.clone());
            }
        }
        for id in removable {
            st.groups.remove(&id);
            st.dirty.insert(id);
        }
        self.flush_dirty(&mut st);
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "expired committed offsets");
        }
        expired.len()
    }
}
