//! The classic group protocol: JoinGroup v0–v9, SyncGroup v0–v5, Heartbeat v0–v4 and
//! LeaveGroup v0–v5.

use std::future::Future;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use tokio::sync::watch;

use super::{code, opt_string, str_bytes, string, ClientInfo};
use crate::api::{ApiContext, Reply, Response, ResponseFuture};
use crate::broker::group::{self, GroupError};

/// Waits for `answer`, or answers `on_shutdown` once the broker begins shutting down (a
/// rebalance may wait far longer than the shutdown drain).
async fn until_shutdown<T>(
    answer: impl Future<Output = T>,
    mut shutdown: watch::Receiver<bool>,
    on_shutdown: impl FnOnce() -> T,
) -> T {
    tokio::select! {
        r = answer => r,
        _ = shutdown.wait_for(|s| *s) => on_shutdown(),
    }
}

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
) -> ResponseFuture {
    let request = join_request(version, req, client);
    let member_id = request.member_id.clone();
    let groups = ctx.groups.clone();
    let shutdown = ctx.shutdown.clone();
    Box::pin(async move {
        let r = until_shutdown(groups.join_group(request), shutdown, || {
            group::JoinGroupResponse::error(GroupError::CoordinatorNotAvailable, member_id)
        })
        .await;
        Reply::Send(Response::JoinGroup(join_response(version, r)))
    })
}

/// SyncGroup: followers wait for the leader's assignments.
pub fn sync_group(ctx: &ApiContext, version: i16, req: SyncGroupRequest) -> ResponseFuture {
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
        Reply::Send(Response::SyncGroup(resp))
    })
}

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
