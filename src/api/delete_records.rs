//! DeleteRecords (v0–v2): moves log start offsets forward.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::error::{code, partition_error_code, NONE};
use super::ApiContext;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Answers DeleteRecords v0–v2: moves each partition's log start offset up to the given
/// offset (-1: the high watermark), deleting the segments wholly below it. A topic the
/// caller may not DELETE is TOPIC_AUTHORIZATION_FAILED.
pub fn delete_records(
    ctx: &ApiContext,
    call: &Call,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let authorized = ctx.authorized::<DeleteRecords>(call, t.name.0.as_str());
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(-1);
                    if !authorized {
                        return r.with_error_code(code(ResponseError::TopicAuthorizationFailed));
                    }
                    let Some(partition) =
                        ctx.replicas.partition(t.name.0.as_str(), p.partition_index)
                    else {
                        return r.with_error_code(code(ResponseError::UnknownTopicOrPartition));
                    };
                    match partition.delete_records(p.offset) {
                        Ok(low_watermark) => {
                            r.with_low_watermark(low_watermark).with_error_code(NONE)
                        }
                        Err(e) => r.with_error_code(partition_error_code(&e)),
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

/// DeleteRecords: records before an offset.
pub struct DeleteRecords;

impl Api for DeleteRecords {
    type Request = DeleteRecordsRequest;
    type Response = DeleteRecordsResponse;
    const KEY: ApiKey = ApiKey::DeleteRecords;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Delete, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DeleteRecordsRequest,
    ) -> Handled<DeleteRecordsResponse> {
        delete_records(ctx, call, request).into()
    }
}
