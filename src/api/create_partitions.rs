//! CreatePartitions (v0–v3). The partitions added count toward the client's
//! `controller_mutation_rate` quota (from v3 a topic beyond it is refused with
//! THROTTLING_QUOTA_EXCEEDED).

use std::collections::HashMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::error::{broker_error_code, throttling_quota_code, NONE};
use super::throttle::{finish_mutations, mutation_quota};
use super::ApiContext;

use super::topic_configs::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// CreatePartitions version from which the controller mutation quota refuses topics.
const STRICT_QUOTA_VERSION: i16 = 3;

/// Answers CreatePartitions v0–v3 (one result per topic).
pub fn create_partitions(
    ctx: &ApiContext,
    call: &Call,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut quota = mutation_quota(ctx, call, STRICT_QUOTA_VERSION);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(t.name.0.to_string()).or_default() += 1;
    }
    let node = ctx.config.node_id;
    let results = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            let fail = |error: ResponseError, message: String| {
                CreatePartitionsTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(error.code())
                    .with_error_message(Some(text(message)))
            };
            if counts.get(&name).copied().unwrap_or(0) > 1 {
                return fail(
                    ResponseError::InvalidRequest,
                    format!("topic `{name}` appears more than once"),
                );
            }
            // As Kafka, a topic the caller may not ALTER is refused whether it exists or not.
            if !ctx.authorized::<CreatePartitions>(call, &name) {
                return fail(
                    ResponseError::TopicAuthorizationFailed,
                    "Authorization failed.".to_string(),
                );
            }
            let Some(topic) = ctx.replicas.topics().get(&name) else {
                return fail(
                    ResponseError::UnknownTopicOrPartition,
                    format!("The topic '{name}' does not exist."),
                );
            };
            if t.count <= topic.partitions {
                return fail(
                    ResponseError::InvalidPartitions,
                    format!(
                        "Topic currently has {} partitions, which is higher than or equal to the requested {}.",
                        topic.partitions, t.count
                    ),
                );
            }
            if let Some(assignments) = &t.assignments {
                let added = t.count - topic.partitions;
                let wrong = assignments.len() != added as usize
                    || assignments
                        .iter()
                        .any(|a| a.broker_ids.len() != 1 || a.broker_ids.first().map(|b| b.0) != Some(node));
                if wrong {
                    return fail(
                        ResponseError::InvalidReplicaAssignment,
                        format!("each of the {added} new partitions must be assigned to broker {node} only"),
                    );
                }
            }
            if let Err(e) = quota.record(f64::from(t.count - topic.partitions)) {
                return result
                    .with_error_code(throttling_quota_code(&e))
                    .with_error_message(Some(text(e.to_string())));
            }
            if req.validate_only {
                return result;
            }
            match ctx.replicas.create_partitions(&name, t.count) {
                Ok(_) => {
                    tracing::info!(topic = name, partitions = t.count, "added partitions");
                    result.with_error_code(NONE)
                }
                Err(e) => result
                    .with_error_code(broker_error_code(&e))
                    .with_error_message(Some(text(e.to_string()))),
            }
        })
        .collect();
    CreatePartitionsResponse::default()
        .with_results(results)
        .with_throttle_time_ms(finish_mutations(call, &quota))
}

/// CreatePartitions: more partitions for existing topics.
pub struct CreatePartitions;

impl Api for CreatePartitions {
    type Request = CreatePartitionsRequest;
    type Response = CreatePartitionsResponse;
    const KEY: ApiKey = ApiKey::CreatePartitions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 3;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: CreatePartitionsRequest,
    ) -> Handled<CreatePartitionsResponse> {
        create_partitions(ctx, call, request).into()
    }
}
