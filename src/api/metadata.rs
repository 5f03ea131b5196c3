//! Metadata: brokers, cluster id, controller, topics and partitions; auto-creates topics.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::error::{broker_error_code, code};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{acl_operations, ApiContext, Call, Handled};
use crate::broker::{internal_topics, validate_topic_name, TopicMetadata};

fn topic_entry(ctx: &ApiContext, t: &TopicMetadata) -> MetadataResponseTopic {
    let node = BrokerId(ctx.config.node_id);
    let epoch = ctx.replicas.leader_epoch();
    let partitions = (0..t.partitions)
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(node)
                .with_leader_epoch(epoch)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(t.name.clone()))))
        .with_topic_id(t.id)
        .with_is_internal(internal_topics::is_internal(&t.name))
        .with_partitions(partitions)
        .with_topic_authorized_operations(acl_operations::OMITTED)
}

fn error_entry(name: Option<String>, id: Uuid, error: i16) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error)
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n))))
        .with_topic_id(id)
        .with_topic_authorized_operations(acl_operations::OMITTED)
}

/// The entry of a topic named in the request (which the caller may DESCRIBE), created if
/// it does not exist and `allow_create` (auto-creation needs CREATE on the cluster or the
/// topic: TOPIC_AUTHORIZATION_FAILED otherwise, as Kafka answers).
fn lookup_or_create(
    ctx: &ApiContext,
    call: &Call,
    name: &str,
    allow_create: bool,
) -> MetadataResponseTopic {
    let replicas = &ctx.replicas;
    if let Some(t) = replicas.topics().get(name) {
        return topic_entry(ctx, &t);
    }
    if allow_create
        && !ctx.authorize_cluster(call, AclOperation::Create)
        && !ctx.authorize(call, AclOperation::Create, ResourceType::Topic, name)
    {
        return error_entry(
            Some(name.to_string()),
            Uuid::nil(),
            code(ResponseError::TopicAuthorizationFailed),
        );
    }
    if let Err(e) = validate_topic_name(name) {
        return error_entry(Some(name.to_string()), Uuid::nil(), broker_error_code(&e));
    }
    if !allow_create {
        return error_entry(
            Some(name.to_string()),
            Uuid::nil(),
            code(ResponseError::UnknownTopicOrPartition),
        );
    }
    // Kafka's internal topics are never ordinary topics: they get their own partition
    // count and configs.
    if let Some(created) = replicas.ensure_internal_topic(name) {
        return match created {
            Ok(t) => topic_entry(ctx, &t),
            Err(e) => {
                tracing::warn!(topic = name, error = %e, "creating an internal topic failed");
                error_entry(Some(name.to_string()), Uuid::nil(), broker_error_code(&e))
            }
        };
    }
    match replicas.create_topic(name, ctx.config.num_partitions) {
        Ok((t, created)) => {
            if created {
                tracing::info!(
                    topic = name,
                    partitions = t.partitions,
                    "auto-created topic"
                );
            }
            topic_entry(ctx, &t)
        }
        Err(e) => {
            tracing::warn!(topic = name, error = %e, "auto-creating topic failed");
            error_entry(Some(name.to_string()), Uuid::nil(), broker_error_code(&e))
        }
    }
}

/// Answers a Metadata request of `version` (v0–v13; v13's top-level error code stays 0).
/// As Kafka: a request for all topics leaves out those the caller may not DESCRIBE; a topic
/// named without DESCRIBE is TOPIC_AUTHORIZATION_FAILED (whether it exists or not), one
/// named by id UNKNOWN_TOPIC_ID.
pub fn handle(ctx: &ApiContext, call: &Call, req: MetadataRequest) -> MetadataResponse {
    let version = call.version;
    let allow_create =
        ctx.config.auto_create_topics_enable && (version < 4 || req.allow_auto_topic_creation);
    let topic_ops = version >= 8 && req.include_topic_authorized_operations;
    let cluster_ops = (8..=10).contains(&version) && req.include_cluster_authorized_operations;
    let all_topics = match &req.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let mut topics: Vec<MetadataResponseTopic> = if all_topics {
        ctx.replicas
            .topics()
            .list()
            .iter()
            .filter(|t| ctx.authorized::<Metadata>(call, &t.name))
            .map(|t| topic_entry(ctx, t))
            .collect()
    } else {
        req.topics
            .unwrap_or_default()
            .into_iter()
            .map(|rt| match rt.name {
                Some(name) if !name.0.is_empty() || rt.topic_id.is_nil() => {
                    if ctx.authorized::<Metadata>(call, name.0.as_str()) {
                        lookup_or_create(ctx, call, name.0.as_str(), allow_create)
                    } else {
                        error_entry(
                            Some(name.0.to_string()),
                            Uuid::nil(),
                            code(ResponseError::TopicAuthorizationFailed),
                        )
                    }
                }
                // v10+: a topic named by id only.
                _ => match ctx.replicas.topics().get_by_id(&rt.topic_id) {
                    Some(t) if ctx.authorized::<Metadata>(call, &t.name) => topic_entry(ctx, &t),
                    _ => error_entry(None, rt.topic_id, code(ResponseError::UnknownTopicId)),
                },
            })
            .collect()
    };
    if topic_ops {
        for t in topics.iter_mut().filter(|t| t.error_code == 0) {
            let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
            t.topic_authorized_operations =
                ctx.authorized_operations(call, ResourceType::Topic, &name);
        }
    }
    let broker = MetadataResponseBroker::default()
        .with_node_id(BrokerId(ctx.config.node_id))
        .with_host(StrBytes::from_string(call.listener.advertised_host.clone()))
        .with_port(call.listener.advertised_port);
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(StrBytes::from_string(ctx.cluster_id.clone())))
        .with_controller_id(BrokerId(ctx.config.node_id))
        .with_topics(topics)
        .with_cluster_authorized_operations(acl_operations::cluster(ctx, call, cluster_ops))
}

/// Metadata: brokers, topics and partitions (auto-creating topics where allowed).
pub struct Metadata;

impl Api for Metadata {
    type Request = MetadataRequest;
    type Response = MetadataResponse;
    const KEY: ApiKey = ApiKey::Metadata;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 13;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: MetadataRequest,
    ) -> Handled<MetadataResponse> {
        handle(ctx, call, request).into()
    }
}
