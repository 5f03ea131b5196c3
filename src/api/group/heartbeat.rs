//! Heartbeat (v0–v4) of the classic protocol.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{code, opt_string, string};
use crate::api::ApiContext;
use crate::broker::group::{self};

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Heartbeat.
pub fn heartbeat(ctx: &ApiContext, version: i16, req: HeartbeatRequest) -> HeartbeatResponse {
    let result = ctx.groups.heartbeat(group::HeartbeatRequest {
        group_id: string(&req.group_id),
        generation_id: req.generation_id,
        member_id: string(&req.member_id),
        group_instance_id: if version >= 3 {
            opt_string(&req.group_instance_id)
        } else {
            None
        },
    });
    HeartbeatResponse::default().with_error_code(code(&result.err()))
}

/// Heartbeat: a classic member is alive.
pub struct Heartbeat;

impl Api for Heartbeat {
    type Request = HeartbeatRequest;
    type Response = HeartbeatResponse;
    const KEY: ApiKey = ApiKey::Heartbeat;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: HeartbeatRequest,
    ) -> Handled<HeartbeatResponse> {
        if !ctx.authorized::<Self>(call, &request.group_id) {
            return HeartbeatResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code(),
                )
                .into();
        }
        heartbeat(ctx, call.version, request).into()
    }
}
