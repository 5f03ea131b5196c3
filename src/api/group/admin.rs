//! Group administration: ListGroups v0–v5, DescribeGroups v0–v5, DeleteGroups v0–v2.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    ListGroupsRequest, ListGroupsResponse,
};

use super::{code, group_id, str_bytes, string};
use crate::api::ApiContext;

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

/// DescribeGroups: members with metadata and assignments; unknown groups are `Dead`.
pub fn describe(
    ctx: &ApiContext,
    version: i16,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let ids: Vec<String> = req.groups.iter().map(|g| string(g)).collect();
    let groups = ctx
        .groups
        .describe_groups(&ids)
        .into_iter()
        .map(|g| {
            DescribedGroup::default()
                .with_error_code(code(&g.error))
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
    DescribeGroupsResponse::default().with_groups(groups)
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
