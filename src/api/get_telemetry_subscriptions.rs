//! GetTelemetrySubscriptions (v0, KIP-714): which metrics a client should push, and how
//! often ([`crate::broker::client_metrics`]). Served only with `client.telemetry.enable`.

use std::sync::Arc;

use kafka_protocol::messages::{
    ApiKey, GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::error::telemetry_error_code;
use super::spec::{Api, Authorization};
use super::{ApiContext, Call, Handled};
use crate::broker::client_metrics::ACCEPTED_COMPRESSION_TYPES;

/// Answers GetTelemetrySubscriptions v0.
pub fn get_telemetry_subscriptions(
    ctx: &ApiContext,
    call: &Call,
    req: GetTelemetrySubscriptionsRequest,
) -> GetTelemetrySubscriptionsResponse {
    match ctx.client_metrics.get_subscription(
        req.client_instance_id,
        call.client_id.as_deref(),
        call.peer,
    ) {
        Ok(answer) => GetTelemetrySubscriptionsResponse::default()
            .with_client_instance_id(answer.client_instance_id)
            .with_subscription_id(answer.subscription_id)
            .with_accepted_compression_types(ACCEPTED_COMPRESSION_TYPES.to_vec())
            .with_push_interval_ms(answer.push_interval_ms)
            .with_telemetry_max_bytes(answer.telemetry_max_bytes)
            .with_delta_temporality(true)
            .with_requested_metrics(
                answer
                    .requested_metrics
                    .into_iter()
                    .map(StrBytes::from_string)
                    .collect(),
            ),
        Err(e) => {
            tracing::debug!(peer = %call.peer, error = %e, "GetTelemetrySubscriptions refused");
            GetTelemetrySubscriptionsResponse::default().with_error_code(telemetry_error_code(&e))
        }
    }
}

/// GetTelemetrySubscriptions: a client's metrics subscription.
pub struct GetTelemetrySubscriptions;

impl Api for GetTelemetrySubscriptions {
    type Request = GetTelemetrySubscriptionsRequest;
    type Response = GetTelemetrySubscriptionsResponse;
    const KEY: ApiKey = ApiKey::GetTelemetrySubscriptions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    /// Kafka checks no ACL for telemetry: any authenticated client may ask.
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn enabled(ctx: &ApiContext) -> bool {
        ctx.client_metrics.enabled()
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: GetTelemetrySubscriptionsRequest,
    ) -> Handled<GetTelemetrySubscriptionsResponse> {
        get_telemetry_subscriptions(ctx, call, request).into()
    }
}
