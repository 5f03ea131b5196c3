//! ListGroups (v0–v5).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{ListGroupsRequest, ListGroupsResponse};

use super::{group_id, str_bytes, string};
use crate::api::ApiContext;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// ListGroups: states filter from v4, types filter from v5. As Kafka, a caller with DESCRIBE
/// on the cluster sees every group, another only the groups it may DESCRIBE.
pub fn list(ctx: &ApiContext, call: &Call, req: ListGroupsRequest) -> ListGroupsResponse {
    let version = call.version;
    let all = ctx.authorize_cluster(call, AclOperation::Describe);
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
    // Share groups (KIP-932) are kept by their own coordinator: protocol type and group
    // type "share".
    let wanted = |filter: &[String], value: &str| {
        filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(value))
    };
    let share_groups = ctx
        .share
        .list_groups()
        .into_iter()
        .filter(|(_, state)| wanted(&states, state.name()) && wanted(&types, "share"))
        .map(|(id, state)| (id, "share".to_string(), state.name().to_string(), "share"));
    let groups = ctx
        .groups
        .list_groups(&states, &types)
        .into_iter()
        .map(|g| {
            (
                g.group_id,
                g.protocol_type,
                g.group_state,
                g.group_type.name(),
            )
        })
        .chain(share_groups)
        .filter(|(id, ..)| all || ctx.authorized::<ListGroups>(call, id))
        .map(|(id, protocol_type, state, group_type)| {
            let mut listed = ListedGroup::default()
                .with_group_id(group_id(id))
                .with_protocol_type(str_bytes(protocol_type));
            if version >= 4 {
                listed.group_state = str_bytes(state);
            }
            if version >= 5 {
                listed.group_type = str_bytes(group_type);
            }
            listed
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

/// ListGroups: every group, filtered by state and type.
pub struct ListGroups;

impl Api for ListGroups {
    type Request = ListGroupsRequest;
    type Response = ListGroupsResponse;
    const KEY: ApiKey = ApiKey::ListGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ListGroupsRequest,
    ) -> Handled<ListGroupsResponse> {
        list(ctx, call, request).into()
    }
}
