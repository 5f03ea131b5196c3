//! ApiVersions: what Skiff serves, read from the registry.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiVersionsResponse;

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};

use super::spec::{Api, ApiEntry, Authorization};
use super::{ApiContext, Call, Handled};

/// Highest ApiVersions version Skiff understands.
pub const MAX_VERSION: i16 = 4;

fn api_keys(apis: &[ApiEntry]) -> Vec<ApiVersion> {
    apis.iter()
        .map(|a| {
            ApiVersion::default()
                .with_api_key(a.key as i16)
                .with_min_version(a.min_version)
                .with_max_version(a.max_version)
        })
        .collect()
}

/// The response to an ApiVersions request of `version` (the response header is always v0).
pub fn respond(version: i16, apis: &[ApiEntry]) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default().with_api_keys(api_keys(apis));
    if version > MAX_VERSION {
        r.error_code = ResponseError::UnsupportedVersion.code();
    }
    r.finalized_features_epoch = -1;
    r
}

/// The answer to an ApiVersions request at an unknown version: UNSUPPORTED_VERSION with the
/// supported list, to be encoded as a v0 body so the client can downgrade.
pub fn unsupported_version(apis: &[ApiEntry]) -> ApiVersionsResponse {
    respond(MAX_VERSION + 1, apis)
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
        _request: ApiVersionsRequest,
    ) -> Handled<ApiVersionsResponse> {
        respond(call.version, ctx.apis).into()
    }
}
