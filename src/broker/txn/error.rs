//! Errors of the transaction coordinator, each one a Kafka error code.

use kafka_protocol::ResponseError;

/// Kafka's TRANSACTION_ABORTABLE error code (KIP-890).
pub const TRANSACTION_ABORTABLE: i16 = 120;

/// What a transactional request can fail with. Every variant is one Kafka error code
/// ([`TxnError::code`]); the API layer puts it in the response as it is, except that the
/// producer-fenced code is downgraded for old request versions ([`TxnError::code_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    /// A malformed request (an empty transactional id, a producer id without an epoch).
    #[error("invalid request")]
    InvalidRequest,
    /// The transaction timeout is not in `1..=transaction.max.timeout.ms`.
    #[error("invalid transaction timeout")]
    InvalidTransactionTimeout,
    /// The producer id is not the one assigned to the transactional id (or the id is
    /// unknown).
    #[error("producer id does not match the transactional id")]
    InvalidProducerIdMapping,
    /// A newer producer with the same transactional id took over: this one is fenced.
    #[error("producer fenced by a newer epoch")]
    ProducerFenced,
    /// A stale epoch, as old request versions (before the producer-fenced code) are told.
    #[error("invalid producer epoch")]
    InvalidProducerEpoch,
    /// The request does not fit the transaction's state (ending an empty transaction,
    /// committing one being aborted).
    #[error("invalid transaction state")]
    InvalidTxnState,
    /// KIP-890 verification: the partition is not in the producer's transaction, which must
    /// be aborted (code 121, AddPartitionsToTxn v5; older versions get INVALID_TXN_STATE).
    #[error("transaction abortable")]
    TransactionAbortable,
    /// The previous transaction is still completing: retry later.
    #[error("a concurrent transaction operation is in progress")]
    ConcurrentTransactions,
    /// The transactional id is not known (DescribeTransactions).
    #[error("transactional id not found")]
    TransactionalIdNotFound,
    /// The partition does not exist.
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// Not tried because another part of the same request failed.
    #[error("operation not attempted")]
    OperationNotAttempted,
    /// TxnOffsetCommit (KIP-447): the generation (or member epoch) is not the group's.
    #[error("illegal generation")]
    IllegalGeneration,
    /// TxnOffsetCommit (KIP-447): the member is not in the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// TxnOffsetCommit (KIP-447): the static instance id belongs to another member.
    #[error("fenced instance id")]
    FencedInstanceId,
    /// The coordinator could not read or write its state: retriable.
    #[error("coordinator not available")]
    CoordinatorNotAvailable,
    /// A data partition's log failed (writing a marker).
    #[error("storage error")]
    KafkaStorageError,
    /// Anything else.
    #[error("unknown server error")]
    UnknownServerError,
}

/// The transactional APIs, for version-dependent error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnApi {
    /// InitProducerId (api key 22).
    InitProducerId,
    /// AddPartitionsToTxn (24).
    AddPartitionsToTxn,
    /// AddOffsetsToTxn (25).
    AddOffsetsToTxn,
    /// EndTxn (26).
    EndTxn,
    /// TxnOffsetCommit (28).
    TxnOffsetCommit,
}

impl TxnError {
    /// The error as a produce-path answer gives it: Kafka answers a fenced producer's
    /// Produce (and the partition verification behind it) with INVALID_PRODUCER_EPOCH
    /// rather than PRODUCER_FENCED.
    pub fn as_produce_error(self) -> TxnError {
        match self {
            TxnError::ProducerFenced => TxnError::InvalidProducerEpoch,
            other => other,
        }
    }

    /// The protocol's error type for this error.
    pub fn response_error(self) -> ResponseError {
        match self {
            TxnError::InvalidRequest => ResponseError::InvalidRequest,
            TxnError::InvalidTransactionTimeout => ResponseError::InvalidTransactionTimeout,
            TxnError::InvalidProducerIdMapping => ResponseError::InvalidProducerIdMapping,
            TxnError::ProducerFenced => ResponseError::ProducerFenced,
            TxnError::InvalidProducerEpoch => ResponseError::InvalidProducerEpoch,
            TxnError::InvalidTxnState => ResponseError::InvalidTxnState,
            TxnError::ConcurrentTransactions => ResponseError::ConcurrentTransactions,
            TxnError::TransactionAbortable => ResponseError::TransactionAbortable,
            TxnError::TransactionalIdNotFound => ResponseError::TransactionalIdNotFound,
            TxnError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
            TxnError::OperationNotAttempted => ResponseError::OperationNotAttempted,
            TxnError::IllegalGeneration => ResponseError::IllegalGeneration,
            TxnError::UnknownMemberId => ResponseError::UnknownMemberId,
            TxnError::FencedInstanceId => ResponseError::FencedInstanceId,
            TxnError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
            TxnError::KafkaStorageError => ResponseError::KafkaStorageError,
            TxnError::UnknownServerError => ResponseError::UnknownServerError,
        }
    }

    /// The Kafka error code.
    pub fn code(self) -> i16 {
        self.response_error().code()
    }

    /// The code to send for `api` at request `version`: PRODUCER_FENCED (KIP-588) is only
    /// understood from InitProducerId v4, AddPartitionsToTxn / AddOffsetsToTxn / EndTxn v2 and
    /// TxnOffsetCommit v3; older clients get INVALID_PRODUCER_EPOCH, as Kafka sends them.
    /// TRANSACTION_ABORTABLE (KIP-890) needs InitProducerId v5, AddPartitionsToTxn v5,
    /// AddOffsetsToTxn v4, EndTxn v4 or TxnOffsetCommit v4; before it is INVALID_TXN_STATE.
    pub fn code_for(self, api: TxnApi, version: i16) -> i16 {
        let first_abortable_version = match api {
            TxnApi::InitProducerId | TxnApi::AddPartitionsToTxn => 5,
            TxnApi::AddOffsetsToTxn | TxnApi::EndTxn | TxnApi::TxnOffsetCommit => 4,
        };
        if self == TxnError::TransactionAbortable && version < first_abortable_version {
            return TxnError::InvalidTxnState.code();
        }
        let first_fenced_version = match api {
            TxnApi::InitProducerId => 4,
            TxnApi::AddPartitionsToTxn | TxnApi::AddOffsetsToTxn | TxnApi::EndTxn => 2,
            TxnApi::TxnOffsetCommit => 3,
        };
        if self == TxnError::ProducerFenced && version < first_fenced_version {
            TxnError::InvalidProducerEpoch.code()
        } else {
            self.code()
        }
    }
}

/// The Kafka error code of a result: 0 on success.
pub fn error_code<T>(result: &Result<T, TxnError>) -> i16 {
    match result {
        Ok(_) => 0,
        Err(e) => e.code(),
    }
}

impl From<crate::storage::StorageError> for TxnError {
    fn from(e: crate::storage::StorageError) -> Self {
        tracing::warn!(error = %e, "transaction coordinator storage failure");
        TxnError::CoordinatorNotAvailable
    }
}
