//! SyncGroup (v0–v5).

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::{code, opt_string, str_bytes, string};
use crate::api::{ApiContext, Reply, TypedFuture};
use crate::broker::group::{self, GroupError};

use super::membership::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// SyncGroup: followers wait for the leader's assignments.
pub fn sync_group(
    ctx: &ApiContext,
    version: i16,
    req: SyncGroupRequest,
) -> TypedFuture<SyncGroupResponse> {
    let request = group::SyncGroupRequest {
        group_id: string(&req.group_id),
        generation_id: req.generation_id,
        member_id: string(&req.member_id),
        group_instance_id: if version >= 3 {
            opt_string(&req.group_instance_id)
        } else {
            None
        },
        protocol_type: if version >= 5 {
            opt_string(&req.protocol_type)
        } else {
            None
        },
        protocol_name: if version >= 5 {
            opt_string(&req.protocol_name)
        } else {
            None
        },
        assignments: req
            .assignments
            .into_iter()
            .map(|a| (string(&a.member_id), a.assignment))
            .collect(),
    };
    let groups = ctx.groups.clone();
    let shutdown = ctx.shutdown.clone();
    Box::pin(async move {
        let r = until_shutdown(groups.sync_group(request), shutdown, || {
            group::SyncGroupResponse::error(GroupError::CoordinatorNotAvailable)
        })
        .await;
        let mut resp = SyncGroupResponse::default()
            .with_error_code(code(&r.error))
            .with_assignment(r.assignment);
        if version >= 5 {
            resp.protocol_type = r.protocol_type.map(str_bytes);
            resp.protocol_name = r.protocol_name.map(str_bytes);
        }
        Reply::Send(resp)
    })
}

/// SyncGroup: the leader's assignments reach the members.
pub struct SyncGroup;

impl Api for SyncGroup {
    type Request = SyncGroupRequest;
    type Response = SyncGroupResponse;
    const KEY: ApiKey = ApiKey::SyncGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: SyncGroupRequest,
    ) -> Handled<SyncGroupResponse> {
        if !ctx.authorized::<Self>(call, &request.group_id) {
            return SyncGroupResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code(),
                )
                .into();
        }
        Handled::Later(sync_group(ctx, call.version, request))
    }
}
