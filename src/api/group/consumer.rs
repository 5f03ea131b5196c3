//! KIP-848: ConsumerGroupHeartbeat v0 and ConsumerGroupDescribe v0. Partitions are named
//! by topic ID; the coordinator gets the whole topic registry as its metadata snapshot.

use kafka_protocol::messages::{
    consumer_group_describe_response as describe, consumer_group_heartbeat_response as hb,
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, ConsumerGroupHeartbeatRequest,
    ConsumerGroupHeartbeatResponse,
};

use super::{code, group_id, opt_string, str_bytes, string, topic_name, ClientInfo};
use crate::api::ApiContext;
use crate::broker::group::{self, NamedTopicPartitions, TopicsSnapshot};

/// Every topic the broker has: name → (topic ID, partition count).
pub fn topics_snapshot(ctx: &ApiContext) -> TopicsSnapshot {
    ctx.replicas
        .topics()
        .list()
        .into_iter()
        .map(|t| (t.name.clone(), (t.id, t.partitions)))
        .collect()
}

/// ConsumerGroupHeartbeat v0.
pub fn heartbeat(
    ctx: &ApiContext,
    req: ConsumerGroupHeartbeatRequest,
    client: ClientInfo,
) -> ConsumerGroupHeartbeatResponse {
    let request = group::ConsumerGroupHeartbeatRequest {
        group_id: string(&req.group_id),
        member_id: string(&req.member_id),
        member_epoch: req.member_epoch,
        instance_id: opt_string(&req.instance_id),
        rack_id: opt_string(&req.rack_id),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|ts| ts.iter().map(|t| string(t)).collect()),
        subscribed_topic_regex: None,
        server_assignor: opt_string(&req.server_assignor),
        topic_partitions: req.topic_partitions.map(|ts| {
            ts.into_iter()
                .map(|t| group::TopicPartitions {
                    topic_id: t.topic_id,
                    partitions: t.partitions,
                })
                .collect()
        }),
        client_id: client.client_id,
        client_host: client.host,
    };
    let r = ctx
        .groups
        .consumer_group_heartbeat(request, &topics_snapshot(ctx));
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(code(&r.error))
        .with_error_message(r.error_message.map(str_bytes))
        .with_member_id(r.member_id.map(str_bytes))
        .with_member_epoch(r.member_epoch)
        .with_heartbeat_interval_ms(r.heartbeat_interval_ms)
        .with_assignment(r.assignment.map(|ts| {
            hb::Assignment::default().with_topic_partitions(
                ts.into_iter()
                    .map(|t| {
                        hb::TopicPartitions::default()
                            .with_topic_id(t.topic_id)
                            .with_partitions(t.partitions)
                    })
                    .collect(),
            )
        }))
}

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

/// ConsumerGroupDescribe v0.
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
            describe::DescribedGroup::default()
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
                                .with_assignment(assignment(m.assignment))
                                .with_target_assignment(assignment(m.target_assignment))
                        })
                        .collect(),
                )
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
