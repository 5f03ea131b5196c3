//! DescribeGroups (v0–v6).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::{code, group_id, str_bytes, string};
use crate::api::{acl_operations, ApiContext};
use crate::broker::group::GroupError;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// DescribeGroups v0–v6: members with metadata and assignments. An unknown group is `Dead`;
/// from v6 (KIP-1043) it also carries GROUP_ID_NOT_FOUND and a message, as Kafka's. A group
/// the caller may not DESCRIBE is GROUP_AUTHORIZATION_FAILED.
pub fn describe(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let version = call.version;
    let ids: Vec<String> = req.groups.iter().map(|g| string(g)).collect();
    let (allowed, denied): (Vec<String>, Vec<String>) = ids
        .iter()
        .cloned()
        .partition(|id| ctx.authorized::<DescribeGroups>(call, id));
    let mut described = ctx.groups.describe_groups(&allowed).into_iter();
    let groups = ids
        .iter()
        .filter_map(|id| {
            if denied.contains(id) {
                return Some(Err(id.clone()));
            }
            described.next().map(Ok)
        })
        .map(|g| {
            let g = match g {
                Ok(g) => g,
                Err(id) => {
                    return DescribedGroup::default()
                        .with_group_id(group_id(id))
                        .with_error_code(
                            kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code(),
                        )
                        .with_authorized_operations(acl_operations::OMITTED)
                }
            };
            let not_found = g.error == Some(GroupError::GroupIdNotFound);
            let message = (not_found && version >= 6)
                .then(|| str_bytes(format!("Group {} not found.", g.group_id)));
            let error = if not_found && version < 6 {
                0
            } else {
                code(&g.error)
            };
            let operations = acl_operations::of(
                ctx,
                call,
                version >= 3 && req.include_authorized_operations && !not_found,
                ResourceType::Group,
                &g.group_id,
            );
            DescribedGroup::default()
                .with_authorized_operations(operations)
                .with_error_code(error)
                .with_error_message(message)
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

/// DescribeGroups: members, metadata and assignments.
pub struct DescribeGroups;

impl Api for DescribeGroups {
    type Request = DescribeGroupsRequest;
    type Response = DescribeGroupsResponse;
    const KEY: ApiKey = ApiKey::DescribeGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 6;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeGroupsRequest,
    ) -> Handled<DescribeGroupsResponse> {
        describe(ctx, call, request).into()
    }
}
