//! Committed offsets: OffsetCommit v2–v9, OffsetFetch v1–v9 (several groups from v8) and
//! OffsetDelete v0.
//!
//! Topics and partitions the broker does not have are answered with
//! UNKNOWN_TOPIC_OR_PARTITION per partition (on commit and delete) before the coordinator
//! sees the rest, as Kafka does.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest, OffsetDeleteResponse,
    OffsetFetchRequest, OffsetFetchResponse,
};

use super::{code, opt_string, str_bytes, string, topic_name};
use crate::api::ApiContext;
use crate::broker::group::{self, GroupError, PartitionResults};

/// UNKNOWN_TOPIC_OR_PARTITION.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// Whether the broker has `partition` of `topic`.
fn partition_exists(ctx: &ApiContext, topic: &str, partition: i32) -> bool {
    ctx.replicas
        .topics()
        .get(topic)
        .is_some_and(|t| (0..t.partitions).contains(&partition))
}

/// For each request topic with partitions the broker has: the topic's position in the
/// request and the positions of those partitions.
type Known = Vec<(usize, Vec<usize>)>;

fn split_known(ctx: &ApiContext, topics: &[(String, Vec<i32>)]) -> Known {
    topics
        .iter()
        .enumerate()
        .filter_map(|(ti, (topic, partitions))| {
            let idx: Vec<usize> = partitions
                .iter()
                .enumerate()
                .filter(|(_, &p)| partition_exists(ctx, topic, p))
                .map(|(i, _)| i)
                .collect();
            (!idx.is_empty()).then_some((ti, idx))
        })
        .collect()
}

/// Results in request order: UNKNOWN_TOPIC_OR_PARTITION where the broker lacks the
/// partition, otherwise the coordinator's answer (`answers` has one entry per `known`
/// topic, partitions in the order sent).
fn results_in_order(
    request: &[(String, Vec<i32>)],
    known: &Known,
    answers: PartitionResults,
) -> Vec<(String, Vec<(i32, i16)>)> {
    let mut out: Vec<(String, Vec<(i32, i16)>)> = request
        .iter()
        .map(|(t, ps)| {
            (
                t.clone(),
                ps.iter()
                    .map(|&p| (p, UNKNOWN_TOPIC_OR_PARTITION))
                    .collect(),
            )
        })
        .collect();
    for ((ti, idx), (_, results)) in known.iter().zip(answers) {
        if let Some((_, slots)) = out.get_mut(*ti) {
            for (&i, (_, error)) in idx.iter().zip(results) {
                if let Some(slot) = slots.get_mut(i) {
                    slot.1 = code(&error);
                }
            }
        }
    }
    out
}

/// The partitions of `request` listed in `known`, by topic.
fn known_topics(request: &[(String, Vec<i32>)], known: &Known) -> Vec<(String, Vec<i32>)> {
    known
        .iter()
        .filter_map(|(ti, idx)| {
            let (name, parts) = request.get(*ti)?;
            Some((
                name.clone(),
                idx.iter().filter_map(|&i| parts.get(i).copied()).collect(),
            ))
        })
        .collect()
}

/// OffsetCommit v2–v9.
pub fn commit(ctx: &ApiContext, version: i16, req: OffsetCommitRequest) -> OffsetCommitResponse {
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
    let known = split_known(ctx, &request);
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

/// One group's OffsetFetch through the coordinator.
fn fetch_one(
    ctx: &ApiContext,
    group_id: String,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
    member_id: Option<String>,
    member_epoch: i32,
) -> group::OffsetFetchResponse {
    ctx.groups.fetch_offsets(group::OffsetFetchRequest {
        group_id,
        topics: topics.map(|ts| {
            ts.into_iter()
                .map(|(name, partitions)| group::TopicPartitionsRequest { name, partitions })
                .collect()
        }),
        require_stable,
        member_id,
        member_epoch,
    })
}

/// OffsetFetch v1–v9. Metadata is never null (an empty string when none was committed).
pub fn fetch(ctx: &ApiContext, version: i16, req: OffsetFetchRequest) -> OffsetFetchResponse {
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

/// OffsetDelete v0.
pub fn delete(ctx: &ApiContext, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
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
    let known = split_known(ctx, &request);
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
    let results = results_in_order(&request, &known, answers);
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
