//! DescribeClientQuotas (v0–v1): the client quotas whose entity matches a filter
//! ([`crate::broker::quota`]).

use std::sync::Arc;

use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{ApiKey, DescribeClientQuotasRequest, DescribeClientQuotasResponse};

use super::error::quota_error_code;
use super::spec::{AclOperation, Api, Authorization, ResourceType};
use super::{text, ApiContext, Call, Handled};
use crate::broker::quota::build_filter;

/// Answers DescribeClientQuotas as Kafka 4.1.1 does: a filter that names an entity type
/// twice, an empty type, or a match string that disagrees with its match type is
/// INVALID_REQUEST, an entity type other than `user`, `client-id` and `ip` is
/// UNSUPPORTED_VERSION, both with a message and no entries; otherwise every entity that
/// matches (`strict`: and has no other component), with all its quotas.
pub fn describe_client_quotas(
    ctx: &ApiContext,
    req: DescribeClientQuotasRequest,
) -> DescribeClientQuotasResponse {
    let components: Vec<(String, i8, Option<String>)> = req
        .components
        .iter()
        .map(|c| {
            (
                c.entity_type.to_string(),
                c.match_type,
                c._match.as_ref().map(|m| m.to_string()),
            )
        })
        .collect();
    let filter = match build_filter(&components, req.strict) {
        Ok(f) => f,
        Err(e) => {
            return DescribeClientQuotasResponse::default()
                .with_error_code(quota_error_code(&e))
                .with_error_message(Some(text(e.to_string())))
                .with_entries(None)
        }
    };
    let entries = ctx
        .quotas
        .describe(&filter)
        .into_iter()
        .map(|(entity, values)| {
            EntryData::default()
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
                .with_values(
                    values
                        .into_iter()
                        .map(|(k, v)| ValueData::default().with_key(text(k)).with_value(v))
                        .collect(),
                )
        })
        .collect();
    DescribeClientQuotasResponse::default()
        .with_error_message(None)
        .with_entries(Some(entries))
}

/// DescribeClientQuotas: the quotas set for users, client ids and IPs.
pub struct DescribeClientQuotas;

impl Api for DescribeClientQuotas {
    type Request = DescribeClientQuotasRequest;
    type Response = DescribeClientQuotasResponse;
    const KEY: ApiKey = ApiKey::DescribeClientQuotas;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::DescribeConfigs, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeClientQuotasRequest,
    ) -> Handled<DescribeClientQuotasResponse> {
        if !ctx.authorized_on_cluster::<Self>(call) {
            return DescribeClientQuotasResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::ClusterAuthorizationFailed.code(),
                )
                .with_error_message(Some(text("Cluster authorization failed.")))
                .with_entries(None)
                .into();
        }
        describe_client_quotas(ctx, request).into()
    }
}
