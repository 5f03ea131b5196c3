//! InitProducerId (v0–v5): producer ids and epochs, for idempotent and transactional producers.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::api::{ApiContext, Handled};
use crate::broker::txn::{self, TxnApi};

use super::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::Call;
use kafka_protocol::messages::ApiKey;

/// InitProducerId v0–v5: a producer id and epoch (bumped and fencing for a transactional
/// id; KIP-360 bumps from v3). Errors carry producer id -1 and epoch -1.
pub fn init_producer_id(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: InitProducerIdRequest,
) -> Handled<InitProducerIdResponse> {
    let input = txn::InitProducerIdRequest {
        transactional_id: req.transactional_id.map(|t| t.0.to_string()),
        transaction_timeout_ms: req.transaction_timeout_ms,
        producer_id: if version >= 3 { req.producer_id.0 } else { -1 },
        producer_epoch: if version >= 3 { req.producer_epoch } else { -1 },
    };
    let failed = |code: i16| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    let on_panic = failed(unknown_server_error());
    blocking(
        ctx,
        move |txns| match txns.init_producer_id(&input) {
            Ok(ids) => InitProducerIdResponse::default()
                .with_producer_id(ProducerId(ids.producer_id))
                .with_producer_epoch(ids.producer_epoch),
            Err(e) => failed(e.code_for(TxnApi::InitProducerId, version)),
        },
        on_panic,
    )
}

/// InitProducerId: a producer id and epoch.
pub struct InitProducerId;

impl Api for InitProducerId {
    type Request = InitProducerIdRequest;
    type Response = InitProducerIdResponse;
    const KEY: ApiKey = ApiKey::InitProducerId;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::IdempotentWrite, ResourceType::Cluster);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: InitProducerIdRequest,
    ) -> Handled<InitProducerIdResponse> {
        // As Kafka 4: a transactional id needs WRITE on it; an idempotent producer needs
        // IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
        let denied = match &request.transactional_id {
            Some(id) => (!ctx.authorize(
                call,
                AclOperation::Write,
                ResourceType::TransactionalId,
                id.as_str(),
            ))
            .then_some(kafka_protocol::error::ResponseError::TransactionalIdAuthorizationFailed),
            None => (!ctx.authorized_on_cluster::<Self>(call)
                && !ctx.authorize_any(call, AclOperation::Write, ResourceType::Topic))
            .then_some(kafka_protocol::error::ResponseError::ClusterAuthorizationFailed),
        };
        if let Some(error) = denied {
            return InitProducerIdResponse::default()
                .with_error_code(error.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
                .into();
        }
        init_producer_id(ctx, call.version, request)
    }
}
