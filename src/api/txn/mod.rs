//! The transactional APIs of producers: InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//! EndTxn and TxnOffsetCommit, served by the transaction coordinator.
//!
//! The coordinator's request methods are synchronous and wait for the state store's fsync,
//! so each handler runs its call on the blocking pool and answers from the returned future.
//! Errors go out through [`TxnError::code_for`], which downgrades codes an older request
//! version does not know.

pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod describe_producers;
pub mod describe_transactions;
pub mod end_txn;
pub mod init_producer_id;
pub mod list_transactions;
pub mod txn_offset_commit;

use std::sync::Arc;

use crate::api::{ApiContext, Handled, Reply};
use crate::broker::txn::{TxnApi, TxnCoordinator, TxnError};

/// Runs `work` on the blocking pool (the coordinator may wait for fsync) and sends its
/// response; a panicked task is answered with `on_panic`.
pub(crate) fn blocking<R, F>(ctx: &Arc<ApiContext>, work: F, on_panic: R) -> Handled<R>
where
    R: Send + 'static,
    F: FnOnce(&TxnCoordinator) -> R + Send + 'static,
{
    let txns = Arc::clone(&ctx.txns);
    Handled::Later(Box::pin(async move {
        match tokio::task::spawn_blocking(move || work(&txns)).await {
            Ok(response) => Reply::Send(response),
            Err(e) => {
                tracing::error!(error = %e, "transaction request task failed");
                Reply::Send(on_panic)
            }
        }
    }))
}

pub(crate) fn code(result: &Result<(), TxnError>, api: TxnApi, version: i16) -> i16 {
    match result {
        Ok(()) => 0,
        Err(e) => e.code_for(api, version),
    }
}

pub(crate) fn unknown_server_error() -> i16 {
    TxnError::UnknownServerError.code()
}
