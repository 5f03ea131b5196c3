//! DescribeConfigs (v1–v4): topic and broker configs with source, synonyms and documentation.
//! The answers are built in [`super::configs`], shared with the alter APIs.

use crate::api::registry::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{ApiContext, Call, Handled};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use std::sync::Arc;

use super::configs::describe_configs;

/// DescribeConfigs: configs of topics and brokers.
pub struct DescribeConfigs;

impl Api for DescribeConfigs {
    type Request = DescribeConfigsRequest;
    type Response = DescribeConfigsResponse;
    const KEY: ApiKey = ApiKey::DescribeConfigs;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::DescribeConfigs, ResourceType::Topic);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeConfigsRequest,
    ) -> Handled<DescribeConfigsResponse> {
        describe_configs(ctx, call.version, request).into()
    }
}
