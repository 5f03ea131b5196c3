//! The group coordinator's side of transactional offset commits: offsets a transaction
//! committed with TxnOffsetCommit become the group's committed offsets when the transaction
//! commits (the transaction coordinator holds them until then and drops them on abort).

use std::collections::BTreeMap;

use crate::broker::group::classic::check_instance;
use crate::broker::group::codec::{self, OffsetRecord};
use crate::broker::group::state::{ClassicGroup, ClassicState, Group, GroupKind};
use crate::broker::group::GroupCoordinator;
use crate::broker::txn::{OffsetSink, TxnError, TxnOffset};
use crate::storage::kv::WriteBatch;

impl OffsetSink for GroupCoordinator {
    /// KIP-447: a TxnOffsetCommit naming a member (a generation, member id or instance id)
    /// must come from a current member at the group's generation (classic) or the member's
    /// epoch (KIP-848); one naming none of them (older producers) is accepted. A group that
    /// does not exist accepts only the latter.
    fn validate_txn_offset_commit(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        group_instance_id: Option<&str>,
    ) -> Result<(), TxnError> {
        let st = self.inner.state.lock();
        if st.closed {
            return Err(TxnError::CoordinatorNotAvailable);
        }
        let anonymous = generation_id < 0 && member_id.is_empty() && group_instance_id.is_none();
        let Some(group) = st.groups.get(group_id) else {
            return if generation_id < 0 {
                Ok(())
            } else {
                Err(TxnError::IllegalGeneration)
            };
        };
        match &group.kind {
            GroupKind::Classic(g) => {
                if g.state == ClassicState::Dead {
                    return Err(TxnError::CoordinatorNotAvailable);
                }
                if (generation_id < 0 && g.state == ClassicState::Empty) || anonymous {
                    return Ok(());
                }
                check_instance(g, member_id, group_instance_id)
                    .map_err(|_| TxnError::FencedInstanceId)?;
                if !g.members.contains_key(member_id) {
                    return Err(TxnError::UnknownMemberId);
                }
                if generation_id != g.generation {
                    return Err(TxnError::IllegalGeneration);
                }
                Ok(())
            }
            GroupKind::Consumer(g) => {
                if (generation_id < 0 && g.members.is_empty()) || anonymous {
                    return Ok(());
                }
                let m = g.members.get(member_id).ok_or(TxnError::UnknownMemberId)?;
                if generation_id != m.member_epoch {
                    return Err(TxnError::IllegalGeneration);
                }
                Ok(())
            }
        }
    }

    fn commit_txn_offsets(
        &self,
        group_id: &str,
        _producer_id: i64,
        offsets: &[TxnOffset],
    ) -> Result<(), TxnError> {
        let inner = &self.inner;
        let _commit = inner.commit_lock.lock();
        let mut st = inner.state.lock();
        if st.closed {
            return Err(TxnError::CoordinatorNotAvailable);
        }
        if !st.groups.contains_key(group_id) {
            st.groups.insert(
                group_id.to_string(),
                Group {
                    kind: GroupKind::Classic(ClassicGroup::new(inner.now_ms())),
                    offsets: BTreeMap::new(),
                },
            );
            st.dirty.insert(group_id.to_string());
        }
        inner.flush_dirty(&mut st);
        let mut batch = WriteBatch::new();
        let mut records = Vec::with_capacity(offsets.len());
        for o in offsets {
            let key = codec::offset_key(group_id, &o.topic, o.partition)
                .map_err(|_| TxnError::InvalidRequest)?;
            let rec = OffsetRecord {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata: o.metadata.clone(),
                commit_timestamp_ms: o.commit_timestamp_ms,
                expire_timestamp_ms: -1,
            };
            batch.put(key, rec.encode());
            records.push((o.topic.clone(), o.partition, rec));
        }
        drop(st);
        if !batch.is_empty() {
            inner.store.write(&batch).map_err(|e| {
                tracing::error!(group = group_id, error = %e, "transactional offset commit failed");
                TxnError::KafkaStorageError
            })?;
        }
        let mut st = inner.state.lock();
        if let Some(group) = st.groups.get_mut(group_id) {
            for (topic, partition, rec) in records {
                group
                    .offsets
                    .entry(topic)
                    .or_default()
                    .insert(partition, rec);
            }
        }
        Ok(())
    }

    fn abort_txn_offsets(&self, _group_id: &str, _producer_id: i64) -> Result<(), TxnError> {
        // Pending offsets live in the transaction coordinator until commit; nothing to undo.
        Ok(())
    }
}
