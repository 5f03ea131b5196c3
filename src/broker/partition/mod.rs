//! `Partition`: the one seam between the protocol layer (`api/`) and a partition's log.
//!
//! Everything a Kafka API does to a partition goes through here: appending produced
//! batches (with the topic's produce policy), reading stored batches for Fetch, offset
//! lookups (ListOffsets), leader-epoch lookups (OffsetForLeaderEpoch), DeleteRecords, and
//! the change subscription Fetch long-polls wait on. `api/` never sees a `Log`.
//!
//! A partition is played in a *role* (`Role`). Today there is one: the leader of a local
//! log (a single broker leads every partition and is the whole ISR). Replication adds a
//! follower role (appends refused with NOT_LEADER_OR_FOLLOWER, reads served up to the
//! high watermark the leader sends) and an acks=all wait for the ISR in the leader role; a
//! log that is not local (tiered or remote) becomes another implementation of the same
//! operations. Each fits behind this type without changing `api/`: its methods are the
//! protocol's vocabulary (offsets, epochs, bytes), and what may block or wait is returned
//! as a future.
//!
//! Threads: an append is checked and queued in request order on the caller's thread (the
//! part of a Produce handler that runs at dispatch); the log write and fsync happen on the
//! partition's writer, on tokio's blocking threads, where concurrent appends share one
//! fsync (group commit, see the `writer` module). Reads that touch the disk run on blocking threads
//! too, and never hold the log's lock across a read. `src/ARCHITECTURE.md` has the whole
//! threading model.

pub mod error;
mod policy;

pub use policy::has_transactional_batch;
mod writer;

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::{oneshot, watch};

pub use error::{PartitionError, RecordError};
pub use policy::is_retriable_txn_error;

use crate::broker::topic_config::TopicSettings;
use crate::broker::txn::TxnCoordinator;
use crate::storage::blocking::{off_worker, run_read};
use crate::storage::record::batch::split_batches;
use crate::storage::{Log, LogSlot, StorageError};
pub use writer::{AppendFailure, AppendOutcome, AppendsPaused};
use writer::{Job, Writer};

/// The largest fetch read tried in place on the worker, from the page cache only
/// (`ReadView::read_cached`): a caught-up consumer's read of what was just appended. A
/// read that is larger, or would wait for the disk, goes to the blocking pool.
const IN_PLACE_READ_MAX_BYTES: u64 = 64 * 1024;

/// What a produce request asks of one partition.
pub struct AppendRequest<'a> {
    /// The partition's records as the client sent them (whole v2 batches).
    pub records: Bytes,
    /// The request's acks: 0, 1, or -1 (all).
    pub acks: i16,
    /// The request's transactional id, if any.
    pub transactional_id: Option<&'a str>,
    /// The transaction coordinator that verifies transactional batches (KIP-890).
    pub txns: &'a TxnCoordinator,
    /// The Produce request's version: from v12 (transaction.version 2) a transactional
    /// batch adds its partition to the transaction; v11 is told TRANSACTION_ABORTABLE when
    /// it was not added, older versions INVALID_TXN_STATE.
    pub produce_version: i16,
}

/// An append queued on the partition's writer, in request order.
pub struct PendingAppend {
    rx: oneshot::Receiver<Result<AppendOutcome, AppendFailure>>,
}

impl PendingAppend {
    /// Resolves once the records are in the log, and, for acks=all, durable under the
    /// fsync policy (`always`: fsynced).
    pub async fn outcome(self) -> Result<AppendOutcome, AppendFailure> {
        self.rx.await.unwrap_or(Err(AppendFailure {
            error: PartitionError::WriterStopped,
            base_offset: None,
        }))
    }
}

/// The offsets of a partition at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// The high watermark: what consumers may read up to.
    pub high_watermark: i64,
    /// The last stable offset: what `read_committed` consumers may read up to.
    pub last_stable_offset: i64,
    /// The first offset still held.
    pub log_start_offset: i64,
    /// The offset the next appended record gets.
    pub log_end_offset: i64,
}

/// An aborted transaction overlapping a `read_committed` fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTransaction {
    /// The producer that aborted.
    pub producer_id: i64,
    /// The transaction's first offset.
    pub first_offset: i64,
}

/// What a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// Whole stored batches, as stored, starting with the one holding the fetch offset.
    pub records: Bytes,
    /// The partition's offsets, taken just before the read.
    pub offsets: PartitionOffsets,
    /// For `read_committed`: the aborted transactions overlapping the records.
    pub aborted_transactions: Vec<AbortedTransaction>,
}

