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

/// ConsumerGroupDescribe v0–v1.
pub fn describe(
    ctx: &ApiContext,
    req: ConsumerGroupDescribeRequest,
) -> ConsumerGroupDescribeResponse {
    let ids: Vec<String> = req.group_ids.iter().map(|g| string(g)).collect();
    let groups = ctx
        .groups
        .consumer_group_describe(&ids)
        .into_iter()
        .map(|g| {
            let operations = acl_operations::if_requested(
                req.include_authorized_operations && g.error.is_none(),
                acl_operations::GROUP,
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
        _call: &Call,
        request: ConsumerGroupDescribeRequest,
    ) -> Handled<ConsumerGroupDescribeResponse> {
        describe(ctx, request).into()
    }
}
