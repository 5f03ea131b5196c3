//! DeleteTopics (v1–v6). A deleted topic's partitions count toward the client's
//! `controller_mutation_rate` quota (from v5 a topic beyond it is refused with
//! THROTTLING_QUOTA_EXCEEDED).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use uuid::Uuid;

use super::error::{broker_error_code, code, throttling_quota_code};
use super::throttle::{finish_mutations, mutation_quota};
use super::ApiContext;

use super::topic_configs::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// DeleteTopics version from which the controller mutation quota refuses topics.
const STRICT_QUOTA_VERSION: i16 = 5;

/// Answers DeleteTopics v1–v6: by name (all versions) or by topic id (v6). A topic the
/// caller may not DELETE is TOPIC_AUTHORIZATION_FAILED.
pub fn delete_topics(
    ctx: &ApiContext,
    call: &Call,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let version = call.version;
    let mut quota = mutation_quota(ctx, call, STRICT_QUOTA_VERSION);
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
            let denied = |r: &mut DeletableTopicResult| {
                r.error_code = code(ResponseError::TopicAuthorizationFailed);
                r.error_message = Some(text("Authorization failed."));
            };
            let topic = match (&name, id.is_nil()) {
                // As Kafka, a name the caller may not DELETE is refused whether the topic
                // exists or not.
                (Some(n), true) if !ctx.authorized::<DeleteTopics>(call, n) => {
                    denied(&mut r);
                    return r;
                }
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
            if !ctx.authorized::<DeleteTopics>(call, &topic.name) {
                denied(&mut r);
                return r;
            }
            r.name = Some(TopicName(text(topic.name.clone())));
            r.topic_id = topic.id;
            if let Err(e) = quota.record(f64::from(topic.partitions)) {
                r.error_code = throttling_quota_code(&e);
                r.error_message = Some(text(e.to_string()));
                return r;
            }
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
    DeleteTopicsResponse::default()
        .with_responses(responses)
        .with_throttle_time_ms(finish_mutations(call, &quota))
}

/// DeleteTopics: topics by name or id.
pub struct DeleteTopics;

impl Api for DeleteTopics {
    type Request = DeleteTopicsRequest;
    type Response = DeleteTopicsResponse;
    const KEY: ApiKey = ApiKey::DeleteTopics;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 6;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Delete, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DeleteTopicsRequest,
    ) -> Handled<DeleteTopicsResponse> {
        delete_topics(ctx, call, request).into()
    }
}
