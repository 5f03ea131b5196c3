//! DeleteShareGroupOffsets (v0): forgets an empty share group's state for whole topics.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_share_group_offsets_response as r;
use kafka_protocol::messages::{
    ApiKey, DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::api::error::share_error_code;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};

/// DeleteShareGroupOffsets: an empty share group starts over on the topics named.
pub struct DeleteShareGroupOffsets;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

fn top_level(error: i16, message: String) -> DeleteShareGroupOffsetsResponse {
    DeleteShareGroupOffsetsResponse::default()
        .with_error_code(error)
        .with_error_message(Some(text(message)))
}

impl Api for DeleteShareGroupOffsets {
    type Request = DeleteShareGroupOffsetsRequest;
    type Response = DeleteShareGroupOffsetsResponse;
    const KEY: ApiKey = ApiKey::DeleteShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Delete, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DeleteShareGroupOffsetsRequest,
    ) -> Handled<DeleteShareGroupOffsetsResponse> {
        let group_id = request.group_id.to_string();
        if !ctx.authorized::<Self>(call, &group_id) {
            return top_level(
                ResponseError::GroupAuthorizationFailed.code(),
                "Group authorization failed.".into(),
            )
            .into();
        }
        let (allowed, denied): (Vec<String>, Vec<String>) = request
            .topics
            .iter()
            .map(|t| t.topic_name.to_string())
            .partition(|t| ctx.authorize(call, AclOperation::Read, ResourceType::Topic, t));
        let deleted = match ctx.share.delete_offsets(&group_id, allowed) {
            Ok(d) => d,
            Err(e) => return top_level(share_error_code(&e), e.to_string()).into(),
        };
        let denied_code = ResponseError::TopicAuthorizationFailed.code();
        let responses = deleted
            .into_iter()
            .map(|(name, id, error)| {
                r::DeleteShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(TopicName(text(name)))
                    .with_topic_id(id)
                    .with_error_code(error.as_ref().map_or(0, share_error_code))
                    .with_error_message(error.map(|e| text(e.to_string())))
            })
            .chain(denied.into_iter().map(|name| {
                r::DeleteShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(TopicName(text(name)))
                    .with_error_code(denied_code)
            }))
            .collect();
        DeleteShareGroupOffsetsResponse::default()
            .with_responses(responses)
            .into()
    }
}
