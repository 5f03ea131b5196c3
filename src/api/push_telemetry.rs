//! PushTelemetry (v0, KIP-714): a client's metrics, kept by
//! [`crate::broker::client_metrics`]. Served only with `client.telemetry.enable`.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, PushTelemetryRequest, PushTelemetryResponse};

use super::error::telemetry_error_code;
use super::spec::{Api, Authorization};
use super::{ApiContext, Call, Handled};
use crate::broker::client_metrics::TelemetryPush;

/// Answers PushTelemetry v0.
pub fn push_telemetry(
    ctx: &ApiContext,
    call: &Call,
    req: PushTelemetryRequest,
) -> PushTelemetryResponse {
    let push = TelemetryPush {
        client_instance_id: req.client_instance_id,
        subscription_id: req.subscription_id,
        terminating: req.terminating,
        compression_type: req.compression_type,
        metrics: &req.metrics,
    };
    match ctx
        .client_metrics
        .push(&push, call.client_id.as_deref(), call.peer)
    {
        Ok(()) => {
            tracing::debug!(
                peer = %call.peer,
                client_instance_id = %req.client_instance_id,
                bytes = req.metrics.len(),
                compression_type = req.compression_type,
                terminating = req.terminating,
                "telemetry pushed"
            );
            PushTelemetryResponse::default()
        }
        Err(e) => {
            tracing::debug!(peer = %call.peer, error = %e, "PushTelemetry refused");
            PushTelemetryResponse::default().with_error_code(telemetry_error_code(&e))
        }
    }
}

/// PushTelemetry: a client's metrics.
pub struct PushTelemetry;

impl Api for PushTelemetry {
    type Request = PushTelemetryRequest;
    type Response = PushTelemetryResponse;
    const KEY: ApiKey = ApiKey::PushTelemetry;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    /// Kafka checks no ACL for telemetry: any authenticated client may push.
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn enabled(ctx: &ApiContext) -> bool {
        ctx.client_metrics.enabled()
    }

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: PushTelemetryRequest,
    ) -> Handled<PushTelemetryResponse> {
        push_telemetry(ctx, call, request).into()
    }
}
