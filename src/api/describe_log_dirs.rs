//! DescribeLogDirs (v1–v4): the data dir and the partitions in it.

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::error::NONE;
use super::ApiContext;

use super::text;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Answers DescribeLogDirs v1–v4: the one data directory and the size of each partition.
pub fn describe_log_dirs(ctx: &ApiContext, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let mut topics: Vec<DescribeLogDirsTopic> = Vec::new();
    let mut push = |name: &str, partition: i32| {
        let Some(log) = ctx.replicas.partition(name, partition) else {
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

/// DescribeLogDirs: log dirs, their partitions and sizes.
pub struct DescribeLogDirs;

impl Api for DescribeLogDirs {
    type Request = DescribeLogDirsRequest;
    type Response = DescribeLogDirsResponse;
    const KEY: ApiKey = ApiKey::DescribeLogDirs;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        _call: &Call,
        request: DescribeLogDirsRequest,
    ) -> Handled<DescribeLogDirsResponse> {
        describe_log_dirs(ctx, request).into()
    }
}
