//! AddOffsetsToTxn (v0–v4).

use std::sync::Arc;

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

use crate::api::{ApiContext, Handled};
use crate::broker::txn::TxnApi;

use super::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::Call;
use kafka_protocol::messages::ApiKey;

/// AddOffsetsToTxn v0–v4: puts the group's offsets into the producer's transaction.
pub fn add_offsets_to_txn(
    ctx: &Arc<ApiContext>,
    version: i16,
    req: AddOffsetsToTxnRequest,
) -> Handled<AddOffsetsToTxnResponse> {
    let on_panic = AddOffsetsToTxnResponse::default().with_error_code(unknown_server_error());
    blocking(
        ctx,
        move |txns| {
            let result = txns.add_offsets_to_txn(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.group_id.0.as_str(),
            );
            AddOffsetsToTxnResponse::default().with_error_code(code(
                &result,
                TxnApi::AddOffsetsToTxn,
                version,
            ))
        },
        on_panic,
    )
}

/// AddOffsetsToTxn: a group's offsets join a transaction.
pub struct AddOffsetsToTxn;

impl Api for AddOffsetsToTxn {
    type Request = AddOffsetsToTxnRequest;
    type Response = AddOffsetsToTxnResponse;
    const KEY: ApiKey = ApiKey::AddOffsetsToTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Write, ResourceType::TransactionalId);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: AddOffsetsToTxnRequest,
    ) -> Handled<AddOffsetsToTxnResponse> {
        // As Kafka: WRITE on the transactional id, then READ on the group.
        let denied = if !ctx.authorized::<Self>(call, &request.transactional_id) {
            Some(kafka_protocol::error::ResponseError::TransactionalIdAuthorizationFailed)
        } else if !ctx.authorize(
            call,
            AclOperation::Read,
            ResourceType::Group,
            &request.group_id,
        ) {
            Some(kafka_protocol::error::ResponseError::GroupAuthorizationFailed)
        } else {
            None
        };
        if let Some(error) = denied {
            return AddOffsetsToTxnResponse::default()
                .with_error_code(error.code())
                .into();
        }
        add_offsets_to_txn(ctx, call.version, request)
    }
}
