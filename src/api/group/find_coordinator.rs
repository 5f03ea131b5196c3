//! FindCoordinator v0–v6: Skiff is the coordinator of every group and transactional id.

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use std::sync::Arc;

use super::str_bytes;
use crate::api::ApiContext;
use crate::broker::internal_topics;

/// `key_type` of a consumer group.
pub const KEY_TYPE_GROUP: i8 = 0;
/// `key_type` of a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;

/// Answers FindCoordinator of `version`: this broker for group and transaction keys,
/// INVALID_REQUEST for any other key type, GROUP_AUTHORIZATION_FAILED or
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED for a key the caller may not DESCRIBE.
pub fn handle(
    ctx: &ApiContext,
    call: &Call,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let version = call.version;
    let key_type = if version >= 1 {
        req.key_type
    } else {
        KEY_TYPE_GROUP
    };
    let error = match key_type {
        KEY_TYPE_GROUP | KEY_TYPE_TRANSACTION => 0,
        _ => ResponseError::InvalidRequest.code(),
    };
    if error == 0 {
        // As Kafka does, the first lookup creates the internal topic behind the coordinator.
        let internal = if key_type == KEY_TYPE_GROUP {
            internal_topics::CONSUMER_OFFSETS
        } else {
            internal_topics::TRANSACTION_STATE
        };
        if let Some(Err(e)) = ctx.replicas.ensure_internal_topic(internal) {
            tracing::warn!(topic = internal, error = %e, "creating an internal topic failed");
        }
    }
    // Each key's answer: this broker, or an error (and no node) when the key type is
    // unknown or the caller may not DESCRIBE the group or transactional id.
    let answer = |key: &str| -> (i16, Option<StrBytes>) {
        if error != 0 {
            return (
                error,
                Some(str_bytes(format!("invalid key type {key_type}"))),
            );
        }
        let (allowed, denied, message) = if key_type == KEY_TYPE_GROUP {
            (
                ctx.authorized::<FindCoordinator>(call, key),
                ResponseError::GroupAuthorizationFailed,
                "Group authorization failed.",
            )
        } else {
            (
                ctx.authorize(
                    call,
                    AclOperation::Describe,
                    ResourceType::TransactionalId,
                    key,
                ),
                ResponseError::TransactionalIdAuthorizationFailed,
                "Transactional Id authorization failed.",
            )
        };
        if allowed {
            (0, None)
        } else {
            (denied.code(), Some(str_bytes(message)))
        }
    };
    let node_of = |error: i16| {
        if error == 0 {
            (
                BrokerId(ctx.config.node_id),
                str_bytes(call.listener.advertised_host.clone()),
                call.listener.advertised_port,
            )
        } else {
            (BrokerId(-1), StrBytes::default(), -1)
        }
    };
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let (error, message) = answer(key.as_str());
                let (node, host, port) = node_of(error);
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(node)
                    .with_host(host)
                    .with_port(port)
                    .with_error_code(error)
                    .with_error_message(message)
            })
            .collect();
    } else {
        let (error, message) = answer(req.key.as_str());
        let (node, host, port) = node_of(error);
        resp.error_code = error;
        if version >= 1 {
            resp.error_message = message;
        }
        resp.node_id = node;
        resp.host = host;
        resp.port = port;
    }
    resp
}

/// FindCoordinator: this broker coordinates every group and transaction.
pub struct FindCoordinator;

impl Api for FindCoordinator {
    type Request = FindCoordinatorRequest;
    type Response = FindCoordinatorResponse;
    const KEY: ApiKey = ApiKey::FindCoordinator;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 6;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: FindCoordinatorRequest,
    ) -> Handled<FindCoordinatorResponse> {
        handle(ctx, call, request).into()
    }
}
