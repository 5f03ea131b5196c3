//! UpdateFeatures (v0–v2): changes finalized feature levels ([`crate::broker::features`]).

use std::sync::Arc;

use kafka_protocol::messages::update_features_response::UpdatableFeatureResult;
use kafka_protocol::messages::{ApiKey, UpdateFeaturesRequest, UpdateFeaturesResponse};

use super::error::feature_error_code;
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};
use crate::broker::features::{FeatureUpdate, UpgradeType};

/// UpdateFeatures v0–v2, as Kafka 4.1.1 answers it: every update is checked first and a
/// refused one fails them all (top-level INVALID_UPDATE_VERSION, "The update failed for all
/// features since the following feature had an error: …", no per-feature results); on
/// success v0–v1 list each feature with NONE and v2 lists none. v0's `allow_downgrade`
/// is a safe downgrade; v1+ carry the upgrade type and `validate_only`.
pub fn update_features(
    ctx: &ApiContext,
    version: i16,
    req: UpdateFeaturesRequest,
) -> UpdateFeaturesResponse {
    let updates: Vec<FeatureUpdate> = req
        .feature_updates
        .iter()
        .map(|u| FeatureUpdate {
            name: u.feature.to_string(),
            level: u.max_version_level,
            upgrade_type: if version == 0 {
                if u.allow_downgrade {
                    UpgradeType::SafeDowngrade
                } else {
                    UpgradeType::Upgrade
                }
            } else {
                UpgradeType::from_code(u.upgrade_type)
            },
        })
        .collect();
    let validate_only = version >= 1 && req.validate_only;
    match ctx.features.update(&updates, validate_only) {
        Ok(()) => {
            let results = if version < 2 {
                updates
                    .iter()
                    .map(|u| {
                        UpdatableFeatureResult::default()
                            .with_feature(text(u.name.clone()))
                            .with_error_message(Some(text("NONE")))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            UpdateFeaturesResponse::default()
                .with_error_message(None)
                .with_results(results)
        }
        Err(e) => UpdateFeaturesResponse::default()
            .with_error_code(feature_error_code(&e))
            .with_error_message(Some(text(format!(
                "The update failed for all features since the following feature had an error: {e}"
            )))),
    }
}

/// UpdateFeatures: finalized feature levels.
pub struct UpdateFeatures;

impl Api for UpdateFeatures {
    type Request = UpdateFeaturesRequest;
    type Response = UpdateFeaturesResponse;
    const KEY: ApiKey = ApiKey::UpdateFeatures;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Alter, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: UpdateFeaturesRequest,
    ) -> Handled<UpdateFeaturesResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return UpdateFeaturesResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code(),
                )
                .with_error_message(Some(text("Cluster authorization failed.")))
                .into();
        }
        update_features(ctx, call.version, request).into()
    }
}
