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
//! Background work: [`TxnCoordinator::start`] (timeouts, late completions, id expiry) and
//! [`spawn_producer_expiry`] (`producer.id.expiration.ms` over the partition logs).
//!
//! and maps each [`TxnError`] to its code with [`TxnError::code_for`].

pub mod coordinator;
pub mod describe;
pub mod error;
pub mod markers;
pub mod producer_expiry;
pub mod producer_ids;
pub mod state;

pub use coordinator::{
    AddPartitionsRequest, InitProducerIdRequest, PartitionResult, ProducerIdAndEpoch, TxnConfig,
    TxnCoordinator, TxnOffsetCommitPartition, TxnOffsetCommitRequest,
};
pub use describe::{
    describe_producers, ListTransactionsFilter, ListTransactionsResult, ProducerDescription,
    TxnDescribed, TxnDescription, TxnListing,
};
pub use error::{error_code, TxnApi, TxnError};
pub use markers::{Clock, LogMarkerWriter, MarkerWriter, OffsetSink, TokioClock};
pub use producer_expiry::{expire_idle_producers, spawn_producer_expiry};
pub use producer_ids::ProducerIdManager;
pub use state::{PendingOffset, TxnMetadata, TxnOffset, TxnPartition, TxnResult, TxnState};
