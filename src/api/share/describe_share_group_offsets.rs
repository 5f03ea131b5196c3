//! DescribeShareGroupOffsets (v0-1): the start offset of each share-partition of a group
//! (v1: and its lag).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::api::error::share_error_code;
use crate::api::share::messages::{
    DescribeShareGroupOffsetsRequestV1, DescribeShareGroupOffsetsResponseV1, OffsetsGroup,
    OffsetsPartition, OffsetsTopic,
};
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};

/// DescribeShareGroupOffsets: where each share-partition of a group starts.
pub struct DescribeShareGroupOffsets;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Api for DescribeShareGroupOffsets {
    type Request = DescribeShareGroupOffsetsRequestV1;
    type Response = DescribeShareGroupOffsetsResponseV1;
    const KEY: ApiKey = ApiKey::DescribeShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeShareGroupOffsetsRequestV1,
    ) -> Handled<DescribeShareGroupOffsetsResponseV1> {
        let request = request.0;
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let group_id = g.group_id.to_string();
                let base = OffsetsGroup {
                    group_id: g.group_id.0.clone(),
                    ..Default::default()
                };
                if !ctx.authorized::<Self>(call, &group_id) {
                    return OffsetsGroup {
                        error_code: ResponseError::GroupAuthorizationFailed.code(),
                        ..base
                    };
                }
                // Topics the caller may not DESCRIBE are left out, as Kafka does.
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.topic_name.to_string(), t.partitions.clone()))
                        .collect()
                });
                match ctx.share.describe_offsets(&group_id, topics) {
                    Err(e) => OffsetsGroup {
                        error_code: share_error_code(&e),
                        error_message: Some(text(e.to_string())),
                        ..base
                    },
                    Ok(starts) => OffsetsGroup {
                        topics: starts
                            .into_iter()
                            .filter(|t| {
                                ctx.authorize(
                                    call,
                                    AclOperation::Describe,
                                    ResourceType::Topic,
                                    &t.topic_name,
                                )
                            })
                            .map(|t| OffsetsTopic {
                                topic_name: TopicName(text(t.topic_name)),
                                topic_id: t.topic_id,
                                partitions: t
                                    .partitions
                                    .into_iter()
                                    .map(|p| OffsetsPartition {
                                        partition_index: p.partition,
                                        start_offset: p.start_offset,
                                        leader_epoch: if p.start_offset >= 0 {
                                            ctx.replicas.leader_epoch()
                                        } else {
                                            -1
                                        },
                                        lag: p.lag,
                                        error_code: p.error.as_ref().map_or(0, share_error_code),
                                        error_message: p.error.map(|e| text(e.to_string())),
                                    })
                                    .collect(),
                            })
                            .collect(),
                        ..base
                    },
                }
            })
            .collect();
        DescribeShareGroupOffsetsResponseV1 {
            throttle_time_ms: 0,
            groups,
        }
        .into()
    }
}
