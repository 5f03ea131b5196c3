//! The broker: topics and partitions (the topic registry of names, ids and partition
//! counts, and the replica manager that maps each topic-partition to its log), the group
//! coordinator, and producer ids and transactions.

pub mod cluster;
pub mod config_entries;
pub mod dynamic_config;
pub mod error;
pub mod group;
pub mod internal_topics;
mod meta_file;
pub mod replica_manager;
pub mod topic_config;
pub mod topics;
pub mod txn;

pub use error::{BrokerError, Result};
pub use replica_manager::ReplicaManager;
pub use topics::{validate_topic_name, TopicMetadata, TopicRegistry};
