//! ShareGroupDescribe (v1).

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_describe_response as d;
use kafka_protocol::messages::{
    ApiKey, GroupId, ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::api::acl_operations;
use crate::api::error::share_error_code;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};

/// ShareGroupDescribe: members, their subscriptions and assignments.
pub struct ShareGroupDescribe;

fn text(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

impl Api for ShareGroupDescribe {
    type Request = ShareGroupDescribeRequest;
    type Response = ShareGroupDescribeResponse;
    const KEY: ApiKey = ApiKey::ShareGroupDescribe;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Group);

    fn enabled(ctx: &ApiContext) -> bool {
        super::share_groups_enabled(ctx)
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ShareGroupDescribeRequest,
    ) -> Handled<ShareGroupDescribeResponse> {
        let ids: Vec<String> = request.group_ids.iter().map(|g| g.to_string()).collect();
        let mut groups = Vec::with_capacity(ids.len());
        for (id, described) in ctx.share.describe(&ids) {
            let base = d::DescribedGroup::default()
                .with_group_id(GroupId(text(id.clone())))
                .with_authorized_operations(acl_operations::OMITTED);
            if !ctx.authorized::<Self>(call, &id) {
                groups.push(base.with_error_code(ResponseError::GroupAuthorizationFailed.code()));
                continue;
            }
            let g = match described {
                Err(e) => {
                    let message = if ctx.groups.contains_group(&id) {
                        format!("Group {id} is not a share group.")
                    } else {
                        e.to_string()
                    };
                    groups.push(
                        base.with_error_code(share_error_code(&e))
                            .with_error_message(Some(text(message))),
                    );
                    continue;
                }
                Ok(g) => g,
            };
            let members = g
                .members
                .into_iter()
                .map(|m| {
                    let partitions = m
                        .assignment
                        .iter()
                        .map(|(topic_id, ps)| {
                            d::TopicPartitions::default()
                                .with_topic_id(*topic_id)
                                .with_topic_name(TopicName(text(
                                    ctx.share.topic_name(topic_id).unwrap_or_default(),
                                )))
                                .with_partitions(ps.iter().copied().collect())
                        })
                        .collect();
                    d::Member::default()
                        .with_member_id(text(m.member_id))
                        .with_rack_id(m.rack_id.map(text))
                        .with_member_epoch(m.member_epoch)
                        .with_client_id(text(m.client_id))
                        .with_client_host(text(m.client_host))
                        .with_subscribed_topic_names(
                            m.subscribed_topic_names
                                .into_iter()
                                .map(|t| TopicName(text(t)))
                                .collect(),
                        )
                        .with_assignment(d::Assignment::default().with_topic_partitions(partitions))
                })
                .collect();
            groups.push(
                base.with_group_state(text(g.state.name()))
                    .with_group_epoch(g.group_epoch)
                    .with_assignment_epoch(g.assignment_epoch)
                    .with_assignor_name(text("simple"))
                    .with_members(members)
                    .with_authorized_operations(acl_operations::of(
                        ctx,
                        call,
                        request.include_authorized_operations,
                        ResourceType::Group,
                        &id,
                    )),
            );
        }
        ShareGroupDescribeResponse::default()
            .with_groups(groups)
            .into()
    }
}
