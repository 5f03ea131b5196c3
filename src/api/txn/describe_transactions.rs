//! DescribeTransactions (v0).

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use crate::api::ApiContext;
use crate::broker::internal_topics::{consumer_offsets_partition, CONSUMER_OFFSETS};
use crate::broker::txn::TxnPartition;

use crate::api::group::topic_name;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// DescribeTransactions v0: each transactional id's state, timeout, start time, producer
/// and partitions (group offsets as the group's `__consumer_offsets` partition), or
/// TRANSACTIONAL_ID_NOT_FOUND; TRANSACTIONAL_ID_AUTHORIZATION_FAILED without DESCRIBE on the
/// id, and, as Kafka, only the topics the caller may DESCRIBE.
pub fn handle_describe_transactions(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let ids: Vec<String> = req
        .transactional_ids
        .iter()
        .map(|t| t.0.to_string())
        .collect();
    // The partition count `__consumer_offsets` has, or will be created with.
    let offsets_partitions = ctx
        .replicas
        .topics()
        .get(CONSUMER_OFFSETS)
        .map_or(ctx.config.offsets_topic_num_partitions, |t| t.partitions);
    let states = ctx
        .txns
        .describe_transactions(&ids)
        .into_iter()
        .map(|d| {
            let state = TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(d.transactional_id)))
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .with_transaction_start_time_ms(-1);
            if !ctx.authorized::<DescribeTransactions>(call, state.transactional_id.as_str()) {
                return state.with_error_code(
                    kafka_protocol::error::ResponseError::TransactionalIdAuthorizationFailed.code(),
                );
            }
            match d.result {
                Ok(m) => {
                    let mut topics: Vec<TopicData> = Vec::new();
                    for p in &m.partitions {
                        if let TxnPartition::Data { topic, .. } = p {
                            if !ctx.authorize(
                                call,
                                AclOperation::Describe,
                                ResourceType::Topic,
                                topic,
                            ) {
                                continue;
                            }
                        }
                        let (topic, partition) = match p {
                            TxnPartition::Data { topic, partition } => (topic.clone(), *partition),
                            TxnPartition::GroupOffsets(group) => (
                                CONSUMER_OFFSETS.to_string(),
                                consumer_offsets_partition(group, offsets_partitions),
                            ),
                        };
                        match topics.iter_mut().find(|t| t.topic.0.as_str() == topic) {
                            Some(t) => {
                                if !t.partitions.contains(&partition) {
                                    t.partitions.push(partition);
                                }
                            }
                            None => topics.push(
                                TopicData::default()
                                    .with_topic(topic_name(&topic))
                                    .with_partitions(vec![partition]),
                            ),
                        }
                    }
                    state
                        .with_transaction_state(StrBytes::from_static_str(m.state.name()))
                        .with_transaction_timeout_ms(m.transaction_timeout_ms)
                        .with_transaction_start_time_ms(m.transaction_start_time_ms)
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_producer_epoch(m.producer_epoch)
                        .with_topics(topics)
                }
                Err(e) => state.with_error_code(e.code()),
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

/// DescribeTransactions: state of transactional ids.
pub struct DescribeTransactions;

impl Api for DescribeTransactions {
    type Request = DescribeTransactionsRequest;
    type Response = DescribeTransactionsResponse;
    const KEY: ApiKey = ApiKey::DescribeTransactions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::TransactionalId);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeTransactionsRequest,
    ) -> Handled<DescribeTransactionsResponse> {
        handle_describe_transactions(ctx, call, request).into()
    }
}
