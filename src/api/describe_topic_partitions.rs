//! DescribeTopicPartitions (v0): topics and partitions, paged by cursor.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};

use super::error::code;
use super::{acl_operations, ApiContext};
use crate::broker::internal_topics;

use super::text;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Answers DescribeTopicPartitions v0: topics sorted by name, at most
/// `response_partition_limit` partitions, and a cursor where the next page starts. As Kafka,
/// a listing of all topics leaves out those the caller may not DESCRIBE, and a topic named
/// without DESCRIBE is TOPIC_AUTHORIZATION_FAILED.
pub fn describe_topic_partitions(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let describable = |name: &str| ctx.authorized::<DescribeTopicPartitions>(call, name);
    let node = BrokerId(ctx.config.node_id);
    let epoch = ctx.replicas.leader_epoch();
    let mut names: Vec<String> = if req.topics.is_empty() {
        ctx.replicas
            .topics()
            .list()
            .iter()
            .filter(|t| describable(&t.name))
            .map(|t| t.name.clone())
            .collect()
    } else {
        req.topics.iter().map(|t| t.name.0.to_string()).collect()
    };
    names.sort();
    names.dedup();
    let (start_topic, start_partition) = match &req.cursor {
        Some(c) => (Some(c.topic_name.0.to_string()), c.partition_index.max(0)),
        None => (None, 0),
    };
    let mut budget = if req.response_partition_limit > 0 {
        req.response_partition_limit
    } else {
        2000
    };
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for name in names {
        if start_topic.as_ref().is_some_and(|s| name < *s) {
            continue;
        }
        let first = if start_topic.as_deref() == Some(name.as_str()) {
            start_partition
        } else {
            0
        };
        if !describable(&name) {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_error_code(code(ResponseError::TopicAuthorizationFailed))
                    .with_name(Some(TopicName(text(name))))
                    .with_topic_authorized_operations(acl_operations::OMITTED),
            );
            continue;
        }
        let Some(t) = ctx.replicas.topics().get(&name) else {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_error_code(code(ResponseError::UnknownTopicOrPartition))
                    .with_name(Some(TopicName(text(name))))
                    .with_topic_authorized_operations(acl_operations::OMITTED),
            );
            continue;
        };
        if budget == 0 {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(TopicName(text(name)))
                    .with_partition_index(first),
            );
            break;
        }
        let mut partitions = Vec::new();
        let mut p = first;
        while p < t.partitions && budget > 0 {
            partitions.push(
                DescribeTopicPartitionsResponsePartition::default()
                    .with_partition_index(p)
                    .with_leader_id(node)
                    .with_leader_epoch(epoch)
                    .with_replica_nodes(vec![node])
                    .with_isr_nodes(vec![node])
                    .with_eligible_leader_replicas(Some(Vec::new()))
                    .with_last_known_elr(Some(Vec::new())),
            );
            p += 1;
            budget -= 1;
        }
        topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(TopicName(text(name.clone()))))
                .with_topic_id(t.id)
                .with_is_internal(internal_topics::is_internal(&name))
                .with_partitions(partitions)
                .with_topic_authorized_operations(acl_operations::OMITTED),
        );
        if p < t.partitions {
            next_cursor = Some(
                Cursor::default()
                    .with_topic_name(TopicName(text(name)))
                    .with_partition_index(p),
            );
            break;
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(topics)
        .with_next_cursor(next_cursor)
}

/// DescribeTopicPartitions: partitions of topics, paged.
pub struct DescribeTopicPartitions;

impl Api for DescribeTopicPartitions {
    type Request = DescribeTopicPartitionsRequest;
    type Response = DescribeTopicPartitionsResponse;
    const KEY: ApiKey = ApiKey::DescribeTopicPartitions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeTopicPartitionsRequest,
    ) -> Handled<DescribeTopicPartitionsResponse> {
        describe_topic_partitions(ctx, call, request).into()
    }
}
