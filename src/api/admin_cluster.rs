//! Cluster and partition administration: DescribeCluster (v0–v1), DescribeLogDirs (v1–v4),
//! DeleteRecords (v0–v2) and DescribeTopicPartitions (v0, with its pagination cursor).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DeleteRecordsRequest, DeleteRecordsResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeLogDirsRequest, DescribeLogDirsResponse,
    DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::error::{code, storage_error_code, NONE};
use super::{acl_operations, ApiContext};
use crate::broker::internal_topics;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Answers DescribeCluster v0–v1: this broker is the whole cluster and its controller.
pub fn describe_cluster(ctx: &ApiContext, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let broker = DescribeClusterBroker::default()
        .with_broker_id(BrokerId(ctx.config.node_id))
        .with_host(text(ctx.advertised_host.clone()))
        .with_port(ctx.advertised_port);
    DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(text(ctx.cluster_id.clone()))
        .with_controller_id(BrokerId(ctx.config.node_id))
        .with_brokers(vec![broker])
        .with_cluster_authorized_operations(acl_operations::if_requested(
            req.include_cluster_authorized_operations,
            acl_operations::CLUSTER,
        ))
}

/// Answers DescribeLogDirs v1–v4: the one data directory and the size of each partition.
pub fn describe_log_dirs(ctx: &ApiContext, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let mut topics: Vec<DescribeLogDirsTopic> = Vec::new();
    let mut push = |name: &str, partition: i32| {
        let Some(log) = ctx.replicas.log(name, partition) else {
            return;
        };
        let entry = DescribeLogDirsPartition::default()
            .with_partition_index(partition)
            .with_partition_size(i64::try_from(log.size_bytes()).unwrap_or(i64::MAX))
            .with_offset_lag(0)
            .with_is_future_key(false);
        match topics.iter_mut().find(|t| t.name.0.as_str() == name) {
            Some(t) => t.partitions.push(entry),
            None => topics.push(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(text(name)))
                    .with_partitions(vec![entry]),
            ),
        }
    };
    match &req.topics {
        None => {
            for t in ctx.replicas.topics().list() {
                for p in 0..t.partitions {
                    push(&t.name, p);
                }
            }
        }
        Some(wanted) => {
            for t in wanted {
                for &p in &t.partitions {
                    push(t.topic.0.as_str(), p);
                }
            }
        }
    }
    let dir =
        std::fs::canonicalize(&ctx.config.data_dir).unwrap_or_else(|_| ctx.config.data_dir.clone());
    let result = DescribeLogDirsResult::default()
        .with_log_dir(text(dir.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(-1)
        .with_usable_bytes(-1);
    DescribeLogDirsResponse::default()
        .with_error_code(NONE)
        .with_results(vec![result])
}

/// Answers DeleteRecords v0–v2: moves each partition's log start offset up to the given
/// offset (-1: the high watermark), deleting the segments wholly below it.
pub fn delete_records(ctx: &ApiContext, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    let Some(log) = ctx.replicas.log(t.name.0.as_str(), p.partition_index) else {
                        return r.with_error_code(code(ResponseError::UnknownTopicOrPartition));
                    };
                    // Only logs with the delete policy may lose records this way.
                    if !ctx
                        .replicas
                        .topic_settings(t.name.0.as_str())
                        .log
                        .cleanup_policy
                        .delete
                    {
                        return r.with_error_code(code(ResponseError::PolicyViolation));
                    }
                    let hw = log.high_watermark();
                    let offset = if p.offset == -1 { hw } else { p.offset };
                    if offset < 0 || offset > hw {
                        return r.with_error_code(code(ResponseError::OffsetOutOfRange));
                    }
                    match log.delete_before(offset) {
                        Ok(_) => r
                            .with_low_watermark(log.log_start_offset())
                            .with_error_code(NONE),
                        Err(e) => r.with_error_code(storage_error_code(&e)),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

/// Answers DescribeTopicPartitions v0: topics sorted by name, at most
/// `response_partition_limit` partitions, and a cursor where the next page starts.
pub fn describe_topic_partitions(
    ctx: &ApiContext,
    req: DescribeTopicPartitionsRequest,
) -> DescribeTopicPartitionsResponse {
    let node = BrokerId(ctx.config.node_id);
    let epoch = ctx.replicas.leader_epoch();
    let mut names: Vec<String> = if req.topics.is_empty() {
        ctx.replicas
            .topics()
            .list()
            .iter()
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
