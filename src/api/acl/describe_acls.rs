//! DescribeAcls (v1–3): the ACL bindings that match a filter, grouped by resource pattern.
//! DESCRIBE on the cluster is needed (CLUSTER_AUTHORIZATION_FAILED); with no authorizer the
//! answer is SECURITY_DISABLED. A filter with an unknown code closes the connection, as
//! Kafka's request parser refuses it.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{ApiKey, DescribeAclsRequest, DescribeAclsResponse};

use super::{filter, FilterFields};
use crate::api::spec::{AclOperation, Api, Authorization, Reply, ResourceType};
use crate::api::{text, ApiContext, Call, Handled};
use crate::broker::authorizer::ResourcePattern;

fn error(code: ResponseError, message: &str) -> DescribeAclsResponse {
    DescribeAclsResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(text(message)))
}

/// DescribeAcls: lists ACL bindings.
pub struct DescribeAcls;

impl Api for DescribeAcls {
    type Request = DescribeAclsRequest;
    type Response = DescribeAclsResponse;
    const KEY: ApiKey = ApiKey::DescribeAcls;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        req: DescribeAclsRequest,
    ) -> Handled<DescribeAclsResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return error(
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed.",
            )
            .into();
        }
        if !ctx.authorizer.enabled() {
            return error(
                ResponseError::SecurityDisabled,
                "No Authorizer is configured on the broker",
            )
            .into();
        }
        let Some(f) = filter(FilterFields {
            resource_type: req.resource_type_filter,
            name: req.resource_name_filter.as_ref(),
            pattern_type: req.pattern_type_filter,
            principal: req.principal_filter.as_ref(),
            host: req.host_filter.as_ref(),
            operation: req.operation,
            permission_type: req.permission_type,
        }) else {
            tracing::info!(peer = %call.peer, "DescribeAcls filter with an unknown code; closing");
            return Handled::Now(Reply::Close);
        };
        let mut by_pattern: BTreeMap<ResourcePattern, Vec<AclDescription>> = BTreeMap::new();
        for b in ctx.authorizer.acls().describe(&f) {
            by_pattern.entry(b.pattern).or_default().push(
                AclDescription::default()
                    .with_principal(text(b.entry.principal))
                    .with_host(text(b.entry.host))
                    .with_operation(b.entry.operation.code())
                    .with_permission_type(b.entry.permission_type.code()),
            );
        }
        let resources = by_pattern
            .into_iter()
            .map(|(p, acls)| {
                DescribeAclsResource::default()
                    .with_resource_type(p.resource_type.code())
                    .with_resource_name(text(p.name))
                    .with_pattern_type(p.pattern_type.code())
                    .with_acls(acls)
            })
            .collect();
        DescribeAclsResponse::default()
            .with_error_message(None)
            .with_resources(resources)
            .into()
    }
}
