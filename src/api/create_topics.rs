//! CreateTopics (v2–v7). Skiff is a single broker: a replication factor of 1 or -1 (the
//! default) is accepted, any other gets INVALID_REPLICATION_FACTOR; a manual assignment may
//! only name this broker (else INVALID_REPLICA_ASSIGNMENT). Each topic's partitions count
//! toward the client's `controller_mutation_rate` quota (from v6 a topic beyond it is
//! refused with THROTTLING_QUOTA_EXCEEDED).

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use uuid::Uuid;

use super::error::{broker_error_code, code, throttling_quota_code};
use super::throttle::{finish_mutations, mutation_quota};
use super::ApiContext;
use crate::broker::topic_config::{self, TOPIC_CONFIGS};
use crate::broker::validate_topic_name;

use super::topic_configs::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// What a CreateTopics entry asks for once checked: partition count and overrides.
fn check_creatable(
    ctx: &ApiContext,
    version: i16,
    t: &CreatableTopic,
) -> Result<(i32, BTreeMap<String, String>), TopicError> {
    let name = t.name.0.as_str();
    validate_topic_name(name).map_err(|e| (broker_error_code(&e), e.to_string()))?;
    if ctx.replicas.topics().get(name).is_some() {
        return Err((
            code(ResponseError::TopicAlreadyExists),
            format!("Topic '{name}' already exists."),
        ));
    }
    let node = ctx.config.node_id;
    let partitions = if !t.assignments.is_empty() {
        if t.num_partitions != -1 || t.replication_factor != -1 {
            return Err((
                code(ResponseError::InvalidRequest),
                "both a replica assignment and a partition count or replication factor".into(),
            ));
        }
        let mut seen = Vec::new();
        for a in &t.assignments {
            if a.broker_ids.len() != 1 || a.broker_ids.first().map(|b| b.0) != Some(node) {
                return Err((
                    code(ResponseError::InvalidReplicaAssignment),
                    format!(
                        "partition {} must be assigned to broker {node} only",
                        a.partition_index
                    ),
                ));
            }
            seen.push(a.partition_index);
        }
        seen.sort_unstable();
        if seen.iter().enumerate().any(|(i, p)| i as i32 != *p) {
            return Err((
                code(ResponseError::InvalidReplicaAssignment),
                "assigned partitions must be 0..n without gaps".into(),
            ));
        }
        i32::try_from(t.assignments.len()).unwrap_or(i32::MAX)
    } else {
        match t.num_partitions {
            -1 if version >= 4 => ctx.config.num_partitions,
            n if n > 0 => n,
            n => {
                return Err((
                    code(ResponseError::InvalidPartitions),
                    format!("Number of partitions must be larger than 0, got {n}."),
                ))
            }
        }
    };
    if t.assignments.is_empty() && !matches!(t.replication_factor, 1 | -1) {
        return Err((
            code(ResponseError::InvalidReplicationFactor),
            format!(
                "Replication factor {} is not possible on a single broker: use 1 or -1.",
                t.replication_factor
            ),
        ));
    }
    let configs = validate_configs(
        t.configs
            .iter()
            .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str()))),
    )?;
    Ok((partitions, configs))
}

/// Every config of a topic with `overrides`, as CreateTopics v5+ reports them.
fn creatable_configs(
    ctx: &ApiContext,
    overrides: &BTreeMap<String, String>,
) -> Vec<CreatableTopicConfigs> {
    TOPIC_CONFIGS
        .iter()
        .map(|d| {
            let (value, source) = topic_config::effective_value(&ctx.config, overrides, d);
            CreatableTopicConfigs::default()
                .with_name(text(d.name))
                .with_value(Some(text(value)))
                .with_read_only(false)
                .with_config_source(source as i8)
                .with_is_sensitive(false)
        })
        .collect()
}

/// CreateTopics version from which the controller mutation quota refuses topics.
const STRICT_QUOTA_VERSION: i16 = 6;

/// Answers CreateTopics v2–v7. As Kafka: CREATE on the cluster, or else on each topic
/// (TOPIC_AUTHORIZATION_FAILED); a created topic's configs are reported only with
/// DESCRIBE_CONFIGS on it (else its config error is TOPIC_AUTHORIZATION_FAILED).
pub fn create_topics(
    ctx: &ApiContext,
    call: &Call,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let version = call.version;
    let mut quota = mutation_quota(ctx, call, STRICT_QUOTA_VERSION);
    let cluster_create = ctx.authorize_cluster(call, AclOperation::Create);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(t.name.0.to_string()).or_default() += 1;
    }
    let results = req
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let mut result = CreatableTopicResult::default()
                .with_name(t.name.clone())
                .with_num_partitions(-1)
                .with_replication_factor(-1);
            let outcome = if counts.get(&name).copied().unwrap_or(0) > 1 {
                Err((
                    code(ResponseError::InvalidRequest),
                    format!("topic `{name}` appears more than once in the request"),
                ))
            } else if !cluster_create && !ctx.authorized::<CreateTopics>(call, &name) {
                Err((
                    code(ResponseError::TopicAuthorizationFailed),
                    "Authorization failed.".to_string(),
                ))
            } else {
                check_creatable(ctx, version, t)
            };
            let (partitions, configs) = match outcome {
                Ok(ok) => ok,
                Err((error, message)) => {
                    result.error_code = error;
                    result.error_message = Some(text(message));
                    return result;
                }
            };
            // As Kafka, the quota is checked once the topic is known to be valid, also
            // when only validating.
            if let Err(e) = quota.record(f64::from(partitions)) {
                result.error_code = throttling_quota_code(&e);
                result.error_message = Some(text(e.to_string()));
                return result;
            }
            let id = if req.validate_only {
                // The id the topic would get, as Kafka answers.
                Uuid::new_v4()
            } else {
                match ctx
                    .replicas
                    .create_topic_with_configs(&name, partitions, configs.clone())
                {
                    Ok((topic, true)) => {
                        tracing::info!(topic = name, partitions, "created topic");
                        topic.id
                    }
                    Ok((_, false)) => {
                        result.error_code = code(ResponseError::TopicAlreadyExists);
                        result.error_message =
                            Some(text(format!("Topic '{name}' already exists.")));
                        return result;
                    }
                    Err(e) => {
                        result.error_code = broker_error_code(&e);
                        result.error_message = Some(text(e.to_string()));
                        return result;
                    }
                }
            };
            result.topic_id = id;
            result.num_partitions = partitions;
            result.replication_factor = 1;
            if ctx.authorize(
                call,
                AclOperation::DescribeConfigs,
                ResourceType::Topic,
                &name,
            ) {
                result.configs = Some(creatable_configs(ctx, &configs));
            } else {
                result.topic_config_error_code = code(ResponseError::TopicAuthorizationFailed);
            }
            result
        })
        .collect();
    CreateTopicsResponse::default()
        .with_topics(results)
        .with_throttle_time_ms(finish_mutations(call, &quota))
}

/// CreateTopics: new topics with their configs.
pub struct CreateTopics;

impl Api for CreateTopics {
    type Request = CreateTopicsRequest;
    type Response = CreateTopicsResponse;
    const KEY: ApiKey = ApiKey::CreateTopics;
    const MIN_VERSION: i16 = 2;
    const MAX_VERSION: i16 = 7;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Create, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: CreateTopicsRequest,
    ) -> Handled<CreateTopicsResponse> {
        create_topics(ctx, call, request).into()
    }
}
