//! Errors of the broker layer.

use crate::storage::StorageError;

/// What the broker layer (topics, partitions, broker metadata) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A topic name that breaks Kafka's rules.
    #[error("invalid topic name `{name}`: {reason}")]
    InvalidTopic {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A partition count that is not positive.
    #[error("invalid partition count {0}")]
    InvalidPartitions(i32),
    /// A topic that does not exist.
    #[error("unknown topic `{0}`")]
    UnknownTopic(String),
    /// A topic config name or value that is refused.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// A broker metadata file that fails its checks.
    #[error("broker metadata file {path} is corrupt: {reason}")]
    CorruptMetadata {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An I/O error on broker metadata files.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// An error of the storage engine.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Result alias of the broker layer.
pub type Result<T, E = BrokerError> = std::result::Result<T, E>;