/// What ListOffsets asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The high watermark (or, `read_committed`, the last stable offset).
    Latest,
    /// The log start offset.
    Earliest,
    /// The earliest offset held locally (the log start offset: nothing is tiered).
    EarliestLocal,
    /// The last offset in tiered storage (none: nothing is tiered).
    LatestTiered,
    /// The first record carrying the largest timestamp.
    MaxTimestamp,
    /// The first record whose timestamp is at or after this one.
    Timestamp(i64),
}

/// An offset found by ListOffsets: all -1 when none qualifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The record's timestamp, or -1.
    pub timestamp: i64,
    /// The offset, or -1.
    pub offset: i64,
    /// The leader epoch in force at the offset, or -1.
    pub leader_epoch: i32,
}

impl ListedOffset {
    const NONE: ListedOffset = ListedOffset {
        timestamp: -1,
        offset: -1,
        leader_epoch: -1,
    };
}

/// How a partition is played on this broker (see the module documentation).
enum Role {
    /// The leader of a local log; this broker is the whole ISR.
    Leader(LocalLeader),
}

struct LocalLeader {
    /// The partition's log; a move between log directories swaps it, under a pause of
    /// the writer.
    slot: Arc<LogSlot>,
    writer: Arc<Writer>,
}

/// One topic-partition as the protocol layer sees it. Handed out by
/// [`ReplicaManager::partition`](crate::broker::ReplicaManager::partition).
pub struct Partition {
    topic: String,
    index: i32,
    internal: bool,
    leader_epoch: i32,
    settings: RwLock<Arc<TopicSettings>>,
    role: Role,
}

impl std::fmt::Debug for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Partition")
            .field("topic", &self.topic)
            .field("index", &self.index)
            .finish()
    }
}

impl Partition {
    /// The leader of `log`, at `leader_epoch`, with the topic's effective settings.
    pub(crate) fn leader(
        topic: &str,
        index: i32,
        slot: Arc<LogSlot>,
        leader_epoch: i32,
        settings: Arc<TopicSettings>,
    ) -> Partition {
        Partition {
            topic: topic.to_string(),
            index,
            internal: crate::broker::internal_topics::is_internal(topic),
            leader_epoch,
            settings: RwLock::new(settings),
            role: Role::Leader(LocalLeader {
                writer: Arc::new(Writer::over(Arc::clone(&slot))),
                slot,
            }),
        }
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition's index.
    pub fn index(&self) -> i32 {
        self.index
    }

    /// This partition's current leader epoch.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// Whether this partition is played over the log in `slot` (the replica manager's
    /// cache check).
    pub(crate) fn serves(&self, slot: &Arc<LogSlot>) -> bool {
        match &self.role {
            Role::Leader(l) => Arc::ptr_eq(&l.slot, slot),
        }
    }

    /// Pauses this partition's appends until the guard is dropped (see the writer):
    /// blocks until the append in progress, if any, is done. For a move's swap of the log.
    pub fn pause_appends(&self) -> AppendsPaused<'_> {
        match &self.role {
            Role::Leader(l) => l.writer.pause(),
        }
    }

    /// Replaces the topic settings appends apply (after a config change).
    pub(crate) fn refresh_settings(&self, settings: &Arc<TopicSettings>) {
        if !Arc::ptr_eq(&self.settings.read(), settings) {
            *self.settings.write() = Arc::clone(settings);
        }
    }

    fn log(&self) -> Arc<Log> {
        match &self.role {
            Role::Leader(l) => l.slot.current(),
        }
    }

    /// Runs `op` on the partition's log; if the log was retired meanwhile by a move
    /// between log directories (it answers LogClosed), once more on the log that replaced
    /// it, so a client never sees the swap.
    fn on_log<T>(
        &self,
        mut op: impl FnMut(&Arc<Log>) -> Result<T, PartitionError>,
    ) -> Result<T, PartitionError> {
        let log = self.log();
        match op(&log) {
            Err(PartitionError::Storage(StorageError::LogClosed)) => {
                let now = self.log();
                if Arc::ptr_eq(&now, &log) {
                    Err(PartitionError::Storage(StorageError::LogClosed))
                } else {
                    op(&now)
                }
            }
            other => other,
        }
    }

    /// Fails with the storage error of the partition's log directory if it is offline
    /// (KAFKA_STORAGE_ERROR).
    fn check_online(&self) -> Result<(), PartitionError> {
        Ok(self.log().dir_health().check()?)
    }

