//! Errors of a partition: what an append, a read or an offset lookup can fail with. The
//! API layer turns each into a Kafka error code in one place (`api/error.rs`).

use crate::broker::txn::TxnError;
use crate::storage::StorageError;

/// One record a batch was refused for (Kafka's `record_errors` of a Produce response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Index of the record within its batch.
    pub batch_index: i32,
    /// Why it was refused.
    pub message: String,
}

/// What a partition operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// The topic or partition does not exist here.
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// The topic's name breaks Kafka's rules, or it is an internal topic clients may not
    /// write to.
    #[error("invalid topic `{0}`")]
    InvalidTopic(String),
    /// acks=all asks for more in-sync replicas than there are (`min.insync.replicas`).
    #[error("not enough in-sync replicas")]
    NotEnoughReplicas,
    /// The records do not parse as whole record batches.
    #[error("corrupt records: {0}")]
    CorruptRecords(&'static str),
    /// A batch is larger than the topic allows.
    #[error("batch of {size} bytes exceeds the limit of {max}")]
    RecordsTooLarge {
        /// Size of the batch.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A batch whose header is not acceptable (no records, a control batch from a client,
    /// an unknown codec).
    #[error("invalid batch: {0}")]
    InvalidBatch(&'static str),
    /// A record that is well formed but not acceptable (a compacted topic's record without
    /// a key).
    #[error("invalid record: {message}")]
    InvalidRecord {
        /// What is wrong.
        message: String,
        /// The records refused, if known.
        record_errors: Vec<RecordError>,
    },
    /// A CreateTime timestamp outside the topic's accepted window.
    #[error("timestamp outside the accepted window")]
    InvalidTimestamp,
    /// A transactional batch in a request that names no transactional id.
    #[error("transactional batch without a transactional id")]
    TransactionalIdRequired,
    /// The transaction coordinator refused a transactional batch (KIP-890 verification).
    #[error("transaction verification failed: {0}")]
    Transaction(#[from] TxnError),
    /// The client's leader epoch is older than the partition's.
    #[error("fenced leader epoch {requested} (current {current})")]
    FencedLeaderEpoch {
        /// The epoch the client named.
        requested: i32,
        /// The partition's epoch.
        current: i32,
    },
    /// The client's leader epoch is newer than the partition's.
    #[error("unknown leader epoch {requested} (current {current})")]
    UnknownLeaderEpoch {
        /// The epoch the client named.
        requested: i32,
        /// The partition's epoch.
        current: i32,
    },
    /// An offset outside the log (DeleteRecords beyond the high watermark).
    #[error("offset {0} out of range")]
    OffsetOutOfRange(i64),
    /// The topic's configuration forbids the operation (DeleteRecords on a compacted
    /// topic).
    #[error("policy violation: {0}")]
    PolicyViolation(&'static str),
    /// An offset lookup that the protocol does not define.
    #[error("invalid offset request")]
    InvalidRequest,
    /// The partition's writer stopped before answering (broker shutting down).
    #[error("partition writer stopped")]
    WriterStopped,
    /// An error of the storage engine.
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for PartitionError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::InvalidRecord {
                message,
                record_errors,
            } => PartitionError::InvalidRecord {
                message,
                record_errors: record_errors
                    .into_iter()
                    .map(|r| RecordError {
                        batch_index: r.batch_index,
                        message: r.message,
                    })
                    .collect(),
            },
            other => PartitionError::Storage(other),
        }
    }
}
