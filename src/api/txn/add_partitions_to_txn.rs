//! AddPartitionsToTxn (v0–v5).

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use crate::api::{ApiContext, Handled};
use crate::broker::txn::{AddPartitionsRequest, PartitionResult, TxnApi, TxnError};

use super::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::Call;
use kafka_protocol::messages::ApiKey;

fn partitions_of(topics: &[AddPartitionsToTxnTopic]) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for t in topics {
        for p in &t.partitions {
            let entry = (t.name.0.to_string(), *p);
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

/// Groups per-partition results by topic, topics in first-seen order.
fn topic_results(
    results: &[PartitionResult],
    api: TxnApi,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut out: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for r in results {
        let partition = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(r.partition)
            .with_partition_error_code(code(&r.result, api, version));
        match out.iter_mut().find(|t| t.name.0.as_str() == r.topic) {
            Some(t) => t.results_by_partition.push(partition),
            None => out.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(StrBytes::from_string(r.topic.clone())))
                    .with_results_by_partition(vec![partition]),
            ),
        }
    }
    out
}

/// Every partition answered with the code `code_of` gives its topic.
fn answered(
    partitions: &[(String, i32)],
    code_of: impl Fn(&str) -> i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut out: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for (topic, index) in partitions {
        let partition = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(*index)
            .with_partition_error_code(code_of(topic));
        match out.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.results_by_partition.push(partition),
            None => out.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(StrBytes::from_string(topic.clone())))
                    .with_results_by_partition(vec![partition]),
            ),
        }
    }
    out
}

/// What Kafka answers a client's (v0–v3) request the caller is not authorized for: every
/// partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED without WRITE on the transactional id;
/// else, when some topic lacks WRITE, TOPIC_AUTHORIZATION_FAILED for its partitions and
/// OPERATION_NOT_ATTEMPTED for the others. `None` when it is authorized.
fn denied(
    ctx: &ApiContext,
    call: &Call,
    req: &AddPartitionsToTxnRequest,
) -> Option<Vec<AddPartitionsToTxnTopicResult>> {
    let partitions = partitions_of(&req.v3_and_below_topics);
    if !ctx.authorized::<AddPartitionsToTxn>(call, &req.v3_and_below_transactional_id) {
        let error = kafka_protocol::error::ResponseError::TransactionalIdAuthorizationFailed.code();
        return Some(answered(&partitions, |_| error));
    }
    let denied: Vec<&str> = partitions
        .iter()
        .map(|(t, _)| t.as_str())
        .filter(|t| !ctx.authorize(call, AclOperation::Write, ResourceType::Topic, t))
        .collect();
    if denied.is_empty() {
        return None;
    }
    Some(answered(&partitions, |t| {
        if denied.contains(&t) {
            kafka_protocol::error::ResponseError::TopicAuthorizationFailed.code()
        } else {
            kafka_protocol::error::ResponseError::OperationNotAttempted.code()
        }
    }))
}

/// AddPartitionsToTxn v0–v5. Up to v3 the request is one transaction from its top-level
/// fields; from v4 (KIP-890) it is a batch of transactions, each possibly `verify_only`.
pub fn add_partitions_to_txn(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: AddPartitionsToTxnRequest,
) -> Handled<AddPartitionsToTxnResponse> {
    let api = TxnApi::AddPartitionsToTxn;
    if version < 4 {
        let input = AddPartitionsRequest {
            transactional_id: req.v3_and_below_transactional_id.0.to_string(),
            producer_id: req.v3_and_below_producer_id.0,
            producer_epoch: req.v3_and_below_producer_epoch,
            verify_only: false,
            partitions: partitions_of(&req.v3_and_below_topics),
        };
        let failed: Vec<PartitionResult> = input
            .partitions
            .iter()
            .map(|(t, p)| PartitionResult {
                topic: t.clone(),
                partition: *p,
                result: Err(TxnError::UnknownServerError),
            })
            .collect();
        let on_panic = AddPartitionsToTxnResponse::default()
            .with_results_by_topic_v3_and_below(topic_results(&failed, api, version));
        return blocking(
            ctx,
            move |txns| {
                let results = txns.add_partitions_to_txn(&input);

                AddPartitionsToTxnResponse::default()
                    .with_results_by_topic_v3_and_below(topic_results(&results, api, version))
            },
            on_panic,
        );
    }
    let inputs: Vec<AddPartitionsRequest> = req
        .transactions
        .iter()
        .map(|t| AddPartitionsRequest {
            transactional_id: t.transactional_id.0.to_string(),
            producer_id: t.producer_id.0,
            producer_epoch: t.producer_epoch,
            verify_only: t.verify_only,
            partitions: partitions_of(&t.topics),
        })
        .collect();
    let on_panic = AddPartitionsToTxnResponse::default().with_error_code(unknown_server_error());
    blocking(
        ctx,
        move |txns| {
            let results = inputs
                .iter()
                .map(|input| {
                    let results = txns.add_partitions_to_txn(input);
                    AddPartitionsToTxnResult::default()
                        .with_transactional_id(TransactionalId(StrBytes::from_string(
                            input.transactional_id.clone(),
                        )))
                        .with_topic_results(topic_results(&results, api, version))
                })
                .collect();

            AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
        },
        on_panic,
    )
}

/// AddPartitionsToTxn: partitions join a transaction.
pub struct AddPartitionsToTxn;

impl Api for AddPartitionsToTxn {
    type Request = AddPartitionsToTxnRequest;
    type Response = AddPartitionsToTxnResponse;
    const KEY: ApiKey = ApiKey::AddPartitionsToTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Write, ResourceType::TransactionalId);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AddPartitionsToTxnRequest,
    ) -> Handled<AddPartitionsToTxnResponse> {
        if call.version < 4 {
            if let Some(results) = denied(ctx, call, &request) {
                return AddPartitionsToTxnResponse::default()
                    .with_results_by_topic_v3_and_below(results)
                    .into();
            }
        } else if !ctx.authorize_cluster(call, AclOperation::ClusterAction) {
            // From v4 only brokers send it (KIP-890), with CLUSTER_ACTION.
            return AddPartitionsToTxnResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code(),
                )
                .into();
        }
        add_partitions_to_txn(ctx, call.version, request)
    }
}
