//! The operator APIs: DescribeTransactions, ListTransactions and DescribeProducers.

use crate::broker::txn::coordinator::TxnCoordinator;
use crate::broker::txn::error::TxnError;
use crate::broker::txn::state::{TxnPartition, TxnState};
use crate::storage::Storage;

/// One transaction as DescribeTransactions shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnDescription {
    /// The transactional id.
    pub transactional_id: String,
    /// Its state name ("Ongoing", …), or an error (TRANSACTIONAL_ID_NOT_FOUND).
    pub result: Result<TxnDescribed, TxnError>,
}

/// The described fields of a known transactional id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnDescribed {
    /// The state.
    pub state: TxnState,
    /// The transaction timeout.
    pub transaction_timeout_ms: i32,
    /// When the open transaction started, or -1.
    pub transaction_start_time_ms: i64,
    /// The producer id.
    pub producer_id: i64,
    /// The producer epoch.
    pub producer_epoch: i16,
    /// The partitions in the transaction. Group offsets appear as
    /// [`TxnPartition::GroupOffsets`]; the API layer shows them as the group's
    /// `__consumer_offsets` partition.
    pub partitions: Vec<TxnPartition>,
}

/// ListTransactions' filters (empty means no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTransactionsFilter {
    /// State names to keep.
    pub states: Vec<String>,
    /// Producer ids to keep.
    pub producer_ids: Vec<i64>,
    /// v1: keep only transactions running at least this long (ms); negative for all.
    pub duration_ms: i64,
}

/// One listed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnListing {
    /// The transactional id.
    pub transactional_id: String,
    /// The producer id.
    pub producer_id: i64,
    /// The state.
    pub state: TxnState,
}

/// ListTransactions' answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTransactionsResult {
    /// State filters that name no state.
    pub unknown_state_filters: Vec<String>,
    /// The matching transactions, by transactional id.
    pub transactions: Vec<TxnListing>,
}

impl TxnCoordinator {
    /// DescribeTransactions: each id's state, or TRANSACTIONAL_ID_NOT_FOUND.
    pub fn describe_transactions(&self, transactional_ids: &[String]) -> Vec<TxnDescription> {
        transactional_ids
            .iter()
            .map(|id| TxnDescription {
                transactional_id: id.clone(),
                result: match self.metadata(id) {
                    Some(m) if m.state != TxnState::Dead => Ok(TxnDescribed {
                        state: m.state,
                        transaction_timeout_ms: m.timeout_ms,
                        transaction_start_time_ms: m.txn_start_ms,
                        producer_id: m.producer_id,
                        producer_epoch: m.producer_epoch,
                        partitions: m.partitions.into_iter().collect(),
                    }),
                    _ => Err(TxnError::TransactionalIdNotFound),
                },
            })
            .collect()
    }

    /// ListTransactions: transactions matching every given filter (Dead ones never). State
    /// filters that name no state are reported back and match nothing.
    pub fn list_transactions(&self, filter: &ListTransactionsFilter) -> ListTransactionsResult {
        let mut states = Vec::new();
        let mut unknown_state_filters = Vec::new();
        for name in &filter.states {
            match TxnState::from_name(name) {
                Some(s) => states.push(s),
                None => unknown_state_filters.push(name.clone()),
            }
        }
        let now = self.now_ms();
        let mut transactions: Vec<TxnListing> = self
            .all_metadata()
            .into_iter()
            .filter(|m| filter.states.is_empty() || states.contains(&m.state))
            .filter(|m| {
                filter.producer_ids.is_empty() || filter.producer_ids.contains(&m.producer_id)
            })
            // As Kafka: a transaction with no start time (-1) passes any duration filter.
            .filter(|m| filter.duration_ms < 0 || now - m.txn_start_ms >= filter.duration_ms)
            .map(|m| TxnListing {
                transactional_id: m.transactional_id,
                producer_id: m.producer_id,
                state: m.state,
            })
            .collect();
        transactions.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        ListTransactionsResult {
            unknown_state_filters,
            transactions,
        }
    }
}

/// One producer of a partition, as DescribeProducers shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerDescription {
    /// Producer id.
    pub producer_id: i64,
    /// Its epoch in this partition.
    pub producer_epoch: i32,
    /// Sequence of its last record, or -1.
    pub last_sequence: i32,
    /// Timestamp of its last write.
    pub last_timestamp: i64,
    /// Coordinator epoch of its last marker, or -1.
    pub coordinator_epoch: i32,
    /// First offset of its open transaction, or -1.
    pub current_txn_start_offset: i64,
}

/// DescribeProducers for one partition: the active producers from the log's producer
/// state, by producer id; UNKNOWN_TOPIC_OR_PARTITION for a partition the broker lacks.
pub fn describe_producers(
    storage: &Storage,
    topic: &str,
    partition: i32,
) -> Result<Vec<ProducerDescription>, TxnError> {
    let log = storage
        .get(topic, partition)
        .ok_or(TxnError::UnknownTopicOrPartition)?;
    let state = log.producer_state();
    let mut out: Vec<ProducerDescription> = state
        .producers()
        .map(|(id, e)| ProducerDescription {
            producer_id: *id,
            producer_epoch: i32::from(e.epoch),
            last_sequence: e.batches.back().map_or(-1, |b| b.last_seq),
            last_timestamp: e.last_timestamp,
            coordinator_epoch: e.coordinator_epoch,
            current_txn_start_offset: e.txn_first_offset.unwrap_or(-1),
        })
        .collect();
    out.sort_by_key(|p| p.producer_id);
    Ok(out)
}
