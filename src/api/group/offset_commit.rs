//! OffsetCommit (v2–v9).

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

use super::{opt_string, string, topic_name};
use crate::api::ApiContext;
use crate::broker::group::{self, GroupError};

use super::offsets::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// OffsetCommit v2–v9. Without READ on the group every partition is
/// GROUP_AUTHORIZATION_FAILED; a topic the caller may not READ is TOPIC_AUTHORIZATION_FAILED.
pub fn commit(ctx: &ApiContext, call: &Call, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let version = call.version;
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
    if !ctx.authorized::<OffsetCommit>(call, &req.group_id) {
        let denied = kafka_protocol::error::ResponseError::GroupAuthorizationFailed.code();
        return response(all_failed(&request, denied));
    }
    let denied = denied_topics(&request, |t| {
        ctx.authorize(call, AclOperation::Read, ResourceType::Topic, t)
    });
    let mut known = split_known(ctx, &request);
    drop_denied(&mut known, &denied);
    let commit_topics: Vec<group::CommitTopic> = known
        .iter()
        .filter_map(|(ti, idx)| {
            let topic = req.topics.get(*ti)?;
            Some(group::CommitTopic {
                name: string(&topic.name),
                partitions: idx
                    .iter()
                    .filter_map(|&i| topic.partitions.get(i))
                    .map(|p| group::CommitPartition {
                        partition: p.partition_index,
                        offset: p.committed_offset,
                        leader_epoch: if version >= 6 {
                            p.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: opt_string(&p.committed_metadata),
                    })
                    .collect(),
            })
        })
        .collect();
    let answers = if commit_topics.is_empty() {
        Vec::new()
    } else {
        ctx.groups.commit_offsets(group::OffsetCommitRequest {
            group_id: string(&req.group_id),
            generation_id_or_member_epoch: req.generation_id_or_member_epoch,
            member_id: string(&req.member_id),
            group_instance_id: if version >= 7 {
                opt_string(&req.group_instance_id)
            } else {
                None
            },
            retention_time_ms: if version <= 4 {
                req.retention_time_ms
            } else {
                -1
            },
            topics: commit_topics,
        })
    };
    let mut results = results_in_order(&request, &known, answers);
    deny_topics(&mut results, &denied);
    // Before v9 a commit carries a generation, not a member epoch: Kafka answers a wrong
    // epoch on a KIP-848 group with ILLEGAL_GENERATION.
    if version < 9 {
        let stale = GroupError::StaleMemberEpoch.code();
        for (_, ps) in &mut results {
            for p in ps.iter_mut().filter(|p| p.1 == stale) {
                p.1 = GroupError::IllegalGeneration.code();
            }
        }
    }
    // From v9 Kafka answers a commit with a generation to a group that does not exist
    // with GROUP_ID_NOT_FOUND; before, with ILLEGAL_GENERATION.
    let illegal = GroupError::IllegalGeneration.code();
    if version >= 9
        && results
            .iter()
            .any(|(_, ps)| ps.iter().any(|p| p.1 == illegal))
    {
        let gid = string(&req.group_id);
        let exists = ctx
            .groups
            .list_groups(&[], &[])
            .iter()
            .any(|g| g.group_id == gid);
        if !exists {
            for (_, ps) in &mut results {
                for p in ps.iter_mut().filter(|p| p.1 == illegal) {
                    p.1 = GroupError::GroupIdNotFound.code();
                }
            }
        }
    }
    response(results)
}

fn response(results: Vec<(String, Vec<(i32, i16)>)>) -> OffsetCommitResponse {
    OffsetCommitResponse::default().with_topics(
        results
            .into_iter()
            .map(|(name, parts)| {
                OffsetCommitResponseTopic::default()
                    .with_name(topic_name(name))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|(p, e)| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(e)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// OffsetCommit: a group's committed offsets.
pub struct OffsetCommit;

impl Api for OffsetCommit {
    type Request = OffsetCommitRequest;
    type Response = OffsetCommitResponse;
    const KEY: ApiKey = ApiKey::OffsetCommit;
    const MIN_VERSION: i16 = 2;
    const MAX_VERSION: i16 = 9;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: OffsetCommitRequest,
    ) -> Handled<OffsetCommitResponse> {
        commit(ctx, call, request).into()
    }
}
