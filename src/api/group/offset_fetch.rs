//! OffsetFetch (v1–v9).

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};

use super::{code, opt_string, str_bytes, string, topic_name};
use crate::api::ApiContext;
use crate::broker::group::{self};

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// One group's OffsetFetch through the coordinator, as Kafka authorizes it: without
/// DESCRIBE on the group, GROUP_AUTHORIZATION_FAILED; a named topic without DESCRIBE is
/// TOPIC_AUTHORIZATION_FAILED per partition (after the others), and a fetch of all topics
/// leaves such topics out.
fn fetch_one(
    ctx: &ApiContext,
    call: &Call,
    group_id: String,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
    member_id: Option<String>,
    member_epoch: i32,
) -> group::OffsetFetchResponse {
    if !ctx.authorized::<OffsetFetch>(call, &group_id) {
        return group::OffsetFetchResponse {
            error: Some(group::GroupError::GroupAuthorizationFailed),
            topics: Vec::new(),
        };
    }
    let describable = |t: &str| ctx.authorize(call, AclOperation::Describe, ResourceType::Topic, t);
    let all_topics = topics.is_none();
    let (topics, denied): (Option<Vec<_>>, Vec<_>) = match topics {
        None => (None, Vec::new()),
        Some(ts) => {
            let (allowed, denied) = ts.into_iter().partition(|(t, _)| describable(t));
            (Some(allowed), denied)
        }
    };
    let mut response = fetch_authorized(
        ctx,
        group_id,
        topics,
        require_stable,
        member_id,
        member_epoch,
    );
    if all_topics {
        response.topics.retain(|t| describable(&t.name));
    }
    for (name, partitions) in denied {
        response.topics.push(group::FetchedTopic {
            name,
            partitions: partitions
                .into_iter()
                .map(|partition| group::FetchedPartition {
                    partition,
                    offset: -1,
                    leader_epoch: -1,
                    metadata: String::new(),
                    error: Some(group::GroupError::TopicAuthorizationFailed),
                })
                .collect(),
        });
    }
    response
}

/// One group's OffsetFetch through the coordinator, of topics the caller may describe.
fn fetch_authorized(
    ctx: &ApiContext,
    group_id: String,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
    member_id: Option<String>,
    member_epoch: i32,
) -> group::OffsetFetchResponse {
    let mut response = ctx.groups.fetch_offsets(group::OffsetFetchRequest {
        group_id: group_id.clone(),
        topics: topics.map(|ts| {
            ts.into_iter()
                .map(|(name, partitions)| group::TopicPartitionsRequest { name, partitions })
                .collect()
        }),
        require_stable,
        member_id,
        member_epoch,
    });
    if require_stable {
        // KIP-447: a partition with an offset pending in an open transaction is unstable;
        // the client retries until the transaction ends.
        for t in &mut response.topics {
            for p in &mut t.partitions {
                let pending = ctx
                    .txns
                    .has_pending_offset(&group_id, &t.name, p.partition)
                    .unwrap_or(false);
                if pending && p.error.is_none() {
                    p.error = Some(group::GroupError::UnstableOffsetCommit);
                    p.offset = -1;
                    p.leader_epoch = -1;
                }
            }
        }
    }
    response
}

/// OffsetFetch v1–v9. Metadata is never null (an empty string when none was committed).
pub fn fetch(ctx: &ApiContext, call: &Call, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let version = call.version;
    let require_stable = version >= 7 && req.require_stable;
    if version >= 8 {
        let groups = req
            .groups
            .into_iter()
            .map(|g| {
                let topics = g.topics.map(|ts| {
                    ts.into_iter()
                        .map(|t| (string(&t.name), t.partition_indexes))
                        .collect()
                });
                let (member_id, member_epoch) = if version >= 9 {
                    (opt_string(&g.member_id), g.member_epoch)
                } else {
                    (None, -1)
                };
                let r = fetch_one(
                    ctx,
                    call,
                    string(&g.group_id),
                    topics,
                    require_stable,
                    member_id,
                    member_epoch,
                );
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id)
                    .with_error_code(code(&r.error))
                    .with_topics(
                        r.topics
                            .into_iter()
                            .map(|t| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(topic_name(t.name))
                                    .with_partitions(
                                        t.partitions
                                            .into_iter()
                                            .map(|p| {
                                                OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(p.partition)
                                                    .with_committed_offset(p.offset)
                                                    .with_committed_leader_epoch(p.leader_epoch)
                                                    .with_metadata(Some(str_bytes(p.metadata)))
                                                    .with_error_code(code(&p.error))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    // v1 has no "all topics" null; v1–v7 name one group.
    let requested: Option<Vec<(String, Vec<i32>)>> = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (string(&t.name), t.partition_indexes))
            .collect()
    });
    let r = fetch_one(
        ctx,
        call,
        string(&req.group_id),
        requested.clone(),
        require_stable,
        None,
        -1,
    );
    let epoch_of = |e: i32| if version >= 5 { e } else { -1 };
    let topics: Vec<OffsetFetchResponseTopic> = match (&r.error, version, requested) {
        // v1 has no group-level error: every requested partition carries it.
        (Some(e), 1, Some(requested)) => requested
            .into_iter()
            .map(|(name, parts)| {
                OffsetFetchResponseTopic::default()
                    .with_name(topic_name(name))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|p| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(-1)
                                    .with_committed_leader_epoch(-1)
                                    .with_metadata(Some(str_bytes("")))
                                    .with_error_code(e.code())
                            })
                            .collect(),
                    )
            })
            .collect(),
        _ => r
            .topics
            .into_iter()
            .map(|t| {
                OffsetFetchResponseTopic::default()
                    .with_name(topic_name(t.name))
                    .with_partitions(
                        t.partitions
                            .into_iter()
                            .map(|p| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p.partition)
                                    .with_committed_offset(p.offset)
                                    .with_committed_leader_epoch(epoch_of(p.leader_epoch))
                                    .with_metadata(Some(str_bytes(p.metadata)))
                                    .with_error_code(code(&p.error))
                            })
                            .collect(),
                    )
            })
            .collect(),
    };
    let mut resp = OffsetFetchResponse::default().with_topics(topics);
    if version >= 2 {
        resp.error_code = code(&r.error);
    }
    resp
}

/// OffsetFetch: a group's committed offsets, read back.
pub struct OffsetFetch;

impl Api for OffsetFetch {
    type Request = OffsetFetchRequest;
    type Response = OffsetFetchResponse;
    const KEY: ApiKey = ApiKey::OffsetFetch;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 9;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: OffsetFetchRequest,
    ) -> Handled<OffsetFetchResponse> {
        fetch(ctx, call, request).into()
    }
}
