//! Group administration: ListGroups v0–v5, DescribeGroups v0–v6, DeleteGroups v0–v2.

use bytes::{BufMut, BytesMut};

use super::put_uvarint;
use kafka_protocol::protocol::Encodable;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    ListGroupsRequest, ListGroupsResponse,
};

use super::{code, group_id, str_bytes, string};
use crate::api::{acl_operations, ApiContext};
use crate::broker::group::GroupError;

/// ListGroups: states filter from v4, types filter from v5.
pub fn list(ctx: &ApiContext, version: i16, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = if version >= 4 {
        req.states_filter.iter().map(string).collect()
    } else {
        Vec::new()
    };
    let types: Vec<String> = if version >= 5 {
        req.types_filter.iter().map(string).collect()
    } else {
        Vec::new()
    };
    let groups = ctx
        .groups
        .list_groups(&states, &types)
        .into_iter()
        .map(|g| {
            let mut listed = ListedGroup::default()
                .with_group_id(group_id(g.group_id))
                .with_protocol_type(str_bytes(g.protocol_type));
            if version >= 4 {
                listed.group_state = str_bytes(g.group_state);
            }
            if version >= 5 {
                listed.group_type = str_bytes(g.group_type.name());
            }
            listed
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

/// DescribeGroups v0–v6: members with metadata and assignments. An unknown group is `Dead`;
/// from v6 (KIP-1043) it also carries GROUP_ID_NOT_FOUND and a message, as Kafka's.
pub fn describe(ctx: &ApiContext, version: i16, req: DescribeGroupsRequest) -> DescribeGroups {
    let ids: Vec<String> = req.groups.iter().map(|g| string(g)).collect();
    let mut messages = Vec::with_capacity(ids.len());
    let groups = ctx
        .groups
        .describe_groups(&ids)
        .into_iter()
        .map(|g| {
            let not_found = g.error == Some(GroupError::GroupIdNotFound);
            if not_found {
                messages.push(Some(format!("Group {} not found.", g.group_id)));
            } else {
                messages.push(None);
            }
            let error = if not_found && version < 6 {
                0
            } else {
                code(&g.error)
            };
            let operations = acl_operations::if_requested(
                version >= 3 && req.include_authorized_operations && !not_found,
                acl_operations::GROUP,
            );
            DescribedGroup::default()
                .with_authorized_operations(operations)
                .with_error_code(error)
                .with_group_id(group_id(g.group_id))
                .with_group_state(str_bytes(g.group_state))
                .with_protocol_type(str_bytes(g.protocol_type))
                .with_protocol_data(str_bytes(g.protocol_data))
                .with_members(
                    g.members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(m.member_id))
                                .with_group_instance_id(if version >= 4 {
                                    m.group_instance_id.map(str_bytes)
                                } else {
                                    None
                                })
                                .with_client_id(str_bytes(m.client_id))
                                .with_client_host(str_bytes(m.client_host))
                                .with_member_metadata(m.member_metadata)
                                .with_member_assignment(m.member_assignment)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeGroups {
        body: DescribeGroupsResponse::default().with_groups(groups),
        error_messages: messages,
    }
}

/// A DescribeGroups answer: the body kafka-protocol encodes (up to v5), and each group's
/// error message, which v6 adds after the group's error code.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribeGroups {
    /// The response as of v5.
    pub body: DescribeGroupsResponse,
    /// Per group, in order: v6's `ErrorMessage`.
    pub error_messages: Vec<Option<String>>,
}

/// The last DescribeGroups version kafka-protocol encodes; v6 only adds `ErrorMessage`.
const LAST_ENCODED_VERSION: i16 = 5;

impl DescribeGroups {
    /// Encodes the response body at `version` (v0–v6).
    pub fn encode(&self, out: &mut BytesMut, version: i16) -> Result<(), String> {
        if version <= LAST_ENCODED_VERSION {
            return self.body.encode(out, version).map_err(|e| e.to_string());
        }
        // v6 = v5 with a compact nullable string after each group's error code.
        out.put_i32(self.body.throttle_time_ms);
        put_uvarint(out, self.body.groups.len() as u64 + 1);
        for (i, group) in self.body.groups.iter().enumerate() {
            let mut one = BytesMut::new();
            group
                .encode(&mut one, LAST_ENCODED_VERSION)
                .map_err(|e| e.to_string())?;
            let (error_code, rest) = one.split_at(2);
            out.extend_from_slice(error_code);
            match self.error_messages.get(i).and_then(Option::as_deref) {
                None => put_uvarint(out, 0),
                Some(m) => {
                    put_uvarint(out, m.len() as u64 + 1);
                    out.extend_from_slice(m.as_bytes());
                }
            }
            out.extend_from_slice(rest);
        }
        // No tagged fields.
        put_uvarint(out, 0);
        Ok(())
    }
}

/// DeleteGroups: groups with members are refused with NON_EMPTY_GROUP.
pub fn delete(ctx: &ApiContext, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let ids: Vec<String> = req.groups_names.iter().map(|g| string(g)).collect();
    let results = ctx
        .groups
        .delete_groups(&ids)
        .into_iter()
        .map(|(id, error)| {
            DeletableGroupResult::default()
                .with_group_id(group_id(id))
                .with_error_code(code(&error))
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
