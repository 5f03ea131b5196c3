//! DeleteAcls (v1–3): removes the ACL bindings each filter matches and reports them per
//! filter. ALTER on the cluster is needed (CLUSTER_AUTHORIZATION_FAILED for every filter);
//! with no authorizer every filter gets SECURITY_DISABLED. A filter with an unknown code
//! closes the connection, as Kafka's request parser refuses it. The removal is stored
//! durably before the answer.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_acls_response::{
    DeleteAclsFilterResult, DeleteAclsMatchingAcl,
};
use kafka_protocol::messages::{ApiKey, DeleteAclsRequest, DeleteAclsResponse};

use super::{filter, FilterFields};
use crate::api::error::acl_error_code;
use crate::api::spec::{AclOperation, Api, Authorization, Reply, ResourceType};
use crate::api::{text, ApiContext, Call, Handled};
use crate::broker::authorizer::AclBinding;

fn all_failed(n: usize, code: ResponseError, message: &str) -> DeleteAclsResponse {
    DeleteAclsResponse::default().with_filter_results(
        (0..n)
            .map(|_| {
                DeleteAclsFilterResult::default()
                    .with_error_code(code.code())
                    .with_error_message(Some(text(message)))
            })
            .collect(),
    )
}

fn matching(b: AclBinding) -> DeleteAclsMatchingAcl {
    DeleteAclsMatchingAcl::default()
        .with_error_message(None)
        .with_resource_type(b.pattern.resource_type.code())
        .with_resource_name(text(b.pattern.name))
        .with_pattern_type(b.pattern.pattern_type.code())
        .with_principal(text(b.entry.principal))
        .with_host(text(b.entry.host))
        .with_operation(b.entry.operation.code())
        .with_permission_type(b.entry.permission_type.code())
}

/// DeleteAcls: removes ACL bindings.
pub struct DeleteAcls;

impl Api for DeleteAcls {
    type Request = DeleteAclsRequest;
    type Response = DeleteAclsResponse;
    const KEY: ApiKey = ApiKey::DeleteAcls;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        req: DeleteAclsRequest,
    ) -> Handled<DeleteAclsResponse> {
        let n = req.filters.len();
        if !ctx.authorized_on_cluster::<Self>(call) {
            return all_failed(
                n,
                ResponseError::ClusterAuthorizationFailed,
                "Cluster authorization failed.",
            )
            .into();
        }
        if !ctx.authorizer.enabled() {
            return all_failed(n, ResponseError::SecurityDisabled, super::NO_AUTHORIZER).into();
        }
        let mut filters = Vec::with_capacity(n);
        for f in &req.filters {
            let Some(f) = filter(FilterFields {
                resource_type: f.resource_type_filter,
                name: f.resource_name_filter.as_ref(),
                pattern_type: f.pattern_type_filter,
                principal: f.principal_filter.as_ref(),
                host: f.host_filter.as_ref(),
                operation: f.operation,
                permission_type: f.permission_type,
            }) else {
                tracing::info!(peer = %call.peer, "DeleteAcls filter with an unknown code; closing");
                return Handled::Now(Reply::Close);
            };
            filters.push(f);
        }
        let ctx = Arc::clone(ctx);
        Handled::later(async move {
            match tokio::task::spawn_blocking(move || ctx.authorizer.acls().delete(&filters)).await
            {
                Ok(Ok(deleted)) => DeleteAclsResponse::default().with_filter_results(
                    deleted
                        .into_iter()
                        .map(|acls| {
                            DeleteAclsFilterResult::default()
                                .with_error_message(None)
                                .with_matching_acls(acls.into_iter().map(matching).collect())
                        })
                        .collect(),
                ),
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "deleting ACLs failed");
                    let mut r = all_failed(n, ResponseError::UnknownServerError, &e.to_string());
                    for f in &mut r.filter_results {
                        f.error_code = acl_error_code(&e);
                    }
                    r
                }
                Err(e) => all_failed(n, ResponseError::UnknownServerError, &e.to_string()),
            }
        })
    }
}
