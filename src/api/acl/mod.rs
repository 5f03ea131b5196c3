//! The ACL APIs: CreateAcls, DescribeAcls and DeleteAcls (v1–3, as Kafka 4.1 advertises
//! them) over the broker's [`crate::broker::authorizer`]. Without an authorizer each
//! answers SECURITY_DISABLED; without ALTER (create, delete) or DESCRIBE (describe) on the
//! cluster, CLUSTER_AUTHORIZATION_FAILED.

pub mod create_acls;
pub mod delete_acls;
pub mod describe_acls;

use kafka_protocol::protocol::StrBytes;

use crate::broker::authorizer::{
    AclBindingFilter, AclOperation, AclPermissionType, PatternType, ResourceType,
};

/// Kafka's message when no authorizer is configured (CreateAcls, DeleteAcls).
const NO_AUTHORIZER: &str = "No Authorizer is configured.";

/// The fields of a filter as DescribeAcls and DeleteAcls carry them.
pub(crate) struct FilterFields<'a> {
    pub resource_type: i8,
    pub name: Option<&'a StrBytes>,
    pub pattern_type: i8,
    pub principal: Option<&'a StrBytes>,
    pub host: Option<&'a StrBytes>,
    pub operation: i8,
    pub permission_type: i8,
}

/// The filter, or `None` when a field holds a code Kafka calls UNKNOWN (Kafka refuses to
/// parse such a request and closes the connection).
pub(crate) fn filter(f: FilterFields<'_>) -> Option<AclBindingFilter> {
    Some(AclBindingFilter {
        resource_type: ResourceType::from_code(f.resource_type)?,
        name: f.name.map(|n| n.to_string()),
        pattern_type: PatternType::from_code(f.pattern_type)?,
        principal: f.principal.map(|p| p.to_string()),
        host: f.host.map(|h| h.to_string()),
        operation: AclOperation::from_code(f.operation)?,
        permission_type: AclPermissionType::from_code(f.permission_type)?,
    })
}
