//! The Kafka APIs: one module per API, named after it, listed in [`registry::REGISTRY`].
//! Handlers take decoded requests and return responses; they do no socket or file I/O of
//! their own (the broker layer owns the logs).
//!
//! A handler runs in two parts. The part that must keep request order (queueing produced
//! batches on their partition's writer, auto-creating topics) runs synchronously when the
//! request is dispatched; the part that waits (the append itself and, for acks=all, its
//! fsync; Fetch long-polls) is the returned future.
//!
//! Serving a new API: a file named after it that implements [`spec::Api`], and its line
//! in [`registry::REGISTRY`]. `src/ARCHITECTURE.md` walks through it.

pub mod acl;
pub mod acl_operations;
pub mod alter_client_quotas;
pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod alter_replica_log_dirs;
pub mod alter_user_scram_credentials;
pub mod api_versions;
pub mod authorize;
pub mod chunks;
pub mod configs;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_client_quotas;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_log_dirs;
pub mod describe_quorum;
pub mod describe_topic_partitions;
pub mod describe_user_scram_credentials;
pub mod elect_leaders;
pub mod error;
pub mod fetch;
pub mod fetch_session;
pub mod get_telemetry_subscriptions;
pub mod group;
pub mod incremental_alter_configs;
pub mod list_config_resources;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
pub mod push_telemetry;
pub mod registry;
pub mod sasl_authenticate;
pub mod sasl_handshake;
pub mod share;
pub mod spec;
pub mod throttle;
pub mod token;
pub mod topic_configs;
pub mod txn;
pub mod update_features;

pub use spec::{Api, ApiContext, Call, Handled, Reply, ResponseBody, ResponseFuture, TypedFuture};

/// A protocol string from an owned one.
pub(crate) fn text(s: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(s.into())
}
