//! DeleteGroups (v0–v2).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use super::{code, group_id, string};
use crate::api::ApiContext;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// DeleteGroups: groups with members are refused with NON_EMPTY_GROUP, groups the caller
/// may not DELETE with GROUP_AUTHORIZATION_FAILED.
pub fn delete(ctx: &ApiContext, call: &Call, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let ids: Vec<String> = req.groups_names.iter().map(|g| string(g)).collect();
    let (allowed, denied): (Vec<String>, Vec<String>) = ids
        .into_iter()
        .partition(|id| ctx.authorized::<DeleteGroups>(call, id));
    let denied_code = kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code();
    // Share groups are deleted by their own coordinator, with their share-partitions.
    let (share, others): (Vec<String>, Vec<String>) = allowed
        .into_iter()
        .partition(|id| ctx.share.contains_group(id));
    let share_results = share.into_iter().map(|id| {
        let error = ctx
            .share
            .delete_group(&id)
            .err()
            .map_or(0, |e| crate::api::error::share_error_code(&e));
        (id, error)
    });
    let results = ctx
        .groups
        .delete_groups(&others)
        .into_iter()
        .map(|(id, error)| (id, code(&error)))
        .chain(share_results)
        .chain(denied.into_iter().map(|id| (id, denied_code)))
        .map(|(id, error)| {
            DeletableGroupResult::default()
                .with_group_id(group_id(id))
                .with_error_code(error)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

/// DeleteGroups: empty groups and their offsets.
pub struct DeleteGroups;

impl Api for DeleteGroups {
    type Request = DeleteGroupsRequest;
    type Response = DeleteGroupsResponse;
    const KEY: ApiKey = ApiKey::DeleteGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Delete, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DeleteGroupsRequest,
    ) -> Handled<DeleteGroupsResponse> {
        delete(ctx, call, request).into()
    }
}
