//! The API registry: every Kafka API Skiff serves, in one table.
//!
//! Each API lives in a module named after it (`api/describe_log_dirs.rs`,
//! `api/group/join_group.rs`) and declares itself by implementing [`Api`]
//! ([`super::spec`]). [`REGISTRY`] lists them; decoding, dispatch, encoding and the
//! ApiVersions answer all come from that list. Serving a new API is one new file and one
//! line in [`REGISTRY`].

use kafka_protocol::messages::ApiKey;

use super::acl::{create_acls::CreateAcls, delete_acls::DeleteAcls, describe_acls::DescribeAcls};
use super::group::{
    consumer_group_describe::ConsumerGroupDescribe,
    consumer_group_heartbeat::ConsumerGroupHeartbeat, delete_groups::DeleteGroups,
    describe_groups::DescribeGroups, find_coordinator::FindCoordinator, heartbeat::Heartbeat,
    join_group::JoinGroup, leave_group::LeaveGroup, list_groups::ListGroups,
    offset_commit::OffsetCommit, offset_delete::OffsetDelete, offset_fetch::OffsetFetch,
    sync_group::SyncGroup,
};
use super::share::{
    alter_share_group_offsets::AlterShareGroupOffsets,
    delete_share_group_offsets::DeleteShareGroupOffsets,
    describe_share_group_offsets::DescribeShareGroupOffsets, share_acknowledge::ShareAcknowledge,
    share_fetch::ShareFetch, share_group_describe::ShareGroupDescribe,
    share_group_heartbeat::ShareGroupHeartbeat,
};
#[cfg(doc)]
use super::spec::Api;
use super::spec::{entry, ApiEntry};
use super::token::{
    create_delegation_token::CreateDelegationToken,
    describe_delegation_token::DescribeDelegationToken,
    expire_delegation_token::ExpireDelegationToken, renew_delegation_token::RenewDelegationToken,
};
use super::txn::{
    add_offsets_to_txn::AddOffsetsToTxn, add_partitions_to_txn::AddPartitionsToTxn,
    describe_producers::DescribeProducers, describe_transactions::DescribeTransactions,
    end_txn::EndTxn, init_producer_id::InitProducerId, list_transactions::ListTransactions,
    txn_offset_commit::TxnOffsetCommit,
};
use super::{
    alter_client_quotas::AlterClientQuotas, alter_configs::AlterConfigs,
    alter_partition_reassignments::AlterPartitionReassignments,
    alter_replica_log_dirs::AlterReplicaLogDirs,
    alter_user_scram_credentials::AlterUserScramCredentials, api_versions::ApiVersions,
    create_partitions::CreatePartitions, create_topics::CreateTopics,
    delete_records::DeleteRecords, delete_topics::DeleteTopics,
    describe_client_quotas::DescribeClientQuotas, describe_cluster::DescribeCluster,
    describe_configs::DescribeConfigs, describe_log_dirs::DescribeLogDirs,
    describe_quorum::DescribeQuorum, describe_topic_partitions::DescribeTopicPartitions,
    describe_user_scram_credentials::DescribeUserScramCredentials, elect_leaders::ElectLeaders,
    fetch::Fetch, get_telemetry_subscriptions::GetTelemetrySubscriptions,
    incremental_alter_configs::IncrementalAlterConfigs, list_config_resources::ListConfigResources,
    list_offsets::ListOffsets, list_partition_reassignments::ListPartitionReassignments,
    metadata::Metadata, offset_for_leader_epoch::OffsetForLeaderEpoch, produce::Produce,
    push_telemetry::PushTelemetry, sasl_authenticate::SaslAuthenticate,
    sasl_handshake::SaslHandshake, update_features::UpdateFeatures,
};

