//! DescribeLogDirs (v1–v4): every log dir, its partitions (and the future copies of
//! moves in progress) with their sizes, and from v4 the file system's total and usable
//! bytes; an offline dir is reported with KAFKA_STORAGE_ERROR only, as Kafka reports it.

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::ResponseError;

use super::error::NONE;
use super::ApiContext;

use super::text;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Answers DescribeLogDirs v1–v4.
pub fn describe_log_dirs(ctx: &ApiContext, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let wanted: Option<Vec<(String, Vec<i32>)>> = req.topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|t| (t.topic.0.to_string(), t.partitions.clone()))
            .collect()
    });
    let results = ctx
        .replicas
        .describe_log_dirs(wanted.as_deref())
        .into_iter()
        .map(|dir| {
            let mut topics: Vec<DescribeLogDirsTopic> = Vec::new();
            for r in &dir.replicas {
                let entry = DescribeLogDirsPartition::default()
                    .with_partition_index(r.partition)
                    .with_partition_size(r.size)
                    .with_offset_lag(r.offset_lag)
                    .with_is_future_key(r.is_future);
                match topics.iter_mut().find(|t| t.name.0.as_str() == r.topic) {
                    Some(t) => t.partitions.push(entry),
                    None => topics.push(
                        DescribeLogDirsTopic::default()
                            .with_name(TopicName(text(&r.topic)))
                            .with_partitions(vec![entry]),
                    ),
                }
            }
            let error = if dir.online {
                NONE
            } else {
                ResponseError::KafkaStorageError.code()
            };
            DescribeLogDirsResult::default()
                .with_error_code(error)
                .with_log_dir(text(dir.path))
                .with_topics(topics)
                .with_total_bytes(dir.total_bytes)
                .with_usable_bytes(dir.usable_bytes)
        })
        .collect();
    DescribeLogDirsResponse::default()
        .with_error_code(NONE)
        .with_results(results)
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
        call: &Call,
        request: DescribeLogDirsRequest,
    ) -> Handled<DescribeLogDirsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return DescribeLogDirsResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .into();
        }
        describe_log_dirs(ctx, request).into()
    }
}
