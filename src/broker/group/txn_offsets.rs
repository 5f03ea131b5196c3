//! The group coordinator's side of transactional offset commits: offsets a transaction
//! committed with TxnOffsetCommit become the group's committed offsets when the transaction
//! commits (the transaction coordinator holds them until then and drops them on abort).

use std::collections::BTreeMap;

use crate::broker::group::codec::{self, OffsetRecord};
use crate::broker::group::state::{ClassicGroup, Group, GroupKind};
use crate::broker::group::GroupCoordinator;
use crate::broker::txn::{OffsetSink, TxnError, TxnOffset};
use crate::storage::kv::WriteBatch;

impl OffsetSink for GroupCoordinator {
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
