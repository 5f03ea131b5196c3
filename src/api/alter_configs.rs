//! AlterConfigs (v0–v2): replaces a resource's whole set of config overrides.

use crate::api::registry::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use std::sync::Arc;

use super::configs::alter_configs;

/// AlterConfigs: sets a resource's configs.
pub struct AlterConfigs;

impl Api for AlterConfigs {
    type Request = AlterConfigsRequest;
    type Response = AlterConfigsResponse;
    const KEY: ApiKey = ApiKey::AlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::AlterConfigs, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        _call: &Call,
        request: AlterConfigsRequest,
    ) -> Handled<AlterConfigsResponse> {
        alter_configs(ctx, request).into()
    }
}