    /// Checks a client's `current_leader_epoch` (-1: no check) against the partition's.
    pub fn check_leader_epoch(&self, requested: i32) -> Result<(), PartitionError> {
        let current = self.leader_epoch;
        if requested < 0 || requested == current {
            Ok(())
        } else if requested < current {
            Err(PartitionError::FencedLeaderEpoch { requested, current })
        } else {
            Err(PartitionError::UnknownLeaderEpoch { requested, current })
        }
    }

    /// Appends a produce request's records to this partition, applying the topic's policy:
    /// internal topics refuse clients, acks=all needs `min.insync.replicas` in-sync
    /// replicas, every batch must be whole and acceptable before any is appended,
    /// transactional batches must be verified by the coordinator, CreateTime timestamps
    /// must lie in the topic's window, and batches are recompressed to the topic's
    /// `compression.type`.
    ///
    /// The checks run now, on the caller's thread; the append is then queued on the
    /// partition's writer, so appends to one partition happen in the order of the calls.
    /// The returned [`PendingAppend`] resolves once the records are in the log and, for
    /// acks=all, durable.
    pub fn append(&self, request: AppendRequest<'_>) -> Result<PendingAppend, PartitionError> {
        // Kafka's internal topics are written by its coordinators only (Skiff's coordinators
        // keep their state elsewhere): clients get INVALID_TOPIC_EXCEPTION, as from Kafka.
        if self.internal {
            return Err(PartitionError::InvalidTopic(self.topic.clone()));
        }
        self.check_online()?;
        let settings = Arc::clone(&self.settings.read());
        // One broker is the whole in-sync replica set: acks=all cannot be satisfied when the
        // topic asks for more (Kafka answers NOT_ENOUGH_REPLICAS and appends nothing).
        if request.acks == -1 && settings.min_insync_replicas > 1 {
            return Err(PartitionError::NotEnoughReplicas);
        }
        let ranges = policy::validate_batches(&request.records, settings.log.max_batch_bytes)?;
        policy::verify_transactions(
            request.txns,
            request.transactional_id,
            &self.topic,
            self.index,
            &request.records,
            request.produce_version,
        )?;
        let (tx, rx) = oneshot::channel();
        match &self.role {
            Role::Leader(l) => l.writer.submit(Job {
                records: request.records,
                ranges,
                settings,
                leader_epoch: self.leader_epoch,
                durable: request.acks == -1,
                appended: None,
                done: tx,
            }),
        }
        Ok(PendingAppend { rx })
    }

    /// The partition's offsets now.
    pub fn offsets(&self) -> PartitionOffsets {
        offsets_of(&self.log())
    }

    /// Whole stored batches from the one holding `fetch_offset`, up to `max_bytes` but at
    /// least one batch (empty at the end of the log). With `read_committed`, only batches
    /// that start below the last stable offset, and the aborted transactions among them.
    /// Disk reads run on a blocking thread, without the log's lock.
    pub async fn read(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        read_committed: bool,
    ) -> Result<ReadResult, PartitionError> {
        // Planned under the log's lock, read without it: a fetch at the log end (a
        // caught-up consumer's long-poll) touches no disk and no thread; a small read whose
        // bytes are all in the page cache (what a caught-up consumer asks for next) is
        // copied here; anything else is read on a blocking thread.
        let (log, offsets, view) = self.on_log(|log| {
            let offsets = offsets_of(log);
            let view = log.read_view(fetch_offset, max_bytes)?;
            Ok((Arc::clone(log), offsets, view))
        })?;
        let mut records = if view.is_empty() {
            Bytes::new()
        } else if let Some(cached) = view.read_cached(IN_PLACE_READ_MAX_BYTES)? {
            cached
        } else {
            run_read(move || view.read()).await?
        };
        let mut aborted_transactions = Vec::new();
        if read_committed {
            records = records.slice(..stable_prefix(&records, offsets.last_stable_offset));
            let upper = next_offset_after(&records).unwrap_or(fetch_offset);
            aborted_transactions = log
                .aborted_transactions(fetch_offset, upper)
                .into_iter()
                .map(|a| AbortedTransaction {
                    producer_id: a.producer_id,
                    first_offset: a.first_offset,
                })
                .collect();
        }
        Ok(ReadResult {
            records,
            offsets,
            aborted_transactions,
        })
    }

