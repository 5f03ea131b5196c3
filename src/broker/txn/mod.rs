//! Producer ids and transactions: the transaction coordinator of KIP-98 (with KIP-360's
//! epoch bumps and KIP-890's verification), durable in the keyed state store.
//!
//! The API layer calls, per request:
//! - InitProducerId → [`TxnCoordinator::init_producer_id`]
//! - AddPartitionsToTxn → [`TxnCoordinator::add_partitions_to_txn`] (once per transaction of
//!   a v4+ batched request; `verify_only` included)
//! - AddOffsetsToTxn → [`TxnCoordinator::add_offsets_to_txn`]
//! - EndTxn → [`TxnCoordinator::end_txn`]
//! - TxnOffsetCommit → [`TxnCoordinator::txn_offset_commit`] (offsets reach the group
//!   coordinator through [`OffsetSink`] on commit)
//! - DescribeTransactions / ListTransactions → [`TxnCoordinator::describe_transactions`] /
//!   [`TxnCoordinator::list_transactions`]
//! - DescribeProducers → [`describe_producers`]
//! - Produce of a transactional batch → [`TxnCoordinator::verify_produce`] first (KIP-890)
//! - OffsetFetch with `require_stable` → [`TxnCoordinator::has_pending_offset`]
//!
//! Each [`TxnError`] becomes its code through [`TxnError::code_for`] (version-dependent
//! downgrades of PRODUCER_FENCED and TRANSACTION_ABORTABLE).
//!
//! Setting up: `TxnCoordinator::open(config, state_store, Arc::new(LogMarkerWriter::new(storage)),
//! group_offset_sink, Arc::new(TokioClock::new()))` (the state store should sync its WAL on
//! every write, the default), then `coordinator.start()` inside the runtime. FindCoordinator
//! with key type 1 (transaction) answers with this broker.
//!
//! Request mapping notes: InitProducerId errors go out with producer id -1 and epoch -1;
//! AddPartitionsToTxn v0–v3 is one [`AddPartitionsRequest`] built from the top-level fields,
//! v4+ one per entry of `transactions`; DescribeTransactions shows
//! [`TxnPartition::GroupOffsets`] as the group's `__consumer_offsets` partition.
//! [`OffsetSink`] methods run while the transaction is locked: they must not call back into
//! the coordinator's request methods.
//!
//! The request methods are synchronous and may wait for fsyncs (state store, markers): from
//! async handlers call them directly for small work or through `spawn_blocking`.
//!
//! Background work: [`TxnCoordinator::start`] (timeouts, late completions, id expiry) and
//! [`spawn_producer_expiry`] (`producer.id.expiration.ms` over the partition logs).

pub mod coordinator;
pub mod describe;
pub mod error;
pub mod markers;
pub mod producer_expiry;
pub mod producer_ids;
pub mod state;

pub use coordinator::{
    AddPartitionsRequest, InitProducerIdRequest, PartitionResult, ProducerIdAndEpoch, TxnConfig,
    TxnCoordinator, TxnOffsetCommitPartition, TxnOffsetCommitRequest, TxnStats,
};
pub use describe::{
    describe_producers, ListTransactionsFilter, ListTransactionsResult, ProducerDescription,
    TxnDescribed, TxnDescription, TxnListing,
};
pub use error::{error_code, TxnApi, TxnError};
pub use markers::{Clock, LogMarkerWriter, MarkerWriter, OffsetSink, TokioClock};
pub use producer_expiry::{
    expire_idle_producers, spawn_producer_expiry, spawn_producer_expiry_with,
};
pub use producer_ids::ProducerIdManager;
pub use state::{PendingOffset, TxnMetadata, TxnOffset, TxnPartition, TxnResult, TxnState};
