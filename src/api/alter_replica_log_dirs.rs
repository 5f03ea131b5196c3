//! AlterReplicaLogDirs (v1–v2): moves partitions between this broker's log directories,
//! online, as Kafka's replica manager does. Each partition is answered at once: NONE when
//! the move started (or the partition is there already), LOG_DIR_NOT_FOUND for a path
//! that is not one of the log dirs, KAFKA_STORAGE_ERROR for an offline directory,
//! UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist. The copy then runs in
//! the background; DescribeLogDirs shows it as the partition's future replica until it is
//! swapped in.

use std::sync::Arc;

use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{
    AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse, ApiKey, TopicName,
};

use super::error::{partition_error_code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};

/// Answers AlterReplicaLogDirs v1–v2. A partition named under several directories goes
/// to the last one, as Kafka reads the request into a map.
pub fn alter_replica_log_dirs(
    ctx: &ApiContext,
    req: AlterReplicaLogDirsRequest,
) -> AlterReplicaLogDirsResponse {
    let mut wanted: Vec<((String, i32), String)> = Vec::new();
    for dir in &req.dirs {
        for topic in &dir.topics {
            for &p in &topic.partitions {
                let key = (topic.name.0.to_string(), p);
                let path = dir.path.to_string();
                match wanted.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = path,
                    None => wanted.push((key, path)),
                }
            }
        }
    }
    let mut results: Vec<AlterReplicaLogDirTopicResult> = Vec::new();
    for ((topic, partition), path) in wanted {
        let error = match ctx.replicas.alter_log_dir(&topic, partition, &path) {
            Ok(()) => NONE,
            Err(e) => partition_error_code(&e),
        };
        let entry = AlterReplicaLogDirPartitionResult::default()
            .with_partition_index(partition)
            .with_error_code(error);
        match results
            .iter_mut()
            .find(|r| r.topic_name.0.as_str() == topic)
        {
            Some(r) => r.partitions.push(entry),
            None => results.push(
                AlterReplicaLogDirTopicResult::default()
                    .with_topic_name(TopicName(text(topic)))
                    .with_partitions(vec![entry]),
            ),
        }
    }
    AlterReplicaLogDirsResponse::default().with_results(results)
}

/// Every partition refused with CLUSTER_AUTHORIZATION_FAILED, as Kafka answers a caller
/// without ALTER on the cluster.
fn denied_alter_replica_log_dirs(req: &AlterReplicaLogDirsRequest) -> AlterReplicaLogDirsResponse {
    use kafka_protocol::messages::alter_replica_log_dirs_response::{
        AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
    };
    let error = kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code();
    AlterReplicaLogDirsResponse::default().with_results(
        req.dirs
            .iter()
            .flat_map(|d| &d.topics)
            .map(|t| {
                AlterReplicaLogDirTopicResult::default()
                    .with_topic_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|&p| {
                                AlterReplicaLogDirPartitionResult::default()
                                    .with_partition_index(p)
                                    .with_error_code(error)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// AlterReplicaLogDirs: move partitions between log directories.
pub struct AlterReplicaLogDirs;

impl Api for AlterReplicaLogDirs {
    type Request = AlterReplicaLogDirsRequest;
    type Response = AlterReplicaLogDirsResponse;
    const KEY: ApiKey = ApiKey::AlterReplicaLogDirs;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AlterReplicaLogDirsRequest,
    ) -> Handled<AlterReplicaLogDirsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return denied_alter_replica_log_dirs(&request).into();
        }
        alter_replica_log_dirs(ctx, request).into()
    }
}
