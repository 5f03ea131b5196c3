//! The consumer-group APIs: FindCoordinator, the classic protocol (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), committed offsets (OffsetCommit, OffsetFetch, OffsetDelete),
//! group administration (ListGroups, DescribeGroups, DeleteGroups) and KIP-848
//! (ConsumerGroupHeartbeat, ConsumerGroupDescribe).
//!
//! Each handler converts the kafka-protocol request of the negotiated version into the
//! coordinator's plain request ([`crate::broker::group::types`]), calls the coordinator and
//! converts its answer back, setting only the fields that exist at that version. Error
//! codes come from [`GroupError::code`]; handlers translate those a response version does
//! not define.

pub mod consumer;
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;
pub mod delete_groups;
pub mod describe_groups;
pub mod find_coordinator;
pub mod heartbeat;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod membership;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offsets;
pub mod sync_group;

use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::group::GroupError;

/// Who sent a request: recorded by the coordinator for DescribeGroups and
/// ConsumerGroupDescribe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The request header's client id.
    pub client_id: String,
    /// The client's address (as Kafka reports it: `/ip`).
    pub host: String,
}

impl ClientInfo {
    /// The client of a call, as the coordinator records it.
    pub fn of(call: &crate::api::Call) -> ClientInfo {
        ClientInfo {
            client_id: call.client_id.clone().unwrap_or_default(),
            host: format!("/{}", call.peer.ip()),
        }
    }
}

pub(crate) fn string(s: &StrBytes) -> String {
    s.to_string()
}

pub(crate) fn opt_string(s: &Option<StrBytes>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

pub(crate) fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

pub(crate) fn group_id(s: impl Into<String>) -> GroupId {
    GroupId(str_bytes(s))
}

pub(crate) fn topic_name(s: impl Into<String>) -> TopicName {
    TopicName(str_bytes(s))
}

/// The code of an optional coordinator error (0 for none).
pub(crate) fn code(error: &Option<GroupError>) -> i16 {
    GroupError::code_of(error)
}
