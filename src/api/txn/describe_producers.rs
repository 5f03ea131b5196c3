//! DescribeProducers (v0).

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use crate::api::ApiContext;
use crate::broker::txn::describe_producers;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// DescribeProducers v0: the active producers of each partition, from its log's producer
/// state; UNKNOWN_TOPIC_OR_PARTITION for partitions the broker lacks,
/// TOPIC_AUTHORIZATION_FAILED for topics the caller may not READ.
pub fn handle_describe_producers(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let storage = ctx.replicas.storage();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let authorized = ctx.authorized::<DescribeProducers>(call, &name);
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default().with_partition_index(index);
                    if !authorized {
                        return response.with_error_code(
                            kafka_protocol::error::ResponseError::TopicAuthorizationFailed.code(),
                        );
                    }
                    match describe_producers(storage, &name, index) {
                        Ok(producers) => response.with_active_producers(
                            producers
                                .into_iter()
                                .map(|p| {
                                    ProducerState::default()
                                        .with_producer_id(ProducerId(p.producer_id))
                                        .with_producer_epoch(p.producer_epoch)
                                        .with_last_sequence(p.last_sequence)
                                        .with_last_timestamp(p.last_timestamp)
                                        .with_coordinator_epoch(p.coordinator_epoch)
                                        .with_current_txn_start_offset(p.current_txn_start_offset)
                                })
                                .collect(),
                        ),
                        Err(e) => response.with_error_code(e.code()),
                    }
                })
                .collect();
            TopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}

/// DescribeProducers: active producers of partitions.
pub struct DescribeProducers;

impl Api for DescribeProducers {
    type Request = DescribeProducersRequest;
    type Response = DescribeProducersResponse;
    const KEY: ApiKey = ApiKey::DescribeProducers;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeProducersRequest,
    ) -> Handled<DescribeProducersResponse> {
        handle_describe_producers(ctx, call, request).into()
    }
}
