//! ApiVersions: what Skiff serves, read from the registry, and (v3+) the supported and
//! finalized features ([`crate::broker::features`]).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::ApiVersionsResponse;

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};

use super::spec::{Api, Authorization};
use super::{text, ApiContext, Call, Handled};
use crate::broker::features::{FinalizedFeatures, SUPPORTED};

/// Highest ApiVersions version Skiff understands.
pub const MAX_VERSION: i16 = 4;

fn api_keys(ctx: &ApiContext) -> Vec<ApiVersion> {
    ctx.apis
        .iter()
        .filter(|a| (a.enabled)(ctx))
        .map(|a| {
            ApiVersion::default()
                .with_api_key(a.key as i16)
                .with_min_version(a.min_version)
                .with_max_version(a.max_version)
        })
        .collect()
}

/// The response to an ApiVersions request of `version` (the response header is always v0):
/// the APIs of the registry this broker serves as configured.
pub fn respond(version: i16, ctx: &ApiContext) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default().with_api_keys(api_keys(ctx));
    if version > MAX_VERSION {
        r.error_code = ResponseError::UnsupportedVersion.code();
    }
    r.finalized_features_epoch = -1;
    r
}

/// Adds the features to a v3+ answer as Kafka 4.1.1 does: supported features whose lowest
/// level is 0 only from v4 (KIP-1022: older clients reject a 0 minimum), finalized ones
/// (level above 0) with their level as both minimum and maximum, and their epoch.
pub fn with_features(
    mut r: ApiVersionsResponse,
    version: i16,
    finalized: &FinalizedFeatures,
) -> ApiVersionsResponse {
    if version < 3 {
        return r;
    }
    r.supported_features = SUPPORTED
        .iter()
        .filter(|f| version >= 4 || f.min_version > 0)
        .map(|f| {
            SupportedFeatureKey::default()
                .with_name(text(f.name))
                .with_min_version(f.min_version)
                .with_max_version(f.max_version)
        })
        .collect();
    r.finalized_features = finalized
        .levels
        .iter()
        .map(|(name, level)| {
            FinalizedFeatureKey::default()
                .with_name(text(name.clone()))
                .with_max_version_level(*level)
                .with_min_version_level(*level)
        })
        .collect();
    r.finalized_features_epoch = finalized.epoch;
    r
}

/// The answer to an ApiVersions request at an unknown version: UNSUPPORTED_VERSION with the
/// supported list, to be encoded as a v0 body so the client can downgrade.
pub fn unsupported_version(ctx: &ApiContext) -> ApiVersionsResponse {
    respond(MAX_VERSION + 1, ctx)
}

/// ApiVersions: the served APIs and their version ranges.
pub struct ApiVersions;

impl Api for ApiVersions {
    type Request = ApiVersionsRequest;
    type Response = ApiVersionsResponse;
    const KEY: ApiKey = ApiKey::ApiVersions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = MAX_VERSION;
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ApiVersionsRequest,
    ) -> Handled<ApiVersionsResponse> {
        // v3+ name the client software (matched by client-metrics subscriptions).
        ctx.client_metrics.note_software(
            call.peer,
            request.client_software_name.as_str(),
            request.client_software_version.as_str(),
        );
        with_features(
            respond(call.version, ctx),
            call.version,
            &ctx.features.finalized(),
        )
        .into()
    }
}
