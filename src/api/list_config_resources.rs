//! ListConfigResources (v0–v1, KIP-1142; v0 was ListClientMetricsResources): the resources
//! that have configs, by type, as Kafka 4.1.1 lists them on one node. v0 lists client-metrics
//! resources only; v1 the types asked for, or every type when none is named: every topic
//! (internal ones included), this broker (its node id), the groups with a config of their
//! own and the client-metrics resources. Skiff has no group configs and no per-logger
//! levels (Kafka lists this node as a BROKER_LOGGER resource), so those types are listed
//! empty. A type Kafka does not list configs of is
//! refused as Kafka refuses it: UNSUPPORTED_VERSION for the whole request.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_config_resources_response::ConfigResource;
use kafka_protocol::messages::{ApiKey, ListConfigResourcesRequest, ListConfigResourcesResponse};

use super::error::{code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};

/// Kafka's ConfigResource type codes that ListConfigResources v1 accepts.
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;
const CLIENT_METRICS: i8 = 16;
const GROUP: i8 = 32;
const LISTED: [i8; 5] = [TOPIC, BROKER, BROKER_LOGGER, CLIENT_METRICS, GROUP];

/// The resources of type `kind`, sorted by name.
fn resources_of(ctx: &ApiContext, kind: i8) -> Vec<ConfigResource> {
    let names: Vec<String> = match kind {
        TOPIC => {
            let mut names: Vec<String> = ctx
                .replicas
                .topics()
                .list()
                .iter()
                .map(|t| t.name.clone())
                .collect();
            names.sort();
            names
        }
        BROKER => vec![ctx.config.node_id.to_string()],
        CLIENT_METRICS => ctx.client_metrics.resource_names(),
        // No per-logger levels or group configs.
        _ => Vec::new(),
    };
    names
        .into_iter()
        .map(|n| {
            ConfigResource::default()
                .with_resource_name(text(n))
                .with_resource_type(kind)
        })
        .collect()
}

/// Answers ListConfigResources v0–v1.
pub fn list_config_resources(
    ctx: &ApiContext,
    version: i16,
    req: ListConfigResourcesRequest,
) -> ListConfigResourcesResponse {
    let kinds: Vec<i8> = if version == 0 {
        vec![CLIENT_METRICS]
    } else if req.resource_types.is_empty() {
        LISTED.to_vec()
    } else {
        req.resource_types.clone()
    };
    if kinds.iter().any(|k| !LISTED.contains(k)) {
        return ListConfigResourcesResponse::default()
            .with_error_code(code(ResponseError::UnsupportedVersion));
    }
    let mut resources = Vec::new();
    for kind in LISTED.iter().filter(|k| kinds.contains(k)) {
        resources.extend(resources_of(ctx, *kind));
    }
    ListConfigResourcesResponse::default()
        .with_error_code(NONE)
        .with_config_resources(resources)
}

/// ListConfigResources: the config resources of the cluster, by type.
pub struct ListConfigResources;

impl Api for ListConfigResources {
    type Request = ListConfigResourcesRequest;
    type Response = ListConfigResourcesResponse;
    const KEY: ApiKey = ApiKey::ListConfigResources;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::DescribeConfigs, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ListConfigResourcesRequest,
    ) -> Handled<ListConfigResourcesResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return ListConfigResourcesResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .into();
        }
        list_config_resources(ctx, call.version, request).into()
    }
}