    /// A watch of the log end offset, changed on every append (Fetch long-polls wait on
    /// it). Subscribe before reading so no append between the read and the wait is missed.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.log().subscribe()
    }

    /// The largest epoch ≤ `requested` and the offset where it ended: the log end offset
    /// for the current epoch, `(-1, -1)` for an epoch above the current one or before the
    /// first (OffsetForLeaderEpoch, and Fetch's divergence check).
    pub fn end_offset_for_epoch(&self, requested: i32) -> (i32, i64) {
        let current = self.leader_epoch;
        if requested == current {
            (current, self.log().log_end_offset())
        } else if requested > current {
            (-1, -1)
        } else {
            self.log().end_offset_for_epoch(requested)
        }
    }

    /// ListOffsets: the offset `spec` names, with its timestamp and leader epoch. A lookup
    /// by timestamp reads the disk; on a worker thread it first hands the worker's other
    /// tasks on (the handler answers synchronously).
    pub fn list_offset(
        &self,
        spec: OffsetSpec,
        read_committed: bool,
    ) -> Result<ListedOffset, PartitionError> {
        self.check_online()?;
        self.on_log(|log| self.list_offset_in(log, spec, read_committed))
    }

    fn list_offset_in(
        &self,
        log: &Arc<Log>,
        spec: OffsetSpec,
        read_committed: bool,
    ) -> Result<ListedOffset, PartitionError> {
        let current = self.leader_epoch;
        let epoch_of = |offset: i64| log.epoch_for_offset(offset).unwrap_or(current);
        let found = |hit: Option<(i64, i64)>| match hit {
            Some((offset, timestamp)) => ListedOffset {
                timestamp,
                offset,
                leader_epoch: epoch_of(offset),
            },
            None => ListedOffset::NONE,
        };
        match spec {
            OffsetSpec::Latest => {
                // read_committed consumers start at the last stable offset.
                let offset = if read_committed {
                    log.last_stable_offset()
                } else {
                    log.high_watermark()
                };
                Ok(ListedOffset {
                    timestamp: -1,
                    offset,
                    leader_epoch: current,
                })
            }
            OffsetSpec::Earliest | OffsetSpec::EarliestLocal => {
                let offset = log.log_start_offset();
                Ok(ListedOffset {
                    timestamp: -1,
                    offset,
                    leader_epoch: epoch_of(offset),
                })
            }
            OffsetSpec::LatestTiered => Ok(ListedOffset::NONE),
            OffsetSpec::MaxTimestamp => Ok(found(log.max_timestamp()?)),
            OffsetSpec::Timestamp(ts) if ts >= 0 => Ok(found(log.find_offset_by_timestamp(ts)?)),
            OffsetSpec::Timestamp(_) => Err(PartitionError::InvalidRequest),
        }
    }

    /// Bytes the partition's log holds on disk (DescribeLogDirs).
    pub fn size_bytes(&self) -> u64 {
        self.log().size_bytes()
    }

    /// DeleteRecords: moves the log start offset up to `offset` (-1: the high watermark)
    /// and returns the new log start offset (the low watermark). Only topics with the
    /// delete cleanup policy may lose records this way.
    pub fn delete_records(&self, offset: i64) -> Result<i64, PartitionError> {
        if !self.settings.read().log.cleanup_policy.delete {
            return Err(PartitionError::PolicyViolation(
                "records are deleted only under cleanup.policy=delete",
            ));
        }
        self.on_log(|log| {
            let hw = log.high_watermark();
            let offset = if offset == -1 { hw } else { offset };
            if offset < 0 || offset > hw {
                return Err(PartitionError::OffsetOutOfRange(offset));
            }
            off_worker(|| log.delete_before(offset))?;
            Ok(log.log_start_offset())
        })
    }
}

/// The offsets of `log` now.
fn offsets_of(log: &Log) -> PartitionOffsets {
    PartitionOffsets {
        high_watermark: log.high_watermark(),
        last_stable_offset: log.last_stable_offset(),
        log_start_offset: log.log_start_offset(),
        log_end_offset: log.log_end_offset(),
    }
}

/// Length of the leading whole batches of `bytes` that start below `lso`.
fn stable_prefix(bytes: &[u8], lso: i64) -> usize {
    split_batches(bytes)
        .map_while(|b| b.ok())
        .take_while(|(h, _)| h.base_offset < lso)
        .map(|(_, raw)| raw.len())
        .sum()
}

/// The offset after the last whole batch of `bytes`.
fn next_offset_after(bytes: &[u8]) -> Option<i64> {
    split_batches(bytes)
        .map_while(|b| b.ok())
        .last()
        .map(|(h, _)| h.next_offset())
}
