//! CreateAcls (v1–3): adds ACL bindings, each validated as Kafka's controller does
//! (INVALID_REQUEST for an ANY or MATCH value, an empty resource name, a principal without
//! `Type:`, or a cluster resource not named `kafka-cluster`). ALTER on the cluster is needed
//! (CLUSTER_AUTHORIZATION_FAILED for every creation); with no authorizer every creation gets
//! SECURITY_DISABLED. A creation with an unknown code closes the connection, as Kafka's
//! request parser refuses it. The bindings are stored durably before the answer.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{ApiKey, CreateAclsRequest, CreateAclsResponse};

use crate::api::error::acl_error_code;
use crate::api::spec::{AclOperation, Api, Authorization, Reply, ResourceType};
use crate::api::{text, ApiContext, Call, Handled};
use crate::broker::authorizer::{
    AccessControlEntry, AclBinding, AclPermissionType, PatternType, ResourcePattern, CLUSTER_NAME,
};

/// The binding a creation asks for, `Ok(None)` when a code is unknown, or why Kafka
/// refuses it (INVALID_REQUEST).
fn binding(c: &AclCreation) -> Result<Option<AclBinding>, String> {
    let (Some(resource_type), Some(pattern_type), Some(operation), Some(permission_type)) = (
        ResourceType::from_code(c.resource_type),
        PatternType::from_code(c.resource_pattern_type),
        AclOperation::from_code(c.operation),
        AclPermissionType::from_code(c.permission_type),
    ) else {
        return Ok(None);
    };
    if resource_type == ResourceType::Any {
        return Err(format!("Invalid resourceType {resource_type}"));
    }
    if !matches!(pattern_type, PatternType::Literal | PatternType::Prefixed) {
        return Err(format!("Invalid patternType {pattern_type}"));
    }
    if operation == AclOperation::Any {
        return Err(format!("Invalid operation {operation}"));
    }
    if permission_type == AclPermissionType::Any {
        return Err(format!("Invalid permissionType {permission_type}"));
    }
    if resource_type == ResourceType::Cluster && c.resource_name.as_str() != CLUSTER_NAME {
        return Err(format!(
            "The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
        ));
    }
    if c.resource_name.is_empty() {
        return Err("Invalid empty resource name".into());
    }
    if !c.principal.contains(':') {
        return Err(format!(
            "Could not parse principal from `{}` (no colon is present separating the principal type from the principal name)",
            c.principal.as_str()
        ));
    }
    Ok(Some(AclBinding {
        pattern: ResourcePattern {
            resource_type,
            name: c.resource_name.to_string(),
            pattern_type,
        },
        entry: AccessControlEntry {
            principal: c.principal.to_string(),
            host: c.host.to_string(),
            operation,
            permission_type,
        },
    }))
}

fn failed(code: ResponseError, message: String) -> AclCreationResult {
    AclCreationResult::default()
        .with_error_code(code.code())
        .with_error_message(Some(text(message)))
}

fn all_failed(n: usize, code: ResponseError, message: &str) -> CreateAclsResponse {
    CreateAclsResponse::default()
        .with_results((0..n).map(|_| failed(code, message.to_string())).collect())
}

/// CreateAcls: adds ACL bindings.
pub struct CreateAcls;

impl Api for CreateAcls {
    type Request = CreateAclsRequest;
    type Response = CreateAclsResponse;
    const KEY: ApiKey = ApiKey::CreateAcls;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        req: CreateAclsRequest,
    ) -> Handled<CreateAclsResponse> {
        let n = req.creations.len();
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
        let mut checked = Vec::with_capacity(n);
        for c in &req.creations {
            match binding(c) {
                Ok(Some(b)) => checked.push(Ok(b)),
                Ok(None) => {
                    tracing::info!(peer = %call.peer, "CreateAcls with an unknown code; closing");
                    return Handled::Now(Reply::Close);
                }
                Err(message) => checked.push(Err(message)),
            }
        }
        let ctx = Arc::clone(ctx);
        Handled::later(async move {
            let valid: Vec<AclBinding> = checked.iter().filter_map(|c| c.clone().ok()).collect();
            let stored =
                match tokio::task::spawn_blocking(move || ctx.authorizer.acls().create(&valid))
                    .await
                {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "storing ACLs failed");
                        Err((acl_error_code(&e), e.to_string()))
                    }
                    Err(e) => Err((ResponseError::UnknownServerError.code(), e.to_string())),
                };
            let results = checked
                .into_iter()
                .map(|c| match (c, &stored) {
                    (Err(message), _) => failed(ResponseError::InvalidRequest, message),
                    (Ok(_), Err((code, message))) => AclCreationResult::default()
                        .with_error_code(*code)
                        .with_error_message(Some(text(message.clone()))),
                    (Ok(_), Ok(())) => AclCreationResult::default().with_error_message(None),
                })
                .collect();
            CreateAclsResponse::default().with_results(results)
        })
    }
}
