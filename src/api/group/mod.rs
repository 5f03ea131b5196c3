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

pub mod admin;
pub mod consumer;
pub mod find_coordinator;
pub mod membership;
pub mod offsets;

use std::net::SocketAddr;

use kafka_protocol::messages::{GroupId, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::Request;
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

/// Fills in the client of the group requests that record it; other requests are left alone.
pub fn attach_client(request: &mut Request, client_id: Option<&StrBytes>, peer: SocketAddr) {
    let info = match request {
        Request::JoinGroup(_, info) | Request::ConsumerGroupHeartbeat(_, info) => info,
        _ => return,
    };
    info.client_id = client_id.map(|c| c.to_string()).unwrap_or_default();
    info.host = format!("/{}", peer.ip());
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

/// Appends an unsigned varint (the length prefix of the compact encodings), for the
/// response versions Skiff encodes beyond kafka-protocol.
pub(crate) fn put_uvarint(out: &mut bytes::BytesMut, mut v: u64) {
    use bytes::BufMut;
    while v >= 0x80 {
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}
