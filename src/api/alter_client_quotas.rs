//! AlterClientQuotas (v0–v1): sets and removes client quotas
//! ([`crate::broker::quota`]); they are durable before the answer.

use std::sync::Arc;

use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
use kafka_protocol::messages::{AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey};

use super::error::{quota_error_code, NONE};
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};
use crate::broker::quota::{ClientQuotaAlteration, ClientQuotaEntity};

/// Answers AlterClientQuotas as Kafka 4.1.1 does: one result per distinct entity, each
/// changed as a whole or refused with INVALID_REQUEST and Kafka's message (empty entity,
/// unknown entity type, empty name, IP combined with user or client id, unknown key,
/// a value not above 0, a fraction or too large a value for an integral key, an entity or
/// key given twice). A `remove` op drops the key (nothing happens if it is not set).
/// `validate_only` checks without changing anything.
pub fn alter_client_quotas(
    ctx: &ApiContext,
    req: AlterClientQuotasRequest,
) -> AlterClientQuotasResponse {
    let alterations: Vec<ClientQuotaAlteration> = req
        .entries
        .iter()
        .map(|e| ClientQuotaAlteration {
            entity: ClientQuotaEntity::from_pairs(
                e.entity
                    .iter()
                    .map(|c| (c.entity_type.as_str(), c.entity_name.as_deref())),
            ),
            ops: e
                .ops
                .iter()
                .map(|op| (op.key.to_string(), (!op.remove).then_some(op.value)))
                .collect(),
        })
        .collect();
    let results = ctx.quotas.alter(&alterations, req.validate_only);
    let entries = results
        .into_iter()
        .map(|(entity, result)| {
            let (code, message) = match result {
                Ok(()) => (NONE, None),
                Err(e) => (quota_error_code(&e), Some(text(e.to_string()))),
            };
            EntryData::default()
                .with_error_code(code)
                .with_error_message(message)
                .with_entity(
                    entity
                        .0
                        .into_iter()
                        .map(|(t, n)| {
                            EntityData::default()
                                .with_entity_type(text(t))
                                .with_entity_name(n.map(text))
                        })
                        .collect(),
                )
        })
        .collect();
    AlterClientQuotasResponse::default().with_entries(entries)
}

/// Every entry refused with CLUSTER_AUTHORIZATION_FAILED, as Kafka answers a caller without
/// ALTER_CONFIGS on the cluster.
fn denied_alter_client_quotas(req: &AlterClientQuotasRequest) -> AlterClientQuotasResponse {
    use kafka_protocol::messages::alter_client_quotas_response::{EntityData, EntryData};
    AlterClientQuotasResponse::default().with_entries(
        req.entries
            .iter()
            .map(|e| {
                EntryData::default()
                    .with_error_code(
                        kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code(),
                    )
                    .with_error_message(Some(text("Cluster authorization failed.")))
                    .with_entity(
                        e.entity
                            .iter()
                            .map(|d| {
                                EntityData::default()
                                    .with_entity_type(d.entity_type.clone())
                                    .with_entity_name(d.entity_name.clone())
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// AlterClientQuotas: changes the quotas of users, client ids and IPs.
pub struct AlterClientQuotas;

impl Api for AlterClientQuotas {
    type Request = AlterClientQuotasRequest;
    type Response = AlterClientQuotasResponse;
    const KEY: ApiKey = ApiKey::AlterClientQuotas;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::AlterConfigs, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AlterClientQuotasRequest,
    ) -> Handled<AlterClientQuotasResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return denied_alter_client_quotas(&request).into();
        }
        alter_client_quotas(ctx, request).into()
    }
}
