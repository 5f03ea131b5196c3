//! The broker: topics and partitions (the topic registry of names, ids and partition
//! counts, and the replica manager that maps each topic-partition to its log), the group
//! coordinator, producer ids and transactions, and client quotas. [`Partition`] is the one
//! seam between the protocol layer and a partition's log.

pub mod authorizer;
pub mod client_metrics;
pub mod cluster;
pub mod config_entries;
pub mod dynamic_config;
pub mod error;
pub mod features;
pub mod group;
pub mod internal_topics;
mod meta_file;
pub mod partition;
pub mod quota;
pub mod replica_manager;
pub mod security;
pub mod share;
pub mod topic_config;
pub mod topics;
pub mod txn;

pub use error::{BrokerError, Result};
pub use partition::{Partition, PartitionError};
pub use replica_manager::ReplicaManager;
pub use topics::{validate_topic_name, TopicMetadata, TopicRegistry};

/// The storage engine's error, as the broker layer's errors carry it (the API layer maps
/// it to a Kafka error code without reaching into `storage/`).
pub use crate::storage::StorageError;
