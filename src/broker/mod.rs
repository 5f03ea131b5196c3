//! Topics and partitions of this broker: the topic registry (names, ids, partition counts)
//! and the replica manager that maps each topic-partition to its log.

pub mod cluster;
pub mod error;
mod meta_file;
pub mod replica_manager;
pub mod topics;

pub use error::{BrokerError, Result};
pub use replica_manager::ReplicaManager;
pub use topics::{validate_topic_name, TopicMetadata, TopicRegistry};
