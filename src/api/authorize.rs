//! The one place handlers ask the authorizer: [`ApiContext::authorized`] checks what the
//! API declares in its [`Api::AUTHORIZATION`] (the registry's row) on a named resource, and
//! [`ApiContext::authorize`] checks another operation where Kafka asks for two (a
//! transactional id and its topics, a group and its topics). Each answers `true` when no
//! authorizer is configured.

use super::spec::{AclOperation, Api, ApiContext, Authorization, Call, ResourceType};
use crate::broker::authorizer::{Requester, CLUSTER_NAME};

impl ApiContext {
    /// Whether the caller may do what `A` declares on the resource called `name` (the
    /// cluster's name for cluster-wide APIs: see [`ApiContext::authorized_on_cluster`]).
    pub fn authorized<A: Api>(&self, call: &Call, name: &str) -> bool {
        match A::AUTHORIZATION {
            Authorization::Open => true,
            Authorization::Requires(operation, resource_type) => {
                self.authorize(call, operation, resource_type, name)
            }
        }
    }

    /// Whether the caller may do what `A` declares on the cluster.
    pub fn authorized_on_cluster<A: Api>(&self, call: &Call) -> bool {
        self.authorized::<A>(call, CLUSTER_NAME)
    }

    /// Whether the caller may perform `operation` on `resource_type`/`name`.
    pub fn authorize(
        &self,
        call: &Call,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if !self.authorizer.enabled() {
            return true;
        }
        let host = call.peer.ip().to_string();
        self.authorizer
            .authorize(requester(call, &host), operation, resource_type, name)
    }

    /// Whether the caller may perform `operation` on the cluster.
    pub fn authorize_cluster(&self, call: &Call, operation: AclOperation) -> bool {
        self.authorize(call, operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Whether the caller may perform `operation` on some resource of `resource_type`
    /// (Kafka's `authorizeByResourceType`).
    pub fn authorize_any(
        &self,
        call: &Call,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        if !self.authorizer.enabled() {
            return true;
        }
        let host = call.peer.ip().to_string();
        self.authorizer
            .authorize_by_resource_type(requester(call, &host), operation, resource_type)
    }

    /// The `*_authorized_operations` bit field of `resource_type`/`name` for the caller
    /// (KIP-430).
    pub fn authorized_operations(
        &self,
        call: &Call,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        let host = call.peer.ip().to_string();
        self.authorizer
            .authorized_operations(requester(call, &host), resource_type, name)
    }
}

fn requester<'a>(call: &'a Call, host: &'a str) -> Requester<'a> {
    Requester {
        principal: &call.principal,
        host,
    }
}
