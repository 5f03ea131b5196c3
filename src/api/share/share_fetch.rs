//! ShareFetch (v1-2): piggy-backed acknowledgements, then records acquired for the member
//! (v2: in record-limit mode at most `MaxRecords`; a renew-only fetch acquires nothing).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_fetch_response as r;
use kafka_protocol::messages::{ApiKey, ShareFetchResponse};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Duration;
use uuid::Uuid;

use crate::api::error::{partition_error_code, share_error_code};
use crate::api::share::messages::{
    ShareFetchRequestV2, ShareFetchResponseV2, ACQUIRE_MODE_BATCH_OPTIMIZED,
    ACQUIRE_MODE_RECORD_LIMIT,
};
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};
use crate::broker::share::{FetchPartition, FetchRequest, FetchedPartition, PartitionFailure};

/// ShareFetch: records for a share group member.
pub struct ShareFetch;

fn top_level(error: i16, message: String) -> ShareFetchResponseV2 {
    ShareFetchResponseV2(
        ShareFetchResponse::default()
            .with_error_code(error)
            .with_error_message(Some(StrBytes::from_string(message))),
    )
}

/// The error code and message of a partition's failure.
pub(crate) fn failure_code(f: &PartitionFailure) -> (i16, String) {
    match f {
        PartitionFailure::Share(e) => (share_error_code(e), e.to_string()),
        PartitionFailure::Partition(e) => (partition_error_code(e), e.to_string()),
    }
}

fn partition_data(p: &FetchedPartition, node_id: i32) -> r::PartitionData {
    let (error_code, error_message) = p
        .error
        .as_ref()
        .map(failure_code)
        .map_or((0, None), |(c, m)| (c, Some(StrBytes::from_string(m))));
    let (ack_code, ack_message) = p.acknowledge_error.as_ref().map_or((0, None), |e| {
        (
            share_error_code(e),
            Some(StrBytes::from_string(e.to_string())),
        )
    });
    r::PartitionData::default()
        .with_partition_index(p.partition)
        .with_error_code(error_code)
        .with_error_message(error_message)
        .with_acknowledge_error_code(ack_code)
        .with_acknowledge_error_message(ack_message)
        .with_current_leader(
            r::LeaderIdAndEpoch::default()
                .with_leader_id(if p.leader_epoch >= 0 { node_id } else { -1 })
                .with_leader_epoch(p.leader_epoch),
        )
        .with_records(Some(p.records.clone()))
        .with_acquired_records(
            p.acquired
                .iter()
                .map(|a| {
                    r::AcquiredRecords::default()
                        .with_first_offset(a.first_offset)
                        .with_last_offset(a.last_offset)
                        .with_delivery_count(a.delivery_count)
                })
                .collect(),
        )
}

impl Api for ShareFetch {
    type Request = ShareFetchRequestV2;
    type Response = ShareFetchResponseV2;
    const KEY: ApiKey = ApiKey::ShareFetch;
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
        request: ShareFetchRequestV2,
    ) -> Handled<ShareFetchResponseV2> {
        let ShareFetchRequestV2 {
            inner: request,
            share_acquire_mode,
            is_renew_ack,
        } = request;
        let record_limit = match share_acquire_mode {
            ACQUIRE_MODE_BATCH_OPTIMIZED => false,
            ACQUIRE_MODE_RECORD_LIMIT => true,
            other => {
                return top_level(
                    ResponseError::InvalidRequest.code(),
                    format!("Unknown ShareAcquireMode {other}."),
                )
                .into()
            }
        };
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
                "ShareFetch needs a group id and a member id.".into(),
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
        // Topics the caller may not READ are answered at once and left out of the session.
        let mut denied: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
        let mut partitions = Vec::new();
        for t in &request.topics {
            let allowed = match ctx.share.topic_name(&t.topic_id) {
                Some(name) => ctx.authorize(call, AclOperation::Read, ResourceType::Topic, &name),
                None => true,
            };
            for p in &t.partitions {
                if !allowed {
                    denied
                        .entry(t.topic_id)
                        .or_default()
                        .push(p.partition_index);
                    continue;
                }
                partitions.push(FetchPartition {
                    topic_id: t.topic_id,
                    partition: p.partition_index,
                    acknowledgements: super::batches(
                        p.acknowledgement_batches
                            .iter()
                            .map(|b| (b.first_offset, b.last_offset, &b.acknowledge_types)),
                    ),
                });
            }
        }
        let forgotten = request
            .forgotten_topics_data
            .iter()
            .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
            .collect();
        let fetch = FetchRequest {
            group_id,
            member_id,
            session_epoch: request.share_session_epoch,
            max_wait: Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0)),
            min_bytes: request.min_bytes,
            max_bytes: request.max_bytes,
            max_records: request.max_records,
            record_limit,
            renew_only: is_renew_ack,
            partitions,
            forgotten,
        };
        let ctx = Arc::clone(ctx);
        Handled::Later(Box::pin(async move {
            let node_id = ctx.config.node_id;
            let outcome = ctx.share.fetch(fetch, ctx.shutdown.clone()).await;
            match &outcome {
                Err(e) => tracing::debug!(error = %e, "share fetch refused"),
                Ok(f) => tracing::debug!(
                    answered = ?f
                        .partitions
                        .iter()
                        .map(|p| (p.partition, p.acquired.len(), p.error.is_some(), p.acknowledge_error.as_ref().map(|e| e.to_string())))
                        .collect::<Vec<_>>(),
                    "share fetch answered"
                ),
            }
            let response = match outcome {
                Err(e) => top_level(share_error_code(&e), e.to_string()),
                Ok(fetched) => {
                    let mut topics: BTreeMap<Uuid, Vec<r::PartitionData>> = BTreeMap::new();
                    for p in &fetched.partitions {
                        topics
                            .entry(p.topic_id)
                            .or_default()
                            .push(partition_data(p, node_id));
                    }
                    let denied_code = ResponseError::TopicAuthorizationFailed.code();
                    for (topic_id, ps) in denied {
                        let entry = topics.entry(topic_id).or_default();
                        for p in ps {
                            entry.push(
                                r::PartitionData::default()
                                    .with_partition_index(p)
                                    .with_error_code(denied_code)
                                    .with_records(Some(bytes::Bytes::new())),
                            );
                        }
                    }
                    ShareFetchResponseV2(
                        ShareFetchResponse::default()
                            .with_acquisition_lock_timeout_ms(fetched.acquisition_lock_timeout_ms)
                            .with_responses(
                                topics
                                    .into_iter()
                                    .map(|(topic_id, partitions)| {
                                        r::ShareFetchableTopicResponse::default()
                                            .with_topic_id(topic_id)
                                            .with_partitions(partitions)
                                    })
                                    .collect(),
                            ),
                    )
                }
            };
            crate::api::Reply::Send(response)
        }))
    }
}
