//! DescribeCluster (v0–v2): this broker, the cluster id and the controller (itself).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::{acl_operations, ApiContext};

use super::text;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Answers DescribeCluster v0–v1: this broker is the whole cluster and its controller.
pub fn describe_cluster(
    ctx: &ApiContext,
    call: &Call,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let broker = DescribeClusterBroker::default()
        .with_broker_id(BrokerId(ctx.config.node_id))
        .with_host(text(call.listener.advertised_host.clone()))
        .with_port(call.listener.advertised_port);
    DescribeClusterResponse::default()
        .with_endpoint_type(req.endpoint_type)
        .with_cluster_id(text(ctx.cluster_id.clone()))
        .with_controller_id(BrokerId(ctx.config.node_id))
        .with_brokers(vec![broker])
        .with_cluster_authorized_operations(acl_operations::cluster(
            ctx,
            call,
            req.include_cluster_authorized_operations,
        ))
}

/// DescribeCluster: brokers and controller.
pub struct DescribeCluster;

impl Api for DescribeCluster {
    type Request = DescribeClusterRequest;
    type Response = DescribeClusterResponse;
    const KEY: ApiKey = ApiKey::DescribeCluster;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeClusterRequest,
    ) -> Handled<DescribeClusterResponse> {
        describe_cluster(ctx, call, request).into()
    }
}
