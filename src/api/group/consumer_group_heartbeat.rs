//! ConsumerGroupHeartbeat (v0–v1, KIP-848).

use kafka_protocol::messages::{
    consumer_group_heartbeat_response as hb, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
};

use super::{code, opt_string, str_bytes, string, ClientInfo};
use crate::api::ApiContext;
use crate::broker::group::{self};

use super::consumer::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// ConsumerGroupHeartbeat v0–v1.
pub fn heartbeat(
    ctx: &ApiContext,
    req: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
) -> ConsumerGroupHeartbeatResponse {
    let regex = opt_string(&req.subscribed_topic_regex);
    let request = group::ConsumerGroupHeartbeatRequest {
        group_id: string(&req.group_id),
        member_id: string(&req.member_id),
        member_epoch: req.member_epoch,
        instance_id: opt_string(&req.instance_id),
        rack_id: opt_string(&req.rack_id),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|ts| ts.iter().map(|t| string(t)).collect()),
        subscribed_topic_regex: regex,
        server_assignor: opt_string(&req.server_assignor),
        topic_partitions: req.topic_partitions.map(|ts| {
            ts.into_iter()
                .map(|t| group::TopicPartitions {
                    topic_id: t.topic_id,
                    partitions: t.partitions,
                })
                .collect()
        }),
        client_id: client.client_id,
        client_host: client.host,
    };
    let r = ctx
        .groups
        .consumer_group_heartbeat(request, &topics_snapshot(ctx));
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(code(&r.error))
        .with_error_message(r.error_message.map(str_bytes))
        .with_member_id(r.member_id.map(str_bytes))
        .with_member_epoch(r.member_epoch)
        .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
        .with_assignment(r.assignment.map(|ts| {
            hb::Assignment::default().with_topic_partitions(
                ts.into_iter()
                    .map(|t| {
                        hb::TopicPartitions::default()
                            .with_topic_id(t.topic_id)
                            .with_partitions(t.partitions)
                    })
                    .collect(),
            )
        }))
}

/// ConsumerGroupHeartbeat: KIP-848 membership and assignment.
pub struct ConsumerGroupHeartbeat;

impl Api for ConsumerGroupHeartbeat {
    type Request = ConsumerGroupHeartbeatRequest;
    type Response = ConsumerGroupHeartbeatResponse;
    const KEY: ApiKey = ApiKey::ConsumerGroupHeartbeat;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ConsumerGroupHeartbeatRequest,
    ) -> Handled<ConsumerGroupHeartbeatResponse> {
        // With `group.version` finalized below 1 (UpdateFeatures), KIP-848 groups are off:
        // Kafka answers UNSUPPORTED_VERSION.
        if ctx.features.level(crate::broker::features::GROUP_VERSION) < 1 {
            return ConsumerGroupHeartbeatResponse::default()
                .with_error_code(kafka_protocol::ResponseError::UnsupportedVersion.code())
                .into();
        }
        // As Kafka: READ on the group, and DESCRIBE on each topic subscribed by name.
        if !ctx.authorized::<Self>(call, &request.group_id) {
            return ConsumerGroupHeartbeatResponse::default()
                .with_error_code(kafka_protocol::ResponseError::GroupAuthorizationFailed.code())
                .into();
        }
        let denied: Vec<String> = request
            .subscribed_topic_names
            .iter()
            .flatten()
            .map(|t| t.to_string())
            .filter(|t| !ctx.authorize(call, AclOperation::Describe, ResourceType::Topic, t))
            .collect();
        if !denied.is_empty() {
            return ConsumerGroupHeartbeatResponse::default()
                .with_error_code(kafka_protocol::ResponseError::TopicAuthorizationFailed.code())
                .with_error_message(Some(str_bytes(format!(
                    "The following topics are not authorized: {}",
                    denied.join(", ")
                ))))
                .into();
        }
        // A share group's id is taken: Kafka answers GROUP_ID_NOT_FOUND.
        if ctx.share.contains_group(&request.group_id) {
            return ConsumerGroupHeartbeatResponse::default()
                .with_error_code(kafka_protocol::ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(str_bytes(format!(
                    "Group {} is not a consumer group.",
                    request.group_id.as_str()
                ))))
                .into();
        }
        heartbeat(ctx, request, ClientInfo::of(call)).into()
    }
}
