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
    let groups = ctx
        .groups
        .list_groups(&states, &types)
        .into_iter()
        .filter(|g| all || ctx.authorized::<ListGroups>(call, &g.group_id))
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
