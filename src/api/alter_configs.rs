//! AlterConfigs (v0–v2): replaces a resource's whole set of config overrides.

use kafka_protocol::messages::{alter_configs_response, AlterConfigsRequest, AlterConfigsResponse};

use super::error::NONE;
use super::topic_configs::validate_configs;
use super::ApiContext;

use super::configs::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// Answers AlterConfigs v0–v2: a topic's overrides become exactly the given set.
pub fn alter_configs(
    ctx: &ApiContext,
    call: &Call,
    req: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let responses = req
        .resources
        .iter()
        .map(|r| {
            let outcome = authorize_resource::<AlterConfigs>(
                ctx,
                call,
                r.resource_type,
                r.resource_name.as_str(),
            )
            .and_then(|()| {
                apply(
                    ctx,
                    r.resource_type,
                    r.resource_name.as_str(),
                    req.validate_only,
                    |_| {
                        let pairs = r
                            .configs
                            .iter()
                            .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str())));
                        // Client-metrics subscriptions are checked whole when applied.
                        if r.resource_type == RESOURCE_BROKER
                            || r.resource_type == RESOURCE_CLIENT_METRICS
                        {
                            broker_configs(pairs)
                        } else {
                            validate_configs(pairs)
                        }
                    },
                )
            });
            let (error, message) = outcome.err().unwrap_or((NONE, String::new()));
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone())
                .with_error_code(error)
                .with_error_message((error != NONE).then(|| text(message)))
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

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
        call: &Call,
        request: AlterConfigsRequest,
    ) -> Handled<AlterConfigsResponse> {
        alter_configs(ctx, call, request).into()
    }
}
