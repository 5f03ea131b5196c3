//! Topic administration: CreateTopics (v2–v7), DeleteTopics (v1–v6) and CreatePartitions
//! (v0–v3).
//!
//! Skiff is a single broker, so a topic's replication factor is 1: CreateTopics accepts 1
//! and -1 (the broker default) and answers any other value with INVALID_REPLICATION_FACTOR;
//! a manual replica assignment may only name this broker (else INVALID_REPLICA_ASSIGNMENT).

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::error::{broker_error_code, code, NONE};
use super::ApiContext;
use crate::broker::topic_config::{self, TOPIC_CONFIGS};
use crate::broker::validate_topic_name;

/// A per-topic error: code and message.
type TopicError = (i16, String);

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

/// Checks config overrides given as (name, value) pairs; returns them as a map.
pub fn validate_configs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<BTreeMap<String, String>, TopicError> {
    let invalid = |m: String| (code(ResponseError::InvalidConfig), m);
    let mut out = BTreeMap::new();
    for (name, value) in pairs {
        let value = value.ok_or_else(|| invalid(format!("null value for config `{name}`")))?;
        if value.contains('\n') {
            return Err(invalid(format!("value of `{name}` contains a line break")));
        }
        topic_config::validate(name, value)
            .map_err(|e| invalid(format!("invalid value for `{name}`: {e}")))?;
        if out.insert(name.to_string(), value.to_string()).is_some() {
            return Err((
                code(ResponseError::InvalidRequest),
                format!("config `{name}` given twice"),
            ));
        }
    }
    Ok(out)
}

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

/// Answers CreateTopics v2–v7.
pub fn create_topics(
    ctx: &ApiContext,
    version: i16,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
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
            result.configs = Some(creatable_configs(ctx, &configs));
            result
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}

/// Answers DeleteTopics v1–v6: by name (all versions) or by topic id (v6).
pub fn delete_topics(
    ctx: &ApiContext,
    version: i16,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let targets: Vec<(Option<String>, Uuid)> = if version >= 6 {
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    let responses = targets
        .into_iter()
        .map(|(name, id)| {
            let mut r = DeletableTopicResult::default()
                .with_name(name.clone().map(|n| TopicName(text(n))))
                .with_topic_id(id);
            let topic = match (&name, id.is_nil()) {
                (Some(n), true) => match ctx.replicas.topics().get(n) {
                    Some(t) => t,
                    None => {
                        r.error_code = code(ResponseError::UnknownTopicOrPartition);
                        r.error_message = Some(text("This server does not host this topic."));
                        return r;
                    }
                },
                (None, false) => match ctx.replicas.topics().get_by_id(&id) {
                    Some(t) => t,
                    None => {
                        r.error_code = code(ResponseError::UnknownTopicId);
                        r.error_message = Some(text("This server does not host this topic ID."));
                        return r;
                    }
                },
                _ => {
                    r.error_code = code(ResponseError::InvalidRequest);
                    r.error_message = Some(text("give either a topic name or a topic id"));
                    return r;
                }
            };
            r.name = Some(TopicName(text(topic.name.clone())));
            r.topic_id = topic.id;
            match ctx.replicas.delete_topic(&topic.name) {
                Ok(_) => tracing::info!(topic = topic.name, "deleted topic"),
                Err(e) => {
                    r.error_code = broker_error_code(&e);
                    r.error_message = Some(text(e.to_string()));
                }
            }
            r
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

/// Answers CreatePartitions v0–v3 (one result per topic).
pub fn create_partitions(
    ctx: &ApiContext,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
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
    CreatePartitionsResponse::default().with_results(results)
}
