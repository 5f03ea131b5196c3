//! Running disk work away from tokio's worker threads.
//!
//! Two ways, for two kinds of caller:
//!
//! - [`run_blocking`] for async callers: the work goes to tokio's blocking pool and the
//!   caller's task waits for it without occupying a worker.
//! - [`off_worker`] for synchronous callers that may be on a worker (the state store's
//!   writes, under handlers that answer synchronously): on a multi-threaded runtime the
//!   worker hands its other tasks to a fresh worker first (`block_in_place`), so the
//!   runtime keeps serving while this thread waits on the disk. On a current-thread runtime
//!   or outside any runtime the work runs as it is.

use crate::storage::error::{Result, StorageError};

/// Runs `work`, first moving the caller's other tasks off this thread when it is a worker
/// of a multi-threaded tokio runtime.
pub fn off_worker<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Runs `work` on tokio's blocking pool and waits for it (inline outside a runtime).
pub async fn run_blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(work)
            .await
            .unwrap_or_else(|e| Err(StorageError::Io(std::io::Error::other(e.to_string())))),
        Err(_) => work(),
    }
}
