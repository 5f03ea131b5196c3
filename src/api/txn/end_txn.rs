//! EndTxn (v0–v5).

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};

use crate::api::{ApiContext, Handled};
use crate::broker::txn::TxnApi;

use super::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::Call;
use kafka_protocol::messages::ApiKey;

/// EndTxn v0–v5: commits or aborts the producer's transaction. v5 is transaction.version 2
/// (KIP-890 part 2): the coordinator bumps the epoch and the response carries the producer
/// id and epoch to continue with (-1 and -1 with an error, as Kafka answers).
pub fn end_txn(ctx: &Arc<ApiContext>, version: i16, req: EndTxnRequest) -> Handled<EndTxnResponse> {
    let on_panic = EndTxnResponse::default()
        .with_error_code(unknown_server_error())
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    blocking(
        ctx,
        move |txns| {
            let result = txns.end_txn(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.committed,
                version >= TV2_VERSION,
            );
            let (id, epoch) = match &result {
                Ok(p) => (p.producer_id, p.producer_epoch),
                Err(_) => (-1, -1),
            };
            EndTxnResponse::default()
                .with_error_code(code(&result.map(drop), TxnApi::EndTxn, version))
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch)
        },
        on_panic,
    )
}

/// The EndTxn version of transaction.version 2 clients.
const TV2_VERSION: i16 = 5;

/// EndTxn: commit or abort.
pub struct EndTxn;

impl Api for EndTxn {
    type Request = EndTxnRequest;
    type Response = EndTxnResponse;
    const KEY: ApiKey = ApiKey::EndTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Write, ResourceType::TransactionalId);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: EndTxnRequest,
    ) -> Handled<EndTxnResponse> {
        if !ctx.authorized::<Self>(call, &request.transactional_id) {
            return EndTxnResponse::default()
                .with_error_code(
                    kafka_protocol::error::ResponseError::TransactionalIdAuthorizationFailed.code(),
                )
                .into();
        }
        end_txn(ctx, call.version, request)
    }
}
