//! ListTransactions (v0–v2).

use kafka_protocol::messages::list_transactions_response::TransactionState as ListedTransaction;
use kafka_protocol::messages::{
    ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use kafka_protocol::ResponseError;

use crate::api::error::code;
use crate::api::ApiContext;
use crate::broker::txn::ListTransactionsFilter;

use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{Call, Handled};
use kafka_protocol::messages::ApiKey;
use std::sync::Arc;

/// ListTransactions v0–v2: transactions filtered by state, producer id, (v1) duration and
/// (v2, KIP-1152) a regular expression the whole transactional id must match; an empty or
/// null pattern keeps all, and one that does not compile is INVALID_REGULAR_EXPRESSION.
pub fn handle_list_transactions(
    ctx: &ApiContext,
    call: &Call,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let version = call.version;
    let pattern = match req.transactional_id_pattern.as_deref() {
        Some(p) if version >= 2 && !p.is_empty() => {
            match regex::Regex::new(&format!("^(?:{p})$")) {
                Ok(re) => Some(re),
                Err(_) => {
                    return ListTransactionsResponse::default()
                        .with_error_code(code(ResponseError::InvalidRegularExpression));
                }
            }
        }
        _ => None,
    };
    let filter = ListTransactionsFilter {
        states: req.state_filters.iter().map(|s| s.to_string()).collect(),
        producer_ids: req.producer_id_filters.iter().map(|p| p.0).collect(),
        duration_ms: if version >= 1 {
            req.duration_filter
        } else {
            -1
        },
    };
    let listed = ctx.txns.list_transactions(&filter);
    ListTransactionsResponse::default()
        .with_unknown_state_filters(
            listed
                .unknown_state_filters
                .into_iter()
                .map(StrBytes::from_string)
                .collect(),
        )
        .with_transaction_states(
            listed
                .transactions
                .into_iter()
                .filter(|t| {
                    pattern
                        .as_ref()
                        .is_none_or(|re| re.is_match(&t.transactional_id))
                })
                // As Kafka: only the ids the caller may DESCRIBE.
                .filter(|t| ctx.authorized::<ListTransactions>(call, &t.transactional_id))
                .map(|t| {
                    ListedTransaction::default()
                        .with_transactional_id(TransactionalId(StrBytes::from_string(
                            t.transactional_id,
                        )))
                        .with_producer_id(ProducerId(t.producer_id))
                        .with_transaction_state(StrBytes::from_static_str(t.state.name()))
                })
                .collect(),
        )
}

/// ListTransactions: transactional ids by state, producer and pattern.
pub struct ListTransactions;

impl Api for ListTransactions {
    type Request = ListTransactionsRequest;
    type Response = ListTransactionsResponse;
    const KEY: ApiKey = ApiKey::ListTransactions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    const AUTHORIZATION: Authorization =
        Authorization::Requires(AclOperation::Describe, ResourceType::TransactionalId);

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: ListTransactionsRequest,
    ) -> Handled<ListTransactionsResponse> {
        handle_list_transactions(ctx, call, request).into()
    }
}
