//! DescribeShareGroupOffsets (v0): the start offset of each share-partition of a group.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_share_group_offsets_response as r;
use kafka_protocol::messages::{
    ApiKey, DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::api::error::share_error_code;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};

/// DescribeShareGroupOffsets: where each share-partition of a group starts.
pub struct DescribeShareGroupOffsets;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Api for DescribeShareGroupOffsets {
    type Request = DescribeShareGroupOffsetsRequest;
    type Response = DescribeShareGroupOffsetsResponse;
    const KEY: ApiKey = ApiKey::DescribeShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeShareGroupOffsetsRequest,
    ) -> Handled<DescribeShareGroupOffsetsResponse> {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let group_id = g.group_id.to_string();
                let base = r::DescribeShareGroupOffsetsResponseGroup::default()
                    .with_group_id(g.group_id.clone());
                if !ctx.authorized::<Self>(call, &group_id) {
                    return base.with_error_code(ResponseError::GroupAuthorizationFailed.code());
                }
                // Topics the caller may not DESCRIBE are left out, as Kafka does.
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.topic_name.to_string(), t.partitions.clone()))
                        .collect()
                });
                match ctx.share.describe_offsets(&group_id, topics) {
                    Err(e) => base
                        .with_error_code(share_error_code(&e))
                        .with_error_message(Some(text(e.to_string()))),
                    Ok(starts) => base.with_topics(
                        starts
                            .into_iter()
                            .filter(|t| {
                                ctx.authorize(
                                    call,
                                    AclOperation::Describe,
                                    ResourceType::Topic,
                                    &t.topic_name,
                                )
                            })
                            .map(|t| {
                                r::DescribeShareGroupOffsetsResponseTopic::default()
                                    .with_topic_name(TopicName(text(t.topic_name)))
                                    .with_topic_id(t.topic_id)
                                    .with_partitions(
                                        t.partitions
                                            .into_iter()
                                            .map(|p| {
                                                r::DescribeShareGroupOffsetsResponsePartition::default()
                                                    .with_partition_index(p.partition)
                                                    .with_start_offset(p.start_offset)
                                                    .with_leader_epoch(if p.start_offset >= 0 {
                                                        ctx.replicas.leader_epoch()
                                                    } else {
                                                        -1
                                                    })
                                                    .with_error_code(
                                                        p.error.as_ref().map_or(0, share_error_code),
                                                    )
                                                    .with_error_message(
                                                        p.error.map(|e| text(e.to_string())),
                                                    )
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    ),
                }
            })
            .collect();
        DescribeShareGroupOffsetsResponse::default()
            .with_groups(groups)
            .into()
    }
}
