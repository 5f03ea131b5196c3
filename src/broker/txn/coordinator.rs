//! The transaction coordinator: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! EndTxn, TxnOffsetCommit, transaction timeouts and transactional id expiry, with every
//! state change durable in the state store before it is acknowledged.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker::txn::error::TxnError;
use crate::broker::txn::markers::{Clock, MarkerWriter, OffsetSink};
use crate::broker::txn::producer_ids::{ProducerIdManager, DEFAULT_BLOCK_SIZE};
use crate::broker::txn::state::{
    pending_offset_key, pending_offsets_prefix, txn_key, PendingOffset, TxnMetadata, TxnOffset,
    TxnPartition, TxnResult, TxnState, TXN_OFFSETS_PREFIX, TXN_PREFIX,
};
use crate::storage::kv::{StateStore, WriteBatch};

/// Settings of the transaction coordinator (Kafka's names in the docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    /// `transaction.max.timeout.ms`: the largest transaction timeout a producer may ask for.
    pub transaction_max_timeout_ms: i32,
    /// `transactional.id.expiration.ms`: an idle transactional id is forgotten after this.
    pub transactional_id_expiration_ms: i64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: how often timed-out
    /// transactions are looked for (and unfinished commits/aborts retried).
    pub abort_timed_out_interval: Duration,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`: how often expired
    /// transactional ids are removed.
    pub remove_expired_interval: Duration,
    /// Producer ids reserved per state store write.
    pub producer_id_block_size: i64,
    /// The coordinator epoch written into markers.
    pub coordinator_epoch: i32,
}

impl Default for TxnConfig {
    fn default() -> Self {
        TxnConfig {
            transaction_max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 604_800_000,
            abort_timed_out_interval: Duration::from_secs(10),
            remove_expired_interval: Duration::from_secs(3600),
            producer_id_block_size: DEFAULT_BLOCK_SIZE,
            coordinator_epoch: 0,
        }
    }
}

/// InitProducerId's input (all versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitProducerIdRequest {
    /// The transactional id; `None` for an idempotent-only producer.
    pub transactional_id: Option<String>,
    /// The transaction timeout (ignored without a transactional id).
    pub transaction_timeout_ms: i32,
    /// v3+: the producer's current id for an epoch bump (KIP-360), or -1.
    pub producer_id: i64,
    /// v3+: the producer's current epoch, or -1.
    pub producer_epoch: i16,
}

/// A producer id and epoch (InitProducerId's answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdAndEpoch {
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
}

/// One transaction of AddPartitionsToTxn (the whole request before v4, one entry of
/// `transactions` from v4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPartitionsRequest {
    /// The transactional id.
    pub transactional_id: String,
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
    /// v4+ (KIP-890, sent by brokers): only check that the partitions are in the
    /// transaction, change nothing.
    pub verify_only: bool,
    /// The partitions as (topic, partition).
    pub partitions: Vec<(String, i32)>,
}

/// The outcome for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionResult {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Success or the partition's error.
    pub result: Result<(), TxnError>,
}

/// One offset of a TxnOffsetCommit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitPartition {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The offset to commit.
    pub committed_offset: i64,
    /// Its leader epoch, or -1.
    pub committed_leader_epoch: i32,
    /// Client metadata.
    pub committed_metadata: Option<String>,
}

/// TxnOffsetCommit's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnOffsetCommitRequest {
    /// The transactional id.
    pub transactional_id: String,
    /// The consumer group.
    pub group_id: String,
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
    /// v3+: the group generation, or -1.
    pub generation_id: i32,
    /// v3+: the member id, or "".
    pub member_id: String,
    /// v3+: the static member id.
    pub group_instance_id: Option<String>,
    /// The offsets.
    pub offsets: Vec<TxnOffsetCommitPartition>,
    /// v5+ (transaction.version 2): the group joins the transaction implicitly.
    pub implicit_add: bool,
}

type Entry = Arc<Mutex<TxnMetadata>>;

/// Running counts of the coordinator's background work (metrics; tests wait on them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TxnStats {
    /// Transactions aborted because they outlived their timeout.
    pub timed_out: u64,
    /// Transactional ids expired.
    pub expired: u64,
    /// Commits and aborts completed after their markers first failed (or a restart).
    pub completed_late: u64,
}

/// The transaction coordinator of the broker (one for all transactional ids).
pub struct TxnCoordinator {
    config: TxnConfig,
    store: Arc<StateStore>,
    producer_ids: ProducerIdManager,
    markers: Arc<dyn MarkerWriter>,
    offsets: Arc<dyn OffsetSink>,
    clock: Arc<dyn Clock>,
    txns: Mutex<HashMap<String, Entry>>,
    stats: watch::Sender<TxnStats>,
}

impl std::fmt::Debug for TxnCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnCoordinator")
            .field("config", &self.config)
            .field("transactional_ids", &self.txns.lock().len())
            .finish()
    }
}

enum InitOutcome {
    Done(ProducerIdAndEpoch),
    /// The open transaction was fenced and aborted; decide again.
    Retry,
}

impl TxnCoordinator {
    /// Loads the transaction metadata from `store` and completes every transaction that was
    /// in PrepareCommit / PrepareAbort (markers written again, offsets handed over again);
    /// open transactions keep their start time, so their timeout still applies. A completion
    /// that fails now is retried by the background task.
    pub fn open(
        config: TxnConfig,
        store: Arc<StateStore>,
        markers: Arc<dyn MarkerWriter>,
        offsets: Arc<dyn OffsetSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<TxnCoordinator>, TxnError> {
        let mut txns = HashMap::new();
        for item in store.scan_prefix(TXN_PREFIX)? {
            let (_, value) = item?;
            let m = TxnMetadata::decode(&value)?;
            txns.insert(m.transactional_id.clone(), Arc::new(Mutex::new(m)));
        }
        let coordinator = Arc::new(TxnCoordinator {
            producer_ids: ProducerIdManager::new(Arc::clone(&store), config.producer_id_block_size),
            config,
            store,
            markers,
            offsets,
            clock,
            txns: Mutex::new(txns),
            stats: watch::channel(TxnStats::default()).0,
        });
        coordinator.complete_pending_transactions();
        Ok(coordinator)
    }

    /// The configuration.
    pub fn config(&self) -> &TxnConfig {
        &self.config
    }

    /// The producer id allocator (also used for idempotent producers).
    pub fn producer_ids(&self) -> &ProducerIdManager {
        &self.producer_ids
    }

    /// A copy of a transactional id's metadata.
    pub fn metadata(&self, transactional_id: &str) -> Option<TxnMetadata> {
        self.lookup(transactional_id).map(|e| e.lock().clone())
    }

    /// Copies of all transactions' metadata.
    pub fn all_metadata(&self) -> Vec<TxnMetadata> {
        let entries: Vec<Entry> = self.txns.lock().values().cloned().collect();
        entries
            .iter()
            .map(|e| e.lock().clone())
            .filter(|m| m.state != TxnState::Dead)
            .collect()
    }

    /// The counts of background work done so far, updated as it happens.
    pub fn subscribe_stats(&self) -> watch::Receiver<TxnStats> {
        self.stats.subscribe()
    }

    /// The time as the coordinator sees it.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn lookup(&self, transactional_id: &str) -> Option<Entry> {
        self.txns.lock().get(transactional_id).cloned()
    }

    fn persist(&self, m: &TxnMetadata) -> Result<(), TxnError> {
        self.store.put(txn_key(&m.transactional_id), m.encode())?;
        Ok(())
    }

    // ---- InitProducerId -------------------------------------------------------------

    /// InitProducerId (v0–v5). Without a transactional id: a fresh producer id at epoch 0.
    /// With one: the id's producer id with its epoch bumped, fencing any older producer; an
    /// open transaction is aborted first (markers written) and a retried KIP-360 bump is
    /// answered with the current epoch; an exhausted epoch moves to a new producer id.
    pub fn init_producer_id(
        &self,
        req: &InitProducerIdRequest,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        let Some(transactional_id) = req.transactional_id.as_deref() else {
            return Ok(ProducerIdAndEpoch {
                producer_id: self.producer_ids.generate()?,
                producer_epoch: 0,
            });
        };
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        if (req.producer_id < 0) != (req.producer_epoch < 0) {
            return Err(TxnError::InvalidRequest);
        }
        if req.transaction_timeout_ms <= 0
            || req.transaction_timeout_ms > self.config.transaction_max_timeout_ms
        {
            return Err(TxnError::InvalidTransactionTimeout);
        }
        let expected = (req.producer_id >= 0).then_some(ProducerIdAndEpoch {
            producer_id: req.producer_id,
            producer_epoch: req.producer_epoch,
        });
        let entry = self.get_or_create(transactional_id, req.transaction_timeout_ms)?;
        let mut m = entry.lock();
        // At most two rounds: a fence-and-abort of the open transaction, then the bump.
        for _ in 0..2 {
            match self.init_transit(&mut m, req.transaction_timeout_ms, expected)? {
                InitOutcome::Done(r) => return Ok(r),
                InitOutcome::Retry => continue,
            }
        }
        Err(TxnError::ConcurrentTransactions)
    }

    fn get_or_create(&self, transactional_id: &str, timeout_ms: i32) -> Result<Entry, TxnError> {
        let mut txns = self.txns.lock();
        if let Some(e) = txns.get(transactional_id) {
            return Ok(Arc::clone(e));
        }
        let m = TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id: self.producer_ids.generate()?,
            previous_producer_id: -1,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            txn_start_ms: -1,
            last_update_ms: self.clock.now_ms(),
            client_tv2: false,
            next_producer_id: -1,
        };
        let e = Arc::new(Mutex::new(m));
        txns.insert(transactional_id.to_string(), Arc::clone(&e));
        Ok(e)
    }

    fn init_transit(
        &self,
        m: &mut TxnMetadata,
        timeout_ms: i32,
        expected: Option<ProducerIdAndEpoch>,
    ) -> Result<InitOutcome, TxnError> {
        if let Some(exp) = expected {
            let valid = m.producer_epoch < 0
                || exp.producer_id == m.producer_id
                || (exp.producer_id == m.previous_producer_id
                    && TxnMetadata::is_epoch_exhausted(exp.producer_epoch));
            if !valid {
                return Err(TxnError::ProducerFenced);
            }
        }
        let now = self.clock.now_ms();
        match m.state {
            TxnState::PrepareCommit
            | TxnState::PrepareAbort
            | TxnState::Dead
            | TxnState::PrepareEpochFence => Err(TxnError::ConcurrentTransactions),
            TxnState::Ongoing => {
                self.fence_and_abort(m)?;
                if m.state == TxnState::CompleteAbort {
                    Ok(InitOutcome::Retry)
                } else {
                    // Markers could not all be written; the client retries.
                    Err(TxnError::ConcurrentTransactions)
                }
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let mut next = m.clone();
                next.timeout_ms = timeout_ms;
                next.last_update_ms = now;
                next.client_tv2 = false;
                next.next_producer_id = -1;
                if TxnMetadata::is_epoch_exhausted(m.producer_epoch)
                    && expected.is_none_or(|e| e.producer_epoch == m.producer_epoch)
                {
                    next.previous_producer_id = m.producer_id;
                    next.producer_id = self.producer_ids.generate()?;
                    next.producer_epoch = 0;
                    next.last_producer_epoch = if expected.is_some() {
                        m.producer_epoch
                    } else {
                        -1
                    };
                    next.state = TxnState::Empty;
                    next.partitions.clear();
                    next.txn_start_ms = -1;
                } else if TxnMetadata::is_epoch_exhausted(m.producer_epoch) {
                    // An older epoch of an exhausted producer id: a retry of the bump that
                    // reached the exhausted epoch gets it again; anything else is fenced.
                    if expected.is_none_or(|e| e.producer_epoch != m.last_producer_epoch) {
                        return Err(TxnError::ProducerFenced);
                    }
                } else {
                    let bumped = m.producer_epoch + 1;
                    match expected {
                        None => {
                            next.producer_epoch = bumped;
                            next.last_producer_epoch = -1;
                        }
                        Some(e) if m.producer_epoch < 0 || e.producer_epoch == m.producer_epoch => {
                            next.producer_epoch = bumped;
                            next.last_producer_epoch = m.producer_epoch;
                        }
                        Some(e) if e.producer_epoch == m.last_producer_epoch => {
                            // A retry of a bump that succeeded: answer with the current epoch.
                        }
                        Some(_) => return Err(TxnError::ProducerFenced),
                    }
                }
                self.persist(&next)?;
                *m = next;
                Ok(InitOutcome::Done(ProducerIdAndEpoch {
                    producer_id: m.producer_id,
                    producer_epoch: m.producer_epoch,
                }))
            }
        }
    }

    /// Bumps the epoch of an Ongoing transaction (fencing its producer), records the abort
    /// durably and completes it. On return the state is CompleteAbort, or PrepareAbort if a
    /// marker could not be written (retried later).
    fn fence_and_abort(&self, m: &mut TxnMetadata) -> Result<(), TxnError> {
        let mut next = m.clone();
        if m.producer_epoch < i16::MAX {
            next.producer_epoch = m.producer_epoch + 1;
        }
        next.last_producer_epoch = -1;
        next.state = TxnState::PrepareAbort;
        next.last_update_ms = self.clock.now_ms();
        self.persist(&next)?;
        *m = next;
        if let Err(e) = self.complete_transaction(m) {
            tracing::warn!(transactional_id = %m.transactional_id, error = %e, "abort not completed yet");
        }
        Ok(())
    }

    // ---- AddPartitionsToTxn / AddOffsetsToTxn --------------------------------------

    /// Checks producer id and epoch against the metadata: Kafka's common checks of
    /// AddPartitionsToTxn, AddOffsetsToTxn and TxnOffsetCommit verification.
    fn check_producer(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<Entry, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        let entry = self
            .lookup(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        {
            let m = entry.lock();
            if m.state == TxnState::Dead || m.producer_id != producer_id {
                return Err(TxnError::InvalidProducerIdMapping);
            }
            if m.producer_epoch != producer_epoch {
                return Err(TxnError::ProducerFenced);
            }
        }
        Ok(entry)
    }

    fn add_to_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        added: BTreeSet<TxnPartition>,
        tv2: bool,
    ) -> Result<(), TxnError> {
        let entry = self.check_producer(transactional_id, producer_id, producer_epoch)?;
        let mut m = entry.lock();
        // Checked again under the lock: the state may have moved since.
        if m.state == TxnState::Dead || m.producer_id != producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if m.producer_epoch != producer_epoch {
            return Err(TxnError::ProducerFenced);
        }
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return Err(TxnError::ConcurrentTransactions)
            }
            TxnState::Dead => return Err(TxnError::InvalidProducerIdMapping),
            TxnState::Ongoing if added.is_subset(&m.partitions) => return Ok(()),
            TxnState::Ongoing
            | TxnState::Empty
            | TxnState::CompleteCommit
            | TxnState::CompleteAbort => {}
        }
        let now = self.clock.now_ms();
        let mut next = m.clone();
        if m.state != TxnState::Ongoing {
            next.txn_start_ms = now;
            next.partitions.clear();
        }
        next.state = TxnState::Ongoing;
        next.partitions.extend(added);
        next.client_tv2 = tv2;
        next.last_update_ms = now;
        self.persist(&next)?;
        *m = next;
        Ok(())
    }

    /// AddPartitionsToTxn for one transaction (call it per entry of a v4+ batched request).
    /// Adds the partitions (the transaction becomes Ongoing), or with `verify_only` checks
    /// they were added (TRANSACTION_ABORTABLE for those that were not, as Kafka). Unknown partitions get
    /// UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED.
    pub fn add_partitions_to_txn(&self, req: &AddPartitionsRequest) -> Vec<PartitionResult> {
        let all = |result: Result<(), TxnError>| -> Vec<PartitionResult> {
            req.partitions
                .iter()
                .map(|(topic, partition)| PartitionResult {
                    topic: topic.clone(),
                    partition: *partition,
                    result,
                })
                .collect()
        };
        if req.verify_only {
            return self.verify_partitions(req);
        }
        let unknown: Vec<bool> = req
            .partitions
            .iter()
            .map(|(t, p)| !self.markers.partition_exists(t, *p))
            .collect();
        if unknown.iter().any(|u| *u) {
            return req
                .partitions
                .iter()
                .zip(unknown)
                .map(|((topic, partition), u)| PartitionResult {
                    topic: topic.clone(),
                    partition: *partition,
                    result: Err(if u {
                        TxnError::UnknownTopicOrPartition
                    } else {
                        TxnError::OperationNotAttempted
                    }),
                })
                .collect();
        }
        let added = req
            .partitions
            .iter()
            .map(|(t, p)| TxnPartition::data(t.clone(), *p))
            .collect();
        all(self.add_to_txn(
            &req.transactional_id,
            req.producer_id,
            req.producer_epoch,
            added,
            false,
        ))
    }

    fn verify_partitions(&self, req: &AddPartitionsRequest) -> Vec<PartitionResult> {
        let checked = self
            .check_producer(&req.transactional_id, req.producer_id, req.producer_epoch)
            .and_then(|entry| {
                let m = entry.lock().clone();
                match m.state {
                    TxnState::PrepareCommit | TxnState::PrepareAbort => {
                        Err(TxnError::ConcurrentTransactions)
                    }
                    _ => Ok(m),
                }
            });
        req.partitions
            .iter()
            .map(|(topic, partition)| PartitionResult {
                topic: topic.clone(),
                partition: *partition,
                result: match &checked {
                    Err(e) => Err(*e),
                    Ok(m)
                        if m.state == TxnState::Ongoing
                            && m.partitions
                                .contains(&TxnPartition::data(topic.clone(), *partition)) =>
                    {
                        Ok(())
                    }
                    Ok(_) => Err(TxnError::TransactionAbortable),
                },
            })
            .collect()
    }

    /// KIP-890 verification of a transactional produce: Ok only if `topic-partition` was
    /// added to the producer's open transaction with this producer id and epoch. The produce
    /// path calls it before appending a transactional batch, so that no batch lands in a
    /// partition that will never get a marker (a stuck last stable offset). Errors are the
    /// ones Kafka gives producers: INVALID_PRODUCER_EPOCH for a fenced producer,
    /// TRANSACTION_ABORTABLE for a partition not in the transaction (Produce v10 and older
    /// get INVALID_TXN_STATE instead: the produce path maps it).
    pub fn verify_produce(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let req = AddPartitionsRequest {
            transactional_id: transactional_id.to_string(),
            producer_id,
            producer_epoch,
            verify_only: true,
            partitions: vec![(topic.to_string(), partition)],
        };
        let result = self
            .verify_partitions(&req)
            .pop()
            .map_or(Err(TxnError::UnknownServerError), |r| r.result);
        result.map_err(TxnError::as_produce_error)
    }

    /// AddOffsetsToTxn: adds the group's offsets to the transaction, so that the
    /// TxnOffsetCommits that follow are committed or dropped with it.
    pub fn add_offsets_to_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<(), TxnError> {
        if group_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        let added = BTreeSet::from([TxnPartition::GroupOffsets(group_id.to_string())]);
        self.add_to_txn(transactional_id, producer_id, producer_epoch, added, false)
    }

    /// The implicit add of transaction.version 2 (KIP-890 part 2): a transactional Produce
    /// v12+ adds its partition to the producer's transaction, starting one if none is open,
    /// as Kafka's partition leader does with AddPartitionsToTxn (`verify_only` false).
    /// A fenced producer gets INVALID_PRODUCER_EPOCH, as Kafka answers a produce.
    pub fn add_produce_partition(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        topic: &str,
        partition: i32,
    ) -> Result<(), TxnError> {
        let added = BTreeSet::from([TxnPartition::data(topic, partition)]);
        self.add_to_txn(transactional_id, producer_id, producer_epoch, added, true)
            .map_err(TxnError::as_produce_error)
    }

    // ---- TxnOffsetCommit -----------------------------------------------------------

    /// TxnOffsetCommit: the offsets are stored as pending for the transaction (durably) and
    /// reach the group's committed offsets through [`OffsetSink::commit_txn_offsets`] when
    /// the transaction commits. The group must have been added with AddOffsetsToTxn
    /// (INVALID_TXN_STATE otherwise).
    pub fn txn_offset_commit(&self, req: &TxnOffsetCommitRequest) -> Vec<PartitionResult> {
        // Kafka 4.1.1 answers a fenced v5 (the implicit add goes through its partition
        // verification) with INVALID_PRODUCER_EPOCH, as it answers a produce.
        let result = self.txn_offset_commit_inner(req).map_err(|e| match e {
            TxnError::ProducerFenced if req.implicit_add => TxnError::InvalidProducerEpoch,
            other => other,
        });
        req.offsets
            .iter()
            .map(|o| PartitionResult {
                topic: o.topic.clone(),
                partition: o.partition,
                result,
            })
            .collect()
    }

    fn txn_offset_commit_inner(&self, req: &TxnOffsetCommitRequest) -> Result<(), TxnError> {
        if req.group_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        let entry =
            self.check_producer(&req.transactional_id, req.producer_id, req.producer_epoch)?;
        self.offsets.validate_txn_offset_commit(
            &req.group_id,
            req.generation_id,
            &req.member_id,
            req.group_instance_id.as_deref(),
        )?;
        if req.implicit_add {
            // transaction.version 2: the group joins the transaction here (KIP-890 part 2),
            // no AddOffsetsToTxn before.
            let added = BTreeSet::from([TxnPartition::GroupOffsets(req.group_id.clone())]);
            self.add_to_txn(
                &req.transactional_id,
                req.producer_id,
                req.producer_epoch,
                added,
                true,
            )
            .map_err(TxnError::as_produce_error)?;
        }
        let m = entry.lock();
        if m.producer_id != req.producer_id {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        if m.producer_epoch != req.producer_epoch {
            return Err(TxnError::ProducerFenced);
        }
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return Err(TxnError::ConcurrentTransactions)
            }
            TxnState::Ongoing
                if m.partitions
                    .contains(&TxnPartition::GroupOffsets(req.group_id.clone())) => {}
            // Kafka's verification of the group's partition: TRANSACTION_ABORTABLE from v4,
            // INVALID_TXN_STATE before (`TxnError::code_for`).
            _ => return Err(TxnError::TransactionAbortable),
        }
        let now = self.clock.now_ms();
        let mut batch = WriteBatch::new();
        for o in &req.offsets {
            let pending = PendingOffset {
                group_id: req.group_id.clone(),
                offset: TxnOffset {
                    topic: o.topic.clone(),
                    partition: o.partition,
                    offset: o.committed_offset,
                    leader_epoch: o.committed_leader_epoch,
                    metadata: o.committed_metadata.clone(),
                    commit_timestamp_ms: now,
                },
            };
            batch.put(
                pending_offset_key(&m.transactional_id, &req.group_id, &o.topic, o.partition),
                pending.encode(),
            );
        }
        self.store.write(&batch)?;
        Ok(())
    }

    /// The pending (uncommitted) transactional offsets of a transactional id.
    pub fn pending_offsets(&self, transactional_id: &str) -> Result<Vec<PendingOffset>, TxnError> {
        let mut out = Vec::new();
        for item in self
            .store
            .scan_prefix(pending_offsets_prefix(transactional_id))?
        {
            let (_, v) = item?;
            out.push(PendingOffset::decode(&v)?);
        }
        Ok(out)
    }

    /// Whether an open transaction holds a pending offset for the group's partition:
    /// OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT for it.
    pub fn has_pending_offset(
        &self,
        group_id: &str,
        topic: &str,
        partition: i32,
    ) -> Result<bool, TxnError> {
        for item in self.store.scan_prefix(TXN_OFFSETS_PREFIX)? {
            let (_, v) = item?;
            let p = PendingOffset::decode(&v)?;
            if p.group_id == group_id && p.offset.topic == topic && p.offset.partition == partition
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    // ---- EndTxn -------------------------------------------------------------------

    /// EndTxn: commit (`committed`) or abort. The decision is made durable (PrepareCommit /
    /// PrepareAbort) and acknowledged; markers are then written to every data partition of
    /// the transaction and the group offsets handed over, and the transaction completes.
    /// Returns the producer id and epoch the producer continues with (EndTxn v5).
    ///
    /// Before transaction.version 2 (`tv2` false: EndTxn v0–v4): a retry of a finished
    /// EndTxn succeeds; ending a transaction with no partitions is INVALID_TXN_STATE; a
    /// different producer id INVALID_PRODUCER_ID_MAPPING; another epoch PRODUCER_FENCED; an
    /// EndTxn while the previous one completes CONCURRENT_TRANSACTIONS.
    ///
    /// With transaction.version 2 (`tv2`: EndTxn v5, KIP-890 part 2) every commit and abort
    /// bumps the epoch, and the markers carry the bumped epoch, so the producer's older
    /// epoch is fenced from then on; an exhausted epoch moves the transactional id to a new
    /// producer id (epoch 0) once the markers are written. A retry carries the epoch before
    /// the bump and is answered with the current id and epoch. As Kafka 4.1.1 does, an abort
    /// with no transaction open (Empty, CompleteCommit, CompleteAbort, the current epoch)
    /// succeeds and bumps the epoch too.
    pub fn end_txn(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        committed: bool,
        tv2: bool,
    ) -> Result<ProducerIdAndEpoch, TxnError> {
        if transactional_id.is_empty() {
            return Err(TxnError::InvalidRequest);
        }
        let entry = self
            .lookup(transactional_id)
            .ok_or(TxnError::InvalidProducerIdMapping)?;
        let mut m = entry.lock();
        let current = |m: &TxnMetadata| ProducerIdAndEpoch {
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
        };
        // A retry of a transaction.version 2 EndTxn: the epoch before the bump, or the last
        // epoch of the producer id that the bump exhausted.
        let retry_on_bump =
            m.client_tv2 && i32::from(m.producer_epoch) == i32::from(producer_epoch) + 1;
        let retry_on_overflow = m.client_tv2
            && m.previous_producer_id == producer_id
            && producer_epoch == super::state::MAX_USABLE_EPOCH
            && m.producer_epoch == 0;
        if m.state == TxnState::Dead || (m.producer_id != producer_id && !retry_on_overflow) {
            return Err(TxnError::InvalidProducerIdMapping);
        }
        let same_epoch = m.producer_epoch == producer_epoch;
        let valid_epoch = if m.client_tv2 {
            match m.state {
                TxnState::Ongoing
                | TxnState::Empty
                | TxnState::Dead
                | TxnState::PrepareEpochFence => same_epoch,
                TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
                TxnState::CompleteCommit | TxnState::CompleteAbort => {
                    retry_on_bump || retry_on_overflow || (tv2 && same_epoch)
                }
            }
        } else {
            same_epoch
        };
        if !valid_epoch {
            return Err(TxnError::ProducerFenced);
        }
        let result = if committed {
            TxnResult::Commit
        } else {
            TxnResult::Abort
        };
        let is_retry = m.client_tv2 && !same_epoch;
        let next_state = match (m.state, result) {
            (TxnState::Ongoing, TxnResult::Commit) => TxnState::PrepareCommit,
            (TxnState::Ongoing, TxnResult::Abort) => TxnState::PrepareAbort,
            // transaction.version 2: an abort with nothing open still bumps the epoch.
            (
                TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort,
                TxnResult::Abort,
            ) if tv2 && !is_retry => TxnState::PrepareAbort,
            (TxnState::CompleteCommit, TxnResult::Commit)
            | (TxnState::CompleteAbort, TxnResult::Abort) => return Ok(current(&m)),
            (TxnState::PrepareCommit, TxnResult::Commit)
            | (TxnState::PrepareAbort, TxnResult::Abort)
            | (TxnState::PrepareEpochFence, _) => return Err(TxnError::ConcurrentTransactions),
            _ => return Err(TxnError::InvalidTxnState),
        };
        let mut next = m.clone();
        next.state = next_state;
        next.last_update_ms = self.clock.now_ms();
        next.client_tv2 = tv2;
        if m.state != TxnState::Ongoing {
            next.partitions.clear();
        }
        if tv2 {
            if TxnMetadata::is_epoch_exhausted(m.producer_epoch) {
                next.next_producer_id = self.producer_ids.generate()?;
            }
            // At most i16::MAX: an exhausted epoch is at MAX_USABLE_EPOCH.
            next.producer_epoch = m.producer_epoch.saturating_add(1);
            next.last_producer_epoch = m.producer_epoch;
        }
        self.persist(&next)?;
        *m = next;
        let moving_to = m.next_producer_id;
        if let Err(e) = self.complete_transaction(&mut m) {
            tracing::warn!(transactional_id, error = %e, "transaction markers not all written yet; will retry");
            if moving_to >= 0 {
                return Ok(ProducerIdAndEpoch {
                    producer_id: moving_to,
                    producer_epoch: 0,
                });
            }
        }
        Ok(current(&m))
    }

    /// Writes the markers of a transaction in PrepareCommit / PrepareAbort, hands its group
    /// offsets over, and moves it to CompleteCommit / CompleteAbort. Safe to repeat.
    fn complete_transaction(&self, m: &mut TxnMetadata) -> Result<(), TxnError> {
        let (result, done) = match m.state {
            TxnState::PrepareCommit => (TxnResult::Commit, TxnState::CompleteCommit),
            TxnState::PrepareAbort => (TxnResult::Abort, TxnState::CompleteAbort),
            _ => return Ok(()),
        };
        let now = self.clock.now_ms();
        let pending = self.pending_offsets(&m.transactional_id)?;
        for p in &m.partitions {
            match p {
                TxnPartition::Data { topic, partition } => self.markers.write_marker(
                    topic,
                    *partition,
                    m.producer_id,
                    m.producer_epoch,
                    self.config.coordinator_epoch,
                    result,
                    now,
                )?,
                TxnPartition::GroupOffsets(group) => match result {
                    TxnResult::Commit => {
                        let offsets: Vec<TxnOffset> = pending
                            .iter()
                            .filter(|o| &o.group_id == group)
                            .map(|o| o.offset.clone())
                            .collect();
                        self.offsets
                            .commit_txn_offsets(group, m.producer_id, &offsets)?
                    }
                    TxnResult::Abort => self.offsets.abort_txn_offsets(group, m.producer_id)?,
                },
            }
        }
        let mut next = m.clone();
        next.state = done;
        next.partitions.clear();
        next.txn_start_ms = -1;
        next.last_update_ms = now;
        if m.next_producer_id >= 0 {
            // transaction.version 2 exhausted the epoch: the markers went out with the old
            // producer id and its last epoch; the producer continues with the new id.
            next.previous_producer_id = m.producer_id;
            next.producer_id = m.next_producer_id;
            next.producer_epoch = 0;
            next.last_producer_epoch = m.producer_epoch;
            next.next_producer_id = -1;
        }
        let mut batch = WriteBatch::new();
        batch.put(txn_key(&next.transactional_id), next.encode());
        for p in &pending {
            batch.delete(pending_offset_key(
                &next.transactional_id,
                &p.group_id,
                &p.offset.topic,
                p.offset.partition,
            ));
        }
        self.store.write(&batch)?;
        *m = next;
        Ok(())
    }

    // ---- background work -------------------------------------------------------------

    /// Completes transactions left in PrepareCommit / PrepareAbort (after a restart or a
    /// failed marker write). Returns how many completed.
    pub fn complete_pending_transactions(&self) -> usize {
        let entries: Vec<Entry> = self.txns.lock().values().cloned().collect();
        let mut done = 0;
        for e in entries {
            let mut m = e.lock();
            if matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
                match self.complete_transaction(&mut m) {
                    Ok(()) => done += 1,
                    Err(err) => {
                        tracing::warn!(transactional_id = %m.transactional_id, error = %err, "transaction completion failed; will retry")
                    }
                }
            }
        }
        if done > 0 {
            self.stats.send_modify(|s| s.completed_late += done as u64);
        }
        done
    }

    /// Aborts every Ongoing transaction older than its timeout, bumping the producer's epoch
    /// as Kafka does (the timed-out producer is fenced). Returns how many were aborted.
    pub fn abort_timed_out_transactions(&self) -> usize {
        let now = self.clock.now_ms();
        let entries: Vec<Entry> = self.txns.lock().values().cloned().collect();
        let mut aborted = 0;
        for e in entries {
            let mut m = e.lock();
            if m.state == TxnState::Ongoing
                && m.txn_start_ms.saturating_add(i64::from(m.timeout_ms)) < now
            {
                tracing::info!(transactional_id = %m.transactional_id, "aborting a timed-out transaction");
                match self.fence_and_abort(&mut m) {
                    Ok(()) => aborted += 1,
                    Err(err) => {
                        tracing::warn!(transactional_id = %m.transactional_id, error = %err, "timed-out transaction not aborted")
                    }
                }
            }
        }
        if aborted > 0 {
            self.stats.send_modify(|s| s.timed_out += aborted as u64);
        }
        aborted
    }

    /// Forgets transactional ids with no open transaction that were idle for
    /// `transactional.id.expiration.ms`. Returns how many.
    pub fn expire_transactional_ids(&self) -> usize {
        let now = self.clock.now_ms();
        let mut txns = self.txns.lock();
        let mut expired = Vec::new();
        for (id, e) in txns.iter() {
            let mut m = e.lock();
            let idle = matches!(
                m.state,
                TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
            ) && m
                .last_update_ms
                .saturating_add(self.config.transactional_id_expiration_ms)
                <= now;
            if !idle {
                continue;
            }
            if let Err(err) = self.store.delete(txn_key(id)) {
                tracing::warn!(transactional_id = %id, error = %err, "cannot remove expired transactional id");
                continue;
            }
            m.state = TxnState::Dead;
            expired.push(id.clone());
        }
        for id in &expired {
            txns.remove(id);
        }
        drop(txns);
        if !expired.is_empty() {
            self.stats
                .send_modify(|s| s.expired += expired.len() as u64);
        }
        expired.len()
    }

    /// Starts the background task: every `abort_timed_out_interval` it aborts timed-out
    /// transactions and retries unfinished completions; every `remove_expired_interval` it
    /// expires idle transactional ids. The task ends when the coordinator is dropped (or
    /// when the handle is aborted).
    pub fn start(self: &Arc<Self>) -> JoinHandle<()> {
        let weak: Weak<TxnCoordinator> = Arc::downgrade(self);
        let abort_every = self.config.abort_timed_out_interval;
        let expire_every = self.config.remove_expired_interval;
        tokio::spawn(async move {
            let mut abort_tick = tokio::time::interval(abort_every);
            let mut expire_tick = tokio::time::interval(expire_every);
            abort_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            expire_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = abort_tick.tick() => {
                        let Some(c) = weak.upgrade() else { break };
                        c.complete_pending_transactions();
                        c.abort_timed_out_transactions();
                    }
                    _ = expire_tick.tick() => {
                        let Some(c) = weak.upgrade() else { break };
                        c.expire_transactional_ids();
                    }
                }
            }
        })
    }
}

impl TxnConfig {
    /// The coordinator settings the broker configuration's `transaction*` options describe.
    pub fn from_broker_config(config: &crate::config::Config) -> TxnConfig {
        TxnConfig {
            transaction_max_timeout_ms: config.transaction_max_timeout_ms,
            transactional_id_expiration_ms: config.transactional_id_expiration_ms,
            abort_timed_out_interval: Duration::from_millis(
                config.transaction_abort_timed_out_transaction_cleanup_interval_ms,
            ),
            remove_expired_interval: Duration::from_millis(
                config.transaction_remove_expired_transaction_cleanup_interval_ms,
            ),
            ..TxnConfig::default()
        }
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn transaction_options_reach_the_coordinator_config() {
        let mut c = Config::default();
        assert_eq!(TxnConfig::from_broker_config(&c), TxnConfig::default());
        c.set("transaction.max.timeout.ms", "60000").unwrap();
        c.set("transactional.id.expiration.ms", "5000").unwrap();
        c.set(
            "transaction.abort.timed.out.transaction.cleanup.interval.ms",
            "250",
        )
        .unwrap();
        c.set(
            "transaction.remove.expired.transaction.cleanup.interval.ms",
            "750",
        )
        .unwrap();
        let t = TxnConfig::from_broker_config(&c);
        assert_eq!(t.transaction_max_timeout_ms, 60_000);
        assert_eq!(t.transactional_id_expiration_ms, 5000);
        assert_eq!(t.abort_timed_out_interval, Duration::from_millis(250));
        assert_eq!(t.remove_expired_interval, Duration::from_millis(750));
        assert!(c.set("transaction.max.timeout.ms", "0").is_err());
        assert!(c.set("producer.id.expiration.ms", "-1").is_err());
        assert!(c
            .set("transactional.id.expiration.ms", "4294967296")
            .is_err());
    }
}
