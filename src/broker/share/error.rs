//! The share-group layer's errors; `api::error::share_error_code` maps each to its Kafka code.

/// Everything a share-group call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// A malformed request (bad acknowledgement batches, a missing member id).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An acknowledgement of a record the member does not hold.
    #[error("invalid record state: {0}")]
    InvalidRecordState(String),
    /// A share session epoch other than the one expected.
    #[error("invalid share session epoch")]
    InvalidShareSessionEpoch,
    /// No share session for the member.
    #[error("share session not found")]
    ShareSessionNotFound,
    /// `group.share.max.share.sessions` sessions are open.
    #[error("share session limit reached")]
    ShareSessionLimitReached,
    /// The member is not in the group.
    #[error("unknown member id")]
    UnknownMemberId,
    /// The member epoch is not the member's current one.
    #[error("fenced member epoch")]
    FencedMemberEpoch,
    /// No such share group.
    #[error("group id not found: {0}")]
    GroupIdNotFound(String),
    /// The group still has members.
    #[error("group is not empty")]
    NonEmptyGroup,
    /// The group reached `group.share.max.size`.
    #[error("group max size reached")]
    GroupMaxSizeReached,
    /// An empty group id.
    #[error("invalid group id")]
    InvalidGroupId,
    /// The topic does not exist.
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// The topic id is not known.
    #[error("unknown topic id")]
    UnknownTopicId,
    /// The state store failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The stored state of a share-partition cannot be read.
    #[error("corrupt share state: {0}")]
    Corrupt(String),
}

impl From<crate::storage::StorageError> for ShareError {
    fn from(e: crate::storage::StorageError) -> Self {
        ShareError::Storage(e.to_string())
    }
}

/// Result alias of the share-group layer.
pub type Result<T, E = ShareError> = std::result::Result<T, E>;
