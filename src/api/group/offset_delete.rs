//! OffsetDelete (v0).

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

use super::{string, topic_name};
use crate::api::ApiContext;
use crate::broker::group::{self};

use super::offsets::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// OffsetDelete v0. Without DELETE on the group, GROUP_AUTHORIZATION_FAILED; a topic the
/// caller may not READ is TOPIC_AUTHORIZATION_FAILED.
pub fn delete(ctx: &ApiContext, call: &Call, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    if !ctx.authorized::<OffsetDelete>(call, &req.group_id) {
        return OffsetDeleteResponse::default().with_error_code(
            kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code(),
        );
    }
    let request: Vec<(String, Vec<i32>)> = req
        .topics
        .iter()
        .map(|t| {
            (
                string(&t.name),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let denied = denied_topics(&request, |t| {
        ctx.authorize(call, AclOperation::Read, ResourceType::Topic, t)
    });
    let mut known = split_known(ctx, &request);
    drop_denied(&mut known, &denied);
    let delete_topics: Vec<group::TopicPartitionsRequest> = known_topics(&request, &known)
        .into_iter()
        .map(|(name, partitions)| group::TopicPartitionsRequest { name, partitions })
        .collect();
    let gid = string(&req.group_id);
    let answers = match ctx.groups.delete_offsets(&gid, &delete_topics) {
        Ok(a) => a,
        Err(e) => {
            return OffsetDeleteResponse::default().with_error_code(e.code());
        }
    };
    let mut results = results_in_order(&request, &known, answers);
    deny_topics(&mut results, &denied);
    OffsetDeleteResponse::default().with_topics(
        results
            .into_iter()
            .map(|(name, parts)| {
                OffsetDeleteResponseTopic::default()
                    .with_name(topic_name(name))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|(p, e)| {
                                OffsetDeleteResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(e)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// OffsetDelete: removes a group's offsets for topics it no longer reads.
pub struct OffsetDelete;

impl Api for OffsetDelete {
    type Request = OffsetDeleteRequest;
    type Response = OffsetDeleteResponse;
    const KEY: ApiKey = ApiKey::OffsetDelete;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Delete, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: OffsetDeleteRequest,
    ) -> Handled<OffsetDeleteResponse> {
        delete(ctx, call, request).into()
    }
}
