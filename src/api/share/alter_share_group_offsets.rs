//! AlterShareGroupOffsets (v0): moves the start of an empty share group's share-partitions.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_response as r;
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse, ApiKey, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::api::error::share_error_code;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};

/// AlterShareGroupOffsets: where an empty share group starts reading again.
pub struct AlterShareGroupOffsets;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

fn top_level(error: i16, message: String) -> AlterShareGroupOffsetsResponse {
    AlterShareGroupOffsetsResponse::default()
        .with_error_code(error)
        .with_error_message(Some(text(message)))
}

impl Api for AlterShareGroupOffsets {
    type Request = AlterShareGroupOffsetsRequest;
    type Response = AlterShareGroupOffsetsResponse;
    const KEY: ApiKey = ApiKey::AlterShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AlterShareGroupOffsetsRequest,
    ) -> Handled<AlterShareGroupOffsetsResponse> {
        let group_id = request.group_id.to_string();
        if !ctx.authorized::<Self>(call, &group_id) {
            return top_level(
                ResponseError::GroupAuthorizationFailed.code(),
                "Group authorization failed.".into(),
            )
            .into();
        }
        let (allowed, denied): (Vec<_>, Vec<_>) = request.topics.iter().partition(|t| {
            ctx.authorize(call, AclOperation::Read, ResourceType::Topic, &t.topic_name)
        });
        let wanted = allowed
            .iter()
            .map(|t| {
                (
                    t.topic_name.to_string(),
                    t.partitions
                        .iter()
                        .map(|p| (p.partition_index, p.start_offset))
                        .collect(),
                )
            })
            .collect();
        let other = ctx.groups.contains_group(&group_id);
        let altered = match ctx.share.alter_offsets(&group_id, wanted, other) {
            Ok(a) => a,
            Err(e) => return top_level(share_error_code(&e), e.to_string()).into(),
        };
        let denied_code = ResponseError::TopicAuthorizationFailed.code();
        let responses = altered
            .into_iter()
            .map(|t| {
                r::AlterShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(TopicName(text(t.topic_name)))
                    .with_topic_id(t.topic_id)
                    .with_partitions(
                        t.partitions
                            .into_iter()
                            .map(|p| {
                                r::AlterShareGroupOffsetsResponsePartition::default()
                                    .with_partition_index(p.partition)
                                    .with_error_code(p.error.as_ref().map_or(0, share_error_code))
                                    .with_error_message(p.error.map(|e| text(e.to_string())))
                            })
                            .collect(),
                    )
            })
            .chain(denied.into_iter().map(|t| {
                r::AlterShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(t.topic_name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                r::AlterShareGroupOffsetsResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(denied_code)
                            })
                            .collect(),
                    )
            }))
            .collect();
        AlterShareGroupOffsetsResponse::default()
            .with_responses(responses)
            .into()
    }
}
