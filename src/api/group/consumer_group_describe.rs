//! ConsumerGroupDescribe (v0–v1, KIP-848).

use kafka_protocol::messages::{
    consumer_group_describe_response as describe, ConsumerGroupDescribeRequest,
    ConsumerGroupDescribeResponse,
};

use super::{code, group_id, str_bytes, string, topic_name};
use crate::api::{acl_operations, ApiContext};
use crate::broker::group::NamedTopicPartitions;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

fn assignment(ts: Vec<NamedTopicPartitions>) -> describe::Assignment {
    describe::Assignment::default().with_topic_partitions(
        ts.into_iter()
            .map(|t| {
                describe::TopicPartitions::default()
                    .with_topic_id(t.topic_id)
                    .with_topic_name(topic_name(t.topic_name))
                    .with_partitions(t.partitions)
            })
            .collect(),
    )
}

/// ConsumerGroupDescribe v0–v1. A group the caller may not DESCRIBE is
/// GROUP_AUTHORIZATION_FAILED.
pub fn describe(
    ctx: &ApiContext,
    call: &Call,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let ids: Vec<String> = req.group_ids.iter().map(|g| string(g)).collect();
    let (allowed, denied): (Vec<String>, Vec<String>) = ids
        .iter()
        .cloned()
        .partition(|id| ctx.authorized::<ConsumerGroupDescribe>(call, id));
    let mut described = ctx.groups.consumer_group_describe(&allowed).into_iter();
    let groups = ids
        .iter()
        .filter_map(|id| {
            if denied.contains(id) {
                return Some(Err(id.clone()));
            }
            described.next().map(Ok)
        })
        .map(|g| {
            let g = match g {
                Ok(g) => g,
                Err(id) => {
                    let denied = kafka_protocol::error::ResponseError::GroupAuthorizationFailed;
                    return describe::DescribedGroup::default()
                        .with_group_id(group_id(id))
                        .with_error_code(denied.code())
                        .with_error_message(Some(str_bytes(denied.to_string())))
                        .with_authorized_operations(acl_operations::OMITTED);
                }
            };
            let operations = acl_operations::of(
                ctx,
                call,
                req.include_authorized_operations && g.error.is_none(),
                ResourceType::Group,
                &g.group_id,
            );
            describe::DescribedGroup::default()
                .with_authorized_operations(operations)
                .with_error_code(code(&g.error))
                .with_error_message(g.error.as_ref().map(|e| str_bytes(e.to_string())))
                .with_group_id(group_id(g.group_id))
                .with_group_state(str_bytes(g.group_state))
                .with_group_epoch(g.group_epoch)
                .with_assignment_epoch(g.assignment_epoch)
                .with_assignor_name(str_bytes(g.assignor_name))
                .with_members(
                    g.members
                        .into_iter()
                        .map(|m| {
                            describe::Member::default()
                                .with_member_id(str_bytes(m.member_id))
                                .with_instance_id(m.instance_id.map(str_bytes))
                                .with_rack_id(m.rack_id.map(str_bytes))
                                .with_member_epoch(m.member_epoch)
                                .with_client_id(str_bytes(m.client_id))
                                .with_client_host(str_bytes(m.client_host))
                                .with_subscribed_topic_names(
                                    m.subscribed_topic_names
                                        .into_iter()
                                        .map(topic_name)
                                        .collect(),
                                )
                                .with_subscribed_topic_regex(
                                    m.subscribed_topic_regex.map(str_bytes),
                                )
                                .with_assignment(assignment(m.assignment))
                                .with_target_assignment(assignment(m.target_assignment))
                                .with_member_type(MEMBER_TYPE_CONSUMER)
                        })
                        .collect(),
                )
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

/// `MemberType` (v1, KIP-1099) of a member using the consumer protocol: every member of a
/// KIP-848 group here (Skiff's consumer groups have no classic members).
const MEMBER_TYPE_CONSUMER: i8 = 1;

/// ConsumerGroupDescribe: KIP-848 groups, members and assignments.
pub struct ConsumerGroupDescribe;

impl Api for ConsumerGroupDescribe {
    type Request = ConsumerGroupDescribeRequest;
    type Response = ConsumerGroupDescribeResponse;
    const KEY: ApiKey = ApiKey::ConsumerGroupDescribe;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ConsumerGroupDescribeRequest,
    ) -> Handled<ConsumerGroupDescribeResponse> {
        describe(ctx, call, request).into()
    }
}
