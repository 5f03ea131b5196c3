//! What the coordinator talks to when a transaction ends: the data partitions (commit and
//! abort markers, [`MarkerWriter`]), the group coordinator (transactional offsets,
//! [`OffsetSink`]), and the clock.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::BytesMut;

use crate::broker::txn::error::TxnError;
use crate::broker::txn::state::{TxnOffset, TxnResult};
use crate::storage::record::{BatchBuilder, ControlRecordType, EndTxnMarker};
use crate::storage::{Storage, TimestampType};

/// Writes end-transaction markers to data partitions.
pub trait MarkerWriter: Send + Sync {
    /// Whether the partition exists (AddPartitionsToTxn answers UNKNOWN_TOPIC_OR_PARTITION
    /// otherwise).
    fn partition_exists(&self, topic: &str, partition: i32) -> bool;

    /// Writes a commit or abort marker for the producer to the partition and returns once it
    /// is durable. A partition that no longer exists is skipped (its topic was deleted).
    /// Writing the same marker twice is harmless: the second finds no open transaction.
    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of one WriteTxnMarkers entry, as the protocol names them"
    )]
    fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        result: TxnResult,
        timestamp_ms: i64,
    ) -> Result<(), TxnError>;
}

/// [`MarkerWriter`] over the broker's partition logs.
#[derive(Debug, Clone)]
pub struct LogMarkerWriter {
    storage: Arc<Storage>,
}

impl LogMarkerWriter {
    /// Writes markers to the logs of `storage`.
    pub fn new(storage: Arc<Storage>) -> LogMarkerWriter {
        LogMarkerWriter { storage }
    }
}

impl MarkerWriter for LogMarkerWriter {
    fn partition_exists(&self, topic: &str, partition: i32) -> bool {
        self.storage.get(topic, partition).is_some()
    }

    fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        coordinator_epoch: i32,
        result: TxnResult,
        timestamp_ms: i64,
    ) -> Result<(), TxnError> {
        let Some(log) = self.storage.get(topic, partition) else {
            tracing::warn!(
                topic,
                partition,
                "dropping transaction marker for a missing partition"
            );
            return Ok(());
        };
        let control_type = match result {
            TxnResult::Commit => ControlRecordType::Commit,
            TxnResult::Abort => ControlRecordType::Abort,
        };
        let leader_epoch = log.latest_epoch().max(0);
        let bytes = BatchBuilder::end_txn_marker(
            0,
            timestamp_ms,
            leader_epoch,
            producer_id,
            producer_epoch,
            EndTxnMarker {
                control_type,
                coordinator_epoch,
            },
        )
        .map_err(|e| {
            tracing::error!(error = %e, "cannot build a transaction marker");
            TxnError::UnknownServerError
        })?;
        let append = |log: &Arc<crate::storage::Log>| {
            log.append_sync(
                BytesMut::from(&bytes[..]),
                leader_epoch,
                TimestampType::CreateTime,
            )
        };
        // A move between log directories may have swapped the partition's log meanwhile:
        // the old one is closed, the marker goes to the new one.
        let appended = match append(&log) {
            Err(crate::storage::StorageError::LogClosed) => {
                match self.storage.get(topic, partition) {
                    Some(now) if !Arc::ptr_eq(&now, &log) => append(&now),
                    _ => Err(crate::storage::StorageError::LogClosed),
                }
            }
            other => other,
        };
        appended.map_err(|e| {
            tracing::warn!(topic, partition, error = %e, "writing a transaction marker failed");
            TxnError::KafkaStorageError
        })?;
        Ok(())
    }
}

/// The group coordinator's side of transactional offset commits. The transaction
/// coordinator keeps TxnOffsetCommit's offsets pending (durably) and hands them over here
/// only when the transaction commits; until then no fetch of committed offsets sees them.
pub trait OffsetSink: Send + Sync {
    /// Checks a TxnOffsetCommit's group membership (generation, member id, group instance
    /// id, KIP-447) before its offsets are accepted. The default accepts everything.
    fn validate_txn_offset_commit(
        &self,
        _group_id: &str,
        _generation_id: i32,
        _member_id: &str,
        _group_instance_id: Option<&str>,
    ) -> Result<(), TxnError> {
        Ok(())
    }

    /// The transaction committed: make these offsets of `group_id` the committed ones. Called
    /// again with the same offsets if the coordinator restarts while completing the commit.
    fn commit_txn_offsets(
        &self,
        group_id: &str,
        producer_id: i64,
        offsets: &[TxnOffset],
    ) -> Result<(), TxnError>;

    /// The transaction aborted: the producer's pending offsets of `group_id` are dropped.
    fn abort_txn_offsets(&self, group_id: &str, producer_id: i64) -> Result<(), TxnError>;
}

/// Milliseconds since the epoch, as the coordinator sees them.
pub trait Clock: Send + Sync {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The wall clock read through tokio's clock: wall time at creation plus tokio's elapsed
/// time, so tests with paused tokio time control it.
#[derive(Debug)]
pub struct TokioClock {
    wall_at_start: i64,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting at the current wall time.
    pub fn new() -> TokioClock {
        let wall_at_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        TokioClock {
            wall_at_start,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        self.wall_at_start + self.start.elapsed().as_millis() as i64
    }
}
