//! Committed offsets: OffsetCommit v2–v9, OffsetFetch v1–v9 (several groups from v8) and
//! OffsetDelete v0.
//!
//! Topics and partitions the broker does not have are answered with
//! UNKNOWN_TOPIC_OR_PARTITION per partition (on commit and delete) before the coordinator
//! sees the rest, as Kafka does.

use super::code;
use crate::api::ApiContext;
use crate::broker::group::PartitionResults;

/// UNKNOWN_TOPIC_OR_PARTITION.
pub(crate) const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// Whether the broker has `partition` of `topic`.
pub(crate) fn partition_exists(ctx: &ApiContext, topic: &str, partition: i32) -> bool {
    ctx.replicas
        .topics()
        .get(topic)
        .is_some_and(|t| (0..t.partitions).contains(&partition))
}

/// For each request topic with partitions the broker has: the topic's position in the
/// request and the positions of those partitions.
pub(crate) type Known = Vec<(usize, Vec<usize>)>;

pub(crate) fn split_known(ctx: &ApiContext, topics: &[(String, Vec<i32>)]) -> Known {
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
pub(crate) fn results_in_order(
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

/// The topics of `request` the caller may not access (`allowed` says which it may), by
/// position: left out of `known` (the coordinator never sees them) and answered
/// TOPIC_AUTHORIZATION_FAILED by [`deny_topics`].
pub(crate) fn denied_topics(
    request: &[(String, Vec<i32>)],
    allowed: impl Fn(&str) -> bool,
) -> Vec<bool> {
    request.iter().map(|(t, _)| !allowed(t)).collect()
}

/// Leaves the `denied` topics out of `known`.
pub(crate) fn drop_denied(known: &mut Known, denied: &[bool]) {
    known.retain(|(ti, _)| !denied.get(*ti).copied().unwrap_or(false));
}

/// Answers every partition of the `denied` topics with TOPIC_AUTHORIZATION_FAILED.
pub(crate) fn deny_topics(results: &mut [(String, Vec<(i32, i16)>)], denied: &[bool]) {
    let error = kafka_protocol::error::ResponseError::TopicAuthorizationFailed.code();
    for ((_, parts), _) in results
        .iter_mut()
        .zip(denied)
        .filter(|(_, denied)| **denied)
    {
        for p in parts.iter_mut() {
            p.1 = error;
        }
    }
}

/// Every partition of `request` answered with `error` (a group the caller may not use).
pub(crate) fn all_failed(
    request: &[(String, Vec<i32>)],
    error: i16,
) -> Vec<(String, Vec<(i32, i16)>)> {
    request
        .iter()
        .map(|(t, ps)| (t.clone(), ps.iter().map(|&p| (p, error)).collect()))
        .collect()
}

/// The partitions of `request` listed in `known`, by topic.
pub(crate) fn known_topics(
    request: &[(String, Vec<i32>)],
    known: &Known,
) -> Vec<(String, Vec<i32>)> {
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
