//! ShareGroupHeartbeat (v1): share-group membership and assignment.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_heartbeat_response as hb;
use kafka_protocol::messages::{ApiKey, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use kafka_protocol::protocol::StrBytes;

use crate::api::error::share_error_code;
use crate::api::group::ClientInfo;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};
use crate::broker::share::HeartbeatRequest;

/// ShareGroupHeartbeat: join (epoch 0), heartbeat, or leave (epoch -1) a share group.
pub struct ShareGroupHeartbeat;

fn failed(error: ResponseError, message: Option<String>) -> ShareGroupHeartbeatResponse {
    ShareGroupHeartbeatResponse::default()
        .with_error_code(error.code())
        .with_error_message(message.map(StrBytes::from_string))
}

impl Api for ShareGroupHeartbeat {
    type Request = ShareGroupHeartbeatRequest;
    type Response = ShareGroupHeartbeatResponse;
    const KEY: ApiKey = ApiKey::ShareGroupHeartbeat;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ShareGroupHeartbeatRequest,
    ) -> Handled<ShareGroupHeartbeatResponse> {
        // As Kafka: READ on the group, DESCRIBE on each subscribed topic.
        if !ctx.authorized::<Self>(call, &request.group_id) {
            return failed(ResponseError::GroupAuthorizationFailed, None).into();
        }
        let denied: Vec<String> = request
            .subscribed_topic_names
            .iter()
            .flatten()
            .map(|t| t.to_string())
            .filter(|t| !ctx.authorize(call, AclOperation::Describe, ResourceType::Topic, t))
            .collect();
        if !denied.is_empty() {
            return failed(
                ResponseError::TopicAuthorizationFailed,
                Some(format!(
                    "The following topics are not authorized: {}",
                    denied.join(", ")
                )),
            )
            .into();
        }
        let client = ClientInfo::of(call);
        let group_id = request.group_id.to_string();
        let other = ctx.groups.contains_group(&group_id);
        let outcome = ctx.share.heartbeat(
            HeartbeatRequest {
                group_id,
                member_id: request.member_id.to_string(),
                member_epoch: request.member_epoch,
                rack_id: request.rack_id.as_ref().map(|r| r.to_string()),
                subscribed_topic_names: request
                    .subscribed_topic_names
                    .map(|ts| ts.iter().map(|t| t.to_string()).collect()),
                client_id: client.client_id,
                client_host: client.host,
            },
            other,
        );
        match &outcome {
            Ok(r) => {
                tracing::debug!(member_id = r.member_id.as_str(), epoch = r.member_epoch, assignment = ?r.assignment, "share heartbeat answered")
            }
            Err(e) => tracing::debug!(error = %e, "share heartbeat refused"),
        }
        match outcome {
            Ok(r) => ShareGroupHeartbeatResponse::default()
                .with_member_id(Some(StrBytes::from_string(r.member_id)))
                .with_member_epoch(r.member_epoch)
                .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
                .with_assignment(r.assignment.map(|a| {
                    hb::Assignment::default().with_topic_partitions(
                        a.into_iter()
                            .map(|(topic_id, ps)| {
                                hb::TopicPartitions::default()
                                    .with_topic_id(topic_id)
                                    .with_partitions(ps.into_iter().collect())
                            })
                            .collect(),
                    )
                }))
                .into(),
            Err(e) => ShareGroupHeartbeatResponse::default()
                .with_error_code(share_error_code(&e))
                .with_error_message(Some(StrBytes::from_string(e.to_string())))
                .into(),
        }
    }
}
