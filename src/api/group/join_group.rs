//! JoinGroup (v0–v9): the classic protocol's rebalance.

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::{code, opt_string, str_bytes, string, ClientInfo};
use crate::api::{ApiContext, Reply, TypedFuture};
use crate::broker::group::{self, GroupError};

use super::membership::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// The coordinator's JoinGroup request for a JoinGroup of `version`.
pub fn join_request(
    version: i16,
    req: JoinGroupRequest,
    client: ClientInfo,
) -> group::JoinGroupRequest {
    group::JoinGroupRequest {
        group_id: string(&req.group_id),
        member_id: string(&req.member_id),
        group_instance_id: if version >= 5 {
            opt_string(&req.group_instance_id)
        } else {
            None
        },
        client_id: client.client_id,
        client_host: client.host,
        session_timeout_ms: req.session_timeout_ms,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if version >= 1 {
            req.rebalance_timeout_ms
        } else {
            req.session_timeout_ms
        },
        protocol_type: string(&req.protocol_type),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| group::JoinProtocol {
                name: string(&p.name),
                metadata: p.metadata,
            })
            .collect(),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
        reason: if version >= 8 {
            opt_string(&req.reason)
        } else {
            None
        },
    }
}

/// The JoinGroup response of `version` for the coordinator's answer.
pub fn join_response(version: i16, r: group::JoinGroupResponse) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default()
        .with_error_code(code(&r.error))
        .with_generation_id(r.generation_id)
        .with_leader(str_bytes(r.leader))
        .with_member_id(str_bytes(r.member_id))
        .with_members(
            r.members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(str_bytes(m.member_id))
                        .with_group_instance_id(if version >= 5 {
                            m.group_instance_id.map(str_bytes)
                        } else {
                            None
                        })
                        .with_metadata(m.metadata)
                })
                .collect(),
        );
    // The protocol name is nullable only from v7; before, an error carries an empty one.
    resp.protocol_name = match r.protocol_name {
        Some(n) => Some(str_bytes(n)),
        None if version >= 7 => None,
        None => Some(str_bytes("")),
    };
    if version >= 7 {
        resp.protocol_type = r.protocol_type.map(str_bytes);
    }
    if version >= 9 {
        resp.skip_assignment = r.skip_assignment;
    }
    resp
}

/// JoinGroup: the response waits for the rebalance.
pub fn join_group(
    ctx: &ApiContext,
    version: i16,
    req: JoinGroupRequest,
    client: ClientInfo,
) -> TypedFuture<JoinGroupResponse> {
    let request = join_request(version, req, client);
    let member_id = request.member_id.clone();
    let groups = ctx.groups.clone();
    let shutdown = ctx.shutdown.clone();
    Box::pin(async move {
        let r = until_shutdown(groups.join_group(request), shutdown, || {
            group::JoinGroupResponse::error(GroupError::CoordinatorNotAvailable, member_id)
        })
        .await;
        Reply::Send(join_response(version, r))
    })
}

/// JoinGroup: joins a classic group; waits for the rebalance.
pub struct JoinGroup;

impl Api for JoinGroup {
    type Request = JoinGroupRequest;
    type Response = JoinGroupResponse;
    const KEY: ApiKey = ApiKey::JoinGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 9;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: JoinGroupRequest,
    ) -> Handled<JoinGroupResponse> {
        if !ctx.authorized::<Self>(call, &request.group_id) {
            return JoinGroupResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code(),
                )
                .with_generation_id(-1)
                .with_protocol_name((call.version < 7).then(Default::default))
                .into();
        }
        // A share group's id is taken: a classic member cannot join it.
        if ctx.share.contains_group(&request.group_id) {
            return JoinGroupResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::InconsistentGroupProtocol.code(),
                )
                .with_generation_id(-1)
                .with_protocol_name((call.version < 7).then(Default::default))
                .into();
        }
        Handled::Later(join_group(ctx, call.version, request, ClientInfo::of(call)))
    }
}
