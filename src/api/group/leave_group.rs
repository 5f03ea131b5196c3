//! LeaveGroup (v0–v5).

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::{code, opt_string, str_bytes, string};
use crate::api::ApiContext;
use crate::broker::group::{self};

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// LeaveGroup: one member (v0–v2) or a batch (v3+).
pub fn leave_group(ctx: &ApiContext, version: i16, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let members = if version >= 3 {
        req.members
            .iter()
            .map(|m| group::LeavingMember {
                member_id: string(&m.member_id),
                group_instance_id: opt_string(&m.group_instance_id),
                reason: if version >= 5 {
                    opt_string(&m.reason)
                } else {
                    None
                },
            })
            .collect()
    } else {
        vec![group::LeavingMember {
            member_id: string(&req.member_id),
            group_instance_id: None,
            reason: None,
        }]
    };
    let r = ctx.groups.leave_group(&string(&req.group_id), members);
    if version >= 3 {
        LeaveGroupResponse::default()
            .with_error_code(code(&r.error))
            .with_members(
                r.members
                    .into_iter()
                    .map(|m| {
                        MemberResponse::default()
                            .with_member_id(str_bytes(m.member_id))
                            .with_group_instance_id(m.group_instance_id.map(str_bytes))
                            .with_error_code(code(&m.error))
                    })
                    .collect(),
            )
    } else {
        // One member: its error is the response's.
        let error = r
            .error
            .or_else(|| r.members.into_iter().next().and_then(|m| m.error));
        LeaveGroupResponse::default().with_error_code(code(&error))
    }
}

/// LeaveGroup: members leave a classic group.
pub struct LeaveGroup;

impl Api for LeaveGroup {
    type Request = LeaveGroupRequest;
    type Response = LeaveGroupResponse;
    const KEY: ApiKey = ApiKey::LeaveGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: LeaveGroupRequest,
    ) -> Handled<LeaveGroupResponse> {
        if !ctx.authorized::<Self>(call, &request.group_id) {
            return LeaveGroupResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code(),
                )
                .into();
        }
        leave_group(ctx, call.version, request).into()
    }
}
