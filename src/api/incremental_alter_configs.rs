//! IncrementalAlterConfigs (v0–v1): SET, DELETE, APPEND and SUBTRACT on single configs.

use crate::api::registry::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use std::sync::Arc;

use super::configs::incremental_alter_configs;

/// IncrementalAlterConfigs: changes configs one by one.
pub struct IncrementalAlterConfigs;

impl Api for IncrementalAlterConfigs {
    type Request = IncrementalAlterConfigsRequest;
    type Response = IncrementalAlterConfigsResponse;
    const KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::AlterConfigs, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        _call: &Call,
        request: IncrementalAlterConfigsRequest,
    ) -> Handled<IncrementalAlterConfigsResponse> {
        incremental_alter_configs(ctx, request).into()
    }
}