/// Every API Skiff serves, in ApiVersions order (by key).
pub const REGISTRY: &[ApiEntry] = &[
    entry::<Produce>(),
    entry::<Fetch>(),
    entry::<ListOffsets>(),
    entry::<Metadata>(),
    entry::<OffsetCommit>(),
    entry::<OffsetFetch>(),
    entry::<FindCoordinator>(),
    entry::<JoinGroup>(),
    entry::<Heartbeat>(),
    entry::<LeaveGroup>(),
    entry::<SyncGroup>(),
    entry::<DescribeGroups>(),
    entry::<ListGroups>(),
    entry::<SaslHandshake>(),
    entry::<ApiVersions>(),
    entry::<CreateTopics>(),
    entry::<DeleteTopics>(),
    entry::<DeleteRecords>(),
    entry::<InitProducerId>(),
    entry::<OffsetForLeaderEpoch>(),
    entry::<AddPartitionsToTxn>(),
    entry::<AddOffsetsToTxn>(),
    entry::<EndTxn>(),
    entry::<TxnOffsetCommit>(),
    entry::<DescribeAcls>(),
    entry::<CreateAcls>(),
    entry::<DeleteAcls>(),
    entry::<DescribeConfigs>(),
    entry::<AlterConfigs>(),
    entry::<AlterReplicaLogDirs>(),
    entry::<DescribeLogDirs>(),
    entry::<SaslAuthenticate>(),
    entry::<CreatePartitions>(),
    entry::<CreateDelegationToken>(),
    entry::<RenewDelegationToken>(),
    entry::<ExpireDelegationToken>(),
    entry::<DescribeDelegationToken>(),
    entry::<DeleteGroups>(),
    entry::<ElectLeaders>(),
    entry::<IncrementalAlterConfigs>(),
    entry::<AlterPartitionReassignments>(),
    entry::<ListPartitionReassignments>(),
    entry::<OffsetDelete>(),
    entry::<DescribeClientQuotas>(),
    entry::<AlterClientQuotas>(),
    entry::<DescribeUserScramCredentials>(),
    entry::<AlterUserScramCredentials>(),
    entry::<DescribeQuorum>(),
    entry::<UpdateFeatures>(),
    entry::<DescribeCluster>(),
    entry::<DescribeProducers>(),
    entry::<DescribeTransactions>(),
    entry::<ListTransactions>(),
    entry::<ConsumerGroupHeartbeat>(),
    entry::<ConsumerGroupDescribe>(),
    entry::<GetTelemetrySubscriptions>(),
    entry::<PushTelemetry>(),
    entry::<ListConfigResources>(),
    entry::<DescribeTopicPartitions>(),
    entry::<ShareGroupHeartbeat>(),
    entry::<ShareGroupDescribe>(),
    entry::<ShareFetch>(),
    entry::<ShareAcknowledge>(),
    entry::<DescribeShareGroupOffsets>(),
    entry::<AlterShareGroupOffsets>(),
    entry::<DeleteShareGroupOffsets>(),
];

/// The registry row of `key`, if Skiff serves it.
pub fn lookup(key: ApiKey) -> Option<&'static ApiEntry> {
    REGISTRY.iter().find(|e| e.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ApiKey::Produce` → `produce`, `DescribeLogDirs` → `describe_log_dirs`.
    fn snake_case(key: ApiKey) -> String {
        let mut out = String::new();
        for (i, c) in format!("{key:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    fn find_file(dir: &std::path::Path, name: &str) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            let path = e.path();
            if path.is_dir() {
                find_file(&path, name)
            } else {
                path.file_name().is_some_and(|f| f == name)
            }
        })
    }

    #[test]
    fn every_served_api_has_a_file_named_after_it() {
        let api_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
        for e in REGISTRY {
            let file = format!("{}.rs", snake_case(e.key));
            assert!(
                find_file(&api_dir, &file),
                "{:?} has no src/api/**/{file}",
                e.key
            );
        }
    }

    #[test]
    fn keys_are_unique_sorted_and_within_kafka_protocols_versions() {
        for pair in REGISTRY.windows(2) {
            assert!((pair[0].key as i16) < (pair[1].key as i16), "{pair:?}");
        }
        for e in REGISTRY {
            let known = e.key.valid_versions();
            // Versions past kafka-protocol's come from api::share::messages.
            let known_max = crate::api::share::messages::EXTENDED_VERSIONS
                .iter()
                .find(|(key, _)| *key == e.key)
                .map_or(known.max, |(_, v)| *v);
            assert!(e.min_version <= e.min_served && e.min_served <= e.max_version);
            assert!(
                e.max_version <= known_max && e.min_served >= known.min,
                "{:?} serves {}..={} but kafka-protocol decodes {}..={}",
                e.key,
                e.min_served,
                e.max_version,
                known.min,
                known.max
            );
        }
    }
}
