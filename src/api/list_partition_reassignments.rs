//! ListPartitionReassignments (v0): the reassignments in progress. On one node a valid
//! reassignment completes as it is made (see [`super::alter_partition_reassignments`]), so
//! none is ever in progress: the answer is empty with no error, for all partitions (null)
//! as for named ones, known or not (Kafka's controller skips topics it does not know).

use std::sync::Arc;

use kafka_protocol::messages::{
    ApiKey, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use super::error::NONE;
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{ApiContext, Call, Handled};

/// Answers ListPartitionReassignments v0.
pub fn list_partition_reassignments(
    _req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    ListPartitionReassignmentsResponse::default()
        .with_error_code(NONE)
        .with_error_message(None)
        .with_topics(Vec::new())
}

/// ListPartitionReassignments: the partition reassignments in progress.
pub struct ListPartitionReassignments;

impl Api for ListPartitionReassignments {
    type Request = ListPartitionReassignmentsRequest;
    type Response = ListPartitionReassignmentsResponse;
    const KEY: ApiKey = ApiKey::ListPartitionReassignments;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ListPartitionReassignmentsRequest,
    ) -> Handled<ListPartitionReassignmentsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return ListPartitionReassignmentsResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code(),
                )
                .with_error_message(Some(crate::api::text("Cluster authorization failed.")))
                .into();
        }
        list_partition_reassignments(request).into()
    }
}
