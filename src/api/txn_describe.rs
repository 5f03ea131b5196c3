//! The operator APIs of transactions: DescribeProducers, DescribeTransactions and
//! ListTransactions. They read in-memory state only, so they answer at once.

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::list_transactions_response::TransactionState as ListedTransaction;
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeProducersResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, ListTransactionsRequest, ListTransactionsResponse, ProducerId,
    TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::ApiContext;
use crate::broker::internal_topics::{consumer_offsets_partition, CONSUMER_OFFSETS};
use crate::broker::txn::{describe_producers, ListTransactionsFilter, TxnPartition};

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}

/// DescribeProducers v0: the active producers of each partition, from its log's producer
/// state; UNKNOWN_TOPIC_OR_PARTITION for partitions the broker lacks.
pub fn handle_describe_producers(
    ctx: &ApiContext,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let storage = ctx.replicas.storage();
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partition_indexes
                .iter()
                .map(|&index| {
                    let response = PartitionResponse::default().with_partition_index(index);
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

/// DescribeTransactions v0: each transactional id's state, timeout, start time, producer
/// and partitions (group offsets as the group's `__consumer_offsets` partition), or
/// TRANSACTIONAL_ID_NOT_FOUND.
pub fn handle_describe_transactions(
    ctx: &ApiContext,
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
            match d.result {
                Ok(m) => {
                    let mut topics: Vec<TopicData> = Vec::new();
                    for p in &m.partitions {
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

/// ListTransactions v0–v1: transactions filtered by state, producer id and (v1) duration.
pub fn handle_list_transactions(
    ctx: &ApiContext,
    version: i16,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let filter = ListTransactionsFilter {
        states: req.state_filters.iter().map(|s| s.to_string()).collect(),
        producer_ids: req.producer_id_filters.iter().map(|p| p.0).collect(),
        duration_ms: if version >= 1 {
            req.duration_filter
        } else {
            -1
        },
    };
    let listed = ctx.txns.list_transactions(&filter);
    ListTransactionsResponse::default()
        .with_unknown_state_filters(
            listed
                .unknown_state_filters
                .into_iter()
                .map(StrBytes::from_string)
                .collect(),
        )
        .with_transaction_states(
            listed
                .transactions
                .into_iter()
                .map(|t| {
                    ListedTransaction::default()
                        .with_transactional_id(TransactionalId(StrBytes::from_string(
                            t.transactional_id,
                        )))
                        .with_producer_id(ProducerId(t.producer_id))
                        .with_transaction_state(StrBytes::from_static_str(t.state.name()))
                })
                .collect(),
        )
}
