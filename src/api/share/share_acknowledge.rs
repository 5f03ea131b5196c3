//! ShareAcknowledge (v1-2): a member's acknowledgements outside a ShareFetch (v2 answers the
//! group's acquisition lock duration, which a RENEW acknowledgement restarts).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_acknowledge_response as r;
use kafka_protocol::messages::{ApiKey, ShareAcknowledgeResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::api::error::share_error_code;
use crate::api::share::messages::{ShareAcknowledgeRequestV2, ShareAcknowledgeResponseV2};
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};

/// ShareAcknowledge: accept, release or reject acquired records.
pub struct ShareAcknowledge;

fn top_level(error: i16, message: String) -> ShareAcknowledgeResponseV2 {
    ShareAcknowledgeResponseV2 {
        inner: ShareAcknowledgeResponse::default()
            .with_error_code(error)
            .with_error_message(Some(StrBytes::from_string(message))),
        acquisition_lock_timeout_ms: 0,
    }
}

impl Api for ShareAcknowledge {
    type Request = ShareAcknowledgeRequestV2;
    type Response = ShareAcknowledgeResponseV2;
    const KEY: ApiKey = ApiKey::ShareAcknowledge;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Read, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ShareAcknowledgeRequestV2,
    ) -> Handled<ShareAcknowledgeResponseV2> {
        let request = request.inner;
        let group_id = request
            .group_id
            .as_ref()
            .map(|g| g.to_string())
            .unwrap_or_default();
        let member_id = request
            .member_id
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default();
        if group_id.is_empty() || member_id.is_empty() {
            return top_level(
                ResponseError::InvalidRequest.code(),
                "ShareAcknowledge needs a group id and a member id.".into(),
            )
            .into();
        }
        if !ctx.authorized::<Self>(call, &group_id) {
            return top_level(
                ResponseError::GroupAuthorizationFailed.code(),
                "Group authorization failed.".into(),
            )
            .into();
        }
        let mut answers: BTreeMap<Uuid, Vec<r::PartitionData>> = BTreeMap::new();
        let mut acks = Vec::new();
        for t in &request.topics {
            let name = ctx.share.topic_name(&t.topic_id);
            let refusal = match &name {
                None => Some(ResponseError::UnknownTopicId),
                Some(n) if !ctx.authorize(call, AclOperation::Read, ResourceType::Topic, n) => {
                    Some(ResponseError::TopicAuthorizationFailed)
                }
                Some(_) => None,
            };
            for p in &t.partitions {
                if let Some(e) = refusal {
                    answers.entry(t.topic_id).or_default().push(
                        r::PartitionData::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(e.code()),
                    );
                    continue;
                }
                acks.push((
                    t.topic_id,
                    p.partition_index,
                    super::batches(
                        p.acknowledgement_batches
                            .iter()
                            .map(|b| (b.first_offset, b.last_offset, &b.acknowledge_types)),
                    ),
                ));
            }
        }
        let node_id = ctx.config.node_id;
        let results = match ctx.share.acknowledge(
            &group_id,
            &member_id,
            request.share_session_epoch,
            acks.clone(),
        ) {
            Ok(results) => results,
            Err(e) => return top_level(share_error_code(&e), e.to_string()).into(),
        };
        for (topic_id, partition, _) in acks {
            let error = results.get(&(topic_id, partition)).cloned().flatten();
            answers.entry(topic_id).or_default().push(
                r::PartitionData::default()
                    .with_partition_index(partition)
                    .with_error_code(error.as_ref().map_or(0, share_error_code))
                    .with_error_message(error.map(|e| StrBytes::from_string(e.to_string())))
                    .with_current_leader(
                        r::LeaderIdAndEpoch::default()
                            .with_leader_id(node_id)
                            .with_leader_epoch(ctx.replicas.leader_epoch()),
                    ),
            );
        }
        let lock = ctx
            .share
            .configs()
            .share_settings(&group_id)
            .limits
            .lock_duration;
        let inner = ShareAcknowledgeResponse::default().with_responses(
            answers
                .into_iter()
                .map(|(topic_id, partitions)| {
                    r::ShareAcknowledgeTopicResponse::default()
                        .with_topic_id(topic_id)
                        .with_partitions(partitions)
                })
                .collect(),
        );
        ShareAcknowledgeResponseV2 {
            inner,
            acquisition_lock_timeout_ms: i32::try_from(lock.as_millis()).unwrap_or(i32::MAX),
        }
        .into()
    }
}
