//! EndTxn (v0–v4).

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

use crate::api::{ApiContext, Handled};
use crate::broker::txn::TxnApi;

use super::*;
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::Call;
use kafka_protocol::messages::ApiKey;

/// EndTxn v0–v4: commits or aborts the producer's transaction.
pub fn end_txn(ctx: &Arc<ApiContext>, version: i16, req: EndTxnRequest) -> Handled<EndTxnResponse> {
    let on_panic = EndTxnResponse::default().with_error_code(unknown_server_error());
    blocking(
        ctx,
        move |txns| {
            let result = txns.end_txn(
                req.transactional_id.0.as_str(),
                req.producer_id.0,
                req.producer_epoch,
                req.committed,
            );
            EndTxnResponse::default().with_error_code(code(&result, TxnApi::EndTxn, version))
        },
        on_panic,
    )
}

/// EndTxn: commit or abort.
pub struct EndTxn;

impl Api for EndTxn {
    type Request = EndTxnRequest;
    type Response = EndTxnResponse;
    const KEY: ApiKey = ApiKey::EndTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Write, ResourceType::TransactionalId);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: EndTxnRequest,
    ) -> Handled<EndTxnResponse> {
        end_txn(ctx, call.version, request)
    }
}
