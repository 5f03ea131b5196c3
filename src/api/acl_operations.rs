//! Authorized-operations bit fields (KIP-430): Metadata, DescribeCluster,
//! DescribeTopicPartitions, DescribeGroups and ConsumerGroupDescribe report them when asked,
//! from the caller's ACLs (every operation the resource type supports when no authorizer is
//! configured, as Kafka answers then).

use super::spec::{AclOperation, ResourceType};
use super::{ApiContext, Call};

/// The value a response carries when the client did not ask.
pub const OMITTED: i32 = i32::MIN;

/// The caller's operations on `resource_type`/`name` if `requested`, else [`OMITTED`].
pub fn of(
    ctx: &ApiContext,
    call: &Call,
    requested: bool,
    resource_type: ResourceType,
    name: &str,
) -> i32 {
    if requested {
        ctx.authorized_operations(call, resource_type, name)
    } else {
        OMITTED
    }
}

/// The caller's operations on the cluster if `requested`, else [`OMITTED`]; as Kafka, none
/// (0) unless the caller may DESCRIBE the cluster.
pub fn cluster(ctx: &ApiContext, call: &Call, requested: bool) -> i32 {
    if !requested {
        OMITTED
    } else if !ctx.authorize_cluster(call, AclOperation::Describe) {
        0
    } else {
        ctx.authorized_operations(
            call,
            ResourceType::Cluster,
            crate::broker::authorizer::CLUSTER_NAME,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(rt: ResourceType) -> i32 {
        AclOperation::supported_by(rt)
            .iter()
            .fold(0, |b, op| b | (1 << op.code()))
    }

    #[test]
    fn supported_operations_match_kafkas_bit_fields() {
        // What Kafka reports without an authorizer.
        assert_eq!(bits(ResourceType::Cluster), 8096);
        assert_eq!(bits(ResourceType::Topic), 3576);
        assert_eq!(bits(ResourceType::Group), 328);
    }
}
